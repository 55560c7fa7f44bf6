//! Thin entry point: parse, set up output and logging, run, map the outcome to an exit code.

use clap::Parser;
use sm_recreate::apply::report::RunReport;
use sm_recreate::cli::{self, Cli, ReportFormat};
use sm_recreate::exit::{self, ExitStatus};
use sm_recreate::output::Output;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return command_line_error(err),
    };
    let format = cli.command.report_format();
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
            if format == Some(ReportFormat::Json) {
                let _ = out.data(&RunReport::of_failure(&failure).to_json());
            }
            failure.status.into()
        }
    }
}

/// `--help` and `--version` print as clap prints them, and so do command-line errors, unless
/// JSON logs were asked for: then the error is one JSON line like every other on stderr.
fn command_line_error(err: clap::Error) -> ExitCode {
    if !err.use_stderr() || !cli::asks_for_json_logs(std::env::args_os()) {
        err.exit();
    }
    let rendered = err.render().to_string();
    let message = rendered.trim().trim_start_matches("error: ");
    Output::json_logs_only().error(message, None);
    ExitStatus::Usage.into()
}
