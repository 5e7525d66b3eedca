//! Optimistic concurrency through the CLI: eight `drctl apply` processes racing on one group.
//! With an explicit resourceVersion from the same read exactly one wins and the others exit 3
//! saying what changed and how to retry; writers that retry on 3 all land, no change lost.
//! Against the file store and DynamoDB (moto on loopback).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::{Arc, Barrier};

use drctl_e2e::bin::Drctl;
use drctl_e2e::moto::MotoServer;

const ALIAS: &str = include_str!("../../examples/failovergroup.yaml");
const WRITERS: usize = 8;

fn stored(drctl: &Drctl) -> serde_json::Value {
    let run = drctl.run(&["get", "myapp-prod", "-o", "json"]);
    assert_eq!(run.code, 0, "{run}");
    serde_json::from_str(&run.stdout).unwrap()
}

fn apply_json(drctl: &Drctl, path: &Path, doc: &serde_json::Value) -> drctl_e2e::bin::Run {
    std::fs::write(path, serde_json::to_string_pretty(doc).unwrap()).unwrap();
    drctl.run(&["apply", "-f", path.to_str().unwrap()])
}

fn race(drctl: &Drctl, scratch: &Path) {
    let base = scratch.join("base.yaml");
    std::fs::write(&base, ALIAS).unwrap();
    assert_eq!(drctl.run(&["apply", "-f", base.to_str().unwrap()]).code, 0);

    // Eight writers, one read: all carry the same resourceVersion.
    let read = stored(drctl);
    assert_eq!(read["metadata"]["resourceVersion"], "1");
    let barrier = Arc::new(Barrier::new(WRITERS));
    let handles: Vec<_> = (0..WRITERS)
        .map(|i| {
            let drctl = drctl.clone();
            let barrier = Arc::clone(&barrier);
            let mut doc = read.clone();
            doc["spec"]["maxLagSeconds"] = serde_json::json!(10 + i);
            let path = scratch.join(format!("racer-{i}.json"));
            std::thread::spawn(move || {
                std::fs::write(&path, serde_json::to_string(&doc).unwrap()).unwrap();
                barrier.wait();
                (i, drctl.run(&["apply", "-f", path.to_str().unwrap()]))
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let winners: Vec<usize> = results
        .iter()
        .filter(|(_, r)| r.code == 0)
        .map(|(i, _)| *i)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one writer wins: {results:#?}");
    for (i, run) in &results {
        if run.code == 0 {
            continue;
        }
        assert_eq!(run.code, 3, "writer {i}: {run}");
        assert!(
            run.stderr
                .contains("you had resourceVersion 1, the store has 2"),
            "writer {i}: {run}"
        );
        assert!(
            run.stderr
                .contains("Re-read it with `drctl get myapp-prod -o yaml`"),
            "writer {i}: {run}"
        );
    }
    let after = stored(drctl);
    assert_eq!(
        after["spec"]["maxLagSeconds"],
        serde_json::json!(10 + winners[0])
    );
    assert_eq!(after["metadata"]["resourceVersion"], "2");
}

fn retry_until_all_land(drctl: &Drctl, scratch: &Path) {
    let handles: Vec<_> = (0..WRITERS)
        .map(|i| {
            let drctl = drctl.clone();
            let path = scratch.join(format!("labeller-{i}.json"));
            std::thread::spawn(move || {
                for _ in 0..50 {
                    let mut doc = stored(&drctl);
                    doc["metadata"]["labels"][format!("writer-{i}")] = serde_json::json!("yes");
                    let run = apply_json(&drctl, &path, &doc);
                    match run.code {
                        0 => return,
                        3 => continue,
                        _ => panic!("writer {i}: {run}"),
                    }
                }
                panic!("writer {i} never landed its label");
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    let labels = stored(drctl)["metadata"]["labels"].clone();
    for i in 0..WRITERS {
        assert_eq!(
            labels[format!("writer-{i}")],
            "yes",
            "label of writer {i} lost: {labels}"
        );
    }
    assert_eq!(labels["team"], "payments");
}

#[test]
fn racing_applies_on_the_file_store_one_wins_the_rest_conflict_and_retries_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let drctl = Drctl::new(format!("file://{}", dir.path().join("store").display())).unwrap();
    race(&drctl, dir.path());
    retry_until_all_land(&drctl, dir.path());
}

#[test]
fn racing_applies_on_dynamodb_one_wins_the_rest_conflict_and_retries_lose_nothing() {
    let moto = MotoServer::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let drctl = Drctl::new("dynamodb://drctl-race")
        .unwrap()
        .envs(moto.env());
    let init = drctl.run(&["init"]);
    assert_eq!(init.code, 0, "{init}");
    race(&drctl, dir.path());
    retry_until_all_land(&drctl, dir.path());
}
