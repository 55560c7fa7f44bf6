//! The executor: recreates planned definitions concurrently (bounded), each through the staged
//! protocol, with a journal and snapshots on disk; `resume` and `restore` live here too.

pub mod inline;
pub mod notebook;
pub mod ops;
pub mod protocol;
pub mod report;

pub use crate::journal::Strategy;

use crate::inventory;
use crate::journal::{
    Event, PlannedItem, Progress, Run, ScheduleSnapshot, Snapshot, Status, snapshot_of,
};
use crate::kinds::{Fixes, Kind};
use crate::request;
use crate::resource::{ResourceId, ResourceKind};
use crate::sagemaker::{AwsError, SageMaker};
use ops::{Ops, Timings};
use protocol::Job;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// How one definition ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Outcome {
    /// Recreated compliant and verified; `warnings` name anything left for `resume`.
    Recreated { warnings: Vec<String> },
    /// A schedule's inline job definition, or a notebook's root access, fixed in place and
    /// verified.
    Updated,
    /// Nothing to do: it is compliant already (a notebook whose root access is off).
    AlreadyCompliant { message: String },
    /// Not touched, by rule or the user's choice (a running notebook without consent to restart
    /// it, a `Failed` or `Deleting` one): `message` says why.
    Skipped { message: String },
    /// Not touched: the live definition differs from the plan.
    ChangedSincePlan { message: String },
    /// Someone else changed it during the run: everything this run did was undone, and their
    /// change kept.
    ChangedDuringRun { message: String },
    /// Not touched: its temporary copy exists, so another run is recreating it.
    Busy { message: String },
    /// Not touched: the strategy cannot handle it.
    Refused { message: String },
    /// Failed. `rolled_back`: everything was put back as it was (or never touched).
    Failed { message: String, rolled_back: bool },
    /// Gone before the run reached it.
    Missing { message: String },
    /// Failed before anything was changed (reading it, or writing its snapshot); `resume` tries
    /// it again.
    FailedUntouched { message: String },
    /// Recreated, but the result differs from the snapshot beyond the flag.
    VerifyFailed { message: String },
    /// An answer was lost and looking did not tell what happened: stopped without undoing
    /// anything; `manual` is the exact command that looks again and finishes.
    InDoubt { message: String, manual: String },
    /// A rollback did not complete: `manual` is the exact command to run.
    RollbackIncomplete { message: String, manual: String },
    /// The run was interrupted before this definition started.
    NotStarted,
}

impl Outcome {
    pub fn status(&self) -> Status {
        match self {
            Outcome::Recreated { warnings } if warnings.is_empty() => Status::Recreated,
            Outcome::Recreated { .. } => Status::RecreatedWithLeftovers,
            Outcome::Updated => Status::UpdatedInPlace,
            Outcome::AlreadyCompliant { .. } => Status::AlreadyCompliant,
            Outcome::Skipped { .. } => Status::Skipped,
            Outcome::ChangedSincePlan { .. } => Status::ChangedSincePlan,
            Outcome::ChangedDuringRun { .. } => Status::ChangedDuringRun,
            Outcome::Busy { .. } => Status::Busy,
            Outcome::Refused { .. } => Status::Refused,
            Outcome::Failed {
                rolled_back: true, ..
            } => Status::RolledBack,
            Outcome::Failed { .. } => Status::Failed,
            Outcome::Missing { .. } => Status::Missing,
            Outcome::FailedUntouched { .. } => Status::FailedUntouched,
            Outcome::VerifyFailed { .. } => Status::VerifyFailed,
            Outcome::InDoubt { .. } => Status::InDoubt,
            Outcome::RollbackIncomplete { .. } => Status::RollbackIncomplete,
            Outcome::NotStarted => Status::NotStarted,
        }
    }

    pub fn label(&self) -> &'static str {
        self.status().label()
    }

    /// What to journal beside the status.
    pub fn message(&self) -> Option<String> {
        match self {
            Outcome::Recreated { warnings } if !warnings.is_empty() => Some(warnings.join("; ")),
            Outcome::ChangedSincePlan { message }
            | Outcome::AlreadyCompliant { message }
            | Outcome::Skipped { message }
            | Outcome::ChangedDuringRun { message }
            | Outcome::Busy { message }
            | Outcome::Refused { message }
            | Outcome::Failed { message, .. }
            | Outcome::Missing { message }
            | Outcome::FailedUntouched { message }
            | Outcome::VerifyFailed { message } => Some(message.clone()),
            Outcome::InDoubt { message, manual }
            | Outcome::RollbackIncomplete { message, manual } => {
                Some(format!("{message}; manual action: {manual}"))
            }
            Outcome::Recreated { .. } | Outcome::Updated | Outcome::NotStarted => None,
        }
    }

    /// The command a person must run, for the outcomes that need one.
    pub fn manual(&self) -> Option<&str> {
        match self {
            Outcome::InDoubt { manual, .. } | Outcome::RollbackIncomplete { manual, .. } => {
                Some(manual)
            }
            _ => None,
        }
    }
}

/// How to tell a person to run the tool again, verbatim: the same account settings and state
/// directory, every word quoted as needed.
#[derive(Debug, Clone)]
pub struct Hints {
    /// `sm-recreate --profile .. --endpoint-url .. --state-dir ..`; `None` under `--sandbox`,
    /// whose account ends with the process, so no later command can act on it.
    pub command: Option<String>,
}

impl Hints {
    const SANDBOX: &str = "none possible: the --sandbox account ended with this process (to \
                           rehearse recovery, run `sm-recreate sandbox serve` and point \
                           --endpoint-url at it)";

    pub fn resume(&self, run_id: &str) -> String {
        self.resume_command(run_id)
            .unwrap_or_else(|| Self::SANDBOX.to_owned())
    }

    /// The `resume` command, when one can run (not under `--sandbox`).
    pub fn resume_command(&self, run_id: &str) -> Option<String> {
        self.command
            .as_ref()
            .map(|command| format!("{command} resume {run_id}"))
    }

    pub fn restore(&self, region: &str, snapshot: &std::path::Path) -> String {
        self.restore_words(region, "", snapshot)
    }

    /// `restore --replace`, as an interrupted one is continued.
    pub fn restore_replacing(&self, region: &str, snapshot: &std::path::Path) -> String {
        self.restore_words(region, "--replace ", snapshot)
    }

    fn restore_words(&self, region: &str, flags: &str, snapshot: &std::path::Path) -> String {
        match &self.command {
            Some(command) => format!(
                "{command} --region {} restore {flags}{}",
                crate::shell::shell_quote(region),
                crate::shell::shell_quote(&snapshot.display().to_string())
            ),
            None => Self::SANDBOX.to_owned(),
        }
    }
}

/// A definition to recreate: who it is and what the plan saw.
#[derive(Debug, Clone)]
pub struct Target {
    pub key: ResourceId,
    pub planned_sha256: String,
    pub temporary_name: Option<String>,
    /// The flags to make true.
    pub fixes: Fixes,
    /// For a notebook instance: whether it may be stopped and started again if it is running
    /// (the user consented: `--restart-running`, or ticked it). Without consent a running
    /// notebook is never stopped. Always `false` for definitions and schedules.
    pub restart_running: bool,
}

impl From<&Target> for PlannedItem {
    fn from(target: &Target) -> PlannedItem {
        PlannedItem {
            item: target.key.clone(),
            temporary_name: target.temporary_name.clone(),
            snapshot_sha256: target.planned_sha256.clone(),
            fixes: target.fixes,
            restart_running: target.restart_running,
        }
    }
}

/// Shared by every definition of a run.
pub struct Executor {
    /// One client per (account, region), each with credentials confirmed to be that account's:
    /// an item is only ever acted on through its own account's client.
    pub clients: HashMap<(String, String), SageMaker>,
    /// Accounts of the run that could not be reached, with AWS's message.
    pub unreachable: HashMap<String, String>,
    pub run: Arc<Run>,
    pub strategy: Strategy,
    pub timings: Timings,
    /// At most this many definitions in flight in all, and in any one account-region.
    pub concurrency: usize,
    pub concurrency_per_region: usize,
    /// Set on Ctrl-C: definitions in flight finish or roll back; no new one starts.
    pub stop: Arc<AtomicBool>,
    /// How to invoke the tool again with the same account settings, for printed hints.
    pub hints: Hints,
}

/// An account and a region: the work in one runs under one permit pool.
type Lane = (String, String);

/// One unit of work for the executor.
#[derive(Debug, Clone)]
pub enum Work {
    /// A definition not yet started: the whole protocol.
    Fresh(Target),
    /// A definition an interrupted run started: re-enter the protocol from the live state and
    /// what the journal says the run may have done.
    InFlight(Box<Snapshot>, std::path::PathBuf, Progress),
}

impl Work {
    pub fn key(&self) -> ResourceId {
        match self {
            Work::Fresh(target) => target.key.clone(),
            Work::InFlight(snapshot, ..) => snapshot.key(),
        }
    }
}

impl Executor {
    /// Runs every piece of work under the concurrency bounds, telling `finished` about each as it
    /// ends; returns the outcomes in input order. After Ctrl-C no new work starts.
    ///
    /// Each account-region is a lane whose work starts in input order (`resume` lists the items
    /// in flight first). A piece takes its lane's permit, then one of the run: the lane's first,
    /// so work waiting behind a slow (throttled) account-region holds no permit the other
    /// accounts could use.
    pub async fn run_all(
        self: &Arc<Self>,
        work: Vec<Work>,
        finished: impl Fn(&ResourceId, &Outcome),
    ) -> Vec<(ResourceId, Outcome)> {
        let keys: Vec<ResourceId> = work.iter().map(Work::key).collect();
        let in_flight: Vec<bool> = work
            .iter()
            .map(|w| matches!(w, Work::InFlight(..)))
            .collect();
        let mut lanes: Vec<(Lane, Vec<(usize, Work)>)> = Vec::new();
        for (index, unit) in work.into_iter().enumerate() {
            let lane = (keys[index].account_id.clone(), keys[index].region.clone());
            match lanes.iter_mut().find(|(key, _)| *key == lane) {
                Some((_, units)) => units.push((index, unit)),
                None => lanes.push((lane, vec![(index, unit)])),
            }
        }
        let global = Arc::new(Semaphore::new(self.concurrency.max(1)));
        let (done, mut ended) = tokio::sync::mpsc::unbounded_channel::<(usize, Outcome)>();
        let mut drivers = JoinSet::new();
        for (_, units) in lanes {
            let (executor, global, done) = (self.clone(), global.clone(), done.clone());
            drivers.spawn(async move {
                let lane = Arc::new(Semaphore::new(executor.concurrency_per_region.max(1)));
                let mut running = JoinSet::new();
                for (index, unit) in units {
                    let lane_permit = lane.clone().acquire_owned().await.expect("never closed");
                    let global_permit = global.clone().acquire_owned().await.expect("never closed");
                    if executor.stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let (executor, done) = (executor.clone(), done.clone());
                    running.spawn(async move {
                        let _permits = (lane_permit, global_permit);
                        let outcome = match unit {
                            Work::Fresh(target) => executor.recreate(&target).await,
                            Work::InFlight(snapshot, path, progress) => {
                                executor.reconcile(*snapshot, path, progress).await
                            }
                        };
                        // The receiver lives until every sender is gone.
                        let _ = done.send((index, outcome));
                    });
                }
                while let Some(joined) = running.join_next().await {
                    joined.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
                }
            });
        }
        drop(done);
        let mut outcomes: Vec<Option<Outcome>> = vec![None; keys.len()];
        while let Some((index, outcome)) = ended.recv().await {
            finished(&keys[index], &outcome);
            outcomes[index] = Some(outcome);
        }
        while let Some(joined) = drivers.join_next().await {
            joined.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        }
        keys.iter()
            .zip(outcomes)
            .zip(in_flight)
            .map(|((key, outcome), in_flight)| {
                let outcome = outcome.unwrap_or_else(|| {
                    let outcome = self.never_started(in_flight);
                    finished(key, &outcome);
                    outcome
                });
                (key.clone(), outcome)
            })
            .collect()
    }

    /// The outcome of work the run never started (it was interrupted). An item an earlier run
    /// left in flight is still half done: a person must resume it, so it is in doubt, not merely
    /// not started.
    fn never_started(&self, in_flight: bool) -> Outcome {
        if in_flight {
            Outcome::InDoubt {
                message: "interrupted before this run took it up again: it is as the earlier                           run left it, half done"
                    .to_owned(),
                manual: self.hints.resume(&self.run.run_id),
            }
        } else {
            Outcome::NotStarted
        }
    }

    /// The client of the item's account and region; `Err` says why there is none (its account
    /// could not be reached, or the run was not connected to it).
    fn client(&self, key: &ResourceId) -> Result<&SageMaker, String> {
        self.clients
            .get(&(key.account_id.clone(), key.region.clone()))
            .ok_or_else(|| match self.unreachable.get(&key.account_id) {
                Some(message) => format!("account {} cannot be reached: {message}", key.account_id),
                None => format!(
                    "this run has no credentials for account {} in {}",
                    key.account_id, key.region
                ),
            })
    }

    /// One definition, start to end: check it is still as planned, snapshot it, run the protocol.
    pub async fn recreate(&self, target: &Target) -> Outcome {
        if target.key.kind == ResourceKind::MonitoringSchedule {
            let outcome = self.fix_inline(target).await;
            self.finished(&target.key, &outcome);
            return outcome;
        }
        if target.key.kind == ResourceKind::NotebookInstance {
            let outcome = self.fix_notebook(target).await;
            self.finished(&target.key, &outcome);
            return outcome;
        }
        if let Err(message) = self.client(&target.key) {
            let outcome = Outcome::FailedUntouched {
                message: format!("nothing was changed: {message}"),
            };
            self.finished(&target.key, &outcome);
            return outcome;
        }
        let outcome = match self.prepare(target).await {
            Ok(Prepared::Ready(job)) => {
                let job = *job;
                let outcome = match self.strategy {
                    Strategy::Staged => job.staged().await,
                    Strategy::Direct => job.direct().await,
                };
                self.finished(&target.key, &outcome);
                return outcome;
            }
            Ok(Prepared::Stop(outcome)) => outcome,
            Err(err) => Outcome::FailedUntouched {
                message: format!("nothing was changed: {err}"),
            },
        };
        self.finished(&target.key, &outcome);
        outcome
    }

    fn finished(&self, key: &ResourceId, outcome: &Outcome) {
        if let Err(err) = self.run.record(Event::ItemFinished {
            item: key.clone(),
            outcome: outcome.status(),
            message: outcome.message(),
        }) {
            tracing::error!(item = %key, "could not journal the outcome: {err}");
        }
    }

    /// Step 0 and 1: describe again, compare with the plan, read the schedules, check that
    /// nobody holds the temporary copy's name, write the snapshot.
    async fn prepare(&self, target: &Target) -> Result<Prepared<'_>, AwsError> {
        let key = &target.key;
        let Some(kind) = key.definition_kind() else {
            return Ok(Prepared::Stop(Outcome::Refused {
                message: format!("{key} is not a job definition; only definitions are recreated"),
            }));
        };
        let client = self
            .client(key)
            .map_err(|m| AwsError::local("connect", m))?;
        let ops = Ops {
            client,
            kind,
            timings: self.timings,
        };
        let temporary = match self.strategy {
            Strategy::Staged => Some(request::temporary_name(&key.name)),
            Strategy::Direct => None,
        };
        // Read-only calls that do not depend on each other overlap: the describe, the schedule
        // listing and the look at the temporary copy's name.
        let copy_exists = async {
            match &temporary {
                Some(name) => ops.find_once(name).await.map(|found| found.is_some()),
                None => Ok(false),
            }
        };
        let (found, listed, copy_exists) = tokio::join!(
            ops.find_once(&key.name),
            client.list_schedules(None),
            copy_exists
        );
        let Some(describe) = found? else {
            return Ok(Prepared::Stop(Outcome::Missing {
                message: "the definition no longer exists; nothing to do".to_owned(),
            }));
        };
        if copy_exists? {
            return Ok(Prepared::Stop(Outcome::Busy {
                message: format!(
                    "its temporary copy {} exists: another run is recreating it, or an \
                     unfinished one left it (`resume` that run; if none is running, delete it); \
                     nothing was changed",
                    temporary.as_deref().unwrap_or_default()
                ),
            }));
        }
        let arn = describe["JobDefinitionArn"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let tags = match client.list_tags(&arn).await {
            Ok(tags) => tags,
            Err(err) if err.is(crate::sagemaker::ErrorClass::NotFound) => {
                return Ok(Prepared::Stop(Outcome::ChangedSincePlan {
                    message: "changed since plan: it disappeared while being read (another run \
                              may be recreating it); left alone (plan again)"
                        .to_owned(),
                }));
            }
            Err(err) => return Err(err),
        };
        if request::snapshot_hash(&describe, &tags) != target.planned_sha256 {
            return Ok(Prepared::Stop(Outcome::ChangedSincePlan {
                message: "changed since plan: the live definition or its tags differ from what \
                          was planned; left alone (plan again)"
                    .to_owned(),
            }));
        }
        let listed = listed?;
        let references = schedules_referencing(&ops, &key.name, &listed).await?;
        let mut schedules = describe_schedules(client, references).await?;
        // Listed as this definition's, but someone may have repointed one before it was
        // described: it is theirs now, and moving it (and back to this name) would undo their
        // change. Only what still names the definition exactly as the listing did (a spelling
        // already checked to be this definition's) is snapshotted and moved.
        schedules.retain(|schedule| {
            let listed_as = listed
                .iter()
                .find(|s| s.name == schedule.name)
                .and_then(|s| s.definition_name.as_deref());
            schedule.config()["MonitoringJobDefinitionName"].as_str() == listed_as
        });
        let snapshot = snapshot_of(
            &self.run,
            key,
            target.fixes,
            &arn,
            describe,
            tags,
            schedules,
            temporary,
        );
        let snapshot_path = self
            .run
            .write_snapshot(&snapshot)
            .map_err(|e| AwsError::local("snapshot", e.to_string()))?;
        self.run
            .record(Event::ItemStarted {
                item: key.clone(),
                snapshot: snapshot_path.clone(),
            })
            .map_err(|e| AwsError::local("journal", e.to_string()))?;
        Ok(Prepared::Ready(Box::new(self.compliance_job(
            client,
            kind,
            snapshot,
            snapshot_path,
        ))))
    }

    /// The job that makes the snapshotted definition compliant: the create request and the
    /// expected tags both derive from the snapshot.
    fn compliance_job<'a>(
        &'a self,
        client: &'a SageMaker,
        kind: Kind,
        snapshot: Snapshot,
        snapshot_path: std::path::PathBuf,
    ) -> Job<'a> {
        let (target_request, _dropped) =
            request::create_request(&snapshot.describe, &snapshot.tags, snapshot.fixes);
        Job {
            run: &self.run,
            client,
            kind,
            expected_tags: snapshot.tags.clone(),
            snapshot,
            snapshot_path,
            target_request,
            hints: self.hints.clone(),
            extra_owned: Vec::new(),
            again: None,
            timings: self.timings,
            owns_copy: AtomicBool::new(false),
        }
    }

    /// For `resume`: re-enters the protocol for an item the run started and did not finish.
    pub async fn reconcile(
        &self,
        snapshot: Snapshot,
        snapshot_path: std::path::PathBuf,
        progress: Progress,
    ) -> Outcome {
        let key = snapshot.key();
        let client = match self.client(&key) {
            Ok(client) => client,
            Err(message) => {
                // In flight, so half done: a person must resume it once the account can be
                // reached again.
                let outcome = Outcome::InDoubt {
                    message: format!("{message}; it is as the earlier run left it, half done"),
                    manual: self.hints.resume(&self.run.run_id),
                };
                self.finished(&key, &outcome);
                return outcome;
            }
        };
        let outcome = match snapshot.kind {
            ResourceKind::Definition(kind) => {
                let job = self.compliance_job(client, kind, snapshot, snapshot_path);
                job.reconcile(self.strategy, progress).await
            }
            ResourceKind::MonitoringSchedule => {
                self.inline_job(client, snapshot, snapshot_path)
                    .reconcile(progress)
                    .await
            }
            ResourceKind::NotebookInstance => {
                self.notebook_job(client, snapshot, snapshot_path)
                    .reconcile(progress)
                    .await
            }
        };
        self.finished(&key, &outcome);
        outcome
    }
}

/// The schedules that reference `name`. They may name it in any case (I8), but a name spelled
/// otherwise is a definition of its own if the service tells case apart (it then exists under
/// exactly that spelling): such a schedule is not this definition's. Only names spelled
/// differently are looked up, so the usual case costs no call.
async fn schedules_referencing(
    ops: &Ops<'_>,
    name: &str,
    listed: &[crate::sagemaker::ScheduleSummary],
) -> Result<Vec<inventory::ScheduleRef>, AwsError> {
    let spellings: std::collections::BTreeSet<&str> = listed
        .iter()
        .filter_map(|s| s.definition_name.as_deref())
        .filter(|named| *named != name && crate::kinds::same_name(named, name))
        .collect();
    let mut distinct = Vec::new();
    for named in spellings {
        if let Some(other) = ops.find_once(named).await?
            && other["JobDefinitionName"].as_str() == Some(named)
        {
            distinct.push(named.to_owned());
        }
    }
    Ok(inventory::references_among(listed, ops.kind, name, |n| {
        distinct.iter().any(|d| d == n)
    }))
}

/// Describes the referencing schedules (concurrently) for a snapshot.
pub async fn describe_schedules(
    client: &SageMaker,
    references: Vec<inventory::ScheduleRef>,
) -> Result<Vec<ScheduleSnapshot>, AwsError> {
    let mut tasks = JoinSet::new();
    for (index, reference) in references.into_iter().enumerate() {
        let client = client.clone();
        tasks.spawn(async move {
            let described = client.describe_schedule(&reference.name).await?;
            Ok::<_, AwsError>((
                index,
                ScheduleSnapshot {
                    name: reference.name,
                    describe: described.raw,
                },
            ))
        });
    }
    let mut schedules = Vec::with_capacity(tasks.len());
    while let Some(joined) = tasks.join_next().await {
        schedules.push(joined.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))?);
    }
    schedules.sort_by_key(|(index, _)| *index);
    Ok(schedules.into_iter().map(|(_, s)| s).collect())
}

enum Prepared<'a> {
    Ready(Box<Job<'a>>),
    Stop(Outcome),
}

/// The exit status a set of outcomes calls for: 4 when a person must act, else 1 when anything
/// is not fixed, else 0.
pub fn exit_status(outcomes: &[(ResourceId, Outcome)]) -> crate::exit::ExitStatus {
    use crate::exit::ExitStatus;
    if outcomes.iter().any(|(_, o)| o.manual().is_some()) {
        ExitStatus::RollbackIncomplete
    } else if outcomes.iter().any(|(_, o)| {
        // Leftovers are work for `resume` (schedules may still be on the copy): not a success
        // a script may take as done.
        !matches!(
            o.status(),
            Status::Recreated | Status::UpdatedInPlace | Status::AlreadyCompliant | Status::Missing
        )
    }) {
        ExitStatus::Failed
    } else {
        ExitStatus::Success
    }
}
