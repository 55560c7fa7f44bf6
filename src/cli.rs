//! Command-line definitions (clap derive) and nothing else: parsing turns into validated settings
//! in `settings`, and each command lives in its own module.

use crate::compliance::Evaluation;
use crate::guard::Attachment;
use crate::journal::Strategy;
use crate::kinds::Fix;
use crate::render::Format;
use clap::builder::{EnumValueParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "sm-recreate",
    version,
    about = "Fix Security Hub SageMaker.9-.15, .20, .22, .25: recreate model-monitor job definitions \
             with their NetworkConfig flags on, safely.",
    long_about = "Fix the Security Hub controls on model-monitor NetworkConfig flags: \
        SageMaker.9, .10, .13, .15 (inter-container traffic encryption), .11, .12, .20, .25 \
        (network isolation), and .22, .14 (schedules with an inline job definition).\n\n\
        SageMaker model-monitor job definitions (data quality, model explainability, model quality, \
        model bias) cannot be updated: the only way to turn on \
        NetworkConfig.EnableInterContainerTrafficEncryption or EnableNetworkIsolation is to delete \
        and recreate them. sm-recreate does that safely: it snapshots each failing definition, \
        recreates it identical but for the flags (tags and monitoring schedules included), rolls \
        back from the snapshot on any failure, and verifies the result. A schedule with an inline \
        job definition is updated in place, never deleted. `--fix encryption` is the default; \
        `--fix isolation` cuts the jobs' network access and is never implied.\n\n\
        Try it without an AWS account: `sm-recreate --sandbox plan`.",
    after_help = "Credentials and region come from the standard AWS chain (environment, profiles, SSO, \
        web identity, instance metadata). Exit codes: 0 success or nothing to do; 1 some \
        definitions failed, each rolled back or left untouched, or left work for resume (or a \
        scan was incomplete); 2 \
        refused before any change: usage or input error, locked state directory, no credentials \
        (nothing touched); 3 with --detailed-exitcode, non-compliant definitions exist; 4 a person \
        must act: a rollback did not complete or the state is not known (the command is printed). \
        An error after a run started never exits 2."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Options every command shares.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// AWS region to work in; repeat for several. Default: the region of the AWS configuration.
    #[arg(long = "region", value_name = "REGION", global = true)]
    pub regions: Vec<String>,

    /// Named profile from ~/.aws/config (as AWS_PROFILE).
    #[arg(long, value_name = "PROFILE", global = true)]
    pub profile: Option<String>,

    /// Send every AWS call to this endpoint instead of AWS's (as AWS_ENDPOINT_URL).
    #[arg(long, value_name = "URL", global = true)]
    pub endpoint_url: Option<String>,

    /// Run against a built-in SageMaker emulator on 127.0.0.1 instead of AWS, seeded with a demo
    /// account, or with FILE (`--sandbox=FILE`). Needs no AWS account or credentials.
    #[arg(
        long,
        value_name = "FILE",
        global = true,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = ""
    )]
    pub sandbox: Option<String>,

    /// Where snapshots, journals and the lock live.
    #[arg(
        long,
        value_name = "DIR",
        global = true,
        default_value = ".sm-recreate"
    )]
    pub state_dir: PathBuf,

    /// More logging on stderr (-v info, -vv debug, -vvv debug including the AWS SDK; RUST_LOG
    /// overrides, and RUST_LOG=trace also logs request bodies, which hold Environment values).
    #[arg(short, long, action = clap::ArgAction::Count, global = true, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Less output on stderr: errors and hints only (results still go to stdout).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub quiet: u8,

    /// Log format on stderr: `json` for scripts and log pipelines.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    /// Colour in output; `auto` colours a terminal unless NO_COLOR is set.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,

    #[command(flatten)]
    pub accounts: AccountArgs,
}

/// Which accounts to work on. Without any of `--account`, `--accounts-file` and `--org`, the
/// caller's own account, as the credentials give it.
#[derive(Debug, Clone, Args, Default)]
#[command(next_help_heading = "Accounts (an AWS Organization)")]
pub struct AccountArgs {
    /// Work on this account (12 digits); repeatable. Reached by assuming --role-name in it,
    /// except the caller's own account, which is used as is.
    #[arg(long = "account", value_name = "ID", global = true)]
    pub accounts: Vec<String>,

    /// Work on the accounts listed in FILE: one 12-digit id a line; `#` starts a comment.
    #[arg(long, value_name = "FILE", global = true)]
    pub accounts_file: Option<PathBuf>,

    /// Work on every ACTIVE account of the organization (organizations:ListAccounts, from the
    /// management account or a delegated administrator). With --sandbox or `sandbox serve`: the
    /// built-in demo organization (a management account and three members).
    #[arg(long, global = true)]
    pub org: bool,

    /// Leave this account out; repeatable. Applies to --account, --accounts-file and --org.
    #[arg(long = "exclude-account", value_name = "ID", global = true)]
    pub exclude_accounts: Vec<String>,

    /// The role to assume in each account other than the caller's. `OrganizationAccountAccessRole`
    /// exists only in accounts the organization created, trusts only the management account and is
    /// an administrator: prefer the least-privilege role of docs/iam-policy.md.
    #[arg(
        long,
        value_name = "NAME",
        global = true,
        default_value = "OrganizationAccountAccessRole"
    )]
    pub role_name: String,

    /// The external id the role's trust policy requires. Never printed; printed commands read it
    /// from SM_RECREATE_EXTERNAL_ID.
    #[arg(
        long,
        value_name = "ID",
        global = true,
        env = "SM_RECREATE_EXTERNAL_ID",
        hide_env_values = true
    )]
    pub external_id: Option<String>,

    /// The session name of the assumed roles, as CloudTrail shows it.
    #[arg(
        long,
        value_name = "NAME",
        global = true,
        default_value = "sm-recreate"
    )]
    pub role_session_name: String,
}

impl AccountArgs {
    /// Whether any option names accounts (otherwise: the caller's account only).
    pub fn names_accounts(&self) -> bool {
        !self.accounts.is_empty() || self.accounts_file.is_some() || self.org
    }
}

/// How much runs at once.
#[derive(Debug, Clone, Copy, Args)]
pub struct ConcurrencyArgs {
    /// At most this many at once in all: API calls while reading, and for apply and resume also
    /// definitions being recreated.
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub concurrency: u16,

    /// At most this many at once in any one account and region (SageMaker throttles each
    /// account-region on its own, so one slow account never holds back the others).
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency_per_region: u16,
}

impl Default for ConcurrencyArgs {
    fn default() -> Self {
        ConcurrencyArgs {
            concurrency: 64,
            concurrency_per_region: 16,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Report every job definition and whether it complies. Read-only.
    ///
    /// Lists the four kinds and the schedules with an inline job definition in every region asked
    /// for, describes each, and judges every control on it (`compliant` is for the --fix flags).
    /// Examples: `sm-recreate scan`, `sm-recreate scan --region us-east-1 --region eu-west-1
    /// --format json`, `sm-recreate scan --detailed-exitcode` (exit 3 when something fails).
    Scan(ScanArgs),

    /// Show exactly what `apply` would change, as diffs; optionally save it for review. Read-only.
    ///
    /// For each non-compliant definition: the diff of the definition as it is against as it will
    /// be (the fixed flags, plus any AWS-reserved tags that cannot be set again), the schedules
    /// that will be repointed, and the temporary name the staged recreate uses; for each schedule
    /// with an inline job definition, the diff of its configuration. Every job that loses its
    /// network access (--fix isolation) is named with its image.
    /// `--out plan.json` saves a secret-free plan file for a change ticket; `apply plan.json`
    /// later applies exactly that, or refuses.
    Plan(PlanArgs),

    /// Recreate non-compliant definitions: plan, confirm, then the staged recreate with rollback.
    ///
    /// Without PLAN_FILE it plans now (same selection flags as `plan`), shows the diffs, lets you
    /// untick definitions and asks for confirmation (default no). With PLAN_FILE (from
    /// `plan --out`) it applies exactly what was reviewed: it refuses a file from another account
    /// or format version, or one that was edited, and skips any definition that changed since.
    /// Each definition: snapshot to disk, create a compliant copy under a temporary name, move its
    /// schedules to the copy, delete and recreate the original, move the schedules back, delete
    /// the copy, verify. Any failure rolls back from the snapshot. Without a terminal it needs
    /// --yes. Interrupted? `sm-recreate resume` finishes or rolls back.
    Apply(ApplyArgs),

    /// Finish or roll back an interrupted apply, from its journal and the live state.
    ///
    /// For each definition the run left in flight it looks at what exists (the original, the
    /// temporary copy, where the schedules point) and completes the recreate or rolls it back;
    /// then it does the definitions the run never started. Running it twice is harmless.
    Resume(ResumeArgs),

    /// Recreate a definition exactly as a snapshot recorded it (tags and schedules included).
    ///
    /// Snapshots are in STATE_DIR/runs/RUN_ID/snapshots/. If the definition exists, --replace
    /// replaces it (staged, so its schedules keep running).
    Restore(RestoreArgs),

    /// Print a deny-only IAM policy that keeps fixed flags from coming back. Offline.
    ///
    /// The remediation's last step: make the flag required. Prints on stdout, as JSON, a policy
    /// that denies creating a model-monitor job definition whose flag is false or absent, and
    /// creating or updating a monitoring schedule whose inline job definition sets it false (a
    /// schedule that names a definition carries no network settings and is not denied). Needs
    /// no AWS credentials and makes no call.
    ///
    /// As a service control policy: `sm-recreate guard > guard.json`, then
    /// `aws organizations create-policy --type SERVICE_CONTROL_POLICY --name sm-recreate-guard
    /// --description 'Keep model-monitor NetworkConfig flags on' --content file://guard.json`
    /// and `aws organizations attach-policy --policy-id POLICY_ID --target-id
    /// OU_OR_ACCOUNT_ID`. On the roles that create monitoring resources:
    /// `sm-recreate guard --format iam > guard.json`, then `aws iam put-role-policy --role-name
    /// ROLE --policy-name sm-recreate-guard --policy-document file://guard.json`.
    ///
    /// Attach it after the fix: once attached it also refuses sm-recreate's own rollback, and
    /// `restore` of a snapshot without the flag, by design. More in docs/guard.md.
    Guard(GuardArgs),

    /// Run the SageMaker emulator for other tools (aws CLI, boto3, tests).
    #[command(subcommand)]
    Sandbox(SandboxCommand),

    /// Print a shell completion script for sm-recreate on stdout.
    ///
    /// Install it where your shell looks, e.g.
    /// `sm-recreate completions bash > ~/.local/share/bash-completion/completions/sm-recreate`,
    /// `sm-recreate completions zsh > ~/.zfunc/_sm-recreate` (with `fpath+=~/.zfunc` before
    /// `compinit`), `sm-recreate completions fish > ~/.config/fish/completions/sm-recreate.fish`.
    Completions(CompletionsArgs),

    /// Print the manual page (roff), or write one page per command into a directory.
    ///
    /// Read it with `sm-recreate man | man -l -`; install the pages with
    /// `sm-recreate man --out-dir ~/.local/share/man/man1`.
    Man(ManArgs),
}

impl Command {
    /// The report format of the commands that print a run's report (apply, resume, restore).
    pub fn report_format(&self) -> Option<ReportFormat> {
        match self {
            Command::Apply(args) => Some(args.format),
            Command::Resume(args) => Some(args.format),
            Command::Restore(args) => Some(args.format),
            _ => None,
        }
    }
}

/// Whether the raw command line asks for JSON logs, for errors in the command line itself, which
/// come before clap has parsed `--log-format`.
pub fn asks_for_json_logs(args: impl IntoIterator<Item = std::ffi::OsString>) -> bool {
    let args: Vec<std::ffi::OsString> = args.into_iter().collect();
    args.iter().enumerate().any(|(index, arg)| {
        arg == "--log-format=json"
            || (arg == "--log-format" && args.get(index + 1).is_some_and(|next| next == "json"))
    })
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write `sm-recreate.1` and one page per command (`sm-recreate-apply.1`, ...) into DIR
    /// (created if missing) instead of printing the main page.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct GuardArgs {
    /// Which flag to require; repeatable: encryption, isolation. Default: encryption, as for
    /// apply.
    #[arg(long = "fix", value_name = "FLAG", value_parser = through::<FixArg, Fix>())]
    pub fixes: Vec<Fix>,

    /// Where the policy goes: `scp` (an AWS Organizations service control policy) or `iam` (a
    /// policy on the roles that create monitoring resources). The statements are the same; the
    /// hint after them names the commands that attach it there.
    #[arg(long, value_parser = through::<AttachmentArg, Attachment>(), default_value = "scp")]
    pub format: Attachment,
}

/// Which definitions to act on (shared by scan, plan and apply).
#[derive(Debug, Clone, Args, Default)]
pub struct SelectionArgs {
    /// Only this kind; repeatable: data-quality, model-explainability, model-quality, model-bias,
    /// monitoring-schedule, notebook-instance (notebooks are read only when named, by kind or
    /// control).
    #[arg(long = "kind", value_name = "KIND")]
    pub kinds: Vec<String>,

    /// Only what this Security Hub control checks; repeatable: SageMaker.9, .10, .11, .12, .13,
    /// .14, .15, .20, .22, .25, and for notebook instances .1, .2, .3, .21. Without --fix, also
    /// which flags are fixed: `--control SageMaker.11` alone fixes isolation on data-quality
    /// definitions only.
    #[arg(long = "control", value_name = "CONTROL")]
    pub controls: Vec<String>,

    /// Which flag the run makes true; repeatable: encryption, isolation (both in one recreate).
    /// Default: the flags of the --control values, else encryption. Isolation cuts the job's
    /// network access: rehearse on one definition first.
    #[arg(long = "fix", value_name = "FLAG", value_parser = through::<FixArg, Fix>())]
    pub fixes: Vec<Fix>,

    /// Only definitions whose name matches; `*` and `?` wildcards; repeatable (any may match).
    #[arg(long = "name", value_name = "GLOB")]
    pub names: Vec<String>,

    /// How to judge compliance: `strict` (the flag must be true) or `config-rule` (as the AWS
    /// Config rules: only jobs on two or more instances need it).
    #[arg(long, value_parser = through::<EvaluationArg, Evaluation>(), default_value = "strict")]
    pub evaluation: Evaluation,

    /// Act on the definitions that this Security Hub findings export (ASFF JSON, as
    /// `aws securityhub get-findings` writes it) reports as failing, across its regions.
    #[arg(long, value_name = "ASFF_JSON", conflicts_with = "from_securityhub")]
    pub from_findings: Option<PathBuf>,

    /// Act on the resources that Security Hub's failing findings name, read live
    /// (securityhub:GetFindings in each region): ACTIVE, FAILED and not SUPPRESSED findings of
    /// the controls the run fixes. From the Security Hub administrator account this covers the
    /// members: the accounts the findings name are the accounts the run reaches (by assuming
    /// --role-name), narrowed by --account, --accounts-file or --org and --exclude-account.
    /// Findings choose which resources, never which flags (--fix, --control do). A finding whose
    /// resource is gone, or passes now, is reported and skipped.
    #[arg(long)]
    pub from_securityhub: bool,

    /// Also recreate definitions owned by a CloudFormation stack (normally skipped: fix the
    /// template instead, or the next stack update reverts the fix).
    #[arg(long)]
    pub include_managed: bool,

    #[command(flatten)]
    pub concurrency: ConcurrencyArgs,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    #[command(flatten)]
    pub selection: SelectionArgs,

    /// Output format; default text.
    #[arg(long, value_parser = through::<FormatArg, Format>(), default_value = "text")]
    pub format: Format,

    /// Exit 3 when any definition is non-compliant (0 when all comply).
    #[arg(long)]
    pub detailed_exitcode: bool,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub selection: SelectionArgs,

    /// Output format on stdout; default text.
    #[arg(long, value_parser = through::<FormatArg, Format>(), default_value = "text")]
    pub format: Format,

    /// Also write the plan file (JSON, no secrets) for review and `apply FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Exit 3 when something is to be recreated or updated (0 when nothing is).
    #[arg(long)]
    pub detailed_exitcode: bool,

    #[command(flatten)]
    pub rebuild: RebuildArgs,

    /// Show `Environment` values in text diffs instead of redacting them (text format only;
    /// never in markdown, JSON or the plan file, which end up in tickets).
    #[arg(long)]
    pub show_secrets: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan file from `plan --out`: apply exactly what it lists, or refuse.
    #[arg(value_name = "PLAN_FILE")]
    pub plan_file: Option<PathBuf>,

    #[command(flatten)]
    pub selection: SelectionArgs,

    /// Do not ask: recreate everything planned (needed without a terminal). Running notebook
    /// instances are skipped unless --restart-running.
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Consent to stopping and starting again the running notebook instances whose root access
    /// is turned off (SageMaker.3): their open sessions end. Without it, --yes skips them; on a
    /// terminal the checklist shows them unticked (ticking one is consent), or ticked with it.
    #[arg(long)]
    pub restart_running: bool,

    /// `staged` (default) never leaves schedules without a definition; `direct` deletes and
    /// recreates under the same name and refuses definitions that schedules reference.
    #[arg(long, value_parser = through::<StrategyArg, Strategy>(), default_value = "staged")]
    pub strategy: Strategy,

    #[command(flatten)]
    pub pacing: PacingArgs,

    /// Report format on stdout: text, or one JSON document.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,

    /// Show `Environment` values in the text diffs instead of redacting them.
    #[arg(long)]
    pub show_secrets: bool,

    #[command(flatten)]
    pub findings: FindingsArgs,

    #[command(flatten)]
    pub rebuild: RebuildArgs,
}

/// What the rebuild of a notebook instance that fails SageMaker.1, .2 or .21 takes when the
/// notebook has none of its own (the plan prints the `aws sagemaker create-notebook-instance`
/// command; without these, it names shell variables to set instead).
#[derive(Debug, Clone, Args, Default)]
#[command(next_help_heading = "Notebook rebuilds (SageMaker.1, .2, .21)")]
pub struct RebuildArgs {
    /// The private subnet for rebuilt notebooks that have none (subnet-0123456789abcdef0).
    #[arg(long, value_name = "SUBNET_ID")]
    pub subnet: Option<String>,

    /// A security group of the --subnet's VPC for rebuilt notebooks; repeatable (at most 5).
    #[arg(long = "security-group", value_name = "SG_ID")]
    pub security_groups: Vec<String>,

    /// The KMS key (id, ARN, alias) for rebuilt notebooks that have none.
    #[arg(long, value_name = "KEY")]
    pub kms_key: Option<String>,
}

/// Security Hub findings as the run's output.
#[derive(Debug, Clone, Copy, Args, Default)]
pub struct FindingsArgs {
    /// Record the run on the Security Hub findings of what it fixes (BatchUpdateFindings, with
    /// the caller's credentials: from the administrator account, members' findings too):
    /// NOTIFIED with a note when the run starts on a resource, RESOLVED with a note naming the
    /// run and the flags once it is verified, a note and NOTIFIED kept after a rollback. The
    /// findings are those --from-securityhub read, else found by the resource's ARN. Security
    /// Hub still re-evaluates on its own. A failed update is a warning, never a failed fix.
    #[arg(long)]
    pub update_findings: bool,
}

/// How long the commands that change AWS wait for things AWS does asynchronously.
#[derive(Debug, Clone, Copy, Args)]
pub struct PacingArgs {
    /// Longest wait, in seconds, for a schedule to settle or finish a running execution, or for
    /// a notebook instance to stop, update or start (at most a day).
    #[arg(long, value_name = "SECONDS", default_value_t = 900,
          value_parser = clap::value_parser!(u64).range(0..=MAX_WAIT_SECONDS))]
    pub schedule_timeout: u64,

    /// How long, in seconds, to keep looking when AWS's answer to a change was lost (a dropped
    /// connection, a 5xx) and the follow-up look fails too. Past it the definition is stopped as
    /// "in doubt", never undone on a guess: `resume` looks again later (at most a day). Also how
    /// long a call that SageMaker keeps throttling is sent again (a throttled call did not act).
    #[arg(long, value_name = "SECONDS", default_value_t = 120,
          value_parser = clap::value_parser!(u64).range(0..=MAX_WAIT_SECONDS))]
    pub patience: u64,
}

/// The longest `--schedule-timeout` or `--patience`: a day.
pub const MAX_WAIT_SECONDS: u64 = 86_400;

/// A run id names a folder under STATE_DIR/runs: a plain id, never a path (which would reach
/// another state directory's runs without its lock).
fn parse_run_id(text: &str) -> Result<String, String> {
    let plain = !text.is_empty()
        && text.len() <= 64
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if plain {
        Ok(text.to_owned())
    } else {
        Err(
            "a run id is a folder name under STATE_DIR/runs (letters, digits and `-`, like \
             20261130T042231Z-1a2b), not a path; to resume another state directory's run, pass \
             --state-dir"
                .to_owned(),
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The run to resume (a folder name under STATE_DIR/runs); default: the latest unfinished.
    #[arg(value_name = "RUN_ID", value_parser = parse_run_id)]
    pub run_id: Option<String>,

    #[command(flatten)]
    pub concurrency: ConcurrencyArgs,

    #[command(flatten)]
    pub pacing: PacingArgs,

    /// Report format on stdout: text, or one JSON document (as `apply --format json`).
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,

    #[command(flatten)]
    pub findings: FindingsArgs,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A snapshot file written by `apply`.
    #[arg(value_name = "SNAPSHOT")]
    pub snapshot: PathBuf,

    /// Replace the definition if it exists (its current state is snapshotted first).
    #[arg(long)]
    pub replace: bool,

    #[command(flatten)]
    pub pacing: PacingArgs,

    /// Report format on stdout: text, or one JSON document (as `apply --format json`).
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Serve the emulator on 127.0.0.1 until Ctrl-C; prints its endpoint URL on stdout.
    ///
    /// Point any AWS client at it, e.g.
    /// `aws --endpoint-url http://127.0.0.1:PORT sagemaker list-data-quality-job-definitions`
    /// (any credentials are accepted).
    Serve(SandboxServeArgs),
}

#[derive(Debug, Args)]
pub struct SandboxServeArgs {
    /// Seed file (JSON; see fixtures/README.md). Default: the built-in demo account.
    #[arg(long, value_name = "FILE")]
    pub seed: Option<PathBuf>,

    /// TCP port on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    pub port: u16,

    /// Behaviour file (JSON): latency, throttle and fault injection (see fixtures/README.md).
    #[arg(long, value_name = "FILE")]
    pub faults: Option<PathBuf>,
}

/// Parses a domain value through its clap mirror `M`, so that the domain enums (in compliance,
/// journal and render) carry no clap derive: clap stays in this module.
fn through<M, T>() -> impl TypedValueParser<Value = T>
where
    M: ValueEnum + Clone + Send + Sync + 'static,
    T: From<M> + Clone + Send + Sync + 'static,
{
    EnumValueParser::<M>::new().map(T::from)
}

/// `--evaluation`, mirroring [`Evaluation`]; each doc comment is that value's help.
#[derive(Clone, Copy, ValueEnum)]
enum EvaluationArg {
    /// `NetworkConfig.EnableInterContainerTrafficEncryption` must be `true`; missing counts as false.
    Strict,
    /// Non-compliant only when the flag is not true and `InstanceCount >= 2`.
    ConfigRule,
}

impl From<EvaluationArg> for Evaluation {
    fn from(arg: EvaluationArg) -> Evaluation {
        match arg {
            EvaluationArg::Strict => Evaluation::Strict,
            EvaluationArg::ConfigRule => Evaluation::ConfigRule,
        }
    }
}

/// `--fix`, mirroring [`Fix`]; each doc comment is that value's help.
#[derive(Clone, Copy, ValueEnum)]
enum FixArg {
    /// Make `NetworkConfig.EnableInterContainerTrafficEncryption` true (SageMaker.9, .10, .13,
    /// .15, .22).
    Encryption,
    /// Make `NetworkConfig.EnableNetworkIsolation` true (SageMaker.11, .12, .14, .20, .25): the
    /// job's containers lose all network access.
    Isolation,
}

impl From<FixArg> for Fix {
    fn from(arg: FixArg) -> Fix {
        match arg {
            FixArg::Encryption => Fix::Encryption,
            FixArg::Isolation => Fix::Isolation,
        }
    }
}

/// `guard --format`, mirroring [`Attachment`]; each doc comment is that value's help.
#[derive(Clone, Copy, ValueEnum)]
enum AttachmentArg {
    /// A service control policy, for `aws organizations create-policy`.
    Scp,
    /// An IAM policy for the roles that create monitoring resources, for
    /// `aws iam put-role-policy`.
    Iam,
}

impl From<AttachmentArg> for Attachment {
    fn from(arg: AttachmentArg) -> Attachment {
        match arg {
            AttachmentArg::Scp => Attachment::Scp,
            AttachmentArg::Iam => Attachment::Iam,
        }
    }
}

/// `--format` of `scan` and `plan`, mirroring [`Format`].
#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Text,
    Json,
    Markdown,
}

impl From<FormatArg> for Format {
    fn from(arg: FormatArg) -> Format {
        match arg {
            FormatArg::Text => Format::Text,
            FormatArg::Json => Format::Json,
            FormatArg::Markdown => Format::Markdown,
        }
    }
}

/// `--strategy`, mirroring [`Strategy`]; each doc comment is that value's help.
#[derive(Clone, Copy, ValueEnum)]
enum StrategyArg {
    /// Create a compliant copy under a temporary name first, move schedules to it, then replace
    /// the original. Never leaves the schedules without a definition.
    Staged,
    /// Delete and create under the same name, rolling back from the snapshot. For accounts that
    /// forbid extra names; refuses definitions that schedules reference. Between the delete and
    /// the create the definition exists only in the snapshot on disk.
    Direct,
}

impl From<StrategyArg> for Strategy {
    fn from(arg: StrategyArg) -> Strategy {
        match arg {
            StrategyArg::Staged => Strategy::Staged,
            StrategyArg::Direct => Strategy::Direct,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn sandbox_takes_a_value_only_with_equals() {
        let cli = Cli::try_parse_from(["sm-recreate", "--sandbox", "sandbox", "serve"]).unwrap();
        assert_eq!(cli.global.sandbox.as_deref(), Some(""));
        let cli = Cli::try_parse_from(["sm-recreate", "--sandbox=seed.json", "sandbox", "serve"])
            .unwrap();
        assert_eq!(cli.global.sandbox.as_deref(), Some("seed.json"));
        let cli = Cli::try_parse_from(["sm-recreate", "sandbox", "serve"]).unwrap();
        assert_eq!(cli.global.sandbox, None);
    }

    #[test]
    fn sandbox_serve_takes_the_global_org_flag() {
        // `--org` is global (the accounts of an organization); `sandbox serve --org` reads it
        // to serve the demo organization.
        let cli = Cli::try_parse_from(["sm-recreate", "sandbox", "serve", "--org"]).unwrap();
        assert!(cli.global.accounts.org);
        assert!(matches!(
            cli.command,
            Command::Sandbox(SandboxCommand::Serve(_))
        ));
    }
}
