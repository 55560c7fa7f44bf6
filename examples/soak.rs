//! The randomized fault model at scale (issue 7): thousands of seeded cases, each an emulator
//! (or an organization of two or three accounts) with a few non-compliant definitions, a random
//! fault plan over every operation (some rules aimed at one account), someone else
//! changing things mid-run, a kill at a random point, then resume rounds. See
//! `tests/support/model.rs` for what one case does and checks.
//!
//! ```text
//! cargo build --release && cargo run --release --example soak -- --cases 5000
//! cargo run --release --example soak -- --seed 42          # replay one case, with its log
//! cargo run --release --example soak -- --start 1000 --cases 500 --workers 4
//! cargo run --release --example soak -- --notebooks --cases 300   # the notebook model
//! ```
//!
//! Prints cases, faults injected, kills, someone-else actions, race-window cases (someone's
//! change lost in the one window SageMaker gives no conditional call for) and violations, which
//! must be 0; exits 1 on any violation. The cases that SIGKILL a real process run this example
//! itself as the tool (`--as-sm-recreate`), so nothing else needs building.

#[path = "../tests/support/model.rs"]
mod model;
#[path = "../tests/support/notebook_model.rs"]
mod notebook_model;

use std::path::PathBuf;
use std::time::Instant;

/// The soak runs itself as the tool (`soak --as-sm-recreate ARGS`) for the cases that SIGKILL a
/// real process, so `cargo run --example soak` needs no separate build of the binary.
const AS_TOOL: &str = "--as-sm-recreate";

fn tool() -> (PathBuf, Vec<String>) {
    (
        std::env::current_exe().expect("current exe"),
        vec![AS_TOOL.to_owned()],
    )
}

/// `soak --as-sm-recreate ARGS`: exactly what `sm-recreate ARGS` does.
fn run_as_tool(args: Vec<String>) -> ! {
    use clap::Parser;
    let cli =
        sm_recreate::cli::Cli::parse_from(std::iter::once("sm-recreate".to_owned()).chain(args));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let out = sm_recreate::output::Output::new(&cli.global);
    let code = match runtime.block_on(sm_recreate::commands::run(&out, cli)) {
        Ok(status) => status as i32,
        Err(err) => {
            let failure = sm_recreate::exit::classify(&err);
            out.error(&failure.message, failure.hint.as_deref());
            failure.status as i32
        }
    };
    std::process::exit(code)
}

fn usage() -> ! {
    eprintln!(
        "usage: soak [--notebooks] [--cases N] [--start S] [--seed N] [--workers W] [--sigkill-one-in K] [--keep] [--verbose]"
    );
    std::process::exit(2);
}

/// One case's report as a line of JSON, from a worker to the parent.
fn report_line(report: &model::CaseReport) -> String {
    serde_json::json!({
        "seed": report.seed,
        "definitions": report.definitions,
        "accounts": report.accounts,
        "rounds": report.rounds,
        "faults_injected": report.faults_injected,
        "kills": report.kills,
        "sigkills": report.sigkills,
        "someone_actions": report.someone_actions,
        "race_windows": report.race_windows,
        "violations": report.violations,
        "scratch": report.scratch.as_ref().map(|d| d.display().to_string()),
    })
    .to_string()
}

fn report_from_line(line: &str) -> Option<model::CaseReport> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    let n = |k: &str| v[k].as_u64().unwrap_or(0) as usize;
    Some(model::CaseReport {
        seed: v["seed"].as_u64()?,
        definitions: n("definitions"),
        accounts: n("accounts"),
        rounds: n("rounds"),
        faults_injected: n("faults_injected"),
        kills: n("kills"),
        sigkills: n("sigkills"),
        someone_actions: n("someone_actions"),
        race_windows: n("race_windows"),
        violations: v["violations"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        scratch: v["scratch"].as_str().map(PathBuf::from),
        ..model::CaseReport::default()
    })
}

fn print_report(report: &model::CaseReport) {
    if report.violations.is_empty() {
        return;
    }
    println!(
        "seed {}: {} violation(s) (replay: cargo run --release --example soak -- --seed {}){}",
        report.seed,
        report.violations.len(),
        report.seed,
        report
            .scratch
            .as_ref()
            .map(|d| format!(", files in {}", d.display()))
            .unwrap_or_default()
    );
    for violation in &report.violations {
        println!("  {violation}");
    }
}

fn main() {
    let mut cases: u64 = 200;
    let mut start: u64 = 1;
    let mut single: Option<u64> = None;
    let mut workers: usize = 4;
    let mut sigkill_one_in: u64 = 10;
    let mut keep = false;
    let mut verbose = false;
    let mut results: Option<PathBuf> = None;
    let mut notebooks = false;
    let all: Vec<String> = std::env::args().skip(1).collect();
    if all.first().map(String::as_str) == Some(AS_TOOL) {
        run_as_tool(all[1..].to_vec());
    }
    let mut args = all.into_iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage());
        match arg.as_str() {
            "--cases" => cases = value().parse().unwrap_or_else(|_| usage()),
            "--start" => start = value().parse().unwrap_or_else(|_| usage()),
            "--seed" => single = Some(value().parse().unwrap_or_else(|_| usage())),
            "--workers" => workers = value().parse().unwrap_or_else(|_| usage()),
            "--sigkill-one-in" => sigkill_one_in = value().parse().unwrap_or_else(|_| usage()),
            "--results" => results = Some(PathBuf::from(value())),
            "--keep" => keep = true,
            "--notebooks" => notebooks = true,
            "--verbose" | "-v" => verbose = true,
            _ => usage(),
        }
    }
    let seeds: Vec<u64> = match single {
        Some(seed) => vec![seed],
        None => (start..start + cases).collect(),
    };
    let started = Instant::now();
    if notebooks {
        run_notebook_model(&seeds, workers, single.is_some() || verbose, started);
    }
    let root = std::env::temp_dir().join(format!("smr-soak-{}", std::process::id()));
    let totals = if let Some(results) = results {
        // A worker: the tool runs in this process and writes to stdout and stderr, so the reports
        // go to the results file, one line per case.
        // SAFETY: no other thread exists yet.
        unsafe { model::prepare_process_env(&root) };
        let options = model::Options {
            binary: tool().0,
            binary_args: tool().1,
            sigkill_one_in,
            verbose,
            keep,
        };
        let mut file = std::fs::File::create(&results).expect("results file");
        let totals = model::run_many(&seeds, workers, &root, &options, |report| {
            use std::io::Write;
            let _ = writeln!(file, "{}", report_line(report));
            let _ = file.flush();
        });
        if totals.violations == 0 && !keep {
            let _ = std::fs::remove_dir_all(&root);
        }
        std::process::exit(i32::from(totals.violations > 0));
    } else if single.is_some() {
        // One case, in this process, with its log.
        // SAFETY: no other thread exists yet.
        unsafe { model::prepare_process_env(&root) };
        let options = model::Options {
            binary: tool().0,
            binary_args: tool().1,
            sigkill_one_in,
            verbose: true,
            keep: true,
        };
        model::run_many(&seeds, 1, &root, &options, print_report)
    } else {
        // The parent: one worker process whose own output (the tool's) is discarded.
        std::fs::create_dir_all(&root).expect("scratch dir");
        let results = root.join("results.jsonl");
        let mut command = std::process::Command::new(std::env::current_exe().expect("exe"));
        command
            .args(["--start", &start.to_string(), "--cases", &cases.to_string()])
            .args(["--workers", &workers.to_string()])
            .args(["--sigkill-one-in", &sigkill_one_in.to_string()])
            .arg("--results")
            .arg(&results)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        if keep {
            command.arg("--keep");
        }
        let mut child = command.spawn().expect("start the worker");
        let mut totals = model::Totals::default();
        let mut read = 0usize;
        loop {
            let exited = child.try_wait().expect("wait").is_some();
            let text = std::fs::read_to_string(&results).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            // The last line may be half written while the worker runs.
            let complete = if exited {
                lines.len()
            } else {
                lines.len().saturating_sub(1)
            };
            for line in &lines[read.min(complete)..complete] {
                if let Some(report) = report_from_line(line) {
                    totals.add(&report);
                    print_report(&report);
                    if totals.cases.is_multiple_of(100) {
                        println!(
                            "{}/{} cases, {:.2} cases/s",
                            totals.cases,
                            seeds.len(),
                            totals.cases as f64 / started.elapsed().as_secs_f64()
                        );
                    }
                }
            }
            read = read.max(complete);
            if exited {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
        let _ = std::fs::remove_dir_all(&root);
        totals
    };
    let elapsed = started.elapsed().as_secs_f64();
    println!("{totals}");
    println!(
        "{:.1} s, {:.2} cases/s",
        elapsed,
        totals.cases as f64 / elapsed
    );
    if totals.cases < seeds.len() {
        println!(
            "the worker stopped after {} of {} cases",
            totals.cases,
            seeds.len()
        );
        std::process::exit(1);
    }
    if totals.violations > 0 {
        println!("failing seeds: {:?}", totals.failing_seeds);
        std::process::exit(1);
    }
}

/// `--notebooks`: the notebook model (`tests/support/notebook_model.rs`), in this process (it
/// drives the library, not the binary), `workers` cases at a time; exits 1 on any violation.
fn run_notebook_model(seeds: &[u64], workers: usize, verbose: bool, started: Instant) -> ! {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let totals = std::sync::Mutex::new(notebook_model::NotebookTotals::default());
    std::thread::scope(|scope| {
        for _ in 0..workers.max(1) {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(&seed) = seeds.get(index) else {
                        return;
                    };
                    let report = notebook_model::run_case(seed);
                    if verbose || !report.violations.is_empty() {
                        println!(
                            "seed {seed}: {} violation(s) (replay: cargo run --release --example \
                             soak -- --notebooks --seed {seed})",
                            report.violations.len()
                        );
                        for line in report.violations.iter().chain(&report.log) {
                            println!("  {line}");
                        }
                    }
                    totals.lock().expect("totals").add(&report);
                }
            });
        }
    });
    let totals = totals.into_inner().expect("totals");
    println!("{totals}");
    println!("{:.1} s", started.elapsed().as_secs_f64());
    if totals.violations > 0 {
        println!("failing seeds: {:?}", totals.failing_seeds);
        std::process::exit(1);
    }
    std::process::exit(0)
}
