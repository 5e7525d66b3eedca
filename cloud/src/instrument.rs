//! A hook that times every AWS call, at the cloud boundary, in the crate's own terms: the
//! controller's metrics implement [`CallObserver`] without depending on the AWS SDK, and the
//! SDK adapters (feature `aws`) call it once per operation, retries included, whatever the
//! outcome.

use std::time::Duration;

use crate::error::Service;

/// Told about every AWS call the adapters make.
pub trait CallObserver: Send + Sync {
    /// One operation finished (answered, refused, or timed out) after `elapsed`, the SDK's
    /// retries included. `operation` is the API name, e.g. `DescribeGlobalClusters`.
    fn aws_call(&self, service: Service, operation: &str, elapsed: Duration, ok: bool);
}
