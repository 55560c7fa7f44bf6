//! One end-to-end test per fix of the safety review (commit 58cc654), each run through the real
//! binary against the in-process emulator, so that a regression fails here:
//!
//! 1. schedules are moved by changing only `MonitoringJobDefinitionName` in their live
//!    configuration (a change made during the run survives the move back);
//! 2. a schedule someone pointed at a third definition is left alone (by `resume`, and by the
//!    apply itself, which then stops at step 3);
//! 3. `resume` touches nothing when the original name holds a foreign definition;
//! 4. `resume` refuses an interrupted `restore` run;
//! 5. a closed stdout does not change the exit code of a run whose rollback is incomplete;
//! 6. a plan file whose items lie outside its regions is refused;
//! 7. the printed `restore` command is runnable verbatim from another directory.
//!
//! Not covered: "a Failed schedule can be repointed". The emulator cannot produce a `Failed`
//! schedule (seeds are `Scheduled` or `Stopped`, and no transition leads to `Failed`), so there is
//! no way to set that state up from a test.
//!
//! Calls are held the way `tests/crash.rs` holds them: an emulator fault with a delay keeps the
//! request in flight while the test acts (and, with `drop_connection`, never performs it once the
//! process has been killed).

mod support;

use serde_json::{Value, json};
use sm_recreate::kinds::Kind;
use sm_recreate::plan::document::PlanDocument;
use support::apply::*;
use support::held::*;
use support::*;

const NAME: &str = "target";
const TEMP_GLOB: &str = "target-smr*";

// -------------------------------------------------------------------------------------------
// helpers
// -------------------------------------------------------------------------------------------

// -------------------------------------------------------------------------------------------
// 1. schedules keep their live configuration
// -------------------------------------------------------------------------------------------

// -------------------------------------------------------------------------------------------
// 2. a schedule pointed at a third definition is left alone
// -------------------------------------------------------------------------------------------

// -------------------------------------------------------------------------------------------
// 3. resume and a foreign definition under the original name
// -------------------------------------------------------------------------------------------

// -------------------------------------------------------------------------------------------
// 4. resume refuses a restore run
// -------------------------------------------------------------------------------------------

/// A `restore --replace` killed mid-way leaves an unfinished `restore` run; `resume` must refuse
/// it (exit 2, naming `restore`) without a single mutating call, instead of treating it as a
/// staged recreate and reversing the restore; the same restore command then finishes it.
#[test]
fn resume_refuses_an_interrupted_restore_run() {
    let kind = Kind::DataQuality;
    let env = Env::settled(referenced_seed(kind, NAME));
    let plan = env.plan_file();
    let output = env.run(&["apply", plan.to_str().unwrap(), "--yes"]);
    assert_eq!(code(&output), 0, "apply: {}", show(&output));
    let (snapshot, _) = env.snapshot_of(NAME);

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
    let live_before = env.definition(kind, NAME);
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
    assert_eq!(env.definition(kind, NAME), live_before);
    assert_eq!(env.schedule_config(SCHEDULE), schedule_before);

    // The same restore command, run again, continues that run (I6): the original is back as the
    // snapshot recorded it, the schedule on it, no copy left.
    let output = env.run(&["restore", snapshot.to_str().unwrap(), "--replace"]);
    let text = show(&output);
    assert_eq!(code(&output), 0, "{text}");
    assert!(stderr(&output).contains("Continuing"), "{text}");
    let recorded: Value =
        serde_json::from_str(&std::fs::read_to_string(&snapshot).unwrap()).unwrap();
    let restored = env.definition(kind, NAME).expect("restored");
    assert_eq!(
        without_creation_time(&restored),
        without_creation_time(&recorded["describe"]),
        "{text}"
    );
    assert_eq!(env.copies(kind, NAME), Vec::<String>::new(), "{text}");
    assert_eq!(env.schedule_target(SCHEDULE), NAME, "{text}");
}

// -------------------------------------------------------------------------------------------
// 5. a closed stdout does not change the exit code
// -------------------------------------------------------------------------------------------

// -------------------------------------------------------------------------------------------
// 6. a plan file whose items lie outside its regions
// -------------------------------------------------------------------------------------------

/// A plan file edited (and re-checksummed) so that an item lies outside the plan's regions is
/// refused before any call: exit 2, "outside its regions", nothing changed. Both ways: the
/// regions edited, and an item's region edited.
#[test]
fn a_plan_file_listing_items_outside_its_regions_is_refused() {
    let kind = Kind::DataQuality;
    let env = Env::settled(referenced_seed(kind, NAME));
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
    assert_eq!(env.schedule_target(SCHEDULE), NAME);
    assert_eq!(flag_of(&env.definition(kind, NAME).unwrap()), Some(false));
}

// -------------------------------------------------------------------------------------------
// 7. printed commands are runnable from another directory
// -------------------------------------------------------------------------------------------

/// Second review, finding 1: a restore whose schedule move fails must not leave the schedule on
/// the temporary copy for good. The restore names itself as the way to finish (not `resume`,
/// which refuses restore runs), and running it again finishes: the schedule back on the original
/// and the copy deleted, although the definition already matches the snapshot.
#[test]
fn a_restore_left_unfinished_is_finished_by_running_it_again() {
    let kind = Kind::DataQuality;
    let env = Env::settled(referenced_seed(kind, NAME));
    let before = env.definition(kind, NAME).unwrap();
    let plan = env.plan_file();
    env.emulator
        .set_behaviour(settle_behaviour(creates_refused(kind, NAME)));
    let output = env.run(&["apply", plan.to_str().unwrap(), "--yes"]);
    assert_eq!(code(&output), 4, "{}", show(&output));
    let (snapshot, _) = env.snapshot_of(NAME);
    let copy = env.copies(kind, NAME);
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
    assert_eq!(code(&output), 0, "{}", show(&output));
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
    assert_eq!(env.schedule_target(SCHEDULE), NAME);
    assert_eq!(env.copies(kind, NAME), Vec::<String>::new());
    let live = env.definition(kind, NAME).expect("restored");
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
