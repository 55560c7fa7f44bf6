//! What a journal says about a run: its items, how each ended, and what each started step may
//! have done to AWS. `resume` and `restore` decide from this and the live state.

use super::{Event, Phase, PlannedItem, Record, RunKind, Status, Step, Strategy};
use crate::resource::ResourceId;
use std::path::{Path, PathBuf};

/// What a journal says about a run.
#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    pub account_id: Option<String>,
    pub kind: Option<RunKind>,
    pub planned: Vec<PlannedItem>,
    /// The snapshot of every item the run started.
    pub snapshots: Vec<(ResourceId, PathBuf)>,
    /// The last outcome of each finished item.
    pub finished: Vec<(ResourceId, Status)>,
    /// What each started item's steps did to AWS, as far as the journal knows.
    pub progress: Vec<(ResourceId, Progress)>,
    pub run_finished: bool,
}

/// What the steps journaled for one item may have done: a step counts from the moment it
/// started, since a call whose answer was lost may have acted, until the journal says AWS
/// refused it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Where this run's claim of the temporary copy stands.
    pub copy: Claim,
    /// This run sent a delete of the original, since it last claimed the copy, that AWS did not
    /// refuse.
    pub deleted_original: bool,
    /// This run started recreating the original from the snapshot, or putting a schedule's
    /// configuration back (a rollback).
    pub restoring_original: bool,
    /// A delete of the original had its answer lost: it may act late, so a later refusal does
    /// not make the delete "not sent".
    pub delete_lost: bool,
    /// This run started updating a schedule's inline job definition in place: a fixed
    /// configuration found later may be this run's.
    pub inline_update_started: bool,
    /// That update was seen in place: the snapshot's configuration found later was put back by
    /// someone else.
    pub inline_update_done: bool,
    /// This run sent a stop of a notebook instance that AWS did not refuse: a notebook found
    /// stopped later may be stopped by this run, and is started again if it was running.
    pub notebook_stop_sent: bool,
    /// AWS answered a stop of the notebook: it acted.
    pub notebook_stop_answered: bool,
    /// A stop of the notebook had its answer lost: a later refusal does not make it "not sent".
    pub notebook_stop_lost: bool,
    /// This run started the notebook again after a failure (or began to): a running notebook
    /// with root access still on is back as it was, not started by someone else.
    pub notebook_restart_sent: bool,
}

/// This run's claim of the temporary copy, as far as its journal knows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Claim {
    /// Not sent, or refused: a copy under the name is not this run's.
    #[default]
    None,
    /// Sent, answer unknown: the copy is this run's only if it carries this run's claim tag.
    Sent,
    /// AWS answered that this run made it.
    Made,
}

impl RunSummary {
    pub fn from_records(records: &[Record]) -> RunSummary {
        let mut summary = RunSummary::default();
        for record in records {
            match &record.event {
                Event::RunStarted {
                    account_id,
                    kind,
                    items,
                    ..
                } => {
                    summary.account_id = Some(account_id.clone());
                    summary.kind = Some(kind.clone());
                    let planned = items.iter().map(|planned| PlannedItem {
                        item: summary.with_account(&planned.item),
                        ..planned.clone()
                    });
                    summary.planned.extend(planned.collect::<Vec<_>>());
                }
                Event::ItemStarted { item, snapshot } => {
                    let item = &summary.with_account(item);
                    summary.snapshots.retain(|(k, _)| k != item);
                    summary.snapshots.push((item.clone(), snapshot.clone()));
                    summary.finished.retain(|(k, _)| k != item);
                }
                Event::ItemFinished { item, outcome, .. } => {
                    let item = &summary.with_account(item);
                    summary.finished.retain(|(k, _)| k != item);
                    summary.finished.push((item.clone(), *outcome));
                }
                Event::RunFinished => summary.run_finished = true,
                Event::RunInterrupted => summary.run_finished = false,
                Event::Step {
                    item, step, phase, ..
                } => {
                    let item = &summary.with_account(item);
                    let progress = summary.progress_mut(item);
                    match (step, phase) {
                        (Step::CreateTemporary, Phase::Start) => {
                            progress.copy = Claim::Sent;
                            progress.deleted_original = false;
                            progress.restoring_original = false;
                            progress.delete_lost = false;
                        }
                        // Once this run deletes its copy, a copy under the name is only this
                        // run's if it still bears the claim.
                        (Step::DeleteTemporary | Step::RollbackDeleteTemporary, Phase::Start)
                            if progress.copy == Claim::Made =>
                        {
                            progress.copy = Claim::Sent
                        }
                        (
                            Step::RollbackCreateOriginalFromSnapshot | Step::RollbackInline,
                            Phase::Start,
                        ) => {
                            progress.restoring_original = true;
                        }
                        (Step::UpdateInline, Phase::Start) => progress.inline_update_started = true,
                        (Step::UpdateInline, Phase::Done) => progress.inline_update_done = true,
                        // Refused, or nothing to send: no update of this run's can act.
                        (Step::UpdateInline, Phase::Failed) => {
                            progress.inline_update_started = false;
                        }
                        (Step::CreateTemporary, Phase::Done) => progress.copy = Claim::Made,
                        (Step::CreateTemporary, Phase::Failed) => progress.copy = Claim::None,
                        (Step::StopNotebook, Phase::Start) => {
                            // A stop started again while an earlier one counts as sent (its
                            // answer lost, or never journaled because the run died): that one
                            // may act late, so a refusal of this one does not make it "not sent".
                            if progress.notebook_stop_sent {
                                progress.notebook_stop_lost = true;
                            }
                            progress.notebook_stop_sent = true;
                        }
                        (Step::StopNotebook, Phase::Done) => {
                            progress.notebook_stop_answered = true;
                        }
                        (Step::StopNotebook, Phase::InDoubt) => progress.notebook_stop_lost = true,
                        (Step::StopNotebook, Phase::Failed) if !progress.notebook_stop_lost => {
                            progress.notebook_stop_sent = false;
                        }
                        (Step::RestartNotebook, Phase::Start) => {
                            progress.notebook_restart_sent = true;
                        }
                        (Step::DeleteOriginal, Phase::Start) => progress.deleted_original = true,
                        (Step::DeleteOriginal, Phase::InDoubt) => progress.delete_lost = true,
                        // Refused: that delete did not act (and no earlier one may act late).
                        (Step::DeleteOriginal, Phase::Failed) if !progress.delete_lost => {
                            progress.deleted_original = false;
                        }
                        _ => {}
                    }
                }
            }
        }
        summary
    }

    /// Items in journals of sm-recreate 0.1 carry no account: they are the run's.
    fn with_account(&self, item: &ResourceId) -> ResourceId {
        match (&self.account_id, item.account_id.is_empty()) {
            (Some(account), true) => ResourceId {
                account_id: account.clone(),
                ..item.clone()
            },
            _ => item.clone(),
        }
    }

    /// The strategy of an apply run.
    pub fn strategy(&self) -> Option<Strategy> {
        match self.kind {
            Some(RunKind::Apply(strategy)) => Some(strategy),
            _ => None,
        }
    }

    /// For a restore run: the snapshot it restores.
    pub fn restoring(&self) -> Option<&Path> {
        match &self.kind {
            Some(RunKind::Restore { snapshot }) => snapshot.as_deref(),
            _ => None,
        }
    }

    pub fn is_restore(&self) -> bool {
        matches!(self.kind, Some(RunKind::Restore { .. }))
    }

    pub fn snapshot_of(&self, key: &ResourceId) -> Option<&PathBuf> {
        self.snapshots
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, p)| p)
    }

    pub fn outcome_of(&self, key: &ResourceId) -> Option<Status> {
        self.finished
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, o)| *o)
    }

    pub fn progress_of(&self, key: &ResourceId) -> Progress {
        self.progress
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, p)| *p)
            .unwrap_or_default()
    }

    fn progress_mut(&mut self, key: &ResourceId) -> &mut Progress {
        let index = match self.progress.iter().position(|(k, _)| k == key) {
            Some(index) => index,
            None => {
                self.progress.push((key.clone(), Progress::default()));
                self.progress.len() - 1
            }
        };
        &mut self.progress[index].1
    }

    /// Planned items not yet settled: never started, interrupted, or left needing work.
    pub fn unfinished(&self) -> Vec<&PlannedItem> {
        self.planned
            .iter()
            .filter(|p| {
                self.outcome_of(&p.item)
                    .is_none_or(|outcome| !outcome.is_settled())
            })
            .collect()
    }

    pub fn is_complete(&self) -> bool {
        self.unfinished().is_empty()
    }
}
