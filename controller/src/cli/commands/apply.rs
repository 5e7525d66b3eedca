//! `drctl apply -f FILE|DIR|-`: create or update every document of the input, all or nothing
//! on invalid input.
//!
//! Order matters for "nothing written": every document of every file is parsed and validated,
//! and every transition rule, the store-wide admission check and every resourceVersion
//! precondition is checked against the stored documents, before the first write (see
//! `input`). Only then are the documents written, each conditionally on the resourceVersion
//! that was read.

use drctl_schema::{validate_transition, FailoverGroup, ValidationErrors};
use drctl_state::{Store, StoreError};

use drctl_state::{rules, Event};

use super::common::{
    change_data, conflict_backoff, open_store, store_error, user_changes, user_event,
    CONFLICT_RETRIES,
};
use super::input::{checked_against_store, read_all};
use crate::cli::args::FileArgs;
use crate::cli::exit::{CliError, CliResult, ExitStatus};

pub async fn run(store_url: &str, input: &FileArgs) -> CliResult<ExitStatus> {
    let mut docs = read_all(&input.files, input.recursive)?;
    let store = open_store(store_url).await?;

    // Status is the controller's: whatever the input says about it (a backup made with
    // `drctl get -o yaml` has it) is ignored.
    for sourced in &mut docs {
        sourced.doc.status = None;
    }

    // Preconditions for every document before any write.
    let stored_docs = checked_against_store(store.as_ref(), &docs).await?;
    for (sourced, stored) in docs.iter().zip(&stored_docs) {
        check_resource_version(&sourced.doc, stored.as_ref())?;
    }

    for (sourced, stored) in docs.iter().zip(stored_docs) {
        let doc = &sourced.doc;
        let outcome = write_one(store.as_ref(), doc, stored).await?;
        crate::outln!("failovergroup/{} {}", doc.metadata.name, outcome.word());
    }
    Ok(ExitStatus::Success)
}

enum Outcome {
    Created,
    Configured,
    Unchanged,
}

impl Outcome {
    fn word(&self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Configured => "configured",
            Outcome::Unchanged => "unchanged",
        }
    }
}

/// A document carrying metadata.resourceVersion asks for exactly that version (exit 3 if the
/// store moved on, or if the group is gone).
fn check_resource_version(doc: &FailoverGroup, stored: Option<&FailoverGroup>) -> CliResult<()> {
    let Some(expected) = doc.metadata.resource_version.as_deref() else {
        return Ok(());
    };
    let name = &doc.metadata.name;
    match stored {
        None => Err(store_error(StoreError::Conflict {
            name: name.clone(),
            message: format!(
                "the document carries resourceVersion {expected} but the group does not exist \
                 (it was deleted?). Remove metadata.resourceVersion to create it anew."
            ),
        })),
        Some(stored) if stored.metadata.resource_version.as_deref() != Some(expected) => {
            Err(store_error(drctl_state::rules::conflict(
                name,
                expected,
                Some(doc),
                stored,
                drctl_state::rules::RETRY_UPDATE,
            )))
        }
        Some(_) => Ok(()),
    }
}

fn same_user_fields(a: &FailoverGroup, b: &FailoverGroup) -> bool {
    a.spec == b.spec && a.metadata.labels == b.metadata.labels
}

/// Write one document, with its journal event in the same atomic write. Without an explicit
/// resourceVersion the write is last-write-wins, but still conditional on the version just
/// read, so a concurrent writer's change is never half-overwritten: on a conflict the
/// transition rules are re-checked against the new version and the write retried, after a
/// jittered pause, up to `CONFLICT_RETRIES` times (the same on every store).
async fn write_one(
    store: &dyn Store,
    doc: &FailoverGroup,
    mut stored: Option<FailoverGroup>,
) -> CliResult<Outcome> {
    let name = &doc.metadata.name;
    let explicit = doc.metadata.resource_version.clone();
    let mut last_error = None;
    let mut pauses = conflict_backoff();
    for attempt in 0..CONFLICT_RETRIES {
        if attempt > 0 {
            if let Some(pause) = pauses.next() {
                tokio::time::sleep(pause).await;
            }
            stored = store.get(name).await.map_err(store_error)?;
            if let Some(current) = &stored {
                validate_transition(current, doc).map_err(|errs| invalid_doc(name, errs))?;
            }
        }
        let result = match &stored {
            None => {
                let event = applied_event(None, &rules::created_record(doc));
                store
                    .create_with_event(doc, &event)
                    .await
                    .map(|after| (None, after))
            }
            Some(current) => {
                if same_user_fields(current, doc) {
                    return Ok(Outcome::Unchanged);
                }
                let expected = explicit
                    .clone()
                    .or_else(|| current.metadata.resource_version.clone())
                    .unwrap_or_default();
                // The record the update leaves if it lands (only on `expected`).
                let predicted = rules::updated_record(current, doc).map_err(store_error)?;
                let event = applied_event(Some(current), &predicted);
                store
                    .update_with_event(doc, &expected, &event)
                    .await
                    .map(|after| (Some(current.clone()), after))
            }
        };
        match result {
            Ok((before, _)) => {
                return Ok(match before {
                    None => Outcome::Created,
                    Some(_) => Outcome::Configured,
                });
            }
            Err(err @ (StoreError::Conflict { .. } | StoreError::AlreadyExists { .. }))
                if explicit.is_none() =>
            {
                last_error = Some(err);
            }
            Err(err) => return Err(store_error(err)),
        }
    }
    Err(store_error(last_error.unwrap_or_else(|| {
        StoreError::Conflict {
            name: name.clone(),
            message: "kept changing while being applied; try again".to_string(),
        }
    })))
}

fn invalid_doc(name: &str, errs: ValidationErrors) -> CliError {
    CliError::invalid(anyhow::anyhow!("failovergroup/{name}: {errs}"))
}

/// The journal event of an apply that turns `before` (None: a create) into `after`.
fn applied_event(before: Option<&FailoverGroup>, after: &FailoverGroup) -> Event {
    let generation = after.metadata.generation.unwrap_or(0);
    let (message, changes) = match before {
        None => (
            format!(
                "created by drctl apply: writer {}, DNS owner {} (generation {generation})",
                after.spec.writer,
                after.spec.dns_owner()
            ),
            Vec::new(),
        ),
        Some(before) => {
            let changes = user_changes(before, after);
            (
                format!(
                    "configured by drctl apply (generation {generation}): {}",
                    changes.join("; ")
                ),
                changes,
            )
        }
    };
    let data = change_data(after, &changes);
    user_event("SpecApplied", message, Some(data))
}
