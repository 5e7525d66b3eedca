//! Route 53 Application Recovery Controller: the routing-control data plane
//! (aws-sdk-route53recoverycluster), one client per regional cluster endpoint, each signed
//! for its endpoint's region; and the control-config API (aws-sdk-route53recoverycontrolconfig),
//! which runs in us-west-2 only.

use async_trait::async_trait;
use aws_sdk_route53recoverycluster::types::{
    RoutingControlState as SdkState, UpdateRoutingControlStateEntry,
};

use super::errors::{from_build, malformed_response, mapper as err};
use super::operations as ops;
use super::retry::MutationRetryGuard;
use super::AwsCloud;
use crate::error::CloudResult;
use crate::model::{ClusterEndpoint, RoutingControlState, RoutingControlUpdate};
use crate::ports::{RecoveryControlConfig, RoutingControls};

pub use crate::model::RECOVERY_CONTROL_CONFIG_REGION;

fn mutation() -> aws_sdk_route53recoverycluster::config::Builder {
    aws_sdk_route53recoverycluster::config::Builder::default().retry_classifier(MutationRetryGuard)
}

fn to_sdk(state: RoutingControlState) -> SdkState {
    match state {
        RoutingControlState::On => SdkState::On,
        RoutingControlState::Off => SdkState::Off,
    }
}

#[async_trait]
impl RoutingControls for AwsCloud {
    async fn get_routing_control_state(
        &self,
        endpoint: &ClusterEndpoint,
        control_arn: &str,
    ) -> CloudResult<RoutingControlState> {
        let op = &ops::GET_ROUTING_CONTROL_STATE;
        let out = self
            .arc_endpoint(endpoint)
            .get_routing_control_state()
            .routing_control_arn(control_arn)
            .send()
            .await
            .map_err(err(op))?;
        match out.routing_control_state() {
            SdkState::On => Ok(RoutingControlState::On),
            SdkState::Off => Ok(RoutingControlState::Off),
            other => Err(malformed_response(
                op,
                format!("routing control state {other:?} is neither On nor Off"),
            )),
        }
    }

    async fn update_routing_control_states(
        &self,
        endpoint: &ClusterEndpoint,
        updates: &[RoutingControlUpdate],
    ) -> CloudResult<()> {
        let op = &ops::UPDATE_ROUTING_CONTROL_STATES;
        let entries = updates
            .iter()
            .map(|u| {
                UpdateRoutingControlStateEntry::builder()
                    .routing_control_arn(&u.control_arn)
                    .routing_control_state(to_sdk(u.state))
                    .build()
                    .map_err(|e| from_build(op, e))
            })
            .collect::<CloudResult<Vec<_>>>()?;
        self.arc_endpoint(endpoint)
            .update_routing_control_states()
            .set_update_routing_control_state_entries(Some(entries))
            .customize()
            .config_override(mutation())
            .send()
            .await
            .map_err(err(op))?;
        Ok(())
    }
}

#[async_trait]
impl RecoveryControlConfig for AwsCloud {
    async fn describe_cluster(&self, cluster_arn: &str) -> CloudResult<Vec<ClusterEndpoint>> {
        let op = &ops::DESCRIBE_CLUSTER;
        let out = self
            .recovery_config_client()
            .describe_cluster()
            .cluster_arn(cluster_arn)
            .send()
            .await
            .map_err(err(op))?;
        let cluster = out
            .cluster()
            .ok_or_else(|| malformed_response(op, "DescribeCluster returned no cluster"))?;
        Ok(cluster
            .cluster_endpoints()
            .iter()
            .filter_map(|e| {
                Some(ClusterEndpoint {
                    region: e.region()?.to_string(),
                    endpoint: e.endpoint()?.to_string(),
                })
            })
            .collect())
    }
}
