//! `spec.dependencies` (docs/design-contract.md §7.5): the contract's example is valid, and
//! every bad input is refused naming its field.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use drctl_schema::{
    parse_documents, DependenciesSpec, FailoverGroup, GlobalTableDependency,
    S3ReplicationDependency,
};

/// The contract's example, in YAML, appended to the alias example's spec.
const CONTRACT_EXAMPLE: &str = "  dependencies:
    s3Replication: [{bucket: shop-assets-east, region: us-east-1, destinationBucket: shop-assets-west}]
    dynamodbGlobalTables: [{table: shop-sessions, regions: [us-east-1, us-west-2]}]
";

fn with_yaml(extra: &str) -> Result<FailoverGroup, String> {
    let text = format!("{}\n{extra}", ALIAS_EXAMPLE.trim_end_matches('\n'));
    parse_documents(text.as_bytes(), "deps.yaml")
        .map(|mut docs| docs.remove(0))
        .map_err(|e| e.to_string())
}

fn bucket() -> S3ReplicationDependency {
    S3ReplicationDependency {
        bucket: "shop-assets-east".into(),
        region: "us-east-1".into(),
        destination_bucket: "shop-assets-west".into(),
    }
}

fn table() -> GlobalTableDependency {
    GlobalTableDependency {
        table: "shop-sessions".into(),
        regions: vec!["us-east-1".into(), "us-west-2".into()],
    }
}

fn with_deps(deps: DependenciesSpec) -> FailoverGroup {
    alias_with(|d| d.spec.dependencies = Some(deps))
}

fn with_bucket(change: impl FnOnce(&mut S3ReplicationDependency)) -> FailoverGroup {
    let mut b = bucket();
    change(&mut b);
    with_deps(DependenciesSpec {
        s3_replication: Some(vec![b]),
        dynamodb_global_tables: None,
    })
}

fn with_table(change: impl FnOnce(&mut GlobalTableDependency)) -> FailoverGroup {
    let mut t = table();
    change(&mut t);
    with_deps(DependenciesSpec {
        s3_replication: None,
        dynamodb_global_tables: Some(vec![t]),
    })
}

#[test]
fn the_contract_example_parses_and_is_valid() {
    let doc = with_yaml(CONTRACT_EXAMPLE).unwrap();
    let deps = doc.spec.dependencies.clone().unwrap();
    assert_eq!(deps.buckets(), [bucket()]);
    assert_eq!(deps.tables(), [table()]);
    assert_eq!(problems(&doc), Vec::<String>::new());
}

#[test]
fn without_dependencies_the_spec_round_trips_without_the_field() {
    let doc = alias_group();
    assert_eq!(doc.spec.dependencies, None);
    let json = serde_json::to_value(&doc.spec).unwrap();
    assert!(json.get("dependencies").is_none(), "{json}");
}

#[test]
fn a_bucket_name_outside_the_s3_rules_is_refused_naming_the_field() {
    for bad in [
        "Shop-Assets",
        "ab",
        "shop..assets",
        "10.0.0.1",
        "shop_assets",
    ] {
        let doc = with_bucket(|b| b.bucket = bad.into());
        assert_problem(
            &doc,
            "spec.dependencies.s3Replication[0].bucket",
            "S3 bucket name",
        );
    }
    let doc = with_bucket(|b| b.destination_bucket = "Bad".into());
    assert_problem(
        &doc,
        "spec.dependencies.s3Replication[0].destinationBucket",
        "S3 bucket name",
    );
}

#[test]
fn a_bucket_replicating_to_itself_is_refused() {
    let doc = with_bucket(|b| b.destination_bucket = b.bucket.clone());
    assert_problem(
        &doc,
        "spec.dependencies.s3Replication[0].destinationBucket",
        "the source bucket itself",
    );
}

#[test]
fn a_bucket_region_outside_spec_regions_is_refused() {
    let doc = with_bucket(|b| b.region = "eu-west-1".into());
    assert_problem(
        &doc,
        "spec.dependencies.s3Replication[0].region",
        "\"eu-west-1\" is not one of spec.regions",
    );
}

#[test]
fn a_table_region_outside_spec_regions_is_refused() {
    let doc = with_table(|t| t.regions[1] = "eu-west-1".into());
    assert_problem(
        &doc,
        "spec.dependencies.dynamodbGlobalTables[0].regions[1]",
        "\"eu-west-1\" is not one of spec.regions",
    );
}

#[test]
fn a_bad_table_name_and_a_region_listed_twice_are_refused() {
    let doc = with_table(|t| t.table = "a b".into());
    assert_problem(
        &doc,
        "spec.dependencies.dynamodbGlobalTables[0].table",
        "DynamoDB table name",
    );
    let doc = with_table(|t| t.regions[1] = "us-east-1".into());
    assert_problem(
        &doc,
        "spec.dependencies.dynamodbGlobalTables[0].regions[1]",
        "listed twice",
    );
}

#[test]
fn empty_lists_are_refused() {
    let doc = with_deps(DependenciesSpec {
        s3_replication: Some(Vec::new()),
        dynamodb_global_tables: Some(Vec::new()),
    });
    assert_problem(&doc, "spec.dependencies.s3Replication", "is empty");
    assert_problem(&doc, "spec.dependencies.dynamodbGlobalTables", "is empty");
    let doc = with_table(|t| t.regions.clear());
    assert_problem(
        &doc,
        "spec.dependencies.dynamodbGlobalTables[0].regions",
        "is empty",
    );
    let doc = with_deps(DependenciesSpec::default());
    assert_problem(&doc, "spec.dependencies", "give s3Replication");
}

#[test]
fn unknown_keys_are_refused_naming_them() {
    let err = with_yaml(
        "  dependencies:\n    s3Replication: [{bucket: shop-assets-east, region: us-east-1, destinationBucket: shop-assets-west, rule: all}]\n",
    )
    .unwrap_err();
    assert!(
        err.contains("spec.dependencies.s3Replication[0].rule: unknown field `rule`"),
        "{err}"
    );
    let err = with_yaml("  dependencies:\n    efsReplication: []\n").unwrap_err();
    assert!(
        err.contains("spec.dependencies.efsReplication: unknown field `efsReplication`"),
        "{err}"
    );
}
