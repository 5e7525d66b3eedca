//! One module per command. Each returns the exit status on success or a `CliError`.

mod apply;
mod approve;
mod common;
mod completion;
mod controller;
mod delete;
mod demo;
mod describe;
mod diff;
mod drill;
mod edit;
mod failover;
mod get;
mod history;
#[cfg(feature = "aws")]
mod iam_policy;
mod init;
mod input;
mod plan;
mod report;
mod schema;
mod select;
mod sim;
mod suspend;

use super::args::{Cli, Command};
use super::exit::{CliResult, ExitStatus};

pub async fn dispatch(cli: Cli) -> CliResult<ExitStatus> {
    let Cli { store, command } = cli;
    match command {
        Command::Init => init::run(&store).await,
        Command::Apply(input) => apply::run(&store, &input).await,
        Command::Get {
            name,
            output,
            selector,
        } => get::run(&store, name.as_deref(), selector.as_ref(), output).await,
        Command::Describe { name } => describe::run(&store, &name).await,
        Command::Edit { name } => edit::run(&store, &name).await,
        Command::Diff { input, cloud } => diff::run(&store, &input, cloud).await,
        Command::Plan { name, cloud } => plan::run(&store, &name, cloud).await,
        Command::Failover(args) => failover::run(&store, args).await,
        Command::Approve { name } => approve::run(&store, &name).await,
        Command::Suspend(target) => suspend::run_target(&store, target, true).await,
        Command::Resume(target) => suspend::run_target(&store, target, false).await,
        Command::Delete { name } => delete::run(&store, &name).await,
        Command::History { name, output } => history::run(&store, &name, output).await,
        Command::Controller(args) => controller::run(&store, args).await,
        Command::Demo(args) => demo::run(args).await,
        Command::Sim(args) => sim::run(&store, args).await,
        Command::Drill(args) => drill::run(&store, args).await,
        Command::Report {
            name,
            operation,
            output,
        } => report::run(&store, &name, operation.as_deref(), output).await,
        Command::Schema => schema::run(),
        #[cfg(feature = "aws")]
        Command::IamPolicy {
            name,
            selector,
            compact,
            account,
            partition,
        } => {
            let which = match (name, selector) {
                (Some(name), _) => iam_policy::Which::Group(name),
                (None, Some(selector)) => iam_policy::Which::Selected(selector),
                (None, None) => {
                    return Err(super::exit::CliError::invalid(anyhow::anyhow!(
                        "iam-policy: give NAME or -l SELECTOR"
                    )))
                }
            };
            iam_policy::run(&store, which, compact, &account, &partition).await
        }
        #[cfg(not(feature = "aws"))]
        Command::IamPolicy { .. } => Err(super::exit::CliError::failure(anyhow::anyhow!(
            "this drctl was built without the `aws` feature"
        ))),
        Command::Completion { shell } => completion::run(shell),
    }
}
