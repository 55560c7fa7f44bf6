//! Thin entry point: parse, set up logging, run, map the outcome to an exit code.

use clap::Parser;
use sm_recreate::cli::Cli;
use sm_recreate::exit::{ExitStatus, UsageError};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stderr_color = sm_recreate::settings::color_enabled(cli.global.color, &std::io::stderr());
    sm_recreate::logging::init(
        cli.global.verbose,
        cli.global.quiet,
        cli.global.log_format,
        stderr_color,
    );
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitStatus::Usage.into();
        }
    };
    match runtime.block_on(sm_recreate::commands::run(cli)) {
        Ok(status) => status.into(),
        Err(err) => report_error(&err).into(),
    }
}

fn report_error(err: &anyhow::Error) -> ExitStatus {
    // A closed pipe (`sm-recreate plan | head`) is not a failure.
    if let Some(io) = err.downcast_ref::<std::io::Error>()
        && io.kind() == std::io::ErrorKind::BrokenPipe
    {
        return ExitStatus::Success;
    }
    eprintln!("error: {err:#}");
    if let Some(hint) = err
        .downcast_ref::<UsageError>()
        .and_then(|u| u.hint.as_deref())
    {
        eprintln!("hint: {hint}");
    }
    ExitStatus::Usage
}
