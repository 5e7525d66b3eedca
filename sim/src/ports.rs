//! drctl-cloud's ports implemented by the world: one handle per caller, so that the call
//! record knows who called.

use std::sync::Arc;

use async_trait::async_trait;
use drctl_cloud::{
    Aurora, AutoScaling, ChangeInfo, ChangeStatus, Clock, CloudResult, ClusterSnapshot,
    CreateInstance, CreateSecondaryCluster, DbCluster, DbInstance, Dns, DnsRecord, Ecs, EcsService,
    GlobalCluster, HealthCheck, ReplicationLag, ScalableTarget, Service, SnapshotQuery,
};
use drctl_schema::Timestamp;

use crate::world::SimWorld;

/// The Route 53 control plane's region (aws-facts: it runs in us-east-1 only).
pub const ROUTE53_CONTROL_REGION: &str = "us-east-1";

pub(crate) struct SimCloud {
    pub(crate) world: Arc<SimWorld>,
    pub(crate) caller: String,
}

impl Clock for SimCloud {
    fn now(&self) -> Timestamp {
        self.world.now()
    }
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

    async fn describe_clusters(&self, region: &str, ids: &[String]) -> CloudResult<Vec<DbCluster>> {
        self.world
            .call(
                &self.caller,
                Service::Rds,
                "DescribeDBClusters",
                region,
                false,
                ids.join(","),
                |st, _| Ok(st.describe_clusters(region, ids)),
            )
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
impl ReplicationLag for SimCloud {
    async fn replication_lag(
        &self,
        primary_region: &str,
        primary_cluster_id: &str,
        secondary_region: &str,
    ) -> CloudResult<Option<f64>> {
        self.world
            .call(
                &self.caller,
                Service::CloudWatch,
                "GetMetricData",
                primary_region,
                false,
                format!("AuroraGlobalDBRPOLag {primary_cluster_id} -> {secondary_region}"),
                |st, _| {
                    Ok(st.replication_lag(primary_region, primary_cluster_id, secondary_region))
                },
            )
            .await
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

    async fn change_record(
        &self,
        hosted_zone_id: &str,
        expected: Option<&DnsRecord>,
        desired: &DnsRecord,
        _comment: &str,
    ) -> CloudResult<ChangeInfo> {
        self.world
            .call(
                &self.caller,
                Service::Route53,
                "ChangeResourceRecordSets",
                ROUTE53_CONTROL_REGION,
                true,
                format!("{hosted_zone_id} {} {}", desired.name, desired.record_type),
                |st, ctx| st.change_record(ctx, hosted_zone_id, expected, desired),
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
}

#[async_trait]
impl Ecs for SimCloud {
    async fn describe_services(
        &self,
        region: &str,
        cluster: &str,
        services: &[String],
    ) -> CloudResult<Vec<EcsService>> {
        self.world
            .call(
                &self.caller,
                Service::Ecs,
                "DescribeServices",
                region,
                false,
                format!("{cluster}/{}", services.join(",")),
                |st, _| st.describe_services(region, cluster, services),
            )
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
        self.world
            .call(
                &self.caller,
                Service::AutoScaling,
                "DescribeScalableTargets",
                region,
                false,
                resource_ids.join(","),
                |st, _| Ok(st.describe_targets(region, resource_ids)),
            )
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
