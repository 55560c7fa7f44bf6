//! Notebook instances driven through the library's executor (`Executor::run_all`) against the
//! emulator, through the real SDK: a run journaled in a real state directory, `resume` of a run
//! as `sm-recreate resume` does it (the journal's snapshots in flight, the rest fresh), and the
//! live notebook read as someone else would.

use super::{ACCOUNT, REGION, Sandbox};
use serde_json::{Value, json};
use sm_emulator::{Behaviour, FaultRule, Seed, SeedNotebook};
use sm_recreate::apply::ops::Timings;
use sm_recreate::apply::{Executor, Hints, Outcome, Strategy, Target, Work};
use sm_recreate::journal::{Event, Run, RunKind, RunSummary, Snapshot, StateDir};
use sm_recreate::kinds::Fixes;
use sm_recreate::request;
use sm_recreate::resource::{ResourceId, ResourceKind};
use sm_recreate::sagemaker::Tag;
use sm_recreate::sagemaker::notebook::NotebookDescription;
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

pub const NB: &str = "research-nb";

/// A notebook's create request with root access on and a tag.
pub fn notebook_request(name: &str) -> Value {
    json!({
        "NotebookInstanceName": name,
        "InstanceType": "ml.t3.medium",
        "RoleArn": format!("arn:aws:iam::{ACCOUNT}:role/notebooks"),
        "VolumeSizeInGB": 20,
        "DirectInternetAccess": "Enabled",
        "RootAccess": "Enabled",
        "Tags": [{"Key": "team", "Value": "research"}],
    })
}

pub fn seed_notebook(name: &str, status: &str) -> SeedNotebook {
    SeedNotebook {
        account_id: None,
        region: REGION.to_owned(),
        request: notebook_request(name),
        status: Some(status.to_owned()),
        failure_reason: None,
    }
}

pub fn notebooks_seed(notebooks: Vec<SeedNotebook>) -> Seed {
    Seed {
        notebooks,
        ..Seed::default()
    }
}

/// Notebooks move between states in 30 ms, with `faults`.
pub fn notebook_behaviour(faults: Vec<FaultRule>) -> Behaviour {
    Behaviour {
        notebook_transition: Duration::from_millis(30),
        faults,
        ..Behaviour::default()
    }
}

/// Short waits, so a test that fails does so quickly; room enough for the emulator's transitions.
pub fn test_timings() -> Timings {
    Timings {
        schedule_timeout: Duration::from_secs(20),
        patience: Duration::from_secs(5),
        first_poll: Duration::from_millis(10),
        max_poll: Duration::from_millis(100),
        attempts: 8,
    }
}

pub fn key(name: &str) -> ResourceId {
    ResourceId {
        account_id: ACCOUNT.to_owned(),
        region: REGION.to_owned(),
        kind: ResourceKind::NotebookInstance,
        name: name.to_owned(),
    }
}

/// An emulator with notebooks and a private state directory, the executor's way in.
pub struct NotebookEnv {
    pub sandbox: Sandbox,
    pub state: StateDir,
}

impl std::ops::Deref for NotebookEnv {
    type Target = Sandbox;

    fn deref(&self) -> &Sandbox {
        &self.sandbox
    }
}

impl NotebookEnv {
    pub fn start(notebooks: Vec<SeedNotebook>, faults: Vec<FaultRule>) -> NotebookEnv {
        let sandbox =
            Sandbox::with_behaviour(notebooks_seed(notebooks), notebook_behaviour(faults));
        let state = StateDir::open(&sandbox.workdir.file("state"), "test").expect("state dir");
        NotebookEnv { sandbox, state }
    }

    /// A plain SDK client (retries off), acting as someone else would.
    pub fn someone_else_client(&self) -> aws_sdk_sagemaker::Client {
        sm_testkit::client(&self.emulator, REGION)
    }

    pub fn set_faults(&self, faults: Vec<FaultRule>) {
        self.emulator.set_behaviour(notebook_behaviour(faults));
    }

    /// The live notebook, described through the adapter (call with no fault on describes).
    pub fn live(&self, name: &str) -> NotebookDescription {
        let client = self.client(REGION);
        self.block_on(client.describe_notebook_instance(name))
            .expect("describe the notebook")
    }

    pub fn tags(&self, name: &str) -> BTreeSet<Tag> {
        let client = self.client(REGION);
        let arn = self.live(name).arn;
        self.block_on(client.list_tags(&arn))
            .expect("list tags")
            .into_iter()
            .collect()
    }

    /// Waits until the notebook is `status`.
    pub fn wait_for(&self, name: &str, status: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while self.live(name).status != status {
            assert!(
                std::time::Instant::now() < deadline,
                "{name} never became {status}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A target as the plan would build it from the live notebook.
    pub fn target(&self, name: &str, restart_running: bool) -> Target {
        let live = self.live(name);
        let tags: Vec<Tag> = self.tags(name).into_iter().collect();
        // The plan hashes tags in the order AWS lists them.
        let client = self.client(REGION);
        let listed = self.block_on(client.list_tags(&live.arn)).expect("tags");
        assert_eq!(listed.len(), tags.len());
        Target {
            key: key(name),
            planned_sha256: request::notebook_hash(&live.raw, &listed),
            temporary_name: None,
            fixes: Fixes::NONE,
            restart_running,
        }
    }

    pub fn executor(&self, run: Run) -> Arc<Executor> {
        let mut clients = HashMap::new();
        clients.insert((ACCOUNT.to_owned(), REGION.to_owned()), self.client(REGION));
        Arc::new(Executor {
            clients,
            unreachable: HashMap::new(),
            run: Arc::new(run),
            strategy: Strategy::Staged,
            timings: test_timings(),
            concurrency: 4,
            concurrency_per_region: 4,
            stop: Arc::new(AtomicBool::new(false)),
            hints: Hints {
                command: Some(format!(
                    "sm-recreate --endpoint-url {} --state-dir {}",
                    self.endpoint_url(),
                    self.state.root().display()
                )),
            },
        })
    }

    /// A new run with `targets` journaled as planned, and its executor.
    pub fn new_run(&self, targets: &[Target]) -> Arc<Executor> {
        let run = self.state.new_run().expect("new run");
        run.record(Event::RunStarted {
            run_id: run.run_id.clone(),
            account_id: ACCOUNT.to_owned(),
            kind: RunKind::Apply(Strategy::Staged),
            items: targets.iter().map(Into::into).collect(),
        })
        .expect("journal");
        self.executor(run)
    }

    /// Applies `targets` in one run, as `apply` does; returns the outcomes and the run's id.
    pub fn apply(&self, targets: Vec<Target>) -> (Vec<(ResourceId, Outcome)>, String) {
        let executor = self.new_run(&targets);
        let outcomes = self.run_to_end(&executor, targets.into_iter().map(Work::Fresh).collect());
        (outcomes, executor.run.run_id.clone())
    }

    pub fn run_to_end(
        &self,
        executor: &Arc<Executor>,
        work: Vec<Work>,
    ) -> Vec<(ResourceId, Outcome)> {
        let outcomes = self.block_on(executor.run_all(work, |_, _| {}));
        executor.run.record(Event::RunFinished).expect("journal");
        outcomes
    }

    /// `resume` of `run_id`, as the command builds its work: items with a snapshot in flight,
    /// the rest fresh with the consent the journal recorded.
    pub fn resume(&self, run_id: &str) -> Vec<(ResourceId, Outcome)> {
        let run = self.state.existing_run(run_id).expect("run");
        let summary = RunSummary::from_records(&run.records().expect("records"));
        let mut work = Vec::new();
        for item in summary.unfinished() {
            match summary.snapshot_of(&item.item) {
                Some(path) => work.push(Work::InFlight(
                    Box::new(Snapshot::read(path).expect("snapshot")),
                    path.clone(),
                    summary.progress_of(&item.item),
                )),
                None => work.push(Work::Fresh(Target {
                    key: item.item.clone(),
                    planned_sha256: item.snapshot_sha256.clone(),
                    temporary_name: item.temporary_name.clone(),
                    fixes: item.fixes,
                    restart_running: item.restart_running,
                })),
            }
        }
        let executor = self.executor(run);
        self.run_to_end(&executor, work)
    }

    /// The snapshots this state directory holds.
    pub fn snapshot_paths(&self) -> Vec<PathBuf> {
        let mut found = Vec::new();
        for run in std::fs::read_dir(self.state.root().join("runs"))
            .into_iter()
            .flatten()
        {
            let dir = run.expect("entry").path().join("snapshots");
            for file in std::fs::read_dir(dir).into_iter().flatten() {
                found.push(file.expect("entry").path());
            }
        }
        found
    }

    /// The notebook calls that change it, in order, as `Operation` names.
    pub fn changes(&self, name: &str) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter(|c| {
                matches!(
                    c.operation.as_str(),
                    "StopNotebookInstance"
                        | "StartNotebookInstance"
                        | "UpdateNotebookInstance"
                        | "DeleteNotebookInstance"
                        | "CreateNotebookInstance"
                ) && c.name.as_deref() == Some(name)
            })
            .map(|c| c.operation)
            .collect()
    }
}

/// The settings of a describe as the tool compares them (state members and root access aside).
pub fn settings(describe: &Value) -> Value {
    sm_recreate::apply::notebook::settings(describe)
}

pub fn only(outcomes: &[(ResourceId, Outcome)]) -> &Outcome {
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    &outcomes[0].1
}
