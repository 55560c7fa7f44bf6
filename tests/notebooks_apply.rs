//! Notebook instances' root access turned off in place (SageMaker.3), through the library's
//! executor and the real SDK against the emulator: a stopped notebook fixed and left stopped; a
//! running one restarted only with consent; failures after the stop start it again; lost answers
//! settled by looking; someone else starting it between the stop and the update is not forced;
//! a run killed between the stop and the start is finished by `resume`; Ctrl-C lets the notebook
//! in flight finish and starts no other.

mod support;

use sm_recreate::apply::{Outcome, Work, exit_status};
use sm_recreate::exit::ExitStatus;
use sm_recreate::journal::Status;
use std::sync::atomic::Ordering;
use std::time::Duration;
use support::notebook::*;
use support::*;

fn assert_fixed_and(env: &NotebookEnv, before: &serde_json::Value, status: &str) {
    let live = env.live(NB);
    assert_eq!(live.root_access, "Disabled");
    assert_eq!(live.status, status);
    assert_eq!(
        settings(&live.raw),
        settings(before),
        "no other setting changed"
    );
}

#[test]
fn a_stopped_notebook_is_fixed_and_left_stopped() {
    let env = NotebookEnv::start(vec![seed_notebook(NB, "Stopped")], vec![]);
    let before = env.live(NB).raw;
    let tags = env.tags(NB);
    let (outcomes, _) = env.apply(vec![env.target(NB, false)]);
    assert_eq!(only(&outcomes), &Outcome::Updated);
    assert_fixed_and(&env, &before, "Stopped");
    assert_eq!(env.tags(NB), tags);
    assert_eq!(env.changes(NB), vec!["UpdateNotebookInstance"]);
    assert_eq!(
        env.snapshot_paths().len(),
        1,
        "snapshotted before the update"
    );
}

#[test]
fn a_running_notebook_with_consent_is_restarted_and_in_service_with_root_access_off() {
    let env = NotebookEnv::start(vec![seed_notebook(NB, "InService")], vec![]);
    let before = env.live(NB).raw;
    let (outcomes, _) = env.apply(vec![env.target(NB, true)]);
    assert_eq!(only(&outcomes), &Outcome::Updated);
    assert_fixed_and(&env, &before, "InService");
    assert_eq!(
        env.changes(NB),
        vec![
            "StopNotebookInstance",
            "UpdateNotebookInstance",
            "StartNotebookInstance"
        ]
    );
}

#[test]
fn a_running_notebook_without_consent_is_skipped_untouched() {
    let env = NotebookEnv::start(vec![seed_notebook(NB, "InService")], vec![]);
    let (outcomes, _) = env.apply(vec![env.target(NB, false)]);
    let outcome = only(&outcomes);
    assert_eq!(outcome.status(), Status::Skipped, "{outcome:?}");
    assert!(
        outcome.message().unwrap().contains("--restart-running"),
        "{outcome:?}"
    );
    assert!(env.changes(NB).is_empty());
    assert!(env.snapshot_paths().is_empty(), "nothing to snapshot");
    let live = env.live(NB);
    assert_eq!(
        (live.status.as_str(), live.root_access.as_str()),
        ("InService", "Enabled")
    );
    assert_eq!(exit_status(&outcomes), ExitStatus::Failed, "not fixed");
}

#[test]
fn an_update_failure_after_the_stop_starts_the_notebook_again_and_says_so() {
    let env = NotebookEnv::start(
        vec![seed_notebook(NB, "InService")],
        vec![error_rule(
            "UpdateNotebookInstance",
            Some(NB),
            "ValidationException",
        )],
    );
    let (outcomes, _) = env.apply(vec![env.target(NB, true)]);
    let outcome = only(&outcomes);
    assert_eq!(outcome.status(), Status::RolledBack, "{outcome:?}");
    assert!(
        outcome.message().unwrap().contains("started again"),
        "{outcome:?}"
    );
    env.set_faults(vec![]);
    let live = env.live(NB);
    assert_eq!(
        (live.status.as_str(), live.root_access.as_str()),
        ("InService", "Enabled")
    );
    assert_eq!(exit_status(&outcomes), ExitStatus::Failed);
}

#[test]
fn a_start_that_fails_after_a_failure_is_the_severe_outcome_and_resume_brings_it_back() {
    let env = NotebookEnv::start(
        vec![seed_notebook(NB, "InService")],
        vec![
            error_rule("UpdateNotebookInstance", Some(NB), "ValidationException"),
            error_rule("StartNotebookInstance", Some(NB), "ValidationException"),
        ],
    );
    let before = env.live(NB).raw;
    let (outcomes, run_id) = env.apply(vec![env.target(NB, true)]);
    let outcome = only(&outcomes);
    assert_eq!(outcome.status(), Status::RollbackIncomplete, "{outcome:?}");
    let message = outcome.message().unwrap();
    assert!(
        message.contains(&format!(
            "aws sagemaker start-notebook-instance --region {REGION} --notebook-instance-name {NB}"
        )),
        "{message}"
    );
    assert!(outcome.manual().unwrap().contains("resume"), "{outcome:?}");
    assert_eq!(exit_status(&outcomes), ExitStatus::RollbackIncomplete);
    env.set_faults(vec![]);
    assert_eq!(env.live(NB).status, "Stopped");
    // Resume finishes forward: update, start, verify.
    let resumed = env.resume(&run_id);
    assert_eq!(only(&resumed), &Outcome::Updated);
    assert_fixed_and(&env, &before, "InService");
}

#[test]
fn lost_answers_on_the_stop_and_the_update_are_settled_by_looking() {
    // Each acts, then answers 500: the look finds it done, and it is not sent again.
    let env = NotebookEnv::start(
        vec![seed_notebook(NB, "InService")],
        vec![
            internal_failure("StopNotebookInstance", NB, None, true),
            internal_failure("UpdateNotebookInstance", NB, None, true),
        ],
    );
    let before = env.live(NB).raw;
    let (outcomes, _) = env.apply(vec![env.target(NB, true)]);
    assert_eq!(only(&outcomes), &Outcome::Updated);
    let answered: Vec<(String, String)> = env
        .calls()
        .into_iter()
        .filter(|c| {
            c.operation.ends_with("NotebookInstance") && !c.operation.starts_with("Describe")
        })
        .map(|c| (c.operation, c.outcome))
        .collect();
    assert_eq!(
        answered,
        [
            ("StopNotebookInstance", "InternalFailure"),
            ("UpdateNotebookInstance", "InternalFailure"),
            ("StartNotebookInstance", "ok"),
        ]
        .map(|(o, a)| (o.to_owned(), a.to_owned())),
        "each change answered as lost, once"
    );
    env.set_faults(vec![]);
    assert_fixed_and(&env, &before, "InService");
    assert_eq!(
        env.changes(NB),
        vec![
            "StopNotebookInstance",
            "UpdateNotebookInstance",
            "StartNotebookInstance"
        ]
    );
}

#[test]
fn an_update_whose_connection_dropped_before_it_acted_is_sent_again_after_looking() {
    let env = NotebookEnv::start(
        vec![seed_notebook(NB, "Stopped")],
        vec![FaultRule {
            nth: Some(1),
            ..drop_rule("UpdateNotebookInstance", Some(NB))
        }],
    );
    let before = env.live(NB).raw;
    let (outcomes, _) = env.apply(vec![env.target(NB, false)]);
    assert_eq!(only(&outcomes), &Outcome::Updated);
    assert_fixed_and(&env, &before, "Stopped");
    assert_eq!(
        env.changes(NB),
        vec!["UpdateNotebookInstance", "UpdateNotebookInstance"]
    );
}

#[test]
fn someone_starting_the_notebook_between_the_stop_and_the_update_is_not_forced() {
    let env = NotebookEnv::start(
        vec![seed_notebook(NB, "InService")],
        vec![hold_rule("UpdateNotebookInstance", NB, 1500, false)],
    );
    let target = env.target(NB, true);
    let executor = env.new_run(std::slice::from_ref(&target));
    let someone = env.someone_else_client();
    let outcomes = env.block_on(async {
        let running = {
            let executor = executor.clone();
            tokio::spawn(
                async move { executor.run_all(vec![Work::Fresh(target)], |_, _| {}).await },
            )
        };
        while !is_held(&env, "UpdateNotebookInstance", NB) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        someone
            .start_notebook_instance()
            .notebook_instance_name(NB)
            .send()
            .await
            .expect("someone else starts it");
        running.await.expect("run")
    });
    let outcome = only(&outcomes);
    assert_eq!(outcome.status(), Status::ChangedDuringRun, "{outcome:?}");
    env.set_faults(vec![]);
    env.wait_for(NB, "InService");
    let live = env.live(NB);
    assert_eq!(live.root_access, "Enabled", "not forced");
    let stops = env
        .changes(NB)
        .iter()
        .filter(|c| *c == "StopNotebookInstance")
        .count();
    assert_eq!(stops, 1, "never stopped again: {:?}", env.changes(NB));
}

#[test]
fn a_run_killed_between_the_stop_and_the_start_is_brought_back_in_service_by_resume() {
    // The start is held, then dropped (never performed); the run dies while it is held.
    let env = NotebookEnv::start(
        vec![seed_notebook(NB, "InService")],
        vec![hold_rule("StartNotebookInstance", NB, 60_000, true)],
    );
    let before = env.live(NB).raw;
    let target = env.target(NB, true);
    let executor = env.new_run(std::slice::from_ref(&target));
    let run_id = executor.run.run_id.clone();
    env.block_on(async {
        let running = {
            let executor = executor.clone();
            tokio::spawn(
                async move { executor.run_all(vec![Work::Fresh(target)], |_, _| {}).await },
            )
        };
        while !is_held(&env, "StartNotebookInstance", NB) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // What SIGKILL leaves: the journal as written so far, nothing more.
        running.abort();
        let _ = running.await;
    });
    drop(executor);
    env.set_faults(vec![]);
    let stopped = env.live(NB);
    assert_eq!(
        (stopped.status.as_str(), stopped.root_access.as_str()),
        ("Stopped", "Disabled")
    );
    let resumed = env.resume(&run_id);
    assert_eq!(only(&resumed), &Outcome::Updated);
    assert_fixed_and(&env, &before, "InService");
    // A second resume has nothing to do.
    let calls = env.changes(NB).len();
    let again = env.resume(&run_id);
    assert!(again.is_empty(), "{again:?}");
    assert_eq!(env.changes(NB).len(), calls);
}

#[test]
fn a_notebook_changed_since_the_plan_is_left_alone() {
    let env = NotebookEnv::start(vec![seed_notebook(NB, "Stopped")], vec![]);
    let target = env.target(NB, false);
    let someone = env.someone_else_client();
    let arn = env.live(NB).arn;
    env.block_on(
        someone
            .add_tags()
            .resource_arn(arn)
            .tags(
                aws_sdk_sagemaker::types::Tag::builder()
                    .key("owner")
                    .value("someone")
                    .build(),
            )
            .send(),
    )
    .expect("someone tags it");
    let (outcomes, _) = env.apply(vec![target]);
    assert_eq!(only(&outcomes).status(), Status::ChangedSincePlan);
    assert!(env.changes(NB).is_empty());
    assert_eq!(env.live(NB).root_access, "Enabled");
}

#[test]
fn failed_and_already_fixed_notebooks_are_not_touched() {
    let mut failed = seed_notebook("broken-nb", "Failed");
    failed.failure_reason = Some("lifecycle config script exited 1".to_owned());
    let mut fixed = seed_notebook("fixed-nb", "Stopped");
    fixed.request["RootAccess"] = "Disabled".into();
    let env = NotebookEnv::start(vec![failed, fixed], vec![]);
    let targets = vec![env.target("broken-nb", true), env.target("fixed-nb", true)];
    let (outcomes, _) = env.apply(targets);
    assert_eq!(outcomes[0].1.status(), Status::Skipped);
    assert!(
        outcomes[0]
            .1
            .message()
            .unwrap()
            .contains("lifecycle config script exited 1")
    );
    assert_eq!(outcomes[1].1.status(), Status::AlreadyCompliant);
    assert!(env.changes("broken-nb").is_empty() && env.changes("fixed-nb").is_empty());
}

#[test]
fn ctrl_c_lets_the_notebook_in_flight_finish_and_starts_no_other() {
    let env = NotebookEnv::start(
        vec![
            seed_notebook(NB, "InService"),
            seed_notebook("second-nb", "Stopped"),
        ],
        vec![hold_rule("StopNotebookInstance", NB, 500, false)],
    );
    let before = env.live(NB).raw;
    let targets = vec![env.target(NB, true), env.target("second-nb", false)];
    let run = env.state.new_run().expect("run");
    let mut executor = env.executor(run);
    Arc::get_mut(&mut executor).unwrap().concurrency = 1;
    let outcomes = env.block_on(async {
        let running = {
            let executor = executor.clone();
            let work = targets.into_iter().map(Work::Fresh).collect();
            tokio::spawn(async move { executor.run_all(work, |_, _| {}).await })
        };
        while !is_held(&env, "StopNotebookInstance", NB) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        executor.stop.store(true, Ordering::SeqCst);
        running.await.expect("run")
    });
    assert_eq!(outcomes[0].1, Outcome::Updated, "{outcomes:?}");
    assert_eq!(outcomes[1].1, Outcome::NotStarted);
    assert_fixed_and(&env, &before, "InService");
    assert!(env.changes("second-nb").is_empty());
}

use sm_emulator::FaultRule;
use std::sync::Arc;
use support::held::is_held;

/// `resume` of `run_id` spawned (as `NotebookEnv::resume` builds its work), killed (its future
/// dropped, the journal as written) once `kill_at` is held on the notebook; once the notebook
/// has seen `hold` `nth` times, `while_held` runs first, acting as someone else would (or as a
/// late call of the earlier run).
fn resume_killed_while_held(
    env: &NotebookEnv,
    run_id: &str,
    (hold, nth): (&str, usize),
    while_held: impl std::future::Future<Output = ()>,
    kill_at: &str,
) {
    use sm_recreate::journal::{RunSummary, Snapshot};
    let run = env.state.existing_run(run_id).expect("run");
    let summary = RunSummary::from_records(&run.records().expect("records"));
    let work: Vec<Work> = summary
        .unfinished()
        .into_iter()
        .map(|item| {
            let path = summary.snapshot_of(&item.item).expect("in flight");
            Work::InFlight(
                Box::new(Snapshot::read(path).expect("snapshot")),
                path.clone(),
                summary.progress_of(&item.item),
            )
        })
        .collect();
    let executor = env.executor(run);
    env.block_on(async {
        let running = {
            let executor = executor.clone();
            tokio::spawn(async move { executor.run_all(work, |_, _| {}).await })
        };
        while env.changes(NB).iter().filter(|c| *c == hold).count() < nth {
            assert!(!running.is_finished(), "the resume ended before {hold}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        while_held.await;
        while !is_held(env, kill_at, NB) {
            assert!(!running.is_finished(), "the resume ended before {kill_at}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        running.abort();
        let _ = running.await;
    });
}

#[test]
fn a_late_stop_taken_as_this_runs_is_still_this_runs_after_a_second_kill() {
    // Run 1 dies while its stop is in flight: the journal has the stop started, never ended.
    // (The faults of both runs are set at once: changing them would release the held call.)
    let env = NotebookEnv::start(
        vec![seed_notebook(NB, "InService")],
        vec![
            FaultRule {
                nth: Some(1),
                ..hold_rule("StopNotebookInstance", NB, 60_000, true)
            },
            FaultRule {
                nth: Some(2),
                ..hold_rule("StopNotebookInstance", NB, 1_000, false)
            },
            FaultRule {
                nth: Some(1),
                ..hold_rule("UpdateNotebookInstance", NB, 60_000, true)
            },
        ],
    );
    let before = env.live(NB).raw;
    let target = env.target(NB, true);
    let executor = env.new_run(std::slice::from_ref(&target));
    let run_id = executor.run.run_id.clone();
    env.block_on(async {
        let running = {
            let executor = executor.clone();
            tokio::spawn(
                async move { executor.run_all(vec![Work::Fresh(target)], |_, _| {}).await },
            )
        };
        while !is_held(&env, "StopNotebookInstance", NB) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        running.abort();
        let _ = running.await;
    });
    drop(executor);
    assert_eq!(env.live(NB).status, "InService", "that stop never acted");
    // Resume 1 finds it running and unmodified, and starts over. Its stop is held; meanwhile the
    // earlier run's stop acts late (here sent by another client: the service cannot tell), so
    // resume 1's stop is refused and the notebook, found stopped, is taken as this run's (as
    // docs/protocol.md says). Resume 1 then dies while its update is in flight.
    let someone = env.someone_else_client();
    resume_killed_while_held(
        &env,
        &run_id,
        ("StopNotebookInstance", 2),
        async {
            someone
                .stop_notebook_instance()
                .notebook_instance_name(NB)
                .send()
                .await
                .expect("the late stop acts");
        },
        "UpdateNotebookInstance",
    );
    env.set_faults(vec![]);
    let live = env.live(NB);
    assert_eq!(
        (live.status.as_str(), live.root_access.as_str()),
        ("Stopped", "Enabled")
    );
    // Resume 2 must still know that this run stopped a running notebook: it ends InService.
    let resumed = env.resume(&run_id);
    assert_eq!(only(&resumed), &Outcome::Updated, "{resumed:?}");
    assert_fixed_and(&env, &before, "InService");
}

/// Every stop's connection drops before it acts, until the attempts run out with the notebook
/// still running. A lost stop may still act later, so the run must not call that a refusal
/// ("running as it was", settled): it is in doubt, and resume (once the calls are answered)
/// finishes the fix with the consent the run was given.
#[test]
fn stops_whose_answers_are_all_lost_leave_the_notebook_in_doubt_not_settled() {
    let env = NotebookEnv::start(
        vec![seed_notebook(NB, "InService")],
        vec![drop_rule("StopNotebookInstance", Some(NB))],
    );
    let before = env.live(NB).raw;
    let (outcomes, run_id) = env.apply(vec![env.target(NB, true)]);
    let outcome = only(&outcomes);
    assert_eq!(outcome.status(), Status::InDoubt, "{outcome:?}");
    assert_eq!(exit_status(&outcomes), ExitStatus::RollbackIncomplete);
    assert!(env.changes(NB).len() > 1, "the stop was sent again");
    env.set_faults(vec![]);
    assert_eq!(env.live(NB).status, "InService");
    let resumed = env.resume(&run_id);
    assert_eq!(only(&resumed), &Outcome::Updated);
    assert_fixed_and(&env, &before, "InService");
}
