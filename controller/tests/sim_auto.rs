//! The automatic-failover scenarios (docs/design-contract.md §7.3) in virtual time: their
//! targets (issue 11) are asserted on the scenario reports, which are deterministic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use drctl::simulation::{
    example_group, run_scenario, run_scenario_on, Scenario, ScenarioOptions, ScenarioReport,
};
use drctl_schema::Phase;

fn checked(name: &str, report: ScenarioReport) -> ScenarioReport {
    assert!(
        report.invariant_violations.is_empty(),
        "{name}: {:#?}",
        report.invariant_violations
    );
    println!(
        "{name}: rto {:?} recovery {:?} critical {:?} rpo {:?} lost {} final {:?} decisions {:?} rds {:?}",
        report.rto_seconds,
        report.recovery_seconds,
        report.critical_path_seconds,
        report.rpo_seconds,
        report.lost_writes,
        report.final_phase,
        report.decisions,
        report.api_calls.get("rds")
    );
    report
}

async fn run(scenario: Scenario, seed: u64) -> ScenarioReport {
    let report = run_scenario(scenario, ScenarioOptions::new(seed))
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", scenario.name()));
    checked(scenario.name(), report)
}

fn by(report: &ScenarioReport, who: &str) -> usize {
    report.decisions.iter().filter(|d| d.by == who).count()
}

#[tokio::test(start_paused = true)]
async fn region_outage_auto_fails_over_once_by_policy_within_after_seconds_plus_the_critical_path_plus_10_s(
) {
    let report = run(Scenario::RegionOutageAuto, 1).await;
    assert_eq!(by(&report, "policy"), 1, "{:#?}", report.decisions);
    assert_eq!(by(&report, "operator"), 0, "{:#?}", report.decisions);
    let rto = report.rto_seconds.expect("served again");
    let critical = report.critical_path_seconds.expect("critical path");
    assert!(
        rto <= 60.0 + critical + 10.0,
        "rto {rto}, critical {critical}"
    );
    // The decision is never before afterSeconds of impairment.
    let decided = report.decisions[0].at_seconds;
    let incident = report
        .timeline
        .iter()
        .find(|t| t.what.contains("goes dark"))
        .unwrap();
    assert!(
        decided - incident.at_seconds >= 60.0,
        "{decided} vs {}",
        incident.at_seconds
    );
    // The loss is held to the budget (invariant 3 with the policy's allowance).
    assert!(report.rpo_seconds.expect("rpo") <= 5.0);
    assert!(
        report.lost_writes as f64 <= (5.0 + 1.0) * 10.0,
        "{}",
        report.lost_writes
    );
}

#[tokio::test(start_paused = true)]
async fn controller_partition_decides_nothing_and_makes_no_mutating_rds_call() {
    let report = run(Scenario::ControllerPartition, 1).await;
    assert!(report.decisions.is_empty(), "{:#?}", report.decisions);
    let rds = report.api_calls.get("rds").cloned().unwrap_or_default();
    assert_eq!(rds.mutating, 0, "{rds:?}");
    assert_eq!(report.lost_writes, 0);
}

#[tokio::test(start_paused = true)]
async fn lag_over_budget_decides_nothing_loses_nothing_and_ends_blocked() {
    let report = run(Scenario::LagOverBudget, 1).await;
    assert!(report.decisions.is_empty(), "{:#?}", report.decisions);
    assert_eq!(report.lost_writes, 0);
    assert_eq!(report.final_phase, Some(Phase::Blocked));
    let blocked = report
        .timeline
        .iter()
        .any(|t| t.what.starts_with("Blocked"));
    assert!(blocked, "{:#?}", report.timeline);
}

#[tokio::test(start_paused = true)]
async fn flapping_region_causes_at_most_one_automatic_failover() {
    let report = run(Scenario::FlappingRegion, 1).await;
    assert_eq!(by(&report, "policy"), 1, "{:#?}", report.decisions);
}

#[tokio::test(start_paused = true)]
async fn the_same_outage_without_auto_failover_is_never_decided_by_policy() {
    let group = example_group().unwrap();
    assert!(group.spec.auto_failover.is_none());
    let report = run_scenario_on(Scenario::RegionOutageAuto, ScenarioOptions::new(1), group)
        .await
        .map(|r| checked("no-policy", r));
    // Nobody decides: the wait for the failover runs out, with no decision by policy.
    match report {
        Ok(r) => assert_eq!(by(&r, "policy"), 0, "{:#?}", r.decisions),
        Err(e) => assert!(e.to_string().contains("not reached"), "{e}"),
    }
}

#[tokio::test(start_paused = true)]
async fn operator_scenarios_report_the_operators_decisions() {
    let report = run_scenario(Scenario::RegionOutageFailover, ScenarioOptions::new(2))
        .await
        .unwrap();
    assert_eq!(report.decisions.len(), 1, "{:#?}", report.decisions);
    let d = &report.decisions[0];
    assert_eq!((d.by.as_str(), d.type_.as_str()), ("operator", "Failover"));
    assert!(d.reason.contains("--allow-data-loss"), "{}", d.reason);
    assert!(report.final_phase.is_some());
}
