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

use drctl_schema::{AlarmRef, AutoFailoverSpec, FailoverGroup, WitnessesSpec};
use serde::Serialize;

use super::run::run_drill;
use super::spec::{
    Action, ControllerPartition, DrillPlan, Expect, FailoverAction, Fault, LostResponse,
    OutageScope, RegionOutage, RegionRecover, Rejoin, ReplicationLag, ServiceProbability,
    SlowOperations, TimedAction, TimedFault, WitnessState, WitnessStuck,
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
    /// The writer the run must end on. None (a run with spec.autoFailover armed): whatever
    /// writer the spec names last, the operator's or the policy's, converged on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub writer: Option<String>,
    /// The group's spec.autoFailover in this run, when one is armed.
    #[serde(rename = "autoFailover", skip_serializing_if = "Option::is_none")]
    pub auto_failover: Option<AutoFailoverSpec>,
}

impl Schedule {
    /// The group the run rehearses: `group` with the run's policy armed, if any.
    pub fn group(&self, group: &FailoverGroup) -> FailoverGroup {
        let mut rehearsed = group.clone();
        if let Some(policy) = &self.auto_failover {
            rehearsed.spec.auto_failover = Some(policy.clone());
        }
        rehearsed
    }
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
    /// Runs with spec.autoFailover armed (and its witnesses lying).
    pub auto_failover_runs: u32,
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
    let mut report = empty_report(runs, seed);
    for i in 0..u64::from(runs) {
        let run_seed = seed.wrapping_add(i);
        let schedule = draw(group, run_seed)?;
        let name = serde_json::to_value(schedule.operation)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        *report.operations.entry(name).or_default() += 1;
        report.faults += schedule.faults.len() as u64;
        report.auto_failover_runs += u32::from(schedule.auto_failover.is_some());
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

/// `run_campaign` over `threads` slices of consecutive seeds, each on a virtual-time runtime
/// of its own thread. Runs are independent of each other, so the report is the one a single
/// slice gives, byte for byte, whatever the number of threads.
pub fn run_campaign_on_threads(
    group: &FailoverGroup,
    runs: u32,
    seed: u64,
    threads: usize,
) -> Result<CampaignReport, SimulationError> {
    let threads = u64::try_from(threads.max(1))
        .unwrap_or(1)
        .min(u64::from(runs.max(1)));
    let slices: Vec<(u64, u32)> = (0..threads)
        .map(|t| {
            let from = u64::from(runs) * t / threads;
            let to = u64::from(runs) * (t + 1) / threads;
            (
                seed.wrapping_add(from),
                u32::try_from(to - from).unwrap_or(0),
            )
        })
        .collect();
    let reports = std::thread::scope(|scope| {
        let handles: Vec<_> = slices
            .iter()
            .map(|&(from, count)| {
                let group = group.clone();
                scope.spawn(move || {
                    crate::simulation::run_in_virtual_time(move || async move {
                        run_campaign(&group, count, from).await
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| SimulationError::World("a campaign thread panicked".to_string()))
            })
            .collect::<Result<Vec<_>, _>>()
    })?;
    let mut merged = empty_report(runs, seed);
    for report in reports {
        let report = report??;
        merged.failures.extend(report.failures);
        for (operation, n) in report.operations {
            *merged.operations.entry(operation).or_default() += n;
        }
        merged.faults += report.faults;
        merged.auto_failover_runs += report.auto_failover_runs;
    }
    Ok(merged)
}

fn empty_report(runs: u32, seed: u64) -> CampaignReport {
    CampaignReport {
        seed,
        runs,
        failures: Vec::new(),
        operations: Default::default(),
        auto_failover_runs: 0,
        faults: 0,
        timings: format!("long AWS operations compressed {COMPRESSION}x"),
    }
}

/// Everything the run broke: §5's invariants, and 8 (convergence once faults stop) when the
/// expected end state was not reached.
async fn violations_of(
    group: &FailoverGroup,
    schedule: &Schedule,
    seed: u64,
) -> Result<Vec<String>, SimulationError> {
    let plan = plan_of(schedule, seed);
    let group = schedule.group(group);
    // Every wait in a run is on virtual time; a run that outlives this waits on something
    // else (every task blocked on another): that is a finding, not a hang of the campaign.
    let Ok(report) = tokio::time::timeout(RUN_WATCHDOG, run_drill(&plan, &group)).await else {
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
            schedule.writer.as_deref().unwrap_or("the spec's writer"),
            RUN_LIMIT.as_secs(),
            report.expect_failures.join("; ")
        ));
    }
    Ok(out)
}

/// The drill that rehearses run `seed`'s `schedule` (what `drctl sim --campaign` runs).
pub fn plan_of(schedule: &Schedule, seed: u64) -> DrillPlan {
    DrillPlan {
        name: format!("campaign-{seed}"),
        seed,
        objectives: None,
        faults: schedule.faults.clone(),
        actions: schedule.actions.clone(),
        expect: schedule.writer.as_ref().map(|writer| Expect {
            phase: None,
            writer: Some(writer.clone()),
            dns_owner: Some(writer.clone()),
        }),
        limit: RUN_LIMIT,
        timings: Some(compressed()),
    }
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
    let auto_failover = armed_policy(group, seed, &home, &other);
    if let Some(policy) = &auto_failover {
        faults.extend(lies(policy, seed, horizon, &home, &other));
    }
    faults.sort_by_key(|f| f.at);
    actions.sort_by_key(|a| a.at);
    Ok(Schedule {
        operation,
        faults,
        actions,
        writer: auto_failover.is_none().then_some(writer),
        auto_failover,
    })
}

/// Every third run (seed = 2 mod 3) arms spec.autoFailover on a group that has none, and
/// every run of a group whose policy is enabled keeps it. The policy's own draw is a stream
/// of its own, so that the schedules of unarmed runs are the ones earlier versions drew
/// (their regression seeds replay the same runs).
fn armed_policy(
    group: &FailoverGroup,
    seed: u64,
    home: &str,
    other: &str,
) -> Option<AutoFailoverSpec> {
    if let Some(policy) = group.spec.auto_failover.as_ref().filter(|p| p.enabled) {
        return Some(policy.clone());
    }
    if seed % 3 != 2 {
        return None;
    }
    let mut rng = Draw(seed ^ POLICY_STREAM);
    Some(AutoFailoverSpec {
        enabled: true,
        after_seconds: rng.range(10, 120) as u32,
        max_data_loss_seconds: rng.range(1, 10) as u32,
        cooldown_seconds: drctl_schema::DEFAULT_COOLDOWN_SECONDS,
        witnesses: WitnessesSpec {
            alarms: vec![witness(other, home), witness(home, other)],
        },
        min_witnesses: Some(1),
    })
}

/// Separates the policy's draw from the schedule's (any odd constant would do).
const POLICY_STREAM: u64 = 0xA076_1D64_78BD_642F;

/// The campaign's witness in `region`: synthetics there that probe `watched`.
fn witness(region: &str, watched: &str) -> AlarmRef {
    AlarmRef {
        region: region.to_string(),
        name: format!("campaign-{watched}-unreachable"),
    }
}

/// One to three lies for an armed run: a witness stuck in ALARM or stuck OK, the
/// controller cut off from a region, or both at once (a witness stuck in ALARM about the
/// region the controller cannot reach: the two signals the policy needs, both false).
fn lies(
    policy: &AutoFailoverSpec,
    seed: u64,
    horizon: u64,
    home: &str,
    other: &str,
) -> Vec<TimedFault> {
    let mut rng = Draw((seed ^ POLICY_STREAM).rotate_left(17));
    let alarms = &policy.witnesses.alarms;
    let mut out = Vec::new();
    for _ in 0..rng.range(1, 3) {
        let at = rng.secs(0, horizon);
        let index = rng.next() % alarms.len().max(1) as u64;
        let Some(alarm) = usize::try_from(index).ok().and_then(|i| alarms.get(i)) else {
            continue;
        };
        let stuck = |state| {
            Fault::WitnessStuck(WitnessStuck {
                region: alarm.region.clone(),
                alarm: alarm.name.clone(),
                state,
            })
        };
        let cut = |region: &str| {
            Fault::ControllerPartition(ControllerPartition {
                region: region.to_string(),
            })
        };
        match rng.range(0, 3) {
            0 => out.push(timed(at, rng.secs(30, 900), stuck(WitnessState::Alarm))),
            1 => out.push(timed(at, rng.secs(30, 900), stuck(WitnessState::Ok))),
            2 => {
                let region = rng.pick(&[home, other]);
                out.push(timed(at, rng.secs(10, 300), cut(region)));
            }
            _ => {
                let lasting = rng.secs(u64::from(policy.after_seconds) + 30, 600);
                let watched = if alarm.region == home { other } else { home };
                out.push(timed(at, lasting, stuck(WitnessState::Alarm)));
                out.push(timed(at, lasting, cut(watched)));
            }
        }
    }
    out
}

fn timed(at: Duration, for_: Duration, fault: Fault) -> TimedFault {
    TimedFault {
        at,
        for_: Some(for_),
        fault,
    }
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
    fn every_third_run_arms_a_policy_whose_witnesses_lie_and_the_others_draw_no_lies() {
        let group = crate::simulation::example_group().unwrap_or_else(|e| panic!("{e}"));
        let lie = |f: &TimedFault| {
            matches!(
                f.fault,
                Fault::WitnessStuck(_) | Fault::ControllerPartition(_)
            )
        };
        let mut states = std::collections::BTreeSet::new();
        for seed in 0..90 {
            let schedule = draw(&group, seed).unwrap_or_else(|e| panic!("{e}"));
            let armed = seed % 3 == 2;
            assert_eq!(schedule.auto_failover.is_some(), armed, "seed {seed}");
            assert_eq!(schedule.writer.is_none(), armed, "seed {seed}");
            assert_eq!(schedule.faults.iter().any(lie), armed, "seed {seed}");
            for f in &schedule.faults {
                if let Fault::WitnessStuck(w) = &f.fault {
                    states.insert(format!("{:?}", w.state));
                }
            }
            if let Some(policy) = &schedule.auto_failover {
                let rehearsed = schedule.group(&group);
                drctl_schema::validate::validate(&rehearsed)
                    .unwrap_or_else(|e| panic!("seed {seed}: {e:?}"));
                assert!(policy.after_seconds >= 10, "seed {seed}");
            }
        }
        assert_eq!(states.len(), 2, "both lies are drawn: {states:?}");
        // The regression seeds of the runs before policies were drawn are unarmed.
        for seed in [18, 139] {
            assert!(draw(&group, seed).is_ok_and(|s| s.auto_failover.is_none()));
        }
    }

    #[test]
    fn a_group_with_its_own_policy_keeps_it_in_every_run() {
        let mut group = crate::simulation::example_group().unwrap_or_else(|e| panic!("{e}"));
        let (home, other) =
            crate::simulation::home_and_standby(&group).unwrap_or_else(|e| panic!("{e}"));
        let mut policy = armed_policy(&group, 2, &home, &other).unwrap_or_else(|| panic!());
        policy.after_seconds = 45;
        group.spec.auto_failover = Some(policy.clone());
        for seed in 0..6 {
            let schedule = draw(&group, seed).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                schedule.auto_failover.as_ref(),
                Some(&policy),
                "seed {seed}"
            );
        }
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
