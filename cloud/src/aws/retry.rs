//! The SDK's standard retry mode retries throttling, 5xx and transport errors for every
//! operation. For reads that is exactly right. For a mutation it is a blind retry of a call
//! that may already have been applied (a lost response to CreateDBClusterSnapshot, a 500 from
//! SwitchoverGlobalCluster after it started): docs/design-contract.md §3 requires resolving those by
//! re-reading. This classifier runs after the SDK's own and, on mutations only, vetoes every
//! retry except the ones that are safe: throttling (refused before anything happened) and
//! failures to connect (nothing was sent).

use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::retries::classifiers::{
    ClassifyRetry, RetryAction, RetryClassifierPriority, RetryReason,
};
use aws_smithy_types::retry::ErrorKind;

use super::errors::never_sent;

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct MutationRetryGuard;

impl ClassifyRetry for MutationRetryGuard {
    fn classify_retry(&self, _ctx: &InterceptorContext) -> RetryAction {
        RetryAction::NoActionIndicated
    }

    fn classify_retry_v2(&self, ctx: &InterceptorContext, previous: &RetryAction) -> RetryAction {
        let RetryAction::RetryIndicated(RetryReason::RetryableError { kind, .. }) = previous else {
            // Nothing to veto (no retry planned), or a reason this SDK version added later:
            // leave the verdict alone.
            return RetryAction::NoActionIndicated;
        };
        if *kind == ErrorKind::ThrottlingError {
            return RetryAction::NoActionIndicated;
        }
        let connect_failure = ctx
            .output_or_error()
            .and_then(|result| result.err())
            .and_then(|err| err.as_connector_error())
            .is_some_and(never_sent);
        if connect_failure {
            RetryAction::NoActionIndicated
        } else {
            RetryAction::RetryForbidden
        }
    }

    fn name(&self) -> &'static str {
        "drctl mutation retry guard"
    }

    fn priority(&self) -> RetryClassifierPriority {
        RetryClassifierPriority::run_after(RetryClassifierPriority::transient_error_classifier())
    }
}
