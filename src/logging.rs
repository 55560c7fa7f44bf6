//! Logs go to stderr (stdout is for data), through the output layer: text for people, JSON for
//! log pipelines. The AWS SDK's own logs stay quiet unless asked for with -vvv or RUST_LOG.

use crate::cli::{GlobalArgs, LogFormat};
use crate::output::Output;
use tracing_subscriber::EnvFilter;

pub fn init(global: &GlobalArgs, out: &Output) {
    let (quiet, verbose) = (global.quiet, global.verbose);
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.is_empty() => EnvFilter::new(spec),
        _ => EnvFilter::new(match (quiet, verbose) {
            // aws-config warns of a refused AssumeRole with STS's whole answer; the tool reports
            // the account as unreachable itself, with the external id's value taken out.
            (q, _) if q > 0 => "error",
            (_, 0) => "warn,aws_config=error",
            (_, 1) => "warn,aws_config=error,sm_recreate=info",
            (_, 2) => "warn,aws_config=error,sm_recreate=debug",
            // The SDK logs request and response bodies at trace level, and bodies carry
            // `Environment` values: those need an explicit RUST_LOG=trace.
            _ => "debug,sm_recreate=trace",
        }),
    };
    let writer = out.clone();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(move || writer.log_writer());
    // Ignore the error of a second init (tests run several commands in one process).
    let _ = match global.log_format {
        LogFormat::Json => builder.json().with_current_span(false).try_init(),
        LogFormat::Text => builder
            .with_ansi(out.stderr_color())
            .with_target(verbose >= 2)
            .without_time()
            .try_init(),
    };
}
