//! One module per command; `run` dispatches.

mod apply;
mod common;
mod completions;
mod man;
mod plan;
mod restore;
mod resume;
mod runs;
mod sandbox;
mod scan;

use crate::cli::{Cli, Command, SandboxCommand};
use crate::exit::ExitStatus;

pub async fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    match cli.command {
        Command::Scan(args) => scan::run(&cli.global, args).await,
        Command::Plan(args) => plan::run(&cli.global, args).await,
        Command::Apply(args) => apply::run(&cli.global, args).await,
        Command::Resume(args) => resume::run(&cli.global, args).await,
        Command::Restore(args) => restore::run(&cli.global, args).await,
        Command::Sandbox(SandboxCommand::Serve(args)) => sandbox::serve(&cli.global, args).await,
        Command::Completions(args) => completions::run(args),
        Command::Man(args) => man::run(args),
    }
}
