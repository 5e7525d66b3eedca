//! examples/gitops/: the workflow's steps are one script (ci/drctl-gitops.sh); these tests run
//! that script, unchanged, against the embedded file store, through a review (diff) and a
//! merge (apply), and check that the workflow calls it the way the tests do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod ship_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use ship_support::*;

/// A copy of examples/gitops in a temp dir (the "config repository"), and a file store.
struct GitopsRepo {
    _dir: tempfile::TempDir,
    root: PathBuf,
    store: String,
}

impl GitopsRepo {
    fn new() -> GitopsRepo {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("config-repo");
        copy_dir(&repo_root().join("examples/gitops"), &root);
        let store = format!("file://{}", dir.path().join("store").display());
        // The workflow runs against a store that exists (`drctl init` is a one-off step).
        Drctl::initialised(&store).unwrap();
        GitopsRepo {
            _dir: dir,
            root,
            store,
        }
    }

    /// `ci/drctl-gitops.sh MODE groups`, as the workflow runs it; (exit, stdout+stderr, report).
    fn step(&self, mode: &str) -> (i32, String, String) {
        let report = self.root.join("report.md");
        let _ = std::fs::remove_file(&report);
        let out = Command::new("bash")
            .arg(self.root.join("ci/drctl-gitops.sh"))
            .args([mode, "groups"])
            .current_dir(&self.root)
            .env("DRCTL", drctl_path().unwrap())
            .env("DRCTL_STORE", &self.store)
            .env("DRCTL_REPORT", &report)
            .env("USER", "ci")
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let report = std::fs::read_to_string(&report).unwrap_or_default();
        (out.status.code().unwrap_or(-1), text, report)
    }

    fn group_file(&self) -> PathBuf {
        self.root.join("groups/myapp-prod.yaml")
    }

    fn edit_group(&self, from: &str, to: &str) {
        let text = std::fs::read_to_string(self.group_file()).unwrap();
        assert!(text.contains(from), "{from} not in the group document");
        std::fs::write(self.group_file(), text.replacen(from, to, 1)).unwrap();
    }

    fn stored(&self) -> Value {
        let run = Drctl::new(&self.store)
            .unwrap()
            .run(&["get", "myapp-prod", "-o", "json"]);
        assert_eq!(run.code, 0, "{run}");
        serde_json::from_str(&run.stdout).unwrap()
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn review_shows_the_change_merge_applies_it_and_a_second_merge_changes_nothing() {
    let repo = GitopsRepo::new();

    // Review of the first commit: the group is new, so drctl diff exits 1 (a change), which
    // is not a failure of the step, and the report for the review shows the document.
    let (code, out, report) = repo.step("diff");
    assert_eq!(code, 0, "a change is not a failure:\n{out}");
    assert!(out.contains("groups/myapp-prod.yaml: changes"), "{out}");
    assert!(
        report.contains("myapp-prod") && report.contains("changes"),
        "{report}"
    );
    assert!(
        report.contains("```diff"),
        "the review report has no diff block:\n{report}"
    );

    // Merge: applied.
    let (code, out, _) = repo.step("apply");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("failovergroup/myapp-prod created"), "{out}");
    assert_eq!(repo.stored()["spec"]["maxLagSeconds"], 5);

    // Nothing changed: the review says so, and re-applying is a no-op.
    let (code, out, report) = repo.step("diff");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("groups/myapp-prod.yaml: no change"), "{out}");
    assert!(report.contains("no change"), "{report}");
    let (code, out, _) = repo.step("apply");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("failovergroup/myapp-prod unchanged"), "{out}");
}

#[test]
fn a_changed_document_is_shown_in_review_and_configured_on_merge() {
    let repo = GitopsRepo::new();
    assert_eq!(repo.step("apply").0, 0);
    let before = repo.stored();

    repo.edit_group("maxLagSeconds: 5", "maxLagSeconds: 9");
    let (code, out, report) = repo.step("diff");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("changes"), "{out}");
    assert!(
        report.contains("maxLagSeconds"),
        "the review does not show the field:\n{report}"
    );
    // A review never writes.
    assert_eq!(repo.stored()["spec"]["maxLagSeconds"], 5);

    let (code, out, _) = repo.step("apply");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("failovergroup/myapp-prod configured"), "{out}");
    let after = repo.stored();
    assert_eq!(after["spec"]["maxLagSeconds"], 9);
    assert_ne!(
        before["metadata"]["generation"], after["metadata"]["generation"],
        "a spec change bumps the generation"
    );
}

#[test]
fn an_invalid_document_fails_review_with_exit_2_and_is_never_applied() {
    let repo = GitopsRepo::new();
    assert_eq!(repo.step("apply").0, 0);

    repo.edit_group("writer: us-east-1", "writer: eu-west-9");
    let (code, out, report) = repo.step("diff");
    assert_eq!(
        code, 2,
        "an invalid document fails the review with diff's exit 2:\n{out}"
    );
    assert!(
        out.contains("spec.writer"),
        "the error names the field:\n{out}"
    );
    assert!(report.contains("error (exit 2)"), "{report}");

    // A second, valid document next to it: apply stores neither (all or nothing).
    let other = repo.root.join("groups/orders-prod.yaml");
    std::fs::copy(
        repo_root().join("examples/failovergroup-cname.yaml"),
        &other,
    )
    .unwrap();
    let (code, out, _) = repo.step("apply");
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("nothing applied"), "{out}");
    assert_eq!(repo.stored()["spec"]["writer"], "us-east-1");
    let missing = Drctl::new(&repo.store)
        .unwrap()
        .run(&["get", "orders-prod"]);
    assert_ne!(
        missing.code, 0,
        "orders-prod was applied despite the invalid sibling: {missing}"
    );
}

#[test]
fn the_workflow_runs_the_tested_script_diff_on_review_and_apply_on_merge() {
    let text = read_repo_file("examples/gitops/.github/workflows/drctl.yaml");
    let workflow: Value =
        serde_json::to_value(serde_norway::from_str::<serde_norway::Value>(&text).unwrap())
            .unwrap();
    let on = &workflow["on"];
    for event in ["pull_request", "push"] {
        let paths = on[event]["paths"]
            .as_array()
            .unwrap_or_else(|| panic!("{event} paths"));
        assert!(
            paths.iter().any(|p| p == "groups/**"),
            "{event} does not trigger on groups/"
        );
    }
    assert!(on["push"]["branches"]
        .as_array()
        .unwrap()
        .iter()
        .any(|b| b == "main"));

    let runs = |job: &str| -> Vec<String> {
        workflow["jobs"][job]["steps"]
            .as_array()
            .unwrap_or_else(|| panic!("job {job}"))
            .iter()
            .filter_map(|s| s["run"].as_str().map(str::to_string))
            .collect()
    };
    let diff = &workflow["jobs"]["diff"];
    assert!(diff["if"].as_str().unwrap().contains("pull_request"));
    assert!(runs("diff")
        .iter()
        .any(|r| r.trim() == "ci/drctl-gitops.sh diff groups"));
    let apply = &workflow["jobs"]["apply"];
    assert!(apply["if"].as_str().unwrap().contains("push"));
    assert!(runs("apply")
        .iter()
        .any(|r| r.trim() == "ci/drctl-gitops.sh apply groups"));
    // The review job never applies, and the store is the production one.
    assert!(!runs("diff").iter().any(|r| r.contains(" apply")));
    assert!(workflow["env"]["DRCTL_STORE"]
        .as_str()
        .unwrap()
        .starts_with("dynamodb://"));
}
