//! After a Failover (issue 11, "after an incident"): once Aurora has added the old primary
//! back as a secondary by itself (aws-facts.md: it first snapshots the old volume as a
//! *system* snapshot `rds:unplanned-global-failover-<cluster>-<timestamp>`, deleted with the
//! cluster's backup retention), the controller runs PreserveSnapshot by itself: it copies that
//! snapshot to a manual one with a deterministic name, so the writes the failover cut off are
//! kept for a person to recover. Then it stops. It reports when failing back would be a
//! planned switchover (`ReadyToFailBack`, with the measured lag and the command), and never
//! fails back: that stays a person's decision, automatic failover or not.
//!
//! The step is the contract's `PreserveSnapshot`, kept in `status.afterFailover` (there is no
//! operation to hold it): Done only when the manual copy reads back available; before acting
//! it re-reads the region's snapshots (the copy already there, from a pass that crashed after
//! asking, is Done, never a second copy), and a copy asked for is not asked again within the
//! idempotent grace. A later failback to that region finds the copy under the same name (its
//! operation carries it in `notes.preservedSnapshot`) instead of taking another.

use drctl_cloud::ClusterSnapshot;
use drctl_schema::{
    condition_type as ct, AfterFailoverStatus, ConditionStatus, FailoverGroupSpec,
    FailoverGroupStatus, Operation, OperationState, OperationType, Phase, StepName, StepRecord,
    StepState, Timestamp,
};

use super::action::{Action, PlannedAction};
use super::status::set_condition;
use super::steps::{rds_identifier, rds_replica, StepEval};
use crate::observed::{Membership, ObservedWorld};

/// The prefix of the system snapshot Aurora takes of the old primary's volume.
pub const SYSTEM_SNAPSHOT_PREFIX: &str = "rds:unplanned-global-failover-";

/// The Failover whose aftercare applies now: the last operation, a succeeded Aurora Failover,
/// with no other operation under way. (rdsReplica: the old primary never rejoins.)
pub fn followed_failover<'a>(
    spec: &FailoverGroupSpec,
    status: &'a FailoverGroupStatus,
) -> Option<&'a Operation> {
    if status.operation.is_some() || rds_replica::is_rds(spec) {
        return None;
    }
    status
        .last_operation
        .as_ref()
        .filter(|op| op.type_ == OperationType::Failover && op.state == OperationState::Succeeded)
}

/// The manual copy's name: one per failover, so a retry, a restart or the failback that
/// follows finds it instead of taking another.
pub fn preserved_snapshot_id(spec: &FailoverGroupSpec, failover: &Operation) -> String {
    let cluster = spec
        .database
        .clusters
        .get(&failover.from)
        .map_or("cluster", |c| c.identifier.as_str());
    rds_identifier(&format!("drctl-preserved-{cluster}-{}", failover.id))
}

/// The region whose snapshots the next pass must read: the aftercare's PreserveSnapshot has
/// started and not finished (observe.rs asks for nothing otherwise).
pub fn snapshots_needed(spec: &FailoverGroupSpec, status: &FailoverGroupStatus) -> Option<String> {
    let op = followed_failover(spec, status)?;
    let after = status
        .after_failover
        .as_ref()
        .filter(|a| a.operation_id == op.id)?;
    let step = after.preserve_snapshot.as_ref()?;
    (!super::steps::finished(step)).then(|| after.region.clone())
}

/// The snapshot name a failback to `region` should preserve under: the aftercare's, when it
/// follows that failover.
pub fn preserved_for_failback(status: &FailoverGroupStatus, region: &str) -> Option<String> {
    let last = status.last_operation.as_ref()?;
    status
        .after_failover
        .as_ref()
        .filter(|a| a.operation_id == last.id && a.region == region)
        .map(|a| a.snapshot_id.clone())
}

/// PreserveSnapshot of the old primary in `region`, from this pass's reading of its
/// snapshots. `since`: when the failover started (an older system snapshot is another
/// incident's).
pub fn preserve(
    world: &ObservedWorld,
    region: &str,
    snapshot_id: &str,
    since: Timestamp,
) -> StepEval {
    let Some(view) = world.region(region) else {
        return StepEval::Wait(format!("{region} was not observed"));
    };
    if !view.reachable.answered() {
        return StepEval::Wait(format!("{region} is unreachable"));
    }
    let Some(snapshots) = &view.snapshots else {
        return StepEval::Wait(format!("snapshots in {region} not read yet"));
    };
    if let Some(own) = snapshots.iter().find(|s| s.identifier == snapshot_id) {
        return if own.status.is_available() {
            StepEval::Done(format!("manual snapshot {snapshot_id} available"))
        } else {
            StepEval::Wait(format!("snapshot {snapshot_id} is {}", own.status))
        };
    }
    let synced = view.membership == Membership::Secondary { synced: true };
    match newest_system_snapshot(snapshots, since) {
        // Aurora snapshots the old volume before the rejoin: once the rejoin is complete
        // and there is none, it took none.
        None if synced => StepEval::Skip(format!(
            "Aurora took no {SYSTEM_SNAPSHOT_PREFIX}* snapshot of the old primary in {region}: nothing to preserve"
        )),
        None => StepEval::Wait(format!(
            "no {SYSTEM_SNAPSHOT_PREFIX}* snapshot in {region} yet (the old primary is resynchronizing)"
        )),
        Some(source) if !source.status.is_available() => {
            StepEval::Wait(format!("{} is {}", source.identifier, source.status))
        }
        Some(source) => StepEval::Act(
            vec![Action::CopyClusterSnapshot {
                region: region.to_string(),
                source_snapshot_id: source.identifier.clone(),
                target_snapshot_id: snapshot_id.to_string(),
            }],
            format!("copy {} to {snapshot_id}", source.identifier),
        ),
    }
}

fn newest_system_snapshot(
    snapshots: &[ClusterSnapshot],
    since: Timestamp,
) -> Option<&ClusterSnapshot> {
    snapshots
        .iter()
        .filter(|s| s.snapshot_type == "system" && s.identifier.starts_with(SYSTEM_SNAPSHOT_PREFIX))
        .filter(|s| s.created_at.is_none_or(|t| t.millis() >= since.millis()))
        .max_by_key(|s| s.created_at)
}

/// Whether failing back to `region` would be a planned switchover now, and why not.
#[derive(Debug, Clone, PartialEq)]
pub struct Readiness {
    pub ready: bool,
    pub reason: &'static str,
    pub message: String,
}

/// Ready to fail back: the old region is a synchronized secondary, its snapshot preserved (or
/// there was none), and the lag measured to it within spec.maxLagSeconds.
pub fn readiness(
    name: &str,
    spec: &FailoverGroupSpec,
    world: &ObservedWorld,
    region: &str,
    preserve: Option<&StepRecord>,
    lag: Option<f64>,
) -> Readiness {
    let not = |reason, message: String| Readiness {
        ready: false,
        reason,
        message,
    };
    if !world.answers(region) {
        return not(
            "RegionNotBack",
            format!("{region} does not answer: it has not come back yet"),
        );
    }
    let membership = world
        .region(region)
        .map_or(Membership::Unknown, |r| r.membership);
    match membership {
        Membership::Secondary { synced: true } => {}
        Membership::Secondary { synced: false } => {
            return not(
                "Resynchronizing",
                format!("{region} rejoined as a secondary and is resynchronizing"),
            )
        }
        Membership::Detached | Membership::Missing => {
            return not(
                "RebuildNeeded",
                format!(
                    "{region}'s cluster is {}: failing back rebuilds it (SnapshotStale, AwaitApproval, DeleteStale, RecreateSecondary) when someone runs `drctl failover {name} --to {region}`",
                    membership.as_str()
                ),
            )
        }
        Membership::Writer | Membership::Unknown => {
            return not(
                "RegionNotBack",
                format!("{region} has not come back as a secondary yet"),
            )
        }
    }
    if !preserve.is_some_and(super::steps::finished) {
        return not(
            "PreservingSnapshot",
            format!("preserving the old primary's snapshot in {region} first"),
        );
    }
    let max = f64::from(spec.max_lag_seconds);
    match lag {
        None => not(
            "LagUnknown",
            format!("no replication lag to {region} measured yet"),
        ),
        Some(lag) if lag > max => not(
            "LagOverMaxLag",
            format!("replication lag to {region} is {lag:.1} s, over spec.maxLagSeconds {max} s"),
        ),
        Some(lag) => Readiness {
            ready: true,
            reason: "SecondarySynchronized",
            message: format!(
                "ready to fail back (lag {lag:.1} s): run `drctl failover {name} --to {region}`"
            ),
        },
    }
}

/// The lag to show: this pass's measurement, unless it moved less than the half second that
/// is not worth a status write (reconcile.rs `status_changed`).
fn steady_lag(measured: Option<f64>, previous: Option<f64>) -> Option<f64> {
    match (measured, previous) {
        (Some(m), Some(p)) if (m - p).abs() < 0.5 => Some(p),
        (Some(m), _) => Some(m),
        (None, p) => p,
    }
}

impl super::Builder<'_> {
    /// The aftercare of the last Failover: PreserveSnapshot once the old primary is back, and
    /// the readiness to fail back. `settled`: the writer, when no operation runs and it is
    /// where the spec wants it; `operation`: the one this pass runs or has just started.
    pub(super) fn after_failover(&mut self, settled: Option<&str>, operation: Option<&Operation>) {
        let input = self.input;
        let followed = followed_failover(input.spec, input.status).filter(|_| operation.is_none());
        let Some(op) = followed else {
            // Nothing to follow, or another operation took over (a failback carries the
            // snapshot's name in its notes).
            self.status.after_failover = None;
            self.status
                .conditions
                .retain(|c| c.type_ != ct::READY_TO_FAIL_BACK);
            return;
        };
        let mut after = input
            .status
            .after_failover
            .clone()
            .filter(|a| a.operation_id == op.id)
            .unwrap_or_else(|| AfterFailoverStatus {
                operation_id: op.id.clone(),
                region: op.from.clone(),
                snapshot_id: preserved_snapshot_id(input.spec, op),
                ..Default::default()
            });
        let was_ready = after.ready_to_fail_back;
        let region = after.region.clone();
        let verdict = if settled != Some(op.to.as_str()) {
            Readiness {
                ready: false,
                reason: "WriterNotSettled",
                message: format!("the writer is not settled in {} yet", op.to),
            }
        } else {
            // The global cluster read from the new writer's region can list a dark region
            // as a member: only a region that answers has rejoined.
            let rejoined = input.world.answers(&region)
                && matches!(
                    input.world.region(&region).map(|r| r.membership),
                    Some(Membership::Secondary { .. })
                );
            if rejoined || after.preserve_snapshot.is_some() {
                self.preserve_step(&mut after, op.started_at);
            }
            if rejoined {
                after.lag_seconds = steady_lag(input.world.lag_seconds, after.lag_seconds);
            }
            readiness(
                input.name,
                input.spec,
                input.world,
                &region,
                after.preserve_snapshot.as_ref(),
                after.lag_seconds,
            )
        };
        if verdict.ready && !was_ready {
            self.event("ReadyToFailBack", verdict.message.clone(), None);
        }
        let status = if verdict.ready {
            ConditionStatus::True
        } else {
            ConditionStatus::False
        };
        set_condition(
            &mut self.status.conditions,
            ct::READY_TO_FAIL_BACK,
            status,
            verdict.reason,
            &verdict.message,
            input.now,
        );
        after.ready_to_fail_back = verdict.ready;
        after.message = verdict.message;
        self.status.after_failover = Some(after);
    }

    /// Run PreserveSnapshot one pass further, recording it in `after`.
    fn preserve_step(&mut self, after: &mut AfterFailoverStatus, since: Timestamp) {
        let input = self.input;
        let now = input.now;
        if after
            .preserve_snapshot
            .as_ref()
            .is_some_and(super::steps::finished)
        {
            return;
        }
        let (state, detail) = match preserve(input.world, &after.region, &after.snapshot_id, since)
        {
            StepEval::Done(detail) => (StepState::Succeeded, detail),
            StepEval::Skip(detail) => (StepState::Skipped, detail),
            StepEval::Act(actions, detail) => {
                (StepState::Running, self.copy(after, actions, detail))
            }
            StepEval::Wait(detail)
            | StepEval::Blocked(detail)
            | StepEval::AwaitingApproval(detail)
            | StepEval::DoneWithoutLag(detail)
            | StepEval::Reopen(_, detail) => (StepState::Running, detail),
        };
        let record = after
            .preserve_snapshot
            .get_or_insert_with(|| StepRecord::pending(StepName::PreserveSnapshot));
        let first = record.state == StepState::Pending;
        record.started_at.get_or_insert(now);
        record.state = state;
        record.detail = Some(detail.clone());
        if state.is_done() {
            record.finished_at = Some(now);
            let reason = if state == StepState::Skipped {
                "SnapshotNotPreserved"
            } else {
                "SnapshotPreserved"
            };
            self.event(
                reason,
                format!("PreserveSnapshot: {detail}"),
                Some(StepName::PreserveSnapshot),
            );
            return;
        }
        if first {
            self.event(
                "PreservingSnapshot",
                format!("PreserveSnapshot: {detail}"),
                Some(StepName::PreserveSnapshot),
            );
        }
        if !input.world.answers(&after.region) {
            // The old region went dark again: nothing to act on until it answers, so the
            // group is as settled as the world lets it be (the condition says why).
            return;
        }
        // Not Converged while the controller still acts (invariant 5), and looked at as
        // often as a running operation.
        let poll = input.config.operation_poll;
        self.set_phase(
            Phase::Progressing,
            format!(
                "after the failover, PreserveSnapshot of the old primary in {}: {detail}",
                after.region
            ),
            poll,
        );
    }

    /// Ask for the copy, unless suspended or already asked within the idempotent grace (the
    /// time is recorded with the intent, before the call).
    fn copy(
        &mut self,
        after: &mut AfterFailoverStatus,
        actions: Vec<Action>,
        detail: String,
    ) -> String {
        let input = self.input;
        let now = input.now;
        let held = after.copy_issued_at.is_some_and(|at| {
            now.millis().saturating_sub(at.millis())
                < input.config.idempotent_grace.as_millis() as i64
        });
        if input.spec.suspended {
            return format!("suspended before: {detail}");
        }
        if held {
            return format!("{detail} (asked for; waiting for it to show)");
        }
        after.copy_issued_at = Some(now);
        self.actions.extend(
            actions
                .into_iter()
                .map(|action| PlannedAction { step: None, action }),
        );
        detail
    }
}

/// For `get`: Some only while the group is ready to fail back.
pub fn ready_line(status: Option<&FailoverGroupStatus>) -> Option<String> {
    status
        .and_then(|s| s.after_failover.as_ref())
        .filter(|a| a.ready_to_fail_back)
        .map(|a| a.message.clone())
}

/// For `describe`: the readiness to fail back, and the old primary's preserved snapshot.
pub fn describe_lines(status: Option<&FailoverGroupStatus>) -> Vec<(&'static str, String)> {
    let Some(after) = status.and_then(|s| s.after_failover.as_ref()) else {
        return Vec::new();
    };
    let snapshot = match &after.preserve_snapshot {
        None => format!("{} (once {} rejoins)", after.snapshot_id, after.region),
        Some(step) => format!(
            "{}: PreserveSnapshot {:?}{}",
            after.snapshot_id,
            step.state,
            step.detail
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        ),
    };
    vec![
        ("Fail Back:", after.message.clone()),
        ("Old Snapshot:", snapshot),
    ]
}
