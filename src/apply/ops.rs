//! Idempotent versions of the calls the protocol makes. A mutating call whose response was lost
//! (a dropped connection, a 5xx after the service acted, a retry that then sees its own earlier
//! success) must not be mistaken for a failure, nor a failure for success: after any ambiguous
//! answer these look at the live state and decide from that.

use crate::kinds::Kind;
use crate::plan::request::READ_ONLY_MEMBERS;
use crate::sagemaker::{AwsError, ErrorClass, SageMaker, ScheduleDescription};
use serde_json::Value;
use std::time::{Duration, Instant};

/// How long to wait for things AWS does asynchronously.
#[derive(Debug, Clone, Copy)]
pub struct Timings {
    /// Longest wait for a schedule to settle (leave `Pending`, finish an execution in progress).
    pub schedule_timeout: Duration,
    /// First poll interval; doubles up to `max_poll`.
    pub first_poll: Duration,
    pub max_poll: Duration,
    /// How many times to retry creating a name whose delete is still settling.
    pub name_settle_attempts: u32,
}

impl Default for Timings {
    fn default() -> Timings {
        Timings {
            schedule_timeout: Duration::from_secs(900),
            first_poll: Duration::from_millis(200),
            max_poll: Duration::from_secs(5),
            name_settle_attempts: 8,
        }
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

pub struct Ops<'a> {
    pub client: &'a SageMaker,
    pub kind: Kind,
    pub timings: Timings,
}

impl Ops<'_> {
    /// Describes `name`; `None` when it does not exist.
    pub async fn find(&self, name: &str) -> Result<Option<Value>, AwsError> {
        match self.client.describe_definition(self.kind, name).await {
            Ok(value) => Ok(Some(value)),
            Err(err) if err.is(ErrorClass::NotFound) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Creates `name` from `request`. Succeeds also when the definition already holds exactly the
    /// request (an earlier attempt whose response was lost). When `settling` is given (the
    /// definition just deleted under this name), `ResourceInUse` while the old one is still
    /// visible or the name not yet free is waited out.
    pub async fn create(
        &self,
        name: &str,
        request: &Value,
        settling: Option<&Value>,
    ) -> Result<(), AwsError> {
        let mut delay = self.timings.first_poll;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let err = match self.client.create_definition(self.kind, request).await {
                Ok(_) => return Ok(()),
                Err(err) => err,
            };
            if !(err.is(ErrorClass::InUse) || err.is(ErrorClass::Transient)) {
                return Err(err);
            }
            let live = self.find(name).await?;
            // The definition just deleted may still be visible. It is recognised by its creation
            // time, not its content: a rollback's request holds exactly the old content, and
            // mistaking the dying object for a restored one would lose the definition.
            // Without two creation times to compare, the live object cannot be proven new, so
            // it counts as the old one (fail safe: wait, then give up into the rollback).
            let still_the_old_one = |live: &Value| {
                settling.is_some_and(|old| {
                    let created = |v: &Value| v.get("CreationTime").and_then(Value::as_f64);
                    match (created(old), created(live)) {
                        (Some(old), Some(live)) => old == live,
                        _ => true,
                    }
                })
            };
            match live {
                Some(live) if still_the_old_one(&live) => {
                    if attempt >= self.timings.name_settle_attempts {
                        return Err(err);
                    }
                    tracing::debug!(name, "the deleted definition is still visible; waiting");
                }
                Some(live) if holds(&live, request) => return Ok(()),
                None if attempt < self.timings.name_settle_attempts => {
                    tracing::debug!(name, "the name is not free yet; waiting");
                }
                _ => return Err(err),
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(self.timings.max_poll);
        }
    }

    /// Deletes `name`; success also when it is already gone.
    pub async fn delete(&self, name: &str) -> Result<(), AwsError> {
        match self.client.delete_definition(self.kind, name).await {
            Ok(()) => Ok(()),
            Err(err) if err.is(ErrorClass::NotFound) => Ok(()),
            Err(err) if err.is(ErrorClass::Transient) => match self.find(name).await? {
                None => Ok(()),
                Some(_) => Err(err),
            },
            Err(err) => Err(err),
        }
    }

    /// Waits until the schedule is neither `Pending` nor running an execution (a `Failed`
    /// schedule is settled: an update is how it gets repaired); fails after the timeout.
    pub async fn settle_schedule(&self, name: &str) -> Result<ScheduleDescription, AwsError> {
        let deadline = Instant::now() + self.timings.schedule_timeout;
        let mut delay = self.timings.first_poll;
        loop {
            let schedule = self.client.describe_schedule(name).await?;
            let busy = schedule.status == "Pending"
                || schedule.last_execution_status.as_deref() == Some("InProgress");
            if !busy {
                return Ok(schedule);
            }
            if Instant::now() + delay > deadline {
                return Err(AwsError::local(
                    "DescribeMonitoringSchedule",
                    format!(
                        "schedule {name} is still {}{} after {}s",
                        schedule.status,
                        if schedule.last_execution_status.as_deref() == Some("InProgress") {
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
    /// points at anything else than `from` or `to` was changed by someone else and is left
    /// alone too: the tool only ever moves schedules between the two names it owns.
    pub async fn repoint_schedule(
        &self,
        name: &str,
        from: &[&str],
        to: &str,
    ) -> Result<Repoint, AwsError> {
        let mut current = self.client.describe_schedule(name).await?;
        // A schedule that was Failed before is not made worse by the move: only a schedule that
        // fails because of it makes the move fail.
        let failed_before = current.status == "Failed";
        let mut moved = false;
        let mut attempts = 0;
        loop {
            let target = current.definition_name.clone().unwrap_or_default();
            if target == to && current.status != "Pending" {
                if current.status == "Failed" && moved && !failed_before {
                    let reason = current.raw["FailureReason"]
                        .as_str()
                        .unwrap_or("no reason given");
                    return Err(AwsError::local(
                        "UpdateMonitoringSchedule",
                        format!("schedule {name} is Failed after the update: {reason}"),
                    ));
                }
                return Ok(if moved {
                    Repoint::Moved
                } else {
                    Repoint::AlreadyThere
                });
            }
            if target != to && !from.contains(&target.as_str()) {
                return Ok(Repoint::LeftAlone { points_at: target });
            }
            let busy = current.status == "Pending"
                || current.last_execution_status.as_deref() == Some("InProgress");
            if busy {
                current = self.settle_schedule(name).await?;
                continue;
            }
            if attempts >= 4 {
                return Err(AwsError::local(
                    "UpdateMonitoringSchedule",
                    format!(
                        "schedule {name} did not take the new definition after {attempts} updates"
                    ),
                ));
            }
            attempts += 1;
            let config = config_pointing_at(current.config(), to);
            match self.client.update_schedule(name, &config).await {
                Ok(()) => moved = true,
                Err(err)
                    if (err.is(ErrorClass::InUse) || err.is(ErrorClass::Transient))
                        && attempts < 4 =>
                {
                    // Possibly our own update whose answer was lost; the next look decides.
                    moved = true;
                }
                Err(err) => return Err(err),
            }
            current = self.settle_schedule(name).await?;
        }
    }
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
    fn repointing_changes_only_the_definition_name() {
        let config = json!({"ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"}, "MonitoringJobDefinitionName": "a", "MonitoringType": "DataQuality"});
        let moved = config_pointing_at(&config, "b");
        assert_eq!(moved["MonitoringJobDefinitionName"], json!("b"));
        assert_eq!(moved["ScheduleConfig"], config["ScheduleConfig"]);
        assert_eq!(moved["MonitoringType"], config["MonitoringType"]);
    }
}
