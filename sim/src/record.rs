//! What the world remembers: the call record, the ground-truth logs the invariant checker
//! reads, and the "when did X become true" facts. Everything here is virtual time and
//! deterministic (no wall clock), so two runs from one seed serialise byte for byte.

use drctl_schema::Timestamp;
use serde::{Deserialize, Serialize};

/// One API call (or store call), as seen by the world.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallRecord {
    /// Global order of calls and store operations (shared with the lease log).
    pub seq: u64,
    pub caller: String,
    /// Virtual milliseconds since the world was created, when the call was applied.
    pub at_ms: i64,
    pub at: Timestamp,
    /// `rds`, `route53`, `ecs`, `application-autoscaling`, `cloudwatch`, `http`, `store`.
    pub service: String,
    /// The AWS API name, e.g. `FailoverGlobalCluster`.
    pub operation: String,
    /// The region asked (`us-east-1` for the Route 53 control plane, empty for the store).
    pub region: String,
    /// What it was about (cluster id, record name, ...).
    pub resource: String,
    pub mutating: bool,
    pub outcome: CallOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallOutcome {
    pub ok: bool,
    /// The AWS error code when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Did the call change the world? (true for a lost response after applying.)
    pub applied: bool,
    pub outcome_unknown: bool,
}

/// A moment when something became true, for critical-path measurements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fact {
    pub at_ms: i64,
    pub at: Timestamp,
    pub kind: FactKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum FactKind {
    RegionDown {
        region: String,
        scope: String,
    },
    RegionUp {
        region: String,
    },
    Route53ControlPlaneDown,
    Route53ControlPlaneUp,
    /// A switchover or failover finished: `cluster` is the global cluster's writer.
    WriterPromoted {
        global: String,
        cluster: String,
        region: String,
        data_loss_allowed: bool,
    },
    PrimaryReadOnly {
        cluster: String,
        region: String,
    },
    /// The old primary was fenced after a failover cut (or its fencing failed).
    OldPrimaryFenced {
        cluster: String,
        region: String,
        fenced: bool,
    },
    RejoinedAsSecondary {
        cluster: String,
        region: String,
    },
    DetachedStale {
        cluster: String,
        region: String,
    },
    ReplicaSynced {
        cluster: String,
        region: String,
    },
    ClusterAvailable {
        cluster: String,
        region: String,
    },
    ClusterDeleted {
        cluster: String,
        region: String,
    },
    InstanceAvailable {
        instance: String,
        region: String,
    },
    InstanceDeleted {
        instance: String,
        region: String,
    },
    SnapshotAvailable {
        snapshot: String,
        region: String,
    },
    DnsInSync {
        change_id: String,
        record: String,
        region: Option<String>,
    },
    TasksReachedDesired {
        region: String,
        cluster: String,
        service: String,
        desired: u32,
    },
    AutoScalingAdjustedDesired {
        region: String,
        cluster: String,
        service: String,
        from: u32,
        to: u32,
    },
    WritesLost {
        global: String,
        count: u64,
        cause_call_seq: u64,
    },
}

/// One application write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WriteRecord {
    pub n: u64,
    pub at_ms: i64,
    /// Cluster (region/id) that committed it; None if no cluster accepted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub committed_at: Option<String>,
    /// Committed to a standalone (detached) cluster, outside the global database.
    #[serde(default)]
    pub standalone: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost: Option<LossCause>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LossCause {
    pub at_ms: i64,
    /// `FailoverCut` (not yet replicated to the target at the failover),
    /// `UnfencedOldPrimary` (accepted by the old primary after the cut),
    /// `DetachedCluster` (written to a cluster outside the global database).
    pub reason: String,
    /// The FailoverGlobalCluster call (its `seq`) that decided it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_seq: Option<u64>,
    pub allow_data_loss: bool,
}

/// What the application lost, per global cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataLossReport {
    pub global: String,
    pub attempted: u64,
    pub committed: u64,
    /// Writes nobody accepted (unavailability, not loss).
    pub rejected: u64,
    /// Committed writes that are not in the global database's history.
    pub lost_writes: Vec<u64>,
    /// Per cause: the FailoverGlobalCluster call and how many writes it cost.
    pub losses: Vec<LossSummary>,
    /// Longest stretch with no committed write while writes were attempted, in ms.
    pub longest_unavailability_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LossSummary {
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_seq: Option<u64>,
    pub allow_data_loss: bool,
    pub count: u64,
}

/// A cluster started or stopped accepting writes (invariant 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WritableChange {
    pub at_ms: i64,
    /// `region/identifier`.
    pub cluster: String,
    pub writable: bool,
    /// Writable as a standalone cluster, outside the global database.
    pub standalone: bool,
}

/// A DeleteDBCluster that the world accepted (invariant 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletionRecord {
    pub call_seq: u64,
    pub at_ms: i64,
    pub cluster: String,
    pub region: String,
    /// Last application write the cluster committed, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_write_at_ms: Option<i64>,
    /// Manual snapshots of it available at that moment: (identifier, data as of, ms).
    pub manual_snapshots: Vec<(String, i64)>,
}

/// A ChangeResourceRecordSets that the world applied, with the world at that moment
/// (invariant 4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DnsChangeRecord {
    pub call_seq: u64,
    pub at_ms: i64,
    pub caller: String,
    pub change_id: String,
    pub hosted_zone_id: String,
    pub record_name: String,
    /// The region whose target the record now points at (None: not one of the spec's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_region: Option<String>,
    /// The global cluster of the group that owns the record, if provisioned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global: Option<String>,
    /// The region of that global cluster's writer at that instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writer_region: Option<String>,
    pub writer_writable: bool,
    /// Services of the group in `to_region`: (name, running, desired).
    pub services: Vec<(String, u32, u32)>,
}

/// A lease change in the sim store (invariant 6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaseLogEntry {
    /// Same sequence as `CallRecord::seq`.
    pub seq: u64,
    pub at_ms: i64,
    pub lease: String,
    pub holder: String,
    pub epoch: u64,
    pub expires_at: Timestamp,
    /// `acquired`, `renewed`, `released`.
    pub action: String,
}
