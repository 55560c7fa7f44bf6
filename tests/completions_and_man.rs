//! `completions` and `man` are generated from the CLI definition: they name every command, and
//! they touch nothing but stdout or the directory asked for.

use assert_cmd::Command;

fn sm_recreate() -> Command {
    let mut command = Command::cargo_bin("sm-recreate").expect("the binary is built");
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    command
}

fn stdout_of(args: &[&str]) -> String {
    let output = sm_recreate().args(args).output().expect("run sm-recreate");
    assert!(output.status.success(), "{args:?}: {output:?}");
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

#[test]
fn completion_scripts_offer_every_command_in_each_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = stdout_of(&["completions", shell]);
        for command in [
            "scan", "plan", "apply", "resume", "restore", "sandbox", "guard",
        ] {
            assert!(script.contains(command), "{shell} script lacks `{command}`");
        }
        assert!(
            script.contains("state-dir"),
            "{shell} script lacks --state-dir"
        );
    }
}

#[test]
fn an_unknown_shell_is_a_usage_error_that_lists_the_shells() {
    let output = sm_recreate()
        .args(["completions", "tcsh"])
        .output()
        .expect("run sm-recreate");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("tcsh") && stderr.contains("bash"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}

#[test]
fn the_manual_page_is_roff_that_documents_the_commands_and_exit_codes() {
    let page = stdout_of(&["man"]);
    assert!(page.contains(".TH sm-recreate 1"), "{page}");
    assert!(page.contains("resume"));
    assert!(page.contains("Exit codes"));
}

#[test]
fn man_out_dir_writes_one_page_per_command() {
    let temp = tempfile::tempdir().expect("a temp dir");
    let dir = temp.path().join("man1");
    sm_recreate()
        .args(["man", "--out-dir"])
        .arg(&dir)
        .assert()
        .success()
        .stdout("");
    for page in [
        "sm-recreate.1",
        "sm-recreate-apply.1",
        "sm-recreate-restore.1",
    ] {
        let text = std::fs::read_to_string(dir.join(page)).expect(page);
        assert!(text.starts_with(".ie") || text.contains(".TH"), "{page}");
    }
    let apply = std::fs::read_to_string(dir.join("sm-recreate-apply.1")).unwrap();
    assert!(
        apply.contains("\\-\\-yes"),
        "the apply page documents --yes"
    );
}
