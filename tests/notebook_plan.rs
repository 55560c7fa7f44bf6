//! Notebook instances in scan and plan, end to end through the real binary and SDK against the
//! emulator: read only when selected, judged in the shape of definitions, running ones planned as
//! restarted and skipped under `--yes` without consent, and the printed rebuild command run (with
//! a stand-in `aws` that records its arguments), sent to the emulator as a CreateNotebookInstance
//! request, and compared with the notebook it replaces.

mod support;

use serde_json::{Value, json};
use sm_emulator::{Seed, SeedNotebook};
use sm_recreate::request::{self, NOTEBOOK_STATE_MEMBERS};
use std::collections::BTreeMap;
use support::*;

const ROLE: &str = "arn:aws:iam::123456789012:role/notebooks";

/// A CreateNotebookInstance body with every setting the rebuild copies.
fn full_request(name: &str) -> Value {
    json!({
        "NotebookInstanceName": name,
        "InstanceType": "ml.t3.medium",
        "RoleArn": ROLE,
        "LifecycleConfigName": "install-tools",
        "DirectInternetAccess": "Enabled",
        "VolumeSizeInGB": 50,
        "DefaultCodeRepository": "https://github.com/example/analysis.git",
        "AdditionalCodeRepositories": ["team-notebooks", "https://example.com/shared.git"],
        "RootAccess": "Enabled",
        "PlatformIdentifier": "notebook-al2-v3",
        "InstanceMetadataServiceConfiguration": {"MinimumInstanceMetadataServiceVersion": "2"},
        "Tags": [
            {"Key": "team", "Value": "research team+ml"},
            {"Key": "cost-center", "Value": "ml 42"},
        ],
    })
}

/// A notebook that fails SageMaker.3 alone.
fn root_only_request(name: &str) -> Value {
    json!({
        "NotebookInstanceName": name,
        "InstanceType": "ml.t3.medium",
        "RoleArn": ROLE,
        "SubnetId": "subnet-0123456789abcdef0",
        "SecurityGroupIds": ["sg-0123456789abcdef0"],
        "KmsKeyId": "alias/notebooks",
        "DirectInternetAccess": "Disabled",
        "RootAccess": "Enabled",
    })
}

fn seed_notebook(request: Value, status: &str) -> SeedNotebook {
    SeedNotebook {
        account_id: None,
        region: REGION.to_owned(),
        request,
        status: Some(status.to_owned()),
        failure_reason: None,
    }
}

/// The demo's `churn-data-quality` definition beside `notebooks`.
fn with_notebooks(notebooks: Vec<SeedNotebook>) -> Seed {
    Seed {
        notebooks,
        ..demo_subset(&["churn-data-quality"])
    }
}

fn operations(sandbox: &Sandbox) -> Vec<String> {
    sandbox.calls().into_iter().map(|c| c.operation).collect()
}

#[test]
fn notebooks_are_read_only_when_selected_and_judged_in_the_shape_of_definitions() {
    let sandbox = Sandbox::start(with_notebooks(vec![
        seed_notebook(full_request("research"), "InService"),
        seed_notebook(root_only_request("tidy"), "Stopped"),
    ]));
    // The default: job definitions only, no notebook call, the report without notebooks.
    let output = sandbox
        .cmd()
        .args(["scan", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(code(&output), 0, "{}", show(&output));
    let report = stdout_json(&output);
    assert!(report.get("notebooks").is_none(), "{report}");
    assert!(
        !operations(&sandbox)
            .iter()
            .any(|op| op.contains("Notebook")),
        "{:?}",
        operations(&sandbox)
    );

    // Selected alone: notebook calls only.
    let before = sandbox.calls().len();
    let output = sandbox
        .cmd()
        .args([
            "scan",
            "--kind",
            "notebook-instance",
            "--format",
            "json",
            "--detailed-exitcode",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&output), 3, "{}", show(&output));
    let called: Vec<String> = operations(&sandbox)[before..].to_vec();
    for op in &called {
        assert!(
            matches!(
                op.as_str(),
                "GetCallerIdentity"
                    | "ListNotebookInstances"
                    | "DescribeNotebookInstance"
                    | "ListTags"
            ),
            "notebooks alone make only notebook calls: {called:?}"
        );
    }
    let report = stdout_json(&output);
    assert_eq!(report["definitions"], json!([]));
    let entries: BTreeMap<String, Value> = report["notebooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap().to_owned(), e.clone()))
        .collect();
    let research = &entries["research"];
    assert_eq!(research["kind"], "notebook-instance");
    assert_eq!(research["region"], REGION);
    assert_eq!(research["compliant"], false);
    assert_eq!(
        research["failing_controls"],
        json!(["SageMaker.1", "SageMaker.2", "SageMaker.3", "SageMaker.21"])
    );
    for control in ["SageMaker.1", "SageMaker.2", "SageMaker.3", "SageMaker.21"] {
        assert!(research["reasons"][control].is_string(), "{research}");
    }
    assert_eq!(entries["tidy"]["failing_controls"], json!(["SageMaker.3"]));

    // One control judged: the others still listed as failing, `compliant` by that one.
    let output = sandbox
        .cmd()
        .args(["scan", "--control", "SageMaker.21", "--format", "json"])
        .output()
        .unwrap();
    let report = stdout_json(&output);
    let tidy = report["notebooks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "tidy")
        .unwrap()
        .clone();
    assert_eq!(tidy["compliant"], true, "{tidy}");
    assert_eq!(tidy["failing_controls"], json!(["SageMaker.3"]));
    assert_eq!(sandbox.mutating_calls(), [], "scan changes nothing");
}

#[test]
fn the_plan_restarts_running_notebooks_only_and_records_their_hash() {
    let sandbox = Sandbox::start(with_notebooks(vec![
        seed_notebook(root_only_request("busy"), "InService"),
        seed_notebook(root_only_request("idle"), "Stopped"),
    ]));
    let plan_file = sandbox.workdir.file("plan.json");
    let output = sandbox
        .cmd()
        .args(["plan", "--control", "SageMaker.3", "--out"])
        .arg(&plan_file)
        .output()
        .unwrap();
    assert_eq!(code(&output), 0, "{}", show(&output));
    let text = stdout(&output);
    let busy = text
        .split("\n\n")
        .find(|block| block.contains("notebook-instance busy"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        busy.contains("will be restarted (open sessions end)"),
        "{busy}"
    );
    assert!(busy.contains("-  \"RootAccess\": \"Enabled\","), "{busy}");
    assert!(busy.contains("+  \"RootAccess\": \"Disabled\","), "{busy}");
    let idle = text
        .split("\n\n")
        .find(|block| block.contains("notebook-instance idle"))
        .unwrap();
    assert!(!idle.contains("will be restarted"), "{idle}");

    let document: Value =
        serde_json::from_str(&std::fs::read_to_string(&plan_file).unwrap()).unwrap();
    assert_eq!(document["format_version"], 4);
    assert_eq!(document["summary"]["notebook_update"], 2);
    let client = sandbox.client(REGION);
    for item in document["items"].as_array().unwrap() {
        assert_eq!(item["kind"], "notebook-instance");
        assert_eq!(item["action"], "update");
        let name = item["name"].as_str().unwrap();
        let described = sandbox
            .block_on(client.describe_notebook_instance(name))
            .unwrap();
        let tags = sandbox.block_on(client.list_tags(&described.arn)).unwrap();
        assert_eq!(
            item["snapshot_sha256"],
            json!(request::notebook_hash(&described.raw, &tags)),
            "the planned hash is the notebook's settings and tags"
        );
        let restarts = item["note"] == json!("will be restarted (open sessions end)");
        assert_eq!(restarts, name == "busy", "{item}");
    }
    assert_eq!(sandbox.mutating_calls(), [], "plan changes nothing");
}

#[test]
fn a_notebook_only_apply_names_its_work_and_no_recreate_strategy() {
    let sandbox = Sandbox::start(Seed {
        notebooks: vec![seed_notebook(root_only_request("idle"), "Stopped")],
        ..Seed::default()
    });
    let output = sandbox
        .cmd()
        .args(["apply", "--yes", "--kind", "notebook-instance"])
        .output()
        .unwrap();
    assert_eq!(code(&output), 0, "{}", show(&output));
    let stderr = stderr_text(&output);
    assert!(
        stderr.contains("turning root access off on 1 notebook(s)"),
        "{stderr}"
    );
    // `--strategy` is how definitions are recreated; a notebook is updated in place.
    assert!(!stderr.contains("strategy"), "{stderr}");
    let changes: Vec<String> = sandbox
        .mutating_calls()
        .into_iter()
        .map(|call| call.operation)
        .collect();
    assert_eq!(changes, ["UpdateNotebookInstance"], "{stderr}");
}

#[test]
fn yes_without_restart_running_leaves_a_running_notebook_alone_and_says_how_to_consent() {
    let sandbox = Sandbox::start(Seed {
        notebooks: vec![seed_notebook(root_only_request("busy"), "InService")],
        ..Seed::default()
    });
    let output = sandbox
        .cmd()
        .args(["apply", "--yes", "--kind", "notebook-instance"])
        .output()
        .unwrap();
    assert_eq!(code(&output), 0, "{}", show(&output));
    let stderr = stderr_text(&output);
    assert!(
        stderr.contains("busy") && stderr.contains("is running and was skipped"),
        "{stderr}"
    );
    assert!(stderr.contains("--restart-running"), "{stderr}");
    assert_eq!(sandbox.mutating_calls(), [], "nothing was touched");

    // The same from a reviewed plan file: consent is the applier's, never the file's.
    let plan_file = sandbox.workdir.file("plan.json");
    let output = sandbox
        .cmd()
        .args(["plan", "--kind", "notebook-instance", "--out"])
        .arg(&plan_file)
        .output()
        .unwrap();
    assert_eq!(code(&output), 0, "{}", show(&output));
    let output = sandbox
        .cmd()
        .arg("apply")
        .arg(&plan_file)
        .arg("--yes")
        .output()
        .unwrap();
    assert_eq!(code(&output), 0, "{}", show(&output));
    assert!(
        stderr_text(&output).contains("is running and was skipped"),
        "{}",
        show(&output)
    );
    assert_eq!(sandbox.mutating_calls(), [], "nothing was touched");
    let described = sandbox
        .block_on(sandbox.client(REGION).describe_notebook_instance("busy"))
        .unwrap();
    assert_eq!(described.status, "InService");
    assert_eq!(described.root_access, "Enabled");
}

/// A stand-in `aws` that writes its arguments, NUL-separated, to `$AWS_ARGS_FILE`.
fn fake_aws(workdir: &Workdir) -> std::path::PathBuf {
    let bin = workdir.file("fake-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = bin.join("aws");
    std::fs::write(
        &script,
        "#!/bin/sh\nfor arg in \"$@\"; do printf '%s\\0' \"$arg\"; done > \"$AWS_ARGS_FILE\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

/// Runs `command` as a person would paste it, with the stand-in `aws` first on PATH and `env`
/// set, and returns the arguments `aws` received.
fn run_printed(workdir: &Workdir, command: &str, env: &[(&str, &str)]) -> Vec<String> {
    let bin = fake_aws(workdir);
    let args_file = workdir.file("aws-args");
    let _ = std::fs::remove_file(&args_file);
    let mut shell = std::process::Command::new("sh");
    shell
        .arg("-c")
        .arg(command)
        .env(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
        )
        .env("AWS_ARGS_FILE", &args_file);
    for (key, value) in env {
        shell.env(key, value);
    }
    let output = shell.output().unwrap();
    assert!(output.status.success(), "{}", show(&output));
    let bytes = std::fs::read(&args_file).unwrap();
    bytes
        .split(|b| *b == 0)
        .filter(|w| !w.is_empty())
        .map(|w| String::from_utf8(w.to_vec()).unwrap())
        .collect()
}

/// The arguments of `aws sagemaker create-notebook-instance` as the CreateNotebookInstance
/// request the AWS CLI would send: each `--flag` is its member; list members take the words up
/// to the next flag; JSON values are parsed.
fn request_of(args: &[String]) -> (String, Value) {
    assert_eq!(
        args[..2],
        ["sagemaker", "create-notebook-instance"],
        "{args:?}"
    );
    let members: BTreeMap<&str, &str> = [
        ("--notebook-instance-name", "NotebookInstanceName"),
        ("--instance-type", "InstanceType"),
        ("--subnet-id", "SubnetId"),
        ("--security-group-ids", "SecurityGroupIds"),
        ("--ip-address-type", "IpAddressType"),
        ("--role-arn", "RoleArn"),
        ("--kms-key-id", "KmsKeyId"),
        ("--tags", "Tags"),
        ("--lifecycle-config-name", "LifecycleConfigName"),
        ("--direct-internet-access", "DirectInternetAccess"),
        ("--volume-size-in-gb", "VolumeSizeInGB"),
        ("--default-code-repository", "DefaultCodeRepository"),
        (
            "--additional-code-repositories",
            "AdditionalCodeRepositories",
        ),
        ("--root-access", "RootAccess"),
        ("--platform-identifier", "PlatformIdentifier"),
        (
            "--instance-metadata-service-configuration",
            "InstanceMetadataServiceConfiguration",
        ),
    ]
    .into_iter()
    .collect();
    let lists = ["--security-group-ids", "--additional-code-repositories"];
    let mut region = String::new();
    let mut request = serde_json::Map::new();
    let mut index = 2;
    while index < args.len() {
        let flag = args[index].as_str();
        let values: Vec<&String> = args[index + 1..]
            .iter()
            .take_while(|w| !w.starts_with("--"))
            .collect();
        index += 1 + values.len();
        if flag == "--region" {
            region = values[0].clone();
            continue;
        }
        let member = members
            .get(flag)
            .unwrap_or_else(|| panic!("unknown flag {flag}"));
        let value = if lists.contains(&flag) {
            json!(values)
        } else {
            assert_eq!(values.len(), 1, "{flag} takes one value: {values:?}");
            let text = values[0];
            match *member {
                "Tags" | "InstanceMetadataServiceConfiguration" => {
                    serde_json::from_str(text).unwrap()
                }
                "VolumeSizeInGB" => json!(text.parse::<u64>().unwrap()),
                _ => json!(text),
            }
        };
        assert!(
            request.insert((*member).to_owned(), value).is_none(),
            "{flag} given twice"
        );
    }
    (region, Value::Object(request))
}

/// Sends `request` as CreateNotebookInstance through the SDK, member by member.
fn create_notebook(sandbox: &Sandbox, region: &str, request: &Value) {
    use aws_sdk_sagemaker::types::{
        DirectInternetAccess, InstanceMetadataServiceConfiguration, InstanceType, RootAccess, Tag,
    };
    let client = sm_testkit::client(&sandbox.emulator, region);
    let text = |member: &str| {
        request
            .get(member)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let strings = |member: &str| -> Option<Vec<String>> {
        request.get(member).and_then(Value::as_array).map(|list| {
            list.iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect()
        })
    };
    let tags = request.get("Tags").and_then(Value::as_array).map(|list| {
        list.iter()
            .map(|t| {
                Tag::builder()
                    .key(t["Key"].as_str().unwrap())
                    .value(t["Value"].as_str().unwrap())
                    .build()
            })
            .collect::<Vec<_>>()
    });
    let imds = request
        .pointer("/InstanceMetadataServiceConfiguration/MinimumInstanceMetadataServiceVersion")
        .and_then(Value::as_str)
        .map(|v| {
            InstanceMetadataServiceConfiguration::builder()
                .minimum_instance_metadata_service_version(v)
                .build()
        });
    sandbox
        .block_on(
            client
                .create_notebook_instance()
                .set_notebook_instance_name(text("NotebookInstanceName"))
                .set_instance_type(text("InstanceType").map(|t| InstanceType::from(t.as_str())))
                .set_subnet_id(text("SubnetId"))
                .set_security_group_ids(strings("SecurityGroupIds"))
                .set_role_arn(text("RoleArn"))
                .set_kms_key_id(text("KmsKeyId"))
                .set_tags(tags)
                .set_lifecycle_config_name(text("LifecycleConfigName"))
                .set_direct_internet_access(
                    text("DirectInternetAccess").map(|v| DirectInternetAccess::from(v.as_str())),
                )
                .set_volume_size_in_gb(
                    request
                        .get("VolumeSizeInGB")
                        .and_then(Value::as_i64)
                        .map(|v| v as i32),
                )
                .set_default_code_repository(text("DefaultCodeRepository"))
                .set_additional_code_repositories(strings("AdditionalCodeRepositories"))
                .set_root_access(text("RootAccess").map(|v| RootAccess::from(v.as_str())))
                .set_platform_identifier(text("PlatformIdentifier"))
                .set_instance_metadata_service_configuration(imds)
                .send(),
        )
        .expect("the emulator creates the rebuilt notebook");
}

/// A notebook's settings without what differs between any two notebooks (name, ARN, times,
/// state) and without `fixed` (the members the rebuild changes on purpose).
fn settings(describe: &Value, fixed: &[&str]) -> Value {
    let mut settings = describe.clone();
    let members = settings.as_object_mut().unwrap();
    for member in NOTEBOOK_STATE_MEMBERS
        .iter()
        .chain(&[
            "NotebookInstanceName",
            "NotebookInstanceArn",
            "CreationTime",
        ])
        .chain(fixed)
    {
        members.remove(*member);
    }
    settings
}

#[test]
fn the_rebuild_command_creates_a_notebook_like_the_old_one_but_compliant() {
    let sandbox = Sandbox::start(Seed {
        notebooks: vec![seed_notebook(full_request("research"), "Stopped")],
        ..Seed::default()
    });
    let fixed = [
        "DirectInternetAccess",
        "SubnetId",
        "SecurityGroups",
        "KmsKeyId",
        "RootAccess",
    ];
    // Without flags the command names its placeholders, and stops until they are set.
    let output = sandbox
        .cmd()
        .args(["plan", "--control", "SageMaker.1", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(code(&output), 0, "{}", show(&output));
    let document = stdout_json(&output);
    let rebuild = &document["items"][0]["rebuild"];
    let command = rebuild["command"].as_str().unwrap();
    let placeholders: Vec<&str> = rebuild["placeholders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        placeholders,
        ["SUBNET_ID", "SECURITY_GROUP_IDS", "KMS_KEY_ID"]
    );
    let never = sandbox.workdir.file("never");
    let unset = std::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .env(
            "PATH",
            format!(
                "{}:{}",
                fake_aws(&sandbox.workdir).display(),
                std::env::var("PATH").unwrap()
            ),
        )
        .env("AWS_ARGS_FILE", &never)
        .env_remove("SUBNET_ID")
        .env_remove("SECURITY_GROUP_IDS")
        .env_remove("KMS_KEY_ID")
        .output()
        .unwrap();
    assert!(
        !unset.status.success(),
        "an unset placeholder stops the command"
    );
    assert!(!never.exists(), "aws never ran");
    assert!(stderr(&unset).contains("SUBNET_ID"), "{}", show(&unset));

    let args = run_printed(
        &sandbox.workdir,
        command,
        &[
            ("SUBNET_ID", "subnet-0123456789abcdef0"),
            ("SECURITY_GROUP_IDS", "sg-0aaaaaaa sg-0bbbbbbb"),
            ("KMS_KEY_ID", "alias/notebooks"),
        ],
    );
    let (region, request) = request_of(&args);
    assert_eq!(region, REGION);
    assert_eq!(request["NotebookInstanceName"], "research-rebuilt");
    assert_eq!(request["DirectInternetAccess"], "Disabled");
    assert_eq!(request["RootAccess"], "Disabled");
    assert_eq!(
        request["SecurityGroupIds"],
        json!(["sg-0aaaaaaa", "sg-0bbbbbbb"])
    );
    create_notebook(&sandbox, &region, &request);

    let client = sandbox.client(REGION);
    let before = sandbox
        .block_on(client.describe_notebook_instance("research"))
        .unwrap();
    let after = sandbox
        .block_on(client.describe_notebook_instance("research-rebuilt"))
        .unwrap();
    assert_eq!(
        settings(&after.raw, &fixed),
        settings(&before.raw, &fixed),
        "every setting but the fixed ones is copied"
    );
    assert_eq!(after.raw["KmsKeyId"], "alias/notebooks");
    assert_eq!(after.raw["SubnetId"], "subnet-0123456789abcdef0");
    let old_tags = sandbox.block_on(client.list_tags(&before.arn)).unwrap();
    let new_tags = sandbox.block_on(client.list_tags(&after.arn)).unwrap();
    assert_eq!(new_tags, old_tags, "the user tags are copied");

    // With the flags, nothing is left to fill in.
    let output = sandbox
        .cmd()
        .args([
            "plan",
            "--kind",
            "notebook-instance",
            "--format",
            "json",
            "--subnet",
            "subnet-0123456789abcdef0",
            "--security-group",
            "sg-0aaaaaaa",
            "--kms-key",
            "alias/notebooks",
        ])
        .output()
        .unwrap();
    let document = stdout_json(&output);
    let research = document["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "research")
        .unwrap()
        .clone();
    let rebuild = &research["rebuild"];
    assert!(rebuild.get("placeholders").is_none(), "{rebuild}");
    // The name is taken now: the next one is free.
    assert_eq!(rebuild["new_name"], "research-rebuilt-2");
    let (_, request) = request_of(&run_printed(
        &sandbox.workdir,
        rebuild["command"].as_str().unwrap(),
        &[],
    ));
    assert_eq!(request["SubnetId"], "subnet-0123456789abcdef0");
    assert_eq!(request["SecurityGroupIds"], json!(["sg-0aaaaaaa"]));
    assert_eq!(request["KmsKeyId"], "alias/notebooks");
    assert_eq!(
        sandbox.mutating_calls().len(),
        1,
        "only the test's own create"
    );
}

#[test]
fn a_notebook_that_cannot_be_read_is_reported_and_none_read_at_all_is_refused() {
    let notebooks = vec![
        seed_notebook(root_only_request("busy"), "InService"),
        seed_notebook(root_only_request("idle"), "Stopped"),
    ];
    // One describe refused: the other is judged, the run says it is incomplete (exit 1).
    let sandbox = Sandbox::with_behaviour(
        with_notebooks(notebooks.clone()),
        with_faults(vec![error_rule(
            "DescribeNotebookInstance",
            Some("busy"),
            "AccessDeniedException",
        )]),
    );
    let output = sandbox
        .cmd()
        .args(["scan", "--kind", "notebook-instance", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(code(&output), 1, "{}", show(&output));
    let report = stdout_json(&output);
    let names: Vec<&str> = report["notebooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["idle"]);
    let problem = &report["problems"][0];
    assert_eq!(problem["kind"], "notebook-instance");
    assert_eq!(problem["name"], "busy");
    assert_eq!(problem["incomplete"], true);

    // No listing answered: a usage problem (credentials, permissions), exit 2.
    let sandbox = Sandbox::with_behaviour(
        with_notebooks(notebooks),
        with_faults(vec![error_rule(
            "ListNotebookInstances",
            None,
            "AccessDeniedException",
        )]),
    );
    let output = sandbox
        .cmd()
        .args(["plan", "--kind", "notebook-instance"])
        .output()
        .unwrap();
    assert_eq!(code(&output), 2, "{}", show(&output));
    assert!(
        stderr_text(&output).contains("could not read any notebook instances"),
        "{}",
        show(&output)
    );
}

#[test]
fn an_organization_plan_names_each_notebook_with_its_account() {
    let sandbox = Sandbox::start(Seed::demo_organization());
    let output = sandbox
        .cmd()
        .args([
            "--org",
            "plan",
            "--kind",
            "notebook-instance",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&output), 0, "{}", show(&output));
    let document = stdout_json(&output);
    let items = document["items"].as_array().unwrap();
    assert!(!items.is_empty(), "{document}");
    for item in items {
        assert_eq!(item["kind"], "notebook-instance");
        let account = item["account_id"].as_str().unwrap();
        assert!(
            document["accounts"]
                .as_array()
                .unwrap()
                .contains(&json!(account)),
            "{item}"
        );
        let arn = item["arn"].as_str().unwrap();
        assert!(
            arn.contains(&format!(":{account}:notebook-instance/")),
            "{arn}"
        );
    }
    // Only notebook calls reached the members.
    for call in sandbox.calls() {
        assert!(
            !call.operation.contains("JobDefinition")
                && call.operation != "ListMonitoringSchedules",
            "{call:?}"
        );
    }
}
