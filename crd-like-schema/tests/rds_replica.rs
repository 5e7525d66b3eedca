//! `spec.database.kind: rdsReplica` (docs/design-contract.md §7.5): parsing, defaults,
//! validation naming the field, transition rules and the JSON Schema.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use drctl_schema::{
    find_clashes, validate_transition, ClusterTemplate, DatabaseKind, InstanceTemplate,
};

#[test]
fn the_rds_example_is_valid_and_parses_as_rds_replica() {
    let doc = rds_with(|_| {});
    assert_eq!(problems(&doc), Vec::<String>::new());
    assert_eq!(doc.spec.database.kind, DatabaseKind::RdsReplica);
    assert_eq!(
        doc.spec.database.instances["us-west-2"].identifier,
        "shop-db-replica"
    );
}

#[test]
fn kind_defaults_to_aurora_global_and_is_not_written_back() {
    let doc = alias_group();
    assert_eq!(doc.spec.database.kind, DatabaseKind::AuroraGlobal);
    let yaml = serde_norway::to_string(&doc.spec.database).unwrap();
    assert!(!yaml.contains("kind"), "{yaml}");
    assert!(!yaml.contains("instances"), "{yaml}");
    // Today's documents round-trip unchanged: same JSON with and without this field's code.
    let json = serde_json::to_value(&doc).unwrap();
    // Sorted: serde_json keeps insertion order when another crate of the build enables its
    // preserve_order feature, and sorts otherwise.
    let mut keys: Vec<&String> = json["spec"]["database"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    keys.sort();
    assert_eq!(keys, vec!["clusters", "globalClusterIdentifier"]);
}

#[test]
fn an_unknown_kind_is_refused_naming_the_field() {
    let text = RDS_EXAMPLE.replace("kind: rdsReplica", "kind: rdsCluster");
    let err = drctl_schema::parse_documents(text.as_bytes(), "x.yaml").unwrap_err();
    assert!(err.to_string().contains("spec.database.kind"), "{err}");
}

#[test]
fn rds_replica_without_instances_is_refused() {
    let doc = rds_with(|d| d.spec.database.instances.clear());
    assert_problem(
        &doc,
        "spec.database.instances",
        "is required with spec.database.kind: rdsReplica",
    );
}

#[test]
fn rds_replica_refuses_the_aurora_fields() {
    let doc = rds_with(|d| {
        d.spec.database.global_cluster_identifier = "shop-global".into();
        d.spec.database.clusters.insert(
            "us-east-1".into(),
            ClusterTemplate {
                identifier: "shop".into(),
                ..Default::default()
            },
        );
    });
    assert_problem(
        &doc,
        "spec.database.globalClusterIdentifier",
        "is refused with spec.database.kind: rdsReplica",
    );
    assert_problem(
        &doc,
        "spec.database.clusters",
        "is refused with spec.database.kind: rdsReplica",
    );
}

#[test]
fn aurora_global_refuses_instances() {
    let doc = alias_with(|d| {
        d.spec.database.instances.insert(
            "us-east-1".into(),
            InstanceTemplate {
                identifier: "db".into(),
                ..Default::default()
            },
        );
    });
    assert_problem(
        &doc,
        "spec.database.instances",
        "only for spec.database.kind: rdsReplica",
    );
}

#[test]
fn aurora_global_still_requires_its_global_cluster_identifier() {
    let doc = alias_with(|d| d.spec.database.global_cluster_identifier.clear());
    assert_problem(&doc, "spec.database.globalClusterIdentifier", "is required");
}

#[test]
fn instance_identifiers_follow_the_rds_rules() {
    for bad in ["1db", "db--1", "db-", "db_1", "", &"a".repeat(64)] {
        let doc = rds_with(|d| {
            d.spec
                .database
                .instances
                .get_mut("us-west-2")
                .unwrap()
                .identifier = bad.to_string()
        });
        assert_problem(
            &doc,
            "spec.database.instances.us-west-2.identifier",
            "is not an RDS identifier",
        );
    }
}

#[test]
fn an_instance_outside_spec_regions_is_refused() {
    let doc = rds_with(|d| {
        let replica = d.spec.database.instances.remove("us-west-2").unwrap();
        d.spec
            .database
            .instances
            .insert("eu-west-1".into(), replica);
    });
    assert_problem(
        &doc,
        "spec.database.instances.eu-west-1",
        "is not one of spec.regions",
    );
    assert_problem(
        &doc,
        "spec.database.instances",
        "missing an entry for region us-west-2",
    );
}

#[test]
fn a_dns_owner_apart_from_the_writer_is_refused_for_read_replicas() {
    let doc = rds_with(|d| {
        let other = if d.spec.writer == "us-east-1" {
            "us-west-2"
        } else {
            "us-east-1"
        };
        d.spec.dns_owner = Some(other.to_string());
    });
    assert_problem(&doc, "spec.dnsOwner", "must equal spec.writer");
}

#[test]
fn an_aurora_engine_or_a_foreign_kms_key_is_refused_on_an_instance() {
    let doc = rds_with(|d| {
        let replica = d.spec.database.instances.get_mut("us-west-2").unwrap();
        replica.engine = Some("aurora-postgresql".into());
        replica.kms_key_id = Some(
            "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab".into(),
        );
    });
    assert_problem(
        &doc,
        "spec.database.instances.us-west-2.engine",
        "is not one of [mariadb, mysql",
    );
    assert_problem(
        &doc,
        "spec.database.instances.us-west-2.kmsKeyId",
        "is a key in us-east-1",
    );
}

#[test]
fn kind_and_instance_identifiers_are_immutable() {
    let old = rds_with(|_| {});
    let new = rds_with(|d| {
        d.spec
            .database
            .instances
            .get_mut("us-east-1")
            .unwrap()
            .identifier = "shop-db2".into()
    });
    let errs = validate_transition(&old, &new).unwrap_err().to_string();
    assert!(
        errs.contains("spec.database.instances.us-east-1.identifier: field is immutable"),
        "{errs}"
    );
    let aurora = alias_group();
    let mut moved = aurora.clone();
    moved.spec.database = old.spec.database.clone();
    let errs = validate_transition(&aurora, &moved)
        .unwrap_err()
        .to_string();
    assert!(
        errs.contains("spec.database.kind: field is immutable"),
        "{errs}"
    );
}

#[test]
fn two_rds_groups_clash_on_an_instance_and_not_on_the_missing_global_cluster() {
    let a = rds_with(|_| {});
    let mut b = rds_with(|d| {
        d.metadata.name = "shop-copy".into();
        d.spec.dns.record_name = "copy.example.com.".into();
        d.spec
            .database
            .instances
            .get_mut("us-east-1")
            .unwrap()
            .identifier = "copy-db".into();
        d.spec
            .database
            .instances
            .get_mut("us-west-2")
            .unwrap()
            .identifier = "copy-db-2".into();
    });
    assert!(find_clashes(std::slice::from_ref(&b), std::slice::from_ref(&a)).is_empty());
    b.spec
        .database
        .instances
        .get_mut("us-west-2")
        .unwrap()
        .identifier = "SHOP-DB-REPLICA".into();
    let clashes = find_clashes(std::slice::from_ref(&b), std::slice::from_ref(&a));
    assert_eq!(clashes.len(), 1, "{clashes:?}");
    assert_eq!(
        clashes[0].path,
        "spec.database.instances.us-west-2.identifier"
    );
}

#[test]
fn the_json_schema_describes_kind_and_instances() {
    let schema = serde_json::to_string(&drctl_schema::json_schema()).unwrap();
    for needle in [
        "rdsReplica",
        "auroraGlobal",
        "instances",
        "InstanceTemplate",
    ] {
        assert!(schema.contains(needle), "{needle} missing from the schema");
    }
    let validator = jsonschema::validator_for(&drctl_schema::json_schema()).unwrap();
    let doc: serde_json::Value = serde_norway::from_str(RDS_EXAMPLE).unwrap();
    let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
}
