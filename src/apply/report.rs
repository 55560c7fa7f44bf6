//! What `apply`, `resume` and `restore` tell the user about a run: one value, printed once on
//! stdout, as text for people (`Display`) or one JSON document for scripts (`Serialize`), with
//! the exit status it calls for.

use super::Outcome;
use crate::exit::ExitStatus;
use crate::journal::Status;
use crate::resource::ResourceId;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// The version of the scan and run-report JSON: bumped on any change a reader of an older one
/// would misread. 1: `format_version` itself; scan's `failing_controls`, `reasons`,
/// `isolation_flag`, `fixes` and `schedules`; the `updated-in-place` status.
pub const REPORT_FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub format_version: u32,
    /// `None` when no run was started.
    pub run_id: Option<String>,
    /// How many definitions ended with each status.
    pub summary: BTreeMap<&'static str, usize>,
    pub definitions: Vec<DefinitionReport>,
    /// The command that finishes or rolls back what the run left unfinished, verbatim; `None`
    /// when nothing is left for it (definitions that need another action name it themselves),
    /// or under `--sandbox`, whose account ended with the process.
    pub hint: Option<String>,
    /// Why nothing was done, when nothing was.
    pub note: Option<String>,
    /// The error that ended the command, when one did (`--format json` still prints a report).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Accounts the run was for that could not be reached, with AWS's message.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unreachable_accounts: Vec<crate::accounts::Unreachable>,
    /// Findings the selection named that the run skipped: their resource is gone or passes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped_findings: Vec<crate::securityhub::SkippedFinding>,
    /// What `--update-findings` did to Security Hub findings; its warnings never change the
    /// exit code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub securityhub: Option<crate::securityhub::FindingsReport>,
    /// The process's exit code.
    pub exit_code: ExitStatus,
}

/// How one definition ended.
#[derive(Debug, Clone, Serialize)]
pub struct DefinitionReport {
    #[serde(flatten)]
    pub key: ResourceId,
    /// The label the summary counts (`rolled-back`, `changed-since-plan`, ...).
    pub status: Status,
    #[serde(flatten)]
    pub outcome: Outcome,
}

impl RunReport {
    /// The report of a run that worked on `outcomes`. `continue_with` is the command that picks
    /// the run up again; it is reported only if anything is left for it.
    pub fn of_run(
        run_id: &str,
        outcomes: Vec<(ResourceId, Outcome)>,
        continue_with: Option<String>,
    ) -> RunReport {
        let exit_code = super::exit_status(&outcomes);
        // A definition that names its own manual action (a `restore`) is not the continuing
        // command's: printing both for it would name two actions where one is right.
        let left_for_continue = outcomes.iter().any(|(_, o)| {
            !o.status().is_settled()
                && o.manual()
                    .is_none_or(|manual| Some(manual) == continue_with.as_deref())
        });
        let definitions: Vec<DefinitionReport> = outcomes
            .into_iter()
            .map(|(key, outcome)| DefinitionReport {
                key,
                status: outcome.status(),
                outcome,
            })
            .collect();
        let mut summary = BTreeMap::new();
        for definition in &definitions {
            *summary.entry(definition.status.label()).or_default() += 1;
        }
        RunReport {
            format_version: REPORT_FORMAT_VERSION,
            run_id: Some(run_id.to_owned()),
            summary,
            definitions,
            hint: continue_with.filter(|_| left_for_continue),
            note: None,
            error: None,
            unreachable_accounts: Vec::new(),
            skipped_findings: Vec::new(),
            securityhub: None,
            exit_code,
        }
    }

    /// When the inventory the run was planned from could not read everything, the run did not
    /// cover all it was asked to: a failure (1) unless something more severe happened.
    pub fn with_incomplete(mut self, incomplete: bool) -> RunReport {
        if incomplete {
            self.exit_code = self.exit_code.most_severe(ExitStatus::Failed);
        }
        self
    }

    /// Adds the accounts that could not be reached: the run then did not do all it was asked,
    /// which is a failure (1) unless something more severe happened.
    pub fn with_unreachable(mut self, unreachable: &[crate::accounts::Unreachable]) -> RunReport {
        if !unreachable.is_empty() {
            self.unreachable_accounts = unreachable.to_vec();
            self.exit_code = self.exit_code.most_severe(ExitStatus::Failed);
        }
        self
    }

    /// Adds the findings the selection named that the run skipped (reported, not failed).
    pub fn with_skipped_findings(
        mut self,
        skipped: &[crate::securityhub::SkippedFinding],
    ) -> RunReport {
        self.skipped_findings = skipped.to_vec();
        self
    }

    /// Adds what `--update-findings` did; its warnings leave the exit code alone.
    pub fn with_findings_updates(
        mut self,
        report: Option<crate::securityhub::FindingsReport>,
    ) -> RunReport {
        self.securityhub = report;
        self
    }

    /// Nothing was done, for the reason `note` gives.
    pub fn nothing_to_do(run_id: Option<&str>, note: impl Into<String>) -> RunReport {
        RunReport {
            format_version: REPORT_FORMAT_VERSION,
            run_id: run_id.map(str::to_owned),
            summary: BTreeMap::new(),
            definitions: Vec::new(),
            hint: None,
            note: Some(note.into()),
            error: None,
            unreachable_accounts: Vec::new(),
            skipped_findings: Vec::new(),
            securityhub: None,
            exit_code: ExitStatus::Success,
        }
    }

    /// The report of a command that ended in an error, for `--format json`: scripts read the
    /// same document whatever happened.
    pub fn of_failure(failure: &crate::exit::Failure) -> RunReport {
        RunReport {
            format_version: REPORT_FORMAT_VERSION,
            run_id: failure.run_id.clone(),
            summary: BTreeMap::new(),
            definitions: Vec::new(),
            hint: failure.hint.clone(),
            note: None,
            error: Some(failure.message.clone()),
            unreachable_accounts: Vec::new(),
            skipped_findings: Vec::new(),
            securityhub: None,
            exit_code: failure.status,
        }
    }

    /// How many definitions the run never started (it was interrupted).
    pub fn not_started(&self) -> usize {
        self.definitions
            .iter()
            .filter(|d| d.status == Status::NotStarted)
            .count()
    }

    /// The text form, with the statuses coloured when `color`.
    pub fn painted(&self, color: bool) -> Painted<'_> {
        Painted {
            report: self,
            color,
        }
    }

    /// The JSON document, pretty-printed, ending with a newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a report serializes");
        text.push('\n');
        text
    }
}

impl fmt::Display for RunReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.painted(false).fmt(f)
    }
}

/// [`RunReport`] as text; see [`RunReport::painted`].
pub struct Painted<'a> {
    report: &'a RunReport,
    color: bool,
}

impl fmt::Display for Painted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let report = self.report;
        if let Some(note) = &report.note {
            writeln!(f, "{note}")?;
        }
        for definition in &report.definitions {
            writeln!(
                f,
                "{}",
                outcome_line(&definition.key, &definition.outcome, self.color)
            )?;
        }
        if let (Some(run_id), false) = (&report.run_id, report.definitions.is_empty()) {
            // In the order the statuses first occur, as the lines above list them.
            let mut counts: Vec<(&str, usize)> = Vec::new();
            for definition in &report.definitions {
                let label = definition.status.label();
                match counts.iter_mut().find(|(l, _)| *l == label) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((label, 1)),
                }
            }
            let counts: Vec<String> = counts.iter().map(|(l, n)| format!("{n} {l}")).collect();
            writeln!(f, "\nRun {run_id}: {}.", counts.join(", "))?;
        }
        for account in &report.unreachable_accounts {
            writeln!(
                f,
                "Account {} could not be reached and was not worked on: {}",
                account.account_id, account.message
            )?;
        }
        f.write_str(&crate::securityhub::skipped_findings_text(
            &report.skipped_findings,
        ))?;
        if let Some(hub) = &report.securityhub {
            writeln!(
                f,
                "Security Hub: {} finding(s) set NOTIFIED, {} RESOLVED, {} noted (not fixed){}.",
                hub.notified,
                hub.resolved,
                hub.noted,
                if hub.resources_without_findings > 0 {
                    format!(
                        "; {} resource(s) had no open finding",
                        hub.resources_without_findings
                    )
                } else {
                    String::new()
                }
            )?;
            for warning in &hub.warnings {
                writeln!(f, "warning: Security Hub: {warning}")?;
            }
        }
        Ok(())
    }
}

/// One definition's line: its status (coloured when `color`), who it is, and why.
pub fn outcome_line(key: &ResourceId, outcome: &Outcome, color: bool) -> String {
    let paint = |code: &str, text: &str| {
        if color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    };
    match outcome {
        Outcome::Updated => format!("{} {key}", paint("32", "updated in place")),
        Outcome::Recreated { warnings } => {
            let mut line = format!("{} {key}", paint("32", "recreated"));
            for warning in warnings {
                line.push_str(&format!("\n  {} {warning}", paint("33", "warning:")));
            }
            line
        }
        Outcome::AlreadyCompliant { message } => {
            format!("{} {key}: {message}", paint("32", "already compliant"))
        }
        Outcome::ChangedSincePlan { message }
        | Outcome::Skipped { message }
        | Outcome::Refused { message }
        | Outcome::Busy { message }
        | Outcome::Missing { message } => {
            format!("{} {key}: {message}", paint("33", "skipped"))
        }
        Outcome::ChangedDuringRun { message } => {
            format!("{} {key}: {message}", paint("33", "changed during run"))
        }
        Outcome::FailedUntouched { message } => {
            format!("{} {key}: {message}", paint("31", "failed"))
        }
        Outcome::VerifyFailed { message } => {
            format!("{} {key}: {message}", paint("31", "verify failed"))
        }
        Outcome::Failed {
            message,
            rolled_back: true,
        } => format!("{} {key}: {message}", paint("31", "rolled back")),
        Outcome::Failed {
            message,
            rolled_back: false,
        } => format!("{} {key}: {message}", paint("31", "failed")),
        Outcome::InDoubt { message, manual } => format!(
            "{} {key}: {message}\n  manual action: {manual}",
            paint("1;31", "IN DOUBT")
        ),
        Outcome::RollbackIncomplete { message, manual } => format!(
            "{} {key}: {message}\n  manual action: {manual}",
            paint("1;31", "ROLLBACK INCOMPLETE")
        ),
        Outcome::NotStarted => format!(
            "{} {key}: the run was interrupted",
            paint("33", "not started")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::Kind;

    const RUN: &str = "20261130T042231Z-1a2b";
    const RESUME: &str = "sm-recreate --state-dir /work/.sm-recreate resume 20261130T042231Z-1a2b";

    fn key(kind: Kind, name: &str) -> ResourceId {
        ResourceId::definition("123456789012", "us-east-1", kind, name)
    }

    /// An apply that met most of what can happen: fixed, fixed with a leftover, rolled back,
    /// skipped, in doubt, interrupted.
    fn apply_report() -> RunReport {
        RunReport::of_run(
            RUN,
            vec![
                (
                    key(Kind::DataQuality, "churn-dq"),
                    Outcome::Recreated { warnings: vec![] },
                ),
                (
                    key(Kind::ModelQuality, "fraud-mq"),
                    Outcome::Recreated {
                        warnings: vec![
                            "the temporary copy fraud-mq-smr1a2b could not be deleted; `resume` deletes it"
                                .to_owned(),
                        ],
                    },
                ),
                (
                    key(Kind::ModelBias, "credit-mb"),
                    Outcome::Failed {
                        message: "CreateModelBiasJobDefinition: ValidationException: KMS key not usable; everything was put back".to_owned(),
                        rolled_back: true,
                    },
                ),
                (
                    key(Kind::DataQuality, "edited-dq"),
                    Outcome::ChangedSincePlan {
                        message: "changed since plan: the live definition or its tags differ from what was planned; left alone (plan again)".to_owned(),
                    },
                ),
                (
                    key(Kind::ModelExplainability, "loan-me"),
                    Outcome::InDoubt {
                        message: "DeleteModelExplainabilityJobDefinition: the answer was lost; stopped without undoing anything".to_owned(),
                        manual: RESUME.to_owned(),
                    },
                ),
                (key(Kind::ModelBias, "later-mb"), Outcome::NotStarted),
            ],
            Some(RESUME.to_owned()),
        )
    }

    fn resume_report() -> RunReport {
        RunReport::of_run(
            RUN,
            vec![
                (
                    key(Kind::ModelExplainability, "loan-me"),
                    Outcome::Recreated { warnings: vec![] },
                ),
                (
                    key(Kind::ModelBias, "later-mb"),
                    Outcome::Recreated { warnings: vec![] },
                ),
            ],
            Some(RESUME.to_owned()),
        )
    }

    fn restore_report() -> RunReport {
        RunReport::of_run(
            RUN,
            vec![(
                key(Kind::ModelBias, "credit-mb"),
                Outcome::RollbackIncomplete {
                    message: "CreateModelBiasJobDefinition: InternalFailure; the schedules run on the compliant copy credit-mb-smr1a2b".to_owned(),
                    manual: "sm-recreate --state-dir /work/.sm-recreate --region us-east-1 restore /work/.sm-recreate/runs/20261130T042231Z-1a2b/snapshots/us-east-1.model-bias.credit-mb.json".to_owned(),
                },
            )],
            Some("sm-recreate --state-dir /work/.sm-recreate --region us-east-1 restore /work/.sm-recreate/runs/20261130T042231Z-1a2b/snapshots/us-east-1.model-bias.credit-mb.json".to_owned()),
        )
    }

    #[test]
    fn apply_report_as_text() {
        insta::assert_snapshot!(apply_report().to_string());
    }

    #[test]
    fn apply_report_as_json() {
        insta::assert_snapshot!(apply_report().to_json());
    }

    #[test]
    fn resume_report_as_text() {
        insta::assert_snapshot!(resume_report().to_string());
    }

    #[test]
    fn resume_report_as_json() {
        insta::assert_snapshot!(resume_report().to_json());
    }

    #[test]
    fn restore_report_as_text() {
        insta::assert_snapshot!(restore_report().to_string());
    }

    #[test]
    fn restore_report_as_json() {
        insta::assert_snapshot!(restore_report().to_json());
    }

    #[test]
    fn nothing_to_do_as_text_and_json() {
        let report = RunReport::nothing_to_do(
            Some(RUN),
            format!("Nothing to resume: run {RUN} is complete."),
        );
        insta::assert_snapshot!(format!("{report}---\n{}", report.to_json()));
    }

    #[test]
    fn a_finished_run_gives_no_hint_and_its_exit_status() {
        let report = resume_report();
        assert_eq!(report.hint, None);
        assert_eq!(report.exit_code, ExitStatus::Success);
        let report = apply_report();
        assert_eq!(report.hint.as_deref(), Some(RESUME));
        assert_eq!(report.exit_code, ExitStatus::RollbackIncomplete);
        assert_eq!(report.not_started(), 1);
    }
}
