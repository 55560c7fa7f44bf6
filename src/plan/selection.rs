//! Which resources a command acts on and what it fixes on them: kinds, controls, fixes, name
//! globs, and Security Hub findings.

use crate::compliance::{self, Evaluation, JobView};
use crate::exit::UsageError;
use crate::kinds::{
    ControlInfo, DefinitionArn, Fix, Fixes, Kind, NOTEBOOK_CONTROLS, NotebookControl,
    NotebookControlInfo, Subject, control_ids, glob_match, notebook_control_ids, refers_to,
};
use crate::resource::{ResourceId, ResourceKind};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The subjects a run covers (definition kinds, inline schedules) and the flags it makes true on
/// each. Empty only when the run selects notebook instances alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixScope(BTreeMap<Subject, Fixes>);

impl Default for FixScope {
    /// Every subject, encryption: what sm-recreate did before `--fix`.
    fn default() -> FixScope {
        FixScope(all_subjects().map(|s| (s, Fixes::ENCRYPTION)).collect())
    }
}

fn all_subjects() -> impl Iterator<Item = Subject> {
    Kind::ALL
        .into_iter()
        .map(Subject::Definition)
        .chain([Subject::InlineSchedule])
}

impl FixScope {
    /// The fixes on `subject`; `None` when the run does not cover it.
    pub fn fixes(&self, subject: Subject) -> Option<Fixes> {
        self.0.get(&subject).copied()
    }

    /// Every fix the run makes anywhere.
    pub fn all_fixes(&self) -> Fixes {
        self.0.values().fold(Fixes::NONE, |all, f| all.union(*f))
    }

    pub fn kinds(&self) -> Vec<Kind> {
        self.0
            .keys()
            .filter_map(|s| match s {
                Subject::Definition(kind) => Some(*kind),
                Subject::InlineSchedule => None,
            })
            .collect()
    }

    pub fn covers_inline_schedules(&self) -> bool {
        self.0.contains_key(&Subject::InlineSchedule)
    }

    /// The controls whose flags the run fixes on the subjects it covers, by number: the
    /// findings a run reads from Security Hub, and the ones it updates.
    pub fn controls(&self) -> Vec<&'static str> {
        let mut controls: Vec<crate::kinds::Control> = self
            .0
            .iter()
            .flat_map(|(subject, fixes)| {
                fixes.iter().map(|fix| ControlInfo::for_fix(*subject, fix))
            })
            .collect();
        controls.sort_by_key(|c| c.number());
        controls.into_iter().map(|c| c.id).collect()
    }
}

/// The notebook controls a run judges (SageMaker.1, .2, .3, .21, or those named), by number.
/// Notebooks are in a run only when selected: `--kind notebook-instance` or one of these
/// controls, so the default run and its permissions stay the job definitions'.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotebookScope(Vec<NotebookControl>);

impl NotebookScope {
    /// Every notebook control.
    pub fn all() -> NotebookScope {
        NotebookScope(NOTEBOOK_CONTROLS.iter().collect())
    }

    pub fn controls(&self) -> &[NotebookControl] {
        &self.0
    }

    pub fn covers(&self, control: NotebookControl) -> bool {
        self.0.iter().any(|c| c.id == control.id)
    }
}

/// From `--kind`, `--control` and `--fix`: `--kind` and `--control` choose the subjects (every
/// job-definition kind and inline schedules without either); `--fix` says the flags on every one
/// of them; without it each subject gets the flags of the controls named on it, and encryption
/// when none is. Notebook instances are chosen only by `--kind notebook-instance` (every
/// notebook control) or by naming their controls (those alone); choosing only notebooks leaves
/// the job definitions out.
pub fn parse_scope(
    kinds: &[String],
    controls: &[String],
    fixes: &[Fix],
) -> Result<(FixScope, Option<NotebookScope>), UsageError> {
    let mut subjects: BTreeSet<Subject> = BTreeSet::new();
    let mut notebook_kind = false;
    for kind in kinds {
        match ResourceKind::from_cli_name(kind) {
            Some(ResourceKind::Definition(kind)) => {
                subjects.insert(Subject::Definition(kind));
            }
            Some(ResourceKind::MonitoringSchedule) => {
                subjects.insert(Subject::InlineSchedule);
            }
            Some(ResourceKind::NotebookInstance) => notebook_kind = true,
            None => {
                return Err(UsageError::new(format!("unknown kind `{kind}`")).with_hint(
                    "kinds are data-quality, model-explainability, model-quality, model-bias, \
                     monitoring-schedule (schedules with an inline job definition) and \
                     notebook-instance",
                ));
            }
        }
    }
    let mut implied: BTreeMap<Subject, Fixes> = BTreeMap::new();
    let mut notebook_controls: Vec<NotebookControl> = Vec::new();
    for control in controls {
        if let Some(found) = ControlInfo::find(control) {
            let entry = implied.entry(found.subject).or_default();
            *entry = entry.with(found.fix);
        } else if let Some(found) = NotebookControlInfo::find(control) {
            if !notebook_controls.iter().any(|c| c.id == found.id) {
                notebook_controls.push(found);
            }
        } else {
            return Err(
                UsageError::new(format!("`{control}` is not a control this tool fixes")).with_hint(
                    format!(
                        "controls are {}, and for notebook instances {}",
                        control_ids(),
                        notebook_control_ids()
                    ),
                ),
            );
        }
    }
    notebook_controls.sort_by_key(|c| c.number());
    let notebooks = if !notebook_controls.is_empty() {
        Some(NotebookScope(notebook_controls))
    } else {
        notebook_kind.then(NotebookScope::all)
    };
    subjects.extend(implied.keys().copied());
    if subjects.is_empty() && notebooks.is_none() {
        subjects.extend(all_subjects());
    }
    if subjects.is_empty() && !fixes.is_empty() {
        return Err(UsageError::new(
            "--fix names NetworkConfig flags of job definitions and schedules, and only notebook \
             instances are selected",
        )
        .with_hint(
            "a notebook's fixes follow from its controls (--control SageMaker.3); drop --fix",
        ));
    }
    let asked: Fixes = fixes.iter().copied().collect();
    let scope = FixScope(
        subjects
            .into_iter()
            .map(|subject| {
                let fixes = if !asked.is_empty() {
                    asked
                } else {
                    implied.get(&subject).copied().unwrap_or(Fixes::ENCRYPTION)
                };
                (subject, fixes)
            })
            .collect(),
    );
    Ok((scope, notebooks))
}

/// A validated selection.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// What is covered, and what is fixed on it.
    pub scope: FixScope,
    /// The notebook controls judged; `None`: notebook instances are not in the selection.
    pub notebooks: Option<NotebookScope>,
    /// Empty means every name.
    pub name_globs: Vec<String>,
    /// From `--from-findings`: exactly these definitions (the name as the ARN spells it, which
    /// may be lower-cased: match with [`Selection::named_by_findings`]); `None` means no findings
    /// file was given.
    pub findings: Option<BTreeSet<ResourceId>>,
    /// `--from-securityhub`: the findings are read live, and name the accounts.
    pub from_securityhub: bool,
    /// The findings behind `findings`, with their ids: for reporting the ones skipped, and
    /// (read live) for updating them.
    pub finding_records: Vec<FailingFinding>,
    pub include_managed: bool,
    /// How compliance is judged, which decides what the run could change.
    pub evaluation: Evaluation,
}

impl Selection {
    pub fn kinds(&self) -> Vec<Kind> {
        self.scope.kinds()
    }

    /// Regions the findings name, in order; empty without findings.
    pub fn findings_regions(&self) -> Vec<String> {
        let regions: BTreeSet<&String> =
            self.findings.iter().flatten().map(|f| &f.region).collect();
        regions.into_iter().cloned().collect()
    }

    /// The selection within one account: its findings only (a finding names its account; in an
    /// organization a name alone is not one definition).
    pub fn for_account(&self, account_id: &str) -> Selection {
        Selection {
            findings: self.findings.as_ref().map(|findings| {
                findings
                    .iter()
                    .filter(|f| f.account_id == account_id)
                    .cloned()
                    .collect()
            }),
            finding_records: self
                .finding_records
                .iter()
                .filter(|f| f.resource.account_id == account_id)
                .cloned()
                .collect(),
            ..self.clone()
        }
    }

    /// Accounts the findings name (a findings file from another account is refused).
    pub fn findings_accounts(&self) -> BTreeSet<&str> {
        self.findings
            .iter()
            .flatten()
            .map(|f| f.account_id.as_str())
            .collect()
    }

    /// Does the definition fall inside the selection (before compliance is judged)?
    pub fn matches(&self, region: &str, kind: Kind, name: &str) -> bool {
        self.scope.fixes(Subject::Definition(kind)).is_some()
            && (self.name_globs.is_empty() || self.name_globs.iter().any(|g| glob_match(g, name)))
            && self
                .findings
                .as_ref()
                .is_none_or(|_| self.named_by_findings(region, kind, name))
    }

    /// Could the run change this described definition or inline schedule, i.e. do the run's
    /// fixes on it fail under the evaluation? Only then does a plan need its tags (for the create
    /// request, the CloudFormation check and the diff): compliant ones are never acted on.
    pub fn could_change(&self, subject: Subject, describe: &Value) -> bool {
        let Some(fixes) = self.scope.fixes(subject) else {
            return false;
        };
        let job = match subject {
            Subject::Definition(_) => JobView::of_definition(describe),
            Subject::InlineSchedule => match JobView::of_inline_schedule(describe) {
                Some(job) => job,
                None => return false,
            },
        };
        !compliance::evaluate(subject, &job, self.evaluation, fixes).compliant
    }

    /// Does a notebook instance fall inside the selection?
    pub fn matches_notebook(&self, name: &str) -> bool {
        self.notebooks.is_some()
            && (self.name_globs.is_empty() || self.name_globs.iter().any(|g| glob_match(g, name)))
    }

    /// Does an inline schedule fall inside the selection?
    pub fn matches_schedule(&self, region: &str, name: &str) -> bool {
        self.scope.covers_inline_schedules()
            && (self.name_globs.is_empty() || self.name_globs.iter().any(|g| glob_match(g, name)))
            && self.findings.as_ref().is_none_or(|findings| {
                findings.iter().any(|f| {
                    f.region == region
                        && f.kind == ResourceKind::MonitoringSchedule
                        && crate::kinds::same_name(&f.name, name)
                })
            })
    }

    /// Does a finding name this definition? Names compare case-insensitively (I8): a finding's
    /// ARN may spell `Churn-DQ` as `churn-dq`. Once the other names are known, narrow with
    /// [`Selection::named_by_findings_among`].
    pub fn named_by_findings(&self, region: &str, kind: Kind, name: &str) -> bool {
        self.named_by_findings_among(region, kind, name, |_| false)
    }

    /// [`Selection::named_by_findings`], knowing which definitions of the region and kind exist
    /// (by exact name): a finding for `churn-dq` is not `Churn-DQ`'s when `churn-dq` exists too.
    pub fn named_by_findings_among(
        &self,
        region: &str,
        kind: Kind,
        name: &str,
        exists_exactly: impl Fn(&str) -> bool,
    ) -> bool {
        self.findings.iter().flatten().any(|f| {
            f.region == region
                && f.definition_kind() == Some(kind)
                && refers_to(&f.name, name, &exists_exactly)
        })
    }
}

/// Checks a `--name` glob: `*` and `?` wildcards over the characters names may hold.
pub fn check_glob(glob: &str) -> Result<(), UsageError> {
    if glob.is_empty()
        || !glob
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'*' | b'?'))
    {
        return Err(UsageError::new(format!("`{glob}` is not a name pattern"))
            .with_hint("names hold letters, digits and hyphens; use `*` and `?` as wildcards, e.g. --name 'churn-*'"));
    }
    Ok(())
}

/// Reads a Security Hub findings export (`aws securityhub get-findings` output, or a bare array of
/// ASFF findings) and returns the resources its failing findings of the ten NetworkConfig controls name.
pub fn read_findings(path: &Path) -> Result<Vec<FailingFinding>, UsageError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        UsageError::new(format!("cannot read findings file {}: {e}", path.display()))
    })?;
    let document: Value = serde_json::from_str(&text).map_err(|e| {
        UsageError::new(format!("findings file {} is not JSON: {e}", path.display())).with_hint(
            "export findings with `aws securityhub get-findings --output json > findings.json`",
        )
    })?;
    parse_finding_records(&document).map_err(|message| {
        UsageError::new(format!("findings file {}: {message}", path.display()))
            .with_hint("export findings with `aws securityhub get-findings --filters '{\"ComplianceSecurityControlId\":[{\"Value\":\"SageMaker.9\",\"Comparison\":\"EQUALS\"}]}' > findings.json`")
    })
}

/// `arn:PARTITION:sagemaker:REGION:ACCOUNT:monitoring-schedule/NAME`.
pub fn schedule_arn(arn: &str) -> Option<ResourceId> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_), Some("sagemaker"), Some(region), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let name = resource.strip_prefix("monitoring-schedule/")?;
    Some(ResourceId {
        account_id: account.to_owned(),
        region: region.to_owned(),
        kind: ResourceKind::MonitoringSchedule,
        name: name.to_owned(),
    })
}

/// One failing finding of a NetworkConfig control: who it is (for `BatchUpdateFindings` and
/// the report) and the resource it names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct FailingFinding {
    /// The finding's `Id` and `ProductArn` (empty when an export leaves them out).
    pub id: String,
    pub product_arn: String,
    /// `SageMaker.N`.
    pub control: String,
    pub resource: ResourceId,
}

/// The resources an ASFF document's failing findings name.
pub fn parse_findings(document: &Value) -> Result<BTreeSet<ResourceId>, String> {
    Ok(parse_finding_records(document)?
        .into_iter()
        .map(|f| f.resource)
        .collect())
}

/// The pure part of `read_findings`: a document with no finding of the ten controls is an error
/// (the wrong export).
pub fn parse_finding_records(document: &Value) -> Result<Vec<FailingFinding>, String> {
    let (findings, relevant) = failing_findings(document)?;
    if relevant == 0 {
        let total = match document {
            Value::Object(map) => map
                .get("Findings")
                .and_then(Value::as_array)
                .map_or(0, Vec::len),
            Value::Array(list) => list.len(),
            _ => 0,
        };
        return Err(format!(
            "none of its {total} findings is for {}",
            control_ids()
        ));
    }
    Ok(findings)
}

/// The failing (FAILED, not ARCHIVED) findings of the ten NetworkConfig controls in an ASFF
/// document (`{"Findings": [...]}` or a bare array), one per resource each names; and how many
/// findings were of those controls at all.
pub fn failing_findings(document: &Value) -> Result<(Vec<FailingFinding>, usize), String> {
    let findings = match document {
        Value::Object(map) => map
            .get("Findings")
            .and_then(Value::as_array)
            .ok_or("expected an object with a `Findings` array (ASFF)")?,
        Value::Array(list) => list,
        _ => return Err("expected an object with a `Findings` array (ASFF)".to_owned()),
    };
    let mut failing = Vec::new();
    let mut relevant = 0usize;
    for (index, finding) in findings.iter().enumerate() {
        if !finding.is_object() {
            return Err(format!("finding #{index} is not an object"));
        }
        let control = finding
            .pointer("/Compliance/SecurityControlId")
            .or_else(|| finding.pointer("/ProductFields/ControlId"))
            .and_then(Value::as_str);
        let Some(control) = control.and_then(ControlInfo::find) else {
            continue;
        };
        relevant += 1;
        let status = finding
            .pointer("/Compliance/Status")
            .and_then(Value::as_str);
        let record_state = finding.get("RecordState").and_then(Value::as_str);
        if status != Some("FAILED") || record_state == Some("ARCHIVED") {
            continue;
        }
        let resources = finding
            .get("Resources")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("finding #{index} ({}) has no `Resources` array", control.id))?;
        let text = |member: &str| {
            finding
                .get(member)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        for resource in resources {
            let Some(id) = resource.get("Id").and_then(Value::as_str) else {
                continue;
            };
            let named = match control.subject {
                Subject::Definition(kind) => DefinitionArn::parse(id).map(|arn| {
                    let matches = arn.kind == kind;
                    let resource =
                        ResourceId::definition(&arn.account_id, &arn.region, arn.kind, &arn.name);
                    (matches, resource)
                }),
                Subject::InlineSchedule => schedule_arn(id).map(|resource| (true, resource)),
            };
            let Some((matches, resource)) = named else {
                continue;
            };
            if !matches {
                return Err(format!(
                    "finding #{index} is for {} but names a {} ARN: {id}",
                    control.id, resource.kind
                ));
            }
            failing.push(FailingFinding {
                id: text("Id"),
                product_arn: text("ProductArn"),
                control: control.id.to_owned(),
                resource,
            });
        }
    }
    Ok((failing, relevant))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bad_globs_and_kinds_are_usage_errors() {
        assert!(check_glob("churn_*").is_err());
        assert!(check_glob("").is_err());
        assert!(check_glob("churn-*").is_ok());
        assert!(parse_scope(&["data-qualty".into()], &[], &[]).is_err());
        assert!(parse_scope(&[], &["SageMaker.4".into()], &[]).is_err());
        let (scope, notebooks) =
            parse_scope(&["model-bias".into()], &["SageMaker.9".into()], &[]).unwrap();
        assert!(notebooks.is_none());
        assert_eq!(scope.kinds(), vec![Kind::DataQuality, Kind::ModelBias]);
        assert!(!scope.covers_inline_schedules());
    }

    #[test]
    fn controls_imply_fixes_per_subject_unless_fix_is_given() {
        let dq = Subject::Definition(Kind::DataQuality);
        let bias = Subject::Definition(Kind::ModelBias);
        let isolation = Fixes::NONE.with(Fix::Isolation);
        let (scope, _) = parse_scope(&[], &["SageMaker.11".into()], &[]).unwrap();
        assert_eq!(scope.fixes(dq), Some(isolation));
        assert_eq!(scope.fixes(bias), None);
        let (scope, _) = parse_scope(&[], &["SageMaker.9".into(), "12".into()], &[]).unwrap();
        assert_eq!(scope.fixes(dq), Some(Fixes::ENCRYPTION));
        assert_eq!(scope.fixes(bias), Some(isolation));
        assert_eq!(scope.all_fixes(), Fixes::ENCRYPTION.with(Fix::Isolation));
        let (scope, _) = parse_scope(&[], &[], &[Fix::Isolation]).unwrap();
        assert_eq!(scope.fixes(Subject::InlineSchedule), Some(isolation));
        assert_eq!(scope.kinds(), Kind::ALL.to_vec());
        let (default, notebooks) = parse_scope(&[], &[], &[]).unwrap();
        assert_eq!(default, FixScope::default());
        assert!(notebooks.is_none(), "notebooks only when selected");
        assert_eq!(default.all_fixes(), Fixes::ENCRYPTION);
        let (schedules, _) = parse_scope(&["monitoring-schedule".into()], &[], &[]).unwrap();
        assert!(schedules.kinds().is_empty());
        assert!(schedules.covers_inline_schedules());
    }

    #[test]
    fn notebooks_are_selected_by_their_kind_or_controls_and_alone_leave_definitions_out() {
        let (scope, notebooks) = parse_scope(&["notebook-instance".into()], &[], &[]).unwrap();
        assert!(scope.kinds().is_empty() && !scope.covers_inline_schedules());
        assert_eq!(notebooks, Some(NotebookScope::all()));
        let (scope, notebooks) =
            parse_scope(&[], &["sagemaker.21".into(), "SageMaker.3".into()], &[]).unwrap();
        assert!(scope.kinds().is_empty());
        let ids: Vec<&str> = notebooks.unwrap().controls().iter().map(|c| c.id).collect();
        assert_eq!(ids, ["SageMaker.3", "SageMaker.21"]);
        let (scope, notebooks) =
            parse_scope(&[], &["SageMaker.3".into(), "SageMaker.9".into()], &[]).unwrap();
        assert_eq!(scope.kinds(), vec![Kind::DataQuality]);
        assert!(notebooks.is_some());
        // --fix says NetworkConfig flags: with notebooks alone it would fix nothing.
        assert!(parse_scope(&["notebook-instance".into()], &[], &[Fix::Isolation]).is_err());
    }

    #[test]
    fn findings_of_every_control_select_their_resources() {
        let document = json!({"Findings": [
            {"Compliance": {"Status": "FAILED", "SecurityControlId": "SageMaker.20"},
             "Resources": [{"Id": "arn:aws:sagemaker:us-east-1:123456789012:model-explainability-job-definition/x"}]},
            {"Compliance": {"Status": "FAILED", "SecurityControlId": "SageMaker.22"},
             "Resources": [{"Id": "arn:aws:sagemaker:us-east-1:123456789012:monitoring-schedule/inline"}]},
        ]});
        let found = parse_findings(&document).unwrap();
        assert!(found.contains(&ResourceId::definition(
            "123456789012",
            "us-east-1",
            Kind::ModelExplainability,
            "x"
        )));
        let selection = Selection {
            findings: Some(found),
            ..Selection::default()
        };
        assert!(selection.matches_schedule("us-east-1", "Inline"));
        assert!(!selection.matches_schedule("us-east-1", "other"));
        let wrong = json!({"Findings": [
            {"Compliance": {"Status": "FAILED", "SecurityControlId": "SageMaker.11"},
             "Resources": [{"Id": "arn:aws:sagemaker:us-east-1:1:model-bias-job-definition/x"}]},
        ]});
        assert!(parse_findings(&wrong).is_err());
    }

    #[test]
    fn failing_findings_name_definitions_across_regions() {
        let document = json!({"Findings": [
            {"Compliance": {"Status": "FAILED", "SecurityControlId": "SageMaker.9"},
             "Resources": [{"Type": "Other", "Id": "arn:aws:sagemaker:us-east-1:123456789012:data-quality-job-definition/a"}]},
            {"Compliance": {"Status": "FAILED", "SecurityControlId": "SageMaker.15"},
             "Resources": [{"Id": "arn:aws:sagemaker:eu-west-1:123456789012:model-bias-job-definition/b"}]},
            {"Compliance": {"Status": "PASSED", "SecurityControlId": "SageMaker.13"},
             "Resources": [{"Id": "arn:aws:sagemaker:us-east-1:123456789012:model-quality-job-definition/c"}]},
            {"Compliance": {"Status": "FAILED", "SecurityControlId": "S3.1"}, "Resources": [{"Id": "arn:aws:s3:::bucket"}]},
        ]});
        let definitions = parse_findings(&document).unwrap();
        assert_eq!(
            definitions.iter().cloned().collect::<Vec<_>>(),
            vec![
                ResourceId::definition("123456789012", "eu-west-1", Kind::ModelBias, "b"),
                ResourceId::definition("123456789012", "us-east-1", Kind::DataQuality, "a"),
            ]
        );
        let selection = Selection {
            findings: Some(definitions),
            ..Selection::default()
        };
        assert_eq!(
            selection
                .findings_accounts()
                .into_iter()
                .collect::<Vec<_>>(),
            vec!["123456789012"]
        );
    }

    #[test]
    fn a_lower_cased_finding_arn_selects_the_definition_whatever_its_case() {
        let document = json!({"Findings": [
            {"Compliance": {"Status": "FAILED", "SecurityControlId": "SageMaker.9"},
             "Resources": [{"Id": "arn:aws:sagemaker:us-east-1:123456789012:data-quality-job-definition/churn-dq"}]},
        ]});
        let definitions = parse_findings(&document).unwrap();
        let selection = Selection {
            findings: Some(definitions),
            ..Selection::default()
        };
        assert!(selection.matches("us-east-1", Kind::DataQuality, "Churn-DQ"));
        assert!(selection.matches("us-east-1", Kind::DataQuality, "churn-dq"));
        assert!(!selection.matches("us-east-1", Kind::DataQuality, "Churn-DQ2"));
        assert!(!selection.matches("us-east-1", Kind::ModelBias, "Churn-DQ"));
        assert!(!selection.matches("eu-west-1", Kind::DataQuality, "Churn-DQ"));
        // Both spellings exist: the finding is for the one it spells exactly.
        let both = |n: &str| n == "churn-dq" || n == "Churn-DQ";
        assert!(!selection.named_by_findings_among(
            "us-east-1",
            Kind::DataQuality,
            "Churn-DQ",
            both
        ));
        assert!(selection.named_by_findings_among(
            "us-east-1",
            Kind::DataQuality,
            "churn-dq",
            both
        ));
    }

    #[test]
    fn unrelated_or_malformed_findings_are_errors() {
        assert!(parse_findings(&json!({"Findings": []})).is_err());
        assert!(parse_findings(&json!({"NotFindings": 1})).is_err());
        assert!(parse_findings(&json!("text")).is_err());
        assert!(
            parse_findings(&json!({"Findings": [{"Compliance": {"Status": "FAILED", "SecurityControlId": "S3.1"}}]}))
                .is_err()
        );
        assert!(
            parse_findings(&json!({"Findings": [{"Compliance": {"Status": "FAILED", "SecurityControlId": "SageMaker.9"},
                "Resources": [{"Id": "arn:aws:sagemaker:us-east-1:1:model-bias-job-definition/x"}]}]}))
                .is_err()
        );
    }
}
