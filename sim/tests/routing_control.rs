//! ARC in the simulated world: routing controls on five regional endpoints with a quorum,
//! RECOVERY_CONTROL health checks, failover records answering with the healthy one after
//! the health checkers' propagation, and a us-east-1 outage that takes the Route 53 control
//! plane but not ARC's other endpoints.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use drctl_cloud::{
    ClusterEndpoint, ErrorCategory, FailoverRole, RoutingControlState, RoutingControlUpdate,
};
use drctl_schema::{FailoverGroupSpec, RoutingControlSpec};
use drctl_sim::*;

const EXAMPLE: &str = include_str!("../../examples/failovergroup-routing-control.yaml");

fn spec() -> FailoverGroupSpec {
    drctl_schema::parse_documents(EXAMPLE.as_bytes(), "rc.yaml")
        .unwrap()
        .remove(0)
        .spec
}

fn controls(spec: &FailoverGroupSpec) -> RoutingControlSpec {
    spec.dns.routing_control.clone().unwrap()
}

fn world() -> (Arc<SimWorld>, FailoverGroupSpec) {
    let mut cfg = SimConfig::new(7);
    cfg.timings = SimTimings::default().instant_calls();
    let world = SimWorld::new(cfg);
    let spec = spec();
    world.provision(&spec).unwrap();
    (world, spec)
}

async fn endpoints(world: &Arc<SimWorld>, spec: &FailoverGroupSpec) -> Vec<ClusterEndpoint> {
    world
        .cloud("t")
        .recovery_config
        .describe_cluster(&controls(spec).cluster_arn)
        .await
        .unwrap()
}

fn endpoint_in<'a>(endpoints: &'a [ClusterEndpoint], region: &str) -> &'a ClusterEndpoint {
    endpoints.iter().find(|e| e.region == region).unwrap()
}

fn flip_to(spec: &FailoverGroupSpec, on: &str) -> Vec<RoutingControlUpdate> {
    controls(spec)
        .controls
        .iter()
        .map(|(region, arn)| RoutingControlUpdate {
            control_arn: arn.clone(),
            state: if region == on {
                RoutingControlState::On
            } else {
                RoutingControlState::Off
            },
        })
        .collect()
}

fn answers_with(world: &SimWorld) -> Option<String> {
    world.snapshot().records[0].answers_with.clone()
}

#[tokio::test(start_paused = true)]
async fn a_cluster_has_five_regional_endpoints_and_the_owner_starts_on() {
    let (world, spec) = world();
    let eps = endpoints(&world, &spec).await;
    assert_eq!(eps.len(), 5);
    let cloud = world.cloud("t");
    let rc = controls(&spec);
    let east = cloud
        .routing
        .get_routing_control_state(&eps[0], &rc.controls["us-east-1"])
        .await
        .unwrap();
    let west = cloud
        .routing
        .get_routing_control_state(&eps[0], &rc.controls["us-west-2"])
        .await
        .unwrap();
    assert_eq!(
        (east, west),
        (RoutingControlState::On, RoutingControlState::Off)
    );
    assert_eq!(answers_with(&world).as_deref(), Some("us-east-1"));
}

#[tokio::test(start_paused = true)]
async fn the_failover_pair_carries_recovery_control_health_checks_on_the_spec_controls() {
    let (world, spec) = world();
    let cloud = world.cloud("t");
    let dns = &spec.dns;
    let records = cloud
        .dns
        .list_failover_records(&dns.hosted_zone_id, &dns.record_name, "A")
        .await
        .unwrap();
    let roles: Vec<FailoverRole> = records.iter().map(|r| r.role).collect();
    assert_eq!(roles, [FailoverRole::Primary, FailoverRole::Secondary]);
    for (record, region) in records.iter().zip(["us-east-1", "us-west-2"]) {
        let check = cloud
            .dns
            .get_health_check(record.health_check_id.as_deref().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(check.check_type, "RECOVERY_CONTROL");
        assert_eq!(
            check.routing_control_arn.as_deref(),
            Some(controls(&spec).controls[region].as_str())
        );
    }
    // No simple record of that name: Route 53 does not allow both.
    assert!(cloud
        .dns
        .get_record(&dns.hosted_zone_id, &dns.record_name, "A")
        .await
        .unwrap()
        .is_none());
}

#[tokio::test(start_paused = true)]
async fn dns_answers_with_the_new_record_only_after_the_health_checkers_propagation() {
    let (world, spec) = world();
    let eps = endpoints(&world, &spec).await;
    world
        .cloud("t")
        .routing
        .update_routing_control_states(&eps[1], &flip_to(&spec, "us-west-2"))
        .await
        .unwrap();
    let propagation = world.timings().health_check_propagation;
    assert_eq!(
        world.snapshot().records[0].points_to.as_deref(),
        Some("us-west-2")
    );
    tokio::time::sleep(propagation - Duration::from_secs(1)).await;
    assert_eq!(answers_with(&world).as_deref(), Some("us-east-1"));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(answers_with(&world).as_deref(), Some("us-west-2"));
}

#[tokio::test(start_paused = true)]
async fn a_us_east_1_outage_takes_route53s_control_plane_but_not_arcs_other_endpoints() {
    let (world, spec) = world();
    let eps = endpoints(&world, &spec).await;
    world.region_outage("us-east-1");
    let cloud = world.cloud("t");
    let rc = controls(&spec);
    let dark = cloud
        .routing
        .get_routing_control_state(endpoint_in(&eps, "us-east-1"), &rc.controls["us-east-1"])
        .await
        .unwrap_err();
    assert_eq!(dark.category, ErrorCategory::Retryable);
    cloud
        .routing
        .update_routing_control_states(endpoint_in(&eps, "eu-west-1"), &flip_to(&spec, "us-west-2"))
        .await
        .unwrap();
    let r53 = cloud
        .dns
        .list_failover_records(&spec.dns.hosted_zone_id, &spec.dns.record_name, "A")
        .await
        .unwrap_err();
    assert_eq!(r53.code, "RequestTimeout");
    // The control-config API (us-west-2) and the health checkers still work.
    assert_eq!(endpoints(&world, &spec).await.len(), 5);
    tokio::time::sleep(world.timings().health_check_propagation).await;
    assert_eq!(answers_with(&world).as_deref(), Some("us-west-2"));
}

#[tokio::test(start_paused = true)]
async fn without_a_quorum_of_endpoint_regions_the_controls_cannot_change() {
    let (world, spec) = world();
    let eps = endpoints(&world, &spec).await;
    for region in ["us-east-1", "eu-west-1", "ap-northeast-1"] {
        world.region_outage(region);
    }
    let err = world
        .cloud("t")
        .routing
        .update_routing_control_states(endpoint_in(&eps, "us-west-2"), &flip_to(&spec, "us-west-2"))
        .await
        .unwrap_err();
    assert_eq!(err.category, ErrorCategory::Retryable);
    assert!(err.message.contains("quorum"), "{err}");
    assert_eq!(
        world.snapshot().records[0].points_to.as_deref(),
        Some("us-east-1")
    );
}

#[tokio::test(start_paused = true)]
async fn turning_every_control_off_is_refused_by_the_safety_rule() {
    let (world, spec) = world();
    let eps = endpoints(&world, &spec).await;
    let all_off: Vec<RoutingControlUpdate> = flip_to(&spec, "nowhere");
    let err = world
        .cloud("t")
        .routing
        .update_routing_control_states(&eps[0], &all_off)
        .await
        .unwrap_err();
    assert_eq!(err.code, "ConflictException");
    assert_eq!(err.category, ErrorCategory::NeedsOperator);
    assert_eq!(
        world.snapshot().records[0].points_to.as_deref(),
        Some("us-east-1")
    );
}

#[tokio::test(start_paused = true)]
async fn an_endpoint_takes_three_updates_a_second_and_another_endpoint_takes_the_fourth() {
    let (world, spec) = world();
    let eps = endpoints(&world, &spec).await;
    let cloud = world.cloud("t");
    for _ in 0..3 {
        cloud
            .routing
            .update_routing_control_states(&eps[1], &flip_to(&spec, "us-east-1"))
            .await
            .unwrap();
    }
    let err = cloud
        .routing
        .update_routing_control_states(&eps[1], &flip_to(&spec, "us-east-1"))
        .await
        .unwrap_err();
    assert_eq!(err.code, "ThrottlingException");
    assert!(err.is_retryable());
    cloud
        .routing
        .update_routing_control_states(&eps[2], &flip_to(&spec, "us-east-1"))
        .await
        .unwrap();
    // Reads are not limited.
    for _ in 0..10 {
        cloud
            .routing
            .get_routing_control_state(&eps[1], &controls(&spec).controls["us-east-1"])
            .await
            .unwrap();
    }
}
