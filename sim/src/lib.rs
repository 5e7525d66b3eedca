//! drctl-sim: a simulated multi-region AWS behind drctl-cloud's ports (issue 3).
//!
//! * Deterministic from a seed: one SplitMix64 stream, no wall clock, no background tasks.
//! * Virtual time is tokio's clock: run on a paused runtime (`start_paused = true`). The
//!   world's `now` is 2026-01-01T00:00:00Z plus the tokio time elapsed since it was created.
//! * Lazy: long operations record when they finish; every call (and every ground-truth read)
//!   first advances the world to now, in time order.
//! * Faithful to shared/reference/aws-facts.md; every timing in [`SimTimings`] names its
//!   source or says AWS gives none.
//!
//! ```ignore
//! let world = SimWorld::new(SimConfig::new(42));
//! world.provision(&spec)?;
//! world.start_app_writes(10)?;
//! let cloud = world.cloud("controller-0");     // drctl_cloud::Cloud
//! let store = world.store_as("controller-0");  // Arc<dyn drctl_state::Store>
//! world.region_outage("us-east-1");
//! // ... run the controller ...
//! let loss = world.data_loss();
//! let violations = world.check_invariants(&InvariantInput { allow_data_loss: true, ..Default::default() });
//! ```

mod app_tier;
mod aurora;
pub mod checker;
pub mod config;
pub mod dependencies;
mod ecs;
mod health_checks;
mod keys;
pub mod offerings;
mod ports;
mod rds_instance;
pub mod record;
mod recovery;
mod rng;
mod route53;
mod state;
mod store;
pub mod world;

pub use checker::{check, loss_report, InvariantInput, RunRecord, Violation};
pub use config::*;
pub use health_checks::HealthCheckSettings;
pub use ports::ROUTE53_CONTROL_REGION;
pub use record::*;
pub use recovery::RECOVERY_CONTROL_CONFIG_REGION;
pub use state::EPOCH;
pub use world::{
    desired_record, ClusterTruth, GlobalTruth, ProvisionOptions, RecordTruth, ServiceTruth,
    SimError, SimWorld, WorldSnapshot,
};
