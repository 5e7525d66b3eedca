//! The Drill document (docs/design-contract.md §7.4): its types as written, and their check
//! against the group they rehearse, into a [`DrillPlan`] of faults and actions on the drill's
//! clock. Every problem names its field path (`spec.faults[2].regionOutage.region`).

use std::time::Duration;

use drctl_schema::{FailoverGroup, FieldError, Objectives, Phase, API_VERSION};
use serde::{Deserialize, Serialize};

use super::DrillError;

pub const KIND: &str = "Drill";
/// Largest drill file read: a drill is a page of YAML.
pub const MAX_DRILL_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Drill {
    pub api_version: String,
    pub kind: String,
    pub metadata: DrillMeta,
    pub spec: DrillSpec,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DrillMeta {
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DrillSpec {
    pub group: GroupRef,
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Overrides the group's `spec.objectives`.
    #[serde(default)]
    pub objectives: Option<Objectives>,
    #[serde(default)]
    pub faults: Vec<FaultEntry>,
    #[serde(default)]
    pub actions: Vec<ActionEntry>,
    #[serde(default)]
    pub expect: Option<Expect>,
    /// How long after its last fault or action the drill waits for the end state (default
    /// two hours of virtual time).
    #[serde(default)]
    pub limit: Option<DrillDuration>,
}

fn default_seed() -> u64 {
    1
}

/// `{file: groups/myapp.yaml}` (relative to the drill file) or `{name: myapp-prod}` (the
/// store's).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupRef {
    #[serde(default)]
    pub file: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

/// A duration as drills write it: `90s`, `5m`, `1h`, `1h30m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DrillDuration(pub Duration);

impl<'de> Deserialize<'de> for DrillDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        parse_duration(&text)
            .map(DrillDuration)
            .map_err(serde::de::Error::custom)
    }
}

/// `90s`, `5m`, `1h` or a sum of them (`1h30m`); a number needs its unit.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("bad duration {text:?}: write a number and a unit, e.g. 90s, 5m, 1h");
    let mut total: u64 = 0;
    let mut digits = String::new();
    for ch in text.trim().chars() {
        if ch.is_ascii_digit() {
            digits.push(ch);
            continue;
        }
        let unit = match ch {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => return Err(bad()),
        };
        let n: u64 = digits.parse().map_err(|_| bad())?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
        digits.clear();
    }
    if !digits.is_empty() || text.trim().is_empty() {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

/// One fault: when, for how long, and exactly one kind.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultEntry {
    pub at: DrillDuration,
    #[serde(default, rename = "for")]
    pub for_: Option<DrillDuration>,
    #[serde(default)]
    pub region_outage: Option<RegionOutage>,
    #[serde(default)]
    pub region_recover: Option<RegionRecover>,
    #[serde(default)]
    pub throttle: Option<ServiceProbability>,
    #[serde(default)]
    pub server_error: Option<ServiceProbability>,
    #[serde(default)]
    pub lost_response: Option<LostResponse>,
    #[serde(default)]
    pub slow_operations: Option<SlowOperations>,
    #[serde(default)]
    pub replication_lag: Option<ReplicationLag>,
    #[serde(default)]
    pub controller_crash: Option<Empty>,
    #[serde(default)]
    pub paused_leader: Option<Empty>,
    #[serde(default)]
    pub store_unavailable: Option<Empty>,
    #[serde(default)]
    pub witness_stuck: Option<WitnessStuck>,
    #[serde(default)]
    pub controller_partition: Option<ControllerPartition>,
}

/// The fault kinds a drill knows, as written.
pub const FAULT_KINDS: [&str; 12] = [
    "regionOutage",
    "regionRecover",
    "throttle",
    "serverError",
    "lostResponse",
    "slowOperations",
    "replicationLag",
    "controllerCrash",
    "pausedLeader",
    "storeUnavailable",
    "witnessStuck",
    "controllerPartition",
];

/// The action kinds a drill knows, as written.
pub const ACTION_KINDS: [&str; 4] = ["failover", "approve", "suspend", "resume"];

/// A kind that takes no parameters: `{}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutageScope {
    /// RDS, ECS and the load balancer; the Route 53 control plane stays up.
    #[default]
    RegionalServices,
    /// Everything in the region (for us-east-1, the Route 53 control plane too).
    Full,
}

impl OutageScope {
    pub fn as_str(self) -> &'static str {
        match self {
            OutageScope::RegionalServices => "regional-services",
            OutageScope::Full => "full",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rejoin {
    /// Aurora re-adds the old primary as a secondary by itself.
    #[default]
    Automatic,
    /// The old primary comes back detached, standalone and writable.
    Stale,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegionOutage {
    pub region: String,
    #[serde(default)]
    pub scope: OutageScope,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegionRecover {
    pub region: String,
    #[serde(default)]
    pub rejoin: Rejoin,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceProbability {
    pub service: String,
    pub probability: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LostResponse {
    pub service: String,
    pub operation: String,
    #[serde(default = "one")]
    pub times: u32,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SlowOperations {
    pub probability: f64,
    #[serde(default = "default_slow_factor")]
    pub factor: u32,
}

fn default_slow_factor() -> u32 {
    3
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReplicationLag {
    pub region: String,
    pub seconds: f64,
}

/// A witness of spec.autoFailover that lies: CloudWatch alarm `alarm` in `region` stuck in
/// `state` whatever the region it watches does (honest again at the fault's end).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WitnessStuck {
    pub region: String,
    pub alarm: String,
    pub state: WitnessState,
}

/// An alarm state as CloudWatch writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WitnessState {
    Ok,
    Alarm,
    InsufficientData,
}

impl WitnessState {
    pub fn alarm_state(self) -> drctl_cloud::AlarmState {
        match self {
            WitnessState::Ok => drctl_cloud::AlarmState::Ok,
            WitnessState::Alarm => drctl_cloud::AlarmState::Alarm,
            WitnessState::InsufficientData => drctl_cloud::AlarmState::InsufficientData,
        }
    }
}

/// The controller's own link to `region` cut: its calls there time out as in an outage,
/// while the application and the witnesses keep being served.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ControllerPartition {
    pub region: String,
}

/// One operator action at a time.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActionEntry {
    pub at: DrillDuration,
    #[serde(default)]
    pub failover: Option<FailoverAction>,
    #[serde(default)]
    pub approve: Option<Empty>,
    #[serde(default)]
    pub suspend: Option<Empty>,
    #[serde(default)]
    pub resume: Option<Empty>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FailoverAction {
    pub to: String,
    #[serde(default)]
    pub allow_data_loss: bool,
}

/// The end state the drill expects. Absent: converged on the writer the spec names last.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Expect {
    #[serde(default)]
    pub phase: Option<Phase>,
    #[serde(default)]
    pub writer: Option<String>,
    #[serde(default)]
    pub dns_owner: Option<String>,
}

/// A fault on the drill's clock (from the group's first convergence).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Fault {
    RegionOutage(RegionOutage),
    RegionRecover(RegionRecover),
    Throttle(ServiceProbability),
    ServerError(ServiceProbability),
    LostResponse(LostResponse),
    SlowOperations(SlowOperations),
    ReplicationLag(ReplicationLag),
    ControllerCrash,
    PausedLeader,
    StoreUnavailable,
    WitnessStuck(WitnessStuck),
    ControllerPartition(ControllerPartition),
}

impl Rejoin {
    pub fn as_str(self) -> &'static str {
        match self {
            Rejoin::Automatic => "automatic",
            Rejoin::Stale => "stale",
        }
    }
}

impl Fault {
    /// A one-off event (a recovery, lost responses): nothing to undo at a `for:` end.
    pub fn is_one_off(&self) -> bool {
        matches!(self.takes_for(), ForRule::Refused)
    }

    /// Whether the fault has an end (`for:`) to undo, as opposed to a one-off event.
    fn takes_for(&self) -> ForRule {
        match self {
            Fault::RegionRecover(_) | Fault::LostResponse(_) => ForRule::Refused,
            Fault::PausedLeader | Fault::StoreUnavailable => ForRule::Required,
            _ => ForRule::Optional,
        }
    }
}

enum ForRule {
    Refused,
    Optional,
    Required,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimedFault {
    #[serde(serialize_with = "seconds")]
    pub at: Duration,
    /// How long it lasts (None: to the end of the drill, or a one-off event).
    #[serde(rename = "for", serialize_with = "opt_seconds")]
    pub for_: Option<Duration>,
    pub fault: Fault,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Action {
    Failover(FailoverAction),
    Approve,
    Suspend,
    Resume,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimedAction {
    #[serde(serialize_with = "seconds")]
    pub at: Duration,
    pub action: Action,
}

fn seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

fn opt_seconds<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_f64(d.as_secs_f64()),
        None => s.serialize_none(),
    }
}

/// A checked drill: everything the runner needs, in time order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DrillPlan {
    pub name: String,
    pub seed: u64,
    pub objectives: Option<Objectives>,
    pub faults: Vec<TimedFault>,
    pub actions: Vec<TimedAction>,
    pub expect: Option<Expect>,
    #[serde(serialize_with = "seconds")]
    pub limit: Duration,
    /// Simulated timings other than the sim's defaults (the campaign compresses them).
    #[serde(skip)]
    pub timings: Option<drctl_sim::SimTimings>,
}

/// Default wait for the end state after the last fault or action.
pub const DEFAULT_LIMIT: Duration = Duration::from_secs(2 * 3600);

/// Parse a drill file's text (`source` names it in errors). Unknown fields, an unknown fault
/// or action kind and a bad duration are refused with their field path.
pub fn parse(text: &str, source: &str) -> Result<Drill, DrillError> {
    if text.len() > MAX_DRILL_BYTES {
        return Err(DrillError::Invalid {
            source_name: source.to_string(),
            problems: vec![FieldError::new(
                "",
                format!("the drill is larger than {MAX_DRILL_BYTES} bytes"),
            )],
        });
    }
    let de = serde_norway::Deserializer::from_str(text);
    serde_path_to_error::deserialize::<_, Drill>(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.inner().to_string();
        // The YAML error may lead with a path of its own ("spec.faults[0]: unknown field"):
        // the full path is given once, in front.
        let message = match inner.split_once(": ") {
            Some((lead, rest)) if !lead.contains(' ') => rest.to_string(),
            _ => inner,
        };
        let message = explain_unknown(&path, &message);
        DrillError::Invalid {
            source_name: source.to_string(),
            problems: vec![FieldError::new(
                if path == "." { "" } else { &path },
                message,
            )],
        }
    })
}

/// serde's "unknown field" inside a fault or action list names what it is: a kind.
fn explain_unknown(path: &str, message: &str) -> String {
    let is_entry = |list: &str| {
        path.strip_prefix(list)
            .is_some_and(|rest| rest.starts_with('[') && rest.matches('.').count() == 1)
    };
    if message.starts_with("unknown field") {
        if is_entry("spec.faults") {
            return format!(
                "unknown fault kind ({message}); known: {}",
                FAULT_KINDS.join(", ")
            );
        }
        if is_entry("spec.actions") {
            return format!(
                "unknown action kind ({message}); known: {}",
                ACTION_KINDS.join(", ")
            );
        }
    }
    message.to_string()
}

/// Check `drill` against the group it rehearses (regions, services) and order it in time.
pub fn check(drill: &Drill, group: &FailoverGroup, source: &str) -> Result<DrillPlan, DrillError> {
    let mut problems = Vec::new();
    if drill.api_version != API_VERSION {
        problems.push(FieldError::new(
            "apiVersion",
            format!("{:?}: expected {API_VERSION}", drill.api_version),
        ));
    }
    if drill.kind != KIND {
        problems.push(FieldError::new(
            "kind",
            format!("{:?}: expected {KIND}", drill.kind),
        ));
    }
    if let Err(why) = drctl_schema::validate::dns1123_label(&drill.metadata.name) {
        problems.push(FieldError::new(
            "metadata.name",
            format!("{:?} {why}", drill.metadata.name),
        ));
    }
    if let Some(o) = &drill.spec.objectives {
        if let Err(errs) = drctl_schema::validate_objectives("spec.objectives", o) {
            problems.extend(errs.0);
        }
    }
    let regions = &group.spec.regions;
    let region_check = |problems: &mut Vec<FieldError>, path: String, region: &str| {
        if !regions.iter().any(|r| r == region) {
            problems.push(FieldError::new(
                path,
                format!(
                    "unknown region {region:?}: the group's regions are [{}]",
                    regions.join(", ")
                ),
            ));
        }
    };
    let mut faults = Vec::new();
    for (i, entry) in drill.spec.faults.iter().enumerate() {
        let path = format!("spec.faults[{i}]");
        if let Some(fault) = fault_of(entry, &path, &mut problems, &region_check) {
            check_for(&fault, entry, &path, &mut problems);
            if let Fault::WitnessStuck(w) = &fault {
                check_witness(
                    group,
                    w,
                    &format!("{path}.witnessStuck.alarm"),
                    &mut problems,
                );
            }
            faults.push(TimedFault {
                at: entry.at.0,
                for_: entry.for_.map(|d| d.0),
                fault,
            });
        }
    }
    let mut actions = Vec::new();
    for (i, entry) in drill.spec.actions.iter().enumerate() {
        let path = format!("spec.actions[{i}]");
        if let Some(action) = action_of(entry, &path, &mut problems, &region_check) {
            actions.push(TimedAction {
                at: entry.at.0,
                action,
            });
        }
    }
    if let Some(expect) = &drill.spec.expect {
        for (field, region) in [("writer", &expect.writer), ("dnsOwner", &expect.dns_owner)] {
            if let Some(region) = region {
                region_check(&mut problems, format!("spec.expect.{field}"), region);
            }
        }
    }
    if !problems.is_empty() {
        return Err(DrillError::Invalid {
            source_name: source.to_string(),
            problems,
        });
    }
    // Stable: entries at the same time keep the order they were written in.
    faults.sort_by_key(|f| f.at);
    actions.sort_by_key(|a| a.at);
    Ok(DrillPlan {
        name: drill.metadata.name.clone(),
        seed: drill.spec.seed,
        objectives: drill.spec.objectives.or(group.spec.objectives),
        faults,
        actions,
        expect: drill.spec.expect.clone(),
        limit: drill.spec.limit.map(|d| d.0).unwrap_or(DEFAULT_LIMIT),
        timings: None,
    })
}

type RegionCheck<'a> = dyn Fn(&mut Vec<FieldError>, String, &str) + 'a;

/// The one fault kind of an entry, checked.
fn fault_of(
    entry: &FaultEntry,
    path: &str,
    problems: &mut Vec<FieldError>,
    region_check: &RegionCheck<'_>,
) -> Option<Fault> {
    let mut kinds = Vec::new();
    if let Some(o) = &entry.region_outage {
        region_check(problems, format!("{path}.regionOutage.region"), &o.region);
        kinds.push(Fault::RegionOutage(o.clone()));
    }
    if let Some(r) = &entry.region_recover {
        region_check(problems, format!("{path}.regionRecover.region"), &r.region);
        kinds.push(Fault::RegionRecover(r.clone()));
    }
    for (name, value, make) in [
        (
            "throttle",
            &entry.throttle,
            Fault::Throttle as fn(ServiceProbability) -> Fault,
        ),
        ("serverError", &entry.server_error, Fault::ServerError),
    ] {
        if let Some(p) = value {
            check_service(problems, &format!("{path}.{name}.service"), &p.service);
            check_probability(
                problems,
                &format!("{path}.{name}.probability"),
                p.probability,
            );
            kinds.push(make(p.clone()));
        }
    }
    if let Some(l) = &entry.lost_response {
        check_service(
            problems,
            &format!("{path}.lostResponse.service"),
            &l.service,
        );
        if l.operation.trim().is_empty() {
            problems.push(FieldError::new(
                format!("{path}.lostResponse.operation"),
                "name the AWS operation, e.g. FailoverGlobalCluster",
            ));
        }
        if l.times == 0 {
            problems.push(FieldError::new(
                format!("{path}.lostResponse.times"),
                "must be at least 1",
            ));
        }
        kinds.push(Fault::LostResponse(l.clone()));
    }
    if let Some(s) = &entry.slow_operations {
        check_probability(
            problems,
            &format!("{path}.slowOperations.probability"),
            s.probability,
        );
        if !(2..=100).contains(&s.factor) {
            problems.push(FieldError::new(
                format!("{path}.slowOperations.factor"),
                format!("{} is out of range: between 2 and 100", s.factor),
            ));
        }
        kinds.push(Fault::SlowOperations(s.clone()));
    }
    if let Some(r) = &entry.replication_lag {
        region_check(problems, format!("{path}.replicationLag.region"), &r.region);
        if !(r.seconds.is_finite() && (0.0..=86_400.0).contains(&r.seconds)) {
            problems.push(FieldError::new(
                format!("{path}.replicationLag.seconds"),
                format!("{} is out of range: between 0 and 86400", r.seconds),
            ));
        }
        kinds.push(Fault::ReplicationLag(r.clone()));
    }
    if entry.controller_crash.is_some() {
        kinds.push(Fault::ControllerCrash);
    }
    if entry.paused_leader.is_some() {
        kinds.push(Fault::PausedLeader);
    }
    if entry.store_unavailable.is_some() {
        kinds.push(Fault::StoreUnavailable);
    }
    if let Some(w) = &entry.witness_stuck {
        region_check(problems, format!("{path}.witnessStuck.region"), &w.region);
        kinds.push(Fault::WitnessStuck(w.clone()));
    }
    if let Some(c) = &entry.controller_partition {
        let field = format!("{path}.controllerPartition.region");
        region_check(problems, field, &c.region);
        kinds.push(Fault::ControllerPartition(c.clone()));
    }
    one_kind(kinds, path, "fault", &FAULT_KINDS, problems)
}

/// A stuck witness must be one the group's spec.autoFailover reads: any other alarm would
/// change nothing, and is most likely a typo.
fn check_witness(
    group: &FailoverGroup,
    witness: &WitnessStuck,
    path: &str,
    problems: &mut Vec<FieldError>,
) {
    let alarms = group
        .spec
        .auto_failover
        .as_ref()
        .map(|p| p.witnesses.alarms.as_slice())
        .unwrap_or_default();
    if alarms
        .iter()
        .any(|a| a.region == witness.region && a.name == witness.alarm)
    {
        return;
    }
    let known: Vec<String> = alarms
        .iter()
        .map(|a| format!("{}/{}", a.region, a.name))
        .collect();
    problems.push(FieldError::new(
        path,
        format!(
            "{}/{} is not a witness of the group's spec.autoFailover (witnesses: [{}])",
            witness.region,
            witness.alarm,
            known.join(", ")
        ),
    ));
}

fn check_for(fault: &Fault, entry: &FaultEntry, path: &str, problems: &mut Vec<FieldError>) {
    match (fault.takes_for(), entry.for_) {
        (ForRule::Refused, Some(_)) => problems.push(FieldError::new(
            format!("{path}.for"),
            "this fault is a one-off event and has no duration",
        )),
        (ForRule::Required, None) => problems.push(FieldError::new(
            format!("{path}.for"),
            "required: how long it lasts (e.g. 90s); without an end the drill could not finish",
        )),
        _ => {}
    }
}

fn action_of(
    entry: &ActionEntry,
    path: &str,
    problems: &mut Vec<FieldError>,
    region_check: &RegionCheck<'_>,
) -> Option<Action> {
    let mut kinds = Vec::new();
    if let Some(f) = &entry.failover {
        region_check(problems, format!("{path}.failover.to"), &f.to);
        kinds.push(Action::Failover(f.clone()));
    }
    if entry.approve.is_some() {
        kinds.push(Action::Approve);
    }
    if entry.suspend.is_some() {
        kinds.push(Action::Suspend);
    }
    if entry.resume.is_some() {
        kinds.push(Action::Resume);
    }
    one_kind(kinds, path, "action", &ACTION_KINDS, problems)
}

fn one_kind<T>(
    mut kinds: Vec<T>,
    path: &str,
    what: &str,
    known: &[&str],
    problems: &mut Vec<FieldError>,
) -> Option<T> {
    if kinds.len() == 1 {
        return kinds.pop();
    }
    problems.push(FieldError::new(
        path,
        format!(
            "give exactly one {what} kind (found {}): {}",
            kinds.len(),
            known.join(", ")
        ),
    ));
    None
}

/// The services a drill can fault, as the sim's call record names them.
pub const SERVICES: [&str; 6] = [
    "rds",
    "route53",
    "ecs",
    "application-autoscaling",
    "cloudwatch",
    "http",
];

/// The port service a drill's service name stands for.
pub fn service_of(name: &str) -> Option<drctl_cloud::Service> {
    use drctl_cloud::Service;
    [
        Service::Rds,
        Service::Route53,
        Service::Ecs,
        Service::AutoScaling,
        Service::CloudWatch,
        Service::Http,
    ]
    .into_iter()
    .find(|s| s.as_str() == name)
}

fn check_service(problems: &mut Vec<FieldError>, path: &str, service: &str) {
    if service_of(service).is_none() {
        problems.push(FieldError::new(
            path,
            format!(
                "unknown service {service:?}; known: {}",
                SERVICES.join(", ")
            ),
        ));
    }
}

fn check_probability(problems: &mut Vec<FieldError>, path: &str, p: f64) {
    if !(p.is_finite() && (0.0..=1.0).contains(&p)) {
        problems.push(FieldError::new(
            path,
            format!("{p} is not a probability (0 to 1)"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_seconds_minutes_hours_and_sums_of_them() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        for bad in [
            "90",
            "",
            "s",
            "5 min",
            "1.5h",
            "-5s",
            "99999999999999999999h",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn services_known_to_a_drill_are_the_ports_services() {
        for name in SERVICES {
            assert_eq!(service_of(name).map(|s| s.as_str()), Some(name));
        }
        assert!(service_of("dynamodb").is_none());
    }
}
