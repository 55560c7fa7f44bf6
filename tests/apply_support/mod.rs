//! Shared helpers for the apply, fault-matrix, crash and bad-input tests: an in-process emulator on
//! its own tokio runtime, the real binary aimed at it hermetically (dummy credentials, empty AWS
//! config files, IMDS off, every inherited `AWS_*` variable removed), seeds built from the maximal
//! fixtures, and the end-state checks every apply test shares.

#![allow(dead_code)] // each test crate uses a different subset

use serde_json::{Value, json};
use sm_recreate::emulator::{
    self, Behaviour, Emulator, EmulatorConfig, FaultError, FaultRule, MUTATING_OPERATIONS,
    RecordedCall, Seed, SeedDefinition, SeedSchedule,
};
use sm_recreate::kinds::Kind;
use sm_recreate::sagemaker::{AwsOptions, SageMaker, Tag, load_sdk_config};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;
use tempfile::TempDir;

pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "123456789012";
pub const SCHEDULE: &str = "nightly";

/// One emulator, one scratch directory (HOME, working directory, empty AWS files, state dir).
pub struct Env {
    pub emulator: Emulator,
    pub dir: TempDir,
    /// `AWS_MAX_ATTEMPTS` for the binary; `None` leaves the tool's default (adaptive, 8).
    pub max_attempts: Option<u32>,
    // Declared last: dropped after the emulator handle.
    runtime: tokio::runtime::Runtime,
}

impl Env {
    pub fn start(seed: Seed, behaviour: Behaviour) -> Env {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("build a tokio runtime");
        let emulator = runtime
            .block_on(emulator::start(
                EmulatorConfig { seed, behaviour },
                SocketAddr::from(([127, 0, 0, 1], 0)),
            ))
            .expect("start the emulator");
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("aws-config"), "").expect("write empty AWS config");
        std::fs::write(dir.path().join("aws-credentials"), "").expect("write empty credentials");
        Env {
            emulator,
            dir,
            max_attempts: None,
            runtime,
        }
    }

    /// The usual test behaviour: schedules settle after 50 ms.
    pub fn quick(seed: Seed) -> Env {
        Env::start(seed, quick_behaviour())
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `--state-dir` (absolute, so snapshot paths in the journal are too).
    pub fn state_dir(&self) -> PathBuf {
        self.path("state")
    }

    /// The hermetic environment and global flags, for either kind of `Command`.
    fn configure(&self, command: &mut std::process::Command) {
        self.configure_with(command, &self.state_dir());
    }

    fn configure_with(&self, command: &mut std::process::Command, state_dir: &Path) {
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("AWS_") {
                command.env_remove(&key);
            }
        }
        command
            .env_remove("RUST_LOG")
            .env_remove("NO_COLOR")
            .current_dir(self.dir.path())
            .env("HOME", self.dir.path())
            .env("AWS_ACCESS_KEY_ID", "AKIDTEST")
            .env("AWS_SECRET_ACCESS_KEY", "secret")
            .env("AWS_REGION", REGION)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", self.path("aws-config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", self.path("aws-credentials"));
        if let Some(attempts) = self.max_attempts {
            command.env("AWS_MAX_ATTEMPTS", attempts.to_string());
        }
        command
            .args(["--endpoint-url", &self.emulator.endpoint_url()])
            .arg("--state-dir")
            .arg(state_dir)
            .args(["--color", "never"]);
    }

    /// The binary through assert_cmd; add the command and its flags.
    pub fn cmd(&self) -> assert_cmd::Command {
        let mut std = std::process::Command::new(env!("CARGO_BIN_EXE_sm-recreate"));
        self.configure(&mut std);
        let mut command = assert_cmd::Command::from_std(std);
        command.timeout(Duration::from_secs(180));
        command
    }

    /// The binary as a plain `std::process::Command` (for tests that need the `Child`).
    pub fn std_cmd(&self) -> std::process::Command {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_sm-recreate"));
        self.configure(&mut command);
        command
    }

    /// Runs the binary with another `--state-dir`.
    pub fn run_with_state_dir(&self, state_dir: &Path, args: &[&str]) -> Output {
        let mut std = std::process::Command::new(env!("CARGO_BIN_EXE_sm-recreate"));
        self.configure_with(&mut std, state_dir);
        let mut command = assert_cmd::Command::from_std(std);
        command.timeout(Duration::from_secs(180));
        command.args(args).output().expect("run sm-recreate")
    }

    /// Runs the binary with `args` and returns its output.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("run sm-recreate")
    }

    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// An adapter client (the tool's own configuration) for checks and changes from the test.
    pub fn client(&self) -> SageMaker {
        let config = self.runtime.block_on(load_sdk_config(&AwsOptions {
            endpoint_url: Some(self.emulator.endpoint_url()),
            region: Some(REGION.to_owned()),
            dummy_credentials: true,
            ..AwsOptions::default()
        }));
        SageMaker::new(&config, REGION)
    }

    pub fn definition(&self, kind: Kind, name: &str) -> Option<Value> {
        self.emulator.definition(REGION, kind, name)
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

    pub fn calls(&self) -> Vec<RecordedCall> {
        self.emulator.calls()
    }

    pub fn mutating_calls(&self) -> Vec<RecordedCall> {
        mutating(&self.calls())
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

pub fn mutating(calls: &[RecordedCall]) -> Vec<RecordedCall> {
    calls
        .iter()
        .filter(|c| MUTATING_OPERATIONS.contains(&c.operation.as_str()))
        .cloned()
        .collect()
}

/// `Create`, `Describe` or `Delete` + the kind's API noun.
pub fn op(verb: &str, kind: Kind) -> String {
    format!("{verb}{}", kind.api_noun())
}

// -------------------------------------------------------------------------------------------
// seeds
// -------------------------------------------------------------------------------------------

/// `fixtures/maximal/<kind>.json`: a create request with every member the model defines.
pub fn maximal_request(kind: Kind) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/maximal")
        .join(format!("{}.json", kind.cli_name()));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The maximal request of `kind` named `name`, flag false, with `tags` (none: no `Tags`).
pub fn noncompliant(kind: Kind, name: &str, tags: &[(&str, &str)]) -> Value {
    let mut request = maximal_request(kind);
    request["JobDefinitionName"] = json!(name);
    request["NetworkConfig"]["EnableInterContainerTrafficEncryption"] = json!(false);
    let object = request.as_object_mut().expect("object");
    if tags.is_empty() {
        object.shift_remove("Tags");
    } else {
        object.insert(
            "Tags".to_owned(),
            tags.iter()
                .map(|(k, v)| json!({"Key": k, "Value": v}))
                .collect(),
        );
    }
    request
}

pub fn definition(kind: Kind, request: Value) -> SeedDefinition {
    SeedDefinition {
        kind,
        region: REGION.to_owned(),
        request,
    }
}

pub fn schedule(name: &str, kind: Kind, definition: &str) -> SeedSchedule {
    SeedSchedule {
        region: REGION.to_owned(),
        request: json!({
            "MonitoringScheduleName": name,
            "MonitoringScheduleConfig": {
                "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
                "MonitoringJobDefinitionName": definition,
                "MonitoringType": kind.monitoring_type(),
            },
        }),
        status: None,
        last_monitoring_execution_summary: None,
    }
}

pub fn seed(definitions: Vec<SeedDefinition>, schedules: Vec<SeedSchedule>) -> Seed {
    Seed {
        definitions,
        schedules,
        ..Seed::default()
    }
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
// faults
// -------------------------------------------------------------------------------------------

pub fn error_rule(operation: &str, name: Option<&str>, code: &str) -> FaultRule {
    FaultRule {
        operation: operation.to_owned(),
        name: name.map(str::to_owned),
        error: Some(FaultError::new(code)),
        ..FaultRule::default()
    }
}

pub fn drop_rule(operation: &str, name: Option<&str>) -> FaultRule {
    FaultRule {
        operation: operation.to_owned(),
        name: name.map(str::to_owned),
        drop_connection: true,
        ..FaultRule::default()
    }
}

pub fn delay_rule(operation: &str, name: Option<&str>, delay_ms: u64) -> FaultRule {
    FaultRule {
        operation: operation.to_owned(),
        name: name.map(str::to_owned),
        delay_ms: Some(delay_ms),
        ..FaultRule::default()
    }
}

pub fn behaviour(faults: Vec<FaultRule>) -> Behaviour {
    Behaviour {
        faults,
        ..quick_behaviour()
    }
}

// -------------------------------------------------------------------------------------------
// JSON and output
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

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// stdout and stderr together, for messages that may be on either.
pub fn all_output(output: &Output) -> String {
    format!("{}\n{}", stdout(output), stderr(output))
}

pub fn json_stdout(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            stdout(output),
            stderr(output)
        )
    })
}

pub fn code(output: &Output) -> i32 {
    output.status.code().unwrap_or(-1)
}

/// Shows a command's output in an assertion message.
pub fn show(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        stdout(output),
        stderr(output)
    )
}
