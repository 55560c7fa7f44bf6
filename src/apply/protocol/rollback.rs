//! Going back (docs/protocol.md, *undo* and *roll back*): `hand_back` before this run deleted
//! the original (see it first, move the schedules back, delete the copy), and the rollback after
//! the delete (create the original from the snapshot, see it, move the schedules back, delete the
//! copy). Someone else's change wins in both.

use super::{Cause, Job, StepError, read};
use crate::apply::Outcome;
use crate::apply::ops::{Created, holds};
use crate::journal::{ScheduleSnapshot, Step};
use crate::request;
use crate::sagemaker::AwsError;

impl Job<'_> {
    /// Gives up before the original was deleted by this run (or after someone else took its
    /// name): look at the original first — the copy may go only once it is seen — then give the
    /// moved schedules back and delete the copy.
    pub(super) async fn hand_back(&self, cause: Cause, moved: &[&ScheduleSnapshot]) -> Outcome {
        let live = match self
            .ops()
            .find_with_tags(self.name(), &self.snapshot.arn)
            .await
        {
            Ok(live) => live,
            Err(err) => {
                return self.in_doubt(format!(
                    "{cause}; to undo, the original must be seen first, and looking failed: {err}"
                ));
            }
        };
        let Some((live, tags)) = live else {
            return self.original_vanished(&cause);
        };
        let unchanged = request::snapshot_hash(&live, &tags) == self.snapshot.snapshot_sha256;
        let failures = self.return_schedules(moved, true).await;
        if !failures.is_empty() {
            return Outcome::RollbackIncomplete {
                message: format!("{cause}; then undoing failed: {}", failures.join("; ")),
                manual: self.resume_hint(),
            };
        }
        let leftovers = self.drop_copies(true, None).await;
        if !leftovers.is_empty() {
            return Outcome::RollbackIncomplete {
                message: format!("{cause}; then undoing failed: {}", leftovers.join("; ")),
                manual: self.resume_hint(),
            };
        }
        match cause {
            Cause::Changed(message) => Outcome::ChangedDuringRun { message },
            _ if !unchanged => Outcome::ChangedDuringRun {
                message: format!("{cause}; and {}", self.what_changed(&live, &tags)),
            },
            Cause::Failed(message) => Outcome::Failed {
                message,
                rolled_back: true,
            },
            Cause::Interrupted => Outcome::Failed {
                message: cause.to_string(),
                rolled_back: true,
            },
        }
    }

    /// The original is gone and this run did not delete it: someone else did. Their decision
    /// stands; the copy is kept (it is the only copy of the content in AWS besides the snapshot,
    /// and the schedules this run moved run on it).
    pub(super) fn original_vanished(&self, cause: &Cause) -> Outcome {
        let copy = match self.temp().filter(|_| self.owns_copy()) {
            Some(temp) => format!(
                "; its compliant copy {temp} is kept, with any schedules this run moved to it \
                 (delete it when it is not needed)"
            ),
            None => String::new(),
        };
        let message = match cause {
            Cause::Changed(message) if message.contains("deleted it") => message.clone(),
            _ => format!("{cause}; and someone deleted it during the run"),
        };
        Outcome::ChangedDuringRun {
            message: format!(
                "{message}{copy}; the snapshot is {}",
                self.snapshot_path.display()
            ),
        }
    }

    /// After this run deleted the original, someone created a different definition under its
    /// name: a change by someone else wins, as before the delete. The schedules name it again
    /// (they named the name), and the copy goes once theirs is seen; the original stays in the
    /// snapshot.
    pub(super) async fn someone_took_the_name(&self, context: &str) -> Outcome {
        let cause = Cause::Changed(format!(
            "{context}changed during the run: after this run deleted it, someone created a \
             different definition under its name; theirs is kept and the schedules name it again \
             (the original is in the snapshot {})",
            self.snapshot_path.display()
        ));
        let all: Vec<&ScheduleSnapshot> = self.schedules().collect();
        self.hand_back(cause, &all).await
    }

    /// Gives `schedules` back to the original name; returns what failed. A schedule found
    /// pointing elsewhere was never moved by this run, or was moved on by someone else: not ours
    /// to touch, and not a failure.
    async fn return_schedules(
        &self,
        schedules: &[&ScheduleSnapshot],
        rollback: bool,
    ) -> Vec<String> {
        let mut failures = Vec::new();
        for schedule in schedules {
            let step = if rollback {
                Step::RollbackSchedule(schedule.name.clone())
            } else {
                Step::RepointToOriginal(schedule.name.clone())
            };
            let (ops, from) = (self.ops(), self.copy_names());
            let moving = ops.repoint_schedule(&schedule.name, &from, self.name());
            if let Err(err) = self.step(step, moving).await {
                failures.push(format!("schedule {}: {err}", schedule.name));
            }
        }
        failures
    }

    /// The original is gone and could not be recreated compliant: recreate it from the snapshot,
    /// see it restored, move the schedules back, remove the copy.
    pub(super) async fn roll_back_after_delete(&self, cause: &AwsError) -> Outcome {
        let restore = request::restore_request(&self.snapshot.describe, &self.snapshot.tags);
        let ops = self.ops();
        let creating = ops.create(self.name(), &restore, Some(&self.snapshot.describe), None);
        match self
            .step(Step::RollbackCreateOriginalFromSnapshot, creating)
            .await
        {
            Ok(Created::Made) => {}
            Ok(Created::Taken { live }) if holds(&live, &restore) => {}
            Ok(Created::Taken { .. }) => {
                return self
                    .someone_took_the_name(&format!("{cause}; while rolling back, "))
                    .await;
            }
            Err(StepError::Refused(err)) => {
                let meanwhile = match self.temp().filter(|_| self.owns_copy()) {
                    Some(t) if !self.snapshot.schedules.is_empty() => {
                        format!(". The schedules run on the compliant copy {t} meanwhile")
                    }
                    _ => String::new(),
                };
                return Outcome::RollbackIncomplete {
                    message: format!(
                        "{cause}; restoring from the snapshot failed too: {err}{meanwhile}"
                    ),
                    manual: self.manual_for_live_state().await,
                };
            }
            Err(StepError::InDoubt(message)) => return self.in_doubt(message),
            Err(StepError::Journal(message)) => return self.journal_stop(&message),
        }
        self.finish_rollback(&cause.to_string()).await
    }

    /// From "the original was recreated from the snapshot": see it, give the schedules back,
    /// delete the copy.
    pub(super) async fn finish_rollback(&self, cause: &str) -> Outcome {
        let verifying = async {
            let restore = request::restore_request(&self.snapshot.describe, &self.snapshot.tags);
            read(self.verify(&restore, &self.snapshot.tags).await)
        };
        match self.step(Step::RollbackVerify, verifying).await {
            Ok(None) => {}
            Ok(Some(difference)) => {
                return Outcome::RollbackIncomplete {
                    message: format!(
                        "{cause}; the original was restored from the snapshot but differs from it: \
                         {difference}{}",
                        self.copy_kept_note()
                    ),
                    manual: format!(
                        "compare {} with the snapshot {}",
                        self.name(),
                        self.snapshot_path.display()
                    ),
                };
            }
            Err(StepError::Journal(message)) => return self.journal_stop(&message),
            Err(err) => {
                return self.in_doubt(format!(
                    "{cause}; the original was restored from the snapshot, but could not be seen: {err}"
                ));
            }
        }
        let schedules: Vec<&ScheduleSnapshot> = self.schedules().collect();
        let mut failures = self.return_schedules(&schedules, true).await;
        if failures.is_empty() {
            failures = self.drop_copies(true, None).await;
        }
        if failures.is_empty() {
            Outcome::Failed {
                message: cause.to_owned(),
                rolled_back: true,
            }
        } else {
            Outcome::RollbackIncomplete {
                message: format!(
                    "{cause}; restored from the snapshot, but: {}",
                    failures.join("; ")
                ),
                manual: self.resume_hint(),
            }
        }
    }
}
