//! Names as AWS may compare them (I8): a finding whose ARN lower-cases a definition's name selects
//! it, in a plan and in an apply; a schedule that names its definition in another case is shown
//! in the plan and moved by the apply. The real binary, over HTTP, against the emulator started
//! in this process (which, like our guess of the service, compares names case-insensitively:
//! AWS-FACTS #2).

mod support;

use serde_json::{Value, json};
use sm_emulator::Seed;
use sm_recreate::kinds::Kind;
use sm_recreate::request::temporary_name;
use sm_testkit::{client, delete_definition, describe_definition};
use support::apply::{Env, definition, flag_of, noncompliant, schedule};
use support::{
    ACCOUNT, REGION, Sandbox, actions, code, report_status, seed, show, stderr_text, stdout_json,
};

const KIND: Kind = Kind::DataQuality;

/// `Churn-DQ` (no schedule), `Mixed-Sched` with the schedule `sched-case` naming it
/// `mixed-sched`, and a bystander: all three non-compliant (as in shared/repro/seed1.json).
fn mixed_case_seed() -> Seed {
    seed(
        vec![
            definition(
                KIND,
                noncompliant(KIND, "Churn-DQ", &[("team", "retention")]),
            ),
            definition(
                KIND,
                noncompliant(KIND, "Mixed-Sched", &[("team", "retention")]),
            ),
            definition(KIND, noncompliant(KIND, "bystander", &[])),
        ],
        vec![schedule("sched-case", KIND, "mixed-sched")],
    )
}

/// A failing SageMaker.9 finding for `arn`, as `aws securityhub get-findings` exports it.
fn finding(arn: &str) -> Value {
    json!({
        "SchemaVersion": "2018-10-08",
        "Id": format!("finding/SageMaker.9/{arn}"),
        "ProductArn": "arn:aws:securityhub:us-east-1::product/aws/securityhub",
        "GeneratorId": "security-control/SageMaker.9",
        "AwsAccountId": ACCOUNT,
        "Compliance": {"Status": "FAILED", "SecurityControlId": "SageMaker.9"},
        "RecordState": "ACTIVE",
        "Resources": [{"Type": "Other", "Id": arn, "Partition": "aws", "Region": REGION}],
    })
}

/// The plan item named `name` in a JSON plan document.
fn item<'a>(document: &'a Value, name: &str) -> &'a Value {
    document["items"]
        .as_array()
        .expect("items array")
        .iter()
        .find(|i| i["name"] == name)
        .unwrap_or_else(|| panic!("no plan item {name}: {document:#}"))
}

#[test]
fn a_finding_whose_arn_lower_cases_the_name_selects_the_definition() {
    let sandbox = Sandbox::start(mixed_case_seed());
    let arn = format!(
        "arn:aws:sagemaker:{REGION}:{ACCOUNT}:{}/churn-dq",
        KIND.arn_type()
    );
    let findings = sandbox
        .workdir
        .write_json("findings.json", &json!({"Findings": [finding(&arn)]}));
    let output = sandbox
        .cmd()
        .args(["plan", "--format", "json", "--from-findings"])
        .arg(&findings)
        .output()
        .expect("plan");
    assert_eq!(code(&output), 0, "{}", show(&output));
    let document = stdout_json(&output);
    assert_eq!(
        actions(&document),
        [("Churn-DQ".to_owned(), "recreate".to_owned())],
        "{document:#}"
    );
    let stderr = stderr_text(&output);
    assert!(!stderr.contains("no longer exists"), "{stderr}");
    assert!(sandbox.mutating_calls().is_empty());
}

#[test]
fn the_plan_shows_a_schedule_that_names_the_definition_in_another_case() {
    let sandbox = Sandbox::start(mixed_case_seed());
    let output = sandbox
        .cmd()
        .args(["plan", "--format", "json", "--name", "Mixed-Sched"])
        .output()
        .expect("plan");
    assert_eq!(code(&output), 0, "{}", show(&output));
    let document = stdout_json(&output);
    let mixed = item(&document, "Mixed-Sched");
    assert_eq!(mixed["action"], "recreate", "{document:#}");
    let schedules: Vec<&str> = mixed["schedules"]
        .as_array()
        .expect("schedules array")
        .iter()
        .map(|s| s["name"].as_str().expect("schedule name"))
        .collect();
    assert_eq!(schedules, ["sched-case"], "{document:#}");

    let text = sandbox
        .cmd()
        .args(["plan", "--name", "Mixed-Sched"])
        .output()
        .expect("plan");
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("sched-case"),
        "{}",
        show(&text)
    );
}

/// Moving the schedule compares its target with `kinds::same_name`: an exact comparison left
/// `sched-case` alone ("points at mixed-sched, not at Mixed-Sched") and rolled the run back.
#[test]
fn apply_recreates_a_definition_whose_schedule_names_it_in_another_case() {
    let env = Env::quick(mixed_case_seed());
    let before = env.definition(KIND, "Mixed-Sched").expect("seeded");
    let output = env.run(&["apply", "--yes", "--name", "Mixed-Sched"]);
    assert_eq!(code(&output), 0, "{}", show(&output));

    let after = env.definition(KIND, "Mixed-Sched").expect("recreated");
    assert_eq!(after["JobDefinitionName"], "Mixed-Sched");
    assert_eq!(flag_of(&after), Some(true));
    assert_ne!(
        after["CreationTime"], before["CreationTime"],
        "not recreated"
    );
    let target = env.schedule_target("sched-case");
    assert!(
        target.eq_ignore_ascii_case("Mixed-Sched"),
        "schedule points at {target}"
    );
    // The copy is gone, and nothing else was touched.
    let temporary = temporary_name("Mixed-Sched");
    let names = env.emulator.definition_names(REGION, KIND);
    assert!(
        !names.iter().any(|n| n.eq_ignore_ascii_case(&temporary)),
        "{names:?}"
    );
    assert_eq!(
        flag_of(&env.definition(KIND, "Churn-DQ").expect("untouched")),
        Some(false)
    );
}

/// The emulator's side of the guess (AWS-FACTS #2): describe finds a definition in any case, and
/// a schedule naming it in another case blocks its deletion — the behaviour the tool must survive.
#[test]
fn the_emulator_compares_definition_names_case_insensitively() {
    let sandbox = Sandbox::start(mixed_case_seed());
    let client = client(&sandbox.emulator, REGION);
    let described = sandbox
        .block_on(describe_definition(&client, KIND, "mixed-sched"))
        .expect("describe in another case");
    assert_eq!(described.name, "Mixed-Sched");
    let refused = sandbox
        .block_on(delete_definition(&client, KIND, "Mixed-Sched"))
        .expect_err("a schedule names it as mixed-sched");
    assert_eq!(refused.code(), "ResourceInUse");
    assert!(
        sandbox
            .emulator
            .definition(REGION, KIND, "Mixed-Sched")
            .is_some()
    );
}

/// Issue 7, defect 5 (I8): a findings export whose ARN lowercases the name (`churn-dq` for
/// `Churn-DQ`) resolved to nothing ("Nothing to recreate", exit 0). Finding ARNs match
/// definitions case-insensitively: the apply recreates `Churn-DQ`.
#[test]
fn apply_from_findings_recreates_a_definition_whose_arn_lower_cases_its_name() {
    let kind = Kind::DataQuality;
    let env = Env::quick(mixed_case_seed());
    let before = env.definition(kind, "Churn-DQ").expect("seeded");
    let arn = format!(
        "arn:aws:sagemaker:{REGION}:{ACCOUNT}:{}/churn-dq",
        kind.arn_type()
    );
    let findings = env
        .workdir
        .write_json("findings.json", &json!({"Findings": [finding(&arn)]}));
    let output = env.run(&[
        "apply",
        "--yes",
        "--format",
        "json",
        "--from-findings",
        findings.to_str().unwrap(),
    ]);
    let text = show(&output);
    assert_eq!(code(&output), 0, "{text}");
    assert_eq!(report_status(&output, "Churn-DQ"), "recreated", "{text}");
    assert!(env.is_fixed(kind, "Churn-DQ", &before), "{text}");
    let other = env.definition(kind, "Mixed-Sched").expect("untouched");
    assert_eq!(flag_of(&other), Some(false), "not in the findings: {text}");
}

/// Issue 7, defect 5 (I8): a schedule naming `mixed-sched` for the definition `Mixed-Sched` was
/// not shown in the plan, and apply always rolled back with `ResourceInUse`. Schedule references
/// match case-insensitively: the plan lists the schedule, and the apply recreates the definition
/// with the schedule moved and back on it.
#[test]
fn a_plan_file_lists_a_schedule_that_names_the_definition_in_another_case_and_apply_moves_it() {
    let kind = Kind::DataQuality;
    let env = Env::quick(mixed_case_seed());
    let before = env.definition(kind, "Mixed-Sched").expect("seeded");
    let plan = env.path("plan.json");
    let output = env.run(&[
        "plan",
        "--name",
        "Mixed-Sched",
        "--out",
        plan.to_str().unwrap(),
    ]);
    assert_eq!(code(&output), 0, "{}", show(&output));
    let document: Value =
        serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).expect("plan JSON");
    let item = &document["items"][0];
    assert_eq!(item["name"], json!("Mixed-Sched"), "{document}");
    assert!(
        item["schedules"].to_string().contains("sched-case"),
        "the plan does not show the schedule: {}",
        item["schedules"]
    );
    let output = env.run(&["apply", plan.to_str().unwrap(), "--yes", "--format", "json"]);
    let text = show(&output);
    assert_eq!(code(&output), 0, "{text}");
    assert_eq!(report_status(&output, "Mixed-Sched"), "recreated", "{text}");
    assert!(env.is_fixed(kind, "Mixed-Sched", &before), "{text}");
    assert!(
        env.schedule_target("sched-case")
            .eq_ignore_ascii_case("Mixed-Sched"),
        "the schedule is on {}\n{text}",
        env.schedule_target("sched-case")
    );
    assert_eq!(env.copies(kind, "Mixed-Sched"), Vec::<String>::new());
}
