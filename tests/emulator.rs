//! The sandbox emulator, driven through the real `aws-sdk-sagemaker` and `aws-sdk-sts` clients over
//! HTTP: every behaviour the rest of the tool (and its tests) relies on.

mod support;

use std::time::Duration;

use aws_sdk_sagemaker::types::{MonitoringType, ScheduleStatus, Tag};
use serde_json::{Value, json};

use sm_emulator::{Behaviour, FaultError, FaultRule, MUTATING_OPERATIONS, Seed, Throttle};
use sm_recreate::kinds::Kind;
use support::emulator::{
    ListQuery, client, create_definition, create_schedule, delete_definition, describe_definition,
    list_all_definitions, list_definitions, minimal_request, raw_call, schedule_config,
    schedule_status, start_empty, sts_client, wait_for_schedule_status,
};
use support::{ACCOUNT, REGION, error_rule, maximal_request, start_emulator, with_faults};

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}

fn definition_arn(kind: Kind, name: &str) -> String {
    format!(
        "arn:aws:sagemaker:{REGION}:{ACCOUNT}:{}/{name}",
        kind.arn_type()
    )
}

// ----- job definitions -----

#[tokio::test]
async fn every_kind_creates_describes_lists_and_deletes_its_maximal_fixture() {
    let emulator = start_empty().await;
    let client = client(&emulator, REGION);
    for kind in Kind::ALL {
        let request = maximal_request(kind);
        let name = request["JobDefinitionName"]
            .as_str()
            .expect("name")
            .to_owned();

        let arn = create_definition(&client, kind, &request)
            .await
            .expect("create");
        assert_eq!(arn, definition_arn(kind, &name));

        let described = describe_definition(&client, kind, &name)
            .await
            .expect("describe");
        assert_eq!(described.name, name);
        assert_eq!(described.arn, arn);
        assert_eq!(
            described.role_arn,
            request["RoleArn"].as_str().expect("role")
        );
        assert_eq!(described.instance_count, Some(2));
        assert_eq!(described.encryption, Some(false));
        assert!(described.has_creation_time);

        // The stored describe JSON is the request minus Tags plus the two read-only members.
        let mut stored = emulator
            .definition(REGION, kind, &name)
            .expect("stored")
            .as_object()
            .expect("object")
            .clone();
        assert_eq!(stored.remove("JobDefinitionArn"), Some(json!(arn)));
        assert!(stored.remove("CreationTime").is_some_and(|t| t.is_f64()));
        let mut expected = request.as_object().expect("object").clone();
        expected.remove("Tags");
        assert_eq!(stored, expected);

        let (names, _, _) = list_definitions(&client, kind, &ListQuery::default())
            .await
            .expect("list");
        assert_eq!(names, vec![name.clone()]);

        delete_definition(&client, kind, &name)
            .await
            .expect("delete");
        assert!(emulator.definition_names(REGION, kind).is_empty());
        let gone = describe_definition(&client, kind, &name)
            .await
            .expect_err("deleted");
        assert_eq!(gone.code(), "ResourceNotFound");
    }
    emulator.shutdown().await;
}

#[tokio::test]
async fn describe_returns_unknown_members_and_the_sent_key_order_on_the_wire() {
    let emulator = start_empty().await;
    let mut describe = minimal_request(Kind::ModelBias, "future-proof", "churn-endpoint");
    describe["SomeMemberFromTheFuture"] = json!({"Nested": [1, 2, {"Deep": true}]});
    describe["ModelBiasJobInput"]["EndpointInput"]["NewInputOption"] = json!("x");
    emulator.put_definition_raw(
        REGION,
        Kind::ModelBias,
        describe.clone(),
        vec![("team".to_owned(), "ml".to_owned())],
    );

    let stored = emulator
        .definition(REGION, Kind::ModelBias, "future-proof")
        .expect("stored");
    assert_eq!(
        stored["SomeMemberFromTheFuture"],
        describe["SomeMemberFromTheFuture"]
    );

    let answer = raw_call(
        &emulator,
        Some("SageMaker.DescribeModelBiasJobDefinition"),
        r#"{"JobDefinitionName": "future-proof"}"#,
        REGION,
    )
    .await;
    assert_eq!(answer.status, 200);
    assert!(
        answer
            .headers
            .to_ascii_lowercase()
            .contains("x-amzn-requestid")
    );
    assert_eq!(answer.json(), stored);

    // The typed client still parses the answer, ignoring what it does not model.
    let client = client(&emulator, REGION);
    let described = describe_definition(&client, Kind::ModelBias, "future-proof")
        .await
        .expect("describe");
    assert_eq!(described.name, "future-proof");

    // Created definitions keep the request's member order after the read-only members.
    let request = maximal_request(Kind::DataQuality);
    create_definition(&client, Kind::DataQuality, &request)
        .await
        .expect("create");
    let answer = raw_call(
        &emulator,
        Some("SageMaker.DescribeDataQualityJobDefinition"),
        r#"{"JobDefinitionName": "maximal-data-quality"}"#,
        REGION,
    )
    .await;
    let keys: Vec<String> = answer
        .json()
        .as_object()
        .expect("object")
        .keys()
        .cloned()
        .collect();
    let mut expected = vec![
        "JobDefinitionArn".to_owned(),
        "JobDefinitionName".to_owned(),
        "CreationTime".to_owned(),
    ];
    expected.extend(
        request
            .as_object()
            .expect("object")
            .keys()
            .filter(|key| *key != "JobDefinitionName" && *key != "Tags")
            .cloned(),
    );
    assert_eq!(keys, expected);
    emulator.shutdown().await;
}

#[tokio::test]
async fn pagination_covers_every_definition_exactly_once() {
    let emulator = start_empty().await;
    let client = client(&emulator, REGION);
    let mut created = Vec::new();
    for index in 0..25 {
        let name = format!("paged-{index:02}");
        create_definition(
            &client,
            Kind::ModelQuality,
            &minimal_request(Kind::ModelQuality, &name, "e"),
        )
        .await
        .expect("create");
        created.push(name);
    }

    let (names, pages) = list_all_definitions(&client, Kind::ModelQuality, None).await;
    assert_eq!(pages, 3, "default page size is 10");
    // Default order: newest first.
    let mut newest_first = created.clone();
    newest_first.reverse();
    assert_eq!(names, newest_first);

    let (names, pages) = list_all_definitions(&client, Kind::ModelQuality, Some(7)).await;
    assert_eq!(pages, 4);
    assert_eq!(names.len(), 25);

    let (names, pages) = list_all_definitions(&client, Kind::ModelQuality, Some(100)).await;
    assert_eq!((names.len(), pages), (25, 1));

    let bad_token = list_definitions(
        &client,
        Kind::ModelQuality,
        &ListQuery {
            next_token: Some("not-a-token".to_owned()),
            ..ListQuery::default()
        },
    )
    .await
    .expect_err("invalid token");
    assert_eq!(bad_token.code(), "ValidationException");

    let too_many = list_definitions(
        &client,
        Kind::ModelQuality,
        &ListQuery {
            max_results: Some(101),
            ..ListQuery::default()
        },
    )
    .await
    .expect_err("MaxResults above 100");
    assert_eq!(too_many.code(), "ValidationException");
    emulator.shutdown().await;
}

#[tokio::test]
async fn list_filters_and_sorting_are_honoured() {
    let emulator = start_empty().await;
    let client = client(&emulator, REGION);
    for (name, endpoint) in [
        ("churn-b", "churn"),
        ("churn-a", "churn"),
        ("fraud-a", "fraud"),
    ] {
        create_definition(
            &client,
            Kind::DataQuality,
            &minimal_request(Kind::DataQuality, name, endpoint),
        )
        .await
        .expect("create");
    }
    let query = |query: ListQuery| {
        let client = client.clone();
        async move {
            list_definitions(&client, Kind::DataQuality, &query)
                .await
                .expect("list")
        }
    };
    let (names, endpoints, _) = query(ListQuery {
        sort_by_name_ascending: true,
        ..ListQuery::default()
    })
    .await;
    assert_eq!(names, ["churn-a", "churn-b", "fraud-a"]);
    assert_eq!(endpoints[2].as_deref(), Some("fraud"));
    let (names, _, _) = query(ListQuery {
        name_contains: Some("CHURN".to_owned()),
        ..ListQuery::default()
    })
    .await;
    assert_eq!(names, ["churn-a", "churn-b"]);
    let (names, _, _) = query(ListQuery {
        endpoint_name: Some("fraud".to_owned()),
        ..ListQuery::default()
    })
    .await;
    assert_eq!(names, ["fraud-a"]);

    // Each kind lists only its own definitions.
    let (names, _, _) = list_definitions(&client, Kind::ModelBias, &ListQuery::default())
        .await
        .expect("list");
    assert!(names.is_empty());

    let created_before = client
        .list_data_quality_job_definitions()
        .creation_time_before(aws_smithy_types::DateTime::from_secs(1))
        .send()
        .await
        .expect("list");
    assert!(created_before.job_definition_summaries().is_empty());
    emulator.shutdown().await;
}

// ----- validation -----

#[tokio::test]
async fn invalid_names_are_validation_errors_in_aws_words() {
    let emulator = start_empty().await;
    let client = client(&emulator, REGION);
    let bad = create_definition(
        &client,
        Kind::DataQuality,
        &minimal_request(Kind::DataQuality, "bad_name!", "e"),
    )
    .await
    .expect_err("pattern");
    assert_eq!(bad.code(), "ValidationException");
    assert_eq!(bad.status, Some(400));
    assert_eq!(
        bad.message.as_deref(),
        Some(
            "1 validation error detected: Value 'bad_name!' at 'jobDefinitionName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
        )
    );

    let long = "a".repeat(64);
    let too_long = create_definition(
        &client,
        Kind::ModelQuality,
        &minimal_request(Kind::ModelQuality, &long, "e"),
    )
    .await
    .expect_err("64 characters");
    assert_eq!(too_long.code(), "ValidationException");
    assert!(
        too_long
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("less than or equal to 63")
    );

    let max = "a".repeat(63);
    create_definition(
        &client,
        Kind::ModelQuality,
        &minimal_request(Kind::ModelQuality, &max, "e"),
    )
    .await
    .expect("63 characters are fine");

    let schedule = create_schedule(&client, "bad_schedule", &max, Kind::ModelQuality)
        .await
        .expect_err("schedule names follow the same pattern");
    assert_eq!(schedule.code(), "ValidationException");
    emulator.shutdown().await;
}

#[tokio::test]
async fn missing_required_members_are_validation_errors() {
    let emulator = start_empty().await;
    let client = client(&emulator, REGION);
    for kind in Kind::ALL {
        let required = kind
            .required_members()
            .into_iter()
            .chain(["JobResources".to_owned(), "RoleArn".to_owned()]);
        for member in required {
            let mut request = minimal_request(kind, "incomplete", "e");
            request.as_object_mut().expect("object").remove(&member);
            let error = create_definition(&client, kind, &request)
                .await
                .expect_err("incomplete");
            assert_eq!(
                error.code(),
                "ValidationException",
                "{kind} without {member}"
            );
            let message = error.message.unwrap_or_default();
            assert!(message.contains("Member must not be null"), "{message}");
        }
    }
    assert!(
        emulator
            .calls()
            .iter()
            .all(|call| call.outcome == "ValidationException")
    );
    emulator.shutdown().await;
}

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
async fn aws_tags_are_rejected_on_create_and_add_tags() {
    let emulator = start_empty().await;
    let client = client(&emulator, REGION);
    let mut request = minimal_request(Kind::ModelExplainability, "tagged", "e");
    request["Tags"] = json!([{"Key": "aws:cloudformation:stack-name", "Value": "stack"}]);
    let error = create_definition(&client, Kind::ModelExplainability, &request)
        .await
        .expect_err("reserved tag");
    assert_eq!(error.code(), "ValidationException");
    assert!(
        emulator
            .definition_names(REGION, Kind::ModelExplainability)
            .is_empty()
    );

    request["Tags"] = json!([{"Key": "team", "Value": "ml"}]);
    let arn = create_definition(&client, Kind::ModelExplainability, &request)
        .await
        .expect("create");
    let error = client
        .add_tags()
        .resource_arn(&arn)
        .tags(tag("aws:createdBy", "me"))
        .send()
        .await
        .map_err(support::emulator::failure)
        .expect_err("reserved tag");
    assert_eq!(error.code(), "ValidationException");

    let too_many: Vec<Value> = (0..51)
        .map(|i| json!({"Key": format!("k{i}"), "Value": "v"}))
        .collect();
    request["JobDefinitionName"] = json!("overtagged");
    request["Tags"] = Value::Array(too_many);
    let error = create_definition(&client, Kind::ModelExplainability, &request)
        .await
        .expect_err("51 tags");
    assert_eq!(error.code(), "ValidationException");
    emulator.shutdown().await;
}

#[tokio::test]
async fn duplicate_names_are_in_use_regardless_of_case_and_unknown_names_not_found() {
    let emulator = start_empty().await;
    let client = client(&emulator, REGION);
    create_definition(
        &client,
        Kind::ModelBias,
        &minimal_request(Kind::ModelBias, "Churn-Bias", "e"),
    )
    .await
    .expect("create");
    let duplicate = create_definition(
        &client,
        Kind::ModelBias,
        &minimal_request(Kind::ModelBias, "churn-bias", "e"),
    )
    .await
    .expect_err("duplicate");
    assert_eq!(duplicate.code(), "ResourceInUse");
    assert!(duplicate.message.is_some());

    // Another kind may reuse the name.
    create_definition(
        &client,
        Kind::DataQuality,
        &minimal_request(Kind::DataQuality, "churn-bias", "e"),
    )
    .await
    .expect("names are per kind");

    for result in [
        describe_definition(&client, Kind::ModelBias, "nope")
            .await
            .map(|_| ()),
        delete_definition(&client, Kind::ModelBias, "nope").await,
    ] {
        assert_eq!(result.expect_err("unknown").code(), "ResourceNotFound");
    }
    emulator.shutdown().await;
}

// ----- tags -----

#[tokio::test]
async fn tags_are_listed_added_and_overwritten_for_definitions_and_schedules() {
    let emulator = start_empty().await;
    let client = client(&emulator, REGION);
    let mut request = minimal_request(Kind::DataQuality, "tagged", "e");
    request["Tags"] = json!([{"Key": "team", "Value": "ml"}, {"Key": "env", "Value": "prod"}]);
    let arn = create_definition(&client, Kind::DataQuality, &request)
        .await
        .expect("create");

    let listed = client
        .list_tags()
        .resource_arn(&arn)
        .send()
        .await
        .expect("list tags");
    let pairs: Vec<(&str, &str)> = listed
        .tags()
        .iter()
        .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default()))
        .collect();
    assert_eq!(pairs, [("team", "ml"), ("env", "prod")]);
    assert!(listed.next_token().is_none());

    client
        .add_tags()
        .resource_arn(&arn)
        .tags(tag("env", "staging"))
        .tags(tag("owner", "alice"))
        .send()
        .await
        .expect("add tags");
    let listed = client
        .list_tags()
        .resource_arn(&arn)
        .send()
        .await
        .expect("list tags");
    let pairs: Vec<(&str, &str)> = listed
        .tags()
        .iter()
        .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default()))
        .collect();
    assert_eq!(
        pairs,
        [("team", "ml"), ("env", "staging"), ("owner", "alice")]
    );

    let schedule_arn = client
        .create_monitoring_schedule()
        .monitoring_schedule_name("tagged-schedule")
        .monitoring_schedule_config(schedule_config("tagged", Kind::DataQuality))
        .tags(tag("team", "ml"))
        .send()
        .await
        .expect("create schedule")
        .monitoring_schedule_arn()
        .unwrap_or_default()
        .to_owned();
    let listed = client
        .list_tags()
        .resource_arn(&schedule_arn)
        .send()
        .await
        .expect("list tags");
    assert_eq!(listed.tags().len(), 1);

    let unknown = client
        .list_tags()
        .resource_arn(definition_arn(Kind::DataQuality, "missing"))
        .send()
        .await
        .map_err(support::emulator::failure)
        .expect_err("unknown ARN");
    assert_eq!(unknown.code(), "ValidationException");
    assert!(
        unknown
            .message
            .unwrap_or_default()
            .contains("does not exist")
    );
    emulator.shutdown().await;
}

// ----- schedules -----

#[tokio::test]
async fn schedules_go_pending_then_scheduled_and_updates_wait_for_that() {
    let emulator = start_emulator(
        Seed::default(),
        Behaviour {
            schedule_transition: Duration::from_millis(300),
            ..Behaviour::default()
        },
    )
    .await;
    let client = client(&emulator, REGION);
    for name in ["first", "second"] {
        create_definition(
            &client,
            Kind::ModelQuality,
            &minimal_request(Kind::ModelQuality, name, &format!("{name}-endpoint")),
        )
        .await
        .expect("create");
    }
    let arn = create_schedule(&client, "nightly", "first", Kind::ModelQuality)
        .await
        .expect("create schedule");
    assert_eq!(
        arn,
        format!("arn:aws:sagemaker:{REGION}:{ACCOUNT}:monitoring-schedule/nightly")
    );
    assert_eq!(
        schedule_status(&client, "nightly").await,
        ScheduleStatus::Pending
    );

    let refused = client
        .update_monitoring_schedule()
        .monitoring_schedule_name("nightly")
        .monitoring_schedule_config(schedule_config("second", Kind::ModelQuality))
        .send()
        .await
        .map_err(support::emulator::failure)
        .expect_err("pending");
    assert_eq!(refused.code(), "ResourceInUse");

    wait_for_schedule_status(&client, "nightly", ScheduleStatus::Scheduled).await;
    client
        .update_monitoring_schedule()
        .monitoring_schedule_name("nightly")
        .monitoring_schedule_config(schedule_config("second", Kind::ModelQuality))
        .send()
        .await
        .expect("update");
    let described = client
        .describe_monitoring_schedule()
        .monitoring_schedule_name("nightly")
        .send()
        .await
        .expect("describe");
    assert_eq!(
        described.monitoring_schedule_status(),
        Some(&ScheduleStatus::Pending)
    );
    assert_eq!(described.endpoint_name(), Some("second-endpoint"));
    assert_eq!(
        described.monitoring_type(),
        Some(&MonitoringType::ModelQuality)
    );
    assert_eq!(
        described
            .monitoring_schedule_config()
            .and_then(|c| c.monitoring_job_definition_name()),
        Some("second")
    );
    wait_for_schedule_status(&client, "nightly", ScheduleStatus::Scheduled).await;

    // The first definition is free again; the second is referenced.
    delete_definition(&client, Kind::ModelQuality, "first")
        .await
        .expect("unreferenced");
    let in_use = delete_definition(&client, Kind::ModelQuality, "second")
        .await
        .expect_err("referenced");
    assert_eq!(in_use.code(), "ResourceInUse");
    assert!(in_use.message.unwrap_or_default().contains("nightly"));

    client
        .delete_monitoring_schedule()
        .monitoring_schedule_name("nightly")
        .send()
        .await
        .expect("delete schedule");
    delete_definition(&client, Kind::ModelQuality, "second")
        .await
        .expect("no longer referenced");
    emulator.shutdown().await;
}

#[tokio::test]
async fn stop_and_start_move_the_status_and_updates_keep_a_stopped_schedule_stopped() {
    let emulator = start_empty().await;
    let client = client(&emulator, REGION);
    create_definition(
        &client,
        Kind::DataQuality,
        &minimal_request(Kind::DataQuality, "def", "e"),
    )
    .await
    .expect("create");
    create_schedule(&client, "sched", "def", Kind::DataQuality)
        .await
        .expect("create schedule");
    wait_for_schedule_status(&client, "sched", ScheduleStatus::Scheduled).await;

    client
        .stop_monitoring_schedule()
        .monitoring_schedule_name("sched")
        .send()
        .await
        .expect("stop");
    assert_eq!(
        schedule_status(&client, "sched").await,
        ScheduleStatus::Stopped
    );

    client
        .update_monitoring_schedule()
        .monitoring_schedule_name("sched")
        .monitoring_schedule_config(schedule_config("def", Kind::DataQuality))
        .send()
        .await
        .expect("update");
    wait_for_schedule_status(&client, "sched", ScheduleStatus::Stopped).await;

    client
        .start_monitoring_schedule()
        .monitoring_schedule_name("sched")
        .send()
        .await
        .expect("start");
    wait_for_schedule_status(&client, "sched", ScheduleStatus::Scheduled).await;
    assert_eq!(
        emulator.schedule(REGION, "sched").expect("stored")["MonitoringScheduleStatus"],
        "Scheduled"
    );

    for result in [
        client
            .stop_monitoring_schedule()
            .monitoring_schedule_name("ghost")
            .send()
            .await
            .map(|_| ())
            .map_err(support::emulator::failure),
        client
            .start_monitoring_schedule()
            .monitoring_schedule_name("ghost")
            .send()
            .await
            .map(|_| ())
            .map_err(support::emulator::failure),
        client
            .delete_monitoring_schedule()
            .monitoring_schedule_name("ghost")
            .send()
            .await
            .map(|_| ())
            .map_err(support::emulator::failure),
        client
            .describe_monitoring_schedule()
            .monitoring_schedule_name("ghost")
            .send()
            .await
            .map(|_| ())
            .map_err(support::emulator::failure),
        client
            .update_monitoring_schedule()
            .monitoring_schedule_name("ghost")
            .monitoring_schedule_config(schedule_config("def", Kind::DataQuality))
            .send()
            .await
            .map(|_| ())
            .map_err(support::emulator::failure),
    ] {
        assert_eq!(
            result.expect_err("unknown schedule").code(),
            "ResourceNotFound"
        );
    }
    emulator.shutdown().await;
}

#[tokio::test]
async fn schedules_must_reference_existing_definitions_with_a_type() {
    let emulator = start_empty().await;
    let client = client(&emulator, REGION);
    let missing = create_schedule(&client, "orphan", "nothing-here", Kind::ModelBias)
        .await
        .expect_err("missing definition");
    assert_eq!(missing.code(), "ResourceNotFound");

    create_definition(
        &client,
        Kind::ModelBias,
        &minimal_request(Kind::ModelBias, "bias", "e"),
    )
    .await
    .expect("create");
    // Same name, wrong kind: the reference is by name and type.
    let wrong_kind = create_schedule(&client, "orphan", "bias", Kind::ModelQuality)
        .await
        .expect_err("wrong type");
    assert_eq!(wrong_kind.code(), "ResourceNotFound");

    let untyped = client
        .create_monitoring_schedule()
        .monitoring_schedule_name("untyped")
        .monitoring_schedule_config(
            aws_sdk_sagemaker::types::MonitoringScheduleConfig::builder()
                .monitoring_job_definition_name("bias")
                .build(),
        )
        .send()
        .await
        .map_err(support::emulator::failure)
        .expect_err("MonitoringType missing");
    assert_eq!(untyped.code(), "ValidationException");

    create_schedule(&client, "ok", "bias", Kind::ModelBias)
        .await
        .expect("create schedule");
    let duplicate = create_schedule(&client, "OK", "bias", Kind::ModelBias)
        .await
        .expect_err("duplicate");
    assert_eq!(duplicate.code(), "ResourceInUse");

    wait_for_schedule_status(&client, "ok", ScheduleStatus::Scheduled).await;
    let repoint_to_missing = client
        .update_monitoring_schedule()
        .monitoring_schedule_name("ok")
        .monitoring_schedule_config(schedule_config("gone", Kind::ModelBias))
        .send()
        .await
        .map_err(support::emulator::failure)
        .expect_err("missing definition");
    assert_eq!(repoint_to_missing.code(), "ResourceNotFound");
    emulator.shutdown().await;
}

#[tokio::test]
async fn updates_are_refused_while_a_seeded_execution_is_in_progress() {
    let seed: Seed = serde_json::from_value(json!({
        "definitions": [{"kind": "data-quality", "request": minimal_request(Kind::DataQuality, "busy-def", "busy")}],
        "schedules": [{
            "request": {
                "MonitoringScheduleName": "busy",
                "MonitoringScheduleConfig": {"MonitoringJobDefinitionName": "busy-def", "MonitoringType": "DataQuality"}
            },
            "LastMonitoringExecutionSummary": {"MonitoringExecutionStatus": "InProgress"}
        }]
    }))
    .expect("seed");
    let emulator = start_emulator(
        seed,
        Behaviour {
            execution_duration: Duration::from_millis(400),
            ..Behaviour::default()
        },
    )
    .await;
    let client = client(&emulator, REGION);
    // Seeded schedules start settled.
    assert_eq!(
        schedule_status(&client, "busy").await,
        ScheduleStatus::Scheduled
    );
    let described = client
        .describe_monitoring_schedule()
        .monitoring_schedule_name("busy")
        .send()
        .await
        .expect("describe");
    let summary = described
        .last_monitoring_execution_summary()
        .expect("summary");
    assert_eq!(summary.monitoring_schedule_name(), Some("busy"));
    assert_eq!(
        summary.monitoring_execution_status(),
        Some(&aws_sdk_sagemaker::types::ExecutionStatus::InProgress)
    );

    let update = || {
        client
            .update_monitoring_schedule()
            .monitoring_schedule_name("busy")
            .monitoring_schedule_config(schedule_config("busy-def", Kind::DataQuality))
            .send()
    };
    let refused = update()
        .await
        .map_err(support::emulator::failure)
        .expect_err("in progress");
    assert_eq!(refused.code(), "ResourceInUse");
    assert!(
        refused
            .message
            .unwrap_or_default()
            .contains("execution is in progress")
    );

    let mut updated = false;
    for _ in 0..300 {
        tokio::time::sleep(Duration::from_millis(10)).await;
        if update().await.is_ok() {
            updated = true;
            break;
        }
    }
    assert!(
        updated,
        "the execution completes and the update goes through"
    );
    let summary =
        &emulator.schedule(REGION, "busy").expect("stored")["LastMonitoringExecutionSummary"];
    assert_eq!(summary["MonitoringExecutionStatus"], "Completed");
    emulator.shutdown().await;
}

#[tokio::test]
async fn list_monitoring_schedules_filters_and_reports_references() {
    let emulator = start_emulator(
        Seed::default(),
        Behaviour {
            schedule_transition: Duration::ZERO,
            ..Behaviour::default()
        },
    )
    .await;
    let client = client(&emulator, REGION);
    create_definition(
        &client,
        Kind::DataQuality,
        &minimal_request(Kind::DataQuality, "dq", "churn"),
    )
    .await
    .expect("create");
    create_definition(
        &client,
        Kind::ModelBias,
        &minimal_request(Kind::ModelBias, "mb", "fraud"),
    )
    .await
    .expect("create");
    create_schedule(&client, "dq-hourly", "dq", Kind::DataQuality)
        .await
        .expect("schedule");
    create_schedule(&client, "dq-daily", "dq", Kind::DataQuality)
        .await
        .expect("schedule");
    create_schedule(&client, "mb-daily", "mb", Kind::ModelBias)
        .await
        .expect("schedule");
    client
        .stop_monitoring_schedule()
        .monitoring_schedule_name("dq-daily")
        .send()
        .await
        .expect("stop");

    let all = client
        .list_monitoring_schedules()
        .send()
        .await
        .expect("list");
    let summaries = all.monitoring_schedule_summaries();
    assert_eq!(summaries.len(), 3);
    let mb = summaries
        .iter()
        .find(|s| s.monitoring_schedule_name() == Some("mb-daily"))
        .expect("mb-daily listed");
    assert_eq!(mb.monitoring_job_definition_name(), Some("mb"));
    assert_eq!(mb.monitoring_type(), Some(&MonitoringType::ModelBias));
    assert_eq!(mb.endpoint_name(), Some("fraud"));

    let names = |output: aws_sdk_sagemaker::operation::list_monitoring_schedules::ListMonitoringSchedulesOutput| {
        let mut names: Vec<String> = output
            .monitoring_schedule_summaries()
            .iter()
            .map(|s| s.monitoring_schedule_name().unwrap_or_default().to_owned())
            .collect();
        names.sort();
        names
    };
    let by_definition = client
        .list_monitoring_schedules()
        .monitoring_job_definition_name("dq")
        .send()
        .await
        .expect("list");
    assert_eq!(names(by_definition), ["dq-daily", "dq-hourly"]);
    let by_type = client
        .list_monitoring_schedules()
        .monitoring_type_equals(MonitoringType::ModelBias)
        .send()
        .await
        .expect("list");
    assert_eq!(names(by_type), ["mb-daily"]);
    let by_endpoint = client
        .list_monitoring_schedules()
        .endpoint_name("churn")
        .send()
        .await
        .expect("list");
    assert_eq!(names(by_endpoint), ["dq-daily", "dq-hourly"]);
    let by_status = client
        .list_monitoring_schedules()
        .status_equals(ScheduleStatus::Stopped)
        .send()
        .await
        .expect("list");
    assert_eq!(names(by_status), ["dq-daily"]);
    let by_name = client
        .list_monitoring_schedules()
        .name_contains("HOURLY")
        .send()
        .await
        .expect("list");
    assert_eq!(names(by_name), ["dq-hourly"]);

    let first_page = client
        .list_monitoring_schedules()
        .max_results(2)
        .send()
        .await
        .expect("list");
    let token = first_page.next_token().expect("more pages").to_owned();
    assert_eq!(first_page.monitoring_schedule_summaries().len(), 2);
    let second_page = client
        .list_monitoring_schedules()
        .max_results(2)
        .next_token(token)
        .send()
        .await
        .expect("list");
    assert_eq!(second_page.monitoring_schedule_summaries().len(), 1);
    assert!(second_page.next_token().is_none());
    emulator.shutdown().await;
}

// ----- faults -----

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

// ----- regions, identity, bookkeeping -----

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
    assert_eq!(total, 13, "thirteen demo definitions live in us-east-1");
    let west_client = support::emulator::client(&emulator, "eu-west-1");
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
