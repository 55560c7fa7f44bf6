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

use sm_recreate::kinds::Kind;
use sm_recreate::plan::document::PlanDocument;
use support::apply::*;
use support::*;

const NAME: &str = "target";

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
