//! The requeue policy (kube-runtime's `Action` and `error_policy`): when a group is looked at
//! again after a pass, and how urgently. Pure apart from the group's backoff state.

use std::time::Duration;

use drctl_schema::Phase;

use crate::backoff::RetryBackoff;
use crate::reconcile::{PassOutcome, ReconcileError};
use crate::runtime::scheduler::Urgency;

/// After a pass that mutated the world, look again this soon: the next step often starts on
/// the effect of this one, and waiting a whole poll interval would sit on the recovery path.
pub const AFTER_ACTIONS: Duration = Duration::from_millis(200);

/// The floor of a retry after retryable AWS errors.
pub const MIN_RETRY: Duration = Duration::from_secs(1);

/// When and how urgently to look at a group again after a successful pass.
pub fn after_pass(outcome: &PassOutcome, backoff: &mut dyn RetryBackoff) -> (Duration, Urgency) {
    let delay = if outcome.retryable_errors > 0 {
        backoff.next_delay().min(outcome.requeue.max(MIN_RETRY))
    } else if outcome.actions > 0 {
        backoff.reset();
        AFTER_ACTIONS.min(outcome.requeue)
    } else {
        backoff.reset();
        outcome.requeue
    };
    let urgency = if outcome.operation_running || outcome.phase != Phase::Converged {
        Urgency::Operation
    } else {
        Urgency::Resync
    };
    (delay, urgency)
}

/// When to look at a group again after a pass that failed (the store, most often): back
/// off, and keep it ahead of converged resyncs, since its state is unknown.
pub fn after_error(_error: &ReconcileError, backoff: &mut dyn RetryBackoff) -> (Duration, Urgency) {
    (backoff.next_delay(), Urgency::Operation)
}

#[cfg(test)]
mod tests {
    use drctl_schema::FailoverGroupStatus;

    use super::*;
    use crate::backoff::ExponentialBackoff;

    fn outcome(phase: Phase) -> PassOutcome {
        PassOutcome {
            requeue: Duration::from_secs(30),
            phase,
            ready: phase == Phase::Converged,
            actions: 0,
            retryable_errors: 0,
            operation_running: false,
            summary: String::new(),
            status: FailoverGroupStatus::default(),
        }
    }

    #[test]
    fn a_converged_group_is_resynced_at_the_planners_interval() {
        let mut b = ExponentialBackoff::for_requeue();
        assert_eq!(
            after_pass(&outcome(Phase::Converged), &mut b),
            (Duration::from_secs(30), Urgency::Resync)
        );
    }

    #[test]
    fn a_pass_that_acted_is_followed_up_at_once_and_ahead_of_resyncs() {
        let mut b = ExponentialBackoff::for_requeue();
        let mut o = outcome(Phase::Progressing);
        o.actions = 2;
        o.operation_running = true;
        o.requeue = Duration::from_secs(2);
        assert_eq!(after_pass(&o, &mut b), (AFTER_ACTIONS, Urgency::Operation));
    }

    #[test]
    fn retryable_errors_back_off_but_never_past_the_planners_requeue() {
        let mut b = ExponentialBackoff::for_requeue();
        let mut o = outcome(Phase::Progressing);
        o.retryable_errors = 1;
        o.requeue = Duration::from_secs(5);
        let delays: Vec<Duration> = (0..5).map(|_| after_pass(&o, &mut b).0).collect();
        assert_eq!(
            delays,
            [1, 2, 4, 5, 5].map(Duration::from_secs),
            "doubling from 1 s, capped by the requeue"
        );
        o.retryable_errors = 0;
        after_pass(&o, &mut b);
        o.retryable_errors = 1;
        assert_eq!(
            after_pass(&o, &mut b).0,
            Duration::from_secs(1),
            "a clean pass resets the backoff"
        );
    }

    #[test]
    fn a_failed_pass_backs_off_with_operation_urgency() {
        let mut b = ExponentialBackoff::for_requeue();
        let err = ReconcileError::LostLease;
        assert_eq!(
            after_error(&err, &mut b),
            (Duration::from_secs(1), Urgency::Operation)
        );
        assert_eq!(after_error(&err, &mut b).0, Duration::from_secs(2));
    }
}
