//! The published JSON Schema (`drctl schema`) must accept what the parser accepts: the shipped
//! examples, and reject the shapes the parser rejects.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::json;

fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&drctl_schema::json_schema()).unwrap()
}

fn as_json(yaml: &str) -> serde_json::Value {
    serde_norway::from_str(yaml).unwrap()
}

fn schema_errors(instance: &serde_json::Value) -> Vec<String> {
    validator()
        .iter_errors(instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

#[test]
fn shipped_examples_validate_against_the_json_schema() {
    for (name, text) in [
        ("failovergroup.yaml", ALIAS_EXAMPLE),
        ("failovergroup-cname.yaml", CNAME_EXAMPLE),
    ] {
        let errors = schema_errors(&as_json(text));
        assert!(errors.is_empty(), "{name}: {errors:#?}");
    }
}

#[test]
fn a_stored_document_with_status_validates_against_the_json_schema() {
    let mut doc = as_json(ALIAS_EXAMPLE);
    doc["metadata"]["resourceVersion"] = json!("7");
    doc["metadata"]["generation"] = json!(3);
    doc["status"] = json!({
        "observedGeneration": 3,
        "phase": "Converged",
        "conditions": [{"type": "Ready", "status": "True", "reason": "Converged",
                        "message": "", "lastTransitionTime": "2026-01-02T03:04:05.000Z"}],
        "operation": {"id": "op-1", "type": "Switchover", "from": "us-east-1", "to": "us-west-2",
                      "startedAt": "2026-01-02T03:04:05.000Z",
                      "steps": [{"name": "ScaleUpTarget", "state": "Succeeded"}]}
    });
    let errors = schema_errors(&doc);
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn json_schema_rejects_unknown_fields_and_wrong_types() {
    let mut unknown = as_json(ALIAS_EXAMPLE);
    unknown["spec"]["dnsOwnr"] = json!("us-east-1");
    assert!(!schema_errors(&unknown).is_empty());

    let mut wrong_type = as_json(ALIAS_EXAMPLE);
    wrong_type["spec"]["maxLagSeconds"] = json!("five");
    assert!(!schema_errors(&wrong_type).is_empty());

    let mut missing = as_json(ALIAS_EXAMPLE);
    missing["spec"].as_object_mut().unwrap().remove("writer");
    assert!(!schema_errors(&missing).is_empty());
}
