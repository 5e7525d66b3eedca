//! spec.database.kind rdsReplica: every step decision of planner/steps/rds_replica.rs, and
//! the memberships observation derives from DescribeDBInstances.

use drctl_cloud::{DbSnapshot, DbSnapshotStatus, RdsInstance, RdsInstanceStatus, ReplicationState};
use drctl_schema::{DatabaseKind, InstanceTemplate};

use super::*;
use crate::observed::InstancePairView;
use crate::planner::steps::rds_replica::{memberships, stale_snapshot_id};

const WEST_KEY: &str =
    "arn:aws:kms:us-west-2:123456789012:key/mrk-0123456789abcdef0123456789abcdef";

fn db_id(region: &str) -> &'static str {
    if region == EAST {
        "db-east"
    } else {
        "db-west"
    }
}

fn db_arn(region: &str) -> String {
    format!("arn:aws:rds:{region}:123456789012:db:{}", db_id(region))
}

fn rds_spec(writer: &str) -> FailoverGroupSpec {
    let mut spec = SpecBuilder::new().writer(writer).build();
    spec.database.kind = DatabaseKind::RdsReplica;
    spec.database.global_cluster_identifier.clear();
    spec.database.clusters.clear();
    for region in [EAST, WEST] {
        spec.database.instances.insert(
            region.to_string(),
            InstanceTemplate {
                identifier: db_id(region).to_string(),
                engine: Some("postgres".to_string()),
                engine_version: Some("16.3".to_string()),
                instance_class: Some("db.r6g.large".to_string()),
                kms_key_id: (region == WEST).then(|| WEST_KEY.to_string()),
                ..Default::default()
            },
        );
    }
    spec
}

/// The instance of `region`, a replica of `source`'s when given.
fn db(region: &str, source: Option<&str>) -> RdsInstance {
    RdsInstance {
        identifier: db_id(region).to_string(),
        arn: db_arn(region),
        region: region.to_string(),
        status: RdsInstanceStatus::Available,
        engine: "postgres".to_string(),
        engine_version: "16.3".to_string(),
        instance_class: "db.r6g.large".to_string(),
        storage_encrypted: true,
        kms_key_id: None,
        read_replica_source: source.map(db_arn),
        read_replicas: Vec::new(),
        replication: source.map(|_| ReplicationState::Replicating),
    }
}

fn snap(id: &str, status: DbSnapshotStatus) -> DbSnapshot {
    DbSnapshot {
        identifier: id.to_string(),
        instance_identifier: db_id(EAST).to_string(),
        snapshot_type: "manual".to_string(),
        status,
        created_at: None,
    }
}

/// The shared world (services, record) with the database replaced by this instance pair.
fn rds_world(
    base: WorldBuilder,
    spec: &FailoverGroupSpec,
    pair: InstancePairView,
    lag: Option<f64>,
    preferred: Option<&str>,
) -> ObservedWorld {
    let mut world = base.build();
    world.global = Seen::Known(None);
    world.lag_seconds = lag;
    world.regions = memberships(spec, &pair, lag, preferred);
    world.instances = Some(pair);
    world
}

fn pair(east: Seen<Option<RdsInstance>>, west: Seen<Option<RdsInstance>>) -> InstancePairView {
    InstancePairView {
        instances: [(EAST.to_string(), east), (WEST.to_string(), west)]
            .into_iter()
            .collect(),
        snapshots: BTreeMap::new(),
    }
}

fn healthy_pair() -> InstancePairView {
    pair(
        Seen::Known(Some(db(EAST, None))),
        Seen::Known(Some(db(WEST, Some(EAST)))),
    )
}

fn action_of(plan: &Plan, operation: &str) -> Action {
    plan.actions
        .iter()
        .find(|a| a.action.operation() == operation)
        .map(|a| a.action.clone())
        .unwrap_or_else(|| panic!("no {operation} in {:?}", plan.actions))
}

#[test]
fn the_source_a_replica_names_is_the_writer_even_when_its_region_is_dark() {
    let spec = rds_spec(EAST);
    let view = healthy_pair();
    let regions = memberships(&spec, &view, Some(0.5), None);
    assert_eq!(regions[EAST].membership, Membership::Writer);
    assert_eq!(
        regions[WEST].membership,
        Membership::Secondary { synced: true }
    );
    let dark = pair(
        Seen::Unreachable("timeout".to_string()),
        Seen::Known(Some(db(WEST, Some(EAST)))),
    );
    let regions = memberships(&spec, &dark, None, None);
    assert_eq!(regions[EAST].membership, Membership::Writer);
    assert_eq!(regions[EAST].reachable, Reachability::Unreachable);
    assert_eq!(
        regions[WEST].membership,
        Membership::Secondary { synced: false }
    );
}

#[test]
fn of_two_standalone_instances_the_preferred_one_is_the_writer_and_the_other_stale() {
    let spec = rds_spec(EAST);
    let both = pair(
        Seen::Known(Some(db(EAST, None))),
        Seen::Known(Some(db(WEST, None))),
    );
    let regions = memberships(&spec, &both, None, Some(WEST));
    assert_eq!(regions[WEST].membership, Membership::Writer);
    assert_eq!(regions[EAST].membership, Membership::Detached);
    let missing = pair(Seen::Known(None), Seen::Known(Some(db(WEST, None))));
    let regions = memberships(&spec, &missing, None, None);
    assert_eq!(regions[WEST].membership, Membership::Writer);
    assert_eq!(regions[EAST].membership, Membership::Missing);
}

#[test]
fn an_rds_failover_without_allow_data_loss_blocks_naming_the_last_replica_lag() {
    let spec = rds_spec(WEST);
    let view = pair(
        Seen::Unreachable("timeout".to_string()),
        Seen::Known(Some(db(WEST, Some(EAST)))),
    );
    let world = rds_world(WorldBuilder::healthy().down(EAST), &spec, view, None, None);
    let status = FailoverGroupStatus {
        observed: Some(drctl_schema::ObservedSummary {
            replication_lag_seconds: Some(0.8),
            ..Default::default()
        }),
        ..Default::default()
    };
    let plan = Run::new(&spec, &world).status(status).generation(2).plan();
    assert!(plan.actions.is_empty(), "{:?}", plan.actions);
    assert_eq!(plan.status.phase, Phase::Blocked);
    assert!(
        ready_message(&plan).contains("0.8 s"),
        "{}",
        ready_message(&plan)
    );
}

#[test]
fn an_rds_failover_promotes_the_replica_at_once_and_records_the_last_replica_lag_as_rpo() {
    let mut spec = rds_spec(WEST);
    spec.allow_data_loss = true;
    let view = pair(
        Seen::Unreachable("timeout".to_string()),
        Seen::Known(Some(db(WEST, Some(EAST)))),
    );
    let world = rds_world(WorldBuilder::healthy().down(EAST), &spec, view, None, None);
    let status = FailoverGroupStatus {
        observed: Some(drctl_schema::ObservedSummary {
            replication_lag_seconds: Some(1.2),
            ..Default::default()
        }),
        ..Default::default()
    };
    let plan = Run::new(&spec, &world).status(status).generation(2).plan();
    let op = plan.status.operation.as_ref().expect("operation");
    assert_eq!(op.type_, OperationType::Failover);
    assert_eq!(op.rpo_seconds, Some(1.2));
    assert!(op.step(StepName::PromoteReplica).is_some());
    assert!(op.step(StepName::Failover).is_none());
    assert_eq!(
        action_of(&plan, "PromoteReadReplica"),
        Action::PromoteReadReplica {
            region: WEST.to_string(),
            instance_id: db_id(WEST).to_string()
        }
    );
}

#[test]
fn a_planned_rds_switch_fences_the_source_before_anything_is_promoted() {
    let spec = rds_spec(WEST);
    let world = rds_world(
        WorldBuilder::healthy(),
        &spec,
        healthy_pair(),
        Some(0.4),
        None,
    );
    let plan = Run::new(&spec, &world).generation(2).plan();
    let op = plan.status.operation.as_ref().expect("operation");
    assert_eq!(op.type_, OperationType::Switchover);
    assert_eq!(
        step_state(&plan, StepName::Preflight),
        Some(StepState::Succeeded)
    );
    assert_eq!(
        step_state(&plan, StepName::FenceSource),
        Some(StepState::Running)
    );
    let ops = operations(&plan);
    assert!(ops.contains(&"UpdateService"), "{ops:?}");
    assert!(!ops.contains(&"PromoteReadReplica"), "{ops:?}");
}

#[test]
fn a_planned_rds_switch_whose_source_cannot_be_fenced_blocks_instead_of_promoting() {
    // The Aurora step's best effort would Skip here, and the replica would be promoted
    // with its source maybe still taking writes nobody allowed to lose.
    let spec = rds_spec(WEST);
    let status = operation_at(
        OperationPlan::RdsSwitchover,
        EAST,
        WEST,
        StepName::FenceSource,
        T0,
    );
    let world = rds_world(
        WorldBuilder::healthy().down(EAST),
        &spec,
        healthy_pair(),
        Some(0.0),
        None,
    );
    let plan = Run::new(&spec, &world).status(status).at(T0 + 1000).plan();
    assert_eq!(plan.status.phase, Phase::Blocked);
    assert_eq!(
        step_state(&plan, StepName::FenceSource),
        Some(StepState::Running),
        "not Skipped as the Aurora step's best effort would"
    );
    assert!(
        !operations(&plan).contains(&"PromoteReadReplica"),
        "{:?}",
        plan.actions
    );
}

#[test]
fn after_fencing_the_switch_promotes_only_once_replica_lag_reads_zero() {
    let spec = rds_spec(WEST);
    let status = operation_at(
        OperationPlan::RdsSwitchover,
        EAST,
        WEST,
        StepName::PromoteReplica,
        T0,
    );
    let behind = rds_world(
        WorldBuilder::healthy(),
        &spec,
        healthy_pair(),
        Some(0.4),
        None,
    );
    let plan = Run::new(&spec, &behind)
        .status(status.clone())
        .at(T0 + 1000)
        .plan();
    assert_eq!(
        step_state(&plan, StepName::PromoteReplica),
        Some(StepState::Running)
    );
    assert!(!operations(&plan).contains(&"PromoteReadReplica"));
    let synced = rds_world(
        WorldBuilder::healthy(),
        &spec,
        healthy_pair(),
        Some(0.0),
        None,
    );
    let plan = Run::new(&spec, &synced).status(status).at(T0 + 2000).plan();
    assert!(
        operations(&plan).contains(&"PromoteReadReplica"),
        "{:?}",
        plan.actions
    );
}

#[test]
fn a_promotion_the_world_already_shows_is_not_issued_again() {
    let spec = rds_spec(WEST);
    let status = operation_at(
        OperationPlan::RdsSwitchover,
        EAST,
        WEST,
        StepName::PromoteReplica,
        T0,
    );
    let promoted = pair(
        Seen::Known(Some(db(EAST, None))),
        Seen::Known(Some(db(WEST, None))),
    );
    let world = rds_world(WorldBuilder::healthy(), &spec, promoted, None, Some(WEST));
    let plan = Run::new(&spec, &world).status(status).at(T0 + 1000).plan();
    assert!(
        !operations(&plan).contains(&"PromoteReadReplica"),
        "{:?}",
        plan.actions
    );
    assert_eq!(
        step_state(&plan, StepName::PromoteReplica),
        Some(StepState::Succeeded)
    );
}

/// West is the writer; east, the old primary, is back standalone.
fn stale_east(snapshots: Vec<DbSnapshot>) -> InstancePairView {
    let mut view = pair(
        Seen::Known(Some(db(EAST, None))),
        Seen::Known(Some(db(WEST, None))),
    );
    view.snapshots.insert(EAST.to_string(), snapshots);
    view
}

#[test]
fn moving_the_writer_to_a_stale_instance_starts_with_its_snapshot_under_a_deterministic_name() {
    let spec = rds_spec(EAST);
    let world = rds_world(
        WorldBuilder::healthy().writer(WEST).record_at(WEST),
        &spec,
        stale_east(Vec::new()),
        None,
        Some(WEST),
    );
    let plan = Run::new(&spec, &world).generation(2).plan();
    let op = plan.status.operation.as_ref().expect("operation");
    assert_eq!(op.type_, OperationType::Failback);
    assert_eq!(op.steps[0].name, StepName::SnapshotStale);
    assert_eq!(
        action_of(&plan, "CreateDBSnapshot"),
        Action::CreateDbSnapshot {
            region: EAST.to_string(),
            instance_id: db_id(EAST).to_string(),
            snapshot_id: stale_snapshot_id(&spec, op, EAST),
        }
    );
}

#[test]
fn the_stale_instance_is_deleted_only_with_its_snapshot_available() {
    let spec = rds_spec(EAST);
    let status = operation_at(
        OperationPlan::RdsFailbackStale,
        WEST,
        EAST,
        StepName::DeleteStale,
        T0,
    );
    let op = status.operation.clone().expect("op");
    let id = stale_snapshot_id(&spec, &op, EAST);
    let base = || WorldBuilder::healthy().writer(WEST).record_at(WEST);
    let creating = rds_world(
        base(),
        &spec,
        stale_east(vec![snap(&id, DbSnapshotStatus::Creating)]),
        None,
        Some(WEST),
    );
    let plan = Run::new(&spec, &creating)
        .status(status.clone())
        .approved_by("ops")
        .at(T0 + 1000)
        .plan();
    assert!(
        !operations(&plan).contains(&"DeleteDBInstance"),
        "{:?}",
        plan.actions
    );
    assert_eq!(
        step_state(&plan, StepName::DeleteStale),
        Some(StepState::Running)
    );
    let kept = rds_world(
        base(),
        &spec,
        stale_east(vec![snap(&id, DbSnapshotStatus::Available)]),
        None,
        Some(WEST),
    );
    let plan = Run::new(&spec, &kept)
        .status(status)
        .approved_by("ops")
        .at(T0 + 1000)
        .plan();
    assert_eq!(
        action_of(&plan, "DeleteDBInstance"),
        Action::DeleteDbInstance {
            region: EAST.to_string(),
            instance_id: db_id(EAST).to_string()
        }
    );
}

#[test]
fn the_rebuilt_replica_is_created_across_regions_with_its_own_regions_kms_key() {
    let spec = rds_spec(WEST);
    let status = operation_at(
        OperationPlan::RdsFailbackStale,
        EAST,
        WEST,
        StepName::RecreateSecondary,
        T0,
    );
    let gone = pair(Seen::Known(Some(db(EAST, None))), Seen::Known(None));
    let world = rds_world(WorldBuilder::healthy(), &spec, gone, None, Some(EAST));
    let plan = Run::new(&spec, &world).status(status).at(T0 + 1000).plan();
    let Action::CreateReadReplica(request) = action_of(&plan, "CreateDBInstanceReadReplica") else {
        panic!("not a read replica request");
    };
    assert_eq!(request.region, WEST);
    assert_eq!(request.identifier, db_id(WEST));
    assert_eq!(request.source_region, EAST);
    assert_eq!(request.source_instance_arn, db_arn(EAST));
    assert_eq!(request.kms_key_id.as_deref(), Some(WEST_KEY));
}

#[test]
fn a_rebuilt_replica_in_sync_ends_the_rebuild_and_the_next_pass_switches_home() {
    let spec = rds_spec(WEST);
    let status = operation_at(
        OperationPlan::RdsFailbackStale,
        EAST,
        WEST,
        StepName::WaitReplicaSynced,
        T0,
    );
    let world = rds_world(
        WorldBuilder::healthy(),
        &spec,
        healthy_pair(),
        Some(2.0),
        Some(EAST),
    );
    let rebuilt = Run::new(&spec, &world).status(status).at(T0 + 1000).plan();
    // maxLagSeconds (5 s) is the gate of a rebuild, not 0.
    let done = rebuilt.status.last_operation.as_ref().expect("the rebuild");
    assert_eq!(
        (done.type_, done.state),
        (OperationType::Failback, OperationState::Succeeded)
    );
    // Nothing moves towards us-west-2 before its database is the writer (invariant 4).
    assert!(rebuilt.actions.is_empty(), "{:?}", rebuilt.actions);
    assert_eq!(rebuilt.status.phase, Phase::Progressing);
    let next = Run::new(&spec, &world)
        .status(rebuilt.status)
        .at(T0 + 3000)
        .plan();
    let switch = next.status.operation.as_ref().expect("the switch home");
    assert_eq!(switch.type_, OperationType::Switchover);
    assert!(
        switch.step(StepName::SnapshotStale).is_some(),
        "it rebuilds us-east-1 after"
    );
    assert!(
        operations(&next).contains(&"UpdateService"),
        "fencing us-east-1: {:?}",
        next.actions
    );
}

#[test]
fn promotion_and_instance_deletion_are_destructive_actions() {
    let promote = Action::PromoteReadReplica {
        region: WEST.to_string(),
        instance_id: "db".to_string(),
    };
    assert!(promote.is_destructive());
    assert_eq!(promote.subject(), "PromoteReadReplica us-west-2/db");
    assert!(StepName::PromoteReplica.is_destructive());
}

#[test]
fn a_promotion_whose_answer_was_lost_is_not_reissued_within_its_grace_then_is() {
    let mut spec = rds_spec(WEST);
    spec.allow_data_loss = true;
    let mut status = operation_at(
        OperationPlan::RdsFailover,
        EAST,
        WEST,
        StepName::PromoteReplica,
        T0,
    );
    let promote = Action::PromoteReadReplica {
        region: WEST.to_string(),
        instance_id: db_id(WEST).to_string(),
    };
    note_in(
        &mut status,
        &steps::note::action_issued_at(StepName::PromoteReplica, &promote),
        T0,
    );
    // The world still shows the replica: the call's effect is not visible yet.
    let view = pair(
        Seen::Unreachable("timeout".to_string()),
        Seen::Known(Some(db(WEST, Some(EAST)))),
    );
    let world = rds_world(WorldBuilder::healthy().down(EAST), &spec, view, None, None);
    let within = Run::new(&spec, &world)
        .status(status.clone())
        .at(T0 + 5_000)
        .plan();
    assert!(within.actions.is_empty(), "{:?}", within.actions);
    let after = Run::new(&spec, &world)
        .status(status)
        .at(T0 + 60_000)
        .plan();
    assert_eq!(action_of(&after, "PromoteReadReplica"), promote);
}

#[test]
fn an_rds_switchs_preflight_runs_the_routing_control_setup_check_as_auroras_does() {
    use drctl_cloud::RoutingControlState;
    use drctl_schema::{DnsRouting, RoutingControlSpec};

    let mut spec = rds_spec(WEST);
    spec.dns.routing = DnsRouting::RoutingControl;
    spec.dns.routing_control = Some(RoutingControlSpec {
        cluster_arn: "arn:aws:route53-recovery-control::123456789012:cluster/c1".to_string(),
        controls: [EAST, WEST]
            .iter()
            .map(|r| (r.to_string(), format!("arn:aws:route53-recovery-control::123456789012:controlpanel/p1/routingcontrol/{r}")))
            .collect(),
    });
    let mut world = rds_world(
        WorldBuilder::healthy(),
        &spec,
        healthy_pair(),
        Some(0.4),
        None,
    );
    world.record = Seen::Known(None);
    world.routing = Some(crate::observed::RoutingView {
        states: Seen::Known(
            [
                (EAST.to_string(), RoutingControlState::On),
                (WEST.to_string(), RoutingControlState::Off),
            ]
            .into_iter()
            .collect(),
        ),
        endpoints: Vec::new(),
        refreshed: None,
        setup_problems: Some(vec![
            "the us-west-2 failover record has no health check".to_string()
        ]),
    });
    let plan = Run::new(&spec, &world).generation(2).plan();
    assert_eq!(
        plan.status.phase,
        Phase::Blocked,
        "{}",
        ready_message(&plan)
    );
    assert!(
        ready_message(&plan).contains("not set up for routing controls")
            && ready_message(&plan).contains("no health check"),
        "{}",
        ready_message(&plan)
    );
    let ops = operations(&plan);
    assert!(!ops.contains(&"UpdateService"), "nothing fenced: {ops:?}");
}

// ---- a planned switch rebuilds the old primary as a replica of the new writer ----

#[test]
fn a_planned_rds_switch_promotes_serves_then_rebuilds_with_every_step_name_once() {
    let steps = steps::rds_replica::steps(OperationPlan::RdsSwitchover);
    let names: Vec<&str> = steps.iter().map(|s| s.as_str()).collect();
    assert_eq!(
        names,
        [
            "Preflight",
            "FenceSource",
            "PromoteReplica",
            "ScaleUpTarget",
            "WaitWriter",
            "WaitComputeReady",
            "MoveDns",
            "WaitDnsInSync",
            "Verify",
            "ScaleDownSource",
            "SnapshotStale",
            "AwaitApproval",
            "DeleteStale",
            "RecreateSecondary",
            "WaitReplicaSynced",
        ]
    );
}

/// A switch east -> west that promoted db-west and serves from it: db-east is standalone.
fn switched_west(snapshots: Vec<DbSnapshot>) -> ObservedWorld {
    let spec = rds_spec(WEST);
    rds_world(
        WorldBuilder::healthy().writer(WEST).record_at(WEST),
        &spec,
        stale_east(snapshots),
        None,
        Some(WEST),
    )
}

fn switch_at(step: StepName) -> FailoverGroupStatus {
    operation_at(OperationPlan::RdsSwitchover, EAST, WEST, step, T0)
}

#[test]
fn once_traffic_is_served_from_the_new_writer_the_switch_snapshots_the_old_primary() {
    let spec = rds_spec(WEST);
    let status = switch_at(StepName::SnapshotStale);
    let op = status.operation.clone().expect("op");
    let plan = Run::new(&spec, &switched_west(Vec::new()))
        .status(status)
        .at(T0 + 1000)
        .plan();
    assert_eq!(
        action_of(&plan, "CreateDBSnapshot"),
        Action::CreateDbSnapshot {
            region: EAST.to_string(),
            instance_id: db_id(EAST).to_string(),
            snapshot_id: stale_snapshot_id(&spec, &op, EAST),
        }
    );
}

#[test]
fn the_switch_asks_before_deleting_the_old_primary_and_names_it() {
    let spec = rds_spec(WEST);
    let status = switch_at(StepName::AwaitApproval);
    let plan = Run::new(&spec, &switched_west(Vec::new()))
        .status(status)
        .at(T0 + 1000)
        .plan();
    assert!(plan.actions.is_empty(), "{:?}", plan.actions);
    assert_eq!(plan.status.phase, Phase::WaitingForApproval);
    assert!(
        plan.summary.contains(db_id(EAST)) && plan.summary.contains(EAST),
        "{}",
        plan.summary
    );
}

#[test]
fn the_switch_deletes_the_old_primary_only_with_its_snapshot_and_never_the_new_writer() {
    let spec = rds_spec(WEST);
    let status = switch_at(StepName::DeleteStale);
    let op = status.operation.clone().expect("op");
    let id = stale_snapshot_id(&spec, &op, EAST);
    let kept = switched_west(vec![snap(&id, DbSnapshotStatus::Available)]);
    let plan = Run::new(&spec, &kept)
        .status(status)
        .approved_by("ops")
        .at(T0 + 1000)
        .plan();
    assert_eq!(
        action_of(&plan, "DeleteDBInstance"),
        Action::DeleteDbInstance {
            region: EAST.to_string(),
            instance_id: db_id(EAST).to_string()
        }
    );
    assert_eq!(operations(&plan), ["DeleteDBInstance"]);
}

#[test]
fn the_switch_recreates_the_old_primary_as_a_replica_of_the_new_writer() {
    let spec = rds_spec(WEST);
    let status = switch_at(StepName::RecreateSecondary);
    let gone = pair(Seen::Known(None), Seen::Known(Some(db(WEST, None))));
    let world = rds_world(
        WorldBuilder::healthy().writer(WEST).record_at(WEST),
        &spec,
        gone,
        None,
        Some(WEST),
    );
    let plan = Run::new(&spec, &world).status(status).at(T0 + 1000).plan();
    let Action::CreateReadReplica(request) = action_of(&plan, "CreateDBInstanceReadReplica") else {
        panic!("not a read replica request");
    };
    assert_eq!(request.region, EAST);
    assert_eq!(request.identifier, db_id(EAST));
    assert_eq!(request.source_region, WEST);
    assert_eq!(request.source_instance_arn, db_arn(WEST));
}

#[test]
fn the_switch_ends_once_the_rebuilt_replica_is_within_max_lag() {
    let spec = rds_spec(WEST);
    let status = switch_at(StepName::WaitReplicaSynced);
    let rebuilt = pair(
        Seen::Known(Some(db(EAST, Some(WEST)))),
        Seen::Known(Some(db(WEST, None))),
    );
    let world = |lag| {
        rds_world(
            WorldBuilder::healthy().writer(WEST).record_at(WEST),
            &spec,
            rebuilt.clone(),
            Some(lag),
            Some(WEST),
        )
    };
    let behind = Run::new(&spec, &world(9.0))
        .status(status.clone())
        .at(T0 + 1000)
        .plan();
    assert!(behind.status.operation.is_some(), "over maxLagSeconds 5");
    let synced = Run::new(&spec, &world(2.0))
        .status(status)
        .at(T0 + 2000)
        .plan();
    assert!(synced.status.operation.is_none());
    assert_eq!(
        synced.status.last_operation.as_ref().map(|o| o.state),
        Some(OperationState::Succeeded)
    );
}
