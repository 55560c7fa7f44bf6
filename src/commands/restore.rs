//! `restore`: recreate a definition exactly as a snapshot recorded it.

use super::runs;
use crate::apply;
use crate::apply::ops::{Ops, Timings, holds};
use crate::apply::protocol::Job;
use crate::apply::report::RunReport;
use crate::apply::{Hints, Outcome, Strategy};
use crate::cli::{GlobalArgs, RestoreArgs};
use crate::exit::{ExitStatus, RunError, UsageError};
use crate::inventory;
use crate::journal::{
    Event, JournalError, PlannedItem, Run, RunKind, RunSummary, ScheduleSnapshot, Snapshot,
    StateDir, Status, snapshot_of,
};
use crate::kinds::same_name;
use crate::output::Output;
use crate::request;
use crate::resource::{ResourceId, ResourceKind};
use crate::sagemaker::SageMaker;
use crate::settings::Session;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

pub async fn run(
    out: &Output,
    global: &GlobalArgs,
    args: RestoreArgs,
) -> anyhow::Result<ExitStatus> {
    let recorded = read_snapshot(global, &args.snapshot)?;
    let state = runs::open_state_dir(&global.state_dir, "restore")?;
    let session = Session::connect(global, std::slice::from_ref(&recorded.region)).await?;
    let reach = session
        .reach_recorded(
            std::slice::from_ref(&recorded.account_id),
            "the snapshot",
            1,
        )
        .await?;
    let Some(account) = reach.account(&recorded.account_id) else {
        let message = reach.unreachable.first().map_or("", |u| u.message.as_str());
        return Err(UsageError::new(format!(
            "account {} cannot be reached, so nothing was restored: {message}",
            recorded.account_id
        ))
        .with_hint("check that the role exists in that account and trusts the caller (--role-name, --external-id)")
        .into());
    };
    let account_id = account.id.clone();
    // A throttled look is sent again for `--patience` at most, as in a run.
    let client = session
        .sagemaker(account, &recorded.region)
        .with_throttled_reads_for(runs::timings(args.pacing).patience);
    let kind = match recorded.kind {
        ResourceKind::Definition(kind) => kind,
        ResourceKind::MonitoringSchedule => {
            let report =
                super::restore_schedule::run(out, global, &args, &state, &client, recorded).await?;
            return Ok(runs::print_report(out, &report, args.format));
        }
        ResourceKind::NotebookInstance => {
            return Err(UsageError::new(format!(
                "{} is a snapshot of a notebook instance, which this sm-recreate does not restore",
                args.snapshot.display()
            ))
            .into());
        }
    };
    let restore = Restore::new(global, &args, &state, &client, account_id, kind, recorded);
    let copies = restore.find_copies().await?;
    let interrupted = unfinished_replace(&state, &restore.key, &restore.recorded_path)?;
    let report = if let Some((run_id, current)) = interrupted {
        // An interrupted `restore --replace` of this snapshot: continue it from where it stopped.
        restore
            .continue_replace(out, &run_id, current, copies.owned)
            .await?
    } else {
        copies.refuse_foreign(&restore.key)?;
        let live = restore.look(&copies.owned).await?;
        if live.definition.is_some() && !live.already_restored && !args.replace {
            return Err(UsageError::new(format!(
                "{} exists and differs from the snapshot",
                restore.key
            ))
            .with_hint("pass --replace to replace it (its current state is snapshotted first)")
            .into());
        }
        if live.already_restored && !restore.anything_left(&live, &copies.owned).await? {
            restore.already_done()?
        } else {
            restore.put_back(out, live, copies.owned).await?
        }
    };
    Ok(runs::print_report(out, &report, args.format))
}

fn read_snapshot(global: &GlobalArgs, path: &Path) -> Result<Snapshot, UsageError> {
    if !path.is_file() {
        return Err(UsageError::new(format!(
            "{} is not a snapshot file",
            path.display()
        ))
        .with_hint(
            "restore takes one snapshot file, STATE_DIR/runs/RUN_ID/snapshots/REGION.KIND.NAME.json, \
             as an apply's manual action names it",
        ));
    }
    let recorded = Snapshot::read(path).map_err(|e| {
        UsageError::new(e.to_string()).with_hint(
            "snapshots are STATE_DIR/runs/RUN_ID/snapshots/*.json, written by apply; they must be unmodified",
        )
    })?;
    if !global.regions.is_empty() && global.regions != [recorded.region.clone()] {
        return Err(UsageError::new(format!(
            "the snapshot is of a definition in {}; --region says otherwise",
            recorded.region
        )));
    }
    Ok(recorded)
}

/// One restore of one snapshot, with what every step of it needs.
struct Restore<'a> {
    /// The recorded definition's kind.
    kind: crate::kinds::Kind,
    global: &'a GlobalArgs,
    state: &'a StateDir,
    client: &'a SageMaker,
    account_id: String,
    recorded: Snapshot,
    /// The snapshot's canonical path, as journals record it.
    recorded_path: PathBuf,
    key: ResourceId,
    /// Creates the definition as the snapshot recorded it.
    restore_request: Value,
    hints: Hints,
    /// This restore command again (it continues the restore); under `--sandbox` why there is none.
    again: String,
    timings: Timings,
}

/// The temporary copies of the definition that exist.
struct Copies {
    /// The copies the snapshot's run left (they carry its claim; a copy made by sm-recreate 0.1
    /// carries none, and counts when the snapshot names it): schedules and copies under them
    /// are this restore's to take back and clean up, since a person asked for it with the
    /// snapshot that run wrote.
    owned: Vec<String>,
    /// A copy another run claimed, left alone: its name and that run's id.
    foreign: Option<(String, String)>,
}

impl Copies {
    fn refuse_foreign(&self, key: &ResourceId) -> Result<(), UsageError> {
        let Some((copy, owner)) = &self.foreign else {
            return Ok(());
        };
        Err(UsageError::new(format!(
            "the temporary copy {copy} of {key} exists and belongs to run {owner}, which is \
             recreating this definition or kept its copy when it ended"
        ))
        .with_hint(format!(
            "if run {owner} is unfinished, `resume {owner}` with its state directory first; if \
             it ended (verify-failed and changed-during-run keep the copy), restore that run's \
             snapshot instead, or move any schedules off {copy} and delete it"
        )))
    }
}

/// What is live now.
struct Live {
    definition: Option<Value>,
    /// The schedules that reference the definition or the owned copies.
    schedules: Vec<ScheduleSnapshot>,
    /// The definition and its tags are as the snapshot recorded them.
    already_restored: bool,
}

/// A run that has journaled its start, with the job it is to do.
struct Started {
    run: Run,
    job_snapshot: Snapshot,
    job_snapshot_path: PathBuf,
    owned: Vec<String>,
    owns_copy: bool,
    route: Route,
}

/// Where the job starts from.
#[derive(Clone, Copy)]
enum Route {
    /// Replacing a live definition that differs: the whole staged recreate.
    Replace,
    /// It is back already; only the leftovers of an earlier run are finished.
    Leftovers,
    /// It is missing: create it, move the schedules back, clean up.
    Recreate,
}

impl<'a> Restore<'a> {
    fn new(
        global: &'a GlobalArgs,
        args: &RestoreArgs,
        state: &'a StateDir,
        client: &'a SageMaker,
        account_id: String,
        kind: crate::kinds::Kind,
        recorded: Snapshot,
    ) -> Restore<'a> {
        let recorded_path =
            std::fs::canonicalize(&args.snapshot).unwrap_or_else(|_| args.snapshot.clone());
        let hints = runs::hints(global, state.root());
        let again = if args.replace {
            hints.restore_replacing(&recorded.region, &recorded_path)
        } else {
            hints.restore(&recorded.region, &recorded_path)
        };
        Restore {
            kind,
            global,
            state,
            client,
            account_id,
            key: recorded.key(),
            restore_request: request::restore_request(&recorded.describe, &recorded.tags),
            recorded,
            recorded_path,
            hints,
            again,
            timings: runs::timings(args.pacing),
        }
    }

    fn ops(&self) -> Ops<'_> {
        Ops {
            client: self.client,
            kind: self.kind,
            timings: self.timings,
        }
    }

    /// Looks for the temporary copies the snapshot names or its name implies, and tells the
    /// snapshot's run's own from anyone else's by their claim tag.
    async fn find_copies(&self) -> anyhow::Result<Copies> {
        let ops = self.ops();
        let mut copies = Copies {
            owned: Vec::new(),
            foreign: None,
        };
        let candidates = self
            .recorded
            .temporary_name
            .iter()
            .cloned()
            .chain(std::iter::once(request::temporary_name(
                &self.recorded.name,
            )));
        for name in candidates {
            let seen = copies
                .owned
                .iter()
                .chain(copies.foreign.iter().map(|(copy, _)| copy));
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
                Some(run_id) => *run_id == self.recorded.run_id,
                None => self.recorded.temporary_name.as_deref() == Some(name.as_str()),
            };
            if ours {
                copies.owned.push(name);
            } else {
                copies.foreign = Some((name, claim.unwrap_or_else(|| "unknown".to_owned())));
            }
        }
        Ok(copies)
    }

    /// The job that puts the snapshot's content back, in `run`, working from `snapshot` (the
    /// recorded one, or for `--replace` the one taken of what it replaces).
    fn job<'j>(
        &'j self,
        run: &'j Run,
        snapshot: Snapshot,
        snapshot_path: PathBuf,
        extra_owned: Vec<String>,
        owns_copy: bool,
    ) -> Job<'j> {
        Job {
            run,
            client: self.client,
            kind: self.kind,
            snapshot,
            snapshot_path,
            target_request: self.restore_request.clone(),
            expected_tags: self.recorded.tags.clone(),
            hints: self.hints.clone(),
            extra_owned,
            again: Some(self.again.clone()),
            timings: self.timings,
            owns_copy: AtomicBool::new(owns_copy),
        }
    }

    /// Continues the interrupted `restore --replace` run `run_id` from the snapshot it took of
    /// what it replaces.
    async fn continue_replace(
        &self,
        out: &Output,
        run_id: &str,
        current_path: PathBuf,
        mut owned: Vec<String>,
    ) -> anyhow::Result<RunReport> {
        let run = self.state.existing_run(run_id)?;
        let progress = RunSummary::from_records(&run.records()?).progress_of(&self.key);
        let current = Snapshot::read(&current_path)?;
        out.notice(format!("Continuing the interrupted restore run {run_id}."));
        owned.retain(|name| Some(name) != current.temporary_name.as_ref());
        let job = self.job(&run, current, current_path, owned, false);
        let outcome = job.reconcile(Strategy::Staged, progress).await;
        Ok(self.finish(&run, outcome))
    }

    /// The live definition, the schedules on it or on the owned copies, and whether it is back
    /// as the snapshot recorded it.
    async fn look(&self, owned: &[String]) -> anyhow::Result<Live> {
        let recorded = &self.recorded;
        let ops = self.ops();
        let (definition, listed) =
            tokio::join!(ops.find(&recorded.name), self.client.list_schedules(None));
        let (definition, listed) = (definition?, listed?);
        let references: Vec<_> = std::iter::once(recorded.name.as_str())
            .chain(owned.iter().map(String::as_str))
            .flat_map(|name| inventory::references_to(&listed, self.kind, name))
            .collect();
        let schedules = apply::describe_schedules(self.client, references).await?;
        let already_restored = match &definition {
            Some(live) if holds(live, &self.restore_request) => {
                let arn = live["JobDefinitionArn"].as_str().unwrap_or_default();
                let tags: BTreeSet<_> = self.client.list_tags(arn).await?.into_iter().collect();
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
        Ok(Live {
            definition,
            schedules,
            already_restored,
        })
    }

    /// Whether an earlier run left schedules on a copy, or a copy, for this one to finish.
    async fn anything_left(&self, live: &Live, owned: &[String]) -> anyhow::Result<bool> {
        let on_copies = live.schedules.iter().any(|schedule| {
            schedule.describe["MonitoringScheduleConfig"]["MonitoringJobDefinitionName"]
                .as_str()
                .is_some_and(|name| owned.iter().any(|o| same_name(o, name)))
        });
        let mut copies_left = false;
        for name in owned {
            copies_left |= self.ops().find(name).await?.is_some();
        }
        Ok(on_copies || copies_left)
    }

    /// Nothing to do: the definition is back and nothing is left. Earlier interrupted restores
    /// of the snapshot are closed, so `resume` no longer counts them.
    fn already_done(&self) -> Result<RunReport, JournalError> {
        close_earlier_restores(
            self.state,
            &self.key,
            &self.recorded_path,
            Status::Recreated,
            None,
        )?;
        let note = format!(
            "{} is already as the snapshot recorded it; nothing to do.",
            self.key
        );
        Ok(RunReport::nothing_to_do(None, note))
    }

    /// Starts a run and puts the definition back as the snapshot recorded it.
    async fn put_back(
        &self,
        out: &Output,
        live: Live,
        owned: Vec<String>,
    ) -> anyhow::Result<RunReport> {
        let started = self.start(live, owned).await?;
        let run = &started.run;
        let job = self.job(
            run,
            started.job_snapshot,
            started.job_snapshot_path,
            started.owned,
            started.owns_copy,
        );
        let outcome = match started.route {
            Route::Replace => job.staged().await,
            Route::Leftovers => {
                out.notice(format!(
                    "{} already matches the snapshot; finishing what an earlier run left.",
                    self.key
                ));
                job.finish_from_recreated().await
            }
            Route::Recreate => job.finish_from_deleted().await,
        };
        if outcome.status() == Status::Recreated
            && let Err(err) = close_earlier_restores(
                self.state,
                &self.key,
                &self.recorded_path,
                outcome.status(),
                Some(&run.run_id),
            )
        {
            tracing::error!("could not close earlier restore runs: {err}");
        }
        Ok(self.finish(run, outcome))
    }

    /// Opens the run, snapshots what a `--replace` replaces, and journals the start. Every
    /// refusal comes before the run is opened.
    async fn start(&self, live: Live, mut owned: Vec<String>) -> anyhow::Result<Started> {
        let replaced = match live.definition {
            Some(definition) if !live.already_restored => {
                let arn = definition["JobDefinitionArn"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let tags = self.client.list_tags(&arn).await?;
                let temporary = request::temporary_name(&self.recorded.name);
                self.refuse_a_kept_copy_in_the_way(&owned, &temporary)?;
                Some((definition, arn, tags, temporary))
            }
            _ => None,
        };
        let run = self.state.new_run()?;
        let (job_snapshot, job_snapshot_path, temporary, route) = match replaced {
            // Replacing: snapshot what is there now, so this too can be undone.
            Some((definition, arn, tags, temporary)) => {
                let current = snapshot_of(
                    &run,
                    &self.key,
                    self.recorded.fixes,
                    &arn,
                    definition,
                    tags,
                    live.schedules,
                    Some(temporary.clone()),
                );
                let path = run.write_snapshot(&current)?;
                (current, path, Some(temporary), Route::Replace)
            }
            // Missing, or already restored (then only leftovers are finished): work from the
            // recorded snapshot, with the schedules as they are now.
            None => {
                let snapshot = Snapshot {
                    schedules: live.schedules,
                    ..self.recorded.clone()
                };
                let temporary = snapshot.temporary_name.clone();
                let route = if live.already_restored {
                    Route::Leftovers
                } else {
                    Route::Recreate
                };
                (snapshot, self.recorded_path.clone(), temporary, route)
            }
        };
        // Restoring takes over the copy the snapshot's run left, if it is that run's; replacing
        // claims its own.
        let owns_copy = !matches!(route, Route::Replace)
            && temporary
                .as_ref()
                .is_some_and(|t| owned.iter().any(|o| same_name(o, t)));
        owned.retain(|name| Some(name) != temporary.as_ref());
        run.record(Event::RunStarted {
            run_id: run.run_id.clone(),
            account_id: self.account_id.clone(),
            kind: RunKind::Restore {
                snapshot: Some(self.recorded_path.clone()),
            },
            items: vec![PlannedItem {
                item: self.key.clone(),
                temporary_name: temporary,
                snapshot_sha256: job_snapshot.snapshot_sha256.clone(),
                // A restore sets no flag: it puts back what the snapshot holds.
                fixes: crate::kinds::Fixes::NONE,
                restart_running: false,
            }],
        })?;
        // From here the run exists in the journal: an error names it and how to continue.
        run.record(Event::ItemStarted {
            item: self.key.clone(),
            snapshot: job_snapshot_path.clone(),
        })
        .map_err(|err| RunError {
            status: ExitStatus::Failed,
            run_id: run.run_id.clone(),
            continue_with: self.again.clone(),
            source: err.into(),
        })?;
        Ok(Started {
            run,
            job_snapshot,
            job_snapshot_path,
            owned,
            owns_copy,
            route,
        })
    }

    /// Replacing needs the temporary copy's name, which a copy the snapshot's run kept may hold.
    fn refuse_a_kept_copy_in_the_way(
        &self,
        owned: &[String],
        temporary: &str,
    ) -> Result<(), UsageError> {
        let Some(left) = owned.iter().find(|name| same_name(name, temporary)) else {
            return Ok(());
        };
        Err(UsageError::new(format!(
            "the compliant copy {left} that run {} left exists, and replacing needs its name",
            self.recorded.run_id
        ))
        .with_hint(format!(
            "if that run is unfinished, `{}` first; if it ended (e.g. verify-failed, which keeps \
             the copy), delete {left} once no schedule uses it",
            snapshot_run_resume(self.global, &self.recorded_path, &self.recorded.run_id)
        )))
    }

    /// Journals how the restore ended and reports it. AWS may have been changed by now: the
    /// outcome decides the exit status, never a failed journal write.
    fn finish(&self, run: &Run, outcome: Outcome) -> RunReport {
        for event in [
            Event::ItemFinished {
                item: self.key.clone(),
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
        let continue_with = self.hints.command.is_some().then(|| self.again.clone());
        RunReport::of_run(
            &run.run_id,
            vec![(self.key.clone(), outcome)],
            continue_with,
        )
    }
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
pub(super) fn close_earlier_restores(
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

/// The newest unfinished `restore --replace` run of `key` restoring `snapshot`, with the path of
/// the snapshot it took of what it replaces.
pub(super) fn unfinished_replace(
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
