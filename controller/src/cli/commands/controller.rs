//! `drctl controller [--once|--until-converged] [--timeout SECS] [--cloud aws|sim]`: the
//! reconcile loop, with `/metrics`, `/healthz` and `/readyz` on `--metrics-addr` and
//! structured logs.
//!
//! With `--cloud sim` the loop runs against a simulated world provisioned as the groups were
//! last observed, in virtual time (so `--timeout` counts simulated seconds): a rehearsal of
//! what the controller would do, without AWS. Virtual time starts at the real now, so the
//! store gets real timestamps; without `--once` or `--until-converged` it runs on real time.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::common::{open_store, store_error};
use crate::cli::args::{CloudKind, ControllerArgs, LogFormat};
use crate::cli::exit::{CliError, CliResult, ExitStatus};
use crate::metrics::Metrics;
use crate::runtime::{Controller, RunMode, RunOutcome, RuntimeConfig};
use crate::simulation::real_time_store::RealTimeStore;
use crate::simulation::{run_on_own_runtime, wall_now, SimPace};

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("DRCTL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    // A second initialisation (tests running several commands in one process) is harmless.
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.compact().try_init(),
    };
}

pub fn default_replica_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .unwrap_or_else(|| "localhost".to_string());
    format!("{host}-{}", std::process::id())
}

fn mode(args: &ControllerArgs) -> RunMode {
    if args.once {
        RunMode::Once
    } else if args.until_converged {
        RunMode::UntilConverged
    } else {
        RunMode::Forever
    }
}

fn exit_for(outcome: RunOutcome, timeout: Option<u64>) -> CliResult<ExitStatus> {
    match outcome {
        RunOutcome::PassCompleted | RunOutcome::Converged | RunOutcome::Shutdown => {
            Ok(ExitStatus::Success)
        }
        RunOutcome::TimedOut => Err(CliError::failure(anyhow::anyhow!(
            "not every group is Ready after {} s (see `drctl get` and `drctl describe`)",
            timeout.unwrap_or_default()
        ))),
    }
}

pub async fn run(store_url: &str, args: ControllerArgs) -> CliResult<ExitStatus> {
    init_logging(args.log_format);
    let replica = args.replica_id.clone().unwrap_or_else(default_replica_id);
    let metrics = Metrics::new();
    let shutdown = CancellationToken::new();

    let listener = match &args.metrics_addr {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| CliError::invalid(anyhow::anyhow!("--metrics-addr {addr}: {e}")))?,
        ),
        None => None,
    };
    if let Some(listener) = listener {
        let (metrics, shutdown) = (metrics.clone(), shutdown.clone());
        tokio::spawn(async move {
            if let Err(e) = crate::metrics::serve(listener, metrics, shutdown).await {
                tracing::error!(error = %e, "metrics endpoint stopped");
            }
        });
    }
    {
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("signal received: releasing the lease and stopping");
            shutdown.cancel();
        });
    }

    let mut config = RuntimeConfig::new(replica.clone(), args.lease_name.clone());
    config.concurrency = args.concurrency;
    config.shards = args.shards;
    let mode = mode(&args);
    let timeout = args.timeout.map(Duration::from_secs);
    let outcome = match args.cloud {
        CloudKind::Aws => {
            let store = open_store(store_url).await?;
            let cloud = aws_cloud_timed(metrics.clone()).await?;
            let controller = Controller::new(store, cloud, config, metrics);
            controller.run(mode, timeout, shutdown).await
        }
        CloudKind::Sim => {
            // Faster polling in virtual time costs nothing and shortens rehearsals.
            config.planner.operation_poll = Duration::from_secs(1);
            // Opened here, on the real clock; its calls stay there (RealTimeStore).
            let real_store = open_store(store_url).await?;
            let real_time = tokio::runtime::Handle::current();
            // The store is a real one (file:// or dynamodb://), read and written by processes
            // on real time: the simulated world's time starts at the real now, and leases are
            // stamped with the wall clock. A run that never ends would leave virtual time
            // further ahead of the wall clock with every idle second, so it runs on real time.
            let pace = match mode {
                RunMode::Forever => SimPace::Real,
                RunMode::Once | RunMode::UntilConverged => SimPace::Virtual,
            };
            let outcome = tokio::task::spawn_blocking(move || {
                run_on_own_runtime(pace, move || async move {
                    let store: std::sync::Arc<dyn drctl_state::Store> =
                        std::sync::Arc::new(RealTimeStore::new(real_store, real_time));
                    let groups = store.list().await?;
                    let world =
                        crate::simulation::world_for(&groups, 1, wall_now()).map_err(|e| {
                            drctl_state::StoreError::Unavailable {
                                message: e.to_string(),
                            }
                        })?;
                    let cloud = world.cloud(&replica);
                    let controller = Controller::new(store, cloud, config, metrics)
                        .with_lease_clock(std::sync::Arc::new(drctl_cloud::SystemClock));
                    let outcome = controller.run(mode, timeout, shutdown).await;
                    outcome.map_err(|e| drctl_state::StoreError::Unavailable {
                        message: e.to_string(),
                    })
                })
            })
            .await
            .map_err(|e| CliError::failure(anyhow::anyhow!("controller task: {e}")))?
            .map_err(|e| CliError::failure(anyhow::Error::new(e)))?
            .map_err(store_error)?;
            Ok(outcome)
        }
    };
    match outcome {
        Ok(outcome) => exit_for(outcome, args.timeout),
        Err(e) => Err(CliError::failure(anyhow::Error::new(e))),
    }
}

#[cfg(feature = "aws")]
pub async fn aws_cloud() -> CliResult<drctl_cloud::Cloud> {
    aws_cloud_observed(None).await
}

/// The AWS adapters with every call timed into `metrics` (drctl_aws_call_duration_seconds).
async fn aws_cloud_timed(metrics: std::sync::Arc<Metrics>) -> CliResult<drctl_cloud::Cloud> {
    aws_cloud_observed(Some(metrics)).await
}

#[cfg(feature = "aws")]
async fn aws_cloud_observed(
    observer: Option<std::sync::Arc<dyn drctl_cloud::CallObserver>>,
) -> CliResult<drctl_cloud::Cloud> {
    drctl_cloud::aws::AwsCloud::from_env_observed(observer)
        .await
        .map_err(|e| CliError::failure(anyhow::anyhow!("AWS configuration: {e}")))
}

#[cfg(not(feature = "aws"))]
pub async fn aws_cloud() -> CliResult<drctl_cloud::Cloud> {
    aws_cloud_observed(None).await
}

#[cfg(not(feature = "aws"))]
async fn aws_cloud_observed(
    _observer: Option<std::sync::Arc<dyn drctl_cloud::CallObserver>>,
) -> CliResult<drctl_cloud::Cloud> {
    Err(CliError::invalid(anyhow::anyhow!(
        "--cloud aws: this drctl was built without the `aws` feature"
    )))
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
