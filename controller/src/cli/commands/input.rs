//! The documents of `apply -f` and `diff -f`: files, directories and standard input, read
//! with the per-document limits, then checked as a whole before anything is written.
//!
//! Order matters for "nothing written": every document of every input is parsed and
//! validated, names are checked to be unique across all of them, and then every transition
//! rule and the store-wide admission check (no two groups managing one AWS resource) run
//! against the stored groups. Only a caller that got through all of that writes.

use std::io::Read;
use std::path::{Path, PathBuf};

use drctl_schema::parse::{parse_located, DocumentErrors, Position, Prescan};
use drctl_schema::{find_clashes, FailoverGroup, FieldError, ParseError, ValidationErrors};
use drctl_state::Store;

use super::common::{parse_error, store_error};
use crate::cli::exit::{CliError, CliResult};

/// Extensions read from a directory.
pub const EXTENSIONS: [&str; 3] = ["yaml", "yml", "json"];
/// Bytes read at a time: the pre-scan sees each chunk before the next is read.
const READ_CHUNK: usize = 64 * 1024;

/// One document and where it came from.
#[derive(Debug, Clone)]
pub struct Sourced {
    /// The file (as named on the command line or found in a directory), or `<stdin>`.
    pub source: String,
    pub position: Position,
    pub doc: FailoverGroup,
}

impl Sourced {
    /// `groups/a.yaml: document 2` (with `(items[i])` inside a List).
    pub fn location(&self) -> String {
        format!("{}: {}", self.source, self.position)
    }
}

/// Read and fully validate every document of every input (exit 2 on any problem, with every
/// file's problems reported together).
pub fn read_all(inputs: &[String], recursive: bool) -> CliResult<Vec<Sourced>> {
    let mut sources = Vec::new();
    for input in inputs {
        sources.extend(expand(input, recursive)?);
    }
    let mut docs = Vec::new();
    let mut problems = Vec::new();
    for source in &sources {
        match read_source(source)
            .and_then(|bytes| parse_located(&bytes, source.name(), true).map_err(parse_error))
        {
            Ok(located) => docs.extend(located.into_iter().map(|l| Sourced {
                source: source.name().to_string(),
                position: l.position,
                doc: l.doc,
            })),
            Err(err) => problems.push(err),
        }
    }
    if !problems.is_empty() {
        return Err(combined(problems, sources.len()));
    }
    unique_names(&docs)?;
    Ok(docs)
}

/// Several inputs' errors as one (exit 2 if every one is invalid input).
fn combined(mut problems: Vec<CliError>, inputs: usize) -> CliError {
    if problems.len() == 1 && inputs == 1 {
        return problems.remove(0);
    }
    let status = problems
        .iter()
        .map(|p| p.status)
        .max_by_key(|s| s.code())
        .unwrap_or(crate::cli::exit::ExitStatus::Invalid);
    let mut text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    text.push(format!(
        "{} of {inputs} inputs refused; nothing was written",
        problems.len()
    ));
    CliError {
        status,
        error: anyhow::anyhow!(text.join("\n")),
    }
}

/// A name given twice across inputs (within one input the parser already refuses it).
fn unique_names(docs: &[Sourced]) -> CliResult<()> {
    let mut first: std::collections::BTreeMap<&str, &Sourced> = Default::default();
    let mut problems = Vec::new();
    for doc in docs {
        let name = doc.doc.metadata.name.as_str();
        match first.get(name) {
            Some(earlier) => problems.push(format!(
                "{}: {}",
                doc.source,
                DocumentErrors::at(
                    doc.position,
                    Some(name.to_string()),
                    one_error(
                        "metadata.name",
                        format!(
                            "{name:?} is also the name of {}: names must be unique within one \
                             apply",
                            earlier.location()
                        )
                    ),
                )
            )),
            None => {
                first.insert(name, doc);
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(CliError::invalid(anyhow::anyhow!(problems.join("\n"))))
    }
}

fn one_error(path: &str, message: String) -> ValidationErrors {
    ValidationErrors(vec![FieldError::new(path, message)])
}

/// An input to read.
enum Source {
    Stdin,
    File(PathBuf, String),
}

impl Source {
    fn name(&self) -> &str {
        match self {
            Source::Stdin => "<stdin>",
            Source::File(_, name) => name,
        }
    }
}

/// `-` is standard input, a directory its files (sorted by name), anything else a file.
fn expand(input: &str, recursive: bool) -> CliResult<Vec<Source>> {
    if input == "-" {
        return Ok(vec![Source::Stdin]);
    }
    let path = Path::new(input);
    if !path.is_dir() {
        return Ok(vec![Source::File(path.to_path_buf(), input.to_string())]);
    }
    let mut files = Vec::new();
    files_in(path, recursive, &mut files)?;
    if files.is_empty() {
        return Err(CliError::invalid(anyhow::anyhow!(
            "{input}: no .yaml, .yml or .json files in the directory{} (hidden files and \
             directories are skipped)",
            if recursive {
                " or below it"
            } else {
                " (-R also reads its subdirectories)"
            }
        )));
    }
    Ok(files
        .into_iter()
        .map(|p| {
            let name = p.display().to_string();
            Source::File(p, name)
        })
        .collect())
}

/// The document files of `dir`, sorted by name, subdirectories in place when `recursive`
/// (the order `kubectl apply -R` walks). Hidden entries (`.git`, a `file://./.drctl` store)
/// are skipped, and symbolic links to directories are not followed (no cycles).
fn files_in(dir: &Path, recursive: bool, out: &mut Vec<PathBuf>) -> CliResult<()> {
    let unreadable = |e: std::io::Error| {
        CliError::invalid(anyhow::anyhow!("cannot read {}: {e}", dir.display()))
    };
    let mut entries = std::fs::read_dir(dir)
        .map_err(unreadable)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(unreadable)?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        let is_link = entry.file_type().map(|t| t.is_symlink()).unwrap_or(false);
        if path.is_dir() {
            if recursive && !is_link {
                files_in(&path, recursive, out)?;
            }
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| EXTENSIONS.contains(&e))
        {
            out.push(path);
        }
    }
    Ok(())
}

fn read_source(source: &Source) -> CliResult<Vec<u8>> {
    let name = source.name();
    let cannot = |e: std::io::Error| CliError::invalid(anyhow::anyhow!("cannot read {name}: {e}"));
    match source {
        Source::Stdin => read_capped(std::io::stdin().lock(), name).map_err(|e| e.or_io(cannot)),
        Source::File(path, _) => {
            let file = std::fs::File::open(path).map_err(cannot)?;
            read_capped(file, name).map_err(|e| e.or_io(cannot))
        }
    }
}

enum ReadError {
    Io(std::io::Error),
    Refused(ParseError),
}

impl ReadError {
    fn or_io(self, io: impl FnOnce(std::io::Error) -> CliError) -> CliError {
        match self {
            ReadError::Io(e) => io(e),
            ReadError::Refused(e) => parse_error(e),
        }
    }
}

/// Read everything, pre-scanning as it comes: a document over the limit, or input that never
/// ends (`/dev/zero`), stops the reading at the limit instead of filling memory.
fn read_capped(mut reader: impl Read, name: &str) -> Result<Vec<u8>, ReadError> {
    let mut scan = Prescan::new();
    let mut bytes = Vec::new();
    let mut chunk = vec![0u8; READ_CHUNK];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ReadError::Io(e)),
        };
        scan.feed(&chunk[..n])
            .map_err(|r| ReadError::Refused(ParseError::refused(name, r)))?;
        bytes.extend_from_slice(&chunk[..n]);
    }
    Ok(bytes)
}

/// The stored version of each of `docs` (None for a new group), once every transition rule
/// and the admission check allow them all; otherwise every refusal at once (exit 2), each
/// with its file and document.
pub async fn checked_against_store(
    store: &dyn Store,
    docs: &[Sourced],
) -> CliResult<Vec<Option<FailoverGroup>>> {
    let all_stored = store.list().await.map_err(store_error)?;
    let by_name: std::collections::BTreeMap<&str, &FailoverGroup> = all_stored
        .iter()
        .map(|s| (s.metadata.name.as_str(), s))
        .collect();
    let stored: Vec<Option<FailoverGroup>> = docs
        .iter()
        .map(|d| {
            by_name
                .get(d.doc.metadata.name.as_str())
                .map(|s| (*s).clone())
        })
        .collect();
    let mut refusals: Vec<(usize, FieldError)> = Vec::new();
    for (i, (doc, stored)) in docs.iter().zip(&stored).enumerate() {
        if let Some(stored) = stored {
            if let Err(errs) = drctl_schema::validate_transition(stored, &doc.doc) {
                refusals.extend(errs.0.into_iter().map(|e| (i, e)));
            }
        }
    }
    let candidates: Vec<FailoverGroup> = docs.iter().map(|d| d.doc.clone()).collect();
    for clash in find_clashes(&candidates, &all_stored) {
        let other = match clash.other_candidate.and_then(|o| docs.get(o)) {
            Some(other) => format!(" ({})", other.location()),
            None => " (stored)".to_string(),
        };
        refusals.push((
            clash.candidate,
            FieldError::new(clash.path.clone(), clash.message(&other)),
        ));
    }
    if refusals.is_empty() {
        return Ok(stored);
    }
    Err(refused(docs, refusals))
}

/// Refusals grouped by document, each line `FILE: document N (NAME): path: message`.
fn refused(docs: &[Sourced], mut refusals: Vec<(usize, FieldError)>) -> CliError {
    refusals.sort_by_key(|(i, _)| *i);
    let mut lines = Vec::new();
    let mut at = 0;
    while at < refusals.len() {
        let index = refusals[at].0;
        let mut errors = Vec::new();
        while at < refusals.len() && refusals[at].0 == index {
            errors.push(refusals[at].1.clone());
            at += 1;
        }
        let Some(doc) = docs.get(index) else {
            continue;
        };
        let errors = DocumentErrors::at(
            doc.position,
            Some(doc.doc.metadata.name.clone()),
            ValidationErrors(errors),
        );
        lines.push(
            ParseError::Invalid {
                source_name: doc.source.clone(),
                errors: vec![errors],
            }
            .to_string(),
        );
    }
    CliError::invalid(anyhow::anyhow!(lines.join("\n")))
}

/// The admission check for one changed document against the store (for `drctl edit`):
/// exit 2 naming the other group when it would manage a resource another group manages.
// edit.rs is to call this before its write; until then only the tests do.
#[allow(dead_code)]
pub async fn admit(store: &dyn Store, doc: &FailoverGroup, source: &str) -> CliResult<()> {
    let stored = store.list().await.map_err(store_error)?;
    let clashes = find_clashes(std::slice::from_ref(doc), &stored);
    if clashes.is_empty() {
        return Ok(());
    }
    let errors = clashes
        .iter()
        .map(|c| FieldError::new(c.path.clone(), c.message(" (stored)")))
        .collect();
    Err(parse_error(ParseError::Invalid {
        source_name: source.to_string(),
        errors: vec![DocumentErrors {
            index: 1,
            name: Some(doc.metadata.name.clone()),
            errors: ValidationErrors(errors),
        }],
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn a_directory_is_read_in_name_order_skipping_hidden_entries() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for name in ["b.yaml", "a.json", "c.yml", "notes.txt", ".hidden.yaml"] {
            std::fs::write(root.join(name), "x").unwrap();
        }
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/a.yaml"), "x").unwrap();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::write(root.join(".git/x.yaml"), "x").unwrap();
        let names = |recursive| {
            let mut out = Vec::new();
            files_in(root, recursive, &mut out).unwrap();
            out.iter()
                .map(|p| p.strip_prefix(root).unwrap().display().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(false), ["a.json", "b.yaml", "c.yml"]);
        assert_eq!(names(true), ["a.json", "b.yaml", "c.yml", "sub/a.yaml"]);
    }

    #[tokio::test]
    async fn admit_refuses_a_document_claiming_what_a_stored_group_manages() {
        use drctl_state::FileStore;
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path().join("store"));
        store.init().await.unwrap();
        let text = include_str!("../../../../examples/failovergroup.yaml");
        let doc = drctl_schema::parse_documents(text.as_bytes(), "example")
            .unwrap()
            .remove(0);
        store.create(&doc).await.unwrap();
        // The stored group itself, edited, claims nothing new.
        admit(&store, &doc, "edited failovergroup/myapp-prod")
            .await
            .unwrap();
        let mut copy = doc.clone();
        copy.metadata.name = "copy".into();
        let err = admit(&store, &copy, "edited failovergroup/copy")
            .await
            .unwrap_err();
        assert_eq!(err.status, crate::cli::exit::ExitStatus::Invalid);
        let text = err.to_string();
        assert!(
            text.contains(
                "edited failovergroup/copy: document 1 (copy): \
                 spec.database.globalClusterIdentifier: global cluster \"myapp-prod-global\" \
                 is already managed by failovergroup/myapp-prod (stored)"
            ),
            "{text}"
        );
    }

    #[test]
    fn reading_stops_at_the_document_limit() {
        let endless = std::io::repeat(0);
        let Err(ReadError::Refused(err)) = read_capped(endless, "/dev/zero") else {
            panic!("an endless input was read to the end");
        };
        assert!(
            err.to_string().contains("over the per-document limit"),
            "{err}"
        );
    }
}
