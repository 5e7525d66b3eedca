//! One operation as a report: its steps on a time axis, RTO and RPO against the objectives,
//! the AWS mutations the controller made for it and who decided what, from the journal.
//! Pure: built from values, no IO and no clock.

use std::collections::{BTreeMap, BTreeSet};

use drctl_schema::{
    FailoverGroup, Objectives, ObjectivesJudgement, Operation, StepRecord, StepState, Timestamp,
};
use drctl_state::Event;
use serde::Serialize;

use crate::planner::objectives::judged_rpo;
use crate::reconcile::POLICY_ACTOR;

/// Journal reasons of the controller's AWS calls (`reconcile.rs`).
const MUTATION: &str = "AwsMutation";
const MUTATION_FAILED: &str = "AwsMutationFailed";
/// The journal actor prefix of the controller's own events; everything else is a person or
/// the policy.
const CONTROLLER_ACTOR_PREFIX: &str = "controller/";

/// `drctl report -o json`: the field names are stable.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OperationReport {
    pub group: String,
    pub operation_id: String,
    /// Switchover, Failover or Failback.
    pub operation_type: String,
    pub from: String,
    pub to: String,
    /// Running, Succeeded, Failed or Superseded.
    pub state: String,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    pub duration_seconds: Option<f64>,
    /// From the operation's start until the new region served (absent: it did not yet).
    pub rto_seconds: Option<f64>,
    /// The data-loss window the operation is judged by (`planner::objectives::judged_rpo`).
    pub rpo_seconds: Option<f64>,
    /// One entry per objective given; empty without objectives.
    pub objectives: Vec<ObjectiveVerdict>,
    /// No objective missed (true without objectives; an unmeasured one is not a miss).
    pub objectives_met: bool,
    /// In the operation's order; `*_seconds` are from the operation's start.
    pub steps: Vec<StepReport>,
    /// The steps that set the operation's length, first to last (see [`critical_path`]).
    pub critical_path: Vec<String>,
    pub mutations: Vec<MutationReport>,
    pub decisions: Vec<DecisionReport>,
    /// Facts the operation carried (snapshot ids, change ids, who allowed data loss).
    pub notes: BTreeMap<String, String>,
    /// Where the operation's record came from: `status`, or `journal` for an operation the
    /// status no longer holds (rebuilt from its events: no notes, RPO rounded to 0.1 s).
    pub source: RecordSource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordSource {
    Status,
    Journal,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObjectiveVerdict {
    /// `rto_seconds` or `rpo_seconds`.
    pub objective: String,
    pub objective_seconds: u32,
    pub measured_seconds: Option<f64>,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Met,
    Missed,
    NotMeasured,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Met => "met",
            Verdict::Missed => "missed",
            Verdict::NotMeasured => "not measured",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepReport {
    pub name: String,
    /// Pending, Running, Succeeded, Failed or Skipped.
    pub state: String,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    pub start_seconds: Option<f64>,
    pub end_seconds: Option<f64>,
    pub duration_seconds: Option<f64>,
    pub detail: Option<String>,
    /// On the critical path.
    pub critical: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MutationReport {
    pub at: Timestamp,
    pub at_seconds: f64,
    pub step: Option<String>,
    /// The AWS API operation called, e.g. FailoverGlobalCluster.
    pub api_operation: String,
    pub region: Option<String>,
    pub outcome: MutationOutcome,
    /// What was asked, as the journal says it (and the error, when it failed).
    pub message: String,
    pub actor: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MutationOutcome {
    Applied,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionReport {
    pub at: Timestamp,
    /// From the operation's start (negative: the decision that led to it).
    pub at_seconds: f64,
    pub by: DecidedBy,
    /// Who exactly: `alice@host`, `policy`, the rehearsal's operator.
    pub actor: String,
    /// What was decided: the journal reason (FailoverRequested, Approved, AutomaticFailover,
    /// ...) or the rehearsal's action.
    pub what: String,
    /// Why, or what exactly: the journal message (the policy's evidence, the changes made).
    pub why: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DecidedBy {
    Operator,
    Policy,
}

impl DecidedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            DecidedBy::Operator => "operator",
            DecidedBy::Policy => "policy",
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReportError {
    #[error("failovergroup/{group} has run no operation yet: nothing to report")]
    NoOperation { group: String },
    #[error(
        "failovergroup/{group}: no operation {id} in its status (known: {})",
        known.join(", ")
    )]
    UnknownOperation {
        group: String,
        id: String,
        known: Vec<String>,
    },
    #[error(
        "failovergroup/{group}: operation {id} is no longer in the status, and the journal \
         does not hold its start (OperationStarted): it cannot be rebuilt"
    )]
    StartNotJournaled { group: String, id: String },
}

/// What one report is built from.
#[derive(Debug, Clone, Copy)]
pub struct ReportInput<'a> {
    pub group: &'a str,
    pub operation: &'a Operation,
    /// The group's journal (any order; the events of other operations are left out).
    pub journal: &'a [Event],
    /// The judgement the controller recorded (`status.objectives`); used when it is this
    /// operation's, since it holds the objectives in force when the operation finished.
    pub recorded: Option<&'a ObjectivesJudgement>,
    /// Otherwise the operation is judged against these (`spec.objectives`).
    pub objectives: Option<Objectives>,
}

impl OperationReport {
    /// The report of `operation_id` (default: the running operation, else the last one) of
    /// a stored group, from its status and journal. An operation the status no longer holds
    /// is rebuilt from the journal (`report::journal`).
    pub fn from_status(
        doc: &FailoverGroup,
        journal: &[Event],
        operation_id: Option<&str>,
    ) -> Result<OperationReport, ReportError> {
        let group = doc.metadata.name.as_str();
        let status = doc.status.as_ref();
        let known: Vec<&Operation> = status
            .map(|s| [&s.operation, &s.last_operation])
            .into_iter()
            .flatten()
            .flatten()
            .collect();
        let input = |operation| ReportInput {
            group,
            operation,
            journal,
            recorded: status.and_then(|s| s.objectives.as_ref()),
            objectives: doc.spec.objectives,
        };
        let Some(id) = operation_id else {
            return match known.first() {
                Some(op) => Ok(OperationReport::build(input(op))),
                None => Err(ReportError::NoOperation {
                    group: group.to_string(),
                }),
            };
        };
        if let Some(op) = known.iter().find(|op| op.id == id) {
            return Ok(OperationReport::build(input(op)));
        }
        if !journal
            .iter()
            .any(|e| e.operation_id.as_deref() == Some(id))
        {
            return Err(ReportError::UnknownOperation {
                group: group.to_string(),
                id: id.to_string(),
                known: known.iter().map(|op| op.id.clone()).collect(),
            });
        }
        let rebuilt = super::journal::operation_from_journal(journal, id).ok_or_else(|| {
            ReportError::StartNotJournaled {
                group: group.to_string(),
                id: id.to_string(),
            }
        })?;
        let mut report = OperationReport::build(input(&rebuilt));
        report.source = RecordSource::Journal;
        Ok(report)
    }

    /// The report of one operation.
    pub fn build(input: ReportInput<'_>) -> OperationReport {
        let op = input.operation;
        let rpo = judged_rpo(op);
        let judgement = match input.recorded {
            Some(j) if j.operation_id == op.id => Some(j.clone()),
            _ => input
                .objectives
                .map(|o| ObjectivesJudgement::judge(&op.id, o, op.rto_seconds, rpo)),
        };
        let critical = critical_path(&op.steps);
        let steps = op
            .steps
            .iter()
            .map(|s| step_report(op.started_at, s, critical.contains(&s.name.as_str())))
            .collect();
        let mut journal: Vec<&Event> = input.journal.iter().collect();
        journal.sort_by_key(|e| (e.at, e.seq));
        OperationReport {
            group: input.group.to_string(),
            operation_id: op.id.clone(),
            operation_type: op.type_.as_str().to_string(),
            from: op.from.clone(),
            to: op.to.clone(),
            state: format!("{:?}", op.state),
            started_at: op.started_at,
            finished_at: op.finished_at,
            duration_seconds: op.finished_at.map(|f| f.seconds_since(op.started_at)),
            rto_seconds: op.rto_seconds,
            rpo_seconds: rpo,
            objectives: judgement
                .as_ref()
                .map(|j| verdicts(j, op.rto_seconds, rpo))
                .unwrap_or_default(),
            objectives_met: judgement.as_ref().is_none_or(|j| j.met),
            steps,
            critical_path: critical.iter().map(|s| s.to_string()).collect(),
            mutations: journal.iter().filter_map(|e| mutation(op, e)).collect(),
            decisions: journal.iter().filter_map(|e| decision(op, e)).collect(),
            notes: op.notes.clone(),
            source: RecordSource::Status,
        }
    }
}

fn step_report(start: Timestamp, s: &StepRecord, critical: bool) -> StepReport {
    StepReport {
        name: s.name.as_str().to_string(),
        state: format!("{:?}", s.state),
        started_at: s.started_at,
        finished_at: s.finished_at,
        start_seconds: s.started_at.map(|t| t.seconds_since(start)),
        end_seconds: s.finished_at.map(|t| t.seconds_since(start)),
        duration_seconds: match (s.started_at, s.finished_at) {
            (Some(a), Some(b)) => Some(b.seconds_since(a)),
            _ => None,
        },
        detail: s.detail.clone(),
        critical,
    }
}

/// One verdict per objective given: what the judgement missed or could not measure, the
/// rest met.
fn verdicts(j: &ObjectivesJudgement, rto: Option<f64>, rpo: Option<f64>) -> Vec<ObjectiveVerdict> {
    [
        ("rtoSeconds", "rto_seconds", j.objectives.rto_seconds, rto),
        ("rpoSeconds", "rpo_seconds", j.objectives.rpo_seconds, rpo),
    ]
    .into_iter()
    .filter_map(|(field, name, objective, measured)| {
        let objective = objective?;
        let missed = j.missed.iter().find(|m| m.objective == field);
        let (verdict, measured) = match missed {
            Some(m) => (Verdict::Missed, Some(m.measured_seconds)),
            None if j.unmeasured.iter().any(|u| u == field) => (Verdict::NotMeasured, None),
            None => (Verdict::Met, measured),
        };
        Some(ObjectiveVerdict {
            objective: name.to_string(),
            objective_seconds: objective,
            measured_seconds: measured,
            verdict,
        })
    })
    .collect()
}

/// The steps that set the operation's length, derived from their times: the step that
/// finished last, then, repeatedly, the step that finished last at or before the current
/// one started (what it most plausibly waited for). Skipped and unfinished steps are off it.
pub fn critical_path(steps: &[StepRecord]) -> Vec<&'static str> {
    let timed: Vec<(&StepRecord, Timestamp, Timestamp)> = steps
        .iter()
        .filter(|s| s.state != StepState::Skipped)
        .filter_map(|s| Some((s, s.started_at?, s.finished_at?)))
        .collect();
    let mut chain = Vec::new();
    let mut seen = BTreeSet::new();
    let mut current = timed.iter().max_by_key(|(_, start, end)| (*end, *start));
    while let Some((step, start, _)) = current {
        if !seen.insert(step.name) {
            break;
        }
        chain.push(step.name.as_str());
        current = timed
            .iter()
            .filter(|(s, _, end)| !seen.contains(&s.name) && end <= start)
            .max_by_key(|(_, start, end)| (*end, *start));
    }
    chain.reverse();
    chain
}

/// An AWS call the controller made for `op`: journaled with its id, during the operation or
/// by one of its steps (steady-state calls of the pass that finished it carry its id too).
fn mutation(op: &Operation, e: &Event) -> Option<MutationReport> {
    let outcome = match e.reason.as_str() {
        MUTATION => MutationOutcome::Applied,
        MUTATION_FAILED => MutationOutcome::Failed,
        _ => return None,
    };
    if e.operation_id.as_deref() != Some(op.id.as_str()) {
        return None;
    }
    if e.step.is_none() && op.finished_at.is_some_and(|f| e.at > f) {
        return None;
    }
    let field = |name: &str| {
        e.data
            .as_ref()
            .and_then(|d| d.get(name))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let api_operation = field("action")
        .map(|tag| api_operation(&tag))
        .unwrap_or_else(|| "-".to_string());
    Some(MutationReport {
        at: e.at,
        at_seconds: e.at.seconds_since(op.started_at),
        step: e.step.clone(),
        api_operation,
        region: field("region"),
        outcome,
        message: e.message.clone(),
        actor: e.actor.clone(),
    })
}

/// The AWS API operation of a journaled action (its serde tag, `planner::Action`). The tags
/// whose API name is not the tag capitalised are listed; a tag added later reads as itself.
pub fn api_operation(tag: &str) -> String {
    let named = match tag {
        "setDesiredCount" => "UpdateService",
        "changeRecord" => "ChangeResourceRecordSets",
        "createClusterSnapshot" => "CreateDBClusterSnapshot",
        "copyClusterSnapshot" => "CopyDBClusterSnapshot",
        "disableDeletionProtection" => "ModifyDBCluster",
        "deleteInstance" => "DeleteDBInstance",
        "deleteCluster" => "DeleteDBCluster",
        "createSecondaryCluster" => "CreateDBCluster",
        "createInstance" => "CreateDBInstance",
        "createDbSnapshot" => "CreateDBSnapshot",
        "deleteDbInstance" => "DeleteDBInstance",
        "createReadReplica" => "CreateDBInstanceReadReplica",
        _ => {
            let mut chars = tag.chars();
            return match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => "-".to_string(),
            };
        }
    };
    named.to_string()
}

/// A person's or the policy's event that bears on `op`: the edit that made the spec
/// generation it was planned for, an event journaled with its id (an approval), or an edit
/// while it ran (a suspension, a new failover).
fn decision(op: &Operation, e: &Event) -> Option<DecisionReport> {
    if e.actor.starts_with(CONTROLLER_ACTOR_PREFIX) {
        return None;
    }
    let data = e.data.as_ref();
    let generation = data
        .and_then(|d| d.get("generation"))
        .and_then(|g| g.as_u64());
    let during = e.at >= op.started_at && op.finished_at.is_none_or(|f| e.at <= f);
    let ours = e.operation_id.as_deref() == Some(op.id.as_str());
    if !(ours || generation == Some(op.generation) || during) {
        return None;
    }
    let by_policy = e.actor == POLICY_ACTOR
        || data.and_then(|d| d.get("by")).and_then(|b| b.as_str()) == Some(POLICY_ACTOR);
    Some(DecisionReport {
        at: e.at,
        at_seconds: e.at.seconds_since(op.started_at),
        by: if by_policy {
            DecidedBy::Policy
        } else {
            DecidedBy::Operator
        },
        actor: e.actor.clone(),
        what: e.reason.clone(),
        why: e.message.clone(),
    })
}
