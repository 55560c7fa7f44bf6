//! The plan of one notebook instance: SageMaker.3 (`RootAccess`) is fixed in place, the running
//! notebooks only with consent; SageMaker.1, .2 and .21 cannot change in place and a notebook is
//! never deleted (its ML storage volume holds its users' work), so for those the plan prints the
//! exact `aws sagemaker create-notebook-instance` command of a compliant replacement, with every
//! setting copied, and the steps to move the data. Pure: no I/O.

use super::{Action, managing_stack};
use crate::compliance::{self, NotebookVerdict};
use crate::exit::UsageError;
use crate::inventory::Notebook;
use crate::kinds::{NotebookControlInfo, NotebookSetting, is_valid_name, same_name};
use crate::request::{self, NOTEBOOK_STATE_MEMBERS};
use crate::sagemaker::Tag;
use crate::shell::shell_quote;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeSet;

use super::selection::NotebookScope;

/// What the plan says of a running notebook it will stop and start again, everywhere it says it:
/// the plan, the checklist, the skip without consent.
pub const RESTART_LABEL: &str = "will be restarted (open sessions end)";

/// Does a notebook in this status run, or is it about to (`Pending` becomes `InService`)? Its
/// update then stops and starts it again.
pub fn status_runs(status: &str) -> bool {
    matches!(status, "InService" | "Pending")
}

/// The settings a rebuild takes from flags when the notebook has none (`--subnet`,
/// `--security-group`, `--kms-key`), checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RebuildOptions {
    pub subnet: Option<String>,
    pub security_groups: Vec<String>,
    pub kms_key: Option<String>,
}

impl RebuildOptions {
    /// Checks the flags' shapes before any call: a typo would otherwise only show when someone
    /// runs the printed command.
    pub fn new(
        subnet: Option<String>,
        security_groups: Vec<String>,
        kms_key: Option<String>,
    ) -> Result<RebuildOptions, UsageError> {
        if let Some(subnet) = &subnet
            && !is_resource_id(subnet, "subnet-")
        {
            return Err(UsageError::new(format!("`{subnet}` is not a subnet id"))
                .with_hint("a subnet id looks like subnet-0123456789abcdef0"));
        }
        for group in &security_groups {
            if !is_resource_id(group, "sg-") {
                return Err(
                    UsageError::new(format!("`{group}` is not a security group id"))
                        .with_hint("a security group id looks like sg-0123456789abcdef0"),
                );
            }
        }
        // CreateNotebookInstance takes 1 to 5 security groups (service model).
        if security_groups.len() > 5 {
            return Err(UsageError::new(format!(
                "{} security groups given; a notebook takes at most 5",
                security_groups.len()
            )));
        }
        if !security_groups.is_empty() && subnet.is_none() {
            return Err(UsageError::new(
                "--security-group needs --subnet: security groups belong to a VPC",
            )
            .with_hint("pass the subnet they are for: --subnet subnet-0123456789abcdef0"));
        }
        if let Some(key) = &kms_key
            && !is_kms_key(key)
        {
            return Err(
                UsageError::new(format!("`{key}` is not a KMS key")).with_hint(
                    "give a key id (1234abcd-12ab-34cd-56ef-1234567890ab), a key ARN, an alias \
                 (alias/notebooks) or an alias ARN",
                ),
            );
        }
        Ok(RebuildOptions {
            subnet,
            security_groups,
            kms_key,
        })
    }
}

/// `prefix` then 8 or 17 lower-case hex digits, as EC2 writes subnet and security group ids.
fn is_resource_id(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix).is_some_and(|hex| {
        matches!(hex.len(), 8 | 17)
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// A key id, key ARN, alias name or alias ARN, within the service model's `KmsKeyId` pattern
/// (`[a-zA-Z0-9:/_-]*`, at most 2048).
fn is_kms_key(key: &str) -> bool {
    let allowed = !key.is_empty()
        && key.len() <= 2048
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b":/_-".contains(&b));
    let key_id = |id: &str| {
        id.len() == 36
            && id
                .bytes()
                .enumerate()
                .all(|(i, b)| matches!(i, 8 | 13 | 18 | 23) == (b == b'-') && b != b'/')
    };
    let shaped = key_id(key)
        || key.strip_prefix("alias/").is_some_and(|a| !a.is_empty())
        || (key.starts_with("arn:") && (key.contains(":key/") || key.contains(":alias/")));
    allowed && shaped
}

/// One notebook instance's entry in the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct NotebookPlanItem {
    pub notebook: Notebook,
    pub verdict: NotebookVerdict,
    /// `Update` (RootAccess in place), `Compliant`, or `Skip` (nothing the tool changes: a
    /// status it cannot act on, its stack, or only settings a rebuild fixes).
    pub action: Action,
    pub reason: Option<String>,
    /// `NotebookInstanceStatus` when planned.
    pub status: String,
    /// For `Update`: what the change means beyond the setting (a restart, a wait).
    pub note: Option<String>,
    pub stack: Option<String>,
    /// For SageMaker.1, .2, .21 judged and failing: the compliant replacement.
    pub rebuild: Option<Rebuild>,
    /// `request::notebook_hash` of the describe and tags.
    pub snapshot_sha256: String,
}

impl NotebookPlanItem {
    /// Is it an update of a running notebook: stopped and started again, with consent only?
    pub fn restarts(&self) -> bool {
        self.action == Action::Update && status_runs(&self.status)
    }

    /// The notebook's settings as they are (its describe without the members that change on
    /// their own), with its tags.
    pub fn before_view(&self) -> Value {
        let mut view = self.notebook.raw.clone();
        if let Value::Object(members) = &mut view {
            for member in NOTEBOOK_STATE_MEMBERS {
                members.remove(member);
            }
            members.insert(
                "Tags".to_owned(),
                serde_json::to_value(&self.notebook.tags).expect("tags serialize"),
            );
        }
        view
    }

    /// The settings as the update leaves them: `RootAccess` Disabled, nothing else.
    pub fn after_view(&self) -> Value {
        let mut view = self.before_view();
        if self.action == Action::Update {
            view[NotebookSetting::RootAccess.member()] = Value::String("Disabled".to_owned());
        }
        view
    }
}

/// A compliant replacement for a notebook whose SageMaker.1, .2 or .21 fails: its name, the
/// command that creates it, what the command needs filled in, what it could not copy, and how
/// to move the data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rebuild {
    pub new_name: String,
    /// `aws sagemaker create-notebook-instance ...`, shell-quoted, on one line.
    pub command: String,
    /// Shell variables the command reads (it stops with their meaning when one is unset).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub placeholders: Vec<Placeholder>,
    /// Settings not copied, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Moving the users' work from the old notebook to the new one, in order.
    pub data_steps: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placeholder {
    /// The shell variable, e.g. `SUBNET_ID`.
    pub name: String,
    pub meaning: String,
}

impl Placeholder {
    /// The word in the command: the shell stops ("parameter null or not set") while the
    /// variable is unset, rather than send a request without it. `split` leaves it unquoted, for
    /// a list of words.
    fn word(&self, split: bool) -> String {
        let word = format!("${{{}:?}}", self.name);
        if split { word } else { format!("\"{word}\"") }
    }
}

/// Plans one notebook under the run's notebook controls.
pub fn plan_notebook(
    notebook: Notebook,
    judged: &NotebookScope,
    include_managed: bool,
    rebuild: &RebuildOptions,
    taken: &BTreeSet<(String, String)>,
) -> NotebookPlanItem {
    let verdict = compliance::evaluate_notebook(&notebook.raw, judged.controls());
    let status = notebook
        .raw
        .get("NotebookInstanceStatus")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let stack = managing_stack(Some(&notebook.tags));
    let snapshot_sha256 = request::notebook_hash(&notebook.raw, &notebook.tags);
    let needs_rebuild = [
        NotebookSetting::DirectInternetAccess,
        NotebookSetting::SubnetId,
        NotebookSetting::KmsKeyId,
    ]
    .into_iter()
    .any(|setting| verdict.fails(NotebookControlInfo::of(setting)));
    let rebuild = needs_rebuild.then(|| rebuild_of(&notebook, rebuild, taken));
    let root_fails = verdict.fails(NotebookControlInfo::of(NotebookSetting::RootAccess));
    let mut item = NotebookPlanItem {
        notebook,
        verdict,
        action: Action::Compliant,
        reason: None,
        status,
        note: None,
        stack: stack.clone(),
        rebuild,
        snapshot_sha256,
    };
    if item.verdict.compliant {
        return item;
    }
    item.action = Action::Skip;
    if !root_fails {
        item.reason = Some(
            "what fails cannot change in place, and a notebook is never deleted: rebuild it \
             with the command shown"
                .to_owned(),
        );
        return item;
    }
    if let Some(stack) = stack
        && !include_managed
    {
        item.reason = Some(format!(
            "managed by CloudFormation stack `{stack}`: set RootAccess: Disabled in its \
             template and update the stack (or pass --include-managed)"
        ));
        return item;
    }
    let failure = item
        .notebook
        .raw
        .get("FailureReason")
        .and_then(Value::as_str)
        .unwrap_or("no reason given");
    match item.status.as_str() {
        "Stopped" => {
            item.action = Action::Update;
            item.note = Some("updated and left stopped".to_owned());
        }
        "InService" => {
            item.action = Action::Update;
            item.note = Some(RESTART_LABEL.to_owned());
        }
        "Pending" => {
            item.action = Action::Update;
            item.note = Some(format!(
                "Pending: the executor waits for it to settle; it then {RESTART_LABEL}"
            ));
        }
        "Stopping" | "Updating" => {
            item.action = Action::Update;
            item.note = Some(format!(
                "{}: the executor waits for it to settle as Stopped, then updates it",
                item.status
            ));
        }
        "Failed" => item.reason = Some(format!("Failed: {failure}")),
        "Deleting" => item.reason = Some("being deleted".to_owned()),
        other => {
            item.reason = Some(format!(
                "status `{other}` is not one this tool knows how to act on"
            ));
        }
    }
    item
}

/// Platform identifiers `CreateNotebookInstance` no longer accepts. Amazon Linux 1 notebooks
/// reached end of support and new ones cannot be made on it (the service model's pattern still
/// lists `notebook-al1-v1`, so this follows AWS's announcements, not the model: fairly sure, not
/// certain). The AL2 JupyterLab 1 and 3 platforms are still accepted and are copied.
const RETIRED_PLATFORMS: [&str; 1] = ["notebook-al1-v1"];

/// The folder of a notebook's ML storage volume that holds its users' work.
const WORK_FOLDER: &str = "/home/ec2-user/SageMaker";

/// The compliant replacement of `notebook`.
fn rebuild_of(
    notebook: &Notebook,
    options: &RebuildOptions,
    taken: &BTreeSet<(String, String)>,
) -> Rebuild {
    let raw = &notebook.raw;
    let text = |member: &str| {
        raw.get(member)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    let strings = |member: &str| -> Vec<String> {
        raw.get(member)
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let new_name = replacement_name(&notebook.region, &notebook.name, taken);
    let mut args: Vec<(&str, String)> = vec![
        ("--region", shell_quote(&notebook.region)),
        ("--notebook-instance-name", shell_quote(&new_name)),
    ];
    let mut placeholders = Vec::new();
    let mut notes = Vec::new();
    if let Some(instance_type) = text("InstanceType") {
        args.push(("--instance-type", shell_quote(instance_type)));
    }
    if let Some(role) = text("RoleArn") {
        args.push(("--role-arn", shell_quote(role)));
    }
    // The network: DirectInternetAccess Disabled needs a subnet (AWS-FACTS #18).
    let (subnet, groups) = match text("SubnetId") {
        Some(subnet) => (
            shell_quote(subnet),
            strings("SecurityGroups")
                .iter()
                .map(|g| shell_quote(g))
                .collect(),
        ),
        None => match &options.subnet {
            Some(subnet) if !options.security_groups.is_empty() => (
                shell_quote(subnet),
                options
                    .security_groups
                    .iter()
                    .map(|g| shell_quote(g))
                    .collect(),
            ),
            Some(subnet) => {
                let groups = Placeholder {
                    name: "SECURITY_GROUP_IDS".to_owned(),
                    meaning: format!(
                        "1 to 5 security group ids of the VPC of {subnet}, space-separated"
                    ),
                };
                let word = groups.word(true);
                placeholders.push(groups);
                (shell_quote(subnet), vec![word])
            }
            None => {
                let subnet = Placeholder {
                    name: "SUBNET_ID".to_owned(),
                    meaning: "a private subnet of your VPC (with a NAT gateway or VPC endpoints \
                              for what the notebook reaches)"
                        .to_owned(),
                };
                let groups = Placeholder {
                    name: "SECURITY_GROUP_IDS".to_owned(),
                    meaning: "1 to 5 security group ids of that subnet's VPC, space-separated"
                        .to_owned(),
                };
                let words = (subnet.word(false), vec![groups.word(true)]);
                placeholders.extend([subnet, groups]);
                words
            }
        },
    };
    args.push(("--subnet-id", subnet));
    if !groups.is_empty() {
        args.push(("--security-group-ids", groups.join(" ")));
    }
    if let Some(ip) = text("IpAddressType") {
        args.push(("--ip-address-type", shell_quote(ip)));
    }
    args.push(("--direct-internet-access", "Disabled".to_owned()));
    args.push(("--root-access", "Disabled".to_owned()));
    let kms = match text("KmsKeyId").or(options.kms_key.as_deref()) {
        Some(key) => shell_quote(key),
        None => {
            let key = Placeholder {
                name: "KMS_KEY_ID".to_owned(),
                meaning: "the KMS key (id, ARN or alias) that encrypts the new notebook's volume"
                    .to_owned(),
            };
            let word = key.word(false);
            placeholders.push(key);
            word
        }
    };
    args.push(("--kms-key-id", kms));
    if let Some(lifecycle) = text("NotebookInstanceLifecycleConfigName") {
        args.push(("--lifecycle-config-name", shell_quote(lifecycle)));
    }
    if let Some(size) = raw.get("VolumeSizeInGB").and_then(Value::as_u64) {
        args.push(("--volume-size-in-gb", size.to_string()));
    }
    if let Some(repository) = text("DefaultCodeRepository") {
        args.push(("--default-code-repository", shell_quote(repository)));
    }
    let additional = strings("AdditionalCodeRepositories");
    if !additional.is_empty() {
        let words: Vec<String> = additional.iter().map(|r| shell_quote(r)).collect();
        args.push(("--additional-code-repositories", words.join(" ")));
    }
    match text("PlatformIdentifier") {
        Some(platform) if RETIRED_PLATFORMS.contains(&platform) => notes.push(format!(
            "PlatformIdentifier {platform} (Amazon Linux 1) is retired and not copied: the new \
             notebook gets the service's default platform; name one with \
             --platform-identifier notebook-al2023-v1 (check its libraries with your users)"
        )),
        Some(platform) => args.push(("--platform-identifier", shell_quote(platform))),
        None => {}
    }
    if let Some(imds) = raw.get("InstanceMetadataServiceConfiguration")
        && imds.is_object()
    {
        let json = serde_json::to_string(imds).expect("JSON serializes");
        args.push((
            "--instance-metadata-service-configuration",
            shell_quote(&json),
        ));
    }
    let accelerators = strings("AcceleratorTypes");
    if !accelerators.is_empty() {
        notes.push(format!(
            "AcceleratorTypes {} not copied: Elastic Inference accelerators are no longer \
             accepted by CreateNotebookInstance",
            accelerators.join(", ")
        ));
    }
    let kept: Vec<&Tag> = notebook
        .tags
        .iter()
        .filter(|t| !request::is_reserved_tag(t))
        .collect();
    if !kept.is_empty() {
        let json = serde_json::to_string(&kept).expect("tags serialize");
        args.push(("--tags", shell_quote(&json)));
    }
    let reserved: Vec<&str> = notebook
        .tags
        .iter()
        .filter(|t| request::is_reserved_tag(t))
        .map(|t| t.key.as_str())
        .collect();
    if !reserved.is_empty() {
        notes.push(format!(
            "AWS-reserved tags cannot be set and are not copied: {}",
            reserved.join(", ")
        ));
    }
    let mut command = "aws sagemaker create-notebook-instance".to_owned();
    for (flag, value) in &args {
        command.push(' ');
        command.push_str(flag);
        command.push(' ');
        command.push_str(value);
    }
    let region = shell_quote(&notebook.region);
    let folder = format!("s3://BUCKET/notebook-moves/{}/", notebook.name);
    let data_steps = vec![
        format!(
            "In a terminal of {} (Jupyter: File > New > Terminal), copy the users' work to S3 \
             (BUCKET: a bucket of yours, encrypted with your KMS key): `aws s3 sync {WORK_FOLDER} {folder}`",
            notebook.name
        ),
        "Create the new notebook with the command above, and wait for it: \
         `aws sagemaker wait notebook-instance-in-service --region "
            .to_owned()
            + &region
            + " --notebook-instance-name "
            + &shell_quote(&new_name)
            + "`",
        format!(
            "In a terminal of {new_name}, copy the work back: `aws s3 sync {folder} {WORK_FOLDER}` \
             (without direct internet access it reaches S3 through the subnet's NAT gateway or \
             an S3 VPC endpoint)"
        ),
        format!(
            "Once its users have checked {new_name}, stop and delete {} yourself: sm-recreate \
             never deletes a notebook",
            notebook.name
        ),
    ];
    Rebuild {
        new_name,
        command,
        placeholders,
        notes,
        data_steps,
    }
}

/// A free, valid name for the replacement: `NAME-rebuilt` (shortened to fit 63 characters),
/// then `NAME-rebuilt-2`, ... while the region holds one of that name (compared as AWS may:
/// case-insensitively).
pub fn replacement_name(region: &str, name: &str, taken: &BTreeSet<(String, String)>) -> String {
    let free = |candidate: &str| {
        !taken
            .iter()
            .any(|(r, n)| r == region && same_name(n, candidate))
    };
    for attempt in 1.. {
        let suffix = if attempt == 1 {
            "-rebuilt".to_owned()
        } else {
            format!("-rebuilt-{attempt}")
        };
        let room = 63 - suffix.len();
        let base: String = name.chars().take(room).collect();
        let candidate = format!("{}{suffix}", base.trim_end_matches('-'));
        if is_valid_name(&candidate) && free(&candidate) {
            return candidate;
        }
    }
    unreachable!("some suffix is free")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn notebook(status: &str, extra: Value, tags: &[(&str, &str)]) -> Notebook {
        let mut raw = json!({
            "NotebookInstanceArn": "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/research",
            "NotebookInstanceName": "research",
            "NotebookInstanceStatus": status,
            "InstanceType": "ml.t3.medium",
            "RoleArn": "arn:aws:iam::123456789012:role/notebooks",
            "DirectInternetAccess": "Enabled",
            "RootAccess": "Enabled",
            "VolumeSizeInGB": 20,
            "PlatformIdentifier": "notebook-al2-v3",
            "CreationTime": 1_700_000_000.0,
            "LastModifiedTime": 1_700_000_100.0,
            "Url": "research.notebook.us-east-1.sagemaker.aws",
        });
        for (key, value) in extra.as_object().unwrap() {
            raw[key] = value.clone();
        }
        Notebook {
            region: "us-east-1".into(),
            name: "research".into(),
            arn: raw["NotebookInstanceArn"].as_str().unwrap().into(),
            raw,
            tags: tags
                .iter()
                .map(|(k, v)| Tag {
                    key: (*k).into(),
                    value: (*v).into(),
                })
                .collect(),
        }
    }

    fn plan(notebook: Notebook) -> NotebookPlanItem {
        plan_notebook(
            notebook,
            &NotebookScope::all(),
            false,
            &RebuildOptions::default(),
            &BTreeSet::new(),
        )
    }

    #[test]
    fn root_access_is_updated_in_place_by_status_and_running_ones_are_restarted() {
        let stopped = plan(notebook("Stopped", json!({}), &[]));
        assert_eq!(stopped.action, Action::Update);
        assert!(!stopped.restarts());
        let running = plan(notebook("InService", json!({}), &[]));
        assert_eq!(running.action, Action::Update);
        assert!(running.restarts());
        assert_eq!(running.note.as_deref(), Some(RESTART_LABEL));
        let stopping = plan(notebook("Stopping", json!({}), &[]));
        assert_eq!(stopping.action, Action::Update);
        assert!(stopping.note.as_deref().unwrap().contains("waits"));
        let failed = plan(notebook(
            "Failed",
            json!({"FailureReason": "the role cannot be assumed"}),
            &[],
        ));
        assert_eq!(failed.action, Action::Skip);
        assert_eq!(
            failed.reason.as_deref(),
            Some("Failed: the role cannot be assumed")
        );
        assert_eq!(
            plan(notebook("Deleting", json!({}), &[])).action,
            Action::Skip
        );
        let managed = plan(notebook(
            "Stopped",
            json!({}),
            &[("aws:cloudformation:stack-name", "ml")],
        ));
        assert_eq!(managed.action, Action::Skip);
        assert!(managed.reason.unwrap().contains("`ml`"));
    }

    #[test]
    fn the_diff_is_root_access_alone_and_the_hash_is_the_notebooks() {
        let item = plan(notebook("InService", json!({}), &[("team", "ml")]));
        let (before, after) = (item.before_view(), item.after_view());
        assert_eq!(before["RootAccess"], "Enabled");
        assert_eq!(after["RootAccess"], "Disabled");
        assert!(before.get("NotebookInstanceStatus").is_none());
        let mut back = after.clone();
        back["RootAccess"] = "Enabled".into();
        assert_eq!(back, before);
        assert_eq!(
            item.snapshot_sha256,
            request::notebook_hash(&item.notebook.raw, &item.notebook.tags)
        );
    }

    #[test]
    fn only_rebuildable_failures_are_skipped_with_the_rebuild_and_root_alone_has_none() {
        let judged = NotebookScope::all();
        let locked = json!({"DirectInternetAccess": "Disabled", "SubnetId": "subnet-0abc1234",
            "SecurityGroups": ["sg-0abc1234"], "KmsKeyId": "alias/nb"});
        let item = plan(notebook("Stopped", locked.clone(), &[]));
        assert_eq!(item.action, Action::Update);
        assert!(item.rebuild.is_none());
        let mut only_open = locked;
        only_open["RootAccess"] = "Disabled".into();
        only_open["DirectInternetAccess"] = "Enabled".into();
        let item = plan_notebook(
            notebook("InService", only_open, &[]),
            &judged,
            false,
            &RebuildOptions::default(),
            &BTreeSet::new(),
        );
        assert_eq!(item.action, Action::Skip);
        assert!(item.rebuild.is_some());
        assert_eq!(item.verdict.failing_controls, ["SageMaker.1"]);
    }

    #[test]
    fn the_rebuild_copies_every_setting_and_applies_the_fixes() {
        let item = plan(notebook(
            "InService",
            json!({
                "NotebookInstanceLifecycleConfigName": "setup",
                "DefaultCodeRepository": "https://github.com/example/repo.git",
                "AdditionalCodeRepositories": ["team-repo", "https://example.com/x.git"],
                "InstanceMetadataServiceConfiguration": {"MinimumInstanceMetadataServiceVersion": "2"},
                "AcceleratorTypes": ["ml.eia1.medium"],
            }),
            &[("team", "ml's"), ("aws:cloudformation:stack-name", "s")],
        ));
        let rebuild = item.rebuild.unwrap();
        let command = &rebuild.command;
        for expected in [
            "--notebook-instance-name research-rebuilt",
            "--instance-type ml.t3.medium",
            "--role-arn arn:aws:iam::123456789012:role/notebooks",
            "--direct-internet-access Disabled",
            "--root-access Disabled",
            "--lifecycle-config-name setup",
            "--volume-size-in-gb 20",
            "--default-code-repository https://github.com/example/repo.git",
            "--additional-code-repositories team-repo https://example.com/x.git",
            "--platform-identifier notebook-al2-v3",
            r#"--instance-metadata-service-configuration '{"MinimumInstanceMetadataServiceVersion":"2"}'"#,
            r#"--tags '[{"Key":"team","Value":"ml'\''s"}]'"#,
            r#"--subnet-id "${SUBNET_ID:?}" --security-group-ids ${SECURITY_GROUP_IDS:?} "#,
            r#"--kms-key-id "${KMS_KEY_ID:?}""#,
        ] {
            assert!(command.contains(expected), "{expected} in {command}");
        }
        assert!(!command.contains("eia") && !command.contains("aws:cloudformation"));
        let names: Vec<&str> = rebuild
            .placeholders
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(names, ["SUBNET_ID", "SECURITY_GROUP_IDS", "KMS_KEY_ID"]);
        assert!(rebuild.notes.iter().any(|n| n.contains("ml.eia1.medium")));
        assert!(
            rebuild
                .notes
                .iter()
                .any(|n| n.contains("aws:cloudformation"))
        );
        assert!(rebuild.data_steps[0].contains("/home/ec2-user/SageMaker"));
    }

    #[test]
    fn the_rebuild_takes_the_network_and_key_from_the_notebook_then_the_flags() {
        let options = RebuildOptions::new(
            Some("subnet-0123456789abcdef0".into()),
            vec!["sg-01234567".into()],
            Some("alias/notebooks".into()),
        )
        .unwrap();
        let item = plan_notebook(
            notebook(
                "Stopped",
                json!({"PlatformIdentifier": "notebook-al1-v1"}),
                &[],
            ),
            &NotebookScope::all(),
            false,
            &options,
            &BTreeSet::from([("us-east-1".to_owned(), "Research-Rebuilt".to_owned())]),
        );
        let rebuild = item.rebuild.unwrap();
        assert_eq!(rebuild.new_name, "research-rebuilt-2");
        assert!(rebuild.placeholders.is_empty());
        assert!(
            rebuild
                .command
                .contains("--subnet-id subnet-0123456789abcdef0")
        );
        assert!(rebuild.command.contains("--security-group-ids sg-01234567"));
        assert!(rebuild.command.contains("--kms-key-id alias/notebooks"));
        assert!(!rebuild.command.contains("--platform-identifier"));
        assert!(rebuild.notes[0].contains("notebook-al1-v1"));
        // The notebook's own subnet and groups win over the flags.
        let own = json!({"SubnetId": "subnet-0aaaaaaa", "SecurityGroups": ["sg-0bbbbbbb", "sg-0ccccccc"]});
        let item = plan_notebook(
            notebook("Stopped", own, &[]),
            &NotebookScope::all(),
            false,
            &options,
            &BTreeSet::new(),
        );
        let command = item.rebuild.unwrap().command;
        assert!(
            command.contains(
                "--subnet-id subnet-0aaaaaaa --security-group-ids sg-0bbbbbbb sg-0ccccccc"
            )
        );
    }

    #[test]
    fn rebuild_flags_are_checked() {
        assert!(RebuildOptions::new(Some("subnet-12".into()), vec![], None).is_err());
        assert!(RebuildOptions::new(Some("sg-01234567".into()), vec![], None).is_err());
        assert!(RebuildOptions::new(None, vec!["sg-01234567".into()], None).is_err());
        assert!(RebuildOptions::new(None, vec![], Some("my key".into())).is_err());
        assert!(RebuildOptions::new(None, vec![], Some("notakey".into())).is_err());
        assert!(
            RebuildOptions::new(
                Some("subnet-01234567".into()),
                vec!["sg-0123456789abcdef0".into()],
                Some("1234abcd-12ab-34cd-56ef-1234567890ab".into())
            )
            .is_ok()
        );
        assert!(
            RebuildOptions::new(
                None,
                vec![],
                Some(
                    "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
                        .into()
                )
            )
            .is_ok()
        );
    }

    #[test]
    fn replacement_names_fit_and_stay_valid() {
        let long = "a".repeat(60) + "-b";
        let name = replacement_name("us-east-1", &long, &BTreeSet::new());
        assert!(name.len() <= 63 && is_valid_name(&name), "{name}");
        assert!(name.ends_with("-rebuilt"));
    }
}
