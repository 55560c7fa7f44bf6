//! `resume`: finish or roll back what an interrupted apply left, then do what it never started.

use super::findings::{FindingsUpdates, Worked};
use super::runs::{self, RunSettings};
use crate::apply::report::RunReport;
use crate::apply::{Strategy, Target, Work};
use crate::cli::{GlobalArgs, ResumeArgs};
use crate::exit::{ExitStatus, UsageError};
use crate::journal::{PlannedItem, Run, RunSummary, Snapshot, StateDir};
use crate::output::Output;
use crate::settings::Session;
use std::collections::BTreeSet;
use std::sync::Arc;

pub async fn run(
    out: &Output,
    global: &GlobalArgs,
    args: ResumeArgs,
) -> anyhow::Result<ExitStatus> {
    let state = runs::open_state_dir(&global.state_dir, "resume")?;
    let run_id = match &args.run_id {
        Some(id) => id.clone(),
        None => match latest_unfinished(out, global, &state)? {
            Some(id) => id,
            None => {
                let note = format!(
                    "Nothing to resume: every run in {} is complete.",
                    global.state_dir.display()
                );
                let report = RunReport::nothing_to_do(None, note);
                return Ok(runs::print_report(out, &report, args.format));
            }
        },
    };
    let (run, summary) = open_run(&state, &run_id)?;
    let unfinished: Vec<PlannedItem> = summary.unfinished().into_iter().cloned().collect();
    if unfinished.is_empty() {
        let note = format!("Nothing to resume: run {run_id} is complete.");
        let report = RunReport::nothing_to_do(Some(&run_id), note);
        return Ok(runs::print_report(out, &report, args.format));
    }
    let work = work_left(&summary, &unfinished)?;
    let regions = regions_of(&unfinished);
    let session = Session::connect(global, &regions).await?;
    check_regions_reachable(&run_id, &regions, &session)?;
    let accounts = accounts_of(&unfinished);
    let reach = session
        .reach_recorded(
            &accounts,
            &format!("run {run_id}"),
            usize::from(args.concurrency.concurrency),
        )
        .await?;
    let strategy = recorded_strategy(global, &state, &run_id, &summary)?;
    out.notice(format!(
        "Resuming run {run_id}: {} in flight, {} not started.",
        work.iter()
            .filter(|w| matches!(w, Work::InFlight(..)))
            .count(),
        work.iter().filter(|w| matches!(w, Work::Fresh(..))).count(),
    ));
    let settings = RunSettings {
        hints: runs::hints(global, state.root()),
        strategy,
        pacing: args.pacing,
        concurrency: args.concurrency,
    };
    let executor = runs::executor(&session, &reach, run, settings);
    // A resumed run finds its findings by ARN again: the journal does not keep them.
    let findings = args.findings.update_findings.then(|| {
        let worked = unfinished
            .iter()
            .map(|p| Worked {
                key: p.item.clone(),
                fixes: p.fixes,
            })
            .collect();
        FindingsUpdates::start(&session.sdk_config, &run_id, worked, None)
    });
    let report = runs::execute(out, &executor, work, findings.as_ref())
        .await
        .with_unreachable(&reach.unreachable);
    let report = runs::with_findings(out, report, findings).await;
    Ok(runs::print_report(out, &report, args.format))
}

/// The run `run_id` and what its journal says.
fn open_run(state: &StateDir, run_id: &str) -> anyhow::Result<(Arc<Run>, RunSummary)> {
    let run = state.existing_run(run_id).map_err(|e| {
        UsageError::new(e.to_string()).with_hint(format!(
            "runs are the folders in {}",
            state.root().join("runs").display()
        ))
    })?;
    let summary = RunSummary::from_records(&run.records()?);
    Ok((Arc::new(run), summary))
}

/// The regions the unfinished definitions are in, each once.
fn regions_of(unfinished: &[PlannedItem]) -> Vec<String> {
    unfinished
        .iter()
        .map(|p| p.item.region.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The newest run that is not complete, naming the others; `None` when every run is complete.
/// A restore is continued by running the same restore command again, so it is only named.
fn latest_unfinished(
    out: &Output,
    global: &GlobalArgs,
    state: &StateDir,
) -> anyhow::Result<Option<String>> {
    let mut incomplete = Vec::new();
    let mut restores = Vec::new();
    for id in state.run_ids()?.into_iter().rev() {
        let run = state.existing_run(&id)?;
        let summary = RunSummary::from_records(&run.records()?);
        if summary.is_complete() {
            continue;
        }
        if summary.is_restore() {
            // Hints, which -q keeps: an unfinished run may hold a definition only as its copy.
            out.hint(format!(
                "run {id} is an unfinished restore: {}",
                restore_again(global, state.root(), &summary)
            ));
            restores.push(id);
            continue;
        }
        incomplete.push(id);
    }
    if incomplete.len() > 1 {
        out.hint(format!(
            "other unfinished runs, to resume by id afterwards: {}",
            incomplete[1..].join(", ")
        ));
    }
    if incomplete.is_empty() && !restores.is_empty() {
        return Err(UsageError::new(format!(
            "no unfinished apply to resume; the unfinished run {} is a restore",
            restores.join(", ")
        ))
        .with_hint("run the restore command named above again: it finishes the restore")
        .into());
    }
    Ok(incomplete.into_iter().next())
}

/// The unfinished definitions as work: those in flight first (their schedules may be on a
/// temporary copy), then those never started. Every snapshot is read before any call: a
/// damaged one is an input error, and nothing is touched.
fn work_left(summary: &RunSummary, unfinished: &[PlannedItem]) -> Result<Vec<Work>, UsageError> {
    let mut in_flight = Vec::new();
    let mut fresh = Vec::new();
    for item in unfinished {
        match summary.snapshot_of(&item.item) {
            Some(path) => {
                let snapshot = Snapshot::read(path).map_err(|e| {
                    UsageError::new(e.to_string()).with_hint(
                        "the journal names this snapshot; restore it by hand if it is damaged",
                    )
                })?;
                let progress = summary.progress_of(&item.item);
                in_flight.push(Work::InFlight(Box::new(snapshot), path.clone(), progress));
            }
            None => fresh.push(Work::Fresh(Target {
                key: item.item.clone(),
                planned_sha256: item.snapshot_sha256.clone(),
                temporary_name: item.temporary_name.clone(),
                fixes: item.fixes,
                // The consent the interrupted run was given, as its journal recorded it.
                restart_running: item.restart_running,
            })),
        }
    }
    in_flight.extend(fresh);
    Ok(in_flight)
}

/// The accounts the unfinished items are in, each once, in the order the run listed them.
fn accounts_of(unfinished: &[PlannedItem]) -> Vec<String> {
    let mut accounts: Vec<String> = Vec::new();
    for item in unfinished {
        if !accounts.contains(&item.item.account_id) {
            accounts.push(item.item.account_id.clone());
        }
    }
    accounts
}

fn check_regions_reachable(
    run_id: &str,
    regions: &[String],
    session: &Session,
) -> Result<(), UsageError> {
    let missing: Vec<&str> = regions
        .iter()
        .filter(|r| !session.regions.contains(r))
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(UsageError::new(format!(
        "run {run_id} has definitions in {}, which --region leaves out",
        missing.join(", ")
    )))
}

/// The strategy the run was applied with; a restore run is refused, with how to finish it.
fn recorded_strategy(
    global: &GlobalArgs,
    state: &StateDir,
    run_id: &str,
    summary: &RunSummary,
) -> Result<Strategy, UsageError> {
    summary.strategy().ok_or_else(|| {
        UsageError::new(format!(
            "run {run_id} is a `restore` run, which resume does not continue"
        ))
        .with_hint(format!(
            "{}: it checks what exists and finishes the restore",
            restore_again(global, state.root(), summary)
        ))
    })
}

/// How to finish an interrupted restore run: the same `restore` command again, as it can be run.
fn restore_again(
    global: &GlobalArgs,
    state_root: &std::path::Path,
    summary: &RunSummary,
) -> String {
    let snapshot = summary.restoring().map_or_else(
        || "SNAPSHOT".to_owned(),
        |s| crate::shell::shell_quote(&s.display().to_string()),
    );
    match runs::hints(global, state_root).command {
        Some(command) => {
            format!("run `{command} restore {snapshot}` again (with --replace if it was given)")
        }
        None => "it restored a --sandbox account, which ended with its process".to_owned(),
    }
}
