//! The commands the tool prints for a person to run (a manual action, a Ctrl-C hint), found in
//! its output and run verbatim through `sh -c`, as a person would paste them, in another
//! directory with only the hermetic environment.

use super::{Workdir, code, isolate, show, stderr, with_timeout};
use std::path::Path;
use std::process::Output;

/// The manual action of the first `needs manual action: ` line on stderr, if any.
pub fn manual_action(output: &Output) -> Option<String> {
    let text = stderr(output);
    let marker = "needs manual action: ";
    let line = text.lines().find(|l| l.contains(marker))?;
    Some(
        line[line.find(marker).unwrap() + marker.len()..]
            .trim()
            .to_owned(),
    )
}

/// Every `` `sm-recreate …` `` command quoted in backticks in `text`.
pub fn backticked_commands(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|c| c.starts_with("sm-recreate "))
        .map(str::to_owned)
        .collect()
}

/// A printed command line, run verbatim by `sh -c` in `cwd` with the hermetic environment (dummy
/// credentials, empty AWS files, no IMDS, no colour) plus `extra_env`, with the binary under test
/// first on `PATH`.
pub fn shell_command(line: &str, cwd: &Workdir, extra_env: &[(&str, &str)]) -> Output {
    let binary = Path::new(env!("CARGO_BIN_EXE_sm-recreate"));
    let path = format!(
        "{}:{}",
        binary.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = std::process::Command::new("sh");
    isolate(&mut command, cwd);
    command
        .arg("-c")
        .arg(line)
        .env("NO_COLOR", "1")
        .env("PATH", path);
    for (key, value) in extra_env {
        command.env(key, value);
    }
    with_timeout(command).output().expect("run sh -c")
}

/// Runs `line` verbatim (see [`shell_command`]) and, while it ends with exit 4 and prints another
/// manual action, that one too (at most `rounds` commands). Returns every output, in order.
pub fn follow_manual_actions(
    line: &str,
    cwd: &Workdir,
    extra_env: &[(&str, &str)],
    rounds: usize,
) -> Vec<(String, Output)> {
    let mut done = Vec::new();
    let mut next = Some(line.to_owned());
    while let Some(line) = next.take() {
        let output = shell_command(&line, cwd, extra_env);
        if code(&output) == 4 && done.len() + 1 < rounds {
            next = manual_action(&output);
        }
        done.push((line, output));
    }
    done
}

/// Shows a list of commands and their outputs in an assertion message.
pub fn show_all(outputs: &[(String, Output)]) -> String {
    outputs
        .iter()
        .map(|(line, output)| format!("$ {line}\n{}", show(output)))
        .collect::<Vec<_>>()
        .join("\n")
}
