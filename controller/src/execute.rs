//! The executor: performs one planned action through the ports, and nothing else.
//!
//! Creates are made idempotent by deterministic names: an "already exists" answer means an
//! earlier attempt (perhaps one whose response was lost) succeeded. Everything else is guarded
//! by the planner's re-read before acting; an unknown outcome is returned as such and
//! resolved by the next observation, never by a blind retry here.

use drctl_cloud::{Cloud, CloudError};

use crate::planner::Action;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionOutcome {
    Applied,
    /// An earlier attempt had already done it.
    AlreadyDone(String),
    /// A Route 53 change was submitted; its id is needed to wait for INSYNC.
    DnsChange(String),
}

/// AWS error codes that mean "what you asked for is already true".
fn already_done(action: &Action, err: &CloudError) -> bool {
    let code = err.code.as_str();
    match action {
        Action::CreateClusterSnapshot { .. } | Action::CopyClusterSnapshot { .. } => {
            code == "DBClusterSnapshotAlreadyExistsFault"
        }
        Action::CreateSecondaryCluster(_) => code == "DBClusterAlreadyExistsFault",
        Action::CreateInstance(_) => code == "DBInstanceAlreadyExists",
        Action::DeleteInstance { .. } => {
            code == "DBInstanceNotFound" || code == "DBInstanceNotFoundFault"
        }
        Action::DeleteCluster { .. } => code == "DBClusterNotFoundFault",
        Action::CreateDbSnapshot { .. } => code == "DBSnapshotAlreadyExists",
        Action::CreateReadReplica(_) => code == "DBInstanceAlreadyExists",
        Action::DeleteDbInstance { .. } => {
            code == "DBInstanceNotFound" || code == "DBInstanceNotFoundFault"
        }
        _ => false,
    }
}

/// One UpdateRoutingControlStates, sent to the cluster's endpoints in turn until one
/// answers: an endpoint that fails retryably before the request is applied (throttled,
/// unreachable) is skipped. An unknown outcome is not re-sent elsewhere but returned: the
/// next pass reads the states back. No endpoint: nothing to send to.
async fn update_routing_controls(
    cloud: &Cloud,
    endpoints: &[drctl_cloud::ClusterEndpoint],
    updates: &[drctl_cloud::RoutingControlUpdate],
) -> Result<(), CloudError> {
    let mut last = None;
    for endpoint in endpoints {
        match cloud
            .routing
            .update_routing_control_states(endpoint, updates)
            .await
        {
            Ok(()) => return Ok(()),
            Err(e) if e.is_retryable() && !e.outcome_unknown => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        CloudError::new(
            drctl_cloud::ErrorCategory::Retryable,
            drctl_cloud::Service::RoutingControl,
            "UpdateRoutingControlStates",
            "NoEndpoint",
            "no endpoint of the ARC cluster is known (DescribeCluster has not answered)",
        )
    }))
}

pub async fn execute(cloud: &Cloud, action: &Action) -> Result<ActionOutcome, CloudError> {
    let result = match action {
        Action::RegisterScalableTarget {
            region,
            resource_id,
            min,
            max,
        } => cloud
            .autoscaling
            .register_scalable_target(region, resource_id, *min, *max)
            .await
            .map(|_| ActionOutcome::Applied),
        Action::SetDesiredCount {
            region,
            cluster,
            service,
            desired,
        } => cloud
            .ecs
            .update_desired_count(region, cluster, service, *desired)
            .await
            .map(|_| ActionOutcome::Applied),
        Action::SwitchoverGlobalCluster {
            region,
            global_cluster_id,
            target_cluster_arn,
        } => cloud
            .aurora
            .switchover_global_cluster(region, global_cluster_id, target_cluster_arn)
            .await
            .map(|_| ActionOutcome::Applied),
        Action::FailoverGlobalCluster {
            region,
            global_cluster_id,
            target_cluster_arn,
            allow_data_loss,
        } => cloud
            .aurora
            .failover_global_cluster(
                region,
                global_cluster_id,
                target_cluster_arn,
                *allow_data_loss,
            )
            .await
            .map(|_| ActionOutcome::Applied),
        Action::ChangeRecord {
            hosted_zone_id,
            expected,
            desired,
            region,
        } => cloud
            .dns
            .change_record(
                hosted_zone_id,
                expected.as_ref(),
                desired,
                &format!("drctl: point {} at {region}", desired.name),
            )
            .await
            .map(|info| ActionOutcome::DnsChange(info.id)),
        Action::UpdateRoutingControlStates {
            endpoints, updates, ..
        } => update_routing_controls(cloud, endpoints, updates)
            .await
            .map(|_| ActionOutcome::Applied),
        Action::CreateClusterSnapshot {
            region,
            cluster_id,
            snapshot_id,
        } => cloud
            .aurora
            .create_cluster_snapshot(region, cluster_id, snapshot_id)
            .await
            .map(|_| ActionOutcome::Applied),
        Action::CopyClusterSnapshot {
            region,
            source_snapshot_id,
            target_snapshot_id,
        } => cloud
            .aurora
            .copy_cluster_snapshot(region, source_snapshot_id, target_snapshot_id)
            .await
            .map(|_| ActionOutcome::Applied),
        Action::DisableDeletionProtection { region, cluster_id } => cloud
            .aurora
            .set_deletion_protection(region, cluster_id, false)
            .await
            .map(|_| ActionOutcome::Applied),
        Action::DeleteInstance {
            region,
            instance_id,
        } => cloud
            .aurora
            .delete_instance(region, instance_id)
            .await
            .map(|_| ActionOutcome::Applied),
        Action::DeleteCluster { region, cluster_id } => cloud
            .aurora
            .delete_cluster(region, cluster_id)
            .await
            .map(|_| ActionOutcome::Applied),
        Action::CreateSecondaryCluster(request) => cloud
            .aurora
            .create_secondary_cluster(request)
            .await
            .map(|_| ActionOutcome::Applied),
        Action::CreateInstance(request) => cloud
            .aurora
            .create_instance(request)
            .await
            .map(|_| ActionOutcome::Applied),
        Action::PromoteReadReplica {
            region,
            instance_id,
        } => cloud
            .rds_instances
            .promote_read_replica(region, instance_id)
            .await
            .map(|_| ActionOutcome::Applied),
        Action::CreateDbSnapshot {
            region,
            instance_id,
            snapshot_id,
        } => cloud
            .rds_instances
            .create_db_snapshot(region, instance_id, snapshot_id)
            .await
            .map(|_| ActionOutcome::Applied),
        Action::DeleteDbInstance {
            region,
            instance_id,
        } => cloud
            .rds_instances
            .delete_db_instance(region, instance_id)
            .await
            .map(|_| ActionOutcome::Applied),
        Action::CreateReadReplica(request) => cloud
            .rds_instances
            .create_read_replica(request)
            .await
            .map(|_| ActionOutcome::Applied),
    };
    match result {
        Err(err) if already_done(action, &err) => Ok(ActionOutcome::AlreadyDone(err.code)),
        other => other,
    }
}
