//! The state directory: private (0700, files 0600: snapshots hold `Environment` values), and
//! locked so two sm-recreate processes never share it.

use super::{JournalError, Run, io_err, repair_torn_tail};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

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
        let run = Run::open(run_id, dir)?;
        // The journal's lines are synced before each call goes out, but a line is only found
        // after a power loss if the names leading to it are on disk too: the run's folder in
        // `runs`, and the journal and snapshot folder in the run's folder.
        for folder in [run.dir(), &self.root.join("runs")] {
            File::open(folder)
                .and_then(|d| d.sync_all())
                .map_err(io_err(folder))?;
        }
        Ok(run)
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
}
