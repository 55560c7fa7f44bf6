//! The staged recreate (DESIGN.md, "The staged recreate") and the direct strategy, one definition
//! at a time. Every step is journaled before and after; every step is idempotent, so `resume`
//! can re-enter the protocol from what it finds live.

use super::ops::{Ops, Repoint, Timings, holds};
use super::{Outcome, Strategy};
use crate::journal::{Event, ItemKey, Phase, Run, ScheduleSnapshot, Snapshot};
use crate::plan::request::{self, is_reserved_tag};
use crate::sagemaker::{AwsError, SageMaker, Tag};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

/// One definition's recreate, with everything the steps need.
pub struct Job<'a> {
    pub run: &'a Run,
    pub client: &'a SageMaker,
    pub snapshot: Snapshot,
    pub snapshot_path: PathBuf,
    /// The request that creates the definition as it should end up (compliant, or for `restore`
    /// the snapshot itself).
    pub target_request: Value,
    /// The tags the definition should end with.
    pub expected_tags: Vec<Tag>,
    /// How to invoke the tool again with the same account settings, for printed hints.
    pub command: String,
    /// Other names whose schedules and copies this job may take over (for `restore`: the
    /// temporary names an earlier, interrupted run of the same definition may have used).
    pub extra_owned: Vec<String>,
    /// The command that continues this job, when it is not `resume` (for `restore`: itself).
    pub again: Option<String>,
    pub timings: Timings,
}

impl Job<'_> {
    pub fn key(&self) -> ItemKey {
        self.snapshot.key()
    }

    fn ops(&self) -> Ops<'_> {
        Ops {
            client: self.client,
            kind: self.snapshot.kind,
            timings: self.timings,
        }
    }

    fn name(&self) -> &str {
        &self.snapshot.name
    }

    fn temp(&self) -> Option<&str> {
        self.snapshot.temporary_name.as_deref()
    }

    /// Journals a step's start and outcome around `work`. A journal write failure stops the step:
    /// acting without a record would make a crash unrecoverable.
    async fn step<T>(
        &self,
        step: &str,
        work: impl Future<Output = Result<T, AwsError>>,
    ) -> Result<T, StepError> {
        self.record(step, Phase::Start, None)?;
        tracing::debug!(item = %self.key(), step, "step started");
        match work.await {
            Ok(value) => {
                self.record(step, Phase::Done, None)?;
                Ok(value)
            }
            Err(err) => {
                self.record(step, Phase::Failed, Some(err.to_string()))?;
                tracing::debug!(item = %self.key(), step, error = %err, "step failed");
                Err(StepError::Aws(err))
            }
        }
    }

    fn record(&self, step: &str, phase: Phase, detail: Option<String>) -> Result<(), StepError> {
        self.run
            .record(Event::Step {
                item: self.key(),
                step: step.to_owned(),
                phase,
                detail,
            })
            .map_err(|e| StepError::Journal(e.to_string()))
    }

    fn original_configs(&self) -> impl Iterator<Item = &ScheduleSnapshot> {
        self.snapshot.schedules.iter()
    }

    /// The staged recreate from the top (step 2 on; the snapshot is already on disk).
    pub async fn staged(&self) -> Outcome {
        let Some(temp) = self.temp().map(str::to_owned) else {
            return Outcome::Failed {
                message: "no temporary name was planned".to_owned(),
                rolled_back: false,
            };
        };
        // 2. Create the compliant copy: proves AWS accepts the request before anything is touched.
        let temp_request = request::renamed(&self.target_request, &temp);
        if let Err(err) = self
            .step(
                "create-temporary",
                self.ops().create(&temp, &temp_request, None),
            )
            .await
        {
            return self.undo_before_delete(&err, &[]).await;
        }
        // 3. Move the schedules to the copy.
        let mut moved: Vec<&ScheduleSnapshot> = Vec::new();
        for schedule in self.original_configs() {
            moved.push(schedule);
            let step = format!("repoint-schedule-to-temporary:{}", schedule.name);
            let failure = match self
                .step(
                    &step,
                    self.ops().repoint_schedule(
                        &schedule.name,
                        &self.owned_besides(self.name()),
                        &temp,
                    ),
                )
                .await
            {
                Ok(Repoint::LeftAlone { points_at }) => StepError::Aws(AwsError::local(
                    "UpdateMonitoringSchedule",
                    format!(
                        "schedule {} now points at {points_at:?}, not at {}: it changed since the \
                         snapshot; plan again",
                        schedule.name,
                        self.name()
                    ),
                )),
                Ok(_) => continue,
                Err(err) => err,
            };
            return self.undo_before_delete(&failure, &moved).await;
        }
        // 4. Delete the original.
        if let Err(err) = self
            .step("delete-original", self.ops().delete(self.name()))
            .await
        {
            return self.undo_before_delete(&err, &moved).await;
        }
        self.finish_from_deleted().await
    }

    /// Steps 5–8, from the state "original deleted, copy holds the schedules" (also where
    /// `resume` re-enters when it finds the original gone).
    pub async fn finish_from_deleted(&self) -> Outcome {
        // 5. Create the original name, compliant.
        if let Err(err) = self
            .step(
                "create-original",
                self.ops().create(
                    self.name(),
                    &self.target_request,
                    Some(&self.snapshot.describe),
                ),
            )
            .await
        {
            return self.roll_back_after_delete(&err).await;
        }
        self.finish_from_recreated().await
    }

    /// Steps 6–8, from the state "original recreated".
    pub async fn finish_from_recreated(&self) -> Outcome {
        let mut warnings = Vec::new();
        // 6. Schedules back to the original name.
        let mut left_on_temporary = false;
        for schedule in self.original_configs() {
            let step = format!("repoint-schedule-to-original:{}", schedule.name);
            match self
                .step(
                    &step,
                    self.ops()
                        .repoint_schedule(&schedule.name, &self.temp_names(), self.name()),
                )
                .await
            {
                Ok(Repoint::LeftAlone { points_at }) => warnings.push(format!(
                    "schedule {} was moved to {points_at:?} by someone else during the run; left there",
                    schedule.name
                )),
                Ok(_) => {}
                Err(err) => {
                    left_on_temporary = true;
                    warnings.push(format!(
                        "schedule {} stays on the compliant copy {}: {err}",
                        schedule.name,
                        self.temp().unwrap_or("?")
                    ));
                }
            }
        }
        // 7. Delete the copy (unless a schedule still needs it), and 8. verify: independent of
        // each other, so they overlap.
        let delete_copy = async {
            let mut notes = Vec::new();
            if left_on_temporary {
                notes.push(format!(
                    "temporary copy {} kept for the schedules above; `{}` moves them back and \
                     deletes it",
                    self.temp().unwrap_or("?"),
                    self.resume_hint()
                ));
                return notes;
            }
            let copies = self
                .temp()
                .map(|t| ("delete-temporary".to_owned(), t))
                .into_iter()
                .chain(
                    self.extra_owned
                        .iter()
                        .map(|e| (format!("delete-earlier-temporary:{e}"), e.as_str())),
                );
            for (step, copy) in copies {
                match self.step(&step, self.delete_temporary(copy)).await {
                    Ok(true) => {}
                    Ok(false) => notes.push(format!(
                        "a definition named {copy} is not a copy this tool made; left alone"
                    )),
                    Err(err) => notes.push(format!(
                        "temporary copy {copy} could not be deleted ({err}); `{}` deletes it",
                        self.resume_hint()
                    )),
                }
            }
            notes
        };
        let (copy_notes, verified) = tokio::join!(delete_copy, self.step("verify", self.verify()));
        warnings.extend(copy_notes);
        match verified {
            Ok(None) => Outcome::Recreated { warnings },
            Ok(Some(difference)) => Outcome::Unverified {
                message: format!("verification failed: {difference}"),
            },
            Err(err) => Outcome::Failed {
                message: format!("could not verify: {err}"),
                rolled_back: false,
            },
        }
    }

    /// Describes the definition and its tags and compares them with the target. `Some(diff)` when
    /// they differ.
    async fn verify(&self) -> Result<Option<String>, AwsError> {
        let ops = self.ops();
        // The name, and so the ARN, is the snapshot's: list the tags while describing; only if
        // the live ARN turns out different are they listed again.
        let (live, tags) = tokio::join!(
            ops.find(self.name()),
            self.client.list_tags(&self.snapshot.arn)
        );
        let Some(live) = live? else {
            return Ok(Some("the definition does not exist".to_owned()));
        };
        if !holds(&live, &self.target_request) {
            return Ok(Some(describe_difference(&live, &self.target_request)));
        }
        let arn = live["JobDefinitionArn"]
            .as_str()
            .unwrap_or(&self.snapshot.arn);
        let tags = if arn == self.snapshot.arn {
            tags?
        } else {
            self.client.list_tags(arn).await?
        };
        let live_tags: BTreeSet<Tag> = tags.into_iter().collect();
        let expected: BTreeSet<Tag> = self
            .expected_tags
            .iter()
            .filter(|t| !is_reserved_tag(t))
            .cloned()
            .collect();
        if live_tags != expected {
            return Ok(Some(format!(
                "tags differ: expected {:?}, found {:?}",
                expected.iter().map(|t| &t.key).collect::<Vec<_>>(),
                live_tags.iter().map(|t| &t.key).collect::<Vec<_>>()
            )));
        }
        Ok(None)
    }

    /// A step before the delete failed: put the schedules back and remove the copy. Nothing of
    /// the original was changed.
    async fn undo_before_delete(&self, cause: &StepError, moved: &[&ScheduleSnapshot]) -> Outcome {
        let message = cause.to_string();
        if let StepError::Journal(_) = cause {
            return Outcome::RollbackIncomplete {
                message: format!("{message}; the journal cannot be written, so nothing was undone"),
                manual: self.resume_hint(),
            };
        }
        let failures = self
            .return_schedules_and_drop_copy(moved.iter().rev().copied())
            .await;
        if failures.is_empty() {
            Outcome::Failed {
                message,
                rolled_back: true,
            }
        } else {
            Outcome::RollbackIncomplete {
                message: format!("{message}; then undoing failed: {}", failures.join("; ")),
                manual: self.resume_hint(),
            }
        }
    }

    /// The common tail of every rollback: give `schedules` their original configuration back,
    /// then (only if all of them made it) delete the temporary copy. Returns what failed.
    async fn return_schedules_and_drop_copy<'s>(
        &self,
        schedules: impl Iterator<Item = &'s ScheduleSnapshot>,
    ) -> Vec<String> {
        let mut failures = Vec::new();
        for schedule in schedules {
            let step = format!("rollback-schedule:{}", schedule.name);
            // A schedule found pointing elsewhere was never moved by this run (or was moved on by
            // someone else): not ours to touch, and not a failure of the rollback.
            if let Err(err) = self
                .step(
                    &step,
                    self.ops()
                        .repoint_schedule(&schedule.name, &self.temp_names(), self.name()),
                )
                .await
            {
                failures.push(format!("schedule {}: {err}", schedule.name));
            }
        }
        if let Some(temp) = self.temp() {
            if !failures.is_empty() {
                failures.push(format!(
                    "the compliant temporary copy {temp} is kept, since schedules may still use it"
                ));
            } else if let Err(err) = self
                .step("rollback-delete-temporary", self.delete_temporary(temp))
                .await
            {
                failures.push(format!("temporary copy {temp}: {err}"));
            }
        }
        failures
    }

    /// The original is gone and could not be recreated compliant: recreate it from the snapshot,
    /// move the schedules back, remove the copy.
    async fn roll_back_after_delete(&self, cause: &StepError) -> Outcome {
        let message = cause.to_string();
        let restore = request::restore_request(&self.snapshot.describe, &self.snapshot.tags);
        if let Err(err) = self
            .step(
                "rollback-create-original-from-snapshot",
                self.ops()
                    .create(self.name(), &restore, Some(&self.snapshot.describe)),
            )
            .await
        {
            return Outcome::RollbackIncomplete {
                message: format!(
                    "{message}; restoring from the snapshot failed too: {err}{}",
                    match self.temp() {
                        Some(t) if !self.snapshot.schedules.is_empty() =>
                            format!(". The schedules run on the compliant copy {t} meanwhile"),
                        _ => String::new(),
                    }
                ),
                manual: self.restore_hint(),
            };
        }
        let failures = self
            .return_schedules_and_drop_copy(self.original_configs())
            .await;
        if failures.is_empty() {
            Outcome::Failed {
                message,
                rolled_back: true,
            }
        } else {
            Outcome::RollbackIncomplete {
                message: format!(
                    "{message}; restored from the snapshot, but: {}",
                    failures.join("; ")
                ),
                manual: self.resume_hint(),
            }
        }
    }

    /// The direct strategy: delete, create, roll back from the snapshot. No temporary name, so it
    /// refuses definitions that schedules reference.
    pub async fn direct(&self) -> Outcome {
        if !self.snapshot.schedules.is_empty() {
            let names: Vec<&str> = self
                .snapshot
                .schedules
                .iter()
                .map(|s| s.name.as_str())
                .collect();
            return Outcome::Refused {
                message: format!(
                    "--strategy direct cannot recreate a definition that schedules reference ({}); \
                     use --strategy staged",
                    names.join(", ")
                ),
            };
        }
        if let Err(err) = self
            .step("delete-original", self.ops().delete(self.name()))
            .await
        {
            return Outcome::Failed {
                message: err.to_string(),
                rolled_back: true,
            };
        }
        self.finish_from_deleted().await
    }

    /// Re-enters the protocol from what is live (for `resume`).
    pub async fn reconcile(&self, strategy: Strategy) -> Outcome {
        let ops = self.ops();
        let live = match ops.find(self.name()).await {
            Ok(live) => live,
            Err(err) => {
                return Outcome::Failed {
                    message: format!("cannot inspect the definition: {err}"),
                    rolled_back: false,
                };
            }
        };
        match live {
            None => {
                tracing::info!(item = %self.key(), "original missing: finishing forward");
                self.finish_from_deleted().await
            }
            Some(live) if holds(&live, &self.target_request) => {
                tracing::info!(item = %self.key(), "original already recreated: finishing");
                self.finish_from_recreated().await
            }
            Some(live) if holds(&live, &self.snapshot.describe) => {
                tracing::info!(item = %self.key(), "original untouched: undoing, then starting over");
                let moved: Vec<&ScheduleSnapshot> = self.original_configs().collect();
                match self
                    .undo_before_delete(
                        &StepError::Aws(AwsError::local("resume", "interrupted")),
                        &moved,
                    )
                    .await
                {
                    Outcome::Failed {
                        rolled_back: true, ..
                    } => match strategy {
                        Strategy::Staged => self.staged().await,
                        Strategy::Direct => self.direct().await,
                    },
                    other => other,
                }
            }
            Some(_) => Outcome::RollbackIncomplete {
                // Neither the original nor the compliant version: someone else acted on this
                // name during the run. Touch nothing (the copy and the schedules stay where they
                // are) and leave the decision to a person.
                message: "the definition under this name is neither the original nor the \
                          recreated one: it was changed by someone else during the run; nothing \
                          was touched"
                    .to_owned(),
                manual: format!(
                    "compare it with the snapshot {}; `{}` puts the original back",
                    self.snapshot_path.display(),
                    self.restore_hint()
                        .replace(" restore ", " restore --replace ")
                ),
            },
        }
    }

    /// Deletes the temporary copy, but only if it is ours: a definition under that name holding
    /// anything else was not made by this run and is left alone.
    async fn delete_temporary(&self, temp: &str) -> Result<bool, AwsError> {
        let ops = self.ops();
        match ops.find(temp).await? {
            None => Ok(true),
            Some(live)
                if holds(&live, &self.target_request)
                    || holds(
                        &live,
                        &request::create_request(&self.snapshot.describe, &self.snapshot.tags).0,
                    ) =>
            {
                ops.delete(temp).await.map(|()| true)
            }
            Some(_) => {
                tracing::warn!(item = %self.key(), temp, "a definition named like the temporary copy is not ours; left alone");
                Ok(false)
            }
        }
    }

    /// The names schedules may be moved back from: the temporary copy's, if there is one.
    fn temp_names(&self) -> Vec<&str> {
        self.temp()
            .into_iter()
            .chain(self.extra_owned.iter().map(String::as_str))
            .collect()
    }

    /// `name` and the extra names this job owns (schedules may be moved from any of them).
    fn owned_besides<'s>(&'s self, name: &'s str) -> Vec<&'s str> {
        std::iter::once(name)
            .chain(self.extra_owned.iter().map(String::as_str))
            .collect()
    }

    fn restore_hint(&self) -> String {
        format!(
            "{} --region {} restore {}",
            self.command,
            self.snapshot.region,
            self.snapshot_path.display()
        )
    }

    fn resume_hint(&self) -> String {
        match &self.again {
            Some(again) => again.clone(),
            None => format!("{} resume {}", self.command, self.run.run_id),
        }
    }
}

/// Why a step failed.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error("{0}")]
    Aws(AwsError),
    #[error("journal: {0}")]
    Journal(String),
}

/// A short description of how a live definition differs from the request.
fn describe_difference(live: &Value, request: &Value) -> String {
    let live = super::ops::comparable(live);
    let wanted = super::ops::comparable(request);
    let (Value::Object(live), Value::Object(wanted)) = (&live, &wanted) else {
        return "the definition is not a JSON object".to_owned();
    };
    let mut differing: Vec<&str> = wanted
        .iter()
        .filter(|(k, v)| live.get(*k) != Some(v))
        .map(|(k, _)| k.as_str())
        .collect();
    differing.extend(
        live.keys()
            .filter(|k| !wanted.contains_key(*k))
            .map(String::as_str),
    );
    format!("members differ from the snapshot: {}", differing.join(", "))
}

/// Builds the snapshot for a definition about to be recreated.
#[allow(clippy::too_many_arguments)]
pub fn snapshot_of(
    run: &Run,
    account_id: &str,
    key: &ItemKey,
    arn: &str,
    describe: Value,
    tags: Vec<Tag>,
    schedules: Vec<ScheduleSnapshot>,
    temporary_name: Option<String>,
) -> Snapshot {
    Snapshot {
        format_version: crate::journal::SNAPSHOT_FORMAT_VERSION,
        run_id: run.run_id.clone(),
        account_id: account_id.to_owned(),
        region: key.region.clone(),
        kind: key.kind,
        name: key.name.clone(),
        arn: arn.to_owned(),
        snapshot_sha256: request::snapshot_hash(&describe, &tags),
        describe,
        tags,
        schedules,
        temporary_name,
        taken_at: crate::journal::timestamp(),
    }
}
