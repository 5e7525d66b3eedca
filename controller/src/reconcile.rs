//! One reconcile pass of one group, as a named pipeline in which only `fetch`, `apply` and
//! `record` do IO:
//!
//! fetch (observe the cloud) -> plan (pure) -> record intent (fenced status + journal) ->
//! apply (the actions, concurrently) -> record outcome -> requeue.
//!
//! Each stage is a function of its own (`fetch_and_plan`, `record_intent`, `apply`,
//! `record_outcome`, `outcome`), and a `Pass` value carries what they share: the group, its
//! fence, the lease check and the operation the journal events name.
//!
//! Intent is recorded *before* acting: a controller killed between the two finds the step
//! Running with its issue time on restart, re-reads the world and either sees the effect or,
//! after a grace period, issues the (idempotent or re-read-guarded) call again.

use std::sync::Arc;
use std::time::Duration;

use drctl_cloud::{Cloud, CloudError, ErrorCategory};
use drctl_schema::{
    condition_type as ct, AutoFailoverDecision, ConditionStatus, FailoverGroup,
    FailoverGroupStatus, Phase, StepName,
};
use drctl_state::{Event, Fence, Store, StoreError};

use crate::execute::{execute, ActionOutcome};
use crate::fleet::FleetReads;
use crate::metrics::Metrics;
use crate::observe::{needs, observe, ObserveCache, ObserveRequest};
use crate::planner::steps::note;
use crate::planner::{plan, Plan, PlanInput, PlannedAction, PlannerConfig, PolicyFailover};

/// Is this replica still allowed to act? Checked right before mutating anything.
pub trait LeaseCheck: Send + Sync {
    fn still_leader(&self) -> bool;
}

/// For dry runs and single-replica tests.
pub struct AlwaysLeader;

impl LeaseCheck for AlwaysLeader {
    fn still_leader(&self) -> bool {
        true
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("no longer the leader; stopped before acting")]
    LostLease,
}

impl ReconcileError {
    /// Stable category for metrics and logs.
    pub fn category(&self) -> &'static str {
        match self {
            ReconcileError::Store(e) => e.category(),
            ReconcileError::LostLease => "lease_lost",
        }
    }

    /// Fenced or lease lost: this replica must stop acting altogether.
    pub fn is_fencing(&self) -> bool {
        matches!(
            self,
            ReconcileError::LostLease
                | ReconcileError::Store(StoreError::Fenced { .. })
                | ReconcileError::Store(StoreError::LeaseLost { .. })
        )
    }
}

#[derive(Clone)]
pub struct ReconcileContext {
    /// Where actions go (paced, DNS changes batched per zone).
    pub cloud: Cloud,
    /// Where observations go (shared with the other groups' passes).
    pub reads: Arc<FleetReads>,
    pub store: Arc<dyn Store>,
    /// `controller/<replica>`: the journal's actor.
    pub actor: String,
    pub config: PlannerConfig,
    pub metrics: Arc<Metrics>,
}

#[derive(Debug, Clone)]
pub struct PassOutcome {
    pub requeue: Duration,
    pub phase: Phase,
    pub ready: bool,
    pub actions: usize,
    pub retryable_errors: usize,
    /// An operation is under way (the group is looked at ahead of converged ones).
    pub operation_running: bool,
    pub summary: String,
    /// The status as this pass left it (written to the store when it changed).
    pub status: FailoverGroupStatus,
}

/// Observe and plan without writing or mutating anything (`drctl plan`, `drctl diff`).
pub async fn dry_run(
    cloud: &Cloud,
    store: &dyn Store,
    doc: &FailoverGroup,
) -> Result<Plan, StoreError> {
    Ok(dry_run_observed(cloud, store, doc).await?.0)
}

/// [`dry_run`], with the world it was planned against (what could not be read included).
pub async fn dry_run_observed(
    cloud: &Cloud,
    store: &dyn Store,
    doc: &FailoverGroup,
) -> Result<(Plan, crate::observed::ObservedWorld), StoreError> {
    let status = doc.status.clone().unwrap_or_default();
    let generation = doc.metadata.generation.unwrap_or(0);
    let approved_by = approval_of(store, &doc.metadata.name, &status).await?;
    let allowance = policy_allowance(store, doc, &status).await?;
    let mut cache = ObserveCache::default();
    let mut req = needs(&doc.spec, &status, generation, &cache);
    req.full = true;
    req.fresh_record = true;
    let reads = FleetReads::new(cloud.clone());
    let world = observe(&reads, &doc.spec, &status, &req, &mut cache).await;
    let the_plan = plan(&PlanInput {
        name: &doc.metadata.name,
        spec: &doc.spec,
        generation,
        status: &status,
        world: &world,
        approved_by: approved_by.as_deref(),
        policy_allowance: allowance.as_ref(),
        now: cloud.clock.now(),
        config: PlannerConfig::default(),
    });
    Ok((the_plan, world))
}

async fn approval_of(
    store: &dyn Store,
    name: &str,
    status: &FailoverGroupStatus,
) -> Result<Option<String>, StoreError> {
    let Some(op) = &status.operation else {
        return Ok(None);
    };
    // Only while the approval is still awaited: no store read on every pass of the rest of
    // a failback.
    match op.step(StepName::AwaitApproval) {
        Some(step) if !crate::planner::steps::finished(step) => {
            Ok(store.approval(name, &op.id).await?.map(|a| a.approved_by))
        }
        _ => Ok(None),
    }
}

/// `drctl_objective_misses_total`, once per miss the plan journaled (the planner raises one
/// `ObjectiveMissed` event per missed objective when an operation finishes).
fn count_objective_misses(ctx: &ReconcileContext, name: &str, the_plan: &crate::planner::Plan) {
    let raised = the_plan
        .events
        .iter()
        .any(|e| e.reason == crate::planner::OBJECTIVE_MISSED);
    if !raised {
        return;
    }
    if let Some(judgement) = &the_plan.status.objectives {
        for miss in &judgement.missed {
            ctx.metrics.objective_missed(name, &miss.objective);
        }
    }
}

/// One pass over one group, timed (the pass duration histogram, failed passes included).
pub async fn reconcile_group(
    ctx: &ReconcileContext,
    doc: &FailoverGroup,
    fence: &Fence,
    lease: &dyn LeaseCheck,
    cache: &mut ObserveCache,
) -> Result<PassOutcome, ReconcileError> {
    let started = tokio::time::Instant::now();
    let outcome = pass(ctx, doc, fence, lease, cache).await;
    // Failed passes too: their reads are not "newer than the last pass" for the next one,
    // which would otherwise accept an answer fetched by a pass that then failed.
    cache.mark_pass_end();
    ctx.metrics.reconcile_duration(started.elapsed());
    outcome
}

/// What the stages of one pass share: the group, the fence its writes carry, and the
/// operation its journal events name.
struct Pass<'a> {
    ctx: &'a ReconcileContext,
    doc: &'a FailoverGroup,
    name: &'a str,
    fence: &'a Fence,
    lease: &'a dyn LeaseCheck,
    /// The status as this pass read it.
    previous: FailoverGroupStatus,
    /// The running (or last) operation the plan names: its events carry it.
    op_id: Option<String>,
}

impl Pass<'_> {
    /// One journal event of this pass, under its operation.
    async fn journal(
        &self,
        reason: &str,
        message: &str,
        step: Option<StepName>,
        data: Option<serde_json::Value>,
    ) -> Result<(), ReconcileError> {
        let event = JournalEntry {
            reason,
            message,
            operation_id: self.op_id.clone(),
            step,
            data,
        };
        journal(self.ctx, self.name, self.fence, event).await
    }

    fn still_leader(&self) -> Result<(), ReconcileError> {
        if self.lease.still_leader() {
            Ok(())
        } else {
            Err(ReconcileError::LostLease)
        }
    }
}

/// What applying the plan's actions came to.
struct Applied {
    retryable_errors: usize,
    /// The outcomes changed the status (a DNS change id, a block): write it again.
    status_dirty: bool,
}

async fn pass(
    ctx: &ReconcileContext,
    doc: &FailoverGroup,
    fence: &Fence,
    lease: &dyn LeaseCheck,
    cache: &mut ObserveCache,
) -> Result<PassOutcome, ReconcileError> {
    let mut p = Pass {
        ctx,
        doc,
        name: doc.metadata.name.as_str(),
        fence,
        lease,
        previous: doc.status.clone().unwrap_or_default(),
        op_id: None,
    };
    let the_plan = fetch_and_plan(&p, cache).await?;
    p.op_id = the_plan
        .status
        .operation
        .as_ref()
        .or(the_plan.status.last_operation.as_ref())
        .map(|o| o.id.clone());
    let mut status = record_intent(&p, &the_plan).await?;
    let applied = apply(&p, &the_plan.actions, &mut status).await?;
    record_outcome(&p, &status, &applied).await?;
    Ok(outcome(&p, the_plan, status, &applied))
}

/// fetch + plan: a light observation that does not look converged is redone in full before
/// anything is acted on.
async fn fetch_and_plan(p: &Pass<'_>, cache: &mut ObserveCache) -> Result<Plan, ReconcileError> {
    let (ctx, spec) = (p.ctx, &p.doc.spec);
    let generation = p.doc.metadata.generation.unwrap_or(0);
    let approved_by = approval_of(ctx.store.as_ref(), p.name, &p.previous).await?;
    let allowance = policy_allowance(ctx.store.as_ref(), p.doc, &p.previous).await?;
    let req = needs(spec, &p.previous, generation, cache);
    let mut world = observe(&ctx.reads, spec, &p.previous, &req, cache).await;
    let make_plan = |world: &crate::observed::ObservedWorld| {
        plan(&PlanInput {
            name: p.name,
            spec,
            generation,
            status: &p.previous,
            world,
            approved_by: approved_by.as_deref(),
            policy_allowance: allowance.as_ref(),
            now: ctx.cloud.clock.now(),
            config: ctx.config,
        })
    };
    let mut the_plan = make_plan(&world);
    if !world.full && !the_plan.is_converged() {
        let full = ObserveRequest {
            full: true,
            fresh_record: true,
            since: None,
            ..req
        };
        let suspect_since = world.at;
        world = observe(&ctx.reads, spec, &p.previous, &full, cache).await;
        world.suspect_since = Some(suspect_since);
        the_plan = make_plan(&world);
    }
    ctx.metrics.observed_pass(world.full);
    Ok(the_plan)
}

/// Record intent, before acting: the plan's events, then its status (fenced), and an
/// automatic failover's memory before the spec edit that carries it out.
async fn record_intent(
    p: &Pass<'_>,
    the_plan: &Plan,
) -> Result<FailoverGroupStatus, ReconcileError> {
    let ctx = p.ctx;
    for event in &the_plan.events {
        p.journal(&event.reason, &event.message, event.step, None)
            .await?;
    }
    count_objective_misses(ctx, p.name, the_plan);
    let mut status = the_plan.status.clone();
    let policy_edit = match &the_plan.decision {
        Some(decision) => {
            p.still_leader()?;
            Some(record_decision(ctx, p.doc, decision, &mut status)?)
        }
        None => None,
    };
    if !the_plan.actions.is_empty() || status_changed(&p.previous, &status) {
        ctx.store.write_status(p.name, &status, p.fence).await?;
    }
    if let Some((target, event)) = policy_edit {
        apply_policy_edit(ctx, p.doc, p.fence, &target, &event, &mut status).await?;
    }
    Ok(status)
}

/// Apply the actions (concurrently), journaling each outcome; what they return goes into
/// `status`.
async fn apply(
    p: &Pass<'_>,
    actions: &[PlannedAction],
    status: &mut FailoverGroupStatus,
) -> Result<Applied, ReconcileError> {
    let mut applied = Applied {
        retryable_errors: 0,
        status_dirty: false,
    };
    if actions.is_empty() {
        return Ok(applied);
    }
    p.still_leader()?;
    let ctx = p.ctx;
    let results = run_actions(&ctx.cloud, actions).await;
    for (planned, result) in actions.iter().zip(results) {
        ctx.metrics.action(
            planned.action.operation(),
            result.as_ref().err().map(|e| e.category),
        );
        let data = serde_json::to_value(planned).ok();
        match result {
            Ok(outcome) => {
                if let ActionOutcome::DnsChange(id) = &outcome {
                    if let Some(op) = status.operation.as_mut() {
                        op.notes.insert(note::DNS_CHANGE_ID.to_string(), id.clone());
                        applied.status_dirty = true;
                    }
                }
                let detail = match &outcome {
                    ActionOutcome::Applied => String::new(),
                    ActionOutcome::AlreadyDone(code) => format!(" (already done: {code})"),
                    ActionOutcome::DnsChange(id) => format!(" (change {id})"),
                };
                let message = format!("{}{detail}", planned.action);
                p.journal("AwsMutation", &message, planned.step, data)
                    .await?;
            }
            Err(err) => {
                if err.category == ErrorCategory::Retryable {
                    applied.retryable_errors += 1;
                } else {
                    block_on_error(status, planned, &err, ctx.cloud.clock.now());
                    applied.status_dirty = true;
                }
                let message = format!("{}: {err}", planned.action);
                p.journal("AwsMutationFailed", &message, planned.step, data)
                    .await?;
            }
        }
    }
    Ok(applied)
}

/// Record outcome: the status again when the actions changed it.
async fn record_outcome(
    p: &Pass<'_>,
    status: &FailoverGroupStatus,
    applied: &Applied,
) -> Result<(), ReconcileError> {
    if applied.status_dirty {
        p.ctx.store.write_status(p.name, status, p.fence).await?;
    }
    Ok(())
}

/// What the pass came to, for the runtime's requeue and metrics.
fn outcome(
    p: &Pass<'_>,
    the_plan: Plan,
    status: FailoverGroupStatus,
    applied: &Applied,
) -> PassOutcome {
    observe_policy(p.ctx, p.name, &p.previous, &status);
    let ready = crate::planner::status::is_true(&status.conditions, ct::READY);
    p.ctx.metrics.group_phase(p.name, status.phase);
    PassOutcome {
        requeue: the_plan.requeue,
        phase: status.phase,
        ready,
        actions: the_plan.actions.len(),
        retryable_errors: applied.retryable_errors,
        operation_running: status.operation.is_some(),
        summary: the_plan.summary,
        status,
    }
}

/// The policy's metrics: the countdown gauge, and a blocked decision when it first blocks.
fn observe_policy(
    ctx: &ReconcileContext,
    name: &str,
    previous: &FailoverGroupStatus,
    status: &FailoverGroupStatus,
) {
    let Some(memory) = &status.auto_failover else {
        return;
    };
    let now = ctx.cloud.clock.now();
    let countdown = memory
        .decide_at
        .filter(|_| memory.state == crate::planner::auto_failover::state::WATCHING)
        .map(|at| u64::try_from((at.millis() - now.millis()).max(0) / 1000).unwrap_or(0));
    ctx.metrics.auto_failover_countdown(name, countdown);
    let was_blocked = previous
        .auto_failover
        .as_ref()
        .is_some_and(|m| m.state == crate::planner::auto_failover::state::BLOCKED);
    if memory.state == crate::planner::auto_failover::state::BLOCKED && !was_blocked {
        ctx.metrics.auto_failover_decision("blocked");
    }
}

/// The journal reason of an automatic failover decision (the event carries `by: policy`).
pub const POLICY_EVENT: &str = "AutomaticFailover";
/// The journal's actor for the policy's spec edits.
pub const POLICY_ACTOR: &str = "policy";

/// The allowance of the automatic failover that wrote this very spec version, if it is one
/// and its operation has not started yet. Its status memory names the version it wrote; the
/// journal, written atomically with that spec edit, confirms it (a crash between the two
/// writes, then someone's own edit of the same version number, must not inherit it).
async fn policy_allowance(
    store: &dyn Store,
    doc: &FailoverGroup,
    status: &FailoverGroupStatus,
) -> Result<Option<AutoFailoverDecision>, StoreError> {
    let Some(decision) = status
        .auto_failover
        .as_ref()
        .and_then(|a| a.last_decision.as_ref())
    else {
        return Ok(None);
    };
    let already_started = [&status.operation, &status.last_operation]
        .into_iter()
        .flatten()
        .any(|op| op.generation >= decision.generation);
    if already_started
        || doc.metadata.resource_version.as_deref() != Some(decision.resource_version.as_str())
        || doc.spec.writer != decision.to
    {
        return Ok(None);
    }
    let events = store.events(&doc.metadata.name).await?;
    let confirmed = events.iter().rev().any(|e| {
        e.reason == POLICY_EVENT
            && e.data
                .as_ref()
                .and_then(|d| d.get("resourceVersion"))
                .and_then(|v| v.as_str())
                == Some(decision.resource_version.as_str())
    });
    Ok(confirmed.then(|| decision.clone()))
}

/// The spec edit and journal event of a policy decision, and its memory in `status`.
fn record_decision(
    ctx: &ReconcileContext,
    doc: &FailoverGroup,
    decision: &PolicyFailover,
    status: &mut FailoverGroupStatus,
) -> Result<(FailoverGroup, Event), ReconcileError> {
    let mut target = target_base(doc);
    target.spec.writer = decision.to.clone();
    target.spec.dns_owner = Some(decision.to.clone());
    let predicted = drctl_state::rules::updated_record(&target_base(doc), &target)?;
    let resource_version = predicted
        .metadata
        .resource_version
        .clone()
        .unwrap_or_default();
    let generation = predicted.metadata.generation.unwrap_or(0);
    let now = ctx.cloud.clock.now();
    let message = format!(
        "automatic failover {} -> {}: {}",
        decision.from,
        decision.to,
        decision.evidence.join("; ")
    );
    let event = Event {
        seq: 0,
        at: now,
        actor: POLICY_ACTOR.to_string(),
        reason: POLICY_EVENT.to_string(),
        message,
        operation_id: None,
        step: None,
        data: Some(serde_json::json!({
            "by": "policy",
            "controller": ctx.actor,
            "from": decision.from,
            "to": decision.to,
            "lagSeconds": decision.lag_seconds,
            "maxDataLossSeconds": decision.max_data_loss_seconds,
            "evidence": decision.evidence,
            "resourceVersion": resource_version,
            "generation": generation,
        })),
    };
    let memory = status.auto_failover.get_or_insert_with(Default::default);
    memory.last_decision = Some(AutoFailoverDecision {
        at: now,
        from: decision.from.clone(),
        to: decision.to.clone(),
        resource_version,
        generation,
        lag_seconds: decision.lag_seconds,
        max_data_loss_seconds: decision.max_data_loss_seconds,
        evidence: decision.evidence.clone(),
    });
    Ok((target, event))
}

/// The stored record as this pass read it (without its status).
fn target_base(doc: &FailoverGroup) -> FailoverGroup {
    let mut base = doc.clone();
    base.status = None;
    base
}

/// Write the policy's spec edit and its journal event in one store write, on the version
/// this pass read only: a concurrent edit (an operator's) wins, and the decision is dropped.
async fn apply_policy_edit(
    ctx: &ReconcileContext,
    doc: &FailoverGroup,
    fence: &Fence,
    target: &FailoverGroup,
    event: &Event,
    status: &mut FailoverGroupStatus,
) -> Result<(), ReconcileError> {
    let name = doc.metadata.name.as_str();
    let expected = doc.metadata.resource_version.clone().unwrap_or_default();
    match ctx.store.update_with_event(target, &expected, event).await {
        Ok(_) => {
            ctx.metrics.auto_failover_decision("failover");
            tracing::warn!(group = name, "{}", event.message);
            Ok(())
        }
        Err(StoreError::Conflict { message, .. }) => {
            ctx.metrics
                .auto_failover_decision("refused_concurrent_edit");
            if let Some(memory) = status.auto_failover.as_mut() {
                memory.last_decision = doc
                    .status
                    .as_ref()
                    .and_then(|s| s.auto_failover.as_ref())
                    .and_then(|a| a.last_decision.clone());
            }
            ctx.store.write_status(name, status, fence).await?;
            let why = format!(
                "automatic failover {} not recorded: the spec changed meanwhile ({message}); the policy looks again at the new spec",
                event.message
            );
            let entry = JournalEntry {
                reason: "AutomaticFailoverRefused",
                message: &why,
                operation_id: None,
                step: None,
                data: None,
            };
            journal(ctx, name, fence, entry).await
        }
        Err(err) => Err(err.into()),
    }
}

/// Run the actions of one pass concurrently: they come from independent steps (for example the
/// target's scale-up and the database switchover).
async fn run_actions(
    cloud: &Cloud,
    actions: &[PlannedAction],
) -> Vec<Result<ActionOutcome, CloudError>> {
    let mut set = tokio::task::JoinSet::new();
    for (index, planned) in actions.iter().enumerate() {
        let cloud = cloud.clone();
        let action = planned.action.clone();
        set.spawn(async move { (index, execute(&cloud, &action).await) });
    }
    let mut results: Vec<Option<Result<ActionOutcome, CloudError>>> = vec![None; actions.len()];
    while let Some(joined) = set.join_next().await {
        if let Ok((index, result)) = joined {
            if let Some(slot) = results.get_mut(index) {
                *slot = Some(result);
            }
        }
    }
    results
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|| {
                Err(CloudError::new(
                    ErrorCategory::Retryable,
                    drctl_cloud::Service::Http,
                    "execute",
                    "TaskFailed",
                    "the action's task did not complete",
                )
                .with_outcome_unknown())
            })
        })
        .collect()
}

/// An error that waits for a spec change or a person: show it where operators look.
fn block_on_error(
    status: &mut FailoverGroupStatus,
    planned: &PlannedAction,
    err: &CloudError,
    now: drctl_schema::Timestamp,
) {
    let what = match err.category {
        ErrorCategory::NeedsSpecChange => "fix the spec",
        ErrorCategory::NeedsOperator => "an operator must act",
        _ => "unexpected error",
    };
    let message = format!(
        "{}{} failed: {err} ({what})",
        planned.step.map(|s| format!("{s}: ")).unwrap_or_default(),
        planned.action.operation()
    );
    if let (Some(op), Some(step)) = (status.operation.as_mut(), planned.step) {
        if let Some(record) = op.step_mut(step) {
            record.detail = Some(message.clone());
        }
    }
    status.phase = Phase::Blocked;
    crate::planner::status::set_condition(
        &mut status.conditions,
        ct::READY,
        ConditionStatus::False,
        "Blocked",
        &message,
        now,
    );
}

/// Is the new status worth a store write? The timestamp of the pass and replication-lag
/// jitter below half a second are not: writing them every pass would cost a store write per
/// pass for nothing an operator acts on.
fn status_changed(previous: &FailoverGroupStatus, next: &FailoverGroupStatus) -> bool {
    let mut a = previous.clone();
    let mut b = next.clone();
    a.last_reconciled_at = None;
    b.last_reconciled_at = None;
    let lag = |s: &FailoverGroupStatus| s.observed.as_ref().and_then(|o| o.replication_lag_seconds);
    if let (Some(x), Some(y)) = (lag(&a), lag(&b)) {
        if (x - y).abs() < 0.5 {
            if let Some(o) = b.observed.as_mut() {
                o.replication_lag_seconds = Some(x);
            }
        }
    }
    a != b
}

/// One journal event, before the store numbers it.
struct JournalEntry<'a> {
    reason: &'a str,
    message: &'a str,
    operation_id: Option<String>,
    step: Option<StepName>,
    data: Option<serde_json::Value>,
}

async fn journal(
    ctx: &ReconcileContext,
    name: &str,
    fence: &Fence,
    entry: JournalEntry<'_>,
) -> Result<(), ReconcileError> {
    let event = Event {
        seq: 0,
        at: ctx.cloud.clock.now(),
        actor: ctx.actor.clone(),
        reason: entry.reason.to_string(),
        message: entry.message.to_string(),
        operation_id: entry.operation_id,
        step: entry.step.map(|s| s.as_str().to_string()),
        data: entry.data,
    };
    ctx.store.append_event(name, &event, Some(fence)).await?;
    tracing::info!(
        group = name,
        reason = entry.reason,
        step = entry.step.map(|s| s.as_str()),
        "{}",
        entry.message
    );
    Ok(())
}
