//! drctl-cloud's ports implemented by the world: one handle per caller, so that the call
//! record knows who called.

use std::ops::Bound;
use std::sync::Arc;

use async_trait::async_trait;
use drctl_cloud::{
    check_record_batch, AlarmReading, Alarms, Aurora, AutoScaling, ChangeInfo, ChangeStatus, Clock,
    CloudResult, ClusterEndpoint, ClusterSnapshot, CreateInstance, CreateSecondaryCluster,
    DbCluster, DbInstance, Dns, DnsRecord, Ecs, EcsService, FailoverRecord, GlobalCluster,
    HealthCheck, HealthCheckInfo, LagQuery, RecordChange, RecordCursor, RecordPage,
    RecoveryControlConfig, ReplicationLag, RoutingControlState, RoutingControlUpdate,
    RoutingControls, ScalableTarget, Service, SnapshotQuery, CLOUDWATCH_ALARM_NAMES_PER_CALL,
    ECS_SERVICES_PER_DESCRIBE, LAG_QUERIES_PER_CALL, RDS_FILTER_VALUES_MAX,
    RDS_GLOBAL_CLUSTERS_PER_PAGE, ROUTE53_RECORD_SETS_PER_PAGE, SCALABLE_TARGET_IDS_PER_DESCRIBE,
};
use drctl_schema::Timestamp;

use crate::keys::RecordKey;
use crate::state::State;
use crate::world::SimWorld;

/// The Route 53 control plane's region (aws-facts: it runs in us-east-1 only).
pub const ROUTE53_CONTROL_REGION: &str = "us-east-1";

pub(crate) struct SimCloud {
    pub(crate) world: Arc<SimWorld>,
    pub(crate) caller: String,
}

/// The id chunks of a call AWS limits to `max` ids: one recorded call per chunk, as the AWS
/// adapters make. No ids is one call (the sim's describe of everything, which its tests use
/// as a cheap probe).
fn id_chunks(ids: &[String], max: usize) -> Vec<&[String]> {
    if ids.is_empty() {
        vec![ids]
    } else {
        ids.chunks(max).collect()
    }
}

/// One read of a describe AWS limits to `max` ids per call.
struct ChunkedRead<'a> {
    service: Service,
    op: &'static str,
    region: &'a str,
    max: usize,
    /// What the call record names before the ids (an ECS cluster, say).
    prefix: String,
}

impl SimCloud {
    /// A describe of `ids`, one recorded call per chunk of `read.max` (see `id_chunks`), the
    /// answers of every chunk together.
    async fn chunked_read<T, F>(
        &self,
        read: ChunkedRead<'_>,
        ids: &[String],
        answer: F,
    ) -> CloudResult<Vec<T>>
    where
        F: Fn(&mut State, &[String]) -> CloudResult<Vec<T>> + Send + Sync,
        T: Send,
    {
        let mut all = Vec::new();
        for chunk in id_chunks(ids, read.max) {
            let found = self
                .world
                .call(
                    &self.caller,
                    read.service,
                    read.op,
                    read.region,
                    false,
                    format!("{}{}", read.prefix, chunk.join(",")),
                    |st, _| answer(st, chunk),
                )
                .await?;
            all.extend(found);
        }
        Ok(all)
    }
}

impl Clock for SimCloud {
    fn now(&self) -> Timestamp {
        self.world.now()
    }
}

/// One DescribeGlobalClusters page: the global clusters after `marker` in identifier order,
/// and the marker of the next page if there is one.
fn global_clusters_page(st: &State, marker: Option<&str>) -> (Vec<GlobalCluster>, Option<String>) {
    // A range from the marker, not a scan of every global cluster: a fleet's listing costs
    // its pages, not pages x fleet.
    let after = match marker {
        Some(m) => (Bound::Excluded(m.to_string()), Bound::Unbounded),
        None => (Bound::Unbounded, Bound::Unbounded),
    };
    let mut ids = st.globals.range::<String, _>(after).map(|(id, _)| id);
    let page: Vec<&String> = ids.by_ref().take(RDS_GLOBAL_CLUSTERS_PER_PAGE).collect();
    let next = ids
        .next()
        .is_some()
        .then(|| page.last().map(|id| id.to_string()))
        .flatten();
    let clusters = page
        .into_iter()
        .filter(|id| !crate::rds_instance::is_pair(id))
        .filter_map(|id| st.describe_global_cluster(id))
        .collect();
    (clusters, next)
}

#[async_trait]
impl Aurora for SimCloud {
    async fn describe_global_cluster(
        &self,
        region: &str,
        global_cluster_id: &str,
    ) -> CloudResult<Option<GlobalCluster>> {
        self.world
            .call(
                &self.caller,
                Service::Rds,
                "DescribeGlobalClusters",
                region,
                false,
                global_cluster_id.to_string(),
                |st, _| Ok(st.describe_global_cluster(global_cluster_id)),
            )
            .await
    }

    async fn describe_global_clusters(&self, region: &str) -> CloudResult<Vec<GlobalCluster>> {
        let mut clusters = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let after = marker.clone();
            let (page, next) = self
                .world
                .call(
                    &self.caller,
                    Service::Rds,
                    "DescribeGlobalClusters",
                    region,
                    false,
                    after
                        .clone()
                        .map(|m| format!("after {m}"))
                        .unwrap_or_default(),
                    |st, _| Ok(global_clusters_page(st, after.as_deref())),
                )
                .await?;
            clusters.extend(page);
            match next {
                Some(next) => marker = Some(next),
                None => return Ok(clusters),
            }
        }
    }

    async fn describe_clusters(&self, region: &str, ids: &[String]) -> CloudResult<Vec<DbCluster>> {
        let read = ChunkedRead {
            service: Service::Rds,
            op: "DescribeDBClusters",
            region,
            max: RDS_FILTER_VALUES_MAX,
            prefix: String::new(),
        };
        self.chunked_read(read, ids, |st, chunk| {
            Ok(st.describe_clusters(region, chunk))
        })
        .await
    }

    async fn describe_instances(
        &self,
        region: &str,
        cluster_id: &str,
    ) -> CloudResult<Vec<DbInstance>> {
        self.world
            .call(
                &self.caller,
                Service::Rds,
                "DescribeDBInstances",
                region,
                false,
                cluster_id.to_string(),
                |st, _| Ok(st.describe_instances(region, cluster_id)),
            )
            .await
    }

    async fn switchover_global_cluster(
        &self,
        region: &str,
        global_cluster_id: &str,
        target_cluster_arn: &str,
    ) -> CloudResult<()> {
        self.world
            .call(
                &self.caller,
                Service::Rds,
                "SwitchoverGlobalCluster",
                region,
                true,
                format!("{global_cluster_id} -> {target_cluster_arn}"),
                |st, ctx| {
                    st.switchover(
                        ctx,
                        "SwitchoverGlobalCluster",
                        global_cluster_id,
                        target_cluster_arn,
                    )
                },
            )
            .await
    }

    async fn failover_global_cluster(
        &self,
        region: &str,
        global_cluster_id: &str,
        target_cluster_arn: &str,
        allow_data_loss: bool,
    ) -> CloudResult<()> {
        self.world
            .call(
                &self.caller,
                Service::Rds,
                "FailoverGlobalCluster",
                region,
                true,
                format!(
                    "{global_cluster_id} -> {target_cluster_arn} allowDataLoss={allow_data_loss}"
                ),
                |st, ctx| st.failover(ctx, global_cluster_id, target_cluster_arn, allow_data_loss),
            )
            .await
    }

    async fn describe_cluster_snapshots(
        &self,
        region: &str,
        query: &SnapshotQuery,
    ) -> CloudResult<Vec<ClusterSnapshot>> {
        self.world
            .call(
                &self.caller,
                Service::Rds,
                "DescribeDBClusterSnapshots",
                region,
                false,
                query
                    .snapshot_identifier
                    .clone()
                    .or_else(|| query.cluster_identifier.clone())
                    .unwrap_or_default(),
                |st, _| Ok(st.describe_snapshots(region, query)),
            )
            .await
    }

    async fn create_cluster_snapshot(
        &self,
        region: &str,
        cluster_id: &str,
        snapshot_id: &str,
    ) -> CloudResult<()> {
        self.world
            .call(
                &self.caller,
                Service::Rds,
                "CreateDBClusterSnapshot",
                region,
                true,
                format!("{cluster_id} -> {snapshot_id}"),
                |st, ctx| st.create_snapshot(ctx, region, cluster_id, snapshot_id),
            )
            .await
    }

    async fn copy_cluster_snapshot(
        &self,
        region: &str,
        source_snapshot_id: &str,
        target_snapshot_id: &str,
    ) -> CloudResult<()> {
        self.world
            .call(
                &self.caller,
                Service::Rds,
                "CopyDBClusterSnapshot",
                region,
                true,
                format!("{source_snapshot_id} -> {target_snapshot_id}"),
                |st, ctx| st.copy_snapshot(ctx, region, source_snapshot_id, target_snapshot_id),
            )
            .await
    }

    async fn set_deletion_protection(
        &self,
        region: &str,
        cluster_id: &str,
        enabled: bool,
    ) -> CloudResult<()> {
        self.world
            .call(
                &self.caller,
                Service::Rds,
                "ModifyDBCluster",
                region,
                true,
                format!("{cluster_id} deletionProtection={enabled}"),
                |st, _| st.set_deletion_protection(region, cluster_id, enabled),
            )
            .await
    }

    async fn delete_instance(&self, region: &str, instance_id: &str) -> CloudResult<()> {
        self.world
            .call(
                &self.caller,
                Service::Rds,
                "DeleteDBInstance",
                region,
                true,
                instance_id.to_string(),
                |st, ctx| st.delete_instance(ctx, region, instance_id),
            )
            .await
    }

    async fn delete_cluster(&self, region: &str, cluster_id: &str) -> CloudResult<()> {
        self.world
            .call(
                &self.caller,
                Service::Rds,
                "DeleteDBCluster",
                region,
                true,
                cluster_id.to_string(),
                |st, ctx| st.delete_cluster(ctx, region, cluster_id),
            )
            .await
    }

    async fn create_secondary_cluster(&self, request: &CreateSecondaryCluster) -> CloudResult<()> {
        self.world
            .call(
                &self.caller,
                Service::Rds,
                "CreateDBCluster",
                &request.region,
                true,
                request.identifier.clone(),
                |st, ctx| st.create_secondary(ctx, request),
            )
            .await
    }

    async fn create_instance(&self, request: &CreateInstance) -> CloudResult<()> {
        self.world
            .call(
                &self.caller,
                Service::Rds,
                "CreateDBInstance",
                &request.region,
                true,
                request.identifier.clone(),
                |st, ctx| st.create_instance(ctx, request),
            )
            .await
    }
}

#[async_trait]
impl Alarms for SimCloud {
    async fn describe_alarms(
        &self,
        region: &str,
        names: &[String],
    ) -> CloudResult<Vec<AlarmReading>> {
        let mut readings = Vec::new();
        for chunk in names.chunks(CLOUDWATCH_ALARM_NAMES_PER_CALL) {
            let found = self
                .world
                .call(
                    &self.caller,
                    Service::CloudWatch,
                    "DescribeAlarms",
                    region,
                    false,
                    chunk.join(","),
                    |st, _| {
                        Ok(chunk
                            .iter()
                            .filter_map(|name| {
                                st.alarm_state(region, name).map(|state| AlarmReading {
                                    name: name.clone(),
                                    state,
                                })
                            })
                            .collect::<Vec<_>>())
                    },
                )
                .await?;
            readings.extend(found);
        }
        Ok(readings)
    }
}

#[async_trait]
impl ReplicationLag for SimCloud {
    async fn replication_lags(
        &self,
        primary_region: &str,
        queries: &[LagQuery],
    ) -> CloudResult<Vec<Option<f64>>> {
        let mut lags = Vec::with_capacity(queries.len());
        for chunk in queries.chunks(LAG_QUERIES_PER_CALL) {
            let resource = chunk
                .iter()
                .map(|q| {
                    format!(
                        "AuroraGlobalDBRPOLag {} -> {}",
                        q.primary_cluster_id, q.secondary_region
                    )
                })
                .collect::<Vec<_>>()
                .join(",");
            let answers = self
                .world
                .call(
                    &self.caller,
                    Service::CloudWatch,
                    "GetMetricData",
                    primary_region,
                    false,
                    resource,
                    |st, _| {
                        Ok(chunk
                            .iter()
                            .map(|q| {
                                st.replication_lag(
                                    primary_region,
                                    &q.primary_cluster_id,
                                    &q.secondary_region,
                                )
                            })
                            .collect::<Vec<_>>())
                    },
                )
                .await?;
            lags.extend(answers);
        }
        Ok(lags)
    }
}

#[async_trait]
impl Dns for SimCloud {
    async fn get_record(
        &self,
        hosted_zone_id: &str,
        name: &str,
        record_type: &str,
    ) -> CloudResult<Option<DnsRecord>> {
        self.world
            .call(
                &self.caller,
                Service::Route53,
                "ListResourceRecordSets",
                ROUTE53_CONTROL_REGION,
                false,
                format!("{hosted_zone_id} {name} {record_type}"),
                |st, _| st.get_record(hosted_zone_id, name, record_type),
            )
            .await
    }

    async fn list_records_page(
        &self,
        hosted_zone_id: &str,
        from: Option<&RecordCursor>,
    ) -> CloudResult<RecordPage> {
        let start = from.map(|c| RecordKey {
            name: c.name.clone(),
            record_type: c.record_type.clone(),
        });
        let resource = match &start {
            Some(RecordKey { name, record_type }) => {
                format!("{hosted_zone_id} from {name} {record_type}")
            }
            None => hosted_zone_id.to_string(),
        };
        let (records, next) = self
            .world
            .call(
                &self.caller,
                Service::Route53,
                "ListResourceRecordSets",
                ROUTE53_CONTROL_REGION,
                false,
                resource,
                |st, _| {
                    st.records_page(hosted_zone_id, start.as_ref(), ROUTE53_RECORD_SETS_PER_PAGE)
                },
            )
            .await?;
        Ok(RecordPage {
            records,
            next: next.map(|RecordKey { name, record_type }| RecordCursor {
                name,
                record_type,
                identifier: None,
            }),
        })
    }

    async fn change_records(
        &self,
        hosted_zone_id: &str,
        changes: &[RecordChange],
        _comment: &str,
    ) -> CloudResult<ChangeInfo> {
        // A batch the AWS adapter refuses before sending is refused here without a call.
        check_record_batch(changes)?;
        let records = changes
            .iter()
            .map(|c| format!("{} {}", c.desired.name, c.desired.record_type))
            .collect::<Vec<_>>()
            .join(",");
        self.world
            .call(
                &self.caller,
                Service::Route53,
                "ChangeResourceRecordSets",
                ROUTE53_CONTROL_REGION,
                true,
                format!("{hosted_zone_id} {records}"),
                |st, ctx| st.change_records(ctx, hosted_zone_id, changes),
            )
            .await
    }

    async fn get_change(&self, change_id: &str) -> CloudResult<ChangeStatus> {
        self.world
            .call(
                &self.caller,
                Service::Route53,
                "GetChange",
                ROUTE53_CONTROL_REGION,
                false,
                change_id.to_string(),
                |st, _| st.get_change(change_id),
            )
            .await
    }

    async fn list_failover_records(
        &self,
        hosted_zone_id: &str,
        name: &str,
        record_type: &str,
    ) -> CloudResult<Vec<FailoverRecord>> {
        self.world
            .call(
                &self.caller,
                Service::Route53,
                "ListResourceRecordSets",
                ROUTE53_CONTROL_REGION,
                false,
                format!("{hosted_zone_id} {name} {record_type} failover"),
                |st, _| st.list_failover_records(hosted_zone_id, name, record_type),
            )
            .await
    }

    async fn get_health_check(
        &self,
        health_check_id: &str,
    ) -> CloudResult<Option<HealthCheckInfo>> {
        self.world
            .call(
                &self.caller,
                Service::Route53,
                "GetHealthCheck",
                ROUTE53_CONTROL_REGION,
                false,
                health_check_id.to_string(),
                |st, _| {
                    Ok(st
                        .get_health_check(health_check_id)
                        .or_else(|| st.endpoint_check_info(health_check_id)))
                },
            )
            .await
    }

    async fn get_health_check_status(
        &self,
        health_check_id: &str,
    ) -> CloudResult<Vec<drctl_cloud::HealthCheckObservation>> {
        self.world
            .call(
                &self.caller,
                Service::Route53,
                "GetHealthCheckStatus",
                ROUTE53_CONTROL_REGION,
                false,
                health_check_id.to_string(),
                |st, _| st.get_health_check_status(health_check_id),
            )
            .await
    }
}

#[async_trait]
impl RoutingControls for SimCloud {
    async fn get_routing_control_state(
        &self,
        endpoint: &ClusterEndpoint,
        control_arn: &str,
    ) -> CloudResult<RoutingControlState> {
        self.world
            .call(
                &self.caller,
                Service::RoutingControl,
                "GetRoutingControlState",
                &endpoint.region,
                false,
                control_arn.to_string(),
                |st, _| st.get_routing_control_state(control_arn),
            )
            .await
    }

    async fn update_routing_control_states(
        &self,
        endpoint: &ClusterEndpoint,
        updates: &[RoutingControlUpdate],
    ) -> CloudResult<()> {
        let resource = updates
            .iter()
            .map(|u| format!("{}={}", u.control_arn, u.state.as_str()))
            .collect::<Vec<_>>()
            .join(",");
        self.world
            .call(
                &self.caller,
                Service::RoutingControl,
                "UpdateRoutingControlStates",
                &endpoint.region,
                true,
                resource,
                |st, ctx| st.update_routing_control_states(ctx, updates),
            )
            .await
    }
}

#[async_trait]
impl RecoveryControlConfig for SimCloud {
    async fn describe_cluster(&self, cluster_arn: &str) -> CloudResult<Vec<ClusterEndpoint>> {
        self.world
            .call(
                &self.caller,
                Service::RecoveryControlConfig,
                "DescribeCluster",
                crate::recovery::RECOVERY_CONTROL_CONFIG_REGION,
                false,
                cluster_arn.to_string(),
                |st, _| st.describe_arc_cluster(cluster_arn),
            )
            .await
    }
}

#[async_trait]
impl Ecs for SimCloud {
    async fn describe_services(
        &self,
        region: &str,
        cluster: &str,
        services: &[String],
    ) -> CloudResult<Vec<EcsService>> {
        let read = ChunkedRead {
            service: Service::Ecs,
            op: "DescribeServices",
            region,
            max: ECS_SERVICES_PER_DESCRIBE,
            prefix: format!("{cluster}/"),
        };
        self.chunked_read(read, services, |st, chunk| {
            st.describe_services(region, cluster, chunk)
        })
        .await
    }

    async fn update_desired_count(
        &self,
        region: &str,
        cluster: &str,
        service: &str,
        desired: u32,
    ) -> CloudResult<()> {
        self.world
            .call(
                &self.caller,
                Service::Ecs,
                "UpdateService",
                region,
                true,
                format!("{cluster}/{service} desiredCount={desired}"),
                |st, ctx| st.update_desired(ctx, region, cluster, service, desired),
            )
            .await
    }
}

#[async_trait]
impl AutoScaling for SimCloud {
    async fn describe_scalable_targets(
        &self,
        region: &str,
        resource_ids: &[String],
    ) -> CloudResult<Vec<ScalableTarget>> {
        let read = ChunkedRead {
            service: Service::AutoScaling,
            op: "DescribeScalableTargets",
            region,
            max: SCALABLE_TARGET_IDS_PER_DESCRIBE,
            prefix: String::new(),
        };
        self.chunked_read(read, resource_ids, |st, chunk| {
            Ok(st.describe_targets(region, chunk))
        })
        .await
    }

    async fn register_scalable_target(
        &self,
        region: &str,
        resource_id: &str,
        min: u32,
        max: u32,
    ) -> CloudResult<()> {
        self.world
            .call(
                &self.caller,
                Service::AutoScaling,
                "RegisterScalableTarget",
                region,
                true,
                format!("{resource_id} min={min} max={max}"),
                |st, ctx| st.register_target(ctx, region, resource_id, min, max),
            )
            .await
    }
}

#[async_trait]
impl HealthCheck for SimCloud {
    async fn probe(&self, url: &str) -> CloudResult<u16> {
        self.world
            .call(
                &self.caller,
                Service::Http,
                "GET",
                "",
                false,
                url.to_string(),
                |st, _| st.probe(url),
            )
            .await
    }
}

#[async_trait]
impl drctl_cloud::RdsInstances for SimCloud {
    async fn describe_db_instance(
        &self,
        region: &str,
        instance_id: &str,
    ) -> CloudResult<Option<drctl_cloud::RdsInstance>> {
        self.world
            .call(
                &self.caller,
                Service::Rds,
                "DescribeDBInstances",
                region,
                false,
                instance_id.to_string(),
                |st, _| Ok(st.describe_db_instance(region, instance_id)),
            )
            .await
    }

    async fn promote_read_replica(&self, region: &str, instance_id: &str) -> CloudResult<()> {
        self.world
            .call(
                &self.caller,
                Service::Rds,
                "PromoteReadReplica",
                region,
                true,
                instance_id.to_string(),
                |st, ctx| st.promote_read_replica(ctx, region, instance_id),
            )
            .await
    }

    async fn create_read_replica(
        &self,
        request: &drctl_cloud::CreateReadReplica,
    ) -> CloudResult<()> {
        self.world
            .call(
                &self.caller,
                Service::Rds,
                "CreateDBInstanceReadReplica",
                &request.region,
                true,
                format!("{} <- {}", request.identifier, request.source_instance_arn),
                |st, ctx| st.create_read_replica(ctx, request),
            )
            .await
    }

    async fn delete_db_instance(&self, region: &str, instance_id: &str) -> CloudResult<()> {
        self.world
            .call(
                &self.caller,
                Service::Rds,
                "DeleteDBInstance",
                region,
                true,
                format!("{instance_id} skipFinalSnapshot=true"),
                |st, ctx| st.delete_db_instance(ctx, region, instance_id),
            )
            .await
    }

    async fn create_db_snapshot(
        &self,
        region: &str,
        instance_id: &str,
        snapshot_id: &str,
    ) -> CloudResult<()> {
        self.world
            .call(
                &self.caller,
                Service::Rds,
                "CreateDBSnapshot",
                region,
                true,
                format!("{instance_id} -> {snapshot_id}"),
                |st, ctx| st.create_db_snapshot(ctx, region, instance_id, snapshot_id),
            )
            .await
    }

    async fn describe_db_snapshots(
        &self,
        region: &str,
        instance_id: &str,
    ) -> CloudResult<Vec<drctl_cloud::DbSnapshot>> {
        self.world
            .call(
                &self.caller,
                Service::Rds,
                "DescribeDBSnapshots",
                region,
                false,
                instance_id.to_string(),
                |st, _| Ok(st.describe_db_snapshots(region, instance_id)),
            )
            .await
    }
}

#[async_trait]
impl drctl_cloud::InstanceReplicaLag for SimCloud {
    async fn replica_lag(&self, region: &str, replica_id: &str) -> CloudResult<Option<f64>> {
        self.world
            .call(
                &self.caller,
                Service::CloudWatch,
                "GetMetricData",
                region,
                false,
                format!("ReplicaLag {replica_id}"),
                |st, _| Ok(st.replica_lag_of(region, replica_id)),
            )
            .await
    }
}

#[async_trait]
impl drctl_cloud::RdsOfferings for SimCloud {
    async fn instance_class_offered(
        &self,
        region: &str,
        _engine: &str,
        _engine_version: &str,
        instance_class: &str,
    ) -> CloudResult<bool> {
        self.world
            .call(
                &self.caller,
                Service::Rds,
                "DescribeOrderableDBInstanceOptions",
                region,
                false,
                instance_class.to_string(),
                |st, _| Ok(st.instance_class_offered(region, instance_class)),
            )
            .await
    }

    async fn db_instance_quota(
        &self,
        region: &str,
    ) -> CloudResult<Option<drctl_cloud::DbInstanceQuota>> {
        self.world
            .call(
                &self.caller,
                Service::Rds,
                "DescribeAccountAttributes",
                region,
                false,
                String::new(),
                |st, _| Ok(Some(st.db_instance_quota(region))),
            )
            .await
    }
}
