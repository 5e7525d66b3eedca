//! Continuous evaluation of the pre-flight facts between operations (issue 13): engine and
//! version parity, no headless secondary, the standby's KMS key, the instance class offered
//! in the standby region and the DB-instance quota there are conditions of a converged
//! group (Aurora and rdsReplica), before any switchover needs them. Virtual time only.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use drctl::continuous::{
    ENGINE_VERSION_PARITY, STANDBY_DB_INSTANCE_QUOTA, STANDBY_HAS_INSTANCES,
    STANDBY_INSTANCE_CLASS_OFFERED, STANDBY_KMS_KEY_READY,
};
use drctl::metrics::Metrics;
use drctl::runtime::{Controller, RunMode, RuntimeConfig};
use drctl::simulation::example_group;
use drctl_cloud::DbInstanceQuota;
use drctl_schema::{parse_documents, DatabaseKind, FailoverGroup};
use drctl_schema::{Condition, ConditionStatus, Phase};
use drctl_sim::{SimConfig, SimWorld};
use drctl_state::Store;
use tokio_util::sync::CancellationToken;

const WEST: &str = "us-west-2";
const SECONDARY: &str = "myapp-prod-secondary";

const RDS_EXAMPLE: &str = include_str!("../../examples/failovergroup-rds.yaml");
const RDS_REPLICA: &str = "shop-db-replica";

fn rds_group() -> FailoverGroup {
    let group = parse_documents(RDS_EXAMPLE.as_bytes(), "failovergroup-rds.yaml")
        .unwrap()
        .remove(0);
    assert_eq!(group.spec.database.kind, DatabaseKind::RdsReplica);
    group
}

async fn world_and_store() -> (Arc<SimWorld>, Arc<dyn Store>, String) {
    world_and_store_of(example_group().unwrap()).await
}

async fn world_and_store_of(group: FailoverGroup) -> (Arc<SimWorld>, Arc<dyn Store>, String) {
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
        STANDBY_INSTANCE_CLASS_OFFERED,
        STANDBY_DB_INSTANCE_QUOTA,
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

#[tokio::test(start_paused = true)]
async fn a_class_the_standby_region_does_not_offer_and_a_full_quota_are_reported() {
    let (world, store, name) = world_and_store().await;
    world.withdraw_instance_class(WEST, "db.r6g.large");
    world.set_db_instance_quota(WEST, DbInstanceQuota { used: 40, max: 40 });
    once(&world).await;
    let class = condition(&store, &name, STANDBY_INSTANCE_CLASS_OFFERED).await;
    assert_eq!(class.status, ConditionStatus::False, "{class:?}");
    assert_eq!(class.reason, "InstanceClassNotOffered");
    assert!(
        class.message.contains("db.r6g.large")
            && class
                .message
                .contains("spec.database.clusters.us-west-2.instanceClass")
            && class.message.contains("not orderable in us-west-2"),
        "{class:?}"
    );
    let quota = condition(&store, &name, STANDBY_DB_INSTANCE_QUOTA).await;
    assert_eq!(quota.status, ConditionStatus::False, "{quota:?}");
    assert_eq!(quota.reason, "QuotaReached");
    assert!(
        quota
            .message
            .contains("40 of 40 DB instances used in us-west-2"),
        "{quota:?}"
    );
    let status = store.get(&name).await.unwrap().unwrap().status.unwrap();
    assert_eq!(status.phase, Phase::Converged);
}

#[tokio::test(start_paused = true)]
async fn an_rds_replica_pair_reports_parity_key_class_and_quota_true() {
    let (world, store, name) = world_and_store_of(rds_group()).await;
    once(&world).await;
    for type_ in [
        ENGINE_VERSION_PARITY,
        STANDBY_KMS_KEY_READY,
        STANDBY_INSTANCE_CLASS_OFFERED,
        STANDBY_DB_INSTANCE_QUOTA,
    ] {
        let c = condition(&store, &name, type_).await;
        assert_eq!(c.status, ConditionStatus::True, "{c:?}");
    }
    let parity = condition(&store, &name, ENGINE_VERSION_PARITY).await;
    assert_eq!(parity.message, "both instances run postgres 16.3");
    let key = condition(&store, &name, STANDBY_KMS_KEY_READY).await;
    assert!(
        key.message.contains("shop-db-replica in us-west-2"),
        "{key:?}"
    );
    let class = condition(&store, &name, STANDBY_INSTANCE_CLASS_OFFERED).await;
    assert!(
        class
            .message
            .contains("spec.database.instances.us-west-2.instanceClass"),
        "{class:?}"
    );
    // A headless secondary is an Aurora notion.
    let status = store.get(&name).await.unwrap().unwrap().status.unwrap();
    assert!(status
        .conditions
        .iter()
        .all(|c| c.type_ != STANDBY_HAS_INSTANCES));
}

#[tokio::test(start_paused = true)]
async fn an_rds_replica_on_another_version_or_an_unoffered_class_is_reported_before_any_switch() {
    let (world, store, name) = world_and_store_of(rds_group()).await;
    world.set_engine_version(WEST, RDS_REPLICA, "16.4").unwrap();
    world.withdraw_instance_class(WEST, "db.r6g.large");
    once(&world).await;
    let parity = condition(&store, &name, ENGINE_VERSION_PARITY).await;
    assert_eq!(parity.status, ConditionStatus::False, "{parity:?}");
    assert!(
        parity.message.contains("us-west-2 runs postgres 16.4")
            && parity.message.contains("the same engine version"),
        "{parity:?}"
    );
    let class = condition(&store, &name, STANDBY_INSTANCE_CLASS_OFFERED).await;
    assert_eq!(class.status, ConditionStatus::False, "{class:?}");
}

#[tokio::test(start_paused = true)]
async fn a_fleet_of_passes_asks_the_standby_regions_facts_once_per_half_hour() {
    let (world, _store, _name) = world_and_store().await;
    let controller = Controller::new(
        world.store_as("drctl-a"),
        world.cloud("drctl-a"),
        RuntimeConfig::new("drctl-a", "drctl-controller"),
        Metrics::new(),
    );
    let _ = controller
        .run(
            RunMode::Forever,
            Some(std::time::Duration::from_secs(20 * 60)),
            CancellationToken::new(),
        )
        .await;
    let asked = |op: &str| world.calls().iter().filter(|c| c.operation == op).count();
    assert_eq!(asked("DescribeAccountAttributes"), 1);
    assert_eq!(asked("DescribeOrderableDBInstanceOptions"), 1);
}
