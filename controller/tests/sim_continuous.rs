//! Continuous evaluation of the pre-flight facts between operations (issue 13): engine and
//! version parity, no headless secondary, and the standby's KMS key are conditions of a
//! converged group, before any switchover needs them. Virtual time only.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use drctl::continuous::{ENGINE_VERSION_PARITY, STANDBY_HAS_INSTANCES, STANDBY_KMS_KEY_READY};
use drctl::metrics::Metrics;
use drctl::runtime::{Controller, RunMode, RuntimeConfig};
use drctl::simulation::example_group;
use drctl_schema::{Condition, ConditionStatus, Phase};
use drctl_sim::{SimConfig, SimWorld};
use drctl_state::Store;
use tokio_util::sync::CancellationToken;

const WEST: &str = "us-west-2";
const SECONDARY: &str = "myapp-prod-secondary";

async fn world_and_store() -> (Arc<SimWorld>, Arc<dyn Store>, String) {
    let group = example_group().unwrap();
    let world = SimWorld::new(SimConfig::new(3));
    world.provision(&group.spec).unwrap();
    let store = world.store_as("operator");
    store.init().await.unwrap();
    let mut doc = group.clone();
    doc.status = None;
    store.create(&doc).await.unwrap();
    (world, store, group.metadata.name)
}

async fn once(world: &Arc<SimWorld>) {
    Controller::new(
        world.store_as("drctl-a"),
        world.cloud("drctl-a"),
        RuntimeConfig::new("drctl-a", "drctl-controller"),
        Metrics::new(),
    )
    .run(RunMode::Once, None, CancellationToken::new())
    .await
    .unwrap();
}

async fn condition(store: &Arc<dyn Store>, name: &str, type_: &str) -> Condition {
    let status = store.get(name).await.unwrap().unwrap().status.unwrap();
    status
        .conditions
        .into_iter()
        .find(|c| c.type_ == type_)
        .unwrap_or_else(|| panic!("no {type_}"))
}

#[tokio::test(start_paused = true)]
async fn a_healthy_pair_reports_every_pre_flight_fact_true() {
    let (world, store, name) = world_and_store().await;
    once(&world).await;
    for type_ in [
        ENGINE_VERSION_PARITY,
        STANDBY_HAS_INSTANCES,
        STANDBY_KMS_KEY_READY,
    ] {
        let c = condition(&store, &name, type_).await;
        assert_eq!(c.status, ConditionStatus::True, "{c:?}");
    }
    let key = condition(&store, &name, STANDBY_KMS_KEY_READY).await;
    assert!(key.message.contains("mrk-"), "{key:?}");
}

#[tokio::test(start_paused = true)]
async fn a_headless_secondary_and_a_version_mismatch_are_reported_before_any_switchover() {
    let (world, store, name) = world_and_store().await;
    world.make_headless(WEST, SECONDARY).unwrap();
    world.set_engine_version(WEST, SECONDARY, "15.4").unwrap();
    once(&world).await;
    let headless = condition(&store, &name, STANDBY_HAS_INSTANCES).await;
    assert_eq!(headless.status, ConditionStatus::False, "{headless:?}");
    assert_eq!(headless.reason, "HeadlessSecondary");
    assert!(headless
        .message
        .contains("myapp-prod-secondary in us-west-2 has no DB instance"));
    let parity = condition(&store, &name, ENGINE_VERSION_PARITY).await;
    assert_eq!(parity.status, ConditionStatus::False, "{parity:?}");
    assert!(
        parity
            .message
            .contains("us-west-2 runs aurora-postgresql 15.4"),
        "{parity:?}"
    );
    // Reported only: no operation was asked for, the group stays converged.
    let status = store.get(&name).await.unwrap().unwrap().status.unwrap();
    assert_eq!(status.phase, Phase::Converged);
}
