//! drctl-state's `Store` in memory, inside the world: the same semantics as the file store
//! (resourceVersion compare-and-set, generation bumped on spec changes only, status kept
//! separately, status and journal writes fenced by the lease epoch, leases with epochs
//! judged by the `now` passed in, a change marker moved by spec writes and approvals), sharing the world's sequence so that the invariant
//! checker can tell which lease epoch was current at each cloud call.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use drctl_schema::{FailoverGroup, FailoverGroupStatus, Timestamp};
use drctl_state::{
    rules, Approval, ApprovalRecord, ChangeMarker, Event, Fence, InitOutcome, Lease, Store,
    StoreError, StoreResult,
};

use crate::config::SimService;
use crate::keys::ApprovalKey;
use crate::record::{CallOutcome, CallRecord, LeaseLogEntry};
use crate::state::{ms, Ctx, State};
use crate::world::SimWorld;

/// The store's simulated faults: what a test or a drill makes the store do, never a defect
/// of the store. Each reaches the controller as the drctl-state error a real backend gives
/// for the same failure, so its category (and the controller's retry decision) is that one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SimStoreFault {
    /// `SimWorld::set_store_unavailable(true)`: every call fails, as in a backend outage.
    #[error("the simulated store is unavailable")]
    Unavailable,
}

impl From<SimStoreFault> for StoreError {
    fn from(fault: SimStoreFault) -> Self {
        match fault {
            SimStoreFault::Unavailable => StoreError::Unavailable {
                message: fault.to_string(),
            },
        }
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct MemStoreData {
    /// Spec records (no status), as `rules::created_record` / `updated_record` make them.
    docs: BTreeMap<String, FailoverGroup>,
    statuses: BTreeMap<String, FailoverGroupStatus>,
    journals: BTreeMap<String, Vec<Event>>,
    approvals: BTreeMap<ApprovalKey, ApprovalRecord>,
    leases: BTreeMap<String, Lease>,
    /// Bumped by every create, update, delete and newly recorded approval.
    change_marker: u64,
    pub(crate) unavailable: bool,
}

impl MemStoreData {
    /// Every stored status, by group name (for the checker).
    pub(crate) fn statuses(&self) -> BTreeMap<String, FailoverGroupStatus> {
        self.statuses.clone()
    }

    /// The names of the stored groups for which `pred` (on the spec record and its status)
    /// does not hold, among `among` (every group if None). Borrows, clones nothing.
    pub(crate) fn names_where_not(
        &self,
        among: Option<&[String]>,
        pred: &dyn Fn(&FailoverGroup, Option<&FailoverGroupStatus>) -> bool,
    ) -> Vec<String> {
        let fails = |doc: &FailoverGroup| !pred(doc, self.statuses.get(&doc.metadata.name));
        match among {
            Some(names) => names
                .iter()
                .filter(|n| self.docs.get(*n).is_some_and(fails))
                .cloned()
                .collect(),
            None => self
                .docs
                .values()
                .filter(|d| fails(d))
                .map(|d| d.metadata.name.clone())
                .collect(),
        }
    }

    fn with_status(&self, record: &FailoverGroup) -> FailoverGroup {
        let mut doc = record.clone();
        doc.status = self.statuses.get(&record.metadata.name).cloned();
        doc
    }

    fn check_fence(&self, fence: &Fence) -> StoreResult<()> {
        rules::check_name("lease", &fence.lease)?;
        rules::check_fence(fence, self.leases.get(&fence.lease))
    }
}

pub(crate) struct SimStore {
    pub(crate) world: Arc<SimWorld>,
    pub(crate) caller: String,
}

impl SimStore {
    async fn run<T, F>(
        &self,
        op: &'static str,
        mutating: bool,
        resource: &str,
        f: F,
    ) -> StoreResult<T>
    where
        F: FnOnce(&mut State, &Ctx) -> StoreResult<T> + Send,
        T: Send,
    {
        let paused = self.world.current().pause_left(&self.caller);
        if !paused.is_zero() {
            tokio::time::sleep(paused).await;
        }
        let latency = {
            let st = self.world.current();
            ms(st.cfg.timings.latency(SimService::Store))
        };
        if latency > 0 {
            tokio::time::sleep(Duration::from_millis(u64::try_from(latency).unwrap_or(0))).await;
        }
        let mut st = self.world.current();
        let now = st.now;
        let seq = st.next_seq();
        let ctx = Ctx {
            seq,
            caller: self.caller.clone(),
            now,
        };
        let result = if st.store.unavailable {
            Err(SimStoreFault::Unavailable.into())
        } else {
            f(&mut st, &ctx)
        };
        if st.cfg.record_store_calls {
            let outcome = match &result {
                Ok(_) => CallOutcome {
                    ok: true,
                    code: None,
                    category: None,
                    applied: mutating,
                    outcome_unknown: false,
                },
                Err(e) => CallOutcome {
                    ok: false,
                    code: Some(e.category().to_string()),
                    category: Some(e.category().to_string()),
                    applied: false,
                    outcome_unknown: matches!(e, StoreError::Unavailable { .. }),
                },
            };
            let at = st.ts(now);
            st.calls.push(CallRecord {
                seq,
                caller: self.caller.clone(),
                at_ms: now,
                at,
                service: SimService::Store.as_str().to_string(),
                operation: op.to_string(),
                region: String::new(),
                resource: resource.to_string(),
                mutating,
                outcome,
            });
        }
        result
    }
}

fn log_lease(st: &mut State, ctx: &Ctx, lease: &Lease, action: &str) {
    st.lease_log.push(LeaseLogEntry {
        seq: ctx.seq,
        at_ms: ctx.now,
        lease: lease.name.clone(),
        holder: lease.holder.clone(),
        epoch: lease.epoch,
        expires_at: lease.expires_at,
        action: action.to_string(),
    });
}

#[async_trait]
impl Store for SimStore {
    fn url(&self) -> String {
        "sim://memory".to_string()
    }

    /// The world's store exists from the start (like a store `drctl init` already made).
    async fn init(&self) -> StoreResult<InitOutcome> {
        self.run("Init", false, "", |_, _| Ok(InitOutcome::AlreadyExisted))
            .await
    }

    async fn get(&self, name: &str) -> StoreResult<Option<FailoverGroup>> {
        rules::check_name("failovergroup", name)?;
        self.run("Get", false, name, |st, _| {
            Ok(st.store.docs.get(name).map(|d| st.store.with_status(d)))
        })
        .await
    }

    async fn list(&self) -> StoreResult<Vec<FailoverGroup>> {
        self.run("List", false, "", |st, _| {
            Ok(st
                .store
                .docs
                .values()
                .map(|d| st.store.with_status(d))
                .collect())
        })
        .await
    }

    async fn create(&self, doc: &FailoverGroup) -> StoreResult<FailoverGroup> {
        let name = doc.metadata.name.as_str();
        rules::check_name("failovergroup", name)?;
        self.run("Create", true, name, |st, _| {
            if st.store.docs.contains_key(name) {
                return Err(rules::already_exists(name));
            }
            let record = rules::created_record(doc);
            st.store.docs.insert(name.to_string(), record.clone());
            st.store.change_marker += 1;
            Ok(record)
        })
        .await
    }

    async fn update(
        &self,
        doc: &FailoverGroup,
        expected_resource_version: &str,
    ) -> StoreResult<FailoverGroup> {
        let name = doc.metadata.name.clone();
        rules::check_name("failovergroup", &name)?;
        self.run("Update", true, &name, |st, _| {
            let record = rules::checked_update(
                &name,
                st.store.docs.get(&name),
                doc,
                expected_resource_version,
            )?;
            st.store.docs.insert(name.clone(), record.clone());
            st.store.change_marker += 1;
            Ok(record)
        })
        .await
    }

    async fn delete(&self, name: &str, expected_resource_version: Option<&str>) -> StoreResult<()> {
        rules::check_name("failovergroup", name)?;
        self.run("Delete", true, name, |st, _| {
            rules::check_delete(name, st.store.docs.get(name), expected_resource_version)?;
            st.store.docs.remove(name);
            st.store.statuses.remove(name);
            st.store.approvals.retain(|k, _| k.group != name);
            st.store.change_marker += 1;
            Ok(())
        })
        .await
    }

    async fn write_status(
        &self,
        name: &str,
        status: &FailoverGroupStatus,
        fence: &Fence,
    ) -> StoreResult<()> {
        rules::check_name("failovergroup", name)?;
        self.run("WriteStatus", true, name, |st, _| {
            st.store.check_fence(fence)?;
            if !st.store.docs.contains_key(name) {
                return Err(rules::not_found(name));
            }
            st.store.statuses.insert(name.to_string(), status.clone());
            Ok(())
        })
        .await
    }

    async fn append_event(
        &self,
        name: &str,
        event: &Event,
        fence: Option<&Fence>,
    ) -> StoreResult<u64> {
        rules::check_name("failovergroup", name)?;
        self.run("AppendEvent", true, name, |st, _| {
            if let Some(f) = fence {
                st.store.check_fence(f)?;
            }
            let journal = st.store.journals.entry(name.to_string()).or_default();
            let seq = journal.last().map_or(0, |e| e.seq) + 1;
            let mut e = event.clone();
            e.seq = seq;
            journal.push(e);
            Ok(seq)
        })
        .await
    }

    async fn events(&self, name: &str) -> StoreResult<Vec<Event>> {
        rules::check_name("failovergroup", name)?;
        self.run("Events", false, name, |st, _| {
            Ok(st.store.journals.get(name).cloned().unwrap_or_default())
        })
        .await
    }

    async fn acquire_lease(
        &self,
        lease: &str,
        holder: &str,
        now: Timestamp,
        duration_ms: i64,
    ) -> StoreResult<Option<Lease>> {
        rules::check_name("lease", lease)?;
        self.run("AcquireLease", true, lease, |st, ctx| {
            let taken =
                rules::lease_to_take(st.store.leases.get(lease), lease, holder, now, duration_ms);
            if let Some(l) = &taken {
                st.store.leases.insert(lease.to_string(), l.clone());
                log_lease(st, ctx, l, "acquired");
            }
            Ok(taken)
        })
        .await
    }

    async fn renew_lease(
        &self,
        lease: &Lease,
        now: Timestamp,
        duration_ms: i64,
    ) -> StoreResult<Lease> {
        rules::check_name("lease", &lease.name)?;
        self.run("RenewLease", true, &lease.name, |st, ctx| {
            let renewed =
                rules::renewed(lease, st.store.leases.get(&lease.name), now, duration_ms)?;
            st.store.leases.insert(lease.name.clone(), renewed.clone());
            log_lease(st, ctx, &renewed, "renewed");
            Ok(renewed)
        })
        .await
    }

    async fn release_lease(&self, lease: &Lease) -> StoreResult<()> {
        rules::check_name("lease", &lease.name)?;
        self.run("ReleaseLease", true, &lease.name, |st, ctx| {
            if let Some(released) = rules::released(lease, st.store.leases.get(&lease.name)) {
                st.store.leases.insert(lease.name.clone(), released.clone());
                log_lease(st, ctx, &released, "released");
            }
            Ok(())
        })
        .await
    }

    async fn get_lease(&self, lease: &str) -> StoreResult<Option<Lease>> {
        rules::check_name("lease", lease)?;
        self.run("GetLease", false, lease, |st, _| {
            Ok(st.store.leases.get(lease).cloned())
        })
        .await
    }

    async fn approve(&self, name: &str, approval: &ApprovalRecord) -> StoreResult<()> {
        rules::check_name("failovergroup", name)?;
        rules::check_name("operation", &approval.operation_id)?;
        self.run("Approve", true, name, |st, _| {
            if !st.store.docs.contains_key(name) {
                return Err(rules::not_found(name));
            }
            let key = ApprovalKey {
                group: name.to_string(),
                operation_id: approval.operation_id.clone(),
            };
            // The first approval stands: a repeat records nothing, so nothing changed.
            if let Entry::Vacant(vacant) = st.store.approvals.entry(key) {
                vacant.insert(approval.clone());
                st.store.change_marker += 1;
            }
            Ok(())
        })
        .await
    }

    async fn approve_with_event(
        &self,
        name: &str,
        approval: &ApprovalRecord,
        event: &Event,
    ) -> StoreResult<Approval> {
        rules::check_name("failovergroup", name)?;
        rules::check_name("operation", &approval.operation_id)?;
        // One call: a fault either fails the approval with its event or neither.
        self.run("Approve", true, name, |st, _| {
            if !st.store.docs.contains_key(name) {
                return Err(rules::not_found(name));
            }
            let key = ApprovalKey {
                group: name.to_string(),
                operation_id: approval.operation_id.clone(),
            };
            if let Some(earlier) = st.store.approvals.get(&key) {
                return Ok(Approval::AlreadyApproved(earlier.clone()));
            }
            st.store.approvals.insert(key, approval.clone());
            st.store.change_marker += 1;
            let journal = st.store.journals.entry(name.to_string()).or_default();
            let mut event = event.clone();
            event.seq = journal.last().map_or(0, |e| e.seq) + 1;
            journal.push(event);
            Ok(Approval::Recorded)
        })
        .await
    }

    async fn approval(
        &self,
        name: &str,
        operation_id: &str,
    ) -> StoreResult<Option<ApprovalRecord>> {
        rules::check_name("failovergroup", name)?;
        rules::check_name("operation", operation_id)?;
        self.run("Approval", false, name, |st, _| {
            Ok(st
                .store
                .approvals
                .get(&ApprovalKey {
                    group: name.to_string(),
                    operation_id: operation_id.to_string(),
                })
                .cloned())
        })
        .await
    }

    async fn change_marker(&self) -> StoreResult<ChangeMarker> {
        self.run("ChangeMarker", false, "", |st, _| {
            Ok(ChangeMarker(st.store.change_marker))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unavailable_simulated_store_fails_as_a_retryable_outage_with_the_same_words() {
        let err = StoreError::from(SimStoreFault::Unavailable);
        assert_eq!(err.category(), "retryable");
        assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "store unavailable: the simulated store is unavailable"
        );
    }
}
