//! The observed world: what one pass of observation learned about the cloud, in the terms the
//! planner reasons with. Built by `observe`, read by `planner`. Plain data, no IO.

use std::collections::BTreeMap;

use drctl_cloud::{
    ClusterEndpoint, ClusterSnapshot, DbCluster, DbInstance, DnsRecord, EcsService, GlobalCluster,
    RoutingControlState,
};
use drctl_schema::{DnsRouting, DnsTarget, FailoverGroupSpec, RecordType, Timestamp};

/// Something we tried to read: known, or not reachable (with the error, for messages).
#[derive(Debug, Clone, PartialEq)]
pub enum Seen<T> {
    Known(T),
    Unreachable(String),
}

impl<T> Seen<T> {
    pub fn known(&self) -> Option<&T> {
        match self {
            Seen::Known(v) => Some(v),
            Seen::Unreachable(_) => None,
        }
    }
}

/// What GetChange says about a Route 53 change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsChangeStatus {
    Pending,
    InSync,
    /// Route 53 has no change with this id (`NoSuchChange`): after a restart the id kept in
    /// the status may be one this Route 53 never issued or no longer keeps. Nothing is known
    /// about the change then; the record itself has to be read.
    NoSuchChange,
}

impl From<drctl_cloud::ChangeStatus> for DnsChangeStatus {
    fn from(status: drctl_cloud::ChangeStatus) -> Self {
        match status {
            drctl_cloud::ChangeStatus::Pending => DnsChangeStatus::Pending,
            drctl_cloud::ChangeStatus::InSync => DnsChangeStatus::InSync,
        }
    }
}

/// The Route 53 error code for a change id it does not know.
pub const NO_SUCH_CHANGE: &str = "NoSuchChange";

/// A member cluster's place in the global database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    Writer,
    /// A secondary; `synced` is SynchronizationStatus == connected.
    Secondary {
        synced: bool,
    },
    /// Exists but is not a member of the global cluster (detached / standalone: stale).
    Detached,
    /// Does not exist in its region.
    Missing,
    /// Its region did not answer and the global cluster does not list it either.
    Unknown,
}

impl Membership {
    pub fn as_str(self) -> &'static str {
        match self {
            Membership::Writer => "writer",
            Membership::Secondary { .. } => "reader",
            Membership::Detached => "detached",
            Membership::Missing => "missing",
            Membership::Unknown => "unreachable",
        }
    }
}

/// Whether a region's RDS endpoint answered in this pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reachability {
    /// It answered; a refusal counts, since any answer proves the endpoint is up.
    Answered,
    /// It did not answer (a timeout, a connection error, a retryable error).
    Unreachable,
    /// Not asked in this pass.
    #[default]
    NotAsked,
}

impl Reachability {
    pub fn answered(self) -> bool {
        self == Reachability::Answered
    }

    pub fn is_unreachable(self) -> bool {
        self == Reachability::Unreachable
    }
}

/// What we know about one region of the group.
#[derive(Debug, Clone, PartialEq)]
pub struct RegionView {
    pub region: String,
    /// Did the region's RDS endpoint answer in this pass?
    pub reachable: Reachability,
    /// The spec'd cluster, when the region answered and it exists.
    pub cluster: Option<DbCluster>,
    pub membership: Membership,
    /// Instances of the cluster (read only when a step needs them).
    pub instances: Option<Vec<DbInstance>>,
    /// Snapshots of the cluster (read only when a step needs them).
    pub snapshots: Option<Vec<ClusterSnapshot>>,
}

/// One ECS service in one region with its scalable target.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceView {
    pub name: String,
    pub region: String,
    pub ecs: Seen<Option<EcsService>>,
    /// (min, max) of the scalable target; None when it does not exist. Not read on light passes.
    pub scalable: Option<Seen<Option<(u32, u32)>>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObservedWorld {
    pub at: Timestamp,
    pub global: Seen<Option<GlobalCluster>>,
    pub regions: BTreeMap<String, RegionView>,
    pub record: Seen<Option<DnsRecord>>,
    /// What GetChange said about the Route 53 change the current operation is waiting for.
    pub dns_change: Option<Seen<DnsChangeStatus>>,
    pub services: Vec<ServiceView>,
    /// Replication lag of the secondary, seconds (None: unknown).
    pub lag_seconds: Option<f64>,
    /// Result of the Verify probe when the current step asked for one.
    pub health: Option<Seen<u16>>,
    /// Whether this observation read everything (true) or only the cheap parts.
    pub full: bool,
    /// The witness alarms of spec.autoFailover, read only while the writer's region looks
    /// impaired (empty otherwise).
    pub witnesses: Vec<crate::planner::auto_failover::WitnessReading>,
    /// When a light observation of this pass first saw something off (this full one was
    /// redone because of it): the first failed probe, for the automatic-failover count.
    pub suspect_since: Option<Timestamp>,
    /// `spec.dns.routing: routingControl`: the routing controls, read on ARC's data plane.
    pub routing: Option<RoutingView>,
    /// `spec.database.kind: rdsReplica`: the DB instance pair (None for Aurora groups).
    pub instances: Option<InstancePairView>,
    /// spec.dependencies as last read (this pass's, else the cached reading); None without
    /// them or before the first reading.
    pub dependencies: Option<crate::dependencies::DependenciesView>,
    /// `spec.dns.routing: healthCheck`: which failover record Route 53 answers with.
    pub health_checks: Option<HealthCheckView>,
    /// The standby region's orderable class and DB-instance quota, as last read between
    /// operations (crate::continuous::capacity); None before the first reading.
    pub capacity: Option<crate::continuous::capacity::CapacityView>,
}

/// What one pass knows of an rdsReplica group's DB instances. `regions` carries each
/// region's membership derived from it (see `planner::steps::rds_replica::memberships`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InstancePairView {
    /// Each region's spec'd instance (DescribeDBInstances), or why it could not be read.
    pub instances: BTreeMap<String, Seen<Option<drctl_cloud::RdsInstance>>>,
    /// Manual snapshots of each region's instance, read while an operation runs.
    pub snapshots: BTreeMap<String, Vec<drctl_cloud::DbSnapshot>>,
}

impl InstancePairView {
    /// The instance in `region`, when read and present.
    pub fn instance(&self, region: &str) -> Option<&drctl_cloud::RdsInstance> {
        self.instances.get(region)?.known()?.as_ref()
    }
}

/// What one pass knows of a healthCheck group's failover records.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthCheckView {
    /// The region Route 53 answers with (None: none of the spec's targets).
    pub live: Option<String>,
    /// Route 53's verdict on each region's record.
    pub healthy: BTreeMap<String, bool>,
    /// When the health checks answered: this pass, or (stale) an earlier one.
    pub checked_at: Timestamp,
    /// Why this pass could not read them (the answer above is the last known): the Route
    /// 53 control plane, in us-east-1, did not answer.
    pub stale: Option<String>,
    /// What is wrong with the setup.
    pub setup_problems: Vec<String>,
}

/// What one pass knows of a routingControl group's ARC side.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutingView {
    /// Each region's control state (GetRoutingControlState), or why none could be read.
    pub states: Seen<BTreeMap<String, RoutingControlState>>,
    /// The cluster's endpoints to send to, in the order to try them: the one that answered
    /// this pass first, endpoints in regions known dark last.
    pub endpoints: Vec<ClusterEndpoint>,
    /// A check of the setup made in this pass on the control planes (None: not due, or
    /// they did not answer; the status keeps the last one).
    pub refreshed: Option<RoutingSetupCheck>,
    /// The last setup check known (this pass's, else the status's): its problems, if any.
    pub setup_problems: Option<Vec<String>>,
}

/// What the control planes said about the setup: DescribeCluster's endpoints and the
/// problems found in the failover records and their health checks.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutingSetupCheck {
    pub at: Timestamp,
    /// None: DescribeCluster did not answer (the cached endpoints stay).
    pub endpoints: Option<Vec<ClusterEndpoint>>,
    /// None: Route 53's control plane did not answer.
    pub problems: Option<Vec<String>>,
}

/// Why drctl never moves a `routing: healthCheck` group's DNS: its records are a failover
/// pair Route 53 switches by itself on its health checks, and an UPSERT of a simple record
/// over them would be refused, or worse, fight them.
pub const HEALTH_CHECK_ROUTES_ITSELF: &str = "spec.dns.routing is healthCheck: Route 53 moves traffic itself when a record's health check fails; drctl does not move DNS";

/// Where DNS sends traffic, as far as this pass could read it, in any routing mode.
#[derive(Debug, Clone, PartialEq)]
pub enum DnsReading {
    /// The region the record (or the routing control that is On) points at; None: none of
    /// the spec's targets.
    Known(Option<String>),
    Unreachable(String),
}

impl ObservedWorld {
    /// The region whose cluster is the global writer, if known.
    pub fn writer_region(&self) -> Option<&str> {
        self.regions
            .values()
            .find(|r| r.membership == Membership::Writer)
            .map(|r| r.region.as_str())
    }

    pub fn region(&self, region: &str) -> Option<&RegionView> {
        self.regions.get(region)
    }

    /// Did `region`'s RDS endpoint answer in this pass?
    pub fn answers(&self, region: &str) -> bool {
        self.region(region).is_some_and(|r| r.reachable.answered())
    }

    /// The region the DNS record points at, by matching the record against the spec targets
    /// (routingControl: the region whose control alone is On).
    pub fn dns_owner(&self, spec: &FailoverGroupSpec) -> Option<String> {
        match self.dns_reading(spec) {
            DnsReading::Known(owner) => owner,
            DnsReading::Unreachable(_) => None,
        }
    }

    /// Where DNS points, in the group's routing mode, or why that is unknown.
    pub fn dns_reading(&self, spec: &FailoverGroupSpec) -> DnsReading {
        if spec.dns.routing == DnsRouting::HealthCheck {
            return match &self.health_checks {
                Some(view) if view.stale.is_none() && view.setup_problems.is_empty() => {
                    DnsReading::Known(view.live.clone())
                }
                Some(view) if !view.setup_problems.is_empty() => DnsReading::Unreachable(format!(
                    "the failover records are not set up for health checks: {}",
                    view.setup_problems.join("; ")
                )),
                Some(view) => DnsReading::Unreachable(format!(
                    "{}; last known: Route 53 answered with {} at {} (stale)",
                    view.stale.as_deref().unwrap_or("not read"),
                    view.live.as_deref().unwrap_or("no spec target"),
                    view.checked_at
                )),
                None => DnsReading::Unreachable(
                    "the health checks of the failover records have not been read".to_string(),
                ),
            };
        }
        if spec.dns.routing == DnsRouting::RoutingControl {
            return match self.routing.as_ref().map(|r| &r.states) {
                Some(Seen::Known(states)) => DnsReading::Known(routing_owner(states)),
                Some(Seen::Unreachable(e)) => DnsReading::Unreachable(e.clone()),
                None => DnsReading::Unreachable("routing controls not read".to_string()),
            };
        }
        match &self.record {
            Seen::Known(_) => DnsReading::Known(self.record_owner(spec)),
            Seen::Unreachable(e) => {
                DnsReading::Unreachable(format!("Route 53 control plane unavailable: {e}"))
            }
        }
    }

    fn record_owner(&self, spec: &FailoverGroupSpec) -> Option<String> {
        let record = self.record.known()?.as_ref()?;
        spec.dns
            .targets
            .iter()
            .find(|(_, target)| record_points_at(record, spec.dns.record_type, target))
            .map(|(region, _)| region.clone())
    }

    pub fn service(&self, name: &str, region: &str) -> Option<&ServiceView> {
        self.services
            .iter()
            .find(|s| s.name == name && s.region == region)
    }

    /// What this observation could not read, one line each ("the global cluster: rds
    /// DescribeGlobalClusters: ..."). Empty when everything asked for answered.
    pub fn unobserved(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Seen::Unreachable(why) = &self.global {
            out.push(format!("the global cluster: {why}"));
        }
        for region in self.regions.values() {
            if region.reachable.is_unreachable() {
                out.push(format!("the database in {}: no answer", region.region));
            }
        }
        if let Seen::Unreachable(why) = &self.record {
            out.push(format!("the DNS record: {why}"));
        }
        if let Some(Seen::Unreachable(why)) = &self.dns_change {
            out.push(format!("the Route 53 change: {why}"));
        }
        for service in &self.services {
            if let Seen::Unreachable(why) = &service.ecs {
                out.push(format!(
                    "ECS service {} in {}: {why}",
                    service.name, service.region
                ));
            }
            if let Some(Seen::Unreachable(why)) = &service.scalable {
                out.push(format!(
                    "the scalable target of {} in {}: {why}",
                    service.name, service.region
                ));
            }
        }
        if let Some(Seen::Unreachable(why)) = &self.health {
            out.push(format!("the Verify probe: {why}"));
        }
        if let Some(Seen::Unreachable(why)) = self.routing.as_ref().map(|r| &r.states) {
            out.push(format!("the routing controls: {why}"));
        }
        out
    }

    pub fn failover_in_flight(&self) -> Option<&drctl_cloud::FailoverState> {
        self.global.known()?.as_ref()?.failover_state.as_ref()
    }
}

/// The region whose routing control is the only one On (None: none or several).
pub fn routing_owner(states: &BTreeMap<String, RoutingControlState>) -> Option<String> {
    let mut on = states
        .iter()
        .filter(|(_, s)| **s == RoutingControlState::On)
        .map(|(r, _)| r.clone());
    match (on.next(), on.next()) {
        (Some(region), None) => Some(region),
        _ => None,
    }
}

/// Does `record` send traffic to `target`? Route 53 returns names fully qualified and
/// lower-cased with a trailing dot; the spec may omit the dot or use another case.
pub fn record_points_at(record: &DnsRecord, record_type: RecordType, target: &DnsTarget) -> bool {
    match record_type {
        RecordType::A => match (&record.alias, &target.alias_dns_name) {
            (Some(alias), Some(name)) => same_dns_name(&alias.dns_name, name),
            _ => false,
        },
        RecordType::Cname => match &target.value {
            Some(value) => record.values.iter().any(|v| same_dns_name(v, value)),
            None => false,
        },
    }
}

pub fn same_dns_name(a: &str, b: &str) -> bool {
    a.trim_end_matches('.')
        .eq_ignore_ascii_case(b.trim_end_matches('.'))
}

pub use drctl_cloud::dns_name::fqdn;

/// The record drctl wants when `region` owns DNS.
pub fn desired_record(spec: &FailoverGroupSpec, region: &str) -> Option<DnsRecord> {
    drctl_cloud::dns_name::desired_record(spec, spec.dns.targets.get(region)?)
}
