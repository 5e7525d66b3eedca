#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use drctl_cloud::{ChangeStatus, ErrorCategory, Service};
use drctl_sim::*;

#[tokio::test(start_paused = true)]
async fn record_is_returned_fully_qualified_and_lower_case() {
    let world = world();
    let cloud = world.cloud("t");
    let r = cloud
        .dns
        .get_record(ZONE, "API.example.com", "A")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.name, RECORD);
    assert_eq!(r.alias.unwrap().dns_name, format!("{EAST_ALB}."));
    let err = cloud
        .dns
        .get_record("ZNOPE", RECORD, "A")
        .await
        .unwrap_err();
    assert_eq!(err.code, "NoSuchHostedZone");
}

#[tokio::test(start_paused = true)]
async fn a_change_is_pending_until_insync_after_the_propagation_delay() {
    let world = world();
    let cloud = world.cloud("t");
    let info = cloud
        .dns
        .change_record(ZONE, Some(&east_record()), &west_record(), "move")
        .await
        .unwrap();
    assert_eq!(info.status, ChangeStatus::Pending);
    // The control plane has the new value at once; DNS answers with it once INSYNC.
    let s = world.snapshot();
    assert_eq!(s.records[0].points_to.as_deref(), Some(WEST));
    assert_eq!(s.records[0].answers_with.as_deref(), Some(EAST));
    sleep_s(59).await;
    assert_eq!(
        cloud.dns.get_change(&info.id).await.unwrap(),
        ChangeStatus::Pending
    );
    sleep_s(1).await;
    assert_eq!(
        cloud.dns.get_change(&info.id).await.unwrap(),
        ChangeStatus::InSync
    );
    assert_eq!(
        world.snapshot().records[0].answers_with.as_deref(),
        Some(WEST)
    );
    let insync = world
        .first_fact(world.at(Duration::ZERO), |k| {
            matches!(k, FactKind::DnsInSync { .. })
        })
        .unwrap();
    assert_eq!(insync.at_ms, 60_000);
}

#[tokio::test(start_paused = true)]
async fn delete_plus_create_is_a_compare_and_swap() {
    let world = world();
    let cloud = world.cloud("t");
    // Someone else moved the record first.
    cloud
        .dns
        .change_record(ZONE, None, &west_record(), "upsert")
        .await
        .unwrap();
    let err = cloud
        .dns
        .change_record(ZONE, Some(&east_record()), &west_record(), "cas")
        .await
        .unwrap_err();
    assert_eq!(err.code, "InvalidChangeBatch");
    assert!(err.message.contains("do not match"));
    // All or nothing: the record is what the winner wrote.
    let r = cloud
        .dns
        .get_record(ZONE, RECORD, "A")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.alias.unwrap().dns_name, format!("{WEST_ALB}."));
    // With the right expectation it succeeds.
    cloud
        .dns
        .change_record(ZONE, Some(&west_record()), &east_record(), "cas")
        .await
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn route53_control_plane_is_gone_while_us_east_1_is_down() {
    let world = world();
    world.region_outage(EAST);
    let cloud = world.cloud("t");
    let err = cloud
        .dns
        .change_record(ZONE, Some(&east_record()), &west_record(), "move")
        .await
        .unwrap_err();
    assert_eq!(err.code, "RequestTimeout");
    assert!(err.is_retryable());
    assert!(!err.outcome_unknown);
    let err = cloud.dns.get_record(ZONE, RECORD, "A").await.unwrap_err();
    assert_eq!(err.service, Service::Route53);
    assert_eq!(world.snapshot().records[0].points_to.as_deref(), Some(EAST));
    assert!(!world.snapshot().route53_control_plane_up);
    // Other regions keep working.
    cloud.aurora.describe_clusters(WEST, &[]).await.unwrap();
    world.region_recover(EAST);
    cloud
        .dns
        .change_record(ZONE, Some(&east_record()), &west_record(), "move")
        .await
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_regional_only_outage_of_us_east_1_keeps_the_route53_control_plane() {
    let world = world();
    world.region_outage_with(EAST, OutageScope::RegionalServicesOnly);
    let cloud = world.cloud("t");
    assert!(cloud.aurora.describe_clusters(EAST, &[]).await.is_err());
    cloud
        .dns
        .change_record(ZONE, Some(&east_record()), &west_record(), "move")
        .await
        .unwrap();
    // And the control plane alone can fail while every region is up.
    world.route53_control_plane_outage();
    assert!(cloud.dns.get_record(ZONE, RECORD, "A").await.is_err());
    cloud.aurora.describe_clusters(EAST, &[]).await.unwrap_err();
}

#[tokio::test(start_paused = true)]
async fn route53_throttles_above_its_configured_rate() {
    let world = world();
    world.set_rate_limit(
        Service::Route53,
        Some(RateLimit {
            per_second: 5,
            burst: 5,
        }),
    );
    let cloud = world.cloud("t");
    let mut ok = 0;
    let mut throttled = 0;
    for _ in 0..20 {
        match cloud.dns.get_record(ZONE, RECORD, "A").await {
            Ok(_) => ok += 1,
            Err(e) => {
                assert_eq!(e.code, "Throttling");
                assert_eq!(e.category, ErrorCategory::Retryable);
                throttled += 1;
            }
        }
    }
    assert_eq!((ok, throttled), (5, 15), "a burst of 5 at the same instant");
    let err = cloud
        .dns
        .change_record(ZONE, None, &west_record(), "x")
        .await
        .unwrap_err();
    assert_eq!(err.code, "PriorRequestNotComplete");
    // A second later the bucket has 5 tokens again.
    sleep_s(1).await;
    for _ in 0..5 {
        cloud.dns.get_record(ZONE, RECORD, "A").await.unwrap();
    }
    assert!(cloud.dns.get_record(ZONE, RECORD, "A").await.is_err());
    // Paced at 5/s, nothing is throttled.
    sleep_s(1).await;
    for _ in 0..20 {
        cloud.dns.get_record(ZONE, RECORD, "A").await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(start_paused = true)]
async fn rds_throttles_after_its_burst_per_region() {
    let world = world();
    let cloud = world.cloud("t");
    let mut east_ok = 0;
    for _ in 0..310 {
        if cloud.aurora.describe_clusters(EAST, &[]).await.is_ok() {
            east_ok += 1;
        }
    }
    assert_eq!(east_ok, 300, "aws-facts: a 300 burst");
    cloud.aurora.describe_clusters(WEST, &[]).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn tasks_converge_to_desired_at_the_fargate_launch_rate() {
    let world = world();
    let cloud = world.cloud("t");
    cloud
        .autoscaling
        .register_scalable_target(WEST, "service/myapp-prod-dr/api", 200, 400)
        .await
        .unwrap();
    cloud
        .ecs
        .update_desired_count(WEST, "myapp-prod-dr", "api", 201)
        .await
        .unwrap();
    let svc = &cloud
        .ecs
        .describe_services(WEST, "myapp-prod-dr", &["api".to_string()])
        .await
        .unwrap()[0];
    assert_eq!((svc.desired, svc.running, svc.pending), (201, 1, 200));
    // 100 launch at once, then 20/s: the last of 200 launches at 5 s, RUNNING 30 s later.
    sleep_s(30).await;
    let s = world.snapshot();
    assert_eq!(
        s.service(WEST, "myapp-prod-dr", "api").unwrap().running,
        101
    );
    sleep_s(5).await;
    let s = world.snapshot();
    assert_eq!(
        s.service(WEST, "myapp-prod-dr", "api").unwrap().running,
        201
    );
    let reached = world
        .first_fact(world.at(Duration::ZERO), |k| {
            matches!(k, FactKind::TasksReachedDesired { desired: 201, .. })
        })
        .unwrap();
    assert_eq!(reached.at_ms, 35_000);
}

#[tokio::test(start_paused = true)]
async fn autoscaling_pulls_a_desired_count_outside_min_max_back() {
    let world = world();
    let cloud = world.cloud("t");
    // Standby target is min 1 max 24: writing 30 is undone by Application Auto Scaling.
    cloud
        .ecs
        .update_desired_count(WEST, "myapp-prod-dr", "api", 30)
        .await
        .unwrap();
    sleep_s(61).await;
    let svc = &cloud
        .ecs
        .describe_services(WEST, "myapp-prod-dr", &["api".to_string()])
        .await
        .unwrap()[0];
    assert_eq!(svc.desired, 24);
    let t = cloud
        .autoscaling
        .describe_scalable_targets(WEST, &["service/myapp-prod-dr/api".to_string()])
        .await
        .unwrap();
    assert_eq!((t[0].min, t[0].max), (1, 24));
    // Raising min pulls desired up.
    cloud
        .autoscaling
        .register_scalable_target(WEST, "service/myapp-prod-dr/api", 26, 30)
        .await
        .unwrap();
    sleep_s(61).await;
    assert_eq!(
        world
            .snapshot()
            .service(WEST, "myapp-prod-dr", "api")
            .unwrap()
            .desired,
        26
    );
    let err = cloud
        .autoscaling
        .register_scalable_target(WEST, "service/myapp-prod-dr/api", 5, 4)
        .await
        .unwrap_err();
    assert_eq!(err.code, "ValidationException");
}

#[tokio::test(start_paused = true)]
async fn a_region_outage_stops_its_tasks_and_recovery_relaunches_them() {
    let world = world();
    world.region_outage(EAST);
    let s = world.snapshot();
    assert_eq!(s.service(EAST, "myapp-prod", "api").unwrap().running, 0);
    assert_eq!(s.service(EAST, "myapp-prod", "api").unwrap().desired, 6);
    let cloud = world.cloud("t");
    let err = cloud
        .ecs
        .describe_services(EAST, "myapp-prod", &["api".to_string()])
        .await
        .unwrap_err();
    assert_eq!(err.code, "RequestTimeout");
    assert_eq!(
        cloud.health.probe(URL).await.unwrap_err().code,
        "ConnectTimeout"
    );
    world.region_recover(EAST);
    assert_eq!(
        cloud.health.probe(URL).await.unwrap(),
        503,
        "no task running yet"
    );
    sleep_s(30).await;
    assert_eq!(
        world
            .snapshot()
            .service(EAST, "myapp-prod", "api")
            .unwrap()
            .running,
        6
    );
    assert_eq!(cloud.health.probe(URL).await.unwrap(), 200);
}

#[tokio::test(start_paused = true)]
async fn unknown_ecs_names_are_spec_problems() {
    let world = world();
    let cloud = world.cloud("t");
    let err = cloud
        .ecs
        .describe_services(WEST, "nope", &["api".to_string()])
        .await
        .unwrap_err();
    assert_eq!(err.code, "ClusterNotFoundException");
    assert!(cloud
        .ecs
        .describe_services(WEST, "myapp-prod-dr", &["nope".to_string()])
        .await
        .unwrap()
        .is_empty());
    let err = cloud
        .ecs
        .update_desired_count(WEST, "myapp-prod-dr", "nope", 1)
        .await
        .unwrap_err();
    assert_eq!(err.code, "ServiceNotFoundException");
}
