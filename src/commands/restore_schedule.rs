//! `restore` of a schedule's snapshot: put its configuration back as the snapshot recorded it,
//! in place (a schedule is never deleted). With `--replace` the live configuration is
//! snapshotted first and the change goes through the same steps as an apply's in-place fix, so a
//! failure puts the live configuration back.

use super::restore::{close_earlier_restores, unfinished_replace};
use super::runs;
use crate::apply::Outcome;
use crate::apply::inline::InlineJob;
use crate::apply::ops::config_matches;
use crate::apply::report::RunReport;
use crate::cli::{GlobalArgs, RestoreArgs};
use crate::exit::{RunError, UsageError};
use crate::journal::{
    Event, PlannedItem, Run, RunKind, RunSummary, Snapshot, StateDir, Status, snapshot_of,
};
use crate::kinds::Fixes;
use crate::output::Output;
use crate::sagemaker::SageMaker;

pub async fn run(
    out: &Output,
    global: &GlobalArgs,
    args: &RestoreArgs,
    state: &StateDir,
    client: &SageMaker,
    recorded: Snapshot,
) -> anyhow::Result<RunReport> {
    let key = recorded.key();
    let timings = runs::timings(args.pacing);
    let recorded_path =
        std::fs::canonicalize(&args.snapshot).unwrap_or_else(|_| args.snapshot.clone());
    let hints = runs::hints(global, state.root());
    let again = hints.restore_replacing(&recorded.region, &recorded_path);
    let wanted = recorded.describe["MonitoringScheduleConfig"].clone();
    let job = |run, current: Snapshot, current_path| InlineJob {
        run,
        client,
        snapshot: current,
        snapshot_path: current_path,
        target_config: wanted.clone(),
        hints: hints.clone(),
        again: Some(again.clone()),
        timings,
    };
    let finish = |run: &Run, outcome: Outcome| {
        for event in [
            Event::ItemFinished {
                item: key.clone(),
                outcome: outcome.status(),
                message: outcome.message(),
            },
            Event::RunFinished,
        ] {
            if let Err(err) = run.record(event) {
                tracing::error!("could not journal the end of the restore: {err}");
                break;
            }
        }
        RunReport::of_run(
            &run.run_id,
            vec![(key.clone(), outcome)],
            hints.command.is_some().then(|| again.clone()),
        )
    };

    // An interrupted `restore --replace` of this snapshot: finish it from what is live.
    if let Some((run_id, current_path)) = unfinished_replace(state, &key, &recorded_path)? {
        let run = state.existing_run(&run_id)?;
        let progress = RunSummary::from_records(&run.records()?).progress_of(&key);
        let current = Snapshot::read(&current_path).map_err(|e| {
            UsageError::new(e.to_string())
                .with_hint("the interrupted restore's own snapshot is damaged; restore by hand")
        })?;
        out.notice(format!("Continuing the interrupted restore run {run_id}."));
        let outcome = job(&run, current, current_path).reconcile(progress).await;
        return Ok(finish(&run, outcome));
    }

    let ops = crate::apply::inline::schedule_ops(client, timings);
    let Some(live) = ops.settle_schedule(&recorded.name).await? else {
        return Err(UsageError::new(format!(
            "{key} no longer exists; restore puts a schedule's configuration back in place and \
             does not create schedules"
        ))
        .with_hint(format!(
            "recreate it by hand from the snapshot's describe JSON ({}) with `aws sagemaker \
             create-monitoring-schedule`",
            args.snapshot.display()
        ))
        .into());
    };
    if config_matches(live.config(), &wanted) {
        // Earlier restores of this snapshot that stopped before acting are done with too, and
        // so is the snapshot's own run: the schedule is as it was before that run.
        close_earlier_restores(state, &key, &recorded_path, Status::UpdatedInPlace, None)?;
        close_snapshot_run(state, &recorded, None)?;
        return Ok(RunReport::nothing_to_do(
            None,
            format!("{key} already holds the snapshot's configuration; nothing to do"),
        ));
    }
    if !args.replace {
        return Err(
            UsageError::new(format!("{key} exists and differs from the snapshot"))
                .with_hint(
                    "pass --replace to put the snapshot's configuration back (the current one \
                     is snapshotted first)",
                )
                .into(),
        );
    }
    let arn = live.raw["MonitoringScheduleArn"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let tags = ops.patiently(|| client.list_tags(&arn)).await?;
    let run = state.new_run()?;
    // The snapshot of what is replaced: the job's "before", which a failure puts back.
    let current = snapshot_of(
        &run,
        &key,
        Fixes::NONE,
        &arn,
        live.raw,
        tags,
        Vec::new(),
        None,
    );
    let current_path = run.write_snapshot(&current)?;
    run.record(Event::RunStarted {
        run_id: run.run_id.clone(),
        account_id: recorded.account_id.clone(),
        kind: RunKind::Restore {
            snapshot: Some(recorded_path.clone()),
        },
        items: vec![PlannedItem {
            item: key.clone(),
            temporary_name: None,
            snapshot_sha256: current.snapshot_sha256.clone(),
            fixes: Fixes::NONE,
            restart_running: false,
        }],
    })?;
    let started = run.record(Event::ItemStarted {
        item: key.clone(),
        snapshot: current_path.clone(),
    });
    if let Err(err) = started {
        return Err(RunError {
            status: crate::exit::ExitStatus::Failed,
            run_id: run.run_id.clone(),
            continue_with: again,
            source: err.into(),
        }
        .into());
    }
    out.notice(format!(
        "Run {}: putting {key}'s configuration back from {}; the current one is snapshotted in {}.",
        run.run_id,
        recorded_path.display(),
        current_path.display()
    ));
    // `Updated` is the restore done; anything else has put the current configuration back or
    // says what to run.
    let outcome = job(&run, current, current_path).forward().await;
    if outcome.status() == Status::UpdatedInPlace
        && let Err(err) = close_earlier_restores(
            state,
            &key,
            &recorded_path,
            Status::UpdatedInPlace,
            Some(&run.run_id),
        )
    {
        tracing::warn!("could not close earlier restores of this snapshot: {err}");
    }
    if outcome.status() == Status::UpdatedInPlace
        && let Err(err) = close_snapshot_run(state, &recorded, Some(&run.run_id))
    {
        tracing::warn!(
            "could not record the restore in run {}: {err}",
            recorded.run_id
        );
    }
    Ok(finish(&run, outcome))
}

/// The apply run that wrote the snapshot, if it left the schedule unfinished (in doubt, or a
/// rollback that did not complete, whose manual action is this restore): the schedule now holds
/// the snapshot's configuration, so that run's item is rolled back, and `resume` no longer takes
/// this restore's own update for someone else's.
fn close_snapshot_run(
    state: &StateDir,
    recorded: &Snapshot,
    by: Option<&str>,
) -> Result<(), crate::journal::JournalError> {
    let key = recorded.key();
    let Ok(run) = state.existing_run(&recorded.run_id) else {
        // A snapshot from another state directory: its run is not ours to close.
        return Ok(());
    };
    let summary = RunSummary::from_records(&run.records()?);
    let unfinished = summary.unfinished().iter().any(|p| p.item == key);
    if summary.is_restore() || !unfinished {
        return Ok(());
    }
    run.record(Event::ItemFinished {
        item: key,
        outcome: Status::RolledBack,
        message: Some(match by {
            Some(restore) => format!("put back as it was by the restore run {restore}"),
            None => "found put back as it was by a restore".to_owned(),
        }),
    })
}
