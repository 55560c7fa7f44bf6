//! Cross-checks against moto, a third-party AWS emulator we did not write: the adapter's requests
//! and parsing, and `scan`/`plan` through the real binary, on the behaviours moto implements the
//! way AWS does. Each adjustment to a request names the moto quirk it avoids
//! (/work/shared/MOTO.md lists them).
//!
//! moto must be installed: `pip install 'moto[server]==5.2.5'` (CI does). Without it these tests
//! fail rather than skip, so a missing cross-check cannot pass unnoticed.

mod support;

use serde_json::{Value, json};
use sm_recreate::kinds::Kind;
use sm_recreate::sagemaker::{ErrorClass, SageMaker, Tag};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::{
    Flag, Workdir, actions, definition_request, maximal_request, sm_recreate, stderr_text,
    stdout_json, stdout_text, verdicts,
};

const US: &str = "us-east-1";
const EU: &str = "eu-west-1";
/// moto's default account.
const MOTO_ACCOUNT: &str = "123456789012";
const INSTALL_HINT: &str = "pip install 'moto[server]==5.2.5'";

/// A `moto_server` on a free loopback port, killed when dropped.
struct Moto {
    child: Child,
    port: u16,
    log: PathBuf,
    _logdir: tempfile::TempDir,
    runtime: tokio::runtime::Runtime,
}

impl Moto {
    fn start() -> Moto {
        let port = free_port();
        let logdir = tempfile::tempdir().expect("temp dir");
        let log = logdir.path().join("moto.log");
        let log_file = std::fs::File::create(&log).expect("create moto log");
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("clone log handle"))
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "cannot start `moto_server` ({error}). These tests cross-check against moto and \
                     need it on PATH: {INSTALL_HINT}"
                )
            });
        let runtime = support::runtime();
        let mut moto = Moto {
            child,
            port,
            log,
            _logdir: logdir,
            runtime,
        };
        moto.wait_until_ready();
        moto
    }

    /// Polls (bounded) until moto answers HTTP; fails with its log if it exits or never answers.
    fn wait_until_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().expect("poll moto_server") {
                panic!(
                    "moto_server exited with {status} before answering ({INSTALL_HINT}):\n{}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            if answers_http(self.port) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "moto_server did not answer on port {} within 60 s:\n{}",
                self.port,
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn endpoint_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn client(&self, region: &str) -> SageMaker {
        support::client_for(&self.runtime, &self.endpoint_url(), region)
    }

    fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        // Our own child, by its handle (its pid): nothing else is touched.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

fn answers_http(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.")
}

/// The maximal fixture of `kind`, adjusted for moto.
fn moto_request(kind: Kind, request: Value) -> Value {
    let mut request = request;
    if matches!(kind, Kind::ModelQuality | Kind::ModelExplainability) {
        // Quirk avoided: moto answers 500 to ModelQuality/ModelExplainability creates with
        // `BatchTransformInput`; their maximal fixtures already use `EndpointInput`.
        let input = &request[format!("{}JobInput", kind.info().member_prefix)];
        assert!(input.get("BatchTransformInput").is_none() && input.get("EndpointInput").is_some());
    }
    if kind == Kind::ModelExplainability {
        // Quirk avoided: moto's DescribeModelExplainabilityJobDefinition spells the member
        // `StoppingConditions`, so a StoppingCondition we send would not come back as sent.
        request
            .as_object_mut()
            .expect("object")
            .shift_remove("StoppingCondition");
        // Quirk avoided (seen with moto 5.2.5, not in MOTO.md): a ModelExplainability definition
        // created without `Tags` is unknown to moto's tagger, so ListTags on it answers 500.
        // An empty list registers it, and means the same to AWS.
        if request.get("Tags").is_none() {
            request["Tags"] = json!([]);
        }
    }
    // DataQuality/ModelBias: moto describes an unset BaselineConfig or NetworkConfig as `{}`;
    // the maximal fixtures set both, so what comes back is what was sent.
    request
}

fn tag_list(request: &Value) -> Vec<Tag> {
    support::request_tags(request)
        .into_iter()
        .map(|(key, value)| Tag { key, value })
        .collect()
}

#[test]
fn the_adapter_creates_lists_describes_tags_and_deletes_every_kind_on_moto() {
    let moto = Moto::start();
    let client = moto.client(US);
    moto.block_on(async {
        for kind in Kind::ALL {
            let request = moto_request(kind, maximal_request(kind));
            let name = request["JobDefinitionName"]
                .as_str()
                .expect("name")
                .to_owned();
            let arn = client
                .create_definition(kind, &request)
                .await
                .unwrap_or_else(|e| panic!("{kind}: create on moto: {e}"));
            assert_eq!(
                arn,
                format!(
                    "arn:aws:sagemaker:{US}:{MOTO_ACCOUNT}:{}/{name}",
                    kind.arn_type()
                )
            );

            let listed = client.list_definitions(kind).await.expect("list");
            assert_eq!(listed.len(), 1, "{kind}: {listed:?}");
            assert_eq!(
                (listed[0].name.as_str(), listed[0].arn.as_str()),
                (name.as_str(), arn.as_str())
            );

            let describe = client
                .describe_definition(kind, &name)
                .await
                .expect("describe");
            for (member, sent) in request.as_object().expect("object") {
                if member != "Tags" {
                    assert_eq!(&describe[member], sent, "{kind}: {member} differs on moto");
                }
            }
            assert_eq!(describe["JobDefinitionArn"], json!(arn));
            assert!(describe["CreationTime"].is_number(), "{kind}: {describe}");

            assert_eq!(
                client.list_tags(&arn).await.expect("tags"),
                tag_list(&request),
                "{kind}"
            );

            client.delete_definition(kind, &name).await.expect("delete");
            let gone = client
                .describe_definition(kind, &name)
                .await
                .expect_err("deleted");
            assert_eq!(gone.class, ErrorClass::NotFound, "{kind}: {gone}");
            assert!(
                client
                    .list_definitions(kind)
                    .await
                    .expect("list")
                    .is_empty()
            );
        }
    });

    // moto keeps regions apart, as AWS does.
    moto.block_on(client.create_definition(Kind::DataQuality, &maximal_request(Kind::DataQuality)))
        .expect("create");
    let eu = moto.client(EU);
    assert!(
        moto.block_on(eu.list_definitions(Kind::DataQuality))
            .expect("list")
            .is_empty()
    );
    assert_eq!(
        moto.block_on(client.list_definitions(Kind::DataQuality))
            .expect("list")
            .len(),
        1
    );
}

#[test]
fn list_tags_reads_every_page_on_moto() {
    let moto = Moto::start();
    let client = moto.client(US);
    let mut request = maximal_request(Kind::ModelBias);
    // 50 user tags plus AWS-reserved ones (which do not count against AWS's limit): two pages.
    // moto accepts `aws:` tags on create, unlike AWS, which sets them itself.
    let mut tags: Vec<Value> = (0..50)
        .map(|i| json!({"Key": format!("key-{i:02}"), "Value": format!("v{i}")}))
        .collect();
    tags.push(json!({"Key": "aws:cloudformation:stack-name", "Value": "stack"}));
    tags.push(json!({"Key": "aws:cloudformation:logical-id", "Value": "Bias"}));
    request["Tags"] = Value::Array(tags);
    let arn = moto
        .block_on(client.create_definition(Kind::ModelBias, &request))
        .expect("create");
    assert_eq!(
        moto.block_on(client.list_tags(&arn)).expect("tags"),
        tag_list(&request)
    );
}

/// One definition of the account the binary scans on moto.
struct MotoDefinition {
    kind: Kind,
    region: &'static str,
    name: &'static str,
    flag: Flag,
    instances: u64,
    tags: &'static [(&'static str, &'static str)],
}

fn moto_account() -> Vec<MotoDefinition> {
    let definition = |kind, region, name, flag, instances, tags| MotoDefinition {
        kind,
        region,
        name,
        flag,
        instances,
        tags,
    };
    vec![
        definition(
            Kind::DataQuality,
            US,
            "moto-dq-off",
            Flag::Off,
            2,
            &[("team", "ml")],
        ),
        definition(Kind::DataQuality, US, "moto-dq-on", Flag::On, 2, &[]),
        definition(Kind::ModelQuality, US, "moto-mq-single", Flag::Off, 1, &[]),
        definition(
            Kind::ModelExplainability,
            US,
            "moto-me-no-network",
            Flag::NoNetworkConfig,
            3,
            &[],
        ),
        // Stands in for a CloudFormation-managed definition: moto lets us set `aws:` tags.
        definition(
            Kind::ModelBias,
            US,
            "moto-mb-managed",
            Flag::Off,
            2,
            &[
                ("aws:cloudformation:stack-name", "moto-stack"),
                ("team", "ml"),
            ],
        ),
        definition(Kind::DataQuality, EU, "moto-dq-eu", Flag::Off, 1, &[]),
    ]
}

#[test]
fn scan_and_plan_judge_and_plan_every_definition_on_moto() {
    let moto = Moto::start();
    for d in moto_account() {
        let request = moto_request(
            d.kind,
            definition_request(d.kind, d.name, d.flag, d.instances, d.tags),
        );
        moto.block_on(moto.client(d.region).create_definition(d.kind, &request))
            .unwrap_or_else(|e| panic!("{}: {e}", d.name));
    }
    let workdir = Workdir::new();
    let out = workdir.file("plan.json");
    let endpoint = moto.endpoint_url();
    let run = |args: &[&str]| {
        sm_recreate(&endpoint, &workdir)
            .args(["--color", "never", "--region", US, "--region", EU])
            .args(args)
            .output()
            .expect("run sm-recreate")
    };
    // moto answers ListMonitoringSchedules with a 500 HTML page, which the SDK retries before
    // giving up, so each run takes seconds: run them side by side.
    let out_arg = out.to_str().expect("utf-8 path").to_owned();
    let (strict, config_rule, plan_json, plan_text) = std::thread::scope(|scope| {
        let strict = scope.spawn(|| run(&["scan", "--format", "json"]));
        let config_rule = scope.spawn(|| {
            run(&[
                "scan",
                "--format",
                "json",
                "--evaluation",
                "config-rule",
                "--detailed-exitcode",
            ])
        });
        let plan_json = scope.spawn(|| run(&["plan", "--format", "json", "--out", &out_arg]));
        let plan_text = scope.spawn(|| run(&["plan"]));
        (
            strict.join().expect("scan"),
            config_rule.join().expect("scan"),
            plan_json.join().expect("plan"),
            plan_text.join().expect("plan"),
        )
    });

    // Every definition, in both regions, judged rightly in both modes, despite the schedules.
    assert_eq!(strict.status.code(), Some(0), "{}", stderr_text(&strict));
    let report = stdout_json(&strict);
    let expected = |rule: fn(Flag, u64) -> bool| {
        let mut pairs: Vec<(String, bool)> = moto_account()
            .into_iter()
            .map(|d| (d.name.to_owned(), rule(d.flag, d.instances)))
            .collect();
        pairs.sort();
        pairs
    };
    assert_eq!(verdicts(&report), expected(|flag, _| flag == Flag::On));
    assert_eq!(
        config_rule.status.code(),
        Some(3),
        "{}",
        stderr_text(&config_rule)
    );
    assert_eq!(
        verdicts(&stdout_json(&config_rule)),
        expected(|flag, instances| flag == Flag::On || instances < 2)
    );
    let eu = report["definitions"]
        .as_array()
        .expect("definitions")
        .iter()
        .find(|d| d["name"] == "moto-dq-eu")
        .expect("eu definition");
    assert_eq!(eu["region"], EU);

    // moto has no monitoring schedules: the scan says references are unknown, per region.
    let problems = report["problems"].as_array().expect("problems");
    let regions: Vec<&str> = problems
        .iter()
        .map(|p| p["region"].as_str().expect("region"))
        .collect();
    assert_eq!(regions, [EU, US], "{problems:?}");
    for problem in problems {
        let message = problem["message"].as_str().expect("message");
        assert!(
            message.starts_with("could not list monitoring schedules, so references are unknown")
                && message.contains("ListMonitoringSchedules failed"),
            "{message}"
        );
        // The definitions are all there: the run is complete, only references are unknown.
        assert_eq!(problem["incomplete"], false);
        assert!(problem.get("kind").is_none() && problem.get("name").is_none());
    }
    let stderr = stderr_text(&strict);
    assert!(
        stderr.contains("could not list monitoring schedules"),
        "{stderr}"
    );

    // The plan: the account from moto's STS, every action right, the stack named.
    assert_eq!(
        plan_json.status.code(),
        Some(0),
        "{}",
        stderr_text(&plan_json)
    );
    let document = stdout_json(&plan_json);
    assert_eq!(document["accounts"], json!([MOTO_ACCOUNT]));
    assert_eq!(document["regions"], json!([US, EU]));
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(n, a)| ((*n).to_owned(), (*a).to_owned()))
            .collect()
    };
    assert_eq!(
        actions(&document),
        pairs(&[
            ("moto-dq-eu", "recreate"),
            ("moto-dq-off", "recreate"),
            ("moto-dq-on", "compliant"),
            ("moto-me-no-network", "recreate"),
            ("moto-mq-single", "recreate"),
            ("moto-mb-managed", "skip"),
        ])
    );
    let managed = document["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["name"] == "moto-mb-managed")
        .expect("managed");
    assert!(
        managed["reason"]
            .as_str()
            .expect("reason")
            .contains("moto-stack")
    );
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("plan file")).expect("JSON");
    assert_eq!(file, document);

    assert_eq!(
        plan_text.status.code(),
        Some(0),
        "{}",
        stderr_text(&plan_text)
    );
    let text = stdout_text(&plan_text);
    assert_eq!(
        text.matches("+    \"EnableInterContainerTrafficEncryption\": true")
            .count(),
        4,
        "one flag per recreated definition:\n{text}"
    );
    assert!(
        text.ends_with(&format!(
            "Plan: 4 to recreate, 1 compliant, 1 skipped in account {MOTO_ACCOUNT}.\n"
        )),
        "{text}"
    );
}
