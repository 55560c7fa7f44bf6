//! The randomized fault model (issue 7, extended for issue 9): one case = one seed. A fresh
//! in-process emulator is seeded with a few definitions (some referenced by schedules, some with
//! 63-character or mixed-case names, some with 50 tags) whose `NetworkConfig` flags vary over
//! both members (encryption and isolation each true, false or absent; `NetworkConfig` itself
//! sometimes absent), and sometimes schedules with an inline `MonitoringJobDefinition` (random
//! flags, `Scheduled` or `Stopped`, sometimes with an execution in progress). The run picks its
//! fixes (`--fix encryption`, `--fix isolation`, both, or the default) and passes them on the
//! command line (to `plan`, or to `apply` when it plans itself). Then:
//!
//! 1. `apply --yes` (from a plan file made without faults, or planning itself) runs under a random
//!    fault plan over every operation (with rules aimed at `UpdateMonitoringSchedule` of inline
//!    schedules: errors, lost answers after the update acted, delays; sometimes
//!    `failing_schedule_updates`, occasionally `inline_network_config_updates: Refused`), while
//!    "someone else" changes things (adds a tag, replaces a definition, deletes or repoints a
//!    schedule; changes an inline schedule's `Environment` or a flag, stops, starts or deletes
//!    it, often timed by the tool's own calls on that schedule), and is killed at a random
//!    point: in-process (the `commands::run` future dropped with its runtime) or, for a share of
//!    cases, SIGKILL of the real binary;
//! 2. `resume` rounds under new fault plans (sometimes killed as well);
//! 3. `resume` rounds without faults until exit 0, following any printed manual action verbatim;
//!    then one more `resume` that must send no mutating call.
//!
//! After every round the live emulator and the journal are checked (I1 always somewhere, I4
//! outcomes true of the live state, for definitions and inline schedules, in the journal and in
//! the printed report, I5 schedules; every update of an inline schedule arrived with its
//! snapshot already on disk), and at the end every definition must be fixed exactly (every
//! member but the selected flags, tags included), untouched, or changed only by someone else,
//! with no temporary copy left (I6); a definition or inline schedule the selected flags already
//! hold is never touched; every inline schedule still exists unless someone deleted it (the tool
//! never deletes, creates, stops or starts one), keeps its status, and holds exactly the original
//! configuration, the original with the selected flags set, or the last configuration someone
//! else set (never a mix), with a last outcome true of it. The one loss SageMaker makes
//! unavoidable, a change by someone else that lands between the tool's last look at the
//! original and its delete (or between its last look at a schedule and its update), is counted
//! separately, judged from the emulator's call log and the recorded actions.
//!
//! A share of cases (`ORGANIZATION_SHARE`, decided by the seed's own organization stream, so a
//! case that is one account draws exactly what it drew before) runs as an organization: the
//! management account `ACCOUNT` and one or two members reached through `ROLE`, most of whose
//! definition, schedule and inline-schedule names are the management account's again (the
//! dangerous case), each with content of its own (every role ARN carries its account). The
//! tool runs with `--org` or `--account ID`... (sometimes leaving accounts out, which must then
//! get no mutating call), and every command (plan, apply, resume) gets the same options; half
//! of the fault rules aim at one account's calls (`FaultRule.account_id`); someone else acts
//! in whichever account their target lives in, through that account's role. Every check above
//! is made per account: items are (account, name), calls are attributed by
//! `RecordedCall.account_id`, snapshots by their file name's account and `account_id`. Besides,
//! after every round: no journaled item and no mutating call of the tool in account X names
//! something only another account has; each snapshot's file name, `account_id`, ARNs and
//! content agree on one account; a printed hint selects only accounts the run's options did.
//!
//! Used by `tests/randomized.rs` (`mod support;`) and `examples/soak.rs`
//! (`#[path = "../tests/support/model.rs"] mod model;`), so it depends only on the library, std,
//! tokio, serde_json, the AWS SDK crates the library itself uses, and `sm-testkit` (not on the
//! rest of `tests/support`, which an example cannot build).

#![allow(dead_code)]

use serde_json::{Value, json};
use sm_emulator::{
    Behaviour, Emulator, EmulatorConfig, FaultError, FaultRule, InlineNetworkConfigUpdates,
    MUTATING_OPERATIONS, RecordedCall, Seed, SeedDefinition, SeedSchedule, SeedScheduleStatus,
};
use sm_recreate::cli::Cli;
use sm_recreate::kinds::{Fix, Kind};
use sm_recreate::request::temporary_name;
use sm_recreate::sagemaker::{AwsOptions, SageMaker, load_sdk_config};
pub use sm_testkit::REGION;
use sm_testkit::{ACCOUNT, maximal_request, shell_words};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// A content a definition has had: describe JSON, tags, and the replacing action (none: the
/// original).
type Version = (Value, BTreeSet<(String, String)>, Option<usize>);
/// An `item-finished` journal line: the definition's kind (`None`: a monitoring schedule), the
/// account, the name, the outcome, the item's latest snapshot in that run, and the call-log lengths between
/// which the line was written.
type Finished = (
    Option<Kind>,
    String,
    String,
    String,
    Option<Value>,
    Option<(usize, usize)>,
);
/// A tag someone added: the action, the tag, whether it landed.
type TagAdd = (usize, (String, String), Landed);

/// Longest a round may take before it counts as hung.
const ROUND_LIMIT: Duration = Duration::from_secs(90);
/// Resume rounds without faults before the case counts as not converging.
const CLEAN_ROUNDS: usize = 6;

// -------------------------------------------------------------------------------------------
// a seeded PRNG (splitmix64): no dev-only crates, identical sequences everywhere
// -------------------------------------------------------------------------------------------

pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x005E_ED0F_FA17_u64)
    }

    /// A second stream for the same seed: the organization's draws come from it, so a case that
    /// is one account draws exactly what it drew before organizations were modelled.
    pub fn organization(seed: u64) -> Rng {
        let mut rng = Rng(seed ^ 0x0A11_ACC0_0047_u64);
        rng.next_u64();
        rng
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

// -------------------------------------------------------------------------------------------
// options and the report of one case
// -------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct Options {
    /// The real `sm-recreate` binary: SIGKILL cases, and the rounds whose output is read.
    pub binary: PathBuf,
    /// Words before the tool's own arguments (the soak runs itself as the tool: no separate
    /// build of the binary needed).
    pub binary_args: Vec<String>,
    /// One case in this many kills the real binary instead of dropping the future in-process.
    pub sigkill_one_in: u64,
    /// Print the case's event log as it goes.
    pub verbose: bool,
    /// Keep the case's scratch directory (state dir, outputs) even when it passes.
    pub keep: bool,
}

#[derive(Debug, Default, Clone)]
pub struct CaseReport {
    pub seed: u64,
    pub definitions: usize,
    /// The accounts the case's emulator serves (1: not an organization).
    pub accounts: usize,
    pub rounds: usize,
    /// Calls answered with a fault-class outcome while a fault plan was set (an approximation:
    /// the call log does not say which rule answered).
    pub faults_injected: usize,
    pub kills: usize,
    pub sigkills: usize,
    pub someone_actions: usize,
    /// Someone-else changes lost in the window SageMaker offers no conditional call for.
    pub race_windows: usize,
    pub violations: Vec<String>,
    pub log: Vec<String>,
    pub elapsed: Duration,
    pub scratch: Option<PathBuf>,
}

impl CaseReport {
    fn note(&mut self, verbose: bool, line: String) {
        if verbose {
            eprintln!("[seed {}] {line}", self.seed);
        }
        self.log.push(line);
    }
}

/// The environment every in-process run and every child process uses: dummy credentials, empty
/// AWS files, no IMDS, `AWS_MAX_ATTEMPTS=2`. Call once, before any thread or runtime starts.
///
/// # Safety
/// Sets process environment variables: no other thread may read or write the environment
/// concurrently.
pub unsafe fn prepare_process_env(scratch: &Path) {
    std::fs::create_dir_all(scratch).expect("create the scratch root");
    let config = scratch.join("aws-config");
    let credentials = scratch.join("aws-credentials");
    std::fs::write(&config, "").expect("write empty AWS config");
    std::fs::write(&credentials, "").expect("write empty AWS credentials");
    let inherited: Vec<_> = std::env::vars_os()
        .map(|(k, _)| k)
        .filter(|k| k.to_string_lossy().starts_with("AWS_"))
        .collect();
    // SAFETY: the caller guarantees no concurrent access to the environment.
    unsafe {
        for key in inherited {
            std::env::remove_var(key);
        }
        std::env::remove_var("RUST_LOG");
        std::env::set_var("AWS_ACCESS_KEY_ID", "AKIDFAULTMODEL");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "fault-model-secret");
        std::env::set_var("AWS_REGION", REGION);
        std::env::set_var("AWS_CONFIG_FILE", &config);
        std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", &credentials);
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        std::env::set_var("AWS_MAX_ATTEMPTS", "2");
        std::env::set_var("NO_COLOR", "1");
    }
}

/// Whether this build of the tool knows `--patience` (the issue-7 executor does, 0.1 does not).
pub fn supports_patience() -> bool {
    <Cli as clap::Parser>::try_parse_from(["sm-recreate", "resume", "--patience", "2"]).is_ok()
}

// -------------------------------------------------------------------------------------------
// the world: definitions, schedules, bystanders
// -------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct Target {
    /// The account it lives in (the same name lives in several accounts of an organization).
    pub account: String,
    pub kind: Kind,
    pub name: String,
    /// The describe JSON as seeded.
    pub original: Value,
    pub tags: BTreeSet<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct Schedule {
    pub account: String,
    pub name: String,
    pub kind: Kind,
    /// Index into `World::targets`.
    pub target: usize,
}

/// A schedule with an inline `MonitoringJobDefinition` (SageMaker.14, .22), fixed in place with
/// `UpdateMonitoringSchedule`.
#[derive(Debug, Clone)]
pub struct Inline {
    pub account: String,
    pub name: String,
    /// The `MonitoringScheduleConfig` as seeded (read back from the emulator).
    pub original: Value,
    /// Seeded `Stopped` (else `Scheduled`).
    pub stopped: bool,
    /// Seeded with an execution `InProgress` (it completes after the emulator's
    /// `execution_duration`).
    pub running: bool,
}

#[derive(Debug, Clone)]
pub struct World {
    pub targets: Vec<Target>,
    /// Compliant definitions the tool must never touch (someone repoints schedules to them).
    pub bystanders: Vec<Target>,
    pub schedules: Vec<Schedule>,
    pub inline: Vec<Inline>,
    /// The flags the run makes true (`--fix`), deduplicated.
    pub fixes: Vec<Fix>,
    /// The `--fix` arguments as passed (none: the default, encryption).
    pub fix_args: Vec<String>,
    /// Every account the emulator serves, the management (the caller's) account first: just
    /// `ACCOUNT` for a case that is one account.
    pub accounts: Vec<String>,
    /// The accounts the run's options select (every account of a case that is one account).
    pub selected: Vec<String>,
    /// The account options every command gets (`--org`, or `--account ID`...; none for a case
    /// that is one account).
    pub account_args: Vec<String>,
}

/// The member accounts an organization case may have (the management account is `ACCOUNT`).
const MEMBERS: [&str; 2] = ["210987654321", "345678901234"];
/// The role the members trust the management account with (the tool's default `--role-name`).
const ROLE: &str = "OrganizationAccountAccessRole";

/// The share of cases that run as an organization.
const ORGANIZATION_SHARE: f64 = 0.4;

fn member_seed(account: &str, index: usize) -> sm_emulator::SeedAccount {
    sm_emulator::SeedAccount {
        account_id: account.to_owned(),
        name: format!("member-{index}"),
        email: format!("member-{index}@example.com"),
        state: sm_emulator::AccountState::Active,
        joined_method: sm_emulator::JoinedMethod::Created,
        roles: vec![sm_emulator::SeedRole {
            name: ROLE.to_owned(),
            external_id: None,
        }],
        disabled_regions: Vec::new(),
    }
}

/// Puts the account in a role ARN, so that content read in one account can never pass for the
/// same name's content in another.
fn own_role(holder: &mut Value, account: &str) {
    if let Some(role) = holder.get("RoleArn").and_then(Value::as_str) {
        holder["RoleArn"] = json!(role.replace(ACCOUNT, account));
    }
}

/// A `NetworkConfig` flag as seeded: true, false, or absent.
fn pick_flag(rng: &mut Rng) -> Option<bool> {
    match rng.below(20) {
        0..=4 => Some(true),
        5..=13 => Some(false),
        _ => None,
    }
}

/// Sets a member of `NetworkConfig` (`None`: removes it); with both flags absent, the
/// `NetworkConfig` is removed too unless `keep_network` (it then keeps its `VpcConfig`, if any).
fn set_network(
    holder: &mut Value,
    encryption: Option<bool>,
    isolation: Option<bool>,
    keep_network: bool,
) {
    let object = holder.as_object_mut().expect("object");
    if encryption.is_none() && isolation.is_none() && !keep_network {
        object.shift_remove("NetworkConfig");
        return;
    }
    let network = object
        .entry("NetworkConfig")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("NetworkConfig is an object");
    for (fix, value) in [(Fix::Encryption, encryption), (Fix::Isolation, isolation)] {
        match value {
            Some(value) => {
                network.insert(fix.member().to_owned(), json!(value));
            }
            None => {
                network.shift_remove(fix.member());
            }
        }
    }
}

fn request_for(
    kind: Kind,
    name: &str,
    (encryption, isolation, keep_network): (Option<bool>, Option<bool>, bool),
    tags: &[(String, String)],
) -> Value {
    let mut request = maximal_request(kind);
    request["JobDefinitionName"] = json!(name);
    set_network(&mut request, encryption, isolation, keep_network);
    let object = request.as_object_mut().expect("object");
    object.shift_remove("Tags");
    if !tags.is_empty() {
        object.insert(
            "Tags".into(),
            Value::Array(
                tags.iter()
                    .map(|(k, v)| json!({"Key": k, "Value": v}))
                    .collect(),
            ),
        );
    }
    request
}

fn definition_name(rng: &mut Rng, index: usize) -> (String, bool) {
    match rng.below(5) {
        0 => {
            // 63 characters, the maximum.
            let mut name = format!("long-{index}-monitor-");
            while name.len() < 62 {
                name.push(char::from(b'a' + (rng.below(26) as u8)));
            }
            name.push('9');
            (name, false)
        }
        1 => (format!("Churn-DQ-{index}"), true),
        2 => (format!("Fraud-Model-{index}-V2"), true),
        3 => (format!("pricing-{index}"), false),
        _ => (format!("churn-model-{index}"), false),
    }
}

/// The run's `--fix` arguments, and the flags they select.
fn pick_fixes(rng: &mut Rng) -> (Vec<String>, Vec<Fix>) {
    let args: Vec<&str> = match rng.below(10) {
        0 | 1 => vec![],
        2..=4 => vec!["encryption"],
        5 | 6 => vec!["isolation"],
        7 | 8 => vec!["encryption", "isolation"],
        _ => vec!["isolation", "encryption", "isolation"],
    };
    let mut fixes: Vec<Fix> = args
        .iter()
        .map(|a| Fix::from_cli_name(a).expect("a fix"))
        .collect();
    if fixes.is_empty() {
        fixes.push(Fix::Encryption);
    }
    fixes.sort_by_key(|f| f.cli_name());
    fixes.dedup();
    (args.into_iter().map(str::to_owned).collect(), fixes)
}

/// An inline data-quality (or model-quality) job with an `Environment` and the given flags.
fn inline_config(rng: &mut Rng, index: usize, flags: (Option<bool>, Option<bool>, bool)) -> Value {
    let monitoring_type = if rng.chance(0.7) {
        "DataQuality"
    } else {
        "ModelQuality"
    };
    let mut job = json!({
        "BaselineConfig": {"ConstraintsResource": {"S3Uri": format!("s3://bucket/baseline-{index}/constraints.json")}},
        "MonitoringInputs": [{"EndpointInput": {
            "EndpointName": format!("endpoint-{index}"),
            "LocalPath": "/opt/ml/processing/input",
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated"
        }}],
        "MonitoringOutputConfig": {"MonitoringOutputs": [{"S3Output": {
            "S3Uri": format!("s3://bucket/reports-{index}"),
            "LocalPath": "/opt/ml/processing/output",
            "S3UploadMode": "EndOfJob"
        }}]},
        "MonitoringResources": {"ClusterConfig": {
            "InstanceCount": rng.range(1, 3), "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20
        }},
        "MonitoringAppSpecification": {"ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/model-monitor:latest"},
        "Environment": {"MODE": "original", "secret": format!("s3cr3t-{}", rng.below(1000))},
        "StoppingCondition": {"MaxRuntimeInSeconds": 1800},
        "RoleArn": format!("arn:aws:iam::{ACCOUNT}:role/monitor")
    });
    if rng.chance(0.3) {
        job["NetworkConfig"] = json!({"VpcConfig": {
            "SecurityGroupIds": ["sg-0123456789abcdef0"],
            "Subnets": ["subnet-0123456789abcdef0"]
        }});
    }
    set_network(&mut job, flags.0, flags.1, flags.2);
    json!({
        "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
        "MonitoringJobDefinition": job,
        "MonitoringType": monitoring_type,
    })
}

impl World {
    /// The case's world. `org` decides (from its own stream) whether the case is an
    /// organization; a case that is one account draws from `rng` exactly as before.
    pub fn generate(rng: &mut Rng, org: &mut Rng) -> (World, Seed) {
        let (fix_args, fixes) = pick_fixes(rng);
        let mut world = World {
            targets: Vec::new(),
            bystanders: Vec::new(),
            schedules: Vec::new(),
            inline: Vec::new(),
            fixes,
            fix_args,
            accounts: vec![ACCOUNT.to_owned()],
            selected: vec![ACCOUNT.to_owned()],
            account_args: Vec::new(),
        };
        let mut seed = Seed {
            account_id: ACCOUNT.to_owned(),
            ..Seed::default()
        };
        world.add_account(rng, ACCOUNT, &mut seed, None);
        if org.chance(ORGANIZATION_SHARE) {
            let members = org.range(1, MEMBERS.len() as u64) as usize;
            // The management account's names again, most of them: the dangerous case, where
            // anything confused across accounts would act on the wrong definition.
            let template: Vec<(Kind, String)> = world
                .targets
                .iter()
                .map(|t| (t.kind, t.name.clone()))
                .collect();
            for (index, account) in MEMBERS[..members].iter().enumerate() {
                seed.accounts.push(member_seed(account, index));
                world.accounts.push((*account).to_owned());
                world.add_account(org, account, &mut seed, Some(&template));
            }
            if org.chance(0.5) {
                world.account_args = vec!["--org".to_owned()];
                world.selected = world.accounts.clone();
            } else {
                // Some accounts, maybe not the caller's own: the others must stay untouched.
                let mut selected: Vec<String> = world
                    .accounts
                    .iter()
                    .filter(|_| org.chance(0.7))
                    .cloned()
                    .collect();
                if selected.is_empty() {
                    selected.push(org.pick(&world.accounts).clone());
                }
                for account in &selected {
                    world
                        .account_args
                        .extend(["--account".to_owned(), account.clone()]);
                }
                if org.chance(0.3) {
                    world
                        .account_args
                        .extend(["--role-name".to_owned(), ROLE.to_owned()]);
                }
                world.selected = selected;
            }
        }
        (world, seed)
    }

    /// Adds one account's definitions, schedules, bystanders and inline schedules. With a
    /// template (a member account), most of its names come again, with content of their own.
    fn add_account(
        &mut self,
        rng: &mut Rng,
        account: &str,
        seed: &mut Seed,
        template: Option<&[(Kind, String)]>,
    ) {
        let member = template.is_some();
        let seed_account = member.then(|| account.to_owned());
        // A member's names: most of the template's, maybe one of its own.
        let mut given: Vec<(Kind, String, bool)> = Vec::new();
        if let Some(template) = template {
            for (kind, name) in template {
                if rng.chance(0.8) {
                    let mixed = name.chars().any(|c| c.is_ascii_uppercase());
                    given.push((*kind, name.clone(), mixed));
                }
            }
            if given.is_empty() || rng.chance(0.3) {
                let kind = *rng.pick(&Kind::ALL);
                let (name, mixed) = definition_name(rng, 10);
                if !given.iter().any(|(_, n, _)| n.eq_ignore_ascii_case(&name)) {
                    given.push((kind, name, mixed));
                }
            }
        }
        let count = if member {
            given.len()
        } else {
            rng.range(1, 5) as usize
        };
        let first = self.targets.len();
        let mut given = given.into_iter();
        for index in 0..count {
            // A one-account case draws each name in turn, as it always did.
            let (kind, name, mixed) = if member {
                given.next().expect("one per count")
            } else {
                let kind = *rng.pick(&Kind::ALL);
                let (name, mixed) = definition_name(rng, index);
                (kind, name, mixed)
            };
            let flags = (pick_flag(rng), pick_flag(rng), rng.chance(0.5));
            let tag_count = *rng.pick(&[0usize, 1, 2, 3, 5, 50]);
            let tags: Vec<(String, String)> = (0..tag_count)
                .map(|t| (format!("k{t}"), format!("v{t}-{}", rng.below(1000))))
                .collect();
            let mut request = request_for(kind, &name, flags, &tags);
            own_role(&mut request, account);
            seed.definitions.push(SeedDefinition {
                account_id: seed_account.clone(),
                kind,
                region: REGION.to_owned(),
                request,
            });
            let references = *rng.pick(&[0usize, 0, 1, 1, 2]);
            for s in 0..references {
                let schedule = format!("sched-{index}-{s}");
                // Mixed-case names are sometimes referenced in another case (AWS compares names
                // case-insensitively).
                let referenced = if mixed && rng.chance(0.5) {
                    name.to_ascii_lowercase()
                } else {
                    name.clone()
                };
                seed.schedules.push(SeedSchedule {
                    account_id: seed_account.clone(),
                    ..schedule_seed(&schedule, kind, &referenced)
                });
                self.schedules.push(Schedule {
                    account: account.to_owned(),
                    name: schedule,
                    kind,
                    target: first + index,
                });
            }
            self.targets.push(Target {
                account: account.to_owned(),
                kind,
                name,
                original: Value::Null,
                tags: tags.into_iter().collect(),
            });
        }
        let kinds: BTreeSet<Kind> = self.targets[first..].iter().map(|t| t.kind).collect();
        for kind in kinds {
            let name = format!("keep-{}", kind.cli_name());
            let tags = vec![("team".to_owned(), "other".to_owned())];
            let mut request = request_for(kind, &name, (Some(true), Some(true), true), &tags);
            own_role(&mut request, account);
            seed.definitions.push(SeedDefinition {
                account_id: seed_account.clone(),
                kind,
                region: REGION.to_owned(),
                request,
            });
            self.bystanders.push(Target {
                account: account.to_owned(),
                kind,
                name,
                original: Value::Null,
                tags: tags.into_iter().collect(),
            });
        }
        let inline_count = *rng.pick(&[0usize, 0, 1, 1, 2]);
        for index in 0..inline_count {
            let name = if rng.chance(0.3) {
                format!("Inline-Nightly-{index}")
            } else {
                format!("inline-{index}")
            };
            let flags = (pick_flag(rng), pick_flag(rng), rng.chance(0.5));
            let mut config = inline_config(rng, index, flags);
            own_role(&mut config["MonitoringJobDefinition"], account);
            let stopped = rng.chance(0.3);
            let running = rng.chance(0.25);
            seed.schedules.push(SeedSchedule {
                account_id: seed_account.clone(),
                region: REGION.to_owned(),
                request: json!({
                    "MonitoringScheduleName": name,
                    "MonitoringScheduleConfig": config,
                    "Tags": [{"Key": "team", "Value": "ml"}],
                }),
                status: Some(if stopped {
                    SeedScheduleStatus::Stopped
                } else {
                    SeedScheduleStatus::Scheduled
                }),
                last_monitoring_execution_summary: running
                    .then(|| json!({"MonitoringExecutionStatus": "InProgress"})),
            });
            self.inline.push(Inline {
                account: account.to_owned(),
                name,
                original: Value::Null,
                stopped,
                running,
            });
        }
    }

    /// Whether this case is an organization.
    pub fn is_organization(&self) -> bool {
        self.accounts.len() > 1
    }

    fn all_definitions(&self) -> impl Iterator<Item = &Target> {
        self.targets.iter().chain(&self.bystanders)
    }

    fn target_index(&self, account: &str, kind: Kind, name: &str) -> Option<usize> {
        self.targets.iter().position(|t| {
            t.account == account && t.kind == kind && t.name.eq_ignore_ascii_case(name)
        })
    }

    fn inline_index(&self, account: &str, name: &str) -> Option<usize> {
        self.inline
            .iter()
            .position(|s| s.account == account && s.name.eq_ignore_ascii_case(name))
    }

    /// Every name the tool may act on in `account`: its definitions, their temporary copies,
    /// its schedules (referencing and inline), lower-cased.
    fn names_in(&self, account: &str) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        for target in self.all_definitions().filter(|t| t.account == account) {
            names.insert(target.name.to_ascii_lowercase());
            names.insert(temporary_name(&target.name).to_ascii_lowercase());
        }
        for schedule in self.schedules.iter().filter(|s| s.account == account) {
            names.insert(schedule.name.to_ascii_lowercase());
        }
        for schedule in self.inline.iter().filter(|s| s.account == account) {
            names.insert(schedule.name.to_ascii_lowercase());
        }
        names
    }

    /// A definition's describe JSON (or an inline job) with the run's flags set true.
    fn flagged(&self, describe: &Value) -> Value {
        flagged(describe, &self.fixes)
    }

    /// An inline schedule's configuration with the run's flags set true.
    fn fixed_config(&self, config: &Value) -> Value {
        let mut config = config.clone();
        if let Some(job) = config.get_mut("MonitoringJobDefinition") {
            *job = flagged(job, &self.fixes);
        }
        config
    }

    /// Whether the run's flags are all true already (the tool must not touch it).
    fn compliant(&self, job: &Value) -> bool {
        self.fixes
            .iter()
            .all(|f| job["NetworkConfig"][f.member()].as_bool() == Some(true))
    }
}

fn schedule_seed(name: &str, kind: Kind, definition: &str) -> SeedSchedule {
    SeedSchedule {
        account_id: None,
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

// -------------------------------------------------------------------------------------------
// fault plans
// -------------------------------------------------------------------------------------------

const ERROR_CODES: [&str; 5] = [
    "InternalFailure",
    "ServiceUnavailable",
    "ThrottlingException",
    "ValidationException",
    "ResourceInUse",
];

fn operations(world: &World) -> Vec<String> {
    let kinds: BTreeSet<Kind> = world.targets.iter().map(|t| t.kind).collect();
    let mut ops: Vec<String> = Vec::new();
    for kind in kinds {
        let noun = kind.api_noun();
        ops.push(format!("Create{noun}"));
        ops.push(format!("Describe{noun}"));
        ops.push(format!("Delete{noun}"));
        ops.push(format!("List{noun}s"));
    }
    for op in [
        "ListTags",
        "DescribeMonitoringSchedule",
        "ListMonitoringSchedules",
        "UpdateMonitoringSchedule",
    ] {
        ops.push(op.to_owned());
    }
    ops
}

fn fault_plan(rng: &mut Rng, world: &World, rules: usize) -> Vec<FaultRule> {
    let ops = operations(world);
    let mut names: Vec<String> = Vec::new();
    for target in &world.targets {
        names.push(target.name.clone());
        names.push(temporary_name(&target.name));
        names.push(format!("{}*", &target.name[..target.name.len().min(8)]));
    }
    for schedule in &world.schedules {
        names.push(schedule.name.clone());
    }
    for schedule in &world.inline {
        names.push(schedule.name.clone());
    }
    names.push("*-smr*".to_owned());
    (0..rules)
        .map(|_| {
            let operation = if rng.chance(0.25) {
                "*".to_owned()
            } else {
                rng.pick(&ops).clone()
            };
            let name = if rng.chance(0.5) {
                None
            } else {
                Some(rng.pick(&names).clone())
            };
            let (nth, probability, times) = if rng.chance(0.5) {
                (Some(rng.range(1, 4) as u32), None, None)
            } else {
                let p = *rng.pick(&[0.05, 0.1, 0.2, 0.35]);
                let times = if rng.chance(0.5) {
                    Some(rng.range(1, 6) as u32)
                } else {
                    None
                };
                (None, Some(p), times)
            };
            let mutating = operation == "*"
                || MUTATING_OPERATIONS.contains(&operation.as_str())
                || operation.starts_with("Create")
                || operation.starts_with("Delete");
            let mut rule = FaultRule {
                operation,
                name,
                nth,
                probability,
                times,
                ..FaultRule::default()
            };
            match rng.below(20) {
                0..=10 => {
                    let code: &&str = rng.pick(&ERROR_CODES);
                    rule.error = Some(FaultError::new(code));
                    if rng.chance(0.2) {
                        rule.delay_ms = Some(rng.range(5, 100));
                    }
                }
                11..=14 => rule.drop_connection = true,
                _ => rule.delay_ms = Some(rng.range(5, 200)),
            }
            // A lost answer after the service acted: a dropped connection or a 5xx. A refusal
            // that acted anyway (`ThrottlingException`, which AWS answers before acting;
            // `ResourceInUse`, `ValidationException`) is not something the service does, and no
            // client could tell it from the truth.
            let lost_answer =
                rule.drop_connection || rule.error.as_ref().is_some_and(|e| e.status >= 500);
            if lost_answer && mutating && rng.chance(0.4) {
                rule.after = true;
            }
            rule
        })
        .collect()
}

/// What a faulty round sets beside its fault rules.
#[derive(Debug, Clone, Default)]
pub struct RoundFaults {
    pub rules: Vec<FaultRule>,
    /// `Behaviour.failing_schedule_updates`: each entry makes the next update of a matching
    /// schedule settle to `Failed`.
    pub failing: Vec<String>,
    /// `Behaviour.inline_network_config_updates: Refused`.
    pub refused: bool,
}

/// A rule aimed at the tool's in-place update of an inline schedule: an error, a lost answer
/// (`after`: the update acted), or a delay.
fn inline_update_rule(rng: &mut Rng, world: &World) -> FaultRule {
    let name = rng.pick(&world.inline).name.clone();
    let (nth, probability, times) = if rng.chance(0.6) {
        (Some(rng.range(1, 3) as u32), None, None)
    } else {
        (
            None,
            Some(*rng.pick(&[0.3, 0.5])),
            Some(rng.range(1, 3) as u32),
        )
    };
    let mut rule = FaultRule {
        operation: "UpdateMonitoringSchedule".to_owned(),
        name: Some(name),
        nth,
        probability,
        times,
        ..FaultRule::default()
    };
    match rng.below(10) {
        0..=3 => {
            let code = *rng.pick(&["InternalFailure", "ServiceUnavailable"]);
            rule.error = Some(FaultError::new(code));
            rule.after = rng.chance(0.5);
        }
        4 | 5 => {
            rule.drop_connection = true;
            rule.after = rng.chance(0.5);
        }
        6 => rule.error = Some(FaultError::new("ThrottlingException")),
        7 => rule.error = Some(FaultError::new("ValidationException")),
        _ => rule.delay_ms = Some(rng.range(50, 400)),
    }
    if rule.after && rng.chance(0.3) {
        rule.delay_ms = Some(rng.range(20, 200));
    }
    rule
}

fn round_faults(rng: &mut Rng, world: &World, rules: usize) -> RoundFaults {
    let mut faults = RoundFaults {
        rules: fault_plan(rng, world, rules),
        ..RoundFaults::default()
    };
    if !world.inline.is_empty() {
        if rng.chance(0.6) {
            faults.rules.push(inline_update_rule(rng, world));
        }
        if rng.chance(0.25) {
            for _ in 0..rng.range(1, 2) {
                faults.failing.push(rng.pick(&world.inline).name.clone());
            }
        }
        faults.refused = rng.chance(0.12);
    }
    if !world.schedules.is_empty() && rng.chance(0.05) {
        faults.failing.push(rng.pick(&world.schedules).name.clone());
    }
    faults
}

/// When someone's change took effect: its first call the service performed (`ok`), else when
/// it began (a change made directly in the emulator has no call). A look by the tool before this
/// could not have seen it.
fn landed_at(action: &Action, calls: &[RecordedCall]) -> usize {
    action
        .own_calls
        .iter()
        .copied()
        .filter(|&i| {
            calls[i].outcome == "ok" && MUTATING_OPERATIONS.contains(&calls[i].operation.as_str())
        })
        .min()
        .unwrap_or(action.start_index)
}

fn describe_rule(rule: &FaultRule) -> String {
    let effect = match (&rule.error, rule.drop_connection, rule.delay_ms) {
        (Some(error), _, _) => error.code.clone(),
        (None, true, _) => "drop".to_owned(),
        (None, false, Some(ms)) => format!("delay {ms}ms"),
        _ => "nothing".to_owned(),
    };
    let trigger = match (rule.nth, rule.probability) {
        (Some(n), _) => format!("nth {n}"),
        (None, Some(p)) => format!(
            "p {p}{}",
            rule.times.map(|t| format!(" x{t}")).unwrap_or_default()
        ),
        _ => "always".to_owned(),
    };
    format!(
        "{} {} {}{}{}{}",
        rule.operation,
        rule.name.as_deref().unwrap_or("(any)"),
        trigger,
        if rule.after { " after " } else { " " },
        effect,
        rule.account_id
            .as_deref()
            .map(|a| format!(" (account {a})"))
            .unwrap_or_default()
    )
}

fn clean_behaviour(settle: Duration) -> Behaviour {
    Behaviour {
        schedule_transition: settle,
        ..Behaviour::default()
    }
}

/// `fault_seed` makes the emulator's `probability` draws replay with the case's seed.
fn faulty_behaviour(settle: Duration, faults: RoundFaults, fault_seed: u64) -> Behaviour {
    Behaviour {
        faults: faults.rules,
        fault_seed: Some(fault_seed),
        failing_schedule_updates: faults.failing,
        inline_network_config_updates: if faults.refused {
            InlineNetworkConfigUpdates::Refused
        } else {
            InlineNetworkConfigUpdates::Allowed
        },
        ..clean_behaviour(settle)
    }
}

const FAULT_OUTCOMES: [&str; 6] = [
    "dropped",
    "InternalFailure",
    "ServiceUnavailable",
    "ThrottlingException",
    "ValidationException",
    "ResourceInUse",
];

// -------------------------------------------------------------------------------------------
// someone else
// -------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    AddTag(usize),
    Replace(usize),
    DeleteSchedule(usize),
    Repoint(usize),
    /// Changes an inline schedule's configuration (an `Environment` value or a flag).
    InlineUpdate(usize),
    InlineStop(usize),
    InlineStart(usize),
    InlineDelete(usize),
}

impl ActionKind {
    /// The inline schedule a change of configuration (or a delete) is about.
    fn inline_config_change(self) -> Option<usize> {
        match self {
            ActionKind::InlineUpdate(i) | ActionKind::InlineDelete(i) => Some(i),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Landed {
    Yes,
    No,
    Unknown,
}

#[derive(Debug, Clone)]
pub struct Action {
    pub kind: ActionKind,
    /// The round it belongs to and the call count (from the round's start) that triggers it.
    pub round: usize,
    pub at_calls: usize,
    pub performed: bool,
    pub landed: Landed,
    /// The call-log length when the action began: any effect lands after this index.
    pub start_index: usize,
    /// Call-log indexes of the tool's calls in flight when it began.
    pub in_flight: Vec<usize>,
    /// Call-log indexes of the someone-else client's own requests.
    pub own_calls: Vec<usize>,
    /// AddTag: the tag. Replace: the tags it set.
    pub tags: Vec<(String, String)>,
    /// Replace: the describe JSON it stored.
    pub describe: Option<Value>,
    /// Repoint: the definition the schedule was pointed at.
    pub repointed_to: Option<String>,
    /// InlineUpdate: the configuration it sent.
    pub config: Option<Value>,
    /// Drawn with the action: which change an InlineUpdate makes.
    pub choice: u64,
    /// For an action on an inline schedule: performed once the round has seen this many calls
    /// naming the schedule in its account (instead of `at_calls`).
    pub on_schedule: Option<(String, String, usize)>,
    pub detail: String,
}

fn plan_actions(rng: &mut Rng, world: &World) -> Vec<Action> {
    let count = if world.inline.is_empty() {
        *rng.pick(&[0usize, 0, 1, 1, 2, 3])
    } else {
        *rng.pick(&[0usize, 1, 1, 2, 2, 3])
    };
    (0..count)
        .map(|_| {
            let inline_action = !world.inline.is_empty() && rng.chance(0.5);
            let schedule_action = !world.schedules.is_empty() && rng.chance(0.4);
            let kind = if inline_action {
                let i = rng.below(world.inline.len() as u64) as usize;
                match rng.below(10) {
                    0..=5 => ActionKind::InlineUpdate(i),
                    6 | 7 => ActionKind::InlineStop(i),
                    8 => ActionKind::InlineStart(i),
                    _ => ActionKind::InlineDelete(i),
                }
            } else if schedule_action {
                let s = rng.below(world.schedules.len() as u64) as usize;
                if rng.chance(0.5) {
                    ActionKind::DeleteSchedule(s)
                } else {
                    ActionKind::Repoint(s)
                }
            } else {
                let t = rng.below(world.targets.len() as u64) as usize;
                if rng.chance(0.5) {
                    ActionKind::AddTag(t)
                } else {
                    ActionKind::Replace(t)
                }
            };
            Action {
                kind,
                round: if rng.chance(0.8) { 0 } else { 1 },
                at_calls: rng.range(0, 45) as usize,
                performed: false,
                landed: Landed::No,
                start_index: 0,
                in_flight: Vec::new(),
                own_calls: Vec::new(),
                tags: Vec::new(),
                describe: None,
                repointed_to: None,
                config: None,
                choice: rng.next_u64(),
                on_schedule: match kind {
                    ActionKind::InlineUpdate(i)
                    | ActionKind::InlineStop(i)
                    | ActionKind::InlineStart(i)
                    | ActionKind::InlineDelete(i)
                        if rng.chance(0.7) =>
                    {
                        Some((
                            world.inline[i].account.clone(),
                            world.inline[i].name.clone(),
                            rng.range(1, 8) as usize,
                        ))
                    }
                    _ => None,
                },
                detail: String::new(),
            }
        })
        .collect()
}

struct Clients {
    typed: aws_sdk_sagemaker::Client,
    adapter: SageMaker,
}

/// Someone else's (and the harness's) clients, one per account: the caller's own with its
/// credentials, each member's through the role, as a person with the same access would act.
type AccountClients = BTreeMap<String, Clients>;

async fn someone_clients(endpoint: &str, accounts: &[String]) -> AccountClients {
    let base = load_sdk_config(&AwsOptions {
        endpoint_url: Some(endpoint.to_owned()),
        region: Some(REGION.to_owned()),
        dummy_credentials: true,
        ..AwsOptions::default()
    })
    .await;
    let caller = sm_recreate::accounts::Caller {
        account_id: ACCOUNT.to_owned(),
        partition: "aws".to_owned(),
    };
    let role = sm_recreate::accounts::RoleSettings {
        role_name: ROLE.to_owned(),
        external_id: None,
        session_name: "someone-else".to_owned(),
    };
    let reach = sm_recreate::accounts::reach_ids(&base, &caller, accounts, &role, 4).await;
    assert!(
        reach.unreachable.is_empty(),
        "someone else reaches every account: {:?}",
        reach.unreachable
    );
    reach
        .accounts
        .into_iter()
        .map(|account| {
            let clients = Clients {
                typed: aws_sdk_sagemaker::Client::new(&account.config),
                adapter: SageMaker::new(&account.config, &account.id, REGION),
            };
            (account.id, clients)
        })
        .collect()
}

fn calls_len(emulator: &Emulator) -> usize {
    emulator.calls().len()
}

/// Whether `call` was made in `account` and names `name` (case-insensitively, as the service
/// compares names): the same name in another account is another resource.
fn is_about(call: &RecordedCall, account: &str, name: &str) -> bool {
    call.account_id == account
        && call
            .name
            .as_deref()
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
}

/// Indexes in `from..` of calls of `operation` in `account` naming `name`.
fn matching_calls(
    emulator: &Emulator,
    from: usize,
    operation: &str,
    account: &str,
    name: &str,
) -> Vec<usize> {
    emulator
        .calls()
        .iter()
        .enumerate()
        .skip(from)
        .filter(|(_, c)| c.operation == operation && is_about(c, account, name))
        .map(|(i, _)| i)
        .collect()
}

/// Indexes in `from..` of calls of `operation` in `account` naming exactly `name` (in this
/// letter case).
fn own_calls_exact(
    emulator: &Emulator,
    from: usize,
    operation: &str,
    account: &str,
    name: &str,
) -> Vec<usize> {
    emulator
        .calls()
        .iter()
        .enumerate()
        .skip(from)
        .filter(|(_, c)| {
            c.operation == operation && c.account_id == account && c.name.as_deref() == Some(name)
        })
        .map(|(i, _)| i)
        .collect()
}

/// The name someone else uses for an inline schedule on the wire: the same name in capitals
/// (AWS compares names ignoring case), so their calls cannot be taken for the tool's when both
/// are in flight at once.
fn someones_spelling(name: &str) -> String {
    name.to_ascii_uppercase()
}

fn schedule_target(emulator: &Emulator, account: &str, schedule: &str) -> Option<String> {
    emulator
        .account(account)
        .schedule(REGION, schedule)
        .map(|s| {
            s["MonitoringScheduleConfig"]["MonitoringJobDefinitionName"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
}

/// Performs one action, retrying through whatever faults are set, and records what happened.
async fn perform(
    emulator: &Emulator,
    clients: &AccountClients,
    world: &World,
    action: &mut Action,
    number: usize,
    seed: u64,
    settle: Duration,
) {
    let calls = emulator.calls();
    action.start_index = calls.len();
    action.in_flight = calls
        .iter()
        .enumerate()
        .filter(|(_, c)| c.outcome == "in-flight")
        .map(|(i, _)| i)
        .collect();
    action.performed = true;
    match action.kind {
        ActionKind::AddTag(t) => {
            let target = &world.targets[t];
            let clients = &clients[&target.account];
            let Some(live) =
                emulator
                    .account(&target.account)
                    .definition(REGION, target.kind, &target.name)
            else {
                action.performed = false;
                action.detail = format!("add a tag to {}: it does not exist now", target.name);
                return;
            };
            let arn = live["JobDefinitionArn"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let tag = (format!("legal-hold-{number}"), format!("case-{seed}"));
            action.tags = vec![tag.clone()];
            action.landed = Landed::No;
            let mut any_error = false;
            for _ in 0..6 {
                let before = calls_len(emulator);
                let sdk_tag = aws_sdk_sagemaker::types::Tag::builder()
                    .key(&tag.0)
                    .value(&tag.1)
                    .build();
                let result = clients
                    .typed
                    .add_tags()
                    .resource_arn(&arn)
                    .tags(sdk_tag)
                    .send()
                    .await;
                let mine =
                    matching_calls(emulator, before, "AddTags", &target.account, &target.name);
                action.own_calls.extend(&mine);
                match result {
                    Ok(_) => {
                        action.landed = Landed::Yes;
                        break;
                    }
                    Err(error) => {
                        let text = format!("{error:?}");
                        if text.contains("ResourceNotFound") {
                            break;
                        }
                        any_error = true;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
            if action.landed == Landed::No && any_error {
                let calls = emulator.calls();
                let performed = action.own_calls.iter().any(|&i| calls[i].outcome == "ok");
                action.landed = if performed {
                    Landed::Yes
                } else {
                    Landed::Unknown
                };
            }
            action.detail = format!(
                "add tag {}={} to {} in {}: {:?}",
                tag.0, tag.1, target.name, target.account, action.landed
            );
        }
        ActionKind::Replace(t) => {
            let target = &world.targets[t];
            let view = emulator.account(&target.account);
            let Some(live) = view.definition(REGION, target.kind, &target.name) else {
                action.performed = false;
                action.detail = format!("replace {}: it does not exist now", target.name);
                return;
            };
            let referenced = world
                .schedules
                .iter()
                .filter(|s| s.account == target.account)
                .any(|s| {
                    schedule_target(emulator, &s.account, &s.name)
                        .is_some_and(|d| d.eq_ignore_ascii_case(&target.name))
                });
            if referenced {
                action.performed = false;
                action.detail = format!("replace {}: a schedule references it now", target.name);
                return;
            }
            let mut describe = live.clone();
            let object = describe.as_object_mut().expect("object");
            object.shift_remove("CreationTime");
            object.insert(
                "RoleArn".into(),
                json!(format!(
                    "arn:aws:iam::{}:role/someone-else-{number}",
                    target.account
                )),
            );
            let tags = vec![
                ("owner".to_owned(), "someone-else".to_owned()),
                ("version".to_owned(), number.to_string()),
            ];
            action.start_index = calls_len(emulator);
            view.put_definition_raw(REGION, target.kind, describe, tags.clone());
            action.describe = view.definition(REGION, target.kind, &target.name);
            action.tags = tags;
            action.landed = Landed::Yes;
            action.detail = format!(
                "replace {} in {} with version {number}",
                target.name, target.account
            );
        }
        ActionKind::DeleteSchedule(s) => {
            let schedule = &world.schedules[s];
            let clients = &clients[&schedule.account];
            let view = emulator.account(&schedule.account);
            if view.schedule(REGION, &schedule.name).is_none() {
                action.performed = false;
                action.detail = format!("delete schedule {}: already gone", schedule.name);
                return;
            }
            action.landed = Landed::No;
            for _ in 0..8 {
                let before = calls_len(emulator);
                let _ = clients
                    .typed
                    .delete_monitoring_schedule()
                    .monitoring_schedule_name(&schedule.name)
                    .send()
                    .await;
                action.own_calls.extend(matching_calls(
                    emulator,
                    before,
                    "DeleteMonitoringSchedule",
                    &schedule.account,
                    &schedule.name,
                ));
                if view.schedule(REGION, &schedule.name).is_none() {
                    action.landed = Landed::Yes;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            action.detail = format!("delete schedule {}: {:?}", schedule.name, action.landed);
        }
        ActionKind::Repoint(s) => {
            let schedule = &world.schedules[s];
            let clients = &clients[&schedule.account];
            let view = emulator.account(&schedule.account);
            let Some(described) = view.schedule(REGION, &schedule.name) else {
                action.performed = false;
                action.detail = format!("repoint {}: it is gone", schedule.name);
                return;
            };
            let mut config = described["MonitoringScheduleConfig"].clone();
            let current = config["MonitoringJobDefinitionName"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let candidates: Vec<&Target> = world
                .all_definitions()
                .filter(|t| t.account == schedule.account && t.kind == schedule.kind)
                .filter(|t| !t.name.eq_ignore_ascii_case(&current))
                .filter(|t| view.definition(REGION, t.kind, &t.name).is_some())
                .collect();
            let Some(to) = candidates.first().map(|t| t.name.clone()) else {
                action.performed = false;
                action.detail = format!("repoint {}: no other definition", schedule.name);
                return;
            };
            config["MonitoringJobDefinitionName"] = json!(to);
            action.repointed_to = Some(to.clone());
            action.landed = Landed::No;
            let mut any_error = false;
            for _ in 0..10 {
                let before = calls_len(emulator);
                let result = clients
                    .adapter
                    .update_schedule(&schedule.name, &config)
                    .await;
                action.own_calls.extend(matching_calls(
                    emulator,
                    before,
                    "UpdateMonitoringSchedule",
                    &schedule.account,
                    &schedule.name,
                ));
                let now = schedule_target(emulator, &schedule.account, &schedule.name);
                if result.is_ok() || now.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(&to)) {
                    action.landed = Landed::Yes;
                    break;
                }
                if now.is_none() {
                    break;
                }
                any_error = true;
                tokio::time::sleep(Duration::from_millis(30)).await;
            }
            if action.landed == Landed::No && any_error {
                action.landed = Landed::Unknown;
            }
            action.detail = format!(
                "repoint {} from {current} to {to}: {:?}",
                schedule.name, action.landed
            );
        }
        ActionKind::InlineUpdate(i) => {
            let name = world.inline[i].name.clone();
            let account = world.inline[i].account.clone();
            let clients = &clients[&account];
            let view = emulator.account(&account);
            let Some(described) = view.schedule(REGION, &name) else {
                action.performed = false;
                action.detail = format!("change inline schedule {name}: it is gone");
                return;
            };
            let mut config = described["MonitoringScheduleConfig"].clone();
            let job = &mut config["MonitoringJobDefinition"];
            let what = match action.choice % 4 {
                0 | 1 => {
                    if !job.get("Environment").is_some_and(Value::is_object) {
                        job["Environment"] = json!({});
                    }
                    job["Environment"]["MODE"] = json!(format!("someone-{number}"));
                    format!("Environment MODE=someone-{number}")
                }
                choice => {
                    let fix = if choice == 2 {
                        Fix::Encryption
                    } else {
                        Fix::Isolation
                    };
                    let now = job["NetworkConfig"][fix.member()].as_bool() == Some(true);
                    if !job.get("NetworkConfig").is_some_and(Value::is_object) {
                        job["NetworkConfig"] = json!({});
                    }
                    job["NetworkConfig"][fix.member()] = json!(!now);
                    format!("{} {}", fix.member(), !now)
                }
            };
            action.config = Some(config.clone());
            action.landed = Landed::No;
            let wire = someones_spelling(&name);
            for _ in 0..15 {
                let before = calls_len(emulator);
                let result = clients.adapter.update_schedule(&wire, &config).await;
                action.own_calls.extend(own_calls_exact(
                    emulator,
                    before,
                    "UpdateMonitoringSchedule",
                    &account,
                    &wire,
                ));
                let now = view.schedule(REGION, &name);
                if result.is_ok()
                    || now
                        .as_ref()
                        .is_some_and(|n| n["MonitoringScheduleConfig"] == config)
                {
                    action.landed = Landed::Yes;
                    // Its LastModifiedTime tells a later snapshot of it from an earlier one.
                    action.describe = now.filter(|n| n["MonitoringScheduleConfig"] == config);
                    break;
                }
                if now.is_none() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(40)).await;
            }
            if action.landed == Landed::No && may_have_acted(emulator, &action.own_calls) {
                action.landed = Landed::Unknown;
            }
            action.detail = format!(
                "change inline schedule {name} in {account} ({what}): {:?}",
                action.landed
            );
        }
        ActionKind::InlineStop(i) | ActionKind::InlineStart(i) => {
            let name = world.inline[i].name.clone();
            let account = world.inline[i].account.clone();
            let clients = &clients[&account];
            let view = emulator.account(&account);
            let stop = matches!(action.kind, ActionKind::InlineStop(_));
            let operation = if stop {
                "StopMonitoringSchedule"
            } else {
                "StartMonitoringSchedule"
            };
            if view.schedule(REGION, &name).is_none() {
                action.performed = false;
                action.detail = format!("{operation} {name}: it is gone");
                return;
            }
            action.landed = Landed::No;
            let wire = someones_spelling(&name);
            for _ in 0..8 {
                let before = calls_len(emulator);
                let result = if stop {
                    clients
                        .typed
                        .stop_monitoring_schedule()
                        .monitoring_schedule_name(&wire)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| format!("{e:?}"))
                } else {
                    clients
                        .typed
                        .start_monitoring_schedule()
                        .monitoring_schedule_name(&wire)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| format!("{e:?}"))
                };
                action.own_calls.extend(own_calls_exact(
                    emulator, before, operation, &account, &wire,
                ));
                if result.is_ok() && stop {
                    action.landed = Landed::Yes;
                    break;
                }
                if result.is_ok() {
                    // A start while an update is settling (to `Stopped`) changes nothing: look
                    // once it had time to take, and start again if it did not.
                    tokio::time::sleep(settle + Duration::from_millis(15)).await;
                    let status = view
                        .schedule(REGION, &name)
                        .map(|s| s["MonitoringScheduleStatus"].clone());
                    if status.as_ref().is_some_and(|s| s != "Stopped") {
                        action.landed = Landed::Yes;
                        break;
                    }
                    action.landed = Landed::Unknown;
                }
                if view.schedule(REGION, &name).is_none() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            if action.landed == Landed::No && may_have_acted(emulator, &action.own_calls) {
                action.landed = Landed::Unknown;
            }
            action.detail = format!("{operation} {name} in {account}: {:?}", action.landed);
        }
        ActionKind::InlineDelete(i) => {
            let name = world.inline[i].name.clone();
            let account = world.inline[i].account.clone();
            let clients = &clients[&account];
            let view = emulator.account(&account);
            if view.schedule(REGION, &name).is_none() {
                action.performed = false;
                action.detail = format!("delete inline schedule {name}: already gone");
                return;
            }
            action.landed = Landed::No;
            let wire = someones_spelling(&name);
            for _ in 0..8 {
                let before = calls_len(emulator);
                let _ = clients
                    .typed
                    .delete_monitoring_schedule()
                    .monitoring_schedule_name(&wire)
                    .send()
                    .await;
                action.own_calls.extend(own_calls_exact(
                    emulator,
                    before,
                    "DeleteMonitoringSchedule",
                    &account,
                    &wire,
                ));
                if view.schedule(REGION, &name).is_none() {
                    action.landed = Landed::Yes;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            action.detail = format!("delete inline schedule {name}: {:?}", action.landed);
        }
    }
}

/// Whether one of these calls may have acted without anyone learning so: its answer was lost
/// (a dropped connection or a 5xx, which an `after` fault answers once the call acted).
fn may_have_acted(emulator: &Emulator, own: &[usize]) -> bool {
    let calls = emulator.calls();
    own.iter().any(|&i| {
        matches!(
            calls[i].outcome.as_str(),
            "dropped" | "InternalFailure" | "ServiceUnavailable"
        )
    })
}

/// Runs the round's actions as their call counts come up; stops starting new ones once `done`.
#[allow(clippy::too_many_arguments)]
async fn someone_else(
    emulator: Arc<Emulator>,
    world: Arc<World>,
    clients: Arc<AccountClients>,
    mut actions: Vec<(usize, Action)>,
    base: usize,
    done: Arc<AtomicBool>,
    seed: u64,
    settle: Duration,
) -> Vec<(usize, Action)> {
    actions.sort_by_key(|(_, a)| a.at_calls);
    let mut pending: Vec<usize> = (0..actions.len()).collect();
    while !pending.is_empty() {
        if done.load(Ordering::SeqCst) {
            for &p in &pending {
                actions[p].1.detail = "not performed: the round ended first".to_owned();
            }
            break;
        }
        let calls = emulator.calls();
        // The first action whose moment has come: a number of calls in the round, or (for one
        // aimed at an inline schedule) a number of calls about that schedule, so that it lands
        // while the tool is working on it.
        let due = pending.iter().position(|&p| {
            let action = &actions[p].1;
            match &action.on_schedule {
                Some((account, name, count)) => {
                    calls
                        .iter()
                        .skip(base)
                        .filter(|c| is_about(c, account, name))
                        .count()
                        >= *count
                }
                None => calls.len() >= base + action.at_calls,
            }
        });
        match due {
            Some(position) => {
                let p = pending.remove(position);
                let (number, action) = &mut actions[p];
                perform(&emulator, &clients, &world, action, *number, seed, settle).await;
            }
            None => tokio::time::sleep(Duration::from_millis(2)).await,
        }
    }
    actions
}

// -------------------------------------------------------------------------------------------
// running the tool
// -------------------------------------------------------------------------------------------

/// What the watcher saw during a round.
#[derive(Debug, Default)]
struct WatchLog {
    /// Every `UpdateMonitoringSchedule` naming an inline schedule: its call index, and whether
    /// a snapshot of the schedule was on disk when the call arrived.
    updates: Vec<(usize, bool)>,
    /// Calls naming an inline schedule: the call index, and the length of the call log when the
    /// call was first seen answered (it took effect before that).
    completed: Vec<(usize, usize)>,
    /// Journal lines: the journal, the line's index, and the lengths of the call log between
    /// which it was written (at the watcher's look before it appeared, and when it was seen).
    journal_lines: Vec<(PathBuf, usize, (usize, usize))>,
    /// Every mutating call naming a definition, its copy, or a schedule that references one:
    /// its call index, and whether a snapshot of that account's definition (for a schedule:
    /// of one of that account's definitions of the schedule's kind) was on disk when it came.
    definition_mutations: Vec<(usize, bool)>,
}

/// What a mutating call on a definition's name needs on disk first: the snapshot file names
/// (lower case) of which one must exist, per (account, name) the call may carry.
type SnapshotNeeds = BTreeMap<(String, String), Vec<String>>;

fn snapshot_needs(world: &World) -> SnapshotNeeds {
    let mut needs: SnapshotNeeds = BTreeMap::new();
    let file = |t: &Target| {
        format!(
            "{}.{REGION}.{}.{}.json",
            t.account,
            t.kind.cli_name(),
            t.name
        )
        .to_ascii_lowercase()
    };
    for target in &world.targets {
        for name in [target.name.clone(), temporary_name(&target.name)] {
            needs
                .entry((target.account.clone(), name.to_ascii_lowercase()))
                .or_default()
                .push(file(target));
        }
    }
    for schedule in &world.schedules {
        let files = world
            .targets
            .iter()
            .filter(|t| t.account == schedule.account && t.kind == schedule.kind)
            .map(file);
        needs
            .entry((schedule.account.clone(), schedule.name.to_ascii_lowercase()))
            .or_default()
            .extend(files);
    }
    needs
}

/// Whether any of `files` is in a run's snapshots directory.
fn any_snapshot_on_disk(state_dir: &Path, files: &[String]) -> bool {
    std::fs::read_dir(state_dir.join("runs"))
        .map(|runs| {
            runs.flatten().any(|run| {
                std::fs::read_dir(run.path().join("snapshots")).is_ok_and(|entries| {
                    entries.flatten().any(|f| {
                        files.contains(&f.file_name().to_string_lossy().to_ascii_lowercase())
                    })
                })
            })
        })
        .unwrap_or(false)
}

/// A thread that watches the emulator's call log and the journals while a round runs, so the
/// checks can tell what happened before what: the tool writes a schedule's snapshot before it
/// sends an update; an outcome is true of what the tool could have seen when it wrote it.
struct Watcher {
    stop: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<WatchLog>,
}

impl Watcher {
    /// `names`: the inline schedules, with their accounts.
    fn start(
        emulator: Arc<Emulator>,
        state_dir: PathBuf,
        names: Vec<(String, String)>,
        needs: SnapshotNeeds,
    ) -> Watcher {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let from = calls_len(&emulator);
        let handle = std::thread::spawn(move || {
            let mut seen = from;
            let mut pending: BTreeSet<usize> = BTreeSet::new();
            let mut log = WatchLog::default();
            let mut journal_sizes: BTreeMap<PathBuf, (u64, usize)> = BTreeMap::new();
            let runs = state_dir.join("runs");
            // The call-log length before the last look at the journals.
            let mut before = from;
            loop {
                let last = stopped.load(Ordering::SeqCst);
                let calls = emulator.calls();
                let about = |call: &RecordedCall| {
                    names
                        .iter()
                        .any(|(account, name)| is_about(call, account, name))
                };
                for (index, call) in calls.iter().enumerate().skip(seen) {
                    if MUTATING_OPERATIONS.contains(&call.operation.as_str())
                        && let Some(name) = &call.name
                        && let Some(files) =
                            needs.get(&(call.account_id.clone(), name.to_ascii_lowercase()))
                    {
                        log.definition_mutations
                            .push((index, any_snapshot_on_disk(&state_dir, files)));
                    }
                    if !about(call) {
                        continue;
                    }
                    if call.operation == "UpdateMonitoringSchedule" {
                        let name = call.name.as_deref().unwrap_or_default();
                        log.updates.push((
                            index,
                            schedule_snapshot_on_disk(&state_dir, &call.account_id, name),
                        ));
                    }
                    pending.insert(index);
                }
                pending.retain(|&index| {
                    let answered = calls[index].outcome != "in-flight";
                    if answered {
                        log.completed.push((index, calls.len()));
                    }
                    !answered
                });
                seen = seen.max(calls.len());
                // New journal lines (the run directories are few, their journals small).
                for run in std::fs::read_dir(&runs).into_iter().flatten().flatten() {
                    let path = run.path().join("journal.jsonl");
                    let Ok(meta) = std::fs::metadata(&path) else {
                        continue;
                    };
                    let (size, lines) = journal_sizes.get(&path).copied().unwrap_or((0, 0));
                    if meta.len() == size {
                        continue;
                    }
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    let complete = text.matches('\n').count();
                    for line in lines..complete {
                        log.journal_lines
                            .push((path.clone(), line, (before, calls.len())));
                    }
                    journal_sizes.insert(path, (meta.len(), complete.max(lines)));
                }
                before = calls.len();
                if last {
                    return log;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        });
        Watcher { stop, handle }
    }

    fn finish(self) -> WatchLog {
        self.stop.store(true, Ordering::SeqCst);
        self.handle.join().expect("the watcher")
    }
}

#[derive(Debug)]
struct RoundResult {
    /// `None` when killed.
    code: Option<i32>,
    stdout: String,
    stderr: String,
    hung: bool,
}

struct Case<'a> {
    options: &'a Options,
    seed: u64,
    rng: Rng,
    /// The organization's draws (account-aimed faults): a one-account case never draws from it
    /// after its world is made.
    org_rng: Rng,
    world: Arc<World>,
    emulator: Arc<Emulator>,
    runtime: tokio::runtime::Runtime,
    dir: PathBuf,
    state_dir: PathBuf,
    patience: bool,
    settle: Duration,
    actions: Vec<Action>,
    report: CaseReport,
    /// Journal lines already checked, per journal file.
    journal_seen: BTreeMap<PathBuf, usize>,
    /// The round that is running or was checked last.
    round: usize,
    /// Call-log index where each round began, and whether a fault plan was set.
    rounds: Vec<(usize, bool)>,
    /// The harness's own reads (checks between rounds).
    harness_calls: BTreeSet<usize>,
    /// Someone else's and the harness's clients, per account.
    clients: Arc<AccountClients>,
    /// Schedules some round named in `failing_schedule_updates`.
    failing_schedules: BTreeSet<String>,
    /// The stdout of the round's tool run (a JSON report, unless it was killed).
    round_stdout: String,
    /// What the watcher saw this round (see `inline_updates_seen`).
    round_inline_updates: Vec<(usize, bool)>,
    /// See `WatchLog::definition_mutations`.
    round_definition_mutations: Vec<(usize, bool)>,
    watcher: Option<Watcher>,
    /// For calls naming an inline schedule: the call-log length when each was seen answered.
    completed_at: BTreeMap<usize, usize>,
    /// The call-log length when each journal line was first seen.
    journal_line_at: BTreeMap<(PathBuf, usize), (usize, usize)>,
    /// The call-log length when the round ended.
    round_end_calls: usize,
    /// The tool's (or anyone's) `UpdateMonitoringSchedule` calls on inline schedules, as the
    /// watcher saw them arrive: call index, and whether a snapshot of the schedule was on disk
    /// by then.
    inline_updates_seen: BTreeMap<usize, bool>,
}

fn base_args(endpoint: &str, state_dir: &Path) -> Vec<String> {
    vec![
        "--endpoint-url".to_owned(),
        endpoint.to_owned(),
        "--state-dir".to_owned(),
        state_dir.display().to_string(),
        "--color".to_owned(),
        "never".to_owned(),
        "-q".to_owned(),
    ]
}

impl Case<'_> {
    fn note(&mut self, line: String) {
        let verbose = self.options.verbose;
        self.report.note(verbose, line);
    }

    fn violation(&mut self, what: String) {
        self.note(format!("VIOLATION: {what}"));
        self.report.violations.push(what);
    }

    fn command_args(&self, command: &str, plan: Option<&Path>) -> Vec<String> {
        let mut args = base_args(&self.emulator.endpoint_url(), &self.state_dir);
        args.extend(self.world.account_args.iter().cloned());
        args.push(command.to_owned());
        if let Some(plan) = plan {
            args.push(plan.display().to_string());
        }
        if command == "apply" {
            args.push("--yes".to_owned());
            // A plan file carries the fixes it was made with.
            if plan.is_none() {
                for fix in &self.world.fix_args {
                    args.extend(["--fix".to_owned(), fix.clone()]);
                }
            }
        }
        if command == "apply" || command == "resume" {
            args.extend(["--schedule-timeout", "5", "--format", "json"].map(str::to_owned));
            if self.patience {
                args.extend(["--patience", "2"].map(str::to_owned));
            }
        }
        args
    }

    /// Runs the binary to completion (or the round limit), output to files.
    fn run_binary(&mut self, args: &[String], label: &str) -> RoundResult {
        let out = self.dir.join(format!("{label}.stdout"));
        let err = self.dir.join(format!("{label}.stderr"));
        let mut child = Command::new(&self.options.binary)
            .args(&self.options.binary_args)
            .args(args)
            .current_dir(&self.dir)
            .env("HOME", &self.dir)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).expect("stdout file"))
            .stderr(std::fs::File::create(&err).expect("stderr file"))
            .spawn()
            .expect("spawn sm-recreate");
        let started = Instant::now();
        let mut hung = false;
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait") {
                break Some(status);
            }
            if started.elapsed() > ROUND_LIMIT {
                let _ = child.kill();
                let _ = child.wait();
                hung = true;
                break None;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        RoundResult {
            code: status.and_then(|s| s.code()),
            stdout: std::fs::read_to_string(&out).unwrap_or_default(),
            stderr: std::fs::read_to_string(&err).unwrap_or_default(),
            hung,
        }
    }

    /// Runs the binary and SIGKILLs it once the emulator has seen `kill_at` more calls.
    fn run_binary_killed(&mut self, args: &[String], kill_at: usize, label: &str) -> RoundResult {
        let base = calls_len(&self.emulator);
        let err = self.dir.join(format!("{label}.stderr"));
        let mut child = Command::new(&self.options.binary)
            .args(&self.options.binary_args)
            .args(args)
            .current_dir(&self.dir)
            .env("HOME", &self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&err).expect("stderr file"))
            .spawn()
            .expect("spawn sm-recreate");
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return RoundResult {
                    code: status.code(),
                    stdout: String::new(),
                    stderr: std::fs::read_to_string(&err).unwrap_or_default(),
                    hung: false,
                };
            }
            if calls_len(&self.emulator) >= base + kill_at || started.elapsed() > ROUND_LIMIT {
                let hung = started.elapsed() > ROUND_LIMIT;
                let _ = child.kill();
                let _ = child.wait();
                return RoundResult {
                    code: None,
                    stdout: String::new(),
                    stderr: std::fs::read_to_string(&err).unwrap_or_default(),
                    hung,
                };
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Runs the tool in-process and drops it (with its runtime) after `kill_at` more emulator
    /// calls or `kill_after`, whichever comes first.
    fn run_in_process_killed(
        &mut self,
        args: &[String],
        kill_at: usize,
        kill_after: Duration,
    ) -> RoundResult {
        let mut argv = vec!["sm-recreate".to_owned()];
        argv.extend(args.iter().cloned());
        let cli = match <Cli as clap::Parser>::try_parse_from(&argv) {
            Ok(cli) => cli,
            Err(error) => {
                return RoundResult {
                    code: Some(2),
                    stdout: String::new(),
                    stderr: error.to_string(),
                    hung: false,
                };
            }
        };
        let out = sm_recreate::output::Output::new(&cli.global);
        let emulator = Arc::clone(&self.emulator);
        let base = calls_len(&emulator);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let outcome = runtime.block_on(async move {
            let killer = async {
                let started = Instant::now();
                loop {
                    if calls_len(&emulator) >= base + kill_at || started.elapsed() >= kill_after {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            };
            tokio::select! {
                result = sm_recreate::commands::run(&out, cli) => Some(result),
                () = killer => None,
            }
        });
        // Dropping the runtime drops every task the run spawned: nothing of it goes on.
        drop(runtime);
        RoundResult {
            code: outcome.map(|r| match r {
                Ok(status) => status as i32,
                Err(err) => sm_recreate::exit::classify(&err).status as i32,
            }),
            stdout: String::new(),
            stderr: String::new(),
            hung: false,
        }
    }

    /// Waits (briefly) until the emulator has no call in flight.
    fn quiesce(&self) {
        let started = Instant::now();
        while started.elapsed() < Duration::from_millis(800) {
            if !self
                .emulator
                .calls()
                .iter()
                .any(|c| c.outcome == "in-flight")
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn begin_round(&mut self, faults: Option<RoundFaults>) {
        self.round = self.rounds.len();
        let faulty = faults.is_some();
        match faults {
            Some(faults) => {
                for rule in &faults.rules {
                    let line = format!("round {} fault: {}", self.round, describe_rule(rule));
                    self.note(line);
                }
                if !faults.failing.is_empty() {
                    let line = format!(
                        "round {} failing schedule updates: {:?}",
                        self.round, faults.failing
                    );
                    self.note(line);
                    self.failing_schedules
                        .extend(faults.failing.iter().cloned());
                }
                if faults.refused {
                    let line =
                        format!("round {}: inline NetworkConfig updates refused", self.round);
                    self.note(line);
                }
                let fault_seed = self.rng.next_u64();
                self.emulator
                    .set_behaviour(faulty_behaviour(self.settle, faults, fault_seed));
            }
            None => self.emulator.set_behaviour(clean_behaviour(self.settle)),
        }
        self.rounds.push((calls_len(&self.emulator), faulty));
        self.watcher = Some(Watcher::start(
            Arc::clone(&self.emulator),
            self.state_dir.clone(),
            self.world
                .inline
                .iter()
                .map(|s| (s.account.clone(), s.name.clone()))
                .collect(),
            snapshot_needs(&self.world),
        ));
    }

    /// One faulty round (apply or resume), maybe killed, with the someone-else actions of
    /// `action_round` running alongside.
    fn faulty_round(
        &mut self,
        command: &str,
        plan: Option<&Path>,
        action_round: usize,
        kill: bool,
    ) {
        let rules = self.rng.range(1, 5) as usize;
        let mut faults = round_faults(&mut self.rng, &self.world, rules);
        if self.world.is_organization() {
            // Some rules for one account's calls only: the others must go on unharmed, and
            // nothing of one account may be taken for another's.
            for rule in &mut faults.rules {
                if self.org_rng.chance(0.5) {
                    rule.account_id = Some(self.org_rng.pick(&self.world.accounts).clone());
                }
            }
        }
        let kill_at = self.rng.range(1, 60) as usize;
        let kill_after = Duration::from_millis(self.rng.range(20, 2500));
        let sigkill = kill && self.rng.below(self.options.sigkill_one_in.max(1)) == 0;
        self.begin_round(Some(faults));
        let args = self.command_args(command, plan);
        // Someone else's actions for this round run on the emulator's runtime.
        let planned: Vec<(usize, Action)> = self
            .actions
            .iter()
            .enumerate()
            .filter(|(_, a)| a.round == action_round && !a.performed && a.detail.is_empty())
            .map(|(i, a)| (i, a.clone()))
            .collect();
        let done = Arc::new(AtomicBool::new(false));
        let handle = (!planned.is_empty()).then(|| {
            self.runtime.spawn(someone_else(
                Arc::clone(&self.emulator),
                Arc::clone(&self.world),
                Arc::clone(&self.clients),
                planned,
                calls_len(&self.emulator),
                Arc::clone(&done),
                self.seed,
                self.settle,
            ))
        });
        let label = format!("round{}-{command}", self.round);
        let result = if !kill {
            self.run_binary(&args, &label)
        } else if sigkill {
            self.report.sigkills += 1;
            self.run_binary_killed(&args, kill_at, &label)
        } else {
            self.run_in_process_killed(&args, kill_at, kill_after)
        };
        done.store(true, Ordering::SeqCst);
        if let Some(handle) = handle {
            for (index, action) in self.runtime.block_on(handle).expect("someone else") {
                self.actions[index] = action;
                let line = format!(
                    "round {}: someone else: {}",
                    self.round, self.actions[index].detail
                );
                self.note(line);
            }
        }
        if result.code.is_none() {
            self.report.kills += 1;
        }
        if result.hung {
            self.violation(format!("round {} ({command}) hung", self.round));
        }
        let line = format!(
            "round {} {command}{}: {}",
            self.round,
            if kill {
                if sigkill {
                    format!(" (SIGKILL at +{kill_at} calls)")
                } else {
                    format!(" (drop at +{kill_at} calls or {kill_after:?})")
                }
            } else {
                String::new()
            },
            match result.code {
                Some(code) => format!("exit {code}"),
                None => "killed".to_owned(),
            }
        );
        self.note(line);
        self.quiesce();
        self.round_stdout = result.stdout;
        self.end_round();
    }

    /// Clears the faults, counts what was injected, checks the round.
    fn end_round(&mut self) {
        if let Some(watcher) = self.watcher.take() {
            let log = watcher.finish();
            self.round_inline_updates = log.updates;
            self.round_definition_mutations = log.definition_mutations;
            self.completed_at.extend(log.completed);
            for (path, line, at) in log.journal_lines {
                self.journal_line_at.entry((path, line)).or_insert(at);
            }
        }
        self.round_end_calls = calls_len(&self.emulator);
        self.emulator.set_behaviour(clean_behaviour(self.settle));
        let (start, faulty) = self.rounds[self.round];
        if faulty {
            self.report.faults_injected += self.emulator.calls()[start..]
                .iter()
                .filter(|c| FAULT_OUTCOMES.contains(&c.outcome.as_str()))
                .count();
        }
        self.report.rounds += 1;
        self.check_round();
    }

    // ---------------------------------------------------------------------------------------
    // checks
    // ---------------------------------------------------------------------------------------

    fn live(&self, account: &str, kind: Kind, name: &str) -> Option<Value> {
        self.emulator
            .account(account)
            .definition(REGION, kind, name)
    }

    /// The live tags, read through ListTags in `account` (call only while no faults are set).
    /// The harness's own calls are remembered so the race-window judgement does not take them
    /// for the tool's.
    fn live_tags(&mut self, account: &str, describe: &Value) -> Option<BTreeSet<(String, String)>> {
        let arn = describe["JobDefinitionArn"].as_str()?.to_owned();
        let clients = Arc::clone(&self.clients);
        let client = &clients[account];
        let before = calls_len(&self.emulator);
        let tags = self.runtime.block_on(client.adapter.list_tags(&arn));
        let after = calls_len(&self.emulator);
        self.harness_calls.extend(before..after);
        Some(tags.ok()?.into_iter().map(|t| (t.key, t.value)).collect())
    }

    /// The copies of target `t` that exist now, with their describe JSON.
    fn copies(&self, t: usize) -> Vec<(String, Value)> {
        let target = &self.world.targets[t];
        let name = temporary_name(&target.name);
        self.live(&target.account, target.kind, &name)
            .map(|d| (name, d))
            .into_iter()
            .collect()
    }

    /// Every content target `t` has had: the original, then each replacement, in order.
    fn versions(&self, t: usize) -> Vec<Version> {
        let target = &self.world.targets[t];
        let mut versions = vec![(target.original.clone(), target.tags.clone(), None)];
        // In the order they were made, which is not the order the actions were drawn in.
        let mut order: Vec<usize> = (0..self.actions.len()).collect();
        order.sort_by_key(|&i| {
            let action = &self.actions[i];
            (action.round, action.start_index, action.at_calls)
        });
        for i in order {
            let action = &self.actions[i];
            if action.kind == ActionKind::Replace(t)
                && action.landed == Landed::Yes
                && let Some(describe) = &action.describe
            {
                versions.push((
                    describe.clone(),
                    action.tags.iter().cloned().collect(),
                    Some(i),
                ));
            }
        }
        versions
    }

    /// Whether someone else changed target `t` in this round or an earlier one.
    fn touched_by_now(&self, t: usize, round: usize) -> bool {
        self.actions.iter().any(|a| {
            a.performed
                && a.round <= round
                && matches!(a.kind, ActionKind::AddTag(x) | ActionKind::Replace(x) if x == t)
        })
    }

    fn check_round(&mut self) {
        let round = self.round;
        // I1: every definition's latest content exists, as itself or a compliant copy.
        for t in 0..self.world.targets.len() {
            let versions = self.versions(t);
            let target = self.world.targets[t].clone();
            let live = self.live(&target.account, target.kind, &target.name);
            let copies = self.copies(t);
            let holds = |content: &Value| {
                live.as_ref().is_some_and(|l| {
                    same_content(l, content) || same_content(l, &self.world.flagged(content))
                }) || copies
                    .iter()
                    .any(|(_, c)| same_content(c, &self.world.flagged(content)))
            };
            let (latest, _, by) = versions.last().expect("the original").clone();
            if !holds(&latest) {
                let earlier = versions.iter().rev().skip(1).find(|(v, _, _)| holds(v));
                match (by, earlier) {
                    (Some(action), Some(_)) if self.raced_definition(t, action, &["Describe", "ListTags"]) => {
                        self.note(format!(
                            "round {round}: {}: someone else's version was lost in the delete window",
                            target.name
                        ));
                    }
                    _ => self.violation(format!(
                        "I1 after round {round}: the content of {} in {} ({}) exists nowhere (live: {}, copies: {:?})",
                        target.name,
                        target.account,
                        if by.is_some() { "someone else's version" } else { "the original" },
                        live.as_ref().map_or("absent".to_owned(), |l| format!("flags {}", flag(l))),
                        copies.iter().map(|(n, _)| n).collect::<Vec<_>>()
                    )),
                }
            }
        }
        // I5: existing schedules point at existing definitions; someone's deletes stay deleted.
        for schedule in self.world.schedules.clone() {
            if let Some(pointed) =
                schedule_target(&self.emulator, &schedule.account, &schedule.name)
                && self
                    .live(&schedule.account, schedule.kind, &pointed)
                    .is_none()
            {
                self.violation(format!(
                    "I5 after round {round}: schedule {} in {} points at {pointed}, which does not exist there",
                    schedule.name, schedule.account
                ));
            }
        }
        // I4: the outcomes this round journaled are true of the live state.
        for (kind, account, name, outcome, snapshot, at) in self.new_outcomes() {
            let index = match kind {
                Some(kind) => self.world.target_index(&account, kind, &name),
                None => self.world.inline_index(&account, &name),
            };
            let Some(index) = index else {
                self.violation(format!(
                    "I4: outcome {outcome} for unknown item {name} in account {account}"
                ));
                continue;
            };
            match kind {
                Some(_) => self.check_outcome(index, &outcome, snapshot.as_ref(), round),
                None => self.check_inline_outcome(index, &outcome, snapshot.as_ref(), round, at),
            }
        }
        // The report printed this round claims no in-place fix that is not there.
        let stdout = std::mem::take(&mut self.round_stdout);
        if let Ok(report) = serde_json::from_str::<Value>(&stdout) {
            for entry in report["definitions"].as_array().into_iter().flatten() {
                if entry["kind"] != SCHEDULE_KIND || entry["status"] != "updated-in-place" {
                    continue;
                }
                let name = entry["name"].as_str().unwrap_or_default();
                let account = entry["account_id"].as_str().unwrap_or(ACCOUNT);
                let Some(i) = self.world.inline_index(account, name) else {
                    self.violation(format!(
                        "I4: the report names unknown schedule {name} in account {account}"
                    ));
                    continue;
                };
                let snapshot = self.any_latest_snapshot(true, account, name);
                let at = self.finished_at(account, name);
                self.check_inline_outcome(i, "updated-in-place", snapshot.as_ref(), round, at);
            }
        }
        // Every update of an inline schedule went out with its snapshot already on disk.
        let seen = std::mem::take(&mut self.round_inline_updates);
        if !seen.is_empty() {
            let line = format!(
                "round {round}: inline schedule updates seen arriving (call, snapshot on disk): {seen:?}"
            );
            self.note(line);
        }
        let own = self.not_the_tools();
        let calls = self.emulator.calls();
        for (index, on_disk) in seen {
            if !on_disk && !own.contains(&index) {
                self.violation(format!(
                    "snapshot: the tool's UpdateMonitoringSchedule of {} (call #{index}) arrived \
                     before any snapshot of the schedule was on disk",
                    calls[index].name.as_deref().unwrap_or("?")
                ));
            }
            self.inline_updates_seen.insert(index, on_disk);
        }
        // Every mutating call on a definition's name (its copy's, a schedule's that references
        // one) came with that account's snapshot already on disk.
        for (index, on_disk) in std::mem::take(&mut self.round_definition_mutations) {
            if !on_disk && !own.contains(&index) {
                let call = &calls[index];
                self.violation(format!(
                    "snapshot: the tool's {} {} in account {} (call #{index}) arrived before any \
                     snapshot of that account's definition was on disk",
                    call.operation,
                    call.name.as_deref().unwrap_or("?"),
                    call.account_id
                ));
            }
        }
        self.check_accounts(round, &stdout);
    }

    /// Nothing is confused across accounts: every journaled item and every mutating call of
    /// the tool in account X names something of X's (never a name only another account's
    /// world, plan or journal holds), the accounts the options leave out get no mutating call,
    /// each snapshot is of its own account's resource (file name, `account_id`, ARN, and the
    /// content itself: every role ARN carries its account), and a printed hint selects the
    /// accounts it needs.
    fn check_accounts(&mut self, round: usize, stdout: &str) {
        // The names each account's journals hold.
        let mut journaled: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(self.state_dir.join("runs"))
            .map(|e| e.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        dirs.sort();
        let mut problems = Vec::new();
        for dir in &dirs {
            let text = std::fs::read_to_string(dir.join("journal.jsonl")).unwrap_or_default();
            for record in text
                .lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            {
                let items: Vec<(Value, Option<String>)> = if record["event"] == "run-started" {
                    record["items"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|i| {
                            (
                                i["item"].clone(),
                                i["temporary_name"].as_str().map(str::to_owned),
                            )
                        })
                        .collect()
                } else {
                    vec![(record["item"].clone(), None)]
                };
                for (item, temporary) in items {
                    let (Some(account), Some(name)) =
                        (item["account_id"].as_str(), item["name"].as_str())
                    else {
                        continue;
                    };
                    if !self
                        .world
                        .names_in(account)
                        .contains(&name.to_ascii_lowercase())
                    {
                        problems.push(format!(
                            "journal {}: {} names {name} in account {account}, which has no such resource",
                            dir.display(),
                            record["event"]
                        ));
                    }
                    let names = journaled.entry(account.to_owned()).or_default();
                    names.insert(name.to_ascii_lowercase());
                    names.extend(temporary.map(|t| t.to_ascii_lowercase()));
                }
            }
        }
        // The tool's mutating calls this round.
        let calls = self.emulator.calls();
        let own = self.not_the_tools();
        let from = self.rounds[round].0;
        for (index, call) in calls.iter().enumerate().skip(from) {
            if own.contains(&index) || !MUTATING_OPERATIONS.contains(&call.operation.as_str()) {
                continue;
            }
            let account = &call.account_id;
            if !self.world.selected.contains(account) {
                problems.push(format!(
                    "the tool sent {} {} (call #{index}) in account {account}, which the options do not select",
                    call.operation,
                    call.name.as_deref().unwrap_or("-")
                ));
                continue;
            }
            let Some(name) = call.name.as_deref().map(str::to_ascii_lowercase) else {
                continue;
            };
            let ours = self.world.names_in(account).contains(&name)
                || journaled.get(account).is_some_and(|n| n.contains(&name));
            if !ours {
                let elsewhere: Vec<&String> = self
                    .world
                    .accounts
                    .iter()
                    .filter(|a| *a != account)
                    .filter(|a| {
                        self.world.names_in(a).contains(&name)
                            || journaled.get(*a).is_some_and(|n| n.contains(&name))
                    })
                    .collect();
                problems.push(format!(
                    "the tool sent {} {name} (call #{index}) in account {account}, which has no such resource{}",
                    call.operation,
                    if elsewhere.is_empty() {
                        String::new()
                    } else {
                        format!(" (only account {elsewhere:?} has)")
                    }
                ));
            }
        }
        // Each snapshot is of its own account's resource.
        for dir in &dirs {
            for file in std::fs::read_dir(dir.join("snapshots"))
                .into_iter()
                .flatten()
                .flatten()
            {
                let path = file.path();
                let file_name = file.file_name().to_string_lossy().into_owned();
                if !file_name.ends_with(".json") {
                    continue;
                }
                let Some(snapshot) = std::fs::read_to_string(&path)
                    .ok()
                    .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                else {
                    continue;
                };
                let account = snapshot["account_id"].as_str().unwrap_or_default();
                let schedule = snapshot["kind"] == SCHEDULE_KIND;
                let role = if schedule {
                    &snapshot["describe"]["MonitoringScheduleConfig"]["MonitoringJobDefinition"]["RoleArn"]
                } else {
                    &snapshot["describe"]["RoleArn"]
                };
                let described_arn = if schedule {
                    &snapshot["describe"]["MonitoringScheduleArn"]
                } else {
                    &snapshot["describe"]["JobDefinitionArn"]
                };
                let in_account = |arn: &Value| {
                    arn.as_str()
                        .is_some_and(|a| a.contains(&format!(":{account}:")))
                };
                let mut wrong = Vec::new();
                if file_name.split('.').next() != Some(account) {
                    wrong.push("its file name");
                }
                if !self.world.accounts.iter().any(|a| a == account) {
                    wrong.push("no account of the organization");
                }
                if !in_account(&snapshot["arn"]) {
                    wrong.push("its arn");
                }
                if !described_arn.is_null() && !in_account(described_arn) {
                    wrong.push("the ARN it describes");
                }
                // Inline schedules only: a referencing schedule's snapshot has no job.
                if (!schedule || !role.is_null()) && !in_account(role) {
                    wrong.push("the role in its content");
                }
                if !wrong.is_empty() {
                    problems.push(format!(
                        "snapshot {} says account {account}, but {} say(s) otherwise",
                        path.display(),
                        wrong.join(", ")
                    ));
                }
            }
        }
        // A printed next command selects the accounts the run worked on.
        if self.world.is_organization()
            && let Ok(report) = serde_json::from_str::<Value>(stdout)
            && let Some(hint) = report["hint"].as_str()
            && hint.contains("sm-recreate")
        {
            let words = shell_words(hint);
            let named: Vec<&String> = words
                .windows(2)
                .filter(|w| w[0] == "--account")
                .map(|w| &w[1])
                .collect();
            if named.is_empty() && !words.iter().any(|w| w == "--org") {
                problems.push(format!("the hint `{hint}` selects no account of the run"));
            }
            if let Some(stray) = named.iter().find(|a| !self.world.selected.contains(a)) {
                problems.push(format!(
                    "the hint `{hint}` selects account {stray}, which the run's options did not"
                ));
            }
        }
        for problem in problems {
            self.violation(format!("accounts after round {round}: {problem}"));
        }
    }

    /// Whether someone else changed inline schedule `i`'s configuration, or deleted it, in this
    /// round or an earlier one (or may have: an answer they did not get).
    fn inline_touched_by_now(&self, i: usize, round: usize) -> bool {
        self.actions.iter().any(|a| {
            a.performed
                && a.round <= round
                && a.landed != Landed::No
                && a.kind.inline_config_change() == Some(i)
        })
    }

    /// The latest snapshot of `name` in any run.
    fn any_latest_snapshot(&self, schedule: bool, account: &str, name: &str) -> Option<Value> {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(self.state_dir.join("runs"))
            .map(|e| e.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        dirs.sort();
        dirs.iter()
            .rev()
            .find_map(|dir| latest_snapshot(dir, schedule, account, name))
    }

    /// Whether someone else's change of inline schedule `i` (its configuration, or a delete)
    /// may have taken effect after the tool's last look at it before call `at`: the tool could
    /// not have seen it, and it may be what the live schedule holds now.
    ///
    /// `since_update`: measure from the tool's last update of it instead, when it sent one (a
    /// "put back" is true of what that update did; a look after it may be for its status only).
    fn inline_unseen_change(&self, i: usize, at: usize, since_update: bool) -> bool {
        let (account, name) = (&self.world.inline[i].account, &self.world.inline[i].name);
        let calls = self.emulator.calls();
        let own = self.not_the_tools();
        let last = |operation: &str| {
            (0..at.min(calls.len())).rev().find(|&k| {
                !own.contains(&k)
                    && calls[k].operation == operation
                    && is_about(&calls[k], account, name)
            })
        };
        let look = since_update
            .then(|| last("UpdateMonitoringSchedule"))
            .flatten()
            .or_else(|| last("DescribeMonitoringSchedule"));
        let Some(look) = look else {
            return self.inline_touched_by_now(i, usize::MAX);
        };
        self.actions.iter().any(|a| {
            a.performed
                && a.landed != Landed::No
                && a.kind.inline_config_change() == Some(i)
                && a.own_calls.iter().any(|&k| {
                    MUTATING_OPERATIONS.contains(&calls[k].operation.as_str())
                        && self.completed_at.get(&k).is_none_or(|&done| done > look)
                })
        })
    }

    /// Whether someone else stopped or started inline schedule `i` before call `at`.
    fn inline_stopped_or_started_before(&self, i: usize, at: usize) -> bool {
        self.actions.iter().any(|a| {
            a.performed
                && a.landed != Landed::No
                && matches!(a.kind, ActionKind::InlineStop(j) | ActionKind::InlineStart(j) if j == i)
                && a.start_index < at
        })
    }

    /// When the latest `item-finished` line of the inline schedule `name` was written (see
    /// `Finished`).
    fn finished_at(&self, account: &str, name: &str) -> Option<(usize, usize)> {
        let mut found = None;
        for ((path, number), at) in &self.journal_line_at {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let Some(record) = text
                .lines()
                .nth(*number)
                .and_then(|l| serde_json::from_str::<Value>(l).ok())
            else {
                continue;
            };
            if record["event"] == "item-finished"
                && record["item"]["kind"] == SCHEDULE_KIND
                && record["item"]["account_id"] == account
                && record["item"]["name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
                && found.is_none_or(|(_, hi)| hi <= at.1)
            {
                found = Some(*at);
            }
        }
        found
    }

    /// Whether someone else's change of inline schedule `i` began before call `at`.
    fn inline_change_before(&self, i: usize, at: usize) -> bool {
        self.actions.iter().any(|a| {
            a.performed
                && a.landed != Landed::No
                && a.kind.inline_config_change() == Some(i)
                && a.start_index < at
        })
    }

    /// I4 for an inline schedule: the outcome journaled (or reported) is true of the live
    /// schedule, unless someone else changed its configuration where the tool could not see it.
    /// `at`: the call-log lengths between which the outcome was written (`None`: not known;
    /// then any change by someone else so far excuses). The tool's looks before the first are
    /// what it wrote the outcome from; a change that began before the second may be what it
    /// reports.
    fn check_inline_outcome(
        &mut self,
        i: usize,
        outcome: &str,
        snapshot: Option<&Value>,
        round: usize,
        at: Option<(usize, usize)>,
    ) {
        let schedule = self.world.inline[i].clone();
        let someone = match at {
            Some((from, _)) => self.inline_unseen_change(i, from, outcome != "updated-in-place"),
            None => self.inline_touched_by_now(i, round),
        };
        // A stop or a start moves the schedule's LastModifiedTime too, which the tool reads as
        // "someone acted on it" when it cannot otherwise tell whose a configuration is: it
        // excuses a changed-during-run as much as a configuration change does.
        let changed_before = match at {
            Some((_, to)) => {
                self.inline_change_before(i, to) || self.inline_stopped_or_started_before(i, to)
            }
            None => {
                self.inline_touched_by_now(i, round)
                    || self.inline_stopped_or_started_before(i, usize::MAX)
            }
        };
        let live = self
            .emulator
            .account(&schedule.account)
            .schedule(REGION, &schedule.name);
        let base = snapshot
            .map(|s| s["describe"]["MonitoringScheduleConfig"].clone())
            .unwrap_or_else(|| schedule.original.clone());
        let before_status = snapshot
            .and_then(|s| s["describe"]["MonitoringScheduleStatus"].as_str())
            .unwrap_or_default()
            .to_owned();
        let fixed = self.world.fixed_config(&base);
        let mut problems = Vec::new();
        match outcome {
            "updated-in-place" if !someone => match &live {
                None => problems.push("the schedule does not exist".to_owned()),
                Some(live) => {
                    let config = &live["MonitoringScheduleConfig"];
                    if normalized(config) != normalized(&fixed) {
                        problems.push(format!(
                            "its configuration is not the snapshot's with {:?} set ({} instead of {})",
                            self.world.fixes,
                            config_story(config),
                            config_story(&fixed)
                        ));
                    }
                    if live["MonitoringScheduleStatus"] == "Failed" && before_status != "Failed" {
                        problems.push("it is Failed".to_owned());
                    }
                }
            },
            // Nothing was touched: as the snapshot (or, before any, the seed) had it.
            "rolled-back" | "refused" | "failed-untouched" | "not-started"
                if !someone && (snapshot.is_some() || !changed_before) =>
            {
                match &live {
                    None => problems.push("the schedule does not exist".to_owned()),
                    Some(live)
                        if normalized(&live["MonitoringScheduleConfig"]) != normalized(&base) =>
                    {
                        problems.push(format!(
                            "its configuration is not the snapshot's ({} instead of {})",
                            config_story(&live["MonitoringScheduleConfig"]),
                            config_story(&base)
                        ));
                    }
                    Some(_) => {}
                }
            }
            "changed-during-run" | "changed-since-plan" if !changed_before => {
                problems.push("nobody else had changed its configuration".to_owned());
            }
            "missing" if live.is_some() && !someone => {
                problems.push("the schedule exists".to_owned());
            }
            _ => {}
        }
        for problem in problems {
            self.violation(format!(
                "I4 after round {round}: inline schedule {} in {} reported {outcome}, but {problem}",
                schedule.name, schedule.account
            ));
        }
    }

    fn check_outcome(&mut self, t: usize, outcome: &str, snapshot: Option<&Value>, round: usize) {
        let target = self.world.targets[t].clone();
        let someone = self.touched_by_now(t, round);
        let live = self.live(&target.account, target.kind, &target.name);
        let copies = self.copies(t);
        let name = &target.name;
        let mut problems = Vec::new();
        match outcome {
            "recreated" | "recreated-with-leftovers" => match (&live, snapshot) {
                (None, _) => problems.push("the definition does not exist".to_owned()),
                (Some(live), Some(snapshot)) if !someone => {
                    if !same_content(live, &self.world.flagged(&snapshot["describe"])) {
                        problems.push(format!(
                            "the definition is not the snapshot made compliant (flags {})",
                            flag(live)
                        ));
                    }
                    let expected = settable(&snapshot_tags(snapshot));
                    let live_desc = live.clone();
                    match self.live_tags(&target.account, &live_desc) {
                        Some(tags) if tags != expected => problems.push(format!(
                            "tags differ from the snapshot's: missing {:?}, extra {:?}",
                            expected.difference(&tags).collect::<Vec<_>>(),
                            tags.difference(&expected).collect::<Vec<_>>()
                        )),
                        _ => {}
                    }
                    if outcome == "recreated" && !copies.is_empty() {
                        problems.push(format!("copies remain: {:?}", names(&copies)));
                    }
                }
                _ => {}
            },
            "rolled-back" | "changed-since-plan" | "changed-during-run" | "failed-untouched" => {
                match &live {
                    None => problems.push("the original does not exist".to_owned()),
                    Some(live) => {
                        let known = self
                            .versions(t)
                            .iter()
                            .any(|(v, _, _)| same_content(live, v));
                        if outcome == "rolled-back"
                            && !someone
                            && let Some(snapshot) = snapshot
                            && !same_content(live, &snapshot["describe"])
                        {
                            problems.push(format!(
                                "the definition is not the snapshot (flags {})",
                                flag(live)
                            ));
                        } else if !known && !someone {
                            problems.push(format!(
                                "the definition is no version anyone made (flags {})",
                                flag(live)
                            ));
                        }
                    }
                }
                if !copies.is_empty() {
                    problems.push(format!("copies remain: {:?}", names(&copies)));
                }
            }
            "busy" if live.is_none() => {
                problems.push("the original does not exist".to_owned());
            }
            "missing" if live.is_some() && !someone => {
                problems.push("the definition exists".to_owned());
            }
            _ => {}
        }
        for problem in problems {
            self.violation(format!(
                "I4 after round {round}: {name} in {} reported {outcome}, but {problem}",
                target.account
            ));
        }
    }

    /// Every `item-finished` line written since the last check (see `Finished`).
    fn new_outcomes(&mut self) -> Vec<Finished> {
        let mut found = Vec::new();
        let runs = self.state_dir.join("runs");
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(&runs)
            .map(|e| e.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        dirs.sort();
        for dir in dirs {
            let path = dir.join("journal.jsonl");
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let lines: Vec<&str> = text.lines().collect();
            let restore_run = lines
                .first()
                .and_then(|l| serde_json::from_str::<Value>(l).ok())
                .is_some_and(|first| first["strategy"] == "restore");
            let seen = self.journal_seen.get(&path).copied().unwrap_or(0);
            for (number, line) in lines.iter().enumerate().skip(seen) {
                let Ok(record) = serde_json::from_str::<Value>(line) else {
                    continue;
                };
                if record["event"] != "item-finished" {
                    continue;
                }
                let at = self.journal_line_at.get(&(path.clone(), number)).copied();
                let schedule = record["item"]["kind"] == SCHEDULE_KIND;
                let kind = record["item"]["kind"]
                    .as_str()
                    .and_then(Kind::from_cli_name)
                    .or_else(|| serde_json::from_value(record["item"]["kind"].clone()).ok());
                if kind.is_none() && !schedule {
                    continue;
                }
                let name = record["item"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let outcome = record["outcome"].as_str().unwrap_or_default().to_owned();
                let account = record["item"]["account_id"]
                    .as_str()
                    .filter(|a| !a.is_empty())
                    .unwrap_or(ACCOUNT)
                    .to_owned();
                // A restore run's outcome says how putting a snapshot back went, not how the
                // fix went: the apply run it finishes records that (rolled back), and the
                // deterministic tests check restores of schedules.
                if schedule && restore_run {
                    continue;
                }
                let snapshot = latest_snapshot(&dir, schedule, &account, &name);
                found.push((kind, account, name, outcome, snapshot, at));
            }
            self.journal_seen.insert(path, lines.len());
        }
        found
    }

    /// The message of the last `item-finished` journaled for the definition `name`, in any run.
    fn last_message(&self, account: &str, name: &str) -> String {
        let runs = self.state_dir.join("runs");
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(&runs)
            .map(|e| e.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        dirs.sort();
        let mut last = String::new();
        for dir in dirs {
            let text = std::fs::read_to_string(dir.join("journal.jsonl")).unwrap_or_default();
            for record in text
                .lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            {
                if record["event"] == "item-finished"
                    && record["item"]["account_id"] == account
                    && record["item"]["name"] == name
                {
                    last = record["message"].as_str().unwrap_or_default().to_owned();
                }
            }
        }
        last
    }

    // ---------------------------------------------------------------------------------------
    // the race window
    // ---------------------------------------------------------------------------------------

    /// The indexes of the calls in the emulator's log that someone else's actions and the
    /// harness made: every other call is the tool's.
    fn not_the_tools(&self) -> BTreeSet<usize> {
        self.actions
            .iter()
            .flat_map(|a| a.own_calls.clone())
            .chain(self.harness_calls.iter().copied())
            .collect()
    }

    /// Whether someone's change (action `a`) to target `t` may have landed between the tool's
    /// last look at the original (`reads`: operation prefixes, e.g. Describe, ListTags) and a
    /// delete of it, with nothing else of the item's in between: the window SageMaker offers no
    /// conditional delete for.
    fn raced_definition(&self, t: usize, a: usize, reads: &[&str]) -> bool {
        let target = &self.world.targets[t];
        let action = &self.actions[a];
        let calls = self.emulator.calls();
        let delete = format!("Delete{}", target.kind.api_noun());
        let describe = format!("Describe{}", target.kind.api_noun());
        let read_ops: Vec<String> = reads
            .iter()
            .map(|r| {
                if *r == "Describe" {
                    describe.clone()
                } else {
                    (*r).to_owned()
                }
            })
            .collect();
        let own = self.not_the_tools();
        let is_d = |c: &RecordedCall| is_about(c, &target.account, &target.name);
        // The names the tool acts on between its re-check and the delete: the original and
        // its copy (schedules move before the re-check; and a schedule someone pointed at
        // another definition carries that one's calls, which the log cannot tell apart).
        let item_names: Vec<String> = std::iter::once(target.name.to_ascii_lowercase())
            .chain(std::iter::once(
                temporary_name(&target.name).to_ascii_lowercase(),
            ))
            .collect();
        for (d, call) in calls.iter().enumerate() {
            if call.operation != delete || !is_d(call) || own.contains(&d) {
                continue;
            }
            let in_flight = action.in_flight.contains(&d);
            if d < action.start_index && !in_flight {
                continue;
            }
            // The tool's last look at D before this delete.
            let Some(r) = (0..d).rev().find(|&i| {
                !own.contains(&i) && read_ops.contains(&calls[i].operation) && is_d(&calls[i])
            }) else {
                continue;
            };
            if r >= landed_at(action, &calls) {
                // It looked after the change landed: it could have seen it.
                continue;
            }
            let busy_between = (r + 1..d).any(|i| {
                let c = &calls[i];
                !own.contains(&i)
                    && MUTATING_OPERATIONS.contains(&c.operation.as_str())
                    && c.operation != delete
                    && c.account_id == target.account
                    && c.name
                        .as_deref()
                        .is_some_and(|n| item_names.contains(&n.to_ascii_lowercase()))
            });
            if !busy_between {
                return true;
            }
        }
        false
    }

    /// Where someone's change (action `a`) to target `t` fell among the tool's calls: for
    /// violation messages.
    fn window_story(&self, t: usize, a: usize) -> String {
        let target = &self.world.targets[t];
        let action = &self.actions[a];
        let calls = self.emulator.calls();
        let own = self.not_the_tools();
        let about_d =
            |i: usize| !own.contains(&i) && is_about(&calls[i], &target.account, &target.name);
        let describe = format!("Describe{}", target.kind.api_noun());
        let delete = format!("Delete{}", target.kind.api_noun());
        let last = |op: &str| {
            (0..action.start_index.min(calls.len()))
                .rev()
                .find(|&i| about_d(i) && calls[i].operation == op)
                .map_or("none".to_owned(), |i| format!("#{i}"))
        };
        let deletes: Vec<String> = (0..calls.len())
            .filter(|&i| about_d(i) && calls[i].operation == delete)
            .map(|i| format!("#{i} {}", calls[i].outcome))
            .collect();
        format!(
            "change at call #{}; before it the tool's last {describe} {} and ListTags {}; its deletes {:?}",
            action.start_index,
            last(&describe),
            last("ListTags"),
            deletes
        )
    }

    /// The same for a schedule someone repointed: the tool's update came right after a look at
    /// the schedule that preceded the repoint.
    fn raced_schedule(&self, s: usize, a: usize) -> bool {
        let schedule = &self.world.schedules[s];
        let action = &self.actions[a];
        let calls = self.emulator.calls();
        let own = self.not_the_tools();
        let is_s = |c: &RecordedCall| is_about(c, &schedule.account, &schedule.name);
        // Two updates of the schedule with no describe of it between them: neither sender could
        // have seen the other's, whoever sent which (the log cannot tell the tool's calls from
        // the harness's for certain).
        let on_s: Vec<usize> = (0..calls.len()).filter(|&i| is_s(&calls[i])).collect();
        let landed = landed_at(action, &calls);
        let adjacent_updates = on_s.windows(2).any(|pair| {
            pair.iter()
                .all(|&i| calls[i].operation == "UpdateMonitoringSchedule")
                && pair.contains(&landed)
        });
        if adjacent_updates {
            return true;
        }
        for (u, call) in calls.iter().enumerate() {
            if call.operation != "UpdateMonitoringSchedule" || !is_s(call) || own.contains(&u) {
                continue;
            }
            if u < action.start_index && !action.in_flight.contains(&u) {
                continue;
            }
            let Some(r) = (0..u).rev().find(|&i| {
                !own.contains(&i)
                    && calls[i].operation == "DescribeMonitoringSchedule"
                    && is_s(&calls[i])
            }) else {
                continue;
            };
            if r < landed_at(action, &calls) {
                return true;
            }
        }
        false
    }

    // ---------------------------------------------------------------------------------------
    // the end
    // ---------------------------------------------------------------------------------------

    /// Resume rounds without faults until exit 0, following printed manual actions verbatim.
    fn converge(&mut self) {
        let mut next: Vec<String> = self.command_args("resume", None);
        let mut converged = false;
        for attempt in 0..CLEAN_ROUNDS {
            self.begin_round(None);
            let label = format!("round{}-clean", self.round);
            let result = self.run_binary(&next, &label);
            let line = format!(
                "round {} clean `{}`: exit {:?}",
                self.round,
                next.iter()
                    .filter(|a| !a.starts_with("http"))
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" "),
                result.code
            );
            self.note(line);
            if result.hung {
                self.violation(format!("round {} (clean resume) hung", self.round));
            }
            let manual = manual_actions(&result.stderr);
            // I4: a printed restore fits only when the original is absent.
            for action in &manual {
                let words = shell_words(action);
                if words.iter().any(|w| w == "restore")
                    && let Some(path) = words.last()
                    && let Ok(text) = std::fs::read_to_string(path)
                    && let Ok(snapshot) = serde_json::from_str::<Value>(&text)
                {
                    let kind = serde_json::from_value::<Kind>(snapshot["kind"].clone()).ok();
                    let name = snapshot["name"].as_str().unwrap_or_default();
                    let account = snapshot["account_id"]
                        .as_str()
                        .unwrap_or(ACCOUNT)
                        .to_owned();
                    // Run verbatim, it must reach the snapshot's account.
                    if self.world.is_organization()
                        && !self.world.account_args.iter().any(|w| w == "--org")
                        && !words
                            .windows(2)
                            .any(|w| w[0] == "--account" && w[1] == account)
                        && account != ACCOUNT
                    {
                        self.violation(format!(
                            "the manual action `{action}` does not select account {account}, whose snapshot it restores"
                        ));
                    }
                    if let Some(kind) = kind
                        && self.live(&account, kind, name).is_some()
                    {
                        self.violation(format!(
                            "I4 after round {}: the manual action is `{action}`, but {name} exists",
                            self.round
                        ));
                    }
                }
            }
            // A restore's report says how the restore went (`updated-in-place`: the snapshot's
            // configuration is back), not that a fix is in place: only run reports are read so.
            if !next.iter().any(|w| w == "restore") {
                self.round_stdout = result.stdout.clone();
            }
            self.end_round();
            match result.code {
                // A manual action done: resume again, for the other items that may need one.
                Some(0) if next.iter().any(|w| w == "restore") => {
                    next = self.command_args("resume", None);
                }
                Some(0) => {
                    converged = true;
                    break;
                }
                Some(4) if !manual.is_empty() => {
                    let words = shell_words(&manual[0]);
                    if words.first().map(String::as_str) != Some("sm-recreate") {
                        self.violation(format!(
                            "the manual action is not a command: {}",
                            manual[0]
                        ));
                        break;
                    }
                    next = words[1..].to_vec();
                    if !next.iter().any(|w| w == "--endpoint-url") {
                        self.violation(format!(
                            "the manual action `{}` does not name the endpoint",
                            manual[0]
                        ));
                        break;
                    }
                }
                Some(4) => {
                    self.violation(format!(
                        "round {}: exit 4 without a manual action:\n{}",
                        self.round,
                        tail(&result.stderr)
                    ));
                    next = self.command_args("resume", None);
                }
                Some(1) => next = self.command_args("resume", None),
                other => {
                    self.violation(format!(
                        "round {}: resume exited {other:?}:\n{}",
                        self.round,
                        tail(&result.stderr)
                    ));
                    next = self.command_args("resume", None);
                }
            }
            let _ = attempt;
        }
        if !converged {
            self.violation(format!(
                "I6: no exit 0 after {CLEAN_ROUNDS} resume rounds without faults"
            ));
            return;
        }
        // A second resume: exit 0, not one mutating call.
        self.begin_round(None);
        let before = calls_len(&self.emulator);
        let args = self.command_args("resume", None);
        let label = format!("round{}-noop", self.round);
        let result = self.run_binary(&args, &label);
        let mutating: Vec<String> = self.emulator.calls()[before..]
            .iter()
            .filter(|c| MUTATING_OPERATIONS.contains(&c.operation.as_str()))
            .map(|c| format!("{} {}", c.operation, c.name.as_deref().unwrap_or("")))
            .collect();
        if result.code != Some(0) {
            self.violation(format!(
                "I6: the second resume exited {:?}:\n{}",
                result.code,
                tail(&result.stderr)
            ));
        }
        if !mutating.is_empty() {
            self.violation(format!(
                "I6: the second resume sent mutating calls: {mutating:?}"
            ));
        }
        self.round_stdout = result.stdout;
        self.end_round();
    }

    fn final_check(&mut self) {
        let mut landed_tags: BTreeMap<usize, Vec<TagAdd>> = BTreeMap::new();
        for (i, action) in self.actions.iter().enumerate() {
            if let ActionKind::AddTag(t) = action.kind
                && action.performed
                && action.landed != Landed::No
            {
                landed_tags
                    .entry(t)
                    .or_default()
                    .push((i, action.tags[0].clone(), action.landed));
            }
        }
        for t in 0..self.world.targets.len() {
            let target = self.world.targets[t].clone();
            let versions = self.versions(t);
            let (base, base_tags, by) = versions.last().expect("original").clone();
            let replaced_at = by.map(|i| self.actions[i].start_index).unwrap_or(0);
            // Tag additions after the latest version: they must be on it.
            let adds: Vec<TagAdd> = landed_tags
                .get(&t)
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter(|(i, _, _)| self.actions[*i].start_index >= replaced_at)
                .collect();
            let Some(live) = self.live(&target.account, target.kind, &target.name) else {
                self.violation(format!(
                    "final: {} in {} does not exist",
                    target.name, target.account
                ));
                continue;
            };
            let tags = self.live_tags(&target.account, &live).unwrap_or_default();
            // Untouched (or put back exactly as it was: same content, new CreationTime) or fixed.
            let untouched = same_content(&live, &base);
            let fixed = same_content(&live, &self.world.flagged(&base));
            let expected_tags = settable(&base_tags);
            let extra: BTreeSet<(String, String)> =
                tags.difference(&expected_tags).cloned().collect();
            let missing: BTreeSet<(String, String)> =
                expected_tags.difference(&tags).cloned().collect();
            let mut lost_tags = Vec::new();
            for (i, tag, landed) in &adds {
                if !tags.contains(tag) && *landed == Landed::Yes {
                    lost_tags.push(*i);
                }
            }
            let unexplained_extra: Vec<&(String, String)> = extra
                .iter()
                .filter(|tag| !adds.iter().any(|(_, added, _)| added == *tag))
                .collect();
            if (untouched || fixed)
                && missing.is_empty()
                && unexplained_extra.is_empty()
                && lost_tags.is_empty()
            {
                continue;
            }
            // Not as expected: a loss in the delete window, or a violation.
            let mut raced = false;
            if !(untouched || fixed)
                && let Some(action) = by
                && versions.iter().rev().skip(1).any(|(v, _, _)| {
                    same_content(&live, &self.world.flagged(v)) || same_content(&live, v)
                })
                && self.raced_definition(t, action, &["Describe", "ListTags"])
            {
                raced = true;
            }
            if (untouched || fixed) && !lost_tags.is_empty() {
                raced = lost_tags
                    .iter()
                    .all(|&i| self.raced_definition(t, i, &["ListTags"]));
                if raced && !(missing.is_empty() && unexplained_extra.is_empty()) {
                    raced = false;
                }
            }
            if raced {
                self.report.race_windows += 1;
                self.note(format!(
                    "final: {}: someone else's change lost in the delete window (tolerated)",
                    target.name
                ));
                continue;
            }
            self.violation(format!(
                "final: {} in {} is neither fixed exactly, untouched, nor changed only by someone else: {}{}{}{}",
                target.name,
                target.account,
                if untouched {
                    "describe untouched".to_owned()
                } else if fixed {
                    "describe fixed".to_owned()
                } else {
                    format!(
                        "describe is {} (flags {})",
                        if versions.iter().any(|(v, _, _)| same_content(&live, &self.world.flagged(v)) || same_content(&live, v)) {
                            "an earlier version"
                        } else {
                            "unknown content"
                        },
                        flag(&live)
                    ) + &by.map(|a| format!(" ({})", self.window_story(t, a))).unwrap_or_default()
                },
                if missing.is_empty() { String::new() } else { format!("; tags missing {missing:?}") },
                if unexplained_extra.is_empty() { String::new() } else { format!("; extra tags {unexplained_extra:?}") },
                if lost_tags.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; someone else's tag lost: {:?} ({})",
                        lost_tags.iter().map(|&i| &self.actions[i].tags[0]).collect::<Vec<_>>(),
                        self.window_story(t, lost_tags[0])
                    )
                },
            ));
        }
        // No temporary copies, no stray definitions; bystanders untouched.
        for t in 0..self.world.targets.len() {
            let copies = self.copies(t);
            // A copy the tool kept on purpose and said so (it is then the only compliant copy
            // of content someone else replaced after the recreate): named in its last outcome.
            let target = &self.world.targets[t];
            let named = self.last_message(&target.account, &target.name);
            if !copies.is_empty() && !copies.iter().all(|(copy, _)| named.contains(copy.as_str())) {
                let account = target.account.clone();
                self.violation(format!(
                    "final: temporary copies remain in {account}: {:?}",
                    names(&copies)
                ));
            }
        }
        for bystander in self.world.bystanders.clone() {
            if self
                .live(&bystander.account, bystander.kind, &bystander.name)
                .as_ref()
                != Some(&bystander.original)
            {
                self.violation(format!(
                    "final: bystander {} in {} was changed",
                    bystander.name, bystander.account
                ));
            }
        }
        for account in self.world.accounts.clone() {
            for kind in Kind::ALL {
                for name in self
                    .emulator
                    .account(&account)
                    .definition_names(REGION, kind)
                {
                    let mine = |t: &&Target| t.account == account && t.kind == kind;
                    let known = self
                        .world
                        .all_definitions()
                        .filter(mine)
                        .any(|t| t.name.eq_ignore_ascii_case(&name));
                    let copy = self
                        .world
                        .targets
                        .iter()
                        .filter(mine)
                        .any(|t| temporary_name(&t.name).eq_ignore_ascii_case(&name));
                    if !known && !copy {
                        self.violation(format!("final: stray definition {name} in {account}"));
                    }
                }
            }
        }
        // Schedules: deleted ones stay deleted, repointed ones stay where someone put them, the
        // rest point at their own definition.
        for (s, schedule) in self.world.schedules.clone().into_iter().enumerate() {
            // The last in the order they were made (not the order they were drawn in).
            let last = self
                .actions
                .iter()
                .enumerate()
                .filter(|(_, a)| {
                    a.performed
                        && a.landed != Landed::No
                        && matches!(a.kind, ActionKind::DeleteSchedule(x) | ActionKind::Repoint(x) if x == s)
                })
                .max_by_key(|(_, a)| (a.round, a.start_index, a.at_calls))
                .map(|(i, a)| (i, a.clone()));
            let now = schedule_target(&self.emulator, &schedule.account, &schedule.name);
            let own = &self.world.targets[schedule.target].name;
            match (last, now) {
                (Some((_, action)), Some(_))
                    if matches!(action.kind, ActionKind::DeleteSchedule(_))
                        && action.landed == Landed::Yes =>
                {
                    self.violation(format!(
                        "final: schedule {} was deleted by someone else, and exists again",
                        schedule.name
                    ));
                }
                (Some((i, action)), Some(now)) if matches!(action.kind, ActionKind::Repoint(_)) => {
                    let to = action.repointed_to.clone().unwrap_or_default();
                    let there = now.eq_ignore_ascii_case(&to);
                    let home = now.eq_ignore_ascii_case(own);
                    if !(there || action.landed == Landed::Unknown && home) {
                        if self.raced_schedule(s, i) {
                            self.report.race_windows += 1;
                            self.note(format!(
                                "final: schedule {}: someone's repoint lost in the update window (tolerated)",
                                schedule.name
                            ));
                        } else {
                            self.violation(format!(
                                "I5 final: schedule {} was repointed by someone else to {to}, but points at {now}",
                                schedule.name
                            ));
                        }
                    }
                }
                (None, None) => self.violation(format!(
                    "final: schedule {} in {} is gone",
                    schedule.name, schedule.account
                )),
                // On a copy the tool kept and named in its last outcome, with the schedule.
                (None, Some(now))
                    if !now.eq_ignore_ascii_case(own)
                        && !{
                            let message = self.last_message(&schedule.account, own);
                            message.contains(now.as_str())
                                && message.contains(schedule.name.as_str())
                        } =>
                {
                    self.violation(format!(
                        "final: schedule {} in {} points at {now}, not {own}",
                        schedule.name, schedule.account
                    ));
                }
                _ => {}
            }
        }
        // A definition the run's flags already hold is never touched.
        let calls = self.emulator.calls();
        let own = self.not_the_tools();
        for target in self.world.targets.clone() {
            if !self.world.compliant(&target.original) {
                continue;
            }
            let touched: Vec<String> = calls
                .iter()
                .enumerate()
                .filter(|(i, c)| {
                    !own.contains(i)
                        && is_about(c, &target.account, &target.name)
                        && MUTATING_OPERATIONS.contains(&c.operation.as_str())
                })
                .map(|(i, c)| format!("#{i} {}", c.operation))
                .collect();
            if !touched.is_empty() {
                self.violation(format!(
                    "final: {} is compliant with {:?}, yet the tool sent {touched:?}",
                    target.name, self.world.fixes
                ));
            }
        }
        self.final_inline_check();
        self.check_inline_journals();
    }

    /// The last outcome journaled for the inline schedule `name` in any run, and whether any
    /// run planned it.
    fn inline_outcome(&self, account: &str, name: &str) -> (Option<String>, bool) {
        let runs = self.state_dir.join("runs");
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(&runs)
            .map(|e| e.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        dirs.sort();
        let about = |item: &Value| {
            item["kind"] == SCHEDULE_KIND
                && item["account_id"] == account
                && item["name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
        };
        let mut last = None;
        let mut planned = false;
        for dir in dirs {
            let text = std::fs::read_to_string(dir.join("journal.jsonl")).unwrap_or_default();
            // Restore runs put a snapshot back; the apply run they finish says how the fix went.
            let restore_run = text
                .lines()
                .next()
                .and_then(|l| serde_json::from_str::<Value>(l).ok())
                .is_some_and(|first| first["strategy"] == "restore");
            if restore_run {
                continue;
            }
            for record in text
                .lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            {
                if record["event"] == "item-finished" && about(&record["item"]) {
                    last = record["outcome"].as_str().map(str::to_owned);
                }
                if record["event"] == "run-started"
                    && record["items"]
                        .as_array()
                        .is_some_and(|items| items.iter().any(|i| about(&i["item"])))
                {
                    planned = true;
                }
            }
        }
        (last, planned)
    }

    /// The end state of every inline schedule: never deleted (or created, stopped, started) by
    /// the tool; untouched when the run's flags hold already; its configuration the original,
    /// the original with exactly the run's flags set, or the latest someone else set (never a
    /// mix); its status as seeded or as someone else left it; and the last outcome true of it.
    fn final_inline_check(&mut self) {
        if self.world.inline.is_empty() {
            return;
        }
        // Whatever was Pending settles.
        std::thread::sleep(self.settle + Duration::from_millis(20));
        let calls = self.emulator.calls();
        let own = self.not_the_tools();
        for (i, schedule) in self.world.inline.clone().into_iter().enumerate() {
            let name = schedule.name.clone();
            let account = schedule.account.clone();
            for (index, call) in calls.iter().enumerate() {
                if own.contains(&index) || !is_about(call, &account, &name) {
                    continue;
                }
                if matches!(
                    call.operation.as_str(),
                    "DeleteMonitoringSchedule"
                        | "CreateMonitoringSchedule"
                        | "StopMonitoringSchedule"
                        | "StartMonitoringSchedule"
                ) {
                    self.violation(format!(
                        "final: the tool sent {} for inline schedule {name} (call #{index})",
                        call.operation
                    ));
                }
            }
            let updates_sent: Vec<usize> = (0..calls.len())
                .filter(|&index| {
                    !own.contains(&index)
                        && calls[index].operation == "UpdateMonitoringSchedule"
                        && is_about(&calls[index], &account, &name)
                })
                .collect();
            let original = schedule.original.clone();
            let fixed = self.world.fixed_config(&original);
            let compliant = self.world.compliant(&original["MonitoringJobDefinition"]);
            // Unless someone else changed it (then the tool may have planned on theirs).
            let changed_by_someone = self.actions.iter().any(|a| {
                a.performed
                    && a.landed != Landed::No
                    && matches!(a.kind, ActionKind::InlineUpdate(x) if x == i)
            });
            if compliant && !changed_by_someone && !updates_sent.is_empty() {
                self.violation(format!(
                    "final: inline schedule {name} is compliant with {:?}, yet the tool sent \
                     UpdateMonitoringSchedule (calls {updates_sent:?})",
                    self.world.fixes
                ));
            }
            // Someone else's actions on it that may have landed, in the order they were made.
            let mut theirs: Vec<usize> = (0..self.actions.len())
                .filter(|&a| {
                    let action = &self.actions[a];
                    action.performed
                        && action.landed != Landed::No
                        && matches!(action.kind,
                            ActionKind::InlineUpdate(x) | ActionKind::InlineStop(x)
                            | ActionKind::InlineStart(x) | ActionKind::InlineDelete(x) if x == i)
                })
                .collect();
            theirs.sort_by_key(|&a| {
                let action = &self.actions[a];
                (action.round, action.start_index, action.at_calls)
            });
            let deleted = theirs.iter().any(|&a| {
                matches!(self.actions[a].kind, ActionKind::InlineDelete(_))
                    && self.actions[a].landed == Landed::Yes
            });
            let Some(live) = self.emulator.account(&account).schedule(REGION, &name) else {
                if !theirs
                    .iter()
                    .any(|&a| matches!(self.actions[a].kind, ActionKind::InlineDelete(_)))
                {
                    self.violation(format!(
                        "final: inline schedule {name} no longer exists, and nobody else deleted it"
                    ));
                }
                continue;
            };
            if deleted {
                self.violation(format!(
                    "final: inline schedule {name} was deleted by someone else, and exists again"
                ));
                continue;
            }
            let config = live["MonitoringScheduleConfig"].clone();
            // The configurations it may hold.
            let updates: Vec<usize> = theirs
                .iter()
                .copied()
                .filter(|&a| matches!(self.actions[a].kind, ActionKind::InlineUpdate(_)))
                .collect();
            let config_of = |a: usize| self.actions[a].config.clone().unwrap_or_default();
            let last_sure = updates
                .iter()
                .rposition(|&a| self.actions[a].landed == Landed::Yes);
            // Configurations compare as the service reads them (a flag absent is false), as the
            // tool compares them.
            let config_n = normalized(&config);
            let original_n = normalized(&original);
            // The versions it may hold: the original, until someone's update surely landed; then
            // the last such, or a later one that may have landed.
            let mut versions = match last_sure {
                None => vec![(original.clone(), None)],
                Some(p) => vec![(config_of(updates[p]), Some(updates[p]))],
            };
            versions.extend(
                updates[last_sure.map_or(0, |p| p + 1)..]
                    .iter()
                    .map(|&a| (config_of(a), Some(a))),
            );
            // Each fixed, if the tool planned on it: the original always; someone's only if the
            // tool snapshotted the schedule after their change took effect.
            let mut acceptable: Vec<Value> = versions.iter().map(|(v, _)| normalized(v)).collect();
            for (version, by) in &versions {
                if by.is_none_or(|a| self.snapshot_after(&account, &name, a)) {
                    acceptable.push(normalized(&self.world.fixed_config(version)));
                }
            }
            let someones_config = updates
                .iter()
                .any(|&a| normalized(&config_of(a)) == config_n);
            // This run's fix of something it planned on (and not someone's own setting).
            let planned_on = self.schedule_snapshot_configs(&account, &name);
            let is_fix = !someones_config
                && std::iter::once(&original).chain(&planned_on).any(|base| {
                    normalized(&self.world.fixed_config(base)) == config_n
                        && normalized(base) != config_n
                });
            let config = config_n;
            let original = original_n;
            let fixed = normalized(&fixed);
            if !acceptable.contains(&config) {
                let what = if config == original && is_fix {
                    "the original configuration, which is also this run's fix of what it planned on"
                        .to_owned()
                } else if config == original {
                    "the original configuration".to_owned()
                } else if is_fix {
                    "this run's fix of an earlier configuration".to_owned()
                } else if someones_config {
                    "an earlier configuration someone else set".to_owned()
                } else {
                    format!(
                        "a configuration nobody made (a mix?): {}",
                        config_story(&config)
                    )
                };
                let lost = last_sure.map(|p| updates[p]);
                let known = config == original || is_fix || someones_config;
                if let Some(a) = lost
                    && known
                    && self.raced_inline(&account, &name, a)
                {
                    self.report.race_windows += 1;
                    self.note(format!(
                        "final: inline schedule {name}: someone's change lost in the update window (tolerated)"
                    ));
                } else {
                    self.violation(format!(
                        "final: inline schedule {name} holds {what}{}",
                        lost.map(|a| format!(
                            ", though someone else's change landed after it: {} ({})",
                            self.actions[a].detail,
                            self.inline_window_story(&account, &name, a)
                        ))
                        .unwrap_or_default()
                    ));
                }
            }
            // The last outcome is true of it.
            let (outcome, planned) = self.inline_outcome(&account, &name);
            self.note(format!(
                "final: inline schedule {name}: {} ({}), {}, last outcome {outcome:?}",
                config_story(&config),
                if config == original {
                    "the original"
                } else if is_fix {
                    "fixed"
                } else {
                    "someone else's"
                },
                live["MonitoringScheduleStatus"]
                    .as_str()
                    .unwrap_or_default()
            ));
            let untouched_claims = [
                "rolled-back",
                "refused",
                "failed-untouched",
                "changed-since-plan",
            ];
            if is_fix
                && let Some(outcome) = &outcome
                && untouched_claims.contains(&outcome.as_str())
            {
                self.violation(format!(
                    "final: inline schedule {name} holds this run's fix, but the last report says {outcome}"
                ));
            }
            if outcome.as_deref() == Some("updated-in-place")
                && updates.is_empty()
                && config != fixed
            {
                self.violation(format!(
                    "final: inline schedule {name} was reported updated-in-place, but holds {}",
                    config_story(&config)
                ));
            }
            if planned && outcome.is_none() {
                self.violation(format!(
                    "final: inline schedule {name} was planned, but no outcome was ever reported"
                ));
            }
            // Its status: as seeded, or as someone else's last stop/start left it.
            let failing = self
                .failing_schedules
                .iter()
                .any(|glob| sm_recreate::kinds::glob_match(glob, &name));
            let switches: Vec<usize> = theirs
                .iter()
                .copied()
                .filter(|&a| {
                    matches!(
                        self.actions[a].kind,
                        ActionKind::InlineStop(_) | ActionKind::InlineStart(_)
                    )
                })
                .collect();
            let unsure = switches
                .iter()
                .any(|&a| self.actions[a].landed == Landed::Unknown);
            if !failing && !unsure {
                let expected = match switches.last().map(|&a| self.actions[a].kind) {
                    Some(ActionKind::InlineStop(_)) => "Stopped",
                    Some(_) => "Scheduled",
                    None if schedule.stopped => "Stopped",
                    None => "Scheduled",
                };
                let status = live["MonitoringScheduleStatus"]
                    .as_str()
                    .unwrap_or_default();
                if status != expected {
                    self.violation(format!(
                        "final: inline schedule {name} is {status}, but was left {expected}"
                    ));
                }
            }
        }
    }

    /// Whether the tool snapshotted the inline schedule `name` after someone's change (action
    /// `a`) took effect, so that what it then fixed was their configuration: a snapshot holding
    /// their configuration whose `LastModifiedTime` is that of their update or later.
    fn snapshot_after(&self, account: &str, name: &str, a: usize) -> bool {
        let action = &self.actions[a];
        let (Some(config), Some(modified)) = (
            &action.config,
            action
                .describe
                .as_ref()
                .and_then(|d| d["LastModifiedTime"].as_f64()),
        ) else {
            return false;
        };
        let wanted = format!("{account}.{REGION}.{SCHEDULE_KIND}.{name}.json").to_ascii_lowercase();
        for run in std::fs::read_dir(self.state_dir.join("runs"))
            .into_iter()
            .flatten()
            .flatten()
        {
            for file in std::fs::read_dir(run.path().join("snapshots"))
                .into_iter()
                .flatten()
                .flatten()
            {
                if file.file_name().to_string_lossy().to_ascii_lowercase() == wanted
                    && let Ok(text) = std::fs::read_to_string(file.path())
                    && let Ok(snapshot) = serde_json::from_str::<Value>(&text)
                    && normalized(&snapshot["describe"]["MonitoringScheduleConfig"])
                        == normalized(config)
                    && snapshot["describe"]["LastModifiedTime"]
                        .as_f64()
                        .is_some_and(|t| t >= modified)
                {
                    return true;
                }
            }
        }
        false
    }

    /// The configurations of every snapshot of the inline schedule `name`, in any run.
    fn schedule_snapshot_configs(&self, account: &str, name: &str) -> Vec<Value> {
        let wanted = format!("{account}.{REGION}.{SCHEDULE_KIND}.{name}.json").to_ascii_lowercase();
        let mut configs = Vec::new();
        for run in std::fs::read_dir(self.state_dir.join("runs"))
            .into_iter()
            .flatten()
            .flatten()
        {
            for file in std::fs::read_dir(run.path().join("snapshots"))
                .into_iter()
                .flatten()
                .flatten()
            {
                if file.file_name().to_string_lossy().to_ascii_lowercase() == wanted
                    && let Ok(text) = std::fs::read_to_string(file.path())
                    && let Ok(snapshot) = serde_json::from_str::<Value>(&text)
                {
                    configs.push(snapshot["describe"]["MonitoringScheduleConfig"].clone());
                }
            }
        }
        configs
    }

    /// Every step journaled for an inline schedule comes after its `item-started` in the same
    /// journal, and that line's snapshot is on disk.
    fn check_inline_journals(&mut self) {
        let runs = self.state_dir.join("runs");
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(&runs)
            .map(|e| e.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        dirs.sort();
        for dir in dirs {
            let text = std::fs::read_to_string(dir.join("journal.jsonl")).unwrap_or_default();
            let mut started: BTreeSet<(String, String)> = BTreeSet::new();
            for record in text
                .lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            {
                if record["item"]["kind"] != SCHEDULE_KIND {
                    continue;
                }
                let name = record["item"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                let key = (
                    record["item"]["account_id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    name.clone(),
                );
                if record["event"] == "item-started" {
                    let snapshot = record["snapshot"].as_str().unwrap_or_default();
                    if !Path::new(snapshot).is_file() {
                        self.violation(format!(
                            "journal {}: item-started for schedule {name} names snapshot {snapshot}, which is not on disk",
                            dir.display()
                        ));
                    }
                    started.insert(key);
                } else if record["event"] == "step" && !started.contains(&key) {
                    self.violation(format!(
                        "journal {}: step {} of schedule {name} before its item-started (no snapshot)",
                        dir.display(),
                        record["step"]
                    ));
                }
            }
        }
    }

    /// Whether someone's update (action `a`) of the inline schedule `name` may have been
    /// overwritten in the window `UpdateMonitoringSchedule` has no conditional form for: an
    /// update of the tool's that may have acted, sent after a look at the schedule that came
    /// before their change landed.
    fn raced_inline(&self, account: &str, name: &str, a: usize) -> bool {
        let action = &self.actions[a];
        let calls = self.emulator.calls();
        let own = self.not_the_tools();
        // When their change took effect, at the latest: when its answer was seen (a call is
        // logged when it arrives; a delay fault may hold it while later calls are handled).
        let landed = landed_at(action, &calls);
        let landed = self.completed_at.get(&landed).copied().unwrap_or(landed);
        for (u, call) in calls.iter().enumerate() {
            if call.operation != "UpdateMonitoringSchedule"
                || !is_about(call, account, name)
                || own.contains(&u)
            {
                continue;
            }
            if !matches!(
                call.outcome.as_str(),
                "ok" | "dropped" | "InternalFailure" | "ServiceUnavailable" | "in-flight"
            ) {
                continue;
            }
            if u < action.start_index && !action.in_flight.contains(&u) {
                continue;
            }
            let Some(r) = (0..u).rev().find(|&i| {
                !own.contains(&i)
                    && calls[i].operation == "DescribeMonitoringSchedule"
                    && is_about(&calls[i], account, name)
            }) else {
                continue;
            };
            if r < landed {
                return true;
            }
        }
        false
    }

    /// The tool's calls on the inline schedule around someone's change (action `a`), for
    /// violation messages.
    fn inline_window_story(&self, account: &str, name: &str, a: usize) -> String {
        let action = &self.actions[a];
        let calls = self.emulator.calls();
        let own = self.not_the_tools();
        let landed = landed_at(action, &calls);
        let tools: Vec<String> = (0..calls.len())
            .filter(|&i| !own.contains(&i) && is_about(&calls[i], account, name))
            .filter(|&i| i + 40 >= landed && i <= landed + 40)
            .map(|i| format!("#{i} {} {}", calls[i].operation, calls[i].outcome))
            .collect();
        format!("their change at call #{landed}; the tool's calls around it: {tools:?}")
    }
}

// -------------------------------------------------------------------------------------------
// JSON helpers
// -------------------------------------------------------------------------------------------

/// The describe JSON without what a recreate changes or the name carries.
fn comparable(describe: &Value) -> Value {
    let mut value = describe.clone();
    if let Some(object) = value.as_object_mut() {
        object.shift_remove("CreationTime");
        object.shift_remove("JobDefinitionArn");
        object.shift_remove("JobDefinitionName");
    }
    value
}

fn same_content(a: &Value, b: &Value) -> bool {
    comparable(a) == comparable(b)
}

/// The describe JSON (or an inline job) with `fixes` set true, `NetworkConfig` created when
/// absent, everything else as it was: what a recreate or an in-place fix must produce.
fn flagged(describe: &Value, fixes: &[Fix]) -> Value {
    let mut value = describe.clone();
    if !value.get("NetworkConfig").is_some_and(Value::is_object) {
        value["NetworkConfig"] = json!({});
    }
    for fix in fixes {
        value["NetworkConfig"][fix.member()] = json!(true);
    }
    value
}

/// Both flags as seen, for messages: `encryption Some(false), isolation None`.
fn flag(describe: &Value) -> String {
    let network = &describe["NetworkConfig"];
    format!(
        "encryption {:?}, isolation {:?}",
        network[Fix::Encryption.member()].as_bool(),
        network[Fix::Isolation.member()].as_bool()
    )
}

fn settable(tags: &BTreeSet<(String, String)>) -> BTreeSet<(String, String)> {
    tags.iter()
        .filter(|(k, _)| !k.starts_with("aws:"))
        .cloned()
        .collect()
}

fn snapshot_tags(snapshot: &Value) -> BTreeSet<(String, String)> {
    snapshot["tags"]
        .as_array()
        .map(|tags| {
            tags.iter()
                .map(|t| {
                    (
                        t["Key"].as_str().unwrap_or_default().to_owned(),
                        t["Value"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn names(copies: &[(String, Value)]) -> Vec<&str> {
    copies.iter().map(|(n, _)| n.as_str()).collect()
}

/// The journal's and the snapshots' kind of a monitoring schedule.
const SCHEDULE_KIND: &str = "monitoring-schedule";

/// The run's latest snapshot of the definition (or, `schedule`, the monitoring schedule) `name`
/// in `account`.
fn latest_snapshot(run_dir: &Path, schedule: bool, account: &str, name: &str) -> Option<Value> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(run_dir.join("snapshots"))
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .filter_map(|p| serde_json::from_str::<Value>(&std::fs::read_to_string(p).ok()?).ok())
        .rfind(|s| {
            (s["kind"] == SCHEDULE_KIND) == schedule
                && s["account_id"] == account
                && s["name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
}

/// Whether a snapshot of the monitoring schedule `name` is on disk in any run of the state
/// directory (snapshots are written to a temporary file and renamed: one that exists is whole).
fn schedule_snapshot_on_disk(state_dir: &Path, account: &str, name: &str) -> bool {
    let wanted = format!("{account}.{REGION}.{SCHEDULE_KIND}.{name}.json").to_ascii_lowercase();
    std::fs::read_dir(state_dir.join("runs"))
        .map(|runs| {
            runs.flatten().any(|run| {
                std::fs::read_dir(run.path().join("snapshots")).is_ok_and(|files| {
                    files
                        .flatten()
                        .any(|f| f.file_name().to_string_lossy().to_ascii_lowercase() == wanted)
                })
            })
        })
        .unwrap_or(false)
}

/// An inline schedule's configuration as the service reads it (and the tool compares it): the
/// inline job's `NetworkConfig` flags made explicit booleans, absent being false.
fn normalized(config: &Value) -> Value {
    let mut config = config.clone();
    if let Some(job) = config.get_mut("MonitoringJobDefinition")
        && job.is_object()
    {
        if !job.get("NetworkConfig").is_some_and(Value::is_object) {
            job["NetworkConfig"] = json!({});
        }
        for fix in Fix::ALL {
            let on = job["NetworkConfig"][fix.member()].as_bool() == Some(true);
            job["NetworkConfig"][fix.member()] = json!(on);
        }
    }
    config
}

/// An inline schedule's configuration in brief, for messages: its flags and `Environment.MODE`.
fn config_story(config: &Value) -> String {
    let job = &config["MonitoringJobDefinition"];
    format!(
        "{}{}, MODE {}",
        if job.get("NetworkConfig").is_none() {
            "no NetworkConfig, ".to_owned()
        } else {
            String::new()
        },
        flag(job),
        job["Environment"]["MODE"]
    )
}

fn manual_actions(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|l| {
            l.split_once("needs manual action: ")
                .map(|(_, a)| a.trim().to_owned())
        })
        .collect()
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(12)..].join("\n")
}

// -------------------------------------------------------------------------------------------
// one case
// -------------------------------------------------------------------------------------------

fn scratch_dir(root: &Path, seed: u64) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = root.join(format!("case-{seed}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create the case directory");
    dir
}

/// Runs the case for `seed` under `root` (a scratch directory). `prepare_process_env` must have
/// run first.
pub fn run_case(seed: u64, root: &Path, options: &Options) -> CaseReport {
    let started = Instant::now();
    let mut rng = Rng::new(seed);
    let mut org_rng = Rng::organization(seed);
    let (mut world, emulator_seed) = World::generate(&mut rng, &mut org_rng);
    let settle = if rng.chance(0.7) {
        Duration::ZERO
    } else {
        Duration::from_millis(40)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("emulator runtime");
    // A seeded execution in progress completes this long after the emulator starts.
    let execution = Duration::from_millis(*rng.pick(&[300u64, 900, 1800]));
    let emulator = runtime
        .block_on(sm_emulator::start(
            EmulatorConfig {
                seed: emulator_seed,
                behaviour: Behaviour {
                    execution_duration: execution,
                    ..clean_behaviour(settle)
                },
            },
            SocketAddr::from(([127, 0, 0, 1], 0)),
        ))
        .expect("start the emulator");
    for target in world.targets.iter_mut().chain(world.bystanders.iter_mut()) {
        target.original = emulator
            .account(&target.account)
            .definition(REGION, target.kind, &target.name)
            .expect("seeded definition");
    }
    for inline in &mut world.inline {
        inline.original = emulator
            .account(&inline.account)
            .schedule(REGION, &inline.name)
            .expect("seeded schedule")["MonitoringScheduleConfig"]
            .clone();
    }
    let dir = scratch_dir(root, seed);
    let state_dir = dir.join("state");
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&state_dir)
        .expect("create the state dir");
    let actions = plan_actions(&mut rng, &world);
    let clients = runtime.block_on(someone_clients(&emulator.endpoint_url(), &world.accounts));
    let mut case = Case {
        options,
        seed,
        rng,
        org_rng,
        world: Arc::new(world),
        emulator: Arc::new(emulator),
        runtime,
        dir: dir.clone(),
        state_dir,
        patience: supports_patience(),
        settle,
        actions,
        report: CaseReport {
            seed,
            ..CaseReport::default()
        },
        journal_seen: BTreeMap::new(),
        round: 0,
        rounds: Vec::new(),
        harness_calls: BTreeSet::new(),
        clients: Arc::new(clients),
        failing_schedules: BTreeSet::new(),
        round_stdout: String::new(),
        round_inline_updates: Vec::new(),
        round_definition_mutations: Vec::new(),
        watcher: None,
        completed_at: BTreeMap::new(),
        journal_line_at: BTreeMap::new(),
        round_end_calls: 0,
        inline_updates_seen: BTreeMap::new(),
    };
    case.report.definitions = case.world.targets.len();
    case.report.accounts = case.world.accounts.len();
    let summary: Vec<String> = case
        .world
        .targets
        .iter()
        .map(|t| {
            let schedules = case
                .world
                .schedules
                .iter()
                .filter(|s| s.target == t.name_index(&case.world))
                .count();
            format!(
                "{}{} {} ({} tags, {}{}{})",
                if case.world.is_organization() {
                    format!("{}: ", t.account)
                } else {
                    String::new()
                },
                t.kind.cli_name(),
                t.name,
                t.tags.len(),
                if t.original.get("NetworkConfig").is_none() {
                    "no NetworkConfig".to_owned()
                } else {
                    flag(&t.original)
                },
                if case.world.compliant(&t.original) {
                    ", compliant"
                } else {
                    ""
                },
                if schedules > 0 {
                    format!(", {schedules} schedule(s)")
                } else {
                    String::new()
                }
            )
        })
        .collect();
    case.note(format!("definitions: {}", summary.join("; ")));
    case.note(format!(
        "fixes: {:?} (--fix {:?})",
        case.world.fixes, case.world.fix_args
    ));
    if case.world.is_organization() {
        case.note(format!(
            "organization: accounts {:?}, selected {:?} ({})",
            case.world.accounts,
            case.world.selected,
            case.world.account_args.join(" ")
        ));
    }
    for s in case.world.inline.clone() {
        let job = &s.original["MonitoringJobDefinition"];
        case.note(format!(
            "inline schedule {} in {} ({}{}{}{})",
            s.name,
            s.account,
            if job.get("NetworkConfig").is_none() {
                "no NetworkConfig".to_owned()
            } else {
                flag(job)
            },
            if case.world.compliant(job) {
                ", compliant"
            } else {
                ""
            },
            if s.stopped {
                ", Stopped"
            } else {
                ", Scheduled"
            },
            if s.running {
                ", an execution in progress"
            } else {
                ""
            }
        ));
    }

    // Round 0: apply, from a plan file made without faults or planning itself; killed.
    let plan = if case.rng.chance(0.6) {
        case.note("round 0 applies a plan file made without faults".to_owned());
        let path = dir.join("plan.json");
        let mut args = base_args(&case.emulator.endpoint_url(), &case.state_dir);
        args.extend(case.world.account_args.iter().cloned());
        args.extend(["plan", "--out"].map(str::to_owned));
        args.push(path.display().to_string());
        for fix in &case.world.fix_args {
            args.extend(["--fix".to_owned(), fix.clone()]);
        }
        let result = case.run_binary(&args, "plan");
        if result.code != Some(0) {
            case.violation(format!(
                "plan without faults exited {:?}:\n{}",
                result.code,
                tail(&result.stderr)
            ));
        }
        Some(path)
    } else {
        None
    };
    case.faulty_round("apply", plan.as_deref(), 0, true);
    // Faulty resume rounds, sometimes killed too.
    let faulty_resumes = case.rng.range(1, 2);
    for i in 0..faulty_resumes {
        let kill = case.rng.chance(0.3);
        case.faulty_round("resume", None, if i == 0 { 1 } else { usize::MAX }, kill);
    }
    case.converge();
    case.final_check();
    case.report.someone_actions = case.actions.iter().filter(|a| a.performed).count();
    if !case.report.violations.is_empty() || options.keep {
        // The call log, numbered as the messages number calls, and what someone else did.
        let calls: Vec<String> = case
            .emulator
            .calls()
            .iter()
            .enumerate()
            .map(|(i, c)| {
                format!(
                    "#{i} {} {} {} {}",
                    c.account_id,
                    c.operation,
                    c.name.as_deref().unwrap_or("-"),
                    c.outcome
                )
            })
            .collect();
        let _ = std::fs::write(dir.join("calls.txt"), calls.join("\n") + "\n");
        let log = case.report.log.join("\n") + "\n";
        let _ = std::fs::write(dir.join("case.log"), log);
    }
    case.report.elapsed = started.elapsed();
    let Case {
        report,
        runtime,
        emulator,
        ..
    } = case;
    drop(emulator);
    runtime.shutdown_timeout(Duration::from_secs(1));
    let mut report = report;
    if report.violations.is_empty() && !options.keep {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        report.scratch = Some(dir);
    }
    report
}

impl Target {
    fn name_index(&self, world: &World) -> usize {
        world
            .targets
            .iter()
            .position(|t| t.kind == self.kind && t.name == self.name)
            .unwrap_or(usize::MAX)
    }
}

use std::os::unix::fs::DirBuilderExt;

/// Totals over many cases.
#[derive(Debug, Default, Clone)]
pub struct Totals {
    pub cases: usize,
    /// Cases that ran as an organization.
    pub organizations: usize,
    pub definitions: usize,
    pub rounds: usize,
    pub faults_injected: usize,
    pub kills: usize,
    pub sigkills: usize,
    pub someone_actions: usize,
    pub race_windows: usize,
    pub violations: usize,
    pub failing_seeds: Vec<u64>,
}

impl Totals {
    pub fn add(&mut self, report: &CaseReport) {
        self.cases += 1;
        self.organizations += usize::from(report.accounts > 1);
        self.definitions += report.definitions;
        self.rounds += report.rounds;
        self.faults_injected += report.faults_injected;
        self.kills += report.kills;
        self.sigkills += report.sigkills;
        self.someone_actions += report.someone_actions;
        self.race_windows += report.race_windows;
        self.violations += report.violations.len();
        if !report.violations.is_empty() {
            self.failing_seeds.push(report.seed);
        }
    }
}

impl std::fmt::Display for Totals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cases {} ({} as an organization), definitions {}, rounds {}, faults injected {}, \
             kills {} ({} SIGKILL), someone-else actions {}, race-window cases {}, violations {}",
            self.cases,
            self.organizations,
            self.definitions,
            self.rounds,
            self.faults_injected,
            self.kills,
            self.sigkills,
            self.someone_actions,
            self.race_windows,
            self.violations
        )
    }
}

/// Runs `seeds` a few at a time on `workers` threads; calls `done` for each finished case.
pub fn run_many(
    seeds: &[u64],
    workers: usize,
    root: &Path,
    options: &Options,
    mut done: impl FnMut(&CaseReport),
) -> Totals {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let (sender, receiver) = std::sync::mpsc::channel();
    let mut totals = Totals::default();
    std::thread::scope(|scope| {
        for _ in 0..workers.max(1) {
            let sender = sender.clone();
            let next = &next;
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&seed) = seeds.get(i) else {
                        break;
                    };
                    let report = run_case(seed, root, options);
                    if sender.send(report).is_err() {
                        break;
                    }
                }
            });
        }
        drop(sender);
        for report in receiver {
            totals.add(&report);
            done(&report);
        }
    });
    totals
}
