#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use common::*;
use drctl_cloud::{ChangeStatus, Cloud};
use drctl_sim::*;

/// The runbook's promote-dr, done right, by a caller holding the lease.
async fn careful_failover(world: &Arc<SimWorld>, cloud: &Cloud) {
    let store = world.store_as("ctl");
    let lease = store
        .acquire_lease("drctl", "ctl", world.now(), 3_600_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lease.epoch, 1);
    cloud
        .autoscaling
        .register_scalable_target(WEST, "service/myapp-prod-dr/api", 6, 24)
        .await
        .unwrap();
    cloud
        .ecs
        .update_desired_count(WEST, "myapp-prod-dr", "api", 6)
        .await
        .unwrap();
    cloud
        .aurora
        .failover_global_cluster(WEST, GLOBAL, &secondary_arn(), true)
        .await
        .unwrap();
    wait_for(world, 600, "west writer and tasks", |s| {
        writer_region(s).as_deref() == Some(WEST)
            && s.service(WEST, "myapp-prod-dr", "api").unwrap().running >= 6
    })
    .await;
    let current = cloud
        .dns
        .get_record(ZONE, RECORD, "A")
        .await
        .unwrap()
        .unwrap();
    let info = cloud
        .dns
        .change_record(ZONE, Some(&current), &west_record(), "failover")
        .await
        .unwrap();
    while cloud.dns.get_change(&info.id).await.unwrap() != ChangeStatus::InSync {
        sleep_s(10).await;
    }
    assert_eq!(cloud.health.probe(URL).await.unwrap(), 200);
}

fn allowed() -> InvariantInput {
    InvariantInput {
        allow_data_loss: true,
        lease: Some("drctl".to_string()),
        ..InvariantInput::default()
    }
}

#[tokio::test(start_paused = true)]
async fn a_careful_failover_passes_every_invariant_and_a_quiet_window_costs_nothing() {
    let world = world();
    world.start_app_writes(20).unwrap();
    sleep_s(10).await;
    // A full us-east-1 outage would take the Route 53 control plane with it.
    world.region_outage_with(EAST, OutageScope::RegionalServicesOnly);
    let cloud = world.cloud("ctl");
    careful_failover(&world, &cloud).await;
    let from = world.now();
    for _ in 0..10 {
        cloud
            .aurora
            .describe_global_cluster(WEST, GLOBAL)
            .await
            .unwrap();
        cloud
            .ecs
            .describe_services(WEST, "myapp-prod-dr", &["api".to_string()])
            .await
            .unwrap();
        sleep_s(30).await;
    }
    let input = InvariantInput {
        converged_windows: vec![(from, world.now())],
        ..allowed()
    };
    let v = world.check_invariants(&input);
    assert!(v.is_empty(), "{v:#?}");
    assert!(
        !world.data_loss().lost_writes.is_empty(),
        "the outage cost the unreplicated writes"
    );
    // The record survives serialisation and re-checks the same offline.
    let run = world.run_record();
    let json = serde_json::to_string(&run).unwrap();
    let back: RunRecord = serde_json::from_str(&json).unwrap();
    assert_eq!(check(&back, &input), v);
}

#[tokio::test(start_paused = true)]
async fn moving_dns_before_the_writer_and_compute_is_invariant_4() {
    let world = world();
    let cloud = world.cloud("ctl");
    // The writer's region is down: us-west-2 can reach no writable database yet. (A writer
    // that is writable in another region would count: refined invariant 4, below.)
    world.region_outage_with(EAST, OutageScope::RegionalServicesOnly);
    cloud
        .dns
        .change_record(ZONE, Some(&east_record()), &west_record(), "too early")
        .await
        .unwrap();
    let v = world.check_invariants(&InvariantInput::default());
    assert!(
        v.iter()
            .any(|x| x.invariant == 4 && x.message.contains("writer")),
        "{v:?}"
    );
    assert!(
        v.iter()
            .any(|x| x.invariant == 4 && x.message.contains("running")),
        "{v:?}"
    );
    // A custom readiness threshold of 1 task only leaves the writer violation.
    let mut input = InvariantInput::default();
    input.dns_ready_running.insert("api".to_string(), 1);
    let v = world.check_invariants(&input);
    assert_eq!(v.iter().filter(|x| x.invariant == 4).count(), 1);
}

#[tokio::test(start_paused = true)]
async fn traffic_to_a_ready_region_while_the_writer_elsewhere_is_writable_keeps_invariant_4() {
    let world = world();
    let cloud = world.cloud("ctl");
    cloud
        .autoscaling
        .register_scalable_target(WEST, "service/myapp-prod-dr/api", 6, 24)
        .await
        .unwrap();
    cloud
        .ecs
        .update_desired_count(WEST, "myapp-prod-dr", "api", 6)
        .await
        .unwrap();
    wait_for(&world, 600, "west tasks", |s| {
        s.service(WEST, "myapp-prod-dr", "api").unwrap().running >= 6
    })
    .await;
    cloud
        .dns
        .change_record(ZONE, Some(&east_record()), &west_record(), "app tier")
        .await
        .unwrap();
    let v = world.check_invariants(&InvariantInput::default());
    assert!(v.iter().all(|x| x.invariant != 4), "{v:?}");
    assert_eq!(world.run_record().dns_changes.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_mutation_in_a_converged_window_is_invariant_5() {
    let world = world();
    let cloud = world.cloud("ctl");
    let from = world.now();
    sleep_s(10).await;
    cloud
        .ecs
        .update_desired_count(WEST, "myapp-prod-dr", "api", 1)
        .await
        .unwrap();
    let input = InvariantInput {
        converged_windows: vec![(from, world.now())],
        ..InvariantInput::default()
    };
    let v = world.check_invariants(&input);
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].invariant, 5);
    assert_eq!(v[0].at_ms, 10_000);
}

#[tokio::test(start_paused = true)]
async fn mutating_without_the_current_lease_epoch_is_invariant_6() {
    let world = world();
    let a = world.store_as("a");
    let b = world.store_as("b");
    let _lease_of_a = a
        .acquire_lease("drctl", "a", world.now(), 15_000)
        .await
        .unwrap()
        .unwrap();
    world
        .cloud("a")
        .ecs
        .update_desired_count(WEST, "myapp-prod-dr", "api", 1)
        .await
        .unwrap();
    // b acts without the lease.
    world
        .cloud("b")
        .ecs
        .update_desired_count(WEST, "myapp-prod-dr", "api", 1)
        .await
        .unwrap();
    // a pauses past expiry, b takes over, a wakes up and acts.
    sleep_s(20).await;
    b.acquire_lease("drctl", "b", world.now(), 15_000)
        .await
        .unwrap()
        .unwrap();
    world
        .cloud("b")
        .ecs
        .update_desired_count(WEST, "myapp-prod-dr", "api", 1)
        .await
        .unwrap();
    world
        .cloud("a")
        .ecs
        .update_desired_count(WEST, "myapp-prod-dr", "api", 1)
        .await
        .unwrap();
    let input = InvariantInput {
        lease: Some("drctl".to_string()),
        unleased_callers: vec!["operator".to_string()],
        ..InvariantInput::default()
    };
    let v = world.check_invariants(&input);
    let six: Vec<_> = v.iter().filter(|x| x.invariant == 6).collect();
    assert_eq!(six.len(), 2, "{v:#?}");
    assert!(six[0].message.starts_with("b called"));
    assert!(six[1].message.starts_with("a called"));
    // An unleased operator is not a violation.
    world
        .cloud("operator")
        .ecs
        .update_desired_count(WEST, "myapp-prod-dr", "api", 1)
        .await
        .unwrap();
    assert_eq!(world.check_invariants(&input).len(), 2);
}

#[tokio::test(start_paused = true)]
async fn deleting_without_a_fresh_manual_snapshot_is_invariant_2() {
    let world = world();
    world.set_rejoin_mode(RejoinMode::Stale);
    world.start_app_writes(10).unwrap();
    let cloud = world.cloud("ctl");
    // A snapshot taken now will be older than the stale primary's last write.
    cloud
        .aurora
        .create_cluster_snapshot(EAST, PRIMARY, "too-old")
        .await
        .unwrap();
    sleep_s(400).await;
    world.region_outage(EAST);
    cloud
        .aurora
        .failover_global_cluster(WEST, GLOBAL, &secondary_arn(), true)
        .await
        .unwrap();
    sleep_s(200).await;
    world.region_recover(EAST);
    sleep_s(1).await;
    cloud
        .aurora
        .delete_instance(EAST, &format!("{PRIMARY}-1"))
        .await
        .unwrap();
    cloud.aurora.delete_cluster(EAST, PRIMARY).await.unwrap();
    let v = world.check_invariants(&InvariantInput {
        allow_data_loss: true,
        ..InvariantInput::default()
    });
    assert_eq!(v.len(), 1, "{v:#?}");
    assert_eq!(v[0].invariant, 2);
    sleep_s(200).await;
    assert!(world.snapshot().cluster_in(EAST).is_none());
    // The manual snapshot outlives the cluster.
    let snaps = cloud
        .aurora
        .describe_cluster_snapshots(EAST, &drctl_cloud::SnapshotQuery::default())
        .await
        .unwrap();
    assert_eq!(snaps.len(), 1);
}
