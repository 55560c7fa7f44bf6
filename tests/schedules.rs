//! Schedules during a recreate (I5): the tool moves a schedule only between the original name
//! and this run's copy, changing nothing but `MonitoringJobDefinitionName`, so a change someone
//! makes to it meanwhile survives the move back. A schedule that vanished is nothing to move (no
//! doubt, no leftovers); a schedule someone pointed at a third definition is left there, by the
//! apply (which then undoes its own steps) and by `resume`. The real binary over HTTP against the
//! emulator started in this process, someone else acting while a call is held.
//!
//! Not covered: repointing a `Failed` schedule. The emulator cannot produce one (seeds are
//! `Scheduled` or `Stopped`, and no transition leads to `Failed`).

mod support;

use serde_json::{Value, json};
use sm_recreate::kinds::Kind;
use support::apply::*;
use support::held::*;
use support::*;

/// The demo account's data-quality definition that the schedule `DQ_SCHEDULE` references.
const DQ: &str = "churn-data-quality";
const DQ_SCHEDULE: &str = "churn-data-quality-hourly";
/// A definition referenced by the schedule `nightly` (`referenced_seed`), and its copy's names.
const NAME: &str = "target";
const TEMP_PREFIX: &str = "target-smr";
const TEMP_GLOB: &str = "target-smr*";
/// A compliant definition nobody plans, for someone to point the schedule at.
const OTHER: &str = "other";
/// The cron a test sets while the run is held (the seeded schedules run hourly).
const CHANGED_CRON: &str = "cron(0 6 ? * * *)";

fn delete_schedule(env: &Env, name: &str) {
    env.block_on(
        env.someone_else()
            .delete_monitoring_schedule()
            .monitoring_schedule_name(name)
            .send(),
    )
    .expect("delete the schedule as someone else");
}

/// Deletes the schedule while `operation` on `glob` is held, then checks (I5, I6): the run does
/// not end in doubt or with leftovers; a recreate is a full one; resume ends exit 0 with no copy
/// and a second resume sends nothing.
fn a_vanished_schedule_is_nothing_to_move(operation: &str, glob: &str) {
    let kind = Kind::DataQuality;
    let env = Env::demo(
        &[DQ],
        vec![hold_rule(operation, glob, HOLD_WHILE_ACTING_MS, false)],
    );
    let before = env.definition(kind, DQ).expect("seeded");
    let held = env.spawn_until_held(
        &env.state_dir(),
        &["apply", "--yes", "--name", DQ, "--format", "json"],
        operation,
        glob,
    );
    let ((), output) = held.act_then_finish(|| delete_schedule(&env, DQ_SCHEDULE));
    let text = show(&output);
    let status = report_status(&output, DQ);
    assert_ne!(
        code(&output),
        4,
        "I5: a vanished schedule is nothing to move\n{text}"
    );
    assert_ne!(
        status, "recreated-with-leftovers",
        "I5: a vanished schedule is no leftover\n{text}"
    );
    match status.as_str() {
        "recreated" => {
            assert_eq!(code(&output), 0, "{text}");
            assert!(env.is_fixed(kind, DQ, &before), "{text}");
        }
        "rolled-back" => assert_eq!(
            env.definition(kind, DQ).map(|d| without_creation_time(&d)),
            Some(without_creation_time(&before)),
            "{text}"
        ),
        other => panic!("unexpected outcome {other:?}\n{text}"),
    }
    assert!(env.emulator.schedule(REGION, DQ_SCHEDULE).is_none());

    let output = env.run(&["resume"]);
    let text = show(&output);
    assert_eq!(code(&output), 0, "resume: {text}");
    assert!(env.definition(kind, DQ).is_some(), "{text}");
    assert_eq!(env.copies(kind, DQ), Vec::<String>::new(), "{text}");
    let mutations = env.mutating_calls().len();
    let output = env.run(&["resume"]);
    assert_eq!(code(&output), 0, "second resume: {}", show(&output));
    assert_eq!(
        env.mutating_since(mutations),
        Vec::<String>::new(),
        "{}",
        show(&output)
    );
}

/// Issue 7, defect 3 (faultsB): the schedule is deleted while the copy's create is held. Before
/// issue 7: exit 4 "ROLLBACK INCOMPLETE … ResourceNotFound", and every resume exited 4 again.
#[test]
fn a_schedule_deleted_during_the_copy_create_does_not_block_the_run() {
    a_vanished_schedule_is_nothing_to_move(&op("Create", Kind::DataQuality), &format!("{DQ}-smr*"));
}

/// Issue 7, defect 3 (faultsB2): the schedule (pointing at the copy then) is deleted while the
/// delete of the original is held. Before issue 7: `recreated-with-leftovers` forever, the copy
/// never deleted.
#[test]
fn a_schedule_deleted_while_on_the_copy_does_not_leave_the_copy() {
    a_vanished_schedule_is_nothing_to_move(&op("Delete", Kind::DataQuality), DQ);
}

/// Updates the schedule through the adapter (as someone else would) to `config`.
fn update_schedule(env: &Env, config: &Value) {
    let client = env.client();
    env.block_on(client.update_schedule(SCHEDULE, config))
        .expect("update the schedule from the test");
}

/// `config` pointing at `definition`.
fn pointing_at(config: &Value, definition: &str) -> Value {
    let mut config = config.clone();
    config["MonitoringJobDefinitionName"] = json!(definition);
    config
}

/// The apply is held at step 4 (deleting the original) while someone changes the schedule's
/// cron, leaving it on the temporary copy. Step 6 must move it back by changing only
/// `MonitoringJobDefinitionName`: the schedule ends on the original with the new cron, not with
/// the configuration the snapshot recorded.
#[test]
fn a_schedule_change_made_during_the_run_survives_the_move_back() {
    let kind = Kind::DataQuality;
    let env = Env::settled(referenced_seed(kind, NAME));
    let before = env.definition(kind, NAME).unwrap();
    let plan = env.plan_file();
    let delete = op("Delete", kind);
    env.emulator.set_behaviour(settle_behaviour(vec![hold_rule(
        &delete,
        NAME,
        HOLD_WHILE_ACTING_MS,
        false,
    )]));
    let held = env.spawn_until_held(
        &env.state_dir(),
        &["apply", plan.to_str().unwrap(), "--yes", "--format", "json"],
        &delete,
        NAME,
    );
    let (changed, output) = held.act_then_finish(|| {
        // The schedule is on the copy now; change its cron and keep it there.
        let temp = env.schedule_target(SCHEDULE);
        assert!(temp.starts_with(TEMP_PREFIX), "schedule on {temp}");
        let mut changed = env.schedule_config(SCHEDULE);
        assert_ne!(
            changed["ScheduleConfig"]["ScheduleExpression"],
            json!(CHANGED_CRON)
        );
        changed["ScheduleConfig"]["ScheduleExpression"] = json!(CHANGED_CRON);
        update_schedule(&env, &changed);
        changed
    });
    assert_eq!(code(&output), 0, "{}", show(&output));
    assert_eq!(only_entry(&output)["status"], json!("recreated"));
    // Back on the original, with the cron changed meanwhile and everything else as it was.
    assert_eq!(
        env.schedule_config(SCHEDULE),
        pointing_at(&changed, NAME),
        "the move back must change only MonitoringJobDefinitionName"
    );
    let live = env.definition(kind, NAME).expect("original exists");
    assert_eq!(
        without_creation_time(&live),
        without_creation_time(&with_flag(&before, true))
    );
    assert_eq!(env.copies(kind, NAME), Vec::<String>::new());
}

/// `NAME` referenced by `nightly`, plus a compliant definition `other` (not planned).
fn seed_with_other(kind: Kind) -> sm_emulator::Seed {
    let mut seed = referenced_seed(kind, NAME);
    seed.definitions.push(definition(
        kind,
        flagged_request(kind, OTHER, Flag::On, &[]),
    ));
    seed
}

/// Killed while creating the temporary copy (step 2); someone points the schedule at `other`;
/// `resume` must not move it back (nor anywhere), and must leave no copy behind.
#[test]
fn resume_leaves_a_schedule_pointed_at_a_third_definition_alone() {
    let kind = Kind::ModelBias;
    let env = Env::settled(seed_with_other(kind));
    let before = env.definition(kind, NAME).unwrap();
    let other_before = env.definition(kind, OTHER).unwrap();
    let plan = env.plan_file();
    let create = op("Create", kind);
    env.emulator.set_behaviour(settle_behaviour(vec![hold_rule(
        &create,
        TEMP_GLOB,
        HOLD_FOREVER_MS,
        true,
    )]));
    env.spawn_until_held(
        &env.state_dir(),
        &["apply", plan.to_str().unwrap(), "--yes"],
        &create,
        TEMP_GLOB,
    )
    .kill_then_clear_faults();
    assert_eq!(env.schedule_target(SCHEDULE), NAME, "killed before step 3");

    let config = pointing_at(&env.schedule_config(SCHEDULE), OTHER);
    update_schedule(&env, &config);
    let mutations = env.mutating_calls().len();
    let output = env.run(&["resume", "--format", "json"]);

    let text = show(&output);
    assert_eq!(env.schedule_target(SCHEDULE), OTHER, "{text}");
    assert_eq!(env.schedule_config(SCHEDULE), config, "{text}");
    let updates: Vec<String> = env
        .mutating_since(mutations)
        .into_iter()
        .filter(|c| c.starts_with("UpdateMonitoringSchedule"))
        .collect();
    assert!(
        updates.is_empty(),
        "resume updated the schedule: {updates:?}\n{text}"
    );
    let live = without_creation_time(&env.definition(kind, NAME).expect("original exists"));
    assert!(
        live == without_creation_time(&before)
            || live == without_creation_time(&with_flag(&before, true)),
        "the original is neither original nor compliant: {live}\n{text}"
    );
    assert_eq!(env.copies(kind, NAME), Vec::<String>::new(), "{text}");
    assert_eq!(env.definition(kind, OTHER), Some(other_before), "{text}");
    // Step 3 finds the schedule elsewhere and stops: someone changed it during the run (I5);
    // everything undone, nothing for a person to do.
    assert_eq!(code(&output), 1, "{text}");
    let entry = only_entry(&output);
    assert_eq!(entry["status"], json!("changed-during-run"), "{text}");
    assert!(
        entry["message"]
            .as_str()
            .unwrap_or_default()
            .contains(OTHER),
        "the message names where the schedule points: {text}"
    );
}

/// The same without a crash: the schedule is pointed at `other` while the apply creates the copy;
/// step 3 must leave it there and stop (changed during the run: undone, copy deleted).
#[test]
fn apply_leaves_a_schedule_pointed_at_a_third_definition_alone_and_stops() {
    let kind = Kind::ModelQuality;
    let env = Env::settled(seed_with_other(kind));
    let before = env.definition(kind, NAME).unwrap();
    let plan = env.plan_file();
    let create = op("Create", kind);
    env.emulator.set_behaviour(settle_behaviour(vec![hold_rule(
        &create,
        TEMP_GLOB,
        HOLD_WHILE_ACTING_MS,
        false,
    )]));
    let updates_before = env.count("UpdateMonitoringSchedule");
    let held = env.spawn_until_held(
        &env.state_dir(),
        &["apply", plan.to_str().unwrap(), "--yes", "--format", "json"],
        &create,
        TEMP_GLOB,
    );
    let (config, output) = held.act_then_finish(|| {
        let config = pointing_at(&env.schedule_config(SCHEDULE), OTHER);
        update_schedule(&env, &config);
        config
    });
    let text = show(&output);
    assert_eq!(env.schedule_config(SCHEDULE), config, "{text}");
    assert_eq!(
        env.count("UpdateMonitoringSchedule"),
        updates_before + 1,
        "the apply updated the schedule (the test's own update is the only one expected): {text}"
    );
    assert_eq!(code(&output), 1, "{text}");
    assert_eq!(
        only_entry(&output)["status"],
        json!("changed-during-run"),
        "{text}"
    );
    assert_eq!(
        without_creation_time(&env.definition(kind, NAME).expect("original exists")),
        without_creation_time(&before),
        "{text}"
    );
    assert_eq!(env.copies(kind, NAME), Vec::<String>::new(), "{text}");
}
