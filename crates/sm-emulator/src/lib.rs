//! The sandbox: a SageMaker-compatible HTTP server (AWS JSON 1.1) for the model-monitor job
//! definitions, monitoring schedules and notebook instances sm-recreate touches, plus STS `GetCallerIdentity` and
//! `AssumeRole` (awsQuery), Organizations `ListAccounts` (AWS JSON 1.1), and Security Hub
//! `GetFindings` and `BatchUpdateFindings` (rest-json) over control findings it generates from
//! its own definitions and schedules.
//!
//! It can be an AWS Organization: the seed's `account_id` is the management account, the base
//! credentials (any key it did not issue) act in it, and `AssumeRole` of a role the seed lists in
//! a member account issues credentials that act in that member. SageMaker state is kept apart per
//! account and region, and so is the throttle's token bucket.
//!
//! It behaves like the real service where that matters to the tool (validation, `ResourceInUse`,
//! `ResourceNotFound`, schedule and notebook status transitions, pagination), stores definitions as JSON so any
//! member round-trips, and injects latency, throttling and faults on demand. It backs
//! sm-recreate's `--sandbox` and `sandbox serve`, and its test suite. It shares only the kinds
//! table (`sm-kinds`) with the tool, so it can be read, changed and tested on its own.

mod config;
mod faults;
mod listing;
mod org;
mod protocol;
mod securityhub;
mod server;
mod store;
mod validation;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use serde::Serialize;
use serde_json::Value;
use sm_kinds::Kind;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::{
    AccountState, AccountThrottle, Behaviour, ComplianceStatus, DEFAULT_ACCOUNT_ID, DEFAULT_REGION,
    EmulatorConfig, FaultError, FaultRule, FindingResourceKind, InlineNetworkConfigUpdates,
    JoinedMethod, RecordState, Seed, SeedAccount, SeedDefinition, SeedFinding, SeedNotebook,
    SeedRole, SeedSchedule, SeedScheduleStatus, SeedSecurityHub, Throttle, WorkflowStatus,
};

use faults::BehaviourState;
use org::Organization;
use securityhub::SecurityHub;
use server::{Shared, lock};
use store::{Store, Timings};

/// Every operation that changes state, by its API name.
pub const MUTATING_OPERATIONS: &[&str] = &[
    "CreateDataQualityJobDefinition",
    "DeleteDataQualityJobDefinition",
    "CreateModelExplainabilityJobDefinition",
    "DeleteModelExplainabilityJobDefinition",
    "CreateModelQualityJobDefinition",
    "DeleteModelQualityJobDefinition",
    "CreateModelBiasJobDefinition",
    "DeleteModelBiasJobDefinition",
    "AddTags",
    "DeleteTags",
    "CreateMonitoringSchedule",
    "UpdateMonitoringSchedule",
    "DeleteMonitoringSchedule",
    "StopMonitoringSchedule",
    "StartMonitoringSchedule",
    "CreateNotebookInstance",
    "StopNotebookInstance",
    "StartNotebookInstance",
    "UpdateNotebookInstance",
    "DeleteNotebookInstance",
];

#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("sandbox emulator cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read {}: {source}", path.display())]
    ReadFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `message` is serde's, which names the offending field and its line and column.
    #[error("invalid {}: {message}", path.display())]
    ParseFile {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("seed entry {entry} rejected: {message}")]
    InvalidSeed { entry: String, message: String },
    #[error("invalid sandbox behaviour{}: {message}", path.as_ref().map(|p| format!(" in {}", p.display())).unwrap_or_default())]
    InvalidBehaviour {
        path: Option<PathBuf>,
        message: String,
    },
}

/// One request the emulator received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordedCall {
    /// The API operation, e.g. `DeleteModelBiasJobDefinition` or `GetCallerIdentity`.
    pub operation: String,
    /// The definition, schedule or notebook instance the request named, if any; for
    /// `AssumeRole`, the role's ARN.
    pub name: Option<String>,
    pub region: String,
    /// The account whose credentials signed the call (the management account for any key the
    /// emulator did not issue).
    pub account_id: String,
    /// `ok`, the error code answered, `dropped`, or `in-flight` while still being handled.
    pub outcome: String,
    /// When the request arrived (benchmarks draw their timelines from it).
    #[serde(skip)]
    pub received: std::time::Instant,
}

/// A running emulator. Dropping it leaves the server running until the runtime stops; call
/// `shutdown` to stop it gracefully.
#[derive(Debug)]
pub struct Emulator {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    server: JoinHandle<()>,
}

/// Seeds the state, binds `addr` (port 0 picks a free port) and serves in a spawned task.
pub async fn start(config: EmulatorConfig, addr: SocketAddr) -> Result<Emulator, EmulatorError> {
    config
        .behaviour
        .validate()
        .map_err(|message| EmulatorError::InvalidBehaviour {
            path: None,
            message,
        })?;
    config.seed.validate()?;
    let started = Instant::now();
    let mut stores = BTreeMap::new();
    for account in config.seed.account_ids() {
        let mut store = Store::new(account, started, timings(&config.behaviour));
        store.set_schedule_behaviour(&config.behaviour);
        store.seed(&config.seed)?;
        stores.insert(account.to_owned(), store);
    }
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| EmulatorError::Bind { addr, source })?;
    let local_addr = listener
        .local_addr()
        .map_err(|source| EmulatorError::Bind { addr, source })?;
    let shared = Arc::new(Shared {
        account_id: config.seed.account_id.clone(),
        stores: Mutex::new(stores),
        org: Mutex::new(Organization::new(&config.seed, SystemTime::now())),
        securityhub: Mutex::new(SecurityHub::new(&config.seed)),
        behaviour: Mutex::new(BehaviourState::new(config.behaviour)),
        calls: Mutex::new(server::CallLog::default()),
    });
    // The seed's findings are placed over the first evaluation, as they were when the
    // emulator "started": only a later evaluation judges them again.
    evaluate_findings(&shared);
    lock(&shared.securityhub).apply_seed(&config.seed, SystemTime::now());
    let (shutdown, shutdown_requested) = watch::channel(false);
    let server = tokio::spawn(server::serve(
        listener,
        Arc::clone(&shared),
        shutdown_requested,
    ));
    tracing::debug!(%local_addr, "sandbox emulator listening");
    Ok(Emulator {
        shared,
        local_addr,
        shutdown,
        server,
    })
}

/// Judges every account's resources and moves the findings (see `Emulator::evaluate_findings`).
fn evaluate_findings(shared: &Shared) {
    // Read the state first and release the stores: the two locks are never held together.
    let resources: Vec<(String, Vec<securityhub::JudgedResource>)> = lock(&shared.stores)
        .iter()
        .map(|(account, store)| (account.clone(), store.judged_resources()))
        .collect();
    lock(&shared.securityhub).evaluate(&resources, SystemTime::now());
}

fn timings(behaviour: &Behaviour) -> Timings {
    Timings {
        schedule_transition: behaviour.schedule_transition,
        notebook_transition: behaviour.notebook_transition,
        execution_duration: behaviour.execution_duration,
    }
}

impl Emulator {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The URL clients use: a wildcard bind address is reached through loopback.
    pub fn endpoint_url(&self) -> String {
        let mut reachable = self.local_addr;
        if reachable.ip().is_unspecified() {
            reachable.set_ip(match reachable.ip() {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            });
        }
        format!("http://{reachable}")
    }

    /// The management (caller's) account: base credentials act in it, and the accessors below
    /// that take no account read it.
    pub fn account_id(&self) -> String {
        self.shared.account_id.clone()
    }

    /// Every account of the organization, the management account first, then the members in
    /// seed order (just the one account for a seed without `accounts`).
    pub fn account_ids(&self) -> Vec<String> {
        lock(&self.shared.org).account_ids()
    }

    /// The state of one account, read and changed as the accessors of `Emulator` do for the
    /// management account.
    ///
    /// # Panics
    /// If the seed has no such account: a bug in the test.
    pub fn account(&self, account_id: &str) -> AccountView<'_> {
        assert!(
            lock(&self.shared.stores).contains_key(account_id),
            "the emulator has no account {account_id} (accounts: {:?})",
            self.account_ids()
        );
        AccountView {
            shared: &self.shared,
            account_id: account_id.to_owned(),
        }
    }

    fn management(&self) -> AccountView<'_> {
        AccountView {
            shared: &self.shared,
            account_id: self.shared.account_id.clone(),
        }
    }

    /// Makes every credential `AssumeRole` issued for `account_id` so far expired, as if its
    /// lifetime had run out: each call signed with one answers `ExpiredToken`.
    pub fn expire_credentials(&self, account_id: &str) {
        lock(&self.shared.org).expire_credentials(account_id);
    }

    /// Replaces latency, throttle, faults, timings and whether inline `NetworkConfig` updates are
    /// allowed, resetting fault counters and the token buckets. Schedules already `Pending`, and
    /// seeded executions, keep the timing they started with.
    pub fn set_behaviour(&self, behaviour: Behaviour) {
        for store in lock(&self.shared.stores).values_mut() {
            store.set_timings(timings(&behaviour));
            store.set_schedule_behaviour(&behaviour);
        }
        *lock(&self.shared.behaviour) = BehaviourState::new(behaviour);
    }

    /// Security Hub evaluates its change-triggered controls some time after a change, not when
    /// findings are read: this is that moment. Every account's definitions and inline schedules
    /// are judged, and their findings move as the service moves them: a new resource gets a
    /// finding (`FAILED` and `NEW`, or `PASSED` and `RESOLVED`); a passing one becomes `PASSED`
    /// and `RESOLVED`; a failure after a pass, or a finding back from `ARCHIVED`, sets
    /// `NOTIFIED` or `RESOLVED` back to `NEW`; a resource no longer there is `NOT_AVAILABLE`
    /// and `ARCHIVED`; a `SUPPRESSED` finding keeps its workflow. It runs once at start-up,
    /// before the seed's `security_hub.findings` are placed, and otherwise only when called.
    pub fn evaluate_findings(&self) {
        evaluate_findings(&self.shared);
    }

    /// Every finding of every account and region, as `GetFindings` renders them, in its order
    /// (account, region, control, resource ARN).
    pub fn findings(&self) -> Vec<Value> {
        lock(&self.shared.securityhub).all_findings()
    }

    /// The Security Hub administrator account, if any (`security_hub.administrator_account_id`
    /// in the seed; by default the management account of an organization).
    pub fn security_hub_administrator(&self) -> Option<String> {
        lock(&self.shared.securityhub)
            .administrator()
            .map(str::to_owned)
    }

    /// Every request received so far, in arrival order (the latest 100,000 in a long run).
    pub fn calls(&self) -> Vec<RecordedCall> {
        lock(&self.shared.calls).to_vec()
    }

    /// The stored describe JSON of a definition (name matched case-insensitively), in the
    /// management account.
    pub fn definition(&self, region: &str, kind: Kind, name: &str) -> Option<Value> {
        self.management().definition(region, kind, name)
    }

    /// The describe JSON of a schedule in the management account, with any due status
    /// transition applied.
    pub fn schedule(&self, region: &str, name: &str) -> Option<Value> {
        self.management().schedule(region, name)
    }

    /// The names of a region's definitions of one kind in the management account,
    /// alphabetically (case-insensitive).
    pub fn definition_names(&self, region: &str, kind: Kind) -> Vec<String> {
        self.management().definition_names(region, kind)
    }

    /// The describe JSON of a notebook instance in the management account (name matched
    /// case-insensitively), with any due status transition applied; `None` once it is gone.
    /// Change notebooks through the SDK, as anyone else would.
    pub fn notebook(&self, region: &str, name: &str) -> Option<Value> {
        self.management().notebook(region, name)
    }

    /// A notebook's `NotebookInstanceStatus` in the management account, transitions applied.
    pub fn notebook_status(&self, region: &str, name: &str) -> Option<String> {
        self.management().notebook_status(region, name)
    }

    /// A notebook's tags in the management account, in the order they were added.
    pub fn notebook_tags(&self, region: &str, name: &str) -> Option<Vec<(String, String)>> {
        self.management().notebook_tags(region, name)
    }

    /// The names of a region's notebooks in the management account, alphabetically
    /// (case-insensitive).
    pub fn notebook_names(&self, region: &str) -> Vec<String> {
        self.management().notebook_names(region)
    }

    /// Stores a definition in the management account exactly as given; see
    /// `AccountView::put_definition_raw`.
    ///
    /// # Panics
    /// If `describe_json` is not an object with a string `JobDefinitionName`: a bug in the test.
    pub fn put_definition_raw(
        &self,
        region: &str,
        kind: Kind,
        describe_json: Value,
        tags: Vec<(String, String)>,
    ) {
        self.management()
            .put_definition_raw(region, kind, describe_json, tags);
    }

    /// Stops accepting connections, lets in-flight requests finish (up to a few seconds), and
    /// waits for the server task.
    pub async fn shutdown(self) {
        // An error means the server task already ended, which is the goal anyway.
        let _ = self.shutdown.send(true);
        if let Err(error) = self.server.await {
            tracing::warn!(%error, "sandbox emulator task ended abnormally");
        }
    }
}

/// One account's SageMaker state, from `Emulator::account`.
#[derive(Debug)]
pub struct AccountView<'a> {
    shared: &'a Shared,
    account_id: String,
}

impl AccountView<'_> {
    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    fn with_store<T>(&self, read: impl FnOnce(&mut Store) -> T) -> T {
        let mut stores = lock(&self.shared.stores);
        let store = stores
            .get_mut(&self.account_id)
            .expect("Emulator::account checked the account exists");
        read(store)
    }

    /// The stored describe JSON of a definition (name matched case-insensitively).
    pub fn definition(&self, region: &str, kind: Kind, name: &str) -> Option<Value> {
        self.with_store(|store| store.definition(region, kind, name))
    }

    /// The describe JSON of a schedule, with any due status transition applied.
    pub fn schedule(&self, region: &str, name: &str) -> Option<Value> {
        self.with_store(|store| store.schedule(region, name, Instant::now()))
    }

    /// The names of a region's definitions of one kind, alphabetically (case-insensitive).
    pub fn definition_names(&self, region: &str, kind: Kind) -> Vec<String> {
        self.with_store(|store| store.definition_names(region, kind))
    }

    /// The describe JSON of a notebook instance (name matched case-insensitively), with any due
    /// status transition applied; `None` once it is gone.
    pub fn notebook(&self, region: &str, name: &str) -> Option<Value> {
        self.with_store(|store| store.notebook(region, name, Instant::now()))
    }

    /// A notebook's `NotebookInstanceStatus`, transitions applied.
    pub fn notebook_status(&self, region: &str, name: &str) -> Option<String> {
        self.notebook(region, name)?
            .get("NotebookInstanceStatus")?
            .as_str()
            .map(str::to_owned)
    }

    /// A notebook's tags, in the order they were added.
    pub fn notebook_tags(&self, region: &str, name: &str) -> Option<Vec<(String, String)>> {
        self.with_store(|store| store.notebook_tags(region, name, Instant::now()))
    }

    /// The names of a region's notebooks, alphabetically (case-insensitive).
    pub fn notebook_names(&self, region: &str) -> Vec<String> {
        self.with_store(|store| store.notebook_names(region, Instant::now()))
    }

    /// Stores a definition exactly as given, bypassing validation (tests use it to inject members
    /// the service might add). `JobDefinitionArn` and `CreationTime` are filled in when absent.
    ///
    /// # Panics
    /// If `describe_json` is not an object with a string `JobDefinitionName`: a bug in the test.
    pub fn put_definition_raw(
        &self,
        region: &str,
        kind: Kind,
        describe_json: Value,
        tags: Vec<(String, String)>,
    ) {
        let Value::Object(describe) = describe_json else {
            panic!("put_definition_raw needs a JSON object, got {describe_json}");
        };
        if let Err(problem) =
            self.with_store(|store| store.put_definition_raw(region, kind, describe, tags))
        {
            panic!("put_definition_raw: {problem}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::Members;
    use std::path::Path;

    /// The fixtures belong to the whole workspace: they sit at its root, two levels up.
    fn fixture(relative: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures")
            .join(relative)
    }

    #[test]
    fn the_demo_account_seeds_cleanly() {
        let seed = Seed::demo();
        assert!(seed.definitions.len() >= 12);
        let kinds: std::collections::BTreeSet<Kind> =
            seed.definitions.iter().map(|d| d.kind).collect();
        assert_eq!(kinds.len(), 4, "every kind appears in the demo account");
        let mut store = Store::new(
            &seed.account_id,
            Instant::now(),
            timings(&Behaviour::default()),
        );
        store.seed(&seed).expect("the demo account is valid");
        let from_file = Seed::from_path(&fixture("demo-account.json")).expect("parses");
        assert_eq!(from_file.definitions.len(), seed.definitions.len());
    }

    #[test]
    fn the_demo_organization_seeds_cleanly() {
        let seed = Seed::demo_organization();
        seed.validate().expect("accounts and entries agree");
        assert_eq!(seed.accounts.len(), 3);
        assert!(seed.accounts.iter().all(|account| {
            account.state == AccountState::Active
                && account
                    .roles
                    .iter()
                    .any(|role| role.name == "OrganizationAccountAccessRole")
        }));
        for account in seed.account_ids() {
            let mut store = Store::new(account, Instant::now(), timings(&Behaviour::default()));
            store.seed(&seed).expect("the demo organization is valid");
        }
        let ours = |account: &str| {
            seed.definitions
                .iter()
                .filter(|d| d.account_id.as_deref().unwrap_or(&seed.account_id) == account)
                .collect::<Vec<_>>()
        };
        for member in &seed.accounts {
            let definitions = ours(&member.account_id);
            let kinds: std::collections::BTreeSet<Kind> =
                definitions.iter().map(|d| d.kind).collect();
            assert!(kinds.len() >= 3, "{}: several kinds", member.name);
            let regions: std::collections::BTreeSet<&str> =
                definitions.iter().map(|d| d.region.as_str()).collect();
            assert_eq!(regions.len(), 2, "{}: us-east-1 and us-west-2", member.name);
            let failing = definitions
                .iter()
                .filter(|d| {
                    d.request["NetworkConfig"]["EnableInterContainerTrafficEncryption"] != true
                })
                .count();
            assert!(
                failing >= 2 && failing < definitions.len(),
                "{}",
                member.name
            );
        }
        let from_file = Seed::from_path(&fixture("demo-organization.json")).expect("parses");
        assert_eq!(from_file.definitions.len(), seed.definitions.len());
    }

    #[test]
    fn a_seed_entry_in_an_unknown_account_or_a_repeated_account_is_rejected() {
        let mut seed = Seed::demo_organization();
        seed.definitions[0].account_id = Some("999999999999".to_owned());
        let error = seed.validate().expect_err("unknown account");
        assert!(error.to_string().contains("definitions[0]"), "{error}");
        let mut seed = Seed::demo_organization();
        seed.accounts[1].account_id = seed.accounts[0].account_id.clone();
        assert!(seed.validate().is_err());
        let mut seed = Seed::demo_organization();
        seed.accounts[0].account_id = "12345".to_owned();
        assert!(seed.validate().is_err());
    }

    #[test]
    fn every_maximal_fixture_is_accepted_and_round_trips() {
        for kind in Kind::ALL {
            let path = fixture(&format!("maximal/{}.json", kind.cli_name()));
            let text = std::fs::read_to_string(&path).expect("fixture exists");
            let request: Value = serde_json::from_str(&text).expect("fixture is JSON");
            let body = request.as_object().expect("fixture is an object");
            let mut store = Store::new(
                DEFAULT_ACCOUNT_ID,
                Instant::now(),
                timings(&Behaviour::default()),
            );
            store
                .handle(
                    protocol::Operation::CreateDefinition(kind),
                    DEFAULT_REGION,
                    Members(body),
                    Instant::now(),
                )
                .unwrap_or_else(|error| panic!("{}: {error:?}", path.display()));
            let name = body["JobDefinitionName"].as_str().expect("name");
            let stored = store
                .definition(DEFAULT_REGION, kind, name)
                .expect("stored");
            let mut expected = body.clone();
            expected.remove("Tags");
            let mut stored = stored.as_object().expect("object").clone();
            assert!(stored.remove("JobDefinitionArn").is_some());
            assert!(stored.remove("CreationTime").is_some());
            assert_eq!(stored, expected, "{}", path.display());
        }
    }
}
