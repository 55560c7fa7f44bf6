//! The forward steps: the staged recreate (claim the copy, move the schedules to it, re-check
//! and delete the original, create it compliant, move the schedules back, verify, delete the
//! copy) and the direct strategy (re-check, delete, create). Each gives up into `rollback`.

use super::{Cause, Job, StepError, read};
use crate::apply::Outcome;
use crate::apply::ops::{Created, Deleted, OpError, Ops, Repoint, Retries, holds, same_object};
use crate::journal::{ScheduleSnapshot, Step};
use crate::request;
use crate::sagemaker::{AwsError, ErrorClass, SageMaker, Tag};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::atomic::Ordering;

/// How deleting the original ended.
enum Removal {
    Deleted,
    /// Not deleted, for this reason; nothing was changed by the attempt.
    Stop(Cause),
    InDoubt(String),
    Journal(String),
}

/// What the re-check before the delete found.
enum Recheck {
    Unchanged,
    Changed(String),
    Gone,
}

impl Job<'_> {
    /// The staged recreate from the top (step 2 on; the snapshot is already on disk).
    pub async fn staged(&self) -> Outcome {
        let Some(temp) = self.temp().map(str::to_owned) else {
            return Outcome::Failed {
                message: "no temporary name was planned".to_owned(),
                rolled_back: false,
            };
        };
        // 2. Claim the copy: proves AWS accepts the request before anything is touched, and
        // stops any other run from recreating this definition meanwhile.
        let mark = self.claim();
        let temp_request = request::copy_request(&self.target_request, &temp, &mark);
        let claim = async {
            match self
                .ops()
                .create(&temp, &temp_request, None, Some(&mark))
                .await?
            {
                Created::Made => Ok(()),
                Created::Taken { .. } => Err(OpError::Refused(AwsError {
                    operation: "claim".to_owned(),
                    class: ErrorClass::InUse,
                    code: None,
                    message: format!("{temp} exists"),
                })),
            }
        };
        match self.step(Step::CreateTemporary, claim).await {
            Ok(()) => self.owns_copy.store(true, Ordering::SeqCst),
            Err(StepError::Refused(err)) if err.operation == "claim" => {
                return Outcome::Busy {
                    message: format!(
                        "its temporary copy {temp} exists: another run is recreating it, or an \
                         unfinished one left it (`resume` that run; if none is running, delete \
                         {temp}); nothing was changed"
                    ),
                };
            }
            // Every attempt was seen not to act. (Should one still act late, the copy bears this
            // run's claim: the next run reports it busy, naming it.)
            Err(StepError::Refused(err)) => {
                return Outcome::Failed {
                    message: format!("AWS refused the compliant copy; nothing was changed: {err}"),
                    rolled_back: true,
                };
            }
            Err(StepError::InDoubt(message)) => {
                self.owns_copy.store(true, Ordering::SeqCst);
                return self.in_doubt(message);
            }
            Err(StepError::Journal(message)) => return self.journal_stop(&message),
        }
        // 3. Move the schedules to the copy.
        let mut moved: Vec<&ScheduleSnapshot> = Vec::new();
        for schedule in self.schedules() {
            let step = Step::RepointToTemporary(schedule.name.clone());
            let (ops, from) = (self.ops(), [self.name()]);
            let moving = ops.repoint_schedule(&schedule.name, &from, &temp);
            let cause = match self.step(step, moving).await {
                Ok(Repoint::Moved | Repoint::AlreadyThere) => {
                    moved.push(schedule);
                    continue;
                }
                Ok(Repoint::Vanished) => continue,
                Ok(Repoint::LeftAlone { points_at }) => Cause::Changed(format!(
                    "changed during the run: someone pointed schedule {} at {points_at}",
                    schedule.name
                )),
                Err(StepError::Refused(err)) => {
                    moved.push(schedule);
                    Cause::Failed(err.to_string())
                }
                Err(StepError::InDoubt(message)) => return self.in_doubt(message),
                Err(StepError::Journal(message)) => return self.journal_stop(&message),
            };
            return self.hand_back(cause, &moved).await;
        }
        // 4. and 5. Re-check the original right before deleting it, and delete it.
        match self.recheck_and_delete().await {
            Removal::Deleted => {}
            Removal::Stop(cause) => return self.hand_back(cause, &moved).await,
            Removal::InDoubt(message) => return self.in_doubt(message),
            Removal::Journal(message) => return self.journal_stop(&message),
        }
        self.finish_from_deleted().await
    }

    /// Re-checks the original and deletes it; a delete that did not act (throttled, or a lost
    /// answer after which the original was seen still there) is sent again only after another
    /// re-check, so a change someone makes meanwhile is never deleted with it.
    async fn recheck_and_delete(&self) -> Removal {
        let mut retries = Retries::default();
        // An earlier attempt's answer was lost: it may act late, so the original gone now is
        // taken for this run's delete.
        let mut lost = false;
        loop {
            let rechecked = self
                .step(Step::RecheckOriginal, async { read(self.recheck().await) })
                .await;
            let together = match rechecked {
                Ok((Recheck::Unchanged, together)) => together,
                Ok((Recheck::Gone, _)) if lost => return Removal::Deleted,
                // An earlier delete may still act: undoing now could lose what it deletes.
                Ok(_) | Err(StepError::Refused(_)) if lost => {
                    return Removal::InDoubt(format!(
                        "an earlier delete of {} had its answer lost and may still act; it \
                         changed or could not be seen since",
                        self.name()
                    ));
                }
                Ok((Recheck::Changed(what), _)) => return Removal::Stop(Cause::Changed(what)),
                Ok((Recheck::Gone, _)) => {
                    return Removal::Stop(Cause::Changed(
                        "changed during the run: someone deleted it".to_owned(),
                    ));
                }
                Err(StepError::Journal(message)) => return Removal::Journal(message),
                Err(err) => {
                    return Removal::Stop(Cause::Failed(format!(
                        "could not re-check it before deleting it: {err}"
                    )));
                }
            };
            // The delete goes in the slot taken with the re-check's looks.
            let ops = Ops {
                client: &together,
                ..self.ops()
            };
            let deleting = ops.delete_once(self.name(), &self.snapshot.describe);
            match self.step(Step::DeleteOriginal, deleting).await {
                Ok(Deleted::Deleted | Deleted::AlreadyGone) => return Removal::Deleted,
                Ok(Deleted::Replaced { .. }) => {
                    return Removal::Stop(Cause::Changed(
                        "changed during the run: someone replaced it with a new version".to_owned(),
                    ));
                }
                Err(StepError::Refused(err)) => {
                    lost |= err.is(ErrorClass::Transient);
                    if ops
                        .may_retry(&OpError::Refused(err.clone()), &mut retries)
                        .await
                    {
                        continue;
                    }
                    if lost {
                        return Removal::InDoubt(format!(
                            "delete of {}: {err}; an earlier answer was lost and it may still act",
                            self.name()
                        ));
                    }
                    return Removal::Stop(Cause::Failed(err.to_string()));
                }
                Err(StepError::InDoubt(message)) => return Removal::InDoubt(message),
                Err(StepError::Journal(message)) => return Removal::Journal(message),
            }
        }
    }

    /// Lists the original's tags and describes it again, and compares them with the snapshot.
    /// The looks and the delete that may follow go in slots of the rate limit taken together
    /// (`SageMaker::together`): a slot for each page of tags the snapshot says there are (50 a
    /// page, and one more when a page is full), one for the describe and the last for the
    /// delete. No other call of the account-region waits between the looks and the delete
    /// decided on them: the window SageMaker's unconditional delete leaves is a round trip
    /// without a limit, and under one a slot after the describe (which tells a replacement) and
    /// a slot more per page after the tags. A failed look takes them all again, so the looks are
    /// of one moment. Returns the handle whose remaining slot is the delete's.
    async fn recheck(&self) -> Result<(Recheck, SageMaker), AwsError> {
        let ops = self.ops();
        let tag_pages = self.snapshot.tags.len() / 50 + 1;
        ops.patiently(|| async {
            let together = self.client.together(tag_pages + 2).await;
            let found = Ops {
                client: &together,
                ..self.ops()
            }
            .find_with_tags_once(self.name(), &self.snapshot.arn)
            .await?;
            let recheck = match found {
                None => Recheck::Gone,
                Some((live, tags))
                    if request::snapshot_hash(&live, &tags) == self.snapshot.snapshot_sha256 =>
                {
                    Recheck::Unchanged
                }
                Some((live, tags)) => Recheck::Changed(self.what_changed(&live, &tags)),
            };
            Ok((recheck, together))
        })
        .await
    }

    pub(super) fn what_changed(&self, live: &Value, tags: &[Tag]) -> String {
        let what = if !same_object(live, &self.snapshot.describe) {
            "someone replaced it with a new version"
        } else if !holds(live, &self.snapshot.describe) {
            "someone changed its content"
        } else {
            let live: BTreeSet<&Tag> = tags.iter().collect();
            let recorded: BTreeSet<&Tag> = self.snapshot.tags.iter().collect();
            if live != recorded {
                "someone changed its tags"
            } else {
                "it differs from the snapshot"
            }
        };
        format!("changed during the run: {what}; left as they made it")
    }

    /// Steps 5–8, from the state "original deleted, copy holds the schedules" (also where
    /// `resume` re-enters when it finds the original gone after this run's delete).
    pub async fn finish_from_deleted(&self) -> Outcome {
        // 5. Create the original name, compliant.
        let ops = self.ops();
        let creating = ops.create(
            self.name(),
            &self.target_request,
            Some(&self.snapshot.describe),
            None,
        );
        match self.step(Step::CreateOriginal, creating).await {
            Ok(Created::Made) => {}
            // Exactly the target: an earlier attempt whose answer was lost; verify decides.
            Ok(Created::Taken { live }) if holds(&live, &self.target_request) => {}
            Ok(Created::Taken { .. }) => return self.someone_took_the_name("").await,
            Err(StepError::Refused(err)) => return self.roll_back_after_delete(&err).await,
            Err(StepError::InDoubt(message)) => return self.in_doubt(message),
            Err(StepError::Journal(message)) => return self.journal_stop(&message),
        }
        self.finish_from_recreated().await
    }

    /// Steps 6–8, from the state "original recreated".
    pub async fn finish_from_recreated(&self) -> Outcome {
        let mut warnings = Vec::new();
        // 6. Schedules back to the original name.
        let mut left_on_copy = false;
        for schedule in self.schedules() {
            let step = Step::RepointToOriginal(schedule.name.clone());
            let (ops, from) = (self.ops(), self.copy_names());
            let moving = ops.repoint_schedule(&schedule.name, &from, self.name());
            match self.step(step, moving).await {
                Ok(Repoint::Moved | Repoint::AlreadyThere | Repoint::Vanished) => {}
                Ok(Repoint::LeftAlone { points_at }) => tracing::warn!(
                    item = %self.key(),
                    "schedule {} was pointed at {points_at} by someone else during the run; left there",
                    schedule.name
                ),
                Err(StepError::Refused(err)) => {
                    left_on_copy = true;
                    warnings.push(format!(
                        "schedule {} stays on the compliant copy {}: {err}",
                        schedule.name,
                        self.temp().unwrap_or("?")
                    ));
                }
                Err(StepError::InDoubt(message)) => return self.in_doubt(message),
                Err(StepError::Journal(message)) => return self.journal_stop(&message),
            }
        }
        // 7. Verify: the copy may go only once the original is seen as it should be. Whether
        // the copy is ours is looked at meanwhile; only its delete waits.
        let verifying =
            async { read(self.verify(&self.target_request, &self.expected_tags).await) };
        let own_copy = self.temp().filter(|_| self.owns_copy() && !left_on_copy);
        let looking = async {
            match own_copy {
                Some(copy) => Some(self.ops().find(copy).await),
                None => None,
            }
        };
        let (verified, looked) = tokio::join!(self.step(Step::Verify, verifying), looking);
        match verified {
            Ok(None) => {}
            // Someone's change since the create, or the service's own rendering: only a person
            // can tell, so the copy is kept (with any schedule that stayed on it) and named.
            Ok(Some(difference)) => {
                let stayed = warnings
                    .iter()
                    .map(|w| format!("; {w}"))
                    .collect::<String>();
                return Outcome::VerifyFailed {
                    message: format!(
                        "verification failed: {difference}{}{stayed}",
                        self.copy_kept_note()
                    ),
                };
            }
            Err(StepError::Journal(message)) => return self.journal_stop(&message),
            Err(err) => return self.in_doubt(format!("could not verify the result: {err}")),
        }
        // 8. Delete the copy, unless a schedule still needs it.
        if left_on_copy {
            warnings.push(format!(
                "temporary copy {} kept for the schedules above; `{}` moves them back and \
                 deletes it",
                self.temp().unwrap_or("?"),
                self.resume_hint()
            ));
            return Outcome::Recreated { warnings };
        }
        warnings.extend(self.drop_copies(false, looked).await);
        Outcome::Recreated { warnings }
    }

    /// The direct strategy: re-check, delete, create, roll back from the snapshot. No temporary
    /// name, so it refuses definitions that schedules reference.
    pub async fn direct(&self) -> Outcome {
        if !self.snapshot.schedules.is_empty() {
            let names: Vec<&str> = self.schedules().map(|s| s.name.as_str()).collect();
            return Outcome::Refused {
                message: format!(
                    "--strategy direct cannot recreate a definition that schedules reference ({}); \
                     use --strategy staged",
                    names.join(", ")
                ),
            };
        }
        match self.recheck_and_delete().await {
            Removal::Deleted => self.finish_from_deleted().await,
            Removal::Stop(Cause::Changed(message)) => Outcome::ChangedDuringRun { message },
            // The re-check or the delete failed, and the delete did not act.
            Removal::Stop(cause) => Outcome::FailedUntouched {
                message: format!("nothing was changed: {cause}"),
            },
            Removal::InDoubt(message) => self.in_doubt(message),
            Removal::Journal(message) => self.journal_stop(&message),
        }
    }
}
