//! Table and property tests of the planner: (spec, observed world, status) -> plan.

use std::collections::BTreeMap;

use drctl_cloud::{
    AliasTarget, ClusterSnapshot, DbCluster, DbInstance, DnsRecord, EcsService, FailoverState,
    GlobalCluster, GlobalMember,
};
use drctl_schema::{
    condition_type as ct, Approval, Capacity, ClusterTemplate, ComputeSpec, ConditionStatus,
    DatabaseSpec, DnsSpec, DnsTarget, EcsServiceRef, FailbackSpec, FailoverGroupSpec,
    FailoverGroupStatus, OperationState, OperationType, Phase, RecordType, ServiceSpec, StepName,
    StepState, Timestamp, VerifySpec,
};
use proptest::prelude::*;

use super::*;
use crate::observed::{Membership, ObservedWorld, Reachability, RegionView, Seen, ServiceView};

const EAST: &str = "us-east-1";
const WEST: &str = "us-west-2";

fn arn(region: &str, id: &str) -> String {
    format!("arn:aws:rds:{region}:123456789012:cluster:{id}")
}

fn cluster_id(region: &str) -> &'static str {
    if region == EAST {
        "app-primary"
    } else {
        "app-secondary"
    }
}

fn alb(region: &str) -> String {
    format!("alb-{region}.elb.amazonaws.com")
}

struct SpecBuilder(FailoverGroupSpec);

impl SpecBuilder {
    fn new() -> Self {
        let mut clusters = BTreeMap::new();
        let mut targets = BTreeMap::new();
        let mut regions = BTreeMap::new();
        for region in [EAST, WEST] {
            clusters.insert(
                region.to_string(),
                ClusterTemplate {
                    identifier: cluster_id(region).to_string(),
                    engine: Some("aurora-postgresql".to_string()),
                    engine_version: Some("16.3".to_string()),
                    instance_class: Some("db.r6g.large".to_string()),
                    instance_count: Some(1),
                    ..Default::default()
                },
            );
            targets.insert(
                region.to_string(),
                DnsTarget {
                    alias_dns_name: Some(alb(region)),
                    alias_hosted_zone_id: Some("Z35SXDOTRQ7X7K".to_string()),
                    value: None,
                },
            );
            regions.insert(
                region.to_string(),
                EcsServiceRef {
                    cluster: format!("ecs-{region}"),
                    service: "api".to_string(),
                },
            );
        }
        SpecBuilder(FailoverGroupSpec {
            regions: vec![EAST.to_string(), WEST.to_string()],
            writer: EAST.to_string(),
            dns_owner: None,
            allow_data_loss: false,
            max_lag_seconds: 5,
            suspended: false,
            database: DatabaseSpec {
                global_cluster_identifier: "app-global".to_string(),
                clusters,
                kind: Default::default(),
                instances: Default::default(),
            },
            dns: DnsSpec {
                hosted_zone_id: "Z0123456789".to_string(),
                record_name: "api.example.com.".to_string(),
                record_type: RecordType::A,
                ttl: None,
                targets,
                routing: Default::default(),
                routing_control: None,
            },
            compute: ComputeSpec {
                services: vec![ServiceSpec {
                    name: "api".to_string(),
                    regions,
                    active: Capacity {
                        desired: 6,
                        min: 6,
                        max: 24,
                    },
                    standby: Capacity {
                        desired: 1,
                        min: 1,
                        max: 24,
                    },
                }],
            },
            failback: FailbackSpec::default(),
            verify: None,
            objectives: None,
            auto_failover: None,
            dependencies: None,
        })
    }
    fn writer(mut self, region: &str) -> Self {
        self.0.writer = region.to_string();
        self
    }
    fn allow_data_loss(mut self) -> Self {
        self.0.allow_data_loss = true;
        self
    }
    fn suspended(mut self) -> Self {
        self.0.suspended = true;
        self
    }
    fn automatic_approval(mut self) -> Self {
        self.0.failback.approval = Approval::Automatic;
        self
    }
    fn verify(mut self) -> Self {
        self.0.verify = Some(VerifySpec {
            url: "https://api.example.com/healthz".to_string(),
            expect_status: 200,
        });
        self
    }
    fn build(self) -> FailoverGroupSpec {
        self.0
    }
}

/// A healthy two-region world: us-east-1 writer, us-west-2 synced, DNS at us-east-1, compute
/// at active capacity in us-east-1 and standby in us-west-2.
struct WorldBuilder {
    world: ObservedWorld,
}

impl WorldBuilder {
    fn healthy() -> Self {
        let mut regions = BTreeMap::new();
        let mut members = Vec::new();
        for region in [EAST, WEST] {
            let id = cluster_id(region);
            regions.insert(
                region.to_string(),
                RegionView {
                    region: region.to_string(),
                    reachable: Reachability::Answered,
                    cluster: Some(DbCluster {
                        identifier: id.to_string(),
                        arn: arn(region, id),
                        region: region.to_string(),
                        status: "available".into(),
                        engine: "aurora-postgresql".to_string(),
                        engine_version: "16.3".to_string(),
                        deletion_protection: false,
                        storage_encrypted: true,
                        kms_key_id: None,
                        instances: vec![format!("{id}-1")],
                    }),
                    membership: if region == EAST {
                        Membership::Writer
                    } else {
                        Membership::Secondary { synced: true }
                    },
                    instances: None,
                    snapshots: None,
                },
            );
            members.push(GlobalMember {
                cluster_arn: arn(region, id),
                is_writer: region == EAST,
                synchronization_status: Some("connected".to_string()),
            });
        }
        let services = [EAST, WEST]
            .iter()
            .map(|region| {
                let n = if *region == EAST { 6 } else { 1 };
                let (min, max) = if *region == EAST { (6, 24) } else { (1, 24) };
                ServiceView {
                    name: "api".to_string(),
                    region: region.to_string(),
                    ecs: Seen::Known(Some(EcsService {
                        cluster: format!("ecs-{region}"),
                        service: "api".to_string(),
                        status: "ACTIVE".to_string(),
                        desired: n,
                        running: n,
                        pending: 0,
                    })),
                    scalable: Some(Seen::Known(Some((min, max)))),
                }
            })
            .collect();
        WorldBuilder {
            world: ObservedWorld {
                at: Timestamp::from_millis(1_000_000),
                global: Seen::Known(Some(GlobalCluster {
                    identifier: "app-global".to_string(),
                    arn: "arn:aws:rds::123456789012:global-cluster:app-global".to_string(),
                    engine: Some("aurora-postgresql".to_string()),
                    engine_version: Some("16.3".to_string()),
                    status: Some("available".to_string()),
                    members,
                    failover_state: None,
                    writer_endpoint: None,
                })),
                regions,
                record: Seen::Known(Some(record_at(EAST))),
                dns_change: None,
                services,
                lag_seconds: Some(0.5),
                health: None,
                full: true,
                witnesses: Vec::new(),
                suspect_since: None,
                routing: None,
                instances: None,
                dependencies: None,
                capacity: None,
                health_checks: None,
            },
        }
    }
    fn region(&mut self, region: &str) -> &mut RegionView {
        self.world.regions.get_mut(region).expect("region")
    }
    fn service(&mut self, region: &str) -> &mut ServiceView {
        self.world
            .services
            .iter_mut()
            .find(|s| s.region == region)
            .expect("service")
    }
    fn writer(mut self, region: &str) -> Self {
        for r in [EAST, WEST] {
            let m = if r == region {
                Membership::Writer
            } else {
                Membership::Secondary { synced: true }
            };
            self.region(r).membership = m;
        }
        self
    }
    fn down(mut self, region: &str) -> Self {
        let view = self.region(region);
        view.reachable = Reachability::Unreachable;
        view.cluster = None;
        let svc = self.service(region);
        svc.ecs = Seen::Unreachable("RequestTimeout".to_string());
        svc.scalable = Some(Seen::Unreachable("RequestTimeout".to_string()));
        self
    }
    fn membership(mut self, region: &str, membership: Membership) -> Self {
        self.region(region).membership = membership;
        if membership == Membership::Missing {
            self.region(region).cluster = None;
        }
        self
    }
    fn lag(mut self, lag: Option<f64>) -> Self {
        self.world.lag_seconds = lag;
        self
    }
    fn record_at(mut self, region: &str) -> Self {
        self.world.record = Seen::Known(Some(record_at(region)));
        self
    }
    fn compute(mut self, region: &str, desired: u32, running: u32, min: u32, max: u32) -> Self {
        let svc = self.service(region);
        if let Seen::Known(Some(ecs)) = &mut svc.ecs {
            ecs.desired = desired;
            ecs.running = running;
        }
        svc.scalable = Some(Seen::Known(Some((min, max))));
        self
    }
    fn in_flight(mut self) -> Self {
        if let Seen::Known(Some(g)) = &mut self.world.global {
            g.failover_state = Some(FailoverState {
                status: "switching-over".to_string(),
                from_cluster_arn: None,
                to_cluster_arn: None,
                is_data_loss_allowed: false,
            });
        }
        self
    }
    fn engine_version(mut self, region: &str, version: &str) -> Self {
        if let Some(c) = &mut self.region(region).cluster {
            c.engine_version = version.to_string();
        }
        self
    }
    fn snapshots(mut self, region: &str, snapshots: Vec<ClusterSnapshot>) -> Self {
        self.region(region).snapshots = Some(snapshots);
        self
    }
    fn instances(mut self, region: &str, instances: Vec<DbInstance>) -> Self {
        self.region(region).instances = Some(instances);
        self
    }
    fn build(self) -> ObservedWorld {
        self.world
    }
}

fn record_at(region: &str) -> DnsRecord {
    DnsRecord {
        name: "api.example.com.".to_string(),
        record_type: "A".to_string(),
        ttl: None,
        alias: Some(AliasTarget {
            dns_name: format!("{}.", alb(region)),
            hosted_zone_id: "Z35SXDOTRQ7X7K".to_string(),
            evaluate_target_health: false,
        }),
        values: Vec::new(),
    }
}

fn snapshot(id: &str, kind: &str, status: &str) -> ClusterSnapshot {
    ClusterSnapshot {
        identifier: id.to_string(),
        cluster_identifier: cluster_id(EAST).to_string(),
        snapshot_type: kind.to_string(),
        status: status.into(),
        created_at: Some(Timestamp::from_millis(900_000)),
    }
}

fn instance(id: &str, status: &str) -> DbInstance {
    DbInstance {
        identifier: id.to_string(),
        cluster_identifier: Some(cluster_id(EAST).to_string()),
        status: status.into(),
        instance_class: "db.r6g.large".to_string(),
    }
}

/// Runs the planner with sensible defaults.
struct Run<'a> {
    spec: &'a FailoverGroupSpec,
    world: &'a ObservedWorld,
    status: FailoverGroupStatus,
    generation: u64,
    approved_by: Option<&'a str>,
    policy_allowance: Option<&'a drctl_schema::AutoFailoverDecision>,
    now: Timestamp,
}

impl<'a> Run<'a> {
    fn new(spec: &'a FailoverGroupSpec, world: &'a ObservedWorld) -> Self {
        Run {
            spec,
            world,
            status: FailoverGroupStatus::default(),
            generation: 1,
            approved_by: None,
            policy_allowance: None,
            now: Timestamp::from_millis(1_000_000),
        }
    }
    fn status(mut self, status: FailoverGroupStatus) -> Self {
        self.status = status;
        self
    }
    fn generation(mut self, generation: u64) -> Self {
        self.generation = generation;
        self
    }
    fn approved_by(mut self, who: &'a str) -> Self {
        self.approved_by = Some(who);
        self
    }
    fn at(mut self, millis: i64) -> Self {
        self.now = Timestamp::from_millis(millis);
        self
    }
    fn allowance(mut self, decision: &'a drctl_schema::AutoFailoverDecision) -> Self {
        self.policy_allowance = Some(decision);
        self
    }
    fn plan(&self) -> Plan {
        plan(&PlanInput {
            name: "app",
            spec: self.spec,
            generation: self.generation,
            status: &self.status,
            world: self.world,
            approved_by: self.approved_by,
            policy_allowance: self.policy_allowance,
            now: self.now,
            config: PlannerConfig::default(),
        })
    }
}

fn operations(plan: &Plan) -> Vec<&'static str> {
    plan.actions.iter().map(|a| a.action.operation()).collect()
}

fn step_state(plan: &Plan, step: StepName) -> Option<StepState> {
    plan.status
        .operation
        .as_ref()
        .or(plan.status.last_operation.as_ref())
        .and_then(|op| op.step(step))
        .map(|s| s.state)
}

fn condition(plan: &Plan, type_: &str) -> ConditionStatus {
    plan.status
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| c.status)
        .expect("condition present")
}

#[test]
fn converged_world_plans_nothing_and_is_ready() {
    let spec = SpecBuilder::new().build();
    let world = WorldBuilder::healthy().build();
    let plan = Run::new(&spec, &world).plan();
    assert!(plan.actions.is_empty(), "{:?}", plan.actions);
    assert_eq!(plan.status.phase, Phase::Converged);
    assert_eq!(condition(&plan, ct::READY), ConditionStatus::True);
    assert_eq!(condition(&plan, ct::DATABASE_READY), ConditionStatus::True);
    assert_eq!(condition(&plan, ct::DNS_READY), ConditionStatus::True);
    assert_eq!(condition(&plan, ct::COMPUTE_READY), ConditionStatus::True);
    assert_eq!(plan.requeue, PlannerConfig::default().converged_resync);
}

#[test]
fn writer_change_starts_a_switchover_with_the_contract_steps_and_acts_in_the_first_pass() {
    let spec = SpecBuilder::new().writer(WEST).build();
    let world = WorldBuilder::healthy().build();
    let plan = Run::new(&spec, &world).generation(2).plan();
    let op = plan.status.operation.as_ref().expect("operation started");
    assert_eq!(op.type_, OperationType::Switchover);
    assert_eq!((op.from.as_str(), op.to.as_str()), (EAST, WEST));
    let names: Vec<&str> = op.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Preflight",
            "ScaleUpTarget",
            "Switchover",
            "WaitWriter",
            "WaitComputeReady",
            "MoveDns",
            "WaitDnsInSync",
            "Verify",
            "ScaleDownSource"
        ]
    );
    // Preflight passes, then the compute scale-up and the database switchover go out in the
    // same pass: they overlap.
    assert_eq!(
        step_state(&plan, StepName::Preflight),
        Some(StepState::Succeeded)
    );
    let ops = operations(&plan);
    assert!(ops.contains(&"SwitchoverGlobalCluster"), "{ops:?}");
    assert!(ops.contains(&"RegisterScalableTarget"), "{ops:?}");
    assert!(ops.contains(&"UpdateService"), "{ops:?}");
    assert!(
        !ops.contains(&"ChangeResourceRecordSets"),
        "DNS must wait for the writer"
    );
    assert_eq!(plan.status.phase, Phase::Progressing);
    assert!(plan.events.iter().any(|e| e.reason == "OperationStarted"));
}

#[test]
fn failover_without_allow_data_loss_blocks_and_explains() {
    let spec = SpecBuilder::new().writer(WEST).build();
    let world = WorldBuilder::healthy().down(EAST).lag(None).build();
    let status = FailoverGroupStatus {
        observed: Some(drctl_schema::ObservedSummary {
            replication_lag_seconds: Some(0.8),
            ..Default::default()
        }),
        ..Default::default()
    };
    let plan = Run::new(&spec, &world).status(status).generation(2).plan();
    assert!(plan.actions.is_empty(), "{:?}", plan.actions);
    assert!(plan.status.operation.is_none());
    assert_eq!(plan.status.phase, Phase::Blocked);
    let ready = plan
        .status
        .conditions
        .iter()
        .find(|c| c.type_ == ct::READY)
        .expect("ready");
    assert!(ready.message.contains("0.8 s"), "{}", ready.message);
    assert!(
        ready.message.contains("--allow-data-loss"),
        "{}",
        ready.message
    );
    assert!(plan.events.iter().any(|e| e.reason == "Blocked"));
}

#[test]
fn failover_with_allow_data_loss_fences_scales_and_fails_over_at_once_and_records_rpo() {
    let spec = SpecBuilder::new().writer(WEST).allow_data_loss().build();
    let world = WorldBuilder::healthy().down(EAST).lag(None).build();
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
    let ops = operations(&plan);
    assert!(ops.contains(&"FailoverGlobalCluster"), "{ops:?}");
    assert!(ops.contains(&"UpdateService"), "{ops:?}");
    // us-east-1 is unreachable: fencing is skipped, not retried forever.
    assert_eq!(
        step_state(&plan, StepName::FenceSource),
        Some(StepState::Skipped)
    );
    let failover = plan
        .actions
        .iter()
        .find_map(|a| match &a.action {
            Action::FailoverGlobalCluster {
                region,
                allow_data_loss,
                ..
            } => Some((region.clone(), *allow_data_loss)),
            _ => None,
        })
        .expect("failover action");
    assert_eq!(failover, (WEST.to_string(), true));
}

#[test]
fn dns_moves_only_once_the_target_is_writer_and_its_compute_is_ready() {
    let spec = SpecBuilder::new().writer(WEST).build();
    // Pass 1 starts the switchover.
    let world = WorldBuilder::healthy().build();
    let first = Run::new(&spec, &world).generation(2).plan();
    // The writer moved but us-west-2 still runs 2 of 6 tasks.
    let world = WorldBuilder::healthy()
        .writer(WEST)
        .compute(WEST, 6, 2, 6, 24)
        .build();
    let second = Run::new(&spec, &world)
        .status(first.status.clone())
        .generation(2)
        .at(1_030_000)
        .plan();
    assert!(!operations(&second).contains(&"ChangeResourceRecordSets"));
    assert_eq!(
        step_state(&second, StepName::WaitWriter),
        Some(StepState::Succeeded)
    );
    assert_eq!(
        step_state(&second, StepName::WaitComputeReady),
        Some(StepState::Running)
    );
    // All six running: DNS moves, as a compare-and-swap of the record we saw.
    let world = WorldBuilder::healthy()
        .writer(WEST)
        .compute(WEST, 6, 6, 6, 24)
        .build();
    let third = Run::new(&spec, &world)
        .status(second.status.clone())
        .generation(2)
        .at(1_060_000)
        .plan();
    let change = third
        .actions
        .iter()
        .find_map(|a| match &a.action {
            Action::ChangeRecord {
                expected, region, ..
            } => Some((expected.clone(), region.clone())),
            _ => None,
        })
        .expect("DNS change");
    assert_eq!(change.1, WEST);
    assert_eq!(change.0, Some(record_at(EAST)));
}

#[test]
fn writer_drift_is_reported_and_not_reverted() {
    let spec = SpecBuilder::new().build();
    let converged = Run::new(&spec, &WorldBuilder::healthy().build()).plan();
    // Someone failed over outside drctl; the spec did not change.
    let world = WorldBuilder::healthy().writer(WEST).build();
    let plan = Run::new(&spec, &world)
        .status(converged.status.clone())
        .plan();
    assert!(plan.actions.is_empty(), "{:?}", plan.actions);
    assert!(plan.status.operation.is_none());
    assert_eq!(condition(&plan, ct::WRITER_DRIFT), ConditionStatus::True);
    assert!(plan.events.iter().any(|e| e.reason == "WriterDrift"));
    // And it stays reported on the next pass, without a second event.
    let again = Run::new(&spec, &world).status(plan.status.clone()).plan();
    assert!(again.actions.is_empty());
    assert_eq!(condition(&again, ct::WRITER_DRIFT), ConditionStatus::True);
    assert!(!again.events.iter().any(|e| e.reason == "WriterDrift"));
}

/// After a failover to us-west-2, spec.writer goes back to us-east-1 whose cluster is stale.
fn stale_failback_world() -> WorldBuilder {
    WorldBuilder::healthy()
        .writer(WEST)
        .membership(EAST, Membership::Detached)
        .record_at(WEST)
        .compute(WEST, 6, 6, 6, 24)
        .compute(EAST, 1, 1, 1, 24)
}

#[test]
fn stale_failback_snapshots_then_waits_for_approval_before_deleting() {
    let spec = SpecBuilder::new().build();
    let world = stale_failback_world().snapshots(EAST, vec![]).build();
    let plan = Run::new(&spec, &world).generation(3).plan();
    let op = plan.status.operation.as_ref().expect("operation");
    assert_eq!(op.type_, OperationType::Failback);
    assert_eq!(op.steps[0].name, StepName::SnapshotStale);
    assert_eq!(operations(&plan), ["CreateDBClusterSnapshot"]);
    let snapshot_id = match &plan.actions[0].action {
        Action::CreateClusterSnapshot { snapshot_id, .. } => snapshot_id.clone(),
        other => panic!("unexpected {other:?}"),
    };
    // Snapshot available: AwaitApproval holds the destructive steps.
    let world = stale_failback_world()
        .snapshots(EAST, vec![snapshot(&snapshot_id, "manual", "available")])
        .instances(EAST, vec![instance("app-primary-1", "available")])
        .build();
    let waiting = Run::new(&spec, &world)
        .status(plan.status.clone())
        .generation(3)
        .plan();
    assert!(waiting.actions.is_empty(), "{:?}", waiting.actions);
    assert_eq!(waiting.status.phase, Phase::WaitingForApproval);
    assert_eq!(
        condition(&waiting, ct::APPROVAL_REQUIRED),
        ConditionStatus::True
    );
    // Approved: the instances go first, then (next pass) the cluster.
    let approved = Run::new(&spec, &world)
        .status(waiting.status.clone())
        .generation(3)
        .approved_by("alice@laptop")
        .plan();
    assert_eq!(operations(&approved), ["DeleteDBInstance"]);
    assert_eq!(
        step_state(&approved, StepName::AwaitApproval),
        Some(StepState::Succeeded)
    );
}

/// Found against moto: the grace used to be per step, so DeleteDBCluster waited out the
/// 30 s destructive grace of the DeleteDBInstance calls that had already taken effect.
#[test]
fn a_step_goes_on_to_its_next_call_at_once_but_never_repeats_a_call_within_its_grace() {
    let spec = SpecBuilder::new().automatic_approval().build();
    let snapshot_id = {
        let world = stale_failback_world().snapshots(EAST, vec![]).build();
        let first = Run::new(&spec, &world).generation(3).plan();
        match &first.actions[0].action {
            Action::CreateClusterSnapshot { snapshot_id, .. } => snapshot_id.clone(),
            other => panic!("unexpected {other:?}"),
        }
    };
    let with_instances = |status: &str| {
        stale_failback_world()
            .snapshots(EAST, vec![snapshot(&snapshot_id, "manual", "available")])
            .instances(EAST, vec![instance("app-primary-1", status)])
            .build()
    };
    let mut status = FailoverGroupStatus::default();
    let mut deleting = None;
    // Snapshot, then (approval automatic) the instance deletion.
    for _ in 0..4 {
        let plan = Run::new(&spec, &with_instances("available"))
            .status(status.clone())
            .generation(3)
            .plan();
        status = plan.status.clone();
        if operations(&plan) == ["DeleteDBInstance"] {
            deleting = Some(plan);
            break;
        }
    }
    let deleting = deleting.expect("the instance is deleted after the snapshot");

    // One second later the instance still shows as available: the call is not repeated.
    let held = Run::new(&spec, &with_instances("available"))
        .status(deleting.status.clone())
        .generation(3)
        .at(1_001_000)
        .plan();
    assert!(held.actions.is_empty(), "{:?}", held.actions);
    // After the destructive grace it is, as the first call may have been lost.
    let retried = Run::new(&spec, &with_instances("available"))
        .status(deleting.status.clone())
        .generation(3)
        .at(1_031_000)
        .plan();
    assert_eq!(operations(&retried), ["DeleteDBInstance"]);

    // One second later the instance is gone: the cluster goes at once, not 30 s later.
    let gone = stale_failback_world()
        .snapshots(EAST, vec![snapshot(&snapshot_id, "manual", "available")])
        .instances(EAST, vec![])
        .build();
    let next = Run::new(&spec, &gone)
        .status(deleting.status.clone())
        .generation(3)
        .at(1_001_000)
        .plan();
    assert_eq!(operations(&next), ["DeleteDBCluster"]);
}

#[test]
fn a_stale_cluster_is_never_deleted_without_an_available_manual_snapshot() {
    let spec = SpecBuilder::new().automatic_approval().build();
    let world = stale_failback_world().snapshots(EAST, vec![]).build();
    let first = Run::new(&spec, &world).generation(3).plan();
    let mut status = first.status.clone();
    // Pretend (as a corrupted record might) that the snapshot step already succeeded.
    if let Some(op) = &mut status.operation {
        for s in &mut op.steps {
            if matches!(s.name, StepName::SnapshotStale | StepName::AwaitApproval) {
                s.state = StepState::Succeeded;
            }
        }
    }
    let world = stale_failback_world()
        .snapshots(EAST, vec![])
        .instances(EAST, vec![])
        .build();
    let plan = Run::new(&spec, &world).status(status).generation(3).plan();
    assert!(
        !operations(&plan).iter().any(|o| o.starts_with("Delete")),
        "{:?}",
        plan.actions
    );
    assert_eq!(plan.status.phase, Phase::Blocked);
}

#[test]
fn rejoined_failback_copies_the_system_snapshot_then_switches_over() {
    let spec = SpecBuilder::new().build();
    let world = WorldBuilder::healthy()
        .writer(WEST)
        .record_at(WEST)
        .compute(WEST, 6, 6, 6, 24)
        .compute(EAST, 1, 1, 1, 24)
        .snapshots(
            EAST,
            vec![snapshot(
                "rds:unplanned-global-failover-app-primary-2026-01-01-00-05",
                "system",
                "available",
            )],
        )
        .build();
    let status = FailoverGroupStatus {
        last_operation: Some(steps::new_operation(
            OperationPlan::Failover,
            "op-1".to_string(),
            EAST,
            WEST,
            2,
            Timestamp::from_millis(0),
        )),
        ..Default::default()
    };
    let plan = Run::new(&spec, &world).status(status).generation(3).plan();
    let op = plan.status.operation.as_ref().expect("operation");
    assert_eq!(op.type_, OperationType::Failback);
    assert_eq!(op.steps[0].name, StepName::PreserveSnapshot);
    assert_eq!(operations(&plan), ["CopyDBClusterSnapshot"]);
}

#[test]
fn a_suspended_group_is_observed_but_never_mutated() {
    let spec = SpecBuilder::new().writer(WEST).suspended().build();
    let world = WorldBuilder::healthy().build();
    let plan = Run::new(&spec, &world).generation(2).plan();
    assert!(plan.actions.is_empty(), "{:?}", plan.actions);
    assert_eq!(plan.status.phase, Phase::Suspended);
}

#[test]
fn a_destructive_call_in_flight_is_not_issued_again_within_its_grace_period() {
    let spec = SpecBuilder::new().writer(WEST).build();
    let world = WorldBuilder::healthy().build();
    let first = Run::new(&spec, &world).generation(2).plan();
    assert!(operations(&first).contains(&"SwitchoverGlobalCluster"));
    // 3 s later the world does not show the switchover yet (the response may have been lost).
    let again = Run::new(&spec, &world)
        .status(first.status.clone())
        .generation(2)
        .at(1_003_000)
        .plan();
    assert!(!operations(&again).contains(&"SwitchoverGlobalCluster"));
    // Once AWS shows the operation in flight, still nothing is re-issued.
    let in_flight = WorldBuilder::healthy().in_flight().build();
    let later = Run::new(&spec, &in_flight)
        .status(first.status.clone())
        .generation(2)
        .at(1_120_000)
        .plan();
    assert!(!operations(&later).contains(&"SwitchoverGlobalCluster"));
}

#[test]
fn a_restarted_controller_resumes_a_running_step_without_repeating_it() {
    let spec = SpecBuilder::new().writer(WEST).build();
    let first = Run::new(&spec, &WorldBuilder::healthy().build())
        .generation(2)
        .plan();
    // Crash after the switchover call; on restart the world shows it done.
    let world = WorldBuilder::healthy()
        .writer(WEST)
        .compute(WEST, 6, 1, 6, 24)
        .build();
    let resumed = Run::new(&spec, &world)
        .status(first.status.clone())
        .generation(2)
        .at(1_200_000)
        .plan();
    assert!(!operations(&resumed).contains(&"SwitchoverGlobalCluster"));
    assert_eq!(
        step_state(&resumed, StepName::Switchover),
        Some(StepState::Succeeded)
    );
    assert_eq!(
        step_state(&resumed, StepName::WaitWriter),
        Some(StepState::Succeeded)
    );
}

#[test]
fn a_spec_change_before_promotion_supersedes_the_operation() {
    let spec_west = SpecBuilder::new().writer(WEST).build();
    // Lag too high: the switchover waits in Preflight.
    let world = WorldBuilder::healthy().lag(Some(30.0)).build();
    let first = Run::new(&spec_west, &world).generation(2).plan();
    assert_eq!(
        step_state(&first, StepName::Preflight),
        Some(StepState::Running)
    );
    assert!(first.actions.is_empty());
    // The operator changes their mind.
    let spec_east = SpecBuilder::new().build();
    let plan = Run::new(&spec_east, &world)
        .status(first.status.clone())
        .generation(3)
        .plan();
    assert!(plan.status.operation.is_none());
    assert_eq!(
        plan.status.last_operation.as_ref().map(|o| o.state),
        Some(OperationState::Superseded)
    );
}

#[test]
fn replication_lag_above_the_gate_holds_the_switchover_in_preflight() {
    let spec = SpecBuilder::new().writer(WEST).build();
    let world = WorldBuilder::healthy().lag(Some(9.5)).build();
    let plan = Run::new(&spec, &world).generation(2).plan();
    assert!(plan.actions.is_empty());
    let detail = plan
        .status
        .operation
        .as_ref()
        .and_then(|o| o.step(StepName::Preflight))
        .and_then(|s| s.detail.clone())
        .expect("detail");
    assert!(detail.contains("9.5 s > maxLagSeconds 5"), "{detail}");
}

#[test]
fn an_engine_version_mismatch_blocks_the_switchover() {
    let spec = SpecBuilder::new().writer(WEST).build();
    let world = WorldBuilder::healthy().engine_version(WEST, "15.4").build();
    let plan = Run::new(&spec, &world).generation(2).plan();
    assert!(plan.actions.is_empty());
    assert_eq!(plan.status.phase, Phase::Blocked);
}

#[test]
fn steady_state_leaves_desired_count_to_autoscaling_within_min_and_max() {
    let spec = SpecBuilder::new().build();
    // Autoscaling raised us-east-1 to 10: within [6, 24], left alone.
    let world = WorldBuilder::healthy().compute(EAST, 10, 10, 6, 24).build();
    assert!(Run::new(&spec, &world).plan().actions.is_empty());
    // Someone set it to 2: clamped back to the minimum.
    let world = WorldBuilder::healthy().compute(EAST, 2, 2, 6, 24).build();
    let plan = Run::new(&spec, &world).plan();
    assert_eq!(operations(&plan), ["UpdateService"]);
    match &plan.actions[0].action {
        Action::SetDesiredCount { desired, .. } => assert_eq!(*desired, 6),
        other => panic!("unexpected {other:?}"),
    }
    // A scalable target with the wrong min/max is re-registered.
    let world = WorldBuilder::healthy().compute(WEST, 1, 1, 0, 2).build();
    assert_eq!(
        operations(&Run::new(&spec, &world).plan()),
        ["RegisterScalableTarget"]
    );
}

#[test]
fn a_finished_operation_records_its_rto_and_moves_to_last_operation() {
    let spec = SpecBuilder::new().writer(WEST).verify().build();
    let mut status = Run::new(&spec, &WorldBuilder::healthy().build())
        .generation(2)
        .plan()
        .status;
    let target = WorldBuilder::healthy()
        .writer(WEST)
        .record_at(WEST)
        .compute(WEST, 6, 6, 6, 24)
        .compute(EAST, 1, 1, 1, 24);
    let mut world = target.build();
    world.health = Some(Seen::Known(200));
    let mut now = 1_000_000;
    for _ in 0..5 {
        now += 20_000;
        status = Run::new(&spec, &world)
            .status(status)
            .generation(2)
            .at(now)
            .plan()
            .status;
    }
    assert!(status.operation.is_none(), "{:?}", status.operation);
    let last = status.last_operation.expect("last operation");
    assert_eq!(last.state, OperationState::Succeeded);
    assert!(last.rto_seconds.expect("rto") > 0.0);
    assert_eq!(status.phase, Phase::Converged);
}

/// Runs a switchover to WEST to its end under `objectives`; returns the last status and every
/// event raised on the way.
fn finish_switchover_under(
    objectives: drctl_schema::Objectives,
) -> (FailoverGroupStatus, Vec<String>) {
    let mut spec = SpecBuilder::new().writer(WEST).verify().build();
    spec.objectives = Some(objectives);
    let first = Run::new(&spec, &WorldBuilder::healthy().build())
        .generation(2)
        .plan();
    let mut events: Vec<String> = first.events.iter().map(|e| e.reason.clone()).collect();
    let mut status = first.status;
    let mut world = WorldBuilder::healthy()
        .writer(WEST)
        .record_at(WEST)
        .compute(WEST, 6, 6, 6, 24)
        .compute(EAST, 1, 1, 1, 24)
        .build();
    world.health = Some(Seen::Known(200));
    let mut now = 1_000_000;
    for _ in 0..5 {
        now += 20_000;
        let plan = Run::new(&spec, &world)
            .status(status)
            .generation(2)
            .at(now)
            .plan();
        events.extend(plan.events.iter().map(|e| e.reason.clone()));
        status = plan.status;
    }
    assert!(status.operation.is_none(), "{:?}", status.operation);
    (status, events)
}

#[test]
fn an_operation_slower_than_its_rto_objective_is_judged_missed_with_an_event() {
    let (status, events) = finish_switchover_under(drctl_schema::Objectives {
        rto_seconds: Some(1),
        rpo_seconds: Some(0),
    });
    let judgement = status.objectives.expect("judged");
    let last = status.last_operation.expect("last operation");
    assert_eq!(judgement.operation_id, last.id);
    assert!(!judgement.met, "{judgement:?}");
    assert_eq!(judgement.missed.len(), 1, "{judgement:?}");
    assert_eq!(judgement.missed[0].objective, "rtoSeconds");
    assert_eq!(judgement.missed[0].objective_seconds, 1);
    assert_eq!(Some(judgement.missed[0].measured_seconds), last.rto_seconds);
    assert_eq!(
        events
            .iter()
            .filter(|r| *r == crate::planner::OBJECTIVE_MISSED)
            .count(),
        1,
        "{events:?}"
    );
}

#[test]
fn an_operation_within_its_objectives_is_judged_met_without_an_event() {
    let (status, events) = finish_switchover_under(drctl_schema::Objectives {
        rto_seconds: Some(3600),
        rpo_seconds: Some(0),
    });
    let judgement = status.objectives.expect("judged");
    assert!(judgement.met, "{judgement:?}");
    assert!(judgement.unmeasured.is_empty(), "{judgement:?}");
    assert!(
        !events.iter().any(|r| r == crate::planner::OBJECTIVE_MISSED),
        "{events:?}"
    );
}

/// Found by the drill campaign (seed 18): a switchover to WEST past its Switchover step, the
/// spec moved back to EAST while MoveDns waited. The operation must still move DNS to its own
/// destination (the writer) and finish, so that the next operation can bring everything back;
/// following the spec's dnsOwner left it Blocked for good ("spec.dnsOwner us-east-1 is not the
/// writer region").
#[test]
fn a_spec_moved_back_after_the_switchover_still_lets_the_operation_move_dns_and_finish() {
    let to_west = SpecBuilder::new().writer(WEST).build();
    let mut status = Run::new(&to_west, &WorldBuilder::healthy().build())
        .generation(2)
        .plan()
        .status;
    let switched = WorldBuilder::healthy()
        .writer(WEST)
        .record_at(EAST)
        .compute(WEST, 6, 6, 6, 24)
        .compute(EAST, 1, 1, 1, 24)
        .build();
    let mut now = 1_000_000;
    for _ in 0..3 {
        now += 5_000;
        status = Run::new(&to_west, &switched)
            .status(status)
            .generation(2)
            .at(now)
            .plan()
            .status;
    }
    assert_eq!(
        status
            .operation
            .as_ref()
            .and_then(|o| o.step(StepName::Switchover))
            .map(|s| s.state),
        Some(StepState::Succeeded),
        "{status:?}"
    );
    let back_east = SpecBuilder::new().writer(EAST).build();
    let plan = Run::new(&back_east, &switched)
        .status(status)
        .generation(3)
        .at(now + 5_000)
        .plan();
    assert_ne!(plan.status.phase, Phase::Blocked, "{:?}", plan.summary);
    let moved: Vec<String> = plan
        .actions
        .iter()
        .filter(|a| a.action.operation() == "ChangeResourceRecordSets")
        .map(|a| format!("{:?}", a.action))
        .collect();
    assert_eq!(moved.len(), 1, "{:?}", plan.actions);
    assert!(moved[0].contains(WEST), "{moved:?}");
}

#[test]
fn a_second_global_operation_is_never_started_while_one_is_in_flight() {
    let spec = SpecBuilder::new().writer(WEST).build();
    let world = WorldBuilder::healthy().in_flight().build();
    let plan = Run::new(&spec, &world).generation(2).plan();
    assert!(!operations(&plan).contains(&"SwitchoverGlobalCluster"));
    assert_eq!(
        step_state(&plan, StepName::Preflight),
        Some(StepState::Running)
    );
}

// ---- every step's Succeeded needs its postcondition; no wait without a deadline ----

const T0: i64 = 1_000_000;
const MINUTE: i64 = 60_000;

/// A running operation with every step before `step` Succeeded and `step` Running since
/// `started_at`.
fn operation_at(
    plan: OperationPlan,
    from: &str,
    to: &str,
    step: StepName,
    started_at: i64,
) -> FailoverGroupStatus {
    let mut op = steps::new_operation(
        plan,
        "op-7".to_string(),
        from,
        to,
        1,
        Timestamp::from_millis(0),
    );
    for record in &mut op.steps {
        if record.name == step {
            record.state = StepState::Running;
            record.started_at = Some(Timestamp::from_millis(started_at));
            break;
        }
        record.state = StepState::Succeeded;
        record.started_at = Some(Timestamp::from_millis(0));
        record.finished_at = Some(Timestamp::from_millis(0));
    }
    FailoverGroupStatus {
        observed_generation: 1,
        phase: Phase::Progressing,
        operation: Some(op),
        ..Default::default()
    }
}

fn note_in(status: &mut FailoverGroupStatus, key: &str, value: impl ToString) {
    if let Some(op) = status.operation.as_mut() {
        op.notes.insert(key.to_string(), value.to_string());
    }
}

fn ready_message(plan: &Plan) -> String {
    plan.status
        .conditions
        .iter()
        .find(|c| c.type_ == ct::READY)
        .map(|c| c.message.clone())
        .expect("Ready")
}

fn step_detail(plan: &Plan, step: StepName) -> String {
    plan.status
        .operation
        .as_ref()
        .and_then(|op| op.step(step))
        .and_then(|s| s.detail.clone())
        .unwrap_or_default()
}

/// The CreateDBCluster RecreateSecondary issues for us-east-1, as its note key.
fn create_note() -> String {
    let create = Action::CreateSecondaryCluster(drctl_cloud::CreateSecondaryCluster {
        region: EAST.to_string(),
        identifier: cluster_id(EAST).to_string(),
        global_cluster_identifier: "app-global".to_string(),
        engine: "aurora-postgresql".to_string(),
        engine_version: None,
        kms_key_id: None,
        db_subnet_group: None,
        vpc_security_group_ids: Vec::new(),
    });
    steps::note::action_issued_at(StepName::RecreateSecondary, &create)
}

/// A stale failback (us-west-2 -> us-east-1) at `step`, RecreateSecondary having issued
/// CreateDBCluster at `created_at`.
fn rebuild_at(step: StepName, created_at: Option<i64>) -> FailoverGroupStatus {
    let mut status = operation_at(
        OperationPlan::FailbackStale,
        WEST,
        EAST,
        step,
        T0 - 10 * MINUTE,
    );
    if let Some(at) = created_at {
        note_in(&mut status, &create_note(), at);
    }
    status
}

/// After the failover to us-west-2: us-east-1's cluster exists, is available, and is not a
/// member of the global cluster.
fn unjoined_east() -> WorldBuilder {
    stale_failback_world()
        .instances(EAST, vec![instance("app-primary-instance-1", "available")])
        .snapshots(EAST, vec![])
}

fn snapshot_taken(plan: &Plan) -> String {
    plan.actions
        .iter()
        .find_map(|a| match &a.action {
            Action::CreateClusterSnapshot { snapshot_id, .. } => Some(snapshot_id.clone()),
            _ => None,
        })
        .expect("a snapshot is taken")
}

#[test]
fn a_recreated_cluster_that_is_not_a_member_never_succeeds_and_is_snapshotted_before_rebuilding() {
    let spec = SpecBuilder::new().build();
    let world = unjoined_east().build();
    let status = rebuild_at(StepName::RecreateSecondary, Some(T0 - 10 * MINUTE));
    let plan = Run::new(&spec, &world).status(status).plan();
    assert_eq!(
        step_state(&plan, StepName::RecreateSecondary),
        Some(StepState::Running)
    );
    assert_eq!(operations(&plan), ["CreateDBClusterSnapshot"]);
    assert!(
        snapshot_taken(&plan).starts_with("drctl-unjoined-app-primary-"),
        "{:?}",
        plan.actions
    );
    assert!(
        step_detail(&plan, StepName::RecreateSecondary).contains("not a member of app-global"),
        "{}",
        step_detail(&plan, StepName::RecreateSecondary)
    );
}

#[test]
fn an_unjoined_cluster_this_operation_made_is_deleted_and_created_again_until_it_is_a_member() {
    let spec = SpecBuilder::new().build();
    let mut status = rebuild_at(StepName::RecreateSecondary, Some(T0 - 10 * MINUTE));
    let first = Run::new(&spec, &unjoined_east().build())
        .status(status.clone())
        .plan();
    let snapshot_id = snapshot_taken(&first);
    status = first.status;
    let kept = || vec![snapshot(&snapshot_id, "manual", "available")];

    // The snapshot is available: the instances go, then the cluster.
    let world = unjoined_east().snapshots(EAST, kept()).build();
    let plan = Run::new(&spec, &world)
        .status(status)
        .at(T0 + MINUTE)
        .plan();
    assert_eq!(operations(&plan), ["DeleteDBInstance"]);
    let world = unjoined_east()
        .snapshots(EAST, kept())
        .instances(EAST, vec![])
        .build();
    let plan = Run::new(&spec, &world)
        .status(plan.status)
        .at(T0 + 2 * MINUTE)
        .plan();
    assert_eq!(operations(&plan), ["DeleteDBCluster"]);

    // Gone: created again as a secondary.
    let world = stale_failback_world()
        .membership(EAST, Membership::Missing)
        .snapshots(EAST, kept())
        .instances(EAST, vec![])
        .build();
    let plan = Run::new(&spec, &world)
        .status(plan.status)
        .at(T0 + 5 * MINUTE)
        .plan();
    assert_eq!(operations(&plan), ["CreateDBCluster"]);

    // This time it is a member: instances, then Succeeded.
    let member = || {
        stale_failback_world()
            .membership(EAST, Membership::Secondary { synced: false })
            .snapshots(EAST, kept())
    };
    let world = member().instances(EAST, vec![]).build();
    let plan = Run::new(&spec, &world)
        .status(plan.status)
        .at(T0 + 15 * MINUTE)
        .plan();
    assert_eq!(operations(&plan), ["CreateDBInstance"]);
    let world = member()
        .instances(EAST, vec![instance("app-primary-instance-1", "available")])
        .build();
    let plan = Run::new(&spec, &world)
        .status(plan.status)
        .at(T0 + 30 * MINUTE)
        .plan();
    assert_eq!(
        step_state(&plan, StepName::RecreateSecondary),
        Some(StepState::Succeeded)
    );
    let op = plan.status.operation.as_ref().expect("operation");
    assert!(op.notes.contains_key(steps::note::SECONDARY_JOINED_AT));
}

#[test]
fn a_cluster_that_is_not_a_member_is_never_deleted_unless_this_operation_provably_made_it() {
    let spec = SpecBuilder::new().build();
    // No CreateDBCluster of this operation on record: someone else's cluster.
    let world = unjoined_east().build();
    let foreign = Run::new(&spec, &world)
        .status(rebuild_at(StepName::RecreateSecondary, None))
        .plan();
    // Made by this operation, but with an instance drctl never names.
    let world = stale_failback_world()
        .instances(EAST, vec![instance("reporting-replica", "available")])
        .snapshots(EAST, vec![])
        .build();
    let adopted = Run::new(&spec, &world)
        .status(rebuild_at(
            StepName::RecreateSecondary,
            Some(T0 - 10 * MINUTE),
        ))
        .plan();
    for plan in [&foreign, &adopted] {
        assert!(plan.actions.is_empty(), "{:?}", plan.actions);
        assert_eq!(plan.status.phase, Phase::Blocked);
        assert_ne!(
            step_state(plan, StepName::RecreateSecondary),
            Some(StepState::Succeeded)
        );
        let message = ready_message(plan);
        assert!(message.contains("will not delete it"), "{message}");
        assert!(
            message.contains(
                "aws rds delete-db-cluster --region us-east-1 --db-cluster-identifier app-primary"
            ),
            "{message}"
        );
    }
}

#[test]
fn membership_is_never_judged_while_the_global_cluster_cannot_be_read() {
    let spec = SpecBuilder::new().build();
    let mut world = unjoined_east().build();
    world.global = Seen::Unreachable("Throttling".to_string());
    let plan = Run::new(&spec, &world)
        .status(rebuild_at(
            StepName::RecreateSecondary,
            Some(T0 - 10 * MINUTE),
        ))
        .plan();
    assert!(plan.actions.is_empty(), "{:?}", plan.actions);
    assert_eq!(
        step_state(&plan, StepName::RecreateSecondary),
        Some(StepState::Running)
    );
}

#[test]
fn a_stale_cluster_is_never_deleted_while_the_global_cluster_cannot_be_read() {
    let spec = SpecBuilder::new().build();
    let world = || {
        stale_failback_world()
            .snapshots(
                EAST,
                vec![snapshot(
                    "drctl-stale-app-primary-op-7",
                    "manual",
                    "available",
                )],
            )
            .instances(EAST, vec![instance("app-primary-1", "available")])
            .build()
    };
    let status = || rebuild_at(StepName::DeleteStale, None);
    let readable = Run::new(&spec, &world()).status(status()).plan();
    assert_eq!(operations(&readable), ["DeleteDBInstance"]);
    let mut unread = world();
    unread.global = Seen::Unreachable("Throttling".to_string());
    let plan = Run::new(&spec, &unread).status(status()).plan();
    assert!(plan.actions.is_empty(), "{:?}", plan.actions);
    assert_eq!(
        step_state(&plan, StepName::DeleteStale),
        Some(StepState::Running)
    );
}

/// The emulator run: CreateDBCluster refused after the cluster was made, RecreateSecondary
/// marked Succeeded anyway, WaitReplicaSynced waiting on a detached cluster for ever.
#[test]
fn a_detached_cluster_in_wait_replica_synced_sends_recreate_secondary_back_to_rebuild_it() {
    let spec = SpecBuilder::new().build();
    let world = unjoined_east().build();
    let status = rebuild_at(StepName::WaitReplicaSynced, Some(T0 - 20 * MINUTE));
    let reopened = Run::new(&spec, &world).status(status).plan();
    assert_eq!(
        step_state(&reopened, StepName::RecreateSecondary),
        Some(StepState::Pending)
    );
    assert_eq!(
        step_state(&reopened, StepName::WaitReplicaSynced),
        Some(StepState::Pending)
    );
    assert!(reopened.events.iter().any(|e| e.reason == "StepReopened"));
    let next = Run::new(&spec, &world)
        .status(reopened.status)
        .at(T0 + 2_000)
        .plan();
    assert_eq!(operations(&next), ["CreateDBClusterSnapshot"]);
}

#[test]
fn a_recreated_member_that_was_removed_from_the_global_cluster_blocks_instead_of_being_deleted() {
    let spec = SpecBuilder::new().build();
    let world = unjoined_east().build();
    let mut status = rebuild_at(StepName::WaitReplicaSynced, Some(T0 - 20 * MINUTE));
    note_in(
        &mut status,
        steps::note::SECONDARY_JOINED_AT,
        T0 - 12 * MINUTE,
    );
    let reopened = Run::new(&spec, &world).status(status).plan();
    let plan = Run::new(&spec, &world)
        .status(reopened.status)
        .at(T0 + 2_000)
        .plan();
    assert!(plan.actions.is_empty(), "{:?}", plan.actions);
    assert_eq!(plan.status.phase, Phase::Blocked);
    let message = ready_message(&plan);
    assert!(message.contains("no longer a member"), "{message}");
    assert!(
        message.contains("aws rds delete-db-instance --region us-east-1"),
        "{message}"
    );
}

/// A switchover at WaitDnsInSync whose change was issued at `issued_at`.
fn dns_wait(started_at: i64, issued_at: i64, change_id: Option<&str>) -> FailoverGroupStatus {
    let mut status = operation_at(
        OperationPlan::Switchover,
        EAST,
        WEST,
        StepName::WaitDnsInSync,
        started_at,
    );
    note_in(
        &mut status,
        &steps::note::issued_at(StepName::MoveDns),
        issued_at,
    );
    if let Some(id) = change_id {
        note_in(&mut status, steps::note::DNS_CHANGE_ID, id);
    }
    status
}

fn switched_over_world() -> WorldBuilder {
    WorldBuilder::healthy()
        .writer(WEST)
        .record_at(WEST)
        .compute(WEST, 6, 6, 6, 24)
}

#[test]
fn a_wait_step_past_its_deadline_degrades_the_group_and_says_what_it_waited_for_and_how_long() {
    let spec = SpecBuilder::new().writer(WEST).build();
    let mut world = switched_over_world().build();
    world.dns_change = Some(Seen::Known(crate::observed::DnsChangeStatus::Pending));
    let started = T0 - 6 * MINUTE;
    let status = dns_wait(started, started, Some("/change/C1"));
    // Within its deadline: progressing.
    let early = Run::new(&spec, &world)
        .status(status.clone())
        .at(started + 4 * MINUTE)
        .plan();
    assert_eq!(early.status.phase, Phase::Progressing);
    // Past it: Degraded (still trying), never Ready, with what and how long.
    let late = Run::new(&spec, &world).status(status).plan();
    assert_eq!(late.status.phase, Phase::Degraded);
    assert_eq!(condition(&late, ct::READY), ConditionStatus::False);
    let message = ready_message(&late);
    assert!(
        message.contains("WaitDnsInSync has waited 6 min (deadline 5 min; still trying): Route 53 change is PENDING"),
        "{message}"
    );
    assert_eq!(
        step_state(&late, StepName::WaitDnsInSync),
        Some(StepState::Running)
    );
    let overdue = |plan: &Plan| {
        plan.events
            .iter()
            .filter(|e| e.reason == "StepOverdue")
            .count()
    };
    assert_eq!(overdue(&late), 1);
    // Reported once, not on every pass.
    let again = Run::new(&spec, &world)
        .status(late.status.clone())
        .at(T0 + MINUTE)
        .plan();
    assert_eq!(again.status.phase, Phase::Degraded);
    assert_eq!(overdue(&again), 0);
}

#[test]
fn a_verify_probe_failing_past_its_deadline_blocks_the_group_as_needing_a_person() {
    let spec = SpecBuilder::new().writer(WEST).verify().build();
    let mut world = switched_over_world().build();
    world.health = Some(Seen::Known(503));
    let status = operation_at(
        OperationPlan::Switchover,
        EAST,
        WEST,
        StepName::Verify,
        T0 - 11 * MINUTE,
    );
    let plan = Run::new(&spec, &world).status(status).plan();
    assert_eq!(plan.status.phase, Phase::Blocked);
    let message = ready_message(&plan);
    assert!(message.contains("Verify has waited 11 min"), "{message}");
    assert!(message.contains("needs a person"), "{message}");
    assert!(message.contains("answered 503, expecting 200"), "{message}");
    // Still probed: a good answer finishes the step.
    let mut healthy = switched_over_world().build();
    healthy.health = Some(Seen::Known(200));
    let next = Run::new(&spec, &healthy)
        .status(plan.status)
        .at(T0 + 10_000)
        .plan();
    assert_eq!(
        step_state(&next, StepName::Verify),
        Some(StepState::Succeeded)
    );
}

#[test]
fn await_approval_shows_how_long_it_has_waited_and_never_escalates() {
    let spec = SpecBuilder::new().build();
    let world = stale_failback_world().build();
    let three_days = 3 * 24 * 60 * MINUTE;
    let status = operation_at(
        OperationPlan::FailbackStale,
        WEST,
        EAST,
        StepName::AwaitApproval,
        T0 - three_days,
    );
    let plan = Run::new(&spec, &world).status(status).plan();
    assert_eq!(plan.status.phase, Phase::WaitingForApproval);
    let approval = plan
        .status
        .conditions
        .iter()
        .find(|c| c.type_ == ct::APPROVAL_REQUIRED)
        .expect("ApprovalRequired");
    assert!(
        approval.message.contains("(waiting 72 h)"),
        "{}",
        approval.message
    );
}

#[test]
fn a_switchover_without_a_lag_datapoint_waits_a_bounded_time_then_relies_on_the_switchover_guarantee(
) {
    let spec = SpecBuilder::new().writer(WEST).build();
    let world = WorldBuilder::healthy().lag(None).build();
    let first = Run::new(&spec, &world).generation(2).plan();
    assert!(first.actions.is_empty(), "{:?}", first.actions);
    assert!(
        step_detail(&first, StepName::Preflight).contains("waiting up to 120 s"),
        "{}",
        step_detail(&first, StepName::Preflight)
    );
    let minute = Run::new(&spec, &world)
        .status(first.status.clone())
        .generation(2)
        .at(T0 + MINUTE)
        .plan();
    assert!(!operations(&minute).contains(&"SwitchoverGlobalCluster"));
    let later = Run::new(&spec, &world)
        .status(minute.status.clone())
        .generation(2)
        .at(T0 + 121_000)
        .plan();
    assert!(
        operations(&later).contains(&"SwitchoverGlobalCluster"),
        "{:?}",
        later.status.operation
    );
    assert_eq!(
        condition(&later, status::REPLICATION_LAG_UNKNOWN),
        ConditionStatus::True
    );
    let warning = later
        .status
        .conditions
        .iter()
        .find(|c| c.type_ == status::REPLICATION_LAG_UNKNOWN)
        .expect("warning");
    assert!(
        warning
            .message
            .contains("SynchronizationStatus (connected)"),
        "{}",
        warning.message
    );
    assert!(later
        .events
        .iter()
        .any(|e| e.reason == "ReplicationLagUnknown"));
    // No warning condition in a group that never needed one.
    let converged = Run::new(
        &SpecBuilder::new().build(),
        &WorldBuilder::healthy().build(),
    )
    .plan();
    assert!(!converged
        .status
        .conditions
        .iter()
        .any(|c| c.type_ == status::REPLICATION_LAG_UNKNOWN));
}

#[test]
fn without_a_lag_datapoint_a_switchover_still_needs_the_target_connected() {
    let spec = SpecBuilder::new().writer(WEST).build();
    let mut world = WorldBuilder::healthy().lag(None).build();
    if let Seen::Known(Some(global)) = &mut world.global {
        for member in &mut global.members {
            member.synchronization_status = None;
        }
    }
    let first = Run::new(&spec, &world).generation(2).plan();
    let later = Run::new(&spec, &world)
        .status(first.status)
        .generation(2)
        .at(T0 + 10 * MINUTE)
        .plan();
    assert!(later.actions.iter().all(|a| !matches!(
        a.action,
        Action::SwitchoverGlobalCluster { .. } | Action::FailoverGlobalCluster { .. }
    )));
}

#[test]
fn a_failover_never_proceeds_on_unknown_lag_without_allow_data_loss_however_long_it_waits() {
    let spec = SpecBuilder::new().writer(WEST).build();
    let world = WorldBuilder::healthy().down(EAST).lag(None).build();
    let first = Run::new(&spec, &world).generation(2).plan();
    let later = Run::new(&spec, &world)
        .status(first.status)
        .generation(2)
        .at(T0 + 60 * MINUTE)
        .plan();
    assert!(!operations(&later).contains(&"FailoverGlobalCluster"));
    assert_eq!(later.status.phase, Phase::Blocked);
}

#[test]
fn no_such_change_for_a_record_already_at_the_target_succeeds_after_the_propagation_allowance() {
    let spec = SpecBuilder::new().writer(WEST).build();
    let mut world = switched_over_world().build();
    world.dns_change = Some(Seen::Known(crate::observed::DnsChangeStatus::NoSuchChange));
    let status = dns_wait(T0 - 30_000, T0 - 30_000, Some("/change/FORGOTTEN"));
    let early = Run::new(&spec, &world).status(status).plan();
    assert_eq!(
        step_state(&early, StepName::WaitDnsInSync),
        Some(StepState::Running)
    );
    let detail = step_detail(&early, StepName::WaitDnsInSync);
    assert!(
        detail.contains("NoSuchChange") && detail.contains("30 s so far"),
        "{detail}"
    );
    let settled = Run::new(&spec, &world)
        .status(early.status)
        .at(T0 + 31_000)
        .plan();
    assert!(
        !operations(&settled).contains(&"ChangeResourceRecordSets"),
        "{:?}",
        settled.actions
    );
    assert_eq!(
        step_state(&settled, StepName::WaitDnsInSync),
        Some(StepState::Succeeded)
    );
}

#[test]
fn no_such_change_for_a_record_that_points_elsewhere_moves_dns_again() {
    let spec = SpecBuilder::new().writer(WEST).build();
    let mut world = switched_over_world().record_at(EAST).build();
    world.dns_change = Some(Seen::Known(crate::observed::DnsChangeStatus::NoSuchChange));
    let status = dns_wait(T0 - 5 * MINUTE, T0 - 5 * MINUTE, Some("/change/FORGOTTEN"));
    let reopened = Run::new(&spec, &world).status(status).plan();
    assert_eq!(
        step_state(&reopened, StepName::MoveDns),
        Some(StepState::Pending)
    );
    let next = Run::new(&spec, &world)
        .status(reopened.status)
        .at(T0 + 2_000)
        .plan();
    assert_eq!(operations(&next), ["ChangeResourceRecordSets"]);
}

#[test]
fn a_change_whose_id_was_lost_waits_for_propagation_instead_of_claiming_none_was_needed() {
    let spec = SpecBuilder::new().writer(WEST).build();
    let world = switched_over_world().build();
    let status = dns_wait(T0 - 5_000, T0 - 5_000, None);
    let plan = Run::new(&spec, &world).status(status).plan();
    assert_eq!(
        step_state(&plan, StepName::WaitDnsInSync),
        Some(StepState::Running)
    );
    assert!(step_detail(&plan, StepName::WaitDnsInSync).contains("never recorded"));
}

#[test]
fn scaling_succeeds_only_once_the_scalable_targets_are_read_at_the_wanted_range() {
    let spec = SpecBuilder::new().writer(WEST).build();
    let mut world = WorldBuilder::healthy().compute(WEST, 6, 6, 6, 24).build();
    for svc in &mut world.services {
        svc.scalable = None;
    }
    let plan = Run::new(&spec, &world).generation(2).plan();
    assert_eq!(
        step_state(&plan, StepName::ScaleUpTarget),
        Some(StepState::Running)
    );
    assert!(step_detail(&plan, StepName::ScaleUpTarget).contains("was not read"));
}

#[test]
fn fencing_that_cannot_be_confirmed_is_skipped_not_succeeded() {
    let spec = SpecBuilder::new().writer(WEST).allow_data_loss().build();
    let mut builder = WorldBuilder::healthy();
    if let Some(cluster) = &mut builder.region(EAST).cluster {
        cluster.status = "inaccessible-encryption-credentials".into();
    }
    let svc = builder.service(EAST);
    svc.ecs = Seen::Unreachable("RequestTimeout".to_string());
    svc.scalable = Some(Seen::Unreachable("RequestTimeout".to_string()));
    let world = builder.build();
    let plan = Run::new(&spec, &world).generation(2).plan();
    assert_eq!(
        plan.status.operation.as_ref().map(|o| o.type_),
        Some(OperationType::Failover)
    );
    assert_eq!(
        step_state(&plan, StepName::FenceSource),
        Some(StepState::Skipped)
    );
}

// ---- properties over random worlds ----

fn arb_membership() -> impl Strategy<Value = Membership> {
    prop_oneof![
        Just(Membership::Writer),
        Just(Membership::Secondary { synced: true }),
        Just(Membership::Secondary { synced: false }),
        Just(Membership::Detached),
        Just(Membership::Missing),
        Just(Membership::Unknown),
    ]
}

prop_compose! {
    fn arb_case()(
        writer_west in any::<bool>(),
        allow_data_loss in any::<bool>(),
        suspended in any::<bool>(),
        east in arb_membership(),
        west in arb_membership(),
        east_down in any::<bool>(),
        record_west in any::<bool>(),
        west_running in 0u32..8,
        lag in prop::option::of(0.0f64..20.0),
        in_flight in any::<bool>(),
        with_snapshots in any::<bool>(),
        generation in 1u64..4,
    ) -> (FailoverGroupSpec, ObservedWorld, u64) {
        let mut spec = SpecBuilder::new();
        if writer_west { spec = spec.writer(WEST); }
        if allow_data_loss { spec = spec.allow_data_loss(); }
        if suspended { spec = spec.suspended(); }
        let mut world = WorldBuilder::healthy()
            .membership(EAST, east)
            .membership(WEST, west)
            .lag(lag)
            .compute(WEST, 6, west_running, 6, 24);
        if east_down { world = world.down(EAST); }
        if record_west { world = world.record_at(WEST); }
        if in_flight { world = world.in_flight(); }
        if with_snapshots {
            world = world.snapshots(EAST, vec![snapshot("drctl-stale-app-primary-x", "manual", "available")]);
        }
        (spec.build(), world.build(), generation)
    }
}

proptest! {
    #[test]
    fn planner_safety_properties_hold_in_any_world((spec, world, generation) in arb_case()) {
        let plan = Run::new(&spec, &world).generation(generation).plan();
        if spec.suspended {
            prop_assert!(plan.actions.is_empty());
        }
        for planned in &plan.actions {
            match &planned.action {
                // Invariant 4.
                Action::ChangeRecord { region, .. } => {
                    prop_assert_eq!(world.writer_region(), Some(region.as_str()));
                    prop_assert!(steps::compute_shortfall(&spec, &world, region).is_empty());
                }
                // Invariant 3: data loss only when allowed.
                Action::FailoverGlobalCluster { allow_data_loss, .. } => {
                    prop_assert!(spec.allow_data_loss && *allow_data_loss);
                }
                // Invariant 2: nothing deleted in a first pass without an available snapshot.
                Action::DeleteCluster { .. } | Action::DeleteInstance { .. } => {
                    prop_assert!(false, "no delete without approval and snapshot in a first pass");
                }
                Action::SwitchoverGlobalCluster { .. } => {
                    prop_assert!(world.failover_in_flight().is_none());
                }
                _ => {}
            }
        }
        // One global operation at a time.
        let promotions = plan.actions.iter().filter(|a| matches!(
            a.action,
            Action::SwitchoverGlobalCluster { .. } | Action::FailoverGlobalCluster { .. }
        )).count();
        prop_assert!(promotions <= 1);
    }
}

proptest! {
    #[test]
    fn no_step_runs_past_its_deadline_while_the_group_reports_progress(
        (spec, world, generation) in arb_case(),
        later_s in 0i64..36_000,
    ) {
        let first = Run::new(&spec, &world).generation(generation).plan();
        let now = T0 + later_s * 1000;
        let plan = Run::new(&spec, &world)
            .status(first.status.clone())
            .generation(generation)
            .at(now)
            .plan();
        let Some(op) = &plan.status.operation else { return Ok(()) };
        for step in &op.steps {
            let (Some(deadline), Some(started)) = (deadlines::deadline(step.name), step.started_at) else {
                continue;
            };
            let waited = deadlines::elapsed_between(started.millis(), now);
            if step.state == StepState::Running && waited > deadline.after {
                prop_assert!(
                    !matches!(plan.status.phase, Phase::Progressing | Phase::Converged),
                    "{} running for {:?} (deadline {:?}) in phase {:?}",
                    step.name, waited, deadline.after, plan.status.phase
                );
            }
        }
    }

    #[test]
    fn recreate_secondary_succeeds_only_on_a_member_and_deletes_only_what_it_provably_made(
        // Weighted towards the dangerous corner: an unjoined cluster, everything in place.
        east in prop_oneof![3 => Just(Membership::Detached), 1 => arb_membership()],
        made_here in prop::bool::weighted(0.8),
        joined in any::<bool>(),
        global_read in prop::bool::weighted(0.8),
        foreign_instance in prop::bool::weighted(0.2),
        snapshot_ready in prop::bool::weighted(0.8),
    ) {
        let created_at = T0 - 10 * MINUTE;
        let instance_name = if foreign_instance { "reporting-replica" } else { "app-primary-instance-1" };
        let kept = steps::rds_identifier(&format!("drctl-unjoined-app-primary-{created_at}"));
        let snapshots = if snapshot_ready { vec![snapshot(&kept, "manual", "available")] } else { vec![] };
        let mut world = stale_failback_world()
            .membership(EAST, east)
            .instances(EAST, vec![instance(instance_name, "available")])
            .snapshots(EAST, snapshots)
            .build();
        if !global_read {
            world.global = Seen::Unreachable("Throttling".to_string());
        }
        let mut status = rebuild_at(StepName::RecreateSecondary, made_here.then_some(created_at));
        if joined {
            note_in(&mut status, steps::note::SECONDARY_JOINED_AT, created_at + MINUTE);
        }
        let spec = SpecBuilder::new().build();
        let plan = Run::new(&spec, &world).status(status).plan();
        let member = matches!(east, Membership::Writer | Membership::Secondary { .. });
        if step_state(&plan, StepName::RecreateSecondary) == Some(StepState::Succeeded) {
            prop_assert!(member && global_read, "{:?}", east);
        }
        let deletes = plan.actions.iter().any(|a| matches!(
            a.action,
            Action::DeleteCluster { .. } | Action::DeleteInstance { .. } | Action::DisableDeletionProtection { .. }
        ));
        if deletes {
            prop_assert!(
                made_here && !joined && global_read && !foreign_instance && snapshot_ready
                    && east == Membership::Detached,
                "deleted: east {:?} made {} joined {} global {} foreign {} snapshot {}",
                east, made_here, joined, global_read, foreign_instance, snapshot_ready
            );
        }
    }
}

/// The target's services as a world rebuilt after a restart (or scaled in by someone) shows
/// them: standby capacity, nothing asking for more.
fn scale_up_lost_world() -> WorldBuilder {
    WorldBuilder::healthy()
        .writer(WEST)
        .record_at(EAST)
        .compute(WEST, 1, 1, 1, 24)
}

#[test]
fn wait_compute_ready_whose_scale_up_was_undone_runs_scale_up_target_again_instead_of_waiting() {
    let spec = SpecBuilder::new().writer(WEST).build();
    let world = scale_up_lost_world().build();
    let status = operation_at(
        OperationPlan::Switchover,
        EAST,
        WEST,
        StepName::WaitComputeReady,
        T0 - 2_000,
    );
    let reopened = Run::new(&spec, &world).status(status).plan();
    assert_eq!(
        step_state(&reopened, StepName::ScaleUpTarget),
        Some(StepState::Pending)
    );
    assert!(
        step_detail(&reopened, StepName::ScaleUpTarget)
            .contains("desired count 1, below its active 6"),
        "{}",
        step_detail(&reopened, StepName::ScaleUpTarget)
    );
    let next = Run::new(&spec, &world)
        .status(reopened.status)
        .at(T0 + 2_000)
        .plan();
    assert!(
        operations(&next).contains(&"UpdateService"),
        "{:?}",
        next.actions
    );
}

#[test]
fn move_dns_whose_target_was_scaled_back_in_reopens_the_compute_steps_instead_of_waiting() {
    let spec = SpecBuilder::new().writer(WEST).build();
    let world = scale_up_lost_world().build();
    let status = operation_at(
        OperationPlan::Switchover,
        EAST,
        WEST,
        StepName::MoveDns,
        T0 - 2_000,
    );
    let first = Run::new(&spec, &world).status(status).plan();
    assert_eq!(
        step_state(&first, StepName::WaitComputeReady),
        Some(StepState::Pending)
    );
    assert!(!operations(&first).contains(&"ChangeResourceRecordSets"));
    let second = Run::new(&spec, &world)
        .status(first.status)
        .at(T0 + 2_000)
        .plan();
    let second_actions = format!("{:?}", second.actions);
    let scaled_at_once = operations(&second).contains(&"UpdateService");
    let third = Run::new(&spec, &world)
        .status(second.status)
        .at(T0 + 4_000)
        .plan();
    assert!(
        scaled_at_once || operations(&third).contains(&"UpdateService"),
        "{second_actions} then {:?}",
        third.actions
    );
}

#[test]
fn wait_compute_ready_still_waits_while_the_tasks_are_asked_for_and_starting() {
    let spec = SpecBuilder::new().writer(WEST).build();
    let world = WorldBuilder::healthy()
        .writer(WEST)
        .record_at(EAST)
        .compute(WEST, 6, 2, 6, 24)
        .build();
    let status = operation_at(
        OperationPlan::Switchover,
        EAST,
        WEST,
        StepName::WaitComputeReady,
        T0 - 2_000,
    );
    let plan = Run::new(&spec, &world).status(status).plan();
    assert_eq!(
        step_state(&plan, StepName::ScaleUpTarget),
        Some(StepState::Succeeded)
    );
    assert!(plan.actions.is_empty(), "{:?}", plan.actions);
}

// --- Automatic failover (docs/design-contract.md §7.3) ---------------------------------------

fn auto_policy() -> drctl_schema::AutoFailoverSpec {
    drctl_schema::AutoFailoverSpec {
        enabled: true,
        after_seconds: 60,
        max_data_loss_seconds: 5,
        cooldown_seconds: 3600,
        witnesses: drctl_schema::WitnessesSpec {
            alarms: vec![drctl_schema::AlarmRef {
                region: WEST.into(),
                name: "east-synthetics".into(),
            }],
        },
        min_witnesses: None,
    }
}

fn witness_in_alarm() -> crate::planner::auto_failover::WitnessReading {
    crate::planner::auto_failover::WitnessReading {
        region: WEST.into(),
        name: "east-synthetics".into(),
        state: Seen::Known(Some(drctl_cloud::AlarmState::Alarm)),
    }
}

/// The previous pass saw us-east-1 impaired since T0, with a lag of 0.8 s measured before.
fn impaired_since_t0() -> FailoverGroupStatus {
    FailoverGroupStatus {
        observed: Some(drctl_schema::ObservedSummary {
            writer: Some(EAST.into()),
            replication_lag_seconds: Some(0.8),
            ..Default::default()
        }),
        auto_failover: Some(drctl_schema::AutoFailoverStatus {
            state: "Watching".into(),
            impaired_region: Some(EAST.into()),
            impaired_since: Some(Timestamp::from_millis(T0)),
            lag_before_outage_seconds: Some(0.8),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[test]
fn without_auto_failover_an_outage_is_never_decided_by_the_planner() {
    let spec = SpecBuilder::new().build();
    let mut world = WorldBuilder::healthy().down(EAST).build();
    world.witnesses = vec![witness_in_alarm()];
    let plan = Run::new(&spec, &world)
        .status(impaired_since_t0())
        .at(T0 + 10 * MINUTE)
        .plan();
    assert_eq!(plan.decision, None);
    assert_eq!(plan.status.auto_failover, None);
    assert!(plan
        .actions
        .iter()
        .all(|a| a.action.operation() != "FailoverGlobalCluster"));
}

#[test]
fn an_armed_policy_counts_down_then_decides_once_the_outage_lasted_after_seconds() {
    let mut spec = SpecBuilder::new().build();
    spec.auto_failover = Some(auto_policy());
    let mut world = WorldBuilder::healthy().down(EAST).lag(None).build();
    world.witnesses = vec![witness_in_alarm()];
    let early = Run::new(&spec, &world)
        .status(impaired_since_t0())
        .at(T0 + 37_000)
        .plan();
    assert_eq!(early.decision, None);
    let memory = early.status.auto_failover.clone().expect("memory");
    assert!(
        memory
            .message
            .contains("automatic failover in 23 s unless us-east-1 recovers"),
        "{memory:?}"
    );
    assert!(memory.message.contains("drctl suspend app"), "{memory:?}");
    assert!(
        early.requeue <= Duration::from_secs(5),
        "{:?}",
        early.requeue
    );
    let late = Run::new(&spec, &world)
        .status(impaired_since_t0())
        .at(T0 + 60_000)
        .plan();
    let decision = late.decision.expect("a decision");
    assert_eq!((decision.from.as_str(), decision.to.as_str()), (EAST, WEST));
    assert_eq!(decision.lag_seconds, 0.8);
    // The planner itself never acts on it: the controller records the spec edit first.
    assert!(late
        .actions
        .iter()
        .all(|a| a.action.operation() != "FailoverGlobalCluster"));
}

#[test]
fn a_suspended_group_never_decides() {
    let mut spec = SpecBuilder::new().build();
    spec.auto_failover = Some(auto_policy());
    spec.suspended = true;
    let mut world = WorldBuilder::healthy().down(EAST).build();
    world.witnesses = vec![witness_in_alarm()];
    let plan = Run::new(&spec, &world)
        .status(impaired_since_t0())
        .at(T0 + 10 * MINUTE)
        .plan();
    assert_eq!(plan.decision, None);
}

#[test]
fn lag_over_the_budget_blocks_the_group_with_the_command() {
    let mut spec = SpecBuilder::new().build();
    spec.auto_failover = Some(auto_policy());
    let mut world = WorldBuilder::healthy().down(EAST).lag(None).build();
    world.witnesses = vec![witness_in_alarm()];
    let mut status = impaired_since_t0();
    if let Some(m) = status.auto_failover.as_mut() {
        m.lag_before_outage_seconds = Some(30.0);
    }
    let plan = Run::new(&spec, &world)
        .status(status)
        .at(T0 + 61_000)
        .plan();
    assert_eq!(plan.decision, None);
    assert_eq!(plan.status.phase, Phase::Blocked);
    let ready = ready_message(&plan);
    assert!(
        ready.contains("30.0 s") && ready.contains("budget of 5 s"),
        "{ready}"
    );
    assert!(
        ready.contains("drctl failover app --to us-west-2 --allow-data-loss"),
        "{ready}"
    );
    assert!(plan
        .events
        .iter()
        .any(|e| e.reason == "AutoFailoverBlocked"));
}

fn policy_decision(to: &str) -> drctl_schema::AutoFailoverDecision {
    drctl_schema::AutoFailoverDecision {
        at: Timestamp::from_millis(T0),
        from: EAST.into(),
        to: to.into(),
        resource_version: "2".into(),
        generation: 2,
        lag_seconds: 0.8,
        max_data_loss_seconds: 5,
        evidence: Vec::new(),
    }
}

#[test]
fn the_policys_allowance_runs_todays_failover_without_spec_allow_data_loss() {
    let mut spec = SpecBuilder::new().writer(WEST).build();
    spec.auto_failover = Some(auto_policy());
    assert!(!spec.allow_data_loss);
    let world = WorldBuilder::healthy().down(EAST).lag(None).build();
    let decision = policy_decision(WEST);
    let plan = Run::new(&spec, &world)
        .status(impaired_since_t0())
        .generation(2)
        .allowance(&decision)
        .plan();
    let op = plan.status.operation.as_ref().expect("operation");
    assert_eq!(op.type_, OperationType::Failover);
    assert!(
        op.notes.contains_key(note::DATA_LOSS_ALLOWED_BY),
        "{:?}",
        op.notes
    );
    assert!(operations(&plan).contains(&"FailoverGlobalCluster"));
}

#[test]
fn without_the_allowance_the_same_edit_is_blocked_as_today() {
    let mut spec = SpecBuilder::new().writer(WEST).build();
    spec.auto_failover = Some(auto_policy());
    let world = WorldBuilder::healthy().down(EAST).lag(None).build();
    let plan = Run::new(&spec, &world)
        .status(impaired_since_t0())
        .generation(2)
        .plan();
    assert!(plan.status.operation.is_none());
    assert_eq!(plan.status.phase, Phase::Blocked);
    // An allowance for another region is no allowance.
    let other = policy_decision(EAST);
    let plan = Run::new(&spec, &world)
        .status(impaired_since_t0())
        .generation(2)
        .allowance(&other)
        .plan();
    assert!(plan.status.operation.is_none());
}

// ---------------------------------------------------------------------------------------------
// spec.dns.routing: routingControl and healthCheck (docs/design-contract.md §7.2).
// ---------------------------------------------------------------------------------------------

mod routing_modes {
    use drctl_cloud::{ClusterEndpoint, RoutingControlState};
    use drctl_schema::{DnsRouting, RoutingControlSpec};

    use super::*;
    use crate::observed::RoutingView;
    use crate::planner::steps::{evaluate, new_operation, OperationPlan, StepContext, StepEval};

    const CLUSTER: &str = "arn:aws:route53-recovery-control::123456789012:cluster/c1";

    fn control(region: &str) -> String {
        format!("arn:aws:route53-recovery-control::123456789012:controlpanel/p1/routingcontrol/{region}")
    }

    fn routing_spec(writer: &str) -> FailoverGroupSpec {
        let mut spec = SpecBuilder::new().build();
        spec.writer = writer.to_string();
        spec.dns.routing = DnsRouting::RoutingControl;
        spec.dns.routing_control = Some(RoutingControlSpec {
            cluster_arn: CLUSTER.to_string(),
            controls: [EAST, WEST]
                .iter()
                .map(|r| (r.to_string(), control(r)))
                .collect(),
        });
        spec
    }

    fn endpoints() -> Vec<ClusterEndpoint> {
        ["us-west-2", "eu-west-1", "us-east-1"]
            .iter()
            .map(|r| ClusterEndpoint {
                region: r.to_string(),
                endpoint: format!("https://arc.{r}.example/v1"),
            })
            .collect()
    }

    /// West is the writer with its compute up; the controls are `on` (region On alone).
    fn world_with(on: Seen<&str>, problems: Option<Vec<String>>) -> ObservedWorld {
        let mut world = WorldBuilder::healthy()
            .writer(WEST)
            .compute(WEST, 6, 6, 6, 24)
            .build();
        world.record = Seen::Known(None);
        let states = match on {
            Seen::Known(on) => Seen::Known(
                [EAST, WEST]
                    .iter()
                    .map(|r| {
                        let s = if *r == on {
                            RoutingControlState::On
                        } else {
                            RoutingControlState::Off
                        };
                        (r.to_string(), s)
                    })
                    .collect(),
            ),
            Seen::Unreachable(e) => Seen::Unreachable(e),
        };
        world.routing = Some(RoutingView {
            states,
            endpoints: endpoints(),
            refreshed: None,
            setup_problems: problems.or(Some(Vec::new())),
        });
        world
    }

    fn move_dns(spec: &FailoverGroupSpec, world: &ObservedWorld) -> StepEval {
        let now = Timestamp::from_millis(1_000_000);
        let op = new_operation(OperationPlan::Failover, "op-1".into(), EAST, WEST, 2, now);
        let ctx = StepContext {
            name: "app",
            spec,
            world,
            op: &op,
            approved_by: None,
            last_known_lag: None,
            lag_unknown_for: None,
            now,
        };
        evaluate(StepName::MoveDns, &ctx)
    }

    #[test]
    fn move_dns_is_one_update_with_the_target_on_and_the_source_off() {
        let spec = routing_spec(WEST);
        let eval = move_dns(&spec, &world_with(Seen::Known(EAST), None));
        let StepEval::Act(actions, _) = eval else {
            panic!("expected an action, got {eval:?}")
        };
        assert_eq!(actions.len(), 1, "{actions:?}");
        let Action::UpdateRoutingControlStates {
            cluster_arn,
            endpoints: sent_to,
            updates,
            region,
        } = &actions[0]
        else {
            panic!("{actions:?}")
        };
        assert_eq!(cluster_arn, CLUSTER);
        assert_eq!(region, WEST);
        assert_eq!(sent_to, &endpoints(), "in the order observation found them");
        let state = |r: &str| {
            updates
                .iter()
                .find(|u| u.control_arn == control(r))
                .map(|u| u.state)
        };
        assert_eq!(state(WEST), Some(RoutingControlState::On));
        assert_eq!(state(EAST), Some(RoutingControlState::Off));
    }

    #[test]
    fn move_dns_is_done_when_the_targets_control_reads_on_alone() {
        let spec = routing_spec(WEST);
        assert!(matches!(
            move_dns(&spec, &world_with(Seen::Known(WEST), None)),
            StepEval::Done(_)
        ));
    }

    #[test]
    fn unreadable_controls_make_move_dns_wait_without_acting() {
        let spec = routing_spec(WEST);
        let eval = move_dns(
            &spec,
            &world_with(Seen::Unreachable("every endpoint failed".to_string()), None),
        );
        assert!(
            matches!(eval, StepEval::Wait(ref m) if m.contains("every endpoint failed")),
            "{eval:?}"
        );
    }

    #[test]
    fn a_broken_setup_blocks_move_dns_naming_the_problem() {
        let spec = routing_spec(WEST);
        let world = world_with(
            Seen::Known(EAST),
            Some(vec![
                "the SECONDARY failover record for us-west-2 carries no health check".into(),
            ]),
        );
        let eval = move_dns(&spec, &world);
        assert!(
            matches!(eval, StepEval::Blocked(ref m) if m.contains("carries no health check")),
            "{eval:?}"
        );
    }

    #[test]
    fn the_invariant_4_gate_holds_for_routing_controls_too() {
        let spec = routing_spec(WEST);
        let mut world = world_with(Seen::Known(EAST), None);
        world = {
            let routing = world.routing.take();
            let mut w = WorldBuilder::healthy()
                .writer(WEST)
                .compute(WEST, 6, 2, 6, 24)
                .build();
            w.routing = routing;
            w
        };
        assert!(
            matches!(move_dns(&spec, &world), StepEval::Wait(ref m) if m.contains("compute not ready"))
        );
    }

    #[test]
    fn steady_state_sends_traffic_to_the_owner_through_the_controls_not_route53() {
        let spec = routing_spec(WEST);
        let plan = Run::new(&spec, &world_with(Seen::Known(EAST), None)).plan();
        assert!(
            plan.actions
                .iter()
                .all(|a| !matches!(a.action, Action::ChangeRecord { .. })),
            "{:?}",
            plan.actions
        );
        assert!(plan
            .actions
            .iter()
            .any(|a| matches!(a.action, Action::UpdateRoutingControlStates { .. })));
        let moved = Run::new(&spec, &world_with(Seen::Known(WEST), None)).plan();
        assert!(
            moved.actions.iter().all(|a| !matches!(
                a.action,
                Action::ChangeRecord { .. } | Action::UpdateRoutingControlStates { .. }
            )),
            "{:?}",
            moved.actions
        );
        assert!(status::is_true(&moved.status.conditions, ct::DNS_READY));
    }

    #[test]
    fn a_health_check_group_never_gets_a_dns_change_and_says_why() {
        let mut spec = SpecBuilder::new().build();
        spec.writer = WEST.to_string();
        spec.dns.routing = DnsRouting::HealthCheck;
        let world = WorldBuilder::healthy()
            .writer(WEST)
            .compute(WEST, 6, 6, 6, 24)
            .build();
        let plan = Run::new(&spec, &world).plan();
        assert!(
            plan.actions
                .iter()
                .all(|a| !matches!(a.action, Action::ChangeRecord { .. })),
            "{:?}",
            plan.actions
        );
        let dns = plan
            .status
            .conditions
            .iter()
            .find(|c| c.type_ == ct::DNS_READY)
            .unwrap();
        // Nothing read of the health checks yet: unknown, and said so (no longer a refusal:
        // routing healthCheck is observed, tests/app_tier.rs's health-check tests).
        assert_eq!(dns.status, ConditionStatus::Unknown);
        assert_eq!(dns.reason, "HealthCheckStatusUnknown");
    }
}

mod after_failover;
mod app_tier;
mod health_check;
mod rds_replica;
mod supersede;
