//! `Env`: a [`Sandbox`] whose commands also take a state directory (apply, resume, restore), with
//! the end-state checks those tests share, acting as someone else, and seeds in the one region
//! these tests use.

use super::{
    Flag, REGION, Sandbox, flagged_request, seed, seed_definition, seed_schedule, with_timeout,
};
use serde_json::{Value, json};
use sm_emulator::{Behaviour, FaultRule, Seed, SeedDefinition, SeedSchedule};
use sm_recreate::kinds::Kind;
use sm_recreate::sagemaker::{SageMaker, Tag};
use std::collections::BTreeSet;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

pub const SCHEDULE: &str = "nightly";

/// One emulator, one scratch directory (HOME, working directory, empty AWS files, state dir).
/// Derefs to its [`Sandbox`] (`emulator`, `calls`, `mutating_calls`, `block_on`, ...); its own
/// `cmd` and `client` take the place of the sandbox's.
pub struct Env {
    sandbox: Sandbox,
    /// `AWS_MAX_ATTEMPTS` for the binary; `None` leaves the tool's default (standard, 8, and
    /// the client's rate limit retrying throttles).
    pub max_attempts: Option<u32>,
}

impl Deref for Env {
    type Target = Sandbox;

    fn deref(&self) -> &Sandbox {
        &self.sandbox
    }
}

impl Env {
    pub fn start(seed: Seed, behaviour: Behaviour) -> Env {
        Env {
            sandbox: Sandbox::with_behaviour(seed, behaviour),
            max_attempts: None,
        }
    }

    /// The usual test behaviour: schedules settle after 50 ms.
    pub fn quick(seed: Seed) -> Env {
        Env::start(seed, quick_behaviour())
    }

    /// The demo account's definitions `names` (and their schedules), the usual behaviour, and
    /// `faults`.
    pub fn demo(names: &[&str], faults: Vec<FaultRule>) -> Env {
        Env::start(super::demo_subset(names), behaviour(faults))
    }

    /// Schedules that settle at once, so the calls of a run are numbered the same every time, and
    /// a binary that tries each call twice, so one fault is retried and a second one is not.
    pub fn settled(seed: Seed) -> Env {
        let mut env = Env::start(seed, settle_behaviour(vec![]));
        env.max_attempts = Some(2);
        env
    }

    /// A path inside the scratch directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.workdir.file(name)
    }

    /// `--state-dir` (absolute, so snapshot paths in the journal are too).
    pub fn state_dir(&self) -> PathBuf {
        self.path("state")
    }

    /// The hermetic binary with `AWS_MAX_ATTEMPTS` (if set), `--state-dir state_dir` and
    /// `--color never`, as a plain `std::process::Command`; add the command and its flags.
    pub fn std_cmd_in(&self, state_dir: &Path) -> std::process::Command {
        let mut command = super::hermetic_command(&self.endpoint_url(), &self.workdir);
        if let Some(attempts) = self.max_attempts {
            command.env("AWS_MAX_ATTEMPTS", attempts.to_string());
        }
        command
            .arg("--state-dir")
            .arg(state_dir)
            .args(["--color", "never"]);
        command
    }

    /// The binary through assert_cmd; add the command and its flags.
    pub fn cmd(&self) -> assert_cmd::Command {
        with_timeout(self.std_cmd())
    }

    /// The binary as a plain `std::process::Command` (for tests that need the `Child`).
    pub fn std_cmd(&self) -> std::process::Command {
        self.std_cmd_in(&self.state_dir())
    }

    /// Runs the binary with another `--state-dir`.
    pub fn run_with_state_dir(&self, state_dir: &Path, args: &[&str]) -> Output {
        with_timeout(self.std_cmd_in(state_dir))
            .args(args)
            .output()
            .expect("run sm-recreate")
    }

    /// Runs the binary with `args` and returns its output.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("run sm-recreate")
    }

    /// Plans into `plan.json` (exit 0 expected) and returns its path.
    pub fn plan_file(&self) -> PathBuf {
        let plan = self.path("plan.json");
        let output = self.run(&["plan", "--out", plan.to_str().unwrap()]);
        assert_eq!(super::code(&output), 0, "plan: {}", super::show(&output));
        plan
    }

    /// An adapter client (the tool's own configuration) for checks and changes from the test.
    pub fn client(&self) -> SageMaker {
        self.sandbox.client(REGION)
    }

    /// A plain `aws-sdk-sagemaker` client (retries off), for acting as someone else would.
    pub fn someone_else(&self) -> aws_sdk_sagemaker::Client {
        sm_testkit::client(&self.emulator, REGION)
    }

    pub fn definition(&self, kind: Kind, name: &str) -> Option<Value> {
        self.emulator.definition(REGION, kind, name)
    }

    /// Whether the live `name` is `before` with the flag set (`CreationTime` aside).
    pub fn is_fixed(&self, kind: Kind, name: &str, before: &Value) -> bool {
        self.definition(kind, name).is_some_and(|live| {
            without_creation_time(&live) == without_creation_time(&with_flag(before, true))
        })
    }

    /// Every definition of `kind` named like a temporary copy of `name` (`NAME-smr…`).
    pub fn copies(&self, kind: Kind, name: &str) -> Vec<String> {
        let prefix = format!("{}-smr", &name[..name.len().min(63 - 10)]);
        self.emulator
            .definition_names(REGION, kind)
            .into_iter()
            .filter(|n| n.starts_with(&prefix))
            .collect()
    }

    /// A definition's tags, as a set (read through ListTags: call only once faults are cleared).
    pub fn tags(&self, kind: Kind, name: &str) -> BTreeSet<Tag> {
        let describe = self.definition(kind, name).expect("definition exists");
        let arn = describe["JobDefinitionArn"]
            .as_str()
            .expect("arn")
            .to_owned();
        let client = self.client();
        self.block_on(client.list_tags(&arn))
            .expect("list tags")
            .into_iter()
            .collect()
    }

    /// The schedule's live `MonitoringScheduleConfig`.
    pub fn schedule_config(&self, schedule: &str) -> Value {
        self.emulator
            .schedule(REGION, schedule)
            .expect("schedule exists")["MonitoringScheduleConfig"]
            .clone()
    }

    pub fn schedule_target(&self, schedule: &str) -> String {
        let described = self
            .emulator
            .schedule(REGION, schedule)
            .expect("schedule exists");
        described["MonitoringScheduleConfig"]["MonitoringJobDefinitionName"]
            .as_str()
            .expect("schedule names a definition")
            .to_owned()
    }

    /// The mutating calls after the first `before` of them, for assertions and messages.
    pub fn mutating_since(&self, before: usize) -> Vec<String> {
        self.mutating_calls()[before..]
            .iter()
            .map(|c| format!("{} {:?} ({})", c.operation, c.name, c.outcome))
            .collect()
    }

    /// Clears every fault and the call counters (schedules settle after 50 ms).
    pub fn clear_faults(&self) {
        self.emulator.set_behaviour(quick_behaviour());
    }

    /// Every snapshot file written under the state directory, with its JSON.
    pub fn snapshots(&self) -> Vec<(PathBuf, Value)> {
        let mut found = Vec::new();
        let runs = self.state_dir().join("runs");
        let Ok(entries) = std::fs::read_dir(&runs) else {
            return found;
        };
        for run in entries.flatten() {
            let Ok(files) = std::fs::read_dir(run.path().join("snapshots")) else {
                continue;
            };
            for file in files.flatten() {
                let path = file.path();
                if path.extension().is_some_and(|e| e == "json") {
                    let text = std::fs::read_to_string(&path).expect("read snapshot");
                    found.push((path, serde_json::from_str(&text).expect("snapshot is JSON")));
                }
            }
        }
        found.sort_by(|a, b| a.0.cmp(&b.0));
        found
    }

    /// The snapshot of `name` (the only one, or the newest).
    pub fn snapshot_of(&self, name: &str) -> (PathBuf, Value) {
        self.snapshots()
            .into_iter()
            .rfind(|(_, s)| s["name"] == json!(name))
            .unwrap_or_else(|| panic!("no snapshot of {name}"))
    }

    /// The journals of every run, oldest first, each as its parsed lines.
    pub fn journals(&self) -> Vec<(PathBuf, Vec<Value>)> {
        let runs = self.state_dir().join("runs");
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(&runs)
            .map(|e| e.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        dirs.sort();
        dirs.into_iter()
            .filter_map(|dir| {
                let path = dir.join("journal.jsonl");
                let text = std::fs::read_to_string(&path).ok()?;
                let lines = text
                    .lines()
                    .map(|l| serde_json::from_str(l).expect("each journal line is JSON"))
                    .collect();
                Some((path, lines))
            })
            .collect()
    }
}

pub fn quick_behaviour() -> Behaviour {
    Behaviour {
        schedule_transition: Duration::from_millis(50),
        ..Behaviour::default()
    }
}

/// The usual behaviour with `faults`.
pub fn behaviour(faults: Vec<FaultRule>) -> Behaviour {
    Behaviour {
        faults,
        ..quick_behaviour()
    }
}

/// `faults`, with schedules that settle at once (the crash and fault-matrix cases).
pub fn settle_behaviour(faults: Vec<FaultRule>) -> Behaviour {
    Behaviour {
        faults,
        schedule_transition: Duration::ZERO,
        ..Behaviour::default()
    }
}

/// Every create of `name` is refused (`ValidationException`): a recreate's create of the original
/// fails, and so does its rollback's, so the run ends `rollback-incomplete` (exit 4) with the
/// schedule on the compliant copy and the snapshot to restore.
pub fn creates_refused(kind: Kind, name: &str) -> Vec<FaultRule> {
    vec![super::error_rule(
        &op("Create", kind),
        Some(name),
        "ValidationException",
    )]
}

/// `Create`, `Describe` or `Delete` + the kind's API noun.
pub fn op(verb: &str, kind: Kind) -> String {
    format!("{verb}{}", kind.api_noun())
}

// -------------------------------------------------------------------------------------------
// seeds, all in `REGION`
// -------------------------------------------------------------------------------------------

/// The maximal request of `kind` named `name`, flag false, with `tags` (none: no `Tags`).
pub fn noncompliant(kind: Kind, name: &str, tags: &[(&str, &str)]) -> Value {
    flagged_request(kind, name, Flag::Off, tags)
}

pub fn definition(kind: Kind, request: Value) -> SeedDefinition {
    seed_definition(REGION, kind, request)
}

pub fn schedule(name: &str, kind: Kind, definition: &str) -> SeedSchedule {
    seed_schedule(REGION, name, kind, definition)
}

/// One non-compliant maximal definition `name` of `kind` with two tags, referenced by the
/// schedule `nightly`: every call of the staged protocol happens.
pub fn referenced_seed(kind: Kind, name: &str) -> Seed {
    seed(
        vec![definition(
            kind,
            noncompliant(kind, name, &[("team", "ml"), ("cost-center", "42")]),
        )],
        vec![schedule(SCHEDULE, kind, name)],
    )
}

// -------------------------------------------------------------------------------------------
// JSON
// -------------------------------------------------------------------------------------------

/// A describe JSON without `CreationTime` (which a recreate changes).
pub fn without_creation_time(describe: &Value) -> Value {
    let mut value = describe.clone();
    value
        .as_object_mut()
        .expect("object")
        .shift_remove("CreationTime");
    value
}

/// The describe JSON with the flag set to `flag` (creating `NetworkConfig` if needed).
pub fn with_flag(describe: &Value, flag: bool) -> Value {
    let mut value = describe.clone();
    if value.get("NetworkConfig").is_none() {
        value["NetworkConfig"] = json!({});
    }
    value["NetworkConfig"]["EnableInterContainerTrafficEncryption"] = json!(flag);
    value
}

pub fn flag_of(describe: &Value) -> Option<bool> {
    describe["NetworkConfig"]["EnableInterContainerTrafficEncryption"].as_bool()
}

pub fn tags_of(snapshot: &Value) -> BTreeSet<Tag> {
    serde_json::from_value(snapshot["tags"].clone()).expect("snapshot tags")
}

pub fn tag_set(tags: &[(&str, &str)]) -> BTreeSet<Tag> {
    tags.iter()
        .map(|(k, v)| Tag {
            key: (*k).to_owned(),
            value: (*v).to_owned(),
        })
        .collect()
}
