//! A rehearsal (`drctl sim --scenario`, `drctl drill`) mapped into the reports of its
//! operations, built as `drctl report` builds them, plus the scripted operator's decisions,
//! which the simulated operator makes without journaling them.

use drctl_schema::{Objectives, Operation, Timestamp};
use drctl_state::Event;

use super::model::{DecidedBy, DecisionReport, OperationReport, ReportInput};
use crate::simulation::Decision;

/// What a rehearsal leaves for its page: its clock's zero, every operation (its latest
/// record, in the order they started) and the group's journal.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunRecord {
    pub start: Timestamp,
    pub operations: Vec<Operation>,
    pub journal: Vec<Event>,
}

/// One report per operation of the run, judged against `objectives`. `decisions` are the
/// run's, in seconds from `record.start`; the operator's are added to the operation they
/// bear on (the one running then, else the next to start), the policy's are already in the
/// journal.
pub fn from_run(
    group: &str,
    objectives: Option<Objectives>,
    record: &RunRecord,
    decisions: &[Decision],
) -> Vec<OperationReport> {
    let mut reports: Vec<OperationReport> = record
        .operations
        .iter()
        .map(|operation| {
            OperationReport::build(ReportInput {
                group,
                operation,
                journal: &record.journal,
                recorded: None,
                objectives,
            })
        })
        .collect();
    for d in decisions
        .iter()
        .filter(|d| d.by == DecidedBy::Operator.as_str())
    {
        let at = record
            .start
            .plus_millis((d.at_seconds * 1000.0).round() as i64);
        let Some(i) = bearing_on(&record.operations, at) else {
            continue;
        };
        let (Some(report), Some(op)) = (reports.get_mut(i), record.operations.get(i)) else {
            continue;
        };
        report.decisions.push(DecisionReport {
            at,
            at_seconds: at.seconds_since(op.started_at),
            by: DecidedBy::Operator,
            actor: d.by.clone(),
            what: d.type_.clone(),
            why: d.reason.clone(),
        });
        report.decisions.sort_by_key(|d| d.at);
    }
    reports
}

/// The operation a decision at `at` bears on: the one running then, else the next to start.
fn bearing_on(operations: &[Operation], at: Timestamp) -> Option<usize> {
    let running = operations
        .iter()
        .position(|op| op.started_at <= at && op.finished_at.is_none_or(|f| at <= f));
    running.or_else(|| operations.iter().position(|op| op.started_at >= at))
}
