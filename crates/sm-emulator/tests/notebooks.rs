//! Notebook instances, driven through the real `aws-sdk-sagemaker` client over HTTP: the
//! statuses and transitions, update only while stopped, members not sent left alone, listing
//! with paging and filters, tags, faults, and seeded notebooks.

use std::time::Duration;

use aws_sdk_sagemaker::types::{
    DirectInternetAccess, InstanceMetadataServiceConfiguration, InstanceType,
    NotebookInstanceSortKey, NotebookInstanceSortOrder, NotebookInstanceStatus, RootAccess, Tag,
};
use serde_json::{Value, json};
use sm_emulator::{Behaviour, EmulatorConfig, FaultRule, Seed, SeedNotebook};
use sm_testkit::{ACCOUNT, Failure, REGION, client, failure, start_emulator, with_faults};

const ROLE: &str = "arn:aws:iam::123456789012:role/service-role/notebooks";

/// Long enough that a call right after a change sees the passing status.
fn slow_transitions() -> Behaviour {
    Behaviour {
        notebook_transition: Duration::from_millis(500),
        ..Behaviour::default()
    }
}

fn notebook_arn(name: &str) -> String {
    format!(
        "arn:aws:sagemaker:{REGION}:{ACCOUNT}:notebook-instance/{}",
        name.to_ascii_lowercase()
    )
}

async fn create_notebook(
    client: &aws_sdk_sagemaker::Client,
    name: &str,
) -> Result<String, Failure> {
    client
        .create_notebook_instance()
        .notebook_instance_name(name)
        .instance_type(InstanceType::MlT3Medium)
        .role_arn(ROLE)
        .send()
        .await
        .map(|output| {
            output
                .notebook_instance_arn()
                .unwrap_or_default()
                .to_owned()
        })
        .map_err(failure)
}

async fn status(client: &aws_sdk_sagemaker::Client, name: &str) -> NotebookInstanceStatus {
    client
        .describe_notebook_instance()
        .notebook_instance_name(name)
        .send()
        .await
        .expect("describe")
        .notebook_instance_status()
        .cloned()
        .expect("status present")
}

/// Polls until the notebook reaches `wanted`; panics after a generous bound.
async fn wait_for(client: &aws_sdk_sagemaker::Client, name: &str, wanted: NotebookInstanceStatus) {
    for _ in 0..1000 {
        if status(client, name).await == wanted {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{name} never reached {wanted:?}");
}

async fn stop(client: &aws_sdk_sagemaker::Client, name: &str) -> Result<(), Failure> {
    client
        .stop_notebook_instance()
        .notebook_instance_name(name)
        .send()
        .await
        .map(|_| ())
        .map_err(failure)
}

async fn start(client: &aws_sdk_sagemaker::Client, name: &str) -> Result<(), Failure> {
    client
        .start_notebook_instance()
        .notebook_instance_name(name)
        .send()
        .await
        .map(|_| ())
        .map_err(failure)
}

fn last_modified(describe: &Value) -> f64 {
    describe["LastModifiedTime"]
        .as_f64()
        .expect("LastModifiedTime")
}

/// The describe JSON without the members that move as a notebook starts, stops and updates.
fn settings(describe: &Value) -> Value {
    let mut settings = describe.clone();
    let members = settings.as_object_mut().expect("object");
    for member in [
        "NotebookInstanceStatus",
        "FailureReason",
        "LastModifiedTime",
        "NetworkInterfaceId",
        "Url",
    ] {
        members.remove(member);
    }
    settings
}

#[tokio::test]
async fn a_notebook_goes_pending_in_service_stopping_stopped_and_back() {
    let emulator = start_emulator(Seed::default(), slow_transitions()).await;
    let client = client(&emulator, REGION);
    let arn = create_notebook(&client, "Analysis").await.expect("create");
    assert_eq!(arn, notebook_arn("Analysis"));
    assert_eq!(
        status(&client, "analysis").await,
        NotebookInstanceStatus::Pending
    );
    let created = emulator.notebook(REGION, "Analysis").expect("stored");
    assert_eq!(created["NotebookInstanceName"], "Analysis");
    assert_eq!(created["RootAccess"], "Enabled");
    assert_eq!(created["DirectInternetAccess"], "Enabled");
    assert_eq!(created["VolumeSizeInGB"], 5);
    assert_eq!(created["PlatformIdentifier"], "notebook-al2-v2");
    assert_eq!(
        created["InstanceMetadataServiceConfiguration"]["MinimumInstanceMetadataServiceVersion"],
        "1"
    );
    assert_eq!(created["Url"], "analysis.notebook.us-east-1.sagemaker.aws");
    for absent in [
        "NetworkInterfaceId",
        "SubnetId",
        "SecurityGroups",
        "KmsKeyId",
        "FailureReason",
    ] {
        assert!(
            created.get(absent).is_none(),
            "{absent} without a VPC or a key"
        );
    }

    let refused = stop(&client, "Analysis").await.expect_err("pending");
    assert_eq!(refused.code(), "ValidationException");
    assert_eq!(
        refused.message.as_deref(),
        Some(
            format!(
                "Status (Pending) not in ([InService]). Unable to transition to (Stopping) for Notebook Instance ({arn})."
            )
            .as_str()
        )
    );
    wait_for(&client, "Analysis", NotebookInstanceStatus::InService).await;
    let in_service = emulator.notebook(REGION, "Analysis").expect("stored");
    assert!(last_modified(&in_service) > last_modified(&created));

    let refused = start(&client, "Analysis").await.expect_err("running");
    assert!(
        refused
            .message
            .as_deref()
            .is_some_and(|m| m.starts_with("Status (InService) not in ([Stopped, Failed])")),
        "{refused:?}"
    );
    stop(&client, "Analysis").await.expect("stop");
    assert_eq!(
        status(&client, "Analysis").await,
        NotebookInstanceStatus::Stopping
    );
    let stopping = emulator.notebook(REGION, "Analysis").expect("stored");
    assert!(last_modified(&stopping) > last_modified(&in_service));
    assert!(stop(&client, "Analysis").await.is_err(), "already stopping");
    wait_for(&client, "Analysis", NotebookInstanceStatus::Stopped).await;
    let stopped = emulator.notebook(REGION, "Analysis").expect("stored");
    assert!(last_modified(&stopped) > last_modified(&stopping));
    assert_eq!(
        settings(&stopped),
        settings(&created),
        "stopping changes no setting"
    );

    start(&client, "Analysis").await.expect("start");
    assert_eq!(
        status(&client, "Analysis").await,
        NotebookInstanceStatus::Pending
    );
    wait_for(&client, "Analysis", NotebookInstanceStatus::InService).await;
    emulator.shutdown().await;
}

#[tokio::test]
async fn delete_needs_a_stopped_notebook_and_then_it_is_gone() {
    let emulator = start_emulator(Seed::default(), slow_transitions()).await;
    let client = client(&emulator, REGION);
    create_notebook(&client, "scratch").await.expect("create");
    wait_for(&client, "scratch", NotebookInstanceStatus::InService).await;
    let delete = || {
        client
            .delete_notebook_instance()
            .notebook_instance_name("scratch")
            .send()
    };
    let refused = delete().await.map_err(failure).expect_err("running");
    assert!(
        refused
            .message
            .as_deref()
            .is_some_and(|m| m.contains("Unable to transition to (Deleting)")),
        "{refused:?}"
    );
    stop(&client, "scratch").await.expect("stop");
    wait_for(&client, "scratch", NotebookInstanceStatus::Stopped).await;
    delete().await.expect("delete");
    assert_eq!(
        emulator.notebook_status(REGION, "scratch").as_deref(),
        Some("Deleting")
    );
    for _ in 0..1000 {
        if emulator.notebook(REGION, "scratch").is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let gone = client
        .describe_notebook_instance()
        .notebook_instance_name("scratch")
        .send()
        .await
        .map_err(failure)
        .expect_err("gone");
    assert_eq!(gone.code(), "ValidationException");
    assert_eq!(gone.message.as_deref(), Some("RecordNotFound"));
    emulator.shutdown().await;
}

#[tokio::test]
async fn an_update_is_refused_unless_stopped_and_changes_only_what_it_is_sent() {
    let emulator = start_emulator(Seed::default(), slow_transitions()).await;
    let client = client(&emulator, REGION);
    client
        .create_notebook_instance()
        .notebook_instance_name("team-nb")
        .instance_type(InstanceType::MlT3Large)
        .role_arn(ROLE)
        .subnet_id("subnet-0a1b2c3d")
        .security_group_ids("sg-0a1b2c3d")
        .kms_key_id("arn:aws:kms:us-east-1:123456789012:key/abcd-1234")
        .lifecycle_config_name("install-packages")
        .direct_internet_access(DirectInternetAccess::Disabled)
        .volume_size_in_gb(50)
        .default_code_repository("https://github.com/example/models.git")
        .additional_code_repositories("shared-utils")
        .platform_identifier("notebook-al2-v3")
        .instance_metadata_service_configuration(
            InstanceMetadataServiceConfiguration::builder()
                .minimum_instance_metadata_service_version("2")
                .build(),
        )
        .send()
        .await
        .expect("create");
    let created = emulator.notebook(REGION, "team-nb").expect("stored");
    assert_eq!(created["SecurityGroups"], json!(["sg-0a1b2c3d"]));
    assert!(
        created["NetworkInterfaceId"]
            .as_str()
            .is_some_and(|id| id.starts_with("eni-")),
        "a notebook in a VPC has a network interface"
    );
    wait_for(&client, "team-nb", NotebookInstanceStatus::InService).await;

    let update_root_access = || {
        client
            .update_notebook_instance()
            .notebook_instance_name("team-nb")
            .root_access(RootAccess::Disabled)
            .send()
    };
    let refused = update_root_access()
        .await
        .map_err(failure)
        .expect_err("in service");
    assert_eq!(refused.code(), "ValidationException");
    assert_eq!(
        refused.message.as_deref(),
        Some(
            format!(
                "Status (InService) not in ([Stopped]). Unable to transition to (Updating) for Notebook Instance ({}).",
                notebook_arn("team-nb")
            )
            .as_str()
        )
    );
    assert_eq!(
        emulator.notebook(REGION, "team-nb").expect("stored")["RootAccess"],
        "Enabled",
        "a refused update changes nothing"
    );

    stop(&client, "team-nb").await.expect("stop");
    wait_for(&client, "team-nb", NotebookInstanceStatus::Stopped).await;
    let before = emulator.notebook(REGION, "team-nb").expect("stored");
    update_root_access().await.expect("update");
    assert_eq!(
        status(&client, "team-nb").await,
        NotebookInstanceStatus::Updating
    );
    assert!(
        stop(&client, "team-nb").await.is_err() && start(&client, "team-nb").await.is_err(),
        "an updating notebook can be neither stopped nor started"
    );
    wait_for(&client, "team-nb", NotebookInstanceStatus::Stopped).await;
    let after = emulator.notebook(REGION, "team-nb").expect("stored");
    assert!(last_modified(&after) > last_modified(&before));
    let mut expected = settings(&before);
    expected["RootAccess"] = json!("Disabled");
    assert_eq!(settings(&after), expected, "only RootAccess changed");

    // Several members at once, a flag that removes one, and the volume that only grows.
    let shrink = client
        .update_notebook_instance()
        .notebook_instance_name("team-nb")
        .volume_size_in_gb(20)
        .send()
        .await
        .map_err(failure)
        .expect_err("a volume does not shrink");
    assert_eq!(shrink.code(), "ValidationException");
    client
        .update_notebook_instance()
        .notebook_instance_name("team-nb")
        .instance_type(InstanceType::MlM5Xlarge)
        .volume_size_in_gb(80)
        .disassociate_lifecycle_config(true)
        .send()
        .await
        .expect("update");
    wait_for(&client, "team-nb", NotebookInstanceStatus::Stopped).await;
    let updated = emulator.notebook(REGION, "team-nb").expect("stored");
    let mut expected = settings(&after);
    expected["InstanceType"] = json!("ml.m5.xlarge");
    expected["VolumeSizeInGB"] = json!(80);
    expected
        .as_object_mut()
        .expect("object")
        .remove("NotebookInstanceLifecycleConfigName");
    assert_eq!(settings(&updated), expected);
    emulator.shutdown().await;
}

#[tokio::test]
async fn create_follows_the_documented_rules() {
    let emulator = start_emulator(Seed::default(), Behaviour::default()).await;
    let client = client(&emulator, REGION);
    let private_without_subnet = client
        .create_notebook_instance()
        .notebook_instance_name("private")
        .instance_type(InstanceType::MlT3Medium)
        .role_arn(ROLE)
        .direct_internet_access(DirectInternetAccess::Disabled)
        .send()
        .await
        .map_err(failure)
        .expect_err("needs a subnet");
    assert_eq!(private_without_subnet.code(), "ValidationException");
    let bad_name = create_notebook(&client, "bad_name")
        .await
        .expect_err("name");
    assert!(
        bad_name
            .message
            .as_deref()
            .is_some_and(|m| m.contains("at 'notebookInstanceName'")),
        "{bad_name:?}"
    );
    create_notebook(&client, "Once").await.expect("create");
    let duplicate = create_notebook(&client, "once")
        .await
        .expect_err("duplicate");
    assert_eq!(duplicate.code(), "ValidationException");
    let unknown = stop(&client, "never-created").await.expect_err("unknown");
    assert_eq!(
        (unknown.code(), unknown.message.as_deref()),
        ("ValidationException", Some("RecordNotFound"))
    );
    assert_eq!(emulator.notebook_names(REGION), ["Once"]);
    emulator.shutdown().await;
}

#[tokio::test]
async fn listing_pages_filters_and_sorts_by_name_by_default() {
    let emulator = start_emulator(Seed::default(), slow_transitions()).await;
    let client = client(&emulator, REGION);
    let mut names: Vec<String> = (0..23).map(|n| format!("nb-{n:02}")).collect();
    for name in &names {
        create_notebook(&client, name).await.expect("create");
    }
    create_notebook(&client, "other").await.expect("create");
    wait_for(&client, "nb-03", NotebookInstanceStatus::InService).await;
    stop(&client, "nb-03").await.expect("stop");

    let mut listed = Vec::new();
    let mut token = None;
    let mut pages = 0;
    loop {
        let output = client
            .list_notebook_instances()
            .name_contains("NB-")
            .max_results(10)
            .set_next_token(token.take())
            .send()
            .await
            .expect("list");
        pages += 1;
        listed.extend(
            output
                .notebook_instances()
                .iter()
                .map(|n| n.notebook_instance_name().unwrap_or_default().to_owned()),
        );
        match output.next_token() {
            Some(next) => token = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    // By Name (documented), descending (the emulator's guess for an undocumented order).
    names.sort();
    names.reverse();
    assert_eq!(listed, names);

    let ascending = client
        .list_notebook_instances()
        .sort_by(NotebookInstanceSortKey::Name)
        .sort_order(NotebookInstanceSortOrder::Ascending)
        .max_results(2)
        .send()
        .await
        .expect("list");
    let first: Vec<_> = ascending
        .notebook_instances()
        .iter()
        .map(|n| n.notebook_instance_name().unwrap_or_default())
        .collect();
    assert_eq!(first, ["nb-00", "nb-01"]);

    let stopping = client
        .list_notebook_instances()
        .status_equals(NotebookInstanceStatus::Stopping)
        .send()
        .await
        .expect("list");
    let summary = &stopping.notebook_instances()[0];
    assert_eq!(stopping.notebook_instances().len(), 1);
    assert_eq!(summary.notebook_instance_name(), Some("nb-03"));
    assert_eq!(
        summary.notebook_instance_arn(),
        Some(notebook_arn("nb-03").as_str())
    );
    assert_eq!(summary.instance_type(), Some(&InstanceType::MlT3Medium));

    let bad = client
        .list_notebook_instances()
        .name_contains("nb_0")
        .send()
        .await
        .map_err(failure)
        .expect_err("pattern");
    assert_eq!(bad.code(), "ValidationException");
    emulator.shutdown().await;
}

#[tokio::test]
async fn tags_are_created_listed_added_and_deleted_on_a_notebook_arn() {
    let emulator = start_emulator(Seed::default(), Behaviour::default()).await;
    let client = client(&emulator, REGION);
    let tag = |key: &str, value: &str| Tag::builder().key(key).value(value).build();
    let arn = client
        .create_notebook_instance()
        .notebook_instance_name("tagged")
        .instance_type(InstanceType::MlT3Medium)
        .role_arn(ROLE)
        .tags(tag("team", "ml"))
        .tags(tag("owner", "ana"))
        .send()
        .await
        .expect("create")
        .notebook_instance_arn()
        .expect("arn")
        .to_owned();
    let reserved = client
        .create_notebook_instance()
        .notebook_instance_name("reserved")
        .instance_type(InstanceType::MlT3Medium)
        .role_arn(ROLE)
        .tags(tag("aws:cloudformation:stack-name", "x"))
        .send()
        .await
        .map_err(failure)
        .expect_err("aws: tags are reserved");
    assert_eq!(reserved.code(), "ValidationException");

    client
        .add_tags()
        .resource_arn(&arn)
        .tags(tag("team", "research"))
        .tags(tag("cost-center", "42"))
        .send()
        .await
        .expect("add");
    client
        .delete_tags()
        .resource_arn(&arn)
        .tag_keys("owner")
        .tag_keys("not-there")
        .send()
        .await
        .expect("delete");
    let listed: Vec<(String, String)> = client
        .list_tags()
        .resource_arn(&arn)
        .send()
        .await
        .expect("list")
        .tags()
        .iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_owned(),
                t.value().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let expected = vec![
        ("team".to_owned(), "research".to_owned()),
        ("cost-center".to_owned(), "42".to_owned()),
    ];
    assert_eq!(listed, expected);
    assert_eq!(emulator.notebook_tags(REGION, "tagged"), Some(expected));
    assert!(
        emulator
            .notebook(REGION, "tagged")
            .expect("stored")
            .get("Tags")
            .is_none(),
        "describe carries no tags"
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_stop_whose_answer_is_lost_still_stops_and_the_call_is_recorded() {
    let emulator = start_emulator(
        Seed::default(),
        Behaviour {
            notebook_transition: Duration::from_millis(50),
            ..with_faults(vec![FaultRule {
                operation: "StopNotebookInstance".to_owned(),
                name: Some("lost-*".to_owned()),
                drop_connection: true,
                after: true,
                ..FaultRule::default()
            }])
        },
    )
    .await;
    let client = client(&emulator, REGION);
    for name in ["lost-answer", "kept-answer"] {
        create_notebook(&client, name).await.expect("create");
        wait_for(&client, name, NotebookInstanceStatus::InService).await;
    }
    let lost = stop(&client, "lost-answer").await.expect_err("no answer");
    assert!(lost.dispatch || lost.code.is_none(), "{lost:?}");
    wait_for(&client, "lost-answer", NotebookInstanceStatus::Stopped).await;
    stop(&client, "kept-answer")
        .await
        .expect("not matched by the rule");

    let stops: Vec<(Option<String>, String)> = emulator
        .calls()
        .into_iter()
        .filter(|call| call.operation == "StopNotebookInstance")
        .map(|call| (call.name, call.outcome))
        .collect();
    assert_eq!(
        stops,
        [
            (Some("lost-answer".to_owned()), "dropped".to_owned()),
            (Some("kept-answer".to_owned()), "ok".to_owned()),
        ]
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn an_error_fault_on_update_changes_nothing() {
    let emulator = start_emulator(
        Seed {
            notebooks: vec![seed_notebook("guarded", Some("Stopped"), None)],
            ..Seed::default()
        },
        with_faults(vec![sm_testkit::error_rule(
            "UpdateNotebookInstance",
            Some("guarded"),
            "InternalFailure",
        )]),
    )
    .await;
    let client = client(&emulator, REGION);
    let refused = client
        .update_notebook_instance()
        .notebook_instance_name("guarded")
        .root_access(RootAccess::Disabled)
        .send()
        .await
        .map_err(failure)
        .expect_err("fault");
    assert_eq!(refused.code(), "InternalFailure");
    let described = emulator.notebook(REGION, "guarded").expect("stored");
    assert_eq!(
        (
            &described["NotebookInstanceStatus"],
            &described["RootAccess"]
        ),
        (&json!("Stopped"), &json!("Enabled"))
    );
    emulator.shutdown().await;
}

fn seed_notebook(name: &str, status: Option<&str>, failure_reason: Option<&str>) -> SeedNotebook {
    SeedNotebook {
        account_id: None,
        region: REGION.to_owned(),
        request: json!({
            "NotebookInstanceName": name,
            "InstanceType": "ml.t3.medium",
            "RoleArn": ROLE,
            "Tags": [{"Key": "aws:cloudformation:stack-name", "Value": "notebooks"}],
        }),
        status: status.map(str::to_owned),
        failure_reason: failure_reason.map(str::to_owned),
    }
}

#[tokio::test]
async fn seeded_notebooks_start_settled_in_their_status() {
    let seed = Seed {
        notebooks: vec![
            seed_notebook("running", None, None),
            seed_notebook("parked", Some("Stopped"), None),
            seed_notebook("broken", Some("Failed"), Some("Lifecycle config timed out")),
            SeedNotebook {
                region: "eu-west-1".to_owned(),
                ..seed_notebook("elsewhere", Some("Stopped"), None)
            },
        ],
        ..Seed::default()
    };
    let emulator = start_emulator(seed, slow_transitions()).await;
    let client = client(&emulator, REGION);
    assert_eq!(
        status(&client, "running").await,
        NotebookInstanceStatus::InService
    );
    assert_eq!(
        status(&client, "parked").await,
        NotebookInstanceStatus::Stopped
    );
    let broken = client
        .describe_notebook_instance()
        .notebook_instance_name("broken")
        .send()
        .await
        .expect("describe");
    assert_eq!(
        broken.notebook_instance_status(),
        Some(&NotebookInstanceStatus::Failed)
    );
    assert_eq!(broken.failure_reason(), Some("Lifecycle config timed out"));
    assert_eq!(
        emulator.notebook_tags(REGION, "running"),
        Some(vec![(
            "aws:cloudformation:stack-name".to_owned(),
            "notebooks".to_owned()
        )]),
        "a seed may carry aws: tags"
    );
    assert_eq!(
        emulator.notebook_names(REGION),
        ["broken", "parked", "running"]
    );
    assert_eq!(
        emulator
            .notebook_status("eu-west-1", "elsewhere")
            .as_deref(),
        Some("Stopped")
    );

    // A failed notebook starts again, and the reason goes once it is in service.
    start(&client, "broken").await.expect("start");
    wait_for(&client, "broken", NotebookInstanceStatus::InService).await;
    assert!(
        emulator
            .notebook(REGION, "broken")
            .expect("stored")
            .get("FailureReason")
            .is_none()
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_seeded_notebook_in_a_passing_status_or_a_reason_without_failure_is_rejected() {
    for notebook in [
        seed_notebook("pending", Some("Pending"), None),
        seed_notebook("reasoned", Some("Stopped"), Some("why")),
    ] {
        let config = EmulatorConfig {
            seed: Seed {
                notebooks: vec![notebook],
                ..Seed::default()
            },
            behaviour: Behaviour::default(),
        };
        let error = sm_emulator::start(config, "127.0.0.1:0".parse().expect("addr"))
            .await
            .expect_err("rejected");
        assert!(error.to_string().contains("notebooks[0]"), "{error}");
    }
}

#[tokio::test]
async fn the_demo_account_has_running_stopped_and_internet_facing_notebooks() {
    let emulator = start_emulator(Seed::demo(), Behaviour::default()).await;
    let statuses: Vec<(String, String, String, bool)> = emulator
        .notebook_names(REGION)
        .into_iter()
        .map(|name| {
            let describe = emulator.notebook(REGION, &name).expect("stored");
            let text = |member: &str| describe[member].as_str().unwrap_or_default().to_owned();
            (
                text("NotebookInstanceStatus"),
                text("RootAccess"),
                text("DirectInternetAccess"),
                describe.get("SubnetId").is_some(),
            )
        })
        .collect();
    assert!(statuses.contains(&(
        "InService".into(),
        "Enabled".into(),
        "Disabled".into(),
        true
    )));
    assert!(statuses.contains(&("Stopped".into(), "Enabled".into(), "Disabled".into(), true)));
    assert!(
        statuses
            .iter()
            .any(|(_, _, internet, subnet)| internet == "Enabled" && !subnet)
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_rule_for_every_operation_and_the_throttle_reach_notebook_calls_too() {
    let emulator = start_emulator(
        Seed {
            notebooks: vec![seed_notebook("busy", None, None)],
            ..Seed::default()
        },
        with_faults(vec![sm_testkit::error_rule(
            "*",
            Some("busy"),
            "ServiceUnavailable",
        )]),
    )
    .await;
    let client = client(&emulator, REGION);
    let unavailable = stop(&client, "busy").await.expect_err("fault");
    assert_eq!(
        (unavailable.code(), unavailable.status),
        ("ServiceUnavailable", Some(503))
    );
    assert_eq!(
        emulator.notebook_status(REGION, "busy").as_deref(),
        Some("InService")
    );

    emulator.set_behaviour(Behaviour {
        throttle: Some(sm_emulator::Throttle {
            rate_per_second: 0.001,
            burst: 1,
        }),
        ..Behaviour::default()
    });
    client
        .list_notebook_instances()
        .send()
        .await
        .expect("the burst admits one call");
    let throttled = stop(&client, "busy").await.expect_err("throttled");
    assert_eq!(throttled.code(), "ThrottlingException");
    assert_eq!(
        emulator.notebook_status(REGION, "busy").as_deref(),
        Some("InService")
    );
    emulator.shutdown().await;
}
