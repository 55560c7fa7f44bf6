//! The calls the protocol makes, made safe against lost answers.
//!
//! Every mutating call goes out without the SDK's retries (see `sagemaker::single_attempt`), so
//! each attempt's answer is seen here and falls in one of three cases:
//! - it acted (`Ok`);
//! - it was refused and did not act (throttling, validation, a conflict on a clean attempt);
//! - nobody knows (a 5xx, a dropped connection, a timeout): the live state is looked at, patiently,
//!   and decides. If looking keeps failing for `Timings::patience`, the call is *in doubt*
//!   (`OpError::InDoubt`): the caller stops that definition and never undoes on a guess.

use crate::kinds::{Kind, same_name};
use crate::request::READ_ONLY_MEMBERS;
use crate::sagemaker::{AwsError, ErrorClass, SageMaker, ScheduleDescription, Tag};
use serde_json::Value;
use std::time::{Duration, Instant};

/// How long to wait for things AWS does asynchronously, and for answers that were lost.
#[derive(Debug, Clone, Copy)]
pub struct Timings {
    /// Longest wait for a schedule to settle (leave `Pending`, finish an execution in progress).
    pub schedule_timeout: Duration,
    /// How long to keep looking when an answer was lost and the looks fail too.
    pub patience: Duration,
    /// First poll interval; doubles up to `max_poll`.
    pub first_poll: Duration,
    pub max_poll: Duration,
    /// Attempts for a mutating call whose answer was unknown or busy, and for a name whose
    /// delete is still settling. Throttles are not counted: a throttled call did not act, and is
    /// sent again once the client's rate limit allows, for up to `patience` (`Throttled`).
    pub attempts: u32,
}

impl Default for Timings {
    fn default() -> Timings {
        Timings {
            schedule_timeout: Duration::from_secs(900),
            patience: Duration::from_secs(120),
            first_poll: Duration::from_millis(200),
            max_poll: Duration::from_secs(5),
            attempts: 8,
        }
    }
}

/// Why a call did not do what was asked.
#[derive(Debug, Clone, thiserror::Error)]
pub enum OpError {
    /// AWS refused it: the call did not act (or, for a look, did not answer).
    #[error("{0}")]
    Refused(AwsError),
    /// Whether the call acted is unknown, and looking did not tell.
    #[error("{0}")]
    InDoubt(String),
}

impl OpError {
    fn in_doubt(call: &str, name: &str, answer: &AwsError, look: &AwsError) -> OpError {
        OpError::InDoubt(format!(
            "{call} {name}: the answer was lost ({answer}) and looking did not tell whether it \
             acted ({look})"
        ))
    }
}

/// The describe JSON as a create request would have produced it: read-only members and the name
/// removed, so two definitions can be compared whatever they are called.
pub fn comparable(describe: &Value) -> Value {
    let mut value = describe.clone();
    if let Value::Object(members) = &mut value {
        for member in READ_ONLY_MEMBERS {
            members.remove(member);
        }
        members.remove("JobDefinitionName");
        members.remove("Tags");
    }
    value
}

/// Does a described definition hold exactly what `request` asked for (tags aside)?
pub fn holds(describe: &Value, request: &Value) -> bool {
    comparable(describe) == comparable(request)
}

/// A definition's `CreationTime`: what tells one object from another of the same name and
/// content (names are reused, content may be equal).
pub fn creation_time(describe: &Value) -> Option<f64> {
    describe.get("CreationTime").and_then(Value::as_f64)
}

/// Is `live` the object `known` described? Without both creation times it cannot be told apart,
/// and counts as the same (callers use this to refuse acting on it as if it were new).
pub fn same_object(live: &Value, known: &Value) -> bool {
    match (creation_time(live), creation_time(known)) {
        (Some(live), Some(known)) => live == known,
        _ => true,
    }
}

/// What a create found.
#[derive(Debug, Clone, PartialEq)]
pub enum Created {
    /// This call made it.
    Made,
    /// The name was taken by something this call did not make (`live`, as described).
    Taken { live: Value },
}

/// What a delete found.
#[derive(Debug, Clone, PartialEq)]
pub enum Deleted {
    /// This call deleted it.
    Deleted,
    /// It was gone already: someone else deleted it.
    AlreadyGone,
    /// After a lost answer, the name holds another object than the one to delete: someone
    /// replaced it, and the replacement is left alone.
    Replaced { live: Value },
}

/// What `repoint_schedule` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Repoint {
    Moved,
    AlreadyThere,
    /// The schedule points at a definition the tool does not own; it was not touched.
    LeftAlone {
        points_at: String,
    },
    /// The schedule no longer exists: nothing to move.
    Vanished,
}

pub struct Ops<'a> {
    pub client: &'a SageMaker,
    pub kind: Kind,
    pub timings: Timings,
}

fn is_passing(err: &AwsError) -> bool {
    err.is(ErrorClass::Throttled) || err.is(ErrorClass::Transient)
}

/// How long one call has been throttled. A throttled call did not act (AWS-FACTS #7), so it is
/// always safe to send again; it is, without a wait of its own, because the next attempt waits
/// for its client's rate limit (`sagemaker::pace`), which each throttle slows down. Only the
/// time bounds it: an account-region that throttles a call for `patience` ends that call as
/// refused instead of waiting without end.
#[derive(Debug, Default)]
pub struct Throttled {
    since: Option<Instant>,
}

impl Throttled {
    /// Notes a throttle; `true` while the call may be sent again.
    pub fn again(&mut self, patience: Duration) -> bool {
        self.since.get_or_insert_with(Instant::now).elapsed() < patience
    }
}

/// The retries of one refused call that is tried again (`Ops::may_retry`).
#[derive(Debug, Default)]
pub struct Retries {
    /// Refusals other than throttles.
    attempt: u32,
    throttled: Throttled,
}

impl Ops<'_> {
    /// Retries a read while it is throttled or meets a transient failure, for up to
    /// `Timings::patience` (on top of the SDK's own retries).
    pub async fn patiently<T, F, Fut>(&self, read: F) -> Result<T, AwsError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, AwsError>>,
    {
        let deadline = Instant::now() + self.timings.patience;
        let mut delay = self.timings.first_poll;
        loop {
            match read().await {
                Ok(value) => return Ok(value),
                // The next attempt waits for the client's rate limit (see `Throttled`).
                Err(err) if err.is(ErrorClass::Throttled) && Instant::now() < deadline => {
                    tracing::debug!(error = %err, "look throttled; looking again");
                }
                Err(err) if is_passing(&err) && Instant::now() + delay <= deadline => {
                    tracing::debug!(error = %err, "look failed; looking again");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(self.timings.max_poll);
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// Describes `name` once; `None` when it does not exist.
    pub async fn find_once(&self, name: &str) -> Result<Option<Value>, AwsError> {
        match self.client.describe_definition(self.kind, name).await {
            Ok(value) => Ok(Some(value)),
            Err(err) if err.is(ErrorClass::NotFound) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Describes `name`, patiently; `None` when it does not exist.
    pub async fn find(&self, name: &str) -> Result<Option<Value>, AwsError> {
        self.patiently(|| self.find_once(name)).await
    }

    /// The tags on `arn`, patiently.
    pub async fn tags(&self, arn: &str) -> Result<Vec<Tag>, AwsError> {
        self.patiently(|| self.client.list_tags(arn)).await
    }

    /// Describes `name` and lists its tags (by the ARN its name gives, `arn`), concurrently and
    /// patiently: a failed look takes both again, so the two are always of one moment. `None`
    /// when it does not exist.
    pub async fn find_with_tags(
        &self,
        name: &str,
        arn: &str,
    ) -> Result<Option<(Value, Vec<Tag>)>, AwsError> {
        self.patiently(|| self.find_with_tags_once(name, arn)).await
    }

    /// [`Ops::find_with_tags`], each call sent once. The tags are listed before the describe or
    /// with it, not after: they are listed by an ARN that only the name makes, so tags listed
    /// later could be those of a definition that replaced the one described, and would pass it
    /// for unchanged. The describe carries `CreationTime`, which tells a replacement. Under a
    /// rate limit the calls go one after the other (tags, then describe), since in one slot
    /// each; without one, at once. Two cases still list tags after the describe: an ARN that
    /// AWS spells otherwise (harmless: the ARN is in the hashed describe), and tags answered
    /// NotFound while the describe found the definition, which without a limit re-lists after
    /// it (a replacement in that window of about two round trips is not seen).
    pub async fn find_with_tags_once(
        &self,
        name: &str,
        arn: &str,
    ) -> Result<Option<(Value, Vec<Tag>)>, AwsError> {
        let (tags, live) = if self.client.is_paced() {
            let tags = self.client.list_tags(arn).await;
            (tags, self.find_once(name).await)
        } else {
            tokio::join!(self.client.list_tags(arn), self.find_once(name))
        };
        let Some(live) = live? else {
            return Ok(None);
        };
        // The ARN is derived from the name, so the guess is right unless AWS says otherwise.
        let tags = match live["JobDefinitionArn"].as_str() {
            Some(live_arn) if live_arn != arn => self.client.list_tags(live_arn).await?,
            _ => match tags {
                Ok(tags) => tags,
                // Listed while the definition was momentarily absent (replaced): ask again.
                Err(err) if err.is(ErrorClass::NotFound) => self.client.list_tags(arn).await?,
                Err(err) => return Err(err),
            },
        };
        Ok(Some((live, tags)))
    }

    async fn backoff(&self, attempt: u32) {
        let delay = self
            .timings
            .first_poll
            .saturating_mul(1 << attempt.min(10))
            .min(self.timings.max_poll);
        tokio::time::sleep(delay).await;
    }

    /// Creates `name` from `request`.
    ///
    /// `Created::Made` only when this call made it: an answer that was lost is settled by looking
    /// (present and holding the request: made; absent: sent again). A `ResourceInUse` on an
    /// attempt that follows a lost answer is looked at the same way; on a clean attempt it means
    /// the name was taken before (`Created::Taken`). `replacing` is the definition just deleted
    /// under this name: while it is still visible (same `CreationTime`), the create is retried.
    /// `mark`: a tag the request carries that no other run's does (the copy's claim): after a
    /// lost answer, only a definition carrying it counts as made by this call.
    pub async fn create(
        &self,
        name: &str,
        request: &Value,
        replacing: Option<&Value>,
        mark: Option<&Tag>,
    ) -> Result<Created, OpError> {
        let still_the_old_one = |live: &Value| replacing.is_some_and(|old| same_object(live, old));
        let mut unknown: Option<AwsError> = None;
        let mut attempt = 0;
        let mut throttled = Throttled::default();
        let mut throttled_before = false;
        loop {
            let err = match self.client.create_definition(self.kind, request).await {
                Ok(_) => return Ok(Created::Made),
                Err(err) => err,
            };
            // A throttled call is refused before it acts (AWS-FACTS #7): simply sent again. Yet
            // a later conflict is settled as after a lost answer (below), so no decision rests
            // on that alone.
            if err.is(ErrorClass::Throttled) {
                throttled_before = true;
                if throttled.again(self.timings.patience) {
                    continue;
                }
            }
            attempt += 1;
            let exhausted = attempt >= self.timings.attempts;
            let ambiguous = err.is(ErrorClass::Transient);
            if !(ambiguous || err.is(ErrorClass::InUse)) {
                return match unknown {
                    // An earlier attempt may have acted: only a look can say.
                    Some(_) => self.settle_create(name, request, mark, &err).await,
                    None => Err(OpError::Refused(err)),
                };
            }
            if ambiguous {
                unknown = Some(err.clone());
            }
            let live = self
                .find(name)
                .await
                .map_err(|look| OpError::in_doubt("create", name, &err, &look))?;
            match live {
                Some(live) if still_the_old_one(&live) => {}
                // The request's content under the name, new: ours if any attempt's answer was
                // unknown (this one, or one before a later `ResourceInUse`) or throttled, and it
                // bears the mark.
                Some(live) if (unknown.is_some() || throttled_before) && holds(&live, request) => {
                    return match self.bears(&live, mark).await {
                        Ok(true) => Ok(Created::Made),
                        Ok(false) => Ok(Created::Taken { live }),
                        Err(look) if unknown.is_some() => {
                            Err(OpError::in_doubt("create", name, &err, &look))
                        }
                        // Only throttles came before: no answer was lost, yet whose it is could
                        // not be read.
                        Err(look) => Err(OpError::InDoubt(format!(
                            "create {name}: throttled, then found taken by a definition with \
                             this content; whether an earlier attempt made it could not be read \
                             ({look})"
                        ))),
                    };
                }
                Some(live) => return Ok(Created::Taken { live }),
                None => {}
            }
            // Absent (or still the old one) after every attempt: none of them acted.
            if exhausted {
                return Err(OpError::Refused(err));
            }
            self.backoff(attempt).await;
        }
    }

    /// After an earlier lost answer and a later refusal: the look decides whether the earlier
    /// attempt made it.
    async fn settle_create(
        &self,
        name: &str,
        request: &Value,
        mark: Option<&Tag>,
        refusal: &AwsError,
    ) -> Result<Created, OpError> {
        let live = match self.find(name).await {
            Ok(Some(live)) => live,
            Ok(None) => return Err(OpError::Refused(refusal.clone())),
            Err(look) => return Err(OpError::in_doubt("create", name, refusal, &look)),
        };
        if !holds(&live, request) {
            return Ok(Created::Taken { live });
        }
        match self.bears(&live, mark).await {
            Ok(true) => Ok(Created::Made),
            Ok(false) => Ok(Created::Taken { live }),
            Err(look) => Err(OpError::in_doubt("create", name, refusal, &look)),
        }
    }

    /// Does the described definition carry `mark` (trivially, when there is none)?
    pub async fn bears(&self, live: &Value, mark: Option<&Tag>) -> Result<bool, AwsError> {
        let Some(mark) = mark else {
            return Ok(true);
        };
        let arn = live["JobDefinitionArn"].as_str().unwrap_or_default();
        Ok(self.tags(arn).await?.contains(mark))
    }

    /// Sends one delete of `name`, which was seen as `seen` (its `CreationTime` identifies it),
    /// and settles a lost answer by looking. `Err(Refused)` means the delete did not act; when
    /// its class is throttled or transient it may be tried again — after the caller looked at
    /// the definition again, since someone may have changed it meanwhile.
    pub async fn delete_once(&self, name: &str, seen: &Value) -> Result<Deleted, OpError> {
        let err = match self.client.delete_definition(self.kind, name).await {
            Ok(()) => return Ok(Deleted::Deleted),
            Err(err) if err.is(ErrorClass::NotFound) => return Ok(Deleted::AlreadyGone),
            Err(err) => err,
        };
        if !err.is(ErrorClass::Transient) {
            return Err(OpError::Refused(err));
        }
        let live = self
            .find(name)
            .await
            .map_err(|look| OpError::in_doubt("delete", name, &err, &look))?;
        match live {
            None => Ok(Deleted::Deleted),
            Some(live) if !same_object(&live, seen) => Ok(Deleted::Replaced { live }),
            // Still there: the attempt did not act.
            Some(_) => Err(OpError::Refused(err)),
        }
    }

    /// Waits before trying a refused call again, if it may be: `false` once the attempts (or,
    /// for a throttle, `patience`) are spent, or the refusal is not one that passes.
    pub async fn may_retry(&self, err: &OpError, retries: &mut Retries) -> bool {
        let OpError::Refused(err) = err else {
            return false;
        };
        if err.is(ErrorClass::Throttled) {
            return retries.throttled.again(self.timings.patience);
        }
        retries.attempt += 1;
        if is_passing(err) && retries.attempt < self.timings.attempts {
            self.backoff(retries.attempt).await;
            true
        } else {
            false
        }
    }

    /// Describes a schedule, patiently; `None` when it does not exist.
    pub async fn find_schedule(&self, name: &str) -> Result<Option<ScheduleDescription>, AwsError> {
        self.patiently(|| self.find_schedule_once(name)).await
    }

    /// Describes the schedule `name` once; `None` when it does not exist.
    async fn find_schedule_once(
        &self,
        name: &str,
    ) -> Result<Option<ScheduleDescription>, AwsError> {
        match self.client.describe_schedule(name).await {
            Ok(schedule) => Ok(Some(schedule)),
            Err(err) if err.is(ErrorClass::NotFound) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Waits until the schedule is neither `Pending` nor running an execution (a `Failed`
    /// schedule is settled: an update is how it gets repaired); fails after the timeout.
    /// `None`: the schedule no longer exists.
    pub async fn settle_schedule(
        &self,
        name: &str,
    ) -> Result<Option<ScheduleDescription>, AwsError> {
        let deadline = Instant::now() + self.timings.schedule_timeout;
        let mut delay = self.timings.first_poll;
        loop {
            let Some(schedule) = self.find_schedule(name).await? else {
                return Ok(None);
            };
            let running = schedule.last_execution_status.as_deref() == Some("InProgress");
            if schedule.status != "Pending" && !running {
                return Ok(Some(schedule));
            }
            if Instant::now() + delay > deadline {
                return Err(AwsError::local(
                    "DescribeMonitoringSchedule",
                    format!(
                        "schedule {name} is still {}{} after {}s",
                        schedule.status,
                        if running {
                            " with an execution in progress"
                        } else {
                            ""
                        },
                        self.timings.schedule_timeout.as_secs()
                    ),
                ));
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(self.timings.max_poll);
        }
    }

    /// Moves the schedule from one of `from` to the definition `to`, changing nothing else in
    /// its live configuration, and waits for it to settle. A running execution is waited for,
    /// never interrupted. A schedule that already points at `to` is left as it is; one that
    /// points anywhere else than `from` or `to` was changed by someone else and is left alone;
    /// one that no longer exists is nothing to move.
    pub async fn repoint_schedule(
        &self,
        name: &str,
        from: &[&str],
        to: &str,
    ) -> Result<Repoint, OpError> {
        let named = |s: &ScheduleDescription| s.definition_name.clone().unwrap_or_default();
        let mut sent = false;
        self.change_schedule(
            name,
            &ScheduleChange {
                is_done: &|s| same_name(&named(s), to),
                is_before: &|s| from.iter().any(|f| same_name(f, &named(s))),
                make: &|config| config_pointing_at(config, to),
                what_else: &|s| named(s),
            },
            &mut sent,
        )
        .await
    }

    /// Sets the schedule's whole configuration from `from` to `to` (fixing an inline job
    /// definition in place, or putting it back), with the discipline of `repoint_schedule`: a
    /// configuration that is neither was set by someone else and is left alone. Both are
    /// recognised as the service reads them (`config_matches`): nothing someone else added is
    /// ever taken for either, so an update never wipes it.
    ///
    /// Also says whether this call sent an update that may have acted: a refusal after one did
    /// (the schedule Failed after it) is this run's to undo, a fixed configuration without one
    /// is someone else's.
    pub async fn replace_schedule_config(
        &self,
        name: &str,
        from: &Value,
        to: &Value,
    ) -> (Result<Repoint, OpError>, bool) {
        let mut sent = false;
        let result = self
            .change_schedule(
                name,
                &ScheduleChange {
                    is_done: &|s| config_matches(s.config(), to),
                    is_before: &|s| config_matches(s.config(), from),
                    make: &|_| to.clone(),
                    what_else: &|_| "a configuration someone else set".to_owned(),
                },
                &mut sent,
            )
            .await;
        (result, sent)
    }

    /// One idempotent change of a schedule's configuration, from a state `is_before` accepts to
    /// one `is_done` accepts, by updating to what `make` builds from the live configuration.
    /// Every answer is checked by looking: an update whose answer was lost is sent again only
    /// after the schedule is seen settled and unchanged, so an update never lands on top of
    /// someone else's. `sent` ends true once an update was sent that may have acted (accepted,
    /// or its answer lost).
    async fn change_schedule(
        &self,
        name: &str,
        change: &ScheduleChange<'_>,
        sent: &mut bool,
    ) -> Result<Repoint, OpError> {
        let Some(mut current) = self.find_schedule(name).await.map_err(OpError::Refused)? else {
            return Ok(Repoint::Vanished);
        };
        // A schedule that was Failed before is not made worse by the change: only a schedule
        // that fails because of it makes the change fail.
        let failed_before = current.status == "Failed";
        let mut lost: Option<AwsError> = None;
        let mut last_refusal: Option<AwsError> = None;
        // `LastModifiedTime` as last seen before an update was sent: a schedule found as before
        // but modified since was changed again by someone after that update (AWS-FACTS #4).
        let mut modified_when_sent: Option<Value> = None;
        let mut attempts = 0;
        let mut throttled = Throttled::default();
        // Under a rate limit, the handle whose reserved slots hold the look `current` came from
        // and the update right after it (set for one pass of the loop only).
        let mut together: Option<SageMaker> = None;
        let mut fresh_looks_until: Option<Instant> = None;
        loop {
            let busy = current.status == "Pending"
                || current.last_execution_status.as_deref() == Some("InProgress");
            let done = (change.is_done)(&current);
            // Already there: only an update of ours still settling (`Pending`) is waited for; a
            // running execution does not matter when nothing needs to change.
            if done && current.status != "Pending" {
                if current.status == "Failed" && *sent && !failed_before {
                    let reason = current.raw["FailureReason"]
                        .as_str()
                        .unwrap_or("no reason given");
                    return Err(OpError::Refused(AwsError::local(
                        "UpdateMonitoringSchedule",
                        format!("schedule {name} is Failed after the update: {reason}"),
                    )));
                }
                return Ok(if *sent {
                    Repoint::Moved
                } else {
                    Repoint::AlreadyThere
                });
            }
            if !done && !(change.is_before)(&current) {
                return Ok(Repoint::LeftAlone {
                    points_at: (change.what_else)(&current),
                });
            }
            if !busy
                && let Some(modified) = &modified_when_sent
                && current.raw.get("LastModifiedTime") != Some(modified)
            {
                // As before, yet modified since this run's update went out: that update may
                // have acted and someone put the schedule back. Sending it again would undo them.
                return Ok(Repoint::LeftAlone {
                    points_at: (change.what_else)(&current),
                });
            }
            if !busy {
                // Seen settled as before after every attempt: none of them acted.
                if attempts >= self.timings.attempts.min(4) {
                    let why = lost
                        .as_ref()
                        .or(last_refusal.as_ref())
                        .map(|e| format!(" ({e})"))
                        .unwrap_or_default();
                    return Err(OpError::Refused(AwsError::local(
                        "UpdateMonitoringSchedule",
                        format!(
                            "schedule {name} did not take the update after {attempts} \
                             updates{why}"
                        ),
                    )));
                }
                // Under a rate limit the update would wait for its slot after the look it is
                // decided on, and a repoint someone makes meanwhile would be overwritten (I5):
                // look again in slots taken together with the update, and decide on that look.
                // Should those looks keep failing for `patience`, updates go on the settled look,
                // as without a limit.
                let fresh_looks_spent = fresh_looks_until.is_some_and(|t| Instant::now() >= t);
                let client = match together.take() {
                    Some(client) => client,
                    None if self.client.is_paced() && !fresh_looks_spent => {
                        let pair = self.client.together(2).await;
                        let on_pair = Ops {
                            client: &pair,
                            ..*self
                        };
                        match on_pair.find_schedule_once(name).await {
                            Ok(Some(fresh)) => {
                                current = fresh;
                                together = Some(pair);
                            }
                            Ok(None) => return Ok(Repoint::Vanished),
                            Err(err) => {
                                tracing::debug!(error = %err, "look before the update failed");
                                fresh_looks_until
                                    .get_or_insert(Instant::now() + self.timings.patience);
                                current = match self.settle_schedule(name).await {
                                    Ok(Some(schedule)) => schedule,
                                    Ok(None) => return Ok(Repoint::Vanished),
                                    Err(look) => {
                                        return Err(settle_failed(
                                            name,
                                            lost.as_ref(),
                                            *sent,
                                            look,
                                        ));
                                    }
                                };
                            }
                        }
                        // Decide again on what was just seen.
                        continue;
                    }
                    None => self.client.clone(),
                };
                attempts += 1;
                let config = (change.make)(current.config());
                modified_when_sent = Some(
                    current
                        .raw
                        .get("LastModifiedTime")
                        .cloned()
                        .unwrap_or(Value::Null),
                );
                match client.update_schedule(name, &config).await {
                    Ok(()) => *sent = true,
                    // "Does not exist" may be about something the configuration names (an
                    // endpoint, a definition): only a look says the schedule is gone.
                    Err(err) if err.is(ErrorClass::NotFound) => {
                        match self.find_schedule(name).await {
                            Ok(None) => return Ok(Repoint::Vanished),
                            Ok(Some(_)) if lost.is_none() => return Err(OpError::Refused(err)),
                            Ok(Some(_)) => {}
                            Err(look) => {
                                return Err(OpError::in_doubt(
                                    "update of schedule",
                                    name,
                                    &err,
                                    &look,
                                ));
                            }
                        }
                    }
                    // Not acted (throttled), or unknown (transient), or busy: the next look
                    // decides.
                    Err(err) if err.is(ErrorClass::Transient) => {
                        *sent = true;
                        lost = Some(err);
                    }
                    // Throttled: it did not act, and is not counted as an update while it may be
                    // sent again (see `Throttled`); the look before it waits for the rate limit.
                    Err(err) if err.is(ErrorClass::Throttled) => {
                        if throttled.again(self.timings.patience) {
                            attempts -= 1;
                        }
                        last_refusal = Some(err);
                    }
                    // Busy: someone's change (or an execution) started since the look. AWS
                    // answers a schedule in `Pending` with a ValidationException (AWS-FACTS #4),
                    // which is not a refusal of the change itself.
                    Err(err) if err.is(ErrorClass::InUse) || is_busy_refusal(&err) => {
                        self.backoff(attempts).await;
                        last_refusal = Some(err);
                    }
                    Err(err) if lost.is_none() => return Err(OpError::Refused(err)),
                    // Refused now, but an earlier attempt's answer was lost: the look decides.
                    Err(_) => {}
                }
            }
            together = None;
            current = match self.settle_schedule(name).await {
                Ok(Some(schedule)) => schedule,
                Ok(None) => return Ok(Repoint::Vanished),
                Err(look) => return Err(settle_failed(name, lost.as_ref(), *sent, look)),
            };
        }
    }
}

/// What a schedule that could not be seen settled after its update means: in doubt once an
/// update may have acted (its answer was lost, or it was accepted), refused otherwise.
fn settle_failed(name: &str, lost: Option<&AwsError>, sent: bool, look: AwsError) -> OpError {
    match lost {
        Some(answer) => OpError::in_doubt("update of schedule", name, answer, &look),
        None if sent => OpError::InDoubt(format!(
            "schedule {name} was updated but did not settle: {look}"
        )),
        None => OpError::Refused(look),
    }
}

/// "Monitoring schedule in status Pending", "is in Pending state", or an execution in
/// progress: the schedule is busy, and the update may be sent again once it settles. Only
/// phrases with spaces count, which no schedule or definition name (letters, digits, hyphens)
/// can hold, so a name like `pending-orders` is not taken for the state.
fn is_busy_refusal(err: &AwsError) -> bool {
    let message = err.message.to_ascii_lowercase();
    err.is(ErrorClass::Validation)
        && ["status pending", "pending state", "in progress"]
            .iter()
            .any(|phrase| message.contains(phrase))
}

/// What one schedule change recognises and sends (see `Ops::change_schedule`).
struct ScheduleChange<'c> {
    /// The change is in place.
    is_done: &'c (dyn Fn(&ScheduleDescription) -> bool + Sync),
    /// The schedule is as the change expects to find it.
    is_before: &'c (dyn Fn(&ScheduleDescription) -> bool + Sync),
    /// The configuration to send, from the live one.
    make: &'c (dyn Fn(&Value) -> Value + Sync),
    /// What the schedule holds when it is neither, for the report.
    what_else: &'c (dyn Fn(&ScheduleDescription) -> String + Sync),
}

/// The configuration as compared: the inline job definition's `NetworkConfig` flags made
/// explicit booleans (absent is false to the service), so a service that writes out a default
/// flag, or drops a false one, does not make a configuration look like someone else's.
fn normalized_config(config: &Value) -> Value {
    let mut config = config.clone();
    if let Some(job) = config.get_mut("MonitoringJobDefinition")
        && let Value::Object(job) = job
    {
        let network = job
            .entry("NetworkConfig")
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        if let Value::Object(network) = network {
            for fix in crate::kinds::Fix::ALL {
                let flag = network
                    .get(fix.member())
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                network.insert(fix.member().to_owned(), Value::Bool(flag));
            }
        }
    }
    config
}

/// Are two described configurations the same (flags compared as the service reads them)?
pub fn same_config(live: &Value, wanted: &Value) -> bool {
    normalized_config(live) == normalized_config(wanted)
}

/// Does the live configuration hold exactly `wanted`, as the service reads it: flags compared as
/// booleans, and beyond `wanted` only the defaults the service documents filling in (AWS-FACTS
/// #8: `StoppingCondition`, an input's `S3InputMode` and `S3DataDistributionType`, an output's
/// `S3UploadMode`). Anything else someone added makes it another configuration.
pub fn config_matches(live: &Value, wanted: &Value) -> bool {
    let mut live = normalized_config(live);
    let wanted = normalized_config(wanted);
    drop_filled_defaults(&mut live, &wanted);
    live == wanted
}

/// Removes from `live` the service-filled defaults that `wanted` does not carry.
fn drop_filled_defaults(live: &mut Value, wanted: &Value) {
    let job = "MonitoringJobDefinition";
    let (Some(live_job), Some(wanted_job)) = (
        live.get_mut(job).and_then(Value::as_object_mut),
        wanted.get(job),
    ) else {
        return;
    };
    if wanted_job.get("StoppingCondition").is_none() {
        live_job.remove("StoppingCondition");
    }
    let lists = [
        (
            "MonitoringInputs",
            &["EndpointInput", "BatchTransformInput"][..],
            &["S3InputMode", "S3DataDistributionType"][..],
        ),
        (
            "MonitoringOutputs",
            &["S3Output"][..],
            &["S3UploadMode"][..],
        ),
    ];
    for (list, containers, members) in lists {
        let wanted_items = match list {
            "MonitoringInputs" => wanted_job.get(list),
            _ => wanted_job.pointer("/MonitoringOutputConfig/MonitoringOutputs"),
        };
        let live_items = match list {
            "MonitoringInputs" => live_job.get_mut(list),
            _ => live_job
                .get_mut("MonitoringOutputConfig")
                .and_then(|c| c.get_mut("MonitoringOutputs")),
        };
        let (Some(Value::Array(live_items)), Some(Value::Array(wanted_items))) =
            (live_items, wanted_items)
        else {
            continue;
        };
        for (live_item, wanted_item) in live_items.iter_mut().zip(wanted_items) {
            for container in containers {
                let wanted_container = wanted_item.get(*container);
                if let Some(Value::Object(live_container)) = live_item.get_mut(*container) {
                    for member in members {
                        if wanted_container.and_then(|c| c.get(*member)).is_none() {
                            live_container.remove(*member);
                        }
                    }
                }
            }
        }
    }
}

/// A schedule configuration pointing at `definition` instead of whatever it named.
pub fn config_pointing_at(config: &Value, definition: &str) -> Value {
    let mut config = config.clone();
    if let Value::Object(members) = &mut config {
        members.insert(
            "MonitoringJobDefinitionName".to_owned(),
            Value::String(definition.to_owned()),
        );
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn comparison_ignores_names_and_read_only_members() {
        let describe = json!({"JobDefinitionArn": "a", "CreationTime": 1, "JobDefinitionName": "x", "RoleArn": "r"});
        let request =
            json!({"JobDefinitionName": "y", "RoleArn": "r", "Tags": [{"Key": "k", "Value": "v"}]});
        assert!(holds(&describe, &request));
        assert!(!holds(&describe, &json!({"RoleArn": "other"})));
    }

    #[test]
    fn objects_are_told_apart_by_creation_time_and_unknown_counts_as_same() {
        let old = json!({"CreationTime": 1.5});
        assert!(same_object(&json!({"CreationTime": 1.5}), &old));
        assert!(!same_object(&json!({"CreationTime": 2.0}), &old));
        assert!(same_object(&json!({}), &old));
    }

    #[test]
    fn configurations_compare_as_the_service_reads_them() {
        let original = json!({"MonitoringJobDefinition": {"RoleArn": "r"}});
        let explicit = json!({"MonitoringJobDefinition": {"RoleArn": "r", "NetworkConfig": {
            "EnableInterContainerTrafficEncryption": false}}});
        assert!(same_config(&explicit, &original), "absent is false");
        let fixed = json!({"MonitoringJobDefinition": {"RoleArn": "r", "NetworkConfig": {
            "EnableInterContainerTrafficEncryption": true}}});
        assert!(!same_config(&fixed, &original));
        assert!(
            !config_matches(&fixed, &original),
            "a flag set true is not the original"
        );
        let with_default = json!({"MonitoringJobDefinition": {"RoleArn": "r",
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600}, "NetworkConfig": {
            "EnableInterContainerTrafficEncryption": true}}});
        assert!(
            config_matches(&with_default, &fixed),
            "a filled-in default is allowed"
        );
        assert!(!same_config(&with_default, &fixed), "but is not the same");
        let mut someones = with_default.clone();
        someones["MonitoringJobDefinition"]["Environment"] = json!({"added": "by someone"});
        assert!(
            !config_matches(&someones, &fixed),
            "anything else someone added is another configuration"
        );
    }

    #[test]
    fn repointing_changes_only_the_definition_name() {
        let config = json!({"ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"}, "MonitoringJobDefinitionName": "a", "MonitoringType": "DataQuality"});
        let moved = config_pointing_at(&config, "b");
        assert_eq!(moved["MonitoringJobDefinitionName"], json!("b"));
        assert_eq!(moved["ScheduleConfig"], config["ScheduleConfig"]);
        assert_eq!(moved["MonitoringType"], config["MonitoringType"]);
    }
}
