//! `drctl get [NAME] [-o table|yaml|json]`.
//!
//! yaml and json print the whole document including status, fields in the document's own
//! order (stable for scripts). Without a name they print a kubectl-style
//! `{apiVersion: v1, kind: List, items: [...]}`.

use drctl_schema::{FailoverGroup, OperationState, StepState, Timestamp};
use serde::Serialize;

use super::common::{age, get_existing, open_store, store_error, table, to_json, to_yaml};
use crate::cli::args::OutputFormat;
use crate::cli::exit::{CliResult, ExitStatus};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct List<'a> {
    api_version: &'static str,
    kind: &'static str,
    items: &'a [FailoverGroup],
}

pub async fn run(
    store_url: &str,
    name: Option<&str>,
    output: OutputFormat,
) -> CliResult<ExitStatus> {
    let store = open_store(store_url).await?;
    let docs = match name {
        Some(name) => vec![get_existing(store.as_ref(), name).await?],
        None => store.list().await.map_err(store_error)?,
    };
    let text = match (output, name) {
        (OutputFormat::Table, _) => {
            if docs.is_empty() {
                eprintln!("No resources found in {}.", store.url());
                return Ok(ExitStatus::Success);
            }
            render_table(&docs, Timestamp::now())
        }
        (OutputFormat::Yaml, Some(_)) => to_yaml(&docs[0])?,
        (OutputFormat::Json, Some(_)) => to_json(&docs[0])?,
        (OutputFormat::Yaml, None) => to_yaml(&list(&docs))?,
        (OutputFormat::Json, None) => to_json(&list(&docs))?,
    };
    println!("{}", text.trim_end());
    Ok(ExitStatus::Success)
}

fn list(items: &[FailoverGroup]) -> List<'_> {
    List {
        api_version: "v1",
        kind: "List",
        items,
    }
}

pub fn render_table(docs: &[FailoverGroup], now: Timestamp) -> String {
    let rows: Vec<Vec<String>> = docs
        .iter()
        .map(|doc| {
            let status = doc.status.as_ref();
            let observed_writer = status
                .and_then(|s| s.observed.as_ref())
                .and_then(|o| o.writer.clone())
                .unwrap_or_else(|| "-".to_string());
            let phase = match status {
                Some(s) => s.phase.as_str().to_string(),
                None if doc.spec.suspended => "Suspended".to_string(),
                None => "Pending".to_string(),
            };
            let reconciled = status
                .and_then(|s| s.last_reconciled_at)
                .map(|t| age(t, now))
                .unwrap_or_else(|| "-".to_string());
            vec![
                doc.metadata.name.clone(),
                doc.spec.writer.clone(),
                doc.spec.dns_owner().to_string(),
                observed_writer,
                phase,
                operation_summary(doc),
                reconciled,
            ]
        })
        .collect();
    table(
        &[
            "NAME",
            "WRITER",
            "DNS-OWNER",
            "OBSERVED-WRITER",
            "PHASE",
            "OPERATION",
            "RECONCILED",
        ],
        &rows,
    )
}

/// `Switchover 3/9 MoveDns` while running, `-` otherwise.
fn operation_summary(doc: &FailoverGroup) -> String {
    let Some(op) = doc.status.as_ref().and_then(|s| s.operation.as_ref()) else {
        return "-".to_string();
    };
    if op.state != OperationState::Running {
        return "-".to_string();
    }
    let done = op.steps.iter().filter(|s| s.state.is_done()).count();
    let current = op
        .steps
        .iter()
        .find(|s| matches!(s.state, StepState::Running | StepState::Failed))
        .or_else(|| op.steps.iter().find(|s| s.state == StepState::Pending))
        .map(|s| s.name.as_str())
        .unwrap_or("-");
    format!("{} {done}/{} {current}", op.type_.as_str(), op.steps.len())
}
