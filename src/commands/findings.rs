//! Security Hub findings in and out. In: `--from-securityhub` reads the failing findings live
//! and turns them into the selection (and the accounts) a run works on. Out: `--update-findings`
//! records a run on the findings of what it works on, beside the run and never inside it: the
//! executor reports each outcome, and one task updates the findings in batches while the run
//! goes on; its failures are warnings, never a failed remediation.

use crate::accounts::{self, Reach};
use crate::apply::Outcome;
use crate::exit::UsageError;
use crate::kinds::{ControlInfo, DefinitionArn, Fix, Fixes, Subject, same_name};
use crate::plan::selection::{self, FailingFinding, Selection};
use crate::resource::{ResourceId, ResourceKind};
use crate::sagemaker::AwsError;
use crate::securityhub::{
    FindingIdentifier, FindingsReport, MAX_FILTER_VALUES, MAX_IDENTIFIERS, SecurityHub, Workflow,
};
use crate::settings::Session;
use aws_config::SdkConfig;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// How long a run waits, once its work is done, for the findings updates still going.
const FINISH_WAIT: Duration = Duration::from_secs(60);

// -------------------------------------------------------------------------------------------
// in
// -------------------------------------------------------------------------------------------

/// Reads the failing findings of the controls the run fixes in every region of the session (the
/// regions at once) and returns the selection they make and the accounts they name, reached:
/// the findings' accounts, narrowed by the account options. Any error reading findings is a
/// usage or access error, before anything is changed.
pub async fn from_securityhub(
    session: &Session,
    selection: &Selection,
    concurrency: usize,
) -> anyhow::Result<(Selection, Reach)> {
    let controls = selection.scope.controls();
    let mut reads = JoinSet::new();
    for (index, region) in session.regions.iter().enumerate() {
        let hub = SecurityHub::new(&session.sdk_config, region);
        let controls = controls.clone();
        reads.spawn(async move { (index, hub.failing_findings(&controls).await) });
    }
    let mut pages: Vec<(usize, Vec<Value>)> = Vec::new();
    while let Some(joined) = reads.join_next().await {
        let (index, result) = joined.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        let findings = result.map_err(|err| read_error(&session.regions[index], &err))?;
        pages.push((index, findings));
    }
    pages.sort_by_key(|(index, _)| *index);
    let all: Vec<Value> = pages.into_iter().flat_map(|(_, f)| f).collect();
    let (failing, _) = selection::failing_findings(&Value::Array(all)).map_err(|message| {
        UsageError::new(format!(
            "Security Hub answered findings this tool cannot read: {message}"
        ))
    })?;
    // An aggregation region also answers for its linked regions: each finding once, and only
    // for the regions the run covers.
    let mut seen = BTreeSet::new();
    let failing: Vec<FailingFinding> = failing
        .into_iter()
        .filter(|f| controls.contains(&f.control.as_str()))
        .filter(|f| session.regions.contains(&f.resource.region))
        .filter(|f| seen.insert((f.id.clone(), f.resource.clone())))
        .collect();

    let mut finding_accounts: Vec<String> = Vec::new();
    for finding in &failing {
        if !finding_accounts.contains(&finding.resource.account_id) {
            finding_accounts.push(finding.resource.account_id.clone());
        }
    }
    let (caller, ids) = if session.accounts.names_accounts() {
        let (caller, named) = accounts::resolve(&session.sdk_config, &session.accounts).await?;
        let ids: Vec<String> = finding_accounts
            .iter()
            .filter(|id| named.contains(id))
            .cloned()
            .collect();
        (caller, ids)
    } else {
        let caller = accounts::caller(&session.sdk_config).await.map_err(|e| {
            UsageError::new(format!("cannot identify the AWS account: {e}")).with_hint(
                "check your credentials: `aws sts get-caller-identity` should work with the same profile and region",
            )
        })?;
        let ids: Vec<String> = finding_accounts
            .iter()
            .filter(|id| !session.accounts.excluded.contains(*id))
            .cloned()
            .collect();
        (caller, ids)
    };
    let left_out = finding_accounts.len() - ids.len();
    if left_out > 0 {
        tracing::info!(
            "{left_out} account(s) with failing findings are left out by the account options"
        );
    }
    let kept: Vec<FailingFinding> = failing
        .into_iter()
        .filter(|f| ids.contains(&f.resource.account_id))
        .collect();
    tracing::info!(
        findings = kept.len(),
        accounts = ids.len(),
        "failing Security Hub findings read"
    );
    let reach = accounts::reach_ids(
        &session.sdk_config,
        &caller,
        &ids,
        &session.accounts.role,
        concurrency,
    )
    .await;
    let selection = Selection {
        findings: Some(kept.iter().map(|f| f.resource.clone()).collect()),
        finding_records: kept,
        ..selection.clone()
    };
    Ok((selection, reach))
}

/// What a person must do when findings cannot be read in `region`.
fn read_error(region: &str, err: &AwsError) -> UsageError {
    if crate::securityhub::is_not_enabled(err) {
        UsageError::new(format!(
            "Security Hub cannot be read in {region}: {err}"
        ))
        .with_hint(format!(
            "enable Security Hub in {region} for this account (`aws securityhub enable-security-hub --region {region}`), \
             leave the region out with --region, or run from the Security Hub administrator account; \
             --from-findings FILE reads an exported findings file instead"
        ))
    } else if crate::securityhub::is_access_denied(err) {
        UsageError::new(format!(
            "the credentials may not read Security Hub findings in {region}: {err}"
        ))
        .with_hint("--from-securityhub needs securityhub:GetFindings (docs/iam-policy.md)")
    } else {
        UsageError::new(format!("cannot read Security Hub findings in {region}: {err}"))
            .with_hint("check credentials, region and endpoint: `aws securityhub get-findings --max-results 1` should work with the same settings")
    }
}

// -------------------------------------------------------------------------------------------
// out
// -------------------------------------------------------------------------------------------

/// A resource a run works on, as its findings are found.
#[derive(Debug, Clone)]
pub struct Worked {
    pub key: ResourceId,
    /// The flags the run makes true on it: their controls' findings are the ones updated.
    pub fixes: Fixes,
}

/// The task updating findings beside a run; feed it outcomes, then [`FindingsUpdates::finish`].
pub struct FindingsUpdates {
    outcomes: mpsc::UnboundedSender<(ResourceId, Outcome)>,
    task: tokio::task::JoinHandle<FindingsReport>,
}

impl FindingsUpdates {
    /// Starts updating the findings of `worked`: NOTIFIED at once (the run is starting on them),
    /// then as outcomes arrive. `known` are findings read with `--from-securityhub`; without
    /// them each resource's findings are looked up by its ARN.
    pub fn start(
        config: &SdkConfig,
        run_id: &str,
        worked: Vec<Worked>,
        known: Option<Vec<FailingFinding>>,
    ) -> FindingsUpdates {
        let (outcomes, receiver) = mpsc::unbounded_channel();
        let updater = Updater {
            config: config.clone(),
            run_id: run_id.to_owned(),
            hubs: HashMap::new(),
            report: FindingsReport::default(),
        };
        let task = tokio::spawn(updater.run(worked, known, receiver));
        FindingsUpdates { outcomes, task }
    }

    /// Hands an item's outcome to the task; never waits.
    pub fn finished(&self, key: &ResourceId, outcome: &Outcome) {
        // A task that ended early has reported why in its warnings.
        let _ = self.outcomes.send((key.clone(), outcome.clone()));
    }

    /// Waits (at most [`FINISH_WAIT`]) for the updates still going, and returns what was done.
    pub async fn finish(self) -> FindingsReport {
        drop(self.outcomes);
        let abort = self.task.abort_handle();
        match tokio::time::timeout(FINISH_WAIT, self.task).await {
            Ok(Ok(report)) => report,
            Ok(Err(err)) => FindingsReport {
                warnings: vec![format!("Security Hub findings were not all updated: {err}")],
                ..FindingsReport::default()
            },
            Err(_) => {
                abort.abort();
                FindingsReport {
                    warnings: vec![format!(
                        "gave up updating Security Hub findings after {}s; the remediation is \
                         done, only some findings were not updated",
                        FINISH_WAIT.as_secs()
                    )],
                    ..FindingsReport::default()
                }
            }
        }
    }
}

/// One finding of a resource the run works on.
#[derive(Debug, Clone)]
struct FoundFinding {
    identifier: FindingIdentifier,
    region: String,
}

struct Updater {
    config: SdkConfig,
    run_id: String,
    hubs: HashMap<String, SecurityHub>,
    report: FindingsReport,
}

impl Updater {
    async fn run(
        mut self,
        worked: Vec<Worked>,
        known: Option<Vec<FailingFinding>>,
        mut outcomes: mpsc::UnboundedReceiver<(ResourceId, Outcome)>,
    ) -> FindingsReport {
        let findings = match known {
            Some(known) => matched(&worked, &known),
            None => self.look_up(&worked).await,
        };
        self.report.resources_without_findings = worked
            .iter()
            .filter(|w| findings.get(&w.key).is_none_or(Vec::is_empty))
            .count();
        let fixes: HashMap<ResourceId, Fixes> =
            worked.iter().map(|w| (w.key.clone(), w.fixes)).collect();
        let mut notify: Vec<(String, Workflow, FoundFinding)> = Vec::new();
        for w in &worked {
            let note = format!(
                "sm-recreate run {}{STARTING}{}. Resolved by the run once verified; \
                 rolled back from a snapshot on any failure.",
                self.run_id,
                intent(&w.key, w.fixes)
            );
            for finding in findings.get(&w.key).into_iter().flatten() {
                notify.push((note.clone(), Workflow::Notified, finding.clone()));
            }
        }
        self.send(notify).await;
        // Outcomes wait until a call's worth (100 findings of one status and note) is ready, or
        // the run ends: a run of hundreds makes a few calls, whatever order its items end in.
        let mut pending: BTreeMap<Group, Vec<FindingIdentifier>> = BTreeMap::new();
        while let Some((key, outcome)) = outcomes.recv().await {
            let (workflow, note) = self.after(&key, fixes.get(&key).copied(), &outcome);
            let mut full = Vec::new();
            for finding in findings.get(&key).into_iter().flatten() {
                let group = (
                    finding.region.clone(),
                    workflow == Workflow::Resolved,
                    note.clone(),
                );
                let waiting = pending.entry(group.clone()).or_default();
                if !waiting.contains(&finding.identifier) {
                    waiting.push(finding.identifier.clone());
                }
                if waiting.len() >= MAX_IDENTIFIERS && !full.contains(&group) {
                    full.push(group);
                }
            }
            for group in full {
                if let Some(identifiers) = pending.remove(&group) {
                    self.send_group(group, identifiers).await;
                }
            }
        }
        for (group, identifiers) in pending {
            self.send_group(group, identifiers).await;
        }
        self.report
    }

    /// The status and note for a resource's findings once the run is done with it: RESOLVED
    /// only after a verified fix; otherwise a note, and NOTIFIED kept.
    fn after(
        &self,
        key: &ResourceId,
        fixes: Option<Fixes>,
        outcome: &Outcome,
    ) -> (Workflow, String) {
        let run = &self.run_id;
        match outcome {
            Outcome::Recreated { .. } | Outcome::Updated => (
                Workflow::Resolved,
                format!(
                    "sm-recreate run {run} fixed and verified this resource: {} now true. \
                     Security Hub's next evaluation of the control confirms it.",
                    flags(fixes.unwrap_or(Fixes::NONE))
                ),
            ),
            Outcome::Failed {
                message,
                rolled_back: true,
            } => (
                Workflow::Notified,
                format!(
                    "sm-recreate run {run} could not fix this resource and rolled it back: it is \
                     as it was, still failing. {message}"
                ),
            ),
            other => (
                Workflow::Notified,
                format!(
                    "sm-recreate run {run} did not fix {}: {}{}",
                    key.name,
                    other.label(),
                    other
                        .message()
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                ),
            ),
        }
    }

    fn hub(&mut self, region: &str) -> SecurityHub {
        self.hubs
            .entry(region.to_owned())
            .or_insert_with(|| SecurityHub::new(&self.config, region))
            .clone()
    }

    /// Each resource's ACTIVE findings of its fixed controls, by ARN, several resources a call.
    async fn look_up(&mut self, worked: &[Worked]) -> HashMap<ResourceId, Vec<FoundFinding>> {
        let mut by_region: BTreeMap<String, Vec<&Worked>> = BTreeMap::new();
        for w in worked {
            by_region.entry(w.key.region.clone()).or_default().push(w);
        }
        let mut found: HashMap<ResourceId, Vec<FoundFinding>> = HashMap::new();
        for (region, items) in by_region {
            let hub = self.hub(&region);
            // Each resource is asked for by its ARN as spelled and lower-cased (how SageMaker
            // may write it, AWS-FACTS #2): two values each.
            for chunk in items.chunks(MAX_FILTER_VALUES / 2) {
                let mut arns: Vec<String> = Vec::new();
                let mut controls: BTreeSet<&'static str> = BTreeSet::new();
                for w in chunk {
                    let arn = arn_of(&w.key);
                    for spelled in [arn.clone(), arn.to_lowercase()] {
                        if !arns.contains(&spelled) {
                            arns.push(spelled);
                        }
                    }
                    controls.extend(controls_of(&w.key, w.fixes));
                }
                let controls: Vec<&str> = controls.into_iter().collect();
                match hub.findings_of(&arns, &controls).await {
                    Ok(findings) => {
                        for finding in &findings {
                            let Some((identifier, control, resource)) = finding_of(finding) else {
                                continue;
                            };
                            if let Some(w) = chunk.iter().find(|w| {
                                same_resource(&w.key, &resource)
                                    && controls_of(&w.key, w.fixes).contains(&control.as_str())
                            }) {
                                found.entry(w.key.clone()).or_default().push(FoundFinding {
                                    identifier,
                                    region: region.clone(),
                                });
                            }
                        }
                    }
                    Err(err) => self.report.warnings.push(format!(
                        "could not look up the Security Hub findings of {} resource(s) in {region}: {err}",
                        chunk.len()
                    )),
                }
            }
        }
        found
    }

    /// Sends the updates, grouped by region, status and note, at most [`MAX_IDENTIFIERS`] a
    /// call.
    async fn send(&mut self, updates: Vec<(String, Workflow, FoundFinding)>) {
        let mut groups: BTreeMap<Group, Vec<FindingIdentifier>> = BTreeMap::new();
        for (note, workflow, finding) in updates {
            let group = groups
                .entry((finding.region, workflow == Workflow::Resolved, note))
                .or_default();
            if !group.contains(&finding.identifier) {
                group.push(finding.identifier);
            }
        }
        for (group, identifiers) in groups {
            self.send_group(group, identifiers).await;
        }
    }

    /// One group's updates, [`MAX_IDENTIFIERS`] a call; counts what was done and warns about
    /// what was not.
    async fn send_group(&mut self, group: Group, identifiers: Vec<FindingIdentifier>) {
        let (region, resolved, note) = group;
        let hub = self.hub(&region);
        let workflow = if resolved {
            Workflow::Resolved
        } else {
            Workflow::Notified
        };
        for chunk in identifiers.chunks(MAX_IDENTIFIERS) {
            match hub.update(chunk, Some(workflow), &note).await {
                Ok(unprocessed) => {
                    let done = chunk.len() - unprocessed.len();
                    if resolved {
                        self.report.resolved += done;
                    } else if note.contains(STARTING) {
                        self.report.notified += done;
                    } else {
                        self.report.noted += done;
                    }
                    for (finding, reason) in unprocessed {
                        self.report.warnings.push(format!(
                            "Security Hub did not update finding {}: {reason}",
                            finding.id
                        ));
                    }
                }
                Err(err) => self.report.warnings.push(format!(
                    "could not update {} Security Hub finding(s) in {region}: {err}",
                    chunk.len()
                )),
            }
        }
    }
}

/// Findings updated in one call: region, whether RESOLVED (else NOTIFIED), and the note.
type Group = (String, bool, String);

/// How the note set as a run starts on a resource reads, after the run id.
const STARTING: &str = ": starting to ";

/// The findings read with `--from-securityhub` of each resource worked on (a finding's ARN may
/// spell the name in another case, I8), for the controls the run fixes on it.
fn matched(worked: &[Worked], known: &[FailingFinding]) -> HashMap<ResourceId, Vec<FoundFinding>> {
    let mut found: HashMap<ResourceId, Vec<FoundFinding>> = HashMap::new();
    for w in worked {
        let controls = controls_of(&w.key, w.fixes);
        for finding in known {
            if same_resource(&w.key, &finding.resource)
                && controls.contains(&finding.control.as_str())
                && !finding.id.is_empty()
            {
                found.entry(w.key.clone()).or_default().push(FoundFinding {
                    identifier: FindingIdentifier {
                        id: finding.id.clone(),
                        product_arn: finding.product_arn.clone(),
                    },
                    region: finding.resource.region.clone(),
                });
            }
        }
    }
    found
}

fn same_resource(a: &ResourceId, b: &ResourceId) -> bool {
    a.account_id == b.account_id
        && a.region == b.region
        && a.kind == b.kind
        && same_name(&a.name, &b.name)
}

fn subject_of(key: &ResourceId) -> Option<Subject> {
    match key.kind {
        ResourceKind::Definition(kind) => Some(Subject::Definition(kind)),
        ResourceKind::MonitoringSchedule => Some(Subject::InlineSchedule),
        ResourceKind::NotebookInstance => None,
    }
}

/// The controls that judge `fixes` on the resource.
fn controls_of(key: &ResourceId, fixes: Fixes) -> Vec<&'static str> {
    let Some(subject) = subject_of(key) else {
        return Vec::new();
    };
    fixes
        .iter()
        .map(|fix| ControlInfo::for_fix(subject, fix).id)
        .collect()
}

/// The resource's ARN. The partition follows the region's name (`cn-`, `us-gov-`), as AWS
/// names its partitions.
fn arn_of(key: &ResourceId) -> String {
    let partition = if key.region.starts_with("cn-") {
        "aws-cn"
    } else if key.region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    };
    let resource = match key.kind {
        ResourceKind::Definition(kind) => format!("{}/{}", kind.arn_type(), key.name),
        ResourceKind::MonitoringSchedule => format!("monitoring-schedule/{}", key.name),
        ResourceKind::NotebookInstance => format!("notebook-instance/{}", key.name),
    };
    format!(
        "arn:{partition}:sagemaker:{}:{}:{resource}",
        key.region, key.account_id
    )
}

/// A finding's identifier, control and resource, from its ASFF.
fn finding_of(finding: &Value) -> Option<(FindingIdentifier, String, ResourceId)> {
    let text = |pointer: &str| finding.pointer(pointer).and_then(Value::as_str);
    let identifier = FindingIdentifier {
        id: text("/Id")?.to_owned(),
        product_arn: text("/ProductArn")?.to_owned(),
    };
    let control = ControlInfo::find(text("/Compliance/SecurityControlId")?)?;
    let arn = text("/Resources/0/Id")?;
    let resource = match DefinitionArn::parse(arn) {
        Some(parsed) => ResourceId::definition(
            &parsed.account_id,
            &parsed.region,
            parsed.kind,
            &parsed.name,
        ),
        None => selection::schedule_arn(arn)?,
    };
    Some((identifier, control.id.to_owned(), resource))
}

/// "EnableInterContainerTrafficEncryption and EnableNetworkIsolation".
fn flags(fixes: Fixes) -> String {
    let names: Vec<&str> = fixes.iter().map(Fix::member).collect();
    if names.is_empty() {
        "the fixed flags".to_owned()
    } else {
        names.join(" and ")
    }
}

/// What the run is about to do to the resource, for the NOTIFIED note.
fn intent(key: &ResourceId, fixes: Fixes) -> String {
    match key.kind {
        ResourceKind::MonitoringSchedule => format!(
            "update this schedule's inline job definition in place, setting {} true",
            flags(fixes)
        ),
        _ => format!(
            "recreate this job definition with {} true (tags and schedules kept)",
            flags(fixes)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::Kind;

    #[test]
    fn arns_and_controls_of_a_worked_resource() {
        let key = ResourceId::definition("222222222222", "eu-west-1", Kind::ModelBias, "Risk-MB");
        assert_eq!(
            arn_of(&key),
            "arn:aws:sagemaker:eu-west-1:222222222222:model-bias-job-definition/Risk-MB"
        );
        assert_eq!(
            controls_of(&key, Fixes::ENCRYPTION.with(Fix::Isolation)),
            vec!["SageMaker.15", "SageMaker.12"]
        );
    }
}
