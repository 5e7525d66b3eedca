//! Three-way merge of one writer's change onto a version someone else changed meanwhile.
//!
//! `base` is the version the writer read (the text `drctl edit` showed), `ours` what it wants
//! to write, `theirs` the version stored now. Only what ours changed relative to base is laid
//! on top of theirs, so a concurrent change that ours did not touch survives: saving an edit
//! of maxLagSeconds must not undo the failover that landed while the editor was open. A field
//! both sides changed to different values is a [`Conflict`], for a person to decide.
//!
//! Objects merge key by key. Scalars and arrays are leaves: merging list elements by
//! position would make lists nobody wrote (two services swapped and one edited). A key added
//! or removed is a change; `null` counts as absent, as it does when the document is read.
//! Only `metadata.labels` and `spec` take part: name, resourceVersion and generation are the
//! store's, status the controller's. Structural, not textual: a line-based merge would call
//! two edits of neighbouring YAML lines a conflict and miss a change that moves a block.

use std::collections::BTreeSet;

use drctl_schema::FailoverGroup;
use serde_json::{Map, Value};

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// A version could not be turned into the generic form the merge works on.
    #[error("failovergroup/{name}: cannot compare its versions: {source}")]
    Represent {
        name: String,
        #[source]
        source: serde_json::Error,
    },
    /// Both changes merged cleanly field by field, but together they do not make a document
    /// (for example one side switched a record type and the other added a field of the old
    /// type).
    #[error(
        "failovergroup/{name}: the change merged onto the current version is not a valid \
         document: {source}"
    )]
    Unrepresentable {
        name: String,
        #[source]
        source: serde_json::Error,
    },
}

impl MergeError {
    /// Stable category: `internal` (cannot happen for documents that parsed) or `conflict`.
    pub fn category(&self) -> &'static str {
        match self {
            MergeError::Represent { .. } => "internal",
            MergeError::Unrepresentable { .. } => "conflict",
        }
    }
}

/// One field both sides changed, to different values. `None` is "absent".
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    /// Keys from the document root, e.g. `["spec", "writer"]`; a label key may itself
    /// contain dots, so the path is kept as segments and only joined for display.
    pub path: Vec<String>,
    pub base: Option<Value>,
    pub ours: Option<Value>,
    pub theirs: Option<Value>,
}

impl Conflict {
    /// `spec.writer`, `metadata.labels.team`: the form the journal's change lists use.
    pub fn path(&self) -> String {
        self.path.join(".")
    }
}

/// The merged value, with every conflicting field at its current (`theirs`) value, and the
/// conflicts. Clean when `conflicts` is empty.
#[derive(Debug, Clone, PartialEq)]
pub struct Merge {
    pub value: Value,
    pub conflicts: Vec<Conflict>,
}

/// Merge `ours` (a change of `base`) onto `theirs`.
pub fn merge(base: &Value, ours: &Value, theirs: &Value) -> Merge {
    let mut conflicts = Vec::new();
    let value = merge_at(
        &mut Vec::new(),
        Some(base),
        Some(ours),
        Some(theirs),
        &mut conflicts,
    )
    .unwrap_or(Value::Null);
    Merge { value, conflicts }
}

fn present(value: Option<&Value>) -> Option<&Value> {
    value.filter(|v| !v.is_null())
}

fn merge_at(
    path: &mut Vec<String>,
    base: Option<&Value>,
    ours: Option<&Value>,
    theirs: Option<&Value>,
    conflicts: &mut Vec<Conflict>,
) -> Option<Value> {
    let (base, ours, theirs) = (present(base), present(ours), present(theirs));
    if ours == base {
        return theirs.cloned();
    }
    if theirs == base || theirs == ours {
        return ours.cloned();
    }
    if let (Some(Value::Object(o)), Some(Value::Object(t))) = (ours, theirs) {
        // Both changed an object: key by key. A base that was not an object (or absent) has
        // no keys, so every key either side has counts as added by it.
        let empty = Map::new();
        let b = match base {
            Some(Value::Object(b)) => b,
            _ => &empty,
        };
        let keys: BTreeSet<&String> = b.keys().chain(o.keys()).chain(t.keys()).collect();
        let mut out = Map::new();
        for key in keys {
            path.push(key.clone());
            if let Some(v) = merge_at(path, b.get(key), o.get(key), t.get(key), conflicts) {
                out.insert(key.clone(), v);
            }
            path.pop();
        }
        return Some(Value::Object(out));
    }
    conflicts.push(Conflict {
        path: path.clone(),
        base: base.cloned(),
        ours: ours.cloned(),
        theirs: theirs.cloned(),
    });
    theirs.cloned()
}

/// A writer's intent that the merge did not keep: the leaves where `wanted` (the writer's
/// change applied once more, to the merged value) differs from `merged`. Such a leaf is one
/// the writer sets but did not change, because base already had its value, and that
/// `theirs` changed: `failover --to us-east-1 --allow-data-loss` read writer us-east-1, and
/// a concurrent failover moved it. The plain merge would keep theirs silently.
pub fn unmet_intent(base: &Value, merged: &Value, wanted: &Value, theirs: &Value) -> Vec<Conflict> {
    let mut paths = Vec::new();
    differing_leaves(&mut Vec::new(), Some(merged), Some(wanted), &mut paths);
    paths
        .into_iter()
        .map(|path| Conflict {
            base: value_at(base, &path).cloned(),
            ours: value_at(wanted, &path).cloned(),
            theirs: value_at(theirs, &path).cloned(),
            path,
        })
        .collect()
}

fn differing_leaves(
    path: &mut Vec<String>,
    a: Option<&Value>,
    b: Option<&Value>,
    out: &mut Vec<Vec<String>>,
) {
    let (a, b) = (present(a), present(b));
    if a == b {
        return;
    }
    if let (Some(Value::Object(x)), Some(Value::Object(y))) = (a, b) {
        let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
        for key in keys {
            path.push(key.clone());
            differing_leaves(path, x.get(key), y.get(key), out);
            path.pop();
        }
        return;
    }
    out.push(path.clone());
}

/// The value at `path`, None if any key on the way is absent.
pub fn value_at<'a>(value: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter()
        .try_fold(value, |v, key| v.as_object().and_then(|o| o.get(key)))
        .and_then(|v| present(Some(v)))
}

/// A value for a message: strings bare, absent as `<none>`, the rest as JSON, cut at 80
/// characters.
pub fn show(value: Option<&Value>) -> String {
    let text = match present(value) {
        None => "<none>".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    if text.chars().count() > 80 {
        format!("{}...", text.chars().take(77).collect::<String>())
    } else {
        text
    }
}

/// The part of a document writers change: `{"metadata": {"labels": ...}, "spec": ...}`.
pub fn user_fields(doc: &FailoverGroup) -> Result<Value, MergeError> {
    let represent = |source| MergeError::Represent {
        name: doc.metadata.name.clone(),
        source,
    };
    let labels = serde_json::to_value(&doc.metadata.labels).map_err(represent)?;
    let spec = serde_json::to_value(&doc.spec).map_err(represent)?;
    Ok(serde_json::json!({ "metadata": { "labels": labels }, "spec": spec }))
}

/// `doc` with its labels and spec replaced by `fields` (the form [`user_fields`] makes).
pub fn with_user_fields(doc: &FailoverGroup, fields: &Value) -> Result<FailoverGroup, MergeError> {
    let unrepresentable = |source| MergeError::Unrepresentable {
        name: doc.metadata.name.clone(),
        source,
    };
    let labels = value_at(fields, &["metadata".into(), "labels".into()])
        .cloned()
        .unwrap_or_else(|| Value::Object(Map::new()));
    let spec = fields.get("spec").cloned().unwrap_or(Value::Null);
    let mut out = doc.clone();
    out.metadata.labels = serde_json::from_value(labels).map_err(unrepresentable)?;
    out.spec = serde_json::from_value(spec).map_err(unrepresentable)?;
    Ok(out)
}

/// The merge of two documents: `theirs` (its name, resourceVersion and generation) with the
/// merged labels and spec, no status.
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentMerge {
    pub merged: FailoverGroup,
    pub conflicts: Vec<Conflict>,
}

pub fn merge_documents(
    base: &FailoverGroup,
    ours: &FailoverGroup,
    theirs: &FailoverGroup,
) -> Result<DocumentMerge, MergeError> {
    let result = merge(
        &user_fields(base)?,
        &user_fields(ours)?,
        &user_fields(theirs)?,
    );
    let mut merged = with_user_fields(theirs, &result.value)?;
    merged.status = None;
    Ok(DocumentMerge {
        merged,
        conflicts: result.conflicts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(p: &str) -> Vec<String> {
        p.split('.').map(str::to_string).collect()
    }

    #[test]
    fn changes_to_different_fields_merge_cleanly() {
        let base = json!({"spec": {"writer": "us-east-1", "maxLagSeconds": 5}});
        let ours = json!({"spec": {"writer": "us-east-1", "maxLagSeconds": 9}});
        let theirs = json!({"spec": {"writer": "us-west-2", "maxLagSeconds": 5}});
        let m = merge(&base, &ours, &theirs);
        assert_eq!(m.conflicts, vec![]);
        assert_eq!(
            m.value,
            json!({"spec": {"writer": "us-west-2", "maxLagSeconds": 9}})
        );
    }

    #[test]
    fn both_sides_making_the_same_change_is_not_a_conflict() {
        let base = json!({"spec": {"writer": "us-east-1", "dnsOwner": "us-east-1"}});
        let both = json!({"spec": {"writer": "us-west-2", "dnsOwner": "us-west-2"}});
        let m = merge(&base, &both, &both);
        assert_eq!(m.conflicts, vec![]);
        assert_eq!(m.value, both);
    }

    #[test]
    fn different_changes_of_one_nested_field_conflict_at_its_path_with_three_values() {
        let base = json!({"spec": {"failback": {"approval": "manual"}, "maxLagSeconds": 5}});
        let ours = json!({"spec": {"failback": {"approval": "automatic"}, "maxLagSeconds": 5}});
        let theirs = json!({"spec": {"failback": {"approval": "never"}, "maxLagSeconds": 7}});
        let m = merge(&base, &ours, &theirs);
        assert_eq!(
            m.conflicts,
            vec![Conflict {
                path: path("spec.failback.approval"),
                base: Some(json!("manual")),
                ours: Some(json!("automatic")),
                theirs: Some(json!("never")),
            }]
        );
        assert_eq!(m.conflicts[0].path(), "spec.failback.approval");
        // The conflicting field keeps its current value; the rest merges.
        assert_eq!(
            m.value,
            json!({"spec": {"failback": {"approval": "never"}, "maxLagSeconds": 7}})
        );
    }

    #[test]
    fn deleting_a_field_the_other_side_modified_is_a_conflict() {
        let base = json!({"spec": {"verify": {"url": "https://a/healthz"}, "suspended": false}});
        let ours = json!({"spec": {"suspended": false}});
        let theirs = json!({"spec": {"verify": {"url": "https://b/healthz"}, "suspended": true}});
        let m = merge(&base, &ours, &theirs);
        assert_eq!(
            m.conflicts,
            vec![Conflict {
                path: path("spec.verify"),
                base: Some(json!({"url": "https://a/healthz"})),
                ours: None,
                theirs: Some(json!({"url": "https://b/healthz"})),
            }]
        );
    }

    #[test]
    fn a_deletion_nobody_else_touched_is_kept_and_null_counts_as_absent() {
        let base = json!({"spec": {"dnsOwner": "us-east-1", "writer": "us-east-1"}});
        let ours = json!({"spec": {"dnsOwner": null, "writer": "us-east-1"}});
        let theirs = json!({"spec": {"dnsOwner": "us-east-1", "writer": "us-west-2"}});
        let m = merge(&base, &ours, &theirs);
        assert_eq!(m.conflicts, vec![]);
        assert_eq!(m.value, json!({"spec": {"writer": "us-west-2"}}));
    }

    #[test]
    fn labels_merge_key_by_key_and_a_label_added_on_both_sides_differently_conflicts() {
        let base = json!({"metadata": {"labels": {"team": "payments"}}});
        let ours =
            json!({"metadata": {"labels": {"team": "payments", "tier": "gold", "a.b/c": "x"}}});
        let theirs = json!({"metadata": {"labels": {"team": "core", "tier": "silver"}}});
        let m = merge(&base, &ours, &theirs);
        assert_eq!(
            m.value,
            json!({"metadata": {"labels": {"team": "core", "tier": "silver", "a.b/c": "x"}}})
        );
        assert_eq!(m.conflicts.len(), 1, "{:?}", m.conflicts);
        assert_eq!(
            m.conflicts[0].path,
            vec!["metadata".to_string(), "labels".into(), "tier".into()]
        );
        assert_eq!(m.conflicts[0].base, None);
    }

    #[test]
    fn arrays_are_one_value_not_merged_by_position() {
        let base = json!({"ids": ["a", "b"]});
        let ours = json!({"ids": ["a", "c"]});
        let theirs = json!({"ids": ["x", "b"]});
        let m = merge(&base, &ours, &theirs);
        assert_eq!(m.conflicts.len(), 1);
        assert_eq!(m.conflicts[0].path(), "ids");
    }

    #[test]
    fn an_intent_the_merge_dropped_is_reported_with_what_was_read() {
        // failover --to us-east-1 --allow-data-loss read writer us-east-1; meanwhile the
        // writer moved to us-west-2. The plain merge keeps us-west-2; the intent does not.
        let base = json!({"spec": {"writer": "us-east-1", "allowDataLoss": false}});
        let merged = json!({"spec": {"writer": "us-west-2", "allowDataLoss": true}});
        let wanted = json!({"spec": {"writer": "us-east-1", "allowDataLoss": true}});
        let theirs = json!({"spec": {"writer": "us-west-2", "allowDataLoss": false}});
        assert_eq!(
            unmet_intent(&base, &merged, &wanted, &theirs),
            vec![Conflict {
                path: path("spec.writer"),
                base: Some(json!("us-east-1")),
                ours: Some(json!("us-east-1")),
                theirs: Some(json!("us-west-2")),
            }]
        );
        assert_eq!(unmet_intent(&base, &wanted, &wanted, &theirs), vec![]);
    }

    #[test]
    fn values_show_bare_strings_none_and_cut_long_json() {
        assert_eq!(show(Some(&json!("us-east-1"))), "us-east-1");
        assert_eq!(show(None), "<none>");
        assert_eq!(show(Some(&Value::Null)), "<none>");
        assert_eq!(show(Some(&json!(5))), "5");
        assert!(show(Some(&json!("x".repeat(100)))).ends_with("..."));
    }

    #[test]
    fn documents_merge_over_labels_and_spec_and_keep_the_current_metadata() {
        let base: FailoverGroup = drctl_schema::parse_documents(
            include_bytes!("../../../examples/failovergroup.yaml"),
            "example",
        )
        .unwrap()
        .remove(0);
        let mut ours = base.clone();
        ours.spec.max_lag_seconds = 9;
        ours.metadata.labels.insert("tier".into(), "gold".into());
        let mut theirs = base.clone();
        theirs.spec.writer = "us-west-2".into();
        theirs.spec.dns_owner = Some("us-west-2".into());
        theirs.metadata.resource_version = Some("2".into());
        let m = merge_documents(&base, &ours, &theirs).unwrap();
        assert_eq!(m.conflicts, vec![]);
        assert_eq!(m.merged.spec.writer, "us-west-2");
        assert_eq!(m.merged.spec.max_lag_seconds, 9);
        assert_eq!(
            m.merged.metadata.labels.get("tier").map(String::as_str),
            Some("gold")
        );
        assert_eq!(
            m.merged.metadata.labels.get("team").map(String::as_str),
            Some("payments")
        );
        assert_eq!(m.merged.metadata.resource_version.as_deref(), Some("2"));
    }
}
