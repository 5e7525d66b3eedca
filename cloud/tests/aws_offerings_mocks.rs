//! The continuous checks' RDS adapters (DescribeOrderableDBInstanceOptions,
//! DescribeAccountAttributes) against aws-smithy-mocks: what is asked, how the answers map,
//! and that throttling is retryable and a refused call needs an operator.
#![cfg(feature = "aws")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod mock_cloud;

use aws_sdk_rds::operation::describe_account_attributes::DescribeAccountAttributesOutput;
use aws_sdk_rds::operation::describe_orderable_db_instance_options::DescribeOrderableDbInstanceOptionsOutput;
use aws_sdk_rds::types::{AccountQuota, OrderableDbInstanceOption};
use aws_smithy_mocks::mock;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use drctl_cloud::{DbInstanceQuota, ErrorCategory, RdsOfferings};
use mock_cloud::cloud_with;

fn rds_error(status: u16, code: &str) -> HttpResponse {
    HttpResponse::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>\
             <Message>{code} message</Message></Error><RequestId>req-1</RequestId></ErrorResponse>"
        )),
    )
}

#[tokio::test(start_paused = true)]
async fn a_class_is_offered_when_the_triple_has_an_orderable_option_and_not_when_none() {
    let offered = mock!(aws_sdk_rds::Client::describe_orderable_db_instance_options)
        .match_requests(|r| {
            r.engine() == Some("postgres")
                && r.engine_version() == Some("16.3")
                && r.db_instance_class() == Some("db.r6g.large")
        })
        .then_output(|| {
            DescribeOrderableDbInstanceOptionsOutput::builder()
                .orderable_db_instance_options(
                    OrderableDbInstanceOption::builder()
                        .engine("postgres")
                        .engine_version("16.3")
                        .db_instance_class("db.r6g.large")
                        .build(),
                )
                .build()
        });
    let not_offered = mock!(aws_sdk_rds::Client::describe_orderable_db_instance_options)
        .match_requests(|r| r.db_instance_class() == Some("db.x2g.16xlarge"))
        .then_output(|| DescribeOrderableDbInstanceOptionsOutput::builder().build());
    let cloud = cloud_with(&[&offered, &not_offered]);
    assert!(cloud
        .instance_class_offered("us-west-2", "postgres", "16.3", "db.r6g.large")
        .await
        .unwrap());
    assert!(!cloud
        .instance_class_offered("us-west-2", "postgres", "16.3", "db.x2g.16xlarge")
        .await
        .unwrap());
    assert_eq!(offered.num_calls(), 1);
    assert_eq!(not_offered.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn the_db_instances_quota_is_picked_from_the_account_quotas() {
    let quotas = mock!(aws_sdk_rds::Client::describe_account_attributes).then_output(|| {
        DescribeAccountAttributesOutput::builder()
            .account_quotas(
                AccountQuota::builder()
                    .account_quota_name("AllocatedStorage")
                    .used(100)
                    .max(100_000)
                    .build(),
            )
            .account_quotas(
                AccountQuota::builder()
                    .account_quota_name("DBInstances")
                    .used(40)
                    .max(40)
                    .build(),
            )
            .build()
    });
    let cloud = cloud_with(&[&quotas]);
    let quota = cloud.db_instance_quota("us-west-2").await.unwrap().unwrap();
    assert_eq!(quota, DbInstanceQuota { used: 40, max: 40 });
    assert_eq!(quota.room(), 0);

    let none = mock!(aws_sdk_rds::Client::describe_account_attributes)
        .then_output(|| DescribeAccountAttributesOutput::builder().build());
    let cloud = cloud_with(&[&none]);
    assert_eq!(cloud.db_instance_quota("us-west-2").await.unwrap(), None);
}

#[tokio::test(start_paused = true)]
async fn throttling_is_retryable_and_a_denied_call_needs_an_operator() {
    let throttled = mock!(aws_sdk_rds::Client::describe_account_attributes)
        .sequence()
        .http_response(|| rds_error(400, "Throttling"))
        .times(3)
        .build();
    let cloud = cloud_with(&[&throttled]);
    let err = cloud.db_instance_quota("us-west-2").await.unwrap_err();
    assert_eq!(err.category, ErrorCategory::Retryable);
    assert_eq!(err.operation, "DescribeAccountAttributes");
    assert_eq!(throttled.num_calls(), 3, "the SDK retried");

    let denied = mock!(aws_sdk_rds::Client::describe_orderable_db_instance_options)
        .then_http_response(|| rds_error(403, "AccessDenied"));
    let cloud = cloud_with(&[&denied]);
    let err = cloud
        .instance_class_offered("us-west-2", "postgres", "16.3", "db.r6g.large")
        .await
        .unwrap_err();
    assert_eq!(err.category, ErrorCategory::NeedsOperator);
    assert_eq!(err.code, "AccessDenied");
    assert_eq!(err.operation, "DescribeOrderableDBInstanceOptions");
}
