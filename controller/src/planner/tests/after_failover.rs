//! After a failover (issue 11): PreserveSnapshot of the rejoined old primary by itself, the
//! readiness to fail back, and never a failback without a person.

use super::*;
use crate::planner::after_failover::{preserved_snapshot_id, snapshots_needed};

const SYSTEM: &str = "rds:unplanned-global-failover-app-primary-2026-01-01-00-05";
/// When the failover this aftercare follows started (the snapshots' times are after it).
const FAILOVER_AT: i64 = 500_000;

/// The status a succeeded failover us-east-1 -> us-west-2 left behind.
fn after_failover_status() -> FailoverGroupStatus {
    let mut op = steps::new_operation(
        OperationPlan::Failover,
        "op-1".to_string(),
        EAST,
        WEST,
        2,
        Timestamp::from_millis(FAILOVER_AT),
    );
    op.state = OperationState::Succeeded;
    for step in &mut op.steps {
        step.state = StepState::Succeeded;
    }
    FailoverGroupStatus {
        observed_generation: 2,
        last_operation: Some(op),
        ..Default::default()
    }
}

fn preserved_id() -> String {
    let spec = SpecBuilder::new().writer(WEST).build();
    let status = after_failover_status();
    preserved_snapshot_id(&spec, status.last_operation.as_ref().expect("op"))
}

/// The world after the failover: us-west-2 writer and serving; us-east-1 back as a secondary
/// (rejoined by Aurora), with `snapshots` read in it.
fn rejoined(synced: bool, snapshots: Vec<ClusterSnapshot>) -> ObservedWorld {
    WorldBuilder::healthy()
        .writer(WEST)
        .membership(EAST, Membership::Secondary { synced })
        .record_at(WEST)
        .compute(WEST, 6, 6, 6, 24)
        .compute(EAST, 1, 1, 1, 24)
        .snapshots(EAST, snapshots)
        .lag(Some(0.4))
        .build()
}

fn system(status: &str) -> ClusterSnapshot {
    snapshot(SYSTEM, "system", status)
}

fn plan_after(world: &ObservedWorld, status: FailoverGroupStatus) -> Plan {
    let spec = SpecBuilder::new().writer(WEST).build();
    Run::new(&spec, world).status(status).generation(2).plan()
}

fn preserve_state(plan: &Plan) -> Option<StepState> {
    plan.status
        .after_failover
        .as_ref()
        .and_then(|a| a.preserve_snapshot.as_ref())
        .map(|s| s.state)
}

fn ready_condition(plan: &Plan) -> Option<&drctl_schema::Condition> {
    plan.status
        .conditions
        .iter()
        .find(|c| c.type_ == ct::READY_TO_FAIL_BACK)
}

#[test]
fn a_rejoined_old_primary_has_its_system_snapshot_copied_by_itself_and_nothing_else_moves() {
    let world = rejoined(false, vec![system("available")]);
    let plan = plan_after(&world, after_failover_status());
    assert_eq!(operations(&plan), ["CopyDBClusterSnapshot"]);
    match &plan.actions[0].action {
        Action::CopyClusterSnapshot {
            region,
            source_snapshot_id,
            target_snapshot_id,
        } => {
            assert_eq!(region, EAST);
            assert_eq!(source_snapshot_id, SYSTEM);
            assert_eq!(*target_snapshot_id, preserved_id());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(preserve_state(&plan), Some(StepState::Running));
    assert!(plan.status.operation.is_none(), "no failback by itself");
    // The controller acts: not Converged (invariant 5).
    assert_eq!(plan.status.phase, Phase::Progressing);
    assert!(plan.events.iter().any(|e| e.reason == "PreservingSnapshot"));
}

#[test]
fn the_preserved_snapshot_name_is_deterministic_per_failover() {
    assert_eq!(preserved_id(), "drctl-preserved-app-primary-op-1");
}

#[test]
fn preserve_snapshot_succeeds_only_once_the_manual_copy_reads_back_available() {
    let copying = rejoined(
        false,
        vec![
            system("available"),
            snapshot(&preserved_id(), "manual", "creating"),
        ],
    );
    let first = plan_after(&copying, after_failover_status());
    assert!(
        first.actions.is_empty(),
        "the copy is there: {:?}",
        first.actions
    );
    assert_eq!(preserve_state(&first), Some(StepState::Running));

    let available = rejoined(
        false,
        vec![
            system("available"),
            snapshot(&preserved_id(), "manual", "available"),
        ],
    );
    let second = plan_after(&available, first.status);
    assert!(second.actions.is_empty(), "{:?}", second.actions);
    assert_eq!(preserve_state(&second), Some(StepState::Succeeded));
    assert!(second
        .events
        .iter()
        .any(|e| e.reason == "SnapshotPreserved"));
}

#[test]
fn a_copy_asked_for_is_not_asked_again_within_its_grace_and_a_restart_rereads_first() {
    let world = rejoined(false, vec![system("available")]);
    let first = plan_after(&world, after_failover_status());
    assert_eq!(operations(&first), ["CopyDBClusterSnapshot"]);
    // The next pass, 2 s later, before the copy shows: held.
    let spec = SpecBuilder::new().writer(WEST).build();
    let held = Run::new(&spec, &world)
        .status(first.status.clone())
        .generation(2)
        .at(1_002_000)
        .plan();
    assert!(held.actions.is_empty(), "{:?}", held.actions);
    // A controller that crashed after asking finds the copy on its first pass: Done, no call.
    let copied = rejoined(
        false,
        vec![
            system("available"),
            snapshot(&preserved_id(), "manual", "available"),
        ],
    );
    let restarted = Run::new(&spec, &copied)
        .status(first.status)
        .generation(2)
        .at(1_300_000)
        .plan();
    assert!(restarted.actions.is_empty(), "{:?}", restarted.actions);
    assert_eq!(preserve_state(&restarted), Some(StepState::Succeeded));
}

#[test]
fn a_system_snapshot_older_than_the_failover_is_another_incidents_and_is_not_copied() {
    let mut old = system("available");
    old.created_at = Some(Timestamp::from_millis(FAILOVER_AT - 1));
    let plan = plan_after(&rejoined(false, vec![old.clone()]), after_failover_status());
    assert!(plan.actions.is_empty(), "{:?}", plan.actions);
    assert_eq!(preserve_state(&plan), Some(StepState::Running));
    // Once the rejoin is complete without a snapshot of this incident: nothing to preserve.
    let synced = plan_after(&rejoined(true, vec![old]), after_failover_status());
    assert!(synced.actions.is_empty());
    assert_eq!(preserve_state(&synced), Some(StepState::Skipped));
}

#[test]
fn while_the_old_region_is_dark_nothing_is_read_or_done_and_failing_back_is_not_ready() {
    let world = WorldBuilder::healthy()
        .writer(WEST)
        .record_at(WEST)
        .compute(WEST, 6, 6, 6, 24)
        .down(EAST)
        .membership(EAST, Membership::Unknown)
        .build();
    let plan = plan_after(&world, after_failover_status());
    assert!(plan.actions.is_empty(), "{:?}", plan.actions);
    assert_eq!(preserve_state(&plan), None);
    let ready = ready_condition(&plan).expect("condition");
    assert_eq!(ready.status, ConditionStatus::False);
    assert_eq!(ready.reason, "RegionNotBack");
    // No snapshots are asked for until the step has started.
    let spec = SpecBuilder::new().writer(WEST).build();
    assert_eq!(snapshots_needed(&spec, &plan.status), None);
}

/// A regional outage that never ends: the global cluster, read from us-west-2, still lists
/// us-east-1 as a member (campaign seed 41 stayed Progressing for an hour on this).
fn dark_but_listed() -> ObservedWorld {
    WorldBuilder::healthy()
        .writer(WEST)
        .record_at(WEST)
        .compute(WEST, 6, 6, 6, 24)
        .down(EAST)
        .membership(EAST, Membership::Secondary { synced: false })
        .build()
}

#[test]
fn a_dark_old_region_still_listed_as_a_member_has_not_rejoined_and_the_group_settles() {
    let plan = plan_after(&dark_but_listed(), after_failover_status());
    assert!(plan.actions.is_empty(), "{:?}", plan.actions);
    assert_eq!(preserve_state(&plan), None);
    // Degraded for the dark secondary, as without aftercare; not Progressing, which would
    // keep the group from ever converging.
    assert_eq!(plan.status.phase, Phase::Degraded);
    let ready = ready_condition(&plan).expect("condition");
    assert_eq!(ready.reason, "RegionNotBack");
}

#[test]
fn a_preserve_snapshot_under_way_waits_without_progressing_while_the_old_region_is_dark() {
    let started = plan_after(
        &rejoined(false, vec![system("available")]),
        after_failover_status(),
    );
    assert_eq!(preserve_state(&started), Some(StepState::Running));
    let dark = plan_after(&dark_but_listed(), started.status);
    assert!(dark.actions.is_empty(), "{:?}", dark.actions);
    assert_eq!(preserve_state(&dark), Some(StepState::Running));
    assert_eq!(dark.status.phase, Phase::Degraded);
}

#[test]
fn snapshots_are_read_in_the_old_region_while_its_preserve_snapshot_runs_only() {
    let spec = SpecBuilder::new().writer(WEST).build();
    let running = plan_after(
        &rejoined(false, vec![system("creating")]),
        after_failover_status(),
    );
    assert_eq!(
        snapshots_needed(&spec, &running.status).as_deref(),
        Some(EAST)
    );
    let done = plan_after(
        &rejoined(true, vec![snapshot(&preserved_id(), "manual", "available")]),
        running.status,
    );
    assert_eq!(preserve_state(&done), Some(StepState::Succeeded));
    assert_eq!(snapshots_needed(&spec, &done.status), None);
}

/// The aftercare done: the old primary's snapshot preserved.
fn preserved_status() -> FailoverGroupStatus {
    let world = rejoined(true, vec![snapshot(&preserved_id(), "manual", "available")]);
    plan_after(&world, after_failover_status()).status
}

#[test]
fn a_synchronized_old_region_is_reported_ready_to_fail_back_with_the_measured_lag_and_the_command()
{
    let world = rejoined(true, vec![snapshot(&preserved_id(), "manual", "available")]);
    let plan = plan_after(&world, preserved_status());
    let ready = ready_condition(&plan).expect("condition");
    assert_eq!(ready.status, ConditionStatus::True, "{ready:?}");
    assert!(
        ready.message.contains("ready to fail back (lag 0.4 s)"),
        "{}",
        ready.message
    );
    assert!(
        ready
            .message
            .contains("`drctl failover app --to us-east-1`"),
        "{}",
        ready.message
    );
    let after = plan.status.after_failover.as_ref().expect("after");
    assert!(after.ready_to_fail_back);
    assert_eq!(after.lag_seconds, Some(0.4));
    // Failing back stays a person's decision: nothing is planned, the group is converged.
    assert!(plan.actions.is_empty(), "{:?}", plan.actions);
    assert!(plan.status.operation.is_none());
    assert_eq!(plan.status.phase, Phase::Converged);
}

#[test]
fn readiness_is_raised_once_as_an_event() {
    let world = rejoined(true, vec![snapshot(&preserved_id(), "manual", "available")]);
    let first = plan_after(&world, after_failover_status());
    assert_eq!(
        first
            .events
            .iter()
            .filter(|e| e.reason == "ReadyToFailBack")
            .count(),
        1
    );
    let second = plan_after(&world, first.status);
    assert!(second.events.iter().all(|e| e.reason != "ReadyToFailBack"));
}

#[test]
fn a_resynchronizing_or_lagging_old_region_is_not_ready_to_fail_back() {
    let resync = rejoined(
        false,
        vec![snapshot(&preserved_id(), "manual", "available")],
    );
    let plan = plan_after(&resync, preserved_status());
    assert_eq!(
        ready_condition(&plan).expect("condition").reason,
        "Resynchronizing"
    );

    let mut lagging = rejoined(true, vec![snapshot(&preserved_id(), "manual", "available")]);
    lagging.lag_seconds = Some(12.0);
    let plan = plan_after(&lagging, preserved_status());
    let ready = ready_condition(&plan).expect("condition");
    assert_eq!(ready.status, ConditionStatus::False);
    assert!(
        ready.message.contains("12.0 s, over spec.maxLagSeconds 5"),
        "{}",
        ready.message
    );
}

#[test]
fn lag_jitter_under_half_a_second_does_not_change_the_status() {
    let mut world = rejoined(true, vec![snapshot(&preserved_id(), "manual", "available")]);
    let first = plan_after(&world, preserved_status());
    world.lag_seconds = Some(0.6);
    let second = plan_after(&world, first.status.clone());
    assert_eq!(second.status.after_failover, first.status.after_failover);
}

#[test]
fn a_suspended_group_preserves_nothing() {
    let spec = SpecBuilder::new().writer(WEST).suspended().build();
    let world = rejoined(false, vec![system("available")]);
    let plan = Run::new(&spec, &world)
        .status(after_failover_status())
        .generation(2)
        .plan();
    assert!(plan.actions.is_empty(), "{:?}", plan.actions);
    assert_eq!(plan.status.phase, Phase::Suspended);
}

#[test]
fn the_failback_a_person_asks_for_finds_the_preserved_copy_instead_of_taking_another() {
    let spec = SpecBuilder::new().writer(EAST).build();
    let world = rejoined(
        true,
        vec![
            system("available"),
            snapshot(&preserved_id(), "manual", "available"),
        ],
    );
    let plan = Run::new(&spec, &world)
        .status(preserved_status())
        .generation(3)
        .plan();
    let op = plan.status.operation.as_ref().expect("failback");
    assert_eq!(op.type_, OperationType::Failback);
    assert_eq!(
        op.notes.get(steps::note::PRESERVED_SNAPSHOT),
        Some(&preserved_id())
    );
    assert_eq!(
        step_state(&plan, StepName::PreserveSnapshot),
        Some(StepState::Succeeded)
    );
    assert!(
        !operations(&plan).contains(&"CopyDBClusterSnapshot"),
        "{:?}",
        plan.actions
    );
    // The aftercare ends with the failover it followed.
    assert!(plan.status.after_failover.is_none());
    assert!(ready_condition(&plan).is_none());
}

#[test]
fn without_a_failover_there_is_no_aftercare_and_no_readiness_condition() {
    let spec = SpecBuilder::new().build();
    let plan = Run::new(&spec, &WorldBuilder::healthy().build()).plan();
    assert!(plan.status.after_failover.is_none());
    assert!(ready_condition(&plan).is_none());
}
