//! The one place that turns the global AWS flags into an SDK configuration: the standard
//! credential chain (env, profiles, SSO, web identity, IMDS), region and endpoint resolution,
//! retries, and one HTTP client for every AWS client the run builds.

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sagemaker::config::Credentials;
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_http_client::{Builder as HttpClientBuilder, ConnectorBuilder};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::retries::classifiers::{
    ClassifyRetry, RetryAction, RetryClassifierPriority, RetryReason,
};
use aws_smithy_runtime_api::client::runtime_components::{
    RuntimeComponents, RuntimeComponentsBuilder,
};
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::retry::ErrorKind;
use std::sync::OnceLock;
use std::time::Duration;

/// How the tool reaches AWS (or an emulator standing in for it).
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    pub profile: Option<String>,
    /// Overrides the endpoint for every service (SageMaker and STS); `AWS_ENDPOINT_URL` does the
    /// same through the standard chain.
    pub endpoint_url: Option<String>,
    /// The first region asked for, used as the configuration's default region.
    pub region: Option<String>,
    /// Use fixed dummy credentials (the sandbox emulator accepts any).
    pub dummy_credentials: bool,
}

/// Attempts per call for transient failures (5xx, dropped connections, timeouts). Throttles are
/// not counted in them: the client's rate limit retries those (`sagemaker::pace`).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 8;

/// Are the retries the environment's (`AWS_MAX_ATTEMPTS`, `AWS_RETRY_MODE`)? Then the SDK retries
/// exactly as they say, throttles included, and the adapter adds no retries of its own (its rate
/// limit still paces the calls).
pub fn retries_set_by_env() -> bool {
    ["AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|v| !v.is_empty()))
}

/// The retries the tool asks for when the environment does not say: `standard` mode (jittered
/// exponential backoff from 100 ms) for transient failures. Throttles are left to the client's
/// own rate limit ([`ThrottlesLeftToTheTool`]), which replaces `adaptive` mode's: see
/// `sagemaker::pace` for why.
pub fn default_retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(DEFAULT_MAX_ATTEMPTS)
        .with_initial_backoff(Duration::from_millis(100))
}

/// Stops the SDK retrying a throttled call: the adapter sends it again once its client's rate
/// limit allows (`SageMaker::paced`), so every attempt is paced and seen by the limit, and none
/// spends the SDK's retry quota. Runs after every other classifier and forbids only what they
/// classified as throttling.
#[derive(Debug, Clone, Copy)]
pub struct ThrottlesLeftToTheTool;

impl ClassifyRetry for ThrottlesLeftToTheTool {
    fn classify_retry(&self, _ctx: &InterceptorContext) -> RetryAction {
        RetryAction::NoActionIndicated
    }

    fn classify_retry_v2(&self, _ctx: &InterceptorContext, previous: &RetryAction) -> RetryAction {
        match previous {
            RetryAction::RetryIndicated(RetryReason::RetryableError {
                kind: ErrorKind::ThrottlingError,
                ..
            }) => RetryAction::RetryForbidden,
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "sm-recreate: throttles are retried by the client's rate limit"
    }

    fn priority(&self) -> RetryClassifierPriority {
        RetryClassifierPriority::run_after(RetryClassifierPriority::transient_error_classifier())
    }
}

pub async fn load_sdk_config(options: &AwsOptions) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    // The standard AWS_MAX_ATTEMPTS / AWS_RETRY_MODE settings win when given; otherwise ours.
    if !retries_set_by_env() {
        loader = loader.retry_config(default_retry_config());
    }
    loader = loader.timeout_config(
        TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(5))
            .operation_attempt_timeout(Duration::from_secs(60))
            .build(),
    );
    loader = loader.http_client(shared_https_client());
    if let Some(profile) = &options.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &options.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(url) = &options.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    if options.dummy_credentials {
        loader = loader.credentials_provider(Credentials::new(
            "AKIDSANDBOX",
            "sandbox-secret-key",
            None,
            None,
            "sm-recreate-sandbox",
        ));
    }
    loader.load().await
}

/// The SDK's default HTTPS client (hyper 1 over rustls with aws-lc, proxies from the environment,
/// as `aws-smithy-runtime`'s `default_https_client` builds it), made once for the configuration.
/// Without it every SDK client built from the configuration makes its own: its own connection
/// pool and its own TLS configuration, which parses every native root certificate again. With an
/// SDK client per account-region (and an STS client per account for its role), that was most of
/// an organization scan's memory, growing with the accounts rather than with what needs fixing.
/// Sharing it shares only connections and TLS settings: each client keeps its own credentials,
/// retry and rate state (`SageMaker::new`).
fn shared_https_client() -> SharedHttpClient {
    let client =
        HttpClientBuilder::new().build_with_connector_fn(|settings, runtime_components| {
            let mut connector =
                ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc));
            connector.set_connector_settings(settings.cloned());
            if let Some(components) = runtime_components {
                connector.set_sleep_impl(components.sleep_impl());
            }
            connector.set_proxy_config(Some(ProxyConfig::from_env()));
            connector.build()
        });
    SharedHttpClient::new(ValidatedOnce {
        client,
        validated: OnceLock::new(),
    })
}

/// The shared client, whose base configuration is checked once. The SDK checks the HTTP client
/// each time it builds an AWS client, and the hyper client does it by building a whole connector,
/// TLS configuration and native root certificates included, which it then throws away: with a
/// client per account-region and an STS client per account, that was 7% of an organization
/// scan's CPU. Its connectors (what calls use) are still made and cached by the hyper client.
#[derive(Debug)]
struct ValidatedOnce {
    client: SharedHttpClient,
    /// The first check's outcome, an error kept as its message.
    validated: OnceLock<Result<(), String>>,
}

impl HttpClient for ValidatedOnce {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.client.http_connector(settings, components)
    }

    fn validate_base_client_config(
        &self,
        runtime_components: &RuntimeComponentsBuilder,
        cfg: &ConfigBag,
    ) -> Result<(), BoxError> {
        self.validated
            .get_or_init(|| {
                self.client
                    .validate_base_client_config(runtime_components, cfg)
                    .map_err(|e| e.to_string())
            })
            .clone()
            .map_err(BoxError::from)
    }

    fn validate_final_config(
        &self,
        runtime_components: &RuntimeComponents,
        cfg: &ConfigBag,
    ) -> Result<(), BoxError> {
        self.client.validate_final_config(runtime_components, cfg)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.client.connector_metadata()
    }
}

/// Who the credentials are, from STS `GetCallerIdentity`: the account id and the ARN.
pub async fn caller_identity(config: &SdkConfig) -> Result<(String, String), super::AwsError> {
    let sts = aws_sdk_sts::Client::new(config);
    let identity = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| super::AwsError::from_sdk("GetCallerIdentity", e))?;
    let account = identity.account().map(str::to_owned).ok_or_else(|| {
        super::AwsError::local("GetCallerIdentity", "the response named no account")
    })?;
    Ok((account, identity.arn().unwrap_or_default().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// An HTTP client whose check fails, counting how often it is made.
    #[derive(Debug, Clone)]
    struct Counted(Arc<AtomicUsize>);

    impl HttpClient for Counted {
        fn http_connector(
            &self,
            _: &HttpConnectorSettings,
            _: &RuntimeComponents,
        ) -> SharedHttpConnector {
            unreachable!("the test makes no call")
        }

        fn validate_base_client_config(
            &self,
            _: &RuntimeComponentsBuilder,
            _: &ConfigBag,
        ) -> Result<(), BoxError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Err("no trust store".into())
        }
    }

    #[test]
    fn the_shared_client_is_checked_once_and_its_failure_kept() {
        let checks = Arc::new(AtomicUsize::new(0));
        let client = ValidatedOnce {
            client: SharedHttpClient::new(Counted(checks.clone())),
            validated: OnceLock::new(),
        };
        let components = RuntimeComponentsBuilder::for_tests();
        let cfg = ConfigBag::base();
        for _ in 0..3 {
            let err = client
                .validate_base_client_config(&components, &cfg)
                .expect_err("the first check failed");
            assert_eq!(err.to_string(), "no trust store");
        }
        assert_eq!(checks.load(Ordering::SeqCst), 1);
    }
}
