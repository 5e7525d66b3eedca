//! Drills (docs/design-contract.md §7.4): a group of the user's own, a timeline of faults and
//! operator actions, and the end state expected, rehearsed by the real controller against the
//! simulated world in virtual time, then judged: objectives, expectations, invariants.
//!
//! - `spec`: the Drill document as written, and its check against the group (field paths).
//! - `run`: the rehearsal and its report.
//! - `campaign`: random drills drawn from a seed, each checked and a failure shrunk.

pub mod campaign;
pub mod run;
pub mod spec;

use drctl_schema::FieldError;

pub use run::{run_drill, DrillReport};
pub use spec::{check, parse, DrillPlan};

/// A drill that cannot be rehearsed as written (exit 2). A rehearsal that fails on the way
/// is a `SimulationError` (exit 1), from `run_drill`.
#[derive(Debug, thiserror::Error)]
pub enum DrillError {
    /// The drill document is malformed or does not fit its group.
    #[error("{source_name}: {}", problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n"))]
    Invalid {
        source_name: String,
        problems: Vec<FieldError>,
    },
}
