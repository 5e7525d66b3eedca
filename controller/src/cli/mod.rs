//! The binary's edge: argument parsing, dispatch, exit codes. Command bodies live in
//! `commands/`, one file per command.

pub mod args;
pub mod commands;
pub mod exit;
pub mod merge;
pub mod output;

pub use args::Cli;
pub use exit::{CliError, ExitStatus};

/// Run one command line; returns the process exit status.
pub async fn run(cli: Cli) -> ExitStatus {
    match commands::dispatch(cli).await {
        Ok(status) => status,
        Err(err) => {
            eprintln!("error: {err}");
            err.exit_status()
        }
    }
}
