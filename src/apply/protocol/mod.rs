//! The staged recreate (DESIGN.md, "The staged recreate") and the direct strategy, one definition
//! at a time, keeping the invariants of docs/protocol.md: the definition's content always exists
//! in AWS; an unknown answer is never taken for a failure; the original is re-checked right
//! before it is deleted; only what was seen is reported; only this run's copy is touched.
//! Every step is journaled before it acts, and every step is idempotent, so `resume` can re-enter
//! from what it finds live.
//!
//! This file holds the job and `step`, which journals every call. The steps themselves:
//! `forward` (the staged and direct recreate), `rollback` (undo before the delete, roll back
//! after it), `verify`, and `reconcile` (where `resume` re-enters); `copies` keeps to this run's
//! own temporary copies, and `hints` words the manual action an outcome names.

mod copies;
mod forward;
mod hints;
mod reconcile;
mod rollback;
mod verify;

use super::Hints;
use super::ops::{OpError, Ops, Timings};
use crate::journal::{Event, Phase, Run, ScheduleSnapshot, Snapshot, Step};
use crate::request;
use crate::resource::ResourceId;
use crate::sagemaker::{AwsError, ErrorClass, SageMaker, Tag};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

/// One definition's recreate, with everything the steps need.
pub struct Job<'a> {
    pub run: &'a Run,
    pub client: &'a SageMaker,
    /// The snapshot's kind (jobs recreate definitions only).
    pub kind: crate::kinds::Kind,
    pub snapshot: Snapshot,
    pub snapshot_path: PathBuf,
    /// The request that creates the definition as it should end up (compliant, or for `restore`
    /// the snapshot itself).
    pub target_request: Value,
    /// The tags the definition should end with.
    pub expected_tags: Vec<Tag>,
    pub hints: Hints,
    /// Other names whose schedules and copies this job may take over (for `restore`: the
    /// temporary names an earlier, interrupted run of the same definition may have used).
    pub extra_owned: Vec<String>,
    /// The command that continues this job, when it is not `resume` (for `restore`: itself).
    pub again: Option<String>,
    pub timings: Timings,
    /// This run claimed the temporary copy (it sent the create that made it): only then may it
    /// move schedules off the copy or delete it. Creating the copy is the claim because nobody
    /// else's create of that name can succeed while it exists.
    pub owns_copy: AtomicBool,
}

/// Why a forward step gave up before the original was deleted by this run.
#[derive(Debug, Clone)]
enum Cause {
    /// A call failed (AWS's message).
    Failed(String),
    /// Someone else changed something this run depends on.
    Changed(String),
    /// `resume` found the original untouched and undoes, to start over.
    Interrupted,
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cause::Failed(message) | Cause::Changed(message) => f.write_str(message),
            Cause::Interrupted => f.write_str("the run was interrupted"),
        }
    }
}

/// A look at a definition: its describe JSON, `None` when it does not exist.
type Looked = Result<Option<Value>, AwsError>;

/// Why a step did not go on.
#[derive(Debug, thiserror::Error)]
enum StepError {
    #[error("{0}")]
    Refused(AwsError),
    #[error("{0}")]
    InDoubt(String),
    #[error("journal: {0}")]
    Journal(String),
}

impl From<OpError> for StepError {
    fn from(err: OpError) -> StepError {
        match err {
            OpError::Refused(err) => StepError::Refused(err),
            OpError::InDoubt(message) => StepError::InDoubt(message),
        }
    }
}

/// A read that failed is a refusal: it changed nothing.
fn read<T>(result: Result<T, AwsError>) -> Result<T, OpError> {
    result.map_err(OpError::Refused)
}

impl Job<'_> {
    pub fn key(&self) -> ResourceId {
        self.snapshot.key()
    }

    fn ops(&self) -> Ops<'_> {
        Ops {
            client: self.client,
            kind: self.kind,
            timings: self.timings,
        }
    }

    fn name(&self) -> &str {
        &self.snapshot.name
    }

    fn temp(&self) -> Option<&str> {
        self.snapshot.temporary_name.as_deref()
    }

    /// The tag this run's copy carries.
    fn claim(&self) -> Tag {
        request::claim_tag(&self.run.run_id)
    }

    fn owns_copy(&self) -> bool {
        self.owns_copy.load(Ordering::SeqCst)
    }

    /// Journals a step's start and how it ended around `work`. A journal write failure stops the
    /// step: acting without a record would make a crash unrecoverable.
    async fn step<T>(
        &self,
        step: Step,
        work: impl Future<Output = Result<T, OpError>>,
    ) -> Result<T, StepError> {
        self.record(&step, Phase::Start, None)?;
        tracing::debug!(item = %self.key(), %step, "step started");
        match work.await {
            Ok(value) => {
                self.record(&step, Phase::Done, None)?;
                Ok(value)
            }
            Err(err) => {
                let phase = match &err {
                    // A lost answer after which the look saw nothing happen: the request may
                    // still act late, so the journal does not call it refused.
                    OpError::Refused(e) if e.is(ErrorClass::Transient) => Phase::InDoubt,
                    OpError::Refused(_) => Phase::Failed,
                    OpError::InDoubt(_) => Phase::InDoubt,
                };
                self.record(&step, phase, Some(err.to_string()))?;
                tracing::debug!(item = %self.key(), %step, error = %err, "step did not complete");
                Err(err.into())
            }
        }
    }

    fn record(&self, step: &Step, phase: Phase, detail: Option<String>) -> Result<(), StepError> {
        self.run
            .record(Event::Step {
                item: self.key(),
                step: step.clone(),
                phase,
                detail,
            })
            .map_err(|e| StepError::Journal(e.to_string()))
    }

    fn schedules(&self) -> impl Iterator<Item = &ScheduleSnapshot> {
        self.snapshot.schedules.iter()
    }
}
