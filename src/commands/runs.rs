//! What apply, resume and restore share: the locked state directory, the executor, and running
//! the work with progress and Ctrl-C handling.

use crate::apply::ops::Timings;
use crate::apply::report::Reporter;
use crate::apply::{self, Executor, Hints, Strategy, Work};
use crate::cli::{GlobalArgs, PacingArgs, ReportFormat};
use crate::exit::UsageError;
use crate::journal::{Event, JournalError, Run, StateDir};
use crate::resource::ResourceId;
use crate::settings::Session;
use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Runs the targets with a progress bar and the Ctrl-C handler, then journals the run's end.
pub async fn execute(
    executor: &Arc<Executor>,
    run: &Run,
    work: Vec<Work>,
    format: ReportFormat,
    color: bool,
) -> anyhow::Result<Vec<(ResourceId, apply::Outcome)>> {
    let reporter = Reporter::new(
        work.len(),
        format == ReportFormat::Json,
        color,
        std::io::stderr().is_terminal(),
    );
    let interrupt = watch_ctrl_c(executor.stop.clone(), executor.hints.resume(&run.run_id));
    let outcomes = executor.run_all(work, &reporter).await;
    interrupt.abort();
    let interrupted = executor.stop.load(Ordering::SeqCst);
    // From here on the outcomes decide the exit status: a journal that cannot take its last line
    // or a closed stdout must not turn "rollback incomplete" into something milder.
    if let Err(err) = run.record(if interrupted {
        Event::RunInterrupted
    } else {
        Event::RunFinished
    }) {
        tracing::error!("could not journal the end of the run: {err}");
    }
    print_manual_actions(&outcomes, &executor.hints.resume(&run.run_id), interrupted);
    if let Err(err) = reporter.summary(&run.run_id, &outcomes) {
        tracing::debug!("could not print the summary: {err}");
    }
    Ok(outcomes)
}

/// Manual actions go to stderr first, so a closed stdout cannot swallow them.
fn print_manual_actions(
    outcomes: &[(ResourceId, apply::Outcome)],
    resume: &str,
    interrupted: bool,
) {
    for (key, outcome) in outcomes {
        if let Some(manual) = outcome.manual() {
            eprintln!("error: {key} needs manual action: {manual}");
        }
    }
    if interrupted {
        eprintln!(
            "Interrupted: definitions not started were left as they are; to continue: `{resume}`"
        );
    }
}

/// First Ctrl-C: finish or roll back what is in flight, start nothing new. Second: stop at
/// once; the journal lets `resume` pick up.
fn watch_ctrl_c(stop: Arc<AtomicBool>, resume: String) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        stop.store(true, Ordering::SeqCst);
        eprintln!(
            "\nInterrupted: finishing (or rolling back) the definitions in flight; press Ctrl-C again to stop at once."
        );
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("Stopped. To finish or roll back: `{resume}`");
            std::process::exit(130);
        }
    })
}

/// How printed hints invoke the tool again (none under `--sandbox`: its account is gone then).
pub fn hints(global: &GlobalArgs, state_root: &Path) -> Hints {
    Hints {
        command: global
            .sandbox
            .is_none()
            .then(|| crate::settings::command_prefix(global, state_root)),
    }
}

#[allow(clippy::too_many_arguments)]
pub fn executor(
    session: &Session,
    hints: Hints,
    run: Arc<Run>,
    account_id: String,
    strategy: Strategy,
    pacing: PacingArgs,
    concurrency: usize,
) -> Arc<Executor> {
    Arc::new(Executor {
        clients: session
            .regions
            .iter()
            .map(|r| (r.clone(), session.sagemaker(r)))
            .collect(),
        run,
        account_id,
        strategy,
        timings: timings(pacing),
        concurrency,
        stop: Arc::new(AtomicBool::new(false)),
        hints,
    })
}

pub fn timings(pacing: PacingArgs) -> Timings {
    Timings {
        schedule_timeout: Duration::from_secs(pacing.schedule_timeout),
        patience: Duration::from_secs(pacing.patience),
        ..Timings::default()
    }
}

pub fn open_state_dir(path: &Path, purpose: &str) -> Result<StateDir, UsageError> {
    StateDir::open(path, purpose).map_err(|err| {
        let hint = match &err {
            JournalError::Locked { .. } => {
                "only one apply, resume or restore at a time per state directory"
            }
            JournalError::NotPrivate { .. } => {
                "snapshots hold secrets; `chmod 700` the directory or choose another --state-dir"
            }
            _ => "choose a writable --state-dir whose parent exists",
        };
        UsageError::new(err.to_string()).with_hint(hint)
    })
}
