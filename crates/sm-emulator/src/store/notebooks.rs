//! Notebook instances: create, describe, list, stop, start, update and delete, with the
//! service's statuses and the transitions between them (AWS-FACTS #19).
//!
//! A notebook passes through `Pending` (create, start), `Stopping` (stop), `Updating` (update)
//! and `Deleting` (delete) for `Timings::notebook_transition`, then settles in `InService`,
//! `Stopped`, `Stopped` or gone. Each status change moves `LastModifiedTime`. Settling is lazy
//! and exact, like the schedules': it happens whenever the region is read.

use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::{RegionState, Store, paged};
use crate::config::{Seed, SeedNotebook};
use crate::listing::{self, LIST_LIMITS, PageRequest};
use crate::protocol::{ApiError, Members, Operation};
use crate::validation::notebooks::{self as validation, Origin};

pub(crate) const PENDING: &str = "Pending";
pub(crate) const IN_SERVICE: &str = "InService";
pub(crate) const STOPPING: &str = "Stopping";
pub(crate) const STOPPED: &str = "Stopped";
pub(crate) const FAILED: &str = "Failed";
pub(crate) const DELETING: &str = "Deleting";
pub(crate) const UPDATING: &str = "Updating";

/// `NotebookInstanceStatus`, in the model's order.
pub(crate) const NOTEBOOK_STATUSES: [&str; 7] = [
    PENDING, IN_SERVICE, STOPPING, STOPPED, FAILED, DELETING, UPDATING,
];

/// The reason a seeded `Failed` notebook gives when the seed names none.
const SEEDED_FAILURE_REASON: &str = "The notebook instance failed to start (seeded in the sandbox)";

/// Where a passing status leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Settles {
    To(&'static str),
    /// `Deleting` ends with the notebook gone.
    Gone,
}

#[derive(Debug, Clone, Copy)]
struct NotebookTransition {
    settles_at: Instant,
    settles: Settles,
}

#[derive(Debug)]
pub(super) struct StoredNotebook {
    /// What `DescribeNotebookInstance` returns once `settle` has run.
    pub(super) describe: Map<String, Value>,
    pub(super) tags: Vec<(String, String)>,
    transition: Option<NotebookTransition>,
}

impl StoredNotebook {
    fn member_str(&self, member: &str) -> Option<&str> {
        self.describe.get(member).and_then(Value::as_str)
    }

    pub(super) fn arn(&self) -> &str {
        self.member_str("NotebookInstanceArn").unwrap_or_default()
    }

    fn name(&self) -> &str {
        self.member_str("NotebookInstanceName").unwrap_or_default()
    }

    fn status(&self) -> &str {
        self.member_str("NotebookInstanceStatus")
            .unwrap_or_default()
    }

    fn time(&self, member: &str) -> f64 {
        self.describe
            .get(member)
            .and_then(Value::as_f64)
            .unwrap_or_default()
    }

    /// Moves `LastModifiedTime` to `wall_now`, and always forward: a status change is a
    /// modification the list filters see.
    fn touch(&mut self, wall_now: f64) {
        let moved = wall_now.max(self.time("LastModifiedTime") + 0.001);
        self.describe
            .insert("LastModifiedTime".into(), json!(moved));
    }

    /// Enters a passing status that settles after `delay`.
    fn begin(
        &mut self,
        status: &'static str,
        settles: Settles,
        now: Instant,
        delay: Duration,
        wall_now: f64,
    ) {
        self.describe
            .insert("NotebookInstanceStatus".into(), json!(status));
        self.touch(wall_now);
        self.transition = Some(NotebookTransition {
            settles_at: now + delay,
            settles,
        });
    }

    /// Applies the transition due by `now`. Returns `false` when the notebook is gone.
    pub(super) fn settle(&mut self, now: Instant, wall_now: f64) -> bool {
        let Some(transition) = self.transition.filter(|t| t.settles_at <= now) else {
            return true;
        };
        self.transition = None;
        let Settles::To(status) = transition.settles else {
            return false;
        };
        self.describe
            .insert("NotebookInstanceStatus".into(), json!(status));
        if status == IN_SERVICE {
            self.describe.remove("FailureReason");
            // The instance is launched anew on each start, and with it the network interface
            // in the customer's subnet: a guess (AWS-FACTS #19), and why the tool leaves
            // `NetworkInterfaceId` out of a notebook's hash.
            if self.describe.contains_key("SubnetId") {
                self.describe
                    .insert("NetworkInterfaceId".into(), json!(network_interface_id()));
            }
        }
        self.touch(wall_now);
        true
    }
}

/// A fresh `eni-` id in EC2's 17-hex-digit form.
fn network_interface_id() -> String {
    let bytes: [u8; 9] = rand::random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("eni-{}", &hex[..17])
}

/// The service's refusal of a call in the wrong status (seen for stop and start, by analogy for
/// update and delete; AWS-FACTS #19).
fn wrong_status(status: &str, allowed: &[&str], target: &str, arn: &str) -> ApiError {
    ApiError::validation(format!(
        "Status ({status}) not in ([{}]). Unable to transition to ({target}) for Notebook Instance ({arn}).",
        allowed.join(", ")
    ))
}

/// An unknown notebook. The code and bare message are how the service answers (Terraform's AWS
/// provider treats `ValidationException` containing `RecordNotFound` as gone); the exact message
/// is a guess (AWS-FACTS #19). Not `ResourceNotFound`: the tool must match this one.
fn notebook_not_found() -> ApiError {
    ApiError::validation("RecordNotFound")
}

impl Store {
    fn notebook_key(name: &str) -> String {
        // Names are unique case-insensitively and the ARN carries the name lower-cased (seen in
        // the service's own refusals, AWS-FACTS #19).
        name.to_ascii_lowercase()
    }

    pub(super) fn handle_notebook(
        &mut self,
        operation: Operation,
        region: &str,
        body: Members<'_>,
        now: Instant,
    ) -> Result<Value, ApiError> {
        match operation {
            Operation::CreateNotebook => self.create_notebook(region, body, Origin::Client, now),
            Operation::DescribeNotebook => self.describe_notebook(region, body, now),
            Operation::ListNotebooks => self.list_notebooks(region, body, now),
            Operation::StopNotebook => self.stop_notebook(region, body, now),
            Operation::StartNotebook => self.start_notebook(region, body, now),
            Operation::UpdateNotebook => self.update_notebook(region, body, now),
            Operation::DeleteNotebook => self.delete_notebook(region, body, now),
            other => Err(ApiError::unknown_operation(&other.name())),
        }
    }

    fn create_notebook(
        &mut self,
        region: &str,
        body: Members<'_>,
        origin: Origin,
        now: Instant,
    ) -> Result<Value, ApiError> {
        validation::create_request(body, origin)?;
        let name = validation::notebook_name(body)?;
        let arn = self.arn(region, "notebook-instance", name);
        let delay = self.timings.notebook_transition;
        let timestamp = self.clock.next();
        let state = self.settled_region(region, now);
        if state.notebooks.contains_key(&Store::notebook_key(name)) {
            // ValidationException, as the service answers the other notebook refusals; the
            // wording is a guess (AWS-FACTS #19).
            return Err(ApiError::validation(format!(
                "Cannot create a duplicate Notebook Instance ({arn})"
            )));
        }
        let mut describe = Map::new();
        let mut put = |member: &str, value: Value| {
            describe.insert(member.to_owned(), value);
        };
        put("NotebookInstanceArn", json!(arn));
        put("NotebookInstanceName", json!(name));
        put("NotebookInstanceStatus", json!(PENDING));
        // The URL's form is the service's; that it is there in every status is a guess.
        put(
            "Url",
            json!(format!(
                "{}.notebook.{region}.sagemaker.aws",
                name.to_ascii_lowercase()
            )),
        );
        let copied = |member: &str| body.get(member).cloned();
        if let Some(value) = copied("InstanceType") {
            put("InstanceType", value);
        }
        // Documented default: ipv4.
        put(
            "IpAddressType",
            copied("IpAddressType").unwrap_or_else(|| json!("ipv4")),
        );
        if let Some(subnet) = copied("SubnetId") {
            put("SubnetId", subnet);
            put(
                "SecurityGroups",
                copied("SecurityGroupIds").unwrap_or_else(|| json!([])),
            );
        }
        if let Some(value) = copied("RoleArn") {
            put("RoleArn", value);
        }
        if let Some(value) = copied("KmsKeyId") {
            put("KmsKeyId", value);
        }
        // Only in a VPC: the interface SageMaker creates in the customer's subnet.
        if body.get("SubnetId").is_some() {
            put("NetworkInterfaceId", json!(network_interface_id()));
        }
        put("LastModifiedTime", json!(timestamp));
        put("CreationTime", json!(timestamp));
        if let Some(value) = copied("LifecycleConfigName") {
            put("NotebookInstanceLifecycleConfigName", value);
        }
        // Documented defaults: internet access and root access Enabled, a 5 GB volume, platform
        // notebook-al2-v2, and IMDSv1 (both versions) when no minimum is chosen.
        put(
            "DirectInternetAccess",
            copied("DirectInternetAccess").unwrap_or_else(|| json!("Enabled")),
        );
        put(
            "VolumeSizeInGB",
            copied("VolumeSizeInGB").unwrap_or_else(|| json!(5)),
        );
        if let Some(value) = copied("AcceleratorTypes") {
            put("AcceleratorTypes", value);
        }
        if let Some(value) = copied("DefaultCodeRepository") {
            put("DefaultCodeRepository", value);
        }
        if let Some(value) = copied("AdditionalCodeRepositories") {
            put("AdditionalCodeRepositories", value);
        }
        put(
            "RootAccess",
            copied("RootAccess").unwrap_or_else(|| json!("Enabled")),
        );
        put(
            "PlatformIdentifier",
            copied("PlatformIdentifier").unwrap_or_else(|| json!("notebook-al2-v2")),
        );
        put(
            "InstanceMetadataServiceConfiguration",
            copied("InstanceMetadataServiceConfiguration")
                .unwrap_or_else(|| json!({"MinimumInstanceMetadataServiceVersion": "1"})),
        );
        let mut notebook = StoredNotebook {
            describe,
            tags: body.tags("Tags")?.unwrap_or_default(),
            transition: None,
        };
        notebook.transition = Some(NotebookTransition {
            settles_at: now + delay,
            settles: Settles::To(IN_SERVICE),
        });
        state.notebooks.insert(Store::notebook_key(name), notebook);
        Ok(json!({ "NotebookInstanceArn": arn }))
    }

    fn describe_notebook(
        &mut self,
        region: &str,
        body: Members<'_>,
        now: Instant,
    ) -> Result<Value, ApiError> {
        let name = validation::notebook_name(body)?;
        self.settled_region(region, now)
            .notebooks
            .get(&Store::notebook_key(name))
            .map(|notebook| Value::Object(notebook.describe.clone()))
            .ok_or_else(notebook_not_found)
    }

    fn list_notebooks(
        &mut self,
        region: &str,
        body: Members<'_>,
        now: Instant,
    ) -> Result<Value, ApiError> {
        let page = PageRequest::parse("ListNotebookInstances", body, &LIST_LIMITS)?;
        // Documented: the default is Name.
        let sort_by = body.string("SortBy")?.unwrap_or("Name");
        let mut violations = crate::validation::Violations::default();
        violations.enumeration("sortBy", sort_by, &["Name", "CreationTime", "Status"]);
        violations.into_result()?;
        // The default order is not documented for this list: Descending, as the other lists
        // document theirs, is a guess.
        let descending = listing::descending(body)?;
        validation::list_request(body)?;
        let name_contains = body.string("NameContains")?.map(str::to_ascii_lowercase);
        let status = body.string("StatusEquals")?;
        let lifecycle_contains = body
            .string("NotebookInstanceLifecycleConfigNameContains")?
            .map(str::to_ascii_lowercase);
        let repository_contains = body
            .string("DefaultCodeRepositoryContains")?
            .map(str::to_ascii_lowercase);
        let additional_repository = body.string("AdditionalCodeRepositoryEquals")?;
        let created_before = body.timestamp("CreationTimeBefore")?;
        let created_after = body.timestamp("CreationTimeAfter")?;
        let modified_before = body.timestamp("LastModifiedTimeBefore")?;
        let modified_after = body.timestamp("LastModifiedTimeAfter")?;

        let contains = |text: Option<&str>, part: &Option<String>| {
            part.as_deref().is_none_or(|part| {
                text.is_some_and(|text| text.to_ascii_lowercase().contains(part))
            })
        };
        let state = self.settled_region(region, now);
        let mut matching: Vec<&StoredNotebook> = state
            .notebooks
            .values()
            .filter(|notebook| {
                let created = notebook.time("CreationTime");
                let modified = notebook.time("LastModifiedTime");
                contains(Some(notebook.name()), &name_contains)
                    && status.is_none_or(|wanted| notebook.status() == wanted)
                    && contains(
                        notebook.member_str("NotebookInstanceLifecycleConfigName"),
                        &lifecycle_contains,
                    )
                    && contains(
                        notebook.member_str("DefaultCodeRepository"),
                        &repository_contains,
                    )
                    && additional_repository.is_none_or(|wanted| {
                        notebook
                            .describe
                            .get("AdditionalCodeRepositories")
                            .and_then(Value::as_array)
                            .is_some_and(|repositories| {
                                repositories.iter().any(|r| r.as_str() == Some(wanted))
                            })
                    })
                    && created_before.is_none_or(|before| created < before)
                    && created_after.is_none_or(|after| created > after)
                    && modified_before.is_none_or(|before| modified < before)
                    && modified_after.is_none_or(|after| modified > after)
            })
            .collect();
        matching.sort_by(|a, b| {
            let by_time = listing::compare_times(a.time("CreationTime"), b.time("CreationTime"));
            let order = match sort_by {
                "Name" => a.name().cmp(b.name()).then(by_time),
                "Status" => a.status().cmp(b.status()).then(by_time),
                _ => by_time,
            };
            if descending { order.reverse() } else { order }
        });
        let summaries = matching
            .into_iter()
            .map(|notebook| {
                let mut summary = Map::new();
                for member in [
                    "NotebookInstanceName",
                    "NotebookInstanceArn",
                    "NotebookInstanceStatus",
                    "Url",
                    "InstanceType",
                    "CreationTime",
                    "LastModifiedTime",
                    "NotebookInstanceLifecycleConfigName",
                    "DefaultCodeRepository",
                    "AdditionalCodeRepositories",
                ] {
                    if let Some(value) = notebook.describe.get(member) {
                        summary.insert(member.into(), value.clone());
                    }
                }
                Value::Object(summary)
            })
            .collect();
        Ok(paged("NotebookInstances", &page, summaries))
    }

    /// The notebook `body` names, settled, for a change that `allowed` statuses permit.
    fn notebook_for_change<'a>(
        state: &'a mut RegionState,
        name: &str,
        allowed: &[&str],
        target: &str,
    ) -> Result<&'a mut StoredNotebook, ApiError> {
        let notebook = state
            .notebooks
            .get_mut(&Store::notebook_key(name))
            .ok_or_else(notebook_not_found)?;
        if !allowed.contains(&notebook.status()) {
            return Err(wrong_status(
                notebook.status(),
                allowed,
                target,
                notebook.arn(),
            ));
        }
        Ok(notebook)
    }

    fn stop_notebook(
        &mut self,
        region: &str,
        body: Members<'_>,
        now: Instant,
    ) -> Result<Value, ApiError> {
        let name = validation::notebook_name(body)?;
        let delay = self.timings.notebook_transition;
        let wall_now = self.clock.next();
        let state = self.settled_region(region, now);
        let notebook = Store::notebook_for_change(state, name, &[IN_SERVICE], STOPPING)?;
        notebook.begin(STOPPING, Settles::To(STOPPED), now, delay, wall_now);
        Ok(json!({}))
    }

    fn start_notebook(
        &mut self,
        region: &str,
        body: Members<'_>,
        now: Instant,
    ) -> Result<Value, ApiError> {
        let name = validation::notebook_name(body)?;
        let delay = self.timings.notebook_transition;
        let wall_now = self.clock.next();
        let state = self.settled_region(region, now);
        let notebook = Store::notebook_for_change(state, name, &[STOPPED, FAILED], PENDING)?;
        notebook.begin(PENDING, Settles::To(IN_SERVICE), now, delay, wall_now);
        Ok(json!({}))
    }

    fn delete_notebook(
        &mut self,
        region: &str,
        body: Members<'_>,
        now: Instant,
    ) -> Result<Value, ApiError> {
        let name = validation::notebook_name(body)?;
        let delay = self.timings.notebook_transition;
        let wall_now = self.clock.next();
        let state = self.settled_region(region, now);
        let notebook = Store::notebook_for_change(state, name, &[STOPPED, FAILED], DELETING)?;
        notebook.begin(DELETING, Settles::Gone, now, delay, wall_now);
        Ok(json!({}))
    }

    /// Applies exactly the members sent; every other setting stays as it is.
    fn update_notebook(
        &mut self,
        region: &str,
        body: Members<'_>,
        now: Instant,
    ) -> Result<Value, ApiError> {
        validation::update_request(body)?;
        let name = validation::notebook_name(body)?;
        let delay = self.timings.notebook_transition;
        let wall_now = self.clock.next();
        let state = self.settled_region(region, now);
        // Documented: only a stopped notebook is updated (AWS-FACTS #14). The set and wording of
        // the refusal follow stop's and start's, which are seen; for update they are a guess.
        let notebook = Store::notebook_for_change(state, name, &[STOPPED], UPDATING)?;
        let changes = notebook_changes(body, &notebook.describe)?;
        for (member, value) in changes {
            match value {
                Some(value) => notebook.describe.insert(member.to_owned(), value),
                None => notebook.describe.remove(member),
            };
        }
        notebook.begin(UPDATING, Settles::To(STOPPED), now, delay, wall_now);
        Ok(json!({}))
    }

    /// Creates the seed's notebooks of this store's account (`seed` runs it after the schedules),
    /// through the same validation as requests but allowing what older notebooks carry, and
    /// settles each in its seeded status.
    pub(super) fn seed_notebooks(&mut self, seed: &Seed) -> Result<(), crate::EmulatorError> {
        let now = self.started;
        let ours = |entry: &SeedNotebook| {
            entry.account_id.as_deref().unwrap_or(&seed.account_id) == self.account_id
        };
        let entries: Vec<(usize, &SeedNotebook)> = seed
            .notebooks
            .iter()
            .enumerate()
            .filter(|(_, entry)| ours(entry))
            .collect();
        for (index, entry) in entries {
            let rejected = |message: String| crate::EmulatorError::InvalidSeed {
                entry: format!(
                    "notebooks[{index}] ({})",
                    entry.request["NotebookInstanceName"]
                ),
                message,
            };
            let Value::Object(body) = &entry.request else {
                return Err(rejected("request must be a JSON object".to_owned()));
            };
            self.create_notebook(&entry.region, Members(body), Origin::Seed, now)
                .map_err(|error| rejected(format!("{}: {}", error.code, error.message)))?;
            let name = body
                .get("NotebookInstanceName")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let notebook = self
                .regions
                .get_mut(&entry.region)
                .and_then(|region| region.notebooks.get_mut(&Store::notebook_key(name)))
                .ok_or_else(|| rejected("notebook vanished after creation".to_owned()))?;
            notebook.transition = None;
            // `Seed::validate` has checked the status and the reason.
            let status = match entry.status.as_deref() {
                Some(STOPPED) => STOPPED,
                Some(FAILED) => FAILED,
                _ => IN_SERVICE,
            };
            notebook
                .describe
                .insert("NotebookInstanceStatus".into(), json!(status));
            if status == FAILED {
                let reason = entry
                    .failure_reason
                    .as_deref()
                    .unwrap_or(SEEDED_FAILURE_REASON);
                notebook
                    .describe
                    .insert("FailureReason".into(), json!(reason));
            }
        }
        Ok(())
    }

    // ----- direct access for the `Emulator` handle -----

    pub(crate) fn notebook(&mut self, region: &str, name: &str, now: Instant) -> Option<Value> {
        self.settled_region(region, now)
            .notebooks
            .get(&Store::notebook_key(name))
            .map(|notebook| Value::Object(notebook.describe.clone()))
    }

    pub(crate) fn notebook_tags(
        &mut self,
        region: &str,
        name: &str,
        now: Instant,
    ) -> Option<Vec<(String, String)>> {
        self.settled_region(region, now)
            .notebooks
            .get(&Store::notebook_key(name))
            .map(|notebook| notebook.tags.clone())
    }

    pub(crate) fn notebook_names(&mut self, region: &str, now: Instant) -> Vec<String> {
        self.settled_region(region, now)
            .notebooks
            .values()
            .map(|notebook| notebook.name().to_owned())
            .collect()
    }
}

/// The describe members an update sets (`Some`) or removes (`None`), from the members sent.
fn notebook_changes(
    body: Members<'_>,
    describe: &Map<String, Value>,
) -> Result<Vec<(&'static str, Option<Value>)>, ApiError> {
    let mut changes = Vec::new();
    for member in [
        "InstanceType",
        "IpAddressType",
        "PlatformIdentifier",
        "RoleArn",
        "RootAccess",
        "InstanceMetadataServiceConfiguration",
    ] {
        if let Some(value) = body.get(member) {
            changes.push((member, Some(value.clone())));
        }
    }
    if let Some(size) = body.integer("VolumeSizeInGB")? {
        let current = describe
            .get("VolumeSizeInGB")
            .and_then(Value::as_i64)
            .unwrap_or(5);
        // Documented: "you can increase the volume size ... but you can't decrease the volume
        // size". The wording of the refusal is a guess.
        if size < current {
            return Err(ApiError::validation(format!(
                "VolumeSizeInGB cannot be decreased: the volume has {current} GB and {size} GB was requested"
            )));
        }
        changes.push(("VolumeSizeInGB", Some(json!(size))));
    }
    // A setting and its disassociate flag: the flag removes it (idempotently, as documented).
    // Sending both is refused; that refusal and its wording are a guess.
    for (member, described_as, flag) in [
        (
            "LifecycleConfigName",
            "NotebookInstanceLifecycleConfigName",
            "DisassociateLifecycleConfig",
        ),
        (
            "DefaultCodeRepository",
            "DefaultCodeRepository",
            "DisassociateDefaultCodeRepository",
        ),
        (
            "AdditionalCodeRepositories",
            "AdditionalCodeRepositories",
            "DisassociateAdditionalCodeRepositories",
        ),
        (
            "AcceleratorTypes",
            "AcceleratorTypes",
            "DisassociateAcceleratorTypes",
        ),
    ] {
        let value = body.get(member);
        let disassociate = body.boolean(flag)? == Some(true);
        match (value, disassociate) {
            (Some(_), true) => {
                return Err(ApiError::validation(format!(
                    "{member} and {flag} cannot both be specified"
                )));
            }
            (Some(value), false) => changes.push((described_as, Some(value.clone()))),
            (None, true) => changes.push((described_as, None)),
            (None, false) => {}
        }
    }
    Ok(changes)
}
