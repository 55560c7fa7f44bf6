//! Which accounts a command works on, and the credentials for each: the caller's own account as
//! the credentials give it, every other one by `sts:AssumeRole` of a named role. Every account's
//! credentials are checked with `GetCallerIdentity` before anything is read or changed in it, so
//! an item is only ever acted on with credentials that are its account's.

use crate::cli::AccountArgs;
use crate::exit::UsageError;
use crate::sagemaker::{AwsError, caller_identity};
use aws_config::SdkConfig;
use aws_config::identity::IdentityCache;
use aws_config::sts::AssumeRoleProvider;
use aws_sdk_sagemaker::config::SharedCredentialsProvider;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// The accounts the options name, checked for shape before any call.
#[derive(Debug, Clone, Default)]
pub struct AccountChoice {
    /// `--account` and `--accounts-file`, in the order given, without repeats.
    pub listed: Vec<String>,
    /// `--org`: every ACTIVE account of the organization.
    pub org: bool,
    pub excluded: BTreeSet<String>,
    pub role: RoleSettings,
}

/// How other accounts are reached.
#[derive(Debug, Clone, Default)]
pub struct RoleSettings {
    pub role_name: String,
    pub external_id: Option<String>,
    pub session_name: String,
}

impl AccountChoice {
    /// Whether the options name accounts at all (otherwise: the caller's own account).
    pub fn names_accounts(&self) -> bool {
        self.org || !self.listed.is_empty()
    }
}

/// Checks the account options: ids are 12 digits, the file reads, the role and session names are
/// what IAM accepts. Nothing is called.
/// `findings_name_accounts`: the accounts come from Security Hub findings, so `--exclude-account`
/// has accounts to leave out even without the other options.
pub fn check(
    args: &AccountArgs,
    findings_name_accounts: bool,
) -> Result<AccountChoice, UsageError> {
    let mut listed = Vec::new();
    for id in &args.accounts {
        listed.push(account_id(id, "--account")?);
    }
    if let Some(path) = &args.accounts_file {
        listed.extend(read_accounts_file(path)?);
    }
    let mut seen = BTreeSet::new();
    listed.retain(|id| seen.insert(id.clone()));
    let mut excluded = BTreeSet::new();
    for id in &args.exclude_accounts {
        excluded.insert(account_id(id, "--exclude-account")?);
    }
    if !excluded.is_empty() && !args.names_accounts() && !findings_name_accounts {
        return Err(
            UsageError::new("--exclude-account needs accounts to leave out from").with_hint(
                "combine it with --org, --account, --accounts-file or --from-securityhub",
            ),
        );
    }
    if !is_iam_name(&args.role_name, 1, 64) {
        return Err(
            UsageError::new(format!("`{}` is not an IAM role name", args.role_name))
                .with_hint("give the role's name, not its ARN: 1-64 letters, digits and +=,.@_-"),
        );
    }
    if !is_iam_name(&args.role_session_name, 2, 64) {
        return Err(UsageError::new(format!(
            "`{}` is not a role session name",
            args.role_session_name
        ))
        .with_hint("2-64 letters, digits and +=,.@_-"));
    }
    // Checked here as STS checks it: STS's refusal of a malformed id quotes the value, and that
    // message would otherwise reach the output, plan files and reports.
    if let Some(id) = &args.external_id
        && !(2..=1224).contains(&id.len())
    {
        return Err(
            UsageError::new("the external id must be 2 to 1224 characters long")
                .with_hint("use the value the role's trust policy names in sts:ExternalId"),
        );
    }
    if let Some(id) = &args.external_id
        && !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@:/-".contains(&b))
    {
        return Err(UsageError::new(
            "the external id has a character STS does not accept (a space, or a line end?)",
        )
        .with_hint("an external id is letters, digits and _+=,.@:/- only"));
    }
    let choice = AccountChoice {
        listed,
        org: args.org,
        excluded,
        role: RoleSettings {
            role_name: args.role_name.clone(),
            external_id: args.external_id.clone(),
            session_name: args.role_session_name.clone(),
        },
    };
    if args.names_accounts()
        && !choice.org
        && choice.listed.iter().all(|id| choice.excluded.contains(id))
    {
        return Err(UsageError::new("no account is left to work on")
            .with_hint("every account named is also excluded (--exclude-account)"));
    }
    Ok(choice)
}

fn account_id(text: &str, flag: &str) -> Result<String, UsageError> {
    let id = text.trim();
    if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(id.to_owned())
    } else {
        Err(
            UsageError::new(format!("{flag} `{text}` is not an AWS account id"))
                .with_hint("account ids are 12 digits, e.g. 123456789012"),
        )
    }
}

/// One id a line; blank lines and `#` comments (whole-line or trailing) are ignored.
fn read_accounts_file(path: &Path) -> Result<Vec<String>, UsageError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        UsageError::new(format!("cannot read accounts file {}: {e}", path.display()))
    })?;
    let mut ids = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let content = line.split('#').next().unwrap_or_default().trim();
        if content.is_empty() {
            continue;
        }
        let id = account_id(content, "account").map_err(|_| {
            UsageError::new(format!(
                "{} line {}: `{content}` is not an AWS account id",
                path.display(),
                number + 1
            ))
            .with_hint("one 12-digit account id a line; `#` starts a comment")
        })?;
        ids.push(id);
    }
    if ids.is_empty() {
        return Err(
            UsageError::new(format!("accounts file {} lists no account", path.display()))
                .with_hint("one 12-digit account id a line; `#` starts a comment"),
        );
    }
    Ok(ids)
}

fn is_iam_name(name: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
}

/// An account the command can work in: its id, and credentials `GetCallerIdentity` confirmed
/// are that account's.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub config: SdkConfig,
}

/// An account the options name that could not be reached, with AWS's message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Unreachable {
    pub account_id: String,
    pub message: String,
}

/// The accounts reached, in the order named (the caller's first when it is among them).
#[derive(Debug, Clone)]
pub struct Reach {
    pub caller: String,
    pub accounts: Vec<Account>,
    pub unreachable: Vec<Unreachable>,
}

impl Reach {
    pub fn account(&self, id: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.id == id)
    }
}

/// Who the base credentials are.
pub struct Caller {
    pub account_id: String,
    /// `aws`, `aws-cn`, `aws-us-gov`: the role ARNs are built in the caller's partition.
    pub partition: String,
}

pub async fn caller(base: &SdkConfig) -> Result<Caller, AwsError> {
    let (account_id, arn) = caller_identity(base).await?;
    let partition = arn
        .split(':')
        .nth(1)
        .filter(|p| !p.is_empty())
        .unwrap_or("aws")
        .to_owned();
    Ok(Caller {
        account_id,
        partition,
    })
}

/// Resolves the choice into accounts and reaches each: the caller's with the base credentials,
/// every other by assuming the role (credentials the SDK refreshes before they expire), each
/// confirmed by `GetCallerIdentity`. At most `concurrency` accounts are being reached at once.
///
/// `reached` is told about each account as soon as it is confirmed, so a command can read it
/// while others are still being reached; for `--org`, accounts are reached as each page of
/// `ListAccounts` arrives, and the caller is identified while the first page is listed. Without
/// that, 100 accounts spent about 0.35 s listing and reaching before the first read.
pub async fn reach(
    base: &SdkConfig,
    choice: &AccountChoice,
    concurrency: usize,
    mut reached: impl FnMut(&Account),
) -> anyhow::Result<Reach> {
    let (pages, mut organization) = if choice.org {
        let (sender, pages) = tokio::sync::mpsc::unbounded_channel();
        let base = base.clone();
        let listing = tokio::spawn(async move { organization_accounts(&base, sender).await });
        (Some(pages), Some(AbortOnDrop(listing)))
    } else {
        (None, None)
    };
    let caller = identify(base).await?;
    if !choice.names_accounts() {
        let account = Account {
            id: caller.account_id.clone(),
            config: base.clone(),
        };
        reached(&account);
        return Ok(Reach {
            caller: caller.account_id,
            accounts: vec![account],
            unreachable: Vec::new(),
        });
    }
    let mut reaching = Reaching::new(base, &caller, &choice.role, concurrency);
    let mut ids = Vec::new();
    let take = |id: &String, reaching: &mut Reaching, ids: &mut Vec<String>| {
        if !choice.excluded.contains(id) && !ids.contains(id) {
            reaching.start(ids.len(), id);
            ids.push(id.clone());
        }
    };
    for id in &choice.listed {
        take(id, &mut reaching, &mut ids);
    }
    let mut results = Vec::new();
    let mut pages = pages;
    loop {
        tokio::select! {
            page = async { pages.as_mut()?.recv().await }, if pages.is_some() => match page {
                Some(page) => {
                    for id in &page {
                        take(id, &mut reaching, &mut ids);
                    }
                }
                None => {
                    pages = None;
                    // The listing ended: a failed page fails the command now, not after every
                    // account already started has been reached (and read).
                    if let Some(mut listing) = organization.take() {
                        (&mut listing.0)
                            .await
                            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))?;
                    }
                }
            },
            Some(joined) = reaching.tasks.join_next(), if !reaching.tasks.is_empty() => {
                let result = joined.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
                if let (_, id, Ok(config)) = &result {
                    reached(&Account { id: id.clone(), config: config.clone() });
                }
                results.push(result);
            }
            else => break,
        }
    }
    if ids.is_empty() {
        return Err(UsageError::new("no account is left to work on")
            .with_hint("the organization lists no ACTIVE account outside --exclude-account")
            .into());
    }
    Ok(Reaching::finish(&caller, results))
}

/// Aborts the task when dropped: a command that fails early leaves no listing running.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// `caller`, with the hint a user needs when it fails.
async fn identify(base: &SdkConfig) -> anyhow::Result<Caller> {
    Ok(caller(base).await.map_err(|e| {
        UsageError::new(format!("cannot identify the AWS account: {e}")).with_hint(
            "check your credentials: `aws sts get-caller-identity` should work with the same profile and region",
        )
    })?)
}

/// The caller, and the ids of the accounts the choice names (for `--org`, from the
/// organization), without reaching any of them.
pub async fn resolve(
    base: &SdkConfig,
    choice: &AccountChoice,
) -> anyhow::Result<(Caller, Vec<String>)> {
    let caller = identify(base).await?;
    if !choice.names_accounts() {
        let ids = vec![caller.account_id.clone()];
        return Ok((caller, ids));
    }
    let mut ids = choice.listed.clone();
    if choice.org {
        let (sender, mut pages) = tokio::sync::mpsc::unbounded_channel();
        organization_accounts(base, sender).await?;
        while let Some(page) = pages.recv().await {
            for id in page {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
    }
    ids.retain(|id| !choice.excluded.contains(id));
    if ids.is_empty() {
        return Err(UsageError::new("no account is left to work on")
            .with_hint("the organization lists no ACTIVE account outside --exclude-account")
            .into());
    }
    Ok((caller, ids))
}

/// Reaches exactly `ids` (a plan's or a journal's accounts).
pub async fn reach_ids(
    base: &SdkConfig,
    caller: &Caller,
    ids: &[String],
    role: &RoleSettings,
    concurrency: usize,
) -> Reach {
    let mut reaching = Reaching::new(base, caller, role, concurrency);
    for (index, id) in ids.iter().enumerate() {
        reaching.start(index, id);
    }
    let mut results = Vec::with_capacity(ids.len());
    while let Some(joined) = reaching.tasks.join_next().await {
        results.push(joined.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic())));
    }
    Reaching::finish(caller, results)
}

/// Accounts being reached, at most `concurrency` at once; each task ends with its index in the
/// command's order, the id, and the confirmed configuration or why there is none.
struct Reaching {
    base: SdkConfig,
    caller: String,
    partition: String,
    role: RoleSettings,
    permits: Arc<Semaphore>,
    tasks: JoinSet<(usize, String, Result<SdkConfig, String>)>,
}

impl Reaching {
    fn new(base: &SdkConfig, caller: &Caller, role: &RoleSettings, concurrency: usize) -> Reaching {
        Reaching {
            base: base.clone(),
            caller: caller.account_id.clone(),
            partition: caller.partition.clone(),
            role: role.clone(),
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            tasks: JoinSet::new(),
        }
    }

    fn start(&mut self, index: usize, id: &str) {
        let (base, id, role) = (self.base.clone(), id.to_owned(), self.role.clone());
        let (permits, partition) = (self.permits.clone(), self.partition.clone());
        let own = id == self.caller;
        self.tasks.spawn(async move {
            let _permit = permits.acquire_owned().await.expect("never closed");
            // The caller's own account was confirmed by asking who the caller is.
            let checked = if own {
                Ok(base)
            } else {
                let config = assumed_config(&base, &partition, &id, &role).await;
                confirm(&config, &id)
                    .await
                    .map(|()| config)
                    .map_err(|message| without_secret(&message, role.external_id.as_deref()))
            };
            (index, id, checked)
        });
    }

    /// The reached and unreachable accounts, each in the command's order.
    fn finish(
        caller: &Caller,
        mut results: Vec<(usize, String, Result<SdkConfig, String>)>,
    ) -> Reach {
        results.sort_by_key(|(index, ..)| *index);
        let mut accounts = Vec::new();
        let mut unreachable = Vec::new();
        for (_, id, checked) in results {
            match checked {
                Ok(config) => accounts.push(Account { id, config }),
                Err(message) => unreachable.push(Unreachable {
                    account_id: id,
                    message,
                }),
            }
        }
        Reach {
            caller: caller.account_id.clone(),
            accounts,
            unreachable,
        }
    }
}

/// A configuration whose credentials come from assuming the role in `account`, with an identity
/// cache of its own: every client of the account shares it, so the role is assumed once (the
/// cache lets one of many concurrent first uses call STS, the others wait for its answer) and
/// again only shortly before the credentials expire, so a long run never meets expiry.
///
/// Not the base configuration's cache: that one is shared by everything built from it, and the
/// SDK's lazy cache keeps the credentials of at most 64 providers, evicting one at random for
/// each new one; with more accounts than that, the roles were assumed over and over.
async fn assumed_config(
    base: &SdkConfig,
    partition: &str,
    account: &str,
    role: &RoleSettings,
) -> SdkConfig {
    let arn = format!("arn:{partition}:iam::{account}:role/{}", role.role_name);
    let mut builder = AssumeRoleProvider::builder(arn)
        .session_name(role.session_name.clone())
        .configure(base);
    if let Some(id) = &role.external_id {
        builder = builder.external_id(id.clone());
    }
    let provider = builder.build().await;
    base.to_builder()
        .credentials_provider(SharedCredentialsProvider::new(provider))
        .identity_cache(IdentityCache::lazy().build())
        .build()
}

/// `message` with the external id's value taken out: messages are printed and kept in plan
/// files, reports and journals, where a secret must never go.
fn without_secret(message: &str, external_id: Option<&str>) -> String {
    match external_id {
        Some(id) if !id.is_empty() => message.replace(id, "(external id)"),
        _ => message.to_owned(),
    }
}

/// Confirms the credentials are `account`'s (assuming the role happens here, on first use).
async fn confirm(config: &SdkConfig, account: &str) -> Result<(), String> {
    match caller_identity(config).await {
        Ok((id, _)) if id == account => Ok(()),
        Ok((id, arn)) => Err(format!(
            "the credentials for account {account} are for account {id} ({arn}); not used"
        )),
        Err(err) => Err(err.to_string()),
    }
}

/// Every account of the organization whose `State` is ACTIVE (`Status` only where `State` is
/// absent: AWS is retiring `Status`), sent page by page as `ListAccounts` answers.
async fn organization_accounts(
    base: &SdkConfig,
    pages_out: tokio::sync::mpsc::UnboundedSender<Vec<String>>,
) -> Result<(), UsageError> {
    use aws_sdk_organizations::types::{AccountState, AccountStatus};
    let client = aws_sdk_organizations::Client::new(base);
    let mut pages = client.list_accounts().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            let err = AwsError::from_sdk("ListAccounts", e);
            UsageError::new(format!("cannot list the organization's accounts: {err}")).with_hint(
                "--org needs organizations:ListAccounts from the management account or a \
                 delegated administrator; or name the accounts with --account or --accounts-file",
            )
        })?;
        let mut ids = Vec::new();
        for account in page.accounts() {
            let active = match (account.state(), account.status()) {
                (Some(state), _) => *state == AccountState::Active,
                (None, Some(status)) => *status == AccountStatus::Active,
                (None, None) => false,
            };
            if active && let Some(id) = account.id() {
                ids.push(id.to_owned());
            }
        }
        // Nobody listening: the command already failed.
        if pages_out.send(ids).is_err() {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> AccountArgs {
        AccountArgs {
            role_name: "OrganizationAccountAccessRole".into(),
            role_session_name: "sm-recreate".into(),
            ..AccountArgs::default()
        }
    }

    fn check_args(args: &AccountArgs) -> Result<AccountChoice, UsageError> {
        check(args, false)
    }

    #[test]
    fn account_ids_are_twelve_digits() {
        let mut wrong = args();
        wrong.accounts = vec!["12345".into()];
        assert!(check_args(&wrong).unwrap_err().message.contains("`12345`"));
        let mut right = args();
        right.accounts = vec!["111111111111".into(), "111111111111".into()];
        assert_eq!(check_args(&right).unwrap().listed, vec!["111111111111"]);
    }

    #[test]
    fn an_accounts_file_takes_comments_and_names_a_bad_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("accounts");
        std::fs::write(&path, "# prod\n111111111111  # one\n\n222222222222\n").unwrap();
        let mut from_file = args();
        from_file.accounts_file = Some(path.clone());
        assert_eq!(
            check_args(&from_file).unwrap().listed,
            vec!["111111111111", "222222222222"]
        );
        std::fs::write(&path, "111111111111\n2222\n").unwrap();
        let err = check_args(&from_file).unwrap_err();
        assert!(err.message.contains("line 2"), "{}", err.message);
    }

    #[test]
    fn exclusions_need_accounts_and_may_not_leave_none() {
        let mut alone = args();
        alone.exclude_accounts = vec!["111111111111".into()];
        assert!(check_args(&alone).is_err());
        let mut all_out = alone.clone();
        all_out.accounts = vec!["111111111111".into()];
        assert!(
            check_args(&all_out)
                .unwrap_err()
                .message
                .contains("no account")
        );
        let mut org = alone;
        org.org = true;
        assert!(check_args(&org).is_ok());
    }

    #[test]
    fn an_external_id_sts_would_refuse_is_refused_before_any_call() {
        for bad in ["abc\r", "a b", "x"] {
            let mut with_id = args();
            with_id.accounts = vec!["111111111111".into()];
            with_id.external_id = Some(bad.into());
            assert!(check_args(&with_id).is_err(), "{bad:?}");
        }
        let mut good = args();
        good.external_id = Some("ext-123:a/b@c".into());
        assert!(check_args(&good).is_ok());
    }

    #[test]
    fn the_external_id_is_taken_out_of_messages() {
        let message = "AccessDenied: external id s3cr3t-id does not match";
        let kept = without_secret(message, Some("s3cr3t-id"));
        assert!(!kept.contains("s3cr3t-id"), "{kept}");
        assert!(kept.contains("AccessDenied"));
    }

    #[test]
    fn role_names_are_names_not_arns() {
        let mut arn = args();
        arn.role_name = "arn:aws:iam::111111111111:role/x".into();
        assert!(check_args(&arn).is_err());
    }
}
