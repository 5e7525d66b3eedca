//! The steps of the three operations (docs/design-contract.md §4), their dependencies, and how each one is
//! evaluated against the observed world.
//!
//! A step is a small state machine driven entirely by observation: it is `Done` when the world
//! already shows its effect (which makes every step idempotent and crash-safe: after a restart
//! the same evaluation skips what is already true), `Act` when an action is needed, `Wait`
//! while AWS works, `Blocked` when it needs a spec change or a person.

pub(crate) mod app_tier;
pub mod rds_replica;
mod rebuild;
pub(crate) mod routing;

use std::time::Duration;

use drctl_cloud::{ecs_resource_id, CreateInstance, CreateSecondaryCluster};
use drctl_schema::{
    Approval, Capacity, FailoverGroupSpec, Operation, OperationType, StepName, StepRecord,
    StepState, Timestamp,
};

use super::action::Action;
use super::deadlines::{
    elapsed_between, format_elapsed, DNS_PROPAGATION_ALLOWANCE, LAG_DATAPOINT_WAIT,
};
use crate::observed::{desired_record, DnsChangeStatus, Membership, ObservedWorld, Seen};

/// Note keys kept in `Operation::notes`.
pub mod note {
    pub const DNS_CHANGE_ID: &str = "dnsChangeId";
    pub const FAILBACK_MODE: &str = "failbackMode";
    pub const STALE_SNAPSHOT: &str = "staleSnapshot";
    pub const PRESERVED_SNAPSHOT: &str = "preservedSnapshot";
    /// When RecreateSecondary saw its cluster a member of the global cluster (millis).
    pub const SECONDARY_JOINED_AT: &str = "secondaryJoinedAt";
    /// Since when no replication-lag datapoint has been seen (millis; absent: one was).
    pub const LAG_UNKNOWN_SINCE: &str = "lagUnknownSince";
    /// The automatic-failover decision that allowed this Failover to lose data (absent: the
    /// allowance is spec.allowDataLoss).
    pub const DATA_LOSS_ALLOWED_BY: &str = "dataLossAllowedBy";
    /// A step that went on without a lag datapoint, and on what it relied instead.
    pub const LAG_GATE_BYPASSED: &str = "lagGateBypassed";
    /// When a step first overran its deadline (millis).
    pub fn overdue_at(step: drctl_schema::StepName) -> String {
        format!("{}.overdueAt", step.as_str())
    }
    pub fn issued_at(step: drctl_schema::StepName) -> String {
        format!("{}.issuedAt", step.as_str())
    }
    /// When this step last issued this very call (see `Action::subject`).
    pub fn action_issued_at(step: drctl_schema::StepName, action: &super::Action) -> String {
        format!("{}{}", action_issued_prefix(step), action.subject())
    }
    pub fn action_issued_prefix(step: drctl_schema::StepName) -> String {
        format!("{}.issued: ", step.as_str())
    }
}

/// Which sequence an operation runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationPlan {
    Switchover,
    Failover,
    FailbackRejoined,
    FailbackStale,
    /// spec.database.kind rdsReplica (steps/rds_replica.rs).
    RdsSwitchover,
    RdsFailover,
    RdsFailbackStale,
    /// spec.dnsOwner moved, the writer did not: traffic and compute only (`app_tier`).
    AppTier,
}

impl OperationPlan {
    pub fn operation_type(self) -> OperationType {
        match self {
            OperationPlan::Switchover | OperationPlan::RdsSwitchover => OperationType::Switchover,
            OperationPlan::Failover | OperationPlan::RdsFailover => OperationType::Failover,
            OperationPlan::FailbackRejoined
            | OperationPlan::FailbackStale
            | OperationPlan::RdsFailbackStale => OperationType::Failback,
            OperationPlan::AppTier => OperationType::AppTierFailover,
        }
    }

    pub fn steps(self) -> Vec<StepName> {
        use StepName::*;
        let switchover = [
            Preflight,
            ScaleUpTarget,
            Switchover,
            WaitWriter,
            WaitComputeReady,
            MoveDns,
            WaitDnsInSync,
            Verify,
            ScaleDownSource,
        ];
        match self {
            OperationPlan::RdsSwitchover
            | OperationPlan::RdsFailover
            | OperationPlan::RdsFailbackStale => rds_replica::steps(self),
            OperationPlan::Switchover => switchover.to_vec(),
            OperationPlan::Failover => vec![
                FenceSource,
                ScaleUpTarget,
                Failover,
                WaitWriter,
                WaitComputeReady,
                MoveDns,
                WaitDnsInSync,
                Verify,
            ],
            OperationPlan::FailbackRejoined => {
                let mut steps = vec![PreserveSnapshot];
                steps.extend(switchover);
                steps
            }
            OperationPlan::FailbackStale => {
                let mut steps = vec![
                    SnapshotStale,
                    AwaitApproval,
                    DeleteStale,
                    RecreateSecondary,
                    WaitReplicaSynced,
                ];
                steps.extend(switchover);
                steps
            }
            OperationPlan::AppTier => app_tier::STEPS.to_vec(),
        }
    }
}

/// Steps that must be done (succeeded or skipped) before `step` may start. Only the
/// dependencies present in the operation count. ScaleUpTarget depends on nothing but
/// Preflight, so the target's compute scales up while the database step runs: this overlap is
/// where drctl beats the sequential runbook.
pub fn dependencies(step: StepName) -> &'static [StepName] {
    use StepName::*;
    match step {
        Preflight => &[PreserveSnapshot, WaitReplicaSynced],
        ScaleUpTarget => &[Preflight],
        Switchover => &[Preflight],
        Failover => &[],
        FenceSource => &[],
        WaitWriter => &[Switchover, Failover],
        WaitComputeReady => &[ScaleUpTarget],
        MoveDns => &[WaitWriter, WaitComputeReady],
        WaitDnsInSync => &[MoveDns],
        Verify => &[WaitDnsInSync],
        ScaleDownSource => &[Verify],
        PreserveSnapshot => &[],
        SnapshotStale => &[],
        AwaitApproval => &[SnapshotStale],
        DeleteStale => &[AwaitApproval],
        RecreateSecondary => &[DeleteStale],
        WaitReplicaSynced => &[RecreateSecondary],
        PromoteReplica => &[],
    }
}

/// Is every present dependency of `step` done?
pub fn ready_to_run(op: &Operation, step: StepName) -> bool {
    let deps = match rds_replica::plan_of(op) {
        Some(plan) => rds_replica::dependencies(plan, step),
        None => dependencies(step),
    };
    deps.iter().all(|dep| {
        op.step(*dep)
            .map(|record| record.state.is_done())
            .unwrap_or(true)
    })
}

pub fn new_operation(
    plan: OperationPlan,
    id: String,
    from: &str,
    to: &str,
    generation: u64,
    now: Timestamp,
) -> Operation {
    let mut notes = std::collections::BTreeMap::new();
    match plan {
        OperationPlan::FailbackRejoined => {
            notes.insert(note::FAILBACK_MODE.to_string(), "rejoined".to_string());
        }
        OperationPlan::FailbackStale => {
            notes.insert(note::FAILBACK_MODE.to_string(), "stale".to_string());
        }
        OperationPlan::RdsSwitchover
        | OperationPlan::RdsFailover
        | OperationPlan::RdsFailbackStale => rds_replica::start_notes(plan, &mut notes),
        _ => {}
    }
    Operation {
        id,
        type_: plan.operation_type(),
        from: from.to_string(),
        to: to.to_string(),
        started_at: now,
        finished_at: None,
        generation,
        state: drctl_schema::OperationState::Running,
        steps: plan.steps().into_iter().map(StepRecord::pending).collect(),
        rpo_seconds: None,
        rto_seconds: None,
        notes,
    }
}

/// The outcome of evaluating one step.
#[derive(Debug, Clone, PartialEq)]
pub enum StepEval {
    /// The world shows the step's effect.
    Done(String),
    /// The step does not apply here.
    Skip(String),
    /// Perform these actions (the step is Running until the world shows their effect).
    Act(Vec<Action>, String),
    /// AWS is working; look again later.
    Wait(String),
    /// Waiting for `drctl approve`.
    AwaitingApproval(String),
    /// Cannot proceed without a spec change or an operator.
    Blocked(String),
    /// Done without a replication-lag datapoint, relying on Aurora's own guarantees instead
    /// (see `without_lag_datapoint`): succeeded, with a warning condition.
    DoneWithoutLag(String),
    /// The postcondition of `StepName`, a dependency of this step, no longer holds: run it
    /// again (it and this step go back to Pending).
    Reopen(StepName, String),
}

/// Everything a step evaluation reads.
pub struct StepContext<'a> {
    pub name: &'a str,
    pub spec: &'a FailoverGroupSpec,
    pub world: &'a ObservedWorld,
    pub op: &'a Operation,
    pub approved_by: Option<&'a str>,
    pub last_known_lag: Option<f64>,
    /// How long no replication-lag datapoint has been seen (None: the world has one).
    pub lag_unknown_for: Option<Duration>,
    pub now: Timestamp,
}

impl StepContext<'_> {
    fn cluster_id(&self, region: &str) -> Option<&str> {
        self.spec
            .database
            .clusters
            .get(region)
            .map(|c| c.identifier.as_str())
    }

    fn membership(&self, region: &str) -> Membership {
        self.world
            .region(region)
            .map(|r| r.membership)
            .unwrap_or(Membership::Unknown)
    }

    fn reachable(&self, region: &str) -> bool {
        self.world.answers(region)
    }

    fn cluster_arn(&self, region: &str) -> Option<&str> {
        self.world
            .region(region)
            .and_then(|r| r.cluster.as_ref())
            .map(|c| c.arn.as_str())
    }

    /// Snapshot names are deterministic so that a retried or resumed step finds its own
    /// snapshot instead of taking another one.
    pub fn snapshot_id(&self, kind: &str, region: &str) -> String {
        let cluster = self.cluster_id(region).unwrap_or("cluster");
        rds_identifier(&format!("drctl-{kind}-{cluster}-{}", self.op.id))
    }
}

/// A valid RDS identifier made from `raw` (one home, beside its validator in the schema).
pub use drctl_schema::validate::rds_identifier_from as rds_identifier;

pub fn evaluate(step: StepName, ctx: &StepContext<'_>) -> StepEval {
    if rds_replica::is_rds(ctx.spec) {
        return rds_replica::evaluate(step, ctx);
    }
    evaluate_aurora(step, ctx)
}

/// The Aurora Global Database steps (and the compute and DNS steps every kind shares).
fn evaluate_aurora(step: StepName, ctx: &StepContext<'_>) -> StepEval {
    use StepName::*;
    match step {
        Preflight if ctx.op.type_ == OperationType::AppTierFailover => {
            with_dependencies(ctx, app_tier::preflight(ctx))
        }
        Preflight => with_dependencies(ctx, preflight(ctx)),
        FenceSource => fence_source(ctx),
        ScaleUpTarget => scale_services(ctx, &ctx.op.to, true),
        Switchover => promote(ctx, false),
        Failover => promote(ctx, true),
        WaitWriter => wait_writer(ctx),
        WaitComputeReady => wait_compute_ready(ctx),
        MoveDns => move_dns(ctx),
        WaitDnsInSync => wait_dns_in_sync(ctx),
        Verify => verify(ctx),
        ScaleDownSource => routing::health_check_keeps_source(ctx)
            .unwrap_or_else(|| scale_services(ctx, &ctx.op.from, false)),
        PreserveSnapshot => preserve_snapshot(ctx),
        SnapshotStale => snapshot_stale(ctx),
        AwaitApproval => await_approval(ctx),
        DeleteStale => rebuild::delete_stale(ctx),
        RecreateSecondary => rebuild::recreate_secondary(ctx),
        WaitReplicaSynced => rebuild::wait_replica_synced(ctx),
        // Only rdsReplica plans list it, and `rds_replica::evaluate` takes their steps.
        PromoteReplica => StepEval::Blocked(
            "PromoteReplica is a step of spec.database.kind rdsReplica, not of an Aurora plan"
                .to_string(),
        ),
    }
}

/// Preflight lists spec.dependencies' state and lag when it passes; they never block it
/// (drctl reports them, it does not move them).
fn with_dependencies(ctx: &StepContext<'_>, eval: StepEval) -> StepEval {
    let Some(note) = crate::dependencies::operation_note(ctx.spec, ctx.world.dependencies.as_ref())
    else {
        return eval;
    };
    match eval {
        StepEval::Done(m) => StepEval::Done(format!("{m}; {note}")),
        StepEval::DoneWithoutLag(m) => StepEval::DoneWithoutLag(format!("{m}; {note}")),
        other => other,
    }
}

fn preflight(ctx: &StepContext<'_>) -> StepEval {
    let (from, to) = (ctx.op.from.as_str(), ctx.op.to.as_str());
    let global = match &ctx.world.global {
        Seen::Known(Some(g)) => g,
        Seen::Known(None) => {
            return StepEval::Blocked(format!(
                "global cluster {} not found",
                ctx.spec.database.global_cluster_identifier
            ))
        }
        Seen::Unreachable(e) => {
            return StepEval::Wait(format!("cannot read the global cluster: {e}"))
        }
    };
    if let Some(state) = &global.failover_state {
        return StepEval::Wait(format!(
            "an Aurora global operation is in flight ({}); waiting for it to finish",
            state.status
        ));
    }
    if ctx.membership(from) != Membership::Writer {
        return StepEval::Wait(format!("{from} is not the writer yet"));
    }
    match ctx.membership(to) {
        Membership::Secondary { synced: true } => {}
        Membership::Secondary { synced: false } => {
            return StepEval::Wait(format!("{to} is not synchronized yet (pending-resync)"))
        }
        other => {
            return StepEval::Blocked(format!(
                "{to} cluster is {}: a switchover needs a synchronized secondary",
                other.as_str()
            ))
        }
    }
    let version = |region: &str| {
        ctx.world
            .region(region)
            .and_then(|r| r.cluster.as_ref())
            .map(|c| c.engine_version.clone())
    };
    if let (Some(a), Some(b)) = (version(from), version(to)) {
        if major_minor(&a) != major_minor(&b) {
            return StepEval::Blocked(format!(
                "engine versions differ ({from} {a}, {to} {b}): a switchover needs the same major and minor version"
            ));
        }
    }
    if let Some(cluster) = ctx.world.region(to).and_then(|r| r.cluster.as_ref()) {
        if cluster.instances.is_empty() {
            return StepEval::Blocked(format!(
                "{} in {to} has no DB instance (headless): it cannot be promoted; add an instance",
                cluster.identifier
            ));
        }
    }
    if let Some(not_ready) = routing::preflight(ctx) {
        return not_ready;
    }
    let max = f64::from(ctx.spec.max_lag_seconds);
    match ctx.world.lag_seconds {
        Some(lag) if lag <= max => StepEval::Done(format!(
            "{to} synchronized, replication lag {lag:.1} s <= maxLagSeconds {max}"
        )),
        Some(lag) => StepEval::Wait(format!(
            "replication lag {lag:.1} s > maxLagSeconds {max}; waiting for {to} to catch up"
        )),
        None => without_lag_datapoint(ctx, to),
    }
}

/// No replication-lag datapoint (CloudWatch has none, or does not answer). CloudWatch is not
/// on the safety path of a switchover: SwitchoverGlobalCluster itself waits for the target to
/// be fully synchronized (RPO 0), and the lag gate only bounds how long that takes. So wait a
/// bounded time for a datapoint, then rely on that guarantee and on the member's
/// SynchronizationStatus being `connected`. A failover never comes here: it is chosen only
/// under spec.allowDataLoss, with the last measured lag as its RPO.
fn without_lag_datapoint(ctx: &StepContext<'_>, to: &str) -> StepEval {
    let waited = ctx.lag_unknown_for.unwrap_or_default();
    if waited < LAG_DATAPOINT_WAIT {
        return StepEval::Wait(format!(
            "replication lag is unknown (no datapoint for {}); waiting up to {} s for one",
            format_elapsed(waited),
            LAG_DATAPOINT_WAIT.as_secs()
        ));
    }
    if !member_connected(ctx, to) {
        return StepEval::Wait(format!(
            "replication lag is unknown and {to}'s SynchronizationStatus is not connected"
        ));
    }
    StepEval::DoneWithoutLag(format!(
        "no replication-lag datapoint for {}: relying on {to}'s SynchronizationStatus (connected) and on \
         SwitchoverGlobalCluster waiting for full synchronization itself (RPO 0)",
        format_elapsed(waited)
    ))
}

/// Does the global cluster list `region`'s cluster as a member with SynchronizationStatus
/// `connected`? (Not merely "not pending-resync": an absent status proves nothing.)
fn member_connected(ctx: &StepContext<'_>, region: &str) -> bool {
    let Some(identifier) = ctx.cluster_id(region) else {
        return false;
    };
    // Matched as observe matches members: by the ARN's region and last segment.
    ctx.world
        .global
        .known()
        .and_then(|g| g.as_ref())
        .map(|g| {
            g.members.iter().any(|m| {
                drctl_cloud::region_of_arn(&m.cluster_arn) == Some(region)
                    && m.cluster_arn.rsplit(':').next() == Some(identifier)
                    && !m.is_writer
                    && m.synchronization_status.as_deref() == Some("connected")
            })
        })
        .unwrap_or(false)
}

fn major_minor(version: &str) -> String {
    version.split('.').take(2).collect::<Vec<_>>().join(".")
}

fn fence_source(ctx: &StepContext<'_>) -> StepEval {
    let from = ctx.op.from.as_str();
    if !ctx.reachable(from) {
        return StepEval::Skip(format!(
            "{from} is unreachable: fencing is best effort (its tasks stop with the region)"
        ));
    }
    let fenced = Capacity {
        desired: 0,
        min: 0,
        max: 0,
    };
    let mut actions = Vec::new();
    let mut unconfirmed = Vec::new();
    for svc in &ctx.spec.compute.services {
        let Some(reference) = svc.regions.get(from) else {
            continue;
        };
        actions.extend(capacity_actions(
            ctx, &svc.name, from, reference, fenced, true,
        ));
        unconfirmed.extend(capacity_unconfirmed(ctx, &svc.name, from, fenced));
    }
    if actions.is_empty() && unconfirmed.is_empty() {
        StepEval::Done(format!("compute in {from} scaled to zero"))
    } else if actions.is_empty() {
        StepEval::Skip(format!(
            "could not confirm compute in {from} at zero ({}); fencing is best effort",
            unconfirmed.join("; ")
        ))
    } else if ctx
        .op
        .notes
        .contains_key(&note::issued_at(StepName::FenceSource))
    {
        // Best effort: one attempt, then move on rather than hold up the recovery.
        StepEval::Skip(format!(
            "{from} did not confirm scaling to zero; fencing is best effort"
        ))
    } else {
        StepEval::Act(actions, format!("scale compute in {from} to zero"))
    }
}

/// Why the world does not show one service in one region at exactly `want` (None: it does).
/// A step that sets capacity succeeds only on this reading, never on "no action needed"
/// alone: an unread or unreachable service needs no action either.
fn capacity_unconfirmed(
    ctx: &StepContext<'_>,
    name: &str,
    region: &str,
    want: Capacity,
) -> Option<String> {
    let Some(view) = ctx.world.service(name, region) else {
        return Some(format!("service {name} in {region} not observed"));
    };
    match &view.ecs {
        Seen::Known(Some(ecs)) if ecs.desired == want.desired => {}
        Seen::Known(Some(ecs)) => {
            return Some(format!(
                "{name} in {region} has desired count {}, not {}",
                ecs.desired, want.desired
            ))
        }
        Seen::Known(None) => return Some(format!("service {name} not found in {region}")),
        Seen::Unreachable(e) => return Some(format!("{region} ECS: {e}")),
    }
    match &view.scalable {
        Some(Seen::Known(Some(range))) if *range == (want.min, want.max) => None,
        Some(Seen::Known(Some((min, max)))) => Some(format!(
            "the scalable target of {name} in {region} is [{min}, {max}], not [{}, {}]",
            want.min, want.max
        )),
        Some(Seen::Known(None)) => Some(format!("{name} in {region} has no scalable target")),
        Some(Seen::Unreachable(e)) => Some(format!("{region} Application Auto Scaling: {e}")),
        None => Some(format!(
            "the scalable target of {name} in {region} was not read"
        )),
    }
}

/// Actions that bring one service in one region to `want` (min/max on the scalable target,
/// desired count raised or lowered to `want.desired` when `exact`, else only clamped).
fn capacity_actions(
    ctx: &StepContext<'_>,
    name: &str,
    region: &str,
    reference: &drctl_schema::EcsServiceRef,
    want: Capacity,
    exact: bool,
) -> Vec<Action> {
    let mut actions = Vec::new();
    let Some(view) = ctx.world.service(name, region) else {
        return actions;
    };
    if let Some(Seen::Known(scalable)) = &view.scalable {
        if *scalable != Some((want.min, want.max)) {
            actions.push(Action::RegisterScalableTarget {
                region: region.to_string(),
                resource_id: ecs_resource_id(&reference.cluster, &reference.service),
                min: want.min,
                max: want.max,
            });
        }
    }
    if let Seen::Known(Some(ecs)) = &view.ecs {
        let target = if exact {
            want.desired
        } else {
            ecs.desired.clamp(want.min, want.max)
        };
        if ecs.desired != target {
            actions.push(Action::SetDesiredCount {
                region: region.to_string(),
                cluster: reference.cluster.clone(),
                service: reference.service.clone(),
                desired: target,
            });
        }
    }
    actions
}

fn scale_services(ctx: &StepContext<'_>, region: &str, up: bool) -> StepEval {
    if !ctx.reachable(region) {
        return StepEval::Wait(format!("{region} is unreachable"));
    }
    let mut actions = Vec::new();
    let mut unconfirmed = Vec::new();
    for svc in &ctx.spec.compute.services {
        let Some(reference) = svc.regions.get(region) else {
            continue;
        };
        let Some(view) = ctx.world.service(&svc.name, region) else {
            return StepEval::Wait(format!("service {} in {region} not observed", svc.name));
        };
        match &view.ecs {
            Seen::Unreachable(e) => return StepEval::Wait(format!("{region} ECS: {e}")),
            Seen::Known(None) => {
                return StepEval::Blocked(format!(
                    "ECS service {}/{} not found in {region}",
                    reference.cluster, reference.service
                ))
            }
            Seen::Known(Some(_)) => {}
        }
        let want = if up { svc.active } else { svc.standby };
        actions.extend(capacity_actions(
            ctx, &svc.name, region, reference, want, true,
        ));
        unconfirmed.extend(capacity_unconfirmed(ctx, &svc.name, region, want));
    }
    let what = if up {
        "active capacity"
    } else {
        "standby capacity"
    };
    if !actions.is_empty() {
        StepEval::Act(actions, format!("scale services in {region} to {what}"))
    } else if !unconfirmed.is_empty() {
        StepEval::Wait(unconfirmed.join("; "))
    } else {
        StepEval::Done(format!("services in {region} set to {what}"))
    }
}

fn promote(ctx: &StepContext<'_>, failover: bool) -> StepEval {
    let to = ctx.op.to.as_str();
    if ctx.world.writer_region() == Some(to) {
        return StepEval::Done(format!("{to} is the writer"));
    }
    if let Some(state) = ctx.world.failover_in_flight() {
        return StepEval::Wait(format!("global operation {} in flight", state.status));
    }
    let Some(target_arn) = ctx.cluster_arn(to) else {
        return StepEval::Wait(format!("cluster in {to} not observed"));
    };
    let global = ctx.spec.database.global_cluster_identifier.clone();
    if failover {
        if !ctx.spec.allow_data_loss && !ctx.op.notes.contains_key(note::DATA_LOSS_ALLOWED_BY) {
            return StepEval::Blocked(
                "spec.allowDataLoss is false: refusing FailoverGlobalCluster(AllowDataLoss=true)"
                    .to_string(),
            );
        }
        StepEval::Act(
            vec![Action::FailoverGlobalCluster {
                region: to.to_string(),
                global_cluster_id: global,
                target_cluster_arn: target_arn.to_string(),
                allow_data_loss: true,
            }],
            format!("fail over {} to {to} (data loss allowed)", ctx.op.from),
        )
    } else {
        StepEval::Act(
            vec![Action::SwitchoverGlobalCluster {
                region: to.to_string(),
                global_cluster_id: global,
                target_cluster_arn: target_arn.to_string(),
            }],
            format!("switch over from {} to {to}", ctx.op.from),
        )
    }
}

fn wait_writer(ctx: &StepContext<'_>) -> StepEval {
    let to = ctx.op.to.as_str();
    if ctx.world.failover_in_flight().is_some() {
        return StepEval::Wait("Aurora is still promoting".to_string());
    }
    if ctx.world.writer_region() != Some(to) {
        return StepEval::Wait(format!("waiting for {to} to become the writer"));
    }
    match ctx.world.region(to).and_then(|r| r.cluster.as_ref()) {
        Some(c) if c.status.is_available() => StepEval::Done(format!(
            "{} in {to} is the writer and available",
            c.identifier
        )),
        Some(c) => StepEval::Wait(format!("{} is {}", c.identifier, c.status)),
        None => StepEval::Wait(format!("cluster in {to} not observed")),
    }
}

/// Running tasks per service in `region` against the active desired count.
pub fn compute_shortfall(
    spec: &FailoverGroupSpec,
    world: &ObservedWorld,
    region: &str,
) -> Vec<String> {
    let mut short = Vec::new();
    for svc in &spec.compute.services {
        if !svc.regions.contains_key(region) {
            continue;
        }
        let running = world
            .service(&svc.name, region)
            .and_then(|v| v.ecs.known().cloned().flatten())
            .map(|e| e.running);
        match running {
            Some(n) if n >= svc.active.desired => {}
            Some(n) => short.push(format!(
                "{}: {n}/{} running in {region}",
                svc.name, svc.active.desired
            )),
            None => short.push(format!("{}: not observed in {region}", svc.name)),
        }
    }
    short
}

/// The services in `region` that are short of their active count *and* no longer asked for
/// it (desired count below the active one): ScaleUpTarget's effect is gone (autoscaling or a
/// person scaled them in, or a rehearsal's rebuilt world never saw the scale-up), and waiting
/// would never bring the tasks.
pub fn scale_up_undone(
    spec: &FailoverGroupSpec,
    world: &ObservedWorld,
    region: &str,
) -> Vec<String> {
    spec.compute
        .services
        .iter()
        .filter(|svc| svc.regions.contains_key(region))
        .filter_map(|svc| {
            let ecs = world
                .service(&svc.name, region)
                .and_then(|v| v.ecs.known().cloned().flatten())?;
            (ecs.running < svc.active.desired && ecs.desired < svc.active.desired).then(|| {
                format!(
                    "{} in {region} has desired count {}, below its active {}",
                    svc.name, ecs.desired, svc.active.desired
                )
            })
        })
        .collect()
}

fn wait_compute_ready(ctx: &StepContext<'_>) -> StepEval {
    let to = ctx.op.to.as_str();
    let short = compute_shortfall(ctx.spec, ctx.world, to);
    let undone = scale_up_undone(ctx.spec, ctx.world, to);
    if short.is_empty() {
        StepEval::Done(format!(
            "every service in {to} runs its active desired count"
        ))
    } else if !undone.is_empty() {
        StepEval::Reopen(StepName::ScaleUpTarget, undone.join("; "))
    } else {
        StepEval::Wait(short.join("; "))
    }
}

/// Where this operation's DNS goes: its own destination. A database operation brings
/// traffic and compute with the writer it moves (ScaleUpTarget and ScaleDownSource act on its
/// regions); when `spec.dnsOwner` names another region, the app-tier failover planned after
/// it moves them on. An app-tier failover's destination is the DNS owner it was planned for.
/// Following the spec's dnsOwner inside a database operation would point DNS at a region whose
/// compute the operation scales down, or, finishing an operation the spec has since undone,
/// at a region that cannot take the traffic yet.
pub(super) fn dns_destination<'a>(ctx: &StepContext<'a>) -> &'a str {
    ctx.op.to.as_str()
}

/// Invariant 4, refined for the app-tier failover: traffic goes only to a region whose
/// compute is ready and which can reach a writable database (the writer's own region, or any
/// region while the global writer is available: its app writes through the global writer
/// endpoint). A database operation reaches MoveDns only after WaitWriter, so for it the
/// writable database is in `owner` itself. None: DNS may move to `owner`.
fn dns_move_gate(ctx: &StepContext<'_>, owner: &str) -> Option<StepEval> {
    if let Err(why) = app_tier::writable_database(ctx.world, owner) {
        let detail = format!("not moving traffic to {owner}: {why}");
        // A database operation's MoveDns runs after WaitWriter: a writer gone from its
        // destination needs a person, as before the refinement.
        return Some(if ctx.op.type_ == OperationType::AppTierFailover {
            StepEval::Wait(detail)
        } else {
            StepEval::Blocked(detail)
        });
    }
    let short = compute_shortfall(ctx.spec, ctx.world, owner);
    let undone = scale_up_undone(ctx.spec, ctx.world, owner);
    if !short.is_empty() && !undone.is_empty() {
        return Some(StepEval::Reopen(
            StepName::WaitComputeReady,
            undone.join("; "),
        ));
    }
    if !short.is_empty() {
        return Some(StepEval::Wait(format!(
            "compute not ready in {owner}: {}",
            short.join("; ")
        )));
    }
    None
}

fn move_dns(ctx: &StepContext<'_>) -> StepEval {
    let owner = dns_destination(ctx).to_string();
    if let Some(skip) = routing::health_check_skip(ctx) {
        return skip;
    }
    if ctx.world.dns_owner(ctx.spec).as_deref() == Some(owner.as_str()) {
        return StepEval::Done(format!(
            "{} already points at {owner}",
            ctx.spec.dns.record_name
        ));
    }
    if let Some(gate) = dns_move_gate(ctx, &owner) {
        return gate;
    }
    if let Some(rc) = crate::routing::routing_control(ctx.spec) {
        return routing::move_traffic(ctx, rc, &owner);
    }
    let current = match &ctx.world.record {
        Seen::Known(current) => current.clone(),
        Seen::Unreachable(e) => {
            return StepEval::Wait(format!("Route 53 control plane unavailable: {e}"))
        }
    };
    let Some(desired) = desired_record(ctx.spec, &owner) else {
        return StepEval::Blocked(format!("spec.dns.targets.{owner} is incomplete"));
    };
    StepEval::Act(
        vec![Action::ChangeRecord {
            hosted_zone_id: ctx.spec.dns.hosted_zone_id.clone(),
            expected: current,
            desired,
            region: owner.clone(),
        }],
        format!("point {} at {owner}", ctx.spec.dns.record_name),
    )
}

/// Succeeds when the record reads as the DNS owner's target and Route 53 has it on every
/// authoritative server: the change is INSYNC, or, when Route 53 cannot say (NoSuchChange
/// after a restart, or the change id was never recorded because the response was lost), the
/// change was issued longer ago than Route 53's documented propagation time.
///
/// Why read rather than re-issue the UPSERT for a fresh change id: the record already holds
/// the desired values, so a re-issue would change nothing but would put another call on the
/// Route 53 control plane, which lives in us-east-1 only, is limited to about 5 requests/s per
/// account, and is exactly what a recovering fleet (or a restart of the controller) is
/// hammering at that moment. The bound costs no call, and for a change issued long before a
/// restart it is already past.
fn wait_dns_in_sync(ctx: &StepContext<'_>) -> StepEval {
    if let Some(skip) = routing::health_check_skip(ctx) {
        return skip;
    }
    if crate::routing::routing_control(ctx.spec).is_some() {
        return routing::wait_health_checkers(ctx);
    }
    let owner = dns_destination(ctx);
    let record = &ctx.spec.dns.record_name;
    let points_at_owner = match &ctx.world.record {
        Seen::Known(_) => ctx.world.dns_owner(ctx.spec).as_deref() == Some(owner),
        Seen::Unreachable(e) => {
            return StepEval::Wait(format!("Route 53 control plane unavailable: {e}"))
        }
    };
    let issued_at = ctx
        .op
        .notes
        .get(&note::issued_at(StepName::MoveDns))
        .and_then(|v| v.parse::<i64>().ok());
    if !points_at_owner {
        return StepEval::Reopen(
            StepName::MoveDns,
            format!("{record} no longer points at {owner}"),
        );
    }
    let settle_by_reading = |why: String| {
        let since = issued_at
            .or_else(|| {
                ctx.op
                    .step(StepName::WaitDnsInSync)
                    .and_then(|s| s.started_at)
                    .map(|t| t.millis())
            })
            .unwrap_or(ctx.now.millis());
        let waited = elapsed_between(since, ctx.now.millis());
        if waited >= DNS_PROPAGATION_ALLOWANCE {
            StepEval::Done(format!(
                "{why}; {record} reads as {owner} and its change was issued {} ago, past Route 53's {} s propagation",
                format_elapsed(waited),
                DNS_PROPAGATION_ALLOWANCE.as_secs()
            ))
        } else {
            StepEval::Wait(format!(
                "{why}; {record} reads as {owner}: allowing {} s for propagation ({} so far)",
                DNS_PROPAGATION_ALLOWANCE.as_secs(),
                format_elapsed(waited)
            ))
        }
    };
    let Some(change_id) = ctx.op.notes.get(note::DNS_CHANGE_ID) else {
        return match issued_at {
            None => StepEval::Done(format!(
                "no Route 53 change was needed: {record} already pointed at {owner}"
            )),
            Some(_) => settle_by_reading("the Route 53 change id was never recorded".to_string()),
        };
    };
    match &ctx.world.dns_change {
        Some(Seen::Known(DnsChangeStatus::InSync)) => {
            StepEval::Done("Route 53 change is INSYNC".to_string())
        }
        Some(Seen::Known(DnsChangeStatus::Pending)) => {
            StepEval::Wait("Route 53 change is PENDING".to_string())
        }
        Some(Seen::Known(DnsChangeStatus::NoSuchChange)) => settle_by_reading(format!(
            "Route 53 does not know change {change_id} (NoSuchChange)"
        )),
        Some(Seen::Unreachable(e)) => StepEval::Wait(format!("GetChange failed: {e}")),
        None => StepEval::Wait("Route 53 change status not read yet".to_string()),
    }
}

fn verify(ctx: &StepContext<'_>) -> StepEval {
    let Some(verify) = &ctx.spec.verify else {
        return StepEval::Skip("no spec.verify".to_string());
    };
    match &ctx.world.health {
        Some(Seen::Known(code)) if *code == verify.expect_status => {
            StepEval::Done(format!("{} answered {code}", verify.url))
        }
        Some(Seen::Known(code)) => StepEval::Wait(format!(
            "{} answered {code}, expecting {}",
            verify.url, verify.expect_status
        )),
        Some(Seen::Unreachable(e)) => StepEval::Wait(format!("{}: {e}", verify.url)),
        None => StepEval::Wait(format!("probing {}", verify.url)),
    }
}

fn snapshots_in(ctx: &StepContext<'_>, region: &str) -> Option<Vec<drctl_cloud::ClusterSnapshot>> {
    ctx.world.region(region).and_then(|r| r.snapshots.clone())
}

fn snapshot_progress(
    snapshots: &[drctl_cloud::ClusterSnapshot],
    id: &str,
) -> Option<(bool, String)> {
    snapshots
        .iter()
        .find(|s| s.identifier == id)
        .map(|s| (s.status.is_available(), s.status.to_string()))
}

fn preserve_snapshot(ctx: &StepContext<'_>) -> StepEval {
    let to = ctx.op.to.as_str();
    if !ctx.reachable(to) {
        return StepEval::Wait(format!("{to} is unreachable"));
    }
    let Some(snapshots) = snapshots_in(ctx, to) else {
        return StepEval::Wait(format!("snapshots in {to} not read yet"));
    };
    let target = ctx
        .op
        .notes
        .get(note::PRESERVED_SNAPSHOT)
        .cloned()
        .unwrap_or_else(|| ctx.snapshot_id("preserved", to));
    if let Some((available, status)) = snapshot_progress(&snapshots, &target) {
        return if available {
            StepEval::Done(format!("manual snapshot {target} available"))
        } else {
            StepEval::Wait(format!("snapshot {target} is {status}"))
        };
    }
    let system = snapshots
        .iter()
        .filter(|s| {
            s.snapshot_type == "system"
                && s.identifier.starts_with("rds:unplanned-global-failover-")
        })
        .max_by_key(|s| s.created_at);
    match system {
        None => StepEval::Skip(format!(
            "no rds:unplanned-global-failover-* snapshot of the {to} cluster to preserve"
        )),
        Some(source) if !source.status.is_available() => {
            StepEval::Wait(format!("{} is {}", source.identifier, source.status))
        }
        Some(source) => StepEval::Act(
            vec![Action::CopyClusterSnapshot {
                region: to.to_string(),
                source_snapshot_id: source.identifier.clone(),
                target_snapshot_id: target.clone(),
            }],
            format!("copy {} to {target}", source.identifier),
        ),
    }
}

fn snapshot_stale(ctx: &StepContext<'_>) -> StepEval {
    let to = ctx.op.to.as_str();
    if !ctx.reachable(to) {
        return StepEval::Wait(format!("{to} is unreachable"));
    }
    let Some(cluster) = ctx.world.region(to).and_then(|r| r.cluster.as_ref()) else {
        return StepEval::Skip(format!("no stale cluster left in {to}"));
    };
    let Some(snapshots) = snapshots_in(ctx, to) else {
        return StepEval::Wait(format!("snapshots in {to} not read yet"));
    };
    let id = ctx.snapshot_id("stale", to);
    match snapshot_progress(&snapshots, &id) {
        Some((true, _)) => StepEval::Done(format!("manual snapshot {id} available")),
        Some((false, status)) => StepEval::Wait(format!("snapshot {id} is {status}")),
        None if !cluster.status.is_available() => StepEval::Wait(format!(
            "{} is {}; a snapshot needs it available",
            cluster.identifier, cluster.status
        )),
        None => StepEval::Act(
            vec![Action::CreateClusterSnapshot {
                region: to.to_string(),
                cluster_id: cluster.identifier.clone(),
                snapshot_id: id.clone(),
            }],
            format!("snapshot stale {} as {id}", cluster.identifier),
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
            // A person decides: no deadline, but say how long the question has been open.
            let waiting = ctx
                .op
                .step(StepName::AwaitApproval)
                .and_then(|s| s.started_at)
                .map(|t| {
                    format!(
                        " (waiting {})",
                        format_elapsed(elapsed_between(t.millis(), ctx.now.millis()))
                    )
                })
                .unwrap_or_default();
            StepEval::AwaitingApproval(format!(
                "the next steps delete the stale {} cluster in {} (snapshot {} kept) and rebuild it: run `drctl approve {}`{waiting}",
                ctx.cluster_id(&ctx.op.to).unwrap_or("?"),
                ctx.op.to,
                ctx.snapshot_id("stale", &ctx.op.to),
                ctx.name
            ))
        }
    }
}

/// Is a step record finished?
pub fn finished(record: &StepRecord) -> bool {
    matches!(
        record.state,
        StepState::Succeeded | StepState::Skipped | StepState::Failed
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rds_identifiers_are_made_valid() {
        assert_eq!(
            rds_identifier("drctl-stale-Primary_DB-op-7"),
            "drctl-stale-primary-db-op-7"
        );
        assert_eq!(rds_identifier("--9abc--"), "s-9abc");
        assert!(rds_identifier(&"x".repeat(100)).len() <= 63);
    }

    #[test]
    fn scale_up_overlaps_the_database_step_in_every_operation() {
        for plan in [
            OperationPlan::Switchover,
            OperationPlan::Failover,
            OperationPlan::FailbackRejoined,
            OperationPlan::FailbackStale,
        ] {
            let steps = plan.steps();
            let db = if plan == OperationPlan::Failover {
                StepName::Failover
            } else {
                StepName::Switchover
            };
            assert!(steps.contains(&db));
            // Neither depends on the other: they run in the same pass.
            assert!(!dependencies(StepName::ScaleUpTarget).contains(&db));
            assert!(!dependencies(db).contains(&StepName::ScaleUpTarget));
        }
    }
}
