//! `routing: healthCheck` steady state while the health-check reading is stale: the Route 53
//! control plane (us-east-1) is dark, its checkers and DNS are not, so Route 53 may be serving
//! a region other than spec.dnsOwner. Compute follows the last record seen live.

use super::*;

fn health_check_spec() -> FailoverGroupSpec {
    let mut spec = SpecBuilder::new().writer(EAST).build();
    spec.dns.routing = drctl_schema::DnsRouting::HealthCheck;
    spec
}

/// us-west-2 at active capacity (Route 53 failed over to it), us-east-1 too.
fn both_active() -> WorldBuilder {
    WorldBuilder::healthy().compute(WEST, 6, 6, 6, 24)
}

fn read(mut world: ObservedWorld, live: Option<&str>, stale: bool) -> ObservedWorld {
    world.record = Seen::Known(None);
    world.health_checks = Some(crate::observed::HealthCheckView {
        live: live.map(str::to_string),
        healthy: [
            (EAST.to_string(), live == Some(EAST)),
            (WEST.to_string(), true),
        ]
        .into_iter()
        .collect(),
        checked_at: Timestamp::from_millis(900_000),
        stale: stale.then(|| "Route 53 control plane unavailable: RequestTimeout".to_string()),
        setup_problems: Vec::new(),
    });
    world
}

/// The compute calls planned for `region`.
fn resizes_of(plan: &Plan, region: &str) -> Vec<Action> {
    plan.actions
        .iter()
        .map(|a| a.action.clone())
        .filter(|a| match a {
            Action::RegisterScalableTarget { region: r, .. }
            | Action::SetDesiredCount { region: r, .. } => r == region,
            _ => false,
        })
        .collect()
}

#[test]
fn a_stale_reading_never_scales_down_the_region_route53_was_last_seen_serving() {
    let spec = health_check_spec();
    let world = read(both_active().build(), Some(WEST), true);
    let plan = Run::new(&spec, &world).plan();
    assert_eq!(resizes_of(&plan, WEST), Vec::<Action>::new());
    // And the last live record, typed, with when it was seen.
    assert_eq!(
        crate::routing::live_record(&world),
        Some(crate::routing::LiveRecord {
            region: WEST.to_string(),
            observed_at: Timestamp::from_millis(900_000),
            stale: true,
        })
    );
}

#[test]
fn a_stale_reading_resizes_no_other_region_either() {
    // Route 53 may have moved traffic unseen since: us-east-1 is not scaled down to standby.
    let spec = health_check_spec();
    let world = read(both_active().build(), Some(WEST), true);
    let plan = Run::new(&spec, &world).plan();
    assert_eq!(resizes_of(&plan, EAST), Vec::<Action>::new());
}

#[test]
fn with_no_reading_ever_made_a_stale_group_resizes_nothing() {
    let spec = health_check_spec();
    let world = read(both_active().build(), None, true);
    let plan = Run::new(&spec, &world).plan();
    assert_eq!(resizes_of(&plan, WEST), Vec::<Action>::new());
    assert_eq!(resizes_of(&plan, EAST), Vec::<Action>::new());
}

#[test]
fn a_fresh_reading_sizes_the_live_region_active_and_the_other_standby() {
    let spec = health_check_spec();
    let world = read(both_active().build(), Some(WEST), false);
    let plan = Run::new(&spec, &world).plan();
    assert_eq!(resizes_of(&plan, WEST), Vec::<Action>::new());
    assert!(
        resizes_of(&plan, EAST).iter().any(|a| matches!(
            a,
            Action::RegisterScalableTarget {
                min: 1,
                max: 24,
                ..
            }
        )),
        "{:?}",
        plan.actions
    );
}

// ---- RTO without spec.verify: the first fresh reading of Route 53 serving the target ----

fn failover_spec() -> FailoverGroupSpec {
    let mut spec = health_check_spec();
    spec.writer = WEST.to_string();
    spec.allow_data_loss = true;
    spec
}

/// A Failover east -> west, started at 0, waiting for compute in us-west-2.
fn failing_over() -> FailoverGroupStatus {
    operation_at(
        OperationPlan::Failover,
        EAST,
        WEST,
        StepName::WaitComputeReady,
        T0,
    )
}

fn noted(plan: &Plan) -> Option<Timestamp> {
    plan.status
        .operation
        .as_ref()
        .or(plan.status.last_operation.as_ref())
        .and_then(crate::planner::served::served_at)
}

#[test]
fn without_verify_a_health_check_failover_is_timed_to_the_first_fresh_reading_serving_the_target() {
    let spec = failover_spec();
    let world = read(
        WorldBuilder::healthy().writer(WEST).down(EAST).build(),
        Some(WEST),
        false,
    );
    let plan = Run::new(&spec, &world)
        .status(failing_over())
        .at(T0 + 1000)
        .plan();
    // The health-check reading's own time (900 s after the operation started), not the pass's.
    assert_eq!(noted(&plan), Some(Timestamp::from_millis(900_000)));
    // Journaled, so `drctl report` rebuilds the RTO of an operation no longer in the status.
    let event = plan
        .events
        .iter()
        .find(|e| e.reason == "TrafficServed")
        .expect("a TrafficServed event");
    assert_eq!(
        crate::planner::served::rto_in_message(&event.message),
        Some(900.0)
    );
    // Still waiting for compute: the RTO this moment gives is the planner's one rule's.
    let op = plan.status.operation.as_ref().expect("still running");
    assert_eq!(crate::planner::rto_seconds(op), Some(900.0));
}

#[test]
fn a_stale_reading_or_a_writer_not_yet_moved_is_not_taken_as_served() {
    let spec = failover_spec();
    let stale = read(
        WorldBuilder::healthy().writer(WEST).down(EAST).build(),
        Some(WEST),
        true,
    );
    let not_moved = read(
        WorldBuilder::healthy().down(EAST).build(),
        Some(WEST),
        false,
    );
    for (case, world) in [("stale", stale), ("writer still east", not_moved)] {
        let plan = Run::new(&spec, &world)
            .status(failing_over())
            .at(T0 + 1000)
            .plan();
        assert_eq!(noted(&plan), None, "{case}");
    }
}

#[test]
fn traffic_served_after_the_operation_ended_gives_it_its_rto_once() {
    let spec = failover_spec();
    let mut status = failing_over();
    let mut op = status.operation.take().expect("op");
    op.state = OperationState::Succeeded;
    for step in &mut op.steps {
        step.state = StepState::Succeeded;
    }
    op.finished_at = Some(Timestamp::from_millis(600_000));
    status.last_operation = Some(op);
    let world = read(
        WorldBuilder::healthy()
            .writer(WEST)
            .record_at(WEST)
            .compute(WEST, 6, 6, 6, 24)
            .build(),
        Some(WEST),
        false,
    );
    let plan = Run::new(&spec, &world).status(status).at(T0).plan();
    let done = plan.status.last_operation.as_ref().expect("last operation");
    assert_eq!(done.rto_seconds, Some(900.0));
    assert!(plan.events.iter().any(|e| e.reason == "TrafficServed"));
    let again = Run::new(&spec, &world)
        .status(plan.status.clone())
        .at(T0 + 30_000)
        .plan();
    assert!(!again.events.iter().any(|e| e.reason == "TrafficServed"));
}
