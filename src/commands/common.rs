//! What scan, plan and apply share: validating the selection before any call, connecting, and
//! reading the inventory.

use crate::cli::{GlobalArgs, SelectionArgs};
use crate::exit::{ExitStatus, UsageError};
use crate::inventory::{self, Inventory, Scope};
use crate::kinds::same_name;
use crate::plan::selection::{self, Selection};
use crate::plan::{self, Plan, PlanOptions};
use crate::settings::Session;
use std::sync::Arc;

/// Validates the selection flags (and reads a findings file) before anything touches AWS.
pub fn resolve_selection(args: &SelectionArgs) -> Result<Selection, UsageError> {
    let scope = selection::parse_scope(&args.kinds, &args.controls, &args.fixes)?;
    for glob in &args.names {
        selection::check_glob(glob)?;
    }
    let findings = match &args.from_findings {
        Some(path) => Some(selection::read_findings(path)?),
        None => None,
    };
    Ok(Selection {
        scope,
        name_globs: args.names.clone(),
        findings,
        include_managed: args.include_managed,
        evaluation: args.evaluation,
    })
}

/// Connects, checks a findings file is for the caller's account, and reads the inventory.
pub async fn connect_and_read(
    global: &GlobalArgs,
    selection: &Selection,
    concurrency: usize,
) -> anyhow::Result<(Session, Inventory)> {
    let session = Session::connect(global, &selection.findings_regions()).await?;
    let findings_accounts = selection.findings_accounts();
    if !findings_accounts.is_empty() {
        let account = session.account_id().await?;
        if let Some(other) = findings_accounts.iter().find(|a| **a != account) {
            return Err(UsageError::new(format!(
                "the findings name account {other}, but the credentials are for account {account}"
            ))
            .with_hint("use the profile of the account the findings came from (--profile)")
            .into());
        }
    }
    let filter = selection.clone();
    let schedule_filter = selection.clone();
    let tags_filter = selection.clone();
    let scope = Scope {
        kinds: selection.kinds(),
        name_filter: Arc::new(move |region, kind, name| filter.matches(region, kind, name)),
        inline_schedules: selection.scope.covers_inline_schedules().then(|| {
            Arc::new(move |region: &str, name: &str| schedule_filter.matches_schedule(region, name))
                as inventory::ScheduleFilter
        }),
        tags_wanted: Arc::new(move |subject, describe| tags_filter.could_change(subject, describe)),
    };
    let mut inventory = inventory::collect(&session.clients(), &scope, concurrency).await;
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
    let listings = session.regions.len() * scope.kinds.len();
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
        return Err(UsageError::new(format!("could not read any job definitions: {first}"))
            .with_hint("check credentials, region and endpoint: `aws sagemaker list-data-quality-job-definitions` should work with the same settings")
            .into());
    }
    for problem in &inventory.problems {
        let what = match (&problem.kind, &problem.name) {
            (Some(kind), Some(name)) => format!("{kind} {name} ({})", problem.region),
            (Some(kind), None) => format!("{kind} ({})", problem.region),
            _ => problem.region.clone(),
        };
        tracing::warn!("{what}: {}", problem.message);
    }
    if let Some(wanted) = &selection.findings {
        // A finding's ARN may spell the name in another case (I8): compare as AWS might.
        for finding in wanted {
            let found = inventory.definitions.iter().any(|d| {
                d.region == finding.region
                    && finding.definition_kind() == Some(d.kind)
                    && same_name(&d.name, &finding.name)
            }) || inventory.schedules.iter().any(|s| {
                s.region == finding.region
                    && finding.kind == crate::resource::ResourceKind::MonitoringSchedule
                    && same_name(&s.name, &finding.name)
            });
            let reported = inventory.problems.iter().any(|p| {
                p.name
                    .as_deref()
                    .is_some_and(|n| same_name(n, &finding.name))
            });
            if !found && !reported && session.regions.contains(&finding.region) {
                tracing::warn!("{finding} is named by a finding but no longer exists");
            }
        }
    }
    Ok((session, inventory))
}

/// A plan made now, with what it was made from.
pub struct Planned {
    pub session: Session,
    pub inventory: Inventory,
    pub account_id: String,
    pub plan: Plan,
}

/// Reads the inventory and plans it (for `plan`, and `apply` without a plan file).
pub async fn plan_now(
    global: &GlobalArgs,
    selection: &Selection,
    args: &SelectionArgs,
) -> anyhow::Result<Planned> {
    let (session, inventory) =
        connect_and_read(global, selection, usize::from(args.concurrency)).await?;
    let account_id = session.account_id().await?;
    let plan = plan::build(
        &inventory,
        &PlanOptions {
            evaluation: args.evaluation,
            include_managed: selection.include_managed,
            scope: selection.scope.clone(),
        },
        &session.regions,
    );
    Ok(Planned {
        session,
        inventory,
        account_id,
        plan,
    })
}

/// The exit status when the output is otherwise a success: 1 when the inventory is incomplete
/// (the output is then not the whole truth), else `otherwise`.
pub fn status_for(inventory: &Inventory, otherwise: ExitStatus) -> ExitStatus {
    if inventory.is_incomplete() {
        tracing::error!(
            "some definitions could not be read (see the warnings above); the result is incomplete"
        );
        ExitStatus::Failed
    } else {
        otherwise
    }
}
