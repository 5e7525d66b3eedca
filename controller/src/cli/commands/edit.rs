//! `drctl edit NAME`: edit the document in `$EDITOR` (then `$VISUAL`, then `vi`), kubectl's way.
//!
//! The document (without status, which the controller owns) is written to a temporary file and
//! the editor run on it. Saved unchanged: "Edit cancelled, no changes made.". Saved invalid:
//! the editor reopens with the problem as `#` lines on top and the user's text below, so
//! nothing typed is lost.
//!
//! Beaten by a concurrent writer, the edit is merged, three-way: the fields the user changed
//! (what was saved against what was shown) are laid onto the current version, so a failover
//! that landed while the editor was open is kept, not undone by the old `writer` still in the
//! user's text. When both changed a field to different values, the editor reopens on the
//! current version with the user's other changes applied, each conflicting field at its
//! current value, and the conflicts (field, the three values, who changed it) on top. Saving
//! that text unchanged, or empty, gives up: exit 3, nothing written. An editor that exits
//! non-zero aborts (exit 1).

use std::path::Path;

use drctl_schema::parse::parse_and_validate;
use drctl_schema::{validate_transition, FailoverGroup};
use drctl_state::Store;

use super::common::{
    change_data, describe_conflicts, get_existing, open_store, same_user_fields, spec_yaml,
    user_changes, user_event, write_merged, Rebased, Sides,
};
use crate::cli::exit::{CliError, CliResult, ExitStatus};
use crate::cli::merge::Conflict;

/// Rounds of reopening before giving up (a scripted editor could otherwise loop forever).
const MAX_ROUNDS: usize = 10;

const HEADER: &str = "\
# Please edit the failovergroup below. Lines beginning with '#' are ignored, and an empty
# file aborts the edit. status is not shown: the controller writes it.
# If someone else changes the group meanwhile, only the fields you change are applied on
# top of their version; if you both changed a field, the editor reopens to ask.
#
";

const EDIT_SIDES: Sides<'static> = Sides {
    base: "you were shown",
    ours: "you saved",
};

/// Why the editor is open again, which decides what saving the text unchanged means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Round {
    /// The first round: unchanged is "no changes".
    Fresh,
    /// After an invalid save: unchanged gives up (exit 2).
    Invalid,
    /// After conflicting with a concurrent change: unchanged (or empty) gives up (exit 3).
    Conflict,
}

pub async fn run(store_url: &str, name: &str) -> CliResult<ExitStatus> {
    let store = open_store(store_url).await?;
    // `base` is the version the text in the editor is based on; `unedited` is its text.
    let mut base = get_existing(store.as_ref(), name).await?;
    let mut unedited = strip_comments(&spec_yaml(&base)?);
    let mut content = unedited.clone();
    let mut problem: Option<String> = None;
    let mut round = Round::Fresh;
    let file = TempFile::create(name)?;
    for _ in 0..MAX_ROUNDS {
        let body = edit_once(file.path(), name, problem.as_deref(), &content).await?;
        if let Some(done) = gives_up(name, round, &body, &unedited, &content, problem.as_deref()) {
            return done;
        }
        match save(store.as_ref(), name, &base, &body).await? {
            Saved::Done { before } => {
                report_saved(name, &base, &before);
                return Ok(ExitStatus::Success);
            }
            Saved::Unchanged => {
                crate::outln!("Edit cancelled, no changes made.");
                return Ok(ExitStatus::Success);
            }
            Saved::Invalid { message, rebased } => {
                problem = Some(message);
                content = body;
                if let Some((current, merged)) = rebased {
                    base = *current;
                    unedited = strip_comments(&spec_yaml(&base)?);
                    content = strip_comments(&spec_yaml(&merged)?);
                }
                round = Round::Invalid;
            }
            Saved::Conflict {
                current,
                merged,
                conflicts,
            } => {
                let lines =
                    describe_conflicts(store.as_ref(), name, &base, &conflicts, EDIT_SIDES).await;
                problem = Some(conflict_problem(&base, &current, &lines));
                base = *current;
                unedited = strip_comments(&spec_yaml(&base)?);
                content = strip_comments(&spec_yaml(&merged)?);
                round = Round::Conflict;
            }
        }
    }
    Err(CliError::failure(anyhow::anyhow!(
        "edit of failovergroup/{name} abandoned after {MAX_ROUNDS} rounds: {}",
        problem.unwrap_or_default()
    )))
}

/// Show `content` (with `problem` on top) in the editor; the saved text without comments.
async fn edit_once(
    path: &Path,
    name: &str,
    problem: Option<&str>,
    content: &str,
) -> CliResult<String> {
    let mut text = String::new();
    if let Some(problem) = problem {
        text.push_str(&format!("# failovergroup/{name} was not saved:\n"));
        for line in problem.lines() {
            text.push_str(&format!("# {line}\n"));
        }
        text.push_str("#\n");
    }
    text.push_str(HEADER);
    text.push_str(content);
    std::fs::write(path, &text)
        .map_err(|e| CliError::failure(anyhow::anyhow!("cannot write {}: {e}", path.display())))?;
    run_editor(path).await?;
    let saved = std::fs::read_to_string(path)
        .map_err(|e| CliError::failure(anyhow::anyhow!("cannot read {}: {e}", path.display())))?;
    Ok(strip_comments(&saved))
}

/// The end of the edit when the saved text says so without being parsed: emptied, saved as
/// the unedited version, or reopened and saved as shown.
fn gives_up(
    name: &str,
    round: Round,
    body: &str,
    unedited: &str,
    shown: &str,
    problem: Option<&str>,
) -> Option<CliResult<ExitStatus>> {
    let unresolved = || {
        Err(CliError::conflict(anyhow::anyhow!(
            "edit cancelled, nothing was saved to failovergroup/{name}: {}",
            problem.unwrap_or_default()
        )))
    };
    if body.trim().is_empty() {
        if round == Round::Conflict {
            return Some(unresolved());
        }
        crate::outln!("Edit cancelled, saved file was empty.");
        return Some(Ok(ExitStatus::Success));
    }
    if body.trim_end() == unedited.trim_end() {
        crate::outln!("Edit cancelled, no changes made.");
        return Some(Ok(ExitStatus::Success));
    }
    if body.trim_end() != shown.trim_end() {
        return None;
    }
    match round {
        Round::Fresh => None,
        Round::Conflict => Some(unresolved()),
        Round::Invalid => Some(Err(CliError::invalid(anyhow::anyhow!(
            "edit cancelled, failovergroup/{name} is unchanged: {}",
            problem.unwrap_or_default()
        )))),
    }
}

/// The editor's text for a conflict: what changed, which fields both changed, what to do.
fn conflict_problem(base: &FailoverGroup, current: &FailoverGroup, lines: &[String]) -> String {
    let version = |doc: &FailoverGroup| doc.metadata.resource_version.clone().unwrap_or_default();
    let mut why = format!(
        "it was changed while you edited it (resourceVersion {} -> {}), and these fields \
         were changed both by you and meanwhile:",
        version(base),
        version(current)
    );
    for line in lines {
        why.push_str(&format!("\n  {line}"));
    }
    let moved = user_changes(base, current);
    if !moved.is_empty() {
        why.push_str("\nChanged meanwhile:");
        for change in &moved {
            why.push_str(&format!("\n  {change}"));
        }
    }
    why.push_str(
        "\nBelow is the current version with your other changes applied; each field above \
         shows its current value. Set the values you want and save, or save unchanged or \
         empty the file to give up (nothing is saved).",
    );
    why
}

/// The journal event of an edit, written with it.
fn edit_event(before: &FailoverGroup, after: &FailoverGroup) -> drctl_state::Event {
    let changes = user_changes(before, after);
    let data = change_data(after, &changes);
    user_event(
        "SpecEdited",
        format!("edited with drctl edit: {}", changes.join("; ")),
        Some(data),
    )
}

/// Say what was saved, and what it was merged with.
fn report_saved(name: &str, base: &FailoverGroup, before: &FailoverGroup) {
    let meanwhile = user_changes(base, before);
    if !meanwhile.is_empty() {
        crate::outln!(
            "failovergroup/{name} was modified concurrently; your changes were merged onto \
             the current version. Changed meanwhile:"
        );
        for change in &meanwhile {
            crate::outln!("  {change}");
        }
    }
    crate::outln!("failovergroup/{name} edited");
}

// One value per editor round: boxing the documents would buy nothing.
#[allow(clippy::large_enum_variant)]
enum Saved {
    /// Written over `before` (the version it replaced, newer than the base after a merge).
    Done {
        before: Box<FailoverGroup>,
    },
    Unchanged,
    /// Not saved. `rebased`: the current version and the edit merged onto it, when the
    /// problem is in the merge rather than in the saved text.
    Invalid {
        message: String,
        rebased: Option<(Box<FailoverGroup>, Box<FailoverGroup>)>,
    },
    Conflict {
        current: Box<FailoverGroup>,
        merged: Box<FailoverGroup>,
        conflicts: Vec<Conflict>,
    },
}

async fn save(store: &dyn Store, name: &str, base: &FailoverGroup, body: &str) -> CliResult<Saved> {
    let source = format!("edited failovergroup/{name}");
    let invalid = |message: String| {
        Ok(Saved::Invalid {
            message,
            rebased: None,
        })
    };
    let mut docs = match parse_and_validate(body.as_bytes(), &source) {
        Ok(docs) => docs,
        Err(err) => return invalid(err.to_string()),
    };
    if docs.len() != 1 {
        return invalid(format!(
            "{source}: expected exactly one document, found {}",
            docs.len()
        ));
    }
    let mut doc = docs.remove(0);
    doc.status = None;
    if let Err(errs) = validate_transition(base, &doc) {
        return invalid(format!("{source}: {errs}"));
    }
    if same_user_fields(&doc, base) {
        return Ok(Saved::Unchanged);
    }
    Ok(
        match write_merged(store, name, base, &doc, &|_| Ok(()), &edit_event).await? {
            Rebased::Updated { before, .. } => Saved::Done { before },
            Rebased::Unchanged(_) => Saved::Unchanged,
            Rebased::Conflicts {
                current,
                merged,
                conflicts,
            } => Saved::Conflict {
                current,
                merged,
                conflicts,
            },
            Rebased::Invalid {
                current,
                merged,
                message,
            } => Saved::Invalid {
                message: format!(
                    "it was changed while you edited it, and your changes on top of the current \
                 version are invalid: {message}"
                ),
                rebased: merged.map(|merged| (current, merged)),
            },
        },
    )
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

/// The file being edited, removed when the edit ends however it ends. `tempfile` gives it a
/// random name, creates it exclusively and with mode 0600: the document names the group's
/// resources, and a predictable name in a shared /tmp could be raced by another user.
struct TempFile {
    file: tempfile::NamedTempFile,
}

impl TempFile {
    fn create(name: &str) -> CliResult<Self> {
        let file = tempfile::Builder::new()
            .prefix(&format!("drctl-edit-{name}-"))
            .suffix(".yaml")
            .tempfile()
            .map_err(|e| {
                CliError::failure(anyhow::anyhow!(
                    "cannot create a file to edit in {}: {e}",
                    std::env::temp_dir().display()
                ))
            })?;
        Ok(TempFile { file })
    }

    fn path(&self) -> &Path {
        self.file.path()
    }
}

#[cfg(test)]
mod tests {
    use super::{strip_comments, TempFile};

    #[cfg(unix)]
    #[test]
    fn the_file_to_edit_is_private_unpredictable_and_removed_afterwards() {
        use std::os::unix::fs::PermissionsExt;
        let (a, b) = (
            TempFile::create("g").unwrap(),
            TempFile::create("g").unwrap(),
        );
        assert_ne!(
            a.path(),
            b.path(),
            "a random name, not one derived from the group"
        );
        let mode = std::fs::metadata(a.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        let path = a.path().to_path_buf();
        assert!(
            path.to_string_lossy().ends_with(".yaml"),
            "the editor sees YAML"
        );
        drop(a);
        assert!(!path.exists());
    }

    #[test]
    fn comment_lines_are_dropped_and_values_with_hashes_kept() {
        assert_eq!(
            strip_comments("# header\n#\nkind: X\n  # indented\nurl: a#b\n"),
            "kind: X\nurl: a#b\n"
        );
    }
}
