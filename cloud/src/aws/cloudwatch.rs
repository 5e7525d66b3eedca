//! CloudWatch (aws-sdk-cloudwatch): Aurora global replication lag, and the alarms that witness
//! an outage for automatic failover.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::{
    AlarmType, Dimension, Metric, MetricDataQuery, MetricDataResult, MetricStat, ScanBy, StateValue,
};
use aws_smithy_types::DateTime;

use super::errors::mapper as err;
use super::operations as ops;
use super::AwsCloud;
use crate::error::CloudResult;
use crate::model::{
    AlarmReading, AlarmState, LagQuery, CLOUDWATCH_ALARM_NAMES_PER_CALL, LAG_QUERIES_PER_CALL,
    METRICS_PER_LAG_QUERY,
};
use crate::ports::{Alarms, ReplicationLag};

/// The RPO lag (Aurora PostgreSQL and recent MySQL) and the older replication lag, both in
/// milliseconds, reported by the primary cluster per secondary region.
pub(crate) const RPO_LAG_METRIC: &str = "AuroraGlobalDBRPOLag";
pub(crate) const REPLICATION_LAG_METRIC: &str = "AuroraGlobalDBReplicationLag";
const NAMESPACE: &str = "AWS/RDS";
/// How far back a datapoint still counts as "recent" (the metric is published every minute).
const LOOKBACK: Duration = Duration::from_secs(5 * 60);
const PERIOD_SECONDS: i32 = 60;

fn query(id: &str, metric: &str, lag: &LagQuery) -> MetricDataQuery {
    MetricDataQuery::builder()
        .id(id)
        .metric_stat(
            MetricStat::builder()
                .metric(
                    Metric::builder()
                        .namespace(NAMESPACE)
                        .metric_name(metric)
                        .dimensions(
                            Dimension::builder()
                                .name("DBClusterIdentifier")
                                .value(&lag.primary_cluster_id)
                                .build(),
                        )
                        .dimensions(
                            Dimension::builder()
                                .name("SecondaryRegion")
                                .value(&lag.secondary_region)
                                .build(),
                        )
                        .build(),
                )
                .period(PERIOD_SECONDS)
                // The worst lag in the minute: the RPO gate must not be optimistic.
                .stat("Maximum")
                .build(),
        )
        .return_data(true)
        .build()
}

/// The newest datapoint per result id, in seconds, over every page. Results are requested
/// newest first (`TimestampDescending`), and a result split across pages continues on the
/// next one, so the first value seen for an id is its newest.
fn newest_seconds_by_id<'a>(
    results: impl IntoIterator<Item = &'a MetricDataResult>,
) -> HashMap<String, f64> {
    let mut newest = HashMap::new();
    for r in results {
        if let (Some(id), Some(ms)) = (r.id(), r.values().first()) {
            newest.entry(id.to_string()).or_insert(ms / 1000.0);
        }
    }
    newest
}

fn rpo_id(i: usize) -> String {
    format!("rpo{i}")
}

fn lag_id(i: usize) -> String {
    format!("lag{i}")
}

/// Datapoints one query can have in the window (one per period, plus a partial one).
const POINTS_PER_QUERY: i32 = (LOOKBACK.as_secs() / PERIOD_SECONDS as u64) as i32 + 2;

fn metric_queries_len(queries: &[LagQuery]) -> i32 {
    i32::try_from(queries.len() * METRICS_PER_LAG_QUERY).unwrap_or(i32::MAX)
}

impl AwsCloud {
    /// One GetMetricData (plus pages) for at most [`LAG_QUERIES_PER_CALL`] lags.
    async fn lag_chunk(
        &self,
        primary_region: &str,
        queries: &[LagQuery],
    ) -> CloudResult<Vec<Option<f64>>> {
        let now = SystemTime::now();
        // Both metrics of every lag in one call: engines publish one or the other.
        let metric_queries = queries
            .iter()
            .enumerate()
            .flat_map(|(i, q)| {
                [
                    query(&rpo_id(i), RPO_LAG_METRIC, q),
                    query(&lag_id(i), REPLICATION_LAG_METRIC, q),
                ]
            })
            .collect();
        let pages: Vec<_> = self
            .region(primary_region)
            .cloudwatch
            .get_metric_data()
            .set_metric_data_queries(Some(metric_queries))
            .start_time(DateTime::from(now - LOOKBACK))
            // A minute past now: CloudWatch (and moto) truncate the end to whole seconds or
            // periods and exclude it, so an end of "now" can leave out the newest datapoint,
            // the one the lag gate most needs. A future end time is allowed.
            .end_time(DateTime::from(
                now + Duration::from_secs(PERIOD_SECONDS as u64),
            ))
            .scan_by(ScanBy::TimestampDescending)
            // Room for every point of the window, so one page normally holds the answer;
            // further pages are still followed.
            .max_datapoints(POINTS_PER_QUERY * metric_queries_len(queries))
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(err(&ops::GET_METRIC_DATA))?;
        let newest = newest_seconds_by_id(pages.iter().flat_map(|p| p.metric_data_results()));
        Ok((0..queries.len())
            .map(|i| {
                newest
                    .get(&rpo_id(i))
                    .or_else(|| newest.get(&lag_id(i)))
                    .copied()
            })
            .collect())
    }
}

#[async_trait]
impl ReplicationLag for AwsCloud {
    async fn replication_lags(
        &self,
        primary_region: &str,
        queries: &[LagQuery],
    ) -> CloudResult<Vec<Option<f64>>> {
        let mut lags = Vec::with_capacity(queries.len());
        for chunk in queries.chunks(LAG_QUERIES_PER_CALL) {
            lags.extend(self.lag_chunk(primary_region, chunk).await?);
        }
        Ok(lags)
    }
}

/// An alarm state as drctl reads it; a value this SDK does not know counts as no data, never
/// as evidence.
fn alarm_state(value: Option<&StateValue>) -> AlarmState {
    match value {
        Some(StateValue::Alarm) => AlarmState::Alarm,
        Some(StateValue::Ok) => AlarmState::Ok,
        _ => AlarmState::InsufficientData,
    }
}

#[async_trait]
impl Alarms for AwsCloud {
    async fn describe_alarms(
        &self,
        region: &str,
        names: &[String],
    ) -> CloudResult<Vec<AlarmReading>> {
        let mut readings = Vec::new();
        for chunk in names.chunks(CLOUDWATCH_ALARM_NAMES_PER_CALL) {
            let pages: Vec<_> = self
                .region(region)
                .cloudwatch
                .describe_alarms()
                .set_alarm_names(Some(chunk.to_vec()))
                // A witness may be a composite alarm (synthetics in several places).
                .alarm_types(AlarmType::MetricAlarm)
                .alarm_types(AlarmType::CompositeAlarm)
                .into_paginator()
                .send()
                .try_collect()
                .await
                .map_err(err(&ops::DESCRIBE_ALARMS))?;
            for page in &pages {
                readings.extend(page.metric_alarms().iter().filter_map(|a| {
                    Some(AlarmReading {
                        name: a.alarm_name()?.to_string(),
                        state: alarm_state(a.state_value()),
                    })
                }));
                readings.extend(page.composite_alarms().iter().filter_map(|a| {
                    Some(AlarmReading {
                        name: a.alarm_name()?.to_string(),
                        state: alarm_state(a.state_value()),
                    })
                }));
            }
        }
        Ok(readings)
    }
}
