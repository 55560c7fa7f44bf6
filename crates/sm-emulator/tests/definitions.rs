//! Job definitions, driven through the real `aws-sdk-sagemaker` client over HTTP: every kind
//! created, described, listed and deleted; members the SDK does not model kept on the wire;
//! pagination and list filters; validation in the service's words; and tags.

mod support;

use aws_sdk_sagemaker::types::Tag;
use serde_json::{Value, json};
use sm_kinds::Kind;
use sm_testkit::{
    REGION, client, create_definition, delete_definition, describe_definition, maximal_request,
};
use support::{
    ListQuery, create_schedule, definition_arn, list_all_definitions, list_definitions,
    minimal_request, raw_call, schedule_config, start_empty,
};

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}

// ----- lifecycle and listing -----

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
        .map_err(sm_testkit::failure)
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
        .map_err(sm_testkit::failure)
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
