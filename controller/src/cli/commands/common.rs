//! What the store-backed commands share: opening the store, mapping store errors to exit
//! status, reading input files, the journal actor, conditional read-modify-write, rendering.

use std::sync::Arc;

use drctl_schema::{FailoverGroup, ParseError, Timestamp};
use drctl_state::{Event, Store, StoreError};
use serde::Serialize;

use crate::cli::exit::{CliError, CliResult};

/// Attempts of a read-modify-write that keeps losing races before giving up with a conflict.
pub const CONFLICT_RETRIES: usize = 5;

/// Open the store a URL names; a malformed URL is invalid usage (exit 2).
pub async fn open_store(url: &str) -> CliResult<Arc<dyn Store>> {
    drctl_state::open(url).await.map_err(store_error)
}

/// Store errors to exit status: stale resourceVersion 3, bad names and URLs 2, everything
/// else (not found, not initialised, unavailable) 1, the way kubectl reports a missing object.
pub fn store_error(err: StoreError) -> CliError {
    match &err {
        StoreError::Conflict { .. } | StoreError::AlreadyExists { .. } => {
            CliError::conflict(anyhow::Error::new(err))
        }
        StoreError::InvalidUrl { .. } | StoreError::InvalidName { .. } => {
            CliError::invalid(anyhow::Error::new(err))
        }
        StoreError::NotInitialized { .. } => CliError::failure(
            anyhow::Error::new(err).context("the store is not initialised: run `drctl init` first"),
        ),
        _ => CliError::failure(anyhow::Error::new(err)),
    }
}

pub fn parse_error(err: ParseError) -> CliError {
    CliError::invalid(anyhow::Error::new(err))
}

/// A named document that must exist (NotFound is exit 1).
pub async fn get_existing(store: &dyn Store, name: &str) -> CliResult<FailoverGroup> {
    match store.get(name).await.map_err(store_error)? {
        Some(doc) => Ok(doc),
        None => Err(store_error(StoreError::NotFound {
            name: name.to_string(),
        })),
    }
}

/// Who made a CLI edit, for the journal: `$USER@hostname`.
pub fn actor() -> String {
    let user = ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "unknown".to_string());
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_else(|| "localhost".to_string());
    format!("{user}@{host}")
}

/// Append a user event to the group's journal. The write it records has already happened, so
/// a journal failure is reported on stderr but does not turn a success into a failure.
pub async fn journal(
    store: &dyn Store,
    name: &str,
    reason: &str,
    message: String,
    data: Option<serde_json::Value>,
) {
    let event = Event {
        seq: 0,
        at: Timestamp::now(),
        actor: actor(),
        reason: reason.to_string(),
        message,
        operation_id: None,
        step: None,
        data,
    };
    if let Err(err) = store.append_event(name, &event, None).await {
        eprintln!("warning: failovergroup/{name}: the change was saved but its journal event was not: {err}");
    }
}

/// The outcome of a conditional read-modify-write.
// Built once per command and returned by value: boxing the documents would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum Modified {
    Unchanged(Box<FailoverGroup>),
    Updated {
        before: Box<FailoverGroup>,
        after: Box<FailoverGroup>,
    },
}

/// Read NAME, apply `change`, validate (document and transition rules), and write it back
/// conditionally on the resourceVersion read; on a conflict re-read and re-apply the change.
/// `change` returns an error to refuse the edit given the current document.
pub async fn modify<F>(store: &dyn Store, name: &str, change: F) -> CliResult<Modified>
where
    F: Fn(&mut FailoverGroup) -> CliResult<()>,
{
    let mut last_conflict = None;
    for _ in 0..CONFLICT_RETRIES {
        let stored = get_existing(store, name).await?;
        let mut doc = stored.clone();
        doc.status = None;
        change(&mut doc)?;
        if doc.spec == stored.spec && doc.metadata.labels == stored.metadata.labels {
            return Ok(Modified::Unchanged(Box::new(stored)));
        }
        drctl_schema::validate(&doc)
            .and_then(|()| drctl_schema::validate_transition(&stored, &doc))
            .map_err(|errs| CliError::invalid(anyhow::anyhow!("failovergroup/{name}: {errs}")))?;
        let expected = stored.metadata.resource_version.clone().unwrap_or_default();
        match store.update(&doc, &expected).await {
            Ok(after) => {
                return Ok(Modified::Updated {
                    before: Box::new(stored),
                    after: Box::new(after),
                })
            }
            Err(err @ StoreError::Conflict { .. }) => last_conflict = Some(err),
            Err(err) => return Err(store_error(err)),
        }
    }
    Err(store_error(last_conflict.unwrap_or_else(|| {
        StoreError::Conflict {
            name: name.to_string(),
            message: "kept changing while being updated; try again".to_string(),
        }
    })))
}

/// The user-editable part of a document as YAML (no status: the controller owns it).
pub fn spec_yaml(doc: &FailoverGroup) -> CliResult<String> {
    let mut doc = doc.clone();
    doc.status = None;
    to_yaml(&doc)
}

pub fn to_yaml<T: Serialize>(value: &T) -> CliResult<String> {
    serde_norway::to_string(value).map_err(|e| CliError::failure(anyhow::Error::new(e)))
}

pub fn to_json<T: Serialize>(value: &T) -> CliResult<String> {
    serde_json::to_string_pretty(value).map_err(|e| CliError::failure(anyhow::Error::new(e)))
}

/// Leaf paths whose values differ between two documents, with old and new values, in document
/// order: `spec.writer: us-east-1 -> us-west-2`. For the journal and for conflict messages.
pub fn changed_fields<T: Serialize>(before: &T, after: &T) -> Vec<String> {
    let (Ok(a), Ok(b)) = (serde_json::to_value(before), serde_json::to_value(after)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    diff_values("", &a, &b, &mut out);
    out
}

fn diff_values(path: &str, a: &serde_json::Value, b: &serde_json::Value, out: &mut Vec<String>) {
    use serde_json::Value;
    if a == b {
        return;
    }
    let join = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for key in keys {
                let null = Value::Null;
                diff_values(
                    &join(key),
                    x.get(key).unwrap_or(&null),
                    y.get(key).unwrap_or(&null),
                    out,
                );
            }
        }
        _ => out.push(format!("{path}: {} -> {}", short(a), short(b))),
    }
}

fn short(v: &serde_json::Value) -> String {
    let text = match v {
        serde_json::Value::Null => "<none>".to_string(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.chars().count() > 80 {
        format!("{}...", text.chars().take(77).collect::<String>())
    } else {
        text
    }
}

/// Labels and spec changed between two documents (what a user edit changes).
/// The journal data of a spec change: the version it made and what changed.
pub fn change_data(after: &FailoverGroup, changes: &[String]) -> serde_json::Value {
    serde_json::json!({
        "resourceVersion": after.metadata.resource_version,
        "generation": after.metadata.generation,
        "changes": changes,
    })
}

pub fn user_changes(before: &FailoverGroup, after: &FailoverGroup) -> Vec<String> {
    let mut changes = changed_fields(&before.metadata.labels, &after.metadata.labels)
        .into_iter()
        .map(|c| format!("metadata.labels.{c}"))
        .collect::<Vec<_>>();
    changes.extend(
        changed_fields(&before.spec, &after.spec)
            .into_iter()
            .map(|c| format!("spec.{c}")),
    );
    changes
}

/// A plain text table, columns padded to their widest cell, like kubectl's.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        let last = cells.len().saturating_sub(1);
        for (i, cell) in cells.iter().enumerate() {
            out.push_str(cell);
            if i < last {
                let pad = widths.get(i).copied().unwrap_or(0) + 3 - cell.chars().count();
                out.push_str(&" ".repeat(pad));
            }
        }
        out.trim_end().to_string()
    };
    let mut out = line(headers.to_vec());
    for row in rows {
        out.push('\n');
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// kubectl-style age: `45s`, `12m`, `3h`, `5d`.
pub fn age(since: Timestamp, now: Timestamp) -> String {
    let secs = (now.millis() - since.millis()).max(0) / 1000;
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// A duration in seconds as `1m05s` / `4.2s`.
pub fn duration(secs: f64) -> String {
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        let whole = secs.round() as i64;
        if whole < 3600 {
            format!("{}m{:02}s", whole / 60, whole % 60)
        } else {
            format!("{}h{:02}m", whole / 3600, (whole % 3600) / 60)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_pads_columns_to_the_widest_cell() {
        let t = table(
            &["NAME", "WRITER"],
            &[
                vec!["a".into(), "us-east-1".into()],
                vec!["longer-name".into(), "-".into()],
            ],
        );
        assert_eq!(
            t,
            "NAME          WRITER\na             us-east-1\nlonger-name   -"
        );
    }

    #[test]
    fn changed_fields_lists_leaf_paths_with_old_and_new_values() {
        let a = serde_json::json!({"writer": "us-east-1", "dns": {"ttl": 60, "name": "x"}});
        let b = serde_json::json!({"writer": "us-west-2", "dns": {"ttl": 30, "name": "x"}});
        assert_eq!(
            changed_fields(&a, &b),
            vec!["dns.ttl: 60 -> 30", "writer: us-east-1 -> us-west-2"]
        );
    }

    #[test]
    fn ages_and_durations_read_like_kubectl() {
        let t0 = Timestamp::from_millis(0);
        assert_eq!(age(t0, Timestamp::from_millis(45_000)), "45s");
        assert_eq!(age(t0, Timestamp::from_millis(720_000)), "12m");
        assert_eq!(age(t0, Timestamp::from_millis(3 * 86_400_000)), "3d");
        assert_eq!(duration(4.25), "4.2s");
        assert_eq!(duration(65.0), "1m05s");
    }
}
