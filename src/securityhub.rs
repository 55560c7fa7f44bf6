//! The adapter over `aws-sdk-securityhub`: the failing control findings a run works from
//! (`GetFindings`, every page), the findings of given resources, and `BatchUpdateFindings`.
//! Findings come back as the raw ASFF JSON AWS sent (as the SageMaker adapter reads
//! definitions), so the findings file and the live findings are read by one parser.

use crate::sagemaker::AwsError;
use crate::sagemaker::raw::CaptureBody;
use aws_config::{Region, SdkConfig};
use aws_sdk_securityhub::Client;
use aws_sdk_securityhub::types::{
    AwsSecurityFindingFilters, AwsSecurityFindingIdentifier, NoteUpdate, StringFilter,
    StringFilterComparison, WorkflowUpdate,
};
use serde_json::Value;

/// `GetFindings` returns at most this many findings a page (documented).
pub const PAGE_SIZE: i32 = 100;
/// `BatchUpdateFindings` takes at most this many identifiers a call (documented).
pub const MAX_IDENTIFIERS: usize = 100;
/// A filter attribute takes at most this many values (documented).
pub const MAX_FILTER_VALUES: usize = 20;
/// `Note.Text` is 1–512 characters (documented).
pub const MAX_NOTE_CHARS: usize = 512;
/// Who the notes say wrote them.
pub const UPDATED_BY: &str = "sm-recreate";

/// A finding as `BatchUpdateFindings` names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct FindingIdentifier {
    pub id: String,
    pub product_arn: String,
}

/// The workflow status an update sets; `None` in [`SecurityHub::update`] leaves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workflow {
    Notified,
    Resolved,
}

/// A Security Hub client for one region, with the caller's credentials: called from the
/// Security Hub administrator account it reads and updates the members' findings too.
#[derive(Debug, Clone)]
pub struct SecurityHub {
    client: Client,
    pub region: String,
}

fn equals(value: &str) -> StringFilter {
    StringFilter::builder()
        .comparison(StringFilterComparison::Equals)
        .value(value)
        .build()
}

fn not_suppressed() -> StringFilter {
    StringFilter::builder()
        .comparison(StringFilterComparison::NotEquals)
        .value("SUPPRESSED")
        .build()
}

impl SecurityHub {
    pub fn new(config: &SdkConfig, region: &str) -> SecurityHub {
        let config = aws_sdk_securityhub::config::Builder::from(config)
            .region(Region::new(region.to_owned()))
            .build();
        SecurityHub {
            client: Client::from_conf(config),
            region: region.to_owned(),
        }
    }

    /// The ACTIVE, FAILED, not SUPPRESSED findings of `controls` in this region, every page.
    pub async fn failing_findings(&self, controls: &[&str]) -> Result<Vec<Value>, AwsError> {
        let filters = AwsSecurityFindingFilters::builder()
            .set_compliance_security_control_id(Some(controls.iter().map(|c| equals(c)).collect()))
            .compliance_status(equals("FAILED"))
            .record_state(equals("ACTIVE"))
            .workflow_status(not_suppressed())
            .build();
        self.all_pages(filters).await
    }

    /// The ACTIVE, not SUPPRESSED findings of `controls` on the resources `arns` (at most
    /// [`MAX_FILTER_VALUES`]), every page. A suppressed finding is someone's decision: left.
    pub async fn findings_of(
        &self,
        arns: &[String],
        controls: &[&str],
    ) -> Result<Vec<Value>, AwsError> {
        let filters = AwsSecurityFindingFilters::builder()
            .set_resource_id(Some(arns.iter().map(|a| equals(a)).collect()))
            .set_compliance_security_control_id(Some(controls.iter().map(|c| equals(c)).collect()))
            .record_state(equals("ACTIVE"))
            .workflow_status(not_suppressed())
            .build();
        self.all_pages(filters).await
    }

    async fn all_pages(&self, filters: AwsSecurityFindingFilters) -> Result<Vec<Value>, AwsError> {
        let mut findings = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let capture = CaptureBody::default();
            let output = self
                .client
                .get_findings()
                .filters(filters.clone())
                .max_results(PAGE_SIZE)
                .set_next_token(token.take())
                .customize()
                .interceptor(capture.clone())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("GetFindings", e))?;
            let body = capture
                .take()
                .ok_or_else(|| AwsError::local("GetFindings", "the response had no body"))?;
            let page: Value = serde_json::from_slice(&body).map_err(|e| {
                AwsError::local("GetFindings", format!("the response is not JSON: {e}"))
            })?;
            if let Some(Value::Array(list)) = page.get("Findings") {
                findings.extend(list.iter().cloned());
            }
            match output.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => return Ok(findings),
            }
        }
    }

    /// Sets `workflow` (when given) and the note on `findings` (at most [`MAX_IDENTIFIERS`]).
    /// Returns the findings Security Hub did not update, with its reason.
    pub async fn update(
        &self,
        findings: &[FindingIdentifier],
        workflow: Option<Workflow>,
        note: &str,
    ) -> Result<Vec<(FindingIdentifier, String)>, AwsError> {
        let identifiers = findings
            .iter()
            .map(|f| {
                AwsSecurityFindingIdentifier::builder()
                    .id(&f.id)
                    .product_arn(&f.product_arn)
                    .build()
            })
            .collect();
        let note = NoteUpdate::builder()
            .text(fit_note(note))
            .updated_by(UPDATED_BY)
            .build();
        let workflow = workflow.map(|w| {
            let status = match w {
                Workflow::Notified => aws_sdk_securityhub::types::WorkflowStatus::Notified,
                Workflow::Resolved => aws_sdk_securityhub::types::WorkflowStatus::Resolved,
            };
            WorkflowUpdate::builder().status(status).build()
        });
        let output = self
            .client
            .batch_update_findings()
            .set_finding_identifiers(Some(identifiers))
            .note(note)
            .set_workflow(workflow)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("BatchUpdateFindings", e))?;
        Ok(output
            .unprocessed_findings()
            .iter()
            .map(|u| {
                let id = u.finding_identifier();
                (
                    FindingIdentifier {
                        id: id.and_then(|i| i.id()).unwrap_or_default().to_owned(),
                        product_arn: id
                            .and_then(|i| i.product_arn())
                            .unwrap_or_default()
                            .to_owned(),
                    },
                    format!(
                        "{}: {}",
                        u.error_code().unwrap_or("unprocessed"),
                        u.error_message().unwrap_or_default()
                    ),
                )
            })
            .collect())
    }
}

/// The note cut to what Security Hub takes, on a character boundary.
pub fn fit_note(text: &str) -> String {
    if text.chars().count() <= MAX_NOTE_CHARS {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(MAX_NOTE_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// Whether an error says Security Hub is not on for the account (or region), or the caller may
/// not use it: what a person must fix before a run can read findings.
pub fn is_not_enabled(err: &AwsError) -> bool {
    err.code.as_deref() == Some("InvalidAccessException")
}

pub fn is_access_denied(err: &AwsError) -> bool {
    matches!(
        err.code.as_deref(),
        Some("AccessDeniedException" | "AccessDenied" | "UnauthorizedOperation")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_are_cut_to_what_security_hub_takes() {
        let long = "é".repeat(600);
        let cut = fit_note(&long);
        assert_eq!(cut.chars().count(), MAX_NOTE_CHARS);
        assert_eq!(fit_note("short"), "short");
    }
}

/// What a run did to Security Hub findings (`--update-findings`), for its report.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct FindingsReport {
    /// Findings set NOTIFIED as the run started on their resource.
    pub notified: usize,
    /// Findings set RESOLVED after their resource was verified.
    pub resolved: usize,
    /// Findings given a note saying why their resource was not fixed (status left).
    pub noted: usize,
    /// Resources the run worked on that no ACTIVE finding names.
    pub resources_without_findings: usize,
    /// Updates that failed: the remediation stands, only the findings were not updated.
    pub warnings: Vec<String>,
}

/// A finding the selection names that the run does not act on, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SkippedFinding {
    /// The finding's id (empty when an export left it out).
    pub finding_id: String,
    pub control: String,
    #[serde(flatten)]
    pub resource: crate::resource::ResourceId,
    pub reason: String,
}

/// The skipped findings as text lines, for the text renderings.
pub fn skipped_findings_text(skipped: &[SkippedFinding]) -> String {
    skipped
        .iter()
        .map(|s| format!("Security Hub {s}.\n"))
        .collect()
}

/// The skipped findings as a markdown section (empty when none).
pub fn skipped_findings_markdown(skipped: &[SkippedFinding]) -> String {
    if skipped.is_empty() {
        return String::new();
    }
    let mut out = String::from("\n**Security Hub findings skipped:**\n\n");
    for s in skipped {
        out.push_str(&format!(
            "- `{}` ({}) on {} `{}` ({}, account `{}`): {}\n",
            s.finding_id,
            s.control,
            s.resource.kind,
            s.resource.name,
            s.resource.region,
            s.resource.account_id,
            s.reason
        ));
    }
    out
}

impl std::fmt::Display for SkippedFinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "finding {} ({}) on {}: {}; skipped",
            if self.finding_id.is_empty() {
                "(no id)"
            } else {
                &self.finding_id
            },
            self.control,
            self.resource,
            self.reason
        )
    }
}
