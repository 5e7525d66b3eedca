//! Scenario `app-tier-outage` (docs/design-contract.md §7.2): ECS and the load balancer down
//! in us-east-1, Aurora healthy; the operator moves spec.dnsOwner alone to us-west-2.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use drctl::simulation::{run_scenario, Scenario, ScenarioOptions, ScenarioReport};
use drctl_schema::FailoverGroup;

fn group(yaml: &str) -> FailoverGroup {
    drctl_schema::parse::parse_and_validate(yaml.as_bytes(), "group.yaml")
        .unwrap()
        .remove(0)
}

async fn run(options: ScenarioOptions) -> ScenarioReport {
    let report = run_scenario(Scenario::AppTierOutage, options)
        .await
        .unwrap_or_else(|e| panic!("app-tier-outage: {e}"));
    assert!(
        report.invariant_violations.is_empty(),
        "{:#?}",
        report.invariant_violations
    );
    report
}

fn check_no_database_operation(report: &ScenarioReport) {
    let rds = report.api_calls.get("rds").cloned().unwrap_or_default();
    assert_eq!(rds.mutating, 0, "{:?}", report.api_calls);
    assert!(
        rds.read > 0,
        "the writer was observed: {:?}",
        report.api_calls
    );
    for step in &report.steps {
        assert!(
            !["Switchover", "Failover", "WaitWriter", "FenceSource"].contains(&step.name.as_str()),
            "{step:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn an_app_tier_outage_moves_traffic_to_the_standby_without_touching_the_database() {
    let report = run(ScenarioOptions::new(1)).await;
    println!(
        "app-tier-outage RTO {:?} s, recovery {:?} s, critical path {:?} s, api_calls {:?}",
        report.rto_seconds, report.recovery_seconds, report.critical_path_seconds, report.api_calls
    );
    assert_eq!(report.lost_writes, 0);
    check_no_database_operation(&report);
    let rto = report.rto_seconds.expect("an RTO");
    let recovery = report.recovery_seconds.expect("a recovery time");
    let critical = report.critical_path_seconds.expect("a critical path");
    assert!(rto > recovery && recovery >= critical, "{report:#?}");
    // No promotion on the path: the standby serves within the compute path and DNS, plus
    // polling, well under a database failover (about 180 s of critical path).
    assert!(
        recovery <= critical + 15.0,
        "{recovery} s against {critical} s"
    );
    let types: Vec<&str> = report.decisions.iter().map(|d| d.type_.as_str()).collect();
    assert_eq!(types, ["AppTierFailover", "AppTierFailover"]);
    assert!(report.decisions[0]
        .reason
        .contains("spec.dnsOwner: us-west-2"));
    // Both moves ran every step of the operation; the second brought traffic home.
    let operations: Vec<&str> = report
        .steps
        .iter()
        .filter(|s| s.name == "MoveDns")
        .map(|s| s.operation.as_str())
        .collect();
    assert_eq!(
        operations,
        [
            "AppTierFailover us-east-1 -> us-west-2",
            "AppTierFailover us-west-2 -> us-east-1"
        ]
    );
    assert!(
        report.steps.iter().all(|s| s.state != "Failed"),
        "{:#?}",
        report.steps
    );
    assert_eq!(report.final_phase, Some(drctl_schema::Phase::Converged));
}

#[tokio::test(start_paused = true)]
async fn the_app_tier_outage_rehearses_a_given_group_as_sim_f_does() {
    // The CNAME example and the routingControl one, as `drctl sim -f FILE` hands them over.
    for yaml in [
        include_str!("../../examples/failovergroup-cname.yaml"),
        include_str!("../../examples/failovergroup-routing-control.yaml"),
    ] {
        let group = group(yaml);
        let mut options = ScenarioOptions::new(3);
        options.group = Some(group.clone());
        let report = run(options).await;
        assert_eq!(report.group, group.metadata.name);
        assert_eq!(report.lost_writes, 0);
        check_no_database_operation(&report);
        assert!(report.rto_seconds.is_some(), "{report:#?}");
        if group.spec.dns.routing == drctl_schema::DnsRouting::RoutingControl {
            let route53 = report.api_calls.get("route53").cloned().unwrap_or_default();
            assert_eq!(route53.mutating, 0, "{:?}", report.api_calls);
        }
    }
}

#[tokio::test(start_paused = true)]
async fn the_app_tier_outage_has_no_runbook_baseline() {
    let mut options = ScenarioOptions::new(1);
    options.strategy = drctl::simulation::Strategy::Sequential;
    let err = run_scenario(Scenario::AppTierOutage, options)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no runbook baseline"), "{err}");
}

#[test]
fn the_scenario_is_named_as_the_contract_names_it() {
    assert_eq!(
        Scenario::parse("app-tier-outage"),
        Some(Scenario::AppTierOutage)
    );
}
