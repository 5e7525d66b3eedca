//! `spec.autoFailover` through the `drctl` binary: the countdown in `get` and `describe`, and
//! `drctl suspend` cancelling it. The controller's part (status) is written by the test
//! through the store API with a lease fence, as the controller would.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use drctl_e2e::cli_env::{write_status, Env};
use drctl_schema::{AutoFailoverStatus, FailoverGroupStatus, Phase, Timestamp};

const ALIAS: &str = include_str!("../../examples/failovergroup.yaml");
const POLICY: &str = "  autoFailover:
    enabled: true
    afterSeconds: 60
    maxDataLossSeconds: 5
    cooldownSeconds: 3600
    witnesses:
      alarms: [{region: us-west-2, name: api-east-synthetics-failing}]
    minWitnesses: 1
  failback:
";

/// us-east-1 impaired since 37 s ago: the policy decides in about 23 s.
fn counting_down() -> FailoverGroupStatus {
    let now = Timestamp::now();
    FailoverGroupStatus {
        observed_generation: 1,
        phase: Phase::Degraded,
        auto_failover: Some(AutoFailoverStatus {
            state: "Watching".into(),
            message: "automatic failover in 23 s unless ...".into(),
            impaired_region: Some("us-east-1".into()),
            impaired_since: Some(now.plus_millis(-37_000)),
            decide_at: Some(now.plus_millis(23_500)),
            lag_before_outage_seconds: Some(0.7),
            last_decision: None,
        }),
        ..Default::default()
    }
}

fn with_policy() -> String {
    ALIAS.replace("  failback:\n", POLICY)
}

#[test]
fn get_and_describe_show_the_countdown_naming_drctl_suspend() {
    let env = Env::new();
    assert_eq!(env.apply(&with_policy()).code, 0);
    write_status(&env.store(), "myapp-prod", &counting_down());
    for args in [&["get"][..], &["describe", "myapp-prod"][..]] {
        let out = env.ok(args).stdout;
        assert!(out.contains("automatic failover in 2"), "{args:?}: {out}");
        assert!(
            out.contains(" s unless us-east-1 recovers or someone runs `drctl suspend myapp-prod`"),
            "{args:?}: {out}"
        );
    }
}

#[test]
fn suspend_cancels_the_pending_automatic_failover() {
    let env = Env::new();
    assert_eq!(env.apply(&with_policy()).code, 0);
    write_status(&env.store(), "myapp-prod", &counting_down());
    env.ok(&["suspend", "myapp-prod"]);
    let get = env.ok(&["get"]).stdout;
    assert!(!get.contains("automatic failover in"), "{get}");
    let describe = env.ok(&["describe", "myapp-prod"]).stdout;
    assert!(!describe.contains("automatic failover in"), "{describe}");
    assert!(
        describe.contains("Auto Failover:     not armed: spec.suspended is true"),
        "{describe}"
    );
}

#[test]
fn a_group_without_the_policy_shows_no_policy_line() {
    let env = Env::new();
    assert_eq!(env.apply(ALIAS).code, 0);
    let describe = env.ok(&["describe", "myapp-prod"]).stdout;
    assert!(!describe.contains("Auto Failover"), "{describe}");
}

#[test]
fn a_bad_policy_is_refused_with_exit_2_and_nothing_written() {
    let env = Env::new();
    let bad = with_policy().replace("afterSeconds: 60", "afterSeconds: 3");
    let run = env.apply(&bad);
    assert_eq!(run.code, 2, "{run}");
    assert!(
        run.stderr
            .contains("spec.autoFailover.afterSeconds: 3 is too short"),
        "{run}"
    );
    let get = env.run(&["get", "myapp-prod"]);
    assert_ne!(get.code, 0, "{get}");
}
