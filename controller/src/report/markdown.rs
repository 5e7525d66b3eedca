//! `drctl report -o md`: the same report as Markdown, for a ticket or a post-incident review.

use std::fmt::Write as _;

use super::model::{MutationOutcome, OperationReport};
use super::{maybe_seconds, seconds};

/// Text safe in a Markdown table cell: no column break, no line break, no raw HTML.
pub fn cell(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace(['\n', '\r'], " ")
}

pub fn render(r: &OperationReport) -> String {
    let mut out = format!(
        "# failovergroup/{}: {} {} -> {}\n\n",
        cell(&r.group),
        r.operation_type,
        cell(&r.from),
        cell(&r.to)
    );
    let _ = writeln!(
        out,
        "- operation: `{}` ({})",
        cell(&r.operation_id),
        r.state
    );
    let _ = writeln!(out, "- started: {}", r.started_at);
    match (r.finished_at, r.duration_seconds) {
        (Some(f), Some(d)) => {
            let _ = writeln!(out, "- finished: {f} ({})", seconds(d));
        }
        _ => out.push_str("- finished: not yet\n"),
    }
    out.push_str(&figures(r));
    out.push_str("\n## Steps\n\n| step | state | start | end | duration | critical | detail |\n");
    out.push_str("| --- | --- | ---: | ---: | ---: | --- | --- |\n");
    for s in &r.steps {
        let offset = |v: Option<f64>| v.map(|v| format!("+{}", seconds(v))).unwrap_or_default();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            cell(&s.name),
            s.state,
            offset(s.start_seconds),
            offset(s.end_seconds),
            maybe_seconds(s.duration_seconds),
            if s.critical { "yes" } else { "" },
            cell(s.detail.as_deref().unwrap_or(""))
        );
    }
    if !r.critical_path.is_empty() {
        let _ = writeln!(out, "\nCritical path: {}", r.critical_path.join(" -> "));
    }
    out.push_str(&mutations(r));
    out.push_str(&decisions(r));
    out
}

fn figures(r: &OperationReport) -> String {
    let mut out = String::from("\n## Objectives\n\n| figure | measured | objective | verdict |\n");
    out.push_str("| --- | ---: | ---: | --- |\n");
    for (label, name, value) in [
        ("RTO", "rto_seconds", r.rto_seconds),
        ("RPO", "rpo_seconds", r.rpo_seconds),
    ] {
        let (objective, verdict) = match r.objectives.iter().find(|o| o.objective == name) {
            Some(o) => (format!("{} s", o.objective_seconds), o.verdict.as_str()),
            None => ("-".to_string(), "no objective"),
        };
        let _ = writeln!(
            out,
            "| {label} | {} | {objective} | {verdict} |",
            maybe_seconds(value)
        );
    }
    out
}

fn mutations(r: &OperationReport) -> String {
    let mut out = format!("\n## AWS mutations ({})\n\n", r.mutations.len());
    if r.mutations.is_empty() {
        out.push_str("None journaled for this operation.\n");
        return out;
    }
    out.push_str("| at | step | API call | region | outcome | what |\n");
    out.push_str("| ---: | --- | --- | --- | --- | --- |\n");
    for m in &r.mutations {
        let _ = writeln!(
            out,
            "| +{} | {} | {} | {} | {} | {} |",
            seconds(m.at_seconds),
            cell(m.step.as_deref().unwrap_or("-")),
            cell(&m.api_operation),
            cell(m.region.as_deref().unwrap_or("-")),
            match m.outcome {
                MutationOutcome::Applied => "applied",
                MutationOutcome::Failed => "FAILED",
            },
            cell(&m.message)
        );
    }
    out
}

fn decisions(r: &OperationReport) -> String {
    let mut out = String::from("\n## Who decided\n\n");
    if r.decisions.is_empty() {
        out.push_str("No edit, approval or decision journaled for this operation.\n");
        return out;
    }
    out.push_str("| at | by | who | what | why |\n| ---: | --- | --- | --- | --- |\n");
    for d in &r.decisions {
        let _ = writeln!(
            out,
            "| {}{} | {} | {} | {} | {} |",
            if d.at_seconds >= 0.0 { "+" } else { "" },
            seconds(d.at_seconds),
            d.by.as_str(),
            cell(&d.actor),
            cell(&d.what),
            cell(&d.why)
        );
    }
    out
}
