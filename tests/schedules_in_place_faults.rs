//! The in-place fix of inline schedules when things go wrong: someone else stops the schedule,
//! makes the same fix, or changes it mid-run; a schedule Pending when snapshotted; a schedule
//! Failed after the update; a rollback refused; a Pending or "does not exist" refusal that is not
//! the service refusing the change; a service that fills in defaults; an interrupted `restore`.
//! Each states what the account and the report must be, whatever the order of events.

mod support;

use serde_json::{Value, json};
use std::sync::Arc;
use support::apply::*;
use support::held::*;
use support::inline::*;
use support::*;

/// The baseline: the happy path fixes the schedule and says so.
#[test]
fn baseline_an_inline_schedule_is_updated_in_place() {
    let env = Env::quick(inline_seed(encryption_off()));
    let output = env.run(&APPLY);
    assert_eq!(code(&output), 0, "{}", show(&output));
    assert_eq!(
        report_status(&output, INLINE),
        "updated-in-place",
        "{}",
        show(&output)
    );
    assert_eq!(env.schedule_config(INLINE), fixed_config());
}

fn stop_schedule(env: &Env) {
    env.block_on(
        env.someone_else()
            .stop_monitoring_schedule()
            .monitoring_schedule_name(INLINE)
            .send(),
    )
    .expect("stop the schedule as someone else");
}

fn manual(output: &std::process::Output) -> Option<String> {
    printed::manual_action(output)
}

/// Someone stops the schedule while our update is in flight (a routine action, and theirs to
/// take). Our update lands and the configuration is exactly the fixed one; only the status differs
/// from the snapshot. `differences()` (inline.rs:287) treats the status change as a failed
/// verification, rolls our fix back, then fails the rollback's own check on the same status and
/// reports `rollback-incomplete` (exit 4).
#[test]
fn someone_stopping_the_schedule_during_the_run_does_not_undo_the_fix_or_exit_4() {
    let env = Env::start(
        inline_seed(encryption_off()),
        behaviour(vec![hold_rule(
            "UpdateMonitoringSchedule",
            INLINE,
            HOLD_WHILE_ACTING_MS,
            false,
        )]),
    );
    let held = env.spawn_until_held(&env.state_dir(), &APPLY, "UpdateMonitoringSchedule", INLINE);
    let ((), output) = held.act_then_finish(|| stop_schedule(&env));
    let text = show(&output);
    assert_eq!(status_of(&env), "Stopped", "their stop is kept\n{text}");
    assert_ne!(
        code(&output),
        4,
        "nothing is left undone: the fix landed and the stop is theirs\n{text}"
    );
    assert_eq!(
        env.schedule_config(INLINE),
        fixed_config(),
        "the fix that landed is not undone because someone else stopped the schedule\n{text}"
    );
}

/// I6: a schedule that is `Pending` when the apply snapshots it (just created, started, or
/// updated without a config change by someone else). The update is waited for and lands, but the
/// verify compares the settled status with the snapshot's `Pending`, fails, rolls the fix back,
/// fails the rollback check the same way, and exits 4 naming `restore SNAPSHOT`. That restore says
/// "nothing to do" (exit 0), yet `resume` reports `rollback-incomplete` again, forever.
#[test]
fn a_schedule_pending_at_snapshot_time_is_fixed_and_resume_converges() {
    let mut b = behaviour(vec![]);
    b.schedule_transition = std::time::Duration::from_secs(3);
    let env = Env::start(inline_seed(encryption_off()), b);
    // Someone re-sends the same configuration: the schedule is Pending for 3 s, its hash unchanged.
    let client = env.client();
    let config = inline_config(encryption_off());
    env.block_on(client.update_schedule(INLINE, &config))
        .expect("someone else updates the schedule with the same configuration");
    assert_eq!(status_of(&env), "Pending");
    let output = env.run(&APPLY);
    let text = show(&output);
    let first = (code(&output), report_status(&output, INLINE));
    let config_after_apply = env.schedule_config(INLINE);
    // Whatever the apply did, resume then the printed manual action must converge (I6).
    let mut log = vec![text.clone()];
    let resumed = env.run(&["resume", "--format", "json"]);
    log.push(show(&resumed));
    if let Some(action) = manual(&output) {
        let done = printed::shell_command(&action, &env.workdir, &[]);
        log.push(format!("$ {action}\n{}", show(&done)));
    }
    let again = env.run(&["resume", "--format", "json"]);
    log.push(show(&again));
    let log = log.join("\n=====\n");
    assert_eq!(
        first,
        (0, "updated-in-place".to_owned()),
        "a merely Pending schedule is fixed (config after apply: {config_after_apply})\n{log}"
    );
    assert_eq!(code(&again), 0, "I6: resume converges\n{log}");
}

/// I4: the schedule Fails after the update, and the rollback's own update is refused, so the
/// schedule still holds the changed configuration. The printed manual action must run verbatim
/// and put the snapshot's configuration back.
#[test]
fn the_manual_action_after_a_refused_inline_rollback_runs_verbatim_and_puts_it_back() {
    let mut b = behaviour(vec![sm_emulator::FaultRule {
        nth: Some(2),
        ..error_rule(
            "UpdateMonitoringSchedule",
            Some(INLINE),
            "ValidationException",
        )
    }]);
    b.failing_schedule_updates = vec![INLINE.to_owned()];
    let env = Env::start(inline_seed(encryption_off()), b);
    let output = env.run(&APPLY);
    let text = show(&output);
    assert_eq!(code(&output), 4, "{text}");
    assert_eq!(
        report_status(&output, INLINE),
        "rollback-incomplete",
        "{text}"
    );
    let action = manual(&output).expect("a manual action");
    assert!(action.contains("restore --replace"), "{action}");
    env.clear_faults();
    let done = printed::shell_command(&action, &env.workdir, &[]);
    assert_eq!(
        code(&done),
        0,
        "I4: the printed manual action runs verbatim\n$ {action}\n{}\n--- apply\n{text}",
        show(&done)
    );
    assert_eq!(env.schedule_config(INLINE), inline_config(encryption_off()));
    // The restore finished the apply's item: nothing is left for `resume`, and its own update
    // is not taken for someone else's.
    let resumed = env.run(&["resume", "--format", "json"]);
    assert_eq!(code(&resumed), 0, "{}", show(&resumed));
    let journal = env
        .journals()
        .into_iter()
        .next()
        .expect("the apply's journal")
        .1;
    let finished: Vec<&Value> = journal
        .iter()
        .filter(|l| l["event"] == "item-finished")
        .collect();
    assert_eq!(
        finished.last().map(|l| l["outcome"].clone()),
        Some(json!("rolled-back")),
        "{finished:?}"
    );
}

/// A `ValidationException` that says the schedule is Pending (AWS-FACTS #4: that is how AWS
/// refuses an update of a Pending schedule, e.g. after someone else's change landed between the
/// tool's look and its update) is not a refusal of the in-place NetworkConfig change: it must not
/// tell the user to rebuild the schedule by hand (inline.rs:222-228).
#[test]
fn a_pending_refusal_is_not_reported_as_needing_a_manual_rebuild() {
    let env = Env::start(
        inline_seed(encryption_off()),
        behaviour(vec![sm_emulator::FaultRule {
            nth: Some(1),
            error: fault_error(
                "ValidationException",
                400,
                "Monitoring schedule in status Pending cannot be updated",
            ),
            ..error_rule(
                "UpdateMonitoringSchedule",
                Some(INLINE),
                "ValidationException",
            )
        }]),
    );
    let output = env.run(&APPLY);
    let text = show(&output);
    assert!(
        !all_output(&output).contains("manual rebuild"),
        "a Pending refusal is not a refusal of the in-place change\n{text}"
    );
}

/// I6/I7: an interrupted `restore --replace` of a schedule snapshot is "continued by running the
/// same restore command again". restore_schedule.rs never looks for the interrupted run (the
/// definition restore does, `unfinished_replace`): the second command starts a new run, and the
/// interrupted one stays unfinished for good, so `resume` keeps sending the user back to a
/// restore that has nothing left to do.
#[test]
fn an_interrupted_schedule_restore_is_finished_by_the_same_command() {
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
    let again = env.run(&restore);
    assert_eq!(code(&again), 0, "{}", show(&again));
    assert_eq!(env.schedule_config(INLINE), inline_config(encryption_off()));
    let resumed = env.run(&["resume"]);
    assert_eq!(
        code(&resumed),
        0,
        "I6: nothing is left to resume once the same restore command finished\n--- restore again\n{}\n--- resume\n{}",
        show(&again),
        show(&resumed)
    );
}

/// Control (expected to pass): a crash right after the update acted, before its answer was
/// journaled; resume verifies and finishes.
#[test]
fn control_a_crash_after_the_update_acted_is_resumed() {
    let env = Env::start(
        inline_seed(encryption_off()),
        behaviour(vec![sm_emulator::FaultRule {
            after: true,
            ..hold_rule("UpdateMonitoringSchedule", INLINE, HOLD_FOREVER_MS, true)
        }]),
    );
    env.spawn_until_held(&env.state_dir(), &APPLY, "UpdateMonitoringSchedule", INLINE)
        .kill_then_clear_faults();
    let resumed = env.run(&["resume", "--format", "json"]);
    assert_eq!(code(&resumed), 0, "{}", show(&resumed));
    assert_eq!(env.schedule_config(INLINE), fixed_config());
    let second = env.run(&["resume"]);
    assert_eq!(code(&second), 0, "{}", show(&second));
}

// -------------------------------------------------------------------------------------------
// A proxy in front of the emulator that rewrites answers, for service behaviours the emulator
// does not model (a schedule Failed after an update; defaults the service fills in).
// -------------------------------------------------------------------------------------------

mod proxy {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::Arc;

    /// (X-Amz-Target, request body, response body) -> new response body.
    pub type Rewrite = Arc<dyn Fn(&str, &[u8], Vec<u8>) -> Vec<u8> + Send + Sync>;

    fn read_message(stream: &mut TcpStream, to_eof: bool) -> Option<(String, Vec<u8>)> {
        let mut buffer = Vec::new();
        let mut chunk = [0u8; 8192];
        let head_end = loop {
            if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            let n = stream.read(&mut chunk).ok()?;
            if n == 0 {
                return None;
            }
            buffer.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
        let mut body = buffer[head_end + 4..].to_vec();
        let length = head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        });
        match length {
            Some(length) => {
                while body.len() < length {
                    let n = stream.read(&mut chunk).ok()?;
                    if n == 0 {
                        break;
                    }
                    body.extend_from_slice(&chunk[..n]);
                }
            }
            None if to_eof => {
                let _ = stream.read_to_end(&mut body);
            }
            None => {}
        }
        Some((head, body))
    }

    fn header(head: &str, name: &str) -> String {
        head.lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| v.trim().to_owned())
            })
            .unwrap_or_default()
    }

    fn rebuild(head: &str, body: &[u8]) -> Vec<u8> {
        let mut out = String::new();
        for line in head.lines() {
            let lower = line.to_ascii_lowercase();
            if lower.starts_with("content-length:") || lower.starts_with("connection:") {
                continue;
            }
            out.push_str(line);
            out.push_str("\r\n");
        }
        out.push_str(&format!(
            "content-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        ));
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(body);
        bytes
    }

    fn serve(mut client: TcpStream, upstream: String, rewrite: Rewrite) {
        let Some((head, body)) = read_message(&mut client, false) else {
            return;
        };
        let target = header(&head, "x-amz-target");
        let Ok(mut server) = TcpStream::connect(&upstream) else {
            return;
        };
        if server.write_all(&rebuild(&head, &body)).is_err() {
            return;
        }
        let Some((response_head, response_body)) = read_message(&mut server, true) else {
            return;
        };
        let response_body = rewrite(&target, &body, response_body);
        let _ = client.write_all(&rebuild(&response_head, &response_body));
    }

    /// Starts the proxy; returns its endpoint URL.
    pub fn start(upstream_url: &str, rewrite: Rewrite) -> String {
        let upstream = upstream_url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let url = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (upstream, rewrite) = (upstream.clone(), Arc::clone(&rewrite));
                std::thread::spawn(move || serve(client, upstream, rewrite));
            }
        });
        url
    }
}

/// The binary aimed at the proxy, with the env's state directory.
fn via_proxy(env: &Env, url: &str, args: &[&str]) -> std::process::Output {
    let mut command = isolated_command(&env.workdir);
    command
        .args(["--endpoint-url", url, "--state-dir"])
        .arg(env.state_dir())
        .args(["--color", "never"])
        .args(args);
    with_timeout(command).output().expect("run sm-recreate")
}

fn encrypted(config: &Value) -> bool {
    config["MonitoringJobDefinition"]["NetworkConfig"]["EnableInterContainerTrafficEncryption"]
        == json!(true)
}

/// The schedule goes `Failed` after the update (AWS-FACTS #4: `Failed` is possible). In
/// `change_schedule` (ops.rs:476-483) that is `Err(Refused(local))`, class Other, which
/// `forward` (inline.rs:233-236) journals as `failed` (did not act) and reports as
/// `rolled-back` "nothing was changed" — with no rollback sent: the schedule keeps the new
/// configuration, Failed, and `resume` has nothing to do (rolled-back is settled).
#[test]
fn a_schedule_failed_after_the_update_is_rolled_back_or_not_reported_as_rolled_back() {
    let env = Env::quick(inline_seed(encryption_off()));
    let rewrite: proxy::Rewrite = Arc::new(|target: &str, _request: &[u8], body: Vec<u8>| {
        if !target.ends_with("DescribeMonitoringSchedule") {
            return body;
        }
        let Ok(mut value) = serde_json::from_slice::<Value>(&body) else {
            return body;
        };
        // The service: a schedule whose inline job now encrypts fails to run.
        if encrypted(&value["MonitoringScheduleConfig"])
            && value["MonitoringScheduleStatus"] == json!("Scheduled")
        {
            value["MonitoringScheduleStatus"] = json!("Failed");
            value["FailureReason"] = json!("the job could not start");
        }
        serde_json::to_vec(&value).unwrap()
    });
    let url = proxy::start(&env.endpoint_url(), rewrite);
    let output = via_proxy(&env, &url, &APPLY);
    let text = show(&output);
    let status = report_status(&output, INLINE);
    let live = env.schedule_config(INLINE);
    if status == "rolled-back" {
        assert_eq!(
            live,
            inline_config(encryption_off()),
            "I4: reported rolled-back, but the schedule holds the update (and is Failed)\n{text}"
        );
    }
    assert!(
        !(encrypted(&live) && code(&output) == 1 && status != "updated-in-place"),
        "the schedule holds the update, Failed, and the report says it was not changed\n{text}"
    );
}

/// The service fills in a default member of a `NetworkConfig` the update created (as describe
/// fills defaults, AWS-FACTS #8). `is_done` is exact JSON equality with the sent configuration
/// (ops.rs:441), so the look after our own successful update finds neither `from` nor `to`:
/// `LeftAlone`, reported "someone else changed the schedule's configuration; theirs is kept and
/// nothing of this run's is in it" (inline.rs:210-214) — while it holds exactly our change.
#[test]
fn a_default_the_service_fills_in_is_not_reported_as_someone_elses_change() {
    let env = Env::quick(inline_seed(None));
    let rewrite: proxy::Rewrite = Arc::new(|target: &str, _request: &[u8], body: Vec<u8>| {
        if !target.ends_with("DescribeMonitoringSchedule") {
            return body;
        }
        let Ok(mut value) = serde_json::from_slice::<Value>(&body) else {
            return body;
        };
        let network =
            &mut value["MonitoringScheduleConfig"]["MonitoringJobDefinition"]["NetworkConfig"];
        if network.is_object() && network.get("EnableNetworkIsolation").is_none() {
            network["EnableNetworkIsolation"] = json!(false);
        }
        serde_json::to_vec(&value).unwrap()
    });
    let url = proxy::start(&env.endpoint_url(), rewrite);
    let output = via_proxy(&env, &url, &APPLY);
    let text = show(&output);
    assert!(
        encrypted(&env.schedule_config(INLINE)),
        "the update landed\n{text}"
    );
    assert_eq!(
        report_status(&output, INLINE),
        "updated-in-place",
        "our own update, with a default filled in, is not someone else's change\n{text}"
    );
}

/// Ownership: between the apply's snapshot and its update, someone else makes the same fix (and
/// stops the schedule). `change_schedule` finds the target already there (`AlreadyThere`, nothing
/// sent), the verification fails (here on the status they changed), and `roll_back`
/// (inline.rs:307-314) "puts back" the snapshot over a change this run never made: their fix is
/// overwritten with the old, non-compliant configuration.
#[test]
fn a_fix_someone_else_made_is_never_rolled_back_by_this_run() {
    let env = Env::start(
        inline_seed(encryption_off()),
        behaviour(vec![sm_emulator::FaultRule {
            nth: Some(2),
            ..hold_rule("ListTags", INLINE, HOLD_WHILE_ACTING_MS, false)
        }]),
    );
    let held = env.spawn_until_held(&env.state_dir(), &APPLY, "ListTags", INLINE);
    let ((), output) = held.act_then_finish(|| {
        let client = env.client();
        env.block_on(client.update_schedule(INLINE, &fixed_config()))
            .expect("someone else fixes it");
        std::thread::sleep(std::time::Duration::from_millis(200));
        stop_schedule(&env);
    });
    let text = show(&output);
    let mutating = env.mutating_calls();
    assert_eq!(
        env.schedule_config(INLINE),
        fixed_config(),
        "their fix is kept; this run sent: {mutating:?}\n{text}"
    );
}

/// SageMaker answers some "does not exist" cases with a ValidationException, which the error
/// classifier turns into NotFound by message (error.rs:110-114). An update refused because, say,
/// the endpoint the inline job reads is gone makes `change_schedule` return `Vanished`
/// (ops.rs:512), and the report says someone else deleted the schedule, which exists.
#[test]
fn a_refusal_mentioning_a_missing_resource_is_not_reported_as_the_schedule_deleted() {
    let env = Env::start(
        inline_seed(encryption_off()),
        behaviour(vec![sm_emulator::FaultRule {
            nth: Some(1),
            error: fault_error(
                "ValidationException",
                400,
                "Endpoint churn-endpoint does not exist.",
            ),
            ..error_rule(
                "UpdateMonitoringSchedule",
                Some(INLINE),
                "ValidationException",
            )
        }]),
    );
    let output = env.run(&APPLY);
    let text = show(&output);
    assert!(env.emulator.schedule(REGION, INLINE).is_some());
    assert!(
        !all_output(&output).contains("deleted the schedule"),
        "I4: the schedule exists; the report says someone deleted it\n{text}"
    );
}

/// Found by the fault model (`cargo run --example soak -- --start 1 --cases 1000`, seed 321):
/// ownership of an identical configuration. The apply journals the update step's start, looks
/// at the schedule, and is killed before it sends anything. Someone else then makes the same fix
/// by hand, and their update leaves the schedule `Failed`. `resume` finds the fixed
/// configuration, takes the journal's "update started" to mean this run's update may have acted
/// (`reconcile` → `verify_or_roll_back(progress.inline_update_started)`, inline.rs), sees
/// `Failed`, and "puts back" the snapshot over their change, reporting `rolled-back` ("the
/// schedule's configuration was put back as it was"), although this run never sent an update.
/// Their change is lost, and the report calls it this run's.
#[test]
fn a_fix_someone_else_made_after_a_crash_before_the_update_is_not_rolled_back_by_resume() {
    // The apply's looks at the schedule: the inventory's, the one before the snapshot, and the
    // one that starts the update step (after its journal line): held there, then killed.
    let env = Env::start(
        inline_seed(encryption_off()),
        behaviour(vec![sm_emulator::FaultRule {
            nth: Some(3),
            ..hold_rule("DescribeMonitoringSchedule", INLINE, HOLD_FOREVER_MS, true)
        }]),
    );
    env.spawn_until_held(
        &env.state_dir(),
        &APPLY,
        "DescribeMonitoringSchedule",
        INLINE,
    )
    .kill_then_clear_faults();
    let started = env.journals().iter().any(|(_, lines)| {
        lines.iter().any(|l| {
            l["event"] == "step"
                && l["item"]["name"] == INLINE
                && l["step"] == "update-inline-definition"
                && l["phase"] == "start"
        })
    });
    assert!(
        started,
        "the run was killed after journaling the update's start"
    );
    assert_eq!(
        env.count("UpdateMonitoringSchedule"),
        0,
        "and before sending any update"
    );
    // Someone else makes the same fix; the service cannot run it: the schedule is Failed.
    env.emulator.set_behaviour(sm_emulator::Behaviour {
        failing_schedule_updates: vec![INLINE.to_owned()],
        ..behaviour(vec![])
    });
    env.block_on(env.client().update_schedule(INLINE, &fixed_config()))
        .expect("someone else fixes it");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while status_of(&env) != "Failed" {
        assert!(std::time::Instant::now() < deadline, "their update settles");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    env.clear_faults();
    let resumed = env.run(&["resume", "--format", "json"]);
    let text = show(&resumed);
    let sent: Vec<String> = env
        .mutating_calls()
        .iter()
        .map(|c| format!("{} {}", c.operation, c.name.as_deref().unwrap_or("")))
        .collect();
    assert!(
        encrypted(&env.schedule_config(INLINE)),
        "their fix is kept: this run never sent an update, so the configuration is not its to \
         undo (reported {:?}; updates since the kill, theirs first: {sent:?})\n{text}",
        report_status(&resumed, INLINE),
    );
}

/// Found by the fault model (`cargo run --example soak -- --start 1001 --cases 1000`, seed
/// 1609): the same question the other way round. The apply's update acts and the apply is
/// killed before it journals the update as done. Someone else then turns encryption off again
/// (their configuration is the snapshot's, as the service reads it). `resume` finds the
/// snapshot's configuration, takes it to mean the update never acted (`reconcile`: `original &&
/// !progress.inline_update_done` → `forward`, inline.rs), and sends the fix again over their
/// change, reporting `updated-in-place`. The schedule's `LastModifiedTime` (newer than the
/// snapshot's) shows that it was changed since; the definitions' reconcile makes the same
/// distinction with `CreationTime`.
#[test]
fn a_revert_someone_made_after_the_update_acted_is_not_overwritten_by_resume() {
    let env = Env::start(
        inline_seed(encryption_off()),
        behaviour(vec![sm_emulator::FaultRule {
            after: true,
            ..hold_rule("UpdateMonitoringSchedule", INLINE, HOLD_FOREVER_MS, true)
        }]),
    );
    env.spawn_until_held(&env.state_dir(), &APPLY, "UpdateMonitoringSchedule", INLINE)
        .kill_then_clear_faults();
    // The update acted (`after`): the schedule holds the fix.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !(encrypted(&env.schedule_config(INLINE)) && status_of(&env) == "Scheduled") {
        assert!(
            std::time::Instant::now() < deadline,
            "the fix lands and settles"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // Someone else turns encryption off again.
    env.block_on(
        env.client()
            .update_schedule(INLINE, &inline_config(encryption_off())),
    )
    .expect("someone else reverts the fix");
    while status_of(&env) != "Scheduled" {
        assert!(std::time::Instant::now() < deadline, "their update settles");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let resumed = env.run(&["resume", "--format", "json"]);
    let text = show(&resumed);
    assert!(
        !encrypted(&env.schedule_config(INLINE)),
        "their change (encryption off, after this run's fix) is kept, not overwritten by the \
         fix again (reported {:?})\n{text}",
        report_status(&resumed, INLINE),
    );
}

/// Found by the fault model (`cargo run --example soak -- --start 2001 --cases 1000`, seed
/// 2268), with no crash at all: the apply's update is answered OK; while the apply waits for
/// the schedule to settle, someone else turns encryption off again. `change_schedule`
/// (ops.rs) then finds the snapshot's configuration, takes it for "the update did not take",
/// and sends the update again over their change (the retry meant for an answer that was lost,
/// though this answer was not), reporting `updated-in-place`.
#[test]
fn a_revert_someone_made_after_an_acknowledged_update_is_not_overwritten() {
    // The apply's looks at the schedule: the inventory's, the one before the snapshot, the one
    // that starts the update, then the first after the update: held while someone acts.
    let env = Env::start(
        inline_seed(encryption_off()),
        behaviour(vec![sm_emulator::FaultRule {
            nth: Some(4),
            ..hold_rule(
                "DescribeMonitoringSchedule",
                INLINE,
                HOLD_WHILE_ACTING_MS,
                false,
            )
        }]),
    );
    let held = env.spawn_until_held(
        &env.state_dir(),
        &APPLY,
        "DescribeMonitoringSchedule",
        INLINE,
    );
    let ((), output) = held.act_then_finish(|| {
        assert_eq!(
            env.count("UpdateMonitoringSchedule"),
            1,
            "held at the first look after the apply's update"
        );
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while status_of(&env) != "Scheduled" {
            assert!(std::time::Instant::now() < deadline, "the fix settles");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(encrypted(&env.schedule_config(INLINE)), "the fix landed");
        env.block_on(
            env.client()
                .update_schedule(INLINE, &inline_config(encryption_off())),
        )
        .expect("someone else turns encryption off again");
    });
    let text = show(&output);
    assert!(
        !encrypted(&env.schedule_config(INLINE)),
        "their change (encryption off, after this run's acknowledged fix) is kept, not \
         overwritten by a second update (reported {:?}; {} updates in all)\n{text}",
        report_status(&output, INLINE),
        env.count("UpdateMonitoringSchedule"),
    );
}
