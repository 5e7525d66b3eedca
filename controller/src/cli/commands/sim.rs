//! `drctl sim --scenario NAME [--seed N] [--json] [--baseline sequential]`: a scenario in the
//! simulated world, in virtual time, with RTO, RPO, API calls, the timeline and the
//! invariant check.

use drctl_schema::FailoverGroup;

use super::common::{duration, open_store, store_error, table};
use super::input::read_all;
use super::report::{check_html_target, write_page};
use crate::cli::args::{Baseline, SimArgs};
use crate::cli::exit::{CliError, CliResult, ExitStatus};
use crate::drill::campaign::CampaignReport;
use crate::report::{from_run, Page};
use crate::simulation::fleet::{run_fleet_outage, FleetOptions, FleetReport, FLEET_OUTAGE};
use crate::simulation::{
    example_group, run_in_virtual_time, run_scenario, Scenario, ScenarioOptions, ScenarioReport,
    Strategy,
};

/// Run a simulation on a paused runtime of its own, off the CLI's runtime.
pub(super) async fn simulate<T, F, Fut>(make: F) -> CliResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<T, crate::simulation::SimulationError>>,
{
    tokio::task::spawn_blocking(move || run_in_virtual_time(make))
        .await
        .map_err(|e| CliError::failure(anyhow::anyhow!("simulation task: {e}")))?
        .map_err(|e| CliError::failure(anyhow::Error::new(e)))?
        .map_err(|e| CliError::failure(anyhow::Error::new(e)))
}

/// The report as JSON, or rendered for a person.
pub(super) fn print_report<R: serde::Serialize>(
    report: &R,
    json: bool,
    render: impl Fn(&R) -> String,
) -> CliResult<()> {
    if json {
        let text = serde_json::to_string_pretty(report)
            .map_err(|e| CliError::failure(anyhow::Error::new(e)))?;
        crate::outln!("{text}");
    } else {
        crate::out!("{}", render(report));
    }
    Ok(())
}

/// `drctl sim --scenario fleet-outage --groups N`.
async fn run_fleet(args: SimArgs) -> CliResult<ExitStatus> {
    let options = FleetOptions {
        seed: args.seed,
        groups: args.groups as usize,
        concurrency: None,
        narrator: None,
    };
    let report = simulate(move || async move { run_fleet_outage(options).await }).await?;
    print_report(&report, args.json, render_fleet)?;
    let ok = report.invariant_violations.is_empty() && report.groups_recovered == report.groups;
    Ok(if ok {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

fn render_fleet(report: &FleetReport) -> String {
    let mut out = format!(
        "scenario fleet-outage (seed {}), {} groups, {} of virtual time\n\n",
        report.seed,
        report.groups,
        duration(report.virtual_seconds)
    );
    out.push_str(&format!(
        "initial convergence: {}\nRTO of the last group (incident -> serving): {}\nRTO p50: {}\n\
         groups serving again: {} of {}\nthrottled calls: {}\nwrites lost (measured): {}\n",
        duration(report.initial_convergence_seconds),
        secs(report.rto_seconds),
        secs(report.rto_seconds_p50),
        report.groups_recovered,
        report.groups,
        report.throttled_calls,
        report.lost_writes
    ));
    let c = &report.converged_pass_calls;
    let g = &report.converged_pass_calls_per_group;
    out.push_str(&format!(
        "one steady pass over the fleet: {} mutating, {} read calls ({:.3} / {:.3} per group)\n\n",
        c.mutating, c.read, g.mutating, g.read
    ));
    let steps: Vec<Vec<String>> = report
        .steps
        .iter()
        .map(|s| {
            vec![
                s.name.clone(),
                format!("{:.1}", s.ended_p50_seconds),
                format!("{:.1}", s.ended_max_seconds),
            ]
        })
        .collect();
    out.push_str(&table(&["STEP", "ENDED-P50(s)", "ENDED-LAST(s)"], &steps));
    out.push_str("\n\n");
    let calls: Vec<Vec<String>> = report
        .api_calls
        .iter()
        .map(|(svc, c)| vec![svc.clone(), c.mutating.to_string(), c.read.to_string()])
        .collect();
    out.push_str(&table(&["SERVICE", "MUTATING", "READ"], &calls));
    if !out.ends_with('\n') {
        out.push('\n');
    }
    if report.invariant_violations.is_empty() {
        out.push_str("invariants (docs/design-contract.md §5): no violation\n");
    } else {
        out.push_str("INVARIANT VIOLATIONS:\n");
        for v in &report.invariant_violations {
            out.push_str(&format!("  {v}\n"));
        }
    }
    out
}

/// The group `-f FILE` or `--group NAME` names (None: the shipped example). A file that
/// cannot be read or holds anything but one valid group, or a name the store does not hold,
/// is invalid input (exit 2), named.
async fn rehearsed_group(store_url: &str, args: &SimArgs) -> CliResult<Option<FailoverGroup>> {
    if let Some(file) = &args.file {
        return group_from_file(file).map(Some);
    }
    let Some(name) = &args.group else {
        return Ok(None);
    };
    let store = open_store(store_url).await?;
    match store.get(name).await.map_err(store_error)? {
        Some(group) => Ok(Some(group)),
        None => Err(CliError::invalid(anyhow::anyhow!(
            "--group: no failovergroup/{name} in the store {store_url}"
        ))),
    }
}

/// The one FailoverGroup of `file`, parsed and validated as `apply -f` does.
pub fn group_from_file(file: &str) -> CliResult<FailoverGroup> {
    let mut docs = read_all(&[file.to_string()], false)?;
    if docs.len() != 1 {
        return Err(CliError::invalid(anyhow::anyhow!(
            "{file}: holds {} documents; a rehearsal needs exactly one FailoverGroup",
            docs.len()
        )));
    }
    Ok(docs.remove(0).doc)
}

/// `drctl sim --campaign N`: exit 1 when any schedule failed.
async fn run_campaign(
    group: Option<FailoverGroup>,
    args: &SimArgs,
    runs: u32,
) -> CliResult<ExitStatus> {
    let group = match group {
        Some(group) => group,
        None => example_group().map_err(|e| CliError::failure(anyhow::Error::new(e)))?,
    };
    let seed = args.seed;
    // One slice of the runs per core: the report is the same bytes whatever the count.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let report = tokio::task::spawn_blocking(move || {
        crate::drill::campaign::run_campaign_on_threads(&group, runs, seed, threads)
    })
    .await
    .map_err(|e| CliError::failure(anyhow::anyhow!("simulation task: {e}")))?
    .map_err(|e| CliError::failure(anyhow::Error::new(e)))?;
    let rehearsed = rehearsed_flags(args);
    print_report(&report, args.json, |r| render_campaign(r, &rehearsed))?;
    Ok(if report.failures.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

/// The flags that name the campaign's group (` -f FILE`, ` --group NAME`, or nothing for
/// the shipped example), for the replay command of a failure.
fn rehearsed_flags(args: &SimArgs) -> String {
    match (&args.file, &args.group) {
        (Some(file), _) => format!(" -f {}", shell_word(file)),
        (None, Some(name)) => format!(" --group {}", shell_word(name)),
        (None, None) => String::new(),
    }
}

/// `word` as one shell word: as it is when it is plain, else single-quoted.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+=:,@".contains(&b));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// The campaign for a person; `rehearsed` are the flags that name its group (replayed with
/// each failure's seed).
fn render_campaign(report: &CampaignReport, rehearsed: &str) -> String {
    let ops: Vec<String> = report
        .operations
        .iter()
        .map(|(op, n)| format!("{op} {n}"))
        .collect();
    let mut out = format!(
        "campaign (seed {}): {} runs ({}; {} with spec.autoFailover armed), {} faults, {}\n",
        report.seed,
        report.runs,
        ops.join(", "),
        report.auto_failover_runs,
        report.faults,
        report.timings
    );
    if report.failures.is_empty() {
        out.push_str("failures: none (every run kept the invariants and converged)\n");
    }
    for f in &report.failures {
        out.push_str(&format!(
            "\nFAILED seed {} (replay: drctl sim --campaign 1 --seed {}{rehearsed}), shrunk from {} to {} faults:\n",
            f.seed,
            f.seed,
            f.faults_drawn,
            f.schedule.faults.len()
        ));
        let schedule = serde_json::to_string(&f.schedule).unwrap_or_default();
        out.push_str(&format!("  schedule: {schedule}\n"));
        for v in &f.violations {
            out.push_str(&format!("  {v}\n"));
        }
    }
    out
}

pub async fn run(store_url: &str, args: SimArgs) -> CliResult<ExitStatus> {
    if let Some(file) = &args.html {
        check_html_target(file)?;
    }
    let group = rehearsed_group(store_url, &args).await?;
    if let Some(runs) = args.campaign {
        return run_campaign(group, &args, runs).await;
    }
    let scenario_name = args.scenario.clone().unwrap_or_default();
    if scenario_name == FLEET_OUTAGE {
        if args.html.is_some() {
            return Err(CliError::invalid(anyhow::anyhow!(
                "--html: the page is of one group's operations; --scenario fleet-outage \
                 rehearses a fleet"
            )));
        }
        if group.is_some() {
            return Err(CliError::invalid(anyhow::anyhow!(
                "--scenario fleet-outage builds its own fleet of groups (--groups N); \
                 -f and --group are for the single-group scenarios"
            )));
        }
        return run_fleet(args).await;
    }
    let Some(scenario) = Scenario::parse(&scenario_name) else {
        let mut known: Vec<&str> = Scenario::ALL.iter().map(|s| s.name()).collect();
        known.push(FLEET_OUTAGE);
        return Err(CliError::invalid(anyhow::anyhow!(
            "--scenario: unknown scenario {:?}; known: {}",
            scenario_name,
            known.join(", ")
        )));
    };
    let seed = args.seed;
    let baseline = args.baseline;
    let report = simulate(move || async move {
        let mut options = ScenarioOptions::new(seed);
        options.group = group.clone();
        let mut report = run_scenario(scenario, options).await?;
        if baseline == Some(Baseline::Sequential) {
            let mut options = ScenarioOptions::new(seed);
            options.group = group;
            options.strategy = Strategy::Sequential;
            let sequential = run_scenario(scenario, options).await?;
            report.baseline = Some(Box::new(sequential));
        }
        Ok(report)
    })
    .await?;
    print_report(&report, args.json, render)?;
    if let Some(file) = &args.html {
        write_page(file, &page(&report))?;
    }
    if report.invariant_violations.is_empty()
        && report
            .baseline
            .as_ref()
            .map(|b| b.invariant_violations.is_empty())
            .unwrap_or(true)
    {
        Ok(ExitStatus::Success)
    } else {
        Ok(ExitStatus::Failure)
    }
}

/// The run's page: its figures, then each operation drctl ran (the sequential baseline ran
/// none: it is the runbook, without drctl).
fn page(report: &ScenarioReport) -> Page {
    let mut summary = vec![
        (
            "RTO (incident -> serving)".to_string(),
            secs(report.rto_seconds),
        ),
        (
            "recovery (decision -> serving)".to_string(),
            secs(report.recovery_seconds),
        ),
        ("RPO recorded".to_string(), rpo_text(report.rpo_seconds)),
        (
            "writes lost (measured)".to_string(),
            report.lost_writes.to_string(),
        ),
    ];
    if let Some(j) = &report.objectives {
        summary.push(("objectives".to_string(), j.summary()));
    }
    summary.push((
        "invariants".to_string(),
        invariants_text(&report.invariant_violations),
    ));
    let operations = report
        .record
        .as_ref()
        .map(|record| {
            from_run(
                &report.group,
                report.objectives.as_ref().map(|j| j.objectives),
                record,
                &report.decisions,
            )
        })
        .unwrap_or_default();
    Page {
        title: format!(
            "scenario {} on failovergroup/{} (seed {})",
            report.scenario.name(),
            report.group,
            report.seed
        ),
        summary,
        operations,
    }
}

/// An RPO figure for a person: `0.50 s`, or `-` when none was produced.
pub(super) fn rpo_text(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.2} s"))
        .unwrap_or_else(|| "-".to_string())
}

/// The §5 checker's verdict in one line.
pub(super) fn invariants_text(violations: &[String]) -> String {
    if violations.is_empty() {
        "no violation (docs/design-contract.md §5)".to_string()
    } else {
        format!("VIOLATED: {}", violations.join("; "))
    }
}

pub(super) fn secs(v: Option<f64>) -> String {
    v.map(duration).unwrap_or_else(|| "-".to_string())
}

/// The steps of a rehearsal (`drctl sim`, `drctl drill`) as a table, ending in a blank line.
pub(super) fn steps_table(steps: &[crate::simulation::StepTiming]) -> String {
    let rows: Vec<Vec<String>> = steps
        .iter()
        .map(|s| {
            vec![
                s.operation.clone(),
                s.name.clone(),
                s.state.clone(),
                s.start_seconds
                    .map(|v| format!("{v:.1}"))
                    .unwrap_or_default(),
                s.end_seconds.map(|v| format!("{v:.1}")).unwrap_or_default(),
                secs(s.duration_seconds),
            ]
        })
        .collect();
    let mut out = table(
        &[
            "OPERATION",
            "STEP",
            "STATE",
            "START(s)",
            "END(s)",
            "DURATION",
        ],
        &rows,
    );
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out.push('\n');
    out
}

/// The human report: steps, figures, API calls, invariants.
pub fn render(report: &ScenarioReport) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "scenario {} on failovergroup/{} (seed {}), {} of virtual time\n\n",
        report.scenario.name(),
        report.group,
        report.seed,
        duration(report.virtual_seconds)
    ));
    out.push_str(&steps_table(&report.steps));
    out.push_str(&format!(
        "RTO (incident -> serving): {}\nrecovery (decision -> serving): {}\ncritical path: {}\nRPO recorded: {}\nwrites lost (measured): {}\n",
        secs(report.rto_seconds),
        secs(report.recovery_seconds),
        secs(report.critical_path_seconds),
        report
            .rpo_seconds
            .map(|v| format!("{v:.2} s"))
            .unwrap_or_else(|| "-".to_string()),
        report.lost_writes
    ));
    if let Some(window) = report.dns_to_unwritable_seconds {
        out.push_str(&format!(
            "DNS to a region that could not take writes (routing healthCheck, Route 53's doing): {window:.0} s\n"
        ));
    }
    if let Some(j) = &report.objectives {
        out.push_str(&format!("objectives: {}\n", j.summary()));
    }
    out.push_str(&format!(
        "final phase: {}\n",
        report.final_phase.map_or("-", |p| p.as_str())
    ));
    for d in &report.decisions {
        out.push_str(&format!(
            "decision at {:.1} s by {}: {} ({})\n",
            d.at_seconds, d.by, d.type_, d.reason
        ));
    }
    let calls: Vec<Vec<String>> = report
        .api_calls
        .iter()
        .map(|(svc, c)| vec![svc.clone(), c.mutating.to_string(), c.read.to_string()])
        .collect();
    out.push('\n');
    out.push_str(&table(&["SERVICE", "MUTATING", "READ"], &calls));
    if !out.ends_with('\n') {
        out.push('\n');
    }
    if let Some(c) = &report.converged_pass_calls {
        out.push_str(&format!(
            "one steady-state pass: {} mutating, {} read calls\n",
            c.mutating, c.read
        ));
    }
    if !report.invariants_unchecked.is_empty() {
        out.push_str(&format!(
            "invariants not checkable here: {}\n",
            report.invariants_unchecked.join("; ")
        ));
    }
    if report.invariant_violations.is_empty() {
        out.push_str("invariants (docs/design-contract.md §5): no violation\n");
    } else {
        out.push_str("INVARIANT VIOLATIONS:\n");
        for v in &report.invariant_violations {
            out.push_str(&format!("  {v}\n"));
        }
    }
    if let Some(b) = &report.baseline {
        out.push_str(&format!(
            "\nbaseline (sequential runbook): recovery {}, RTO {}\n",
            secs(b.recovery_seconds),
            secs(b.rto_seconds)
        ));
        if let (Some(a), Some(z)) = (report.recovery_seconds, b.recovery_seconds) {
            if z > 0.0 {
                out.push_str(&format!("drctl / sequential recovery time: {:.2}\n", a / z));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drill::campaign::{CampaignFailure, CampaignOperation, Schedule};
    use clap::Parser;

    fn failed_campaign() -> CampaignReport {
        CampaignReport {
            seed: 40,
            runs: 3,
            failures: vec![CampaignFailure {
                seed: 41,
                schedule: Schedule {
                    operation: CampaignOperation::Switchover,
                    faults: Vec::new(),
                    actions: Vec::new(),
                    writer: Some("us-west-2".into()),
                    auto_failover: None,
                },
                violations: vec!["invariant 4".into()],
                faults_drawn: 2,
            }],
            operations: Default::default(),
            faults: 2,
            timings: "compressed".into(),
            auto_failover_runs: 0,
        }
    }

    fn args(line: &[&str]) -> SimArgs {
        let mut all = vec!["drctl", "sim", "--campaign", "3"];
        all.extend_from_slice(line);
        match crate::cli::Cli::parse_from(all).command {
            crate::cli::args::Command::Sim(args) => args,
            other => panic!("not sim: {other:?}"),
        }
    }

    #[test]
    fn a_campaign_failures_replay_names_the_group_it_rehearsed() {
        let report = failed_campaign();
        let from_file = render_campaign(
            &report,
            &rehearsed_flags(&args(&["-f", "groups/shop.yaml"])),
        );
        assert!(
            from_file.contains("(replay: drctl sim --campaign 1 --seed 41 -f groups/shop.yaml)"),
            "{from_file}"
        );
        let stored = render_campaign(&report, &rehearsed_flags(&args(&["--group", "shop"])));
        assert!(stored.contains("--seed 41 --group shop)"), "{stored}");
        let example = render_campaign(&report, &rehearsed_flags(&args(&[])));
        assert!(example.contains("--seed 41)"), "{example}");
        assert_eq!(shell_word("my group's.yaml"), r"'my group'\''s.yaml'");
    }
}
