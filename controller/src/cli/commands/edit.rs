//! `drctl edit NAME`: edit the document in `$EDITOR` (then `$VISUAL`, then `vi`), kubectl's way.
//!
//! The document (without status, which the controller owns) is written to a temporary file and
//! the editor run on it. Saved unchanged: "Edit cancelled, no changes made.". Saved invalid, or
//! beaten by a concurrent writer: the editor reopens with the problem as `#` lines on top and
//! the user's text below, so nothing typed is lost. After a conflict the text is based on the
//! current resourceVersion and the comment says what changed meanwhile: saving again applies
//! the edit on top of that knowingly. An editor that exits non-zero aborts (exit 1).

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use drctl_schema::parse::parse_and_validate;
use drctl_schema::{validate_transition, FailoverGroup};
use drctl_state::{Store, StoreError};

use super::common::{
    change_data, get_existing, journal, open_store, parse_error, spec_yaml, store_error,
    user_changes,
};
use crate::cli::exit::{CliError, CliResult, ExitStatus};

/// Rounds of reopening before giving up (a scripted editor could otherwise loop forever).
const MAX_ROUNDS: usize = 10;

const HEADER: &str = "\
# Please edit the failovergroup below. Lines beginning with '#' are ignored, and an empty
# file aborts the edit. status is not shown: the controller writes it.
# metadata.resourceVersion is the version you are editing; if someone else changes the
# group meanwhile, the editor reopens and tells you what changed.
#
";

pub async fn run(store_url: &str, name: &str) -> CliResult<ExitStatus> {
    let store = open_store(store_url).await?;
    let mut base = get_existing(store.as_ref(), name).await?;
    let original = strip_comments(&spec_yaml(&base)?);
    let mut content = original.clone();
    let mut problem: Option<String> = None;
    let file = TempFile::create(name)?;

    // After a conflict the editor shows the user's edit rebased on the current version, and
    // saving it as shown means "apply it"; after an invalid edit it means "give up".
    let mut rebased_after_conflict = false;
    for _ in 0..MAX_ROUNDS {
        let mut text = String::new();
        if let Some(problem) = &problem {
            text.push_str(&format!("# failovergroup/{name} was not saved:\n"));
            for line in problem.lines() {
                text.push_str(&format!("# {line}\n"));
            }
            text.push_str("#\n");
        }
        text.push_str(HEADER);
        text.push_str(&content);
        std::fs::write(&file.path, &text).map_err(|e| {
            CliError::failure(anyhow::anyhow!("cannot write {}: {e}", file.path.display()))
        })?;
        run_editor(&file.path).await?;
        let saved = std::fs::read_to_string(&file.path).map_err(|e| {
            CliError::failure(anyhow::anyhow!("cannot read {}: {e}", file.path.display()))
        })?;
        let body = strip_comments(&saved);
        if body.trim().is_empty() {
            println!("Edit cancelled, saved file was empty.");
            return Ok(ExitStatus::Success);
        }
        if body.trim_end() == original.trim_end() {
            println!("Edit cancelled, no changes made.");
            return Ok(ExitStatus::Success);
        }
        if problem.is_some() && !rebased_after_conflict && body.trim_end() == content.trim_end() {
            // Reopened with an error and saved as it was: the user gives up.
            return Err(CliError::invalid(anyhow::anyhow!(
                "edit cancelled, failovergroup/{name} is unchanged: {}",
                problem.unwrap_or_default()
            )));
        }
        match save(store.as_ref(), name, &base, &body).await? {
            Saved::Done(after) => {
                let changes = user_changes(&base, &after);
                let data = change_data(&after, &changes);
                journal(
                    store.as_ref(),
                    name,
                    "SpecEdited",
                    format!("edited with drctl edit: {}", changes.join("; ")),
                    Some(data),
                )
                .await;
                println!("failovergroup/{name} edited");
                return Ok(ExitStatus::Success);
            }
            Saved::Unchanged => {
                println!("Edit cancelled, no changes made.");
                return Ok(ExitStatus::Success);
            }
            Saved::Invalid(message) => {
                problem = Some(message);
                content = body;
                rebased_after_conflict = false;
            }
            Saved::Conflict {
                message,
                current,
                mine,
            } => {
                let moved = user_changes(&base, &current);
                let mut why = message;
                if !moved.is_empty() {
                    why.push_str("\nChanged meanwhile:");
                    for change in &moved {
                        why.push_str(&format!("\n  {change}"));
                    }
                }
                why.push_str(
                    "\nYour edit is below, now based on the current version: save to apply it on top, \
                     or empty the file to abort.",
                );
                let mut rebased = *mine;
                rebased.metadata.resource_version = current.metadata.resource_version.clone();
                rebased.metadata.generation = current.metadata.generation;
                content = strip_comments(&spec_yaml(&rebased)?);
                problem = Some(why);
                base = *current;
                rebased_after_conflict = true;
            }
        }
    }
    Err(CliError::failure(anyhow::anyhow!(
        "edit of failovergroup/{name} abandoned after {MAX_ROUNDS} rounds: {}",
        problem.unwrap_or_default()
    )))
}

// One value per editor round: boxing the document would buy nothing.
#[allow(clippy::large_enum_variant)]
enum Saved {
    Done(Box<FailoverGroup>),
    Unchanged,
    Invalid(String),
    Conflict {
        message: String,
        current: Box<FailoverGroup>,
        mine: Box<FailoverGroup>,
    },
}

async fn save(store: &dyn Store, name: &str, base: &FailoverGroup, body: &str) -> CliResult<Saved> {
    let source = format!("edited failovergroup/{name}");
    let mut docs = match parse_and_validate(body.as_bytes(), &source) {
        Ok(docs) => docs,
        Err(err) => return Ok(Saved::Invalid(err.to_string())),
    };
    if docs.len() != 1 {
        return Ok(Saved::Invalid(format!(
            "{source}: expected exactly one document, found {}",
            docs.len()
        )));
    }
    let mut doc = docs.remove(0);
    doc.status = None;
    if let Err(errs) = validate_transition(base, &doc) {
        return Ok(Saved::Invalid(format!("{source}: {errs}")));
    }
    let current = get_existing(store, name).await?;
    if current.spec == doc.spec && current.metadata.labels == doc.metadata.labels {
        return Ok(Saved::Unchanged);
    }
    let expected = doc
        .metadata
        .resource_version
        .clone()
        .or_else(|| base.metadata.resource_version.clone())
        .unwrap_or_default();
    match store.update(&doc, &expected).await {
        Ok(after) => Ok(Saved::Done(Box::new(after))),
        Err(err @ StoreError::Conflict { .. }) => {
            let current = get_existing(store, name).await?;
            if let Err(errs) = validate_transition(&current, &doc) {
                return Err(parse_error(drctl_schema::ParseError::Invalid {
                    source_name: source,
                    errors: vec![drctl_schema::parse::DocumentErrors {
                        index: 1,
                        name: Some(name.to_string()),
                        errors: errs,
                    }],
                }));
            }
            Ok(Saved::Conflict {
                message: err.to_string(),
                current: Box::new(current),
                mine: Box::new(doc),
            })
        }
        Err(err) => Err(store_error(err)),
    }
}

/// Drop `#` comment lines (ours and the user's), as kubectl does.
fn strip_comments(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
        out.push_str(line);
        out.push('\n');
    }
    while out.starts_with('\n') {
        out.remove(0);
    }
    out
}

/// `$EDITOR`, then `$VISUAL`, then `vi`. The value may carry arguments (`code --wait`), so it
/// runs through `sh -c`, with the file as `$1`.
async fn run_editor(path: &Path) -> CliResult<()> {
    let editor = ["EDITOR", "VISUAL"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.trim().is_empty()))
        .unwrap_or_else(|| "vi".to_string());
    let status = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("drctl-edit")
        .arg(path)
        .status()
        .await
        .map_err(|e| CliError::failure(anyhow::anyhow!("cannot run editor {editor:?}: {e}")))?;
    if !status.success() {
        return Err(CliError::failure(anyhow::anyhow!(
            "editor {editor:?} exited with {status}: edit aborted, nothing saved"
        )));
    }
    Ok(())
}

/// The file being edited, removed when the edit ends however it ends.
struct TempFile {
    path: PathBuf,
}

impl TempFile {
    fn create(name: &str) -> CliResult<Self> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!(
            "drctl-edit-{name}-{}-{nanos}.yaml",
            std::process::id()
        ));
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| {
                CliError::failure(anyhow::anyhow!("cannot create {}: {e}", path.display()))
            })?;
        Ok(TempFile { path })
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::strip_comments;

    #[test]
    fn comment_lines_are_dropped_and_values_with_hashes_kept() {
        assert_eq!(
            strip_comments("# header\n#\nkind: X\n  # indented\nurl: a#b\n"),
            "kind: X\nurl: a#b\n"
        );
    }
}
