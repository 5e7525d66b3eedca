//! spec.dependencies in the simulated world: the controller reads the buckets and tables of
//! the groups that declare them (and only those, and not on every pass), reports
//! `DependenciesReady`, lists them in a Preflight without ever blocking on them, and puts
//! their lag in the Blocked message of a data-loss decision. Virtual time only.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use drctl::metrics::Metrics;
use drctl::runtime::{Controller, RunMode, RuntimeConfig};
use drctl::simulation::example_group;
use drctl_cloud::VersioningStatus;
use drctl_schema::{
    condition_type as ct, Condition, ConditionStatus, DependenciesSpec, FailoverGroup,
    GlobalTableDependency, Phase, S3ReplicationDependency, StepName,
};
use drctl_sim::{SimConfig, SimWorld};
use drctl_state::Store;
use tokio_util::sync::CancellationToken;

const LEASE: &str = "drctl-controller";
const EAST: &str = "us-east-1";
const WEST: &str = "us-west-2";
const BUCKET: &str = "shop-assets-east";
const TABLE: &str = "shop-sessions";

const RDS_EXAMPLE: &str = include_str!("../../examples/failovergroup-rds.yaml");

fn group_with_dependencies() -> FailoverGroup {
    with_dependencies(example_group().unwrap())
}

/// The rdsReplica example (a DB instance and its cross-region read replica) with the same
/// dependencies.
fn rds_group_with_dependencies() -> FailoverGroup {
    let group = drctl_schema::parse_documents(RDS_EXAMPLE.as_bytes(), "failovergroup-rds.yaml")
        .unwrap()
        .remove(0);
    assert_eq!(
        group.spec.database.kind,
        drctl_schema::DatabaseKind::RdsReplica
    );
    with_dependencies(group)
}

fn with_dependencies(mut group: FailoverGroup) -> FailoverGroup {
    group.spec.dependencies = Some(DependenciesSpec {
        s3_replication: Some(vec![S3ReplicationDependency {
            bucket: BUCKET.into(),
            region: EAST.into(),
            destination_bucket: "shop-assets-west".into(),
        }]),
        dynamodb_global_tables: Some(vec![GlobalTableDependency {
            table: TABLE.into(),
            regions: vec![EAST.into(), WEST.into()],
        }]),
    });
    group
}

struct Harness {
    world: Arc<SimWorld>,
    operator: Arc<dyn Store>,
    name: String,
}

impl Harness {
    async fn new(group: FailoverGroup) -> Harness {
        let world = SimWorld::new(SimConfig::new(7));
        world.provision(&group.spec).unwrap();
        let operator = world.store_as("operator");
        operator.init().await.unwrap();
        let mut doc = group.clone();
        doc.status = None;
        operator.create(&doc).await.unwrap();
        Harness {
            world,
            operator,
            name: group.metadata.name,
        }
    }

    fn controller(&self) -> Controller {
        let mut config = RuntimeConfig::new("drctl-a", LEASE);
        config.planner.operation_poll = Duration::from_secs(1);
        Controller::new(
            self.world.store_as("drctl-a"),
            self.world.cloud("drctl-a"),
            config,
            Metrics::new(),
        )
    }

    /// One pass of a fresh controller (`--once`): a full observation.
    async fn once(&self) {
        self.controller()
            .run(RunMode::Once, None, CancellationToken::new())
            .await
            .unwrap();
    }

    /// The controller running for `virtual_time`.
    async fn run_for(&self, virtual_time: Duration) {
        let controller = self.controller();
        let stop = CancellationToken::new();
        let _ = controller
            .run(RunMode::Forever, Some(virtual_time), stop)
            .await;
    }

    async fn doc(&self) -> FailoverGroup {
        self.operator.get(&self.name).await.unwrap().unwrap()
    }

    async fn condition(&self) -> Option<Condition> {
        self.doc()
            .await
            .status
            .unwrap_or_default()
            .conditions
            .into_iter()
            .find(|c| c.type_ == ct::DEPENDENCIES_READY)
    }

    fn calls_of(&self, operation: &str) -> usize {
        self.world
            .calls()
            .iter()
            .filter(|c| c.operation == operation)
            .count()
    }

    async fn move_writer(&self, to: &str) {
        let mut doc = self.doc().await;
        let rv = doc.metadata.resource_version.clone().unwrap();
        doc.spec.writer = to.to_string();
        doc.spec.dns_owner = Some(to.to_string());
        self.operator.update(&doc, &rv).await.unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn provisioned_dependencies_are_ready_and_breaking_the_bucket_names_it() {
    let h = Harness::new(group_with_dependencies()).await;
    h.once().await;
    let c = h.condition().await.expect("DependenciesReady is set");
    assert_eq!(c.status, ConditionStatus::True, "{c:?}");
    assert!(
        c.message
            .contains("bucket shop-assets-east replicates to shop-assets-west"),
        "{c:?}"
    );

    h.world.delete_bucket_replication(BUCKET);
    h.once().await;
    let c = h.condition().await.unwrap();
    assert_eq!(c.status, ConditionStatus::False, "{c:?}");
    assert_eq!(
        c.message,
        "bucket shop-assets-east: no replication configuration"
    );
    // Reported, never changed: the group itself stays converged.
    assert_eq!(h.doc().await.status.unwrap().phase, Phase::Converged);
}

#[tokio::test(start_paused = true)]
async fn a_removed_replica_and_suspended_versioning_are_named() {
    let h = Harness::new(group_with_dependencies()).await;
    h.world.remove_table_replica(TABLE, WEST);
    h.world
        .set_bucket_versioning("shop-assets-west", VersioningStatus::Suspended);
    h.once().await;
    let c = h.condition().await.unwrap();
    assert_eq!(c.status, ConditionStatus::False, "{c:?}");
    assert!(
        c.message
            .contains("table shop-sessions: no ACTIVE replica in us-west-2"),
        "{c:?}"
    );
    assert!(
        c.message
            .contains("destination bucket shop-assets-west: versioning Suspended"),
        "{c:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_dead_region_makes_the_condition_unknown_naming_what_and_why() {
    let h = Harness::new(group_with_dependencies()).await;
    h.once().await;
    h.world.region_outage(WEST);
    h.once().await;
    let c = h.condition().await.unwrap();
    assert_eq!(c.status, ConditionStatus::Unknown, "{c:?}");
    assert!(
        c.message
            .contains("table shop-sessions: unreadable in us-west-2")
            && c.message.contains("RequestTimeout"),
        "{c:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_group_without_dependencies_makes_no_dependency_call_and_has_no_condition() {
    let h = Harness::new(example_group().unwrap()).await;
    h.run_for(Duration::from_secs(600)).await;
    assert_eq!(h.calls_of("GetBucketReplication"), 0);
    assert_eq!(h.calls_of("GetBucketVersioning"), 0);
    assert_eq!(h.calls_of("DescribeTable"), 0);
    assert!(h.condition().await.is_none());
}

#[tokio::test(start_paused = true)]
async fn a_converged_group_reads_its_dependencies_on_full_passes_only() {
    let h = Harness::new(group_with_dependencies()).await;
    h.run_for(Duration::from_secs(600)).await;
    let reads = h.calls_of("GetBucketReplication");
    let passes = h.calls_of("DescribeGlobalClusters");
    // Converged: a light pass every 30 s, a full one every tenth, so 10 minutes hold about
    // 20 passes and 2 or 3 full ones.
    assert!(passes >= 15, "{passes} passes");
    assert!((1..=3).contains(&reads), "{reads} reads in {passes} passes");
}

#[tokio::test(start_paused = true)]
async fn a_switchovers_preflight_lists_broken_dependencies_and_does_not_block_on_them() {
    preflight_lists_broken_dependencies(group_with_dependencies(), 900).await;
}

#[tokio::test(start_paused = true)]
async fn an_rds_replica_switchovers_preflight_lists_broken_dependencies_and_does_not_block_on_them()
{
    // The switch then rebuilds the old primary; approving its deletion by policy lets the
    // operation end within the run.
    let mut group = rds_group_with_dependencies();
    group.spec.failback.approval = drctl_schema::Approval::Automatic;
    preflight_lists_broken_dependencies(group, 3600).await;
}

async fn preflight_lists_broken_dependencies(group: FailoverGroup, run_seconds: u64) {
    let h = Harness::new(group).await;
    h.world.delete_bucket_replication(BUCKET);
    h.once().await;
    h.move_writer(WEST).await;
    h.run_for(Duration::from_secs(run_seconds)).await;
    let status = h.doc().await.status.unwrap();
    assert_eq!(status.phase, Phase::Converged, "{:?}", status.conditions);
    let op = status.last_operation.expect("the switchover ran");
    let preflight = op
        .steps
        .iter()
        .find(|s| s.name == StepName::Preflight)
        .unwrap();
    let detail = preflight.detail.clone().unwrap_or_default();
    assert!(
        detail.contains("reported, not moved by drctl")
            && detail.contains("bucket shop-assets-east: no replication configuration"),
        "{detail}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_blocked_message_of_a_data_loss_decision_includes_the_dependencies_lag() {
    blocked_message_includes_the_dependencies_lag(group_with_dependencies()).await;
}

#[tokio::test(start_paused = true)]
async fn the_blocked_message_of_an_rds_replica_data_loss_decision_includes_the_dependencies_lag() {
    blocked_message_includes_the_dependencies_lag(rds_group_with_dependencies()).await;
}

async fn blocked_message_includes_the_dependencies_lag(group: FailoverGroup) {
    let h = Harness::new(group).await;
    h.world
        .set_table_replication_latency(TABLE, EAST, Duration::from_millis(2500));
    h.once().await;
    h.world.region_outage(EAST);
    h.move_writer(WEST).await;
    h.run_for(Duration::from_secs(180)).await;
    let status = h.doc().await.status.unwrap();
    assert_eq!(status.phase, Phase::Blocked, "{:?}", status.conditions);
    let ready = status
        .conditions
        .iter()
        .find(|c| c.type_ == ct::READY)
        .unwrap();
    assert!(
        ready.message.contains("--allow-data-loss")
            && ready
                .message
                .contains("replication latency us-west-2 -> us-east-1 2.5 s"),
        "{}",
        ready.message
    );
}
