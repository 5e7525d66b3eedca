//! docs/runbook.md is executable: every command in its ```sh blocks runs, top to bottom,
//! against a rehearsal file store and the simulated cloud, and must exit as the runbook says
//! (0 unless the line ends with `# exit N`). Lines ending with `# aws-only: why` need the real
//! account: they are skipped, and listed as skipped. Anything else in a sh block (a command
//! the test cannot run, or one that would reach AWS unmarked) fails the test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod ship_support;

use drctl_schema::{condition_type as ct, Phase};
use ship_support::*;

#[derive(Debug, Clone, PartialEq)]
enum Line {
    /// A drctl command and the exit status the runbook expects.
    Run {
        args: Vec<String>,
        expect: i32,
        text: String,
    },
    /// Needs the real AWS account; the reason given.
    AwsOnly { text: String },
    /// Something the test cannot run: an error.
    Unrunnable { text: String, why: String },
}

/// The commands of the ```sh blocks of a Markdown document, in order.
fn runbook_lines(markdown: &str) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut in_sh = false;
    let mut in_other = false;
    for raw in markdown.lines() {
        let trimmed = raw.trim();
        if let Some(info) = trimmed.strip_prefix("```") {
            if in_sh || in_other {
                in_sh = false;
                in_other = false;
            } else if info.split_whitespace().next() == Some("sh") {
                in_sh = true;
            } else {
                in_other = true;
            }
            continue;
        }
        if !in_sh || trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        lines.push(classify(trimmed));
    }
    lines
}

fn classify(line: &str) -> Line {
    let (command, comment) = match line.find("  #") {
        Some(i) => (line[..i].trim(), line[i + 3..].trim()),
        None => (line, ""),
    };
    let text = line.to_string();
    if comment.starts_with("aws-only") {
        if !comment.starts_with("aws-only:") || comment.len() <= "aws-only:".len() + 1 {
            return Line::Unrunnable {
                text,
                why: "an aws-only marker must say why: `# aws-only: <reason>`".into(),
            };
        }
        return Line::AwsOnly { text };
    }
    let expect = match comment.strip_prefix("exit ") {
        Some(rest) => match rest
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
        {
            Ok(code) => code,
            Err(_) => {
                return Line::Unrunnable {
                    text,
                    why: "`# exit N` needs a number".into(),
                }
            }
        },
        None => 0,
    };
    let words: Vec<String> = command.split_whitespace().map(str::to_string).collect();
    if words.first().map(String::as_str) != Some("drctl") {
        return Line::Unrunnable {
            text,
            why: "only drctl commands run here; mark others `# aws-only: <reason>`".into(),
        };
    }
    if command.contains(['|', '>', '<', '$', '"', '\'', '`', ';', '&']) {
        return Line::Unrunnable {
            text,
            why: "shell syntax: the test runs plain drctl commands only".into(),
        };
    }
    let args: Vec<String> = words[1..].to_vec();
    if let Some(why) = reaches_aws(&args) {
        return Line::Unrunnable { text, why };
    }
    Line::Run { args, expect, text }
}

/// Why a command would talk to real AWS, if it would.
fn reaches_aws(args: &[String]) -> Option<String> {
    let has = |flag: &str, value: &str| args.windows(2).any(|w| w[0] == flag && w[1] == value);
    if args.iter().any(|a| a.contains("dynamodb://")) || args.iter().any(|a| a == "--store") {
        return Some(
            "the runbook's runnable commands use the rehearsal store (DRCTL_STORE)".into(),
        );
    }
    if has("--cloud", "aws") {
        return Some("--cloud aws reaches AWS: mark it `# aws-only: <reason>`".into());
    }
    let sub = args.first().map(String::as_str);
    if matches!(sub, Some("plan" | "controller")) && !has("--cloud", "sim") {
        return Some(format!(
            "`drctl {}` defaults to --cloud aws: add --cloud sim or mark it aws-only",
            sub.unwrap_or_default()
        ));
    }
    if sub == Some("failover") && args.iter().any(|a| a == "--wait") {
        return Some("--wait follows a running controller: mark it aws-only".into());
    }
    None
}

#[test]
fn every_runbook_command_runs_against_the_sim_and_the_embedded_store_as_documented() {
    let lines = runbook_lines(&read_repo_file("docs/runbook.md"));
    let unrunnable: Vec<String> = lines
        .iter()
        .filter_map(|l| match l {
            Line::Unrunnable { text, why } => Some(format!("{text}\n    -> {why}")),
            _ => None,
        })
        .collect();
    assert!(
        unrunnable.is_empty(),
        "runbook lines the test cannot run:\n{}",
        unrunnable.join("\n")
    );

    let dir = tempfile::tempdir().unwrap();
    let store = format!("file://{}", dir.path().join("rehearsal").display());
    // An editor that changes nothing: `drctl edit` then reports that no change was made.
    let drctl = Drctl::new(&store)
        .unwrap()
        .current_dir(repo_root())
        .env("EDITOR", "true");

    let mut failures = Vec::new();
    let mut ran = 0;
    for line in &lines {
        match line {
            Line::AwsOnly { text } => eprintln!("SKIPPED (needs real AWS): {text}"),
            Line::Run { args, expect, text } => {
                let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                let run = drctl.run(&refs);
                ran += 1;
                eprintln!("ran (exit {}, expected {expect}): {text}", run.code);
                if run.code != *expect {
                    failures.push(format!(
                        "`{text}` exited {}, the runbook says {expect}\n{}",
                        run.code,
                        tail(&run.to_string(), 1500)
                    ));
                }
            }
            Line::Unrunnable { .. } => unreachable!(),
        }
    }
    assert!(ran >= 20, "only {ran} runbook commands ran");
    assert!(
        failures.is_empty(),
        "{} of {ran} runbook commands did not behave as documented:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

fn tail(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("...{}", &text[start..])
}

#[test]
fn the_runbook_covers_every_operation_a_bad_day_needs() {
    let lines = runbook_lines(&read_repo_file("docs/runbook.md"));
    let subcommands: Vec<String> = lines
        .iter()
        .filter_map(|l| match l {
            Line::Run { args, .. } => args.first().cloned(),
            _ => None,
        })
        .collect();
    for needed in [
        "failover",
        "approve",
        "suspend",
        "resume",
        "describe",
        "history",
        "get",
        "sim",
        "demo",
        "controller",
        "plan",
        "diff",
        "apply",
        "edit",
        "iam-policy",
        "completion",
        "delete",
        "init",
    ] {
        assert!(
            subcommands.iter().any(|s| s == needed),
            "the runbook never runs `drctl {needed}`"
        );
    }
    let runs = |pattern: &[&str]| {
        lines.iter().any(|l| match l {
            Line::Run { args, .. } => pattern.iter().all(|p| args.iter().any(|a| a == p)),
            _ => false,
        })
    };
    // Both failback cases and the outages are rehearsed.
    for scenario in [
        "planned-switchover",
        "region-outage-failover",
        "region-outage-dns-down",
        "failback-rejoined",
        "failback-stale",
    ] {
        assert!(
            runs(&["sim", scenario]),
            "the runbook does not rehearse {scenario}"
        );
    }
    assert!(
        runs(&["failover", "--allow-data-loss"]),
        "no unplanned failover"
    );
    assert!(
        runs(&["--baseline", "sequential"]),
        "no comparison with the sequential runbook"
    );
}

#[test]
fn the_runbook_explains_every_phase_and_condition() {
    let doc = read_repo_file("docs/runbook.md");
    let table_rows: Vec<&str> = doc.lines().filter(|l| l.starts_with("| `")).collect();
    let explained = |name: &str| {
        table_rows
            .iter()
            .any(|row| row.starts_with(&format!("| `{name}` |")))
    };
    for phase in [
        Phase::Converged,
        Phase::Progressing,
        Phase::WaitingForApproval,
        Phase::Blocked,
        Phase::Suspended,
        Phase::Degraded,
    ] {
        assert!(
            explained(phase.as_str()),
            "phase {} has no row",
            phase.as_str()
        );
    }
    for condition in [
        ct::READY,
        ct::DATABASE_READY,
        ct::DNS_READY,
        ct::COMPUTE_READY,
        ct::WRITER_DRIFT,
        ct::APPROVAL_REQUIRED,
    ] {
        assert!(explained(condition), "condition {condition} has no row");
    }
}

#[test]
fn the_runbook_parser_refuses_what_it_cannot_run_safely() {
    // The guard rails above are what keep this test from touching AWS: check them.
    assert!(matches!(
        classify("drctl plan myapp-prod"),
        Line::Unrunnable { .. }
    ));
    assert!(matches!(
        classify("drctl controller --once"),
        Line::Unrunnable { .. }
    ));
    assert!(matches!(
        classify("drctl get --store dynamodb://drctl"),
        Line::Unrunnable { .. }
    ));
    assert!(matches!(
        classify("aws rds describe-global-clusters"),
        Line::Unrunnable { .. }
    ));
    assert!(matches!(
        classify("drctl plan x  # aws-only"),
        Line::Unrunnable { .. }
    ));
    assert_eq!(
        classify("drctl plan x  # aws-only: live account"),
        Line::AwsOnly {
            text: "drctl plan x  # aws-only: live account".into()
        }
    );
    assert!(matches!(
        classify("drctl approve x  # exit 1: nothing waits"),
        Line::Run { expect: 1, .. }
    ));
    assert!(matches!(
        classify("drctl get | head"),
        Line::Unrunnable { .. }
    ));
}
