//! `completions SHELL`: the shell completion script, generated from the clap definitions so it
//! always matches the flags this binary accepts.

use crate::cli::{Cli, CompletionsArgs};
use crate::exit::ExitStatus;
use crate::output::Output;
use clap::CommandFactory;

pub fn run(out: &Output, args: CompletionsArgs) -> anyhow::Result<ExitStatus> {
    let mut command = Cli::command();
    let name = command.get_name().to_owned();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, name, &mut script);
    out.data(&String::from_utf8_lossy(&script))?;
    Ok(ExitStatus::Success)
}
