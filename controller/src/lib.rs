//! drctl: observe -> plan -> act, the reconcile loop, leader lease, CLI, metrics.

pub mod cli;
pub mod planner;
pub mod world;
