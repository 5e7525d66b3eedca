//! The AWS adapters (drctl_cloud::aws) on the wire, against the moto emulator on loopback.
//!
//! The world is created and checked by an independent client (boto3, tests/moto/fixture.py),
//! never by drctl itself, so every request the adapters build and every response they parse
//! is proven well-formed against AWS's own wire protocols. An interceptor records every
//! operation the adapters actually send; the test then checks that the IAM policy of
//! `drctl iam-policy` allows each of them and that every operation of the adapters' table was
//! exercised.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use aws_config::{BehaviorVersion, Region};
use aws_sdk_rds::config::{Credentials, SharedCredentialsProvider};
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;
use drctl_cloud::aws::{AwsCloud, HttpHealthCheck};
use drctl_cloud::{
    AlarmReading, AlarmState, Alarms, AliasTarget, Aurora, AutoScaling, ChangeStatus,
    CreateInstance, CreateSecondaryCluster, Dns, DnsRecord, Ecs, ErrorCategory, HealthCheck,
    LagQuery, RdsOfferings, RecordChange, ReplicationLag, SnapshotQuery,
};
use drctl_e2e::moto::{repo_root, MotoServer};
use drctl_e2e::sent::SentOperations;
use drctl_schema::FailoverGroup;
use serde_json::Value;

const EAST: &str = "us-east-1";
const WEST: &str = "us-west-2";
const PRIMARY: &str = "myapp-prod-primary";
const SECONDARY: &str = "myapp-prod-secondary";
const GLOBAL: &str = "myapp-prod-global";

struct World {
    server: MotoServer,
    doc_path: std::path::PathBuf,
    _dir: tempfile::TempDir,
    doc: FailoverGroup,
    zone: String,
}

impl World {
    /// moto with the complete example world (examples/failovergroup.yaml), built by boto3.
    fn start() -> World {
        let server = MotoServer::start().expect("moto starts (run scripts/setup-venv.sh once)");
        let example = repo_root().join("examples").join("failovergroup.yaml");
        let setup = fixture(
            &server,
            &["setup", example.to_str().unwrap(), "--lag-ms", "420"],
        );
        let zone = setup["hostedZoneId"].as_str().unwrap().to_string();
        let dir = tempfile::tempdir().unwrap();
        let doc_path = dir.path().join("group.json");
        std::fs::write(&doc_path, setup["document"].to_string()).unwrap();
        let doc: FailoverGroup = serde_json::from_value(setup["document"].clone()).unwrap();
        World {
            server,
            doc_path,
            _dir: dir,
            doc,
            zone,
        }
    }

    /// What boto3 sees now.
    fn inspect(&self) -> Value {
        fixture(
            &self.server,
            &[
                "inspect",
                self.doc_path.to_str().unwrap(),
                "--zone",
                self.zone.as_str(),
            ],
        )
    }

    async fn cloud(&self, sent: &SentOperations) -> AwsCloud {
        // The standard loader, with the emulator's endpoint and dummy credentials set
        // explicitly: tests run in parallel, each with its own emulator, so the process
        // environment cannot carry the endpoint.
        let config = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(EAST))
            .endpoint_url(self.server.endpoint())
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "testing", "testing", None, None, "test",
            )))
            .load()
            .await;
        AwsCloud::builder(config)
            .interceptor(SharedInterceptor::new(sent.clone()))
            .build()
    }

    fn arn(&self, region: &str, cluster: &str) -> String {
        format!("arn:aws:rds:{region}:123456789012:cluster:{cluster}")
    }
}

fn fixture(server: &MotoServer, args: &[&str]) -> Value {
    server.fixture(args).unwrap_or_else(|e| panic!("{e}"))
}

fn alias(dns_name: &str, zone: &str) -> DnsRecord {
    DnsRecord {
        name: "api.example.com.".to_string(),
        record_type: "A".to_string(),
        ttl: None,
        alias: Some(AliasTarget {
            dns_name: dns_name.to_string(),
            hosted_zone_id: zone.to_string(),
            evaluate_target_health: false,
        }),
        values: vec![],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_port_method_round_trips_through_the_emulator_and_is_allowed_by_the_iam_policy() {
    let world = World::start();
    let sent = SentOperations::default();
    let cloud = world.cloud(&sent).await;
    let primary_arn = world.arn(EAST, PRIMARY);
    let secondary_arn = world.arn(WEST, SECONDARY);

    // --- Observation -------------------------------------------------------------------------
    let global = cloud
        .describe_global_cluster(WEST, GLOBAL)
        .await
        .unwrap()
        .expect("the global cluster, asked from the secondary's region");
    assert_eq!(
        global.writer().map(|m| m.cluster_arn.clone()),
        Some(primary_arn.clone())
    );
    assert_eq!(
        global
            .member(&secondary_arn)
            .and_then(|m| m.synchronization_status.clone()),
        Some("connected".to_string())
    );
    assert_eq!(global.failover_state, None);
    assert_eq!(
        cloud
            .describe_global_cluster(EAST, "no-such-global")
            .await
            .unwrap(),
        None
    );

    let clusters = cloud
        .describe_clusters(EAST, &[PRIMARY.to_string(), "no-such-cluster".to_string()])
        .await
        .unwrap();
    assert_eq!(clusters.len(), 1, "missing clusters are left out");
    assert_eq!(clusters[0].arn, primary_arn);
    assert_eq!(clusters[0].engine_version, "16.3");
    let mut members = clusters[0].instances.clone();
    members.sort();
    assert_eq!(members, ["myapp-prod-primary-1", "myapp-prod-primary-2"]);
    let instances = cloud.describe_instances(EAST, PRIMARY).await.unwrap();
    assert_eq!(instances.len(), 2);
    assert!(instances
        .iter()
        .all(|i| i.cluster_identifier.as_deref() == Some(PRIMARY)));

    let lag = cloud.replication_lag(EAST, PRIMARY, WEST).await.unwrap();
    assert_eq!(lag, Some(0.42), "the fixture published 420 ms");

    // --- Witness alarms of automatic failover, read in their own region ------------------------
    let doc = world.doc_path.to_str().unwrap();
    for (name, state) in [(WITNESS, "ALARM"), ("api-quiet", "OK")] {
        fixture(
            &world.server,
            &[
                "put-alarm",
                doc,
                "--region",
                WEST,
                "--name",
                name,
                "--state",
                state,
            ],
        );
    }
    let mut readings = cloud
        .describe_alarms(
            WEST,
            &[
                WITNESS.to_string(),
                "api-quiet".to_string(),
                "nobody".to_string(),
            ],
        )
        .await
        .unwrap();
    readings.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(
        readings,
        [
            AlarmReading {
                name: WITNESS.to_string(),
                state: AlarmState::Alarm
            },
            AlarmReading {
                name: "api-quiet".to_string(),
                state: AlarmState::Ok
            },
        ]
    );
    assert_eq!(sent.count("DescribeAlarms"), 1);

    let record = cloud
        .get_record(&world.zone, "api.example.com.", "A")
        .await
        .unwrap()
        .expect("the record");
    assert_eq!(
        record
            .alias
            .as_ref()
            .map(|a| a.dns_name.trim_end_matches('.').to_string()),
        Some("primary-alb-123.us-east-1.elb.amazonaws.com".to_string())
    );
    assert_eq!(
        cloud
            .get_record(&world.zone, "nope.example.com.", "A")
            .await
            .unwrap(),
        None
    );

    let services = cloud
        .describe_services(
            EAST,
            "myapp-prod",
            &[
                "api".to_string(),
                "worker".to_string(),
                "missing".to_string(),
            ],
        )
        .await
        .unwrap();
    let counts: Vec<_> = services
        .iter()
        .map(|s| (s.service.as_str(), s.desired, s.running))
        .collect();
    assert_eq!(counts, [("api", 6, 6), ("worker", 3, 3)]);

    let ids = [
        "service/myapp-prod-dr/api".to_string(),
        "service/myapp-prod-dr/worker".to_string(),
    ];
    let mut targets = cloud.describe_scalable_targets(WEST, &ids).await.unwrap();
    targets.sort_by(|a, b| a.resource_id.cmp(&b.resource_id));
    let bounds: Vec<_> = targets
        .iter()
        .map(|t| (t.resource_id.as_str(), t.min, t.max))
        .collect();
    assert_eq!(
        bounds,
        [
            ("service/myapp-prod-dr/api", 1, 24),
            ("service/myapp-prod-dr/worker", 0, 12)
        ]
    );

    // --- Compute: scale the standby up -------------------------------------------------------
    cloud
        .register_scalable_target(WEST, &ids[0], 6, 24)
        .await
        .unwrap();
    cloud
        .update_desired_count(WEST, "myapp-prod-dr", "api", 6)
        .await
        .unwrap();
    let seen = world.inspect();
    assert_eq!(seen["scalableTargets"]["api"][WEST]["min"], 6);
    assert_eq!(seen["services"]["api"][WEST]["desired"], 6);

    // --- Database: switchover, in flight, then done -----------------------------------------
    cloud
        .switchover_global_cluster(WEST, GLOBAL, &secondary_arn)
        .await
        .unwrap();
    let busy = cloud
        .failover_global_cluster(WEST, GLOBAL, &secondary_arn, true)
        .await
        .expect_err("a second operation while one is in flight");
    assert_eq!(busy.code, "InvalidGlobalClusterStateFault");
    assert_eq!(busy.category, ErrorCategory::Retryable, "{busy}");
    assert_eq!(world.inspect()["writer"], EAST, "not switched yet");
    let in_flight = cloud
        .describe_global_cluster(WEST, GLOBAL)
        .await
        .unwrap()
        .unwrap();
    let state = in_flight
        .failover_state
        .expect("FailoverState while switching over");
    assert_eq!(state.status, "switching-over");
    assert_eq!(
        state.to_cluster_arn.as_deref(),
        Some(secondary_arn.as_str())
    );
    let done = cloud
        .describe_global_cluster(WEST, GLOBAL)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.failover_state, None);
    assert_eq!(
        done.writer().map(|m| m.cluster_arn.clone()),
        Some(secondary_arn.clone())
    );
    assert_eq!(done.members.len(), 2, "membership is kept");
    assert_eq!(world.inspect()["writer"], WEST);

    // Unplanned failover back (AllowDataLoss), asked in the target's region.
    cloud
        .failover_global_cluster(EAST, GLOBAL, &primary_arn, true)
        .await
        .unwrap();
    let in_flight = cloud
        .describe_global_cluster(EAST, GLOBAL)
        .await
        .unwrap()
        .unwrap();
    assert!(in_flight
        .failover_state
        .as_ref()
        .is_some_and(|s| s.is_data_loss_allowed));
    cloud.describe_global_cluster(EAST, GLOBAL).await.unwrap();
    assert_eq!(world.inspect()["writer"], EAST);

    let not_found = cloud
        .switchover_global_cluster(WEST, GLOBAL, &world.arn(WEST, "no-such-cluster"))
        .await
        .expect_err("unknown target");
    assert_eq!(not_found.code, "DBClusterNotFoundFault");
    assert_eq!(not_found.category, ErrorCategory::NeedsSpecChange);

    // --- DNS: compare-and-swap to the standby's load balancer -------------------------------
    let dr = alias("dr-alb-456.us-west-2.elb.amazonaws.com", "Z1H1FL5HABSF5");
    let change = cloud
        .change_record(
            &world.zone,
            Some(&record),
            &dr,
            "drctl test: move to us-west-2",
        )
        .await
        .unwrap();
    assert_eq!(world.inspect()["dnsOwner"], WEST);
    assert_eq!(
        cloud.get_change(&change.id).await.unwrap(),
        ChangeStatus::InSync
    );
    // And back, by UPSERT.
    let primary_alias = alias(
        "primary-alb-123.us-east-1.elb.amazonaws.com",
        "Z35SXDOTRQ7X7K",
    );
    cloud
        .change_record(&world.zone, None, &primary_alias, "drctl test: upsert back")
        .await
        .unwrap();
    assert_eq!(world.inspect()["dnsOwner"], EAST);

    // --- Failback of a stale secondary: snapshot, delete, recreate ---------------------------
    cloud
        .create_cluster_snapshot(WEST, SECONDARY, "drctl-test-stale")
        .await
        .unwrap();
    cloud
        .copy_cluster_snapshot(WEST, "drctl-test-stale", "drctl-test-stale-copy")
        .await
        .unwrap();
    let snapshots = cloud
        .describe_cluster_snapshots(
            WEST,
            &SnapshotQuery {
                cluster_identifier: Some(SECONDARY.to_string()),
                snapshot_type: Some("manual".to_string()),
                ..SnapshotQuery::default()
            },
        )
        .await
        .unwrap();
    let mut names: Vec<_> = snapshots.iter().map(|s| s.identifier.as_str()).collect();
    names.sort();
    assert_eq!(names, ["drctl-test-stale", "drctl-test-stale-copy"]);
    assert!(snapshots
        .iter()
        .all(|s| s.snapshot_type == "manual" && s.created_at.is_some()));
    let none = cloud
        .describe_cluster_snapshots(
            WEST,
            &SnapshotQuery {
                snapshot_identifier: Some("no-such-snapshot".to_string()),
                ..SnapshotQuery::default()
            },
        )
        .await
        .unwrap();
    assert!(none.is_empty());
    let seen = world.inspect();
    let mut by_boto: Vec<_> = seen["snapshots"][WEST]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    by_boto.sort();
    assert_eq!(by_boto, ["drctl-test-stale", "drctl-test-stale-copy"]);

    cloud
        .set_deletion_protection(WEST, SECONDARY, true)
        .await
        .unwrap();
    assert_eq!(
        world.inspect()["clusters"][WEST]["deletionProtection"],
        true
    );
    cloud
        .delete_instance(WEST, "myapp-prod-secondary-1")
        .await
        .unwrap();
    let protected = cloud
        .delete_cluster(WEST, SECONDARY)
        .await
        .expect_err("protected");
    assert_eq!(
        protected.category,
        ErrorCategory::NeedsOperator,
        "{protected}"
    );
    cloud
        .set_deletion_protection(WEST, SECONDARY, false)
        .await
        .unwrap();
    cloud.delete_cluster(WEST, SECONDARY).await.unwrap();
    let seen = world.inspect();
    assert_eq!(seen["clusters"][WEST], Value::Null);
    assert_eq!(
        seen["globalCluster"]["members"].as_array().unwrap().len(),
        1
    );

    let template = &world.doc.spec.database.clusters[WEST];
    cloud
        .create_secondary_cluster(&CreateSecondaryCluster {
            region: WEST.to_string(),
            identifier: template.identifier.clone(),
            global_cluster_identifier: GLOBAL.to_string(),
            engine: template.engine.clone().unwrap(),
            engine_version: template.engine_version.clone(),
            kms_key_id: template.kms_key_id.clone(),
            db_subnet_group: None,
            vpc_security_group_ids: template.vpc_security_group_ids.clone(),
        })
        .await
        .unwrap();
    cloud
        .create_instance(&CreateInstance {
            region: WEST.to_string(),
            identifier: "myapp-prod-secondary-1".to_string(),
            cluster_identifier: SECONDARY.to_string(),
            instance_class: "db.r6g.large".to_string(),
            engine: "aurora-postgresql".to_string(),
        })
        .await
        .unwrap();
    let seen = world.inspect();
    assert_eq!(
        seen["clusters"][WEST]["instances"][0],
        "myapp-prod-secondary-1"
    );
    let rejoined: Vec<_> = seen["globalCluster"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["region"].as_str().unwrap().to_string(),
                m["isWriter"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rejoined,
        [(EAST.to_string(), true), (WEST.to_string(), false)]
    );

    // --- The continuous checks' reads (tests/moto/ext_rds_offerings.py answers them) -------
    assert!(cloud
        .instance_class_offered(WEST, "aurora-postgresql", "16.3", "db.r6g.large")
        .await
        .unwrap());
    let quota = cloud
        .db_instance_quota(WEST)
        .await
        .unwrap()
        .expect("moto lists the DBInstances quota");
    assert_eq!(quota.max, 40);
    assert!(
        quota.used >= 1,
        "the secondary's instance counts: {quota:?}"
    );

    // --- Every operation sent is allowed by the policy, and every one was exercised ---------
    let sent = assert_allowed_by_the_policy(&world, &sent);
    // The group's own operations: the ARC calls of `routing: routingControl` have their own
    // wire test (aws_arc.rs).
    let table: BTreeSet<String> = drctl_cloud::aws::iam::operations_for(&witnessed_spec(&world))
        .iter()
        .map(|op| op.name.to_string())
        .collect();
    assert_eq!(
        sent, table,
        "every operation of the table was exercised on the wire"
    );
}

/// The witness alarm the wire test reads (the policy grants DescribeAlarms on it).
const WITNESS: &str = "api-east-synthetics-failing";

/// The group's spec with the automatic-failover policy whose witness the test reads.
fn witnessed_spec(world: &World) -> drctl_schema::FailoverGroupSpec {
    let mut spec = world.doc.spec.clone();
    spec.auto_failover = Some(drctl_schema::AutoFailoverSpec {
        enabled: true,
        after_seconds: 60,
        max_data_loss_seconds: 5,
        cooldown_seconds: 3600,
        witnesses: drctl_schema::WitnessesSpec {
            alarms: vec![drctl_schema::AlarmRef {
                region: WEST.to_string(),
                name: WITNESS.to_string(),
            }],
        },
        min_witnesses: None,
    });
    spec
}

/// Every operation sent is allowed by the witnessed group's policy and in the adapters' table.
fn assert_allowed_by_the_policy(world: &World, sent: &SentOperations) -> BTreeSet<String> {
    drctl_e2e::sent::assert_allowed_by_the_policy(&witnessed_spec(world), sent)
}

fn lag_query(cluster: &str, region: &str) -> LagQuery {
    LagQuery {
        primary_cluster_id: cluster.to_string(),
        secondary_region: region.to_string(),
    }
}

fn find<'a>(records: &'a [DnsRecord], name: &str) -> &'a DnsRecord {
    records
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("{name} is not in the listing"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fleet_reads_and_a_batched_change_round_trip_through_the_emulator() {
    let world = World::start();
    let sent = SentOperations::default();
    let cloud = world.cloud(&sent).await;
    let doc = world.doc_path.to_str().unwrap();
    // A fleet's account: 101 more global clusters and 320 more records, each past a page.
    fixture(&world.server, &["add-globals", doc, "--count", "101"]);
    let zone = world.zone.as_str();
    fixture(
        &world.server,
        &["add-records", doc, "--zone", zone, "--count", "320"],
    );

    // --- Every global cluster of the account, two pages of 100 --------------------------------
    let globals = cloud.describe_global_clusters(WEST).await.unwrap();
    assert_eq!(globals.len(), 102);
    assert_eq!(sent.count("DescribeGlobalClusters"), 2);
    let ours = globals
        .iter()
        .find(|g| g.identifier == GLOBAL)
        .expect("the group's global cluster in the listing");
    assert_eq!(
        ours.writer().map(|m| m.cluster_arn.clone()),
        Some(world.arn(EAST, PRIMARY))
    );
    assert_eq!(ours.members.len(), 2);
    assert!(globals.iter().any(|g| g.identifier == "fleet-global-0100"));

    // --- The whole zone, two pages of 300 ----------------------------------------------------
    let records = cloud.list_records(zone).await.unwrap();
    assert_eq!(sent.count("ListResourceRecordSets"), 2);
    let fleet: BTreeSet<&str> = records
        .iter()
        .map(|r| r.name.as_str())
        .filter(|n| n.starts_with("fleet-"))
        .collect();
    assert_eq!(
        fleet.len(),
        320,
        "every record once, across the page boundary"
    );
    let fleet_0 = find(&records, "fleet-0000.example.com.").clone();
    assert_eq!(fleet_0.values, ["fleet-0000.origin.example.net"]);
    assert_eq!(fleet_0.ttl, Some(60));
    let api = find(&records, "api.example.com.").clone();
    assert_eq!(
        api.alias.as_ref().map(|a| a.dns_name.trim_end_matches('.')),
        Some("primary-alb-123.us-east-1.elb.amazonaws.com")
    );

    // --- Two records in one batch: a compare-and-swap and an UPSERT --------------------------
    let dr = alias("dr-alb-456.us-west-2.elb.amazonaws.com", "Z1H1FL5HABSF5");
    let fleet_0_moved = DnsRecord {
        values: vec!["fleet-0000.dr.example.net".to_string()],
        ..fleet_0.clone()
    };
    let batch = [
        RecordChange {
            expected: Some(api.clone()),
            desired: dr.clone(),
        },
        RecordChange {
            expected: None,
            desired: fleet_0_moved.clone(),
        },
    ];
    let change = cloud
        .change_records(zone, &batch, "drctl test: fleet move")
        .await
        .unwrap();
    assert_eq!(sent.count("ChangeResourceRecordSets"), 1);
    assert_eq!(
        cloud.get_change(&change.id).await.unwrap(),
        ChangeStatus::InSync
    );
    assert_eq!(world.inspect()["dnsOwner"], WEST, "boto3 sees the move");
    let after = cloud.list_records(zone).await.unwrap();
    assert_eq!(
        after.len(),
        records.len(),
        "changed in place, none added or lost"
    );
    assert_eq!(
        find(&after, "api.example.com.")
            .alias
            .as_ref()
            .map(|a| a.dns_name.trim_end_matches('.')),
        Some("dr-alb-456.us-west-2.elb.amazonaws.com")
    );
    assert_eq!(
        find(&after, "fleet-0000.example.com.").values,
        fleet_0_moved.values
    );
    assert_eq!(
        find(&after, "fleet-0001.example.com."),
        find(&records, "fleet-0001.example.com.")
    );

    // --- Lags of several clusters in one GetMetricData, in the order asked --------------------
    fixture(
        &world.server,
        &[
            "put-cluster-lag",
            doc,
            "--cluster",
            "other-primary",
            "--secondary",
            "eu-west-1",
            "--lag-ms",
            "900",
        ],
    );
    let lags = cloud
        .replication_lags(
            EAST,
            &[
                lag_query(PRIMARY, WEST),
                lag_query("other-primary", "eu-west-1"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(lags, [Some(0.42), Some(0.9)]);
    let reordered = cloud
        .replication_lags(
            EAST,
            &[
                lag_query("other-primary", "eu-west-1"),
                lag_query("nobody", WEST),
                lag_query(PRIMARY, WEST),
            ],
        )
        .await
        .unwrap();
    assert_eq!(reordered, [Some(0.9), None, Some(0.42)]);
    assert_eq!(sent.count("GetMetricData"), 2, "one call per batch of lags");

    assert_allowed_by_the_policy(&world, &sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_health_probe_reads_the_status_of_a_real_http_endpoint() {
    let server = MotoServer::start().expect("moto starts");
    let probe = HttpHealthCheck::new(std::time::Duration::from_secs(5)).unwrap();

    let status = probe
        .probe(&format!("{}/moto-api/", server.endpoint()))
        .await
        .unwrap();
    assert_eq!(status, 200);
    let port = server.port();
    drop(server);

    let err = probe
        .probe(&format!("http://127.0.0.1:{port}/healthz"))
        .await
        .expect_err("nothing listens any more");
    assert_eq!(err.category, ErrorCategory::Retryable);
    assert_eq!(err.code, "ConnectionFailed");
}
