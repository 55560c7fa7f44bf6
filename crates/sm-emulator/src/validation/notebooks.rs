//! Notebook-instance requests, checked against the botocore model's constraints in AWS's words,
//! then the documented rules the model cannot say (a private network needs a subnet; Elastic
//! Inference is gone; a volume only grows).

use super::{
    AwsTags, KMS_KEY_ID, Pattern, ROLE_ARN, VPC_ID, Violations, matches_name_shape, reserved_tags,
};
use crate::protocol::{ApiError, Members};

/// The platforms the model lists. `notebook-al1-v1` and `notebook-al2-v1` are retired: see
/// `RETIRED_PLATFORMS`.
const PLATFORM_IDENTIFIERS: [&str; 5] = [
    "notebook-al1-v1",
    "notebook-al2-v1",
    "notebook-al2-v2",
    "notebook-al2-v3",
    "notebook-al2023-v1",
];

/// Platforms the service refuses although the model still lists them. `notebook-al2-v1`: seen
/// refused ("Platform identifier (notebook-al2-v1) is not supported for this service.",
/// orcasecurity-research/AIGoat #10, 2025). `notebook-al1-v1`: a guess (Amazon Linux 1 notebooks
/// reached end of support before AL2's first platform did). Older notebooks may still carry
/// them, so a seed may.
pub(crate) const RETIRED_PLATFORMS: [&str; 2] = ["notebook-al1-v1", "notebook-al2-v1"];

const ENABLED_DISABLED: [&str; 2] = ["Enabled", "Disabled"];
const IP_ADDRESS_TYPES: [&str; 2] = ["ipv4", "dualstack"];
const ACCELERATOR_TYPES: [&str; 6] = [
    "ml.eia1.medium",
    "ml.eia1.large",
    "ml.eia1.xlarge",
    "ml.eia2.medium",
    "ml.eia2.large",
    "ml.eia2.xlarge",
];

/// Notebook and lifecycle-configuration names: the model's pattern has no `{0,62}`, and the
/// service quotes it so (seen: data-dot-all/dataall #177).
const NOTEBOOK_NAME: Pattern = Pattern {
    shown: "^[a-zA-Z0-9](-*[a-zA-Z0-9])*",
    matches: matches_name_shape,
};
const CODE_REPOSITORY: Pattern = Pattern {
    shown: "^https://([^/]+)/?(.*)$|^[a-zA-Z0-9](-*[a-zA-Z0-9])*",
    matches: matches_code_repository,
};
const PLATFORM: Pattern = Pattern {
    shown: "^(notebook-al1-v1|notebook-al2-v1|notebook-al2-v2|notebook-al2-v3|notebook-al2023-v1)",
    matches: |value| PLATFORM_IDENTIFIERS.contains(&value),
};
const IMDS_VERSION: Pattern = Pattern {
    shown: "^1|2",
    matches: |value| value == "1" || value == "2",
};
const NAME_CONTAINS: Pattern = Pattern {
    shown: "[a-zA-Z0-9-]+",
    matches: |value| {
        !value.is_empty()
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    },
};

/// Whether a request comes from a client or from the seed, which may describe a notebook created
/// when the service still accepted what it now refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    Client,
    Seed,
}

/// The notebook name of any notebook request, required.
pub(crate) fn notebook_name<'a>(body: Members<'a>) -> Result<&'a str, ApiError> {
    let name = body.string("NotebookInstanceName")?;
    let mut violations = Violations::default();
    match name {
        Some(name) => violations.string("notebookInstanceName", name, 0, 63, Some(NOTEBOOK_NAME)),
        None => violations.missing("notebookInstanceName"),
    }
    violations.into_result()?;
    Ok(name.unwrap_or_default())
}

/// `CreateNotebookInstance`.
pub(crate) fn create_request(body: Members<'_>, origin: Origin) -> Result<(), ApiError> {
    notebook_name(body)?;
    let mut violations = Violations::default();
    for required in ["InstanceType", "RoleArn"] {
        if body.get(required).is_none() {
            violations.missing(&super::member_path("", required));
        }
    }
    settings(&mut violations, body, "LifecycleConfigName")?;
    let subnet = body.string("SubnetId")?;
    if let Some(subnet) = subnet {
        violations.string("subnetId", subnet, 0, 32, Some(VPC_ID));
    }
    let security_groups = body.strings("SecurityGroupIds")?;
    if let Some(groups) = &security_groups {
        violations.list_length("securityGroupIds", groups.len(), 0, 5, "security groups");
        violations.string_items("securityGroupIds", groups, 0, 32, Some(VPC_ID));
    }
    if let Some(key) = body.string("KmsKeyId")? {
        violations.string("kmsKeyId", key, 0, 2048, Some(KMS_KEY_ID));
    }
    if let Some(access) = body.string("DirectInternetAccess")? {
        violations.enumeration("directInternetAccess", access, &ENABLED_DISABLED);
    }
    let tags = body.tags("Tags")?.unwrap_or_default();
    violations.tags(&tags);
    violations.into_result()?;

    // Documented in the API reference: "You can set the value of this parameter to Disabled only
    // if you set a value for the SubnetId parameter." The wording of the refusal is a guess.
    if body.string("DirectInternetAccess")? == Some("Disabled") && subnet.is_none() {
        return Err(ApiError::validation(
            "DirectInternetAccess can be set to Disabled only if a SubnetId is specified",
        ));
    }
    // The security groups are attached to the network interface created in the subnet's VPC
    // (API reference), so without a subnet there is nothing to attach them to. The refusal and
    // its wording are a guess.
    if security_groups.is_some_and(|groups| !groups.is_empty()) && subnet.is_none() {
        return Err(ApiError::validation(
            "SecurityGroupIds can be specified only if a SubnetId is specified",
        ));
    }
    if origin == Origin::Client {
        retired_settings(body)?;
    }
    reserved_tags(
        &tags,
        match origin {
            Origin::Client => AwsTags::Rejected,
            Origin::Seed => AwsTags::Allowed,
        },
    )
}

/// `UpdateNotebookInstance`: the members it may change. Whether the change is allowed (the
/// notebook's status, a volume that would shrink) is the store's to decide.
pub(crate) fn update_request(body: Members<'_>) -> Result<(), ApiError> {
    notebook_name(body)?;
    let mut violations = Violations::default();
    settings(&mut violations, body, "LifecycleConfigName")?;
    for flag in [
        "DisassociateLifecycleConfig",
        "DisassociateAcceleratorTypes",
        "DisassociateDefaultCodeRepository",
        "DisassociateAdditionalCodeRepositories",
    ] {
        body.boolean(flag)?;
    }
    violations.into_result()?;
    retired_settings(body)
}

/// The members `CreateNotebookInstance` and `UpdateNotebookInstance` share, named as in both.
fn settings(
    violations: &mut Violations,
    body: Members<'_>,
    lifecycle_member: &str,
) -> Result<(), ApiError> {
    if let Some(instance_type) = body.string("InstanceType")? {
        violations.enumeration(
            "instanceType",
            instance_type,
            &super::NOTEBOOK_INSTANCE_TYPES,
        );
    }
    if let Some(role_arn) = body.string("RoleArn")? {
        violations.string("roleArn", role_arn, 20, 2048, Some(ROLE_ARN));
    }
    if let Some(ip) = body.string("IpAddressType")? {
        violations.enumeration("ipAddressType", ip, &IP_ADDRESS_TYPES);
    }
    if let Some(name) = body.string(lifecycle_member)? {
        violations.string(
            &super::member_path("", lifecycle_member),
            name,
            0,
            63,
            Some(NOTEBOOK_NAME),
        );
    }
    if let Some(size) = body.integer("VolumeSizeInGB")? {
        violations.integer_range("volumeSizeInGB", size, 5, Some(16384));
    }
    if let Some(types) = body.strings("AcceleratorTypes")? {
        for (index, accelerator) in types.iter().enumerate() {
            violations.enumeration(
                &format!("acceleratorTypes.{}.member", index + 1),
                accelerator,
                &ACCELERATOR_TYPES,
            );
        }
    }
    if let Some(repository) = body.string("DefaultCodeRepository")? {
        violations.string(
            "defaultCodeRepository",
            repository,
            1,
            1024,
            Some(CODE_REPOSITORY),
        );
    }
    if let Some(repositories) = body.strings("AdditionalCodeRepositories")? {
        violations.list_length(
            "additionalCodeRepositories",
            repositories.len(),
            0,
            3,
            "repositories",
        );
        violations.string_items(
            "additionalCodeRepositories",
            &repositories,
            1,
            1024,
            Some(CODE_REPOSITORY),
        );
    }
    if let Some(root_access) = body.string("RootAccess")? {
        violations.enumeration("rootAccess", root_access, &ENABLED_DISABLED);
    }
    if let Some(platform) = body.string("PlatformIdentifier")? {
        violations.string("platformIdentifier", platform, 0, 20, Some(PLATFORM));
    }
    if let Some(imds) = body.object("InstanceMetadataServiceConfiguration")? {
        let path = "instanceMetadataServiceConfiguration.minimumInstanceMetadataServiceVersion";
        match imds.string("MinimumInstanceMetadataServiceVersion")? {
            Some(version) => violations.string(path, version, 0, 1, Some(IMDS_VERSION)),
            None => violations.missing(path),
        }
    }
    Ok(())
}

/// What the model still lists but the service no longer takes from a client.
fn retired_settings(body: Members<'_>) -> Result<(), ApiError> {
    // Documented: "This parameter is no longer supported. Elastic Inference (EI) is no longer
    // available." (AWS-FACTS #18). The wording of the refusal is a guess.
    if body
        .strings("AcceleratorTypes")?
        .is_some_and(|types| !types.is_empty())
    {
        return Err(ApiError::validation(
            "AcceleratorTypes is no longer supported: Elastic Inference is no longer available",
        ));
    }
    match body.string("PlatformIdentifier")? {
        Some(platform) if RETIRED_PLATFORMS.contains(&platform) => Err(ApiError::validation(
            format!("Platform identifier ({platform}) is not supported for this service."),
        )),
        _ => Ok(()),
    }
}

/// `ListNotebookInstances`' filters (paging and sorting are checked by `listing`).
pub(crate) fn list_request(body: Members<'_>) -> Result<(), ApiError> {
    let mut violations = Violations::default();
    if let Some(part) = body.string("NameContains")? {
        violations.string("nameContains", part, 0, 63, Some(NAME_CONTAINS));
    }
    if let Some(status) = body.string("StatusEquals")? {
        violations.enumeration("statusEquals", status, &crate::store::NOTEBOOK_STATUSES);
    }
    if let Some(part) = body.string("NotebookInstanceLifecycleConfigNameContains")? {
        violations.string(
            "notebookInstanceLifecycleConfigNameContains",
            part,
            0,
            63,
            Some(NOTEBOOK_NAME),
        );
    }
    if let Some(part) = body.string("DefaultCodeRepositoryContains")? {
        violations.string(
            "defaultCodeRepositoryContains",
            part,
            0,
            1024,
            Some(NAME_CONTAINS),
        );
    }
    if let Some(repository) = body.string("AdditionalCodeRepositoryEquals")? {
        violations.string(
            "additionalCodeRepositoryEquals",
            repository,
            1,
            1024,
            Some(CODE_REPOSITORY),
        );
    }
    violations.into_result()
}

/// `^https://([^/]+)/?(.*)$|^[a-zA-Z0-9](-*[a-zA-Z0-9])*`, whole string.
fn matches_code_repository(value: &str) -> bool {
    value
        .strip_prefix("https://")
        .is_some_and(|rest| rest.chars().next().is_some_and(|first| first != '/'))
        || matches_name_shape(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn create(body: &Value) -> Result<(), ApiError> {
        create_request(Members(body.as_object().expect("object")), Origin::Client)
    }

    fn minimal() -> Value {
        json!({
            "NotebookInstanceName": "analysis",
            "InstanceType": "ml.t3.medium",
            "RoleArn": "arn:aws:iam::123456789012:role/service-role/notebooks",
        })
    }

    #[test]
    fn a_minimal_create_is_accepted_and_required_members_are_named() {
        create(&minimal()).expect("valid");
        let error = create(&json!({"NotebookInstanceName": "x"})).expect_err("missing");
        assert!(
            error.message.starts_with("2 validation errors"),
            "{error:?}"
        );
        assert!(error.message.contains("'instanceType'"), "{error:?}");
        assert!(error.message.contains("'roleArn'"), "{error:?}");
    }

    #[test]
    fn names_types_and_ranges_follow_the_model() {
        for (member, value, expected) in [
            (
                "NotebookInstanceName",
                json!("bad_name"),
                "^[a-zA-Z0-9](-*[a-zA-Z0-9])*",
            ),
            ("InstanceType", json!("ml.m5.large"), "enum value set"),
            ("VolumeSizeInGB", json!(4), "greater than or equal to 5"),
            ("RootAccess", json!("Sometimes"), "enum value set"),
            (
                "PlatformIdentifier",
                json!("notebook-al2-v9"),
                "notebook-al2023-v1",
            ),
            (
                "InstanceMetadataServiceConfiguration",
                json!({"MinimumInstanceMetadataServiceVersion": "3"}),
                "^1|2",
            ),
            (
                "AdditionalCodeRepositories",
                json!(["a", "b", "c", "d"]),
                "less than or equal to 3",
            ),
            (
                "DefaultCodeRepository",
                json!("http://example.com/x"),
                "https://",
            ),
        ] {
            let mut body = minimal();
            body[member] = value;
            let error = create(&body).expect_err(member);
            assert_eq!(error.code, "ValidationException");
            assert!(
                error.message.contains(expected),
                "{member}: {}",
                error.message
            );
        }
    }

    #[test]
    fn a_private_network_or_security_groups_need_a_subnet() {
        let mut body = minimal();
        body["DirectInternetAccess"] = json!("Disabled");
        assert!(create(&body).is_err());
        body["SubnetId"] = json!("subnet-0a1b2c3d");
        create(&body).expect("with a subnet");
        let mut body = minimal();
        body["SecurityGroupIds"] = json!(["sg-0a1b2c3d"]);
        assert!(create(&body).is_err());
        body["SubnetId"] = json!("subnet-0a1b2c3d");
        create(&body).expect("with a subnet");
    }

    #[test]
    fn retired_settings_are_refused_from_clients_but_seeded() {
        for (member, value) in [
            ("AcceleratorTypes", json!(["ml.eia2.medium"])),
            ("PlatformIdentifier", json!("notebook-al2-v1")),
        ] {
            let mut body = minimal();
            body[member] = value;
            assert!(create(&body).is_err(), "{member}");
            create_request(Members(body.as_object().expect("object")), Origin::Seed)
                .expect("seeded");
            let mut update = json!({"NotebookInstanceName": "analysis"});
            update[member] = body[member].clone();
            assert!(update_request(Members(update.as_object().expect("object"))).is_err());
        }
    }

    #[test]
    fn list_filters_follow_the_model() {
        let check = |body: Value| list_request(Members(body.as_object().expect("object")));
        check(json!({"NameContains": "team-a", "StatusEquals": "Stopped"})).expect("valid");
        assert!(check(json!({"NameContains": "team_a"})).is_err());
        assert!(check(json!({"StatusEquals": "Running"})).is_err());
    }
}
