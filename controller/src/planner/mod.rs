//! The planner: a pure function of (spec, observed world, previous status) to (next status,
//! actions, journal events, requeue). No IO, no clock: `now` is an input. Everything the
//! controller decides is decided here, so most of the tests live here too.

pub mod action;
pub mod after_failover;
pub mod auto_failover;
pub mod deadlines;
pub mod explain;
pub mod objectives;
pub mod served;
pub mod status;
mod steady;
pub mod steps;

use std::time::Duration;

use drctl_schema::{
    condition_type as ct, AutoFailoverDecision, ConditionStatus, FailoverGroupSpec,
    FailoverGroupStatus, ObjectivesJudgement, Operation, OperationState, OperationType, Phase,
    StepName, StepState, Timestamp,
};

pub use action::{Action, PlannedAction};
pub use explain::explain_spec_change;
pub use steps::{OperationPlan, StepEval};

use crate::observed::{Membership, ObservedWorld, Seen};
use deadlines::Escalation;
use status::{is_true, set_condition, summarize};
use steps::{evaluate, new_operation, note, ready_to_run, StepContext};

/// The journal reason of an operation that missed one of `spec.objectives`.
pub const OBJECTIVE_MISSED: &str = "ObjectiveMissed";

/// How often to look again. Defaults follow docs/design-contract.md §3: seconds while an operation runs, a
/// long resync when converged (a spec change wakes the controller at once anyway).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlannerConfig {
    pub operation_poll: Duration,
    pub approval_poll: Duration,
    pub blocked_poll: Duration,
    pub degraded_poll: Duration,
    pub converged_resync: Duration,
    /// After issuing a destructive call, how long to trust that its effect is on the way
    /// before concluding it never happened and issuing it again.
    pub destructive_grace: Duration,
    /// The same for idempotent calls.
    pub idempotent_grace: Duration,
}

impl Default for PlannerConfig {
    fn default() -> Self {
        PlannerConfig {
            operation_poll: Duration::from_secs(2),
            approval_poll: Duration::from_secs(5),
            blocked_poll: Duration::from_secs(30),
            degraded_poll: Duration::from_secs(15),
            converged_resync: Duration::from_secs(30),
            destructive_grace: Duration::from_secs(30),
            idempotent_grace: Duration::from_secs(5),
        }
    }
}

pub struct PlanInput<'a> {
    pub name: &'a str,
    pub spec: &'a FailoverGroupSpec,
    pub generation: u64,
    pub status: &'a FailoverGroupStatus,
    pub world: &'a ObservedWorld,
    /// Who approved the current operation's AwaitApproval step, if anyone.
    pub approved_by: Option<&'a str>,
    /// The automatic-failover decision whose spec edit this is (checked against the store:
    /// its allowance of data loss applies to that version of the spec only).
    pub policy_allowance: Option<&'a AutoFailoverDecision>,
    pub now: Timestamp,
    pub config: PlannerConfig,
}

/// A journal entry the planner wants written.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedEvent {
    pub reason: String,
    pub message: String,
    pub step: Option<StepName>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The status to write (complete, not a patch).
    pub status: FailoverGroupStatus,
    pub actions: Vec<PlannedAction>,
    pub events: Vec<PlannedEvent>,
    pub requeue: Duration,
    /// One line for logs and `drctl plan`.
    pub summary: String,
    /// The automatic-failover policy decided to fail over: the controller records it as an
    /// edit of the spec (the planner cannot write it).
    pub decision: Option<PolicyFailover>,
}

/// What the policy decided, for the spec edit and its journal event.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyFailover {
    pub from: String,
    pub to: String,
    pub lag_seconds: f64,
    pub max_data_loss_seconds: u32,
    pub evidence: Vec<String>,
}

impl Plan {
    pub fn is_converged(&self) -> bool {
        self.actions.is_empty() && self.status.phase == Phase::Converged
    }
}

/// Decide what to do now.
pub fn plan(input: &PlanInput<'_>) -> Plan {
    let mut b = Builder::new(input);
    let world_writer = input.world.writer_region().map(str::to_string);

    // 1. A running operation goes on, or is superseded: by a spec change that undoes it, or
    //    by a source that failed under a switchover AWS keeps refusing, in both cases only
    //    while nothing irreversible may have happened.
    let mut operation = input.status.operation.clone();
    if let Some(op) = &operation {
        match give_way(input, op) {
            GiveWay::Supersede(reason) => {
                let mut done = op.clone();
                done.state = OperationState::Superseded;
                done.finished_at = Some(input.now);
                b.event(
                    "OperationSuperseded",
                    format!(
                        "operation {} ({} {} -> {}) superseded: {reason}",
                        op.id,
                        op.type_.as_str(),
                        op.from,
                        op.to,
                    ),
                    None,
                );
                b.status.last_operation = Some(done);
                b.status.operation = None;
                operation = None;
            }
            GiveWay::FinishFirst => b.event(
                "SpecChangedDuringOperation",
                format!(
                    "spec.writer is now {}, but operation {} may already have promoted {}: finishing it first, then re-planning",
                    input.spec.writer, op.id, op.to
                ),
                None,
            ),
            GiveWay::GoOn => {}
        }
    }

    // 2. No operation: is one needed?
    if operation.is_none() {
        match &world_writer {
            Some(writer) if *writer != input.spec.writer => {
                if is_drift(input, writer) {
                    b.drift(writer);
                } else {
                    operation = b.start_operation(writer);
                }
            }
            Some(_) => operation = b.start_app_tier_failover(),
            None => b.writer_unknown(),
        }
    }

    // 2b. The automatic-failover policy watches a settled writer.
    let settled = match (&operation, &world_writer) {
        (None, Some(w)) if *w == input.spec.writer => Some(w.clone()),
        _ => None,
    };
    b.auto_failover(settled.as_deref());
    // 2c. After a failover: preserve the old primary's snapshot, report readiness to fail back.
    b.after_failover(settled.as_deref(), operation.as_ref());

    // 2d. healthCheck groups: Route 53 may start serving the new region after the
    //     operation ended; its RTO is measured then.
    if operation.is_none() {
        b.served_after_operation();
    }

    // 3. Advance the operation, or converge the steady state.
    //    The steady state is only enforced where the writer is where the spec wants it: while
    //    blocked or drifting, compute and DNS stay as they are.
    match operation {
        Some(op) => b.advance(op),
        None if world_writer.as_deref() == Some(input.spec.writer.as_str()) => b.steady_state(),
        None => {}
    }
    b.finish()
}

/// What the steps of one pass came to, for the phase.
#[derive(Default)]
struct Progress {
    waiting: Vec<String>,
    blocked: Option<String>,
    awaiting: Option<String>,
    /// Steps past their deadline, with the escalation their deadline calls for.
    overdue: Vec<(Escalation, String)>,
}

/// How long no replication-lag datapoint has been seen, kept in the operation's notes so
/// that the bounded wait for one survives restarts (None: this pass has one).
fn track_lag_unknown(
    op: &mut Operation,
    world: &ObservedWorld,
    now: Timestamp,
) -> Option<Duration> {
    if world.lag_seconds.is_some() {
        op.notes.remove(note::LAG_UNKNOWN_SINCE);
        return None;
    }
    let since = op
        .notes
        .entry(note::LAG_UNKNOWN_SINCE.to_string())
        .or_insert_with(|| now.millis().to_string())
        .parse::<i64>()
        .unwrap_or(now.millis());
    Some(deadlines::elapsed_between(since, now.millis()))
}

/// What a running operation does this pass.
enum GiveWay {
    /// Superseded, for this reason.
    Supersede(String),
    /// The spec moved away, but a destructive step may already have taken effect: it
    /// finishes first, then the next operation is planned.
    FinishFirst,
    GoOn,
}

fn give_way(input: &PlanInput<'_>, op: &Operation) -> GiveWay {
    if op.state != OperationState::Running {
        return GiveWay::GoOn;
    }
    let grace = input.config.destructive_grace;
    let undecided = !may_have_taken_effect(op, input.world, input.now, grace);
    if steps::app_tier::spec_moved_away(op, input.spec) {
        return if undecided {
            GiveWay::Supersede(format!(
                "spec.writer is now {}, spec.dnsOwner {}",
                input.spec.writer,
                input.spec.dns_owner()
            ))
        } else {
            GiveWay::FinishFirst
        };
    }
    // A switchover needs a healthy source: AWS refuses it once the source fails, and
    // re-sending it forever would never fail over (campaign seed 5939). Re-planned, the move
    // becomes a Failover where data loss is allowed, or Blocked with the command.
    let refused_switchover = matches!(
        op.type_,
        OperationType::Switchover | OperationType::Failback
    ) && issued_at(op, StepName::Switchover).is_some()
        && undecided
        && !source_healthy(input.spec, input.world, &op.from);
    if refused_switchover {
        GiveWay::Supersede(format!(
            "{} became impaired and the switchover took no effect; re-planning",
            op.from
        ))
    } else {
        GiveWay::GoOn
    }
}

/// Could a destructive step of `op` have taken effect, or be about to? A step that only
/// waited sent nothing. A promotion the world shows no trace of once its grace is over (no
/// global operation in flight, the writer still at the source, the global cluster read) took
/// none: the same rule under which the planner would send it again (`apply_grace`).
fn may_have_taken_effect(
    op: &Operation,
    world: &ObservedWorld,
    now: Timestamp,
    grace: Duration,
) -> bool {
    let mut destructive = op
        .steps
        .iter()
        .filter(|s| s.name.is_destructive() && s.state != StepState::Pending);
    destructive.any(|s| {
        if s.state == StepState::Succeeded {
            return true;
        }
        let Some(at) = issued_at(op, s.name) else {
            return false;
        };
        match s.name {
            StepName::Failover | StepName::Switchover => {
                now.millis().saturating_sub(at) < grace.as_millis() as i64
                    || world.failover_in_flight().is_some()
                    || world.writer_region() != Some(op.from.as_str())
                    || !matches!(world.global, Seen::Known(Some(_)))
            }
            // DeleteDBCluster and PromoteReadReplica: no read proves them not taken.
            _ => true,
        }
    })
}

/// When `step` last sent its calls (Builder::issue), if it ever did.
fn issued_at(op: &Operation, step: StepName) -> Option<i64> {
    op.notes
        .get(&note::issued_at(step))
        .and_then(|v| v.parse::<i64>().ok())
}

/// Can the writer in `from` take part in a planned switch (a switchover needs it answering,
/// writer and available)?
fn source_healthy(
    spec: &drctl_schema::FailoverGroupSpec,
    world: &ObservedWorld,
    from: &str,
) -> bool {
    if steps::rds_replica::is_rds(spec) {
        return steps::rds_replica::source_healthy(world, from);
    }
    world.region(from).is_some_and(|r| {
        r.reachable.answered()
            && r.membership == Membership::Writer
            && r.cluster.as_ref().is_some_and(|c| c.status.is_available())
    })
}

/// Writer drift: the writer moved although the spec did not. Reported, never reverted.
fn is_drift(input: &PlanInput<'_>, world_writer: &str) -> bool {
    let spec_unchanged = input.status.observed_generation == input.generation;
    let was_converged_on_spec = input
        .status
        .observed
        .as_ref()
        .and_then(|o| o.writer.as_deref())
        == Some(input.spec.writer.as_str());
    let already_drifting = is_true(&input.status.conditions, ct::WRITER_DRIFT);
    spec_unchanged
        && (was_converged_on_spec || already_drifting)
        && world_writer != input.spec.writer
}

struct Builder<'a> {
    input: &'a PlanInput<'a>,
    status: FailoverGroupStatus,
    actions: Vec<PlannedAction>,
    events: Vec<PlannedEvent>,
    phase: Phase,
    message: String,
    requeue: Duration,
    decision: Option<PolicyFailover>,
}

impl<'a> Builder<'a> {
    fn new(input: &'a PlanInput<'a>) -> Self {
        let mut status = input.status.clone();
        status.observed = Some(summarize(input.spec, input.world, input.status));
        status.last_reconciled_at = Some(input.now);
        Builder {
            input,
            status,
            actions: Vec::new(),
            events: Vec::new(),
            phase: Phase::Converged,
            message: String::new(),
            requeue: input.config.converged_resync,
            decision: None,
        }
    }

    fn event(&mut self, reason: &str, message: String, step: Option<StepName>) {
        self.events.push(PlannedEvent {
            reason: reason.to_string(),
            message,
            step,
        });
    }

    fn set_phase(&mut self, phase: Phase, message: String, requeue: Duration) {
        // The most severe phase wins within one plan.
        let rank = |p: Phase| match p {
            Phase::Converged => 0,
            Phase::Degraded => 1,
            Phase::Progressing => 2,
            Phase::WaitingForApproval => 3,
            Phase::Blocked => 4,
            Phase::Suspended => 5,
        };
        if rank(phase) >= rank(self.phase) {
            self.phase = phase;
            self.message = message;
        }
        self.requeue = self.requeue.min(requeue);
    }

    fn writer_unknown(&mut self) {
        if steps::rds_replica::is_rds(self.input.spec) {
            let seen: Vec<String> = self
                .input
                .world
                .regions
                .values()
                .map(|r| format!("{} {}", r.region, r.membership.as_str()))
                .collect();
            let detail = format!(
                "no primary DB instance among spec.database.instances ({})",
                seen.join(", ")
            );
            let poll = self.input.config.degraded_poll;
            self.set_phase(Phase::Degraded, detail, poll);
            return;
        }
        let detail = match &self.input.world.global {
            Seen::Unreachable(e) => format!("cannot read the global cluster: {e}"),
            Seen::Known(None) => format!(
                "global cluster {} not found",
                self.input.spec.database.global_cluster_identifier
            ),
            Seen::Known(Some(_)) => "the global cluster has no writer".to_string(),
        };
        let poll = self.input.config.degraded_poll;
        self.set_phase(Phase::Degraded, detail, poll);
    }

    fn drift(&mut self, world_writer: &str) {
        let message = format!(
            "the writer is {world_writer} but spec.writer is {}: someone failed over outside drctl. Not reverting; \
             set spec.writer to {world_writer} to accept it (`drctl failover {} --to {world_writer}`) or back to {} to return",
            self.input.spec.writer, self.input.name, self.input.spec.writer
        );
        let was = is_true(&self.input.status.conditions, ct::WRITER_DRIFT);
        if !was {
            self.event("WriterDrift", message.clone(), None);
        }
        set_condition(
            &mut self.status.conditions,
            ct::WRITER_DRIFT,
            ConditionStatus::True,
            "WriterChangedOutsideDrctl",
            &message,
            self.input.now,
        );
        let poll = self.input.config.degraded_poll;
        self.set_phase(Phase::Degraded, message, poll);
    }

    /// Choose and create the operation that moves the writer from `from` to spec.writer.
    fn start_operation(&mut self, from: &str) -> Option<Operation> {
        let input = self.input;
        let to = input.spec.writer.as_str();
        let world = input.world;
        let rds = steps::rds_replica::is_rds(input.spec);
        let source_healthy = source_healthy(input.spec, world, from);
        let target = world
            .region(to)
            .map(|r| r.membership)
            .unwrap_or(Membership::Unknown);
        let last_failover_from_target = input
            .status
            .last_operation
            .as_ref()
            .map(|op| op.type_ == OperationType::Failover && op.from == to)
            .unwrap_or(false);
        let chosen = match target {
            Membership::Secondary { .. } if source_healthy => {
                if last_failover_from_target {
                    OperationPlan::FailbackRejoined
                } else {
                    OperationPlan::Switchover
                }
            }
            Membership::Secondary { .. } => {
                if input.spec.allow_data_loss || self.policy_allows(to) {
                    OperationPlan::Failover
                } else {
                    self.block_failover(from, to);
                    return None;
                }
            }
            Membership::Detached | Membership::Missing if source_healthy => {
                OperationPlan::FailbackStale
            }
            Membership::Detached | Membership::Missing => {
                let message = format!(
                    "cannot move the writer to {to}: its cluster is {} and the current writer {from} is not healthy",
                    target.as_str()
                );
                let poll = input.config.blocked_poll;
                self.set_phase(Phase::Blocked, message, poll);
                return None;
            }
            Membership::Writer | Membership::Unknown => {
                let message =
                    format!("{to} is unreachable: waiting for it before moving the writer");
                let poll = input.config.degraded_poll;
                self.set_phase(Phase::Degraded, message, poll);
                return None;
            }
        };
        let chosen = if rds {
            steps::rds_replica::plan_for(chosen)
        } else {
            chosen
        };
        let id = format!("op-{}-g{}", input.now.millis(), input.generation);
        let mut op = new_operation(chosen, id, from, to, input.generation, input.now);
        if chosen == OperationPlan::FailbackRejoined {
            // The copy the failover's aftercare made (or started): never a second one.
            if let Some(id) = after_failover::preserved_for_failback(input.status, to) {
                op.notes.insert(note::PRESERVED_SNAPSHOT.to_string(), id);
            }
        }
        if chosen.operation_type() == OperationType::Failover && !input.spec.allow_data_loss {
            if let Some(d) = input.policy_allowance {
                op.notes.insert(
                    note::DATA_LOSS_ALLOWED_BY.to_string(),
                    format!(
                        "policy: last lag before the outage {:.1} s within spec.autoFailover.maxDataLossSeconds {} (decided at {})",
                        d.lag_seconds, d.max_data_loss_seconds, d.at
                    ),
                );
            }
        }
        self.event(
            "OperationStarted",
            format!(
                "{} {from} -> {to} ({}) for generation {}",
                op.type_.as_str(),
                op.id,
                input.generation
            ),
            None,
        );
        Some(op)
    }

    /// The writer is settled where the spec wants it; does traffic need to move to
    /// spec.dnsOwner (an app-tier failover, docs/design-contract.md §7.2)?
    fn start_app_tier_failover(&mut self) -> Option<Operation> {
        let input = self.input;
        let from = steps::app_tier::needed(input.spec, input.world)?;
        let to = input.spec.dns_owner();
        let id = format!("op-{}-g{}", input.now.millis(), input.generation);
        let mut op = new_operation(
            OperationPlan::AppTier,
            id,
            &from,
            to,
            input.generation,
            input.now,
        );
        op.notes.insert(
            steps::app_tier::WRITER_NOTE.to_string(),
            input.spec.writer.clone(),
        );
        self.event(
            "OperationStarted",
            format!(
                "{} {from} -> {to} ({}) for generation {}: traffic and compute move, the writer stays in {}",
                op.type_.as_str(),
                op.id,
                input.generation,
                input.spec.writer
            ),
            None,
        );
        Some(op)
    }

    /// Does the automatic-failover decision that wrote this spec allow losing data towards `to`?
    fn policy_allows(&self, to: &str) -> bool {
        self.input.policy_allowance.is_some_and(|d| d.to == to)
    }

    fn block_failover(&mut self, from: &str, to: &str) {
        let input = self.input;
        let lag = input.world.lag_seconds.or_else(|| {
            input
                .status
                .observed
                .as_ref()
                .and_then(|o| o.replication_lag_seconds)
        });
        let lag_text = match lag {
            Some(lag) => format!("the writes of the last {lag:.1} s before the outage (the last measured replication lag)"),
            None => "the writes not yet replicated (lag unknown)".to_string(),
        };
        let mut message = format!(
            "{from}, the writer, is impaired, so a switchover (RPO 0) is impossible. A failover to {to} would lose {lag_text}. \
             To accept that loss: `drctl failover {} --to {to} --allow-data-loss` (sets spec.allowDataLoss: true)",
            input.name
        );
        if let Some(note) =
            crate::dependencies::operation_note(input.spec, input.world.dependencies.as_ref())
        {
            message.push_str(&format!(". Also: {note}"));
        }
        let already = input.status.phase == Phase::Blocked;
        if !already {
            self.event("Blocked", message.clone(), None);
        }
        let poll = input.config.blocked_poll;
        self.set_phase(Phase::Blocked, message, poll);
    }

    /// Evaluate every runnable step of `op`, collecting actions.
    fn advance(&mut self, mut op: Operation) {
        let input = self.input;
        let lag_unknown_for = track_lag_unknown(&mut op, input.world, input.now);
        let last_known_lag = input
            .status
            .observed
            .as_ref()
            .and_then(|o| o.replication_lag_seconds)
            .or(input.world.lag_seconds);
        let mut progress = Progress::default();
        // Steps are evaluated in order; a step finishing can make later ones runnable in the
        // same pass (e.g. Preflight done -> ScaleUpTarget and Switchover both act).
        for index in 0..op.steps.len() {
            let record = op.steps[index].clone();
            if steps::finished(&record) || !ready_to_run(&op, record.name) {
                continue;
            }
            let eval = {
                let ctx = StepContext {
                    name: input.name,
                    spec: input.spec,
                    world: input.world,
                    op: &op,
                    approved_by: input.approved_by,
                    last_known_lag,
                    lag_unknown_for,
                    now: input.now,
                };
                evaluate(record.name, &ctx)
            };
            let eval = self.apply_grace(&op, record.name, eval);
            self.apply_eval(&mut op, record.name, eval, last_known_lag, &mut progress);
        }

        if let Some(at) = served::newly_served(input.spec, input.world, &op, input.now) {
            served::note_served(&mut op, at);
            if let Some(message) = served::traffic_served_message(&op) {
                self.event("TrafficServed", message, None);
            }
        }
        if op.steps.iter().all(|s| s.state.is_done()) {
            self.complete(op);
            return;
        }
        self.settle_phase(&op, progress);
        if input.spec.suspended {
            let message =
                "spec.suspended is true: observing only, the operation is paused".to_string();
            let resync = input.config.degraded_poll;
            self.set_phase(Phase::Suspended, message, resync);
        }
        self.status.operation = Some(op);
    }

    /// Record what one step's evaluation means for the operation.
    fn apply_eval(
        &mut self,
        op: &mut Operation,
        step: StepName,
        eval: StepEval,
        last_known_lag: Option<f64>,
        progress: &mut Progress,
    ) {
        let now = self.input.now;
        match eval {
            StepEval::Done(detail) => {
                if step == StepName::RecreateSecondary {
                    // Its Done means the world showed the cluster a member: from now on,
                    // a cluster of this incarnation that is not a member was removed.
                    op.notes.insert(
                        note::SECONDARY_JOINED_AT.to_string(),
                        now.millis().to_string(),
                    );
                }
                self.finish_step(op, step, StepState::Succeeded, detail)
            }
            StepEval::DoneWithoutLag(detail) => {
                op.notes.insert(
                    note::LAG_GATE_BYPASSED.to_string(),
                    format!("{step}: {detail}"),
                );
                self.event(
                    "ReplicationLagUnknown",
                    format!("{step}: {detail}"),
                    Some(step),
                );
                self.finish_step(op, step, StepState::Succeeded, detail)
            }
            StepEval::Skip(detail) => self.finish_step(op, step, StepState::Skipped, detail),
            StepEval::Act(actions, detail) => {
                if self.input.spec.suspended {
                    progress
                        .waiting
                        .push(format!("{step}: suspended before: {detail}"));
                    return;
                }
                self.start_step(op, step, &detail);
                let cut = step == StepName::Failover
                    || (step == StepName::PromoteReplica && op.type_ == OperationType::Failover);
                if cut && op.rpo_seconds.is_none() {
                    // The data-loss window is the replication lag at the cut: the last lag
                    // we measured before the writer became unreachable.
                    op.rpo_seconds = Some(last_known_lag.unwrap_or(0.0));
                }
                self.issue(op, step, actions);
                self.check_deadline(op, step, &detail, progress);
            }
            StepEval::Wait(detail) => {
                self.start_step(op, step, &detail);
                self.check_deadline(op, step, &detail, progress);
            }
            StepEval::AwaitingApproval(detail) => {
                self.start_step(op, step, &detail);
                progress.awaiting = Some(detail);
            }
            StepEval::Blocked(detail) => {
                self.start_step(op, step, &detail);
                progress.blocked.get_or_insert(format!("{step}: {detail}"));
            }
            StepEval::Reopen(dependency, detail) => {
                if op.step(dependency).is_none() {
                    self.start_step(op, step, &detail);
                    self.check_deadline(op, step, &detail, progress);
                    return;
                }
                self.reopen(op, step, dependency, &detail);
                progress
                    .waiting
                    .push(format!("{step}: {detail}; {dependency} runs again"));
            }
        }
    }

    /// Plan `actions` for `step`, noting when each call was issued (the re-issue grace and
    /// the proof of what this operation created both read these notes).
    fn issue(&mut self, op: &mut Operation, step: StepName, actions: Vec<Action>) {
        let now = self.input.now.millis().to_string();
        op.notes.insert(note::issued_at(step), now.clone());
        for action in actions {
            op.notes
                .insert(note::action_issued_at(step, &action), now.clone());
            self.actions.push(PlannedAction {
                step: Some(step),
                action,
            });
        }
    }

    /// A Running step past its deadline (deadlines.rs) escalates the group; the message
    /// says what it waited for and how long.
    fn check_deadline(
        &mut self,
        op: &mut Operation,
        step: StepName,
        detail: &str,
        progress: &mut Progress,
    ) {
        let now = self.input.now;
        let started = op.step(step).and_then(|s| s.started_at);
        let (Some(deadline), Some(started)) = (deadlines::deadline(step), started) else {
            progress.waiting.push(format!("{step}: {detail}"));
            return;
        };
        let waited = deadlines::elapsed_between(started.millis(), now.millis());
        if waited <= deadline.after {
            progress.waiting.push(format!("{step}: {detail}"));
            return;
        }
        let consequence = match deadline.escalation {
            Escalation::Degraded => "still trying",
            Escalation::Blocked => "needs a person",
        };
        let message = format!(
            "{step} has waited {} (deadline {}; {consequence}): {detail}",
            deadlines::format_elapsed(waited),
            deadlines::format_elapsed(deadline.after)
        );
        if let Some(record) = op.step_mut(step) {
            record.detail = Some(message.clone());
        }
        let key = note::overdue_at(step);
        if let std::collections::btree_map::Entry::Vacant(first) = op.notes.entry(key) {
            first.insert(now.millis().to_string());
            self.event("StepOverdue", message.clone(), Some(step));
        }
        progress.overdue.push((deadline.escalation, message));
    }

    /// `step` found the postcondition of `dependency` gone: both go back to Pending, and
    /// the dependency runs again from the next pass.
    fn reopen(&mut self, op: &mut Operation, step: StepName, dependency: StepName, detail: &str) {
        for name in [dependency, step] {
            if let Some(record) = op.step_mut(name) {
                record.state = StepState::Pending;
                record.started_at = None;
                record.finished_at = None;
                record.detail = Some(format!("reopened by {step}: {detail}"));
            }
            op.notes.remove(&note::overdue_at(name));
        }
        if dependency == StepName::MoveDns {
            // The change id belongs to the change whose effect is gone.
            op.notes.remove(note::DNS_CHANGE_ID);
        }
        self.event(
            "StepReopened",
            format!("{dependency}: {detail}; it runs again"),
            Some(dependency),
        );
    }

    /// The phase of a running operation: Blocked (a step needs a person, or overran a
    /// deadline that calls for one) over WaitingForApproval over Degraded (a step overran
    /// its deadline, still trying) over Progressing.
    fn settle_phase(&mut self, op: &Operation, progress: Progress) {
        let input = self.input;
        let poll = input.config.operation_poll;
        let overdue = |escalation: Escalation| {
            progress
                .overdue
                .iter()
                .filter(|(e, _)| *e == escalation)
                .map(|(_, m)| m.clone())
                .collect::<Vec<_>>()
        };
        let (overdue_blocked, overdue_degraded) =
            (overdue(Escalation::Blocked), overdue(Escalation::Degraded));
        let heading = format!("{} {} -> {}", op.type_.as_str(), op.from, op.to);
        if let Some(message) = progress.blocked {
            if input.status.phase != Phase::Blocked {
                self.event("Blocked", message.clone(), None);
            }
            let blocked_poll = input.config.blocked_poll;
            self.set_phase(Phase::Blocked, message, blocked_poll.min(poll * 5));
        } else if !overdue_blocked.is_empty() {
            let message = format!("{heading}: {}", overdue_blocked.join("; "));
            let blocked_poll = input.config.blocked_poll;
            self.set_phase(Phase::Blocked, message, blocked_poll.min(poll * 5));
        } else if let Some(message) = progress.awaiting {
            set_condition(
                &mut self.status.conditions,
                ct::APPROVAL_REQUIRED,
                ConditionStatus::True,
                "AwaitingApproval",
                &message,
                input.now,
            );
            let approval_poll = input.config.approval_poll;
            self.set_phase(Phase::WaitingForApproval, message, approval_poll);
        } else if !overdue_degraded.is_empty() {
            let mut parts = overdue_degraded;
            parts.extend(progress.waiting);
            let message = format!("{heading}: {}", parts.join("; "));
            // Still trying: polled as often as any running step, so that the step finishes
            // as soon as AWS does (a Route 53 control plane that comes back, say).
            self.set_phase(Phase::Degraded, message, poll);
        } else {
            let message = format!("{heading}: {}", progress.waiting.join("; "));
            self.set_phase(Phase::Progressing, message, poll);
        }
    }

    /// Every step done: the operation succeeded.
    fn complete(&mut self, mut op: Operation) {
        let now = self.input.now;
        op.state = OperationState::Succeeded;
        op.finished_at = Some(now);
        op.rto_seconds = rto_seconds(&op);
        self.event(
            "OperationSucceeded",
            format!(
                "{} {} -> {} finished in {:.0} s{}",
                op.type_.as_str(),
                op.from,
                op.to,
                now.seconds_since(op.started_at),
                op.rpo_seconds
                    .map(|r| format!(", RPO {r:.1} s"))
                    .unwrap_or_default()
            ),
            None,
        );
        self.judge_objectives(&op);
        let done = format!("{} {} -> {}", op.type_.as_str(), op.from, op.to);
        self.status.last_operation = Some(op);
        self.status.operation = None;
        // The steady state is checked in the same pass, where the writer is the spec's (an
        // rdsReplica stale failback ends with the rebuild, the switch home still to come:
        // compute and DNS stay where the writer is until it has moved).
        if self.input.world.writer_region() == Some(self.input.spec.writer.as_str()) {
            self.steady_state();
        } else {
            let poll = self.input.config.operation_poll;
            let message = format!(
                "{done} done; the writer moves to {} next",
                self.input.spec.writer
            );
            self.set_phase(Phase::Progressing, message, poll);
        }
    }

    /// The last operation succeeded without an RTO, and this pass sees Route 53 answer with
    /// its target (`served`): the RTO is measured now, and judged.
    fn served_after_operation(&mut self) {
        let input = self.input;
        let Some(op) = self.status.last_operation.as_ref() else {
            return;
        };
        if op.state != OperationState::Succeeded || op.rto_seconds.is_some() {
            return;
        }
        let Some(at) = served::newly_served(input.spec, input.world, op, input.now) else {
            return;
        };
        let mut op = op.clone();
        served::note_served(&mut op, at);
        op.rto_seconds = rto_seconds(&op);
        if let Some(message) = served::traffic_served_message(&op) {
            self.event("TrafficServed", message, None);
        }
        self.judge_objectives(&op);
        self.status.last_operation = Some(op);
    }

    /// The finished operation against `spec.objectives`: the judgement goes into the status,
    /// and a miss raises an `ObjectiveMissed` event (counted by the reconcile pass in
    /// `drctl_objective_misses_total`).
    fn judge_objectives(&mut self, op: &Operation) {
        let Some(objectives) = self.input.spec.objectives else {
            self.status.objectives = None;
            return;
        };
        let rpo = objectives::judged_rpo(op);
        let judgement = ObjectivesJudgement::judge(&op.id, objectives, op.rto_seconds, rpo);
        for miss in &judgement.missed {
            self.event(
                OBJECTIVE_MISSED,
                format!(
                    "{} {} -> {} missed its objective: {miss}",
                    op.type_.as_str(),
                    op.from,
                    op.to
                ),
                None,
            );
        }
        self.status.objectives = Some(judgement);
    }

    /// Do not re-issue a call whose effect may still be on its way. The grace is per call
    /// (`Action::subject`), not per step: a step whose first call took effect goes on to
    /// its next call at once (DeleteDBCluster right after its instances are gone, not a
    /// destructive grace later), while the same call is not sent twice within its grace.
    fn apply_grace(&self, op: &Operation, step: StepName, eval: StepEval) -> StepEval {
        let StepEval::Act(actions, detail) = eval else {
            return eval;
        };
        let parse = |key: &str| op.notes.get(key).and_then(|v| v.parse::<i64>().ok());
        let now = self.input.now.millis();
        let (mut ready, mut held) = (Vec::new(), Vec::new());
        for action in actions {
            let issued = parse(&note::action_issued_at(step, &action));
            let grace = if action.is_destructive() {
                self.input.config.destructive_grace
            } else {
                self.input.config.idempotent_grace
            };
            match issued {
                Some(at) if now.saturating_sub(at) < grace.as_millis() as i64 => {
                    held.push((action, now.saturating_sub(at)))
                }
                _ => ready.push(action),
            }
        }
        if !ready.is_empty() {
            return StepEval::Act(ready, detail);
        }
        let newest = held.iter().map(|(_, ago)| *ago).min().unwrap_or(0);
        StepEval::Wait(format!(
            "{detail} (issued {} s ago; waiting for its effect)",
            newest / 1000
        ))
    }

    fn start_step(&mut self, op: &mut Operation, step: StepName, detail: &str) {
        let now = self.input.now;
        let mut started = false;
        if let Some(record) = op.step_mut(step) {
            if record.state == StepState::Pending {
                record.state = StepState::Running;
                record.started_at = Some(now);
                started = true;
            }
            record.detail = Some(detail.to_string());
        }
        if started {
            self.event("StepStarted", format!("{step}: {detail}"), Some(step));
        }
    }

    fn finish_step(
        &mut self,
        op: &mut Operation,
        step: StepName,
        state: StepState,
        detail: String,
    ) {
        let now = self.input.now;
        if let Some(record) = op.step_mut(step) {
            if record.started_at.is_none() {
                record.started_at = Some(now);
            }
            record.state = state;
            record.finished_at = Some(now);
            record.detail = Some(detail.clone());
        }
        let reason = if state == StepState::Skipped {
            "StepSkipped"
        } else {
            "StepSucceeded"
        };
        self.event(reason, format!("{step}: {detail}"), Some(step));
    }

    /// No operation: keep compute, DNS and the database where the spec says.
    /// The steady state where the writer is the spec's: compute sized to the serving region,
    /// DNS on the owner, the standby reported (`steady.rs`); acted on unless suspended.
    fn steady_state(&mut self) {
        let input = self.input;
        let suspended = input.spec.suspended;
        let owner = input.spec.dns_owner().to_string();
        let mut found = steady::compute(input.spec, input.world, &owner);
        found.extend(steady::dns(input.spec, input.world, &owner));
        found.extend(steady::standby(input.spec, input.world));
        let steady::Corrections {
            actions,
            mut degraded,
        } = found;
        if !actions.is_empty() && !suspended {
            let message = format!(
                "converging: {}",
                actions
                    .iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join("; ")
            );
            for action in actions {
                self.actions.push(PlannedAction { step: None, action });
            }
            let poll = input.config.operation_poll;
            self.set_phase(Phase::Progressing, message, poll);
        } else if !actions.is_empty() {
            degraded.push(format!(
                "{} correction(s) pending while suspended",
                actions.len()
            ));
        }
        if !degraded.is_empty() {
            let poll = input.config.degraded_poll;
            self.set_phase(Phase::Degraded, degraded.join("; "), poll);
        }
        if suspended {
            let poll = input.config.degraded_poll;
            self.set_phase(
                Phase::Suspended,
                "spec.suspended is true: observing only".to_string(),
                poll,
            );
        }
    }

    fn finish(mut self) -> Plan {
        let input = self.input;
        let now = input.now;
        if self.phase == Phase::Converged {
            self.message = format!(
                "writer {}, DNS {}, compute as specified",
                input.spec.writer,
                input.spec.dns_owner()
            );
        }
        if self.phase != Phase::WaitingForApproval {
            set_condition(
                &mut self.status.conditions,
                ct::APPROVAL_REQUIRED,
                ConditionStatus::False,
                "NoApprovalPending",
                "",
                now,
            );
        }
        let drifting = self.events.iter().any(|e| e.reason == "WriterDrift")
            || (self.phase == Phase::Degraded
                && is_true(&self.status.conditions, ct::WRITER_DRIFT)
                && input.world.writer_region() != Some(input.spec.writer.as_str()));
        if !drifting {
            set_condition(
                &mut self.status.conditions,
                ct::WRITER_DRIFT,
                ConditionStatus::False,
                "WriterAsSpecified",
                "",
                now,
            );
        }
        status::set_readiness(&mut self.status, input.spec, input.world, now);
        crate::dependencies::set_condition(
            &mut self.status,
            input.spec,
            input.world.dependencies.as_ref(),
            now,
        );
        crate::continuous::set_conditions(&mut self.status, input.spec, input.world, now);
        let ready = is_true(&self.status.conditions, ct::READY);
        // Degraded-but-serving (e.g. the standby region is down) keeps the Ready condition.
        status::set_lag_gate_warning(&mut self.status, now);
        // A running operation is never Ready, not even when an overdue step made it Degraded:
        // `--until-converged` and `failover --wait` must not stop half way.
        let operation_running = self.status.operation.is_some();
        let (ready_status, ready_reason) = match (self.phase, ready) {
            (Phase::Converged, _) => (ConditionStatus::True, "Converged"),
            (Phase::Degraded, true) if !operation_running => {
                (ConditionStatus::True, "ServingDegraded")
            }
            (phase, _) => (ConditionStatus::False, phase.as_str()),
        };
        let ready_message = self.message.clone();
        set_condition(
            &mut self.status.conditions,
            ct::READY,
            ready_status,
            ready_reason,
            &ready_message,
            now,
        );
        self.status.phase = self.phase;
        self.status.observed_generation = input.generation;
        Plan {
            status: self.status,
            actions: self.actions,
            events: self.events,
            requeue: self.requeue,
            summary: format!("{}: {}", self.phase.as_str(), self.message),
            decision: self.decision,
        }
    }
}

/// RTO of an operation: from its start until the new region served traffic (the end of
/// Verify, or of WaitDnsInSync without a verify probe).
/// The operation's RTO: its steps' serving moment, else (healthCheck without Verify) the
/// moment it was first seen served (`served.rs`).
pub fn rto_seconds(op: &Operation) -> Option<f64> {
    let served = served::served_by_steps(op).or_else(|| served::served_at(op))?;
    Some(served.seconds_since(op.started_at))
}

#[cfg(test)]
mod tests;
