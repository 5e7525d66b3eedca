#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;

#[tokio::test(start_paused = true)]
async fn an_app_tier_outage_takes_ecs_and_the_load_balancer_but_not_aurora() {
    let world = world();
    let cloud = world.cloud("ctl");
    world.start_app_writes(10).unwrap();
    sleep_s(10).await;
    world.app_tier_outage(EAST);
    let services = cloud
        .ecs
        .describe_services(EAST, "myapp-prod", &["api".to_string()])
        .await;
    assert!(services.unwrap_err().is_retryable());
    assert!(
        cloud.health.probe(URL).await.is_err(),
        "the load balancer is down"
    );
    let global = cloud
        .aurora
        .describe_global_cluster(EAST, GLOBAL)
        .await
        .unwrap()
        .expect("global cluster");
    assert!(global
        .members
        .iter()
        .any(|m| m.is_writer && m.cluster_arn == primary_arn()));
    let s = world.snapshot();
    assert_eq!(s.service(EAST, "myapp-prod", "api").unwrap().running, 0);
    assert_eq!(s.writable_clusters().len(), 1, "Aurora keeps its writer");
    sleep_s(30).await;
    assert!(world.data_loss().lost_writes.is_empty());

    world.app_tier_recover(EAST);
    wait_for(&world, 600, "east tasks back", |s| {
        s.service(EAST, "myapp-prod", "api").unwrap().running >= 6
    })
    .await;
    assert_eq!(cloud.health.probe(URL).await.unwrap(), 200);
}

#[tokio::test(start_paused = true)]
async fn route53_answers_a_health_check_group_with_the_standby_once_the_primary_fails_its_checks() {
    let mut spec = spec();
    spec.dns.routing = drctl_schema::DnsRouting::HealthCheck;
    let world = drctl_sim::SimWorld::new(drctl_sim::SimConfig::new(1));
    world.provision(&spec).unwrap();
    let answers = |w: &drctl_sim::SimWorld| w.snapshot().records[0].answers_with.clone();
    sleep_s(100).await;
    assert_eq!(answers(&world).as_deref(), Some(EAST));
    world.app_tier_outage(EAST);
    // Three failed checks 30 s apart, at sixteen checkers' phases.
    sleep_s(60).await;
    assert_eq!(
        answers(&world).as_deref(),
        Some(EAST),
        "two failures are not enough"
    );
    sleep_s(60).await;
    assert_eq!(answers(&world).as_deref(), Some(WEST));
    world.app_tier_recover(EAST);
    wait_for(&world, 600, "east tasks back", |s| {
        s.service(EAST, "myapp-prod", "api").unwrap().running >= 6
    })
    .await;
    sleep_s(120).await;
    assert_eq!(answers(&world).as_deref(), Some(EAST));
}
