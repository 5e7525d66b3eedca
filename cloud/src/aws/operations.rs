//! Every AWS operation the adapters call, in ONE table. The adapters take their operation
//! names (for errors and the retry guard) from here, and `iam::policy_for` grants exactly
//! these actions, so a call added to an adapter without a row here cannot compile against a
//! name, and the wire test checks that every operation actually sent on the wire is listed.

use crate::error::Service;

/// The kind of resource an operation is authorised against (used by the IAM policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The global cluster (and, for switchover/failover, the member clusters).
    GlobalCluster,
    /// The member clusters, by ARN.
    Clusters,
    /// All clusters of the group's regions: describe calls filtered by identifier are
    /// authorised against the region's resource wildcard, not a single ARN.
    ClustersListing,
    /// DB instances of the group's regions (instance names are not in the spec).
    Instances,
    /// Cluster snapshots of the group's regions (plus the member clusters they come from).
    Snapshots,
    /// rdsReplica: DB snapshots of the group's regions (plus the instances they come from).
    InstanceSnapshots,
    /// The hosted zone of the record.
    HostedZone,
    /// Route 53 change ids (`change/*`: ids are only known after the change).
    Change,
    /// Route 53 health checks (`healthcheck/*`: ids are not in the spec).
    HealthChecks,
    /// The spec's ARC routing controls.
    RoutingControls,
    /// The spec's ARC cluster.
    ArcCluster,
    /// The ECS services of the spec.
    EcsServices,
    /// Application Auto Scaling scalable targets (ARNs carry a random id).
    ScalableTargets,
    /// The CloudWatch alarms named as witnesses in spec.autoFailover.
    Alarms,
    /// APIs without resource-level permissions: `*` is the only resource AWS accepts.
    Any,
    /// The buckets of spec.dependencies.s3Replication (sources and destinations).
    DependencyBuckets,
    /// The tables of spec.dependencies.dynamodbGlobalTables, in each of their regions.
    DependencyTables,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AwsOperation {
    pub service: Service,
    /// The API operation name as sent on the wire, e.g. `FailoverGlobalCluster`.
    pub name: &'static str,
    /// Does it change anything? Mutations are never retried blindly after they may have been
    /// sent, and report `outcome_unknown` instead.
    pub mutating: bool,
    pub scope: Scope,
}

impl AwsOperation {
    /// The IAM action, e.g. `rds:FailoverGlobalCluster`.
    pub fn iam_action(&self) -> String {
        format!("{}:{}", self.service.as_str(), iam_action_name(self.name))
    }
}

/// The IAM action of an API operation whose action is not named after it (S3's).
pub fn iam_action_name(operation: &str) -> &str {
    match operation {
        "GetBucketReplication" => "GetReplicationConfiguration",
        other => other,
    }
}

const fn op(service: Service, name: &'static str, mutating: bool, scope: Scope) -> AwsOperation {
    AwsOperation {
        service,
        name,
        mutating,
        scope,
    }
}

pub const DESCRIBE_GLOBAL_CLUSTERS: AwsOperation = op(
    Service::Rds,
    "DescribeGlobalClusters",
    false,
    Scope::GlobalCluster,
);
pub const DESCRIBE_DB_CLUSTERS: AwsOperation = op(
    Service::Rds,
    "DescribeDBClusters",
    false,
    Scope::ClustersListing,
);
pub const DESCRIBE_DB_INSTANCES: AwsOperation =
    op(Service::Rds, "DescribeDBInstances", false, Scope::Instances);
pub const SWITCHOVER_GLOBAL_CLUSTER: AwsOperation = op(
    Service::Rds,
    "SwitchoverGlobalCluster",
    true,
    Scope::GlobalCluster,
);
pub const FAILOVER_GLOBAL_CLUSTER: AwsOperation = op(
    Service::Rds,
    "FailoverGlobalCluster",
    true,
    Scope::GlobalCluster,
);
pub const DESCRIBE_DB_CLUSTER_SNAPSHOTS: AwsOperation = op(
    Service::Rds,
    "DescribeDBClusterSnapshots",
    false,
    Scope::Snapshots,
);
pub const CREATE_DB_CLUSTER_SNAPSHOT: AwsOperation = op(
    Service::Rds,
    "CreateDBClusterSnapshot",
    true,
    Scope::Snapshots,
);
pub const COPY_DB_CLUSTER_SNAPSHOT: AwsOperation = op(
    Service::Rds,
    "CopyDBClusterSnapshot",
    true,
    Scope::Snapshots,
);
pub const MODIFY_DB_CLUSTER: AwsOperation =
    op(Service::Rds, "ModifyDBCluster", true, Scope::Clusters);
pub const DELETE_DB_INSTANCE: AwsOperation =
    op(Service::Rds, "DeleteDBInstance", true, Scope::Instances);
pub const DELETE_DB_CLUSTER: AwsOperation =
    op(Service::Rds, "DeleteDBCluster", true, Scope::Clusters);
pub const CREATE_DB_CLUSTER: AwsOperation =
    op(Service::Rds, "CreateDBCluster", true, Scope::GlobalCluster);
pub const CREATE_DB_INSTANCE: AwsOperation =
    op(Service::Rds, "CreateDBInstance", true, Scope::Instances);
/// rdsReplica: the spec's DB instances and their snapshots.
pub const PROMOTE_READ_REPLICA: AwsOperation =
    op(Service::Rds, "PromoteReadReplica", true, Scope::Instances);
pub const CREATE_DB_INSTANCE_READ_REPLICA: AwsOperation = op(
    Service::Rds,
    "CreateDBInstanceReadReplica",
    true,
    Scope::Instances,
);
pub const CREATE_DB_SNAPSHOT: AwsOperation = op(
    Service::Rds,
    "CreateDBSnapshot",
    true,
    Scope::InstanceSnapshots,
);
pub const DESCRIBE_DB_SNAPSHOTS: AwsOperation = op(
    Service::Rds,
    "DescribeDBSnapshots",
    false,
    Scope::InstanceSnapshots,
);

pub const LIST_RESOURCE_RECORD_SETS: AwsOperation = op(
    Service::Route53,
    "ListResourceRecordSets",
    false,
    Scope::HostedZone,
);
pub const CHANGE_RESOURCE_RECORD_SETS: AwsOperation = op(
    Service::Route53,
    "ChangeResourceRecordSets",
    true,
    Scope::HostedZone,
);
pub const GET_CHANGE: AwsOperation = op(Service::Route53, "GetChange", false, Scope::Change);
pub const GET_HEALTH_CHECK: AwsOperation = op(
    Service::Route53,
    "GetHealthCheck",
    false,
    Scope::HealthChecks,
);
/// `routing: healthCheck`: which failover record Route 53 answers with.
pub const GET_HEALTH_CHECK_STATUS: AwsOperation = op(
    Service::Route53,
    "GetHealthCheckStatus",
    false,
    Scope::HealthChecks,
);

/// ARC's data plane: asked at one of the cluster's regional endpoints.
pub const GET_ROUTING_CONTROL_STATE: AwsOperation = op(
    Service::RoutingControl,
    "GetRoutingControlState",
    false,
    Scope::RoutingControls,
);
pub const UPDATE_ROUTING_CONTROL_STATES: AwsOperation = op(
    Service::RoutingControl,
    "UpdateRoutingControlStates",
    true,
    Scope::RoutingControls,
);
/// ARC's control-config API (us-west-2).
pub const DESCRIBE_CLUSTER: AwsOperation = op(
    Service::RecoveryControlConfig,
    "DescribeCluster",
    false,
    Scope::ArcCluster,
);

pub const DESCRIBE_SERVICES: AwsOperation =
    op(Service::Ecs, "DescribeServices", false, Scope::EcsServices);
pub const UPDATE_SERVICE: AwsOperation =
    op(Service::Ecs, "UpdateService", true, Scope::EcsServices);

pub const DESCRIBE_SCALABLE_TARGETS: AwsOperation = op(
    Service::AutoScaling,
    "DescribeScalableTargets",
    false,
    Scope::Any,
);
pub const REGISTER_SCALABLE_TARGET: AwsOperation = op(
    Service::AutoScaling,
    "RegisterScalableTarget",
    true,
    Scope::ScalableTargets,
);

pub const GET_METRIC_DATA: AwsOperation =
    op(Service::CloudWatch, "GetMetricData", false, Scope::Any);
/// The witnesses of automatic failover (only granted to groups that name some).
pub const DESCRIBE_ALARMS: AwsOperation =
    op(Service::CloudWatch, "DescribeAlarms", false, Scope::Alarms);

/// spec.dependencies: read only, and only for groups that declare them.
pub const GET_BUCKET_REPLICATION: AwsOperation = op(
    Service::S3,
    "GetBucketReplication",
    false,
    Scope::DependencyBuckets,
);
pub const GET_BUCKET_VERSIONING: AwsOperation = op(
    Service::S3,
    "GetBucketVersioning",
    false,
    Scope::DependencyBuckets,
);
pub const DESCRIBE_TABLE: AwsOperation = op(
    Service::DynamoDb,
    "DescribeTable",
    false,
    Scope::DependencyTables,
);

/// The continuous pre-flight checks (controller/src/continuous.rs): read only, between
/// operations, memoized fleet-wide. Neither supports resource-level permissions.
pub const DESCRIBE_ORDERABLE_DB_INSTANCE_OPTIONS: AwsOperation = op(
    Service::Rds,
    "DescribeOrderableDBInstanceOptions",
    false,
    Scope::Any,
);
pub const DESCRIBE_ACCOUNT_ATTRIBUTES: AwsOperation =
    op(Service::Rds, "DescribeAccountAttributes", false, Scope::Any);

/// Every operation the adapters make (the health probe is plain HTTP, not AWS).
pub const ALL: &[AwsOperation] = &[
    DESCRIBE_GLOBAL_CLUSTERS,
    DESCRIBE_DB_CLUSTERS,
    DESCRIBE_DB_INSTANCES,
    SWITCHOVER_GLOBAL_CLUSTER,
    FAILOVER_GLOBAL_CLUSTER,
    DESCRIBE_DB_CLUSTER_SNAPSHOTS,
    CREATE_DB_CLUSTER_SNAPSHOT,
    COPY_DB_CLUSTER_SNAPSHOT,
    MODIFY_DB_CLUSTER,
    DELETE_DB_INSTANCE,
    DELETE_DB_CLUSTER,
    CREATE_DB_CLUSTER,
    CREATE_DB_INSTANCE,
    PROMOTE_READ_REPLICA,
    CREATE_DB_INSTANCE_READ_REPLICA,
    CREATE_DB_SNAPSHOT,
    DESCRIBE_DB_SNAPSHOTS,
    LIST_RESOURCE_RECORD_SETS,
    CHANGE_RESOURCE_RECORD_SETS,
    GET_CHANGE,
    GET_HEALTH_CHECK,
    GET_HEALTH_CHECK_STATUS,
    GET_ROUTING_CONTROL_STATE,
    UPDATE_ROUTING_CONTROL_STATES,
    DESCRIBE_CLUSTER,
    DESCRIBE_SERVICES,
    UPDATE_SERVICE,
    DESCRIBE_SCALABLE_TARGETS,
    REGISTER_SCALABLE_TARGET,
    GET_METRIC_DATA,
    DESCRIBE_ALARMS,
    GET_BUCKET_REPLICATION,
    GET_BUCKET_VERSIONING,
    DESCRIBE_TABLE,
    DESCRIBE_ORDERABLE_DB_INSTANCE_OPTIONS,
    DESCRIBE_ACCOUNT_ATTRIBUTES,
];

/// The table row for an operation as the SDK names it (`service` is the SDK's service name
/// in the operation metadata, e.g. `RDS`, `Route 53`; only the operation name is compared
/// because names do not collide across the five services).
pub fn find(name: &str) -> Option<&'static AwsOperation> {
    ALL.iter().find(|op| op.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_names_are_unique_so_lookup_by_name_is_unambiguous() {
        for (i, a) in ALL.iter().enumerate() {
            for b in &ALL[i + 1..] {
                assert_ne!(a.name, b.name);
            }
        }
    }

    #[test]
    fn iam_actions_use_the_iam_service_prefix() {
        assert_eq!(
            REGISTER_SCALABLE_TARGET.iam_action(),
            "application-autoscaling:RegisterScalableTarget"
        );
        assert_eq!(GET_CHANGE.iam_action(), "route53:GetChange");
        assert_eq!(
            GET_BUCKET_REPLICATION.iam_action(),
            "s3:GetReplicationConfiguration"
        );
        assert_eq!(DESCRIBE_TABLE.iam_action(), "dynamodb:DescribeTable");
    }
}
