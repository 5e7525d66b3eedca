//! `spec.dns.routing: routingControl` in the simulated world (docs/design-contract.md §7.2):
//! the outage scenarios run on examples/failovergroup-routing-control.yaml, in virtual time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use drctl::simulation::{run_scenario, run_scenario_on, Scenario, ScenarioOptions, ScenarioReport};
use drctl_schema::FailoverGroup;

const ROUTING_CONTROL_GROUP: &str =
    include_str!("../../examples/failovergroup-routing-control.yaml");

fn routing_control_group() -> FailoverGroup {
    drctl_schema::parse::parse_and_validate(ROUTING_CONTROL_GROUP.as_bytes(), "rc.yaml")
        .unwrap()
        .remove(0)
}

async fn run_on_arc(scenario: Scenario, seed: u64) -> ScenarioReport {
    let report = run_scenario_on(
        scenario,
        ScenarioOptions::new(seed),
        routing_control_group(),
    )
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

fn calls(report: &ScenarioReport, service: &str) -> (u64, u64) {
    report
        .api_calls
        .get(service)
        .map_or((0, 0), |c| (c.mutating, c.read))
}

#[tokio::test(start_paused = true)]
async fn with_us_east_1_dark_a_routing_control_group_recovers_as_fast_as_with_dns_up() {
    let upsert = run_scenario(Scenario::RegionOutageFailover, ScenarioOptions::new(6))
        .await
        .unwrap();
    let arc = run_on_arc(Scenario::RegionOutageDnsDown, 6).await;
    let (baseline, rto) = (upsert.rto_seconds.unwrap(), arc.rto_seconds.unwrap());
    println!(
        "region-outage-failover (upsert) RTO {baseline:.1} s; region-outage-dns-down (routingControl) RTO {rto:.1} s; api_calls {:?}",
        arc.api_calls
    );
    assert!(
        rto <= baseline * 1.10,
        "routingControl RTO {rto} s is more than 10% over the failover's {baseline} s"
    );
    // Not one Route 53 control-plane mutation: traffic moved on ARC's data plane.
    assert_eq!(calls(&arc, "route53").0, 0, "{:?}", arc.api_calls);
    assert!(
        calls(&arc, "route53-recovery-cluster").0 >= 1,
        "{:?}",
        arc.api_calls
    );
    let move_dns = arc.steps.iter().find(|s| s.name == "MoveDns").unwrap();
    assert_eq!(move_dns.state, "Succeeded", "{move_dns:?}");
    assert!(arc.lost_writes as f64 <= (arc.rpo_seconds.unwrap() + 1.0) * 10.0);
}

#[tokio::test(start_paused = true)]
async fn a_planned_switchover_of_a_routing_control_group_flips_the_controls_and_converges() {
    let report = run_on_arc(Scenario::PlannedSwitchover, 1).await;
    assert_eq!(report.lost_writes, 0);
    assert_eq!(calls(&report, "route53").0, 0, "{:?}", report.api_calls);
    let wait = report
        .steps
        .iter()
        .find(|s| s.name == "WaitDnsInSync")
        .unwrap();
    assert!(
        wait.detail
            .as_deref()
            .unwrap_or("")
            .contains("health checkers"),
        "{wait:?}"
    );
    let pass = report.converged_pass_calls.unwrap();
    assert_eq!(pass.mutating, 0, "{pass:?}");
    // ARCHITECTURE.md: the two controls are read instead of the record, 5 reads instead of 4.
    assert_eq!(pass.read, 5, "{pass:?}");
}

/// The figures of docs/benchmarks.md ("Traffic on the data plane"): every outage scenario,
/// upsert (the example group) beside routingControl (the routing-control example), seed 1.
/// Also asserts what holds for every one of them: no Route 53 mutation in routingControl
/// mode, and every invariant (checked by `run_on_arc`).
#[tokio::test(start_paused = true)]
async fn every_outage_scenario_side_by_side_in_both_modes() {
    println!("| scenario | mode | RTO (s) | recovery (s) | lost writes | route53 mutating | route53-recovery-cluster mutating |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for scenario in [
        Scenario::RegionOutageFailover,
        Scenario::RegionOutageDnsDown,
        Scenario::FailbackRejoined,
        Scenario::FailbackStale,
    ] {
        let upsert = run_scenario(scenario, ScenarioOptions::new(1))
            .await
            .unwrap();
        assert!(
            upsert.invariant_violations.is_empty(),
            "{:?}",
            upsert.invariant_violations
        );
        let arc = run_on_arc(scenario, 1).await;
        for (mode, r) in [("upsert", &upsert), ("routingControl", &arc)] {
            println!(
                "| {} | {mode} | {:.1} | {:.1} | {} | {} | {} |",
                scenario.name(),
                r.rto_seconds.unwrap_or(f64::NAN),
                r.recovery_seconds.unwrap_or(f64::NAN),
                r.lost_writes,
                calls(r, "route53").0,
                calls(r, "route53-recovery-cluster").0,
            );
        }
        assert_eq!(
            calls(&arc, "route53").0,
            0,
            "{}: {:?}",
            scenario.name(),
            arc.api_calls
        );
        assert!(arc.rto_seconds.is_some(), "{}", scenario.name());
    }
}
