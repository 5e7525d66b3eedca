#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! drctl-state's conformance suite, against the world's in-memory store.

use std::sync::Arc;

use drctl_sim::{SimConfig, SimWorld};
use drctl_state::Store;

async fn fixture() -> (Arc<dyn Store>, Arc<SimWorld>) {
    let mut cfg = SimConfig::new(1);
    cfg.timings = cfg.timings.instant_calls();
    let world = SimWorld::new(cfg);
    let store = world.store();
    store.init().await.unwrap();
    (store, world)
}

drctl_state::store_conformance_tests!(fixture);
