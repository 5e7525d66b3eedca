//! spec.dependencies on the wire: the `drctl` binary against moto. Two versioned buckets
//! with Cross-Region Replication and a DynamoDB global table with a replica in the other
//! region are built by boto3 (tests/moto/fixture_dependencies.py);
//! `drctl controller --cloud aws --once` reports DependenciesReady True; the replication is
//! deleted with the AWS CLI, as a person would; the next pass reports False, naming the
//! bucket; then the table's replica is deleted with the AWS CLI, and the condition names the
//! table as well.
//!
//! moto needs two extensions for this: tests/moto/ext_s3_xml_roots.py (moto names the root of
//! GetBucketVersioning's answer `GetBucketVersioningResponse`, which the Rust SDK refuses: the
//! reason this test was once dropped) and tests/moto/ext_dynamodb_replicas.py (moto ignores
//! ReplicaUpdates).
//!
//! The CLI is `$DRCTL_AWS_CLI`, else `aws` beside `$DRCTL_PYTHON` (the venv's, installed by
//! scripts/setup-venv.sh from tests/requirements.txt).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;

use drctl_e2e::bin::Drctl;
use drctl_e2e::moto::{python_path, repo_root, MotoServer};
use serde_json::{json, Value};

const GROUP: &str = "myapp-prod";
const BUCKET: &str = "shop-assets-east";
const TABLE: &str = "shop-sessions";
const ONCE: &[&str] = &[
    "controller",
    "--cloud",
    "aws",
    "--once",
    "--replica-id",
    "e2e",
];

fn aws_cli() -> PathBuf {
    match std::env::var_os("DRCTL_AWS_CLI") {
        Some(cli) if !cli.is_empty() => PathBuf::from(cli),
        _ => python_path().with_file_name("aws"),
    }
}

fn dependencies_ready(drctl: &Drctl) -> Value {
    let run = drctl.run(&["get", GROUP, "-o", "json"]);
    assert_eq!(run.code, 0, "{run}");
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    doc["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "DependenciesReady")
        .cloned()
        .unwrap_or_else(|| panic!("no DependenciesReady in {doc:#}"))
}

#[test]
fn dependencies_ready_turns_false_naming_the_bucket_when_its_replication_is_deleted_with_the_aws_cli(
) {
    let server = MotoServer::start().expect("moto starts (run scripts/setup-venv.sh once)");
    let dir = tempfile::tempdir().unwrap();
    let example = repo_root().join("examples").join("failovergroup.yaml");
    let setup = server
        .fixture(&["setup", example.to_str().unwrap(), "--lag-ms", "250"])
        .unwrap_or_else(|e| panic!("{e}"));
    let mut document = setup["document"].clone();
    document["spec"]["verify"]["url"] = Value::String(format!("{}/moto-api/", server.endpoint()));
    document["spec"]["dependencies"] = json!({
        "s3Replication": [
            {"bucket": BUCKET, "region": "us-east-1", "destinationBucket": "shop-assets-west"}
        ],
        "dynamodbGlobalTables": [
            {"table": TABLE, "regions": ["us-east-1", "us-west-2"]}
        ]
    });
    let doc_path = dir.path().join("group.json");
    std::fs::write(&doc_path, serde_json::to_vec_pretty(&document).unwrap()).unwrap();

    let mut buckets = Command::new(python_path());
    buckets
        .arg(repo_root().join("tests/moto/fixture_dependencies.py"))
        .arg("setup")
        .arg(&doc_path);
    server.configure(&mut buckets);
    let out = buckets.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let drctl = Drctl::new("dynamodb://drctl-e2e")
        .expect("the drctl binary is built")
        .envs(server.env());
    for args in [
        &["init"][..],
        &["apply", "-f", doc_path.to_str().unwrap()][..],
        ONCE,
    ] {
        let run = drctl.run(args);
        assert_eq!(
            run.code,
            0,
            "drctl {args:?}:\n{run}\n{}",
            server.log_tail(30)
        );
    }
    let ready = dependencies_ready(&drctl);
    assert_eq!(ready["status"], "True", "{ready:#}");
    assert!(
        ready["message"]
            .as_str()
            .unwrap()
            .contains("bucket shop-assets-east replicates to shop-assets-west"),
        "{ready:#}"
    );
    assert!(
        ready["message"]
            .as_str()
            .unwrap()
            .contains("table shop-sessions replicas in us-east-1, us-west-2"),
        "{ready:#}"
    );

    // A person deletes the replication with the AWS CLI.
    let cli = aws_cli();
    let mut delete = Command::new(&cli);
    delete.args([
        "s3api",
        "delete-bucket-replication",
        "--bucket",
        BUCKET,
        "--endpoint-url",
        &server.endpoint(),
    ]);
    server.configure(&mut delete);
    let out = delete
        .output()
        .unwrap_or_else(|e| panic!("{}: {e} (run scripts/setup-venv.sh once)", cli.display()));
    assert!(
        out.status.success(),
        "aws s3api delete-bucket-replication: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let run = drctl.run(ONCE);
    assert_eq!(run.code, 0, "{run}");
    let ready = dependencies_ready(&drctl);
    assert_eq!(ready["status"], "False", "{ready:#}");
    assert_eq!(ready["reason"], "DependencyNotReady", "{ready:#}");
    assert_eq!(
        ready["message"], "bucket shop-assets-east: no replication configuration",
        "{ready:#}"
    );

    // Then the table's replica in us-west-2, with the AWS CLI as well.
    let mut drop_replica = Command::new(&cli);
    drop_replica.args([
        "dynamodb",
        "update-table",
        "--table-name",
        TABLE,
        "--replica-updates",
        r#"[{"Delete": {"RegionName": "us-west-2"}}]"#,
        "--region",
        "us-east-1",
        "--endpoint-url",
        &server.endpoint(),
    ]);
    server.configure(&mut drop_replica);
    let out = drop_replica.output().unwrap();
    assert!(
        out.status.success(),
        "aws dynamodb update-table: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = drctl.run(ONCE);
    assert_eq!(run.code, 0, "{run}");
    let ready = dependencies_ready(&drctl);
    assert_eq!(ready["status"], "False", "{ready:#}");
    let message = ready["message"].as_str().unwrap();
    assert!(
        message.contains("bucket shop-assets-east: no replication configuration")
            && message.contains("table shop-sessions: no ACTIVE replica in us-west-2"),
        "{ready:#}"
    );
}
