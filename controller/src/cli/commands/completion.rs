//! `drctl completion bash|zsh|fish`.

use clap::CommandFactory;
use clap_complete::Shell as Target;

use crate::cli::args::{Cli, Shell};
use crate::cli::exit::{CliResult, ExitStatus};

pub fn run(shell: Shell) -> CliResult<ExitStatus> {
    let target = match shell {
        Shell::Bash => Target::Bash,
        Shell::Zsh => Target::Zsh,
        Shell::Fish => Target::Fish,
    };
    // Generated into memory: clap_complete panics on a write error, and `| head` closes
    // the pipe early.
    let mut script = Vec::new();
    clap_complete::generate(target, &mut Cli::command(), "drctl", &mut script);
    crate::cli::output::write_stdout(&script);
    Ok(ExitStatus::Success)
}
