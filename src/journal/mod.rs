//! The journal: per run an append-only JSONL file of every step, each line fsync'd before the
//! call it announces, so `resume` knows what a run may have done. Beside it the state directory
//! (lock, private permissions: [`state_dir`]), the snapshots written before anything is deleted
//! ([`snapshot`]), and what a journal says about a run ([`summary`]).

mod append;
mod snapshot;
mod state_dir;
mod summary;

pub use snapshot::{SNAPSHOT_FORMAT_VERSION, ScheduleSnapshot, Snapshot, snapshot_of};
pub use state_dir::{StateDir, write_durably};
pub use summary::{Claim, Progress, RunSummary};

use crate::kinds::Fixes;
use crate::resource::ResourceId;
use serde::{Deserialize, Serialize};
use std::fs::{self, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("state directory {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "state directory {path} is locked by another sm-recreate ({holder}); wait for it to finish, \
         or use another --state-dir"
    )]
    Locked { path: PathBuf, holder: String },
    #[error(
        "state directory {path} is not private (mode {mode:o}); it holds snapshots with secrets: chmod 700 it"
    )]
    NotPrivate { path: PathBuf, mode: u32 },
    #[error("{path} is not a valid snapshot: {reason}")]
    BadSnapshot { path: PathBuf, reason: String },
    #[error("{path} is not a valid journal: {reason}")]
    BadJournal { path: PathBuf, reason: String },
    #[error("no run {run_id} in {path}")]
    NoSuchRun { path: PathBuf, run_id: String },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> JournalError + '_ {
    move |source| JournalError::Io {
        path: path.to_owned(),
        source,
    }
}

pub fn timestamp() -> String {
    aws_smithy_types::DateTime::from(std::time::SystemTime::now())
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
}
/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    RunStarted {
        run_id: String,
        account_id: String,
        #[serde(flatten)]
        kind: RunKind,
        items: Vec<PlannedItem>,
    },
    ItemStarted {
        item: ResourceId,
        snapshot: PathBuf,
    },
    Step {
        item: ResourceId,
        step: Step,
        phase: Phase,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    ItemFinished {
        item: ResourceId,
        outcome: Status,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    RunInterrupted,
    RunFinished,
}

/// How `apply` recreates a definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Create a compliant copy under a temporary name first, move schedules to it, then replace
    /// the original. Never leaves the schedules without a definition.
    #[default]
    Staged,
    /// Delete and create under the same name, rolling back from the snapshot. For accounts that
    /// forbid extra names; refuses definitions that schedules reference. Between the delete and
    /// the create the definition exists only in the snapshot on disk.
    Direct,
}

impl Strategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Staged => "staged",
            Strategy::Direct => "direct",
        }
    }
}

/// What a run does. `resume` finishes only apply runs; an interrupted `restore` is finished by
/// running the same `restore` again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "RunKindOnDisk", try_from = "RunKindOnDisk")]
pub enum RunKind {
    /// `apply`: recreate the planned definitions with this strategy.
    Apply(Strategy),
    /// `restore`: put one definition back from `snapshot` (absent in journals of sm-recreate
    /// 0.1, which did not record it).
    Restore { snapshot: Option<PathBuf> },
}

/// A run's kind as the journal writes it, as sm-recreate 0.1 did: `"strategy"` is `staged`,
/// `direct` or `restore`, and a restore names its snapshot in `"restoring"`.
#[derive(Serialize, Deserialize)]
struct RunKindOnDisk {
    strategy: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    restoring: Option<PathBuf>,
}

impl From<RunKind> for RunKindOnDisk {
    fn from(kind: RunKind) -> RunKindOnDisk {
        match kind {
            RunKind::Apply(strategy) => RunKindOnDisk {
                strategy: strategy.as_str().to_owned(),
                restoring: None,
            },
            RunKind::Restore { snapshot } => RunKindOnDisk {
                strategy: "restore".to_owned(),
                restoring: snapshot,
            },
        }
    }
}

impl TryFrom<RunKindOnDisk> for RunKind {
    type Error = String;

    fn try_from(disk: RunKindOnDisk) -> Result<RunKind, String> {
        match disk.strategy.as_str() {
            "staged" => Ok(RunKind::Apply(Strategy::Staged)),
            "direct" => Ok(RunKind::Apply(Strategy::Direct)),
            "restore" => Ok(RunKind::Restore {
                snapshot: disk.restoring,
            }),
            other => Err(format!(
                "unknown strategy `{other}` (this sm-recreate knows staged, direct and restore)"
            )),
        }
    }
}

impl std::fmt::Display for RunKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunKind::Apply(strategy) => write!(f, "apply ({} strategy)", strategy.as_str()),
            RunKind::Restore { .. } => f.write_str("restore"),
        }
    }
}

/// An item the run intends to recreate, with what resume needs to redo it from scratch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedItem {
    pub item: ResourceId,
    pub temporary_name: Option<String>,
    pub snapshot_sha256: String,
    /// The flags the run makes true on it; absent in journals of sm-recreate 0.1 (encryption).
    #[serde(default = "encryption_only")]
    pub fixes: Fixes,
    /// For a notebook instance: the user consented to stopping and starting it again if it is
    /// running, so a `resume` that starts it afresh has the same consent. Absent: no consent.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub restart_running: bool,
}

fn encryption_only() -> Fixes {
    Fixes::ENCRYPTION
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    Start,
    Done,
    Failed,
    /// The call's outcome is unknown: its answer was lost and looking did not tell.
    InDoubt,
}

/// A step of the protocol, as the journal records it. Steps about one schedule or one earlier
/// copy carry its name; on disk a step is one string (`repoint-schedule-to-temporary:nightly`),
/// as sm-recreate 0.1 wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Step {
    CreateTemporary,
    RepointToTemporary(String),
    RecheckOriginal,
    DeleteOriginal,
    CreateOriginal,
    RepointToOriginal(String),
    Verify,
    DeleteTemporary,
    DeleteEarlierTemporary(String),
    /// Fix a schedule's inline job definition in place (`UpdateMonitoringSchedule`).
    UpdateInline,
    RollbackSchedule(String),
    /// Put a schedule's inline job definition back from the snapshot.
    RollbackInline,
    RollbackCreateOriginalFromSnapshot,
    RollbackVerify,
    RollbackDeleteTemporary,
    /// Stop a running notebook instance before its update.
    StopNotebook,
    /// `UpdateNotebookInstance RootAccess=Disabled` on a stopped notebook instance.
    UpdateNotebookRootAccess,
    /// Start a notebook instance that was running before the run, once it is fixed.
    StartNotebook,
    /// Start a notebook instance that was running before the run again after a failure.
    RestartNotebook,
}

impl Step {
    fn parts(&self) -> (&'static str, Option<&str>) {
        match self {
            Step::CreateTemporary => ("create-temporary", None),
            Step::RepointToTemporary(s) => ("repoint-schedule-to-temporary", Some(s)),
            Step::RecheckOriginal => ("recheck-original", None),
            Step::DeleteOriginal => ("delete-original", None),
            Step::CreateOriginal => ("create-original", None),
            Step::RepointToOriginal(s) => ("repoint-schedule-to-original", Some(s)),
            Step::Verify => ("verify", None),
            Step::DeleteTemporary => ("delete-temporary", None),
            Step::DeleteEarlierTemporary(s) => ("delete-earlier-temporary", Some(s)),
            Step::UpdateInline => ("update-inline-definition", None),
            Step::RollbackSchedule(s) => ("rollback-schedule", Some(s)),
            Step::RollbackInline => ("rollback-inline-definition", None),
            Step::RollbackCreateOriginalFromSnapshot => {
                ("rollback-create-original-from-snapshot", None)
            }
            Step::RollbackVerify => ("rollback-verify", None),
            Step::RollbackDeleteTemporary => ("rollback-delete-temporary", None),
            Step::StopNotebook => ("stop-notebook", None),
            Step::UpdateNotebookRootAccess => ("update-notebook-root-access", None),
            Step::StartNotebook => ("start-notebook", None),
            Step::RestartNotebook => ("start-notebook-again", None),
        }
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.parts() {
            (word, None) => f.write_str(word),
            (word, Some(name)) => write!(f, "{word}:{name}"),
        }
    }
}

impl From<Step> for String {
    fn from(step: Step) -> String {
        step.to_string()
    }
}

impl TryFrom<String> for Step {
    type Error = String;

    fn try_from(text: String) -> Result<Step, String> {
        let (word, name) = match text.split_once(':') {
            Some((word, name)) => (word, Some(name.to_owned())),
            None => (text.as_str(), None),
        };
        let step = match (word, name) {
            ("create-temporary", None) => Step::CreateTemporary,
            ("repoint-schedule-to-temporary", Some(s)) => Step::RepointToTemporary(s),
            ("recheck-original", None) => Step::RecheckOriginal,
            ("delete-original", None) => Step::DeleteOriginal,
            ("create-original", None) => Step::CreateOriginal,
            ("repoint-schedule-to-original", Some(s)) => Step::RepointToOriginal(s),
            ("verify", None) => Step::Verify,
            ("delete-temporary", None) => Step::DeleteTemporary,
            ("delete-earlier-temporary", Some(s)) => Step::DeleteEarlierTemporary(s),
            ("update-inline-definition", None) => Step::UpdateInline,
            ("rollback-schedule", Some(s)) => Step::RollbackSchedule(s),
            ("rollback-inline-definition", None) => Step::RollbackInline,
            ("rollback-create-original-from-snapshot", None) => {
                Step::RollbackCreateOriginalFromSnapshot
            }
            ("rollback-verify", None) => Step::RollbackVerify,
            ("rollback-delete-temporary", None) => Step::RollbackDeleteTemporary,
            ("stop-notebook", None) => Step::StopNotebook,
            ("update-notebook-root-access", None) => Step::UpdateNotebookRootAccess,
            ("start-notebook", None) => Step::StartNotebook,
            ("start-notebook-again", None) => Step::RestartNotebook,
            _ => return Err(format!("unknown step `{text}`")),
        };
        Ok(step)
    }
}

/// How a definition ended, as the journal and the reports name it. The names are those
/// sm-recreate 0.1 wrote, so its journals still resume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Recreated,
    /// A schedule's inline job definition, or a notebook's root access, was fixed in place and
    /// verified.
    UpdatedInPlace,
    /// Nothing to do: already compliant (a notebook whose root access is already off).
    AlreadyCompliant,
    /// Not touched, by the tool's rule or the user's choice (a running notebook without consent
    /// to restart it, a `Failed` or `Deleting` notebook): the message says why.
    Skipped,
    RecreatedWithLeftovers,
    Missing,
    ChangedSincePlan,
    ChangedDuringRun,
    Busy,
    Refused,
    RolledBack,
    Failed,
    FailedUntouched,
    VerifyFailed,
    NotStarted,
    InDoubt,
    RollbackIncomplete,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Recreated => "recreated",
            Status::UpdatedInPlace => "updated-in-place",
            Status::AlreadyCompliant => "already-compliant",
            Status::Skipped => "skipped",
            Status::RecreatedWithLeftovers => "recreated-with-leftovers",
            Status::Missing => "missing",
            Status::ChangedSincePlan => "changed-since-plan",
            Status::ChangedDuringRun => "changed-during-run",
            Status::Busy => "busy",
            Status::Refused => "refused",
            Status::RolledBack => "rolled-back",
            Status::Failed => "failed",
            Status::FailedUntouched => "failed-untouched",
            Status::VerifyFailed => "verify-failed",
            Status::NotStarted => "not-started",
            Status::InDoubt => "in-doubt",
            Status::RollbackIncomplete => "rollback-incomplete",
        }
    }

    /// After these `resume` has nothing left to do for a definition: it is fixed, back as it
    /// was, or someone else's to decide.
    pub fn is_settled(self) -> bool {
        matches!(
            self,
            Status::Recreated
                | Status::UpdatedInPlace
                | Status::AlreadyCompliant
                | Status::Skipped
                | Status::RolledBack
                | Status::ChangedSincePlan
                | Status::ChangedDuringRun
                | Status::Busy
                | Status::Refused
                | Status::Missing
                | Status::VerifyFailed
        )
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub at: String,
    #[serde(flatten)]
    pub event: Event,
}

/// An open run: the journal (append-only, each line fsync'd) and the snapshot folder.
#[derive(Debug)]
pub struct Run {
    pub run_id: String,
    dir: PathBuf,
    journal: append::DurableLog,
}

impl Run {
    fn open(run_id: String, dir: PathBuf) -> Result<Run, JournalError> {
        let path = dir.join("journal.jsonl");
        let journal = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&path)
            .map_err(io_err(&path))?;
        Ok(Run {
            run_id,
            dir,
            journal: append::DurableLog::new(journal),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn journal_path(&self) -> PathBuf {
        self.dir.join("journal.jsonl")
    }

    /// Appends one event and returns once it is on disk: the journal is only useful if it is
    /// ahead of AWS. Concurrent events share one sync (`append`).
    pub fn record(&self, event: Event) -> Result<(), JournalError> {
        let record = Record {
            at: timestamp(),
            event,
        };
        let mut line = serde_json::to_vec(&record).expect("journal records serialize");
        line.push(b'\n');
        let path = self.journal_path();
        blocking(|| self.journal.append(&line).map_err(io_err(&path)))
    }

    /// Where the snapshot of `key` goes. The account is part of the name: in an organization the
    /// same name in the same region is a different definition in every account, and one must
    /// never take the place of another's snapshot.
    pub fn snapshot_path(&self, key: &ResourceId) -> PathBuf {
        self.dir.join("snapshots").join(format!(
            "{}.{}.{}.{}.json",
            key.account_id,
            key.region,
            key.kind.cli_name(),
            key.name
        ))
    }

    /// Writes the snapshot durably and returns its path.
    pub fn write_snapshot(&self, snapshot: &Snapshot) -> Result<PathBuf, JournalError> {
        let path = self.snapshot_path(&snapshot.key());
        let bytes = serde_json::to_vec_pretty(snapshot).expect("snapshots serialize");
        blocking(|| write_durably(&path, &bytes))?;
        Ok(path)
    }

    /// Every record so far, in order. A torn last line (a crash mid-write) is ignored.
    pub fn records(&self) -> Result<Vec<Record>, JournalError> {
        read_records(&self.journal_path())
    }
}

/// Runs file writes that fsync. Inside the multi-threaded runtime the worker thread is handed
/// over first (`block_in_place`), so an fsync never stalls other definitions' API calls; outside
/// it (tests, other runtimes) the work just runs.
fn blocking<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}

/// Cuts a partial last line (a crash mid-append) so that appending can go on.
fn repair_torn_tail(path: &Path) -> Result<(), JournalError> {
    let bytes = fs::read(path).map_err(io_err(path))?;
    if bytes.is_empty() || bytes.ends_with(b"\n") {
        return Ok(());
    }
    let keep = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(io_err(path))?;
    file.set_len(keep as u64).map_err(io_err(path))?;
    file.sync_all().map_err(io_err(path))
}

pub fn read_records(path: &Path) -> Result<Vec<Record>, JournalError> {
    let text = fs::read_to_string(path).map_err(io_err(path))?;
    let lines: Vec<&str> = text.lines().collect();
    let mut records = Vec::with_capacity(lines.len());
    for (index, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Record>(line) {
            Ok(record) => records.push(record),
            Err(_) if index + 1 == lines.len() && !text.ends_with('\n') => break,
            Err(e) => {
                return Err(JournalError::BadJournal {
                    path: path.to_owned(),
                    reason: format!("line {}: {e}", index + 1),
                });
            }
        }
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::Kind;
    use std::io::Write;

    #[test]
    fn the_journal_tells_what_is_unfinished() {
        let temp = tempfile::tempdir().unwrap();
        let state = StateDir::open(&temp.path().join("s"), "test").unwrap();
        let run = state.new_run().unwrap();
        let key = |name: &str| ResourceId::definition("1", "r", Kind::ModelBias, name);
        let planned = |name: &str| PlannedItem {
            item: key(name),
            temporary_name: None,
            snapshot_sha256: String::new(),
            fixes: Fixes::ENCRYPTION,
            restart_running: false,
        };
        run.record(Event::RunStarted {
            run_id: run.run_id.clone(),
            account_id: "1".into(),
            kind: RunKind::Apply(Strategy::Staged),
            items: vec![planned("a"), planned("b"), planned("c")],
        })
        .unwrap();
        run.record(Event::ItemStarted {
            item: key("a"),
            snapshot: "a.json".into(),
        })
        .unwrap();
        run.record(Event::ItemFinished {
            item: key("a"),
            outcome: Status::Recreated,
            message: None,
        })
        .unwrap();
        run.record(Event::ItemStarted {
            item: key("b"),
            snapshot: "b.json".into(),
        })
        .unwrap();
        // A torn final line, as a crash mid-write leaves it.
        let mut file = OpenOptions::new()
            .append(true)
            .open(run.journal_path())
            .unwrap();
        file.write_all(b"{\"at\":\"x\",\"event\":\"ite").unwrap();
        let summary = RunSummary::from_records(&run.records().unwrap());
        assert_eq!(
            summary.snapshot_of(&key("b")),
            Some(&PathBuf::from("b.json"))
        );
        assert_eq!(summary.outcome_of(&key("a")), Some(Status::Recreated));
        let unfinished: Vec<&str> = summary
            .unfinished()
            .iter()
            .map(|p| p.item.name.as_str())
            .collect();
        assert_eq!(unfinished, vec!["b", "c"]);
        assert!(!summary.run_finished);
    }

    #[test]
    fn a_journal_written_by_sm_recreate_0_1_still_reads() {
        let lines = [
            r#"{"at":"t","event":"run-started","run_id":"r","account_id":"111122223333","strategy":"direct","items":[{"item":{"region":"eu-west-1","kind":"data-quality","name":"a"},"temporary_name":null,"snapshot_sha256":"h"}]}"#,
            r#"{"at":"t","event":"item-started","item":{"region":"eu-west-1","kind":"data-quality","name":"a"},"snapshot":"a.json"}"#,
            r#"{"at":"t","event":"step","item":{"region":"eu-west-1","kind":"data-quality","name":"a"},"step":"delete-original","phase":"start"}"#,
        ];
        let records: Vec<Record> = lines
            .iter()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        let summary = RunSummary::from_records(&records);
        let key = ResourceId::definition("111122223333", "eu-west-1", Kind::DataQuality, "a");
        assert_eq!(summary.strategy(), Some(Strategy::Direct));
        assert_eq!(summary.planned[0].item, key);
        assert_eq!(summary.snapshot_of(&key), Some(&PathBuf::from("a.json")));
        assert!(summary.progress_of(&key).deleted_original);
        assert_eq!(summary.unfinished().len(), 1);
    }

    #[test]
    fn notebook_steps_tell_resume_whether_this_run_may_have_stopped_it() {
        let key = ResourceId {
            account_id: "1".into(),
            region: "r".into(),
            kind: crate::resource::ResourceKind::NotebookInstance,
            name: "nb".into(),
        };
        let step = |step: Step, phase: Phase| Record {
            at: "t".into(),
            event: Event::Step {
                item: key.clone(),
                step,
                phase,
                detail: None,
            },
        };
        let progress = |records: &[Record]| RunSummary::from_records(records).progress_of(&key);
        let started = [step(Step::StopNotebook, Phase::Start)];
        assert!(progress(&started).notebook_stop_sent);
        assert!(!progress(&started).notebook_stop_answered);
        let refused = [
            step(Step::StopNotebook, Phase::Start),
            step(Step::StopNotebook, Phase::Failed),
        ];
        assert!(
            !progress(&refused).notebook_stop_sent,
            "refused: did not act"
        );
        // A lost answer may act late: a later refusal does not undo "sent".
        let lost_then_refused = [
            step(Step::StopNotebook, Phase::Start),
            step(Step::StopNotebook, Phase::InDoubt),
            step(Step::StopNotebook, Phase::Start),
            step(Step::StopNotebook, Phase::Failed),
        ];
        assert!(progress(&lost_then_refused).notebook_stop_sent);
        // The run died with its stop unanswered (no end journaled); resume's stop is refused
        // (the earlier one acted late): still sent, and the notebook is started again.
        let unanswered_then_refused = [
            step(Step::StopNotebook, Phase::Start),
            step(Step::StopNotebook, Phase::Start),
            step(Step::StopNotebook, Phase::Failed),
        ];
        assert!(progress(&unanswered_then_refused).notebook_stop_sent);
        let answered = [
            step(Step::StopNotebook, Phase::Start),
            step(Step::StopNotebook, Phase::Done),
            step(Step::RestartNotebook, Phase::Start),
        ];
        assert!(progress(&answered).notebook_stop_answered);
        assert!(progress(&answered).notebook_restart_sent);
        for step in [
            Step::StopNotebook,
            Step::UpdateNotebookRootAccess,
            Step::StartNotebook,
            Step::RestartNotebook,
        ] {
            assert_eq!(Step::try_from(step.to_string()), Ok(step));
        }
    }

    #[test]
    fn a_planned_item_records_consent_only_when_given() {
        let item = PlannedItem {
            item: ResourceId::definition("1", "r", Kind::ModelBias, "a"),
            temporary_name: None,
            snapshot_sha256: String::new(),
            fixes: Fixes::NONE,
            restart_running: false,
        };
        let written = serde_json::to_value(&item).unwrap();
        assert!(written.get("restart_running").is_none(), "{written}");
        let consented = PlannedItem {
            restart_running: true,
            ..item
        };
        let back: PlannedItem =
            serde_json::from_value(serde_json::to_value(&consented).unwrap()).unwrap();
        assert!(back.restart_running);
    }

    #[test]
    fn a_run_kind_is_written_as_sm_recreate_0_1_wrote_it() {
        let written = |kind: RunKind| {
            let event = Event::RunStarted {
                run_id: "r".into(),
                account_id: "1".into(),
                kind,
                items: vec![],
            };
            serde_json::to_value(&event).unwrap()
        };
        let apply = written(RunKind::Apply(Strategy::Staged));
        assert_eq!(apply["strategy"], "staged");
        assert!(apply.get("restoring").is_none());
        let restore = written(RunKind::Restore {
            snapshot: Some("s.json".into()),
        });
        assert_eq!(restore["strategy"], "restore");
        assert_eq!(restore["restoring"], "s.json");
        let back: Event = serde_json::from_value(restore).unwrap();
        assert!(matches!(
            back,
            Event::RunStarted {
                kind: RunKind::Restore { snapshot: Some(_) },
                ..
            }
        ));
        let unknown = serde_json::json!({
            "event": "run-started", "run_id": "r", "account_id": "1",
            "strategy": "sideways", "items": []
        });
        assert!(serde_json::from_value::<Event>(unknown).is_err());
    }
}
