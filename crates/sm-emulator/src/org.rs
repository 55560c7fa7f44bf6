//! The organization around the SageMaker state: its accounts, who a request comes from (the
//! access key in its signature), STS `AssumeRole` and `GetCallerIdentity`, and Organizations
//! `ListAccounts`. Like the store it is synchronous and clock-injected; `server` renders the
//! answers in each service's wire protocol.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::config::{AccountState, JoinedMethod, Seed, SeedRole};
use super::listing::{PageLimits, PageRequest};
use super::protocol::{ApiError, Members};

/// The message AWS answers for a request signed with expired temporary credentials.
const EXPIRED_MESSAGE: &str = "The security token included in the request is expired";

/// `ListAccounts`' `MaxResults`: 1–20 (the model's bounds); the service's default is not
/// documented, so the largest page is a guess.
const ACCOUNT_LIMITS: PageLimits = PageLimits {
    default: 20,
    min: 1,
    max: Some(20),
};

#[derive(Debug)]
struct Account {
    id: String,
    name: String,
    email: String,
    state: AccountState,
    joined_method: JoinedMethod,
    roles: Vec<SeedRole>,
    disabled_regions: Vec<String>,
}

/// Temporary credentials handed out by `AssumeRole`.
#[derive(Debug)]
struct Session {
    account: String,
    role: String,
    session_name: String,
    expires_at: SystemTime,
}

/// Who sent a request, as AWS would tell from its access key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Caller {
    pub account: String,
    /// `arn:aws:iam::<id>:user/sandbox` for base credentials, the assumed-role ARN otherwise.
    pub arn: String,
    pub user_id: String,
    /// Temporary credentials past their expiry: every call answers `ExpiredToken`.
    pub expired: bool,
}

/// What `AssumeRole` hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IssuedCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    /// ISO-8601 UTC, as STS writes `Expiration`.
    pub expiration: String,
    pub assumed_role_id: String,
    pub arn: String,
}

/// The accounts and the credentials issued so far.
#[derive(Debug)]
pub(crate) struct Organization {
    /// The management (caller's) account first, then the members in seed order.
    accounts: Vec<Account>,
    /// Whether the seed described an organization at all (it listed member accounts).
    in_use: bool,
    id: String,
    joined: f64,
    lifetime: Duration,
    sessions: HashMap<String, Session>,
    issued: u64,
}

impl Organization {
    pub(crate) fn new(seed: &Seed, now: SystemTime) -> Organization {
        let management = Account {
            id: seed.account_id.clone(),
            name: seed
                .management_name
                .clone()
                .unwrap_or_else(|| "management".to_owned()),
            email: seed
                .management_email
                .clone()
                .unwrap_or_else(|| format!("aws+{}@example.com", seed.account_id)),
            state: AccountState::Active,
            joined_method: JoinedMethod::Created,
            roles: seed.management_roles.clone(),
            disabled_regions: Vec::new(),
        };
        let members = seed.accounts.iter().map(|member| Account {
            id: member.account_id.clone(),
            name: member.name.clone(),
            email: member.email.clone(),
            state: member.state,
            joined_method: member.joined_method,
            roles: member.roles.clone(),
            disabled_regions: member.disabled_regions.clone(),
        });
        Organization {
            accounts: std::iter::once(management).chain(members).collect(),
            in_use: !seed.accounts.is_empty(),
            id: organization_id(&seed.account_id),
            joined: epoch_seconds(now).floor(),
            lifetime: seed.credential_lifetime,
            sessions: HashMap::new(),
            issued: 0,
        }
    }

    pub(crate) fn management_account(&self) -> &str {
        &self.accounts[0].id
    }

    /// Every account id, the management account first.
    pub(crate) fn account_ids(&self) -> Vec<String> {
        self.accounts
            .iter()
            .map(|account| account.id.clone())
            .collect()
    }

    fn account(&self, id: &str) -> Option<&Account> {
        self.accounts.iter().find(|account| account.id == id)
    }

    /// The caller behind an access key id: keys `AssumeRole` issued map to their role's
    /// account, every other key (or none) to the management account.
    pub(crate) fn identify(&self, access_key_id: Option<&str>, now: SystemTime) -> Caller {
        match access_key_id.and_then(|key| self.sessions.get(key)) {
            Some(session) => Caller {
                account: session.account.clone(),
                arn: assumed_role_arn(&session.account, &session.role, &session.session_name),
                user_id: format!(
                    "{}:{}",
                    role_id(&session.account, &session.role),
                    session.session_name
                ),
                expired: session.expires_at <= now,
            },
            None => {
                let account = self.management_account();
                Caller {
                    account: account.to_owned(),
                    arn: format!("arn:aws:iam::{account}:user/sandbox"),
                    user_id: "AIDASANDBOX".to_owned(),
                    expired: false,
                }
            }
        }
    }

    /// The error a SageMaker call from `caller` in `region` gets before anything else: expired
    /// credentials, or an opt-in region the account has not enabled.
    pub(crate) fn refuse_sagemaker(&self, caller: &Caller, region: &str) -> Option<ApiError> {
        if caller.expired {
            return Some(ApiError::new(400, "ExpiredTokenException", EXPIRED_MESSAGE));
        }
        let disabled = self
            .account(&caller.account)
            .is_some_and(|account| account.disabled_regions.iter().any(|r| r == region));
        // What a call to an opt-in region the account has not enabled answers.
        disabled.then(|| {
            ApiError::new(
                400,
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            )
        })
    }

    /// The error an STS call signed with expired credentials gets (the query protocol's code).
    pub(crate) fn expired_sts() -> ApiError {
        ApiError::new(400, "ExpiredToken", EXPIRED_MESSAGE)
    }

    /// The error an Organizations call signed with expired credentials gets.
    pub(crate) fn expired_json() -> ApiError {
        ApiError::new(400, "ExpiredTokenException", EXPIRED_MESSAGE)
    }

    /// `AssumeRole` from the form fields of an awsQuery request. Anything not allowed is
    /// `AccessDenied` (HTTP 403), as STS answers whatever the reason.
    pub(crate) fn assume_role(
        &mut self,
        caller: &Caller,
        fields: &[(String, String)],
        now: SystemTime,
    ) -> Result<IssuedCredentials, ApiError> {
        let field = |name: &str| {
            fields
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.as_str())
        };
        let role_arn = field("RoleArn").unwrap_or_default();
        let session_name = field("RoleSessionName").unwrap_or_default();
        let mut missing = Vec::new();
        if role_arn.is_empty() {
            missing.push("roleArn");
        }
        if session_name.is_empty() {
            missing.push("roleSessionName");
        }
        if !missing.is_empty() {
            let problems: Vec<String> = missing
                .iter()
                .map(|member| {
                    format!("Value null at '{member}' failed to satisfy constraint: Member must not be null")
                })
                .collect();
            return Err(ApiError::new(
                400,
                "ValidationError",
                format!(
                    "{} validation error{} detected: {}",
                    problems.len(),
                    if problems.len() == 1 { "" } else { "s" },
                    problems.join("; ")
                ),
            ));
        }
        let denied = || {
            ApiError::new(
                403,
                "AccessDenied",
                format!(
                    "User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
                    caller.arn
                ),
            )
        };
        let (account_id, role_name) = parse_role_arn(role_arn).ok_or_else(denied)?;
        let account = self
            .account(account_id)
            .filter(|account| account.state == AccountState::Active)
            .ok_or_else(denied)?;
        let role = account
            .roles
            .iter()
            .find(|role| role.name == role_name)
            .ok_or_else(denied)?;
        // A role with an `sts:ExternalId` condition denies a missing or different id; one without
        // ignores whatever is sent.
        if let Some(expected) = &role.external_id
            && field("ExternalId") != Some(expected.as_str())
        {
            return Err(denied());
        }
        let role = role.name.clone();
        let account = account.id.clone();
        self.issued += 1;
        let access_key_id = access_key_id(self.issued);
        let expires_at = now + self.lifetime;
        let issued = IssuedCredentials {
            secret_access_key: format!("sandbox-secret-{}", self.issued),
            session_token: format!("sandbox-session-token-{}-{account}-{role}", self.issued),
            expiration: iso8601(expires_at),
            assumed_role_id: format!("{}:{session_name}", role_id(&account, &role)),
            arn: assumed_role_arn(&account, &role, session_name),
            access_key_id: access_key_id.clone(),
        };
        self.sessions.insert(
            access_key_id,
            Session {
                account,
                role,
                session_name: session_name.to_owned(),
                expires_at,
            },
        );
        Ok(issued)
    }

    /// Makes every credential issued for `account` expired from now on.
    pub(crate) fn expire_credentials(&mut self, account: &str) {
        for session in self.sessions.values_mut() {
            if session.account == account {
                session.expires_at = UNIX_EPOCH;
            }
        }
    }

    /// `ListAccounts` (awsJson1_1): the management account and the members, paginated; only the
    /// management account may ask.
    pub(crate) fn list_accounts(
        &self,
        caller: &Caller,
        body: Members<'_>,
    ) -> Result<Value, ApiError> {
        if !self.in_use {
            return Err(ApiError::new(
                400,
                "AWSOrganizationsNotInUseException",
                "Your account is not a member of an organization.",
            ));
        }
        if caller.account != self.management_account() {
            return Err(ApiError::new(
                400,
                "AccessDeniedException",
                "You don't have permissions to access this resource.",
            ));
        }
        let page = PageRequest::parse("ListAccounts", body, &ACCOUNT_LIMITS)
            .map_err(|error| ApiError::new(400, "InvalidInputException", error.message))?;
        let management = self.management_account();
        let accounts: Vec<Value> = self
            .accounts
            .iter()
            .map(|account| {
                // `Status` knows no CLOSED (it is being retired in favour of `State`,
                // AWS-FACTS #17); a closed account reads as pending closure there (a guess).
                let status = match account.state {
                    AccountState::Closed => AccountState::PendingClosure,
                    state => state,
                };
                json!({
                    "Id": account.id,
                    "Arn": format!("arn:aws:organizations::{management}:account/{}/{}", self.id, account.id),
                    "Email": account.email,
                    "Name": account.name,
                    "Status": status.as_str(),
                    "State": account.state.as_str(),
                    "JoinedMethod": account.joined_method.as_str(),
                    "JoinedTimestamp": self.joined,
                })
            })
            .collect();
        let (accounts, next_token) = page.page(accounts);
        let mut response = json!({ "Accounts": accounts });
        if let Some(token) = next_token {
            response["NextToken"] = json!(token);
        }
        Ok(response)
    }
}

/// `arn:<partition>:iam::<account>:role/<path/><name>` → (account, name).
fn parse_role_arn(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_partition), Some("iam"), Some(""), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let name = resource.strip_prefix("role/")?.rsplit('/').next()?;
    (!name.is_empty()).then_some((account, name))
}

fn assumed_role_arn(account: &str, role: &str, session_name: &str) -> String {
    format!("arn:aws:sts::{account}:assumed-role/{role}/{session_name}")
}

/// A stable role id (`AROA` and 17 characters), as IAM gives every role.
fn role_id(account: &str, role: &str) -> String {
    format!(
        "AROA{}",
        &hash_chars(&format!("{account}/{role}"), 17).to_ascii_uppercase()
    )
}

/// `ASIA` and 16 characters, unique per emulator: the shape of temporary access keys.
fn access_key_id(serial: u64) -> String {
    let random: u32 = rand::random();
    format!("ASIA{:08X}{serial:08X}", random)
}

/// `o-` and ten characters, derived from the management account so it is the same every run.
fn organization_id(management: &str) -> String {
    format!("o-{}", hash_chars(management, 10))
}

/// `length` characters of `[a-z0-9]` derived from `text`.
fn hash_chars(text: &str, length: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    Sha256::digest(text.as_bytes())
        .iter()
        .take(length)
        .map(|byte| char::from(ALPHABET[usize::from(*byte) % ALPHABET.len()]))
        .collect()
}

fn epoch_seconds(time: SystemTime) -> f64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0.0, |elapsed| elapsed.as_secs_f64())
}

/// `YYYY-MM-DDTHH:MM:SSZ` (UTC), the form STS writes timestamps in.
pub(crate) fn iso8601(time: SystemTime) -> String {
    let seconds = time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let days = i64::try_from(seconds / 86_400).unwrap_or(i64::MAX);
    let of_day = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = u32::try_from(day_of_year - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let month = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SeedAccount;

    fn org() -> Organization {
        let seed = Seed {
            account_id: "111111111111".to_owned(),
            accounts: vec![
                SeedAccount {
                    account_id: "222222222222".to_owned(),
                    name: "prod".to_owned(),
                    email: "prod@example.com".to_owned(),
                    state: AccountState::Active,
                    joined_method: JoinedMethod::Created,
                    roles: vec![
                        SeedRole {
                            name: "OrganizationAccountAccessRole".to_owned(),
                            external_id: None,
                        },
                        SeedRole {
                            name: "Auditor".to_owned(),
                            external_id: Some("secret-id".to_owned()),
                        },
                    ],
                    disabled_regions: vec!["eu-south-2".to_owned()],
                },
                SeedAccount {
                    account_id: "333333333333".to_owned(),
                    name: "gone".to_owned(),
                    email: "gone@example.com".to_owned(),
                    state: AccountState::Suspended,
                    joined_method: JoinedMethod::Invited,
                    roles: Vec::new(),
                    disabled_regions: Vec::new(),
                },
            ],
            credential_lifetime: Duration::from_secs(60),
            ..Seed::default()
        };
        Organization::new(&seed, UNIX_EPOCH + Duration::from_secs(1_700_000_000))
    }

    fn fields(role_arn: &str, external_id: Option<&str>) -> Vec<(String, String)> {
        let mut fields = vec![
            ("Action".to_owned(), "AssumeRole".to_owned()),
            ("RoleArn".to_owned(), role_arn.to_owned()),
            ("RoleSessionName".to_owned(), "run".to_owned()),
        ];
        if let Some(id) = external_id {
            fields.push(("ExternalId".to_owned(), id.to_owned()));
        }
        fields
    }

    #[test]
    fn timestamps_are_iso8601_utc() {
        assert_eq!(iso8601(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            iso8601(UNIX_EPOCH + Duration::from_secs(951_782_400 + 3661)),
            "2000-02-29T01:01:01Z"
        );
        assert_eq!(
            iso8601(UNIX_EPOCH + Duration::from_secs(1_767_225_599)),
            "2025-12-31T23:59:59Z"
        );
    }

    #[test]
    fn role_arns_parse_in_any_partition_and_with_paths() {
        assert_eq!(
            parse_role_arn("arn:aws-us-gov:iam::222222222222:role/a/b/Name"),
            Some(("222222222222", "Name"))
        );
        assert_eq!(parse_role_arn("arn:aws:iam::222222222222:user/x"), None);
        assert_eq!(parse_role_arn("arn:aws:s3:::bucket"), None);
    }

    #[test]
    fn issued_keys_map_to_their_account_until_they_expire() {
        let mut org = org();
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let base = org.identify(Some("AKIDSANDBOX"), now);
        assert_eq!(base.account, "111111111111");
        let issued = org
            .assume_role(
                &base,
                &fields(
                    "arn:aws:iam::222222222222:role/OrganizationAccountAccessRole",
                    None,
                ),
                now,
            )
            .expect("allowed");
        assert!(issued.access_key_id.starts_with("ASIA"));
        assert_eq!(issued.expiration, "2023-11-14T22:14:20Z");
        let member = org.identify(Some(&issued.access_key_id), now);
        assert_eq!(member.account, "222222222222");
        assert_eq!(
            member.arn,
            "arn:aws:sts::222222222222:assumed-role/OrganizationAccountAccessRole/run"
        );
        assert!(!member.expired);
        assert!(
            org.identify(Some(&issued.access_key_id), now + Duration::from_secs(60))
                .expired
        );
        org.expire_credentials("222222222222");
        assert!(org.identify(Some(&issued.access_key_id), now).expired);
    }

    #[test]
    fn unknown_accounts_roles_suspended_accounts_and_wrong_external_ids_are_denied() {
        let mut org = org();
        let now = SystemTime::now();
        let base = org.identify(None, now);
        for (arn, external_id) in [
            (
                "arn:aws:iam::999999999999:role/OrganizationAccountAccessRole",
                None,
            ),
            ("arn:aws:iam::222222222222:role/Nope", None),
            (
                "arn:aws:iam::333333333333:role/OrganizationAccountAccessRole",
                None,
            ),
            (
                "arn:aws:iam::111111111111:role/OrganizationAccountAccessRole",
                None,
            ),
            ("arn:aws:iam::222222222222:role/Auditor", None),
            ("arn:aws:iam::222222222222:role/Auditor", Some("other")),
            ("not-an-arn-at-all-really", None),
        ] {
            let error = org
                .assume_role(&base, &fields(arn, external_id), now)
                .expect_err(arn);
            assert_eq!(
                (error.status, error.code.as_str()),
                (403, "AccessDenied"),
                "{arn}"
            );
            assert!(
                error
                    .message
                    .contains("arn:aws:iam::111111111111:user/sandbox"),
                "{error:?}"
            );
        }
        org.assume_role(
            &base,
            &fields("arn:aws:iam::222222222222:role/Auditor", Some("secret-id")),
            now,
        )
        .expect("right external id");
        // A role without an external id ignores one.
        org.assume_role(
            &base,
            &fields(
                "arn:aws:iam::222222222222:role/OrganizationAccountAccessRole",
                Some("anything"),
            ),
            now,
        )
        .expect("ignored external id");
    }

    #[test]
    fn sagemaker_calls_in_a_disabled_region_are_unrecognized() {
        let mut org = org();
        let now = SystemTime::now();
        let base = org.identify(None, now);
        let issued = org
            .assume_role(
                &base,
                &fields(
                    "arn:aws:iam::222222222222:role/OrganizationAccountAccessRole",
                    None,
                ),
                now,
            )
            .expect("allowed");
        let member = org.identify(Some(&issued.access_key_id), now);
        let error = org
            .refuse_sagemaker(&member, "eu-south-2")
            .expect("refused");
        assert_eq!(error.code, "UnrecognizedClientException");
        assert!(org.refuse_sagemaker(&member, "us-east-1").is_none());
        assert!(org.refuse_sagemaker(&base, "eu-south-2").is_none());
    }

    #[test]
    fn list_accounts_is_for_the_management_account_of_an_organization() {
        let org = org();
        let now = SystemTime::now();
        let base = org.identify(None, now);
        let body = serde_json::Map::new();
        let answer = org.list_accounts(&base, Members(&body)).expect("listed");
        let accounts = answer["Accounts"].as_array().expect("list");
        assert_eq!(accounts.len(), 3);
        assert_eq!(accounts[2]["State"], "SUSPENDED");
        assert_eq!(accounts[2]["JoinedMethod"], "INVITED");
        assert!(
            accounts[1]["Arn"]
                .as_str()
                .expect("arn")
                .starts_with("arn:aws:organizations::111111111111:account/o-")
        );
        let lone = Organization::new(&Seed::default(), now);
        let error = lone
            .list_accounts(&lone.identify(None, now), Members(&body))
            .expect_err("no organization");
        assert_eq!(error.code, "AWSOrganizationsNotInUseException");
    }
}
