//! How long each step may wait before the group escalates: one table, documented in
//! docs/planner-deadlines.md (keep the two in step).
//!
//! A step's clock starts when it first ran (`startedAt`). Past its deadline the step goes on
//! being evaluated every pass exactly as before (it still succeeds the moment the world shows
//! its effect); what changes is the group: `Degraded` when AWS is still working and more time
//! may be all it needs, `Blocked` when a person has to look. The message says what the step
//! waited for and for how long. AwaitApproval waits for a person by design: it shows how long
//! it has waited and never escalates.
//!
//! Where aws-facts.md gives a figure the deadline is a small multiple of it; where AWS gives
//! none the deadline is generous, because escalating only reports and never acts.

use std::time::Duration;

use drctl_schema::StepName;

/// What the group becomes when a step overruns its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escalation {
    /// Still trying: AWS is working, and more time may be all it needs.
    Degraded,
    /// Needs a person: waiting longer is not going to fix it.
    Blocked,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    pub after: Duration,
    pub escalation: Escalation,
}

const fn minutes(n: u64) -> Duration {
    Duration::from_secs(n * 60)
}

const fn hours(n: u64) -> Duration {
    Duration::from_secs(n * 3600)
}

/// The deadline of each step (None: the step never waits on AWS).
pub fn deadline(step: StepName) -> Option<Deadline> {
    use Escalation::*;
    use StepName::*;
    let (after, escalation) = match step {
        // A synchronized secondary within maxLagSeconds (lag "typically under 1 s"): a
        // planned switchover that cannot start in 15 min needs a decision (lower the write
        // load, raise maxLagSeconds, or fail over). A missing lag datapoint is settled
        // after LAG_DATAPOINT_WAIT, long before this.
        Preflight => (minutes(15), Blocked),
        // One attempt, then skipped (best effort): never waits.
        FenceSource => return None,
        // RegisterScalableTarget and UpdateService are synchronous calls: waiting means ECS
        // or Application Auto Scaling does not answer.
        ScaleUpTarget | ScaleDownSource => (minutes(10), Degraded),
        // Failover promotes in "a few minutes" (a field report: a whole failover in about
        // 8 min); a switchover "grows with the replication lag", no figure. About twice that.
        Switchover | Failover | WaitWriter => (minutes(15), Degraded),
        // PromoteReadReplica: "a few minutes" (a reboot and recovery), no firmer figure.
        PromoteReplica => (minutes(15), Degraded),
        // Fargate launches about 100 tasks at once, then 20/s; AWS gives no start-up time.
        WaitComputeReady => (minutes(10), Degraded),
        // Waits for the writer's compute or for the Route 53 control plane (us-east-1 only):
        // AWS's to restore, not a person's.
        MoveDns => (minutes(10), Degraded),
        // A change is INSYNC "normally within 60 s": five times that.
        WaitDnsInSync => (minutes(5), Degraded),
        // The new endpoint does not answer as spec.verify expects: the application needs a
        // person. Still probed every pass.
        Verify => (minutes(10), Blocked),
        // Snapshots, copies and deletions: AWS gives no figure; they grow with the volume.
        PreserveSnapshot | SnapshotStale => (hours(2), Degraded),
        DeleteStale => (hours(1), Degraded),
        // A person decides; the step shows how long it has waited instead.
        AwaitApproval => return None,
        // "Rebuilding a secondary takes a few minutes to several hours" (create, then sync).
        RecreateSecondary => (hours(3), Degraded),
        WaitReplicaSynced => (hours(8), Degraded),
    };
    Some(Deadline { after, escalation })
}

/// With no replication-lag datapoint, how long Preflight and WaitReplicaSynced wait for one
/// before relying on SwitchoverGlobalCluster's own guarantee (it waits for full
/// synchronization: RPO 0) and the member's SynchronizationStatus. CloudWatch is not on the
/// safety path of a switchover, so it must not hold a recovery for good.
pub const LAG_DATAPOINT_WAIT: Duration = Duration::from_secs(120);

/// When Route 53 cannot say whether a change is INSYNC (NoSuchChange, or the change id was
/// never recorded) but the record reads as the target: how long after the change was issued
/// it counts as propagated. aws-facts: "INSYNC on every authoritative server (normally within
/// 60 s)".
pub const DNS_PROPAGATION_ALLOWANCE: Duration = Duration::from_secs(60);

/// routingControl: after a routing control reads back in its new state, how long until Route
/// 53's health checkers agree on the RECOVERY_CONTROL health check bound to it and DNS
/// answers with the other failover record. AWS documents no figure for these checks (for
/// ordinary ones, aws-facts: a 30 s interval and a failure threshold of 3); a parameter,
/// kept equal to the simulated world's `health_check_propagation`.
pub const HEALTH_CHECK_PROPAGATION: Duration = Duration::from_secs(30);

/// How often a routingControl group's control-plane reads (DescribeCluster, the failover
/// records, their health checks) are repeated, outside operations only.
pub const ROUTING_SETUP_RECHECK: Duration = Duration::from_secs(600);

/// A control-plane check that did not answer is tried again after this.
pub const ROUTING_SETUP_RETRY: Duration = Duration::from_secs(60);

/// A duration for people, coarse enough that a status does not change on every pass:
/// seconds under two minutes, then minutes, then hours and minutes.
pub fn format_elapsed(elapsed: Duration) -> String {
    let secs = elapsed.as_secs();
    match secs {
        0..=119 => format!("{secs} s"),
        120..=7199 => format!("{} min", secs / 60),
        _ => match (secs / 3600, (secs % 3600) / 60) {
            (h, 0) => format!("{h} h"),
            (h, m) => format!("{h} h {m} min"),
        },
    }
}

/// Milliseconds between two instants as a duration (zero if `later` is earlier).
pub fn elapsed_between(earlier_ms: i64, later_ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(later_ms.saturating_sub(earlier_ms)).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_that_can_wait_has_a_deadline_and_only_a_person_waits_without_one() {
        for step in StepName::ALL {
            match step {
                StepName::AwaitApproval | StepName::FenceSource => {
                    assert_eq!(deadline(step), None, "{step}")
                }
                _ => assert!(deadline(step).is_some(), "{step} has no deadline"),
            }
        }
    }

    #[test]
    fn elapsed_times_are_coarse_enough_to_keep_the_status_quiet() {
        assert_eq!(format_elapsed(Duration::from_secs(59)), "59 s");
        assert_eq!(format_elapsed(Duration::from_secs(330)), "5 min");
        assert_eq!(format_elapsed(Duration::from_secs(331)), "5 min");
        assert_eq!(format_elapsed(Duration::from_secs(3 * 3600)), "3 h");
        assert_eq!(
            format_elapsed(Duration::from_secs(3 * 3600 + 600)),
            "3 h 10 min"
        );
        assert_eq!(elapsed_between(5_000, 1_000), Duration::ZERO);
    }
}
