//! The adapter over `aws-sdk-sagemaker`: every call the tool makes, for any kind, with definitions
//! and schedule configurations as raw JSON (see `raw`) and errors classified (see `error`).

pub mod client;
pub mod error;
pub mod notebook;
pub mod pace;
pub mod raw;

pub use client::{AwsOptions, caller_identity, load_sdk_config};
pub use error::{AwsError, ErrorClass};
pub use notebook::{NotebookDescription, NotebookSummary};

use crate::kinds::Kind;
use aws_config::Region;
use aws_config::SdkConfig;
use aws_sdk_sagemaker::Client;
use bytes::Bytes;
use pace::{Call, Limiter};
use raw::{CaptureBody, replace_body};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One listed job definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefinitionSummary {
    pub name: String,
    pub arn: String,
}

/// One `{Key, Value}` tag.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Tag {
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "Value")]
    pub value: String,
}

/// One listed monitoring schedule, with the definition it references (if by name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleSummary {
    pub name: String,
    pub arn: String,
    pub status: String,
    pub definition_name: Option<String>,
    pub monitoring_type: Option<String>,
}

/// A described monitoring schedule: the raw JSON plus the fields the tool decides on.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleDescription {
    pub raw: Value,
    pub name: String,
    pub status: String,
    pub definition_name: Option<String>,
    pub monitoring_type: Option<String>,
    /// `MonitoringExecutionStatus` of the last execution, e.g. `InProgress`.
    pub last_execution_status: Option<String>,
}

impl ScheduleDescription {
    pub fn from_raw(raw: Value) -> ScheduleDescription {
        let text = |v: &Value| v.as_str().map(str::to_owned);
        let config = &raw["MonitoringScheduleConfig"];
        ScheduleDescription {
            name: text(&raw["MonitoringScheduleName"]).unwrap_or_default(),
            status: text(&raw["MonitoringScheduleStatus"]).unwrap_or_default(),
            definition_name: text(&config["MonitoringJobDefinitionName"]),
            monitoring_type: text(&config["MonitoringType"])
                .or_else(|| text(&raw["MonitoringType"])),
            last_execution_status: text(
                &raw["LastMonitoringExecutionSummary"]["MonitoringExecutionStatus"],
            ),
            raw,
        }
    }

    /// The schedule's configuration, as `UpdateMonitoringSchedule` takes it.
    pub fn config(&self) -> &Value {
        &self.raw["MonitoringScheduleConfig"]
    }
}

/// A SageMaker client bound to one account and region. Clones share its rate limit.
#[derive(Debug, Clone)]
pub struct SageMaker {
    client: Client,
    region: String,
    /// Every call of this client waits for its turn here (`pace`).
    limiter: Arc<Limiter>,
    /// Throttled reads are sent again by the adapter once the limiter allows (for up to
    /// `throttled_reads_for`); `false` when the environment sets the retries
    /// (`client::retries_set_by_env`): the SDK retries then, exactly as configured.
    retries_throttled_reads: bool,
    /// How long a read that keeps being throttled is sent again before its throttle is returned.
    throttled_reads_for: Duration,
    /// Slots of the rate limit taken together for this handle's next calls (`together`).
    reserved: Option<Arc<std::sync::Mutex<VecDeque<Instant>>>>,
}

/// How long a read that keeps being throttled is sent again before its throttle is returned:
/// `--patience`'s default (the executor's clients use `--patience` itself). Past it the
/// account-region refuses everything the limiter lets through, and the run says so rather than
/// waiting without end.
pub const THROTTLED_READS_FOR: Duration = Duration::from_secs(120);

/// Runs `$body` with `$op` bound to the builder of the kind's operation: the four kinds share
/// request and response shapes for list/describe/create/delete, only the operation names differ.
macro_rules! per_kind {
    ($kind:expr, $client:expr, $op:ident => $body:expr,
     [$dq:ident, $me:ident, $mq:ident, $mb:ident]) => {
        match $kind {
            Kind::DataQuality => {
                let $op = $client.$dq();
                $body
            }
            Kind::ModelExplainability => {
                let $op = $client.$me();
                $body
            }
            Kind::ModelQuality => {
                let $op = $client.$mq();
                $body
            }
            Kind::ModelBias => {
                let $op = $client.$mb();
                $body
            }
        }
    };
}

/// Mutating calls go out once, without the SDK's retries: a retry after a lost answer can meet the
/// first attempt's own effect (`ResourceInUse` for a create that happened, `ResourceNotFound` for
/// a delete that did), and the error then returned would hide that the call acted. The executor
/// retries these itself and looks at the live state after every unknown answer (`apply::ops`);
/// a throttled one is returned to it too, even though it did not act, because the executor
/// looks again before some resends (a delete, a schedule update).
fn single_attempt() -> aws_sdk_sagemaker::config::Builder {
    aws_sdk_sagemaker::config::Builder::default()
        .retry_config(aws_sdk_sagemaker::config::retry::RetryConfig::disabled())
}

fn op_name(verb: &str, kind: Kind) -> String {
    format!("{verb}{}", kind.api_noun())
}

fn parse_body(operation: &str, body: Option<Bytes>) -> Result<Value, AwsError> {
    let body =
        body.ok_or_else(|| AwsError::local(operation, "the response body was not captured"))?;
    serde_json::from_slice(&body)
        .map_err(|e| AwsError::local(operation, format!("the response is not JSON: {e}")))
}

impl SageMaker {
    /// A client for `account` in `region`, with the configuration's credentials and endpoint.
    /// Its retry state (the SDK's token bucket) and its rate limit are its own: SageMaker
    /// throttles each account-region apart, and the SDK would otherwise share that state among
    /// all clients of a region, so one throttled account would slow every other.
    pub fn new(config: &SdkConfig, account: &str, region: &str) -> SageMaker {
        let mut builder = aws_sdk_sagemaker::config::Builder::from(config)
            .region(Region::new(region.to_owned()))
            .retry_partition(aws_sdk_sagemaker::config::retry::RetryPartition::new(
                format!("sagemaker-{account}-{region}"),
            ));
        let retries_throttled_reads = !client::retries_set_by_env();
        if retries_throttled_reads {
            builder = builder.retry_classifier(client::ThrottlesLeftToTheTool);
        }
        SageMaker {
            client: Client::from_conf(builder.build()),
            region: region.to_owned(),
            limiter: Arc::new(Limiter::default()),
            retries_throttled_reads,
            throttled_reads_for: THROTTLED_READS_FOR,
            reserved: None,
        }
    }

    /// The same client, whose throttled reads are sent again for at most `patience`.
    pub fn with_throttled_reads_for(mut self, patience: Duration) -> SageMaker {
        self.throttled_reads_for = patience;
        self
    }

    /// A handle on this client whose next `calls` calls go in consecutive slots of its rate
    /// limit, taken now at once: the looks a change is decided on, then that change, with no
    /// other call of the account-region queued between them. A look takes the first slot left but
    /// never the last one, which is kept for the change (a look beyond the reserved ones takes
    /// its turn as usual); the change takes the first slot left. Each call in a slot is sent once (a throttle is
    /// returned, not sent again: a look sent again later would no longer be fresh with the
    /// others). Without a limit, the slots are now.
    pub async fn together(&self, calls: usize) -> SageMaker {
        let slots = self.limiter.reserve(calls).await;
        SageMaker {
            reserved: Some(Arc::new(std::sync::Mutex::new(slots))),
            ..self.clone()
        }
    }

    /// The reserved slot for a call of this handle, if one is left for it (see `together`).
    fn reserved_slot(&self, kind: Call) -> Option<Instant> {
        let mut slots = self.reserved.as_ref()?.lock().expect("reserved slots");
        pace::take_reserved(&mut slots, kind)
    }

    /// Whether the rate limit is slowing this account-region's calls (it was throttled).
    pub fn is_paced(&self) -> bool {
        self.limiter.is_on()
    }

    /// Sends a call when the client's rate limit allows (in its reserved slot, if this handle
    /// holds one), and tells the limit how it went. A throttled read is sent again (it did not
    /// act) for up to `throttled_reads_for`, each time once the limit allows, except in a
    /// reserved slot; a throttled change is returned to the executor (`apply::ops`).
    async fn paced<T, Fut>(&self, kind: Call, mut call: impl FnMut() -> Fut) -> Result<T, AwsError>
    where
        Fut: Future<Output = Result<T, AwsError>>,
    {
        let mut first_throttle: Option<Instant> = None;
        loop {
            let (sent, reserved) = match self.reserved_slot(kind) {
                Some(slot) => {
                    tokio::time::sleep_until(slot.into()).await;
                    (Instant::now(), true)
                }
                None => (self.limiter.turn(kind).await, false),
            };
            let result = call().await;
            let throttled = matches!(&result, Err(err) if err.is(ErrorClass::Throttled));
            self.limiter.answered(sent, throttled);
            if !(throttled && kind == Call::Look && self.retries_throttled_reads) || reserved {
                return result;
            }
            let since = *first_throttle.get_or_insert(sent);
            if since.elapsed() >= self.throttled_reads_for {
                return result;
            }
        }
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    /// Every definition of `kind` in the region, across all pages.
    pub async fn list_definitions(&self, kind: Kind) -> Result<Vec<DefinitionSummary>, AwsError> {
        // The list operations are plural: `ListDataQualityJobDefinitions`.
        let operation = format!("{}s", op_name("List", kind));
        let mut summaries = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            let token = next_token.take();
            let (page, next) = per_kind!(kind, self.client, op => {
                let request = op.max_results(100).set_next_token(token);
                let output = self.paced(Call::Look, || async {
                    request.clone().send().await.map_err(|e| AwsError::from_sdk(&operation, e))
                }).await?;
                let page: Vec<DefinitionSummary> = output.job_definition_summaries().iter().map(|s| DefinitionSummary {
                    name: s.monitoring_job_definition_name().unwrap_or_default().to_owned(),
                    arn: s.monitoring_job_definition_arn().unwrap_or_default().to_owned(),
                }).collect();
                (page, output.next_token().map(str::to_owned))
            }, [list_data_quality_job_definitions, list_model_explainability_job_definitions,
                list_model_quality_job_definitions, list_model_bias_job_definitions]);
            summaries.extend(page);
            match next {
                Some(token) if !token.is_empty() => next_token = Some(token),
                _ => return Ok(summaries),
            }
        }
    }

    /// The exact JSON `Describe<Noun>` returned.
    pub async fn describe_definition(&self, kind: Kind, name: &str) -> Result<Value, AwsError> {
        let operation = op_name("Describe", kind);
        let capture = CaptureBody::default();
        per_kind!(kind, self.client, op => {
            let request = op.job_definition_name(name);
            self.paced(Call::Look, || async {
                request.clone().customize().interceptor(capture.clone()).send().await
                    .map_err(|e| AwsError::from_sdk(&operation, e))
            }).await?;
        }, [describe_data_quality_job_definition, describe_model_explainability_job_definition,
            describe_model_quality_job_definition, describe_model_bias_job_definition]);
        parse_body(&operation, capture.take())
    }

    /// Sends `request` as the exact body of `Create<Noun>`, once (see `single_attempt`); returns
    /// the new ARN.
    pub async fn create_definition(&self, kind: Kind, request: &Value) -> Result<String, AwsError> {
        let operation = op_name("Create", kind);
        let body = Bytes::from(serde_json::to_vec(request).expect("a JSON value serializes"));
        let arn = per_kind!(kind, self.client, op => {
            let output = self.paced(Call::Change, || async {
                op.clone().customize().config_override(single_attempt())
                    .mutate_request(replace_body(body.clone())).send().await
                    .map_err(|e| AwsError::from_sdk(&operation, e))
            }).await?;
            output.job_definition_arn().unwrap_or_default().to_owned()
        }, [create_data_quality_job_definition, create_model_explainability_job_definition,
            create_model_quality_job_definition, create_model_bias_job_definition]);
        Ok(arn)
    }

    /// Sends `Delete<Noun>` once (see `single_attempt`).
    pub async fn delete_definition(&self, kind: Kind, name: &str) -> Result<(), AwsError> {
        let operation = op_name("Delete", kind);
        per_kind!(kind, self.client, op => {
            let request = op.job_definition_name(name);
            self.paced(Call::Change, || async {
                request.clone().customize().config_override(single_attempt()).send().await
                    .map_err(|e| AwsError::from_sdk(&operation, e))
            }).await?;
        }, [delete_data_quality_job_definition, delete_model_explainability_job_definition,
            delete_model_quality_job_definition, delete_model_bias_job_definition]);
        Ok(())
    }

    /// Every tag on `arn`, across all pages, in the order AWS returns them.
    pub async fn list_tags(&self, arn: &str) -> Result<Vec<Tag>, AwsError> {
        let mut tags = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            let request = self
                .client
                .list_tags()
                .resource_arn(arn)
                .max_results(50)
                .set_next_token(next_token.take());
            let output = self
                .paced(Call::Look, || async {
                    request
                        .clone()
                        .send()
                        .await
                        .map_err(|e| AwsError::from_sdk("ListTags", e))
                })
                .await?;
            tags.extend(output.tags().iter().map(|t| Tag {
                key: t.key().unwrap_or_default().to_owned(),
                value: t.value().unwrap_or_default().to_owned(),
            }));
            match output.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                _ => return Ok(tags),
            }
        }
    }

    /// Every monitoring schedule in the region, across all pages. Optionally only those that
    /// reference `definition_name`.
    pub async fn list_schedules(
        &self,
        definition_name: Option<&str>,
    ) -> Result<Vec<ScheduleSummary>, AwsError> {
        let mut schedules = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            let request = self
                .client
                .list_monitoring_schedules()
                .set_monitoring_job_definition_name(definition_name.map(str::to_owned))
                .max_results(100)
                .set_next_token(next_token.take());
            let output = self
                .paced(Call::Look, || async {
                    request
                        .clone()
                        .send()
                        .await
                        .map_err(|e| AwsError::from_sdk("ListMonitoringSchedules", e))
                })
                .await?;
            schedules.extend(output.monitoring_schedule_summaries().iter().map(|s| {
                ScheduleSummary {
                    name: s.monitoring_schedule_name().unwrap_or_default().to_owned(),
                    arn: s.monitoring_schedule_arn().unwrap_or_default().to_owned(),
                    status: s
                        .monitoring_schedule_status()
                        .map(|v| v.as_str().to_owned())
                        .unwrap_or_default(),
                    definition_name: s.monitoring_job_definition_name().map(str::to_owned),
                    monitoring_type: s.monitoring_type().map(|t| t.as_str().to_owned()),
                }
            }));
            match output.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                _ => return Ok(schedules),
            }
        }
    }

    pub async fn describe_schedule(&self, name: &str) -> Result<ScheduleDescription, AwsError> {
        let operation = "DescribeMonitoringSchedule";
        let capture = CaptureBody::default();
        let request = self
            .client
            .describe_monitoring_schedule()
            .monitoring_schedule_name(name);
        self.paced(Call::Look, || async {
            request
                .clone()
                .customize()
                .interceptor(capture.clone())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk(operation, e))
        })
        .await?;
        Ok(ScheduleDescription::from_raw(parse_body(
            operation,
            capture.take(),
        )?))
    }

    /// Replaces the schedule's configuration with `config`, sent byte-for-byte, once (see
    /// `single_attempt`).
    pub async fn update_schedule(&self, name: &str, config: &Value) -> Result<(), AwsError> {
        let body = serde_json::json!({
            "MonitoringScheduleName": name,
            "MonitoringScheduleConfig": config,
        });
        let body = Bytes::from(serde_json::to_vec(&body).expect("a JSON value serializes"));
        let request = self
            .client
            .update_monitoring_schedule()
            .monitoring_schedule_name(name);
        self.paced(Call::Change, || async {
            request
                .clone()
                .customize()
                .config_override(single_attempt())
                .mutate_request(replace_body(body.clone()))
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("UpdateMonitoringSchedule", e))
        })
        .await?;
        Ok(())
    }
}
