//! Application Auto Scaling (aws-sdk-applicationautoscaling): the min/max of ECS services.

use async_trait::async_trait;
use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};

use super::errors::mapper as err;
use super::operations as ops;
use super::retry::MutationRetryGuard;
use super::AwsCloud;
use crate::error::CloudResult;
use crate::model::{ScalableTarget, SCALABLE_TARGET_IDS_PER_DESCRIBE};
use crate::ports::AutoScaling;

fn mutation() -> aws_sdk_applicationautoscaling::config::Builder {
    aws_sdk_applicationautoscaling::config::Builder::default().retry_classifier(MutationRetryGuard)
}

pub(crate) fn to_scalable_target(
    t: &aws_sdk_applicationautoscaling::types::ScalableTarget,
) -> ScalableTarget {
    ScalableTarget {
        resource_id: t.resource_id().to_string(),
        min: u32::try_from(t.min_capacity()).unwrap_or(0),
        max: u32::try_from(t.max_capacity()).unwrap_or(0),
    }
}

fn capacity(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

#[async_trait]
impl AutoScaling for AwsCloud {
    async fn describe_scalable_targets(
        &self,
        region: &str,
        resource_ids: &[String],
    ) -> CloudResult<Vec<ScalableTarget>> {
        let client = self.region(region).autoscaling.clone();
        let mut targets = Vec::new();
        for chunk in resource_ids.chunks(SCALABLE_TARGET_IDS_PER_DESCRIBE) {
            let page = client
                .describe_scalable_targets()
                .service_namespace(ServiceNamespace::Ecs)
                .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                .set_resource_ids(Some(chunk.to_vec()))
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(err(&ops::DESCRIBE_SCALABLE_TARGETS))?;
            targets.extend(page.iter().map(to_scalable_target));
        }
        Ok(targets)
    }

    async fn register_scalable_target(
        &self,
        region: &str,
        resource_id: &str,
        min: u32,
        max: u32,
    ) -> CloudResult<()> {
        self.region(region)
            .autoscaling
            .register_scalable_target()
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .resource_id(resource_id)
            .min_capacity(capacity(min))
            .max_capacity(capacity(max))
            .customize()
            .config_override(mutation())
            .send()
            .await
            .map_err(err(&ops::REGISTER_SCALABLE_TARGET))?;
        Ok(())
    }
}
