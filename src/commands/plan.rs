//! `plan`: what `apply` would change, as diffs; optionally saved as a plan file. Read-only.

use super::common;
use crate::cli::{GlobalArgs, PlanArgs};
use crate::exit::{ExitStatus, UsageError};
use crate::output::Output;
use crate::plan::Summary;
use crate::plan::document::PlanDocument;
use crate::render::{self, Format, Style};

pub async fn run(out: &Output, global: &GlobalArgs, args: PlanArgs) -> anyhow::Result<ExitStatus> {
    let selection = common::resolve_selection(&args.selection)?;
    let rebuild = common::resolve_rebuild(&args.rebuild)?;
    if let Some(out) = &args.out {
        check_writable(out)?;
    }
    // `planned.read` is kept to the end: under `--sandbox` its session holds the emulator.
    let planned = common::plan_now(global, &selection, &args.selection, rebuild).await?;
    let plans = planned.by_account();
    let unreachable = &planned.read.reach.unreachable;
    // Its items are made as it is written (twice: for the checksum, then the text).
    let document = (args.out.is_some() || args.format == Format::Json).then(|| {
        PlanDocument::of_plans(
            &plans,
            unreachable,
            args.selection.evaluation,
            &planned.read.session.regions,
            selection.scope.all_fixes(),
        )
        .with_skipped_findings(&planned.read.skipped_findings)
    });
    if let (Some(out), Some(document)) = (&args.out, &document) {
        std::fs::File::create(out)
            .and_then(|file| document.write_pretty(file))
            .map_err(|e| {
                UsageError::new(format!("cannot write the plan file {}: {e}", out.display()))
            })?;
        tracing::info!(path = %out.display(), "plan file written");
    }
    let style = Style {
        color: out.color(),
        show_secrets: args.show_secrets,
    };
    if args.show_secrets && args.format != Format::Text {
        tracing::warn!(
            "--show-secrets applies to the text format only; {} output stays redacted",
            if args.format == Format::Markdown {
                "markdown"
            } else {
                "JSON"
            }
        );
    }
    let skipped = &planned.read.skipped_findings;
    let text = match args.format {
        Format::Text => {
            render::plan_text(&plans, unreachable, style)
                + &crate::securityhub::skipped_findings_text(skipped)
        }
        // Markdown goes into change tickets, like the plan file: never with secrets.
        Format::Markdown => {
            render::plan_markdown(
                &plans,
                unreachable,
                Style {
                    show_secrets: false,
                    ..style
                },
            ) + &crate::securityhub::skipped_findings_markdown(skipped)
        }
        Format::Json => render::plan_json(document.as_ref().expect("made for JSON")),
    };
    out.data(&text)?;
    if let Some(path) = &args.out {
        out.notice(format!(
            "Plan saved to {}; apply exactly this with `sm-recreate apply {}`.",
            path.display(),
            path.display()
        ));
    }
    let mut summary = Summary::default();
    for (_, plan) in &plans {
        summary.add(plan.summary());
    }
    let status = if args.detailed_exitcode && summary.changes() > 0 {
        ExitStatus::NonCompliant
    } else {
        ExitStatus::Success
    };
    Ok(common::status_for(&planned.read, status))
}

/// Fails before any AWS call when the plan file cannot be written.
fn check_writable(path: &std::path::Path) -> Result<(), UsageError> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    };
    if !parent.is_dir() {
        return Err(UsageError::new(format!(
            "cannot write the plan file {}: directory {} does not exist",
            path.display(),
            parent.display()
        )));
    }
    if path.is_dir() {
        return Err(UsageError::new(format!(
            "cannot write the plan file {}: it is a directory",
            path.display()
        )));
    }
    Ok(())
}
