//! `-l SELECTOR` on the commands that change groups (`failover`, `suspend`, `resume`): which
//! groups match, and the outcome of running the single-group command on each of them.

use drctl_schema::{FailoverGroup, Selector};
use drctl_state::Store;

use super::common::store_error;
use crate::cli::exit::{CliError, CliResult, ExitStatus};

/// The stored groups whose labels match, sorted by name. When none does, says so on stderr
/// (like kubectl's "No resources found") and returns an empty list: nothing to change is not
/// an error, so a fleet-wide command in a script does not fail on an empty fleet.
pub async fn matching(store: &dyn Store, selector: &Selector) -> CliResult<Vec<FailoverGroup>> {
    let all = store.list().await.map_err(store_error)?;
    let total = all.len();
    let selected: Vec<FailoverGroup> = all
        .into_iter()
        .filter(|g| selector.matches(&g.metadata.labels))
        .collect();
    if selected.is_empty() {
        eprintln!(
            "no failovergroup matches -l {selector} ({total} in {}); nothing changed",
            store.url()
        );
    }
    Ok(selected)
}

/// The outcomes of one command run on each selected group. A group that fails does not stop
/// the others (each change is its own conditional write); the command then fails with the
/// worst status seen, after every group had its turn.
#[derive(Default)]
pub struct Outcomes {
    groups: usize,
    failures: Vec<(String, CliError)>,
}

impl Outcomes {
    /// The outcome of the command on one more group.
    pub fn record(&mut self, name: &str, result: CliResult<ExitStatus>) {
        self.groups += 1;
        self.also(name, result);
    }

    /// A later outcome for a group already recorded (following it with --wait).
    pub fn also(&mut self, name: &str, result: CliResult<ExitStatus>) {
        match result {
            Ok(ExitStatus::Success) => {}
            Ok(status) => self.failures.push((
                name.to_string(),
                CliError {
                    status,
                    error: anyhow::anyhow!("failovergroup/{name}: exit {}", status.code()),
                },
            )),
            Err(err) => {
                eprintln!("error: {err}");
                self.failures.push((name.to_string(), err));
            }
        }
    }

    pub fn into_result(self) -> CliResult<ExitStatus> {
        let Some(worst) = self
            .failures
            .iter()
            .map(|(_, e)| e.status)
            .max_by_key(|s| s.code())
        else {
            return Ok(ExitStatus::Success);
        };
        let names: Vec<&str> = self.failures.iter().map(|(n, _)| n.as_str()).collect();
        Err(CliError {
            status: worst,
            error: anyhow::anyhow!(
                "{} of {} selected groups failed: {}",
                names.len(),
                self.groups,
                names.join(", ")
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn outcomes_fail_with_the_worst_status_after_every_group() {
        let mut outcomes = Outcomes::default();
        outcomes.record("a", Ok(ExitStatus::Success));
        outcomes.record("b", Err(CliError::failure(anyhow::anyhow!("down"))));
        outcomes.record("c", Err(CliError::conflict(anyhow::anyhow!("stale"))));
        let err = outcomes.into_result().unwrap_err();
        assert_eq!(err.status, ExitStatus::Conflict);
        assert_eq!(err.to_string(), "2 of 3 selected groups failed: b, c");
        assert!(Outcomes::default().into_result().is_ok());
    }
}
