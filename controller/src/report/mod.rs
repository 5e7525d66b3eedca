//! `drctl report` and the pages of `drctl drill --html` / `drctl sim --html`: one operation
//! as people read it after the fact (docs/design-contract.md §7.4, docs/drills.md).
//!
//! - `model`: the [`OperationReport`] value, built purely from an operation, the group's
//!   journal and the objectives; its serde form is `drctl report -o json`.
//! - `journal`: an operation the status no longer holds, rebuilt from the journal.
//! - `run`: a rehearsal's operations (sim, drill) mapped into the same value.
//! - `html`, `markdown`: the renderers. HTML is one self-contained page: inline CSS, an
//!   inline SVG timeline, no scripts, nothing loaded from elsewhere; every string that came
//!   from a user or the cloud goes through [`html::escape`].

pub mod html;
pub mod journal;
pub mod markdown;
pub mod model;
pub mod run;

#[cfg(test)]
mod tests;

pub use model::{
    DecidedBy, DecisionReport, MutationOutcome, MutationReport, ObjectiveVerdict, OperationReport,
    RecordSource, ReportError, ReportInput, StepReport, Verdict,
};
pub use run::{from_run, RunRecord};

/// A page: a title, a few headline figures of the run (the drill's verdict, say), and the
/// operations, each with its timeline.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Page {
    pub title: String,
    /// Label and value, in order.
    pub summary: Vec<(String, String)>,
    pub operations: Vec<OperationReport>,
}

impl Page {
    /// The page of one operation (`drctl report NAME -o html`).
    pub fn single(report: OperationReport) -> Page {
        Page {
            title: format!(
                "failovergroup/{}: {} {} -> {}",
                report.group, report.operation_type, report.from, report.to
            ),
            summary: Vec::new(),
            operations: vec![report],
        }
    }
}

/// Seconds for a person: `4.2 s`, `3m05s`, `1h04m`.
pub fn seconds(secs: f64) -> String {
    if secs.abs() < 60.0 {
        format!("{secs:.1} s")
    } else {
        let whole = secs.round() as i64;
        let sign = if whole < 0 { "-" } else { "" };
        let whole = whole.abs();
        if whole < 3600 {
            format!("{sign}{}m{:02}s", whole / 60, whole % 60)
        } else {
            format!("{sign}{}h{:02}m", whole / 3600, (whole % 3600) / 60)
        }
    }
}

/// An optional figure: `-` when absent.
pub fn maybe_seconds(secs: Option<f64>) -> String {
    secs.map(seconds).unwrap_or_else(|| "-".to_string())
}
