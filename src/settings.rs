//! Turns parsed global flags into what commands work with: the AWS configuration (or a sandbox
//! emulator standing in for AWS) and the regions. Everything here is validated before any
//! command does work.

use crate::accounts::{self, Account, AccountChoice, Reach};
use crate::cli::GlobalArgs;
use crate::exit::UsageError;
use crate::kinds;
use crate::sagemaker::{AwsOptions, SageMaker, load_sdk_config};
use crate::shell::shell_quote;
use aws_config::SdkConfig;
use sm_emulator::{Emulator, EmulatorConfig, Seed};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

/// A connection to AWS (or the sandbox) for the regions and accounts asked for.
pub struct Session {
    /// The caller's own configuration: its credentials reach the caller's account, and assume
    /// the role in every other one.
    pub sdk_config: SdkConfig,
    pub regions: Vec<String>,
    pub state_dir: PathBuf,
    /// Kept alive for the session when `--sandbox` started one in-process.
    pub sandbox: Option<Emulator>,
    /// The accounts the options name (checked, not yet reached).
    pub accounts: AccountChoice,
}

impl Session {
    /// Connects for `global`'s regions, or `fallback_regions` (e.g. those a findings file names)
    /// when no `--region` was given.
    pub async fn connect(
        global: &GlobalArgs,
        fallback_regions: &[String],
    ) -> anyhow::Result<Session> {
        Session::connect_with(global, fallback_regions, false).await
    }

    /// [`Session::connect`], where `findings_name_accounts` says the accounts come from Security
    /// Hub's findings (`--from-securityhub`): `--exclude-account` alone then leaves some out.
    pub async fn connect_with(
        global: &GlobalArgs,
        fallback_regions: &[String],
        findings_name_accounts: bool,
    ) -> anyhow::Result<Session> {
        let choice = accounts::check(&global.accounts, findings_name_accounts)?;
        for region in &global.regions {
            if !is_plausible_region(region) {
                return Err(
                    UsageError::new(format!("`{region}` is not an AWS region name"))
                        .with_hint("regions look like `us-east-1` or `eu-west-2`")
                        .into(),
                );
            }
        }
        let mut options = AwsOptions {
            profile: global.profile.clone(),
            endpoint_url: global.endpoint_url.clone(),
            region: global.regions.first().or(fallback_regions.first()).cloned(),
            ..AwsOptions::default()
        };
        // Under --sandbox without --region: every region the seed holds, so the demo is whole.
        let mut seeded_regions: Vec<String> = Vec::new();
        let sandbox = match &global.sandbox {
            None => None,
            Some(seed_path) => {
                if global.endpoint_url.is_some() {
                    return Err(
                        UsageError::new("--sandbox and --endpoint-url cannot be combined")
                            .with_hint("--sandbox starts its own endpoint; drop one of the two")
                            .into(),
                    );
                }
                let seed = if seed_path.is_empty() && global.accounts.org {
                    Seed::demo_organization()
                } else if seed_path.is_empty() {
                    Seed::demo()
                } else {
                    Seed::from_path(std::path::Path::new(seed_path)).map_err(|e| {
                        UsageError::new(format!("cannot use sandbox seed {seed_path}: {e}"))
                    })?
                };
                seeded_regions = seed
                    .definitions
                    .iter()
                    .map(|d| d.region.clone())
                    .chain(seed.schedules.iter().map(|s| s.region.clone()))
                    .chain(seed.notebooks.iter().map(|n| n.region.clone()))
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect();
                let emulator = sm_emulator::start(
                    EmulatorConfig {
                        seed,
                        ..EmulatorConfig::default()
                    },
                    SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
                )
                .await?;
                tracing::info!(endpoint = %emulator.endpoint_url(), "sandbox emulator started");
                options.endpoint_url = Some(emulator.endpoint_url());
                options.dummy_credentials = true;
                options.profile = None;
                if options.region.is_none() {
                    options.region = Some("us-east-1".to_owned());
                }
                Some(emulator)
            }
        };
        let sdk_config = load_sdk_config(&options).await;
        let regions = if global.regions.is_empty() && !fallback_regions.is_empty() {
            fallback_regions.to_vec()
        } else if global.regions.is_empty() && !seeded_regions.is_empty() {
            seeded_regions
        } else if global.regions.is_empty() {
            match sdk_config.region().filter(|r| !r.as_ref().is_empty()) {
                Some(region) => vec![region.to_string()],
                None => {
                    return Err(UsageError::new("no AWS region is configured")
                        .with_hint(
                            "pass --region REGION, set AWS_REGION, or set `region` in your AWS profile",
                        )
                        .into());
                }
            }
        } else {
            let mut regions = global.regions.clone();
            regions.dedup();
            regions
        };
        Ok(Session {
            sdk_config,
            regions,
            state_dir: global.state_dir.clone(),
            sandbox,
            accounts: choice,
        })
    }

    /// Reaches the accounts the options name (the caller's alone without any), at most
    /// `concurrency` at once, telling `reached` about each as soon as it is confirmed
    /// (`accounts::reach`); the unreachable ones are in the answer, not an error.
    pub async fn reach(
        &self,
        concurrency: usize,
        reached: impl FnMut(&accounts::Account),
    ) -> anyhow::Result<Reach> {
        accounts::reach(&self.sdk_config, &self.accounts, concurrency, reached).await
    }

    /// Reaches exactly the accounts a plan file, journal or snapshot names, once it is clear the
    /// options select each of them: the tool never turns to an account nobody asked for.
    pub async fn reach_recorded(
        &self,
        recorded: &[String],
        what: &str,
        concurrency: usize,
    ) -> anyhow::Result<Reach> {
        let (caller, selected) = accounts::resolve(&self.sdk_config, &self.accounts).await?;
        let missing: Vec<&String> = recorded
            .iter()
            .filter(|id| !selected.contains(id))
            .collect();
        if let Some(first) = missing.first() {
            let select = format!(
                "select every account {what} names: {}",
                recorded
                    .iter()
                    .map(|id| format!("--account {id}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            return Err(self
                .outside_selection(
                    &format!("{what} is for account {first}"),
                    first,
                    &caller.account_id,
                    select,
                )
                .into());
        }
        Ok(accounts::reach_ids(
            &self.sdk_config,
            &caller,
            recorded,
            &self.accounts.role,
            concurrency,
        )
        .await)
    }

    /// Refuses what names `account` (`subject`, e.g. "the plan is for account B") when the
    /// options do not select it: named accounts leave it out, or without account options the
    /// credentials are `caller`'s. `select` says how to select it when accounts were named.
    pub fn outside_selection(
        &self,
        subject: &str,
        account: &str,
        caller: &str,
        select: String,
    ) -> UsageError {
        if self.accounts.names_accounts() {
            UsageError::new(format!(
                "{subject}, which the account options do not select"
            ))
            .with_hint(select)
        } else {
            UsageError::new(format!(
                "{subject}, but the credentials are for account {caller}"
            ))
            .with_hint(format!(
                "use the profile of that account (--profile), or reach it by assuming a role: --account {account}"
            ))
        }
    }

    /// The client for one account in one region.
    pub fn sagemaker(&self, account: &Account, region: &str) -> SageMaker {
        SageMaker::new(&account.config, &account.id, region)
    }

    /// One client per region, for one account.
    pub fn clients(&self, account: &Account) -> Vec<SageMaker> {
        self.regions
            .iter()
            .map(|r| self.sagemaker(account, r))
            .collect()
    }
}

/// How to invoke the tool again with the same account settings, for the commands printed in
/// hints (`resume`, `restore`).
pub fn command_prefix(global: &GlobalArgs, state_dir: &std::path::Path) -> String {
    command_prefix_with(global, &global.accounts, state_dir)
}

/// [`command_prefix`] with other account options: a run whose accounts came from Security Hub
/// findings names them, since no option of its own did.
pub fn command_prefix_with(
    global: &GlobalArgs,
    accounts: &crate::cli::AccountArgs,
    state_dir: &std::path::Path,
) -> String {
    let mut words = vec!["sm-recreate".to_owned()];
    if let Some(profile) = &global.profile {
        words.push(format!("--profile {}", shell_quote(profile)));
    }
    if let Some(url) = &global.endpoint_url {
        words.push(format!("--endpoint-url {}", shell_quote(url)));
    }
    words.extend(account_words(accounts));
    words.push(format!(
        "--state-dir {}",
        shell_quote(&state_dir.display().to_string())
    ));
    words.join(" ")
}

/// The account options, to reach the same accounts again. Never the external id's value: the
/// command reads it from the environment, where a secret belongs.
fn account_words(args: &crate::cli::AccountArgs) -> Vec<String> {
    let mut words = Vec::new();
    if args.org {
        words.push("--org".to_owned());
    }
    for id in &args.accounts {
        words.push(format!("--account {}", shell_quote(id)));
    }
    if let Some(path) = &args.accounts_file {
        let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
        words.push(format!(
            "--accounts-file {}",
            shell_quote(&path.display().to_string())
        ));
    }
    for id in &args.exclude_accounts {
        words.push(format!("--exclude-account {}", shell_quote(id)));
    }
    if args.names_accounts() {
        words.push(format!("--role-name {}", shell_quote(&args.role_name)));
        if args.role_session_name != "sm-recreate" {
            words.push(format!(
                "--role-session-name {}",
                shell_quote(&args.role_session_name)
            ));
        }
        // The value stays in the environment: the shell stops with "parameter null or not
        // set" rather than run the command without it.
        if args.external_id.is_some() {
            words.push("--external-id \"${SM_RECREATE_EXTERNAL_ID:?}\"".to_owned());
        }
    }
    words
}

/// A shape check only (`xx-word-N`, any partition): the real list changes and lives in the SDK's
/// endpoint rules; this only catches typos like a missing `--region` value eating a command.
fn is_plausible_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric()))
        && parts
            .last()
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
        && kinds::is_valid_name(region)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_names_are_checked_for_shape() {
        assert!(is_plausible_region("us-east-1"));
        assert!(is_plausible_region("us-gov-west-1"));
        assert!(is_plausible_region("ap-southeast-2"));
        assert!(!is_plausible_region("plan"));
        assert!(!is_plausible_region("us_east_1"));
        assert!(!is_plausible_region("us-east"));
    }
}
