//! An operation the status no longer holds (the status keeps the running and the last one),
//! rebuilt from the journal events the planner wrote for it: `OperationStarted` (type,
//! regions, generation), each step's `StepStarted`, `StepSucceeded`, `StepSkipped` and
//! `StepReopened`, and `OperationSucceeded` (its RPO, as the message rounds it to 0.1 s) or
//! `OperationSuperseded`. Pure.

use drctl_schema::{Operation, OperationState, OperationType, StepName, StepRecord, StepState};
use drctl_state::Event;

use crate::planner::OperationPlan;

/// The operation `id` as its journal events describe it; None when the journal does not
/// hold its start.
pub fn operation_from_journal(journal: &[Event], id: &str) -> Option<Operation> {
    let mut events: Vec<&Event> = journal
        .iter()
        .filter(|e| e.operation_id.as_deref() == Some(id))
        .collect();
    events.sort_by_key(|e| (e.at, e.seq));
    let started = events.iter().find(|e| e.reason == "OperationStarted")?;
    let (type_, from, to, generation) = parse_started(&started.message)?;
    let mut op = Operation {
        id: id.to_string(),
        type_,
        from,
        to,
        started_at: started.at,
        finished_at: None,
        generation,
        state: OperationState::Running,
        steps: Vec::new(),
        rpo_seconds: None,
        rto_seconds: None,
        notes: Default::default(),
    };
    for e in &events {
        apply(&mut op, e);
    }
    order_steps(&mut op);
    if op.state == OperationState::Succeeded {
        // The planner's own rule; a healthCheck group's served moment, when no step marked
        // it, comes from its TrafficServed event (`apply`).
        op.rto_seconds = crate::planner::rto_seconds(&op);
    }
    Some(op)
}

/// One event's effect on the operation being rebuilt.
fn apply(op: &mut Operation, e: &Event) {
    match e.reason.as_str() {
        "OperationSucceeded" => {
            op.state = OperationState::Succeeded;
            op.finished_at = Some(e.at);
            op.rpo_seconds = parse_rpo(&e.message);
        }
        "TrafficServed" => {
            if let Some(rto) = crate::planner::served::rto_in_message(&e.message) {
                let at = op.started_at.plus_millis((rto * 1000.0).round() as i64);
                crate::planner::served::note_served(op, at);
            }
        }
        "OperationSuperseded" => {
            op.state = OperationState::Superseded;
            op.finished_at = Some(e.at);
        }
        reason @ ("StepStarted" | "StepSucceeded" | "StepSkipped" | "StepReopened") => {
            // Only the planner's step events make a step: an approval or an AWS call names
            // its step too, but says nothing of its state.
            let Some(name) = e.step.as_deref().and_then(step_name) else {
                return;
            };
            let step = step_of(op, name);
            match reason {
                "StepStarted" => {
                    step.state = StepState::Running;
                    step.started_at.get_or_insert(e.at);
                }
                "StepSucceeded" | "StepSkipped" => {
                    step.state = if reason == "StepSkipped" {
                        StepState::Skipped
                    } else {
                        StepState::Succeeded
                    };
                    step.started_at.get_or_insert(e.at);
                    step.finished_at = Some(e.at);
                    step.detail = Some(detail(name, &e.message));
                }
                "StepReopened" => {
                    step.state = StepState::Running;
                    step.finished_at = None;
                    step.detail = Some(detail(name, &e.message));
                }
                _ => {}
            }
        }
        _ => {}
    }
}

/// The steps in the order the operation's plan lists them (as the status would), a step the
/// plan does not list after them in the order the journal first named it. The plan is told
/// by the operation's type, and a failback's mode (and an rdsReplica group's plans) by its
/// steps.
fn order_steps(op: &mut Operation) {
    let has = |name: StepName| op.steps.iter().any(|s| s.name == name);
    // An rdsReplica group's operations are the ones that promote a read replica.
    let rds = has(StepName::PromoteReplica);
    let plan = match op.type_ {
        OperationType::Switchover if rds => OperationPlan::RdsSwitchover,
        OperationType::Switchover => OperationPlan::Switchover,
        OperationType::Failover if rds => OperationPlan::RdsFailover,
        OperationType::Failover => OperationPlan::Failover,
        OperationType::Failback if rds => OperationPlan::RdsFailbackStale,
        OperationType::Failback if has(StepName::SnapshotStale) => OperationPlan::FailbackStale,
        OperationType::Failback => OperationPlan::FailbackRejoined,
        OperationType::AppTierFailover => OperationPlan::AppTier,
    };
    let planned = plan.steps();
    let rank = |name: StepName| {
        planned
            .iter()
            .position(|p| *p == name)
            .unwrap_or(usize::MAX)
    };
    // A stable sort keeps the journal's order among the steps the plan does not list.
    op.steps.sort_by_key(|s| rank(s.name));
}

/// The step's record, added (pending) the first time the journal names it.
fn step_of(op: &mut Operation, name: StepName) -> &mut StepRecord {
    let at = match op.steps.iter().position(|s| s.name == name) {
        Some(at) => at,
        None => {
            op.steps.push(StepRecord::pending(name));
            op.steps.len() - 1
        }
    };
    &mut op.steps[at]
}

fn step_name(text: &str) -> Option<StepName> {
    StepName::ALL.iter().copied().find(|s| s.as_str() == text)
}

/// `Failover us-east-1 -> us-west-2 (op-1-g2) for generation 2`, and an app-tier failover's
/// `AppTierFailover ... for generation 2: traffic and compute move, ...`.
fn parse_started(message: &str) -> Option<(OperationType, String, String, u64)> {
    let words: Vec<&str> = message.split_whitespace().collect();
    let type_ = match *words.first()? {
        "Switchover" => OperationType::Switchover,
        "Failover" => OperationType::Failover,
        "Failback" => OperationType::Failback,
        "AppTierFailover" => OperationType::AppTierFailover,
        _ => return None,
    };
    if words.get(2) != Some(&"->") {
        return None;
    }
    let after = words.iter().position(|w| *w == "generation")?;
    let generation = words.get(after + 1)?.trim_end_matches(':').parse().ok()?;
    Some((
        type_,
        words.get(1)?.to_string(),
        words.get(3)?.to_string(),
        generation,
    ))
}

/// `..., RPO 0.7 s` at the end of `OperationSucceeded`.
fn parse_rpo(message: &str) -> Option<f64> {
    let (_, rest) = message.rsplit_once(", RPO ")?;
    rest.strip_suffix(" s")?.parse().ok()
}

/// `MoveDns: api.example.com. points at us-west-2` without the step's name.
fn detail(name: StepName, message: &str) -> String {
    message
        .strip_prefix(name.as_str())
        .and_then(|m| m.strip_prefix(": "))
        .unwrap_or(message)
        .to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn an_operation_start_is_read_back_from_its_journal_message_of_either_shape() {
        assert_eq!(
            parse_started("Failover us-east-1 -> us-west-2 (op-1-g2) for generation 2"),
            Some((
                OperationType::Failover,
                "us-east-1".to_string(),
                "us-west-2".to_string(),
                2
            ))
        );
        assert_eq!(
            parse_started(
                "AppTierFailover us-east-1 -> us-west-2 (op-1-g3) for generation 3: traffic and \
                 compute move, the writer stays in us-east-1"
            ),
            Some((
                OperationType::AppTierFailover,
                "us-east-1".to_string(),
                "us-west-2".to_string(),
                3
            ))
        );
        assert_eq!(parse_started("Rebooted us-east-1"), None);
    }

    fn event(at: i64, reason: &str, message: &str) -> Event {
        Event {
            seq: 0,
            at: drctl_schema::Timestamp::from_millis(at),
            actor: "controller/a".to_string(),
            reason: reason.to_string(),
            message: message.to_string(),
            operation_id: Some("op-1".to_string()),
            step: None,
            data: None,
        }
    }

    #[test]
    fn a_health_check_operation_rebuilt_from_its_journal_keeps_its_traffic_served_rto() {
        let journal = [
            event(0, "OperationStarted", "Failover us-east-1 -> us-west-2 (op-1) for generation 2"),
            event(
                90_000,
                "TrafficServed",
                "Route 53 answers with us-west-2 for Failover us-east-1 -> us-west-2: served 88.5 s after it started (its RTO)",
            ),
            event(120_000, "OperationSucceeded", "Failover us-east-1 -> us-west-2 finished in 120 s"),
        ];
        let op = operation_from_journal(&journal, "op-1").unwrap();
        assert_eq!(op.state, OperationState::Succeeded);
        assert_eq!(op.rto_seconds, Some(88.5));
    }

    #[test]
    fn read_replica_mutations_are_named_as_aws_names_them() {
        use crate::report::model::api_operation;
        assert_eq!(api_operation("createDbSnapshot"), "CreateDBSnapshot");
        assert_eq!(api_operation("deleteDbInstance"), "DeleteDBInstance");
        assert_eq!(
            api_operation("createReadReplica"),
            "CreateDBInstanceReadReplica"
        );
        assert_eq!(api_operation("promoteReadReplica"), "PromoteReadReplica");
    }
}
