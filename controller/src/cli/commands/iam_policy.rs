//! `drctl iam-policy NAME`: the least-privilege IAM policy for the calls drctl makes for one
//! group (drctl_cloud::aws::iam), plus the store's DynamoDB table when the store is one.

use anyhow::Context;
use drctl_cloud::aws::iam::{policy_for, PolicyTarget};
use drctl_state::StoreUrl;

use super::common::store_error;
use crate::cli::exit::{CliError, CliResult, ExitStatus};

pub async fn run(store: &str, name: &str, account: &str, partition: &str) -> CliResult<ExitStatus> {
    let url = StoreUrl::parse(store).map_err(CliError::invalid)?;
    let opened = drctl_state::open(store).await.map_err(store_error)?;
    let group = opened
        .get(name)
        .await
        .map_err(store_error)?
        .ok_or_else(|| {
            CliError::failure(anyhow::anyhow!(
                "failovergroup/{name} not found in {}",
                opened.url()
            ))
        })?;
    let table = match &url {
        StoreUrl::DynamoDb { table } => Some(table.as_str()),
        StoreUrl::File(_) => None,
    };
    let policy = policy_for(
        &group.spec,
        PolicyTarget {
            partition,
            account,
            dynamodb_table: table,
        },
    );
    let text = serde_json::to_string_pretty(&policy).context("rendering the policy")?;
    crate::outln!("{text}");
    Ok(ExitStatus::Success)
}
