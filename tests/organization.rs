//! An organization, end to end: the real binary, over HTTP through the real SDK (STS
//! `AssumeRole` through aws-config's provider, Organizations `ListAccounts`), against the emulator
//! serving a management account and two members in two regions. Scan, plan, apply and resume
//! across accounts; an account whose role cannot be assumed; credentials that expire mid-apply; a
//! plan refused for accounts the options do not select.

mod support;

use serde_json::{Value, json};
use sm_emulator::{
    AccountThrottle, Behaviour, FaultError, FaultRule, RecordedCall, Seed, SeedDefinition,
    SeedSchedule,
};
use sm_recreate::kinds::Kind;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use support::apply::{flag_of, quick_behaviour};
use support::*;

const MANAGEMENT: &str = "111111111111";
const PROD: &str = "222222222222";
const STAGING: &str = "333333333333";
const ACCOUNTS: [&str; 3] = [MANAGEMENT, PROD, STAGING];
const US: &str = "us-east-1";
const EU: &str = "eu-west-1";
use sm_testkit::{ACCESS_ROLE as ROLE, member};

/// Per account and region the same names (so nothing can pass by finding another account's
/// definition): `churn-dq` with schedule `churn-dq-hourly`, and `risk-mb`; all failing.
fn org_seed(per_region: usize) -> Seed {
    let mut definitions = Vec::new();
    let mut schedules = Vec::new();
    for account in ACCOUNTS {
        for region in [US, EU] {
            for i in 0..per_region {
                let suffix = if i == 0 {
                    String::new()
                } else {
                    format!("-{i}")
                };
                let dq = format!("churn-dq{suffix}");
                definitions.push(SeedDefinition {
                    account_id: Some(account.to_owned()),
                    ..seed_definition(
                        region,
                        Kind::DataQuality,
                        flagged_request(Kind::DataQuality, &dq, Flag::Off, &[("team", "ml")]),
                    )
                });
                schedules.push(SeedSchedule {
                    account_id: Some(account.to_owned()),
                    ..seed_schedule(region, &format!("{dq}-hourly"), Kind::DataQuality, &dq)
                });
                definitions.push(SeedDefinition {
                    account_id: Some(account.to_owned()),
                    ..seed_definition(
                        region,
                        Kind::ModelBias,
                        flagged_request(
                            Kind::ModelBias,
                            &format!("risk-mb{suffix}"),
                            Flag::NoNetworkConfig,
                            &[],
                        ),
                    )
                });
            }
        }
    }
    Seed {
        account_id: MANAGEMENT.to_owned(),
        accounts: vec![member(PROD, "ml-prod"), member(STAGING, "ml-staging")],
        definitions,
        schedules,
        ..Seed::default()
    }
}

fn regions() -> Vec<&'static str> {
    vec!["--region", US, "--region", EU]
}

fn run(sandbox: &Sandbox, args: &[&str]) -> std::process::Output {
    sandbox.cmd().args(args).output().expect("run sm-recreate")
}

/// Every definition of every account is compliant, and each schedule runs its own definition.
fn assert_all_fixed(sandbox: &Sandbox, accounts: &[&str], per_region: usize) {
    for account in accounts {
        let view = sandbox.emulator.account(account);
        for region in [US, EU] {
            for i in 0..per_region {
                let suffix = if i == 0 {
                    String::new()
                } else {
                    format!("-{i}")
                };
                for (kind, name) in [
                    (Kind::DataQuality, format!("churn-dq{suffix}")),
                    (Kind::ModelBias, format!("risk-mb{suffix}")),
                ] {
                    let live = view
                        .definition(region, kind, &name)
                        .unwrap_or_else(|| panic!("{account} {region} {name} exists"));
                    assert_eq!(flag_of(&live), Some(true), "{account} {region} {name}");
                    assert!(
                        live["JobDefinitionArn"]
                            .as_str()
                            .is_some_and(|arn| arn.contains(&format!(":{account}:"))),
                        "{live}"
                    );
                }
                let schedule = view
                    .schedule(region, &format!("churn-dq{suffix}-hourly"))
                    .expect("the schedule");
                assert_eq!(
                    schedule["MonitoringScheduleConfig"]["MonitoringJobDefinitionName"],
                    json!(format!("churn-dq{suffix}")),
                );
            }
        }
    }
}

/// The accounts whose state a mutating call changed.
fn mutated_accounts(sandbox: &Sandbox) -> BTreeSet<String> {
    sandbox
        .mutating_calls()
        .into_iter()
        .map(|c| c.account_id)
        .collect()
}

/// Runs a printed command (`sm-recreate …`) as the user would, with the test's isolation.
fn run_printed(sandbox: &Sandbox, command: &str) -> std::process::Output {
    let words = sm_testkit::shell_words(command);
    assert_eq!(
        words.first().map(String::as_str),
        Some("sm-recreate"),
        "{command}"
    );
    let mut process = isolated_command(&sandbox.workdir);
    process.args(["--color", "never"]).args(&words[1..]);
    with_timeout(process)
        .output()
        .expect("run the printed command")
}

#[test]
fn scan_plan_apply_and_resume_across_three_accounts_and_two_regions() {
    let sandbox = Sandbox::with_behaviour(org_seed(1), quick_behaviour());

    // Scan: every account, every region, each entry naming its account.
    let mut args = vec!["--org", "scan", "--format", "json"];
    args.extend(regions());
    let output = run(&sandbox, &args);
    assert_eq!(code(&output), 0, "{}", show(&output));
    let report = stdout_json(&output);
    assert_eq!(report["accounts"], json!(ACCOUNTS));
    assert_eq!(report["summary"]["non_compliant"], json!(12));
    for account in ACCOUNTS {
        let entries: Vec<&Value> = report["definitions"]
            .as_array()
            .expect("definitions")
            .iter()
            .filter(|d| d["account_id"] == json!(account))
            .collect();
        assert_eq!(entries.len(), 4, "{account}: 2 kinds × 2 regions");
        assert!(entries.iter().all(|d| {
            d["arn"]
                .as_str()
                .is_some_and(|arn| arn.contains(&format!(":{account}:")))
        }));
    }
    // One role assumed per member, its credentials shared by every client of the account; the
    // caller's own account is read with its own credentials.
    let assumed = sandbox
        .calls()
        .iter()
        .filter(|c| c.operation == "AssumeRole")
        .count();
    assert_eq!(assumed, 2);

    // Plan for two members only; the file covers exactly them.
    let plan = sandbox.workdir.file("plan.json");
    let plan_path = plan.to_str().unwrap();
    let mut args = vec![
        "--account",
        PROD,
        "--account",
        STAGING,
        "plan",
        "--out",
        plan_path,
        "--format",
        "markdown",
    ];
    args.extend(regions());
    let output = run(&sandbox, &args);
    assert_eq!(code(&output), 0, "{}", show(&output));
    let markdown = stdout_text(&output);
    let prod_at = markdown.find(&format!("### Account `{PROD}`")).expect(PROD);
    let staging_at = markdown
        .find(&format!("### Account `{STAGING}`"))
        .expect(STAGING);
    assert!(prod_at < staging_at, "grouped by account:\n{markdown}");
    let document: Value =
        serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).expect("plan JSON");
    assert_eq!(document["format_version"], json!(4));
    assert_eq!(document["accounts"], json!([PROD, STAGING]));
    let items = document["items"].as_array().expect("items");
    assert_eq!(items.len(), 8);
    assert!(
        items
            .iter()
            .all(|i| i["account_id"] == json!(PROD) || i["account_id"] == json!(STAGING))
    );
    assert!(sandbox.mutating_calls().is_empty(), "plan changes nothing");

    // Apply the reviewed plan; staging's first ListTags is refused once, so its data-quality
    // definition in us-east-1 fails untouched and is left for resume.
    sandbox.emulator.set_behaviour(Behaviour {
        faults: vec![FaultRule {
            operation: "ListTags".to_owned(),
            name: Some("churn-dq".to_owned()),
            account_id: Some(STAGING.to_owned()),
            times: Some(1),
            error: Some(FaultError {
                code: "AccessDeniedException".to_owned(),
                status: 400,
                message: "not authorized to perform sagemaker:ListTags".to_owned(),
            }),
            ..FaultRule::default()
        }],
        ..quick_behaviour()
    });
    let assumed_before = sandbox
        .calls()
        .iter()
        .filter(|c| c.operation == "AssumeRole")
        .count();
    let output = run(
        &sandbox,
        &[
            "--account",
            PROD,
            "--account",
            STAGING,
            "apply",
            plan_path,
            "--yes",
            "--format",
            "json",
            "--concurrency",
            "1",
        ],
    );
    assert_eq!(code(&output), 1, "{}", show(&output));
    // One role assumed per account for the whole run: every client of an account, the
    // single-attempt mutating calls included, shares its credentials.
    let assumed = sandbox
        .calls()
        .iter()
        .filter(|c| c.operation == "AssumeRole")
        .count()
        - assumed_before;
    assert_eq!(assumed, 2, "AssumeRole calls during the apply");
    let report = stdout_json(&output);
    let failed: Vec<&Value> = report["definitions"]
        .as_array()
        .expect("definitions")
        .iter()
        .filter(|d| d["status"] != json!("recreated"))
        .collect();
    assert_eq!(failed.len(), 1, "{report}");
    assert_eq!(failed[0]["account_id"], json!(STAGING));
    assert_eq!(failed[0]["status"], json!("failed-untouched"));
    assert_eq!(
        mutated_accounts(&sandbox),
        BTreeSet::from([PROD.to_owned(), STAGING.to_owned()]),
        "the management account, not in the plan, is never touched"
    );

    // The printed command carries the account options and finishes the job.
    let hint = report["hint"].as_str().expect("a resume hint");
    assert!(
        hint.contains(&format!("--account {PROD}"))
            && hint.contains(&format!("--account {STAGING}"))
            && hint.contains(&format!("--role-name {ROLE}")),
        "{hint}"
    );
    let output = run_printed(&sandbox, hint);
    assert_eq!(code(&output), 0, "{}", show(&output));
    assert_all_fixed(&sandbox, &[PROD, STAGING], 1);
    let untouched = sandbox.emulator.account(MANAGEMENT);
    let live = untouched
        .definition(US, Kind::DataQuality, "churn-dq")
        .expect("exists");
    assert_eq!(flag_of(&live), Some(false), "outside the plan, left alone");
}

#[test]
fn an_account_that_cannot_be_reached_is_reported_and_the_others_are_fixed() {
    let mut seed = org_seed(1);
    seed.accounts[1].roles.clear();
    let sandbox = Sandbox::with_behaviour(seed, quick_behaviour());
    let mut args = vec!["--org", "apply", "--yes", "--format", "json"];
    args.extend(regions());
    let output = run(&sandbox, &args);
    assert_eq!(code(&output), 1, "{}", show(&output));
    let report = stdout_json(&output);
    assert_eq!(
        report["unreachable_accounts"][0]["account_id"],
        json!(STAGING),
        "{report}"
    );
    let message = report["unreachable_accounts"][0]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(message.contains("AccessDenied"), "AWS's message: {message}");
    assert!(
        stderr_text(&output).contains(STAGING),
        "{}",
        stderr_text(&output)
    );
    assert_all_fixed(&sandbox, &[MANAGEMENT, PROD], 1);
    assert!(!mutated_accounts(&sandbox).contains(STAGING));
}

#[test]
fn a_region_an_account_has_not_enabled_is_reported_and_the_rest_is_read() {
    let mut seed = org_seed(1);
    seed.accounts[0].disabled_regions = vec![EU.to_owned()];
    let sandbox = Sandbox::start(seed);
    let mut args = vec!["--org", "scan", "--format", "json"];
    args.extend(regions());
    let output = run(&sandbox, &args);
    assert_eq!(code(&output), 1, "incomplete: {}", show(&output));
    let report = stdout_json(&output);
    assert_eq!(report["summary"]["total"], json!(10), "{report}");
    let problems = report["problems"].as_array().expect("problems");
    assert!(!problems.is_empty());
    assert!(
        problems
            .iter()
            .all(|p| p["account_id"] == json!(PROD) && p["region"] == json!(EU)),
        "{problems:?}"
    );
}

#[test]
fn credentials_that_expire_during_the_apply_are_renewed_before_they_do() {
    let mut seed = org_seed(2);
    // The SDK renews assumed credentials 10 s before they expire: these live 12 s, so every two
    // seconds of the run needs new ones (the 2 s margin keeps a busy machine's slow request
    // from arriving after its credentials expired).
    seed.credential_lifetime = Duration::from_millis(12_000);
    let sandbox = Sandbox::with_behaviour(
        seed,
        Behaviour {
            // About 120 calls one at a time: six seconds, three lifetimes' worth of renewals.
            latency: Duration::from_millis(50),
            ..quick_behaviour()
        },
    );
    let mut args = vec![
        "--account",
        PROD,
        "apply",
        "--yes",
        "--format",
        "json",
        "--concurrency",
        "1",
    ];
    args.extend(regions());
    let output = run(&sandbox, &args);
    assert_eq!(code(&output), 0, "{}", show(&output));
    assert_all_fixed(&sandbox, &[PROD], 2);
    let calls = sandbox.calls();
    let assumed = calls.iter().filter(|c| c.operation == "AssumeRole").count();
    assert!(
        assumed >= 2,
        "the run outlived several credentials: {assumed}"
    );
    let expired: Vec<_> = calls
        .iter()
        .filter(|c| c.outcome.contains("Expired"))
        .collect();
    assert!(expired.is_empty(), "{expired:?}");
}

#[test]
fn a_plan_is_applied_only_to_accounts_the_options_select() {
    let sandbox = Sandbox::with_behaviour(org_seed(1), quick_behaviour());
    let plan = sandbox.workdir.file("plan.json");
    let plan_path = plan.to_str().unwrap();
    let output = run(
        &sandbox,
        &["--account", STAGING, "plan", "--out", plan_path],
    );
    assert_eq!(code(&output), 0, "{}", show(&output));

    // Without account options the credentials are the management account's: refused.
    let output = run(&sandbox, &["apply", plan_path, "--yes"]);
    assert_eq!(code(&output), 2, "{}", show(&output));
    assert!(
        stderr_text(&output).contains(&format!(
            "the plan is for account {STAGING}, but the credentials are for account {MANAGEMENT}"
        )),
        "{}",
        show(&output)
    );
    // Options that select another account: refused too.
    let output = run(&sandbox, &["--account", PROD, "apply", plan_path, "--yes"]);
    assert_eq!(code(&output), 2, "{}", show(&output));
    assert!(
        stderr_text(&output).contains("which the account options do not select"),
        "{}",
        show(&output)
    );
    assert!(sandbox.mutating_calls().is_empty());

    // Selected, it applies in that account only.
    let output = run(
        &sandbox,
        &["--account", STAGING, "apply", plan_path, "--yes"],
    );
    assert_eq!(code(&output), 0, "{}", show(&output));
    assert_eq!(
        mutated_accounts(&sandbox),
        BTreeSet::from([STAGING.to_owned()])
    );
}

#[test]
fn a_wrong_external_id_is_never_echoed_anywhere() {
    let mut seed = org_seed(1);
    seed.accounts[0].roles[0].external_id = Some("right-one".to_owned());
    let sandbox = Sandbox::with_behaviour(seed, quick_behaviour());
    const SECRET: &str = "wrong-s3cr3t-id";
    let plan = sandbox.workdir.file("plan.json");
    let output = sandbox
        .cmd()
        .env("SM_RECREATE_EXTERNAL_ID", SECRET)
        .args([
            "--account",
            PROD,
            "--account",
            STAGING,
            "-vv",
            "plan",
            "--format",
            "json",
        ])
        .args(["--out", plan.to_str().unwrap()])
        .output()
        .expect("plan");
    assert_eq!(code(&output), 1, "{}", show(&output));
    let report = stdout_json(&output);
    assert_eq!(report["unreachable_accounts"][0]["account_id"], json!(PROD));
    assert!(!all_output(&output).contains(SECRET), "{}", show(&output));
    let file = std::fs::read_to_string(&plan).expect("the plan file");
    assert!(!file.contains(SECRET));
}

#[test]
fn applying_a_plan_that_missed_an_account_exits_1_and_names_it() {
    let mut seed = org_seed(1);
    seed.accounts[0].roles[0].external_id = Some("right-one".to_owned());
    let sandbox = Sandbox::with_behaviour(seed, quick_behaviour());
    let plan = sandbox.workdir.file("plan.json");
    let plan_path = plan.to_str().unwrap();
    let accounts = ["--account", PROD, "--account", STAGING];
    let mut args = accounts.to_vec();
    args.extend(["plan", "--out", plan_path]);
    let output = sandbox
        .cmd()
        .env("SM_RECREATE_EXTERNAL_ID", "wrong")
        .args(&args)
        .output()
        .expect("plan");
    assert_eq!(code(&output), 1, "{}", show(&output));

    // Applied with the right external id, the plan still covers staging only.
    let mut args = accounts.to_vec();
    args.extend(["apply", plan_path, "--yes", "--format", "json"]);
    let output = sandbox
        .cmd()
        .env("SM_RECREATE_EXTERNAL_ID", "right-one")
        .args(&args)
        .output()
        .expect("apply");
    assert_eq!(code(&output), 1, "{}", show(&output));
    let report = stdout_json(&output);
    assert_eq!(
        report["unreachable_accounts"][0]["account_id"],
        json!(PROD),
        "{report}"
    );
    assert!(
        report["definitions"]
            .as_array()
            .is_some_and(|items| !items.is_empty()
                && items.iter().all(
                    |i| i["account_id"] == json!(STAGING) && i["status"] == json!("recreated")
                )),
        "{report}"
    );
    assert!(
        stderr_text(&output).contains("the plan does not cover it"),
        "{}",
        show(&output)
    );
}

#[test]
fn resume_of_an_item_in_flight_in_an_account_it_cannot_reach_is_in_doubt_not_failed() {
    let sandbox = Sandbox::with_behaviour(
        org_seed(1),
        Behaviour {
            // The original's create waits long enough for the run to be killed in flight.
            faults: vec![FaultRule {
                operation: "CreateDataQualityJobDefinition".to_owned(),
                name: Some("churn-dq".to_owned()),
                account_id: Some(PROD.to_owned()),
                delay_ms: Some(30_000),
                ..FaultRule::default()
            }],
            ..quick_behaviour()
        },
    );
    let mut apply = isolated_command(&sandbox.workdir);
    apply
        .args(["--endpoint-url", &sandbox.endpoint_url(), "--account", PROD])
        .args(["--region", US, "apply", "--yes", "--name", "churn-dq"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = apply.spawn().expect("apply starts");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !sandbox
        .calls()
        .iter()
        .any(|c| c.operation == "CreateDataQualityJobDefinition" && c.account_id == PROD)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the run never created"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    sandbox.emulator.set_behaviour(quick_behaviour());

    // The role cannot be assumed: the item stays half done, and that is for a person (exit 4).
    let output = run(
        &sandbox,
        &[
            "--account",
            PROD,
            "--role-name",
            "NoSuchRole",
            "resume",
            "--format",
            "json",
        ],
    );
    assert_eq!(code(&output), 4, "{}", show(&output));
    let report = stdout_json(&output);
    assert_eq!(
        report["definitions"][0]["status"],
        json!("in-doubt"),
        "{report}"
    );
    assert!(
        report["definitions"][0]["manual"]
            .as_str()
            .is_some_and(|m| m.contains(" resume ")),
        "{report}"
    );
    // Reachable again, resume finishes it.
    let output = run(&sandbox, &["--account", PROD, "resume"]);
    assert_eq!(code(&output), 0, "{}", show(&output));
    let live = sandbox
        .emulator
        .account(PROD)
        .definition(US, Kind::DataQuality, "churn-dq")
        .expect("the definition");
    assert_eq!(flag_of(&live), Some(true));
}

#[test]
fn apply_exits_1_when_an_account_it_reached_could_not_be_read() {
    let sandbox = Sandbox::with_behaviour(
        org_seed(1),
        Behaviour {
            faults: vec![FaultRule {
                operation: "ListModelBiasJobDefinitions".to_owned(),
                account_id: Some(STAGING.to_owned()),
                error: Some(FaultError {
                    code: "AccessDeniedException".to_owned(),
                    status: 400,
                    message: "not authorized to perform sagemaker:ListModelBiasJobDefinitions"
                        .to_owned(),
                }),
                ..FaultRule::default()
            }],
            ..quick_behaviour()
        },
    );
    let mut args = vec!["--org", "apply", "--yes", "--format", "json"];
    args.extend(regions());
    let output = run(&sandbox, &args);
    assert_eq!(code(&output), 1, "{}", show(&output));
    assert_eq!(stdout_json(&output)["exit_code"], json!(1));
    assert!(
        stderr_text(&output).contains("ListModelBiasJobDefinitions"),
        "{}",
        show(&output)
    );
}

#[test]
fn one_account_throttled_hard_does_not_hold_back_the_others() {
    let sandbox = Sandbox::with_behaviour(
        org_seed(1),
        Behaviour {
            account_throttles: vec![AccountThrottle {
                account_id: STAGING.to_owned(),
                rate_per_second: 4.0,
                burst: 1,
            }],
            ..quick_behaviour()
        },
    );
    let mut args = vec!["--org", "-vv", "apply", "--yes", "--format", "json"];
    args.extend(regions());
    let output = run(&sandbox, &args);
    assert_eq!(code(&output), 0, "{}", show(&output));
    assert_all_fixed(&sandbox, &ACCOUNTS, 1);
    let calls = sandbox.calls();
    let throttled = |account: &str| {
        calls
            .iter()
            .filter(|c| c.account_id == account && c.outcome == "ThrottlingException")
            .count()
    };
    assert!(throttled(STAGING) > 0, "staging was throttled");
    assert_eq!(throttled(PROD) + throttled(MANAGEMENT), 0);
    // The others' work was all done while staging still had work left: by the order of the
    // calls the emulator received, not by the clock.
    let last_of = |account: &str| {
        calls
            .iter()
            .rposition(|c| c.account_id == account && c.operation.starts_with("Delete"))
            .expect("deletes")
    };
    assert!(
        last_of(PROD) < last_of(STAGING) && last_of(MANAGEMENT) < last_of(STAGING),
        "the unthrottled accounts finished first"
    );
}

/// Asserts `calls` assumed the role of each of `members` once and no other role; on failure
/// names only the roles assumed a wrong number of times.
fn assert_each_role_assumed_once(calls: &[RecordedCall], members: &[String], what: &str) {
    let mut assumed: BTreeMap<String, usize> = members
        .iter()
        .map(|id| (format!("arn:aws:iam::{id}:role/{ROLE}"), 0))
        .collect();
    for call in calls.iter().filter(|c| c.operation == "AssumeRole") {
        *assumed
            .entry(call.name.clone().unwrap_or_default())
            .or_default() += 1;
    }
    assumed.retain(|_, times| *times != 1);
    assert!(
        assumed.is_empty(),
        "{what}: roles not assumed exactly once (role: times): {assumed:?}"
    );
}

/// More member accounts than aws-config's shared identity cache keeps credentials for (64), two
/// regions, the default concurrency (so every account's first calls race each other): each
/// member's role is still assumed once per command, for the scan and for the apply.
#[test]
fn each_member_role_is_assumed_once_per_command_however_many_members() {
    const MEMBERS: usize = 80;
    let members: Vec<String> = (1..=MEMBERS)
        .map(|i| format!("{:012}", 200_000_000_000usize + i))
        .collect();
    let mut definitions = Vec::new();
    for account in std::iter::once(MANAGEMENT.to_owned()).chain(members.iter().cloned()) {
        for region in [US, EU] {
            definitions.push(SeedDefinition {
                account_id: Some(account.clone()),
                ..seed_definition(
                    region,
                    Kind::ModelBias,
                    flagged_request(Kind::ModelBias, "risk-mb", Flag::NoNetworkConfig, &[]),
                )
            });
        }
    }
    let seed = Seed {
        account_id: MANAGEMENT.to_owned(),
        accounts: members
            .iter()
            .map(|id| member(id, &format!("member-{id}")))
            .collect(),
        definitions,
        ..Seed::default()
    };
    let sandbox = Sandbox::with_behaviour(seed, quick_behaviour());

    let mut args = vec!["--org", "scan", "--format", "json"];
    args.extend(regions());
    let output = run(&sandbox, &args);
    assert_eq!(code(&output), 0, "{}", show(&output));
    let report = stdout_json(&output);
    // Accounts are read as ListAccounts pages arrive, and reported in the organization's order.
    let reported: Vec<&str> = report["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .map(|a| a.as_str().expect("an account id"))
        .collect();
    let expected: Vec<&str> = std::iter::once(MANAGEMENT)
        .chain(members.iter().map(String::as_str))
        .collect();
    assert_eq!(reported, expected);
    assert_eq!(report["summary"]["non_compliant"], json!(2 * (MEMBERS + 1)));
    let scanned = sandbox.calls();
    assert_each_role_assumed_once(&scanned, &members, "scan");

    let mut args = vec!["--org", "apply", "--yes", "--format", "json"];
    args.extend(regions());
    let output = run(&sandbox, &args);
    assert_eq!(code(&output), 0, "{}", show(&output));
    assert_each_role_assumed_once(&sandbox.calls()[scanned.len()..], &members, "apply");
    for account in std::iter::once(MANAGEMENT).chain(members.iter().map(String::as_str)) {
        let view = sandbox.emulator.account(account);
        for region in [US, EU] {
            let live = view
                .definition(region, Kind::ModelBias, "risk-mb")
                .unwrap_or_else(|| panic!("{account} {region} risk-mb exists"));
            assert_eq!(flag_of(&live), Some(true), "{account} {region}");
        }
    }
}

/// Accounts are reached and read while `ListAccounts` still pages; a page that fails still fails
/// the command: it never works on part of the organization as if it were the whole.
#[test]
fn a_failing_later_page_of_the_organization_fails_the_command() {
    const MEMBERS: usize = 45;
    let members: Vec<String> = (1..=MEMBERS)
        .map(|i| format!("{:012}", 300_000_000_000usize + i))
        .collect();
    let seed = Seed {
        account_id: MANAGEMENT.to_owned(),
        accounts: members
            .iter()
            .map(|id| member(id, &format!("member-{id}")))
            .collect(),
        ..Seed::default()
    };
    let sandbox = Sandbox::with_behaviour(seed, quick_behaviour());
    for command in [&["scan", "--format", "json"][..], &["apply", "--yes"][..]] {
        // The second page of this command's listing fails.
        sandbox.emulator.set_behaviour(Behaviour {
            faults: vec![FaultRule {
                operation: "ListAccounts".to_owned(),
                nth: Some(2),
                error: Some(FaultError {
                    code: "AccessDeniedException".to_owned(),
                    status: 400,
                    message: "not authorized to perform organizations:ListAccounts".to_owned(),
                }),
                ..FaultRule::default()
            }],
            ..quick_behaviour()
        });
        let mut args = vec!["--org"];
        args.extend(command);
        args.extend(regions());
        let output = run(&sandbox, &args);
        assert_eq!(code(&output), 2, "{}", show(&output));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("cannot list the organization's accounts"),
            "{stderr}"
        );
        assert!(
            output.stdout.is_empty(),
            "no partial report: {}",
            show(&output)
        );
    }
    assert!(sandbox.mutating_calls().is_empty());
}

/// A failed page ends the command at once: it does not first wait for every account of the
/// earlier pages to be reached (here each `AssumeRole` answers only after 30 s) and read.
#[test]
fn a_failing_later_page_fails_the_command_without_waiting_for_the_accounts_reached_so_far() {
    const MEMBERS: usize = 45;
    let members: Vec<String> = (1..=MEMBERS)
        .map(|i| format!("{:012}", 300_000_000_000usize + i))
        .collect();
    let seed = Seed {
        account_id: MANAGEMENT.to_owned(),
        accounts: members
            .iter()
            .map(|id| member(id, &format!("member-{id}")))
            .collect(),
        ..Seed::default()
    };
    let sandbox = Sandbox::with_behaviour(
        seed,
        Behaviour {
            faults: vec![
                FaultRule {
                    operation: "ListAccounts".to_owned(),
                    nth: Some(2),
                    error: Some(FaultError {
                        code: "AccessDeniedException".to_owned(),
                        status: 400,
                        message: "not authorized to perform organizations:ListAccounts".to_owned(),
                    }),
                    ..FaultRule::default()
                },
                FaultRule {
                    operation: "AssumeRole".to_owned(),
                    delay_ms: Some(30_000),
                    ..FaultRule::default()
                },
            ],
            ..quick_behaviour()
        },
    );
    let mut args = vec!["--org", "scan", "--format", "json"];
    args.extend(regions());
    let started = std::time::Instant::now();
    let output = run(&sandbox, &args);
    let took = started.elapsed();
    assert_eq!(code(&output), 2, "{}", show(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("cannot list the organization's accounts"),
        "{}",
        show(&output)
    );
    assert!(took < Duration::from_secs(10), "took {took:?}");
}
