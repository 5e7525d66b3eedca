//! `fleet-outage` (docs/design-contract.md §7.1): N groups on one controller, AWS's rate limits on, a
//! us-east-1 regional outage, and one `drctl failover -l fleet=outage --to us-west-2
//! --allow-data-loss` for all of them a minute later. The report says when the *last* group
//! served again, and what one steady pass over the fleet costs.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use drctl_cloud::pacing::PaceLimits;
use drctl_schema::{FailoverGroup, FailoverGroupStatus, Timestamp};
use drctl_sim::{InvariantInput, OutageScope, SimConfig, SimWorld};
use drctl_state::Store;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::{
    converged_on_parts, example_group, served_at, CallCounts, Narrator, SimulationError, LEASE,
    OPERATOR, REPLICA,
};
use crate::metrics::Metrics;
use crate::runtime::{Controller, RunMode, RuntimeConfig};

/// The scenario's name (`drctl sim --scenario fleet-outage`).
pub const FLEET_OUTAGE: &str = "fleet-outage";

/// Groups whose services share one ECS cluster per region.
pub const GROUPS_PER_ECS_CLUSTER: usize = 10;
/// Hosted zones the records are spread over.
pub const HOSTED_ZONES: usize = 4;
/// The label every generated group carries (the selector of the operator's failover).
pub const FLEET_LABEL: (&str, &str) = ("fleet", "outage");

/// `n` groups like the example, each with its own database, record and services; ten share
/// an ECS cluster per region and the records are spread over four zones.
pub fn fleet_groups(n: usize) -> Result<Vec<FailoverGroup>, SimulationError> {
    let template = example_group()?;
    Ok((0..n).map(|i| fleet_group(&template, i)).collect())
}

fn fleet_group(template: &FailoverGroup, i: usize) -> FailoverGroup {
    let name = format!("app-{i:05}");
    let mut doc = template.clone();
    doc.status = None;
    doc.metadata.name = name.clone();
    doc.metadata.resource_version = None;
    doc.metadata.generation = None;
    doc.metadata
        .labels
        .insert(FLEET_LABEL.0.to_string(), FLEET_LABEL.1.to_string());
    let spec = &mut doc.spec;
    spec.database.global_cluster_identifier = format!("{name}-global");
    for (region, cluster) in spec.database.clusters.iter_mut() {
        let role = if *region == spec.writer {
            "primary"
        } else {
            "secondary"
        };
        cluster.identifier = format!("{name}-{role}");
    }
    spec.dns.hosted_zone_id = format!("ZFLEET{}", i % HOSTED_ZONES);
    spec.dns.record_name = format!("{name}.example.com.");
    for (region, target) in spec.dns.targets.iter_mut() {
        if let Some(alias) = target.alias_dns_name.as_mut() {
            *alias = format!("{name}-alb.{region}.elb.amazonaws.com");
        }
    }
    let ecs_cluster = format!("fleet-{:04}", i / GROUPS_PER_ECS_CLUSTER);
    for svc in spec.compute.services.iter_mut() {
        let service = format!("{}-{name}", svc.name);
        for (region, reference) in svc.regions.iter_mut() {
            let suffix = if *region == spec.writer { "" } else { "-dr" };
            reference.cluster = format!("{ecs_cluster}{suffix}");
            reference.service = service.clone();
        }
    }
    if let Some(verify) = spec.verify.as_mut() {
        verify.url = format!("https://{name}.example.com/healthz");
    }
    doc
}

/// A simulated world with `groups` provisioned healthy, and a store (the operator's handle)
/// holding their documents.
async fn provisioned(
    groups: &[FailoverGroup],
    seed: u64,
) -> Result<(Arc<SimWorld>, Arc<dyn Store>), SimulationError> {
    let world = SimWorld::new(SimConfig::new(seed));
    let store = world.store_as(OPERATOR);
    store.init().await?;
    for g in groups {
        world
            .provision(&g.spec)
            .map_err(|e| SimulationError::World(format!("{}: {e}", g.metadata.name)))?;
        store.create(g).await?;
    }
    Ok((world, store))
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct CallsPerGroup {
    pub mutating: f64,
    pub read: f64,
}

/// When one step ended across the fleet, in seconds from the incident.
#[derive(Debug, Clone, Serialize)]
pub struct StepSpread {
    pub name: String,
    pub ended_p50_seconds: f64,
    pub ended_max_seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct FleetReport {
    pub scenario: &'static str,
    pub seed: u64,
    pub groups: usize,
    /// From the incident until the last group served again from us-west-2.
    pub rto_seconds: Option<f64>,
    pub rto_seconds_p50: Option<f64>,
    /// Groups that served again from us-west-2 within the run's limit.
    pub groups_recovered: usize,
    /// Every call of one steady 30 s resync period over the whole converged fleet (each
    /// group is looked at once in it; every tenth look is a full one).
    pub converged_pass_calls: CallCounts,
    pub converged_pass_calls_per_group: CallsPerGroup,
    /// When each step of the failover ended across the fleet, from the incident.
    pub steps: Vec<StepSpread>,
    /// Virtual seconds from a fresh store until every group was Ready.
    pub initial_convergence_seconds: f64,
    /// Calls AWS refused as throttled (pacing keeps this near zero), and by operation.
    pub throttled_calls: u64,
    pub throttled_by_operation: BTreeMap<String, u64>,
    pub lost_writes: u64,
    pub api_calls: BTreeMap<String, CallCounts>,
    pub invariant_violations: Vec<String>,
    pub virtual_seconds: f64,
}

pub struct FleetOptions {
    pub seed: u64,
    pub groups: usize,
    pub concurrency: Option<u16>,
    pub narrator: Option<Narrator>,
}

struct FleetRun {
    world: Arc<SimWorld>,
    store: Arc<dyn Store>,
    start: Timestamp,
    narrator: Option<Narrator>,
}

impl FleetRun {
    fn say(&self, what: &str) {
        if let Some(n) = &self.narrator {
            n(self.world.now().seconds_since(self.start), what);
        }
    }

    /// Poll the store until every group satisfies `pred`, then list
    /// it. The polls glance at the sim store's ground truth for the groups not there yet
    /// (no call, no copy): a harness that listed a fleet of thousands every second would
    /// cost more than the controller it measures.
    async fn wait_all(
        &self,
        what: &str,
        limit: Duration,
        pred: impl Fn(&FailoverGroup, Option<&FailoverGroupStatus>) -> bool,
    ) -> Result<Vec<FailoverGroup>, SimulationError> {
        let deadline = tokio::time::Instant::now() + limit;
        let total = self.store.list().await?.len();
        // Once a virtual second, and once per thousand groups' seconds in a bigger fleet:
        // the reported times are then exact to a second per thousand groups (10 s of a
        // 10,000-group convergence that takes minutes).
        let poll = Duration::from_secs(u64::try_from(total / 1000).unwrap_or(1).max(1));
        let mut pending: Option<Vec<String>> = None;
        loop {
            let left = self
                .world
                .stored_groups_where_not(pending.as_deref(), &pred);
            if left.is_empty() {
                return Ok(self.store.list().await?);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(SimulationError::Timeout(format!(
                    "{what}: {} of {total} groups within {} s of virtual time; the others: {}",
                    total - left.len(),
                    limit.as_secs(),
                    self.why_not(&left).await?
                )));
            }
            pending = Some(left);
            tokio::time::sleep(poll).await;
        }
    }

    /// The groups `left` counted by phase and by the reason of their first condition that
    /// is not True, most common first (what a timeout reports).
    async fn why_not(&self, left: &[String]) -> Result<String, SimulationError> {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for name in left {
            let status = self.store.get(name).await?.and_then(|d| d.status);
            let why = match &status {
                None => "no status".to_string(),
                Some(s) => {
                    let blocking = s
                        .conditions
                        .iter()
                        .find(|c| c.status != drctl_schema::ConditionStatus::True);
                    match blocking {
                        Some(c) => format!(
                            "{} {} {}: {}",
                            s.phase.as_str(),
                            c.type_,
                            c.reason,
                            c.message
                        ),
                        None => s.phase.as_str().to_string(),
                    }
                }
            };
            *counts.entry(why).or_default() += 1;
        }
        let mut ranked: Vec<(String, usize)> = counts.into_iter().collect();
        ranked.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
        Ok(ranked
            .into_iter()
            .take(3)
            .map(|(why, n)| format!("{n} {why}"))
            .collect::<Vec<_>>()
            .join("; "))
    }

    /// What `drctl failover -l fleet=outage --to REGION --allow-data-loss` does: one
    /// conditional update per matching group, one after another.
    async fn operator_fails_over_all(&self, to: &str) -> Result<(), SimulationError> {
        for mut doc in self.store.list().await? {
            if doc.metadata.labels.get(FLEET_LABEL.0).map(String::as_str) != Some(FLEET_LABEL.1) {
                continue;
            }
            let rv = doc.metadata.resource_version.clone().unwrap_or_default();
            doc.spec.writer = to.to_string();
            doc.spec.dns_owner = Some(to.to_string());
            doc.spec.allow_data_loss = true;
            self.store.update(&doc, &rv).await?;
        }
        Ok(())
    }

    fn calls_since(&self, mark: usize) -> CallCounts {
        let mut counts = CallCounts::default();
        for call in self
            .world
            .calls_from(mark)
            .iter()
            .filter(|c| c.service != "store")
        {
            if call.mutating {
                counts.mutating += 1;
            } else {
                counts.read += 1;
            }
        }
        counts
    }
}

pub async fn run_fleet_outage(options: FleetOptions) -> Result<FleetReport, SimulationError> {
    let east = "us-east-1";
    let west = "us-west-2";
    let groups = fleet_groups(options.groups)?;
    let (world, store) = provisioned(&groups, options.seed).await?;
    for g in &groups {
        world
            .start_app_writes_to(&g.spec.database.global_cluster_identifier, 2)
            .map_err(|e| SimulationError::World(e.to_string()))?;
    }
    let run = FleetRun {
        world: world.clone(),
        store: store.clone(),
        start: world.now(),
        narrator: options.narrator.clone(),
    };

    let mut config = RuntimeConfig::new(REPLICA, LEASE);
    config.planner.operation_poll = Duration::from_secs(1);
    if let Some(c) = options.concurrency {
        config.concurrency = c;
    }
    let controller = Arc::new(Controller::new(
        world.store_as(REPLICA),
        world.cloud(REPLICA),
        config,
        Metrics::new(),
    ));
    let shutdown = CancellationToken::new();
    let task = {
        let (controller, shutdown) = (controller.clone(), shutdown.clone());
        tokio::spawn(async move { controller.run(RunMode::Forever, None, shutdown).await })
    };
    let result = drive(&run, options.groups, east, west).await;
    shutdown.cancel();
    let _ = task.await;
    let mut report = result?;
    report.seed = options.seed;

    let violations = world.check_invariants(&InvariantInput {
        allow_data_loss: true,
        lease: Some(LEASE.to_string()),
        unleased_callers: vec![OPERATOR.to_string()],
        ..Default::default()
    });
    report.invariant_violations = violations.iter().map(|v| v.to_string()).collect();
    report.lost_writes = groups
        .iter()
        .map(|g| {
            world
                .data_loss_for(&g.spec.database.global_cluster_identifier)
                .lost_writes
                .len() as u64
        })
        .sum();
    for call in world.calls().iter().filter(|c| c.service != "store") {
        let entry = report.api_calls.entry(call.service.clone()).or_default();
        if call.mutating {
            entry.mutating += 1;
        } else {
            entry.read += 1;
        }
        let throttled = matches!(
            call.outcome.code.as_deref(),
            Some("Throttling" | "ThrottlingException" | "PriorRequestNotComplete")
        );
        if throttled {
            report.throttled_calls += 1;
            *report
                .throttled_by_operation
                .entry(format!("{} {}", call.service, call.operation))
                .or_default() += 1;
        }
    }
    report.virtual_seconds = world.now().seconds_since(run.start);
    Ok(report)
}

async fn drive(
    run: &FleetRun,
    n: usize,
    east: &str,
    west: &str,
) -> Result<FleetReport, SimulationError> {
    run.say(&format!(
        "{n} groups, writers in {east}; converging from a fresh store"
    ));
    run.wait_all("initial convergence", Duration::from_secs(3600), |d, s| {
        converged_on_parts(d, s, east, 1)
    })
    .await?;
    let initial_convergence_seconds = run.world.now().seconds_since(run.start);
    run.say("every group is Ready");

    // Let the fleet settle into its resync rhythm, then count one 30 s resync period.
    tokio::time::sleep(Duration::from_secs(60)).await;
    let mark = run.world.call_count();
    tokio::time::sleep(Duration::from_secs(30)).await;
    let converged_pass_calls = run.calls_since(mark);
    let per_group = |v: u64| v as f64 / n.max(1) as f64;
    let converged_pass_calls_per_group = CallsPerGroup {
        mutating: per_group(converged_pass_calls.mutating),
        read: per_group(converged_pass_calls.read),
    };

    let incident = run.world.now();
    run.world
        .region_outage_with(east, OutageScope::RegionalServicesOnly);
    run.say(&format!("{east} goes dark (regional services)"));
    tokio::time::sleep(Duration::from_secs(60)).await;
    run.operator_fails_over_all(west).await?;
    run.say(&format!(
        "operator: drctl failover -l {}={} --to {west} --allow-data-loss",
        FLEET_LABEL.0, FLEET_LABEL.1
    ));
    let docs = run
        .wait_all("fleet failover", Duration::from_secs(3600), |d, s| {
            converged_on_parts(d, s, west, 2)
        })
        .await?;
    let mut rtos: Vec<f64> = docs
        .iter()
        .filter_map(|d| d.status.as_ref()?.last_operation.as_ref())
        .filter_map(served_at)
        .map(|t| t.seconds_since(incident))
        .collect();
    rtos.sort_by(f64::total_cmp);
    let steps = step_spreads(&docs, incident);
    run.say(&format!(
        "every group serves from {west}; the last {:.0} s after the incident",
        rtos.last().copied().unwrap_or_default()
    ));
    Ok(FleetReport {
        scenario: FLEET_OUTAGE,
        seed: 0,
        groups: n,
        rto_seconds: rtos.last().copied(),
        rto_seconds_p50: rtos.get(rtos.len() / 2).copied(),
        groups_recovered: rtos.len(),
        converged_pass_calls,
        converged_pass_calls_per_group,
        steps,
        initial_convergence_seconds,
        throttled_calls: 0,
        throttled_by_operation: BTreeMap::new(),
        lost_writes: 0,
        api_calls: BTreeMap::new(),
        invariant_violations: Vec::new(),
        virtual_seconds: 0.0,
    })
}

/// What `fleet_steady` measured.
#[derive(Debug, Clone, Serialize)]
pub struct FleetSteady {
    pub groups: usize,
    /// Virtual seconds from a fresh store until every group was Ready.
    pub converge_seconds: f64,
    /// Calls of one 30 s resync period over the converged fleet.
    pub steady_calls: CallCounts,
    /// Virtual seconds from an edit of the last group to its first AWS mutation.
    pub change_to_action_seconds: Option<f64>,
}

/// The runtime's figures for `n` groups (the fleet benchmark): converge from a fresh store,
/// one steady resync period, then a change to the last group among converged ones. The
/// narrator hears "converged", "steady-start", "steady-end" and "acted" as they happen, so
/// a caller can take wall-clock and CPU readings between them.
pub async fn fleet_steady(
    n: usize,
    seed: u64,
    narrator: Narrator,
) -> Result<FleetSteady, SimulationError> {
    fleet_steady_paced(n, seed, narrator, PaceLimits::default()).await
}

/// `fleet_steady` with the controller's client-side pacing set to `pace`
/// (`PaceLimits::none()` measures the controller's own cost where AWS's limits, not the
/// controller, would bound the fleet).
pub async fn fleet_steady_paced(
    n: usize,
    seed: u64,
    narrator: Narrator,
    pace: PaceLimits,
) -> Result<FleetSteady, SimulationError> {
    let groups = fleet_groups(n)?;
    let (world, store) = provisioned(&groups, seed).await?;
    let run = FleetRun {
        world: world.clone(),
        store: store.clone(),
        start: world.now(),
        narrator: Some(narrator),
    };
    // The simulated AWS is built; what follows is the controller's work.
    run.say("provisioned");
    let mut config = RuntimeConfig::new(REPLICA, LEASE);
    config.planner.operation_poll = Duration::from_secs(1);
    config.pace = pace;
    let controller = Arc::new(Controller::new(
        world.store_as(REPLICA),
        world.cloud(REPLICA),
        config,
        Metrics::new(),
    ));
    let shutdown = CancellationToken::new();
    let task = {
        let (controller, shutdown) = (controller.clone(), shutdown.clone());
        tokio::spawn(async move { controller.run(RunMode::Forever, None, shutdown).await })
    };
    let result = measure_steady(&run, n).await;
    shutdown.cancel();
    let _ = task.await;
    result
}

async fn measure_steady(run: &FleetRun, n: usize) -> Result<FleetSteady, SimulationError> {
    run.wait_all("convergence", Duration::from_secs(7200), |d, s| {
        converged_on_parts(d, s, "us-east-1", 1)
    })
    .await?;
    let converge_seconds = run.world.now().seconds_since(run.start);
    run.say("converged");
    tokio::time::sleep(Duration::from_secs(60)).await;
    run.say("steady-start");
    let mark = run.world.call_count();
    tokio::time::sleep(Duration::from_secs(30)).await;
    let steady_calls = run.calls_since(mark);
    run.say("steady-end");
    let last = format!("app-{:05}", n.saturating_sub(1));
    let mut doc = run
        .store
        .get(&last)
        .await?
        .ok_or_else(|| SimulationError::World(format!("{last} vanished")))?;
    let rv = doc.metadata.resource_version.clone().unwrap_or_default();
    doc.spec.writer = "us-west-2".to_string();
    doc.spec.dns_owner = Some("us-west-2".to_string());
    let mark = run.world.call_count();
    let edited = run.world.now();
    run.store.update(&doc, &rv).await?;
    let mut change_to_action_seconds = None;
    for _ in 0..600 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let acted = run
            .world
            .calls_from(mark)
            .into_iter()
            .find(|c| c.mutating && c.service != "store" && c.resource.contains(&last));
        if let Some(call) = acted {
            change_to_action_seconds = Some(call.at.seconds_since(edited));
            break;
        }
    }
    run.say("acted");
    Ok(FleetSteady {
        groups: n,
        converge_seconds,
        steady_calls,
        change_to_action_seconds,
    })
}

/// `drctl controller --once` over `n` fresh groups: how many got their pass, and the
/// virtual seconds it took.
pub async fn fleet_once(n: usize, seed: u64) -> Result<(usize, f64), SimulationError> {
    let (world, store) = provisioned(&fleet_groups(n)?, seed).await?;
    let start = world.now();
    let controller = Controller::new(
        world.store_as(REPLICA),
        world.cloud(REPLICA),
        RuntimeConfig::new(REPLICA, LEASE),
        Metrics::new(),
    );
    let outcome = controller
        .run(
            RunMode::Once,
            Some(Duration::from_secs(3600)),
            CancellationToken::new(),
        )
        .await
        .map_err(|e| SimulationError::World(e.to_string()))?;
    if outcome != crate::runtime::RunOutcome::PassCompleted {
        return Err(SimulationError::Timeout(format!(
            "--once ended {outcome:?}"
        )));
    }
    let reconciled = store
        .list()
        .await?
        .iter()
        .filter(|d| d.status.is_some())
        .count();
    Ok((reconciled, world.now().seconds_since(start)))
}

/// Per step of the groups' last operations: when it ended, p50 and last.
fn step_spreads(docs: &[FailoverGroup], incident: Timestamp) -> Vec<StepSpread> {
    let mut ends: Vec<(drctl_schema::StepName, Vec<f64>)> = Vec::new();
    for op in docs
        .iter()
        .filter_map(|d| d.status.as_ref()?.last_operation.as_ref())
    {
        for step in &op.steps {
            let Some(end) = step.finished_at else {
                continue;
            };
            let at = end.seconds_since(incident);
            match ends.iter_mut().find(|(n, _)| *n == step.name) {
                Some((_, v)) => v.push(at),
                None => ends.push((step.name, vec![at])),
            }
        }
    }
    ends.into_iter()
        .map(|(name, mut v)| {
            v.sort_by(f64::total_cmp);
            StepSpread {
                name: name.as_str().to_string(),
                ended_p50_seconds: v.get(v.len() / 2).copied().unwrap_or_default(),
                ended_max_seconds: v.last().copied().unwrap_or_default(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_groups_are_valid_and_claim_nothing_twice() {
        let groups = fleet_groups(25).unwrap();
        let mut claimed = std::collections::BTreeSet::new();
        for g in &groups {
            let errors = drctl_schema::validate(g);
            assert!(errors.is_ok(), "{}: {errors:?}", g.metadata.name);
            assert!(claimed.insert(g.spec.database.global_cluster_identifier.clone()));
            assert!(claimed.insert(g.spec.dns.record_name.clone()));
            for svc in &g.spec.compute.services {
                for r in svc.regions.values() {
                    assert!(claimed.insert(format!("{}/{}", r.cluster, r.service)));
                }
            }
        }
        let ecs_clusters: std::collections::BTreeSet<&str> = groups
            .iter()
            .flat_map(|g| g.spec.compute.services.iter())
            .flat_map(|s| s.regions.values().map(|r| r.cluster.as_str()))
            .collect();
        assert_eq!(
            ecs_clusters.len(),
            3 * 2,
            "ten groups to an ECS cluster per region"
        );
        let zones: std::collections::BTreeSet<&str> = groups
            .iter()
            .map(|g| g.spec.dns.hosted_zone_id.as_str())
            .collect();
        assert_eq!(zones.len(), HOSTED_ZONES);
    }
}
