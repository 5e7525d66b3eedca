//! spec.dependencies (docs/design-contract.md §7.5): S3 replication and DynamoDB global
//! tables, read and reported as condition `DependenciesReady`, never changed.
//!
//! Reading (`read`) is IO and lives with observation: only for groups that declare
//! dependencies, only on full passes, and at most every [`DEPENDENCIES_RECHECK`] (a light
//! pass reuses the last reading). Judging (`verdict`) is pure: from the typed readings to the
//! condition and its message, so most tests live there.

use std::collections::BTreeMap;
use std::time::Duration;

use drctl_cloud::{
    BucketReplication, Cloud, DependencyMetric, ReplicaStatus, RuleStatus, TableDescription,
    TableStatus, VersioningStatus,
};
use drctl_schema::{
    condition_type as ct, ConditionStatus, FailoverGroupSpec, FailoverGroupStatus,
    GlobalTableDependency, S3ReplicationDependency, Timestamp,
};

use crate::observe::join_all;
use crate::observed::Seen;

/// How often a group's dependencies are read again (on its full passes): a few calls per
/// dependency, never more than once a minute, even while an operation polls every 2 s.
pub const DEPENDENCIES_RECHECK: Duration = Duration::from_secs(60);

/// Condition reasons.
pub const REASON_READY: &str = "DependenciesReplicating";
pub const REASON_NOT_READY: &str = "DependencyNotReady";
pub const REASON_UNREADABLE: &str = "DependenciesUnreadable";
pub const REASON_NOT_READ: &str = "DependenciesNotReadYet";

/// One bucket's replication as read.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketReading {
    pub spec: S3ReplicationDependency,
    pub replication: Seen<BucketReplication>,
    /// GetBucketVersioning of the source (None inside: no such bucket).
    pub source_versioning: Seen<Option<VersioningStatus>>,
    /// GetBucketVersioning of the destination, asked in the other region of spec.regions.
    pub destination_versioning: Seen<Option<VersioningStatus>>,
    /// ReplicationLatency (s) and OperationsPendingReplication of the rule to the
    /// destination, where its replication metrics are enabled and published.
    pub latency_seconds: Option<f64>,
    pub pending_operations: Option<f64>,
}

/// One global table as read: DescribeTable in each listed region.
#[derive(Debug, Clone, PartialEq)]
pub struct TableReading {
    pub spec: GlobalTableDependency,
    pub described: BTreeMap<String, Seen<Option<TableDescription>>>,
    /// ReplicationLatency (s) by (from region, receiving region).
    pub latency_seconds: BTreeMap<(String, String), f64>,
}

/// What one read of a group's dependencies found.
#[derive(Debug, Clone, PartialEq)]
pub struct DependenciesView {
    pub at: Timestamp,
    pub buckets: Vec<BucketReading>,
    pub tables: Vec<TableReading>,
}

/// The condition a view comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub status: ConditionStatus,
    pub reason: &'static str,
    pub message: String,
}

// ---------------------------------------------------------------------------------------------
// Reading (IO).
// ---------------------------------------------------------------------------------------------

/// Read every dependency of `spec` (None: it declares none, and nothing is called).
pub async fn read(cloud: &Cloud, spec: &FailoverGroupSpec) -> Option<DependenciesView> {
    let deps = spec.dependencies.as_ref()?;
    let at = cloud.clock.now();
    let buckets = join_all(
        deps.buckets()
            .iter()
            .map(|b| read_bucket(cloud, spec, b))
            .collect(),
    );
    let tables = join_all(deps.tables().iter().map(|t| read_table(cloud, t)).collect());
    let (buckets, tables) = tokio::join!(buckets, tables);
    Some(DependenciesView {
        at,
        buckets,
        tables,
    })
}

fn seen<T>(answer: drctl_cloud::CloudResult<T>) -> Seen<T> {
    match answer {
        Ok(v) => Seen::Known(v),
        Err(e) => Seen::Unreachable(e.to_string()),
    }
}

async fn read_bucket(
    cloud: &Cloud,
    spec: &FailoverGroupSpec,
    dep: &S3ReplicationDependency,
) -> BucketReading {
    let destination_region = spec.other_region(&dep.region).unwrap_or(&dep.region);
    let (replication, source_versioning, destination_versioning) = tokio::join!(
        cloud.s3.get_bucket_replication(&dep.region, &dep.bucket),
        cloud.s3.get_bucket_versioning(&dep.region, &dep.bucket),
        cloud
            .s3
            .get_bucket_versioning(destination_region, &dep.destination_bucket),
    );
    let replication = seen(replication);
    let mut reading = BucketReading {
        spec: dep.clone(),
        replication,
        source_versioning: seen(source_versioning),
        destination_versioning: seen(destination_versioning),
        latency_seconds: None,
        pending_operations: None,
    };
    if let Some(rule_id) = metrics_rule(&reading) {
        let metric = |latency: bool| {
            let (source_bucket, destination_bucket) =
                (dep.bucket.clone(), dep.destination_bucket.clone());
            let rule_id = rule_id.clone();
            if latency {
                DependencyMetric::S3ReplicationLatency {
                    source_bucket,
                    destination_bucket,
                    rule_id,
                }
            } else {
                DependencyMetric::S3OperationsPendingReplication {
                    source_bucket,
                    destination_bucket,
                    rule_id,
                }
            }
        };
        let asked = [metric(true), metric(false)];
        if let Ok(values) = cloud
            .dependency_metrics
            .dependency_metrics(&dep.region, &asked)
            .await
        {
            reading.latency_seconds = values.first().copied().flatten();
            reading.pending_operations = values.get(1).copied().flatten();
        }
    }
    reading
}

/// The id of the enabled rule to the destination with replication metrics on, if any.
fn metrics_rule(reading: &BucketReading) -> Option<String> {
    let Seen::Known(BucketReplication::Configured { rules }) = &reading.replication else {
        return None;
    };
    rules
        .iter()
        .find(|r| {
            r.metrics_enabled
                && r.status == RuleStatus::Enabled
                && r.destination_bucket() == reading.spec.destination_bucket
        })
        .and_then(|r| r.id.clone())
}

async fn read_table(cloud: &Cloud, dep: &GlobalTableDependency) -> TableReading {
    let described = join_all(
        dep.regions
            .iter()
            .map(|region| async move {
                let answer = cloud.tables.describe_table(region, &dep.table).await;
                (region.clone(), seen(answer))
            })
            .collect(),
    )
    .await
    .into_iter()
    .collect();
    let mut reading = TableReading {
        spec: dep.clone(),
        described,
        latency_seconds: BTreeMap::new(),
    };
    // The latency each readable replica publishes towards every other listed region.
    for from in &dep.regions {
        if !matches!(reading.described.get(from), Some(Seen::Known(Some(_)))) {
            continue;
        }
        let receivers: Vec<&String> = dep.regions.iter().filter(|r| *r != from).collect();
        let asked: Vec<DependencyMetric> = receivers
            .iter()
            .map(|to| DependencyMetric::DynamoDbReplicationLatency {
                table: dep.table.clone(),
                receiving_region: (*to).clone(),
            })
            .collect();
        if let Ok(values) = cloud
            .dependency_metrics
            .dependency_metrics(from, &asked)
            .await
        {
            for (to, value) in receivers.into_iter().zip(values) {
                if let Some(v) = value {
                    reading
                        .latency_seconds
                        .insert((from.clone(), to.clone()), v);
                }
            }
        }
    }
    reading
}

/// Should this pass read the dependencies? Only groups that declare them, only full passes,
/// and only when the last reading is older than [`DEPENDENCIES_RECHECK`] (or there is none).
pub fn read_due(
    spec: &FailoverGroupSpec,
    full: bool,
    last_read: Option<tokio::time::Instant>,
    now: tokio::time::Instant,
) -> bool {
    spec.dependencies.is_some()
        && full
        && last_read.is_none_or(|t| now.saturating_duration_since(t) >= DEPENDENCIES_RECHECK)
}

// ---------------------------------------------------------------------------------------------
// Judging (pure).
// ---------------------------------------------------------------------------------------------

/// What is wrong (False) and what could not be read (Unknown), one line each.
#[derive(Debug, Default)]
struct Findings {
    problems: Vec<String>,
    unreadable: Vec<String>,
}

impl Findings {
    fn problem(&mut self, line: String) {
        if !self.problems.contains(&line) {
            self.problems.push(line);
        }
    }
}

fn judge_versioning(
    f: &mut Findings,
    what: &str,
    region: &str,
    seen: &Seen<Option<VersioningStatus>>,
) {
    match seen {
        Seen::Known(Some(VersioningStatus::Enabled)) => {}
        Seen::Known(Some(other)) => f.problem(format!(
            "{what}: versioning {} (replication needs it Enabled on both buckets)",
            other.as_str()
        )),
        Seen::Known(None) => f.problem(format!("{what}: no such bucket in {region}")),
        Seen::Unreachable(e) => f
            .unreadable
            .push(format!("{what}: versioning unreadable in {region} ({e})")),
    }
}

fn judge_bucket(f: &mut Findings, spec: &FailoverGroupSpec, b: &BucketReading) {
    let name = &b.spec.bucket;
    let what = format!("bucket {name}");
    match &b.replication {
        Seen::Unreachable(e) => f.unreadable.push(format!(
            "{what}: replication unreadable in {} ({e})",
            b.spec.region
        )),
        Seen::Known(BucketReplication::NoSuchBucket) => {
            f.problem(format!("{what}: no such bucket in {}", b.spec.region))
        }
        Seen::Known(BucketReplication::NotConfigured) => {
            f.problem(format!("{what}: no replication configuration"))
        }
        Seen::Known(BucketReplication::Configured { rules }) => {
            let to_destination: Vec<_> = rules
                .iter()
                .filter(|r| r.destination_bucket() == b.spec.destination_bucket)
                .collect();
            if to_destination.is_empty() {
                f.problem(format!(
                    "{what}: no replication rule to {}",
                    b.spec.destination_bucket
                ));
            } else if !to_destination
                .iter()
                .any(|r| r.status == RuleStatus::Enabled)
            {
                f.problem(format!("{what}: replication rule disabled"));
            }
        }
    }
    judge_versioning(f, &what, &b.spec.region, &b.source_versioning);
    let destination_region = spec.other_region(&b.spec.region).unwrap_or(&b.spec.region);
    judge_versioning(
        f,
        &format!("destination bucket {}", b.spec.destination_bucket),
        destination_region,
        &b.destination_versioning,
    );
}

fn replica_problem(status: &ReplicaStatus) -> Option<String> {
    (*status != ReplicaStatus::Active).then(|| format!("replica status {}", status.as_str()))
}

fn judge_table(f: &mut Findings, t: &TableReading) {
    let name = &t.spec.table;
    let missing =
        |region: &str, why: String| format!("table {name}: no ACTIVE replica in {region} ({why})");
    for region in &t.spec.regions {
        let described = match t.described.get(region) {
            Some(Seen::Known(Some(d))) => d,
            Some(Seen::Known(None)) => {
                f.problem(missing(region, "no table there".to_string()));
                continue;
            }
            Some(Seen::Unreachable(e)) => {
                f.unreadable
                    .push(format!("table {name}: unreadable in {region} ({e})"));
                continue;
            }
            None => {
                f.unreadable
                    .push(format!("table {name}: not read in {region}"));
                continue;
            }
        };
        if described.status != TableStatus::Active {
            f.problem(missing(
                region,
                format!("table status {}", described.status.as_str()),
            ));
        }
        for other in t.spec.regions.iter().filter(|r| *r != region) {
            let why = match described.replicas.iter().find(|r| &r.region == other) {
                None => Some("not a replica".to_string()),
                Some(r) => replica_problem(&r.status),
            };
            if let Some(why) = why {
                f.problem(missing(other, format!("{why}, seen from {region}")));
            }
        }
    }
}

/// `DependenciesReady` from one reading. False names each bucket or table and what is wrong
/// (and also says what could not be read); Unknown names what could not be read and why.
pub fn verdict(spec: &FailoverGroupSpec, view: &DependenciesView) -> Verdict {
    let mut f = Findings::default();
    for b in &view.buckets {
        judge_bucket(&mut f, spec, b);
    }
    for t in &view.tables {
        judge_table(&mut f, t);
    }
    if !f.problems.is_empty() {
        let mut message = f.problems.join("; ");
        if !f.unreadable.is_empty() {
            message.push_str(&format!("; also unreadable: {}", f.unreadable.join("; ")));
        }
        return Verdict {
            status: ConditionStatus::False,
            reason: REASON_NOT_READY,
            message,
        };
    }
    if !f.unreadable.is_empty() {
        return Verdict {
            status: ConditionStatus::Unknown,
            reason: REASON_UNREADABLE,
            message: f.unreadable.join("; "),
        };
    }
    Verdict {
        status: ConditionStatus::True,
        reason: REASON_READY,
        message: state_lines(view).join("; "),
    }
}

/// One line per dependency: what it replicates and its lag, where known.
pub fn state_lines(view: &DependenciesView) -> Vec<String> {
    let buckets = view.buckets.iter().map(|b| {
        format!(
            "bucket {} replicates to {} ({})",
            b.spec.bucket,
            b.spec.destination_bucket,
            bucket_lag(b)
        )
    });
    let tables = view.tables.iter().map(|t| {
        format!(
            "table {} replicas in {} ({})",
            t.spec.table,
            t.spec.regions.join(", "),
            table_lag(t)
        )
    });
    buckets.chain(tables).collect()
}

fn bucket_lag(b: &BucketReading) -> String {
    match (b.latency_seconds, b.pending_operations) {
        (None, None) => {
            "no replication metrics: not enabled on its rule, or none published".to_string()
        }
        (latency, pending) => {
            let latency = latency.map_or_else(|| "-".to_string(), |l| format!("{l:.1} s"));
            let pending = pending.map_or_else(|| "-".to_string(), |p| format!("{p:.0}"));
            format!("replication latency {latency}, {pending} operations pending")
        }
    }
}

fn table_lag(t: &TableReading) -> String {
    if t.latency_seconds.is_empty() {
        return "no ReplicationLatency datapoint".to_string();
    }
    let parts: Vec<String> = t
        .latency_seconds
        .iter()
        .map(|((from, to), s)| format!("{from} -> {to} {s:.1} s"))
        .collect();
    format!("replication latency {}", parts.join(", "))
}

/// Set, keep or drop `DependenciesReady`: absent without spec.dependencies; from this pass's
/// reading (or the cached one) otherwise; Unknown until a first reading exists.
pub fn set_condition(
    status: &mut FailoverGroupStatus,
    spec: &FailoverGroupSpec,
    view: Option<&DependenciesView>,
    now: Timestamp,
) {
    if spec.dependencies.is_none() {
        status
            .conditions
            .retain(|c| c.type_ != ct::DEPENDENCIES_READY);
        return;
    }
    let verdict = match view {
        Some(view) => verdict(spec, view),
        None if status
            .conditions
            .iter()
            .any(|c| c.type_ == ct::DEPENDENCIES_READY) =>
        {
            return
        }
        None => Verdict {
            status: ConditionStatus::Unknown,
            reason: REASON_NOT_READ,
            message: "spec.dependencies not read yet (read on the next full pass)".to_string(),
        },
    };
    crate::planner::status::set_condition(
        &mut status.conditions,
        ct::DEPENDENCIES_READY,
        verdict.status,
        verdict.reason,
        &verdict.message,
        now,
    );
}

/// What a Preflight or a data-loss decision says about the dependencies: their state and
/// lag, never a reason to stop (drctl reports them, it does not move them).
pub fn operation_note(spec: &FailoverGroupSpec, view: Option<&DependenciesView>) -> Option<String> {
    spec.dependencies.as_ref()?;
    Some(match view {
        None => "dependencies: not read yet".to_string(),
        Some(view) => {
            let verdict = verdict(spec, view);
            let state = match verdict.status {
                ConditionStatus::True => "ready".to_string(),
                _ => verdict.message.clone(),
            };
            format!(
                "dependencies (reported, not moved by drctl; read at {}): {state}; {}",
                view.at,
                state_lines(view).join("; ")
            )
        }
    })
}
