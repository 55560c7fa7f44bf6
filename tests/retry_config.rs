//! Which retries the tool's SDK configuration asks for: `standard` mode with 8 attempts by
//! default (throttles are left to each client's own rate limit, `sagemaker::pace`, which
//! replaced `adaptive` mode's for `examples/bench_throttle.rs`), and the standard
//! `AWS_RETRY_MODE` / `AWS_MAX_ATTEMPTS` settings still win, `adaptive` included. One test in
//! its own binary: it sets the process's environment.

use aws_config::retry::RetryMode;
use sm_recreate::sagemaker::{AwsOptions, load_sdk_config};

#[test]
fn standard_retries_by_default_and_the_environment_wins() {
    let options = AwsOptions {
        region: Some("us-east-1".to_owned()),
        dummy_credentials: true,
        ..AwsOptions::default()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let retries = |env: &[(&str, &str)]| {
        // SAFETY: this binary's only test: nothing else reads the environment meanwhile.
        unsafe {
            for key in ["AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS"] {
                std::env::remove_var(key);
            }
            std::env::set_var("AWS_CONFIG_FILE", "/nonexistent/sm-recreate-test-config");
            for (key, value) in env {
                std::env::set_var(key, value);
            }
        }
        let config = runtime.block_on(load_sdk_config(&options));
        let retry = config.retry_config().expect("a retry config").clone();
        (retry.mode(), retry.max_attempts())
    };
    assert_eq!(retries(&[]), (RetryMode::Standard, 8));
    assert!(!sm_recreate::sagemaker::client::retries_set_by_env());
    assert_eq!(
        retries(&[("AWS_RETRY_MODE", "adaptive")]).0,
        RetryMode::Adaptive
    );
    assert!(sm_recreate::sagemaker::client::retries_set_by_env());
    assert_eq!(
        retries(&[("AWS_MAX_ATTEMPTS", "2")]),
        (RetryMode::Standard, 2)
    );
}
