//! One module per command; `run` dispatches.

mod apply;
mod common;
mod completions;
mod findings;
mod guard;
mod man;
mod plan;
mod restore;
mod restore_schedule;
mod resume;
mod runs;
mod sandbox;
mod scan;

use crate::cli::{Cli, Command, SandboxCommand};
use crate::exit::ExitStatus;
use crate::output::Output;

pub async fn run(out: &Output, cli: Cli) -> anyhow::Result<ExitStatus> {
    let global = &cli.global;
    match cli.command {
        Command::Scan(args) => scan::run(out, global, args).await,
        Command::Plan(args) => plan::run(out, global, args).await,
        Command::Apply(args) => apply::run(out, global, args).await,
        Command::Resume(args) => resume::run(out, global, args).await,
        Command::Restore(args) => restore::run(out, global, args).await,
        Command::Sandbox(SandboxCommand::Serve(args)) => sandbox::serve(out, global, args).await,
        Command::Guard(args) => guard::run(out, args),
        Command::Completions(args) => completions::run(out, args),
        Command::Man(args) => man::run(out, args),
    }
}
