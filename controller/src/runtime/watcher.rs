//! The store watcher (kube-runtime's reflector, on a store without watches): one task that
//! reads the store's change marker every poll interval and lists the groups only when it
//! moved, or when the runtime asks (a shard was just won). A fleet of a thousand converged
//! groups costs one small read a second, not a thousand documents a second, and a slow store
//! never holds the reconciles.

use std::sync::Arc;
use std::time::Duration;

use drctl_schema::FailoverGroup;
use drctl_state::{ChangeMarker, Store, StoreError};
use tokio::sync::{mpsc, Notify};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Every group in the store, as listed.
#[derive(Debug)]
pub struct Snapshot {
    /// When the listing was asked for: status written by a pass that finished after this is
    /// newer than what the snapshot holds.
    pub requested_at: Instant,
    pub groups: Vec<FailoverGroup>,
}

pub struct Watcher {
    pub store: Arc<dyn Store>,
    pub poll: Duration,
    /// A store call that takes longer than this is abandoned until the next poll.
    pub call_timeout: Duration,
    pub snapshots: mpsc::Sender<Result<Snapshot, StoreError>>,
    /// Asks for a listing now, whatever the marker says.
    pub relist: Arc<Notify>,
}

impl Watcher {
    pub async fn run(self, shutdown: CancellationToken) {
        let mut seen: Option<ChangeMarker> = None;
        let mut forced = true;
        loop {
            match self.poll_once(&mut seen, forced).await {
                Ok(Some(snapshot)) => {
                    if self.snapshots.send(Ok(snapshot)).await.is_err() {
                        return;
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    // Try again next poll, listing whatever the marker then says.
                    seen = None;
                    if self.snapshots.send(Err(e)).await.is_err() {
                        return;
                    }
                }
            }
            // biased: a random branch order would make rehearsals depend on more than their seed.
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => return,
                _ = self.relist.notified() => forced = true,
                _ = tokio::time::sleep(self.poll) => forced = false,
            }
        }
    }

    async fn poll_once(
        &self,
        seen: &mut Option<ChangeMarker>,
        forced: bool,
    ) -> Result<Option<Snapshot>, StoreError> {
        // Read the marker before listing: an edit that lands during the listing moves the
        // marker again, and the next poll lists once more.
        let marker = self.bounded(self.store.change_marker()).await?;
        if !forced && *seen == Some(marker) {
            return Ok(None);
        }
        let requested_at = Instant::now();
        let groups = self.bounded(self.store.list()).await?;
        *seen = Some(marker);
        Ok(Some(Snapshot {
            requested_at,
            groups,
        }))
    }

    async fn bounded<T>(
        &self,
        call: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        tokio::time::timeout(self.call_timeout, call)
            .await
            .unwrap_or_else(|_| {
                Err(StoreError::Unavailable {
                    message: format!(
                        "{}: no answer within {} s",
                        self.store.url(),
                        self.call_timeout.as_secs()
                    ),
                })
            })
    }
}
