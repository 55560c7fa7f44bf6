//! The temporary copies a job owns (docs/protocol.md, I7): which names schedules may be moved
//! back from, and deleting a copy only when it holds what this run put there.

use super::{Job, Looked, StepError, read};
use crate::apply::ops::{Deleted, OpError, Retries, holds};
use crate::journal::Step;
use crate::request;

impl Job<'_> {
    /// Deletes this job's copies (each only if it holds what this run put there); returns what
    /// is left over. `rollback` names the steps as a rollback's.
    pub(super) async fn drop_copies(&self, rollback: bool, looked: Option<Looked>) -> Vec<String> {
        let mut looked = looked;
        let mut leftovers = Vec::new();
        let own = self.temp().filter(|_| self.owns_copy()).map(|t| {
            (
                if rollback {
                    Step::RollbackDeleteTemporary
                } else {
                    Step::DeleteTemporary
                },
                t,
            )
        });
        let earlier = self
            .extra_owned
            .iter()
            .map(|e| (Step::DeleteEarlierTemporary(e.clone()), e.as_str()));
        for (step, copy) in own.into_iter().chain(earlier) {
            let seen = looked.take().filter(|_| Some(copy) == self.temp());
            match self.step(step, self.delete_copy(copy, seen)).await {
                Ok(true) => {}
                // Someone else's definition under that name: not a leftover of this run.
                Ok(false) => tracing::warn!(
                    item = %self.key(),
                    "a definition named {copy} is not a copy this run made; left alone"
                ),
                Err(StepError::Journal(message)) => {
                    leftovers.push(format!("journal: {message}"));
                    break;
                }
                Err(err) => leftovers.push(format!(
                    "temporary copy {copy} could not be deleted ({err}); `{}` deletes it",
                    self.resume_hint()
                )),
            }
        }
        leftovers
    }

    /// Deletes a copy, but only if it holds what this run put there: anything else under that
    /// name was not made by this run and is left alone (`Ok(false)`).
    async fn delete_copy(&self, copy: &str, seen: Option<Looked>) -> Result<bool, OpError> {
        let ops = self.ops();
        let compliant = request::create_request(
            &self.snapshot.describe,
            &self.snapshot.tags,
            self.snapshot.fixes,
        )
        .0;
        let mut seen = seen;
        let mut retries = Retries::default();
        loop {
            let live = match seen.take() {
                Some(looked) => looked,
                None => ops.find(copy).await,
            };
            let Some(live) = read(live)? else {
                return Ok(true);
            };
            if !(holds(&live, &self.target_request) || holds(&live, &compliant)) {
                return Ok(false);
            }
            match ops.delete_once(copy, &live).await {
                Ok(Deleted::Deleted | Deleted::AlreadyGone) => return Ok(true),
                Ok(Deleted::Replaced { .. }) => return Ok(false),
                Err(err) if ops.may_retry(&err, &mut retries).await => {}
                Err(err) => return Err(err),
            }
        }
    }

    /// The names schedules may be moved back from: this run's copy, if it claimed one, and the
    /// earlier copies it owns.
    pub(super) fn copy_names(&self) -> Vec<&str> {
        self.temp()
            .filter(|_| self.owns_copy())
            .into_iter()
            .chain(self.extra_owned.iter().map(String::as_str))
            .collect()
    }
}
