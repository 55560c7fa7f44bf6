//! The plan file: a reviewable, secret-free JSON document that `apply PLAN_FILE` applies exactly,
//! or refuses. Its format is documented in docs/plan-format.md.

use super::notebook::{NotebookPlanItem, Rebuild};
use super::{Action, Plan, PlanItem, SchedulePlanItem, Summary};
use crate::compliance::Evaluation;
use crate::inventory::{Problem, ScheduleRef};
use crate::kinds::{Fixes, Kind};
use crate::redact::redact;
use crate::request;
use crate::resource::{ResourceId, ResourceKind};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;
use std::io::{self, Write};

/// Bumped on any change a reader of an older version would misread. 2: the fixes (`fixes`, per
/// item and in all), schedules updated in place (`monitoring-schedule` items, action `update`).
/// 3: several accounts (`accounts`, `unreachable_accounts`, an `account_id` per item and per
/// problem; no top-level `account_id`). 4: notebook instances (`notebook-instance` items, with
/// `status`, `note` and `rebuild`; `summary.notebook_update`).
pub const FORMAT_VERSION: u32 = 4;

/// `Items` is the items as read back (`Vec<DocumentItem>`), or, as a plan is written,
/// [`ItemsOf`] the plans: each item made as it is serialized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanDocument<Items = Vec<DocumentItem>> {
    pub format_version: u32,
    pub tool_version: String,
    /// Every account the plan covers (reached and read), in the order they were named.
    pub accounts: Vec<String>,
    /// Accounts that were asked for but could not be reached, with AWS's message: the plan
    /// does not cover them.
    #[serde(default)]
    pub unreachable_accounts: Vec<crate::accounts::Unreachable>,
    pub regions: Vec<String>,
    pub evaluation: Evaluation,
    /// Every flag the plan makes true.
    pub fixes: Fixes,
    pub summary: Summary,
    pub items: Items,
    #[serde(default)]
    pub problems: Vec<DocumentProblem>,
    /// Findings the selection named whose resource is gone or passes now: reported, not
    /// planned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped_findings: Vec<crate::securityhub::SkippedFinding>,
    /// SHA-256 of the document with this field empty: an edited file is refused.
    #[serde(default)]
    pub checksum: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentItem {
    pub account_id: String,
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
    /// A notebook's `NotebookInstanceStatus` when planned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// A notebook update's consequence: "will be restarted (open sessions end)", or a wait.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// A notebook failing SageMaker.1, .2 or .21: the command for a compliant replacement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rebuild: Option<Rebuild>,
}

impl DocumentItem {
    /// Who the item is.
    pub fn resource(&self) -> ResourceId {
        ResourceId {
            account_id: self.account_id.clone(),
            region: self.region.clone(),
            kind: self.kind,
            name: self.name.clone(),
        }
    }

    /// A notebook update that stops and starts a running notebook: it needs consent.
    pub fn restarts(&self) -> bool {
        self.kind == ResourceKind::NotebookInstance
            && self.action == Action::Update
            && self
                .status
                .as_deref()
                .is_some_and(super::notebook::status_runs)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentProblem {
    pub account_id: String,
    pub region: String,
    /// A definition's kind, or `notebook-instance`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ResourceKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub message: String,
    #[serde(default)]
    pub incomplete: bool,
}

impl DocumentProblem {
    fn of(account_id: &str, problem: &Problem) -> DocumentProblem {
        DocumentProblem {
            account_id: account_id.to_owned(),
            region: problem.region.clone(),
            kind: problem.kind,
            name: problem.name.clone(),
            message: problem.message.clone(),
            incomplete: problem.incomplete,
        }
    }
}

/// Every account's plan items as document items, each made as it is serialized and dropped
/// after: writing a plan of thousands of definitions never holds every item's redacted before
/// and after views at once.
#[derive(Debug, Clone, Copy)]
pub struct ItemsOf<'a> {
    plans: &'a [(&'a str, &'a Plan)],
}

impl Serialize for ItemsOf<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let count = self
            .plans
            .iter()
            .map(|(_, plan)| plan.items.len() + plan.schedules.len() + plan.notebooks.len())
            .sum();
        let mut items = serializer.serialize_seq(Some(count))?;
        for (account_id, plan) in self.plans {
            for item in &plan.items {
                items.serialize_element(&definition_item(account_id, item))?;
            }
            for item in &plan.schedules {
                items.serialize_element(&schedule_item(account_id, item))?;
            }
            for item in &plan.notebooks {
                items.serialize_element(&notebook_item(account_id, item))?;
            }
        }
        items.end()
    }
}

impl<'a> PlanDocument<ItemsOf<'a>> {
    /// One document for every account's plan, to write: its items are made as it is
    /// serialized (see [`ItemsOf`]). `plans` share the evaluation, regions and fixes (they are
    /// one selection's).
    pub fn of_plans(
        plans: &'a [(&'a str, &'a Plan)],
        unreachable: &[crate::accounts::Unreachable],
        evaluation: Evaluation,
        regions: &[String],
        fixes: Fixes,
    ) -> PlanDocument<ItemsOf<'a>> {
        let mut problems = Vec::new();
        let mut summary = Summary::default();
        for (account_id, plan) in plans {
            problems.extend(
                plan.problems
                    .iter()
                    .map(|p| DocumentProblem::of(account_id, p)),
            );
            summary.add(plan.summary());
        }
        let mut document = PlanDocument {
            format_version: FORMAT_VERSION,
            tool_version: env!("CARGO_PKG_VERSION").to_owned(),
            accounts: plans.iter().map(|(id, _)| (*id).to_owned()).collect(),
            unreachable_accounts: unreachable.to_vec(),
            regions: regions.to_vec(),
            evaluation,
            fixes,
            summary,
            items: ItemsOf { plans },
            problems,
            skipped_findings: Vec::new(),
            checksum: String::new(),
        };
        document.checksum = request::json_sha256_hex(&document);
        document
    }

    /// The document with the findings its selection skipped, checksummed again.
    pub fn with_skipped_findings(
        mut self,
        skipped: &[crate::securityhub::SkippedFinding],
    ) -> PlanDocument<ItemsOf<'a>> {
        self.skipped_findings = skipped.to_vec();
        self.checksum = String::new();
        self.checksum = request::json_sha256_hex(&self);
        self
    }
}

impl PlanDocument {
    /// One document for every account's plan, every item in memory (a plan file as read back).
    pub fn from_plans(
        plans: &[(&str, &Plan)],
        unreachable: &[crate::accounts::Unreachable],
        evaluation: Evaluation,
        regions: &[String],
        fixes: Fixes,
    ) -> PlanDocument {
        let written = PlanDocument::of_plans(plans, unreachable, evaluation, regions, fixes);
        let items = plans
            .iter()
            .flat_map(|(account_id, plan)| {
                let definitions = plan.items.iter().map(|i| definition_item(account_id, i));
                let schedules = plan.schedules.iter().map(|i| schedule_item(account_id, i));
                let notebooks = plan.notebooks.iter().map(|i| notebook_item(account_id, i));
                definitions.chain(schedules).chain(notebooks)
            })
            .collect();
        written.with_items(items)
    }

    /// A definition's kind, for items that are definitions.
    pub fn definition_kind(item: &DocumentItem) -> Option<Kind> {
        match item.kind {
            ResourceKind::Definition(kind) => Some(kind),
            _ => None,
        }
    }

    /// SHA-256 of the document with `checksum` empty, as its writer computed it; the items are
    /// borrowed, not copied.
    pub fn compute_checksum(&self) -> String {
        let unsigned = PlanDocument {
            checksum: String::new(),
            ..self.clone_with_items(&self.items)
        };
        request::json_sha256_hex(&unsigned)
    }

    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("a plan document serializes")
    }
}

impl<Items: Serialize> PlanDocument<Items> {
    /// Writes the document as pretty JSON and a line end, as the plan file holds it.
    pub fn write_pretty(&self, writer: impl Write) -> io::Result<()> {
        let mut writer = io::BufWriter::new(writer);
        serde_json::to_writer_pretty(&mut writer, self)?;
        writer.write_all(b"\n")?;
        writer.flush()
    }

    /// The same document with other items (every other field copied).
    fn clone_with_items<Other>(&self, items: Other) -> PlanDocument<Other> {
        PlanDocument {
            format_version: self.format_version,
            tool_version: self.tool_version.clone(),
            accounts: self.accounts.clone(),
            unreachable_accounts: self.unreachable_accounts.clone(),
            regions: self.regions.clone(),
            evaluation: self.evaluation,
            fixes: self.fixes,
            summary: self.summary,
            items,
            problems: self.problems.clone(),
            skipped_findings: self.skipped_findings.clone(),
            checksum: self.checksum.clone(),
        }
    }

    /// This document with `items` in place of its own.
    fn with_items<Other>(self, items: Other) -> PlanDocument<Other> {
        PlanDocument {
            format_version: self.format_version,
            tool_version: self.tool_version,
            accounts: self.accounts,
            unreachable_accounts: self.unreachable_accounts,
            regions: self.regions,
            evaluation: self.evaluation,
            fixes: self.fixes,
            summary: self.summary,
            items,
            problems: self.problems,
            skipped_findings: self.skipped_findings,
            checksum: self.checksum,
        }
    }
}

fn definition_item(account_id: &str, item: &PlanItem) -> DocumentItem {
    DocumentItem {
        account_id: account_id.to_owned(),
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
        status: None,
        note: None,
        rebuild: None,
    }
}

fn schedule_item(account_id: &str, item: &SchedulePlanItem) -> DocumentItem {
    DocumentItem {
        account_id: account_id.to_owned(),
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
        status: None,
        note: None,
        rebuild: None,
    }
}

/// A notebook's item: its control is SageMaker.3, the one fixed in place; the others it fails
/// are in `failing_controls`, with the rebuild that fixes them.
fn notebook_item(account_id: &str, item: &NotebookPlanItem) -> DocumentItem {
    let rule = if item.verdict.judged.is_empty() {
        String::new()
    } else {
        item.verdict
            .judged
            .iter()
            .filter_map(|id| crate::kinds::NotebookControlInfo::find(id))
            .map(|c| c.config_rule)
            .collect::<Vec<_>>()
            .join(", ")
    };
    DocumentItem {
        account_id: account_id.to_owned(),
        region: item.notebook.region.clone(),
        kind: ResourceKind::NotebookInstance,
        control: "SageMaker.3".to_owned(),
        name: item.notebook.name.clone(),
        arn: item.notebook.arn.clone(),
        action: item.action,
        reason: item.reason.clone(),
        rule,
        explanation: item.verdict.explanation.clone(),
        fixes: Fixes::NONE,
        failing_controls: item
            .verdict
            .failing_controls
            .iter()
            .map(|c| (*c).to_owned())
            .collect(),
        isolates_image: None,
        temporary_name: None,
        schedules: Vec::new(),
        dropped_tags: Vec::new(),
        snapshot_sha256: item.snapshot_sha256.clone(),
        before: redact(&item.before_view()),
        after: redact(&item.after_view()),
        status: Some(item.status.clone()),
        note: item.note.clone(),
        rebuild: item.rebuild.clone(),
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
