//! `guard` prints a deny-only policy document on stdout and how to attach it on stderr, with no
//! AWS credentials, configuration or network; a bad `--fix` is a usage error. The policy for both
//! fixes is pinned as a snapshot, so any change to what it denies shows in review.

use assert_cmd::Command;
use serde_json::Value;
use std::process::Output;

/// The binary with an empty environment: no credentials, no profile, no region, no HOME.
fn sm_recreate() -> Command {
    let mut command = Command::cargo_bin("sm-recreate").expect("the binary is built");
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    command
}

fn run(args: &[&str]) -> Output {
    sm_recreate().args(args).output().expect("run sm-recreate")
}

fn policy_of(output: &Output) -> Value {
    assert!(output.status.success(), "{output:?}");
    serde_json::from_slice(&output.stdout).expect("stdout is one JSON document")
}

fn statements(policy: &Value) -> &Vec<Value> {
    policy["Statement"].as_array().expect("a Statement list")
}

#[test]
fn guard_prints_a_deny_only_policy_document_without_aws() {
    let output = run(&["guard"]);
    let policy = policy_of(&output);
    assert_eq!(policy["Version"], "2012-10-17");
    assert_eq!(
        policy.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["Version", "Statement"]
    );
    let statements = statements(&policy);
    assert!(!statements.is_empty());
    for statement in statements {
        assert_eq!(statement["Effect"], "Deny", "{statement}");
        assert!(statement["Sid"].is_string(), "{statement}");
        assert!(statement["Condition"].is_object(), "{statement}");
    }
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("InterContainerTrafficEncryption"), "{text}");
    assert!(
        !text.contains("NetworkIsolation"),
        "isolation only when asked: {text}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("attach it after the fix"), "{stderr}");
    assert!(
        stderr.contains("create-policy --type SERVICE_CONTROL_POLICY"),
        "{stderr}"
    );
}

#[test]
fn format_iam_prints_the_same_statements_with_the_role_policy_command() {
    let scp = run(&["guard", "--fix", "isolation", "--format", "scp"]);
    let iam = run(&["guard", "--fix", "isolation", "--format", "iam"]);
    assert_eq!(
        policy_of(&iam),
        policy_of(&scp),
        "where it is attached does not change what it denies"
    );
    let scp_hint = String::from_utf8_lossy(&scp.stderr);
    let iam_hint = String::from_utf8_lossy(&iam.stderr);
    assert!(iam_hint.contains("aws iam put-role-policy"), "{iam_hint}");
    assert!(iam_hint.contains("--policy-document file://"), "{iam_hint}");
    assert!(!iam_hint.contains("organizations"), "{iam_hint}");
    assert!(!scp_hint.contains("put-role-policy"), "{scp_hint}");
}

#[test]
fn quiet_keeps_the_policy_and_the_attach_hint() {
    let output = run(&["-q", "guard", "--format", "iam"]);
    policy_of(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("hint: "), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn a_bad_fix_is_a_usage_error_that_names_the_values() {
    let output = run(&["guard", "--fix", "tls"]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("'tls'") && stderr.contains("--fix"),
        "{stderr}"
    );
    assert!(
        stderr.contains("encryption") && stderr.contains("isolation"),
        "{stderr}"
    );
}

#[test]
fn a_bad_format_is_a_usage_error() {
    let output = run(&["guard", "--format", "json"]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("scp") && stderr.contains("iam"), "{stderr}");
}

#[test]
fn guard_for_encryption_and_isolation() {
    let output = run(&["guard", "--fix", "encryption", "--fix", "isolation"]);
    policy_of(&output);
    insta::assert_snapshot!(String::from_utf8(output.stdout).expect("UTF-8"));
}
