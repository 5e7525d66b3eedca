//! When a running operation gives way (campaign seeds 2663, 3167, 6086, 9250 and 5939): a
//! destructive step that only waited, or whose call the world shows no trace of after its
//! grace, has taken no effect, so a spec change supersedes it; and a switchover AWS keeps
//! refusing because its source failed is re-planned instead of re-sent forever.

use super::*;

fn operation_type(plan: &Plan) -> Option<OperationType> {
    plan.status.operation.as_ref().map(|o| o.type_)
}

fn superseded(plan: &Plan) -> bool {
    plan.status.operation.is_none()
        && plan.status.last_operation.as_ref().map(|o| o.state) == Some(OperationState::Superseded)
}

/// A data-loss Failover to us-west-2 that could not send its call: us-west-2's cluster was
/// not read, so the Failover step waited.
fn failover_that_only_waited() -> Plan {
    let spec = SpecBuilder::new().writer(WEST).allow_data_loss().build();
    let world = WorldBuilder::healthy().down(EAST).down(WEST).build();
    let first = Run::new(&spec, &world).generation(2).plan();
    assert_eq!(operation_type(&first), Some(OperationType::Failover));
    assert_eq!(
        step_state(&first, StepName::Failover),
        Some(StepState::Running)
    );
    assert!(!operations(&first).contains(&"FailoverGlobalCluster"));
    first
}

#[test]
fn a_spec_moved_back_before_the_failover_call_was_sent_supersedes_the_failover() {
    let first = failover_that_only_waited();
    let back = SpecBuilder::new().build();
    let world = WorldBuilder::healthy().build();
    let plan = Run::new(&back, &world)
        .status(first.status)
        .generation(3)
        .at(T0 + MINUTE)
        .plan();
    assert!(superseded(&plan), "{:?}", plan.status.phase);
    assert_ne!(plan.status.phase, Phase::Blocked, "{}", plan.summary);
    assert!(plan
        .events
        .iter()
        .any(|e| e.reason == "OperationSuperseded"));
}

/// A data-loss Failover whose FailoverGlobalCluster was sent at T0 (and failed, 5xx).
fn failover_sent() -> Plan {
    let spec = SpecBuilder::new().writer(WEST).allow_data_loss().build();
    let world = WorldBuilder::healthy().down(EAST).build();
    let first = Run::new(&spec, &world).generation(2).at(T0).plan();
    assert!(operations(&first).contains(&"FailoverGlobalCluster"));
    first
}

fn moved_back(first: &Plan, world: &ObservedWorld, at: i64) -> Plan {
    let back = SpecBuilder::new().build();
    Run::new(&back, world)
        .status(first.status.clone())
        .generation(3)
        .at(at)
        .plan()
}

#[test]
fn a_failover_call_that_took_no_effect_within_its_grace_is_superseded_by_a_spec_moved_back() {
    let first = failover_sent();
    let grace = PlannerConfig::default().destructive_grace.as_millis() as i64;
    let plan = moved_back(&first, &WorldBuilder::healthy().build(), T0 + grace + 1_000);
    assert!(superseded(&plan));
    assert!(plan.actions.is_empty(), "{:?}", operations(&plan));
}

#[test]
fn a_failover_call_that_may_still_take_effect_finishes_before_the_spec_change() {
    let first = failover_sent();
    let grace = PlannerConfig::default().destructive_grace.as_millis() as i64;
    let cases = [
        (
            "within its grace",
            WorldBuilder::healthy().build(),
            T0 + 5_000,
        ),
        (
            "in flight",
            WorldBuilder::healthy().in_flight().build(),
            T0 + grace + 1_000,
        ),
        (
            "the writer moved",
            WorldBuilder::healthy().writer(WEST).build(),
            T0 + grace + 1_000,
        ),
    ];
    for (case, world, at) in cases {
        let plan = moved_back(&first, &world, at);
        assert!(!superseded(&plan), "{case}");
        assert!(
            plan.events
                .iter()
                .any(|e| e.reason == "SpecChangedDuringOperation"),
            "{case}: {:?}",
            plan.events
        );
    }
}

/// A Switchover to us-west-2 that sent SwitchoverGlobalCluster at T0.
fn switchover_sent(spec: &FailoverGroupSpec) -> Plan {
    let first = Run::new(spec, &WorldBuilder::healthy().build())
        .generation(2)
        .at(T0)
        .plan();
    assert!(operations(&first).contains(&"SwitchoverGlobalCluster"));
    first
}

fn after_source_died(spec: &FailoverGroupSpec, first: &Plan, world: &ObservedWorld) -> Plan {
    let grace = PlannerConfig::default().destructive_grace.as_millis() as i64;
    Run::new(spec, world)
        .status(first.status.clone())
        .generation(2)
        .at(T0 + grace + 10_000)
        .plan()
}

#[test]
fn a_switchover_refused_because_its_source_died_is_replanned_as_the_failover_the_spec_allows() {
    let spec = SpecBuilder::new().writer(WEST).allow_data_loss().build();
    let first = switchover_sent(&spec);
    let plan = after_source_died(&spec, &first, &WorldBuilder::healthy().down(EAST).build());
    assert_eq!(
        plan.status
            .last_operation
            .as_ref()
            .map(|o| (o.type_, o.state)),
        Some((OperationType::Switchover, OperationState::Superseded))
    );
    assert_eq!(operation_type(&plan), Some(OperationType::Failover));
    assert!(operations(&plan).contains(&"FailoverGlobalCluster"));
    assert!(!operations(&plan).contains(&"SwitchoverGlobalCluster"));
}

#[test]
fn a_switchover_refused_because_its_source_died_blocks_with_the_command_without_data_loss_allowed()
{
    let spec = SpecBuilder::new().writer(WEST).build();
    let first = switchover_sent(&spec);
    let plan = after_source_died(&spec, &first, &WorldBuilder::healthy().down(EAST).build());
    assert!(superseded(&plan));
    assert!(plan.actions.is_empty(), "{:?}", operations(&plan));
    assert_eq!(plan.status.phase, Phase::Blocked);
    assert!(
        plan.summary.contains("--allow-data-loss"),
        "{}",
        plan.summary
    );
}

#[test]
fn a_switchover_under_way_or_with_a_healthy_source_is_not_replanned() {
    let spec = SpecBuilder::new().writer(WEST).allow_data_loss().build();
    let first = switchover_sent(&spec);
    let in_flight = WorldBuilder::healthy().down(EAST).in_flight().build();
    let healthy = WorldBuilder::healthy().build();
    for (case, world) in [("in flight", in_flight), ("healthy source", healthy)] {
        let plan = after_source_died(&spec, &first, &world);
        assert_eq!(
            operation_type(&plan),
            Some(OperationType::Switchover),
            "{case}"
        );
        assert!(
            plan.status.last_operation.is_none(),
            "{case}: nothing superseded"
        );
    }
}
