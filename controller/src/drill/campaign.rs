//! `drctl sim --campaign N [--seed S]`: N random fault schedules, each a drill drawn from its
//! own seed (S, S+1, ..., S+N-1) over one of the operations (switchover, failover, failback
//! with a rejoined or a stale old primary), run by the real controller, checked against the
//! §5 invariants and for convergence once the faults stop. A failing schedule is shrunk
//! (faults dropped, durations halved) while it still fails; `--campaign 1 --seed X` replays
//! run X. The report depends on the seed only: the same seed gives the same bytes.
//!
//! Long AWS operations are compressed ten times (a rebuild takes minutes, not an hour of
//! virtual time) so that hundreds of runs stay cheap; call latencies, DNS propagation, task
//! start-up and every controller deadline keep their real values, which makes the races
//! between them, if anything, tighter than in production.

use std::time::Duration;

use drctl_schema::FailoverGroup;
use serde::Serialize;

use super::run::run_drill;
use super::spec::{
    Action, DrillPlan, Expect, FailoverAction, Fault, LostResponse, OutageScope, RegionOutage,
    RegionRecover, Rejoin, ReplicationLag, ServiceProbability, SlowOperations, TimedAction,
    TimedFault,
};
use crate::simulation::SimulationError;

/// How many times shorter long AWS operations are in a campaign run.
pub const COMPRESSION: u32 = 10;
/// Re-runs a failure's shrinking may spend.
const SHRINK_BUDGET: u32 = 48;
/// The end state must hold within this after the last fault or action.
const RUN_LIMIT: Duration = Duration::from_secs(3600);
/// Longer than any run can take on virtual time (faults, the limit, the initial convergence).
const RUN_WATCHDOG: Duration = Duration::from_secs(6 * 3600);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CampaignOperation {
    Switchover,
    Failover,
    FailbackRejoined,
    FailbackStale,
}

/// One run's faults and actions, on the drill's clock (as a drill writes them).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Schedule {
    pub operation: CampaignOperation,
    pub faults: Vec<TimedFault>,
    pub actions: Vec<TimedAction>,
    /// The writer the run must end on.
    pub writer: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CampaignFailure {
    /// Replays the run: `drctl sim --campaign 1 --seed SEED`.
    pub seed: u64,
    /// The smallest schedule found that still fails.
    pub schedule: Schedule,
    pub violations: Vec<String>,
    /// Faults in the schedule as drawn, before shrinking.
    pub faults_drawn: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct CampaignReport {
    pub seed: u64,
    pub runs: u32,
    pub failures: Vec<CampaignFailure>,
    /// Runs by operation.
    pub operations: std::collections::BTreeMap<String, u32>,
    /// Faults injected over all runs.
    pub faults: u64,
    /// `long AWS operations compressed 10x`.
    pub timings: String,
}

/// Run `runs` schedules drawn from `seed` on `group`.
pub async fn run_campaign(
    group: &FailoverGroup,
    runs: u32,
    seed: u64,
) -> Result<CampaignReport, SimulationError> {
    let mut report = CampaignReport {
        seed,
        runs,
        failures: Vec::new(),
        operations: Default::default(),
        faults: 0,
        timings: format!("long AWS operations compressed {COMPRESSION}x"),
    };
    for i in 0..u64::from(runs) {
        let run_seed = seed.wrapping_add(i);
        let schedule = draw(group, run_seed)?;
        let name = serde_json::to_value(schedule.operation)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        *report.operations.entry(name).or_default() += 1;
        report.faults += schedule.faults.len() as u64;
        let violations = violations_of(group, &schedule, run_seed).await?;
        if !violations.is_empty() {
            let drawn = schedule.faults.len();
            let (schedule, violations) = shrink(group, schedule, violations, run_seed).await?;
            report.failures.push(CampaignFailure {
                seed: run_seed,
                schedule,
                violations,
                faults_drawn: drawn,
            });
        }
    }
    Ok(report)
}

/// Everything the run broke: §5's invariants, and 8 (convergence once faults stop) when the
/// expected end state was not reached.
async fn violations_of(
    group: &FailoverGroup,
    schedule: &Schedule,
    seed: u64,
) -> Result<Vec<String>, SimulationError> {
    let plan = DrillPlan {
        name: format!("campaign-{seed}"),
        seed,
        objectives: None,
        faults: schedule.faults.clone(),
        actions: schedule.actions.clone(),
        expect: Some(Expect {
            phase: None,
            writer: Some(schedule.writer.clone()),
            dns_owner: Some(schedule.writer.clone()),
        }),
        limit: RUN_LIMIT,
        timings: Some(compressed()),
    };
    // Every wait in a run is on virtual time; a run that outlives this waits on something
    // else (every task blocked on another): that is a finding, not a hang of the campaign.
    let Ok(report) = tokio::time::timeout(RUN_WATCHDOG, run_drill(&plan, group)).await else {
        return Ok(vec![format!(
            "the run did not finish within {} virtual s: its tasks wait on each other, not on time",
            RUN_WATCHDOG.as_secs()
        )]);
    };
    let report = report?;
    let mut out = report.invariant_violations;
    if !report.expect_met {
        out.push(format!(
            "invariant 8: not converged on {} within {} s after the last fault or action: {}",
            schedule.writer,
            RUN_LIMIT.as_secs(),
            report.expect_failures.join("; ")
        ));
    }
    Ok(out)
}

/// Drop faults, then halve durations, as long as the run still fails.
async fn shrink(
    group: &FailoverGroup,
    mut schedule: Schedule,
    mut violations: Vec<String>,
    seed: u64,
) -> Result<(Schedule, Vec<String>), SimulationError> {
    let mut budget = SHRINK_BUDGET;
    let mut i = 0;
    while i < schedule.faults.len() && budget > 0 {
        // A recovery is what lets faults stop: without it the run could not converge, and
        // that is not the failure being shrunk.
        if matches!(schedule.faults[i].fault, Fault::RegionRecover(_)) {
            i += 1;
            continue;
        }
        let mut candidate = schedule.clone();
        candidate.faults.remove(i);
        budget -= 1;
        let found = violations_of(group, &candidate, seed).await?;
        if found.is_empty() {
            i += 1;
        } else {
            schedule = candidate;
            violations = found;
        }
    }
    for i in 0..schedule.faults.len() {
        while budget > 0 {
            let Some(d) = schedule.faults[i].for_.filter(|d| d.as_secs() >= 2) else {
                break;
            };
            let mut candidate = schedule.clone();
            candidate.faults[i].for_ = Some(Duration::from_secs(d.as_secs() / 2));
            budget -= 1;
            let found = violations_of(group, &candidate, seed).await?;
            if found.is_empty() {
                break;
            }
            schedule = candidate;
            violations = found;
        }
    }
    Ok((schedule, violations))
}

/// The sim's timings with long AWS operations `COMPRESSION` times shorter.
fn compressed() -> drctl_sim::SimTimings {
    let mut t = drctl_sim::SimTimings::default();
    for d in [
        &mut t.failover_promote,
        &mut t.switchover_promote,
        &mut t.cluster_create,
        &mut t.initial_sync,
        &mut t.instance_create,
        &mut t.instance_delete,
        &mut t.cluster_delete,
        &mut t.snapshot_create,
        &mut t.snapshot_copy,
        &mut t.rejoin_delay,
    ] {
        *d /= COMPRESSION;
    }
    t
}

/// splitmix64: a small, well-known generator; the campaign must not depend on a crate's
/// stream staying the same across versions.
struct Draw(u64);

impl Draw {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in lo..=hi.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }

    /// A probability in lo..=hi, to the percent.
    fn percent(&mut self, lo: u64, hi: u64) -> f64 {
        self.range(lo, hi) as f64 / 100.0
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[(self.next() % items.len() as u64) as usize]
    }

    fn secs(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_secs(self.range(lo, hi))
    }
}

/// The schedule of run `seed`: an operation's own faults and actions, and up to four more
/// faults anywhere in it.
pub fn draw(group: &FailoverGroup, seed: u64) -> Result<Schedule, SimulationError> {
    let (home, other) = crate::simulation::home_and_standby(group)?;
    let mut rng = Draw(seed);
    let operation = rng.pick(&[
        CampaignOperation::Switchover,
        CampaignOperation::Failover,
        CampaignOperation::FailbackRejoined,
        CampaignOperation::FailbackStale,
    ]);
    let mut faults = Vec::new();
    let mut actions = Vec::new();
    let failover = |to: &str, loss: bool| {
        Action::Failover(FailoverAction {
            to: to.to_string(),
            allow_data_loss: loss,
        })
    };
    let outage_at = rng.secs(10, 60);
    let writer = match operation {
        CampaignOperation::Switchover => {
            actions.push(timed_action(outage_at, failover(&other, false)));
            other.clone()
        }
        CampaignOperation::Failover => {
            faults.push(outage(
                &home,
                OutageScope::RegionalServices,
                outage_at,
                None,
            ));
            let decided = outage_at + rng.secs(5, 60);
            actions.push(timed_action(decided, failover(&other, true)));
            other.clone()
        }
        CampaignOperation::FailbackRejoined | CampaignOperation::FailbackStale => {
            let scope = rng.pick(&[OutageScope::RegionalServices, OutageScope::Full]);
            faults.push(outage(&home, scope, outage_at, None));
            let decided = outage_at + rng.secs(5, 60);
            actions.push(timed_action(decided, failover(&other, true)));
            let back = decided + rng.secs(30, 240);
            let rejoin = if operation == CampaignOperation::FailbackStale {
                Rejoin::Stale
            } else {
                Rejoin::Automatic
            };
            faults.push(TimedFault {
                at: back,
                for_: None,
                fault: Fault::RegionRecover(RegionRecover {
                    region: home.clone(),
                    rejoin,
                }),
            });
            let failback = back + rng.secs(30, 240);
            actions.push(timed_action(failback, failover(&home, false)));
            actions.push(timed_action(failback + rng.secs(0, 120), Action::Approve));
            home.clone()
        }
    };
    let horizon = actions
        .iter()
        .map(|a| a.at)
        .max()
        .unwrap_or_default()
        .as_secs()
        + 120;
    for _ in 0..rng.range(0, 4) {
        let at = rng.secs(0, horizon);
        faults.push(extra_fault(&mut rng, at, &other));
    }
    faults.sort_by_key(|f| f.at);
    actions.sort_by_key(|a| a.at);
    Ok(Schedule {
        operation,
        faults,
        actions,
        writer,
    })
}

fn timed_action(at: Duration, action: Action) -> TimedAction {
    TimedAction { at, action }
}

fn outage(region: &str, scope: OutageScope, at: Duration, for_: Option<Duration>) -> TimedFault {
    TimedFault {
        at,
        for_,
        fault: Fault::RegionOutage(RegionOutage {
            region: region.to_string(),
            scope,
        }),
    }
}

/// Mutating operations by service, for lost responses.
const MUTATIONS: [(&str, &str); 10] = [
    ("rds", "FailoverGlobalCluster"),
    ("rds", "SwitchoverGlobalCluster"),
    ("rds", "CreateDBClusterSnapshot"),
    ("rds", "CopyDBClusterSnapshot"),
    ("rds", "DeleteDBInstance"),
    ("rds", "DeleteDBCluster"),
    ("rds", "CreateDBCluster"),
    ("rds", "CreateDBInstance"),
    ("route53", "ChangeResourceRecordSets"),
    ("ecs", "UpdateService"),
];

/// One fault of any kind that ends by itself (every one has an end, or is a one-off).
fn extra_fault(rng: &mut Draw, at: Duration, standby: &str) -> TimedFault {
    let services = [
        "rds",
        "route53",
        "ecs",
        "application-autoscaling",
        "cloudwatch",
    ];
    let kind = rng.range(0, 7);
    let (for_, fault) = match kind {
        0 | 1 => {
            let p = ServiceProbability {
                service: rng.pick(&services).to_string(),
                probability: rng.percent(5, 60),
            };
            let f = if kind == 0 {
                Fault::Throttle(p)
            } else {
                Fault::ServerError(p)
            };
            (Some(rng.secs(10, 300)), f)
        }
        2 => {
            let (service, operation) = rng.pick(&MUTATIONS);
            let lost = LostResponse {
                service: service.to_string(),
                operation: operation.to_string(),
                times: rng.range(1, 2) as u32,
            };
            (None, Fault::LostResponse(lost))
        }
        3 => {
            let slow = SlowOperations {
                probability: rng.percent(20, 100),
                factor: rng.range(2, 5) as u32,
            };
            (Some(rng.secs(30, 300)), Fault::SlowOperations(slow))
        }
        4 => {
            let lag = ReplicationLag {
                region: standby.to_string(),
                seconds: rng.range(1, 20) as f64,
            };
            (Some(rng.secs(10, 300)), Fault::ReplicationLag(lag))
        }
        5 => (Some(rng.secs(0, 30)), Fault::ControllerCrash),
        6 => (Some(rng.secs(5, 120)), Fault::PausedLeader),
        _ => (Some(rng.secs(5, 60)), Fault::StoreUnavailable),
    };
    TimedFault { at, for_, fault }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_draws_the_same_schedule_every_time_and_seeds_differ() {
        let group = crate::simulation::example_group().unwrap_or_else(|e| panic!("{e}"));
        let a = draw(&group, 42).unwrap_or_else(|e| panic!("{e}"));
        let b = draw(&group, 42).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a, b);
        let kinds: std::collections::BTreeSet<String> = (0..64)
            .map(|s| draw(&group, s).unwrap_or_else(|e| panic!("{e}")))
            .map(|s| format!("{:?}", s.operation))
            .collect();
        assert_eq!(kinds.len(), 4, "every operation is drawn: {kinds:?}");
    }

    #[test]
    fn every_drawn_fault_ends_or_is_a_one_off() {
        let group = crate::simulation::example_group().unwrap_or_else(|e| panic!("{e}"));
        for seed in 0..200 {
            let schedule = draw(&group, seed).unwrap_or_else(|e| panic!("{e}"));
            for f in &schedule.faults {
                let open_ended = f.for_.is_none()
                    && !matches!(
                        f.fault,
                        Fault::RegionOutage(_) | Fault::RegionRecover(_) | Fault::LostResponse(_)
                    );
                assert!(!open_ended, "seed {seed}: {f:?}");
            }
        }
    }
}
