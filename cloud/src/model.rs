//! The observed world, in the controller's own terms. These mirror the fields of the AWS API
//! responses that the planner needs, nothing more (see shared/reference/aws-facts.md).

use drctl_schema::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::{CloudError, CloudResult, ErrorCategory, Service};

/// DescribeGlobalClusters returns at most 100 global clusters per page (`MaxRecords`, 20 to
/// 100).
pub const RDS_GLOBAL_CLUSTERS_PER_PAGE: usize = 100;

/// `GlobalCluster` from DescribeGlobalClusters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GlobalCluster {
    pub identifier: String,
    pub arn: String,
    pub engine: Option<String>,
    pub engine_version: Option<String>,
    pub status: Option<String>,
    pub members: Vec<GlobalMember>,
    /// Set only while a switchover or failover is in flight.
    pub failover_state: Option<FailoverState>,
    /// Aurora's global writer endpoint (DescribeGlobalClusters' `Endpoint`): it always
    /// resolves to the writer instance of the current primary, so an app that connects
    /// through it follows a switchover or failover with no DNS change of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writer_endpoint: Option<String>,
}

impl GlobalCluster {
    pub fn writer(&self) -> Option<&GlobalMember> {
        self.members.iter().find(|m| m.is_writer)
    }

    pub fn member(&self, cluster_arn: &str) -> Option<&GlobalMember> {
        self.members.iter().find(|m| m.cluster_arn == cluster_arn)
    }
}

impl GlobalMember {
    /// A secondary still copying the writer's volume (after a rejoin or a new member).
    pub fn is_resyncing(&self) -> bool {
        self.synchronization_status.as_deref() == Some("pending-resync")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GlobalMember {
    pub cluster_arn: String,
    pub is_writer: bool,
    /// `connected` | `pending-resync` (absent for the writer on some engines).
    pub synchronization_status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailoverState {
    /// `pending` | `failing-over` | `switching-over` | `cancelling`.
    pub status: String,
    pub from_cluster_arn: Option<String>,
    pub to_cluster_arn: Option<String>,
    pub is_data_loss_allowed: bool,
}

/// An RDS cluster's, DB instance's or snapshot's status as AWS reports it (`available`,
/// `creating`, `deleting`, `copying`, ...). The set is open and grows with AWS, so the
/// word is kept as it came (messages show it), and callers ask by meaning instead of
/// comparing string literals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RdsStatus(String);

impl RdsStatus {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Ready for use: the postcondition most steps wait for.
    pub fn is_available(&self) -> bool {
        self.0 == "available"
    }

    /// On its way out (the resource still shows until the deletion ends).
    pub fn is_deleting(&self) -> bool {
        self.0 == "deleting"
    }
}

impl From<&str> for RdsStatus {
    fn from(status: &str) -> Self {
        RdsStatus(status.to_string())
    }
}

impl From<String> for RdsStatus {
    fn from(status: String) -> Self {
        RdsStatus(status)
    }
}

impl PartialEq<&str> for RdsStatus {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl std::fmt::Display for RdsStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// RDS accepts at most 100 values in one filter (DescribeDBClusters `db-cluster-id`).
pub const RDS_FILTER_VALUES_MAX: usize = 100;

/// `DBCluster` from DescribeDBClusters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbCluster {
    pub identifier: String,
    pub arn: String,
    pub region: String,
    /// `available`, `creating`, `deleting`, `failing-over`, `promoting`, `modifying`, ...
    pub status: RdsStatus,
    pub engine: String,
    pub engine_version: String,
    pub deletion_protection: bool,
    pub storage_encrypted: bool,
    pub kms_key_id: Option<String>,
    /// Instance identifiers of the cluster's members (`DBClusterMembers`).
    pub instances: Vec<String>,
}

/// `DBInstance` from DescribeDBInstances.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbInstance {
    pub identifier: String,
    pub cluster_identifier: Option<String>,
    pub status: RdsStatus,
    pub instance_class: String,
}

/// `DBClusterSnapshot` from DescribeDBClusterSnapshots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterSnapshot {
    pub identifier: String,
    pub cluster_identifier: String,
    /// `manual` | `automated` | `system` (the `rds:unplanned-global-failover-*` ones are system).
    pub snapshot_type: String,
    /// `creating` | `available` | `copying` | ...
    pub status: RdsStatus,
    pub created_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotQuery {
    pub cluster_identifier: Option<String>,
    pub snapshot_identifier: Option<String>,
    /// `manual`, `automated` or `system`; None: all.
    pub snapshot_type: Option<String>,
}

/// CreateDBCluster (as a secondary of a global cluster) from the spec's template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateSecondaryCluster {
    pub region: String,
    pub identifier: String,
    pub global_cluster_identifier: String,
    pub engine: String,
    pub engine_version: Option<String>,
    pub kms_key_id: Option<String>,
    pub db_subnet_group: Option<String>,
    pub vpc_security_group_ids: Vec<String>,
}

/// CreateDBInstance inside a cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateInstance {
    pub region: String,
    pub identifier: String,
    pub cluster_identifier: String,
    pub instance_class: String,
    pub engine: String,
}

/// Where a ListResourceRecordSets page starts: Route 53's next (name, type, set identifier).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordCursor {
    pub name: String,
    pub record_type: String,
    pub identifier: Option<String>,
}

/// One page of a zone's simple-routing records, and where the next page starts (None: the
/// last page).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecordPage {
    pub records: Vec<DnsRecord>,
    pub next: Option<RecordCursor>,
}

/// A Route 53 resource record set (simple routing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsRecord {
    /// Fully qualified, with the trailing dot, as Route 53 returns it.
    pub name: String,
    /// `A` or `CNAME`.
    pub record_type: String,
    pub ttl: Option<u32>,
    pub alias: Option<AliasTarget>,
    pub values: Vec<String>,
}

impl DnsRecord {
    /// (name, type) as Route 53 compares them: the name lower case and fully qualified, `*`
    /// unescaped; the type upper case.
    pub fn key(&self) -> (String, String) {
        (
            normalize_record_name(&self.name),
            self.record_type.to_ascii_uppercase(),
        )
    }
}

/// Route 53 compares names case-insensitively, always returns them fully qualified, and
/// escapes `*` as `\052`.
pub fn normalize_record_name(name: &str) -> String {
    let mut n = name.trim().to_ascii_lowercase().replace("\\052", "*");
    if !n.ends_with('.') {
        n.push('.');
    }
    n
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AliasTarget {
    pub dns_name: String,
    pub hosted_zone_id: String,
    pub evaluate_target_health: bool,
}

/// One record's change inside a batch: with `expected`, DELETE(expected) + CREATE(desired)
/// (a compare-and-swap); without, an UPSERT of `desired`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordChange {
    pub expected: Option<DnsRecord>,
    pub desired: DnsRecord,
}

/// Route 53's quotas on one ChangeResourceRecordSets request (Amazon Route 53 Developer Guide,
/// "Quotas", "Quotas on API requests": "A request cannot contain more than 1,000
/// ResourceRecord elements. When the value of the Action element is UPSERT, each
/// ResourceRecord element is counted twice."). See [`Route53BatchSize`] for how a batch of
/// [`RecordChange`]s is counted.
pub const ROUTE53_MAX_CHANGES_PER_BATCH: usize = 1000;
/// Same page: "The sum of the number of characters (including spaces) in all Value elements
/// in a request cannot exceed 32,000 characters. When the value of the Action element is
/// UPSERT, each character in a Value element is counted twice."
pub const ROUTE53_MAX_VALUE_CHARS_PER_BATCH: usize = 32_000;
/// ListResourceRecordSets returns at most 300 record sets per page (`MaxItems`).
pub const ROUTE53_RECORD_SETS_PER_PAGE: usize = 300;

/// What a batch of changes counts against Route 53's per-request quotas. DELETE and CREATE
/// count each of their values once, UPSERT twice, so a compare-and-swap costs what an UPSERT
/// does. An alias record sends no ResourceRecord element and no Value, and AWS documents no
/// quota for alias changes; each alias side is counted as one element anyway (no
/// characters), an assumption of ours rather than an AWS number, so that a batch of aliases
/// stays as bounded as a batch of simple records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Route53BatchSize {
    /// Against [`ROUTE53_MAX_CHANGES_PER_BATCH`].
    pub resource_records: usize,
    /// Against [`ROUTE53_MAX_VALUE_CHARS_PER_BATCH`].
    pub value_chars: usize,
}

impl Route53BatchSize {
    pub fn of(changes: &[RecordChange]) -> Route53BatchSize {
        let mut size = Route53BatchSize::default();
        for change in changes {
            match &change.expected {
                Some(old) => {
                    size.add(old, 1);
                    size.add(&change.desired, 1);
                }
                None => size.add(&change.desired, 2),
            }
        }
        size
    }

    fn add(&mut self, record: &DnsRecord, weight: usize) {
        let (elements, chars) = match &record.alias {
            Some(_) => (1, 0),
            None => (
                record.values.len(),
                record.values.iter().map(|v| v.chars().count()).sum(),
            ),
        };
        self.resource_records += elements * weight;
        self.value_chars += chars * weight;
    }

    /// Within both quotas.
    pub fn fits(&self) -> bool {
        self.resource_records <= ROUTE53_MAX_CHANGES_PER_BATCH
            && self.value_chars <= ROUTE53_MAX_VALUE_CHARS_PER_BATCH
    }
}

/// The checks every implementation of `Dns::change_records` makes before sending anything:
/// a batch Route 53 would refuse as a whole (empty, over its quotas, or naming one record
/// twice, which Route 53 rejects as an invalid change batch) is refused here, with
/// `NeedsSpecChange` and nothing sent.
pub fn check_record_batch(changes: &[RecordChange]) -> CloudResult<()> {
    const OP: &str = "ChangeResourceRecordSets";
    let refuse = |code: &str, message: String| {
        Err(CloudError::new(
            ErrorCategory::NeedsSpecChange,
            Service::Route53,
            OP,
            code,
            message,
        ))
    };
    if changes.is_empty() {
        return refuse(
            "EmptyChangeBatch",
            "a change batch needs at least one change".into(),
        );
    }
    let size = Route53BatchSize::of(changes);
    if !size.fits() {
        return refuse(
            "ChangeBatchTooLarge",
            format!(
                "{} ResourceRecord elements and {} value characters in one batch; Route 53 \
                 accepts at most {ROUTE53_MAX_CHANGES_PER_BATCH} and \
                 {ROUTE53_MAX_VALUE_CHARS_PER_BATCH} (UPSERT counts twice): split the batch",
                size.resource_records, size.value_chars
            ),
        );
    }
    let mut seen = std::collections::BTreeSet::new();
    for change in changes {
        let mut keys: Vec<(String, String)> = change
            .expected
            .iter()
            .chain(std::iter::once(&change.desired))
            .map(DnsRecord::key)
            .collect();
        keys.dedup();
        for key in keys {
            if !seen.insert(key.clone()) {
                return refuse(
                    "DuplicateRecordInBatch",
                    format!("{} {} is changed twice in one batch", key.0, key.1),
                );
            }
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangeStatus {
    Pending,
    InSync,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeInfo {
    pub id: String,
    pub status: ChangeStatus,
}

/// DescribeServices accepts at most 10 services per call.
pub const ECS_SERVICES_PER_DESCRIBE: usize = 10;

/// An ECS service from DescribeServices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EcsService {
    pub cluster: String,
    pub service: String,
    /// `ACTIVE`, `DRAINING`, `INACTIVE`.
    pub status: String,
    pub desired: u32,
    pub running: u32,
    pub pending: u32,
}

/// DescribeScalableTargets accepts at most 50 `ResourceIds` per call.
pub const SCALABLE_TARGET_IDS_PER_DESCRIBE: usize = 50;

/// An Application Auto Scaling scalable target for an ECS service's DesiredCount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScalableTarget {
    /// `service/CLUSTER/SERVICE`.
    pub resource_id: String,
    pub min: u32,
    pub max: u32,
}

/// A replication-lag query: the secondary in `secondary_region` of the primary cluster.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LagQuery {
    pub primary_cluster_id: String,
    pub secondary_region: String,
}

/// A CloudWatch alarm's state (`StateValue` of DescribeAlarms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AlarmState {
    Ok,
    Alarm,
    InsufficientData,
}

impl AlarmState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmState::Ok => "OK",
            AlarmState::Alarm => "ALARM",
            AlarmState::InsufficientData => "INSUFFICIENT_DATA",
        }
    }
}

/// One alarm as DescribeAlarms returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlarmReading {
    pub name: String,
    pub state: AlarmState,
}

/// DescribeAlarms accepts at most 100 names (`AlarmNames`) per call.
pub const CLOUDWATCH_ALARM_NAMES_PER_CALL: usize = 100;

/// GetMetricData accepts at most 500 metric queries (`MetricDataQueries`) per call.
pub const CLOUDWATCH_METRIC_QUERIES_PER_CALL: usize = 500;
/// Each lag is asked as two metrics, `AuroraGlobalDBRPOLag` and the older engines'
/// `AuroraGlobalDBReplicationLag` (an engine publishes one or the other).
pub const METRICS_PER_LAG_QUERY: usize = 2;
/// So one GetMetricData call answers at most this many [`LagQuery`]s.
pub const LAG_QUERIES_PER_CALL: usize = CLOUDWATCH_METRIC_QUERIES_PER_CALL / METRICS_PER_LAG_QUERY;

/// The Application Auto Scaling resource id of an ECS service.
pub fn ecs_resource_id(cluster: &str, service: &str) -> String {
    format!("service/{cluster}/{service}")
}

/// Region of an AWS ARN (`arn:aws:rds:us-east-1:123456789012:cluster:x` -> `us-east-1`).
pub fn region_of_arn(arn: &str) -> Option<&str> {
    arn.split(':').nth(3).filter(|r| !r.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cname(name: &str, value: &str) -> DnsRecord {
        DnsRecord {
            name: name.to_string(),
            record_type: "CNAME".to_string(),
            ttl: Some(60),
            alias: None,
            values: vec![value.to_string()],
        }
    }

    fn upsert(record: DnsRecord) -> RecordChange {
        RecordChange {
            expected: None,
            desired: record,
        }
    }

    #[test]
    fn an_upsert_counts_its_values_twice_and_a_compare_and_swap_counts_both_sides() {
        let old = cname("a.example.com.", "east.example.com");
        let new = cname("a.example.com.", "west.example.com");
        let swap = RecordChange {
            expected: Some(old),
            desired: new.clone(),
        };
        let expected = Route53BatchSize {
            resource_records: 2,
            value_chars: 32,
        };
        assert_eq!(Route53BatchSize::of(&[upsert(new)]), expected);
        assert_eq!(Route53BatchSize::of(&[swap]), expected);
    }

    #[test]
    fn an_alias_counts_as_one_element_without_value_characters() {
        let alias = DnsRecord {
            name: "a.example.com.".to_string(),
            record_type: "A".to_string(),
            ttl: None,
            alias: Some(AliasTarget {
                dns_name: "lb.example.com".to_string(),
                hosted_zone_id: "Z1".to_string(),
                evaluate_target_health: false,
            }),
            values: vec![],
        };
        assert_eq!(
            Route53BatchSize::of(&[upsert(alias)]),
            Route53BatchSize {
                resource_records: 2,
                value_chars: 0,
            }
        );
    }

    fn upserts(n: usize, value: &str) -> Vec<RecordChange> {
        (0..n)
            .map(|i| upsert(cname(&format!("r{i}.example.com."), value)))
            .collect()
    }

    #[test]
    fn a_batch_at_the_quota_passes_and_one_element_more_is_refused_before_sending() {
        assert_eq!(check_record_batch(&upserts(500, "x")), Ok(()));
        let err = check_record_batch(&upserts(501, "x")).unwrap_err();
        assert_eq!(err.category, ErrorCategory::NeedsSpecChange);
        assert_eq!(err.code, "ChangeBatchTooLarge");
        assert!(
            err.message.contains("1002 ResourceRecord elements"),
            "{err}"
        );
    }

    #[test]
    fn a_batch_over_the_value_characters_is_refused() {
        // 100 upserts of a 161-character value: 200 elements, 32,200 characters.
        let err = check_record_batch(&upserts(100, &"v".repeat(161))).unwrap_err();
        assert_eq!(err.code, "ChangeBatchTooLarge");
        assert_eq!(check_record_batch(&upserts(100, &"v".repeat(160))), Ok(()));
    }

    #[test]
    fn an_empty_batch_and_a_record_changed_twice_are_refused() {
        assert_eq!(
            check_record_batch(&[]).unwrap_err().code,
            "EmptyChangeBatch"
        );
        let twice = [
            upsert(cname("A.example.com", "x")),
            upsert(cname("a.example.com.", "y")),
        ];
        assert_eq!(
            check_record_batch(&twice).unwrap_err().code,
            "DuplicateRecordInBatch"
        );
        let swap_in_place = RecordChange {
            expected: Some(cname("a.example.com.", "x")),
            desired: cname("a.example.com.", "y"),
        };
        assert_eq!(check_record_batch(&[swap_in_place]), Ok(()));
    }

    #[test]
    fn names_compare_fully_qualified_lower_case_with_wildcards_unescaped() {
        assert_eq!(normalize_record_name("API.Example.com"), "api.example.com.");
        assert_eq!(
            normalize_record_name("\\052.example.com."),
            "*.example.com."
        );
    }

    #[test]
    fn region_is_read_from_the_fourth_arn_field() {
        assert_eq!(
            region_of_arn("arn:aws:rds:us-west-2:123456789012:cluster:db"),
            Some("us-west-2")
        );
        assert_eq!(region_of_arn("arn:aws:route53:::hostedzone/Z1"), None);
        assert_eq!(region_of_arn("not-an-arn"), None);
    }
}

/// A routing control's state, as ARC's data plane reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RoutingControlState {
    On,
    Off,
}

impl RoutingControlState {
    pub fn as_str(self) -> &'static str {
        match self {
            RoutingControlState::On => "On",
            RoutingControlState::Off => "Off",
        }
    }
}

/// One entry of an UpdateRoutingControlStates request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingControlUpdate {
    pub control_arn: String,
    pub state: RoutingControlState,
}

/// One regional endpoint of an ARC cluster's data plane (DescribeCluster's ClusterEndpoints).
/// Every data-plane call is signed for `region` and sent to `endpoint`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClusterEndpoint {
    pub region: String,
    /// `https://host/v1`, as DescribeCluster returns it.
    pub endpoint: String,
}

/// Which record of a failover pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FailoverRole {
    Primary,
    Secondary,
}

impl FailoverRole {
    pub fn as_str(self) -> &'static str {
        match self {
            FailoverRole::Primary => "PRIMARY",
            FailoverRole::Secondary => "SECONDARY",
        }
    }
}

/// A Route 53 failover-routing record: the record (its alias or values), which of the pair
/// it is, and the health check it carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailoverRecord {
    pub set_identifier: String,
    pub role: FailoverRole,
    pub health_check_id: Option<String>,
    pub record: DnsRecord,
}

/// The region of ARC's control-config API (AWS: "available in US West (Oregon)").
pub const RECOVERY_CONTROL_CONFIG_REGION: &str = "us-west-2";

/// The type of a Route 53 health check that follows an ARC routing control.
pub const RECOVERY_CONTROL_CHECK_TYPE: &str = "RECOVERY_CONTROL";

/// One Route 53 health checker's last report on an endpoint (GetHealthCheckStatus).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheckObservation {
    /// The checker's region (`us-east-1`, `sa-east-1`, ...).
    pub region: String,
    /// Its report began with `Success` (AWS: "Success: HTTP Status Code 200, OK").
    pub healthy: bool,
    /// The report as Route 53 gave it.
    pub status: String,
}

/// The share of health checkers that must report an endpoint healthy for Route 53 to
/// consider it healthy: more than 18% (Route 53 Developer Guide, "How Amazon Route 53
/// determines whether a health check is healthy").
pub const HEALTHY_CHECKER_SHARE: f64 = 0.18;

/// Does Route 53 consider the endpoint healthy on these reports? More than 18% of the
/// checkers that reported say so; no report at all is not healthy.
pub fn route53_considers_healthy(observations: &[HealthCheckObservation]) -> bool {
    let healthy = observations.iter().filter(|o| o.healthy).count();
    !observations.is_empty() && healthy as f64 > HEALTHY_CHECKER_SHARE * observations.len() as f64
}

/// What GetHealthCheck (and GetHealthCheckStatus) tell about one health check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheckInfo {
    pub id: String,
    /// `RECOVERY_CONTROL`, `HTTPS`, ...
    pub check_type: String,
    /// The routing control a RECOVERY_CONTROL check follows.
    pub routing_control_arn: Option<String>,
}

// ---------------------------------------------------------------------------------------
// RDS DB instances and cross-region read replicas (spec.database.kind: rdsReplica).
// ---------------------------------------------------------------------------------------

/// `DBInstanceStatus` of DescribeDBInstances, the values drctl reasons about; anything else
/// is kept as `Other` with AWS's word.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RdsInstanceStatus {
    Available,
    Creating,
    /// PromoteReadReplica (and other modifications) in progress.
    Modifying,
    Rebooting,
    BackingUp,
    Deleting,
    Other(String),
}

impl RdsInstanceStatus {
    pub fn from_aws(status: &str) -> RdsInstanceStatus {
        match status {
            "available" => RdsInstanceStatus::Available,
            "creating" => RdsInstanceStatus::Creating,
            "modifying" => RdsInstanceStatus::Modifying,
            "rebooting" => RdsInstanceStatus::Rebooting,
            "backing-up" => RdsInstanceStatus::BackingUp,
            "deleting" => RdsInstanceStatus::Deleting,
            other => RdsInstanceStatus::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            RdsInstanceStatus::Available => "available",
            RdsInstanceStatus::Creating => "creating",
            RdsInstanceStatus::Modifying => "modifying",
            RdsInstanceStatus::Rebooting => "rebooting",
            RdsInstanceStatus::BackingUp => "backing-up",
            RdsInstanceStatus::Deleting => "deleting",
            RdsInstanceStatus::Other(s) => s,
        }
    }
}

/// The read-replication entry of `StatusInfos` (`StatusType: read replication`) of a replica.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReplicationState {
    Replicating,
    Error,
    Stopped,
    Terminated,
    Other(String),
}

impl ReplicationState {
    pub fn from_aws(status: &str) -> ReplicationState {
        match status {
            "replicating" => ReplicationState::Replicating,
            "error" => ReplicationState::Error,
            "stopped" => ReplicationState::Stopped,
            "terminated" => ReplicationState::Terminated,
            other => ReplicationState::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            ReplicationState::Replicating => "replicating",
            ReplicationState::Error => "error",
            ReplicationState::Stopped => "stopped",
            ReplicationState::Terminated => "terminated",
            ReplicationState::Other(s) => s,
        }
    }
}

/// `DBInstance` from DescribeDBInstances, as an rdsReplica group needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RdsInstance {
    pub identifier: String,
    pub arn: String,
    pub region: String,
    pub status: RdsInstanceStatus,
    pub engine: String,
    pub engine_version: String,
    pub instance_class: String,
    pub storage_encrypted: bool,
    pub kms_key_id: Option<String>,
    /// `ReadReplicaSourceDBInstanceIdentifier`: set on a read replica (an ARN when the source
    /// is in another region), absent on a standalone or primary instance.
    pub read_replica_source: Option<String>,
    /// `ReadReplicaDBInstanceIdentifiers`: this instance's replicas (ARNs across regions).
    pub read_replicas: Vec<String>,
    /// A replica's read-replication state (`StatusInfos`); None on a non-replica.
    pub replication: Option<ReplicationState>,
}

impl RdsInstance {
    pub fn is_replica(&self) -> bool {
        self.read_replica_source.is_some()
    }

    /// Is this instance a read replica of `source` (given by identifier or ARN)?
    pub fn replicates_from(&self, source: &RdsInstance) -> bool {
        self.read_replica_source
            .as_deref()
            .is_some_and(|s| s == source.arn || s == source.identifier)
    }
}

/// `Status` of a DB snapshot (DescribeDBSnapshots).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DbSnapshotStatus {
    Creating,
    Available,
    Other(String),
}

impl DbSnapshotStatus {
    pub fn from_aws(status: &str) -> DbSnapshotStatus {
        match status {
            "creating" => DbSnapshotStatus::Creating,
            "available" => DbSnapshotStatus::Available,
            other => DbSnapshotStatus::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            DbSnapshotStatus::Creating => "creating",
            DbSnapshotStatus::Available => "available",
            DbSnapshotStatus::Other(s) => s,
        }
    }
}

/// `DBSnapshot` from DescribeDBSnapshots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbSnapshot {
    pub identifier: String,
    pub instance_identifier: String,
    /// `manual` | `automated`.
    pub snapshot_type: String,
    pub status: DbSnapshotStatus,
    pub created_at: Option<Timestamp>,
}

/// CreateDBInstanceReadReplica in `region` from a source instance in `source_region`
/// (cross-region: the source is named by ARN, and the request carries `SourceRegion` so the
/// SDK presigns it; an encrypted source needs a KMS key of `region`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateReadReplica {
    pub region: String,
    pub identifier: String,
    pub source_region: String,
    pub source_instance_arn: String,
    pub instance_class: Option<String>,
    pub kms_key_id: Option<String>,
    pub db_subnet_group: Option<String>,
    pub vpc_security_group_ids: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// spec.dependencies: S3 replication and DynamoDB global tables, observed and never changed.
// ---------------------------------------------------------------------------------------------

/// A replication rule's `Status` (GetBucketReplication).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RuleStatus {
    Enabled,
    Disabled,
}

/// One rule of a bucket's replication configuration, as far as drctl looks at it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicationRule {
    /// The rule's `ID` (the `RuleId` dimension of its replication metrics).
    pub id: Option<String>,
    pub status: RuleStatus,
    /// `Destination.Bucket`: the destination bucket's ARN, `arn:aws:s3:::NAME`.
    pub destination_bucket_arn: String,
    /// `Destination.Metrics.Status` is Enabled: S3 publishes ReplicationLatency and
    /// OperationsPendingReplication for this rule.
    pub metrics_enabled: bool,
}

impl ReplicationRule {
    /// The destination bucket's name (the ARN's resource part).
    pub fn destination_bucket(&self) -> &str {
        bucket_of_arn(&self.destination_bucket_arn)
    }
}

/// `arn:aws:s3:::NAME` -> `NAME` (a bare name is returned as it is).
pub fn bucket_of_arn(arn: &str) -> &str {
    arn.rsplit(":::").next().unwrap_or(arn)
}

/// What GetBucketReplication says about a bucket. The two "not there" answers are facts
/// about the dependency, not failures of the call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BucketReplication {
    /// `NoSuchBucket`.
    NoSuchBucket,
    /// `ReplicationConfigurationNotFoundError`: the bucket replicates nothing.
    NotConfigured,
    Configured {
        rules: Vec<ReplicationRule>,
    },
}

/// A bucket's versioning (GetBucketVersioning). A bucket that never had versioning turned on
/// has no `Status` at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum VersioningStatus {
    Enabled,
    Suspended,
    NeverEnabled,
}

impl VersioningStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            VersioningStatus::Enabled => "Enabled",
            VersioningStatus::Suspended => "Suspended",
            VersioningStatus::NeverEnabled => "never enabled",
        }
    }
}

/// A DynamoDB table's `TableStatus` (DescribeTable).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TableStatus {
    Active,
    Creating,
    Updating,
    Deleting,
    Archiving,
    Archived,
    InaccessibleEncryptionCredentials,
    /// A value this build does not know, kept for the message.
    Other(String),
}

impl TableStatus {
    pub fn as_str(&self) -> &str {
        match self {
            TableStatus::Active => "ACTIVE",
            TableStatus::Creating => "CREATING",
            TableStatus::Updating => "UPDATING",
            TableStatus::Deleting => "DELETING",
            TableStatus::Archiving => "ARCHIVING",
            TableStatus::Archived => "ARCHIVED",
            TableStatus::InaccessibleEncryptionCredentials => "INACCESSIBLE_ENCRYPTION_CREDENTIALS",
            TableStatus::Other(s) => s,
        }
    }
}

/// One replica's `ReplicaStatus` (DescribeTable's `Replicas`, global tables 2019.11.21).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ReplicaStatus {
    Active,
    Creating,
    CreationFailed,
    Updating,
    Deleting,
    RegionDisabled,
    InaccessibleEncryptionCredentials,
    Archiving,
    Archived,
    /// A value this build does not know, kept for the message.
    Other(String),
}

impl ReplicaStatus {
    pub fn as_str(&self) -> &str {
        match self {
            ReplicaStatus::Active => "ACTIVE",
            ReplicaStatus::Creating => "CREATING",
            ReplicaStatus::CreationFailed => "CREATION_FAILED",
            ReplicaStatus::Updating => "UPDATING",
            ReplicaStatus::Deleting => "DELETING",
            ReplicaStatus::RegionDisabled => "REGION_DISABLED",
            ReplicaStatus::InaccessibleEncryptionCredentials => {
                "INACCESSIBLE_ENCRYPTION_CREDENTIALS"
            }
            ReplicaStatus::Archiving => "ARCHIVING",
            ReplicaStatus::Archived => "ARCHIVED",
            ReplicaStatus::Other(s) => s,
        }
    }
}

/// One entry of a table's `Replicas`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableReplica {
    pub region: String,
    pub status: ReplicaStatus,
}

/// DescribeTable of one table in one region: the table there and the replicas it lists (the
/// other regions of the global table; a table that is not global lists none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableDescription {
    pub name: String,
    pub status: TableStatus,
    pub replicas: Vec<TableReplica>,
}

/// A replication metric of a dependency (CloudWatch GetMetricData), asked in the region that
/// publishes it: the source bucket's region for S3, the table's region for DynamoDB.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum DependencyMetric {
    /// `AWS/S3 ReplicationLatency` (seconds) of one rule, published only where the rule has
    /// replication metrics enabled.
    S3ReplicationLatency {
        source_bucket: String,
        destination_bucket: String,
        rule_id: String,
    },
    /// `AWS/S3 OperationsPendingReplication` (a count) of one rule.
    S3OperationsPendingReplication {
        source_bucket: String,
        destination_bucket: String,
        rule_id: String,
    },
    /// `AWS/DynamoDB ReplicationLatency` (published in milliseconds; answered in seconds)
    /// from the asked region to `receiving_region`.
    DynamoDbReplicationLatency {
        table: String,
        receiving_region: String,
    },
}

/// The `DBInstances` quota of DescribeAccountAttributes (`AccountQuotas`) in one region: DB
/// instances in use and the most the account may have there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbInstanceQuota {
    pub used: u64,
    pub max: u64,
}

impl DbInstanceQuota {
    /// How many more DB instances the region takes.
    pub fn room(&self) -> u64 {
        self.max.saturating_sub(self.used)
    }
}
