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

/// Everything `start` needs.
#[derive(Debug, Clone, Default)]
pub struct EmulatorConfig {
    /// The state the emulator starts with.
    pub seed: Seed,
    /// Latency, throttling, faults and state-transition timings.
    pub behaviour: Behaviour,
}

/// The initial state of the emulated account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    #[serde(default = "default_account_id")]
    pub account_id: String,
    #[serde(default)]
    pub definitions: Vec<SeedDefinition>,
    #[serde(default)]
    pub schedules: Vec<SeedSchedule>,
}

impl Default for Seed {
    fn default() -> Self {
        Seed {
            account_id: default_account_id(),
            definitions: Vec::new(),
            schedules: Vec::new(),
        }
    }
}

/// A job definition to create before the emulator serves its first request.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedDefinition {
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
    #[serde(default)]
    pub throttle: Option<Throttle>,
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
            faults: Vec::new(),
            schedule_transition: default_schedule_transition(),
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
        if let Some(throttle) = &self.throttle
            && (throttle.rate_per_second.is_nan()
                || throttle.rate_per_second <= 0.0
                || throttle.burst == 0)
        {
            return Err("throttle: rate_per_second and burst must both be positive".to_owned());
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

/// One injected fault. A rule matches a call by operation and name; it fires on a matching call
/// when `nth`, `times` and `probability` allow; a firing rule sleeps `delay_ms`, then drops the
/// connection or answers `error`. A rule with only `delay_ms` slows calls down and lets later rules
/// decide the outcome. The first firing rule with an error or a drop decides the outcome. If it
/// sets both (possible only when built in code), the drop wins.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// An operation name such as `DeleteDataQualityJobDefinition`, or `*` for every SageMaker
    /// operation (STS's `GetCallerIdentity` only matches when named).
    pub operation: String,
    /// A glob (`*`, `?`) over the definition or schedule name the request carries (from
    /// `JobDefinitionName`, `MonitoringScheduleName` or the name in `ResourceArn`); `None` matches
    /// every call, including calls that carry no name.
    #[serde(default)]
    pub name: Option<String>,
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
    /// An error with the status AWS uses for `code`: 500 for `InternalFailure`, 503 for
    /// `ServiceUnavailable`, 400 otherwise.
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
        "InternalFailure" | "InternalServerError" => 500,
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

fn default_region() -> String {
    DEFAULT_REGION.to_owned()
}

fn default_schedule_transition() -> Duration {
    Duration::from_millis(50)
}

/// Long enough that a scan right after `--sandbox` starts still sees a seeded execution running.
fn default_execution_duration() -> Duration {
    Duration::from_secs(30)
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
