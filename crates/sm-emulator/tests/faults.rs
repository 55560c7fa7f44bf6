//! Fault injection as a client sees it, through the real `aws-sdk-sagemaker` client over HTTP:
//! error answers, which calls fail, probability, latency, dropped connections, changes made before
//! a lost answer, and throttling.

mod support;

use std::time::Duration;

use sm_emulator::{Behaviour, FaultError, FaultRule, Seed, Throttle};
use sm_kinds::Kind;
use sm_testkit::{
    REGION, client, create_definition, delete_definition, describe_definition, error_rule,
    start_emulator, sts_client, with_faults,
};
use support::{ListQuery, list_definitions, minimal_request, start_empty};

#[tokio::test]
async fn a_fault_answers_its_code_and_status_and_changes_nothing() {
    let emulator = start_emulator(
        Seed::default(),
        with_faults(vec![
            FaultRule {
                name: Some("doomed-*".to_owned()),
                ..error_rule("CreateDataQualityJobDefinition", None, "InternalFailure")
            },
            FaultRule {
                error: Some(FaultError {
                    code: "ConflictException".to_owned(),
                    status: 409,
                    message: "busy".to_owned(),
                }),
                ..error_rule("DeleteDataQualityJobDefinition", None, "unused")
            },
        ]),
    )
    .await;
    let client = client(&emulator, REGION);
    let error = create_definition(
        &client,
        Kind::DataQuality,
        &minimal_request(Kind::DataQuality, "doomed-1", "e"),
    )
    .await
    .expect_err("fault");
    assert_eq!(error.code(), "InternalFailure");
    assert_eq!(error.status, Some(500));
    assert!(
        emulator
            .definition_names(REGION, Kind::DataQuality)
            .is_empty(),
        "a faulted create stores nothing"
    );

    create_definition(
        &client,
        Kind::DataQuality,
        &minimal_request(Kind::DataQuality, "spared", "e"),
    )
    .await
    .expect("the name glob does not match");
    let error = delete_definition(&client, Kind::DataQuality, "spared")
        .await
        .expect_err("fault");
    assert_eq!(
        (error.code(), error.status),
        ("ConflictException", Some(409))
    );
    assert_eq!(error.message.as_deref(), Some("busy"));
    assert_eq!(
        emulator.definition_names(REGION, Kind::DataQuality),
        ["spared"]
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn nth_and_times_choose_which_calls_fail() {
    let emulator = start_emulator(
        Seed::default(),
        with_faults(vec![
            FaultRule {
                nth: Some(2),
                ..error_rule(
                    "DescribeModelQualityJobDefinition",
                    None,
                    "ServiceUnavailable",
                )
            },
            FaultRule {
                times: Some(2),
                ..error_rule(
                    "ListModelQualityJobDefinitions",
                    None,
                    "ThrottlingException",
                )
            },
        ]),
    )
    .await;
    let client = client(&emulator, REGION);
    create_definition(
        &client,
        Kind::ModelQuality,
        &minimal_request(Kind::ModelQuality, "mq", "e"),
    )
    .await
    .expect("create");

    let mut describe_outcomes = Vec::new();
    for _ in 0..4 {
        let result = describe_definition(&client, Kind::ModelQuality, "mq").await;
        describe_outcomes.push(
            result
                .map(|_| "ok".to_owned())
                .unwrap_or_else(|f| f.code().to_owned()),
        );
    }
    assert_eq!(describe_outcomes, ["ok", "ServiceUnavailable", "ok", "ok"]);

    let mut list_outcomes = Vec::new();
    for _ in 0..4 {
        let result = list_definitions(&client, Kind::ModelQuality, &ListQuery::default()).await;
        list_outcomes.push(
            result
                .map(|_| "ok".to_owned())
                .unwrap_or_else(|f| f.code().to_owned()),
        );
    }
    assert_eq!(
        list_outcomes,
        ["ThrottlingException", "ThrottlingException", "ok", "ok"]
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn probability_one_always_fires_and_zero_never_does() {
    let emulator = start_emulator(
        Seed::default(),
        with_faults(vec![
            FaultRule {
                probability: Some(0.0),
                ..error_rule("ListModelBiasJobDefinitions", None, "InternalFailure")
            },
            FaultRule {
                probability: Some(1.0),
                ..error_rule("ListDataQualityJobDefinitions", None, "InternalFailure")
            },
        ]),
    )
    .await;
    let client = client(&emulator, REGION);
    for _ in 0..10 {
        list_definitions(&client, Kind::ModelBias, &ListQuery::default())
            .await
            .expect("never fires");
        let error = list_definitions(&client, Kind::DataQuality, &ListQuery::default())
            .await
            .expect_err("always fires");
        assert_eq!(error.code(), "InternalFailure");
    }
    emulator.shutdown().await;
}

#[tokio::test]
async fn latency_and_delay_only_rules_slow_calls_without_failing_them() {
    let emulator = start_emulator(
        Seed::default(),
        Behaviour {
            latency: Duration::from_millis(5),
            faults: vec![FaultRule {
                operation: "*".to_owned(),
                delay_ms: Some(20),
                ..FaultRule::default()
            }],
            ..Behaviour::default()
        },
    )
    .await;
    let client = client(&emulator, REGION);
    create_definition(
        &client,
        Kind::DataQuality,
        &minimal_request(Kind::DataQuality, "slow", "e"),
    )
    .await
    .expect("delay only");
    describe_definition(&client, Kind::DataQuality, "slow")
        .await
        .expect("delay only");
    assert!(emulator.calls().iter().all(|call| call.outcome == "ok"));
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_dropped_connection_is_a_dispatch_failure_and_changes_nothing() {
    let emulator = start_emulator(
        Seed::default(),
        with_faults(vec![FaultRule {
            operation: "CreateModelExplainabilityJobDefinition".to_owned(),
            drop_connection: true,
            times: Some(1),
            ..FaultRule::default()
        }]),
    )
    .await;
    let client = client(&emulator, REGION);
    let request = minimal_request(Kind::ModelExplainability, "lost", "e");
    let error = create_definition(&client, Kind::ModelExplainability, &request)
        .await
        .expect_err("dropped");
    assert!(error.dispatch, "expected a dispatch failure, got {error:?}");
    assert!(
        emulator
            .definition_names(REGION, Kind::ModelExplainability)
            .is_empty()
    );
    assert_eq!(
        emulator.calls().last().map(|call| call.outcome.as_str()),
        Some("dropped")
    );

    // The rule is spent; the same request now succeeds.
    create_definition(&client, Kind::ModelExplainability, &request)
        .await
        .expect("second try");
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_drop_after_success_leaves_the_change_in_place() {
    let emulator = start_empty().await;
    let client = client(&emulator, REGION);
    emulator.set_behaviour(with_faults(vec![FaultRule {
        operation: "DeleteModelBiasJobDefinition".to_owned(),
        drop_connection: true,
        after: true,
        ..FaultRule::default()
    }]));
    create_definition(
        &client,
        Kind::ModelBias,
        &minimal_request(Kind::ModelBias, "half-done", "e"),
    )
    .await
    .expect("create");
    let error = delete_definition(&client, Kind::ModelBias, "half-done")
        .await
        .expect_err("dropped");
    assert!(error.dispatch, "expected a dispatch failure, got {error:?}");
    assert!(
        emulator
            .definition(REGION, Kind::ModelBias, "half-done")
            .is_none(),
        "the delete happened"
    );

    // An error after success behaves the same way: the change is made, the answer is an error.
    emulator.set_behaviour(with_faults(vec![FaultRule {
        after: true,
        ..error_rule("CreateModelBiasJobDefinition", None, "InternalFailure")
    }]));
    let error = create_definition(
        &client,
        Kind::ModelBias,
        &minimal_request(Kind::ModelBias, "half-done", "e"),
    )
    .await
    .expect_err("error after success");
    assert_eq!(error.code(), "InternalFailure");
    assert!(
        emulator
            .definition(REGION, Kind::ModelBias, "half-done")
            .is_some()
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_burst_beyond_the_bucket_is_throttled() {
    let emulator = start_emulator(
        Seed::default(),
        Behaviour {
            throttle: Some(Throttle {
                rate_per_second: 0.5,
                burst: 3,
            }),
            ..Behaviour::default()
        },
    )
    .await;
    let client = client(&emulator, REGION);
    let mut outcomes = Vec::new();
    for _ in 0..6 {
        let result = list_definitions(&client, Kind::DataQuality, &ListQuery::default()).await;
        outcomes.push(
            result
                .map(|_| "ok".to_owned())
                .unwrap_or_else(|f| f.code().to_owned()),
        );
    }
    assert_eq!(&outcomes[..3], ["ok", "ok", "ok"]);
    assert!(
        outcomes[3..]
            .iter()
            .all(|outcome| outcome == "ThrottlingException"),
        "{outcomes:?}"
    );
    let throttled = list_definitions(&client, Kind::DataQuality, &ListQuery::default())
        .await
        .expect_err("still throttled");
    assert_eq!(throttled.status, Some(400));
    assert_eq!(throttled.message.as_deref(), Some("Rate exceeded"));

    // STS is not SageMaker's bucket.
    sts_client(&emulator, REGION)
        .get_caller_identity()
        .send()
        .await
        .expect("not throttled");
    emulator.shutdown().await;
}
