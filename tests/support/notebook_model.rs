//! The randomized fault model for notebook instances (issue 12): one case = one seed. A fresh
//! in-process emulator holds one to three notebooks (`InService` or `Stopped`, now and then
//! `Failed`; root access on, now and then already off), each planned with or without consent to
//! restart it. The executor runs them (through the library, as `apply` does) under a random fault
//! plan aimed at the notebook calls (errors, throttles, connections dropped before the call acts,
//! answers lost after it acted, delays), while someone else may start, stop or tag a notebook,
//! and the run may be killed (its future dropped: the journal as written, nothing more) at a
//! random moment. Then `resume` under new faults, then without faults until every item settles,
//! then one more `resume` that must send no change.
//!
//! Checked at the end, per notebook: it still exists (the tool never deletes or creates one);
//! the tool sent no change to a notebook it had to leave alone (no consent while running,
//! `Failed`, already off, changed since the plan); a notebook that was running and that nobody
//! else touched is `InService` again; root access is off or as it was; every other setting is as
//! it was but for what someone else changed; the last outcome is true of it (`updated-in-place`
//! means root access off and, untouched by others, its status back; `rolled-back` means root
//! access as it was and running if it was).
//!
//! Self-contained (the library, `sm-emulator`, `sm-testkit`, tokio, serde_json and the SDK), so
//! `examples/soak.rs --notebooks` shares it with `tests/notebooks_randomized.rs`.

#![allow(dead_code)]

use serde_json::{Value, json};
use sm_emulator::{Behaviour, FaultError, FaultRule, Seed, SeedNotebook};
use sm_recreate::apply::ops::Timings;
use sm_recreate::apply::{Executor, Hints, Outcome, Strategy, Target, Work};
use sm_recreate::journal::{Event, RunKind, RunSummary, Snapshot, StateDir, Status};
use sm_recreate::kinds::Fixes;
use sm_recreate::request;
use sm_recreate::resource::{ResourceId, ResourceKind};
use sm_recreate::sagemaker::{AwsOptions, SageMaker, load_sdk_config};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

const REGION: &str = sm_testkit::REGION;
const ACCOUNT: &str = sm_testkit::ACCOUNT;
const CHANGES: [&str; 3] = [
    "StopNotebookInstance",
    "UpdateNotebookInstance",
    "StartNotebookInstance",
];

/// splitmix64: identical sequences everywhere, no extra crate.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x0000_000B_00C5_EED5_u64)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn chance(&mut self, one_in: u64) -> bool {
        self.below(one_in) == 0
    }

    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// What one case did and found.
#[derive(Debug, Default, Clone)]
pub struct NotebookCaseReport {
    pub seed: u64,
    pub notebooks: usize,
    pub faults_injected: usize,
    pub kills: usize,
    pub someone_actions: usize,
    pub rounds: usize,
    pub outcomes: Vec<String>,
    pub violations: Vec<String>,
    pub log: Vec<String>,
}

/// Totals over many cases.
#[derive(Debug, Default, Clone)]
pub struct NotebookTotals {
    pub cases: usize,
    pub notebooks: usize,
    pub faults_injected: usize,
    pub kills: usize,
    pub someone_actions: usize,
    pub violations: usize,
    pub failing_seeds: Vec<u64>,
    pub outcomes: std::collections::BTreeMap<String, usize>,
}

impl NotebookTotals {
    pub fn add(&mut self, report: &NotebookCaseReport) {
        self.cases += 1;
        self.notebooks += report.notebooks;
        self.faults_injected += report.faults_injected;
        self.kills += report.kills;
        self.someone_actions += report.someone_actions;
        self.violations += report.violations.len();
        if !report.violations.is_empty() {
            self.failing_seeds.push(report.seed);
        }
        for outcome in &report.outcomes {
            *self.outcomes.entry(outcome.clone()).or_default() += 1;
        }
    }
}

impl std::fmt::Display for NotebookTotals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} cases, {} notebooks, {} faults injected, {} kills, {} someone-else actions, \
             {} violations; final outcomes {:?}",
            self.cases,
            self.notebooks,
            self.faults_injected,
            self.kills,
            self.someone_actions,
            self.violations,
            self.outcomes
        )
    }
}

/// One notebook of a case, as seeded and planned.
#[derive(Debug, Clone)]
struct Planned {
    name: String,
    status: &'static str,
    root_access: &'static str,
    consent: bool,
}

/// What someone else did to a notebook.
#[derive(Debug, Clone, Default)]
struct Someone {
    started: bool,
    stopped: bool,
    tagged: bool,
    /// Calls someone else made, by operation, so the tool's are the rest.
    calls: HashMap<String, usize>,
}

fn request_of(planned: &Planned) -> Value {
    json!({
        "NotebookInstanceName": planned.name,
        "InstanceType": "ml.t3.medium",
        "RoleArn": format!("arn:aws:iam::{ACCOUNT}:role/notebooks"),
        "VolumeSizeInGB": 5 + planned.name.len(),
        "RootAccess": planned.root_access,
        "Tags": [{"Key": "team", "Value": planned.name}],
    })
}

fn fault_plan(rng: &mut Rng, names: &[String]) -> Vec<FaultRule> {
    let mut rules = Vec::new();
    let operations = [
        "StopNotebookInstance",
        "UpdateNotebookInstance",
        "StartNotebookInstance",
        "DescribeNotebookInstance",
        "ListTags",
    ];
    for _ in 0..rng.below(5) {
        let operation = operations[rng.below(operations.len() as u64) as usize];
        let name = if rng.chance(2) {
            Some(names[rng.below(names.len() as u64) as usize].clone())
        } else {
            None
        };
        let mut rule = FaultRule {
            operation: operation.to_owned(),
            name,
            probability: Some(0.15 + 0.5 * rng.unit()),
            times: Some(1 + rng.below(3) as u32),
            ..FaultRule::default()
        };
        match rng.below(6) {
            0 => rule.error = Some(FaultError::new("InternalFailure")),
            1 => {
                rule.error = Some(FaultError::new("InternalFailure"));
                rule.after = true;
            }
            2 => rule.drop_connection = true,
            3 => {
                rule.drop_connection = true;
                rule.after = true;
            }
            4 => rule.error = Some(FaultError::new("ThrottlingException")),
            _ => rule.error = Some(FaultError::new("ValidationException")),
        }
        // Looks only ever fail in ways that pass: a refused look is an answer.
        if operation.starts_with("Describe") || operation == "ListTags" {
            rule.after = false;
            if rule
                .error
                .as_ref()
                .is_some_and(|e| e.code == "ValidationException")
            {
                rule.error = Some(FaultError::new("ThrottlingException"));
            }
        }
        rules.push(rule);
    }
    rules
}

fn behaviour(rng: &mut Rng, seed: u64, faults: Vec<FaultRule>) -> Behaviour {
    Behaviour {
        notebook_transition: Duration::from_millis(5 + rng.below(40)),
        fault_seed: Some(seed),
        faults,
        ..Behaviour::default()
    }
}

fn timings() -> Timings {
    Timings {
        schedule_timeout: Duration::from_secs(20),
        patience: Duration::from_secs(3),
        first_poll: Duration::from_millis(5),
        max_poll: Duration::from_millis(80),
        attempts: 6,
    }
}

fn key(name: &str) -> ResourceId {
    ResourceId {
        account_id: ACCOUNT.to_owned(),
        region: REGION.to_owned(),
        kind: ResourceKind::NotebookInstance,
        name: name.to_owned(),
    }
}

struct Case {
    runtime: tokio::runtime::Runtime,
    emulator: sm_emulator::Emulator,
    endpoint: String,
    someone: aws_sdk_sagemaker::Client,
    state: StateDir,
    _scratch: tempfile::TempDir,
}

impl Case {
    fn executor(&self, run: sm_recreate::journal::Run, client: &SageMaker) -> Arc<Executor> {
        let mut clients = HashMap::new();
        clients.insert((ACCOUNT.to_owned(), REGION.to_owned()), client.clone());
        Arc::new(Executor {
            clients,
            unreachable: HashMap::new(),
            run: Arc::new(run),
            strategy: Strategy::Staged,
            timings: timings(),
            concurrency: 2,
            concurrency_per_region: 2,
            stop: Arc::new(AtomicBool::new(false)),
            hints: Hints {
                command: Some("sm-recreate".to_owned()),
            },
        })
    }

    fn notebook(&self, name: &str) -> Option<Value> {
        self.emulator.notebook(REGION, name)
    }

    /// The calls of `operation` on `name` the emulator received and performed or refused.
    fn count(&self, operation: &str, name: &str) -> usize {
        self.emulator
            .calls()
            .iter()
            .filter(|c| c.operation == operation && c.name.as_deref() == Some(name))
            .count()
    }

    fn resume_work(&self, run_id: &str) -> (Arc<Executor>, Vec<Work>) {
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
                    temporary_name: None,
                    fixes: item.fixes,
                    restart_running: item.restart_running,
                })),
            }
        }
        let client = client_on(&self.runtime, &self.endpoint);
        (self.executor(run, &client), work)
    }
}

fn new_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// An adapter client configured as the tool's, whose connections live on `runtime`.
fn client_on(runtime: &tokio::runtime::Runtime, endpoint: &str) -> SageMaker {
    let config = runtime.block_on(load_sdk_config(&AwsOptions {
        endpoint_url: Some(endpoint.to_owned()),
        region: Some(REGION.to_owned()),
        dummy_credentials: true,
        ..AwsOptions::default()
    }));
    SageMaker::new(&config, sm_emulator::DEFAULT_ACCOUNT_ID, REGION)
}

/// Runs one case and checks it.
pub fn run_case(seed: u64) -> NotebookCaseReport {
    let mut rng = Rng::new(seed);
    let mut report = NotebookCaseReport {
        seed,
        ..NotebookCaseReport::default()
    };
    let count = 1 + rng.below(3) as usize;
    let planned: Vec<Planned> = (0..count)
        .map(|index| {
            let status = match rng.below(10) {
                0 => "Failed",
                1..=5 => "InService",
                _ => "Stopped",
            };
            Planned {
                name: format!("nb-{seed}-{index}"),
                status,
                root_access: if rng.chance(8) { "Disabled" } else { "Enabled" },
                consent: !rng.chance(4),
            }
        })
        .collect();
    report.notebooks = count;
    let names: Vec<String> = planned.iter().map(|p| p.name.clone()).collect();
    let seed_state = Seed {
        notebooks: planned
            .iter()
            .map(|p| SeedNotebook {
                account_id: None,
                region: REGION.to_owned(),
                request: request_of(p),
                status: Some(p.status.to_owned()),
                failure_reason: (p.status == "Failed").then(|| "seeded failure".to_owned()),
            })
            .collect(),
        ..Seed::default()
    };
    let runtime = new_runtime();
    let emulator = runtime.block_on(sm_testkit::start_emulator(seed_state, Behaviour::default()));
    let endpoint = emulator.endpoint_url();
    let client = client_on(&runtime, &endpoint);
    let someone = sm_testkit::client(&emulator, REGION);
    let scratch = tempfile::tempdir().expect("scratch");
    let state = StateDir::open(&scratch.path().join("state"), "model").expect("state");
    let case = Case {
        runtime,
        emulator,
        endpoint,
        someone,
        state,
        _scratch: scratch,
    };
    // The plan, made without faults.
    let before: HashMap<String, Value> = names
        .iter()
        .map(|n| (n.clone(), case.notebook(n).expect("seeded")))
        .collect();
    let targets: Vec<Target> = planned
        .iter()
        .map(|p| {
            let live = case
                .runtime
                .block_on(client.describe_notebook_instance(&p.name))
                .expect("describe");
            let tags = case
                .runtime
                .block_on(client.list_tags(&live.arn))
                .expect("tags");
            Target {
                key: key(&p.name),
                planned_sha256: request::notebook_hash(&live.raw, &tags),
                temporary_name: None,
                fixes: Fixes::NONE,
                restart_running: p.consent,
            }
        })
        .collect();
    let faults = fault_plan(&mut rng, &names);
    report.faults_injected += faults.len();
    for rule in &faults {
        report.log.push(format!("apply fault: {rule:?}"));
    }
    let mut behaviour_rng = Rng::new(seed.wrapping_mul(31));
    case.emulator
        .set_behaviour(behaviour(&mut behaviour_rng, seed, faults));
    let mut someone: HashMap<String, Someone> = HashMap::new();
    // Someone else acts at most once, on one notebook, at a random moment of the apply.
    let someone_acts = rng.chance(2).then(|| {
        (
            names[rng.below(count as u64) as usize].clone(),
            rng.below(3),
            Duration::from_millis(rng.below(150)),
        )
    });
    let kill_after = rng
        .chance(3)
        .then(|| Duration::from_millis(5 + rng.below(200)));
    let run = case.state.new_run().expect("run");
    run.record(Event::RunStarted {
        run_id: run.run_id.clone(),
        account_id: ACCOUNT.to_owned(),
        kind: RunKind::Apply(Strategy::Staged),
        items: targets.iter().map(Into::into).collect(),
    })
    .expect("journal");
    let run_id = run.run_id.clone();
    // The apply runs on a runtime of its own (with a client of its own), so that killing it is
    // dropping that runtime: every task stops at once, as with SIGKILL, and nothing of the run
    // goes on beside the resume.
    let apply_runtime = new_runtime();
    let executor = case.executor(run, &client_on(&apply_runtime, &case.endpoint));
    let work: Vec<Work> = targets.iter().cloned().map(Work::Fresh).collect();
    let running = {
        let executor = executor.clone();
        apply_runtime.spawn(async move { executor.run_all(work, |_, _| {}).await })
    };
    let (apply_outcomes, acted) = case.runtime.block_on(async {
        let acted = match &someone_acts {
            Some((name, action, after)) => {
                tokio::time::sleep(*after).await;
                Some((
                    name.clone(),
                    act_as_someone(&case.someone, name, *action).await,
                ))
            }
            None => None,
        };
        let outcomes = match kill_after {
            Some(after) => {
                tokio::time::sleep(after).await;
                running.is_finished().then_some(running)
            }
            None => Some(running),
        };
        (outcomes, acted)
    });
    let apply_outcomes = match apply_outcomes {
        Some(running) => Some(apply_runtime.block_on(running).expect("run")),
        None => {
            apply_runtime.shutdown_timeout(Duration::from_secs(10));
            None
        }
    };
    // Someone's attempts count as theirs whether AWS accepted them or not.
    if let Some((name, action, _)) = &someone_acts {
        let operation = match action {
            0 => "StartNotebookInstance",
            1 => "StopNotebookInstance",
            _ => "AddTags",
        };
        let entry = someone.entry(name.clone()).or_default();
        *entry.calls.entry(operation.to_owned()).or_default() += 1;
        // Faults hit someone's calls too: an answer lost after acting is an action, so an
        // attempt counts as one.
        match action {
            0 => entry.started = true,
            1 => entry.stopped = true,
            _ => entry.tagged = true,
        }
    }
    if let Some((name, Some((operation, what)))) = acted {
        report.someone_actions += 1;
        report
            .log
            .push(format!("someone else: {operation} {name} ({what})"));
    }
    match &apply_outcomes {
        Some(outcomes) => {
            executor.run.record(Event::RunFinished).expect("journal");
            for (key, outcome) in outcomes {
                report.log.push(format!("apply: {} {outcome:?}", key.name));
            }
        }
        None => {
            report.kills += 1;
            report.log.push("apply killed".to_owned());
        }
    }
    drop(executor);
    // Resume under new faults, then without faults until everything settles.
    // What the reports printed last for each notebook.
    let mut printed: HashMap<String, Outcome> = HashMap::new();
    if let Some(outcomes) = apply_outcomes {
        for (key, outcome) in outcomes {
            printed.insert(key.name, outcome);
        }
    }
    let faults = fault_plan(&mut rng, &names);
    report.faults_injected += faults.len();
    case.emulator
        .set_behaviour(behaviour(&mut behaviour_rng, seed, faults));
    let mut clean_rounds = 0;
    loop {
        report.rounds += 1;
        let (executor, work) = case.resume_work(&run_id);
        if work.is_empty() {
            break;
        }
        let outcomes = case.runtime.block_on(executor.run_all(work, |_, _| {}));
        executor.run.record(Event::RunFinished).expect("journal");
        for (key, outcome) in outcomes {
            report.log.push(format!(
                "resume {}: {} {outcome:?}",
                report.rounds, key.name
            ));
            printed.insert(key.name, outcome);
        }
        case.emulator
            .set_behaviour(behaviour(&mut behaviour_rng, seed, Vec::new()));
        clean_rounds += 1;
        if clean_rounds > 4 {
            report
                .violations
                .push("resume did not settle in 4 rounds without faults".to_owned());
            break;
        }
    }
    // Let every notebook settle, then one more resume must change nothing.
    wait_all_settled(&case, &names);
    let calls_before: usize = case.emulator.calls().len();
    let (executor, work) = case.resume_work(&run_id);
    if !work.is_empty() {
        report.violations.push(format!(
            "a settled run still had {} item(s) to resume",
            work.len()
        ));
    }
    let _ = case.runtime.block_on(executor.run_all(work, |_, _| {}));
    let changes_after: Vec<String> = case.emulator.calls()[calls_before..]
        .iter()
        .filter(|c| CHANGES.contains(&c.operation.as_str()))
        .map(|c| c.operation.clone())
        .collect();
    if !changes_after.is_empty() {
        report.violations.push(format!(
            "the last resume changed something: {changes_after:?}"
        ));
    }
    // The journal is the authority on how each notebook ended (a killed apply's finished items
    // are only there).
    let run = case.state.existing_run(&run_id).expect("run");
    let summary = RunSummary::from_records(&run.records().expect("records"));
    let last: HashMap<String, Status> = names
        .iter()
        .filter_map(|n| {
            summary
                .outcome_of(&key(n))
                .map(|status| (n.clone(), status))
        })
        .collect();
    for (name, outcome) in &printed {
        if last.get(name) != Some(&outcome.status()) {
            report.violations.push(format!(
                "{name}: the report said {} and the journal {:?}",
                outcome.label(),
                last.get(name)
            ));
        }
    }
    check(&case, &planned, &before, &someone, &last, &mut report);
    if !report.violations.is_empty() {
        for record in run.records().expect("records") {
            report.log.push(format!("journal: {:?}", record.event));
        }
        for call in case.emulator.calls() {
            if call.operation.contains("Notebook") || call.operation == "ListTags" {
                report.log.push(format!(
                    "call: {} {:?} {}",
                    call.operation, call.name, call.outcome
                ));
            }
        }
    }
    report
}

/// Someone else: 0 starts a stopped notebook, 1 stops a running one, 2 adds a tag. The operation
/// and what it did, if AWS accepted it.
async fn act_as_someone(
    someone: &aws_sdk_sagemaker::Client,
    name: &str,
    action: u64,
) -> Option<(&'static str, &'static str)> {
    match action {
        0 => someone
            .start_notebook_instance()
            .notebook_instance_name(name)
            .send()
            .await
            .is_ok()
            .then_some(("StartNotebookInstance", "started")),
        1 => someone
            .stop_notebook_instance()
            .notebook_instance_name(name)
            .send()
            .await
            .is_ok()
            .then_some(("StopNotebookInstance", "stopped")),
        _ => {
            let arn = someone
                .describe_notebook_instance()
                .notebook_instance_name(name)
                .send()
                .await
                .ok()?
                .notebook_instance_arn()?
                .to_owned();
            someone
                .add_tags()
                .resource_arn(arn)
                .tags(
                    aws_sdk_sagemaker::types::Tag::builder()
                        .key("someone")
                        .value("else")
                        .build(),
                )
                .send()
                .await
                .is_ok()
                .then_some(("AddTags", "tagged"))
        }
    }
}

fn wait_all_settled(case: &Case, names: &[String]) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while names.iter().any(|n| {
        case.emulator
            .notebook_status(REGION, n)
            .is_some_and(|s| ["Pending", "Stopping", "Updating"].contains(&s.as_str()))
    }) && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn text<'v>(value: &'v Value, member: &str) -> &'v str {
    value
        .get(member)
        .and_then(Value::as_str)
        .unwrap_or("Enabled")
}

fn check(
    case: &Case,
    planned: &[Planned],
    before: &HashMap<String, Value>,
    someone: &HashMap<String, Someone>,
    last: &HashMap<String, Status>,
    report: &mut NotebookCaseReport,
) {
    let mut violation = |message: String| report.violations.push(message);
    for p in planned {
        let name = &p.name;
        let by_others = someone.get(name).cloned().unwrap_or_default();
        let Some(after) = case.notebook(name) else {
            violation(format!("{name} was deleted"));
            continue;
        };
        for forbidden in ["DeleteNotebookInstance", "CreateNotebookInstance"] {
            if case.count(forbidden, name) > 0 {
                violation(format!("{forbidden} was sent for {name}"));
            }
        }
        let tool_changes: usize = CHANGES
            .iter()
            .map(|op| {
                case.count(op, name)
                    .saturating_sub(by_others.calls.get(*op).copied().unwrap_or(0))
            })
            .sum();
        let status = text(&after, "NotebookInstanceStatus");
        let root = text(&after, "RootAccess");
        let before_nb = &before[name];
        // Only root access may differ, and what someone else changed (a tag is not a setting).
        let members = |v: &Value| sm_recreate::apply::notebook::settings(v);
        if members(&after) != members(before_nb) {
            violation(format!("{name}: a setting other than root access changed"));
        }
        if root != "Disabled" && root != p.root_access {
            violation(format!("{name}: root access is {root}"));
        }
        let must_be_left_alone = p.status == "Failed"
            || p.root_access == "Disabled"
            || (p.status == "InService" && !p.consent);
        if must_be_left_alone && tool_changes > 0 && !(by_others.started || by_others.stopped) {
            violation(format!(
                "{name} ({}, root {}, consent {}) was changed by the tool",
                p.status, p.root_access, p.consent
            ));
        }
        if must_be_left_alone && !by_others.started && !by_others.stopped && root != p.root_access {
            violation(format!(
                "{name}: root access changed on a notebook to leave alone"
            ));
        }
        let untouched_by_others = !by_others.started && !by_others.stopped;
        if p.status == "InService" && untouched_by_others && status != "InService" {
            violation(format!("{name} was running and is {status}"));
        }
        if p.status == "Stopped" && untouched_by_others && status != "Stopped" {
            violation(format!("{name} was stopped and is {status}"));
        }
        let Some(outcome) = last.get(name) else {
            violation(format!("{name} has no outcome"));
            continue;
        };
        report.outcomes.push(outcome.label().to_owned());
        match outcome {
            Status::UpdatedInPlace => {
                if root != "Disabled" {
                    violation(format!("{name} reported updated with root access {root}"));
                }
                if untouched_by_others && !by_others.tagged && status != p.status {
                    violation(format!("{name} reported updated but is {status}"));
                }
            }
            Status::RolledBack => {
                if root != p.root_access {
                    violation(format!(
                        "{name} reported rolled back with root access {root}"
                    ));
                }
                if p.status == "InService" && untouched_by_others && status != "InService" {
                    violation(format!("{name} reported rolled back but is {status}"));
                }
            }
            Status::AlreadyCompliant if p.root_access != "Disabled" => {
                violation(format!("{name} reported already compliant"));
            }
            Status::InDoubt | Status::RollbackIncomplete => violation(format!(
                "{name} ended {} after fault-free resumes",
                outcome.label()
            )),
            _ => {}
        }
    }
}
