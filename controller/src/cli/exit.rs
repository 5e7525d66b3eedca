//! Exit status (docs/design-contract.md §2): 0 success, 1 failure, 2 invalid input or usage, 3 conflict.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Success = 0,
    Failure = 1,
    Invalid = 2,
    Conflict = 3,
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// An error at the binary's edge, carrying the exit status it maps to.
#[derive(Debug)]
pub struct CliError {
    pub status: ExitStatus,
    pub error: anyhow::Error,
}

impl CliError {
    pub fn invalid(error: impl Into<anyhow::Error>) -> Self {
        CliError {
            status: ExitStatus::Invalid,
            error: error.into(),
        }
    }
    pub fn conflict(error: impl Into<anyhow::Error>) -> Self {
        CliError {
            status: ExitStatus::Conflict,
            error: error.into(),
        }
    }
    pub fn failure(error: impl Into<anyhow::Error>) -> Self {
        CliError {
            status: ExitStatus::Failure,
            error: error.into(),
        }
    }
    pub fn exit_status(&self) -> ExitStatus {
        self.status
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.error)
    }
}

impl From<anyhow::Error> for CliError {
    fn from(error: anyhow::Error) -> Self {
        CliError::failure(error)
    }
}

pub type CliResult<T> = Result<T, CliError>;
