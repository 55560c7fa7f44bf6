//! The randomized fault model (issues 7 and 9) over a fixed set of seeds: definitions and inline
//! schedules with random flags, random `--fix` selections, faults on every operation, answers
//! lost after the service acted, someone else changing things mid-run, kills (in-process and
//! SIGKILL of the binary), then resume rounds; about two cases in five run as an organization
//! (two or three accounts sharing names, `--org` or `--account`). See `tests/support/model.rs`.
//!
//! `SMR_MODEL_SEEDS=N` runs seeds 1..=N instead of the default 100; `SMR_MODEL_WORKERS` sets how
//! many cases run at once (default 4). A failing seed prints the command that replays it.

mod support;

use std::path::PathBuf;
use support::model;

const DEFAULT_SEEDS: u64 = 100;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn the_fault_model_finds_no_violation_over_the_fixed_seeds() {
    let root = tempfile::tempdir().expect("scratch");
    // SAFETY: this test binary has this one test; no other thread exists yet.
    unsafe { model::prepare_process_env(root.path()) };
    let seeds: Vec<u64> = (1..=env_number("SMR_MODEL_SEEDS", DEFAULT_SEEDS)).collect();
    let options = model::Options {
        binary: PathBuf::from(env!("CARGO_BIN_EXE_sm-recreate")),
        binary_args: Vec::new(),
        sigkill_one_in: 10,
        verbose: false,
        keep: false,
    };
    let workers = env_number("SMR_MODEL_WORKERS", 4) as usize;
    let started = std::time::Instant::now();
    let mut failures = Vec::new();
    let totals = model::run_many(&seeds, workers, root.path(), &options, |report| {
        if !report.violations.is_empty() {
            failures.push(format!(
                "seed {} ({} violation(s)); replay: cargo run --release --example soak -- --seed {}\n  {}",
                report.seed,
                report.violations.len(),
                report.seed,
                report.violations.join("\n  ")
            ));
        }
    });
    println!("{totals} in {:.1} s", started.elapsed().as_secs_f64());
    assert!(
        totals.violations == 0,
        "{} of {} seeds violate the invariants:\n{}",
        totals.failing_seeds.len(),
        totals.cases,
        failures.join("\n")
    );
}
