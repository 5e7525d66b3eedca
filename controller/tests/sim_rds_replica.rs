//! spec.database.kind rdsReplica (docs/design-contract.md §7.5) in the simulated world: the
//! real controller fails an RDS primary over to its cross-region read replica, then fails
//! back by rebuilding the old primary as a replica, with no invariant violated.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use drctl::simulation::{run_scenario, Scenario, ScenarioOptions, ScenarioReport, Strategy};
use drctl_schema::{parse_documents, DatabaseKind, FailoverGroup};

const RDS_EXAMPLE: &str = include_str!("../../examples/failovergroup-rds.yaml");

fn rds_group() -> FailoverGroup {
    let group = parse_documents(RDS_EXAMPLE.as_bytes(), "failovergroup-rds.yaml")
        .unwrap()
        .remove(0);
    assert_eq!(group.spec.database.kind, DatabaseKind::RdsReplica);
    group
}

async fn run(scenario: Scenario, seed: u64) -> ScenarioReport {
    let mut options = ScenarioOptions::new(seed);
    options.group = Some(rds_group());
    let report = run_scenario(scenario, options)
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

fn steps_of<'a>(report: &'a ScenarioReport, operation: &str) -> Vec<&'a str> {
    report
        .steps
        .iter()
        .filter(|s| s.operation.starts_with(operation))
        .map(|s| s.name.as_str())
        .collect()
}

#[tokio::test(start_paused = true)]
async fn an_rds_region_outage_promotes_the_read_replica_and_records_the_last_replica_lag() {
    let report = run(Scenario::RegionOutageFailover, 2).await;
    let failover = steps_of(&report, "Failover");
    assert!(failover.contains(&"PromoteReplica"), "{failover:?}");
    assert!(!failover.contains(&"Failover"), "{failover:?}");
    let rpo = report.rpo_seconds.expect("rpo recorded");
    assert!((0.0..5.0).contains(&rpo), "rpo {rpo}");
    assert!(
        report.lost_writes as f64 <= (rpo + 1.0) * 10.0,
        "{report:#?}"
    );
    let calls = &report.api_calls;
    assert!(calls.contains_key("rds"), "{calls:?}");
}

#[tokio::test(start_paused = true)]
async fn an_rds_stale_failback_rebuilds_the_stale_region_switches_home_and_rebuilds_the_other() {
    let report = run(Scenario::FailbackStale, 4).await;
    assert_eq!(
        steps_of(&report, "Failback"),
        [
            "SnapshotStale",
            "AwaitApproval",
            "DeleteStale",
            "RecreateSecondary",
            "WaitReplicaSynced"
        ]
    );
    let home = steps_of(&report, "Switchover us-west-2 -> us-east-1");
    for step in [
        "FenceSource",
        "PromoteReplica",
        "MoveDns",
        "SnapshotStale",
        "RecreateSecondary",
        "WaitReplicaSynced",
    ] {
        assert!(home.contains(&step), "{step} in {home:?}");
    }
    // Home again with a standby: the region it came from is a replica once more.
    assert_eq!(
        report
            .final_phase
            .map(|p| p.as_str().to_string())
            .as_deref(),
        Some("Converged"),
        "{report:#?}"
    );
    assert!(report.rto_seconds.is_some(), "{report:#?}");
}

#[tokio::test(start_paused = true)]
async fn a_planned_rds_switch_fences_promotes_at_lag_zero_then_rebuilds_the_old_primary_as_a_replica(
) {
    let report = run(Scenario::PlannedSwitchover, 1).await;
    assert_eq!(report.lost_writes, 0);
    let switch = steps_of(&report, "Switchover");
    let at = |name: &str| {
        switch
            .iter()
            .position(|s| *s == name)
            .unwrap_or_else(|| panic!("no {name} in {switch:?}"))
    };
    // Served from the new writer first, then the old primary is rebuilt behind it.
    let order = [
        "FenceSource",
        "PromoteReplica",
        "MoveDns",
        "Verify",
        "SnapshotStale",
        "AwaitApproval",
        "DeleteStale",
        "RecreateSecondary",
        "WaitReplicaSynced",
    ];
    for pair in order.windows(2) {
        assert!(at(pair[0]) < at(pair[1]), "{pair:?} in {switch:?}");
    }
    assert_eq!(
        report.final_phase.map(|p| p.as_str()),
        Some("Converged"),
        "{report:#?}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_sequential_runbook_baseline_promotes_the_replica_and_is_slower_than_drctl() {
    let drctl = run(Scenario::RegionOutageFailover, 3).await;
    let mut options = ScenarioOptions::new(3);
    options.group = Some(rds_group());
    options.strategy = Strategy::Sequential;
    let baseline = run_scenario(Scenario::RegionOutageFailover, options)
        .await
        .unwrap();
    assert!(
        baseline.invariant_violations.is_empty(),
        "{:#?}",
        baseline.invariant_violations
    );
    let names = steps_of(&baseline, "Runbook");
    assert_eq!(names.first(), Some(&"PromoteReplica"), "{names:?}");
    let (a, b) = (
        drctl.recovery_seconds.unwrap(),
        baseline.recovery_seconds.unwrap(),
    );
    assert!(a < b, "drctl {a} s vs sequential {b} s");
}
