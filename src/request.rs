//! The one transform at the heart of the tool: from the exact describe JSON to the exact create
//! request, identical but for the encryption flag; the temporary copy's name, request and claim
//! mark; the request that puts a definition back from its snapshot; and the hash that says a
//! definition is still the one these were derived from. Pure functions, no I/O.
//!
//! Shared by the planner (what to create), the journal (checking a snapshot), the executor and
//! `restore` (what they send), which is why it sits beside them rather than inside `plan`.

use crate::kinds::{self, Fixes};
use crate::sagemaker::Tag;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Members `Describe` returns that `Create` does not accept.
pub const READ_ONLY_MEMBERS: [&str; 2] = ["JobDefinitionArn", "CreationTime"];

/// The prefix of tag keys only AWS may set.
pub const RESERVED_TAG_PREFIX: &str = "aws:";

pub fn is_reserved_tag(tag: &Tag) -> bool {
    tag.key
        .to_ascii_lowercase()
        .starts_with(RESERVED_TAG_PREFIX)
}

/// The job JSON (a definition's describe, or a schedule's inline `MonitoringJobDefinition`) with
/// the flags of `fixes` forced on, creating `NetworkConfig` when absent. Everything else,
/// including members this build has never heard of, is kept as it was.
pub fn with_fixes(job: &Value, fixes: Fixes) -> Value {
    let mut value = job.clone();
    set_flags(&mut value, fixes);
    value
}

fn set_flags(job: &mut Value, fixes: Fixes) {
    if let Value::Object(members) = job {
        let network = members
            .entry("NetworkConfig")
            .or_insert_with(|| Value::Object(Map::new()));
        if !network.is_object() {
            *network = Value::Object(Map::new());
        }
        let network = network.as_object_mut().expect("made an object above");
        for fix in fixes.iter() {
            network.insert(fix.member().to_owned(), Value::Bool(true));
        }
    }
}

/// The create request for a definition: the describe JSON minus read-only members, the flags of
/// `fixes` forced on, and the tags AWS lets users set. Returns the request and the tags it had to
/// drop.
pub fn create_request(describe: &Value, tags: &[Tag], fixes: Fixes) -> (Value, Vec<Tag>) {
    let mut request = with_fixes(describe, fixes);
    if let Value::Object(members) = &mut request {
        for member in READ_ONLY_MEMBERS {
            members.remove(member);
        }
    }
    let (reserved, settable): (Vec<Tag>, Vec<Tag>) =
        tags.iter().cloned().partition(is_reserved_tag);
    if !settable.is_empty()
        && let Value::Object(members) = &mut request
    {
        members.insert(
            "Tags".to_owned(),
            serde_json::to_value(&settable).expect("tags serialize"),
        );
    }
    (request, reserved)
}

/// The same request under another name (the temporary copy of the staged recreate).
pub fn renamed(request: &Value, name: &str) -> Value {
    let mut request = request.clone();
    if let Value::Object(members) = &mut request {
        members.insert(
            "JobDefinitionName".to_owned(),
            Value::String(name.to_owned()),
        );
    }
    request
}

/// The tag key that marks a temporary copy as one run's (`claim_tag`).
pub const CLAIM_TAG_KEY: &str = "sm-recreate:claim";

/// At most this many tags on one SageMaker resource.
pub const MAX_TAGS: usize = 50;

/// The mark a run's temporary copy carries: the run's id. Two runs' copies of one definition are
/// otherwise byte-identical, so after a lost answer this is how a run knows the copy it finds is
/// its own.
pub fn claim_tag(run_id: &str) -> Tag {
    Tag {
        key: CLAIM_TAG_KEY.to_owned(),
        value: run_id.to_owned(),
    }
}

/// The temporary copy's create request: `request` under `name`, marked with `claim`. A resource
/// holds at most 50 tags, so a definition with 50 has its copy carry the first 49 and the mark;
/// the definition itself is created again with all 50 from the snapshot.
pub fn copy_request(request: &Value, name: &str, claim: &Tag) -> Value {
    let mut request = renamed(request, name);
    if let Value::Object(members) = &mut request {
        let mut tags = match members.get("Tags") {
            Some(Value::Array(tags)) => tags.clone(),
            _ => Vec::new(),
        };
        tags.truncate(MAX_TAGS - 1);
        tags.push(serde_json::to_value(claim).expect("tags serialize"));
        members.insert("Tags".to_owned(), Value::Array(tags));
    }
    request
}

/// The create request that puts a definition back exactly as the snapshot recorded it (rollback
/// and `restore`): no flag change, all user-settable tags.
pub fn restore_request(describe: &Value, tags: &[Tag]) -> Value {
    let mut request = describe.clone();
    if let Value::Object(members) = &mut request {
        for member in READ_ONLY_MEMBERS {
            members.remove(member);
        }
        let settable: Vec<&Tag> = tags.iter().filter(|t| !is_reserved_tag(t)).collect();
        if !settable.is_empty() {
            members.insert(
                "Tags".to_owned(),
                serde_json::to_value(&settable).expect("tags serialize"),
            );
        }
    }
    request
}

/// The `UpdateMonitoringSchedule` request that fixes a schedule's inline job definition in place:
/// the whole live `MonitoringScheduleConfig` (the service replaces it, AWS-FACTS #5) with only
/// the flags of `fixes` set. `None` when the schedule has no inline definition.
pub fn schedule_update_request(describe: &Value, fixes: Fixes) -> Option<Value> {
    let mut config = describe.get("MonitoringScheduleConfig")?.clone();
    let job = config.get_mut("MonitoringJobDefinition")?;
    set_flags(job, fixes);
    Some(schedule_request(describe, config))
}

/// The `UpdateMonitoringSchedule` request that puts a schedule's configuration back exactly as
/// the snapshot recorded it (rollback and `restore`).
pub fn schedule_restore_request(describe: &Value) -> Option<Value> {
    let config = describe.get("MonitoringScheduleConfig")?.clone();
    Some(schedule_request(describe, config))
}

fn schedule_request(describe: &Value, config: Value) -> Value {
    serde_json::json!({
        "MonitoringScheduleName": describe.get("MonitoringScheduleName").cloned().unwrap_or(Value::Null),
        "MonitoringScheduleConfig": config,
    })
}

/// What a plan records of a schedule to compare it with later: its name, configuration and
/// tags. Not the whole describe, whose status and last execution change on their own.
pub fn schedule_hash(describe: &Value, tags: &[Tag]) -> String {
    let fixed = serde_json::json!({
        "MonitoringScheduleName": describe.get("MonitoringScheduleName"),
        "MonitoringScheduleConfig": describe.get("MonitoringScheduleConfig"),
    });
    snapshot_hash(&fixed, tags)
}

/// Members of a notebook's describe that change as it starts, stops or updates, not by anyone's
/// choice of setting: left out of its hash, so a plan made while a notebook was running still
/// matches once the executor has stopped it. Its status is decided on live, never from the hash.
pub const NOTEBOOK_STATE_MEMBERS: [&str; 5] = [
    "NotebookInstanceStatus",
    "FailureReason",
    "LastModifiedTime",
    "NetworkInterfaceId",
    "Url",
];

/// `snapshot_hash` of a notebook instance's settings (its describe without
/// `NOTEBOOK_STATE_MEMBERS`) and tags: equal hashes mean nobody changed a setting since the plan.
pub fn notebook_hash(describe: &Value, tags: &[Tag]) -> String {
    let mut settings = describe.clone();
    if let Value::Object(members) = &mut settings {
        for member in NOTEBOOK_STATE_MEMBERS {
            members.remove(member);
        }
    }
    snapshot_hash(&settings, tags)
}

/// SHA-256 over the exact describe JSON and the tags: equal hashes mean the live definition is
/// the one that was planned, so the create request (a pure function of both) is too.
pub fn snapshot_hash(describe: &Value, tags: &[Tag]) -> String {
    let canonical = serde_json::json!({ "describe": describe, "tags": tags });
    let bytes = serde_json::to_vec(&canonical).expect("JSON serializes");
    sha256_hex(&bytes)
}

/// SHA-256 of `value` serialized as compact JSON (the bytes `serde_json::to_vec` makes), in
/// lower-case hex, hashed as it is serialized: a plan document's checksum covers every item,
/// and the serialization is never held whole.
pub fn json_sha256_hex(value: &impl serde::Serialize) -> String {
    struct Hashing(Sha256);
    impl std::io::Write for Hashing {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.update(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut hashing = Hashing(Sha256::new());
    serde_json::to_writer(&mut hashing, value).expect("JSON serializes");
    hex(&hashing.0.finalize())
}

/// SHA-256 of `bytes` in lower-case hex: the one digest the tool writes (snapshot hashes,
/// temporary-name suffixes, the plan file's checksum).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The temporary name for the staged recreate: derived from the original (so a person can tell
/// whose copy it is) with a short hash suffix, within 63 characters and the name pattern.
///
/// One name per definition, whoever runs: creating it is the claim that stops two runs (from
/// any state directory) recreating the same definition at once, since the second create is
/// refused. The hash is of the lower-cased name, so spellings that may name the same definition
/// claim the same copy.
pub fn temporary_name(name: &str) -> String {
    let digest = sha256_hex(format!("{}#0", name.to_ascii_lowercase()).as_bytes());
    let suffix = format!("-smr{}", &digest[..6]);
    let keep = 63 - suffix.len();
    let mut stem: String = name.chars().take(keep).collect();
    // The pattern forbids a trailing hyphen only at the very end, and the suffix ends in hex,
    // so a stem ending in `-` is fine; an empty or non-alphanumeric start is not possible because
    // `name` itself matches the pattern.
    if stem.is_empty() {
        stem.push('t');
    }
    let candidate = format!("{stem}{suffix}");
    debug_assert!(kinds::is_valid_name(&candidate), "{candidate}");
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn tag(key: &str, value: &str) -> Tag {
        Tag {
            key: key.to_owned(),
            value: value.to_owned(),
        }
    }

    #[test]
    fn the_request_is_the_describe_minus_read_only_plus_tags_with_the_flag_on() {
        let describe = json!({
            "JobDefinitionArn": "arn:aws:sagemaker:us-east-1:1:data-quality-job-definition/a",
            "JobDefinitionName": "a",
            "CreationTime": 1.7e9,
            "NetworkConfig": {"EnableInterContainerTrafficEncryption": false, "EnableNetworkIsolation": true},
            "FutureMember": {"nested": [1, 2]},
        });
        let tags = [tag("team", "ml"), tag("aws:cloudformation:stack-name", "s")];
        let (request, dropped) = create_request(&describe, &tags, Fixes::ENCRYPTION);
        assert_eq!(
            request,
            json!({
                "JobDefinitionName": "a",
                "NetworkConfig": {"EnableInterContainerTrafficEncryption": true, "EnableNetworkIsolation": true},
                "FutureMember": {"nested": [1, 2]},
                "Tags": [{"Key": "team", "Value": "ml"}],
            })
        );
        assert_eq!(dropped, vec![tag("aws:cloudformation:stack-name", "s")]);
    }

    #[test]
    fn a_missing_network_config_is_created() {
        let (request, _) =
            create_request(&json!({"JobDefinitionName": "a"}), &[], Fixes::ENCRYPTION);
        assert_eq!(
            request,
            json!({"JobDefinitionName": "a", "NetworkConfig": {"EnableInterContainerTrafficEncryption": true}})
        );
    }

    #[test]
    fn restore_keeps_the_flag_as_it_was() {
        let describe = json!({"JobDefinitionName": "a", "CreationTime": 1, "NetworkConfig": {"EnableInterContainerTrafficEncryption": false}});
        let request = restore_request(&describe, &[tag("k", "v")]);
        assert_eq!(
            request,
            json!({"JobDefinitionName": "a", "NetworkConfig": {"EnableInterContainerTrafficEncryption": false}, "Tags": [{"Key": "k", "Value": "v"}]})
        );
    }

    #[test]
    fn hashes_change_with_any_member_or_tag() {
        let a = json!({"JobDefinitionName": "a", "X": 1});
        let b = json!({"JobDefinitionName": "a", "X": 2});
        assert_ne!(snapshot_hash(&a, &[]), snapshot_hash(&b, &[]));
        assert_ne!(snapshot_hash(&a, &[]), snapshot_hash(&a, &[tag("k", "v")]));
        assert_eq!(
            snapshot_hash(&a, &[tag("k", "v")]),
            snapshot_hash(&a.clone(), &[tag("k", "v")])
        );
    }

    fn json_leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            "[a-zA-Z0-9 :/._-]{0,20}".prop_map(Value::String),
        ]
    }

    fn json_value() -> impl Strategy<Value = Value> {
        json_leaf().prop_recursive(3, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[A-Za-z]{1,12}", inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn describe_json() -> impl Strategy<Value = Value> {
        (
            prop::collection::btree_map("[A-Z][A-Za-z]{0,15}", json_value(), 0..8),
            prop::option::of(json_value()),
            "[a-zA-Z0-9]{1,20}",
        )
            .prop_map(|(members, network, name)| {
                let mut object: Map<String, Value> = members.into_iter().collect();
                object.insert("JobDefinitionName".into(), Value::String(name));
                object.insert(
                    "JobDefinitionArn".into(),
                    json!("arn:aws:sagemaker:r:1:x/y"),
                );
                object.insert("CreationTime".into(), json!(1_700_000_000.5));
                object.remove("Tags");
                match network {
                    Some(Value::Object(_)) | None => {
                        if let Some(n) = network {
                            object.insert("NetworkConfig".into(), n);
                        } else {
                            object.remove("NetworkConfig");
                        }
                    }
                    Some(_) => {
                        object.remove("NetworkConfig");
                    }
                }
                Value::Object(object)
            })
    }

    fn tags() -> impl Strategy<Value = Vec<Tag>> {
        prop::collection::vec(
            ("(aws:)?[a-z]{1,8}", "[a-z0-9]{0,8}").prop_map(|(k, v)| Tag { key: k, value: v }),
            0..6,
        )
    }

    #[test]
    fn the_copy_carries_the_claim_and_at_most_fifty_tags() {
        let claim = claim_tag("20261130T000000Z-0001");
        let few = json!({"JobDefinitionName": "a", "Tags": [{"Key": "k", "Value": "v"}]});
        let copy = copy_request(&few, "a-smr1", &claim);
        assert_eq!(copy["JobDefinitionName"], json!("a-smr1"));
        assert_eq!(
            copy["Tags"],
            json!([{"Key": "k", "Value": "v"}, {"Key": CLAIM_TAG_KEY, "Value": claim.value}])
        );
        let fifty: Vec<Value> = (0..50)
            .map(|i| json!({"Key": format!("k{i}"), "Value": "v"}))
            .collect();
        let full = json!({"JobDefinitionName": "a", "Tags": fifty});
        let copy = copy_request(&full, "a-smr1", &claim);
        let tags = copy["Tags"].as_array().unwrap();
        assert_eq!(tags.len(), MAX_TAGS);
        assert_eq!(tags[48]["Key"], json!("k48"));
        assert_eq!(tags[49]["Key"], json!(CLAIM_TAG_KEY));
        let none = copy_request(&json!({"JobDefinitionName": "a"}), "a-smr1", &claim);
        assert_eq!(none["Tags"].as_array().unwrap().len(), 1);
    }

    proptest! {
        #[test]
        fn the_request_differs_from_the_describe_only_where_it_must(describe in describe_json(), tags in tags()) {
            let (request, dropped) = create_request(&describe, &tags, Fixes::ENCRYPTION);
            let request = request.as_object().unwrap().clone();
            let input = describe.as_object().unwrap();
            // Every member but the read-only ones, NetworkConfig and Tags is byte-for-byte the same.
            for (key, value) in input {
                if READ_ONLY_MEMBERS.contains(&key.as_str()) {
                    prop_assert!(!request.contains_key(key));
                } else if key != "NetworkConfig" {
                    prop_assert_eq!(request.get(key), Some(value));
                }
            }
            // NetworkConfig: same members, the flag true.
            let mut expected_network = input.get("NetworkConfig").cloned().unwrap_or_else(|| json!({}));
            expected_network["EnableInterContainerTrafficEncryption"] = json!(true);
            prop_assert_eq!(request.get("NetworkConfig"), Some(&expected_network));
            // Tags: exactly the user-settable ones, in order; the rest reported.
            let settable: Vec<Tag> = tags.iter().filter(|t| !t.key.starts_with("aws:")).cloned().collect();
            let reserved: Vec<Tag> = tags.iter().filter(|t| t.key.starts_with("aws:")).cloned().collect();
            if settable.is_empty() {
                prop_assert!(!request.contains_key("Tags"));
            } else {
                prop_assert_eq!(request.get("Tags"), Some(&serde_json::to_value(&settable).unwrap()));
            }
            prop_assert_eq!(dropped, reserved);
            // Nothing else appeared.
            for key in request.keys() {
                prop_assert!(input.contains_key(key) || key == "NetworkConfig" || key == "Tags");
            }
        }

        #[test]
        fn temporary_names_are_valid_distinct_and_shared_across_case(name in "[a-zA-Z0-9](-?[a-zA-Z0-9]){0,62}") {
            prop_assume!(name.len() <= 63);
            let temp = temporary_name(&name);
            prop_assert!(kinds::is_valid_name(&temp), "{}", temp);
            prop_assert!(!temp.eq_ignore_ascii_case(&name));
            prop_assert!(temporary_name(&name.to_ascii_uppercase()).eq_ignore_ascii_case(&temp));
        }
    }

    #[test]
    fn notebook_hash_ignores_state_but_not_settings() {
        let stopped = serde_json::json!({
            "NotebookInstanceName": "nb", "NotebookInstanceStatus": "Stopped",
            "RootAccess": "Enabled", "LastModifiedTime": 1.0, "Url": "nb.example",
        });
        let mut running = stopped.clone();
        running["NotebookInstanceStatus"] = "InService".into();
        running["LastModifiedTime"] = 2.0.into();
        let mut changed = stopped.clone();
        changed["RootAccess"] = "Disabled".into();
        let tags = [Tag {
            key: "team".into(),
            value: "ml".into(),
        }];
        assert_eq!(
            notebook_hash(&stopped, &tags),
            notebook_hash(&running, &tags)
        );
        assert_ne!(
            notebook_hash(&stopped, &tags),
            notebook_hash(&changed, &tags)
        );
        assert_ne!(notebook_hash(&stopped, &tags), notebook_hash(&stopped, &[]));
    }
}
