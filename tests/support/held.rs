//! Stopping a run of the binary at a chosen call, to act while it waits: the emulator holds the
//! call (a fault rule with a delay, `sm_testkit::hold_rule`), the test sees it in flight in the
//! call log, and then acts as someone else before letting the run finish, or kills it there.
//! With `drop`, a held call is never performed, even though a killed client cannot cancel it.
//!
//! [`Running`] is the spawned binary, its stdout and stderr read as they come.

use super::Sandbox;
use super::apply::Env;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Longest wait for anything a test polls for, or for one run of the binary.
pub const DEADLINE: Duration = Duration::from_secs(120);
/// A hold the run outlives: long enough for the test to act meanwhile (a few local calls), after
/// which the held call is performed. [`Held::act_then_finish`] checks it was still held.
pub const HOLD_WHILE_ACTING_MS: u64 = 6_000;
/// A hold the test ends by killing the process: with `drop`, the held call is never performed.
pub const HOLD_FOREVER_MS: u64 = 600_000;

/// Whether `name` matches `glob`: the exact name, or a prefix followed by `*`.
fn glob_matches(name: Option<&str>, glob: &str) -> bool {
    match (name, glob.strip_suffix('*')) {
        (Some(name), Some(prefix)) => name.starts_with(prefix),
        (Some(name), None) => name == glob,
        (None, _) => false,
    }
}

/// Whether a call of `operation` on `glob` is being held by the emulator right now.
pub fn is_held(sandbox: &Sandbox, operation: &str, glob: &str) -> bool {
    sandbox.calls().iter().any(|c| {
        c.operation == operation
            && glob_matches(c.name.as_deref(), glob)
            && c.outcome == "in-flight"
    })
}

/// Waits (bounded) until the emulator holds `operation` on `glob`; panics if the run exits or the
/// deadline passes first.
pub fn wait_until_held(sandbox: &Sandbox, run: &mut Running, operation: &str, glob: &str) {
    if let Err(why) = run.until_held(sandbox, operation, glob) {
        panic!("{why}");
    }
}

impl Env {
    /// The binary with `--state-dir state_dir` and `args`, spawned.
    pub fn spawn(&self, state_dir: &Path, args: &[&str]) -> Running {
        let mut command = self.std_cmd_in(state_dir);
        command.args(args);
        Running::spawn(command)
    }

    /// The binary with `--state-dir state_dir` and `args`, spawned and stopped at the held call
    /// `operation` on `glob` (a hold must be set up for it).
    pub fn spawn_until_held(
        &self,
        state_dir: &Path,
        args: &[&str],
        operation: &str,
        glob: &str,
    ) -> Held<'_> {
        let mut run = self.spawn(state_dir, args);
        wait_until_held(self, &mut run, operation, glob);
        Held {
            env: self,
            run,
            operation: operation.to_owned(),
            glob: glob.to_owned(),
        }
    }
}

/// A run stopped at a call the emulator holds.
pub struct Held<'a> {
    env: &'a Env,
    pub run: Running,
    operation: String,
    glob: String,
}

impl Held<'_> {
    /// Runs `act` while the call is held, checks it is held still (else the scenario did not
    /// happen), then lets the run finish: what `act` returned, and all the run printed.
    pub fn act_then_finish<T>(self, act: impl FnOnce() -> T) -> (T, Output) {
        let acted = act();
        assert!(
            is_held(self.env, &self.operation, &self.glob),
            "the hold on {} {} ended before the test had acted (the machine is too slow for \
             HOLD_WHILE_ACTING_MS); the scenario did not happen",
            self.operation,
            self.glob
        );
        (acted, self.run.finish())
    }

    /// SIGKILLs the run while its call is held (a hold that drops is then never performed), and
    /// clears the emulator's faults for what the test does next.
    pub fn kill_then_clear_faults(self) {
        self.run.kill();
        self.env.clear_faults();
    }
}

/// An output stream whose reader goes away at once.
#[derive(Debug, Clone, Copy)]
pub enum Closed {
    Stdout,
    Stderr,
}

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

impl Running {
    /// Spawns `command` (stdin closed, stdout and stderr captured).
    pub fn spawn(command: std::process::Command) -> Running {
        Running::spawn_closing(command, None)
    }

    /// Spawns `command` with the reader of one of its output streams gone from the start: every
    /// write to that stream fails (EPIPE). The other one is captured.
    pub fn spawn_with_closed(command: std::process::Command, closed: Closed) -> Running {
        Running::spawn_closing(command, Some(closed))
    }

    fn spawn_closing(mut command: std::process::Command, closed: Option<Closed>) -> Running {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn sm-recreate");
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (stdout_pipe, stderr_pipe) = (child.stdout.take(), child.stderr.take());
        let mut readers = Vec::new();
        match closed {
            Some(Closed::Stdout) => drop(stdout_pipe),
            _ => readers.push(reader(stdout_pipe, Arc::clone(&stdout))),
        }
        match closed {
            Some(Closed::Stderr) => drop(stderr_pipe),
            _ => readers.push(reader(stderr_pipe, Arc::clone(&stderr))),
        }
        Running {
            child,
            stdout,
            stderr,
            readers,
        }
    }

    pub fn stderr_so_far(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    /// Waits (bounded) until the emulator holds `operation` on `glob`; says why not when the run
    /// exited first or the deadline passed (then it is killed).
    pub fn until_held(
        &mut self,
        sandbox: &Sandbox,
        operation: &str,
        glob: &str,
    ) -> Result<(), String> {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if is_held(sandbox, operation, glob) {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait().expect("poll the child") {
                let stderr = self.stderr_so_far();
                return Err(format!(
                    "the run exited ({status}) before reaching {operation} on {glob}\n\
                     --- stderr\n{stderr}"
                ));
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                return Err(format!("the run never reached {operation} on {glob}"));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
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
