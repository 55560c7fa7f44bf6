//! Bad input is refused before anything is touched: exit 2, a clear message on stderr, and not
//! one mutating call reaching the (emulated) account. Plan files that are corrupt, edited, for
//! another account, of another format or listing items outside their regions; selection flags
//! beside a plan file; state directories that are missing, unwritable, shared or locked; damaged
//! snapshots and a directory given as one; durations out of range; a run id that is a path; and
//! apply without a terminal or `--yes`.

mod support;

use serde_json::{Value, json};
use sm_recreate::journal::StateDir;
use sm_recreate::kinds::Kind;
use sm_recreate::plan::document::PlanDocument;
use std::os::unix::fs::PermissionsExt;
use support::apply::*;
use support::held::*;
use support::*;

/// The demo account's unreferenced model-bias definition (no `NetworkConfig`).
const MB: &str = "churn-model-bias";
/// The demo account's data-quality definition that the schedule `DQ_SCHEDULE` references.
const DQ: &str = "churn-data-quality";
const DQ_SCHEDULE: &str = "churn-data-quality-hourly";
/// A definition referenced by the schedule `nightly` (`referenced_seed`).
const TARGET: &str = "target";

/// Two non-compliant definitions, one of them referenced by a schedule.
fn env() -> Env {
    Env::quick(seed(
        vec![
            definition(
                Kind::DataQuality,
                noncompliant(Kind::DataQuality, "dq", &[("team", "ml")]),
            ),
            definition(Kind::ModelBias, noncompliant(Kind::ModelBias, "mb", &[])),
        ],
        vec![schedule(SCHEDULE, Kind::DataQuality, "dq")],
    ))
}

/// Runs `args`, expects exit 2 with `phrase` on stderr, and no mutating call at all.
fn refused(env: &Env, args: &[&str], phrase: &str) {
    refused_in(env, None, args, phrase);
}

fn refused_in(env: &Env, state_dir: Option<&std::path::Path>, args: &[&str], phrase: &str) {
    let before = env.mutating_calls().len();
    let output = match state_dir {
        Some(dir) => env.run_with_state_dir(dir, args),
        None => env.run(args),
    };
    assert_eq!(code(&output), 2, "{args:?}\n{}", show(&output));
    let err = stderr(&output);
    assert!(
        err.to_lowercase().contains(&phrase.to_lowercase()),
        "{args:?}: stderr lacks {phrase:?}\n{}",
        show(&output)
    );
    assert_eq!(
        env.mutating_calls().len(),
        before,
        "{args:?} sent a mutating call"
    );
    // Both definitions are as seeded.
    assert_eq!(
        flag_of(&env.definition(Kind::DataQuality, "dq").unwrap()),
        Some(false)
    );
    assert_eq!(
        flag_of(&env.definition(Kind::ModelBias, "mb").unwrap()),
        Some(false)
    );
}

/// A fresh plan file, parsed.
fn plan(env: &Env) -> (std::path::PathBuf, Value) {
    let path = env.path("plan.json");
    let output = env.run(&["plan", "--out", path.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code(&output), 0, "{}", show(&output));
    let text = std::fs::read_to_string(&path).expect("plan written");
    (path, serde_json::from_str(&text).expect("plan is JSON"))
}

fn write(env: &Env, name: &str, text: &str) -> String {
    let path = env.path(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn apply_without_a_terminal_and_without_yes_refuses() {
    let env = env();
    refused(&env, &["apply"], "no terminal");
    let (path, _) = plan(&env);
    refused(&env, &["apply", path.to_str().unwrap()], "no terminal");
    // It did not even open the state directory.
    assert!(env.journals().is_empty());
}

#[test]
fn corrupt_plan_files_are_refused() {
    let env = env();
    let corrupt = write(&env, "corrupt.json", "this is not a plan {{{");
    refused(&env, &["apply", &corrupt, "--yes"], "not valid JSON");

    let (path, _) = plan(&env);
    let text = std::fs::read_to_string(&path).unwrap();
    let truncated = write(&env, "truncated.json", &text[..text.len() / 2]);
    refused(
        &env,
        &["apply", &truncated, "--yes"],
        "truncated or corrupt",
    );

    let empty = write(&env, "empty.json", "");
    refused(&env, &["apply", &empty, "--yes"], "not valid JSON");

    let missing = env.path("missing.json");
    refused(
        &env,
        &["apply", missing.to_str().unwrap(), "--yes"],
        "cannot read plan file",
    );

    // Valid JSON that is not a plan.
    let not_a_plan = write(
        &env,
        "other.json",
        r#"{"format_version": 4, "hello": "world"}"#,
    );
    refused(&env, &["apply", &not_a_plan, "--yes"], "is not a plan");
}

#[test]
fn an_edited_plan_file_is_refused() {
    let env = env();
    let (_, document) = plan(&env);
    // Each a small edit that a reviewer would not notice; the checksum does.
    type Edit = Box<dyn Fn(&mut Value)>;
    let edits: Vec<(&str, Edit)> = vec![
        (
            "action",
            Box::new(|d: &mut Value| d["items"][0]["action"] = json!("compliant")),
        ),
        (
            "name",
            Box::new(|d: &mut Value| d["items"][0]["name"] = json!("mb")),
        ),
        (
            "hash",
            Box::new(|d: &mut Value| {
                d["items"][0]["snapshot_sha256"] = json!("0".repeat(64));
            }),
        ),
        (
            "regions",
            Box::new(|d: &mut Value| d["regions"] = json!(["eu-west-1"])),
        ),
        (
            "checksum",
            Box::new(|d: &mut Value| d["checksum"] = json!("0".repeat(64))),
        ),
    ];
    for (what, edit) in edits {
        let mut edited = document.clone();
        edit(&mut edited);
        assert_ne!(edited, document, "{what}");
        let path = write(&env, &format!("edited-{what}.json"), &edited.to_string());
        refused(&env, &["apply", &path, "--yes"], "checksum does not match");
    }
}

#[test]
fn a_plan_for_another_account_is_refused() {
    let env = env();
    let (_, document) = plan(&env);
    let mut other: PlanDocument = serde_json::from_value(document).unwrap();
    other.accounts = vec!["210987654321".to_owned()];
    for item in &mut other.items {
        item.account_id = "210987654321".to_owned();
    }
    other.checksum = other.compute_checksum();
    let path = write(&env, "other-account.json", &other.to_json_pretty());
    refused(
        &env,
        &["apply", &path, "--yes"],
        "the plan is for account 210987654321",
    );
}

#[test]
fn a_plan_of_another_format_version_is_refused() {
    let env = env();
    let (_, document) = plan(&env);
    // 1 is sm-recreate 0.1's, which knew no fixes, 3 knew no notebooks: refused with the advice
    // to plan again.
    for version in [
        json!(1),
        json!(2),
        json!(3),
        json!(5),
        json!(0),
        json!("4"),
        Value::Null,
    ] {
        let mut other: Value = document.clone();
        other["format_version"] = version.clone();
        let path = write(&env, "other-version.json", &other.to_string());
        refused(&env, &["apply", &path, "--yes"], "format version");
    }
    // Even with a checksum recomputed for the new version.
    let mut other: PlanDocument = serde_json::from_value(document).unwrap();
    other.format_version = 99;
    other.checksum = other.compute_checksum();
    let path = write(&env, "v99.json", &other.to_json_pretty());
    refused(&env, &["apply", &path, "--yes"], "format version 99");
}

#[test]
fn selection_flags_with_a_plan_file_are_refused() {
    let env = env();
    let (path, _) = plan(&env);
    let path = path.to_str().unwrap();
    refused(
        &env,
        &["apply", path, "--yes", "--kind", "data-quality"],
        "cannot be combined",
    );
    refused(
        &env,
        &["--region", REGION, "apply", path, "--yes"],
        "cannot be combined",
    );
}

fn with_state_dir(env: &Env, dir: &std::path::Path, args: &[&str], phrase: &str) {
    refused_in(env, Some(dir), args, phrase);
}

#[test]
fn a_missing_state_directory_parent_is_refused() {
    let env = env();
    let dir = std::path::Path::new("/nonexistent-sm-recreate-test/x");
    assert!(!dir.parent().unwrap().exists());
    with_state_dir(&env, dir, &["apply", "--yes"], "state directory");
    with_state_dir(&env, dir, &["resume"], "state directory");
    assert!(!dir.parent().unwrap().exists(), "nothing was created");
}

#[test]
fn an_unwritable_state_directory_is_refused() {
    let env = env();
    // Tests often run as root, whom mode bits do not stop; a path *under a regular file* cannot
    // be created by anyone, so that is the portable "unwritable" case.
    let file = env.path("file");
    std::fs::write(&file, "not a directory").unwrap();
    with_state_dir(
        &env,
        &file.join("state"),
        &["apply", "--yes"],
        "state directory",
    );
    // The state directory itself being a file.
    with_state_dir(&env, &file, &["apply", "--yes"], "not a directory");

    // A read-only parent directory, where the mode bits bind (not root).
    let parent = env.path("readonly");
    std::fs::create_dir(&parent).unwrap();
    std::fs::set_permissions(&parent, std::fs::Permissions::from_mode(0o500)).unwrap();
    let probe = parent.join("probe");
    if std::fs::create_dir(&probe).is_err() {
        with_state_dir(
            &env,
            &parent.join("state"),
            &["apply", "--yes"],
            "state directory",
        );
    } else {
        eprintln!(
            "running as a privileged user: mode 0500 does not stop us; the file case covers it"
        );
        std::fs::remove_dir(&probe).unwrap();
    }
    std::fs::set_permissions(&parent, std::fs::Permissions::from_mode(0o700)).unwrap();
}

#[test]
fn a_shared_state_directory_is_refused() {
    let env = env();
    for mode in [0o755, 0o750, 0o705, 0o770] {
        let dir = env.path(&format!("shared-{mode:o}"));
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
        with_state_dir(&env, &dir, &["apply", "--yes"], "not private");
        assert_eq!(
            std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            mode,
            "the tool must not silently chmod it"
        );
    }
}

#[test]
fn a_locked_state_directory_is_refused() {
    let env = env();
    let held = StateDir::open(&env.state_dir(), "the test").expect("lock the state dir");
    refused(&env, &["apply", "--yes"], "locked");
    let (path, _) = plan(&env);
    refused(&env, &["apply", path.to_str().unwrap(), "--yes"], "locked");
    refused(&env, &["resume"], "locked");
    drop(held);
    // Released: apply now works.
    let output = env.run(&["apply", "--yes"]);
    assert_eq!(code(&output), 0, "{}", show(&output));
}

#[test]
fn restoring_a_damaged_snapshot_is_refused() {
    let env = env();
    let output = env.run(&["apply", "--yes"]);
    assert_eq!(code(&output), 0, "{}", show(&output));
    let (path, snapshot) = env.snapshot_of("dq");
    let text = std::fs::read_to_string(&path).unwrap();
    // The definition is gone, so a restore would act if it accepted the file.
    env.block_on(env.client().delete_definition(Kind::ModelBias, "mb"))
        .unwrap();
    let (mb_path, _) = env.snapshot_of("mb");
    let mb_text = std::fs::read_to_string(&mb_path).unwrap();

    let check = |name: &str, content: &str, phrase: &str| {
        let damaged = write(&env, name, content);
        let before = env.mutating_calls().len();
        let output = env.run(&["restore", &damaged]);
        assert_eq!(code(&output), 2, "{name}\n{}", show(&output));
        assert!(
            stderr(&output).contains(phrase),
            "{name}: lacks {phrase:?}\n{}",
            show(&output)
        );
        assert_eq!(
            env.mutating_calls().len(),
            before,
            "{name}: a mutating call"
        );
        assert!(env.definition(Kind::ModelBias, "mb").is_none());
    };
    check("corrupt.json", "\u{0}\u{1}garbage", "not a valid snapshot");
    check(
        "truncated.json",
        &mb_text[..mb_text.len() / 2],
        "not a valid snapshot",
    );
    // An edited value: the checksum no longer matches.
    let mut value: Value = serde_json::from_str(&mb_text).unwrap();
    value["describe"]["RoleArn"] = json!("arn:aws:iam::123456789012:role/edited");
    let edited = value.to_string();
    check("edited.json", &edited, "does not match its checksum");
    // Edited tags are caught too.
    let mut value: Value = serde_json::from_str(&mb_text).unwrap();
    value["tags"] = json!([{"Key": "owner", "Value": "mallory"}]);
    check(
        "edited-tags.json",
        &value.to_string(),
        "does not match its checksum",
    );
    // Another snapshot format version.
    let mut value: Value = serde_json::from_str(&mb_text).unwrap();
    value["format_version"] = json!(7);
    check("version.json", &value.to_string(), "format version 7");
    // A missing file.
    let output = env.run(&["restore", env.path("nope.json").to_str().unwrap()]);
    assert_eq!(code(&output), 2, "{}", show(&output));

    // The undamaged dq snapshot is still good (sanity: the refusals were about the damage).
    assert_eq!(snapshot["name"], json!("dq"));
    assert!(!text.is_empty());
    let output = env.run(&["restore", mb_path.to_str().unwrap()]);
    assert_eq!(code(&output), 0, "{}", show(&output));
    assert_eq!(
        flag_of(&env.definition(Kind::ModelBias, "mb").unwrap()),
        Some(false)
    );
}

/// Issue 7, defect 7: `--schedule-timeout 18446744073709551615` panicked ("overflow when adding
/// duration to instant", exit 101) with a schedule left on the copy. Durations are bounded
/// (0..=86400): a usage error, exit 2, nothing touched, no panic. For apply, resume and restore.
#[test]
fn an_out_of_range_duration_is_a_usage_error() {
    let kind = Kind::DataQuality;
    let env = Env::demo(&[DQ], vec![]);
    let snapshot = env.path("snapshot.json").display().to_string();
    let cases: Vec<Vec<&str>> = vec![
        vec!["apply", "--yes", "--name", DQ],
        vec!["resume"],
        vec!["restore", snapshot.as_str()],
    ];
    for case in &cases {
        for (flag, value) in [
            ("--schedule-timeout", "18446744073709551615"),
            ("--schedule-timeout", "86401"),
            ("--patience", "18446744073709551615"),
        ] {
            let mut args = case.clone();
            args.extend([flag, value]);
            let output = env.run(&args);
            let text = show(&output);
            assert_eq!(code(&output), 2, "{case:?} {flag} {value}: {text}");
            assert!(!stderr(&output).contains("panicked"), "{text}");
            assert_eq!(
                env.mutating_calls(),
                vec![],
                "{case:?} {flag} {value}: {text}"
            );
        }
    }
    assert_eq!(env.schedule_target(DQ_SCHEDULE), DQ);
    assert_eq!(flag_of(&env.definition(kind, DQ).unwrap()), Some(false));
}

/// Issue 7, defect 7: `resume ../../other/runs/ID` resumed another state directory's unfinished
/// run, without its lock. A run id is a plain id: exit 2, nothing touched.
#[test]
fn resume_refuses_a_run_id_that_is_a_path() {
    let kind = Kind::ModelBias;
    let glob = format!("{MB}-smr*");
    let env = Env::demo(
        &[MB],
        vec![hold_rule(&op("Create", kind), &glob, HOLD_FOREVER_MS, true)],
    );
    let other = env.path("other");
    env.spawn_until_held(
        &other,
        &["apply", "--yes", "--name", MB],
        &op("Create", kind),
        &glob,
    )
    .kill_then_clear_faults();
    let run_id = std::fs::read_dir(other.join("runs"))
        .expect("the other state dir has runs")
        .flatten()
        .next()
        .expect("one run")
        .file_name()
        .to_string_lossy()
        .into_owned();
    let mutations = env.mutating_calls().len();
    let path = format!("../../other/runs/{run_id}");
    let output = env.run(&["resume", &path]);
    let text = show(&output);
    assert_eq!(code(&output), 2, "{text}");
    assert_eq!(
        env.mutating_since(mutations),
        Vec::<String>::new(),
        "{text}"
    );
}

/// Issue 7, defect 7: `restore /tmp` said "state directory /tmp: Is a directory". It must say a
/// snapshot file is expected (exit 2, nothing touched).
#[test]
fn restore_of_a_directory_says_a_snapshot_is_expected() {
    let env = Env::demo(&[MB], vec![]);
    let output = env.run(&["restore", "/tmp"]);
    let text = show(&output);
    assert_eq!(code(&output), 2, "{text}");
    let message = stderr(&output);
    assert!(message.contains("snapshot"), "{text}");
    assert!(!message.contains("Is a directory"), "{text}");
    assert!(!message.contains("state directory /tmp"), "{text}");
    assert_eq!(env.mutating_calls(), vec![], "{text}");
}

/// A plan file edited (and re-checksummed) so that an item lies outside the plan's regions is
/// refused before any call: exit 2, "outside its regions", nothing changed. Both ways: the
/// regions edited, and an item's region edited.
#[test]
fn a_plan_file_listing_items_outside_its_regions_is_refused() {
    let kind = Kind::DataQuality;
    let env = Env::settled(referenced_seed(kind, TARGET));
    let plan = env.plan_file();
    let text = std::fs::read_to_string(&plan).unwrap();
    let document: PlanDocument = serde_json::from_str(&text).expect("a plan document");
    assert_eq!(document.regions, vec![REGION.to_owned()]);
    assert!(!document.items.is_empty());

    let mut other_regions = document.clone();
    other_regions.regions = vec!["eu-west-1".to_owned()];
    let mut moved_item = document.clone();
    moved_item.items[0].region = "eu-west-1".to_owned();
    for (label, mut edited) in [("regions", other_regions), ("item region", moved_item)] {
        edited.checksum = edited.compute_checksum();
        let path = env.path(&format!("edited-{}.json", label.replace(' ', "-")));
        std::fs::write(&path, edited.to_json_pretty()).unwrap();
        let mutations = env.mutating_calls().len();
        let output = env.run(&["apply", path.to_str().unwrap(), "--yes"]);
        assert_eq!(code(&output), 2, "{label}: {}", show(&output));
        assert!(
            all_output(&output).contains("outside its regions"),
            "{label}: {}",
            show(&output)
        );
        assert_eq!(
            env.mutating_since(mutations),
            Vec::<String>::new(),
            "{label}"
        );
    }
    assert_eq!(env.schedule_target(SCHEDULE), TARGET);
    assert_eq!(flag_of(&env.definition(kind, TARGET).unwrap()), Some(false));
}
