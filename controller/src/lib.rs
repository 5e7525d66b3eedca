//! drctl: observe -> plan -> act, the reconcile loop, leader lease, CLI, metrics.
//!
//! - `planner`: the pure decision function and most of the tests.
//! - `observe` and `execute`: the only code here that calls the cloud ports.
//! - `reconcile`: one pass of one group as a pipeline (fetch, plan, record intent, apply,
//!   record outcome, requeue).
//! - `runtime`: the loop, the scheduler and leader election.

pub mod backoff;
pub mod cli;
pub mod continuous;
pub mod dependencies;
pub mod drill;
pub mod execute;
pub mod fleet;
pub mod metrics;
pub mod observe;
pub mod observe_rds;
pub mod observed;
pub mod planner;
pub mod reconcile;
pub mod report;
pub mod routing;
pub mod runbook;
pub mod runtime;
pub mod simulation;
