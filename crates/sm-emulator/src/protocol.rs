//! The AWS JSON 1.1 wire protocol as the emulator speaks it: operation names, the error type,
//! typed access to request members, and the region from the SigV4 credential scope.

use serde_json::{Map, Value};
use sm_kinds::Kind;

use super::config::DEFAULT_REGION;

/// The constructor of a per-kind operation, e.g. `Operation::CreateDefinition`.
type KindOperation = fn(Kind) -> Operation;

/// A SageMaker operation the emulator implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    CreateDefinition(Kind),
    DescribeDefinition(Kind),
    ListDefinitions(Kind),
    DeleteDefinition(Kind),
    ListTags,
    AddTags,
    DeleteTags,
    CreateSchedule,
    DescribeSchedule,
    ListSchedules,
    UpdateSchedule,
    DeleteSchedule,
    StopSchedule,
    StartSchedule,
    CreateNotebook,
    DescribeNotebook,
    ListNotebooks,
    StopNotebook,
    StartNotebook,
    UpdateNotebook,
    DeleteNotebook,
}

impl Operation {
    /// Every operation, for tests that walk the whole surface.
    #[cfg(test)]
    pub(crate) fn all() -> Vec<Operation> {
        let mut all: Vec<Operation> = Kind::ALL
            .into_iter()
            .flat_map(|kind| {
                [
                    Operation::CreateDefinition(kind),
                    Operation::DescribeDefinition(kind),
                    Operation::ListDefinitions(kind),
                    Operation::DeleteDefinition(kind),
                ]
            })
            .collect();
        all.extend([
            Operation::ListTags,
            Operation::AddTags,
            Operation::DeleteTags,
            Operation::CreateSchedule,
            Operation::DescribeSchedule,
            Operation::ListSchedules,
            Operation::UpdateSchedule,
            Operation::DeleteSchedule,
            Operation::StopSchedule,
            Operation::StartSchedule,
            Operation::CreateNotebook,
            Operation::DescribeNotebook,
            Operation::ListNotebooks,
            Operation::StopNotebook,
            Operation::StartNotebook,
            Operation::UpdateNotebook,
            Operation::DeleteNotebook,
        ]);
        all
    }

    /// Parses the operation part of `X-Amz-Target: SageMaker.<Operation>`.
    pub(crate) fn parse(name: &str) -> Option<Operation> {
        let fixed = match name {
            "ListTags" => Some(Operation::ListTags),
            "AddTags" => Some(Operation::AddTags),
            "DeleteTags" => Some(Operation::DeleteTags),
            "CreateMonitoringSchedule" => Some(Operation::CreateSchedule),
            "DescribeMonitoringSchedule" => Some(Operation::DescribeSchedule),
            "ListMonitoringSchedules" => Some(Operation::ListSchedules),
            "UpdateMonitoringSchedule" => Some(Operation::UpdateSchedule),
            "DeleteMonitoringSchedule" => Some(Operation::DeleteSchedule),
            "StopMonitoringSchedule" => Some(Operation::StopSchedule),
            "StartMonitoringSchedule" => Some(Operation::StartSchedule),
            "CreateNotebookInstance" => Some(Operation::CreateNotebook),
            "DescribeNotebookInstance" => Some(Operation::DescribeNotebook),
            "ListNotebookInstances" => Some(Operation::ListNotebooks),
            "StopNotebookInstance" => Some(Operation::StopNotebook),
            "StartNotebookInstance" => Some(Operation::StartNotebook),
            "UpdateNotebookInstance" => Some(Operation::UpdateNotebook),
            "DeleteNotebookInstance" => Some(Operation::DeleteNotebook),
            _ => None,
        };
        if fixed.is_some() {
            return fixed;
        }
        if let Some(plural) = name.strip_prefix("List") {
            return plural
                .strip_suffix('s')
                .and_then(Kind::from_api_noun)
                .map(Operation::ListDefinitions);
        }
        let verbs: [(&str, KindOperation); 3] = [
            ("Create", Operation::CreateDefinition),
            ("Describe", Operation::DescribeDefinition),
            ("Delete", Operation::DeleteDefinition),
        ];
        verbs.into_iter().find_map(|(verb, operation)| {
            name.strip_prefix(verb)
                .and_then(Kind::from_api_noun)
                .map(operation)
        })
    }

    pub(crate) fn name(self) -> String {
        match self {
            Operation::CreateDefinition(kind) => format!("Create{}", kind.api_noun()),
            Operation::DescribeDefinition(kind) => format!("Describe{}", kind.api_noun()),
            Operation::ListDefinitions(kind) => format!("List{}s", kind.api_noun()),
            Operation::DeleteDefinition(kind) => format!("Delete{}", kind.api_noun()),
            Operation::ListTags => "ListTags".to_owned(),
            Operation::AddTags => "AddTags".to_owned(),
            Operation::DeleteTags => "DeleteTags".to_owned(),
            Operation::CreateSchedule => "CreateMonitoringSchedule".to_owned(),
            Operation::DescribeSchedule => "DescribeMonitoringSchedule".to_owned(),
            Operation::ListSchedules => "ListMonitoringSchedules".to_owned(),
            Operation::UpdateSchedule => "UpdateMonitoringSchedule".to_owned(),
            Operation::DeleteSchedule => "DeleteMonitoringSchedule".to_owned(),
            Operation::StopSchedule => "StopMonitoringSchedule".to_owned(),
            Operation::StartSchedule => "StartMonitoringSchedule".to_owned(),
            Operation::CreateNotebook => "CreateNotebookInstance".to_owned(),
            Operation::DescribeNotebook => "DescribeNotebookInstance".to_owned(),
            Operation::ListNotebooks => "ListNotebookInstances".to_owned(),
            Operation::StopNotebook => "StopNotebookInstance".to_owned(),
            Operation::StartNotebook => "StartNotebookInstance".to_owned(),
            Operation::UpdateNotebook => "UpdateNotebookInstance".to_owned(),
            Operation::DeleteNotebook => "DeleteNotebookInstance".to_owned(),
        }
    }

    #[cfg(test)]
    pub(crate) fn is_mutating(self) -> bool {
        !matches!(
            self,
            Operation::DescribeDefinition(_)
                | Operation::ListDefinitions(_)
                | Operation::ListTags
                | Operation::DescribeSchedule
                | Operation::ListSchedules
                | Operation::DescribeNotebook
                | Operation::ListNotebooks
        )
    }
}

/// An error answer: HTTP status, `__type` code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl ApiError {
    pub(crate) fn new(status: u16, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: code.to_owned(),
            message: message.into(),
        }
    }

    pub(crate) fn validation(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "ValidationException", message)
    }

    pub(crate) fn serialization(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "SerializationException", message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "ResourceNotFound", message)
    }

    pub(crate) fn in_use(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "ResourceInUse", message)
    }

    pub(crate) fn throttling() -> ApiError {
        ApiError::new(400, "ThrottlingException", "Rate exceeded")
    }

    pub(crate) fn unknown_operation(target: &str) -> ApiError {
        ApiError::new(
            400,
            "UnknownOperationException",
            format!("Unknown operation {target:?}"),
        )
    }

    /// The JSON body rest-json services (Security Hub) send with an error, beside the
    /// `x-amzn-ErrorType` header.
    pub(crate) fn rest_json_body(&self) -> Value {
        serde_json::json!({ "Code": self.code, "Message": self.message })
    }

    /// The JSON body AWS JSON 1.1 services send with an error.
    pub(crate) fn body(&self) -> Value {
        serde_json::json!({ "__type": self.code, "message": self.message })
    }
}

/// Typed, fallible access to the members of a request body. A member of the wrong JSON type is a
/// `SerializationException`, as the real service answers; `null` counts as absent.
#[derive(Clone, Copy)]
pub(crate) struct Members<'a>(pub &'a Map<String, Value>);

impl<'a> Members<'a> {
    pub(crate) fn get(self, name: &str) -> Option<&'a Value> {
        self.0.get(name).filter(|value| !value.is_null())
    }

    pub(crate) fn string(self, name: &str) -> Result<Option<&'a str>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(_) => Err(wrong_type(name, "a string")),
        }
    }

    pub(crate) fn integer(self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(value) => value
                .as_i64()
                .map(Some)
                .ok_or_else(|| wrong_type(name, "an integer")),
        }
    }

    /// A timestamp, sent by the SDKs as epoch seconds.
    pub(crate) fn timestamp(self, name: &str) -> Result<Option<f64>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(value) => value
                .as_f64()
                .map(Some)
                .ok_or_else(|| wrong_type(name, "a timestamp in epoch seconds")),
        }
    }

    pub(crate) fn object(self, name: &str) -> Result<Option<Members<'a>>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(Members(map))),
            Some(_) => Err(wrong_type(name, "a structure")),
        }
    }

    /// A list member, as its items.
    pub(crate) fn list(self, name: &str) -> Result<Option<&'a [Value]>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(_) => Err(wrong_type(name, "a list")),
        }
    }

    /// A list of structures, such as `MonitoringInputs`.
    pub(crate) fn structures(self, name: &str) -> Result<Option<Vec<Members<'a>>>, ApiError> {
        let Some(items) = self.list(name)? else {
            return Ok(None);
        };
        items
            .iter()
            .map(|item| match item {
                Value::Object(map) => Ok(Members(map)),
                _ => Err(wrong_type(name, "a list of structures")),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    pub(crate) fn boolean(self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(flag)) => Ok(Some(*flag)),
            Some(_) => Err(wrong_type(name, "a boolean")),
        }
    }

    /// A list of strings, such as `Subnets`.
    pub(crate) fn strings(self, name: &str) -> Result<Option<Vec<&'a str>>, ApiError> {
        let Some(items) = self.list(name)? else {
            return Ok(None);
        };
        items
            .iter()
            .map(|item| {
                item.as_str()
                    .ok_or_else(|| wrong_type(name, "a list of strings"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// A map of strings to strings, such as `Environment`, in the order sent.
    pub(crate) fn string_map(
        self,
        name: &str,
    ) -> Result<Option<Vec<(&'a str, &'a str)>>, ApiError> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        let Value::Object(map) = value else {
            return Err(wrong_type(name, "a map"));
        };
        map.iter()
            .map(|(key, item)| {
                item.as_str()
                    .map(|text| (key.as_str(), text))
                    .ok_or_else(|| wrong_type(name, "a map of strings"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// A `TagList`: `[{"Key": .., "Value": ..}]`.
    pub(crate) fn tags(self, name: &str) -> Result<Option<Vec<(String, String)>>, ApiError> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        let Value::Array(items) = value else {
            return Err(wrong_type(name, "a list"));
        };
        items
            .iter()
            .map(|item| {
                let tag = match item {
                    Value::Object(map) => Members(map),
                    _ => return Err(wrong_type(name, "a list of Tag structures")),
                };
                // A missing Key reads as empty, which the caller rejects for being shorter than
                // the minimum length; a missing Value is the empty value.
                let key = tag.string("Key")?.unwrap_or_default().to_owned();
                let value = tag.string("Value")?.unwrap_or_default().to_owned();
                Ok((key, value))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}

fn wrong_type(member: &str, expected: &str) -> ApiError {
    ApiError::serialization(format!(
        "Unexpected value type for member {member}: expected {expected}"
    ))
}

/// The region of a SigV4-signed request: the third field of the credential scope in
/// `Authorization: AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request, ...`.
pub(crate) fn region_from_authorization(header: Option<&str>) -> String {
    header
        .and_then(|value| value.split_once("Credential="))
        .and_then(|(_, rest)| rest.split([',', ' ']).next())
        .and_then(|credential| credential.split('/').nth(2))
        .filter(|region| !region.is_empty())
        .unwrap_or(DEFAULT_REGION)
        .to_owned()
}

/// The service a SigV4-signed request was signed for: the fourth field of the credential
/// scope (`securityhub`, `sagemaker`, ...).
pub(crate) fn service_from_authorization(header: Option<&str>) -> Option<String> {
    header
        .and_then(|value| value.split_once("Credential="))
        .and_then(|(_, rest)| rest.split([',', ' ']).next())
        .and_then(|credential| credential.split('/').nth(3))
        .filter(|service| !service.is_empty())
        .map(str::to_owned)
}

/// The access key id of a SigV4-signed request: the first field of the credential scope.
pub(crate) fn access_key_from_authorization(header: Option<&str>) -> Option<String> {
    header
        .and_then(|value| value.split_once("Credential="))
        .and_then(|(_, rest)| rest.split([',', ' ']).next())
        .and_then(|credential| credential.split('/').next())
        .filter(|key| !key.is_empty())
        .map(str::to_owned)
}

/// A random id in the shape AWS uses for `x-amzn-RequestId`.
pub(crate) fn request_id() -> String {
    let bytes: [u8; 16] = rand::random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Parses an `application/x-www-form-urlencoded` body (the awsQuery protocol STS uses).
pub(crate) fn form_fields(body: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key), percent_decode(value))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = (bytes[index] == b'%' && index + 2 < bytes.len())
            .then(|| Some(hex_digit(bytes[index + 1])? * 16 + hex_digit(bytes[index + 2])?))
            .flatten();
        match (escaped, bytes[index]) {
            (Some(byte), _) => {
                decoded.push(byte);
                index += 3;
            }
            (None, b'+') => {
                decoded.push(b' ');
                index += 1;
            }
            (None, byte) => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

fn hex_digit(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|digit| u8::try_from(digit).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_name_parses_back() {
        for operation in Operation::all() {
            assert_eq!(Operation::parse(&operation.name()), Some(operation));
        }
        assert_eq!(Operation::parse("CreateTrainingJob"), None);
        assert_eq!(Operation::parse("ListDataQualityJobDefinition"), None);
    }

    #[test]
    fn mutating_operations_constant_lists_exactly_the_mutating_operations() {
        let mut expected: Vec<String> = Operation::all()
            .into_iter()
            .filter(|operation| operation.is_mutating())
            .map(Operation::name)
            .collect();
        let mut listed: Vec<String> = crate::MUTATING_OPERATIONS
            .iter()
            .map(|name| (*name).to_owned())
            .collect();
        expected.sort();
        listed.sort();
        assert_eq!(listed, expected);
    }

    #[test]
    fn region_comes_from_the_credential_scope() {
        let header = "AWS4-HMAC-SHA256 Credential=AKID/20240101/eu-west-1/sagemaker/aws4_request, SignedHeaders=host, Signature=abc";
        assert_eq!(region_from_authorization(Some(header)), "eu-west-1");
        assert_eq!(region_from_authorization(None), "us-east-1");
        assert_eq!(region_from_authorization(Some("Bearer x")), "us-east-1");
        assert_eq!(
            access_key_from_authorization(Some(header)).as_deref(),
            Some("AKID")
        );
        assert_eq!(access_key_from_authorization(Some("Bearer x")), None);
        assert_eq!(
            service_from_authorization(Some(header)).as_deref(),
            Some("sagemaker")
        );
        assert_eq!(service_from_authorization(None), None);
    }

    #[test]
    fn form_bodies_decode() {
        let fields = form_fields(b"Action=GetCallerIdentity&Version=2011-06-15&X=a%2Fb+c");
        assert_eq!(
            fields[0],
            ("Action".to_owned(), "GetCallerIdentity".to_owned())
        );
        assert_eq!(fields[2], ("X".to_owned(), "a/b c".to_owned()));
        assert_eq!(form_fields(b"A=%zz%")[0].1, "%zz%");
    }

    #[test]
    fn wrong_member_types_are_serialization_errors() {
        let body = serde_json::json!({"Name": 5, "Tags": [{"Key": "k", "Value": "v"}]});
        let members = Members(body.as_object().expect("object"));
        assert_eq!(
            members.string("Name").expect_err("number").code,
            "SerializationException"
        );
        assert_eq!(
            members.tags("Tags").expect("tags"),
            Some(vec![("k".to_owned(), "v".to_owned())])
        );
    }
}
