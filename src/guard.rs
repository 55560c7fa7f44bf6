//! The guard policy: deny-only IAM statements that keep a fixed `NetworkConfig` flag from coming
//! back, the remediation's last step ("make the flag required"). Pure: no I/O, no AWS. What each
//! statement relies on, and what the Service Authorization Reference does and does not say about
//! it, is in docs/guard.md.
//!
//! Two rules shape it:
//! - A job-definition create is denied when the flag's condition key is `false` and, in a second
//!   statement, when it is absent (IAM ANDs the conditions of one statement, so "false or
//!   absent" takes two). A `Null` deny goes only on actions the reference lists the key for
//!   (the tests hold that list): on an action that never carries the key it would match, and
//!   refuse, every request.
//! - A monitoring-schedule create or update is denied only when the key is present and `false`
//!   (an inline job definition that turns the flag off). A schedule that names a definition
//!   carries no network settings, and sm-recreate's own repoints of schedules between
//!   definitions must keep working, so an absent key is never denied there.

use crate::kinds::{Fix, Fixes, Kind};
use serde::{Serialize, Serializer};

/// The IAM policy language version every document states.
pub const POLICY_VERSION: &str = "2012-10-17";

/// The API noun of monitoring schedules, as in `CreateMonitoringSchedule`.
const SCHEDULE_NOUN: &str = "MonitoringSchedule";

/// Where the policy will be attached. The statements are the same either way (what must be
/// denied does not depend on where the denial lives); this says which commands attach it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attachment {
    /// An AWS Organizations service control policy: every principal in the member accounts.
    Scp,
    /// An IAM policy on the roles that create monitoring resources.
    Iam,
}

impl Attachment {
    /// The commands that attach the policy once saved as `file`, for the `hint:` after it.
    pub fn how_to_attach(self, file: &str) -> String {
        match self {
            Attachment::Scp => format!(
                "to attach it as an SCP, save it as {file}, then run `aws organizations \
                 create-policy --type SERVICE_CONTROL_POLICY --name sm-recreate-guard \
                 --description 'Keep model-monitor NetworkConfig flags on' --content \
                 file://{file}` and `aws organizations attach-policy --policy-id POLICY_ID \
                 --target-id OU_OR_ACCOUNT_ID`; keep FullAWSAccess (or your allow SCPs) \
                 attached, since an SCP that only denies allows nothing"
            ),
            Attachment::Iam => format!(
                "to attach it to a role that creates monitoring resources, save it as {file}, \
                 then run `aws iam put-role-policy --role-name ROLE --policy-name \
                 sm-recreate-guard --policy-document file://{file}` for each such role; never \
                 as a permissions boundary, where a policy that only denies allows nothing"
            ),
        }
    }
}

/// The warning every guard comes with.
pub const ATTACH_AFTER_THE_FIX: &str = "once attached, this also refuses sm-recreate's own \
    rollback and `restore` of a definition without the flag: attach it after the fix";

/// A policy document: `Version` and a list of deny statements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Policy {
    pub version: &'static str,
    pub statement: Vec<Statement>,
}

impl Policy {
    /// Pretty JSON with a final newline, as printed.
    pub fn to_pretty_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a policy serializes");
        text.push('\n');
        text
    }
}

/// One statement. Only denials: the guard takes nothing away that the flag being on allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    /// Letters and digits only, as IAM and Organizations require; unique in the policy.
    pub sid: String,
    pub effect: Effect,
    pub action: Vec<String>,
    /// Always `*`: a deny scoped to ARNs could miss a request whose resource is written another
    /// way, and the actions already name the resources.
    pub resource: &'static str,
    pub condition: Condition,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Effect {
    Deny,
}

/// What a statement tests the flag's condition key for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Test {
    /// The key is in the request and `false`: `"Bool": {key: "false"}`.
    False,
    /// The key is not in the request: `"Null": {key: "true"}`.
    Absent,
}

impl Test {
    fn operator_and_value(self) -> (&'static str, &'static str) {
        match self {
            Test::False => ("Bool", "false"),
            Test::Absent => ("Null", "true"),
        }
    }

    fn sid_word(self) -> &'static str {
        match self {
            Test::False => "False",
            Test::Absent => "Absent",
        }
    }
}

/// One condition on one key; written as IAM writes it, `{"Bool": {"sagemaker:...": "false"}}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Condition {
    pub test: Test,
    pub key: &'static str,
}

impl Serialize for Condition {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (operator, value) = self.test.operator_and_value();
        let inner = serde_json::json!({ self.key: value });
        serde_json::json!({ operator: inner }).serialize(serializer)
    }
}

/// The actions that create the four kinds of job definition, from the kinds table.
pub fn definition_create_actions() -> Vec<String> {
    Kind::ALL
        .iter()
        .map(|kind| format!("sagemaker:Create{}", kind.api_noun()))
        .collect()
}

/// The actions that create or change a monitoring schedule's configuration.
pub fn schedule_actions() -> Vec<String> {
    ["Create", "Update"]
        .iter()
        .map(|verb| format!("sagemaker:{verb}{SCHEDULE_NOUN}"))
        .collect()
}

/// `Encryption`, `Isolation`: the fix as a word in a `Sid`.
fn sid_word(fix: Fix) -> &'static str {
    match fix {
        Fix::Encryption => "Encryption",
        Fix::Isolation => "Isolation",
    }
}

/// The guard for `fixes` (encryption alone when empty, as everywhere else in the tool): per fix,
/// in table order, the job-definition denials (false, then absent), then the schedule denial.
pub fn policy(fixes: Fixes) -> Policy {
    let fixes = if fixes.is_empty() {
        Fixes::ENCRYPTION
    } else {
        fixes
    };
    let mut statement = Vec::new();
    for fix in fixes.iter() {
        let key = fix.condition_key();
        for test in [Test::False, Test::Absent] {
            statement.push(Statement {
                sid: format!(
                    "DenyJobDefinitionCreate{}{}",
                    sid_word(fix),
                    test.sid_word()
                ),
                effect: Effect::Deny,
                action: definition_create_actions(),
                resource: "*",
                condition: Condition { test, key },
            });
        }
        statement.push(Statement {
            sid: format!(
                "DenyScheduleCreateOrUpdate{}{}",
                sid_word(fix),
                Test::False.sid_word()
            ),
            effect: Effect::Deny,
            action: schedule_actions(),
            resource: "*",
            condition: Condition {
                test: Test::False,
                key,
            },
        });
    }
    Policy {
        version: POLICY_VERSION,
        statement,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use std::collections::HashSet;

    /// The actions the Service Authorization Reference lists both
    /// `sagemaker:InterContainerTrafficEncryption` and `sagemaker:NetworkIsolation` for, spelled
    /// by hand from the reference (docs/guard.md) to check the names the kinds table gives.
    const DOCUMENTED_WITH_BOTH_KEYS: [&str; 6] = [
        "sagemaker:CreateDataQualityJobDefinition",
        "sagemaker:CreateModelBiasJobDefinition",
        "sagemaker:CreateModelExplainabilityJobDefinition",
        "sagemaker:CreateModelQualityJobDefinition",
        "sagemaker:CreateMonitoringSchedule",
        "sagemaker:UpdateMonitoringSchedule",
    ];

    fn both() -> Fixes {
        Fixes::ENCRYPTION.with(Fix::Isolation)
    }

    fn conditions(policy: &Policy, action: &str) -> Vec<(Test, &'static str)> {
        policy
            .statement
            .iter()
            .filter(|s| s.action.iter().any(|a| a == action))
            .map(|s| (s.condition.test, s.condition.key))
            .collect()
    }

    #[test]
    fn definition_creates_are_denied_when_the_flag_is_false_or_absent() {
        let policy = policy(Fixes::ENCRYPTION);
        for action in definition_create_actions() {
            assert_eq!(
                conditions(&policy, &action),
                vec![
                    (Test::False, "sagemaker:InterContainerTrafficEncryption"),
                    (Test::Absent, "sagemaker:InterContainerTrafficEncryption"),
                ],
                "{action}"
            );
        }
    }

    #[test]
    fn schedules_are_denied_only_an_explicit_false() {
        let policy = policy(both());
        for action in schedule_actions() {
            assert_eq!(
                conditions(&policy, &action),
                vec![
                    (Test::False, "sagemaker:InterContainerTrafficEncryption"),
                    (Test::False, "sagemaker:NetworkIsolation"),
                ],
                "{action}: a schedule that names a definition carries no flag"
            );
        }
        let json = serde_json::to_value(&policy).unwrap();
        for statement in json["Statement"].as_array().unwrap() {
            let schedule = statement["Action"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a.as_str().unwrap().ends_with(SCHEDULE_NOUN));
            if schedule {
                assert!(statement["Condition"].get("Null").is_none(), "{statement}");
            }
        }
    }

    #[test]
    fn isolation_adds_its_key_in_the_same_shapes() {
        let encryption = policy(Fixes::ENCRYPTION);
        let both = policy(both());
        assert_eq!(encryption.statement.len(), 3);
        assert_eq!(both.statement.len(), 6);
        assert_eq!(both.statement[..3], encryption.statement[..]);
        for (isolation, encryption) in both.statement[3..].iter().zip(&encryption.statement) {
            assert_eq!(isolation.condition.key, "sagemaker:NetworkIsolation");
            assert_eq!(isolation.condition.test, encryption.condition.test);
            assert_eq!(isolation.action, encryption.action);
            assert_eq!(
                isolation.sid,
                encryption.sid.replace("Encryption", "Isolation")
            );
        }
        let isolation_only = policy(Fixes::NONE.with(Fix::Isolation));
        assert_eq!(isolation_only.statement[..], both.statement[3..]);
    }

    #[test]
    fn no_fix_asked_means_encryption() {
        assert_eq!(policy(Fixes::NONE), policy(Fixes::ENCRYPTION));
    }

    #[test]
    fn every_action_comes_from_the_kinds_table_and_the_reference_lists_its_keys() {
        let created: Vec<String> = definition_create_actions();
        assert_eq!(created.len(), Kind::ALL.len());
        for kind in Kind::ALL {
            assert!(created.contains(&format!("sagemaker:Create{}", kind.api_noun())));
        }
        let policy = policy(both());
        let documented: HashSet<&str> = DOCUMENTED_WITH_BOTH_KEYS.into_iter().collect();
        let mut used = HashSet::new();
        for statement in &policy.statement {
            for action in &statement.action {
                assert!(
                    documented.contains(action.as_str()),
                    "{action} is not listed with {} in the reference: a Null deny on it would \
                     refuse every request",
                    statement.condition.key
                );
                used.insert(action.as_str());
            }
        }
        assert_eq!(used, documented, "every documented action is guarded");
    }

    #[test]
    fn every_statement_denies_with_a_unique_alphanumeric_sid() {
        let policy = policy(both());
        let mut sids = HashSet::new();
        for statement in &policy.statement {
            assert_eq!(statement.effect, Effect::Deny);
            assert!(
                statement.sid.bytes().all(|b| b.is_ascii_alphanumeric()),
                "{}",
                statement.sid
            );
            assert!(sids.insert(statement.sid.clone()), "{}", statement.sid);
        }
    }

    #[test]
    fn statements_are_written_as_iam_reads_them() {
        let json: Value = serde_json::to_value(policy(Fixes::ENCRYPTION)).unwrap();
        assert_eq!(json["Version"], "2012-10-17");
        assert_eq!(
            json["Statement"][1],
            json!({
                "Sid": "DenyJobDefinitionCreateEncryptionAbsent",
                "Effect": "Deny",
                "Action": [
                    "sagemaker:CreateDataQualityJobDefinition",
                    "sagemaker:CreateModelExplainabilityJobDefinition",
                    "sagemaker:CreateModelQualityJobDefinition",
                    "sagemaker:CreateModelBiasJobDefinition",
                ],
                "Resource": "*",
                "Condition": {"Null": {"sagemaker:InterContainerTrafficEncryption": "true"}},
            })
        );
        assert_eq!(
            json["Statement"][2]["Condition"],
            json!({"Bool": {"sagemaker:InterContainerTrafficEncryption": "false"}})
        );
    }

    /// An SCP holds at most 5,120 characters, and the AWS CLI stores the document as given,
    /// whitespace included: the printed policy must fit as printed, with room to spare.
    #[test]
    fn the_largest_guard_fits_an_scp_as_printed() {
        let printed = policy(both()).to_pretty_json();
        assert!(
            printed.chars().count() < 4_000,
            "{} characters",
            printed.len()
        );
    }

    #[test]
    fn attach_hints_name_the_command_for_each_attachment() {
        let scp = Attachment::Scp.how_to_attach("guard.json");
        assert!(scp.contains("--type SERVICE_CONTROL_POLICY"), "{scp}");
        assert!(scp.contains("--content file://guard.json"), "{scp}");
        let iam = Attachment::Iam.how_to_attach("guard.json");
        assert!(iam.contains("put-role-policy"), "{iam}");
        assert!(iam.contains("--policy-document file://guard.json"), "{iam}");
    }
}
