//! How scan and plan read to a person: the text, markdown and JSON renderings pinned by insta
//! snapshots (`tests/snapshots/render__*.snap`, over an account with a pinned `CreationTime`),
//! colour only with `--color always`, and `Environment` values shown only in the text diff with
//! `--show-secrets`, never in markdown, JSON, logs or a plan file. The real binary, over HTTP,
//! against the emulator started in this process.

mod support;

use serde_json::{Value, json};
use sm_emulator::Seed;
use sm_recreate::kinds::Kind;
use support::{
    ACCOUNT, DEMO_SECRET, Flag, Sandbox, definition_request, seed, seed_definition, seed_schedule,
    stderr_text, stdout_text,
};

const US: &str = "us-east-1";

/// An `Environment` value the renderings must hide unless `--show-secrets`.
const LEAKY_SECRET: &str = "tok-LEAKY-0123456789";

/// A data-quality definition whose `Environment` sits right before where the diff inserts
/// `NetworkConfig`, so a diff shows it whenever it is not redacted.
fn leaky_definition() -> Value {
    json!({
        "JobDefinitionName": "leaky-data-quality",
        "DataQualityJobInput": {"EndpointInput": {"EndpointName": "leaky", "LocalPath": "/opt/ml/processing/input"}},
        "DataQualityJobOutputConfig": {"MonitoringOutputs": [{"S3Output": {"S3Uri": "s3://bucket/leaky", "LocalPath": "/opt/ml/processing/output"}}]},
        "JobResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 20}},
        "RoleArn": format!("arn:aws:iam::{ACCOUNT}:role/monitor"),
        "DataQualityAppSpecification": {
            "ImageUri": "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer",
            "Environment": {"API_TOKEN": LEAKY_SECRET},
        },
    })
}

#[test]
fn environment_values_appear_only_in_text_with_show_secrets() {
    let mut seed = Seed::demo();
    seed.definitions
        .push(seed_definition(US, Kind::DataQuality, leaky_definition()));
    let sandbox = Sandbox::start(seed);
    let out = sandbox.workdir.file("plan.json");
    let run = |args: &[&str]| {
        let output = sandbox.cmd().args(args).output().expect("run");
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?}: {}",
            stderr_text(&output)
        );
        for secret in [DEMO_SECRET, LEAKY_SECRET] {
            assert!(
                !stderr_text(&output).contains(secret),
                "{args:?} logs a secret"
            );
        }
        stdout_text(&output)
    };

    // With --show-secrets the text diff shows the value: proof that the diff reaches it.
    let shown = run(&["plan", "--show-secrets"]);
    assert!(
        shown.contains(&format!("\"API_TOKEN\": \"{LEAKY_SECRET}\"")),
        "{shown}"
    );

    let redacted = run(&["plan"]);
    assert!(
        redacted.contains("\"API_TOKEN\": \"(redacted)\""),
        "{redacted}"
    );
    for args in [
        &["plan"][..],
        &["plan", "--format", "markdown"],
        &["plan", "--format", "json"],
        &["plan", "--format", "markdown", "--show-secrets"],
        &["plan", "--format", "json", "--show-secrets"],
        &["scan"],
        &["scan", "--format", "markdown"],
        &["scan", "--format", "json"],
    ] {
        let stdout = run(args);
        assert!(
            !stdout.contains(DEMO_SECRET) && !stdout.contains(LEAKY_SECRET),
            "{args:?} shows a secret:\n{stdout}"
        );
    }
    // The plan file never holds one, even when the text on stdout shows them.
    let shown = run(&[
        "plan",
        "--show-secrets",
        "--include-managed",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert!(shown.contains(LEAKY_SECRET));
    let file = std::fs::read_to_string(&out).expect("plan file");
    assert!(
        !file.contains(DEMO_SECRET) && !file.contains(LEAKY_SECRET),
        "the plan file holds a secret"
    );
    assert!(file.contains("(redacted)"));
}

#[test]
fn color_follows_the_color_flag() {
    let sandbox = Sandbox::start(Seed::demo());
    let plain = stdout_text(&sandbox.cmd().arg("plan").output().expect("plan"));
    assert!(!plain.contains('\u{1b}'), "--color never");
    let coloured = stdout_text(
        &sandbox
            .bare_cmd()
            .args(["--color", "always", "plan"])
            .output()
            .expect("plan"),
    );
    assert!(
        coloured.contains("\u{1b}[31m-    \"EnableInterContainerTrafficEncryption\": false,"),
        "{coloured}"
    );
    assert!(
        coloured.contains("\u{1b}[32m+    \"EnableInterContainerTrafficEncryption\": true,"),
        "{coloured}"
    );
}

/// A small account exercising every element of the renderings: a compliant definition, a
/// recreate with a schedule and tags, a CloudFormation-managed definition, and a recreate whose
/// diff reaches an `Environment` value.
fn rendering_seed() -> Seed {
    let mut explainability = definition_request(
        Kind::ModelExplainability,
        "billing-model-explainability",
        Flag::NoNetworkConfig,
        1,
        &[],
    );
    let members = explainability.as_object_mut().expect("object");
    let mut app = members
        .shift_remove("ModelExplainabilityAppSpecification")
        .expect("app spec");
    app["Environment"] = json!({"API_TOKEN": LEAKY_SECRET});
    members.insert("ModelExplainabilityAppSpecification".to_owned(), app);
    let mut seed = seed(
        vec![
            seed_definition(
                US,
                Kind::DataQuality,
                definition_request(
                    Kind::DataQuality,
                    "billing-data-quality",
                    Flag::Off,
                    2,
                    &[("team", "billing")],
                ),
            ),
            seed_definition(
                US,
                Kind::DataQuality,
                definition_request(
                    Kind::DataQuality,
                    "billing-data-quality-v2",
                    Flag::On,
                    2,
                    &[("team", "billing")],
                ),
            ),
            seed_definition(
                US,
                Kind::ModelBias,
                definition_request(
                    Kind::ModelBias,
                    "billing-model-bias",
                    Flag::Off,
                    1,
                    &[
                        ("aws:cloudformation:stack-name", "billing-monitoring"),
                        ("aws:cloudformation:logical-id", "BiasJob"),
                        ("team", "billing"),
                    ],
                ),
            ),
            seed_definition(US, Kind::ModelExplainability, explainability),
        ],
        Vec::new(),
    );
    seed.schedules.push(seed_schedule(
        US,
        "billing-data-quality-hourly",
        Kind::DataQuality,
        "billing-data-quality",
    ));
    seed
}

fn rendering_sandbox() -> Sandbox {
    let seed = rendering_seed();
    let sandbox = Sandbox::start(seed.clone());
    sandbox.pin_creation_times(&seed);
    sandbox
}

#[test]
fn the_scan_table_matches_its_snapshot() {
    let sandbox = rendering_sandbox();
    let output = sandbox.cmd().arg("scan").output().expect("scan");
    assert_eq!(output.status.code(), Some(0));
    insta::assert_snapshot!("scan_text", stdout_text(&output));
}

#[test]
fn the_plan_text_matches_its_snapshot() {
    let sandbox = rendering_sandbox();
    let output = sandbox.cmd().arg("plan").output().expect("plan");
    assert_eq!(output.status.code(), Some(0));
    insta::assert_snapshot!("plan_text", stdout_text(&output));
}

#[test]
fn the_plan_text_with_managed_definitions_matches_its_snapshot() {
    let sandbox = rendering_sandbox();
    let output = sandbox
        .cmd()
        .args(["plan", "--include-managed"])
        .output()
        .expect("plan");
    assert_eq!(output.status.code(), Some(0));
    insta::assert_snapshot!("plan_text_include_managed", stdout_text(&output));
}

#[test]
fn the_plan_markdown_matches_its_snapshot() {
    let sandbox = rendering_sandbox();
    let output = sandbox
        .cmd()
        .args(["plan", "--format", "markdown"])
        .output()
        .expect("plan");
    assert_eq!(output.status.code(), Some(0));
    insta::assert_snapshot!("plan_markdown", stdout_text(&output));
}
