//! What the store-backed commands share: opening the store, mapping store errors to exit
//! status, reading input files, the journal actor, conditional read-modify-write, rendering.

use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

use drctl_schema::{FailoverGroup, ParseError, Timestamp, ValidationErrors};
use drctl_state::{Event, Store, StoreError};
use serde::Serialize;

use crate::cli::exit::{CliError, CliResult};
use crate::cli::merge::{
    merge_documents, show, unmet_intent, user_fields, Conflict, DocumentMerge, MergeError,
};

/// Attempts of a read-modify-write that keeps losing races before giving up with a conflict.
/// A write without a resourceVersion is "last writer wins, merged": losing a race to a
/// concurrent writer is not the user's conflict, so it is retried, with jittered backoff
/// (contenders that lost together must not retry together), on every store alike. Eight
/// parallel applies on DynamoDB need more rounds than on a local file lock: 5 rounds without
/// a pause let 3 of 8 exit 3.
pub const CONFLICT_RETRIES: usize = 20;

/// The pauses between attempts of a lost race: 10 ms doubling to 500 ms, jittered.
pub fn conflict_backoff() -> impl Iterator<Item = Duration> {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(10))
        .with_max_delay(Duration::from_millis(500))
        .with_jitter()
        .without_max_times()
        .build()
}

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

/// A user event for the journal, by this user, now.
pub fn user_event(reason: &str, message: String, data: Option<serde_json::Value>) -> Event {
    Event {
        seq: 0,
        at: Timestamp::now(),
        actor: actor(),
        reason: reason.to_string(),
        message,
        operation_id: None,
        step: None,
        data,
    }
}

/// The journal event that records a spec write from `before` to `after` (the record the
/// write leaves). It goes into the same atomic write as the spec (`update_with_event`).
pub type Note<'a> = &'a (dyn Fn(&FailoverGroup, &FailoverGroup) -> Event + Sync);

/// The outcome of a conditional read-modify-write.
// Built once per command and returned by value: boxing the documents would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum Modified {
    Unchanged(Box<FailoverGroup>),
    /// `before` is the version the write replaced: the one read, or the newer one the change
    /// was merged onto.
    Updated {
        before: Box<FailoverGroup>,
        after: Box<FailoverGroup>,
    },
}

/// Read NAME, apply `change`, validate (document and transition rules), and write it back
/// conditionally on the resourceVersion read. When someone else wrote first, the change is
/// merged onto the current version ([`write_merged`]); a concurrent change of a field that
/// `change` sets, to another value, is refused (exit 3) instead of overwritten.
/// `change` returns an error to refuse the edit given the document.
/// `note` makes the journal event, written with the change in one atomic write.
pub async fn modify<F>(
    store: &dyn Store,
    name: &str,
    change: F,
    note: Note<'_>,
) -> CliResult<Modified>
where
    F: Fn(&mut FailoverGroup) -> CliResult<()>,
{
    let base = get_existing(store, name).await?;
    let mut ours = base.clone();
    ours.status = None;
    change(&mut ours)?;
    if same_user_fields(&ours, &base) {
        return Ok(Modified::Unchanged(Box::new(base)));
    }
    check_write(&base, &ours)
        .map_err(|errs| CliError::invalid(anyhow::anyhow!("failovergroup/{name}: {errs}")))?;
    match write_merged(store, name, &base, &ours, &change, note).await? {
        Rebased::Updated { before, after } => Ok(Modified::Updated { before, after }),
        Rebased::Unchanged(current) => Ok(Modified::Unchanged(current)),
        Rebased::Conflicts { conflicts, .. } => {
            let lines = describe_conflicts(store, name, &base, &conflicts, COMMAND_SIDES).await;
            Err(CliError::conflict(anyhow::anyhow!(
                "failovergroup/{name} was changed since this command read it (resourceVersion \
                 {}), in fields this command sets; nothing was written:\n  {}\nSee `drctl \
                 history {name}`, then run the command again if it still applies.",
                base.metadata.resource_version.as_deref().unwrap_or("-"),
                lines.join("\n  ")
            )))
        }
        Rebased::Invalid { message, .. } => Err(CliError::conflict(anyhow::anyhow!(
            "failovergroup/{name} was changed since this command read it, and this command's \
             change on top of the current version is invalid; nothing was written: {message}"
        ))),
    }
}

/// Labels and spec, the fields a user's write replaces, are the same.
pub fn same_user_fields(a: &FailoverGroup, b: &FailoverGroup) -> bool {
    a.spec == b.spec && a.metadata.labels == b.metadata.labels
}

/// The document rules and the transition rules from `stored`, as every write checks them.
pub fn check_write(stored: &FailoverGroup, doc: &FailoverGroup) -> Result<(), ValidationErrors> {
    drctl_schema::validate(doc).and_then(|()| drctl_schema::validate_transition(stored, doc))
}

/// What writing a change, merged onto newer versions as needed, came to.
pub enum Rebased {
    /// Written over `before`: the base, or the newer version the change was merged onto.
    Updated {
        before: Box<FailoverGroup>,
        after: Box<FailoverGroup>,
    },
    /// The current version already has the change.
    Unchanged(Box<FailoverGroup>),
    /// Someone else changed fields of the change to other values; nothing was written.
    /// `merged` is `current` with the rest of the change applied.
    Conflicts {
        current: Box<FailoverGroup>,
        merged: Box<FailoverGroup>,
        conflicts: Vec<Conflict>,
    },
    /// The change merged onto `current` is not a valid document; nothing was written.
    Invalid {
        current: Box<FailoverGroup>,
        merged: Option<Box<FailoverGroup>>,
        message: String,
    },
}

/// A change's own rule, checked again on the merged document (see [`unmet_intent`]).
pub type Intent<'a> = &'a dyn Fn(&mut FailoverGroup) -> CliResult<()>;

/// Every read-modify-write of a document ends here. Write `ours` (a change of `base`)
/// conditionally on base's resourceVersion. When someone wrote first, re-read and lay only
/// what ours changed onto the current version (three-way merge), check that `intent` still
/// holds there, and write that, conditionally on the version it was merged onto. Re-applying
/// the change to the current version instead would silently undo concurrent changes of the
/// same fields. Bounded: a group that keeps changing is a conflict. Each write carries its
/// journal event (`note`), so the change is never saved without it.
pub async fn write_merged(
    store: &dyn Store,
    name: &str,
    base: &FailoverGroup,
    ours: &FailoverGroup,
    intent: Intent<'_>,
    note: Note<'_>,
) -> CliResult<Rebased> {
    let mut pauses = conflict_backoff();
    let mut current = base.clone();
    let mut target = base.clone();
    target.metadata.labels = ours.metadata.labels.clone();
    target.spec = ours.spec.clone();
    target.status = None;
    for _ in 0..CONFLICT_RETRIES {
        let expected = current
            .metadata
            .resource_version
            .clone()
            .unwrap_or_default();
        // The record the write leaves if it lands (it only lands on `current`'s version).
        let predicted =
            drctl_state::rules::updated_record(&current, &target).map_err(store_error)?;
        let event = note(&current, &predicted);
        match store.update_with_event(&target, &expected, &event).await {
            Ok(after) => {
                return Ok(Rebased::Updated {
                    before: Box::new(current),
                    after: Box::new(after),
                })
            }
            Err(StoreError::Conflict { .. }) => {}
            Err(err) => return Err(store_error(err)),
        }
        if let Some(pause) = pauses.next() {
            tokio::time::sleep(pause).await;
        }
        current = get_existing(store, name).await?;
        match rebase(base, ours, &current, intent)? {
            Rebase::Write(merged) => target = *merged,
            Rebase::Stop(outcome) => return Ok(outcome),
        }
    }
    Err(store_error(StoreError::Conflict {
        name: name.to_string(),
        message: format!(
            "kept changing while being updated ({CONFLICT_RETRIES} attempts); try again"
        ),
    }))
}

enum Rebase {
    Write(Box<FailoverGroup>),
    Stop(Rebased),
}

/// `ours` merged onto `current`, checked: conflicts, the intent, validity.
fn rebase(
    base: &FailoverGroup,
    ours: &FailoverGroup,
    current: &FailoverGroup,
    intent: Intent<'_>,
) -> CliResult<Rebase> {
    let boxed = |doc: &FailoverGroup| Box::new(doc.clone());
    let internal = |err: MergeError| CliError::failure(anyhow::Error::new(err));
    let DocumentMerge {
        merged,
        mut conflicts,
    } = match merge_documents(base, ours, current) {
        Ok(merge) => merge,
        Err(err @ MergeError::Unrepresentable { .. }) => {
            return Ok(Rebase::Stop(Rebased::Invalid {
                current: boxed(current),
                merged: None,
                message: err.to_string(),
            }))
        }
        Err(err) => return Err(internal(err)),
    };
    let mut wanted = merged.clone();
    intent(&mut wanted)?;
    let fields = |doc: &FailoverGroup| user_fields(doc).map_err(internal);
    let unmet = unmet_intent(
        &fields(base)?,
        &fields(&merged)?,
        &fields(&wanted)?,
        &fields(current)?,
    );
    for conflict in unmet {
        if !conflicts.iter().any(|c| conflict.path.starts_with(&c.path)) {
            conflicts.push(conflict);
        }
    }
    let outcome = if !conflicts.is_empty() {
        Rebased::Conflicts {
            current: boxed(current),
            merged: boxed(&merged),
            conflicts,
        }
    } else if same_user_fields(&merged, current) {
        Rebased::Unchanged(boxed(current))
    } else if let Err(errs) = check_write(current, &merged) {
        Rebased::Invalid {
            current: boxed(current),
            merged: Some(boxed(&merged)),
            message: errs.to_string(),
        }
    } else {
        return Ok(Rebase::Write(Box::new(merged)));
    };
    Ok(Rebase::Stop(outcome))
}

/// How a conflict message names the versions besides the current one.
#[derive(Debug, Clone, Copy)]
pub struct Sides<'a> {
    pub base: &'a str,
    pub ours: &'a str,
}

/// The sides of a command's change: what it read and what it sets.
pub const COMMAND_SIDES: Sides<'static> = Sides {
    base: "read",
    ours: "this command sets",
};

/// One line per conflict: the field, its three values and, when the journal says, who changed
/// it after `base` was read: `spec.writer: read us-east-1, this command sets us-east-1, now
/// us-west-2 (changed by alice@host with FailoverRequested at ..., resourceVersion 2)`.
pub async fn describe_conflicts(
    store: &dyn Store,
    name: &str,
    base: &FailoverGroup,
    conflicts: &[Conflict],
    sides: Sides<'_>,
) -> Vec<String> {
    // Attribution is a courtesy: without the journal the three values still say it all.
    let events = store.events(name).await.unwrap_or_default();
    let since = base.metadata.resource_version.as_deref();
    conflicts
        .iter()
        .map(|c| {
            let path = c.path();
            let by = attribution(&events, since, &path)
                .map(|a| format!(" ({a})"))
                .unwrap_or_default();
            format!(
                "{path}: {} {}, {} {}, now {}{by}",
                sides.base,
                show(c.base.as_ref()),
                sides.ours,
                show(c.ours.as_ref()),
                show(c.theirs.as_ref())
            )
        })
        .collect()
}

/// Who last changed the field at `path` (or a field inside it) after resourceVersion `since`,
/// from the change lists journal events carry ([`change_data`]). None when no event says.
pub fn attribution(events: &[Event], since: Option<&str>, path: &str) -> Option<String> {
    let since = since.and_then(|s| s.parse::<u64>().ok());
    events.iter().rev().find_map(|event| {
        let data = event.data.as_ref()?;
        let version = data.get("resourceVersion").and_then(|v| v.as_str());
        // Versions are counters in both stores; one that does not parse is not filtered out.
        let newer = match (since, version.and_then(|v| v.parse::<u64>().ok())) {
            (Some(since), Some(version)) => version > since,
            _ => true,
        };
        let touches = data
            .get("changes")
            .and_then(|c| c.as_array())
            .is_some_and(|changes| {
                changes
                    .iter()
                    .filter_map(|c| c.as_str())
                    .any(|c| change_touches(c, path))
            });
        (newer && touches).then(|| {
            let version = version
                .map(|v| format!(", resourceVersion {v}"))
                .unwrap_or_default();
            format!(
                "changed by {} with {} at {}{version}",
                event.actor, event.reason, event.at
            )
        })
    })
}

/// Does a journal change entry (`spec.writer: a -> b`) touch `path`, inside it or above it?
fn change_touches(change: &str, path: &str) -> bool {
    let Some((changed, _)) = change.split_once(": ") else {
        return false;
    };
    let nested = |inner: &str, outer: &str| {
        inner
            .strip_prefix(outer)
            .is_some_and(|rest| rest.starts_with('.'))
    };
    changed == path || nested(changed, path) || nested(path, changed)
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
    show(Some(v))
}

/// The journal data of a spec change: the version it made and what changed.
pub fn change_data(after: &FailoverGroup, changes: &[String]) -> serde_json::Value {
    serde_json::json!({
        "resourceVersion": after.metadata.resource_version,
        "generation": after.metadata.generation,
        "changes": changes,
    })
}

/// Labels and spec changed between two documents (what a user edit changes).
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
    use drctl_state::FileStore;

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

    fn example() -> FailoverGroup {
        drctl_schema::parse_documents(
            include_bytes!("../../../../examples/failovergroup.yaml"),
            "example",
        )
        .unwrap()
        .remove(0)
    }

    /// A file store holding the example at resourceVersion 1 (returned) and a concurrent
    /// failover to us-west-2 on top of it (resourceVersion 2), journaled as the CLI does.
    fn test_note(before: &FailoverGroup, after: &FailoverGroup) -> Event {
        let changes = user_changes(before, after);
        user_event(
            "SpecEdited",
            changes.join("; "),
            Some(change_data(after, &changes)),
        )
    }

    async fn store_with_a_concurrent_failover(dir: &std::path::Path) -> (FileStore, FailoverGroup) {
        let store = FileStore::new(dir.join("store"));
        store.init().await.unwrap();
        let base = store.create(&example()).await.unwrap();
        let mut theirs = base.clone();
        theirs.spec.writer = "us-west-2".into();
        theirs.spec.dns_owner = Some("us-west-2".into());
        let after = store.update(&theirs, "1").await.unwrap();
        let changes = user_changes(&base, &after);
        let event = user_event(
            "FailoverRequested",
            "test".into(),
            Some(change_data(&after, &changes)),
        );
        store
            .append_event("myapp-prod", &event, None)
            .await
            .unwrap();
        (store, base)
    }

    #[tokio::test]
    async fn a_change_to_other_fields_is_merged_onto_the_concurrent_version() {
        let dir = tempfile::tempdir().unwrap();
        let (store, base) = store_with_a_concurrent_failover(dir.path()).await;
        let mut ours = base.clone();
        ours.spec.max_lag_seconds = 9;
        let outcome = write_merged(&store, "myapp-prod", &base, &ours, &|_| Ok(()), &test_note)
            .await
            .unwrap();
        let Rebased::Updated { before, after } = outcome else {
            panic!("not written");
        };
        assert_eq!(before.metadata.resource_version.as_deref(), Some("2"));
        assert_eq!(
            after.spec.writer, "us-west-2",
            "the concurrent failover was undone"
        );
        assert_eq!(after.spec.max_lag_seconds, 9);
        assert_eq!(
            user_changes(&before, &after),
            vec!["spec.maxLagSeconds: 5 -> 9"]
        );
    }

    #[tokio::test]
    async fn a_field_the_change_sets_and_someone_moved_meanwhile_is_a_conflict_naming_who() {
        let dir = tempfile::tempdir().unwrap();
        let (store, base) = store_with_a_concurrent_failover(dir.path()).await;
        // failover --to us-east-1 --allow-data-loss, as read at resourceVersion 1.
        let to_east = |doc: &mut FailoverGroup| {
            doc.spec.writer = "us-east-1".into();
            doc.spec.dns_owner = Some("us-east-1".into());
            doc.spec.allow_data_loss = true;
            Ok(())
        };
        let mut ours = base.clone();
        to_east(&mut ours).unwrap();
        let err = modify_from(&store, &base, &ours, &to_east).await;
        let Rebased::Conflicts { conflicts, .. } = err else {
            panic!("no conflict");
        };
        let lines =
            describe_conflicts(&store, "myapp-prod", &base, &conflicts, COMMAND_SIDES).await;
        // Keys come in sorted order: spec.dnsOwner, then spec.writer.
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines[1].starts_with(
                "spec.writer: read us-east-1, this command sets us-east-1, now us-west-2 (changed by "
            ) && lines[1].contains("with FailoverRequested at ")
                && lines[1].ends_with(", resourceVersion 2)"),
            "{lines:?}"
        );
        assert!(
            lines[0].starts_with(
                "spec.dnsOwner: read us-east-1, this command sets us-east-1, now us-west-2"
            ),
            "{lines:?}"
        );
        let stored = store.get("myapp-prod").await.unwrap().unwrap();
        assert!(
            !stored.spec.allow_data_loss,
            "nothing may be written on a conflict"
        );
    }

    async fn modify_from(
        store: &FileStore,
        base: &FailoverGroup,
        ours: &FailoverGroup,
        intent: Intent<'_>,
    ) -> Rebased {
        write_merged(store, "myapp-prod", base, ours, intent, &test_note)
            .await
            .unwrap()
    }

    #[test]
    fn attribution_names_the_last_event_after_the_base_that_changed_the_field() {
        let event = |rv: &str, actor: &str, changes: &[&str]| Event {
            seq: 0,
            at: Timestamp::from_millis(0),
            actor: actor.into(),
            reason: "SpecEdited".into(),
            message: String::new(),
            operation_id: None,
            step: None,
            data: Some(serde_json::json!({"resourceVersion": rv, "changes": changes})),
        };
        let events = [
            event("2", "old@host", &["spec.writer: us-east-1 -> us-west-2"]),
            event(
                "3",
                "bob@host",
                &["spec.failback.approval: manual -> automatic"],
            ),
            event("4", "amy@host", &["spec.maxLagSeconds: 5 -> 6"]),
        ];
        assert_eq!(attribution(&events, Some("2"), "spec.writer"), None);
        assert!(attribution(&events, Some("1"), "spec.writer")
            .unwrap()
            .starts_with("changed by old@host with SpecEdited at "));
        assert!(attribution(&events, Some("1"), "spec.failback")
            .unwrap()
            .contains("bob@host"));
        assert_eq!(
            attribution(&events, Some("1"), "spec.maxLag"),
            None,
            "a prefix of a key is not the key"
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
