//! Process exit codes, one place: scripts branch on these.

use serde::{Serialize, Serializer};
use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExitStatus {
    /// Success, or nothing to do.
    Success = 0,
    /// One or more definitions failed and were rolled back: nothing lost.
    Failed = 1,
    /// Usage or input error: nothing touched.
    Usage = 2,
    /// `--detailed-exitcode` and non-compliant definitions exist.
    NonCompliant = 3,
    /// A rollback did not complete: the output names the manual action.
    RollbackIncomplete = 4,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> ExitCode {
        ExitCode::from(status as u8)
    }
}

/// Reports carry the code a script sees, as a number.
impl Serialize for ExitStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(*self as u8)
    }
}

/// An error in what the user asked for (flags, files, state directory): reported without a
/// backtrace-like chain, exit 2, and nothing was touched.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct UsageError {
    pub message: String,
    /// What to do about it, printed as `hint: ...`.
    pub hint: Option<String>,
}

impl UsageError {
    pub fn new(message: impl Into<String>) -> UsageError {
        UsageError {
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> UsageError {
        self.hint = Some(hint.into());
        self
    }
}
