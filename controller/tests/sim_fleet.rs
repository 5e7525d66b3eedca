//! The controller with a fleet: hundreds of groups on one replica, a group whose calls hang,
//! and three replicas sharing the groups' shards. Simulated world, virtual time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use drctl::metrics::Metrics;
use drctl::runtime::{shards, Controller, RunMode, RunOutcome, RuntimeConfig};
use drctl::simulation::converged_on;
use drctl::simulation::fleet::{fleet_groups, run_fleet_outage, FleetOptions};
use drctl_cloud::Service;
use drctl_schema::FailoverGroup;
use drctl_sim::{FaultKind, FaultRule, InvariantInput, SimConfig, SimWorld};
use drctl_state::Store;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const LEASE: &str = "drctl-controller";
const OPERATOR: &str = "operator@test";
const EAST: &str = "us-east-1";
const WEST: &str = "us-west-2";

/// A simulated world with `n` fleet groups in its store.
struct Fleet {
    world: Arc<SimWorld>,
    operator: Arc<dyn Store>,
}

impl Fleet {
    async fn new(n: usize) -> Fleet {
        let world = SimWorld::new(SimConfig::new(11));
        let operator = world.store_as(OPERATOR);
        operator.init().await.unwrap();
        for g in fleet_groups(n).unwrap() {
            world.provision(&g.spec).unwrap();
            operator.create(&g).await.unwrap();
        }
        Fleet { world, operator }
    }

    fn controller(&self, replica: &str, shards: u32) -> Controller {
        let mut config = RuntimeConfig::new(replica, LEASE);
        config.planner.operation_poll = Duration::from_secs(1);
        config.shards = shards;
        Controller::new(
            self.world.store_as(replica),
            self.world.cloud(replica),
            config,
            Metrics::new(),
        )
    }

    /// The replica holding each of `count` shards' leases now ("" for a free one).
    async fn shard_holders(&self, count: u32) -> Vec<String> {
        let mut holders = Vec::new();
        for i in 0..count {
            let lease = self
                .operator
                .get_lease(&shards::lease_name(LEASE, i, count))
                .await
                .unwrap()
                .filter(|l| l.expires_at > self.world.now());
            holders.push(lease.map(|l| l.holder).unwrap_or_default());
        }
        holders
    }

    fn start(&self, replica: &str, shards: u32) -> JoinHandle<()> {
        let controller = self.controller(replica, shards);
        tokio::spawn(async move {
            let _ = controller
                .run(RunMode::Forever, None, CancellationToken::new())
                .await;
        })
    }

    async fn docs(&self) -> Vec<FailoverGroup> {
        self.operator.list().await.unwrap()
    }

    /// Poll every virtual second until `pred` holds for the groups, or panic at `limit`.
    async fn wait(&self, what: &str, limit: Duration, pred: impl Fn(&[FailoverGroup]) -> bool) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if pred(&self.docs().await) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{what}: not within {limit:?}"
            );
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    async fn fail_over(&self, doc: &FailoverGroup, to: &str) {
        let mut doc = doc.clone();
        let rv = doc.metadata.resource_version.clone().unwrap();
        doc.spec.writer = to.to_string();
        doc.spec.dns_owner = Some(to.to_string());
        self.operator.update(&doc, &rv).await.unwrap();
    }
}

fn generation(doc: &FailoverGroup) -> u64 {
    doc.metadata.generation.unwrap_or(0)
}

#[tokio::test(start_paused = true)]
async fn the_last_of_300_groups_completes_its_failover() {
    let report = run_fleet_outage(FleetOptions {
        seed: 3,
        groups: 300,
        concurrency: None,
        narrator: None,
    })
    .await
    .unwrap();
    assert_eq!(report.groups_recovered, 300, "{report:#?}");
    assert!(
        report.invariant_violations.is_empty(),
        "{:?}",
        report.invariant_violations
    );
    assert!(report.rto_seconds.is_some(), "{report:#?}");
    assert_eq!(
        report.throttled_calls, 0,
        "pacing keeps the fleet under AWS's limits"
    );
}

#[tokio::test(start_paused = true)]
async fn once_gives_every_group_exactly_one_pass_and_returns() {
    let fleet = Fleet::new(120).await;
    let controller = fleet.controller("replica-a", 1);
    let outcome = controller
        .run(
            RunMode::Once,
            Some(Duration::from_secs(600)),
            CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(outcome, RunOutcome::PassCompleted);
    let docs = fleet.docs().await;
    assert!(
        docs.iter().all(|d| d.status.is_some()),
        "every group was reconciled: {} without a status",
        docs.iter().filter(|d| d.status.is_none()).count()
    );
    let lease = fleet.operator.get_lease(LEASE).await.unwrap().unwrap();
    assert!(lease.expires_at <= fleet.world.now(), "released on return");
}

#[tokio::test(start_paused = true)]
async fn a_group_whose_calls_hang_holds_no_other_group() {
    let fleet = Fleet::new(40).await;
    let _a = fleet.start("replica-a", 1);
    fleet
        .wait("initial convergence", Duration::from_secs(900), |docs| {
            docs.iter().all(|d| converged_on(d, EAST, 1))
        })
        .await;
    // From now on app-00007's own calls take a day: its health probe and its ECS updates.
    let day = FaultKind::LatencyMs(86_400_000);
    fleet.world.inject(
        FaultRule::new(day)
            .service(Service::Http)
            .resource("app-00007")
            .times(10_000),
    );
    fleet.world.inject(
        FaultRule::new(day)
            .service(Service::Ecs)
            .operation("UpdateService")
            .resource("app-00007")
            .times(10_000),
    );
    for doc in fleet.docs().await {
        fleet.fail_over(&doc, WEST).await;
    }
    fleet
        .wait(
            "every other group on us-west-2",
            Duration::from_secs(900),
            |docs| {
                docs.iter()
                    .filter(|d| d.metadata.name != "app-00007")
                    .all(|d| converged_on(d, WEST, generation(d)))
            },
        )
        .await;
    let stuck = fleet.operator.get("app-00007").await.unwrap().unwrap();
    assert!(
        !converged_on(&stuck, WEST, generation(&stuck)),
        "the hung group cannot have finished: its calls never answered"
    );
}

#[tokio::test(start_paused = true)]
async fn a_change_to_one_group_is_acted_on_within_two_seconds_among_converged_ones() {
    let fleet = Fleet::new(200).await;
    let _a = fleet.start("replica-a", 1);
    fleet
        .wait("initial convergence", Duration::from_secs(900), |docs| {
            docs.iter().all(|d| converged_on(d, EAST, 1))
        })
        .await;
    tokio::time::sleep(Duration::from_secs(45)).await;
    let last = fleet.operator.get("app-00199").await.unwrap().unwrap();
    let mark = fleet.world.call_count();
    fleet.fail_over(&last, WEST).await;
    let changed_at = fleet.world.now();
    fleet
        .wait("the operation to start", Duration::from_secs(10), |_| {
            fleet
                .world
                .calls_from(mark)
                .iter()
                .any(|c| c.mutating && c.resource.contains("app-00199"))
        })
        .await;
    let acted = fleet
        .world
        .calls_from(mark)
        .iter()
        .find(|c| c.mutating && c.resource.contains("app-00199"))
        .map(|c| c.at)
        .unwrap();
    let took = acted.seconds_since(changed_at);
    assert!(took <= 2.0, "first action {took:.2} s after the edit");
}

#[tokio::test(start_paused = true)]
async fn three_replicas_each_hold_a_shard_and_a_dead_replicas_shard_moves_within_a_lease() {
    let fleet = Fleet::new(30).await;
    let replicas = ["replica-a", "replica-b", "replica-c"];
    let mut tasks: Vec<JoinHandle<()>> = replicas.iter().map(|r| fleet.start(r, 3)).collect();
    fleet
        .wait("initial convergence", Duration::from_secs(900), |docs| {
            docs.iter().all(|d| converged_on(d, EAST, 1))
        })
        .await;
    // Spread: the first replica to start took every shard; it sheds them one at a time to
    // the others until each acts for its fair share of one.
    let started = fleet.world.now();
    let mut holders = Vec::new();
    for _ in 0..60 {
        holders = fleet.shard_holders(3).await;
        let mut distinct = holders.clone();
        distinct.sort();
        distinct.dedup();
        if distinct.len() == 3 && !distinct.contains(&String::new()) {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let spread_in = fleet.world.now().seconds_since(started);
    let mut distinct = holders.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        3,
        "one shard per replica after {spread_in} s: {holders:?}"
    );
    // Two hand-overs, each a round (2 s), the release margin (5 s) and a retry (2 s).
    assert!(spread_in <= 30.0, "spread in {spread_in} s");
    // Kill the replica that holds shard 0, as kill -9 would: its leases are not released.
    let victim = replicas.iter().position(|r| *r == holders[0]).unwrap();
    tasks.remove(victim).abort();
    let killed_at = fleet.world.now();
    for doc in fleet.docs().await {
        fleet.fail_over(&doc, WEST).await;
    }
    // Every shard is held again, by a survivor, within the lease duration plus a retry.
    tokio::time::sleep(Duration::from_secs(17)).await;
    for i in 0..3 {
        let lease = fleet
            .operator
            .get_lease(&shards::lease_name(LEASE, i, 3))
            .await
            .unwrap()
            .unwrap();
        assert_ne!(lease.holder, replicas[victim], "shard {i}");
        assert!(lease.expires_at > fleet.world.now(), "shard {i} is held");
    }
    assert!(fleet.world.now().seconds_since(killed_at) <= 17.5);
    fleet
        .wait("the fleet on us-west-2", Duration::from_secs(900), |docs| {
            docs.iter().all(|d| converged_on(d, WEST, generation(d)))
        })
        .await;
    let violations = fleet.world.check_invariants(&InvariantInput {
        allow_data_loss: false,
        unleased_callers: vec![OPERATOR.to_string()],
        ..Default::default()
    });
    assert!(violations.is_empty(), "{violations:?}");
}
