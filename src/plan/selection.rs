//! Which definitions a command acts on: kinds, controls, name globs, and Security Hub findings.

use crate::exit::UsageError;
use crate::kinds::{DefinitionArn, Kind, glob_match, refers_to};
use crate::resource::ResourceId;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

/// A validated selection.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Empty means all four kinds.
    pub kinds: BTreeSet<Kind>,
    /// Empty means every name.
    pub name_globs: Vec<String>,
    /// From `--from-findings`: exactly these definitions (the name as the ARN spells it, which
    /// may be lower-cased: match with [`Selection::named_by_findings`]); `None` means no findings
    /// file was given.
    pub findings: Option<BTreeSet<ResourceId>>,
    pub include_managed: bool,
}

impl Selection {
    pub fn kinds(&self) -> Vec<Kind> {
        if self.kinds.is_empty() {
            Kind::ALL.to_vec()
        } else {
            self.kinds.iter().copied().collect()
        }
    }

    /// Regions the findings name, in order; empty without findings.
    pub fn findings_regions(&self) -> Vec<String> {
        let regions: BTreeSet<&String> =
            self.findings.iter().flatten().map(|f| &f.region).collect();
        regions.into_iter().cloned().collect()
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
        (self.kinds.is_empty() || self.kinds.contains(&kind))
            && (self.name_globs.is_empty() || self.name_globs.iter().any(|g| glob_match(g, name)))
            && self
                .findings
                .as_ref()
                .is_none_or(|_| self.named_by_findings(region, kind, name))
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

/// Parses `--kind` and `--control` values into kinds.
pub fn parse_kinds(kinds: &[String], controls: &[String]) -> Result<BTreeSet<Kind>, UsageError> {
    let mut set = BTreeSet::new();
    for kind in kinds {
        set.insert(Kind::from_cli_name(kind).ok_or_else(|| {
            UsageError::new(format!("unknown kind `{kind}`")).with_hint(
                "kinds are data-quality, model-explainability, model-quality and model-bias",
            )
        })?);
    }
    for control in controls {
        set.insert(Kind::from_control(control).ok_or_else(|| {
            UsageError::new(format!("`{control}` is not a control this tool fixes")).with_hint(
                "controls are SageMaker.9 (data quality), SageMaker.10 (model explainability), \
                 SageMaker.13 (model quality) and SageMaker.15 (model bias)",
            )
        })?);
    }
    Ok(set)
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
/// ASFF findings) and returns the definitions its failing SageMaker.9/.10/.13/.15 findings name.
pub fn read_findings(path: &Path) -> Result<BTreeSet<ResourceId>, UsageError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        UsageError::new(format!("cannot read findings file {}: {e}", path.display()))
    })?;
    let document: Value = serde_json::from_str(&text).map_err(|e| {
        UsageError::new(format!("findings file {} is not JSON: {e}", path.display())).with_hint(
            "export findings with `aws securityhub get-findings --output json > findings.json`",
        )
    })?;
    parse_findings(&document).map_err(|message| {
        UsageError::new(format!("findings file {}: {message}", path.display()))
            .with_hint("export findings with `aws securityhub get-findings --filters '{\"ComplianceSecurityControlId\":[{\"Value\":\"SageMaker.9\",\"Comparison\":\"EQUALS\"}]}' > findings.json`")
    })
}

/// The pure part of `read_findings`.
pub fn parse_findings(document: &Value) -> Result<BTreeSet<ResourceId>, String> {
    let findings = match document {
        Value::Object(map) => map
            .get("Findings")
            .and_then(Value::as_array)
            .ok_or("expected an object with a `Findings` array (ASFF)")?,
        Value::Array(list) => list,
        _ => return Err("expected an object with a `Findings` array (ASFF)".to_owned()),
    };
    let mut definitions = BTreeSet::new();
    let mut relevant = 0usize;
    for (index, finding) in findings.iter().enumerate() {
        if !finding.is_object() {
            return Err(format!("finding #{index} is not an object"));
        }
        let control = finding
            .pointer("/Compliance/SecurityControlId")
            .or_else(|| finding.pointer("/ProductFields/ControlId"))
            .and_then(Value::as_str);
        let Some(kind) = control.and_then(Kind::from_control) else {
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
            .ok_or_else(|| {
                format!(
                    "finding #{index} ({}) has no `Resources` array",
                    kind.control()
                )
            })?;
        for resource in resources {
            let Some(id) = resource.get("Id").and_then(Value::as_str) else {
                continue;
            };
            let Some(arn) = DefinitionArn::parse(id) else {
                continue;
            };
            if arn.kind != kind {
                return Err(format!(
                    "finding #{index} is for {} but names a {} ARN: {id}",
                    kind.control(),
                    arn.kind
                ));
            }
            definitions.insert(ResourceId::definition(
                &arn.account_id,
                &arn.region,
                arn.kind,
                &arn.name,
            ));
        }
    }
    if relevant == 0 {
        return Err(format!(
            "none of its {} findings is for SageMaker.9, .10, .13 or .15",
            findings.len()
        ));
    }
    Ok(definitions)
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
        assert!(parse_kinds(&["data-qualty".into()], &[]).is_err());
        assert!(parse_kinds(&[], &["SageMaker.11".into()]).is_err());
        let set = parse_kinds(&["model-bias".into()], &["SageMaker.9".into()]).unwrap();
        assert_eq!(
            set.into_iter().collect::<Vec<_>>(),
            vec![Kind::DataQuality, Kind::ModelBias]
        );
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
