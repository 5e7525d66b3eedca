//! spec.database.kind rdsReplica in the simulated world: a DB instance pair behind the
//! RdsInstances and InstanceReplicaLag ports (sim/src/rds_instance.rs).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use drctl_cloud::{CreateReadReplica, ErrorCategory, RdsInstanceStatus};
use drctl_schema::parse_documents;
use drctl_sim::{SimConfig, SimWorld};

const EAST: &str = "us-east-1";
const WEST: &str = "us-west-2";
const RDS_EXAMPLE: &str = include_str!("../../examples/failovergroup-rds.yaml");
const WEST_KEY: &str =
    "arn:aws:kms:us-west-2:111122223333:key/mrk-0123456789abcdef0123456789abcdef";

fn world() -> Arc<SimWorld> {
    let group = parse_documents(RDS_EXAMPLE.as_bytes(), "rds.yaml")
        .unwrap()
        .remove(0);
    let world = SimWorld::new(SimConfig::new(7));
    world.provision(&group.spec).unwrap();
    world
}

fn replica_request(kms_key_id: Option<&str>) -> CreateReadReplica {
    CreateReadReplica {
        region: WEST.to_string(),
        identifier: "shop-db-extra".to_string(),
        source_region: EAST.to_string(),
        source_instance_arn: "arn:aws:rds:us-east-1:111122223333:db:shop-db".to_string(),
        instance_class: None,
        kms_key_id: kms_key_id.map(str::to_string),
        db_subnet_group: None,
        vpc_security_group_ids: Vec::new(),
    }
}

#[tokio::test(start_paused = true)]
async fn a_provisioned_pair_is_a_primary_and_its_replicating_cross_region_replica() {
    let world = world();
    let cloud = world.cloud("t");
    let primary = cloud
        .rds_instances
        .describe_db_instance(EAST, "shop-db")
        .await
        .unwrap()
        .unwrap();
    let replica = cloud
        .rds_instances
        .describe_db_instance(WEST, "shop-db-replica")
        .await
        .unwrap()
        .unwrap();
    assert!(!primary.is_replica());
    assert!(replica.replicates_from(&primary), "{replica:?}");
    assert!(primary.read_replicas.contains(&replica.arn));
    // No application writes: the replica has everything.
    assert_eq!(
        cloud
            .replica_lag
            .replica_lag(WEST, "shop-db-replica")
            .await
            .unwrap(),
        Some(0.0)
    );
    // Aurora's listing does not show the pair's hidden tree.
    assert!(cloud
        .aurora
        .describe_global_clusters(EAST)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test(start_paused = true)]
async fn promotion_breaks_the_link_at_once_and_takes_minutes_to_finish() {
    let world = world();
    let cloud = world.cloud("t");
    cloud
        .rds_instances
        .promote_read_replica(WEST, "shop-db-replica")
        .await
        .unwrap();
    let promoting = cloud
        .rds_instances
        .describe_db_instance(WEST, "shop-db-replica")
        .await
        .unwrap()
        .unwrap();
    assert!(!promoting.is_replica());
    assert_eq!(promoting.status, RdsInstanceStatus::Modifying);
    let again = cloud
        .rds_instances
        .promote_read_replica(WEST, "shop-db-replica")
        .await
        .unwrap_err();
    assert_eq!(again.code, "InvalidDBInstanceState", "{again}");
    tokio::time::sleep(Duration::from_secs(600)).await;
    let promoted = cloud
        .rds_instances
        .describe_db_instance(WEST, "shop-db-replica")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(promoted.status, RdsInstanceStatus::Available);
    let old = cloud
        .rds_instances
        .describe_db_instance(EAST, "shop-db")
        .await
        .unwrap()
        .unwrap();
    assert!(old.read_replicas.is_empty(), "{old:?}");
    assert!(!old.is_replica());
}

#[tokio::test(start_paused = true)]
async fn an_encrypted_source_needs_a_kms_key_of_the_replicas_own_region() {
    let world = world();
    let cloud = world.cloud("t");
    let none = cloud
        .rds_instances
        .create_read_replica(&replica_request(None))
        .await
        .unwrap_err();
    assert_eq!(none.category, ErrorCategory::NeedsSpecChange, "{none}");
    let east_key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let foreign = cloud
        .rds_instances
        .create_read_replica(&replica_request(Some(east_key)))
        .await
        .unwrap_err();
    assert_eq!(foreign.code, "KMSKeyNotAccessibleFault", "{foreign}");
    cloud
        .rds_instances
        .create_read_replica(&replica_request(Some(WEST_KEY)))
        .await
        .unwrap();
    let created = cloud
        .rds_instances
        .describe_db_instance(WEST, "shop-db-extra")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(created.status, RdsInstanceStatus::Creating);
    let exists = cloud
        .rds_instances
        .create_read_replica(&replica_request(Some(WEST_KEY)))
        .await
        .unwrap_err();
    assert_eq!(exists.code, "DBInstanceAlreadyExists");
}

#[tokio::test(start_paused = true)]
async fn a_deleted_instance_keeps_its_manual_snapshot_and_is_gone() {
    let world = world();
    let cloud = world.cloud("t");
    cloud
        .rds_instances
        .promote_read_replica(WEST, "shop-db-replica")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(600)).await;
    cloud
        .rds_instances
        .create_db_snapshot(EAST, "shop-db", "drctl-stale-shop-db-op")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3600)).await;
    cloud
        .rds_instances
        .delete_db_instance(EAST, "shop-db")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(
        cloud
            .rds_instances
            .describe_db_instance(EAST, "shop-db")
            .await
            .unwrap(),
        None
    );
    let snapshots = cloud
        .rds_instances
        .describe_db_snapshots(EAST, "shop-db")
        .await
        .unwrap();
    assert_eq!(snapshots.len(), 1, "{snapshots:?}");
}
