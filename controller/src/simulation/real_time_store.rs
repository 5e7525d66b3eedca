//! A real store (file or DynamoDB) under a rehearsal's virtual clock.
//!
//! `controller --cloud sim --once|--until-converged` runs the controller on a paused tokio
//! clock that jumps to the next timer whenever the runtime is idle. A store call that waits
//! on the network (DynamoDB) leaves the runtime idle, so virtual time ran ahead while the
//! request was in flight: the SDK's own 25 s operation timeout fired within milliseconds of
//! real time, and every DynamoDB call of a rehearsal failed. (The file store did not show it:
//! its calls run on blocking threads, and tokio does not advance a paused clock while a
//! blocking task runs.)
//!
//! So every call of the wrapped store runs on a real-time runtime, awaited from a blocking
//! task: the virtual clock stands still while the store works, exactly as it does for the
//! file store, and the store's timeouts count real seconds.

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use drctl_schema::{FailoverGroup, FailoverGroupStatus, Timestamp};
use drctl_state::{
    Approval, ApprovalRecord, ChangeMarker, Event, Fence, InitOutcome, Inspection, Lease, Listing,
    Store, StoreError, StoreResult,
};
use tokio::runtime::Handle;

/// The wrapped store's call never came back: the blocking task running it panicked or was
/// cancelled (the runtime shutting down). The call may or may not have been applied, so it
/// reaches the controller as the store being unavailable, as a lost network call would.
#[derive(Debug, thiserror::Error)]
#[error("the store call did not finish: {0}")]
struct CallDidNotFinish(#[from] tokio::task::JoinError);

impl From<CallDidNotFinish> for StoreError {
    fn from(lost: CallDidNotFinish) -> Self {
        StoreError::Unavailable {
            message: lost.to_string(),
        }
    }
}

pub struct RealTimeStore {
    inner: Arc<dyn Store>,
    real_time: Handle,
}

impl RealTimeStore {
    /// `inner`, whose calls run on `real_time` (a runtime on the real clock, not the one
    /// this store is used from).
    pub fn new(inner: Arc<dyn Store>, real_time: Handle) -> Self {
        RealTimeStore { inner, real_time }
    }

    async fn call<T, F, Fut>(&self, call: F) -> StoreResult<T>
    where
        F: FnOnce(Arc<dyn Store>) -> Fut + Send + 'static,
        Fut: Future<Output = StoreResult<T>> + Send + 'static,
        T: Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let real_time = self.real_time.clone();
        tokio::task::spawn_blocking(move || real_time.block_on(call(inner)))
            .await
            .map_err(|err| StoreError::from(CallDidNotFinish(err)))?
    }
}

#[async_trait]
impl Store for RealTimeStore {
    fn url(&self) -> String {
        self.inner.url()
    }

    async fn init(&self) -> StoreResult<InitOutcome> {
        self.call(|s| async move { s.init().await }).await
    }

    async fn get(&self, name: &str) -> StoreResult<Option<FailoverGroup>> {
        let name = name.to_string();
        self.call(move |s| async move { s.get(&name).await }).await
    }

    async fn list(&self) -> StoreResult<Vec<FailoverGroup>> {
        self.call(|s| async move { s.list().await }).await
    }

    async fn list_readable(&self) -> StoreResult<Listing> {
        self.call(|s| async move { s.list_readable().await }).await
    }

    async fn inspect(&self, name: &str) -> StoreResult<Option<Inspection>> {
        let name = name.to_string();
        self.call(move |s| async move { s.inspect(&name).await })
            .await
    }

    async fn create(&self, doc: &FailoverGroup) -> StoreResult<FailoverGroup> {
        let doc = doc.clone();
        self.call(move |s| async move { s.create(&doc).await })
            .await
    }

    async fn update(
        &self,
        doc: &FailoverGroup,
        expected_resource_version: &str,
    ) -> StoreResult<FailoverGroup> {
        let (doc, expected) = (doc.clone(), expected_resource_version.to_string());
        self.call(move |s| async move { s.update(&doc, &expected).await })
            .await
    }

    async fn create_with_event(
        &self,
        doc: &FailoverGroup,
        event: &Event,
    ) -> StoreResult<FailoverGroup> {
        let (doc, event) = (doc.clone(), event.clone());
        self.call(move |s| async move { s.create_with_event(&doc, &event).await })
            .await
    }

    async fn update_with_event(
        &self,
        doc: &FailoverGroup,
        expected_resource_version: &str,
        event: &Event,
    ) -> StoreResult<FailoverGroup> {
        let (doc, event) = (doc.clone(), event.clone());
        let expected = expected_resource_version.to_string();
        self.call(move |s| async move { s.update_with_event(&doc, &expected, &event).await })
            .await
    }

    async fn delete(&self, name: &str, expected_resource_version: Option<&str>) -> StoreResult<()> {
        let name = name.to_string();
        let expected = expected_resource_version.map(str::to_string);
        self.call(move |s| async move { s.delete(&name, expected.as_deref()).await })
            .await
    }

    async fn delete_with_event(
        &self,
        name: &str,
        expected_resource_version: Option<&str>,
        event: &Event,
    ) -> StoreResult<()> {
        let (name, event) = (name.to_string(), event.clone());
        let expected = expected_resource_version.map(str::to_string);
        self.call(move |s| async move {
            s.delete_with_event(&name, expected.as_deref(), &event)
                .await
        })
        .await
    }

    async fn write_status(
        &self,
        name: &str,
        status: &FailoverGroupStatus,
        fence: &Fence,
    ) -> StoreResult<()> {
        let (name, status, fence) = (name.to_string(), status.clone(), fence.clone());
        self.call(move |s| async move { s.write_status(&name, &status, &fence).await })
            .await
    }

    async fn append_event(
        &self,
        name: &str,
        event: &Event,
        fence: Option<&Fence>,
    ) -> StoreResult<u64> {
        let (name, event, fence) = (name.to_string(), event.clone(), fence.cloned());
        self.call(move |s| async move { s.append_event(&name, &event, fence.as_ref()).await })
            .await
    }

    async fn events(&self, name: &str) -> StoreResult<Vec<Event>> {
        let name = name.to_string();
        self.call(move |s| async move { s.events(&name).await })
            .await
    }

    async fn acquire_lease(
        &self,
        lease: &str,
        holder: &str,
        now: Timestamp,
        duration_ms: i64,
    ) -> StoreResult<Option<Lease>> {
        let (lease, holder) = (lease.to_string(), holder.to_string());
        self.call(move |s| async move { s.acquire_lease(&lease, &holder, now, duration_ms).await })
            .await
    }

    async fn renew_lease(
        &self,
        lease: &Lease,
        now: Timestamp,
        duration_ms: i64,
    ) -> StoreResult<Lease> {
        let lease = lease.clone();
        self.call(move |s| async move { s.renew_lease(&lease, now, duration_ms).await })
            .await
    }

    async fn release_lease(&self, lease: &Lease) -> StoreResult<()> {
        let lease = lease.clone();
        self.call(move |s| async move { s.release_lease(&lease).await })
            .await
    }

    async fn get_lease(&self, lease: &str) -> StoreResult<Option<Lease>> {
        let lease = lease.to_string();
        self.call(move |s| async move { s.get_lease(&lease).await })
            .await
    }

    async fn approve(&self, name: &str, approval: &ApprovalRecord) -> StoreResult<()> {
        let (name, approval) = (name.to_string(), approval.clone());
        self.call(move |s| async move { s.approve(&name, &approval).await })
            .await
    }

    async fn approve_with_event(
        &self,
        name: &str,
        approval: &ApprovalRecord,
        event: &Event,
    ) -> StoreResult<Approval> {
        let (name, approval, event) = (name.to_string(), approval.clone(), event.clone());
        self.call(move |s| async move { s.approve_with_event(&name, &approval, &event).await })
            .await
    }

    async fn approval(
        &self,
        name: &str,
        operation_id: &str,
    ) -> StoreResult<Option<ApprovalRecord>> {
        let (name, operation_id) = (name.to_string(), operation_id.to_string());
        self.call(move |s| async move { s.approval(&name, &operation_id).await })
            .await
    }

    async fn change_marker(&self) -> StoreResult<ChangeMarker> {
        self.call(|s| async move { s.change_marker().await }).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::time::Duration;

    use drctl_state::FileStore;

    use super::*;

    /// The store's own timeout (the DynamoDB store's operation timeout is 25 s).
    const STORE_TIMEOUT: Duration = Duration::from_secs(25);
    /// A store call's latency on the network, on the real clock.
    const LATENCY: Duration = Duration::from_millis(100);

    fn runtimes() -> (tokio::runtime::Runtime, tokio::runtime::Runtime) {
        let real = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let paused = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap();
        (real, paused)
    }

    #[test]
    fn a_store_call_in_flight_does_not_move_the_virtual_clock() {
        let (real, paused) = runtimes();
        let dir = tempfile::tempdir().unwrap();
        let store = RealTimeStore::new(
            Arc::new(FileStore::new(dir.path().join("store"))),
            real.handle().clone(),
        );
        paused.block_on(async {
            let start = tokio::time::Instant::now();
            let slow_call = store.call(|_| async {
                tokio::time::sleep(LATENCY).await;
                Ok(())
            });
            let answered = tokio::time::timeout(STORE_TIMEOUT, slow_call).await;
            assert!(matches!(answered, Ok(Ok(()))), "{answered:?}");
            assert_eq!(start.elapsed(), Duration::ZERO);
        });
    }

    #[test]
    fn a_store_call_that_never_comes_back_is_a_retryable_unavailable_store() {
        let (real, paused) = runtimes();
        let dir = tempfile::tempdir().unwrap();
        let store = RealTimeStore::new(
            Arc::new(FileStore::new(dir.path().join("store"))),
            real.handle().clone(),
        );
        paused.block_on(async {
            let lost: StoreResult<()> = store
                .call(|_| async { panic!("the call's task died") })
                .await;
            let Err(err) = lost else {
                panic!("a lost call answered: {lost:?}");
            };
            assert_eq!(err.category(), "retryable");
            assert!(
                err.to_string()
                    .starts_with("store unavailable: the store call did not finish: "),
                "{err}"
            );
        });
    }

    /// What the wrapper is for: the same call awaited directly from the paused runtime lets
    /// the virtual clock run to the timeout while the real call is still in flight.
    #[test]
    fn the_same_call_awaited_directly_times_out_on_the_virtual_clock() {
        let (real, paused) = runtimes();
        paused.block_on(async {
            let slow_call = real.spawn(tokio::time::sleep(LATENCY));
            let answered = tokio::time::timeout(STORE_TIMEOUT, slow_call).await;
            assert!(
                answered.is_err(),
                "the call answered before the virtual timeout"
            );
        });
    }
}
