//! The controller killed with SIGKILL mid-rehearsal, then started again, as a crash would
//! leave it: "it survives its own crashes", rehearsed with real kills on a file store.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use drctl_e2e::cli_env::Env;

const ALIAS: &str = include_str!("../../examples/failovergroup.yaml");

/// The replica identity of a run: the default (host and pid, so the next run must wait for
/// the dead one's lease to run out, on the wall clock) or a stable one (a restarted replica
/// that keeps its name, which takes its own lease back at once).
fn identity(stable: bool) -> Vec<&'static str> {
    if stable {
        vec!["--replica-id", "rehearsal-replica"]
    } else {
        Vec::new()
    }
}

#[test]
fn a_rehearsal_killed_at_any_moment_is_finished_by_the_next_controller() {
    // Real milliseconds after the start: a rehearsal runs minutes of virtual time per second,
    // so these land in different steps of the switchover (the eprintln says which).
    let mut killed_mid_operation = 0;
    for (kill_after_ms, stable) in [(150, false), (40, true), (100, true), (250, true)] {
        let env = Env::new();
        assert_eq!(env.apply(ALIAS).code, 0);
        env.ok(&["controller", "--cloud", "sim", "--once"]);
        env.ok(&["failover", "myapp-prod", "--to", "us-west-2"]);
        let mut args = vec![
            "controller",
            "--cloud",
            "sim",
            "--until-converged",
            "--timeout",
            "900",
        ];
        args.extend(identity(stable));
        let mut first = env
            .drctl
            .command(&args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(kill_after_ms));
        first.kill().unwrap();
        first.wait().unwrap();
        let left = env.get("myapp-prod").status.unwrap_or_default();
        let at = left
            .operation
            .as_ref()
            .and_then(|op| {
                op.steps
                    .iter()
                    .find(|s| s.state != drctl_schema::StepState::Succeeded)
            })
            .map(|s| s.name.as_str().to_string());
        killed_mid_operation += usize::from(at.is_some());
        eprintln!(
            "killed after {kill_after_ms} ms, at {at:?} (phase {:?})",
            left.phase
        );

        let started = Instant::now();
        let finish = env.run(&args);
        let doc = env.get("myapp-prod");
        let status = doc.status.unwrap_or_default();
        assert_eq!(
            finish.code,
            0,
            "killed after {kill_after_ms} ms at {at:?}, then never converged: {finish}\n{}",
            serde_json::to_string_pretty(&status).unwrap_or_default()
        );
        eprintln!(
            "  finished by the next controller in {:?}",
            started.elapsed()
        );
        let observed = status.observed.unwrap_or_default();
        assert_eq!(observed.writer.as_deref(), Some("us-west-2"));
        assert_eq!(observed.dns_owner.as_deref(), Some("us-west-2"));
    }
    assert!(
        killed_mid_operation > 0,
        "no kill landed inside the switchover"
    );
}
