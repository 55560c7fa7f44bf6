//! Process exit codes, one place: scripts branch on these. Errors are classified here before a
//! code is chosen: a refusal (nothing touched) is 2; an error once a run has started is never 2.

use serde::{Serialize, Serializer};
use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExitStatus {
    /// Success, or nothing to do.
    Success = 0,
    /// One or more definitions failed, each rolled back or left untouched: nothing lost.
    Failed = 1,
    /// Refused before any change: a usage or input error, or a failure before the first
    /// mutating call. Nothing was touched.
    Usage = 2,
    /// `--detailed-exitcode` and non-compliant definitions exist.
    NonCompliant = 3,
    /// A person must act (a rollback did not complete, or the state is not known): the output
    /// names the manual action.
    RollbackIncomplete = 4,
}

impl ExitStatus {
    /// How severe a status is when several accounts or items end differently: a person must
    /// act (4), then something failed (1), then non-compliant (3), then success (0).
    fn severity(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::NonCompliant => 1,
            ExitStatus::Failed => 2,
            ExitStatus::Usage => 3,
            ExitStatus::RollbackIncomplete => 4,
        }
    }

    /// The more severe of the two (4, then 1, then 3, then 0).
    pub fn most_severe(self, other: ExitStatus) -> ExitStatus {
        if other.severity() > self.severity() {
            other
        } else {
            self
        }
    }
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

/// An error after a run started (its journal holds a record, AWS may have been changed): it
/// names the run and the command that continues it, and exits 1 or 4, never 2.
#[derive(Debug, thiserror::Error)]
#[error("run {run_id} stopped")]
pub struct RunError {
    /// `Failed` when nothing was changed yet, `RollbackIncomplete` when the state is not known.
    pub status: ExitStatus,
    pub run_id: String,
    /// The command that finishes or rolls back the run, verbatim.
    pub continue_with: String,
    #[source]
    pub source: anyhow::Error,
}

/// The hint that names the command continuing an unfinished run.
pub fn continue_hint(command: &str) -> String {
    format!("to finish or roll back, run `{command}`")
}

/// How an error ends the process.
#[derive(Debug, PartialEq, Eq)]
pub struct Failure {
    pub status: ExitStatus,
    /// The run the error ended, once one had started.
    pub run_id: Option<String>,
    /// The whole error chain, for `error: ...`.
    pub message: String,
    /// What to do about it, for `hint: ...`.
    pub hint: Option<String>,
}

/// Chooses the exit status and the hint for an error that ended a command.
pub fn classify(err: &anyhow::Error) -> Failure {
    let message = format!("{err:#}");
    if let Some(run) = err.chain().find_map(|e| e.downcast_ref::<RunError>()) {
        return Failure {
            status: run.status,
            run_id: Some(run.run_id.clone()),
            message,
            hint: Some(continue_hint(&run.continue_with)),
        };
    }
    let hint = err
        .chain()
        .find_map(|e| e.downcast_ref::<UsageError>())
        .and_then(|usage| usage.hint.clone());
    // The commands that change AWS turn every error after their run starts into a `RunError`
    // (their run phase returns no other error type), so any other error came before the first
    // mutating call.
    Failure {
        status: ExitStatus::Usage,
        run_id: None,
        message,
        hint,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_exits_2_with_its_hint() {
        let err = anyhow::Error::from(
            UsageError::new("apply needs confirmation").with_hint("pass --yes"),
        );
        assert_eq!(
            classify(&err),
            Failure {
                status: ExitStatus::Usage,
                run_id: None,
                message: "apply needs confirmation".to_owned(),
                hint: Some("pass --yes".to_owned()),
            }
        );
    }

    #[test]
    fn an_error_after_the_run_started_keeps_its_status_and_names_the_run() {
        let run_error = |status| {
            anyhow::Error::from(RunError {
                status,
                run_id: "20261130T042231Z-1a2b".to_owned(),
                continue_with: "sm-recreate --state-dir /s --region us-east-1 restore /s/runs/20261130T042231Z-1a2b/snapshots/us-east-1.model-bias.mb.json".to_owned(),
                source: anyhow::anyhow!(
                    "state directory /s/runs/20261130T042231Z-1a2b/journal.jsonl: No space left on device (os error 28)"
                ),
            })
        };
        for status in [ExitStatus::Failed, ExitStatus::RollbackIncomplete] {
            assert_eq!(classify(&run_error(status)).status, status);
        }
        let failure = classify(&run_error(ExitStatus::Failed));
        assert_eq!(failure.run_id.as_deref(), Some("20261130T042231Z-1a2b"));
        insta::assert_snapshot!(format!(
            "error: {}\nhint: {}",
            failure.message,
            failure.hint.unwrap()
        ));
    }

    #[test]
    fn a_run_error_wins_over_a_usage_error_beneath_it() {
        let err = anyhow::Error::from(RunError {
            status: ExitStatus::Failed,
            run_id: "r".to_owned(),
            continue_with: "sm-recreate resume r".to_owned(),
            source: UsageError::new("inner").into(),
        });
        assert_eq!(classify(&err).status, ExitStatus::Failed);
    }

    #[test]
    fn exit_statuses_serialize_as_their_codes() {
        assert_eq!(
            serde_json::to_string(&ExitStatus::RollbackIncomplete).unwrap(),
            "4"
        );
    }
}
