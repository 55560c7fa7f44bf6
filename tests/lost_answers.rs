//! An answer lost after AWS acted never loses a definition (I1, I2, I4): a delete that acted but
//! answered 500, with the looks that follow throttled past the retries. The run ends recreated,
//! or stops in doubt naming `resume` (never "rolled back" without the original seen back), and
//! `resume` then finishes the definition exactly, tags included; a second `resume` sends nothing.
//! The real binary over HTTP against the emulator started in this process.
//!
//! `--patience 3` is passed where an answer is lost or a look can fail, so an item that stays in
//! doubt stops in seconds, not two minutes. The runs whose re-check is throttled 27 times get
//! `--patience 30` (`THROTTLED_PATIENCE`): each throttle slows the client's rate limit
//! (`sagemaker::pace`), and on a loaded machine 3 s did not always cover the re-check, so the run
//! rolled back before the delete whose answer is lost, and the case was never reached.

mod support;

use serde_json::Value;
use sm_emulator::FaultRule;
use sm_recreate::kinds::Kind;
use sm_recreate::sagemaker::Tag;
use std::collections::BTreeSet;
use support::apply::*;
use support::printed::*;
use support::*;

/// The demo account's unreferenced model-bias definition (no `NetworkConfig`).
const MB: &str = "churn-model-bias";
/// The demo account's data-quality definition that the schedule `DQ_SCHEDULE` references.
const DQ: &str = "churn-data-quality";
const DQ_SCHEDULE: &str = "churn-data-quality-hourly";
/// `--patience` for the runs whose looks are throttled 27 times (see the module's comment).
const THROTTLED_PATIENCE: &str = "30";

/// The first delete of `name` acts, then answers 500; every later delete answers 500; describes
/// 3–29 of `name` are throttled (the reproduction `faultsA.json`).
fn lost_delete_answer_and_throttled_looks(kind: Kind, name: &str) -> Vec<FaultRule> {
    let mut rules = vec![
        internal_failure(&op("Delete", kind), name, Some(1), true),
        internal_failure(&op("Delete", kind), name, None, false),
    ];
    rules.extend((3..=29).map(|nth| throttled(&op("Describe", kind), name, nth)));
    rules
}

/// The first delete of `churn-data-quality` acts, then answers 500; its third describe is
/// throttled (the reproduction `faultsA2.json`).
fn lost_delete_answer_of_the_referenced_definition() -> Vec<FaultRule> {
    let kind = Kind::DataQuality;
    vec![
        internal_failure(&op("Delete", kind), DQ, Some(1), true),
        throttled(&op("Describe", kind), DQ, 3),
    ]
}

/// Faults cleared, `resume` ends exit 0 with `name` fixed exactly (tags included) and no copy
/// left, and a second `resume` sends no mutating call (I6).
fn resume_converges(env: &Env, kind: Kind, name: &str, before: &Value, tags: &BTreeSet<Tag>) {
    env.clear_faults();
    let output = env.run(&["resume", "--patience", "3"]);
    let text = show(&output);
    assert_eq!(code(&output), 0, "resume with faults cleared: {text}");
    assert!(
        env.is_fixed(kind, name, before),
        "after resume {name} is not the original made compliant: {:?}\n{text}",
        env.definition(kind, name)
    );
    assert_eq!(&env.tags(kind, name), tags, "tags after resume\n{text}");
    assert_eq!(
        env.copies(kind, name),
        Vec::<String>::new(),
        "a copy is left after resume\n{text}"
    );
    let mutations = env.mutating_calls().len();
    let output = env.run(&["resume", "--patience", "3"]);
    assert_eq!(code(&output), 0, "second resume: {}", show(&output));
    assert_eq!(
        env.mutating_since(mutations),
        Vec::<String>::new(),
        "the second resume sent mutating calls: {}",
        show(&output)
    );
}

/// Issue 7, defect 1 (I1, I2, I4): the delete of an unreferenced definition acts and its answer
/// is lost (500), later deletes answer 500, describes are throttled past the retries. Before
/// issue 7 both the original and its copy were deleted and the run said "rolled back" (exit 1);
/// resume had nothing to do. The definition must exist somewhere after the run, "rolled back" only with the
/// original seen back, exit 4 naming `resume` (or a finished recreate); resume then fixes it.
#[test]
fn a_lost_delete_answer_with_throttled_looks_never_loses_an_unreferenced_definition() {
    let kind = Kind::ModelBias;
    let mut env = Env::demo(&[MB], lost_delete_answer_and_throttled_looks(kind, MB));
    env.max_attempts = Some(2);
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
        THROTTLED_PATIENCE,
    ]);
    let text = show(&output);
    let original = env.definition(kind, MB);
    let copies_left = env.copies(kind, MB);
    assert!(
        original.is_some() || !copies_left.is_empty(),
        "I1: {MB} exists nowhere (neither the original nor a copy)\n{text}"
    );
    let status = report_status(&output, MB);
    if status == "rolled-back" {
        let live = original
            .as_ref()
            .expect("I4: rolled-back without the original");
        assert_eq!(
            without_creation_time(live),
            without_creation_time(&before),
            "I4: rolled-back, but the original is not as it was\n{text}"
        );
    }
    match code(&output) {
        4 => {
            let manual = manual_action(&output)
                .unwrap_or_else(|| panic!("exit 4 without a manual action\n{text}"));
            assert!(
                manual.contains(" resume"),
                "I2: the action for an item in doubt is `resume`: {manual}\n{text}"
            );
        }
        0 => {
            assert_eq!(status, "recreated", "{text}");
            assert!(env.is_fixed(kind, MB, &before), "{text}");
        }
        other => panic!("exit {other}: neither in doubt (4) nor recreated (0)\n{text}"),
    }
    resume_converges(&env, kind, MB, &before, &tags);
}

/// Issue 7, defect 1, `--strategy direct` (I2, I4): the same faults. Direct has no copy, so the
/// run must end in doubt (exit 4, `resume`) or with a truthful outcome, never "rolled back" with
/// the definition gone; resume then ends exit 0 with the definition present.
#[test]
fn a_lost_delete_answer_under_the_direct_strategy_is_never_reported_rolled_back() {
    let kind = Kind::ModelBias;
    let mut env = Env::demo(&[MB], lost_delete_answer_and_throttled_looks(kind, MB));
    env.max_attempts = Some(2);
    let before = env.definition(kind, MB).expect("seeded");
    let tags = env.tags(kind, MB);
    let output = env.run(&[
        "apply",
        "--yes",
        "--name",
        MB,
        "--strategy",
        "direct",
        "--format",
        "json",
        "--patience",
        THROTTLED_PATIENCE,
    ]);
    let text = show(&output);
    let original = env.definition(kind, MB);
    let status = report_status(&output, MB);
    match status.as_str() {
        "rolled-back" => {
            let live = original
                .as_ref()
                .expect("I4: rolled-back with the definition gone");
            assert_eq!(
                without_creation_time(live),
                without_creation_time(&before),
                "I4: rolled-back, but the original is not as it was\n{text}"
            );
        }
        "recreated" => assert!(env.is_fixed(kind, MB, &before), "{text}"),
        // The re-check before the delete could not see the original: nothing was touched.
        "failed-untouched" => assert_eq!(
            original.as_ref().map(without_creation_time),
            Some(without_creation_time(&before)),
            "I4: failed-untouched, but the original is not as it was\n{text}"
        ),
        "in-doubt" | "rollback-incomplete" => {
            assert_eq!(code(&output), 4, "{text}");
            let manual = manual_action(&output)
                .unwrap_or_else(|| panic!("exit 4 without a manual action\n{text}"));
            if original.is_some() {
                assert!(
                    manual.contains(" resume"),
                    "I4: the definition exists, so the action is `resume`: {manual}\n{text}"
                );
            }
        }
        other => panic!("not a truthful outcome for a lost delete: {other:?}\n{text}"),
    }
    if original.is_none() {
        assert_eq!(
            code(&output),
            4,
            "the definition is gone: the run must stop in doubt\n{text}"
        );
    }
    env.clear_faults();
    let output = env.run(&["resume", "--patience", "3"]);
    let text = show(&output);
    assert_eq!(code(&output), 0, "resume with faults cleared: {text}");
    let live = env
        .definition(kind, MB)
        .unwrap_or_else(|| panic!("{MB} lost after resume\n{text}"));
    if status != "rolled-back" {
        assert!(env.is_fixed(kind, MB, &before), "{live}\n{text}");
        assert_eq!(env.tags(kind, MB), tags, "{text}");
    }
}

/// Issue 7, defect 1, with a schedule (faultsA2): the same lost delete on `churn-data-quality`,
/// which a schedule references. Exit 4 and `resume` (or a finished recreate); resume ends exit 0
/// with the definition fixed, the schedule back on it and no copy.
#[test]
fn a_lost_delete_answer_on_a_referenced_definition_is_resumed() {
    let kind = Kind::DataQuality;
    let mut env = Env::demo(&[DQ], lost_delete_answer_of_the_referenced_definition());
    env.max_attempts = Some(2);
    let before = env.definition(kind, DQ).expect("seeded");
    let tags = env.tags(kind, DQ);
    let output = env.run(&[
        "apply",
        "--yes",
        "--name",
        DQ,
        "--format",
        "json",
        "--patience",
        "3",
    ]);
    let text = show(&output);
    assert!(
        env.definition(kind, DQ).is_some() || !env.copies(kind, DQ).is_empty(),
        "I1: {DQ} exists nowhere\n{text}"
    );
    match code(&output) {
        4 => {
            let manual = manual_action(&output)
                .unwrap_or_else(|| panic!("exit 4 without a manual action\n{text}"));
            assert!(manual.contains(" resume"), "{manual}\n{text}");
        }
        0 => assert_eq!(report_status(&output, DQ), "recreated", "{text}"),
        other => panic!("exit {other}\n{text}"),
    }
    resume_converges(&env, kind, DQ, &before, &tags);
    assert_eq!(env.schedule_target(DQ_SCHEDULE), DQ);
}
