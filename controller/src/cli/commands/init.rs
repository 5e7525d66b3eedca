//! `drctl init`: create the store if missing; idempotent.

use drctl_state::InitOutcome;

use super::common::{open_store, store_error};
use crate::cli::exit::{CliResult, ExitStatus};

pub async fn run(store_url: &str) -> CliResult<ExitStatus> {
    let store = open_store(store_url).await?;
    match store.init().await.map_err(store_error)? {
        InitOutcome::Created => crate::outln!("store {} created", store.url()),
        InitOutcome::AlreadyExisted => crate::outln!("store {} already exists", store.url()),
    }
    Ok(ExitStatus::Success)
}
