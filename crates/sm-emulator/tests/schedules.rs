//! Monitoring schedules, driven through the real `aws-sdk-sagemaker` client over HTTP: the
//! asynchronous status transitions, stop and start, references to definitions, executions in
//! progress, and listing with every filter.

mod support;

use std::time::Duration;

use aws_sdk_sagemaker::types::{MonitoringType, ScheduleStatus};
use serde_json::json;
use sm_emulator::{Behaviour, Seed};
use sm_kinds::Kind;
use sm_testkit::{ACCOUNT, REGION, client, create_definition, delete_definition, start_emulator};
use support::{
    create_schedule, minimal_request, schedule_config, schedule_status, start_empty,
    wait_for_schedule_status,
};

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
        .map_err(sm_testkit::failure)
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
            .map_err(sm_testkit::failure),
        client
            .start_monitoring_schedule()
            .monitoring_schedule_name("ghost")
            .send()
            .await
            .map(|_| ())
            .map_err(sm_testkit::failure),
        client
            .delete_monitoring_schedule()
            .monitoring_schedule_name("ghost")
            .send()
            .await
            .map(|_| ())
            .map_err(sm_testkit::failure),
        client
            .describe_monitoring_schedule()
            .monitoring_schedule_name("ghost")
            .send()
            .await
            .map(|_| ())
            .map_err(sm_testkit::failure),
        client
            .update_monitoring_schedule()
            .monitoring_schedule_name("ghost")
            .monitoring_schedule_config(schedule_config("def", Kind::DataQuality))
            .send()
            .await
            .map(|_| ())
            .map_err(sm_testkit::failure),
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
        .map_err(sm_testkit::failure)
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
        .map_err(sm_testkit::failure)
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
        .map_err(sm_testkit::failure)
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
