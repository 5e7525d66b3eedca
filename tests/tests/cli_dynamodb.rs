//! The binary on a DynamoDB store (moto on loopback): what a team that keeps its store in
//! DynamoDB runs first, a rehearsal with `controller --cloud sim`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use drctl_e2e::bin::Drctl;
use drctl_e2e::moto::MotoServer;

const ALIAS: &str = include_str!("../../examples/failovergroup.yaml");

/// The requests moto has answered so far (its request log has one line per request).
fn requests(moto: &MotoServer) -> usize {
    moto.log()
        .lines()
        .filter(|line| line.contains("\"POST / HTTP/1.1\""))
        .count()
}

/// Issue 14 found `controller --cloud sim` on a DynamoDB store renewing its lease about 30
/// times a second and never reconciling. A rehearsal of a switchover must converge, and the
/// store must see requests in proportion to the work (one pass per change, a renewal every
/// couple of seconds), not to the loop's speed.
#[test]
fn a_sim_rehearsal_on_a_dynamodb_store_converges_without_flooding_the_store() {
    let moto = MotoServer::start().unwrap();
    let drctl = Drctl::new("dynamodb://drctl-rehearsal")
        .unwrap()
        .envs(moto.env());
    let init = drctl.run(&["init"]);
    assert_eq!(init.code, 0, "{init}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("group.yaml");
    std::fs::write(&path, ALIAS).unwrap();
    let apply = drctl.run(&["apply", "-f", path.to_str().unwrap()]);
    assert_eq!(apply.code, 0, "{apply}");
    let first = drctl.run(&["controller", "--cloud", "sim", "--once"]);
    assert_eq!(first.code, 0, "{first}");
    let failover = drctl.run(&["failover", "myapp-prod", "--to", "us-west-2"]);
    assert_eq!(failover.code, 0, "{failover}");

    let before = requests(&moto);
    let started = std::time::Instant::now();
    let rehearsal = drctl.run(&[
        "controller",
        "--cloud",
        "sim",
        "--until-converged",
        "--timeout",
        "900",
    ]);
    let wall = started.elapsed();
    let sent = requests(&moto) - before;
    assert_eq!(rehearsal.code, 0, "{rehearsal}\n{}", moto.log_tail(20));

    let got = drctl.run(&["get", "myapp-prod", "-o", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&got.stdout).unwrap();
    assert_eq!(doc["status"]["phase"], "Converged", "{got}");
    assert_eq!(doc["status"]["observed"]["writer"], "us-west-2", "{got}");
    // A switchover is a few dozen store writes (status per step, journal events) and reads;
    // the lease is renewed every 2 s of wall time. 30 renewals a second would be far above.
    let budget = 400 + 2 * wall.as_secs() as usize;
    eprintln!("{sent} store requests in {wall:?} of wall time (budget {budget})");
    assert!(sent > 0, "the request count measured nothing");
    assert!(
        sent <= budget,
        "{sent} store requests in {wall:?} for one switchover (budget {budget})"
    );
}
