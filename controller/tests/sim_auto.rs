//! The automatic-failover scenarios (docs/design-contract.md §7.3) in virtual time: their
//! targets (issue 11) are asserted on the scenario reports, which are deterministic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use drctl::simulation::{
    example_group, run_scenario, run_scenario_on, Scenario, ScenarioOptions, ScenarioReport,
};
use drctl_schema::Phase;

fn checked(name: &str, report: ScenarioReport) -> ScenarioReport {
    assert!(
        report.invariant_violations.is_empty(),
        "{name}: {:#?}",
        report.invariant_violations
    );
    println!(
        "{name}: rto {:?} recovery {:?} critical {:?} rpo {:?} lost {} final {:?} decisions {:?} rds {:?}",
        report.rto_seconds,
        report.recovery_seconds,
        report.critical_path_seconds,
        report.rpo_seconds,
        report.lost_writes,
        report.final_phase,
        report.decisions,
        report.api_calls.get("rds")
    );
    report
}

async fn run(scenario: Scenario, seed: u64) -> ScenarioReport {
    let report = run_scenario(scenario, ScenarioOptions::new(seed))
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", scenario.name()));
    checked(scenario.name(), report)
}

fn by(report: &ScenarioReport, who: &str) -> usize {
    report.decisions.iter().filter(|d| d.by == who).count()
}

#[tokio::test(start_paused = true)]
async fn region_outage_auto_fails_over_once_by_policy_within_after_seconds_plus_the_critical_path_plus_10_s(
) {
    let report = run(Scenario::RegionOutageAuto, 1).await;
    assert_eq!(by(&report, "policy"), 1, "{:#?}", report.decisions);
    assert_eq!(by(&report, "operator"), 0, "{:#?}", report.decisions);
    let rto = report.rto_seconds.expect("served again");
    let critical = report.critical_path_seconds.expect("critical path");
    assert!(
        rto <= 60.0 + critical + 10.0,
        "rto {rto}, critical {critical}"
    );
    // The decision is never before afterSeconds of impairment.
    let decided = report.decisions[0].at_seconds;
    let incident = report
        .timeline
        .iter()
        .find(|t| t.what.contains("goes dark"))
        .unwrap();
    assert!(
        decided - incident.at_seconds >= 60.0,
        "{decided} vs {}",
        incident.at_seconds
    );
    // The loss is held to the budget (invariant 3 with the policy's allowance).
    assert!(report.rpo_seconds.expect("rpo") <= 5.0);
    assert!(
        report.lost_writes as f64 <= (5.0 + 1.0) * 10.0,
        "{}",
        report.lost_writes
    );
}

#[tokio::test(start_paused = true)]
async fn controller_partition_decides_nothing_and_makes_no_mutating_rds_call() {
    let report = run(Scenario::ControllerPartition, 1).await;
    assert!(report.decisions.is_empty(), "{:#?}", report.decisions);
    let rds = report.api_calls.get("rds").cloned().unwrap_or_default();
    assert_eq!(rds.mutating, 0, "{rds:?}");
    assert_eq!(report.lost_writes, 0);
}

#[tokio::test(start_paused = true)]
async fn lag_over_budget_decides_nothing_loses_nothing_and_ends_blocked() {
    let report = run(Scenario::LagOverBudget, 1).await;
    assert!(report.decisions.is_empty(), "{:#?}", report.decisions);
    assert_eq!(report.lost_writes, 0);
    assert_eq!(report.final_phase, Some(Phase::Blocked));
}

#[tokio::test(start_paused = true)]
async fn flapping_region_causes_at_most_one_automatic_failover() {
    let report = run(Scenario::FlappingRegion, 1).await;
    assert_eq!(by(&report, "policy"), 1, "{:#?}", report.decisions);
}

#[tokio::test(start_paused = true)]
async fn the_same_outage_without_auto_failover_is_never_decided_by_policy() {
    let group = example_group().unwrap();
    assert!(group.spec.auto_failover.is_none());
    let outcome = run_scenario_on(Scenario::RegionOutageAuto, ScenarioOptions::new(1), group).await;
    // Nobody decides: the scenario's wait for the automatic failover runs out (and not an
    // earlier wait, such as the initial convergence).
    match outcome {
        Ok(r) => panic!("a failover happened without a policy: {:#?}", r.decisions),
        Err(e) => assert!(
            e.to_string()
                .contains("automatic failover to us-west-2: not reached"),
            "{e}"
        ),
    }
}

#[tokio::test(start_paused = true)]
async fn operator_scenarios_report_the_operators_decisions() {
    let report = run_scenario(Scenario::RegionOutageFailover, ScenarioOptions::new(2))
        .await
        .unwrap();
    assert_eq!(report.decisions.len(), 1, "{:#?}", report.decisions);
    let d = &report.decisions[0];
    assert_eq!((d.by.as_str(), d.type_.as_str()), ("operator", "Failover"));
    assert!(d.reason.contains("--allow-data-loss"), "{}", d.reason);
    // Serving from us-west-2 while us-east-1 is still dark: Degraded, not Converged.
    assert_eq!(report.final_phase, Some(Phase::Degraded));
}

// --- Recording the decision: one spec write with its event, on the version the pass read ------

mod recording {
    use std::time::Duration;

    use drctl::fleet::FleetReads;
    use drctl::metrics::Metrics;
    use drctl::observe::ObserveCache;
    use drctl::planner::PlannerConfig;
    use drctl::reconcile::{reconcile_group, AlwaysLeader, ReconcileContext, POLICY_EVENT};
    use drctl::simulation::{auto, example_group, Scenario};
    use drctl_schema::{AutoFailoverStatus, FailoverGroupStatus, ObservedSummary};
    use drctl_sim::{OutageScope, SimConfig, SimWorld};
    use drctl_state::Store;

    const NAME: &str = "myapp-prod";

    /// A world whose us-east-1 has been dark for two minutes, as the previous pass saw it,
    /// with the witness in ALARM: the next pass decides.
    async fn ready_to_decide() -> (std::sync::Arc<SimWorld>, std::sync::Arc<dyn Store>) {
        let world = SimWorld::new(SimConfig::new(1));
        let mut group = example_group().unwrap();
        group.spec.auto_failover = Some(auto::policy(Scenario::RegionOutageAuto));
        world.provision(&group.spec).unwrap();
        auto::prepare_world(Scenario::RegionOutageAuto, &world);
        let store = world.store_as("drctl-a");
        store.init().await.unwrap();
        group.status = None;
        store.create(&group).await.unwrap();
        tokio::time::sleep(Duration::from_secs(180)).await;
        world.region_outage_with("us-east-1", OutageScope::RegionalServicesOnly);
        let lease = store
            .acquire_lease("drctl-controller", "drctl-a", world.now(), 600_000)
            .await
            .unwrap()
            .unwrap();
        let status = FailoverGroupStatus {
            observed_generation: 1,
            observed: Some(ObservedSummary {
                writer: Some("us-east-1".into()),
                replication_lag_seconds: Some(0.5),
                ..Default::default()
            }),
            auto_failover: Some(AutoFailoverStatus {
                state: "Watching".into(),
                impaired_region: Some("us-east-1".into()),
                impaired_since: Some(world.now().plus_millis(-120_000)),
                lag_before_outage_seconds: Some(0.5),
                ..Default::default()
            }),
            ..Default::default()
        };
        store
            .write_status(NAME, &status, &lease.fence())
            .await
            .unwrap();
        (world, store)
    }

    async fn pass(
        world: &std::sync::Arc<SimWorld>,
        store: &std::sync::Arc<dyn Store>,
        doc: &drctl_schema::FailoverGroup,
    ) {
        pass_counted(world, store, doc, Metrics::new()).await;
    }

    async fn pass_counted(
        world: &std::sync::Arc<SimWorld>,
        store: &std::sync::Arc<dyn Store>,
        doc: &drctl_schema::FailoverGroup,
        metrics: std::sync::Arc<Metrics>,
    ) {
        let cloud = world.cloud("drctl-a");
        let ctx = ReconcileContext {
            cloud: cloud.clone(),
            reads: FleetReads::new(cloud),
            store: store.clone(),
            actor: "controller/drctl-a".to_string(),
            config: PlannerConfig::default(),
            metrics,
        };
        let lease = store.get_lease("drctl-controller").await.unwrap().unwrap();
        reconcile_group(
            &ctx,
            doc,
            &lease.fence(),
            &AlwaysLeader,
            &mut ObserveCache::default(),
        )
        .await
        .unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn the_decision_is_one_spec_edit_with_its_journal_event_by_policy() {
        let (world, store) = ready_to_decide().await;
        let doc = store.get(NAME).await.unwrap().unwrap();
        pass(&world, &store, &doc).await;
        let after = store.get(NAME).await.unwrap().unwrap();
        assert_eq!(after.spec.writer, "us-west-2");
        assert_eq!(after.spec.dns_owner.as_deref(), Some("us-west-2"));
        assert!(
            !after.spec.allow_data_loss,
            "the allowance is the decision's only"
        );
        let events = store.events(NAME).await.unwrap();
        let event = events
            .iter()
            .find(|e| e.reason == POLICY_EVENT)
            .expect("the event");
        assert_eq!(event.actor, "policy");
        let data = event.data.clone().unwrap();
        assert_eq!(data["by"], "policy");
        assert_eq!(data["lagSeconds"], 0.5);
        assert_eq!(
            data["resourceVersion"].as_str(),
            after.metadata.resource_version.as_deref()
        );
        // The next pass runs today's Failover on that allowance.
        pass(&world, &store, &after).await;
        let op = store
            .get(NAME)
            .await
            .unwrap()
            .unwrap()
            .status
            .unwrap()
            .operation
            .unwrap();
        assert_eq!(op.type_, drctl_schema::OperationType::Failover);
        assert!(op.notes.contains_key("dataLossAllowedBy"), "{:?}", op.notes);
    }

    #[tokio::test(start_paused = true)]
    async fn a_concurrent_operator_edit_wins_and_the_decision_is_refused() {
        let (world, store) = ready_to_decide().await;
        let read = store.get(NAME).await.unwrap().unwrap();
        // Someone edits between the pass's read and its write.
        let mut theirs = read.clone();
        theirs.status = None;
        theirs.spec.max_lag_seconds = 7;
        store
            .update(&theirs, read.metadata.resource_version.as_deref().unwrap())
            .await
            .unwrap();
        pass(&world, &store, &read).await;
        let after = store.get(NAME).await.unwrap().unwrap();
        assert_eq!(after.spec.writer, "us-east-1");
        assert_eq!(after.spec.max_lag_seconds, 7, "the person's edit stands");
        let events = store.events(NAME).await.unwrap();
        assert!(
            events.iter().all(|e| e.reason != POLICY_EVENT),
            "{events:#?}"
        );
        assert!(events
            .iter()
            .any(|e| e.reason == "AutomaticFailoverRefused"));
        // And the memory holds no allowance that a later edit could inherit.
        let memory = after.status.unwrap().auto_failover.unwrap();
        assert!(memory.last_decision.is_none(), "{memory:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn the_decision_is_counted_by_outcome_and_the_countdown_is_a_gauge() {
        let (world, store) = ready_to_decide().await;
        let doc = store.get(NAME).await.unwrap().unwrap();
        let metrics = Metrics::new();
        pass_counted(&world, &store, &doc, metrics.clone()).await;
        let text = metrics.render();
        assert!(
            text.contains("drctl_auto_failover_decisions_total{outcome=\"failover\"} 1"),
            "{text}"
        );

        // Another group-state: 20 s into the outage, 40 s before the decision.
        let (world, store) = ready_to_decide().await;
        let mut doc = store.get(NAME).await.unwrap().unwrap();
        let status = doc.status.as_mut().unwrap();
        let memory = status.auto_failover.as_mut().unwrap();
        let set_at = world.now();
        memory.impaired_since = Some(set_at.plus_millis(-20_000));
        let metrics = Metrics::new();
        pass_counted(&world, &store, &doc, metrics.clone()).await;
        // The pass's own reads take virtual time before the planner looks at the clock.
        let pass_took = world.now().seconds_since(set_at);
        let text = metrics.render();
        let gauge = text
            .lines()
            .find(|l| {
                l.starts_with("drctl_auto_failover_seconds_until_decision{group=\"myapp-prod\"}")
            })
            .unwrap_or_else(|| panic!("{text}"));
        let seconds: f64 = gauge.rsplit(' ').next().unwrap().parse().unwrap();
        assert!(
            (40.0 - pass_took - 1.0..=40.0).contains(&seconds),
            "{gauge} after a pass of {pass_took} s"
        );
        assert!(pass_took < 20.0, "the pass took {pass_took} s");
        assert!(!text.contains("outcome=\"failover\""), "{text}");
    }
}
