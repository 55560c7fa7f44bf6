//! Security Hub findings in and out, end to end: the real binary, through the real
//! `aws-sdk-securityhub`, against the emulator's Security Hub. `--from-securityhub` acts on
//! exactly the ACTIVE, FAILED, not SUPPRESSED findings' resources, across the accounts the
//! administrator sees; `--update-findings` resolves exactly the verified ones, notes a rolled
//! back one, survives a failing `BatchUpdateFindings`, batches more than a hundred, and works
//! again on `resume`.

mod support;

use serde_json::{Value, json};
use sm_emulator::{
    Behaviour, FaultError, FaultRule, FindingResourceKind, RecordState, Seed, SeedDefinition,
    SeedFinding, SeedSecurityHub, WorkflowStatus,
};
use sm_recreate::kinds::Kind;
use sm_testkit::member;
use support::apply::{flag_of, quick_behaviour};
use support::*;

const MANAGEMENT: &str = "111111111111";
const PROD: &str = "222222222222";
const STAGING: &str = "333333333333";
const US: &str = "us-east-1";

/// A definition failing SageMaker.9 (as its AWS Config rule judges: on two instances).
fn failing_dq(account: &str, name: &str) -> SeedDefinition {
    SeedDefinition {
        account_id: Some(account.to_owned()),
        ..seed_definition(
            US,
            Kind::DataQuality,
            definition_request(Kind::DataQuality, name, Flag::Off, 2, &[]),
        )
    }
}

fn placed(account: &str, name: &str) -> SeedFinding {
    SeedFinding {
        account_id: Some(account.to_owned()),
        region: US.to_owned(),
        kind: FindingResourceKind::Definition(Kind::DataQuality),
        name: name.to_owned(),
        control: "SageMaker.9".to_owned(),
        compliance_status: None,
        record_state: None,
        workflow_status: None,
    }
}

/// The management account (the Security Hub administrator) and two members. In prod: two
/// failing definitions, three failing ones whose findings are ARCHIVED, PASSED or SUPPRESSED,
/// a passing one with a stale FAILED finding, and a finding for a definition deleted since; in
/// staging one failing definition.
fn org_seed() -> Seed {
    let definitions = vec![
        failing_dq(PROD, "churn-dq"),
        failing_dq(PROD, "risk-dq"),
        failing_dq(PROD, "archived-dq"),
        failing_dq(PROD, "passed-dq"),
        failing_dq(PROD, "suppressed-dq"),
        SeedDefinition {
            account_id: Some(PROD.to_owned()),
            ..seed_definition(
                US,
                Kind::DataQuality,
                definition_request(Kind::DataQuality, "fixed-dq", Flag::On, 2, &[]),
            )
        },
        failing_dq(STAGING, "churn-dq"),
    ];
    let findings = vec![
        SeedFinding {
            record_state: Some(RecordState::Archived),
            ..placed(PROD, "archived-dq")
        },
        SeedFinding {
            compliance_status: Some(sm_emulator::ComplianceStatus::Passed),
            ..placed(PROD, "passed-dq")
        },
        SeedFinding {
            workflow_status: Some(WorkflowStatus::Suppressed),
            ..placed(PROD, "suppressed-dq")
        },
        SeedFinding {
            compliance_status: Some(sm_emulator::ComplianceStatus::Failed),
            ..placed(PROD, "fixed-dq")
        },
        placed(PROD, "gone-dq"),
    ];
    Seed {
        account_id: MANAGEMENT.to_owned(),
        accounts: vec![member(PROD, "ml-prod"), member(STAGING, "ml-staging")],
        definitions,
        security_hub: SeedSecurityHub {
            findings,
            ..SeedSecurityHub::default()
        },
        ..Seed::default()
    }
}

fn run(sandbox: &Sandbox, args: &[&str]) -> std::process::Output {
    sandbox.cmd().args(args).output().expect("run sm-recreate")
}

/// The emulator's finding of SageMaker.9 on `name` in `account`.
fn finding(sandbox: &Sandbox, account: &str, name: &str) -> Value {
    sandbox
        .emulator
        .findings()
        .into_iter()
        .find(|f| {
            f["AwsAccountId"] == json!(account)
                && f["Compliance"]["SecurityControlId"] == json!("SageMaker.9")
                && f["Resources"][0]["Id"]
                    .as_str()
                    .is_some_and(|id| id.ends_with(&format!("data-quality-job-definition/{name}")))
        })
        .unwrap_or_else(|| panic!("a finding for {account} {name}"))
}

fn workflow(finding: &Value) -> &str {
    finding["Workflow"]["Status"].as_str().unwrap_or_default()
}

fn note(finding: &Value) -> &str {
    finding["Note"]["Text"].as_str().unwrap_or_default()
}

/// `(account, name, status)` of every entry of a JSON run report, sorted.
fn statuses(report: &Value) -> Vec<(String, String, String)> {
    let mut rows: Vec<(String, String, String)> = report["definitions"]
        .as_array()
        .expect("definitions")
        .iter()
        .map(|d| {
            (
                d["account_id"].as_str().unwrap().to_owned(),
                d["name"].as_str().unwrap().to_owned(),
                d["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    rows.sort();
    rows
}

fn flag(sandbox: &Sandbox, account: &str, name: &str) -> Option<bool> {
    let live = sandbox
        .emulator
        .account(account)
        .definition(US, Kind::DataQuality, name)
        .unwrap_or_else(|| panic!("{account} {name} exists"));
    flag_of(&live)
}

fn count(sandbox: &Sandbox, operation: &str) -> usize {
    sandbox.count(operation)
}

#[test]
fn from_securityhub_fixes_exactly_the_active_failing_findings_across_accounts_and_resolves_them() {
    let sandbox = Sandbox::with_behaviour(org_seed(), quick_behaviour());
    let output = run(
        &sandbox,
        &[
            "--region",
            US,
            "apply",
            "--yes",
            "--from-securityhub",
            "--update-findings",
            "--format",
            "json",
        ],
    );
    assert_eq!(code(&output), 0, "{}", show(&output));
    let report = stdout_json(&output);
    let recreated =
        |account: &str, name: &str| (account.to_owned(), name.to_owned(), "recreated".to_owned());
    assert_eq!(
        statuses(&report),
        vec![
            recreated(PROD, "churn-dq"),
            recreated(PROD, "risk-dq"),
            recreated(STAGING, "churn-dq"),
        ],
        "exactly the ACTIVE FAILED not SUPPRESSED findings' resources, in both members"
    );
    for name in ["archived-dq", "passed-dq", "suppressed-dq"] {
        assert_eq!(flag(&sandbox, PROD, name), Some(false), "{name} untouched");
    }
    assert!(
        sandbox
            .mutating_calls()
            .iter()
            .all(|c| c.account_id == PROD || c.account_id == STAGING),
        "only the accounts the findings name are changed"
    );

    // The finding of a deleted definition and the stale one of a passing definition are
    // reported with their ids, and skipped.
    let skipped = report["skipped_findings"].as_array().expect("skipped");
    let reason_of = |name: &str| {
        let entry = skipped
            .iter()
            .find(|s| s["name"] == json!(name))
            .unwrap_or_else(|| panic!("{name} reported in {skipped:?}"));
        assert_eq!(entry["finding_id"], finding(&sandbox, PROD, name)["Id"]);
        entry["reason"].as_str().unwrap().to_owned()
    };
    assert!(reason_of("gone-dq").contains("no longer exists"));
    assert!(reason_of("fixed-dq").contains("passes now"));
    assert_eq!(skipped.len(), 2, "{skipped:?}");

    // Findings out: the verified ones RESOLVED with a note naming the run and the flag; the
    // others as they were.
    let run_id = report["run_id"].as_str().expect("run id");
    for (account, name) in [(PROD, "churn-dq"), (PROD, "risk-dq"), (STAGING, "churn-dq")] {
        let resolved = finding(&sandbox, account, name);
        assert_eq!(workflow(&resolved), "RESOLVED", "{resolved}");
        assert!(note(&resolved).contains(run_id), "{resolved}");
        assert!(
            note(&resolved).contains("EnableInterContainerTrafficEncryption"),
            "{resolved}"
        );
        assert_eq!(resolved["Note"]["UpdatedBy"], json!("sm-recreate"));
    }
    assert_eq!(
        workflow(&finding(&sandbox, PROD, "suppressed-dq")),
        "SUPPRESSED"
    );
    for name in ["archived-dq", "gone-dq", "fixed-dq"] {
        assert!(
            finding(&sandbox, PROD, name).get("Note").is_none(),
            "{name} not updated"
        );
    }
    assert_eq!(report["securityhub"]["resolved"], json!(3));
    assert_eq!(report["securityhub"]["notified"], json!(3));
    assert_eq!(report["securityhub"]["warnings"], json!([]));
    // One region, a handful of findings: one page, and one call for each status.
    assert_eq!(count(&sandbox, "GetFindings"), 1);
    assert_eq!(count(&sandbox, "BatchUpdateFindings"), 2);
}

#[test]
fn skipped_findings_are_reported_in_every_format_of_scan_and_plan() {
    let sandbox = Sandbox::with_behaviour(org_seed(), quick_behaviour());
    let gone = finding(&sandbox, PROD, "gone-dq")["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    let fixed = finding(&sandbox, PROD, "fixed-dq")["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (command, format) in [
        ("scan", "text"),
        ("scan", "markdown"),
        ("scan", "json"),
        ("plan", "text"),
        ("plan", "markdown"),
        ("plan", "json"),
    ] {
        let output = run(
            &sandbox,
            &[
                "--region",
                US,
                command,
                "--from-securityhub",
                "--format",
                format,
            ],
        );
        assert_eq!(code(&output), 0, "{command} {format}: {}", show(&output));
        let text = stdout(&output);
        for id in [&gone, &fixed] {
            assert!(
                text.contains(id.as_str()),
                "{command} {format} names {id}:\n{text}"
            );
        }
        assert!(
            text.contains("no longer exists"),
            "{command} {format}:\n{text}"
        );
        assert!(text.contains("passes now"), "{command} {format}:\n{text}");
    }
    // A plan file carrying them still applies (its checksum covers them).
    let plan = sandbox.workdir.file("plan.json");
    let output = run(
        &sandbox,
        &[
            "--region",
            US,
            "plan",
            "--from-securityhub",
            "--out",
            plan.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&output), 0, "{}", show(&output));
    let output = run(
        &sandbox,
        // The plan names the members: the account options must select them to apply it.
        &[
            "--org",
            "apply",
            plan.to_str().unwrap(),
            "--yes",
            "--update-findings",
            "--format",
            "json",
        ],
    );
    assert_eq!(code(&output), 0, "{}", show(&output));
    assert_eq!(stdout_json(&output)["securityhub"]["resolved"], json!(3));
    assert!(
        sandbox
            .mutating_calls()
            .iter()
            .all(|c| c.account_id != MANAGEMENT)
    );
}

#[test]
fn account_options_narrow_the_findings_accounts_and_exclusions_alone_work() {
    let sandbox = Sandbox::with_behaviour(org_seed(), quick_behaviour());
    let output = run(
        &sandbox,
        &[
            "--region",
            US,
            "--exclude-account",
            PROD,
            "apply",
            "--yes",
            "--from-securityhub",
            "--format",
            "json",
        ],
    );
    assert_eq!(code(&output), 0, "{}", show(&output));
    assert_eq!(
        statuses(&stdout_json(&output)),
        vec![(
            STAGING.to_owned(),
            "churn-dq".to_owned(),
            "recreated".to_owned()
        )]
    );
    let output = run(
        &sandbox,
        &[
            "--region",
            US,
            "--account",
            MANAGEMENT,
            "plan",
            "--from-securityhub",
            "--format",
            "json",
        ],
    );
    assert_eq!(code(&output), 0, "{}", show(&output));
    assert_eq!(
        stdout_json(&output)["items"],
        json!([]),
        "no finding in the management account"
    );
    assert_eq!(
        flag(&sandbox, PROD, "churn-dq"),
        Some(false),
        "prod was excluded"
    );
}

#[test]
fn a_rolled_back_resource_keeps_its_finding_notified_with_a_note() {
    let mut behaviour = quick_behaviour();
    behaviour.faults = vec![FaultRule {
        operation: "CreateDataQualityJobDefinition".to_owned(),
        name: Some("risk-dq".to_owned()),
        account_id: Some(PROD.to_owned()),
        times: Some(1),
        error: Some(FaultError {
            code: "ValidationException".to_owned(),
            status: 400,
            message: "refused for the test".to_owned(),
        }),
        ..FaultRule::default()
    }];
    let sandbox = Sandbox::with_behaviour(org_seed(), behaviour);
    let output = run(
        &sandbox,
        &[
            "--region",
            US,
            "--org",
            "apply",
            "--yes",
            "--from-securityhub",
            "--update-findings",
            "--format",
            "json",
        ],
    );
    assert_eq!(code(&output), 1, "{}", show(&output));
    let report = stdout_json(&output);
    let rolled_back = report["definitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == json!("risk-dq"))
        .expect("risk-dq");
    assert_eq!(rolled_back["status"], json!("rolled-back"), "{report}");
    let run_id = report["run_id"].as_str().unwrap();
    let noted = finding(&sandbox, PROD, "risk-dq");
    assert_eq!(workflow(&noted), "NOTIFIED", "{noted}");
    assert!(note(&noted).contains("rolled it back"), "{noted}");
    assert!(note(&noted).contains(run_id), "{noted}");
    assert_eq!(workflow(&finding(&sandbox, PROD, "churn-dq")), "RESOLVED");
    assert_eq!(
        workflow(&finding(&sandbox, STAGING, "churn-dq")),
        "RESOLVED"
    );
    assert_eq!(report["securityhub"]["resolved"], json!(2));
    assert_eq!(report["securityhub"]["noted"], json!(1));
}

#[test]
fn a_failing_batch_update_is_a_warning_and_leaves_the_exit_code_at_zero() {
    let sandbox = Sandbox::with_behaviour(org_seed(), refused_batch_updates());
    let output = run(
        &sandbox,
        &[
            "--region",
            US,
            "apply",
            "--yes",
            "--from-securityhub",
            "--update-findings",
            "--format",
            "json",
        ],
    );
    assert_eq!(code(&output), 0, "{}", show(&output));
    let report = stdout_json(&output);
    assert!(
        statuses(&report).iter().all(|(_, _, s)| s == "recreated"),
        "{report}"
    );
    let warnings = report["securityhub"]["warnings"]
        .as_array()
        .expect("warnings");
    assert!(!warnings.is_empty(), "{report}");
    assert!(
        warnings[0].as_str().unwrap().contains("AccessDenied"),
        "{warnings:?}"
    );
    assert!(
        stderr(&output).contains("Security Hub"),
        "{}",
        show(&output)
    );
    assert_eq!(workflow(&finding(&sandbox, PROD, "churn-dq")), "NEW");
    // The text report carries the warning too.
    let sandbox = Sandbox::with_behaviour(org_seed(), refused_batch_updates());
    let output = run(
        &sandbox,
        &[
            "--region",
            US,
            "apply",
            "--yes",
            "--from-securityhub",
            "--update-findings",
        ],
    );
    assert_eq!(code(&output), 0, "{}", show(&output));
    assert!(
        stdout(&output).contains("warning: Security Hub"),
        "{}",
        show(&output)
    );
}

fn refused_batch_updates() -> Behaviour {
    let mut behaviour = quick_behaviour();
    behaviour.faults = vec![FaultRule {
        operation: "BatchUpdateFindings".to_owned(),
        error: Some(FaultError {
            code: "AccessDeniedException".to_owned(),
            status: 403,
            message: "not authorized to perform securityhub:BatchUpdateFindings".to_owned(),
        }),
        ..FaultRule::default()
    }];
    behaviour
}

#[test]
fn more_than_a_hundred_findings_come_in_pages_and_go_out_in_batches() {
    let definitions: Vec<SeedDefinition> = (0..120)
        .map(|i| SeedDefinition {
            account_id: None,
            ..seed_definition(
                US,
                Kind::DataQuality,
                definition_request(Kind::DataQuality, &format!("dq-{i:03}"), Flag::Off, 2, &[]),
            )
        })
        .collect();
    let sandbox = Sandbox::with_behaviour(seed(definitions, Vec::new()), quick_behaviour());
    let output = run(
        &sandbox,
        &[
            "--region",
            US,
            "apply",
            "--yes",
            "--from-securityhub",
            "--update-findings",
            "--format",
            "json",
            "--concurrency",
            "32",
        ],
    );
    assert_eq!(code(&output), 0, "{}", show(&output));
    let report = stdout_json(&output);
    assert_eq!(
        report["summary"]["recreated"],
        json!(120),
        "{}",
        show(&output)
    );
    assert_eq!(report["securityhub"]["resolved"], json!(120));
    // 120 findings: two pages in; NOTIFIED in two calls (100 + 20), RESOLVED in two.
    assert_eq!(count(&sandbox, "GetFindings"), 2);
    assert_eq!(count(&sandbox, "BatchUpdateFindings"), 4);
    let resolved = sandbox
        .emulator
        .findings()
        .into_iter()
        .filter(|f| {
            f["Compliance"]["SecurityControlId"] == json!("SageMaker.9")
                && f["Workflow"]["Status"] == json!("RESOLVED")
                && note(f).contains("fixed and verified")
        })
        .count();
    assert_eq!(resolved, 120);
}

#[test]
fn resume_with_update_findings_finds_them_by_arn_and_resolves_the_finished_ones() {
    let mut behaviour = quick_behaviour();
    // Staging's churn-dq: its second ListTags (the run's own look, after the plan's) is
    // refused once, so the apply leaves it untouched for resume.
    behaviour.faults = vec![FaultRule {
        operation: "ListTags".to_owned(),
        name: Some("churn-dq".to_owned()),
        account_id: Some(STAGING.to_owned()),
        nth: Some(2),
        error: Some(FaultError {
            code: "AccessDeniedException".to_owned(),
            status: 400,
            message: "not authorized to perform sagemaker:ListTags".to_owned(),
        }),
        ..FaultRule::default()
    }];
    let sandbox = Sandbox::with_behaviour(org_seed(), behaviour);
    let output = run(
        &sandbox,
        &[
            "--region",
            US,
            "--org",
            "apply",
            "--yes",
            "--from-securityhub",
            "--update-findings",
            "--format",
            "json",
        ],
    );
    assert_eq!(code(&output), 1, "{}", show(&output));
    let report = stdout_json(&output);
    let left = finding(&sandbox, STAGING, "churn-dq");
    assert_eq!(workflow(&left), "NOTIFIED", "{left}");
    assert!(note(&left).contains("failed-untouched"), "{left}");
    let run_id = report["run_id"].as_str().unwrap().to_owned();

    let lookups_before = count(&sandbox, "GetFindings");
    let output = run(
        &sandbox,
        &[
            "--region",
            US,
            "--org",
            "resume",
            &run_id,
            "--update-findings",
            "--format",
            "json",
        ],
    );
    assert_eq!(code(&output), 0, "{}", show(&output));
    let report = stdout_json(&output);
    assert_eq!(
        statuses(&report),
        vec![(
            STAGING.to_owned(),
            "churn-dq".to_owned(),
            "recreated".to_owned()
        )]
    );
    let resolved = finding(&sandbox, STAGING, "churn-dq");
    assert_eq!(workflow(&resolved), "RESOLVED", "{resolved}");
    assert!(note(&resolved).contains(&run_id), "{resolved}");
    // Found again by its ARN: one lookup for the one resource.
    assert_eq!(count(&sandbox, "GetFindings") - lookups_before, 1);
    assert_eq!(report["securityhub"]["resolved"], json!(1));
}

#[test]
fn security_hub_off_is_a_usage_error_before_anything_is_read_or_changed() {
    let mut seed = org_seed();
    seed.security_hub.disabled_accounts = vec![MANAGEMENT.to_owned()];
    let sandbox = Sandbox::with_behaviour(seed, quick_behaviour());
    let output = run(
        &sandbox,
        &["--region", US, "apply", "--yes", "--from-securityhub"],
    );
    assert_eq!(code(&output), 2, "{}", show(&output));
    let err = stderr(&output);
    assert!(err.contains("InvalidAccessException"), "{err}");
    assert!(err.contains("enable-security-hub"), "{err}");
    assert!(sandbox.mutating_calls().is_empty());
    let output = run(
        &sandbox,
        &[
            "--region",
            US,
            "plan",
            "--from-securityhub",
            "--from-findings",
            "x.json",
        ],
    );
    assert_eq!(code(&output), 2, "{}", show(&output));
}

#[test]
fn the_printed_resume_command_names_the_accounts_the_findings_chose() {
    let mut behaviour = quick_behaviour();
    behaviour.faults = vec![FaultRule {
        operation: "ListTags".to_owned(),
        name: Some("churn-dq".to_owned()),
        account_id: Some(STAGING.to_owned()),
        nth: Some(2),
        error: Some(FaultError {
            code: "AccessDeniedException".to_owned(),
            status: 400,
            message: "not authorized to perform sagemaker:ListTags".to_owned(),
        }),
        ..FaultRule::default()
    }];
    let sandbox = Sandbox::with_behaviour(org_seed(), behaviour);
    // No account option: the findings chose prod and staging.
    let output = run(
        &sandbox,
        &[
            "--region",
            US,
            "apply",
            "--yes",
            "--from-securityhub",
            "--format",
            "json",
        ],
    );
    assert_eq!(code(&output), 1, "{}", show(&output));
    let hint = stdout_json(&output)["hint"]
        .as_str()
        .expect("a resume hint")
        .to_owned();
    assert!(
        hint.contains(&format!("--account {PROD}"))
            && hint.contains(&format!("--account {STAGING}")),
        "{hint}"
    );
    let words = sm_testkit::shell_words(&hint);
    let mut printed = isolated_command(&sandbox.workdir);
    printed
        .args(["--color", "never"])
        .args(&words[1..])
        .args(["--update-findings"]);
    let output = with_timeout(printed)
        .output()
        .expect("run the printed command");
    assert_eq!(code(&output), 0, "{}", show(&output));
    assert_eq!(flag(&sandbox, STAGING, "churn-dq"), Some(true));
    assert_eq!(
        workflow(&finding(&sandbox, STAGING, "churn-dq")),
        "RESOLVED"
    );
}
