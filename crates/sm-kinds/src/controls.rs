//! The ten Security Hub controls on model-monitor `NetworkConfig` flags as one table: which
//! resource each judges, which flag, and how its AWS Config managed rule reads that flag.

use crate::Kind;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A `NetworkConfig` flag the tool makes true.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fix {
    /// `EnableInterContainerTrafficEncryption`.
    Encryption,
    /// `EnableNetworkIsolation`: the job's containers get no network access at all.
    Isolation,
}

impl Fix {
    pub const ALL: [Fix; 2] = [Fix::Encryption, Fix::Isolation];

    /// The name on the command line and in JSON.
    pub fn cli_name(self) -> &'static str {
        match self {
            Fix::Encryption => "encryption",
            Fix::Isolation => "isolation",
        }
    }

    pub fn from_cli_name(name: &str) -> Option<Fix> {
        Fix::ALL.into_iter().find(|fix| fix.cli_name() == name)
    }

    /// The member of `NetworkConfig` this fix makes `true`.
    pub fn member(self) -> &'static str {
        match self {
            Fix::Encryption => "EnableInterContainerTrafficEncryption",
            Fix::Isolation => "EnableNetworkIsolation",
        }
    }

    /// The IAM condition key that carries this flag on create and update requests.
    pub fn condition_key(self) -> &'static str {
        match self {
            Fix::Encryption => "sagemaker:InterContainerTrafficEncryption",
            Fix::Isolation => "sagemaker:NetworkIsolation",
        }
    }
}

impl fmt::Display for Fix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.cli_name())
    }
}

/// A set of fixes: the flags one change makes true. Written as a list of their names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(into = "Vec<Fix>", from = "Vec<Fix>")]
pub struct Fixes {
    encryption: bool,
    isolation: bool,
}

impl Fixes {
    pub const NONE: Fixes = Fixes {
        encryption: false,
        isolation: false,
    };
    /// What sm-recreate 0.1 did, and still does when nothing else is asked.
    pub const ENCRYPTION: Fixes = Fixes {
        encryption: true,
        isolation: false,
    };

    pub fn contains(self, fix: Fix) -> bool {
        match fix {
            Fix::Encryption => self.encryption,
            Fix::Isolation => self.isolation,
        }
    }

    pub fn with(mut self, fix: Fix) -> Fixes {
        match fix {
            Fix::Encryption => self.encryption = true,
            Fix::Isolation => self.isolation = true,
        }
        self
    }

    pub fn union(self, other: Fixes) -> Fixes {
        other.iter().fold(self, Fixes::with)
    }

    pub fn intersection(self, other: Fixes) -> Fixes {
        Fixes {
            encryption: self.encryption && other.encryption,
            isolation: self.isolation && other.isolation,
        }
    }

    pub fn is_empty(self) -> bool {
        self == Fixes::NONE
    }

    /// In table order: encryption, then isolation.
    pub fn iter(self) -> impl Iterator<Item = Fix> {
        Fix::ALL.into_iter().filter(move |fix| self.contains(*fix))
    }
}

impl FromIterator<Fix> for Fixes {
    fn from_iter<I: IntoIterator<Item = Fix>>(fixes: I) -> Fixes {
        fixes.into_iter().fold(Fixes::NONE, Fixes::with)
    }
}

impl From<Vec<Fix>> for Fixes {
    fn from(fixes: Vec<Fix>) -> Fixes {
        fixes.into_iter().collect()
    }
}

impl From<Fixes> for Vec<Fix> {
    fn from(fixes: Fixes) -> Vec<Fix> {
        fixes.iter().collect()
    }
}

impl fmt::Display for Fixes {
    /// `encryption`, `isolation`, `encryption and isolation`, or `nothing`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.iter().map(Fix::cli_name).collect();
        if names.is_empty() {
            f.write_str("nothing")
        } else {
            f.write_str(&names.join(" and "))
        }
    }
}

/// What a control judges: a job definition of one kind, or a monitoring schedule's inline
/// `MonitoringJobDefinition`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Subject {
    Definition(Kind),
    InlineSchedule,
}

/// How a control's AWS Config managed rule reads its flag (AWS-FACTS #13, #16).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleTest {
    /// Fails a flag that is not `true`, but only for jobs on two or more instances.
    NotTrueOnTwoOrMoreInstances,
    /// Fails a flag that is `false`; an absent flag passes.
    False,
    /// Fails a flag that is not `true` (absent included).
    NotTrue,
}

impl RuleTest {
    /// Whether the AWS Config managed rule passes a job whose flag is `flag` (`None`: no
    /// `NetworkConfig`, or no such member) and whose cluster has `instance_count` instances. The
    /// tool's `config-rule` evaluation and the emulator's Security Hub findings both judge by it.
    pub fn passes(self, flag: Option<bool>, instance_count: Option<u64>) -> bool {
        match self {
            RuleTest::NotTrue => flag == Some(true),
            RuleTest::False => flag != Some(false),
            // A single-instance job has no inter-container traffic to encrypt.
            RuleTest::NotTrueOnTwoOrMoreInstances => {
                flag == Some(true) || instance_count.is_none_or(|count| count < 2)
            }
        }
    }
}

/// Static facts about one control.
#[derive(Debug, PartialEq, Eq)]
pub struct ControlInfo {
    /// `SageMaker.11`.
    pub id: &'static str,
    pub subject: Subject,
    pub fix: Fix,
    /// The AWS Config managed rule behind the control.
    pub config_rule: &'static str,
    pub rule_test: RuleTest,
}

/// Every control, by number.
pub const CONTROLS: [ControlInfo; 10] = [
    ControlInfo {
        id: "SageMaker.9",
        subject: Subject::Definition(Kind::DataQuality),
        fix: Fix::Encryption,
        config_rule: "sagemaker-data-quality-job-encrypt-in-transit",
        rule_test: RuleTest::NotTrueOnTwoOrMoreInstances,
    },
    ControlInfo {
        id: "SageMaker.10",
        subject: Subject::Definition(Kind::ModelExplainability),
        fix: Fix::Encryption,
        config_rule: "sagemaker-model-explainability-job-encrypt-in-transit",
        rule_test: RuleTest::NotTrueOnTwoOrMoreInstances,
    },
    ControlInfo {
        id: "SageMaker.11",
        subject: Subject::Definition(Kind::DataQuality),
        fix: Fix::Isolation,
        config_rule: "sagemaker-data-quality-job-isolation",
        rule_test: RuleTest::False,
    },
    ControlInfo {
        id: "SageMaker.12",
        subject: Subject::Definition(Kind::ModelBias),
        fix: Fix::Isolation,
        config_rule: "sagemaker-model-bias-job-isolation",
        rule_test: RuleTest::False,
    },
    ControlInfo {
        id: "SageMaker.13",
        subject: Subject::Definition(Kind::ModelQuality),
        fix: Fix::Encryption,
        config_rule: "sagemaker-model-quality-job-encrypt-in-transit",
        rule_test: RuleTest::NotTrueOnTwoOrMoreInstances,
    },
    ControlInfo {
        id: "SageMaker.14",
        subject: Subject::InlineSchedule,
        fix: Fix::Isolation,
        config_rule: "sagemaker-monitoring-schedule-isolation",
        rule_test: RuleTest::NotTrue,
    },
    ControlInfo {
        id: "SageMaker.15",
        subject: Subject::Definition(Kind::ModelBias),
        fix: Fix::Encryption,
        config_rule: "sagemaker-model-bias-job-encrypt-in-transit",
        rule_test: RuleTest::NotTrueOnTwoOrMoreInstances,
    },
    ControlInfo {
        id: "SageMaker.20",
        subject: Subject::Definition(Kind::ModelExplainability),
        fix: Fix::Isolation,
        config_rule: "sagemaker-model-explainability-job-network-isolation",
        rule_test: RuleTest::NotTrue,
    },
    ControlInfo {
        id: "SageMaker.22",
        subject: Subject::InlineSchedule,
        fix: Fix::Encryption,
        config_rule: "sagemaker-monitoring-schedule-traffic-encryption",
        rule_test: RuleTest::NotTrueOnTwoOrMoreInstances,
    },
    ControlInfo {
        id: "SageMaker.25",
        subject: Subject::Definition(Kind::ModelQuality),
        fix: Fix::Isolation,
        config_rule: "sagemaker-model-quality-job-definition-isolation",
        rule_test: RuleTest::False,
    },
];

/// A control, by reference into [`CONTROLS`].
pub type Control = &'static ControlInfo;

impl ControlInfo {
    /// Accepts `SageMaker.11` (any case) or the bare number.
    pub fn find(id: &str) -> Option<Control> {
        let wanted = id.trim();
        CONTROLS.iter().find(|c| {
            c.id.eq_ignore_ascii_case(wanted) || c.id.strip_prefix("SageMaker.") == Some(wanted)
        })
    }

    /// The controls that judge `subject`, encryption first.
    pub fn of(subject: Subject) -> impl Iterator<Item = Control> {
        let mut found: Vec<Control> = CONTROLS.iter().filter(|c| c.subject == subject).collect();
        found.sort_by_key(|c| c.fix);
        found.into_iter()
    }

    /// The control that judges `fix` on `subject` (every subject has one per fix).
    pub fn for_fix(subject: Subject, fix: Fix) -> Control {
        CONTROLS
            .iter()
            .find(|c| c.subject == subject && c.fix == fix)
            .expect("every subject has a control per fix")
    }

    /// The number after `SageMaker.`, for ordering controls as Security Hub lists them.
    pub fn number(&self) -> u32 {
        self.id
            .strip_prefix("SageMaker.")
            .and_then(|n| n.parse().ok())
            .unwrap_or(u32::MAX)
    }
}

/// All control ids, for help text and errors: `SageMaker.9, .10, ...`.
pub fn control_ids() -> String {
    let ids: Vec<&str> = CONTROLS.iter().map(|c| c.id).collect();
    ids.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_subject_has_one_control_per_fix() {
        let subjects = Kind::ALL
            .iter()
            .map(|k| Subject::Definition(*k))
            .chain([Subject::InlineSchedule]);
        for subject in subjects {
            let fixes: Vec<Fix> = ControlInfo::of(subject).map(|c| c.fix).collect();
            assert_eq!(fixes, vec![Fix::Encryption, Fix::Isolation], "{subject:?}");
        }
        for kind in Kind::ALL {
            let encryption = ControlInfo::for_fix(Subject::Definition(kind), Fix::Encryption);
            assert_eq!(encryption.id, kind.control());
            assert_eq!(encryption.config_rule, kind.info().config_rule);
        }
    }

    #[test]
    fn controls_are_found_by_id_or_number_and_listed_in_order() {
        assert_eq!(
            ControlInfo::find("sagemaker.20").unwrap().fix,
            Fix::Isolation
        );
        assert_eq!(
            ControlInfo::find("22").unwrap().subject,
            Subject::InlineSchedule
        );
        assert!(ControlInfo::find("SageMaker.3").is_none());
        let numbers: Vec<u32> = CONTROLS.iter().map(|c| c.number()).collect();
        let mut sorted = numbers.clone();
        sorted.sort_unstable();
        assert_eq!(numbers, sorted);
    }

    #[test]
    fn each_rule_test_fails_only_what_its_config_rule_fails() {
        let cases = [
            (RuleTest::NotTrue, None, Some(3), false),
            (RuleTest::NotTrue, Some(false), None, false),
            (RuleTest::NotTrue, Some(true), None, true),
            (RuleTest::False, None, None, true),
            (RuleTest::False, Some(false), None, false),
            (
                RuleTest::NotTrueOnTwoOrMoreInstances,
                Some(false),
                Some(1),
                true,
            ),
            (RuleTest::NotTrueOnTwoOrMoreInstances, None, None, true),
            (RuleTest::NotTrueOnTwoOrMoreInstances, None, Some(2), false),
            (
                RuleTest::NotTrueOnTwoOrMoreInstances,
                Some(true),
                Some(2),
                true,
            ),
        ];
        for (test, flag, count, passes) in cases {
            assert_eq!(
                test.passes(flag, count),
                passes,
                "{test:?} {flag:?} {count:?}"
            );
        }
    }

    #[test]
    fn fixes_are_a_set_written_as_a_list() {
        let both: Fixes = [Fix::Isolation, Fix::Encryption, Fix::Isolation]
            .into_iter()
            .collect();
        assert_eq!(both.iter().collect::<Vec<_>>(), Fix::ALL.to_vec());
        assert_eq!(both.to_string(), "encryption and isolation");
        let written = serde_json::to_string(&both).unwrap();
        assert_eq!(written, r#"["encryption","isolation"]"#);
        assert_eq!(serde_json::from_str::<Fixes>(&written).unwrap(), both);
        assert_eq!(
            Fixes::ENCRYPTION.intersection(Fixes::NONE.with(Fix::Isolation)),
            Fixes::NONE
        );
        assert_eq!(Fixes::NONE.to_string(), "nothing");
    }
}
