//! spec.database.kind rdsReplica: the RDS instance adapters (drctl_cloud::aws, RdsInstances
//! and InstanceReplicaLag) on the wire, against moto on loopback. The world is built and
//! checked by boto3 (tests/moto/fixture_rds.py), never by drctl; moto's PromoteReadReplica
//! is made to break the link as RDS does (tests/moto/ext_rds_replica.py). Every operation
//! sent must be allowed by `drctl iam-policy`'s policy for the group, and every RDS-instance
//! operation of the adapters' table must have been exercised.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::process::Command;

use aws_config::{BehaviorVersion, Region};
use aws_sdk_rds::config::{Credentials, SharedCredentialsProvider};
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;
use drctl_cloud::aws::AwsCloud;
use drctl_cloud::{
    CreateReadReplica, DbSnapshotStatus, ErrorCategory, InstanceReplicaLag, RdsInstances,
    RdsOfferings,
};
use drctl_e2e::moto::{python_path, repo_root, MotoServer};
use drctl_e2e::sent::{assert_allowed_by_the_policy, SentOperations};
use drctl_schema::{parse_documents, FailoverGroup};
use serde_json::Value;

const EAST: &str = "us-east-1";
const WEST: &str = "us-west-2";
const PRIMARY: &str = "shop-db";
const REPLICA: &str = "shop-db-replica";
const EAST_KEY: &str =
    "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn example() -> (std::path::PathBuf, FailoverGroup) {
    let path = repo_root().join("examples").join("failovergroup-rds.yaml");
    let text = std::fs::read(&path).unwrap();
    let doc = parse_documents(&text, "failovergroup-rds.yaml")
        .unwrap()
        .remove(0);
    (path, doc)
}

fn fixture(server: &MotoServer, args: &[&str]) -> Value {
    let mut command = Command::new(python_path());
    command.arg(
        repo_root()
            .join("tests")
            .join("moto")
            .join("fixture_rds.py"),
    );
    command.args(args);
    server.configure(&mut command);
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "fixture_rds.py {args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.log_tail(40)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

async fn cloud(server: &MotoServer, sent: &SentOperations) -> AwsCloud {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(EAST))
        .endpoint_url(server.endpoint())
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "testing", "testing", None, None, "test",
        )))
        .load()
        .await;
    AwsCloud::builder(config)
        .interceptor(SharedInterceptor::new(sent.clone()))
        .build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rds_instance_adapters_promote_snapshot_delete_and_rebuild_a_replica_on_the_wire() {
    let server = MotoServer::start().expect("moto starts (run scripts/setup-venv.sh once)");
    let (path, doc) = example();
    let doc_path = path.to_str().unwrap();
    fixture(&server, &["setup", doc_path, "--lag-seconds", "0.42"]);
    let sent = SentOperations::default();
    let cloud = cloud(&server, &sent).await;

    // --- Observation: the pair, the lag, absence as an answer ---------------------------
    let primary = cloud
        .describe_db_instance(EAST, PRIMARY)
        .await
        .unwrap()
        .expect("the primary");
    assert!(!primary.is_replica());
    let replica = cloud
        .describe_db_instance(WEST, REPLICA)
        .await
        .unwrap()
        .expect("the replica");
    assert!(replica.replicates_from(&primary), "{replica:?}");
    assert_eq!(
        replica.read_replica_source.as_deref(),
        Some(primary.arn.as_str())
    );
    assert_eq!(
        replica.replication,
        Some(drctl_cloud::ReplicationState::Replicating)
    );
    assert!(primary.read_replicas.contains(&replica.arn), "{primary:?}");
    assert_eq!(
        cloud
            .describe_db_instance(EAST, "no-such-db")
            .await
            .unwrap(),
        None
    );
    let lag = cloud.replica_lag(WEST, REPLICA).await.unwrap();
    assert_eq!(lag, Some(0.42));

    // --- Promotion breaks the link ------------------------------------------------------
    cloud.promote_read_replica(WEST, REPLICA).await.unwrap();
    let promoted = cloud
        .describe_db_instance(WEST, REPLICA)
        .await
        .unwrap()
        .unwrap();
    assert!(!promoted.is_replica(), "{promoted:?}");
    let err = cloud
        .promote_read_replica(WEST, "no-such-db")
        .await
        .unwrap_err();
    assert_eq!(err.category, ErrorCategory::NeedsSpecChange, "{err}");

    // --- The stale old primary: snapshot (deterministic name), then delete -------------
    let snapshot = "drctl-stale-shop-db-op-1";
    cloud
        .create_db_snapshot(EAST, PRIMARY, snapshot)
        .await
        .unwrap();
    let again = cloud
        .create_db_snapshot(EAST, PRIMARY, snapshot)
        .await
        .unwrap_err();
    assert_eq!(again.code, "DBSnapshotAlreadyExists", "{again}");
    let snapshots = cloud.describe_db_snapshots(EAST, PRIMARY).await.unwrap();
    assert!(
        snapshots
            .iter()
            .any(|s| s.identifier == snapshot && s.status == DbSnapshotStatus::Available),
        "{snapshots:?}"
    );
    cloud.delete_db_instance(EAST, PRIMARY).await.unwrap();
    let seen = fixture(&server, &["inspect", doc_path]);
    assert_eq!(seen[EAST]["instance"], Value::Null, "{seen}");
    assert_eq!(
        seen[EAST]["snapshots"][0], snapshot,
        "the snapshot outlives it: {seen}"
    );

    // --- Rebuilt as a cross-region read replica of the new primary, with its KMS key ----
    cloud
        .create_read_replica(&CreateReadReplica {
            region: EAST.to_string(),
            identifier: PRIMARY.to_string(),
            source_region: WEST.to_string(),
            source_instance_arn: promoted.arn.clone(),
            instance_class: Some("db.r6g.large".to_string()),
            kms_key_id: Some(EAST_KEY.to_string()),
            db_subnet_group: None,
            vpc_security_group_ids: Vec::new(),
        })
        .await
        .unwrap();
    let seen = fixture(&server, &["inspect", doc_path]);
    assert_eq!(
        seen[EAST]["instance"]["source"],
        promoted.arn.as_str(),
        "{seen}"
    );

    // --- The continuous checks' reads (tests/moto/ext_rds_offerings.py answers them) -------
    assert!(cloud
        .instance_class_offered(EAST, "postgres", "16.3", "db.r6g.large")
        .await
        .unwrap());
    let quota = cloud
        .db_instance_quota(EAST)
        .await
        .unwrap()
        .expect("listed");
    assert_eq!(quota.max, 40);
    assert_eq!(quota.used, 1, "the rebuilt replica: {quota:?}");

    // --- Every operation sent is allowed, and every instance operation was exercised ----
    let sent = assert_allowed_by_the_policy(&doc.spec, &sent);
    let table: BTreeSet<String> = drctl_cloud::aws::iam::operations_for(&doc.spec)
        .iter()
        .filter(|op| {
            matches!(
                op.service,
                drctl_cloud::Service::Rds | drctl_cloud::Service::CloudWatch
            ) && op.name != "DescribeAlarms"
        })
        .map(|op| op.name.to_string())
        .collect();
    assert_eq!(
        sent, table,
        "every rdsReplica operation was exercised on the wire"
    );
}

#[test]
fn the_iam_policy_of_an_rds_group_grants_its_instances_and_no_aurora_action() {
    let (_, doc) = example();
    let policy = drctl_cloud::aws::iam::policy_for(
        &doc.spec,
        drctl_cloud::aws::iam::PolicyTarget {
            partition: "aws",
            account: "123456789012",
            dynamodb_table: None,
        },
    );
    let text = policy.to_string();
    for action in [
        "rds:PromoteReadReplica",
        "rds:CreateDBInstanceReadReplica",
        "rds:CreateDBSnapshot",
    ] {
        assert!(text.contains(action), "{action} missing: {text}");
    }
    for action in [
        "rds:FailoverGlobalCluster",
        "rds:DescribeGlobalClusters",
        "rds:CreateDBCluster\"",
    ] {
        assert!(!text.contains(action), "{action} granted: {text}");
    }
    assert!(
        text.contains("arn:aws:rds:us-west-2:123456789012:db:shop-db-replica"),
        "{text}"
    );
    assert!(
        !text.contains("db:*"),
        "instances are named, not wildcarded: {text}"
    );
    assert!(
        text.contains("rds.us-west-2.amazonaws.com"),
        "the KMS grant: {text}"
    );
}
