//! spec.dependencies in the simulated world: S3 buckets with their versioning and
//! replication configuration, and DynamoDB global tables with a replica per region, behind
//! the `S3Replication`, `GlobalTables` and `DependencyMetrics` ports.
//!
//! `provision` builds them healthy from the spec: both buckets versioned, one enabled rule
//! with replication metrics to the destination, a replica ACTIVE in every listed region.
//! Region outages come from the call pipeline: a call to a dead region's S3 or DynamoDB
//! endpoint times out like any other, so a bucket or replica there is unreadable. The knobs
//! below break them for tests and drills; drctl itself never changes any of it.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use drctl_cloud::{
    BucketReplication, CloudResult, DependencyMetric, DependencyMetrics, GlobalTables,
    ReplicaStatus, ReplicationRule, RuleStatus, S3Replication, Service, TableDescription,
    TableReplica, TableStatus, VersioningStatus, CLOUDWATCH_METRIC_QUERIES_PER_CALL,
};
use drctl_schema::FailoverGroupSpec;

use crate::ports::SimCloud;
use crate::world::SimWorld;

/// DynamoDB's ReplicationLatency when nothing says otherwise. AWS documents no figure beyond
/// "typically within a second"; an assumption of the sim.
pub const DEFAULT_TABLE_REPLICATION_LATENCY: Duration = Duration::from_millis(500);

/// One simulated bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct SimBucket {
    pub region: String,
    pub versioning: VersioningStatus,
    /// None: no replication configuration.
    pub rules: Option<Vec<ReplicationRule>>,
    /// ReplicationLatency (seconds) and OperationsPendingReplication of its rules.
    pub latency_seconds: f64,
    pub pending_operations: f64,
}

/// One simulated global table: its replicas by region.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SimTable {
    pub replicas: BTreeMap<String, ReplicaStatus>,
    /// ReplicationLatency to each receiving region.
    pub latency: BTreeMap<String, Duration>,
}

/// The dependencies of every provisioned group.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dependencies {
    pub buckets: BTreeMap<String, SimBucket>,
    pub tables: BTreeMap<String, SimTable>,
}

/// The rule id the sim gives the replication rule it provisions.
pub const SIM_RULE_ID: &str = "drctl-sim-replication";

impl Dependencies {
    /// Everything `spec.dependencies` names, healthy. The destination bucket lives in the
    /// other region of spec.regions. Already known names are left as they are (two groups
    /// may share a bucket).
    pub(crate) fn provision(&mut self, spec: &FailoverGroupSpec) {
        let Some(deps) = &spec.dependencies else {
            return;
        };
        for dep in deps.buckets() {
            let destination_region = spec
                .other_region(&dep.region)
                .unwrap_or(&dep.region)
                .to_string();
            self.buckets
                .entry(dep.destination_bucket.clone())
                .or_insert_with(|| bucket(destination_region, None));
            let rule = ReplicationRule {
                id: Some(SIM_RULE_ID.to_string()),
                status: RuleStatus::Enabled,
                destination_bucket_arn: format!("arn:aws:s3:::{}", dep.destination_bucket),
                metrics_enabled: true,
            };
            self.buckets
                .entry(dep.bucket.clone())
                .or_insert_with(|| bucket(dep.region.clone(), Some(vec![rule])));
        }
        for dep in deps.tables() {
            let table = self.tables.entry(dep.table.clone()).or_default();
            for region in &dep.regions {
                table
                    .replicas
                    .entry(region.clone())
                    .or_insert(ReplicaStatus::Active);
            }
        }
    }

    fn describe_table(&self, region: &str, name: &str) -> Option<TableDescription> {
        let table = self.tables.get(name)?;
        let own = table.replicas.get(region)?;
        Some(TableDescription {
            name: name.to_string(),
            status: match own {
                ReplicaStatus::Active => TableStatus::Active,
                ReplicaStatus::Creating => TableStatus::Creating,
                ReplicaStatus::Deleting => TableStatus::Deleting,
                other => TableStatus::Other(other.as_str().to_string()),
            },
            // DescribeTable lists the other regions' replicas.
            replicas: table
                .replicas
                .iter()
                .filter(|(r, _)| r.as_str() != region)
                .map(|(r, status)| TableReplica {
                    region: r.clone(),
                    status: status.clone(),
                })
                .collect(),
        })
    }

    fn metric(&self, region: &str, metric: &DependencyMetric) -> Option<f64> {
        match metric {
            DependencyMetric::S3ReplicationLatency { source_bucket, .. }
            | DependencyMetric::S3OperationsPendingReplication { source_bucket, .. } => {
                let b = self.buckets.get(source_bucket)?;
                let enabled = b
                    .rules
                    .as_ref()?
                    .iter()
                    .any(|r| r.metrics_enabled && r.status == RuleStatus::Enabled);
                (b.region == region && enabled).then_some(
                    if matches!(metric, DependencyMetric::S3ReplicationLatency { .. }) {
                        b.latency_seconds
                    } else {
                        b.pending_operations
                    },
                )
            }
            DependencyMetric::DynamoDbReplicationLatency {
                table,
                receiving_region,
            } => {
                let t = self.tables.get(table)?;
                t.replicas.get(region)?;
                t.replicas.get(receiving_region)?;
                Some(
                    t.latency
                        .get(receiving_region)
                        .copied()
                        .unwrap_or(DEFAULT_TABLE_REPLICATION_LATENCY)
                        .as_secs_f64(),
                )
            }
        }
    }
}

fn bucket(region: String, rules: Option<Vec<ReplicationRule>>) -> SimBucket {
    SimBucket {
        region,
        versioning: VersioningStatus::Enabled,
        rules,
        latency_seconds: 0.0,
        pending_operations: 0.0,
    }
}

/// Knobs that break the dependencies, for tests and drills.
impl SimWorld {
    /// DeleteBucketReplication, as a person would: the bucket replicates nothing.
    pub fn delete_bucket_replication(&self, bucket: &str) {
        if let Some(b) = self.current().deps.buckets.get_mut(bucket) {
            b.rules = None;
        }
    }

    /// Set the status of every replication rule of `bucket`.
    pub fn set_replication_rule_status(&self, bucket: &str, status: RuleStatus) {
        if let Some(rules) = self
            .current()
            .deps
            .buckets
            .get_mut(bucket)
            .and_then(|b| b.rules.as_mut())
        {
            for rule in rules {
                rule.status = status;
            }
        }
    }

    /// PutBucketVersioning(Status), e.g. Suspended.
    pub fn set_bucket_versioning(&self, bucket: &str, status: VersioningStatus) {
        if let Some(b) = self.current().deps.buckets.get_mut(bucket) {
            b.versioning = status;
        }
    }

    /// ReplicationLatency and OperationsPendingReplication of `bucket`'s rules.
    pub fn set_bucket_replication_latency(&self, bucket: &str, latency: Duration, pending: u64) {
        if let Some(b) = self.current().deps.buckets.get_mut(bucket) {
            b.latency_seconds = latency.as_secs_f64();
            b.pending_operations = pending as f64;
        }
    }

    /// Remove `table`'s replica in `region` (UpdateTable ReplicaUpdates Delete, done).
    pub fn remove_table_replica(&self, table: &str, region: &str) {
        if let Some(t) = self.current().deps.tables.get_mut(table) {
            t.replicas.remove(region);
        }
    }

    /// The ReplicaStatus `table`'s replica in `region` reports.
    pub fn set_table_replica_status(&self, table: &str, region: &str, status: ReplicaStatus) {
        if let Some(t) = self.current().deps.tables.get_mut(table) {
            t.replicas.insert(region.to_string(), status);
        }
    }

    /// ReplicationLatency of `table` towards `receiving_region`.
    pub fn set_table_replication_latency(
        &self,
        table: &str,
        receiving_region: &str,
        latency: Duration,
    ) {
        if let Some(t) = self.current().deps.tables.get_mut(table) {
            t.latency.insert(receiving_region.to_string(), latency);
        }
    }

    /// Ground truth of the dependencies (no call recorded).
    pub fn dependencies(&self) -> Dependencies {
        self.current().deps.clone()
    }
}

#[async_trait]
impl S3Replication for SimCloud {
    async fn get_bucket_replication(
        &self,
        region: &str,
        bucket: &str,
    ) -> CloudResult<BucketReplication> {
        self.world
            .call(
                &self.caller,
                Service::S3,
                "GetBucketReplication",
                region,
                false,
                bucket.to_string(),
                |st, _| {
                    Ok(match st.deps.buckets.get(bucket) {
                        None => BucketReplication::NoSuchBucket,
                        Some(b) => match &b.rules {
                            None => BucketReplication::NotConfigured,
                            Some(rules) => BucketReplication::Configured {
                                rules: rules.clone(),
                            },
                        },
                    })
                },
            )
            .await
    }

    async fn get_bucket_versioning(
        &self,
        region: &str,
        bucket: &str,
    ) -> CloudResult<Option<VersioningStatus>> {
        self.world
            .call(
                &self.caller,
                Service::S3,
                "GetBucketVersioning",
                region,
                false,
                bucket.to_string(),
                |st, _| Ok(st.deps.buckets.get(bucket).map(|b| b.versioning)),
            )
            .await
    }
}

#[async_trait]
impl GlobalTables for SimCloud {
    async fn describe_table(
        &self,
        region: &str,
        table: &str,
    ) -> CloudResult<Option<TableDescription>> {
        self.world
            .call(
                &self.caller,
                Service::DynamoDb,
                "DescribeTable",
                region,
                false,
                table.to_string(),
                |st, _| Ok(st.deps.describe_table(region, table)),
            )
            .await
    }
}

#[async_trait]
impl DependencyMetrics for SimCloud {
    async fn dependency_metrics(
        &self,
        region: &str,
        metrics: &[DependencyMetric],
    ) -> CloudResult<Vec<Option<f64>>> {
        let mut values = Vec::with_capacity(metrics.len());
        for chunk in metrics.chunks(CLOUDWATCH_METRIC_QUERIES_PER_CALL) {
            let answers = self
                .world
                .call(
                    &self.caller,
                    Service::CloudWatch,
                    "GetMetricData",
                    region,
                    false,
                    format!("{} dependency metrics", chunk.len()),
                    |st, _| {
                        Ok(chunk
                            .iter()
                            .map(|m| st.deps.metric(region, m))
                            .collect::<Vec<_>>())
                    },
                )
                .await?;
            values.extend(answers);
        }
        Ok(values)
    }
}
