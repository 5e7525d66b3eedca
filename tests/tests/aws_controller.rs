//! The `drctl` binary, unchanged, converging a real-protocol AWS: moto on loopback.
//!
//! As an operator would run it: the world (a global cluster with two members and their
//! instances, a hosted zone and its record, ECS clusters and services, scalable targets, the
//! lag metric) is created by an independent client (boto3, tests/moto/fixture.py); the store is
//! DynamoDB on the same emulator (`drctl init`); drctl reads its endpoint, region and
//! credentials only from the standard AWS environment; and the results are checked with boto3,
//! never with drctl.
//!
//! 1. A planned failover to us-west-2 (`drctl failover --to us-west-2`, then
//!    `drctl controller --cloud aws --until-converged`): writer, DNS record, desired counts and
//!    scalable targets in both regions end as the spec says.
//! 2. The failback with a stale old primary (detached with RemoveFromGlobalCluster): the
//!    controller stops in AwaitApproval, `drctl approve` lets it go on, and it snapshots the
//!    stale cluster, deletes it, recreates it as a member of the global cluster, waits for
//!    replication and switches back: the writer is in us-east-1 again.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use drctl_e2e::bin::{Drctl, Run};
use drctl_e2e::moto::{repo_root, tail, MotoServer};
use serde_json::Value;

const EAST: &str = "us-east-1";
const WEST: &str = "us-west-2";
const GROUP: &str = "myapp-prod";
const STALE_CLUSTER: &str = "myapp-prod-primary";
/// Generous: moto answers in milliseconds, but CI machines are slow and the controller
/// polls an operation every 2 s.
const CONVERGE_TIMEOUT_SECS: &str = "300";
/// `drctl controller` as the tests run it, in the foreground or the background.
const CONTROLLER: &[&str] = &[
    "controller",
    "--cloud",
    "aws",
    "--until-converged",
    "--timeout",
    CONVERGE_TIMEOUT_SECS,
    "--replica-id",
    "e2e",
];

struct World {
    server: MotoServer,
    dir: tempfile::TempDir,
    doc_path: std::path::PathBuf,
    zone: String,
    drctl: Drctl,
}

impl World {
    /// The example group's world, built by boto3, and drctl pointed at it by environment only.
    fn start() -> World {
        let server = MotoServer::start().expect("moto starts (run scripts/setup-venv.sh once)");
        let dir = tempfile::tempdir().unwrap();
        let example = repo_root().join("examples").join("failovergroup.yaml");
        let setup = fixture(
            &server,
            &["setup", example.to_str().unwrap(), "--lag-ms", "250"],
        );
        let zone = setup["hostedZoneId"].as_str().unwrap().to_string();
        let mut document = setup["document"].clone();
        // The verification probe goes to a live endpoint on loopback (moto's own API answers
        // 200) instead of the example's public URL: tests never leave the machine.
        document["spec"]["verify"]["url"] =
            Value::String(format!("{}/moto-api/", server.endpoint()));
        let doc_path = dir.path().join("group.json");
        std::fs::write(&doc_path, serde_json::to_vec_pretty(&document).unwrap()).unwrap();
        let drctl = Drctl::new("dynamodb://drctl-e2e")
            .expect("the drctl binary is built")
            .envs(server.env());
        World {
            server,
            dir,
            doc_path,
            zone,
            drctl,
        }
    }

    fn doc(&self) -> &str {
        self.doc_path.to_str().unwrap()
    }

    /// What boto3 sees now.
    fn inspect(&self) -> Value {
        fixture(&self.server, &["inspect", self.doc(), "--zone", &self.zone])
    }

    /// Run drctl and insist on the exit status, with everything it printed on failure.
    fn drctl(&self, args: &[&str], expect: i32) -> Run {
        let run = self.drctl.run(args);
        assert_eq!(
            run.code,
            expect,
            "drctl {args:?}:\n{run}\nmoto log (tail):\n{}",
            self.server.log_tail(40)
        );
        run
    }

    /// One `--until-converged` run; against a healthy emulator no AWS call may fail (a failed
    /// mutation here has always meant a wire or emulation bug, never bad luck).
    fn converge(&self) -> Run {
        let run = self.drctl(CONTROLLER, 0);
        assert_no_failed_call(&run.stderr);
        run
    }

    fn status(&self) -> Value {
        let run = self.drctl(&["get", GROUP, "-o", "json"], 0);
        let doc: Value = serde_json::from_str(&run.stdout).expect("get -o json prints JSON");
        doc["status"].clone()
    }

    /// The controller as a background process, as it runs in a cluster.
    fn spawn_controller(&self) -> Child {
        let log = std::fs::File::create(self.dir.path().join("controller.log")).unwrap();
        self.drctl
            .command(CONTROLLER)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start drctl controller")
    }

    fn controller_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("controller.log")).unwrap_or_default()
    }
}

fn fixture(server: &MotoServer, args: &[&str]) -> Value {
    server.fixture(args).unwrap_or_else(|e| panic!("{e}"))
}

fn assert_no_failed_call(log: &str) {
    let failed: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("AwsMutationFailed"))
        .collect();
    assert!(
        failed.is_empty(),
        "AWS calls failed:\n{}",
        failed.join("\n")
    );
}

/// (desired count, scalable-target min, max) of every service in `region`, as boto3 sees them.
fn capacity(seen: &Value, region: &str) -> Vec<(String, i64, i64, i64)> {
    let mut out = Vec::new();
    for (name, by_region) in seen["services"].as_object().unwrap() {
        let target = &seen["scalableTargets"][name][region];
        out.push((
            name.clone(),
            by_region[region]["desired"].as_i64().unwrap(),
            target["min"].as_i64().unwrap(),
            target["max"].as_i64().unwrap(),
        ));
    }
    out.sort();
    out
}

fn active_in(seen: &Value, region: &str) {
    assert_eq!(
        capacity(seen, region),
        [
            ("api".to_string(), 6, 6, 24),
            ("worker".to_string(), 3, 2, 12)
        ],
        "{region} runs the active capacity of the spec"
    );
}

fn standby_in(seen: &Value, region: &str) {
    assert_eq!(
        capacity(seen, region),
        [
            ("api".to_string(), 1, 1, 24),
            ("worker".to_string(), 0, 0, 12)
        ],
        "{region} runs the standby capacity of the spec"
    );
}

fn wait_for_phase(world: &World, phase: &str, controller: &mut Child) -> Value {
    let deadline = Instant::now() + Duration::from_secs(CONVERGE_TIMEOUT_SECS.parse().unwrap());
    loop {
        let status = world.status();
        if status["phase"] == phase {
            return status;
        }
        if let Some(exit) = controller.try_wait().unwrap() {
            panic!(
                "the controller exited ({exit}) before phase {phase}; status:\n{status:#}\nlog:\n{}",
                tail(&world.controller_log(), 60)
            );
        }
        assert!(
            Instant::now() < deadline,
            "no phase {phase} within {CONVERGE_TIMEOUT_SECS} s; status:\n{status:#}\nlog:\n{}",
            tail(&world.controller_log(), 60)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn the_binary_fails_over_to_the_standby_and_fails_back_over_a_stale_old_primary_on_the_wire() {
    let world = World::start();
    let before = world.inspect();
    assert_eq!(before["writer"], EAST);
    assert_eq!(before["dnsOwner"], EAST);
    active_in(&before, EAST);
    standby_in(&before, WEST);

    world.drctl(&["init"], 0);
    world.drctl(&["apply", "-f", world.doc()], 0);
    // Already as the spec says: one pass converges without a single change.
    world.converge();
    assert_eq!(world.status()["phase"], "Converged");
    assert_eq!(world.inspect(), before, "a converged world is left alone");

    // --- 1. Failover to us-west-2 --------------------------------------------------------------
    // The GitOps review first: diff against the live account names the calls, changes nothing.
    let mut moved: Value =
        serde_json::from_slice(&std::fs::read(&world.doc_path).unwrap()).unwrap();
    moved["spec"]["writer"] = Value::String(WEST.to_string());
    moved["spec"]["dnsOwner"] = Value::String(WEST.to_string());
    let moved_path = world.dir.path().join("moved.json");
    std::fs::write(&moved_path, serde_json::to_vec(&moved).unwrap()).unwrap();
    let diff = world
        .drctl(
            &["diff", "-f", moved_path.to_str().unwrap(), "--cloud", "aws"],
            1,
        )
        .stdout;
    assert!(
        diff.contains("# first AWS calls (aws, nothing is changed by diff):")
            && diff.contains("[Switchover] switchover global cluster myapp-prod-global"),
        "{diff}"
    );
    assert_eq!(world.inspect(), before, "diff mutates nothing");
    world.drctl(&["failover", GROUP, "--to", WEST], 0);
    // `drctl plan` reads the live account and says what it would do, and does none of it.
    let plan = world.drctl(&["plan", GROUP], 0).stdout;
    for action in [
        "switchover global cluster myapp-prod-global",
        "register scalable target service/myapp-prod-dr/api in us-west-2: min 6, max 24",
        "set desired count of ECS service myapp-prod-dr/worker in us-west-2 to 3",
        // Read from CloudWatch (rpc-v2-cbor) as the fixture published it: 250 ms.
        "replication lag 0.2 s",
    ] {
        assert!(plan.contains(action), "plan says {action:?}:\n{plan}");
    }
    assert_eq!(world.inspect(), before, "plan mutates nothing");
    world.converge();
    let seen = world.inspect();
    assert_eq!(seen["writer"], WEST, "boto3 sees the writer in us-west-2");
    assert_eq!(
        seen["dnsOwner"], WEST,
        "the record points at us-west-2's target"
    );
    assert_eq!(seen["globalCluster"]["failoverState"], Value::Null);
    assert_eq!(
        seen["globalCluster"]["members"].as_array().unwrap().len(),
        2,
        "a switchover keeps both members"
    );
    active_in(&seen, WEST);
    standby_in(&seen, EAST);
    let status = world.status();
    assert_eq!(status["phase"], "Converged");
    let last = &status["lastOperation"];
    assert_eq!(last["state"], "Succeeded", "{last:#}");

    // --- 2. Failback over a stale old primary --------------------------------------------------
    // us-east-1's cluster leaves the global cluster (as after an unplanned failover where
    // Aurora could not re-add it): its data can no longer be trusted.
    fixture(&world.server, &["detach", world.doc(), "--region", EAST]);
    // The metric the recreated secondary will be judged by (primary in us-west-2).
    fixture(
        &world.server,
        &["put-lag", world.doc(), "--lag-ms", "180", "--writer", WEST],
    );
    let detached = world.inspect();
    assert_eq!(
        detached["globalCluster"]["members"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let stale_id = detached["clusters"][EAST]["resourceId"]
        .as_str()
        .expect("DbClusterResourceId")
        .to_string();

    world.drctl(&["failover", GROUP, "--to", EAST], 0);
    let mut controller = world.spawn_controller();
    let waiting = wait_for_phase(&world, "WaitingForApproval", &mut controller);
    // Nothing destructive happened before the approval.
    let before_approval = world.inspect();
    assert_eq!(
        before_approval["clusters"][EAST]["resourceId"],
        stale_id.as_str(),
        "the stale cluster is untouched before the approval"
    );
    assert_eq!(
        before_approval["globalCluster"]["members"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(before_approval["writer"], WEST);
    assert!(
        waiting["operation"]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "AwaitApproval" && s["state"] == "Running"),
        "{waiting:#}"
    );

    world.drctl(&["approve", GROUP], 0);
    let exit = controller.wait().unwrap();
    assert!(
        exit.success(),
        "the controller converges after the approval ({exit}):\n{}",
        tail(&world.controller_log(), 80)
    );
    assert_no_failed_call(&world.controller_log());

    let after = world.inspect();
    let snapshots: Vec<&Value> = after["snapshots"][EAST]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["cluster"] == STALE_CLUSTER)
        .collect();
    assert_eq!(
        snapshots.len(),
        1,
        "one manual snapshot of the stale cluster: {:#}",
        after["snapshots"]
    );
    let members = after["globalCluster"]["members"].as_array().unwrap();
    let east_member = members
        .iter()
        .find(|m| m["region"] == EAST)
        .expect("us-east-1 is a member of the global cluster again");
    assert_eq!(east_member["arn"], after["clusters"][EAST]["arn"]);
    assert_eq!(after["clusters"][EAST]["identifier"], STALE_CLUSTER);
    assert_ne!(
        after["clusters"][EAST]["resourceId"],
        stale_id.as_str(),
        "the stale cluster was deleted and a new one created under its name"
    );
    assert_eq!(
        after["clusters"][EAST]["instances"]
            .as_array()
            .map(|i| i.len()),
        Some(2),
        "the recreated cluster has the spec's instance count: {:#}",
        after["clusters"][EAST]
    );
    assert_eq!(after["writer"], EAST, "the writer is back in us-east-1");
    assert_eq!(after["dnsOwner"], EAST);
    assert_eq!(members.len(), 2);
    active_in(&after, EAST);
    standby_in(&after, WEST);

    let status = world.status();
    assert_eq!(status["phase"], "Converged", "{status:#}");
    let history = world.drctl(&["history", GROUP], 0).stdout;
    for step in [
        "AwaitApproval",
        "SnapshotStale",
        "DeleteStale",
        "RecreateSecondary",
        "WaitReplicaSynced",
    ] {
        assert!(history.contains(step), "history names {step}:\n{history}");
    }
}
