//! Re-entering the protocol from what is live, for `resume` (and `restore` run again): whose
//! the copy is, then what the original looks like and what the journal says this run may have
//! done decide between undoing and starting over, finishing forward, finishing the rollback and
//! leaving someone else's change (the table in docs/protocol.md, I6).

use super::{Cause, Job};
use crate::apply::ops::{holds, same_object};
use crate::apply::{Outcome, Strategy};
use crate::journal::{Claim, Progress, ScheduleSnapshot};
use crate::request;
use std::sync::atomic::Ordering;

impl Job<'_> {
    /// Re-enters the protocol from what is live (for `resume`), knowing from the journal what
    /// this run may have done.
    pub async fn reconcile(&self, strategy: Strategy, progress: Progress) -> Outcome {
        // The copy is this run's if it bears this run's claim; an unmarked copy only sm-recreate
        // 0.1 made, and is this run's if its journal says it sent the claim. No copy: nothing
        // to own.
        let owns = match (progress.copy, self.temp()) {
            (Claim::None, _) | (_, None) => false,
            (_, Some(temp)) => {
                let ops = self.ops();
                let owned = match ops.find(temp).await {
                    Ok(Some(live)) => {
                        let arn = live["JobDefinitionArn"].as_str().unwrap_or_default();
                        ops.tags(arn).await.map(|tags| {
                            let mut claims =
                                tags.iter().filter(|t| t.key == request::CLAIM_TAG_KEY);
                            match claims.next() {
                                Some(claim) => claim.value == self.run.run_id,
                                None => true,
                            }
                        })
                    }
                    Ok(None) => Ok(false),
                    Err(err) => Err(err),
                };
                match owned {
                    Ok(owned) => owned,
                    Err(err) => {
                        return self.in_doubt(format!(
                            "cannot tell whether the copy {temp} is this run's: {err}"
                        ));
                    }
                }
            }
        };
        self.owns_copy.store(owns, Ordering::SeqCst);
        let live = match self
            .ops()
            .find_with_tags(self.name(), &self.snapshot.arn)
            .await
        {
            Ok(live) => live,
            Err(err) => return self.in_doubt(format!("cannot look at the definition: {err}")),
        };
        let all: Vec<&ScheduleSnapshot> = self.schedules().collect();
        let restore = request::restore_request(&self.snapshot.describe, &self.snapshot.tags);
        match live {
            Some((live, tags))
                if request::snapshot_hash(&live, &tags) == self.snapshot.snapshot_sha256 =>
            {
                tracing::info!(item = %self.key(), "original untouched: undoing, then starting over");
                match self.hand_back(Cause::Interrupted, &all).await {
                    Outcome::Failed {
                        rolled_back: true, ..
                    } => match strategy {
                        Strategy::Staged => self.staged().await,
                        Strategy::Direct => self.direct().await,
                    },
                    other => other,
                }
            }
            Some((live, _))
                if progress.restoring_original
                    && holds(&live, &restore)
                    && !same_object(&live, &self.snapshot.describe) =>
            {
                tracing::info!(item = %self.key(), "original restored from the snapshot: finishing the rollback");
                self.finish_rollback("an earlier attempt failed and was rolled back")
                    .await
            }
            Some((live, _))
                if holds(&live, &self.target_request)
                    && !same_object(&live, &self.snapshot.describe) =>
            {
                tracing::info!(item = %self.key(), "original already recreated: finishing");
                self.finish_from_recreated().await
            }
            // The snapshot's content under a new object after this run's delete, though the
            // journal shows no rollback create: an earlier attempt's answer was lost in a way the
            // journal did not keep, or an identical definition someone made; either way the
            // original is back, so the rollback is finished. (Checked after the arm above so a
            // restore, whose target is the snapshot's content, is not taken for a rollback.)
            Some((live, _))
                if progress.deleted_original
                    && holds(&live, &restore)
                    && !same_object(&live, &self.snapshot.describe) =>
            {
                tracing::info!(item = %self.key(), "original restored from the snapshot: finishing the rollback");
                self.finish_rollback("an earlier attempt failed and was rolled back")
                    .await
            }
            Some((live, _))
                if progress.deleted_original && !same_object(&live, &self.snapshot.describe) =>
            {
                self.someone_took_the_name("").await
            }
            Some(_) => {
                self.hand_back(
                    Cause::Changed(
                        "changed during the run: someone changed it; left as they made it"
                            .to_owned(),
                    ),
                    &all,
                )
                .await
            }
            None if progress.deleted_original => {
                tracing::info!(item = %self.key(), "original deleted by this run: finishing forward");
                self.finish_from_deleted().await
            }
            None => self.original_vanished(&Cause::Changed(
                "changed during the run: someone deleted it".to_owned(),
            )),
        }
    }
}
