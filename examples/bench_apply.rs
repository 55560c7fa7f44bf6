//! Wall time of `sm-recreate apply --yes` on 1,000 non-compliant definitions (250 of each kind,
//! three tags each, no schedules) against the emulator with 50 ms latency on every call, compared
//! with the floor that latency imposes.
//!
//! ```text
//! cargo build --release && cargo run --release --example bench_apply [-- DEFINITIONS [CONCURRENCY...]]
//! ```
//!
//! The release binary is found next to this example's directory (`target/release/sm-recreate`);
//! set `SM_RECREATE_BIN` to measure another build.
//!
//! The floor: every call costs at least the injected latency, calls of one definition that depend
//! on each other cannot overlap, and at most `concurrency` definitions are in flight, so
//! `floor = ceil(N / concurrency) x rounds x latency + scan floor`, where `rounds` is the number
//! of sequential rounds of calls per definition (calls that the protocol overlaps count once) and
//! the scan floor is `(STS calls + list pages of one kind + ceil(2N / concurrency) + 1) x latency`
//! (every definition fails, so each is described and its tags listed, both under the same bound;
//! the four kinds are listed at once; the last tags listing follows its describe).

use serde_json::{Value, json};
use sm_emulator::{Behaviour, EmulatorConfig, Seed, SeedDefinition};
use sm_recreate::kinds::Kind;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const LATENCY: Duration = Duration::from_millis(50);
/// The adapter lists definitions 100 per page.
const PAGE: usize = 100;

/// Sequential rounds of calls per unreferenced definition in the staged protocol
/// (src/apply/mod.rs `prepare`, src/apply/protocol/forward.rs `staged`/`finish_from_recreated`):
/// 1. Describe D | ListMonitoringSchedules | Describe T (is the temporary name free?)
/// 2. ListTags D (needs the ARN from 1)
/// 3. Create T   4. Describe D + ListTags D (the re-check before the delete)
/// 5. Delete D   6. Create D
/// 7. Describe D + ListTags D (verify) | Describe T (is the copy ours?)
/// 8. Delete T (only once verified)
const ROUNDS_PER_DEFINITION: usize = 8;

fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("SM_RECREATE_BIN") {
        return PathBuf::from(path);
    }
    // target/release/examples/bench_apply -> target/release/sm-recreate
    let exe = std::env::current_exe().expect("current exe");
    let release = exe
        .parent()
        .and_then(Path::parent)
        .expect("examples dir has a parent");
    let binary = release.join("sm-recreate");
    assert!(
        binary.is_file(),
        "{} not found: run `cargo build --release` first",
        binary.display()
    );
    binary
}

fn maximal(kind: Kind) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/maximal")
        .join(format!("{}.json", kind.cli_name()));
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("fixture JSON")
}

fn seed(definitions: usize) -> Seed {
    let mut seeded = Vec::with_capacity(definitions);
    for i in 0..definitions {
        let kind = Kind::ALL[i % 4];
        let mut request = maximal(kind);
        request["JobDefinitionName"] = json!(format!("bench-{}-{i:04}", kind.cli_name()));
        request["NetworkConfig"]["EnableInterContainerTrafficEncryption"] = json!(false);
        request["Tags"] = json!([
            {"Key": "team", "Value": "ml"},
            {"Key": "index", "Value": i.to_string()},
            {"Key": "bench", "Value": "apply"},
        ]);
        seeded.push(SeedDefinition {
            account_id: None,
            kind,
            region: "us-east-1".to_owned(),
            request,
        });
    }
    Seed {
        definitions: seeded,
        ..Seed::default()
    }
}

struct Measured {
    wall: Duration,
    calls: usize,
    calls_per_definition: f64,
    sts_calls: usize,
    /// `ListMonitoringSchedules` carries no definition name; counted apart.
    schedule_listings: usize,
    summary: Value,
}

fn run(
    runtime: &tokio::runtime::Runtime,
    definitions: usize,
    args: &[&str],
    concurrency: usize,
) -> Measured {
    let emulator = runtime
        .block_on(sm_emulator::start(
            EmulatorConfig {
                seed: seed(definitions),
                behaviour: Behaviour {
                    latency: LATENCY,
                    ..Behaviour::default()
                },
            },
            SocketAddr::from(([127, 0, 0, 1], 0)),
        ))
        .expect("start the emulator");
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("empty"), "").expect("write");
    let mut command = std::process::Command::new(binary());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("AWS_") {
            command.env_remove(&key);
        }
    }
    command
        .current_dir(dir.path())
        .env("AWS_ACCESS_KEY_ID", "AKIDTEST")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", dir.path().join("empty"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.path().join("empty"))
        .args([
            "--endpoint-url",
            &emulator.endpoint_url(),
            "--color",
            "never",
            "-q",
        ])
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .args(args)
        .args(["--concurrency", &concurrency.to_string()]);
    let started = Instant::now();
    let output = command.output().expect("run sm-recreate");
    let wall = started.elapsed();
    assert!(
        output.status.success(),
        "{args:?} failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON report");
    let calls = emulator.calls();
    let mut per_name: BTreeMap<String, usize> = BTreeMap::new();
    for call in &calls {
        if let Some(name) = &call.name {
            // The temporary copy `<name>-smrXXXXXX` counts for its definition.
            let owner = name.split("-smr").next().unwrap_or(name).to_owned();
            *per_name.entry(owner).or_default() += 1;
        }
    }
    let sts_calls = calls
        .iter()
        .filter(|c| c.operation == "GetCallerIdentity")
        .count();
    let schedule_listings = calls
        .iter()
        .filter(|c| c.operation == "ListMonitoringSchedules")
        .count();
    runtime.block_on(emulator.shutdown());
    Measured {
        wall,
        calls: calls.len(),
        calls_per_definition: per_name.values().sum::<usize>() as f64
            / per_name.len().max(1) as f64,
        sts_calls,
        schedule_listings,
        summary: report.get("summary").cloned().unwrap_or(Value::Null),
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let definitions: usize = args
        .next()
        .map_or(1000, |a| a.parse().expect("DEFINITIONS"));
    let mut concurrencies: Vec<usize> = args.map(|a| a.parse().expect("CONCURRENCY")).collect();
    if concurrencies.is_empty() {
        concurrencies = vec![16, 64];
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let latency = LATENCY.as_secs_f64();
    println!(
        "{definitions} definitions, {} ms latency per call, binary {}",
        LATENCY.as_millis(),
        binary().display()
    );
    for concurrency in concurrencies {
        let scan = run(
            &runtime,
            definitions,
            &["scan", "--format", "json"],
            concurrency,
        );
        let apply = run(
            &runtime,
            definitions,
            &["apply", "--yes", "--format", "json"],
            concurrency,
        );
        let pages = (definitions / 4).div_ceil(PAGE).max(1);
        let scan_floor =
            (scan.sts_calls + pages + (2 * definitions).div_ceil(concurrency) + 1) as f64 * latency;
        let apply_calls_per_definition = apply.calls_per_definition - scan.calls_per_definition
            + (apply.schedule_listings - scan.schedule_listings) as f64 / definitions as f64;
        let protocol_floor =
            definitions.div_ceil(concurrency) as f64 * ROUNDS_PER_DEFINITION as f64 * latency;
        let floor = scan_floor + protocol_floor;
        println!("\n--concurrency {concurrency}");
        println!(
            "  scan alone:  {:>6.2} s (floor {:.2} s, ratio {:.2}); {} calls",
            scan.wall.as_secs_f64(),
            scan_floor,
            scan.wall.as_secs_f64() / scan_floor,
            scan.calls
        );
        println!(
            "  apply:       {:>6.2} s (floor {:.2} s = scan {:.2} + {} x {} rounds x {} ms; ratio {:.2})",
            apply.wall.as_secs_f64(),
            floor,
            scan_floor,
            definitions.div_ceil(concurrency),
            ROUNDS_PER_DEFINITION,
            LATENCY.as_millis(),
            apply.wall.as_secs_f64() / floor
        );
        println!(
            "  calls: {} in all; per definition {:.1} ({:.1} in the scan/plan phase, {:.1} in the protocol, in {} sequential rounds)",
            apply.calls,
            apply.calls_per_definition,
            scan.calls_per_definition,
            apply_calls_per_definition,
            ROUNDS_PER_DEFINITION
        );
        println!("  report summary: {}", apply.summary);
    }
}
