//! spec.database.kind rdsReplica (docs/design-contract.md §7.5): a primary DB instance and its
//! cross-region read replica. The contract's step names are kept where the meaning matches,
//! with `PromoteReplica` (PromoteReadReplica) in place of Switchover/Failover.
//!
//! * Failover (the source is impaired; needs spec.allowDataLoss): FenceSource, ScaleUpTarget,
//!   PromoteReplica (its RPO is the last ReplicaLag measured), WaitWriter, WaitComputeReady,
//!   MoveDns, WaitDnsInSync, Verify.
//! * Switchover (both healthy, the target a replica): there is no managed switchover for
//!   cross-region replicas, so Preflight, FenceSource (the source's compute to zero: nothing
//!   writes), WaitReplicaSynced (ReplicaLag 0), PromoteReplica, ScaleUpTarget, WaitWriter,
//!   WaitComputeReady, MoveDns, WaitDnsInSync, Verify, ScaleDownSource.
//! * Failback to a region whose instance is stale (standalone after a promotion, or gone):
//!   SnapshotStale, AwaitApproval, DeleteStale (DeleteDBInstance), RecreateSecondary
//!   (CreateDBInstanceReadReplica from the writer, with the KMS key of the rebuilt region),
//!   WaitReplicaSynced, then the switchover's steps (PromoteReplica waits for ReplicaLag 0
//!   after FenceSource itself: WaitReplicaSynced is already taken by the rebuild).
//!
//! A promotion breaks the link for good: the instance left behind is standalone, and moving
//! the writer back to it is the stale failback above (step names are unique in an operation,
//! so the rebuild of the old primary is the next move's first half, not this one's tail).
//!
//! Every step is decided from the re-read world, so it is idempotent and crash-safe: a
//! promoted replica is no longer a replica, a snapshot has a deterministic name, a deleted
//! instance is gone, a recreated one is a replica of the writer.

use std::collections::BTreeMap;

use drctl_cloud::{CreateReadReplica, RdsInstance, RdsInstanceStatus, ReplicationState};
use drctl_schema::{Approval, DatabaseKind, FailoverGroupSpec, Operation, OperationType, StepName};

use super::{note, rds_identifier, OperationPlan, StepContext, StepEval};
use crate::observed::{InstancePairView, Membership, Reachability, RegionView, Seen};
use crate::planner::action::Action;

/// The note that marks an rdsReplica operation, with its plan.
pub const RDS_PLAN: &str = "rdsPlan";

pub fn is_rds(spec: &FailoverGroupSpec) -> bool {
    spec.database.kind == DatabaseKind::RdsReplica
}

/// The rdsReplica counterpart of the plan the Aurora rules chose.
pub fn plan_for(aurora: OperationPlan) -> OperationPlan {
    match aurora {
        OperationPlan::Switchover | OperationPlan::FailbackRejoined => OperationPlan::RdsSwitchover,
        OperationPlan::Failover => OperationPlan::RdsFailover,
        OperationPlan::FailbackStale => OperationPlan::RdsFailbackStale,
        other => other,
    }
}

pub fn plan_name(plan: OperationPlan) -> &'static str {
    match plan {
        OperationPlan::RdsFailover => "failover",
        OperationPlan::RdsFailbackStale => "failbackStale",
        _ => "switchover",
    }
}

/// The plan of an rdsReplica operation (None: an Aurora one).
pub fn plan_of(op: &Operation) -> Option<OperationPlan> {
    match op.notes.get(RDS_PLAN)?.as_str() {
        "failover" => Some(OperationPlan::RdsFailover),
        "failbackStale" => Some(OperationPlan::RdsFailbackStale),
        _ => Some(OperationPlan::RdsSwitchover),
    }
}

const SWITCH_TAIL: [StepName; 7] = [
    StepName::ScaleUpTarget,
    StepName::WaitWriter,
    StepName::WaitComputeReady,
    StepName::MoveDns,
    StepName::WaitDnsInSync,
    StepName::Verify,
    StepName::ScaleDownSource,
];

pub fn steps(plan: OperationPlan) -> Vec<StepName> {
    use StepName::*;
    match plan {
        OperationPlan::RdsFailover => vec![
            FenceSource,
            ScaleUpTarget,
            PromoteReplica,
            WaitWriter,
            WaitComputeReady,
            MoveDns,
            WaitDnsInSync,
            Verify,
        ],
        // The stale region is rebuilt as a replica first; once it is in sync the next pass
        // plans the planned switch home, which rebuilds the region it leaves in its turn
        // (two rebuilds cannot share one operation: step names are unique in it).
        OperationPlan::RdsFailbackStale => REBUILD_OLD_PRIMARY.to_vec(),
        // PromoteReplica itself waits for ReplicaLag 0 once the source is fenced, so the
        // one WaitReplicaSynced (step names are unique in an operation) is the rebuild's.
        _ => {
            let mut steps = vec![Preflight, FenceSource, PromoteReplica];
            steps.extend(SWITCH_TAIL);
            steps.extend(REBUILD_OLD_PRIMARY);
            steps
        }
    }
}

/// After a planned switch the old primary is left standalone: it is rebuilt as a read
/// replica of the new writer, so the group has a standby again and the move back is a
/// planned switch too.
const REBUILD_OLD_PRIMARY: [StepName; 5] = [
    StepName::SnapshotStale,
    StepName::AwaitApproval,
    StepName::DeleteStale,
    StepName::RecreateSecondary,
    StepName::WaitReplicaSynced,
];

/// (the writer, the region rebuilt as its replica) for the rebuild steps: a failback
/// rebuilds the region it goes back to before switching, a switch rebuilds the region it
/// left once traffic is served from the new one.
fn rebuild_regions<'a>(ctx: &StepContext<'a>) -> (&'a str, &'a str) {
    let (from, to) = (ctx.op.from.as_str(), ctx.op.to.as_str());
    if plan_of(ctx.op) == Some(OperationPlan::RdsFailbackStale) {
        (from, to)
    } else {
        (to, from)
    }
}

/// Steps that must be done before `step` may start, per plan (only those present count).
pub fn dependencies(plan: OperationPlan, step: StepName) -> &'static [StepName] {
    use StepName::*;
    match step {
        Preflight => &[],
        FenceSource => &[Preflight],
        WaitReplicaSynced => &[RecreateSecondary],
        PromoteReplica => &[FenceSource],
        // The switch's rebuild starts once traffic is served from the new writer.
        SnapshotStale if plan == OperationPlan::RdsSwitchover => &[Verify, ScaleDownSource],
        ScaleUpTarget => &[Preflight],
        WaitWriter => &[PromoteReplica],
        WaitComputeReady => &[ScaleUpTarget],
        MoveDns => &[WaitWriter, WaitComputeReady],
        WaitDnsInSync => &[MoveDns],
        Verify => &[WaitDnsInSync],
        ScaleDownSource => &[Verify],
        AwaitApproval => &[SnapshotStale],
        DeleteStale => &[AwaitApproval],
        RecreateSecondary => &[DeleteStale],
        _ => &[],
    }
}

/// Each region's place in the pair, from what DescribeDBInstances said. A replica names its
/// source, so a source whose region is dark is still known as the writer (the replica's
/// region answers). Two standalone instances (after a promotion, the old primary back):
/// the writer is the one observed last, else spec.writer; the other is stale (Detached).
pub fn memberships(
    spec: &FailoverGroupSpec,
    pair: &InstancePairView,
    lag: Option<f64>,
    previous_writer: Option<&str>,
) -> BTreeMap<String, RegionView> {
    let max_lag = f64::from(spec.max_lag_seconds);
    let mut views = BTreeMap::new();
    let mut standalone = Vec::new();
    let mut sources = Vec::new();
    for region in &spec.regions {
        let seen = pair.instances.get(region);
        let (reachable, membership) = match seen {
            None | Some(Seen::Unreachable(_)) => (Reachability::Unreachable, Membership::Unknown),
            Some(Seen::Known(None)) => (Reachability::Answered, Membership::Missing),
            Some(Seen::Known(Some(i))) => match &i.read_replica_source {
                Some(source) => {
                    sources.push(source.clone());
                    let synced = i.replication == Some(ReplicationState::Replicating)
                        && i.status == RdsInstanceStatus::Available
                        && lag.is_some_and(|l| l <= max_lag);
                    (Reachability::Answered, Membership::Secondary { synced })
                }
                None => {
                    standalone.push(region.clone());
                    (Reachability::Answered, Membership::Detached)
                }
            },
        };
        views.insert(
            region.clone(),
            RegionView {
                region: region.clone(),
                reachable,
                cluster: None,
                membership,
                instances: None,
                snapshots: None,
            },
        );
    }
    let named_source = |region: &str| {
        let id = spec
            .database
            .instances
            .get(region)
            .map(|i| i.identifier.as_str());
        sources
            .iter()
            .any(|s| Some(s.as_str()) == id || s.starts_with(&format!("arn:aws:rds:{region}:")))
    };
    let writer = spec
        .regions
        .iter()
        .find(|r| named_source(r))
        .cloned()
        .or_else(|| match standalone.as_slice() {
            [only] => Some(only.clone()),
            [] => None,
            several => previous_writer
                .filter(|p| several.iter().any(|s| s == p))
                .or_else(|| {
                    several
                        .iter()
                        .find(|s| **s == spec.writer)
                        .map(String::as_str)
                })
                .map(str::to_string),
        });
    if let Some(view) = writer.and_then(|w| views.get_mut(&w)) {
        view.membership = Membership::Writer;
    }
    views
}

fn pair<'a>(ctx: &StepContext<'a>) -> Option<&'a InstancePairView> {
    ctx.world.instances.as_ref()
}

fn instance<'a>(ctx: &StepContext<'a>, region: &str) -> Option<&'a RdsInstance> {
    pair(ctx)?.instance(region)
}

fn unreachable(ctx: &StepContext<'_>, region: &str) -> Option<String> {
    match pair(ctx)?.instances.get(region) {
        Some(Seen::Unreachable(e)) => Some(e.clone()),
        None => Some("not read".to_string()),
        Some(Seen::Known(_)) => None,
    }
}

fn instance_id<'a>(ctx: &StepContext<'a>, region: &str) -> &'a str {
    ctx.spec
        .database
        .instances
        .get(region)
        .map(|i| i.identifier.as_str())
        .unwrap_or("?")
}

/// The stale instance's snapshot: deterministic, so a retried or resumed step finds it.
pub fn stale_snapshot_id(spec: &FailoverGroupSpec, op: &Operation, region: &str) -> String {
    let id = spec
        .database
        .instances
        .get(region)
        .map(|i| i.identifier.as_str())
        .unwrap_or("instance");
    rds_identifier(&format!("drctl-stale-{id}-{}", op.id))
}

pub fn source_healthy(world: &crate::observed::ObservedWorld, region: &str) -> bool {
    let healthy_view = world
        .region(region)
        .is_some_and(|r| r.reachable.answered() && r.membership == Membership::Writer);
    let available = world
        .instances
        .as_ref()
        .and_then(|p| p.instance(region))
        .is_some_and(|i| i.status == RdsInstanceStatus::Available);
    healthy_view && available
}

pub fn evaluate(step: StepName, ctx: &StepContext<'_>) -> StepEval {
    use StepName::*;
    match step {
        // As the Aurora Preflight: spec.dependencies listed when it passes, never blocking.
        Preflight => super::with_dependencies(ctx, preflight(ctx)),
        FenceSource if ctx.op.type_ != OperationType::Failover => planned_fence(ctx),
        WaitReplicaSynced => wait_replica_synced(ctx),
        PromoteReplica => promote_replica(ctx),
        WaitWriter => wait_writer(ctx),
        SnapshotStale => snapshot_stale(ctx),
        AwaitApproval => await_approval(ctx),
        DeleteStale => delete_stale(ctx),
        RecreateSecondary => recreate_secondary(ctx),
        Switchover | Failover | PreserveSnapshot => StepEval::Skip(format!(
            "{step} is an Aurora step: spec.database.kind is rdsReplica"
        )),
        other => super::evaluate_aurora(other, ctx),
    }
}

/// The target is a read replica of the source, replicating within maxLagSeconds.
fn preflight(ctx: &StepContext<'_>) -> StepEval {
    let (from, to) = (ctx.op.from.as_str(), ctx.op.to.as_str());
    for region in [from, to] {
        if let Some(e) = unreachable(ctx, region) {
            return StepEval::Wait(format!("cannot read the DB instance in {region}: {e}"));
        }
    }
    let (Some(source), Some(target)) = (instance(ctx, from), instance(ctx, to)) else {
        return StepEval::Blocked(format!(
            "the pair is incomplete: {} in {from} and {} in {to} must both exist",
            instance_id(ctx, from),
            instance_id(ctx, to)
        ));
    };
    if !target.replicates_from(source) {
        return StepEval::Blocked(format!(
            "{} in {to} is not a read replica of {} in {from}",
            target.identifier, source.identifier
        ));
    }
    if source.engine_version != target.engine_version {
        return StepEval::Blocked(format!(
            "engine versions differ: {} {} in {from}, {} {} in {to}",
            source.identifier, source.engine_version, target.identifier, target.engine_version
        ));
    }
    // routingControl groups: the failover records and the controls' states, as for Aurora.
    if let Some(not_ready) = super::routing::preflight(ctx) {
        return not_ready;
    }
    match ctx.world.lag_seconds {
        Some(lag) if lag <= f64::from(ctx.spec.max_lag_seconds) => StepEval::Done(format!(
            "{} replicates {} with ReplicaLag {lag:.1} s (maxLagSeconds {})",
            target.identifier, source.identifier, ctx.spec.max_lag_seconds
        )),
        Some(lag) => StepEval::Wait(format!(
            "ReplicaLag {lag:.1} s is over spec.maxLagSeconds {}",
            ctx.spec.max_lag_seconds
        )),
        None => StepEval::Wait("no ReplicaLag datapoint yet".to_string()),
    }
}

/// A planned move (switchover, or the switch back after a rebuild) promotes the replica
/// only once nothing writes to its source. The Aurora step's best effort (a Skip when the
/// source does not answer or does not confirm zero) would let PromoteReadReplica cut writes
/// nobody allowed to lose: SwitchoverGlobalCluster guarantees that for Aurora, and nothing
/// does for a read replica. So here it Blocks, and says what would unblock it.
fn planned_fence(ctx: &StepContext<'_>) -> StepEval {
    match super::evaluate_aurora(StepName::FenceSource, ctx) {
        StepEval::Skip(why) => StepEval::Blocked(format!(
            "{why}; a planned move promotes the replica in {} only once nothing writes in {}: \
             confirm the compute there at zero, or fail over with allowDataLoss",
            ctx.op.to, ctx.op.from
        )),
        other => other,
    }
}

/// The rebuilt replica catches up: maxLagSeconds is enough (the writer takes writes; the
/// switch's own RPO-0 wait is PromoteReplica's, after FenceSource).
fn wait_replica_synced(ctx: &StepContext<'_>) -> StepEval {
    let (from, to) = rebuild_regions(ctx);
    let (Some(source), Some(target)) = (instance(ctx, from), instance(ctx, to)) else {
        return StepEval::Wait(format!("waiting to read both instances of {from} and {to}"));
    };
    if !target.replicates_from(source) {
        return StepEval::Blocked(format!(
            "{} in {to} is not a read replica of {}",
            target.identifier, source.identifier
        ));
    }
    if target.status != RdsInstanceStatus::Available
        || target.replication != Some(ReplicationState::Replicating)
    {
        return StepEval::Wait(format!(
            "{} is {} (replication {})",
            target.identifier,
            target.status.as_str(),
            target
                .replication
                .as_ref()
                .map_or("unknown", |r| r.as_str())
        ));
    }
    let goal = f64::from(ctx.spec.max_lag_seconds);
    match ctx.world.lag_seconds {
        Some(lag) if lag <= goal => StepEval::Done(format!(
            "{} is replicating with ReplicaLag {lag:.1} s",
            target.identifier
        )),
        Some(lag) => StepEval::Wait(format!("ReplicaLag {lag:.1} s, waiting for {goal:.0} s")),
        None => StepEval::Wait("no ReplicaLag datapoint yet".to_string()),
    }
}

fn promote_replica(ctx: &StepContext<'_>) -> StepEval {
    let to = ctx.op.to.as_str();
    if let Some(e) = unreachable(ctx, to) {
        return StepEval::Wait(format!("cannot read the DB instance in {to}: {e}"));
    }
    let Some(target) = instance(ctx, to) else {
        return StepEval::Blocked(format!(
            "{} does not exist in {to}: nothing to promote",
            instance_id(ctx, to)
        ));
    };
    if !target.is_replica() {
        return match target.status {
            RdsInstanceStatus::Available => StepEval::Done(format!(
                "{} in {to} is a standalone primary",
                target.identifier
            )),
            _ => StepEval::Wait(format!(
                "{} is being promoted ({})",
                target.identifier,
                target.status.as_str()
            )),
        };
    }
    if target.status != RdsInstanceStatus::Available {
        return StepEval::Wait(format!(
            "{} is {}",
            target.identifier,
            target.status.as_str()
        ));
    }
    if ctx.op.type_ != OperationType::Failover {
        // Planned: the source is fenced; promote only once the replica has everything.
        match ctx.world.lag_seconds {
            Some(lag) if lag <= 0.0 => {}
            lag => {
                return StepEval::Wait(format!(
                    "waiting for ReplicaLag 0 after fencing (now {})",
                    lag.map_or("unknown".to_string(), |l| format!("{l:.1} s"))
                ))
            }
        }
    }
    StepEval::Act(
        vec![Action::PromoteReadReplica {
            region: to.to_string(),
            instance_id: target.identifier.clone(),
        }],
        format!("promote {} in {to}", target.identifier),
    )
}

fn wait_writer(ctx: &StepContext<'_>) -> StepEval {
    let to = ctx.op.to.as_str();
    if ctx.world.writer_region() != Some(to) {
        return StepEval::Wait(format!("waiting for {to} to become the writer"));
    }
    match instance(ctx, to) {
        Some(i) if !i.is_replica() && i.status == RdsInstanceStatus::Available => StepEval::Done(
            format!("{} in {to} is the primary and available", i.identifier),
        ),
        Some(i) => StepEval::Wait(format!("{} is {}", i.identifier, i.status.as_str())),
        None => StepEval::Wait(format!("instance in {to} not observed")),
    }
}

fn snapshot_stale(ctx: &StepContext<'_>) -> StepEval {
    let (_, to) = rebuild_regions(ctx);
    if let Some(e) = unreachable(ctx, to) {
        return StepEval::Wait(format!("cannot read the DB instance in {to}: {e}"));
    }
    let Some(stale) = instance(ctx, to) else {
        return StepEval::Skip(format!(
            "no instance {} in {to}: nothing to snapshot",
            instance_id(ctx, to)
        ));
    };
    let id = stale_snapshot_id(ctx.spec, ctx.op, to);
    let snapshots = pair(ctx).and_then(|p| p.snapshots.get(to));
    match snapshots.and_then(|all| all.iter().find(|s| s.identifier == id)) {
        Some(s) if s.status == drctl_cloud::DbSnapshotStatus::Available => StepEval::Done(format!(
            "snapshot {id} of {} is available",
            stale.identifier
        )),
        Some(s) => StepEval::Wait(format!("snapshot {id} is {}", s.status.as_str())),
        None if snapshots.is_none() => StepEval::Wait("snapshots not read yet".to_string()),
        None if stale.status != RdsInstanceStatus::Available => {
            StepEval::Wait(format!("{} is {}", stale.identifier, stale.status.as_str()))
        }
        None => StepEval::Act(
            vec![Action::CreateDbSnapshot {
                region: to.to_string(),
                instance_id: stale.identifier.clone(),
                snapshot_id: id.clone(),
            }],
            format!("snapshot stale {} as {id}", stale.identifier),
        ),
    }
}

fn await_approval(ctx: &StepContext<'_>) -> StepEval {
    if ctx.spec.failback.approval == Approval::Automatic {
        return StepEval::Skip("failback.approval is automatic".to_string());
    }
    match ctx.approved_by {
        Some(who) => StepEval::Done(format!("approved by {who}")),
        None => {
            let (_, stale) = rebuild_regions(ctx);
            StepEval::AwaitingApproval(format!(
                "the next steps delete the stale DB instance {} in {stale} (snapshot {} kept) and rebuild it as a read replica: run `drctl approve {}`",
                instance_id(ctx, stale),
                stale_snapshot_id(ctx.spec, ctx.op, stale),
                ctx.name
            ))
        }
    }
}

fn delete_stale(ctx: &StepContext<'_>) -> StepEval {
    let (_, to) = rebuild_regions(ctx);
    if let Some(e) = unreachable(ctx, to) {
        return StepEval::Wait(format!("cannot read the DB instance in {to}: {e}"));
    }
    let Some(stale) = instance(ctx, to) else {
        return StepEval::Done(format!("{} in {to} is gone", instance_id(ctx, to)));
    };
    if stale.status == RdsInstanceStatus::Deleting {
        return StepEval::Wait(format!("{} is being deleted", stale.identifier));
    }
    if ctx.world.writer_region() == Some(to) {
        return StepEval::Blocked(format!(
            "{} in {to} is the writer: never deleted",
            stale.identifier
        ));
    }
    // Invariant 2: its snapshot must be there, re-read in this pass.
    let id = stale_snapshot_id(ctx.spec, ctx.op, to);
    let kept = pair(ctx)
        .and_then(|p| p.snapshots.get(to))
        .is_some_and(|all| {
            all.iter()
                .any(|s| s.identifier == id && s.status == drctl_cloud::DbSnapshotStatus::Available)
        });
    if !kept {
        return StepEval::Blocked(format!(
            "snapshot {id} of {} is not available: not deleting",
            stale.identifier
        ));
    }
    StepEval::Act(
        vec![Action::DeleteDbInstance {
            region: to.to_string(),
            instance_id: stale.identifier.clone(),
        }],
        format!("delete stale {} (snapshot {id} kept)", stale.identifier),
    )
}

fn recreate_secondary(ctx: &StepContext<'_>) -> StepEval {
    let (from, to) = rebuild_regions(ctx);
    for region in [from, to] {
        if let Some(e) = unreachable(ctx, region) {
            return StepEval::Wait(format!("cannot read the DB instance in {region}: {e}"));
        }
    }
    let Some(source) = instance(ctx, from) else {
        return StepEval::Blocked(format!("the writer's instance in {from} is not there"));
    };
    match instance(ctx, to) {
        Some(replica) if replica.replicates_from(source) => {
            if replica.status == RdsInstanceStatus::Available {
                StepEval::Done(format!(
                    "{} in {to} is a read replica of {}",
                    replica.identifier, source.identifier
                ))
            } else {
                StepEval::Wait(format!(
                    "{} is {}",
                    replica.identifier,
                    replica.status.as_str()
                ))
            }
        }
        Some(other) if other.status == RdsInstanceStatus::Deleting => {
            StepEval::Wait(format!("{} is still being deleted", other.identifier))
        }
        Some(other) => StepEval::Blocked(format!(
            "{} in {to} exists and is not a read replica of {}",
            other.identifier, source.identifier
        )),
        None => {
            let template = ctx.spec.database.instances.get(to);
            let request = CreateReadReplica {
                region: to.to_string(),
                identifier: instance_id(ctx, to).to_string(),
                source_region: from.to_string(),
                source_instance_arn: source.arn.clone(),
                instance_class: template.and_then(|t| t.instance_class.clone()),
                kms_key_id: template.and_then(|t| t.kms_key_id.clone()),
                db_subnet_group: template.and_then(|t| t.db_subnet_group.clone()),
                vpc_security_group_ids: template
                    .map(|t| t.vpc_security_group_ids.clone())
                    .unwrap_or_default(),
            };
            let detail = format!(
                "create {} in {to} as a read replica of {}",
                request.identifier, source.identifier
            );
            StepEval::Act(vec![Action::CreateReadReplica(request)], detail)
        }
    }
}

/// Notes an rdsReplica operation starts with.
pub fn start_notes(plan: OperationPlan, notes: &mut BTreeMap<String, String>) {
    notes.insert(RDS_PLAN.to_string(), plan_name(plan).to_string());
    if plan == OperationPlan::RdsFailbackStale {
        notes.insert(note::FAILBACK_MODE.to_string(), "stale".to_string());
    }
}
