#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use drctl_cloud::Service;
use drctl_sim::*;

#[tokio::test(start_paused = true)]
async fn a_lost_response_is_applied_but_reported_as_outcome_unknown() {
    let world = world();
    world.inject(
        FaultRule::new(FaultKind::LostResponse)
            .service(Service::Rds)
            .operation("SwitchoverGlobalCluster"),
    );
    let cloud = world.cloud("ctl");
    let err = cloud
        .aurora
        .switchover_global_cluster(WEST, GLOBAL, &secondary_arn())
        .await
        .unwrap_err();
    assert!(err.outcome_unknown);
    assert!(err.is_retryable());
    assert_eq!(err.code, "ResponseTimeout");
    // It was applied: re-reading shows the switchover in flight, and a blind retry is refused.
    let g = cloud
        .aurora
        .describe_global_cluster(WEST, GLOBAL)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(g.failover_state.unwrap().status, "switching-over");
    let retry = cloud
        .aurora
        .switchover_global_cluster(WEST, GLOBAL, &secondary_arn())
        .await
        .unwrap_err();
    assert_eq!(retry.code, "InvalidGlobalClusterStateFault");
    let rec = world
        .calls()
        .into_iter()
        .find(|c| c.operation == "SwitchoverGlobalCluster")
        .unwrap();
    assert!(rec.outcome.applied && rec.outcome.outcome_unknown && !rec.outcome.ok);
    assert_eq!(rec.caller, "ctl");
}

#[tokio::test(start_paused = true)]
async fn a_lost_dns_change_moved_the_record() {
    let world = world();
    world.inject(FaultRule::new(FaultKind::LostResponse).operation("ChangeResourceRecordSets"));
    let cloud = world.cloud("ctl");
    let err = cloud
        .dns
        .change_record(ZONE, Some(&east_record()), &west_record(), "move")
        .await
        .unwrap_err();
    assert!(err.outcome_unknown);
    let r = cloud
        .dns
        .get_record(ZONE, RECORD, "A")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.alias.unwrap().dns_name, format!("{WEST_ALB}."));
}

#[tokio::test(start_paused = true)]
async fn server_errors_and_throttles_are_not_applied() {
    let world = world();
    world.inject(FaultRule::new(FaultKind::ServerError).operation("UpdateService"));
    world.inject(FaultRule::new(FaultKind::Throttle).operation("UpdateService"));
    let cloud = world.cloud("ctl");
    let e1 = cloud
        .ecs
        .update_desired_count(WEST, "myapp-prod-dr", "api", 6)
        .await
        .unwrap_err();
    assert_eq!(e1.code, "ServerException");
    let e2 = cloud
        .ecs
        .update_desired_count(WEST, "myapp-prod-dr", "api", 6)
        .await
        .unwrap_err();
    assert_eq!(e2.code, "ThrottlingException");
    assert!(!e1.outcome_unknown && !e2.outcome_unknown);
    assert_eq!(
        world
            .snapshot()
            .service(WEST, "myapp-prod-dr", "api")
            .unwrap()
            .desired,
        1
    );
    cloud
        .ecs
        .update_desired_count(WEST, "myapp-prod-dr", "api", 6)
        .await
        .unwrap();
    assert_eq!(
        world
            .snapshot()
            .service(WEST, "myapp-prod-dr", "api")
            .unwrap()
            .desired,
        6
    );
}

#[tokio::test(start_paused = true)]
async fn calls_take_virtual_time_and_unreachable_regions_time_out() {
    let world = SimWorld::new(SimConfig::new(3));
    world.provision(&spec()).unwrap();
    let cloud = world.cloud("t");
    let t0 = world.now();
    cloud.aurora.describe_clusters(EAST, &[]).await.unwrap();
    assert_eq!(
        world.now().millis() - t0.millis(),
        150,
        "default RDS latency"
    );
    world.inject(FaultRule::new(FaultKind::LatencyMs(5_000)).service(Service::Ecs));
    let t1 = world.now();
    cloud
        .ecs
        .describe_services(EAST, "myapp-prod", &["api".to_string()])
        .await
        .unwrap();
    assert_eq!(world.now().millis() - t1.millis(), 5_050);
    world.region_outage(WEST);
    let t2 = world.now();
    let err = cloud.aurora.describe_clusters(WEST, &[]).await.unwrap_err();
    assert_eq!(err.code, "RequestTimeout");
    assert_eq!(world.now().millis() - t2.millis(), 3_000);
}

#[tokio::test(start_paused = true)]
async fn scheduled_faults_happen_at_their_virtual_time() {
    let world = world();
    world.schedule(
        Duration::from_secs(100),
        ScheduledFault::RegionOutage {
            region: EAST.to_string(),
            scope: OutageScope::Full,
        },
    );
    world.schedule(
        Duration::from_secs(200),
        ScheduledFault::RegionRecover {
            region: EAST.to_string(),
        },
    );
    world.start_app_writes(1).unwrap();
    sleep_s(99).await;
    assert!(world.snapshot().regions_down.is_empty());
    sleep_s(2).await;
    assert_eq!(world.snapshot().regions_down, vec![EAST.to_string()]);
    sleep_s(100).await;
    assert!(world.snapshot().regions_down.is_empty());
    let report = world.data_loss();
    // Writes at 100 s .. 199 s were refused (the writer's region was down); none lost.
    assert_eq!(report.rejected, 100);
    assert!(report.lost_writes.is_empty());
    assert_eq!(report.longest_unavailability_ms, 100_000);
    let down = world
        .first_fact(world.at(Duration::ZERO), |k| {
            matches!(k, FactKind::RegionDown { .. })
        })
        .unwrap();
    assert_eq!(down.at_ms, 100_000);
}

#[tokio::test(start_paused = true)]
async fn seeded_random_faults_hit_about_the_configured_fraction() {
    let world = world();
    world.set_rate_limit(Service::Rds, None);
    world.set_service_faults(
        Service::Rds,
        ServiceFaults {
            throttle: 0.1,
            server_error: 0.1,
            lost_response: 0.1,
            extra_latency: Duration::ZERO,
        },
    );
    let cloud = world.cloud("t");
    for _ in 0..1000 {
        let _ = cloud.aurora.describe_clusters(EAST, &[]).await;
    }
    let calls = world.calls();
    let count = |code: &str| {
        calls
            .iter()
            .filter(|c| c.outcome.code.as_deref() == Some(code))
            .count()
    };
    for code in ["Throttling", "InternalFailure", "ResponseTimeout"] {
        let n = count(code);
        assert!((50..=150).contains(&n), "{code}: {n}");
    }
}

#[tokio::test(start_paused = true)]
async fn slow_operations_take_longer() {
    let world = world();
    world.set_slow_operations(1.0, 3);
    let cloud = world.cloud("t");
    let info = cloud
        .dns
        .change_record(ZONE, None, &west_record(), "x")
        .await
        .unwrap();
    sleep_s(61).await;
    assert_eq!(
        cloud.dns.get_change(&info.id).await.unwrap(),
        drctl_cloud::ChangeStatus::Pending
    );
    sleep_s(120).await;
    assert_eq!(
        cloud.dns.get_change(&info.id).await.unwrap(),
        drctl_cloud::ChangeStatus::InSync
    );
}

#[tokio::test(start_paused = true)]
async fn every_call_is_recorded_with_caller_time_service_and_outcome() {
    let world = world();
    let a = world.cloud("replica-a");
    let b = world.cloud("replica-b");
    sleep_s(5).await;
    a.aurora
        .describe_global_cluster(EAST, GLOBAL)
        .await
        .unwrap();
    b.ecs
        .update_desired_count(WEST, "myapp-prod-dr", "api", 2)
        .await
        .unwrap();
    let calls = world.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].caller, "replica-a");
    assert_eq!(calls[0].service, "rds");
    assert_eq!(calls[0].operation, "DescribeGlobalClusters");
    assert_eq!(calls[0].region, EAST);
    assert!(!calls[0].mutating);
    assert_eq!(calls[0].at_ms, 5_000);
    assert_eq!(calls[0].at.to_rfc3339(), "2026-01-01T00:00:05.000Z");
    assert_eq!(calls[1].caller, "replica-b");
    assert_eq!(calls[1].operation, "UpdateService");
    assert!(calls[1].mutating && calls[1].outcome.ok && calls[1].outcome.applied);
    assert!(calls[0].seq < calls[1].seq);
}

#[tokio::test(start_paused = true)]
async fn random_outages_are_drawn_from_the_seed_and_happen() {
    let draw = |seed| {
        let world = SimWorld::new(exact_config(seed));
        world.provision(&spec()).unwrap();
        let plan = world.schedule_random_outages(
            &[EAST, WEST],
            3,
            Duration::from_secs(3600),
            Duration::from_secs(600),
        );
        (world, plan)
    };
    let (world, plan) = draw(11);
    let (_, same) = draw(11);
    let (_, other) = draw(12);
    assert_eq!(plan, same);
    assert_ne!(plan, other);
    assert_eq!(plan.len(), 6);
    tokio::time::sleep(Duration::from_secs(4300)).await;
    let downs = world
        .facts()
        .into_iter()
        .filter(|f| matches!(f.kind, FactKind::RegionDown { .. }))
        .count();
    assert!(downs >= 1, "outages happened");
    assert!(
        world.snapshot().regions_down.is_empty(),
        "and all recovered"
    );
}

#[tokio::test(start_paused = true)]
async fn calls_from_returns_only_the_new_calls() {
    let world = world();
    let cloud = world.cloud("t");
    cloud.aurora.describe_clusters(EAST, &[]).await.unwrap();
    let mark = world.call_count();
    cloud
        .ecs
        .describe_services(EAST, "myapp-prod", &["api".to_string()])
        .await
        .unwrap();
    let new = world.calls_from(mark);
    assert_eq!(new.len(), 1);
    assert_eq!(new[0].operation, "DescribeServices");
    assert!(world.calls_from(99).is_empty());
}
