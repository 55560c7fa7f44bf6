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

use super::ops::{OpError, Ops, Repoint, Timings};
use super::{Executor, Hints, Outcome, Target};
use crate::journal::{Event, Phase, Progress, Run, Snapshot, Step, snapshot_of};
use crate::kinds::Kind;
use crate::request;
use crate::resource::ResourceId;
use crate::sagemaker::{AwsError, ErrorClass, SageMaker};
use serde_json::Value;
use std::path::PathBuf;

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
        let client = self.client(&key.region);
        let ops = schedule_ops(client, self.timings);
        let Some(described) = ops.find_schedule(&key.name).await? else {
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
fn schedule_ops(client: &SageMaker, timings: Timings) -> Ops<'_> {
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
            manual: self
                .again
                .clone()
                .unwrap_or_else(|| self.hints.resume(&self.run.run_id)),
        }
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
        let changed = self
            .ops()
            .replace_schedule_config(self.name(), self.original_config(), &self.target_config)
            .await;
        let (phase, detail) = match &changed {
            Ok(Repoint::Moved | Repoint::AlreadyThere) => (Phase::Done, None),
            Ok(_) => (Phase::Failed, None),
            Err(OpError::Refused(err)) if err.is(ErrorClass::Transient) => {
                (Phase::InDoubt, Some(err.to_string()))
            }
            Err(OpError::Refused(err)) => (Phase::Failed, Some(err.to_string())),
            Err(OpError::InDoubt(message)) => (Phase::InDoubt, Some(message.clone())),
        };
        if let Err(stop) = self.record(Step::UpdateInline, phase, detail) {
            return stop;
        }
        match changed {
            Ok(Repoint::Moved | Repoint::AlreadyThere) => self.verify_or_roll_back().await,
            Ok(Repoint::LeftAlone { .. }) => Outcome::ChangedDuringRun {
                message: "changed during the run: someone else changed the schedule's \
                          configuration; theirs is kept and nothing of this run's is in it"
                    .to_owned(),
            },
            Ok(Repoint::Vanished) => Outcome::ChangedDuringRun {
                message: format!(
                    "changed during the run: someone else deleted the schedule; its snapshot \
                     is {}",
                    self.snapshot_path.display()
                ),
            },
            Err(OpError::Refused(err)) if err.is(ErrorClass::Validation) => Outcome::Refused {
                message: format!(
                    "SageMaker refused to change the inline job definition in place ({err}); \
                     nothing was changed. The schedule needs a manual rebuild: see \
                     docs/runbook.md, \"A schedule refuses the in-place fix\""
                ),
            },
            // The look after a lost answer settled nothing: the update may act late.
            Err(OpError::Refused(err)) if err.is(ErrorClass::Transient) => {
                self.in_doubt(format!("the update's outcome is unknown: {err}"))
            }
            Err(OpError::Refused(err)) => Outcome::Failed {
                message: format!("the update was refused ({err}); nothing was changed"),
                rolled_back: true,
            },
            Err(OpError::InDoubt(message)) => self.in_doubt(message),
        }
    }

    /// Verifies the fixed schedule; anything but the expected result is rolled back.
    async fn verify_or_roll_back(&self) -> Outcome {
        if let Err(stop) = self.record(Step::Verify, Phase::Start, None) {
            return stop;
        }
        match self.differences(&self.target_config).await {
            Ok(None) => {
                if let Err(stop) = self.record(Step::Verify, Phase::Done, None) {
                    return stop;
                }
                Outcome::Updated
            }
            Ok(Some(difference)) => {
                if let Err(stop) =
                    self.record(Step::Verify, Phase::Failed, Some(difference.clone()))
                {
                    return stop;
                }
                self.roll_back(format!("verification failed: {difference}"))
                    .await
            }
            Err(err) => {
                if let Err(stop) = self.record(Step::Verify, Phase::InDoubt, Some(err.to_string()))
                {
                    return stop;
                }
                self.in_doubt(format!("could not verify the schedule: {err}"))
            }
        }
    }

    /// How the live schedule differs from the snapshot with `config`; `None` when it does not.
    /// Its status must be back to what it was (or Scheduled/Stopped from a Failed one), and its
    /// tags must still hold the snapshot's.
    async fn differences(&self, config: &Value) -> Result<Option<String>, AwsError> {
        let Some(live) = self.ops().find_schedule(self.name()).await? else {
            return Ok(Some("the schedule does not exist".to_owned()));
        };
        if live.config() != config {
            return Ok(Some(
                "its configuration differs from the one sent".to_owned(),
            ));
        }
        let before = self.snapshot.describe["MonitoringScheduleStatus"]
            .as_str()
            .unwrap_or_default();
        if live.status != before && !(before == "Failed" && live.status != "Pending") {
            return Ok(Some(format!(
                "its status is {} (it was {before})",
                live.status
            )));
        }
        for member in ["MonitoringScheduleName", "MonitoringType", "EndpointName"] {
            if live.raw.get(member) != self.snapshot.describe.get(member) {
                return Ok(Some(format!("{member} differs from the snapshot")));
            }
        }
        let arn = self.snapshot.arn.as_str();
        let tags = self.ops().patiently(|| self.client.list_tags(arn)).await?;
        if !self.snapshot.tags.iter().all(|t| tags.contains(t)) {
            return Ok(Some("its tags differ from the snapshot".to_owned()));
        }
        Ok(None)
    }

    /// Puts the snapshot's configuration back, unless someone else changed it since.
    async fn roll_back(&self, why: String) -> Outcome {
        if let Err(stop) = self.record(Step::RollbackInline, Phase::Start, None) {
            return stop;
        }
        let put_back = self
            .ops()
            .replace_schedule_config(self.name(), &self.target_config, self.original_config())
            .await;
        let restore = self
            .hints
            .restore(&self.snapshot.region, &self.snapshot_path);
        let (phase, outcome) = match put_back {
            Ok(Repoint::Moved | Repoint::AlreadyThere) => {
                match self.differences(self.original_config()).await {
                    Ok(None) => (
                        Phase::Done,
                        Outcome::Failed {
                            message: format!("{why}; the schedule was put back as it was"),
                            rolled_back: true,
                        },
                    ),
                    Ok(Some(difference)) => (
                        Phase::Failed,
                        Outcome::RollbackIncomplete {
                            message: format!(
                                "{why}; after putting it back it still differs: {difference}"
                            ),
                            manual: restore,
                        },
                    ),
                    Err(err) => (
                        Phase::InDoubt,
                        Outcome::RollbackIncomplete {
                            message: format!("{why}; could not verify the rollback: {err}"),
                            manual: restore,
                        },
                    ),
                }
            }
            Ok(Repoint::LeftAlone { .. }) => (
                Phase::Failed,
                Outcome::ChangedDuringRun {
                    message: format!(
                        "{why}; someone else changed the schedule's configuration since, so \
                         theirs is kept (the snapshot is {})",
                        self.snapshot_path.display()
                    ),
                },
            ),
            Ok(Repoint::Vanished) => (
                Phase::Failed,
                Outcome::ChangedDuringRun {
                    message: format!(
                        "{why}; someone else deleted the schedule (the snapshot is {})",
                        self.snapshot_path.display()
                    ),
                },
            ),
            Err(err) => (
                Phase::Failed,
                Outcome::RollbackIncomplete {
                    message: format!("{why}; putting the configuration back failed: {err}"),
                    manual: restore,
                },
            ),
        };
        if let Err(stop) = self.record(Step::RollbackInline, phase, None) {
            return stop;
        }
        outcome
    }

    /// For `resume`: what the live schedule holds decides. Once a rollback started, it is
    /// finished. Otherwise the fixed configuration is verified, and the snapshot's means the
    /// update did not act, so it is sent again (safe to repeat). Anything else was set by
    /// someone else and is theirs.
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
        if progress.restoring_original {
            let why = "the run was interrupted while putting the schedule back".to_owned();
            if live.config() == self.original_config() {
                match self.differences(self.original_config()).await {
                    Ok(None) => Outcome::Failed {
                        message: format!("{why}; it is back as it was"),
                        rolled_back: true,
                    },
                    _ => self.roll_back(why).await,
                }
            } else {
                self.roll_back(why).await
            }
        } else if live.config() == &self.target_config {
            self.verify_or_roll_back().await
        } else if live.config() == self.original_config() {
            self.forward().await
        } else {
            Outcome::ChangedDuringRun {
                message: "changed during the run: someone else changed the schedule's \
                          configuration; theirs is kept"
                    .to_owned(),
            }
        }
    }
}
