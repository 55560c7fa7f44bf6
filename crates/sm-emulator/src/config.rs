//! The emulator's inputs: the seed (initial account state) and the behaviour (latency, throttle,
//! faults, timings), both loadable from JSON files whose format `fixtures/README.md` documents.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use serde_json::Value;
use sm_kinds::Kind;

use super::EmulatorError;

/// The region used when a seed entry or a request names none.
pub const DEFAULT_REGION: &str = "us-east-1";

/// The account id used when a seed names none.
pub const DEFAULT_ACCOUNT_ID: &str = "123456789012";

/// The built-in demo account (the workspace's `fixtures/demo-account.json`), compiled in so
/// `--sandbox` works from any directory.
const DEMO_ACCOUNT_JSON: &str = include_str!("../../../fixtures/demo-account.json");

/// The built-in demo organization (the workspace's `fixtures/demo-organization.json`).
const DEMO_ORGANIZATION_JSON: &str = include_str!("../../../fixtures/demo-organization.json");

/// Everything `start` needs.
#[derive(Debug, Clone, Default)]
pub struct EmulatorConfig {
    /// The state the emulator starts with.
    pub seed: Seed,
    /// Latency, throttling, faults and state-transition timings.
    pub behaviour: Behaviour,
}

/// The initial state of the emulated account, or of an organization: `account_id` is the caller's
/// own account (base credentials map to it) and, when `accounts` lists members, the organization's
/// management account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    #[serde(default = "default_account_id")]
    pub account_id: String,
    /// The management account's name in `ListAccounts`.
    #[serde(default)]
    pub management_name: Option<String>,
    /// The management account's email in `ListAccounts`.
    #[serde(default)]
    pub management_email: Option<String>,
    /// Roles that `AssumeRole` may assume in the management account itself. None by default:
    /// `OrganizationAccountAccessRole` exists only in member accounts the organization created
    /// (AWS-FACTS #17); the management account is reached with the base credentials.
    #[serde(default)]
    pub management_roles: Vec<SeedRole>,
    /// The organization's member accounts. Empty: no organization (`ListAccounts` answers
    /// `AWSOrganizationsNotInUseException`).
    #[serde(default)]
    pub accounts: Vec<SeedAccount>,
    /// How long `AssumeRole` credentials live. Deliberately not held to the real service's
    /// 900-second minimum, so a test can have credentials expire in the middle of a run.
    #[serde(
        default = "default_credential_lifetime",
        rename = "credential_lifetime_ms",
        deserialize_with = "millis"
    )]
    pub credential_lifetime: Duration,
    #[serde(default)]
    pub definitions: Vec<SeedDefinition>,
    #[serde(default)]
    pub schedules: Vec<SeedSchedule>,
    /// Notebook instances, settled in their status from the start.
    #[serde(default)]
    pub notebooks: Vec<SeedNotebook>,
    /// Security Hub: who administers it, and findings placed in a state the evaluation alone
    /// would not produce.
    #[serde(default)]
    pub security_hub: SeedSecurityHub,
}

impl Default for Seed {
    fn default() -> Self {
        Seed {
            account_id: default_account_id(),
            management_name: None,
            management_email: None,
            management_roles: Vec::new(),
            accounts: Vec::new(),
            credential_lifetime: default_credential_lifetime(),
            definitions: Vec::new(),
            schedules: Vec::new(),
            notebooks: Vec::new(),
            security_hub: SeedSecurityHub::default(),
        }
    }
}

/// Security Hub in the seeded accounts. It is enabled in every account, with the controls this
/// emulator knows (SageMaker.9–.25 of `sm-kinds`), in every region a resource lives in.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedSecurityHub {
    /// The Security Hub administrator account, which sees and may update every other account's
    /// findings. Absent: the management account when the seed is an organization (it lists
    /// `accounts`), none otherwise. `null`: none, even in an organization.
    #[serde(default, deserialize_with = "explicit_null")]
    pub administrator_account_id: Option<Option<String>>,
    /// Accounts where Security Hub is not enabled: their calls answer HTTP 401
    /// `InvalidAccessException`, they have no findings, and an administrator does not see them.
    #[serde(default)]
    pub disabled_accounts: Vec<String>,
    /// Findings as the seed wants them after the start-up evaluation; the next
    /// `Emulator::evaluate_findings` judges them again like any other.
    #[serde(default)]
    pub findings: Vec<SeedFinding>,
}

impl SeedSecurityHub {
    /// The administrator account for `seed`, after its default.
    pub fn administrator(&self, seed: &Seed) -> Option<String> {
        match &self.administrator_account_id {
            Some(explicit) => explicit.clone(),
            None => (!seed.accounts.is_empty()).then(|| seed.account_id.clone()),
        }
    }
}

/// One control finding to place: the finding of `control` on the resource named by `kind` and
/// `name` (a job definition, or a schedule with an inline definition), whether or not that
/// resource exists (a finding left behind by a deleted resource names one that does not). The
/// fields left out keep what the evaluation gave it (a new finding: `FAILED`, `ACTIVE`, `NEW`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedFinding {
    /// The seed's `account_id` when absent.
    #[serde(default)]
    pub account_id: Option<String>,
    #[serde(default = "default_region")]
    pub region: String,
    /// A kind (`data-quality`, ...) or `monitoring-schedule`.
    pub kind: FindingResourceKind,
    pub name: String,
    /// `SageMaker.9` ...; it must judge `kind`.
    pub control: String,
    #[serde(default)]
    pub compliance_status: Option<ComplianceStatus>,
    #[serde(default)]
    pub record_state: Option<RecordState>,
    /// Without it, a compliance status set here moves the workflow as an evaluation would
    /// (`PASSED`: `RESOLVED`).
    #[serde(default)]
    pub workflow_status: Option<WorkflowStatus>,
}

/// What a finding is about: a job definition of one kind, or a monitoring schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FindingResourceKind {
    Definition(Kind),
    MonitoringSchedule,
}

impl<'de> Deserialize<'de> for FindingResourceKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        if name == "monitoring-schedule" {
            return Ok(FindingResourceKind::MonitoringSchedule);
        }
        Kind::from_cli_name(&name)
            .map(FindingResourceKind::Definition)
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "unknown kind {name:?}: expected data-quality, model-explainability, \
                     model-quality, model-bias or monitoring-schedule"
                ))
            })
    }
}

/// `Compliance.Status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ComplianceStatus {
    Passed,
    Warning,
    Failed,
    NotAvailable,
}

impl ComplianceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ComplianceStatus::Passed => "PASSED",
            ComplianceStatus::Warning => "WARNING",
            ComplianceStatus::Failed => "FAILED",
            ComplianceStatus::NotAvailable => "NOT_AVAILABLE",
        }
    }
}

/// `RecordState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RecordState {
    Active,
    Archived,
}

impl RecordState {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordState::Active => "ACTIVE",
            RecordState::Archived => "ARCHIVED",
        }
    }
}

/// `Workflow.Status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WorkflowStatus {
    New,
    Notified,
    Resolved,
    Suppressed,
}

impl WorkflowStatus {
    pub const ALL: [WorkflowStatus; 4] = [
        WorkflowStatus::New,
        WorkflowStatus::Notified,
        WorkflowStatus::Resolved,
        WorkflowStatus::Suppressed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WorkflowStatus::New => "NEW",
            WorkflowStatus::Notified => "NOTIFIED",
            WorkflowStatus::Resolved => "RESOLVED",
            WorkflowStatus::Suppressed => "SUPPRESSED",
        }
    }

    pub fn parse(text: &str) -> Option<WorkflowStatus> {
        WorkflowStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
    }
}

/// A member account of the organization.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedAccount {
    /// Twelve digits.
    pub account_id: String,
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub state: AccountState,
    /// How the account joined: `CREATED` (the default) or `INVITED`.
    #[serde(default)]
    pub joined_method: JoinedMethod,
    /// The roles `AssumeRole` may assume in this account; by default one
    /// `OrganizationAccountAccessRole` without an external id.
    #[serde(default = "default_roles")]
    pub roles: Vec<SeedRole>,
    /// Opt-in regions not enabled for this account: SageMaker calls there answer
    /// `UnrecognizedClientException`.
    #[serde(default)]
    pub disabled_regions: Vec<String>,
}

/// A role in an account. With an `external_id`, `AssumeRole` must pass exactly that id (the
/// usual `sts:ExternalId` trust-policy condition); without one, any or none is accepted.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedRole {
    pub name: String,
    #[serde(default)]
    pub external_id: Option<String>,
}

/// An account's state, as Organizations' `AccountState` (without `PENDING_ACTIVATION`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AccountState {
    #[default]
    Active,
    Suspended,
    PendingClosure,
    Closed,
}

impl AccountState {
    /// The name on the wire (`ACTIVE`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            AccountState::Active => "ACTIVE",
            AccountState::Suspended => "SUSPENDED",
            AccountState::PendingClosure => "PENDING_CLOSURE",
            AccountState::Closed => "CLOSED",
        }
    }
}

/// How an account joined the organization.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JoinedMethod {
    #[default]
    Created,
    Invited,
}

impl JoinedMethod {
    /// The name on the wire (`CREATED` or `INVITED`).
    pub fn as_str(self) -> &'static str {
        match self {
            JoinedMethod::Created => "CREATED",
            JoinedMethod::Invited => "INVITED",
        }
    }
}

/// A job definition to create before the emulator serves its first request.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedDefinition {
    /// The account it lives in; the seed's `account_id` when absent.
    #[serde(default)]
    pub account_id: Option<String>,
    pub kind: Kind,
    #[serde(default = "default_region")]
    pub region: String,
    /// A `Create<Noun>` request body. Unlike a real request, `aws:` tags are allowed here because
    /// AWS itself sets them (CloudFormation, for instance).
    pub request: Value,
}

/// A monitoring schedule to create before the emulator serves its first request. Seeded schedules
/// start settled (`Scheduled` unless `status` says `Stopped`), never `Pending`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedSchedule {
    /// The account it lives in; the seed's `account_id` when absent.
    #[serde(default)]
    pub account_id: Option<String>,
    #[serde(default = "default_region")]
    pub region: String,
    /// A `CreateMonitoringSchedule` request body.
    pub request: Value,
    #[serde(default)]
    pub status: Option<SeedScheduleStatus>,
    /// Returned as-is by `DescribeMonitoringSchedule`; required members the seed leaves out are
    /// filled in. `"MonitoringExecutionStatus": "InProgress"` turns `Completed` once the
    /// behaviour's `execution_duration` has passed since the emulator started.
    #[serde(default, rename = "LastMonitoringExecutionSummary")]
    pub last_monitoring_execution_summary: Option<Value>,
}

/// A notebook instance to create before the emulator serves its first request. It starts settled
/// in `status`, never `Pending`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedNotebook {
    /// The account it lives in; the seed's `account_id` when absent.
    #[serde(default)]
    pub account_id: Option<String>,
    #[serde(default = "default_region")]
    pub region: String,
    /// A `CreateNotebookInstance` request body, `Tags` included. Unlike a real request, it may
    /// carry what the service no longer accepts but older notebooks still have: `aws:` tags,
    /// Elastic Inference `AcceleratorTypes` and a retired `PlatformIdentifier`.
    pub request: Value,
    /// `InService` (the default), `Stopped` or `Failed`.
    #[serde(default)]
    pub status: Option<String>,
    /// Only with `Failed`; a generic reason when a failed notebook names none.
    #[serde(default)]
    pub failure_reason: Option<String>,
}

/// The statuses a seeded notebook may start in.
pub(crate) const SEED_NOTEBOOK_STATUSES: [&str; 3] = ["InService", "Stopped", "Failed"];

/// The settled states a seeded schedule may start in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum SeedScheduleStatus {
    Scheduled,
    Stopped,
}

impl Seed {
    pub fn from_path(path: &Path) -> Result<Seed, EmulatorError> {
        parse_json_file(path)
    }

    /// The built-in demo account (`fixtures/demo-account.json`).
    pub fn demo() -> Seed {
        serde_json::from_str(DEMO_ACCOUNT_JSON)
            .expect("fixtures/demo-account.json is valid (checked by a unit test)")
    }

    /// The built-in demo organization (`fixtures/demo-organization.json`): a management account
    /// and three members reached through `OrganizationAccountAccessRole`.
    pub fn demo_organization() -> Seed {
        serde_json::from_str(DEMO_ORGANIZATION_JSON)
            .expect("fixtures/demo-organization.json is valid (checked by a unit test)")
    }

    /// Every account, the management (caller's) account first, then the members in seed order.
    pub fn account_ids(&self) -> Vec<&str> {
        std::iter::once(self.account_id.as_str())
            .chain(
                self.accounts
                    .iter()
                    .map(|account| account.account_id.as_str()),
            )
            .collect()
    }

    /// Checks what serde cannot: account ids are twelve digits and unique, and every entry names
    /// a known account.
    pub(crate) fn validate(&self) -> Result<(), EmulatorError> {
        let invalid =
            |entry: String, message: String| EmulatorError::InvalidSeed { entry, message };
        let ids = self.account_ids();
        for (index, id) in ids.iter().enumerate() {
            let entry = if index == 0 {
                "account_id".to_owned()
            } else {
                format!("accounts[{}]", index - 1)
            };
            if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid(
                    entry,
                    format!("account id {id:?} is not twelve digits"),
                ));
            }
            if ids[..index].contains(id) {
                return Err(invalid(entry, format!("account {id} is listed twice")));
            }
        }
        let known = |account: &Option<String>| {
            account
                .as_deref()
                .is_none_or(|account| ids.contains(&account))
        };
        let entries = self
            .definitions
            .iter()
            .map(|d| (&d.account_id, "definitions"))
            .enumerate()
            .chain(
                self.schedules
                    .iter()
                    .map(|s| (&s.account_id, "schedules"))
                    .enumerate(),
            )
            .chain(
                self.notebooks
                    .iter()
                    .map(|n| (&n.account_id, "notebooks"))
                    .enumerate(),
            );
        let security_hub = &self.security_hub;
        let findings = security_hub
            .findings
            .iter()
            .map(|f| (&f.account_id, "security_hub.findings"))
            .enumerate();
        let entries = entries.chain(findings);
        for (index, (account, list)) in entries {
            if !known(account) {
                return Err(invalid(
                    format!("{list}[{index}]"),
                    format!(
                        "account_id {} is neither the seed's account_id nor in accounts",
                        account.as_deref().unwrap_or_default()
                    ),
                ));
            }
        }
        for (index, notebook) in self.notebooks.iter().enumerate() {
            let status = notebook.status.as_deref().unwrap_or("InService");
            let problem = if !SEED_NOTEBOOK_STATUSES.contains(&status) {
                Some(format!(
                    "status {status:?} is none of {}",
                    SEED_NOTEBOOK_STATUSES.join(", ")
                ))
            } else if notebook.failure_reason.is_some() && status != "Failed" {
                Some(format!(
                    "failure_reason is only for a Failed notebook, not {status}"
                ))
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(invalid(
                    format!(
                        "notebooks[{index}] ({})",
                        notebook.request["NotebookInstanceName"]
                    ),
                    problem,
                ));
            }
        }
        let named_accounts = security_hub
            .administrator_account_id
            .iter()
            .flatten()
            .map(|id| ("security_hub.administrator_account_id".to_owned(), id))
            .chain(
                security_hub
                    .disabled_accounts
                    .iter()
                    .enumerate()
                    .map(|(index, id)| (format!("security_hub.disabled_accounts[{index}]"), id)),
            );
        for (entry, id) in named_accounts {
            if !ids.contains(&id.as_str()) {
                return Err(invalid(
                    entry,
                    format!("account {id} is neither the seed's account_id nor in accounts"),
                ));
            }
        }
        for (index, finding) in security_hub.findings.iter().enumerate() {
            let judged = sm_kinds::ControlInfo::find(&finding.control).map(|control| {
                match (control.subject, finding.kind) {
                    (sm_kinds::Subject::Definition(kind), FindingResourceKind::Definition(k)) => {
                        kind == k
                    }
                    (
                        sm_kinds::Subject::InlineSchedule,
                        FindingResourceKind::MonitoringSchedule,
                    ) => true,
                    _ => false,
                }
            });
            let problem = match judged {
                None => Some(format!(
                    "control {:?} is none of {}",
                    finding.control,
                    sm_kinds::control_ids()
                )),
                Some(false) => Some(format!(
                    "control {} does not judge a {}",
                    finding.control,
                    match finding.kind {
                        FindingResourceKind::Definition(kind) => kind.cli_name(),
                        FindingResourceKind::MonitoringSchedule => "monitoring-schedule",
                    }
                )),
                Some(true) => None,
            };
            if let Some(problem) = problem {
                return Err(invalid(format!("security_hub.findings[{index}]"), problem));
            }
        }
        Ok(())
    }
}

/// How the emulator behaves beyond its state: per-call latency, a token-bucket throttle, injected
/// faults, the delays of asynchronous state transitions, and the choice where the real service's
/// documentation disagrees with itself. In JSON, durations are integers of
/// milliseconds in fields suffixed `_ms`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Behaviour {
    /// Added to every call before it is handled.
    #[serde(default, rename = "latency_ms", deserialize_with = "millis")]
    pub latency: Duration,
    /// One token bucket per account and region (SageMaker's limits are per account-region).
    #[serde(default)]
    pub throttle: Option<Throttle>,
    /// Buckets for one account's regions instead of `throttle`'s, so a test can throttle one
    /// account of an organization hard.
    #[serde(default)]
    pub account_throttles: Vec<AccountThrottle>,
    /// Evaluated in order for every call; see `FaultRule`.
    #[serde(default)]
    pub faults: Vec<FaultRule>,
    /// How long a created, updated or started schedule stays `Pending`.
    #[serde(
        default = "default_schedule_transition",
        rename = "schedule_transition_ms",
        deserialize_with = "millis"
    )]
    pub schedule_transition: Duration,
    /// How long a notebook instance stays in each passing status (`Pending`, `Stopping`,
    /// `Updating`, `Deleting`) before it settles.
    #[serde(
        default = "default_notebook_transition",
        rename = "notebook_transition_ms",
        deserialize_with = "millis"
    )]
    pub notebook_transition: Duration,
    /// How long after the emulator starts a seeded `InProgress` execution completes.
    #[serde(
        default = "default_execution_duration",
        rename = "execution_duration_ms",
        deserialize_with = "millis"
    )]
    pub execution_duration: Duration,
    /// Seeds the draws of `probability` rules, so a fault plan replays the same way; random
    /// when absent.
    #[serde(default)]
    pub fault_seed: Option<u64>,
    /// Whether `UpdateMonitoringSchedule` may change an inline definition's `NetworkConfig`.
    #[serde(default)]
    pub inline_network_config_updates: InlineNetworkConfigUpdates,
    /// Schedules (name globs) whose next `UpdateMonitoringSchedule` is accepted and then settles
    /// to `Failed` with a `FailureReason`, as the service does when a schedule's new
    /// configuration cannot run (statuses: AWS-FACTS #4): fault injection for the tool's
    /// rollback. Each entry fails one update (list a name twice to fail two).
    #[serde(default)]
    pub failing_schedule_updates: Vec<String>,
}

/// Whether `UpdateMonitoringSchedule` may change the `NetworkConfig` of a schedule's inline
/// `MonitoringJobDefinition` in place. The documentation disagrees (AWS-FACTS #15): CloudFormation
/// marks the inline `NetworkConfig` "update requires: no interruption", while Security Hub's
/// remediation for SageMaker.22 says it cannot be updated. The emulator follows CloudFormation by
/// default; `Refused` lets the tool's handling of a refusal be tested. In JSON: `"allowed"` or
/// `"refused"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InlineNetworkConfigUpdates {
    #[default]
    Allowed,
    Refused,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            latency: Duration::ZERO,
            throttle: None,
            account_throttles: Vec::new(),
            faults: Vec::new(),
            schedule_transition: default_schedule_transition(),
            notebook_transition: default_notebook_transition(),
            execution_duration: default_execution_duration(),
            fault_seed: None,
            inline_network_config_updates: InlineNetworkConfigUpdates::default(),
            failing_schedule_updates: Vec::new(),
        }
    }
}

impl Behaviour {
    pub fn from_path(path: &Path) -> Result<Behaviour, EmulatorError> {
        let behaviour: Behaviour = parse_json_file(path)?;
        behaviour
            .validate()
            .map_err(|message| EmulatorError::InvalidBehaviour {
                path: Some(path.to_path_buf()),
                message,
            })?;
        Ok(behaviour)
    }

    /// Rejects rules that could never do anything or whose intent is ambiguous.
    pub(crate) fn validate(&self) -> Result<(), String> {
        let throttles = self
            .throttle
            .iter()
            .map(|throttle| ("throttle".to_owned(), throttle.clone()));
        let account_throttles = self.account_throttles.iter().map(|account| {
            (
                format!("account_throttles ({})", account.account_id),
                account.throttle(),
            )
        });
        for (what, throttle) in throttles.chain(account_throttles) {
            if throttle.rate_per_second.is_nan()
                || throttle.rate_per_second <= 0.0
                || throttle.burst == 0
            {
                return Err(format!(
                    "{what}: rate_per_second and burst must both be positive"
                ));
            }
        }
        for (index, rule) in self.faults.iter().enumerate() {
            let problem = if rule.error.is_some() && rule.drop_connection {
                Some("sets both error and drop_connection; pick one")
            } else if rule.error.is_none() && !rule.drop_connection && rule.delay_ms.is_none() {
                Some("does nothing: set error, drop_connection or delay_ms")
            } else if rule.after && rule.error.is_none() && !rule.drop_connection {
                Some("sets after without error or drop_connection")
            } else if rule.nth == Some(0) {
                Some("nth counts from 1")
            } else if rule.probability.is_some_and(|p| !(0.0..=1.0).contains(&p)) {
                Some("probability must be between 0 and 1")
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(format!("faults[{index}] ({}) {problem}", rule.operation));
            }
        }
        Ok(())
    }
}

/// A token bucket: `burst` calls at once, refilled at `rate_per_second`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Throttle {
    pub rate_per_second: f64,
    pub burst: u32,
}

/// The token bucket of one account's regions, in place of `Behaviour::throttle`'s.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountThrottle {
    pub account_id: String,
    pub rate_per_second: f64,
    pub burst: u32,
}

impl AccountThrottle {
    pub(crate) fn throttle(&self) -> Throttle {
        Throttle {
            rate_per_second: self.rate_per_second,
            burst: self.burst,
        }
    }
}

/// One injected fault. A rule matches a call by operation and name; it fires on a matching call
/// when `nth`, `times` and `probability` allow; a firing rule sleeps `delay_ms`, then drops the
/// connection or answers `error`. A rule with only `delay_ms` slows calls down and lets later rules
/// decide the outcome. The first firing rule with an error or a drop decides the outcome. If it
/// sets both (possible only when built in code), the drop wins.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// An operation name such as `DeleteDataQualityJobDefinition`, or `*` for every SageMaker
    /// operation (STS's `GetCallerIdentity` and `AssumeRole`, Organizations' `ListAccounts`, and
    /// Security Hub's `GetFindings` and `BatchUpdateFindings` only match when named).
    pub operation: String,
    /// A glob (`*`, `?`) over the definition, schedule or notebook name the request carries (from
    /// `JobDefinitionName`, `MonitoringScheduleName`, `NotebookInstanceName` or the name in
    /// `ResourceArn`); `None` matches
    /// every call, including calls that carry no name.
    #[serde(default)]
    pub name: Option<String>,
    /// Only calls made with this account's credentials; `None` matches every account.
    #[serde(default)]
    pub account_id: Option<String>,
    /// Fire only on the nth matching call (1-based).
    #[serde(default)]
    pub nth: Option<u32>,
    /// Fire with this probability (0.0–1.0).
    #[serde(default)]
    pub probability: Option<f64>,
    /// Fire at most this many times.
    #[serde(default)]
    pub times: Option<u32>,
    #[serde(default)]
    pub error: Option<FaultError>,
    #[serde(default)]
    pub delay_ms: Option<u64>,
    #[serde(default)]
    pub drop_connection: bool,
    /// Perform the operation first, then drop the connection or answer the error: a lost response
    /// to a call that succeeded.
    #[serde(default)]
    pub after: bool,
}

/// The error an injected fault answers with.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "FaultErrorFile")]
pub struct FaultError {
    pub code: String,
    pub status: u16,
    pub message: String,
}

impl FaultError {
    /// An error with the status AWS uses for `code`: 500 for `InternalFailure` and
    /// `InternalException`, 503 for `ServiceUnavailable`, 401 for `InvalidAccessException`, 429
    /// for `LimitExceededException` (Security Hub's), 400 otherwise.
    pub fn new(code: &str) -> FaultError {
        FaultError {
            code: code.to_owned(),
            status: default_status_for(code),
            message: default_message_for(code),
        }
    }
}

/// The file form of `FaultError`, where `status` and `message` may be left out.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultErrorFile {
    code: String,
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    message: Option<String>,
}

impl From<FaultErrorFile> for FaultError {
    fn from(file: FaultErrorFile) -> Self {
        FaultError {
            status: file
                .status
                .unwrap_or_else(|| default_status_for(&file.code)),
            message: file
                .message
                .unwrap_or_else(|| default_message_for(&file.code)),
            code: file.code,
        }
    }
}

fn default_status_for(code: &str) -> u16 {
    match code {
        "InternalFailure" | "InternalServerError" | "InternalException" => 500,
        // Security Hub's errors carry their own statuses (rest-json).
        "InvalidAccessException" => 401,
        "LimitExceededException" => 429,
        "ServiceUnavailable" => 503,
        _ => 400,
    }
}

fn default_message_for(code: &str) -> String {
    format!("{code} injected by a sandbox fault rule")
}

fn default_account_id() -> String {
    DEFAULT_ACCOUNT_ID.to_owned()
}

fn default_roles() -> Vec<SeedRole> {
    vec![SeedRole {
        name: "OrganizationAccountAccessRole".to_owned(),
        external_id: None,
    }]
}

fn default_credential_lifetime() -> Duration {
    Duration::from_secs(3600)
}

fn default_region() -> String {
    DEFAULT_REGION.to_owned()
}

fn default_schedule_transition() -> Duration {
    Duration::from_millis(50)
}

/// Long enough that a poll sees each passing status, short enough for tests and the sandbox demo
/// (a real notebook takes minutes).
fn default_notebook_transition() -> Duration {
    Duration::from_millis(200)
}

/// Long enough that a scan right after `--sandbox` starts still sees a seeded execution running.
fn default_execution_duration() -> Duration {
    Duration::from_secs(30)
}

/// Tells an explicit `null` (`Some(None)`) from an absent field (`None`, via `default`).
fn explicit_null<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

fn millis<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    u64::deserialize(deserializer).map(Duration::from_millis)
}

fn parse_json_file<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, EmulatorError> {
    let text = std::fs::read_to_string(path).map_err(|source| EmulatorError::ReadFile {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| EmulatorError::ParseFile {
        path: PathBuf::from(path),
        line: source.line(),
        column: source.column(),
        message: source.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_security_hub_administrator_defaults_to_an_organizations_management_account() {
        let seed = |json: &str| serde_json::from_str::<Seed>(json).expect("parses");
        let organization = r#""account_id": "111111111111", "accounts": [{"account_id": "222222222222", "name": "m", "email": "m@example.com"}]"#;
        let absent = seed(&format!("{{{organization}}}"));
        assert_eq!(
            absent.security_hub.administrator(&absent).as_deref(),
            Some("111111111111")
        );
        let none = seed(&format!(
            r#"{{{organization}, "security_hub": {{"administrator_account_id": null}}}}"#
        ));
        assert_eq!(none.security_hub.administrator(&none), None);
        let alone = seed("{}");
        assert_eq!(alone.security_hub.administrator(&alone), None);
        let member = seed(&format!(
            r#"{{{organization}, "security_hub": {{"administrator_account_id": "222222222222"}}}}"#
        ));
        assert_eq!(
            member.security_hub.administrator(&member).as_deref(),
            Some("222222222222")
        );
    }

    #[test]
    fn a_placed_finding_must_name_a_control_that_judges_its_kind() {
        let seed = |finding: &str| {
            serde_json::from_str::<Seed>(&format!(
                r#"{{"security_hub": {{"findings": [{finding}]}}}}"#
            ))
            .expect("parses")
        };
        let valid = seed(r#"{"kind": "model-bias", "name": "b", "control": "SageMaker.15"}"#);
        assert!(valid.validate().is_ok());
        let schedule =
            seed(r#"{"kind": "monitoring-schedule", "name": "s", "control": "SageMaker.22"}"#);
        assert!(schedule.validate().is_ok());
        for wrong in [
            r#"{"kind": "data-quality", "name": "d", "control": "SageMaker.15"}"#,
            r#"{"kind": "data-quality", "name": "d", "control": "SageMaker.3"}"#,
            r#"{"kind": "data-quality", "name": "d", "control": "SageMaker.9", "account_id": "999999999999"}"#,
        ] {
            let error = seed(wrong).validate().expect_err(wrong);
            assert!(
                error.to_string().contains("security_hub.findings[0]"),
                "{error}"
            );
        }
        assert!(
            serde_json::from_str::<Seed>(
                r#"{"security_hub": {"findings": [{"kind": "endpoint", "name": "e", "control": "SageMaker.9"}]}}"#
            )
            .is_err()
        );
    }

    #[test]
    fn behaviour_file_fields_have_defaults_and_millisecond_durations() {
        let behaviour: Behaviour = serde_json::from_str(
            r#"{"latency_ms": 20, "faults": [{"operation": "*", "error": {"code": "InternalFailure"}}]}"#,
        )
        .expect("parses");
        assert_eq!(behaviour.latency, Duration::from_millis(20));
        assert_eq!(behaviour.schedule_transition, Duration::from_millis(50));
        let error = behaviour.faults[0].error.as_ref().expect("error");
        assert_eq!(error.status, 500);
        assert_eq!(FaultError::new("ThrottlingException").status, 400);
        assert!(behaviour.validate().is_ok());
    }

    #[test]
    fn inline_network_config_updates_are_allowed_unless_the_file_says_refused() {
        let behaviour: Behaviour = serde_json::from_str("{}").expect("parses");
        assert_eq!(
            behaviour.inline_network_config_updates,
            InlineNetworkConfigUpdates::Allowed
        );
        let behaviour: Behaviour =
            serde_json::from_str(r#"{"inline_network_config_updates": "refused"}"#)
                .expect("parses");
        assert_eq!(
            behaviour.inline_network_config_updates,
            InlineNetworkConfigUpdates::Refused
        );
        assert!(
            serde_json::from_str::<Behaviour>(r#"{"inline_network_config_updates": "sometimes"}"#)
                .is_err()
        );
    }

    #[test]
    fn ambiguous_fault_rules_are_rejected() {
        let rule = |json: &str| Behaviour {
            faults: vec![serde_json::from_str(json).expect("parses")],
            ..Behaviour::default()
        };
        assert!(rule(r#"{"operation": "*"}"#).validate().is_err());
        assert!(
            rule(r#"{"operation": "*", "drop_connection": true, "error": {"code": "X"}}"#)
                .validate()
                .is_err()
        );
        assert!(
            rule(r#"{"operation": "*", "delay_ms": 5, "after": true}"#)
                .validate()
                .is_err()
        );
        assert!(
            rule(r#"{"operation": "*", "drop_connection": true, "nth": 0}"#)
                .validate()
                .is_err()
        );
        assert!(
            rule(r#"{"operation": "*", "drop_connection": true, "probability": 1.5}"#)
                .validate()
                .is_err()
        );
    }

    #[test]
    fn unknown_fields_and_bad_files_name_the_file_and_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("faults.json");
        std::fs::write(&path, "{\n  \"latency\": 5\n}").expect("write");
        let error = Behaviour::from_path(&path).expect_err("unknown field");
        let text = error.to_string();
        assert!(text.contains("faults.json"), "{text}");
        assert!(text.contains("line 2"), "{text}");
        assert!(text.contains("latency"), "{text}");
    }
}
