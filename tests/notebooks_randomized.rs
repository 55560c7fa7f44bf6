//! The randomized fault model for notebook instances over a fixed set of seeds: faults on every
//! notebook call (answers lost after the call acted, connections dropped before it, errors,
//! throttles), someone else starting, stopping or tagging a notebook mid-run, kills, then resume
//! rounds. See `tests/support/notebook_model.rs`.
//!
//! `SMR_NOTEBOOK_SEEDS=N` runs seeds 1..=N instead of the default 40; `cargo run --release
//! --example soak -- --notebooks --cases N` runs it at length.

mod support;

use support::notebook_model::{NotebookTotals, run_case};

#[test]
fn the_notebook_fault_model_finds_no_violation_over_the_fixed_seeds() {
    let seeds: u64 = std::env::var("SMR_NOTEBOOK_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let mut totals = NotebookTotals::default();
    let mut failures = Vec::new();
    for seed in 1..=seeds {
        let report = run_case(seed);
        totals.add(&report);
        if !report.violations.is_empty() {
            failures.push(format!(
                "seed {seed}: {}\n  log:\n    {}",
                report.violations.join("; "),
                report.log.join("\n    ")
            ));
        }
    }
    println!("{totals}");
    assert!(totals.violations == 0, "{}", failures.join("\n"));
}
