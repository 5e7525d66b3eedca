//! The least-privilege IAM policy for one FailoverGroup (`drctl iam-policy NAME`).
//!
//! The actions are exactly [`operations::ALL`], the table the adapters call through, so the
//! policy cannot drift from the code. Resources are the group's own ARNs wherever IAM
//! supports resource-level permissions; a region-scoped wildcard where the resource name is
//! not in the spec (instances, snapshots drctl names, Application Auto Scaling targets, whose
//! ARNs carry a random id) or where AWS authorises a filtered listing against the wildcard;
//! `*` only for APIs without resource-level permissions (DescribeScalableTargets,
//! GetMetricData, DynamoDB ListStreams).

use std::collections::BTreeMap;

use drctl_schema::FailoverGroupSpec;
use serde_json::{json, Value};

use super::operations::{self, AwsOperation, Scope};

/// Where the ARNs live: partition (`aws`, `aws-cn`, `aws-us-gov`) and account id (`*` for
/// any account).
#[derive(Debug, Clone, Copy)]
pub struct PolicyTarget<'a> {
    pub partition: &'a str,
    pub account: &'a str,
    /// The DynamoDB table of a `dynamodb://TABLE` store; None for a file store.
    pub dynamodb_table: Option<&'a str>,
}

/// The DynamoDB actions of the `dynamodb://` store (state crate): item reads and conditional
/// writes (transactions are authorised per item action), and the stream used as the change
/// feed. Table creation (`drctl init`) is an operator's one-off and is not granted here.
const DYNAMODB_TABLE_ACTIONS: &[&str] = &[
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:BatchWriteItem",
];
const DYNAMODB_STREAM_ACTIONS: &[&str] = &[
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
];

struct Arns<'a> {
    spec: &'a FailoverGroupSpec,
    p: &'a str,
    account: &'a str,
}

impl Arns<'_> {
    fn rds(&self, region: &str, resource: &str) -> String {
        format!("arn:{}:rds:{region}:{}:{resource}", self.p, self.account)
    }

    /// Global clusters are not regional: their ARN has an empty region field.
    fn global_cluster(&self) -> String {
        format!(
            "arn:{}:rds::{}:global-cluster:{}",
            self.p, self.account, self.spec.database.global_cluster_identifier
        )
    }

    fn clusters(&self) -> Vec<String> {
        self.spec
            .database
            .clusters
            .iter()
            .map(|(region, c)| self.rds(region, &format!("cluster:{}", c.identifier)))
            .collect()
    }

    fn per_region(&self, resource: &str) -> Vec<String> {
        self.spec
            .regions
            .iter()
            .map(|region| self.rds(region, resource))
            .collect()
    }

    fn subnet_groups(&self) -> Vec<String> {
        self.spec
            .database
            .clusters
            .iter()
            .filter_map(|(region, c)| {
                c.db_subnet_group
                    .as_ref()
                    .map(|g| self.rds(region, &format!("subgrp:{g}")))
            })
            .collect()
    }

    /// rdsReplica: the spec's DB instances, by ARN.
    fn instances(&self) -> Vec<String> {
        self.spec
            .database
            .instances
            .iter()
            .map(|(region, i)| self.rds(region, &format!("db:{}", i.identifier)))
            .collect()
    }

    /// rdsReplica: what a call on the instance pair is authorised against. Every call names
    /// one of the spec's instances; CreateDBInstanceReadReplica also its subnet group, and
    /// CreateDBSnapshot the snapshot, whose name drctl chooses (`drctl-stale-*`).
    fn instance_resources(&self, op: &AwsOperation) -> Vec<String> {
        let mut r = self.instances();
        if op.name == operations::CREATE_DB_INSTANCE_READ_REPLICA.name {
            r.extend(
                self.spec
                    .database
                    .instances
                    .iter()
                    .filter_map(|(region, i)| {
                        i.db_subnet_group
                            .as_ref()
                            .map(|g| self.rds(region, &format!("subgrp:{g}")))
                    }),
            );
        }
        if op.name == operations::CREATE_DB_SNAPSHOT.name {
            r.extend(self.per_region("snapshot:drctl-*"));
        }
        if op.name == operations::DESCRIBE_DB_SNAPSHOTS.name {
            r.extend(self.per_region("snapshot:*"));
        }
        r
    }

    fn routing_control(&self) -> Option<&drctl_schema::RoutingControlSpec> {
        self.spec.dns.routing_control()
    }

    fn hosted_zone(&self) -> String {
        let zone = self
            .spec
            .dns
            .hosted_zone_id
            .trim_start_matches("/hostedzone/");
        format!("arn:{}:route53:::hostedzone/{zone}", self.p)
    }

    fn ecs_services(&self) -> Vec<String> {
        self.spec
            .compute
            .services
            .iter()
            .flat_map(|s| s.regions.iter())
            .map(|(region, r)| {
                format!(
                    "arn:{}:ecs:{region}:{}:service/{}/{}",
                    self.p, self.account, r.cluster, r.service
                )
            })
            .collect()
    }

    fn scalable_targets(&self) -> Vec<String> {
        self.spec
            .regions
            .iter()
            .map(|region| {
                format!(
                    "arn:{}:application-autoscaling:{region}:{}:scalable-target/*",
                    self.p, self.account
                )
            })
            .collect()
    }

    /// The witness alarms of spec.autoFailover, each in its own region.
    fn alarms(&self) -> Vec<String> {
        self.spec
            .auto_failover
            .iter()
            .flat_map(|p| p.witnesses.alarms.iter())
            .map(|a| {
                format!(
                    "arn:{}:cloudwatch:{}:{}:alarm:{}",
                    self.p, a.region, self.account, a.name
                )
            })
            .collect()
    }

    /// spec.dependencies.s3Replication's buckets, sources and destinations.
    fn dependency_buckets(&self) -> Vec<String> {
        self.spec
            .dependencies
            .iter()
            .flat_map(|d| d.buckets())
            .flat_map(|b| [&b.bucket, &b.destination_bucket])
            .map(|bucket| format!("arn:{}:s3:::{bucket}", self.p))
            .collect()
    }

    /// spec.dependencies.dynamodbGlobalTables' tables, each in its listed regions.
    fn dependency_tables(&self) -> Vec<String> {
        self.spec
            .dependencies
            .iter()
            .flat_map(|d| d.tables())
            .flat_map(|t| {
                t.regions.iter().map(move |region| {
                    format!(
                        "arn:{}:dynamodb:{region}:{}:table/{}",
                        self.p, self.account, t.table
                    )
                })
            })
            .collect()
    }

    /// The resources one operation is authorised against.
    fn resources(&self, op: &AwsOperation) -> Vec<String> {
        // Calls without resource-level permissions (the continuous checks') are on "*"
        // whatever the database kind.
        if self.spec.database.kind == drctl_schema::DatabaseKind::RdsReplica
            && op.service == crate::error::Service::Rds
            && op.scope != Scope::Any
        {
            let mut resources = self.instance_resources(op);
            resources.sort();
            resources.dedup();
            return resources;
        }
        let mut resources = match op.scope {
            // Switchover/failover name both the global cluster and the target member;
            // CreateDBCluster names the new member, the global cluster and its subnet group.
            Scope::GlobalCluster => {
                let mut r = vec![self.global_cluster()];
                if op.mutating {
                    r.extend(self.clusters());
                }
                if op.name == operations::CREATE_DB_CLUSTER.name {
                    r.extend(self.subnet_groups());
                }
                r
            }
            Scope::Clusters => self.clusters(),
            Scope::ClustersListing => self.per_region("cluster:*"),
            // Instance names are not in the spec; CreateDBInstance also names its cluster.
            Scope::Instances => {
                let mut r = self.per_region("db:*");
                if op.name == operations::CREATE_DB_INSTANCE.name {
                    r.extend(self.clusters());
                }
                r
            }
            // Snapshot names are chosen by the controller at run time (and the system
            // snapshots by Aurora); the clusters they are taken from are ours.
            Scope::Snapshots => {
                let mut r = self.per_region("cluster-snapshot:*");
                r.extend(self.clusters());
                r
            }
            Scope::HostedZone => vec![self.hosted_zone()],
            Scope::Change => vec![format!("arn:{}:route53:::change/*", self.p)],
            Scope::HealthChecks => vec![format!("arn:{}:route53:::healthcheck/*", self.p)],
            // The spec's ARNs as written: they carry their account already.
            Scope::RoutingControls => self
                .routing_control()
                .map_or_else(Vec::new, |rc| rc.controls.values().cloned().collect()),
            Scope::ArcCluster => self
                .routing_control()
                .map_or_else(Vec::new, |rc| vec![rc.cluster_arn.clone()]),
            Scope::EcsServices => self.ecs_services(),
            Scope::ScalableTargets => self.scalable_targets(),
            Scope::Alarms => self.alarms(),
            Scope::InstanceSnapshots => Vec::new(),
            Scope::Any => vec!["*".to_string()],
            // Empty without dependencies of that kind: the action is then not granted.
            Scope::DependencyBuckets => self.dependency_buckets(),
            Scope::DependencyTables => self.dependency_tables(),
        };
        resources.sort();
        resources.dedup();
        resources
    }
}

/// The operations a group of this spec makes (the policy's actions, KMS and the store aside).
pub fn operations_for(spec: &FailoverGroupSpec) -> Vec<&'static AwsOperation> {
    operations::ALL
        .iter()
        .filter(|op| needed(spec, op))
        .collect()
}

/// Does a group of this spec make this call? The ARC calls and GetHealthCheck are made only
/// for `spec.dns.routing: routingControl`, GetHealthCheckStatus only for `healthCheck`, the
/// witness reads only for a `spec.autoFailover` with witness alarms.
fn needed(spec: &FailoverGroupSpec, op: &AwsOperation) -> bool {
    if op.name == operations::GET_HEALTH_CHECK_STATUS.name {
        return spec.dns.routing == drctl_schema::DnsRouting::HealthCheck;
    }
    if op.service == crate::error::Service::Rds {
        let rds_replica = spec.database.kind == drctl_schema::DatabaseKind::RdsReplica;
        return if rds_replica {
            RDS_REPLICA_OPERATIONS.contains(&op.name)
        } else {
            !RDS_REPLICA_ONLY.contains(&op.name)
        };
    }
    match op.scope {
        Scope::HealthChecks | Scope::RoutingControls | Scope::ArcCluster => {
            spec.dns.routing == drctl_schema::DnsRouting::RoutingControl
        }
        Scope::Alarms => spec
            .auto_failover
            .as_ref()
            .is_some_and(|policy| !policy.witnesses.alarms.is_empty()),
        Scope::DependencyBuckets => spec
            .dependencies
            .as_ref()
            .is_some_and(|d| !d.buckets().is_empty()),
        Scope::DependencyTables => spec
            .dependencies
            .as_ref()
            .is_some_and(|d| !d.tables().is_empty()),
        _ => true,
    }
}

/// The RDS calls of an rdsReplica group (observe/rds_replica steps), and those only it makes.
const RDS_REPLICA_OPERATIONS: &[&str] = &[
    operations::DESCRIBE_DB_INSTANCES.name,
    operations::PROMOTE_READ_REPLICA.name,
    operations::CREATE_DB_INSTANCE_READ_REPLICA.name,
    operations::DELETE_DB_INSTANCE.name,
    operations::CREATE_DB_SNAPSHOT.name,
    operations::DESCRIBE_DB_SNAPSHOTS.name,
    operations::DESCRIBE_ORDERABLE_DB_INSTANCE_OPTIONS.name,
    operations::DESCRIBE_ACCOUNT_ATTRIBUTES.name,
];
const RDS_REPLICA_ONLY: &[&str] = &[
    operations::PROMOTE_READ_REPLICA.name,
    operations::CREATE_DB_INSTANCE_READ_REPLICA.name,
    operations::CREATE_DB_SNAPSHOT.name,
    operations::DESCRIBE_DB_SNAPSHOTS.name,
];

fn statement(sid: &str, actions: Vec<String>, resources: Vec<String>) -> Value {
    json!({
        "Sid": sid,
        "Effect": "Allow",
        "Action": actions,
        "Resource": resources,
    })
}

fn sid(op: &AwsOperation) -> String {
    pascal_case(op.service.as_str())
}

/// "application-autoscaling" -> "ApplicationAutoscaling": a service's name as a Sid.
fn pascal_case(service: &str) -> String {
    service
        .split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The policy document for one group's spec.
pub fn policy_for(spec: &FailoverGroupSpec, target: PolicyTarget<'_>) -> Value {
    let arns = Arns {
        spec,
        p: target.partition,
        account: target.account,
    };
    // One statement per (service, resource list): operations that share exactly the same
    // resources share a statement, so the document stays readable.
    let mut grouped: BTreeMap<(String, Vec<String>), Vec<String>> = BTreeMap::new();
    let mut statements = Vec::new();
    for op in operations::ALL {
        if !needed(spec, op) {
            continue;
        }
        if op.name == operations::CHANGE_RESOURCE_RECORD_SETS.name {
            // Only our record, only our type: the zone may hold records drctl must not touch.
            let mut s = statement(
                "Route53ChangeOwnRecord",
                vec![op.iam_action()],
                arns.resources(op),
            );
            s["Condition"] = json!({
                "ForAllValues:StringEquals": {
                    "route53:ChangeResourceRecordSetsNormalizedRecordNames":
                        [crate::dns_name::bare(&spec.dns.record_name)],
                    "route53:ChangeResourceRecordSetsRecordTypes":
                        [spec.dns.record_type.as_str()],
                }
            });
            statements.push(s);
            continue;
        }
        let resources = arns.resources(op);
        if resources.is_empty() {
            // Nothing of the group to act on (no witness alarms): not granted at all.
            continue;
        }
        grouped
            .entry((sid(op), resources))
            .or_default()
            .push(op.iam_action());
    }
    let mut counters: BTreeMap<String, usize> = BTreeMap::new();
    for ((service_sid, resources), actions) in grouped {
        let n = counters.entry(service_sid.clone()).or_default();
        *n += 1;
        statements.push(statement(&format!("{service_sid}{n}"), actions, resources));
    }

    // Encrypted secondaries: RDS uses the caller's permissions on the region's KMS key when
    // CreateDBCluster names it, and only through RDS.
    // rdsReplica: CreateDBInstanceReadReplica names the replica region's key the same way.
    let instance_keys = spec
        .database
        .instances
        .iter()
        .map(|(region, i)| (region, i.kms_key_id.as_ref()));
    let kms_keys: Vec<(String, String)> = spec
        .database
        .clusters
        .iter()
        .map(|(region, c)| (region, c.kms_key_id.as_ref()))
        .chain(instance_keys)
        .filter_map(|(region, key)| {
            key.map(|k| {
                let arn = if k.starts_with("arn:") {
                    k.clone()
                } else {
                    // A key id or alias: IAM matches key ARNs only, so the region's keys.
                    format!(
                        "arn:{}:kms:{region}:{}:key/*",
                        target.partition, target.account
                    )
                };
                (region.clone(), arn)
            })
        })
        .collect();
    if !kms_keys.is_empty() {
        let mut s = statement(
            "KmsForEncryptedSecondary",
            vec!["kms:DescribeKey".into(), "kms:CreateGrant".into()],
            kms_keys.iter().map(|(_, arn)| arn.clone()).collect(),
        );
        s["Condition"] = json!({
            "StringEquals": {
                "kms:ViaService": kms_keys
                    .iter()
                    .map(|(region, _)| format!("rds.{region}.amazonaws.com"))
                    .collect::<Vec<_>>()
            }
        });
        statements.push(s);
    }

    if let Some(table) = target.dynamodb_table {
        // The table's region comes from the standard chain at run time, not from the spec.
        let table_arn = format!(
            "arn:{}:dynamodb:*:{}:table/{table}",
            target.partition, target.account
        );
        statements.push(statement(
            "DynamoDbStore",
            DYNAMODB_TABLE_ACTIONS
                .iter()
                .map(|a| a.to_string())
                .collect(),
            vec![table_arn.clone(), format!("{table_arn}/index/*")],
        ));
        statements.push(statement(
            "DynamoDbStoreChangeFeed",
            DYNAMODB_STREAM_ACTIONS
                .iter()
                .map(|a| a.to_string())
                .collect(),
            vec![format!("{table_arn}/stream/*")],
        ));
        statements.push(statement(
            "DynamoDbListStreams",
            vec!["dynamodb:ListStreams".to_string()],
            vec!["*".to_string()],
        ));
    }

    json!({
        "Version": "2012-10-17",
        "Statement": statements,
    })
}

/// One policy for a fleet (`drctl iam-policy -l SELECTOR`): every group's policy, with the
/// statements that grant the same actions under the same kind of condition merged into one,
/// their resources and condition values unioned. A merged statement allows nothing a group's
/// own policy did not allow to some group, with one loosening, which is why it is not used
/// for a single group: a record-change statement of one hosted zone lists the record names
/// and the record types of all its groups, so a name may be changed with another group's type.
/// Statements that carry a condition merge only within the same resources (a record-change
/// grant never spreads to another zone); the KMS grant merges across keys, whose region
/// already ties them to their `kms:ViaService`.
pub fn fleet_policy<'a>(
    specs: impl IntoIterator<Item = &'a FailoverGroupSpec>,
    target: PolicyTarget<'_>,
) -> Value {
    let mut merged: BTreeMap<String, MergedStatement> = BTreeMap::new();
    for spec in specs {
        let policy = policy_for(spec, target);
        for s in policy["Statement"].as_array().into_iter().flatten() {
            let actions = sorted_strings(&s["Action"]);
            let stem = sid_stem(s["Sid"].as_str().unwrap_or_default(), &actions);
            let resources = sorted_strings(&s["Resource"]);
            let condition = condition_shape(&s["Condition"]);
            let scope = if condition.is_empty() || stem.starts_with("Kms") {
                Vec::new()
            } else {
                resources.clone()
            };
            let key =
                serde_json::to_string(&(&stem, &actions, &condition, scope)).unwrap_or_default();
            merged
                .entry(key)
                .or_insert_with(|| MergedStatement::new(stem, actions))
                .add(resources, &s["Condition"]);
        }
    }
    let mut counters: BTreeMap<String, usize> = BTreeMap::new();
    let mut stems: BTreeMap<&str, usize> = BTreeMap::new();
    for m in merged.values() {
        *stems.entry(m.stem.as_str()).or_default() += 1;
    }
    let statements: Vec<Value> = merged
        .values()
        .map(|m| {
            let n = counters.entry(m.stem.clone()).or_default();
            *n += 1;
            let sid = if stems.get(m.stem.as_str()).copied().unwrap_or(0) > 1 {
                format!("{}{n}", m.stem)
            } else {
                m.stem.clone()
            };
            m.render(&sid)
        })
        .collect();
    json!({
        "Version": "2012-10-17",
        "Statement": statements,
    })
}

/// A fleet policy small enough for IAM (`drctl iam-policy -l ... --compact`): within each
/// statement, the ARNs of one resource type in one region and account (two or more of them)
/// become that type's wildcard, `arn:aws:rds:us-east-1:111122223333:cluster:*`. This widens
/// the grant from the fleet's resources to every resource of those types there, which is the
/// price of a fleet in one policy: at about 1.1 KB of ARNs per group, exact grants fit IAM's
/// 6,144 characters for two or three groups. Hosted zones are never widened (a fleet has few,
/// and record changes stay limited to the listed record names), nor is a statement's
/// condition.
pub fn compact_resources(policy: &Value) -> Value {
    let mut out = policy.clone();
    for s in out["Statement"].as_array_mut().into_iter().flatten() {
        let resources = sorted_strings(&s["Resource"]);
        let mut by_type: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for arn in resources {
            by_type.entry(arn_type_prefix(&arn)).or_default().push(arn);
        }
        let compacted: std::collections::BTreeSet<String> = by_type
            .into_iter()
            .flat_map(|(prefix, arns)| {
                let widen =
                    arns.len() > 1 && !prefix.is_empty() && !prefix.ends_with("hostedzone/");
                if widen {
                    vec![format!("{prefix}*")]
                } else {
                    arns
                }
            })
            .collect();
        s["Resource"] = json!(compacted);
    }
    out
}

/// An ARN up to and including its resource type's separator ("...:cluster:", "...:service/");
/// empty for anything that is not an ARN with a typed resource.
fn arn_type_prefix(arn: &str) -> String {
    // arn:partition:service:region:account:resource
    let mut fields = arn.splitn(6, ':');
    let head: Vec<&str> = fields.by_ref().take(5).collect();
    let Some(resource) = fields.next() else {
        return String::new();
    };
    if head.len() < 5 || head[0] != "arn" {
        return String::new();
    }
    match resource.find([':', '/']) {
        Some(i) => format!("{}:{}", head.join(":"), &resource[..=i]),
        None => String::new(),
    }
}

/// IAM's limit on a customer managed policy: 6,144 characters, whitespace not counted.
pub const MANAGED_POLICY_MAX_CHARS: usize = 6_144;

/// A policy's size as IAM counts it against [`MANAGED_POLICY_MAX_CHARS`].
pub fn policy_chars(policy: &Value) -> usize {
    serde_json::to_string(policy)
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_whitespace())
        .count()
}

struct MergedStatement {
    stem: String,
    actions: Vec<String>,
    resources: std::collections::BTreeSet<String>,
    /// operator -> condition key -> values
    condition: BTreeMap<String, BTreeMap<String, std::collections::BTreeSet<String>>>,
}

impl MergedStatement {
    fn new(stem: String, actions: Vec<String>) -> Self {
        MergedStatement {
            stem,
            actions,
            resources: Default::default(),
            condition: BTreeMap::new(),
        }
    }

    fn add(&mut self, resources: Vec<String>, condition: &Value) {
        self.resources.extend(resources);
        for (op, keys) in condition.as_object().into_iter().flatten() {
            let entry = self.condition.entry(op.clone()).or_default();
            for (key, values) in keys.as_object().into_iter().flatten() {
                entry
                    .entry(key.clone())
                    .or_default()
                    .extend(sorted_strings(values));
            }
        }
    }

    fn render(&self, sid: &str) -> Value {
        let mut s = statement(
            sid,
            self.actions.clone(),
            self.resources.iter().cloned().collect(),
        );
        if !self.condition.is_empty() {
            s["Condition"] = json!(self.condition);
        }
        s
    }
}

/// The kind of a statement: a numbered one ("Rds3", "Route532") is its service's, taken from
/// its first action since a service's name may end in digits; a named one is its name.
fn sid_stem(sid: &str, actions: &[String]) -> String {
    let numbered = sid.ends_with(|c: char| c.is_ascii_digit());
    match actions.first().and_then(|a| a.split_once(':')) {
        Some((service, _)) if numbered => pascal_case(service),
        _ => sid.to_string(),
    }
}

/// A string or a list of strings, sorted.
fn sorted_strings(value: &Value) -> Vec<String> {
    let mut out: Vec<String> = match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    out.sort();
    out.dedup();
    out
}

/// A condition's operators and keys, without their values.
fn condition_shape(condition: &Value) -> Vec<(String, Vec<String>)> {
    condition
        .as_object()
        .into_iter()
        .flatten()
        .map(|(op, keys)| {
            let mut names: Vec<String> = keys
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, _)| k.clone())
                .collect();
            names.sort();
            (op.clone(), names)
        })
        .collect()
}

/// Every action the policy allows (for checks such as "every operation sent is allowed").
pub fn allowed_actions(policy: &Value) -> Vec<String> {
    let mut actions: Vec<String> = policy["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["Action"].as_array().into_iter().flatten())
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect();
    actions.sort();
    actions.dedup();
    actions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example_spec() -> FailoverGroupSpec {
        let yaml = include_str!("../../../examples/failovergroup.yaml");
        let mut docs = drctl_schema::parse_documents(yaml.as_bytes(), "failovergroup.yaml")
            .expect("the example parses");
        docs.remove(0).spec
    }

    fn target(table: Option<&str>) -> PolicyTarget<'_> {
        PolicyTarget {
            partition: "aws",
            account: "111122223333",
            dynamodb_table: table,
        }
    }

    fn statements(policy: &Value) -> Vec<Value> {
        policy["Statement"].as_array().cloned().unwrap_or_default()
    }

    fn statement_with(policy: &Value, action: &str) -> Value {
        statements(policy)
            .into_iter()
            .find(|s| {
                s["Action"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|x| x == action))
            })
            .unwrap_or_else(|| panic!("no statement allows {action}"))
    }

    #[test]
    fn the_policy_allows_exactly_the_operations_the_adapters_call_plus_kms_for_rds() {
        let spec = example_spec();
        let policy = policy_for(&spec, target(None));
        let mut expected: Vec<String> = operations::ALL
            .iter()
            .filter(|op| needed(&spec, op))
            .map(|op| op.iam_action())
            .collect();
        expected.push("kms:CreateGrant".into());
        expected.push("kms:DescribeKey".into());
        expected.sort();
        assert_eq!(allowed_actions(&policy), expected);
    }

    fn routing_control_spec() -> FailoverGroupSpec {
        let yaml = include_str!("../../../examples/failovergroup-routing-control.yaml");
        let mut docs =
            drctl_schema::parse_documents(yaml.as_bytes(), "rc.yaml").expect("the example parses");
        docs.remove(0).spec
    }

    #[test]
    fn only_a_routing_control_group_is_granted_arc_and_health_check_reads() {
        let upsert = allowed_actions(&policy_for(&example_spec(), target(None)));
        assert!(
            !upsert
                .iter()
                .any(|a| a.starts_with("route53-recovery") || a == "route53:GetHealthCheck"),
            "{upsert:?}"
        );
        let spec = routing_control_spec();
        let policy = policy_for(&spec, target(None));
        let rc = spec.dns.routing_control.clone().unwrap_or_default();
        let update = statement_with(
            &policy,
            "route53-recovery-cluster:UpdateRoutingControlStates",
        );
        let mut controls: Vec<String> = rc.controls.values().cloned().collect();
        controls.sort();
        assert_eq!(update["Resource"], json!(controls));
        let reads = statement_with(&policy, "route53-recovery-cluster:GetRoutingControlState");
        assert_eq!(reads["Resource"], json!(controls));
        let describe = statement_with(&policy, "route53-recovery-control-config:DescribeCluster");
        assert_eq!(describe["Resource"], json!([rc.cluster_arn]));
        let health = statement_with(&policy, "route53:GetHealthCheck");
        assert_eq!(
            health["Resource"],
            json!(["arn:aws:route53:::healthcheck/*"])
        );
    }

    #[test]
    fn only_a_health_check_group_is_granted_health_check_status_reads() {
        let yaml = include_str!("../../../examples/failovergroup-health-check.yaml");
        let spec = drctl_schema::parse_documents(yaml.as_bytes(), "hc.yaml")
            .expect("the example parses")
            .remove(0)
            .spec;
        let policy = policy_for(&spec, target(None));
        let actions = allowed_actions(&policy);
        assert!(actions.contains(&"route53:GetHealthCheckStatus".to_string()));
        assert!(
            !actions
                .iter()
                .any(|a| a.starts_with("route53-recovery") || a == "route53:GetHealthCheck"),
            "{actions:?}"
        );
        let status = statement_with(&policy, "route53:GetHealthCheckStatus");
        assert_eq!(
            status["Resource"],
            json!(["arn:aws:route53:::healthcheck/*"])
        );
        for other in [example_spec(), routing_control_spec()] {
            let actions = allowed_actions(&policy_for(&other, target(None)));
            assert!(!actions.contains(&"route53:GetHealthCheckStatus".to_string()));
        }
    }

    /// The example group renamed: its own global cluster and record, the same zone.
    fn second_group() -> FailoverGroupSpec {
        let mut spec = example_spec();
        spec.database.global_cluster_identifier = "payments-global".into();
        spec.dns.record_name = "pay.example.com".into();
        spec
    }

    fn resources_of(statement: &Value) -> Vec<String> {
        sorted_strings(&statement["Resource"])
    }

    #[test]
    fn a_fleet_policy_of_one_group_allows_what_the_groups_own_policy_allows() {
        let spec = example_spec();
        let own = policy_for(&spec, target(Some("drctl")));
        let fleet = fleet_policy([&spec], target(Some("drctl")));
        assert_eq!(allowed_actions(&fleet), allowed_actions(&own));
        for action in allowed_actions(&own) {
            assert_eq!(
                resources_of(&statement_with(&fleet, &action)),
                resources_of(&statement_with(&own, &action)),
                "{action}"
            );
        }
    }

    #[test]
    fn a_fleet_policy_merges_the_groups_statements_and_unions_their_resources() {
        let (a, b) = (example_spec(), second_group());
        let one = policy_for(&a, target(Some("drctl")));
        let fleet = fleet_policy([&a, &b], target(Some("drctl")));
        assert_eq!(
            statements(&fleet).len(),
            statements(&one).len(),
            "two groups of one shape: one statement per kind"
        );
        let switchover = resources_of(&statement_with(&fleet, "rds:SwitchoverGlobalCluster"));
        for id in ["myapp-prod-global", "payments-global"] {
            let arn = format!("arn:aws:rds::111122223333:global-cluster:{id}");
            assert!(switchover.contains(&arn), "{arn} in {switchover:?}");
        }
        let change = statement_with(&fleet, "route53:ChangeResourceRecordSets");
        assert_eq!(
            change["Condition"]["ForAllValues:StringEquals"]
                ["route53:ChangeResourceRecordSetsNormalizedRecordNames"],
            json!(["api.example.com", "pay.example.com"])
        );
        let mut sids: Vec<String> = statements(&fleet)
            .iter()
            .filter_map(|s| s["Sid"].as_str().map(str::to_string))
            .collect();
        sids.sort();
        sids.dedup();
        assert_eq!(sids.len(), statements(&fleet).len(), "every Sid unique");
    }

    #[test]
    fn a_record_change_grant_never_spreads_to_another_groups_zone() {
        let a = example_spec();
        let mut b = second_group();
        b.dns.hosted_zone_id = "Z0OTHERZONE0000000000".into();
        let fleet = fleet_policy([&a, &b], target(None));
        let changes: Vec<Value> = statements(&fleet)
            .into_iter()
            .filter(|s| {
                s["Sid"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("Route53ChangeOwnRecord"))
            })
            .collect();
        assert_eq!(changes.len(), 2, "{changes:?}");
        for c in changes {
            assert_eq!(resources_of(&c).len(), 1, "{c}");
        }
    }

    #[test]
    fn compacting_widens_each_resource_type_to_its_wildcard_but_never_a_hosted_zone() {
        let (a, mut b) = (example_spec(), second_group());
        b.dns.hosted_zone_id = "Z0OTHERZONE0000000000".into();
        let fleet = fleet_policy([&a, &b], target(None));
        let compact = compact_resources(&fleet);
        assert_eq!(allowed_actions(&compact), allowed_actions(&fleet));
        let switchover = resources_of(&statement_with(&compact, "rds:SwitchoverGlobalCluster"));
        assert!(
            switchover.contains(&"arn:aws:rds::111122223333:global-cluster:*".to_string()),
            "{switchover:?}"
        );
        let changes: Vec<String> = statements(&compact)
            .iter()
            .filter(|s| {
                s["Sid"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("Route53ChangeOwnRecord"))
            })
            .flat_map(resources_of)
            .collect();
        assert_eq!(changes.len(), 2, "each zone kept exact: {changes:?}");
        assert!(changes.iter().all(|z| !z.ends_with('*')));
        assert!(policy_chars(&compact) < policy_chars(&fleet));
    }

    #[test]
    fn a_merged_statement_keeps_its_services_name_even_when_it_ends_in_digits() {
        let fleet = fleet_policy([&example_spec(), &second_group()], target(None));
        let sid = statement_with(&fleet, "route53:GetChange")["Sid"].clone();
        assert!(
            sid.as_str().is_some_and(|s| s.starts_with("Route53")),
            "{sid}"
        );
    }

    #[test]
    fn a_single_arn_of_its_type_is_kept_exact() {
        let policy = json!({"Statement": [{"Resource": [
            "arn:aws:rds:us-east-1:1:cluster:a", "arn:aws:rds:us-west-2:1:cluster:b", "*"
        ]}]});
        assert_eq!(
            compact_resources(&policy)["Statement"][0]["Resource"],
            json!([
                "*",
                "arn:aws:rds:us-east-1:1:cluster:a",
                "arn:aws:rds:us-west-2:1:cluster:b"
            ])
        );
    }

    #[test]
    fn the_size_iam_counts_leaves_out_whitespace() {
        let policy = json!({"Version": "2012-10-17", "Statement": []});
        assert_eq!(
            policy_chars(&policy),
            r#"{"Version":"2012-10-17","Statement":[]}"#.len()
        );
    }

    #[test]
    fn mutations_are_scoped_to_the_groups_own_resources() {
        let policy = policy_for(&example_spec(), target(None));
        let switchover = statement_with(&policy, "rds:SwitchoverGlobalCluster");
        let resources: Vec<&str> = switchover["Resource"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        assert!(resources.contains(&"arn:aws:rds::111122223333:global-cluster:myapp-prod-global"));
        assert!(
            resources.contains(&"arn:aws:rds:us-west-2:111122223333:cluster:myapp-prod-secondary")
        );
        assert!(!resources.contains(&"*"));

        let update = statement_with(&policy, "ecs:UpdateService");
        assert_eq!(
            update["Resource"],
            json!([
                "arn:aws:ecs:us-east-1:111122223333:service/myapp-prod/api",
                "arn:aws:ecs:us-east-1:111122223333:service/myapp-prod/worker",
                "arn:aws:ecs:us-west-2:111122223333:service/myapp-prod-dr/api",
                "arn:aws:ecs:us-west-2:111122223333:service/myapp-prod-dr/worker",
            ])
        );

        let change = statement_with(&policy, "route53:ChangeResourceRecordSets");
        assert_eq!(
            change["Resource"],
            json!(["arn:aws:route53:::hostedzone/Z0123456789ABCDEFGHIJ"])
        );
        assert_eq!(
            change["Condition"]["ForAllValues:StringEquals"]
                ["route53:ChangeResourceRecordSetsNormalizedRecordNames"],
            json!(["api.example.com"])
        );
    }

    #[test]
    fn star_is_granted_only_to_apis_without_resource_level_permissions() {
        let policy = policy_for(&example_spec(), target(Some("drctl")));
        let mut star_actions: Vec<String> = statements(&policy)
            .iter()
            .filter(|s| {
                s["Resource"]
                    .as_array()
                    .is_some_and(|r| r.iter().any(|x| x == "*"))
            })
            .flat_map(|s| s["Action"].as_array().cloned().unwrap_or_default())
            .filter_map(|a| a.as_str().map(str::to_string))
            .collect();
        star_actions.sort();
        assert_eq!(
            star_actions,
            [
                "application-autoscaling:DescribeScalableTargets",
                "cloudwatch:GetMetricData",
                "dynamodb:ListStreams",
                "rds:DescribeAccountAttributes",
                "rds:DescribeOrderableDBInstanceOptions",
            ]
        );
    }

    #[test]
    fn a_dynamodb_store_adds_its_table_and_stream_and_a_file_store_adds_nothing() {
        let with_table = policy_for(&example_spec(), target(Some("drctl")));
        let item = statement_with(&with_table, "dynamodb:UpdateItem");
        assert_eq!(
            item["Resource"],
            json!([
                "arn:aws:dynamodb:*:111122223333:table/drctl",
                "arn:aws:dynamodb:*:111122223333:table/drctl/index/*",
            ])
        );
        let without = policy_for(&example_spec(), target(None));
        assert!(!allowed_actions(&without)
            .iter()
            .any(|a| a.starts_with("dynamodb:")));
    }

    #[test]
    fn dependencies_are_granted_their_reads_on_their_own_arns_only() {
        let without = allowed_actions(&policy_for(&example_spec(), target(None)));
        assert!(
            !without
                .iter()
                .any(|a| a.starts_with("s3:") || a == "dynamodb:DescribeTable"),
            "{without:?}"
        );
        let mut spec = example_spec();
        spec.dependencies = Some(drctl_schema::DependenciesSpec {
            s3_replication: Some(vec![drctl_schema::S3ReplicationDependency {
                bucket: "shop-assets-east".into(),
                region: "us-east-1".into(),
                destination_bucket: "shop-assets-west".into(),
            }]),
            dynamodb_global_tables: Some(vec![drctl_schema::GlobalTableDependency {
                table: "shop-sessions".into(),
                regions: vec!["us-east-1".into(), "us-west-2".into()],
            }]),
        });
        let policy = policy_for(&spec, target(None));
        let s3 = statement_with(&policy, "s3:GetReplicationConfiguration");
        assert_eq!(
            s3["Action"],
            json!(["s3:GetReplicationConfiguration", "s3:GetBucketVersioning"])
        );
        assert_eq!(
            s3["Resource"],
            json!([
                "arn:aws:s3:::shop-assets-east",
                "arn:aws:s3:::shop-assets-west"
            ])
        );
        let table = statement_with(&policy, "dynamodb:DescribeTable");
        assert_eq!(
            table["Resource"],
            json!([
                "arn:aws:dynamodb:us-east-1:111122223333:table/shop-sessions",
                "arn:aws:dynamodb:us-west-2:111122223333:table/shop-sessions",
            ])
        );
        assert_eq!(table["Action"], json!(["dynamodb:DescribeTable"]));
    }

    #[test]
    fn witness_alarms_are_granted_describe_alarms_on_their_arns_and_nothing_else_is() {
        let without = policy_for(&example_spec(), target(None));
        assert!(!allowed_actions(&without)
            .iter()
            .any(|a| a == "cloudwatch:DescribeAlarms"));
        let mut spec = example_spec();
        spec.auto_failover = Some(drctl_schema::AutoFailoverSpec {
            enabled: true,
            after_seconds: 60,
            max_data_loss_seconds: 5,
            cooldown_seconds: 3600,
            witnesses: drctl_schema::WitnessesSpec {
                alarms: vec![drctl_schema::AlarmRef {
                    region: "us-west-2".into(),
                    name: "api-east-synthetics-failing".into(),
                }],
            },
            min_witnesses: None,
        });
        let with = policy_for(&spec, target(None));
        let describe = statement_with(&with, "cloudwatch:DescribeAlarms");
        assert_eq!(
            describe["Resource"],
            json!(["arn:aws:cloudwatch:us-west-2:111122223333:alarm:api-east-synthetics-failing"])
        );
    }

    #[test]
    fn both_database_kinds_are_granted_the_continuous_checks_reads_on_any_resource() {
        let rds_yaml = include_str!("../../../examples/failovergroup-rds.yaml");
        let rds = drctl_schema::parse_documents(rds_yaml.as_bytes(), "rds.yaml")
            .expect("the example parses")
            .remove(0)
            .spec;
        for spec in [example_spec(), rds] {
            let policy = policy_for(&spec, target(None));
            for action in [
                "rds:DescribeOrderableDBInstanceOptions",
                "rds:DescribeAccountAttributes",
            ] {
                let statement = statement_with(&policy, action);
                assert_eq!(statement["Resource"], json!(["*"]), "{action}");
            }
        }
    }
}
