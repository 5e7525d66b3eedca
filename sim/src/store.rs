//! drctl-state's `Store` in memory, inside the world: the same semantics as the file store
//! (resourceVersion compare-and-set, generation bumped on spec changes only, status kept
//! separately, status and journal writes fenced by the lease epoch, leases with epochs
//! judged by the `now` passed in), sharing the world's sequence so that the invariant
//! checker can tell which lease epoch was current at each cloud call.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use drctl_schema::{FailoverGroup, FailoverGroupStatus, Timestamp};
use drctl_state::{
    ApprovalRecord, Event, Fence, InitOutcome, Lease, Store, StoreError, StoreResult,
};

use crate::config::SimService;
use crate::record::{CallOutcome, CallRecord, LeaseLogEntry};
use crate::state::{ms, Ctx, State};
use crate::world::SimWorld;

#[derive(Debug, Clone)]
struct StoredDoc {
    doc: FailoverGroup,
    resource_version: u64,
    generation: u64,
    status: Option<FailoverGroupStatus>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct MemStoreData {
    docs: BTreeMap<String, StoredDoc>,
    journals: BTreeMap<String, Vec<Event>>,
    approvals: BTreeMap<(String, String), ApprovalRecord>,
    leases: BTreeMap<String, Lease>,
    pub(crate) unavailable: bool,
}

impl MemStoreData {
    /// Every stored status, by group name (for the checker).
    pub(crate) fn statuses(&self) -> BTreeMap<String, FailoverGroupStatus> {
        self.docs
            .iter()
            .filter_map(|(n, d)| d.status.clone().map(|s| (n.clone(), s)))
            .collect()
    }

    fn materialise(d: &StoredDoc) -> FailoverGroup {
        let mut doc = d.doc.clone();
        doc.metadata.resource_version = Some(d.resource_version.to_string());
        doc.metadata.generation = Some(d.generation);
        doc.status = d.status.clone();
        doc
    }

    fn check_fence(&self, fence: &Fence) -> StoreResult<()> {
        match self.leases.get(&fence.lease) {
            Some(l) if l.holder == fence.holder && l.epoch == fence.epoch => Ok(()),
            Some(l) => Err(StoreError::Fenced {
                message: format!(
                    "lease {} is held by {} at epoch {}, not {} at epoch {}",
                    fence.lease, l.holder, l.epoch, fence.holder, fence.epoch
                ),
            }),
            None => Err(StoreError::Fenced {
                message: format!("lease {} does not exist", fence.lease),
            }),
        }
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
            Err(StoreError::Unavailable {
                message: "the simulated store is unavailable".to_string(),
            })
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

    async fn init(&self) -> StoreResult<InitOutcome> {
        self.run("Init", false, "", |_, _| Ok(InitOutcome::AlreadyExisted))
            .await
    }

    async fn get(&self, name: &str) -> StoreResult<Option<FailoverGroup>> {
        self.run("Get", false, name, |st, _| {
            Ok(st.store.docs.get(name).map(MemStoreData::materialise))
        })
        .await
    }

    async fn list(&self) -> StoreResult<Vec<FailoverGroup>> {
        self.run("List", false, "", |st, _| {
            Ok(st
                .store
                .docs
                .values()
                .map(MemStoreData::materialise)
                .collect())
        })
        .await
    }

    async fn create(&self, doc: &FailoverGroup) -> StoreResult<FailoverGroup> {
        let name = doc.metadata.name.clone();
        let resource = name.clone();
        self.run("Create", true, &resource, |st, _| {
            if st.store.docs.contains_key(&name) {
                return Err(StoreError::AlreadyExists { name });
            }
            let mut d = doc.clone();
            d.status = None;
            let stored = StoredDoc {
                doc: d,
                resource_version: 1,
                generation: 1,
                status: None,
            };
            let out = MemStoreData::materialise(&stored);
            st.store.docs.insert(name, stored);
            Ok(out)
        })
        .await
    }

    async fn update(
        &self,
        doc: &FailoverGroup,
        expected_resource_version: &str,
    ) -> StoreResult<FailoverGroup> {
        let name = doc.metadata.name.clone();
        let resource = name.clone();
        self.run("Update", true, &resource, |st, _| {
            let stored = st
                .store
                .docs
                .get_mut(&name)
                .ok_or_else(|| StoreError::NotFound { name: name.clone() })?;
            if stored.resource_version.to_string() != expected_resource_version {
                return Err(StoreError::Conflict {
                    name: name.clone(),
                    message: format!(
                        "the object has been modified: resourceVersion is {}, not {}",
                        stored.resource_version, expected_resource_version
                    ),
                });
            }
            if stored.doc.spec != doc.spec {
                stored.generation += 1;
            }
            stored.doc.spec = doc.spec.clone();
            stored.doc.metadata.labels = doc.metadata.labels.clone();
            stored.resource_version += 1;
            Ok(MemStoreData::materialise(stored))
        })
        .await
    }

    async fn delete(&self, name: &str, expected_resource_version: Option<&str>) -> StoreResult<()> {
        self.run("Delete", true, name, |st, _| {
            let stored = st
                .store
                .docs
                .get(name)
                .ok_or_else(|| StoreError::NotFound {
                    name: name.to_string(),
                })?;
            if let Some(rv) = expected_resource_version {
                if stored.resource_version.to_string() != rv {
                    return Err(StoreError::Conflict {
                        name: name.to_string(),
                        message: format!(
                            "the object has been modified: resourceVersion is {}, not {rv}",
                            stored.resource_version
                        ),
                    });
                }
            }
            st.store.docs.remove(name);
            st.store.approvals.retain(|(n, _), _| n != name);
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
        self.run("WriteStatus", true, name, |st, _| {
            st.store.check_fence(fence)?;
            let stored = st
                .store
                .docs
                .get_mut(name)
                .ok_or_else(|| StoreError::NotFound {
                    name: name.to_string(),
                })?;
            stored.status = Some(status.clone());
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
        self.run("AppendEvent", true, name, |st, _| {
            if let Some(f) = fence {
                st.store.check_fence(f)?;
            }
            let journal = st.store.journals.entry(name.to_string()).or_default();
            let seq = journal.len() as u64 + 1;
            let mut e = event.clone();
            e.seq = seq;
            journal.push(e);
            Ok(seq)
        })
        .await
    }

    async fn events(&self, name: &str) -> StoreResult<Vec<Event>> {
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
        self.run("AcquireLease", true, lease, |st, ctx| {
            let expires_at = now.plus_millis(duration_ms);
            let next = match st.store.leases.get(lease) {
                None => Lease {
                    name: lease.to_string(),
                    holder: holder.to_string(),
                    epoch: 1,
                    acquired_at: now,
                    expires_at,
                },
                Some(l) if l.holder == holder => Lease {
                    expires_at,
                    ..l.clone()
                },
                Some(l) if l.expires_at > now => return Ok(None),
                Some(l) => Lease {
                    name: lease.to_string(),
                    holder: holder.to_string(),
                    epoch: l.epoch + 1,
                    acquired_at: now,
                    expires_at,
                },
            };
            st.store.leases.insert(lease.to_string(), next.clone());
            log_lease(st, ctx, &next, "acquired");
            Ok(Some(next))
        })
        .await
    }

    async fn renew_lease(
        &self,
        lease: &Lease,
        now: Timestamp,
        duration_ms: i64,
    ) -> StoreResult<Lease> {
        self.run("RenewLease", true, &lease.name, |st, ctx| {
            match st.store.leases.get(&lease.name) {
                Some(l) if l.holder == lease.holder && l.epoch == lease.epoch => {
                    let next = Lease {
                        expires_at: now.plus_millis(duration_ms),
                        ..l.clone()
                    };
                    st.store.leases.insert(lease.name.clone(), next.clone());
                    log_lease(st, ctx, &next, "renewed");
                    Ok(next)
                }
                Some(l) => Err(StoreError::LeaseLost {
                    lease: lease.name.clone(),
                    message: format!("now held by {} at epoch {}", l.holder, l.epoch),
                }),
                None => Err(StoreError::LeaseLost {
                    lease: lease.name.clone(),
                    message: "the lease does not exist".to_string(),
                }),
            }
        })
        .await
    }

    async fn release_lease(&self, lease: &Lease) -> StoreResult<()> {
        self.run("ReleaseLease", true, &lease.name, |st, ctx| {
            let now = st.ts(ctx.now);
            if let Some(l) = st.store.leases.get(&lease.name) {
                if l.holder == lease.holder && l.epoch == lease.epoch {
                    let next = Lease {
                        expires_at: now.min(l.expires_at),
                        ..l.clone()
                    };
                    st.store.leases.insert(lease.name.clone(), next.clone());
                    log_lease(st, ctx, &next, "released");
                }
            }
            Ok(())
        })
        .await
    }

    async fn get_lease(&self, lease: &str) -> StoreResult<Option<Lease>> {
        self.run("GetLease", false, lease, |st, _| {
            Ok(st.store.leases.get(lease).cloned())
        })
        .await
    }

    async fn approve(&self, name: &str, approval: &ApprovalRecord) -> StoreResult<()> {
        self.run("Approve", true, name, |st, _| {
            if !st.store.docs.contains_key(name) {
                return Err(StoreError::NotFound {
                    name: name.to_string(),
                });
            }
            st.store
                .approvals
                .entry((name.to_string(), approval.operation_id.clone()))
                .or_insert_with(|| approval.clone());
            Ok(())
        })
        .await
    }

    async fn approval(
        &self,
        name: &str,
        operation_id: &str,
    ) -> StoreResult<Option<ApprovalRecord>> {
        self.run("Approval", false, name, |st, _| {
            Ok(st
                .store
                .approvals
                .get(&(name.to_string(), operation_id.to_string()))
                .cloned())
        })
        .await
    }
}
