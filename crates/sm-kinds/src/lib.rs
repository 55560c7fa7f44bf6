//! The four model-monitor job-definition kinds as one table: sm-recreate and its emulator look
//! names up here rather than spelling API nouns or control ids themselves.

pub mod controls;
pub mod notebook;

pub use controls::{CONTROLS, Control, ControlInfo, Fix, Fixes, RuleTest, Subject, control_ids};
pub use notebook::{
    NOTEBOOK_CONTROLS, NotebookControl, NotebookControlInfo, NotebookSetting, notebook_control_ids,
};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A model-monitor job-definition kind, one per Security Hub control.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    DataQuality,
    ModelExplainability,
    ModelQuality,
    ModelBias,
}

/// Static facts about one kind.
#[derive(Debug)]
pub struct KindInfo {
    pub kind: Kind,
    /// The CLI and JSON name, e.g. `data-quality`.
    pub cli_name: &'static str,
    /// The Security Hub control that flags this kind, e.g. `SageMaker.9`.
    pub control: &'static str,
    /// The API noun, e.g. `DataQualityJobDefinition` (as in `CreateDataQualityJobDefinition`).
    pub api_noun: &'static str,
    /// The ARN resource type, e.g. `data-quality-job-definition`.
    pub arn_type: &'static str,
    /// The `MonitoringType` a schedule uses to reference this kind.
    pub monitoring_type: &'static str,
    /// The AWS Config managed rule that checks this kind.
    pub config_rule: &'static str,
    /// The prefix of the kind-specific members (`DataQuality` in `DataQualityAppSpecification`).
    pub member_prefix: &'static str,
}

pub const KINDS: [KindInfo; 4] = [
    KindInfo {
        kind: Kind::DataQuality,
        cli_name: "data-quality",
        control: "SageMaker.9",
        api_noun: "DataQualityJobDefinition",
        arn_type: "data-quality-job-definition",
        monitoring_type: "DataQuality",
        config_rule: "sagemaker-data-quality-job-encrypt-in-transit",
        member_prefix: "DataQuality",
    },
    KindInfo {
        kind: Kind::ModelExplainability,
        cli_name: "model-explainability",
        control: "SageMaker.10",
        api_noun: "ModelExplainabilityJobDefinition",
        arn_type: "model-explainability-job-definition",
        monitoring_type: "ModelExplainability",
        config_rule: "sagemaker-model-explainability-job-encrypt-in-transit",
        member_prefix: "ModelExplainability",
    },
    KindInfo {
        kind: Kind::ModelQuality,
        cli_name: "model-quality",
        control: "SageMaker.13",
        api_noun: "ModelQualityJobDefinition",
        arn_type: "model-quality-job-definition",
        monitoring_type: "ModelQuality",
        config_rule: "sagemaker-model-quality-job-encrypt-in-transit",
        member_prefix: "ModelQuality",
    },
    KindInfo {
        kind: Kind::ModelBias,
        cli_name: "model-bias",
        control: "SageMaker.15",
        api_noun: "ModelBiasJobDefinition",
        arn_type: "model-bias-job-definition",
        monitoring_type: "ModelBias",
        config_rule: "sagemaker-model-bias-job-encrypt-in-transit",
        member_prefix: "ModelBias",
    },
];

impl Kind {
    pub const ALL: [Kind; 4] = [
        Kind::DataQuality,
        Kind::ModelExplainability,
        Kind::ModelQuality,
        Kind::ModelBias,
    ];

    pub fn info(self) -> &'static KindInfo {
        KINDS
            .iter()
            .find(|info| info.kind == self)
            .expect("every Kind has a row in KINDS")
    }

    pub fn cli_name(self) -> &'static str {
        self.info().cli_name
    }

    pub fn control(self) -> &'static str {
        self.info().control
    }

    pub fn api_noun(self) -> &'static str {
        self.info().api_noun
    }

    pub fn arn_type(self) -> &'static str {
        self.info().arn_type
    }

    pub fn monitoring_type(self) -> &'static str {
        self.info().monitoring_type
    }

    /// The members `Create<Noun>` requires, besides `JobDefinitionName`, `JobResources` and `RoleArn`.
    pub fn required_members(self) -> [String; 3] {
        let p = self.info().member_prefix;
        [
            format!("{p}AppSpecification"),
            format!("{p}JobInput"),
            format!("{p}JobOutputConfig"),
        ]
    }

    pub fn from_cli_name(name: &str) -> Option<Kind> {
        KINDS.iter().find(|i| i.cli_name == name).map(|i| i.kind)
    }

    /// Accepts `SageMaker.9` (any case) or the bare number.
    pub fn from_control(control: &str) -> Option<Kind> {
        let wanted = control.trim();
        KINDS
            .iter()
            .find(|i| {
                i.control.eq_ignore_ascii_case(wanted)
                    || i.control.strip_prefix("SageMaker.") == Some(wanted)
            })
            .map(|i| i.kind)
    }

    pub fn from_api_noun(noun: &str) -> Option<Kind> {
        KINDS.iter().find(|i| i.api_noun == noun).map(|i| i.kind)
    }

    pub fn from_arn_type(arn_type: &str) -> Option<Kind> {
        KINDS
            .iter()
            .find(|i| i.arn_type == arn_type)
            .map(|i| i.kind)
    }

    pub fn from_monitoring_type(monitoring_type: &str) -> Option<Kind> {
        KINDS
            .iter()
            .find(|i| i.monitoring_type == monitoring_type)
            .map(|i| i.kind)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.cli_name())
    }
}

/// Definition and schedule names: 1–63 characters, `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$`.
pub fn is_valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes.len() > 63 {
        return false;
    }
    let alnum = |b: &u8| b.is_ascii_alphanumeric();
    alnum(&bytes[0])
        && alnum(bytes.last().expect("non-empty"))
        && bytes.iter().all(|b| alnum(b) || *b == b'-')
}

/// Do two definition (or schedule) names name the same resource?
///
/// ASCII case-insensitive: `Churn-DQ`, `churn-dq` and `CHURN-DQ` are one name. Whether SageMaker
/// itself compares these names case-insensitively is not documented (AWS-FACTS #2: a guess; some
/// SageMaker ARNs come back with the name lower-cased, and nothing says a schedule must name its
/// definition in the same case), so this is the safe direction: a finding's lower-cased ARN still selects its definition, and a
/// schedule naming the definition in another case still counts as referencing it (so it is moved
/// to the copy before the delete, rather than the delete being refused). Names hold only ASCII
/// letters, digits and hyphens, so ASCII folding is the whole of it. Use this, never `==`,
/// wherever a name from one place (a finding, a schedule, a journal) is matched to a definition.
pub fn same_name(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Does `wanted` (a name from a finding's ARN or a schedule's `MonitoringJobDefinitionName`)
/// name the definition `name`? Exactly, or by [`same_name`] unless a definition of the same kind
/// and region is named `wanted` exactly (`exists_exactly`): two names differing only in case can
/// both exist only if the service compares exactly, and then `wanted` is that other definition —
/// taking it for `name` would move someone's schedule onto the wrong definition.
pub fn refers_to(wanted: &str, name: &str, exists_exactly: impl Fn(&str) -> bool) -> bool {
    wanted == name || (same_name(wanted, name) && !exists_exactly(wanted))
}

/// Matches a name against a glob: `*` any run (including empty), `?` one character, everything
/// else literally and case-sensitively. Used by `--name` and by the emulator's fault rules.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    // Where the last `*` was and how much text it has swallowed so far, for backtracking.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

/// A parsed SageMaker job-definition ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefinitionArn {
    pub partition: String,
    pub region: String,
    pub account_id: String,
    pub kind: Kind,
    pub name: String,
}

impl DefinitionArn {
    /// Parses `arn:PARTITION:sagemaker:REGION:ACCOUNT:KIND-job-definition/NAME`.
    pub fn parse(arn: &str) -> Option<DefinitionArn> {
        let mut parts = arn.splitn(6, ':');
        let (
            Some("arn"),
            Some(partition),
            Some("sagemaker"),
            Some(region),
            Some(account),
            Some(resource),
        ) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        )
        else {
            return None;
        };
        let (arn_type, name) = resource.split_once('/')?;
        Some(DefinitionArn {
            partition: partition.to_owned(),
            region: region.to_owned(),
            account_id: account.to_owned(),
            kind: Kind::from_arn_type(arn_type)?,
            name: name.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_each_name() {
        for kind in Kind::ALL {
            assert_eq!(Kind::from_cli_name(kind.cli_name()), Some(kind));
            assert_eq!(Kind::from_control(kind.control()), Some(kind));
            assert_eq!(Kind::from_api_noun(kind.api_noun()), Some(kind));
            assert_eq!(Kind::from_arn_type(kind.arn_type()), Some(kind));
            assert_eq!(
                Kind::from_monitoring_type(kind.monitoring_type()),
                Some(kind)
            );
        }
        assert_eq!(Kind::from_control("sagemaker.13"), Some(Kind::ModelQuality));
        assert_eq!(Kind::from_control("15"), Some(Kind::ModelBias));
        assert_eq!(Kind::from_control("SageMaker.11"), None);
    }

    #[test]
    fn names_follow_the_service_pattern() {
        assert!(is_valid_name("a"));
        assert!(is_valid_name("a--b-9"));
        assert!(is_valid_name(&"a".repeat(63)));
        assert!(!is_valid_name(&"a".repeat(64)));
        assert!(!is_valid_name(""));
        assert!(!is_valid_name("-a"));
        assert!(!is_valid_name("a-"));
        assert!(!is_valid_name("bad_name!"));
    }

    #[test]
    fn names_are_the_same_whatever_their_case() {
        assert!(same_name("Churn-DQ", "churn-dq"));
        assert!(same_name("mixed-sched", "Mixed-Sched"));
        assert!(same_name("a", "a"));
        assert!(!same_name("churn-dq", "churn-dq2"));
        assert!(!same_name("churn-dq", "churn--dq"));
    }

    #[test]
    fn an_exact_namesake_wins_over_a_case_insensitive_match() {
        let none = |_: &str| false;
        assert!(refers_to("mixed-sched", "Mixed-Sched", none));
        assert!(refers_to("Mixed-Sched", "Mixed-Sched", |n| n == "Mixed-Sched"));
        // `mixed-sched` exists too: the service tells them apart, so the schedule is its.
        assert!(!refers_to("mixed-sched", "Mixed-Sched", |n| n == "mixed-sched"));
        assert!(!refers_to("other", "Mixed-Sched", none));
    }

    #[test]
    fn globs_match_like_a_shell() {
        assert!(glob_match("churn-*", "churn-data-quality"));
        assert!(glob_match("*-bias", "fraud-model-bias"));
        assert!(glob_match("a?c", "abc"));
        assert!(glob_match("*", ""));
        assert!(glob_match("*a*b*", "xxaxxbxx"));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b*c", "axxbyy"));
        assert!(!glob_match("churn-*", "fraud-churn"));
        assert!(!glob_match("a?c", "ac"));
        assert!(!glob_match("abc", "abcd"));
    }

    #[test]
    fn arns_parse_into_their_parts() {
        let arn = DefinitionArn::parse(
            "arn:aws:sagemaker:eu-west-1:123456789012:model-bias-job-definition/churn-bias",
        )
        .expect("valid arn");
        assert_eq!(arn.region, "eu-west-1");
        assert_eq!(arn.account_id, "123456789012");
        assert_eq!(arn.kind, Kind::ModelBias);
        assert_eq!(arn.name, "churn-bias");
        assert!(DefinitionArn::parse("arn:aws:sagemaker:eu-west-1:1:endpoint/x").is_none());
        assert!(DefinitionArn::parse("not an arn").is_none());
    }
}
