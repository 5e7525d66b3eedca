//! The drctl binary: parse, run, exit with the contract's status.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match drctl::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // clap prints help/version to stdout with exit 0, usage errors to stderr with 2.
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() { 2 } else { 0 });
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::from(1);
        }
    };
    let status = runtime.block_on(drctl::cli::run(cli));
    ExitCode::from(status.code())
}
