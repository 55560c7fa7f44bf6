//! Shared helpers for every integration test: an in-process emulator on its own runtime, the real
//! binary run hermetically against an endpoint, adapter clients, seeds built from the maximal
//! fixtures, and output helpers. Fault rules, the maximal fixtures and the plain SDK clients come
//! from the `sm-testkit` crate, which the emulator's tests share.
//!
//! Every command runs with dummy credentials, empty AWS config files, IMDS disabled and every
//! inherited `AWS_*` variable removed, so no test can touch a real account or the machine's
//! AWS configuration.
//!
//! Submodules: [`apply`] (`Env`: a sandbox whose runs keep a state directory, and the end-state
//! checks), [`held`] (a run stopped at a call the emulator holds, and the spawned binary),
//! [`printed`] (commands the tool prints, run verbatim) and [`model`] (the randomized fault
//! model).
//!
//! Include with `mod support;`.

#![allow(dead_code)] // each test crate uses a different subset

pub mod apply;
pub mod held;
pub mod inline;
pub mod model;
pub mod notebook;
pub mod notebook_model;
pub mod printed;

// What these tests share with the emulator's: the emulator on a loopback port, fault rules, the
// maximal fixtures (the plain SDK clients are used as `sm_testkit::client` and so on).
#[allow(unused_imports)] // each test crate uses a different subset
pub use sm_testkit::{
    ACCOUNT, REGION, delay_rule, drop_rule, error_rule, fault_error, hold_rule, internal_failure,
    maximal_request, start_emulator, throttled, with_faults,
};

use serde_json::{Value, json};
use sm_emulator::{
    Behaviour, Emulator, MUTATING_OPERATIONS, RecordedCall, Seed, SeedDefinition, SeedSchedule,
};
use sm_recreate::kinds::Kind;
use sm_recreate::sagemaker::{AwsOptions, SageMaker, load_sdk_config};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;
use tempfile::TempDir;

/// The demo account's `Environment` secret (`fraud-model-quality`'s `DB_PASSWORD`).
pub const DEMO_SECRET: &str = "s3cr3t-Sandbox-Passw0rd";
/// A fixed `CreationTime` for definitions whose rendering is pinned by snapshots.
pub const FIXED_CREATION_TIME: f64 = 1_704_067_200.0;
/// How long one run of the binary may take through `assert_cmd`.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(180);

// -------------------------------------------------------------------------------------------
// emulator, runtime and the hermetic command
// -------------------------------------------------------------------------------------------

/// A multi-threaded tokio runtime for tests that are themselves synchronous.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("build a tokio runtime")
}

/// A scratch directory standing in for `HOME` and the working directory of the binary, with
/// empty AWS config and credentials files.
pub struct Workdir {
    dir: TempDir,
}

impl Workdir {
    pub fn new() -> Workdir {
        let dir = tempfile::tempdir().expect("create a temp dir");
        std::fs::write(dir.path().join("aws-config"), "").expect("write empty AWS config");
        std::fs::write(dir.path().join("aws-credentials"), "")
            .expect("write empty AWS credentials");
        Workdir { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A path inside the directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `value` as JSON to `name` and returns its path.
    pub fn write_json(&self, name: &str, value: &Value) -> PathBuf {
        let path = self.file(name);
        std::fs::write(&path, serde_json::to_vec_pretty(value).expect("serialize")).expect("write");
        path
    }
}

impl Default for Workdir {
    fn default() -> Self {
        Workdir::new()
    }
}

/// The real `sm-recreate` binary as a plain `std::process::Command`, isolated from the machine's
/// AWS setup (run in and with `HOME` at `workdir`): dummy credentials, empty AWS files, no IMDS.
pub fn isolated_command(workdir: &Workdir) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_sm-recreate"));
    isolate(&mut command, workdir);
    command
}

/// Runs `command` in and with `HOME` at `workdir`, with none of the machine's AWS setup: every
/// inherited `AWS_*` variable, `RUST_LOG` and `NO_COLOR` removed; dummy credentials, the test
/// region, empty AWS files, IMDS disabled.
pub fn isolate(command: &mut std::process::Command, workdir: &Workdir) {
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("AWS_") {
            command.env_remove(&key);
        }
    }
    command
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR")
        .current_dir(workdir.path())
        .env("HOME", workdir.path())
        .env("AWS_ACCESS_KEY_ID", "AKIDTESTSUITE")
        .env("AWS_SECRET_ACCESS_KEY", "test-suite-secret-key")
        .env("AWS_REGION", REGION)
        .env("AWS_CONFIG_FILE", workdir.file("aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            workdir.file("aws-credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true");
}

/// `isolated_command`, aimed at `endpoint_url`.
pub fn hermetic_command(endpoint_url: &str, workdir: &Workdir) -> std::process::Command {
    let mut command = isolated_command(workdir);
    command.args(["--endpoint-url", endpoint_url]);
    command
}

/// A `std::process::Command` as an `assert_cmd::Command`, with the suite's timeout.
pub fn with_timeout(command: std::process::Command) -> assert_cmd::Command {
    let mut command = assert_cmd::Command::from_std(command);
    command.timeout(COMMAND_TIMEOUT);
    command
}

/// The real `sm-recreate` binary, isolated from the machine's AWS setup, aimed at
/// `endpoint_url`. Add the command and its flags.
pub fn sm_recreate(endpoint_url: &str, workdir: &Workdir) -> assert_cmd::Command {
    with_timeout(hermetic_command(endpoint_url, workdir))
}

/// An emulator running on its own runtime, for tests that drive the binary (synchronously) or the
/// adapter (through `block_on`).
pub struct Sandbox {
    pub emulator: Emulator,
    pub workdir: Workdir,
    // Declared last: dropped after the emulator handle, which stops the server with it.
    runtime: tokio::runtime::Runtime,
}

impl Sandbox {
    pub fn start(seed: Seed) -> Sandbox {
        Sandbox::with_behaviour(seed, Behaviour::default())
    }

    pub fn with_behaviour(seed: Seed, behaviour: Behaviour) -> Sandbox {
        let runtime = runtime();
        let emulator = runtime.block_on(start_emulator(seed, behaviour));
        Sandbox {
            emulator,
            workdir: Workdir::new(),
            runtime,
        }
    }

    pub fn endpoint_url(&self) -> String {
        self.emulator.endpoint_url()
    }

    /// The binary aimed at this emulator, `--color never`.
    pub fn cmd(&self) -> assert_cmd::Command {
        let mut command = self.bare_cmd();
        command.args(["--color", "never"]);
        command
    }

    /// The binary aimed at this emulator, with no colour flag.
    pub fn bare_cmd(&self) -> assert_cmd::Command {
        sm_recreate(&self.endpoint_url(), &self.workdir)
    }

    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// An adapter client for `region`, configured as the tool configures its own.
    pub fn client(&self, region: &str) -> SageMaker {
        client_for(&self.runtime, &self.endpoint_url(), region)
    }

    pub fn calls(&self) -> Vec<RecordedCall> {
        self.emulator.calls()
    }

    /// The calls that change state; scan and plan must make none.
    pub fn mutating_calls(&self) -> Vec<RecordedCall> {
        mutating(&self.calls())
    }

    /// How many calls of `operation` the emulator received.
    pub fn count(&self, operation: &str) -> usize {
        self.calls()
            .iter()
            .filter(|call| call.operation == operation)
            .count()
    }

    /// Gives every seeded definition a fixed `CreationTime` (the emulator stamps the wall clock),
    /// keeping its describe JSON and tags otherwise, so renderings are reproducible.
    pub fn pin_creation_times(&self, seed: &Seed) {
        for entry in &seed.definitions {
            let name = entry.request["JobDefinitionName"]
                .as_str()
                .expect("seed name");
            let mut describe = self
                .emulator
                .definition(&entry.region, entry.kind, name)
                .expect("seeded definition exists");
            describe["CreationTime"] = json!(FIXED_CREATION_TIME);
            self.emulator.put_definition_raw(
                &entry.region,
                entry.kind,
                describe,
                request_tags(&entry.request),
            );
        }
    }
}

/// An adapter client built through the tool's own `load_sdk_config` (standard retries, the
/// client's own rate limit), with dummy credentials.
pub fn client_for(
    runtime: &tokio::runtime::Runtime,
    endpoint_url: &str,
    region: &str,
) -> SageMaker {
    let config = runtime.block_on(load_sdk_config(&AwsOptions {
        endpoint_url: Some(endpoint_url.to_owned()),
        region: Some(region.to_owned()),
        dummy_credentials: true,
        ..AwsOptions::default()
    }));
    SageMaker::new(&config, sm_emulator::DEFAULT_ACCOUNT_ID, region)
}

/// The calls among `calls` that change state.
pub fn mutating(calls: &[RecordedCall]) -> Vec<RecordedCall> {
    calls
        .iter()
        .filter(|c| MUTATING_OPERATIONS.contains(&c.operation.as_str()))
        .cloned()
        .collect()
}

// -------------------------------------------------------------------------------------------
// seeds
// -------------------------------------------------------------------------------------------

/// The `Tags` of a create request as `(key, value)` pairs.
pub fn request_tags(request: &Value) -> Vec<(String, String)> {
    request["Tags"]
        .as_array()
        .map(|tags| {
            tags.iter()
                .map(|t| {
                    (
                        t["Key"].as_str().expect("tag key").to_owned(),
                        t["Value"].as_str().expect("tag value").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// How a test definition sets the encryption flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    On,
    Off,
    /// No `NetworkConfig` at all.
    NoNetworkConfig,
}

/// The maximal request of `kind` named `name`, with the flag and `tags` given (none: no `Tags`).
pub fn flagged_request(kind: Kind, name: &str, flag: Flag, tags: &[(&str, &str)]) -> Value {
    let mut request = maximal_request(kind);
    request["JobDefinitionName"] = json!(name);
    match flag {
        Flag::On => request["NetworkConfig"]["EnableInterContainerTrafficEncryption"] = json!(true),
        Flag::Off => {
            request["NetworkConfig"]["EnableInterContainerTrafficEncryption"] = json!(false);
        }
        Flag::NoNetworkConfig => {
            request
                .as_object_mut()
                .expect("object")
                .shift_remove("NetworkConfig");
        }
    }
    let tags: Vec<Value> = tags
        .iter()
        .map(|(k, v)| json!({"Key": k, "Value": v}))
        .collect();
    if tags.is_empty() {
        request
            .as_object_mut()
            .expect("object")
            .shift_remove("Tags");
    } else {
        request["Tags"] = Value::Array(tags);
    }
    request
}

/// A create request for `kind` named `name`: the maximal fixture with the flag, instance count
/// and tags given.
pub fn definition_request(
    kind: Kind,
    name: &str,
    flag: Flag,
    instances: u64,
    tags: &[(&str, &str)],
) -> Value {
    let mut request = flagged_request(kind, name, flag, tags);
    request["JobResources"]["ClusterConfig"]["InstanceCount"] = json!(instances);
    request
}

pub fn seed_definition(region: &str, kind: Kind, request: Value) -> SeedDefinition {
    SeedDefinition {
        account_id: None,
        kind,
        region: region.to_owned(),
        request,
    }
}

/// A schedule in `region` that runs `definition` of `kind` hourly.
pub fn seed_schedule(region: &str, name: &str, kind: Kind, definition: &str) -> SeedSchedule {
    SeedSchedule {
        account_id: None,
        region: region.to_owned(),
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

/// The built-in demo account reduced to the definitions named (in `REGION`) and the schedules
/// that reference them.
pub fn demo_subset(names: &[&str]) -> Seed {
    let mut seed = Seed::demo();
    seed.definitions.retain(|d| {
        d.region == REGION
            && d.request["JobDefinitionName"]
                .as_str()
                .is_some_and(|n| names.contains(&n))
    });
    seed.schedules.retain(|s| {
        s.region == REGION
            && s.request["MonitoringScheduleConfig"]["MonitoringJobDefinitionName"]
                .as_str()
                .is_some_and(|n| names.contains(&n))
    });
    seed
}

/// The create request the demo account seeds `name` with.
pub fn demo_request(name: &str) -> Value {
    Seed::demo()
        .definitions
        .into_iter()
        .find(|d| d.request["JobDefinitionName"] == name)
        .unwrap_or_else(|| panic!("{name} is not in the demo account"))
        .request
}

// -------------------------------------------------------------------------------------------
// output
// -------------------------------------------------------------------------------------------

/// stdout, lossily decoded.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// stderr, lossily decoded.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// stdout, which must be UTF-8.
pub fn stdout_text(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

/// stderr, which must be UTF-8.
pub fn stderr_text(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("stderr is UTF-8")
}

/// stdout and stderr together, for messages that may be on either.
pub fn all_output(output: &Output) -> String {
    format!("{}\n{}", stdout(output), stderr(output))
}

/// Parses a command's stdout as JSON, showing the text when it is not.
pub fn stdout_json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            stdout(output),
            stderr(output)
        )
    })
}

/// The exit code, `-1` when killed by a signal.
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

// -------------------------------------------------------------------------------------------
// reports
// -------------------------------------------------------------------------------------------

/// `(name, compliant)` for every definition of a scan report, sorted by name.
pub fn verdicts(report: &Value) -> Vec<(String, bool)> {
    let mut verdicts: Vec<(String, bool)> = report["definitions"]
        .as_array()
        .expect("definitions array")
        .iter()
        .map(|d| {
            (
                d["name"].as_str().expect("name").to_owned(),
                d["compliant"].as_bool().expect("compliant"),
            )
        })
        .collect();
    verdicts.sort();
    verdicts
}

/// `(name, action)` for every item of a plan document, in document order.
pub fn actions(document: &Value) -> Vec<(String, String)> {
    document["items"]
        .as_array()
        .expect("items array")
        .iter()
        .map(|i| {
            (
                i["name"].as_str().expect("name").to_owned(),
                i["action"].as_str().expect("action").to_owned(),
            )
        })
        .collect()
}

/// The entry for `name` in a JSON apply, resume or restore report (`Null` when not listed).
pub fn report_entry(output: &Output, name: &str) -> Value {
    let report = stdout_json(output);
    report["definitions"]
        .as_array()
        .expect("definitions")
        .iter()
        .find(|d| d["name"] == json!(name))
        .cloned()
        .unwrap_or(Value::Null)
}

/// The status of `name` in a JSON report (empty when not listed).
pub fn report_status(output: &Output, name: &str) -> String {
    report_entry(output, name)["status"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The single entry of a JSON report, which must list exactly one definition.
pub fn only_entry(output: &Output) -> Value {
    let report = stdout_json(output);
    let definitions = report["definitions"].as_array().expect("definitions");
    assert_eq!(definitions.len(), 1, "{}", show(output));
    definitions[0].clone()
}
