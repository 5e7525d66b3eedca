//! Parsing: YAML and JSON, multi-document input, limits, and where errors point.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use drctl_schema::parse::{parse_and_validate, DocumentErrors};
use drctl_schema::{parse_documents, ParseError, MAX_DOCUMENT_BYTES};

fn err_text(input: &str) -> String {
    parse_and_validate(input.as_bytes(), "in.yaml")
        .unwrap_err()
        .to_string()
}

fn renamed(name: &str) -> String {
    ALIAS_EXAMPLE.replace("name: myapp-prod", &format!("name: {name}"))
}

#[test]
fn yaml_multi_document_input_yields_every_document_in_order() {
    let input = format!("{}\n---\n{}", renamed("one"), CNAME_EXAMPLE);
    let docs = parse_and_validate(input.as_bytes(), "in.yaml").unwrap();
    let names: Vec<_> = docs.iter().map(|d| d.metadata.name.as_str()).collect();
    assert_eq!(names, ["one", "orders-prod"]);
}

#[test]
fn json_object_and_json_array_are_accepted() {
    let doc = alias_group();
    let one = serde_json::to_string(&doc).unwrap();
    assert_eq!(
        parse_and_validate(one.as_bytes(), "in.json").unwrap(),
        vec![doc.clone()]
    );
    let mut other = cname_group();
    other.metadata.name = "b".into();
    let both = serde_json::to_string(&vec![doc.clone(), other.clone()]).unwrap();
    assert_eq!(
        parse_and_validate(both.as_bytes(), "in.json").unwrap(),
        vec![doc, other]
    );
}

#[test]
fn yaml_round_trips_through_serialisation() {
    let doc = alias_group();
    let text = serde_norway::to_string(&doc).unwrap();
    assert_eq!(parse_documents(text.as_bytes(), "x").unwrap(), vec![doc]);
}

#[test]
fn oversized_input_is_refused_before_parsing() {
    let input = vec![b'#'; MAX_DOCUMENT_BYTES + 1];
    let err = parse_documents(&input, "big.yaml").unwrap_err();
    assert!(matches!(err, ParseError::TooLarge { size, .. } if size == MAX_DOCUMENT_BYTES + 1));
    assert!(err.to_string().contains("over the limit"));
}

#[test]
fn invalid_utf8_is_refused_with_its_position() {
    let mut input = b"apiVersion: drctl.io/v1alpha1\nkind: Fa".to_vec();
    input.extend([0xff, 0xfe]);
    let err = parse_documents(&input, "x.yaml").unwrap_err();
    assert_eq!(
        err,
        ParseError::NotUtf8 {
            source_name: "x.yaml".into(),
            line: 2,
            column: 9
        }
    );
}

#[test]
fn empty_input_is_refused() {
    for input in ["", "   \n\n", "# only a comment\n", "---\n---\n"] {
        let err = parse_documents(input.as_bytes(), "e.yaml").unwrap_err();
        assert!(matches!(err, ParseError::Empty { .. }), "{input:?}: {err}");
    }
}

#[test]
fn an_empty_document_between_documents_is_refused() {
    let input = format!("{}\n---\n---\n{}", renamed("one"), CNAME_EXAMPLE);
    let text = err_text(&input);
    assert!(text.contains("document 2: (document): is empty"), "{text}");
}

#[test]
fn yaml_syntax_error_names_document_line_and_column() {
    let input = format!("{}\n---\nkind: [unclosed\nspec: x\n", renamed("one"));
    let err = parse_documents(input.as_bytes(), "s.yaml").unwrap_err();
    let ParseError::Syntax { document, line, .. } = &err else {
        panic!("expected a syntax error, got {err}");
    };
    assert_eq!(*document, Some(2));
    assert!(*line > 60, "line {line} should be in the second document");
    assert!(
        err.to_string().contains("document 2: syntax error at line"),
        "{err}"
    );
}

#[test]
fn json_syntax_error_names_line_and_column() {
    let err =
        parse_documents(b"{\n  \"kind\": \"FailoverGroup\",\n  oops\n}", "s.json").unwrap_err();
    assert!(
        matches!(
            err,
            ParseError::Syntax {
                line: 3,
                column: 3,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn unknown_field_is_rejected_with_its_path() {
    let input = ALIAS_EXAMPLE.replace(
        "  suspended: false",
        "  suspended: false\n  dnsOwnr: us-east-1",
    );
    let text = err_text(&input);
    assert!(
        text.contains("spec.dnsOwnr: unknown field `dnsOwnr`"),
        "{text}"
    );
}

#[test]
fn unknown_nested_field_is_rejected_with_its_path() {
    let input = ALIAS_EXAMPLE.replace(
        "aliasHostedZoneId: Z35SXDOTRQ7X7K",
        "aliasHostedZoneId: Z35SXDOTRQ7X7K\n        weight: 10",
    );
    let text = err_text(&input);
    assert!(
        text.contains("spec.dns.targets.us-east-1.weight: unknown field"),
        "{text}"
    );
}

#[test]
fn missing_required_field_is_reported_with_its_path() {
    let input = ALIAS_EXAMPLE.replace("  writer: us-east-1\n", "");
    let text = err_text(&input);
    assert!(text.contains("spec.writer: is required"), "{text}");
}

#[test]
fn wrong_type_is_reported_with_its_path() {
    let input = ALIAS_EXAMPLE.replace("maxLagSeconds: 5", "maxLagSeconds: five");
    let text = err_text(&input);
    assert!(text.contains("spec.maxLagSeconds: invalid type"), "{text}");
    let input = ALIAS_EXAMPLE.replace(
        "{desired: 6, min: 6, max: 24}",
        "{desired: -1, min: 6, max: 24}",
    );
    let text = err_text(&input);
    assert!(
        text.contains("spec.compute.services[0].active.desired: invalid value"),
        "{text}"
    );
}

#[test]
fn document_of_another_kind_gets_one_clear_error() {
    let input =
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 3}\n";
    let text = err_text(input);
    assert!(
        text.contains("kind: \"Deployment\" is not supported: expected FailoverGroup"),
        "{text}"
    );
    assert!(
        text.contains("apiVersion: \"apps/v1\" is not supported"),
        "{text}"
    );
    assert!(!text.contains("unknown field"), "{text}");
}

#[test]
fn duplicate_names_in_one_input_are_rejected() {
    let input = format!("{}\n---\n{}", ALIAS_EXAMPLE, ALIAS_EXAMPLE);
    let err = parse_and_validate(input.as_bytes(), "d.yaml").unwrap_err();
    let ParseError::Invalid { errors, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].index, 2);
    assert!(err
        .to_string()
        .contains("metadata.name: \"myapp-prod\" is also the name of document 1"));
}

#[test]
fn problems_of_every_document_are_reported_together() {
    let first = renamed("one").replace("writer: us-east-1", "writer: eu-west-9");
    let second = CNAME_EXAMPLE.replace("ttl: 30", "ttl: 0");
    let err =
        parse_and_validate(format!("{first}\n---\n{second}").as_bytes(), "m.yaml").unwrap_err();
    let ParseError::Invalid { errors, .. } = &err else {
        panic!("{err}");
    };
    let indexes: Vec<usize> = errors.iter().map(|d: &DocumentErrors| d.index).collect();
    assert_eq!(indexes, [1, 2]);
    let text = err.to_string();
    assert!(text.contains("m.yaml: document 1 (one): spec.writer: \"eu-west-9\" is not one of spec.regions [us-east-1, us-west-2]"), "{text}");
    assert!(
        text.contains("m.yaml: document 2 (orders-prod): spec.dns.ttl: 0 is out of range"),
        "{text}"
    );
}

#[test]
fn scalar_document_is_rejected() {
    let text = err_text("just a string\n");
    assert!(
        text.contains("expected a FailoverGroup mapping, got a string"),
        "{text}"
    );
}

#[test]
fn status_in_input_is_parsed_so_callers_can_drop_it() {
    let input = format!("{ALIAS_EXAMPLE}status:\n  phase: Converged\n");
    let docs = parse_and_validate(input.as_bytes(), "s.yaml").unwrap();
    assert!(docs[0].status.is_some());
}
