//! What apply, resume and restore share: the locked state directory, the executor, running the
//! work with progress and Ctrl-C handling, and printing how the run ended.

use crate::accounts::Reach;
use crate::apply::ops::Timings;
use crate::apply::report::{RunReport, outcome_line};
use crate::apply::{Executor, Hints, Strategy, Work};
use crate::cli::{ConcurrencyArgs, GlobalArgs, PacingArgs, ReportFormat};
use crate::exit::{ExitStatus, UsageError, continue_hint};
use crate::journal::{Event, JournalError, Run, StateDir};
use crate::output::Output;
use crate::settings::Session;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Runs the work with progress and the Ctrl-C handler, journals the run's end, and reports it.
/// Nothing here fails: from the first mutating call on, the outcomes decide the exit status.
pub async fn execute(
    out: &Output,
    executor: &Arc<Executor>,
    work: Vec<Work>,
    findings: Option<&super::findings::FindingsUpdates>,
) -> RunReport {
    let run = &executor.run;
    // Under `--sandbox` there is no command to give: the hint says why instead.
    let resume = match executor.hints.resume_command(&run.run_id) {
        Some(command) => continue_hint(&command),
        None => executor.hints.resume(&run.run_id),
    };
    let progress = out.progress(work.len());
    let interrupt = watch_ctrl_c(out.clone(), executor.stop.clone(), resume);
    let outcomes = executor
        .run_all(work, |key, outcome| {
            // Handed over, never waited for: findings updates go on beside the run.
            if let Some(findings) = findings {
                findings.finished(key, outcome);
            }
            progress.finished(|color| outcome_line(key, outcome, color))
        })
        .await;
    interrupt.abort();
    drop(progress);
    let interrupted = executor.stop.load(Ordering::SeqCst);
    // A journal that cannot take its last line must not turn "rollback incomplete" into
    // something milder: it is logged, and the outcomes stand.
    if let Err(err) = run.record(if interrupted {
        Event::RunInterrupted
    } else {
        Event::RunFinished
    }) {
        tracing::error!("could not journal the end of the run: {err}");
    }
    RunReport::of_run(
        &run.run_id,
        outcomes,
        executor.hints.resume_command(&run.run_id),
    )
}

/// Waits for the findings updates of a run (bounded) and adds them to its report; each warning
/// also goes to stderr.
pub async fn with_findings(
    out: &Output,
    report: RunReport,
    findings: Option<super::findings::FindingsUpdates>,
) -> RunReport {
    let Some(findings) = findings else {
        return report;
    };
    let done = findings.finish().await;
    for warning in &done.warnings {
        out.warn(format!("Security Hub: {warning}"));
    }
    report.with_findings_updates(Some(done))
}

/// First Ctrl-C: finish or roll back what is in flight, start nothing new. Second: stop at
/// once; the journal lets `resume` pick up.
fn watch_ctrl_c(out: Output, stop: Arc<AtomicBool>, resume: String) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        stop.store(true, Ordering::SeqCst);
        out.notice(
            "Interrupted: finishing (or rolling back) the definitions in flight; press Ctrl-C again to stop at once.",
        );
        if tokio::signal::ctrl_c().await.is_ok() {
            out.notice("Stopped.");
            out.hint(resume);
            std::process::exit(130);
        }
    })
}

/// Prints how a run ended and returns its exit status: manual actions and the hint on stderr
/// first (so a closed stdout cannot swallow them), then the report on stdout.
pub fn print_report(out: &Output, report: &RunReport, format: ReportFormat) -> ExitStatus {
    for definition in &report.definitions {
        if let Some(manual) = definition.outcome.manual() {
            out.error(
                format!("{} needs manual action: {manual}", definition.key),
                None,
            );
        }
    }
    let not_started = report.not_started();
    if not_started > 0 {
        out.warn(format!(
            "Interrupted: {not_started} definition(s) not started were left as they are"
        ));
    }
    if let Some(command) = &report.hint {
        out.hint(continue_hint(command));
    }
    let text = match format {
        ReportFormat::Text => report.painted(out.color()).to_string(),
        ReportFormat::Json => report.to_json(),
    };
    // Past this point AWS may have been changed: the report's status stands even if it cannot
    // be printed.
    if let Err(err) = out.data(&text) {
        tracing::error!("could not print the report: {err}");
    }
    report.exit_code
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

/// [`hints`] for a run whose accounts Security Hub's findings chose (`--from-securityhub`
/// without account options): the printed commands name them with `--account`, or they would
/// reach the caller's account alone.
pub fn hints_naming_accounts(global: &GlobalArgs, state_root: &Path, accounts: &[String]) -> Hints {
    if global.accounts.names_accounts() {
        return hints(global, state_root);
    }
    let named = crate::cli::AccountArgs {
        accounts: accounts.to_vec(),
        exclude_accounts: Vec::new(),
        ..global.accounts.clone()
    };
    Hints {
        command: global
            .sandbox
            .is_none()
            .then(|| crate::settings::command_prefix_with(global, &named, state_root)),
    }
}

/// What a run's executor is made of, besides the session and the accounts reached.
pub struct RunSettings {
    pub hints: Hints,
    pub strategy: Strategy,
    pub pacing: PacingArgs,
    pub concurrency: ConcurrencyArgs,
}

/// The executor, with a client for every account reached in every region of the session.
pub fn executor(
    session: &Session,
    reach: &Reach,
    run: Arc<Run>,
    settings: RunSettings,
) -> Arc<Executor> {
    let timings = timings(settings.pacing);
    let clients = reach
        .accounts
        .iter()
        .flat_map(|account| {
            session
                .regions
                .iter()
                .map(move |region| ((account.id.clone(), region.clone()), (account, region)))
        })
        // A throttled look is sent again for `--patience` at most, as every look of a run is.
        .map(|(key, (account, region))| {
            let client = session.sagemaker(account, region);
            (key, client.with_throttled_reads_for(timings.patience))
        })
        .collect();
    Arc::new(Executor {
        clients,
        unreachable: reach
            .unreachable
            .iter()
            .map(|u| (u.account_id.clone(), u.message.clone()))
            .collect(),
        run,
        strategy: settings.strategy,
        timings,
        concurrency: usize::from(settings.concurrency.concurrency),
        concurrency_per_region: usize::from(settings.concurrency.concurrency_per_region),
        stop: Arc::new(AtomicBool::new(false)),
        hints: settings.hints,
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
