//! What an AWS SDK client sent: an interceptor that records (service, operation) of every
//! request about to be transmitted, for the wire tests (the AWS adapters, ARC, the DynamoDB
//! store), and the check that each operation sent is allowed by `drctl iam-policy`.
//!
//! Test support: a poisoned lock or an unknown service is a failed test, so it panics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use drctl_cloud::aws::iam::{allowed_actions, policy_for, PolicyTarget};
use drctl_schema::FailoverGroupSpec;

/// Records (SDK service name, operation) of every request the SDK is about to transmit.
#[derive(Debug, Default, Clone)]
pub struct SentOperations(Arc<Mutex<Vec<(String, String)>>>);

impl SentOperations {
    /// How many requests of this operation were sent (pages included).
    pub fn count(&self, operation: &str) -> usize {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, name)| name == operation)
            .count()
    }

    /// Every (service, operation) sent so far.
    pub fn distinct(&self) -> BTreeSet<(String, String)> {
        self.0.lock().unwrap().iter().cloned().collect()
    }

    /// The operations sent since the last take, in order, and forget them.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
            .into_iter()
            .map(|(_, name)| name)
            .collect()
    }
}

impl Intercept for SentOperations {
    fn name(&self) -> &'static str {
        "SentOperations"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(metadata) = cfg.load::<Metadata>() {
            self.0
                .lock()
                .unwrap()
                .push((metadata.service().to_string(), metadata.name().to_string()));
        }
        Ok(())
    }
}

/// The IAM action of a request as the SDK sent it (its service name), not from drctl's own
/// operations table, which the policy is generated from.
fn iam_action(service: &str, operation: &str) -> String {
    let prefix = match service {
        "RDS" => "rds",
        "Route 53" => "route53",
        "ECS" => "ecs",
        "Application Auto Scaling" => "application-autoscaling",
        "CloudWatch" => "cloudwatch",
        "Route53 Recovery Cluster" => "route53-recovery-cluster",
        "Route53 Recovery Control Config" => "route53-recovery-control-config",
        other => panic!("{operation} was sent to {other:?}, a service the adapters do not use"),
    };
    format!("{prefix}:{operation}")
}

/// Every operation sent is allowed by `drctl iam-policy`'s policy for `spec` and is in the
/// adapters' table. Returns the names of the operations sent.
pub fn assert_allowed_by_the_policy(
    spec: &FailoverGroupSpec,
    sent: &SentOperations,
) -> BTreeSet<String> {
    let policy = policy_for(
        spec,
        PolicyTarget {
            partition: "aws",
            account: "123456789012",
            dynamodb_table: None,
        },
    );
    let allowed: BTreeSet<String> = allowed_actions(&policy).into_iter().collect();
    let sent = sent.distinct();
    for (service, name) in &sent {
        let action = iam_action(service, name);
        assert!(allowed.contains(&action), "{action} is not in the policy");
        assert!(
            drctl_cloud::aws::operations::find(name).is_some(),
            "{name} was sent but is not in the operations table"
        );
    }
    sent.into_iter().map(|(_, name)| name).collect()
}
