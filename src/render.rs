//! Renderings of scans and plans for people (text with coloured diffs, markdown for change
//! tickets) and scripts (JSON). `Environment` values are redacted everywhere unless asked (see
//! `redact`).

use crate::accounts::Unreachable;
use crate::compliance::{Evaluation, NotebookVerdict, Verdict};
use crate::inventory::{Definition, InlineSchedule, Notebook, Problem};
use crate::kinds::{ControlInfo, Fixes, Subject};
use crate::plan::document::PlanDocument;
use crate::plan::notebook::{NotebookPlanItem, Rebuild};
use crate::plan::{Action, Plan, PlanItem, Summary};
use crate::redact;
use crate::resource::ResourceKind;
use serde::Serialize;
use serde_json::Value;
use similar::TextDiff;
use std::fmt::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Markdown,
}

/// How to render.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
    pub show_secrets: bool,
}

struct Paint(bool);

impl Paint {
    fn wrap(&self, code: &str, text: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
    fn bold(&self, text: &str) -> String {
        self.wrap("1", text)
    }
    fn red(&self, text: &str) -> String {
        self.wrap("31", text)
    }
    fn green(&self, text: &str) -> String {
        self.wrap("32", text)
    }
    fn cyan(&self, text: &str) -> String {
        self.wrap("36", text)
    }
    fn yellow(&self, text: &str) -> String {
        self.wrap("33", text)
    }
}

/// The unified diff of the definition as it is against as it will be.
pub fn item_diff(item: &PlanItem, style: Style) -> String {
    views_diff(&item.before_view(), &item.after_view(), style)
}

fn views_diff(before: &Value, after: &Value, style: Style) -> String {
    let before = pretty(&redact::shown(before, style.show_secrets));
    let after = pretty(&redact::shown(after, style.show_secrets));
    TextDiff::from_lines(&before, &after)
        .unified_diff()
        .context_radius(3)
        .header("before", "after")
        .to_string()
}

fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("JSON serializes");
    text.push('\n');
    text
}

fn schedule_names(item: &PlanItem) -> String {
    item.definition
        .schedules
        .iter()
        .map(|s| s.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `# kind name (region) · controls · action`, the first line of an item in a text plan.
fn header(
    paint: &Paint,
    what: &str,
    name: &str,
    region: &str,
    controls: &str,
    action: &str,
) -> String {
    format!(
        "{} {what} {} ({region}) · {controls} · {}",
        paint.bold("#"),
        paint.bold(name),
        paint.yellow(action)
    )
}

/// The controls a change fixes on a subject, e.g. `SageMaker.9, SageMaker.11`.
fn fixed_controls(subject: Subject, verdict: &Verdict) -> String {
    let mut controls: Vec<_> = verdict
        .fixes
        .iter()
        .map(|fix| ControlInfo::for_fix(subject, fix))
        .collect();
    controls.sort_by_key(|c| c.number());
    controls.iter().map(|c| c.id).collect::<Vec<_>>().join(", ")
}

/// The warning every rendering gives for a change that turns network isolation on.
pub fn isolation_warning(image: Option<&str>) -> String {
    format!(
        "network isolation cuts the job's network access: its image {} must not need the \
         network (custom images that call out, and bias or explainability jobs that call a model \
         endpoint, can fail at their next run); rehearse on one first",
        image.unwrap_or("(none named)")
    )
}

fn paint_diff(paint: &Paint, out: &mut String, diff: &str) {
    for line in diff.lines() {
        let painted = if line.starts_with("+++") || line.starts_with("---") {
            paint.bold(line)
        } else if line.starts_with('+') {
            paint.green(line)
        } else if line.starts_with('-') {
            paint.red(line)
        } else if line.starts_with("@@") {
            paint.cyan(line)
        } else {
            line.to_owned()
        };
        writeln!(out, "{painted}").expect("write to String");
    }
}

/// The plans for a terminal, account by account: each account's line, then per definition to
/// recreate a header and a coloured diff, one line per skipped definition, then its summary;
/// with several accounts, the total and the accounts that could not be reached.
pub fn plan_text(plans: &[(&str, &Plan)], unreachable: &[Unreachable], style: Style) -> String {
    let paint = Paint(style.color);
    let mut out = String::new();
    let mut total = Summary::default();
    for (account_id, plan) in plans {
        out.push_str(&account_plan_text(account_id, plan, style));
        total.add(plan.summary());
    }
    for account in unreachable {
        writeln!(
            out,
            "{} account {} could not be reached and is not covered: {}",
            paint.red("error:"),
            account.account_id,
            account.message
        )
        .expect("write to String");
    }
    if plans.len() + unreachable.len() > 1 {
        writeln!(
            out,
            "\n{} {total}, in {} account(s){}.",
            paint.bold("Organization plan:"),
            plans.len(),
            if unreachable.is_empty() {
                String::new()
            } else {
                format!("; {} account(s) not reached", unreachable.len())
            }
        )
        .expect("write to String");
    }
    out
}

fn account_plan_text(account_id: &str, plan: &Plan, style: Style) -> String {
    let paint = Paint(style.color);
    let summary = plan.summary();
    let mut out = String::new();
    if summary.changes() == 0 && !plan.notebooks.iter().any(|n| n.rebuild.is_some()) {
        writeln!(
            out,
            "Nothing to recreate in account {account_id}: {} compliant, {} skipped.",
            summary.compliant, summary.skip
        )
        .expect("write to String");
        return out;
    }
    writeln!(out, "{}", paint.bold(&format!("Account {account_id}"))).expect("write to String");
    for item in &plan.items {
        let d = &item.definition;
        let subject = Subject::Definition(d.kind);
        let controls = fixed_controls(subject, &item.verdict);
        let kind = d.kind.to_string();
        match item.action {
            Action::Recreate => {
                writeln!(
                    out,
                    "{}",
                    header(&paint, &kind, &d.name, &d.region, &controls, "recreate")
                )
                .expect("write to String");
                writeln!(out, "  {}: {}", item.verdict.rule, item.verdict.explanation)
                    .expect("write to String");
                if crate::plan::isolates(&item.verdict) {
                    writeln!(
                        out,
                        "  {} {}",
                        paint.yellow("warning:"),
                        isolation_warning(item.image_uri())
                    )
                    .expect("write to String");
                }
                if !d.schedules.is_empty() {
                    writeln!(
                        out,
                        "  schedules repointed to the copy and back: {}",
                        schedule_names(item)
                    )
                    .expect("write to String");
                }
                if let Some(temp) = &item.temporary_name {
                    writeln!(out, "  temporary copy: {temp}").expect("write to String");
                }
                if !item.dropped_tags.is_empty() {
                    let keys: Vec<&str> =
                        item.dropped_tags.iter().map(|t| t.key.as_str()).collect();
                    writeln!(
                        out,
                        "  {} AWS-reserved tags cannot be set again and will be dropped: {}",
                        paint.yellow("warning:"),
                        keys.join(", ")
                    )
                    .expect("write to String");
                }
                paint_diff(&paint, &mut out, &item_diff(item, style));
                out.push('\n');
            }
            Action::Skip => {
                writeln!(
                    out,
                    "{}: {}",
                    header(&paint, &kind, &d.name, &d.region, &controls, "skip"),
                    item.reason.as_deref().unwrap_or("")
                )
                .expect("write to String");
                out.push('\n');
            }
            Action::Compliant | Action::Update => {}
        }
    }
    for item in &plan.schedules {
        let s = &item.schedule;
        let controls = fixed_controls(Subject::InlineSchedule, &item.verdict);
        match item.action {
            Action::Update => {
                writeln!(
                    out,
                    "{}",
                    header(
                        &paint,
                        "monitoring-schedule",
                        &s.name,
                        &s.region,
                        &controls,
                        "update in place"
                    )
                )
                .expect("write to String");
                writeln!(out, "  {}: {}", item.verdict.rule, item.verdict.explanation)
                    .expect("write to String");
                if crate::plan::isolates(&item.verdict) {
                    writeln!(
                        out,
                        "  {} {}",
                        paint.yellow("warning:"),
                        isolation_warning(item.image_uri())
                    )
                    .expect("write to String");
                }
                let diff = views_diff(&item.before_view(), &item.after_view(), style);
                paint_diff(&paint, &mut out, &diff);
                out.push('\n');
            }
            Action::Skip => {
                writeln!(
                    out,
                    "{}: {}",
                    header(
                        &paint,
                        "monitoring-schedule",
                        &s.name,
                        &s.region,
                        &controls,
                        "skip"
                    ),
                    item.reason.as_deref().unwrap_or("")
                )
                .expect("write to String");
                out.push('\n');
            }
            Action::Compliant | Action::Recreate => {}
        }
    }
    for item in &plan.notebooks {
        out.push_str(&notebook_text(&paint, item, style));
    }
    writeln!(
        out,
        "{} {summary} in account {account_id}.",
        paint.bold("Plan:")
    )
    .expect("write to String");
    out
}

/// One notebook in a text plan: the in-place update with its diff and what it means (a
/// restart, a wait), or why it is skipped; then the rebuild, if one is needed.
fn notebook_text(paint: &Paint, item: &NotebookPlanItem, style: Style) -> String {
    let mut out = String::new();
    let n = &item.notebook;
    // The controls the entry is about: .3 for the update, else those that fail and are judged.
    let controls = match item.action {
        Action::Update => "SageMaker.3".to_owned(),
        _ => item
            .verdict
            .failing_controls
            .iter()
            .filter(|id| item.verdict.judged.contains(id))
            .copied()
            .collect::<Vec<_>>()
            .join(", "),
    };
    let header = |action: &str| {
        header(
            paint,
            "notebook-instance",
            &n.name,
            &n.region,
            &controls,
            action,
        )
    };
    match item.action {
        Action::Update => {
            writeln!(out, "{}", header("update in place")).expect("write to String");
            let root =
                crate::kinds::NotebookControlInfo::of(crate::kinds::NotebookSetting::RootAccess);
            if let Some(reason) = item.verdict.reasons.get(root.id).and_then(Value::as_str) {
                writeln!(out, "  {}: {reason}", root.id).expect("write to String");
            }
            if let Some(note) = &item.note {
                let note = if item.restarts() {
                    paint.yellow(note)
                } else {
                    note.clone()
                };
                writeln!(out, "  {}: {note}", item.status).expect("write to String");
            }
            let diff = views_diff(&item.before_view(), &item.after_view(), style);
            paint_diff(paint, &mut out, &diff);
        }
        Action::Skip => {
            writeln!(
                out,
                "{}: {}",
                header("skip"),
                item.reason.as_deref().unwrap_or("")
            )
            .expect("write to String");
        }
        Action::Compliant | Action::Recreate => return out,
    }
    if let Some(rebuild) = &item.rebuild {
        out.push_str(&rebuild_text(paint, item, rebuild));
    }
    out.push('\n');
    out
}

/// The controls a rebuild fixes on a notebook, e.g. `SageMaker.1, SageMaker.21`.
fn rebuilt_controls(verdict: &NotebookVerdict) -> String {
    verdict
        .failing_controls
        .iter()
        .filter(|id| **id != "SageMaker.3" && verdict.judged.contains(id))
        .copied()
        .collect::<Vec<_>>()
        .join(", ")
}

fn rebuild_text(paint: &Paint, item: &NotebookPlanItem, rebuild: &Rebuild) -> String {
    let mut out = String::new();
    writeln!(
        out,
        "  {} {} cannot change in place, and sm-recreate never deletes a notebook (its volume \
         holds its users' work). A compliant replacement, {}:",
        paint.yellow("rebuild:"),
        rebuilt_controls(&item.verdict),
        rebuild.new_name
    )
    .expect("write to String");
    writeln!(out, "    {}", rebuild.command).expect("write to String");
    for placeholder in &rebuild.placeholders {
        writeln!(
            out,
            "  set {} first: {}",
            placeholder.name, placeholder.meaning
        )
        .expect("write to String");
    }
    for note in &rebuild.notes {
        writeln!(out, "  {} {note}", paint.yellow("note:")).expect("write to String");
    }
    writeln!(out, "  then move the data:").expect("write to String");
    for (index, step) in rebuild.data_steps.iter().enumerate() {
        writeln!(out, "    {}. {step}", index + 1).expect("write to String");
    }
    out
}

/// The plan for a change ticket, grouped by account: per account a table, then one ```diff
/// block per definition to recreate; the accounts that could not be reached are named first.
pub fn plan_markdown(plans: &[(&str, &Plan)], unreachable: &[Unreachable], style: Style) -> String {
    let mut out = String::new();
    writeln!(out, "## sm-recreate plan\n").expect("write");
    if plans.len() + unreachable.len() > 1 {
        let mut total = Summary::default();
        for (_, plan) in plans {
            total.add(plan.summary());
        }
        writeln!(out, "{} account(s): **{total}**.\n", plans.len()).expect("write");
    }
    if !unreachable.is_empty() {
        writeln!(
            out,
            "**Not covered: these accounts could not be reached:**\n"
        )
        .expect("write");
        for account in unreachable {
            writeln!(out, "- `{}`: {}", account.account_id, account.message).expect("write");
        }
        out.push('\n');
    }
    for (account_id, plan) in plans {
        out.push_str(&account_plan_markdown(plan, account_id, style));
    }
    out
}

fn account_plan_markdown(plan: &Plan, account_id: &str, style: Style) -> String {
    let summary = plan.summary();
    let mut out = String::new();
    let w = &mut out;
    writeln!(w, "### Account `{account_id}`\n").expect("write");
    writeln!(
        w,
        "Regions {}, evaluation `{}`: **{summary}**.\n",
        plan.regions
            .iter()
            .map(|r| format!("`{r}`"))
            .collect::<Vec<_>>()
            .join(", "),
        plan.evaluation.as_str()
    )
    .expect("write");
    write_problems_markdown(w, &plan.problems);
    let listed: Vec<&PlanItem> = plan
        .items
        .iter()
        .filter(|i| i.action != Action::Compliant)
        .collect();
    let schedules: Vec<&crate::plan::SchedulePlanItem> = plan
        .schedules
        .iter()
        .filter(|s| s.action != Action::Compliant)
        .collect();
    let notebooks: Vec<&NotebookPlanItem> = plan
        .notebooks
        .iter()
        .filter(|n| n.action != Action::Compliant)
        .collect();
    if listed.is_empty() && schedules.is_empty() && notebooks.is_empty() {
        writeln!(w, "Nothing to recreate.\n").expect("write");
        return out;
    }
    writeln!(
        w,
        "| Region | Kind | Control | Name | Action | Schedules | Reason |\n|---|---|---|---|---|---|---|"
    )
    .expect("write");
    for item in &listed {
        let d = &item.definition;
        writeln!(
            w,
            "| {} | {} | {} | `{}` | {} | {} | {} |",
            d.region,
            d.kind,
            fixed_controls(Subject::Definition(d.kind), &item.verdict),
            d.name,
            item.action.as_str(),
            schedule_names(item),
            item.reason
                .as_deref()
                .unwrap_or(&item.verdict.explanation)
                .replace('|', "\\|")
        )
        .expect("write");
    }
    for item in &schedules {
        let s = &item.schedule;
        writeln!(
            w,
            "| {} | monitoring-schedule | {} | `{}` | {} |  | {} |",
            s.region,
            fixed_controls(Subject::InlineSchedule, &item.verdict),
            s.name,
            item.action.as_str(),
            item.reason
                .as_deref()
                .unwrap_or(&item.verdict.explanation)
                .replace('|', "\\|")
        )
        .expect("write");
    }
    for item in &notebooks {
        let n = &item.notebook;
        let why = match (&item.reason, &item.note) {
            (Some(reason), _) => reason.clone(),
            (None, Some(note)) => format!("{}: {note}", item.status),
            (None, None) => item.verdict.explanation.clone(),
        };
        writeln!(
            w,
            "| {} | notebook-instance | {} | `{}` | {} |  | {} |",
            n.region,
            item.verdict.failing_controls.join(", "),
            n.name,
            item.action.as_str(),
            why.replace('|', "\\|")
        )
        .expect("write");
    }
    let isolating = plan.isolating();
    if !isolating.is_empty() {
        writeln!(
            w,
            "\n**Network isolation** is turned on for {} job(s); rehearse on one first:\n",
            isolating.len()
        )
        .expect("write");
        for (what, image) in &isolating {
            writeln!(w, "- {what}: {}", isolation_warning(*image)).expect("write");
        }
    }
    for item in listed.iter().filter(|i| i.action == Action::Recreate) {
        let d = &item.definition;
        writeln!(w, "\n#### {} `{}` ({})\n", d.kind, d.name, d.region).expect("write");
        if let Some(temp) = &item.temporary_name {
            writeln!(w, "Temporary copy: `{temp}`.").expect("write");
        }
        if !d.schedules.is_empty() {
            writeln!(w, "Schedules repointed and back: {}.", schedule_names(item)).expect("write");
        }
        if !item.dropped_tags.is_empty() {
            let keys: Vec<&str> = item.dropped_tags.iter().map(|t| t.key.as_str()).collect();
            writeln!(w, "AWS-reserved tags dropped: {}.", keys.join(", ")).expect("write");
        }
        writeln!(w, "\n```diff\n{}```", item_diff(item, style)).expect("write");
    }
    for item in schedules.iter().filter(|s| s.action == Action::Update) {
        let s = &item.schedule;
        writeln!(
            w,
            "\n#### monitoring-schedule `{}` ({})\n\nUpdated in place (`UpdateMonitoringSchedule`).",
            s.name, s.region
        )
        .expect("write");
        let diff = views_diff(&item.before_view(), &item.after_view(), style);
        writeln!(w, "\n```diff\n{diff}```").expect("write");
    }
    for item in &notebooks {
        write_notebook_markdown(w, item, style);
    }
    out.push('\n');
    out
}

/// A notebook's section in a change ticket: the in-place update (what it means, its diff) and
/// the rebuild's command and steps.
fn write_notebook_markdown(w: &mut String, item: &NotebookPlanItem, style: Style) {
    let n = &item.notebook;
    if item.action != Action::Update && item.rebuild.is_none() {
        return;
    }
    writeln!(w, "\n#### notebook-instance `{}` ({})\n", n.name, n.region).expect("write");
    if item.action == Action::Update {
        let note = item.note.as_deref().unwrap_or_default();
        let note = if item.restarts() {
            format!("**{note}**")
        } else {
            note.to_owned()
        };
        writeln!(
            w,
            "Root access turned off in place (`UpdateNotebookInstance`), status {}: {note}.",
            item.status
        )
        .expect("write");
        let diff = views_diff(&item.before_view(), &item.after_view(), style);
        writeln!(w, "\n```diff\n{diff}```").expect("write");
    }
    if let Some(rebuild) = &item.rebuild {
        writeln!(
            w,
            "\n{} cannot change in place, and sm-recreate never deletes a notebook (its volume \
             holds its users' work). A compliant replacement, `{}`:\n\n```sh\n{}\n```",
            rebuilt_controls(&item.verdict),
            rebuild.new_name,
            rebuild.command
        )
        .expect("write");
        for placeholder in &rebuild.placeholders {
            writeln!(
                w,
                "- Set `{}` first: {}.",
                placeholder.name, placeholder.meaning
            )
            .expect("write");
        }
        for note in &rebuild.notes {
            writeln!(w, "- Note: {note}.").expect("write");
        }
        writeln!(w, "\nThen move the data:\n").expect("write");
        for (index, step) in rebuild.data_steps.iter().enumerate() {
            writeln!(w, "{}. {step}", index + 1).expect("write");
        }
    }
}

/// What the inventory could not read, for a change ticket: without it a reviewer would take an
/// incomplete plan or scan for the whole account. Problems that leave nothing out (a definition
/// deleted meanwhile, unknown schedule references) are listed apart as notes.
fn write_problems_markdown<'p>(w: &mut String, problems: impl IntoIterator<Item = &'p Problem>) {
    let (missing, notes): (Vec<&Problem>, Vec<&Problem>) =
        problems.into_iter().partition(|p| p.incomplete);
    for (heading, list) in [
        (
            "**Incomplete: not covered, because it could not be read:**",
            missing,
        ),
        ("**Notes:**", notes),
    ] {
        if list.is_empty() {
            continue;
        }
        writeln!(w, "{heading}\n").expect("write");
        for problem in list {
            let what = match (&problem.kind, &problem.name) {
                (Some(kind), Some(name)) => format!("{kind} `{name}` ({})", problem.region),
                (Some(kind), None) => format!("{kind} ({})", problem.region),
                _ => problem.region.clone(),
            };
            writeln!(w, "- {what}: {}", problem.message).expect("write");
        }
        w.push('\n');
    }
}

pub fn plan_json<Items: Serialize>(document: &PlanDocument<Items>) -> String {
    let mut text = Vec::new();
    document
        .write_pretty(&mut text)
        .expect("a plan document serializes");
    String::from_utf8(text).expect("JSON is UTF-8")
}

pub use crate::apply::report::REPORT_FORMAT_VERSION;

/// One definition (or schedule with an inline job definition) as `scan` reports it.
#[derive(Debug, Serialize)]
pub struct ScanEntry<'a> {
    pub account_id: &'a str,
    pub region: &'a str,
    pub kind: ResourceKind,
    /// Its encryption control.
    pub control: &'static str,
    pub name: &'a str,
    pub arn: &'a str,
    /// The controls of the run's fixes pass (what `--detailed-exitcode` uses).
    pub compliant: bool,
    pub rule: &'a str,
    pub explanation: &'a str,
    /// Every failing control, whatever the fixes.
    pub failing_controls: &'a [&'static str],
    /// Why each failing control fails.
    pub reasons: &'a serde_json::Map<String, Value>,
    pub encryption_flag: Option<bool>,
    pub isolation_flag: Option<bool>,
    pub instance_count: Option<u64>,
    pub schedules: Vec<&'a str>,
    /// The CloudFormation stack that owns it; told only for non-compliant entries (the scan
    /// reads the tags of those alone: compliant ones are never acted on).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub managed_by_stack: Option<String>,
    /// The controls of the run's fixes on it, e.g. `SageMaker.9, SageMaker.11`.
    #[serde(skip)]
    fixed_controls: String,
}

impl<'a> ScanEntry<'a> {
    /// The entry of one definition or inline schedule (`region`, `name`, `arn`, `tags`), judged
    /// by `verdict`; a definition's schedules are added by the caller.
    fn of(
        account_id: &'a str,
        (region, name, arn, tags): (
            &'a str,
            &'a str,
            &'a str,
            Option<&'a [crate::sagemaker::Tag]>,
        ),
        subject: Subject,
        verdict: &'a Verdict,
    ) -> ScanEntry<'a> {
        ScanEntry {
            account_id,
            region,
            kind: match subject {
                Subject::Definition(kind) => ResourceKind::Definition(kind),
                Subject::InlineSchedule => ResourceKind::MonitoringSchedule,
            },
            control: verdict.control,
            name,
            arn,
            compliant: verdict.compliant,
            rule: &verdict.rule,
            explanation: &verdict.explanation,
            failing_controls: &verdict.failing_controls,
            reasons: &verdict.reasons,
            encryption_flag: verdict.encryption_flag,
            isolation_flag: verdict.isolation_flag,
            instance_count: verdict.instance_count,
            schedules: Vec::new(),
            managed_by_stack: crate::plan::managing_stack(tags),
            fixed_controls: fixed_controls(subject, verdict),
        }
    }
}

/// One notebook instance as `scan` reports it: the shape of a definition's entry, with the
/// notebook controls.
#[derive(Debug, Serialize)]
pub struct NotebookScanEntry<'a> {
    pub account_id: &'a str,
    pub region: &'a str,
    pub kind: ResourceKind,
    pub name: &'a str,
    pub arn: &'a str,
    /// `NotebookInstanceStatus`.
    pub status: &'a str,
    /// The notebook controls judged pass (what `--detailed-exitcode` uses).
    pub compliant: bool,
    /// The controls judged, one sentence each.
    pub explanation: &'a str,
    /// Every failing notebook control, whatever was judged.
    pub failing_controls: &'a [&'static str],
    /// Why each failing control fails.
    pub reasons: &'a serde_json::Map<String, Value>,
    /// The CloudFormation stack that owns it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub managed_by_stack: Option<String>,
    /// The controls judged, e.g. `SageMaker.1, SageMaker.3`.
    #[serde(skip)]
    judged: String,
}

/// One account's judged definitions, inline schedules and notebooks, and what could not be
/// read there.
pub struct AccountScan<'a> {
    pub account_id: &'a str,
    pub definitions: Vec<(&'a Definition, Verdict)>,
    pub schedules: Vec<(&'a InlineSchedule, Verdict)>,
    pub notebooks: Vec<(&'a Notebook, NotebookVerdict)>,
    pub problems: &'a [Problem],
}

/// A problem, with the account it is in.
#[derive(Debug, Serialize)]
pub struct ScanProblem<'a> {
    pub account_id: &'a str,
    #[serde(flatten)]
    pub problem: &'a Problem,
}

#[derive(Debug, Serialize)]
pub struct ScanReport<'a> {
    pub format_version: u32,
    pub evaluation: Evaluation,
    /// The flags judged for `compliant`.
    pub fixes: Fixes,
    /// The accounts read, in the order they were named.
    pub accounts: Vec<&'a str>,
    /// Accounts asked for that could not be reached, with AWS's message: not covered.
    pub unreachable_accounts: &'a [Unreachable],
    pub regions: &'a [String],
    pub summary: ScanSummary,
    pub definitions: Vec<ScanEntry<'a>>,
    /// Monitoring schedules with an inline job definition (SageMaker.14, .22).
    pub schedules: Vec<ScanEntry<'a>>,
    /// Notebook instances (SageMaker.1, .2, .3, .21), when selected.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub notebooks: Vec<NotebookScanEntry<'a>>,
    pub problems: Vec<ScanProblem<'a>>,
    /// Findings the selection named whose resource is gone or passes now.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub skipped_findings: &'a [crate::securityhub::SkippedFinding],
    /// What the selection read: job definitions (and schedules), notebook instances.
    #[serde(skip)]
    covers: (bool, bool),
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct ScanSummary {
    pub total: usize,
    pub compliant: usize,
    pub non_compliant: usize,
}

impl<'a> ScanReport<'a> {
    pub fn new(
        evaluation: Evaluation,
        fixes: Fixes,
        regions: &'a [String],
        accounts: &'a [AccountScan<'a>],
        unreachable_accounts: &'a [Unreachable],
    ) -> ScanReport<'a> {
        let mut definitions = Vec::new();
        let mut schedules = Vec::new();
        let mut notebooks = Vec::new();
        let mut problems = Vec::new();
        for account in accounts {
            definitions.extend(account.definitions.iter().map(|(d, v)| {
                let mut entry = ScanEntry::of(
                    account.account_id,
                    (&d.region, &d.name, &d.arn, d.tags.as_deref()),
                    Subject::Definition(d.kind),
                    v,
                );
                entry.schedules = d.schedules.iter().map(|s| s.name.as_str()).collect();
                entry
            }));
            schedules.extend(account.schedules.iter().map(|(s, v)| {
                ScanEntry::of(
                    account.account_id,
                    (&s.region, &s.name, &s.arn, s.tags.as_deref()),
                    Subject::InlineSchedule,
                    v,
                )
            }));
            notebooks.extend(account.notebooks.iter().map(|(n, v)| {
                NotebookScanEntry {
                    account_id: account.account_id,
                    region: &n.region,
                    kind: ResourceKind::NotebookInstance,
                    name: &n.name,
                    arn: &n.arn,
                    status: n
                        .raw
                        .get("NotebookInstanceStatus")
                        .and_then(Value::as_str)
                        .unwrap_or_default(),
                    compliant: v.compliant,
                    explanation: &v.explanation,
                    failing_controls: &v.failing_controls,
                    reasons: &v.reasons,
                    managed_by_stack: crate::plan::managing_stack(Some(&n.tags)),
                    judged: v.judged.join(", "),
                }
            }));
            problems.extend(account.problems.iter().map(|problem| ScanProblem {
                account_id: account.account_id,
                problem,
            }));
        }
        let total = definitions.len() + schedules.len() + notebooks.len();
        let compliant = definitions
            .iter()
            .chain(&schedules)
            .filter(|d| d.compliant)
            .count()
            + notebooks.iter().filter(|n| n.compliant).count();
        ScanReport {
            format_version: REPORT_FORMAT_VERSION,
            evaluation,
            fixes,
            accounts: accounts.iter().map(|a| a.account_id).collect(),
            unreachable_accounts,
            regions,
            summary: ScanSummary {
                total,
                compliant,
                non_compliant: total - compliant,
            },
            definitions,
            schedules,
            notebooks,
            problems,
            skipped_findings: &[],
            covers: (true, false),
        }
    }

    /// Says what the selection read (job definitions and schedules, notebook instances), for
    /// the words of an empty scan.
    pub fn covering(mut self, definitions: bool, notebooks: bool) -> ScanReport<'a> {
        self.covers = (definitions, notebooks);
        self
    }

    fn nouns(&self) -> &'static str {
        match self.covers {
            (false, true) => "notebook instances",
            (true, true) => "model-monitor job definitions or notebook instances",
            _ => "model-monitor job definitions",
        }
    }

    /// The report with the findings its selection skipped.
    pub fn with_skipped_findings(
        mut self,
        skipped: &'a [crate::securityhub::SkippedFinding],
    ) -> ScanReport<'a> {
        self.skipped_findings = skipped;
        self
    }

    /// Every entry as a row of the text and markdown tables.
    fn rows(&self) -> Vec<Row<'_>> {
        let entries = self.definitions.iter().chain(&self.schedules).map(|d| {
            let mut why = d.explanation.to_owned();
            if let Some(stack) = &d.managed_by_stack {
                write!(why, " (CloudFormation stack `{stack}`)").expect("write");
            }
            Row {
                account_id: d.account_id,
                region: d.region,
                kind: d.kind,
                controls: &d.fixed_controls,
                name: d.name,
                compliant: d.compliant,
                failing: failing_text(d.failing_controls),
                explanation: d.explanation,
                why,
            }
        });
        let notebooks = self.notebooks.iter().map(|n| {
            let mut why = format!("{}: {}", n.status, n.explanation);
            if let Some(stack) = &n.managed_by_stack {
                write!(why, " (CloudFormation stack `{stack}`)").expect("write");
            }
            Row {
                account_id: n.account_id,
                region: n.region,
                kind: n.kind,
                controls: &n.judged,
                name: n.name,
                compliant: n.compliant,
                failing: failing_text(n.failing_controls),
                explanation: n.explanation,
                why,
            }
        });
        entries.chain(notebooks).collect()
    }

    pub fn to_text(&self, style: Style) -> String {
        let paint = Paint(style.color);
        let mut out = String::new();
        for account in self.unreachable_accounts {
            writeln!(
                out,
                "{} account {} could not be reached and is not covered: {}",
                paint.red("error:"),
                account.account_id,
                account.message
            )
            .expect("write");
        }
        out.push_str(&crate::securityhub::skipped_findings_text(
            self.skipped_findings,
        ));
        let rows = self.rows();
        if rows.is_empty() {
            writeln!(
                out,
                "No {} found in {} (account {}).",
                self.nouns(),
                self.regions.join(", "),
                self.accounts.join(", ")
            )
            .expect("write");
            return out;
        }
        let width = |f: &dyn Fn(&Row<'_>) -> usize, min: usize| {
            rows.iter().map(f).max().unwrap_or(0).max(min)
        };
        let widths = [
            width(&|d| d.account_id.len(), 7),
            width(&|d| d.region.len(), 6),
            width(&|d| d.kind.cli_name().len(), 4),
            width(&|d| d.controls.len(), 12),
            width(&|d| d.name.len(), 4),
            width(&|d| d.failing.len(), 7),
        ];
        writeln!(
            out,
            "{}",
            paint.bold(&format!(
                "{:wa$}  {:w0$}  {:w1$}  {:w2$}  {:w3$}  {:9}  {:w4$}  WHY",
                "ACCOUNT",
                "REGION",
                "KIND",
                "CONTROL",
                "NAME",
                "COMPLIANT",
                "FAILING",
                wa = widths[0],
                w0 = widths[1],
                w1 = widths[2],
                w2 = widths[3],
                w3 = widths[4],
                w4 = widths[5],
            ))
        )
        .expect("write");
        for d in &rows {
            let verdict = if d.compliant {
                paint.green(&format!("{:9}", "yes"))
            } else {
                paint.red(&format!("{:9}", "no"))
            };
            let why = &d.why;
            writeln!(
                out,
                "{:wa$}  {:w0$}  {:w1$}  {:w2$}  {:w3$}  {verdict}  {:w4$}  {why}",
                d.account_id,
                d.region,
                d.kind.cli_name(),
                d.controls,
                d.name,
                d.failing,
                wa = widths[0],
                w0 = widths[1],
                w1 = widths[2],
                w2 = widths[3],
                w3 = widths[4],
                w4 = widths[5],
            )
            .expect("write");
        }
        let noun = match (
            self.definitions.is_empty() && self.schedules.is_empty(),
            self.schedules.is_empty(),
            self.notebooks.is_empty(),
        ) {
            (true, _, false) => "notebook instances",
            (false, true, false) => "definitions and notebook instances",
            (false, false, false) => "definitions, inline schedules and notebook instances",
            (_, true, true) => "definitions",
            (_, false, true) => "definitions and inline schedules",
        };
        let accounts = if self.accounts.len() > 1 {
            format!(" in {} accounts", self.accounts.len())
        } else {
            String::new()
        };
        // Notebooks alone: no NetworkConfig flag is judged, so neither evaluation nor fixes apply.
        let judged = if self.covers == (false, true) {
            "notebook controls as their AWS Config rules read them".to_owned()
        } else {
            format!(
                "{} evaluation, fixing {}",
                self.evaluation.as_str(),
                self.fixes
            )
        };
        writeln!(
            out,
            "\n{} {noun}{accounts}: {} non-compliant, {} compliant ({judged}).",
            self.summary.total, self.summary.non_compliant, self.summary.compliant,
        )
        .expect("write");
        out
    }

    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        writeln!(
            out,
            "## sm-recreate scan\n\nAccounts {}, regions {}, evaluation `{}`, fixing {}: **{} non-compliant, {} compliant**.\n",
            self.accounts
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", "),
            self.regions.join(", "),
            self.evaluation.as_str(),
            self.fixes,
            self.summary.non_compliant,
            self.summary.compliant
        )
        .expect("write");
        if !self.unreachable_accounts.is_empty() {
            writeln!(
                out,
                "**Not covered: these accounts could not be reached:**\n"
            )
            .expect("write");
            for account in self.unreachable_accounts {
                writeln!(out, "- `{}`: {}", account.account_id, account.message).expect("write");
            }
            out.push('\n');
        }
        for account in &self.accounts {
            let problems: Vec<&Problem> = self
                .problems
                .iter()
                .filter(|p| p.account_id == *account)
                .map(|p| p.problem)
                .collect();
            if !problems.is_empty() {
                writeln!(out, "Account `{account}`:\n").expect("write");
                write_problems_markdown(&mut out, problems);
            }
        }
        writeln!(
            out,
            "| Account | Region | Kind | Control | Name | Compliant | Failing | Why |\n|---|---|---|---|---|---|---|---|"
        )
        .expect("write");
        for d in self.rows() {
            writeln!(
                out,
                "| `{}` | {} | {} | {} | `{}` | {} | {} | {} |",
                d.account_id,
                d.region,
                d.kind,
                d.controls,
                d.name,
                if d.compliant { "yes" } else { "**no**" },
                d.failing,
                d.explanation.replace('|', "\\|")
            )
            .expect("write");
        }
        out.push_str(&crate::securityhub::skipped_findings_markdown(
            self.skipped_findings,
        ));
        out
    }
}

/// The failing controls, `-` for none.
fn failing_text(failing_controls: &[&str]) -> String {
    if failing_controls.is_empty() {
        "-".to_owned()
    } else {
        failing_controls.join(",")
    }
}

/// One line of the scan's text and markdown tables.
struct Row<'a> {
    account_id: &'a str,
    region: &'a str,
    kind: ResourceKind,
    controls: &'a str,
    name: &'a str,
    compliant: bool,
    failing: String,
    explanation: &'a str,
    /// The explanation as the text table shows it (a notebook's status first, the owning
    /// stack after).
    why: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::NOTEBOOK_CONTROLS;
    use crate::plan::notebook::{RESTART_LABEL, RebuildOptions, plan_notebook};
    use crate::plan::selection::NotebookScope;
    use crate::sagemaker::Tag;
    use serde_json::json;
    use std::collections::BTreeSet;

    fn notebook(name: &str, status: &str) -> Notebook {
        Notebook {
            region: "us-east-1".into(),
            name: name.into(),
            arn: format!("arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/{name}"),
            raw: json!({
                "NotebookInstanceName": name,
                "NotebookInstanceStatus": status,
                "InstanceType": "ml.t3.medium",
                "RoleArn": "arn:aws:iam::123456789012:role/notebooks",
                "DirectInternetAccess": "Enabled",
                "RootAccess": "Enabled",
            }),
            tags: vec![Tag {
                key: "team".into(),
                value: "ml".into(),
            }],
        }
    }

    fn plan_of(notebooks: Vec<Notebook>) -> Plan {
        Plan {
            evaluation: Evaluation::Strict,
            regions: vec!["us-east-1".into()],
            items: vec![],
            schedules: vec![],
            notebooks: notebooks
                .into_iter()
                .map(|n| {
                    plan_notebook(
                        n,
                        &NotebookScope::all(),
                        false,
                        &RebuildOptions::default(),
                        &BTreeSet::new(),
                    )
                })
                .collect(),
            fixes: Fixes::NONE,
            problems: vec![],
        }
    }

    const STYLE: Style = Style {
        color: false,
        show_secrets: false,
    };

    #[test]
    fn a_notebook_plan_shows_the_root_access_diff_the_restart_and_the_rebuild() {
        let plan = plan_of(vec![
            notebook("running", "InService"),
            notebook("asleep", "Stopped"),
        ]);
        let text = plan_text(&[("123456789012", &plan)], &[], STYLE);
        assert!(
            text.contains(&format!("InService: {RESTART_LABEL}")),
            "{text}"
        );
        assert!(text.contains("Stopped: updated and left stopped"), "{text}");
        assert!(text.contains("-  \"RootAccess\": \"Enabled\","), "{text}");
        assert!(text.contains("+  \"RootAccess\": \"Disabled\","), "{text}");
        assert!(text.contains("aws sagemaker create-notebook-instance --region us-east-1 --notebook-instance-name running-rebuilt"));
        assert!(text.contains("set SUBNET_ID first"), "{text}");
        assert!(text.contains("2 notebook(s) to update in place"), "{text}");
        let markdown = plan_markdown(&[("123456789012", &plan)], &[], STYLE);
        assert!(markdown.contains("```sh\naws sagemaker create-notebook-instance"));
        assert!(markdown.contains(&format!("**{RESTART_LABEL}**")));
        assert!(markdown.contains("| us-east-1 | notebook-instance | SageMaker.1, SageMaker.2, SageMaker.3, SageMaker.21 | `running` | update |"), "{markdown}");
    }

    #[test]
    fn a_scan_lists_notebooks_in_the_shape_of_definitions() {
        let notebooks = [notebook("running", "InService")];
        let all: Vec<_> = NOTEBOOK_CONTROLS.iter().collect();
        let accounts = [AccountScan {
            account_id: "123456789012",
            definitions: vec![],
            schedules: vec![],
            notebooks: notebooks
                .iter()
                .map(|n| (n, crate::compliance::evaluate_notebook(&n.raw, &all)))
                .collect(),
            problems: &[],
        }];
        let regions = ["us-east-1".to_owned()];
        let report = ScanReport::new(Evaluation::Strict, Fixes::NONE, &regions, &accounts, &[])
            .covering(false, true);
        let json = serde_json::to_value(&report).unwrap();
        let entry = &json["notebooks"][0];
        assert_eq!(entry["kind"], "notebook-instance");
        assert_eq!(entry["name"], "running");
        assert_eq!(entry["account_id"], "123456789012");
        assert_eq!(entry["compliant"], false);
        assert_eq!(
            entry["failing_controls"],
            json!(["SageMaker.1", "SageMaker.2", "SageMaker.3", "SageMaker.21"])
        );
        assert!(
            entry["reasons"]["SageMaker.3"]
                .as_str()
                .unwrap()
                .contains("RootAccess")
        );
        assert_eq!(json["summary"]["non_compliant"], 1);
        let text = report.to_text(STYLE);
        assert!(
            text.contains("1 notebook instances: 1 non-compliant"),
            "{text}"
        );
        let empty = [AccountScan {
            account_id: "123456789012",
            definitions: vec![],
            schedules: vec![],
            notebooks: vec![],
            problems: &[],
        }];
        let report = ScanReport::new(Evaluation::Strict, Fixes::NONE, &regions, &empty, &[])
            .covering(false, true);
        assert!(
            report
                .to_text(STYLE)
                .starts_with("No notebook instances found")
        );
        let json = serde_json::to_value(&report).unwrap();
        assert!(
            json.get("notebooks").is_none(),
            "absent when empty, as before notebooks"
        );
    }
}
