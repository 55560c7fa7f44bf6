//! What `scan` finds and how it judges, end to end: every definition across pages, kinds and
//! regions, judged in both evaluations (`strict`, `config-rule`), with `--detailed-exitcode`;
//! failures while reading (a definition gone between list and describe, a kind that cannot be
//! listed, nothing readable at all, a transient list failure) reported without hiding the rest
//! and without passing an incomplete report for a whole one, in `plan` as in `scan`; and both only
//! read. The real binary, over HTTP, against the emulator started in this process: assertions on
//! what it prints (stdout data, stderr warnings, exit code) and on what the emulator saw.

mod support;

use serde_json::json;
use sm_emulator::{FaultRule, Seed};
use sm_recreate::kinds::Kind;
use std::collections::BTreeMap;
use support::{
    ACCOUNT, Flag, Sandbox, actions, definition_request, error_rule, seed, seed_definition,
    stderr_text, stdout_json, stdout_text, verdicts, with_faults,
};

const US: &str = "us-east-1";
const EU: &str = "eu-west-1";

/// The demo account's us-east-1 definitions and their strict verdicts (fixtures/README.md).
const DEMO_US_STRICT: [(&str, bool); 15] = [
    ("churn-data-quality", false),
    ("churn-model-bias", false),
    ("churn-model-explainability", false),
    ("churn-model-quality", true),
    ("fraud-data-quality", true),
    ("fraud-model-bias", false),
    ("fraud-model-explainability", true),
    ("fraud-model-quality", false),
    ("pricing-data-quality", false),
    ("pricing-model-bias", false),
    // Fails only SageMaker.20 (isolation): compliant for the default fix, encryption.
    ("pricing-model-explainability", true),
    ("pricing-model-quality", false),
    ("recsys-data-quality", true),
    ("recsys-model-bias", true),
    ("recsys-model-explainability", false),
];

fn sorted(pairs: &[(&str, bool)]) -> Vec<(String, bool)> {
    let mut pairs: Vec<(String, bool)> = pairs.iter().map(|(n, c)| ((*n).to_owned(), *c)).collect();
    pairs.sort();
    pairs
}

// ---------------------------------------------------------------------------------------------
// scan: completeness and verdicts
// ---------------------------------------------------------------------------------------------

/// How the large seed sets up definition `i` of a kind.
fn pattern(i: usize) -> (Flag, u64) {
    let flag = [Flag::On, Flag::Off, Flag::NoNetworkConfig][i % 3];
    (flag, 1 + (i % 2) as u64)
}

/// More data-quality definitions than one List page holds (the adapter asks for 100), and more
/// than the service's default page (10) of every other kind.
fn large_seed() -> (Seed, BTreeMap<String, (Flag, u64)>) {
    let counts = [
        (Kind::DataQuality, 120),
        (Kind::ModelExplainability, 11),
        (Kind::ModelQuality, 12),
        (Kind::ModelBias, 13),
    ];
    let mut expected = BTreeMap::new();
    let mut definitions = Vec::new();
    for (kind, count) in counts {
        for i in 0..count {
            let name = format!("{}-{i:03}", kind.cli_name());
            let (flag, instances) = pattern(i);
            let tags: &[(&str, &str)] = if i % 4 == 0 { &[("team", "ml")] } else { &[] };
            definitions.push(seed_definition(
                US,
                kind,
                definition_request(kind, &name, flag, instances, tags),
            ));
            expected.insert(name, (flag, instances));
        }
    }
    (seed(definitions, Vec::new()), expected)
}

#[test]
fn scan_finds_every_definition_across_pages_and_kinds_and_judges_each_in_both_modes() {
    let (seed, expected) = large_seed();
    let sandbox = Sandbox::start(seed);

    for (mode, rule) in [
        (
            "strict",
            (|f: Flag, _n: u64| f == Flag::On) as fn(Flag, u64) -> bool,
        ),
        ("config-rule", |f: Flag, n: u64| f == Flag::On || n < 2),
    ] {
        let output = sandbox
            .cmd()
            .args(["scan", "--format", "json", "--evaluation", mode])
            .output()
            .expect("run scan");
        assert_eq!(output.status.code(), Some(0), "{}", stderr_text(&output));
        let report = stdout_json(&output);
        assert_eq!(report["evaluation"], json!(mode));
        assert_eq!(report["summary"]["total"], json!(156));
        assert_eq!(report["problems"], json!([]));
        let want: Vec<(String, bool)> = expected
            .iter()
            .map(|(name, (flag, instances))| (name.clone(), rule(*flag, *instances)))
            .collect();
        assert_eq!(verdicts(&report), want, "{mode} verdicts");
        // Every entry names its kind's control and the rule that judged it.
        for entry in report["definitions"].as_array().expect("array") {
            let kind = Kind::from_cli_name(entry["kind"].as_str().expect("kind")).expect("kind");
            assert_eq!(entry["control"], json!(kind.control()));
            assert_eq!(entry["region"], json!(US));
            let name = entry["name"].as_str().expect("name");
            assert_eq!(
                entry["arn"],
                json!(format!(
                    "arn:aws:sagemaker:{US}:{ACCOUNT}:{}/{name}",
                    kind.arn_type()
                ))
            );
            let rule = if mode == "strict" {
                "strict".to_owned()
            } else {
                kind.info().config_rule.to_owned()
            };
            assert_eq!(entry["rule"], json!(rule));
        }
    }
    // 120 data-quality definitions at 100 a page take two List calls per scan.
    assert_eq!(sandbox.count("ListDataQualityJobDefinitions"), 4);
    assert_eq!(sandbox.count("DescribeDataQualityJobDefinition"), 240);
}

#[test]
fn scan_judges_the_demo_account_in_both_modes() {
    let sandbox = Sandbox::start(Seed::demo());
    let output = sandbox
        .cmd()
        .args(["scan", "--format", "json"])
        .output()
        .expect("scan");
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(verdicts(&stdout_json(&output)), sorted(&DEMO_US_STRICT));

    let output = sandbox
        .cmd()
        .args(["scan", "--format", "json", "--evaluation", "config-rule"])
        .output()
        .expect("scan");
    let report = stdout_json(&output);
    let non_compliant: Vec<String> = verdicts(&report)
        .into_iter()
        .filter(|(_, compliant)| !compliant)
        .map(|(name, _)| name)
        .collect();
    // Only the two multi-instance definitions without the flag fail the Config rules.
    assert_eq!(non_compliant, ["fraud-model-bias", "fraud-model-quality"]);
    let bias = report["definitions"]
        .as_array()
        .expect("array")
        .iter()
        .find(|d| d["name"] == "fraud-model-bias")
        .expect("fraud-model-bias");
    assert_eq!(bias["rule"], "sagemaker-model-bias-job-encrypt-in-transit");
    assert_eq!(bias["control"], "SageMaker.15");
    assert_eq!(bias["instance_count"], 2);
    assert_eq!(bias["schedules"], json!(["fraud-model-bias-daily"]));
}

#[test]
fn detailed_exitcode_is_3_when_something_fails_and_0_when_all_comply() {
    let demo = Sandbox::start(Seed::demo());
    demo.cmd()
        .args(["scan", "--detailed-exitcode"])
        .assert()
        .code(3);
    demo.cmd()
        .args(["plan", "--detailed-exitcode"])
        .assert()
        .code(3);
    // Without the flag, non-compliance is not an error.
    demo.cmd().arg("scan").assert().code(0);
    demo.cmd().arg("plan").assert().code(0);

    // Non-compliant only under strict: single-instance definitions without the flag.
    let single_instance = Sandbox::start(seed(
        vec![
            seed_definition(
                US,
                Kind::DataQuality,
                definition_request(Kind::DataQuality, "a", Flag::Off, 1, &[]),
            ),
            seed_definition(
                US,
                Kind::ModelBias,
                definition_request(Kind::ModelBias, "b", Flag::On, 3, &[]),
            ),
        ],
        Vec::new(),
    ));
    single_instance
        .cmd()
        .args(["scan", "--detailed-exitcode"])
        .assert()
        .code(3);
    single_instance
        .cmd()
        .args(["scan", "--detailed-exitcode", "--evaluation", "config-rule"])
        .assert()
        .code(0);
    single_instance
        .cmd()
        .args(["plan", "--detailed-exitcode", "--evaluation", "config-rule"])
        .assert()
        .code(0);
}

#[test]
fn scan_reports_both_regions_of_a_multi_region_run() {
    let sandbox = Sandbox::start(Seed::demo());
    let output = sandbox
        .cmd()
        .args(["--region", US, "--region", EU, "scan", "--format", "json"])
        .output()
        .expect("scan");
    assert_eq!(output.status.code(), Some(0), "{}", stderr_text(&output));
    let report = stdout_json(&output);
    assert_eq!(report["regions"], json!([US, EU]));
    // 15 definitions and 1 inline schedule in us-east-1, 1 definition in eu-west-1.
    assert_eq!(report["summary"]["total"], 17);
    let forecast = report["definitions"]
        .as_array()
        .expect("array")
        .iter()
        .find(|d| d["name"] == "forecast-batch-data-quality")
        .expect("the eu-west-1 definition is reported");
    assert_eq!(forecast["region"], EU);
    assert_eq!(forecast["compliant"], false);
    assert_eq!(
        forecast["arn"],
        json!(format!(
            "arn:aws:sagemaker:{EU}:{ACCOUNT}:data-quality-job-definition/forecast-batch-data-quality"
        ))
    );
    // Each region was listed with requests signed for it.
    for region in [US, EU] {
        assert!(
            sandbox
                .calls()
                .iter()
                .any(|c| c.operation == "ListModelBiasJobDefinitions" && c.region == region),
            "no ListModelBiasJobDefinitions signed for {region}"
        );
    }

    let output = sandbox
        .cmd()
        .args(["--region", EU, "scan", "--format", "json"])
        .output()
        .expect("scan");
    assert_eq!(
        verdicts(&stdout_json(&output)),
        [("forecast-batch-data-quality".to_owned(), false)]
    );
}

// ---------------------------------------------------------------------------------------------
// failures while reading
// ---------------------------------------------------------------------------------------------

#[test]
fn a_definition_deleted_between_list_and_describe_is_reported_not_fatal() {
    let sandbox = Sandbox::with_behaviour(
        Seed::demo(),
        with_faults(vec![error_rule(
            "DescribeModelBiasJobDefinition",
            Some("churn-model-bias"),
            "ResourceNotFound",
        )]),
    );
    let output = sandbox
        .cmd()
        .args(["scan", "--format", "json"])
        .output()
        .expect("scan");
    assert_eq!(output.status.code(), Some(0), "{}", stderr_text(&output));
    let stderr = stderr_text(&output);
    assert!(
        stderr.contains("churn-model-bias") && stderr.contains("deleted between list and describe"),
        "stderr: {stderr}"
    );
    let report = stdout_json(&output);
    assert_eq!(
        report["problems"],
        json!([{
            "account_id": sandbox.emulator.account_id(),
            "region": US, "kind": "model-bias", "name": "churn-model-bias",
            "message": "deleted between list and describe",
            "incomplete": false,
        }])
    );
    let want: Vec<(&str, bool)> = DEMO_US_STRICT
        .iter()
        .copied()
        .filter(|(name, _)| *name != "churn-model-bias")
        .collect();
    assert_eq!(verdicts(&report), sorted(&want));

    // The plan carries the problem too, and plans everything else.
    let output = sandbox
        .cmd()
        .args(["plan", "--format", "json"])
        .output()
        .expect("plan");
    assert_eq!(output.status.code(), Some(0), "{}", stderr_text(&output));
    let document = stdout_json(&output);
    assert_eq!(document["problems"][0]["name"], "churn-model-bias");
    // The other 14 definitions and the inline schedule.
    assert_eq!(document["items"].as_array().expect("items").len(), 15);
    assert!(
        !actions(&document)
            .iter()
            .any(|(name, _)| name == "churn-model-bias")
    );

    // In a change ticket it is a note, not a gap: nothing that exists was left out.
    let output = sandbox
        .cmd()
        .args(["plan", "--format", "markdown"])
        .output()
        .expect("plan");
    let markdown = stdout_text(&output);
    assert!(
        markdown.contains(
            "**Notes:**\n\n- model-bias `churn-model-bias` (us-east-1): deleted between list and describe\n"
        ) && !markdown.contains("Incomplete"),
        "{markdown}"
    );
}

#[test]
fn a_kind_that_cannot_be_listed_is_reported_without_hiding_the_rest() {
    let sandbox = Sandbox::with_behaviour(
        Seed::demo(),
        with_faults(vec![error_rule(
            "ListModelBiasJobDefinitions",
            None,
            "AccessDeniedException",
        )]),
    );
    let output = sandbox
        .cmd()
        .args(["scan", "--format", "json"])
        .output()
        .expect("scan");
    let stderr = stderr_text(&output);
    assert!(
        stderr.contains("could not list model-bias job definitions: ListModelBiasJobDefinitions failed: AccessDeniedException"),
        "stderr: {stderr}"
    );
    // The report stands, but the run is not a success: the output is not the whole truth.
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("the result is incomplete"), "{stderr}");
    let report = stdout_json(&output);
    let problems = report["problems"].as_array().expect("problems");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0]["kind"], "model-bias");
    assert_eq!(problems[0]["region"], US);
    assert_eq!(problems[0]["incomplete"], true);
    let want: Vec<(&str, bool)> = DEMO_US_STRICT
        .iter()
        .copied()
        .filter(|(name, _)| !name.ends_with("model-bias"))
        .collect();
    assert_eq!(verdicts(&report), sorted(&want));

    // The text rendering still lists the other kinds; the warning is on stderr, not in the data.
    let output = sandbox.cmd().arg("scan").output().expect("scan");
    let stdout = stdout_text(&output);
    assert!(stdout.contains("churn-data-quality"), "{stdout}");
    assert!(!stdout.contains("churn-model-bias"), "{stdout}");
    assert!(stderr_text(&output).contains("could not list model-bias"));

    let output = sandbox
        .cmd()
        .args(["plan", "--format", "json"])
        .output()
        .expect("plan");
    assert_eq!(output.status.code(), Some(1));
    let document = stdout_json(&output);
    assert_eq!(document["problems"][0]["kind"], "model-bias");
    assert_eq!(document["problems"][0]["incomplete"], true);
    assert_eq!(document["summary"]["recreate"], 5);
    // Even when asked for the non-compliance exit code, incompleteness wins.
    sandbox
        .cmd()
        .args(["scan", "--detailed-exitcode"])
        .assert()
        .code(1);

    // A change ticket (markdown, usually redirected to a file) says the plan is incomplete.
    for command in ["plan", "scan"] {
        let output = sandbox
            .cmd()
            .args([command, "--format", "markdown"])
            .output()
            .expect("run");
        let markdown = stdout_text(&output);
        assert!(
            markdown.contains("**Incomplete: not covered, because it could not be read:**")
                && markdown.contains(
                    "- model-bias (us-east-1): could not list model-bias job definitions"
                ),
            "{command}:\n{markdown}"
        );
    }
}

#[test]
fn a_run_that_can_read_nothing_is_an_error_not_an_empty_report() {
    let sandbox = Sandbox::with_behaviour(
        Seed::demo(),
        with_faults(
            Kind::ALL
                .iter()
                .map(|kind| {
                    error_rule(
                        &format!("List{}s", kind.api_noun()),
                        None,
                        "AccessDeniedException",
                    )
                })
                .collect(),
        ),
    );
    for command in ["scan", "plan"] {
        let output = sandbox.cmd().arg(command).output().expect("run");
        let stderr = stderr_text(&output);
        assert_eq!(output.status.code(), Some(2), "{command}: {stderr}");
        assert!(
            stderr.contains("could not read any job definitions")
                && stderr.contains("AccessDeniedException"),
            "{command}: {stderr}"
        );
        assert!(
            output.stdout.is_empty(),
            "{command} printed a report: {}",
            stdout_text(&output)
        );
    }
    assert_eq!(sandbox.mutating_calls(), []);
}

#[test]
fn a_transient_list_failure_is_retried_and_nothing_is_lost() {
    let sandbox = Sandbox::with_behaviour(
        Seed::demo(),
        with_faults(vec![FaultRule {
            nth: Some(1),
            ..error_rule("ListDataQualityJobDefinitions", None, "InternalFailure")
        }]),
    );
    let output = sandbox
        .cmd()
        .args(["scan", "--format", "json"])
        .output()
        .expect("scan");
    assert_eq!(output.status.code(), Some(0));
    let report = stdout_json(&output);
    assert_eq!(report["problems"], json!([]));
    assert_eq!(verdicts(&report), sorted(&DEMO_US_STRICT));
    assert_eq!(sandbox.count("ListDataQualityJobDefinitions"), 2);
}

// ---------------------------------------------------------------------------------------------
// read-only
// ---------------------------------------------------------------------------------------------

#[test]
fn scan_and_plan_send_no_mutating_request() {
    let sandbox = Sandbox::start(Seed::demo());
    let out = sandbox.workdir.file("plan.json");
    let regions = ["--region", US, "--region", EU];
    for format in ["text", "json", "markdown"] {
        sandbox
            .cmd()
            .args(regions)
            .args(["scan", "--format", format])
            .assert()
            .success();
        sandbox
            .cmd()
            .args(regions)
            .args([
                "scan",
                "--format",
                format,
                "--evaluation",
                "config-rule",
                "--detailed-exitcode",
            ])
            .assert()
            .code(3);
        sandbox
            .cmd()
            .args(regions)
            .args(["plan", "--format", format, "--out"])
            .arg(&out)
            .assert()
            .success();
        sandbox
            .cmd()
            .args(regions)
            .args([
                "plan",
                "--format",
                format,
                "--include-managed",
                "--show-secrets",
                "--detailed-exitcode",
            ])
            .assert()
            .code(3);
    }
    let calls = sandbox.calls();
    // The runs did read: every kind, tags, schedules, the caller's account.
    for operation in [
        "ListDataQualityJobDefinitions",
        "DescribeModelExplainabilityJobDefinition",
        "ListTags",
        "ListMonitoringSchedules",
        "GetCallerIdentity",
    ] {
        assert!(
            calls.iter().any(|c| c.operation == operation),
            "no {operation}"
        );
    }
    assert_eq!(sandbox.mutating_calls(), [], "scan and plan only read");
}
