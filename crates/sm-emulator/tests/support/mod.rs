//! Helpers only the emulator's tests need: an empty account, ARNs, the smallest valid request of a
//! kind, listing and schedules through the typed client, and raw HTTP answers. What the tool's
//! tests need as well (starting an emulator, the SDK clients, create, describe and delete of every
//! kind, fault rules, the maximal fixtures) is in the `sm-testkit` crate.
//!
//! Include with `mod support;`.

#![allow(dead_code)] // each test file uses a different subset

use std::time::Duration;

use aws_sdk_sagemaker::types::ScheduleStatus;
use serde_json::{Value, json};
use sm_emulator::{Behaviour, Emulator, Seed};
use sm_kinds::Kind;
use sm_testkit::{ACCOUNT, Failure, REGION, failure, start_emulator};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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
    sm_testkit::per_kind!(
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

/// An inline `MonitoringJobDefinition` reading `churn-endpoint`, with the given flags (`None`
/// leaves a flag out) and instance count.
pub fn inline_definition(
    encryption: Option<bool>,
    isolation: Option<bool>,
    instance_count: i32,
) -> aws_sdk_sagemaker::types::MonitoringJobDefinition {
    use aws_sdk_sagemaker::types::{
        EndpointInput, MonitoringAppSpecification, MonitoringClusterConfig, MonitoringInput,
        MonitoringJobDefinition, MonitoringOutput, MonitoringOutputConfig, MonitoringResources,
        MonitoringS3Output, MonitoringStoppingCondition, NetworkConfig,
    };
    MonitoringJobDefinition::builder()
        .monitoring_inputs(
            MonitoringInput::builder()
                .endpoint_input(
                    EndpointInput::builder()
                        .endpoint_name("churn-endpoint")
                        .local_path("/opt/ml/processing/input/endpoint")
                        .build(),
                )
                .build(),
        )
        .monitoring_output_config(
            MonitoringOutputConfig::builder()
                .monitoring_outputs(
                    MonitoringOutput::builder()
                        .s3_output(
                            MonitoringS3Output::builder()
                                .s3_uri("s3://bucket/churn/reports")
                                .local_path("/opt/ml/processing/output")
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .monitoring_resources(
            MonitoringResources::builder()
                .cluster_config(
                    MonitoringClusterConfig::builder()
                        .instance_count(instance_count)
                        .instance_type(aws_sdk_sagemaker::types::ProcessingInstanceType::MlM5Xlarge)
                        .volume_size_in_gb(20)
                        .build(),
                )
                .build(),
        )
        .monitoring_app_specification(
            MonitoringAppSpecification::builder()
                .image_uri(
                    "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer",
                )
                .build(),
        )
        .stopping_condition(
            MonitoringStoppingCondition::builder()
                .max_runtime_in_seconds(3600)
                .build(),
        )
        .network_config(
            NetworkConfig::builder()
                .set_enable_inter_container_traffic_encryption(encryption)
                .set_enable_network_isolation(isolation)
                .build(),
        )
        .role_arn("arn:aws:iam::123456789012:role/service-role/monitor")
        .build()
}

/// An hourly schedule configuration carrying `definition` inline.
pub fn inline_config(
    definition: aws_sdk_sagemaker::types::MonitoringJobDefinition,
) -> aws_sdk_sagemaker::types::MonitoringScheduleConfig {
    use aws_sdk_sagemaker::types::{MonitoringScheduleConfig, MonitoringType, ScheduleConfig};
    MonitoringScheduleConfig::builder()
        .schedule_config(
            ScheduleConfig::builder()
                .schedule_expression("cron(0 * ? * * *)")
                .build(),
        )
        .monitoring_job_definition(definition)
        .monitoring_type(MonitoringType::DataQuality)
        .build()
}

/// The encryption and isolation flags of a described schedule's inline definition.
pub fn inline_flags(
    described: &aws_sdk_sagemaker::operation::describe_monitoring_schedule::DescribeMonitoringScheduleOutput,
) -> (Option<bool>, Option<bool>) {
    let network = described
        .monitoring_schedule_config()
        .and_then(|config| config.monitoring_job_definition())
        .and_then(|definition| definition.network_config());
    (
        network.and_then(|n| n.enable_inter_container_traffic_encryption()),
        network.and_then(|n| n.enable_network_isolation()),
    )
}
