//! CloudWatch (aws-sdk-cloudwatch): Aurora global replication lag.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::{
    Dimension, Metric, MetricDataQuery, MetricDataResult, MetricStat, ScanBy,
};
use aws_smithy_types::DateTime;

use super::errors::mapper as err;
use super::operations as ops;
use super::AwsCloud;
use crate::error::CloudResult;
use crate::ports::ReplicationLag;

/// The RPO lag (Aurora PostgreSQL and recent MySQL) and the older replication lag, both in
/// milliseconds, reported by the primary cluster per secondary region.
pub(crate) const RPO_LAG_METRIC: &str = "AuroraGlobalDBRPOLag";
pub(crate) const REPLICATION_LAG_METRIC: &str = "AuroraGlobalDBReplicationLag";
const NAMESPACE: &str = "AWS/RDS";
/// How far back a datapoint still counts as "recent" (the metric is published every minute).
const LOOKBACK: Duration = Duration::from_secs(5 * 60);
const PERIOD_SECONDS: i32 = 60;

fn query(
    id: &str,
    metric: &str,
    primary_cluster_id: &str,
    secondary_region: &str,
) -> MetricDataQuery {
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
                                .value(primary_cluster_id)
                                .build(),
                        )
                        .dimensions(
                            Dimension::builder()
                                .name("SecondaryRegion")
                                .value(secondary_region)
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

/// The newest datapoint of the result with this id, in seconds. Results are requested newest
/// first (`TimestampDescending`).
pub(crate) fn newest_seconds(results: &[MetricDataResult], id: &str) -> Option<f64> {
    results
        .iter()
        .find(|r| r.id() == Some(id))
        .and_then(|r| r.values().first())
        .map(|ms| ms / 1000.0)
}

#[async_trait]
impl ReplicationLag for AwsCloud {
    async fn replication_lag(
        &self,
        primary_region: &str,
        primary_cluster_id: &str,
        secondary_region: &str,
    ) -> CloudResult<Option<f64>> {
        let now = SystemTime::now();
        // Both metrics in one call: engines publish one or the other.
        let out = self
            .region(primary_region)
            .cloudwatch
            .get_metric_data()
            .metric_data_queries(query(
                "rpo",
                RPO_LAG_METRIC,
                primary_cluster_id,
                secondary_region,
            ))
            .metric_data_queries(query(
                "lag",
                REPLICATION_LAG_METRIC,
                primary_cluster_id,
                secondary_region,
            ))
            .start_time(DateTime::from(now - LOOKBACK))
            // A minute past now: CloudWatch (and moto) truncate the end to whole seconds or
            // periods and exclude it, so an end of "now" can leave out the newest datapoint,
            // the one the lag gate most needs. A future end time is allowed.
            .end_time(DateTime::from(
                now + Duration::from_secs(PERIOD_SECONDS as u64),
            ))
            .scan_by(ScanBy::TimestampDescending)
            // Only the newest point is used: one page always holds it.
            .max_datapoints(100)
            .send()
            .await
            .map_err(err(&ops::GET_METRIC_DATA))?;
        let results = out.metric_data_results();
        Ok(newest_seconds(results, "rpo").or_else(|| newest_seconds(results, "lag")))
    }
}
