//! Request validation with the real service's codes and AWS-style messages
//! (`1 validation error detected: Value 'x' at 'jobDefinitionName' failed to satisfy constraint:
//! ...`). Only the members this tool's behaviour depends on are checked; everything else
//! round-trips unchecked, as unknown members must.

use serde_json::Value;
use sm_kinds::Kind;

use super::protocol::{ApiError, Members};

pub(crate) const NAME_PATTERN: &str = "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}";
const ROLE_ARN_PATTERN: &str = r"^arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$";
const MAX_TAGS: usize = 50;
pub(crate) const MONITORING_TYPES: [&str; 4] = [
    "DataQuality",
    "ModelQuality",
    "ModelBias",
    "ModelExplainability",
];

/// Whether `aws:` tag keys are accepted: never from a client, but a seed may carry them because
/// AWS itself sets them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AwsTags {
    Rejected,
    Allowed,
}

/// Collects constraint violations so one answer lists them all, as AWS does.
#[derive(Default)]
pub(crate) struct Violations(Vec<String>);

impl Violations {
    fn push(&mut self, value: Option<&str>, path: &str, constraint: &str) {
        let value = value.map_or_else(|| "null".to_owned(), |v| format!("'{v}'"));
        self.0.push(format!(
            "Value {value} at '{path}' failed to satisfy constraint: {constraint}"
        ));
    }

    pub(crate) fn missing(&mut self, path: &str) {
        self.push(None, path, "Member must not be null");
    }

    /// A definition, schedule or endpoint name: length and pattern, reported separately like AWS.
    pub(crate) fn name(&mut self, path: &str, name: &str, min_length: usize) {
        let length = name.chars().count();
        if length < min_length {
            self.push(
                Some(name),
                path,
                &format!("Member must have length greater than or equal to {min_length}"),
            );
        }
        if length > 63 {
            self.push(
                Some(name),
                path,
                "Member must have length less than or equal to 63",
            );
        }
        if length > 0 && !matches_name_pattern(name) {
            self.push(
                Some(name),
                path,
                &format!("Member must satisfy regular expression pattern: {NAME_PATTERN}"),
            );
        }
    }

    pub(crate) fn required_name(&mut self, path: &str, name: Option<&str>) {
        match name {
            Some(name) => self.name(path, name, 1),
            None => self.missing(path),
        }
    }

    pub(crate) fn enumeration(&mut self, path: &str, value: &str, allowed: &[&str]) {
        if !allowed.contains(&value) {
            self.push(
                Some(value),
                path,
                &format!(
                    "Member must satisfy enum value set: [{}]",
                    allowed.join(", ")
                ),
            );
        }
    }

    pub(crate) fn integer_range(&mut self, path: &str, value: i64, min: i64, max: Option<i64>) {
        if value < min {
            self.push(
                Some(&value.to_string()),
                path,
                &format!("Member must have value greater than or equal to {min}"),
            );
        }
        if let Some(max) = max
            && value > max
        {
            self.push(
                Some(&value.to_string()),
                path,
                &format!("Member must have value less than or equal to {max}"),
            );
        }
    }

    pub(crate) fn tags(&mut self, tags: &[(String, String)]) {
        if tags.len() > MAX_TAGS {
            self.push(
                Some(&format!("[{} tags]", tags.len())),
                "tags",
                &format!("Member must have length less than or equal to {MAX_TAGS}"),
            );
        }
        for (index, (key, value)) in tags.iter().enumerate() {
            let member = index + 1;
            if key.is_empty() {
                self.push(
                    Some(key),
                    &format!("tags.{member}.member.key"),
                    "Member must have length greater than or equal to 1",
                );
            } else if key.chars().count() > 128 {
                self.push(
                    Some(key),
                    &format!("tags.{member}.member.key"),
                    "Member must have length less than or equal to 128",
                );
            }
            if value.chars().count() > 256 {
                self.push(
                    Some(value),
                    &format!("tags.{member}.member.value"),
                    "Member must have length less than or equal to 256",
                );
            }
            for (text, field) in [(key, "key"), (value, "value")] {
                if !text.chars().all(is_tag_char) {
                    self.push(
                        Some(text),
                        &format!("tags.{member}.member.{field}"),
                        r"Member must satisfy regular expression pattern: ^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$",
                    );
                }
            }
        }
    }

    pub(crate) fn into_result(self) -> Result<(), ApiError> {
        match self.0.len() {
            0 => Ok(()),
            1 => Err(ApiError::validation(format!(
                "1 validation error detected: {}",
                self.0[0]
            ))),
            count => Err(ApiError::validation(format!(
                "{count} validation errors detected: {}",
                self.0.join("; ")
            ))),
        }
    }
}

/// `[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`, whole string: alphanumerics separated by runs of hyphens,
/// at most 63 alphanumerics.
fn matches_name_pattern(name: &str) -> bool {
    let bytes = name.as_bytes();
    let alphanumeric_count = bytes.iter().filter(|b| b.is_ascii_alphanumeric()).count();
    !bytes.is_empty()
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        && alphanumeric_count <= 63
}

/// `arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+`, whole string.
fn matches_role_arn_pattern(arn: &str) -> bool {
    let Some(rest) = arn.strip_prefix("arn:aws") else {
        return false;
    };
    let Some((partition_suffix, rest)) = rest.split_once(':') else {
        return false;
    };
    let Some(rest) = rest.strip_prefix("iam::") else {
        return false;
    };
    let Some((account, rest)) = rest.split_once(':') else {
        return false;
    };
    let Some(role_path) = rest.strip_prefix("role") else {
        return false;
    };
    let role_path = role_path.strip_prefix('/').unwrap_or(role_path);
    partition_suffix
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b == b'-')
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && !role_path.is_empty()
        && role_path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-/".contains(&b))
}

fn is_tag_char(c: char) -> bool {
    c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c)
}

/// The lower-camel member path AWS uses in validation messages (`jobResources.clusterConfig`).
fn member_path(parent: &str, member: &str) -> String {
    let mut chars = member.chars();
    let camel: String = chars
        .next()
        .map(|first| first.to_ascii_lowercase().to_string() + chars.as_str())
        .unwrap_or_default();
    if parent.is_empty() {
        camel
    } else {
        format!("{parent}.{camel}")
    }
}

/// Records each required member missing from a structure that is present.
fn require(violations: &mut Violations, parent: Members<'_>, parent_path: &str, required: &[&str]) {
    for member in required {
        if parent.get(member).is_none() {
            violations.missing(&member_path(parent_path, member));
        }
    }
}

/// `Create<Noun>` for one kind.
pub(crate) fn definition_request(
    kind: Kind,
    body: Members<'_>,
    aws_tags: AwsTags,
) -> Result<(), ApiError> {
    let mut violations = Violations::default();
    violations.required_name("jobDefinitionName", body.string("JobDefinitionName")?);

    let [app_specification, job_input, job_output_config] = kind.required_members();
    require(
        &mut violations,
        body,
        "",
        &[
            app_specification.as_str(),
            job_input.as_str(),
            job_output_config.as_str(),
            "JobResources",
            "RoleArn",
        ],
    );

    if let Some(role_arn) = body.string("RoleArn")? {
        if role_arn.chars().count() < 20 {
            violations.push(
                Some(role_arn),
                "roleArn",
                "Member must have length greater than or equal to 20",
            );
        }
        if !matches_role_arn_pattern(role_arn) {
            violations.push(
                Some(role_arn),
                "roleArn",
                &format!("Member must satisfy regular expression pattern: {ROLE_ARN_PATTERN}"),
            );
        }
    }

    if let Some(app) = body.object(&app_specification)? {
        let path = member_path("", &app_specification);
        let mut required = vec!["ImageUri"];
        if matches!(kind, Kind::ModelExplainability | Kind::ModelBias) {
            required.push("ConfigUri");
        }
        require(&mut violations, app, &path, &required);
    }

    let mut input_problem = None;
    if let Some(input) = body.object(&job_input)? {
        let path = member_path("", &job_input);
        if matches!(kind, Kind::ModelQuality | Kind::ModelBias) {
            require(&mut violations, input, &path, &["GroundTruthS3Input"]);
        }
        let endpoint = input.object("EndpointInput")?;
        let batch = input.object("BatchTransformInput")?;
        if let Some(endpoint) = endpoint {
            let endpoint_path = member_path(&path, "EndpointInput");
            require(
                &mut violations,
                endpoint,
                &endpoint_path,
                &["EndpointName", "LocalPath"],
            );
            if let Some(name) = endpoint.string("EndpointName")? {
                violations.name(&member_path(&endpoint_path, "EndpointName"), name, 0);
            }
        }
        if let Some(batch) = batch {
            require(
                &mut violations,
                batch,
                &member_path(&path, "BatchTransformInput"),
                &["DataCapturedDestinationS3Uri", "DatasetFormat", "LocalPath"],
            );
        }
        // The model lets both through, but a monitoring job reads exactly one source.
        input_problem = match (endpoint.is_some(), batch.is_some()) {
            (false, false) => Some(format!(
                "{job_input} must specify either EndpointInput or BatchTransformInput"
            )),
            (true, true) => Some(format!(
                "{job_input} must specify only one of EndpointInput and BatchTransformInput"
            )),
            _ => None,
        };
    }

    if let Some(output) = body.object(&job_output_config)? {
        let path = member_path("", &job_output_config);
        require(&mut violations, output, &path, &["MonitoringOutputs"]);
        if let Some(Value::Array(outputs)) = output.get("MonitoringOutputs")
            && outputs.len() != 1
        {
            violations.push(
                Some(&format!("[{} outputs]", outputs.len())),
                &member_path(&path, "MonitoringOutputs"),
                "Member must have length equal to 1",
            );
        }
    }

    if let Some(resources) = body.object("JobResources")? {
        require(
            &mut violations,
            resources,
            "jobResources",
            &["ClusterConfig"],
        );
        if let Some(cluster) = resources.object("ClusterConfig")? {
            let path = "jobResources.clusterConfig";
            require(
                &mut violations,
                cluster,
                path,
                &["InstanceCount", "InstanceType", "VolumeSizeInGB"],
            );
            if let Some(count) = cluster.integer("InstanceCount")? {
                violations.integer_range(&member_path(path, "InstanceCount"), count, 1, Some(100));
            }
            if let Some(size) = cluster.integer("VolumeSizeInGB")? {
                violations.integer_range(
                    &member_path(path, "VolumeSizeInGB"),
                    size,
                    1,
                    Some(16384),
                );
            }
        }
    }

    if let Some(network) = body.object("NetworkConfig")? {
        for flag in [
            "EnableInterContainerTrafficEncryption",
            "EnableNetworkIsolation",
        ] {
            if network.get(flag).is_some_and(|value| !value.is_boolean()) {
                return Err(ApiError::serialization(format!(
                    "Unexpected value type for member {flag}: expected a boolean"
                )));
            }
        }
        if let Some(vpc) = network.object("VpcConfig")? {
            require(
                &mut violations,
                vpc,
                "networkConfig.vpcConfig",
                &["SecurityGroupIds", "Subnets"],
            );
        }
    }

    if let Some(stopping) = body.object("StoppingCondition")? {
        require(
            &mut violations,
            stopping,
            "stoppingCondition",
            &["MaxRuntimeInSeconds"],
        );
        if let Some(seconds) = stopping.integer("MaxRuntimeInSeconds")? {
            violations.integer_range(
                "stoppingCondition.maxRuntimeInSeconds",
                seconds,
                1,
                Some(86400),
            );
        }
    }

    let tags = body.tags("Tags")?.unwrap_or_default();
    violations.tags(&tags);
    violations.into_result()?;
    if let Some(problem) = input_problem {
        return Err(ApiError::validation(problem));
    }
    reserved_tags(&tags, aws_tags)
}

/// `CreateMonitoringSchedule` and `UpdateMonitoringSchedule` (which has no `Tags`).
pub(crate) fn schedule_request(body: Members<'_>, aws_tags: AwsTags) -> Result<(), ApiError> {
    let mut violations = Violations::default();
    violations.required_name(
        "monitoringScheduleName",
        body.string("MonitoringScheduleName")?,
    );
    let config = body.object("MonitoringScheduleConfig")?;
    if config.is_none() {
        violations.missing("monitoringScheduleConfig");
    }
    let mut references = None;
    if let Some(config) = config {
        let path = "monitoringScheduleConfig";
        if let Some(schedule) = config.object("ScheduleConfig")? {
            require(
                &mut violations,
                schedule,
                "monitoringScheduleConfig.scheduleConfig",
                &["ScheduleExpression"],
            );
        }
        let monitoring_type = config.string("MonitoringType")?;
        if let Some(monitoring_type) = monitoring_type {
            violations.enumeration(
                &member_path(path, "MonitoringType"),
                monitoring_type,
                &MONITORING_TYPES,
            );
        }
        let definition_name = config.string("MonitoringJobDefinitionName")?;
        if let Some(name) = definition_name {
            violations.name(&member_path(path, "MonitoringJobDefinitionName"), name, 1);
        }
        references = Some((
            definition_name.is_some(),
            monitoring_type.is_some(),
            config.object("MonitoringJobDefinition")?.is_some(),
        ));
    }
    let tags = body.tags("Tags")?.unwrap_or_default();
    violations.tags(&tags);
    violations.into_result()?;
    match references {
        Some((false, _, false)) => Err(ApiError::validation(
            "MonitoringScheduleConfig must specify either MonitoringJobDefinitionName or MonitoringJobDefinition",
        )),
        Some((true, _, true)) => Err(ApiError::validation(
            "MonitoringScheduleConfig must specify only one of MonitoringJobDefinitionName and MonitoringJobDefinition",
        )),
        Some((true, false, _)) => Err(ApiError::validation(
            "MonitoringType is required when MonitoringJobDefinitionName is specified",
        )),
        _ => reserved_tags(&tags, aws_tags),
    }
}

/// `AddTags`: the tag list itself (the resource is checked by the caller).
pub(crate) fn add_tags_request(body: Members<'_>) -> Result<Vec<(String, String)>, ApiError> {
    let mut violations = Violations::default();
    if body.string("ResourceArn")?.is_none() {
        violations.missing("resourceArn");
    }
    let tags = body.tags("Tags")?;
    match &tags {
        Some(tags) => violations.tags(tags),
        None => violations.missing("tags"),
    }
    violations.into_result()?;
    let tags = tags.unwrap_or_default();
    reserved_tags(&tags, AwsTags::Rejected)?;
    Ok(tags)
}

fn reserved_tags(tags: &[(String, String)], aws_tags: AwsTags) -> Result<(), ApiError> {
    let reserved = tags
        .iter()
        .find(|(key, _)| key.to_ascii_lowercase().starts_with("aws:"));
    match (reserved, aws_tags) {
        (Some((key, _)), AwsTags::Rejected) => Err(ApiError::validation(format!(
            "Tag key '{key}' is not allowed: tag keys starting with 'aws:' are reserved for system use"
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn minimal(kind: Kind) -> Value {
        let [app, input, output] = kind.required_members();
        let mut app_spec = json!({"ImageUri": "123.dkr.ecr.us-east-1.amazonaws.com/monitor:1"});
        if matches!(kind, Kind::ModelExplainability | Kind::ModelBias) {
            app_spec["ConfigUri"] = json!("s3://bucket/config.json");
        }
        let mut job_input = json!({"EndpointInput": {"EndpointName": "churn", "LocalPath": "/opt/ml/processing/input"}});
        if matches!(kind, Kind::ModelQuality | Kind::ModelBias) {
            job_input["GroundTruthS3Input"] = json!({"S3Uri": "s3://bucket/ground-truth"});
        }
        json!({
            "JobDefinitionName": "churn-monitor",
            app: app_spec,
            input: job_input,
            output: {"MonitoringOutputs": [{"S3Output": {"S3Uri": "s3://bucket/out", "LocalPath": "/opt/ml/processing/output"}}]},
            "JobResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 20}},
            "RoleArn": "arn:aws:iam::123456789012:role/service-role/monitor"
        })
    }

    fn check(kind: Kind, body: &Value) -> Result<(), ApiError> {
        definition_request(
            kind,
            Members(body.as_object().expect("object")),
            AwsTags::Rejected,
        )
    }

    #[test]
    fn minimal_requests_are_accepted_for_every_kind() {
        for kind in Kind::ALL {
            check(kind, &minimal(kind)).expect("valid");
        }
    }

    #[test]
    fn names_are_checked_for_length_and_pattern_in_aws_words() {
        let mut body = minimal(Kind::DataQuality);
        body["JobDefinitionName"] = json!("bad_name!");
        let error = check(Kind::DataQuality, &body).expect_err("pattern");
        assert_eq!(error.code, "ValidationException");
        assert_eq!(
            error.message,
            "1 validation error detected: Value 'bad_name!' at 'jobDefinitionName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
        );
        body["JobDefinitionName"] = json!("a".repeat(64));
        let error = check(Kind::DataQuality, &body).expect_err("too long");
        assert!(
            error.message.starts_with("2 validation errors detected"),
            "{}",
            error.message
        );
        body["JobDefinitionName"] = json!("a".repeat(63));
        check(Kind::DataQuality, &body).expect("63 is the limit");
    }

    #[test]
    fn missing_required_members_are_named() {
        for kind in Kind::ALL {
            for member in kind.required_members() {
                let mut body = minimal(kind);
                body.as_object_mut().expect("object").remove(&member);
                let error = check(kind, &body).expect_err("missing");
                assert!(
                    error.message.contains("Member must not be null"),
                    "{}",
                    error.message
                );
            }
        }
        let mut body = minimal(Kind::ModelBias);
        body["ModelBiasAppSpecification"]
            .as_object_mut()
            .expect("object")
            .remove("ConfigUri");
        let error = check(Kind::ModelBias, &body).expect_err("ConfigUri");
        assert!(
            error
                .message
                .contains("'modelBiasAppSpecification.configUri'")
        );
    }

    #[test]
    fn role_arns_follow_the_iam_pattern() {
        assert!(matches_role_arn_pattern(
            "arn:aws:iam::123456789012:role/service-role/x"
        ));
        assert!(matches_role_arn_pattern(
            "arn:aws-cn:iam::123456789012:roleX"
        ));
        assert!(!matches_role_arn_pattern("arn:aws:iam::12345678901:role/x"));
        assert!(!matches_role_arn_pattern("arn:aws:s3:::bucket/role/x"));
    }

    #[test]
    fn aws_tags_are_reserved_unless_seeded() {
        let mut body = minimal(Kind::ModelQuality);
        body["Tags"] = json!([{"Key": "aws:cloudformation:stack-name", "Value": "s"}]);
        let members = Members(body.as_object().expect("object"));
        let error = definition_request(Kind::ModelQuality, members, AwsTags::Rejected)
            .expect_err("reserved");
        assert_eq!(error.code, "ValidationException");
        definition_request(Kind::ModelQuality, members, AwsTags::Allowed).expect("seeded");
    }

    #[test]
    fn too_many_tags_and_both_inputs_are_rejected() {
        let mut body = minimal(Kind::DataQuality);
        body["Tags"] = Value::Array(
            (0..51)
                .map(|i| json!({"Key": format!("k{i}"), "Value": "v"}))
                .collect(),
        );
        assert!(check(Kind::DataQuality, &body).is_err());
        let mut body = minimal(Kind::DataQuality);
        body["DataQualityJobInput"]["BatchTransformInput"] = json!({
            "DataCapturedDestinationS3Uri": "s3://b/c", "DatasetFormat": {"Csv": {}}, "LocalPath": "/x"
        });
        assert!(check(Kind::DataQuality, &body).is_err());
    }

    #[test]
    fn schedules_need_a_definition_and_a_type_with_a_name() {
        let check = |body: Value| {
            schedule_request(
                Members(body.as_object().expect("object")),
                AwsTags::Rejected,
            )
        };
        let config = json!({"MonitoringJobDefinitionName": "d", "MonitoringType": "DataQuality"});
        check(json!({"MonitoringScheduleName": "s", "MonitoringScheduleConfig": config}))
            .expect("valid");
        assert!(
            check(json!({"MonitoringScheduleName": "s", "MonitoringScheduleConfig": {"MonitoringJobDefinitionName": "d"}}))
                .is_err()
        );
        assert!(check(json!({"MonitoringScheduleName": "s"})).is_err());
        assert!(
            check(json!({"MonitoringScheduleName": "s", "MonitoringScheduleConfig": {"MonitoringJobDefinitionName": "d", "MonitoringType": "Bogus"}}))
                .is_err()
        );
    }
}
