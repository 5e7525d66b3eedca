//! The AWS adapters on aws-smithy-mocks, for the mock test files that need nothing of
//! `aws_mocks.rs`'s own fixture: a client in us-east-1 with static credentials, three
//! attempts, and `rules` answering its calls.

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_rds::config::{Credentials, SharedCredentialsProvider};
use aws_smithy_mocks::{create_mock_http_client, MockResponseInterceptor, Rule, RuleMode};
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;
use drctl_cloud::aws::AwsCloud;

pub fn cloud_with(rules: &[&Rule]) -> AwsCloud {
    let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
    for rule in rules {
        interceptor = interceptor.with_rule(rule);
    }
    let config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIDTEST", "secret", None, None, "test",
        )))
        .http_client(create_mock_http_client())
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .build();
    AwsCloud::builder(config)
        .interceptor(SharedInterceptor::new(interceptor))
        .build()
}
