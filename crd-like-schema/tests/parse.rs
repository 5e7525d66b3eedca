//! Parsing: YAML and JSON, multi-document input, limits, and where errors point.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use drctl_schema::parse::{parse_and_validate, parse_located, DocumentErrors, Position};
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

// ---------------------------------------------------------------------------------------------
// Lists, limits per document, and inputs built to hurt the parser.
// ---------------------------------------------------------------------------------------------

fn syntax_at(err: &ParseError) -> (usize, usize, &str) {
    match err {
        ParseError::Syntax {
            line,
            column,
            message,
            ..
        } => (*line, *column, message.as_str()),
        other => panic!("expected a syntax error, got {other}"),
    }
}

/// A kubectl List of the two examples, as `drctl get -o yaml` prints it (status included).
fn yaml_list() -> String {
    let mut a = alias_group();
    a.metadata.resource_version = Some("3".into());
    a.metadata.generation = Some(2);
    let list = serde_json::json!({
        "apiVersion": "v1",
        "kind": "List",
        "items": [a, cname_group()],
    });
    serde_norway::to_string(&list).unwrap()
}

#[test]
fn a_kubectl_list_is_read_as_its_items_with_their_positions() {
    let docs = parse_located(yaml_list().as_bytes(), "backup.yaml", true).unwrap();
    let found: Vec<(&str, Position)> = docs
        .iter()
        .map(|l| (l.doc.metadata.name.as_str(), l.position))
        .collect();
    assert_eq!(
        found,
        [
            (
                "myapp-prod",
                Position {
                    document: 1,
                    item: Some(0)
                }
            ),
            (
                "orders-prod",
                Position {
                    document: 1,
                    item: Some(1)
                }
            ),
        ]
    );
    // Server-set metadata is kept for the caller to handle, as in a single document.
    assert_eq!(docs[0].doc.metadata.resource_version.as_deref(), Some("3"));
    let json =
        serde_json::to_string(&serde_norway::from_str::<serde_json::Value>(&yaml_list()).unwrap())
            .unwrap();
    assert_eq!(
        parse_and_validate(json.as_bytes(), "backup.json")
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn a_list_item_error_names_the_document_and_the_item_path() {
    let bad = yaml_list().replacen("writer: us-east-1", "writer: eu-west-9", 1);
    let text = parse_and_validate(bad.as_bytes(), "b.yaml")
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("b.yaml: document 1 (myapp-prod): items[0].spec.writer: \"eu-west-9\" is not one of spec.regions"),
        "{text}"
    );
}

#[test]
fn a_list_with_another_api_version_or_extra_fields_is_refused() {
    let text = err_text(&yaml_list().replace("apiVersion: v1\n", "apiVersion: v2\n"));
    assert!(
        text.contains("apiVersion: \"v2\" is not supported for kind List"),
        "{text}"
    );
    let text = err_text(&format!("{}extra: 1\n", yaml_list()));
    assert!(
        text.contains("extra: unknown field `extra` of a List"),
        "{text}"
    );
    let text = err_text("apiVersion: v1\nkind: List\nitems: 3\n");
    assert!(
        text.contains("items: is required and must be a list"),
        "{text}"
    );
}

#[test]
fn names_must_be_unique_across_list_items_and_documents() {
    let input = format!("{}---\n{ALIAS_EXAMPLE}", yaml_list());
    let text = err_text(&input);
    assert!(
        text.contains("document 2 (myapp-prod): metadata.name: \"myapp-prod\" is also the name of document 1 (items[0])"),
        "{text}"
    );
}

#[test]
fn the_size_limit_is_per_document_so_a_thousand_groups_fit_in_one_input() {
    let mut input = String::new();
    for i in 0..1000 {
        input.push_str("---\n");
        input.push_str(&renamed(&format!("group-{i}")));
    }
    assert!(input.len() > MAX_DOCUMENT_BYTES);
    assert_eq!(
        parse_documents(input.as_bytes(), "many.yaml")
            .unwrap()
            .len(),
        1000
    );
    let big = format!("{ALIAS_EXAMPLE}# {}\n", "x".repeat(MAX_DOCUMENT_BYTES));
    let err = parse_documents(format!("{input}---\n{big}").as_bytes(), "many.yaml").unwrap_err();
    assert!(
        matches!(err, ParseError::TooLarge { document: 1001, .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("over the per-document limit"),
        "{err}"
    );
}

#[test]
fn json_objects_with_a_repeated_key_are_refused_at_the_key() {
    let input = "{\n  \"apiVersion\": \"drctl.io/v1alpha1\",\n  \"kind\": \"FailoverGroup\",\n  \"kind\": \"FailoverGroup\"\n}";
    let err = parse_documents(input.as_bytes(), "d.json").unwrap_err();
    let (line, _, message) = syntax_at(&err);
    assert_eq!(line, 4);
    assert!(message.contains("duplicate key \"kind\""), "{err}");
    // Nested objects too.
    let doc = serde_json::to_string_pretty(&alias_group()).unwrap();
    let nested = doc.replacen(
        "\"writer\": \"us-east-1\",",
        "\"writer\": \"us-east-1\",\n    \"writer\": \"us-west-2\",",
        1,
    );
    let err = parse_documents(nested.as_bytes(), "d.json").unwrap_err();
    assert!(
        syntax_at(&err).2.contains("duplicate key \"writer\""),
        "{err}"
    );
}

#[test]
fn yaml_tags_are_refused_with_their_position_not_dropped() {
    let input = ALIAS_EXAMPLE.replace(
        "globalClusterIdentifier: myapp-prod-global",
        "globalClusterIdentifier: !Ref GlobalCluster",
    );
    let err = parse_documents(input.as_bytes(), "t.yaml").unwrap_err();
    let (line, column, message) = syntax_at(&err);
    assert_eq!((line, column), (18, 30), "{err}");
    assert!(message.contains("YAML tag !Ref is not supported"), "{err}");
    // The core schema's own tags mean what they say and are kept.
    let input = ALIAS_EXAMPLE.replace("engineVersion: \"16.3\"", "engineVersion: !!str 16.3");
    let docs = parse_documents(input.as_bytes(), "t.yaml").unwrap();
    let cluster = &docs[0].spec.database.clusters["us-east-1"];
    assert_eq!(cluster.engine_version.as_deref(), Some("16.3"));
}

#[test]
fn deep_nesting_is_refused_quickly_at_the_first_level_too_deep() {
    // 100,000 brackets (200 KB) took the YAML parser 27 s to refuse.
    let input = format!(
        "{ALIAS_EXAMPLE}extra: {}{}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let err = parse_documents(input.as_bytes(), "deep.yaml").unwrap_err();
    let (line, column, message) = syntax_at(&err);
    assert_eq!(line, 68, "{err}");
    assert_eq!(column, 8 + 63, "{err}");
    assert!(message.contains("nested more than 64 levels"), "{err}");
    let json = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let err = parse_documents(json.as_bytes(), "deep.json").unwrap_err();
    assert_eq!(syntax_at(&err).0, 1);
    assert!(
        syntax_at(&err).2.contains("nested more than 64 levels"),
        "{err}"
    );
}

#[test]
fn a_billion_laughs_is_refused_with_a_real_position() {
    // The classic: nine aliases per level. Over the alias limit at the 65th.
    let mut laughs = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for (prev, name) in ["a", "b", "c", "d", "e", "f", "g", "h"]
        .iter()
        .zip(["b", "c", "d", "e", "f", "g", "h", "i"])
    {
        let refs = vec![format!("*{prev}"); 9].join(",");
        laughs.push_str(&format!("{name}: &{name} [{refs}]\n"));
    }
    let err = parse_documents(laughs.as_bytes(), "lol.yaml").unwrap_err();
    let (line, column, message) = syntax_at(&err);
    assert_eq!((line, column), (9, 11), "{err}");
    assert!(message.contains("more than 64 aliases"), "{err}");
    // Few aliases, each doubling the last: refused by the expansion limit, at the first alias.
    let mut doubling = String::from("a0: &a0 [x, x]\n");
    for i in 1..30 {
        doubling.push_str(&format!("a{i}: &a{i} [*a{}, *a{}]\n", i - 1, i - 1));
    }
    let err = parse_documents(doubling.as_bytes(), "lol.yaml").unwrap_err();
    let (line, column, message) = syntax_at(&err);
    assert_ne!((line, column), (0, 0), "{err}");
    assert_eq!((line, column), (2, 10), "{err}");
    assert!(message.contains("aliases expand"), "{err}");
}

#[test]
fn a_huge_value_is_named_not_echoed_whole() {
    let huge = "x".repeat(900 * 1024);
    let input = ALIAS_EXAMPLE.replace("writer: us-east-1", &format!("writer: {huge}"));
    let text = parse_and_validate(input.as_bytes(), "h.yaml")
        .unwrap_err()
        .to_string();
    assert!(text.len() < 1000, "{} bytes of error", text.len());
    assert!(text.contains("spec.writer: \"xxxxxxxx"), "{text}");
    assert!(text.contains("…\" is not one of spec.regions"), "{text}");
}

#[test]
fn objectives_parse_and_refuse_unknown_or_negative_fields() {
    let with = |objectives: &str| {
        ALIAS_EXAMPLE.replace(
            "  suspended: false",
            &format!("  suspended: false\n  objectives: {objectives}"),
        )
    };
    let docs =
        drctl_schema::parse_documents(with("{rtoSeconds: 300, rpoSeconds: 5}").as_bytes(), "f")
            .unwrap();
    assert_eq!(
        docs[0].spec.objectives,
        Some(drctl_schema::Objectives {
            rto_seconds: Some(300),
            rpo_seconds: Some(5)
        })
    );
    let text = err_text(&with("{rtoSecs: 300}"));
    assert!(
        text.contains("spec.objectives.rtoSecs: unknown field"),
        "{text}"
    );
    let text = err_text(&with("{rpoSeconds: -1}"));
    assert!(text.contains("spec.objectives.rpoSeconds"), "{text}");
}
