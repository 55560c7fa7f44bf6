//! Choosing what scan and plan look at: `--kind`, `--control` and `--name` (repeated flags widen,
//! different flags narrow, and only what is selected is listed and described), and
//! `--from-findings`, a Security Hub export whose failing findings name the definitions and the
//! regions. Malformed or unrelated findings, findings from another account and bad selection
//! flags are usage errors (exit 2) before any SageMaker call. The real binary, over HTTP, against
//! the emulator started in this process.

mod support;

use serde_json::{Value, json};
use sm_emulator::Seed;
use sm_recreate::kinds::Kind;
use support::{ACCOUNT, Sandbox, actions, stderr_text, stdout_json};

const US: &str = "us-east-1";
const EU: &str = "eu-west-1";

#[test]
fn plan_selects_by_kind_control_and_name() {
    let sandbox = Sandbox::start(Seed::demo());
    let names = |args: &[&str]| -> Vec<(String, String)> {
        let output = sandbox
            .cmd()
            .arg("plan")
            .args(args)
            .args(["--format", "json"])
            .output()
            .expect("plan");
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?}: {}",
            stderr_text(&output)
        );
        actions(&stdout_json(&output))
    };
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(n, a)| ((*n).to_owned(), (*a).to_owned()))
            .collect()
    };

    assert_eq!(
        names(&["--kind", "model-bias"]),
        pairs(&[
            ("churn-model-bias", "recreate"),
            ("fraud-model-bias", "recreate"),
            ("pricing-model-bias", "recreate"),
            ("recsys-model-bias", "compliant")
        ])
    );
    assert_eq!(
        names(&["--control", "SageMaker.13"]),
        pairs(&[
            ("churn-model-quality", "compliant"),
            ("fraud-model-quality", "recreate"),
            ("pricing-model-quality", "recreate")
        ])
    );
    assert_eq!(
        names(&["--name", "fraud-*"]),
        pairs(&[
            ("fraud-data-quality", "compliant"),
            ("fraud-model-explainability", "compliant"),
            ("fraud-model-quality", "recreate"),
            ("fraud-model-bias", "recreate"),
        ])
    );
    // Repeated flags widen the selection; kinds and names narrow each other.
    assert_eq!(
        names(&[
            "--kind",
            "data-quality",
            "--control",
            "15",
            "--name",
            "churn-*",
            "--name",
            "*-?ata-quality"
        ]),
        pairs(&[
            ("churn-data-quality", "recreate"),
            ("fraud-data-quality", "compliant"),
            ("pricing-data-quality", "skip"),
            ("recsys-data-quality", "compliant"),
            ("churn-model-bias", "recreate"),
        ])
    );

    // A kind selection lists only that kind; a name selection describes only matching names.
    let before = sandbox.calls().len();
    names(&["--kind", "model-bias", "--name", "fraud-*"]);
    let calls = &sandbox.calls()[before..];
    let lists: Vec<&str> = calls
        .iter()
        .filter(|c| c.operation.starts_with("List") && c.operation.ends_with("JobDefinitions"))
        .map(|c| c.operation.as_str())
        .collect();
    assert_eq!(lists, ["ListModelBiasJobDefinitions"]);
    let described: Vec<&str> = calls
        .iter()
        .filter(|c| c.operation.starts_with("Describe"))
        .filter_map(|c| c.name.as_deref())
        .collect();
    assert_eq!(described, ["fraud-model-bias"]);
}

fn finding(status: &str, control: &str, arn: &str) -> Value {
    json!({
        "SchemaVersion": "2018-10-08",
        "Id": format!("finding/{control}/{arn}"),
        "ProductArn": "arn:aws:securityhub:us-east-1::product/aws/securityhub",
        "GeneratorId": format!("security-control/{control}"),
        "AwsAccountId": ACCOUNT,
        "Title": "SageMaker job definitions should enable inter-container traffic encryption",
        "Compliance": {"Status": status, "SecurityControlId": control},
        "RecordState": "ACTIVE",
        "Resources": [{"Type": "Other", "Id": arn, "Partition": "aws", "Region": arn.split(':').nth(3).unwrap_or("")}],
    })
}

fn definition_arn(region: &str, kind: Kind, name: &str) -> String {
    format!(
        "arn:aws:sagemaker:{region}:{ACCOUNT}:{}/{name}",
        kind.arn_type()
    )
}

#[test]
fn from_findings_acts_on_the_failing_definitions_in_the_regions_the_findings_name() {
    let sandbox = Sandbox::start(Seed::demo());
    let mut archived = finding(
        "FAILED",
        "SageMaker.15",
        &definition_arn(US, Kind::ModelBias, "churn-model-bias"),
    );
    archived["RecordState"] = json!("ARCHIVED");
    let findings = sandbox.workdir.write_json(
        "findings.json",
        &json!({"Findings": [
            finding("FAILED", "SageMaker.9", &definition_arn(US, Kind::DataQuality, "churn-data-quality")),
            finding("FAILED", "SageMaker.9", &definition_arn(EU, Kind::DataQuality, "forecast-batch-data-quality")),
            finding("PASSED", "SageMaker.13", &definition_arn(US, Kind::ModelQuality, "fraud-model-quality")),
            archived,
            finding("FAILED", "S3.1", "arn:aws:s3:::some-bucket"),
        ]}),
    );
    // No --region: the regions come from the findings, not from AWS_REGION alone.
    let output = sandbox
        .cmd()
        .args(["plan", "--format", "json", "--from-findings"])
        .arg(&findings)
        .output()
        .expect("plan");
    assert_eq!(output.status.code(), Some(0), "{}", stderr_text(&output));
    let document = stdout_json(&output);
    assert_eq!(document["regions"], json!([EU, US]));
    assert_eq!(
        actions(&document),
        [
            (
                "forecast-batch-data-quality".to_owned(),
                "recreate".to_owned()
            ),
            ("churn-data-quality".to_owned(), "recreate".to_owned()),
        ]
    );
    assert!(sandbox.calls().iter().any(|c| c.region == EU));
    assert!(sandbox.mutating_calls().is_empty());
}

#[test]
fn malformed_or_unrelated_findings_are_usage_errors_before_any_call() {
    let sandbox = Sandbox::start(Seed::demo());
    let workdir = &sandbox.workdir;
    let not_json = workdir.file("not-json.json");
    std::fs::write(&not_json, "{\"Findings\": [").expect("write");
    let cases = [
        (not_json, "is not JSON"),
        (
            workdir.write_json("unrelated.json", &json!({"Findings": [finding("FAILED", "S3.1", "arn:aws:s3:::b")]})),
            "none of its 1 findings is for SageMaker.9, SageMaker.10",
        ),
        (
            workdir.write_json("wrong-shape.json", &json!({"findings": []})),
            "expected an object with a `Findings` array",
        ),
        (
            workdir.write_json(
                "mismatched.json",
                &json!({"Findings": [finding("FAILED", "SageMaker.9", &definition_arn(US, Kind::ModelBias, "x"))]}),
            ),
            "is for SageMaker.9 but names a model-bias ARN",
        ),
        (workdir.file("missing.json"), "cannot read findings file"),
    ];
    for (path, message) in cases {
        for command in ["scan", "plan"] {
            let output = sandbox
                .cmd()
                .args([command, "--from-findings"])
                .arg(&path)
                .output()
                .expect("run");
            let stderr = stderr_text(&output);
            assert_eq!(
                output.status.code(),
                Some(2),
                "{}: {stderr}",
                path.display()
            );
            assert!(
                stderr.contains(message),
                "{}: expected {message:?} in {stderr}",
                path.display()
            );
            assert!(output.stdout.is_empty(), "no data on a usage error");
        }
    }
    assert_eq!(sandbox.calls(), [], "nothing was called");
}

#[test]
fn findings_from_another_account_are_refused_before_any_sagemaker_call() {
    let sandbox = Sandbox::start(Seed::demo());
    let foreign =
        "arn:aws:sagemaker:us-east-1:999999999999:data-quality-job-definition/churn-data-quality";
    let findings = sandbox.workdir.write_json(
        "foreign.json",
        &json!({"Findings": [finding("FAILED", "SageMaker.9", foreign)]}),
    );
    let output = sandbox
        .cmd()
        .args(["plan", "--from-findings"])
        .arg(&findings)
        .output()
        .expect("plan");
    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr_text(&output);
    assert!(
        stderr.contains("999999999999") && stderr.contains(ACCOUNT),
        "{stderr}"
    );
    let operations: Vec<String> = sandbox.calls().into_iter().map(|c| c.operation).collect();
    assert_eq!(operations, ["GetCallerIdentity"]);
}

#[test]
fn bad_selection_flags_exit_2_before_any_call() {
    let sandbox = Sandbox::start(Seed::demo());
    let cases: [(&[&str], &str); 11] = [
        (
            &["scan", "--kind", "data-qualty"],
            "unknown kind `data-qualty`",
        ),
        (
            &["plan", "--kind", "model_bias"],
            "unknown kind `model_bias`",
        ),
        (
            &["scan", "--control", "SageMaker.4"],
            "`SageMaker.4` is not a control this tool fixes",
        ),
        (
            &[
                "plan",
                "--kind",
                "notebook-instance",
                "--subnet",
                "subnet-xyz",
            ],
            "`subnet-xyz` is not a subnet id",
        ),
        (
            &[
                "apply",
                "--yes",
                "--control",
                "SageMaker.1",
                "--kms-key",
                "my key",
            ],
            "`my key` is not a KMS key",
        ),
        (
            &[
                "plan",
                "--control",
                "SageMaker.2",
                "--security-group",
                "sg-01234567",
            ],
            "--security-group needs --subnet",
        ),
        (
            &["plan", "--kind", "notebook-instance", "--fix", "isolation"],
            "only notebook instances are selected",
        ),
        (
            &[
                "scan",
                "--control",
                "SageMaker.3",
                "--from-findings",
                "findings.json",
            ],
            "notebook instances cannot be selected by Security Hub findings",
        ),
        (
            &["plan", "--name", "churn_*"],
            "`churn_*` is not a name pattern",
        ),
        (
            &["--region", "useast1", "scan"],
            "`useast1` is not an AWS region name",
        ),
        (
            &["plan", "--out", "no/such/dir/plan.json"],
            "directory no/such/dir does not exist",
        ),
    ];
    for (args, message) in cases {
        let output = sandbox.cmd().args(args).output().expect("run");
        let stderr = stderr_text(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(message),
            "{args:?}: expected {message:?} in {stderr}"
        );
        assert!(
            stderr.contains("hint:") || args.contains(&"--out"),
            "{args:?} gives a hint: {stderr}"
        );
    }
    assert_eq!(sandbox.calls(), [], "nothing was called");
}

/// What the emulator's Security Hub generates is what `--from-findings` reads: every ACTIVE
/// FAILED finding's resource, and nothing else, comes back from the findings parser.
#[test]
fn the_emulators_security_hub_findings_round_trip_through_the_findings_parser() {
    use sm_recreate::plan::selection::parse_findings;
    use sm_recreate::resource::ResourceId;
    for seed in [Seed::demo(), Seed::demo_organization()] {
        let sandbox = Sandbox::start(seed);
        let findings = sandbox.emulator.findings();
        let failing: std::collections::BTreeSet<&str> = findings
            .iter()
            .filter(|f| f["Compliance"]["Status"] == "FAILED" && f["RecordState"] == "ACTIVE")
            .map(|f| f["Resources"][0]["Id"].as_str().expect("a resource ARN"))
            .collect();
        assert!(failing.len() >= 2, "{failing:?}");
        let parsed = parse_findings(&json!({ "Findings": findings })).expect("parses");
        assert_eq!(parsed.len(), failing.len(), "{parsed:?}");
        for arn in failing {
            if let Some(definition) = sm_kinds::DefinitionArn::parse(arn) {
                let id = ResourceId::definition(
                    &definition.account_id,
                    &definition.region,
                    definition.kind,
                    &definition.name,
                );
                assert!(parsed.contains(&id), "{arn}");
            }
        }
    }
}
