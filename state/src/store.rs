//! The Store trait: one contract, several implementations (file, DynamoDB, and the simulated
//! world's in-memory one in drctl-sim), checked by one shared conformance suite.

use async_trait::async_trait;
use drctl_schema::{FailoverGroup, FailoverGroupStatus, Timestamp};
use serde::{Deserialize, Serialize};

/// Proof that the writer holds a lease at an epoch. The store checks it atomically with the
/// write it guards, so a paused ex-leader that wakes up cannot write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fence {
    pub lease: String,
    pub holder: String,
    pub epoch: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub name: String,
    pub holder: String,
    /// Bumped on every acquisition by a new holder (never on renewal).
    pub epoch: u64,
    pub acquired_at: Timestamp,
    pub expires_at: Timestamp,
}

impl Lease {
    pub fn fence(&self) -> Fence {
        Fence {
            lease: self.name.clone(),
            holder: self.holder.clone(),
            epoch: self.epoch,
        }
    }
}

/// An entry of a group's append-only journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Assigned by the store: 1, 2, 3, ... per group.
    #[serde(default)]
    pub seq: u64,
    pub at: Timestamp,
    /// Who: `user@host` for CLI edits, `controller/<replica>` for the controller.
    pub actor: String,
    /// CamelCase machine-readable reason, e.g. `SpecApplied`, `StepSucceeded`, `AwsMutation`.
    pub reason: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalRecord {
    pub operation_id: String,
    pub approved_by: String,
    pub approved_at: Timestamp,
}

/// What `approve_with_event` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approval {
    /// This call recorded the approval and its journal event.
    Recorded,
    /// The operation was approved before; that approval stands and nothing was written.
    AlreadyApproved(ApprovalRecord),
}

/// A cheap token that changes whenever any group's spec, labels or existence changes, or an
/// approval is recorded (create, update, delete, approve); never on status writes, journal
/// appends or lease operations. Compare for equality only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChangeMarker(pub u64);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitOutcome {
    Created,
    AlreadyExisted,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("failovergroup/{name} not found")]
    NotFound { name: String },
    #[error("failovergroup/{name} already exists")]
    AlreadyExists { name: String },
    /// Optimistic concurrency lost: someone else wrote first.
    #[error("failovergroup/{name}: {message}")]
    Conflict { name: String, message: String },
    /// The writer's lease epoch is stale: it must stop acting.
    #[error("fenced: {message}")]
    Fenced { message: String },
    /// The lease is held by someone else, or was lost.
    #[error("lease {lease}: {message}")]
    LeaseLost { lease: String, message: String },
    /// The store does not exist yet (`drctl init`).
    #[error("{message}")]
    NotInitialized { message: String },
    /// The backend failed or did not answer; the write may or may not have happened.
    #[error("store unavailable: {message}")]
    Unavailable { message: String },
    /// A stored record could not be read back.
    #[error("corrupt record {key}: {message}")]
    Corrupt { key: String, message: String },
    /// The store URL is not one of the accepted forms (the CLI maps this to exit status 2).
    #[error("invalid store URL {url:?}: {message}")]
    InvalidUrl { url: String, message: String },
    /// A group, lease or operation name the store cannot hold (exit status 2).
    #[error("invalid {what} name {name:?}: {message}")]
    InvalidName {
        what: String,
        name: String,
        message: String,
    },
}

impl StoreError {
    /// Stable category, for metrics and for deciding retry versus stop.
    pub fn category(&self) -> &'static str {
        match self {
            StoreError::NotFound { .. } => "not_found",
            StoreError::AlreadyExists { .. } => "already_exists",
            StoreError::Conflict { .. } => "conflict",
            StoreError::Fenced { .. } => "fenced",
            StoreError::LeaseLost { .. } => "lease_lost",
            StoreError::NotInitialized { .. } => "not_initialized",
            StoreError::Unavailable { .. } => "retryable",
            StoreError::Corrupt { .. } => "terminal",
            StoreError::InvalidUrl { .. } | StoreError::InvalidName { .. } => "invalid_input",
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A record that exists but cannot be read back: a damaged file, a foreign item. Reported
/// (which group, where, why) instead of failing every read of the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DamagedRecord {
    /// The group it belongs to.
    pub name: String,
    /// Where it is: a path (file store) or `pk/sk` (DynamoDB).
    pub key: String,
    pub reason: String,
}

impl DamagedRecord {
    /// From a `Corrupt` error about a record of group `name`; None for other errors.
    pub fn from_error(name: &str, err: &StoreError) -> Option<DamagedRecord> {
        match err {
            StoreError::Corrupt { key, message } => Some(DamagedRecord {
                name: name.to_string(),
                key: key.clone(),
                reason: message.clone(),
            }),
            _ => None,
        }
    }
}

impl std::fmt::Display for DamagedRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "failovergroup/{}: damaged record {}: {}",
            self.name, self.key, self.reason
        )
    }
}

/// Every group that could be read, and those that could not.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Listing {
    /// Sorted by name; only groups whose spec and status both read back.
    pub groups: Vec<FailoverGroup>,
    /// Groups left out of `groups`, sorted by name.
    pub damaged: Vec<DamagedRecord>,
}

/// One group as far as it reads back: its spec (with status, when that reads too), and the
/// records of it that are damaged.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inspection {
    /// None when the spec itself is damaged.
    pub doc: Option<FailoverGroup>,
    pub damaged: Vec<DamagedRecord>,
}

#[async_trait]
pub trait Store: Send + Sync {
    /// `file://DIR`, `dynamodb://TABLE`, ... for messages.
    fn url(&self) -> String;

    /// Create the backing store if missing. Idempotent.
    async fn init(&self) -> StoreResult<InitOutcome>;

    /// One document with metadata.resourceVersion, metadata.generation and status filled in.
    async fn get(&self, name: &str) -> StoreResult<Option<FailoverGroup>>;

    /// Every document, sorted by name. A group whose spec or status is damaged is left out
    /// (and logged) rather than failing the whole list: the others must still be served and
    /// reconciled. [`Store::list_readable`] says which were left out.
    async fn list(&self) -> StoreResult<Vec<FailoverGroup>>;

    /// Every readable document and the damaged ones. The default (a store whose records
    /// cannot be damaged, as the simulated one) lists everything.
    async fn list_readable(&self) -> StoreResult<Listing> {
        Ok(Listing {
            groups: self.list().await?,
            damaged: Vec::new(),
        })
    }

    /// One group as far as it reads back, for `describe` and `get` of a damaged group.
    /// Ok(None) when there is no such group.
    async fn inspect(&self, name: &str) -> StoreResult<Option<Inspection>> {
        match self.get(name).await {
            Ok(doc) => Ok(doc.map(|doc| Inspection {
                doc: Some(doc),
                damaged: Vec::new(),
            })),
            Err(err) => match DamagedRecord::from_error(name, &err) {
                Some(damaged) => Ok(Some(Inspection {
                    doc: None,
                    damaged: vec![damaged],
                })),
                None => Err(err),
            },
        }
    }

    /// Create a new document (its status, if any, is ignored). Sets resourceVersion "1" and
    /// generation 1. `AlreadyExists` if the name is taken.
    async fn create(&self, doc: &FailoverGroup) -> StoreResult<FailoverGroup>;

    /// Replace metadata.labels and spec, only if the stored resourceVersion equals
    /// `expected_resource_version` (`Conflict` otherwise, `NotFound` if gone). Bumps
    /// resourceVersion; bumps generation only if the spec changed. Status is untouched.
    async fn update(
        &self,
        doc: &FailoverGroup,
        expected_resource_version: &str,
    ) -> StoreResult<FailoverGroup>;

    /// `create`, and `event` appended to the group's journal in the same atomic write: a
    /// spec change is never saved without its journal event, and journal order is write
    /// order. The default (for stores without a shared atomic write) appends right after.
    async fn create_with_event(
        &self,
        doc: &FailoverGroup,
        event: &Event,
    ) -> StoreResult<FailoverGroup> {
        let record = self.create(doc).await?;
        self.append_event(&doc.metadata.name, event, None).await?;
        Ok(record)
    }

    /// `update`, and `event` appended in the same atomic write (see `create_with_event`).
    async fn update_with_event(
        &self,
        doc: &FailoverGroup,
        expected_resource_version: &str,
        event: &Event,
    ) -> StoreResult<FailoverGroup> {
        let record = self.update(doc, expected_resource_version).await?;
        self.append_event(&doc.metadata.name, event, None).await?;
        Ok(record)
    }

    /// Remove the document, its status and approvals (the journal is kept). With an expected
    /// resourceVersion, only if it matches. Without one, a group whose records are damaged
    /// can still be deleted.
    async fn delete(&self, name: &str, expected_resource_version: Option<&str>) -> StoreResult<()>;

    /// `delete`, and `event` appended in the same atomic write (see `create_with_event`).
    async fn delete_with_event(
        &self,
        name: &str,
        expected_resource_version: Option<&str>,
        event: &Event,
    ) -> StoreResult<()> {
        self.delete(name, expected_resource_version).await?;
        self.append_event(name, event, None).await?;
        Ok(())
    }

    /// Write the status record, only while `fence` is the current lease epoch and holder.
    async fn write_status(
        &self,
        name: &str,
        status: &FailoverGroupStatus,
        fence: &Fence,
    ) -> StoreResult<()>;

    /// Append to the group's journal and return the assigned sequence number. Controller
    /// events pass a fence (checked like `write_status`); CLI events pass None.
    async fn append_event(
        &self,
        name: &str,
        event: &Event,
        fence: Option<&Fence>,
    ) -> StoreResult<u64>;

    /// The journal, oldest first.
    async fn events(&self, name: &str) -> StoreResult<Vec<Event>>;

    /// Take the lease if it is free, expired, or already ours. A new holder gets epoch + 1; the
    /// same holder re-acquiring keeps its epoch. Ok(None) if another holder's lease is live.
    async fn acquire_lease(
        &self,
        lease: &str,
        holder: &str,
        now: Timestamp,
        duration_ms: i64,
    ) -> StoreResult<Option<Lease>>;

    /// Extend our lease; `LeaseLost` if it changed hands or epoch.
    async fn renew_lease(
        &self,
        lease: &Lease,
        now: Timestamp,
        duration_ms: i64,
    ) -> StoreResult<Lease>;

    /// Give the lease up (expire it now) if still ours; no error if it is not.
    async fn release_lease(&self, lease: &Lease) -> StoreResult<()>;

    async fn get_lease(&self, lease: &str) -> StoreResult<Option<Lease>>;

    /// Record a person's approval of the step waiting in AwaitApproval of `operation_id`.
    /// Idempotent.
    async fn approve(&self, name: &str, approval: &ApprovalRecord) -> StoreResult<()>;

    /// `approve`, with `event` appended to the journal in the same atomic write when this
    /// call records the approval: an approval is never recorded without its journal event,
    /// and a repeat is neither recorded nor journaled (the first approval stands).
    async fn approve_with_event(
        &self,
        name: &str,
        approval: &ApprovalRecord,
        event: &Event,
    ) -> StoreResult<Approval>;

    async fn approval(&self, name: &str, operation_id: &str)
        -> StoreResult<Option<ApprovalRecord>>;

    /// The current change marker: one small consistent read (DynamoDB: one GetItem).
    async fn change_marker(&self) -> StoreResult<ChangeMarker>;
}
