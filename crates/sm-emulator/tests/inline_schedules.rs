//! Monitoring schedules that carry their `MonitoringJobDefinition` inline (what SageMaker.14 and
//! SageMaker.22 check), driven through the real `aws-sdk-sagemaker` client over HTTP: created,
//! described and listed as sent, updated in place or refused as the behaviour says (AWS-FACTS
//! #15), and validated member by member.

mod support;

use std::time::Duration;

use aws_sdk_sagemaker::types::{
    MonitoringInput, MonitoringScheduleConfig, MonitoringType, NetworkConfig, ScheduleStatus,
    VpcConfig,
};
use serde_json::json;
use sm_emulator::{Behaviour, InlineNetworkConfigUpdates, Seed};
use sm_kinds::Kind;
use sm_testkit::{REGION, client, create_definition, failure, start_emulator};
use support::{
    inline_config, inline_definition, inline_flags, minimal_request, raw_call, schedule_config,
    schedule_status, start_empty, wait_for_schedule_status,
};

const INLINE: &str = "monitoringScheduleConfig.monitoringJobDefinition";

fn behaviour(updates: InlineNetworkConfigUpdates, transition: Duration) -> Behaviour {
    Behaviour {
        inline_network_config_updates: updates,
        schedule_transition: transition,
        ..Behaviour::default()
    }
}

/// The described configuration with the inline definition's `NetworkConfig` replaced: what the
/// tool sends, since an update replaces the whole configuration (AWS-FACTS #5).
fn with_network(
    config: &MonitoringScheduleConfig,
    encryption: bool,
    isolation: bool,
) -> MonitoringScheduleConfig {
    let mut config = config.clone();
    let definition = config
        .monitoring_job_definition
        .as_mut()
        .expect("inline definition");
    definition.network_config = Some(
        NetworkConfig::builder()
            .enable_inter_container_traffic_encryption(encryption)
            .enable_network_isolation(isolation)
            .build(),
    );
    config
}

async fn describe(
    client: &aws_sdk_sagemaker::Client,
    name: &str,
) -> aws_sdk_sagemaker::operation::describe_monitoring_schedule::DescribeMonitoringScheduleOutput {
    client
        .describe_monitoring_schedule()
        .monitoring_schedule_name(name)
        .send()
        .await
        .expect("describe schedule")
}

#[tokio::test]
async fn an_inline_schedule_is_created_described_listed_and_updated_in_place() {
    let emulator = start_emulator(
        Seed::default(),
        behaviour(
            InlineNetworkConfigUpdates::Allowed,
            Duration::from_millis(200),
        ),
    )
    .await;
    let client = client(&emulator, REGION);
    client
        .create_monitoring_schedule()
        .monitoring_schedule_name("churn-inline-hourly")
        .monitoring_schedule_config(inline_config(inline_definition(
            Some(false),
            Some(false),
            2,
        )))
        .send()
        .await
        .expect("create");

    let described = describe(&client, "churn-inline-hourly").await;
    assert_eq!(
        described.monitoring_schedule_status(),
        Some(&ScheduleStatus::Pending)
    );
    assert_eq!(described.endpoint_name(), Some("churn-endpoint"));
    assert_eq!(
        described.monitoring_type(),
        Some(&MonitoringType::DataQuality)
    );
    let config = described
        .monitoring_schedule_config()
        .expect("configuration")
        .clone();
    assert_eq!(config.monitoring_job_definition_name(), None);
    let definition = config
        .monitoring_job_definition()
        .expect("the inline definition is described");
    assert_eq!(
        definition,
        &inline_definition(Some(false), Some(false), 2),
        "returned as sent, with no defaults invented"
    );
    assert_eq!(inline_flags(&described), (Some(false), Some(false)));

    let listed = client
        .list_monitoring_schedules()
        .send()
        .await
        .expect("list");
    let [summary] = listed.monitoring_schedule_summaries() else {
        panic!("one schedule listed: {listed:?}");
    };
    assert_eq!(
        summary.monitoring_schedule_name(),
        Some("churn-inline-hourly")
    );
    assert_eq!(summary.monitoring_job_definition_name(), None);
    assert_eq!(summary.endpoint_name(), Some("churn-endpoint"));

    wait_for_schedule_status(&client, "churn-inline-hourly", ScheduleStatus::Scheduled).await;
    let before = describe(&client, "churn-inline-hourly").await;
    client
        .update_monitoring_schedule()
        .monitoring_schedule_name("churn-inline-hourly")
        .monitoring_schedule_config(with_network(&config, true, true))
        .send()
        .await
        .expect("update in place");
    let updated = describe(&client, "churn-inline-hourly").await;
    assert_eq!(
        updated.monitoring_schedule_status(),
        Some(&ScheduleStatus::Pending)
    );
    assert_eq!(inline_flags(&updated), (Some(true), Some(true)));
    assert!(updated.last_modified_time() > before.last_modified_time());
    assert_eq!(updated.creation_time(), before.creation_time());
    wait_for_schedule_status(&client, "churn-inline-hourly", ScheduleStatus::Scheduled).await;

    // A stopped schedule goes through Pending and stays stopped.
    client
        .stop_monitoring_schedule()
        .monitoring_schedule_name("churn-inline-hourly")
        .send()
        .await
        .expect("stop");
    client
        .update_monitoring_schedule()
        .monitoring_schedule_name("churn-inline-hourly")
        .monitoring_schedule_config(with_network(&config, false, true))
        .send()
        .await
        .expect("update while stopped");
    assert_eq!(
        schedule_status(&client, "churn-inline-hourly").await,
        ScheduleStatus::Pending
    );
    wait_for_schedule_status(&client, "churn-inline-hourly", ScheduleStatus::Stopped).await;
    assert_eq!(
        inline_flags(&describe(&client, "churn-inline-hourly").await),
        (Some(false), Some(true))
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_refused_network_config_update_changes_nothing() {
    let emulator = start_emulator(
        Seed::default(),
        behaviour(InlineNetworkConfigUpdates::Refused, Duration::ZERO),
    )
    .await;
    let client = client(&emulator, REGION);
    client
        .create_monitoring_schedule()
        .monitoring_schedule_name("churn-inline-hourly")
        .monitoring_schedule_config(inline_config(inline_definition(
            Some(false),
            Some(false),
            2,
        )))
        .send()
        .await
        .expect("create");
    wait_for_schedule_status(&client, "churn-inline-hourly", ScheduleStatus::Scheduled).await;
    let before = emulator
        .schedule(REGION, "churn-inline-hourly")
        .expect("stored");
    let config = describe(&client, "churn-inline-hourly")
        .await
        .monitoring_schedule_config()
        .expect("configuration")
        .clone();

    let refused = client
        .update_monitoring_schedule()
        .monitoring_schedule_name("churn-inline-hourly")
        .monitoring_schedule_config(with_network(&config, true, false))
        .send()
        .await
        .map_err(failure)
        .expect_err("refused");
    assert_eq!(refused.code(), "ValidationException");
    assert_eq!(refused.status, Some(400));
    assert_eq!(
        refused.message.as_deref(),
        Some(
            "Cannot update NetworkConfig of MonitoringJobDefinition for Monitoring Schedule arn:aws:sagemaker:us-east-1:123456789012:monitoring-schedule/churn-inline-hourly. Delete and recreate the monitoring schedule to change it."
        )
    );
    assert_eq!(
        emulator.schedule(REGION, "churn-inline-hourly"),
        Some(before.clone()),
        "nothing changed, not even the status or LastModifiedTime"
    );

    // The same NetworkConfig with a new schedule expression: allowed.
    let mut same_network = with_network(&config, false, false);
    same_network.schedule_config = Some(
        aws_sdk_sagemaker::types::ScheduleConfig::builder()
            .schedule_expression("cron(0 0 ? * * *)")
            .build(),
    );
    client
        .update_monitoring_schedule()
        .monitoring_schedule_name("churn-inline-hourly")
        .monitoring_schedule_config(same_network)
        .send()
        .await
        .expect("NetworkConfig unchanged");
    wait_for_schedule_status(&client, "churn-inline-hourly", ScheduleStatus::Scheduled).await;

    // Moving to a named definition changes no inline NetworkConfig, so it is not refused.
    create_definition(
        &client,
        Kind::DataQuality,
        &minimal_request(Kind::DataQuality, "churn-data-quality", "churn-endpoint"),
    )
    .await
    .expect("create definition");
    client
        .update_monitoring_schedule()
        .monitoring_schedule_name("churn-inline-hourly")
        .monitoring_schedule_config(schedule_config("churn-data-quality", Kind::DataQuality))
        .send()
        .await
        .expect("switch to a named definition");
    wait_for_schedule_status(&client, "churn-inline-hourly", ScheduleStatus::Scheduled).await;

    // The behaviour can be changed while serving.
    client
        .update_monitoring_schedule()
        .monitoring_schedule_name("churn-inline-hourly")
        .monitoring_schedule_config(config.clone())
        .send()
        .await
        .expect("back to the inline definition");
    wait_for_schedule_status(&client, "churn-inline-hourly", ScheduleStatus::Scheduled).await;
    emulator.set_behaviour(behaviour(
        InlineNetworkConfigUpdates::Allowed,
        Duration::ZERO,
    ));
    client
        .update_monitoring_schedule()
        .monitoring_schedule_name("churn-inline-hourly")
        .monitoring_schedule_config(with_network(&config, true, false))
        .send()
        .await
        .expect("allowed now");
    assert_eq!(
        inline_flags(&describe(&client, "churn-inline-hourly").await),
        (Some(true), Some(false))
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn invalid_inline_definitions_are_rejected_with_the_member_named() {
    let emulator = start_empty().await;
    let client = client(&emulator, REGION);
    let create = |config: MonitoringScheduleConfig| {
        client
            .create_monitoring_schedule()
            .monitoring_schedule_name("bad")
            .monitoring_schedule_config(config)
            .send()
    };

    let mut definition = inline_definition(Some(true), Some(true), 0);
    let input = definition.monitoring_inputs()[0].clone();
    definition.monitoring_inputs = Some(vec![input.clone(), input]);
    definition.network_config = Some(
        NetworkConfig::builder()
            .vpc_config(
                VpcConfig::builder()
                    .security_group_ids("sg-0a1b2c3d")
                    .set_subnets(Some((0..17).map(|i| format!("subnet-{i:04}")).collect()))
                    .build(),
            )
            .build(),
    );
    definition.role_arn = Some("monitor-role".to_owned());
    let error = create(inline_config(definition))
        .await
        .map_err(failure)
        .expect_err("invalid");
    assert_eq!(error.code(), "ValidationException");
    let message = error.message.unwrap_or_default();
    assert!(
        message.starts_with("5 validation errors detected: "),
        "{message}"
    );
    for expected in [
        format!(
            "Value '[2 inputs]' at '{INLINE}.monitoringInputs' failed to satisfy constraint: Member must have length less than or equal to 1"
        ),
        format!(
            "Value '0' at '{INLINE}.monitoringResources.clusterConfig.instanceCount' failed to satisfy constraint: Member must have value greater than or equal to 1"
        ),
        format!(
            "Value '[17 subnets]' at '{INLINE}.networkConfig.vpcConfig.subnets' failed to satisfy constraint: Member must have length less than or equal to 16"
        ),
        format!(
            "at '{INLINE}.roleArn' failed to satisfy constraint: Member must satisfy regular expression pattern"
        ),
        format!(
            "at '{INLINE}.roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20"
        ),
    ] {
        assert!(message.contains(&expected), "{message}\nlacks {expected}");
    }

    // An input with no source passes the model but not the service.
    let mut definition = inline_definition(Some(true), Some(true), 1);
    definition.monitoring_inputs = Some(vec![MonitoringInput::builder().build()]);
    let error = create(inline_config(definition))
        .await
        .map_err(failure)
        .expect_err("no source");
    assert_eq!(
        error.message.as_deref(),
        Some("MonitoringInput must specify either EndpointInput or BatchTransformInput")
    );

    // Required members, left out on the wire.
    let mut body = json!({
        "MonitoringScheduleName": "bad",
        "MonitoringScheduleConfig": {
            "MonitoringJobDefinition": {
                "MonitoringInputs": [{"EndpointInput": {"EndpointName": "churn-endpoint"}}],
                "MonitoringOutputConfig": {"MonitoringOutputs": [{"S3Output": {"S3Uri": "s3://bucket/reports", "LocalPath": "/opt/ml/processing/output"}}]},
                "MonitoringResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20}},
                "MonitoringAppSpecification": {"ImageUri": "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"}
            }
        }
    });
    let answer = raw_call(
        &emulator,
        Some("SageMaker.CreateMonitoringSchedule"),
        &body.to_string(),
        REGION,
    )
    .await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json()["__type"], "ValidationException");
    assert_eq!(
        answer.json()["message"],
        format!(
            "2 validation errors detected: Value null at '{INLINE}.roleArn' failed to satisfy constraint: Member must not be null; Value null at '{INLINE}.monitoringInputs.1.member.endpointInput.localPath' failed to satisfy constraint: Member must not be null"
        )
    );
    body["MonitoringScheduleConfig"]["MonitoringJobDefinition"]["Environment"] =
        json!({"DB_PASSWORD": "hunter2-but-longer", "bad-key": "x"});
    let answer = raw_call(
        &emulator,
        Some("SageMaker.CreateMonitoringSchedule"),
        &body.to_string(),
        REGION,
    )
    .await;
    let message = answer.json()["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains(&format!("at '{INLINE}.environment' failed to satisfy constraint: Map keys must satisfy constraint")),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "values stay out: {message}");
    assert!(
        client
            .list_monitoring_schedules()
            .send()
            .await
            .expect("list")
            .monitoring_schedule_summaries()
            .is_empty(),
        "nothing was created"
    );

    // An update is validated the same way and changes nothing.
    create(inline_config(inline_definition(Some(false), None, 1)))
        .await
        .expect("valid create");
    wait_for_schedule_status(&client, "bad", ScheduleStatus::Scheduled).await;
    let before = emulator.schedule(REGION, "bad").expect("stored");
    let mut definition = inline_definition(Some(true), Some(true), 1);
    definition.stopping_condition = Some(
        aws_sdk_sagemaker::types::MonitoringStoppingCondition::builder()
            .max_runtime_in_seconds(0)
            .build(),
    );
    let error = client
        .update_monitoring_schedule()
        .monitoring_schedule_name("bad")
        .monitoring_schedule_config(inline_config(definition))
        .send()
        .await
        .map_err(failure)
        .expect_err("invalid update");
    assert_eq!(
        error.message.as_deref(),
        Some(
            format!("1 validation error detected: Value '0' at '{INLINE}.stoppingCondition.maxRuntimeInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 1").as_str()
        )
    );
    assert_eq!(emulator.schedule(REGION, "bad"), Some(before));
    emulator.shutdown().await;
}

#[tokio::test]
async fn the_demo_account_has_definitions_and_an_inline_schedule_failing_the_network_controls() {
    let emulator = start_emulator(Seed::demo(), Behaviour::default()).await;
    let client = client(&emulator, REGION);

    let network = |kind: Kind, name: &str| {
        let definition = emulator.definition(REGION, kind, name).expect(name);
        (
            definition["NetworkConfig"]["EnableInterContainerTrafficEncryption"].as_bool(),
            definition["NetworkConfig"]["EnableNetworkIsolation"].as_bool(),
        )
    };
    // Fails only isolation (SageMaker.20): encryption on, isolation left out.
    assert_eq!(
        network(Kind::ModelExplainability, "pricing-model-explainability"),
        (Some(true), None)
    );
    // Fails both (SageMaker.15, on one instance, and SageMaker.12).
    assert_eq!(
        network(Kind::ModelBias, "pricing-model-bias"),
        (Some(false), Some(false))
    );

    // Fails SageMaker.22 (two instances, no encryption) and SageMaker.14.
    let described = describe(&client, "recsys-endpoint-data-quality-hourly").await;
    assert_eq!(
        described.monitoring_schedule_status(),
        Some(&ScheduleStatus::Scheduled)
    );
    assert_eq!(inline_flags(&described), (Some(false), Some(false)));
    let config = described
        .monitoring_schedule_config()
        .expect("configuration");
    assert_eq!(config.monitoring_job_definition_name(), None);
    assert_eq!(
        config
            .monitoring_job_definition()
            .and_then(|d| d.monitoring_resources())
            .and_then(|r| r.cluster_config())
            .and_then(|c| c.instance_count()),
        Some(2)
    );
    emulator.shutdown().await;
}
