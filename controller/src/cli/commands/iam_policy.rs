//! `drctl iam-policy NAME`: the least-privilege IAM policy for the calls drctl makes for one
//! group (drctl_cloud::aws::iam), plus the store's DynamoDB table when the store is one.
//! `drctl iam-policy -l SELECTOR`: one policy for every matching group, the statements of the
//! same kind merged (`fleet_policy`), for the role a fleet's controller runs as.

use anyhow::Context;
use drctl_cloud::aws::iam::{
    compact_resources, fleet_policy, policy_chars, policy_for, PolicyTarget,
    MANAGED_POLICY_MAX_CHARS,
};
use drctl_schema::Selector;
use drctl_state::StoreUrl;

use super::common::{get_existing, store_error};
use super::select::matching;
use crate::cli::exit::{CliError, CliResult, ExitStatus};

/// The groups the policy is for.
pub enum Which {
    Group(String),
    Selected(Selector),
}

pub async fn run(
    store: &str,
    which: Which,
    compact: bool,
    account: &str,
    partition: &str,
) -> CliResult<ExitStatus> {
    let url = StoreUrl::parse(store).map_err(CliError::invalid)?;
    let opened = drctl_state::open(store).await.map_err(store_error)?;
    let table = match &url {
        StoreUrl::DynamoDb { table } => Some(table.as_str()),
        StoreUrl::File(_) => None,
    };
    let target = PolicyTarget {
        partition,
        account,
        dynamodb_table: table,
    };
    let policy = match which {
        Which::Group(name) => policy_for(&get_existing(opened.as_ref(), &name).await?.spec, target),
        Which::Selected(selector) => {
            let groups = matching(opened.as_ref(), &selector).await?;
            if groups.is_empty() {
                // `matching` said so on stderr; a policy for no group would grant nothing.
                return Ok(ExitStatus::Failure);
            }
            let policy = fleet_policy(groups.iter().map(|g| &g.spec), target);
            let policy = if compact {
                compact_resources(&policy)
            } else {
                policy
            };
            warn_if_over_the_managed_limit(&policy, groups.len(), &selector, compact);
            policy
        }
    };
    let text = serde_json::to_string_pretty(&policy).context("rendering the policy")?;
    crate::outln!("{text}");
    Ok(ExitStatus::Success)
}

/// A fleet's resource lists outgrow one managed policy at a few groups (about 1.1 KB of ARNs
/// each): say so, with what to do, rather than let `aws iam create-policy` fail.
fn warn_if_over_the_managed_limit(
    policy: &serde_json::Value,
    groups: usize,
    selector: &Selector,
    compact: bool,
) {
    let chars = policy_chars(policy);
    if chars <= MANAGED_POLICY_MAX_CHARS {
        return;
    }
    let advice = if compact {
        "split the fleet with narrower selectors, one policy each on the same role (10 managed \
         policies per role by default)"
    } else {
        "--compact widens each resource type in a region to its wildcard; or split the fleet \
         with narrower selectors, one policy each on the same role"
    };
    eprintln!(
        "warning: the policy for {groups} groups (-l {selector}) is {chars} characters without \
         whitespace, over IAM's {MANAGED_POLICY_MAX_CHARS} for a managed policy: {advice}"
    );
}
