//! The planner: pure functions from an inventory to a plan. No I/O, so every decision is
//! unit-testable without AWS.

pub mod document;
pub mod notebook;
pub mod selection;

use crate::compliance::{self, Evaluation, JobView, Verdict};
use crate::inventory::{Definition, InlineSchedule, Inventory, Problem};
use crate::kinds::{Fix, Subject, same_name};
use crate::request;
use crate::sagemaker::Tag;
use notebook::{NotebookPlanItem, RebuildOptions};
use selection::{FixScope, NotebookScope};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeSet;

/// What the plan does with one definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Recreate,
    /// A schedule's inline job definition, changed in place.
    Update,
    Compliant,
    Skip,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Recreate => "recreate",
            Action::Update => "update",
            Action::Compliant => "compliant",
            Action::Skip => "skip",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    pub evaluation: Evaluation,
    pub include_managed: bool,
    /// What is covered, and the flags made true on it.
    pub scope: FixScope,
    /// The notebook controls judged; `None` when notebooks are not selected.
    pub notebooks: Option<NotebookScope>,
    /// What a notebook rebuild takes from flags.
    pub rebuild: RebuildOptions,
}

/// One definition's entry in the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanItem {
    pub definition: Definition,
    pub verdict: Verdict,
    pub action: Action,
    /// Why a definition is skipped.
    pub reason: Option<String>,
    /// The CloudFormation stack that owns the definition, if any.
    pub stack: Option<String>,
    /// For `Recreate`: the free name the staged recreate will use for the compliant copy.
    pub temporary_name: Option<String>,
    /// `aws:` tags AWS will not let the tool set again.
    pub dropped_tags: Vec<Tag>,
    pub snapshot_sha256: String,
}

impl PlanItem {
    /// For `Recreate`: the exact `Create<Noun>` request for the original name. Made when asked,
    /// not kept: it is a pure function of the definition, its tags and the fixes (the executor
    /// makes it again from its snapshot), and a copy per item doubled a plan's memory.
    pub fn create_request(&self) -> Option<Value> {
        let tags = self.definition.tags.as_deref()?;
        (self.action == Action::Recreate)
            .then(|| request::create_request(&self.definition.raw, tags, self.verdict.fixes).0)
    }

    /// The definition as it is, in describe shape, with its tags as a `Tags` member (none when
    /// they were not read: a compliant definition's).
    pub fn before_view(&self) -> Value {
        with_tags(&self.definition.raw, self.definition.tags.as_deref())
    }

    /// The definition as it will be: the same, the fixed flags on, reserved tags gone.
    pub fn after_view(&self) -> Value {
        match self.action {
            Action::Recreate | Action::Update => {
                // A change is planned only with the tags read (`plan_definition`).
                let kept: Vec<Tag> = self
                    .definition
                    .tags
                    .iter()
                    .flatten()
                    .filter(|t| !request::is_reserved_tag(t))
                    .cloned()
                    .collect();
                with_tags(
                    &request::with_fixes(&self.definition.raw, self.verdict.fixes),
                    Some(&kept),
                )
            }
            Action::Compliant | Action::Skip => self.before_view(),
        }
    }

    /// The container image the job runs, which network isolation cuts off.
    pub fn image_uri(&self) -> Option<&str> {
        let spec = format!(
            "{}AppSpecification",
            self.definition.kind.info().member_prefix
        );
        self.definition.raw.get(spec)?.get("ImageUri")?.as_str()
    }
}

/// One schedule with an inline job definition: fixed in place, never recreated.
#[derive(Debug, Clone, PartialEq)]
pub struct SchedulePlanItem {
    pub schedule: InlineSchedule,
    pub verdict: Verdict,
    /// `Update`, `Compliant` or `Skip`.
    pub action: Action,
    pub reason: Option<String>,
    pub stack: Option<String>,
    /// `request::schedule_hash` of what the plan saw.
    pub snapshot_sha256: String,
}

impl SchedulePlanItem {
    /// The schedule's configuration as it is, with its tags (when read).
    pub fn before_view(&self) -> Value {
        schedule_view(&self.schedule.raw, self.schedule.tags.as_deref())
    }

    /// The configuration as the update sends it.
    pub fn after_view(&self) -> Value {
        match self.action {
            Action::Update => {
                let request =
                    request::schedule_update_request(&self.schedule.raw, self.verdict.fixes)
                        .unwrap_or_default();
                let mut fixed = self.schedule.raw.clone();
                fixed["MonitoringScheduleConfig"] = request["MonitoringScheduleConfig"].clone();
                schedule_view(&fixed, self.schedule.tags.as_deref())
            }
            _ => self.before_view(),
        }
    }

    pub fn image_uri(&self) -> Option<&str> {
        self.schedule
            .raw
            .pointer("/MonitoringScheduleConfig/MonitoringJobDefinition/MonitoringAppSpecification/ImageUri")?
            .as_str()
    }
}

/// What a person reviews of a schedule: its name, configuration and tags (not its status or
/// last execution, which the fix does not change).
fn schedule_view(describe: &Value, tags: Option<&[Tag]>) -> Value {
    let view = serde_json::json!({
        "MonitoringScheduleName": describe.get("MonitoringScheduleName"),
        "MonitoringScheduleConfig": describe.get("MonitoringScheduleConfig"),
    });
    with_tags(&view, tags)
}

/// `describe` with `tags` as a `Tags` member; without one when the tags were not read.
fn with_tags(describe: &Value, tags: Option<&[Tag]>) -> Value {
    let mut view = describe.clone();
    if let (Value::Object(members), Some(tags)) = (&mut view, tags) {
        members.insert(
            "Tags".to_owned(),
            serde_json::to_value(tags).expect("tags serialize"),
        );
    }
    view
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub recreate: usize,
    /// Schedules whose inline job definition is changed in place.
    #[serde(default)]
    pub update: usize,
    /// Notebook instances whose root access is turned off in place.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub notebook_update: usize,
    pub compliant: usize,
    pub skip: usize,
}

impl Summary {
    /// Adds another account's counts.
    pub fn add(&mut self, other: Summary) {
        self.recreate += other.recreate;
        self.update += other.update;
        self.notebook_update += other.notebook_update;
        self.compliant += other.compliant;
        self.skip += other.skip;
    }
}

fn is_zero(count: &usize) -> bool {
    *count == 0
}

impl Summary {
    /// Anything `apply` would change.
    pub fn changes(&self) -> usize {
        self.recreate + self.update + self.notebook_update
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} to recreate, ", self.recreate)?;
        if self.update > 0 {
            write!(f, "{} schedule(s) to update in place, ", self.update)?;
        }
        if self.notebook_update > 0 {
            write!(
                f,
                "{} notebook(s) to update in place, ",
                self.notebook_update
            )?;
        }
        write!(f, "{} compliant, {} skipped", self.compliant, self.skip)
    }
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub evaluation: Evaluation,
    pub regions: Vec<String>,
    pub items: Vec<PlanItem>,
    pub schedules: Vec<SchedulePlanItem>,
    /// Notebook instances, when selected.
    pub notebooks: Vec<NotebookPlanItem>,
    /// Every flag the plan makes true anywhere.
    pub fixes: crate::kinds::Fixes,
    /// What the inventory could not read.
    pub problems: Vec<Problem>,
}

impl Plan {
    pub fn summary(&self) -> Summary {
        let mut summary = Summary::default();
        let actions = self
            .items
            .iter()
            .map(|i| i.action)
            .chain(self.schedules.iter().map(|s| s.action));
        for action in actions {
            match action {
                Action::Recreate => summary.recreate += 1,
                Action::Update => summary.update += 1,
                Action::Compliant => summary.compliant += 1,
                Action::Skip => summary.skip += 1,
            }
        }
        for item in &self.notebooks {
            match item.action {
                Action::Update => summary.notebook_update += 1,
                Action::Compliant => summary.compliant += 1,
                Action::Skip | Action::Recreate => summary.skip += 1,
            }
        }
        summary
    }

    pub fn to_recreate(&self) -> impl Iterator<Item = &PlanItem> {
        self.items.iter().filter(|i| i.action == Action::Recreate)
    }

    pub fn to_update(&self) -> impl Iterator<Item = &SchedulePlanItem> {
        self.schedules.iter().filter(|s| s.action == Action::Update)
    }

    /// Notebooks whose root access is turned off in place.
    pub fn notebooks_to_update(&self) -> impl Iterator<Item = &NotebookPlanItem> {
        self.notebooks.iter().filter(|n| n.action == Action::Update)
    }

    /// Definitions and schedules whose change turns network isolation on: their jobs lose all
    /// network access, so they are named with their images in every rendering.
    pub fn isolating(&self) -> Vec<(String, Option<&str>)> {
        let definitions = self
            .to_recreate()
            .filter(|i| isolates(&i.verdict))
            .map(|i| {
                (
                    format!(
                        "{} {} ({})",
                        i.definition.kind, i.definition.name, i.definition.region
                    ),
                    i.image_uri(),
                )
            });
        let schedules = self.to_update().filter(|s| isolates(&s.verdict)).map(|s| {
            (
                format!(
                    "monitoring-schedule {} ({})",
                    s.schedule.name, s.schedule.region
                ),
                s.image_uri(),
            )
        });
        definitions.chain(schedules).collect()
    }
}

/// Does the change turn isolation on (it is asked for, and not on already)?
pub fn isolates(verdict: &Verdict) -> bool {
    verdict.fixes.contains(Fix::Isolation) && verdict.isolation_flag != Some(true)
}

const STACK_NAME_TAG: &str = "aws:cloudformation:stack-name";

/// The stack that owns a definition: any `aws:cloudformation:*` tag marks it as managed. `None`
/// too when the tags were not read (only a compliant definition's, which nothing acts on).
pub fn managing_stack(tags: Option<&[Tag]>) -> Option<String> {
    let tags = tags?;
    if let Some(tag) = tags.iter().find(|t| t.key == STACK_NAME_TAG) {
        return Some(tag.value.clone());
    }
    tags.iter()
        .find(|t| t.key.starts_with("aws:cloudformation:"))
        .map(|t| t.value.clone())
}

/// Plans every definition in the inventory. Each item takes its definition (or schedule) from
/// the inventory rather than a copy of it.
pub fn build(inventory: Inventory, options: &PlanOptions, regions: &[String]) -> Plan {
    let Inventory {
        definitions,
        schedules,
        notebooks,
        problems,
        existing_names,
        existing_notebooks,
    } = inventory;
    let items = definitions
        .into_iter()
        .filter_map(|definition| plan_one(definition, options, &existing_names))
        .collect();
    let schedules = schedules
        .into_iter()
        .filter_map(|schedule| plan_schedule(schedule, options))
        .collect();
    let notebooks = match &options.notebooks {
        Some(judged) => notebooks
            .into_iter()
            .map(|notebook| {
                notebook::plan_notebook(
                    notebook,
                    judged,
                    options.include_managed,
                    &options.rebuild,
                    &existing_notebooks,
                )
            })
            .collect(),
        None => Vec::new(),
    };
    Plan {
        evaluation: options.evaluation,
        regions: regions.to_vec(),
        items,
        schedules,
        notebooks,
        fixes: options.scope.all_fixes(),
        problems,
    }
}

/// A schedule's plan: update in place when the run's fixes fail on its inline definition.
fn plan_schedule(schedule: InlineSchedule, options: &PlanOptions) -> Option<SchedulePlanItem> {
    let fixes = options.scope.fixes(Subject::InlineSchedule)?;
    let job = JobView::of_inline_schedule(&schedule.raw)?;
    let verdict = compliance::evaluate(Subject::InlineSchedule, &job, options.evaluation, fixes);
    let stack = managing_stack(schedule.tags.as_deref());
    let snapshot_sha256 = request::schedule_hash(&schedule.raw, tags_or_none(&schedule.tags));
    let tags_read = schedule.tags.is_some();
    let mut item = SchedulePlanItem {
        schedule,
        verdict,
        action: Action::Compliant,
        reason: None,
        stack: stack.clone(),
        snapshot_sha256,
    };
    if item.verdict.compliant {
        return Some(item);
    }
    if !tags_read {
        item.action = Action::Skip;
        item.reason = Some(TAGS_NOT_READ.to_owned());
        return Some(item);
    }
    if let Some(stack) = stack
        && !options.include_managed
    {
        item.action = Action::Skip;
        item.reason = Some(format!(
            "managed by CloudFormation stack `{stack}`: set {} in its template's inline \
             NetworkConfig and update the stack (or pass --include-managed)",
            names_of(fixes)
        ));
        return Some(item);
    }
    item.action = Action::Update;
    Some(item)
}

/// `EnableInterContainerTrafficEncryption and EnableNetworkIsolation`.
fn names_of(fixes: crate::kinds::Fixes) -> String {
    fixes
        .iter()
        .map(Fix::member)
        .collect::<Vec<_>>()
        .join(" and ")
}

/// Why a failing definition whose tags the inventory did not list is not changed. The inventory
/// lists the tags of everything the run's selection fails, so this means the inventory was read
/// for another selection or evaluation than the plan's: a change without the tags would lose
/// them, and the CloudFormation check would not be made.
const TAGS_NOT_READ: &str =
    "its tags were not read, so it cannot be recreated faithfully (scan and plan again)";

/// The tags to hash: none when they were not read. Only a compliant item's hash lacks its tags,
/// and nothing applies a compliant item.
fn tags_or_none(tags: &Option<Vec<Tag>>) -> &[Tag] {
    tags.as_deref().unwrap_or_default()
}

fn plan_one(
    definition: Definition,
    options: &PlanOptions,
    taken: &BTreeSet<crate::inventory::DefinitionId>,
) -> Option<PlanItem> {
    let fixes = options.scope.fixes(Subject::Definition(definition.kind))?;
    Some(plan_definition(definition, options, fixes, taken))
}

fn plan_definition(
    definition: Definition,
    options: &PlanOptions,
    fixes: crate::kinds::Fixes,
    taken: &BTreeSet<crate::inventory::DefinitionId>,
) -> PlanItem {
    let verdict = compliance::evaluate_definition(
        definition.kind,
        &definition.raw,
        options.evaluation,
        fixes,
    );
    let stack = managing_stack(definition.tags.as_deref());
    // Of a definition kept as its essentials, the hash of the whole describe it was read as.
    let snapshot_sha256 = definition
        .whole_sha256
        .clone()
        .unwrap_or_else(|| request::snapshot_hash(&definition.raw, tags_or_none(&definition.tags)));
    let mut item = PlanItem {
        definition,
        verdict,
        action: Action::Compliant,
        reason: None,
        stack: stack.clone(),
        temporary_name: None,
        dropped_tags: Vec::new(),
        snapshot_sha256,
    };
    if item.verdict.compliant {
        return item;
    }
    match change(&item.definition, stack, options, fixes, taken) {
        Ok((temporary, dropped)) => {
            item.action = Action::Recreate;
            item.dropped_tags = dropped;
            item.temporary_name = Some(temporary);
        }
        Err(reason) => {
            item.action = Action::Skip;
            item.reason = Some(reason);
        }
    }
    item
}

/// A failing definition's change: its temporary name and the `aws:` tags the create request
/// drops; or why it is skipped.
fn change(
    definition: &Definition,
    stack: Option<String>,
    options: &PlanOptions,
    fixes: crate::kinds::Fixes,
    taken: &BTreeSet<crate::inventory::DefinitionId>,
) -> Result<(String, Vec<Tag>), String> {
    let Some(tags) = &definition.tags else {
        return Err(TAGS_NOT_READ.to_owned());
    };
    if let Some(stack) = stack
        && !options.include_managed
    {
        return Err(format!(
            "managed by CloudFormation stack `{stack}`: set {} in its template and update the \
             stack (or pass --include-managed)",
            names_of(fixes)
        ));
    }
    // Deliberately exact, not `same_name`: the create request carries the describe's spelling,
    // so a describe that spells the name otherwise than the listing would rename the definition.
    if definition
        .raw
        .get("JobDefinitionName")
        .and_then(Value::as_str)
        != Some(&definition.name)
    {
        return Err("the describe response does not name this definition".to_owned());
    }
    let temporary = request::temporary_name(&definition.name);
    let claimed = taken.iter().any(|(region, kind, name)| {
        region == &definition.region && *kind == definition.kind && same_name(name, &temporary)
    });
    if claimed {
        return Err(format!(
            "its temporary copy {temporary} exists: another run is recreating it, or an \
             unfinished one left it (`resume` that run; if none is running, delete {temporary})"
        ));
    }
    let (_, dropped) = request::create_request(&definition.raw, tags, fixes);
    Ok((temporary, dropped))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::ScheduleRef;
    use crate::kinds::Kind;
    use serde_json::json;

    fn definition(name: &str, flag: Option<bool>, tags: &[(&str, &str)]) -> Definition {
        let mut raw = json!({
            "JobDefinitionArn": format!("arn:aws:sagemaker:us-east-1:123456789012:data-quality-job-definition/{name}"),
            "JobDefinitionName": name,
            "CreationTime": 1_700_000_000.0,
            "JobResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 20}},
        });
        if let Some(flag) = flag {
            raw["NetworkConfig"] = json!({"EnableInterContainerTrafficEncryption": flag});
        }
        Definition {
            region: "us-east-1".into(),
            kind: Kind::DataQuality,
            name: name.into(),
            arn: raw["JobDefinitionArn"].as_str().unwrap().into(),
            raw,
            whole_sha256: None,
            tags: Some(
                tags.iter()
                    .map(|(k, v)| Tag {
                        key: (*k).into(),
                        value: (*v).into(),
                    })
                    .collect(),
            ),
            schedules: vec![ScheduleRef {
                name: "s".into(),
                status: "Scheduled".into(),
            }],
        }
    }

    fn inventory(definitions: Vec<Definition>) -> Inventory {
        let existing_names = definitions
            .iter()
            .map(|d| (d.region.clone(), d.kind, d.name.clone()))
            .collect();
        Inventory {
            definitions,
            existing_names,
            ..Inventory::default()
        }
    }

    #[test]
    fn each_definition_gets_the_right_action() {
        let plan = build(
            inventory(vec![
                definition("ok", Some(true), &[]),
                definition("off", Some(false), &[("team", "ml")]),
                definition("absent", None, &[]),
                definition(
                    "managed",
                    Some(false),
                    &[("aws:cloudformation:stack-name", "ml-stack")],
                ),
            ]),
            &PlanOptions::default(),
            &["us-east-1".into()],
        );
        let actions: Vec<(&str, Action)> = plan
            .items
            .iter()
            .map(|i| (i.definition.name.as_str(), i.action))
            .collect();
        assert_eq!(
            actions,
            vec![
                ("ok", Action::Compliant),
                ("off", Action::Recreate),
                ("absent", Action::Recreate),
                ("managed", Action::Skip),
            ]
        );
        assert!(
            plan.items[3]
                .reason
                .as_deref()
                .unwrap()
                .contains("ml-stack")
        );
        assert_eq!(
            plan.summary(),
            Summary {
                recreate: 2,
                update: 0,
                notebook_update: 0,
                compliant: 1,
                skip: 1
            }
        );
        assert_eq!(
            plan.summary().to_string(),
            "2 to recreate, 1 compliant, 1 skipped"
        );
    }

    #[test]
    fn tags_not_read_are_shown_as_such_and_never_recreated_without() {
        let mut compliant = definition("ok", Some(true), &[]);
        compliant.tags = None;
        let mut failing = definition("off", Some(false), &[]);
        failing.tags = None;
        let plan = build(
            inventory(vec![compliant, failing]),
            &PlanOptions {
                include_managed: true,
                ..PlanOptions::default()
            },
            &[],
        );
        let [ok, off] = &plan.items[..] else {
            panic!("two items")
        };
        assert_eq!((ok.action, ok.stack.as_deref()), (Action::Compliant, None));
        // A view without the tags read has no `Tags` member, rather than claiming none.
        assert!(ok.before_view().get("Tags").is_none());
        // A failing definition read without its tags would lose them: never recreated.
        assert_eq!(off.action, Action::Skip);
        assert_eq!(off.reason.as_deref(), Some(TAGS_NOT_READ));
        assert!(off.create_request().is_none());
    }

    #[test]
    fn include_managed_recreates_and_drops_reserved_tags() {
        let plan = build(
            inventory(vec![definition(
                "managed",
                Some(false),
                &[("aws:cloudformation:stack-name", "s"), ("team", "ml")],
            )]),
            &PlanOptions {
                include_managed: true,
                ..PlanOptions::default()
            },
            &[],
        );
        let item = &plan.items[0];
        assert_eq!(item.action, Action::Recreate);
        assert_eq!(item.dropped_tags.len(), 1);
        assert_eq!(
            item.create_request().unwrap()["Tags"],
            json!([{"Key": "team", "Value": "ml"}])
        );
        assert_eq!(
            item.after_view()["Tags"],
            json!([{"Key": "team", "Value": "ml"}])
        );
        assert_eq!(
            item.after_view()["NetworkConfig"]["EnableInterContainerTrafficEncryption"],
            json!(true)
        );
        assert_eq!(
            item.before_view()["NetworkConfig"]["EnableInterContainerTrafficEncryption"],
            json!(false)
        );
    }

    #[test]
    fn a_definition_whose_copy_exists_is_left_to_the_run_that_made_it() {
        let taken = request::temporary_name("a");
        let plan = build(
            inventory(vec![
                definition("a", Some(false), &[]),
                definition(&taken, Some(true), &[]),
            ]),
            &PlanOptions::default(),
            &[],
        );
        let item = &plan.items[0];
        assert_eq!(item.action, Action::Skip);
        assert!(item.temporary_name.is_none());
        assert!(item.reason.as_deref().unwrap().contains(&taken), "{item:?}");
    }
}
