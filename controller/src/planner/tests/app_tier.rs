//! The app-tier failover (docs/design-contract.md §7.2): spec.dnsOwner moves, spec.writer
//! does not. Traffic and compute move; the database is never touched.

use super::*;

/// The calls of Aurora's control plane: none may come from an app-tier failover.
const DATABASE_CALLS: [&str; 8] = [
    "SwitchoverGlobalCluster",
    "FailoverGlobalCluster",
    "CreateDBClusterSnapshot",
    "CopyDBClusterSnapshot",
    "ModifyDBCluster",
    "DeleteDBInstance",
    "DeleteDBCluster",
    "CreateDBCluster",
];

fn app_tier_spec(owner: &str) -> FailoverGroupSpec {
    let mut spec = SpecBuilder::new().build();
    spec.dns_owner = Some(owner.to_string());
    spec
}

fn no_database_call(plan: &Plan) {
    for call in operations(plan) {
        assert!(
            !DATABASE_CALLS.contains(&call),
            "{call}: {:?}",
            plan.actions
        );
        assert!(!call.starts_with("CreateDBInstance"), "{call}");
    }
}

fn op_of(plan: &Plan) -> &drctl_schema::Operation {
    plan.status
        .operation
        .as_ref()
        .or(plan.status.last_operation.as_ref())
        .expect("an operation")
}

#[test]
fn an_edit_of_dns_owner_alone_starts_an_app_tier_failover_that_scales_up_the_target_first() {
    let spec = app_tier_spec(WEST);
    let plan = Run::new(&spec, &WorldBuilder::healthy().build())
        .generation(2)
        .plan();
    let op = op_of(&plan);
    assert_eq!(op.type_, OperationType::AppTierFailover);
    assert_eq!((op.from.as_str(), op.to.as_str()), (EAST, WEST));
    let names: Vec<StepName> = op.steps.iter().map(|s| s.name).collect();
    assert_eq!(names, steps::app_tier::STEPS.to_vec());
    assert_eq!(
        step_state(&plan, StepName::Preflight),
        Some(StepState::Succeeded)
    );
    assert_eq!(
        operations(&plan),
        ["RegisterScalableTarget", "UpdateService"],
        "{:?}",
        plan.actions
    );
    for planned in &plan.actions {
        assert!(
            planned.action.subject().contains(WEST),
            "{:?}",
            planned.action
        );
    }
    no_database_call(&plan);
}

/// Every pass of the operation, with the world following what it asked for.
fn run_app_tier_failover(spec: &FailoverGroupSpec) -> (FailoverGroupStatus, Vec<&'static str>) {
    let mut calls = Vec::new();
    let mut status = FailoverGroupStatus::default();
    let worlds = [
        WorldBuilder::healthy().build(),
        WorldBuilder::healthy().compute(WEST, 6, 6, 6, 24).build(),
        {
            let mut w = WorldBuilder::healthy()
                .compute(WEST, 6, 6, 6, 24)
                .record_at(WEST)
                .build();
            w.dns_change = Some(Seen::Known(crate::observed::DnsChangeStatus::InSync));
            w
        },
        WorldBuilder::healthy()
            .compute(WEST, 6, 6, 6, 24)
            .compute(EAST, 1, 1, 1, 24)
            .record_at(WEST)
            .build(),
    ];
    let mut now = 1_000_000;
    for world in &worlds {
        // Past Route 53's propagation allowance: the change id is the executor's to record.
        for _ in 0..3 {
            now += 30_000;
            let plan = Run::new(spec, world)
                .status(status)
                .generation(2)
                .at(now)
                .plan();
            no_database_call(&plan);
            calls.extend(operations(&plan));
            status = plan.status;
        }
    }
    (status, calls)
}

#[test]
fn an_app_tier_failover_moves_traffic_and_compute_and_leaves_the_writer_where_it_is() {
    let spec = app_tier_spec(WEST);
    let (status, calls) = run_app_tier_failover(&spec);
    assert!(status.operation.is_none(), "{:?}", status.operation);
    let last = status.last_operation.as_ref().expect("last operation");
    assert_eq!(last.type_, OperationType::AppTierFailover);
    assert_eq!(last.state, OperationState::Succeeded);
    assert!(last.rto_seconds.is_some_and(|r| r > 0.0), "{last:?}");
    assert_eq!(last.rpo_seconds, None);
    assert!(calls.contains(&"ChangeResourceRecordSets"), "{calls:?}");
    assert_eq!(status.phase, Phase::Converged, "{:?}", status.conditions);
    assert_eq!(
        status.observed.as_ref().and_then(|o| o.writer.as_deref()),
        Some(EAST)
    );
}

#[test]
fn the_record_goes_to_the_dns_owner_while_the_writer_in_the_other_region_is_available() {
    let spec = app_tier_spec(WEST);
    let world = WorldBuilder::healthy().compute(WEST, 6, 6, 6, 24).build();
    let status = Run::new(&spec, &WorldBuilder::healthy().build())
        .generation(2)
        .plan()
        .status;
    let plan = Run::new(&spec, &world)
        .status(status)
        .generation(2)
        .at(1_010_000)
        .plan();
    let moved: Vec<&Action> = plan
        .actions
        .iter()
        .map(|a| &a.action)
        .filter(|a| a.operation() == "ChangeResourceRecordSets")
        .collect();
    assert_eq!(moved.len(), 1, "{:?}", plan.actions);
    assert!(matches!(moved[0], Action::ChangeRecord { region, .. } if region == WEST));
    assert_eq!(world.writer_region(), Some(EAST));
}

/// Invariant 4, refined: a plan at MoveDns in `world` must not move traffic.
fn holds_traffic(world: ObservedWorld, why: &str) {
    let spec = app_tier_spec(WEST);
    let started = Run::new(&spec, &WorldBuilder::healthy().build())
        .generation(2)
        .plan()
        .status;
    let plan = Run::new(&spec, &world)
        .status(started)
        .generation(2)
        .at(1_010_000)
        .plan();
    assert!(
        !operations(&plan).contains(&"ChangeResourceRecordSets"),
        "{why}: {:?}",
        plan.actions
    );
    no_database_call(&plan);
}

#[test]
fn no_traffic_goes_to_a_region_whose_compute_is_not_ready() {
    holds_traffic(
        WorldBuilder::healthy().compute(WEST, 6, 2, 6, 24).build(),
        "west runs 2 of 6 tasks",
    );
}

#[test]
fn no_traffic_goes_where_no_writable_database_can_be_reached() {
    let mut unavailable = WorldBuilder::healthy().compute(WEST, 6, 6, 6, 24);
    if let Some(c) = &mut unavailable.region(EAST).cluster {
        c.status = "modifying".into();
    }
    holds_traffic(unavailable.build(), "the writer is modifying");
    let mut dark = WorldBuilder::healthy().compute(WEST, 6, 6, 6, 24);
    dark.region(EAST).reachable = Reachability::Unreachable;
    holds_traffic(dark.build(), "the writer's region does not answer");
    holds_traffic(
        WorldBuilder::healthy()
            .compute(WEST, 6, 6, 6, 24)
            .in_flight()
            .build(),
        "a global operation is moving the writer",
    );
}

#[test]
fn moving_dns_owner_back_to_the_writer_is_the_same_operation_in_reverse() {
    let spec = SpecBuilder::new().build();
    let world = WorldBuilder::healthy()
        .record_at(WEST)
        .compute(WEST, 6, 6, 6, 24)
        .compute(EAST, 1, 1, 1, 24)
        .build();
    let plan = Run::new(&spec, &world).generation(3).plan();
    let op = op_of(&plan);
    assert_eq!(op.type_, OperationType::AppTierFailover);
    assert_eq!((op.from.as_str(), op.to.as_str()), (WEST, EAST));
    assert_eq!(
        operations(&plan),
        ["RegisterScalableTarget", "UpdateService"]
    );
    no_database_call(&plan);
}

#[test]
fn moving_the_writer_during_an_app_tier_failover_supersedes_it_with_the_database_operation() {
    let spec = app_tier_spec(WEST);
    let started = Run::new(&spec, &WorldBuilder::healthy().build())
        .generation(2)
        .plan()
        .status;
    let mut both = SpecBuilder::new().writer(WEST).build();
    both.dns_owner = Some(WEST.to_string());
    let plan = Run::new(&both, &WorldBuilder::healthy().build())
        .status(started)
        .generation(3)
        .plan();
    assert!(
        plan.events
            .iter()
            .any(|e| e.reason == "OperationSuperseded"),
        "{:?}",
        plan.events
    );
    assert_eq!(
        plan.status.last_operation.as_ref().map(|o| o.state),
        Some(OperationState::Superseded)
    );
    assert_eq!(op_of(&plan).type_, OperationType::Switchover);
}

#[test]
fn a_switchover_moves_traffic_with_the_writer_even_when_dns_owner_names_the_other_region() {
    let mut spec = SpecBuilder::new().writer(WEST).build();
    spec.dns_owner = Some(EAST.to_string());
    let status = operation_at(
        OperationPlan::Switchover,
        EAST,
        WEST,
        StepName::MoveDns,
        T0 - 2_000,
    );
    let world = WorldBuilder::healthy()
        .writer(WEST)
        .compute(WEST, 6, 6, 6, 24)
        .build();
    let plan = Run::new(&spec, &world).status(status).plan();
    let moved: Vec<&Action> = plan
        .actions
        .iter()
        .map(|a| &a.action)
        .filter(|a| a.operation() == "ChangeResourceRecordSets")
        .collect();
    assert!(
        matches!(moved.as_slice(), [Action::ChangeRecord { region, .. }] if region == WEST),
        "{:?}",
        plan.actions
    );
}

#[test]
fn a_health_check_group_never_starts_an_app_tier_failover() {
    let mut spec = app_tier_spec(WEST);
    spec.dns.routing = drctl_schema::DnsRouting::HealthCheck;
    assert_eq!(
        steps::app_tier::needed(&spec, &WorldBuilder::healthy().build()),
        None
    );
}

// --- routing: healthCheck: Route 53 moves traffic, drctl observes and reports ------------

fn health_check_spec(writer: &str) -> FailoverGroupSpec {
    let mut spec = SpecBuilder::new().writer(writer).build();
    spec.dns.routing = drctl_schema::DnsRouting::HealthCheck;
    spec
}

fn health_checked(mut world: ObservedWorld, live: &str, stale: Option<&str>) -> ObservedWorld {
    world.record = Seen::Known(None);
    world.health_checks = Some(crate::observed::HealthCheckView {
        live: Some(live.to_string()),
        healthy: [(EAST.to_string(), live == EAST), (WEST.to_string(), true)]
            .into_iter()
            .collect(),
        checked_at: Timestamp::from_millis(900_000),
        stale: stale.map(str::to_string),
        setup_problems: Vec::new(),
    });
    world
}

fn dns_ready(plan: &Plan) -> drctl_schema::Condition {
    plan.status
        .conditions
        .iter()
        .find(|c| c.type_ == ct::DNS_READY)
        .cloned()
        .expect("DnsReady")
}

#[test]
fn a_health_check_failover_skips_move_dns_and_never_changes_a_record() {
    let spec = {
        let mut s = health_check_spec(WEST);
        s.allow_data_loss = true;
        s
    };
    let world = health_checked(
        WorldBuilder::healthy()
            .writer(WEST)
            .compute(WEST, 6, 6, 6, 24)
            .build(),
        WEST,
        None,
    );
    let status = operation_at(
        OperationPlan::Failover,
        EAST,
        WEST,
        StepName::MoveDns,
        T0 - 2_000,
    );
    let plan = Run::new(&spec, &world).status(status).plan();
    for step in [StepName::MoveDns, StepName::WaitDnsInSync] {
        assert_eq!(step_state(&plan, step), Some(StepState::Skipped), "{step}");
    }
    let detail = op_of(&plan)
        .step(StepName::MoveDns)
        .and_then(|s| s.detail.clone())
        .unwrap_or_default();
    assert!(detail.contains("Route 53 moves traffic itself"), "{detail}");
    assert!(detail.contains("answers with us-west-2"), "{detail}");
    assert!(
        !operations(&plan).contains(&"ChangeResourceRecordSets"),
        "{:?}",
        plan.actions
    );
    let dns = dns_ready(&plan);
    assert_eq!(dns.status, ConditionStatus::True, "{dns:?}");
}

#[test]
fn dns_ready_says_when_route53_serves_a_region_that_can_reach_no_writable_database() {
    // us-east-1 is dark; Route 53's checkers already answer with us-west-2, not yet writer.
    let spec = health_check_spec(EAST);
    let world = health_checked(WorldBuilder::healthy().down(EAST).build(), WEST, None);
    let plan = Run::new(&spec, &world).plan();
    let dns = dns_ready(&plan);
    assert_eq!(dns.status, ConditionStatus::False, "{dns:?}");
    assert_eq!(dns.reason, "PointsElsewhere");
    assert!(
        dns.message
            .contains("answers api.example.com. with us-west-2"),
        "{}",
        dns.message
    );
    assert!(
        dns.message.contains("can reach no writable database"),
        "{}",
        dns.message
    );
    assert!(plan
        .actions
        .iter()
        .all(|a| a.action.operation() != "ChangeResourceRecordSets"));
}

#[test]
fn with_the_control_plane_down_dns_ready_shows_the_last_known_answer_marked_stale() {
    let spec = health_check_spec(EAST);
    let world = health_checked(
        WorldBuilder::healthy().build(),
        EAST,
        Some("Route 53 control plane unavailable: RequestTimeout"),
    );
    let plan = Run::new(&spec, &world).plan();
    let dns = dns_ready(&plan);
    assert_eq!(dns.status, ConditionStatus::Unknown);
    assert_eq!(dns.reason, "HealthCheckStatusStale");
    assert!(
        dns.message
            .contains("last known: Route 53 answered with us-east-1"),
        "{}",
        dns.message
    );
    assert!(dns.message.contains("(stale)"), "{}", dns.message);
}

#[test]
fn a_health_check_switchover_keeps_the_source_scaled_while_route53_still_answers_with_it() {
    let spec = health_check_spec(WEST);
    let world = health_checked(
        WorldBuilder::healthy()
            .writer(WEST)
            .compute(WEST, 6, 6, 6, 24)
            .build(),
        EAST,
        None,
    );
    let status = operation_at(
        OperationPlan::Switchover,
        EAST,
        WEST,
        StepName::ScaleDownSource,
        T0 - 2_000,
    );
    let plan = Run::new(&spec, &world).status(status).plan();
    assert_eq!(
        step_state(&plan, StepName::ScaleDownSource),
        Some(StepState::Skipped)
    );
    // The live region keeps its active capacity: nothing lowers us-east-1.
    for planned in &plan.actions {
        assert!(
            !planned.action.subject().contains(EAST),
            "{:?}",
            plan.actions
        );
        assert_ne!(
            planned.action.operation(),
            "UpdateService",
            "{:?}",
            plan.actions
        );
    }
}

#[test]
fn the_global_writer_endpoint_is_observed_and_kept_while_the_global_cluster_is_unreadable() {
    let spec = SpecBuilder::new().build();
    let mut world = WorldBuilder::healthy().build();
    if let Seen::Known(Some(g)) = &mut world.global {
        g.writer_endpoint = Some("app-global.global-abc.global.rds.amazonaws.com".to_string());
    }
    let seen = Run::new(&spec, &world).plan().status;
    let endpoint = |s: &FailoverGroupStatus| {
        s.observed
            .as_ref()
            .and_then(|o| o.global_writer_endpoint.clone())
    };
    assert_eq!(
        endpoint(&seen).as_deref(),
        Some("app-global.global-abc.global.rds.amazonaws.com")
    );
    let mut dark = WorldBuilder::healthy().build();
    dark.global = Seen::Unreachable("RequestTimeout".to_string());
    let kept = Run::new(&spec, &dark).status(seen.clone()).plan().status;
    assert_eq!(endpoint(&kept), endpoint(&seen));
}
