//! A drill rehearsed: the group provisioned in a fresh simulated world, the real controller
//! (`runtime::Controller`) running against it, the drill's faults and operator actions applied
//! at their times on the drill's clock (zero = the group's first convergence), until the
//! expected end state holds after the last of them, or the limit passes. Then the judgement:
//! objectives, expectations, the docs/design-contract.md §5 invariants.
//!
//! Must run on a paused tokio runtime (`simulation::run_in_virtual_time`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use drctl_schema::{FailoverGroup, ObjectivesJudgement, Operation, Phase, StepName, Timestamp};
use drctl_sim::{FaultKind, FaultRule, InvariantInput, RejoinMode, ServiceFaults, SimWorld};
use drctl_state::{ApprovalRecord, Store};
use serde::Serialize;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::spec::{
    service_of, Action, DrillPlan, Expect, Fault, OutageScope, Rejoin, TimedAction, TimedFault,
};
use crate::metrics::Metrics;
use crate::planner::objectives::judged_rpo_of;
use crate::report::RunRecord;
use crate::runtime::{Controller, RunMode, RuntimeConfig};
use crate::simulation::{
    converged_on, fresh_document, served_at, step_timings_since, CallCounts, Decision,
    SimulationError, StepTiming, TimelineEntry, LEASE, OPERATOR, REPLICA,
};

/// What `drctl drill` reports (the §7.4 fields first).
#[derive(Debug, Clone, Serialize)]
pub struct DrillReport {
    pub drill: String,
    pub group: String,
    pub seed: u64,
    /// Every objective met (true when the drill and the group give none).
    pub objectives_met: bool,
    /// From the incident (the first region outage, else the first failover ordered) until
    /// the new region served.
    pub rto_seconds: Option<f64>,
    /// The largest data-loss window drctl recorded (0 when only planned moves ran).
    pub rpo_seconds: Option<f64>,
    /// Every operation's steps, in seconds on the drill's clock, as `drctl sim` reports them.
    pub steps: Vec<StepTiming>,
    pub invariant_violations: Vec<String>,
    pub objectives: Option<ObjectivesJudgement>,
    pub expect_met: bool,
    /// What differed from `expect` at the end.
    pub expect_failures: Vec<String>,
    pub final_phase: Option<Phase>,
    pub final_writer: Option<String>,
    /// The Ready condition's message at the end (what the group waited on, if anything).
    pub final_message: Option<String>,
    /// Committed writes the simulated application lost, measured independently.
    pub lost_writes: u64,
    pub api_calls: BTreeMap<String, CallCounts>,
    pub timeline: Vec<TimelineEntry>,
    /// Virtual seconds from the group's first convergence to the end of the drill.
    pub virtual_seconds: f64,
    /// The operator's actions as they took effect, for the page (`--html`).
    #[serde(skip)]
    pub decisions: Vec<Decision>,
    /// The operations and journal of the drill, for the page (`--html`).
    #[serde(skip)]
    pub record: Option<RunRecord>,
}

impl DrillReport {
    /// Objectives and expectations met, no invariant broken (exit 0).
    pub fn passed(&self) -> bool {
        self.objectives_met && self.expect_met && self.invariant_violations.is_empty()
    }
}

/// How long the group may take to converge before the drill's clock starts.
const INITIAL_CONVERGENCE: Duration = Duration::from_secs(600);
/// Application writes per second: what lost writes are measured against.
const APP_WRITES_PER_SECOND: u32 = 10;

/// Rehearse `plan` on `group` (its writer is where the world starts).
pub async fn run_drill(
    plan: &DrillPlan,
    group: &FailoverGroup,
) -> Result<DrillReport, SimulationError> {
    let mut config = drctl_sim::SimConfig::new(plan.seed);
    if let Some(timings) = &plan.timings {
        config.timings = timings.clone();
    }
    let world = SimWorld::new(config);
    world
        .provision(&group.spec)
        .map_err(|e| SimulationError::World(e.to_string()))?;
    world
        .start_app_writes(APP_WRITES_PER_SECOND)
        .map_err(|e| SimulationError::World(e.to_string()))?;
    for alarm in witnesses(group) {
        world.set_alarm(
            &alarm.region,
            &alarm.name,
            honest_witness(group, &alarm.region),
        );
    }
    let operator = world.store_as(OPERATOR);
    operator.init().await?;
    let mut doc = fresh_document(group);
    doc.spec.objectives = plan.objectives;
    operator.create(&doc).await?;

    let mut drilling = Drilling {
        replica: Replica::start(&world, REPLICA),
        world: world.clone(),
        operator,
        name: group.metadata.name.clone(),
        t0: world.now(),
        restarts: 0,
        timeline: Vec::new(),
        operations: Vec::new(),
        narrated: BTreeMap::new(),
        active: BTreeSet::new(),
        approval_pending: false,
        allow_data_loss: false,
        waiting_actions: Default::default(),
        decisions: Vec::new(),
        partitioned: BTreeSet::new(),
        rehearsed: group.clone(),
    };
    let first = drilling
        .wait_initial_convergence(&group.spec.writer)
        .await?;
    drilling.t0 = world.now();
    drilling.say(format!(
        "steady state: failovergroup/{} converged, writer {}",
        drilling.name, group.spec.writer
    ));
    let last = drilling.rehearse(plan).await;
    drilling.replica.stop();
    (&mut drilling.replica.task).await.ok();
    let end = last?.or(Some(first));
    let mut report = drilling.report(plan, end.as_ref());
    // The journal is read for the page once the drill is judged; a store fault still in
    // force is the drill's, not the reader's.
    world.set_store_unavailable(false);
    report.record = Some(RunRecord {
        start: drilling.t0,
        operations: drilling.operations.clone(),
        journal: drilling
            .operator
            .events(&drilling.name)
            .await
            .unwrap_or_default(),
    });
    Ok(report)
}

/// One controller replica: a task that can be killed (a crash) or stopped.
struct Replica {
    name: String,
    task: JoinHandle<()>,
    stop: CancellationToken,
}

impl Drop for Replica {
    /// A drill abandoned part-way (the campaign's watchdog) leaves no controller behind.
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Replica {
    fn start(world: &Arc<SimWorld>, name: &str) -> Replica {
        let mut config = RuntimeConfig::new(name, LEASE);
        config.planner.operation_poll = Duration::from_secs(1);
        let controller = Controller::new(
            world.store_as(name),
            world.cloud(name),
            config,
            Metrics::new(),
        );
        let stop = CancellationToken::new();
        let token = stop.clone();
        let task = tokio::spawn(async move {
            let _ = controller.run(RunMode::Forever, None, token).await;
        });
        Replica {
            name: name.to_string(),
            task,
            stop,
        }
    }

    fn stop(&self) {
        self.stop.cancel();
    }
}

/// Something due on the drill's clock.
#[derive(Debug, Clone, Copy)]
enum Due {
    Fault(usize, Edge),
    Act(usize),
}

/// A fault's start or end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edge {
    Starts,
    Ends,
}

struct Drilling {
    world: Arc<SimWorld>,
    operator: Arc<dyn Store>,
    name: String,
    /// The drill's clock zero: the group's first convergence.
    t0: Timestamp,
    replica: Replica,
    restarts: u32,
    timeline: Vec<TimelineEntry>,
    /// Every operation seen, its latest record, in the order they started.
    operations: Vec<Operation>,
    narrated: BTreeMap<String, String>,
    /// Faults in force (indexes into the plan's faults).
    active: BTreeSet<usize>,
    /// An `approve` was given and nothing awaited it yet: the operator approves as soon as
    /// something asks.
    approval_pending: bool,
    /// Some failover ordered with allowDataLoss (invariant 3's decision).
    allow_data_loss: bool,
    /// Actions due and not yet accepted by the store (indexes into the plan's actions).
    waiting_actions: std::collections::VecDeque<usize>,
    /// The operator's actions that took effect, in seconds on the drill's clock.
    decisions: Vec<Decision>,
    /// Regions the controller's link to is cut (`controllerPartition` in force).
    partitioned: BTreeSet<String>,
    /// The group as rehearsed: what its witnesses watch when they do not lie.
    rehearsed: FailoverGroup,
}

impl Drilling {
    fn now_s(&self) -> f64 {
        self.world.now().seconds_since(self.t0)
    }

    /// The operator did `what` (a journal reason, as the CLI would journal it) with `command`.
    fn decided(&mut self, what: &str, command: String) {
        self.decisions.push(Decision {
            at_seconds: self.now_s(),
            by: "operator".to_string(),
            type_: what.to_string(),
            reason: command.clone(),
        });
        self.say(format!("operator: {command}"));
    }

    fn say(&mut self, what: impl Into<String>) {
        let at_seconds = self.now_s();
        self.timeline.push(TimelineEntry {
            at_seconds,
            what: what.into(),
        });
    }

    async fn doc(&self) -> Result<FailoverGroup, SimulationError> {
        self.operator
            .get(&self.name)
            .await?
            .ok_or_else(|| SimulationError::World(format!("failovergroup/{} vanished", self.name)))
    }

    async fn wait_initial_convergence(
        &mut self,
        writer: &str,
    ) -> Result<FailoverGroup, SimulationError> {
        let deadline = tokio::time::Instant::now() + INITIAL_CONVERGENCE;
        loop {
            let doc = self.doc().await?;
            if converged_on(&doc, writer, 1) {
                return Ok(doc);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(SimulationError::Timeout(format!(
                    "failovergroup/{} did not converge within {} s before the drill began",
                    self.name,
                    INITIAL_CONVERGENCE.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// The agenda applied tick by tick (a virtual second), then the wait for the end state.
    /// Returns the group's last document read.
    async fn rehearse(
        &mut self,
        plan: &DrillPlan,
    ) -> Result<Option<FailoverGroup>, SimulationError> {
        let agenda = agenda(&plan.faults, &plan.actions);
        let last_due = agenda.last().map(|(at, _)| *at).unwrap_or_default();
        let start = tokio::time::Instant::now();
        let deadline = start + last_due + plan.limit;
        let mut next = 0;
        let mut last_doc = None;
        loop {
            while let Some((at, due)) = agenda.get(next) {
                if start + *at > tokio::time::Instant::now() {
                    break;
                }
                match *due {
                    Due::Act(j) => self.waiting_actions.push_back(j),
                    Due::Fault(i, edge) => self.apply(plan, i, edge),
                }
                next += 1;
            }
            self.act_waiting(plan).await;
            // A store outage makes reads fail too: the drill looks again next tick.
            if let Ok(doc) = self.doc().await {
                self.observe(&doc).await;
                let done = next == agenda.len()
                    && self.waiting_actions.is_empty()
                    && end_state_reached(plan.expect.as_ref(), &doc);
                last_doc = Some(doc);
                if done {
                    self.say("end state reached");
                    return Ok(last_doc);
                }
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                self.say(format!(
                    "limit reached: {} s after the last fault or action",
                    plan.limit.as_secs()
                ));
                return Ok(last_doc);
            }
            let tick = now + Duration::from_secs(1);
            let wake = agenda
                .get(next)
                .map(|(at, _)| (start + *at).max(now).min(tick))
                .unwrap_or(tick);
            tokio::time::sleep_until(wake).await;
        }
    }

    /// Record operations and step changes; approve when asked after an `approve`.
    async fn observe(&mut self, doc: &FailoverGroup) {
        let Some(status) = &doc.status else { return };
        for op in [&status.operation, &status.last_operation]
            .into_iter()
            .flatten()
        {
            match self.operations.iter_mut().find(|o| o.id == op.id) {
                Some(known) => *known = op.clone(),
                None => self.operations.push(op.clone()),
            }
            for step in &op.steps {
                let key = format!("{}/{}", op.id, step.name);
                let state = format!("{:?}", step.state);
                if step.state != drctl_schema::StepState::Pending
                    && self.narrated.get(&key) != Some(&state)
                {
                    self.narrated.insert(key, state.clone());
                    let line = format!(
                        "  {} {:<18} {:<10} {}",
                        op.type_.as_str(),
                        step.name.as_str(),
                        state,
                        step.detail.clone().unwrap_or_default()
                    );
                    self.say(line);
                }
            }
        }
        if self.approval_pending && status.phase == Phase::WaitingForApproval {
            if let Some(op) = &status.operation {
                let approval = ApprovalRecord {
                    operation_id: op.id.clone(),
                    approved_by: OPERATOR.to_string(),
                    approved_at: self.world.now(),
                };
                if self.operator.approve(&self.name, &approval).await.is_ok() {
                    self.approval_pending = false;
                    self.decided("Approved", format!("drctl approve {}", self.name));
                }
            }
        }
    }

    /// Start or end fault `i`.
    fn apply(&mut self, plan: &DrillPlan, i: usize, edge: Edge) {
        let Some(f) = plan.faults.get(i) else { return };
        if edge == Edge::Starts {
            self.active.insert(i);
            self.start_fault(plan, f);
        } else {
            self.active.remove(&i);
            self.end_fault(plan, f);
        }
    }

    /// The operator's due actions, in order; one the store refuses (unavailable) waits for
    /// the next tick with the ones after it, while faults go on starting and ending.
    async fn act_waiting(&mut self, plan: &DrillPlan) {
        while let Some(j) = self.waiting_actions.front().copied() {
            let Some(a) = plan.actions.get(j) else {
                self.waiting_actions.pop_front();
                continue;
            };
            if !self.act(&a.action).await {
                return;
            }
            self.waiting_actions.pop_front();
        }
    }

    fn start_fault(&mut self, plan: &DrillPlan, f: &TimedFault) {
        let lasting = f
            .for_
            .map(|d| format!(" for {} s", d.as_secs()))
            .unwrap_or_default();
        match &f.fault {
            Fault::RegionOutage(o) => {
                let scope = match o.scope {
                    OutageScope::RegionalServices => drctl_sim::OutageScope::RegionalServicesOnly,
                    OutageScope::Full => drctl_sim::OutageScope::Full,
                };
                self.world.region_outage_with(&o.region, scope);
                self.say(format!(
                    "fault: {} goes dark ({}){lasting}",
                    o.region,
                    o.scope.as_str()
                ));
            }
            Fault::RegionRecover(r) => {
                self.world.set_rejoin_mode(match r.rejoin {
                    Rejoin::Automatic => RejoinMode::Automatic,
                    Rejoin::Stale => RejoinMode::Stale,
                });
                self.world.region_recover(&r.region);
                self.say(format!(
                    "fault: {} recovers ({} rejoin)",
                    r.region,
                    r.rejoin.as_str()
                ));
            }
            Fault::Throttle(p) | Fault::ServerError(p) => {
                self.refresh_service_faults(plan, &p.service);
                let what = if matches!(f.fault, Fault::Throttle(_)) {
                    "throttles"
                } else {
                    "answers 5xx to"
                };
                self.say(format!(
                    "fault: {} {what} {:.0}% of calls{lasting}",
                    p.service,
                    p.probability * 100.0
                ));
            }
            Fault::LostResponse(l) => {
                if let Some(service) = service_of(&l.service) {
                    self.world.inject(
                        FaultRule::new(FaultKind::LostResponse)
                            .service(service)
                            .operation(&l.operation)
                            .times(l.times),
                    );
                }
                self.say(format!(
                    "fault: the next {} {} response(s) of {} are lost",
                    l.times, l.operation, l.service
                ));
            }
            Fault::SlowOperations(s) => {
                self.world.set_slow_operations(s.probability, s.factor);
                self.say(format!(
                    "fault: {:.0}% of long operations take {}x longer{lasting}",
                    s.probability * 100.0,
                    s.factor
                ));
            }
            Fault::ReplicationLag(r) => {
                self.world
                    .set_replication_lag(&r.region, Some(Duration::from_secs_f64(r.seconds)));
                self.say(format!(
                    "fault: replication to {} lags {} s{lasting}",
                    r.region, r.seconds
                ));
            }
            Fault::ControllerCrash => {
                self.replica.task.abort();
                self.say(format!("fault: controller {} crashes", self.replica.name));
                if f.for_.is_none() {
                    self.restart_controller();
                }
            }
            Fault::PausedLeader => {
                let pause = f.for_.unwrap_or_default();
                self.world.pause_caller(&self.replica.name, pause);
                self.say(format!(
                    "fault: controller {} freezes{lasting}",
                    self.replica.name
                ));
            }
            Fault::StoreUnavailable => {
                self.world.set_store_unavailable(true);
                self.say(format!("fault: the store is unavailable{lasting}"));
            }
            Fault::WitnessStuck(w) => {
                let state = w.state.alarm_state();
                self.world
                    .set_alarm(&w.region, &w.alarm, drctl_sim::AlarmModel::Stuck(state));
                self.say(format!(
                    "fault: witness {}/{} lies, stuck in {}{lasting}",
                    w.region,
                    w.alarm,
                    state.as_str()
                ));
            }
            Fault::ControllerPartition(c) => {
                self.partitioned.insert(c.region.clone());
                self.world.partition_caller(&self.replica.name, &c.region);
                self.say(format!(
                    "fault: controller {} loses its link to {}{lasting}",
                    self.replica.name, c.region
                ));
            }
        }
    }

    fn end_fault(&mut self, plan: &DrillPlan, f: &TimedFault) {
        match &f.fault {
            Fault::RegionOutage(o) => {
                self.world.region_recover(&o.region);
                self.say(format!("fault ends: {} is back", o.region));
            }
            Fault::Throttle(p) | Fault::ServerError(p) => {
                self.refresh_service_faults(plan, &p.service);
                self.say(format!("fault ends: {} answers normally again", p.service));
            }
            Fault::SlowOperations(_) => {
                self.world.set_slow_operations(0.0, 1);
                self.say("fault ends: operations take their usual time");
            }
            Fault::ReplicationLag(r) => {
                self.world.set_replication_lag(&r.region, None);
                self.say(format!(
                    "fault ends: replication to {} catches up",
                    r.region
                ));
            }
            Fault::ControllerCrash => self.restart_controller(),
            Fault::StoreUnavailable => {
                self.world.set_store_unavailable(false);
                self.say("fault ends: the store answers again");
            }
            Fault::PausedLeader => {
                self.say(format!(
                    "fault ends: controller {} thaws",
                    self.replica.name
                ));
            }
            Fault::WitnessStuck(w) => {
                let honest = honest_witness(&self.rehearsed, &w.region);
                self.world.set_alarm(&w.region, &w.alarm, honest);
                self.say(format!(
                    "fault ends: witness {}/{} tells the truth again",
                    w.region, w.alarm
                ));
            }
            Fault::ControllerPartition(c) => {
                self.partitioned.remove(&c.region);
                self.world.heal_partition(&self.replica.name, &c.region);
                self.say(format!(
                    "fault ends: controller {} reaches {} again",
                    self.replica.name, c.region
                ));
            }
            // One-offs: `agenda` never schedules their end, and there is nothing to undo.
            Fault::RegionRecover(_) | Fault::LostResponse(_) => {}
        }
    }

    /// A new replica (a new pod: its own name), which takes the lease once it expires.
    fn restart_controller(&mut self) {
        self.restarts += 1;
        let name = format!("{REPLICA}-{}", self.restarts);
        // A partition is of the network the controller runs in: the new pod has it too.
        for region in &self.partitioned {
            self.world.heal_partition(&self.replica.name, region);
            self.world.partition_caller(&name, region);
        }
        self.replica = Replica::start(&self.world, &name);
        self.say(format!("controller {name} starts"));
    }

    /// The service's random faults: the strongest of each kind in force.
    fn refresh_service_faults(&self, plan: &DrillPlan, service: &str) {
        let Some(port) = service_of(service) else {
            return;
        };
        let mut faults = ServiceFaults::default();
        for f in self.active.iter().filter_map(|i| plan.faults.get(*i)) {
            match &f.fault {
                Fault::Throttle(p) if p.service == service => {
                    faults.throttle = faults.throttle.max(p.probability)
                }
                Fault::ServerError(p) if p.service == service => {
                    faults.server_error = faults.server_error.max(p.probability)
                }
                _ => {}
            }
        }
        self.world.set_service_faults(port, faults);
    }

    /// An operator action through the store, as the CLI does it; false if the store refused.
    async fn act(&mut self, action: &Action) -> bool {
        match action {
            Action::Approve => {
                self.approval_pending = true;
                true
            }
            Action::Failover(f) => {
                let (to, loss) = (f.to.clone(), f.allow_data_loss);
                let done = self
                    .edit(|doc| {
                        doc.spec.writer = to.clone();
                        doc.spec.dns_owner = Some(to.clone());
                        doc.spec.allow_data_loss = loss;
                    })
                    .await;
                if done {
                    self.allow_data_loss |= loss;
                    let flag = if loss { " --allow-data-loss" } else { "" };
                    let command = format!("drctl failover {} --to {to}{flag}", self.name);
                    self.decided("FailoverRequested", command);
                }
                done
            }
            Action::Suspend | Action::Resume => {
                let suspend = matches!(action, Action::Suspend);
                let done = self.edit(|doc| doc.spec.suspended = suspend).await;
                if done {
                    let (verb, what) = if suspend {
                        ("suspend", "Suspended")
                    } else {
                        ("resume", "Resumed")
                    };
                    self.decided(what, format!("drctl {verb} {}", self.name));
                }
                done
            }
        }
    }

    /// A conditional update of the spec; false if the store refused it.
    async fn edit(&mut self, change: impl Fn(&mut FailoverGroup)) -> bool {
        let Ok(mut doc) = self.doc().await else {
            return false;
        };
        let rv = doc.metadata.resource_version.clone().unwrap_or_default();
        change(&mut doc);
        self.operator.update(&doc, &rv).await.is_ok()
    }

    fn report(&self, plan: &DrillPlan, end: Option<&FailoverGroup>) -> DrillReport {
        let incident = incident_at(plan);
        let (rto, rpo) = figures(self.t0, &self.operations, incident);
        let first_id = self
            .operations
            .first()
            .map(|o| o.id.as_str())
            .unwrap_or_default();
        let objectives = plan
            .objectives
            .map(|o| ObjectivesJudgement::judge(first_id, o, rto, rpo));
        let expect_failures = end
            .map(|doc| expect_failures(plan.expect.as_ref(), doc))
            .unwrap_or_else(|| vec!["the group could not be read at the end".to_string()]);
        let violations = self.world.check_invariants(&InvariantInput {
            allow_data_loss: self.allow_data_loss,
            data_loss_budget_seconds: data_loss_budget(&self.rehearsed),
            lease: Some(LEASE.to_string()),
            unleased_callers: vec![OPERATOR.to_string()],
            ..Default::default()
        });
        let mut api_calls: BTreeMap<String, CallCounts> = BTreeMap::new();
        for call in self.world.calls() {
            if call.service == "store" {
                continue;
            }
            let entry = api_calls.entry(call.service.clone()).or_default();
            if call.mutating {
                entry.mutating += 1;
            } else {
                entry.read += 1;
            }
        }
        let status = end.and_then(|d| d.status.as_ref());
        DrillReport {
            drill: plan.name.clone(),
            group: self.name.clone(),
            seed: plan.seed,
            objectives_met: objectives.as_ref().map(|j| j.met).unwrap_or(true),
            rto_seconds: rto,
            rpo_seconds: rpo,
            steps: self
                .operations
                .iter()
                .flat_map(|op| step_timings_since(self.t0, op))
                .collect(),
            invariant_violations: violations.iter().map(|v| v.to_string()).collect(),
            objectives,
            expect_met: expect_failures.is_empty(),
            expect_failures,
            final_phase: status.map(|s| s.phase),
            final_writer: status
                .and_then(|s| s.observed.as_ref())
                .and_then(|o| o.writer.clone()),
            final_message: status.and_then(|s| {
                s.conditions
                    .iter()
                    .find(|c| c.type_ == drctl_schema::condition_type::READY)
                    .map(|c| c.message.clone())
            }),
            lost_writes: self.world.data_loss().lost_writes.len() as u64,
            api_calls,
            timeline: self.timeline.clone(),
            virtual_seconds: self.now_s(),
            decisions: self.decisions.clone(),
            record: None,
        }
    }
}

/// The alarms the group's spec.autoFailover reads (none without one).
fn witnesses(group: &FailoverGroup) -> Vec<drctl_schema::AlarmRef> {
    group
        .spec
        .auto_failover
        .as_ref()
        .map(|p| p.witnesses.alarms.clone())
        .unwrap_or_default()
}

/// An honest witness in `region`: synthetics there probing the group's other region (the
/// writer, for the witness the policy reads), in ALARM while it is down for its users.
fn honest_witness(group: &FailoverGroup, region: &str) -> drctl_sim::AlarmModel {
    let watched = group
        .spec
        .regions
        .iter()
        .find(|r| r.as_str() != region)
        .cloned()
        .unwrap_or_else(|| group.spec.writer.clone());
    drctl_sim::AlarmModel::WhileRegionDown { region: watched }
}

/// Invariant 3's allowance of an enabled policy: its maxDataLossSeconds (as `drctl sim`'s
/// automatic scenarios count it).
fn data_loss_budget(group: &FailoverGroup) -> Option<f64> {
    group
        .spec
        .auto_failover
        .as_ref()
        .filter(|p| p.enabled)
        .map(|p| f64::from(p.max_data_loss_seconds))
}

/// RTO from the incident (seconds on the drill's clock, whose zero is `t0`) to the first
/// operation that served after it; RPO the largest judged window
/// (`planner::objectives::judged_rpo_of`: 0 for planned moves, unmeasured when a failover
/// recorded none or nothing ran).
fn figures(
    t0: Timestamp,
    operations: &[Operation],
    incident: Option<f64>,
) -> (Option<f64>, Option<f64>) {
    let rto = incident.and_then(|at| {
        operations
            .iter()
            .filter_map(served_at)
            .map(|t| t.seconds_since(t0))
            .find(|served| *served >= at)
            .map(|served| served - at)
    });
    (rto, judged_rpo_of(operations))
}

/// Every start, end and action, in time order (ties keep starts, then ends, then actions).
fn agenda(faults: &[TimedFault], actions: &[TimedAction]) -> Vec<(Duration, Due)> {
    let mut out = Vec::new();
    for (i, f) in faults.iter().enumerate() {
        out.push((f.at, Due::Fault(i, Edge::Starts)));
        if let Some(d) = f.for_.filter(|_| !f.fault.is_one_off()) {
            out.push((f.at + d, Due::Fault(i, Edge::Ends)));
        }
    }
    for (j, a) in actions.iter().enumerate() {
        out.push((a.at, Due::Act(j)));
    }
    out.sort_by_key(|(at, _)| *at);
    out
}

/// The incident on the drill's clock: the first region outage, else the first failover.
fn incident_at(plan: &DrillPlan) -> Option<f64> {
    let outage = plan
        .faults
        .iter()
        .find(|f| matches!(f.fault, Fault::RegionOutage(_)))
        .map(|f| f.at.as_secs_f64());
    let failover = plan
        .actions
        .iter()
        .find(|a| matches!(a.action, Action::Failover(_)))
        .map(|a| a.at.as_secs_f64());
    match (outage, failover) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// With `expect`: it holds and nothing waits on a step other than approval. Without: the
/// group converged on the writer its spec names.
fn end_state_reached(expect: Option<&Expect>, doc: &FailoverGroup) -> bool {
    match expect {
        Some(e) => expect_failures(Some(e), doc).is_empty(),
        None => converged_on(doc, &doc.spec.writer, doc.metadata.generation.unwrap_or(0)),
    }
}

/// What differs from `expect` (without one: from converged on the spec's writer).
fn expect_failures(expect: Option<&Expect>, doc: &FailoverGroup) -> Vec<String> {
    let status = doc.status.as_ref();
    let observed = status.and_then(|s| s.observed.as_ref());
    let Some(expect) = expect else {
        let generation = doc.metadata.generation.unwrap_or(0);
        return if converged_on(doc, &doc.spec.writer, generation) {
            Vec::new()
        } else {
            vec![format!(
                "not converged on {} (phase {})",
                doc.spec.writer,
                status.map(|s| s.phase.as_str()).unwrap_or("none")
            )]
        };
    };
    let mut out = Vec::new();
    // The state right after an edit is the old one: only a status that has seen the last
    // spec change says anything about it.
    let generation = doc.metadata.generation.unwrap_or(0);
    let seen = status.map(|s| s.observed_generation).unwrap_or(0);
    if seen < generation {
        out.push(format!(
            "the controller has not acted on generation {generation} yet (observed {seen})"
        ));
    }
    if let Some(phase) = expect.phase {
        let got = status.map(|s| s.phase);
        if got != Some(phase) {
            out.push(format!(
                "phase: expected {}, got {}",
                phase.as_str(),
                got.map(|p| p.as_str()).unwrap_or("none")
            ));
        }
    }
    for (field, want, got) in [
        (
            "writer",
            &expect.writer,
            observed.and_then(|o| o.writer.clone()),
        ),
        (
            "dnsOwner",
            &expect.dns_owner,
            observed.and_then(|o| o.dns_owner.clone()),
        ),
    ] {
        if let Some(want) = want {
            if got.as_deref() != Some(want.as_str()) {
                out.push(format!(
                    "{field}: expected {want}, observed {}",
                    got.as_deref().unwrap_or("none")
                ));
            }
        }
    }
    // An operation still running is not an end state, unless it waits for an approval the
    // drill expects it to wait for.
    if let Some(op) = status.and_then(|s| s.operation.as_ref()) {
        let awaiting = op
            .step(StepName::AwaitApproval)
            .is_some_and(|s| !s.state.is_done());
        if !(awaiting && expect.phase == Some(Phase::WaitingForApproval)) {
            out.push(format!(
                "operation {} {} -> {} still running",
                op.type_.as_str(),
                op.from,
                op.to
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use drctl_schema::{OperationState, OperationType, StepRecord, StepState};

    fn served(type_: OperationType, rpo: Option<f64>, served_s: i64) -> Operation {
        Operation {
            id: "op-1".into(),
            type_,
            from: "us-east-1".into(),
            to: "us-west-2".into(),
            started_at: Timestamp::from_millis(0),
            finished_at: Some(Timestamp::from_millis(served_s * 1000)),
            generation: 2,
            state: OperationState::Succeeded,
            steps: vec![StepRecord {
                name: StepName::Verify,
                state: StepState::Succeeded,
                started_at: Some(Timestamp::from_millis(0)),
                finished_at: Some(Timestamp::from_millis(served_s * 1000)),
                detail: None,
            }],
            rpo_seconds: rpo,
            rto_seconds: None,
            notes: Default::default(),
        }
    }

    #[test]
    fn a_drills_rpo_is_unmeasured_when_its_failover_recorded_no_window() {
        let t0 = Timestamp::from_millis(0);
        let unrecorded = [served(OperationType::Failover, None, 200)];
        assert_eq!(figures(t0, &unrecorded, Some(50.0)), (Some(150.0), None));
        let recorded = [served(OperationType::Failover, Some(1.5), 200)];
        assert_eq!(figures(t0, &recorded, Some(50.0)).1, Some(1.5));
        let planned = [served(OperationType::Switchover, None, 90)];
        assert_eq!(figures(t0, &planned, None), (None, Some(0.0)));
        assert_eq!(figures(t0, &[], None), (None, None));
    }
}
