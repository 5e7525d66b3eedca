//! Scenario `app-tier-outage` (docs/design-contract.md §7.2): ECS and the load balancer go
//! down in the writer's region while its Aurora stays healthy. The operator edits
//! `spec.dnsOwner` alone (`drctl edit`, or `drctl apply` of the edited file) to the standby
//! region: drctl moves traffic and active compute there and leaves the writer where it is, so
//! nothing is lost and nothing is rebuilt. When the app tier is back, the operator sets
//! dnsOwner back: the same operation in reverse.

use std::time::Duration;

use drctl_schema::{FailoverGroup, Operation, OperationType};

use super::{
    auto::empty_report, converged_on, home_and_standby, served_at, step_timings, Decision, Run,
    Scenario, ScenarioOptions, ScenarioReport, SimulationError, Strategy,
};

/// How long the app tier of the home region stays down.
pub const APP_TIER_OUTAGE_SECONDS: u64 = 900;

/// The scripted incident of `app-tier-outage`.
pub(super) async fn drive(
    options: &ScenarioOptions,
    run: &mut Run,
) -> Result<(ScenarioReport, Vec<Operation>), SimulationError> {
    if options.strategy == Strategy::Sequential {
        return Err(SimulationError::World(
            "app-tier-outage has no runbook baseline: the runbook only knows a database failover"
                .to_string(),
        ));
    }
    let (home, standby) = home_and_standby(&run.doc().await?)?;
    run.say(format!(
        "steady state: {} writer and DNS in {home}, the app commits 10 writes/s",
        run.doc_name
    ));
    run.wait_until("initial convergence", Duration::from_secs(600), |d| {
        converged_on(d, &home, 1)
    })
    .await?;
    run.say("converged: Ready");
    tokio::time::sleep(Duration::from_secs(60)).await;

    let incident_at = run.world.now();
    run.world.app_tier_outage(&home);
    run.say(format!(
        "{home}'s app tier goes down: ECS and the load balancer stop answering; Aurora there stays healthy"
    ));
    let back_at = Duration::from_millis(run.world.elapsed_ms().max(0) as u64)
        + Duration::from_secs(APP_TIER_OUTAGE_SECONDS);
    run.world.schedule(
        back_at,
        drctl_sim::ScheduledFault::AppTierRecover {
            region: home.clone(),
        },
    );
    tokio::time::sleep(Duration::from_secs(options.detection_seconds)).await;
    let decision_at = run.world.now();

    let mut report = empty_report(Scenario::AppTierOutage, options, &run.doc_name);
    let mut operations = Vec::new();
    if run.doc().await?.spec.dns.routing == drctl_schema::DnsRouting::HealthCheck {
        // Nothing to edit: Route 53 answers with the standby once the load balancer's health
        // check fails, and with home again once it recovers.
        let served = route53_answers(run, &standby, Duration::from_secs(900)).await?;
        report.rto_seconds = Some(served - run.secs(incident_at));
        report.recovery_seconds = None;
        report.rpo_seconds = Some(0.0);
        run.say(format!(
            "Route 53 answers with {standby} by itself (routing healthCheck), {:.0} s after the incident",
            report.rto_seconds.unwrap_or(0.0)
        ));
        route53_answers(
            run,
            &home,
            Duration::from_secs(APP_TIER_OUTAGE_SECONDS + 900),
        )
        .await?;
        run.say(format!(
            "{home}'s app tier is back: Route 53 answers with it again"
        ));
        return Ok((report, operations));
    }
    let out = move_dns_owner(run, &home, &standby).await?;
    let served = served_at(&out);
    report.rto_seconds = served.map(|t| t.seconds_since(incident_at));
    report.recovery_seconds = served.map(|t| t.seconds_since(decision_at));
    report.critical_path_seconds = Some(critical_path(run));
    report.rpo_seconds = Some(0.0);
    run.say(format!(
        "served from {standby} {:.0} s after the incident; the writer stayed in {home}",
        report.rto_seconds.unwrap_or(0.0)
    ));
    report.steps.extend(step_timings(run, &out));
    operations.push(out);

    // Home again once the app tier is back: the same operation, the other way.
    let recovered = Duration::from_millis(run.world.elapsed_ms().max(0) as u64);
    if recovered < back_at {
        tokio::time::sleep(back_at - recovered).await;
    }
    run.say(format!("{home}'s app tier is back"));
    tokio::time::sleep(Duration::from_secs(300)).await;
    let back = move_dns_owner(run, &home, &home).await?;
    report.steps.extend(step_timings(run, &back));
    operations.push(back);
    Ok((report, operations))
}

/// The operator edits spec.dnsOwner alone to `to`, and drctl's app-tier failover runs to
/// convergence (writer still `writer`).
async fn move_dns_owner(
    run: &mut Run,
    writer: &str,
    to: &str,
) -> Result<Operation, SimulationError> {
    let mut doc = run.doc().await?;
    let before = doc.metadata.generation.unwrap_or(1);
    let rv = doc.metadata.resource_version.clone().unwrap_or_default();
    doc.spec.dns_owner = Some(to.to_string());
    run.store.update(&doc, &rv).await?;
    let reason = format!(
        "drctl edit {}: spec.dnsOwner: {to} (spec.writer stays {writer})",
        run.doc_name
    );
    run.decisions.push(Decision {
        at_seconds: run.now_s(),
        by: "operator".to_string(),
        type_: OperationType::AppTierFailover.as_str().to_string(),
        reason: reason.clone(),
    });
    run.say(format!("operator: {reason}"));
    let doc = run
        .wait_until(
            &format!("traffic and compute in {to}"),
            Duration::from_secs(3600),
            |d| converged_on(d, writer, before + 1) && dns_at(d, to),
        )
        .await?;
    let op = doc
        .status
        .as_ref()
        .and_then(|s| s.last_operation.clone())
        .filter(|op| op.type_ == OperationType::AppTierFailover)
        .ok_or_else(|| SimulationError::World("no app-tier failover recorded".to_string()))?;
    run.say(format!(
        "converged: {} {} -> {} took {:.0} s",
        op.type_.as_str(),
        op.from,
        op.to,
        op.finished_at
            .map(|f| f.seconds_since(op.started_at))
            .unwrap_or(0.0)
    ));
    Ok(op)
}

fn dns_at(doc: &FailoverGroup, region: &str) -> bool {
    doc.status
        .as_ref()
        .and_then(|s| s.observed.as_ref())
        .and_then(|o| o.dns_owner.as_deref())
        == Some(region)
}

/// The fastest app-tier failover from the decision: the standby's tasks start, then DNS
/// propagates. No database path.
fn critical_path(run: &Run) -> f64 {
    let t = run.world.timings();
    (t.task_startup + t.dns_insync).as_secs_f64()
}

/// Wait until Route 53's data plane answers the group's record with `region`; returns when
/// (seconds since the run started).
async fn route53_answers(
    run: &mut Run,
    region: &str,
    limit: Duration,
) -> Result<f64, SimulationError> {
    let record = crate::observed::fqdn(&run.doc().await?.spec.dns.record_name);
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let answers = run
            .world
            .snapshot()
            .records
            .iter()
            .find(|r| r.name == record)
            .and_then(|r| r.answers_with.clone());
        if answers.as_deref() == Some(region) {
            return Ok(run.now_s());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(SimulationError::Timeout(format!(
                "Route 53 did not answer with {region} within {} s",
                limit.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
