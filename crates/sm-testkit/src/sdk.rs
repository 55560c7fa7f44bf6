//! The plain `aws-sdk-sagemaker` and `aws-sdk-sts` clients pointed at an emulator, with retries
//! off so faults and throttling reach the test, and create, describe and delete of every kind
//! through the typed client: how another tool, or someone else, acts on the account.

use aws_sdk_sagemaker::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sagemaker::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::RetryConfig;
use serde_json::Value;
use sm_emulator::Emulator;
use sm_kinds::Kind;

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

/// An STS client for `region`, with retries off.
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

/// Runs `$body` with `$builder` bound to the fluent builder of the kind's operation (the four
/// operations named in kind order: data quality, model explainability, model quality, model
/// bias). The arms differ only in type, which a closure cannot abstract over.
#[macro_export]
macro_rules! per_kind {
    ($kind:expr, $client:expr, [$dq:ident, $me:ident, $mq:ident, $mb:ident], |$builder:ident| $body:expr) => {
        match $kind {
            $crate::__Kind::DataQuality => {
                let $builder = $client.$dq();
                $body
            }
            $crate::__Kind::ModelExplainability => {
                let $builder = $client.$me();
                $body
            }
            $crate::__Kind::ModelQuality => {
                let $builder = $client.$mq();
                $body
            }
            $crate::__Kind::ModelBias => {
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
    crate::per_kind!(
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
    crate::per_kind!(
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
    crate::per_kind!(
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
