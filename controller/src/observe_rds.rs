//! Observation of an rdsReplica group's DB instances (spec.database.kind: rdsReplica): one
//! DescribeDBInstances per region, the replica's ReplicaLag, and the instances' manual
//! snapshots while an operation runs. Two instances are a handful of calls: they are read on
//! every pass, light or full, with calls of their own (the fleet's shared reads are for
//! Aurora's per-region listings).

use std::collections::BTreeMap;

use drctl_cloud::Cloud;
use drctl_schema::{FailoverGroupSpec, FailoverGroupStatus, StepName, StepState};

use crate::observed::{InstancePairView, RegionView, Seen};
use crate::planner::steps::rds_replica::memberships;

/// What one pass learned: the pair, each region's membership, and the lag (None: no
/// datapoint, or no replica).
pub struct InstancesObserved {
    pub pair: InstancePairView,
    pub regions: BTreeMap<String, RegionView>,
    pub lag: Option<f64>,
}

pub async fn observe_instances(
    cloud: &Cloud,
    spec: &FailoverGroupSpec,
    status: &FailoverGroupStatus,
) -> InstancesObserved {
    let mut pair = InstancePairView::default();
    for region in &spec.regions {
        let Some(template) = spec.database.instances.get(region) else {
            continue;
        };
        let seen = match cloud
            .rds_instances
            .describe_db_instance(region, &template.identifier)
            .await
        {
            Ok(found) => Seen::Known(found),
            Err(e) => Seen::Unreachable(e.to_string()),
        };
        pair.instances.insert(region.clone(), seen);
    }
    if status.operation.is_some() {
        for (region, seen) in &pair.instances {
            let Seen::Known(Some(instance)) = seen else {
                continue;
            };
            if let Ok(snapshots) = cloud
                .rds_instances
                .describe_db_snapshots(region, &instance.identifier)
                .await
            {
                pair.snapshots.insert(region.clone(), snapshots);
            }
        }
    }
    let replica = pair
        .instances
        .values()
        .filter_map(|s| s.known().and_then(Option::as_ref))
        .find(|i| i.is_replica());
    let lag = match replica {
        Some(r) => cloud
            .replica_lag
            .replica_lag(&r.region, &r.identifier)
            .await
            .ok()
            .flatten(),
        None => None,
    };
    let regions = memberships(spec, &pair, lag, preferred_writer(status));
    InstancesObserved { pair, regions, lag }
}

/// Which of two standalone instances is the writer, as far as the status knows: the one an
/// operation under way promoted (PromoteReadReplica leaves the old primary standalone too,
/// and nothing in DescribeDBInstances tells them apart), else the writer observed last.
pub fn preferred_writer(status: &FailoverGroupStatus) -> Option<&str> {
    let promoting = status.operation.as_ref().filter(|op| {
        op.step(StepName::PromoteReplica)
            .is_some_and(|s| s.state != StepState::Pending)
    });
    promoting
        .map(|op| op.to.as_str())
        .or_else(|| status.observed.as_ref().and_then(|o| o.writer.as_deref()))
}
