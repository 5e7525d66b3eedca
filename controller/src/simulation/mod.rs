//! Scenarios in the simulated world: the engine behind `drctl demo`, `drctl sim` and the
//! simulation tests. The real controller (`runtime::Controller`) runs against `drctl-sim`
//! in virtual time; an operator is scripted through the store, as the CLI would act.
//!
//! Must run on a tokio runtime with a paused clock (`start_paused = true`), where a
//! multi-hour failback takes seconds of wall time.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use drctl_schema::{
    FailoverGroup, FailoverGroupStatus, Operation, OperationType, Phase, StepState, Timestamp,
};
use drctl_sim::{InvariantInput, OutageScope, RejoinMode, SimConfig, SimWorld};
use drctl_state::{ApprovalRecord, Store, StoreError};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

pub mod app_tier;
pub mod auto;
pub mod fleet;
pub mod real_time_store;

use crate::metrics::Metrics;
use crate::observe::ObserveCache;
use crate::reconcile::{reconcile_group, AlwaysLeader, ReconcileContext};
use crate::runtime::{Controller, RunMode, RuntimeConfig};

/// The example shipped in the repository: the demo's group.
pub const EXAMPLE_GROUP: &str = include_str!("../../../examples/failovergroup.yaml");

pub const REPLICA: &str = "drctl-a";
pub const LEASE: &str = "drctl-controller";
pub const OPERATOR: &str = "operator@rehearsal";

/// How long the outage of `region-outage-dns-down` lasts.
pub const DNS_DOWN_OUTAGE_SECONDS: u64 = 1800;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    PlannedSwitchover,
    RegionOutageFailover,
    /// The same outage, but the Route 53 control plane (in us-east-1) goes down with it.
    RegionOutageDnsDown,
    FailbackStale,
    FailbackRejoined,
    /// The outage of region-outage-failover on a group with spec.autoFailover: the policy
    /// decides, nobody types anything.
    RegionOutageAuto,
    /// Only the controller loses us-east-1; the application and the witnesses do not.
    ControllerPartition,
    /// The outage with a replication lag over spec.autoFailover.maxDataLossSeconds.
    LagOverBudget,
    /// us-east-1 flaps, then fails for good; later the new writer's region fails too.
    FlappingRegion,
    /// Only the app tier (ECS, the load balancer) of us-east-1 goes down, Aurora stays
    /// healthy: the operator moves spec.dnsOwner alone (docs/design-contract.md §7.2).
    AppTierOutage,
}

impl Scenario {
    pub const ALL: [Scenario; 10] = [
        Scenario::PlannedSwitchover,
        Scenario::RegionOutageFailover,
        Scenario::RegionOutageDnsDown,
        Scenario::FailbackStale,
        Scenario::FailbackRejoined,
        Scenario::RegionOutageAuto,
        Scenario::ControllerPartition,
        Scenario::LagOverBudget,
        Scenario::FlappingRegion,
        Scenario::AppTierOutage,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::PlannedSwitchover => "planned-switchover",
            Scenario::RegionOutageFailover => "region-outage-failover",
            Scenario::RegionOutageDnsDown => "region-outage-dns-down",
            Scenario::FailbackStale => "failback-stale",
            Scenario::FailbackRejoined => "failback-rejoined",
            Scenario::RegionOutageAuto => "region-outage-auto",
            Scenario::ControllerPartition => "controller-partition",
            Scenario::LagOverBudget => "lag-over-budget",
            Scenario::FlappingRegion => "flapping-region",
            Scenario::AppTierOutage => "app-tier-outage",
        }
    }

    pub fn parse(name: &str) -> Option<Scenario> {
        Scenario::ALL.into_iter().find(|s| s.name() == name)
    }

    fn has_outage(self) -> bool {
        !matches!(self, Scenario::PlannedSwitchover)
    }

    /// The scenarios of docs/design-contract.md §7.3, on a group with spec.autoFailover.
    pub fn is_automatic(self) -> bool {
        matches!(
            self,
            Scenario::RegionOutageAuto
                | Scenario::ControllerPartition
                | Scenario::LagOverBudget
                | Scenario::FlappingRegion
        )
    }
}

/// Who performs the recovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    Drctl,
    /// The runbook's order (shared/seeds/000): promote, wait, scale, wait, DNS, wait, verify;
    /// nothing overlapping. Polls as often as drctl does, so the difference is the ordering.
    Sequential,
}

#[derive(Debug, thiserror::Error)]
pub enum SimulationError {
    #[error("the example document does not parse: {0}")]
    Example(String),
    #[error("simulated world: {0}")]
    World(String),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Timeout(String),
}

/// Progress callback: (virtual seconds since start, line).
pub type Narrator = Arc<dyn Fn(f64, &str) + Send + Sync>;

pub struct ScenarioOptions {
    pub seed: u64,
    pub strategy: Strategy,
    /// Keep documents here instead of the simulated world's in-memory store (the demo uses a
    /// file store, as a user would).
    pub store: Option<Arc<dyn Store>>,
    pub narrator: Option<Narrator>,
    /// Seconds between the outage and the operator's decision to fail over.
    pub detection_seconds: u64,
    /// Simulated timings other than the sim's documented defaults (sensitivity runs).
    pub timings: Option<drctl_sim::SimTimings>,
    /// The group to rehearse (`drctl sim -f FILE | --group NAME`); None: the shipped example.
    /// Its writer is the home region the incident strikes; the other region takes over.
    pub group: Option<FailoverGroup>,
}

impl ScenarioOptions {
    pub fn new(seed: u64) -> Self {
        ScenarioOptions {
            seed,
            strategy: Strategy::Drctl,
            store: None,
            narrator: None,
            detection_seconds: 60,
            timings: None,
            group: None,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct CallCounts {
    pub mutating: u64,
    pub read: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepTiming {
    pub operation: String,
    pub name: String,
    pub state: String,
    pub start_seconds: Option<f64>,
    pub end_seconds: Option<f64>,
    pub duration_seconds: Option<f64>,
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TimelineEntry {
    pub at_seconds: f64,
    pub what: String,
}

/// Who decided to move the writer, and when (docs/design-contract.md §7.3).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub at_seconds: f64,
    /// `operator` (the scripted person) or `policy` (spec.autoFailover).
    pub by: String,
    /// The operation asked for: Switchover, Failover or Failback.
    #[serde(rename = "type")]
    pub type_: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScenarioReport {
    pub scenario: Scenario,
    /// The group rehearsed (`metadata.name`).
    pub group: String,
    pub seed: u64,
    pub strategy: Strategy,
    /// From the start of the incident (the outage, or the operator's request for a planned
    /// move) until the new region served traffic: writer promoted, DNS INSYNC, verified.
    pub rto_seconds: Option<f64>,
    /// From the operator's decision until the new region served traffic.
    pub recovery_seconds: Option<f64>,
    /// The fastest possible recovery from the decision under the simulated timings: both the
    /// database and the compute paths started at once, DNS moved the instant both were ready.
    pub critical_path_seconds: Option<f64>,
    /// The data-loss window drctl recorded (replication lag at the cut).
    pub rpo_seconds: Option<f64>,
    /// The run's RTO and RPO against the group's `spec.objectives` (absent: none given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub objectives: Option<drctl_schema::ObjectivesJudgement>,
    /// Committed writes the simulated application lost, measured independently.
    pub lost_writes: u64,
    /// `routing: healthCheck` only: seconds in which Route 53, moving traffic by itself on its
    /// health checks, answered with a region whose app served while no database could take
    /// writes (before the writer moved there). Measured by the sim, not an invariant
    /// violation: drctl did not send that traffic. Absent for the other modes, where DNS moves
    /// only under invariant 4.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns_to_unwritable_seconds: Option<f64>,
    pub api_calls: BTreeMap<String, CallCounts>,
    pub steps: Vec<StepTiming>,
    pub timeline: Vec<TimelineEntry>,
    pub invariant_violations: Vec<String>,
    /// Invariants the run could not check, and why.
    pub invariants_unchecked: Vec<String>,
    /// AWS calls of one reconcile pass over the converged group at the end.
    pub converged_pass_calls: Option<CallCounts>,
    pub virtual_seconds: f64,
    /// Every decision to move the writer, oldest first.
    pub decisions: Vec<Decision>,
    /// The group's phase when the scenario ended.
    pub final_phase: Option<Phase>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<Box<ScenarioReport>>,
    /// The operations and journal of the run, for its page (`--html`); not in the JSON.
    #[serde(skip)]
    pub record: Option<crate::report::RunRecord>,
}

struct Run {
    world: Arc<SimWorld>,
    store: Arc<dyn Store>,
    controller_shutdown: CancellationToken,
    doc_name: String,
    start: Timestamp,
    narrator: Option<Narrator>,
    timeline: Vec<TimelineEntry>,
    /// Step states already narrated, by operation id and step.
    narrated: BTreeMap<String, String>,
    /// The scripted operator's decisions (the policy's are read from the journal).
    decisions: Vec<Decision>,
}

impl Run {
    fn secs(&self, at: Timestamp) -> f64 {
        at.seconds_since(self.start)
    }

    fn now_s(&self) -> f64 {
        self.secs(self.world.now())
    }

    fn say(&mut self, what: impl Into<String>) {
        let what = what.into();
        let at = self.now_s();
        if let Some(n) = &self.narrator {
            n(at, &what);
        }
        self.timeline.push(TimelineEntry {
            at_seconds: at,
            what,
        });
    }

    async fn doc(&self) -> Result<FailoverGroup, SimulationError> {
        self.store.get(&self.doc_name).await?.ok_or_else(|| {
            SimulationError::World(format!("failovergroup/{} vanished", self.doc_name))
        })
    }

    /// Poll the store once a virtual second until `pred` holds, narrating step changes.
    async fn wait_until(
        &mut self,
        what: &str,
        limit: Duration,
        pred: impl Fn(&FailoverGroup) -> bool,
    ) -> Result<FailoverGroup, SimulationError> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let doc = self.doc().await?;
            if let Some(status) = &doc.status {
                let op = status.operation.as_ref().or(status.last_operation.as_ref());
                if let Some(op) = op {
                    for step in &op.steps {
                        let key = format!("{}/{}", op.id, step.name);
                        let state = format!("{:?}", step.state);
                        if self.narrated.get(&key) != Some(&state)
                            && step.state != StepState::Pending
                        {
                            self.narrated.insert(key, state.clone());
                            let detail = step.detail.clone().unwrap_or_default();
                            self.say(format!(
                                "  {:<18} {:<10} {}",
                                step.name.as_str(),
                                state,
                                detail
                            ));
                        }
                    }
                }
            }
            if pred(&doc) {
                return Ok(doc);
            }
            if tokio::time::Instant::now() >= deadline {
                let phase = doc
                    .status
                    .as_ref()
                    .map(|s| s.phase.as_str())
                    .unwrap_or("none");
                // Say what it was waiting for: the Ready condition's message.
                let why = doc
                    .status
                    .as_ref()
                    .and_then(ready_message)
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default();
                return Err(SimulationError::Timeout(format!(
                    "{what}: not reached within {} s of virtual time (phase {phase}){why}",
                    limit.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    async fn operator_moves_writer(
        &mut self,
        to: &str,
        allow_data_loss: bool,
    ) -> Result<(), SimulationError> {
        // What `drctl failover NAME --to REGION [--allow-data-loss]` does: a conditional update.
        let mut doc = self.doc().await?;
        let rv = doc.metadata.resource_version.clone().unwrap_or_default();
        doc.spec.writer = to.to_string();
        doc.spec.dns_owner = Some(to.to_string());
        doc.spec.allow_data_loss = allow_data_loss;
        let back = doc
            .status
            .as_ref()
            .and_then(|s| s.last_operation.as_ref())
            .is_some_and(|op| op.type_ == OperationType::Failover && op.from == to);
        self.store.update(&doc, &rv).await?;
        let command = format!(
            "drctl failover {} --to {to}{}",
            self.doc_name,
            if allow_data_loss {
                " --allow-data-loss"
            } else {
                ""
            }
        );
        let type_ = match (allow_data_loss, back) {
            (true, _) => OperationType::Failover,
            (false, true) => OperationType::Failback,
            (false, false) => OperationType::Switchover,
        };
        self.decisions.push(Decision {
            at_seconds: self.now_s(),
            by: "operator".to_string(),
            type_: type_.as_str().to_string(),
            reason: command.clone(),
        });
        self.say(format!("operator: {command}"));
        Ok(())
    }

    async fn operator_approves(&mut self, op: &Operation) -> Result<(), SimulationError> {
        let approval = ApprovalRecord {
            operation_id: op.id.clone(),
            approved_by: OPERATOR.to_string(),
            approved_at: self.world.now(),
        };
        self.store.approve(&self.doc_name, &approval).await?;
        self.say(format!("operator: drctl approve {}", self.doc_name));
        Ok(())
    }

    /// Wait until the group converged on `region` at `generation`, approving (two minutes
    /// after it is asked, as a person would) each deletion the way there asks for: a stale
    /// failback's, and an rdsReplica switch's rebuild of the old primary.
    async fn converge_approving(
        &mut self,
        what: &str,
        region: &str,
        generation: u64,
        limit: Duration,
    ) -> Result<FailoverGroup, SimulationError> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let doc = self
                .wait_until(what, left, |d| {
                    converged_on(d, region, generation)
                        || d.status
                            .as_ref()
                            .is_some_and(|s| s.phase == Phase::WaitingForApproval)
                })
                .await?;
            let Some((op, asked)) = doc
                .status
                .as_ref()
                .filter(|s| s.phase == Phase::WaitingForApproval)
                .and_then(|s| Some((s.operation.clone()?, ready_message(s).unwrap_or_default())))
            else {
                return Ok(doc);
            };
            self.say(format!("WaitingForApproval: {asked}"));
            tokio::time::sleep(Duration::from_secs(120)).await;
            self.operator_approves(&op).await?;
            // The approval shows in the next pass; do not see the same request twice.
            self.wait_until(what, left, |d| {
                d.status
                    .as_ref()
                    .is_some_and(|s| s.phase != Phase::WaitingForApproval)
            })
            .await?;
        }
    }

    /// The operations started since `since`, as the journal tells them (a stale rdsReplica
    /// failback is two: the rebuild, then the switch home).
    async fn operations_since(&self, since: Timestamp) -> Result<Vec<Operation>, SimulationError> {
        let journal = self.store.events(&self.doc_name).await?;
        let ids: Vec<String> = journal
            .iter()
            .filter(|e| e.reason == "OperationStarted" && e.at.millis() >= since.millis())
            .filter_map(|e| e.operation_id.clone())
            .collect();
        Ok(ids
            .iter()
            .filter_map(|id| crate::report::journal::operation_from_journal(&journal, id))
            .collect())
    }
}

/// The Ready condition's message: what the group waits for.
fn ready_message(status: &FailoverGroupStatus) -> Option<String> {
    status
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| c.message.clone())
}

fn ready_status(status: Option<&FailoverGroupStatus>) -> bool {
    status.is_some_and(|s| {
        s.operation.is_none()
            && crate::planner::status::is_true(&s.conditions, drctl_schema::condition_type::READY)
    })
}

/// The group serves from `writer` as its spec (at least `generation`) says: Ready, not
/// necessarily Converged (with the old region still dark it is Degraded, which is what a
/// failover can reach), no operation running, and the writer observed there.
pub fn converged_on(doc: &FailoverGroup, writer: &str, generation: u64) -> bool {
    converged_on_parts(doc, doc.status.as_ref(), writer, generation)
}

/// `converged_on` for a spec record and its status held apart (the sim store's ground truth).
pub fn converged_on_parts(
    doc: &FailoverGroup,
    status: Option<&FailoverGroupStatus>,
    writer: &str,
    generation: u64,
) -> bool {
    ready_status(status)
        && doc.spec.writer == writer
        && status.is_some_and(|s| s.observed_generation >= generation)
        && status
            .and_then(|s| s.observed.as_ref())
            .and_then(|o| o.writer.as_deref())
            == Some(writer)
}

pub fn example_group() -> Result<FailoverGroup, SimulationError> {
    let docs =
        drctl_schema::parse_documents(EXAMPLE_GROUP.as_bytes(), "examples/failovergroup.yaml")
            .map_err(|e| SimulationError::Example(e.to_string()))?;
    docs.into_iter()
        .next()
        .ok_or_else(|| SimulationError::Example("no document".to_string()))
}

/// Run one scenario; with `baseline`, also the sequential runbook on a fresh world with the
/// same seed.
pub async fn run_scenario(
    scenario: Scenario,
    options: ScenarioOptions,
) -> Result<ScenarioReport, SimulationError> {
    // A user's group (`-f FILE`, `--group NAME`) is rehearsed as it is, with its own policy or
    // none; the example gets the automatic scenarios' policy.
    let group = match &options.group {
        Some(group) => group.clone(),
        None => {
            let mut group = example_group()?;
            if scenario.is_automatic() {
                group.spec.auto_failover = Some(auto::policy(scenario));
            }
            group
        }
    };
    run_scenario_on(scenario, options, group).await
}

/// [`run_scenario`] on `group` instead of the scenario's own: the simulated world is
/// provisioned from its spec (for comparisons: the same outage on a group without
/// spec.autoFailover, or routed by ARC routing controls).
pub async fn run_scenario_on(
    scenario: Scenario,
    options: ScenarioOptions,
    group: FailoverGroup,
) -> Result<ScenarioReport, SimulationError> {
    let mut config = SimConfig::new(options.seed);
    if let Some(timings) = &options.timings {
        config.timings = timings.clone();
    }
    let world = SimWorld::new(config);
    world
        .provision(&group.spec)
        .map_err(|e| SimulationError::World(e.to_string()))?;
    world
        .start_app_writes(10)
        .map_err(|e| SimulationError::World(e.to_string()))?;
    if matches!(scenario, Scenario::FailbackStale) {
        world.set_rejoin_mode(RejoinMode::Stale);
    }
    if scenario.is_automatic() {
        auto::prepare_world(scenario, &world);
    }
    let store = options
        .store
        .clone()
        .unwrap_or_else(|| world.store_as(REPLICA));
    store.init().await?;
    store.create(&fresh_document(&group)).await?;
    let cloud = world.cloud(REPLICA);
    let start = world.now();
    let mut run = Run {
        world: world.clone(),
        store: store.clone(),
        controller_shutdown: CancellationToken::new(),
        doc_name: group.metadata.name.clone(),
        start,
        narrator: options.narrator.clone(),
        timeline: Vec::new(),
        narrated: BTreeMap::new(),
        decisions: Vec::new(),
    };

    let metrics = Metrics::new();
    let mut config = RuntimeConfig::new(REPLICA, LEASE);
    config.planner.operation_poll = Duration::from_secs(1);
    let controller = Arc::new(Controller::new(
        store.clone(),
        cloud.clone(),
        config,
        metrics,
    ));
    let shutdown = run.controller_shutdown.clone();
    let task = {
        let controller = controller.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move { controller.run(RunMode::Forever, None, shutdown).await })
    };

    let result = if scenario.is_automatic() {
        auto::drive(scenario, &options, &mut run).await
    } else if scenario == Scenario::AppTierOutage {
        app_tier::drive(&options, &mut run).await
    } else {
        drive(scenario, &options, &mut run).await
    };
    shutdown.cancel();
    let _ = task.await;
    let (mut report, operations) = result?;
    report.final_phase = run.doc().await?.status.map(|s| s.phase);
    report.decisions = std::mem::take(&mut run.decisions);
    report
        .decisions
        .extend(auto::policy_decisions(store.as_ref(), &run).await?);
    report
        .decisions
        .sort_by(|a, b| a.at_seconds.total_cmp(&b.at_seconds));

    // Cost of one steady-state pass (the first pass of a fresh cache reads everything; the
    // next one is the steady state).
    let ctx = ReconcileContext {
        cloud: cloud.clone(),
        reads: crate::fleet::FleetReads::new(cloud.clone()),
        store: store.clone(),
        actor: format!("controller/{REPLICA}"),
        config: crate::planner::PlannerConfig::default(),
        metrics: Metrics::new(),
    };
    if let Some(lease) = store
        .acquire_lease(LEASE, REPLICA, world.now(), 60_000)
        .await?
    {
        let mut cache = ObserveCache::default();
        for _ in 0..2 {
            // A resync comes a period after the last look: shared answers have aged out, so
            // the pass pays for its own reads.
            tokio::time::sleep(crate::observe::LIGHT_MAX_AGE + Duration::from_secs(1)).await;
            let doc = run.doc().await?;
            let before = world.call_count();
            // A pass that failed would count nothing and pass for a cheap one: it is an error.
            reconcile_group(&ctx, &doc, &lease.fence(), &AlwaysLeader, &mut cache)
                .await
                .map_err(|e| SimulationError::World(format!("steady-state pass: {e}")))?;
            let mut counts = CallCounts::default();
            for call in world
                .calls_from(before)
                .iter()
                .filter(|c| c.service != "store")
            {
                if call.mutating {
                    counts.mutating += 1;
                } else {
                    counts.read += 1;
                }
            }
            report.converged_pass_calls = Some(counts);
        }
        let _ = store.release_lease(&lease).await;
    }

    // The runbook's operator asks for AllowDataLoss explicitly (failover-global-cluster
    // --allow-data-loss), so its loss is allowed too; drctl's is allowed by the spec.
    // A failover the policy decided is allowed by its budget, not by spec.allowDataLoss:
    // invariant 3 then holds the loss to that budget.
    let allow_data_loss = operations.iter().any(|o| {
        o.type_ == OperationType::Failover
            && !o
                .notes
                .contains_key(crate::planner::steps::note::DATA_LOSS_ALLOWED_BY)
    }) || (options.strategy == Strategy::Sequential && scenario.has_outage());
    let data_loss_budget_seconds = group
        .spec
        .auto_failover
        .as_ref()
        .filter(|p| p.enabled)
        .map(|p| f64::from(p.max_data_loss_seconds));
    // Invariant 6 reads the lease history of the simulated world's own store; a lease kept
    // elsewhere (the demo's file store) is invisible to it.
    let lease_in_world = options.store.is_none();
    if !lease_in_world {
        report.invariants_unchecked.push(
            "6 (stale-epoch calls): the lease lives in the file store, outside the simulated world"
                .to_string(),
        );
    }
    let violations = world.check_invariants(&InvariantInput {
        allow_data_loss,
        data_loss_budget_seconds,
        lease: lease_in_world.then(|| LEASE.to_string()),
        unleased_callers: vec![OPERATOR.to_string(), "runbook".to_string()],
        ..Default::default()
    });
    report.invariant_violations = violations.iter().map(|v| v.to_string()).collect();
    report.lost_writes = world.data_loss().lost_writes.len() as u64;
    report.dns_to_unwritable_seconds =
        world.dns_to_unwritable_seconds(&group.spec.database.global_cluster_identifier);
    for call in world.calls() {
        if call.service == "store" {
            continue;
        }
        let entry = report.api_calls.entry(call.service.clone()).or_default();
        if call.mutating {
            entry.mutating += 1;
        } else {
            entry.read += 1;
        }
    }
    report.virtual_seconds = run.now_s();
    report.timeline = std::mem::take(&mut run.timeline);
    report.objectives = group.spec.objectives.map(|objectives| {
        let first = operations
            .first()
            .map(|o| o.id.as_str())
            .unwrap_or_default();
        let rpo = crate::planner::objectives::judged_rpo_of(&operations);
        drctl_schema::ObjectivesJudgement::judge(first, objectives, report.rto_seconds, rpo)
    });
    // The page reads the journal as `drctl report` does; a journal that cannot be read
    // leaves the page without mutations rather than failing the run.
    report.record = Some(crate::report::RunRecord {
        start,
        journal: store.events(&run.doc_name).await.unwrap_or_default(),
        operations,
    });

    Ok(report)
}

/// `group` as a user would first apply it to an empty store: no status, no store-set fields.
pub fn fresh_document(group: &FailoverGroup) -> FailoverGroup {
    let mut doc = group.clone();
    doc.status = None;
    doc.metadata.resource_version = None;
    doc.metadata.generation = None;
    doc
}

/// The group's home (its writer) and the region that takes over from it.
pub fn home_and_standby(group: &FailoverGroup) -> Result<(String, String), SimulationError> {
    let home = group.spec.writer.clone();
    let standby = group
        .spec
        .other_region(&home)
        .map(str::to_string)
        .ok_or_else(|| {
            SimulationError::World(format!(
                "failovergroup/{}: spec.regions has no region besides the writer {home}",
                group.metadata.name
            ))
        })?;
    Ok((home, standby))
}

/// The scripted incident. Returns the report skeleton and the operations drctl ran.
async fn drive(
    scenario: Scenario,
    options: &ScenarioOptions,
    run: &mut Run,
) -> Result<(ScenarioReport, Vec<Operation>), SimulationError> {
    let (east, west) = home_and_standby(&run.doc().await?)?;
    let (east, west) = (east.as_str(), west.as_str());
    run.say(format!(
        "steady state: {} writer in {east}, DNS at {east}, the app commits 10 writes/s",
        run.doc_name
    ));
    run.wait_until("initial convergence", Duration::from_secs(600), |d| {
        converged_on(d, east, 1)
    })
    .await?;
    run.say("converged: Ready");
    tokio::time::sleep(Duration::from_secs(60)).await;

    let incident_at = run.world.now();
    let mut decision_at = incident_at;
    start_incident(scenario, run, east);
    if scenario.has_outage() {
        tokio::time::sleep(Duration::from_secs(options.detection_seconds)).await;
        decision_at = run.world.now();
    }

    let mut operations = Vec::new();
    let mut steps = Vec::new();
    let times = Moments {
        incident_at,
        decision_at,
    };
    let (rto, recovery, critical, rpo) = match options.strategy {
        Strategy::Drctl => {
            drctl_moves(run, scenario, west, times, &mut steps, &mut operations).await?
        }
        Strategy::Sequential => runbook_moves(run, scenario, west, times, &mut steps).await?,
    };
    if matches!(
        scenario,
        Scenario::FailbackStale | Scenario::FailbackRejoined
    ) && options.strategy == Strategy::Drctl
    {
        fail_back(run, scenario, east, &mut steps, &mut operations).await?;
    }

    Ok((
        ScenarioReport {
            scenario,
            group: run.doc_name.clone(),
            seed: options.seed,
            strategy: options.strategy,
            rto_seconds: rto,
            recovery_seconds: recovery,
            critical_path_seconds: critical,
            rpo_seconds: rpo,
            objectives: None,
            lost_writes: 0,
            dns_to_unwritable_seconds: None,
            api_calls: BTreeMap::new(),
            steps,
            timeline: Vec::new(),
            invariant_violations: Vec::new(),
            invariants_unchecked: Vec::new(),
            converged_pass_calls: None,
            virtual_seconds: 0.0,
            decisions: Vec::new(),
            final_phase: None,
            baseline: None,
            record: None,
        },
        operations,
    ))
}

/// When the incident began and when the operator decided (the detection time later).
#[derive(Clone, Copy)]
struct Moments {
    incident_at: Timestamp,
    decision_at: Timestamp,
}

/// RTO from the incident, recovery from the decision, the critical path and the RPO.
type MoveFigures = (Option<f64>, Option<f64>, Option<f64>, Option<f64>);

/// The scenario's incident in the home region (none for a planned switchover).
fn start_incident(scenario: Scenario, run: &mut Run, east: &str) {
    match scenario {
        Scenario::PlannedSwitchover => {}
        Scenario::RegionOutageDnsDown => {
            run.world.region_outage_with(east, OutageScope::Full);
            // The region (and the control plane with it) comes back after half an hour.
            let back = Duration::from_millis(run.world.elapsed_ms().max(0) as u64)
                + Duration::from_secs(DNS_DOWN_OUTAGE_SECONDS);
            run.world.schedule(
                back,
                drctl_sim::ScheduledFault::RegionRecover {
                    region: east.to_string(),
                },
            );
            let control_plane = if east == drctl_sim::ROUTE53_CONTROL_REGION {
                format!(", and the Route 53 control plane (hosted in {east}) with it,")
            } else {
                String::new()
            };
            run.say(format!(
                "{east} goes dark{control_plane} for {} min",
                DNS_DOWN_OUTAGE_SECONDS / 60
            ));
        }
        _ => {
            run.world
                .region_outage_with(east, OutageScope::RegionalServicesOnly);
            run.say(format!(
                "{east} goes dark: RDS, ECS and the load balancer stop answering (the Route 53 control plane stays up; see region-outage-dns-down)"
            ));
        }
    }
}

/// The operator moves the writer to `west` and drctl carries it out.
async fn drctl_moves(
    run: &mut Run,
    scenario: Scenario,
    west: &str,
    times: Moments,
    steps: &mut Vec<StepTiming>,
    operations: &mut Vec<Operation>,
) -> Result<MoveFigures, SimulationError> {
    let Moments {
        incident_at,
        decision_at,
    } = times;
    let generation_before = run.doc().await?.metadata.generation.unwrap_or(1);
    run.operator_moves_writer(west, scenario.has_outage())
        .await?;
    // rdsReplica: a planned switch rebuilds the old primary as a replica once traffic
    // is served, and asks before deleting it; the operator approves, as in
    // failback-stale.
    let doc = run
        .converge_approving(
            &format!("failover to {west}"),
            west,
            generation_before + 1,
            Duration::from_secs(4 * 3600),
        )
        .await?;
    let op = doc
        .status
        .as_ref()
        .and_then(|s| s.last_operation.clone())
        .ok_or_else(|| SimulationError::World("no operation recorded".to_string()))?;
    run.say(format!(
        "converged in {west}: {} took {:.0} s{}",
        op.type_.as_str(),
        op.finished_at
            .map(|f| f.seconds_since(op.started_at))
            .unwrap_or(0.0),
        op.rpo_seconds
            .map(|r| format!(", RPO {r:.1} s"))
            .unwrap_or_default()
    ));
    let served = served_at(&op).or_else(|| health_check_served(run, &doc, incident_at));
    let critical = critical_path(run, &doc);
    let rpo = op.rpo_seconds;
    steps.extend(step_timings(run, &op));
    operations.push(op);
    Ok((
        served.map(|t| t.seconds_since(incident_at)),
        served.map(|t| t.seconds_since(decision_at)),
        critical,
        rpo,
    ))
}

/// The sequential runbook instead: no controller in the loop.
async fn runbook_moves(
    run: &mut Run,
    scenario: Scenario,
    west: &str,
    times: Moments,
    steps: &mut Vec<StepTiming>,
) -> Result<MoveFigures, SimulationError> {
    let Moments {
        incident_at,
        decision_at,
    } = times;
    // The runbook is what teams do without drctl: no controller in the loop.
    run.controller_shutdown.cancel();
    let doc = run.doc().await?;
    run.say("runbook: promote, then scale, then DNS, then verify (nothing overlapping)");
    let crate::runbook::RunbookTimings {
        steps: timings,
        served,
    } = crate::runbook::run_sequential(
        &run.world.cloud("runbook"),
        &doc.spec,
        west,
        scenario.has_outage(),
        Duration::from_secs(1),
    )
    .await
    .map_err(|e| SimulationError::World(e.to_string()))?;
    for t in &timings {
        run.say(format!(
            "  {:<18} {:.0} s",
            t.name,
            t.finished.seconds_since(t.started)
        ));
    }
    steps.extend(timings.iter().map(|step| StepTiming {
        operation: "Runbook".to_string(),
        name: step.name.clone(),
        state: "Succeeded".to_string(),
        start_seconds: Some(run.secs(step.started)),
        end_seconds: Some(run.secs(step.finished)),
        duration_seconds: Some(step.finished.seconds_since(step.started)),
        detail: None,
    }));
    let doc = run.doc().await?;
    let critical = critical_path(run, &doc);
    Ok((
        served.map(|t| t.seconds_since(incident_at)),
        served.map(|t| t.seconds_since(decision_at)),
        critical,
        None,
    ))
}

/// The home region recovers (stale or rejoining), and the operator moves the writer back.
async fn fail_back(
    run: &mut Run,
    scenario: Scenario,
    east: &str,
    steps: &mut Vec<StepTiming>,
    operations: &mut Vec<Operation>,
) -> Result<(), SimulationError> {
    tokio::time::sleep(Duration::from_secs(600)).await;
    run.world.region_recover(east);
    tokio::time::sleep(Duration::from_secs(600)).await;
    run.world.region_recover(east);
    let mode = if scenario == Scenario::FailbackStale {
        "stale: detached, standalone, with diverged data"
    } else {
        "rejoining the global cluster as a secondary by itself"
    };
    run.say(format!("{east} recovers ({mode})"));
    tokio::time::sleep(Duration::from_secs(900)).await;
    let generation_before = run.doc().await?.metadata.generation.unwrap_or(1);
    let moved_at = run.world.now();
    run.operator_moves_writer(east, false).await?;
    let doc = run
        .converge_approving(
            &format!("failback to {east}"),
            east,
            generation_before + 1,
            Duration::from_secs(4 * 3600),
        )
        .await?;
    // The last operation as the status holds it; any before it (the rebuild of a stale
    // rdsReplica failback) as the journal tells it.
    let last = doc.status.as_ref().and_then(|s| s.last_operation.clone());
    let mut since = run.operations_since(moved_at).await?;
    since.retain(|op| last.as_ref().is_none_or(|l| l.id != op.id));
    for op in since.into_iter().chain(last) {
        run.say(format!(
            "home again: {} took {:.0} s",
            op.type_.as_str(),
            op.finished_at
                .map(|f| f.seconds_since(op.started_at))
                .unwrap_or(0.0)
        ));
        steps.extend(step_timings(run, &op));
        operations.push(op);
    }
    Ok(())
}

/// When the new region started serving, by the operation's steps (one rule with the
/// planner's RTO).
pub(crate) use crate::planner::served::served_by_steps as served_at;

/// A healthCheck group's operation skips MoveDns and WaitDnsInSync, so without a Verify
/// probe nothing in it marks the moment users were served: take it from the world, the
/// first moment from `since` on that Route 53 answered with a region whose app served and
/// could reach a writable database. None for the other modes.
fn health_check_served(run: &Run, doc: &FailoverGroup, since: Timestamp) -> Option<Timestamp> {
    run.world
        .health_check_served_writable_at(&doc.spec.database.global_cluster_identifier, since)
}

fn step_timings(run: &Run, op: &Operation) -> Vec<StepTiming> {
    step_timings_since(run.start, op)
}

/// An operation's steps, their times in seconds since `start`.
pub(crate) fn step_timings_since(start: Timestamp, op: &Operation) -> Vec<StepTiming> {
    op.steps
        .iter()
        .map(|s| StepTiming {
            operation: format!("{} {} -> {}", op.type_.as_str(), op.from, op.to),
            name: s.name.as_str().to_string(),
            state: format!("{:?}", s.state),
            start_seconds: s.started_at.map(|t| t.seconds_since(start)),
            end_seconds: s.finished_at.map(|t| t.seconds_since(start)),
            duration_seconds: match (s.started_at, s.finished_at) {
                (Some(a), Some(b)) => Some(b.seconds_since(a)),
                _ => None,
            },
            detail: s.detail.clone(),
        })
        .collect()
}

/// The critical path from the decision, computed from the simulated timings: the database
/// path (promotion) and the compute path (task start-up) run in parallel, then DNS
/// propagation. Polling and call latency are not in it, so it is a lower bound.
fn critical_path(run: &Run, doc: &FailoverGroup) -> Option<f64> {
    let t = run.world.timings();
    let promote = if doc.spec.allow_data_loss {
        t.failover_promote
    } else {
        t.switchover_fence + t.switchover_promote
    };
    let compute = t.task_startup;
    Some((promote.max(compute) + t.dns_insync).as_secs_f64())
}

/// Run a future on a fresh single-threaded runtime whose clock is paused, on its own thread:
/// simulated hours pass in wall-clock milliseconds whenever every task is waiting on a timer.
pub fn run_in_virtual_time<T, F, Fut>(make: F) -> Result<T, SimulationError>
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = T>,
{
    run_on_own_runtime(SimPace::Virtual, make)
}

/// How a simulated world's time passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimPace {
    /// Paused tokio time: it jumps ahead whenever every task waits.
    Virtual,
    /// Real time: a virtual second is a wall-clock second.
    Real,
}

/// Run a future on a fresh single-threaded runtime on its own thread, its clock paused or not.
pub fn run_on_own_runtime<T, F, Fut>(pace: SimPace, make: F) -> Result<T, SimulationError>
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = T>,
{
    let handle = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(pace == SimPace::Virtual)
            .build()
            .map_err(|e| SimulationError::World(format!("cannot start a runtime: {e}")))?;
        Ok(runtime.block_on(make()))
    });
    handle
        .join()
        .map_err(|_| SimulationError::World("the simulation thread panicked".to_string()))?
}

/// A simulated world provisioned as the groups in the store were last observed (or as their
/// spec says, for groups never reconciled): what `--cloud sim` rehearses against. Its virtual
/// time starts at `epoch`: the real now when the groups come from (and go back to) a real
/// store, so that what the rehearsal writes there carries real timestamps.
pub fn world_for(
    groups: &[FailoverGroup],
    seed: u64,
    epoch: Timestamp,
) -> Result<Arc<SimWorld>, SimulationError> {
    let mut config = SimConfig::new(seed);
    config.epoch = epoch;
    let world = SimWorld::new(config);
    for group in groups {
        let mut spec = group.spec.clone();
        if let Some(observed) = group.status.as_ref().and_then(|s| s.observed.as_ref()) {
            if let Some(writer) = &observed.writer {
                spec.writer = writer.clone();
            }
            spec.dns_owner = observed.dns_owner.clone().or(Some(spec.writer.clone()));
        }
        world
            .provision(&spec)
            .map_err(|e| SimulationError::World(format!("{}: {e}", group.metadata.name)))?;
    }
    Ok(world)
}

/// The wall clock's now: where a rehearsal against a real store starts its virtual time.
pub fn wall_now() -> Timestamp {
    drctl_cloud::Clock::now(&drctl_cloud::SystemClock)
}

/// What the planner would do first for `candidate` (the `stored` group with the spec it
/// would get), in a world built as `stored` was last observed (simulated, so it needs no
/// AWS): `drctl diff --cloud sim` shows these actions, from the same planner the controller
/// runs.
pub fn plan_spec_change(
    stored: &FailoverGroup,
    candidate: &FailoverGroup,
) -> Result<crate::planner::Plan, SimulationError> {
    let (stored, candidate) = (stored.clone(), candidate.clone());
    run_in_virtual_time(move || async move {
        let world = world_for(std::slice::from_ref(&stored), 1, wall_now())?;
        let store = world.store();
        crate::reconcile::dry_run(&world.cloud("drctl-diff"), store.as_ref(), &candidate)
            .await
            .map_err(SimulationError::Store)
    })?
}
