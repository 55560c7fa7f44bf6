//! Thin entry point: parse, set up output and logging, run, map the outcome to an exit code.

use clap::Parser;
use sm_recreate::cli::Cli;
use sm_recreate::exit::{self, ExitStatus};
use sm_recreate::output::Output;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let out = Output::new(&cli.global);
    sm_recreate::logging::init(&cli.global, &out);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            out.error(format!("cannot start the async runtime: {err}"), None);
            return ExitStatus::Usage.into();
        }
    };
    // A closed stdout or stderr never reaches here: the output layer stops writing to it and
    // the command goes on, so an error is always the command's own (a broken pipe in one is a
    // connection to AWS that broke, not a reader that left).
    match runtime.block_on(sm_recreate::commands::run(&out, cli)) {
        Ok(status) => status.into(),
        Err(err) => {
            let failure = exit::classify(&err);
            out.error(&failure.message, failure.hint.as_deref());
            failure.status.into()
        }
    }
}
