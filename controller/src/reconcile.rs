//! One reconcile pass of one group, as a named pipeline in which only `fetch`, `apply` and
//! `record` do IO:
//!
//! fetch (observe the cloud) -> plan (pure) -> record intent (fenced status + journal) ->
//! apply (the actions, concurrently) -> record outcome -> requeue.
//!
//! Intent is recorded *before* acting: a controller killed between the two finds the step
//! Running with its issue time on restart, re-reads the world and either sees the effect or,
//! after a grace period, issues the (idempotent or re-read-guarded) call again.

use std::sync::Arc;
use std::time::Duration;

use drctl_cloud::{Cloud, CloudError, ErrorCategory};
use drctl_schema::{
    condition_type as ct, ConditionStatus, FailoverGroup, FailoverGroupStatus, Phase, StepName,
};
use drctl_state::{Event, Fence, Store, StoreError};

use crate::execute::{execute, ActionOutcome};
use crate::fleet::FleetReads;
use crate::metrics::Metrics;
use crate::observe::{needs, observe, ObserveCache, ObserveRequest};
use crate::planner::steps::note;
use crate::planner::{plan, Plan, PlanInput, PlannedAction, PlannerConfig};

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
) -> Result<(Plan, crate::world::ObservedWorld), StoreError> {
    let status = doc.status.clone().unwrap_or_default();
    let generation = doc.metadata.generation.unwrap_or(0);
    let approved_by = approval_of(store, &doc.metadata.name, &status).await?;
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
    ctx.metrics.reconcile_duration(started.elapsed());
    outcome
}

async fn pass(
    ctx: &ReconcileContext,
    doc: &FailoverGroup,
    fence: &Fence,
    lease: &dyn LeaseCheck,
    cache: &mut ObserveCache,
) -> Result<PassOutcome, ReconcileError> {
    let name = doc.metadata.name.as_str();
    let spec = &doc.spec;
    let generation = doc.metadata.generation.unwrap_or(0);
    let previous = doc.status.clone().unwrap_or_default();
    let approved_by = approval_of(ctx.store.as_ref(), name, &previous).await?;

    // fetch + plan; a light observation that does not look converged is redone in full
    // before anything is acted on.
    let req = needs(spec, &previous, generation, cache);
    let mut world = observe(&ctx.reads, spec, &previous, &req, cache).await;
    let make_plan = |world: &crate::world::ObservedWorld| {
        plan(&PlanInput {
            name,
            spec,
            generation,
            status: &previous,
            world,
            approved_by: approved_by.as_deref(),
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
        world = observe(&ctx.reads, spec, &previous, &full, cache).await;
        the_plan = make_plan(&world);
    }
    ctx.metrics.observed_pass(world.full);

    // record intent
    let op_id = the_plan
        .status
        .operation
        .as_ref()
        .or(the_plan.status.last_operation.as_ref())
        .map(|o| o.id.clone());
    for event in &the_plan.events {
        journal(
            ctx,
            name,
            fence,
            &event.reason,
            &event.message,
            op_id.clone(),
            event.step,
            None,
        )
        .await?;
    }
    count_objective_misses(ctx, name, &the_plan);
    let mut status = the_plan.status.clone();
    if !the_plan.actions.is_empty() || status_changed(&previous, &status) {
        ctx.store.write_status(name, &status, fence).await?;
    }

    // apply
    let mut retryable_errors = 0;
    let actions = the_plan.actions.clone();
    if !actions.is_empty() {
        if !lease.still_leader() {
            return Err(ReconcileError::LostLease);
        }
        let results = run_actions(&ctx.cloud, &actions).await;
        let mut status_dirty = false;
        for (planned, result) in actions.iter().zip(results) {
            ctx.metrics.action(
                planned.action.operation(),
                result.as_ref().err().map(|e| e.category),
            );
            match result {
                Ok(outcome) => {
                    if let ActionOutcome::DnsChange(id) = &outcome {
                        if let Some(op) = status.operation.as_mut() {
                            op.notes.insert(note::DNS_CHANGE_ID.to_string(), id.clone());
                            status_dirty = true;
                        }
                    }
                    let detail = match &outcome {
                        ActionOutcome::Applied => String::new(),
                        ActionOutcome::AlreadyDone(code) => format!(" (already done: {code})"),
                        ActionOutcome::DnsChange(id) => format!(" (change {id})"),
                    };
                    journal(
                        ctx,
                        name,
                        fence,
                        "AwsMutation",
                        &format!("{}{detail}", planned.action),
                        op_id.clone(),
                        planned.step,
                        serde_json::to_value(planned).ok(),
                    )
                    .await?;
                }
                Err(err) => {
                    if err.category == ErrorCategory::Retryable {
                        retryable_errors += 1;
                    } else {
                        block_on_error(&mut status, planned, &err, ctx.cloud.clock.now());
                        status_dirty = true;
                    }
                    journal(
                        ctx,
                        name,
                        fence,
                        "AwsMutationFailed",
                        &format!("{}: {err}", planned.action),
                        op_id.clone(),
                        planned.step,
                        serde_json::to_value(planned).ok(),
                    )
                    .await?;
                }
            }
        }
        if status_dirty {
            ctx.store.write_status(name, &status, fence).await?;
        }
    }

    cache.mark_pass_end();
    let ready = crate::planner::status::is_true(&status.conditions, ct::READY);
    ctx.metrics.group_phase(name, status.phase);
    Ok(PassOutcome {
        requeue: the_plan.requeue,
        phase: status.phase,
        ready,
        actions: actions.len(),
        retryable_errors,
        operation_running: status.operation.is_some(),
        summary: the_plan.summary,
        status,
    })
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

#[allow(clippy::too_many_arguments)]
async fn journal(
    ctx: &ReconcileContext,
    name: &str,
    fence: &Fence,
    reason: &str,
    message: &str,
    operation_id: Option<String>,
    step: Option<StepName>,
    data: Option<serde_json::Value>,
) -> Result<(), ReconcileError> {
    let event = Event {
        seq: 0,
        at: ctx.cloud.clock.now(),
        actor: ctx.actor.clone(),
        reason: reason.to_string(),
        message: message.to_string(),
        operation_id,
        step: step.map(|s| s.as_str().to_string()),
        data,
    };
    ctx.store.append_event(name, &event, Some(fence)).await?;
    tracing::info!(
        group = name,
        reason,
        step = step.map(|s| s.as_str()),
        "{message}"
    );
    Ok(())
}
