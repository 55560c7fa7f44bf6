//! The SageMaker adapter against the emulator, over HTTP through the official SDK: raw JSON in
//! and out without loss, tags across pages, and errors classified into what the tool acts on.

mod support;

use serde_json::{Map, Value, json};
use sm_emulator::Seed;
use sm_recreate::kinds::Fixes;
use sm_recreate::kinds::Kind;
use sm_recreate::request::{create_request, renamed, restore_request, with_fixes};
use sm_recreate::sagemaker::{ErrorClass, Tag};
use support::{ACCOUNT, Sandbox, maximal_request, request_tags, seed, seed_definition};

const US: &str = "us-east-1";

/// The describe JSON without the members that differ between a definition and its copy.
fn comparable(describe: &Value) -> Map<String, Value> {
    let mut members = describe.as_object().expect("describe is an object").clone();
    for member in ["JobDefinitionArn", "CreationTime", "JobDefinitionName"] {
        assert!(
            members.shift_remove(member).is_some(),
            "describe has {member}"
        );
    }
    members
}

fn tags(pairs: &[(String, String)]) -> Vec<Tag> {
    pairs
        .iter()
        .map(|(key, value)| Tag {
            key: key.clone(),
            value: value.clone(),
        })
        .collect()
}

#[test]
fn every_maximal_fixture_survives_describe_create_describe() {
    let sandbox = Sandbox::start(seed(
        Kind::ALL
            .iter()
            .map(|&kind| seed_definition(US, kind, maximal_request(kind)))
            .collect(),
        Vec::new(),
    ));
    let client = sandbox.client(US);
    sandbox.block_on(async {
        for kind in Kind::ALL {
            let fixture = maximal_request(kind);
            let name = fixture["JobDefinitionName"].as_str().expect("name");
            let original = client
                .describe_definition(kind, name)
                .await
                .expect("describe");
            // The describe JSON holds every member the fixture sent, unchanged.
            let mut sent = fixture.as_object().expect("object").clone();
            sent.shift_remove("Tags");
            sent.shift_remove("JobDefinitionName");
            assert_eq!(
                comparable(&original),
                sent,
                "{kind}: describe differs from the create"
            );

            let arn = original["JobDefinitionArn"]
                .as_str()
                .expect("arn")
                .to_owned();
            let original_tags = client.list_tags(&arn).await.expect("tags");
            assert_eq!(original_tags, tags(&request_tags(&fixture)), "{kind} tags");

            // The compliant copy: everything equal but the flag, tags included.
            let copy_name = format!("copy-{}", kind.cli_name());
            let (request, dropped) = create_request(&original, &original_tags, Fixes::ENCRYPTION);
            assert!(dropped.is_empty());
            let copy_arn = client
                .create_definition(kind, &renamed(&request, &copy_name))
                .await
                .unwrap_or_else(|e| panic!("{kind}: create the copy: {e}"));
            assert_eq!(
                copy_arn,
                format!(
                    "arn:aws:sagemaker:{US}:{ACCOUNT}:{}/{copy_name}",
                    kind.arn_type()
                )
            );
            let copy = client
                .describe_definition(kind, &copy_name)
                .await
                .expect("describe copy");
            assert_eq!(copy["JobDefinitionName"], json!(copy_name));
            assert_eq!(
                comparable(&copy),
                comparable(&with_fixes(&original, Fixes::ENCRYPTION)),
                "{kind}: the copy differs beyond the flag"
            );
            assert_eq!(
                copy["NetworkConfig"]["EnableInterContainerTrafficEncryption"],
                json!(true)
            );
            assert_eq!(
                client.list_tags(&copy_arn).await.expect("copy tags"),
                original_tags
            );

            // A restore puts back exactly what was there, flag included.
            let restored_name = format!("restored-{}", kind.cli_name());
            let restore = renamed(&restore_request(&original, &original_tags), &restored_name);
            client
                .create_definition(kind, &restore)
                .await
                .expect("create the restore");
            let restored = client
                .describe_definition(kind, &restored_name)
                .await
                .expect("describe");
            assert_eq!(
                comparable(&restored),
                comparable(&original),
                "{kind}: restore differs"
            );
        }
    });
}

#[test]
fn members_unknown_to_the_sdk_survive_describe_create_describe() {
    let sandbox = Sandbox::start(Seed::default());
    let mut describe = maximal_request(Kind::ModelBias);
    let members = describe.as_object_mut().expect("object");
    members.shift_remove("Tags");
    members.insert("JobDefinitionName".into(), json!("future-model-bias"));
    // A top-level member and a nested one that this SDK version has never heard of.
    members.insert(
        "ModelBiasDriftAlerting".into(),
        json!({"Thresholds": [0.1, 0.25], "Notify": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:drift", "Enabled": true}}),
    );
    members["NetworkConfig"]["EnableTrafficInspection"] = json!("strict");
    members["NetworkConfig"]
        .as_object_mut()
        .expect("object")
        .shift_remove("EnableInterContainerTrafficEncryption");
    sandbox.emulator.put_definition_raw(
        US,
        Kind::ModelBias,
        describe.clone(),
        vec![("team".into(), "ml".into())],
    );

    let client = sandbox.client(US);
    sandbox.block_on(async {
        let original = client
            .describe_definition(Kind::ModelBias, "future-model-bias")
            .await
            .expect("describe");
        assert_eq!(
            original["ModelBiasDriftAlerting"],
            describe["ModelBiasDriftAlerting"]
        );
        let arn = original["JobDefinitionArn"]
            .as_str()
            .expect("arn")
            .to_owned();
        let original_tags = client.list_tags(&arn).await.expect("tags");
        let (request, _) = create_request(&original, &original_tags, Fixes::ENCRYPTION);
        client
            .create_definition(
                Kind::ModelBias,
                &renamed(&request, "future-model-bias-copy"),
            )
            .await
            .expect("create");
        let copy = client
            .describe_definition(Kind::ModelBias, "future-model-bias-copy")
            .await
            .expect("describe");
        assert_eq!(
            copy["ModelBiasDriftAlerting"],
            describe["ModelBiasDriftAlerting"]
        );
        assert_eq!(
            copy["NetworkConfig"],
            json!({
                "EnableNetworkIsolation": describe["NetworkConfig"]["EnableNetworkIsolation"],
                "VpcConfig": describe["NetworkConfig"]["VpcConfig"],
                "EnableTrafficInspection": "strict",
                "EnableInterContainerTrafficEncryption": true,
            })
        );
        assert_eq!(
            comparable(&copy),
            comparable(&with_fixes(&original, Fixes::ENCRYPTION))
        );
    });
    // The emulator stored the create request as sent: proof the SDK did not drop the members.
    let stored = sandbox
        .emulator
        .definition(US, Kind::ModelBias, "future-model-bias-copy")
        .expect("stored");
    assert_eq!(
        stored["ModelBiasDriftAlerting"]["Notify"]["Enabled"],
        json!(true)
    );
}

#[test]
fn list_tags_reads_every_page() {
    let sandbox = Sandbox::start(Seed::default());
    // 50 user tags (the most AWS allows) plus AWS's own, which do not count against the limit:
    // more than one 50-tag page.
    let mut many: Vec<(String, String)> = (0..50)
        .map(|i| (format!("key-{i:02}"), format!("value-{i}")))
        .collect();
    many.push(("aws:cloudformation:stack-name".into(), "stack".into()));
    many.push(("aws:cloudformation:logical-id".into(), "Definition".into()));
    many.push((
        "aws:cloudformation:stack-id".into(),
        "arn:aws:cloudformation:us-east-1:123456789012:stack/stack/1".into(),
    ));
    let exactly_fifty: Vec<(String, String)> = many[..50].to_vec();
    for (name, tags) in [("many-tags", &many), ("fifty-tags", &exactly_fifty)] {
        let mut describe = maximal_request(Kind::DataQuality);
        describe["JobDefinitionName"] = json!(name);
        describe
            .as_object_mut()
            .expect("object")
            .shift_remove("Tags");
        sandbox
            .emulator
            .put_definition_raw(US, Kind::DataQuality, describe, tags.clone());
    }
    let client = sandbox.client(US);
    let arn =
        |name: &str| format!("arn:aws:sagemaker:{US}:{ACCOUNT}:data-quality-job-definition/{name}");

    let listed = sandbox
        .block_on(client.list_tags(&arn("many-tags")))
        .expect("tags");
    assert_eq!(listed, tags(&many), "every tag, in order");
    assert_eq!(sandbox.count("ListTags"), 2, "53 tags take two pages of 50");

    let listed = sandbox
        .block_on(client.list_tags(&arn("fifty-tags")))
        .expect("tags");
    assert_eq!(listed, tags(&exactly_fifty));
    assert_eq!(sandbox.count("ListTags"), 3, "50 tags fit one page");
}

#[test]
fn list_definitions_and_schedules_read_every_page() {
    let definitions = (0..230)
        .map(|i| {
            let mut request = maximal_request(Kind::ModelQuality);
            request["JobDefinitionName"] = json!(format!("mq-{i:03}"));
            seed_definition(US, Kind::ModelQuality, request)
        })
        .collect();
    let mut seed = seed(definitions, Vec::new());
    for i in 0..105 {
        seed.schedules.push(support::seed_schedule(
            US,
            &format!("schedule-{i:03}"),
            Kind::ModelQuality,
            &format!("mq-{:03}", i % 3),
        ));
    }
    let sandbox = Sandbox::start(seed);
    let client = sandbox.client(US);
    let listed = sandbox
        .block_on(client.list_definitions(Kind::ModelQuality))
        .expect("list");
    let mut names: Vec<String> = listed.iter().map(|s| s.name.clone()).collect();
    names.sort();
    let expected: Vec<String> = (0..230).map(|i| format!("mq-{i:03}")).collect();
    assert_eq!(names, expected, "every definition exactly once");
    assert!(listed.iter().all(|s| {
        s.arn
            .ends_with(&format!("model-quality-job-definition/{}", s.name))
    }));
    assert_eq!(sandbox.count("ListModelQualityJobDefinitions"), 3);
    assert!(
        sandbox
            .block_on(client.list_definitions(Kind::ModelBias))
            .expect("list")
            .is_empty()
    );

    let schedules = sandbox
        .block_on(client.list_schedules(None))
        .expect("schedules");
    assert_eq!(schedules.len(), 105);
    assert_eq!(sandbox.count("ListMonitoringSchedules"), 2);
    let on_first = schedules
        .iter()
        .filter(|s| s.definition_name.as_deref() == Some("mq-000"))
        .count();
    assert_eq!(on_first, 35);
    assert!(
        schedules
            .iter()
            .all(|s| s.monitoring_type.as_deref() == Some("ModelQuality"))
    );
    assert!(schedules.iter().all(|s| s.status == "Scheduled"));
}

#[test]
fn errors_are_classified_into_what_the_tool_acts_on() {
    let sandbox = Sandbox::start(seed(
        vec![seed_definition(
            US,
            Kind::DataQuality,
            maximal_request(Kind::DataQuality),
        )],
        Vec::new(),
    ));
    let client = sandbox.client(US);
    sandbox.block_on(async {
        let missing = client
            .describe_definition(Kind::DataQuality, "no-such-definition")
            .await
            .expect_err("missing");
        assert_eq!(missing.class, ErrorClass::NotFound, "{missing}");
        assert_eq!(missing.operation, "DescribeDataQualityJobDefinition");

        let missing = client
            .delete_definition(Kind::ModelBias, "no-such-definition")
            .await
            .expect_err("missing");
        assert_eq!(missing.class, ErrorClass::NotFound, "{missing}");

        let missing = client
            .list_tags(&format!(
                "arn:aws:sagemaker:{US}:{ACCOUNT}:data-quality-job-definition/no-such-definition"
            ))
            .await
            .expect_err("missing");
        assert_eq!(missing.class, ErrorClass::NotFound, "{missing}");

        let duplicate = client
            .create_definition(Kind::DataQuality, &maximal_request(Kind::DataQuality))
            .await
            .expect_err("duplicate");
        assert_eq!(duplicate.class, ErrorClass::InUse, "{duplicate}");
        assert_eq!(duplicate.code.as_deref(), Some("ResourceInUse"));

        let bad_name = renamed(&maximal_request(Kind::DataQuality), "bad_name!");
        let invalid = client
            .create_definition(Kind::DataQuality, &bad_name)
            .await
            .expect_err("invalid");
        assert_eq!(invalid.class, ErrorClass::Validation, "{invalid}");
        assert_eq!(invalid.code.as_deref(), Some("ValidationException"));
        assert!(
            invalid
                .to_string()
                .contains("CreateDataQualityJobDefinition failed"),
            "{invalid}"
        );

        let mut reserved = renamed(&maximal_request(Kind::DataQuality), "reserved-tags");
        reserved["Tags"] = json!([{"Key": "aws:cloudformation:stack-name", "Value": "s"}]);
        let invalid = client
            .create_definition(Kind::DataQuality, &reserved)
            .await
            .expect_err("aws: tags");
        assert_eq!(invalid.class, ErrorClass::Validation, "{invalid}");
    });
    assert_eq!(
        sandbox.emulator.definition_names(US, Kind::DataQuality),
        ["maximal-data-quality"]
    );
}
