//! A reusable checker for docs/design-contract.md §5 invariants 1-6, reading only what a finished run
//! left behind (`RunRecord`): the call record, the write log, the writability and DNS-change
//! logs, the deletions and the store's lease log. Keep a `RunRecord` (it is serialisable)
//! next to a failed test to re-check it offline.

use std::collections::{BTreeMap, BTreeSet};

use drctl_schema::{FailoverGroupSpec, FailoverGroupStatus, OperationType, Timestamp};
use serde::{Deserialize, Serialize};

use crate::record::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunRecord {
    pub epoch: Timestamp,
    pub end_ms: i64,
    pub calls: Vec<CallRecord>,
    pub facts: Vec<Fact>,
    /// Application writes per global cluster.
    pub writes: BTreeMap<String, Vec<WriteRecord>>,
    pub writable_log: Vec<WritableChange>,
    pub deletions: Vec<DeletionRecord>,
    pub dns_changes: Vec<DnsChangeRecord>,
    pub lease_log: Vec<LeaseLogEntry>,
    /// The provisioned specs.
    pub groups: Vec<FailoverGroupSpec>,
    /// Group statuses in the store at the end, by name.
    pub statuses: BTreeMap<String, FailoverGroupStatus>,
}

/// What the checker cannot know by itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvariantInput {
    /// Invariant 3: was spec.allowDataLoss true when the failover decision was taken?
    pub allow_data_loss: bool,
    /// Invariant 3: the allowance of an automatic-failover policy (spec.autoFailover's
    /// maxDataLossSeconds) when spec.allowDataLoss was false: writes lost by an allowed
    /// failover are within it if they were committed within this many seconds of each other
    /// (the loss window the policy judged from the last measured lag). None: no policy.
    #[serde(default)]
    pub data_loss_budget_seconds: Option<f64>,
    /// Invariant 3: also require a stored status whose (last) Failover operation records
    /// `rpoSeconds` for every loss.
    pub require_loss_recorded: bool,
    /// Invariant 4: running tasks a service needs in a region before DNS may move there,
    /// by service name. Default: the spec's `active.min`.
    pub dns_ready_running: BTreeMap<String, u32>,
    /// Invariant 5: windows (from, to) in which the group was converged: no mutating cloud
    /// call may fall inside.
    pub converged_windows: Vec<(Timestamp, Timestamp)>,
    /// Invariant 6: the controller's lease. None: invariant 6 is not checked.
    pub lease: Option<String>,
    /// Invariant 6: callers that act without the lease (operators, the test harness).
    pub unleased_callers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Violation {
    /// The docs/design-contract.md §5 invariant number.
    pub invariant: u8,
    pub at_ms: i64,
    pub at: Timestamp,
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "invariant {} at {}: {}",
            self.invariant, self.at, self.message
        )
    }
}

/// Check invariants 1 to 6.
pub fn check(run: &RunRecord, input: &InvariantInput) -> Vec<Violation> {
    let mut v = Vec::new();
    check_single_writer(run, &mut v);
    check_deletions(run, &mut v);
    check_losses(run, input, &mut v);
    check_dns_moves(run, input, &mut v);
    check_converged_quiet(run, input, &mut v);
    check_lease_fencing(run, input, &mut v);
    v.sort_by_key(|x| (x.at_ms, x.invariant));
    v
}

fn violation(run: &RunRecord, invariant: u8, at_ms: i64, message: String) -> Violation {
    Violation {
        invariant,
        at_ms,
        at: run.epoch.plus_millis(at_ms),
        message,
    }
}

/// Invariant 1: at most one writable cluster at any instant.
///
/// "Writable" means the cluster would have committed an application write at that instant:
/// its region is up, it has an available instance, it is not read-only or fenced, and it is
/// either a global cluster's writer, an old primary whose fencing failed after a failover,
/// or a standalone cluster. A detached standalone cluster (the stale old primary) counts
/// only if it actually received application writes while standalone: a cluster nobody
/// writes to cannot split the data, and Aurora makes every detached cluster writable.
/// Hand-offs within the same millisecond are not overlaps. Checked per global database:
/// with a fleet provisioned, every group has its own writer.
fn check_single_writer(run: &RunRecord, v: &mut Vec<Violation>) {
    // `region/identifier` -> the global database whose group spec names it.
    let database_of: BTreeMap<String, &str> = run
        .groups
        .iter()
        .flat_map(|g| {
            g.database.clusters.iter().map(move |(region, c)| {
                (
                    format!("{region}/{}", c.identifier),
                    g.database.global_cluster_identifier.as_str(),
                )
            })
        })
        .collect();
    let mut by_database: BTreeMap<&str, Vec<&WritableChange>> = BTreeMap::new();
    for change in &run.writable_log {
        let database = database_of.get(&change.cluster).copied().unwrap_or("");
        by_database.entry(database).or_default().push(change);
    }
    for log in by_database.values() {
        check_single_writer_of(run, log, v);
    }
}

fn check_single_writer_of(run: &RunRecord, log: &[&WritableChange], v: &mut Vec<Violation>) {
    let written_standalone: BTreeSet<&str> = run
        .writes
        .values()
        .flatten()
        .filter(|w| w.standalone)
        .filter_map(|w| w.committed_at.as_deref())
        .collect();
    // (time, delta, cluster): closing before opening at equal times.
    let mut edges: Vec<(i64, i8, &str)> = Vec::new();
    let mut open: BTreeMap<&str, bool> = BTreeMap::new();
    for c in log {
        let counts = !c.standalone || written_standalone.contains(c.cluster.as_str());
        let was = open.get(c.cluster.as_str()).copied().unwrap_or(false);
        if c.writable && counts && !was {
            edges.push((c.at_ms, 1, &c.cluster));
            open.insert(&c.cluster, true);
        } else if (!c.writable || !counts) && was {
            // Closed, or become a standalone nobody writes to (an RDS primary left behind
            // by PromoteReadReplica, its application fenced).
            edges.push((c.at_ms, -1, &c.cluster));
            open.insert(&c.cluster, false);
        }
    }
    edges.sort();
    let mut active: BTreeSet<&str> = BTreeSet::new();
    let mut reported = false;
    for (t, d, c) in edges {
        if d < 0 {
            active.remove(c);
            if active.len() <= 1 {
                reported = false;
            }
        } else {
            active.insert(c);
            if active.len() > 1 && !reported {
                reported = true;
                let names: Vec<&str> = active.iter().copied().collect();
                v.push(violation(
                    run,
                    1,
                    t,
                    format!(
                        "{} clusters writable at once: {}",
                        names.len(),
                        names.join(", ")
                    ),
                ));
            }
        }
    }
}

/// Invariant 2: no cluster deleted without an available manual snapshot taken after its
/// last write.
fn check_deletions(run: &RunRecord, v: &mut Vec<Violation>) {
    for d in &run.deletions {
        let ok = d
            .manual_snapshots
            .iter()
            .any(|(_, as_of)| d.last_write_at_ms.is_none_or(|w| *as_of >= w));
        if !ok {
            v.push(violation(
                run,
                2,
                d.at_ms,
                format!(
                    "{}/{} deleted (call {}) without an available manual snapshot taken after its last write{}",
                    d.region,
                    d.cluster,
                    d.call_seq,
                    d.last_write_at_ms
                        .map(|w| format!(" at {}", run.epoch.plus_millis(w)))
                        .unwrap_or_default()
                ),
            ));
        }
    }
}

/// Invariant 3: writes are lost only by a FailoverGlobalCluster(AllowDataLoss=true) taken
/// while spec.allowDataLoss was true, and the loss is recorded.
fn check_losses(run: &RunRecord, input: &InvariantInput, v: &mut Vec<Violation>) {
    for (global, writes) in &run.writes {
        let report = loss_report(global, writes);
        for l in &report.losses {
            let first_at = writes
                .iter()
                .filter_map(|w| w.lost.as_ref())
                .find(|c| c.call_seq == l.call_seq && c.reason == l.reason)
                .map_or(0, |c| c.at_ms);
            let call = l
                .call_seq
                .and_then(|s| run.calls.iter().find(|c| c.seq == s));
            // rdsReplica: PromoteReadReplica has no AllowDataLoss parameter; the call is the
            // cut, and whether it was allowed is the spec's (or the policy's) allowance below.
            let by_allowed_failover = call.is_some_and(|c| {
                ((c.operation == "FailoverGlobalCluster"
                    && c.resource.contains("allowDataLoss=true"))
                    || c.operation == "PromoteReadReplica")
                    && c.outcome.applied
            });
            if !by_allowed_failover {
                v.push(violation(
                    run,
                    3,
                    first_at,
                    format!(
                        "{} writes of {global} lost ({}) not by a FailoverGlobalCluster with AllowDataLoss",
                        l.count, l.reason
                    ),
                ));
            } else if !input.allow_data_loss {
                let window_ms = loss_window_ms(writes, l.call_seq, &l.reason);
                match input.data_loss_budget_seconds {
                    Some(budget) if window_ms as f64 <= budget * 1000.0 => {}
                    Some(budget) => v.push(violation(
                        run,
                        3,
                        first_at,
                        format!(
                            "{} writes of {global} lost by call {} over {:.1} s, beyond the policy's budget of {budget} s (spec.allowDataLoss was false)",
                            l.count,
                            l.call_seq.unwrap_or(0),
                            window_ms as f64 / 1000.0
                        ),
                    )),
                    None => v.push(violation(
                        run,
                        3,
                        first_at,
                        format!(
                            "{} writes of {global} lost by call {} while spec.allowDataLoss was false",
                            l.count,
                            l.call_seq.unwrap_or(0)
                        ),
                    )),
                }
            }
            if input.require_loss_recorded && l.count > 0 {
                let recorded = run.statuses.values().any(|s| {
                    [&s.operation, &s.last_operation]
                        .into_iter()
                        .flatten()
                        .any(|o| o.type_ == OperationType::Failover && o.rpo_seconds.is_some())
                });
                if !recorded {
                    v.push(violation(
                        run,
                        3,
                        first_at,
                        format!(
                            "{} writes of {global} lost but no Failover operation records rpoSeconds",
                            l.count
                        ),
                    ));
                }
            }
        }
    }
}

/// How far apart in commit time the writes lost by one cause are (ms; 0 for one write).
fn loss_window_ms(
    writes: &[crate::record::WriteRecord],
    call_seq: Option<u64>,
    reason: &str,
) -> i64 {
    let times = writes.iter().filter(|w| {
        w.lost
            .as_ref()
            .is_some_and(|c| c.call_seq == call_seq && c.reason == reason)
    });
    let (first, last) = times.fold((i64::MAX, i64::MIN), |(lo, hi), w| {
        (lo.min(w.at_ms), hi.max(w.at_ms))
    });
    if first > last {
        0
    } else {
        last - first
    }
}

/// Invariant 4, refined for the app-tier failover (docs/design-contract.md §7.2): traffic
/// goes only to a region whose compute is ready (running tasks at or above the threshold for
/// every service) and which can reach a writable database. The global writer counts in any
/// region while its cluster is writable there: the app of another region writes through the
/// global writer endpoint (or write forwarding). A writer whose region is down, or a
/// database with no writer, is reachable from nowhere.
fn check_dns_moves(run: &RunRecord, input: &InvariantInput, v: &mut Vec<Violation>) {
    for d in &run.dns_changes {
        let Some(global) = &d.global else { continue };
        let Some(region) = &d.to_region else {
            v.push(violation(
                run,
                4,
                d.at_ms,
                format!(
                    "{} changed to a value that is none of the spec's targets",
                    d.record_name
                ),
            ));
            continue;
        };
        if d.writer_region.is_none() || !d.writer_writable {
            v.push(violation(
                run,
                4,
                d.at_ms,
                format!(
                    "{} moved to {region}, which can reach no writable database: the writer of {global} was {} (not writable)",
                    d.record_name,
                    d.writer_region.as_deref().unwrap_or("nobody"),
                ),
            ));
        }
        let spec = run
            .groups
            .iter()
            .find(|g| g.database.global_cluster_identifier == *global);
        for (name, running, _) in &d.services {
            let need = input.dns_ready_running.get(name).copied().or_else(|| {
                spec.and_then(|s| s.compute.services.iter().find(|x| x.name == *name))
                    .map(|x| x.active.min)
            });
            if let Some(need) = need.filter(|n| running < n) {
                v.push(violation(
                    run,
                    4,
                    d.at_ms,
                    format!(
                        "{} moved to {region} with service {name} at {running} running tasks (needs {need})",
                        d.record_name
                    ),
                ));
            }
        }
    }
}

/// Invariant 5: a converged group costs zero mutating cloud calls.
fn check_converged_quiet(run: &RunRecord, input: &InvariantInput, v: &mut Vec<Violation>) {
    for (from, to) in &input.converged_windows {
        for c in &run.calls {
            if c.mutating && c.service != "store" && c.at >= *from && c.at <= *to {
                v.push(violation(
                    run,
                    5,
                    c.at_ms,
                    format!(
                        "{} called {} {} ({}) while converged",
                        c.caller, c.service, c.operation, c.resource
                    ),
                ));
            }
        }
    }
}

/// Invariant 6: every mutating cloud call came from the holder of the current lease epoch.
fn check_lease_fencing(run: &RunRecord, input: &InvariantInput, v: &mut Vec<Violation>) {
    let Some(lease) = &input.lease else { return };
    // The log is in sequence order: the entry in force at a call is found by bisection.
    let log: Vec<&LeaseLogEntry> = run.lease_log.iter().filter(|l| l.lease == *lease).collect();
    for c in &run.calls {
        if !c.mutating || c.service == "store" || input.unleased_callers.contains(&c.caller) {
            continue;
        }
        let before = log.partition_point(|l| l.seq < c.seq);
        let current = before.checked_sub(1).and_then(|i| log.get(i)).copied();
        let ok = current.is_some_and(|l| l.holder == c.caller && l.expires_at > c.at);
        if !ok {
            v.push(violation(
                run,
                6,
                c.at_ms,
                format!(
                    "{} called {} {} without holding lease {lease} (current: {})",
                    c.caller,
                    c.service,
                    c.operation,
                    current.map_or("none".to_string(), |l| format!(
                        "{} epoch {} until {}",
                        l.holder, l.epoch, l.expires_at
                    ))
                ),
            ));
        }
    }
}

/// Summarise one global database's write log.
pub fn loss_report(global: &str, writes: &[WriteRecord]) -> DataLossReport {
    let mut r = DataLossReport {
        global: global.to_string(),
        attempted: writes.len() as u64,
        ..DataLossReport::default()
    };
    let mut by_cause: BTreeMap<(String, Option<u64>, bool), u64> = BTreeMap::new();
    let mut outage_start: Option<i64> = None;
    for w in writes {
        if w.committed_at.is_some() {
            r.committed += 1;
            if let Some(s) = outage_start.take() {
                r.longest_unavailability_ms = r.longest_unavailability_ms.max(w.at_ms - s);
            }
        } else {
            r.rejected += 1;
            outage_start.get_or_insert(w.at_ms);
        }
        if let Some(l) = &w.lost {
            r.lost_writes.push(w.n);
            *by_cause
                .entry((l.reason.clone(), l.call_seq, l.allow_data_loss))
                .or_default() += 1;
        }
    }
    if let (Some(s), Some(last)) = (outage_start, writes.last()) {
        r.longest_unavailability_ms = r.longest_unavailability_ms.max(last.at_ms - s);
    }
    r.losses = by_cause
        .into_iter()
        .map(|((reason, call_seq, allow_data_loss), count)| LossSummary {
            reason,
            call_seq,
            allow_data_loss,
            count,
        })
        .collect();
    r
}
