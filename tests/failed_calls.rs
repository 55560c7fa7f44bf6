//! A failed call, whatever the call and however it fails, keeps the invariants of
//! docs/protocol.md: for every call the staged protocol makes, each kind of fault (throttling, a
//! 5xx, a validation error, a dropped connection, an answer lost after the service acted, a lost
//! answer followed by looks that fail) in a matrix of cases; after each case the report matches
//! the live account, nothing is lost, and following the manual action the output names (if any)
//! leaves the account clean.
//!
//! Each case has its own emulator and state directory; cases run a few at a time. The plan is
//! made first without faults and applied from the plan file with the faults set (which resets the
//! emulator's call counters), so `nth` counts only the apply's own calls. Schedules settle at once
//! (`schedule_transition = 0`), so the number of schedule polls, and with it the `nth` of each
//! `DescribeMonitoringSchedule`, is deterministic.

mod support;

use serde_json::{Value, json};
use sm_emulator::FaultRule;
use sm_recreate::kinds::Kind;
use sm_testkit::shell_words;
use std::sync::Mutex;
use support::apply::*;
use support::*;

const NAME: &str = "target";
const TEMP_GLOB: &str = "target-smr*";

/// A call of the protocol: the operation, the name it carries, and from which matching call on
/// it is the one meant (1 = every call of that operation and name). A mutating call also names
/// the look that follows a lost answer to it (`look`: operation, name, nth), so a pair of faults
/// can hit both.
#[derive(Debug, Clone)]
struct Call {
    label: &'static str,
    operation: String,
    name: Option<&'static str>,
    from_nth: u32,
    look: Option<(String, &'static str, u32)>,
}

/// Every call the staged protocol makes for one definition referenced by one schedule, applied
/// from a plan file, in order:
/// step 0: Describe D, ListTags D, ListMonitoringSchedules, DescribeMonitoringSchedule S,
///         Describe T (is the temporary name free?)
/// step 2: Create T; step 3: Describe S, Update S (to T), Describe S (settled?)
/// step 4: Describe D, ListTags D (the re-check); step 5: Delete D; step 6: Create D;
/// step 7: Describe S, Update S (back), Describe S; step 8: Describe D, ListTags D (verify);
/// step 9: Describe T (ours?), Delete T.
fn protocol_calls(kind: Kind) -> Vec<Call> {
    let read = |label, operation: String, name, from_nth| Call {
        label,
        operation,
        name: Some(name),
        from_nth,
        look: None,
    };
    let write = |label, operation: String, name, look: (String, &'static str, u32)| Call {
        label,
        operation,
        name: Some(name),
        from_nth: 1,
        look: Some(look),
    };
    let describe = || op("Describe", kind);
    let schedule = || "DescribeMonitoringSchedule".to_owned();
    let update = || "UpdateMonitoringSchedule".to_owned();
    vec![
        read("describe-original@step0", describe(), NAME, 1),
        read("list-tags@step0", "ListTags".into(), NAME, 1),
        Call {
            label: "list-schedules@step0",
            operation: "ListMonitoringSchedules".into(),
            name: None,
            from_nth: 1,
            look: None,
        },
        read("describe-schedule@step0", schedule(), SCHEDULE, 1),
        read("describe-temporary@free-name", describe(), TEMP_GLOB, 1),
        write(
            "create-temporary",
            op("Create", kind),
            TEMP_GLOB,
            (describe(), TEMP_GLOB, 2),
        ),
        read(
            "describe-schedule@repoint-to-temporary",
            schedule(),
            SCHEDULE,
            2,
        ),
        write(
            "update-schedule-to-temporary",
            update(),
            SCHEDULE,
            (schedule(), SCHEDULE, 3),
        ),
        read(
            "describe-schedule@settle-on-temporary",
            schedule(),
            SCHEDULE,
            3,
        ),
        read("describe-original@recheck", describe(), NAME, 2),
        read("list-tags@recheck", "ListTags".into(), NAME, 2),
        write(
            "delete-original",
            op("Delete", kind),
            NAME,
            (describe(), NAME, 3),
        ),
        write(
            "create-original",
            op("Create", kind),
            NAME,
            (describe(), NAME, 3),
        ),
        read("describe-schedule@repoint-back", schedule(), SCHEDULE, 4),
        write(
            "update-schedule-back",
            update(),
            SCHEDULE,
            (schedule(), SCHEDULE, 5),
        ),
        read("describe-schedule@settle-back", schedule(), SCHEDULE, 5),
        read("describe-original@verify", describe(), NAME, 3),
        read("list-tags@verify", "ListTags".into(), NAME, 3),
        read("describe-temporary@before-delete", describe(), TEMP_GLOB, 2),
        write(
            "delete-temporary",
            op("Delete", kind),
            TEMP_GLOB,
            (describe(), TEMP_GLOB, 3),
        ),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// `ThrottlingException`, on every attempt.
    Throttle,
    /// `InternalFailure` (500), on every attempt.
    ServerError,
    /// `ValidationException`.
    Validation,
    /// The connection dropped, on every attempt.
    Drop,
    /// Performed, then the connection dropped: a lost response, once.
    LostResponse,
    /// A lost response, and every look that follows it throttled (a pair: the outcome of the
    /// call cannot be learnt).
    LostThenBlind,
}

const FAULTS: [Fault; 6] = [
    Fault::Throttle,
    Fault::ServerError,
    Fault::Validation,
    Fault::Drop,
    Fault::LostResponse,
    Fault::LostThenBlind,
];

/// How many consecutive matching calls a "persistent" fault that starts at the nth covers: more
/// than the SDK's two attempts times the protocol's own re-tries of any one call.
const PERSISTENT_SPAN: u32 = 40;

fn rules(fault: Fault, call: &Call) -> Vec<FaultRule> {
    let base = |nth: Option<u32>| {
        let mut rule = match fault {
            Fault::Throttle => error_rule(&call.operation, call.name, "ThrottlingException"),
            Fault::ServerError => error_rule(&call.operation, call.name, "InternalFailure"),
            Fault::Validation => error_rule(&call.operation, call.name, "ValidationException"),
            Fault::Drop | Fault::LostResponse | Fault::LostThenBlind => {
                drop_rule(&call.operation, call.name)
            }
        };
        rule.nth = nth;
        rule
    };
    match fault {
        Fault::LostResponse => vec![FaultRule {
            after: true,
            ..base(Some(call.from_nth))
        }],
        Fault::LostThenBlind => {
            let (operation, name, nth) = call.look.clone().expect("a mutating call");
            let mut rules = vec![FaultRule {
                after: true,
                ..base(Some(call.from_nth))
            }];
            rules.extend((nth..nth + PERSISTENT_SPAN).map(|n| FaultRule {
                nth: Some(n),
                ..error_rule(&operation, Some(name), "ThrottlingException")
            }));
            rules
        }
        _ if call.from_nth == 1 => vec![base(None)],
        // "From the nth matching call on": one rule per count.
        _ => (call.from_nth..call.from_nth + PERSISTENT_SPAN)
            .map(|n| base(Some(n)))
            .collect(),
    }
}

struct Case {
    index: usize,
    fault: Fault,
    call: Call,
    kind: Kind,
    /// The definition is referenced by the schedule `nightly` (else by nothing).
    with_schedule: bool,
}

struct CaseResult {
    line: String,
    violations: Vec<String>,
    status: String,
    exit: i32,
    fired: bool,
}

fn run_case(case: &Case) -> CaseResult {
    let kind = case.kind;
    let seeded = if case.with_schedule {
        referenced_seed(kind, NAME)
    } else {
        seed(
            vec![definition(
                kind,
                noncompliant(kind, NAME, &[("team", "ml"), ("cost-center", "42")]),
            )],
            vec![],
        )
    };
    let env = Env::settled(seeded);
    let before = env.definition(kind, NAME).unwrap();
    let schedule_before = env.emulator.schedule(REGION, SCHEDULE);
    // Where the schedule points (the original's name when there is none).
    let schedule_target = || {
        if case.with_schedule {
            env.schedule_target(SCHEDULE)
        } else {
            NAME.to_owned()
        }
    };
    let tags_before = tag_set(&[("team", "ml"), ("cost-center", "42")]);
    let plan = env.path("plan.json");
    let output = env.run(&["plan", "--out", plan.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code(&output), 0, "plan: {}", show(&output));

    env.emulator
        .set_behaviour(settle_behaviour(rules(case.fault, &case.call)));
    let output = env.run(&[
        "apply",
        plan.to_str().unwrap(),
        "--yes",
        "--format",
        "json",
        "--schedule-timeout",
        "20",
        // Looks that keep failing end in "in doubt" after this long, not 120 s.
        "--patience",
        "2",
    ]);
    let calls = env.calls();
    let injected = match case.fault {
        Fault::Throttle => "ThrottlingException",
        Fault::ServerError => "InternalFailure",
        Fault::Validation => "ValidationException",
        Fault::Drop | Fault::LostResponse | Fault::LostThenBlind => "dropped",
    };
    let fired = calls
        .iter()
        .any(|c| c.operation == case.call.operation && c.outcome == injected);
    let exit = code(&output);
    let text = all_output(&output);
    let mut violations = Vec::new();
    let mut fail = |message: String| violations.push(message);
    env.emulator.set_behaviour(settle_behaviour(vec![]));

    let report: Option<Value> = serde_json::from_slice(&output.stdout).ok();
    let entry = report
        .as_ref()
        .and_then(|r| r["definitions"].as_array().and_then(|d| d.first().cloned()));
    let status = entry
        .as_ref()
        .and_then(|e| e["status"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "no-report".to_owned());

    // The exit code matches the report.
    let expected_exit = match status.as_str() {
        "recreated" => 0,
        // Leftovers are work for `resume`, not a success a script may take as done.
        "recreated-with-leftovers"
        | "rolled-back"
        | "failed-untouched"
        | "changed-since-plan"
        | "changed-during-run"
        | "busy"
        | "failed"
        | "verify-failed"
        | "refused" => 1,
        "rollback-incomplete" | "in-doubt" => 4,
        _ => -100,
    };
    if exit != expected_exit {
        fail(format!("exit {exit} but the report says {status:?}"));
    }

    let compliant = without_creation_time(&with_flag(&before, true));
    let original = without_creation_time(&before);
    let live = env
        .definition(kind, NAME)
        .map(|d| without_creation_time(&d));
    let temps = env.copies(kind, NAME);
    let target = schedule_target();
    let state = match &live {
        Some(l) if *l == compliant => "compliant",
        Some(l) if *l == original => "original",
        Some(_) => "DIFFERENT",
        None => "MISSING",
    };

    // What the outcome promises about the definition.
    match status.as_str() {
        "recreated" | "recreated-with-leftovers" if state != "compliant" => {
            fail(format!("reported {status} but the definition is {state}"));
        }
        "rolled-back" | "failed-untouched" | "changed-since-plan" if state != "original" => {
            fail(format!("reported {status} but the definition is {state}"));
        }
        _ => {}
    }
    if state == "DIFFERENT" {
        fail(format!(
            "the definition is neither the snapshot nor compliant: {live:?}"
        ));
    }
    if state == "MISSING" {
        // Only acceptable when the item stopped for a person (in doubt, or the rollback
        // incomplete) and the schedule runs on a compliant copy meanwhile.
        let copy_ok = temps.iter().any(|t| {
            env.definition(kind, t).map(|d| {
                let mut d = without_creation_time(&d);
                d["JobDefinitionName"] = json!(NAME);
                d.as_object_mut().unwrap().shift_remove("JobDefinitionArn");
                let mut c = compliant.clone();
                c.as_object_mut().unwrap().shift_remove("JobDefinitionArn");
                d == c
            }) == Some(true)
        });
        let stopped = status == "rollback-incomplete" || status == "in-doubt";
        if !stopped || !copy_ok || (case.with_schedule && !temps.contains(&target)) {
            fail(format!(
                "the definition is missing (status {status}, copies {temps:?}, schedule on {target})"
            ));
        }
    }
    if state != "MISSING" && env.tags(kind, NAME) != tags_before {
        fail(format!("tags changed: {:?}", env.tags(kind, NAME)));
    }
    // The schedule points at an existing definition, its configuration otherwise unchanged.
    if let Some(schedule_before) = &schedule_before {
        if env.definition(kind, &target).is_none() {
            fail(format!(
                "the schedule points at {target}, which does not exist"
            ));
        }
        let mut config =
            env.emulator.schedule(REGION, SCHEDULE).unwrap()["MonitoringScheduleConfig"].clone();
        config["MonitoringJobDefinitionName"] = json!(NAME);
        if config != schedule_before["MonitoringScheduleConfig"] {
            fail(format!("the schedule's configuration changed: {config}"));
        }
    }
    // A copy left behind is named in the output.
    for temp in &temps {
        if !text.contains(temp.as_str()) && !text.contains(" resume ") {
            fail(format!(
                "temporary copy {temp} left but not named in the output"
            ));
        }
    }
    if status == "rollback-incomplete" || status == "in-doubt" {
        let manual = entry
            .as_ref()
            .and_then(|e| e["manual"].as_str())
            .unwrap_or_default();
        if !(manual.starts_with("sm-recreate ")
            && (manual.contains(" restore ") || manual.contains(" resume")))
        {
            fail(format!("no restore/resume command named: {manual:?}"));
        }
        if !text.contains(manual) {
            fail("the manual command is not in the output".to_owned());
        }
    }

    // Follow the manual action (the restore or resume command the output names), or resume
    // when a copy was left, and the account must end clean.
    let mut follow_up = String::new();
    let manual: Option<Vec<String>> = match status.as_str() {
        "rollback-incomplete" | "in-doubt" => entry
            .as_ref()
            .and_then(|e| e["manual"].as_str())
            .map(manual_args),
        _ if !temps.is_empty() || target != NAME => Some(vec!["resume".to_owned()]),
        _ => None,
    };
    if let Some(args) = manual {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = env.run(&args);
        follow_up = format!(" -> `{}` exit {}", args.join(" "), code(&output));
        if code(&output) != 0 {
            fail(format!(
                "the manual action `{}` failed: {}",
                args.join(" "),
                show(&output)
            ));
        }
        let live = env
            .definition(kind, NAME)
            .map(|d| without_creation_time(&d));
        if live.as_ref() != Some(&compliant) && live.as_ref() != Some(&original) {
            fail(format!(
                "after the manual action the definition is {live:?}"
            ));
        }
        let left: Vec<String> = env
            .emulator
            .definition_names(REGION, kind)
            .into_iter()
            .filter(|n| n != NAME)
            .collect();
        if !left.is_empty() {
            fail(format!("after the manual action copies remain: {left:?}"));
        }
        if schedule_target() != NAME {
            fail(format!(
                "after the manual action the schedule is on {}",
                schedule_target()
            ));
        }
        if env.tags(kind, NAME) != tags_before {
            fail("after the manual action the tags differ".to_owned());
        }
    }
    let line = format!(
        "{:>3} {:<14} {:<40} {:<22} exit {} ({state}{}){follow_up}",
        case.index,
        format!(
            "{:?}{}",
            case.fault,
            if case.with_schedule {
                ""
            } else {
                " (no schedule)"
            }
        ),
        case.call.label,
        status,
        exit,
        if temps.is_empty() {
            String::new()
        } else {
            format!(", copy {}", temps.join(","))
        },
    );
    if !violations.is_empty() {
        violations.push(show(&output));
    }
    CaseResult {
        line,
        violations,
        status,
        exit,
        fired,
    }
}

#[test]
fn every_fault_on_every_call_keeps_the_invariants() {
    let mut cases = Vec::new();
    for fault in FAULTS {
        // Pairs (a lost answer, then blind looks) also on a definition no schedule references.
        let variants: &[bool] = if fault == Fault::LostThenBlind {
            &[true, false]
        } else {
            &[true]
        };
        for &with_schedule in variants {
            for call in protocol_calls(Kind::DataQuality) {
                let applies = (fault != Fault::LostThenBlind || call.look.is_some())
                    && (with_schedule || call.name != Some(SCHEDULE));
                if !applies {
                    continue;
                }
                let index = cases.len();
                let kind = Kind::ALL[index % 4];
                let call = protocol_calls(kind)
                    .into_iter()
                    .find(|c| c.label == call.label)
                    .unwrap();
                cases.push(Case {
                    index,
                    fault,
                    call,
                    kind,
                    with_schedule,
                });
            }
        }
    }
    let total = cases.len();
    let queue = Mutex::new(cases.into_iter());
    let results = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(2, 4)
        * 2;
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let Some(case) = queue.lock().unwrap().next() else {
                        return;
                    };
                    let result = run_case(&case);
                    results.lock().unwrap().push((case, result));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|(case, _)| case.index);
    println!(
        "fault matrix: {total} cases ({} faults x {} calls)",
        FAULTS.len(),
        total / FAULTS.len()
    );
    for (_, result) in &results {
        println!("{}", result.line);
    }
    let mut problems = Vec::new();
    for (case, result) in &results {
        if !result.fired {
            problems.push(format!(
                "case {} ({:?} on {}): the fault never fired",
                case.index, case.fault, case.call.label
            ));
        }
        for violation in &result.violations {
            problems.push(format!(
                "case {} ({:?} on {}): {violation}",
                case.index, case.fault, case.call.label
            ));
        }
        // Lost responses must be absorbed by the protocol's idempotency: nothing fails.
        if case.fault == Fault::LostResponse && (result.status != "recreated" || result.exit != 0) {
            problems.push(format!(
                "case {} (lost response on {}): expected a clean recreate, got {} exit {}",
                case.index, case.call.label, result.status, result.exit
            ));
        }
        // A fault while reading (step 0) leaves the definition untouched; one on creating the
        // copy is undone (the copy, if any, removed).
        let expected_untouched = if case.call.label.ends_with("@step0")
            || case.call.label == "describe-temporary@free-name"
        {
            Some("failed-untouched")
        } else if case.call.label == "create-temporary" {
            Some("rolled-back")
        } else {
            None
        };
        if let Some(expected) = expected_untouched
            && !matches!(case.fault, Fault::LostResponse | Fault::LostThenBlind)
            && (result.status != expected || result.exit != 1)
        {
            problems.push(format!(
                "case {} ({:?} on {}): expected untouched ({expected}, exit 1), got {} exit {}",
                case.index, case.fault, case.call.label, result.status, result.exit
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n\n")
    );
}

/// The printed manual command as arguments for `Env::run`, which supplies the endpoint and the
/// state directory itself: the command names both, so those two options are dropped here.
fn manual_args(command: &str) -> Vec<String> {
    let mut words = shell_words(command)
        .into_iter()
        .skip_while(|word| word == "sm-recreate");
    let mut args = Vec::new();
    while let Some(word) = words.next() {
        if word == "--state-dir" || word == "--endpoint-url" {
            words.next();
        } else {
            args.push(word);
        }
    }
    args
}
