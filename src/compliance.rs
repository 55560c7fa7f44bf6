//! Is a definition compliant? Two evaluations: `strict` (the flag must be `true`) and
//! `config-rule` (as the AWS Config managed rules behind the Security Hub controls: encryption only
//! matters when the job runs on two or more instances).

use crate::kinds::Kind;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Evaluation {
    /// `NetworkConfig.EnableInterContainerTrafficEncryption` must be `true`; missing counts as false.
    #[default]
    Strict,
    /// Non-compliant only when the flag is not true and `InstanceCount >= 2`.
    ConfigRule,
}

impl Evaluation {
    pub fn as_str(self) -> &'static str {
        match self {
            Evaluation::Strict => "strict",
            Evaluation::ConfigRule => "config-rule",
        }
    }
}

/// The verdict on one definition, naming the control and the rule that decided it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub compliant: bool,
    pub control: &'static str,
    /// The rule applied: `strict` or the AWS Config managed rule's name.
    pub rule: String,
    /// The flag as found: `None` when `NetworkConfig` or the flag is absent.
    pub encryption_flag: Option<bool>,
    pub instance_count: Option<u64>,
    /// One sentence a person can act on.
    pub explanation: String,
}

/// The flag as the describe JSON holds it; anything but a JSON `true`/`false` counts as absent.
pub fn encryption_flag(describe: &Value) -> Option<bool> {
    describe
        .get("NetworkConfig")?
        .get("EnableInterContainerTrafficEncryption")?
        .as_bool()
}

pub fn instance_count(describe: &Value) -> Option<u64> {
    describe
        .get("JobResources")?
        .get("ClusterConfig")?
        .get("InstanceCount")?
        .as_u64()
}

pub fn evaluate(kind: Kind, describe: &Value, evaluation: Evaluation) -> Verdict {
    let flag = encryption_flag(describe);
    let count = instance_count(describe);
    let encrypted = flag == Some(true);
    let flag_text = match flag {
        Some(value) => format!("EnableInterContainerTrafficEncryption is {value}"),
        None if describe.get("NetworkConfig").is_none() => "NetworkConfig is not set".to_owned(),
        None => "EnableInterContainerTrafficEncryption is not set".to_owned(),
    };
    let (compliant, rule, explanation) = match evaluation {
        Evaluation::Strict => (
            encrypted,
            "strict".to_owned(),
            if encrypted {
                "inter-container traffic encryption is enabled".to_owned()
            } else {
                format!("{flag_text}; it must be true")
            },
        ),
        Evaluation::ConfigRule => {
            let multi_instance = count.is_some_and(|c| c >= 2);
            let compliant = encrypted || !multi_instance;
            let explanation = if encrypted {
                "inter-container traffic encryption is enabled".to_owned()
            } else if multi_instance {
                format!(
                    "{flag_text} and the job runs on {} instances",
                    count.unwrap_or_default()
                )
            } else {
                format!("{flag_text}, but a single-instance job has no inter-container traffic")
            };
            (compliant, kind.info().config_rule.to_owned(), explanation)
        }
    };
    Verdict {
        compliant,
        control: kind.control(),
        rule,
        encryption_flag: flag,
        instance_count: count,
        explanation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn definition(network: Option<Value>, instances: u64) -> Value {
        let mut value = json!({
            "JobResources": {"ClusterConfig": {"InstanceCount": instances, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 20}}
        });
        if let Some(network) = network {
            value["NetworkConfig"] = network;
        }
        value
    }

    #[test]
    fn strict_requires_the_flag_to_be_true() {
        let cases = [
            (
                Some(json!({"EnableInterContainerTrafficEncryption": true})),
                true,
            ),
            (
                Some(json!({"EnableInterContainerTrafficEncryption": false})),
                false,
            ),
            (Some(json!({"EnableNetworkIsolation": true})), false),
            (None, false),
        ];
        for (network, expected) in cases {
            let verdict = evaluate(
                Kind::ModelBias,
                &definition(network.clone(), 1),
                Evaluation::Strict,
            );
            assert_eq!(verdict.compliant, expected, "{network:?}");
            assert_eq!(verdict.control, "SageMaker.15");
            assert_eq!(verdict.rule, "strict");
        }
    }

    #[test]
    fn config_rule_only_flags_multi_instance_jobs() {
        let off = Some(json!({"EnableInterContainerTrafficEncryption": false}));
        let single = evaluate(
            Kind::DataQuality,
            &definition(off.clone(), 1),
            Evaluation::ConfigRule,
        );
        assert!(single.compliant);
        let multi = evaluate(
            Kind::DataQuality,
            &definition(off, 2),
            Evaluation::ConfigRule,
        );
        assert!(!multi.compliant);
        assert_eq!(multi.rule, "sagemaker-data-quality-job-encrypt-in-transit");
        assert!(multi.explanation.contains("2 instances"));
        let absent = evaluate(
            Kind::ModelQuality,
            &definition(None, 3),
            Evaluation::ConfigRule,
        );
        assert!(!absent.compliant);
        assert!(absent.explanation.contains("NetworkConfig is not set"));
    }
}
