//! Test helpers that sm-recreate's tests (`tests/`) and the emulator's (`crates/sm-emulator/tests`)
//! both need, in one place: the emulator on a loopback port, the plain `aws-sdk-sagemaker` and
//! `aws-sdk-sts` clients pointed at it (what "someone else" uses), create, describe and delete of
//! every kind through those clients, the emulator's fault rules, the maximal fixtures, and a
//! shell-word splitter for the commands the tool prints.
//!
//! A dev-dependency only. It depends on the emulator and the kinds table, never on sm-recreate,
//! so the emulator's tests stay free of the tool.

mod faults;
mod sdk;

pub use faults::{
    delay_rule, drop_rule, error_rule, fault_error, hold_rule, internal_failure, throttled,
    with_faults,
};
pub use sdk::{
    Described, Failure, client, create_definition, delete_definition, describe_definition, failure,
    sts_client,
};

// The kinds as `per_kind!` names them wherever it is expanded.
#[doc(hidden)]
pub use sm_kinds::Kind as __Kind;

use serde_json::Value;
use sm_emulator::{
    AccountState, Behaviour, Emulator, EmulatorConfig, JoinedMethod, Seed, SeedAccount, SeedRole,
};
use sm_kinds::Kind;
use std::net::SocketAddr;
use std::path::Path;

/// The region the tests run in unless they say otherwise.
pub const REGION: &str = "us-east-1";
/// The account the emulator's seeds default to.
pub const ACCOUNT: &str = "123456789012";

/// The role an organization creates in its member accounts, and the tool assumes by default.
pub const ACCESS_ROLE: &str = "OrganizationAccountAccessRole";

/// An ACTIVE member account, created by the organization, with `ACCESS_ROLE` (no external id).
pub fn member(account_id: &str, name: &str) -> SeedAccount {
    SeedAccount {
        account_id: account_id.to_owned(),
        name: name.to_owned(),
        email: format!("{name}@example.com"),
        state: AccountState::Active,
        joined_method: JoinedMethod::Created,
        roles: vec![SeedRole {
            name: ACCESS_ROLE.to_owned(),
            external_id: None,
        }],
        disabled_regions: Vec::new(),
    }
}

/// Starts an emulator on an ephemeral loopback port.
pub async fn start_emulator(seed: Seed, behaviour: Behaviour) -> Emulator {
    sm_emulator::start(
        EmulatorConfig { seed, behaviour },
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .expect("start the emulator")
}

/// `fixtures/maximal/<kind>.json` (at the workspace root): a create request with every member the
/// model defines.
pub fn maximal_request(kind: Kind) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/maximal")
        .join(format!("{}.json", kind.cli_name()));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Splits a POSIX shell command line into its words (single and double quotes, backslashes; no
/// expansions): how a shell reads a command the tool prints for a person to run.
pub fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    word.push(c);
                }
            }
            '"' => {
                in_word = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => {
                            if let Some(next) = chars.next() {
                                word.push(next);
                            }
                        }
                        _ => word.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(next) = chars.next() {
                    word.push(next);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::shell_words;

    #[test]
    fn shell_words_reads_quotes_and_escapes_as_a_shell_does() {
        assert_eq!(
            shell_words(
                r#"sm-recreate --state-dir '/tmp/my state' restore "a \"b\"" c\ d 'it'\''s'"#
            ),
            [
                "sm-recreate",
                "--state-dir",
                "/tmp/my state",
                "restore",
                "a \"b\"",
                "c d",
                "it's"
            ]
        );
    }
}
