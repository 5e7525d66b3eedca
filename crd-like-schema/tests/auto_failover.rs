//! `spec.autoFailover` (docs/design-contract.md §7.3): parsing and validation, each test
//! breaking one thing of the alias example with a valid policy added.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use drctl_schema::parse::parse_and_validate;
use drctl_schema::{AlarmRef, AutoFailoverSpec, WitnessesSpec};

const POLICY: &str = "  autoFailover:
    enabled: true
    afterSeconds: 60
    maxDataLossSeconds: 5
    cooldownSeconds: 3600
    witnesses:
      alarms: [{region: us-west-2, name: api-east-synthetics-failing}]
    minWitnesses: 1
";

fn with_policy_text(policy: &str) -> String {
    ALIAS_EXAMPLE.replace("  failback:\n", &format!("{policy}  failback:\n"))
}

fn policy() -> AutoFailoverSpec {
    AutoFailoverSpec {
        enabled: true,
        after_seconds: 60,
        max_data_loss_seconds: 5,
        cooldown_seconds: 3600,
        witnesses: WitnessesSpec {
            alarms: vec![AlarmRef {
                region: "us-west-2".into(),
                name: "api-east-synthetics-failing".into(),
            }],
        },
        min_witnesses: Some(1),
    }
}

fn with_policy(change: impl FnOnce(&mut AutoFailoverSpec)) -> drctl_schema::FailoverGroup {
    alias_with(|d| {
        let mut p = policy();
        change(&mut p);
        d.spec.auto_failover = Some(p);
    })
}

fn err_text(input: &str) -> String {
    parse_and_validate(input.as_bytes(), "in.yaml")
        .unwrap_err()
        .to_string()
}

#[test]
fn the_contract_example_parses_into_the_policy() {
    let docs = parse_and_validate(with_policy_text(POLICY).as_bytes(), "in.yaml").unwrap();
    assert_eq!(docs[0].spec.auto_failover, Some(policy()));
}

#[test]
fn a_group_without_the_policy_has_none() {
    assert_eq!(alias_group().spec.auto_failover, None);
}

#[test]
fn defaults_are_60_s_impaired_and_a_one_hour_cooldown_and_all_witnesses() {
    let text = "  autoFailover:
    enabled: true
    maxDataLossSeconds: 2
    witnesses:
      alarms: [{region: us-west-2, name: a}, {region: us-east-1, name: b}]
";
    let docs = parse_and_validate(with_policy_text(text).as_bytes(), "in.yaml").unwrap();
    let p = docs[0].spec.auto_failover.clone().unwrap();
    assert_eq!((p.after_seconds, p.cooldown_seconds), (60, 3600));
    assert_eq!(p.required_witnesses(), 2);
}

#[test]
fn enabled_and_the_budget_are_never_implied() {
    let text = "  autoFailover:\n    witnesses: {alarms: [{region: us-west-2, name: a}]}\n";
    let err = err_text(&with_policy_text(text));
    assert!(
        err.contains("spec.autoFailover.enabled: is required"),
        "{err}"
    );
}

#[test]
fn after_seconds_below_ten_is_rejected() {
    assert_problem(
        &with_policy(|p| p.after_seconds = 9),
        "spec.autoFailover.afterSeconds",
        "at least 10 s",
    );
    assert!(problems(&with_policy(|p| p.after_seconds = 10)).is_empty());
}

#[test]
fn a_negative_budget_is_rejected_naming_the_field() {
    let err = err_text(&with_policy_text(
        &POLICY.replace("maxDataLossSeconds: 5", "maxDataLossSeconds: -1"),
    ));
    assert!(
        err.contains("spec.autoFailover.maxDataLossSeconds: invalid value"),
        "{err}"
    );
    let err = err_text(&with_policy_text(
        &POLICY.replace("cooldownSeconds: 3600", "cooldownSeconds: -5"),
    ));
    assert!(
        err.contains("spec.autoFailover.cooldownSeconds: invalid value"),
        "{err}"
    );
}

#[test]
fn a_budget_over_an_hour_is_rejected() {
    assert_problem(
        &with_policy(|p| p.max_data_loss_seconds = 3601),
        "spec.autoFailover.maxDataLossSeconds",
        "too large",
    );
}

#[test]
fn a_witness_in_a_region_outside_spec_regions_is_rejected() {
    assert_problem(
        &with_policy(|p| p.witnesses.alarms[0].region = "eu-west-1".into()),
        "spec.autoFailover.witnesses.alarms[0].region",
        "not one of spec.regions",
    );
}

#[test]
fn no_witness_at_all_is_rejected() {
    assert_problem(
        &with_policy(|p| {
            p.witnesses.alarms.clear();
            p.min_witnesses = None;
        }),
        "spec.autoFailover.witnesses.alarms",
        "at least one alarm",
    );
}

#[test]
fn min_witnesses_must_be_between_one_and_the_alarms_listed() {
    for bad in [0, 2] {
        assert_problem(
            &with_policy(|p| p.min_witnesses = Some(bad)),
            "spec.autoFailover.minWitnesses",
            "out of range",
        );
    }
}

#[test]
fn the_same_alarm_twice_is_one_witness_and_rejected() {
    assert_problem(
        &with_policy(|p| {
            let again = p.witnesses.alarms[0].clone();
            p.witnesses.alarms.push(again);
        }),
        "spec.autoFailover.witnesses.alarms[1]",
        "listed twice",
    );
}

#[test]
fn an_empty_alarm_name_is_rejected() {
    assert_problem(
        &with_policy(|p| p.witnesses.alarms[0].name.clear()),
        "spec.autoFailover.witnesses.alarms[0].name",
        "not a CloudWatch alarm name",
    );
}

#[test]
fn unknown_fields_of_the_policy_are_rejected_with_their_path() {
    let err = err_text(&with_policy_text(&POLICY.replace(
        "    minWitnesses: 1\n",
        "    minWitnesses: 1\n    afterSecs: 5\n",
    )));
    assert!(
        err.contains("spec.autoFailover.afterSecs: unknown field `afterSecs`"),
        "{err}"
    );
    let err = err_text(&with_policy_text(&POLICY.replace(
        "name: api-east-synthetics-failing}",
        "name: api-east-synthetics-failing, state: ALARM}",
    )));
    assert!(
        err.contains("spec.autoFailover.witnesses.alarms[0].state: unknown field"),
        "{err}"
    );
}
