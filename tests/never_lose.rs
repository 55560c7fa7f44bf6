//! Regression tests for issue 7 ("Never lose a definition"): one test per defect, each through
//! the real binary and the AWS SDK against the in-process emulator, each asserting what the
//! executor contract promises (I1–I8). The fault plans are the reproductions of
//! `../shared/repro/` (faultsA, A2, B, B2, C, K, Q, 2r), written out here as `FaultRule`s so the
//! tests stand alone.
//!
//! Calls are held the way `tests/crash.rs` and `tests/review_fixes.rs` hold them: an emulator
//! fault with a delay keeps a request in flight while the test acts as "someone else" through the
//! SDK (and, with `drop_connection`, never performs it once the process has been killed).
//!
//! `--patience 3` is passed where an answer is lost or a look can fail, so an item that stays in
//! doubt stops in seconds, not two minutes.

mod support;

use sm_recreate::kinds::Kind;
use support::apply::*;
use support::held::*;
use support::*;

/// The demo account's unreferenced model-bias definition (no `NetworkConfig`).
const MB: &str = "churn-model-bias";
/// The demo account's data-quality definition that the schedule `DQ_SCHEDULE` references.
const DQ: &str = "churn-data-quality";
const DQ_SCHEDULE: &str = "churn-data-quality-hourly";
// -------------------------------------------------------------------------------------------
// helpers
// -------------------------------------------------------------------------------------------

// -------------------------------------------------------------------------------------------
// 2. a change made during the run (faultsC)
// -------------------------------------------------------------------------------------------

// -------------------------------------------------------------------------------------------
// 3. a schedule deleted mid-run (faultsB, faultsB2)
// -------------------------------------------------------------------------------------------

// -------------------------------------------------------------------------------------------
// 4. the printed manual action fits the live state (faultsK)
// -------------------------------------------------------------------------------------------

// -------------------------------------------------------------------------------------------
// 5. two applies at once from two state directories (faults2r)
// -------------------------------------------------------------------------------------------

// -------------------------------------------------------------------------------------------
// 6. the manual action with a state directory whose path has a space (faultsQ)
// -------------------------------------------------------------------------------------------

// -------------------------------------------------------------------------------------------
// 7. smaller defects
// -------------------------------------------------------------------------------------------

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

// -------------------------------------------------------------------------------------------
// names with capitals (seed1.json)
// -------------------------------------------------------------------------------------------

// -------------------------------------------------------------------------------------------
// Found by the hostile review of the new executor
// -------------------------------------------------------------------------------------------
