//! The ports: one trait per AWS service the controller needs. Every method maps to one AWS API
//! call (or one paginated listing) so that call counts in the simulated world and in the real
//! one mean the same thing. Methods that mutate are idempotent or documented as guarded: the
//! controller re-reads before calling them. A single-item method that is its batch method
//! with one item (`change_record`, `replication_lag`) is provided here, on top of the batch
//! one, so that both go through one code path in every implementation.

use std::sync::Arc;

use async_trait::async_trait;
use drctl_schema::Timestamp;

use crate::error::{CloudError, CloudResult, ErrorCategory, Service};
use crate::model::*;

/// Aurora global databases, clusters, instances and snapshots (aws-sdk-rds).
#[async_trait]
pub trait Aurora: Send + Sync {
    /// DescribeGlobalClusters, asked in `region`. None when it does not exist.
    async fn describe_global_cluster(
        &self,
        region: &str,
        global_cluster_id: &str,
    ) -> CloudResult<Option<GlobalCluster>>;

    /// DescribeGlobalClusters with no identifier, every page (100 per page): every global
    /// cluster of the account. Global clusters are account-wide, so any region answers.
    async fn describe_global_clusters(&self, region: &str) -> CloudResult<Vec<GlobalCluster>>;

    /// DescribeDBClusters in `region` for these identifiers (one call, plus pages, per 100:
    /// the filter's limit); missing ones are left out.
    async fn describe_clusters(&self, region: &str, ids: &[String]) -> CloudResult<Vec<DbCluster>>;

    /// DescribeDBInstances filtered by cluster.
    async fn describe_instances(
        &self,
        region: &str,
        cluster_id: &str,
    ) -> CloudResult<Vec<DbInstance>>;

    /// SwitchoverGlobalCluster (planned, RPO 0). Asked in the target's region.
    async fn switchover_global_cluster(
        &self,
        region: &str,
        global_cluster_id: &str,
        target_cluster_arn: &str,
    ) -> CloudResult<()>;

    /// FailoverGlobalCluster. Asked in the target's region.
    async fn failover_global_cluster(
        &self,
        region: &str,
        global_cluster_id: &str,
        target_cluster_arn: &str,
        allow_data_loss: bool,
    ) -> CloudResult<()>;

    /// DescribeDBClusterSnapshots.
    async fn describe_cluster_snapshots(
        &self,
        region: &str,
        query: &SnapshotQuery,
    ) -> CloudResult<Vec<ClusterSnapshot>>;

    /// CreateDBClusterSnapshot (manual).
    async fn create_cluster_snapshot(
        &self,
        region: &str,
        cluster_id: &str,
        snapshot_id: &str,
    ) -> CloudResult<()>;

    /// CopyDBClusterSnapshot within a region (system snapshot -> manual one we keep).
    async fn copy_cluster_snapshot(
        &self,
        region: &str,
        source_snapshot_id: &str,
        target_snapshot_id: &str,
    ) -> CloudResult<()>;

    /// ModifyDBCluster(DeletionProtection).
    async fn set_deletion_protection(
        &self,
        region: &str,
        cluster_id: &str,
        enabled: bool,
    ) -> CloudResult<()>;

    /// DeleteDBInstance.
    async fn delete_instance(&self, region: &str, instance_id: &str) -> CloudResult<()>;

    /// DeleteDBCluster. drctl always takes its own manual snapshot first, so it passes
    /// `SkipFinalSnapshot=true` explicitly (AWS requires the choice to be explicit).
    async fn delete_cluster(&self, region: &str, cluster_id: &str) -> CloudResult<()>;

    /// CreateDBCluster as a secondary of a global cluster.
    async fn create_secondary_cluster(&self, request: &CreateSecondaryCluster) -> CloudResult<()>;

    /// CreateDBInstance inside a cluster.
    async fn create_instance(&self, request: &CreateInstance) -> CloudResult<()>;
}

/// RDS DB instances with cross-region read replicas (spec.database.kind: rdsReplica),
/// aws-sdk-rds. Every call is asked in the region of the instance it names.
#[async_trait]
pub trait RdsInstances: Send + Sync {
    /// DescribeDBInstances(DBInstanceIdentifier). None when it does not exist.
    async fn describe_db_instance(
        &self,
        region: &str,
        instance_id: &str,
    ) -> CloudResult<Option<RdsInstance>>;

    /// PromoteReadReplica: the replica becomes a standalone, writable instance. Irreversible;
    /// the caller re-reads first (a promoted instance is no longer a replica).
    async fn promote_read_replica(&self, region: &str, instance_id: &str) -> CloudResult<()>;

    /// CreateDBInstanceReadReplica across regions. "Already exists" means an earlier attempt
    /// worked (the identifier is the spec's).
    async fn create_read_replica(&self, request: &CreateReadReplica) -> CloudResult<()>;

    /// DeleteDBInstance with `SkipFinalSnapshot=true` (drctl takes its own manual snapshot
    /// first, and checks it is available) and `DeleteAutomatedBackups=false`.
    async fn delete_db_instance(&self, region: &str, instance_id: &str) -> CloudResult<()>;

    /// CreateDBSnapshot (manual), under a deterministic name.
    async fn create_db_snapshot(
        &self,
        region: &str,
        instance_id: &str,
        snapshot_id: &str,
    ) -> CloudResult<()>;

    /// DescribeDBSnapshots of one instance (every page), manual ones.
    async fn describe_db_snapshots(
        &self,
        region: &str,
        instance_id: &str,
    ) -> CloudResult<Vec<DbSnapshot>>;
}

/// CloudWatch: the `ReplicaLag` metric (AWS/RDS, DBInstanceIdentifier) of an RDS read replica,
/// published in the replica's region. Its own trait beside [`ReplicationLag`] (Aurora's
/// metric is asked of the primary's region, by cluster).
#[async_trait]
pub trait InstanceReplicaLag: Send + Sync {
    /// The latest ReplicaLag of `replica_id` in `region`, seconds; None without a recent
    /// datapoint.
    async fn replica_lag(&self, region: &str, replica_id: &str) -> CloudResult<Option<f64>>;
}

/// CloudWatch: Aurora global replication lag.
#[async_trait]
pub trait ReplicationLag: Send + Sync {
    /// The latest `AuroraGlobalDBRPOLag` of the secondary in `secondary_region`, seen from the
    /// primary cluster, in seconds. None when there is no recent datapoint. The same request
    /// as `replication_lags` with one query.
    async fn replication_lag(
        &self,
        primary_region: &str,
        primary_cluster_id: &str,
        secondary_region: &str,
    ) -> CloudResult<Option<f64>> {
        let query = LagQuery {
            primary_cluster_id: primary_cluster_id.to_string(),
            secondary_region: secondary_region.to_string(),
        };
        let lags = self
            .replication_lags(primary_region, std::slice::from_ref(&query))
            .await?;
        Ok(lags.into_iter().next().flatten())
    }

    /// Many lags in one go: GetMetricData with up to 500 metric queries per call, two per lag
    /// (see [`LAG_QUERIES_PER_CALL`]; more: several calls), answers in the order of
    /// `queries`; None where there is no recent datapoint. No queries: no call.
    async fn replication_lags(
        &self,
        primary_region: &str,
        queries: &[LagQuery],
    ) -> CloudResult<Vec<Option<f64>>>;
}

/// CloudWatch alarms: the witnesses of automatic failover, each read in its own region. The
/// same service as [`ReplicationLag`] (and the same pacing bucket), but its own trait: the lag
/// is asked of the writer's region for the planner's RPO gates, the alarms of other regions
/// as independent evidence, and a test that replaces one (no lag datapoints, say) keeps the
/// other real.
#[async_trait]
pub trait Alarms: Send + Sync {
    /// DescribeAlarms(AlarmNames) in `region`, one call per 100 names (every page); alarms
    /// that do not exist are left out. No names: no call.
    async fn describe_alarms(
        &self,
        region: &str,
        names: &[String],
    ) -> CloudResult<Vec<AlarmReading>>;
}

/// S3 (aws-sdk-s3): a bucket's replication configuration and versioning, read for
/// `spec.dependencies.s3Replication` and never changed. Asked in the bucket's own region.
#[async_trait]
pub trait S3Replication: Send + Sync {
    /// GetBucketReplication. `NoSuchBucket` and `ReplicationConfigurationNotFoundError` are
    /// answers ([`BucketReplication`]), not errors.
    async fn get_bucket_replication(
        &self,
        region: &str,
        bucket: &str,
    ) -> CloudResult<BucketReplication>;

    /// GetBucketVersioning. None: no such bucket.
    async fn get_bucket_versioning(
        &self,
        region: &str,
        bucket: &str,
    ) -> CloudResult<Option<VersioningStatus>>;
}

/// DynamoDB tables (aws-sdk-dynamodb's DescribeTable), read for
/// `spec.dependencies.dynamodbGlobalTables` and never changed. The store's own table is the
/// state crate's business, not this port's.
#[async_trait]
pub trait GlobalTables: Send + Sync {
    /// DescribeTable in `region`. None: `ResourceNotFoundException` (no table, hence no
    /// replica, there).
    async fn describe_table(
        &self,
        region: &str,
        table: &str,
    ) -> CloudResult<Option<TableDescription>>;
}

/// CloudWatch GetMetricData for the dependencies' replication metrics: the same service as
/// [`ReplicationLag`], its own trait because it asks other namespaces with other dimensions,
/// and a test that replaces one keeps the other real.
#[async_trait]
pub trait DependencyMetrics: Send + Sync {
    /// The newest datapoint of each metric in the last minutes, in the order asked (None: no
    /// recent datapoint). One call (plus pages) per 500 metrics; no metrics: no call.
    async fn dependency_metrics(
        &self,
        region: &str,
        metrics: &[DependencyMetric],
    ) -> CloudResult<Vec<Option<f64>>>;
}

/// Route 53 records and changes. The control plane lives in us-east-1.
#[async_trait]
pub trait Dns: Send + Sync {
    /// ListResourceRecordSets starting at (name, type), returning that record if present.
    async fn get_record(
        &self,
        hosted_zone_id: &str,
        name: &str,
        record_type: &str,
    ) -> CloudResult<Option<DnsRecord>>;

    /// One ListResourceRecordSets page (300 records) from `from` (None: the zone's start):
    /// the simple-routing records on it, as get_record returns them (routing-policy records
    /// with set identifiers skipped), and where the next page starts.
    async fn list_records_page(
        &self,
        hosted_zone_id: &str,
        from: Option<&RecordCursor>,
    ) -> CloudResult<RecordPage>;

    /// The whole zone, page after page. One call per page, each through
    /// `list_records_page`, so a wrapper that paces calls paces every page: a burst of a
    /// zone's pages is what Route 53's 5 requests/s throttles.
    async fn list_records(&self, hosted_zone_id: &str) -> CloudResult<Vec<DnsRecord>> {
        let mut records = Vec::new();
        let mut from: Option<RecordCursor> = None;
        loop {
            let page = self
                .list_records_page(hosted_zone_id, from.as_ref())
                .await?;
            records.extend(page.records);
            match page.next {
                // An endpoint that hands back the page it was asked for would loop forever.
                Some(next) if from.as_ref() == Some(&next) => {
                    return Err(CloudError::new(
                        ErrorCategory::Retryable,
                        Service::Route53,
                        "ListResourceRecordSets",
                        "MalformedResponse",
                        "the next page starts where this one did",
                    ))
                }
                Some(next) => from = Some(next),
                None => return Ok(records),
            }
        }
    }

    /// ChangeResourceRecordSets, one all-or-nothing batch. With `expected`, the batch is
    /// DELETE(expected) + CREATE(desired): a compare-and-swap that fails if someone else moved
    /// the record. Without it, an UPSERT. The same request as `change_records` with one
    /// change.
    async fn change_record(
        &self,
        hosted_zone_id: &str,
        expected: Option<&DnsRecord>,
        desired: &DnsRecord,
        comment: &str,
    ) -> CloudResult<ChangeInfo> {
        let change = RecordChange {
            expected: expected.cloned(),
            desired: desired.clone(),
        };
        self.change_records(hosted_zone_id, std::slice::from_ref(&change), comment)
            .await
    }

    /// ChangeResourceRecordSets with many records' changes in one all-or-nothing batch. The
    /// caller keeps within Route 53's limits (1,000 ResourceRecord elements, 32,000
    /// characters of values per request, counted as [`Route53BatchSize`] does); the adapter
    /// refuses a larger batch with NeedsSpecChange before sending (see
    /// [`check_record_batch`]).
    async fn change_records(
        &self,
        hosted_zone_id: &str,
        changes: &[RecordChange],
        comment: &str,
    ) -> CloudResult<ChangeInfo>;

    /// GetChange.
    async fn get_change(&self, change_id: &str) -> CloudResult<ChangeStatus>;

    /// ListResourceRecordSets from (name, type): the failover-routing records of that name
    /// and type (a PRIMARY/SECONDARY pair when set up), every page.
    async fn list_failover_records(
        &self,
        hosted_zone_id: &str,
        name: &str,
        record_type: &str,
    ) -> CloudResult<Vec<FailoverRecord>>;

    /// GetHealthCheck. None when Route 53 has no such health check.
    async fn get_health_check(&self, health_check_id: &str)
        -> CloudResult<Option<HealthCheckInfo>>;

    /// GetHealthCheckStatus: each health checker's last report on the check's endpoint
    /// (`route53_considers_healthy` turns them into Route 53's verdict). A control-plane
    /// call (us-east-1): the health checkers themselves keep working when it does not answer.
    async fn get_health_check_status(
        &self,
        health_check_id: &str,
    ) -> CloudResult<Vec<HealthCheckObservation>>;
}

/// ARC's routing-control data plane (aws-sdk-route53recoverycluster). Every call goes to one
/// of the cluster's regional endpoints; the caller tries them in turn. The data plane has no
/// control plane in us-east-1 to wait on: it is what traffic moves through during an outage.
#[async_trait]
pub trait RoutingControls: Send + Sync {
    /// GetRoutingControlState of one control, asked at `endpoint`.
    async fn get_routing_control_state(
        &self,
        endpoint: &ClusterEndpoint,
        control_arn: &str,
    ) -> CloudResult<RoutingControlState>;

    /// UpdateRoutingControlStates: every entry in ONE request, applied together (and
    /// checked together against the control panel's safety rules: `ConflictException` when
    /// they would be broken).
    async fn update_routing_control_states(
        &self,
        endpoint: &ClusterEndpoint,
        updates: &[RoutingControlUpdate],
    ) -> CloudResult<()>;
}

/// ARC's control-config API (aws-sdk-route53recoverycontrolconfig), a control plane hosted in
/// us-west-2: read while it answers, never on the recovery path.
#[async_trait]
pub trait RecoveryControlConfig: Send + Sync {
    /// DescribeCluster: the cluster's regional data-plane endpoints.
    async fn describe_cluster(&self, cluster_arn: &str) -> CloudResult<Vec<ClusterEndpoint>>;
}

/// ECS services.
#[async_trait]
pub trait Ecs: Send + Sync {
    /// DescribeServices (up to 10 per call; the adapter batches, one call per 10).
    async fn describe_services(
        &self,
        region: &str,
        cluster: &str,
        services: &[String],
    ) -> CloudResult<Vec<EcsService>>;

    /// UpdateService(desiredCount).
    async fn update_desired_count(
        &self,
        region: &str,
        cluster: &str,
        service: &str,
        desired: u32,
    ) -> CloudResult<()>;
}

/// Application Auto Scaling scalable targets of ECS services.
#[async_trait]
pub trait AutoScaling: Send + Sync {
    /// DescribeScalableTargets(ecs, ResourceIds): one call (plus pages) per 50 ids.
    async fn describe_scalable_targets(
        &self,
        region: &str,
        resource_ids: &[String],
    ) -> CloudResult<Vec<ScalableTarget>>;

    /// RegisterScalableTarget(min, max). Idempotent in AWS.
    async fn register_scalable_target(
        &self,
        region: &str,
        resource_id: &str,
        min: u32,
        max: u32,
    ) -> CloudResult<()>;
}

/// The `Verify` step: an HTTP GET against the spec's URL.
#[async_trait]
pub trait HealthCheck: Send + Sync {
    /// The HTTP status code returned by `url`.
    async fn probe(&self, url: &str) -> CloudResult<u16>;
}

/// Time is a port too: the real clock, or the simulated world's virtual one. Sleeping is done
/// with `tokio::time`, which the simulated world runs paused.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// Everything the controller reaches the cloud through.
#[derive(Clone)]
pub struct Cloud {
    pub aurora: Arc<dyn Aurora>,
    pub lag: Arc<dyn ReplicationLag>,
    pub alarms: Arc<dyn Alarms>,
    pub dns: Arc<dyn Dns>,
    pub ecs: Arc<dyn Ecs>,
    pub autoscaling: Arc<dyn AutoScaling>,
    pub routing: Arc<dyn RoutingControls>,
    pub recovery_config: Arc<dyn RecoveryControlConfig>,
    pub health: Arc<dyn HealthCheck>,
    pub clock: Arc<dyn Clock>,
    /// spec.database.kind rdsReplica: DB instances and read replicas.
    pub rds_instances: Arc<dyn RdsInstances>,
    /// spec.database.kind rdsReplica: the replica's ReplicaLag metric.
    pub replica_lag: Arc<dyn InstanceReplicaLag>,
    /// spec.dependencies (read only).
    pub s3: Arc<dyn S3Replication>,
    pub tables: Arc<dyn GlobalTables>,
    pub dependency_metrics: Arc<dyn DependencyMetrics>,
    /// The continuous pre-flight checks' account and region facts (memoized fleet-wide,
    /// see [`crate::offerings`]).
    pub offerings: Arc<dyn RdsOfferings>,
}

/// RDS facts of a region that change slowly and that a recreated or added DB instance needs:
/// read by the continuous pre-flight checks between operations (issue 13), never on an
/// operation's path. Both are asked in the region they describe.
#[async_trait]
pub trait RdsOfferings: Send + Sync {
    /// DescribeOrderableDBInstanceOptions(Engine, EngineVersion, DBInstanceClass): is this
    /// class orderable in `region` for this engine version? (An empty answer: it is not.)
    async fn instance_class_offered(
        &self,
        region: &str,
        engine: &str,
        engine_version: &str,
        instance_class: &str,
    ) -> CloudResult<bool>;

    /// DescribeAccountAttributes: the `DBInstances` quota of `region` (None when the answer
    /// lists no such quota).
    async fn db_instance_quota(&self, region: &str) -> CloudResult<Option<DbInstanceQuota>>;
}
