//! One error type for every SageMaker call, classified into the few cases the tool acts on, with
//! AWS's own code and message kept for the user.

use aws_sdk_sagemaker::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use std::fmt;

/// What kind of failure a call met: the tool's decisions (retry, treat as done, roll back) hang on
/// this, never on message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorClass {
    /// `ResourceNotFound` (and `ValidationException`s that only say "does not exist").
    NotFound,
    /// `ResourceInUse`, `ConflictException`: exists already, or referenced, or busy.
    InUse,
    /// `ThrottlingException` and friends, once the SDK's retries gave up.
    Throttled,
    /// `ValidationException` and other 4xx the request itself caused.
    Validation,
    /// 5xx, timeouts, dropped connections: the outcome of a mutating call is unknown.
    Transient,
    /// Anything else (credentials, access denied, limits).
    Other,
}

#[derive(Debug, Clone, thiserror::Error)]
pub struct AwsError {
    pub operation: String,
    pub class: ErrorClass,
    pub code: Option<String>,
    pub message: String,
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{} failed: {code}: {}", self.operation, self.message),
            None => write!(f, "{} failed: {}", self.operation, self.message),
        }
    }
}

impl AwsError {
    pub fn is(&self, class: ErrorClass) -> bool {
        self.class == class
    }

    /// Builds the error from any SDK error, classifying it by code and HTTP status.
    pub fn from_sdk<E>(operation: impl Into<String>, err: SdkError<E, HttpResponse>) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let status = err.raw_response().map(|r| r.status().as_u16());
        let (code, message) = match &err {
            SdkError::ServiceError(service) => (
                service.err().code().map(str::to_owned),
                service
                    .err()
                    .message()
                    .map(str::to_owned)
                    .unwrap_or_else(|| service.err().to_string()),
            ),
            other => (other.code().map(str::to_owned), render_chain(other)),
        };
        let class = match &err {
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => ErrorClass::Transient,
            SdkError::ResponseError(_) => ErrorClass::Transient,
            _ => classify(code.as_deref(), &message, status),
        };
        AwsError {
            operation: operation.into(),
            class,
            code,
            message,
        }
    }

    /// An error the adapter raises itself (a response it cannot use).
    pub fn local(operation: impl Into<String>, message: impl Into<String>) -> AwsError {
        AwsError {
            operation: operation.into(),
            class: ErrorClass::Other,
            code: None,
            message: message.into(),
        }
    }
}

/// Maps an AWS error code to a class. `ValidationException` and `ThrottlingException` are not
/// modelled by SageMaker, so they can only be recognised by their code string; and SageMaker
/// answers some "does not exist" cases (ListTags, schedules pointing at a missing definition) with a
/// `ValidationException` whose message is the only hint, so that one case reads the message.
fn classify(code: Option<&str>, message: &str, status: Option<u16>) -> ErrorClass {
    match code {
        Some("ResourceNotFound" | "ResourceNotFoundException") => ErrorClass::NotFound,
        Some("ResourceInUse" | "ResourceInUseException" | "ConflictException") => ErrorClass::InUse,
        // A 5xx is an answer that does not say whether the call acted, whatever its code: only a
        // throttle answered as a client error is taken for "refused before acting".
        _ if status.is_some_and(|s| s >= 500) => ErrorClass::Transient,
        Some(
            "ThrottlingException"
            | "Throttling"
            | "ThrottledException"
            | "RequestThrottled"
            | "RequestThrottledException"
            | "TooManyRequestsException"
            | "ProvisionedThroughputExceededException"
            | "TransactionInProgressException"
            | "RequestLimitExceeded"
            | "SlowDown",
        ) => ErrorClass::Throttled,
        Some("ValidationException")
            if message.contains("does not exist") || message.contains("not found") =>
        {
            ErrorClass::NotFound
        }
        Some(
            "InternalFailure" | "InternalServerError" | "ServiceUnavailable" | "InternalError",
        ) => ErrorClass::Transient,
        _ if status.is_some_and(|s| s >= 500) => ErrorClass::Transient,
        Some("ValidationException" | "SerializationException" | "InvalidParameterValue") => {
            ErrorClass::Validation
        }
        _ if status.is_some_and(|s| (400..500).contains(&s) && s != 403 && s != 401) => {
            ErrorClass::Validation
        }
        _ => ErrorClass::Other,
    }
}

fn render_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_the_class_the_tool_acts_on() {
        assert_eq!(
            classify(Some("ResourceNotFound"), "", Some(400)),
            ErrorClass::NotFound
        );
        assert_eq!(
            classify(Some("ResourceInUse"), "", Some(400)),
            ErrorClass::InUse
        );
        assert_eq!(
            classify(Some("ConflictException"), "", Some(400)),
            ErrorClass::InUse
        );
        assert_eq!(
            classify(Some("ThrottlingException"), "Rate exceeded", Some(400)),
            ErrorClass::Throttled
        );
        assert_eq!(
            classify(Some("ValidationException"), "bad name", Some(400)),
            ErrorClass::Validation
        );
        assert_eq!(
            classify(
                Some("ValidationException"),
                "Resource arn:... does not exist",
                Some(400)
            ),
            ErrorClass::NotFound
        );
        assert_eq!(
            classify(Some("InternalFailure"), "", Some(500)),
            ErrorClass::Transient
        );
        assert_eq!(classify(None, "", Some(503)), ErrorClass::Transient);
        // A throttle's code on a 5xx: the call may have acted.
        assert_eq!(
            classify(
                Some("SlowDown"),
                "Please reduce your request rate",
                Some(503)
            ),
            ErrorClass::Transient
        );
        assert_eq!(
            classify(Some("AccessDeniedException"), "", Some(403)),
            ErrorClass::Other
        );
    }
}
