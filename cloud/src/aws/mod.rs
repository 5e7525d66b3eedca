//! The real adapters: the ports of [`crate::ports`] on the AWS SDK for Rust.
//!
//! Configuration comes only from the standard chain (`aws_config::defaults`), so region,
//! credentials, profiles and `AWS_ENDPOINT_URL` behave as they do for the AWS CLI. One shared
//! `SdkConfig`; per-region clients are built from it lazily, with a region override, and
//! cached. Every operation name comes from [`operations`], every error goes through
//! [`errors`], and mutations carry the [`retry::MutationRetryGuard`].

mod arc;
mod autoscaling;
mod cloudwatch;
mod dependency_metrics;
mod dynamodb_tables;
mod ecs;
pub mod errors;
mod health;
pub mod iam;
pub mod operations;
mod rds;
mod rds_instances;
mod rds_offerings;
mod retry;
mod route53;
pub mod s3;
mod timing;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;

pub use health::{HttpHealthCheck, HEALTH_PROBE_TIMEOUT};

use crate::error::Service;
use crate::instrument::CallObserver;
use crate::ports::{Cloud, HealthCheck, SystemClock};

/// A TCP connect to a regional endpoint takes well under a second from anywhere; the SDK's
/// own default.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(3100);
/// One attempt of one call. AWS control-plane calls answer in a second or two; an attempt
/// that hangs longer is a region in trouble, and (for a mutation) an unknown outcome that the
/// next pass resolves by reading.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// One call with the SDK's retries. The SDK sets no limit at all, so without this a region
/// that accepts connections and never answers would stall the reconcile pass forever.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(25);

/// The timeouts every client of the adapters uses.
pub fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

/// Setting up the adapters failed (before any AWS call).
#[derive(Debug, thiserror::Error)]
pub enum AwsSetupError {
    /// The HTTP client of the health probe could not be built (no usable TLS roots).
    #[error("health-check HTTP client: {0}")]
    HealthClient(String),
}

/// The AWS SDK adapters. One value implements the Aurora, ReplicationLag, Dns, Ecs and
/// AutoScaling ports; clone it freely (it is a handle).
#[derive(Clone)]
pub struct AwsCloud {
    inner: Arc<Inner>,
}

struct Inner {
    config: SdkConfig,
    interceptors: Vec<SharedInterceptor>,
    observer: Option<Arc<dyn CallObserver>>,
    regions: Mutex<HashMap<String, Arc<RegionClients>>>,
    route53: aws_sdk_route53::Client,
    /// ARC data-plane clients, one per cluster endpoint URL.
    arc_endpoints: Mutex<HashMap<String, aws_sdk_route53recoverycluster::Client>>,
    recovery_config: aws_sdk_route53recoverycontrolconfig::Client,
}

/// The clients of one region, built together on first use of the region.
struct RegionClients {
    rds: aws_sdk_rds::Client,
    ecs: aws_sdk_ecs::Client,
    autoscaling: aws_sdk_applicationautoscaling::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
    /// spec.dependencies only.
    s3: aws_sdk_s3::Client,
    dynamodb: aws_sdk_dynamodb::Client,
}

impl AwsCloud {
    /// The whole bundle from the standard configuration chain: AWS adapters, the real clock
    /// and an HTTP health probe.
    pub async fn from_env() -> Result<Cloud, AwsSetupError> {
        AwsCloud::from_env_observed(None).await
    }

    /// [`AwsCloud::from_env`], with every call timed by `observer` (the controller's
    /// metrics).
    pub async fn from_env_observed(
        observer: Option<Arc<dyn CallObserver>>,
    ) -> Result<Cloud, AwsSetupError> {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .timeout_config(timeouts())
            .load()
            .await;
        let mut builder = AwsCloud::builder(config);
        if let Some(observer) = observer {
            builder = builder.observer(observer);
        }
        let aws = builder.build();
        let health = HttpHealthCheck::new(HEALTH_PROBE_TIMEOUT)?;
        Ok(aws.into_cloud(Arc::new(health)))
    }

    /// Adapters on an already loaded configuration.
    pub fn from_sdk_config(config: SdkConfig) -> AwsCloud {
        AwsCloud::builder(config).build()
    }

    /// For tests and instrumentation: add interceptors to every client (mock responses,
    /// recording the operations sent).
    pub fn builder(config: SdkConfig) -> AwsCloudBuilder {
        AwsCloudBuilder {
            config,
            interceptors: Vec::new(),
            observer: None,
        }
    }

    /// The port bundle with these adapters, the system clock and `health`.
    pub fn into_cloud(self, health: Arc<dyn HealthCheck>) -> Cloud {
        let shared = Arc::new(self);
        Cloud {
            aurora: shared.clone(),
            lag: shared.clone(),
            alarms: shared.clone(),
            dns: shared.clone(),
            ecs: shared.clone(),
            autoscaling: shared.clone(),
            routing: shared.clone(),
            recovery_config: shared.clone(),
            health,
            clock: Arc::new(SystemClock),
            rds_instances: shared.clone(),
            replica_lag: shared.clone(),
            s3: shared.clone(),
            tables: shared.clone(),
            dependency_metrics: shared.clone(),
            offerings: Arc::new(crate::offerings::MemoizedOfferings::new(shared)),
        }
    }

    fn region(&self, region: &str) -> Arc<RegionClients> {
        // A poisoned lock only means another thread panicked while inserting a client; the
        // map itself is still consistent, so keep using it.
        let mut regions = self
            .inner
            .regions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        regions
            .entry(region.to_string())
            .or_insert_with(|| Arc::new(self.inner.build_region(region)))
            .clone()
    }

    fn route53(&self) -> &aws_sdk_route53::Client {
        &self.inner.route53
    }

    fn recovery_config_client(&self) -> &aws_sdk_route53recoverycontrolconfig::Client {
        &self.inner.recovery_config
    }

    /// The data-plane client of one cluster endpoint: sent to its URL, signed for its region.
    fn arc_endpoint(
        &self,
        endpoint: &crate::model::ClusterEndpoint,
    ) -> aws_sdk_route53recoverycluster::Client {
        let mut clients = self
            .inner
            .arc_endpoints
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        clients
            .entry(endpoint.endpoint.clone())
            .or_insert_with(|| self.inner.build_arc_endpoint(endpoint))
            .clone()
    }
}

pub struct AwsCloudBuilder {
    config: SdkConfig,
    interceptors: Vec<SharedInterceptor>,
    observer: Option<Arc<dyn CallObserver>>,
}

impl AwsCloudBuilder {
    pub fn interceptor(mut self, interceptor: SharedInterceptor) -> Self {
        self.interceptors.push(interceptor);
        self
    }

    /// Time every call of every client with `observer`.
    pub fn observer(mut self, observer: Arc<dyn CallObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    pub fn build(self) -> AwsCloud {
        let route53_region = route53_control_plane_region(self.config.region());
        let mut route53 = aws_sdk_route53::config::Builder::from(&self.config)
            .region(Region::new(route53_region));
        for interceptor in &self.interceptors {
            route53.push_interceptor(interceptor.clone());
        }
        if let Some(observer) = &self.observer {
            route53.push_interceptor(timing::interceptor(Service::Route53, observer.clone()));
        }
        let mut recovery_config =
            aws_sdk_route53recoverycontrolconfig::config::Builder::from(&self.config)
                .region(Region::new(arc::RECOVERY_CONTROL_CONFIG_REGION));
        for interceptor in &self.interceptors {
            recovery_config.push_interceptor(interceptor.clone());
        }
        if let Some(observer) = &self.observer {
            recovery_config.push_interceptor(timing::interceptor(
                Service::RecoveryControlConfig,
                observer.clone(),
            ));
        }
        AwsCloud {
            inner: Arc::new(Inner {
                route53: aws_sdk_route53::Client::from_conf(route53.build()),
                arc_endpoints: Mutex::new(HashMap::new()),
                recovery_config: aws_sdk_route53recoverycontrolconfig::Client::from_conf(
                    recovery_config.build(),
                ),
                config: self.config,
                interceptors: self.interceptors,
                observer: self.observer,
                regions: Mutex::new(HashMap::new()),
            }),
        }
    }
}

impl Inner {
    fn build_arc_endpoint(
        &self,
        endpoint: &crate::model::ClusterEndpoint,
    ) -> aws_sdk_route53recoverycluster::Client {
        let mut config = aws_sdk_route53recoverycluster::config::Builder::from(&self.config)
            .region(Region::new(endpoint.region.clone()))
            .endpoint_url(endpoint.endpoint.clone());
        for interceptor in &self.interceptors {
            config.push_interceptor(interceptor.clone());
        }
        if let Some(observer) = &self.observer {
            config.push_interceptor(timing::interceptor(
                Service::RoutingControl,
                observer.clone(),
            ));
        }
        aws_sdk_route53recoverycluster::Client::from_conf(config.build())
    }

    fn build_region(&self, region: &str) -> RegionClients {
        let region = Region::new(region.to_string());
        let mut rds = aws_sdk_rds::config::Builder::from(&self.config).region(region.clone());
        let mut ecs = aws_sdk_ecs::config::Builder::from(&self.config).region(region.clone());
        let mut autoscaling = aws_sdk_applicationautoscaling::config::Builder::from(&self.config)
            .region(region.clone());
        let mut cloudwatch =
            aws_sdk_cloudwatch::config::Builder::from(&self.config).region(region.clone());
        let mut s3 = aws_sdk_s3::config::Builder::from(&self.config).region(region.clone());
        let mut dynamodb = aws_sdk_dynamodb::config::Builder::from(&self.config).region(region);
        for interceptor in &self.interceptors {
            rds.push_interceptor(interceptor.clone());
            ecs.push_interceptor(interceptor.clone());
            autoscaling.push_interceptor(interceptor.clone());
            cloudwatch.push_interceptor(interceptor.clone());
            s3.push_interceptor(interceptor.clone());
            dynamodb.push_interceptor(interceptor.clone());
        }
        if let Some(observer) = &self.observer {
            rds.push_interceptor(timing::interceptor(Service::Rds, observer.clone()));
            ecs.push_interceptor(timing::interceptor(Service::Ecs, observer.clone()));
            autoscaling
                .push_interceptor(timing::interceptor(Service::AutoScaling, observer.clone()));
            cloudwatch.push_interceptor(timing::interceptor(Service::CloudWatch, observer.clone()));
            s3.push_interceptor(timing::interceptor(Service::S3, observer.clone()));
            dynamodb.push_interceptor(timing::interceptor(Service::DynamoDb, observer.clone()));
        }
        RegionClients {
            rds: aws_sdk_rds::Client::from_conf(rds.build()),
            ecs: aws_sdk_ecs::Client::from_conf(ecs.build()),
            autoscaling: aws_sdk_applicationautoscaling::Client::from_conf(autoscaling.build()),
            cloudwatch: aws_sdk_cloudwatch::Client::from_conf(cloudwatch.build()),
            s3: aws_sdk_s3::Client::from_conf(s3.build()),
            dynamodb: aws_sdk_dynamodb::Client::from_conf(dynamodb.build()),
        }
    }
}

/// The Route 53 control plane lives in one region per partition (us-east-1 for `aws`);
/// signing for another region is rejected.
fn route53_control_plane_region(configured: Option<&Region>) -> &'static str {
    match configured.map(|r| r.as_ref()) {
        Some(r) if r.starts_with("cn-") => "cn-northwest-1",
        Some(r) if r.starts_with("us-gov-") => "us-gov-west-1",
        _ => "us-east-1",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route53_is_signed_for_the_partitions_control_plane_region() {
        assert_eq!(
            route53_control_plane_region(Some(&Region::new("eu-west-1"))),
            "us-east-1"
        );
        assert_eq!(
            route53_control_plane_region(Some(&Region::new("cn-north-1"))),
            "cn-northwest-1"
        );
        assert_eq!(route53_control_plane_region(None), "us-east-1");
    }
}
