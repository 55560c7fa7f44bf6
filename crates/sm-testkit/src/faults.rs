//! The emulator's fault rules as the tests write them: an error, a dropped connection, a delay, a
//! held call, and the few errors the tests inject with AWS's own status and message.

use sm_emulator::{Behaviour, FaultError, FaultRule};

/// `operation` (on `name`, or on any name) answers the error `code`.
pub fn error_rule(operation: &str, name: Option<&str>, code: &str) -> FaultRule {
    FaultRule {
        operation: operation.to_owned(),
        name: name.map(str::to_owned),
        error: Some(FaultError::new(code)),
        ..FaultRule::default()
    }
}

/// `operation` (on `name`, or on any name) has its connection dropped.
pub fn drop_rule(operation: &str, name: Option<&str>) -> FaultRule {
    FaultRule {
        operation: operation.to_owned(),
        name: name.map(str::to_owned),
        drop_connection: true,
        ..FaultRule::default()
    }
}

/// `operation` (on `name`, or on any name) is answered `delay_ms` late.
pub fn delay_rule(operation: &str, name: Option<&str>, delay_ms: u64) -> FaultRule {
    FaultRule {
        operation: operation.to_owned(),
        name: name.map(str::to_owned),
        delay_ms: Some(delay_ms),
        ..FaultRule::default()
    }
}

/// Holds `operation` on `name` (a glob) for `delay_ms`, so a test can act while the call is in
/// flight; with `drop`, the call is never performed (its connection dropped when the hold ends).
pub fn hold_rule(operation: &str, name: &str, delay_ms: u64, drop: bool) -> FaultRule {
    FaultRule {
        drop_connection: drop,
        ..delay_rule(operation, Some(name), delay_ms)
    }
}

/// The default behaviour with `faults`.
pub fn with_faults(faults: Vec<FaultRule>) -> Behaviour {
    Behaviour {
        faults,
        ..Behaviour::default()
    }
}

/// The error `code` with `status` and `message`, as the reproductions' fault files spell them.
pub fn fault_error(code: &str, status: u16, message: &str) -> Option<FaultError> {
    Some(FaultError {
        code: code.to_owned(),
        status,
        message: message.to_owned(),
    })
}

/// `operation` on `name` answers 500 `InternalFailure` (the `nth` matching call only, if given);
/// with `after`, only once it has acted: the service did it, the answer says it failed.
pub fn internal_failure(operation: &str, name: &str, nth: Option<u32>, after: bool) -> FaultRule {
    FaultRule {
        operation: operation.to_owned(),
        name: Some(name.to_owned()),
        nth,
        after,
        error: fault_error(
            "InternalFailure",
            500,
            "We encountered an internal error. Please try again.",
        ),
        ..FaultRule::default()
    }
}

/// The `nth` `operation` on `name` is throttled.
pub fn throttled(operation: &str, name: &str, nth: u32) -> FaultRule {
    FaultRule {
        operation: operation.to_owned(),
        name: Some(name.to_owned()),
        nth: Some(nth),
        error: fault_error("ThrottlingException", 400, "Rate exceeded"),
        ..FaultRule::default()
    }
}
