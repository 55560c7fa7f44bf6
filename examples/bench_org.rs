//! An organization at scale: the real `sm-recreate --org scan` and `--org apply --yes` against the
//! in-process emulator serving a management account and `ACCOUNTS - 1` members (each with
//! `OrganizationAccountAccessRole`), two regions, ten definitions per account-region, every call
//! 50 ms, and a token bucket of 20 requests/second (burst 20) per account-region, as SageMaker
//! throttles. Then peak memory of `scan` and `plan` at ACCOUNTS and at each `--memory` count. Not
//! a test: it prints figures and asserts nothing about time.
//!
//! ```text
//! cargo build --workspace --release
//! cargo run --release --example bench_org [-- ACCOUNTS] [--concurrency N]... [--memory ACCOUNTS]... [--no-timing]
//! cargo run --release --example bench_org -- 100 --memory 1000    # the issue's figures
//! ```
//!
//! Defaults: 100 accounts, `--concurrency 64` (the tool's default) and `--concurrency 256`, each
//! with `--concurrency-per-region 16` (the default), no `--memory` runs.
//!
//! Each account-region holds ten definitions (the four kinds in turn, full bodies from the
//! maximal fixtures, two tags each): three fail encryption, one of them referenced by a
//! monitoring schedule, and seven comply. An organization is mostly compliant; the memory claim
//! (grow with what needs fixing, not with what is scanned) is about that shape.
//!
//! The floor of a run, as the issue states it: `max(B / rate, C x latency / concurrency)`, where
//! `B` is the SageMaker calls the busiest account-region needed (admitted by its bucket; STS and
//! Organizations are not throttled) and `C` every call the run needed, STS included. The bucket's
//! burst lets a client beat `B / rate` by `burst / rate` (one second), so that stricter bound is
//! printed beside it. Wall time includes starting the process. The CPU column is the tool's
//! (user and system) and the emulator's: both share the machine's cores, so a run whose two add
//! up to nearly cores x wall was bound by the CPU, not by the API.
//!
//! Memory runs (scan; `plan`, text to stdout; `plan --out FILE`) have no latency and no throttle, so 1,000 accounts
//! take a minute, not ten: peak memory is what the process keeps, not how long it waits. They do
//! not apply. Peak memory is the child's maximum resident set size, from `/usr/bin/time -v` when
//! installed, otherwise sampled from `/proc/<pid>/status` (`VmHWM`).
//!
//! The binary is the one next to this example (`target/<profile>/sm-recreate`): build it first
//! with `cargo build --workspace` for the same profile, or set `SM_RECREATE_BIN`.

use serde_json::{Value, json};
use sm_emulator::{
    AccountState, Behaviour, EmulatorConfig, JoinedMethod, RecordedCall, Seed, SeedAccount,
    SeedDefinition, SeedRole, SeedSchedule, Throttle,
};
use sm_recreate::kinds::Kind;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const LATENCY: Duration = Duration::from_millis(50);
const RATE: f64 = 20.0;
const BURST: u32 = 20;
const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];
const PER_REGION: usize = 10;
/// Of each account-region's ten: the first three fail, the first of those has a schedule.
const FAILING: usize = 3;
const ROLE: &str = "OrganizationAccountAccessRole";
const PER_REGION_CAP: usize = 16;
/// Calls no bucket throttles.
const UNTHROTTLED: [&str; 3] = ["AssumeRole", "GetCallerIdentity", "ListAccounts"];

fn main() {
    let mut accounts = 100;
    let mut concurrencies = Vec::new();
    let mut memory = Vec::new();
    let mut timing = true;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |what: &str| -> usize {
            args.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{what} takes a number"))
        };
        match arg.as_str() {
            "--concurrency" => concurrencies.push(value("--concurrency")),
            "--memory" => memory.push(value("--memory")),
            "--no-timing" => timing = false,
            n => accounts = n.parse().expect("ACCOUNTS is a number"),
        }
    }
    if concurrencies.is_empty() {
        concurrencies = vec![64, 256];
    }
    let binary = binary();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "{accounts} accounts x {} regions x {PER_REGION} definitions ({FAILING} failing, one of \
         them with a schedule), {} ms per call, {RATE} req/s (burst {BURST}) per account-region; \
         binary {}",
        REGIONS.len(),
        LATENCY.as_millis(),
        binary.display()
    );
    let timed = Behaviour {
        latency: LATENCY,
        throttle: Some(Throttle {
            rate_per_second: RATE,
            burst: BURST,
        }),
        ..Behaviour::default()
    };
    let seed = org_seed(accounts);
    println!();
    println!(
        "| run | concurrency (global / per region) | wall | calls (admitted) | throttled | busiest account-region | floor | ratio | target | bucket bound (B - burst) / rate | CPU: tool / emulator | peak RSS | result |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for &concurrency in concurrencies.iter().filter(|_| timing) {
        for (name, command) in [
            ("scan", &["scan", "--format", "json"][..]),
            ("apply", &["apply", "--yes", "--format", "json"][..]),
        ] {
            let run = run(&runtime, &binary, &seed, &timed, command, concurrency);
            let busiest = run.busiest();
            let all = run.admitted();
            let bucket = busiest.1 as f64 / RATE;
            let latency = all as f64 * LATENCY.as_secs_f64() / concurrency as f64;
            let floor = bucket.max(latency);
            let ratio = run.wall.as_secs_f64() / floor;
            println!(
                "| {name} | {concurrency} / {PER_REGION_CAP} | {:.2} s | {all} | {} | {} ({}) | {floor:.2} s ({}) | {ratio:.2}× | ≤ 1.25× {} | {:.2} s | {} / {:.1} s | {} | {} |",
                run.wall.as_secs_f64(),
                run.throttled(),
                busiest.1,
                busiest.0,
                if bucket >= latency {
                    "bucket"
                } else {
                    "latency at the cap"
                },
                verdict(ratio, &run),
                busiest.1.saturating_sub(BURST as usize) as f64 / RATE,
                run.tool_cpu
                    .map_or_else(|| "n/a".to_owned(), |c| format!("{:.1} s", c.as_secs_f64())),
                run.emulator_cpu.as_secs_f64(),
                rss(run.peak_rss_kib),
                run.result,
            );
            println!("|   {name} timeline | {} |", run.timeline());
            if name == "apply" {
                println!(
                    "|   apply calls by operation (admitted) | {} |",
                    by_operation(&run.calls)
                );
            }
        }
    }

    let mut counts = vec![accounts];
    counts.extend(memory.iter().copied().filter(|&m| m != accounts));
    println!();
    println!(
        "Peak memory, no latency or throttle, default concurrency; {} of {PER_REGION} definitions \
         per account-region comply:",
        PER_REGION - FAILING
    );
    println!();
    println!(
        "| accounts | definitions | to fix | scan peak RSS | scan JSON | plan (text) peak RSS | plan --out peak RSS | plan file | scan wall | plan --out wall |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let untimed = Behaviour::default();
    let mut points = Vec::new();
    for count in counts {
        let seed = org_seed(count);
        let definitions = count * REGIONS.len() * PER_REGION;
        let scan = run(
            &runtime,
            &binary,
            &seed,
            &untimed,
            &["scan", "--format", "json"],
            64,
        );
        let plan = run(
            &runtime,
            &binary,
            &seed,
            &untimed,
            &["plan", "--out", "plan.json"],
            64,
        );
        let plan_text = run(&runtime, &binary, &seed, &untimed, &["plan"], 64);
        println!(
            "| {count} | {definitions} | {} | {} | {:.1} MiB | {} | {} | {:.1} MiB | {:.1} s | {:.1} s |",
            count * REGIONS.len() * FAILING,
            rss(scan.peak_rss_kib),
            scan.stdout_bytes as f64 / 1_048_576.0,
            rss(plan_text.peak_rss_kib),
            rss(plan.peak_rss_kib),
            plan.plan_file_bytes as f64 / 1_048_576.0,
            scan.wall.as_secs_f64(),
            plan.wall.as_secs_f64(),
        );
        points.push((definitions, scan.peak_rss_kib, plan_text.peak_rss_kib));
    }
    if let [(d0, Some(s0), Some(p0)), .., (d1, Some(s1), Some(p1))] = points[..]
        && d1 > d0
    {
        let per = |a: u64, b: u64| (b as f64 - a as f64) * 1024.0 / (d1 - d0) as f64;
        println!();
        println!(
            "growth per definition scanned ({FAILING} in {PER_REGION} to fix): scan {:.0} bytes, plan (text) {:.0} bytes",
            per(s0, s1),
            per(p0, p1)
        );
    }
}

/// The organization: management account `100000000000` and members `100000000001`...; every
/// account alike.
fn org_seed(accounts: usize) -> Seed {
    let ids: Vec<String> = (0..accounts)
        .map(|i| format!("{:012}", 100_000_000_000usize + i))
        .collect();
    let templates: Vec<(Kind, Value)> = Kind::ALL.iter().map(|&k| (k, maximal(k))).collect();
    let mut definitions = Vec::new();
    let mut schedules = Vec::new();
    for account in &ids {
        for region in REGIONS {
            for i in 0..PER_REGION {
                let (kind, template) = &templates[i % templates.len()];
                let name = format!("monitor-{i:02}-{}", kind.cli_name());
                let mut request = template.clone();
                request["JobDefinitionName"] = json!(name);
                request["NetworkConfig"]["EnableInterContainerTrafficEncryption"] =
                    json!(i >= FAILING);
                request["Tags"] = json!([
                    {"Key": "team", "Value": "ml"},
                    {"Key": "cost-center", "Value": format!("cc-{account}")},
                ]);
                definitions.push(SeedDefinition {
                    account_id: Some(account.clone()),
                    kind: *kind,
                    region: region.to_owned(),
                    request,
                });
                if i == 0 {
                    schedules.push(SeedSchedule {
                        account_id: Some(account.clone()),
                        region: region.to_owned(),
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
        }
    }
    Seed {
        account_id: ids[0].clone(),
        management_name: Some("management".to_owned()),
        accounts: ids[1..]
            .iter()
            .map(|id| SeedAccount {
                account_id: id.clone(),
                name: format!("member-{id}"),
                email: format!("aws+{id}@example.com"),
                state: AccountState::Active,
                joined_method: JoinedMethod::Created,
                roles: vec![SeedRole {
                    name: ROLE.to_owned(),
                    external_id: None,
                }],
                disabled_regions: Vec::new(),
            })
            .collect(),
        definitions,
        schedules,
        ..Seed::default()
    }
}

fn maximal(kind: Kind) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/maximal")
        .join(format!("{}.json", kind.cli_name()));
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("fixture JSON")
}

struct Run {
    /// When the process was started.
    started: Instant,
    wall: Duration,
    calls: Vec<RecordedCall>,
    peak_rss_kib: Option<u64>,
    /// The tool's user and system CPU time, from `/usr/bin/time` when installed.
    tool_cpu: Option<Duration>,
    /// This process's CPU time during the run: the emulator's, which shares the machine's cores.
    emulator_cpu: Duration,
    stdout_bytes: usize,
    plan_file_bytes: u64,
    /// The report's summary, or the exit code when it is not 0.
    result: String,
}

impl Run {
    fn admitted(&self) -> usize {
        self.calls
            .iter()
            .filter(|c| c.outcome != "ThrottlingException")
            .count()
    }

    fn throttled(&self) -> usize {
        self.calls
            .iter()
            .filter(|c| c.outcome == "ThrottlingException")
            .count()
    }

    /// Where the wall time went: the first call, the moment every account-region had made its
    /// first SageMaker call (the organization's ramp: caller, account pages, role, identity),
    /// the last call, and the process's end, each since the process started.
    fn timeline(&self) -> String {
        let since = |at: Instant| at.saturating_duration_since(self.started).as_secs_f64();
        let first = self.calls.iter().map(|c| c.received).min();
        let mut first_per_region: BTreeMap<(&str, &str), Instant> = BTreeMap::new();
        for call in &self.calls {
            if !UNTHROTTLED.contains(&call.operation.as_str()) {
                first_per_region
                    .entry((&call.account_id, &call.region))
                    .and_modify(|at| *at = (*at).min(call.received))
                    .or_insert(call.received);
            }
        }
        let ramp = first_per_region.values().max().copied();
        let last = self.calls.iter().map(|c| c.received).max();
        match (first, ramp, last) {
            (Some(first), Some(ramp), Some(last)) => format!(
                "first call {:.2} s, every account-region started {:.2} s, last call {:.2} s, exit {:.2} s",
                since(first),
                since(ramp),
                since(last),
                self.wall.as_secs_f64()
            ),
            _ => "no calls".to_owned(),
        }
    }

    /// The account-region whose bucket admitted the most SageMaker calls, and how many.
    fn busiest(&self) -> (String, usize) {
        let mut per: BTreeMap<(&str, &str), usize> = BTreeMap::new();
        for call in &self.calls {
            if call.outcome != "ThrottlingException"
                && !UNTHROTTLED.contains(&call.operation.as_str())
            {
                *per.entry((&call.account_id, &call.region)).or_default() += 1;
            }
        }
        per.into_iter()
            .max_by_key(|(_, n)| *n)
            .map(|((a, r), n)| (format!("{a} {r}"), n))
            .unwrap_or_default()
    }
}

fn run(
    runtime: &tokio::runtime::Runtime,
    binary: &Path,
    seed: &Seed,
    behaviour: &Behaviour,
    command_args: &[&str],
    concurrency: usize,
) -> Run {
    let emulator = runtime
        .block_on(sm_emulator::start(
            EmulatorConfig {
                seed: seed.clone(),
                behaviour: behaviour.clone(),
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
        .env("HOME", workdir.path())
        .env_remove("RUST_LOG")
        .env("AWS_ACCESS_KEY_ID", "AKIDBENCH")
        .env("AWS_SECRET_ACCESS_KEY", "bench-secret")
        .env("AWS_REGION", REGIONS[0])
        .env("AWS_CONFIG_FILE", workdir.path().join("aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            workdir.path().join("aws-credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args(["--endpoint-url", &emulator.endpoint_url()])
        .args(["--color", "never", "-q", "--org"])
        .args(REGIONS.iter().flat_map(|r| ["--region", r]))
        .arg("--state-dir")
        .arg(workdir.path().join("state"))
        .args(command_args)
        .args(["--concurrency", &concurrency.to_string()])
        .args(["--concurrency-per-region", &PER_REGION_CAP.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());

    let started = Instant::now();
    let cpu_before = own_cpu();
    let child = command.spawn().expect("start sm-recreate");
    let pid = child.id();
    let sampler = (!time_v.exists()).then(|| std::thread::spawn(move || sample_vm_hwm(pid)));
    let output = child.wait_with_output().expect("wait for sm-recreate");
    let wall = started.elapsed();
    let emulator_cpu = own_cpu().saturating_sub(cpu_before);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let time_v_seconds = |label: &str| {
        stderr
            .lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .and_then(|v| v.trim().parse::<f64>().ok())
    };
    let tool_cpu = time_v_seconds("User time (seconds):")
        .zip(time_v_seconds("System time (seconds):"))
        .map(|(user, system)| Duration::from_secs_f64(user + system));
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
    // `/usr/bin/time` exits with the child's code.
    let result = match (
        output.status.code(),
        serde_json::from_slice::<Value>(&output.stdout),
    ) {
        (Some(0), Ok(report)) => report
            .get("summary")
            .map_or_else(|| "ok".to_owned(), Value::to_string),
        (Some(0), Err(_)) => "ok".to_owned(),
        (code, _) => {
            let errors: Vec<&str> = stderr
                .lines()
                .filter(|l| l.starts_with("error") || l.contains("ERROR"))
                .take(3)
                .collect();
            format!("exit {code:?}: {}", errors.join(" / "))
        }
    };
    let plan_file_bytes =
        std::fs::metadata(workdir.path().join("plan.json")).map_or(0, |m| m.len());
    let calls = emulator.calls();
    runtime.block_on(emulator.shutdown());
    Run {
        started,
        wall,
        calls,
        peak_rss_kib,
        tool_cpu,
        emulator_cpu,
        stdout_bytes: output.stdout.len(),
        plan_file_bytes,
        result,
    }
}

/// Whether the run met the target; a miss says when the run was bound by the CPU instead: the
/// tool and the emulator together busy for at least 90% of what the machine's cores could give
/// over the wall time. The floor counts only the API's limits, not this machine's.
fn verdict(ratio: f64, run: &Run) -> String {
    if ratio <= 1.25 {
        return "met".to_owned();
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let capacity = cores as f64 * run.wall.as_secs_f64();
    match run.tool_cpu {
        Some(tool) => {
            let busy = tool.as_secs_f64() + run.emulator_cpu.as_secs_f64();
            if busy >= 0.9 * capacity {
                format!("MISSED, CPU-bound: {busy:.1} of {capacity:.1} core-seconds busy")
            } else {
                format!("MISSED ({busy:.1} of {capacity:.1} core-seconds busy)")
            }
        }
        None => "MISSED".to_owned(),
    }
}

fn rss(kib: Option<u64>) -> String {
    kib.map_or_else(
        || "n/a".to_owned(),
        |k| format!("{:.1} MiB", k as f64 / 1024.0),
    )
}

/// This process's user and system CPU time so far, all threads, from `/proc/self/stat` (in
/// clock ticks of 1/100 s, Linux's `USER_HZ`); zero where there is no `/proc`.
fn own_cpu() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    // Fields after the command name, which is in parentheses and may hold spaces: utime and
    // stime are the 14th and 15th fields, the 12th and 13th after it.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: u64 = after_name
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
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
    let mut counts = BTreeMap::<&str, usize>::new();
    for call in calls {
        if call.outcome != "ThrottlingException" {
            *counts.entry(call.operation.as_str()).or_default() += 1;
        }
    }
    counts
        .iter()
        .map(|(op, n)| format!("{op} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The binary next to this example (`target/<profile>/sm-recreate`), or `SM_RECREATE_BIN`.
fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("SM_RECREATE_BIN") {
        return PathBuf::from(path);
    }
    // target/<profile>/examples/bench_org -> target/<profile>/sm-recreate
    let exe = std::env::current_exe().expect("current exe");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("examples live in target/<profile>/examples");
    if profile_dir.file_name().is_none_or(|n| n != "release") {
        eprintln!(
            "warning: not a release build; figures are of debug builds (run `cargo build --workspace --release && cargo run --release --example bench_org`)"
        );
    }
    let binary = profile_dir.join("sm-recreate");
    assert!(
        binary.is_file(),
        "{} not found: run `cargo build --workspace` for the same profile first",
        binary.display()
    );
    binary
}
