//! Fixing a monitoring schedule's inline job definition in place (SageMaker.14, .22): snapshot,
//! `UpdateMonitoringSchedule` with the whole live configuration and only the fixed flags changed
//! (the service replaces the configuration, AWS-FACTS #5), wait until it settles, verify, and on
//! any failure update back to the snapshot's configuration. A schedule is never deleted.
//!
//! The invariants of docs/protocol.md hold as for definitions: the snapshot is on disk before
//! the update; every step is journaled before it acts; an update is sent only while the live
//! configuration is the one this run expects (so nobody's change is overwritten), and a lost
//! answer is settled by looking, never by guessing. Whether the service accepts an in-place
//! change of the inline `NetworkConfig` is unconfirmed (AWS-FACTS #15): a refusal leaves the
//! schedule as it was and reports it as needing a manual rebuild, with AWS's message.

use super::ops::{OpError, Ops, Repoint, Timings, config_matches};
use super::{Executor, Hints, Outcome, Target};
use crate::journal::{Event, Phase, Progress, Run, Snapshot, Step, snapshot_of};
use crate::kinds::Kind;
use crate::request;
use crate::resource::ResourceId;
use crate::sagemaker::{AwsError, ErrorClass, SageMaker};
use serde_json::Value;
use std::path::PathBuf;

/// Whose the fixed configuration on a schedule is, for deciding whether a failed verify is
/// undone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    /// This run's update acted.
    ThisRun,
    /// This run sent nothing that acted: someone else made the same fix.
    SomeoneElse,
    /// The journal says the update was about to go out, and not whether it did.
    Unknown,
}

/// One schedule's in-place fix, with what its steps need.
pub struct InlineJob<'a> {
    pub run: &'a Run,
    pub client: &'a SageMaker,
    pub snapshot: Snapshot,
    pub snapshot_path: PathBuf,
    /// The configuration the schedule should end with.
    pub target_config: Value,
    pub hints: Hints,
    /// The command that continues this job, when it is not `resume` (for `restore`: itself).
    pub again: Option<String>,
    pub timings: Timings,
}

impl Executor {
    /// One schedule, start to end: check it is still as planned, snapshot it, fix it.
    pub(super) async fn fix_inline(&self, target: &Target) -> Outcome {
        match self.prepare_inline(target).await {
            Ok(Ok(job)) => job.forward().await,
            Ok(Err(outcome)) => outcome,
            Err(err) => Outcome::FailedUntouched {
                message: format!("nothing was changed: {err}"),
            },
        }
    }

    /// Describes the schedule and its tags, compares them with the plan, writes the snapshot.
    async fn prepare_inline(
        &self,
        target: &Target,
    ) -> Result<Result<InlineJob<'_>, Outcome>, AwsError> {
        let key = &target.key;
        let client = self
            .client(key)
            .map_err(|m| AwsError::local("connect", m))?;
        let ops = schedule_ops(client, self.timings);
        // Settled first (not Pending, no execution running): what is snapshotted is what the
        // update starts from.
        let Some(described) = ops.settle_schedule(&key.name).await? else {
            return Ok(Err(Outcome::Missing {
                message: "the schedule no longer exists; nothing to do".to_owned(),
            }));
        };
        let describe = described.raw;
        let arn = describe["MonitoringScheduleArn"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let tags = match client.list_tags(&arn).await {
            Ok(tags) => tags,
            Err(err) if err.is(ErrorClass::NotFound) => {
                return Ok(Err(Outcome::Missing {
                    message: "the schedule disappeared while being read; nothing to do".to_owned(),
                }));
            }
            Err(err) => return Err(err),
        };
        if request::schedule_hash(&describe, &tags) != target.planned_sha256 {
            return Ok(Err(Outcome::ChangedSincePlan {
                message: "changed since plan: the live schedule's configuration or tags differ \
                          from what was planned; left alone (plan again)"
                    .to_owned(),
            }));
        }
        let snapshot = snapshot_of(
            &self.run,
            key,
            target.fixes,
            &arn,
            describe,
            tags,
            Vec::new(),
            None,
        );
        let snapshot_path = self
            .run
            .write_snapshot(&snapshot)
            .map_err(|e| AwsError::local("snapshot", e.to_string()))?;
        self.run
            .record(Event::ItemStarted {
                item: key.clone(),
                snapshot: snapshot_path.clone(),
            })
            .map_err(|e| AwsError::local("journal", e.to_string()))?;
        Ok(Ok(self.inline_job(client, snapshot, snapshot_path)))
    }

    /// The job that fixes the snapshotted schedule: its target derives from the snapshot alone.
    pub(super) fn inline_job<'a>(
        &'a self,
        client: &'a SageMaker,
        snapshot: Snapshot,
        snapshot_path: PathBuf,
    ) -> InlineJob<'a> {
        let target_config = request::schedule_update_request(&snapshot.describe, snapshot.fixes)
            .map(|request| request["MonitoringScheduleConfig"].clone())
            .unwrap_or(Value::Null);
        InlineJob {
            run: &self.run,
            client,
            snapshot,
            snapshot_path,
            target_config,
            hints: self.hints.clone(),
            again: None,
            timings: self.timings,
        }
    }
}

/// Ops for schedules: they need a client and timings; the kind is not used by schedule calls.
pub fn schedule_ops(client: &SageMaker, timings: Timings) -> Ops<'_> {
    Ops {
        client,
        kind: Kind::DataQuality,
        timings,
    }
}

impl InlineJob<'_> {
    fn key(&self) -> ResourceId {
        self.snapshot.key()
    }

    fn name(&self) -> &str {
        &self.snapshot.name
    }

    fn ops(&self) -> Ops<'_> {
        schedule_ops(self.client, self.timings)
    }

    fn original_config(&self) -> &Value {
        &self.snapshot.describe["MonitoringScheduleConfig"]
    }

    fn record(&self, step: Step, phase: Phase, detail: Option<String>) -> Result<(), Outcome> {
        self.run
            .record(Event::Step {
                item: self.key(),
                step,
                phase,
                detail,
            })
            .map_err(|e| {
                self.in_doubt(format!(
                    "the journal cannot be written ({e}), so no further call was made"
                ))
            })
    }

    fn in_doubt(&self, message: String) -> Outcome {
        Outcome::InDoubt {
            message: format!("{message}; stopped without undoing anything"),
            manual: self.continue_hint(),
        }
    }

    /// `resume` of this run, or for `restore` the restore itself.
    fn continue_hint(&self) -> String {
        self.again
            .clone()
            .unwrap_or_else(|| self.hints.resume(&self.run.run_id))
    }

    /// Updates the schedule to the compliant configuration, then verifies.
    pub async fn forward(&self) -> Outcome {
        if self.target_config.is_null() {
            return Outcome::Refused {
                message: "the schedule names a job definition instead of holding one inline; \
                          nothing to change in place"
                    .to_owned(),
            };
        }
        if let Err(stop) = self.record(Step::UpdateInline, Phase::Start, None) {
            return stop;
        }
        let (changed, sent) = self
            .ops()
            .replace_schedule_config(self.name(), self.original_config(), &self.target_config)
            .await;
        let step_ended = |phase, detail| self.record(Step::UpdateInline, phase, detail);
        match changed {
            Ok(Repoint::Moved) => match step_ended(Phase::Done, None) {
                Ok(()) => self.verify_or_roll_back(Owner::ThisRun).await,
                Err(stop) => stop,
            },
            // Someone else made the same change: theirs, never rolled back by this run. The
            // journal says nothing of this run's acted.
            Ok(Repoint::AlreadyThere) => {
                let detail = Some("already in place: this run sent nothing".to_owned());
                match step_ended(Phase::Failed, detail) {
                    Ok(()) => self.verify_or_roll_back(Owner::SomeoneElse).await,
                    Err(stop) => stop,
                }
            }
            Ok(Repoint::LeftAlone { .. }) => {
                step_ended(Phase::Failed, None)
                    .err()
                    .unwrap_or(Outcome::ChangedDuringRun {
                        message: "changed during the run: someone else changed the schedule's \
                              configuration; theirs is kept and nothing of this run's is in it"
                            .to_owned(),
                    })
            }
            Ok(Repoint::Vanished) => {
                step_ended(Phase::Failed, None)
                    .err()
                    .unwrap_or(Outcome::ChangedDuringRun {
                        message: format!(
                            "changed during the run: someone else deleted the schedule; its \
                         snapshot is {}",
                            self.snapshot_path.display()
                        ),
                    })
            }
            Err(OpError::Refused(err)) => self.after_refusal(err, sent).await,
            Err(OpError::InDoubt(message)) => {
                match step_ended(Phase::InDoubt, Some(message.clone())) {
                    Ok(()) => self.in_doubt(message),
                    Err(stop) => stop,
                }
            }
        }
    }

    /// A refusal may follow an update that acted (the schedule Failed after it), or be the
    /// service refusing the change: what the schedule holds now, and whether this run sent an
    /// update that may have acted (`sent`), decide; the journal says so.
    async fn after_refusal(&self, err: AwsError, sent: bool) -> Outcome {
        let live = match self.ops().settle_schedule(self.name()).await {
            Ok(live) => live,
            Err(look) => {
                let message = format!("the update failed ({err}) and looking failed too ({look})");
                return match self.record(Step::UpdateInline, Phase::InDoubt, Some(message.clone()))
                {
                    Ok(()) => self.in_doubt(message),
                    Err(stop) => stop,
                };
            }
        };
        let detail = Some(err.to_string());
        let Some(live) = live else {
            return self
                .record(Step::UpdateInline, Phase::Failed, detail)
                .err()
                .unwrap_or(Outcome::ChangedDuringRun {
                    message: format!(
                        "the update failed ({err}), and someone else deleted the schedule; its \
                         snapshot is {}",
                        self.snapshot_path.display()
                    ),
                });
        };
        if config_matches(live.config(), &self.target_config) {
            if sent {
                // It acted (and then failed): this run's change, to be undone.
                return match self.record(Step::UpdateInline, Phase::Done, detail) {
                    Ok(()) => self.roll_back(format!("the update failed: {err}")).await,
                    Err(stop) => stop,
                };
            }
            // Refused, and meanwhile someone else made the same fix: theirs.
            return match self.record(Step::UpdateInline, Phase::Failed, detail) {
                Ok(()) => self.verify_or_roll_back(Owner::SomeoneElse).await,
                Err(stop) => stop,
            };
        }
        if !config_matches(live.config(), self.original_config()) {
            return self
                .record(Step::UpdateInline, Phase::Failed, detail)
                .err()
                .unwrap_or(Outcome::ChangedDuringRun {
                    message: format!(
                        "the update failed ({err}), and someone else changed the schedule's \
                         configuration meanwhile; theirs is kept"
                    ),
                });
        }
        // As it was. A lost answer may still act late: in doubt, for `resume` to look again.
        if err.is(ErrorClass::Transient) {
            let message = format!("the update's outcome is unknown: {err}");
            return match self.record(Step::UpdateInline, Phase::InDoubt, Some(message.clone())) {
                Ok(()) => self.in_doubt(message),
                Err(stop) => stop,
            };
        }
        if let Err(stop) = self.record(Step::UpdateInline, Phase::Failed, detail) {
            return stop;
        }
        if err.is(ErrorClass::Validation) {
            Outcome::Refused {
                message: format!(
                    "SageMaker refused to change the inline job definition in place ({err}); \
                     nothing was changed. The schedule needs a manual rebuild: see \
                     docs/runbook.md, \"A schedule refuses the in-place fix\""
                ),
            }
        } else {
            Outcome::Failed {
                message: format!("the update was refused ({err}); nothing was changed"),
                rolled_back: true,
            }
        }
    }

    /// Verifies the fixed schedule. A failure is rolled back only when this run's update is
    /// what is there; a fix someone else made is theirs to keep, and one that may be either is
    /// left for a person.
    async fn verify_or_roll_back(&self, owner: Owner) -> Outcome {
        if let Err(stop) = self.record(Step::Verify, Phase::Start, None) {
            return stop;
        }
        match self.differences(&self.target_config).await {
            Ok(None) => match self.record(Step::Verify, Phase::Done, None) {
                Ok(()) => Outcome::Updated,
                Err(stop) => stop,
            },
            Ok(Some(difference)) => {
                if let Err(stop) =
                    self.record(Step::Verify, Phase::Failed, Some(difference.clone()))
                {
                    return stop;
                }
                match owner {
                    Owner::ThisRun => {
                        self.roll_back(format!("verification failed: {difference}"))
                            .await
                    }
                    Owner::SomeoneElse => Outcome::ChangedDuringRun {
                        message: format!(
                            "someone else made the same change during the run, and the schedule \
                             now differs ({difference}); theirs is kept, nothing was undone"
                        ),
                    },
                    // Never undone on a guess.
                    Owner::Unknown => Outcome::InDoubt {
                        message: format!(
                            "the schedule holds the fixed configuration but {difference}, and the \
                             journal cannot tell whether this run's update or someone else's \
                             made it; nothing was undone"
                        ),
                        manual: self.put_back_hint(),
                    },
                }
            }
            Err(err) => {
                let message = format!("could not verify the schedule: {err}");
                match self.record(Step::Verify, Phase::InDoubt, Some(message.clone())) {
                    Ok(()) => self.in_doubt(message),
                    Err(stop) => stop,
                }
            }
        }
    }

    /// How the live schedule differs from what this run expects; `None` when it does not. Only
    /// what the update touches is compared (the configuration), and that it has not Failed
    /// because of it: a status or a tag someone else changed is theirs, not a failed fix.
    async fn differences(&self, config: &Value) -> Result<Option<String>, AwsError> {
        let Some(live) = self.ops().settle_schedule(self.name()).await? else {
            return Ok(Some("the schedule does not exist".to_owned()));
        };
        if !config_matches(live.config(), config) {
            return Ok(Some(
                "its configuration differs from the one sent".to_owned(),
            ));
        }
        let before = self.snapshot.describe["MonitoringScheduleStatus"]
            .as_str()
            .unwrap_or_default();
        if live.status == "Failed" && before != "Failed" {
            let reason = live.raw["FailureReason"]
                .as_str()
                .unwrap_or("no reason given");
            return Ok(Some(format!("it is Failed: {reason}")));
        }
        Ok(None)
    }

    /// Puts the snapshot's configuration back, unless someone else changed it since.
    async fn roll_back(&self, why: String) -> Outcome {
        if let Err(stop) = self.record(Step::RollbackInline, Phase::Start, None) {
            return stop;
        }
        let (put_back, _) = self
            .ops()
            .replace_schedule_config(self.name(), &self.target_config, self.original_config())
            .await;
        let snapshot = self.snapshot_path.display();
        let (phase, outcome) = match put_back {
            Ok(Repoint::Moved | Repoint::AlreadyThere) => (
                Phase::Done,
                Outcome::Failed {
                    message: format!(
                        "{why}; the schedule's configuration was put back as it was{}",
                        self.failed_note().await
                    ),
                    rolled_back: true,
                },
            ),
            Ok(Repoint::LeftAlone { .. }) => (
                Phase::Failed,
                Outcome::ChangedDuringRun {
                    message: format!(
                        "{why}; someone else changed the schedule's configuration since, so \
                         theirs is kept (the snapshot is {snapshot})"
                    ),
                },
            ),
            Ok(Repoint::Vanished) => (
                Phase::Failed,
                Outcome::ChangedDuringRun {
                    message: format!(
                        "{why}; someone else deleted the schedule (the snapshot is {snapshot})"
                    ),
                },
            ),
            Err(OpError::Refused(err)) => (
                Phase::Failed,
                Outcome::RollbackIncomplete {
                    message: format!("{why}; putting the configuration back failed: {err}"),
                    manual: self.put_back_hint(),
                },
            ),
            Err(OpError::InDoubt(message)) => {
                (Phase::InDoubt, self.in_doubt(format!("{why}; {message}")))
            }
        };
        if let Err(stop) = self.record(Step::RollbackInline, phase, None) {
            return stop;
        }
        outcome
    }

    /// The command that puts the snapshot's configuration over what is there now.
    fn put_back_hint(&self) -> String {
        self.hints
            .restore_replacing(&self.snapshot.region, &self.snapshot_path)
    }

    /// `; it is Failed: REASON` when the schedule is Failed now and was not before.
    async fn failed_note(&self) -> String {
        let before = self.snapshot.describe["MonitoringScheduleStatus"].as_str();
        match self.ops().find_schedule(self.name()).await {
            Ok(Some(live)) if live.status == "Failed" && before != Some("Failed") => format!(
                "; it is Failed: {}",
                live.raw["FailureReason"]
                    .as_str()
                    .unwrap_or("no reason given")
            ),
            _ => String::new(),
        }
    }

    /// Whether the schedule was changed since the snapshot (its `LastModifiedTime` moved): an
    /// update, a stop or a start, by anyone. A missing time counts as changed.
    fn modified_since_snapshot(&self, live: &crate::sagemaker::ScheduleDescription) -> bool {
        let before = self.snapshot.describe.get("LastModifiedTime");
        before.is_none() || live.raw.get("LastModifiedTime") != before
    }

    /// For `resume`: what the live schedule holds and what the journal says this run did
    /// decide. A rollback that started is finished. The fixed configuration is verified (and
    /// undone on failure only if this run sent it). The snapshot's configuration means the
    /// update did not act, so it is sent again (safe to repeat), unless the journal saw it in
    /// place: then someone put it back, and that is theirs. Anything else is someone else's.
    pub async fn reconcile(&self, progress: Progress) -> Outcome {
        let live = match self.ops().settle_schedule(self.name()).await {
            Ok(live) => live,
            Err(err) => return self.in_doubt(format!("could not look at the schedule: {err}")),
        };
        let Some(live) = live else {
            return Outcome::ChangedDuringRun {
                message: format!(
                    "the schedule no longer exists: someone else deleted it (the snapshot is {})",
                    self.snapshot_path.display()
                ),
            };
        };
        let fixed = config_matches(live.config(), &self.target_config);
        let original = config_matches(live.config(), self.original_config());
        if progress.restoring_original {
            if fixed {
                return self
                    .roll_back("the run stopped while putting the schedule back".to_owned())
                    .await;
            }
            if original {
                return Outcome::Failed {
                    message: format!(
                        "the schedule's configuration was put back as it was{}",
                        self.failed_note().await
                    ),
                    rolled_back: true,
                };
            }
        } else if fixed {
            let owner = if progress.inline_update_done {
                Owner::ThisRun
            } else if progress.inline_update_started {
                // Journaled as about to be sent; whether it was is not known.
                Owner::Unknown
            } else {
                Owner::SomeoneElse
            };
            return self.verify_or_roll_back(owner).await;
        } else if original
            && !progress.inline_update_done
            && !(progress.inline_update_started && self.modified_since_snapshot(&live))
        {
            // Never updated since the snapshot: whatever this run announced did not act.
            return self.forward().await;
        } else if original && !progress.inline_update_done {
            // Updated since the snapshot, yet holding its configuration: this run's update
            // may have acted and someone put the old configuration back. Theirs.
            return Outcome::ChangedDuringRun {
                message: "changed during the run: the schedule was updated since the snapshot \
                          and holds its earlier configuration again (someone may have put it \
                          back after this run's update); left as it is (plan again)"
                    .to_owned(),
            };
        } else if original {
            return Outcome::ChangedDuringRun {
                message: "changed during the run: someone put the schedule's earlier \
                          configuration back after this run's update; theirs is kept"
                    .to_owned(),
            };
        }
        Outcome::ChangedDuringRun {
            message: "changed during the run: someone else changed the schedule's \
                      configuration; theirs is kept"
                .to_owned(),
        }
    }
}
