//! The observed world, in the controller's own terms. These mirror the fields of the AWS API
//! responses that the planner needs, nothing more (see shared/reference/aws-facts.md).

use drctl_schema::Timestamp;
use serde::{Deserialize, Serialize};

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
}

impl GlobalCluster {
    pub fn writer(&self) -> Option<&GlobalMember> {
        self.members.iter().find(|m| m.is_writer)
    }

    pub fn member(&self, cluster_arn: &str) -> Option<&GlobalMember> {
        self.members.iter().find(|m| m.cluster_arn == cluster_arn)
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

/// `DBCluster` from DescribeDBClusters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbCluster {
    pub identifier: String,
    pub arn: String,
    pub region: String,
    /// `available`, `creating`, `deleting`, `failing-over`, `promoting`, `modifying`, ...
    pub status: String,
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
    pub status: String,
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
    pub status: String,
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AliasTarget {
    pub dns_name: String,
    pub hosted_zone_id: String,
    pub evaluate_target_health: bool,
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

/// An Application Auto Scaling scalable target for an ECS service's DesiredCount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScalableTarget {
    /// `service/CLUSTER/SERVICE`.
    pub resource_id: String,
    pub min: u32,
    pub max: u32,
}

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
