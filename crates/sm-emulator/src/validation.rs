//! Request validation with the real service's codes and AWS-style messages
//! (`1 validation error detected: Value 'x' at 'jobDefinitionName' failed to satisfy constraint:
//! ...`). The constraints are those of the botocore model (`sagemaker/2017-07-24/service-2.json`).
//! A definition's create request is checked where this tool's behaviour depends on it; an inline
//! `MonitoringJobDefinition` is checked member by member, since the tool sends one back whole.
//! Members the emulator does not know round-trip unchecked, as unknown members must.

use sm_kinds::Kind;

use super::protocol::{ApiError, Members};

pub(crate) mod notebooks;

pub(crate) const NAME_PATTERN: &str = "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}";
const ROLE_ARN_PATTERN: &str = r"^arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$";
const MAX_TAGS: usize = 50;

/// A string pattern of the model: the text AWS quotes in its message (with the `^`/`$` anchors the
/// older models carried, which is how the service still words it) and a hand-written matcher, since
/// each pattern is simple and the crate has no regex engine.
#[derive(Clone, Copy)]
struct Pattern {
    shown: &'static str,
    matches: fn(&str) -> bool,
}

const NAME: Pattern = Pattern {
    shown: NAME_PATTERN,
    matches: matches_name_pattern,
};
const ROLE_ARN: Pattern = Pattern {
    shown: ROLE_ARN_PATTERN,
    matches: matches_role_arn_pattern,
};
/// `S3Uri`, `MonitoringS3Uri` and `DestinationS3Uri` (whose `([^/])` reads the same once the
/// tail `(.*)` takes the rest).
const S3_URI: Pattern = Pattern {
    shown: "^(https|s3)://([^/]+)/?(.*)$",
    matches: matches_s3_uri,
};
const ENVIRONMENT_KEY: Pattern = Pattern {
    shown: "[a-zA-Z_][a-zA-Z0-9_]*",
    matches: matches_environment_key,
};
/// `SecurityGroupId` and `SubnetId`.
const VPC_ID: Pattern = Pattern {
    shown: "[-0-9a-zA-Z]+",
    matches: matches_vpc_id,
};
const KMS_KEY_ID: Pattern = Pattern {
    shown: "[a-zA-Z0-9:/_-]*",
    matches: matches_kms_key_id,
};
/// `MonitoringTimeOffsetString`, an ISO 8601 duration such as `-PT1H`.
const TIME_OFFSET: Pattern = Pattern {
    shown: "^.?P.*",
    matches: matches_time_offset,
};

const S3_INPUT_MODES: [&str; 2] = ["Pipe", "File"];
const S3_DATA_DISTRIBUTION_TYPES: [&str; 2] = ["FullyReplicated", "ShardedByS3Key"];
const S3_UPLOAD_MODES: [&str; 2] = ["Continuous", "EndOfJob"];
pub(crate) const MONITORING_TYPES: [&str; 4] = [
    "DataQuality",
    "ModelQuality",
    "ModelBias",
    "ModelExplainability",
];

/// `InstanceType`, the notebook instance types of the model (botocore 1.43.11).
#[rustfmt::skip]
pub(crate) const NOTEBOOK_INSTANCE_TYPES: [&str; 175] = [
    "ml.t2.medium", "ml.t2.large", "ml.t2.xlarge", "ml.t2.2xlarge", "ml.t3.medium", "ml.t3.large",
    "ml.t3.xlarge", "ml.t3.2xlarge", "ml.m4.xlarge", "ml.m4.2xlarge", "ml.m4.4xlarge",
    "ml.m4.10xlarge", "ml.m4.16xlarge", "ml.m5.xlarge", "ml.m5.2xlarge", "ml.m5.4xlarge",
    "ml.m5.12xlarge", "ml.m5.24xlarge", "ml.m5d.large", "ml.m5d.xlarge", "ml.m5d.2xlarge",
    "ml.m5d.4xlarge", "ml.m5d.8xlarge", "ml.m5d.12xlarge", "ml.m5d.16xlarge", "ml.m5d.24xlarge",
    "ml.c4.xlarge", "ml.c4.2xlarge", "ml.c4.4xlarge", "ml.c4.8xlarge", "ml.c5.xlarge",
    "ml.c5.2xlarge", "ml.c5.4xlarge", "ml.c5.9xlarge", "ml.c5.18xlarge", "ml.c5d.xlarge",
    "ml.c5d.2xlarge", "ml.c5d.4xlarge", "ml.c5d.9xlarge", "ml.c5d.18xlarge", "ml.p2.xlarge",
    "ml.p2.8xlarge", "ml.p2.16xlarge", "ml.p3.2xlarge", "ml.p3.8xlarge", "ml.p3.16xlarge",
    "ml.p3dn.24xlarge", "ml.g4dn.xlarge", "ml.g4dn.2xlarge", "ml.g4dn.4xlarge", "ml.g4dn.8xlarge",
    "ml.g4dn.12xlarge", "ml.g4dn.16xlarge", "ml.r5.large", "ml.r5.xlarge", "ml.r5.2xlarge",
    "ml.r5.4xlarge", "ml.r5.8xlarge", "ml.r5.12xlarge", "ml.r5.16xlarge", "ml.r5.24xlarge",
    "ml.g5.xlarge", "ml.g5.2xlarge", "ml.g5.4xlarge", "ml.g5.8xlarge", "ml.g5.16xlarge",
    "ml.g5.12xlarge", "ml.g5.24xlarge", "ml.g5.48xlarge", "ml.inf1.xlarge", "ml.inf1.2xlarge",
    "ml.inf1.6xlarge", "ml.inf1.24xlarge", "ml.trn1.2xlarge", "ml.trn1.32xlarge",
    "ml.trn1n.32xlarge", "ml.inf2.xlarge", "ml.inf2.8xlarge", "ml.inf2.24xlarge",
    "ml.inf2.48xlarge", "ml.p4d.24xlarge", "ml.p4de.24xlarge", "ml.p5.48xlarge",
    "ml.p6-b200.48xlarge", "ml.m6i.large", "ml.m6i.xlarge", "ml.m6i.2xlarge", "ml.m6i.4xlarge",
    "ml.m6i.8xlarge", "ml.m6i.12xlarge", "ml.m6i.16xlarge", "ml.m6i.24xlarge", "ml.m6i.32xlarge",
    "ml.m7i.large", "ml.m7i.xlarge", "ml.m7i.2xlarge", "ml.m7i.4xlarge", "ml.m7i.8xlarge",
    "ml.m7i.12xlarge", "ml.m7i.16xlarge", "ml.m7i.24xlarge", "ml.m7i.48xlarge", "ml.c6i.large",
    "ml.c6i.xlarge", "ml.c6i.2xlarge", "ml.c6i.4xlarge", "ml.c6i.8xlarge", "ml.c6i.12xlarge",
    "ml.c6i.16xlarge", "ml.c6i.24xlarge", "ml.c6i.32xlarge", "ml.c7i.large", "ml.c7i.xlarge",
    "ml.c7i.2xlarge", "ml.c7i.4xlarge", "ml.c7i.8xlarge", "ml.c7i.12xlarge", "ml.c7i.16xlarge",
    "ml.c7i.24xlarge", "ml.c7i.48xlarge", "ml.r6i.large", "ml.r6i.xlarge", "ml.r6i.2xlarge",
    "ml.r6i.4xlarge", "ml.r6i.8xlarge", "ml.r6i.12xlarge", "ml.r6i.16xlarge", "ml.r6i.24xlarge",
    "ml.r6i.32xlarge", "ml.r7i.large", "ml.r7i.xlarge", "ml.r7i.2xlarge", "ml.r7i.4xlarge",
    "ml.r7i.8xlarge", "ml.r7i.12xlarge", "ml.r7i.16xlarge", "ml.r7i.24xlarge", "ml.r7i.48xlarge",
    "ml.m6id.large", "ml.m6id.xlarge", "ml.m6id.2xlarge", "ml.m6id.4xlarge", "ml.m6id.8xlarge",
    "ml.m6id.12xlarge", "ml.m6id.16xlarge", "ml.m6id.24xlarge", "ml.m6id.32xlarge",
    "ml.c6id.large", "ml.c6id.xlarge", "ml.c6id.2xlarge", "ml.c6id.4xlarge", "ml.c6id.8xlarge",
    "ml.c6id.12xlarge", "ml.c6id.16xlarge", "ml.c6id.24xlarge", "ml.c6id.32xlarge",
    "ml.r6id.large", "ml.r6id.xlarge", "ml.r6id.2xlarge", "ml.r6id.4xlarge", "ml.r6id.8xlarge",
    "ml.r6id.12xlarge", "ml.r6id.16xlarge", "ml.r6id.24xlarge", "ml.r6id.32xlarge",
    "ml.g6.xlarge", "ml.g6.2xlarge", "ml.g6.4xlarge", "ml.g6.8xlarge", "ml.g6.12xlarge",
    "ml.g6.16xlarge", "ml.g6.24xlarge", "ml.g6.48xlarge", "ml.p5.4xlarge", "ml.p5en.48xlarge",
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
        self.string(path, name, min_length, 63, Some(NAME));
    }

    /// A string's length bounds and pattern, each broken one reported on its own.
    fn string(
        &mut self,
        path: &str,
        value: &str,
        min_length: usize,
        max_length: usize,
        pattern: Option<Pattern>,
    ) {
        for constraint in string_constraints(value, min_length, max_length, pattern) {
            self.push(Some(value), path, &constraint);
        }
    }

    /// The items of a list of strings, reported once for the list as AWS does:
    /// `Member must satisfy constraint: [<what the items break>]`.
    fn string_items(
        &mut self,
        path: &str,
        items: &[&str],
        min_length: usize,
        max_length: usize,
        pattern: Option<Pattern>,
    ) {
        let broken = item_constraints(items, min_length, max_length, pattern);
        if !broken.is_empty() {
            self.push(
                Some(&format!("[{}]", items.join(", "))),
                path,
                &format!("Member must satisfy constraint: [{}]", broken.join(", ")),
            );
        }
    }

    /// The bounds of a string's, list's or map's length; `shown` stands for the value.
    fn length(&mut self, shown: &str, path: &str, length: usize, min: usize, max: usize) {
        if length < min {
            self.push(
                Some(shown),
                path,
                &format!("Member must have length greater than or equal to {min}"),
            );
        }
        if length > max {
            self.push(
                Some(shown),
                path,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    /// A list's length, the list shown by its size (AWS prints Java's rendering of the items).
    fn list_length(&mut self, path: &str, length: usize, min: usize, max: usize, noun: &str) {
        self.length(&format!("[{length} {noun}]"), path, length, min, max);
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
    let alphanumeric_count = name.bytes().filter(u8::is_ascii_alphanumeric).count();
    matches_name_shape(name) && alphanumeric_count <= 63
}

/// `[a-zA-Z0-9](-*[a-zA-Z0-9])*`, whole string: alphanumerics separated by runs of hyphens.
fn matches_name_shape(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
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

/// `(https|s3)://([^/]+)/?(.*)`, whole string: a scheme, then a host that does not start with `/`.
fn matches_s3_uri(uri: &str) -> bool {
    uri.strip_prefix("s3://")
        .or_else(|| uri.strip_prefix("https://"))
        .is_some_and(|rest| rest.chars().next().is_some_and(|first| first != '/'))
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`, whole string.
fn matches_environment_key(key: &str) -> bool {
    let mut bytes = key.bytes();
    bytes
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `[-0-9a-zA-Z]+`, whole string.
fn matches_vpc_id(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// `[a-zA-Z0-9:/_-]*`, whole string.
fn matches_kms_key_id(id: &str) -> bool {
    id.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b":/_-".contains(&b))
}

/// `.?P.*`, whole string: a `P` first or second (`.` matches anything but a line break).
fn matches_time_offset(offset: &str) -> bool {
    let mut chars = offset.chars();
    match chars.next() {
        Some('P') => true,
        Some(first) if first != '\n' => chars.next() == Some('P'),
        _ => false,
    }
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
        check_role_arn(&mut violations, "roleArn", role_arn);
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
        input_problem = check_one_source(&mut violations, input, &path, &job_input)?;
    }
    if let Some(output) = body.object(&job_output_config)? {
        check_output_config(
            &mut violations,
            output,
            &member_path("", &job_output_config),
        )?;
    }
    if let Some(resources) = body.object("JobResources")? {
        check_resources(&mut violations, resources, "jobResources")?;
    }
    if let Some(network) = body.object("NetworkConfig")? {
        check_network_config(&mut violations, network, "networkConfig")?;
    }
    if let Some(stopping) = body.object("StoppingCondition")? {
        check_stopping_condition(&mut violations, stopping, "stoppingCondition")?;
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
    let mut input_problem = None;
    if let Some(config) = config {
        let path = "monitoringScheduleConfig";
        if let Some(schedule) = config.object("ScheduleConfig")? {
            let schedule_path = member_path(path, "ScheduleConfig");
            require(
                &mut violations,
                schedule,
                &schedule_path,
                &["ScheduleExpression"],
            );
            if let Some(expression) = schedule.string("ScheduleExpression")? {
                violations.string(
                    &member_path(&schedule_path, "ScheduleExpression"),
                    expression,
                    1,
                    256,
                    None,
                );
            }
            // Typed but unconstrained in the model.
            schedule.string("DataAnalysisStartTime")?;
            schedule.string("DataAnalysisEndTime")?;
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
        let inline = config.object("MonitoringJobDefinition")?;
        if let Some(inline) = inline {
            input_problem = check_monitoring_job_definition(
                &mut violations,
                inline,
                &member_path(path, "MonitoringJobDefinition"),
            )?;
        }
        references = Some((
            definition_name.is_some(),
            monitoring_type.is_some(),
            inline.is_some(),
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
        _ => match input_problem {
            Some(problem) => Err(ApiError::validation(problem)),
            None => reserved_tags(&tags, aws_tags),
        },
    }
}

// ----- shapes shared by definitions and inline definitions -----

/// An inline `MonitoringJobDefinition` (shape `MonitoringJobDefinition`), member by member in the
/// model's order. Returns the problem of an input that reads no source or two, which AWS reports
/// only once the model's constraints hold.
///
/// The schedule's describe returns the definition as sent. Whether the real service fills in
/// defaults here, as it does in a separate definition (`StoppingCondition` 3600, AWS-FACTS #8), is
/// not documented for the inline form, so none are invented: a guess either way, and the tool must
/// send the whole definition back rather than rely on one.
fn check_monitoring_job_definition(
    violations: &mut Violations,
    definition: Members<'_>,
    path: &str,
) -> Result<Option<String>, ApiError> {
    require(
        violations,
        definition,
        path,
        &[
            "MonitoringInputs",
            "MonitoringOutputConfig",
            "MonitoringResources",
            "MonitoringAppSpecification",
            "RoleArn",
        ],
    );
    if let Some(baseline) = definition.object("BaselineConfig")? {
        check_baseline_config(violations, baseline, &member_path(path, "BaselineConfig"))?;
    }
    let mut input_problem = None;
    if let Some(inputs) = definition.structures("MonitoringInputs")? {
        let inputs_path = member_path(path, "MonitoringInputs");
        violations.list_length(&inputs_path, inputs.len(), 1, 1, "inputs");
        for (index, input) in inputs.into_iter().enumerate() {
            let item_path = format!("{inputs_path}.{}.member", index + 1);
            let problem = check_one_source(violations, input, &item_path, "MonitoringInput")?;
            input_problem = input_problem.or(problem);
        }
    }
    if let Some(output) = definition.object("MonitoringOutputConfig")? {
        check_output_config(
            violations,
            output,
            &member_path(path, "MonitoringOutputConfig"),
        )?;
    }
    if let Some(resources) = definition.object("MonitoringResources")? {
        check_resources(
            violations,
            resources,
            &member_path(path, "MonitoringResources"),
        )?;
    }
    if let Some(app) = definition.object("MonitoringAppSpecification")? {
        check_app_specification(
            violations,
            app,
            &member_path(path, "MonitoringAppSpecification"),
        )?;
    }
    if let Some(stopping) = definition.object("StoppingCondition")? {
        check_stopping_condition(
            violations,
            stopping,
            &member_path(path, "StoppingCondition"),
        )?;
    }
    if let Some(environment) = definition.string_map("Environment")? {
        check_environment(violations, &environment, &member_path(path, "Environment"));
    }
    if let Some(network) = definition.object("NetworkConfig")? {
        check_network_config(violations, network, &member_path(path, "NetworkConfig"))?;
    }
    if let Some(role_arn) = definition.string("RoleArn")? {
        check_role_arn(violations, &member_path(path, "RoleArn"), role_arn);
    }
    Ok(input_problem)
}

fn check_role_arn(violations: &mut Violations, path: &str, role_arn: &str) {
    violations.string(path, role_arn, 20, 2048, Some(ROLE_ARN));
}

/// `MonitoringBaselineConfig`.
fn check_baseline_config(
    violations: &mut Violations,
    baseline: Members<'_>,
    path: &str,
) -> Result<(), ApiError> {
    if let Some(job_name) = baseline.string("BaseliningJobName")? {
        violations.name(&member_path(path, "BaseliningJobName"), job_name, 1);
    }
    for resource in ["ConstraintsResource", "StatisticsResource"] {
        if let Some(resource_members) = baseline.object(resource)?
            && let Some(uri) = resource_members.string("S3Uri")?
        {
            let uri_path = member_path(&member_path(path, resource), "S3Uri");
            violations.string(&uri_path, uri, 0, 1024, Some(S3_URI));
        }
    }
    Ok(())
}

/// A job input or a `MonitoringInput`: its `EndpointInput` or `BatchTransformInput`. Returns a
/// problem when it has neither or both: the model lets both through, but a monitoring job reads
/// exactly one source.
fn check_one_source(
    violations: &mut Violations,
    input: Members<'_>,
    path: &str,
    structure: &str,
) -> Result<Option<String>, ApiError> {
    let endpoint = input.object("EndpointInput")?;
    let batch = input.object("BatchTransformInput")?;
    if let Some(endpoint) = endpoint {
        check_endpoint_input(violations, endpoint, &member_path(path, "EndpointInput"))?;
    }
    if let Some(batch) = batch {
        check_batch_transform_input(violations, batch, &member_path(path, "BatchTransformInput"))?;
    }
    Ok(match (endpoint.is_some(), batch.is_some()) {
        (false, false) => Some(format!(
            "{structure} must specify either EndpointInput or BatchTransformInput"
        )),
        (true, true) => Some(format!(
            "{structure} must specify only one of EndpointInput and BatchTransformInput"
        )),
        _ => None,
    })
}

/// `EndpointInput`.
fn check_endpoint_input(
    violations: &mut Violations,
    endpoint: Members<'_>,
    path: &str,
) -> Result<(), ApiError> {
    require(violations, endpoint, path, &["EndpointName", "LocalPath"]);
    if let Some(name) = endpoint.string("EndpointName")? {
        violations.name(&member_path(path, "EndpointName"), name, 0);
    }
    check_input_details(violations, endpoint, path)
}

/// `BatchTransformInput`.
fn check_batch_transform_input(
    violations: &mut Violations,
    batch: Members<'_>,
    path: &str,
) -> Result<(), ApiError> {
    require(
        violations,
        batch,
        path,
        &["DataCapturedDestinationS3Uri", "DatasetFormat", "LocalPath"],
    );
    if let Some(uri) = batch.string("DataCapturedDestinationS3Uri")? {
        violations.string(
            &member_path(path, "DataCapturedDestinationS3Uri"),
            uri,
            0,
            512,
            Some(S3_URI),
        );
    }
    // `Csv`, `Json` or `Parquet`, none constrained beyond its type.
    batch.object("DatasetFormat")?;
    check_input_details(violations, batch, path)
}

/// The members `EndpointInput` and `BatchTransformInput` share.
fn check_input_details(
    violations: &mut Violations,
    input: Members<'_>,
    path: &str,
) -> Result<(), ApiError> {
    if let Some(local_path) = input.string("LocalPath")? {
        violations.string(&member_path(path, "LocalPath"), local_path, 0, 256, None);
    }
    if let Some(mode) = input.string("S3InputMode")? {
        violations.enumeration(&member_path(path, "S3InputMode"), mode, &S3_INPUT_MODES);
    }
    if let Some(distribution) = input.string("S3DataDistributionType")? {
        violations.enumeration(
            &member_path(path, "S3DataDistributionType"),
            distribution,
            &S3_DATA_DISTRIBUTION_TYPES,
        );
    }
    for offset in ["StartTimeOffset", "EndTimeOffset"] {
        if let Some(value) = input.string(offset)? {
            violations.string(&member_path(path, offset), value, 1, 15, Some(TIME_OFFSET));
        }
    }
    if let Some(excluded) = input.string("ExcludeFeaturesAttribute")? {
        violations.string(
            &member_path(path, "ExcludeFeaturesAttribute"),
            excluded,
            0,
            100,
            None,
        );
    }
    Ok(())
}

/// `MonitoringOutputConfig`: exactly one output to S3, and an optional KMS key.
fn check_output_config(
    violations: &mut Violations,
    output: Members<'_>,
    path: &str,
) -> Result<(), ApiError> {
    require(violations, output, path, &["MonitoringOutputs"]);
    if let Some(outputs) = output.structures("MonitoringOutputs")? {
        let outputs_path = member_path(path, "MonitoringOutputs");
        violations.list_length(&outputs_path, outputs.len(), 1, 1, "outputs");
        for (index, item) in outputs.into_iter().enumerate() {
            let item_path = format!("{outputs_path}.{}.member", index + 1);
            require(violations, item, &item_path, &["S3Output"]);
            let Some(s3) = item.object("S3Output")? else {
                continue;
            };
            let s3_path = member_path(&item_path, "S3Output");
            require(violations, s3, &s3_path, &["S3Uri", "LocalPath"]);
            if let Some(uri) = s3.string("S3Uri")? {
                violations.string(&member_path(&s3_path, "S3Uri"), uri, 0, 512, Some(S3_URI));
            }
            if let Some(local_path) = s3.string("LocalPath")? {
                violations.string(
                    &member_path(&s3_path, "LocalPath"),
                    local_path,
                    0,
                    256,
                    None,
                );
            }
            if let Some(mode) = s3.string("S3UploadMode")? {
                violations.enumeration(
                    &member_path(&s3_path, "S3UploadMode"),
                    mode,
                    &S3_UPLOAD_MODES,
                );
            }
        }
    }
    if let Some(key) = output.string("KmsKeyId")? {
        violations.string(
            &member_path(path, "KmsKeyId"),
            key,
            0,
            2048,
            Some(KMS_KEY_ID),
        );
    }
    Ok(())
}

/// `MonitoringResources` (a definition's `JobResources`). `InstanceType` is an enum in the model,
/// deliberately not checked: the list grows with every instance family, and refusing a type the
/// service takes would be worse than letting an unknown one through.
fn check_resources(
    violations: &mut Violations,
    resources: Members<'_>,
    path: &str,
) -> Result<(), ApiError> {
    require(violations, resources, path, &["ClusterConfig"]);
    let Some(cluster) = resources.object("ClusterConfig")? else {
        return Ok(());
    };
    let path = member_path(path, "ClusterConfig");
    require(
        violations,
        cluster,
        &path,
        &["InstanceCount", "InstanceType", "VolumeSizeInGB"],
    );
    if let Some(count) = cluster.integer("InstanceCount")? {
        violations.integer_range(&member_path(&path, "InstanceCount"), count, 1, Some(100));
    }
    cluster.string("InstanceType")?;
    if let Some(size) = cluster.integer("VolumeSizeInGB")? {
        violations.integer_range(&member_path(&path, "VolumeSizeInGB"), size, 1, Some(16384));
    }
    if let Some(key) = cluster.string("VolumeKmsKeyId")? {
        violations.string(
            &member_path(&path, "VolumeKmsKeyId"),
            key,
            0,
            2048,
            Some(KMS_KEY_ID),
        );
    }
    Ok(())
}

/// `MonitoringAppSpecification`, the inline definition's container.
fn check_app_specification(
    violations: &mut Violations,
    app: Members<'_>,
    path: &str,
) -> Result<(), ApiError> {
    require(violations, app, path, &["ImageUri"]);
    if let Some(image) = app.string("ImageUri")? {
        violations.string(&member_path(path, "ImageUri"), image, 0, 255, None);
    }
    for (member, max_items) in [("ContainerEntrypoint", 100), ("ContainerArguments", 50)] {
        if let Some(items) = app.strings(member)? {
            let list_path = member_path(path, member);
            violations.list_length(&list_path, items.len(), 1, max_items, "strings");
            violations.string_items(&list_path, &items, 0, 256, None);
        }
    }
    for member in [
        "RecordPreprocessorSourceUri",
        "PostAnalyticsProcessorSourceUri",
    ] {
        if let Some(uri) = app.string(member)? {
            violations.string(&member_path(path, member), uri, 0, 1024, Some(S3_URI));
        }
    }
    Ok(())
}

/// `MonitoringStoppingCondition`.
fn check_stopping_condition(
    violations: &mut Violations,
    stopping: Members<'_>,
    path: &str,
) -> Result<(), ApiError> {
    require(violations, stopping, path, &["MaxRuntimeInSeconds"]);
    if let Some(seconds) = stopping.integer("MaxRuntimeInSeconds")? {
        violations.integer_range(
            &member_path(path, "MaxRuntimeInSeconds"),
            seconds,
            1,
            Some(86400),
        );
    }
    Ok(())
}

/// `MonitoringEnvironmentMap`: at most 50 entries, keys shaped like shell variable names.
fn check_environment(violations: &mut Violations, environment: &[(&str, &str)], path: &str) {
    // Shown by its keys only: AWS prints the whole map, but the values may be secrets.
    let shown = format!(
        "{{{}}}",
        environment
            .iter()
            .map(|(key, _)| *key)
            .collect::<Vec<_>>()
            .join(", ")
    );
    violations.length(&shown, path, environment.len(), 0, 50);
    let keys: Vec<&str> = environment.iter().map(|(key, _)| *key).collect();
    let values: Vec<&str> = environment.iter().map(|(_, value)| *value).collect();
    let key_problems = item_constraints(&keys, 0, 256, Some(ENVIRONMENT_KEY));
    if !key_problems.is_empty() {
        violations.push(
            Some(&shown),
            path,
            &format!(
                "Map keys must satisfy constraint: [{}]",
                key_problems.join(", ")
            ),
        );
    }
    let value_problems = item_constraints(&values, 0, 256, None);
    if !value_problems.is_empty() {
        violations.push(
            Some(&shown),
            path,
            &format!(
                "Map value must satisfy constraint: [{}]",
                value_problems.join(", ")
            ),
        );
    }
}

/// `NetworkConfig`: the two flags the controls check, and an optional VPC.
fn check_network_config(
    violations: &mut Violations,
    network: Members<'_>,
    path: &str,
) -> Result<(), ApiError> {
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
    let Some(vpc) = network.object("VpcConfig")? else {
        return Ok(());
    };
    let path = member_path(path, "VpcConfig");
    require(violations, vpc, &path, &["SecurityGroupIds", "Subnets"]);
    for (member, max_items, noun) in [
        ("SecurityGroupIds", 5, "security groups"),
        ("Subnets", 16, "subnets"),
    ] {
        if let Some(ids) = vpc.strings(member)? {
            let list_path = member_path(&path, member);
            violations.list_length(&list_path, ids.len(), 1, max_items, noun);
            violations.string_items(&list_path, &ids, 0, 32, Some(VPC_ID));
        }
    }
    Ok(())
}

/// The constraints that any of `items` breaks, each named once, in AWS's words.
fn item_constraints(
    items: &[&str],
    min_length: usize,
    max_length: usize,
    pattern: Option<Pattern>,
) -> Vec<String> {
    let mut broken: Vec<String> = Vec::new();
    for item in items {
        for constraint in string_constraints(item, min_length, max_length, pattern) {
            if !broken.contains(&constraint) {
                broken.push(constraint);
            }
        }
    }
    broken
}

/// The constraints one string breaks: length bounds, then the pattern (not checked for an empty
/// string already too short, so an empty name reads as one error, not two).
fn string_constraints(
    value: &str,
    min_length: usize,
    max_length: usize,
    pattern: Option<Pattern>,
) -> Vec<String> {
    let length = value.chars().count();
    let mut broken = Vec::new();
    if length < min_length {
        broken.push(format!(
            "Member must have length greater than or equal to {min_length}"
        ));
    }
    if length > max_length {
        broken.push(format!(
            "Member must have length less than or equal to {max_length}"
        ));
    }
    if let Some(pattern) = pattern
        && !(length == 0 && length < min_length)
        && !(pattern.matches)(value)
    {
        broken.push(format!(
            "Member must satisfy regular expression pattern: {}",
            pattern.shown
        ));
    }
    broken
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

/// `DeleteTags`: the keys to remove (the resource is checked by the caller).
pub(crate) fn delete_tags_request(body: Members<'_>) -> Result<Vec<String>, ApiError> {
    let mut violations = Violations::default();
    if body.string("ResourceArn")?.is_none() {
        violations.missing("resourceArn");
    }
    let keys = body.strings("TagKeys")?;
    match &keys {
        Some(keys) => {
            violations.list_length("tagKeys", keys.len(), 1, MAX_TAGS, "keys");
            violations.string_items("tagKeys", keys, 1, 128, None);
        }
        None => violations.missing("tagKeys"),
    }
    violations.into_result()?;
    Ok(keys
        .unwrap_or_default()
        .into_iter()
        .map(str::to_owned)
        .collect())
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
    use serde_json::{Value, json};

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

    fn minimal_inline() -> Value {
        json!({
            "MonitoringInputs": [{"EndpointInput": {"EndpointName": "churn", "LocalPath": "/opt/ml/processing/input"}}],
            "MonitoringOutputConfig": {"MonitoringOutputs": [{"S3Output": {"S3Uri": "s3://bucket/out", "LocalPath": "/opt/ml/processing/output"}}]},
            "MonitoringResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 20}},
            "MonitoringAppSpecification": {"ImageUri": "123.dkr.ecr.us-east-1.amazonaws.com/monitor:1"},
            "RoleArn": "arn:aws:iam::123456789012:role/service-role/monitor"
        })
    }

    fn check_inline(definition: Value) -> Result<(), ApiError> {
        let body = json!({
            "MonitoringScheduleName": "s",
            "MonitoringScheduleConfig": {
                "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
                "MonitoringJobDefinition": definition
            }
        });
        schedule_request(
            Members(body.as_object().expect("object")),
            AwsTags::Rejected,
        )
    }

    const INLINE: &str = "monitoringScheduleConfig.monitoringJobDefinition";

    #[test]
    fn a_minimal_inline_definition_is_accepted_and_every_required_member_is_named() {
        check_inline(minimal_inline()).expect("valid");
        for (member, path) in [
            ("MonitoringInputs", "monitoringInputs"),
            ("MonitoringOutputConfig", "monitoringOutputConfig"),
            ("MonitoringResources", "monitoringResources"),
            ("MonitoringAppSpecification", "monitoringAppSpecification"),
            ("RoleArn", "roleArn"),
        ] {
            let mut definition = minimal_inline();
            definition.as_object_mut().expect("object").remove(member);
            let error = check_inline(definition).expect_err(member);
            assert_eq!(error.code, "ValidationException");
            assert_eq!(
                error.message,
                format!(
                    "1 validation error detected: Value null at '{INLINE}.{path}' failed to satisfy constraint: Member must not be null"
                )
            );
        }
        let mut definition = minimal_inline();
        definition["MonitoringResources"]["ClusterConfig"]
            .as_object_mut()
            .expect("object")
            .remove("InstanceType");
        definition["MonitoringAppSpecification"] = json!({});
        let error = check_inline(definition).expect_err("nested");
        assert!(
            error.message.starts_with("2 validation errors detected"),
            "{}",
            error.message
        );
        assert!(error.message.contains(&format!(
            "'{INLINE}.monitoringResources.clusterConfig.instanceType'"
        )));
        assert!(
            error
                .message
                .contains(&format!("'{INLINE}.monitoringAppSpecification.imageUri'"))
        );
    }

    #[test]
    fn inline_lists_ranges_and_patterns_follow_the_model() {
        let mut definition = minimal_inline();
        let input = definition["MonitoringInputs"][0].clone();
        definition["MonitoringInputs"] = json!([input.clone(), input]);
        let error = check_inline(definition).expect_err("two inputs");
        assert_eq!(
            error.message,
            format!(
                "1 validation error detected: Value '[2 inputs]' at '{INLINE}.monitoringInputs' failed to satisfy constraint: Member must have length less than or equal to 1"
            )
        );

        let mut definition = minimal_inline();
        definition["MonitoringResources"]["ClusterConfig"]["InstanceCount"] = json!(0);
        definition["StoppingCondition"] = json!({"MaxRuntimeInSeconds": 86401});
        definition["RoleArn"] = json!("arn:aws:iam::123456789012:user/monitor");
        definition["MonitoringOutputConfig"]["MonitoringOutputs"][0]["S3Output"]["S3Uri"] =
            json!("bucket/out");
        let error = check_inline(definition).expect_err("out of range");
        let message = &error.message;
        assert!(
            message.starts_with("4 validation errors detected"),
            "{message}"
        );
        for expected in [
            format!(
                "Value '0' at '{INLINE}.monitoringResources.clusterConfig.instanceCount' failed to satisfy constraint: Member must have value greater than or equal to 1"
            ),
            format!(
                "Value '86401' at '{INLINE}.stoppingCondition.maxRuntimeInSeconds' failed to satisfy constraint: Member must have value less than or equal to 86400"
            ),
            format!(
                "Value 'arn:aws:iam::123456789012:user/monitor' at '{INLINE}.roleArn' failed to satisfy constraint: Member must satisfy regular expression pattern: {ROLE_ARN_PATTERN}"
            ),
            format!(
                "Value 'bucket/out' at '{INLINE}.monitoringOutputConfig.monitoringOutputs.1.member.s3Output.s3Uri' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(https|s3)://([^/]+)/?(.*)$"
            ),
        ] {
            assert!(message.contains(&expected), "{message}\nlacks {expected}");
        }

        let mut definition = minimal_inline();
        definition["NetworkConfig"] = json!({
            "EnableNetworkIsolation": true,
            "VpcConfig": {
                "SecurityGroupIds": ["sg-1", "sg-2", "sg-3", "sg-4", "sg-5", "sg-6"],
                "Subnets": ["subnet_1"]
            }
        });
        definition["Environment"] = json!({"publish_cloudwatch_metrics": "Enabled", "1BAD": "x"});
        let error = check_inline(definition).expect_err("vpc and environment");
        let message = &error.message;
        for expected in [
            format!(
                "Value '[6 security groups]' at '{INLINE}.networkConfig.vpcConfig.securityGroupIds' failed to satisfy constraint: Member must have length less than or equal to 5"
            ),
            format!(
                "Value '[subnet_1]' at '{INLINE}.networkConfig.vpcConfig.subnets' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy regular expression pattern: [-0-9a-zA-Z]+]"
            ),
            format!(
                "Value '{{publish_cloudwatch_metrics, 1BAD}}' at '{INLINE}.environment' failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z_][a-zA-Z0-9_]*]"
            ),
        ] {
            assert!(message.contains(&expected), "{message}\nlacks {expected}");
        }
        assert!(!message.contains("Enabled"), "values stay out: {message}");

        let mut definition = minimal_inline();
        definition["NetworkConfig"] = json!({"EnableNetworkIsolation": "yes"});
        assert_eq!(
            check_inline(definition).expect_err("flag type").code,
            "SerializationException"
        );
    }

    #[test]
    fn an_inline_input_reads_exactly_one_source() {
        let mut definition = minimal_inline();
        definition["MonitoringInputs"] = json!([{}]);
        let error = check_inline(definition).expect_err("no source");
        assert_eq!(
            error.message,
            "MonitoringInput must specify either EndpointInput or BatchTransformInput"
        );
        let mut definition = minimal_inline();
        definition["MonitoringInputs"][0]["BatchTransformInput"] = json!({
            "DataCapturedDestinationS3Uri": "s3://b/c", "DatasetFormat": {"Csv": {}}, "LocalPath": "/x"
        });
        assert!(check_inline(definition).is_err());
        let mut definition = minimal_inline();
        definition["MonitoringInputs"] = json!([{"BatchTransformInput": {
            "DataCapturedDestinationS3Uri": "s3://b/c", "DatasetFormat": {"Csv": {}}, "LocalPath": "/x",
            "StartTimeOffset": "-PT1H", "EndTimeOffset": "-PT0H"
        }}]);
        check_inline(definition).expect("batch alone");
    }

    #[test]
    fn a_name_and_an_inline_definition_together_are_refused() {
        let body = json!({
            "MonitoringScheduleName": "s",
            "MonitoringScheduleConfig": {
                "MonitoringJobDefinitionName": "d",
                "MonitoringType": "DataQuality",
                "MonitoringJobDefinition": minimal_inline()
            }
        });
        let error = schedule_request(
            Members(body.as_object().expect("object")),
            AwsTags::Rejected,
        )
        .expect_err("both");
        assert!(error.message.contains("only one of"), "{}", error.message);
    }

    #[test]
    fn the_hand_written_patterns_match_as_the_model_says() {
        assert!(matches_s3_uri("s3://bucket"));
        assert!(matches_s3_uri("https://bucket.s3.amazonaws.com/key"));
        assert!(!matches_s3_uri("s3:///key"));
        assert!(!matches_s3_uri("gs://bucket"));
        assert!(matches_environment_key("_PRIVATE_1"));
        assert!(!matches_environment_key("1ST"));
        assert!(!matches_environment_key(""));
        assert!(matches_vpc_id("subnet-0a1b"));
        assert!(!matches_vpc_id("subnet_0a1b"));
        assert!(matches_kms_key_id(
            "arn:aws:kms:us-east-1:123456789012:key/abc-1"
        ));
        assert!(matches_kms_key_id(""));
        assert!(!matches_kms_key_id("alias name"));
        assert!(matches_time_offset("-PT1H"));
        assert!(matches_time_offset("PT1H"));
        assert!(!matches_time_offset("T1H"));
    }
}
