//! The automatic-failover scenarios (docs/design-contract.md §7.3): the example group with
//! spec.autoFailover, witnesses that are CloudWatch alarms in the simulated world, and no
//! operator in the loop. What they measure is logical (virtual time, deterministic): who
//! decided, when, what was lost, and the phase the group ends in.

use std::time::Duration;

use drctl_schema::{AlarmRef, AutoFailoverSpec, FailoverGroup, Operation, WitnessesSpec};
use drctl_sim::{AlarmModel, OutageScope, SimWorld};
use drctl_state::Store;

use super::{
    converged_on, health_check_served, served_at, step_timings, Decision, Run, Scenario,
    ScenarioOptions, ScenarioReport, SimulationError, REPLICA,
};
use crate::reconcile::POLICY_EVENT;

const EAST: &str = "us-east-1";
const WEST: &str = "us-west-2";
/// Synthetics in us-west-2 probing the API in us-east-1 (and the other way round).
pub const EAST_WITNESS: &str = "api-east-synthetics-failing";
pub const WEST_WITNESS: &str = "api-west-synthetics-failing";

/// The policy of docs/design-contract.md §7.3's example; flapping-region also watches the
/// other direction, so that the new writer's region has a witness too.
pub fn policy(scenario: Scenario) -> AutoFailoverSpec {
    let mut alarms = vec![AlarmRef {
        region: WEST.into(),
        name: EAST_WITNESS.into(),
    }];
    if scenario == Scenario::FlappingRegion {
        alarms.push(AlarmRef {
            region: EAST.into(),
            name: WEST_WITNESS.into(),
        });
    }
    AutoFailoverSpec {
        enabled: true,
        after_seconds: 60,
        max_data_loss_seconds: 5,
        cooldown_seconds: 3600,
        witnesses: WitnessesSpec { alarms },
        min_witnesses: Some(1),
    }
}

/// Honest witnesses, and for lag-over-budget a replica 30 s behind from the start.
pub fn prepare_world(scenario: Scenario, world: &SimWorld) {
    world.set_alarm(
        WEST,
        EAST_WITNESS,
        AlarmModel::WhileRegionDown {
            region: EAST.into(),
        },
    );
    world.set_alarm(
        EAST,
        WEST_WITNESS,
        AlarmModel::WhileRegionDown {
            region: WEST.into(),
        },
    );
    if scenario == Scenario::LagOverBudget {
        world.set_replication_lag(WEST, Some(Duration::from_secs(30)));
    }
}

/// The policy's decisions, from the journal (`by: policy`).
pub(super) async fn policy_decisions(
    store: &dyn Store,
    run: &Run,
) -> Result<Vec<Decision>, SimulationError> {
    Ok(store
        .events(&run.doc_name)
        .await?
        .into_iter()
        .filter(|e| e.reason == POLICY_EVENT)
        .map(|e| Decision {
            at_seconds: run.secs(e.at),
            by: "policy".to_string(),
            type_: "Failover".to_string(),
            reason: e.message,
        })
        .collect())
}

fn outage(run: &mut Run, region: &str) {
    run.world
        .region_outage_with(region, OutageScope::RegionalServicesOnly);
    run.say(format!(
        "{region} goes dark: RDS, ECS and the load balancer stop answering"
    ));
}

fn recover(run: &mut Run, region: &str) {
    run.world.region_recover(region);
    run.say(format!("{region} recovers"));
}

async fn generation(run: &Run) -> Result<u64, SimulationError> {
    Ok(run.doc().await?.metadata.generation.unwrap_or(1))
}

/// The scripted incident of an automatic scenario.
pub(super) async fn drive(
    scenario: Scenario,
    options: &ScenarioOptions,
    run: &mut Run,
) -> Result<(ScenarioReport, Vec<Operation>), SimulationError> {
    run.say(format!(
        "steady state: {} writer in {EAST}, spec.autoFailover armed (60 s, witness {EAST_WITNESS} in {WEST}, budget 5 s)",
        run.doc_name
    ));
    run.wait_until("initial convergence", Duration::from_secs(600), |d| {
        converged_on(d, EAST, 1)
    })
    .await?;
    run.say("converged: Ready");
    tokio::time::sleep(Duration::from_secs(60)).await;
    let mut report = empty_report(scenario, options, &run.doc_name);
    let mut operations = Vec::new();
    match scenario {
        Scenario::RegionOutageAuto => region_outage(run, &mut report, &mut operations).await?,
        Scenario::ControllerPartition => controller_partition(run).await?,
        Scenario::LagOverBudget => lag_over_budget(run).await?,
        _ => flapping(run, &mut report, &mut operations).await?,
    }
    Ok((report, operations))
}

async fn region_outage(
    run: &mut Run,
    report: &mut ScenarioReport,
    operations: &mut Vec<Operation>,
) -> Result<(), SimulationError> {
    let before = generation(run).await?;
    let incident_at = run.world.now();
    outage(run, EAST);
    let doc = run
        .wait_until(
            "automatic failover to us-west-2",
            Duration::from_secs(3600),
            |d| converged_on(d, WEST, before + 1),
        )
        .await?;
    let op = last_operation(&doc)?;
    // healthCheck groups without Verify: nothing in the operation marks when users were
    // served; the world's ground truth does, as in the other outage scenarios.
    let served = served_at(&op).or_else(|| health_check_served(run, &doc, incident_at));
    let decided_at = op.started_at;
    report.rto_seconds = served.map(|t| t.seconds_since(incident_at));
    report.recovery_seconds = served.map(|t| t.seconds_since(decided_at));
    report.critical_path_seconds = Some(failover_critical_path(run));
    report.rpo_seconds = op.rpo_seconds;
    report.steps.extend(step_timings(run, &op));
    run.say(format!(
        "served from {WEST}: {:.0} s after the incident, decided by the policy",
        report.rto_seconds.unwrap_or(0.0)
    ));
    operations.push(op);
    after_the_incident(run).await
}

/// us-east-1 comes back and Aurora adds the old primary back as a secondary by itself: the
/// controller preserves its snapshot and reports it ready to fail back, and never fails back.
async fn after_the_incident(run: &mut Run) -> Result<(), SimulationError> {
    tokio::time::sleep(Duration::from_secs(300)).await;
    recover(run, EAST);
    let doc = run
        .wait_until("ready to fail back", Duration::from_secs(3600), |d| {
            d.status
                .as_ref()
                .and_then(|s| s.after_failover.as_ref())
                .is_some_and(|a| a.ready_to_fail_back)
        })
        .await?;
    if let Some(after) = doc.status.as_ref().and_then(|s| s.after_failover.as_ref()) {
        run.say(format!(
            "PreserveSnapshot ran by itself: {}; {}",
            after
                .preserve_snapshot
                .as_ref()
                .and_then(|s| s.detail.clone())
                .unwrap_or_default(),
            after.message
        ));
    }
    // Failing back is a person's decision: nobody takes it here, so nothing moves.
    tokio::time::sleep(Duration::from_secs(600)).await;
    let doc = run.doc().await?;
    if doc.spec.writer != WEST {
        return Err(SimulationError::World(format!(
            "the writer moved to {} without a person",
            doc.spec.writer
        )));
    }
    run.say(format!(
        "still served from {WEST}: failing back waits for a person"
    ));
    Ok(())
}

async fn controller_partition(run: &mut Run) -> Result<(), SimulationError> {
    run.world.partition_caller(REPLICA, EAST);
    run.say(format!(
        "the controller loses its link to {EAST}; the application and the witnesses do not"
    ));
    tokio::time::sleep(Duration::from_secs(600)).await;
    run.world.heal_partition(REPLICA, EAST);
    run.say("the link is back");
    run.wait_until(
        "convergence after the partition",
        Duration::from_secs(600),
        |d| converged_on(d, EAST, 1),
    )
    .await?;
    Ok(())
}

async fn lag_over_budget(run: &mut Run) -> Result<(), SimulationError> {
    run.say(format!("the replica in {WEST} is 30 s behind (budget 5 s)"));
    outage(run, EAST);
    run.wait_until("Blocked", Duration::from_secs(600), |d| {
        d.status
            .as_ref()
            .is_some_and(|s| s.phase == drctl_schema::Phase::Blocked)
    })
    .await?;
    run.say("Blocked: the policy will not lose 30 s of writes; a person decides");
    tokio::time::sleep(Duration::from_secs(300)).await;
    Ok(())
}

/// us-east-1 flaps (never down 60 s without a break), then fails for good: one automatic
/// failover. Later the new writer's region fails too: going back is a failback, and inside
/// the cooldown: no second automatic failover.
async fn flapping(
    run: &mut Run,
    report: &mut ScenarioReport,
    operations: &mut Vec<Operation>,
) -> Result<(), SimulationError> {
    for _ in 0..4 {
        outage(run, EAST);
        tokio::time::sleep(Duration::from_secs(30)).await;
        recover(run, EAST);
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
    let before = generation(run).await?;
    outage(run, EAST);
    let doc = run
        .wait_until(
            "automatic failover to us-west-2",
            Duration::from_secs(3600),
            |d| converged_on(d, WEST, before + 1),
        )
        .await?;
    let op = last_operation(&doc)?;
    report.steps.extend(step_timings(run, &op));
    operations.push(op);
    recover(run, EAST);
    tokio::time::sleep(Duration::from_secs(900)).await;
    outage(run, WEST);
    tokio::time::sleep(Duration::from_secs(180)).await;
    recover(run, WEST);
    run.wait_until("Ready again in us-west-2", Duration::from_secs(1800), |d| {
        converged_on(d, WEST, before + 1)
    })
    .await?;
    Ok(())
}

fn last_operation(doc: &FailoverGroup) -> Result<Operation, SimulationError> {
    doc.status
        .as_ref()
        .and_then(|s| s.last_operation.clone())
        .ok_or_else(|| SimulationError::World("no operation recorded".to_string()))
}

/// The fastest failover from the decision: promotion and compute start-up in parallel, then
/// DNS propagation.
fn failover_critical_path(run: &Run) -> f64 {
    let t = run.world.timings();
    (t.failover_promote.max(t.task_startup) + t.dns_insync).as_secs_f64()
}

pub(super) fn empty_report(
    scenario: Scenario,
    options: &ScenarioOptions,
    group: &str,
) -> ScenarioReport {
    ScenarioReport {
        scenario,
        group: group.to_string(),
        objectives: None,
        seed: options.seed,
        strategy: options.strategy,
        rto_seconds: None,
        recovery_seconds: None,
        critical_path_seconds: None,
        rpo_seconds: None,
        lost_writes: 0,
        dns_to_unwritable_seconds: None,
        api_calls: Default::default(),
        steps: Vec::new(),
        timeline: Vec::new(),
        invariant_violations: Vec::new(),
        invariants_unchecked: Vec::new(),
        converged_pass_calls: None,
        virtual_seconds: 0.0,
        decisions: Vec::new(),
        final_phase: None,
        baseline: None,
        record: None,
    }
}
