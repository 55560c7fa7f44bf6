//! `restore`: recreate a definition exactly as a snapshot recorded it.

use super::apply::open_state_dir;
use crate::apply;
use crate::apply::ops::{Ops, Timings, holds};
use crate::apply::protocol::{Job, snapshot_of};
use crate::apply::report::Reporter;
use crate::cli::{GlobalArgs, ReportFormat, RestoreArgs};
use crate::exit::{ExitStatus, UsageError};
use crate::inventory;
use crate::journal::{Event, PlannedItem, Snapshot};
use crate::plan::request;
use crate::settings::Session;
use std::collections::BTreeSet;
use std::time::Duration;

pub async fn run(global: &GlobalArgs, args: RestoreArgs) -> anyhow::Result<ExitStatus> {
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
    let timings = Timings {
        schedule_timeout: Duration::from_secs(args.schedule_timeout),
        ..Timings::default()
    };
    let ops = Ops {
        client: &client,
        kind: recorded.kind,
        timings,
    };
    let key = recorded.key();
    let restore_request = request::restore_request(&recorded.describe, &recorded.tags);
    let live = ops.find(&recorded.name).await?;
    if let Some(live) = &live {
        if holds(live, &restore_request) {
            let arn = live["JobDefinitionArn"].as_str().unwrap_or_default();
            let tags: BTreeSet<_> = client.list_tags(arn).await?.into_iter().collect();
            let wanted: BTreeSet<_> = recorded
                .tags
                .iter()
                .filter(|t| !request::is_reserved_tag(t))
                .cloned()
                .collect();
            if tags == wanted {
                println!("{key} is already as the snapshot recorded it; nothing to do.");
                return Ok(ExitStatus::Success);
            }
        }
        if !args.replace {
            return Err(
                UsageError::new(format!("{key} exists and differs from the snapshot"))
                    .with_hint(
                        "pass --replace to replace it (its current state is snapshotted first)",
                    )
                    .into(),
            );
        }
    }

    let run = state.new_run()?;
    let (snapshot, snapshot_path) = match live {
        // Absolute, so the journal's path works for `resume` from anywhere.
        None => (
            recorded.clone(),
            std::fs::canonicalize(&args.snapshot).unwrap_or_else(|_| args.snapshot.clone()),
        ),
        Some(live) => {
            // Replacing: snapshot what is there now, so this too can be undone.
            let arn = live["JobDefinitionArn"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let tags = client.list_tags(&arn).await?;
            let listed = client.list_schedules(Some(&recorded.name)).await?;
            let schedules = apply::describe_schedules(
                &client,
                inventory::references_to(&listed, recorded.kind, &recorded.name),
            )
            .await?;
            let temporary_name =
                Some(apply::free_temporary_name(&ops, &recorded.name, None).await?);
            let current = snapshot_of(
                &run,
                &account_id,
                &key,
                &arn,
                live,
                tags,
                schedules,
                temporary_name,
            );
            let path = run.write_snapshot(&current)?;
            (current, path)
        }
    };
    run.record(Event::RunStarted {
        run_id: run.run_id.clone(),
        account_id: account_id.clone(),
        strategy: "restore".to_owned(),
        items: vec![PlannedItem {
            item: key.clone(),
            temporary_name: snapshot.temporary_name.clone(),
            snapshot_sha256: snapshot.snapshot_sha256.clone(),
        }],
    })?;
    run.record(Event::ItemStarted {
        item: key.clone(),
        snapshot: snapshot_path.clone(),
    })?;
    let replacing = snapshot.run_id == run.run_id;
    let job = Job {
        run: &run,
        client: &client,
        snapshot,
        snapshot_path,
        target_request: restore_request,
        expected_tags: recorded.tags.clone(),
        command: crate::settings::command_prefix(global, state.root()),
        timings,
    };
    let outcome = if replacing {
        job.staged().await
    } else {
        job.finish_from_deleted().await
    };
    run.record(Event::ItemFinished {
        item: key.clone(),
        outcome: outcome.label().to_owned(),
        message: None,
    })?;
    run.record(Event::RunFinished)?;
    let reporter = Reporter::new(1, args.format == ReportFormat::Json, session.color, false);
    reporter.finished(&key, &outcome);
    let outcomes = vec![(key, outcome)];
    reporter.summary(&run.run_id, &outcomes)?;
    Ok(apply::exit_status(&outcomes))
}
