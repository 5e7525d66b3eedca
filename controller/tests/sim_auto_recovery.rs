//! After the incident (issue 11): once Aurora has added the old primary back by itself, the
//! controller preserves its snapshot on its own, reports the group ready to fail back with the
//! measured lag, and never fails back. Virtual time, deterministic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use drctl::simulation::{run_scenario, Scenario, ScenarioOptions, ScenarioReport};
use drctl_schema::Phase;
use drctl_state::Event;

async fn run(scenario: Scenario) -> ScenarioReport {
    let report = run_scenario(scenario, ScenarioOptions::new(1))
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", scenario.name()));
    assert!(
        report.invariant_violations.is_empty(),
        "{:#?}",
        report.invariant_violations
    );
    report
}

fn journal(report: &ScenarioReport) -> &[Event] {
    &report.record.as_ref().expect("the run's record").journal
}

fn copies(report: &ScenarioReport) -> Vec<&Event> {
    journal(report)
        .iter()
        .filter(|e| e.reason == "AwsMutation" && e.message.starts_with("copy snapshot "))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn after_an_automatic_failover_and_the_rejoin_the_snapshot_is_preserved_by_itself_and_nothing_fails_back(
) {
    let report = run(Scenario::RegionOutageAuto).await;
    // One copy, by the controller alone, of the system snapshot, to the deterministic name.
    let copies = copies(&report);
    assert_eq!(copies.len(), 1, "{copies:#?}");
    assert!(
        copies[0].message.contains("rds:unplanned-global-failover-")
            && copies[0]
                .message
                .contains("to manual snapshot drctl-preserved-myapp-prod-primary-op-"),
        "{}",
        copies[0].message
    );
    // Succeeded only once the copy read back available.
    let preserved = journal(&report)
        .iter()
        .find(|e| e.reason == "SnapshotPreserved")
        .expect("SnapshotPreserved");
    assert!(
        preserved.message.contains("available"),
        "{}",
        preserved.message
    );
    // Ready to fail back, with the lag and the command; and failing back stays a person's.
    let ready = journal(&report)
        .iter()
        .find(|e| e.reason == "ReadyToFailBack")
        .expect("ReadyToFailBack");
    assert!(
        ready.message.contains("ready to fail back (lag ")
            && ready
                .message
                .contains("`drctl failover myapp-prod --to us-east-1`"),
        "{}",
        ready.message
    );
    let started: Vec<_> = journal(&report)
        .iter()
        .filter(|e| e.reason == "OperationStarted")
        .map(|e| e.message.clone())
        .collect();
    assert_eq!(started.len(), 1, "only the failover: {started:#?}");
    assert!(
        started[0].starts_with("Failover us-east-1 -> us-west-2"),
        "{started:?}"
    );
    assert_eq!(report.decisions.len(), 1, "{:#?}", report.decisions);
    // Serving from us-west-2 with us-east-1 a synchronized secondary again.
    assert_eq!(report.final_phase, Some(Phase::Converged));
}

#[tokio::test(start_paused = true)]
async fn a_failback_after_the_aftercare_reuses_the_preserved_copy_instead_of_copying_again() {
    let report = run(Scenario::FailbackRejoined).await;
    let copies = copies(&report);
    assert_eq!(copies.len(), 1, "{copies:#?}");
    let failback = report
        .steps
        .iter()
        .find(|s| s.name == "PreserveSnapshot")
        .expect("the failback's PreserveSnapshot");
    assert_eq!(failback.state, "Succeeded", "{failback:?}");
    assert!(
        failback
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("drctl-preserved-myapp-prod-primary-op-")),
        "{failback:?}"
    );
}
