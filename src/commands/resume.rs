//! `resume`: finish or roll back what an interrupted apply left, then do what it never started.

use super::runs::{execute, executor, hints, open_state_dir, print_report};
use crate::apply::report::RunReport;
use crate::apply::{Target, Work};
use crate::cli::{GlobalArgs, ResumeArgs};
use crate::exit::{ExitStatus, UsageError};
use crate::journal::{RunSummary, Snapshot};
use crate::output::Output;
use crate::settings::Session;
use std::collections::BTreeSet;
use std::sync::Arc;

pub async fn run(
    out: &Output,
    global: &GlobalArgs,
    args: ResumeArgs,
) -> anyhow::Result<ExitStatus> {
    let state = open_state_dir(&global.state_dir, "resume")?;
    let run_id = match &args.run_id {
        Some(id) => id.clone(),
        None => {
            let mut incomplete = Vec::new();
            let mut restores = Vec::new();
            for id in state.run_ids()?.into_iter().rev() {
                let run = state.existing_run(&id)?;
                let summary = RunSummary::from_records(&run.records()?);
                if summary.is_complete() {
                    continue;
                }
                // A restore is continued by running the same restore command again.
                if summary.is_restore() {
                    out.notice(format!(
                        "Run {id} is an unfinished restore: {}.",
                        restore_again(global, state.root(), &summary)
                    ));
                    restores.push(id);
                    continue;
                }
                incomplete.push(id);
            }
            if incomplete.len() > 1 {
                out.notice(format!(
                    "Other unfinished runs, to resume by id afterwards: {}.",
                    incomplete[1..].join(", ")
                ));
            }
            match incomplete.into_iter().next() {
                Some(id) => id,
                None if !restores.is_empty() => {
                    return Err(UsageError::new(format!(
                        "no unfinished apply to resume; the unfinished run {} is a restore",
                        restores.join(", ")
                    ))
                    .with_hint("run the restore command named above again: it finishes the restore")
                    .into());
                }
                None => {
                    let note = format!(
                        "Nothing to resume: every run in {} is complete.",
                        global.state_dir.display()
                    );
                    let report = RunReport::nothing_to_do(None, note);
                    return Ok(print_report(out, &report, args.format));
                }
            }
        }
    };
    let run = Arc::new(state.existing_run(&run_id).map_err(|e| {
        UsageError::new(e.to_string()).with_hint(format!(
            "runs are the folders in {}",
            state.root().join("runs").display()
        ))
    })?);
    let summary = RunSummary::from_records(&run.records()?);
    let unfinished: Vec<_> = summary.unfinished().into_iter().cloned().collect();
    if unfinished.is_empty() {
        let note = format!("Nothing to resume: run {run_id} is complete.");
        let report = RunReport::nothing_to_do(Some(&run_id), note);
        return Ok(print_report(out, &report, args.format));
    }
    // Read every snapshot before any call: a damaged one is an input error, nothing touched.
    let mut in_flight = Vec::new();
    let mut fresh = Vec::new();
    for item in &unfinished {
        match summary.snapshot_of(&item.item) {
            Some(path) => {
                let snapshot = Snapshot::read(path).map_err(|e| {
                    UsageError::new(e.to_string()).with_hint(
                        "the journal names this snapshot; restore it by hand if it is damaged",
                    )
                })?;
                in_flight.push((snapshot, path.clone(), summary.progress_of(&item.item)));
            }
            None => fresh.push(Target {
                key: item.item.clone(),
                planned_sha256: item.snapshot_sha256.clone(),
                temporary_name: item.temporary_name.clone(),
            }),
        }
    }
    let regions: Vec<String> = unfinished
        .iter()
        .map(|p| p.item.region.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let session = Session::connect(global, &regions).await?;
    let account_id = session.account_id().await?;
    if summary.account_id.as_deref() != Some(account_id.as_str()) {
        return Err(UsageError::new(format!(
            "run {run_id} was for account {}, but the credentials are for account {account_id}",
            summary.account_id.as_deref().unwrap_or("unknown")
        ))
        .with_hint("use the profile of that account (--profile)")
        .into());
    }
    let missing: Vec<&String> = regions
        .iter()
        .filter(|r| !session.regions.contains(r))
        .collect();
    if !missing.is_empty() {
        return Err(UsageError::new(format!(
            "run {run_id} has definitions in {}, which --region leaves out",
            missing
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .into());
    }
    let Some(strategy) = summary.strategy() else {
        return Err(UsageError::new(format!(
            "run {run_id} is a `restore` run, which resume does not continue"
        ))
        .with_hint(format!(
            "{}: it checks what exists and finishes the restore",
            restore_again(global, state.root(), &summary)
        ))
        .into());
    };
    out.notice(format!(
        "Resuming run {run_id}: {} in flight, {} not started.",
        in_flight.len(),
        fresh.len()
    ));
    let executor = executor(
        &session,
        hints(global, state.root()),
        run.clone(),
        account_id,
        strategy,
        args.pacing,
        usize::from(args.concurrency),
    );
    // In-flight definitions first (their schedules may be on a temporary copy), then the rest.
    let work: Vec<Work> = in_flight
        .into_iter()
        .map(|(snapshot, path, progress)| Work::InFlight(Box::new(snapshot), path, progress))
        .chain(fresh.into_iter().map(Work::Fresh))
        .collect();
    let report = execute(out, &executor, work).await;
    Ok(print_report(out, &report, args.format))
}

/// How to finish an interrupted restore run: the same `restore` command again, as it can be run.
fn restore_again(
    global: &GlobalArgs,
    state_root: &std::path::Path,
    summary: &RunSummary,
) -> String {
    let snapshot = summary.restoring().map_or_else(
        || "SNAPSHOT".to_owned(),
        |s| crate::settings::shell_quote(&s.display().to_string()),
    );
    match hints(global, state_root).command {
        Some(command) => {
            format!("run `{command} restore {snapshot}` again (with --replace if it was given)")
        }
        None => "it restored a --sandbox account, which ended with its process".to_owned(),
    }
}
