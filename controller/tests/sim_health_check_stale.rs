//! `routing: healthCheck` while the Route 53 control plane (us-east-1) is dark: its
//! checkers and DNS go on, GetHealthCheckStatus does not. Route 53 failed the group over to
//! us-west-2 on its own (an app-tier outage in us-east-1); then the control plane goes dark.
//! The controller holds us-west-2, the region last seen serving, at its active capacity.
//! And the RTO of a healthCheck group without a Verify probe: from the incident to when Route
//! 53 answers with a region whose app serves and can reach a writable database.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use drctl::metrics::Metrics;
use drctl::runtime::{Controller, RunMode, RuntimeConfig};
use drctl::simulation::{run_scenario_on, Scenario, ScenarioOptions, ScenarioReport};
use drctl_schema::FailoverGroup;
use drctl_sim::{InvariantInput, SimConfig, SimWorld};
use drctl_state::Store;
use tokio_util::sync::CancellationToken;

const LEASE: &str = "drctl-controller";
const OPERATOR: &str = "operator@test";
const WEST: &str = "us-west-2";
const HEALTH_CHECK_GROUP: &str = include_str!("../../examples/failovergroup-health-check.yaml");

fn health_check_group() -> FailoverGroup {
    drctl_schema::parse::parse_and_validate(HEALTH_CHECK_GROUP.as_bytes(), "hc.yaml")
        .unwrap()
        .remove(0)
}

/// (min, max) of the api service's scalable target in us-west-2, as the sim holds it.
async fn west_api_capacity(world: &Arc<SimWorld>, group: &FailoverGroup) -> (u32, u32) {
    let api = &group.spec.compute.services[0].regions[WEST];
    let id = drctl_cloud::ecs_resource_id(&api.cluster, &api.service);
    let targets = world
        .cloud("probe")
        .autoscaling
        .describe_scalable_targets(WEST, std::slice::from_ref(&id))
        .await
        .unwrap();
    let target = targets.into_iter().find(|t| t.resource_id == id).unwrap();
    (target.min, target.max)
}

async fn live_region(store: &Arc<dyn Store>, name: &str) -> Option<String> {
    let doc = store.get(name).await.unwrap()?;
    doc.status?.observed?.health_check?.live
}

#[tokio::test(start_paused = true)]
async fn with_the_control_plane_dark_the_region_route53_serves_keeps_its_capacity() {
    let group = health_check_group();
    let world = SimWorld::new(SimConfig::new(3));
    world.provision(&group.spec).unwrap();
    world.start_app_writes(10).unwrap();
    let operator = world.store_as(OPERATOR);
    operator.init().await.unwrap();
    let mut doc = group.clone();
    doc.status = None;
    operator.create(&doc).await.unwrap();

    let mut config = RuntimeConfig::new("drctl-a", LEASE);
    config.planner.operation_poll = Duration::from_secs(1);
    let controller = Controller::new(
        world.store_as("drctl-a"),
        world.cloud("drctl-a"),
        config,
        Metrics::new(),
    );
    let stop = CancellationToken::new();
    let token = stop.clone();
    let task = tokio::spawn(async move {
        let _ = controller.run(RunMode::Forever, None, token).await;
    });
    let active = group.spec.compute.services[0].active;
    let standby = group.spec.compute.services[0].standby;
    tokio::time::sleep(Duration::from_secs(300)).await;
    assert_eq!(
        west_api_capacity(&world, &group).await,
        (standby.min, standby.max)
    );

    // us-east-1's app tier fails: Route 53's checkers move traffic to us-west-2, and
    // drctl, reading that while the control plane answers, sizes us-west-2 as active.
    world.app_tier_outage("us-east-1");
    let mut seen_serving = false;
    for _ in 0..900 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if live_region(&operator, &group.metadata.name)
            .await
            .as_deref()
            == Some(WEST)
            && west_api_capacity(&world, &group).await == (active.min, active.max)
        {
            seen_serving = true;
            break;
        }
    }
    assert!(
        seen_serving,
        "drctl never saw Route 53 serve {WEST} and scale it"
    );

    // Now the Route 53 control plane goes dark for 20 minutes: the reading goes stale.
    world.route53_control_plane_outage();
    for minute in 0..20 {
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(
            west_api_capacity(&world, &group).await,
            (active.min, active.max),
            "minute {minute} of the control-plane outage: the serving region was resized"
        );
    }
    let status = operator
        .get(&group.metadata.name)
        .await
        .unwrap()
        .unwrap()
        .status
        .unwrap();
    let dns = status
        .conditions
        .iter()
        .find(|c| c.type_ == drctl_schema::condition_type::DNS_READY)
        .unwrap();
    assert_eq!(dns.reason, "HealthCheckStatusStale", "{dns:?}");
    stop.cancel();
    let _ = task.await;
    let violations = world.check_invariants(&InvariantInput {
        lease: Some(LEASE.to_string()),
        unleased_callers: vec![OPERATOR.to_string(), "probe".to_string()],
        ..Default::default()
    });
    assert!(violations.is_empty(), "{violations:#?}");
}

// --- RTO of a healthCheck group without a Verify probe -----------------------------------

fn without_verify() -> FailoverGroup {
    let mut group = health_check_group();
    group.spec.verify = None;
    group
}

async fn outage_report(scenario: Scenario, group: FailoverGroup) -> ScenarioReport {
    let report = run_scenario_on(scenario, ScenarioOptions::new(1), group)
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", scenario.name()));
    assert!(
        report.invariant_violations.is_empty(),
        "{:#?}",
        report.invariant_violations
    );
    report
}

#[tokio::test(start_paused = true)]
async fn a_health_check_group_without_verify_gets_an_rto_from_when_route53_serves_a_writable_region(
) {
    for scenario in [
        Scenario::RegionOutageFailover,
        Scenario::RegionOutageDnsDown,
    ] {
        let bare = outage_report(scenario, without_verify()).await;
        let rto = bare
            .rto_seconds
            .unwrap_or_else(|| panic!("{}: no RTO", scenario.name()));
        let recovery = bare.recovery_seconds.expect("a recovery time");
        // Route 53 moved traffic before the standby could write (the unwritable window):
        // users were served only once it could, later than that window.
        let window = bare.dns_to_unwritable_seconds.expect("a window");
        assert!(
            rto > window,
            "{}: RTO {rto} window {window}",
            scenario.name()
        );
        assert!(
            recovery > 0.0 && recovery < rto,
            "{}: {recovery} of {rto}",
            scenario.name()
        );
        // Nothing waits on the 30-minute control-plane outage.
        assert!(rto < 600.0, "{}: {rto}", scenario.name());
        // The Verify probe confirms the same serving moment, no earlier.
        let probed = outage_report(scenario, health_check_group()).await;
        let verified = probed.rto_seconds.expect("Verify's RTO");
        assert!(
            rto <= verified,
            "{}: {rto} s without Verify, {verified} s with it",
            scenario.name()
        );
    }
}

#[tokio::test(start_paused = true)]
async fn an_automatic_failover_of_a_health_check_group_without_verify_gets_an_rto_too() {
    let armed = |mut group: FailoverGroup| {
        let policy = drctl::simulation::auto::policy(Scenario::RegionOutageAuto);
        group.spec.auto_failover = Some(policy);
        group
    };
    let bare = outage_report(Scenario::RegionOutageAuto, armed(without_verify())).await;
    assert_eq!(bare.decisions.len(), 1, "{:#?}", bare.decisions);
    let rto = bare.rto_seconds.expect("an RTO without Verify");
    assert!(rto > 0.0 && rto < 600.0, "{rto}");
    let probed = outage_report(Scenario::RegionOutageAuto, armed(health_check_group())).await;
    let verified = probed.rto_seconds.expect("Verify's RTO");
    assert!(
        rto <= verified,
        "{rto} s without Verify, {verified} s with it"
    );
}

// --- Health-check reads are paced like every other Route 53 read -------------------------

#[tokio::test(start_paused = true)]
async fn health_check_status_reads_take_the_fleets_route53_tokens() {
    use drctl_cloud::pacing::{PaceLimits, Rate};
    let group = health_check_group();
    let world = SimWorld::new(SimConfig::new(5));
    world.provision(&group.spec).unwrap();
    let raw = world.cloud("drctl-a");
    let dns = &group.spec.dns;
    let records = raw
        .dns
        .list_failover_records(&dns.hosted_zone_id, &dns.record_name, "A")
        .await
        .unwrap();
    let check = records[0].health_check_id.clone().unwrap();
    let limits = PaceLimits {
        route53: Some(Rate {
            per_second: 1.0,
            burst: 1.0,
        }),
        ..PaceLimits::default()
    };
    let (cloud, _reads) = drctl::fleet::fleet_cloud(raw, limits);
    let started = tokio::time::Instant::now();
    for _ in 0..5 {
        cloud.dns.get_health_check_status(&check).await.unwrap();
    }
    // One token a second, one in the bucket: the fifth read waits about four seconds.
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(3_900), "{waited:?}");
}
