//! `SimWorld`: the public face of the simulation. Build one from a seed, provision groups in
//! a healthy steady state, hand out per-caller `Cloud` handles and stores, inject faults, run
//! the application, and read back ground truth, the call record and the invariant check.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use drctl_cloud::{CloudError, CloudResult, DnsRecord, ErrorCategory, Service};
use drctl_schema::{DnsRouting, FailoverGroup, FailoverGroupSpec, FailoverGroupStatus, Timestamp};
use drctl_state::Store;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::aurora::{cluster_arn, global_arn};
use crate::checker::{InvariantInput, RunRecord, Violation};
use crate::config::*;
use crate::keys::*;
use crate::record::*;
use crate::route53::normalize;
use crate::state::*;

mod application;
mod call_pipeline;
mod faults;
mod handles;
mod provisioning;
mod records;
mod snapshot;

pub use provisioning::desired_record;
pub use snapshot::{ClusterTruth, GlobalTruth, RecordTruth, ServiceTruth, WorldSnapshot};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// The spec cannot be provisioned as written (names the field).
    #[error("cannot provision: {field}: {message}")]
    InvalidSpec { field: String, message: String },
    #[error("already provisioned: {what}")]
    AlreadyProvisioned { what: String },
    #[error("not found: {what}")]
    NotFound { what: String },
}

/// Options for `provision_with`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProvisionOptions {
    /// Turn deletion protection on for every cluster (as production clusters usually are).
    pub deletion_protection: bool,
}

/// What the call pipeline decided before the request travels.
#[derive(Debug, Clone)]
pub(crate) struct CallPlan {
    delay_ms: u64,
    unreachable: bool,
    fault: Option<FaultKind>,
}

pub struct SimWorld {
    state: Mutex<State>,
    created: Instant,
    /// `SimConfig::epoch`, kept outside the lock: `now` is read on every call.
    epoch: Timestamp,
}

impl std::fmt::Debug for SimWorld {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimWorld").finish_non_exhaustive()
    }
}

impl SimWorld {
    /// A world at virtual time `cfg.epoch` (2026-01-01T00:00:00Z by default). Run it on a paused tokio clock
    /// (`#[tokio::test(start_paused = true)]`) so that virtual time only moves when every
    /// task waits.
    pub fn new(cfg: SimConfig) -> Arc<SimWorld> {
        let epoch = cfg.epoch;
        Arc::new(SimWorld {
            state: Mutex::new(State::new(cfg)),
            created: Instant::now(),
            epoch,
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock only happens in a test that already failed.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The world, advanced to now.
    pub(crate) fn current(&self) -> MutexGuard<'_, State> {
        let now = self.elapsed_ms();
        let mut st = self.lock();
        st.advance(now);
        st
    }

    /// Virtual milliseconds since the world was created.
    pub fn elapsed_ms(&self) -> i64 {
        ms(Instant::now().saturating_duration_since(self.created))
    }

    /// Virtual now.
    pub fn now(&self) -> Timestamp {
        self.epoch.plus_millis(self.elapsed_ms())
    }

    /// The virtual timestamp `offset` after the world was created.
    pub fn at(&self, offset: Duration) -> Timestamp {
        self.epoch.plus_millis(ms(offset))
    }

    /// The timestamp virtual time 0 stands for (`SimConfig::epoch`).
    pub fn epoch(&self) -> Timestamp {
        self.epoch
    }
}
