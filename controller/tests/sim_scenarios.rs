//! The real controller against the simulated world, in virtual time: every scenario converges
//! and the sim's checker finds no violation of DESIGN.md §5.
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
