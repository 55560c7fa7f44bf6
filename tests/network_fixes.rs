//! Which flags a run makes true: every kind fixed for encryption, for isolation and for both in
//! one recreate, every other member and every tag as before; isolation named with the job's
//! image before anyone confirms; `--control` implying the fix; and scan judging every control
//! whatever is fixed. The real binary through the real SDK against the emulator.

mod support;

use serde_json::{Value, json};
use sm_recreate::kinds::Kind;
use support::apply::*;
use support::*;

const ENCRYPTION: &str = "EnableInterContainerTrafficEncryption";
const ISOLATION: &str = "EnableNetworkIsolation";

/// `kind`'s maximal request named `name`, failing both flags.
fn failing_both(kind: Kind, name: &str) -> Value {
    let mut request = maximal_request(kind);
    request["JobDefinitionName"] = json!(name);
    request["NetworkConfig"][ENCRYPTION] = json!(false);
    request["NetworkConfig"][ISOLATION] = json!(false);
    request
}

/// The describe with the given flags set to true.
fn with_flags(describe: &Value, flags: &[&str]) -> Value {
    let mut value = without_creation_time(describe);
    for flag in flags {
        value["NetworkConfig"][*flag] = json!(true);
    }
    value
}

#[test]
fn every_kind_is_fixed_for_encryption_isolation_or_both_and_nothing_else_changes() {
    let modes: [(&str, &[&str], &[&str]); 3] = [
        ("enc", &["--fix", "encryption"], &[ENCRYPTION]),
        ("iso", &["--fix", "isolation"], &[ISOLATION]),
        (
            "both",
            &["--fix", "encryption", "--fix", "isolation"],
            &[ENCRYPTION, ISOLATION],
        ),
    ];
    let mut definitions = Vec::new();
    for kind in Kind::ALL {
        for (prefix, _, _) in &modes {
            let name = format!("{prefix}-{kind}");
            definitions.push(definition(kind, failing_both(kind, &name)));
        }
    }
    let env = Env::quick(seed(definitions, vec![]));
    let mut before = Vec::new();
    for kind in Kind::ALL {
        for (prefix, _, _) in &modes {
            let name = format!("{prefix}-{kind}");
            let describe = env.definition(kind, &name).expect("seeded");
            let tags = env.tags(kind, &name);
            before.push((kind, name, describe, tags));
        }
    }

    for (prefix, flags, _) in &modes {
        let glob = format!("{prefix}-*");
        let mut args = vec!["apply", "--yes", "--name", &glob, "--format", "json"];
        args.extend_from_slice(flags);
        let output = env.run(&args);
        assert_eq!(code(&output), 0, "{}", show(&output));
        assert_eq!(
            stdout_json(&output)["summary"],
            json!({"recreated": 4}),
            "{prefix}"
        );
    }

    for (kind, name, describe, tags) in &before {
        let (_, fixed) = modes
            .iter()
            .map(|(prefix, _, fixed)| (*prefix, *fixed))
            .find(|(prefix, _)| name.starts_with(&format!("{prefix}-")))
            .unwrap();
        let live = env.definition(*kind, name).expect("recreated");
        assert_eq!(
            without_creation_time(&live),
            with_flags(describe, fixed),
            "{name}: only the fixed flags changed"
        );
        assert_eq!(&env.tags(*kind, name), tags, "{name}: tags kept");
        let (_, snapshot) = env.snapshot_of(name);
        let recorded: Vec<&str> = fixed
            .iter()
            .map(|flag| {
                if *flag == ENCRYPTION {
                    "encryption"
                } else {
                    "isolation"
                }
            })
            .collect();
        assert_eq!(snapshot["fixes"], json!(recorded), "{name}: snapshot fixes");
    }
}

#[test]
fn isolation_is_named_with_the_image_before_anything_changes() {
    let env = Env::quick(seed(
        vec![definition(
            Kind::ModelBias,
            failing_both(Kind::ModelBias, "clarify-bias"),
        )],
        vec![],
    ));
    let image = maximal_request(Kind::ModelBias)["ModelBiasAppSpecification"]["ImageUri"]
        .as_str()
        .unwrap()
        .to_owned();

    let text = stdout_text(&env.run(&["plan", "--fix", "isolation"]));
    assert!(text.contains("warning: network isolation"), "{text}");
    assert!(text.contains(&image), "the warning names the image: {text}");
    assert!(text.contains("SageMaker.12"), "{text}");
    assert!(
        text.contains(&format!("+    \"{ISOLATION}\": true")),
        "{text}"
    );

    let markdown = stdout_text(&env.run(&["plan", "--fix", "isolation", "--format", "markdown"]));
    assert!(markdown.contains("**Network isolation**"), "{markdown}");
    assert!(markdown.contains(&image), "{markdown}");

    let document = stdout_json(&env.run(&["plan", "--fix", "isolation", "--format", "json"]));
    let item = &document["items"][0];
    assert_eq!(item["fixes"], json!(["isolation"]));
    assert_eq!(item["isolates_image"], json!(image));
    assert_eq!(
        item["failing_controls"],
        json!(["SageMaker.12", "SageMaker.15"])
    );

    // Encryption alone warns of nothing.
    let text = stdout_text(&env.run(&["plan"]));
    assert!(!text.contains("network isolation"), "{text}");
    assert!(env.mutating_calls().is_empty(), "plans change nothing");
}

#[test]
fn a_control_alone_implies_its_fix_on_its_kind_only() {
    let env = Env::quick(seed(
        vec![
            definition(Kind::DataQuality, failing_both(Kind::DataQuality, "dq")),
            definition(Kind::ModelBias, failing_both(Kind::ModelBias, "bias")),
        ],
        vec![],
    ));
    let dq_before = env.definition(Kind::DataQuality, "dq").unwrap();
    let output = env.run(&[
        "apply",
        "--yes",
        "--control",
        "SageMaker.11",
        "--format",
        "json",
    ]);
    assert_eq!(code(&output), 0, "{}", show(&output));
    assert_eq!(stdout_json(&output)["summary"], json!({"recreated": 1}));
    let live = env.definition(Kind::DataQuality, "dq").unwrap();
    assert_eq!(
        without_creation_time(&live),
        with_flags(&dq_before, &[ISOLATION]),
        "isolation only: SageMaker.11 says nothing of encryption"
    );
    let bias = env.definition(Kind::ModelBias, "bias").unwrap();
    assert_eq!(
        bias["NetworkConfig"][ISOLATION],
        json!(false),
        "not selected"
    );
}

#[test]
fn scan_judges_every_control_whatever_is_fixed() {
    let env = Env::quick(seed(
        Kind::ALL
            .iter()
            .map(|kind| definition(*kind, failing_both(*kind, &format!("{kind}-x"))))
            .collect(),
        vec![],
    ));
    let report = stdout_json(&env.run(&["scan", "--format", "json"]));
    assert_eq!(report["format_version"], 1);
    assert_eq!(report["fixes"], json!(["encryption"]));
    let mut failing: Vec<String> = report["definitions"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| {
            let controls = d["failing_controls"].as_array().unwrap().clone();
            for control in &controls {
                assert!(
                    d["reasons"][control.as_str().unwrap()].is_string(),
                    "a reason for {control}: {d:#}"
                );
            }
            controls
        })
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    failing.sort();
    assert_eq!(
        failing,
        [
            "SageMaker.10",
            "SageMaker.11",
            "SageMaker.12",
            "SageMaker.13",
            "SageMaker.15",
            "SageMaker.20",
            "SageMaker.25",
            "SageMaker.9"
        ]
    );
    // Under config-rule, single-instance jobs pass the encryption controls, and an explicit
    // false still fails every isolation control.
    let report = stdout_json(&env.run(&[
        "scan",
        "--evaluation",
        "config-rule",
        "--fix",
        "isolation",
        "--format",
        "json",
    ]));
    for entry in report["definitions"].as_array().unwrap() {
        assert_eq!(entry["compliant"], json!(false), "{entry:#}");
    }
}
