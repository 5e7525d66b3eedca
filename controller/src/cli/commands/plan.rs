//! `drctl plan NAME`: a dry run against the live cloud (or the simulated one): the actions
//! the controller would take now. Nothing is mutated and nothing is written.

use super::common::{get_existing, open_store};
use crate::cli::args::CloudKind;
use crate::cli::exit::{CliError, CliResult, ExitStatus};
use crate::planner::{Plan, PlannedAction};
use crate::reconcile::dry_run_observed;

/// Exit 1 (a cloud failure, docs/design-contract.md §2) when any part of the world could not be read: the
/// plan is printed, but it is not a plan of the live state, and a script must not read it
/// as "nothing to do".
pub async fn run(store_url: &str, name: &str, cloud: CloudKind) -> CliResult<ExitStatus> {
    let (plan, world) = match cloud {
        CloudKind::Aws => {
            let store = open_store(store_url).await?;
            let doc = get_existing(store.as_ref(), name).await?;
            let cloud = super::controller::aws_cloud().await?;
            dry_run_observed(&cloud, store.as_ref(), &doc)
                .await
                .map_err(|e| CliError::failure(anyhow::Error::new(e)))?
        }
        CloudKind::Sim => {
            let store = open_store(store_url).await?;
            let doc = get_existing(store.as_ref(), name).await?;
            tokio::task::spawn_blocking(move || {
                crate::simulation::run_in_virtual_time(move || async move {
                    let world = crate::simulation::world_for(
                        std::slice::from_ref(&doc),
                        1,
                        crate::simulation::wall_now(),
                    )?;
                    let cloud = world.cloud("drctl-plan");
                    dry_run_observed(&cloud, store.as_ref(), &doc)
                        .await
                        .map_err(crate::simulation::SimulationError::Store)
                })
            })
            .await
            .map_err(|e| CliError::failure(anyhow::anyhow!("plan task: {e}")))?
            .map_err(|e| CliError::failure(anyhow::Error::new(e)))?
            .map_err(|e| CliError::failure(anyhow::Error::new(e)))?
        }
    };
    crate::out!("{}", render(name, &plan));
    let unobserved = world.unobserved();
    if unobserved.is_empty() {
        return Ok(ExitStatus::Success);
    }
    Err(CliError::failure(anyhow::anyhow!(
        "--cloud {}: could not observe {} of failovergroup/{name}, so this is not a plan \
         of the live state:\n  {}",
        cloud.as_str(),
        if unobserved.len() == 1 {
            "one part".to_string()
        } else {
            format!("{} parts", unobserved.len())
        },
        unobserved.join("\n  ")
    )))
}

/// One planned action as `[Step] what it does`.
pub fn action_line(planned: &PlannedAction) -> String {
    let step = planned.step.map(|s| format!("[{s}] ")).unwrap_or_default();
    format!("{step}{}", planned.action)
}

pub fn render(name: &str, plan: &Plan) -> String {
    let mut out = format!("failovergroup/{name}: {}\n", plan.summary);
    if plan.actions.is_empty() {
        out.push_str("no AWS changes now\n");
    } else {
        out.push_str("the controller would now:\n");
        for (i, a) in plan.actions.iter().enumerate() {
            out.push_str(&format!("  {}. {}\n", i + 1, action_line(a)));
        }
    }
    if let Some(op) = &plan.status.operation {
        out.push_str(&format!(
            "operation {} {} {} -> {}:\n",
            op.id,
            op.type_.as_str(),
            op.from,
            op.to
        ));
        for s in &op.steps {
            out.push_str(&format!(
                "  {:<18} {:<10} {}\n",
                s.name.as_str(),
                format!("{:?}", s.state),
                s.detail.clone().unwrap_or_default()
            ));
        }
    }
    out
}
