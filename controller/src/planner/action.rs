//! Actions: the mutations the planner asks the executor to perform. Each maps to exactly one
//! AWS API call, so that "what drctl would do" (`drctl plan`) and "what it did" (the journal)
//! speak the same language.

use std::fmt;

use drctl_cloud::{
    ClusterEndpoint, CreateInstance, CreateReadReplica, CreateSecondaryCluster, DnsRecord,
    RoutingControlUpdate,
};
use drctl_schema::StepName;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum Action {
    RegisterScalableTarget {
        region: String,
        resource_id: String,
        min: u32,
        max: u32,
    },
    SetDesiredCount {
        region: String,
        cluster: String,
        service: String,
        desired: u32,
    },
    SwitchoverGlobalCluster {
        region: String,
        global_cluster_id: String,
        target_cluster_arn: String,
    },
    FailoverGlobalCluster {
        region: String,
        global_cluster_id: String,
        target_cluster_arn: String,
        allow_data_loss: bool,
    },
    ChangeRecord {
        hosted_zone_id: String,
        expected: Option<DnsRecord>,
        desired: DnsRecord,
        /// The region the record will point at (for messages and invariant checks).
        region: String,
    },
    /// routingControl's MoveDns: one UpdateRoutingControlStates with the target's control On
    /// and every other Off (never all Off), sent to `endpoints` in turn until one answers.
    UpdateRoutingControlStates {
        cluster_arn: String,
        endpoints: Vec<ClusterEndpoint>,
        updates: Vec<RoutingControlUpdate>,
        /// The region traffic goes to.
        region: String,
    },
    CreateClusterSnapshot {
        region: String,
        cluster_id: String,
        snapshot_id: String,
    },
    CopyClusterSnapshot {
        region: String,
        source_snapshot_id: String,
        target_snapshot_id: String,
    },
    DisableDeletionProtection {
        region: String,
        cluster_id: String,
    },
    DeleteInstance {
        region: String,
        instance_id: String,
    },
    DeleteCluster {
        region: String,
        cluster_id: String,
    },
    CreateSecondaryCluster(CreateSecondaryCluster),
    CreateInstance(CreateInstance),
    /// rdsReplica: PromoteReadReplica.
    PromoteReadReplica {
        region: String,
        instance_id: String,
    },
    /// rdsReplica: CreateDBSnapshot of a DB instance.
    CreateDbSnapshot {
        region: String,
        instance_id: String,
        snapshot_id: String,
    },
    /// rdsReplica: DeleteDBInstance of a standalone instance (SkipFinalSnapshot: drctl's
    /// manual snapshot is kept).
    DeleteDbInstance {
        region: String,
        instance_id: String,
    },
    /// rdsReplica: CreateDBInstanceReadReplica across regions.
    CreateReadReplica(CreateReadReplica),
}

impl Action {
    /// The AWS API operation this action calls.
    pub fn operation(&self) -> &'static str {
        match self {
            Action::RegisterScalableTarget { .. } => "RegisterScalableTarget",
            Action::SetDesiredCount { .. } => "UpdateService",
            Action::SwitchoverGlobalCluster { .. } => "SwitchoverGlobalCluster",
            Action::FailoverGlobalCluster { .. } => "FailoverGlobalCluster",
            Action::ChangeRecord { .. } => "ChangeResourceRecordSets",
            Action::UpdateRoutingControlStates { .. } => "UpdateRoutingControlStates",
            Action::CreateClusterSnapshot { .. } => "CreateDBClusterSnapshot",
            Action::CopyClusterSnapshot { .. } => "CopyDBClusterSnapshot",
            Action::DisableDeletionProtection { .. } => "ModifyDBCluster",
            Action::DeleteInstance { .. } => "DeleteDBInstance",
            Action::DeleteCluster { .. } => "DeleteDBCluster",
            Action::CreateSecondaryCluster(_) => "CreateDBCluster",
            Action::CreateInstance(_) => "CreateDBInstance",
            Action::PromoteReadReplica { .. } => "PromoteReadReplica",
            Action::CreateDbSnapshot { .. } => "CreateDBSnapshot",
            Action::DeleteDbInstance { .. } => "DeleteDBInstance",
            Action::CreateReadReplica(_) => "CreateDBInstanceReadReplica",
        }
    }

    /// What the call acts on, with the operation: `DeleteDBInstance us-east-1/db-1`. Two
    /// actions with the same subject are the same call issued again (perhaps with other
    /// values), which is what the re-issue grace is about.
    pub fn subject(&self) -> String {
        let on = match self {
            Action::RegisterScalableTarget {
                region,
                resource_id,
                ..
            } => format!("{region}/{resource_id}"),
            Action::SetDesiredCount {
                region,
                cluster,
                service,
                ..
            } => format!("{region}/{cluster}/{service}"),
            Action::SwitchoverGlobalCluster {
                region,
                global_cluster_id,
                ..
            }
            | Action::FailoverGlobalCluster {
                region,
                global_cluster_id,
                ..
            } => format!("{region}/{global_cluster_id}"),
            Action::ChangeRecord {
                hosted_zone_id,
                desired,
                ..
            } => format!("{hosted_zone_id}/{}/{}", desired.name, desired.record_type),
            Action::UpdateRoutingControlStates { cluster_arn, .. } => cluster_arn.clone(),
            Action::CreateClusterSnapshot {
                region,
                snapshot_id,
                ..
            } => format!("{region}/{snapshot_id}"),
            Action::CopyClusterSnapshot {
                region,
                target_snapshot_id,
                ..
            } => format!("{region}/{target_snapshot_id}"),
            Action::DisableDeletionProtection { region, cluster_id }
            | Action::DeleteCluster { region, cluster_id } => format!("{region}/{cluster_id}"),
            Action::DeleteInstance {
                region,
                instance_id,
            } => format!("{region}/{instance_id}"),
            Action::CreateSecondaryCluster(c) => format!("{}/{}", c.region, c.identifier),
            Action::CreateInstance(i) => format!("{}/{}", i.region, i.identifier),
            Action::PromoteReadReplica {
                region,
                instance_id,
            }
            | Action::DeleteDbInstance {
                region,
                instance_id,
            } => format!("{region}/{instance_id}"),
            Action::CreateDbSnapshot {
                region,
                snapshot_id,
                ..
            } => format!("{region}/{snapshot_id}"),
            Action::CreateReadReplica(r) => format!("{}/{}", r.region, r.identifier),
        };
        format!("{} {on}", self.operation())
    }

    /// Actions whose effect cannot be undone by repeating or reversing them.
    pub fn is_destructive(&self) -> bool {
        matches!(
            self,
            Action::SwitchoverGlobalCluster { .. }
                | Action::FailoverGlobalCluster { .. }
                | Action::DeleteCluster { .. }
                | Action::DeleteInstance { .. }
                | Action::PromoteReadReplica { .. }
                | Action::DeleteDbInstance { .. }
        )
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::RegisterScalableTarget {
                region,
                resource_id,
                min,
                max,
            } => write!(
                f,
                "register scalable target {resource_id} in {region}: min {min}, max {max}"
            ),
            Action::SetDesiredCount {
                region,
                cluster,
                service,
                desired,
            } => write!(
                f,
                "set desired count of ECS service {cluster}/{service} in {region} to {desired}"
            ),
            Action::SwitchoverGlobalCluster {
                region,
                global_cluster_id,
                target_cluster_arn,
            } => write!(
                f,
                "switchover global cluster {global_cluster_id} to {target_cluster_arn} (asked in {region})"
            ),
            Action::FailoverGlobalCluster {
                region,
                global_cluster_id,
                target_cluster_arn,
                allow_data_loss,
            } => write!(
                f,
                "failover global cluster {global_cluster_id} to {target_cluster_arn} (asked in {region}, AllowDataLoss={allow_data_loss})"
            ),
            Action::ChangeRecord {
                hosted_zone_id,
                desired,
                region,
                expected,
            } => write!(
                f,
                "point {} {} in zone {hosted_zone_id} at {region} ({}){}",
                desired.record_type,
                desired.name,
                record_target(desired),
                if expected.is_some() {
                    " as a compare-and-swap of the current record"
                } else {
                    ""
                }
            ),
            Action::UpdateRoutingControlStates {
                updates, region, ..
            } => write!(
                f,
                "send traffic to {region}: set routing controls {} in one UpdateRoutingControlStates",
                updates
                    .iter()
                    .map(|u| format!("{}={}", u.control_arn, u.state.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Action::CreateClusterSnapshot {
                region,
                cluster_id,
                snapshot_id,
            } => write!(
                f,
                "snapshot cluster {cluster_id} in {region} as {snapshot_id}"
            ),
            Action::CopyClusterSnapshot {
                region,
                source_snapshot_id,
                target_snapshot_id,
            } => write!(
                f,
                "copy snapshot {source_snapshot_id} to manual snapshot {target_snapshot_id} in {region}"
            ),
            Action::DisableDeletionProtection { region, cluster_id } => write!(
                f,
                "turn off deletion protection of cluster {cluster_id} in {region}"
            ),
            Action::DeleteInstance {
                region,
                instance_id,
            } => write!(f, "delete DB instance {instance_id} in {region}"),
            Action::DeleteCluster { region, cluster_id } => write!(
                f,
                "delete cluster {cluster_id} in {region} (SkipFinalSnapshot: drctl's manual snapshot is kept)"
            ),
            Action::CreateSecondaryCluster(req) => write!(
                f,
                "create cluster {} in {} as a secondary of {}",
                req.identifier, req.region, req.global_cluster_identifier
            ),
            Action::CreateInstance(req) => write!(
                f,
                "create DB instance {} ({}) in cluster {} in {}",
                req.identifier, req.instance_class, req.cluster_identifier, req.region
            ),
            Action::PromoteReadReplica {
                region,
                instance_id,
            } => write!(
                f,
                "promote read replica {instance_id} in {region} to a standalone primary (irreversible)"
            ),
            Action::CreateDbSnapshot {
                region,
                instance_id,
                snapshot_id,
            } => write!(
                f,
                "snapshot DB instance {instance_id} in {region} as {snapshot_id}"
            ),
            Action::DeleteDbInstance {
                region,
                instance_id,
            } => write!(
                f,
                "delete DB instance {instance_id} in {region} (SkipFinalSnapshot: drctl's manual snapshot is kept)"
            ),
            Action::CreateReadReplica(req) => write!(
                f,
                "create DB instance {} in {} as a read replica of {} (KMS key {})",
                req.identifier,
                req.region,
                req.source_instance_arn,
                req.kms_key_id.as_deref().unwrap_or("none")
            ),
        }
    }
}

fn record_target(record: &DnsRecord) -> String {
    match &record.alias {
        Some(alias) => format!("alias {}", alias.dns_name),
        None => record.values.join(","),
    }
}

/// An action and the step it belongs to (None: steady-state convergence outside an operation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedAction {
    pub step: Option<StepName>,
    #[serde(flatten)]
    pub action: Action,
}
