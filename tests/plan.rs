//! What `plan` proposes, end to end: a diff per definition to recreate that changes only the
//! flag, CloudFormation-managed definitions skipped unless `--include-managed` (and the reserved
//! tags that cannot follow named), one line when there is nothing to fix, and `--out`, a
//! checksummed plan file without secrets whose hashes are those `apply` will recompute. The real
//! binary, over HTTP, against the emulator started in this process.

mod support;

use serde_json::{Value, json};
use sm_emulator::Seed;
use sm_recreate::kinds::Kind;
use sm_recreate::plan::document::PlanDocument;
use sm_recreate::request::snapshot_hash;
use support::{
    DEMO_SECRET, Flag, Sandbox, definition_request, seed, seed_definition, stderr_text,
    stdout_json, stdout_text,
};

const US: &str = "us-east-1";
const EU: &str = "eu-west-1";

#[test]
fn plan_skips_cloudformation_managed_definitions_unless_included() {
    let sandbox = Sandbox::start(Seed::demo());
    let output = sandbox
        .cmd()
        .args(["plan", "--format", "json"])
        .output()
        .expect("plan");
    assert_eq!(output.status.code(), Some(0));
    let document = stdout_json(&output);
    let pricing = document["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["name"] == "pricing-data-quality")
        .expect("the managed definition is in the plan");
    assert_eq!(pricing["action"], "skip");
    let reason = pricing["reason"].as_str().expect("a skip has a reason");
    assert!(
        reason.contains("pricing-monitoring"),
        "names the stack: {reason}"
    );
    assert_eq!(
        document["summary"],
        json!({"recreate": 8, "update": 1, "compliant": 6, "skip": 1})
    );

    let text = stdout_text(&sandbox.cmd().arg("plan").output().expect("plan"));
    assert!(
        text.contains("pricing-data-quality (us-east-1) · SageMaker.9 · skip: managed by CloudFormation stack `pricing-monitoring`"),
        "{text}"
    );
    assert!(
        text.ends_with(
            "Plan: 8 to recreate, 1 schedule(s) to update in place, 6 compliant, 1 skipped in account 123456789012.\n"
        ),
        "{text}"
    );

    // --include-managed recreates it, and says which reserved tags cannot follow.
    let output = sandbox
        .cmd()
        .args(["plan", "--include-managed", "--format", "json"])
        .output()
        .expect("plan");
    let document = stdout_json(&output);
    let pricing = document["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["name"] == "pricing-data-quality")
        .expect("present");
    assert_eq!(pricing["action"], "recreate");
    let dropped: Vec<&str> = pricing["dropped_tags"]
        .as_array()
        .expect("dropped_tags")
        .iter()
        .map(|t| t.as_str().expect("key"))
        .collect();
    assert!(
        dropped.contains(&"aws:cloudformation:stack-name"),
        "{dropped:?}"
    );
    assert!(dropped.iter().all(|k| k.starts_with("aws:")), "{dropped:?}");
    let after_keys: Vec<&str> = pricing["after"]["Tags"]
        .as_array()
        .expect("after tags")
        .iter()
        .map(|t| t["Key"].as_str().expect("key"))
        .collect();
    assert!(
        after_keys.iter().all(|k| !k.starts_with("aws:")),
        "{after_keys:?}"
    );
    assert_eq!(
        pricing["after"]["NetworkConfig"]["EnableInterContainerTrafficEncryption"],
        true
    );

    let text = stdout_text(
        &sandbox
            .cmd()
            .args(["plan", "--include-managed"])
            .output()
            .expect("plan"),
    );
    assert!(text.contains("warning: AWS-reserved tags cannot be set again and will be dropped: aws:cloudformation:"), "{text}");
    assert!(
        text.contains("-      \"Key\": \"aws:cloudformation:stack-name\","),
        "the diff shows the dropped tag:\n{text}"
    );
    assert!(
        text.ends_with(
            "Plan: 9 to recreate, 1 schedule(s) to update in place, 6 compliant, 0 skipped in account 123456789012.\n"
        ),
        "{text}"
    );
}

#[test]
fn every_recreate_diff_changes_only_the_flag() {
    let sandbox = Sandbox::start(Seed::demo());
    let text = stdout_text(&sandbox.cmd().arg("plan").output().expect("plan"));
    let changed: Vec<&str> = text
        .lines()
        .filter(|l| {
            (l.starts_with('+') || l.starts_with('-'))
                && !l.starts_with("+++")
                && !l.starts_with("---")
        })
        .collect();
    for line in &changed {
        assert!(
            line.contains("EnableInterContainerTrafficEncryption")
                || line.contains("\"NetworkConfig\": {")
                || line.trim_start_matches(['+', '-']).trim() == "},"
                || line.trim_start_matches(['+', '-']).trim()
                    == "\"EnableNetworkIsolation\": true,"
                || line.trim_start_matches(['+', '-']).trim() == "\"EnableNetworkIsolation\": true",
            "unexpected changed line {line:?} in\n{text}"
        );
    }
    let turned_on = changed
        .iter()
        .filter(|l| {
            l.starts_with('+') && l.contains("\"EnableInterContainerTrafficEncryption\": true")
        })
        .count();
    // Eight definitions recreated and one inline schedule updated in place.
    assert_eq!(turned_on, 9, "one flag per fixed item:\n{text}");
    assert!(
        !changed
            .iter()
            .any(|l| l.starts_with('+') && l.contains("Encryption\": false"))
    );
}

#[test]
fn plan_out_writes_a_verifiable_secret_free_plan_file() {
    let sandbox = Sandbox::start(Seed::demo());
    let out = sandbox.workdir.file("plan.json");
    let output = sandbox
        .cmd()
        .args([
            "--region",
            US,
            "--region",
            EU,
            "plan",
            "--format",
            "json",
            "--show-secrets",
            "--out",
        ])
        .arg(&out)
        .output()
        .expect("plan");
    assert_eq!(output.status.code(), Some(0), "{}", stderr_text(&output));
    assert!(
        stderr_text(&output).contains("sm-recreate apply"),
        "says how to apply it"
    );

    let text = std::fs::read_to_string(&out).expect("plan file written");
    assert!(!text.contains(DEMO_SECRET), "the plan file holds a secret");
    let file: Value = serde_json::from_str(&text).expect("the plan file is JSON");
    assert_eq!(file["format_version"], 4);
    assert_eq!(file["fixes"], json!(["encryption"]));
    assert_eq!(file["tool_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(file["accounts"], json!([sandbox.emulator.account_id()]));
    assert!(
        file["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|i| i["account_id"] == json!(sandbox.emulator.account_id())),
        "every item names its account"
    );
    assert_eq!(file["regions"], json!([US, EU]));
    assert_eq!(file["evaluation"], "strict");
    // 16 definitions and 1 inline schedule across both regions.
    assert_eq!(file["items"].as_array().expect("items").len(), 17);
    // stdout carries the same document.
    assert_eq!(stdout_json(&output), file);

    let document: PlanDocument = serde_json::from_str(&text).expect("a PlanDocument");
    assert_eq!(
        document.checksum,
        document.compute_checksum(),
        "the checksum verifies"
    );
    let mut edited = document.clone();
    edited.items.retain(|i| i.name != "churn-data-quality");
    assert_ne!(
        edited.compute_checksum(),
        document.checksum,
        "an edit changes the checksum"
    );

    // Each item's hash is of the live describe JSON and tags, as `apply` will recompute it.
    for item in &document.items {
        assert_eq!(item.snapshot_sha256.len(), 64);
        assert!(item.snapshot_sha256.bytes().all(|b| b.is_ascii_hexdigit()));
    }
    let client = sandbox.client(US);
    let item = document
        .items
        .iter()
        .find(|i| i.name == "fraud-model-quality")
        .expect("the definition with a secret is planned");
    let (describe, tags) = sandbox.block_on(async {
        let describe = client
            .describe_definition(Kind::ModelQuality, &item.name)
            .await
            .expect("describe");
        let tags = client.list_tags(&item.arn).await.expect("tags");
        (describe, tags)
    });
    assert_eq!(item.snapshot_sha256, snapshot_hash(&describe, &tags));
    assert_eq!(
        item.before["ModelQualityAppSpecification"]["Environment"]["DB_PASSWORD"],
        "(redacted)"
    );
    assert!(
        item.temporary_name
            .as_deref()
            .is_some_and(|t| t.starts_with("fraud-model-quality-"))
    );
    let churn = document
        .items
        .iter()
        .find(|i| i.name == "churn-data-quality")
        .expect("churn");
    assert_eq!(churn.schedules.len(), 1);
    assert_eq!(churn.schedules[0].name, "churn-data-quality-hourly");
}

#[test]
fn with_nothing_to_fix_plan_prints_one_line_and_exits_0() {
    let sandbox = Sandbox::start(seed(
        vec![
            seed_definition(
                US,
                Kind::DataQuality,
                definition_request(Kind::DataQuality, "dq-ok", Flag::On, 2, &[]),
            ),
            seed_definition(
                US,
                Kind::ModelQuality,
                definition_request(Kind::ModelQuality, "mq-ok", Flag::On, 1, &[("team", "ml")]),
            ),
            seed_definition(
                US,
                Kind::ModelBias,
                definition_request(Kind::ModelBias, "mb-ok", Flag::On, 1, &[]),
            ),
        ],
        Vec::new(),
    ));
    for extra in [&[][..], &["--detailed-exitcode"]] {
        let output = sandbox
            .cmd()
            .arg("plan")
            .args(extra)
            .output()
            .expect("plan");
        assert_eq!(output.status.code(), Some(0), "{extra:?}");
        assert_eq!(
            stdout_text(&output),
            "Nothing to recreate in account 123456789012: 3 compliant, 0 skipped.\n"
        );
    }
    sandbox
        .cmd()
        .args(["scan", "--detailed-exitcode"])
        .assert()
        .code(0);
    let report = stdout_json(
        &sandbox
            .cmd()
            .args(["scan", "--format", "json"])
            .output()
            .expect("scan"),
    );
    assert_eq!(
        report["summary"],
        json!({"total": 3, "compliant": 3, "non_compliant": 0})
    );
}
