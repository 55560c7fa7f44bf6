//! `restore` of a schedule's snapshot: put its configuration back as the snapshot recorded it,
//! in place (a schedule is never deleted). With `--replace` the live configuration is
//! snapshotted first and the change goes through the same steps as an apply's in-place fix, so a
//! failure puts the live configuration back.

use super::runs;
use crate::apply::Outcome;
use crate::apply::inline::InlineJob;
use crate::apply::report::RunReport;
use crate::cli::{GlobalArgs, RestoreArgs};
use crate::exit::{RunError, UsageError};
use crate::journal::{Event, PlannedItem, RunKind, Snapshot, StateDir, snapshot_of};
use crate::kinds::{Fixes, Kind};
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
    let ops = crate::apply::ops::Ops {
        client,
        kind: Kind::DataQuality,
        timings,
    };
    let Some(live) = ops.find_schedule(&recorded.name).await? else {
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
    let wanted = &recorded.describe["MonitoringScheduleConfig"];
    if live.config() == wanted {
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
    let recorded_path =
        std::fs::canonicalize(&args.snapshot).unwrap_or_else(|_| args.snapshot.clone());
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
        }],
    })?;
    let hints = runs::hints(global, state.root());
    let again = hints.restore_replacing(&recorded.region, &recorded_path);
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
    let job = InlineJob {
        run: &run,
        client,
        snapshot: current,
        snapshot_path: current_path,
        target_config: wanted.clone(),
        hints: hints.clone(),
        again: Some(again.clone()),
        timings,
    };
    // `Updated` is the restore done; anything else has put the current configuration back or
    // says what to run.
    let outcome: Outcome = job.forward().await;
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
    let continue_with = hints.command.is_some().then_some(again);
    Ok(RunReport::of_run(
        &run.run_id,
        vec![(key, outcome)],
        continue_with,
    ))
}
