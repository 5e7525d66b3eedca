//! Mapping AWS SDK failures to [`CloudError`]: one function per error shape (an SDK call's
//! `SdkError`, a request we could not even build, a transport error under the SDK), and one
//! table of AWS error codes. The category tells the controller what to do next; `code` keeps
//! the AWS error code for the user; `outcome_unknown` says that a mutation may have been
//! applied although we got no answer, so the controller must re-read instead of retrying.

use std::error::Error as StdError;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::{ConnectorError, SdkError};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::error::operation::BuildError;

use super::operations::AwsOperation;
use crate::error::{CloudError, ErrorCategory};

/// Map the error of one SDK call. Every adapter method funnels its `SdkError` through here.
pub(crate) fn from_sdk<E>(op: &AwsOperation, err: SdkError<E, HttpResponse>) -> CloudError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    let detail = error_chain_text(&err);
    match &err {
        // The SDK could not build or sign the request: nothing was sent, and retrying the same
        // input gives the same failure. A bug on our side (or an unusable configuration).
        SdkError::ConstructionFailure(_) => CloudError::new(
            ErrorCategory::Terminal,
            op.service,
            op.name,
            "ConstructionFailure",
            detail,
        ),
        // The operation (or attempt) timeout fired. The request may already be on the wire or
        // processed, so a mutation's outcome is unknown. Retryable: the next pass re-reads.
        SdkError::TimeoutError(_) => mutation_may_have_applied(
            op,
            CloudError::new(
                ErrorCategory::Retryable,
                op.service,
                op.name,
                "Timeout",
                detail,
            ),
        ),
        SdkError::DispatchFailure(failure) => {
            let connector = failure.as_connector_error();
            if failure.is_user() {
                // The HTTP client rejected the request itself (e.g. an invalid URI from a bad
                // endpoint override): not sent, and it will not get better by retrying.
                return CloudError::new(
                    ErrorCategory::Terminal,
                    op.service,
                    op.name,
                    "DispatchFailure",
                    detail,
                );
            }
            let code = if failure.is_timeout() {
                "DispatchTimeout"
            } else {
                "DispatchFailure"
            };
            let error =
                CloudError::new(ErrorCategory::Retryable, op.service, op.name, code, detail);
            // A connection that was never established carried no request: the outcome is
            // known (nothing happened). Any later I/O failure or read timeout may have
            // happened after the request was transmitted.
            if connector.is_some_and(never_sent) {
                error
            } else {
                mutation_may_have_applied(op, error)
            }
        }
        // A response arrived but could not be read or parsed: the service received the request,
        // so a mutation may have been applied. Usually a truncated body: retryable.
        SdkError::ResponseError(_) => mutation_may_have_applied(
            op,
            CloudError::new(
                ErrorCategory::Retryable,
                op.service,
                op.name,
                "ResponseError",
                detail,
            ),
        ),
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let Some(code) = service.err().code().map(str::to_string) else {
                return not_an_aws_answer(op, status, &detail);
            };
            let message = service
                .err()
                .message()
                .map(str::to_string)
                .unwrap_or(detail);
            let category = classify(&code, &message, status);
            let error = CloudError::new(category, op.service, op.name, code, message);
            // A 5xx means the service failed while handling the request; AWS documents that
            // SwitchoverGlobalCluster can fail with InternalFailure after partly acting. A
            // 4xx (throttling included) is a refusal before anything changed.
            if status >= 500 {
                mutation_may_have_applied(op, error)
            } else {
                error
            }
        }
        // `SdkError` is non-exhaustive: a future variant is surfaced, not guessed at.
        _ => CloudError::new(
            ErrorCategory::Terminal,
            op.service,
            op.name,
            "Unknown",
            detail,
        ),
    }
}

/// An HTTP answer with no AWS error code in it: something other than the AWS API answered (a
/// wrong endpoint path or host, a proxy's error page). Naming the status and the endpoint
/// setting says where to look; "Unknown: service error: unhandled error" did not.
fn not_an_aws_answer(op: &AwsOperation, status: u16, detail: &str) -> CloudError {
    let reason = http_reason(status)
        .map(|r| format!(" {r}"))
        .unwrap_or_default();
    let message = format!(
        "HTTP {status}{reason} with no AWS error code: the endpoint did not answer as the {} \
         API does (check AWS_ENDPOINT_URL and the region); the SDK said: {}",
        op.service,
        detail
            .trim_start_matches("service error: ")
            .trim_start_matches("unhandled error: ")
    );
    let category = match status {
        429 | 500..=599 => ErrorCategory::Retryable,
        // A wrong endpoint or a proxy in the way: a person's configuration to fix.
        _ => ErrorCategory::NeedsOperator,
    };
    let error = CloudError::new(category, op.service, op.name, "UnexpectedResponse", message);
    if status >= 500 {
        mutation_may_have_applied(op, error)
    } else {
        error
    }
}

fn http_reason(status: u16) -> Option<&'static str> {
    Some(match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => return None,
    })
}

/// `map_err` adapter for one operation.
pub(crate) fn mapper<E>(
    op: &AwsOperation,
) -> impl FnOnce(SdkError<E, HttpResponse>) -> CloudError + '_
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    move |err| from_sdk(op, err)
}

/// A request input (a Route 53 record, a change batch) that the SDK's builders refused: the
/// spec or the observed record is missing a required field. Nothing was sent.
pub(crate) fn from_build(op: &AwsOperation, err: BuildError) -> CloudError {
    CloudError::new(
        ErrorCategory::NeedsSpecChange,
        op.service,
        op.name,
        "InvalidRequest",
        err.to_string(),
    )
}

/// A response that parsed but lacks what we need (e.g. a Route 53 change without an id).
pub(crate) fn malformed_response(op: &AwsOperation, what: impl Into<String>) -> CloudError {
    CloudError::new(
        ErrorCategory::Retryable,
        op.service,
        op.name,
        "MalformedResponse",
        what,
    )
}

fn mutation_may_have_applied(op: &AwsOperation, error: CloudError) -> CloudError {
    // Reads have no outcome to resolve: they are simply retried.
    if op.mutating {
        error.with_outcome_unknown()
    } else {
        error
    }
}

/// True when the transport failed while connecting (DNS, TCP connect, TLS handshake, connect
/// timeout): no byte of the request reached the service.
pub(crate) fn never_sent(err: &ConnectorError) -> bool {
    let mut next: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = next {
        if let Some(hyper_err) = e.downcast_ref::<hyper_util::client::legacy::Error>() {
            if hyper_err.is_connect() {
                return true;
            }
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                return true;
            }
        }
        next = e.source();
    }
    false
}

fn error_chain_text(err: &(dyn StdError + 'static)) -> String {
    let mut text = err.to_string();
    let mut next = err.source();
    while let Some(e) = next {
        let part = e.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        next = e.source();
    }
    text
}

/// Throttling and transient server faults. The SDK (standard retry mode) already retried
/// them; when it gives up, the controller backs off and tries again on a later pass.
const RETRYABLE_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    // Route 53: the previous change of this zone is still being applied.
    "PriorRequestNotComplete",
    // Route 53: someone else is changing the zone right now.
    "ConcurrentModification",
    "InternalFailure",
    "InternalError",
    "InternalServerError",
    "InternalServiceError",
    // Application Auto Scaling's name for a 5xx.
    "InternalServiceException",
    // ECS's name for a 5xx.
    "ServerException",
    // ARC's name for a 5xx.
    "InternalServerException",
    // ARC's data plane: this cluster endpoint is down; another one answers.
    "EndpointTemporarilyUnavailableException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    // S3's throttling (503).
    "SlowDown",
    "RequestTimeout",
    "RequestTimeoutException",
    // Application Auto Scaling: another update of the same target is in progress.
    "ConcurrentUpdateException",
    // ECS: a deployment is being updated.
    "UpdateInProgressException",
    // RDS: the cluster/instance/snapshot is in a state that does not allow the call *now*
    // (creating, modifying, backing-up, failing-over): it settles by itself; re-read later.
    "InvalidDBClusterStateFault",
    "InvalidDBInstanceState",
    "InvalidDBInstanceStateFault",
    "InvalidDBClusterSnapshotStateFault",
    // RDS: capacity in that AZ is short for now.
    "InsufficientDBInstanceCapacity",
    // Our deterministic names already exist: an earlier attempt (possibly one whose outcome
    // was unknown) succeeded. The step re-reads on the next pass and skips what is done.
    "DBClusterAlreadyExistsFault",
    "DBInstanceAlreadyExists",
    "DBClusterSnapshotAlreadyExistsFault",
    // rdsReplica: a DB snapshot in a state that does not allow the call now, or ours
    // already taken.
    "InvalidDBSnapshotState",
    "DBSnapshotAlreadyExists",
];

/// The spec names something AWS does not have or cannot do: nothing changes until the spec
/// does.
const NEEDS_SPEC_CHANGE_CODES: &[&str] = &[
    // A cluster, instance or global cluster named by the spec does not exist (describe calls
    // report absence as data, so this comes from a call that acts on a spec'd resource).
    "DBClusterNotFoundFault",
    "DBInstanceNotFound",
    "DBInstanceNotFoundFault",
    "GlobalClusterNotFoundFault",
    "DBSubnetGroupNotFoundFault",
    "DBSubnetGroupDoesNotCoverEnoughAZs",
    "InvalidSubnet",
    "InvalidVPCNetworkStateFault",
    // Encrypted secondaries need a customer-managed key usable in their own region.
    "KMSKeyNotAccessibleFault",
    // Bad values, or a combination AWS rejects (engine/version mismatch, instance class not
    // offered for the engine).
    "InvalidParameterValue",
    "InvalidParameterCombination",
    "MissingParameter",
    "ValidationError",
    "ValidationException",
    "StorageTypeNotSupported",
    "DBInstanceClassNotFound",
    // Route 53: unknown zone, malformed record.
    "NoSuchHostedZone",
    "InvalidInput",
    "InvalidArgument",
    "InvalidChangeBatch",
    // ECS / Application Auto Scaling: unknown cluster, service or target.
    "ClusterNotFoundException",
    "ServiceNotFoundException",
    "ServiceNotActiveException",
    "InvalidParameterException",
    "ObjectNotFoundException",
    // ARC: the cluster or routing control named by the spec does not exist.
    "ResourceNotFoundException",
    // S3: the bucket lives in another region than spec.dependencies says.
    "PermanentRedirect",
    "AuthorizationHeaderMalformed",
];

/// Only a person can fix these: permissions, credentials, quotas, a missing snapshot we were
/// told to keep.
const NEEDS_OPERATOR_CODES: &[&str] = &[
    // ARC: the update would break a control panel's safety rule (or the control panel is
    // being changed): a person decides whether to override the rule.
    "ConflictException",
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredToken",
    "ExpiredTokenException",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "MissingAuthenticationToken",
    "AuthFailure",
    "OptInRequired",
    "StorageQuotaExceeded",
    "DBClusterQuotaExceededFault",
    "InstanceQuotaExceeded",
    "SnapshotQuotaExceeded",
    "LimitExceededException",
    "DBClusterSnapshotNotFoundFault",
    "DBSnapshotNotFound",
];

/// The category of an AWS error code, for this operation.
pub(crate) fn classify(code: &str, message: &str, status: u16) -> ErrorCategory {
    let lower = message.to_ascii_lowercase();
    // Deletion protection comes back as InvalidParameterCombination ("Cannot delete protected
    // Cluster, please disable deletion protection"): the spec is fine, but whoever turned the
    // protection on must decide.
    if lower.contains("deletion protection") || lower.contains("protected cluster") {
        return ErrorCategory::NeedsOperator;
    }
    match code {
        // Aurora refuses a second switchover/failover while one is in flight, and also
        // refuses for lasting reasons (target not a member, already the primary, members on
        // different engine versions). Only the first settles by itself.
        "InvalidGlobalClusterStateFault" => {
            if is_transient_global_state(&lower) {
                ErrorCategory::Retryable
            } else {
                ErrorCategory::NeedsOperator
            }
        }
        // A Route 53 compare-and-swap whose DELETE no longer matches: someone moved the record
        // since we read it. Re-reading and re-planning resolves it. Any other invalid batch is
        // a malformed record from the spec.
        "InvalidChangeBatch"
            if lower.contains("not found") || lower.contains("values provided do not match") =>
        {
            ErrorCategory::Retryable
        }
        _ if RETRYABLE_CODES.contains(&code) => ErrorCategory::Retryable,
        _ if NEEDS_SPEC_CHANGE_CODES.contains(&code) => ErrorCategory::NeedsSpecChange,
        _ if NEEDS_OPERATOR_CODES.contains(&code) => ErrorCategory::NeedsOperator,
        // Unknown codes: fall back on the HTTP status class.
        _ if status >= 500 || status == 429 => ErrorCategory::Retryable,
        _ if status == 401 || status == 403 => ErrorCategory::NeedsOperator,
        _ => ErrorCategory::Terminal,
    }
}

/// Words AWS uses when a global cluster is busy with an operation (or its members are
/// changing state) rather than in a lasting invalid state.
fn is_transient_global_state(lower_message: &str) -> bool {
    const TRANSIENT: &[&str] = &[
        "in progress",
        "in-progress",
        "is currently",
        "switching-over",
        "switching over",
        "failing-over",
        "failing over",
        "pending",
        "modifying",
        "being modified",
        "try again",
        "not yet available",
    ];
    TRANSIENT.iter().any(|w| lower_message.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arc_errors_map_to_typed_categories() {
        // A safety rule refused the update: a person decides whether to override it.
        assert_eq!(
            classify("ConflictException", "would break safety rule", 409),
            ErrorCategory::NeedsOperator
        );
        // 3 mutating calls/s per endpoint, and an endpoint that is down: the next one answers.
        assert_eq!(
            classify("ThrottlingException", "Rate exceeded", 429),
            ErrorCategory::Retryable
        );
        assert_eq!(
            classify(
                "EndpointTemporarilyUnavailableException",
                "try another",
                503
            ),
            ErrorCategory::Retryable
        );
        assert_eq!(
            classify("InternalServerException", "", 500),
            ErrorCategory::Retryable
        );
        // The spec names a cluster or control that does not exist.
        assert_eq!(
            classify("ResourceNotFoundException", "no such control", 404),
            ErrorCategory::NeedsSpecChange
        );
    }

    #[test]
    fn deletion_protection_needs_an_operator_although_aws_calls_it_a_bad_combination() {
        let category = classify(
            "InvalidParameterCombination",
            "Cannot delete protected Cluster, please disable deletion protection and try again.",
            400,
        );
        assert_eq!(category, ErrorCategory::NeedsOperator);
    }

    #[test]
    fn a_global_cluster_busy_with_a_switchover_is_retryable_but_a_non_member_target_is_not() {
        assert_eq!(
            classify(
                "InvalidGlobalClusterStateFault",
                "Global cluster g is currently switching-over",
                400
            ),
            ErrorCategory::Retryable
        );
        assert_eq!(
            classify(
                "InvalidGlobalClusterStateFault",
                "The DB cluster arn:x is not a member of global cluster g",
                400
            ),
            ErrorCategory::NeedsOperator
        );
    }

    #[test]
    fn a_lost_route53_compare_and_swap_is_retryable_after_a_re_read() {
        assert_eq!(
            classify("InvalidChangeBatch",
                "Tried to delete resource record set [name='api.example.com.', type='A'] but the values provided do not match the current values",
                400
            ),
            ErrorCategory::Retryable
        );
        assert_eq!(
            classify("InvalidChangeBatch", "Invalid alias target", 400),
            ErrorCategory::NeedsSpecChange
        );
    }

    #[test]
    fn unknown_codes_fall_back_on_the_http_status_class() {
        assert_eq!(classify("Whatever", "", 503), ErrorCategory::Retryable);
        assert_eq!(classify("Whatever", "", 403), ErrorCategory::NeedsOperator);
        assert_eq!(classify("Whatever", "", 400), ErrorCategory::Terminal);
    }
}
