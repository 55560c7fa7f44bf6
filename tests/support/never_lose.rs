//! Helpers for `tests/never_lose.rs` (issue 7's regression tests): the demo account cut down to
//! a few definitions, holding a call while the test acts, killing or interrupting the binary,
//! acting as "someone else" through the AWS SDK, and running a printed command verbatim through
//! `sh -c`.
//!
//! Include with `mod support;` and
//! `#[path = "support/never_lose.rs"] mod never_lose_support;` (it uses `crate::support`).

#![allow(dead_code)]

use crate::support::apply::Env;
use crate::support::{REGION, Workdir, code, show, stderr};
use serde_json::Value;
use sm_emulator::Seed;
use sm_recreate::kinds::Kind;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Longest wait for anything a test polls for, or for one run of the binary.
pub const DEADLINE: Duration = Duration::from_secs(120);

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

/// The temporary copy's name the contract fixes: `temporary_name(name)`.
pub fn copy_name(name: &str) -> String {
    sm_recreate::request::temporary_name(name)
}

/// Every definition of `kind` named like a temporary copy of `name` (`NAME-smr…`), whatever
/// attempt number produced it.
pub fn copies(env: &Env, kind: Kind, name: &str) -> Vec<String> {
    let prefix = format!("{}-smr", &name[..name.len().min(63 - 10)]);
    env.emulator
        .definition_names(REGION, kind)
        .into_iter()
        .filter(|n| n.starts_with(&prefix))
        .collect()
}

// -------------------------------------------------------------------------------------------
// holding calls
// -------------------------------------------------------------------------------------------

fn glob_matches(name: Option<&str>, glob: &str) -> bool {
    match (name, glob.strip_suffix('*')) {
        (Some(name), Some(prefix)) => name.starts_with(prefix),
        (Some(name), None) => name == glob,
        (None, _) => false,
    }
}

/// Whether a call of `operation` on `glob` is being held by the emulator right now.
pub fn is_held(env: &Env, operation: &str, glob: &str) -> bool {
    env.calls().iter().any(|c| {
        c.operation == operation
            && glob_matches(c.name.as_deref(), glob)
            && c.outcome == "in-flight"
    })
}

/// Waits (bounded) until the emulator holds `operation` on `glob`; panics if the child exits or
/// the deadline passes first.
pub fn wait_until_held(env: &Env, child: &mut Running, operation: &str, glob: &str) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if is_held(env, operation, glob) {
            return;
        }
        if let Some(status) = child.child.try_wait().expect("poll the child") {
            panic!(
                "the run exited ({status}) before reaching {operation} on {glob}\n--- stderr\n{}",
                child.stderr_so_far()
            );
        }
        if Instant::now() > deadline {
            let _ = child.child.kill();
            panic!("the run never reached {operation} on {glob}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

// -------------------------------------------------------------------------------------------
// a running binary
// -------------------------------------------------------------------------------------------

/// A spawned `sm-recreate` whose stdout and stderr are read as they come.
pub struct Running {
    pub child: Child,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

fn reader<R: Read + Send + 'static>(
    pipe: Option<R>,
    sink: Arc<Mutex<Vec<u8>>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let Some(mut pipe) = pipe else { return };
        let mut buffer = [0u8; 4096];
        loop {
            match pipe.read(&mut buffer) {
                Ok(0) | Err(_) => return,
                Ok(n) => sink.lock().unwrap().extend_from_slice(&buffer[..n]),
            }
        }
    })
}

/// Spawns `command` (stdin closed, stdout and stderr captured).
pub fn spawn(mut command: std::process::Command) -> Running {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sm-recreate");
    let stdout = Arc::new(Mutex::new(Vec::new()));
    let stderr = Arc::new(Mutex::new(Vec::new()));
    let readers = vec![
        reader(child.stdout.take(), Arc::clone(&stdout)),
        reader(child.stderr.take(), Arc::clone(&stderr)),
    ];
    Running {
        child,
        stdout,
        stderr,
        readers,
    }
}

impl Running {
    pub fn stderr_so_far(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    /// Sends SIGINT (what Ctrl-C sends).
    pub fn interrupt(&self) {
        let status = std::process::Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("run kill -INT");
        assert!(status.success(), "kill -INT failed");
    }

    /// Waits (bounded) until stderr contains `text`.
    pub fn wait_for_stderr(&mut self, text: &str) {
        let deadline = Instant::now() + DEADLINE;
        while !self.stderr_so_far().contains(text) {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("stderr never said {text:?}:\n{}", self.stderr_so_far());
            }
            if let Some(status) = self.child.try_wait().expect("poll the child") {
                std::thread::sleep(Duration::from_millis(100));
                assert!(
                    self.stderr_so_far().contains(text),
                    "the run exited ({status}) without saying {text:?}:\n{}",
                    self.stderr_so_far()
                );
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILLs the child and reaps it.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }

    /// Waits (bounded) for the child to exit and returns all it printed.
    pub fn finish(mut self) -> Output {
        let deadline = Instant::now() + DEADLINE;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("poll the child") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("sm-recreate did not exit within {DEADLINE:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        for reader in self.readers.drain(..) {
            reader.join().expect("output reader");
        }
        let stdout = std::mem::take(&mut *self.stdout.lock().unwrap());
        let stderr = std::mem::take(&mut *self.stderr.lock().unwrap());
        Output {
            status,
            stdout,
            stderr,
        }
    }
}

// -------------------------------------------------------------------------------------------
// printed commands
// -------------------------------------------------------------------------------------------

/// The manual action of the first `needs manual action: ` line on stderr, if any.
pub fn manual_action(output: &Output) -> Option<String> {
    let text = stderr(output);
    let marker = "needs manual action: ";
    let line = text.lines().find(|l| l.contains(marker))?;
    Some(
        line[line.find(marker).unwrap() + marker.len()..]
            .trim()
            .to_owned(),
    )
}

/// Every `` `sm-recreate …` `` command quoted in backticks in `text`.
pub fn backticked_commands(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|c| c.starts_with("sm-recreate "))
        .map(str::to_owned)
        .collect()
}

/// A printed command line, run verbatim by `sh -c` in `cwd` with the hermetic environment (dummy
/// credentials, empty AWS files, no IMDS) plus `extra_env`, with the binary under test first on
/// `PATH`.
pub fn shell_command(line: &str, cwd: &Workdir, extra_env: &[(&str, &str)]) -> Output {
    let binary = Path::new(env!("CARGO_BIN_EXE_sm-recreate"));
    let path = format!(
        "{}:{}",
        binary.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = std::process::Command::new("sh");
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("AWS_") {
            command.env_remove(&key);
        }
    }
    command
        .arg("-c")
        .arg(line)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .env("PATH", path)
        .current_dir(cwd.path())
        .env("HOME", cwd.path())
        .env("AWS_ACCESS_KEY_ID", "AKIDTESTSUITE")
        .env("AWS_SECRET_ACCESS_KEY", "test-suite-secret-key")
        .env("AWS_REGION", REGION)
        .env("AWS_CONFIG_FILE", cwd.file("aws-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", cwd.file("aws-credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true");
    for (key, value) in extra_env {
        command.env(key, value);
    }
    crate::support::with_timeout(command)
        .output()
        .expect("run sh -c")
}

/// Runs `line` verbatim (see [`shell_command`]) and, while it ends with exit 4 and prints another
/// manual action, that one too (at most `rounds` commands). Returns every output, in order.
pub fn follow_manual_actions(
    line: &str,
    cwd: &Workdir,
    extra_env: &[(&str, &str)],
    rounds: usize,
) -> Vec<(String, Output)> {
    let mut done = Vec::new();
    let mut next = Some(line.to_owned());
    while let Some(line) = next.take() {
        let output = shell_command(&line, cwd, extra_env);
        if code(&output) == 4 && done.len() + 1 < rounds {
            next = manual_action(&output);
        }
        done.push((line, output));
    }
    done
}

/// Shows a list of commands and their outputs in an assertion message.
pub fn show_all(outputs: &[(String, Output)]) -> String {
    outputs
        .iter()
        .map(|(line, output)| format!("$ {line}\n{}", show(output)))
        .collect::<Vec<_>>()
        .join("\n")
}
