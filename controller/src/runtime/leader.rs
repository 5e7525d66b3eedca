//! Leader election, on its own tasks (like client-go's leaderelection): one task per shard
//! lease acquires or renews it every retry period, whatever the reconciles are doing. A pass
//! over a thousand groups can no longer starve the renewal, and a renewal that hangs holds no
//! reconcile.
//!
//! Numbers follow Kubernetes (aws-facts.md, Leases): a 15 s lease, a 10 s renew deadline, a
//! 2 s retry period. The holder stops acting at its renew deadline, measured from when its
//! last successful renewal was *sent*, which is before anyone else can take the lease. Every
//! status and journal write is also fenced by the epoch at the store, so a replica paused past
//! its deadline cannot write even if it tries.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use drctl_cloud::Clock;
use drctl_state::{Fence, Lease, Store, StoreError};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;
use crate::reconcile::LeaseCheck;
use crate::runtime::balance::ShardBalance;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseTimings {
    pub lease_duration: Duration,
    pub renew_deadline: Duration,
    pub retry_period: Duration,
}

impl LeaseTimings {
    /// The lease duration as the store stamps it.
    pub fn lease_duration_ms(&self) -> i64 {
        i64::try_from(self.lease_duration.as_millis()).unwrap_or(15_000)
    }

    /// What separates a holder's last act (its renew deadline) from its lease running out.
    pub fn release_margin(&self) -> Duration {
        self.lease_duration.saturating_sub(self.renew_deadline)
    }
}

impl Default for LeaseTimings {
    fn default() -> Self {
        LeaseTimings {
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

/// One shard's lease as this replica sees it, shared by its keeper and the passes.
#[derive(Debug)]
pub struct ShardLease {
    pub shard: u32,
    pub name: String,
    state: Mutex<Held>,
}

#[derive(Debug, Default)]
struct Held {
    lease: Option<Lease>,
    act_until: Option<Instant>,
    /// Shed to another replica: not taken back before this.
    shed_until: Option<Instant>,
}

impl ShardLease {
    pub fn new(shard: u32, name: String) -> Self {
        ShardLease {
            shard,
            name,
            state: Mutex::new(Held::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Held> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn lease(&self) -> Option<Lease> {
        self.lock().lease.clone()
    }

    /// The fence to write with, while this replica may act for the shard.
    pub fn fence(&self) -> Option<Fence> {
        let held = self.lock();
        let acting = held.act_until.is_some_and(|t| Instant::now() < t);
        held.lease.as_ref().filter(|_| acting).map(Lease::fence)
    }

    fn set(&self, lease: Option<Lease>, act_until: Option<Instant>) {
        let mut held = self.lock();
        held.lease = lease;
        held.act_until = act_until;
    }

    /// The store refused a write as fenced: stop acting now (the keeper's next attempt
    /// finds out who holds the lease).
    pub fn fenced(&self) {
        self.step_down();
    }

    /// Stop acting for the shard so that another replica can take it, and keep away from it
    /// for `cooldown`. The lease held, to release once passes in flight are past it.
    pub fn shed(&self, cooldown: Duration) -> Option<Lease> {
        let mut held = self.lock();
        let lease = held.lease.take();
        held.act_until = None;
        held.shed_until = lease.as_ref().map(|_| Instant::now() + cooldown);
        lease
    }

    fn recently_shed(&self) -> bool {
        self.lock().shed_until.is_some_and(|t| Instant::now() < t)
    }

    fn step_down(&self) -> bool {
        let mut held = self.lock();
        let was = held.lease.is_some();
        held.lease = None;
        held.act_until = None;
        was
    }
}

impl LeaseCheck for ShardLease {
    fn still_leader(&self) -> bool {
        self.fence().is_some()
    }
}

/// What a keeper tells the runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseEvent {
    /// This replica now holds the shard (a new epoch: re-read its groups).
    Gained(u32),
    /// This replica stopped acting for the shard.
    Lost(u32),
    /// The first attempt for the shard finished: held, or held by `holder`.
    FirstAttempt { shard: u32, holder: Option<String> },
}

/// Everything a keeper needs; cloned into each shard's task.
#[derive(Clone)]
pub struct LeaseKeeper {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub replica: String,
    pub timings: LeaseTimings,
    pub events: mpsc::UnboundedSender<LeaseEvent>,
    pub metrics: Arc<Metrics>,
    /// The fair share of shards, when several replicas share them.
    pub balance: Option<Arc<ShardBalance>>,
    /// The lease is stamped with the wall clock while this runtime runs on another (a
    /// rehearsal's virtual time): another holder's lease then runs out in real seconds, so
    /// waiting for it must not let virtual time run (see [`LeaseKeeper::pause`]).
    pub others_expire_on_wall_clock: bool,
}

/// The outcome of one attempt to acquire or renew.
#[derive(Debug, PartialEq, Eq)]
enum Tended {
    Held {
        new_epoch: bool,
    },
    HeldByOther(String),
    /// Not asked for: shed a moment ago, or this replica is at its fair share (`balance`).
    Declined,
    /// The store did not answer: act only until the last renewal's deadline.
    Unknown,
}

impl LeaseKeeper {
    /// Tend `shard` every retry period until `shutdown`, then release it.
    pub async fn run(self, shard: Arc<ShardLease>, shutdown: CancellationToken) {
        let mut first = true;
        loop {
            let tended = self.tend(&shard).await;
            self.report(&shard, &tended, first);
            first = false;
            // biased: a random branch order would make rehearsals depend on more than their seed.
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                _ = self.pause(&tended) => {}
            }
        }
        if let Some(lease) = shard.lease() {
            let _ = tokio::time::timeout(
                self.timings.renew_deadline,
                self.store.release_lease(&lease),
            )
            .await;
        }
        if shard.step_down() {
            let _ = self.events.send(LeaseEvent::Lost(shard.shard));
        }
    }

    /// The retry period before the next attempt. A rehearsal on virtual time whose lease
    /// lives on the wall clock (a real store) waits for another holder's lease on the wall
    /// clock, from a blocking task, during which tokio does not advance its paused clock: a
    /// rehearsal restarted after a crash would otherwise race through its whole virtual
    /// timeout while the dead replica's lease still had real seconds to run.
    async fn pause(&self, tended: &Tended) {
        let period = self.timings.retry_period;
        if self.others_expire_on_wall_clock && matches!(tended, Tended::HeldByOther(_)) {
            let _ = tokio::task::spawn_blocking(move || std::thread::sleep(period)).await;
        } else {
            tokio::time::sleep(period).await;
        }
    }

    fn report(&self, shard: &ShardLease, tended: &Tended, first: bool) {
        // Ready means "a working replica": one that reaches the store, whether or not it
        // holds a lease. A standby that never reported ready would stall every rollout.
        if matches!(tended, Tended::Held { .. } | Tended::HeldByOther(_)) {
            self.metrics.set_ready(true);
        }
        let event = match tended {
            Tended::Held { new_epoch: true } => Some(LeaseEvent::Gained(shard.shard)),
            Tended::HeldByOther(_) => shard.step_down().then_some(LeaseEvent::Lost(shard.shard)),
            // Keep acting only until the renew deadline of the last good renewal.
            Tended::Unknown if !shard.still_leader() => {
                shard.step_down().then_some(LeaseEvent::Lost(shard.shard))
            }
            _ => None,
        };
        if let Some(event) = event {
            let _ = self.events.send(event);
        }
        if first {
            let holder = match tended {
                Tended::HeldByOther(h) => Some(h.clone()),
                _ => None,
            };
            let _ = self.events.send(LeaseEvent::FirstAttempt {
                shard: shard.shard,
                holder,
            });
        }
    }

    async fn tend(&self, shard: &ShardLease) -> Tended {
        let at_share = || self.balance.as_ref().is_some_and(|b| !b.may_acquire());
        if shard.lease().is_none() && (shard.recently_shed() || at_share()) {
            return Tended::Declined;
        }
        let sent = Instant::now();
        let now = self.clock.now();
        let duration_ms = self.timings.lease_duration_ms();
        let before = shard.lease().map(|l| l.epoch);
        let attempt = async {
            match shard.lease() {
                Some(lease) => self
                    .store
                    .renew_lease(&lease, now, duration_ms)
                    .await
                    .map(Some),
                None => {
                    self.store
                        .acquire_lease(&shard.name, &self.replica, now, duration_ms)
                        .await
                }
            }
        };
        // A store that never answers must not keep this task from noticing its deadline.
        let result = tokio::time::timeout(self.timings.renew_deadline, attempt)
            .await
            .unwrap_or_else(|_| {
                Err(StoreError::Unavailable {
                    message: format!(
                        "lease {}: no answer within {} s",
                        shard.name,
                        self.timings.renew_deadline.as_secs()
                    ),
                })
            });
        match result {
            Ok(Some(lease)) => {
                let new_epoch = before != Some(lease.epoch);
                // A renewal that came back after the last one's deadline (a frozen process, a
                // slow store) resumes acting after a gap in which the runtime dropped the
                // shard's groups as they fell due: like a new epoch, it must requeue them.
                // (Found by the drill campaign, seed 139: an 11 s pause left a replica
                // renewing its lease for good and never reconciling again.)
                let lapsed = !shard.still_leader();
                if new_epoch {
                    tracing::info!(lease = %lease.name, epoch = lease.epoch, "became leader");
                } else if lapsed {
                    tracing::info!(lease = %lease.name, epoch = lease.epoch, "acting again after the renew deadline lapsed");
                }
                shard.set(Some(lease), Some(sent + self.timings.renew_deadline));
                Tended::Held {
                    new_epoch: new_epoch || lapsed,
                }
            }
            Ok(None) => self.held_by_other(shard).await,
            Err(StoreError::LeaseLost { .. } | StoreError::Fenced { .. }) => {
                tracing::warn!(lease = %shard.name, "lost the lease; stopping to act");
                self.held_by_other(shard).await
            }
            Err(e) => {
                tracing::warn!(lease = %shard.name, error = %e, "could not renew the lease");
                Tended::Unknown
            }
        }
    }

    async fn held_by_other(&self, shard: &ShardLease) -> Tended {
        let holder =
            tokio::time::timeout(self.timings.retry_period, self.store.get_lease(&shard.name))
                .await
                .ok()
                .and_then(Result::ok)
                .flatten()
                .map(|l| format!("{} (until {})", l.holder, l.expires_at))
                .unwrap_or_else(|| "another replica".to_string());
        Tended::HeldByOther(holder)
    }
}

#[cfg(test)]
mod tests {
    use drctl_sim::{SimConfig, SimWorld};

    use super::*;

    fn keeper(
        world: &Arc<SimWorld>,
        replica: &str,
    ) -> (LeaseKeeper, mpsc::UnboundedReceiver<LeaseEvent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            LeaseKeeper {
                store: world.store_as(replica),
                clock: world.clock(),
                replica: replica.to_string(),
                timings: LeaseTimings::default(),
                events: tx,
                metrics: Metrics::new(),
                others_expire_on_wall_clock: false,
                balance: None,
            },
            rx,
        )
    }

    #[tokio::test(start_paused = true)]
    async fn the_lease_is_kept_renewed_while_nothing_else_runs() {
        let world = SimWorld::new(SimConfig::new(1));
        let (k, mut rx) = keeper(&world, "a");
        let shard = Arc::new(ShardLease::new(0, "drctl".into()));
        let stop = CancellationToken::new();
        let task = tokio::spawn(k.run(shard.clone(), stop.clone()));
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert!(shard.still_leader(), "renewed every 2 s for a minute");
        assert_eq!(rx.recv().await, Some(LeaseEvent::Gained(0)));
        stop.cancel();
        let _ = task.await;
        assert!(!shard.still_leader());
        let lease = world.store().get_lease("drctl").await.ok().flatten();
        assert!(
            lease.is_some_and(|l| l.expires_at <= world.now()),
            "released on shutdown"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_replica_stops_acting_at_its_renew_deadline_when_the_store_is_gone() {
        let world = SimWorld::new(SimConfig::new(1));
        let (k, mut rx) = keeper(&world, "a");
        let shard = Arc::new(ShardLease::new(0, "drctl".into()));
        let stop = CancellationToken::new();
        tokio::spawn(k.run(shard.clone(), stop.clone()));
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(shard.still_leader());
        world.set_store_unavailable(true);
        // The last renewal that reached the store was sent at or before now.
        tokio::time::sleep(Duration::from_millis(10_010)).await;
        assert!(!shard.still_leader(), "no acting past the renew deadline");
        let mut events = Vec::new();
        while let Ok(e) = rx.try_recv() {
            events.push(e);
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
        while let Ok(e) = rx.try_recv() {
            events.push(e);
        }
        assert!(events.contains(&LeaseEvent::Lost(0)), "{events:?}");
        stop.cancel();
    }

    /// A renewal held up past the renew deadline (the replica frozen for 11 s: longer than
    /// the 10 s deadline, shorter than the 15 s lease) comes back successful with the same
    /// epoch: acting resumes, and the runtime must hear it as a gain, or it never requeues
    /// the groups it dropped in the gap.
    #[tokio::test(start_paused = true)]
    async fn acting_again_after_a_lapsed_renew_deadline_is_reported_as_a_gain() {
        let world = SimWorld::new(SimConfig::new(1));
        let (k, mut rx) = keeper(&world, "a");
        let shard = Arc::new(ShardLease::new(0, "drctl".into()));
        let stop = CancellationToken::new();
        tokio::spawn(k.run(shard.clone(), stop.clone()));
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        assert_eq!(rx.recv().await, Some(LeaseEvent::Gained(0)));
        world.pause_caller("a", Duration::from_secs(11));
        let mut lapsed = false;
        for _ in 0..200 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            lapsed |= !shard.still_leader();
        }
        assert!(lapsed, "the pause outlasted the renew deadline");
        assert!(shard.still_leader(), "renewing again after the pause");
        let mut events = Vec::new();
        while let Ok(e) = rx.try_recv() {
            events.push(e);
        }
        assert!(events.contains(&LeaseEvent::Gained(0)), "{events:?}");
        stop.cancel();
    }

    #[tokio::test(start_paused = true)]
    async fn a_shed_shard_is_left_to_others_for_its_cooldown_then_taken_again() {
        let world = SimWorld::new(SimConfig::new(1));
        let (k, _rx) = keeper(&world, "a");
        let shard = Arc::new(ShardLease::new(0, "drctl".into()));
        let stop = CancellationToken::new();
        tokio::spawn(k.run(shard.clone(), stop.clone()));
        tokio::time::sleep(Duration::from_secs(1)).await;
        let lease = shard.shed(Duration::from_secs(20)).unwrap();
        assert!(!shard.still_leader(), "acting stops when shed");
        world.store().release_lease(&lease).await.unwrap();
        tokio::time::sleep(Duration::from_secs(15)).await;
        assert!(!shard.still_leader(), "not taken back within the cooldown");
        tokio::time::sleep(Duration::from_secs(8)).await;
        assert!(shard.still_leader(), "taken back once nobody else did");
        stop.cancel();
    }

    #[tokio::test(start_paused = true)]
    async fn a_second_replica_takes_over_within_one_lease_duration_of_the_first_dying() {
        let world = SimWorld::new(SimConfig::new(1));
        let (ka, _ra) = keeper(&world, "a");
        let (kb, mut rb) = keeper(&world, "b");
        let (sa, sb) = (
            Arc::new(ShardLease::new(0, "drctl".into())),
            Arc::new(ShardLease::new(0, "drctl".into())),
        );
        let (stop_a, stop_b) = (CancellationToken::new(), CancellationToken::new());
        let a = tokio::spawn(ka.run(sa.clone(), stop_a.clone()));
        tokio::time::sleep(Duration::from_millis(500)).await;
        tokio::spawn(kb.run(sb.clone(), stop_b.clone()));
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert!(sa.still_leader() && !sb.still_leader());
        assert!(matches!(
            rb.recv().await,
            Some(LeaseEvent::FirstAttempt {
                holder: Some(_),
                ..
            })
        ));
        // Kill a without releasing: its lease runs out by itself.
        a.abort();
        let died = Instant::now();
        assert_eq!(rb.recv().await, Some(LeaseEvent::Gained(0)));
        let took = Instant::now() - died;
        assert!(
            took <= Duration::from_secs(15 + 2),
            "taken over within the lease duration plus a retry period, took {took:?}"
        );
        stop_b.cancel();
    }
}
