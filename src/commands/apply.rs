//! `apply`: plan (or read a reviewed plan file), confirm, recreate, report.

use super::common;
use super::runs::{execute, executor, hints, open_state_dir, print_report};
use crate::apply::report::RunReport;
use crate::apply::{Target, Work};
use crate::cli::{ApplyArgs, GlobalArgs, ReportFormat, SelectionArgs};
use crate::confirm;
use crate::exit::{ExitStatus, UsageError};
use crate::journal::{Event, PlannedItem, RunKind};
use crate::output::Output;
use crate::plan::Action;
use crate::plan::document::{FORMAT_VERSION, PlanDocument};
use crate::render::{self, Style};
use crate::resource::ResourceId;
use crate::settings::Session;
use std::path::Path;
use std::sync::Arc;

pub async fn run(out: &Output, global: &GlobalArgs, args: ApplyArgs) -> anyhow::Result<ExitStatus> {
    // Everything that can be refused is refused before the first AWS call.
    let document = match &args.plan_file {
        Some(path) => {
            refuse_selection_with_plan_file(&args.selection)?;
            if !global.regions.is_empty() {
                return Err(
                    UsageError::new("--region cannot be combined with a plan file")
                        .with_hint("a plan file applies to the regions it was made for")
                        .into(),
                );
            }
            Some(read_plan_file(path)?)
        }
        None => None,
    };
    let selection = common::resolve_selection(&args.selection)?;
    if !args.yes && !confirm::can_prompt() {
        return Err(UsageError::new("apply needs confirmation, and there is no terminal to ask on")
            .with_hint("review with `sm-recreate plan`, then run `sm-recreate apply --yes` (or apply a reviewed plan file with --yes)")
            .into());
    }
    let state = open_state_dir(&global.state_dir, "apply")?;

    let (session, targets, account_id) = match &document {
        Some(document) => {
            let session = Session::connect(global, &document.regions).await?;
            let account_id = session.account_id().await?;
            if account_id != document.account_id {
                return Err(UsageError::new(format!(
                    "the plan is for account {}, but the credentials are for account {account_id}",
                    document.account_id
                ))
                .with_hint("use the profile of the planned account (--profile), or plan again")
                .into());
            }
            let targets: Vec<Target> = document
                .items
                .iter()
                .filter(|item| item.action == Action::Recreate)
                .map(|item| Target {
                    key: ResourceId::definition(&account_id, &item.region, item.kind, &item.name),
                    planned_sha256: item.snapshot_sha256.clone(),
                    temporary_name: item.temporary_name.clone(),
                })
                .collect();
            out.notice(format!(
                "Plan file: account {}, {} ({} evaluation): {}.",
                document.account_id,
                document.regions.join(", "),
                document.evaluation.as_str(),
                document.summary
            ));
            (session, targets, account_id)
        }
        None => {
            let common::Planned {
                session,
                account_id,
                plan,
                ..
            } = common::plan_now(global, &selection, &args.selection).await?;
            if args.format == ReportFormat::Text {
                let style = Style {
                    color: out.color(),
                    show_secrets: args.show_secrets,
                };
                out.data(&render::plan_text(&plan, style))?;
            }
            let targets = plan
                .to_recreate()
                .map(|item| Target {
                    key: ResourceId::definition(
                        &account_id,
                        &item.definition.region,
                        item.definition.kind,
                        &item.definition.name,
                    ),
                    planned_sha256: item.snapshot_sha256.clone(),
                    temporary_name: item.temporary_name.clone(),
                })
                .collect();
            (session, targets, account_id)
        }
    };
    if targets.is_empty() {
        // Planned now, in text, the plan shown already says so.
        if document.is_some() || args.format == ReportFormat::Json {
            let report = RunReport::nothing_to_do(None, "Nothing to recreate.");
            print_report(out, &report, args.format);
        }
        return Ok(ExitStatus::Success);
    }
    let targets = if args.yes {
        targets
    } else {
        match ask(&targets, &account_id, &session.regions)? {
            Some(chosen) => chosen,
            None => {
                out.notice("Nothing was changed.");
                return Ok(ExitStatus::Success);
            }
        }
    };

    let run = Arc::new(state.new_run()?);
    run.record(Event::RunStarted {
        run_id: run.run_id.clone(),
        account_id: account_id.clone(),
        kind: RunKind::Apply(args.strategy),
        items: targets.iter().map(PlannedItem::from).collect(),
    })?;
    out.notice(format!(
        "Run {}: recreating {} definition(s) in account {account_id} ({} strategy); journal and snapshots in {}.",
        run.run_id,
        targets.len(),
        args.strategy.as_str(),
        run.dir().display()
    ));
    let executor = executor(
        &session,
        hints(global, state.root()),
        run.clone(),
        account_id,
        args.strategy,
        args.pacing,
        usize::from(args.selection.concurrency),
    );
    let work = targets.into_iter().map(Work::Fresh).collect();
    let report = execute(out, &executor, work).await;
    Ok(print_report(out, &report, args.format))
}

fn refuse_selection_with_plan_file(selection: &SelectionArgs) -> Result<(), UsageError> {
    if !selection.kinds.is_empty()
        || !selection.controls.is_empty()
        || !selection.names.is_empty()
        || selection.from_findings.is_some()
        || selection.include_managed
    {
        return Err(UsageError::new("selection flags cannot be combined with a plan file")
            .with_hint("a plan file applies exactly what was reviewed; make a new plan to change the selection"));
    }
    Ok(())
}

/// Reads and checks a plan file: JSON of our format version whose checksum matches its content.
pub fn read_plan_file(path: &Path) -> Result<PlanDocument, UsageError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| UsageError::new(format!("cannot read plan file {}: {e}", path.display())))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        UsageError::new(format!(
            "plan file {} is not valid JSON ({e}): truncated or corrupt",
            path.display()
        ))
        .with_hint("make a new plan with `sm-recreate plan --out FILE`")
    })?;
    let version = value
        .get("format_version")
        .and_then(serde_json::Value::as_u64);
    if version != Some(u64::from(FORMAT_VERSION)) {
        return Err(UsageError::new(format!(
            "plan file {} has format version {}, this sm-recreate reads version {FORMAT_VERSION}",
            path.display(),
            version.map_or("none".to_owned(), |v| v.to_string())
        ))
        .with_hint("make a new plan with this version of sm-recreate"));
    }
    let document: PlanDocument = serde_json::from_value(value)
        .map_err(|e| UsageError::new(format!("plan file {} is not a plan: {e}", path.display())))?;
    if document.checksum != document.compute_checksum() {
        return Err(UsageError::new(format!(
            "plan file {} was edited after it was made (its checksum does not match its content)",
            path.display()
        ))
        .with_hint("apply only reviewed, unmodified plans; make a new plan to change it"));
    }
    if let Some(item) = document
        .items
        .iter()
        .find(|item| !document.regions.contains(&item.region))
    {
        return Err(UsageError::new(format!(
            "plan file {} lists {} in {}, outside its regions ({})",
            path.display(),
            item.name,
            item.region,
            document.regions.join(", ")
        ))
        .with_hint("make a new plan with `sm-recreate plan --out FILE`"));
    }
    Ok(document)
}

/// The checklist and the final question. `None` when the user declines.
fn ask(
    targets: &[Target],
    account_id: &str,
    regions: &[String],
) -> anyhow::Result<Option<Vec<Target>>> {
    let labels: Vec<String> = targets.iter().map(|t| t.key.to_string()).collect();
    let Some(chosen) = confirm::choose(&labels)? else {
        return Ok(None);
    };
    if chosen.is_empty() {
        return Ok(None);
    }
    let question = format!(
        "Recreate {} definition(s) in account {account_id} ({})?",
        chosen.len(),
        regions.join(", ")
    );
    if !confirm::confirm(&question)? {
        return Ok(None);
    }
    Ok(Some(
        chosen.into_iter().map(|i| targets[i].clone()).collect(),
    ))
}
