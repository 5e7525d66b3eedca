//! `drctl get [NAME | -l SELECTOR] [-o table|yaml|json]`.
//!
//! yaml and json print the whole document including status, fields in the document's own
//! order (stable for scripts). Without a name they print a kubectl-style
//! `{apiVersion: v1, kind: List, items: [...]}`, which `apply` and `diff` read back. The
//! table is kubectl's, followed by one line of counts by phase.
//!
//! A group whose spec or status record is damaged does not take the others down: they are
//! printed as usual, each damaged one is named on stderr (record, path, why, and that
//! `describe` shows it and `delete` removes it), and the exit status is 1, as kubectl does
//! for partial results. `get NAME` of a group whose status alone is damaged prints its spec.

use drctl_schema::{FailoverGroup, OperationState, Phase, Selector, StepState, Timestamp};
use serde::Serialize;

use drctl_state::{DamagedRecord, StoreError};

use super::common::{age, open_store, store_error, table, to_json, to_yaml};
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
    selector: Option<&Selector>,
    output: OutputFormat,
) -> CliResult<ExitStatus> {
    let store = open_store(store_url).await?;
    let (docs, damaged) = match name {
        Some(name) => {
            let inspection = store
                .inspect(name)
                .await
                .map_err(store_error)?
                .ok_or_else(|| {
                    store_error(StoreError::NotFound {
                        name: name.to_string(),
                    })
                })?;
            (inspection.doc.into_iter().collect(), inspection.damaged)
        }
        None => {
            let listing = store.list_readable().await.map_err(store_error)?;
            let mut docs = listing.groups;
            if let Some(selector) = selector {
                docs.retain(|d| selector.matches(&d.metadata.labels));
            }
            (docs, listing.damaged)
        }
    };
    let done = report_damaged(&damaged);
    if docs.is_empty() && name.is_some() {
        return Ok(done);
    }
    let text = match (output, name) {
        (OutputFormat::Table, _) => {
            if docs.is_empty() {
                let matching = selector
                    .map(|s| format!(" matching -l {s}"))
                    .unwrap_or_default();
                eprintln!("No resources found in {}{matching}.", store.url());
                return Ok(done);
            }
            let now = Timestamp::now();
            let countdowns: String = docs
                .iter()
                .filter_map(|d| {
                    crate::planner::auto_failover::countdown_line(
                        &d.metadata.name,
                        &d.spec,
                        d.status.as_ref(),
                        now,
                    )
                    .or_else(|| crate::planner::after_failover::ready_line(d.status.as_ref()))
                    .map(|line| format!("\nfailovergroup/{}: {line}", d.metadata.name))
                })
                .collect();
            format!(
                "{}\n{}{countdowns}",
                render_table(&docs, now),
                phase_counts(&docs)
            )
        }
        (OutputFormat::Yaml, Some(_)) => to_yaml(&docs[0])?,
        (OutputFormat::Json, Some(_)) => to_json(&docs[0])?,
        (OutputFormat::Yaml, None) => to_yaml(&list(&docs))?,
        (OutputFormat::Json, None) => to_json(&list(&docs))?,
    };
    crate::outln!("{}", text.trim_end());
    Ok(done)
}

/// Name each damaged record on stderr; the exit status: 1 if there was any.
fn report_damaged(damaged: &[DamagedRecord]) -> ExitStatus {
    for record in damaged {
        eprintln!(
            "error: {record} (`drctl describe {name}` shows what still reads; `drctl delete \
             {name}` removes it)",
            name = record.name
        );
    }
    if damaged.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    }
}

/// The phase column: the controller's phase, or what the spec says before it has reported.
fn phase(doc: &FailoverGroup) -> &'static str {
    match doc.status.as_ref() {
        Some(s) => s.phase.as_str(),
        None if doc.spec.suspended => Phase::Suspended.as_str(),
        None => "Pending",
    }
}

/// `12 groups: 10 Converged, 1 Progressing, 1 Blocked`: phases in a fixed order (the healthy
/// first, Pending last), only those present.
pub fn phase_counts(docs: &[FailoverGroup]) -> String {
    const ORDER: [&str; 7] = [
        "Converged",
        "Progressing",
        "WaitingForApproval",
        "Blocked",
        "Suspended",
        "Degraded",
        "Pending",
    ];
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for doc in docs {
        let p = phase(doc);
        match counts.iter_mut().find(|(name, _)| *name == p) {
            Some((_, n)) => *n += 1,
            None => counts.push((p, 1)),
        }
    }
    counts.sort_by_key(|(p, _)| ORDER.iter().position(|o| o == p).unwrap_or(ORDER.len()));
    let parts: Vec<String> = counts.iter().map(|(p, n)| format!("{n} {p}")).collect();
    let noun = if docs.len() == 1 { "group" } else { "groups" };
    format!("{} {noun}: {}", docs.len(), parts.join(", "))
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
            let phase = phase(doc).to_string();
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use drctl_schema::{FailoverGroupStatus, Phase};

    use super::*;

    fn group(name: &str, phase: Option<Phase>) -> FailoverGroup {
        let text = include_str!("../../../../examples/failovergroup.yaml");
        let mut doc = drctl_schema::parse_documents(text.as_bytes(), "example")
            .unwrap()
            .remove(0);
        doc.metadata.name = name.to_string();
        doc.status = phase.map(|phase| FailoverGroupStatus {
            phase,
            ..FailoverGroupStatus::default()
        });
        doc
    }

    #[test]
    fn phase_counts_are_in_a_fixed_order_with_pending_last() {
        let docs = [
            group("a", Some(Phase::Blocked)),
            group("b", None),
            group("c", Some(Phase::Converged)),
            group("d", Some(Phase::Progressing)),
            group("e", Some(Phase::Converged)),
        ];
        assert_eq!(
            phase_counts(&docs),
            "5 groups: 2 Converged, 1 Progressing, 1 Blocked, 1 Pending"
        );
        assert_eq!(phase_counts(&docs[..1]), "1 group: 1 Blocked");
    }
}
