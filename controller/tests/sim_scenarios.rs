//! The real controller against the simulated world, in virtual time: every scenario converges
//! and the sim's checker finds no violation of docs/design-contract.md §5.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use drctl::simulation::{run_scenario, Scenario, ScenarioOptions, Strategy};

async fn run(scenario: Scenario, seed: u64) -> drctl::simulation::ScenarioReport {
    let report = run_scenario(scenario, ScenarioOptions::new(seed))
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

#[tokio::test(start_paused = true)]
async fn planned_switchover_converges_with_no_data_loss() {
    let report = run(Scenario::PlannedSwitchover, 1).await;
    assert_eq!(report.lost_writes, 0);
    assert!(report.rto_seconds.is_some());
    let names: Vec<&str> = report.steps.iter().map(|s| s.name.as_str()).collect();
    assert!(
        names.contains(&"Switchover") && names.contains(&"ScaleDownSource"),
        "{names:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn region_outage_failover_records_the_rpo_and_loses_only_unreplicated_writes() {
    let report = run(Scenario::RegionOutageFailover, 2).await;
    let rpo = report.rpo_seconds.expect("rpo recorded");
    assert!(rpo > 0.0 && rpo < 5.0, "rpo {rpo}");
    // 10 writes/s: the loss is about rpo * 10 writes, and never more than the lag allows.
    assert!(
        report.lost_writes as f64 <= (rpo + 1.0) * 10.0,
        "{report:#?}"
    );
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
}

#[tokio::test(start_paused = true)]
async fn sequential_runbook_baseline_is_slower_than_drctl() {
    let drctl = run(Scenario::RegionOutageFailover, 3).await;
    let mut options = ScenarioOptions::new(3);
    options.strategy = Strategy::Sequential;
    let baseline = run_scenario(Scenario::RegionOutageFailover, options)
        .await
        .unwrap();
    let (a, b) = (
        drctl.recovery_seconds.unwrap(),
        baseline.recovery_seconds.unwrap(),
    );
    println!(
        "drctl {a:.1} s, sequential {b:.1} s, critical path {:?}",
        drctl.critical_path_seconds
    );
    assert!(a < b, "drctl {a} vs sequential {b}");
}

#[tokio::test(start_paused = true)]
async fn stale_failback_snapshots_waits_for_approval_rebuilds_and_comes_home() {
    let report = run(Scenario::FailbackStale, 4).await;
    let failback: Vec<&str> = report
        .steps
        .iter()
        .filter(|s| s.operation.starts_with("Failback"))
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(
        &failback[..5],
        [
            "SnapshotStale",
            "AwaitApproval",
            "DeleteStale",
            "RecreateSecondary",
            "WaitReplicaSynced"
        ]
    );
    assert!(report
        .steps
        .iter()
        .filter(|s| s.operation.starts_with("Failback"))
        .all(|s| s.state == "Succeeded" || s.state == "Skipped"));
    // The approval wait is visible in the timeline, between the snapshot and the delete.
    let approval = report
        .steps
        .iter()
        .find(|s| s.name == "AwaitApproval")
        .unwrap();
    assert!(approval.duration_seconds.unwrap() >= 60.0, "{approval:?}");
}

#[tokio::test(start_paused = true)]
async fn rejoined_failback_preserves_the_system_snapshot_then_switches_back() {
    let report = run(Scenario::FailbackRejoined, 5).await;
    let preserve = report
        .steps
        .iter()
        .find(|s| s.name == "PreserveSnapshot")
        .expect("PreserveSnapshot step");
    assert_eq!(preserve.state, "Succeeded", "{preserve:?}");
    assert!(report
        .steps
        .iter()
        .any(|s| s.operation.starts_with("Failback") && s.name == "Switchover"));
}

#[tokio::test(start_paused = true)]
async fn with_the_route53_control_plane_down_dns_moves_only_when_it_returns() {
    // us-east-1 takes the Route 53 control plane with it for 30 minutes: the database and the
    // compute move at once, DNS cannot move before the control plane is back.
    let report = run(Scenario::RegionOutageDnsDown, 6).await;
    let outage_at = report
        .timeline
        .iter()
        .find(|t| t.what.contains("goes dark"))
        .map(|t| t.at_seconds)
        .unwrap();
    let back_at = outage_at + drctl::simulation::DNS_DOWN_OUTAGE_SECONDS as f64;
    let step = |name: &str| {
        report
            .steps
            .iter()
            .find(|s| s.name == name)
            .unwrap()
            .clone()
    };
    assert!(step("Failover").end_seconds.unwrap() < outage_at + 600.0);
    assert!(
        step("MoveDns").end_seconds.unwrap() >= back_at,
        "{:?}",
        step("MoveDns")
    );
    assert!(
        report.recovery_seconds.unwrap()
            >= drctl::simulation::DNS_DOWN_OUTAGE_SECONDS as f64 - 120.0
    );
}

#[tokio::test(start_paused = true)]
async fn a_converged_group_costs_no_mutation_and_at_most_four_reads_per_pass() {
    let report = run(Scenario::PlannedSwitchover, 7).await;
    let pass = report.converged_pass_calls.expect("measured");
    assert_eq!(pass.mutating, 0);
    assert!(pass.read <= 4, "{pass:?}");
    assert!(
        pass.read > 0,
        "a pass that read nothing measured nothing: {pass:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_same_seed_gives_the_same_report() {
    let a = serde_json::to_string(&run(Scenario::RegionOutageFailover, 9).await).unwrap();
    let b = serde_json::to_string(&run(Scenario::RegionOutageFailover, 9).await).unwrap();
    assert_eq!(a, b);
}
