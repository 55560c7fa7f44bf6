//! The server as a whole, through the real SDK clients and raw HTTP: what the wire protocol
//! rejects, regions kept apart, STS identity, the call log, the demo account, and shutdown.

mod support;

use aws_sdk_sagemaker::types::ScheduleStatus;
use sm_emulator::{Behaviour, MUTATING_OPERATIONS, Seed};
use sm_kinds::Kind;
use sm_testkit::{
    REGION, client, create_definition, describe_definition, error_rule, start_emulator, sts_client,
    with_faults,
};
use support::{
    ListQuery, definition_arn, list_all_definitions, list_definitions, minimal_request, raw_call,
    start_empty,
};

#[tokio::test]
async fn bodies_that_are_not_objects_and_unknown_operations_are_rejected() {
    let emulator = start_empty().await;
    let answer = raw_call(&emulator, Some("SageMaker.ListTags"), "[1, 2]", REGION).await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json()["__type"], "SerializationException");
    assert!(
        answer
            .headers
            .contains("x-amzn-errortype: SerializationException")
    );

    let answer = raw_call(&emulator, Some("SageMaker.CreateTrainingJob"), "{}", REGION).await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json()["__type"], "UnknownOperationException");

    let answer = raw_call(
        &emulator,
        Some("SageMaker.DescribeDataQualityJobDefinition"),
        r#"{"JobDefinitionName": 42}"#,
        REGION,
    )
    .await;
    assert_eq!(answer.json()["__type"], "SerializationException");
    emulator.shutdown().await;
}

#[tokio::test]
async fn regions_are_partitioned() {
    let emulator = start_empty().await;
    let east = client(&emulator, REGION);
    let west = client(&emulator, "eu-west-1");
    create_definition(
        &east,
        Kind::DataQuality,
        &minimal_request(Kind::DataQuality, "shared-name", "e"),
    )
    .await
    .expect("create in us-east-1");
    let (names, _, _) = list_definitions(&west, Kind::DataQuality, &ListQuery::default())
        .await
        .expect("list");
    assert!(names.is_empty());
    assert_eq!(
        describe_definition(&west, Kind::DataQuality, "shared-name")
            .await
            .expect_err("other region")
            .code(),
        "ResourceNotFound"
    );
    let arn = create_definition(
        &west,
        Kind::DataQuality,
        &minimal_request(Kind::DataQuality, "shared-name", "e"),
    )
    .await
    .expect("same name in eu-west-1");
    assert!(arn.starts_with("arn:aws:sagemaker:eu-west-1:"));
    assert_eq!(
        emulator.definition_names("eu-west-1", Kind::DataQuality),
        ["shared-name"]
    );
    let regions: Vec<String> = emulator
        .calls()
        .into_iter()
        .map(|call| call.region)
        .collect();
    assert_eq!(regions, [REGION, "eu-west-1", "eu-west-1", "eu-west-1"]);
    emulator.shutdown().await;
}

#[tokio::test]
async fn sts_get_caller_identity_returns_the_seed_account() {
    let seed = Seed {
        account_id: "210987654321".to_owned(),
        ..Seed::default()
    };
    let emulator = start_emulator(seed, Behaviour::default()).await;
    let identity = sts_client(&emulator, REGION)
        .get_caller_identity()
        .send()
        .await
        .expect("get caller identity");
    assert_eq!(identity.account(), Some("210987654321"));
    assert_eq!(
        identity.arn(),
        Some("arn:aws:iam::210987654321:user/sandbox")
    );
    assert_eq!(emulator.account_id(), "210987654321");

    // ARNs carry the seed account.
    let arn = create_definition(
        &client(&emulator, REGION),
        Kind::ModelQuality,
        &minimal_request(Kind::ModelQuality, "acct", "e"),
    )
    .await
    .expect("create");
    assert!(arn.contains(":210987654321:"), "{arn}");

    // A fault aimed at STS by name reaches the STS client as an STS error.
    emulator.set_behaviour(with_faults(vec![error_rule(
        "GetCallerIdentity",
        None,
        "InternalFailure",
    )]));
    let error = sts_client(&emulator, REGION)
        .get_caller_identity()
        .send()
        .await
        .expect_err("fault");
    assert_eq!(
        aws_sdk_sts::error::ProvideErrorMetadata::code(&error),
        Some("InternalFailure")
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn every_call_is_recorded_in_order_with_its_outcome() {
    let emulator = start_empty().await;
    let client = client(&emulator, REGION);
    create_definition(
        &client,
        Kind::ModelBias,
        &minimal_request(Kind::ModelBias, "logged", "e"),
    )
    .await
    .expect("create");
    describe_definition(&client, Kind::ModelBias, "missing")
        .await
        .expect_err("unknown");
    client
        .list_tags()
        .resource_arn(definition_arn(Kind::ModelBias, "logged"))
        .send()
        .await
        .expect("list tags");
    let calls: Vec<(String, Option<String>, String)> = emulator
        .calls()
        .into_iter()
        .map(|call| (call.operation, call.name, call.outcome))
        .collect();
    assert_eq!(
        calls,
        [
            (
                "CreateModelBiasJobDefinition".to_owned(),
                Some("logged".to_owned()),
                "ok".to_owned()
            ),
            (
                "DescribeModelBiasJobDefinition".to_owned(),
                Some("missing".to_owned()),
                "ResourceNotFound".to_owned()
            ),
            (
                "ListTags".to_owned(),
                Some("logged".to_owned()),
                "ok".to_owned()
            ),
        ]
    );
    assert!(MUTATING_OPERATIONS.contains(&"CreateModelBiasJobDefinition"));
    assert!(!MUTATING_OPERATIONS.contains(&"ListTags"));
    emulator.shutdown().await;
}

#[tokio::test]
async fn the_demo_account_serves_its_definitions_tags_and_schedules() {
    let emulator = start_emulator(Seed::demo(), Behaviour::default()).await;
    let client = client(&emulator, REGION);
    let mut total = 0;
    for kind in Kind::ALL {
        let (names, _) = list_all_definitions(&client, kind, None).await;
        total += names.len();
    }
    assert_eq!(total, 15, "fifteen demo definitions live in us-east-1");
    let west_client = sm_testkit::client(&emulator, "eu-west-1");
    let (west, _) = list_all_definitions(&west_client, Kind::DataQuality, None).await;
    assert_eq!(west, ["forecast-batch-data-quality"]);

    let managed = client
        .list_tags()
        .resource_arn(definition_arn(Kind::DataQuality, "pricing-data-quality"))
        .send()
        .await
        .expect("list tags");
    assert!(
        managed
            .tags()
            .iter()
            .any(|t| t.key() == Some("aws:cloudformation:stack-name"))
    );

    let schedules = client
        .list_monitoring_schedules()
        .send()
        .await
        .expect("list schedules");
    let references: Vec<(Option<&str>, Option<&ScheduleStatus>)> = schedules
        .monitoring_schedule_summaries()
        .iter()
        .map(|s| {
            (
                s.monitoring_job_definition_name(),
                s.monitoring_schedule_status(),
            )
        })
        .collect();
    assert!(references.contains(&(Some("churn-data-quality"), Some(&ScheduleStatus::Scheduled))));
    assert!(references.contains(&(Some("fraud-model-bias"), Some(&ScheduleStatus::Stopped))));
    emulator.shutdown().await;
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let emulator = start_empty().await;
    let client = client(&emulator, REGION);
    list_definitions(&client, Kind::DataQuality, &ListQuery::default())
        .await
        .expect("serving");
    let address = emulator.local_addr();
    emulator.shutdown().await;
    assert!(tokio::net::TcpStream::connect(address).await.is_err());
}
