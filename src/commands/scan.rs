//! `scan`: every definition (and notebook instance, when selected) and its compliance.
//! Read-only.

use super::common;
use crate::cli::{GlobalArgs, ScanArgs};
use crate::compliance::{self, JobView};
use crate::exit::ExitStatus;
use crate::kinds::Subject;
use crate::output::Output;
use crate::render::{AccountScan, Format, ScanReport, Style};

pub async fn run(out: &Output, global: &GlobalArgs, args: ScanArgs) -> anyhow::Result<ExitStatus> {
    let selection = common::resolve_selection(&args.selection)?;
    let read = common::connect_and_read(global, &selection, args.selection.concurrency).await?;
    let evaluation = args.selection.evaluation;
    let scope = &selection.scope;
    let accounts: Vec<AccountScan<'_>> = read
        .inventories
        .iter()
        .map(|account| AccountScan {
            account_id: &account.account_id,
            definitions: account
                .inventory
                .definitions
                .iter()
                .filter_map(|d| {
                    let fixes = scope.fixes(Subject::Definition(d.kind))?;
                    Some((
                        d,
                        compliance::evaluate_definition(d.kind, &d.raw, evaluation, fixes),
                    ))
                })
                .collect(),
            schedules: account
                .inventory
                .schedules
                .iter()
                .filter_map(|s| {
                    let fixes = scope.fixes(Subject::InlineSchedule)?;
                    let job = JobView::of_inline_schedule(&s.raw)?;
                    Some((
                        s,
                        compliance::evaluate(Subject::InlineSchedule, &job, evaluation, fixes),
                    ))
                })
                .collect(),
            notebooks: match &selection.notebooks {
                Some(judged) => account
                    .inventory
                    .notebooks
                    .iter()
                    .map(|n| (n, compliance::evaluate_notebook(&n.raw, judged.controls())))
                    .collect(),
                None => Vec::new(),
            },
            problems: &account.inventory.problems,
        })
        .collect();
    let report = ScanReport::new(
        evaluation,
        scope.all_fixes(),
        &read.session.regions,
        &accounts,
        &read.reach.unreachable,
    )
    .with_skipped_findings(&read.skipped_findings)
    .covering(
        !scope.kinds().is_empty() || scope.covers_inline_schedules(),
        selection.notebooks.is_some(),
    );
    let style = Style {
        color: out.color(),
        show_secrets: false,
    };
    let text = match args.format {
        Format::Text => report.to_text(style),
        Format::Markdown => report.to_markdown(),
        Format::Json => {
            let mut text = serde_json::to_string_pretty(&report)?;
            text.push('\n');
            text
        }
    };
    out.data(&text)?;
    let status = if args.detailed_exitcode && report.summary.non_compliant > 0 {
        ExitStatus::NonCompliant
    } else {
        ExitStatus::Success
    };
    Ok(common::status_for(&read, status))
}
