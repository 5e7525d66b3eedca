//! `drctl demo`: the embedded default. A simulated two-region AWS and a file store in a
//! temporary directory; the example group goes through a us-east-1 outage, the operator's
//! failover with data loss allowed, the stale recovery of us-east-1, the failback through
//! approval, and home again. Live progress in virtual time, then the timeline.

use std::sync::Arc;
use std::time::Instant;

use crate::cli::args::DemoArgs;
use crate::cli::exit::{CliError, CliResult, ExitStatus};
use crate::simulation::{run_in_virtual_time, run_scenario, Scenario, ScenarioOptions};

fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0) as u64;
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

pub async fn run(args: DemoArgs) -> CliResult<ExitStatus> {
    let wall = Instant::now();
    let (dir, keep) = match &args.keep_store {
        Some(dir) => (dir.clone(), true),
        None => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default();
            // The demo's store is thrown away at the end: on a memory file system its fsyncs
            // cost nothing, which keeps an hour of simulated failback within seconds.
            let shm = std::path::Path::new("/dev/shm");
            let base = if shm.is_dir() {
                shm.to_path_buf()
            } else {
                std::env::temp_dir()
            };
            (
                base.join(format!("drctl-demo-{}-{nanos}", std::process::id())),
                false,
            )
        }
    };
    let url = format!("file://{}", dir.display());
    let store = drctl_state::open(&url)
        .await
        .map_err(|e| CliError::failure(anyhow::Error::new(e)))?;
    crate::outln!(
        "drctl demo: a rehearsal in a simulated two-region AWS (virtual time), seed {}",
        args.seed
    );
    crate::outln!("store: {url}   group: examples/failovergroup.yaml (myapp-prod)\n");

    let seed = args.seed;
    let narrator: crate::simulation::Narrator = Arc::new(|at, line| {
        crate::outln!("[{}] {line}", clock(at));
    });
    let result = tokio::task::spawn_blocking(move || {
        run_in_virtual_time(move || async move {
            let mut options = ScenarioOptions::new(seed);
            options.store = Some(store);
            options.narrator = Some(narrator);
            run_scenario(Scenario::FailbackStale, options).await
        })
    })
    .await
    .map_err(|e| CliError::failure(anyhow::anyhow!("demo task: {e}")))?
    .map_err(|e| CliError::failure(anyhow::Error::new(e)))?;
    if !keep {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let report = result.map_err(|e| CliError::failure(anyhow::Error::new(e)))?;

    crate::outln!("\n=== timeline ===");
    crate::out!("{}", super::sim::render(&report));
    crate::outln!(
        "\n{} of virtual time in {:.1} s of wall time",
        clock(report.virtual_seconds),
        wall.elapsed().as_secs_f64()
    );
    if keep {
        crate::outln!("store kept at {url}: try `drctl --store {url} history myapp-prod`");
    }
    if report.invariant_violations.is_empty() {
        Ok(ExitStatus::Success)
    } else {
        Ok(ExitStatus::Failure)
    }
}
