//! `restore`: recreate a definition exactly as a snapshot recorded it.

use super::runs::{self, open_state_dir};
use crate::apply;
use crate::apply::ops::{Ops, holds};
use crate::apply::protocol::Job;
use crate::apply::report::RunReport;
use crate::apply::{Outcome, Strategy};
use crate::cli::{GlobalArgs, RestoreArgs};
use crate::exit::{ExitStatus, RunError, UsageError};
use crate::inventory;
use crate::journal::{
    Event, JournalError, PlannedItem, Run, RunKind, RunSummary, Snapshot, StateDir, Status,
    snapshot_of,
};
use crate::kinds::same_name;
use crate::output::Output;
use crate::request;
use crate::resource::ResourceId;
use crate::settings::Session;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

pub async fn run(
    out: &Output,
    global: &GlobalArgs,
    args: RestoreArgs,
) -> anyhow::Result<ExitStatus> {
    if !args.snapshot.is_file() {
        return Err(UsageError::new(format!(
            "{} is not a snapshot file",
            args.snapshot.display()
        ))
        .with_hint(
            "restore takes one snapshot file, STATE_DIR/runs/RUN_ID/snapshots/REGION.KIND.NAME.json, \
             as an apply's manual action names it",
        )
        .into());
    }
    let recorded = Snapshot::read(&args.snapshot).map_err(|e| {
        UsageError::new(e.to_string()).with_hint(
            "snapshots are STATE_DIR/runs/RUN_ID/snapshots/*.json, written by apply; they must be unmodified",
        )
    })?;
    if !global.regions.is_empty() && global.regions != [recorded.region.clone()] {
        return Err(UsageError::new(format!(
            "the snapshot is of a definition in {}; --region says otherwise",
            recorded.region
        ))
        .into());
    }
    let state = open_state_dir(&global.state_dir, "restore")?;
    let session = Session::connect(global, std::slice::from_ref(&recorded.region)).await?;
    let account_id = session.account_id().await?;
    if account_id != recorded.account_id {
        return Err(UsageError::new(format!(
            "the snapshot is from account {}, but the credentials are for account {account_id}",
            recorded.account_id
        ))
        .with_hint("use the profile of that account (--profile)")
        .into());
    }
    let client = session.sagemaker(&recorded.region);
    let timings = runs::timings(args.pacing);
    let ops = Ops {
        client: &client,
        kind: recorded.kind,
        timings,
    };
    let key = recorded.key();
    let restore_request = request::restore_request(&recorded.describe, &recorded.tags);
    let recorded_path =
        std::fs::canonicalize(&args.snapshot).unwrap_or_else(|_| args.snapshot.clone());
    let hints = runs::hints(global, state.root());
    let again = match &hints.command {
        Some(command) => format!(
            "{command} --region {} restore {}{}",
            crate::settings::shell_quote(&recorded.region),
            if args.replace { "--replace " } else { "" },
            crate::settings::shell_quote(&recorded_path.display().to_string())
        ),
        None => hints.resume(""),
    };
    // What the report names to continue the restore with, when a command can.
    let continue_with = hints.command.is_some().then(|| again.clone());
    // The copies the snapshot's run left (they carry its claim; a copy made by sm-recreate 0.1
    // carries none, and counts when the snapshot names it): schedules and copies under them are
    // this restore's to take back and clean up, since a person asked for it with the snapshot
    // that run wrote. A copy any other run made is left alone.
    let mut owned: Vec<String> = Vec::new();
    // A copy another run claimed: its name and that run's id.
    let mut foreign: Option<(String, String)> = None;
    let candidates = recorded
        .temporary_name
        .iter()
        .cloned()
        .chain(std::iter::once(request::temporary_name(&recorded.name)));
    for name in candidates {
        let seen = owned.iter().chain(foreign.iter().map(|(copy, _)| copy));
        if seen.into_iter().any(|o| same_name(o, &name)) {
            continue;
        }
        let Some(copy) = ops.find(&name).await? else {
            continue;
        };
        let arn = copy["JobDefinitionArn"].as_str().unwrap_or_default();
        let tags = ops.tags(arn).await?;
        let claim = tags
            .iter()
            .find(|t| t.key == request::CLAIM_TAG_KEY)
            .map(|t| t.value.clone());
        let ours = match &claim {
            Some(run_id) => *run_id == recorded.run_id,
            None => recorded.temporary_name.as_deref() == Some(name.as_str()),
        };
        if ours {
            owned.push(name);
        } else {
            foreign = Some((name, claim.unwrap_or_else(|| "unknown".to_owned())));
        }
    }
    // The job that puts the snapshot's content back, in `run`, working from `snapshot` (the
    // recorded one, or for `--replace` the one taken of what it replaces).
    let job = |run, snapshot, snapshot_path, extra_owned, owns_copy| Job {
        run,
        client: &client,
        snapshot,
        snapshot_path,
        target_request: restore_request.clone(),
        expected_tags: recorded.tags.clone(),
        hints: hints.clone(),
        extra_owned,
        again: Some(again.clone()),
        timings,
        owns_copy: AtomicBool::new(owns_copy),
    };
    // An interrupted `restore --replace` of this snapshot: continue it from where it stopped.
    if let Some((run_id, current_path)) = unfinished_replace(&state, &key, &recorded_path)? {
        let run = state.existing_run(&run_id)?;
        let progress = RunSummary::from_records(&run.records()?).progress_of(&key);
        let current = Snapshot::read(&current_path)?;
        out.notice(format!("Continuing the interrupted restore run {run_id}."));
        owned.retain(|name| Some(name) != current.temporary_name.as_ref());
        let job = job(&run, current, current_path, owned, false);
        let outcome = job.reconcile(Strategy::Staged, progress).await;
        let report = finish(&run, key, outcome, continue_with);
        return Ok(runs::print_report(out, &report, args.format));
    }
    if let Some((copy, owner)) = &foreign {
        return Err(UsageError::new(format!(
            "the temporary copy {copy} of {key} exists and belongs to run {owner}, which is \
             recreating this definition or kept its copy when it ended"
        ))
        .with_hint(format!(
            "if run {owner} is unfinished, `resume {owner}` with its state directory first; if \
             it ended (verify-failed and changed-during-run keep the copy), restore that run's \
             snapshot instead, or move any schedules off {copy} and delete it"
        ))
        .into());
    }
    let (live, listed) = tokio::join!(ops.find(&recorded.name), client.list_schedules(None));
    let (live, listed) = (live?, listed?);
    let references: Vec<_> = std::iter::once(recorded.name.as_str())
        .chain(owned.iter().map(String::as_str))
        .flat_map(|name| inventory::references_to(&listed, recorded.kind, name))
        .collect();
    let schedules = apply::describe_schedules(&client, references).await?;
    let already_restored = match &live {
        Some(live) if holds(live, &restore_request) => {
            let arn = live["JobDefinitionArn"].as_str().unwrap_or_default();
            let tags: BTreeSet<_> = client.list_tags(arn).await?.into_iter().collect();
            let wanted: BTreeSet<_> = recorded
                .tags
                .iter()
                .filter(|t| !request::is_reserved_tag(t))
                .cloned()
                .collect();
            tags == wanted
        }
        _ => false,
    };
    if live.is_some() && !already_restored && !args.replace {
        return Err(
            UsageError::new(format!("{key} exists and differs from the snapshot"))
                .with_hint("pass --replace to replace it (its current state is snapshotted first)")
                .into(),
        );
    }

    if already_restored {
        let on_copies = schedules.iter().any(|schedule| {
            schedule.describe["MonitoringScheduleConfig"]["MonitoringJobDefinitionName"]
                .as_str()
                .is_some_and(|name| owned.iter().any(|o| same_name(o, name)))
        });
        let mut copies_left = false;
        for name in &owned {
            copies_left |= ops.find(name).await?.is_some();
        }
        if !on_copies && !copies_left {
            close_earlier_restores(&state, &key, &recorded_path, Status::Recreated, None)?;
            let note = format!("{key} is already as the snapshot recorded it; nothing to do.");
            let report = RunReport::nothing_to_do(None, note);
            return Ok(runs::print_report(out, &report, args.format));
        }
    }

    let run = state.new_run()?;
    let (snapshot, snapshot_path, temporary) = match live {
        Some(live) if !already_restored => {
            // Replacing: snapshot what is there now, so this too can be undone.
            let arn = live["JobDefinitionArn"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let tags = client.list_tags(&arn).await?;
            let temporary = request::temporary_name(&recorded.name);
            if let Some(left) = owned.iter().find(|name| same_name(name, &temporary)) {
                return Err(UsageError::new(format!(
                    "the compliant copy {left} that run {} left exists, and replacing needs its \
                     name",
                    recorded.run_id
                ))
                .with_hint(format!(
                    "if that run is unfinished, `{}` first; if it ended (e.g. verify-failed, \
                     which keeps the copy), delete {left} once no schedule uses it",
                    snapshot_run_resume(global, &recorded_path, &recorded.run_id)
                ))
                .into());
            }
            let current = snapshot_of(
                &run,
                &key,
                recorded.kind,
                &arn,
                live,
                tags,
                schedules,
                Some(temporary.clone()),
            );
            let path = run.write_snapshot(&current)?;
            (current, path, Some(temporary))
        }
        // Missing, or already restored (then only leftovers are finished): work from the
        // recorded snapshot, with the schedules as they are now.
        _ => {
            let snapshot = Snapshot {
                schedules,
                ..recorded.clone()
            };
            let temporary = snapshot.temporary_name.clone();
            (snapshot, recorded_path.clone(), temporary)
        }
    };
    let replacing = snapshot.run_id == run.run_id;
    // Restoring takes over the copy the snapshot's run left, if it is that run's; replacing
    // claims its own.
    let owns_copy = !replacing
        && temporary
            .as_ref()
            .is_some_and(|t| owned.iter().any(|o| same_name(o, t)));
    owned.retain(|name| Some(name) != temporary.as_ref());
    run.record(Event::RunStarted {
        run_id: run.run_id.clone(),
        account_id: account_id.clone(),
        kind: RunKind::Restore {
            snapshot: Some(recorded_path.clone()),
        },
        items: vec![PlannedItem {
            item: key.clone(),
            temporary_name: temporary.clone(),
            snapshot_sha256: snapshot.snapshot_sha256.clone(),
        }],
    })?;
    // From here the run exists in the journal: an error names it and how to continue.
    run.record(Event::ItemStarted {
        item: key.clone(),
        snapshot: snapshot_path.clone(),
    })
    .map_err(|err| RunError {
        status: ExitStatus::Failed,
        run_id: run.run_id.clone(),
        continue_with: again.clone(),
        source: err.into(),
    })?;
    let job = job(&run, snapshot, snapshot_path, owned, owns_copy);
    let outcome = if replacing {
        job.staged().await
    } else if already_restored {
        out.notice(format!(
            "{key} already matches the snapshot; finishing what an earlier run left."
        ));
        job.finish_from_recreated().await
    } else {
        job.finish_from_deleted().await
    };
    if outcome.status() == Status::Recreated
        && let Err(err) = close_earlier_restores(
            &state,
            &key,
            &recorded_path,
            outcome.status(),
            Some(&run.run_id),
        )
    {
        tracing::error!("could not close earlier restore runs: {err}");
    }
    let report = finish(&run, key, outcome, continue_with);
    Ok(runs::print_report(out, &report, args.format))
}

/// The `resume` command of the run that wrote a snapshot, in the state directory that holds it
/// (`STATE/runs/RUN/snapshots/FILE`).
fn snapshot_run_resume(global: &GlobalArgs, snapshot: &Path, run_id: &str) -> String {
    let root = snapshot.ancestors().nth(4).unwrap_or(Path::new("."));
    format!(
        "{} resume {run_id}",
        crate::settings::command_prefix(global, root)
    )
}

/// An earlier restore of the same snapshot that was interrupted (its definition missing or
/// already restored: such a restore starts over rather than continuing) is finished by this one:
/// its journal says so, so `resume` no longer counts it as unfinished.
fn close_earlier_restores(
    state: &StateDir,
    key: &ResourceId,
    snapshot: &Path,
    outcome: Status,
    by: Option<&str>,
) -> Result<(), JournalError> {
    for run_id in state.run_ids()? {
        if Some(run_id.as_str()) == by {
            continue;
        }
        let run = state.existing_run(&run_id)?;
        let summary = RunSummary::from_records(&run.records()?);
        let same =
            summary.restoring() == Some(snapshot) && summary.planned.iter().any(|p| &p.item == key);
        if same && !summary.is_complete() {
            run.record(Event::ItemFinished {
                item: key.clone(),
                outcome,
                message: Some(match by {
                    Some(other) => format!("finished by the restore run {other}"),
                    None => "found already restored by a later restore".to_owned(),
                }),
            })?;
            run.record(Event::RunFinished)?;
        }
    }
    Ok(())
}

/// Journals how the restore ended and reports it. AWS may have been changed by now: the
/// outcome decides the exit status, never a failed journal write.
fn finish(
    run: &Run,
    key: ResourceId,
    outcome: Outcome,
    continue_with: Option<String>,
) -> RunReport {
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
    RunReport::of_run(&run.run_id, vec![(key, outcome)], continue_with)
}

/// The newest unfinished `restore --replace` run of `key` restoring `snapshot`, with the path of
/// the snapshot it took of what it replaces.
fn unfinished_replace(
    state: &StateDir,
    key: &ResourceId,
    snapshot: &Path,
) -> Result<Option<(String, PathBuf)>, JournalError> {
    for run_id in state.run_ids()?.into_iter().rev() {
        let run = state.existing_run(&run_id)?;
        let summary = RunSummary::from_records(&run.records()?);
        if summary.restoring() != Some(snapshot) || summary.is_complete() {
            continue;
        }
        // A replace snapshots what it replaces into its own run; other restores start over.
        if let Some(current) = summary.snapshot_of(key)
            && current.starts_with(run.dir())
        {
            return Ok(Some((run_id, current.clone())));
        }
    }
    Ok(None)
}
