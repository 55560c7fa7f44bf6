//! What scan, plan and apply share: validating the selection before any call, connecting, and
//! reading the inventory.

use crate::accounts::{Account, Reach};
use crate::cli::{ConcurrencyArgs, GlobalArgs, RebuildArgs, SelectionArgs};
use crate::exit::{ExitStatus, UsageError};
use crate::inventory::{self, CallLimits, Inventory, Scope};
use crate::kinds::Subject;
use crate::kinds::same_name;
use crate::plan::notebook::RebuildOptions;
use crate::plan::selection::{self, FailingFinding, Selection};
use crate::plan::{self, Plan, PlanOptions};
use crate::securityhub::SkippedFinding;
use crate::settings::Session;
use std::sync::Arc;
use tokio::task::JoinSet;

/// Validates the selection flags (and reads a findings file) before anything touches AWS.
pub fn resolve_selection(args: &SelectionArgs) -> Result<Selection, UsageError> {
    let (scope, notebooks) = selection::parse_scope(&args.kinds, &args.controls, &args.fixes)?;
    if notebooks.is_some() && (args.from_findings.is_some() || args.from_securityhub) {
        return Err(UsageError::new(
            "notebook instances cannot be selected by Security Hub findings",
        )
        .with_hint(
            "findings select job definitions and schedules; select notebooks with --kind \
             notebook-instance or --control SageMaker.1, .2, .3 or .21 (and --name)",
        ));
    }
    for glob in &args.names {
        selection::check_glob(glob)?;
    }
    let finding_records = match &args.from_findings {
        Some(path) => selection::read_findings(path)?,
        None => Vec::new(),
    };
    let findings = args
        .from_findings
        .as_ref()
        .map(|_| finding_records.iter().map(|f| f.resource.clone()).collect());
    Ok(Selection {
        scope,
        notebooks,
        name_globs: args.names.clone(),
        findings,
        from_securityhub: args.from_securityhub,
        finding_records,
        include_managed: args.include_managed,
        evaluation: args.evaluation,
    })
}

/// Checks the notebook rebuild flags before anything touches AWS.
pub fn resolve_rebuild(args: &RebuildArgs) -> Result<RebuildOptions, UsageError> {
    RebuildOptions::new(
        args.subnet.clone(),
        args.security_groups.clone(),
        args.kms_key.clone(),
    )
}

/// One account's inventory.
pub struct AccountInventory {
    pub account_id: String,
    pub inventory: Inventory,
}

/// What was read: the session, the accounts reached and not, and each reached account's
/// inventory (in the order the accounts were named).
pub struct Read {
    pub session: Session,
    pub reach: Reach,
    pub inventories: Vec<AccountInventory>,
    /// The selection the inventories were read for: with `--from-securityhub`, the one the
    /// live findings made.
    pub selection: Selection,
    /// Findings the selection names whose resource is gone or passes now.
    pub skipped_findings: Vec<SkippedFinding>,
}

impl Read {
    /// Incomplete when an account could not be reached or an inventory misses something.
    pub fn is_incomplete(&self) -> bool {
        !self.reach.unreachable.is_empty()
            || self.inventories.iter().any(|a| a.inventory.is_incomplete())
    }
}

/// Connects, reaches the accounts, checks a findings file is for them, and reads every
/// account's inventory at once under one set of call limits.
pub async fn connect_and_read(
    global: &GlobalArgs,
    selection: &Selection,
    concurrency: ConcurrencyArgs,
) -> anyhow::Result<Read> {
    let limits = CallLimits::new(
        usize::from(concurrency.concurrency),
        usize::from(concurrency.concurrency_per_region),
    );
    // Each account is read as soon as it is reached, while others are still being reached.
    let mut reads = JoinSet::new();
    let mut read = |session: &Session, selection: &Selection, account: &Account| {
        let clients = session.clients(account);
        let selection = selection.for_account(&account.id);
        let (limits, account_id) = (limits.clone(), account.id.clone());
        reads.spawn(async move {
            let inventory = read_account(&clients, &selection, &limits).await;
            AccountInventory {
                account_id,
                inventory,
            }
        });
    };
    // Findings must name only accounts the options select, and that is settled before any
    // SageMaker call: with findings, reading waits until every account is reached.
    let read_as_reached = !selection.from_securityhub && selection.findings_accounts().is_empty();
    let (session, reach, selection) = if selection.from_securityhub {
        let session = Session::connect_with(global, &[], true).await?;
        let (selection, reach) = super::findings::from_securityhub(
            &session,
            selection,
            usize::from(concurrency.concurrency),
        )
        .await?;
        (session, reach, selection)
    } else {
        let session = Session::connect(global, &selection.findings_regions()).await?;
        let reach = session
            .reach(usize::from(concurrency.concurrency), |account| {
                if read_as_reached {
                    read(&session, selection, account);
                }
            })
            .await?;
        (session, reach, selection.clone())
    };
    let selection = &selection;
    for unreachable in &reach.unreachable {
        tracing::error!(
            "account {} cannot be reached: {}",
            unreachable.account_id,
            unreachable.message
        );
    }
    let findings_accounts = selection.findings_accounts();
    if let Some(other) = findings_accounts.iter().find(|a| {
        !reach.accounts.iter().any(|r| r.id == **a)
            && !reach.unreachable.iter().any(|u| u.account_id == **a)
    }) {
        return Err(session
            .outside_selection(
                &format!("the findings name account {other}"),
                other,
                &reach.caller,
                format!("add --account {other}, or use --org"),
            )
            .into());
    }
    if !read_as_reached {
        for account in &reach.accounts {
            read(&session, selection, account);
        }
    }
    let mut inventories = Vec::with_capacity(reach.accounts.len());
    while let Some(joined) = reads.join_next().await {
        inventories.push(joined.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic())));
    }
    // In the order the accounts were named, not the order their reads ended.
    let order = |id: &str| reach.accounts.iter().position(|a| a.id == id);
    inventories.sort_by_key(|a| order(&a.account_id));
    // With --from-securityhub the findings name the accounts, however many.
    let several = session.accounts.names_accounts() || selection.from_securityhub;
    if !several {
        refuse_unreadable(&inventories[0].inventory, &session, selection)?;
    }
    let mut skipped_findings = Vec::new();
    for account in &inventories {
        warn_problems(&account.account_id, &account.inventory, several);
        let selection = selection.for_account(&account.account_id);
        skipped_findings.extend(skipped_findings_of(
            &selection,
            &account.inventory,
            &session.regions,
        ));
    }
    for skipped in &skipped_findings {
        tracing::warn!("{skipped}");
    }
    Ok(Read {
        session,
        reach,
        inventories,
        selection: selection.clone(),
        skipped_findings,
    })
}

/// One account's inventory within the selection.
async fn read_account(
    clients: &[crate::sagemaker::SageMaker],
    selection: &Selection,
    limits: &CallLimits,
) -> Inventory {
    let filter = selection.clone();
    let schedule_filter = selection.clone();
    let tags_filter = selection.clone();
    let notebook_filter = selection.clone();
    let scope = Scope {
        kinds: selection.kinds(),
        name_filter: Arc::new(move |region, kind, name| filter.matches(region, kind, name)),
        inline_schedules: selection.scope.covers_inline_schedules().then(|| {
            Arc::new(move |region: &str, name: &str| schedule_filter.matches_schedule(region, name))
                as inventory::ScheduleFilter
        }),
        notebooks: selection.notebooks.is_some().then(|| {
            Arc::new(move |_: &str, name: &str| notebook_filter.matches_notebook(name))
                as inventory::ScheduleFilter
        }),
        tags_wanted: Arc::new(move |subject, describe| tags_filter.could_change(subject, describe)),
    };
    let mut inventory = inventory::collect(clients, &scope, limits).await;
    if selection.findings.is_some() {
        // The listing matched findings case-insensitively (I8); now that every name is known, a
        // finding spelling `churn-dq` exactly is for `churn-dq`, not also for `Churn-DQ`.
        let Inventory {
            definitions,
            existing_names,
            ..
        } = &mut inventory;
        definitions.retain(|d| {
            selection.named_by_findings_among(&d.region, d.kind, &d.name, |named| {
                existing_names.contains(&(d.region.clone(), d.kind, named.to_owned()))
            })
        });
    }
    inventory
}

/// With one account, nothing read at all is a usage problem (credentials, region, endpoint),
/// not a result.
fn refuse_unreadable(
    inventory: &Inventory,
    session: &Session,
    selection: &Selection,
) -> Result<(), UsageError> {
    let notebook_listings = usize::from(selection.notebooks.is_some());
    let listings = session.regions.len() * (selection.kinds().len() + notebook_listings);
    let failed_listings = inventory
        .problems
        .iter()
        .filter(|p| p.kind.is_some() && p.name.is_none())
        .count();
    if listings > 0 && failed_listings == listings {
        let first = inventory
            .problems
            .iter()
            .find(|p| p.kind.is_some() && p.name.is_none())
            .map_or("", |p| p.message.as_str());
        let what = match (selection.kinds().is_empty(), notebook_listings) {
            (false, 0) => "job definitions",
            (true, _) => "notebook instances",
            (false, _) => "job definitions or notebook instances",
        };
        return Err(UsageError::new(format!("could not read any {what}: {first}"))
            .with_hint("check credentials, region and endpoint: `aws sagemaker list-data-quality-job-definitions` should work with the same settings"));
    }
    Ok(())
}

fn warn_problems(account_id: &str, inventory: &Inventory, several: bool) {
    for problem in &inventory.problems {
        let what = match (&problem.kind, &problem.name) {
            (Some(kind), Some(name)) => format!("{kind} {name} ({})", problem.region),
            (Some(kind), None) => format!("{kind} ({})", problem.region),
            _ => problem.region.clone(),
        };
        if several {
            tracing::warn!("account {account_id}: {what}: {}", problem.message);
        } else {
            tracing::warn!("{what}: {}", problem.message);
        }
    }
}

/// The findings whose resource no longer exists or passes now: reported (with the finding's
/// id and why), not silently dropped. A finding that names a resource the run acts on anyway
/// is not among them.
fn skipped_findings_of(
    selection: &Selection,
    inventory: &Inventory,
    regions: &[String],
) -> Vec<SkippedFinding> {
    let Some(wanted) = &selection.findings else {
        return Vec::new();
    };
    let records: Vec<FailingFinding> = if selection.finding_records.is_empty() {
        wanted
            .iter()
            .map(|resource| FailingFinding {
                id: String::new(),
                product_arn: String::new(),
                control: String::new(),
                resource: resource.clone(),
            })
            .collect()
    } else {
        selection.finding_records.clone()
    };
    let mut skipped = Vec::new();
    for finding in records {
        let resource = &finding.resource;
        if !regions.contains(&resource.region) {
            continue;
        }
        // A finding's ARN may spell the name in another case (I8): compare as AWS might.
        let definition = inventory.definitions.iter().find(|d| {
            d.region == resource.region
                && resource.definition_kind() == Some(d.kind)
                && same_name(&d.name, &resource.name)
        });
        let schedule = inventory.schedules.iter().find(|s| {
            s.region == resource.region
                && resource.kind == crate::resource::ResourceKind::MonitoringSchedule
                && same_name(&s.name, &resource.name)
        });
        let reported = inventory.problems.iter().any(|p| {
            p.name
                .as_deref()
                .is_some_and(|n| same_name(n, &resource.name))
        });
        let reason = match (definition, schedule) {
            _ if reported => continue,
            (Some(d), _) => {
                if selection.could_change(Subject::Definition(d.kind), &d.raw) {
                    continue;
                }
                "it passes now (the finding is older than the fix)"
            }
            (None, Some(s)) => {
                if selection.could_change(Subject::InlineSchedule, &s.raw) {
                    continue;
                }
                "it passes now (the finding is older than the fix)"
            }
            // Outside --name, or of a kind the run does not cover: not the finding's doing.
            (None, None) if !in_scope(selection, resource) => continue,
            (None, None) => "the resource no longer exists",
        };
        skipped.push(SkippedFinding {
            finding_id: finding.id,
            control: finding.control,
            resource: finding.resource,
            reason: reason.to_owned(),
        });
    }
    skipped
}

fn in_scope(selection: &Selection, resource: &crate::resource::ResourceId) -> bool {
    match resource.kind {
        crate::resource::ResourceKind::Definition(kind) => {
            selection.matches(&resource.region, kind, &resource.name)
        }
        crate::resource::ResourceKind::MonitoringSchedule => {
            selection.matches_schedule(&resource.region, &resource.name)
        }
        crate::resource::ResourceKind::NotebookInstance => false,
    }
}

/// One account's plan.
pub struct AccountPlan {
    pub account_id: String,
    pub plan: Plan,
}

/// Plans made now, with what they were made from.
pub struct Planned {
    pub read: Read,
    pub plans: Vec<AccountPlan>,
}

impl Planned {
    /// Each account's plan, for the renderings.
    pub fn by_account(&self) -> Vec<(&str, &Plan)> {
        self.plans
            .iter()
            .map(|p| (p.account_id.as_str(), &p.plan))
            .collect()
    }
}

/// Reads the inventory and plans it (for `plan`, and `apply` without a plan file).
pub async fn plan_now(
    global: &GlobalArgs,
    selection: &Selection,
    args: &SelectionArgs,
    rebuild: RebuildOptions,
) -> anyhow::Result<Planned> {
    let mut read = connect_and_read(global, selection, args.concurrency).await?;
    let options = PlanOptions {
        evaluation: args.evaluation,
        include_managed: selection.include_managed,
        scope: selection.scope.clone(),
        notebooks: selection.notebooks.clone(),
        rebuild,
    };
    let regions = &read.session.regions;
    // The plan takes each inventory's definitions rather than copies; the problems stay, for
    // the exit status.
    let plans = read
        .inventories
        .iter_mut()
        .map(|account| {
            let problems = account.inventory.problems.clone();
            let inventory = std::mem::replace(
                &mut account.inventory,
                Inventory {
                    problems,
                    ..Inventory::default()
                },
            );
            AccountPlan {
                account_id: account.account_id.clone(),
                plan: plan::build(inventory, &options, regions),
            }
        })
        .collect();
    Ok(Planned { read, plans })
}

/// The exit status when the output is otherwise a success: 1 when an account could not be
/// reached or an inventory is incomplete (the output is then not the whole truth), else
/// `otherwise`.
pub fn status_for(read: &Read, otherwise: ExitStatus) -> ExitStatus {
    if read.is_incomplete() {
        tracing::error!(
            "some accounts or definitions could not be read (see the messages above); the result is incomplete"
        );
        ExitStatus::Failed
    } else {
        otherwise
    }
}
