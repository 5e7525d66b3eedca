//! `drctl approve NAME`: approve the step waiting in AwaitApproval of the running operation.

use drctl_schema::{StepName, StepState, Timestamp};
use drctl_state::ApprovalRecord;

use super::common::{actor, get_existing, journal, open_store, store_error};
use crate::cli::exit::{CliError, CliResult, ExitStatus};

pub async fn run(store_url: &str, name: &str) -> CliResult<ExitStatus> {
    let store = open_store(store_url).await?;
    let doc = get_existing(store.as_ref(), name).await?;
    let status = doc.status.as_ref();
    let waiting = status.and_then(|s| s.operation.as_ref()).filter(|op| {
        op.step(StepName::AwaitApproval)
            .is_some_and(|s| s.state == StepState::Running)
    });
    let Some(op) = waiting else {
        let phase = status.map(|s| s.phase.as_str()).unwrap_or("Pending");
        let what = match status.and_then(|s| s.operation.as_ref()) {
            Some(op) => format!(
                "operation {} ({} {} -> {}) has no step AwaitApproval in state Running",
                op.id,
                op.type_.as_str(),
                op.from,
                op.to
            ),
            None => "no operation is running".to_string(),
        };
        return Err(CliError::failure(anyhow::anyhow!(
            "failovergroup/{name}: nothing to approve: {what} (phase {phase})"
        )));
    };
    let approval = ApprovalRecord {
        operation_id: op.id.clone(),
        approved_by: actor(),
        approved_at: Timestamp::now(),
    };
    store.approve(name, &approval).await.map_err(store_error)?;
    let next: Vec<&str> = op
        .steps
        .iter()
        .skip_while(|s| s.name != StepName::AwaitApproval)
        .skip(1)
        .map(|s| s.name.as_str())
        .collect();
    let message = format!(
        "approved {} of operation {} ({} {} -> {}); next: {}",
        StepName::AwaitApproval,
        op.id,
        op.type_.as_str(),
        op.from,
        op.to,
        if next.is_empty() {
            "-".to_string()
        } else {
            next.join(", ")
        }
    );
    journal(store.as_ref(), name, "Approved", message.clone(), None).await;
    println!("failovergroup/{name} approved: {message}");
    Ok(ExitStatus::Success)
}
