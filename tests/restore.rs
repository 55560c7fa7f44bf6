//! `restore SNAPSHOT` puts back exactly what a snapshot recorded, tags included: a missing
//! definition is created again; an existing one that differs only with `--replace` (through a
//! temporary copy when a schedule references it); one already as recorded is nothing to do. An
//! interrupted or unfinished restore is a run of its own, which `resume` refuses and the same
//! `restore` command finishes. The real binary over HTTP against the emulator started in this
//! process.

mod support;

use serde_json::{Value, json};
use sm_emulator::Behaviour;
use sm_recreate::kinds::Kind;
use support::apply::*;
use support::held::*;
use support::*;

/// The demo account's unreferenced model-bias definition (no `NetworkConfig`).
const MB: &str = "churn-model-bias";
/// A definition referenced by the schedule `nightly` (`referenced_seed`), and its copy's names.
const TARGET: &str = "target";
const TEMP_GLOB: &str = "target-smr*";

#[test]
fn restore_puts_back_exactly_what_the_snapshot_recorded() {
    let env = Env::quick(seed(
        vec![
            definition(
                Kind::ModelQuality,
                noncompliant(Kind::ModelQuality, "alone", &[("team", "ml")]),
            ),
            definition(
                Kind::ModelBias,
                noncompliant(Kind::ModelBias, "watched", &[("x", "y")]),
            ),
        ],
        vec![schedule(SCHEDULE, Kind::ModelBias, "watched")],
    ));
    let originals = [
        env.definition(Kind::ModelQuality, "alone").unwrap(),
        env.definition(Kind::ModelBias, "watched").unwrap(),
    ];
    let output = env.run(&["apply", "--yes"]);
    assert_eq!(code(&output), 0, "{}", show(&output));
    let (alone, _) = env.snapshot_of("alone");
    let (watched, _) = env.snapshot_of("watched");

    // It exists (compliant now) and differs: refused without --replace, nothing touched.
    let before = env.mutating_calls().len();
    let output = env.run(&["restore", alone.to_str().unwrap()]);
    assert_eq!(code(&output), 2, "{}", show(&output));
    assert!(stderr(&output).contains("--replace"), "{}", show(&output));
    assert_eq!(env.mutating_calls().len(), before);
    assert_eq!(
        flag_of(&env.definition(Kind::ModelQuality, "alone").unwrap()),
        Some(true)
    );

    // With --replace: back to the snapshot (the flag false again), tags included.
    let output = env.run(&["restore", alone.to_str().unwrap(), "--replace"]);
    assert_eq!(code(&output), 0, "{}", show(&output));
    let live = env.definition(Kind::ModelQuality, "alone").unwrap();
    assert_eq!(
        without_creation_time(&live),
        without_creation_time(&originals[0])
    );
    assert_eq!(
        env.tags(Kind::ModelQuality, "alone"),
        tag_set(&[("team", "ml")])
    );
    assert_eq!(
        env.emulator.definition_names(REGION, Kind::ModelQuality),
        vec!["alone".to_owned()]
    );

    // Deleted by hand, then restored from the apply's snapshot.
    env.block_on(env.client().delete_definition(Kind::ModelQuality, "alone"))
        .unwrap();
    assert!(env.definition(Kind::ModelQuality, "alone").is_none());
    let output = env.run(&["restore", alone.to_str().unwrap()]);
    assert_eq!(code(&output), 0, "{}", show(&output));
    let live = env.definition(Kind::ModelQuality, "alone").unwrap();
    assert_eq!(
        without_creation_time(&live),
        without_creation_time(&originals[0])
    );
    assert_eq!(flag_of(&live), Some(false));
    assert_eq!(
        env.tags(Kind::ModelQuality, "alone"),
        tag_set(&[("team", "ml")])
    );
    // Already as recorded: nothing to do, no mutating call.
    let before = env.mutating_calls().len();
    let output = env.run(&["restore", alone.to_str().unwrap()]);
    assert_eq!(code(&output), 0, "{}", show(&output));
    assert!(
        stdout(&output).contains("nothing to do"),
        "{}",
        show(&output)
    );
    assert_eq!(env.mutating_calls().len(), before);

    // A schedule-referenced definition: --replace goes through a temporary copy, and the
    // schedule ends on the restored definition.
    let output = env.run(&["restore", watched.to_str().unwrap(), "--replace"]);
    assert_eq!(code(&output), 0, "{}", show(&output));
    let live = env.definition(Kind::ModelBias, "watched").unwrap();
    assert_eq!(
        without_creation_time(&live),
        without_creation_time(&originals[1])
    );
    assert_eq!(env.tags(Kind::ModelBias, "watched"), tag_set(&[("x", "y")]));
    assert_eq!(env.schedule_target(SCHEDULE), "watched");
    assert_eq!(
        env.emulator.definition_names(REGION, Kind::ModelBias),
        vec!["watched".to_owned()]
    );
}

/// A `restore --replace` killed mid-way leaves an unfinished `restore` run; `resume` must refuse
/// it (exit 2, naming `restore`) without a single mutating call, instead of treating it as a
/// staged recreate and reversing the restore; the same restore command then finishes it.
#[test]
fn resume_refuses_an_interrupted_restore_run() {
    let kind = Kind::DataQuality;
    let env = Env::settled(referenced_seed(kind, TARGET));
    let plan = env.plan_file();
    let output = env.run(&["apply", plan.to_str().unwrap(), "--yes"]);
    assert_eq!(code(&output), 0, "apply: {}", show(&output));
    let (snapshot, _) = env.snapshot_of(TARGET);

    // Put the original back over the compliant definition; held while creating its copy.
    let create = op("Create", kind);
    env.emulator.set_behaviour(settle_behaviour(vec![hold_rule(
        &create,
        TEMP_GLOB,
        HOLD_FOREVER_MS,
        true,
    )]));
    env.spawn_until_held(
        &env.state_dir(),
        &["restore", snapshot.to_str().unwrap(), "--replace"],
        &create,
        TEMP_GLOB,
    )
    .kill_then_clear_faults();
    let journals = env.journals();
    assert_eq!(journals.len(), 2, "the apply's and the restore's");
    assert_eq!(
        journals[1].1[0]["strategy"],
        json!("restore"),
        "{:?}",
        journals[1].1[0]
    );
    let live_before = env.definition(kind, TARGET);
    let schedule_before = env.schedule_config(SCHEDULE);
    let mutations = env.mutating_calls().len();

    let output = env.run(&["resume"]);
    let text = show(&output);
    assert_eq!(code(&output), 2, "{text}");
    assert!(stderr(&output).contains("restore"), "{text}");
    assert_eq!(
        env.mutating_since(mutations),
        Vec::<String>::new(),
        "resume sent mutating calls\n{text}"
    );
    assert_eq!(env.definition(kind, TARGET), live_before);
    assert_eq!(env.schedule_config(SCHEDULE), schedule_before);

    // The same restore command, run again, continues that run (I6): the original is back as the
    // snapshot recorded it, the schedule on it, no copy left.
    let output = env.run(&["restore", snapshot.to_str().unwrap(), "--replace"]);
    let text = show(&output);
    assert_eq!(code(&output), 0, "{text}");
    assert!(stderr(&output).contains("Continuing"), "{text}");
    let recorded: Value =
        serde_json::from_str(&std::fs::read_to_string(&snapshot).unwrap()).unwrap();
    let restored = env.definition(kind, TARGET).expect("restored");
    assert_eq!(
        without_creation_time(&restored),
        without_creation_time(&recorded["describe"]),
        "{text}"
    );
    assert_eq!(env.copies(kind, TARGET), Vec::<String>::new(), "{text}");
    assert_eq!(env.schedule_target(SCHEDULE), TARGET, "{text}");
}

/// Second review, finding 1: a restore whose schedule move fails must not leave the schedule on
/// the temporary copy for good. The restore names itself as the way to finish (not `resume`,
/// which refuses restore runs), and running it again finishes: the schedule back on the original
/// and the copy deleted, although the definition already matches the snapshot.
#[test]
fn a_restore_left_unfinished_is_finished_by_running_it_again() {
    let kind = Kind::DataQuality;
    let env = Env::settled(referenced_seed(kind, TARGET));
    let before = env.definition(kind, TARGET).unwrap();
    let plan = env.plan_file();
    env.emulator
        .set_behaviour(settle_behaviour(creates_refused(kind, TARGET)));
    let output = env.run(&["apply", plan.to_str().unwrap(), "--yes"]);
    assert_eq!(code(&output), 4, "{}", show(&output));
    let (snapshot, _) = env.snapshot_of(TARGET);
    let copy = env.copies(kind, TARGET);
    assert_eq!(
        copy.len(),
        1,
        "the compliant copy holds the schedule: {copy:?}"
    );
    assert_eq!(env.schedule_target(SCHEDULE), copy[0]);

    // The restore recreates the definition, but moving the schedule back fails.
    env.emulator.set_behaviour(settle_behaviour(vec![error_rule(
        "UpdateMonitoringSchedule",
        None,
        "ValidationException",
    )]));
    let output = env.run(&["restore", snapshot.to_str().unwrap(), "--format", "json"]);
    // Exit 1: the schedule is still on the copy, work for the next run of this restore.
    assert_eq!(code(&output), 1, "{}", show(&output));
    assert_eq!(
        only_entry(&output)["status"],
        "recreated-with-leftovers",
        "{}",
        show(&output)
    );
    let text = only_entry(&output)["warnings"].to_string();
    assert!(
        text.contains("restore"),
        "the way to finish names restore: {text}"
    );
    assert!(
        !text.contains(" resume "),
        "resume refuses restore runs: {text}"
    );
    assert_eq!(env.schedule_target(SCHEDULE), copy[0]);

    // Running the same restore again finishes the job.
    env.clear_faults();
    let output = env.run(&["restore", snapshot.to_str().unwrap()]);
    assert_eq!(code(&output), 0, "{}", show(&output));
    assert_eq!(env.schedule_target(SCHEDULE), TARGET);
    assert_eq!(env.copies(kind, TARGET), Vec::<String>::new());
    let live = env.definition(kind, TARGET).expect("restored");
    assert_eq!(without_creation_time(&live), without_creation_time(&before));

    // And once more: nothing left to do, nothing sent.
    let calls = env.mutating_calls().len();
    let output = env.run(&["restore", snapshot.to_str().unwrap()]);
    assert_eq!(code(&output), 0, "{}", show(&output));
    assert!(
        stdout(&output).contains("nothing to do"),
        "{}",
        show(&output)
    );
    assert_eq!(env.mutating_calls().len(), calls);
}

/// Second review, finding 2 (I6): a restore of a missing definition killed mid-way leaves a run
/// of its own; running the restore again finishes the definition and closes that run, so a
/// later `resume` has nothing left to refuse.
#[test]
fn an_interrupted_restore_run_is_closed_by_the_next_restore() {
    let kind = Kind::ModelBias;
    let env = Env::demo(&[MB], vec![]);
    let output = env.run(&["apply", "--yes", "--name", MB]);
    assert_eq!(code(&output), 0, "{}", show(&output));
    let (snapshot, _) = env.snapshot_of(MB);
    let client = env.client();
    env.block_on(client.delete_definition(kind, MB))
        .expect("someone deletes it");
    env.emulator.set_behaviour(Behaviour {
        faults: vec![hold_rule(&op("Create", kind), MB, HOLD_FOREVER_MS, true)],
        ..Behaviour::default()
    });
    env.spawn_until_held(
        &env.state_dir(),
        &["restore", snapshot.to_str().unwrap()],
        &op("Create", kind),
        MB,
    )
    .kill_then_clear_faults();
    let output = env.run(&["restore", snapshot.to_str().unwrap()]);
    let text = show(&output);
    assert_eq!(code(&output), 0, "{text}");
    assert!(env.definition(kind, MB).is_some(), "{text}");
    let output = env.run(&["resume"]);
    let text = show(&output);
    assert_eq!(
        code(&output),
        0,
        "resume after the restore finished: {text}"
    );
}
