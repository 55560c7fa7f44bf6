//! Low volume under throttling: the real `sm-recreate apply --yes` on 3 non-compliant definitions
//! against the emulator behind a token-bucket throttle of 20 requests/second (burst 5), no
//! latency, schedules that settle in 50 ms; once without schedules, once with a schedule
//! referencing each definition (the staged recreate moves it to the copy and back). Not a test:
//! it prints figures.
//!
//! ```text
//! cargo run --release --example bench_throttle [-- RUNS]
//! ```
//!
//! The floor: the throttle admits at most `burst` calls at once and `rate` calls a second after
//! that, so the SageMaker calls the run needed (those admitted, `A`; STS is not throttled) take
//! at least `(A - burst) / rate`. A definition's two schedule moves each wait for the schedule to
//! leave `Pending` (50 ms), one after the other: `2 x 50 ms` on its own path, which the token
//! bucket does not shorten. `floor = max((A - burst) / rate, waits)`: a lower bound no client can
//! beat with those calls. The ratio is wall time over it (wall time includes starting the process).
//! Each scenario runs RUNS times (default 3); the median run is reported.
//!
//! Measured 2026-11-30, debug builds, adaptive retries (the default): no schedules 25.7 s against
//! a floor of 2.45 s (10.5×, 54 calls admitted, 9 throttled); a schedule on each 27.4 s against
//! 3.6 s (7.6×). Nearly all of it is the SDK's adaptive limiter: a throttled retry costs it five
//! tokens while its bucket is capped at the low rate it measured, so each waits seconds. With
//! `AWS_RETRY_MODE=standard` the same runs take 2.9 s and 5.2 s (1.2×), but a bulk scan under
//! throttling (`bench_scan`) then fails: its calls run out of attempts and retry quota.
//!
//! Measured 2026-11-30, debug builds, after each client got its own rate limit
//! (`src/sagemaker/pace.rs`, `standard` SDK retries): no schedules 2.39 s against 2.25 s (1.06×,
//! 50 admitted, 15 throttled); a schedule on each 3.50 s against 3.30 s (1.06×).
//!
//! The binary is the one next to this example (`target/<profile>/sm-recreate`, built first by
//! cargo for the same profile); set `SM_RECREATE_BIN` to measure another build.

use serde_json::{Value, json};
use sm_emulator::Throttle;
use sm_emulator::{Behaviour, EmulatorConfig, RecordedCall, Seed, SeedDefinition, SeedSchedule};
use sm_recreate::kinds::Kind;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const DEFINITIONS: usize = 3;
const RATE: f64 = 20.0;
const BURST: u32 = 5;
const TRANSITION: Duration = Duration::from_millis(50);
const REGION: &str = "us-east-1";

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .map_or(3, |n| n.parse().expect("RUNS is a number"));
    let binary = binary();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "{DEFINITIONS} definitions, throttle {RATE} req/s burst {BURST}, no latency, schedules \
         settle in {} ms; median of {runs} runs; binary {}",
        TRANSITION.as_millis(),
        binary.display()
    );
    println!();
    println!(
        "| scenario | wall | admitted | throttled | floor | ratio | target | calls by operation (admitted) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (name, with_schedules) in [("no schedules", false), ("a schedule on each", true)] {
        let mut measured: Vec<Run> = (0..runs)
            .map(|_| run(&runtime, &binary, with_schedules))
            .collect();
        measured.sort_by_key(|r| r.wall);
        let median = &measured[measured.len() / 2];
        let waits = if with_schedules {
            TRANSITION * 2
        } else {
            Duration::ZERO
        };
        let bucket =
            Duration::from_secs_f64(median.admitted.saturating_sub(BURST as usize) as f64 / RATE);
        let floor = bucket.max(waits);
        let ratio = median.wall.as_secs_f64() / floor.as_secs_f64();
        println!(
            "| {name} | {:.2} s (runs: {}) | {} | {} | {:.2} s | {ratio:.2}× | ≤ 1.5× {} | {} |",
            median.wall.as_secs_f64(),
            measured
                .iter()
                .map(|r| format!("{:.2}", r.wall.as_secs_f64()))
                .collect::<Vec<_>>()
                .join(", "),
            median.admitted,
            median.throttled,
            floor.as_secs_f64(),
            if ratio <= 1.5 { "met" } else { "MISSED" },
            by_operation(&median.calls),
        );
    }
}

struct Run {
    wall: Duration,
    /// SageMaker calls served (not throttled): the work the run needed.
    admitted: usize,
    throttled: usize,
    calls: Vec<RecordedCall>,
}

fn run(runtime: &tokio::runtime::Runtime, binary: &Path, with_schedules: bool) -> Run {
    let emulator = runtime
        .block_on(sm_emulator::start(
            EmulatorConfig {
                seed: seed(with_schedules),
                behaviour: Behaviour {
                    throttle: Some(Throttle {
                        rate_per_second: RATE,
                        burst: BURST,
                    }),
                    schedule_transition: TRANSITION,
                    ..Behaviour::default()
                },
            },
            SocketAddr::from(([127, 0, 0, 1], 0)),
        ))
        .expect("start the emulator");
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("empty"), "").expect("write");
    let mut command = Command::new(binary);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("AWS_") {
            command.env_remove(&key);
        }
    }
    command
        .current_dir(dir.path())
        .env("AWS_ACCESS_KEY_ID", "AKIDBENCH")
        .env("AWS_SECRET_ACCESS_KEY", "bench-secret")
        .env("AWS_REGION", REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", dir.path().join("empty"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.path().join("empty"))
        .args([
            "--endpoint-url",
            &emulator.endpoint_url(),
            "--color",
            "never",
        ])
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .args(["-q", "apply", "--yes", "--format", "json"]);
    let started = Instant::now();
    let output = command.output().expect("run sm-recreate");
    let wall = started.elapsed();
    assert!(
        output.status.success(),
        "apply failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON report");
    assert_eq!(
        report["summary"],
        json!({"recreated": DEFINITIONS}),
        "every definition recreated"
    );
    let calls: Vec<RecordedCall> = emulator
        .calls()
        .into_iter()
        .filter(|c| c.operation != "GetCallerIdentity")
        .collect();
    runtime.block_on(emulator.shutdown());
    let throttled = calls
        .iter()
        .filter(|c| c.outcome == "ThrottlingException")
        .count();
    Run {
        wall,
        admitted: calls.len() - throttled,
        throttled,
        calls,
    }
}

/// Admitted calls per operation.
fn by_operation(calls: &[RecordedCall]) -> String {
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for call in calls.iter().filter(|c| c.outcome != "ThrottlingException") {
        *counts.entry(call.operation.as_str()).or_default() += 1;
    }
    counts
        .iter()
        .map(|(op, n)| format!("{op} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Three data-quality definitions with encryption off and two tags each; with `with_schedules`,
/// an hourly schedule on each.
fn seed(with_schedules: bool) -> Seed {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/maximal/data-quality.json");
    let template: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON");
    let kind = Kind::DataQuality;
    let mut definitions = Vec::new();
    let mut schedules = Vec::new();
    for i in 0..DEFINITIONS {
        let name = format!("throttled-{i}");
        let mut request = template.clone();
        request["JobDefinitionName"] = json!(name);
        request["NetworkConfig"]["EnableInterContainerTrafficEncryption"] = json!(false);
        request["Tags"] =
            json!([{"Key": "team", "Value": "ml"}, {"Key": "index", "Value": i.to_string()}]);
        definitions.push(SeedDefinition {
            account_id: None,
            kind,
            region: REGION.to_owned(),
            request,
        });
        if with_schedules {
            schedules.push(SeedSchedule {
                account_id: None,
                region: REGION.to_owned(),
                request: json!({
                    "MonitoringScheduleName": format!("{name}-hourly"),
                    "MonitoringScheduleConfig": {
                        "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
                        "MonitoringJobDefinitionName": name,
                        "MonitoringType": kind.monitoring_type(),
                    },
                }),
                status: None,
                last_monitoring_execution_summary: None,
            });
        }
    }
    Seed {
        definitions,
        schedules,
        ..Seed::default()
    }
}

/// `SM_RECREATE_BIN`, or the binary of this example's profile.
fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("SM_RECREATE_BIN") {
        return PathBuf::from(path);
    }
    // target/<profile>/examples/bench_throttle -> target/<profile>/sm-recreate
    let exe = std::env::current_exe().expect("current exe");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("examples live in target/<profile>/examples");
    let binary = profile_dir.join("sm-recreate");
    assert!(
        binary.is_file(),
        "{} not found: run `cargo build --workspace` for the same profile first",
        binary.display()
    );
    binary
}
