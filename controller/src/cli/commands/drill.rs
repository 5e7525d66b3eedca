//! `drctl drill -f DRILL.yaml [--json]`: a drill rehearsed in the simulated world and judged
//! (docs/design-contract.md §7.4; the format in docs/drills.md). Exit 0 passed, 1 failed,
//! 2 invalid drill.

use std::io::Read;
use std::path::Path;

use drctl_schema::FailoverGroup;

use super::common::{duration, open_store, store_error};
use super::report::{check_html_target, write_page};
use super::sim::{
    group_from_file, invariants_text, print_report, rpo_text, secs, simulate, steps_table,
};
use crate::cli::args::DrillArgs;
use crate::cli::exit::{CliError, CliResult, ExitStatus};
use crate::drill::spec::{Drill, MAX_DRILL_BYTES};
use crate::drill::{check, parse, run_drill, DrillError, DrillReport};
use crate::report::{from_run, Page};

pub async fn run(store_url: &str, args: DrillArgs) -> CliResult<ExitStatus> {
    if let Some(file) = &args.html {
        check_html_target(file)?;
    }
    let text = read_drill(&args.file)?;
    let drill = parse(&text, &args.file).map_err(drill_error)?;
    let group = drill_group(store_url, &drill, &args.file).await?;
    let plan = check(&drill, &group, &args.file).map_err(drill_error)?;
    let report = simulate(move || async move { run_drill(&plan, &group).await }).await?;
    print_report(&report, args.json, render)?;
    if let Some(file) = &args.html {
        write_page(file, &page(&report))?;
    }
    Ok(if report.passed() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

/// A drill that cannot be rehearsed as written is invalid input (exit 2); a rehearsal that
/// fails on the way is a failure (exit 1, from `simulate`).
fn drill_error(err: DrillError) -> CliError {
    CliError::invalid(anyhow::Error::new(err))
}

/// The drill file's text, at most `MAX_DRILL_BYTES` (exit 2 naming the file otherwise).
fn read_drill(file: &str) -> CliResult<String> {
    let cannot = |e: std::io::Error| CliError::invalid(anyhow::anyhow!("cannot read {file}: {e}"));
    let handle = std::fs::File::open(file).map_err(cannot)?;
    let mut text = String::new();
    handle
        .take(MAX_DRILL_BYTES as u64 + 1)
        .read_to_string(&mut text)
        .map_err(cannot)?;
    if text.len() > MAX_DRILL_BYTES {
        return Err(CliError::invalid(anyhow::anyhow!(
            "{file}: the drill is larger than {MAX_DRILL_BYTES} bytes"
        )));
    }
    Ok(text)
}

/// `spec.group`: a file relative to the drill's, or a group of the store (exit 2, naming the
/// field, when it is missing or invalid).
async fn drill_group(store_url: &str, drill: &Drill, source: &str) -> CliResult<FailoverGroup> {
    let refer = &drill.spec.group;
    match (&refer.file, &refer.name) {
        (Some(file), None) => {
            let base = Path::new(source).parent().unwrap_or(Path::new(""));
            let path = base.join(file).display().to_string();
            group_from_file(&path)
                .map_err(|e| CliError::invalid(anyhow::anyhow!("{source}: spec.group.file: {e}")))
        }
        (None, Some(name)) => {
            let store = open_store(store_url).await?;
            match store.get(name).await.map_err(store_error)? {
                Some(group) => Ok(group),
                None => Err(CliError::invalid(anyhow::anyhow!(
                    "{source}: spec.group.name: no failovergroup/{name} in the store {store_url}"
                ))),
            }
        }
        _ => Err(CliError::invalid(anyhow::anyhow!(
            "{source}: spec.group: give exactly one of file (relative to the drill) or name \
             (a group of the store)"
        ))),
    }
}

/// The report for a person: steps, figures, judgement, verdict.
pub fn render(report: &DrillReport) -> String {
    let mut out = format!(
        "drill {} on failovergroup/{} (seed {}), {} of virtual time\n\n",
        report.drill,
        report.group,
        report.seed,
        duration(report.virtual_seconds)
    );
    for entry in &report.timeline {
        out.push_str(&format!("[{:>7.1}s] {}\n", entry.at_seconds, entry.what));
    }
    out.push('\n');
    if !report.steps.is_empty() {
        out.push_str(&steps_table(&report.steps));
    }
    out.push_str(&format!(
        "RTO (incident -> serving): {}\nRPO recorded: {}\nwrites lost (measured): {}\n",
        secs(report.rto_seconds),
        report
            .rpo_seconds
            .map(|v| format!("{v:.2} s"))
            .unwrap_or_else(|| "-".to_string()),
        report.lost_writes
    ));
    out.push_str(&verdict(report));
    out
}

/// The drill's page: its verdict and figures, then each operation it ran.
fn page(report: &DrillReport) -> Page {
    let verdict = if report.passed() { "PASSED" } else { "FAILED" };
    let mut summary = vec![
        ("verdict".to_string(), verdict.to_string()),
        (
            "RTO (incident -> serving)".to_string(),
            secs(report.rto_seconds),
        ),
        ("RPO".to_string(), rpo_text(report.rpo_seconds)),
        (
            "objectives".to_string(),
            report
                .objectives
                .as_ref()
                .map_or_else(|| "none given".to_string(), |j| j.summary()),
        ),
        (
            "expect".to_string(),
            if report.expect_met {
                "met".to_string()
            } else {
                format!("NOT MET: {}", report.expect_failures.join("; "))
            },
        ),
        (
            "invariants".to_string(),
            invariants_text(&report.invariant_violations),
        ),
        (
            "writes lost (measured)".to_string(),
            report.lost_writes.to_string(),
        ),
    ];
    summary.push(("virtual time".to_string(), duration(report.virtual_seconds)));
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
            "drill {} on failovergroup/{} (seed {})",
            report.drill, report.group, report.seed
        ),
        summary,
        operations,
    }
}

fn verdict(report: &DrillReport) -> String {
    let mut out = String::new();
    match &report.objectives {
        Some(j) => out.push_str(&format!("objectives: {}\n", j.summary())),
        None => out.push_str("objectives: none given\n"),
    }
    if report.expect_met {
        out.push_str("expect: met\n");
    } else {
        out.push_str("expect: NOT MET\n");
        for f in &report.expect_failures {
            out.push_str(&format!("  {f}\n"));
        }
    }
    if report.invariant_violations.is_empty() {
        out.push_str("invariants (docs/design-contract.md §5): no violation\n");
    } else {
        out.push_str("INVARIANT VIOLATIONS:\n");
        for v in &report.invariant_violations {
            out.push_str(&format!("  {v}\n"));
        }
    }
    out.push_str(if report.passed() {
        "drill PASSED\n"
    } else {
        "drill FAILED\n"
    });
    out
}
