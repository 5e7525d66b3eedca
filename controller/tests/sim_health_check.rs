//! `spec.dns.routing: healthCheck` in the simulated world (docs/design-contract.md §7.2): the
//! outage scenarios on examples/failovergroup-health-check.yaml. Route 53 moves the traffic on
//! its health checks; drctl never changes a record, and the window in which Route 53 served a
//! region that could not take writes is reported.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use drctl::simulation::{run_scenario_on, Scenario, ScenarioOptions, ScenarioReport};
use drctl_schema::FailoverGroup;

const HEALTH_CHECK_GROUP: &str = include_str!("../../examples/failovergroup-health-check.yaml");

fn health_check_group() -> FailoverGroup {
    drctl_schema::parse::parse_and_validate(HEALTH_CHECK_GROUP.as_bytes(), "hc.yaml")
        .unwrap()
        .remove(0)
}

async fn run_on_health_checks(scenario: Scenario, seed: u64) -> ScenarioReport {
    let report = run_scenario_on(scenario, ScenarioOptions::new(seed), health_check_group())
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", scenario.name()));
    assert!(
        report.invariant_violations.is_empty(),
        "{}: {:#?}",
        scenario.name(),
        report.invariant_violations
    );
    report
}

fn route53_mutations(report: &ScenarioReport) -> u64 {
    report.api_calls.get("route53").map_or(0, |c| c.mutating)
}

#[tokio::test(start_paused = true)]
async fn in_a_region_outage_route53_moves_traffic_itself_and_the_unwritable_window_is_reported() {
    let report = run_on_health_checks(Scenario::RegionOutageFailover, 1).await;
    println!(
        "healthCheck region-outage-failover: RTO {:?} s, DNS to unwritable {:?} s, lost {}",
        report.rto_seconds, report.dns_to_unwritable_seconds, report.lost_writes
    );
    assert_eq!(route53_mutations(&report), 0, "{:?}", report.api_calls);
    let move_dns = report.steps.iter().find(|s| s.name == "MoveDns").unwrap();
    assert_eq!(move_dns.state, "Skipped", "{move_dns:?}");
    assert!(
        move_dns
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("Route 53 moves traffic itself")),
        "{move_dns:?}"
    );
    // Route 53 failed over on its health checks (about 90 s: 3 x 30 s) before the operator's
    // failover promoted us-west-2: a window of traffic to a region that could not write.
    let window = report.dns_to_unwritable_seconds.expect("measured");
    assert!(window > 0.0, "{window}");
    assert!(
        window < report.rto_seconds.unwrap(),
        "{window} {:?}",
        report.rto_seconds
    );
}

#[tokio::test(start_paused = true)]
async fn with_the_control_plane_down_a_health_check_group_still_serves_from_the_standby() {
    let report = run_on_health_checks(Scenario::RegionOutageDnsDown, 1).await;
    assert_eq!(route53_mutations(&report), 0, "{:?}", report.api_calls);
    let rto = report.rto_seconds.expect("an RTO");
    // Nothing waits on the 30-minute control-plane outage.
    assert!(rto < 600.0, "{rto}");
    // Route 53 moves traffic when the health checks fail, before the standby is writer: a
    // window it serves a region that cannot take writes, shorter than the recovery.
    let window = report.dns_to_unwritable_seconds.expect("a measured window");
    assert!(window > 0.0 && window < rto, "{window} of {rto}");
}

#[tokio::test(start_paused = true)]
async fn a_health_check_group_fails_back_once_route53_answers_with_the_recovered_primary() {
    let report = run_on_health_checks(Scenario::FailbackRejoined, 1).await;
    assert_eq!(route53_mutations(&report), 0, "{:?}", report.api_calls);
    let skipped = report
        .steps
        .iter()
        .filter(|s| s.name == "MoveDns" && s.state == "Skipped")
        .count();
    assert_eq!(skipped, 2, "{:#?}", report.steps);
    assert_eq!(report.final_phase, Some(drctl_schema::Phase::Converged));
}

/// A planned move cannot be made with routing healthCheck: us-east-1 stays healthy, so Route
/// 53 keeps answering with it. The switchover of the database completes; the group then stays
/// Degraded, DnsReady saying where Route 53 answers (the scenario driver waits for Ready).
#[tokio::test(start_paused = true)]
async fn a_planned_switchover_of_a_health_check_group_moves_the_writer_but_not_the_traffic() {
    let err = run_scenario_on(
        Scenario::PlannedSwitchover,
        ScenarioOptions::new(1),
        health_check_group(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("phase Degraded"), "{err}");
}

const ROUTING_CONTROL_GROUP: &str =
    include_str!("../../examples/failovergroup-routing-control.yaml");

/// docs/benchmarks.md's table: every outage scenario in the three routing modes (seed 1,
/// virtual time). Printed with `-- --nocapture`; asserts only that each run that completes
/// keeps every invariant and that no healthCheck or routingControl run mutates Route 53.
#[tokio::test(start_paused = true)]
async fn every_outage_scenario_side_by_side_in_the_three_modes() {
    let routing_control =
        drctl_schema::parse::parse_and_validate(ROUTING_CONTROL_GROUP.as_bytes(), "rc.yaml")
            .unwrap()
            .remove(0);
    let modes = [
        ("upsert", drctl::simulation::example_group().unwrap()),
        ("routingControl", routing_control),
        ("healthCheck", health_check_group()),
    ];
    println!("| scenario | mode | RTO (s) | recovery (s) | lost writes | route53 mutating | route53-recovery-cluster mutating | DNS to unwritable (s) |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for scenario in [
        Scenario::RegionOutageFailover,
        Scenario::RegionOutageDnsDown,
        Scenario::FailbackRejoined,
        Scenario::FailbackStale,
        Scenario::AppTierOutage,
    ] {
        for (mode, group) in &modes {
            let row = match run_scenario_on(scenario, ScenarioOptions::new(1), group.clone()).await
            {
                Ok(r) => {
                    assert!(
                        r.invariant_violations.is_empty(),
                        "{} {mode}: {:?}",
                        scenario.name(),
                        r.invariant_violations
                    );
                    if *mode != "upsert" {
                        assert_eq!(route53_mutations(&r), 0, "{} {mode}", scenario.name());
                    }
                    let mutating = |svc: &str| r.api_calls.get(svc).map_or(0, |c| c.mutating);
                    format!(
                        "{:.1} | {:.1} | {} | {} | {} | {}",
                        r.rto_seconds.unwrap_or(f64::NAN),
                        r.recovery_seconds.unwrap_or(f64::NAN),
                        r.lost_writes,
                        mutating("route53"),
                        mutating("route53-recovery-cluster"),
                        r.dns_to_unwritable_seconds
                            .map_or("-".to_string(), |w| format!("{w:.0}")),
                    )
                }
                Err(e) => format!("did not complete: {e} | | | | |"),
            };
            println!("| {} | {mode} | {row} |", scenario.name());
        }
    }
}

#[tokio::test(start_paused = true)]
async fn in_an_app_tier_outage_route53_fails_a_health_check_group_over_and_back_by_itself() {
    let report = run_on_health_checks(Scenario::AppTierOutage, 1).await;
    assert_eq!(report.lost_writes, 0);
    assert_eq!(route53_mutations(&report), 0, "{:?}", report.api_calls);
    assert_eq!(
        report.api_calls.get("rds").map_or(0, |c| c.mutating),
        0,
        "{:?}",
        report.api_calls
    );
    // Three failed checks 30 s apart, at the checkers' phases: within two minutes.
    let rto = report.rto_seconds.expect("Route 53 moved the traffic");
    assert!(rto > 60.0 && rto < 120.0, "{rto}");
    assert!(report.decisions.is_empty(), "{:?}", report.decisions);
}
