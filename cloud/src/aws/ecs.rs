//! ECS (aws-sdk-ecs): service counts.

use async_trait::async_trait;

use super::errors::mapper as err;
use super::operations as ops;
use super::retry::MutationRetryGuard;
use super::AwsCloud;
use crate::error::CloudResult;
use crate::model::{EcsService, ECS_SERVICES_PER_DESCRIBE};
use crate::ports::Ecs;

fn mutation() -> aws_sdk_ecs::config::Builder {
    aws_sdk_ecs::config::Builder::default().retry_classifier(MutationRetryGuard)
}

/// ECS counts are non-negative i32s; a negative value would be an API bug, read as 0.
fn count(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

pub(crate) fn to_ecs_service(cluster: &str, s: &aws_sdk_ecs::types::Service) -> EcsService {
    EcsService {
        // The cluster as the spec names it (the response carries its ARN).
        cluster: cluster.to_string(),
        service: s.service_name().unwrap_or_default().to_string(),
        status: s.status().unwrap_or_default().to_string(),
        desired: count(s.desired_count()),
        running: count(s.running_count()),
        pending: count(s.pending_count()),
    }
}

#[async_trait]
impl Ecs for AwsCloud {
    async fn describe_services(
        &self,
        region: &str,
        cluster: &str,
        services: &[String],
    ) -> CloudResult<Vec<EcsService>> {
        let ecs = self.region(region).ecs.clone();
        let mut found = Vec::new();
        for batch in services.chunks(ECS_SERVICES_PER_DESCRIBE) {
            let out = ecs
                .describe_services()
                .cluster(cluster)
                .set_services(Some(batch.to_vec()))
                .send()
                .await
                .map_err(err(&ops::DESCRIBE_SERVICES))?;
            // Unknown services come back in `failures` (reason MISSING): left out, like the
            // other describe ports do with missing resources.
            found.extend(out.services().iter().map(|s| to_ecs_service(cluster, s)));
        }
        Ok(found)
    }

    async fn update_desired_count(
        &self,
        region: &str,
        cluster: &str,
        service: &str,
        desired: u32,
    ) -> CloudResult<()> {
        // Setting the same desiredCount twice is harmless, but an unknown outcome is still
        // reported so the controller re-reads rather than assumes.
        self.region(region)
            .ecs
            .update_service()
            .cluster(cluster)
            .service(service)
            .desired_count(i32::try_from(desired).unwrap_or(i32::MAX))
            .customize()
            .config_override(mutation())
            .send()
            .await
            .map_err(err(&ops::UPDATE_SERVICE))?;
        Ok(())
    }
}
