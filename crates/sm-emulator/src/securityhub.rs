//! Security Hub CSPM over the emulator's own state: one control finding per (control, resource)
//! for every definition and inline schedule the SageMaker controls judge, as consolidated
//! control findings read; `GetFindings` and `BatchUpdateFindings` (rest-json); and the
//! administrator, who sees and updates every member's findings. Like the store it is
//! synchronous and clock-injected; `server` renders the answers.
//!
//! Findings change only when evaluated (at start-up and on `Emulator::evaluate_findings`), never
//! when read: the real service evaluates change-triggered controls some time after a change.
//! Where this module guesses, it says so and names the AWS-FACTS entry.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use sm_kinds::{Control, ControlInfo, Fix, Kind, Subject};

use super::config::{
    ComplianceStatus, FindingResourceKind, RecordState, Seed, SeedFinding, WorkflowStatus,
};
use super::listing::{PageLimits, PageRequest};
use super::org::iso8601;
use super::protocol::{ApiError, Members};

pub(crate) const GET_FINDINGS_OPERATION: &str = "GetFindings";
pub(crate) const BATCH_UPDATE_FINDINGS_OPERATION: &str = "BatchUpdateFindings";

/// `GetFindings`' `MaxResults`: 1–100 (documented), 100 when absent (a guess, AWS-FACTS #20).
const FINDING_LIMITS: PageLimits = PageLimits {
    default: 100,
    min: 1,
    max: Some(100),
};
/// At most this many finding attributes in `Filters`, and values per attribute (documented).
const MAX_FILTER_FIELDS: usize = 10;
const MAX_FILTER_VALUES: usize = 20;
/// `BatchUpdateFindings` takes at most this many identifiers (documented).
const MAX_FINDING_IDENTIFIERS: usize = 100;
/// `Note.Text` and `Note.UpdatedBy`: 1–512 characters (documented for `Text`; `UpdatedBy` a
/// guess, AWS-FACTS #20).
const MAX_NOTE_CHARS: usize = 512;
/// The standard the SageMaker controls belong to (a guess that it is the only one enabled,
/// AWS-FACTS #20).
const FSBP_STANDARD: &str = "standards/aws-foundational-security-best-practices/v/1.0.0";
const FINDING_TYPE: &str = "Software and Configuration Checks/Industry and Regulatory Standards";

/// A resource a control judges, as the store sees it.
#[derive(Debug, Clone)]
pub(crate) struct JudgedResource {
    pub region: String,
    pub kind: FindingResourceKind,
    pub arn: String,
    pub describe: Value,
}

/// Findings are kept in this order, which is also `GetFindings`' order: stable across calls.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct FindingKey {
    account: String,
    region: String,
    control_number: u32,
    resource_arn: String,
}

#[derive(Debug, Clone)]
struct Finding {
    id: String,
    control: Control,
    compliance: ComplianceStatus,
    record_state: RecordState,
    workflow: WorkflowStatus,
    created_at: String,
    /// Also `LastObservedAt`: set by every evaluation, never by `BatchUpdateFindings`.
    updated_at: String,
    severity_label: String,
    severity_normalized: i64,
    /// `Note`, once `BatchUpdateFindings` set one.
    note: Option<Value>,
    /// Members `BatchUpdateFindings` set that nothing else reads (`Confidence`, `Types`, ...).
    updated_members: Map<String, Value>,
}

/// Every account's findings and who may see them.
#[derive(Debug)]
pub(crate) struct SecurityHub {
    administrator: Option<String>,
    disabled_accounts: Vec<String>,
    findings: BTreeMap<FindingKey, Finding>,
}

impl SecurityHub {
    pub(crate) fn new(seed: &Seed) -> SecurityHub {
        SecurityHub {
            administrator: seed.security_hub.administrator(seed),
            disabled_accounts: seed.security_hub.disabled_accounts.clone(),
            findings: BTreeMap::new(),
        }
    }

    pub(crate) fn administrator(&self) -> Option<&str> {
        self.administrator.as_deref()
    }

    pub(crate) fn is_enabled(&self, account: &str) -> bool {
        !self.disabled_accounts.iter().any(|id| id == account)
    }

    /// The error any Security Hub call from an account without it answers.
    pub(crate) fn not_enabled(account: &str) -> ApiError {
        // Seen in real answers; the exact wording is a guess (AWS-FACTS #20).
        ApiError::new(
            401,
            "InvalidAccessException",
            format!("Account {account} is not subscribed to AWS Security Hub"),
        )
    }

    /// Judges every resource of every account (`resources` holds each account's) and moves the
    /// findings as Security Hub does (AWS-FACTS #19): a new resource gets a finding; a passing
    /// one is `PASSED` and `RESOLVED`; a failure after a pass, or a return from `ARCHIVED`, sets
    /// `NOTIFIED` and `RESOLVED` back to `NEW`; a resource gone is `NOT_AVAILABLE` and
    /// `ARCHIVED`. `SUPPRESSED` is never changed (a guess, AWS-FACTS #20).
    pub(crate) fn evaluate(
        &mut self,
        resources: &[(String, Vec<JudgedResource>)],
        now: SystemTime,
    ) {
        let now = timestamp(now);
        let mut seen = BTreeSet::new();
        for (account, judged) in resources {
            if !self.is_enabled(account) {
                continue;
            }
            for resource in judged {
                for (control, passes) in judge(resource) {
                    let key = FindingKey {
                        account: account.clone(),
                        region: resource.region.clone(),
                        control_number: control.number(),
                        resource_arn: resource.arn.clone(),
                    };
                    let compliance = if passes {
                        ComplianceStatus::Passed
                    } else {
                        ComplianceStatus::Failed
                    };
                    self.observe(&key, control, compliance, &now);
                    seen.insert(key);
                }
            }
        }
        for (key, finding) in &mut self.findings {
            if !seen.contains(key) && finding.record_state == RecordState::Active {
                finding.transition(ComplianceStatus::NotAvailable, RecordState::Archived);
                finding.updated_at.clone_from(&now);
            }
        }
    }

    /// Records one evaluation of `control` on a resource that exists.
    fn observe(
        &mut self,
        key: &FindingKey,
        control: Control,
        compliance: ComplianceStatus,
        now: &str,
    ) {
        let finding = self
            .findings
            .entry(key.clone())
            .or_insert_with(|| Finding::new(key, control, compliance, now));
        finding.transition(compliance, RecordState::Active);
        finding.updated_at = now.to_owned();
    }

    /// Places the seed's findings, after the start-up evaluation.
    pub(crate) fn apply_seed(&mut self, seed: &Seed, now: SystemTime) {
        let now = timestamp(now);
        for placed in &seed.security_hub.findings {
            let Some(control) = ControlInfo::find(&placed.control) else {
                // `Seed::validate` rejected it already.
                continue;
            };
            let account = placed.account_id.as_deref().unwrap_or(&seed.account_id);
            let key = FindingKey {
                account: account.to_owned(),
                region: placed.region.clone(),
                control_number: control.number(),
                resource_arn: resource_arn(account, placed),
            };
            let finding = self
                .findings
                .entry(key.clone())
                .or_insert_with(|| Finding::new(&key, control, ComplianceStatus::Failed, &now));
            let compliance = placed.compliance_status.unwrap_or(finding.compliance);
            let record_state = placed.record_state.unwrap_or(finding.record_state);
            finding.transition(compliance, record_state);
            if let Some(workflow) = placed.workflow_status {
                finding.workflow = workflow;
            }
        }
    }

    /// Every finding, rendered, in order.
    pub(crate) fn all_findings(&self) -> Vec<Value> {
        self.findings
            .iter()
            .map(|(key, finding)| finding.render(key))
            .collect()
    }

    /// Whether `caller` may see and update the findings of `account`.
    fn visible(&self, caller: &str, account: &str) -> bool {
        caller == account
            || (self.administrator.as_deref() == Some(caller) && self.is_enabled(account))
    }

    /// `GetFindings` (`POST /findings`), in the region the request was signed for.
    pub(crate) fn get_findings(
        &self,
        caller: &str,
        region: &str,
        body: Members<'_>,
    ) -> Result<Value, ApiError> {
        let filters = match body.object("Filters").map_err(invalid_input)? {
            Some(filters) => parse_filters(filters)?,
            None => Vec::new(),
        };
        if body
            .list("SortCriteria")
            .map_err(invalid_input)?
            .is_some_and(|criteria| !criteria.is_empty())
        {
            return Err(unimplemented("SortCriteria"));
        }
        let page = PageRequest::parse(GET_FINDINGS_OPERATION, body, &FINDING_LIMITS)
            .map_err(invalid_input)?;
        let matching: Vec<Value> = self
            .findings
            .iter()
            .filter(|(key, _)| key.region == region && self.visible(caller, &key.account))
            .map(|(key, finding)| finding.render(key))
            .filter(|rendered| filters.iter().all(|filter| filter.matches(rendered)))
            .collect();
        let (findings, next_token) = page.page(matching);
        let mut response = json!({ "Findings": findings });
        if let Some(token) = next_token {
            response["NextToken"] = json!(token);
        }
        Ok(response)
    }

    /// `BatchUpdateFindings` (`PATCH /findings/batchupdate`).
    pub(crate) fn batch_update_findings(
        &mut self,
        caller: &str,
        region: &str,
        body: Members<'_>,
        now: SystemTime,
    ) -> Result<Value, ApiError> {
        let update = FindingUpdate::parse(body, &timestamp(now))?;
        let identifiers = body
            .structures("FindingIdentifiers")
            .map_err(invalid_input)?
            .unwrap_or_default();
        if identifiers.is_empty() || identifiers.len() > MAX_FINDING_IDENTIFIERS {
            return Err(ApiError::new(
                400,
                "InvalidInputException",
                format!(
                    "FindingIdentifiers must list 1 to {MAX_FINDING_IDENTIFIERS} findings; it lists {}",
                    identifiers.len()
                ),
            ));
        }
        let mut processed = Vec::new();
        let mut unprocessed = Vec::new();
        let mut earlier = BTreeSet::new();
        let administrator = self.administrator.clone();
        let disabled = self.disabled_accounts.clone();
        for identifier in identifiers {
            let id = required_string(identifier, "FindingIdentifiers.Id")?;
            let product_arn = required_string(identifier, "FindingIdentifiers.ProductArn")?;
            let echoed = json!({ "Id": &id, "ProductArn": &product_arn });
            if !earlier.insert((id.clone(), product_arn.clone())) {
                unprocessed.push(unprocessed_finding(
                    echoed,
                    "DuplicatedFindingIdentifier",
                    "Finding Identifier is duplicated",
                ));
                continue;
            }
            // A finding the caller may not see is not found for it (a guess, AWS-FACTS #20).
            let found = self.findings.iter_mut().find(|(key, finding)| {
                finding.id == id
                    && key.region == region
                    && product_arn == product_arn_of(&key.region)
                    && (key.account == caller
                        || (administrator.as_deref() == Some(caller)
                            && !disabled.contains(&key.account)))
            });
            match found {
                Some((_, finding)) => {
                    update.apply(finding);
                    processed.push(echoed);
                }
                None => unprocessed.push(unprocessed_finding(
                    echoed,
                    "FindingNotFound",
                    "Finding Not Found",
                )),
            }
        }
        Ok(json!({
            "ProcessedFindings": processed,
            "UnprocessedFindings": unprocessed,
        }))
    }
}

impl Finding {
    fn new(key: &FindingKey, control: Control, compliance: ComplianceStatus, now: &str) -> Finding {
        Finding {
            id: finding_id(key, control),
            control,
            compliance,
            record_state: RecordState::Active,
            workflow: if compliance == ComplianceStatus::Passed {
                WorkflowStatus::Resolved
            } else {
                WorkflowStatus::New
            },
            created_at: now.to_owned(),
            updated_at: now.to_owned(),
            // Every SageMaker control is MEDIUM (AWS-FACTS #20).
            severity_label: "MEDIUM".to_owned(),
            severity_normalized: 40,
            note: None,
            updated_members: Map::new(),
        }
    }

    /// The documented workflow rules for a control finding whose compliance and record state
    /// are now `compliance` and `record_state`.
    fn transition(&mut self, compliance: ComplianceStatus, record_state: RecordState) {
        let reopened = (self.compliance == ComplianceStatus::Passed
            && compliance != ComplianceStatus::Passed)
            || (self.record_state == RecordState::Archived && record_state == RecordState::Active);
        self.workflow = match self.workflow {
            // "The finding is no longer updated": neither a pass nor a reopening moves it.
            WorkflowStatus::Suppressed => WorkflowStatus::Suppressed,
            _ if compliance == ComplianceStatus::Passed => WorkflowStatus::Resolved,
            WorkflowStatus::Notified | WorkflowStatus::Resolved if reopened => WorkflowStatus::New,
            unchanged => unchanged,
        };
        self.compliance = compliance;
        self.record_state = record_state;
    }

    /// The finding in ASFF, as `GetFindings` returns it.
    fn render(&self, key: &FindingKey) -> Value {
        let control = self.control;
        let product_arn = product_arn_of(&key.region);
        let severity = json!({
            "Label": self.severity_label,
            "Normalized": self.severity_normalized,
            "Original": "MEDIUM",
        });
        let mut finding = json!({
            "SchemaVersion": "2018-10-08",
            "Id": self.id,
            "ProductArn": product_arn,
            "ProductName": "Security Hub",
            "CompanyName": "AWS",
            "Region": key.region,
            "GeneratorId": format!("security-control/{}", control.id),
            "AwsAccountId": key.account,
            "Types": [FINDING_TYPE],
            "FirstObservedAt": self.created_at,
            "LastObservedAt": self.updated_at,
            "CreatedAt": self.created_at,
            "UpdatedAt": self.updated_at,
            "Severity": severity,
            "Title": title(control),
            "Description": description(control),
            "Remediation": {
                "Recommendation": {
                    "Text": "For information on how to correct this issue, consult the AWS Security Hub controls documentation.",
                    "Url": format!("https://docs.aws.amazon.com/console/securityhub/{}/remediation", control.id),
                }
            },
            "ProductFields": {
                "RelatedAWSResources:0/name": format!("securityhub-{}-{}", control.config_rule, &short_hash(&key.account, 8)),
                "RelatedAWSResources:0/type": "AWS::Config::ConfigRule",
                "aws/securityhub/ProductName": "Security Hub",
                "aws/securityhub/CompanyName": "AWS",
                "Resources:0/Id": key.resource_arn,
                "aws/securityhub/FindingId": format!("{product_arn}/{}", self.id),
            },
            "Resources": [{
                "Type": RESOURCE_TYPE,
                "Id": key.resource_arn,
                "Partition": "aws",
                "Region": key.region,
            }],
            "Compliance": {
                "Status": self.compliance.as_str(),
                "SecurityControlId": control.id,
                "AssociatedStandards": [{ "StandardsId": FSBP_STANDARD }],
            },
            "WorkflowState": workflow_state(self.workflow),
            "Workflow": { "Status": self.workflow.as_str() },
            "RecordState": self.record_state.as_str(),
            "FindingProviderFields": {
                "Severity": { "Label": "MEDIUM", "Original": "MEDIUM" },
                "Types": [FINDING_TYPE],
            },
        });
        if let Some(note) = &self.note {
            finding["Note"] = note.clone();
        }
        if let Value::Object(members) = &mut finding {
            for (member, value) in &self.updated_members {
                members.insert(member.clone(), value.clone());
            }
        }
        finding
    }
}

/// What one `BatchUpdateFindings` call changes, validated before any finding is touched.
#[derive(Debug, Default)]
struct FindingUpdate {
    workflow: Option<WorkflowStatus>,
    note: Option<Value>,
    severity: Option<(String, i64)>,
    members: Map<String, Value>,
}

impl FindingUpdate {
    fn parse(body: Members<'_>, now: &str) -> Result<FindingUpdate, ApiError> {
        let mut update = FindingUpdate::default();
        if let Some(workflow) = body.object("Workflow").map_err(invalid_input)? {
            let status = workflow.string("Status").map_err(invalid_input)?;
            update.workflow = match status {
                None => None,
                Some(status) => Some(WorkflowStatus::parse(status).ok_or_else(|| {
                    invalid_value(
                        "Workflow.Status",
                        status,
                        "NEW, NOTIFIED, RESOLVED, SUPPRESSED",
                    )
                })?),
            };
        }
        if let Some(note) = body.object("Note").map_err(invalid_input)? {
            let text = required_string(note, "Note.Text")?;
            let updated_by = required_string(note, "Note.UpdatedBy")?;
            for (member, value) in [("Note.Text", &text), ("Note.UpdatedBy", &updated_by)] {
                // `NonEmptyString` is `.*\S.*`: whitespace alone is empty.
                if value.trim().is_empty() || value.chars().count() > MAX_NOTE_CHARS {
                    return Err(ApiError::new(
                        400,
                        "InvalidInputException",
                        format!(
                            "{member} must be 1 to {MAX_NOTE_CHARS} characters and not only whitespace"
                        ),
                    ));
                }
            }
            update.note = Some(json!({ "Text": text, "UpdatedBy": updated_by, "UpdatedAt": now }));
        }
        if let Some(severity) = body.object("Severity").map_err(invalid_input)? {
            update.severity = parse_severity(severity)?;
        }
        if let Some(state) = body.string("VerificationState").map_err(invalid_input)? {
            const STATES: [&str; 4] = [
                "UNKNOWN",
                "TRUE_POSITIVE",
                "FALSE_POSITIVE",
                "BENIGN_POSITIVE",
            ];
            if !STATES.contains(&state) {
                return Err(invalid_value(
                    "VerificationState",
                    state,
                    &STATES.join(", "),
                ));
            }
            update
                .members
                .insert("VerificationState".into(), json!(state));
        }
        for member in ["Confidence", "Criticality"] {
            if let Some(value) = body.integer(member).map_err(invalid_input)? {
                if !(0..=100).contains(&value) {
                    return Err(invalid_value(member, &value.to_string(), "0 to 100"));
                }
                update.members.insert(member.into(), json!(value));
            }
        }
        if let Some(types) = body.strings("Types").map_err(invalid_input)? {
            update.members.insert("Types".into(), json!(types));
        }
        if let Some(fields) = body
            .string_map("UserDefinedFields")
            .map_err(invalid_input)?
        {
            let fields: Map<String, Value> = fields
                .into_iter()
                .map(|(key, value)| (key.to_owned(), json!(value)))
                .collect();
            update
                .members
                .insert("UserDefinedFields".into(), Value::Object(fields));
        }
        if let Some(related) = body.structures("RelatedFindings").map_err(invalid_input)? {
            let related: Vec<Value> = related
                .into_iter()
                .map(|finding| {
                    Ok(json!({
                        "ProductArn": required_string(finding, "RelatedFindings.ProductArn")?,
                        "Id": required_string(finding, "RelatedFindings.Id")?,
                    }))
                })
                .collect::<Result<_, ApiError>>()?;
            update
                .members
                .insert("RelatedFindings".into(), json!(related));
        }
        let nothing = update.workflow.is_none()
            && update.note.is_none()
            && update.severity.is_none()
            && update.members.is_empty();
        if nothing {
            // What the service answers to an update that changes nothing is a guess
            // (AWS-FACTS #20); refusing it keeps a test from mistaking it for an update.
            return Err(ApiError::new(
                400,
                "InvalidInputException",
                "BatchUpdateFindings needs at least one field to update",
            ));
        }
        Ok(update)
    }

    /// Changes the finding; `UpdatedAt` stays, as documented for `BatchUpdateFindings`.
    fn apply(&self, finding: &mut Finding) {
        if let Some(workflow) = self.workflow {
            finding.workflow = workflow;
        }
        if let Some(note) = &self.note {
            finding.note = Some(note.clone());
        }
        if let Some((label, normalized)) = &self.severity {
            finding.severity_label.clone_from(label);
            finding.severity_normalized = *normalized;
        }
        for (member, value) in &self.members {
            finding
                .updated_members
                .insert(member.clone(), value.clone());
        }
    }
}

/// `SeverityUpdate`: `Label` or `Normalized` (the label wins when both are sent), mapped to
/// each other as the ASFF severity documentation does.
fn parse_severity(severity: Members<'_>) -> Result<Option<(String, i64)>, ApiError> {
    const LABELS: [(&str, i64); 5] = [
        ("INFORMATIONAL", 0),
        ("LOW", 1),
        ("MEDIUM", 40),
        ("HIGH", 70),
        ("CRITICAL", 90),
    ];
    if let Some(label) = severity.string("Label").map_err(invalid_input)? {
        let (label, normalized) = LABELS
            .iter()
            .find(|(known, _)| *known == label)
            .ok_or_else(|| {
                invalid_value(
                    "Severity.Label",
                    label,
                    "INFORMATIONAL, LOW, MEDIUM, HIGH, CRITICAL",
                )
            })?;
        return Ok(Some(((*label).to_owned(), *normalized)));
    }
    let Some(normalized) = severity.integer("Normalized").map_err(invalid_input)? else {
        return Ok(None);
    };
    if !(0..=100).contains(&normalized) {
        return Err(invalid_value(
            "Severity.Normalized",
            &normalized.to_string(),
            "0 to 100",
        ));
    }
    let label = LABELS
        .iter()
        .rev()
        .find(|(_, floor)| normalized >= *floor)
        .map_or("INFORMATIONAL", |(label, _)| label);
    Ok(Some((label.to_owned(), normalized)))
}

/// A `StringFilter` comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Comparison {
    Equals,
    Prefix,
    Contains,
    NotEquals,
    PrefixNotEquals,
    NotContains,
}

impl Comparison {
    fn parse(text: &str) -> Result<Comparison, ApiError> {
        Ok(match text {
            "EQUALS" => Comparison::Equals,
            "PREFIX" => Comparison::Prefix,
            "CONTAINS" => Comparison::Contains,
            "NOT_EQUALS" => Comparison::NotEquals,
            "PREFIX_NOT_EQUALS" => Comparison::PrefixNotEquals,
            "NOT_CONTAINS" => Comparison::NotContains,
            // Documented: only the V2 operations take it.
            "CONTAINS_WORD" => {
                return Err(ApiError::new(
                    400,
                    "InvalidInputException",
                    "CONTAINS_WORD works only with GetFindingsV2 and the other V2 operations",
                ));
            }
            other => {
                return Err(invalid_value(
                    "StringFilter.Comparison",
                    other,
                    "EQUALS, PREFIX, NOT_EQUALS, PREFIX_NOT_EQUALS, CONTAINS, NOT_CONTAINS",
                ));
            }
        })
    }

    /// Whether the comparison keeps values like the filter's (joined by OR) rather than
    /// excluding them (joined by AND).
    fn is_positive(self) -> bool {
        matches!(
            self,
            Comparison::Equals | Comparison::Prefix | Comparison::Contains
        )
    }

    fn holds(self, value: &str, wanted: &str) -> bool {
        match self {
            Comparison::Equals => value == wanted,
            Comparison::Prefix => value.starts_with(wanted),
            Comparison::Contains => value.contains(wanted),
            Comparison::NotEquals => value != wanted,
            Comparison::PrefixNotEquals => !value.starts_with(wanted),
            Comparison::NotContains => !value.contains(wanted),
        }
    }
}

/// The string filter fields the emulator implements, and where each reads the rendered finding.
const STRING_FILTER_FIELDS: [(&str, &str); 22] = [
    ("AwsAccountId", "/AwsAccountId"),
    ("CompanyName", "/CompanyName"),
    (
        "ComplianceAssociatedStandardsId",
        "/Compliance/AssociatedStandards/0/StandardsId",
    ),
    (
        "ComplianceSecurityControlId",
        "/Compliance/SecurityControlId",
    ),
    ("ComplianceStatus", "/Compliance/Status"),
    ("GeneratorId", "/GeneratorId"),
    ("Id", "/Id"),
    ("NoteText", "/Note/Text"),
    ("NoteUpdatedBy", "/Note/UpdatedBy"),
    ("ProductArn", "/ProductArn"),
    ("ProductName", "/ProductName"),
    ("RecordState", "/RecordState"),
    ("Region", "/Region"),
    ("ResourceId", "/Resources/0/Id"),
    ("ResourcePartition", "/Resources/0/Partition"),
    ("ResourceRegion", "/Resources/0/Region"),
    ("ResourceType", "/Resources/0/Type"),
    ("SeverityLabel", "/Severity/Label"),
    ("Title", "/Title"),
    ("VerificationState", "/VerificationState"),
    ("WorkflowState", "/WorkflowState"),
    ("WorkflowStatus", "/Workflow/Status"),
];

/// The filters on one field.
#[derive(Debug)]
struct FieldFilter {
    pointer: &'static str,
    conditions: Vec<(Comparison, String)>,
}

impl FieldFilter {
    /// EQUALS, PREFIX and CONTAINS are joined by OR, then NOT_EQUALS, PREFIX_NOT_EQUALS and
    /// NOT_CONTAINS by AND (documented). A finding without the field matches no positive
    /// condition and every negative one (a guess, AWS-FACTS #20).
    fn matches(&self, finding: &Value) -> bool {
        let value = finding.pointer(self.pointer).and_then(Value::as_str);
        let (positive, negative): (Vec<_>, Vec<_>) = self
            .conditions
            .iter()
            .partition(|(comparison, _)| comparison.is_positive());
        let kept = positive.is_empty()
            || value.is_some_and(|value| {
                positive
                    .iter()
                    .any(|(comparison, wanted)| comparison.holds(value, wanted))
            });
        kept && value.is_none_or(|value| {
            negative
                .iter()
                .all(|(comparison, wanted)| comparison.holds(value, wanted))
        })
    }
}

/// `AwsSecurityFindingFilters`: every field this emulator implements, with the documented
/// limits and the documented refusals of mixed comparisons. A field it does not implement is
/// an `InvalidInputException`, never ignored.
fn parse_filters(filters: Members<'_>) -> Result<Vec<FieldFilter>, ApiError> {
    let fields: Vec<(&String, &Value)> = filters
        .0
        .iter()
        .filter(|(_, value)| !value.is_null())
        .collect();
    if fields.len() > MAX_FILTER_FIELDS {
        return Err(ApiError::new(
            400,
            "InvalidInputException",
            format!(
                "Filters may name at most {MAX_FILTER_FIELDS} attributes; it names {}",
                fields.len()
            ),
        ));
    }
    let mut parsed = Vec::new();
    for (field, _) in fields {
        let Some((_, pointer)) = STRING_FILTER_FIELDS.iter().find(|(name, _)| name == field) else {
            return Err(unimplemented(&format!("the filter field {field}")));
        };
        let values = filters
            .structures(field)
            .map_err(invalid_input)?
            .unwrap_or_default();
        if values.len() > MAX_FILTER_VALUES {
            return Err(ApiError::new(
                400,
                "InvalidInputException",
                format!("{field} may have at most {MAX_FILTER_VALUES} filter values"),
            ));
        }
        let mut conditions = Vec::new();
        for filter in values {
            let comparison =
                Comparison::parse(&required_string(filter, &format!("{field}.Comparison"))?)?;
            let value = required_string(filter, &format!("{field}.Value"))?;
            conditions.push((comparison, value));
        }
        check_combination(field, &conditions)?;
        parsed.push(FieldFilter {
            pointer,
            conditions,
        });
    }
    Ok(parsed)
}

/// The documented refusals: CONTAINS and NOT_CONTAINS only with their own kind, and EQUALS never
/// with NOT_EQUALS or PREFIX_NOT_EQUALS on the same field.
fn check_combination(field: &str, conditions: &[(Comparison, String)]) -> Result<(), ApiError> {
    let has = |wanted: Comparison| {
        conditions
            .iter()
            .any(|(comparison, _)| *comparison == wanted)
    };
    let only = |wanted: Comparison| {
        conditions
            .iter()
            .all(|(comparison, _)| *comparison == wanted)
    };
    let refused = (has(Comparison::Contains) && !only(Comparison::Contains))
        || (has(Comparison::NotContains) && !only(Comparison::NotContains))
        || (has(Comparison::Equals)
            && (has(Comparison::NotEquals) || has(Comparison::PrefixNotEquals)));
    if refused {
        return Err(ApiError::new(
            400,
            "InvalidInputException",
            format!("The comparisons of the {field} filters cannot be combined"),
        ));
    }
    Ok(())
}

/// Judges every control on one resource by the rules the tool uses (`sm-kinds`), read as the
/// AWS Config managed rules behind the controls read them.
fn judge(resource: &JudgedResource) -> Vec<(Control, bool)> {
    let (subject, job, resources) = match resource.kind {
        FindingResourceKind::Definition(kind) => (
            Subject::Definition(kind),
            &resource.describe,
            "JobResources",
        ),
        FindingResourceKind::MonitoringSchedule => {
            let Some(job) = resource
                .describe
                .pointer("/MonitoringScheduleConfig/MonitoringJobDefinition")
            else {
                return Vec::new();
            };
            (Subject::InlineSchedule, job, "MonitoringResources")
        }
    };
    let instance_count = job
        .get(resources)
        .and_then(|resources| resources.pointer("/ClusterConfig/InstanceCount"))
        .and_then(Value::as_u64);
    ControlInfo::of(subject)
        .map(|control| {
            let flag = job
                .get("NetworkConfig")
                .and_then(|network| network.get(control.fix.member()))
                .and_then(Value::as_bool);
            (control, control.rule_test.passes(flag, instance_count))
        })
        .collect()
}

/// `arn:aws:securityhub:REGION::product/aws/securityhub`: Security Hub's own product.
fn product_arn_of(region: &str) -> String {
    format!("arn:aws:securityhub:{region}::product/aws/securityhub")
}

/// `arn:aws:securityhub:REGION:ACCOUNT:security-control/SageMaker.9/finding/<uuid>`, the same
/// for the same control and resource across evaluations and restarts.
fn finding_id(key: &FindingKey, control: Control) -> String {
    let hex: String = Sha256::digest(
        format!(
            "{}/{}/{}/{}",
            key.account, key.region, control.id, key.resource_arn
        )
        .as_bytes(),
    )
    .iter()
    .take(16)
    .map(|byte| format!("{byte:02x}"))
    .collect();
    format!(
        "arn:aws:securityhub:{}:{}:security-control/{}/finding/{}-{}-{}-{}-{}",
        key.region,
        key.account,
        control.id,
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The ARN of the resource a seeded finding names, built as the store builds it (the name
/// lower-cased), so it meets the resource's own finding when the resource exists.
fn resource_arn(account: &str, placed: &SeedFinding) -> String {
    let resource_type = match placed.kind {
        FindingResourceKind::Definition(kind) => kind.arn_type(),
        FindingResourceKind::MonitoringSchedule => "monitoring-schedule",
    };
    format!(
        "arn:aws:sagemaker:{}:{account}:{resource_type}/{}",
        placed.region,
        placed.name.to_ascii_lowercase()
    )
}

/// ASFF has no resource type for job definitions or schedules, so `Other`, as the ASFF guide
/// says for a type it does not list (the real value is a guess, AWS-FACTS #20).
const RESOURCE_TYPE: &str = "Other";

/// The deprecated `WorkflowState` beside `Workflow.Status` (the mapping is a guess,
/// AWS-FACTS #20).
fn workflow_state(status: WorkflowStatus) -> &'static str {
    match status {
        WorkflowStatus::New => "NEW",
        WorkflowStatus::Notified => "ASSIGNED",
        WorkflowStatus::Resolved => "RESOLVED",
        WorkflowStatus::Suppressed => "DEFERRED",
    }
}

/// What a control judges, in the words of its title.
fn subject_words(subject: Subject) -> &'static str {
    match subject {
        Subject::Definition(Kind::DataQuality) => "data quality job definitions",
        Subject::Definition(Kind::ModelExplainability) => "model explainability job definitions",
        Subject::Definition(Kind::ModelQuality) => "model quality job definitions",
        Subject::Definition(Kind::ModelBias) => "model bias job definitions",
        Subject::InlineSchedule => "monitoring schedules",
    }
}

fn fix_words(fix: Fix) -> &'static str {
    match fix {
        Fix::Encryption => "inter-container traffic encryption",
        Fix::Isolation => "network isolation",
    }
}

/// The control's title, in the pattern of the documented ones (AWS-FACTS #20).
fn title(control: Control) -> String {
    format!(
        "SageMaker {} should have {} enabled",
        subject_words(control.subject),
        fix_words(control.fix)
    )
}

fn description(control: Control) -> String {
    format!(
        "This control checks whether Amazon SageMaker {} have {} enabled ({} in NetworkConfig). \
         It is evaluated by the AWS Config rule {}.",
        subject_words(control.subject),
        fix_words(control.fix),
        control.fix.member(),
        control.config_rule
    )
}

fn unprocessed_finding(identifier: Value, code: &str, message: &str) -> Value {
    json!({ "FindingIdentifier": identifier, "ErrorCode": code, "ErrorMessage": message })
}

fn required_string(members: Members<'_>, name: &str) -> Result<String, ApiError> {
    let member = name.rsplit('.').next().unwrap_or(name);
    match members.string(member).map_err(invalid_input)? {
        Some(value) if !value.is_empty() => Ok(value.to_owned()),
        _ => Err(ApiError::new(
            400,
            "InvalidInputException",
            format!("{name} is required and must not be empty"),
        )),
    }
}

fn invalid_value(member: &str, value: &str, allowed: &str) -> ApiError {
    ApiError::new(
        400,
        "InvalidInputException",
        format!("{member} {value:?} is not one of: {allowed}"),
    )
}

/// Security Hub answers every malformed request `InvalidInputException`.
fn invalid_input(error: ApiError) -> ApiError {
    ApiError::new(400, "InvalidInputException", error.message)
}

/// A part of the API the real service has and this emulator does not: refused, so a test never
/// passes by the emulator ignoring what it was asked.
fn unimplemented(what: &str) -> ApiError {
    ApiError::new(
        400,
        "InvalidInputException",
        format!("The sandbox Security Hub does not implement {what}"),
    )
}

/// RFC 3339 with milliseconds in UTC, as Security Hub writes its timestamps.
fn timestamp(time: SystemTime) -> String {
    let seconds = iso8601(time);
    let millis = time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.subsec_millis());
    format!("{}.{millis:03}Z", seconds.trim_end_matches('Z'))
}

/// `length` hex characters derived from `text`.
fn short_hash(text: &str, length: usize) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect::<String>()[..length]
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(compliance: ComplianceStatus, workflow: WorkflowStatus) -> Finding {
        let key = FindingKey {
            account: "123456789012".to_owned(),
            region: "us-east-1".to_owned(),
            control_number: 9,
            resource_arn: "arn:aws:sagemaker:us-east-1:123456789012:data-quality-job-definition/a"
                .to_owned(),
        };
        let control = ControlInfo::find("SageMaker.9").expect("known");
        let mut finding = Finding::new(&key, control, compliance, "2026-01-01T00:00:00.000Z");
        finding.workflow = workflow;
        finding
    }

    #[test]
    fn workflow_follows_the_documented_rules() {
        use ComplianceStatus::{Failed, NotAvailable, Passed};
        use RecordState::{Active, Archived};
        use WorkflowStatus::{New, Notified, Resolved, Suppressed};
        let cases = [
            // (before, workflow, after, record after, expected)
            (Failed, New, Passed, Active, Resolved),
            (Failed, Notified, Passed, Active, Resolved),
            (Passed, Resolved, Failed, Active, New),
            (Passed, Notified, Failed, Active, New),
            (Failed, Notified, Failed, Active, Notified),
            (Failed, Suppressed, Passed, Active, Suppressed),
            (Passed, Suppressed, Failed, Active, Suppressed),
            (Passed, Resolved, NotAvailable, Archived, New),
            (Failed, Notified, NotAvailable, Archived, Notified),
        ];
        for (before, workflow, after, record, expected) in cases {
            let mut finding = finding(before, workflow);
            finding.transition(after, record);
            assert_eq!(
                finding.workflow, expected,
                "{before:?} {workflow:?} → {after:?}"
            );
        }
        let mut archived = finding(ComplianceStatus::Failed, WorkflowStatus::Resolved);
        archived.record_state = RecordState::Archived;
        archived.transition(ComplianceStatus::Failed, RecordState::Active);
        assert_eq!(archived.workflow, WorkflowStatus::New, "back from ARCHIVED");
    }

    #[test]
    fn string_filters_join_positives_by_or_and_negatives_by_and() {
        let finding = json!({"Title": "alpha beta"});
        let filter = |conditions: Vec<(Comparison, &str)>| FieldFilter {
            pointer: "/Title",
            conditions: conditions
                .into_iter()
                .map(|(comparison, value)| (comparison, value.to_owned()))
                .collect(),
        };
        use Comparison::*;
        assert!(filter(vec![(Equals, "x"), (Prefix, "alpha")]).matches(&finding));
        assert!(!filter(vec![(Equals, "x"), (Prefix, "beta")]).matches(&finding));
        assert!(!filter(vec![(NotEquals, "x"), (PrefixNotEquals, "alp")]).matches(&finding));
        assert!(filter(vec![(Prefix, "al"), (NotEquals, "alpha")]).matches(&finding));
        assert!(!filter(vec![(Prefix, "al"), (NotEquals, "alpha beta")]).matches(&finding));
        assert!(filter(vec![(Contains, "zeta"), (Contains, "beta")]).matches(&finding));
        assert!(!filter(vec![(Equals, "alpha beta")]).matches(&json!({})));
        assert!(filter(vec![(NotEquals, "alpha beta")]).matches(&json!({})));
        let mixed = vec![(Equals, "a".to_owned()), (NotEquals, "b".to_owned())];
        assert!(check_combination("Title", &mixed).is_err());
        let mixed = vec![(Contains, "a".to_owned()), (Prefix, "b".to_owned())];
        assert!(check_combination("Title", &mixed).is_err());
        let fine = vec![(Prefix, "a".to_owned()), (PrefixNotEquals, "ab".to_owned())];
        assert!(check_combination("Title", &fine).is_ok());
    }

    #[test]
    fn timestamps_are_rfc3339_with_milliseconds() {
        let time = UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_123);
        assert_eq!(timestamp(time), "2023-11-14T22:13:20.123Z");
    }

    #[test]
    fn severity_labels_and_scores_map_both_ways() {
        let parse = |body: Value| parse_severity(Members(body.as_object().expect("object")));
        assert_eq!(
            parse(json!({"Normalized": 75})).expect("valid"),
            Some(("HIGH".to_owned(), 75))
        );
        assert_eq!(
            parse(json!({"Label": "LOW"})).expect("valid"),
            Some(("LOW".to_owned(), 1))
        );
        assert!(parse(json!({"Label": "SEVERE"})).is_err());
    }
}
