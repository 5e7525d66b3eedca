//! `drctl history NAME [-o json]`: the group's journal, oldest first.

use drctl_schema::Timestamp;
use drctl_state::StoreError;

use super::common::{open_store, store_error, table, to_json};
use crate::cli::args::HistoryFormat;
use crate::cli::exit::{CliResult, ExitStatus};

pub async fn run(store_url: &str, name: &str, output: HistoryFormat) -> CliResult<ExitStatus> {
    let store = open_store(store_url).await?;
    let events = store.events(name).await.map_err(store_error)?;
    // The journal outlives a deleted group; only a name that never had one is unknown.
    if events.is_empty() && store.get(name).await.map_err(store_error)?.is_none() {
        return Err(store_error(StoreError::NotFound {
            name: name.to_string(),
        }));
    }
    match output {
        HistoryFormat::Json => crate::outln!("{}", to_json(&events)?),
        HistoryFormat::Table => {
            let rows: Vec<Vec<String>> = events
                .iter()
                .map(|e| {
                    let mut message = e.message.clone();
                    if let Some(step) = &e.step {
                        message = format!("[{step}] {message}");
                    }
                    vec![
                        time_of(e.at),
                        e.actor.clone(),
                        e.reason.clone(),
                        message.replace('\n', " "),
                    ]
                })
                .collect();
            crate::outln!("{}", table(&["TIME", "ACTOR", "REASON", "MESSAGE"], &rows));
        }
    }
    Ok(ExitStatus::Success)
}

/// Full timestamps: a journal is read to reconstruct what happened when.
fn time_of(t: Timestamp) -> String {
    t.to_rfc3339()
}
