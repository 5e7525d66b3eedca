//! `drctl suspend NAME|-l SELECTOR` / `drctl resume NAME|-l SELECTOR`: flip spec.suspended
//! with a conditional update, on one group or on every group the selector matches.

use drctl_schema::FailoverGroup;

use super::common::{change_data, modify, open_store, user_event, Modified};
use super::select::{matching, Outcomes};
use crate::cli::args::TargetArgs;
use crate::cli::exit::{CliError, CliResult, ExitStatus};

/// NAME, or each group `-l` selects in turn (none matching: exit 0, nothing changed).
pub async fn run_target(
    store_url: &str,
    target: TargetArgs,
    suspended: bool,
) -> CliResult<ExitStatus> {
    match (target.name, target.selector) {
        (Some(name), None) => run(store_url, &name, suspended).await,
        (None, Some(selector)) => {
            let store = open_store(store_url).await?;
            let mut outcomes = Outcomes::default();
            for group in matching(store.as_ref(), &selector).await? {
                let name = group.metadata.name;
                outcomes.record(&name, run(store_url, &name, suspended).await);
            }
            outcomes.into_result()
        }
        _ => Err(CliError::invalid(anyhow::anyhow!(
            "give either NAME or -l SELECTOR, not both"
        ))),
    }
}

pub async fn run(store_url: &str, name: &str, suspended: bool) -> CliResult<ExitStatus> {
    let store = open_store(store_url).await?;
    let verb = if suspended { "suspended" } else { "resumed" };
    let note = |_: &FailoverGroup, after: &FailoverGroup| {
        let message = if suspended {
            "suspended by drctl suspend: observe and report only, no AWS mutation"
        } else {
            "resumed by drctl resume: reconciling towards the spec again"
        };
        let data = change_data(
            after,
            &[format!("spec.suspended: {} -> {}", !suspended, suspended)],
        );
        let reason = if suspended { "Suspended" } else { "Resumed" };
        user_event(reason, message.to_string(), Some(data))
    };
    match modify(
        store.as_ref(),
        name,
        |doc| {
            doc.spec.suspended = suspended;
            Ok(())
        },
        &note,
    )
    .await?
    {
        Modified::Unchanged(_) => {
            crate::outln!("failovergroup/{name} unchanged (already {verb})");
        }
        Modified::Updated { .. } => {
            crate::outln!("failovergroup/{name} {verb}");
        }
    }
    Ok(ExitStatus::Success)
}
