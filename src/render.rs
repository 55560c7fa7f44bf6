//! Renderings of scans and plans for people (text with coloured diffs, markdown for change
//! tickets) and scripts (JSON). `Environment` values are redacted everywhere unless asked (see
//! `redact`).

use crate::compliance::{Evaluation, Verdict};
use crate::inventory::{Definition, Problem};
use crate::plan::document::PlanDocument;
use crate::plan::{Action, Plan, PlanItem};
use crate::redact;
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
    let before = pretty(&redact::shown(&item.before_view(), style.show_secrets));
    let after = pretty(&redact::shown(&item.after_view(), style.show_secrets));
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

/// `# kind name (region) · control · action`, the first line of a definition in a text plan.
fn header(paint: &Paint, d: &Definition, action: &str) -> String {
    format!(
        "{} {} {} ({}) · {} · {}",
        paint.bold("#"),
        d.kind,
        paint.bold(&d.name),
        d.region,
        d.kind.control(),
        paint.yellow(action)
    )
}

/// The plan for a terminal: per definition to recreate a header and a coloured diff, one line per
/// skipped definition, then the summary.
pub fn plan_text(plan: &Plan, style: Style) -> String {
    let paint = Paint(style.color);
    let summary = plan.summary();
    let mut out = String::new();
    if summary.recreate == 0 {
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
        match item.action {
            Action::Recreate => {
                writeln!(out, "{}", header(&paint, d, "recreate")).expect("write to String");
                writeln!(out, "  {}: {}", item.verdict.rule, item.verdict.explanation)
                    .expect("write to String");
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
                for line in item_diff(item, style).lines() {
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
                out.push('\n');
            }
            Action::Skip => {
                writeln!(
                    out,
                    "{}: {}",
                    header(&paint, d, "skip"),
                    item.reason.as_deref().unwrap_or("")
                )
                .expect("write to String");
                out.push('\n');
            }
            Action::Compliant => {}
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
    if listed.is_empty() {
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
            d.kind.control(),
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

/// One definition as `scan` reports it.
#[derive(Debug, Serialize)]
pub struct ScanEntry<'a> {
    pub region: &'a str,
    pub kind: crate::kinds::Kind,
    pub control: &'static str,
    pub name: &'a str,
    pub arn: &'a str,
    pub compliant: bool,
    pub rule: &'a str,
    pub explanation: &'a str,
    pub encryption_flag: Option<bool>,
    pub instance_count: Option<u64>,
    pub schedules: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub managed_by_stack: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ScanReport<'a> {
    pub evaluation: Evaluation,
    pub regions: &'a [String],
    pub summary: ScanSummary,
    pub definitions: Vec<ScanEntry<'a>>,
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
        regions: &'a [String],
        judged: &'a [(Definition, Verdict)],
        problems: &'a [Problem],
    ) -> ScanReport<'a> {
        let definitions: Vec<ScanEntry<'a>> = judged
            .iter()
            .map(|(d, v)| ScanEntry {
                region: &d.region,
                kind: d.kind,
                control: v.control,
                name: &d.name,
                arn: &d.arn,
                compliant: v.compliant,
                rule: &v.rule,
                explanation: &v.explanation,
                encryption_flag: v.encryption_flag,
                instance_count: v.instance_count,
                schedules: d.schedules.iter().map(|s| s.name.as_str()).collect(),
                managed_by_stack: crate::plan::managing_stack(&d.tags),
            })
            .collect();
        let compliant = definitions.iter().filter(|d| d.compliant).count();
        ScanReport {
            evaluation,
            regions,
            summary: ScanSummary {
                total: definitions.len(),
                compliant,
                non_compliant: definitions.len() - compliant,
            },
            definitions,
            problems,
        }
    }

    pub fn to_text(&self, style: Style) -> String {
        let paint = Paint(style.color);
        let mut out = String::new();
        if self.definitions.is_empty() {
            writeln!(
                out,
                "No model-monitor job definitions found in {}.",
                self.regions.join(", ")
            )
            .expect("write");
            return out;
        }
        let widths = [
            self.definitions
                .iter()
                .map(|d| d.region.len())
                .max()
                .unwrap_or(0)
                .max(6),
            self.definitions
                .iter()
                .map(|d| d.kind.cli_name().len())
                .max()
                .unwrap_or(0)
                .max(4),
            12,
            self.definitions
                .iter()
                .map(|d| d.name.len())
                .max()
                .unwrap_or(0)
                .max(4),
        ];
        writeln!(
            out,
            "{}",
            paint.bold(&format!(
                "{:w0$}  {:w1$}  {:w2$}  {:w3$}  {:9}  WHY",
                "REGION",
                "KIND",
                "CONTROL",
                "NAME",
                "COMPLIANT",
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2],
                w3 = widths[3]
            ))
        )
        .expect("write");
        for d in &self.definitions {
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
                "{:w0$}  {:w1$}  {:w2$}  {:w3$}  {verdict}  {why}",
                d.region,
                d.kind.cli_name(),
                d.control,
                d.name,
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2],
                w3 = widths[3]
            )
            .expect("write");
        }
        writeln!(
            out,
            "\n{} definitions: {} non-compliant, {} compliant ({} evaluation).",
            self.summary.total,
            self.summary.non_compliant,
            self.summary.compliant,
            self.evaluation.as_str()
        )
        .expect("write");
        out
    }

    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        writeln!(
            out,
            "## sm-recreate scan\n\nRegions {}, evaluation `{}`: **{} non-compliant, {} compliant**.\n",
            self.regions.join(", "),
            self.evaluation.as_str(),
            self.summary.non_compliant,
            self.summary.compliant
        )
        .expect("write");
        write_problems_markdown(&mut out, self.problems);
        writeln!(
            out,
            "| Region | Kind | Control | Name | Compliant | Why |\n|---|---|---|---|---|---|"
        )
        .expect("write");
        for d in &self.definitions {
            writeln!(
                out,
                "| {} | {} | {} | `{}` | {} | {} |",
                d.region,
                d.kind,
                d.control,
                d.name,
                if d.compliant { "yes" } else { "**no**" },
                d.explanation.replace('|', "\\|")
            )
            .expect("write");
        }
        out
    }
}
