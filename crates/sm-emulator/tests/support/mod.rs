//! Helpers for the emulator's tests, which drive it through the real `aws-sdk-sagemaker` and
//! `aws-sdk-sts` clients over HTTP: start an emulator, build clients pointed at it, send raw JSON
//! bodies through the typed client, and read raw HTTP answers.
//!
//! Include with `mod support;`.

#![allow(dead_code)] // each test file uses a different subset

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use aws_sdk_sagemaker::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sagemaker::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sagemaker::types::ScheduleStatus;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::RetryConfig;
use serde_json::{Value, json};
use sm_emulator::{Behaviour, Emulator, EmulatorConfig, FaultError, FaultRule, Seed};
use sm_kinds::Kind;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The region the tests run in unless they say otherwise.
pub const REGION: &str = "us-east-1";
/// The account the emulator's seeds default to.
pub const ACCOUNT: &str = "123456789012";

/// Starts an emulator on an ephemeral loopback port.
pub async fn start_emulator(seed: Seed, behaviour: Behaviour) -> Emulator {
    sm_emulator::start(
        EmulatorConfig { seed, behaviour },
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .expect("start the emulator")
}

/// An empty account with default behaviour.
pub async fn start_empty() -> Emulator {
    start_emulator(Seed::default(), Behaviour::default()).await
}

/// The ARN the emulator gives a definition of `kind` named `name` in the test region and account.
pub fn definition_arn(kind: Kind, name: &str) -> String {
    format!(
        "arn:aws:sagemaker:{REGION}:{ACCOUNT}:{}/{name}",
        kind.arn_type()
    )
}

/// `fixtures/maximal/<kind>.json` (at the workspace root): a create request with every member the
/// model defines.
pub fn maximal_request(kind: Kind) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/maximal")
        .join(format!("{}.json", kind.cli_name()));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `operation` (on `name`, or on any name) answers the error `code`.
pub fn error_rule(operation: &str, name: Option<&str>, code: &str) -> FaultRule {
    FaultRule {
        operation: operation.to_owned(),
        name: name.map(str::to_owned),
        error: Some(FaultError::new(code)),
        ..FaultRule::default()
    }
}

/// The default behaviour with `faults`.
pub fn with_faults(faults: Vec<FaultRule>) -> Behaviour {
    Behaviour {
        faults,
        ..Behaviour::default()
    }
}

/// A SageMaker client for `region`, with retries off so faults and throttling reach the test.
pub fn client(emulator: &Emulator, region: &str) -> aws_sdk_sagemaker::Client {
    let config = aws_sdk_sagemaker::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .endpoint_url(emulator.endpoint_url())
        .credentials_provider(Credentials::new(
            "AKIDSANDBOX",
            "sandbox-secret",
            None,
            None,
            "test",
        ))
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_sagemaker::Client::from_conf(config)
}

pub fn sts_client(emulator: &Emulator, region: &str) -> aws_sdk_sts::Client {
    let config = aws_sdk_sts::Config::builder()
        .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
        .region(aws_sdk_sts::config::Region::new(region.to_owned()))
        .endpoint_url(emulator.endpoint_url())
        .credentials_provider(aws_sdk_sts::config::Credentials::new(
            "AKIDSANDBOX",
            "sandbox-secret",
            None,
            None,
            "test",
        ))
        .retry_config(aws_sdk_sts::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_sts::Client::from_conf(config)
}

/// The smallest valid create request of a kind, reading from `endpoint`.
pub fn minimal_request(kind: Kind, name: &str, endpoint: &str) -> Value {
    let [app, input, output] = kind.required_members();
    let mut app_spec = json!({"ImageUri": "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"});
    if matches!(kind, Kind::ModelExplainability | Kind::ModelBias) {
        app_spec["ConfigUri"] = json!("s3://bucket/analysis_config.json");
    }
    let mut job_input = json!({"EndpointInput": {"EndpointName": endpoint, "LocalPath": "/opt/ml/processing/input"}});
    if matches!(kind, Kind::ModelQuality | Kind::ModelBias) {
        job_input["GroundTruthS3Input"] = json!({"S3Uri": "s3://bucket/ground-truth"});
    }
    json!({
        "JobDefinitionName": name,
        app: app_spec,
        input: job_input,
        output: {"MonitoringOutputs": [{"S3Output": {"S3Uri": "s3://bucket/reports", "LocalPath": "/opt/ml/processing/output"}}]},
        "JobResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 20}},
        "RoleArn": "arn:aws:iam::123456789012:role/service-role/monitor"
    })
}

/// A failed SDK call, reduced to what tests assert on.
#[derive(Debug, Clone)]
pub struct Failure {
    pub code: Option<String>,
    pub message: Option<String>,
    pub status: Option<u16>,
    /// The request never got a response (connection refused, reset or closed).
    pub dispatch: bool,
}

impl Failure {
    pub fn code(&self) -> &str {
        self.code.as_deref().unwrap_or("<none>")
    }
}

pub fn failure<E: ProvideErrorMetadata>(error: SdkError<E, HttpResponse>) -> Failure {
    Failure {
        code: error.code().map(str::to_owned),
        message: error.message().map(str::to_owned),
        status: error
            .raw_response()
            .map(|response| response.status().as_u16()),
        dispatch: matches!(error, SdkError::DispatchFailure(_)),
    }
}

/// Runs `$body` with `$builder` bound to the fluent builder of the kind's operation. The arms
/// differ only in type, which a closure cannot abstract over.
macro_rules! per_kind {
    ($kind:expr, $client:expr, [$dq:ident, $me:ident, $mq:ident, $mb:ident], |$builder:ident| $body:expr) => {
        match $kind {
            Kind::DataQuality => {
                let $builder = $client.$dq();
                $body
            }
            Kind::ModelExplainability => {
                let $builder = $client.$me();
                $body
            }
            Kind::ModelQuality => {
                let $builder = $client.$mq();
                $body
            }
            Kind::ModelBias => {
                let $builder = $client.$mb();
                $body
            }
        }
    };
}

/// Sends `body` verbatim as `Create<Noun>JobDefinition` through the typed client (replacing the
/// body before signing, as the tool does) and returns the ARN.
pub async fn create_definition(
    client: &aws_sdk_sagemaker::Client,
    kind: Kind,
    body: &Value,
) -> Result<String, Failure> {
    let bytes = serde_json::to_vec(body).expect("serializable");
    let replace_body =
        move |request: &mut aws_smithy_runtime_api::client::orchestrator::HttpRequest| {
            request
                .headers_mut()
                .insert("content-length", bytes.len().to_string());
            *request.body_mut() = SdkBody::from(bytes.clone());
        };
    per_kind!(
        kind,
        client,
        [
            create_data_quality_job_definition,
            create_model_explainability_job_definition,
            create_model_quality_job_definition,
            create_model_bias_job_definition
        ],
        |builder| builder
            .customize()
            .mutate_request(replace_body)
            .send()
            .await
            .map(|output| output.job_definition_arn().unwrap_or_default().to_owned())
            .map_err(failure)
    )
}

/// The typed members of a describe answer that tests compare.
#[derive(Debug, Clone, PartialEq)]
pub struct Described {
    pub name: String,
    pub arn: String,
    pub role_arn: String,
    pub instance_count: Option<i32>,
    pub encryption: Option<bool>,
    pub has_creation_time: bool,
}

pub async fn describe_definition(
    client: &aws_sdk_sagemaker::Client,
    kind: Kind,
    name: &str,
) -> Result<Described, Failure> {
    per_kind!(
        kind,
        client,
        [
            describe_data_quality_job_definition,
            describe_model_explainability_job_definition,
            describe_model_quality_job_definition,
            describe_model_bias_job_definition
        ],
        |builder| builder
            .job_definition_name(name)
            .send()
            .await
            .map(|output| Described {
                name: output.job_definition_name().unwrap_or_default().to_owned(),
                arn: output.job_definition_arn().unwrap_or_default().to_owned(),
                role_arn: output.role_arn().unwrap_or_default().to_owned(),
                instance_count: output
                    .job_resources()
                    .and_then(|resources| resources.cluster_config())
                    .and_then(|cluster| cluster.instance_count()),
                encryption: output
                    .network_config()
                    .and_then(|network| network.enable_inter_container_traffic_encryption()),
                has_creation_time: output.creation_time().is_some(),
            })
            .map_err(failure)
    )
}

pub async fn delete_definition(
    client: &aws_sdk_sagemaker::Client,
    kind: Kind,
    name: &str,
) -> Result<(), Failure> {
    per_kind!(
        kind,
        client,
        [
            delete_data_quality_job_definition,
            delete_model_explainability_job_definition,
            delete_model_quality_job_definition,
            delete_model_bias_job_definition
        ],
        |builder| builder
            .job_definition_name(name)
            .send()
            .await
            .map(|_| ())
            .map_err(failure)
    )
}

/// The parameters of a `List<Noun>s` call.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub max_results: Option<i32>,
    pub next_token: Option<String>,
    pub name_contains: Option<String>,
    pub endpoint_name: Option<String>,
    pub sort_by_name_ascending: bool,
}

/// One page: the names, the endpoint of each, and the next token.
pub async fn list_definitions(
    client: &aws_sdk_sagemaker::Client,
    kind: Kind,
    query: &ListQuery,
) -> Result<(Vec<String>, Vec<Option<String>>, Option<String>), Failure> {
    use aws_sdk_sagemaker::types::{MonitoringJobDefinitionSortKey, SortOrder};
    let (sort_by, sort_order) = if query.sort_by_name_ascending {
        (
            Some(MonitoringJobDefinitionSortKey::Name),
            Some(SortOrder::Ascending),
        )
    } else {
        (None, None)
    };
    per_kind!(
        kind,
        client,
        [
            list_data_quality_job_definitions,
            list_model_explainability_job_definitions,
            list_model_quality_job_definitions,
            list_model_bias_job_definitions
        ],
        |builder| builder
            .set_max_results(query.max_results)
            .set_next_token(query.next_token.clone())
            .set_name_contains(query.name_contains.clone())
            .set_endpoint_name(query.endpoint_name.clone())
            .set_sort_by(sort_by.clone())
            .set_sort_order(sort_order.clone())
            .send()
            .await
            .map(|output| {
                let summaries = output.job_definition_summaries();
                (
                    summaries
                        .iter()
                        .map(|s| {
                            s.monitoring_job_definition_name()
                                .unwrap_or_default()
                                .to_owned()
                        })
                        .collect(),
                    summaries
                        .iter()
                        .map(|s| s.endpoint_name().map(str::to_owned))
                        .collect(),
                    output.next_token().map(str::to_owned),
                )
            })
            .map_err(failure)
    )
}

/// Every definition name of a kind, following `NextToken`; also returns the page count.
pub async fn list_all_definitions(
    client: &aws_sdk_sagemaker::Client,
    kind: Kind,
    max_results: Option<i32>,
) -> (Vec<String>, usize) {
    let mut names = Vec::new();
    let mut query = ListQuery {
        max_results,
        ..ListQuery::default()
    };
    for pages in 1..=1000 {
        let (page, _, next) = list_definitions(client, kind, &query)
            .await
            .expect("list succeeds");
        names.extend(page);
        match next {
            Some(token) => query.next_token = Some(token),
            None => return (names, pages),
        }
    }
    panic!("pagination did not terminate");
}

/// Creates a schedule referencing a definition; returns the schedule ARN.
pub async fn create_schedule(
    client: &aws_sdk_sagemaker::Client,
    name: &str,
    definition_name: &str,
    kind: Kind,
) -> Result<String, Failure> {
    client
        .create_monitoring_schedule()
        .monitoring_schedule_name(name)
        .monitoring_schedule_config(schedule_config(definition_name, kind))
        .send()
        .await
        .map(|output| {
            output
                .monitoring_schedule_arn()
                .unwrap_or_default()
                .to_owned()
        })
        .map_err(failure)
}

pub fn schedule_config(
    definition_name: &str,
    kind: Kind,
) -> aws_sdk_sagemaker::types::MonitoringScheduleConfig {
    use aws_sdk_sagemaker::types::{MonitoringScheduleConfig, MonitoringType, ScheduleConfig};
    MonitoringScheduleConfig::builder()
        .schedule_config(
            ScheduleConfig::builder()
                .schedule_expression("cron(0 * ? * * *)")
                .build(),
        )
        .monitoring_job_definition_name(definition_name)
        .monitoring_type(MonitoringType::from(kind.monitoring_type()))
        .build()
}

pub async fn schedule_status(client: &aws_sdk_sagemaker::Client, name: &str) -> ScheduleStatus {
    client
        .describe_monitoring_schedule()
        .monitoring_schedule_name(name)
        .send()
        .await
        .expect("describe schedule")
        .monitoring_schedule_status()
        .cloned()
        .expect("status present")
}

/// Polls until the schedule reaches `wanted`; panics after a generous bound.
pub async fn wait_for_schedule_status(
    client: &aws_sdk_sagemaker::Client,
    name: &str,
    wanted: ScheduleStatus,
) {
    for _ in 0..500 {
        if schedule_status(client, name).await == wanted {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("schedule {name} never reached {wanted:?}");
}

/// A raw HTTP answer: status and parsed JSON body (or `Value::String` for non-JSON).
pub struct RawAnswer {
    pub status: u16,
    pub headers: String,
    pub body_text: String,
}

impl RawAnswer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body_text).expect("JSON body")
    }
}

/// Sends one HTTP/1.1 request by hand, to see exactly what goes over the wire (the typed SDK
/// outputs drop members they do not model).
pub async fn raw_call(
    emulator: &Emulator,
    target: Option<&str>,
    body: &str,
    region: &str,
) -> RawAnswer {
    let mut stream = tokio::net::TcpStream::connect(emulator.local_addr())
        .await
        .expect("connect");
    let target_header = target
        .map(|target| format!("X-Amz-Target: {target}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {}\r\n{target_header}Content-Type: application/x-amz-json-1.1\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=AKIDSANDBOX/20240101/{region}/sagemaker/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        emulator.local_addr(),
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .await
        .expect("send request");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("read answer");
    let answer = String::from_utf8(answer).expect("UTF-8 answer");
    let (head, body) = answer.split_once("\r\n\r\n").expect("header/body split");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("status line");
    RawAnswer {
        status,
        headers: head.to_owned(),
        body_text: body.to_owned(),
    }
}
