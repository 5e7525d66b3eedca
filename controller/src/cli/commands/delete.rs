//! `drctl delete NAME`: remove the document. Never touches AWS resources.

use super::common::{journal, open_store, store_error};
use crate::cli::exit::{CliResult, ExitStatus};

pub async fn run(store_url: &str, name: &str) -> CliResult<ExitStatus> {
    let store = open_store(store_url).await?;
    store.delete(name, None).await.map_err(store_error)?;
    // The journal outlives the document, so the deletion itself is on record.
    journal(
        store.as_ref(),
        name,
        "Deleted",
        "deleted by drctl delete (AWS resources untouched)".to_string(),
        None,
    )
    .await;
    println!("failovergroup/{name} deleted");
    Ok(ExitStatus::Success)
}
