//! S3 (aws-sdk-s3) for spec.dependencies.s3Replication: GetBucketReplication and
//! GetBucketVersioning, read only. A missing bucket or replication configuration is an
//! answer (the dependency is not ready), not an error of the call.

use async_trait::async_trait;
use aws_sdk_s3::types::{BucketVersioningStatus, MetricsStatus, ReplicationRuleStatus};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::errors::from_sdk;
use super::operations as ops;
use super::AwsCloud;
use crate::error::CloudResult;
use crate::model::{BucketReplication, ReplicationRule, RuleStatus, VersioningStatus};
use crate::ports::S3Replication;

/// S3's error code for a bucket that does not exist.
pub const NO_SUCH_BUCKET: &str = "NoSuchBucket";
/// S3's error code for a bucket without a replication configuration.
pub const REPLICATION_NOT_FOUND: &str = "ReplicationConfigurationNotFoundError";

/// The AWS error code of a service error (None for transport failures).
fn service_code<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> Option<&str> {
    match err {
        SdkError::ServiceError(service) => service.err().code(),
        _ => None,
    }
}

fn rule(rule: &aws_sdk_s3::types::ReplicationRule) -> ReplicationRule {
    let destination = rule.destination();
    ReplicationRule {
        id: rule.id().map(str::to_string),
        status: match rule.status() {
            ReplicationRuleStatus::Enabled => RuleStatus::Enabled,
            // Disabled, or a value this SDK does not know: not replicating as far as we can
            // tell, never counted as ready.
            _ => RuleStatus::Disabled,
        },
        destination_bucket_arn: destination
            .map(|d| d.bucket().to_string())
            .unwrap_or_default(),
        metrics_enabled: destination
            .and_then(|d| d.metrics())
            .is_some_and(|m| m.status() == &MetricsStatus::Enabled),
    }
}

#[async_trait]
impl S3Replication for AwsCloud {
    async fn get_bucket_replication(
        &self,
        region: &str,
        bucket: &str,
    ) -> CloudResult<BucketReplication> {
        let answer = self
            .region(region)
            .s3
            .get_bucket_replication()
            .bucket(bucket)
            .send()
            .await;
        match answer {
            Ok(out) => Ok(BucketReplication::Configured {
                rules: out
                    .replication_configuration()
                    .map(|c| c.rules().iter().map(rule).collect())
                    .unwrap_or_default(),
            }),
            Err(e) => match service_code(&e) {
                Some(NO_SUCH_BUCKET) => Ok(BucketReplication::NoSuchBucket),
                Some(REPLICATION_NOT_FOUND) => Ok(BucketReplication::NotConfigured),
                _ => Err(from_sdk(&ops::GET_BUCKET_REPLICATION, e)),
            },
        }
    }

    async fn get_bucket_versioning(
        &self,
        region: &str,
        bucket: &str,
    ) -> CloudResult<Option<VersioningStatus>> {
        let answer = self
            .region(region)
            .s3
            .get_bucket_versioning()
            .bucket(bucket)
            .send()
            .await;
        match answer {
            Ok(out) => Ok(Some(match out.status() {
                Some(BucketVersioningStatus::Enabled) => VersioningStatus::Enabled,
                Some(BucketVersioningStatus::Suspended) => VersioningStatus::Suspended,
                // No Status: versioning was never turned on (a value this SDK does not know
                // is not "Enabled" either).
                _ => VersioningStatus::NeverEnabled,
            })),
            Err(e) if service_code(&e) == Some(NO_SUCH_BUCKET) => Ok(None),
            Err(e) => Err(from_sdk(&ops::GET_BUCKET_VERSIONING, e)),
        }
    }
}
