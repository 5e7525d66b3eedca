//! Optimistic concurrency through the CLI: eight `drctl apply` processes racing on one group.
//! With an explicit resourceVersion from the same read exactly one wins and the others exit 3
//! saying what changed and how to retry; writers that retry on 3 all land, no change lost.
//! Against the file store and DynamoDB (moto on loopback). Opposite `drctl failover`s that
//! read the same version: one side lands, the other exits 3 instead of silently undoing it.
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

/// Eight applies of documents without a resourceVersion at once: "last writer wins, merged"
/// on every store, so all of them land (exit 0; a lost race is retried, not the user's
/// conflict), and the journal holds one SpecApplied per write in write order.
fn parallel_applies_without_a_resource_version_all_land_in_journal_order(
    drctl: &Drctl,
    scratch: &Path,
) {
    let base = scratch.join("lww-base.yaml");
    std::fs::write(&base, ALIAS).unwrap();
    assert_eq!(drctl.run(&["apply", "-f", base.to_str().unwrap()]).code, 0);
    let barrier = Arc::new(Barrier::new(WRITERS));
    let handles: Vec<_> = (0..WRITERS)
        .map(|i| {
            let drctl = drctl.clone();
            let barrier = Arc::clone(&barrier);
            let path = scratch.join(format!("lww-{i}.yaml"));
            let doc = ALIAS.replacen("maxLagSeconds: 5", &format!("maxLagSeconds: {}", 10 + i), 1);
            std::thread::spawn(move || {
                std::fs::write(&path, doc).unwrap();
                barrier.wait();
                (i, drctl.run(&["apply", "-f", path.to_str().unwrap()]))
            })
        })
        .collect();
    for handle in handles {
        let (i, run) = handle.join().unwrap();
        assert_eq!(run.code, 0, "writer {i} without a resourceVersion: {run}");
        assert!(run.stdout.contains("configured"), "writer {i}: {run}");
    }
    let after = stored(drctl);
    assert_eq!(
        after["metadata"]["resourceVersion"],
        (1 + WRITERS).to_string()
    );
    let history = drctl.run(&["history", "myapp-prod", "-o", "json"]);
    assert_eq!(history.code, 0, "{history}");
    let events: serde_json::Value = serde_json::from_str(&history.stdout).unwrap();
    let versions: Vec<String> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["reason"] == "SpecApplied")
        .map(|e| e["data"]["resourceVersion"].as_str().unwrap().to_string())
        .collect();
    let expected: Vec<String> = (1..=1 + WRITERS).map(|v| v.to_string()).collect();
    assert_eq!(versions, expected, "journal order is not write order");
    let last = &events.as_array().unwrap().last().unwrap()["data"]["changes"];
    assert!(
        last.to_string()
            .contains(&format!("-> {}", after["spec"]["maxLagSeconds"])),
        "the last event is not the write that stands: {last}"
    );
}

#[test]
fn parallel_applies_without_a_resource_version_all_land_on_the_file_store() {
    let dir = tempfile::tempdir().unwrap();
    let drctl =
        Drctl::initialised(format!("file://{}", dir.path().join("store").display())).unwrap();
    parallel_applies_without_a_resource_version_all_land_in_journal_order(&drctl, dir.path());
}

#[test]
fn parallel_applies_without_a_resource_version_all_land_on_dynamodb() {
    let moto = MotoServer::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let drctl = Drctl::new("dynamodb://drctl-lww").unwrap().envs(moto.env());
    let init = drctl.run(&["init"]);
    assert_eq!(init.code, 0, "{init}");
    parallel_applies_without_a_resource_version_all_land_in_journal_order(&drctl, dir.path());
}

#[test]
fn racing_applies_on_the_file_store_one_wins_the_rest_conflict_and_retries_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let drctl =
        Drctl::initialised(format!("file://{}", dir.path().join("store").display())).unwrap();
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

/// Blocked exclusive flock waiters on the file with inode `inode`, by pid, from /proc/locks
/// (`1: -> FLOCK  ADVISORY  WRITE 4242 fe:00:1234 0 EOF`).
#[cfg(target_os = "linux")]
fn blocked_writers(inode: u64) -> Vec<u32> {
    let locks = std::fs::read_to_string("/proc/locks").unwrap();
    let suffix = format!(":{inode}");
    locks
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let blocked = fields.get(1) == Some(&"->") && fields.get(2) == Some(&"FLOCK");
            let on_file = fields.get(6).is_some_and(|f| f.ends_with(&suffix));
            (blocked && on_file && fields.get(4) == Some(&"WRITE"))
                .then(|| fields.get(5).and_then(|pid| pid.parse().ok()))
                .flatten()
        })
        .collect()
}

/// Several `failover --to us-west-2` and `failover --to us-east-1` at once, all reading the
/// same version: the test holds the file store's lock shared, so every racer reads and then
/// waits at its write until all have read. The first write decides; racers for the same
/// region find their change already there (exit 0), racers for the other region find the
/// fields they set changed meanwhile and exit 3. Nothing is undone.
#[cfg(target_os = "linux")]
#[test]
fn opposite_failovers_reading_the_same_version_one_side_lands_the_other_exits_3() {
    use std::os::unix::fs::MetadataExt;
    use std::process::Stdio;

    let dir = tempfile::tempdir().unwrap();
    let drctl =
        Drctl::initialised(format!("file://{}", dir.path().join("store").display())).unwrap();
    // No dnsOwner: `--to us-east-1` then writes too (dnsOwner: us-east-1), so both sides race.
    let base = dir.path().join("base.yaml");
    std::fs::write(&base, ALIAS.replace("  dnsOwner: us-east-1\n", "")).unwrap();
    assert_eq!(drctl.run(&["apply", "-f", base.to_str().unwrap()]).code, 0);

    let lock_path = dir.path().join("store").join("lock");
    let lock = std::fs::File::open(&lock_path).unwrap();
    let inode = lock.metadata().unwrap().ino();
    lock.lock_shared().unwrap();
    let targets = [
        "us-west-2",
        "us-east-1",
        "us-west-2",
        "us-east-1",
        "us-west-2",
        "us-east-1",
    ];
    let racers: Vec<_> = targets
        .iter()
        .map(|to| {
            drctl
                .command(&["failover", "myapp-prod", "--to", to])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let pids: Vec<u32> = racers.iter().map(|c| c.id()).collect();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let blocked = blocked_writers(inode);
        if pids.iter().all(|p| blocked.contains(p)) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not every racer reached its write: blocked {blocked:?}, racers {pids:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    lock.unlock().unwrap();

    let results: Vec<(&str, drctl_e2e::bin::Run)> = targets
        .iter()
        .zip(racers)
        .map(|(to, child)| {
            let out = child.wait_with_output().unwrap();
            let run = drctl_e2e::bin::Run {
                code: out.status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            };
            (*to, run)
        })
        .collect();
    let writer = stored(&drctl)["spec"]["writer"]
        .as_str()
        .unwrap()
        .to_string();
    for (to, run) in &results {
        if *to == writer {
            assert_eq!(run.code, 0, "--to {to}, the side that landed: {run}");
        } else {
            assert_eq!(
                run.code, 3,
                "--to {to} against a landed --to {writer}: {run}"
            );
            assert!(
                run.stderr.contains(&format!(
                    "spec.dnsOwner: read <none>, this command sets {to}, now {writer}"
                )),
                "{run}"
            );
            assert!(run.stderr.contains("nothing was written"), "{run}");
        }
    }
    let history = drctl.run(&["history", "myapp-prod", "-o", "json"]);
    let events: serde_json::Value = serde_json::from_str(&history.stdout).unwrap();
    let failovers: Vec<&serde_json::Value> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["reason"] == "FailoverRequested")
        .collect();
    assert_eq!(
        failovers.len(),
        1,
        "exactly one failover landed: {failovers:#?}"
    );
    assert_eq!(stored(&drctl)["metadata"]["resourceVersion"], "2");
}
