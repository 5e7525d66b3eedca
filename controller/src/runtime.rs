//! The controller loop: leader election on the store's lease, a per-group scheduler with
//! adaptive requeue and backoff, and the `--once` / `--until-converged` modes.
//!
//! Leader election follows Kubernetes' numbers (aws-facts.md, Leases): a 15 s lease, a 10 s
//! renew deadline, a 2 s retry period. The holder stops acting at its renew deadline, measured
//! from when the last successful renewal was *sent*, which is before anyone else can take the
//! lease. Every status and journal write is also fenced by the epoch at the store, so a
//! replica that was paused past its deadline cannot write even if it tries.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use drctl_cloud::Cloud;
use drctl_state::{Lease, Store, StoreError};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::backoff::{ExponentialBackoff, RetryBackoff};
use crate::metrics::Metrics;
use crate::observe::ObserveCache;
use crate::planner::PlannerConfig;
use crate::reconcile::{reconcile_group, LeaseCheck, PassOutcome, ReconcileContext};

#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    pub lease_name: String,
    pub replica_id: String,
    pub lease_duration: Duration,
    pub renew_deadline: Duration,
    pub retry_period: Duration,
    /// How often the store is listed to notice new groups and spec changes.
    pub spec_poll: Duration,
    pub planner: PlannerConfig,
}

impl RuntimeConfig {
    pub fn new(replica_id: impl Into<String>, lease_name: impl Into<String>) -> Self {
        RuntimeConfig {
            lease_name: lease_name.into(),
            replica_id: replica_id.into(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
            // One Query of the group records per second: cheap, and a spec change (an
            // operator's failover) is acted on within a second.
            spec_poll: Duration::from_secs(1),
            planner: PlannerConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    Forever,
    /// One pass over every group, then return.
    Once,
    /// Until every group is Ready.
    UntilConverged,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    /// `--once` finished its pass.
    PassCompleted,
    /// Every group is Ready.
    Converged,
    TimedOut,
    Shutdown,
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("lease {lease} is held by {holder} until {until}: another replica is active")]
    LeaseHeld {
        lease: String,
        holder: String,
        until: String,
    },
}

impl RuntimeError {
    pub fn category(&self) -> &'static str {
        match self {
            RuntimeError::Store(e) => e.category(),
            RuntimeError::LeaseHeld { .. } => "lease_held",
        }
    }
}

/// The lease as this replica sees it, shared with the reconcile passes.
#[derive(Default)]
pub struct Leadership {
    inner: Mutex<LeadershipInner>,
}

#[derive(Default)]
struct LeadershipInner {
    lease: Option<Lease>,
    act_until: Option<Instant>,
}

impl Leadership {
    fn lock(&self) -> std::sync::MutexGuard<'_, LeadershipInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn lease(&self) -> Option<Lease> {
        self.lock().lease.clone()
    }

    fn set(&self, lease: Option<Lease>, act_until: Option<Instant>) {
        let mut inner = self.lock();
        inner.lease = lease;
        inner.act_until = act_until;
    }
}

impl LeaseCheck for Leadership {
    fn still_leader(&self) -> bool {
        let inner = self.lock();
        inner.lease.is_some() && inner.act_until.map(|t| Instant::now() < t).unwrap_or(false)
    }
}

struct GroupState {
    due: Instant,
    generation: u64,
    cache: ObserveCache,
    backoff: ExponentialBackoff,
    last: Option<PassOutcome>,
}

pub struct Controller {
    pub store: Arc<dyn Store>,
    pub cloud: Cloud,
    pub config: RuntimeConfig,
    pub metrics: Arc<Metrics>,
    pub leadership: Arc<Leadership>,
}

impl Controller {
    pub fn new(
        store: Arc<dyn Store>,
        cloud: Cloud,
        config: RuntimeConfig,
        metrics: Arc<Metrics>,
    ) -> Self {
        Controller {
            store,
            cloud,
            config,
            metrics,
            leadership: Arc::new(Leadership::default()),
        }
    }

    fn context(&self) -> ReconcileContext {
        ReconcileContext {
            cloud: self.cloud.clone(),
            store: self.store.clone(),
            actor: format!("controller/{}", self.config.replica_id),
            config: self.config.planner,
            metrics: self.metrics.clone(),
        }
    }

    /// Acquire or renew the lease; returns whether this replica may act.
    async fn tend_lease(&self) -> Result<bool, StoreError> {
        let sent = Instant::now();
        let now = self.cloud.clock.now();
        let duration_ms = self.config.lease_duration.as_millis() as i64;
        let result = match self.leadership.lease() {
            Some(lease) => self
                .store
                .renew_lease(&lease, now, duration_ms)
                .await
                .map(Some),
            None => {
                self.store
                    .acquire_lease(
                        &self.config.lease_name,
                        &self.config.replica_id,
                        now,
                        duration_ms,
                    )
                    .await
            }
        };
        match result {
            Ok(Some(lease)) => {
                if self.leadership.lease().map(|l| l.epoch) != Some(lease.epoch) {
                    tracing::info!(lease = %lease.name, epoch = lease.epoch, "became leader");
                }
                self.leadership
                    .set(Some(lease), Some(sent + self.config.renew_deadline));
                self.metrics.set_leader(true);
                Ok(true)
            }
            Ok(None) => {
                self.step_down();
                Ok(false)
            }
            Err(StoreError::LeaseLost { .. } | StoreError::Fenced { .. }) => {
                tracing::warn!("lost the lease; stopping to act");
                self.step_down();
                Ok(false)
            }
            Err(e) => {
                // Keep acting only until the renew deadline of the last good renewal.
                tracing::warn!(error = %e, "could not renew the lease");
                let still = self.leadership.still_leader();
                if !still {
                    self.step_down();
                }
                Err(e)
            }
        }
    }

    /// Stop acting as leader (and say so in the metrics).
    fn step_down(&self) {
        self.leadership.set(None, None);
        self.metrics.set_leader(false);
    }

    pub async fn release(&self) {
        if let Some(lease) = self.leadership.lease() {
            let _ = self.store.release_lease(&lease).await;
            self.step_down();
        }
    }

    pub async fn run(
        &self,
        mode: RunMode,
        timeout: Option<Duration>,
        shutdown: CancellationToken,
    ) -> Result<RunOutcome, RuntimeError> {
        let started = Instant::now();
        let deadline = timeout.map(|t| started + t);
        let ctx = self.context();
        let mut groups: BTreeMap<String, GroupState> = BTreeMap::new();
        let mut next_lease = Instant::now();
        let mut next_list = Instant::now();
        self.metrics.set_alive(true);

        loop {
            if shutdown.is_cancelled() {
                return Ok(RunOutcome::Shutdown);
            }
            let now = Instant::now();
            if deadline.map(|d| now >= d).unwrap_or(false) {
                return Ok(RunOutcome::TimedOut);
            }

            if now >= next_lease {
                let tended = self.tend_lease().await;
                // Ready means "a working replica": one that reached the store, whether or not
                // it won the lease. A standby that never reported ready would stall every
                // rollout and, under a PodDisruptionBudget, every drain of the leader's node.
                if tended.is_ok() {
                    self.metrics.set_ready(true);
                }
                let leader = tended.unwrap_or(false);
                next_lease = now + self.config.retry_period;
                if !leader && mode == RunMode::Once {
                    let current = self.store.get_lease(&self.config.lease_name).await?;
                    if let Some(current) = current {
                        return Err(RuntimeError::LeaseHeld {
                            lease: current.name,
                            holder: current.holder,
                            until: current.expires_at.to_string(),
                        });
                    }
                }
            }
            let leader = self.leadership.still_leader();

            if leader && Instant::now() >= next_list {
                let docs = self.store.list().await?;
                let names: Vec<String> = docs.iter().map(|d| d.metadata.name.clone()).collect();
                groups.retain(|name, _| {
                    let keep = names.contains(name);
                    if !keep {
                        self.metrics.forget_group(name);
                    }
                    keep
                });
                for doc in &docs {
                    let generation = doc.metadata.generation.unwrap_or(0);
                    let state =
                        groups
                            .entry(doc.metadata.name.clone())
                            .or_insert_with(|| GroupState {
                                due: Instant::now(),
                                generation,
                                cache: ObserveCache::default(),
                                backoff: ExponentialBackoff::for_requeue(),
                                last: None,
                            });
                    if state.generation != generation {
                        // A spec change is acted on at once.
                        state.generation = generation;
                        state.due = Instant::now();
                    }
                }
                next_list = Instant::now() + self.config.spec_poll;

                // Run the groups that are due, with their freshest documents.
                for doc in docs {
                    if !self.leadership.still_leader() {
                        break;
                    }
                    let Some(state) = groups.get_mut(&doc.metadata.name) else {
                        continue;
                    };
                    if Instant::now() < state.due && mode != RunMode::Once {
                        continue;
                    }
                    let Some(lease) = self.leadership.lease() else {
                        break;
                    };
                    let fence = lease.fence();
                    match reconcile_group(
                        &ctx,
                        &doc,
                        &fence,
                        self.leadership.as_ref(),
                        &mut state.cache,
                    )
                    .await
                    {
                        Ok(outcome) => {
                            let delay = if outcome.retryable_errors > 0 {
                                state
                                    .backoff
                                    .next_delay()
                                    .min(outcome.requeue.max(Duration::from_secs(1)))
                            } else if outcome.actions > 0 {
                                // The world just changed: look again at once (the next step
                                // often starts on the effect of this one) rather than a poll
                                // interval later.
                                state.backoff.reset();
                                Duration::from_millis(200).min(outcome.requeue)
                            } else {
                                state.backoff.reset();
                                outcome.requeue
                            };
                            tracing::debug!(group = %doc.metadata.name, phase = outcome.phase.as_str(), requeue_s = delay.as_secs_f64(), "{}", outcome.summary);
                            state.due = Instant::now() + delay;
                            state.last = Some(outcome);
                        }
                        Err(err) => {
                            self.metrics.reconcile_error(err.category());
                            tracing::warn!(group = %doc.metadata.name, error = %err, category = err.category(), "reconcile failed");
                            if err.is_fencing() {
                                self.step_down();
                                break;
                            }
                            state.due = Instant::now() + state.backoff.next_delay();
                        }
                    }
                }
                self.metrics.set_ready(true);

                match mode {
                    RunMode::Once if self.leadership.still_leader() => {
                        return Ok(RunOutcome::PassCompleted)
                    }
                    RunMode::UntilConverged => {
                        let all_ready = !groups.is_empty()
                            && groups
                                .values()
                                .all(|g| g.last.as_ref().map(|o| o.ready).unwrap_or(false));
                        if all_ready {
                            return Ok(RunOutcome::Converged);
                        }
                    }
                    _ => {}
                }
            }

            // Sleep until the next thing is due. A replica that is not the leader only has
            // the lease to look after: waking for anything else would spin.
            let mut wake = next_lease;
            if self.leadership.still_leader() {
                wake = wake.min(next_list);
                if let Some(due) = groups.values().map(|g| g.due).min() {
                    wake = wake.min(due.max(next_list));
                }
            }
            // Never wake in the past: a zero sleep would busy-loop.
            wake = wake.max(Instant::now() + Duration::from_millis(10));
            if let Some(d) = deadline {
                wake = wake.min(d);
            }
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(RunOutcome::Shutdown),
                _ = tokio::time::sleep_until(wake) => {}
            }
        }
    }
}
