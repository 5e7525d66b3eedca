//! The fixture of the command-line tests: a fresh, initialised file store in a temporary
//! directory, the `drctl` binary pointed at it, and the few things those tests do around it
//! (write an input file, apply a document, read the store as the controller would).
//!
//! This is test support: a setup step that fails is a failed test, so it panics with the
//! run's output instead of returning errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use drctl_schema::{FailoverGroup, FailoverGroupStatus, Timestamp};
use drctl_state::{FileStore, Store};

use crate::bin::{Drctl, Run};

/// The lease the tests hold when they write status as the controller would.
const TEST_LEASE: &str = "drctl-controller";

pub struct Env {
    pub dir: tempfile::TempDir,
    pub drctl: Drctl,
}

impl Default for Env {
    fn default() -> Self {
        Env::new()
    }
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let store = format!("file://{}", dir.path().join("store").display());
        let drctl = Drctl::initialised(store).unwrap();
        Env { dir, drctl }
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// Write `content` at `relative` (directories made as needed); returns the path as text,
    /// ready to pass as an argument.
    pub fn file(&self, relative: &str, content: &str) -> String {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        path.display().to_string()
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.drctl.run(args)
    }

    /// Run, and require exit 0.
    pub fn ok(&self, args: &[&str]) -> Run {
        let run = self.run(args);
        assert_eq!(run.code, 0, "drctl {args:?}: {run}");
        run
    }

    /// Run, require exit 0, and parse standard output as JSON.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let run = self.ok(args);
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run}"))
    }

    /// Rehearse a planned switchover of `group` to `region` with `controller --cloud sim` on
    /// this file store: one pass to converge the group as it is, the operator's
    /// `drctl failover`, then the controller until converged (15 virtual minutes at most).
    pub fn rehearse_switchover(&self, group: &str, region: &str) {
        self.ok(&["controller", "--cloud", "sim", "--once"]);
        self.ok(&["failover", group, "--to", region]);
        self.ok(&[
            "controller",
            "--cloud",
            "sim",
            "--until-converged",
            "--timeout",
            "900",
        ]);
    }

    /// `drctl apply -f` of `content`.
    pub fn apply(&self, content: &str) -> Run {
        let path = self.file("apply.yaml", content);
        self.run(&["apply", "-f", &path])
    }

    /// The store, opened directly (as the controller would).
    pub fn store(&self) -> FileStore {
        FileStore::new(self.path("store"))
    }

    /// `drctl get NAME -o json`, parsed.
    pub fn get(&self, name: &str) -> FailoverGroup {
        let run = self.ok(&["get", name, "-o", "json"]);
        serde_json::from_str(&run.stdout).unwrap()
    }

    /// The names `drctl get -o json` lists.
    pub fn names(&self) -> BTreeSet<String> {
        self.list(&[])
            .iter()
            .map(|i| i["metadata"]["name"].as_str().unwrap().to_string())
            .collect()
    }

    /// The items of `drctl get -o json ARGS`.
    pub fn list(&self, args: &[&str]) -> Vec<serde_json::Value> {
        let mut all = vec!["get", "-o", "json"];
        all.extend_from_slice(args);
        let list: serde_json::Value = serde_json::from_str(&self.ok(&all).stdout).unwrap();
        list["items"].as_array().unwrap().clone()
    }

    /// The journal reasons of every group, by name.
    pub fn journal_reasons(&self, names: &BTreeSet<String>) -> Vec<(String, Vec<String>)> {
        let store = self.store();
        runtime().block_on(async {
            let mut out = Vec::new();
            for name in names {
                let events = store.events(name).await.unwrap();
                out.push((name.clone(), events.into_iter().map(|e| e.reason).collect()));
            }
            out
        })
    }

    /// A shell script usable as $EDITOR.
    pub fn editor(&self, name: &str, body: &str) -> String {
        let path = self.file(name, &format!("#!/bin/sh\nset -e\n{body}\n"));
        let chmod = std::process::Command::new("chmod")
            .arg("+x")
            .arg(&path)
            .status()
            .unwrap();
        assert!(chmod.success(), "chmod +x {path}");
        path
    }
}

/// A runtime for the store calls a test makes beside the binary.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Write `status` as the controller would: under a lease, fenced.
pub fn write_status(store: &FileStore, name: &str, status: &FailoverGroupStatus) {
    runtime().block_on(async {
        let lease = store
            .acquire_lease(TEST_LEASE, "test-controller", Timestamp::now(), 60_000)
            .await
            .unwrap()
            .unwrap();
        store
            .write_status(name, status, &lease.fence())
            .await
            .unwrap();
    });
}
