//! Fixtures shared by the schema tests: the shipped examples, parsed, and a small builder
//! that applies one change to them.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use drctl_schema::{parse_documents, FailoverGroup};

pub const ALIAS_EXAMPLE: &str = include_str!("../../../examples/failovergroup.yaml");
pub const CNAME_EXAMPLE: &str = include_str!("../../../examples/failovergroup-cname.yaml");

pub fn alias_group() -> FailoverGroup {
    let mut docs = parse_documents(ALIAS_EXAMPLE.as_bytes(), "failovergroup.yaml").unwrap();
    docs.remove(0)
}

pub fn cname_group() -> FailoverGroup {
    let mut docs = parse_documents(CNAME_EXAMPLE.as_bytes(), "failovergroup-cname.yaml").unwrap();
    docs.remove(0)
}

/// The alias example with one change applied.
pub fn alias_with(change: impl FnOnce(&mut FailoverGroup)) -> FailoverGroup {
    let mut doc = alias_group();
    change(&mut doc);
    doc
}

/// The CNAME example with one change applied.
pub fn cname_with(change: impl FnOnce(&mut FailoverGroup)) -> FailoverGroup {
    let mut doc = cname_group();
    change(&mut doc);
    doc
}

/// The `path: message` lines of the validation errors (empty when valid).
pub fn problems(doc: &FailoverGroup) -> Vec<String> {
    match drctl_schema::validate(doc) {
        Ok(()) => Vec::new(),
        Err(errs) => errs.iter().map(ToString::to_string).collect(),
    }
}

/// Asserts that validation reports a problem at `path` whose message contains `needle`.
pub fn assert_problem(doc: &FailoverGroup, path: &str, needle: &str) {
    let found = problems(doc);
    let prefix = format!("{path}: ");
    assert!(
        found
            .iter()
            .any(|p| p.starts_with(&prefix) && p.contains(needle)),
        "expected a problem `{path}: ...{needle}...`, got {found:#?}"
    );
}

pub const RDS_EXAMPLE: &str = include_str!("../../../examples/failovergroup-rds.yaml");

/// examples/failovergroup-rds.yaml (spec.database.kind: rdsReplica), with one change applied.
pub fn rds_with(change: impl FnOnce(&mut FailoverGroup)) -> FailoverGroup {
    let mut docs = parse_documents(RDS_EXAMPLE.as_bytes(), "failovergroup-rds.yaml").unwrap();
    let mut doc = docs.remove(0);
    change(&mut doc);
    doc
}
