//! `apply` end to end: every kind recreated identical but for the flag, the direct strategy, a
//! reviewed plan file applied exactly (and refused when the account changed since), a second apply
//! with nothing to do, the JSON report, running executions waited for, and retries that absorb
//! throttling and single faults. The real binary, over HTTP through the real SDK, against the
//! emulator started in this process; assertions are on the emulator's state, the files in the
//! state directory, the report and the exit code.

mod support;

use serde_json::{Value, json};
use sm_emulator::{Behaviour, Seed};
use sm_recreate::kinds::Kind;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;
use support::apply::*;
use support::*;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The report's `(name, status)` pairs, sorted by name (`status` is the label the summary
/// counts; `outcome` the variant, with `rolled_back` telling the two kinds of failure apart).
fn outcomes(report: &Value) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = report["definitions"]
        .as_array()
        .expect("definitions")
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap().to_owned(),
                d["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    pairs.sort();
    pairs
}

fn names(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect();
    pairs.sort();
    pairs
}

/// The definition is exactly its snapshot but for the flag (now true), tags included.
fn assert_recreated(env: &Env, kind: Kind, name: &str) {
    let (_, snapshot) = env.snapshot_of(name);
    let live = env
        .definition(kind, name)
        .unwrap_or_else(|| panic!("{name} exists"));
    assert_eq!(
        without_creation_time(&live),
        without_creation_time(&with_flag(&snapshot["describe"], true)),
        "{name}: live differs from snapshot-with-flag"
    );
    assert_eq!(
        flag_of(&snapshot["describe"]),
        Some(false),
        "{name}: the snapshot is the old state"
    );
    assert_eq!(env.tags(kind, name), tags_of(&snapshot), "{name}: tags");
    let copies = env.copies(kind, name);
    assert!(copies.is_empty(), "{name}: copies left: {copies:?}");
}

#[test]
fn maximal_definitions_of_every_kind_are_recreated_identical_but_for_the_flag() {
    let mut definitions = Vec::new();
    for kind in Kind::ALL {
        definitions.push(definition(kind, maximal_request(kind)));
    }
    let dq = maximal_request(Kind::DataQuality)["JobDefinitionName"]
        .as_str()
        .unwrap()
        .to_owned();
    let mb = maximal_request(Kind::ModelBias)["JobDefinitionName"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut stopped = schedule("bias-daily", Kind::ModelBias, &mb);
    stopped.status = Some(sm_emulator::SeedScheduleStatus::Stopped);
    let env = Env::quick(seed(
        definitions,
        vec![schedule(SCHEDULE, Kind::DataQuality, &dq), stopped],
    ));
    let before: Vec<(Kind, String, Value)> = Kind::ALL
        .iter()
        .map(|kind| {
            let name = maximal_request(*kind)["JobDefinitionName"]
                .as_str()
                .unwrap()
                .to_owned();
            let describe = env.definition(*kind, &name).unwrap();
            (*kind, name, describe)
        })
        .collect();
    let schedules_before = [
        env.emulator.schedule(REGION, SCHEDULE).unwrap(),
        env.emulator.schedule(REGION, "bias-daily").unwrap(),
    ];

    let output = env.run(&["apply", "--yes", "--format", "json"]);
    assert_eq!(code(&output), 0, "{}", show(&output));
    let report = stdout_json(&output);
    assert_eq!(report["summary"], json!({"recreated": 4}), "{report:#}");
    assert!(report["run_id"].is_string());

    for (kind, name, describe) in &before {
        let (path, snapshot) = env.snapshot_of(name);
        // The snapshot is the exact describe the definition had.
        assert_eq!(&snapshot["describe"], describe, "{name}: snapshot");
        assert_eq!(snapshot["snapshot_sha256"].as_str().unwrap().len(), 64);
        assert_eq!(mode(&path), 0o600, "{}", path.display());
        assert_recreated(&env, *kind, name);
        let live = env.definition(*kind, name).unwrap();
        assert_eq!(live["JobDefinitionArn"], describe["JobDefinitionArn"]);
        assert_eq!(flag_of(&live), Some(true));
        // Not just "equal to the snapshot": equal to what was seeded, every member.
        let mut seeded = maximal_request(*kind);
        let tags = seeded
            .as_object_mut()
            .unwrap()
            .shift_remove("Tags")
            .unwrap();
        let mut live_members = without_creation_time(&live);
        live_members
            .as_object_mut()
            .unwrap()
            .shift_remove("JobDefinitionArn");
        assert_eq!(live_members, with_flag(&seeded, true), "{name}");
        let seeded_tags: std::collections::BTreeSet<sm_recreate::sagemaker::Tag> =
            serde_json::from_value(tags).unwrap();
        assert_eq!(env.tags(*kind, name), seeded_tags, "{name}: tags");
    }
    // The schedules are back on their definitions, configuration and status as before.
    for (schedule, before) in [SCHEDULE, "bias-daily"].iter().zip(&schedules_before) {
        let after = env.emulator.schedule(REGION, schedule).unwrap();
        assert_eq!(
            after["MonitoringScheduleConfig"], before["MonitoringScheduleConfig"],
            "{schedule}"
        );
        assert_eq!(
            after["MonitoringScheduleStatus"], before["MonitoringScheduleStatus"],
            "{schedule}"
        );
    }
    assert_eq!(env.schedule_target(SCHEDULE), dq);
    assert_eq!(env.schedule_target("bias-daily"), mb);
    // The schedules did move to the copies and back.
    let updates: Vec<_> = env
        .calls()
        .into_iter()
        .filter(|c| c.operation == "UpdateMonitoringSchedule")
        .collect();
    assert_eq!(updates.len(), 4, "{updates:?}");

    // State directory: private directories, private files, a JSONL journal of every step.
    let state = env.state_dir();
    assert_eq!(mode(&state), 0o700);
    assert_eq!(mode(&state.join("runs")), 0o700);
    let journals = env.journals();
    assert_eq!(journals.len(), 1);
    let (journal_path, records) = &journals[0];
    assert_eq!(mode(journal_path), 0o600);
    assert_eq!(mode(journal_path.parent().unwrap()), 0o700);
    assert_eq!(
        mode(&journal_path.parent().unwrap().join("snapshots")),
        0o700
    );
    assert_eq!(records.first().unwrap()["event"], json!("run-started"));
    assert_eq!(records.last().unwrap()["event"], json!("run-finished"));
    for record in records {
        assert!(record["at"].is_string(), "{record}");
    }
    for (_, name, _) in &before {
        let mine: Vec<&Value> = records
            .iter()
            .filter(|r| r["item"]["name"] == json!(name))
            .collect();
        let steps: Vec<(String, String)> = mine
            .iter()
            .filter(|r| r["event"] == json!("step"))
            .map(|r| {
                (
                    r["step"].as_str().unwrap().to_owned(),
                    r["phase"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let mut expected = vec!["create-temporary".to_owned()];
        if name == &dq {
            expected.push(format!("repoint-schedule-to-temporary:{SCHEDULE}"));
        }
        if name == &mb {
            expected.push("repoint-schedule-to-temporary:bias-daily".to_owned());
        }
        // The original is re-checked right before its delete (I3).
        expected.extend([
            "recheck-original".to_owned(),
            "delete-original".to_owned(),
            "create-original".to_owned(),
        ]);
        if name == &dq {
            expected.push(format!("repoint-schedule-to-original:{SCHEDULE}"));
        }
        if name == &mb {
            expected.push("repoint-schedule-to-original:bias-daily".to_owned());
        }
        // The copy is deleted only once the original was verified (I1).
        expected.extend(["verify".to_owned(), "delete-temporary".to_owned()]);
        let expected: Vec<(String, String)> = expected
            .into_iter()
            .flat_map(|s| [(s.clone(), "start".to_owned()), (s, "done".to_owned())])
            .collect();
        assert_eq!(steps, expected, "{name}");
        assert_eq!(
            mine.first().unwrap()["event"],
            json!("item-started"),
            "{name}"
        );
        assert_eq!(
            mine.last().unwrap()["event"],
            json!("item-finished"),
            "{name}"
        );
        assert_eq!(
            mine.last().unwrap()["outcome"],
            json!("recreated"),
            "{name}"
        );
    }
}

#[test]
fn direct_strategy_refuses_referenced_definitions_and_recreates_the_others() {
    let env = Env::quick(seed(
        vec![
            definition(
                Kind::DataQuality,
                noncompliant(Kind::DataQuality, "used", &[("a", "1")]),
            ),
            definition(
                Kind::ModelQuality,
                noncompliant(Kind::ModelQuality, "free", &[("b", "2")]),
            ),
        ],
        vec![schedule(SCHEDULE, Kind::DataQuality, "used")],
    ));
    let used_before = env.definition(Kind::DataQuality, "used").unwrap();
    let output = env.run(&["apply", "--yes", "--strategy", "direct", "--format", "json"]);
    assert_eq!(code(&output), 1, "{}", show(&output));
    let report = stdout_json(&output);
    assert_eq!(
        outcomes(&report),
        names(&[("used", "refused"), ("free", "recreated")])
    );
    let refused = report["definitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == json!("used"))
        .unwrap();
    assert!(
        refused["message"].as_str().unwrap().contains(SCHEDULE),
        "{refused}"
    );
    // Untouched, to the byte (same CreationTime), and no mutating call named it.
    assert_eq!(
        env.definition(Kind::DataQuality, "used").unwrap(),
        used_before
    );
    assert!(
        env.mutating_calls()
            .iter()
            .all(|c| c.name.as_deref() != Some("used")),
        "{:?}",
        env.mutating_calls()
    );
    assert_eq!(env.schedule_target(SCHEDULE), "used");
    // The other: no temporary name ever used.
    assert_recreated(&env, Kind::ModelQuality, "free");
    assert!(
        env.calls()
            .iter()
            .all(|c| !c.name.as_deref().unwrap_or("").contains("-smr")),
        "direct uses no temporary copy"
    );
    let (_, snapshot) = env.snapshot_of("free");
    assert!(snapshot["temporary_name"].is_null());
}

#[test]
fn a_reviewed_plan_file_is_applied_exactly() {
    let env = Env::quick(seed(
        vec![
            definition(
                Kind::ModelBias,
                noncompliant(Kind::ModelBias, "bias", &[("k", "v")]),
            ),
            definition(
                Kind::ModelExplainability,
                noncompliant(Kind::ModelExplainability, "expl", &[]),
            ),
        ],
        vec![schedule(SCHEDULE, Kind::ModelBias, "bias")],
    ));
    let plan = env.path("p.json");
    let output = env.run(&["plan", "--out", plan.to_str().unwrap()]);
    assert_eq!(code(&output), 0, "{}", show(&output));
    assert!(env.mutating_calls().is_empty());
    let output = env.run(&["apply", plan.to_str().unwrap(), "--yes"]);
    assert_eq!(code(&output), 0, "{}", show(&output));
    assert!(stdout(&output).contains("2 recreated"), "{}", show(&output));
    assert_recreated(&env, Kind::ModelBias, "bias");
    assert_recreated(&env, Kind::ModelExplainability, "expl");
    assert_eq!(env.schedule_target(SCHEDULE), "bias");
    // The temporary name is the one the plan named.
    let planned: Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    let temp = planned["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == json!("bias"))
        .unwrap()["temporary_name"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        env.calls()
            .iter()
            .any(|c| c.operation == "CreateModelBiasJobDefinition"
                && c.name.as_deref() == Some(&temp))
    );
    // Applying the same plan again: everything changed since (it was recreated), nothing done.
    let before = env.mutating_calls().len();
    let output = env.run(&["apply", plan.to_str().unwrap(), "--yes", "--format", "json"]);
    assert_eq!(code(&output), 1, "{}", show(&output));
    assert_eq!(
        outcomes(&stdout_json(&output)),
        names(&[
            ("bias", "changed-since-plan"),
            ("expl", "changed-since-plan")
        ])
    );
    assert_eq!(env.mutating_calls().len(), before);
}

#[test]
fn a_definition_changed_since_the_plan_is_left_alone() {
    let env = Env::quick(seed(
        vec![
            definition(
                Kind::DataQuality,
                noncompliant(Kind::DataQuality, "tagged", &[("k", "v")]),
            ),
            definition(
                Kind::DataQuality,
                noncompliant(Kind::DataQuality, "edited", &[]),
            ),
            definition(
                Kind::ModelQuality,
                noncompliant(Kind::ModelQuality, "steady", &[]),
            ),
        ],
        vec![],
    ));
    let plan = env.path("p.json");
    let output = env.run(&["plan", "--out", plan.to_str().unwrap()]);
    assert_eq!(code(&output), 0, "{}", show(&output));
    // Between plan and apply: a tag added to one (through the SDK, as a person would), a member
    // changed on another (as a recreate by someone else would).
    let tagged = env.definition(Kind::DataQuality, "tagged").unwrap();
    env.block_on(async {
        let config = sm_recreate::sagemaker::load_sdk_config(&sm_recreate::sagemaker::AwsOptions {
            endpoint_url: Some(env.emulator.endpoint_url()),
            region: Some(REGION.to_owned()),
            dummy_credentials: true,
            ..Default::default()
        })
        .await;
        aws_sdk_sagemaker::Client::new(&config)
            .add_tags()
            .resource_arn(tagged["JobDefinitionArn"].as_str().unwrap())
            .tags(
                aws_sdk_sagemaker::types::Tag::builder()
                    .key("owner")
                    .value("someone")
                    .build(),
            )
            .send()
            .await
            .expect("AddTags");
    });
    let mut edited = env.definition(Kind::DataQuality, "edited").unwrap();
    edited["StoppingCondition"]["MaxRuntimeInSeconds"] = json!(1234);
    env.emulator
        .put_definition_raw(REGION, Kind::DataQuality, edited.clone(), vec![]);
    let tagged = env.definition(Kind::DataQuality, "tagged").unwrap();
    let mutations_before = env.mutating_calls().len();

    let output = env.run(&["apply", plan.to_str().unwrap(), "--yes", "--format", "json"]);
    assert_eq!(code(&output), 1, "{}", show(&output));
    let report = stdout_json(&output);
    assert_eq!(
        outcomes(&report),
        names(&[
            ("edited", "changed-since-plan"),
            ("steady", "recreated"),
            ("tagged", "changed-since-plan"),
        ])
    );
    for entry in report["definitions"].as_array().unwrap() {
        if entry["status"] == json!("changed-since-plan") {
            assert!(
                entry["message"]
                    .as_str()
                    .unwrap()
                    .contains("changed since plan"),
                "{entry}"
            );
        }
    }
    // The text report says so too.
    assert_eq!(env.definition(Kind::DataQuality, "tagged").unwrap(), tagged);
    assert_eq!(env.definition(Kind::DataQuality, "edited").unwrap(), edited);
    assert_eq!(
        env.tags(Kind::DataQuality, "tagged"),
        tag_set(&[("k", "v"), ("owner", "someone")])
    );
    let touched: Vec<_> = env.mutating_calls()[mutations_before..]
        .iter()
        .filter(|c| {
            c.name
                .as_deref()
                .is_some_and(|n| n.starts_with("tagged") || n.starts_with("edited"))
        })
        .cloned()
        .collect();
    assert!(touched.is_empty(), "{touched:?}");
    assert_recreated(&env, Kind::ModelQuality, "steady");
    // No snapshot for what was not started.
    assert!(
        env.snapshots()
            .iter()
            .all(|(_, s)| s["name"] == json!("steady"))
    );
}

#[test]
fn a_second_apply_finds_nothing_to_do() {
    let env = Env::quick(referenced_seed(Kind::ModelQuality, "quality"));
    let output = env.run(&["apply", "--yes"]);
    assert_eq!(code(&output), 0, "{}", show(&output));
    assert!(
        stdout(&output)
            .contains("recreated model-quality quality (us-east-1, account 123456789012)"),
        "{}",
        show(&output)
    );
    let before = env.mutating_calls().len();
    assert!(before > 0);
    let output = env.run(&["apply", "--yes"]);
    assert_eq!(code(&output), 0, "{}", show(&output));
    assert!(
        stdout(&output).contains("Nothing to recreate")
            || stdout(&output).contains("0 to recreate"),
        "{}",
        show(&output)
    );
    let output = env.run(&["apply", "--yes", "--format", "json"]);
    assert_eq!(code(&output), 0, "{}", show(&output));
    assert_eq!(stdout_json(&output)["definitions"], json!([]));
    assert_eq!(
        env.mutating_calls().len(),
        before,
        "no mutating call the second time"
    );
    assert_eq!(env.journals().len(), 1, "no run started");
}

#[test]
fn the_json_report_lists_every_outcome() {
    let env = Env::quick(seed(
        vec![
            definition(
                Kind::DataQuality,
                noncompliant(Kind::DataQuality, "one", &[]),
            ),
            definition(Kind::ModelBias, noncompliant(Kind::ModelBias, "two", &[])),
        ],
        vec![],
    ));
    let output = env.run(&["apply", "--yes", "--format", "json"]);
    assert_eq!(code(&output), 0, "{}", show(&output));
    let report = stdout_json(&output);
    assert_eq!(
        outcomes(&report),
        names(&[("one", "recreated"), ("two", "recreated")])
    );
    for entry in report["definitions"].as_array().unwrap() {
        assert_eq!(entry["region"], json!(REGION));
        assert!(entry["kind"] == json!("data-quality") || entry["kind"] == json!("model-bias"));
        assert_eq!(entry["warnings"], json!([]));
    }
    let run_id = report["run_id"].as_str().unwrap();
    assert!(
        env.state_dir()
            .join("runs")
            .join(run_id)
            .join("journal.jsonl")
            .is_file()
    );
}

#[test]
fn a_running_execution_is_waited_for_not_interrupted() {
    let mut seed = referenced_seed(Kind::DataQuality, "busy");
    seed.schedules[0].last_monitoring_execution_summary =
        Some(json!({"MonitoringExecutionStatus": "InProgress"}));
    let env = Env::start(
        seed,
        Behaviour {
            schedule_transition: Duration::from_millis(50),
            execution_duration: Duration::from_millis(1500),
            ..Behaviour::default()
        },
    );
    let output = env.run(&["apply", "--yes", "--schedule-timeout", "60"]);
    assert_eq!(code(&output), 0, "{}", show(&output));
    assert_recreated(&env, Kind::DataQuality, "busy");
    assert_eq!(env.schedule_target(SCHEDULE), "busy");
    let calls = env.calls();
    // Never stopped, never updated while the execution ran (the emulator answers ResourceInUse).
    assert!(
        calls
            .iter()
            .all(|c| c.operation != "StopMonitoringSchedule")
    );
    let updates: Vec<_> = calls
        .iter()
        .filter(|c| c.operation == "UpdateMonitoringSchedule")
        .collect();
    assert_eq!(updates.len(), 2, "{updates:?}");
    assert!(updates.iter().all(|c| c.outcome == "ok"), "{updates:?}");
    // It polled the schedule while waiting.
    let first_update = calls
        .iter()
        .position(|c| c.operation == "UpdateMonitoringSchedule")
        .unwrap();
    let polls = calls[..first_update]
        .iter()
        .filter(|c| c.operation == "DescribeMonitoringSchedule")
        .count();
    assert!(polls >= 3, "{polls} polls before the first update");
}

#[test]
fn an_execution_outlasting_the_timeout_rolls_back_cleanly() {
    let mut seed = referenced_seed(Kind::DataQuality, "busy");
    seed.schedules[0].last_monitoring_execution_summary =
        Some(json!({"MonitoringExecutionStatus": "InProgress"}));
    let env = Env::start(
        seed,
        Behaviour {
            schedule_transition: Duration::from_millis(50),
            execution_duration: Duration::from_secs(600),
            ..Behaviour::default()
        },
    );
    let before = env.definition(Kind::DataQuality, "busy").unwrap();
    let output = env.run(&[
        "apply",
        "--yes",
        "--schedule-timeout",
        "1",
        "--format",
        "json",
    ]);
    assert_eq!(code(&output), 1, "{}", show(&output));
    let report = stdout_json(&output);
    assert_eq!(outcomes(&report), names(&[("busy", "rolled-back")]));
    assert!(
        report["definitions"][0]["message"]
            .as_str()
            .unwrap()
            .contains("execution in progress"),
        "{report:#}"
    );
    assert_eq!(env.definition(Kind::DataQuality, "busy").unwrap(), before);
    assert_eq!(env.schedule_target(SCHEDULE), "busy");
    assert_eq!(
        env.emulator.definition_names(REGION, Kind::DataQuality),
        vec!["busy".to_owned()]
    );
    assert!(
        env.calls()
            .iter()
            .all(|c| c.operation != "UpdateMonitoringSchedule")
    );
}

#[test]
fn default_retries_absorb_a_single_throttle_5xx_or_drop() {
    // Without AWS_MAX_ATTEMPTS the tool retries (standard mode, 8 attempts; throttles by its
    // rate limit): one failure of each kind on the most delicate calls is invisible in the
    // outcome.
    let kind = Kind::ModelBias;
    let faults = vec![
        sm_emulator::FaultRule {
            times: Some(1),
            ..error_rule(&op("Delete", kind), Some("watched"), "ThrottlingException")
        },
        sm_emulator::FaultRule {
            times: Some(1),
            ..error_rule(&op("Create", kind), Some("watched"), "InternalFailure")
        },
        sm_emulator::FaultRule {
            times: Some(1),
            ..drop_rule("UpdateMonitoringSchedule", Some(SCHEDULE))
        },
        sm_emulator::FaultRule {
            times: Some(1),
            after: true,
            ..drop_rule(&op("Create", kind), Some("watched-smr*"))
        },
    ];
    let env = Env::start(referenced_seed(kind, "watched"), behaviour(faults));
    let output = env.run(&["apply", "--yes"]);
    assert_eq!(code(&output), 0, "{}", show(&output));
    let faulted: Vec<_> = env
        .calls()
        .into_iter()
        .filter(|c| c.outcome != "ok" && c.outcome != "ResourceNotFound")
        .collect();
    assert!(faulted.len() >= 4, "the faults fired: {faulted:?}");
    env.clear_faults();
    assert_recreated(&env, kind, "watched");
    assert_eq!(env.schedule_target(SCHEDULE), "watched");
}

#[test]
fn a_throttled_account_still_gets_through() {
    // A token bucket far below the tool's appetite: the client's rate limit slows down instead
    // of failing.
    let mut definitions = Vec::new();
    for i in 0..4 {
        definitions.push(definition(
            Kind::DataQuality,
            noncompliant(Kind::DataQuality, &format!("dq-{i}"), &[]),
        ));
    }
    let env = Env::start(
        Seed {
            definitions,
            ..Seed::default()
        },
        Behaviour {
            throttle: Some(sm_emulator::Throttle {
                rate_per_second: 20.0,
                burst: 5,
            }),
            ..quick_behaviour()
        },
    );
    let output = env.run(&["apply", "--yes", "--format", "json"]);
    assert_eq!(code(&output), 0, "{}", show(&output));
    assert_eq!(stdout_json(&output)["summary"], json!({"recreated": 4}));
    assert!(
        env.calls()
            .iter()
            .any(|c| c.outcome == "ThrottlingException"),
        "the bucket ran dry"
    );
    env.clear_faults();
    for i in 0..4 {
        assert_recreated(&env, Kind::DataQuality, &format!("dq-{i}"));
    }
}
