//! Every document the code, its messages and the repository's docs cite is in the repository:
//! a path under docs/ exists, and the design brief is cited through its in-repository copy,
//! docs/design-contract.md, never as a DESIGN.md that a newcomer's checkout does not have.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Every .rs and .md file of the repository (build output and hidden directories skipped).
fn sources(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with('.') || name == "target" {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else if name.ends_with(".rs") || name.ends_with(".md") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The `docs/NAME.md` paths a text cites (letters, digits, '-', '_', '/' before `.md`).
fn cited_docs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("docs/") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || "-_/.".contains(c)))
            .unwrap_or(tail.len());
        let path = tail[..end].trim_end_matches('.');
        if path.ends_with(".md") {
            out.push(path.to_string());
        }
        rest = &tail[5..];
    }
    out
}

#[test]
fn every_cited_doc_exists_and_the_design_brief_is_cited_through_its_in_repository_copy() {
    let root = repo_root();
    let contract = root.join("docs/design-contract.md");
    assert!(contract.is_file(), "docs/design-contract.md is missing");
    let this_file = root.join("tests/tests/ship_docs.rs");
    let mut problems = Vec::new();
    for file in sources(&root) {
        if file == contract || file == this_file {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let shown = file.strip_prefix(&root).unwrap().display().to_string();
        for (n, line) in text.lines().enumerate() {
            if line.contains("DESIGN.md") || line.contains("DESIGN §") {
                problems.push(format!(
                    "{shown}:{}: cites DESIGN.md: {}",
                    n + 1,
                    line.trim()
                ));
            }
        }
        for cited in cited_docs(&text) {
            // A path relative to the citing file's directory (docs/ citing docs/x.md from
            // within docs/ is written as x.md, so a docs/ prefix is from the root or from a
            // crate directory's parent).
            if !root.join(&cited).is_file() {
                problems.push(format!("{shown}: cites {cited}, which does not exist"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_contract_copy_holds_the_sections_the_code_cites() {
    let text = std::fs::read_to_string(repo_root().join("docs/design-contract.md")).unwrap();
    for heading in [
        "## 1. The document (contract)",
        "## 2. The command line (contract)",
        "## 3. Architecture",
        "## 4. Operations and their steps",
        "## 5. Invariants",
        "## 7. Additions (contract, second round)",
        "### 7.1 The fleet",
    ] {
        assert!(
            text.contains(heading),
            "docs/design-contract.md lacks {heading:?}"
        );
    }
    // The contract's exit codes and step names, as §2 and §1 state them.
    assert!(text.contains(
        "Exit status: 0 success, 1 failure, 2 invalid input or usage, 3 conflict (stale resourceVersion)."
    ));
    assert!(text.contains("`WaitReplicaSynced`"));
}
