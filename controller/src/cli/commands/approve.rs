//! `drctl approve NAME`: approve the step waiting in AwaitApproval of the running operation.
//!
//! An approval is for one operation, which moves the writer to its target. If the spec changed
//! since the operation was planned and spec.writer no longer names that target, the
//! controller supersedes the operation: approving it would record a decision about a plan
//! that is gone, and tell the approver that the destructive steps will run. So approve is
//! refused (exit 3) naming spec.writer, its values and who changed it; and since the approval
//! record is not a versioned write, the spec is read again after it to catch a change that
//! raced with it. The approval and its journal event are one store write: the journal never
//! misses an approval, and a repeat approval changes nothing.

use drctl_schema::{FailoverGroup, Operation, StepName, StepState, Timestamp};
use drctl_state::{Approval, ApprovalRecord, Store};

use super::common::{
    actor, describe_conflicts, get_existing, open_store, store_error, user_event, Sides,
};
use crate::cli::exit::{CliError, CliResult, ExitStatus};
use crate::cli::merge::Conflict;

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
    check_still_planned(store.as_ref(), &doc, &doc, op, "nothing was approved").await?;
    let approval = ApprovalRecord {
        operation_id: op.id.clone(),
        approved_by: actor(),
        approved_at: Timestamp::now(),
    };
    let message = approval_message(op);
    let mut event = user_event("Approved", message.clone(), None);
    event.operation_id = Some(op.id.clone());
    event.step = Some(StepName::AwaitApproval.as_str().to_string());
    let outcome = store
        .approve_with_event(name, &approval, &event)
        .await
        .map_err(store_error)?;
    if let Approval::AlreadyApproved(earlier) = outcome {
        crate::outln!(
            "failovergroup/{name}: operation {} was already approved by {} at {}; nothing changed",
            op.id,
            earlier.approved_by,
            earlier.approved_at
        );
        return Ok(ExitStatus::Success);
    }
    // The approval is recorded with its journal event (an audit fact), but it is not a
    // versioned write: a writer change that raced with it means the operation will not go on.
    let after = get_existing(store.as_ref(), name).await?;
    check_still_planned(
        store.as_ref(),
        &doc,
        &after,
        op,
        "the approval was recorded, but the controller supersedes the operation instead of \
         running its next steps",
    )
    .await?;
    crate::outln!("failovergroup/{name} approved: {message}");
    Ok(ExitStatus::Success)
}

/// "approved AwaitApproval of operation ID (Type from -> to); next: the steps after it".
fn approval_message(op: &Operation) -> String {
    let next: Vec<&str> = op
        .steps
        .iter()
        .skip_while(|s| s.name != StepName::AwaitApproval)
        .skip(1)
        .map(|s| s.name.as_str())
        .collect();
    format!(
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
    )
}

/// Exit 3 if the spec changed since `op` was planned and spec.writer no longer names its
/// target (`read` is the version approve read).
async fn check_still_planned(
    store: &dyn Store,
    read: &FailoverGroup,
    current: &FailoverGroup,
    op: &Operation,
    outcome: &str,
) -> CliResult<()> {
    let changed_since_planned = current.metadata.generation.unwrap_or(0) > op.generation;
    if !changed_since_planned || current.spec.writer == op.to {
        return Ok(());
    }
    let name = &current.metadata.name;
    let conflict = Conflict {
        path: vec!["spec".into(), "writer".into()],
        base: Some(serde_json::Value::String(read.spec.writer.clone())),
        ours: Some(serde_json::Value::String(op.to.clone())),
        theirs: Some(serde_json::Value::String(current.spec.writer.clone())),
    };
    let sides = Sides {
        base: "read",
        ours: &format!("operation {} moves it to", op.id),
    };
    // The change that moved the writer usually predates approve's read: name the latest one
    // the journal has, not only those after the read.
    let mut since = read.clone();
    since.metadata.resource_version = None;
    let lines = describe_conflicts(store, name, &since, &[conflict], sides).await;
    Err(CliError::conflict(anyhow::anyhow!(
        "failovergroup/{name}: operation {} ({} {} -> {}) is no longer what the spec asks for; \
         {outcome}:\n  {}\nSee `drctl describe {name}`.",
        op.id,
        op.type_.as_str(),
        op.from,
        op.to,
        lines.join("\n  ")
    )))
}
