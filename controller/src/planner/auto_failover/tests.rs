//! The policy's rules, one behaviour per test, on explicit times (no clock).

use std::time::Duration;

use drctl_cloud::AlarmState;
use drctl_schema::{AlarmRef, AutoFailoverDecision, AutoFailoverSpec, Timestamp, WitnessesSpec};
use proptest::prelude::*;

use super::*;
use crate::observed::Seen;

const EAST: &str = "us-east-1";
const WEST: &str = "us-west-2";
const T0: i64 = 1_000_000;
const SECOND: i64 = 1000;

fn policy() -> AutoFailoverSpec {
    AutoFailoverSpec {
        enabled: true,
        after_seconds: 60,
        max_data_loss_seconds: 5,
        cooldown_seconds: 3600,
        witnesses: WitnessesSpec {
            alarms: vec![AlarmRef {
                region: WEST.into(),
                name: "api-east-synthetics-failing".into(),
            }],
        },
        min_witnesses: Some(1),
    }
}

fn witness(state: Seen<Option<AlarmState>>) -> WitnessReading {
    WitnessReading {
        region: WEST.into(),
        name: "api-east-synthetics-failing".into(),
        state,
    }
}

fn alarm() -> Vec<WitnessReading> {
    vec![witness(Seen::Known(Some(AlarmState::Alarm)))]
}

/// An outage confirmed by everything, 61 s long, lag 0.8 s: the policy decides.
struct Case {
    policy: Option<AutoFailoverSpec>,
    suspended: bool,
    settled: Option<&'static str>,
    since: Option<i64>,
    witnesses: Vec<WitnessReading>,
    target_health: Result<(), String>,
    lag: Option<f64>,
    last: Option<AutoFailoverDecision>,
    last_move_was_policy: bool,
    now: i64,
}

impl Case {
    fn outage() -> Case {
        Case {
            policy: Some(policy()),
            suspended: false,
            settled: Some(EAST),
            since: Some(T0),
            witnesses: alarm(),
            target_health: Ok(()),
            lag: Some(0.8),
            last: None,
            last_move_was_policy: false,
            now: T0 + 61 * SECOND,
        }
    }

    fn decide(&self) -> PolicyDecision {
        let target = self.settled.map(|w| if w == EAST { WEST } else { EAST });
        decide(&PolicyInput {
            name: "app",
            policy: self.policy.as_ref(),
            suspended: self.suspended,
            settled_writer: self.settled,
            target,
            impaired_since: self.since.map(Timestamp::from_millis),
            witnesses: &self.witnesses,
            target_health: self.target_health.clone(),
            lag_before_outage: self.lag,
            last_decision: self.last.as_ref(),
            last_move_was_policy: self.last_move_was_policy,
            now: Timestamp::from_millis(self.now),
        })
    }
}

fn earlier_decision(at: i64, from: &str, to: &str) -> AutoFailoverDecision {
    AutoFailoverDecision {
        at: Timestamp::from_millis(at),
        from: from.into(),
        to: to.into(),
        resource_version: "2".into(),
        generation: 2,
        lag_seconds: 0.5,
        max_data_loss_seconds: 5,
        evidence: Vec::new(),
    }
}

fn blocked_reason(d: PolicyDecision) -> String {
    match d {
        PolicyDecision::Blocked { reason } => reason,
        other => panic!("expected Blocked, got {other:?}"),
    }
}

#[test]
fn a_confirmed_outage_within_the_budget_fails_over_with_its_evidence_and_lag() {
    match Case::outage().decide() {
        PolicyDecision::Decide {
            from,
            to,
            evidence,
            lag,
        } => {
            assert_eq!((from.as_str(), to.as_str(), lag), (EAST, WEST, 0.8));
            let all = evidence.join("\n");
            assert!(all.contains("probes of us-east-1"), "{all}");
            assert!(
                all.contains("api-east-synthetics-failing in us-west-2: ALARM"),
                "{all}"
            );
            assert!(all.contains("0.8 s <= budget 5 s"), "{all}");
        }
        other => panic!("expected a decision, got {other:?}"),
    }
}

#[test]
fn without_the_policy_or_disabled_or_suspended_it_is_not_armed() {
    let mut c = Case::outage();
    c.policy = None;
    assert!(matches!(c.decide(), PolicyDecision::NotArmed(_)));
    let mut c = Case::outage();
    if let Some(p) = c.policy.as_mut() {
        p.enabled = false;
    }
    assert!(matches!(c.decide(), PolicyDecision::NotArmed(_)));
    let mut c = Case::outage();
    c.suspended = true;
    assert!(matches!(c.decide(), PolicyDecision::NotArmed(_)));
    let mut c = Case::outage();
    c.settled = None;
    assert!(matches!(c.decide(), PolicyDecision::NotArmed(_)));
}

#[test]
fn a_healthy_writer_region_leaves_the_policy_armed() {
    let mut c = Case::outage();
    c.since = None;
    assert_eq!(c.decide(), PolicyDecision::Armed);
}

#[test]
fn before_after_seconds_it_counts_down_to_the_exact_moment() {
    let mut c = Case::outage();
    c.now = T0 + 37 * SECOND;
    match c.decide() {
        PolicyDecision::Watching {
            region,
            decide_at,
            remaining,
            waiting_for,
        } => {
            assert_eq!(region, EAST);
            assert_eq!(decide_at, Timestamp::from_millis(T0 + 60 * SECOND));
            assert_eq!(remaining, Duration::from_secs(23));
            assert_eq!(waiting_for, None);
        }
        other => panic!("expected Watching, got {other:?}"),
    }
    c.now = T0 + 60 * SECOND;
    assert!(matches!(c.decide(), PolicyDecision::Decide { .. }));
}

#[test]
fn the_probes_alone_are_never_enough_without_witnesses_in_alarm() {
    for witnesses in [
        vec![witness(Seen::Known(Some(AlarmState::Ok)))],
        vec![witness(Seen::Known(Some(AlarmState::InsufficientData)))],
        vec![witness(Seen::Known(None))],
        vec![witness(Seen::Unreachable("timeout".into()))],
        Vec::new(),
    ] {
        let mut c = Case::outage();
        c.witnesses = witnesses.clone();
        c.now = T0 + 3600 * SECOND;
        match c.decide() {
            PolicyDecision::Watching { waiting_for, .. } => {
                assert!(
                    waiting_for.is_some_and(|w| w.contains("0 of 1")),
                    "{witnesses:?}"
                );
            }
            other => panic!("{witnesses:?}: expected Watching, got {other:?}"),
        }
    }
}

#[test]
fn an_alarm_alone_is_never_enough_without_the_controllers_own_probes() {
    let mut c = Case::outage();
    c.since = None;
    c.now = T0 + 3600 * SECOND;
    assert_eq!(c.decide(), PolicyDecision::Armed);
}

#[test]
fn min_witnesses_counts_the_alarms_in_alarm() {
    let mut c = Case::outage();
    let p = c.policy.as_mut().expect("policy");
    p.witnesses.alarms.push(AlarmRef {
        region: EAST.into(),
        name: "second".into(),
    });
    p.min_witnesses = Some(2);
    c.witnesses = vec![
        witness(Seen::Known(Some(AlarmState::Alarm))),
        WitnessReading {
            region: EAST.into(),
            name: "second".into(),
            state: Seen::Unreachable("timeout".into()),
        },
    ];
    assert!(matches!(c.decide(), PolicyDecision::Watching { .. }));
    if let Some(p) = c.policy.as_mut() {
        p.min_witnesses = Some(1);
    }
    assert!(matches!(c.decide(), PolicyDecision::Decide { .. }));
}

#[test]
fn lag_over_the_budget_blocks_naming_the_lag_the_budget_and_the_command() {
    let mut c = Case::outage();
    c.lag = Some(30.0);
    let reason = blocked_reason(c.decide());
    assert!(reason.contains("30.0 s"), "{reason}");
    assert!(reason.contains("budget of 5 s"), "{reason}");
    assert!(
        reason.contains("`drctl failover app --to us-west-2 --allow-data-loss`"),
        "{reason}"
    );
}

#[test]
fn unknown_lag_blocks_too() {
    let mut c = Case::outage();
    c.lag = None;
    let reason = blocked_reason(c.decide());
    assert!(reason.contains("unknown"), "{reason}");
    assert!(reason.contains("--allow-data-loss"), "{reason}");
}

#[test]
fn a_lag_exactly_at_the_budget_is_within_it() {
    let mut c = Case::outage();
    c.lag = Some(5.0);
    assert!(matches!(c.decide(), PolicyDecision::Decide { .. }));
}

#[test]
fn an_unhealthy_target_blocks() {
    let mut c = Case::outage();
    c.target_health = Err("its cluster is detached".into());
    let reason = blocked_reason(c.decide());
    assert!(
        reason.contains("cannot take over: its cluster is detached"),
        "{reason}"
    );
}

#[test]
fn never_an_automatic_failback_to_the_region_the_policy_left() {
    let mut c = Case::outage();
    c.settled = Some(WEST);
    c.last = Some(earlier_decision(T0 - 30 * 86_400 * SECOND, EAST, WEST));
    c.last_move_was_policy = true;
    let reason = blocked_reason(c.decide());
    assert!(
        reason.contains("never fails back automatically"),
        "{reason}"
    );
    // Once a person moved the writer since, the policy may act again (after the cooldown).
    c.last_move_was_policy = false;
    assert!(matches!(c.decide(), PolicyDecision::Decide { .. }));
}

#[test]
fn at_most_one_automatic_failover_per_cooldown() {
    let mut c = Case::outage();
    c.last = Some(earlier_decision(T0 - 600 * SECOND, WEST, EAST));
    let reason = blocked_reason(c.decide());
    assert!(reason.contains("cooldown"), "{reason}");
    c.last = Some(earlier_decision(T0 - 3600 * SECOND, WEST, EAST));
    assert!(matches!(c.decide(), PolicyDecision::Decide { .. }));
}

#[test]
fn a_probe_that_answers_is_a_break_and_restarts_the_count() {
    let t = |ms| Timestamp::from_millis(ms);
    assert_eq!(impaired_since(None, None, EAST, true, t(T0)), Some(t(T0)));
    assert_eq!(
        impaired_since(Some(EAST), Some(t(T0)), EAST, true, t(T0 + 30 * SECOND)),
        Some(t(T0))
    );
    assert_eq!(
        impaired_since(Some(EAST), Some(t(T0)), EAST, false, t(T0 + 31 * SECOND)),
        None
    );
    // The writer moved: a new count for the new writer.
    assert_eq!(
        impaired_since(Some(EAST), Some(t(T0)), WEST, true, t(T0 + 40 * SECOND)),
        Some(t(T0 + 40 * SECOND))
    );
}

#[test]
fn the_countdown_names_the_seconds_and_how_to_stop_it() {
    let text = countdown_text("app", EAST, Duration::from_secs(23));
    assert_eq!(
        text,
        "automatic failover in 23 s unless us-east-1 recovers or someone runs `drctl suspend app`"
    );
}

proptest! {
    /// Whatever the evidence, the policy decides only with every rule met.
    #[test]
    fn a_decision_needs_every_rule(
        impaired in proptest::option::of(0i64..200),
        in_alarm in any::<bool>(),
        lag in proptest::option::of(0.0f64..20.0),
        target_ok in any::<bool>(),
        suspended in any::<bool>(),
        since_last in proptest::option::of(0i64..10_000),
    ) {
        let mut c = Case::outage();
        c.since = impaired.map(|_| T0);
        c.now = T0 + impaired.unwrap_or(0) * SECOND;
        c.witnesses = vec![witness(Seen::Known(Some(if in_alarm { AlarmState::Alarm } else { AlarmState::Ok })))];
        c.lag = lag;
        c.target_health = if target_ok { Ok(()) } else { Err("down".into()) };
        c.suspended = suspended;
        c.last = since_last.map(|s| earlier_decision(c.now - s * SECOND, WEST, EAST));
        let decided = matches!(c.decide(), PolicyDecision::Decide { .. });
        let expected = impaired.is_some_and(|s| s >= 60)
            && in_alarm
            && lag.is_some_and(|l| l <= 5.0)
            && target_ok
            && !suspended
            && since_last.is_none_or(|s| s >= 3600);
        prop_assert_eq!(decided, expected);
    }
}

// --- The documented gap of minWitnesses: 1 (docs/runbook.md) ---------------------------------

/// controller-partition with a lying witness: the writer is healthy for its users, but the
/// controller's own link to it is cut (its probes fail without a break) and the one witness
/// is stuck in ALARM.
fn partition_with_a_stuck_witness() -> Case {
    let mut c = Case::outage();
    c.witnesses = vec![witness(Seen::Known(Some(AlarmState::Alarm)))];
    c
}

#[test]
fn a_stuck_alarm_witness_and_a_controller_partition_fool_a_one_witness_policy() {
    // As documented: the policy cannot tell this from an outage, and decides.
    assert!(matches!(
        partition_with_a_stuck_witness().decide(),
        PolicyDecision::Decide { .. }
    ));
}

#[test]
fn two_required_witnesses_are_not_fooled_by_one_stuck_in_alarm() {
    let mut c = partition_with_a_stuck_witness();
    let p = c.policy.as_mut().expect("policy");
    p.witnesses.alarms.push(AlarmRef {
        region: EAST.into(),
        name: "api-east-canary-failing".into(),
    });
    p.min_witnesses = Some(2);
    // The honest second witness sees the writer serving its users.
    c.witnesses.push(WitnessReading {
        region: EAST.into(),
        name: "api-east-canary-failing".into(),
        state: Seen::Known(Some(AlarmState::Ok)),
    });
    match c.decide() {
        PolicyDecision::Watching { waiting_for, .. } => {
            let what = waiting_for.expect("waits for witnesses");
            assert!(what.contains("1 of 2 witness(es) in ALARM"), "{what}");
        }
        other => panic!("expected Watching, got {other:?}"),
    }
}

fn spec_with(policy: AutoFailoverSpec) -> drctl_schema::FailoverGroupSpec {
    let mut group = crate::simulation::example_group().expect("example");
    group.spec.auto_failover = Some(policy);
    group.spec
}

#[test]
fn describe_warns_about_a_policy_that_one_witness_can_trigger() {
    let warning = witness_warning(&spec_with(policy())).expect("a warning");
    assert!(warning.contains("one stuck in ALARM"), "{warning}");
    assert!(warning.contains("minWitnesses: 2"), "{warning}");

    let mut two = policy();
    two.witnesses.alarms.push(AlarmRef {
        region: EAST.into(),
        name: "api-east-canary-failing".into(),
    });
    two.min_witnesses = Some(2);
    assert_eq!(witness_warning(&spec_with(two.clone())), None);
    // Absent minWitnesses means all of them.
    two.min_witnesses = None;
    assert_eq!(witness_warning(&spec_with(two)), None);
    let mut off = policy();
    off.enabled = false;
    assert_eq!(witness_warning(&spec_with(off)), None);
}
