//! `drctl failover NAME|-l SELECTOR --to REGION [--allow-data-loss] [--wait] [--timeout SECS]`:
//! sugar for setting spec.writer and spec.dnsOwner, optionally following the operation live.
//! With `-l`, the single-group path runs on each matching group in turn.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use drctl_schema::{
    condition_type, ConditionStatus, FailoverGroup, OperationState, Phase, StepState,
};
use drctl_state::Store;

use super::common::{
    change_data, duration, get_existing, modify, open_store, user_changes, user_event, Modified,
};
use super::select::{matching, Outcomes};
use crate::cli::args::FailoverArgs;
use crate::cli::exit::{CliError, CliResult, ExitStatus};

/// How often --wait reads the store.
const POLL_INTERVAL: Duration = Duration::from_secs(1);

pub async fn run(store_url: &str, args: FailoverArgs) -> CliResult<ExitStatus> {
    match (args.name.clone(), args.selector.clone()) {
        (Some(name), None) => run_one(store_url, &name, args).await,
        (None, Some(selector)) => run_selected(store_url, &selector, args).await,
        _ => Err(CliError::invalid(anyhow::anyhow!(
            "give either NAME or -l SELECTOR, not both"
        ))),
    }
}

/// Every group the selector matches: all are checked to have `--to` among their regions
/// before any is changed (a selector that takes in a group of other regions is a mistake
/// to fix, not to half-apply), then each is failed over in turn; with --wait, followed in
/// turn within one timeout.
async fn run_selected(
    store_url: &str,
    selector: &drctl_schema::Selector,
    args: FailoverArgs,
) -> CliResult<ExitStatus> {
    let store = open_store(store_url).await?;
    let groups = matching(store.as_ref(), selector).await?;
    let to = &args.to;
    let elsewhere: Vec<String> = groups
        .iter()
        .filter(|g| !g.spec.regions.contains(to))
        .map(|g| {
            format!(
                "failovergroup/{} [{}]",
                g.metadata.name,
                g.spec.regions.join(", ")
            )
        })
        .collect();
    if !elsewhere.is_empty() {
        return Err(CliError::invalid(anyhow::anyhow!(
            "--to: {to:?} is not one of spec.regions of {}; nothing changed (narrow -l {selector})",
            elsewhere.join(", ")
        )));
    }
    let one = FailoverArgs {
        name: None,
        selector: None,
        wait: false,
        ..args.clone()
    };
    let mut outcomes = Outcomes::default();
    let mut changed = Vec::new();
    for group in groups {
        let name = group.metadata.name;
        let result = run_one(store_url, &name, one.clone()).await;
        if result.is_ok() {
            changed.push(name.clone());
        }
        outcomes.record(&name, result);
    }
    if args.wait {
        let deadline = Instant::now() + Duration::from_secs(args.timeout);
        for name in changed {
            let generation = get_existing(store.as_ref(), &name)
                .await?
                .metadata
                .generation
                .unwrap_or(0);
            crate::outln!("waiting for failovergroup/{name}");
            let left = deadline.saturating_duration_since(Instant::now());
            outcomes.also(&name, wait(store.as_ref(), &name, generation, left).await);
        }
    }
    outcomes.into_result()
}

async fn run_one(store_url: &str, name: &str, args: FailoverArgs) -> CliResult<ExitStatus> {
    let store = open_store(store_url).await?;
    let to = args.to.clone();
    let allow = args.allow_data_loss;
    let note = |before: &FailoverGroup, after: &FailoverGroup| {
        let changes = user_changes(before, after);
        let message = format!(
            "failover to {to} requested by drctl failover{}: {}",
            if allow { " --allow-data-loss" } else { "" },
            changes.join("; ")
        );
        user_event(
            "FailoverRequested",
            message,
            Some(change_data(after, &changes)),
        )
    };
    let outcome = modify(
        store.as_ref(),
        name,
        |doc| {
            if !doc.spec.regions.contains(&to) {
                return Err(CliError::invalid(anyhow::anyhow!(
                    "--to: {to:?} is not one of spec.regions [{}] of failovergroup/{name}",
                    doc.spec.regions.join(", ")
                )));
            }
            doc.spec.writer = to.clone();
            doc.spec.dns_owner = Some(to.clone());
            if allow {
                doc.spec.allow_data_loss = true;
            }
            Ok(())
        },
        &note,
    )
    .await?;
    let generation = match outcome {
        Modified::Unchanged(doc) => {
            crate::outln!("failovergroup/{name} unchanged (writer and DNS owner already {to})");
            doc.metadata.generation.unwrap_or(0)
        }
        Modified::Updated { before, after } => {
            crate::outln!(
                "failovergroup/{name} configured: writer {} -> {to}, DNS owner {} -> {to}",
                before.spec.writer,
                before.spec.dns_owner()
            );
            after.metadata.generation.unwrap_or(0)
        }
    };
    if !args.wait {
        return Ok(ExitStatus::Success);
    }
    wait(
        store.as_ref(),
        name,
        generation,
        Duration::from_secs(args.timeout),
    )
    .await
}

/// Follow the group until the controller has converged on `generation` (exit 0), reports it
/// Blocked (exit 1, with its reason), or the timeout passes (exit 1). Prints each step
/// transition of the operation as it is seen, with the time elapsed since the request.
async fn wait(
    store: &dyn Store,
    name: &str,
    generation: u64,
    timeout: Duration,
) -> CliResult<ExitStatus> {
    let started = Instant::now();
    let mut seen: BTreeMap<(String, String), StepState> = BTreeMap::new();
    let mut last_phase: Option<Phase> = None;
    let mut pickup = Pickup::new(generation);
    loop {
        let doc = get_existing(store, name).await?;
        let elapsed = started.elapsed().as_secs_f64();
        let observed = doc.status.as_ref().map(|s| s.observed_generation);
        for notice in pickup.notices(observed, started.elapsed()) {
            crate::outln!("[{:>7}] {notice}", duration(elapsed));
        }
        // A status of an older generation describes the previous spec: its phase is not this
        // failover's progress.
        if pickup.picked_up {
            print_transitions(&doc, generation, elapsed, &mut seen, &mut last_phase);
        }
        if let Some(status) = &doc.status {
            let caught_up = status.observed_generation >= generation;
            let running = status
                .operation
                .as_ref()
                .is_some_and(|op| op.state == OperationState::Running);
            if caught_up && status.phase == Phase::Converged && !running {
                let op = status.last_operation.as_ref().or(status.operation.as_ref());
                let measures = op
                    .map(|op| {
                        let rto = op.rto_seconds.map(duration).unwrap_or_else(|| "-".into());
                        let rpo = op
                            .rpo_seconds
                            .map(|s| format!("{s:.1}s"))
                            .unwrap_or_else(|| "-".into());
                        format!(" (RTO {rto}, RPO {rpo})")
                    })
                    .unwrap_or_default();
                crate::outln!(
                    "[{:>7}] failovergroup/{name} converged: writer {}, DNS owner {}{measures}",
                    duration(elapsed),
                    doc.spec.writer,
                    doc.spec.dns_owner()
                );
                return Ok(ExitStatus::Success);
            }
            if caught_up && status.phase == Phase::Blocked {
                let why = status
                    .conditions
                    .iter()
                    .find(|c| c.type_ == condition_type::READY && c.status != ConditionStatus::True)
                    .or_else(|| {
                        status
                            .conditions
                            .iter()
                            .find(|c| c.status == ConditionStatus::False && !c.message.is_empty())
                    })
                    .map(|c| format!("{}: {}", c.reason, c.message))
                    .unwrap_or_else(|| "no reason recorded".to_string());
                return Err(CliError::failure(anyhow::anyhow!(
                    "failovergroup/{name} is Blocked: {why}"
                )));
            }
        }
        if started.elapsed() >= timeout {
            let unobserved = if pickup.picked_up {
                String::new()
            } else {
                format!(
                    "; no controller picked up generation {generation} (is `drctl controller` \
                     running against this store?)"
                )
            };
            return Err(CliError::failure(anyhow::anyhow!(
                "failovergroup/{name}: timed out after {}s waiting for the failover to converge{unobserved} \
                 (see `drctl describe {name}`; the operation goes on without this command)",
                timeout.as_secs()
            )));
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// After this long without the controller observing the new generation, --wait says that no
/// controller seems to be running (its passes list the store every 2 s).
const NO_CONTROLLER_AFTER: Duration = Duration::from_secs(30);

/// What --wait says until the controller has observed the generation it waits for, instead
/// of the previous generation's phase, which would read as this failover's progress.
#[derive(Debug)]
struct Pickup {
    generation: u64,
    picked_up: bool,
    announced: bool,
    warned: bool,
}

impl Pickup {
    fn new(generation: u64) -> Self {
        Pickup {
            generation,
            picked_up: false,
            announced: false,
            warned: false,
        }
    }

    /// The lines to print now, given the status's observedGeneration (None: no status yet)
    /// and the time since the request. Each notice is printed once.
    fn notices(&mut self, observed: Option<u64>, elapsed: Duration) -> Vec<String> {
        let generation = self.generation;
        if self.picked_up {
            return Vec::new();
        }
        if observed.is_some_and(|g| g >= generation) {
            self.picked_up = true;
            return if self.announced {
                vec![format!("the controller picked up generation {generation}")]
            } else {
                Vec::new()
            };
        }
        let mut lines = Vec::new();
        if !self.announced {
            self.announced = true;
            let status = match observed {
                Some(g) => format!("the status shown is of generation {g}"),
                None => "the group has no status yet".to_string(),
            };
            lines.push(format!(
                "waiting for the controller to pick up generation {generation} ({status})"
            ));
        }
        if !self.warned && elapsed >= NO_CONTROLLER_AFTER {
            self.warned = true;
            lines.push(format!(
                "no controller seems to be running: nothing has picked up generation \
                 {generation} in {}s. Start one with `drctl controller` against this store; \
                 still waiting",
                NO_CONTROLLER_AFTER.as_secs()
            ));
        }
        lines
    }
}

fn print_transitions(
    doc: &FailoverGroup,
    generation: u64,
    elapsed: f64,
    seen: &mut BTreeMap<(String, String), StepState>,
    last_phase: &mut Option<Phase>,
) {
    let Some(status) = &doc.status else {
        return;
    };
    let stamp = format!("[{:>7}]", duration(elapsed));
    if *last_phase != Some(status.phase) {
        crate::outln!("{stamp} phase {}", status.phase.as_str());
        *last_phase = Some(status.phase);
    }
    for op in [status.operation.as_ref(), status.last_operation.as_ref()]
        .into_iter()
        .flatten()
        // Operations planned for an older spec are history, not this failover.
        .filter(|op| op.generation >= generation)
    {
        for step in &op.steps {
            let key = (op.id.clone(), step.name.as_str().to_string());
            if step.state == StepState::Pending && !seen.contains_key(&key) {
                continue;
            }
            if seen.get(&key) != Some(&step.state) {
                let detail = step
                    .detail
                    .as_deref()
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default();
                crate::outln!(
                    "{stamp} {} {} {:?}{detail}",
                    op.type_.as_str(),
                    step.name,
                    step.state
                );
                seen.insert(key, step.state);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_says_the_new_generation_is_not_picked_up_instead_of_the_old_phase() {
        let mut pickup = Pickup::new(2);
        assert_eq!(
            pickup.notices(Some(1), Duration::from_secs(0)),
            vec!["waiting for the controller to pick up generation 2 (the status shown is of generation 1)"]
        );
        assert!(!pickup.picked_up);
        assert_eq!(
            pickup.notices(Some(1), Duration::from_secs(10)),
            Vec::<String>::new()
        );
    }

    #[test]
    fn wait_says_no_controller_seems_to_run_after_30s_once_and_keeps_waiting() {
        let mut pickup = Pickup::new(3);
        assert_eq!(pickup.notices(None, Duration::from_secs(1)).len(), 1);
        assert_eq!(
            pickup.notices(None, Duration::from_secs(29)),
            Vec::<String>::new()
        );
        let hint = pickup.notices(None, Duration::from_secs(30));
        assert_eq!(hint.len(), 1, "{hint:?}");
        assert!(
            hint[0].starts_with("no controller seems to be running")
                && hint[0].contains("generation 3")
                && hint[0].contains("`drctl controller`"),
            "{hint:?}"
        );
        assert_eq!(
            pickup.notices(None, Duration::from_secs(90)),
            Vec::<String>::new()
        );
        assert!(!pickup.picked_up);
    }

    #[test]
    fn wait_announces_the_pickup_and_then_stays_quiet() {
        let mut pickup = Pickup::new(2);
        pickup.notices(Some(1), Duration::from_secs(0));
        assert_eq!(
            pickup.notices(Some(2), Duration::from_secs(4)),
            vec!["the controller picked up generation 2"]
        );
        assert!(pickup.picked_up);
        assert_eq!(
            pickup.notices(Some(2), Duration::from_secs(40)),
            Vec::<String>::new()
        );
    }

    #[test]
    fn wait_is_silent_when_the_controller_already_observed_the_generation() {
        let mut pickup = Pickup::new(2);
        assert_eq!(
            pickup.notices(Some(2), Duration::from_secs(0)),
            Vec::<String>::new()
        );
        assert!(pickup.picked_up);
    }
}
