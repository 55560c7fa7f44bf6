//! The plan file: a reviewable, secret-free JSON document that `apply PLAN_FILE` applies exactly,
//! or refuses. Its format is documented in docs/plan-format.md.

use super::{Action, Plan, PlanItem, SchedulePlanItem, Summary};
use crate::compliance::Evaluation;
use crate::inventory::{Problem, ScheduleRef};
use crate::kinds::{Fixes, Kind};
use crate::redact::redact;
use crate::request;
use crate::resource::ResourceKind;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Bumped on any change a reader of an older version would misread. 2: the fixes (`fixes`, per
/// item and in all), schedules updated in place (`monitoring-schedule` items, action `update`).
pub const FORMAT_VERSION: u32 = 2;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanDocument {
    pub format_version: u32,
    pub tool_version: String,
    pub account_id: String,
    pub regions: Vec<String>,
    pub evaluation: Evaluation,
    /// Every flag the plan makes true.
    pub fixes: Fixes,
    pub summary: Summary,
    pub items: Vec<DocumentItem>,
    #[serde(default)]
    pub problems: Vec<DocumentProblem>,
    /// SHA-256 of the document with this field empty: an edited file is refused.
    #[serde(default)]
    pub checksum: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentItem {
    pub region: String,
    /// A definition's kind, or `monitoring-schedule`.
    pub kind: ResourceKind,
    pub control: String,
    pub name: String,
    pub arn: String,
    pub action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub rule: String,
    pub explanation: String,
    /// The flags the change makes true.
    pub fixes: Fixes,
    /// Every control that fails now, whatever the fixes.
    pub failing_controls: Vec<String>,
    /// The image the job runs, named when the change turns network isolation on (it loses all
    /// network access).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolates_image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temporary_name: Option<String>,
    #[serde(default)]
    pub schedules: Vec<ScheduleRef>,
    #[serde(default)]
    pub dropped_tags: Vec<String>,
    /// SHA-256 of the exact describe JSON and tags the plan was made from (for a schedule, of
    /// its name, configuration and tags: `request::schedule_hash`).
    pub snapshot_sha256: String,
    /// The definition as it is and as it will be, `Environment` values redacted.
    pub before: Value,
    pub after: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentProblem {
    pub region: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub message: String,
    #[serde(default)]
    pub incomplete: bool,
}

impl From<&Problem> for DocumentProblem {
    fn from(problem: &Problem) -> DocumentProblem {
        DocumentProblem {
            region: problem.region.clone(),
            kind: problem.kind,
            name: problem.name.clone(),
            message: problem.message.clone(),
            incomplete: problem.incomplete,
        }
    }
}

impl PlanDocument {
    pub fn from_plan(plan: &Plan, account_id: &str) -> PlanDocument {
        let items = plan
            .items
            .iter()
            .map(definition_item)
            .chain(plan.schedules.iter().map(schedule_item))
            .collect();
        let mut document = PlanDocument {
            format_version: FORMAT_VERSION,
            tool_version: env!("CARGO_PKG_VERSION").to_owned(),
            account_id: account_id.to_owned(),
            regions: plan.regions.clone(),
            evaluation: plan.evaluation,
            fixes: plan.fixes,
            summary: plan.summary(),
            items,
            problems: plan.problems.iter().map(DocumentProblem::from).collect(),
            checksum: String::new(),
        };
        document.checksum = document.compute_checksum();
        document
    }

    /// A definition's kind, for items that are definitions.
    pub fn definition_kind(item: &DocumentItem) -> Option<Kind> {
        match item.kind {
            ResourceKind::Definition(kind) => Some(kind),
            _ => None,
        }
    }

    pub fn compute_checksum(&self) -> String {
        let mut unsigned = self.clone();
        unsigned.checksum = String::new();
        let bytes = serde_json::to_vec(&unsigned).expect("a plan document serializes");
        request::sha256_hex(&bytes)
    }

    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("a plan document serializes")
    }
}

fn definition_item(item: &PlanItem) -> DocumentItem {
    DocumentItem {
        region: item.definition.region.clone(),
        kind: ResourceKind::Definition(item.definition.kind),
        control: item.verdict.control.to_owned(),
        name: item.definition.name.clone(),
        arn: item.definition.arn.clone(),
        action: item.action,
        reason: item.reason.clone(),
        rule: item.verdict.rule.clone(),
        explanation: item.verdict.explanation.clone(),
        fixes: item.verdict.fixes,
        failing_controls: failing(&item.verdict),
        isolates_image: isolated_image(&item.verdict, item.action, item.image_uri()),
        temporary_name: item.temporary_name.clone(),
        schedules: item.definition.schedules.clone(),
        dropped_tags: item.dropped_tags.iter().map(|t| t.key.clone()).collect(),
        snapshot_sha256: item.snapshot_sha256.clone(),
        before: redact(&item.before_view()),
        after: redact(&item.after_view()),
    }
}

fn schedule_item(item: &SchedulePlanItem) -> DocumentItem {
    DocumentItem {
        region: item.schedule.region.clone(),
        kind: ResourceKind::MonitoringSchedule,
        control: item.verdict.control.to_owned(),
        name: item.schedule.name.clone(),
        arn: item.schedule.arn.clone(),
        action: item.action,
        reason: item.reason.clone(),
        rule: item.verdict.rule.clone(),
        explanation: item.verdict.explanation.clone(),
        fixes: item.verdict.fixes,
        failing_controls: failing(&item.verdict),
        isolates_image: isolated_image(&item.verdict, item.action, item.image_uri()),
        temporary_name: None,
        schedules: Vec::new(),
        dropped_tags: Vec::new(),
        snapshot_sha256: item.snapshot_sha256.clone(),
        before: redact(&item.before_view()),
        after: redact(&item.after_view()),
    }
}

fn failing(verdict: &crate::compliance::Verdict) -> Vec<String> {
    verdict
        .failing_controls
        .iter()
        .map(|c| (*c).to_owned())
        .collect()
}

fn isolated_image(
    verdict: &crate::compliance::Verdict,
    action: Action,
    image: Option<&str>,
) -> Option<String> {
    (matches!(action, Action::Recreate | Action::Update) && super::isolates(verdict))
        .then(|| image.unwrap_or("(no image named)").to_owned())
}
