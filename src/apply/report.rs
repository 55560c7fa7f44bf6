//! What `apply`, `resume` and `restore` tell the user: one line per definition as it finishes, a
//! progress bar on a terminal, a summary, or one JSON document for scripts.

use super::Outcome;
use crate::resource::ResourceId;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::io::Write;
use std::sync::Mutex;

pub struct Reporter {
    json: bool,
    color: bool,
    progress: Option<ProgressBar>,
    lines: Mutex<()>,
}

impl Reporter {
    /// `progress` only on a terminal (stderr), so logs and pipes stay clean.
    pub fn new(total: usize, json: bool, color: bool, progress: bool) -> Reporter {
        let progress = progress.then(|| {
            let bar = ProgressBar::new(total as u64);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}",
                )
                .expect("a valid progress template"),
            );
            bar.enable_steady_tick(std::time::Duration::from_millis(200));
            bar
        });
        Reporter {
            json,
            color,
            progress,
            lines: Mutex::new(()),
        }
    }

    pub fn finished(&self, key: &ResourceId, outcome: &Outcome) {
        if let Some(bar) = &self.progress {
            bar.inc(1);
        }
        if self.json {
            return;
        }
        let line = self.line(key, outcome);
        let _guard = self.lines.lock().expect("report lock");
        let print = || {
            let mut stdout = std::io::stdout().lock();
            // A closed stdout must not abort a run that is deleting things.
            let _ = writeln!(stdout, "{line}");
            let _ = stdout.flush();
        };
        match &self.progress {
            Some(bar) => bar.suspend(print),
            None => print(),
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    fn line(&self, key: &ResourceId, outcome: &Outcome) -> String {
        match outcome {
            Outcome::Recreated { warnings } => {
                let mut line = format!("{} {key}", self.paint("32", "recreated"));
                for warning in warnings {
                    line.push_str(&format!("\n  {} {warning}", self.paint("33", "warning:")));
                }
                line
            }
            Outcome::ChangedSincePlan { message }
            | Outcome::Refused { message }
            | Outcome::Busy { message }
            | Outcome::Missing { message } => {
                format!("{} {key}: {message}", self.paint("33", "skipped"))
            }
            Outcome::ChangedDuringRun { message } => {
                format!(
                    "{} {key}: {message}",
                    self.paint("33", "changed during run")
                )
            }
            Outcome::FailedUntouched { message } => {
                format!("{} {key}: {message}", self.paint("31", "failed"))
            }
            Outcome::VerifyFailed { message } => {
                format!("{} {key}: {message}", self.paint("31", "verify failed"))
            }
            Outcome::Failed {
                message,
                rolled_back: true,
            } => format!("{} {key}: {message}", self.paint("31", "rolled back")),
            Outcome::Failed {
                message,
                rolled_back: false,
            } => format!("{} {key}: {message}", self.paint("31", "failed")),
            Outcome::InDoubt { message, manual } => format!(
                "{} {key}: {message}\n  manual action: {manual}",
                self.paint("1;31", "IN DOUBT")
            ),
            Outcome::RollbackIncomplete { message, manual } => format!(
                "{} {key}: {message}\n  manual action: {manual}",
                self.paint("1;31", "ROLLBACK INCOMPLETE")
            ),
            Outcome::NotStarted => format!(
                "{} {key}: the run was interrupted",
                self.paint("33", "not started")
            ),
        }
    }

    /// The summary line (text) or the whole JSON report, on stdout.
    pub fn summary(&self, run_id: &str, outcomes: &[(ResourceId, Outcome)]) -> std::io::Result<()> {
        if let Some(bar) = &self.progress {
            bar.finish_and_clear();
        }
        let mut counts: Vec<(&'static str, usize)> = Vec::new();
        for (_, outcome) in outcomes {
            let label = outcome.label();
            match counts.iter_mut().find(|(l, _)| *l == label) {
                Some((_, n)) => *n += 1,
                None => counts.push((label, 1)),
            }
        }
        let mut stdout = std::io::stdout().lock();
        if self.json {
            #[derive(Serialize)]
            struct Entry<'a> {
                #[serde(flatten)]
                key: &'a ResourceId,
                /// The label the summary counts (`rolled-back`, `changed-since-plan`, ...).
                status: &'static str,
                #[serde(flatten)]
                outcome: &'a Outcome,
            }
            #[derive(Serialize)]
            struct Document<'a> {
                run_id: &'a str,
                summary: std::collections::BTreeMap<&'static str, usize>,
                definitions: Vec<Entry<'a>>,
            }
            let document = Document {
                run_id,
                summary: counts.iter().copied().collect(),
                definitions: outcomes
                    .iter()
                    .map(|(key, outcome)| Entry {
                        key,
                        status: outcome.label(),
                        outcome,
                    })
                    .collect(),
            };
            serde_json::to_writer_pretty(&mut stdout, &document)?;
            writeln!(stdout)?;
        } else {
            let text: Vec<String> = counts.iter().map(|(l, n)| format!("{n} {l}")).collect();
            writeln!(
                stdout,
                "\nRun {run_id}: {}.",
                if text.is_empty() {
                    "nothing to do".to_owned()
                } else {
                    text.join(", ")
                }
            )?;
        }
        stdout.flush()
    }
}
