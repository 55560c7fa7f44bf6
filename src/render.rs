//! Renderings of scans and plans for people (text with coloured diffs, markdown for change
//! tickets) and scripts (JSON). `Environment` values are redacted everywhere unless asked (see
//! `redact`).

use crate::compliance::{Evaluation, Verdict};
use crate::inventory::{Definition, InlineSchedule, Problem};
use crate::kinds::{ControlInfo, Fixes, Subject};
use crate::plan::document::PlanDocument;
use crate::plan::{Action, Plan, PlanItem};
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

/// The plan for a terminal: per definition to recreate a header and a coloured diff, one line per
/// skipped definition, then the summary.
pub fn plan_text(plan: &Plan, style: Style) -> String {
    let paint = Paint(style.color);
    let summary = plan.summary();
    let mut out = String::new();
    if summary.recreate == 0 && summary.update == 0 {
        writeln!(
            out,
            "Nothing to recreate: {} compliant, {} skipped.",
            summary.compliant, summary.skip
        )
        .expect("write to String");
        return out;
    }
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
    writeln!(out, "{} {summary}.", paint.bold("Plan:")).expect("write to String");
    out
}

/// The plan for a change ticket: a table, then one ```diff block per definition to recreate.
pub fn plan_markdown(plan: &Plan, account_id: &str, style: Style) -> String {
    let summary = plan.summary();
    let mut out = String::new();
    let w = &mut out;
    writeln!(w, "## sm-recreate plan\n").expect("write");
    writeln!(
        w,
        "Account `{account_id}`, regions {}, evaluation `{}`: **{summary}**.\n",
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
    if listed.is_empty() && schedules.is_empty() {
        writeln!(w, "Nothing to recreate.").expect("write");
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
        writeln!(w, "\n### {} `{}` ({})\n", d.kind, d.name, d.region).expect("write");
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
            "\n### monitoring-schedule `{}` ({})\n\nUpdated in place (`UpdateMonitoringSchedule`).",
            s.name, s.region
        )
        .expect("write");
        let diff = views_diff(&item.before_view(), &item.after_view(), style);
        writeln!(w, "\n```diff\n{diff}```").expect("write");
    }
    out
}

/// What the inventory could not read, for a change ticket: without it a reviewer would take an
/// incomplete plan or scan for the whole account. Problems that leave nothing out (a definition
/// deleted meanwhile, unknown schedule references) are listed apart as notes.
fn write_problems_markdown(w: &mut String, problems: &[Problem]) {
    let (missing, notes): (Vec<&Problem>, Vec<&Problem>) =
        problems.iter().partition(|p| p.incomplete);
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

pub fn plan_json(document: &PlanDocument) -> String {
    let mut text = document.to_json_pretty();
    text.push('\n');
    text
}

pub use crate::apply::report::REPORT_FORMAT_VERSION;

/// One definition (or schedule with an inline job definition) as `scan` reports it.
#[derive(Debug, Serialize)]
pub struct ScanEntry<'a> {
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

#[derive(Debug, Serialize)]
pub struct ScanReport<'a> {
    pub format_version: u32,
    pub evaluation: Evaluation,
    /// The flags judged for `compliant`.
    pub fixes: Fixes,
    pub regions: &'a [String],
    pub summary: ScanSummary,
    pub definitions: Vec<ScanEntry<'a>>,
    /// Monitoring schedules with an inline job definition (SageMaker.14, .22).
    pub schedules: Vec<ScanEntry<'a>>,
    pub problems: &'a [Problem],
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
        judged: &'a [(Definition, Verdict)],
        judged_schedules: &'a [(InlineSchedule, Verdict)],
        problems: &'a [Problem],
    ) -> ScanReport<'a> {
        let definitions: Vec<ScanEntry<'a>> = judged
            .iter()
            .map(|(d, v)| {
                let mut entry = ScanEntry::of(
                    (&d.region, &d.name, &d.arn, d.tags.as_deref()),
                    Subject::Definition(d.kind),
                    v,
                );
                entry.schedules = d.schedules.iter().map(|s| s.name.as_str()).collect();
                entry
            })
            .collect();
        let schedules: Vec<ScanEntry<'a>> = judged_schedules
            .iter()
            .map(|(s, v)| {
                ScanEntry::of(
                    (&s.region, &s.name, &s.arn, s.tags.as_deref()),
                    Subject::InlineSchedule,
                    v,
                )
            })
            .collect();
        let total = definitions.len() + schedules.len();
        let compliant = definitions
            .iter()
            .chain(&schedules)
            .filter(|d| d.compliant)
            .count();
        ScanReport {
            format_version: REPORT_FORMAT_VERSION,
            evaluation,
            fixes,
            regions,
            summary: ScanSummary {
                total,
                compliant,
                non_compliant: total - compliant,
            },
            definitions,
            schedules,
            problems,
        }
    }

    fn entries(&self) -> impl Iterator<Item = &ScanEntry<'a>> {
        self.definitions.iter().chain(&self.schedules)
    }

    pub fn to_text(&self, style: Style) -> String {
        let paint = Paint(style.color);
        let mut out = String::new();
        if self.entries().next().is_none() {
            writeln!(
                out,
                "No model-monitor job definitions found in {}.",
                self.regions.join(", ")
            )
            .expect("write");
            return out;
        }
        let width = |f: &dyn Fn(&ScanEntry<'_>) -> usize, min: usize| {
            self.entries().map(f).max().unwrap_or(0).max(min)
        };
        let widths = [
            width(&|d| d.region.len(), 6),
            width(&|d| d.kind.cli_name().len(), 4),
            width(&|d| d.fixed_controls.len(), 12),
            width(&|d| d.name.len(), 4),
            width(&|d| failing_text(d).len(), 7),
        ];
        writeln!(
            out,
            "{}",
            paint.bold(&format!(
                "{:w0$}  {:w1$}  {:w2$}  {:w3$}  {:9}  {:w4$}  WHY",
                "REGION",
                "KIND",
                "CONTROL",
                "NAME",
                "COMPLIANT",
                "FAILING",
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2],
                w3 = widths[3],
                w4 = widths[4],
            ))
        )
        .expect("write");
        for d in self.entries() {
            let verdict = if d.compliant {
                paint.green(&format!("{:9}", "yes"))
            } else {
                paint.red(&format!("{:9}", "no"))
            };
            let mut why = d.explanation.to_owned();
            if let Some(stack) = &d.managed_by_stack {
                write!(why, " (CloudFormation stack `{stack}`)").expect("write");
            }
            writeln!(
                out,
                "{:w0$}  {:w1$}  {:w2$}  {:w3$}  {verdict}  {:w4$}  {why}",
                d.region,
                d.kind.cli_name(),
                d.fixed_controls,
                d.name,
                failing_text(d),
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2],
                w3 = widths[3],
                w4 = widths[4],
            )
            .expect("write");
        }
        let noun = if self.schedules.is_empty() {
            "definitions"
        } else {
            "definitions and inline schedules"
        };
        writeln!(
            out,
            "\n{} {noun}: {} non-compliant, {} compliant ({} evaluation, fixing {}).",
            self.summary.total,
            self.summary.non_compliant,
            self.summary.compliant,
            self.evaluation.as_str(),
            self.fixes
        )
        .expect("write");
        out
    }

    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        writeln!(
            out,
            "## sm-recreate scan\n\nRegions {}, evaluation `{}`, fixing {}: **{} non-compliant, {} compliant**.\n",
            self.regions.join(", "),
            self.evaluation.as_str(),
            self.fixes,
            self.summary.non_compliant,
            self.summary.compliant
        )
        .expect("write");
        write_problems_markdown(&mut out, self.problems);
        writeln!(
            out,
            "| Region | Kind | Control | Name | Compliant | Failing | Why |\n|---|---|---|---|---|---|---|"
        )
        .expect("write");
        for d in self.entries() {
            writeln!(
                out,
                "| {} | {} | {} | `{}` | {} | {} | {} |",
                d.region,
                d.kind,
                d.fixed_controls,
                d.name,
                if d.compliant { "yes" } else { "**no**" },
                failing_text(d),
                d.explanation.replace('|', "\\|")
            )
            .expect("write");
        }
        out
    }
}

/// The failing controls, `-` for none.
fn failing_text(entry: &ScanEntry<'_>) -> String {
    if entry.failing_controls.is_empty() {
        "-".to_owned()
    } else {
        entry.failing_controls.join(",")
    }
}
