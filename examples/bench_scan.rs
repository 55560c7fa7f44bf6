//! Scan benchmark: the real `sm-recreate scan` binary against the emulator seeded with 1,000
//! definitions, measured against the floor the API imposes. Not a test: it prints figures.
//!
//! ```text
//! cargo run --release --example bench_scan [-- DEFINITIONS]
//! ```
//!
//! Two scenarios:
//! 1. every call takes 50 ms; the floor is `ceil(calls / concurrency) × 50 ms` at the default
//!    concurrency (16), where `calls` is what the emulator received;
//! 2. a token-bucket throttle of 20 requests/second (burst 20), no latency; the floor is
//!    `calls / 20 s`, counting only the calls admitted (the work), and nothing may fail.
//!
//! Peak memory is the child's maximum resident set size, from `/usr/bin/time -v` when installed,
//! otherwise sampled from `/proc/<pid>/status` (`VmHWM`).
//! The binary is built first (`cargo build --release --bin sm-recreate`); set `SM_RECREATE_BIN`
//! to measure another build.

use serde_json::{Value, json};
use sm_emulator::{Behaviour, EmulatorConfig, RecordedCall, Seed, SeedDefinition, Throttle};
use sm_recreate::kinds::Kind;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const LATENCY: Duration = Duration::from_millis(50);
const DEFAULT_CONCURRENCY: usize = 16;
const THROTTLE_RATE: f64 = 20.0;
const THROTTLE_BURST: u32 = 20;
const REGION: &str = "us-east-1";

fn main() {
    let definitions: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse().expect("DEFINITIONS is a number"))
        .unwrap_or(1000);
    let binary = binary();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let seed = bench_seed(definitions);
    println!(
        "scan benchmark: {definitions} definitions across the four kinds, binary {}",
        binary.display()
    );

    let latency = run_scenario(
        &runtime,
        &binary,
        &seed,
        Behaviour {
            latency: LATENCY,
            ..Behaviour::default()
        },
    );
    let latency_floor =
        LATENCY.mul_f64((latency.admitted as f64 / DEFAULT_CONCURRENCY as f64).ceil());

    let throttled = run_scenario(
        &runtime,
        &binary,
        &seed,
        Behaviour {
            throttle: Some(Throttle {
                rate_per_second: THROTTLE_RATE,
                burst: THROTTLE_BURST,
            }),
            ..Behaviour::default()
        },
    );
    let throttle_floor = Duration::from_secs_f64(throttled.admitted as f64 / THROTTLE_RATE);

    println!();
    println!(
        "| scenario | calls (admitted) | throttled | wall | floor | ratio | target | found | problems | peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for (name, run, floor, target) in [
        ("50 ms/call, concurrency 16", &latency, latency_floor, 1.25),
        (
            "20 req/s throttle (burst 20)",
            &throttled,
            throttle_floor,
            1.2,
        ),
    ] {
        let ratio = run.wall.as_secs_f64() / floor.as_secs_f64();
        println!(
            "| {name} | {} | {} | {:.2} s | {:.2} s | {ratio:.3}× | ≤ {target}× {} | {} / {definitions} | {} | {} |",
            run.admitted,
            run.throttled,
            run.wall.as_secs_f64(),
            floor.as_secs_f64(),
            if ratio <= target { "met" } else { "MISSED" },
            run.found,
            run.problems,
            run.peak_rss_kib.map_or_else(
                || "n/a".to_owned(),
                |k| format!("{:.1} MiB", k as f64 / 1024.0)
            ),
        );
    }
    println!();
    // Strict evaluation: every third definition has the flag on (see `bench_seed`).
    let failing = definitions - definitions.div_ceil(3);
    println!(
        "calls by operation (latency scenario): {} (ListTags only for the {failing} failing \
         definitions: a compliant one costs its describe alone)",
        by_operation(&latency.calls)
    );
    println!(
        "calls by operation (throttle scenario, all attempts): {}",
        by_operation(&throttled.calls)
    );
}

struct Run {
    wall: Duration,
    /// Calls the emulator served (not throttled): the work the scan needed.
    admitted: usize,
    throttled: usize,
    found: usize,
    problems: usize,
    peak_rss_kib: Option<u64>,
    calls: Vec<RecordedCall>,
}

fn run_scenario(
    runtime: &tokio::runtime::Runtime,
    binary: &Path,
    seed: &Seed,
    behaviour: Behaviour,
) -> Run {
    let emulator = runtime
        .block_on(sm_emulator::start(
            EmulatorConfig {
                seed: seed.clone(),
                behaviour,
            },
            SocketAddr::from(([127, 0, 0, 1], 0)),
        ))
        .expect("start the emulator");
    let workdir = tempfile::tempdir().expect("temp dir");
    for file in ["aws-config", "aws-credentials"] {
        std::fs::write(workdir.path().join(file), "").expect("write");
    }
    let time_v = Path::new("/usr/bin/time");
    let mut command = if time_v.exists() {
        let mut command = Command::new(time_v);
        command.arg("-v").arg(binary);
        command
    } else {
        Command::new(binary)
    };
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("AWS_") {
            command.env_remove(&key);
        }
    }
    command
        .current_dir(workdir.path())
        .env("AWS_ACCESS_KEY_ID", "AKIDBENCH")
        .env("AWS_SECRET_ACCESS_KEY", "bench-secret")
        .env("AWS_REGION", REGION)
        .env("AWS_CONFIG_FILE", workdir.path().join("aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            workdir.path().join("aws-credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args([
            "--endpoint-url",
            &emulator.endpoint_url(),
            "scan",
            "--format",
            "json",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());

    let started = Instant::now();
    let child = command.spawn().expect("start sm-recreate");
    let pid = child.id();
    let sampler = (!time_v.exists()).then(|| std::thread::spawn(move || sample_vm_hwm(pid)));
    let output = child.wait_with_output().expect("wait for sm-recreate");
    let wall = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "scan failed: {stderr}");
    let peak_rss_kib = match sampler {
        Some(sampler) => sampler.join().ok().flatten(),
        None => stderr
            .lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix("Maximum resident set size (kbytes): ")
            })
            .and_then(|v| v.trim().parse().ok()),
    };
    let report: Value = serde_json::from_slice(&output.stdout).expect("scan prints JSON");
    let calls = emulator.calls();
    let throttled = calls
        .iter()
        .filter(|c| c.outcome == "ThrottlingException")
        .count();
    let failed: Vec<&RecordedCall> = calls
        .iter()
        .filter(|c| c.outcome != "ok" && c.outcome != "ThrottlingException")
        .collect();
    assert!(
        failed.is_empty(),
        "calls failed for other reasons: {failed:?}"
    );
    runtime.block_on(emulator.shutdown());
    Run {
        wall,
        admitted: calls.len() - throttled,
        throttled,
        found: report["definitions"].as_array().map_or(0, Vec::len),
        problems: report["problems"].as_array().map_or(0, Vec::len),
        peak_rss_kib,
        calls,
    }
}

/// Polls `/proc/<pid>/status` until the process is gone; returns the last `VmHWM` seen.
fn sample_vm_hwm(pid: u32) -> Option<u64> {
    let path = format!("/proc/{pid}/status");
    let mut peak = None;
    while let Ok(status) = std::fs::read_to_string(&path) {
        if let Some(kib) = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak = Some(kib);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    peak
}

fn by_operation(calls: &[RecordedCall]) -> String {
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for call in calls {
        *counts.entry(call.operation.as_str()).or_default() += 1;
    }
    counts
        .iter()
        .map(|(op, n)| format!("{op} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `count` definitions, a quarter per kind, with full bodies (the maximal fixtures), a mix of
/// compliance, and tags on two thirds of them.
fn bench_seed(count: usize) -> Seed {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/maximal");
    let templates: Vec<(Kind, Value)> = Kind::ALL
        .iter()
        .map(|&kind| {
            let path = fixtures.join(format!("{}.json", kind.cli_name()));
            let text = std::fs::read_to_string(&path).expect("maximal fixture");
            (kind, serde_json::from_str(&text).expect("fixture JSON"))
        })
        .collect();
    let definitions = (0..count)
        .map(|i| {
            let (kind, template) = &templates[i % templates.len()];
            let mut request = template.clone();
            request["JobDefinitionName"] = json!(format!("bench-{}-{i:04}", kind.cli_name()));
            request["NetworkConfig"]["EnableInterContainerTrafficEncryption"] = json!(i % 3 == 0);
            request["JobResources"]["ClusterConfig"]["InstanceCount"] = json!(1 + i % 2);
            request["Tags"] = match i % 3 {
                0 => json!([]),
                1 => json!([{"Key": "team", "Value": "ml"}, {"Key": "cost-center", "Value": format!("cc-{i}")}]),
                _ => json!([
                    {"Key": "team", "Value": "platform"},
                    {"Key": "aws:cloudformation:stack-name", "Value": format!("stack-{}", i % 17)},
                    {"Key": "aws:cloudformation:logical-id", "Value": "MonitorJob"},
                ]),
            };
            SeedDefinition {
                account_id: None,
                kind: *kind,
                region: REGION.to_owned(),
                request,
            }
        })
        .collect();
    Seed {
        definitions,
        ..Seed::default()
    }
}

/// The release binary next to this example, built first; or `SM_RECREATE_BIN`.
fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("SM_RECREATE_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("current exe");
    // target/<profile>/examples/bench_scan -> target/<profile>/sm-recreate
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("examples live in target/<profile>/examples");
    let release = profile_dir.file_name().is_some_and(|n| n == "release");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .args(["build", "--quiet", "--bin", "sm-recreate"])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if release {
        build.arg("--release");
    } else {
        eprintln!("warning: not a release build; run `cargo run --release --example bench_scan`");
    }
    let status = build.status().expect("run cargo build");
    assert!(status.success(), "cargo build --bin sm-recreate failed");
    profile_dir.join("sm-recreate")
}
