//! What reading an account costs: a definition the run's fixes pass costs its describe alone;
//! only those a plan could change (they fail the selected fixes, under the evaluation asked for)
//! have their tags listed, which the create request, the CloudFormation check and the diff need.
//! Counted through the emulator's call log, for scan and plan, both evaluations, `--fix`, and
//! schedules with an inline job definition; and what is shown is unchanged for failing ones.

mod support;

use serde_json::{Value, json};
use sm_emulator::{RecordedCall, Seed, SeedSchedule};
use sm_recreate::kinds::Kind;
use std::collections::BTreeSet;
use support::inline::inline_config;
use support::{Flag, REGION, Sandbox, definition_request, seed_definition, stdout_json};

const STACK_TAGS: [(&str, &str); 2] = [
    ("aws:cloudformation:stack-name", "monitoring"),
    ("aws:cloudformation:logical-id", "Job"),
];

/// `compliant` definitions that pass every check, `failing` ones with encryption off on two
/// instances (failing in both evaluations), each spread over the four kinds; the first of each
/// is owned by a CloudFormation stack.
fn mixed_seed(compliant: usize, failing: usize) -> Seed {
    let mut definitions = Vec::new();
    for i in 0..compliant {
        let kind = Kind::ALL[i % 4];
        let tags: &[(&str, &str)] = if i == 0 {
            &STACK_TAGS
        } else {
            &[("team", "ml")]
        };
        let request = definition_request(kind, &format!("ok-{i}"), Flag::On, 2, tags);
        definitions.push(seed_definition(REGION, kind, request));
    }
    for i in 0..failing {
        let kind = Kind::ALL[i % 4];
        let tags: &[(&str, &str)] = if i == 0 {
            &STACK_TAGS
        } else {
            &[("team", "ml")]
        };
        let request = definition_request(kind, &format!("bad-{i}"), Flag::Off, 2, tags);
        definitions.push(seed_definition(REGION, kind, request));
    }
    Seed {
        definitions,
        ..Seed::default()
    }
}

fn describes(calls: &[RecordedCall]) -> usize {
    calls
        .iter()
        .filter(|c| c.operation.starts_with("Describe") && c.operation.ends_with("JobDefinition"))
        .count()
}

/// The names whose tags were listed, and how many `ListTags` calls there were.
fn tagged(calls: &[RecordedCall]) -> (BTreeSet<String>, usize) {
    let listed: Vec<&RecordedCall> = calls.iter().filter(|c| c.operation == "ListTags").collect();
    let names = listed.iter().filter_map(|c| c.name.clone()).collect();
    (names, listed.len())
}

fn names(prefix: &str, count: usize) -> BTreeSet<String> {
    (0..count).map(|i| format!("{prefix}-{i}")).collect()
}

/// Runs the binary with `args`; returns its JSON and the calls it made.
fn run(sandbox: &Sandbox, args: &[&str]) -> (Value, Vec<RecordedCall>) {
    let before = sandbox.calls().len();
    let output = sandbox.cmd().args(args).output().expect("run sm-recreate");
    let calls = sandbox.calls()[before..].to_vec();
    (stdout_json(&output), calls)
}

fn entry<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["definitions"]
        .as_array()
        .expect("definitions")
        .iter()
        .find(|d| d["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in {report}"))
}

#[test]
fn a_compliant_definition_costs_its_describe_and_a_failing_one_its_tags_too() {
    let (compliant, failing) = (7, 5);
    let sandbox = Sandbox::start(mixed_seed(compliant, failing));
    let (report, calls) = run(&sandbox, &["scan", "--format", "json"]);
    assert_eq!(describes(&calls), compliant + failing);
    assert_eq!(tagged(&calls), (names("bad", failing), failing));
    // What is shown of a failing definition needs its tags, and is there; a compliant one's
    // stack is not looked for (nothing acts on it).
    assert_eq!(entry(&report, "bad-0")["managed_by_stack"], "monitoring");
    assert_eq!(entry(&report, "ok-0")["compliant"], true);
    assert!(entry(&report, "ok-0").get("managed_by_stack").is_none());
    assert_eq!(report["summary"]["non_compliant"], failing);

    // A plan costs the same, and still skips the managed one unless told otherwise.
    let (document, calls) = run(&sandbox, &["plan", "--format", "json"]);
    assert_eq!(describes(&calls), compliant + failing);
    assert_eq!(tagged(&calls), (names("bad", failing), failing));
    let action = |document: &Value, name: &str| {
        document["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|i| i["name"] == name)
            .map(|i| i["action"].clone())
    };
    assert_eq!(action(&document, "bad-0"), Some(json!("skip")));
    assert_eq!(action(&document, "bad-1"), Some(json!("recreate")));
    assert_eq!(action(&document, "ok-0"), Some(json!("compliant")));
    let (document, _) = run(&sandbox, &["plan", "--format", "json", "--include-managed"]);
    assert_eq!(action(&document, "bad-0"), Some(json!("recreate")));
    let bad_1 = document["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "bad-1")
        .unwrap();
    assert_eq!(
        bad_1["before"]["Tags"],
        json!([{"Key": "team", "Value": "ml"}])
    );
    assert_eq!(sandbox.mutating_calls(), [], "scan and plan only read");
}

#[test]
fn which_tags_are_listed_follows_the_evaluation_and_the_fixes() {
    let mut seed = Seed::default();
    let mut add = |name: &str, encryption: bool, isolation: bool, instances: u64| {
        let kind = Kind::DataQuality;
        let mut request = definition_request(kind, name, Flag::On, instances, &[("t", "v")]);
        request["NetworkConfig"]["EnableInterContainerTrafficEncryption"] = json!(encryption);
        request["NetworkConfig"]["EnableNetworkIsolation"] = json!(isolation);
        seed.definitions
            .push(seed_definition(REGION, kind, request));
    };
    // Encryption off on one instance: fails `strict`, passes `config-rule`.
    add("single-off", false, true, 1);
    // Encryption off on two instances: fails both.
    add("double-off", false, true, 2);
    // Isolation off only: fails only when isolation is fixed.
    add("isolation-off", true, false, 2);
    add("all-on", true, true, 2);
    let sandbox = Sandbox::start(seed);
    let set =
        |names: &[&str]| -> BTreeSet<String> { names.iter().map(|n| (*n).to_owned()).collect() };

    let (_, calls) = run(&sandbox, &["scan", "--format", "json"]);
    assert_eq!(tagged(&calls), (set(&["double-off", "single-off"]), 2));
    let (_, calls) = run(
        &sandbox,
        &["scan", "--format", "json", "--evaluation", "config-rule"],
    );
    assert_eq!(tagged(&calls), (set(&["double-off"]), 1));
    let (_, calls) = run(
        &sandbox,
        &["scan", "--format", "json", "--fix", "isolation"],
    );
    assert_eq!(tagged(&calls), (set(&["isolation-off"]), 1));
    let (document, calls) = run(
        &sandbox,
        &[
            "plan",
            "--format",
            "json",
            "--fix",
            "encryption",
            "--fix",
            "isolation",
        ],
    );
    assert_eq!(
        tagged(&calls),
        (set(&["double-off", "isolation-off", "single-off"]), 3)
    );
    assert_eq!(describes(&calls), 4);
    assert_eq!(document["summary"]["recreate"], 3);
}

#[test]
fn an_inline_schedule_has_its_tags_listed_only_when_it_fails() {
    let schedule = |name: &str, encryption: bool| SeedSchedule {
        account_id: None,
        region: REGION.to_owned(),
        request: json!({
            "MonitoringScheduleName": name,
            "MonitoringScheduleConfig": inline_config(Some(json!({
                "EnableInterContainerTrafficEncryption": encryption,
                "EnableNetworkIsolation": false,
            }))),
            "Tags": [{"Key": "aws:cloudformation:stack-name", "Value": "schedules"}],
        }),
        status: None,
        last_monitoring_execution_summary: None,
    };
    let sandbox = Sandbox::start(Seed {
        schedules: vec![schedule("inline-off", false), schedule("inline-on", true)],
        ..Seed::default()
    });
    let (report, calls) = run(&sandbox, &["scan", "--format", "json"]);
    let described = calls
        .iter()
        .filter(|c| c.operation == "DescribeMonitoringSchedule")
        .count();
    assert_eq!(described, 2);
    assert_eq!(
        tagged(&calls),
        (["inline-off".to_owned()].into_iter().collect(), 1)
    );
    let schedules = report["schedules"].as_array().expect("schedules");
    let managed: Vec<(&Value, Option<&Value>)> = schedules
        .iter()
        .map(|s| (&s["name"], s.get("managed_by_stack")))
        .collect();
    assert_eq!(
        managed,
        [
            (&json!("inline-off"), Some(&json!("schedules"))),
            (&json!("inline-on"), None)
        ]
    );
}
