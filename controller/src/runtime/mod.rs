//! The controller runtime, in kube-runtime's shape:
//!
//! - `leader`: one task per shard lease that acquires and renews it, independent of the
//!   reconciles; acting stops at the renew deadline.
//! - `balance`: with several shards, one task that counts the live replicas through seat
//!   leases and hands shards over one at a time until each holds its fair share.
//! - `watcher`: one task that notices spec changes through the store's change marker and
//!   lists the groups only when something changed.
//! - `scheduler`: a delay queue keyed by group (dedupe, earliest due, spec changes and
//!   operations before converged resyncs).
//! - `requeue`: when a group is looked at again, after a pass or an error.
//! - this module: the loop that joins them, running at most `concurrency` passes at once and
//!   never two passes of one group; a pass that hangs holds one slot and nothing else.

pub mod balance;
pub mod leader;
pub mod requeue;
pub mod scheduler;
pub mod shards;
pub mod watcher;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use drctl_cloud::pacing::PaceLimits;
use drctl_cloud::Cloud;
use drctl_schema::FailoverGroup;
use drctl_state::{Store, StoreError};
use tokio::sync::{mpsc, Notify};
use tokio::task::{Id as TaskId, JoinSet};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::backoff::ExponentialBackoff;
use crate::fleet::{fleet_cloud, FleetReads};
use crate::metrics::Metrics;
use crate::observe::ObserveCache;
use crate::planner::PlannerConfig;
use crate::reconcile::{reconcile_group, PassOutcome, ReconcileContext, ReconcileError};
use balance::{Balancer, ShardBalance};
use leader::{LeaseEvent, LeaseKeeper, LeaseTimings, ShardLease};
use scheduler::{Scheduler, Urgency};
use watcher::{Snapshot, Watcher};

#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    pub lease_name: String,
    pub replica_id: String,
    pub leases: LeaseTimings,
    /// How often the store's change marker is read to notice new groups and spec changes.
    pub spec_poll: Duration,
    pub planner: PlannerConfig,
    /// Passes in flight at once (`--concurrency`).
    pub concurrency: u16,
    /// Leases the groups are split over (`--shards`).
    pub shards: u32,
    /// A pass that runs longer than this is abandoned (its intent is recorded; the next pass
    /// re-reads the world). Cloud and store calls have their own, shorter timeouts: this is
    /// the backstop that keeps one stuck group from holding a slot for good.
    pub pass_timeout: Duration,
    /// Client-side rate limits of the AWS calls.
    pub pace: PaceLimits,
}

/// Passes in flight at once by default: enough that a mass failover of hundreds of groups
/// starts together (their reads are shared and their calls paced, so width costs little),
/// small enough to bound memory and store writes.
pub const DEFAULT_CONCURRENCY: u16 = 64;

impl RuntimeConfig {
    pub fn new(replica_id: impl Into<String>, lease_name: impl Into<String>) -> Self {
        RuntimeConfig {
            lease_name: lease_name.into(),
            replica_id: replica_id.into(),
            leases: LeaseTimings::default(),
            // One marker read per second: cheap, and a spec change (an operator's failover)
            // is acted on within a second.
            spec_poll: Duration::from_secs(1),
            planner: PlannerConfig::default(),
            concurrency: DEFAULT_CONCURRENCY,
            shards: 1,
            pass_timeout: Duration::from_secs(300),
            pace: PaceLimits::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    Forever,
    /// Every group gets exactly one pass, then return.
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
    #[error("lease {lease} is held by {holder}: another replica is active")]
    LeaseHeld { lease: String, holder: String },
}

impl RuntimeError {
    pub fn category(&self) -> &'static str {
        match self {
            RuntimeError::Store(e) => e.category(),
            RuntimeError::LeaseHeld { .. } => "lease_held",
        }
    }
}

/// What the runtime keeps per group between passes.
struct GroupEntry {
    /// Spec as last listed, status as last written by a pass (or listed).
    doc: FailoverGroup,
    shard: u32,
    /// Taken by the pass in flight, given back when it ends.
    cache: Option<ObserveCache>,
    backoff: ExponentialBackoff,
    ready: bool,
    /// The last pass failed: read the document again before the next one.
    reread: bool,
    /// Asked for while a pass was in flight: run again as soon as it ends.
    rerun: Option<Urgency>,
    /// When the last pass ended (a listing asked for before that holds an older status).
    last_pass_end: Option<Instant>,
    deleted: bool,
}

struct PassDone {
    name: String,
    cache: ObserveCache,
    result: Result<Result<PassOutcome, ReconcileError>, tokio::time::error::Elapsed>,
}

/// The loop's state: the groups, the queue and the passes in flight.
struct Fleet {
    groups: BTreeMap<String, GroupEntry>,
    scheduler: Scheduler,
    in_flight: HashMap<TaskId, String>,
    passes: JoinSet<PassDone>,
    /// `--once`: the groups still owed their one pass (None until the first listing).
    once_owed: Option<BTreeSet<String>>,
    /// Groups whose last pass was not Ready (or that had none yet).
    not_ready: BTreeSet<String>,
}

pub struct Controller {
    pub store: Arc<dyn Store>,
    /// The cloud as given, paced and with DNS changes batched (what the passes act through).
    pub cloud: Cloud,
    reads: Arc<FleetReads>,
    pub config: RuntimeConfig,
    pub metrics: Arc<Metrics>,
    shards: Vec<Arc<ShardLease>>,
    /// The same shards with this replica's fair share of them (several shards only).
    balance: Option<Arc<ShardBalance>>,
    /// What lease times are stamped with: the cloud's clock unless told otherwise. A lease in
    /// a real store is shared with processes on real time, so a rehearsal on virtual time
    /// stamps its leases with the wall clock (`with_lease_clock`).
    lease_clock: Arc<dyn drctl_cloud::Clock>,
    /// Set by `with_lease_clock`: leases run out on that clock, not the runtime's.
    leases_on_wall_clock: bool,
}

impl Controller {
    pub fn new(
        store: Arc<dyn Store>,
        cloud: Cloud,
        config: RuntimeConfig,
        metrics: Arc<Metrics>,
    ) -> Self {
        let count = config.shards.max(1);
        let shards: Vec<Arc<ShardLease>> = (0..count)
            .map(|i| {
                Arc::new(ShardLease::new(
                    i,
                    shards::lease_name(&config.lease_name, i, count),
                ))
            })
            .collect();
        let balance = (count > 1).then(|| Arc::new(ShardBalance::new(shards.clone())));
        let lease_clock = cloud.clock.clone();
        let (cloud, reads) = fleet_cloud(cloud, config.pace.clone());
        Controller {
            store,
            cloud,
            reads,
            config,
            metrics,
            shards,
            balance,
            lease_clock,
            leases_on_wall_clock: false,
        }
    }

    /// Stamp lease acquisitions and renewals with `clock` instead of the cloud's.
    /// The wall clock of a real store shared with processes on real time, under a
    /// rehearsal's virtual time: another holder's lease is then waited for on the wall clock.
    pub fn with_lease_clock(mut self, clock: Arc<dyn drctl_cloud::Clock>) -> Self {
        self.lease_clock = clock;
        self.leases_on_wall_clock = true;
        self
    }

    fn context(&self) -> ReconcileContext {
        ReconcileContext {
            cloud: self.cloud.clone(),
            reads: self.reads.clone(),
            store: self.store.clone(),
            actor: format!("controller/{}", self.config.replica_id),
            config: self.config.planner,
            metrics: self.metrics.clone(),
        }
    }

    /// The shards this replica acts for now.
    pub fn held_shards(&self) -> Vec<u32> {
        use crate::reconcile::LeaseCheck;
        self.shards
            .iter()
            .filter(|s| s.still_leader())
            .map(|s| s.shard)
            .collect()
    }

    pub async fn run(
        &self,
        mode: RunMode,
        timeout: Option<Duration>,
        shutdown: CancellationToken,
    ) -> Result<RunOutcome, RuntimeError> {
        let deadline = timeout.map(|t| Instant::now() + t);
        // The lease keepers and the watcher live in a JoinSet owned by this future: a replica
        // that is killed (this future dropped) drops them without releasing its leases, as
        // a crashed process would; a graceful return releases them.
        let stop = shutdown.child_token();
        let mut background = JoinSet::new();
        let (lease_tx, mut lease_events) = mpsc::unbounded_channel();
        self.spawn_keepers(&mut background, lease_tx.clone(), &stop);
        if mode != RunMode::Once {
            self.spawn_balancer(&mut background, lease_tx, &stop);
        }
        let (snap_tx, mut snapshots) = mpsc::channel(1);
        let relist = Arc::new(Notify::new());
        background.spawn(
            Watcher {
                store: self.store.clone(),
                poll: self.config.spec_poll,
                call_timeout: self.config.leases.renew_deadline,
                snapshots: snap_tx,
                relist: relist.clone(),
            }
            .run(stop.clone()),
        );
        self.metrics.set_alive(true);

        let mut fleet = Fleet {
            groups: BTreeMap::new(),
            scheduler: Scheduler::new(),
            in_flight: HashMap::new(),
            passes: JoinSet::new(),
            once_owed: None,
            not_ready: BTreeSet::new(),
        };
        let mut first_attempts = 0usize;
        let result = loop {
            self.start_due(&mut fleet, mode);
            if let Some(outcome) = self.finished(&fleet, mode) {
                break Ok(outcome);
            }
            let mut wake = fleet
                .scheduler
                .next_due()
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            if let Some(d) = deadline {
                wake = wake.min(d);
            }
            // Never wake in the past: a zero sleep would busy-loop.
            wake = wake.max(Instant::now() + Duration::from_millis(1));
            // biased: tokio otherwise polls the branches from a random start, drawn from a
            // generator seeded afresh per runtime, and a rehearsal's replay could take two
            // events of one virtual instant in the other order (issue 12's campaign).
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break Ok(RunOutcome::Shutdown),
                Some(event) = lease_events.recv() => {
                    if let Err(e) = self.on_lease_event(&mut fleet, event, mode, &relist, &mut first_attempts) {
                        break Err(e);
                    }
                }
                Some(snapshot) = snapshots.recv() => match snapshot {
                    Ok(snapshot) => self.on_snapshot(&mut fleet, snapshot, mode, first_attempts),
                    Err(e) => tracing::warn!(error = %e, "could not read the store; retrying"),
                },
                Some(done) = fleet.passes.join_next_with_id(), if !fleet.passes.is_empty() => {
                    self.on_pass_done(&mut fleet, done, mode);
                }
                _ = tokio::time::sleep_until(wake) => {
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        break Ok(RunOutcome::TimedOut);
                    }
                }
            }
        };
        fleet.passes.abort_all();
        stop.cancel();
        while background.join_next().await.is_some() {}
        self.metrics.set_leader(false);
        result
    }

    fn spawn_keepers(
        &self,
        background: &mut JoinSet<()>,
        events: mpsc::UnboundedSender<LeaseEvent>,
        stop: &CancellationToken,
    ) {
        let keeper = LeaseKeeper {
            store: self.store.clone(),
            clock: self.lease_clock.clone(),
            replica: self.config.replica_id.clone(),
            timings: self.config.leases,
            events,
            metrics: self.metrics.clone(),
            others_expire_on_wall_clock: self.leases_on_wall_clock,
            balance: self.balance.clone(),
        };
        for shard in &self.shards {
            background.spawn(keeper.clone().run(shard.clone(), stop.clone()));
        }
    }

    /// Several shards: spread them over the live replicas (`balance`). `--once` does not:
    /// it refuses to run beside another replica.
    fn spawn_balancer(
        &self,
        background: &mut JoinSet<()>,
        events: mpsc::UnboundedSender<LeaseEvent>,
        stop: &CancellationToken,
    ) {
        let Some(balance) = self.balance.clone() else {
            return;
        };
        let balancer = Balancer {
            store: self.store.clone(),
            clock: self.lease_clock.clone(),
            replica: self.config.replica_id.clone(),
            timings: self.config.leases,
            lease_name: self.config.lease_name.clone(),
            balance,
            events,
        };
        background.spawn(balancer.run(stop.clone()));
    }

    fn on_lease_event(
        &self,
        fleet: &mut Fleet,
        event: LeaseEvent,
        mode: RunMode,
        relist: &Notify,
        first_attempts: &mut usize,
    ) -> Result<(), RuntimeError> {
        match event {
            LeaseEvent::Gained(shard) => {
                tracing::info!(shard, "acting for shard");
                // A new epoch: the previous holder may have written since we last looked.
                for entry in fleet.groups.values_mut().filter(|g| g.shard == shard) {
                    entry.reread = true;
                }
                relist.notify_one();
            }
            LeaseEvent::Lost(shard) => {
                tracing::warn!(shard, "stopped acting for shard");
                let names: Vec<String> = fleet
                    .groups
                    .iter()
                    .filter(|(_, g)| g.shard == shard)
                    .map(|(n, _)| n.clone())
                    .collect();
                for name in names {
                    fleet.scheduler.remove(&name);
                }
            }
            LeaseEvent::FirstAttempt { shard, holder } => {
                *first_attempts += 1;
                if let (RunMode::Once, Some(holder)) = (mode, holder) {
                    let lease = self
                        .shards
                        .get(shard as usize)
                        .map(|s| s.name.clone())
                        .unwrap_or_default();
                    return Err(RuntimeError::LeaseHeld { lease, holder });
                }
                if *first_attempts == self.shards.len() {
                    // Listings taken before every lease was tried may have skipped groups.
                    relist.notify_one();
                }
            }
        }
        self.metrics.set_leader(!self.held_shards().is_empty());
        Ok(())
    }

    fn on_snapshot(&self, fleet: &mut Fleet, snapshot: Snapshot, mode: RunMode, tried: usize) {
        let now = Instant::now();
        let listed: BTreeSet<String> = snapshot
            .groups
            .iter()
            .map(|d| d.metadata.name.clone())
            .collect();
        for (name, entry) in fleet.groups.iter_mut() {
            if !listed.contains(name) {
                entry.deleted = true;
                fleet.not_ready.remove(name);
                fleet.scheduler.remove(name);
                self.metrics.forget_group(name);
            }
        }
        fleet.groups.retain(|_, g| !g.deleted || g.cache.is_none());
        let held = self.held_shards();
        for doc in snapshot.groups {
            let name = doc.metadata.name.clone();
            let shard = shards::shard_of(&name, self.shards.len() as u32);
            fleet.not_ready.insert(name.clone());
            let entry = fleet
                .groups
                .entry(name.clone())
                .or_insert_with(|| GroupEntry {
                    doc: doc.clone(),
                    shard,
                    cache: Some(ObserveCache::default()),
                    backoff: ExponentialBackoff::for_requeue(),
                    ready: false,
                    reread: false,
                    rerun: Some(Urgency::SpecChange),
                    last_pass_end: None,
                    deleted: false,
                });
            entry.deleted = false;
            let spec_changed = entry.doc.metadata.generation != doc.metadata.generation;
            let status_newer = entry
                .last_pass_end
                .is_none_or(|end| snapshot.requested_at > end);
            let in_flight = entry.cache.is_none();
            let status = if status_newer && !in_flight {
                doc.status.clone()
            } else {
                entry.doc.status.clone()
            };
            entry.doc = FailoverGroup { status, ..doc };
            let fresh = entry.rerun.take();
            let urgency = if spec_changed {
                Some(Urgency::SpecChange)
            } else {
                fresh
            };
            if let Some(urgency) = urgency {
                if in_flight {
                    entry.rerun = Some(urgency);
                } else if held.contains(&shard) {
                    fleet.scheduler.schedule(&name, now, urgency);
                }
            } else if held.contains(&shard) && !in_flight && !fleet.scheduler.contains(&name) {
                // A shard just won: every group of it gets looked at.
                fleet.scheduler.schedule(&name, now, Urgency::Operation);
            }
        }
        if mode == RunMode::Once && fleet.once_owed.is_none() && tried == self.shards.len() {
            fleet.once_owed = Some(
                fleet
                    .groups
                    .iter()
                    .filter(|(_, g)| held.contains(&g.shard) && !g.deleted)
                    .map(|(n, _)| n.clone())
                    .collect(),
            );
        }
    }

    /// Start passes for due groups while there is room in the pool.
    fn start_due(&self, fleet: &mut Fleet, mode: RunMode) {
        let now = Instant::now();
        while fleet.passes.len() < usize::from(self.config.concurrency.max(1)) {
            let Some((name, _)) = fleet.scheduler.pop_due(now) else {
                return;
            };
            if mode == RunMode::Once && !fleet.once_owed.as_ref().is_some_and(|o| o.contains(&name))
            {
                continue;
            }
            self.start_pass(fleet, &name);
        }
    }

    fn start_pass(&self, fleet: &mut Fleet, name: &str) {
        let Some(entry) = fleet.groups.get_mut(name) else {
            return;
        };
        let Some(shard) = self.shards.get(entry.shard as usize).cloned() else {
            return;
        };
        let Some(fence) = shard.fence() else {
            // The shard was lost since the group was queued; winning it back requeues it.
            return;
        };
        let Some(mut cache) = entry.cache.take() else {
            entry.rerun = Some(Urgency::Operation);
            return;
        };
        let ctx = self.context();
        let doc = entry.doc.clone();
        let reread = std::mem::take(&mut entry.reread);
        let pass_timeout = self.config.pass_timeout;
        let name = name.to_string();
        let task_name = name.clone();
        let handle = fleet.passes.spawn(async move {
            let result = tokio::time::timeout(pass_timeout, async {
                let doc = if reread {
                    match ctx.store.get(&doc.metadata.name).await? {
                        Some(doc) => doc,
                        None => {
                            return Err(ReconcileError::Store(StoreError::NotFound {
                                name: doc.metadata.name.clone(),
                            }))
                        }
                    }
                } else {
                    doc
                };
                reconcile_group(&ctx, &doc, &fence, shard.as_ref(), &mut cache).await
            })
            .await;
            PassDone {
                name: task_name,
                cache,
                result,
            }
        });
        fleet.in_flight.insert(handle.id(), name);
    }

    fn on_pass_done(
        &self,
        fleet: &mut Fleet,
        joined: Result<(TaskId, PassDone), tokio::task::JoinError>,
        mode: RunMode,
    ) {
        let (name, cache, result) = match joined {
            Ok((id, done)) => {
                fleet.in_flight.remove(&id);
                (done.name, done.cache, Some(done.result))
            }
            // A pass that panicked (a bug) loses its cache, not its group.
            Err(e) => match fleet.in_flight.remove(&e.id()) {
                Some(name) => (name, ObserveCache::default(), None),
                None => return,
            },
        };
        if let Some(owed) = fleet.once_owed.as_mut() {
            owed.remove(&name);
        }
        let Some(entry) = fleet.groups.get_mut(&name) else {
            return;
        };
        entry.cache = Some(cache);
        entry.last_pass_end = Some(Instant::now());
        if entry.deleted {
            fleet.groups.remove(&name);
            return;
        }
        let (delay, urgency) = match result {
            Some(Ok(Ok(outcome))) => {
                let next = requeue::after_pass(&outcome, &mut entry.backoff);
                tracing::debug!(group = %name, phase = outcome.phase.as_str(), requeue_s = next.0.as_secs_f64(), "{}", outcome.summary);
                entry.ready = outcome.ready;
                if outcome.ready {
                    fleet.not_ready.remove(&name);
                } else {
                    fleet.not_ready.insert(name.clone());
                }
                entry.doc.status = Some(outcome.status);
                next
            }
            Some(Ok(Err(err))) => {
                self.metrics.reconcile_error(err.category());
                tracing::warn!(group = %name, error = %err, category = err.category(), "reconcile failed");
                if err.is_fencing() {
                    if let Some(shard) = self.shards.get(entry.shard as usize) {
                        shard.fenced();
                    }
                }
                entry.reread = true;
                requeue::after_error(&err, &mut entry.backoff)
            }
            Some(Err(_elapsed)) => {
                tracing::warn!(group = %name, timeout_s = self.config.pass_timeout.as_secs(), "pass abandoned after its timeout; the next pass re-reads");
                entry.reread = true;
                (Duration::from_secs(1), Urgency::Operation)
            }
            None => {
                entry.reread = true;
                (Duration::from_secs(1), Urgency::Operation)
            }
        };
        if mode == RunMode::Once {
            return;
        }
        let now = Instant::now();
        fleet.scheduler.schedule(&name, now + delay, urgency);
        if let Some(rerun) = entry.rerun.take() {
            fleet.scheduler.schedule(&name, now, rerun);
        }
    }

    fn finished(&self, fleet: &Fleet, mode: RunMode) -> Option<RunOutcome> {
        match mode {
            RunMode::Forever => None,
            RunMode::Once => fleet
                .once_owed
                .as_ref()
                .filter(|owed| owed.is_empty())
                .map(|_| RunOutcome::PassCompleted),
            RunMode::UntilConverged => {
                let held = self.held_shards();
                let count = self.shards.len() as u32;
                let mine = |name: &String| held.contains(&shards::shard_of(name, count));
                let any_mine = fleet.groups.keys().any(mine);
                let all_ready = !fleet.not_ready.iter().any(mine);
                (any_mine && all_ready).then_some(RunOutcome::Converged)
            }
        }
    }
}
