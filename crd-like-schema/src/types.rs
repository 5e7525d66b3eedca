//! The FailoverGroup document (docs/design-contract.md §1, a contract: field names are exact).
//!
//! Every struct rejects unknown fields, so a typo such as `dnsOwnr` is an error naming the
//! field instead of a silently ignored key. Defaults live here, in one place, and are applied
//! by serde at parse time; `FailoverGroupSpec::dns_owner()` resolves the one default that
//! depends on another field.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

pub const API_VERSION: &str = "drctl.io/v1alpha1";
pub const KIND: &str = "FailoverGroup";

/// An AWS region name such as `us-east-1`. Kept as a string so that the document round-trips
/// exactly; syntax is checked by validation, which can then name the field.
pub type Region = String;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FailoverGroup {
    /// Must be `drctl.io/v1alpha1`.
    pub api_version: String,
    /// Must be `FailoverGroup`.
    pub kind: String,
    pub metadata: ObjectMeta,
    pub spec: FailoverGroupSpec,
    /// Written only by the controller; ignored (and not stored) when a user applies a document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<FailoverGroupStatus>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObjectMeta {
    /// DNS-1123 label, unique per store.
    pub name: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Set by the store. Optional on apply; when given on an update it must match the stored
    /// one (optimistic concurrency).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
    /// Set by the store; bumped on every spec change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FailoverGroupSpec {
    /// Exactly two distinct regions (active/passive).
    pub regions: Vec<Region>,
    /// Desired Aurora writer region; must be in `regions`.
    pub writer: Region,
    /// Region that owns the DNS record; defaults to `writer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_owner: Option<Region>,
    /// May drctl use FailoverGlobalCluster(AllowDataLoss=true)?
    #[serde(default)]
    pub allow_data_loss: bool,
    /// RPO gate for switchover and for the failback sync, in seconds.
    #[serde(default = "default_max_lag_seconds")]
    pub max_lag_seconds: u32,
    /// true: observe and report only, never mutate.
    #[serde(default)]
    pub suspended: bool,
    pub database: DatabaseSpec,
    pub dns: DnsSpec,
    #[serde(default)]
    pub compute: ComputeSpec,
    #[serde(default)]
    pub failback: FailbackSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<VerifySpec>,
    /// Recovery objectives every operation is judged against (status, describe, an event and
    /// a metric on a miss). Absent: operations are measured, not judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objectives: Option<Objectives>,
    /// Opt-in automatic failover (docs/design-contract.md §7.3). Absent: every failover is an
    /// operator's decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_failover: Option<AutoFailoverSpec>,
    /// S3 replication and DynamoDB global tables the application relies on
    /// (docs/design-contract.md §7.5): observed and reported, never changed by drctl.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dependencies: Option<DependenciesSpec>,
}

/// Recovery time and recovery point objectives (docs/design-contract.md §7.4).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Objectives {
    /// Longest acceptable time from the start of an operation until the new region serves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rto_seconds: Option<u32>,
    /// Largest acceptable data-loss window (the replication lag at a failover's cut).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpo_seconds: Option<u32>,
}

/// Longest recovery time objective accepted: a week.
pub const MAX_RTO_OBJECTIVE_SECONDS: u32 = 7 * 24 * 3600;
/// Largest recovery point objective accepted: a day.
pub const MAX_RPO_OBJECTIVE_SECONDS: u32 = 24 * 3600;

pub const DEFAULT_MAX_LAG_SECONDS: u32 = 5;

fn default_max_lag_seconds() -> u32 {
    DEFAULT_MAX_LAG_SECONDS
}

impl FailoverGroupSpec {
    /// The effective DNS owner: `dnsOwner` when set, else `writer`.
    pub fn dns_owner(&self) -> &str {
        self.dns_owner.as_deref().unwrap_or(&self.writer)
    }

    /// The region of the pair that is not `region` (active/passive has exactly two).
    pub fn other_region(&self, region: &str) -> Option<&str> {
        self.regions
            .iter()
            .find(|r| r.as_str() != region)
            .map(String::as_str)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DatabaseSpec {
    /// `auroraGlobal` (the default: an Aurora Global Database) or `rdsReplica` (a primary DB
    /// instance and its cross-region read replica, docs/design-contract.md §7.5). Left out of
    /// the serialized document when it is the default, so that today's documents round-trip
    /// byte for byte.
    #[serde(default, skip_serializing_if = "DatabaseKind::is_aurora_global")]
    pub kind: DatabaseKind,
    /// auroraGlobal only (required there, refused with rdsReplica). Empty when absent.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub global_cluster_identifier: String,
    /// auroraGlobal only: one entry per region; also the template used to recreate a stale
    /// member.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub clusters: BTreeMap<Region, ClusterTemplate>,
    /// rdsReplica only: the primary DB instance and its cross-region read replica, one per
    /// region; also the template to recreate either side as a replica of the other.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub instances: BTreeMap<Region, InstanceTemplate>,
}

/// Which kind of replicated database the group fails over.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum DatabaseKind {
    /// An Aurora Global Database (`globalClusterIdentifier`, `clusters`).
    #[default]
    AuroraGlobal,
    /// An RDS DB instance with a cross-region read replica (`instances`).
    RdsReplica,
}

impl DatabaseKind {
    pub fn is_aurora_global(&self) -> bool {
        *self == DatabaseKind::AuroraGlobal
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DatabaseKind::AuroraGlobal => "auroraGlobal",
            DatabaseKind::RdsReplica => "rdsReplica",
        }
    }
}

/// One RDS DB instance of an rdsReplica pair. Only `identifier` is required; the rest is
/// needed only to recreate the instance as a cross-region read replica.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InstanceTemplate {
    pub identifier: String,
    /// `postgres`, `mysql`, `mariadb`, ... (RDS engines with cross-region read replicas).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_class: Option<String>,
    /// KMS key in this instance's own region: an encrypted cross-region read replica needs a
    /// key of the region it is created in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_subnet_group: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vpc_security_group_ids: Vec<String>,
}

/// One Aurora cluster of the global database. Only `identifier` is required; the rest is
/// needed only to recreate the cluster as a secondary during failback.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterTemplate {
    pub identifier: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_class: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_count: Option<u32>,
    /// Customer-managed KMS key in this cluster's own region (required for an encrypted
    /// cross-region secondary).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_subnet_group: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vpc_security_group_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DnsSpec {
    pub hosted_zone_id: String,
    /// Fully qualified; a trailing dot is allowed.
    pub record_name: String,
    #[serde(default)]
    pub record_type: RecordType,
    /// CNAME only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u32>,
    pub targets: BTreeMap<Region, DnsTarget>,
    /// How MoveDns moves traffic (docs/design-contract.md §7.2). Absent: `upsert`, today's
    /// ChangeResourceRecordSets.
    #[serde(default, skip_serializing_if = "DnsRouting::is_upsert")]
    pub routing: DnsRouting,
    /// The ARC cluster and one routing control per region; required with
    /// `routing: routingControl`, refused otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_control: Option<RoutingControlSpec>,
}

/// How traffic is moved between the regions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum DnsRouting {
    /// ChangeResourceRecordSets on the Route 53 control plane (in us-east-1).
    #[default]
    Upsert,
    /// ARC routing controls flip pre-created PRIMARY/SECONDARY failover records whose
    /// health checks are RECOVERY_CONTROL checks: data plane only.
    RoutingControl,
    /// Failover records on ordinary health checks: Route 53 moves traffic itself; drctl
    /// observes and reports.
    HealthCheck,
}

impl DnsRouting {
    pub fn is_upsert(&self) -> bool {
        *self == DnsRouting::Upsert
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DnsRouting::Upsert => "upsert",
            DnsRouting::RoutingControl => "routingControl",
            DnsRouting::HealthCheck => "healthCheck",
        }
    }
}

/// `spec.dns.routingControl`: the ARC cluster whose data plane takes the flips, and the
/// routing control bound (through a RECOVERY_CONTROL health check) to each region's
/// failover record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoutingControlSpec {
    /// `arn:aws:route53-recovery-control::ACCOUNT:cluster/ID`.
    pub cluster_arn: String,
    /// One routing control ARN per region of `spec.regions`.
    #[serde(default)]
    pub controls: BTreeMap<Region, String>,
}

/// TTL of a CNAME record whose spec gives none.
pub const DEFAULT_CNAME_TTL: u32 = 60;

impl DnsSpec {
    /// The TTL the record is written with (CNAME; alias records have none).
    pub fn effective_ttl(&self) -> u32 {
        self.ttl.unwrap_or(DEFAULT_CNAME_TTL)
    }

    /// The routing controls of a `routing: routingControl` group; None in the other modes
    /// (a `routingControl` block left behind by another mode is refused by validation).
    pub fn routing_control(&self) -> Option<&RoutingControlSpec> {
        self.routing_control
            .as_ref()
            .filter(|_| self.routing == DnsRouting::RoutingControl)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum RecordType {
    /// An alias A record (to a load balancer).
    #[default]
    A,
    #[serde(rename = "CNAME")]
    Cname,
}

impl RecordType {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::A => "A",
            RecordType::Cname => "CNAME",
        }
    }
}

/// For `recordType: A`: `aliasDnsName` and `aliasHostedZoneId`. For `CNAME`: `value`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DnsTarget {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias_dns_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias_hosted_zone_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ComputeSpec {
    #[serde(default)]
    pub services: Vec<ServiceSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceSpec {
    /// Unique within the group.
    pub name: String,
    pub regions: BTreeMap<Region, EcsServiceRef>,
    /// Capacity in the region that owns DNS.
    pub active: Capacity,
    /// Capacity in every other region (pilot light).
    pub standby: Capacity,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EcsServiceRef {
    pub cluster: String,
    pub service: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Capacity {
    pub desired: u32,
    pub min: u32,
    pub max: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FailbackSpec {
    #[serde(default)]
    pub approval: Approval,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Approval {
    /// Destructive steps wait for `drctl approve`.
    #[default]
    Manual,
    /// No wait.
    Automatic,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifySpec {
    pub url: String,
    #[serde(default = "default_expect_status")]
    pub expect_status: u16,
}

fn default_expect_status() -> u16 {
    200
}

/// `spec.autoFailover`: when the writer's region is impaired, the controller may fail over by
/// itself, within a data-loss budget and only with independent witnesses. `enabled` and
/// `maxDataLossSeconds` have no default: allowing data loss is never implied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AutoFailoverSpec {
    pub enabled: bool,
    /// The writer's region impaired without a break this long (at least 10 s).
    #[serde(default = "default_after_seconds")]
    pub after_seconds: u32,
    /// The last replication lag measured before the outage must be within this.
    pub max_data_loss_seconds: u32,
    /// At most one automatic failover per group in this window.
    #[serde(default = "default_cooldown_seconds")]
    pub cooldown_seconds: u32,
    /// Independent evidence that the region is impaired.
    pub witnesses: WitnessesSpec,
    /// How many witnesses must agree; default: all of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_witnesses: Option<u32>,
}

pub const DEFAULT_AFTER_SECONDS: u32 = 60;
pub const DEFAULT_COOLDOWN_SECONDS: u32 = 3600;

fn default_after_seconds() -> u32 {
    DEFAULT_AFTER_SECONDS
}

fn default_cooldown_seconds() -> u32 {
    DEFAULT_COOLDOWN_SECONDS
}

impl AutoFailoverSpec {
    /// Witnesses that must be in ALARM: `minWitnesses`, or every one listed.
    pub fn required_witnesses(&self) -> usize {
        self.min_witnesses
            .map_or(self.witnesses.alarms.len(), |n| n as usize)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WitnessesSpec {
    /// CloudWatch alarms, each read in its own region.
    #[serde(default)]
    pub alarms: Vec<AlarmRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlarmRef {
    pub region: Region,
    pub name: String,
}

// ---------------------------------------------------------------------------------------------
// Status: written only by the controller.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FailoverGroupStatus {
    #[serde(default)]
    pub observed_generation: u64,
    #[serde(default)]
    pub phase: Phase,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<ObservedSummary>,
    /// Present while a multi-step operation runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<Operation>,
    /// The operation that ran last, kept after it finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_operation: Option<Operation>,
    /// Last time the controller wrote this status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_reconciled_at: Option<Timestamp>,
    /// How the last finished operation did against `spec.objectives` (absent: no
    /// objectives when it finished).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objectives: Option<ObjectivesJudgement>,
    /// What the automatic-failover policy saw and decided (only with spec.autoFailover).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_failover: Option<AutoFailoverStatus>,
    /// After a Failover: what the controller did by itself about the region it left, and
    /// whether failing back is possible now (docs/runbook.md, "After the incident").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_failover: Option<AfterFailoverStatus>,
}

/// The aftercare of the last Failover. Once Aurora has added the old primary back as a
/// secondary by itself, the controller copies the `rds:unplanned-global-failover-*` system
/// snapshot of the old volume (deleted with the cluster's backup retention) to a manual one,
/// then stops: failing back stays a person's decision, which it reports as ready when the old
/// region is a synchronized secondary within spec.maxLagSeconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AfterFailoverStatus {
    /// The Failover (status.lastOperation.id) this follows.
    pub operation_id: String,
    /// The region the failover left: the old primary's.
    pub region: Region,
    /// The manual snapshot the system snapshot is copied to (deterministic).
    pub snapshot_id: String,
    /// PreserveSnapshot, run by itself once the old primary rejoined (absent: not yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preserve_snapshot: Option<StepRecord>,
    /// When the copy was last asked for (its re-issue grace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy_issued_at: Option<Timestamp>,
    /// Failing back would be a planned switchover now.
    #[serde(default)]
    pub ready_to_fail_back: bool,
    /// The replication lag to the old region measured when readiness was judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag_seconds: Option<f64>,
    /// What `describe` says: ready (with the command), or what failing back waits for.
    #[serde(default)]
    pub message: String,
}

/// The policy's memory across passes: since when the writer's region has been impaired,
/// the countdown, and its last decision (for the cooldown, for "never fail back", and as the
/// allowance of the one failover it decided).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AutoFailoverStatus {
    /// Armed | Watching | Deciding | Blocked | NotArmed
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub message: String,
    /// The writer's region, while the controller's own probes of it fail without a break.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impaired_region: Option<Region>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impaired_since: Option<Timestamp>,
    /// When the policy decides if the evidence holds (impairedSince + afterSeconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decide_at: Option<Timestamp>,
    /// The last replication lag measured before the impairment began.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag_before_outage_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_decision: Option<AutoFailoverDecision>,
}

/// One automatic failover decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AutoFailoverDecision {
    pub at: Timestamp,
    pub from: Region,
    pub to: Region,
    /// The spec record the decision wrote: its allowance applies to this version only.
    pub resource_version: String,
    pub generation: u64,
    pub lag_seconds: f64,
    pub max_data_loss_seconds: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum Phase {
    Converged,
    #[default]
    Progressing,
    WaitingForApproval,
    Blocked,
    Suspended,
    Degraded,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Converged => "Converged",
            Phase::Progressing => "Progressing",
            Phase::WaitingForApproval => "WaitingForApproval",
            Phase::Blocked => "Blocked",
            Phase::Suspended => "Suspended",
            Phase::Degraded => "Degraded",
        }
    }
}

/// Condition types the controller writes (Kubernetes shape).
pub mod condition_type {
    pub const READY: &str = "Ready";
    pub const DATABASE_READY: &str = "DatabaseReady";
    pub const DNS_READY: &str = "DnsReady";
    pub const COMPUTE_READY: &str = "ComputeReady";
    pub const WRITER_DRIFT: &str = "WriterDrift";
    pub const APPROVAL_REQUIRED: &str = "ApprovalRequired";
    /// spec.dependencies (docs/design-contract.md §7.5); absent without them.
    pub const DEPENDENCIES_READY: &str = "DependenciesReady";
    /// After a Failover, while the region it left is not the writer; absent otherwise.
    pub const READY_TO_FAIL_BACK: &str = "ReadyToFailBack";
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Condition {
    /// Ready, DatabaseReady, DnsReady, ComputeReady, WriterDrift or ApprovalRequired.
    #[serde(rename = "type")]
    pub type_: String,
    pub status: ConditionStatus,
    pub reason: String,
    #[serde(default)]
    pub message: String,
    pub last_transition_time: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ConditionStatus {
    True,
    False,
    Unknown,
}

impl ConditionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionStatus::True => "True",
            ConditionStatus::False => "False",
            ConditionStatus::Unknown => "Unknown",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObservedSummary {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writer: Option<Region>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_owner: Option<Region>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_lag_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<MemberSummary>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServiceSummary>,
    /// `spec.dns.routing: routingControl`: what the controller keeps of ARC between passes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_control: Option<RoutingControlObserved>,
    /// Aurora's global writer endpoint (it follows the writer: an app that connects through
    /// it needs no DNS change for its database).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global_writer_endpoint: Option<String>,
    /// `spec.dns.routing: healthCheck`: the failover record Route 53 answers with, as its
    /// health checks last read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheckObserved>,
}

/// Which failover record of a `routing: healthCheck` group Route 53 answers with, from its
/// health checks' status (GetHealthCheckStatus, on the Route 53 control plane). Kept so that
/// while the control plane does not answer, the last known answer is shown, marked stale.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HealthCheckObserved {
    /// The region Route 53 answers with (PRIMARY while healthy, else SECONDARY while healthy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<Region>,
    /// Route 53's verdict on each region's record (more than 18% of checkers healthy).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub healthy: BTreeMap<Region, bool>,
    /// When the health checks last answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_at: Option<Timestamp>,
    /// What is wrong with the setup (no failover pair, a record without a health check).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub setup_problems: Vec<String>,
}

/// The ARC cluster's endpoints and the setup check, both read on control planes while they
/// answer and kept here so that no recovery waits on them; the controls' states as last read
/// on the data plane.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoutingControlObserved {
    /// DescribeCluster's regional data-plane endpoints.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<ArcEndpoint>,
    /// When DescribeCluster last answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints_read_at: Option<Timestamp>,
    /// Each region's routing control state (`On` / `Off`), as last read.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub states: BTreeMap<Region, String>,
    /// When the failover records and their health checks were last checked on the Route 53
    /// control plane.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup_checked_at: Option<Timestamp>,
    /// What that check found wrong (empty: the records exist, point at the targets and
    /// carry RECOVERY_CONTROL health checks on the spec's controls).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub setup_problems: Vec<String>,
}

/// One regional endpoint of an ARC cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArcEndpoint {
    pub region: Region,
    pub endpoint: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MemberSummary {
    pub region: Region,
    pub cluster: String,
    /// writer | reader | detached | missing | unreachable
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synchronization_status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceSummary {
    pub name: String,
    pub region: Region,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum OperationType {
    Switchover,
    Failover,
    Failback,
    /// `spec.dnsOwner` moved while `spec.writer` did not (docs/design-contract.md §7.2):
    /// traffic and active compute go to the DNS owner's region, the database is not touched.
    AppTierFailover,
}

impl OperationType {
    pub fn as_str(self) -> &'static str {
        match self {
            OperationType::Switchover => "Switchover",
            OperationType::Failover => "Failover",
            OperationType::Failback => "Failback",
            OperationType::AppTierFailover => "AppTierFailover",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Operation {
    /// Stable id, also used to name the snapshots the operation takes.
    pub id: String,
    #[serde(rename = "type")]
    pub type_: OperationType,
    pub from: Region,
    pub to: Region,
    pub started_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
    /// The spec generation this operation was planned for.
    #[serde(default)]
    pub generation: u64,
    #[serde(default)]
    pub state: OperationState,
    pub steps: Vec<StepRecord>,
    /// Measured data-loss window (lag at the cut for a Failover).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpo_seconds: Option<f64>,
    /// Recovery time: from the start of the operation until DNS served the new region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rto_seconds: Option<f64>,
    /// Facts the operation carries between steps (snapshot ids, change ids, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub notes: BTreeMap<String, String>,
}

/// An operation's RTO and RPO judged against the objectives in force when it finished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObjectivesJudgement {
    /// The operation judged (`lastOperation.id` when it was judged).
    pub operation_id: String,
    /// Every objective given was met (or could not be measured: see `unmeasured`).
    pub met: bool,
    /// The objectives judged against (kept: the spec may change later).
    pub objectives: Objectives,
    /// The objectives missed, with the figures.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missed: Vec<ObjectiveMiss>,
    /// Objectives given whose figure the operation did not produce (an RTO without a DNS
    /// move, say), by field name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmeasured: Vec<String>,
}

/// One objective missed: `rtoSeconds` 412 measured against 300.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObjectiveMiss {
    /// `rtoSeconds` or `rpoSeconds`.
    pub objective: String,
    pub objective_seconds: u32,
    pub measured_seconds: f64,
}

impl std::fmt::Display for ObjectiveMiss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = if self.objective == "rpoSeconds" {
            "RPO"
        } else {
            "RTO"
        };
        write!(
            f,
            "{what} {:.1} s > objective {} s",
            self.measured_seconds, self.objective_seconds
        )
    }
}

impl ObjectivesJudgement {
    /// Judge measured figures (seconds; None: not produced) against `objectives`.
    pub fn judge(
        operation_id: &str,
        objectives: Objectives,
        rto: Option<f64>,
        rpo: Option<f64>,
    ) -> Self {
        let mut missed = Vec::new();
        let mut unmeasured = Vec::new();
        for (field, objective, measured) in [
            ("rtoSeconds", objectives.rto_seconds, rto),
            ("rpoSeconds", objectives.rpo_seconds, rpo),
        ] {
            let Some(objective) = objective else { continue };
            match measured {
                Some(m) if m > f64::from(objective) => missed.push(ObjectiveMiss {
                    objective: field.to_string(),
                    objective_seconds: objective,
                    measured_seconds: m,
                }),
                Some(_) => {}
                None => unmeasured.push(field.to_string()),
            }
        }
        ObjectivesJudgement {
            operation_id: operation_id.to_string(),
            met: missed.is_empty(),
            objectives,
            missed,
            unmeasured,
        }
    }

    /// `met (RTO <= 300 s, RPO <= 5 s)` or `MISSED: RTO 412.0 s > objective 300 s`.
    pub fn summary(&self) -> String {
        if self.met {
            let mut parts = Vec::new();
            if let Some(rto) = self.objectives.rto_seconds {
                parts.push(format!("RTO <= {rto} s"));
            }
            if let Some(rpo) = self.objectives.rpo_seconds {
                parts.push(format!("RPO <= {rpo} s"));
            }
            let mut text = format!("met ({})", parts.join(", "));
            if !self.unmeasured.is_empty() {
                text.push_str(&format!("; not measured: {}", self.unmeasured.join(", ")));
            }
            text
        } else {
            let misses: Vec<String> = self.missed.iter().map(|m| m.to_string()).collect();
            format!("MISSED: {}", misses.join("; "))
        }
    }
}

impl Operation {
    pub fn step(&self, name: StepName) -> Option<&StepRecord> {
        self.steps.iter().find(|s| s.name == name)
    }

    pub fn step_mut(&mut self, name: StepName) -> Option<&mut StepRecord> {
        self.steps.iter_mut().find(|s| s.name == name)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum OperationState {
    #[default]
    Running,
    Succeeded,
    Failed,
    /// Replaced by a newer spec before it finished.
    Superseded,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StepRecord {
    pub name: StepName,
    pub state: StepState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl StepRecord {
    pub fn pending(name: StepName) -> Self {
        StepRecord {
            name,
            state: StepState::Pending,
            started_at: None,
            finished_at: None,
            detail: None,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum StepState {
    #[default]
    Pending,
    Running,
    Succeeded,
    Failed,
    Skipped,
}

impl StepState {
    pub fn is_done(self) -> bool {
        matches!(self, StepState::Succeeded | StepState::Skipped)
    }
}

/// Step names (contract).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum StepName {
    Preflight,
    FenceSource,
    ScaleUpTarget,
    Switchover,
    Failover,
    WaitWriter,
    WaitComputeReady,
    MoveDns,
    WaitDnsInSync,
    Verify,
    ScaleDownSource,
    PreserveSnapshot,
    SnapshotStale,
    AwaitApproval,
    DeleteStale,
    RecreateSecondary,
    WaitReplicaSynced,
    /// rdsReplica: PromoteReadReplica (docs/design-contract.md §7.5).
    PromoteReplica,
}

impl StepName {
    pub const ALL: [StepName; 18] = [
        StepName::Preflight,
        StepName::FenceSource,
        StepName::ScaleUpTarget,
        StepName::Switchover,
        StepName::Failover,
        StepName::WaitWriter,
        StepName::WaitComputeReady,
        StepName::MoveDns,
        StepName::WaitDnsInSync,
        StepName::Verify,
        StepName::ScaleDownSource,
        StepName::PreserveSnapshot,
        StepName::SnapshotStale,
        StepName::AwaitApproval,
        StepName::DeleteStale,
        StepName::RecreateSecondary,
        StepName::WaitReplicaSynced,
        StepName::PromoteReplica,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StepName::Preflight => "Preflight",
            StepName::FenceSource => "FenceSource",
            StepName::ScaleUpTarget => "ScaleUpTarget",
            StepName::Switchover => "Switchover",
            StepName::Failover => "Failover",
            StepName::WaitWriter => "WaitWriter",
            StepName::WaitComputeReady => "WaitComputeReady",
            StepName::MoveDns => "MoveDns",
            StepName::WaitDnsInSync => "WaitDnsInSync",
            StepName::Verify => "Verify",
            StepName::ScaleDownSource => "ScaleDownSource",
            StepName::PreserveSnapshot => "PreserveSnapshot",
            StepName::SnapshotStale => "SnapshotStale",
            StepName::AwaitApproval => "AwaitApproval",
            StepName::DeleteStale => "DeleteStale",
            StepName::RecreateSecondary => "RecreateSecondary",
            StepName::WaitReplicaSynced => "WaitReplicaSynced",
            StepName::PromoteReplica => "PromoteReplica",
        }
    }

    /// Steps that destroy or irreversibly change something: never repeated after a crash.
    pub fn is_destructive(self) -> bool {
        matches!(
            self,
            StepName::Switchover
                | StepName::Failover
                | StepName::DeleteStale
                | StepName::PromoteReplica
        )
    }
}

impl std::fmt::Display for StepName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `spec.dependencies` (docs/design-contract.md §7.5): what the application needs besides the
/// database drctl manages. drctl reads them and reports condition `DependenciesReady`; it
/// never changes them. Each list, when given, must not be empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DependenciesSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_replication: Option<Vec<S3ReplicationDependency>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamodb_global_tables: Option<Vec<GlobalTableDependency>>,
}

impl DependenciesSpec {
    /// The S3 replications listed (none when absent).
    pub fn buckets(&self) -> &[S3ReplicationDependency] {
        self.s3_replication.as_deref().unwrap_or_default()
    }

    /// The global tables listed (none when absent).
    pub fn tables(&self) -> &[GlobalTableDependency] {
        self.dynamodb_global_tables.as_deref().unwrap_or_default()
    }
}

/// One bucket's Cross-Region Replication: `bucket` in `region` replicates to
/// `destinationBucket` (in the other region of spec.regions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct S3ReplicationDependency {
    pub bucket: String,
    /// The source bucket's region; one of spec.regions.
    pub region: Region,
    pub destination_bucket: String,
}

/// One DynamoDB global table (version 2019.11.21) with a replica in each of `regions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GlobalTableDependency {
    pub table: String,
    /// Regions that must hold an ACTIVE replica; each one of spec.regions.
    pub regions: Vec<Region>,
}
