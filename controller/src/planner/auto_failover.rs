//! The automatic-failover policy (docs/design-contract.md §7.3), as a pure decision.
//!
//! "Impaired" takes both: the controller's own probes of the writer's region (RDS, and ECS
//! when the group has services) failing without a break for `afterSeconds`, and at least
//! `minWitnesses` CloudWatch alarms, read in their own regions, in ALARM. One probe, one
//! alarm or one vantage point is never enough. Even then the policy fails over only to a
//! healthy target, only within the data-loss budget (the last lag measured before the
//! outage), at most once per cooldown, and never back to the region it left: a failback
//! stays a person's decision.

use std::time::Duration;

use drctl_cloud::AlarmState;
use drctl_schema::{AutoFailoverDecision, AutoFailoverSpec, AutoFailoverStatus, Phase, Timestamp};

use crate::observed::{Membership, ObservedWorld, Seen};

/// One witness as this pass read it.
#[derive(Debug, Clone, PartialEq)]
pub struct WitnessReading {
    pub region: String,
    pub name: String,
    /// Known(None): the alarm does not exist in that region.
    pub state: Seen<Option<AlarmState>>,
}

impl WitnessReading {
    pub fn in_alarm(&self) -> bool {
        matches!(self.state, Seen::Known(Some(AlarmState::Alarm)))
    }

    fn describe(&self) -> String {
        let state = match &self.state {
            Seen::Known(Some(s)) => s.as_str().to_string(),
            Seen::Known(None) => "not found".to_string(),
            Seen::Unreachable(_) => "unreadable".to_string(),
        };
        format!("alarm {} in {}: {state}", self.name, self.region)
    }
}

/// Everything the policy looks at, already reduced to facts.
#[derive(Debug, Clone)]
pub struct PolicyInput<'a> {
    pub name: &'a str,
    pub policy: Option<&'a AutoFailoverSpec>,
    pub suspended: bool,
    /// The writer, when the spec and the world agree on it and no operation runs.
    pub settled_writer: Option<&'a str>,
    /// The region a failover would go to.
    pub target: Option<&'a str>,
    /// Since when the controller's own probes of the writer's region have all failed.
    pub impaired_since: Option<Timestamp>,
    pub witnesses: &'a [WitnessReading],
    /// Ok, or why the target cannot take over.
    pub target_health: Result<(), String>,
    /// The last replication lag measured before the impairment began.
    pub lag_before_outage: Option<f64>,
    pub last_decision: Option<&'a AutoFailoverDecision>,
    /// The last move of the writer was the policy's own failover (so going back to where it
    /// came from is a failback).
    pub last_move_was_policy: bool,
    pub now: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PolicyDecision {
    /// The policy does not act: absent, disabled, suspended, or an operation is under way.
    NotArmed(String),
    /// Armed; the writer's region looks healthy.
    Armed,
    /// The writer's region looks impaired; no decision yet.
    Watching {
        region: String,
        decide_at: Timestamp,
        /// Until the impairment has lasted `afterSeconds` (zero: it has).
        remaining: Duration,
        /// What else the decision waits for (witnesses), empty when only time.
        waiting_for: Option<String>,
    },
    /// Fail over now.
    Decide {
        from: String,
        to: String,
        evidence: Vec<String>,
        lag: f64,
    },
    /// Impaired, but the policy will not fail over; a person must decide.
    Blocked { reason: String },
}

/// The decision for this pass.
pub fn decide(input: &PolicyInput<'_>) -> PolicyDecision {
    let Some(policy) = input.policy.filter(|p| p.enabled) else {
        return PolicyDecision::NotArmed(match input.policy {
            Some(_) => "spec.autoFailover.enabled is false".to_string(),
            None => "no spec.autoFailover: failing over is an operator's decision".to_string(),
        });
    };
    if input.suspended {
        return PolicyDecision::NotArmed("spec.suspended is true".to_string());
    }
    let (Some(from), Some(to)) = (input.settled_writer, input.target) else {
        return PolicyDecision::NotArmed("an operation is under way".to_string());
    };
    let Some(since) = input.impaired_since else {
        return PolicyDecision::Armed;
    };
    let after = Duration::from_secs(u64::from(policy.after_seconds));
    let decide_at = since.plus_millis(i64::try_from(after.as_millis()).unwrap_or(i64::MAX));
    let remaining =
        Duration::from_millis(u64::try_from(decide_at.millis() - input.now.millis()).unwrap_or(0));
    let required = policy.required_witnesses().max(1);
    let in_alarm = input.witnesses.iter().filter(|w| w.in_alarm()).count();
    let waiting_for = (in_alarm < required).then(|| {
        format!(
            "{in_alarm} of {required} witness(es) in ALARM ({})",
            input
                .witnesses
                .iter()
                .map(WitnessReading::describe)
                .collect::<Vec<_>>()
                .join("; ")
        )
    });
    if !remaining.is_zero() || waiting_for.is_some() {
        return PolicyDecision::Watching {
            region: from.to_string(),
            decide_at,
            remaining,
            waiting_for,
        };
    }
    let command = format!(
        "`drctl failover {} --to {to} --allow-data-loss`",
        input.name
    );
    if let Some(reason) = refusal(input, policy, from, to) {
        return PolicyDecision::Blocked {
            reason: format!("{reason}. A person can still fail over: {command}"),
        };
    }
    let budget = f64::from(policy.max_data_loss_seconds);
    let lag = match input.lag_before_outage {
        None => {
            return PolicyDecision::Blocked {
                reason: format!(
                    "{from} is impaired, but the replication lag before the outage is unknown: \
                     the loss cannot be held to the budget of {budget} s (spec.autoFailover.maxDataLossSeconds). \
                     To fail over anyway, losing the writes not yet replicated: {command}"
                ),
            }
        }
        Some(lag) if lag > budget => {
            return PolicyDecision::Blocked {
                reason: format!(
                    "{from} is impaired, but the last replication lag measured before the outage was {lag:.1} s, \
                     over the budget of {budget} s (spec.autoFailover.maxDataLossSeconds). \
                     To fail over anyway, losing about {lag:.1} s of writes: {command}"
                ),
            }
        }
        Some(lag) => lag,
    };
    let mut evidence = vec![format!(
        "the controller's probes of {from} (RDS and ECS) failed without a break since {since}"
    )];
    evidence.extend(
        input
            .witnesses
            .iter()
            .filter(|w| w.in_alarm())
            .map(WitnessReading::describe),
    );
    evidence.push(format!(
        "lag before the outage {lag:.1} s <= budget {budget} s"
    ));
    PolicyDecision::Decide {
        from: from.to_string(),
        to: to.to_string(),
        evidence,
        lag,
    }
}

/// Why the policy will not fail over to `to`, whatever the evidence.
fn refusal(
    input: &PolicyInput<'_>,
    policy: &AutoFailoverSpec,
    from: &str,
    to: &str,
) -> Option<String> {
    if let Some(last) = input.last_decision {
        if input.last_move_was_policy && last.from == to {
            return Some(format!(
                "{from} is impaired, but the policy never fails back automatically: it left {to} at {}",
                last.at
            ));
        }
        let cooldown_ms = i64::from(policy.cooldown_seconds) * 1000;
        if input.now.millis() - last.at.millis() < cooldown_ms {
            return Some(format!(
                "{from} is impaired, but an automatic failover already ran at {} and the cooldown \
                 (spec.autoFailover.cooldownSeconds: {}) lasts until {}",
                last.at,
                policy.cooldown_seconds,
                last.at.plus_millis(cooldown_ms)
            ));
        }
    }
    if let Err(why) = &input.target_health {
        return Some(format!(
            "{from} is impaired, but {to} cannot take over: {why}"
        ));
    }
    None
}

/// Since when the writer's region has been impaired, from the previous pass's memory and
/// this pass's probes: a probe that answered is a break, and starts the count again.
pub fn impaired_since(
    previous_region: Option<&str>,
    previous_since: Option<Timestamp>,
    writer: &str,
    probes_failing: bool,
    now: Timestamp,
) -> Option<Timestamp> {
    if !probes_failing {
        return None;
    }
    match (previous_region, previous_since) {
        (Some(region), Some(since)) if region == writer => Some(since),
        _ => Some(now),
    }
}

/// "automatic failover in 23 s unless ...", for `get` and `describe`.
pub fn countdown_text(name: &str, region: &str, remaining: Duration) -> String {
    format!(
        "automatic failover in {} s unless {region} recovers or someone runs `drctl suspend {name}`",
        remaining.as_secs()
    )
}

/// What `get` and `describe` say about the policy now: the countdown recomputed from the
/// stored decision time, or the policy's last message. None without spec.autoFailover.
pub fn policy_line(
    name: &str,
    spec: &drctl_schema::FailoverGroupSpec,
    status: Option<&drctl_schema::FailoverGroupStatus>,
    now: Timestamp,
) -> Option<String> {
    spec.auto_failover.as_ref()?;
    let memory = status.and_then(|s| s.auto_failover.as_ref());
    if spec.suspended {
        return Some("not armed: spec.suspended is true (`drctl resume` re-arms it)".to_string());
    }
    let Some(memory) = memory else {
        return Some("not observed yet".to_string());
    };
    match (
        memory.state.as_str(),
        memory.decide_at,
        &memory.impaired_region,
    ) {
        (state::WATCHING, Some(at), Some(region)) if at.millis() > now.millis() => {
            let remaining =
                Duration::from_millis(u64::try_from(at.millis() - now.millis()).unwrap_or(0));
            Some(countdown_text(name, region, remaining))
        }
        _ => Some(memory.message.clone()),
    }
}

/// The known gap of a one-witness policy, for `describe`: the controller's probes are one
/// vantage point and one witness another; a witness stuck in ALARM together with a cut
/// between the controller and the writer's region (controller-partition) is enough to fail
/// over a healthy writer. None when at least two witnesses must agree.
pub fn witness_warning(spec: &drctl_schema::FailoverGroupSpec) -> Option<String> {
    let policy = spec.auto_failover.as_ref().filter(|p| p.enabled)?;
    (policy.required_witnesses() < 2).then(|| {
        format!(
            "spec.autoFailover needs only {} witness in ALARM: one stuck in ALARM while the controller \
             alone loses {} would fail over a healthy writer; list two alarms in different places and \
             set minWitnesses: 2 (docs/runbook.md)",
            policy.required_witnesses(),
            spec.writer
        )
    })
}

/// The countdown alone, for `get`: Some only while the policy counts down.
pub fn countdown_line(
    name: &str,
    spec: &drctl_schema::FailoverGroupSpec,
    status: Option<&drctl_schema::FailoverGroupStatus>,
    now: Timestamp,
) -> Option<String> {
    let memory = status.and_then(|s| s.auto_failover.as_ref())?;
    (memory.state == state::WATCHING
        && !spec.suspended
        && memory
            .decide_at
            .is_some_and(|at| at.millis() > now.millis()))
    .then(|| policy_line(name, spec, status, now))
    .flatten()
}

/// Did this pass's observation show every one of the controller's own probes of `region`
/// failing? None: the probes were not asked (a light pass reuses cached descriptions).
pub fn probes_failing(world: &ObservedWorld, region: &str) -> Option<bool> {
    if !world.full {
        return None;
    }
    let rds = world
        .region(region)
        .is_some_and(|r| r.reachable.is_unreachable());
    let mut services = world
        .services
        .iter()
        .filter(|s| s.region == region)
        .peekable();
    // A group without services has one probe of its own; the witnesses are the second.
    let ecs = services.peek().is_none() || services.all(|s| matches!(s.ecs, Seen::Unreachable(_)));
    Some(rds && ecs)
}

/// Can `target` take over the writer now?
pub fn target_health(world: &ObservedWorld, target: &str) -> Result<(), String> {
    let view = world
        .region(target)
        .ok_or_else(|| format!("{target} was not observed"))?;
    if !view.reachable.answered() {
        return Err(format!("its database endpoint in {target} did not answer"));
    }
    if !matches!(view.membership, Membership::Secondary { .. }) {
        return Err(format!(
            "its cluster is {}, not a secondary of the global cluster",
            view.membership.as_str()
        ));
    }
    let status = view.cluster.as_ref().map(|c| &c.status);
    if !status.is_some_and(|s| s.is_available()) {
        return Err(format!(
            "its cluster is {}, not available",
            status.map_or("not found", |s| s.as_str())
        ));
    }
    if let Some(s) = world
        .services
        .iter()
        .find(|s| s.region == target && !matches!(s.ecs, Seen::Known(Some(_))))
    {
        return Err(format!(
            "ECS service {} in {target} is not readable",
            s.name
        ));
    }
    Ok(())
}

/// Every policy state the status names.
pub mod state {
    pub const NOT_ARMED: &str = "NotArmed";
    pub const ARMED: &str = "Armed";
    pub const WATCHING: &str = "Watching";
    pub const DECIDING: &str = "Deciding";
    pub const BLOCKED: &str = "Blocked";
}

/// How often an armed policy looks while the writer's region looks impaired.
pub const WATCH_POLL: Duration = Duration::from_secs(5);
/// How often an armed group is looked at while healthy (instead of the 30 s resync): the
/// count of `afterSeconds` starts at the first failed probe, so this bounds how late it
/// starts. A light pass, whose reads the fleet shares (answers at most this old).
pub const ARMED_POLL: Duration = Duration::from_secs(2);

impl super::Builder<'_> {
    /// Run the policy for this pass: update its memory in the status, and act on its decision
    /// (a countdown, a Blocked phase, or a failover for the controller to record).
    pub(super) fn auto_failover(&mut self, settled: Option<&str>) {
        let input = self.input;
        let Some(policy) = &input.spec.auto_failover else {
            self.status.auto_failover = None;
            return;
        };
        let previous = input.status.auto_failover.clone().unwrap_or_default();
        let since = settled.and_then(|writer| {
            let failing = match probes_failing(input.world, writer) {
                Some(failing) => failing,
                // Not asked this pass: the count goes on only if it was running.
                None => previous.impaired_region.as_deref() == Some(writer),
            };
            // A new count starts at the first failed probe: the light look that found
            // the region off, when this full one was redone because of it.
            let first_failure = input.world.suspect_since.unwrap_or(input.now);
            impaired_since(
                previous.impaired_region.as_deref(),
                previous.impaired_since,
                writer,
                failing,
                first_failure,
            )
        });
        let same_outage = since.is_some() && since == previous.impaired_since;
        let lag_before = match since {
            Some(_) if same_outage => previous.lag_before_outage_seconds,
            Some(_) => input
                .status
                .observed
                .as_ref()
                .and_then(|o| o.replication_lag_seconds),
            None => None,
        };
        let target = settled.and_then(|w| input.spec.other_region(w));
        let last_decision = previous.last_decision.clone();
        let last_move_was_policy = last_decision.as_ref().is_some_and(|d| {
            input
                .status
                .last_operation
                .as_ref()
                .is_some_and(|op| op.generation == d.generation)
        });
        let decision = decide(&PolicyInput {
            name: input.name,
            policy: Some(policy),
            suspended: input.spec.suspended,
            settled_writer: settled,
            target,
            impaired_since: since,
            witnesses: &input.world.witnesses,
            target_health: target.map_or(Ok(()), |t| target_health(input.world, t)),
            lag_before_outage: lag_before,
            last_decision: last_decision.as_ref(),
            last_move_was_policy,
            now: input.now,
        });
        let mut next = AutoFailoverStatus {
            impaired_region: since.and(settled.map(str::to_string)),
            impaired_since: since,
            lag_before_outage_seconds: lag_before,
            last_decision,
            ..Default::default()
        };
        self.act_on(policy, decision, &previous, &mut next);
        self.status.auto_failover = Some(next);
    }

    fn act_on(
        &mut self,
        policy: &AutoFailoverSpec,
        decision: PolicyDecision,
        previous: &AutoFailoverStatus,
        next: &mut AutoFailoverStatus,
    ) {
        let input = self.input;
        let (state, message) = match decision {
            PolicyDecision::NotArmed(why) => (state::NOT_ARMED, format!("not armed: {why}")),
            PolicyDecision::Armed => {
                self.requeue = self.requeue.min(ARMED_POLL);
                (
                state::ARMED,
                format!(
                    "armed: fails over after {} s of impairment confirmed by {} witness(es), within {} s of lag",
                    policy.after_seconds,
                    policy.required_witnesses(),
                    policy.max_data_loss_seconds
                ),
            )
            }
            PolicyDecision::Watching {
                region,
                decide_at,
                remaining,
                waiting_for,
            } => {
                next.decide_at = Some(decide_at);
                let message = match waiting_for {
                    Some(what) if remaining.is_zero() => format!(
                        "{region} impaired for the controller since {}, not confirmed: {what}",
                        next.impaired_since.unwrap_or(input.now)
                    ),
                    Some(what) => format!(
                        "{} (if the witnesses confirm: {what})",
                        countdown_text(input.name, &region, remaining)
                    ),
                    None => countdown_text(input.name, &region, remaining),
                };
                let poll = if remaining.is_zero() {
                    WATCH_POLL
                } else {
                    remaining.min(WATCH_POLL)
                };
                self.requeue = self.requeue.min(poll);
                (state::WATCHING, message)
            }
            PolicyDecision::Blocked { reason } => {
                if previous.state != state::BLOCKED {
                    self.event("AutoFailoverBlocked", reason.clone(), None);
                }
                let poll = input.config.blocked_poll;
                self.set_phase(Phase::Blocked, reason.clone(), poll);
                (state::BLOCKED, reason)
            }
            PolicyDecision::Decide {
                from,
                to,
                evidence,
                lag,
            } => {
                self.decision = Some(super::PolicyFailover {
                    from: from.clone(),
                    to: to.clone(),
                    lag_seconds: lag,
                    max_data_loss_seconds: policy.max_data_loss_seconds,
                    evidence,
                });
                self.requeue = self.requeue.min(Duration::from_secs(1));
                (
                    state::DECIDING,
                    format!("failing over automatically from {from} to {to} (lag {lag:.1} s)"),
                )
            }
        };
        next.state = state.to_string();
        next.message = message;
    }
}

#[cfg(test)]
mod tests;
