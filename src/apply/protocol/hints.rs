//! What an outcome tells the person: stopping in doubt, the note that a copy is kept, and the
//! manual action that fits the live state (`resume` while the original exists, `restore` only
//! when it is absent; docs/protocol.md, I4).

use super::Job;
use crate::apply::Outcome;

impl Job<'_> {
    pub(super) fn copy_kept_note(&self) -> String {
        match self.temp().filter(|_| self.owns_copy()) {
            Some(temp) => format!("; the compliant copy {temp} is kept (delete it when satisfied)"),
            None => String::new(),
        }
    }

    /// An answer was lost and looking did not tell: stop here, undo nothing.
    pub(super) fn in_doubt(&self, message: String) -> Outcome {
        Outcome::InDoubt {
            message: format!("{message}; stopped without undoing anything"),
            manual: self.resume_hint(),
        }
    }

    pub(super) fn journal_stop(&self, message: &str) -> Outcome {
        self.in_doubt(format!(
            "the journal cannot be written ({message}), so no further call was made"
        ))
    }

    /// `resume` while the original exists (it finishes from there), `restore` only when it is
    /// absent (the snapshot is then the only full record of it).
    pub(super) async fn manual_for_live_state(&self) -> String {
        match self.ops().find(self.name()).await {
            Ok(None) => self.restore_hint(),
            _ => self.resume_hint(),
        }
    }

    fn restore_hint(&self) -> String {
        self.hints
            .restore(&self.snapshot.region, &self.snapshot_path)
    }

    pub(super) fn resume_hint(&self) -> String {
        match &self.again {
            Some(again) => again.clone(),
            None => self.hints.resume(&self.run.run_id),
        }
    }
}
