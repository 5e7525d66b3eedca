//! The AWS adapters against aws-smithy-mocks: AWS error responses (as they come off the wire,
//! status and XML body) mapped to our categories, the SDK's retries allowed or vetoed, and
//! SDK responses mapped to the observed-world model. Time is paused: the SDK's backoff and
//! timeouts sleep on tokio's clock.
#![cfg(feature = "aws")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_rds::config::{Credentials, SharedCredentialsProvider};
use aws_smithy_mocks::{create_mock_http_client, mock, MockResponseInterceptor, Rule, RuleMode};
use aws_smithy_runtime_api::client::http::{
    http_client_fn, HttpConnector, HttpConnectorFuture, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use drctl_cloud::aws::AwsCloud;
use drctl_cloud::{
    AliasTarget, Aurora, AutoScaling, ChangeStatus, CloudError, Dns, DnsRecord, Ecs, ErrorCategory,
    GlobalMember, ReplicationLag,
};

// ---------------------------------------------------------------------------------------------
// Fixtures

fn base_config(http_client: SharedHttpClient) -> aws_config::SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIDTEST", "secret", None, None, "test",
        )))
        .http_client(http_client)
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .build()
}

/// AwsCloud whose every call is answered by these rules.
fn cloud_with(rules: &[&Rule]) -> AwsCloud {
    let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
    for rule in rules {
        interceptor = interceptor.with_rule(rule);
    }
    AwsCloud::builder(base_config(create_mock_http_client()))
        .interceptor(SharedInterceptor::new(interceptor))
        .build()
}

/// An AWS query/REST-XML error body, as RDS and Route 53 send it.
fn aws_error_xml(code: &str, message: &str) -> String {
    format!(
        "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>\
         <Message>{message}</Message></Error><RequestId>req-1</RequestId></ErrorResponse>"
    )
}

fn http_error(status: u16, code: &str, message: &str) -> HttpResponse {
    HttpResponse::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(aws_error_xml(code, message)),
    )
}

fn expect_error<T: std::fmt::Debug>(result: Result<T, CloudError>) -> CloudError {
    match result {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e,
    }
}

const TARGET_ARN: &str = "arn:aws:rds:us-west-2:123456789012:cluster:myapp-prod-secondary";

// ---------------------------------------------------------------------------------------------
// Error mapping

#[tokio::test(start_paused = true)]
async fn throttling_that_outlasts_the_sdk_retries_is_retryable_with_the_aws_code() {
    let throttled = mock!(aws_sdk_rds::Client::describe_db_clusters)
        .sequence()
        .http_response(|| http_error(400, "Throttling", "Rate exceeded"))
        .times(3)
        .build();
    let cloud = cloud_with(&[&throttled]);

    let err = expect_error(
        cloud
            .describe_clusters("us-east-1", &["myapp-prod-primary".to_string()])
            .await,
    );

    assert_eq!(err.category, ErrorCategory::Retryable);
    assert_eq!(err.code, "Throttling");
    assert_eq!(err.operation, "DescribeDBClusters");
    assert!(
        !err.outcome_unknown,
        "a throttled call was refused, not applied"
    );
    assert_eq!(
        throttled.num_calls(),
        3,
        "the SDK's standard retry made every attempt"
    );
}

#[tokio::test(start_paused = true)]
async fn route53_prior_request_not_complete_on_a_change_is_retried_by_the_sdk_until_it_succeeds() {
    let change_ok = "<?xml version=\"1.0\"?>\
        <ChangeResourceRecordSetsResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">\
        <ChangeInfo><Id>/change/C2682N5HXP0BZ4</Id><Status>PENDING</Status>\
        <SubmittedAt>2026-11-21T22:00:00.000Z</SubmittedAt></ChangeInfo>\
        </ChangeResourceRecordSetsResponse>";
    let busy_then_ok = mock!(aws_sdk_route53::Client::change_resource_record_sets)
        .sequence()
        .http_response(|| {
            http_error(
                400,
                "PriorRequestNotComplete",
                "The request was rejected because Route 53 was still processing a prior request.",
            )
        })
        .http_response(move || {
            HttpResponse::new(StatusCode::try_from(200).unwrap(), SdkBody::from(change_ok))
        })
        .build();
    let cloud = cloud_with(&[&busy_then_ok]);

    let info = cloud
        .change_record(
            "Z0123456789",
            None,
            &cname("api.example.com.", "dr.example.com"),
            "drctl",
        )
        .await
        .unwrap();

    assert_eq!(info.id, "C2682N5HXP0BZ4");
    assert_eq!(info.status, ChangeStatus::Pending);
    assert_eq!(
        busy_then_ok.num_calls(),
        2,
        "throttling is safe to retry even for a mutation: nothing was applied"
    );
}

#[tokio::test(start_paused = true)]
async fn route53_prior_request_not_complete_that_persists_is_retryable_with_a_known_outcome() {
    let busy = mock!(aws_sdk_route53::Client::change_resource_record_sets)
        .sequence()
        .http_response(|| http_error(400, "PriorRequestNotComplete", "still processing"))
        .times(3)
        .build();
    let cloud = cloud_with(&[&busy]);

    let err = expect_error(
        cloud
            .change_record(
                "Z0123456789",
                None,
                &cname("api.example.com.", "x.example.com"),
                "drctl",
            )
            .await,
    );

    assert_eq!(err.category, ErrorCategory::Retryable);
    assert_eq!(err.code, "PriorRequestNotComplete");
    assert!(!err.outcome_unknown);
}

#[tokio::test(start_paused = true)]
async fn invalid_global_cluster_state_is_retryable_while_an_operation_is_in_flight_and_needs_an_operator_otherwise(
) {
    let busy = mock!(aws_sdk_rds::Client::switchover_global_cluster)
        .sequence()
        .http_response(|| {
            http_error(
                400,
                "InvalidGlobalClusterStateFault",
                "Global cluster myapp-prod-global is currently switching-over",
            )
        })
        .build();
    let cloud = cloud_with(&[&busy]);
    let err = expect_error(
        cloud
            .switchover_global_cluster("us-west-2", "myapp-prod-global", TARGET_ARN)
            .await,
    );
    assert_eq!(err.category, ErrorCategory::Retryable);
    assert_eq!(err.code, "InvalidGlobalClusterStateFault");
    assert!(!err.outcome_unknown, "a 400 refusal changed nothing");
    assert_eq!(
        busy.num_calls(),
        1,
        "a mutation refused by state is not retried by the SDK"
    );

    let not_member = mock!(aws_sdk_rds::Client::failover_global_cluster)
        .sequence()
        .http_response(|| {
            http_error(
                400,
                "InvalidGlobalClusterStateFault",
                "The target cluster is not a member of the global cluster myapp-prod-global",
            )
        })
        .build();
    let cloud = cloud_with(&[&not_member]);
    let err = expect_error(
        cloud
            .failover_global_cluster("us-west-2", "myapp-prod-global", TARGET_ARN, true)
            .await,
    );
    assert_eq!(err.category, ErrorCategory::NeedsOperator);
    assert_eq!(err.operation, "FailoverGlobalCluster");
}

#[tokio::test(start_paused = true)]
async fn db_cluster_not_found_for_a_spec_cluster_needs_a_spec_change() {
    let missing = mock!(aws_sdk_rds::Client::failover_global_cluster)
        .sequence()
        .http_response(|| {
            http_error(
                404,
                "DBClusterNotFoundFault",
                "DBCluster myapp-prod-secondary not found.",
            )
        })
        .build();
    let cloud = cloud_with(&[&missing]);

    let err = expect_error(
        cloud
            .failover_global_cluster("us-west-2", "myapp-prod-global", TARGET_ARN, false)
            .await,
    );

    assert_eq!(err.category, ErrorCategory::NeedsSpecChange);
    assert_eq!(err.code, "DBClusterNotFoundFault");
    assert!(
        err.message.contains("not found"),
        "AWS's message is kept: {}",
        err.message
    );
}

#[tokio::test(start_paused = true)]
async fn invalid_db_cluster_state_is_retryable_without_an_ambiguous_outcome() {
    let busy = mock!(aws_sdk_rds::Client::delete_db_cluster)
        .sequence()
        .http_response(|| {
            http_error(
                400,
                "InvalidDBClusterStateFault",
                "Cluster is in modifying state",
            )
        })
        .build();
    let cloud = cloud_with(&[&busy]);

    let err = expect_error(
        cloud
            .delete_cluster("us-east-1", "myapp-prod-primary")
            .await,
    );

    assert_eq!(err.category, ErrorCategory::Retryable);
    assert_eq!(err.code, "InvalidDBClusterStateFault");
    assert!(!err.outcome_unknown);
}

#[tokio::test(start_paused = true)]
async fn deletion_protection_refusal_needs_an_operator() {
    let protected = mock!(aws_sdk_rds::Client::delete_db_cluster)
        .sequence()
        .http_response(|| {
            http_error(400, "InvalidParameterCombination", "Cannot delete protected Cluster, please disable deletion protection and try again.")
        })
        .build();
    let cloud = cloud_with(&[&protected]);

    let err = expect_error(
        cloud
            .delete_cluster("us-east-1", "myapp-prod-primary")
            .await,
    );

    assert_eq!(err.category, ErrorCategory::NeedsOperator);
    assert_eq!(err.code, "InvalidParameterCombination");
}

#[tokio::test(start_paused = true)]
async fn a_server_error_on_switchover_is_not_retried_blindly_and_reports_an_unknown_outcome() {
    let internal = mock!(aws_sdk_rds::Client::switchover_global_cluster)
        .sequence()
        .http_response(|| http_error(500, "InternalFailure", "An internal error occurred"))
        .times(3)
        .build();
    let cloud = cloud_with(&[&internal]);

    let err = expect_error(
        cloud
            .switchover_global_cluster("us-west-2", "myapp-prod-global", TARGET_ARN)
            .await,
    );

    assert_eq!(err.category, ErrorCategory::Retryable);
    assert_eq!(err.code, "InternalFailure");
    assert!(
        err.outcome_unknown,
        "a 500 may come after the switchover started"
    );
    assert_eq!(
        internal.num_calls(),
        1,
        "the SDK must not resend a mutation that may have applied"
    );
}

#[tokio::test(start_paused = true)]
async fn a_server_error_on_a_read_is_retried_by_the_sdk() {
    let flaky = mock!(aws_sdk_ecs::Client::describe_services)
        .sequence()
        .http_response(|| {
            HttpResponse::new(
                StatusCode::try_from(500).unwrap(),
                SdkBody::from(r#"{"__type":"ServerException","message":"boom"}"#),
            )
        })
        .output(|| {
            aws_sdk_ecs::operation::describe_services::DescribeServicesOutput::builder().build()
        })
        .build();
    let cloud = cloud_with(&[&flaky]);

    let services = cloud
        .describe_services("us-east-1", "myapp-prod", &["api".to_string()])
        .await
        .unwrap();

    assert!(services.is_empty());
    assert_eq!(flaky.num_calls(), 2);
}

/// An HTTP connector that accepts the request and never answers: the request is on the wire.
fn black_hole(sent: Arc<AtomicUsize>) -> SharedHttpClient {
    #[derive(Debug)]
    struct BlackHole(Arc<AtomicUsize>);
    impl HttpConnector for BlackHole {
        fn call(&self, _request: HttpRequest) -> HttpConnectorFuture {
            self.0.fetch_add(1, Ordering::SeqCst);
            HttpConnectorFuture::new(std::future::pending())
        }
    }
    http_client_fn(move |_, _| SharedHttpConnector::new(BlackHole(sent.clone())))
}

/// With the timeouts `AwsCloud::from_env` ships.
fn cloud_timing_out(sent: Arc<AtomicUsize>) -> AwsCloud {
    let config = base_config(black_hole(sent))
        .into_builder()
        .timeout_config(drctl_cloud::aws::timeouts())
        .build();
    AwsCloud::from_sdk_config(config)
}

#[tokio::test(start_paused = true)]
async fn an_endpoint_that_never_answers_costs_a_call_at_most_the_operation_timeout() {
    let sent = Arc::new(AtomicUsize::new(0));
    let cloud = cloud_timing_out(sent.clone());
    let started = tokio::time::Instant::now();

    let err = expect_error(
        cloud
            .describe_clusters("us-east-1", &["c".to_string()])
            .await,
    );

    let took = started.elapsed();
    assert_eq!(err.category, ErrorCategory::Retryable, "{err}");
    assert!(
        took <= drctl_cloud::aws::OPERATION_TIMEOUT + Duration::from_millis(10),
        "a hung region stalls a pass {took:?}, more than the operation timeout"
    );
    assert!(
        took >= drctl_cloud::aws::ATTEMPT_TIMEOUT,
        "the first attempt had its full {:?}: {took:?}",
        drctl_cloud::aws::ATTEMPT_TIMEOUT
    );
    assert!(sent.load(Ordering::SeqCst) >= 2, "the SDK retried a read");
}

#[tokio::test(start_paused = true)]
async fn a_mutation_that_times_out_after_sending_reports_an_unknown_outcome_and_is_sent_once() {
    let sent = Arc::new(AtomicUsize::new(0));
    let cloud = cloud_timing_out(sent.clone());

    let err = expect_error(
        cloud
            .create_cluster_snapshot("us-east-1", "myapp-prod-primary", "drctl-snap-1")
            .await,
    );

    assert_eq!(err.category, ErrorCategory::Retryable);
    assert_eq!(err.code, "Timeout");
    assert!(
        err.outcome_unknown,
        "the snapshot may exist: resolve by re-reading"
    );
    assert_eq!(sent.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_read_that_times_out_is_retried_and_has_no_outcome_to_resolve() {
    let sent = Arc::new(AtomicUsize::new(0));
    let cloud = cloud_timing_out(sent.clone());

    let err = expect_error(
        cloud
            .describe_instances("us-east-1", "myapp-prod-primary")
            .await,
    );

    assert_eq!(err.code, "Timeout");
    assert!(!err.outcome_unknown);
    assert_eq!(
        sent.load(Ordering::SeqCst),
        3,
        "reads are retried by the SDK"
    );
}

// Real time: a refused connect is reported by the OS at once, and paused time could fire the
// connect timeout first. One attempt, so no backoff is slept.
#[tokio::test]
async fn a_refused_connection_is_retryable_and_known_not_to_have_applied() {
    // A loopback port with nothing listening: the TCP connect is refused, no request is sent.
    let port = {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).unwrap();
        listener.local_addr().unwrap().port()
    };
    let config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIDTEST", "secret", None, None, "test",
        )))
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .retry_config(RetryConfig::standard().with_max_attempts(1))
        .build();
    let cloud = AwsCloud::from_sdk_config(config);

    let err = expect_error(
        cloud
            .create_cluster_snapshot("us-east-1", "myapp-prod-primary", "drctl-snap-1")
            .await,
    );

    assert_eq!(err.category, ErrorCategory::Retryable);
    assert_eq!(err.code, "DispatchFailure");
    assert!(!err.outcome_unknown, "nothing was sent: {err}");
}

// ---------------------------------------------------------------------------------------------
// Happy-path mapping: SDK types -> our model

#[tokio::test(start_paused = true)]
async fn global_cluster_members_writer_and_failover_state_map_to_the_model() {
    use aws_sdk_rds::types::{
        FailoverState, FailoverStatus, GlobalCluster, GlobalClusterMember,
        GlobalClusterMemberSynchronizationStatus,
    };
    let primary = "arn:aws:rds:us-east-1:123456789012:cluster:myapp-prod-primary";
    let describe = mock!(aws_sdk_rds::Client::describe_global_clusters)
        .match_requests(|r| r.global_cluster_identifier() == Some("myapp-prod-global"))
        .then_output(move || {
            aws_sdk_rds::operation::describe_global_clusters::DescribeGlobalClustersOutput::builder(
            )
            // An endpoint that ignores the filter: only ours is taken.
            .global_clusters(
                GlobalCluster::builder()
                    .global_cluster_identifier("someone-else")
                    .build(),
            )
            .global_clusters(
                GlobalCluster::builder()
                    .global_cluster_identifier("myapp-prod-global")
                    .global_cluster_arn(
                        "arn:aws:rds::123456789012:global-cluster:myapp-prod-global",
                    )
                    .engine("aurora-postgresql")
                    .engine_version("16.3")
                    .status("available")
                    .global_cluster_members(
                        GlobalClusterMember::builder()
                            .db_cluster_arn(primary)
                            .is_writer(true)
                            .build(),
                    )
                    .global_cluster_members(
                        GlobalClusterMember::builder()
                            .db_cluster_arn(TARGET_ARN)
                            .is_writer(false)
                            .synchronization_status(
                                GlobalClusterMemberSynchronizationStatus::Connected,
                            )
                            .build(),
                    )
                    .failover_state(
                        FailoverState::builder()
                            // Newer than this SDK's enum: kept verbatim through `Unknown`.
                            .status(FailoverStatus::from("switching-over"))
                            .from_db_cluster_arn(primary)
                            .to_db_cluster_arn(TARGET_ARN)
                            .is_data_loss_allowed(false)
                            .build(),
                    )
                    .build(),
            )
            .build()
        });
    let cloud = cloud_with(&[&describe]);

    let global = cloud
        .describe_global_cluster("us-west-2", "myapp-prod-global")
        .await
        .unwrap()
        .expect("the global cluster");

    assert_eq!(global.identifier, "myapp-prod-global");
    assert_eq!(global.engine_version.as_deref(), Some("16.3"));
    assert_eq!(
        global.writer().map(|m| m.cluster_arn.as_str()),
        Some(primary)
    );
    assert_eq!(
        global.member(TARGET_ARN),
        Some(&GlobalMember {
            cluster_arn: TARGET_ARN.to_string(),
            is_writer: false,
            synchronization_status: Some("connected".to_string()),
        })
    );
    let state = global.failover_state.expect("an operation in flight");
    assert_eq!(state.status, "switching-over");
    assert_eq!(state.to_cluster_arn.as_deref(), Some(TARGET_ARN));
    assert!(!state.is_data_loss_allowed);
}

#[tokio::test(start_paused = true)]
async fn a_missing_global_cluster_is_none_not_an_error() {
    let missing = mock!(aws_sdk_rds::Client::describe_global_clusters)
        .sequence()
        .http_response(|| {
            http_error(
                404,
                "GlobalClusterNotFoundFault",
                "GlobalCluster nope not found",
            )
        })
        .build();
    let cloud = cloud_with(&[&missing]);

    assert_eq!(
        cloud
            .describe_global_cluster("us-east-1", "nope")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test(start_paused = true)]
async fn describe_clusters_follows_every_page() {
    use aws_sdk_rds::operation::describe_db_clusters::DescribeDbClustersOutput;
    use aws_sdk_rds::types::DbCluster;
    let first = mock!(aws_sdk_rds::Client::describe_db_clusters)
        .match_requests(|r| r.marker().is_none())
        .then_output(|| {
            DescribeDbClustersOutput::builder()
                .db_clusters(
                    DbCluster::builder()
                        .db_cluster_identifier("a")
                        .status("available")
                        .build(),
                )
                .marker("page-2")
                .build()
        });
    let second = mock!(aws_sdk_rds::Client::describe_db_clusters)
        .match_requests(|r| r.marker() == Some("page-2"))
        .then_output(|| {
            DescribeDbClustersOutput::builder()
                .db_clusters(
                    DbCluster::builder()
                        .db_cluster_identifier("b")
                        .status("creating")
                        .build(),
                )
                .build()
        });
    let cloud = cloud_with(&[&first, &second]);

    let clusters = cloud
        .describe_clusters("us-east-1", &["a".to_string(), "b".to_string()])
        .await
        .unwrap();

    let ids: Vec<_> = clusters
        .iter()
        .map(|c| (c.identifier.as_str(), c.status.as_str(), c.region.as_str()))
        .collect();
    assert_eq!(
        ids,
        [
            ("a", "available", "us-east-1"),
            ("b", "creating", "us-east-1")
        ]
    );
}

fn alias_set(name: &str) -> aws_sdk_route53::types::ResourceRecordSet {
    aws_sdk_route53::types::ResourceRecordSet::builder()
        .name(name)
        .r#type(aws_sdk_route53::types::RrType::A)
        .alias_target(
            aws_sdk_route53::types::AliasTarget::builder()
                .dns_name("dr-alb-456.us-west-2.elb.amazonaws.com.")
                .hosted_zone_id("Z1H1FL5HABSF5")
                .evaluate_target_health(true)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

fn list_output(
    sets: Vec<aws_sdk_route53::types::ResourceRecordSet>,
) -> aws_sdk_route53::operation::list_resource_record_sets::ListResourceRecordSetsOutput {
    aws_sdk_route53::operation::list_resource_record_sets::ListResourceRecordSetsOutput::builder()
        .set_resource_record_sets(Some(sets))
        .is_truncated(false)
        .max_items(10)
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn an_alias_record_is_read_from_the_start_of_the_listing() {
    let list = mock!(aws_sdk_route53::Client::list_resource_record_sets)
        .match_requests(|r| {
            r.start_record_name() == Some("api.example.com.")
                && r.start_record_type() == Some(&aws_sdk_route53::types::RrType::A)
        })
        .then_output(|| {
            list_output(vec![
                alias_set("API.example.com."),
                alias_set("www.example.com."),
            ])
        });
    let cloud = cloud_with(&[&list]);

    let record = cloud
        .get_record("Z0123456789", "api.example.com", "A")
        .await
        .unwrap()
        .expect("the record");

    assert_eq!(
        record,
        DnsRecord {
            name: "API.example.com.".to_string(),
            record_type: "A".to_string(),
            ttl: None,
            alias: Some(AliasTarget {
                dns_name: "dr-alb-456.us-west-2.elb.amazonaws.com.".to_string(),
                hosted_zone_id: "Z1H1FL5HABSF5".to_string(),
                evaluate_target_health: true,
            }),
            values: vec![],
        }
    );
}

#[tokio::test(start_paused = true)]
async fn a_listing_that_starts_past_the_record_means_it_does_not_exist() {
    // ListResourceRecordSets starts at the next record in order when ours is missing.
    let list = mock!(aws_sdk_route53::Client::list_resource_record_sets)
        .then_output(|| list_output(vec![alias_set("www.example.com.")]));
    let cloud = cloud_with(&[&list]);

    assert_eq!(
        cloud
            .get_record("Z0123456789", "api.example.com.", "A")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test(start_paused = true)]
async fn describe_services_is_batched_by_ten() {
    use aws_sdk_ecs::operation::describe_services::DescribeServicesOutput;
    use aws_sdk_ecs::types::Service;
    let describe = mock!(aws_sdk_ecs::Client::describe_services)
        .match_requests(|r| r.services().len() <= 10 && r.cluster() == Some("myapp-prod"))
        .then_compute_output(|r| {
            let mut out = DescribeServicesOutput::builder();
            for name in r.services() {
                out = out.services(
                    Service::builder()
                        .service_name(name)
                        .status("ACTIVE")
                        .desired_count(2)
                        .running_count(1)
                        .pending_count(1)
                        .build(),
                );
            }
            out.build()
        });
    let cloud = cloud_with(&[&describe]);
    let names: Vec<String> = (0..23).map(|i| format!("svc-{i}")).collect();

    let services = cloud
        .describe_services("us-east-1", "myapp-prod", &names)
        .await
        .unwrap();

    assert_eq!(describe.num_calls(), 3);
    assert_eq!(services.len(), 23);
    assert_eq!(services[22].service, "svc-22");
    assert_eq!(
        (
            services[0].desired,
            services[0].running,
            services[0].pending
        ),
        (2, 1, 1)
    );
    assert_eq!(services[0].cluster, "myapp-prod");
}

#[tokio::test(start_paused = true)]
async fn scalable_targets_map_min_and_max() {
    use aws_sdk_applicationautoscaling::operation::describe_scalable_targets::DescribeScalableTargetsOutput;
    use aws_sdk_applicationautoscaling::types::{
        ScalableDimension, ScalableTarget, ServiceNamespace,
    };
    let describe = mock!(aws_sdk_applicationautoscaling::Client::describe_scalable_targets)
        .match_requests(|r| r.service_namespace() == Some(&ServiceNamespace::Ecs))
        .then_output(|| {
            DescribeScalableTargetsOutput::builder()
                .scalable_targets(
                    ScalableTarget::builder()
                        .service_namespace(ServiceNamespace::Ecs)
                        .resource_id("service/myapp-prod/api")
                        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                        .min_capacity(6)
                        .max_capacity(24)
                        .role_arn("arn:aws:iam::123456789012:role/x")
                        .creation_time(aws_smithy_types::DateTime::from_secs(0))
                        .build()
                        .unwrap(),
                )
                .build()
        });
    let cloud = cloud_with(&[&describe]);

    let targets = cloud
        .describe_scalable_targets("us-east-1", &["service/myapp-prod/api".to_string()])
        .await
        .unwrap();

    assert_eq!(targets.len(), 1);
    assert_eq!((targets[0].min, targets[0].max), (6, 24));
}

fn cname(name: &str, value: &str) -> DnsRecord {
    DnsRecord {
        name: name.to_string(),
        record_type: "CNAME".to_string(),
        ttl: Some(60),
        alias: None,
        values: vec![value.to_string()],
    }
}

// ---------------------------------------------------------------------------------------------
// Fleet reads and batches: every page followed, every limit respected

fn global(id: &str) -> aws_sdk_rds::types::GlobalCluster {
    aws_sdk_rds::types::GlobalCluster::builder()
        .global_cluster_identifier(id)
        .global_cluster_arn(format!("arn:aws:rds::123456789012:global-cluster:{id}"))
        .status("available")
        .build()
}

#[tokio::test(start_paused = true)]
async fn describe_global_clusters_lists_the_whole_account_page_by_page() {
    use aws_sdk_rds::operation::describe_global_clusters::DescribeGlobalClustersOutput;
    let first = mock!(aws_sdk_rds::Client::describe_global_clusters)
        .match_requests(|r| {
            r.marker().is_none()
                && r.max_records() == Some(100)
                && r.global_cluster_identifier().is_none()
        })
        .then_output(|| {
            DescribeGlobalClustersOutput::builder()
                .set_global_clusters(Some(
                    (0..100).map(|i| global(&format!("g{i:03}"))).collect(),
                ))
                .marker("page-2")
                .build()
        });
    let second = mock!(aws_sdk_rds::Client::describe_global_clusters)
        .match_requests(|r| r.marker() == Some("page-2") && r.max_records() == Some(100))
        .then_output(|| {
            DescribeGlobalClustersOutput::builder()
                .global_clusters(global("g100"))
                .build()
        });
    let cloud = cloud_with(&[&first, &second]);

    let clusters = cloud.describe_global_clusters("us-west-2").await.unwrap();

    assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
    assert_eq!(clusters.len(), 101);
    assert_eq!(clusters[0].identifier, "g000");
    assert_eq!(clusters[100].identifier, "g100");
    assert_eq!(clusters[100].status.as_deref(), Some("available"));
}

#[tokio::test(start_paused = true)]
async fn throttling_of_the_global_cluster_listing_is_retryable_with_the_aws_code() {
    let throttled = mock!(aws_sdk_rds::Client::describe_global_clusters)
        .sequence()
        .http_response(|| http_error(400, "Throttling", "Rate exceeded"))
        .times(3)
        .build();
    let cloud = cloud_with(&[&throttled]);

    let err = expect_error(cloud.describe_global_clusters("us-east-1").await);

    assert_eq!(err.category, ErrorCategory::Retryable);
    assert_eq!(
        (err.code.as_str(), err.operation),
        ("Throttling", "DescribeGlobalClusters")
    );
}

fn cname_set(name: &str, value: &str) -> aws_sdk_route53::types::ResourceRecordSet {
    aws_sdk_route53::types::ResourceRecordSet::builder()
        .name(name)
        .r#type(aws_sdk_route53::types::RrType::Cname)
        .ttl(60)
        .resource_records(
            aws_sdk_route53::types::ResourceRecord::builder()
                .value(value)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

fn weighted_set(name: &str) -> aws_sdk_route53::types::ResourceRecordSet {
    aws_sdk_route53::types::ResourceRecordSet::builder()
        .name(name)
        .r#type(aws_sdk_route53::types::RrType::Cname)
        .set_identifier("blue")
        .weight(10)
        .ttl(60)
        .resource_records(
            aws_sdk_route53::types::ResourceRecord::builder()
                .value("w.example.com")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn list_records_follows_every_page_of_300_and_skips_routing_policy_records() {
    use aws_sdk_route53::operation::list_resource_record_sets::ListResourceRecordSetsOutput;
    use aws_sdk_route53::types::RrType;
    let first = mock!(aws_sdk_route53::Client::list_resource_record_sets)
        .match_requests(|r| {
            r.start_record_name().is_none()
                && r.max_items() == Some(300)
                && r.hosted_zone_id() == Some("Z1")
        })
        .then_output(|| {
            let mut sets: Vec<_> = (0..299)
                .map(|i| cname_set(&format!("r{i:03}.example.com."), "x.example.com"))
                .collect();
            sets.push(weighted_set("w.example.com."));
            ListResourceRecordSetsOutput::builder()
                .set_resource_record_sets(Some(sets))
                .is_truncated(true)
                .next_record_name("w.example.com.")
                .next_record_type(RrType::Cname)
                .next_record_identifier("green")
                .max_items(300)
                .build()
                .unwrap()
        });
    let second = mock!(aws_sdk_route53::Client::list_resource_record_sets)
        .match_requests(|r| {
            r.start_record_name() == Some("w.example.com.")
                && r.start_record_type() == Some(&RrType::Cname)
                && r.start_record_identifier() == Some("green")
                && r.max_items() == Some(300)
        })
        .then_output(|| {
            ListResourceRecordSetsOutput::builder()
                .resource_record_sets(weighted_set("w.example.com."))
                .resource_record_sets(alias_set("z.example.com."))
                .is_truncated(false)
                .max_items(300)
                .build()
                .unwrap()
        });
    let cloud = cloud_with(&[&first, &second]);

    let records = cloud.list_records("Z1").await.unwrap();

    assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
    assert_eq!(
        records.len(),
        300,
        "299 simple records, 2 weighted skipped, 1 alias"
    );
    assert_eq!(records[0], cname("r000.example.com.", "x.example.com"));
    assert_eq!(records[299].name, "z.example.com.");
    assert!(records[299].alias.is_some());
}

#[tokio::test(start_paused = true)]
async fn a_truncated_listing_without_a_next_record_is_a_malformed_response_not_a_loop() {
    use aws_sdk_route53::operation::list_resource_record_sets::ListResourceRecordSetsOutput;
    let broken = mock!(aws_sdk_route53::Client::list_resource_record_sets).then_output(|| {
        ListResourceRecordSetsOutput::builder()
            .resource_record_sets(cname_set("a.example.com.", "x.example.com"))
            .is_truncated(true)
            .max_items(300)
            .build()
            .unwrap()
    });
    let cloud = cloud_with(&[&broken]);

    let err = expect_error(cloud.list_records("Z1").await);

    assert_eq!(err.code, "MalformedResponse");
    assert_eq!(broken.num_calls(), 1);
}

fn change_ok(
) -> aws_sdk_route53::operation::change_resource_record_sets::ChangeResourceRecordSetsOutput {
    aws_sdk_route53::operation::change_resource_record_sets::ChangeResourceRecordSetsOutput::builder()
        .change_info(
            aws_sdk_route53::types::ChangeInfo::builder()
                .id("/change/CBATCH")
                .status(aws_sdk_route53::types::ChangeStatus::Pending)
                .submitted_at(aws_smithy_types::DateTime::from_secs(0))
                .build()
                .unwrap(),
        )
        .build()
}

#[tokio::test(start_paused = true)]
async fn change_records_sends_every_records_change_in_one_batch() {
    use drctl_cloud::RecordChange;
    let sent: Arc<std::sync::Mutex<Vec<(String, String)>>> = Arc::default();
    let seen = sent.clone();
    let change = mock!(aws_sdk_route53::Client::change_resource_record_sets)
        .match_requests(|r| r.hosted_zone_id() == Some("Z1"))
        .then_compute_output(move |r| {
            let batch = r.change_batch().unwrap();
            let mut seen = seen.lock().unwrap();
            seen.push((
                "comment".to_string(),
                batch.comment().unwrap_or_default().to_string(),
            ));
            for c in batch.changes() {
                let set = c.resource_record_set().unwrap();
                seen.push((c.action().as_str().to_string(), set.name().to_string()));
            }
            change_ok()
        });
    let cloud = cloud_with(&[&change]);
    let changes = [
        RecordChange {
            expected: Some(cname("a.example.com.", "east.example.com")),
            desired: cname("a.example.com.", "west.example.com"),
        },
        RecordChange {
            expected: None,
            desired: cname("b.example.com.", "west.example.com"),
        },
    ];

    let info = cloud
        .change_records("Z1", &changes, "fleet move")
        .await
        .unwrap();

    assert_eq!(info.id, "CBATCH");
    assert_eq!(change.num_calls(), 1);
    let row = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        *sent.lock().unwrap(),
        [
            row("comment", "fleet move"),
            row("DELETE", "a.example.com."),
            row("CREATE", "a.example.com."),
            row("UPSERT", "b.example.com."),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_batch_over_route53s_limits_is_refused_before_anything_is_sent() {
    use drctl_cloud::{RecordChange, ROUTE53_MAX_CHANGES_PER_BATCH};
    let change = mock!(aws_sdk_route53::Client::change_resource_record_sets).then_output(change_ok);
    let cloud = cloud_with(&[&change]);
    // Each UPSERT of a one-value record counts two ResourceRecord elements.
    let changes: Vec<RecordChange> = (0..=ROUTE53_MAX_CHANGES_PER_BATCH / 2)
        .map(|i| RecordChange {
            expected: None,
            desired: cname(&format!("r{i}.example.com."), "x.example.com"),
        })
        .collect();

    let err = expect_error(cloud.change_records("Z1", &changes, "too big").await);

    assert_eq!(err.category, ErrorCategory::NeedsSpecChange);
    assert_eq!(err.code, "ChangeBatchTooLarge");
    assert!(!err.outcome_unknown, "nothing was sent");
    assert_eq!(change.num_calls(), 0);

    cloud
        .change_records("Z1", &changes[1..], "at the limit")
        .await
        .unwrap();
    assert_eq!(change.num_calls(), 1);
}

fn lag_query(cluster: &str, region: &str) -> drctl_cloud::LagQuery {
    drctl_cloud::LagQuery {
        primary_cluster_id: cluster.to_string(),
        secondary_region: region.to_string(),
    }
}

/// The (cluster, secondary region) a metric query asks about.
fn dimensions_of(q: &aws_sdk_cloudwatch::types::MetricDataQuery) -> (String, String) {
    let dims = q.metric_stat().unwrap().metric().unwrap().dimensions();
    let value = |name: &str| {
        dims.iter()
            .find(|d| d.name() == Some(name))
            .and_then(|d| d.value())
            .unwrap()
            .to_string()
    };
    (value("DBClusterIdentifier"), value("SecondaryRegion"))
}

#[tokio::test(start_paused = true)]
async fn replication_lags_answer_in_the_order_asked_whatever_order_cloudwatch_answers_in() {
    use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataOutput;
    use aws_sdk_cloudwatch::types::MetricDataResult;
    // Lag in ms per cluster; "c2" publishes only the older metric, "c3" nothing.
    let get = mock!(aws_sdk_cloudwatch::Client::get_metric_data)
        .match_requests(|r| r.next_token().is_none())
        .then_compute_output(|r| {
            let mut out = GetMetricDataOutput::builder();
            for q in r.metric_data_queries().iter().rev() {
                let metric = q
                    .metric_stat()
                    .unwrap()
                    .metric()
                    .unwrap()
                    .metric_name()
                    .unwrap();
                let (cluster, _) = dimensions_of(q);
                let ms = match (cluster.as_str(), metric) {
                    ("c1", "AuroraGlobalDBRPOLag") => Some(1500.0),
                    ("c2", "AuroraGlobalDBReplicationLag") => Some(250.0),
                    _ => None,
                };
                let mut result = MetricDataResult::builder().id(q.id().unwrap());
                if let Some(ms) = ms {
                    result = result.values(ms).values(99_000.0);
                }
                out = out.metric_data_results(result.build());
            }
            out.build()
        });
    let cloud = cloud_with(&[&get]);
    let queries = [
        lag_query("c3", "us-west-2"),
        lag_query("c1", "us-west-2"),
        lag_query("c2", "eu-west-1"),
    ];

    let lags = cloud.replication_lags("us-east-1", &queries).await.unwrap();

    assert_eq!(lags, [None, Some(1.5), Some(0.25)]);
    assert_eq!(
        get.num_calls(),
        1,
        "three lags, six metric queries: one call"
    );
}

#[tokio::test(start_paused = true)]
async fn replication_lags_split_into_calls_of_500_metric_queries_and_follow_pages() {
    use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataOutput;
    use aws_sdk_cloudwatch::types::MetricDataResult;
    let sizes: Arc<std::sync::Mutex<Vec<usize>>> = Arc::default();
    let seen = sizes.clone();
    // Every lag's newest points, but the last lag's on a second page (only its older metric).
    let first_page = mock!(aws_sdk_cloudwatch::Client::get_metric_data)
        .match_requests(|r| r.next_token().is_none())
        .then_compute_output(move |r| {
            let queries = r.metric_data_queries();
            seen.lock().unwrap().push(queries.len());
            let mut out = GetMetricDataOutput::builder();
            for q in &queries[..queries.len() - 2] {
                let (cluster, _) = dimensions_of(q);
                let ms: f64 = cluster.trim_start_matches('c').parse().unwrap();
                out = out.metric_data_results(
                    MetricDataResult::builder()
                        .id(q.id().unwrap())
                        .values(ms)
                        .build(),
                );
            }
            let last = queries.last().unwrap().id().unwrap().to_string();
            out.next_token(format!("more:{last}")).build()
        });
    let second_page = mock!(aws_sdk_cloudwatch::Client::get_metric_data)
        .match_requests(|r| r.next_token().is_some_and(|t| t.starts_with("more:")))
        .then_compute_output(|r| {
            let id = r
                .next_token()
                .unwrap()
                .trim_start_matches("more:")
                .to_string();
            GetMetricDataOutput::builder()
                .metric_data_results(MetricDataResult::builder().id(id).values(7.0).build())
                .build()
        });
    let cloud = cloud_with(&[&first_page, &second_page]);
    let queries: Vec<_> = (0..300)
        .map(|i| lag_query(&format!("c{i}"), "us-west-2"))
        .collect();

    let lags = cloud.replication_lags("us-east-1", &queries).await.unwrap();

    assert_eq!(*sizes.lock().unwrap(), [500, 100], "250 lags, then 50");
    assert_eq!(
        second_page.num_calls(),
        2,
        "each call's second page was read"
    );
    assert_eq!(lags.len(), 300);
    assert_eq!(lags[0], Some(0.0));
    assert_eq!(lags[123], Some(0.123));
    // The last lag of each call is only on its second page.
    assert_eq!(lags[249], Some(0.007));
    assert_eq!(lags[299], Some(0.007));
    assert_eq!(
        cloud.replication_lags("us-east-1", &[]).await.unwrap(),
        Vec::<Option<f64>>::new()
    );
    assert_eq!(sizes.lock().unwrap().len(), 2, "no lags, no call");
}

#[tokio::test(start_paused = true)]
async fn describe_clusters_sends_at_most_100_identifiers_per_filter() {
    use aws_sdk_rds::operation::describe_db_clusters::DescribeDbClustersOutput;
    use aws_sdk_rds::types::DbCluster;
    let describe = mock!(aws_sdk_rds::Client::describe_db_clusters)
        .match_requests(|r| r.filters().iter().all(|f| f.values().len() <= 100))
        .then_compute_output(|r| {
            let mut out = DescribeDbClustersOutput::builder();
            for id in r.filters()[0].values() {
                out = out.db_clusters(
                    DbCluster::builder()
                        .db_cluster_identifier(id)
                        .status("available")
                        .build(),
                );
            }
            out.build()
        });
    let cloud = cloud_with(&[&describe]);
    let ids: Vec<String> = (0..250).map(|i| format!("c{i}")).collect();

    let clusters = cloud.describe_clusters("us-east-1", &ids).await.unwrap();

    assert_eq!(describe.num_calls(), 3);
    assert_eq!(clusters.len(), 250);
    assert_eq!(clusters[249].identifier, "c249");
}

#[tokio::test(start_paused = true)]
async fn describe_scalable_targets_sends_at_most_50_resource_ids_per_call() {
    use aws_sdk_applicationautoscaling::operation::describe_scalable_targets::DescribeScalableTargetsOutput;
    use aws_sdk_applicationautoscaling::types::{
        ScalableDimension, ScalableTarget, ServiceNamespace,
    };
    let describe = mock!(aws_sdk_applicationautoscaling::Client::describe_scalable_targets)
        .match_requests(|r| r.resource_ids().len() <= 50)
        .then_compute_output(|r| {
            let mut out = DescribeScalableTargetsOutput::builder();
            for id in r.resource_ids() {
                out = out.scalable_targets(
                    ScalableTarget::builder()
                        .service_namespace(ServiceNamespace::Ecs)
                        .resource_id(id)
                        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                        .min_capacity(1)
                        .max_capacity(2)
                        .role_arn("arn:aws:iam::123456789012:role/x")
                        .creation_time(aws_smithy_types::DateTime::from_secs(0))
                        .build()
                        .unwrap(),
                );
            }
            out.build()
        });
    let cloud = cloud_with(&[&describe]);
    let ids: Vec<String> = (0..120).map(|i| format!("service/c/s{i}")).collect();

    let targets = cloud
        .describe_scalable_targets("us-east-1", &ids)
        .await
        .unwrap();

    assert_eq!(describe.num_calls(), 3);
    assert_eq!(targets.len(), 120);
    assert_eq!(targets[119].resource_id, "service/c/s119");
}

#[tokio::test(start_paused = true)]
async fn an_answer_without_an_aws_error_code_names_the_http_status_and_the_endpoint_setting() {
    // What a wrong endpoint path gets: a 404 page that is not an AWS error document.
    let not_aws = mock!(aws_sdk_rds::Client::describe_global_clusters)
        .sequence()
        .http_response(|| {
            HttpResponse::new(
                StatusCode::try_from(404).unwrap(),
                SdkBody::from("<html><body>no such page</body></html>"),
            )
        })
        .build();
    let cloud = cloud_with(&[&not_aws]);
    let err = expect_error(cloud.describe_global_cluster("us-east-1", "g").await);
    let text = err.to_string();
    assert_eq!(err.code, "UnexpectedResponse", "{text}");
    assert!(text.contains("HTTP 404 Not Found"), "{text}");
    assert!(text.contains("AWS_ENDPOINT_URL"), "{text}");
    assert!(!text.contains("Unknown"), "{text}");
    assert!(!text.contains("unhandled error"), "{text}");
    assert_eq!(err.category, ErrorCategory::NeedsOperator);
}
