//! Schedules with an inline job definition (SageMaker.14, .22), fixed in place with
//! `UpdateMonitoringSchedule`: the whole configuration sent with only the fixed flags changed,
//! verified, and put back when the schedule fails after the update; a service that refuses the
//! in-place change leaves the schedule untouched and the report says to rebuild it by hand;
//! `restore` puts a snapshot's configuration back; `resume` finishes an update in flight. The
//! real binary through the real SDK against the emulator.

mod support;

use serde_json::{Value, json};
use sm_emulator::{Behaviour, InlineNetworkConfigUpdates, Seed, SeedSchedule, SeedScheduleStatus};
use support::apply::*;
use support::*;

const INLINE: &str = "recsys-hourly";

/// A schedule with an inline data-quality job on two instances, failing both controls.
fn inline_schedule(status: SeedScheduleStatus) -> SeedSchedule {
    SeedSchedule {
        account_id: None,
        region: REGION.to_owned(),
        request: json!({
            "MonitoringScheduleName": INLINE,
            "MonitoringScheduleConfig": {
                "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
                "MonitoringType": "DataQuality",
                "MonitoringJobDefinition": {
                    "MonitoringInputs": [{"EndpointInput": {
                        "EndpointName": "recsys-endpoint",
                        "LocalPath": "/opt/ml/processing/input/endpoint"
                    }}],
                    "MonitoringOutputConfig": {"MonitoringOutputs": [{"S3Output": {
                        "S3Uri": "s3://bucket/recsys/reports",
                        "LocalPath": "/opt/ml/processing/output"
                    }}]},
                    "MonitoringResources": {"ClusterConfig": {
                        "InstanceCount": 2, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20
                    }},
                    "MonitoringAppSpecification": {
                        "ImageUri": "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"
                    },
                    "Environment": {"password": "hunter2-inline"},
                    "NetworkConfig": {
                        "EnableInterContainerTrafficEncryption": false,
                        "EnableNetworkIsolation": false
                    },
                    "RoleArn": "arn:aws:iam::123456789012:role/monitor"
                }
            },
            "Tags": [{"Key": "team", "Value": "recsys"}]
        }),
        status: Some(status),
        last_monitoring_execution_summary: None,
    }
}

fn env_with(status: SeedScheduleStatus, behaviour: Behaviour) -> Env {
    Env::start(
        Seed {
            schedules: vec![inline_schedule(status)],
            ..Seed::default()
        },
        behaviour,
    )
}

fn quick() -> Behaviour {
    Behaviour {
        schedule_transition: std::time::Duration::from_millis(20),
        ..Behaviour::default()
    }
}

fn live(env: &Env) -> Value {
    env.emulator
        .schedule(REGION, INLINE)
        .expect("the schedule exists")
}

fn network(schedule: &Value) -> Value {
    schedule["MonitoringScheduleConfig"]["MonitoringJobDefinition"]["NetworkConfig"].clone()
}

/// The configuration with the flags set to true.
fn fixed(config: &Value, flags: &[&str]) -> Value {
    let mut config = config.clone();
    for flag in flags {
        config["MonitoringJobDefinition"]["NetworkConfig"][*flag] = json!(true);
    }
    config
}

#[test]
fn an_inline_schedule_is_fixed_in_place_with_only_its_flags_changed() {
    for (status, expected_status) in [
        (SeedScheduleStatus::Scheduled, "Scheduled"),
        (SeedScheduleStatus::Stopped, "Stopped"),
    ] {
        let env = env_with(status, quick());
        let before = live(&env);
        let output = env.run(&[
            "apply",
            "--yes",
            "--fix",
            "encryption",
            "--fix",
            "isolation",
            "--format",
            "json",
        ]);
        assert_eq!(code(&output), 0, "{}", show(&output));
        let report = stdout_json(&output);
        assert_eq!(
            report["summary"],
            json!({"updated-in-place": 1}),
            "{report:#}"
        );
        let after = live(&env);
        assert_eq!(
            after["MonitoringScheduleConfig"],
            fixed(
                &before["MonitoringScheduleConfig"],
                &[
                    "EnableInterContainerTrafficEncryption",
                    "EnableNetworkIsolation"
                ]
            ),
            "the whole configuration kept, the two flags set"
        );
        assert_eq!(after["MonitoringScheduleStatus"], json!(expected_status));
        assert_eq!(
            after["MonitoringScheduleArn"],
            before["MonitoringScheduleArn"]
        );
        // The snapshot is the exact describe before, and private.
        let (_, snapshot) = env.snapshot_of(INLINE);
        assert_eq!(snapshot["kind"], "monitoring-schedule");
        assert_eq!(
            snapshot["describe"]["MonitoringScheduleConfig"],
            before["MonitoringScheduleConfig"]
        );
        assert_eq!(snapshot["fixes"], json!(["encryption", "isolation"]));
        // One update, never a delete.
        assert_eq!(env.count("UpdateMonitoringSchedule"), 1);
        assert_eq!(env.count("DeleteMonitoringSchedule"), 0);
        // Nothing left to do.
        let again = env.run(&[
            "apply",
            "--yes",
            "--fix",
            "encryption",
            "--fix",
            "isolation",
        ]);
        assert_eq!(code(&again), 0, "{}", show(&again));
        assert_eq!(env.count("UpdateMonitoringSchedule"), 1);
    }
}

#[test]
fn the_plan_shows_the_inline_change_with_environment_values_redacted() {
    let env = env_with(SeedScheduleStatus::Scheduled, quick());
    let text = stdout_text(&env.run(&["plan", "--fix", "isolation"]));
    assert!(
        text.contains(
            "# monitoring-schedule recsys-hourly (us-east-1) · SageMaker.14 · update in place"
        ),
        "{text}"
    );
    assert!(text.contains("warning: network isolation"), "{text}");
    assert!(!text.contains("hunter2-inline"), "redacted: {text}");
    let document = stdout_json(&env.run(&["plan", "--fix", "isolation", "--format", "json"]));
    let item = &document["items"][0];
    assert_eq!(item["kind"], "monitoring-schedule");
    assert_eq!(item["action"], "update");
    assert_eq!(
        item["failing_controls"],
        json!(["SageMaker.14", "SageMaker.22"])
    );
    let scan = stdout_json(&env.run(&["scan", "--format", "json"]));
    assert_eq!(scan["schedules"][0]["name"], INLINE);
    assert_eq!(
        scan["schedules"][0]["failing_controls"],
        json!(["SageMaker.14", "SageMaker.22"])
    );
    assert!(env.mutating_calls().is_empty());
}

#[test]
fn a_schedule_that_fails_after_the_update_is_put_back() {
    let env = env_with(
        SeedScheduleStatus::Scheduled,
        Behaviour {
            failing_schedule_updates: vec![INLINE.to_owned()],
            ..quick()
        },
    );
    let before = live(&env);
    let output = env.run(&["apply", "--yes", "--format", "json"]);
    assert_eq!(code(&output), 1, "{}", show(&output));
    let entry = only_entry(&output);
    assert_eq!(entry["status"], "rolled-back", "{entry:#}");
    assert!(
        entry["message"].as_str().unwrap().contains("Failed"),
        "{entry:#}"
    );
    // The emulator fails every update of it, the rollback's too: what matters is that the
    // configuration is the one the schedule had.
    assert_eq!(
        live(&env)["MonitoringScheduleConfig"],
        before["MonitoringScheduleConfig"]
    );
    assert_eq!(env.count("UpdateMonitoringSchedule"), 2);
}

#[test]
fn a_refused_in_place_change_touches_nothing_and_says_rebuild_by_hand() {
    let env = env_with(
        SeedScheduleStatus::Scheduled,
        Behaviour {
            inline_network_config_updates: InlineNetworkConfigUpdates::Refused,
            ..quick()
        },
    );
    let before = live(&env);
    let output = env.run(&["apply", "--yes", "--format", "json"]);
    assert_eq!(code(&output), 1, "{}", show(&output));
    let entry = only_entry(&output);
    assert_eq!(entry["status"], "refused", "{entry:#}");
    let message = entry["message"].as_str().unwrap();
    assert!(message.contains("manual rebuild"), "{message}");
    assert!(
        message.contains("Delete and recreate"),
        "AWS's words: {message}"
    );
    assert_eq!(live(&env), before, "untouched");
    assert_eq!(env.count("DeleteMonitoringSchedule"), 0);
}

#[test]
fn restore_puts_the_snapshot_configuration_back_in_place() {
    let env = env_with(SeedScheduleStatus::Scheduled, quick());
    let before = live(&env);
    let output = env.run(&["apply", "--yes"]);
    assert_eq!(code(&output), 0, "{}", show(&output));
    assert_ne!(network(&live(&env)), network(&before));
    let (path, _) = env.snapshot_of(INLINE);
    let path = path.to_str().unwrap();

    let refused = env.run(&["restore", path]);
    assert_eq!(code(&refused), 2, "{}", show(&refused));
    assert!(stderr_text(&refused).contains("--replace"));

    let output = env.run(&["restore", "--replace", path, "--format", "json"]);
    assert_eq!(code(&output), 0, "{}", show(&output));
    assert_eq!(
        live(&env)["MonitoringScheduleConfig"],
        before["MonitoringScheduleConfig"]
    );
    let again = env.run(&["restore", "--replace", path]);
    assert_eq!(code(&again), 0, "{}", show(&again));
    assert!(
        stdout_text(&again).contains("nothing to do"),
        "{}",
        show(&again)
    );
}

#[test]
fn an_update_whose_answer_is_lost_is_seen_done_by_looking() {
    let env = env_with(
        SeedScheduleStatus::Scheduled,
        Behaviour {
            faults: vec![sm_emulator::FaultRule {
                operation: "UpdateMonitoringSchedule".to_owned(),
                after: true,
                drop_connection: true,
                ..Default::default()
            }],
            ..quick()
        },
    );
    let before = live(&env);
    let output = env.run(&["apply", "--yes", "--format", "json"]);
    assert_eq!(code(&output), 0, "{}", show(&output));
    assert_eq!(
        live(&env)["MonitoringScheduleConfig"],
        fixed(
            &before["MonitoringScheduleConfig"],
            &["EnableInterContainerTrafficEncryption"]
        )
    );
    assert_eq!(env.count("UpdateMonitoringSchedule"), 1, "never sent twice");
}

#[test]
fn resume_sends_the_update_a_crash_stopped_before_it_acted() {
    let env = env_with(SeedScheduleStatus::Scheduled, quick());
    let before = live(&env);
    env.emulator.set_behaviour(Behaviour {
        faults: vec![sm_testkit::hold_rule(
            "UpdateMonitoringSchedule",
            INLINE,
            support::held::HOLD_FOREVER_MS,
            true,
        )],
        ..quick()
    });
    let state = env.state_dir();
    env.spawn_until_held(
        &state,
        &["apply", "--yes"],
        "UpdateMonitoringSchedule",
        INLINE,
    )
    .kill_then_clear_faults();
    assert_eq!(live(&env), before, "the held update was never performed");
    let output = env.run(&["resume", "--format", "json"]);
    assert_eq!(code(&output), 0, "{}", show(&output));
    assert_eq!(only_entry(&output)["status"], "updated-in-place");
    assert_eq!(
        live(&env)["MonitoringScheduleConfig"],
        fixed(
            &before["MonitoringScheduleConfig"],
            &["EnableInterContainerTrafficEncryption"]
        )
    );
    // A second resume has nothing left to do.
    let again = env.run(&["resume"]);
    assert_eq!(code(&again), 0, "{}", show(&again));
}

#[test]
fn a_reviewed_plan_file_updates_exactly_its_schedules() {
    let env = env_with(SeedScheduleStatus::Scheduled, quick());
    let before = live(&env);
    let plan = env.path("plan.json");
    let output = env.run(&[
        "plan",
        "--fix",
        "isolation",
        "--out",
        plan.to_str().unwrap(),
    ]);
    assert_eq!(code(&output), 0, "{}", show(&output));
    let output = env.run(&["apply", plan.to_str().unwrap(), "--yes", "--format", "json"]);
    assert_eq!(code(&output), 0, "{}", show(&output));
    assert_eq!(only_entry(&output)["status"], "updated-in-place");
    assert_eq!(
        live(&env)["MonitoringScheduleConfig"],
        fixed(
            &before["MonitoringScheduleConfig"],
            &["EnableNetworkIsolation"]
        ),
        "the plan's fix, isolation only"
    );
    // A plan made before someone changed the schedule is refused for it.
    let output = env.run(&[
        "plan",
        "--fix",
        "encryption",
        "--out",
        plan.to_str().unwrap(),
    ]);
    assert_eq!(code(&output), 0, "{}", show(&output));
    let mut config = live(&env)["MonitoringScheduleConfig"].clone();
    config["ScheduleConfig"]["ScheduleExpression"] = json!("cron(0 */2 ? * * *)");
    env.block_on(env.client().update_schedule(INLINE, &config))
        .expect("someone else reschedules it");
    std::thread::sleep(std::time::Duration::from_millis(100));
    let output = env.run(&["apply", plan.to_str().unwrap(), "--yes", "--format", "json"]);
    assert_eq!(code(&output), 1, "{}", show(&output));
    assert_eq!(only_entry(&output)["status"], "changed-since-plan");
    assert_eq!(
        live(&env)["MonitoringScheduleConfig"],
        config,
        "theirs kept"
    );
}
