//! What the tool writes and how it exits, end to end: a closed stdout or stderr stops the
//! writing and never the work; an error after a mutating call never exits 2; `-q` keeps results
//! and errors; with `--log-format json` every line on stderr is a JSON object; resume and restore
//! print their report as JSON when asked; and the main error messages, as snapshots.

mod support;

use serde_json::{Value, json};
use sm_recreate::journal::StateDir;
use sm_recreate::kinds::Kind;
use std::process::Command;
use support::apply::*;
use support::held::*;
use support::printed::manual_action;
use support::*;

const NAME: &str = "target";

/// Two definitions of different kinds, one referenced by a schedule: every step happens.
fn two_definitions() -> sm_emulator::Seed {
    seed(
        vec![
            definition(
                Kind::ModelBias,
                noncompliant(Kind::ModelBias, NAME, &[("team", "ml")]),
            ),
            definition(
                Kind::DataQuality,
                noncompliant(Kind::DataQuality, "other", &[]),
            ),
        ],
        vec![schedule(SCHEDULE, Kind::ModelBias, NAME)],
    )
}

fn assert_all_fixed(env: &Env, context: &str) {
    for (kind, name) in [(Kind::ModelBias, NAME), (Kind::DataQuality, "other")] {
        let live = env
            .definition(kind, name)
            .unwrap_or_else(|| panic!("{name} is missing\n{context}"));
        assert_eq!(flag_of(&live), Some(true), "{name}\n{context}");
    }
    assert_eq!(env.schedule_target(SCHEDULE), NAME, "{context}");
    let names = env.emulator.definition_names(REGION, Kind::ModelBias);
    assert_eq!(names, vec![NAME.to_owned()], "copies left\n{context}");
}

/// Runs `command` with one of its output streams' reader gone from the start (every write to
/// it fails with EPIPE); returns the exit code and what the other stream got.
fn run_with_closed(command: Command, closed: Closed) -> (i32, String) {
    let output = Running::spawn_with_closed(command, closed).finish();
    let kept = match closed {
        Closed::Stdout => output.stderr.clone(),
        Closed::Stderr => output.stdout.clone(),
    };
    (code(&output), String::from_utf8_lossy(&kept).into_owned())
}

/// An apply that plans now prints the plan first: a reader gone before that must not stop the
/// recreate (it used to end the command there, exit 0, with nothing done).
#[test]
fn an_apply_whose_stdout_is_closed_recreates_everything_and_exits_as_usual() {
    for format in ["text", "json"] {
        let env = Env::quick(two_definitions());
        let mut command = env.std_cmd();
        command.args(["apply", "--yes", "--format", format]);
        let (code, stderr) = run_with_closed(command, Closed::Stdout);
        let context = format!("--format {format}\n{stderr}");
        assert_eq!(code, 0, "{context}");
        assert!(!stderr.contains("panicked"), "{context}");
        assert_all_fixed(&env, &context);
    }
}

#[test]
fn an_apply_whose_stderr_is_closed_recreates_everything_and_still_reports() {
    let env = Env::quick(two_definitions());
    let mut command = env.std_cmd();
    command.args(["-v", "apply", "--yes", "--format", "json"]);
    let (code, stdout) = run_with_closed(command, Closed::Stderr);
    assert_eq!(code, 0, "{stdout}");
    let report: Value = serde_json::from_str(&stdout).expect("the report");
    assert_eq!(report["summary"], json!({"recreated": 2}), "{stdout}");
    assert_all_fixed(&env, &stdout);
}

/// `command` run by `sh`, which ignores SIGXFSZ first (and keeps the same pid through `exec`),
/// so that a file-size limit makes writes fail instead of killing the process: a full disk.
fn ignoring_file_size_signal(command: &Command) -> Command {
    let mut wrapped = Command::new("sh");
    wrapped
        .arg("-c")
        .arg(r#"trap "" XFSZ; exec "$0" "$@""#)
        .arg(command.get_program())
        .args(command.get_args());
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => wrapped.env(key, value),
            None => wrapped.env_remove(key),
        };
    }
    if let Some(dir) = command.get_current_dir() {
        wrapped.current_dir(dir);
    }
    wrapped
}

/// The run's id: the one folder under the state directory's `runs`.
fn only_run_id(env: &Env) -> String {
    let runs: Vec<String> = std::fs::read_dir(env.state_dir().join("runs"))
        .expect("runs")
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    runs[0].clone()
}

/// A rollback that fails (exit 4) with stdout closed by its reader right away: still exit 4, and
/// the manual action on stderr. In both report formats.
#[test]
fn a_closed_stdout_does_not_change_the_exit_code_of_an_incomplete_rollback() {
    for format in ["text", "json"] {
        let kind = Kind::ModelQuality;
        let env = Env::settled(referenced_seed(kind, NAME));
        let plan = env.plan_file();
        env.emulator
            .set_behaviour(settle_behaviour(creates_refused(kind, NAME)));
        let mut command = env.std_cmd();
        command.args(["apply", plan.to_str().unwrap(), "--yes", "--format", format]);
        // The reader goes away at once: every write to stdout fails (EPIPE).
        let output = Running::spawn_with_closed(command, Closed::Stdout).finish();
        assert_eq!(code(&output), 4, "--format {format}: {}", show(&output));
        assert!(
            stderr(&output).contains("needs manual action"),
            "--format {format}: {}",
            show(&output)
        );
        assert!(
            !stderr(&output).contains("panicked"),
            "--format {format}: {}",
            show(&output)
        );
    }
}

/// The state directory fills up (no file may grow) while the temporary copy's create is on its
/// way: AWS creates it, the journal cannot say so, and the run has changed AWS, so it must not
/// exit 2 ("nothing touched"). It stops in doubt (4),
/// names its run and the `resume` command, and that command finishes the job.
#[test]
fn an_apply_whose_journal_becomes_unwritable_mid_run_exits_4_naming_the_run_never_2() {
    let kind = Kind::ModelBias;
    let copies = format!("{NAME}-smr*");
    let env = Env::start(
        referenced_seed(kind, NAME),
        settle_behaviour(vec![delay_rule(&op("Create", kind), Some(&copies), 5_000)]),
    );
    let mut command = env.std_cmd();
    command.args(["apply", "--yes", "--format", "json"]);
    let mut run = Running::spawn(ignoring_file_size_signal(&command));
    wait_until_held(&env, &mut run, &op("Create", kind), &copies);
    let limited = Command::new("prlimit")
        .args(["--pid", &run.child.id().to_string(), "--fsize=0"])
        .status()
        .expect("run prlimit (util-linux)");
    assert!(limited.success(), "prlimit failed");
    let output = run.finish();
    let text = show(&output);
    assert_ne!(code(&output), 2, "{text}");
    assert_eq!(code(&output), 4, "{text}");

    let run_id = only_run_id(&env);
    let report = stdout_json(&output);
    let resume = report["hint"].as_str().expect("a resume hint").to_owned();
    assert!(resume.ends_with(&format!(" resume {run_id}")), "{text}");
    assert_eq!(report["exit_code"], json!(4), "{text}");
    assert_eq!(
        report["definitions"][0]["status"],
        json!("in-doubt"),
        "{text}"
    );
    let state_dir = env.state_dir().canonicalize().unwrap();
    let endpoint = env.endpoint_url();
    let redacted = stderr_text(&output)
        .replace(&run_id, "[RUN]")
        .replace(&state_dir.display().to_string(), "[STATE]")
        .replace(&endpoint, "[ENDPOINT]");
    insta::assert_snapshot!("error_after_a_mutating_call", redacted);

    // The hint, followed, finishes the job.
    env.emulator.set_behaviour(settle_behaviour(vec![]));
    let output = env.run(&["resume", &run_id]);
    assert_eq!(code(&output), 0, "{}", show(&output));
    let live = env.definition(kind, NAME).expect("the definition");
    assert_eq!(flag_of(&live), Some(true));
    assert_eq!(env.schedule_target(SCHEDULE), NAME);
}

#[test]
fn quiet_keeps_the_report_and_errors_and_drops_the_rest() {
    let env = Env::quick(two_definitions());
    let output = env.run(&["-q", "apply", "--yes"]);
    assert_eq!(code(&output), 0, "{}", show(&output));
    assert_eq!(stderr_text(&output), "", "{}", show(&output));
    assert!(stdout(&output).contains("2 recreated"), "{}", show(&output));

    let output = env.run(&["-q", "apply", "--yes", "--kind", "no-such-kind"]);
    assert_eq!(code(&output), 2, "{}", show(&output));
    assert!(
        stderr_text(&output).starts_with("error: "),
        "{}",
        show(&output)
    );
}

#[test]
fn with_json_logs_every_line_on_stderr_is_a_json_object() {
    let env = Env::quick(two_definitions());
    let runs = [
        env.run(&["--log-format", "json", "-v", "apply", "--yes"]),
        env.run(&["--log-format", "json", "resume"]),
        env.run(&["--log-format", "json", "apply"]),
    ];
    let mut levels = std::collections::BTreeSet::new();
    for output in &runs {
        for line in stderr_text(output).lines() {
            let value: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {line}\n{}", show(output)));
            assert!(value["fields"].is_object(), "{line}");
            levels.insert(value["level"].as_str().unwrap_or_default().to_owned());
        }
    }
    assert_eq!(code(&runs[0]), 0, "{}", show(&runs[0]));
    // The refused apply (no terminal, no --yes): its error carries the hint.
    let refusal: Value =
        serde_json::from_str(stderr_text(&runs[2]).lines().last().unwrap()).unwrap();
    assert_eq!(refusal["level"], json!("ERROR"));
    assert!(
        refusal["fields"]["hint"]
            .as_str()
            .unwrap()
            .contains("--yes")
    );
    assert!(levels.contains("INFO"), "{levels:?}");
}

#[test]
fn resume_and_restore_print_their_report_as_json_when_asked() {
    let env = Env::quick(two_definitions());
    let output = env.run(&["resume", "--format", "json"]);
    assert_eq!(code(&output), 0, "{}", show(&output));
    let report = stdout_json(&output);
    assert_eq!(report["definitions"], json!([]));
    assert!(
        report["note"]
            .as_str()
            .unwrap()
            .starts_with("Nothing to resume")
    );

    let output = env.run(&["apply", "--yes"]);
    assert_eq!(code(&output), 0, "{}", show(&output));
    let (snapshot, _) = env.snapshot_of("other");
    // Missing: the restore recreates it as the snapshot recorded it.
    env.block_on(env.client().delete_definition(Kind::DataQuality, "other"))
        .unwrap();
    let output = env.run(&["restore", snapshot.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code(&output), 0, "{}", show(&output));
    let report = stdout_json(&output);
    assert_eq!(
        report["summary"],
        json!({"recreated": 1}),
        "{}",
        show(&output)
    );
    assert_eq!(report["definitions"][0]["name"], json!("other"));
    assert_eq!(report["exit_code"], json!(0));
    assert!(report["run_id"].is_string());
    // Already restored: nothing to do, still a report.
    let output = env.run(&["restore", snapshot.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code(&output), 0, "{}", show(&output));
    let report = stdout_json(&output);
    assert_eq!(report["definitions"], json!([]));
    assert!(report["note"].as_str().unwrap().contains("nothing to do"));
}

#[test]
fn a_refusal_says_what_and_what_to_do() {
    let env = Env::quick(two_definitions());
    let output = env.run(&["apply"]);
    assert_eq!(code(&output), 2, "{}", show(&output));
    insta::assert_snapshot!("usage_error_with_hint", stderr_text(&output));
}

#[test]
fn a_locked_state_directory_is_refused_with_who_holds_it() {
    let env = Env::quick(two_definitions());
    let held = StateDir::open(&env.state_dir(), "the test").expect("lock the state dir");
    let output = env.run(&["apply", "--yes"]);
    drop(held);
    assert_eq!(code(&output), 2, "{}", show(&output));
    let state_dir = env.state_dir().canonicalize().unwrap();
    let redacted = stderr_text(&output)
        .replace(&state_dir.display().to_string(), "[STATE]")
        .replace(&format!("pid {}", std::process::id()), "pid [PID]");
    insta::assert_snapshot!("locked_state_dir", redacted);
}

/// The demo account's unreferenced model-bias definition.
const DEMO_MB: &str = "churn-model-bias";
/// The demo account's data-quality definition that a schedule references, and the schedule.
const DEMO_DQ: &str = "churn-data-quality";
const DEMO_DQ_SCHEDULE: &str = "churn-data-quality-hourly";

/// The `hint: ...` lines on stderr.
fn hint_lines(output: &std::process::Output) -> Vec<String> {
    stderr(output)
        .lines()
        .filter(|line| line.starts_with("hint: "))
        .map(str::to_owned)
        .collect()
}

/// The runs in the state directory, oldest first.
fn run_ids(env: &Env) -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(env.state_dir().join("runs"))
        .expect("the runs folder")
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    ids.sort();
    ids
}

/// The original is gone and its rollback failed: the one right action is `restore SNAPSHOT`,
/// and neither stderr nor the JSON report names a second, different one (`resume`).
#[test]
fn a_rollback_left_incomplete_names_one_manual_action_not_two() {
    let env = Env::demo(&[DEMO_MB], creates_refused(Kind::ModelBias, DEMO_MB));
    let output = env.run(&["apply", "--yes", "--name", DEMO_MB, "--format", "json"]);
    let text = show(&output);
    assert_eq!(code(&output), 4, "{text}");
    let manual = manual_action(&output).expect("a manual action");
    assert!(manual.contains(" restore "), "{manual}\n{text}");
    let report = stdout_json(&output);
    assert_eq!(
        report["definitions"][0]["status"], "rollback-incomplete",
        "{text}"
    );
    let hint = report["hint"].as_str().unwrap_or_default();
    assert!(
        hint.is_empty() || hint == manual,
        "hint {hint} beside {manual}\n{text}"
    );
    assert!(
        hint_lines(&output).iter().all(|h| h.contains(" restore ")),
        "a second action on stderr: {:?}\n{text}",
        hint_lines(&output)
    );
}

/// `resume -q` still names the other unfinished runs: one may hold a definition only as its
/// temporary copy, and `-q` keeps hints.
#[test]
fn quiet_resume_still_names_the_other_unfinished_runs() {
    let env = Env::demo(
        &[DEMO_MB, DEMO_DQ],
        creates_refused(Kind::ModelBias, DEMO_MB),
    );
    let output = env.run(&["apply", "--yes", "--name", DEMO_MB]);
    assert_eq!(code(&output), 4, "{}", show(&output));
    let first = run_ids(&env);
    assert_eq!(first.len(), 1);
    env.emulator
        .set_behaviour(behaviour(creates_refused(Kind::DataQuality, DEMO_DQ)));
    let output = env.run(&["apply", "--yes", "--name", DEMO_DQ]);
    assert_eq!(code(&output), 4, "{}", show(&output));
    env.clear_faults();

    let output = env.run(&["-q", "resume"]);
    let text = show(&output);
    assert_eq!(code(&output), 0, "{text}");
    assert_eq!(env.schedule_target(DEMO_DQ_SCHEDULE), DEMO_DQ, "{text}");
    // The first run is still unfinished: its definition exists only as its copy.
    assert!(env.definition(Kind::ModelBias, DEMO_MB).is_none(), "{text}");
    assert!(
        hint_lines(&output).iter().any(|h| h.contains(&first[0])),
        "`resume -q` does not name the other unfinished run {}\n{text}",
        first[0]
    );
}

/// `--format json` is one document on stdout whatever happens: a refusal too, with its error,
/// hint and exit code.
#[test]
fn resume_and_restore_print_a_json_report_when_they_refuse() {
    let env = Env::demo(&[DEMO_MB], vec![]);
    let output = env.run(&["resume", "20260101T000000Z-0000", "--format", "json"]);
    assert_eq!(code(&output), 2, "{}", show(&output));
    let report = stdout_json(&output);
    assert_eq!(report["exit_code"], 2, "{}", show(&output));
    assert!(
        report["error"]
            .as_str()
            .unwrap_or_default()
            .contains("no run")
    );
    assert!(report["run_id"].is_null());

    let snapshot = env.path("missing.json");
    let output = env.run(&["restore", snapshot.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code(&output), 2, "{}", show(&output));
    let report = stdout_json(&output);
    assert_eq!(report["exit_code"], 2);
    assert!(report["error"].as_str().is_some(), "{}", show(&output));
}

/// With `--log-format json`, an error in the command line itself is a JSON line too; without
/// it, clap's own message stands.
#[test]
fn with_json_logs_a_command_line_error_is_a_json_object() {
    let env = Env::demo(&[DEMO_MB], vec![]);
    let output = env.run(&["--log-format", "json", "apply", "--concurrency", "many"]);
    assert_eq!(code(&output), 2, "{}", show(&output));
    for line in stderr(&output).lines() {
        let object: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {line}\n{}", show(&output)));
        assert_eq!(object["level"], "ERROR");
        assert!(
            object["fields"]["message"]
                .as_str()
                .unwrap()
                .contains("--concurrency")
        );
    }
    assert!(!stderr(&output).is_empty());
    let output = env.run(&["apply", "--concurrency", "many"]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).starts_with("error: invalid value 'many'"),
        "{}",
        show(&output)
    );
}
