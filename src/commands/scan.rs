//! `scan`: every definition and its compliance. Read-only.

use super::common;
use crate::cli::{GlobalArgs, ScanArgs};
use crate::compliance;
use crate::exit::ExitStatus;
use crate::output::Output;
use crate::render::{Format, ScanReport, Style};

pub async fn run(out: &Output, global: &GlobalArgs, args: ScanArgs) -> anyhow::Result<ExitStatus> {
    let selection = common::resolve_selection(&args.selection)?;
    let (session, inventory) =
        common::connect_and_read(global, &selection, usize::from(args.selection.concurrency))
            .await?;
    let judged: Vec<_> = inventory
        .definitions
        .iter()
        .map(|d| {
            let verdict = compliance::evaluate(d.kind, &d.raw, args.selection.evaluation);
            (d.clone(), verdict)
        })
        .collect();
    let report = ScanReport::new(
        args.selection.evaluation,
        &session.regions,
        &judged,
        &inventory.problems,
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
    Ok(common::status_for(&inventory, status))
}
