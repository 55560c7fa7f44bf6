//! Turning a notebook instance's root access off in place (SageMaker.3): snapshot, then for a
//! `Stopped` notebook `UpdateNotebookInstance RootAccess=Disabled` and wait until it is `Stopped`
//! again; for a running one, only with the user's consent, stop, wait, update, wait, start, wait
//! until it is `InService`; then verify. A notebook is never deleted: its ML storage volume holds
//! its users' work. Root access is never turned back on: the fix is not undone, only the
//! notebook's running state is restored ("started again") when something fails after the stop.
//!
//! The invariants of docs/protocol.md hold as for the other fixes: the snapshot is on disk before
//! the first change; every step is journaled before it acts and again with how it ended; every
//! call is sent once, and a lost answer is settled by looking at the notebook (its status and
//! root access tell whether a stop, update or start acted), never by guessing. Someone else's
//! action wins: a notebook someone starts between this run's stop and its update is not stopped
//! again, a setting someone changes is reported, never put back.

use super::inline::schedule_ops;
use super::ops::{OpError, Ops, Throttled, Timings};
use super::{Executor, Hints, Outcome, Target};
use crate::journal::{Event, Phase, Progress, Run, Snapshot, Step, snapshot_of};
use crate::request::{self, NOTEBOOK_STATE_MEMBERS};
use crate::resource::ResourceId;
use crate::sagemaker::notebook::NotebookDescription;
use crate::sagemaker::{AwsError, ErrorClass, SageMaker, Tag};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Instant;

const IN_SERVICE: &str = "InService";
const STOPPED: &str = "Stopped";
const DISABLED: &str = "Disabled";

/// Statuses a notebook passes through on its own: waited for, never acted on.
const MOVING: [&str; 3] = ["Pending", "Stopping", "Updating"];

/// What a patient look at a notebook found once it stopped moving (or the wait ran out).
enum Settled {
    Gone,
    At(NotebookDescription),
    /// Still `Pending`, `Stopping` or `Updating` when the wait ran out.
    Stuck(NotebookDescription),
}

/// The calls on one notebook, each made safe against lost answers.
pub struct Notebooks<'a> {
    pub client: &'a SageMaker,
    pub timings: Timings,
}

/// A change the tool makes to a notebook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Stop,
    TurnRootAccessOff,
    Start,
}

impl Change {
    fn operation(self) -> &'static str {
        match self {
            Change::Stop => "StopNotebookInstance",
            Change::TurnRootAccessOff => "UpdateNotebookInstance",
            Change::Start => "StartNotebookInstance",
        }
    }

    /// The notebook, settled, shows that the change is in place (whoever made it).
    fn is_done(self, live: &NotebookDescription) -> bool {
        match self {
            Change::Stop => live.status == STOPPED,
            Change::TurnRootAccessOff => live.root_access == DISABLED,
            Change::Start => live.status == IN_SERVICE,
        }
    }

    /// The notebook, settled, is as the change expects to find it: sending it again is the
    /// change this run meant, and nothing else.
    fn may_send(self, live: &NotebookDescription) -> bool {
        match self {
            Change::Stop => live.status == IN_SERVICE,
            Change::TurnRootAccessOff => live.status == STOPPED && live.root_access != DISABLED,
            Change::Start => live.status == STOPPED,
        }
    }
}

impl Notebooks<'_> {
    fn ops(&self) -> Ops<'_> {
        schedule_ops(self.client, self.timings)
    }

    async fn find_once(&self, name: &str) -> Result<Option<NotebookDescription>, AwsError> {
        match self.client.describe_notebook_instance(name).await {
            Ok(live) => Ok(Some(live)),
            Err(err) if err.is(ErrorClass::NotFound) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Describes the notebook, patiently; `None` when it does not exist.
    pub async fn find(&self, name: &str) -> Result<Option<NotebookDescription>, AwsError> {
        self.ops().patiently(|| self.find_once(name)).await
    }

    /// Its tags, patiently.
    pub async fn tags(&self, arn: &str) -> Result<Vec<Tag>, AwsError> {
        self.ops().patiently(|| self.client.list_tags(arn)).await
    }

    /// Waits (for `--schedule-timeout` at most) until the notebook is no longer `Pending`,
    /// `Stopping` or `Updating`.
    async fn wait_settled(&self, name: &str) -> Result<Settled, AwsError> {
        let deadline = Instant::now() + self.timings.schedule_timeout;
        let mut delay = self.timings.first_poll;
        loop {
            let Some(live) = self.find(name).await? else {
                return Ok(Settled::Gone);
            };
            if !MOVING.contains(&live.status.as_str()) {
                return Ok(Settled::At(live));
            }
            if Instant::now() + delay > deadline {
                return Ok(Settled::Stuck(live));
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(self.timings.max_poll);
        }
    }

    /// [`Notebooks::wait_settled`], a notebook still moving at the end being an error.
    pub async fn settle(&self, name: &str) -> Result<Option<NotebookDescription>, AwsError> {
        match self.wait_settled(name).await? {
            Settled::Gone => Ok(None),
            Settled::At(live) => Ok(Some(live)),
            Settled::Stuck(live) => Err(self.stuck(name, &live)),
        }
    }

    fn stuck(&self, name: &str, live: &NotebookDescription) -> AwsError {
        AwsError::local(
            "DescribeNotebookInstance",
            format!(
                "notebook instance {name} is still {} after {}s (--schedule-timeout)",
                live.status,
                self.timings.schedule_timeout.as_secs()
            ),
        )
    }

    async fn send(&self, change: Change, name: &str) -> Result<(), AwsError> {
        match change {
            Change::Stop => self.client.stop_notebook_instance(name).await,
            Change::TurnRootAccessOff => {
                self.client
                    .update_notebook_root_access(name, DISABLED)
                    .await
            }
            Change::Start => self.client.start_notebook_instance(name).await,
        }
    }

    /// Makes one change. `Ok` when the notebook, looked at if the answer was not a plain yes,
    /// shows it in place. A refusal on a clean attempt is `Refused` (the call did not act; the
    /// caller looks to report truthfully). After a lost answer (a 5xx, a dropped connection) the
    /// settled notebook decides: in place is done; as before is sent again (a bounded number of
    /// times); anything else is `Refused` with the answer, and the caller decides from its look.
    /// Looks that keep failing make it `InDoubt`.
    async fn change(&self, change: Change, name: &str) -> Result<(), OpError> {
        let mut lost: Option<AwsError> = None;
        let mut attempts = 0;
        let mut throttled = Throttled::default();
        loop {
            let err = match self.send(change, name).await {
                Ok(()) => return Ok(()),
                Err(err) => err,
            };
            // A throttled call did not act (AWS-FACTS #7): sent again once the client's rate
            // limit allows, while no earlier answer is unknown.
            if err.is(ErrorClass::Throttled)
                && lost.is_none()
                && throttled.again(self.timings.patience)
            {
                continue;
            }
            attempts += 1;
            if err.is(ErrorClass::Transient) {
                lost = Some(err.clone());
            } else if lost.is_none() {
                return Err(OpError::Refused(err));
            }
            let live = match self.wait_settled(name).await {
                Ok(Settled::At(live)) => live,
                Ok(Settled::Gone) => return Err(refused(&lost, err)),
                Ok(Settled::Stuck(live)) => {
                    return Err(OpError::InDoubt(format!(
                        "{} {name}: the answer was lost ({}) and the notebook is still {}",
                        change.operation(),
                        lost.as_ref().unwrap_or(&err),
                        live.status
                    )));
                }
                Err(look) => {
                    return Err(OpError::InDoubt(format!(
                        "{} {name}: the answer was lost ({}) and looking did not tell whether it \
                         acted ({look})",
                        change.operation(),
                        lost.as_ref().unwrap_or(&err)
                    )));
                }
            };
            if change.is_done(&live) {
                return Ok(());
            }
            if !(change.may_send(&live) && attempts < self.timings.attempts) {
                return Err(refused(&lost, err));
            }
        }
    }
}

/// How a change ends that is not done and will not be sent again: refused when every attempt was
/// answered; in doubt when an answer was lost, since that attempt may still act (a lost stop that
/// acts late must count as this run's, or a running notebook could be left stopped).
fn refused(lost: &Option<AwsError>, err: AwsError) -> OpError {
    match lost {
        None => OpError::Refused(err),
        Some(lost) => OpError::InDoubt(format!(
            "an answer was lost ({lost}), then {err}; whether the lost call acts later is not known"
        )),
    }
}

/// A notebook's settings as compared: its describe without the members that move as it starts
/// and stops, and without `RootAccess` (what the fix changes).
pub fn settings(describe: &Value) -> Value {
    let mut settings = describe.clone();
    if let Value::Object(members) = &mut settings {
        for member in NOTEBOOK_STATE_MEMBERS {
            members.remove(member);
        }
        members.remove("RootAccess");
    }
    settings
}

/// The members whose values differ between two notebooks' settings, by name.
fn differing_members(live: &Value, before: &Value) -> Vec<String> {
    let (live, before) = (settings(live), settings(before));
    let empty = serde_json::Map::new();
    let live = live.as_object().unwrap_or(&empty);
    let before = before.as_object().unwrap_or(&empty);
    let names: BTreeSet<&String> = live.keys().chain(before.keys()).collect();
    names
        .into_iter()
        .filter(|name| live.get(*name) != before.get(*name))
        .cloned()
        .collect()
}

/// The `aws` command that starts a notebook, for a person to run.
fn start_command(region: &str, name: &str) -> String {
    format!(
        "aws sagemaker start-notebook-instance --region {} --notebook-instance-name {}",
        crate::shell::shell_quote(region),
        crate::shell::shell_quote(name)
    )
}

/// One notebook's in-place fix, with what its steps need.
pub struct NotebookJob<'a> {
    pub run: &'a Run,
    pub notebooks: Notebooks<'a>,
    pub snapshot: Snapshot,
    pub snapshot_path: PathBuf,
    pub hints: Hints,
}

impl Executor {
    /// One notebook, start to end: check it, snapshot it, fix it.
    pub(super) async fn fix_notebook(&self, target: &Target) -> Outcome {
        match self.prepare_notebook(target).await {
            Ok(Ok(job)) => job.fresh().await,
            Ok(Err(outcome)) => outcome,
            Err(err) => Outcome::FailedUntouched {
                message: format!("nothing was changed: {err}"),
            },
        }
    }

    /// Waits until the notebook has settled, decides whether it may be changed, and writes the
    /// snapshot; nothing is changed here.
    async fn prepare_notebook(
        &self,
        target: &Target,
    ) -> Result<Result<NotebookJob<'_>, Outcome>, AwsError> {
        let key = &target.key;
        let client = self
            .client(key)
            .map_err(|m| AwsError::local("connect", m))?;
        let notebooks = Notebooks {
            client,
            timings: self.timings,
        };
        let live = match notebooks.wait_settled(&key.name).await? {
            Settled::Gone => {
                return Ok(Err(Outcome::Missing {
                    message: "the notebook instance no longer exists; nothing to do".to_owned(),
                }));
            }
            Settled::Stuck(live) => {
                return Ok(Err(Outcome::Skipped {
                    message: format!(
                        "it did not settle: {}; nothing was changed",
                        notebooks.stuck(&key.name, &live).message
                    ),
                }));
            }
            Settled::At(live) => live,
        };
        let tags = match notebooks.tags(&live.arn).await {
            Ok(tags) => tags,
            Err(err) if err.is(ErrorClass::NotFound) => {
                return Ok(Err(Outcome::Missing {
                    message: "the notebook instance disappeared while being read; nothing to do"
                        .to_owned(),
                }));
            }
            Err(err) => return Err(err),
        };
        if live.root_access == DISABLED {
            return Ok(Err(Outcome::AlreadyCompliant {
                message: "root access is already off; nothing to do".to_owned(),
            }));
        }
        if request::notebook_hash(&live.raw, &tags) != target.planned_sha256 {
            return Ok(Err(Outcome::ChangedSincePlan {
                message: "changed since plan: the notebook's settings or tags differ from what \
                          was planned; left alone (plan again)"
                    .to_owned(),
            }));
        }
        let skip = |message: String| Ok(Err(Outcome::Skipped { message }));
        match live.status.as_str() {
            STOPPED => {}
            IN_SERVICE if target.restart_running => {}
            IN_SERVICE => {
                return skip(
                    "running; not restarted without consent (--restart-running or tick it)"
                        .to_owned(),
                );
            }
            "Failed" => {
                return skip(format!(
                    "it is Failed: {}; nothing was changed",
                    live.failure_reason.as_deref().unwrap_or("no reason given")
                ));
            }
            "Deleting" => return skip("it is being deleted; nothing was changed".to_owned()),
            other => return skip(format!("it is {other}; nothing was changed")),
        }
        // Ctrl-C while this notebook was waiting to settle: nothing of it has started.
        if self.stop.load(Ordering::SeqCst) {
            return Ok(Err(Outcome::NotStarted));
        }
        let arn = live.arn.clone();
        let snapshot = snapshot_of(
            &self.run,
            key,
            target.fixes,
            &arn,
            live.raw,
            tags,
            Vec::new(),
            None,
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
        Ok(Ok(self.notebook_job(client, snapshot, snapshot_path)))
    }

    pub(super) fn notebook_job<'a>(
        &'a self,
        client: &'a SageMaker,
        snapshot: Snapshot,
        snapshot_path: PathBuf,
    ) -> NotebookJob<'a> {
        NotebookJob {
            run: &self.run,
            notebooks: Notebooks {
                client,
                timings: self.timings,
            },
            snapshot,
            snapshot_path,
            hints: self.hints.clone(),
        }
    }
}

impl NotebookJob<'_> {
    fn key(&self) -> ResourceId {
        self.snapshot.key()
    }

    fn name(&self) -> &str {
        &self.snapshot.name
    }

    /// The status the notebook had when it was snapshotted (settled: `InService` or `Stopped`).
    fn status_before(&self) -> &str {
        self.snapshot.describe["NotebookInstanceStatus"]
            .as_str()
            .unwrap_or_default()
    }

    /// It was running before the run: it must be running after it.
    fn was_running(&self) -> bool {
        self.status_before() == IN_SERVICE
    }

    fn record(&self, step: Step, phase: Phase, detail: Option<String>) -> Result<(), Outcome> {
        self.run
            .record(Event::Step {
                item: self.key(),
                step,
                phase,
                detail,
            })
            .map_err(|e| {
                self.in_doubt(format!(
                    "the journal cannot be written ({e}), so no further call was made"
                ))
            })
    }

    fn in_doubt(&self, message: String) -> Outcome {
        Outcome::InDoubt {
            message: format!("{message}; stopped without undoing anything"),
            manual: self.hints.resume(&self.run.run_id),
        }
    }

    /// The notebook, settled; an outcome when it cannot be seen or is gone.
    async fn look(&self, why: &str) -> Result<NotebookDescription, Outcome> {
        match self.notebooks.settle(self.name()).await {
            Ok(Some(live)) => Ok(live),
            Ok(None) => Err(Outcome::ChangedDuringRun {
                message: format!(
                    "{why}; someone else deleted the notebook instance (the snapshot is {})",
                    self.snapshot_path.display()
                ),
            }),
            Err(err) => Err(self.in_doubt(format!("{why}; it could not be seen: {err}"))),
        }
    }

    /// A fresh start: the notebook was snapshotted `InService` (with consent) or `Stopped`.
    pub async fn fresh(&self) -> Outcome {
        self.start_over(false).await
    }

    /// `earlier_stop_unknown`: an earlier stop of this run's may still act (resume after a run
    /// that died while sending it), so a notebook found stopped after a refused stop is taken
    /// as stopped by this run, and started again.
    async fn start_over(&self, earlier_stop_unknown: bool) -> Outcome {
        if self.was_running() {
            if let Err(outcome) = self.stop(earlier_stop_unknown).await {
                return outcome;
            }
            return self.turn_root_access_off(true).await;
        }
        self.turn_root_access_off(false).await
    }

    /// Stops the running notebook and waits until it is `Stopped`.
    async fn stop(&self, earlier_stop_unknown: bool) -> Result<(), Outcome> {
        self.record(Step::StopNotebook, Phase::Start, None)?;
        match self.notebooks.change(Change::Stop, self.name()).await {
            Ok(()) => self.record(Step::StopNotebook, Phase::Done, None)?,
            Err(OpError::Refused(err)) => {
                self.record(Step::StopNotebook, Phase::Failed, Some(err.to_string()))?;
                let why = format!("the stop was refused ({err})");
                let live = self.look(&why).await?;
                if live.status == STOPPED && earlier_stop_unknown {
                    return Ok(());
                }
                return Err(if live.status == IN_SERVICE {
                    Outcome::Failed {
                        message: format!("{why}; nothing was changed, it is running as it was"),
                        rolled_back: true,
                    }
                } else {
                    Outcome::ChangedDuringRun {
                        message: format!(
                            "{why}; someone else acted on the notebook meanwhile (it is {}); \
                             left as it is",
                            live.status
                        ),
                    }
                });
            }
            Err(OpError::InDoubt(message)) => {
                self.record(Step::StopNotebook, Phase::InDoubt, Some(message.clone()))?;
                return Err(self.in_doubt(message));
            }
        }
        match self.notebooks.settle(self.name()).await {
            Ok(Some(live)) if live.status == STOPPED => Ok(()),
            Ok(Some(live)) if live.status == IN_SERVICE => Err(Outcome::ChangedDuringRun {
                message: "someone else started the notebook again after this run stopped it; \
                          it is running, root access unchanged, and was not stopped again"
                    .to_owned(),
            }),
            Ok(Some(live)) => Err(self
                .start_again(format!("after the stop it is {}", live.status), true)
                .await),
            Ok(None) => Err(Outcome::ChangedDuringRun {
                message: format!(
                    "someone else deleted the notebook instance after this run stopped it (the \
                     snapshot is {})",
                    self.snapshot_path.display()
                ),
            }),
            Err(err) => Err(self
                .start_again(format!("it did not stop: {err}"), true)
                .await),
        }
    }

    /// `UpdateNotebookInstance RootAccess=Disabled` on the stopped notebook (`stopped_by_us`: this
    /// run stopped it), wait until it is `Stopped` again, then start it if it was running and
    /// verify.
    async fn turn_root_access_off(&self, stopped_by_us: bool) -> Outcome {
        if let Err(stop) = self.record(Step::UpdateNotebookRootAccess, Phase::Start, None) {
            return stop;
        }
        let step_ended = |phase, detail| self.record(Step::UpdateNotebookRootAccess, phase, detail);
        match self
            .notebooks
            .change(Change::TurnRootAccessOff, self.name())
            .await
        {
            Ok(()) => {
                if let Err(stop) = step_ended(Phase::Done, None) {
                    return stop;
                }
            }
            Err(OpError::Refused(err)) => {
                if let Err(stop) = step_ended(Phase::Failed, Some(err.to_string())) {
                    return stop;
                }
                return self.after_refused_update(err, stopped_by_us).await;
            }
            Err(OpError::InDoubt(message)) => {
                if let Err(stop) = step_ended(Phase::InDoubt, Some(message.clone())) {
                    return stop;
                }
                return self.in_doubt(message);
            }
        }
        match self.notebooks.settle(self.name()).await {
            Ok(Some(live)) if live.status == STOPPED || live.status == IN_SERVICE => {
                self.start_and_verify(stopped_by_us, &live).await
            }
            Ok(Some(live)) => {
                self.start_again(
                    format!("after the update it is {}", describe_status(&live)),
                    stopped_by_us,
                )
                .await
            }
            Ok(None) => Outcome::ChangedDuringRun {
                message: format!(
                    "someone else deleted the notebook instance during the run (the snapshot is \
                     {})",
                    self.snapshot_path.display()
                ),
            },
            Err(err) => {
                self.start_again(
                    format!("it did not return to Stopped after the update: {err}"),
                    stopped_by_us,
                )
                .await
            }
        }
    }

    /// The update was refused: someone started the notebook since this run stopped it (theirs:
    /// never stopped again), someone else turned root access off (the fix is there), or the
    /// service refused the change (the notebook is started again if it was running).
    async fn after_refused_update(&self, err: AwsError, stopped_by_us: bool) -> Outcome {
        let why = format!("the update was refused ({err})");
        let live = match self.look(&why).await {
            Ok(live) => live,
            Err(outcome) => return outcome,
        };
        if live.root_access == DISABLED {
            return self.start_and_verify(stopped_by_us, &live).await;
        }
        if live.status == IN_SERVICE {
            return Outcome::ChangedDuringRun {
                message: format!(
                    "{why}: someone else started the notebook during the run; it is running with \
                     root access as it was, and was not stopped again (plan again)"
                ),
            };
        }
        self.start_again(why, stopped_by_us).await
    }

    /// With root access off: starts the notebook if it was running and this run stopped it,
    /// then verifies.
    async fn start_and_verify(&self, stopped_by_us: bool, live: &NotebookDescription) -> Outcome {
        if self.was_running()
            && stopped_by_us
            && live.status == STOPPED
            && let Err(outcome) = self.start().await
        {
            return outcome;
        }
        self.verify(stopped_by_us).await
    }

    /// Starts the fixed notebook and waits until it is `InService`. A failure leaves a notebook
    /// that was running stopped: the severe outcome, naming the command that starts it.
    async fn start(&self) -> Result<(), Outcome> {
        self.record(Step::StartNotebook, Phase::Start, None)?;
        let started = self.notebooks.change(Change::Start, self.name()).await;
        let (phase, detail) = match &started {
            Ok(()) => (Phase::Done, None),
            Err(OpError::Refused(err)) => (Phase::Failed, Some(err.to_string())),
            Err(OpError::InDoubt(message)) => (Phase::InDoubt, Some(message.clone())),
        };
        self.record(Step::StartNotebook, phase, detail)?;
        let why = match started {
            Ok(()) => match self.notebooks.settle(self.name()).await {
                Ok(Some(live)) if live.status == IN_SERVICE => return Ok(()),
                Ok(Some(live)) => format!("after the start it is {}", describe_status(&live)),
                Ok(None) => {
                    return Err(Outcome::ChangedDuringRun {
                        message: "someone else deleted the notebook instance during the run"
                            .to_owned(),
                    });
                }
                Err(err) => format!("it did not come back InService: {err}"),
            },
            Err(OpError::Refused(err)) => match self.notebooks.settle(self.name()).await {
                // Someone else started it: running, as it was.
                Ok(Some(live)) if live.status == IN_SERVICE => return Ok(()),
                _ => format!("starting it was refused ({err})"),
            },
            Err(OpError::InDoubt(message)) => message,
        };
        Err(self.not_running(format!(
            "root access is off, but the notebook was running before the run and {why}"
        )))
    }

    /// A notebook that was running is not: a person must start it (or `resume`, which does).
    fn not_running(&self, message: String) -> Outcome {
        Outcome::RollbackIncomplete {
            message: format!(
                "{message}; notebook instance {} must be started: {} (or run the manual action)",
                self.name(),
                start_command(&self.snapshot.region, self.name())
            ),
            manual: self.hints.resume(&self.run.run_id),
        }
    }

    /// After a failure once the notebook was stopped: starts it again if it was running and
    /// this run stopped it, and says so. Root access is never turned back on.
    async fn start_again(&self, why: String, stopped_by_us: bool) -> Outcome {
        let live = match self.notebooks.settle(self.name()).await {
            Ok(Some(live)) => live,
            Ok(None) => {
                return Outcome::ChangedDuringRun {
                    message: format!(
                        "{why}; someone else deleted the notebook instance (the snapshot is {})",
                        self.snapshot_path.display()
                    ),
                };
            }
            Err(err) if self.was_running() && stopped_by_us => {
                return self.not_running(format!("{why}; it could not be seen ({err})"));
            }
            Err(err) => return self.in_doubt(format!("{why}; it could not be seen: {err}")),
        };
        let fixed = live.root_access == DISABLED;
        let root = if fixed {
            "root access is off"
        } else {
            "root access is as it was"
        };
        if !(self.was_running() && stopped_by_us) {
            return Outcome::Failed {
                message: format!("{why}; it is {}, {root}", describe_status(&live)),
                rolled_back: !fixed,
            };
        }
        if live.status == IN_SERVICE {
            return Outcome::Failed {
                message: format!("{why}; it is running again (someone else started it), {root}"),
                rolled_back: !fixed,
            };
        }
        if live.status != STOPPED {
            return self.not_running(format!(
                "{why}; it was running before the run and is {}",
                describe_status(&live)
            ));
        }
        if let Err(stop) = self.record(Step::RestartNotebook, Phase::Start, None) {
            return stop;
        }
        let started = self.notebooks.change(Change::Start, self.name()).await;
        let (phase, detail) = match &started {
            Ok(()) => (Phase::Done, None),
            Err(OpError::Refused(err)) => (Phase::Failed, Some(err.to_string())),
            Err(OpError::InDoubt(message)) => (Phase::InDoubt, Some(message.clone())),
        };
        if let Err(stop) = self.record(Step::RestartNotebook, phase, detail) {
            return stop;
        }
        let failed = match started {
            Ok(()) => match self.notebooks.settle(self.name()).await {
                Ok(Some(live)) if live.status == IN_SERVICE => None,
                Ok(Some(live)) => Some(format!("it is {}", describe_status(&live))),
                Ok(None) => Some("it no longer exists".to_owned()),
                Err(err) => Some(err.to_string()),
            },
            Err(err) => Some(err.to_string()),
        };
        match failed {
            None => Outcome::Failed {
                message: format!("{why}; the notebook was started again, {root}"),
                rolled_back: !fixed,
            },
            Some(failure) => self.not_running(format!(
                "{why}; starting it again failed ({failure}): it was running before the run and \
                 may not be running now"
            )),
        }
    }

    /// Root access off, every other setting and the tags as in the snapshot, the status as it
    /// was. Root access still on is a failed fix (the notebook is started again if it was
    /// running); any other difference was made by someone else during the run, and is reported,
    /// never undone.
    async fn verify(&self, stopped_by_us: bool) -> Outcome {
        if let Err(stop) = self.record(Step::Verify, Phase::Start, None) {
            return stop;
        }
        let checked = async {
            let Some(live) = self.notebooks.settle(self.name()).await? else {
                return Ok(None);
            };
            let tags = self.notebooks.tags(&live.arn).await?;
            Ok::<_, AwsError>(Some((live, tags)))
        };
        let (live, tags) = match checked.await {
            Ok(Some(seen)) => seen,
            Ok(None) => {
                let message = format!(
                    "someone else deleted the notebook instance during the run (the snapshot is \
                     {})",
                    self.snapshot_path.display()
                );
                return self
                    .record(Step::Verify, Phase::Failed, Some(message.clone()))
                    .err()
                    .unwrap_or(Outcome::ChangedDuringRun { message });
            }
            Err(err) => {
                let message = format!("could not verify the notebook: {err}");
                return match self.record(Step::Verify, Phase::InDoubt, Some(message.clone())) {
                    Ok(()) => self.in_doubt(message),
                    Err(stop) => stop,
                };
            }
        };
        if live.root_access != DISABLED {
            let why = "verification failed: root access is still enabled".to_owned();
            if let Err(stop) = self.record(Step::Verify, Phase::Failed, Some(why.clone())) {
                return stop;
            }
            return self.start_again(why, stopped_by_us).await;
        }
        let differences = self.differences(&live, &tags);
        if differences.is_empty() {
            return match self.record(Step::Verify, Phase::Done, None) {
                Ok(()) => Outcome::Updated,
                Err(stop) => stop,
            };
        }
        let difference = differences.join("; ");
        if let Err(stop) = self.record(Step::Verify, Phase::Failed, Some(difference.clone())) {
            return stop;
        }
        Outcome::VerifyFailed {
            message: format!(
                "root access is off, but {difference}: changed by someone else during the run, \
                 and kept (nothing was undone)"
            ),
        }
    }

    /// How the live notebook differs from the snapshot beyond root access.
    fn differences(&self, live: &NotebookDescription, tags: &[Tag]) -> Vec<String> {
        let mut differences = Vec::new();
        let members = differing_members(&live.raw, &self.snapshot.describe);
        if !members.is_empty() {
            differences.push(format!("its settings differ ({})", members.join(", ")));
        }
        let tags: BTreeSet<&Tag> = tags.iter().collect();
        let before: BTreeSet<&Tag> = self.snapshot.tags.iter().collect();
        if tags != before {
            differences.push("its tags differ".to_owned());
        }
        if live.status != self.status_before() {
            differences.push(format!(
                "it is {} (it was {})",
                describe_status(live),
                self.status_before()
            ));
        }
        differences
    }

    /// Whether the notebook's `LastModifiedTime` is the snapshot's: nothing (no stop, start or
    /// update) happened to it since. A missing time counts as modified.
    fn unmodified_since_snapshot(&self, live: &NotebookDescription) -> bool {
        let before = self.snapshot.describe.get("LastModifiedTime");
        before.is_some() && live.raw.get("LastModifiedTime") == before
    }

    /// For `resume`: the live notebook and what the journal says this run did decide. Root
    /// access off is finished forward (started if this run stopped it, verified); a stopped
    /// notebook with root access on and its settings as snapshotted is updated, then started if
    /// this run stopped it; a running one with root access on was started by someone else after
    /// this run's stop (theirs), started again by this run after a failure (back as it was), or
    /// never stopped (fixed from the start: the snapshot exists only with consent).
    pub async fn reconcile(&self, progress: Progress) -> Outcome {
        let live = match self.look("resuming").await {
            Ok(live) => live,
            Err(outcome) => return outcome,
        };
        let stopped_by_us = progress.notebook_stop_sent;
        let settings_kept = differing_members(&live.raw, &self.snapshot.describe).is_empty();
        match (live.status.as_str(), live.root_access == DISABLED) {
            (STOPPED | IN_SERVICE, true) => self.start_and_verify(stopped_by_us, &live).await,
            (STOPPED, false) if settings_kept => self.turn_root_access_off(stopped_by_us).await,
            (STOPPED, false) => {
                self.start_again(
                    "someone else changed the notebook's settings during the run; not fixed"
                        .to_owned(),
                    stopped_by_us,
                )
                .await
            }
            (IN_SERVICE, false) if progress.notebook_restart_sent => Outcome::Failed {
                message: "the run started the notebook again after a failure: it is running \
                          with root access as it was"
                    .to_owned(),
                rolled_back: true,
            },
            // The stop was journaled but never answered, and the notebook was not modified since
            // the snapshot: the stop did not act (yet); start over, taking a late stop as ours.
            (IN_SERVICE, false)
                if stopped_by_us
                    && !progress.notebook_stop_answered
                    && settings_kept
                    && self.unmodified_since_snapshot(&live) =>
            {
                self.start_over(true).await
            }
            (IN_SERVICE, false) if stopped_by_us => Outcome::ChangedDuringRun {
                message: "the notebook is running again with root access as it was, modified \
                          since this run's stop went out: someone else started it (or acted on \
                          it); not stopped again (plan again)"
                    .to_owned(),
            },
            (IN_SERVICE, false) if self.was_running() && settings_kept => self.fresh().await,
            (IN_SERVICE, false) => Outcome::ChangedDuringRun {
                message: "someone else started or changed the notebook during the run; left as \
                          it is (plan again)"
                    .to_owned(),
            },
            _ if self.was_running() && stopped_by_us => self.not_running(format!(
                "it was running before the run and is {}",
                describe_status(&live)
            )),
            _ => Outcome::ChangedDuringRun {
                message: format!(
                    "it is {}; left as it is (plan again)",
                    describe_status(&live)
                ),
            },
        }
    }
}

/// `Failed (REASON)` for a failed notebook, else its status.
fn describe_status(live: &NotebookDescription) -> String {
    match (&live.failure_reason, live.status.as_str()) {
        (Some(reason), "Failed") => format!("Failed ({reason})"),
        _ => live.status.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn settings_leave_out_state_and_root_access_only() {
        let before = json!({"NotebookInstanceName": "nb", "NotebookInstanceStatus": "InService",
            "RootAccess": "Enabled", "Url": "u", "InstanceType": "ml.t3.medium",
            "LastModifiedTime": 1.0});
        let mut after = before.clone();
        after["NotebookInstanceStatus"] = json!("Stopped");
        after["RootAccess"] = json!("Disabled");
        after["LastModifiedTime"] = json!(2.0);
        after.as_object_mut().unwrap().remove("Url");
        assert!(differing_members(&after, &before).is_empty());
        after["InstanceType"] = json!("ml.t3.large");
        after["VolumeSizeInGB"] = json!(10);
        assert_eq!(
            differing_members(&after, &before),
            vec!["InstanceType".to_owned(), "VolumeSizeInGB".to_owned()]
        );
    }

    #[test]
    fn a_change_is_sent_again_only_on_the_state_it_expects() {
        let nb = |status: &str, root: &str| {
            NotebookDescription::from_raw(json!({"NotebookInstanceStatus": status,
                "RootAccess": root}))
        };
        assert!(Change::Stop.may_send(&nb("InService", "Enabled")));
        assert!(!Change::Stop.may_send(&nb("Stopped", "Enabled")));
        assert!(Change::TurnRootAccessOff.may_send(&nb("Stopped", "Enabled")));
        // Someone started it since: the update is not sent again, and it is never stopped.
        assert!(!Change::TurnRootAccessOff.may_send(&nb("InService", "Enabled")));
        assert!(Change::TurnRootAccessOff.is_done(&nb("InService", "Disabled")));
        assert!(Change::Start.may_send(&nb("Stopped", "Disabled")));
        assert!(!Change::Start.may_send(&nb("Failed", "Disabled")));
    }
}
