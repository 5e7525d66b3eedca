//! One error type for every port. The category decides what the controller does next:
//! retry with backoff, wait for a spec change, or wait for an operator.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Rds,
    Route53,
    Ecs,
    AutoScaling,
    CloudWatch,
    /// ARC's routing-control data plane (route53-recovery-cluster): five regional endpoints.
    RoutingControl,
    /// ARC's control-config API (route53-recovery-control-config), in us-west-2 only.
    RecoveryControlConfig,
    Http,
    /// spec.dependencies: S3 replication (read only).
    S3,
    /// spec.dependencies: DynamoDB global tables (read only; the store has its own client).
    DynamoDb,
}

impl Service {
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Rds => "rds",
            Service::Route53 => "route53",
            Service::Ecs => "ecs",
            Service::AutoScaling => "application-autoscaling",
            Service::CloudWatch => "cloudwatch",
            Service::RoutingControl => "route53-recovery-cluster",
            Service::RecoveryControlConfig => "route53-recovery-control-config",
            Service::Http => "http",
            Service::S3 => "s3",
            Service::DynamoDb => "dynamodb",
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Stable categories (also a metrics label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCategory {
    /// Throttling, 5xx, timeouts, a region that does not answer: retry with backoff.
    Retryable,
    /// The spec asks for something AWS refuses (engine mismatch, missing KMS key, unknown
    /// cluster): nothing changes until the spec does.
    NeedsSpecChange,
    /// AWS refuses in a way only a person can resolve (deletion protection on a cluster drctl
    /// must not touch, missing permissions).
    NeedsOperator,
    /// A bug or an impossible state: logged and surfaced.
    Terminal,
}

impl ErrorCategory {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCategory::Retryable => "retryable",
            ErrorCategory::NeedsSpecChange => "needs_spec_change",
            ErrorCategory::NeedsOperator => "needs_operator",
            ErrorCategory::Terminal => "terminal",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct CloudError {
    pub category: ErrorCategory,
    pub service: Service,
    /// The API operation, e.g. `FailoverGlobalCluster`.
    pub operation: &'static str,
    /// The AWS error code, e.g. `InvalidGlobalClusterStateFault`, kept for the user.
    pub code: String,
    pub message: String,
    /// The request may have been applied (e.g. a timeout after it was sent): the caller must
    /// resolve the outcome by reading, never by blindly retrying.
    pub outcome_unknown: bool,
}

impl fmt::Display for CloudError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}: {}",
            self.service, self.operation, self.code, self.message
        )?;
        if self.outcome_unknown {
            f.write_str(" (outcome unknown: resolved by re-reading)")?;
        }
        Ok(())
    }
}

impl CloudError {
    pub fn new(
        category: ErrorCategory,
        service: Service,
        operation: &'static str,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        CloudError {
            category,
            service,
            operation,
            code: code.into(),
            message: message.into(),
            outcome_unknown: false,
        }
    }

    pub fn with_outcome_unknown(mut self) -> Self {
        self.outcome_unknown = true;
        self
    }

    pub fn is_retryable(&self) -> bool {
        self.category == ErrorCategory::Retryable
    }
}

pub type CloudResult<T> = Result<T, CloudError>;
