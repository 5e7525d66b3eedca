//! `DependenciesReady` from typed readings: what is True, False (naming the bucket or table
//! and what is wrong) and Unknown (naming what could not be read, and why). Pure: no world.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use drctl::dependencies::{
    operation_note, set_condition, verdict, BucketReading, DependenciesView, TableReading,
    REASON_NOT_READY, REASON_READY, REASON_UNREADABLE,
};
use drctl::observed::Seen;
use drctl_cloud::{
    BucketReplication, ReplicaStatus, ReplicationRule, RuleStatus, TableDescription, TableReplica,
    TableStatus, VersioningStatus,
};
use drctl_schema::{
    condition_type as ct, ConditionStatus, DependenciesSpec, FailoverGroupSpec,
    FailoverGroupStatus, GlobalTableDependency, S3ReplicationDependency, Timestamp,
};

const EAST: &str = "us-east-1";
const WEST: &str = "us-west-2";
const TIMEOUT: &str = "s3 GetBucketReplication: RequestTimeout: could not connect";

fn spec() -> FailoverGroupSpec {
    let yaml = include_str!("../../examples/failovergroup.yaml");
    let mut spec = drctl_schema::parse_documents(yaml.as_bytes(), "f.yaml")
        .unwrap()
        .remove(0)
        .spec;
    spec.dependencies = Some(DependenciesSpec {
        s3_replication: Some(vec![bucket_spec()]),
        dynamodb_global_tables: Some(vec![table_spec()]),
    });
    spec
}

fn bucket_spec() -> S3ReplicationDependency {
    S3ReplicationDependency {
        bucket: "shop-assets-east".into(),
        region: EAST.into(),
        destination_bucket: "shop-assets-west".into(),
    }
}

fn table_spec() -> GlobalTableDependency {
    GlobalTableDependency {
        table: "shop-sessions".into(),
        regions: vec![EAST.into(), WEST.into()],
    }
}

fn rule(status: RuleStatus, destination: &str) -> ReplicationRule {
    ReplicationRule {
        id: Some("all".into()),
        status,
        destination_bucket_arn: format!("arn:aws:s3:::{destination}"),
        metrics_enabled: true,
    }
}

fn healthy_bucket() -> BucketReading {
    BucketReading {
        spec: bucket_spec(),
        replication: Seen::Known(BucketReplication::Configured {
            rules: vec![rule(RuleStatus::Enabled, "shop-assets-west")],
        }),
        source_versioning: Seen::Known(Some(VersioningStatus::Enabled)),
        destination_versioning: Seen::Known(Some(VersioningStatus::Enabled)),
        latency_seconds: Some(12.0),
        pending_operations: Some(3.0),
    }
}

fn described(region: &str, others: &[(&str, ReplicaStatus)]) -> Seen<Option<TableDescription>> {
    let _ = region;
    Seen::Known(Some(TableDescription {
        name: "shop-sessions".into(),
        status: TableStatus::Active,
        replicas: others
            .iter()
            .map(|(r, s)| TableReplica {
                region: r.to_string(),
                status: s.clone(),
            })
            .collect(),
    }))
}

fn healthy_table() -> TableReading {
    let mut d = BTreeMap::new();
    d.insert(
        EAST.to_string(),
        described(EAST, &[(WEST, ReplicaStatus::Active)]),
    );
    d.insert(
        WEST.to_string(),
        described(WEST, &[(EAST, ReplicaStatus::Active)]),
    );
    let mut latency = BTreeMap::new();
    latency.insert((EAST.to_string(), WEST.to_string()), 0.8);
    TableReading {
        spec: table_spec(),
        described: d,
        latency_seconds: latency,
    }
}

fn view(bucket: BucketReading, table: TableReading) -> DependenciesView {
    DependenciesView {
        at: Timestamp::from_millis(1_000_000),
        buckets: vec![bucket],
        tables: vec![table],
    }
}

#[test]
fn replicating_buckets_and_active_replicas_are_ready_with_their_lag() {
    let v = verdict(&spec(), &view(healthy_bucket(), healthy_table()));
    assert_eq!(v.status, ConditionStatus::True);
    assert_eq!(v.reason, REASON_READY);
    assert!(
        v.message.contains(
            "bucket shop-assets-east replicates to shop-assets-west (replication latency 12.0 s, 3 operations pending)"
        ),
        "{}",
        v.message
    );
    assert!(
        v.message
            .contains("table shop-sessions replicas in us-east-1, us-west-2 (replication latency us-east-1 -> us-west-2 0.8 s)"),
        "{}",
        v.message
    );
}

#[test]
fn a_disabled_rule_is_false_naming_the_bucket() {
    let mut b = healthy_bucket();
    b.replication = Seen::Known(BucketReplication::Configured {
        rules: vec![rule(RuleStatus::Disabled, "shop-assets-west")],
    });
    let v = verdict(&spec(), &view(b, healthy_table()));
    assert_eq!(v.status, ConditionStatus::False);
    assert_eq!(v.reason, REASON_NOT_READY);
    assert_eq!(
        v.message,
        "bucket shop-assets-east: replication rule disabled"
    );
}

#[test]
fn deleted_replication_a_missing_bucket_and_a_rule_elsewhere_are_each_named() {
    let cases = [
        (
            BucketReplication::NotConfigured,
            "bucket shop-assets-east: no replication configuration",
        ),
        (
            BucketReplication::NoSuchBucket,
            "bucket shop-assets-east: no such bucket in us-east-1",
        ),
        (
            BucketReplication::Configured {
                rules: vec![rule(RuleStatus::Enabled, "other-bucket")],
            },
            "bucket shop-assets-east: no replication rule to shop-assets-west",
        ),
    ];
    for (replication, expected) in cases {
        let mut b = healthy_bucket();
        b.replication = Seen::Known(replication);
        let v = verdict(&spec(), &view(b, healthy_table()));
        assert_eq!(v.status, ConditionStatus::False);
        assert!(v.message.starts_with(expected), "{}", v.message);
    }
}

#[test]
fn suspended_versioning_on_either_bucket_is_false() {
    let mut b = healthy_bucket();
    b.destination_versioning = Seen::Known(Some(VersioningStatus::Suspended));
    let v = verdict(&spec(), &view(b, healthy_table()));
    assert_eq!(v.status, ConditionStatus::False);
    assert!(
        v.message
            .starts_with("destination bucket shop-assets-west: versioning Suspended"),
        "{}",
        v.message
    );
    let mut b = healthy_bucket();
    b.source_versioning = Seen::Known(Some(VersioningStatus::NeverEnabled));
    let v = verdict(&spec(), &view(b, healthy_table()));
    assert!(
        v.message
            .starts_with("bucket shop-assets-east: versioning never enabled"),
        "{}",
        v.message
    );
}

#[test]
fn a_missing_or_inactive_replica_is_false_naming_the_table_and_region() {
    let mut t = healthy_table();
    t.described.insert(WEST.to_string(), Seen::Known(None));
    t.described.insert(EAST.to_string(), described(EAST, &[]));
    let v = verdict(&spec(), &view(healthy_bucket(), t));
    assert_eq!(v.status, ConditionStatus::False);
    assert!(
        v.message
            .contains("table shop-sessions: no ACTIVE replica in us-west-2 (not a replica, seen from us-east-1)"),
        "{}",
        v.message
    );
    assert!(
        v.message
            .contains("table shop-sessions: no ACTIVE replica in us-west-2 (no table there)"),
        "{}",
        v.message
    );

    let mut t = healthy_table();
    t.described.insert(
        EAST.to_string(),
        described(EAST, &[(WEST, ReplicaStatus::Creating)]),
    );
    let v = verdict(&spec(), &view(healthy_bucket(), t));
    assert_eq!(
        v.message,
        "table shop-sessions: no ACTIVE replica in us-west-2 (replica status CREATING, seen from us-east-1)"
    );
}

#[test]
fn an_unreadable_region_is_unknown_saying_which_and_why() {
    let mut t = healthy_table();
    t.described.insert(
        WEST.to_string(),
        Seen::Unreachable("dynamodb DescribeTable: RequestTimeout".into()),
    );
    let v = verdict(&spec(), &view(healthy_bucket(), t));
    assert_eq!(v.status, ConditionStatus::Unknown);
    assert_eq!(v.reason, REASON_UNREADABLE);
    assert_eq!(
        v.message,
        "table shop-sessions: unreadable in us-west-2 (dynamodb DescribeTable: RequestTimeout)"
    );

    let mut b = healthy_bucket();
    b.replication = Seen::Unreachable(TIMEOUT.into());
    let v = verdict(&spec(), &view(b, healthy_table()));
    assert_eq!(v.status, ConditionStatus::Unknown);
    assert!(
        v.message.starts_with(&format!(
            "bucket shop-assets-east: replication unreadable in us-east-1 ({TIMEOUT})"
        )),
        "{}",
        v.message
    );
}

#[test]
fn something_wrong_outweighs_something_unreadable_and_both_are_said() {
    let mut b = healthy_bucket();
    b.replication = Seen::Known(BucketReplication::NotConfigured);
    let mut t = healthy_table();
    t.described
        .insert(WEST.to_string(), Seen::Unreachable("timeout".into()));
    let v = verdict(&spec(), &view(b, t));
    assert_eq!(v.status, ConditionStatus::False);
    assert!(
        v.message.contains("no replication configuration")
            && v.message
                .contains("also unreadable: table shop-sessions: unreadable in us-west-2"),
        "{}",
        v.message
    );
}

#[test]
fn the_condition_is_absent_without_dependencies_and_unknown_before_the_first_reading() {
    let now = Timestamp::from_millis(2_000_000);
    let mut status = FailoverGroupStatus::default();
    set_condition(&mut status, &spec(), None, now);
    let c = status
        .conditions
        .iter()
        .find(|c| c.type_ == ct::DEPENDENCIES_READY)
        .unwrap();
    assert_eq!(c.status, ConditionStatus::Unknown);

    // A reading makes it True; a later pass without one (a light pass) keeps it.
    let reading = view(healthy_bucket(), healthy_table());
    set_condition(&mut status, &spec(), Some(&reading), now);
    set_condition(&mut status, &spec(), None, now);
    let c = status
        .conditions
        .iter()
        .find(|c| c.type_ == ct::DEPENDENCIES_READY)
        .unwrap();
    assert_eq!(c.status, ConditionStatus::True);

    // The spec drops its dependencies: so does the status.
    let mut without = spec();
    without.dependencies = None;
    set_condition(&mut status, &without, None, now);
    assert!(status
        .conditions
        .iter()
        .all(|c| c.type_ != ct::DEPENDENCIES_READY));
}

#[test]
fn the_operation_note_lists_state_and_lag_and_is_absent_without_dependencies() {
    let reading = view(healthy_bucket(), healthy_table());
    let note = operation_note(&spec(), Some(&reading)).unwrap();
    assert!(note.contains("reported, not moved by drctl"), "{note}");
    assert!(
        note.contains("replication latency 12.0 s, 3 operations pending"),
        "{note}"
    );
    let mut b = healthy_bucket();
    b.replication = Seen::Known(BucketReplication::NotConfigured);
    let note = operation_note(&spec(), Some(&view(b, healthy_table()))).unwrap();
    assert!(
        note.contains("bucket shop-assets-east: no replication configuration"),
        "{note}"
    );
    let mut without = spec();
    without.dependencies = None;
    assert_eq!(operation_note(&without, Some(&reading)), None);
}
