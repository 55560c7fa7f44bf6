//! `apply`: plan (or read a reviewed plan file), confirm, recreate, report.

use super::common;
use super::findings::{FindingsUpdates, Worked};
use super::runs::{self, RunSettings};
use crate::accounts::Reach;
use crate::apply::report::RunReport;
use crate::apply::{Target, Work};
use crate::cli::{ApplyArgs, GlobalArgs, ReportFormat, SelectionArgs};
use crate::confirm;
use crate::exit::{ExitStatus, UsageError};
use crate::journal::{Event, PlannedItem, Run, RunKind, StateDir};
use crate::kinds::Fix;
use crate::output::Output;
use crate::plan::Action;
use crate::plan::document::{DocumentItem, FORMAT_VERSION, PlanDocument};
use crate::plan::notebook::{RESTART_LABEL, RebuildOptions};
use crate::plan::selection::Selection;
use crate::render::{self, Style};
use crate::resource::{ResourceId, ResourceKind};
use crate::settings::Session;
use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

pub async fn run(out: &Output, global: &GlobalArgs, args: ApplyArgs) -> anyhow::Result<ExitStatus> {
    // Everything that can be refused is refused before the first AWS call.
    let document = match &args.plan_file {
        Some(path) => {
            let rebuild = &args.rebuild;
            if rebuild.subnet.is_some()
                || !rebuild.security_groups.is_empty()
                || rebuild.kms_key.is_some()
            {
                return Err(UsageError::new(
                    "--subnet, --security-group and --kms-key cannot be combined with a plan file",
                )
                .with_hint(
                    "they shape the rebuild commands a plan prints; make a new plan with them",
                )
                .into());
            }
            Some(read_reviewed_plan(global, &args.selection, path)?)
        }
        None => None,
    };
    let selection = common::resolve_selection(&args.selection)?;
    let rebuild = common::resolve_rebuild(&args.rebuild)?;
    refuse_without_confirmation(&args)?;
    let state = runs::open_state_dir(&global.state_dir, "apply")?;

    let chosen = match &document {
        Some(document) => {
            let concurrency = usize::from(args.selection.concurrency.concurrency);
            targets_of_plan_file(out, global, document, concurrency).await?
        }
        None => targets_planned_now(out, global, &selection, &args, rebuild).await?,
    };
    let chosen = if args.yes {
        chosen.without_running_unless_consent(out, args.restart_running)
    } else {
        chosen
    };
    let mut unreachable = chosen.reach.unreachable.clone();
    // An account the plan could not read is not in it, so its apply does not cover it either:
    // reported, and exit 1, as when the apply plans itself.
    for missed in document.iter().flat_map(|d| &d.unreachable_accounts) {
        if !unreachable
            .iter()
            .any(|u| u.account_id == missed.account_id)
        {
            unreachable.push(missed.clone());
        }
    }
    let skipped_findings = chosen.skipped_findings.clone();
    let incomplete = chosen.incomplete;
    if incomplete {
        tracing::error!(
            "some definitions could not be read (see the warnings above): they were not planned, and the run does not cover them"
        );
    }
    if chosen.targets.is_empty() {
        // Planned now, in text, the plan shown already says so.
        let report = RunReport::nothing_to_do(None, "Nothing to recreate.")
            .with_unreachable(&unreachable)
            .with_skipped_findings(&skipped_findings)
            .with_incomplete(incomplete);
        if document.is_some() || args.format == ReportFormat::Json {
            runs::print_report(out, &report, args.format);
        }
        return Ok(report.exit_code);
    }
    let Some(targets) = confirmed(&args, chosen.targets, &chosen.running, &chosen.session)? else {
        out.notice("Nothing was changed.");
        return Ok(ExitStatus::Success);
    };

    let run = start_run(out, &state, &chosen.reach, &args, &targets)?;
    let executor = runs::executor(
        &chosen.session,
        &chosen.reach,
        run,
        RunSettings {
            hints: if chosen.securityhub_findings.is_some() {
                let accounts: Vec<String> =
                    chosen.reach.accounts.iter().map(|a| a.id.clone()).collect();
                runs::hints_naming_accounts(global, state.root(), &accounts)
            } else {
                runs::hints(global, state.root())
            },
            strategy: args.strategy,
            pacing: args.pacing,
            concurrency: args.selection.concurrency,
        },
    );
    let findings = args.findings.update_findings.then(|| {
        let worked = targets
            .iter()
            .map(|t| Worked {
                key: t.key.clone(),
                fixes: t.fixes,
            })
            .collect();
        FindingsUpdates::start(
            &chosen.session.sdk_config,
            &executor.run.run_id,
            worked,
            chosen.securityhub_findings.clone(),
        )
    });
    let work = targets.into_iter().map(Work::Fresh).collect();
    let report = runs::execute(out, &executor, work, findings.as_ref())
        .await
        .with_unreachable(&unreachable)
        .with_skipped_findings(&skipped_findings)
        .with_incomplete(incomplete);
    let report = runs::with_findings(out, report, findings).await;
    Ok(runs::print_report(out, &report, args.format))
}

/// What there is to recreate, in which accounts, over which connection.
struct Chosen {
    session: Session,
    reach: Reach,
    targets: Vec<Target>,
    /// Planned now from an inventory that could not read everything.
    incomplete: bool,
    /// Findings the selection named whose resource is gone or passes now.
    skipped_findings: Vec<crate::securityhub::SkippedFinding>,
    /// The findings `--from-securityhub` read, for `--update-findings`; `None` otherwise (they
    /// are then found by each resource's ARN).
    securityhub_findings: Option<Vec<crate::plan::selection::FailingFinding>>,
    /// The notebook targets that were running (or starting) when planned: their update stops
    /// and starts them again, so they go ahead only with consent.
    running: HashSet<ResourceId>,
}

impl Chosen {
    /// Under `--yes`: the running notebooks stay in only with `--restart-running` (each target
    /// then carries the consent); without it each is left out and said so, with how to consent.
    fn without_running_unless_consent(mut self, out: &Output, restart_running: bool) -> Chosen {
        let running = &self.running;
        self.targets.retain(|target| {
            if restart_running || !running.contains(&target.key) {
                return true;
            }
            out.warn(format!(
                "{} is running and was skipped: its fix stops and starts it, so its open \
                 sessions end",
                target.key
            ));
            out.hint("consent with `--restart-running`, or run apply on a terminal and tick it");
            false
        });
        for target in &mut self.targets {
            if target.key.kind == ResourceKind::NotebookInstance {
                target.restart_running = restart_running;
            }
        }
        self
    }
}

/// A plan file, checked, with the flags that cannot go with one refused.
fn read_reviewed_plan(
    global: &GlobalArgs,
    selection: &SelectionArgs,
    path: &Path,
) -> Result<PlanDocument, UsageError> {
    refuse_selection_with_plan_file(selection)?;
    if !global.regions.is_empty() {
        return Err(
            UsageError::new("--region cannot be combined with a plan file")
                .with_hint("a plan file applies to the regions it was made for"),
        );
    }
    read_plan_file(path)
}

fn refuse_without_confirmation(args: &ApplyArgs) -> Result<(), UsageError> {
    if !args.yes && !confirm::can_prompt() {
        return Err(UsageError::new("apply needs confirmation, and there is no terminal to ask on")
            .with_hint("review with `sm-recreate plan`, then run `sm-recreate apply --yes` (or apply a reviewed plan file with --yes)"));
    }
    Ok(())
}

/// The plan file's definitions to recreate, with credentials confirmed for each of its accounts.
async fn targets_of_plan_file(
    out: &Output,
    global: &GlobalArgs,
    document: &PlanDocument,
    concurrency: usize,
) -> anyhow::Result<Chosen> {
    let session = Session::connect(global, &document.regions).await?;
    let reach = session
        .reach_recorded(&document.accounts, "the plan", concurrency)
        .await?;
    let running = document
        .items
        .iter()
        .filter(|item| item.restarts())
        .map(DocumentItem::resource)
        .collect();
    let targets = document
        .items
        .iter()
        .filter(|item| matches!(item.action, Action::Recreate | Action::Update))
        .map(|item| Target {
            key: ResourceId {
                account_id: item.account_id.clone(),
                region: item.region.clone(),
                kind: item.kind,
                name: item.name.clone(),
            },
            planned_sha256: item.snapshot_sha256.clone(),
            temporary_name: item.temporary_name.clone(),
            fixes: item.fixes,
            restart_running: false,
        })
        .collect();
    out.notice(format!(
        "Plan file: account {}, {} ({} evaluation): {}.",
        document.accounts.join(", "),
        document.regions.join(", "),
        document.evaluation.as_str(),
        document.summary
    ));
    for account in &reach.unreachable {
        out.error(
            format!(
                "account {} cannot be reached; its items are left untouched: {}",
                account.account_id, account.message
            ),
            None,
        );
    }
    for account in &document.unreachable_accounts {
        out.error(
            format!(
                "account {} could not be reached when the plan was made, so the plan does not \
                 cover it: {}",
                account.account_id, account.message
            ),
            None,
        );
    }
    Ok(Chosen {
        session,
        reach,
        targets,
        incomplete: false,
        skipped_findings: Vec::new(),
        securityhub_findings: None,
        running,
    })
}

/// Plans now and shows the plan (in text format), as `plan` would.
async fn targets_planned_now(
    out: &Output,
    global: &GlobalArgs,
    selection: &Selection,
    args: &ApplyArgs,
    rebuild: RebuildOptions,
) -> anyhow::Result<Chosen> {
    // Apply shows diffs of what changes, and keeps only the targets.
    let planned = common::plan_now(global, selection, &args.selection, rebuild).await?;
    if args.format == ReportFormat::Text {
        let style = Style {
            color: out.color(),
            show_secrets: args.show_secrets,
        };
        out.data(&render::plan_text(
            &planned.by_account(),
            &planned.read.reach.unreachable,
            style,
        ))?;
    }
    let mut targets = Vec::new();
    let mut running = HashSet::new();
    for common::AccountPlan { account_id, plan } in &planned.plans {
        for item in plan.notebooks_to_update() {
            let key = ResourceId {
                account_id: account_id.clone(),
                region: item.notebook.region.clone(),
                kind: ResourceKind::NotebookInstance,
                name: item.notebook.name.clone(),
            };
            if item.restarts() {
                running.insert(key.clone());
            }
            targets.push(Target {
                key,
                planned_sha256: item.snapshot_sha256.clone(),
                temporary_name: None,
                // A notebook's fix is its control's, not a NetworkConfig flag.
                fixes: crate::kinds::Fixes::NONE,
                restart_running: false,
            });
        }
        targets.extend(plan.to_recreate().map(|item| Target {
            key: ResourceId::definition(
                account_id,
                &item.definition.region,
                item.definition.kind,
                &item.definition.name,
            ),
            planned_sha256: item.snapshot_sha256.clone(),
            temporary_name: item.temporary_name.clone(),
            fixes: item.verdict.fixes,
            restart_running: false,
        }));
        targets.extend(plan.to_update().map(|item| Target {
            key: ResourceId {
                account_id: account_id.clone(),
                region: item.schedule.region.clone(),
                kind: ResourceKind::MonitoringSchedule,
                name: item.schedule.name.clone(),
            },
            planned_sha256: item.snapshot_sha256.clone(),
            temporary_name: None,
            fixes: item.verdict.fixes,
            restart_running: false,
        }));
    }
    let common::Planned { read, .. } = planned;
    let incomplete = read.inventories.iter().any(|a| a.inventory.is_incomplete());
    let securityhub_findings = read
        .selection
        .from_securityhub
        .then(|| read.selection.finding_records.clone());
    Ok(Chosen {
        session: read.session,
        reach: read.reach,
        targets,
        incomplete,
        skipped_findings: read.skipped_findings,
        securityhub_findings,
        running,
    })
}

/// The targets to recreate: all of them with `--yes`, else those the user keeps and confirms
/// (`None` when they decline).
fn confirmed(
    args: &ApplyArgs,
    targets: Vec<Target>,
    running: &HashSet<ResourceId>,
    session: &Session,
) -> anyhow::Result<Option<Vec<Target>>> {
    if args.yes {
        return Ok(Some(targets));
    }
    ask(
        &targets,
        running,
        args.restart_running,
        &accounts_phrase(&targets),
        &session.regions,
    )
}

/// "account 111111111111", or "3 accounts" when the targets span several.
fn accounts_phrase(targets: &[Target]) -> String {
    let accounts: std::collections::BTreeSet<&str> =
        targets.iter().map(|t| t.key.account_id.as_str()).collect();
    match accounts.len() {
        1 => format!("account {}", accounts.first().copied().unwrap_or_default()),
        n => format!("{n} accounts"),
    }
}

/// Opens the run and journals what it will do, before the first mutating call.
fn start_run(
    out: &Output,
    state: &StateDir,
    reach: &Reach,
    args: &ApplyArgs,
    targets: &[Target],
) -> anyhow::Result<Arc<Run>> {
    let run = state.new_run()?;
    run.record(Event::RunStarted {
        run_id: run.run_id.clone(),
        account_id: reach.caller.clone(),
        kind: RunKind::Apply(args.strategy),
        items: targets.iter().map(PlannedItem::from).collect(),
    })?;
    let schedules = targets
        .iter()
        .filter(|t| t.key.kind == ResourceKind::MonitoringSchedule)
        .count();
    let notebooks = targets
        .iter()
        .filter(|t| t.key.kind == ResourceKind::NotebookInstance)
        .count();
    let definitions = targets.len() - schedules - notebooks;
    let and_schedules = if schedules == 0 {
        String::new()
    } else {
        format!(" and updating {schedules} schedule(s) in place")
    };
    let mut work = format!("recreating {definitions} definition(s){and_schedules}");
    if notebooks > 0 {
        let root_access = format!("turning root access off on {notebooks} notebook(s)");
        work = if definitions + schedules == 0 {
            root_access
        } else {
            format!("{work} and {root_access}")
        };
    }
    // The strategy is how definitions are recreated; schedules and notebooks are changed in place.
    let strategy = if definitions > 0 {
        format!(" ({} strategy)", args.strategy.as_str())
    } else {
        String::new()
    };
    out.notice(format!(
        "Run {}: {work} in {}{strategy}; journal and snapshots in {}.",
        run.run_id,
        accounts_phrase(targets),
        run.dir().display()
    ));
    Ok(Arc::new(run))
}

fn refuse_selection_with_plan_file(selection: &SelectionArgs) -> Result<(), UsageError> {
    if !selection.kinds.is_empty()
        || !selection.controls.is_empty()
        || !selection.fixes.is_empty()
        || !selection.names.is_empty()
        || selection.from_findings.is_some()
        || selection.from_securityhub
        || selection.include_managed
    {
        return Err(UsageError::new("selection flags cannot be combined with a plan file")
            .with_hint("a plan file applies exactly what was reviewed; make a new plan to change the selection"));
    }
    Ok(())
}

/// Reads and checks a plan file: JSON of our format version whose checksum matches its content.
fn read_plan_file(path: &Path) -> Result<PlanDocument, UsageError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| UsageError::new(format!("cannot read plan file {}: {e}", path.display())))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        UsageError::new(format!(
            "plan file {} is not valid JSON ({e}): truncated or corrupt",
            path.display()
        ))
        .with_hint("make a new plan with `sm-recreate plan --out FILE`")
    })?;
    let version = value
        .get("format_version")
        .and_then(serde_json::Value::as_u64);
    if version != Some(u64::from(FORMAT_VERSION)) {
        return Err(UsageError::new(format!(
            "plan file {} has format version {}, this sm-recreate reads version {FORMAT_VERSION}",
            path.display(),
            version.map_or("none".to_owned(), |v| v.to_string())
        ))
        .with_hint("plan again with this version of sm-recreate: `sm-recreate plan --out FILE`"));
    }
    let document: PlanDocument = serde_json::from_value(value)
        .map_err(|e| UsageError::new(format!("plan file {} is not a plan: {e}", path.display())))?;
    if document.checksum != document.compute_checksum() {
        return Err(UsageError::new(format!(
            "plan file {} was edited after it was made (its checksum does not match its content)",
            path.display()
        ))
        .with_hint("apply only reviewed, unmodified plans; make a new plan to change it"));
    }
    if let Some(item) = document
        .items
        .iter()
        .find(|item| !document.regions.contains(&item.region))
    {
        return Err(UsageError::new(format!(
            "plan file {} lists {} in {}, outside its regions ({})",
            path.display(),
            item.name,
            item.region,
            document.regions.join(", ")
        ))
        .with_hint("make a new plan with `sm-recreate plan --out FILE`"));
    }
    if let Some(item) = document
        .items
        .iter()
        .find(|item| !document.accounts.contains(&item.account_id))
    {
        return Err(UsageError::new(format!(
            "plan file {} lists {} in account {}, outside its accounts ({})",
            path.display(),
            item.name,
            item.account_id,
            document.accounts.join(", ")
        ))
        .with_hint("make a new plan with `sm-recreate plan --out FILE`"));
    }
    Ok(document)
}

/// The checklist and the final question. `None` when the user declines.
/// The checklist and the final question. `None` when the user declines. A running notebook is
/// listed unticked (ticked with `--restart-running`) with what its fix means; ticking it is
/// consent to restart it.
fn ask(
    targets: &[Target],
    running: &HashSet<ResourceId>,
    restart_running: bool,
    accounts: &str,
    regions: &[String],
) -> anyhow::Result<Option<Vec<Target>>> {
    let items: Vec<(String, bool)> = targets
        .iter()
        .map(|t| {
            if running.contains(&t.key) {
                (format!("{} — {RESTART_LABEL}", t.key), restart_running)
            } else {
                (t.key.to_string(), true)
            }
        })
        .collect();
    let prompt = if targets
        .iter()
        .any(|t| t.key.kind == ResourceKind::NotebookInstance)
    {
        "Changes to make (space toggles, enter accepts, esc cancels)"
    } else {
        "Definitions to recreate (space toggles, enter accepts, esc cancels)"
    };
    let Some(chosen) = confirm::choose(prompt, &items)? else {
        return Ok(None);
    };
    if chosen.is_empty() {
        return Ok(None);
    }
    let chosen: Vec<Target> = chosen
        .into_iter()
        .map(|i| {
            let mut target = targets[i].clone();
            if target.key.kind == ResourceKind::NotebookInstance {
                // Ticking a running notebook is consent to restart it.
                target.restart_running = restart_running || running.contains(&target.key);
            }
            target
        })
        .collect();
    let schedules = chosen
        .iter()
        .filter(|t| t.key.kind == ResourceKind::MonitoringSchedule)
        .count();
    let notebooks = chosen
        .iter()
        .filter(|t| t.key.kind == ResourceKind::NotebookInstance)
        .count();
    let mut what = match (chosen.len() - schedules - notebooks, schedules) {
        (0, 0) => String::new(),
        (definitions, 0) => format!("Recreate {definitions} definition(s)"),
        (0, schedules) => format!("Update {schedules} schedule(s) in place"),
        (definitions, schedules) => format!(
            "Recreate {definitions} definition(s) and update {schedules} schedule(s) in place"
        ),
    };
    if notebooks > 0 {
        let restarted = chosen.iter().filter(|t| running.contains(&t.key)).count();
        let notebooks = format!(
            "{}urn root access off on {notebooks} notebook(s), restarting {restarted} running",
            if what.is_empty() { "T" } else { " and t" }
        );
        what.push_str(&notebooks);
    }
    let isolating = chosen
        .iter()
        .filter(|t| t.fixes.contains(Fix::Isolation))
        .count();
    let isolation = if isolating > 0 {
        format!(
            ", turning network isolation on for {isolating} of them (their jobs lose all network \
             access)"
        )
    } else {
        String::new()
    };
    let question = format!("{what} in {accounts} ({}){isolation}?", regions.join(", "));
    if !confirm::confirm(&question)? {
        return Ok(None);
    }
    Ok(Some(chosen))
}
