//! The one rule for judging a recovery point (docs/drills.md, "Objectives on real
//! operations"): the planner's judgement of a finished operation, `drctl sim`, `drctl drill`
//! and `drctl report` all read an unrecorded RPO through it, so that one operation is never
//! met in one place and unmeasured in another.

use drctl_schema::{Operation, OperationType};

/// The RPO an operation is judged by: the data-loss window it recorded (the lag at a
/// failover's cut); 0 for a planned move, which cannot lose a write (a switchover, alone or
/// closing a failback); None, unmeasured, for a failover that recorded no window.
pub fn judged_rpo(op: &Operation) -> Option<f64> {
    op.rpo_seconds
        .or_else(|| (op.type_ != OperationType::Failover).then_some(0.0))
}

/// The RPO of a run of operations (a drill, a scenario): the largest judged window; None
/// when no operation ran, or when one of them is unmeasured (the run's window is unknown).
pub fn judged_rpo_of<'a>(ops: impl IntoIterator<Item = &'a Operation>) -> Option<f64> {
    let mut largest: Option<f64> = None;
    for op in ops {
        let rpo = judged_rpo(op)?;
        largest = Some(largest.map_or(rpo, |l| l.max(rpo)));
    }
    largest
}

#[cfg(test)]
mod tests {
    use super::*;
    use drctl_schema::{OperationState, Timestamp};

    fn op(type_: OperationType, rpo: Option<f64>) -> Operation {
        Operation {
            id: "op-1".into(),
            type_,
            from: "us-east-1".into(),
            to: "us-west-2".into(),
            started_at: Timestamp::from_millis(0),
            finished_at: None,
            generation: 2,
            state: OperationState::Succeeded,
            steps: Vec::new(),
            rpo_seconds: rpo,
            rto_seconds: None,
            notes: Default::default(),
        }
    }

    #[test]
    fn a_recorded_window_is_the_rpo_whatever_the_operation() {
        assert_eq!(
            judged_rpo(&op(OperationType::Failover, Some(2.5))),
            Some(2.5)
        );
        assert_eq!(
            judged_rpo(&op(OperationType::Switchover, Some(1.0))),
            Some(1.0)
        );
    }

    #[test]
    fn a_planned_move_without_a_window_is_zero_and_a_failover_without_one_is_unmeasured() {
        assert_eq!(judged_rpo(&op(OperationType::Switchover, None)), Some(0.0));
        assert_eq!(judged_rpo(&op(OperationType::Failback, None)), Some(0.0));
        assert_eq!(judged_rpo(&op(OperationType::Failover, None)), None);
    }

    #[test]
    fn a_run_is_judged_by_its_largest_window_and_unmeasured_if_any_operation_is() {
        let failover = op(OperationType::Failover, Some(3.0));
        let failback = op(OperationType::Failback, None);
        assert_eq!(judged_rpo_of([&failover, &failback]), Some(3.0));
        assert_eq!(judged_rpo_of([&failback]), Some(0.0));
        assert_eq!(judged_rpo_of(std::iter::empty()), None);
        let unrecorded = op(OperationType::Failover, None);
        assert_eq!(judged_rpo_of([&failback, &unrecorded]), None);
    }
}
