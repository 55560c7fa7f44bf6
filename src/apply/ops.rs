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
            match live {
                Some(live) if holds(&live, request) => return Ok(()),
                Some(live)
                    if settling.is_some_and(|old| holds(&live, old))
                        && attempt < self.timings.name_settle_attempts =>
                {
                    tracing::debug!(name, "the deleted definition is still visible; waiting");
                }
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

    /// Waits until the schedule is neither `Pending` nor running an execution; fails on `Failed`
    /// or after the timeout. Returns the settled description.
    pub async fn settle_schedule(&self, name: &str) -> Result<ScheduleDescription, AwsError> {
        let deadline = Instant::now() + self.timings.schedule_timeout;
        let mut delay = self.timings.first_poll;
        loop {
            let schedule = self.client.describe_schedule(name).await?;
            let busy = schedule.status == "Pending"
                || schedule.last_execution_status.as_deref() == Some("InProgress");
            if schedule.status == "Failed" {
                let reason = schedule.raw["FailureReason"]
                    .as_str()
                    .unwrap_or("no reason given");
                return Err(AwsError::local(
                    "DescribeMonitoringSchedule",
                    format!("schedule {name} is Failed: {reason}"),
                ));
            }
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

    /// Gives the schedule `config` and waits for it to settle. Waits for a running execution to
    /// finish first rather than interrupting it; a no-op when the schedule already has `config`.
    pub async fn repoint_schedule(&self, name: &str, config: &Value) -> Result<(), AwsError> {
        let mut current = self.client.describe_schedule(name).await?;
        let mut attempts = 0;
        loop {
            // Already there and not mid-change: nothing to do and nothing to wait for. (Undoing
            // a step that never moved the schedule must not wait for, and time out on, an
            // execution running on the unchanged schedule.)
            let changing = current.status == "Pending" || current.status == "Failed";
            if current.config() == config && !changing {
                return Ok(());
            }
            let busy = changing || current.last_execution_status.as_deref() == Some("InProgress");
            if busy {
                current = self.settle_schedule(name).await?;
                if current.config() == config {
                    return Ok(());
                }
            }
            attempts += 1;
            match self.client.update_schedule(name, config).await {
                Ok(()) => {}
                Err(err)
                    if (err.is(ErrorClass::InUse) || err.is(ErrorClass::Transient))
                        && attempts < 4 => {}
                Err(err) => return Err(err),
            }
            current = self.settle_schedule(name).await?;
            if current.config() == config {
                return Ok(());
            }
            if attempts >= 4 {
                return Err(AwsError::local(
                    "UpdateMonitoringSchedule",
                    format!("schedule {name} did not take the new configuration"),
                ));
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
    fn repointing_changes_only_the_definition_name() {
        let config = json!({"ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"}, "MonitoringJobDefinitionName": "a", "MonitoringType": "DataQuality"});
        let moved = config_pointing_at(&config, "b");
        assert_eq!(moved["MonitoringJobDefinitionName"], json!("b"));
        assert_eq!(moved["ScheduleConfig"], config["ScheduleConfig"]);
        assert_eq!(moved["MonitoringType"], config["MonitoringType"]);
    }
}
