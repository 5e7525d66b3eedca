//! The spec.dependencies adapters (S3, DynamoDB DescribeTable, their CloudWatch metrics)
//! against aws-smithy-mocks: the "not there" answers are facts of the model, not errors;
//! throttling and 5xx are retryable; a bucket asked in the wrong region needs a spec change.
#![cfg(feature = "aws")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod mock_cloud;

use aws_sdk_dynamodb::operation::describe_table::{DescribeTableError, DescribeTableOutput};
use aws_sdk_dynamodb::types::{
    ReplicaDescription, ReplicaStatus as SdkReplicaStatus, TableDescription as SdkTable,
    TableStatus as SdkTableStatus,
};
use aws_sdk_s3::operation::get_bucket_replication::GetBucketReplicationOutput;
use aws_sdk_s3::operation::get_bucket_versioning::GetBucketVersioningOutput;
use aws_sdk_s3::types::{
    BucketVersioningStatus, Destination, Metrics, MetricsStatus, ReplicationConfiguration,
    ReplicationRule as SdkRule, ReplicationRuleStatus,
};
use aws_smithy_mocks::mock;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use drctl_cloud::{
    BucketReplication, CloudError, ErrorCategory, GlobalTables, ReplicaStatus, RuleStatus,
    S3Replication, TableStatus, VersioningStatus,
};
use mock_cloud::cloud_with;

/// An S3 REST-XML error, as S3 sends it.
fn s3_error(status: u16, code: &str) -> HttpResponse {
    HttpResponse::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code>\
             <Message>{code} message</Message><RequestId>r1</RequestId></Error>"
        )),
    )
}

fn expect_error<T: std::fmt::Debug>(result: Result<T, CloudError>) -> CloudError {
    match result {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e,
    }
}

#[tokio::test(start_paused = true)]
async fn a_replication_configuration_maps_rules_status_destination_and_metrics() {
    let rule = SdkRule::builder()
        .id("all")
        .status(ReplicationRuleStatus::Disabled)
        .destination(
            Destination::builder()
                .bucket("arn:aws:s3:::shop-assets-west")
                .metrics(
                    Metrics::builder()
                        .status(MetricsStatus::Enabled)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let configured = mock!(aws_sdk_s3::Client::get_bucket_replication).then_output(move || {
        GetBucketReplicationOutput::builder()
            .replication_configuration(
                ReplicationConfiguration::builder()
                    .role("arn:aws:iam::123456789012:role/replication")
                    .rules(rule.clone())
                    .build()
                    .unwrap(),
            )
            .build()
    });
    let cloud = cloud_with(&[&configured]);
    let answer = cloud
        .get_bucket_replication("us-east-1", "shop-assets-east")
        .await
        .unwrap();
    let BucketReplication::Configured { rules } = answer else {
        panic!("{answer:?}")
    };
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].status, RuleStatus::Disabled);
    assert_eq!(rules[0].destination_bucket(), "shop-assets-west");
    assert_eq!(rules[0].id.as_deref(), Some("all"));
    assert!(rules[0].metrics_enabled);
}

#[tokio::test(start_paused = true)]
async fn no_such_bucket_and_no_replication_configuration_are_answers_not_errors() {
    let missing = mock!(aws_sdk_s3::Client::get_bucket_replication)
        .match_requests(|r| r.bucket() == Some("gone"))
        .then_http_response(|| s3_error(404, "NoSuchBucket"));
    let unconfigured = mock!(aws_sdk_s3::Client::get_bucket_replication)
        .match_requests(|r| r.bucket() == Some("plain"))
        .then_http_response(|| s3_error(404, "ReplicationConfigurationNotFoundError"));
    let versioning_missing = mock!(aws_sdk_s3::Client::get_bucket_versioning)
        .then_http_response(|| s3_error(404, "NoSuchBucket"));
    let cloud = cloud_with(&[&missing, &unconfigured, &versioning_missing]);
    assert_eq!(
        cloud.get_bucket_replication("us-east-1", "gone").await,
        Ok(BucketReplication::NoSuchBucket)
    );
    assert_eq!(
        cloud.get_bucket_replication("us-east-1", "plain").await,
        Ok(BucketReplication::NotConfigured)
    );
    assert_eq!(
        cloud.get_bucket_versioning("us-east-1", "gone").await,
        Ok(None)
    );
}

#[tokio::test(start_paused = true)]
async fn versioning_never_enabled_has_no_status_and_suspended_is_kept() {
    let never = mock!(aws_sdk_s3::Client::get_bucket_versioning)
        .match_requests(|r| r.bucket() == Some("never"))
        .then_output(|| GetBucketVersioningOutput::builder().build());
    let suspended = mock!(aws_sdk_s3::Client::get_bucket_versioning)
        .match_requests(|r| r.bucket() == Some("paused"))
        .then_output(|| {
            GetBucketVersioningOutput::builder()
                .status(BucketVersioningStatus::Suspended)
                .build()
        });
    let cloud = cloud_with(&[&never, &suspended]);
    assert_eq!(
        cloud.get_bucket_versioning("us-east-1", "never").await,
        Ok(Some(VersioningStatus::NeverEnabled))
    );
    assert_eq!(
        cloud.get_bucket_versioning("us-east-1", "paused").await,
        Ok(Some(VersioningStatus::Suspended))
    );
}

#[tokio::test(start_paused = true)]
async fn s3_throttling_and_5xx_are_retryable_and_a_wrong_region_needs_a_spec_change() {
    let slow_down = mock!(aws_sdk_s3::Client::get_bucket_replication)
        .sequence()
        .http_response(|| s3_error(503, "SlowDown"))
        .times(3)
        .build();
    let cloud = cloud_with(&[&slow_down]);
    let err = expect_error(cloud.get_bucket_replication("us-east-1", "b1").await);
    assert_eq!(err.category, ErrorCategory::Retryable);
    assert_eq!(err.code, "SlowDown");
    assert_eq!(err.operation, "GetBucketReplication");
    assert!(!err.outcome_unknown, "a read has no outcome to resolve");
    assert_eq!(slow_down.num_calls(), 3, "the SDK retried");

    let redirect = mock!(aws_sdk_s3::Client::get_bucket_versioning)
        .then_http_response(|| s3_error(301, "PermanentRedirect"));
    let cloud = cloud_with(&[&redirect]);
    let err = expect_error(cloud.get_bucket_versioning("us-west-2", "b1").await);
    assert_eq!(err.category, ErrorCategory::NeedsSpecChange);
    assert_eq!(err.code, "PermanentRedirect");
}

fn table(status: SdkTableStatus, replicas: &[(&str, SdkReplicaStatus)]) -> SdkTable {
    let mut t = SdkTable::builder()
        .table_name("shop-sessions")
        .table_status(status);
    for (region, s) in replicas {
        t = t.replicas(
            ReplicaDescription::builder()
                .region_name(*region)
                .replica_status(s.clone())
                .build(),
        );
    }
    t.build()
}

#[tokio::test(start_paused = true)]
async fn describe_table_maps_table_and_replica_statuses() {
    let described = mock!(aws_sdk_dynamodb::Client::describe_table).then_output(|| {
        DescribeTableOutput::builder()
            .table(table(
                SdkTableStatus::Active,
                &[("us-west-2", SdkReplicaStatus::RegionDisabled)],
            ))
            .build()
    });
    let cloud = cloud_with(&[&described]);
    let t = cloud
        .describe_table("us-east-1", "shop-sessions")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.status, TableStatus::Active);
    assert_eq!(t.replicas.len(), 1);
    assert_eq!(t.replicas[0].region, "us-west-2");
    assert_eq!(t.replicas[0].status, ReplicaStatus::RegionDisabled);
}

#[tokio::test(start_paused = true)]
async fn a_missing_table_is_none_and_throttling_is_retryable() {
    let missing = mock!(aws_sdk_dynamodb::Client::describe_table)
        .match_requests(|r| r.table_name() == Some("gone"))
        .then_error(|| {
            DescribeTableError::ResourceNotFoundException(
                aws_sdk_dynamodb::types::error::ResourceNotFoundException::builder()
                    .message("Requested resource not found")
                    .build(),
            )
        });
    let throttled = mock!(aws_sdk_dynamodb::Client::describe_table)
        .match_requests(|r| r.table_name() == Some("busy"))
        .sequence()
        .http_response(|| {
            HttpResponse::new(
                StatusCode::try_from(400).unwrap(),
                SdkBody::from(
                    "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ThrottlingException\",\"message\":\"Rate exceeded\"}",
                ),
            )
        })
        .times(3)
        .build();
    let cloud = cloud_with(&[&missing, &throttled]);
    assert_eq!(cloud.describe_table("us-west-2", "gone").await, Ok(None));
    let err = expect_error(cloud.describe_table("us-west-2", "busy").await);
    assert_eq!(err.category, ErrorCategory::Retryable);
    assert_eq!(err.code, "ThrottlingException");
    assert_eq!(err.operation, "DescribeTable");
}
