//! Is a definition (or a schedule's inline job definition) compliant? Every control on its
//! `NetworkConfig` is judged, under one of two evaluations: `strict` (each flag must be `true`)
//! or `config-rule` (as the AWS Config managed rule behind each Security Hub control reads it:
//! encryption only matters on two or more instances; the isolation rules of .11, .12 and .25 fail
//! only an explicit `false`). Which controls decide `compliant` is the run's choice of fixes.

use crate::kinds::{
    Control, ControlInfo, Fix, Fixes, NOTEBOOK_CONTROLS, NotebookControl, NotebookSetting,
    RuleTest, Subject,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Evaluation {
    /// Every flag judged must be `true`; missing counts as false.
    #[default]
    Strict,
    /// As each control's AWS Config managed rule reads its flag.
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

/// The members a control reads, wherever they sit: a definition's describe has them at the top
/// (`NetworkConfig`, `JobResources`), a schedule's inline definition under
/// `MonitoringScheduleConfig.MonitoringJobDefinition` (`NetworkConfig`, `MonitoringResources`).
#[derive(Debug, Clone, Copy)]
pub struct JobView<'a> {
    network: Option<&'a Value>,
    instance_count: Option<u64>,
}

impl<'a> JobView<'a> {
    pub fn of_definition(describe: &'a Value) -> JobView<'a> {
        JobView {
            network: describe.get("NetworkConfig"),
            instance_count: describe
                .pointer("/JobResources/ClusterConfig/InstanceCount")
                .and_then(Value::as_u64),
        }
    }

    /// Of a definition's describe JSON, only what `of_definition` reads (and the name): the same
    /// verdict from a fraction of the memory, for a definition nothing in the run will change.
    /// Of `NetworkConfig`, only its flags: its `VpcConfig` (subnets, security groups) decides
    /// nothing.
    pub fn essentials_of_definition(describe: &Value) -> Value {
        let mut kept = serde_json::Map::new();
        if let Some(name) = describe.get("JobDefinitionName") {
            kept.insert("JobDefinitionName".to_owned(), name.clone());
        }
        match describe.get("NetworkConfig") {
            Some(Value::Object(network)) => {
                let flags = Fix::ALL
                    .iter()
                    .filter_map(|fix| {
                        Some((fix.member().to_owned(), network.get(fix.member())?.clone()))
                    })
                    .collect();
                kept.insert("NetworkConfig".to_owned(), Value::Object(flags));
            }
            Some(other) => {
                kept.insert("NetworkConfig".to_owned(), other.clone());
            }
            None => {}
        }
        if let Some(count) = describe.pointer("/JobResources/ClusterConfig/InstanceCount") {
            kept.insert(
                "JobResources".to_owned(),
                serde_json::json!({"ClusterConfig": {"InstanceCount": count}}),
            );
        }
        Value::Object(kept)
    }

    /// A schedule's inline job definition; `None` when the schedule names a definition instead.
    pub fn of_inline_schedule(describe: &'a Value) -> Option<JobView<'a>> {
        let job = describe.pointer("/MonitoringScheduleConfig/MonitoringJobDefinition")?;
        Some(JobView {
            network: job.get("NetworkConfig"),
            instance_count: job
                .pointer("/MonitoringResources/ClusterConfig/InstanceCount")
                .and_then(Value::as_u64),
        })
    }

    /// The flag as found: `None` when `NetworkConfig` or the flag is absent, or not a boolean.
    pub fn flag(&self, fix: Fix) -> Option<bool> {
        self.network?.get(fix.member())?.as_bool()
    }

    fn flag_text(&self, fix: Fix) -> String {
        match self.flag(fix) {
            Some(value) => format!("{} is {value}", fix.member()),
            None if self.network.is_none() => "NetworkConfig is not set".to_owned(),
            None => format!("{} is not set", fix.member()),
        }
    }
}

/// One control's judgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    pub control: Control,
    pub passes: bool,
    /// One sentence a person can act on.
    pub reason: String,
}

/// Judges one control on a job.
pub fn judge(control: Control, job: &JobView<'_>, evaluation: Evaluation) -> Judgement {
    let fix = control.fix;
    let flag = job.flag(fix);
    let enabled = match fix {
        Fix::Encryption => "inter-container traffic encryption is enabled",
        Fix::Isolation => "network isolation is enabled",
    };
    // The verdict comes from the rule table shared with the emulator's Security Hub findings;
    // only the wording is decided here.
    let passes = match evaluation {
        Evaluation::Strict => flag == Some(true),
        Evaluation::ConfigRule => control.rule_test.passes(flag, job.instance_count),
    };
    let reason = if flag == Some(true) {
        enabled.to_owned()
    } else {
        let flag_text = job.flag_text(fix);
        match (evaluation, control.rule_test, passes) {
            (Evaluation::Strict, _, _) | (_, RuleTest::NotTrue, _) => {
                format!("{flag_text}; it must be true")
            }
            (_, RuleTest::False, false) => format!("{flag_text}; it must not be false"),
            (_, RuleTest::False, true) => format!(
                "{flag_text}, which {} fails only when false",
                control.config_rule
            ),
            (_, RuleTest::NotTrueOnTwoOrMoreInstances, false) => format!(
                "{flag_text} and the job runs on {} instances",
                job.instance_count.unwrap_or_default()
            ),
            (_, RuleTest::NotTrueOnTwoOrMoreInstances, true) => {
                format!("{flag_text}, but a single-instance job has no inter-container traffic")
            }
        }
    };
    Judgement {
        control,
        passes,
        reason,
    }
}

/// The verdict on one definition or inline schedule: every control judged, and whether the
/// controls of the fixes asked for pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// The controls of the run's fixes all pass (what `--detailed-exitcode` uses).
    pub compliant: bool,
    /// The subject's encryption control, e.g. `SageMaker.9` (as sm-recreate 0.1 reported).
    pub control: &'static str,
    /// The rule applied: `strict`, or the AWS Config managed rules of the fixes' controls.
    pub rule: String,
    pub encryption_flag: Option<bool>,
    pub isolation_flag: Option<bool>,
    pub instance_count: Option<u64>,
    /// The fixes' controls, one sentence each.
    pub explanation: String,
    /// Every control that fails, whatever the fixes, by number.
    pub failing_controls: Vec<&'static str>,
    /// Why each failing control fails, by control id.
    pub reasons: Map<String, Value>,
    /// The flags a change to this subject makes true.
    #[serde(skip)]
    pub fixes: Fixes,
}

/// Judges every control on `subject` and decides `compliant` by the controls of `fixes`.
pub fn evaluate(
    subject: Subject,
    job: &JobView<'_>,
    evaluation: Evaluation,
    fixes: Fixes,
) -> Verdict {
    let judgements: Vec<Judgement> = ControlInfo::of(subject)
        .map(|control| judge(control, job, evaluation))
        .collect();
    let selected: Vec<&Judgement> = judgements
        .iter()
        .filter(|j| fixes.contains(j.control.fix))
        .collect();
    let mut failing: Vec<&Judgement> = judgements.iter().filter(|j| !j.passes).collect();
    failing.sort_by_key(|j| j.control.number());
    let rule = match evaluation {
        Evaluation::Strict => "strict".to_owned(),
        Evaluation::ConfigRule => selected
            .iter()
            .map(|j| j.control.config_rule)
            .collect::<Vec<_>>()
            .join(", "),
    };
    Verdict {
        compliant: selected.iter().all(|j| j.passes),
        control: ControlInfo::for_fix(subject, Fix::Encryption).id,
        rule,
        encryption_flag: job.flag(Fix::Encryption),
        isolation_flag: job.flag(Fix::Isolation),
        instance_count: job.instance_count,
        explanation: selected
            .iter()
            .map(|j| j.reason.as_str())
            .collect::<Vec<_>>()
            .join("; "),
        failing_controls: failing.iter().map(|j| j.control.id).collect(),
        reasons: failing
            .iter()
            .map(|j| (j.control.id.to_owned(), Value::String(j.reason.clone())))
            .collect(),
        fixes,
    }
}

/// A definition's verdict.
pub fn evaluate_definition(
    kind: crate::kinds::Kind,
    describe: &Value,
    evaluation: Evaluation,
    fixes: Fixes,
) -> Verdict {
    evaluate(
        Subject::Definition(kind),
        &JobView::of_definition(describe),
        evaluation,
        fixes,
    )
}

/// The verdict on one notebook instance: every notebook control judged (the same under both
/// evaluations: each Config rule reads one setting, with no threshold), and whether the controls
/// the run judges pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotebookVerdict {
    /// The controls judged all pass (what `--detailed-exitcode` uses).
    pub compliant: bool,
    /// The controls judged, by number.
    pub judged: Vec<&'static str>,
    /// Why the controls judged fail, one sentence each; or, when they all pass, why each passes.
    pub explanation: String,
    /// Every control that fails, whatever was judged, by number.
    pub failing_controls: Vec<&'static str>,
    /// Why each failing control fails, by control id.
    pub reasons: Map<String, Value>,
}

impl NotebookVerdict {
    /// Does `control` fail, and is it judged?
    pub fn fails(&self, control: NotebookControl) -> bool {
        self.judged.contains(&control.id) && self.failing_controls.contains(&control.id)
    }
}

/// Judges every notebook control on a notebook's describe JSON; `judged` decide `compliant`.
pub fn evaluate_notebook(describe: &Value, judged: &[NotebookControl]) -> NotebookVerdict {
    let value = |control: NotebookControl| {
        describe
            .get(control.setting.member())
            .and_then(Value::as_str)
    };
    let mut failing_controls = Vec::new();
    let mut reasons = Map::new();
    for control in &NOTEBOOK_CONTROLS {
        if !control.passes(value(control)) {
            failing_controls.push(control.id);
            reasons.insert(
                control.id.to_owned(),
                Value::String(notebook_failure(control.setting).to_owned()),
            );
        }
    }
    // What fails, when something judged does; else what passes.
    let failing_judged: Vec<String> = judged
        .iter()
        .filter(|control| !control.passes(value(control)))
        .map(|control| notebook_failure(control.setting).to_owned())
        .collect();
    let sentences = if failing_judged.is_empty() {
        judged
            .iter()
            .map(|control| notebook_success(control.setting, value(control)))
            .collect()
    } else {
        failing_judged
    };
    NotebookVerdict {
        compliant: judged.iter().all(|c| !failing_controls.contains(&c.id)),
        judged: judged.iter().map(|c| c.id).collect(),
        explanation: sentences.join("; "),
        failing_controls,
        reasons,
    }
}

/// Why a notebook fails the control of `setting`: what is wrong, and whether it can change in
/// place.
fn notebook_failure(setting: NotebookSetting) -> &'static str {
    match setting {
        NotebookSetting::DirectInternetAccess => {
            "DirectInternetAccess is Enabled, which only a new notebook can change"
        }
        NotebookSetting::SubnetId => {
            "no SubnetId: the notebook is not in a VPC of yours, which only a new notebook can change"
        }
        NotebookSetting::RootAccess => {
            "RootAccess is Enabled; it can be turned off in place while the notebook is stopped"
        }
        NotebookSetting::KmsKeyId => {
            "no KmsKeyId: its ML storage volume is not encrypted with a KMS key of yours, which only a new notebook can change"
        }
    }
}

fn notebook_success(setting: NotebookSetting, value: Option<&str>) -> String {
    match setting {
        NotebookSetting::DirectInternetAccess => "direct internet access is disabled".to_owned(),
        NotebookSetting::SubnetId => format!("in subnet {}", value.unwrap_or_default()),
        NotebookSetting::RootAccess => "root access is disabled".to_owned(),
        NotebookSetting::KmsKeyId => format!(
            "its volume is encrypted with KMS key {}",
            value.unwrap_or_default()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::Kind;
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

    fn encryption_only(kind: Kind, describe: &Value, evaluation: Evaluation) -> Verdict {
        evaluate_definition(kind, describe, evaluation, Fixes::ENCRYPTION)
    }

    #[test]
    fn the_essentials_of_a_definition_get_its_verdict() {
        let networks = [
            None,
            Some(json!({})),
            Some(json!({"EnableInterContainerTrafficEncryption": true})),
            Some(
                json!({"EnableInterContainerTrafficEncryption": false, "EnableNetworkIsolation": true}),
            ),
            Some(json!({"EnableNetworkIsolation": false, "VpcConfig": {"Subnets": ["subnet-1"]}})),
            Some(json!(null)),
        ];
        let fixes = [
            Fixes::ENCRYPTION,
            Fixes::NONE.with(Fix::Isolation),
            Fixes::ENCRYPTION.with(Fix::Isolation),
        ];
        for network in networks {
            for instances in [1, 2] {
                let mut whole = definition(network.clone(), instances);
                whole["JobDefinitionName"] = json!("churn");
                whole["DataQualityAppSpecification"] = json!({"ImageUri": "image"});
                let essentials = JobView::essentials_of_definition(&whole);
                assert!(essentials.get("DataQualityAppSpecification").is_none());
                assert!(essentials.pointer("/NetworkConfig/VpcConfig").is_none());
                assert_eq!(essentials["JobDefinitionName"], "churn");
                for evaluation in [Evaluation::Strict, Evaluation::ConfigRule] {
                    for fixes in fixes {
                        assert_eq!(
                            evaluate_definition(Kind::DataQuality, &essentials, evaluation, fixes),
                            evaluate_definition(Kind::DataQuality, &whole, evaluation, fixes),
                            "{whole}"
                        );
                    }
                }
            }
        }
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
            let verdict = encryption_only(
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
        let single = encryption_only(
            Kind::DataQuality,
            &definition(off.clone(), 1),
            Evaluation::ConfigRule,
        );
        assert!(single.compliant);
        let multi = encryption_only(
            Kind::DataQuality,
            &definition(off, 2),
            Evaluation::ConfigRule,
        );
        assert!(!multi.compliant);
        assert_eq!(multi.rule, "sagemaker-data-quality-job-encrypt-in-transit");
        assert!(multi.explanation.contains("2 instances"));
        let absent = encryption_only(
            Kind::ModelQuality,
            &definition(None, 3),
            Evaluation::ConfigRule,
        );
        assert!(!absent.compliant);
        assert!(absent.explanation.contains("NetworkConfig is not set"));
    }

    #[test]
    fn every_control_is_judged_whatever_the_fixes() {
        let describe = definition(
            Some(
                json!({"EnableInterContainerTrafficEncryption": true, "EnableNetworkIsolation": false}),
            ),
            1,
        );
        let verdict = encryption_only(Kind::DataQuality, &describe, Evaluation::Strict);
        assert!(verdict.compliant, "the encryption fix passes");
        assert_eq!(verdict.failing_controls, vec!["SageMaker.11"]);
        assert_eq!(
            verdict.reasons["SageMaker.11"],
            json!("EnableNetworkIsolation is false; it must be true")
        );
        let both = evaluate_definition(
            Kind::DataQuality,
            &describe,
            Evaluation::Strict,
            Fixes::ENCRYPTION.with(Fix::Isolation),
        );
        assert!(!both.compliant);
        assert_eq!(both.isolation_flag, Some(false));
    }

    #[test]
    fn the_isolation_rules_read_the_flag_as_each_rule_says() {
        // .11, .12, .25 fail only an explicit false; .20 fails anything but true.
        let isolation = Fixes::NONE.with(Fix::Isolation);
        let judge_kind = |kind: Kind, network: Option<Value>| {
            evaluate_definition(
                kind,
                &definition(network, 1),
                Evaluation::ConfigRule,
                isolation,
            )
            .compliant
        };
        for kind in [Kind::DataQuality, Kind::ModelBias, Kind::ModelQuality] {
            assert!(judge_kind(kind, None), "{kind}: absent passes");
            assert!(
                judge_kind(kind, Some(json!({}))),
                "{kind}: absent flag passes"
            );
            assert!(!judge_kind(
                kind,
                Some(json!({"EnableNetworkIsolation": false}))
            ));
            assert!(judge_kind(
                kind,
                Some(json!({"EnableNetworkIsolation": true}))
            ));
        }
        assert!(!judge_kind(Kind::ModelExplainability, None));
        assert!(!judge_kind(
            Kind::ModelExplainability,
            Some(json!({"EnableNetworkIsolation": false}))
        ));
        assert!(judge_kind(
            Kind::ModelExplainability,
            Some(json!({"EnableNetworkIsolation": true}))
        ));
        // Strict wants true everywhere.
        let strict = evaluate_definition(
            Kind::DataQuality,
            &definition(None, 1),
            Evaluation::Strict,
            isolation,
        );
        assert!(!strict.compliant);
        assert_eq!(strict.failing_controls, vec!["SageMaker.9", "SageMaker.11"]);
    }

    #[test]
    fn an_inline_schedule_is_judged_on_its_inline_definition() {
        let schedule = json!({"MonitoringScheduleConfig": {"MonitoringJobDefinition": {
            "MonitoringResources": {"ClusterConfig": {"InstanceCount": 2}},
            "NetworkConfig": {"EnableInterContainerTrafficEncryption": false},
        }}});
        let job = JobView::of_inline_schedule(&schedule).expect("inline");
        let verdict = evaluate(
            Subject::InlineSchedule,
            &job,
            Evaluation::ConfigRule,
            Fixes::ENCRYPTION,
        );
        assert!(!verdict.compliant);
        assert_eq!(verdict.control, "SageMaker.22");
        assert_eq!(
            verdict.failing_controls,
            vec!["SageMaker.14", "SageMaker.22"]
        );
        let named = json!({"MonitoringScheduleConfig": {"MonitoringJobDefinitionName": "d"}});
        assert!(JobView::of_inline_schedule(&named).is_none());
    }

    #[test]
    fn a_notebook_is_judged_on_every_control_but_compliant_by_those_asked() {
        let notebook = json!({
            "NotebookInstanceName": "nb", "DirectInternetAccess": "Enabled",
            "RootAccess": "Disabled", "KmsKeyId": "alias/nb",
        });
        let root = crate::kinds::NotebookControlInfo::find("SageMaker.3").unwrap();
        let verdict = evaluate_notebook(&notebook, &[root]);
        assert!(verdict.compliant);
        assert_eq!(verdict.failing_controls, ["SageMaker.1", "SageMaker.2"]);
        assert_eq!(verdict.explanation, "root access is disabled");
        assert!(
            verdict.reasons["SageMaker.1"]
                .as_str()
                .unwrap()
                .contains("Enabled")
        );
        assert!(!verdict.fails(root));
        let all: Vec<NotebookControl> = NOTEBOOK_CONTROLS.iter().collect();
        let verdict = evaluate_notebook(&notebook, &all);
        assert!(!verdict.compliant);
        // Absent RootAccess is AWS's default, Enabled.
        let default = json!({"NotebookInstanceName": "nb"});
        assert!(evaluate_notebook(&default, &[root]).fails(root));
    }
}
