//! `drctl diff -f FILE|DIR|-`: what applying the input would change, as a unified diff of
//! labels and spec against the stored documents, and the actions the controller would take
//! for it. Exit 0 no change, 1 change, 2 invalid input (like `diff(1)` and `kubectl diff`);
//! the input is read and checked exactly as `apply` reads and checks it.

use drctl_schema::FailoverGroup;

use super::common::{open_store, spec_yaml};
use super::input::{checked_against_store, read_all};
use crate::cli::args::{CloudKind, FileArgs};
use crate::cli::exit::{CliError, CliResult, ExitStatus};
use crate::planner::explain_spec_change;

/// Unchanged lines shown around each change.
const CONTEXT: usize = 3;

pub async fn run(
    store_url: &str,
    input: &FileArgs,
    cloud: Option<CloudKind>,
) -> CliResult<ExitStatus> {
    // docs/design-contract.md §2: diff's exit 1 means "there is a change", so an error (store unreachable,
    // not initialised, AWS unavailable) must exit above 1, or a pipeline reads it as a change.
    diff(store_url, input, cloud)
        .await
        .map_err(|e| match e.status {
            ExitStatus::Failure => CliError::invalid(e.error),
            _ => e,
        })
}

async fn diff(
    store_url: &str,
    input: &FileArgs,
    cloud: Option<CloudKind>,
) -> CliResult<ExitStatus> {
    let docs = read_all(&input.files, input.recursive)?;
    let store = open_store(store_url).await?;
    let stored_docs = checked_against_store(store.as_ref(), &docs).await?;
    let mut changed = false;
    for (stored, sourced) in stored_docs.iter().zip(&docs) {
        let doc = &sourced.doc;
        if let Some(mut text) = render(stored.as_ref(), doc, &sourced.source)? {
            changed = true;
            if let Some(cloud) = cloud {
                text.push_str(&first_calls(cloud, store.as_ref(), stored.as_ref(), doc).await?);
            }
            crate::out!("{text}");
        }
    }
    Ok(if changed {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

/// With `--cloud`: the AWS calls the controller's first pass would make if FILE were applied
/// now, from the same planner, against the live account (`aws`, read-only) or a simulated
/// world built as the group was last observed (`sim`).
async fn first_calls(
    cloud: CloudKind,
    store: &dyn drctl_state::Store,
    stored: Option<&FailoverGroup>,
    doc: &FailoverGroup,
) -> CliResult<String> {
    let Some(stored) = stored else {
        return Ok(format!(
            "# first AWS calls ({}): none until the group is stored and observed\n",
            cloud.as_str()
        ));
    };
    // The stored group as applying FILE would leave it: the new spec, one generation on.
    let mut candidate = stored.clone();
    candidate.spec = doc.spec.clone();
    candidate.metadata.labels = doc.metadata.labels.clone();
    candidate.metadata.generation = Some(stored.metadata.generation.unwrap_or(0) + 1);
    let plan = match cloud {
        CloudKind::Aws => {
            let aws = super::controller::aws_cloud().await?;
            crate::reconcile::dry_run(&aws, store, &candidate)
                .await
                .map_err(|e| CliError::failure(anyhow::Error::new(e)))?
        }
        CloudKind::Sim => {
            let stored = stored.clone();
            tokio::task::spawn_blocking(move || {
                crate::simulation::plan_spec_change(&stored, &candidate)
            })
            .await
            .map_err(|e| CliError::failure(anyhow::anyhow!("simulation task: {e}")))?
            .map_err(|e| CliError::failure(anyhow::Error::new(e)))?
        }
    };
    let mut out = format!(
        "# first AWS calls ({}, nothing is changed by diff):\n",
        cloud.as_str()
    );
    if plan.actions.is_empty() {
        out.push_str(&format!("#   none now: {}\n", plan.summary));
    }
    for planned in &plan.actions {
        out.push_str(&format!("#   - {}\n", super::plan::action_line(planned)));
    }
    Ok(out)
}

/// The comparable form: name, labels and spec, no store-assigned or controller fields.
fn user_view(doc: &FailoverGroup) -> FailoverGroup {
    let mut view = doc.clone();
    view.status = None;
    view.metadata.resource_version = None;
    view.metadata.generation = None;
    view
}

/// The diff and actions for one document, or None when applying it would change nothing.
fn render(
    stored: Option<&FailoverGroup>,
    doc: &FailoverGroup,
    source: &str,
) -> CliResult<Option<String>> {
    let name = &doc.metadata.name;
    let new_text = spec_yaml(&user_view(doc))?;
    let (old_text, old_label) = match stored {
        Some(s) => (
            spec_yaml(&user_view(s))?,
            format!(
                "failovergroup/{name} (stored, resourceVersion {})",
                s.metadata.resource_version.as_deref().unwrap_or("-")
            ),
        ),
        None => (String::new(), "/dev/null".to_string()),
    };
    if stored.is_some() && old_text == new_text {
        return Ok(None);
    }
    let mut out = format!("--- {old_label}\n+++ failovergroup/{name} ({source})\n");
    out.push_str(&unified(&old_text, &new_text));
    let actions = explain_spec_change(stored.map(|s| &s.spec), &doc.spec);
    out.push_str(&format!("# actions for failovergroup/{name}:\n"));
    if actions.is_empty() {
        out.push_str("#   none (labels or bookkeeping only)\n");
    }
    for action in actions {
        out.push_str(&format!("#   - {action}\n"));
    }
    Ok(Some(out))
}

/// A unified diff body with `@@ -a,b +c,d @@` hunks and CONTEXT lines of context, as
/// `diff -u` writes it (a hand-written LCS diff here wrote `-1,0` for a new document).
pub fn unified(old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(CONTEXT)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::unified;

    #[test]
    fn unified_diff_shows_one_hunk_with_context() {
        let old = "a\nb\nc\nd\ne\nf\ng\nh\n";
        let new = "a\nb\nc\nd\nE\nf\ng\nh\n";
        assert_eq!(
            unified(old, new),
            "@@ -2,7 +2,7 @@\n b\n c\n d\n-e\n+E\n f\n g\n h\n"
        );
    }

    #[test]
    fn a_new_document_is_diffed_against_nothing_as_diff_u_writes_it() {
        assert_eq!(unified("", "a\nb\n"), "@@ -0,0 +1,2 @@\n+a\n+b\n");
    }

    #[test]
    fn identical_texts_have_an_empty_diff() {
        assert_eq!(unified("x\ny\n", "x\ny\n"), "");
    }
}
