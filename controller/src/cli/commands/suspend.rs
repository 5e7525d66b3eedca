//! `drctl suspend NAME` / `drctl resume NAME`: flip spec.suspended with a conditional update.

use super::common::{change_data, journal, modify, open_store, Modified};
use crate::cli::exit::{CliResult, ExitStatus};

pub async fn run(store_url: &str, name: &str, suspended: bool) -> CliResult<ExitStatus> {
    let store = open_store(store_url).await?;
    let verb = if suspended { "suspended" } else { "resumed" };
    match modify(store.as_ref(), name, |doc| {
        doc.spec.suspended = suspended;
        Ok(())
    })
    .await?
    {
        Modified::Unchanged(_) => {
            println!("failovergroup/{name} unchanged (already {verb})");
        }
        Modified::Updated { after, .. } => {
            let message = if suspended {
                "suspended by drctl suspend: observe and report only, no AWS mutation"
            } else {
                "resumed by drctl resume: reconciling towards the spec again"
            };
            let data = change_data(
                &after,
                &[format!("spec.suspended: {} -> {}", !suspended, suspended)],
            );
            let reason = if suspended { "Suspended" } else { "Resumed" };
            journal(
                store.as_ref(),
                name,
                reason,
                message.to_string(),
                Some(data),
            )
            .await;
            println!("failovergroup/{name} {verb}");
        }
    }
    Ok(ExitStatus::Success)
}
