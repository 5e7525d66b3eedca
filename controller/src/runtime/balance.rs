//! Spreading the shards over the replicas that are alive (`--shards K`, several replicas).
//!
//! Without it the first replica to start takes every shard and the others stand by, which is
//! safe but leaves one replica doing the whole fleet's work. The shape is the Kinesis Client
//! Library's lease balancing, with one change: a replica never *steals* a shard, because a
//! stolen shard has two actors until the old holder notices. Instead:
//!
//! - every replica holds one *seat* lease (`{lease}-seat-{i}-of-{K}`, the first free of K),
//!   renewed every retry period, so the live replicas can be counted from the store;
//! - a seat counts as live while it was renewed within the renew deadline (a replica renews
//!   every retry period; one that missed that many renewals is treated as gone before its
//!   shards' leases run out, so the survivors are ready to take them);
//! - the fair share is `ceil(K / live)`. A replica over it *sheds* one shard per round: it
//!   stops acting for it at once, waits `lease_duration - renew_deadline` (the same margin a
//!   replica that dies leaves between its last act and its lease running out), releases the
//!   lease, and does not take it back for a lease duration, so a replica under its share
//!   takes it on its next retry;
//! - a replica at its share does not take another free shard while the count is known. A
//!   shard whose holder died is still taken, because the dead holder's seat stops counting
//!   before its shards' leases run out, which raises the survivors' share first.
//!
//! No consensus of our own: only conditional writes of the store's leases, as before.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use drctl_cloud::Clock;
use drctl_state::{Lease, Store, StoreError};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::reconcile::LeaseCheck;
use crate::runtime::leader::{LeaseEvent, LeaseTimings, ShardLease};
use crate::runtime::shards;

/// The shards of this replica and its fair share of them, shared with the lease keepers.
#[derive(Debug)]
pub struct ShardBalance {
    shards: Vec<Arc<ShardLease>>,
    /// `ceil(K / live replicas)`; 0 until the first count (no limit: take what is free).
    share: AtomicU32,
}

impl ShardBalance {
    pub fn new(shards: Vec<Arc<ShardLease>>) -> Self {
        ShardBalance {
            shards,
            share: AtomicU32::new(0),
        }
    }

    pub fn shards(&self) -> &[Arc<ShardLease>] {
        &self.shards
    }

    /// How many shards this replica acts for now.
    pub fn held(&self) -> usize {
        self.shards.iter().filter(|s| s.still_leader()).count()
    }

    /// The fair share last counted, if any.
    pub fn share(&self) -> Option<u32> {
        Some(self.share.load(Ordering::Relaxed)).filter(|s| *s > 0)
    }

    /// Whether a keeper may take a free shard: always until the replicas were counted, then
    /// only below the fair share.
    pub fn may_acquire(&self) -> bool {
        self.share()
            .is_none_or(|share| self.held() < usize::try_from(share).unwrap_or(usize::MAX))
    }

    fn set_share(&self, share: u32) {
        self.share.store(share, Ordering::Relaxed);
    }
}

/// `ceil(shards / live)`: the most shards one replica holds when they are spread evenly.
pub fn fair_share(shards: u32, live: u32) -> u32 {
    shards.div_ceil(live.max(1))
}

/// The seat and shedding task of one replica.
pub struct Balancer {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub replica: String,
    pub timings: LeaseTimings,
    /// The base lease name (`--lease`), shared by the shards' and the seats' names.
    pub lease_name: String,
    pub balance: Arc<ShardBalance>,
    pub events: mpsc::UnboundedSender<LeaseEvent>,
}

impl Balancer {
    pub async fn run(self, shutdown: CancellationToken) {
        let mut seat: Option<Lease> = None;
        loop {
            self.round(&mut seat).await;
            // biased: a random branch order would make rehearsals depend on more than their seed.
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(self.timings.retry_period) => {}
            }
        }
        if let Some(seat) = seat {
            let _ = self.bounded(self.store.release_lease(&seat)).await;
        }
    }

    fn count(&self) -> u32 {
        u32::try_from(self.balance.shards().len()).unwrap_or(1)
    }

    /// One round: keep the seat, count the live replicas, shed one shard if over the share.
    async fn round(&self, seat: &mut Option<Lease>) {
        *seat = self.keep_seat(seat.take()).await;
        let Some(live) = self.live_replicas(seat.as_ref()).await else {
            // The store did not answer: keep the share last counted.
            return;
        };
        let share = fair_share(self.count(), live);
        self.balance.set_share(share);
        let over = self.balance.held() > usize::try_from(share).unwrap_or(usize::MAX);
        if over {
            self.shed_one().await;
        }
    }

    async fn bounded<T>(
        &self,
        call: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Option<T> {
        tokio::time::timeout(self.timings.renew_deadline, call)
            .await
            .ok()
            .and_then(Result::ok)
    }

    /// Renew the seat held, or take the first free one.
    async fn keep_seat(&self, seat: Option<Lease>) -> Option<Lease> {
        let now = self.clock.now();
        if let Some(seat) = seat {
            let renewed = self
                .bounded(
                    self.store
                        .renew_lease(&seat, now, self.timings.lease_duration_ms()),
                )
                .await;
            // Renewal failed: try to seat again (the same seat if it is still free).
            if renewed.is_some() {
                return renewed;
            }
        }
        for i in 0..self.count() {
            let name = shards::seat_name(&self.lease_name, i, self.count());
            let acquire = self.store.acquire_lease(
                &name,
                &self.replica,
                now,
                self.timings.lease_duration_ms(),
            );
            if let Some(Some(seat)) = self.bounded(acquire).await {
                return Some(seat);
            }
        }
        None
    }

    /// This replica and every other seat renewed within the renew deadline; None if a seat
    /// could not be read.
    async fn live_replicas(&self, own: Option<&Lease>) -> Option<u32> {
        let now = self.clock.now();
        // A seat renewed within the renew deadline has at least this much of its lease left.
        let fresh_ms = i64::try_from(self.timings.release_margin().as_millis()).unwrap_or(0);
        let mut live = 1;
        for i in 0..self.count() {
            let name = shards::seat_name(&self.lease_name, i, self.count());
            if own.is_some_and(|s| s.name == name) {
                continue;
            }
            let seat =
                tokio::time::timeout(self.timings.renew_deadline, self.store.get_lease(&name))
                    .await
                    .ok()?
                    .ok()?;
            let fresh = seat.is_some_and(|s| {
                s.holder != self.replica && s.expires_at > now.plus_millis(fresh_ms)
            });
            live += u32::from(fresh);
        }
        Some(live)
    }

    /// Stop acting for the highest shard held, then hand it back to the store.
    async fn shed_one(&self) {
        let Some(shard) = self
            .balance
            .shards()
            .iter()
            .rev()
            .find(|s| s.still_leader())
            .cloned()
        else {
            return;
        };
        let margin = self.timings.release_margin();
        let Some(lease) = shard.shed(shed_cooldown(&self.timings)) else {
            return;
        };
        tracing::info!(
            shard = shard.shard,
            "shedding the shard to a replica under its share"
        );
        let _ = self.events.send(LeaseEvent::Lost(shard.shard));
        // The same margin a dead replica leaves between its last act and its lease expiring:
        // a pass of this shard that was already past its lease check finishes meanwhile.
        tokio::time::sleep(margin).await;
        let _ = self.bounded(self.store.release_lease(&lease)).await;
    }
}

/// How long a replica waits after shedding before it may take the shard back.
pub fn shed_cooldown(timings: &LeaseTimings) -> Duration {
    timings.release_margin() + timings.lease_duration
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fair_share_rounds_up_so_every_shard_has_room() {
        assert_eq!(fair_share(6, 3), 2);
        assert_eq!(fair_share(7, 3), 3);
        assert_eq!(fair_share(3, 5), 1);
        assert_eq!(fair_share(4, 0), 4, "no count yet is one replica");
    }

    #[test]
    fn a_keeper_takes_free_shards_until_the_replicas_are_counted() {
        let balance = ShardBalance::new(vec![Arc::new(ShardLease::new(0, "s0".into()))]);
        assert!(balance.may_acquire());
        balance.set_share(1);
        assert!(balance.may_acquire(), "holding 0 of a share of 1");
    }
}
