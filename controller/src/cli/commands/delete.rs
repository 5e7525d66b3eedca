//! `drctl delete NAME`: remove the document. Never touches AWS resources.

use super::common::{open_store, store_error, user_event};
use crate::cli::exit::{CliResult, ExitStatus};

/// Without a resourceVersion, so a group whose records are damaged can be deleted too.
pub async fn run(store_url: &str, name: &str) -> CliResult<ExitStatus> {
    let store = open_store(store_url).await?;
    // The journal outlives the document, so the deletion itself is on record, written with it.
    let event = user_event(
        "Deleted",
        "deleted by drctl delete (AWS resources untouched)".to_string(),
        None,
    );
    store
        .delete_with_event(name, None, &event)
        .await
        .map_err(store_error)?;
    crate::outln!("failovergroup/{name} deleted");
    Ok(ExitStatus::Success)
}
