//! Whose change is it? The in-place fix of inline schedules never undoes a change it cannot show
//! is its own: a refused update meanwhile made by someone else, a member someone added before a
//! rollback or a verify is resumed, a fix whose update the journal only announced. Also: a
//! `restore --replace` never reports success over a configuration it did not put back, a restore
//! interrupted before its item started converges, and a refusal of a schedule whose name contains
//! "pending" is a refusal, not "busy"; a repoint to a copy someone deleted is undone.

mod support;

use serde_json::{Value, json};
use sm_emulator::Behaviour;
use support::apply::*;
use support::held::*;
use support::inline::*;
use support::*;

/// `config` with an output KMS key someone else adds (a member the snapshot does not have: a
/// security fix of their own).
fn with_kms_key(mut config: Value) -> Value {
    config["MonitoringJobDefinition"]["MonitoringOutputConfig"]["KmsKeyId"] =
        json!("arn:aws:kms:us-east-1:123456789012:key/their-key");
    config
}

/// Waits (bounded) until the schedule has settled (not Pending).
fn wait_settled(env: &Env) {
    let deadline = std::time::Instant::now() + DEADLINE;
    while status_of(env) == "Pending" {
        assert!(std::time::Instant::now() < deadline, "never settled");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Someone else's `UpdateMonitoringSchedule`, waited for until it settles.
fn someone_updates(env: &Env, config: &Value) {
    let client = env.client();
    env.block_on(client.update_schedule(INLINE, config))
        .expect("someone else updates the schedule");
    wait_settled(env);
}

fn updates_on(env: &Env, name: &str) -> Vec<String> {
    env.calls()
        .iter()
        .filter(|c| c.operation == "UpdateMonitoringSchedule" && c.name.as_deref() == Some(name))
        .map(|c| c.outcome.clone())
        .collect()
}

/// Waits (bounded) until the `n`th update of `INLINE` is held by the emulator (the earlier ones
/// having finished), so a brief in-flight earlier update is not mistaken for the held one.
fn wait_until_nth_update_held(env: &Env, run: &mut Running, n: usize) {
    let deadline = std::time::Instant::now() + DEADLINE;
    loop {
        let updates = updates_on(env, INLINE);
        if updates.len() >= n && updates[n - 1] == "in-flight" {
            return;
        }
        if let Some(status) = run.child.try_wait().expect("poll") {
            panic!(
                "the run exited ({status}) before update #{n} was held; updates: {updates:?}\n{}",
                run.stderr_so_far()
            );
        }
        assert!(
            std::time::Instant::now() < deadline,
            "update #{n} never held"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

fn behaviour_with(faults: Vec<sm_emulator::FaultRule>, failing: &[&str]) -> Behaviour {
    Behaviour {
        failing_schedule_updates: failing.iter().map(|s| (*s).to_owned()).collect(),
        ..behaviour(faults)
    }
}

// -------------------------------------------------------------------------------------------
// 1. An update AWS refused (it did not act) is taken for "it acted", and a fix someone else made
//    meanwhile is rolled back.
// -------------------------------------------------------------------------------------------

/// Ownership (the first review's finding #2, not fully fixed): our update is refused (a plain
/// `ValidationException`: it did not act), and meanwhile someone else made the same fix (another
/// tool, another sm-recreate run from another state directory, a person in the console).
/// `after_refusal` (inline.rs:279-284) sees the fixed configuration, decides "it acted (and then
/// failed): this run's change", journals the update `done` and `roll_back` puts the snapshot's
/// non-compliant configuration over their fix. `change_schedule` knew nothing was sent (`sent ==
/// false`), but the `OpError::Refused` it returns drops that.
#[test]
fn a_refused_update_never_rolls_back_the_same_fix_someone_else_made_meanwhile() {
    let env = Env::start(
        inline_seed(encryption_off()),
        behaviour(vec![sm_emulator::FaultRule {
            nth: Some(1),
            delay_ms: Some(HOLD_WHILE_ACTING_MS),
            error: fault_error(
                "ValidationException",
                400,
                "1 validation error detected: Value at 'monitoringScheduleConfig' failed to satisfy constraint",
            ),
            ..error_rule(
                "UpdateMonitoringSchedule",
                Some(INLINE),
                "ValidationException",
            )
        }]),
    );
    let held = env.spawn_until_held(&env.state_dir(), &APPLY, "UpdateMonitoringSchedule", INLINE);
    let ((), output) = held.act_then_finish(|| someone_updates(&env, &fixed_config()));
    let text = show(&output);
    let updates = updates_on(&env, INLINE);
    assert_eq!(
        env.schedule_config(INLINE),
        fixed_config(),
        "their fix is kept: this run's only update was refused, so nothing of the fixed \
         configuration is this run's (updates on the schedule: {updates:?})\n{text}"
    );
}

// -------------------------------------------------------------------------------------------
// 2. A rollback (resumed) recognises "what this run sent" by `config_holds`, which tolerates
//    extra members: a member someone else added is wiped.
// -------------------------------------------------------------------------------------------

/// Our update acted and the schedule turned Failed; the run was killed while sending the
/// rollback (the held update is never performed). Before `resume`, someone else repairs the
/// schedule their own way: they keep the encryption fix and add an output KMS key. `reconcile`
/// (inline.rs:485-492) takes `config_holds(live, target)` (extra members allowed) for "what this
/// run sent", and `roll_back` (from_was_described = false, ops.rs:452) recognises the same, so the
/// snapshot's configuration is sent over theirs: their KMS key and the encryption fix are gone.
#[test]
fn resuming_a_rollback_never_wipes_a_member_someone_else_added() {
    let env = Env::start(
        inline_seed(encryption_off()),
        behaviour_with(
            vec![sm_emulator::FaultRule {
                nth: Some(2),
                ..hold_rule("UpdateMonitoringSchedule", INLINE, HOLD_FOREVER_MS, true)
            }],
            &[INLINE],
        ),
    );
    let mut run = env.spawn(&env.state_dir(), &APPLY);
    wait_until_nth_update_held(&env, &mut run, 2);
    run.kill();
    env.clear_faults();
    assert_eq!(
        env.schedule_config(INLINE),
        fixed_config(),
        "our update acted"
    );
    assert_eq!(status_of(&env), "Failed");
    // Their repair: the fix stays, and an output KMS key is added.
    let theirs = with_kms_key(fixed_config());
    someone_updates(&env, &theirs);
    let resumed = env.run(&["resume", "--format", "json"]);
    let text = show(&resumed);
    assert_eq!(
        env.schedule_config(INLINE),
        theirs,
        "their change (a KMS key added after this run's update) is kept: it is neither the \
         snapshot's configuration nor what this run sent\n{text}"
    );
}

/// The same tolerance without a crash in the rollback: our update acted (journaled `done`), the
/// run was killed before verifying, the schedule is Failed; someone else adds their KMS key (and
/// their update leaves it Failed too). `reconcile` finds `config_holds(live, target)`, verifies,
/// sees Failed, and rolls back over their addition.
#[test]
fn resuming_a_verify_never_rolls_back_over_a_member_someone_else_added() {
    let env = Env::start(
        inline_seed(encryption_off()),
        behaviour_with(
            vec![sm_emulator::FaultRule {
                after: true,
                ..hold_rule("UpdateMonitoringSchedule", INLINE, HOLD_FOREVER_MS, true)
            }],
            &[INLINE, INLINE],
        ),
    );
    env.spawn_until_held(&env.state_dir(), &APPLY, "UpdateMonitoringSchedule", INLINE)
        .run
        .kill();
    // Keep the second failing update for theirs; no more faults.
    env.emulator
        .set_behaviour(behaviour_with(vec![], &[INLINE]));
    wait_settled(&env);
    assert_eq!(
        env.schedule_config(INLINE),
        fixed_config(),
        "our update acted"
    );
    let theirs = with_kms_key(fixed_config());
    someone_updates(&env, &theirs);
    assert_eq!(status_of(&env), "Failed");
    let resumed = env.run(&["resume", "--format", "json"]);
    let text = show(&resumed);
    assert_eq!(
        env.schedule_config(INLINE),
        theirs,
        "their KMS key is kept\n{text}"
    );
}

// -------------------------------------------------------------------------------------------
// 3. `reconcile` takes a journaled Start for "this run's update acted", and undoes on that
//    guess.
// -------------------------------------------------------------------------------------------

/// I2 ("never undo on a guess"): the run was killed while its update was held; the held update
/// is never performed. Someone else then makes the same fix, and the schedule turns Failed with
/// their update. `reconcile` (inline.rs:502-505) passes `inline_update_started` as "ours", so
/// verify's failure rolls back their fix — the same situation `forward` rightly treats as
/// someone else's (`AlreadyThere`, nothing undone).
#[test]
fn resume_never_undoes_a_fix_it_cannot_tell_is_its_own() {
    let env = Env::start(
        inline_seed(encryption_off()),
        behaviour(vec![hold_rule(
            "UpdateMonitoringSchedule",
            INLINE,
            HOLD_FOREVER_MS,
            true,
        )]),
    );
    env.spawn_until_held(&env.state_dir(), &APPLY, "UpdateMonitoringSchedule", INLINE)
        .run
        .kill();
    env.emulator
        .set_behaviour(behaviour_with(vec![], &[INLINE]));
    assert_eq!(
        env.schedule_config(INLINE),
        original_config(),
        "the held update was never performed"
    );
    someone_updates(&env, &fixed_config());
    assert_eq!(
        status_of(&env),
        "Failed",
        "their update failed the schedule"
    );
    let before = env.mutating_calls().len();
    let resumed = env.run(&["resume", "--format", "json"]);
    let text = show(&resumed);
    assert_eq!(
        env.schedule_config(INLINE),
        fixed_config(),
        "their fix is not undone on a guess; resume sent {:?}\n{text}",
        env.mutating_since(before)
    );
}

// -------------------------------------------------------------------------------------------
// 4. `restore --replace` says done while the live configuration is not the snapshot's.
// -------------------------------------------------------------------------------------------

/// I4: after a good apply, someone reverts the flag and adds an output KMS key. `restore
/// --replace SNAPSHOT` should make the schedule hold the snapshot's configuration (the current
/// one snapshotted first) or say it did not. `forward`'s `is_done` is `config_holds(live,
/// snapshot)` (extra members allowed), so it finds the restore "already there", sends nothing and
/// reports `updated-in-place`, exit 0 — with the KMS key the snapshot never had still in place.
#[test]
fn restore_replace_does_not_report_success_over_a_configuration_it_did_not_put_back() {
    let env = Env::quick(inline_seed(encryption_off()));
    let output = env.run(&APPLY);
    assert_eq!(code(&output), 0, "{}", show(&output));
    let (snapshot, _) = env.snapshot_of(INLINE);
    let snapshot = snapshot.to_str().unwrap().to_owned();
    someone_updates(&env, &with_kms_key(original_config()));
    let restored = env.run(&[
        "restore",
        "--replace",
        snapshot.as_str(),
        "--format",
        "json",
    ]);
    let text = show(&restored);
    let live = env.schedule_config(INLINE);
    assert!(
        live == original_config() || code(&restored) != 0,
        "restore reported success (exit {}) but the schedule does not hold the snapshot's \
         configuration: {live}\n{text}",
        code(&restored)
    );
}

// -------------------------------------------------------------------------------------------
// 5. A restore interrupted after `run-started` and before `item-started` never converges.
// -------------------------------------------------------------------------------------------

/// I6: a `restore --replace` killed between journaling `run-started` and `item-started` (two
/// separate fsync'd appends; a crash, or the journal refusing the second write, which
/// restore_schedule.rs:360-368 turns into an error). `unfinished_replace` (restore.rs:628) only
/// recognises a run whose item started, so running the same restore again starts a new run and
/// finishes; the first run stays unfinished for good: `resume` then refuses (exit 2, "run the
/// restore command again"), and the restore command says "nothing to do".
#[test]
fn a_restore_interrupted_before_its_item_started_converges() {
    let env = Env::quick(inline_seed(encryption_off()));
    let output = env.run(&APPLY);
    assert_eq!(code(&output), 0, "{}", show(&output));
    let (snapshot, _) = env.snapshot_of(INLINE);
    let snapshot = snapshot.to_str().unwrap().to_owned();
    env.emulator.set_behaviour(behaviour(vec![hold_rule(
        "UpdateMonitoringSchedule",
        INLINE,
        HOLD_FOREVER_MS,
        true,
    )]));
    let restore = ["restore", "--replace", snapshot.as_str()];
    env.spawn_until_held(
        &env.state_dir(),
        &restore,
        "UpdateMonitoringSchedule",
        INLINE,
    )
    .kill_then_clear_faults();
    // The state a crash right after `run-started` leaves: cut the journal there.
    let (journal, lines) = env.journals().pop().expect("the restore's journal");
    let started = lines
        .iter()
        .position(|l| l["event"] == json!("item-started"))
        .expect("the restore journaled its item");
    let text = std::fs::read_to_string(&journal).unwrap();
    let kept: Vec<&str> = text.lines().take(started).collect();
    std::fs::write(&journal, format!("{}\n", kept.join("\n"))).unwrap();
    assert_eq!(env.schedule_config(INLINE), fixed_config(), "nothing acted");

    let again = env.run(&restore);
    assert_eq!(code(&again), 0, "{}", show(&again));
    assert_eq!(env.schedule_config(INLINE), original_config());
    let resumed = env.run(&["resume"]);
    let third = env.run(&restore);
    let resumed_again = env.run(&["resume"]);
    assert_eq!(
        code(&resumed_again),
        0,
        "I6: once the same restore command finished, nothing is left to resume\n--- restore again\n{}\n--- resume\n{}\n--- restore a third time\n{}\n--- resume again\n{}",
        show(&again),
        show(&resumed),
        show(&third),
        show(&resumed_again)
    );
}

// -------------------------------------------------------------------------------------------
// 6. `is_busy_refusal` matches "pending" anywhere in the message, names and ARNs included.
// -------------------------------------------------------------------------------------------

/// AWS-FACTS #15: the service may refuse the in-place NetworkConfig change. For a schedule whose
/// name contains "pending" (`pending-orders-monitor`, a normal name), the refusal's message names
/// its ARN, so `is_busy_refusal` (ops.rs:583-587) takes it for "busy", sends the same refused
/// update three more times, and the report is `rolled-back` "did not take the update after 4
/// updates" — AWS's message and the runbook's rebuild advice are lost.
#[test]
fn a_refusal_of_a_schedule_whose_name_contains_pending_is_reported_as_refused() {
    const NAME: &str = "pending-orders-monitor";
    let env = Env::start(
        named_seed(NAME, encryption_off()),
        Behaviour {
            inline_network_config_updates: sm_emulator::InlineNetworkConfigUpdates::Refused,
            ..quick_behaviour()
        },
    );
    let output = env.run(&APPLY);
    let text = show(&output);
    assert_eq!(env.schedule_config(NAME), original_config());
    assert_eq!(
        updates_on(&env, NAME).len(),
        1,
        "a refusal is not retried as if the schedule were busy\n{text}"
    );
    assert_eq!(report_status(&output, NAME), "refused", "{text}");
}

// -------------------------------------------------------------------------------------------
// Control (expected to pass): the changed NotFound handling of `change_schedule`, on the repoint
// path of a definition's staged recreate.
// -------------------------------------------------------------------------------------------

/// Someone deletes this run's compliant copy while the schedule's repoint to it is in flight, so
/// the repoint is answered "does not exist" (about the copy). Before 338019e that read as
/// `Vanished` (the schedule was skipped, and the run went on to delete the original); now the
/// look sees the schedule, the repoint is a refusal, and the run undoes: the original and its
/// schedule are as they were, exit 1.
#[test]
fn control_a_repoint_to_a_copy_someone_deleted_is_undone_not_skipped() {
    use sm_recreate::kinds::Kind;
    let kind = Kind::DataQuality;
    let name = "churn-dq";
    let temp = sm_recreate::request::temporary_name(name);
    let env = Env::start(
        referenced_seed(kind, name),
        behaviour(vec![sm_emulator::FaultRule {
            nth: Some(1),
            ..hold_rule(
                "UpdateMonitoringSchedule",
                SCHEDULE,
                HOLD_WHILE_ACTING_MS,
                false,
            )
        }]),
    );
    let before = env.definition(kind, name).expect("the original");
    let held = env.spawn_until_held(
        &env.state_dir(),
        &["apply", "--yes", "--format", "json"],
        "UpdateMonitoringSchedule",
        SCHEDULE,
    );
    let ((), output) = held.act_then_finish(|| {
        env.block_on(
            env.someone_else()
                .delete_data_quality_job_definition()
                .job_definition_name(&temp)
                .send(),
        )
        .expect("someone else deletes the copy");
    });
    let text = show(&output);
    assert_eq!(code(&output), 1, "{text}");
    assert_eq!(report_status(&output, name), "rolled-back", "{text}");
    assert_eq!(env.definition(kind, name), Some(before), "{text}");
    assert_eq!(env.schedule_target(SCHEDULE), name, "{text}");
}
