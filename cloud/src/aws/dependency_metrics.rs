//! CloudWatch GetMetricData for spec.dependencies' replication metrics: S3's
//! ReplicationLatency and OperationsPendingReplication per replication rule (published only
//! where the rule has replication metrics enabled) and DynamoDB's ReplicationLatency per
//! receiving region.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy};
use aws_smithy_types::DateTime;

use super::errors::mapper as err;
use super::operations as ops;
use super::AwsCloud;
use crate::error::CloudResult;
use crate::model::{DependencyMetric, CLOUDWATCH_METRIC_QUERIES_PER_CALL};
use crate::ports::DependencyMetrics;

/// How far back a datapoint still counts as recent (both services publish every minute).
const LOOKBACK: Duration = Duration::from_secs(5 * 60);
const PERIOD_SECONDS: i32 = 60;

/// (namespace, metric name, dimensions, factor to seconds or counts).
fn shape(metric: &DependencyMetric) -> (&'static str, &'static str, Vec<(&str, &str)>, f64) {
    match metric {
        DependencyMetric::S3ReplicationLatency {
            source_bucket,
            destination_bucket,
            rule_id,
        }
        | DependencyMetric::S3OperationsPendingReplication {
            source_bucket,
            destination_bucket,
            rule_id,
        } => (
            "AWS/S3",
            if matches!(metric, DependencyMetric::S3ReplicationLatency { .. }) {
                "ReplicationLatency"
            } else {
                "OperationsPendingReplication"
            },
            vec![
                ("SourceBucket", source_bucket.as_str()),
                ("DestinationBucket", destination_bucket.as_str()),
                ("RuleId", rule_id.as_str()),
            ],
            1.0,
        ),
        DependencyMetric::DynamoDbReplicationLatency {
            table,
            receiving_region,
        } => (
            "AWS/DynamoDB",
            "ReplicationLatency",
            vec![
                ("TableName", table.as_str()),
                ("ReceivingRegion", receiving_region.as_str()),
            ],
            // Published in milliseconds.
            0.001,
        ),
    }
}

fn query(id: String, metric: &DependencyMetric) -> MetricDataQuery {
    let (namespace, name, dimensions, _) = shape(metric);
    let mut m = Metric::builder().namespace(namespace).metric_name(name);
    for (dim, value) in dimensions {
        m = m.dimensions(Dimension::builder().name(dim).value(value).build());
    }
    MetricDataQuery::builder()
        .id(id)
        .metric_stat(
            MetricStat::builder()
                .metric(m.build())
                .period(PERIOD_SECONDS)
                // The worst of the minute: a lag shown to a person deciding on data loss must
                // not be optimistic.
                .stat("Maximum")
                .build(),
        )
        .return_data(true)
        .build()
}

fn metric_id(i: usize) -> String {
    format!("dep{i}")
}

impl AwsCloud {
    async fn dependency_chunk(
        &self,
        region: &str,
        metrics: &[DependencyMetric],
    ) -> CloudResult<Vec<Option<f64>>> {
        let now = SystemTime::now();
        let queries = metrics
            .iter()
            .enumerate()
            .map(|(i, m)| query(metric_id(i), m))
            .collect();
        let pages: Vec<_> = self
            .region(region)
            .cloudwatch
            .get_metric_data()
            .set_metric_data_queries(Some(queries))
            .start_time(DateTime::from(now - LOOKBACK))
            // A minute ahead, as for the Aurora lag: the end is exclusive and truncated.
            .end_time(DateTime::from(
                now + Duration::from_secs(PERIOD_SECONDS as u64),
            ))
            .scan_by(ScanBy::TimestampDescending)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(err(&ops::GET_METRIC_DATA))?;
        // Newest first, and a result continued on a later page keeps its first (newest) value.
        let mut newest: HashMap<String, f64> = HashMap::new();
        for r in pages.iter().flat_map(|p| p.metric_data_results()) {
            if let (Some(id), Some(v)) = (r.id(), r.values().first()) {
                newest.entry(id.to_string()).or_insert(*v);
            }
        }
        Ok(metrics
            .iter()
            .enumerate()
            .map(|(i, m)| newest.get(&metric_id(i)).map(|v| v * shape(m).3))
            .collect())
    }
}

#[async_trait]
impl DependencyMetrics for AwsCloud {
    async fn dependency_metrics(
        &self,
        region: &str,
        metrics: &[DependencyMetric],
    ) -> CloudResult<Vec<Option<f64>>> {
        let mut values = Vec::with_capacity(metrics.len());
        for chunk in metrics.chunks(CLOUDWATCH_METRIC_QUERIES_PER_CALL) {
            values.extend(self.dependency_chunk(region, chunk).await?);
        }
        Ok(values)
    }
}
