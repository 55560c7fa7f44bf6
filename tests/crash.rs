//! Crashes: SIGKILL the apply at each step of the staged protocol, then `resume` must reach the
//! same end state as an uninterrupted run (compliant, verified, the schedule back on the original,
//! no temporary copy), and a second `resume` must change nothing.
//!
//! The apply is held at a chosen call by an emulator fault with a long delay: the request reaches
//! the emulator and hangs there, the test sees it `in-flight` in `emulator.calls()` and kills the
//! process. The rules also drop the connection when the delay ends, so the held call is never
//! performed, even though the killed client cannot cancel it. Two families of cases:
//! - "during X": held on X itself, before X acts (the journal says X started; AWS did not act);
//! - "after X": held on the call following X, so X completed and was journaled (or not: the
//!   process may die between AWS answering and the journal write; resume must not care).
//!
//! - "performed X": X is performed by the emulator and then held before its answer (a rule with
//!   `after: true` waits between the operation and the answer), so AWS acted but the tool never
//!   heard of it: the journal says X started, and resume must find out from the live state.

mod support;

use serde_json::Value;
use sm_emulator::FaultRule;
use sm_recreate::kinds::Kind;
use support::apply::*;
use support::*;

const NAME: &str = "target";
const TEMP_GLOB: &str = "target-smr*";

struct Hold {
    label: &'static str,
    operation: String,
    name: &'static str,
    nth: Option<u32>,
    /// Perform the call, then hold its answer (instead of holding it before it acts).
    performed: bool,
}

/// The calls to hold, in protocol order (schedules settle at once, so the schedule describes
/// are numbered deterministically: 1 step 0, 2 before the update to the copy, 3 after it,
/// 4 before the update back, 5 after it).
fn holds(kind: Kind) -> Vec<Hold> {
    let hold = |label, operation: String, name, nth| Hold {
        label,
        operation,
        name,
        nth,
        performed: false,
    };
    let performed = |label, operation: String, name, nth| Hold {
        label,
        operation,
        name,
        nth,
        performed: true,
    };
    let update = || "UpdateMonitoringSchedule".to_owned();
    let describe_schedule = || "DescribeMonitoringSchedule".to_owned();
    vec![
        hold(
            "during create-temporary",
            op("Create", kind),
            TEMP_GLOB,
            None,
        ),
        hold(
            "after create-temporary",
            describe_schedule(),
            SCHEDULE,
            Some(2),
        ),
        hold(
            "during update-schedule-to-temporary",
            update(),
            SCHEDULE,
            Some(1),
        ),
        hold(
            "after update-schedule-to-temporary",
            describe_schedule(),
            SCHEDULE,
            Some(3),
        ),
        hold("during delete-original", op("Delete", kind), NAME, None),
        // After delete-original the next call is create-original: "during create-original" is
        // that state.
        hold("during create-original", op("Create", kind), NAME, None),
        hold(
            "after create-original",
            describe_schedule(),
            SCHEDULE,
            Some(4),
        ),
        hold("during update-schedule-back", update(), SCHEDULE, Some(2)),
        hold(
            "after update-schedule-back",
            describe_schedule(),
            SCHEDULE,
            Some(5),
        ),
        hold(
            "during delete-temporary",
            op("Delete", kind),
            TEMP_GLOB,
            None,
        ),
        // The verify describe (which may overlap the deletion of the copy).
        hold("during verify", op("Describe", kind), NAME, Some(2)),
        // Performed, but the answer never reached the tool before it died.
        performed(
            "performed create-temporary",
            op("Create", kind),
            TEMP_GLOB,
            None,
        ),
        performed(
            "performed update-schedule-to-temporary",
            update(),
            SCHEDULE,
            Some(1),
        ),
        performed("performed delete-original", op("Delete", kind), NAME, None),
        performed("performed create-original", op("Create", kind), NAME, None),
        performed(
            "performed update-schedule-back",
            update(),
            SCHEDULE,
            Some(2),
        ),
        performed(
            "performed delete-temporary",
            op("Delete", kind),
            TEMP_GLOB,
            None,
        ),
    ]
}

fn crash_case(index: usize, hold: &Hold, kind: Kind) -> Result<String, String> {
    let env = Env::settled(referenced_seed(kind, NAME));
    let before = env.definition(kind, NAME).unwrap();
    let plan = env.path("plan.json");
    let output = env.run(&["plan", "--out", plan.to_str().unwrap()]);
    if code(&output) != 0 {
        return Err(format!("plan failed: {}", show(&output)));
    }
    env.emulator.set_behaviour(settle_behaviour(vec![FaultRule {
        nth: hold.nth,
        delay_ms: Some(600_000),
        drop_connection: true,
        after: hold.performed,
        ..drop_rule(&hold.operation, Some(hold.name))
    }]));
    let mut run = env.spawn(
        &env.state_dir(),
        &["apply", plan.to_str().unwrap(), "--yes"],
    );
    let held = run.until_held(&env, &hold.operation, hold.name);
    run.kill();
    if let Err(why) = held {
        return Err(format!("the apply never reached {}: {why}", hold.label));
    }
    let mutations_before_resume = env.mutating_calls();
    env.emulator.set_behaviour(settle_behaviour(vec![]));
    let state_after_kill = format!(
        "original {}, copies {:?}, schedule on {}",
        env.definition(kind, NAME)
            .map_or("missing".to_owned(), |d| format!("flag {:?}", flag_of(&d))),
        env.emulator
            .definition_names(REGION, kind)
            .into_iter()
            .filter(|n| n != NAME)
            .collect::<Vec<_>>(),
        env.schedule_target(SCHEDULE)
    );

    let output = env.run(&["resume"]);
    if code(&output) != 0 {
        return Err(format!(
            "resume after a kill {}: {}",
            hold.label,
            show(&output)
        ));
    }
    // The same end state as an uninterrupted run.
    let (_, snapshot) = env.snapshot_of(NAME);
    if snapshot["describe"] != before {
        return Err("the snapshot is not the original describe".to_owned());
    }
    let live = env
        .definition(kind, NAME)
        .ok_or("the definition is missing after resume")?;
    if without_creation_time(&live) != without_creation_time(&with_flag(&before, true)) {
        return Err(format!(
            "after resume the definition is not compliant-as-snapshot: {live}"
        ));
    }
    if env.tags(kind, NAME) != tags_of(&snapshot) {
        return Err("after resume the tags differ".to_owned());
    }
    if env.schedule_target(SCHEDULE) != NAME {
        return Err(format!(
            "after resume the schedule is on {}",
            env.schedule_target(SCHEDULE)
        ));
    }
    let names = env.emulator.definition_names(REGION, kind);
    if names != vec![NAME.to_owned()] {
        return Err(format!("after resume the definitions are {names:?}"));
    }
    // A second resume: nothing to do, not one mutating call.
    let mutations = env.mutating_calls().len();
    let output = env.run(&["resume"]);
    if code(&output) != 0 {
        return Err(format!("second resume: {}", show(&output)));
    }
    if env.mutating_calls().len() != mutations {
        return Err(format!(
            "the second resume sent mutating calls: {:?}",
            &env.mutating_calls()[mutations..]
        ));
    }
    // Also resuming the run by id is harmless.
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
            "resume {run_id} after completion: {}",
            show(&output)
        ));
    }
    Ok(format!(
        "{index:>2} {:<40} killed with {} mutating call(s) done ({state_after_kill}); resume: {} mutating call(s)",
        hold.label,
        mutations_before_resume
            .iter()
            .filter(|c| c.outcome == "ok")
            .count(),
        mutations - mutations_before_resume.len(),
    ))
}

#[test]
fn sigkill_at_every_step_then_resume_finishes_and_a_second_resume_is_a_no_op() {
    let cases: Vec<(usize, Hold, Kind)> = holds(Kind::DataQuality)
        .into_iter()
        .enumerate()
        .map(|(i, h)| {
            let kind = Kind::ALL[i % 4];
            let hold = holds(kind).into_iter().nth(i).unwrap();
            let _ = h;
            (i, hold, kind)
        })
        .collect();
    let total = cases.len();
    let results: Vec<(usize, Result<String, String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = cases
            .iter()
            .map(|(i, hold, kind)| (*i, scope.spawn(move || crash_case(*i, hold, *kind))))
            .collect();
        handles
            .into_iter()
            .map(|(i, h)| (i, h.join().unwrap_or_else(|_| Err("panicked".to_owned()))))
            .collect()
    });
    println!("crash cases: {total}");
    let mut failures = Vec::new();
    for (i, result) in &results {
        match result {
            Ok(line) => println!("{line}"),
            Err(problem) => failures.push(format!("case {i} ({}): {problem}", cases[*i].1.label)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A run left unfinished by an earlier sm-recreate, whose journal items carry no account (as 0.1
/// and the versions before the one resource identity wrote them): `resume` still matches the
/// in-flight definition with its snapshot and progress, finishes it, and a second `resume` sends
/// no mutating call. (A mismatch would treat it as never started: "missing", the copy left and
/// the original gone.)
#[test]
fn a_journal_whose_items_carry_no_account_still_resumes_in_flight_work() {
    let name = "churn-model-bias";
    let kind = Kind::ModelBias;
    let env = Env::demo(&[name], creates_refused(kind, name));
    let output = env.run(&["apply", "--yes", "--name", name]);
    assert_eq!(code(&output), 4, "{}", show(&output));
    let (journal, _) = env.journals().into_iter().next().expect("one run");
    let old_shape: String = std::fs::read_to_string(&journal)
        .unwrap()
        .lines()
        .map(|line| {
            let mut record: Value = serde_json::from_str(line).unwrap();
            if let Some(item) = record.get_mut("item").and_then(Value::as_object_mut) {
                item.remove("account_id");
            }
            if let Some(items) = record.get_mut("items").and_then(Value::as_array_mut) {
                for planned in items {
                    planned["item"]
                        .as_object_mut()
                        .unwrap()
                        .remove("account_id");
                }
            }
            format!("{record}\n")
        })
        .collect();
    assert!(
        !old_shape.contains("\"item\":{\"account_id\""),
        "every item account removed"
    );
    std::fs::write(&journal, old_shape).unwrap();
    env.clear_faults();

    let output = env.run(&["resume", "--format", "json"]);
    let text = show(&output);
    assert_eq!(code(&output), 0, "{text}");
    assert_eq!(
        stdout_json(&output)["definitions"][0]["status"],
        "recreated",
        "{text}"
    );
    let live = env.definition(kind, name).expect("recreated");
    assert_eq!(flag_of(&live), Some(true));
    assert_eq!(env.copies(kind, name), Vec::<String>::new());
    let before = env.mutating_calls().len();
    let output = env.run(&["resume"]);
    assert_eq!(code(&output), 0, "{}", show(&output));
    assert_eq!(env.mutating_since(before), Vec::<String>::new());
}
