//! Crashes of a notebook fix, through the real binary and SDK: `apply --kind notebook-instance
//! --restart-running` on a running notebook with root access on is SIGKILLed at a chosen step of
//! the stop, update, start sequence, then `resume` must bring the notebook back `InService` with
//! root access off and every other setting and tag as before, and a second `resume` must send no
//! mutating call. A notebook that was running must never be left stopped by a crash, and root
//! access must never be left on (issue 12).
//!
//! The process is held as in `tests/crash.rs`: an emulator fault with a long delay holds the
//! call, the test sees it `in-flight` in the emulator's call log, checks the notebook is in the
//! state the case is about (so the test proves it hit the window), and kills the process.
//! "during X" holds X before it acts and drops it (never performed); "performed X" performs X and
//! holds its answer, so AWS acted but the tool never heard of it.

mod support;

use serde_json::Value;
use sm_emulator::FaultRule;
use support::apply::Env;
use support::held::HOLD_FOREVER_MS;
use support::notebook::{NB, notebook_behaviour, notebooks_seed, seed_notebook, settings};
use support::*;

struct Case {
    label: &'static str,
    operation: &'static str,
    /// Perform the call, then hold its answer (instead of holding it before it acts).
    performed: bool,
    /// The notebook's `(status, RootAccess)` once the call is held (the window the case is about).
    at_kill: (&'static str, &'static str),
    /// The notebook changes the emulator answered `ok` before the kill, in order.
    done_at_kill: &'static [&'static str],
    /// The notebook changes `resume` sends, each once, in order: what is left, nothing again.
    resume_sends: &'static [&'static str],
}

const CASES: [Case; 6] = [
    // Before the stop acted (the stop never performed): running with root access on, the stop
    // journaled as sent and never answered. Resume starts over: stop, update, start.
    Case {
        label: "during stop-notebook",
        operation: "StopNotebookInstance",
        performed: false,
        at_kill: ("InService", "Enabled"),
        done_at_kill: &[],
        resume_sends: &[
            "StopNotebookInstance",
            "UpdateNotebookInstance",
            "StartNotebookInstance",
        ],
    },
    // The case issue 12 names: stopped, root access off, and the process dies before the start.
    Case {
        label: "during start-notebook",
        operation: "StartNotebookInstance",
        performed: false,
        at_kill: ("Stopped", "Disabled"),
        done_at_kill: &["StopNotebookInstance", "UpdateNotebookInstance"],
        resume_sends: &["StartNotebookInstance"],
    },
    // Stopped by this run, root access still on: the update never acted.
    Case {
        label: "during update-notebook-root-access",
        operation: "UpdateNotebookInstance",
        performed: false,
        at_kill: ("Stopped", "Enabled"),
        done_at_kill: &["StopNotebookInstance"],
        resume_sends: &["UpdateNotebookInstance", "StartNotebookInstance"],
    },
    // The update acted, the tool never heard: the journal says it started, nothing more.
    Case {
        label: "performed update-notebook-root-access",
        operation: "UpdateNotebookInstance",
        performed: true,
        at_kill: ("Stopped", "Disabled"),
        done_at_kill: &["StopNotebookInstance"],
        resume_sends: &["StartNotebookInstance"],
    },
    // The stop acted, the tool never heard: stopped, root access on.
    Case {
        label: "performed stop-notebook",
        operation: "StopNotebookInstance",
        performed: true,
        at_kill: ("Stopped", "Enabled"),
        done_at_kill: &[],
        resume_sends: &["UpdateNotebookInstance", "StartNotebookInstance"],
    },
    // The start acted, the tool never heard: it comes back on its own, resume only verifies.
    Case {
        label: "performed start-notebook",
        operation: "StartNotebookInstance",
        performed: true,
        at_kill: ("InService", "Disabled"),
        done_at_kill: &["StopNotebookInstance", "UpdateNotebookInstance"],
        resume_sends: &[],
    },
];

const NOTEBOOK_CHANGES: [&str; 5] = [
    "StopNotebookInstance",
    "StartNotebookInstance",
    "UpdateNotebookInstance",
    "DeleteNotebookInstance",
    "CreateNotebookInstance",
];

/// The notebook changes the emulator recorded, with how each ended.
fn changes(env: &Env) -> Vec<(String, String)> {
    env.calls()
        .into_iter()
        .filter(|c| {
            NOTEBOOK_CHANGES.contains(&c.operation.as_str()) && c.name.as_deref() == Some(NB)
        })
        .map(|c| (c.operation, c.outcome))
        .collect()
}

fn live(env: &Env) -> Value {
    env.emulator
        .notebook(REGION, NB)
        .expect("the notebook exists")
}

fn status_and_root(describe: &Value) -> (String, String) {
    (
        describe["NotebookInstanceStatus"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        describe["RootAccess"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

/// Waits (bounded) until the notebook has stopped moving (a performed call leaves it `Pending`,
/// `Stopping` or `Updating` for a moment); its describe.
fn settled(env: &Env) -> Value {
    let deadline = std::time::Instant::now() + support::held::DEADLINE;
    loop {
        let describe = live(env);
        let status = describe["NotebookInstanceStatus"]
            .as_str()
            .unwrap_or_default();
        if !matches!(status, "Pending" | "Stopping" | "Updating") {
            return describe;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the notebook never settled: {describe}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn crash_case(case: &Case) -> Result<String, String> {
    let env = Env::start(
        notebooks_seed(vec![seed_notebook(NB, "InService")]),
        notebook_behaviour(vec![]),
    );
    let before = live(&env);
    let tags_before = env.emulator.notebook_tags(REGION, NB);
    if status_and_root(&before) != ("InService".to_owned(), "Enabled".to_owned()) {
        return Err(format!(
            "the seed is not running with root access on: {before}"
        ));
    }
    env.emulator
        .set_behaviour(notebook_behaviour(vec![FaultRule {
            after: case.performed,
            ..hold_rule(case.operation, NB, HOLD_FOREVER_MS, true)
        }]));
    let mut run = env.spawn(
        &env.state_dir(),
        &[
            "apply",
            "--yes",
            "--kind",
            "notebook-instance",
            "--restart-running",
        ],
    );
    let held = run.until_held(&env, case.operation, NB);
    if let Err(why) = held {
        run.kill();
        return Err(format!("the apply never reached {}: {why}", case.label));
    }
    // Where the run is when it dies: the calls answered so far and the notebook, settled.
    let at_kill = settled(&env);
    let changes_at_kill = changes(&env);
    run.kill();
    env.emulator.set_behaviour(notebook_behaviour(vec![]));

    let (want_status, want_root) = case.at_kill;
    if status_and_root(&at_kill) != (want_status.to_owned(), want_root.to_owned()) {
        return Err(format!(
            "at the kill the notebook is {:?}, not {:?}: the window was missed",
            status_and_root(&at_kill),
            case.at_kill
        ));
    }
    let mut expected: Vec<(String, String)> = case
        .done_at_kill
        .iter()
        .map(|op| ((*op).to_owned(), "ok".to_owned()))
        .collect();
    expected.push((case.operation.to_owned(), "in-flight".to_owned()));
    if changes_at_kill != expected {
        return Err(format!(
            "the calls at the kill are {changes_at_kill:?}, not {expected:?}"
        ));
    }
    if env.journals().len() != 1 {
        return Err(format!("{} runs journaled, not one", env.journals().len()));
    }

    let output = env.run(&["resume", "--format", "json"]);
    if code(&output) != 0 {
        return Err(format!(
            "resume after a kill {}: {}",
            case.label,
            show(&output)
        ));
    }
    let entry = report_entry(&output, NB);
    if (entry["kind"].as_str(), entry["outcome"].as_str())
        != (Some("notebook-instance"), Some("updated"))
    {
        return Err(format!(
            "resume does not report the notebook updated: {}",
            show(&output)
        ));
    }
    let resumed = changes(&env)[changes_at_kill.len()..].to_vec();
    let after = settled(&env);
    if status_and_root(&after) != ("InService".to_owned(), "Disabled".to_owned()) {
        return Err(format!(
            "after resume the notebook is {:?}, not InService with root access off\n{}",
            status_and_root(&after),
            show(&output)
        ));
    }
    if settings(&after) != settings(&before) {
        return Err(format!(
            "after resume the settings differ:\nbefore {}\nafter  {}",
            settings(&before),
            settings(&after)
        ));
    }
    if env.emulator.notebook_tags(REGION, NB) != tags_before {
        return Err("after resume the tags differ".to_owned());
    }
    let expected: Vec<(String, String)> = case
        .resume_sends
        .iter()
        .map(|op| ((*op).to_owned(), "ok".to_owned()))
        .collect();
    if resumed != expected {
        return Err(format!(
            "resume sent {resumed:?}, not {expected:?} (a step done again, skipped, or a \
             notebook stopped twice)"
        ));
    }

    // A second resume, and resuming the run by id: nothing to do, not one mutating call.
    let mutations = env.mutating_calls().len();
    let output = env.run(&["resume"]);
    if code(&output) != 0 {
        return Err(format!("second resume: {}", show(&output)));
    }
    if env.mutating_calls().len() != mutations {
        return Err(format!(
            "the second resume sent mutating calls: {:?}",
            env.mutating_since(mutations)
        ));
    }
    let run_id = env.journals()[0]
        .0
        .parent()
        .unwrap()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let output = env.run(&["resume", &run_id]);
    if code(&output) != 0 || env.mutating_calls().len() != mutations {
        return Err(format!(
            "resume {run_id} after completion: {} (mutating: {:?})",
            show(&output),
            env.mutating_since(mutations)
        ));
    }
    Ok(format!(
        "{:<40} killed at {:?}; resume sent {:?}",
        case.label,
        status_and_root(&at_kill),
        resumed
    ))
}

#[test]
fn sigkill_at_each_step_of_a_notebook_restart_then_resume_brings_it_back_in_service_with_root_access_off()
 {
    let results: Vec<Result<String, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = CASES
            .iter()
            .map(|case| scope.spawn(move || crash_case(case)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("panicked".to_owned())))
            .collect()
    });
    let mut failures = Vec::new();
    for (case, result) in CASES.iter().zip(&results) {
        match result {
            Ok(line) => println!("{line}"),
            Err(problem) => failures.push(format!("{}: {problem}", case.label)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
