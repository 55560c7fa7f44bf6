//! Snapshots: everything needed to put a definition back as it was, written durably before
//! anything is deleted, and checked against their own hash when read back.

use super::{JournalError, Run, io_err, timestamp};
use crate::kinds::Fixes;
use crate::request;
use crate::resource::{ResourceId, ResourceKind};
use crate::sagemaker::Tag;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fs;
use std::path::Path;

pub const SNAPSHOT_FORMAT_VERSION: u32 = 1;

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

/// Everything needed to put a definition (or a schedule whose inline job definition is fixed in
/// place) back as it was: written before anything is changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub format_version: u32,
    pub run_id: String,
    pub account_id: String,
    pub region: String,
    /// A definition's kind (as sm-recreate 0.1 wrote it), or `monitoring-schedule`.
    pub kind: ResourceKind,
    pub name: String,
    pub arn: String,
    /// The exact `Describe<Noun>` (or `DescribeMonitoringSchedule`) JSON.
    pub describe: Value,
    /// The flags the run makes true on it; absent in snapshots of sm-recreate 0.1, which fixed
    /// encryption only.
    #[serde(default = "encryption_only")]
    pub fixes: Fixes,
    pub tags: Vec<Tag>,
    pub schedules: Vec<ScheduleSnapshot>,
    pub temporary_name: Option<String>,
    /// `request::snapshot_hash(describe, tags)`: a snapshot that does not match it is refused.
    pub snapshot_sha256: String,
    pub taken_at: String,
}

fn encryption_only() -> Fixes {
    Fixes::ENCRYPTION
}

impl Snapshot {
    pub fn key(&self) -> ResourceId {
        ResourceId {
            account_id: self.account_id.clone(),
            region: self.region.clone(),
            kind: self.kind,
            name: self.name.clone(),
        }
    }

    /// The member of `describe` that names the resource.
    fn name_member(&self) -> &'static str {
        match self.kind {
            ResourceKind::MonitoringSchedule => "MonitoringScheduleName",
            ResourceKind::NotebookInstance => "NotebookInstanceName",
            ResourceKind::Definition(_) => "JobDefinitionName",
        }
    }

    /// The member of `describe` that holds the resource's ARN.
    fn arn_member(&self) -> &'static str {
        match self.kind {
            ResourceKind::MonitoringSchedule => "MonitoringScheduleArn",
            ResourceKind::NotebookInstance => "NotebookInstanceArn",
            ResourceKind::Definition(_) => "JobDefinitionArn",
        }
    }

    /// Reads and checks a snapshot file: valid JSON of this format whose hash matches its content,
    /// and whose account and region are those its (hashed) describe JSON names.
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
        // `account_id` and `region` are outside the hash: the ARN inside it must agree, so an
        // edited account is refused rather than restored into another account.
        if let Some(arn) = snapshot
            .describe
            .get(snapshot.arn_member())
            .and_then(Value::as_str)
        {
            let mut parts = arn.split(':').skip(3);
            if (parts.next(), parts.next())
                != (
                    Some(snapshot.region.as_str()),
                    Some(snapshot.account_id.as_str()),
                )
            {
                return Err(bad(format!(
                    "its account {} and region {} are not those of its ARN {arn}",
                    snapshot.account_id, snapshot.region
                )));
            }
        }
        if snapshot
            .describe
            .get(snapshot.name_member())
            .and_then(Value::as_str)
            != Some(snapshot.name.as_str())
        {
            return Err(bad(format!(
                "its describe JSON does not name the {}",
                snapshot.kind
            )));
        }
        Ok(snapshot)
    }
}

/// Builds the snapshot for a resource about to be changed.
#[allow(clippy::too_many_arguments)]
pub fn snapshot_of(
    run: &Run,
    key: &ResourceId,
    fixes: Fixes,
    arn: &str,
    describe: Value,
    tags: Vec<Tag>,
    schedules: Vec<ScheduleSnapshot>,
    temporary_name: Option<String>,
) -> Snapshot {
    Snapshot {
        format_version: SNAPSHOT_FORMAT_VERSION,
        run_id: run.run_id.clone(),
        account_id: key.account_id.clone(),
        region: key.region.clone(),
        kind: key.kind,
        name: key.name.clone(),
        arn: arn.to_owned(),
        fixes,
        snapshot_sha256: request::snapshot_hash(&describe, &tags),
        describe,
        tags,
        schedules,
        temporary_name,
        taken_at: timestamp(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{StateDir, timestamp};
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn snapshots_are_private_and_checked() {
        let temp = tempfile::tempdir().unwrap();
        let state = StateDir::open(&temp.path().join("s"), "test").unwrap();
        let run = state.new_run().unwrap();
        let describe = serde_json::json!({
            "JobDefinitionName": "a",
            "JobDefinitionArn": "arn:aws:sagemaker:us-east-1:111122223333:data-quality-job-definition/a",
            "X": 1,
        });
        let tags = vec![Tag {
            key: "k".into(),
            value: "v".into(),
        }];
        let snapshot = Snapshot {
            format_version: SNAPSHOT_FORMAT_VERSION,
            run_id: run.run_id.clone(),
            account_id: "111122223333".into(),
            region: "us-east-1".into(),
            kind: ResourceKind::Definition(crate::kinds::Kind::DataQuality),
            name: "a".into(),
            arn: "arn".into(),
            fixes: Fixes::ENCRYPTION,
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
        // The account is outside the hash, but not outside the ARN's check.
        let written = fs::read_to_string(&path).unwrap();
        let moved = written.replace(
            "\"account_id\": \"111122223333\"",
            "\"account_id\": \"444455556666\"",
        );
        assert_ne!(moved, written);
        fs::write(&path, moved).unwrap();
        assert!(matches!(
            Snapshot::read(&path),
            Err(JournalError::BadSnapshot { reason, .. }) if reason.contains("ARN")
        ));
        fs::write(&path, written).unwrap();
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
}
