//! Every command the tool prints for a person (I4) fits the live state and runs verbatim: pasted
//! into a shell (`sh -c`) in another directory, with a state directory whose path has a space, it
//! finishes the job. The manual action after a rollback that could not finish or an answer that
//! was lost (`restore SNAPSHOT` only while the definition is absent, `resume` otherwise), and the
//! hints printed on one Ctrl-C and on a second. The real binary over HTTP against the emulator
//! started in this process.

mod support;

use sm_emulator::FaultRule;
use sm_recreate::kinds::Kind;
use sm_testkit::shell_words;
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::apply::*;
use support::held::*;
use support::printed::*;
use support::*;

/// The demo account's unreferenced model-bias definition (no `NetworkConfig`).
const MB: &str = "churn-model-bias";
/// A definition referenced by the schedule `nightly` (`referenced_seed`).
const NAME: &str = "target";

/// The first create of the original name `churn-model-bias` acts, then answers 500; its third
/// describe is throttled (the reproduction `faultsK.json`).
fn lost_create_answer_of_the_original() -> Vec<FaultRule> {
    let kind = Kind::ModelBias;
    vec![
        internal_failure(&op("Create", kind), MB, Some(1), true),
        throttled(&op("Describe", kind), MB, 3),
    ]
}

/// Issue 7, defect 4 (I2, I4): the create of the original name acts, then answers 500; a later
/// describe is throttled; `AWS_MAX_ATTEMPTS=1`. Before issue 7, exit 4 printed `restore
/// SNAPSHOT`, which refuses ("exists and differs"). Whatever action is printed must fit the live state (never
/// `restore` while the definition exists), run verbatim with the same environment, and end exit
/// 0 with the definition compliant.
#[test]
fn the_manual_action_after_a_lost_create_answer_runs_and_fixes() {
    let kind = Kind::ModelBias;
    let mut env = Env::demo(&[MB], lost_create_answer_of_the_original());
    env.max_attempts = Some(1);
    let before = env.definition(kind, MB).expect("seeded");
    let tags = env.tags(kind, MB);
    let output = env.run(&[
        "apply",
        "--yes",
        "--name",
        MB,
        "--format",
        "json",
        "--patience",
        "3",
    ]);
    let text = show(&output);
    match code(&output) {
        0 => assert_eq!(report_status(&output, MB), "recreated", "{text}"),
        4 => {
            let manual = manual_action(&output)
                .unwrap_or_else(|| panic!("exit 4 without a manual action\n{text}"));
            if env.definition(kind, MB).is_some() {
                assert!(
                    !manual.contains(" restore "),
                    "I4: a `restore` action while {MB} exists: {manual}\n{text}"
                );
            }
            let elsewhere = Workdir::new();
            let runs = follow_manual_actions(&manual, &elsewhere, &[("AWS_MAX_ATTEMPTS", "1")], 1);
            let (_, last) = runs.last().unwrap();
            assert_eq!(code(last), 0, "the printed action:\n{}", show_all(&runs));
        }
        other => panic!("exit {other}\n{text}"),
    }
    assert!(
        env.is_fixed(kind, MB, &before),
        "{MB} is not compliant: {:?}",
        env.definition(kind, MB)
    );
    env.clear_faults();
    assert_eq!(env.tags(kind, MB), tags);
    assert_eq!(env.copies(kind, MB), Vec::<String>::new());
}

/// Issue 7, defect 7 and I4 ("every path quoted"): every create of `churn-model-bias` is rejected,
/// so the run ends exit 4 with a manual action; the state directory's path has a space. Before
/// issue 7 the snapshot path in the printed `restore` command was not quoted. Run by `sh -c` from another
/// directory (faults cleared), the action must end exit 0 with the definition back, no copy.
#[test]
fn the_printed_manual_action_runs_verbatim_with_a_space_in_the_state_dir() {
    let kind = Kind::ModelBias;
    let env = Env::demo(&[MB], creates_refused(kind, MB));
    let before = env.definition(kind, MB).expect("seeded");
    let state_dir = env.path("my state");
    let output = env.run_with_state_dir(&state_dir, &["apply", "--yes", "--name", MB]);
    let text = show(&output);
    assert_eq!(code(&output), 4, "{text}");
    let manual =
        manual_action(&output).unwrap_or_else(|| panic!("exit 4 without a manual action\n{text}"));
    assert!(manual.contains("--state-dir"), "{manual}");
    assert!(manual.contains("--endpoint-url"), "{manual}");
    env.clear_faults();
    let elsewhere = Workdir::new();
    let runs = follow_manual_actions(&manual, &elsewhere, &[], 3);
    let (_, last) = runs.last().unwrap();
    assert_eq!(code(last), 0, "run verbatim:\n{}", show_all(&runs));
    let live = env
        .definition(kind, MB)
        .unwrap_or_else(|| panic!("{MB} missing\n{}", show_all(&runs)));
    assert!(
        without_creation_time(&live) == without_creation_time(&before)
            || env.is_fixed(kind, MB, &before),
        "{live}"
    );
    assert_eq!(env.copies(kind, MB), Vec::<String>::new());
}

/// The hint commands of an interrupted run: `sm-recreate …` in backticks naming `resume`, each
/// with `--state-dir` and `--endpoint-url` (that the path, which has a space, is quoted is proved
/// by running the hint through `sh -c`).
fn resume_hints(stderr: &str, state_dir: &Path, endpoint_url: &str) -> Vec<String> {
    let hints: Vec<String> = backticked_commands(stderr)
        .into_iter()
        .filter(|c| c.contains(" resume"))
        .collect();
    assert!(!hints.is_empty(), "no resume hint:\n{stderr}");
    for hint in &hints {
        assert!(
            hint.contains("--state-dir") && hint.contains(&state_dir.display().to_string()),
            "the hint does not name the state dir: {hint}"
        );
        assert!(
            hint.contains(&format!("--endpoint-url {endpoint_url}")),
            "the hint does not name the endpoint: {hint}"
        );
    }
    hints
}

/// Issue 7, defect 7 (I4): the Ctrl-C hints printed `sm-recreate resume RUN` without
/// `--state-dir`/`--endpoint-url`, so they fail with a non-default state dir. One Ctrl-C: the run
/// finishes what is in flight and names `resume` for the rest; the hint, run verbatim by `sh -c`
/// from another directory, finishes the job.
#[test]
fn the_ctrl_c_hint_runs_verbatim() {
    let names = [MB, "fraud-model-quality"];
    let holds = vec![
        hold_rule(
            &op("Create", Kind::ModelBias),
            &format!("{MB}-smr*"),
            3_000,
            false,
        ),
        hold_rule(
            &op("Create", Kind::ModelQuality),
            "fraud-model-quality-smr*",
            3_000,
            false,
        ),
    ];
    let env = Env::demo(&names, holds);
    let state_dir = env.path("ctrl c state");
    let mut run = env.spawn(&state_dir, &["apply", "--yes", "--concurrency", "1"]);
    let deadline = std::time::Instant::now() + DEADLINE;
    while !is_held(&env, &op("Create", Kind::ModelBias), &format!("{MB}-smr*"))
        && !is_held(
            &env,
            &op("Create", Kind::ModelQuality),
            "fraud-model-quality-smr*",
        )
    {
        assert!(std::time::Instant::now() < deadline, "nothing was held");
        assert!(run.child.try_wait().unwrap().is_none(), "the run ended");
        std::thread::sleep(Duration::from_millis(10));
    }
    run.interrupt();
    let output = run.finish();
    let hints = resume_hints(&stderr(&output), &state_dir, &env.endpoint_url());
    env.clear_faults();
    let runs = follow_manual_actions(&hints[0], &Workdir::new(), &[], 1);
    let (_, last) = runs.last().unwrap();
    assert_eq!(code(last), 0, "{}\n{}", show(&output), show_all(&runs));
    for name in names {
        let kind = demo_subset(&[name]).definitions[0].kind;
        assert_eq!(
            env.definition(kind, name).as_ref().and_then(flag_of),
            Some(true),
            "{name}\n{}",
            show_all(&runs)
        );
    }
}

/// Issue 7, defect 7 (I4): a second Ctrl-C stops at once and prints "Run `sm-recreate resume
/// RUN`": that hint must name the state dir (quoted) and the endpoint, and run verbatim.
#[test]
fn the_second_ctrl_c_hint_runs_verbatim() {
    let kind = Kind::ModelBias;
    let glob = format!("{MB}-smr*");
    let env = Env::demo(
        &[MB],
        vec![hold_rule(&op("Create", kind), &glob, HOLD_FOREVER_MS, true)],
    );
    let before = env.definition(kind, MB).expect("seeded");
    let state_dir = env.path("ctrl c state");
    let mut run = env
        .spawn_until_held(
            &state_dir,
            &["apply", "--yes", "--name", MB],
            &op("Create", kind),
            &glob,
        )
        .run;
    run.interrupt();
    run.wait_for_stderr("Interrupted");
    run.interrupt();
    let output = run.finish();
    assert_eq!(code(&output), 130, "{}", show(&output));
    let hints = resume_hints(&stderr(&output), &state_dir, &env.endpoint_url());
    env.clear_faults();
    let runs = follow_manual_actions(&hints[0], &Workdir::new(), &[], 1);
    let (_, last) = runs.last().unwrap();
    assert_eq!(code(last), 0, "{}\n{}", show(&output), show_all(&runs));
    assert!(env.is_fixed(kind, MB, &before), "{}", show_all(&runs));
    assert_eq!(env.copies(kind, MB), Vec::<String>::new());
}

/// The value following `flag` in `words`.
fn flag_value<'a>(words: &'a [String], flag: &str) -> &'a str {
    let at = words
        .iter()
        .position(|w| w == flag)
        .unwrap_or_else(|| panic!("{flag} missing from {words:?}"));
    words
        .get(at + 1)
        .unwrap_or_else(|| panic!("{flag} has no value in {words:?}"))
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// An apply with a *relative* `--state-dir` ends `rollback-incomplete`; the printed `restore`
/// command names the endpoint, the absolute state directory and the absolute snapshot, and run
/// verbatim from another directory it puts the original back.
#[test]
fn the_printed_restore_command_runs_verbatim_from_another_directory() {
    let kind = Kind::ModelBias;
    let env = Env::settled(referenced_seed(kind, NAME));
    let before = env.definition(kind, NAME).unwrap();
    let tags_before = tag_set(&[("team", "ml"), ("cost-center", "42")]);
    let plan = env.plan_file();
    env.emulator
        .set_behaviour(settle_behaviour(creates_refused(kind, NAME)));
    // `hermetic_command` runs in the scratch directory, so `state` is `env.state_dir()`.
    let mut command = hermetic_command(&env.endpoint_url(), &env.workdir);
    command.env("AWS_MAX_ATTEMPTS", "2").args([
        "--state-dir",
        "state",
        "--color",
        "never",
        "apply",
        plan.to_str().unwrap(),
        "--yes",
    ]);
    let output = with_timeout(command).output().expect("run apply");
    assert_eq!(code(&output), 4, "{}", show(&output));
    env.clear_faults();
    assert!(env.definition(kind, NAME).is_none());

    let manual = manual_action(&output)
        .unwrap_or_else(|| panic!("no manual action printed:\n{}", show(&output)));
    let words = shell_words(&manual);
    assert_eq!(
        words.first().map(String::as_str),
        Some("sm-recreate"),
        "{manual}"
    );
    assert_eq!(
        flag_value(&words, "--endpoint-url"),
        env.endpoint_url(),
        "{manual}"
    );
    let state_dir = Path::new(flag_value(&words, "--state-dir"));
    assert!(state_dir.is_absolute(), "relative --state-dir: {manual}");
    assert_eq!(
        canonical(state_dir),
        canonical(&env.state_dir()),
        "{manual}"
    );
    let snapshot = Path::new(flag_value(&words, "restore"));
    assert!(snapshot.is_absolute(), "relative snapshot path: {manual}");
    let (expected_snapshot, _) = env.snapshot_of(NAME);
    assert_eq!(
        canonical(snapshot),
        canonical(&expected_snapshot),
        "{manual}"
    );

    let elsewhere = Workdir::new();
    let output = shell_command(&manual, &elsewhere, &[("AWS_MAX_ATTEMPTS", "2")]);
    assert_eq!(code(&output), 0, "`{manual}`: {}", show(&output));
    let live = env.definition(kind, NAME).expect("restored");
    assert_eq!(without_creation_time(&live), without_creation_time(&before));
    assert_eq!(env.tags(kind, NAME), tags_before);
    assert_eq!(env.schedule_target(SCHEDULE), NAME);
    assert_eq!(env.copies(kind, NAME), Vec::<String>::new());
    // Nothing was written relative to the other directory.
    assert!(!elsewhere.file("state").exists());
}
