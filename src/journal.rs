//! The state directory: per run an append-only JSONL journal of every step, a snapshot file per
//! definition written (and fsync'd) before anything is deleted, and a lock so two applies never
//! share a directory. Snapshots hold `Environment` values, so the directory is 0700 and every file
//! 0600.

use crate::kinds::Kind;
use crate::plan::request;
use crate::sagemaker::Tag;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub const SNAPSHOT_FORMAT_VERSION: u32 = 1;

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

/// Creates `path` (and parents) as 0700, or checks an existing one is a private directory.
fn ensure_private_dir(path: &Path) -> Result<(), JournalError> {
    if path.exists() {
        let metadata = fs::metadata(path).map_err(io_err(path))?;
        if !metadata.is_dir() {
            return Err(JournalError::Io {
                path: path.to_owned(),
                source: std::io::Error::other("exists and is not a directory"),
            });
        }
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(JournalError::NotPrivate {
                path: path.to_owned(),
                mode,
            });
        }
        return Ok(());
    }
    fs::DirBuilder::new()
        .mode(0o700)
        .create(path)
        .map_err(io_err(path))
}

/// Writes `bytes` to `path` as 0600 via a temporary file, fsync'd, then renamed into place and
/// the directory fsync'd: after this returns, the file survives a crash or power loss.
pub fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), JournalError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let temp = path.with_extension("tmp");
    {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temp)
            .map_err(io_err(&temp))?;
        file.write_all(bytes).map_err(io_err(&temp))?;
        file.sync_all().map_err(io_err(&temp))?;
    }
    fs::rename(&temp, path).map_err(io_err(path))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

/// The state directory, locked for this process while the value lives.
#[derive(Debug)]
pub struct StateDir {
    root: PathBuf,
    _lock: File,
}

impl StateDir {
    /// Opens (creating if needed) and locks the state directory.
    pub fn open(root: &Path, purpose: &str) -> Result<StateDir, JournalError> {
        ensure_private_dir(root)?;
        // Absolute, so the snapshot paths the journal records and the `restore` commands the
        // tool prints work from any directory.
        let root = &fs::canonicalize(root).map_err(io_err(root))?;
        ensure_private_dir(&root.join("runs"))?;
        let lock_path = root.join("lock");
        let mut lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&lock_path)
            .map_err(io_err(&lock_path))?;
        // An OS file lock dies with the process, so a crash never leaves a stale lock behind.
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let holder = fs::read_to_string(&lock_path)
                    .ok()
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| "unknown process".to_owned());
                return Err(JournalError::Locked {
                    path: root.to_owned(),
                    holder,
                });
            }
            Err(fs::TryLockError::Error(source)) => {
                return Err(JournalError::Io {
                    path: lock_path,
                    source,
                });
            }
        }
        lock.set_len(0).map_err(io_err(&lock_path))?;
        write!(lock, "pid {} ({purpose})", std::process::id()).map_err(io_err(&lock_path))?;
        Ok(StateDir {
            root: root.to_owned(),
            _lock: lock,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn run_dir(&self, run_id: &str) -> PathBuf {
        self.root.join("runs").join(run_id)
    }

    /// Starts a new run: its directory, journal and snapshot folder.
    pub fn new_run(&self) -> Result<Run, JournalError> {
        let run_id = new_run_id();
        let dir = self.run_dir(&run_id);
        ensure_private_dir(&dir)?;
        ensure_private_dir(&dir.join("snapshots"))?;
        Run::open(run_id, dir)
    }

    /// Opens an existing run for resuming.
    pub fn existing_run(&self, run_id: &str) -> Result<Run, JournalError> {
        let dir = self.run_dir(run_id);
        let journal = dir.join("journal.jsonl");
        if !journal.is_file() {
            return Err(JournalError::NoSuchRun {
                path: self.root.clone(),
                run_id: run_id.to_owned(),
            });
        }
        repair_torn_tail(&journal)?;
        Run::open(run_id.to_owned(), dir)
    }

    /// Run ids, oldest first (ids sort by time).
    pub fn run_ids(&self) -> Result<Vec<String>, JournalError> {
        let runs = self.root.join("runs");
        let mut ids: Vec<String> = fs::read_dir(&runs)
            .map_err(io_err(&runs))?
            .filter_map(|entry| entry.ok())
            .filter(|entry| entry.path().join("journal.jsonl").is_file())
            .filter_map(|entry| entry.file_name().into_string().ok())
            .collect();
        ids.sort();
        Ok(ids)
    }
}

fn new_run_id() -> String {
    let now = aws_smithy_types::DateTime::from(std::time::SystemTime::now());
    let stamp = now
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
        .replace(['-', ':'], "");
    let stamp = stamp
        .split('.')
        .next()
        .unwrap_or(&stamp)
        .trim_end_matches('Z');
    format!("{stamp}Z-{:04x}", std::process::id() & 0xffff)
}

pub fn timestamp() -> String {
    aws_smithy_types::DateTime::from(std::time::SystemTime::now())
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
}

/// A definition's identity within a run.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ItemKey {
    pub region: String,
    pub kind: Kind,
    pub name: String,
}

impl std::fmt::Display for ItemKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} ({})", self.kind, self.name, self.region)
    }
}

/// A schedule as it was before the run touched it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleSnapshot {
    pub name: String,
    /// The exact `DescribeMonitoringSchedule` JSON.
    pub describe: Value,
}

impl ScheduleSnapshot {
    pub fn config(&self) -> &Value {
        &self.describe["MonitoringScheduleConfig"]
    }
}

/// Everything needed to put a definition back as it was: written before anything is deleted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub format_version: u32,
    pub run_id: String,
    pub account_id: String,
    pub region: String,
    pub kind: Kind,
    pub name: String,
    pub arn: String,
    /// The exact `Describe<Noun>` JSON.
    pub describe: Value,
    pub tags: Vec<Tag>,
    pub schedules: Vec<ScheduleSnapshot>,
    pub temporary_name: Option<String>,
    /// `request::snapshot_hash(describe, tags)`: a snapshot that does not match it is refused.
    pub snapshot_sha256: String,
    pub taken_at: String,
}

impl Snapshot {
    pub fn key(&self) -> ItemKey {
        ItemKey {
            region: self.region.clone(),
            kind: self.kind,
            name: self.name.clone(),
        }
    }

    /// Reads and checks a snapshot file: valid JSON of this format whose hash matches its content.
    pub fn read(path: &Path) -> Result<Snapshot, JournalError> {
        let bad = |reason: String| JournalError::BadSnapshot {
            path: path.to_owned(),
            reason,
        };
        let bytes = fs::read(path).map_err(io_err(path))?;
        let snapshot: Snapshot = serde_json::from_slice(&bytes).map_err(|e| bad(format!("{e}")))?;
        if snapshot.format_version != SNAPSHOT_FORMAT_VERSION {
            return Err(bad(format!(
                "format version {} (this sm-recreate reads {SNAPSHOT_FORMAT_VERSION})",
                snapshot.format_version
            )));
        }
        if request::snapshot_hash(&snapshot.describe, &snapshot.tags) != snapshot.snapshot_sha256 {
            return Err(bad(
                "its content does not match its checksum (edited or corrupt)".into(),
            ));
        }
        if snapshot
            .describe
            .get("JobDefinitionName")
            .and_then(Value::as_str)
            != Some(snapshot.name.as_str())
        {
            return Err(bad("its describe JSON does not name the definition".into()));
        }
        Ok(snapshot)
    }
}

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    RunStarted {
        run_id: String,
        account_id: String,
        strategy: String,
        items: Vec<PlannedItem>,
        /// For a `restore` run: the snapshot it restores (an interrupted `restore --replace`
        /// continues when the same command runs again).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        restoring: Option<PathBuf>,
    },
    ItemStarted {
        item: ItemKey,
        snapshot: PathBuf,
    },
    Step {
        item: ItemKey,
        step: Step,
        phase: Phase,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    ItemFinished {
        item: ItemKey,
        outcome: Status,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    RunInterrupted,
    RunFinished,
}

/// An item the run intends to recreate, with what resume needs to redo it from scratch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedItem {
    pub item: ItemKey,
    pub temporary_name: Option<String>,
    pub snapshot_sha256: String,
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
    RollbackSchedule(String),
    RollbackCreateOriginalFromSnapshot,
    RollbackVerify,
    RollbackDeleteTemporary,
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
            Step::RollbackSchedule(s) => ("rollback-schedule", Some(s)),
            Step::RollbackCreateOriginalFromSnapshot => {
                ("rollback-create-original-from-snapshot", None)
            }
            Step::RollbackVerify => ("rollback-verify", None),
            Step::RollbackDeleteTemporary => ("rollback-delete-temporary", None),
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
            ("rollback-schedule", Some(s)) => Step::RollbackSchedule(s),
            ("rollback-create-original-from-snapshot", None) => {
                Step::RollbackCreateOriginalFromSnapshot
            }
            ("rollback-verify", None) => Step::RollbackVerify,
            ("rollback-delete-temporary", None) => Step::RollbackDeleteTemporary,
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
    journal: Mutex<File>,
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
            journal: Mutex::new(journal),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn journal_path(&self) -> PathBuf {
        self.dir.join("journal.jsonl")
    }

    /// Appends one event and fsyncs: the journal is only useful if it is ahead of AWS.
    pub fn record(&self, event: Event) -> Result<(), JournalError> {
        let record = Record {
            at: timestamp(),
            event,
        };
        let mut line = serde_json::to_vec(&record).expect("journal records serialize");
        line.push(b'\n');
        let path = self.journal_path();
        blocking(|| {
            let mut file = self.journal.lock().expect("journal lock");
            file.write_all(&line).map_err(io_err(&path))?;
            file.sync_data().map_err(io_err(&path))
        })
    }

    pub fn snapshot_path(&self, key: &ItemKey) -> PathBuf {
        self.dir.join("snapshots").join(format!(
            "{}.{}.{}.json",
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

/// What a journal says about a run.
#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    pub account_id: Option<String>,
    pub strategy: Option<String>,
    /// For a `restore` run: the snapshot it restores.
    pub restoring: Option<PathBuf>,
    pub planned: Vec<PlannedItem>,
    /// The snapshot of every item the run started.
    pub snapshots: Vec<(ItemKey, PathBuf)>,
    /// The last outcome of each finished item.
    pub finished: Vec<(ItemKey, Status)>,
    /// What each started item's steps did to AWS, as far as the journal knows.
    pub progress: Vec<(ItemKey, Progress)>,
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
    /// This run started recreating the original from the snapshot (a rollback).
    pub restoring_original: bool,
    /// A delete of the original had its answer lost: it may act late, so a later refusal does
    /// not make the delete "not sent".
    pub delete_lost: bool,
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
                    strategy,
                    items,
                    restoring,
                    ..
                } => {
                    summary.account_id = Some(account_id.clone());
                    summary.strategy = Some(strategy.clone());
                    summary.restoring = restoring.clone();
                    summary.planned.extend(items.iter().cloned());
                }
                Event::ItemStarted { item, snapshot } => {
                    summary.snapshots.retain(|(k, _)| k != item);
                    summary.snapshots.push((item.clone(), snapshot.clone()));
                    summary.finished.retain(|(k, _)| k != item);
                }
                Event::ItemFinished { item, outcome, .. } => {
                    summary.finished.retain(|(k, _)| k != item);
                    summary.finished.push((item.clone(), *outcome));
                }
                Event::RunFinished => summary.run_finished = true,
                Event::RunInterrupted => summary.run_finished = false,
                Event::Step {
                    item, step, phase, ..
                } => {
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
                        (Step::RollbackCreateOriginalFromSnapshot, Phase::Start) => {
                            progress.restoring_original = true;
                        }
                        (Step::CreateTemporary, Phase::Done) => progress.copy = Claim::Made,
                        (Step::CreateTemporary, Phase::Failed) => progress.copy = Claim::None,
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

    pub fn snapshot_of(&self, key: &ItemKey) -> Option<&PathBuf> {
        self.snapshots
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, p)| p)
    }

    pub fn outcome_of(&self, key: &ItemKey) -> Option<Status> {
        self.finished
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, o)| *o)
    }

    pub fn progress_of(&self, key: &ItemKey) -> Progress {
        self.progress
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, p)| *p)
            .unwrap_or_default()
    }

    fn progress_mut(&mut self, key: &ItemKey) -> &mut Progress {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_dir_is_private_and_locked() {
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path().join("state");
        let state = StateDir::open(&root, "test").unwrap();
        assert_eq!(
            fs::metadata(&root).unwrap().permissions().mode() & 0o777,
            0o700
        );
        let second = StateDir::open(&root, "second");
        assert!(
            matches!(second, Err(JournalError::Locked { .. })),
            "{second:?}"
        );
        drop(state);
        StateDir::open(&root, "third").unwrap();
    }

    #[test]
    fn the_state_dir_is_recorded_as_a_canonical_path() {
        let temp = tempfile::tempdir().unwrap();
        fs::create_dir(temp.path().join("elsewhere")).unwrap();
        let roundabout = temp.path().join("elsewhere").join("..").join("state");
        let state = StateDir::open(&roundabout, "test").unwrap();
        assert_eq!(
            state.root(),
            fs::canonicalize(temp.path().join("state")).unwrap()
        );
        assert!(state.root().is_absolute());
    }

    #[test]
    fn a_shared_state_dir_is_refused() {
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path().join("state");
        fs::create_dir(&root).unwrap();
        fs::set_permissions(&root, fs::Permissions::from_mode(0o755)).unwrap();
        assert!(matches!(
            StateDir::open(&root, "test"),
            Err(JournalError::NotPrivate { .. })
        ));
    }

    #[test]
    fn snapshots_are_private_and_checked() {
        let temp = tempfile::tempdir().unwrap();
        let state = StateDir::open(&temp.path().join("s"), "test").unwrap();
        let run = state.new_run().unwrap();
        let describe = serde_json::json!({"JobDefinitionName": "a", "X": 1});
        let tags = vec![Tag {
            key: "k".into(),
            value: "v".into(),
        }];
        let snapshot = Snapshot {
            format_version: SNAPSHOT_FORMAT_VERSION,
            run_id: run.run_id.clone(),
            account_id: "1".into(),
            region: "us-east-1".into(),
            kind: Kind::DataQuality,
            name: "a".into(),
            arn: "arn".into(),
            snapshot_sha256: request::snapshot_hash(&describe, &tags),
            describe,
            tags,
            schedules: vec![],
            temporary_name: Some("t".into()),
            taken_at: timestamp(),
        };
        let path = run.write_snapshot(&snapshot).unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(Snapshot::read(&path).unwrap(), snapshot);
        let edited = fs::read_to_string(&path)
            .unwrap()
            .replace("\"X\": 1", "\"X\": 2");
        fs::write(&path, edited).unwrap();
        assert!(matches!(
            Snapshot::read(&path),
            Err(JournalError::BadSnapshot { .. })
        ));
        fs::write(&path, "{\"truncated").unwrap();
        assert!(matches!(
            Snapshot::read(&path),
            Err(JournalError::BadSnapshot { .. })
        ));
    }

    #[test]
    fn the_journal_tells_what_is_unfinished() {
        let temp = tempfile::tempdir().unwrap();
        let state = StateDir::open(&temp.path().join("s"), "test").unwrap();
        let run = state.new_run().unwrap();
        let key = |name: &str| ItemKey {
            region: "r".into(),
            kind: Kind::ModelBias,
            name: name.into(),
        };
        let planned = |name: &str| PlannedItem {
            item: key(name),
            temporary_name: None,
            snapshot_sha256: String::new(),
        };
        run.record(Event::RunStarted {
            run_id: run.run_id.clone(),
            account_id: "1".into(),
            strategy: "staged".into(),
            items: vec![planned("a"), planned("b"), planned("c")],
            restoring: None,
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
}
