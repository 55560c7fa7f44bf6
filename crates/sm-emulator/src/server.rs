//! The HTTP side: hyper 1 directly (not a framework) so that a fault can abort a connection with
//! no response at all, which is what a lost response looks like to an SDK.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Map, Value};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::RecordedCall;
use super::faults::{
    ASSUME_ROLE_OPERATION, BehaviourState, FaultOutcome, LIST_ACCOUNTS_OPERATION, STS_OPERATION,
};
use super::org::{Caller, IssuedCredentials, Organization};
use super::protocol::{self, ApiError, Members, Operation};
use super::securityhub::{BATCH_UPDATE_FINDINGS_OPERATION, GET_FINDINGS_OPERATION, SecurityHub};
use super::store::Store;

/// Larger than any real request of these operations; stops a runaway client from exhausting memory.
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// How long shutdown waits for in-flight requests before abandoning them.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);
const JSON_CONTENT_TYPE: &str = "application/x-amz-json-1.1";
/// Security Hub speaks rest-json: plain JSON bodies, routed by method and path.
const REST_JSON_CONTENT_TYPE: &str = "application/json";
/// The signing name of Security Hub requests, in the SigV4 credential scope.
const SECURITY_HUB_SIGNING_NAME: &str = "securityhub";
/// `X-Amz-Target: AWSOrganizationsV20161128.<Operation>`.
const ORGANIZATIONS_TARGET_PREFIX: &str = "AWSOrganizationsV20161128.";
const OUTCOME_OK: &str = "ok";
const OUTCOME_DROPPED: &str = "dropped";
const OUTCOME_IN_FLIGHT: &str = "in-flight";

/// State shared by every connection and the `Emulator` handle.
#[derive(Debug)]
pub(crate) struct Shared {
    /// The management (caller's) account.
    pub account_id: String,
    /// One store per account: SageMaker state is partitioned by account (and, inside a store,
    /// by region).
    pub stores: Mutex<BTreeMap<String, Store>>,
    pub org: Mutex<Organization>,
    /// Every account's findings; locked after, never while holding, `stores`.
    pub securityhub: Mutex<SecurityHub>,
    pub behaviour: Mutex<BehaviourState>,
    pub calls: Mutex<CallLog>,
}

/// Locks a mutex, recovering the data if a panicking request poisoned it: every critical section
/// leaves the data consistent, so a poisoned lock carries no torn state.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The error a service future returns to make hyper abort the connection without answering.
#[derive(Debug)]
struct DroppedConnection;

impl fmt::Display for DroppedConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection dropped by a sandbox fault rule")
    }
}

impl std::error::Error for DroppedConnection {}

/// Accepts connections until `shutdown` flips, then lets in-flight requests finish.
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let shared = Arc::clone(&shared);
                    let shutdown = shutdown.clone();
                    connections.spawn(serve_connection(stream, shared, shutdown, peer));
                }
                // Accept errors (e.g. too many open files) are transient; keep serving.
                Err(error) => tracing::warn!(%error, "sandbox emulator: accept failed"),
            },
            _ = shutdown.changed() => break,
        }
        // Reap finished connections so the set does not grow with every connection ever served.
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        connections.abort_all();
    }
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
    peer: std::net::SocketAddr,
) {
    let service = service_fn(move |request| respond(Arc::clone(&shared), request));
    let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        _ = shutdown.changed() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        tracing::debug!(%peer, %error, "sandbox emulator: connection closed with an error");
    }
}

/// What a request asks for, once classified.
enum Call {
    SageMaker(Operation, Map<String, Value>),
    CallerIdentity,
    /// STS `AssumeRole`, with the request's form fields.
    AssumeRole(Vec<(String, String)>),
    /// Organizations `ListAccounts`, with the request's JSON members.
    ListAccounts(Map<String, Value>),
    /// Security Hub `GetFindings`, with the request's JSON members.
    GetFindings(Map<String, Value>),
    /// Security Hub `BatchUpdateFindings`, with the request's JSON members.
    BatchUpdateFindings(Map<String, Value>),
    /// A Security Hub request we do not implement, or cannot read; answered in rest-json.
    SecurityHubRejected(ApiError),
    /// Not an operation we implement; answered with this error.
    Rejected(ApiError),
    StsRejected(String),
}

impl Call {
    /// The service behind the call, which decides its wire format, whether it is throttled and
    /// which error expired credentials get.
    fn service(&self) -> Service {
        match self {
            Call::CallerIdentity | Call::AssumeRole(_) | Call::StsRejected(_) => Service::Sts,
            Call::ListAccounts(_) => Service::Organizations,
            Call::GetFindings(_) | Call::BatchUpdateFindings(_) | Call::SecurityHubRejected(_) => {
                Service::SecurityHub
            }
            Call::SageMaker(..) | Call::Rejected(_) => Service::SageMaker,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    /// AWS JSON 1.1, throttled per account and region.
    SageMaker,
    /// awsQuery: form-encoded requests, XML answers. Not throttled.
    Sts,
    /// AWS JSON 1.1. Not throttled.
    Organizations,
    /// rest-json. Not throttled (its own limits are not SageMaker's).
    SecurityHub,
}

async fn respond(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, DroppedConnection> {
    let request_id = protocol::request_id();
    let authorization = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    let region = protocol::region_from_authorization(authorization);
    let access_key = protocol::access_key_from_authorization(authorization);
    let signed_for = protocol::service_from_authorization(authorization);
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let target = request
        .headers()
        .get("x-amz-target")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let is_post = request.method() == Method::POST;
    let body = match Limited::new(request.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(error) => {
            let error =
                ApiError::serialization(format!("Could not read the request body: {error}"));
            return Ok(json_error(&error, &request_id));
        }
    };

    let (operation_name, call) = if signed_for.as_deref() == Some(SECURITY_HUB_SIGNING_NAME) {
        classify_security_hub(&method, &path, &body)
    } else {
        classify(is_post, target.as_deref(), &body)
    };
    let service = call.service();
    let caller = lock(&shared.org).identify(access_key.as_deref(), SystemTime::now());
    let name = match &call {
        Call::SageMaker(_, body) => resource_name(body),
        // The role asked for, so a test can tell which account's credentials were requested.
        Call::AssumeRole(fields) => fields
            .iter()
            .find(|(key, _)| key == "RoleArn")
            .map(|(_, arn)| arn.clone()),
        _ => None,
    };
    let index = record(
        &shared,
        &operation_name,
        name.clone(),
        &region,
        &caller.account,
    );

    let latency = lock(&shared.behaviour).behaviour().latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    // Authentication comes before anything else the service does.
    let refused = match service {
        Service::SageMaker => lock(&shared.org).refuse_sagemaker(&caller, &region),
        Service::Sts => caller.expired.then(Organization::expired_sts),
        Service::Organizations => caller.expired.then(Organization::expired_json),
        Service::SecurityHub => {
            let org_refusal = lock(&shared.org).refuse_sagemaker(&caller, &region);
            org_refusal.or_else(|| {
                let enabled = lock(&shared.securityhub).is_enabled(&caller.account);
                (!enabled).then(|| SecurityHub::not_enabled(&caller.account))
            })
        }
    };
    if let Some(error) = refused {
        set_outcome(&shared, index, &error.code);
        return Ok(error_response(&error, service, &request_id));
    }
    // STS and Organizations are other services with their own limits: the throttle models
    // SageMaker's, per account and region.
    let admitted = service != Service::SageMaker
        || lock(&shared.behaviour).admit(&caller.account, &region, Instant::now());
    if !admitted {
        let error = ApiError::throttling();
        set_outcome(&shared, index, &error.code);
        return Ok(json_error(&error, &request_id));
    }
    let decision =
        lock(&shared.behaviour).decide(&operation_name, name.as_deref(), &caller.account);
    let fault = decision.outcome;
    // An `after` fault models a call that AWS performed but whose answer is slow or lost: the
    // operation runs first and the delay comes between it and the (dropped or wrong) answer.
    let performed_first = fault.as_ref().is_some_and(FaultOutcome::after);
    if !performed_first && !decision.delay.is_zero() {
        tokio::time::sleep(decision.delay).await;
    }
    if let Some(fault) = fault.as_ref().filter(|fault| !fault.after()) {
        return deliver_fault(&shared, index, fault, service, &request_id);
    }

    let (response, outcome) = match call {
        Call::SageMaker(operation, body) => {
            let result = match lock(&shared.stores).get_mut(&caller.account) {
                Some(store) => store.handle(operation, &region, Members(&body), Instant::now()),
                // Every account the organization knows has a store; a caller is always one.
                None => Err(ApiError::new(
                    500,
                    "InternalFailure",
                    format!("no state for account {}", caller.account),
                )),
            };
            match result {
                Ok(value) => (json_ok(&value, &request_id), OUTCOME_OK.to_owned()),
                Err(error) => (json_error(&error, &request_id), error.code),
            }
        }
        Call::CallerIdentity => (caller_identity(&caller, &request_id), OUTCOME_OK.to_owned()),
        Call::AssumeRole(fields) => {
            let result = lock(&shared.org).assume_role(&caller, &fields, SystemTime::now());
            match result {
                Ok(issued) => (assume_role(&issued, &request_id), OUTCOME_OK.to_owned()),
                Err(error) => (sts_error(&error, &request_id), error.code),
            }
        }
        Call::ListAccounts(body) => {
            let result = lock(&shared.org).list_accounts(&caller, Members(&body));
            match result {
                Ok(value) => (json_ok(&value, &request_id), OUTCOME_OK.to_owned()),
                Err(error) => (json_error(&error, &request_id), error.code),
            }
        }
        Call::GetFindings(body) => {
            let result =
                lock(&shared.securityhub).get_findings(&caller.account, &region, Members(&body));
            rest_json_result(result, &request_id)
        }
        Call::BatchUpdateFindings(body) => {
            let result = lock(&shared.securityhub).batch_update_findings(
                &caller.account,
                &region,
                Members(&body),
                SystemTime::now(),
            );
            rest_json_result(result, &request_id)
        }
        Call::SecurityHubRejected(error) => (rest_json_error(&error, &request_id), error.code),
        Call::Rejected(error) => (json_error(&error, &request_id), error.code),
        Call::StsRejected(action) => {
            let error = ApiError::new(
                400,
                "InvalidAction",
                format!("Could not find operation {action}"),
            );
            (sts_error(&error, &request_id), error.code)
        }
    };
    if let Some(fault) = &fault {
        if !decision.delay.is_zero() {
            tokio::time::sleep(decision.delay).await;
        }
        return deliver_fault(&shared, index, fault, service, &request_id);
    }
    set_outcome(&shared, index, &outcome);
    Ok(response)
}

fn deliver_fault(
    shared: &Shared,
    index: usize,
    fault: &FaultOutcome,
    service: Service,
    request_id: &str,
) -> Result<Response<Full<Bytes>>, DroppedConnection> {
    match fault {
        FaultOutcome::DropConnection { .. } => {
            set_outcome(shared, index, OUTCOME_DROPPED);
            Err(DroppedConnection)
        }
        FaultOutcome::Error { error, .. } => {
            set_outcome(shared, index, &error.code);
            Ok(error_response(error, service, request_id))
        }
    }
}

/// An error in the wire format of `service`.
fn error_response(error: &ApiError, service: Service, request_id: &str) -> Response<Full<Bytes>> {
    match service {
        Service::Sts => sts_error(error, request_id),
        Service::SageMaker | Service::Organizations => json_error(error, request_id),
        Service::SecurityHub => rest_json_error(error, request_id),
    }
}

/// Works out a Security Hub operation from its method and path (rest-json).
fn classify_security_hub(method: &Method, path: &str, body: &[u8]) -> (String, Call) {
    let operation = match (method.as_str(), path.trim_end_matches('/')) {
        ("POST", "/findings") => GET_FINDINGS_OPERATION,
        ("PATCH", "/findings/batchupdate") => BATCH_UPDATE_FINDINGS_OPERATION,
        (method, path) => {
            let error = ApiError::new(
                404,
                "UnknownOperationException",
                format!("The sandbox Security Hub does not implement {method} {path}"),
            );
            return (format!("{method} {path}"), Call::SecurityHubRejected(error));
        }
    };
    let members = if body.iter().all(u8::is_ascii_whitespace) {
        Ok(Map::new())
    } else {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(members)) => Ok(members),
            Ok(_) => Err("The request body must be a JSON object".to_owned()),
            Err(error) => Err(format!("The request body is not valid JSON: {error}")),
        }
    };
    let call = match members {
        Ok(members) if operation == GET_FINDINGS_OPERATION => Call::GetFindings(members),
        Ok(members) => Call::BatchUpdateFindings(members),
        Err(message) => {
            Call::SecurityHubRejected(ApiError::new(400, "InvalidInputException", message))
        }
    };
    (operation.to_owned(), call)
}

fn rest_json_result(
    result: Result<Value, ApiError>,
    request_id: &str,
) -> (Response<Full<Bytes>>, String) {
    match result {
        Ok(value) => (
            response(
                StatusCode::OK,
                REST_JSON_CONTENT_TYPE,
                value.to_string().into_bytes(),
                request_id,
            ),
            OUTCOME_OK.to_owned(),
        ),
        Err(error) => (rest_json_error(&error, request_id), error.code),
    }
}

/// A rest-json error: the code in `x-amzn-ErrorType` and in the body's `Code`, which is where
/// the SDKs look for it.
fn rest_json_error(error: &ApiError, request_id: &str) -> Response<Full<Bytes>> {
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = response(
        status,
        REST_JSON_CONTENT_TYPE,
        error.rest_json_body().to_string().into_bytes(),
        request_id,
    );
    if let Ok(value) = HeaderValue::from_str(&error.code) {
        response.headers_mut().insert("x-amzn-errortype", value);
    }
    response
}

/// Works out the operation: SageMaker's and Organizations' from `X-Amz-Target`, STS's from an
/// awsQuery form body.
fn classify(is_post: bool, target: Option<&str>, body: &[u8]) -> (String, Call) {
    if !is_post {
        let name = target.unwrap_or_default().to_owned();
        return (
            name,
            Call::Rejected(ApiError::unknown_operation("non-POST request")),
        );
    }
    let Some(target) = target else {
        let fields = protocol::form_fields(body);
        let action = fields
            .iter()
            .find(|(key, _)| key == "Action")
            .map(|(_, value)| value.clone());
        return match action.as_deref() {
            Some(STS_OPERATION) => (STS_OPERATION.to_owned(), Call::CallerIdentity),
            Some(ASSUME_ROLE_OPERATION) => {
                (ASSUME_ROLE_OPERATION.to_owned(), Call::AssumeRole(fields))
            }
            Some(action) => (action.to_owned(), Call::StsRejected(action.to_owned())),
            None => (
                String::new(),
                Call::Rejected(ApiError::unknown_operation("missing X-Amz-Target")),
            ),
        };
    };
    // The SDKs send `{}` for an empty input; accept a missing body the same way.
    let parsed = || {
        let parsed = if body.iter().all(u8::is_ascii_whitespace) {
            Ok(Value::Object(Map::new()))
        } else {
            serde_json::from_slice::<Value>(body)
        };
        match parsed {
            Ok(Value::Object(members)) => Ok(members),
            Ok(_) => Err(Call::Rejected(ApiError::serialization(
                "The request body must be a JSON object",
            ))),
            Err(error) => Err(Call::Rejected(ApiError::serialization(format!(
                "The request body is not valid JSON: {error}"
            )))),
        }
    };
    if let Some(operation) = target.strip_prefix(ORGANIZATIONS_TARGET_PREFIX) {
        let call = match operation {
            LIST_ACCOUNTS_OPERATION => parsed().map_or_else(|call| call, Call::ListAccounts),
            _ => Call::Rejected(ApiError::unknown_operation(target)),
        };
        return (operation.to_owned(), call);
    }
    let operation_name = target.strip_prefix("SageMaker.").unwrap_or(target);
    let Some(operation) = target.strip_prefix("SageMaker.").and_then(Operation::parse) else {
        return (
            operation_name.to_owned(),
            Call::Rejected(ApiError::unknown_operation(target)),
        );
    };
    let call = parsed().map_or_else(|call| call, |members| Call::SageMaker(operation, members));
    (operation.name(), call)
}

/// The definition, schedule or notebook a request is about, for fault matching and the call log.
fn resource_name(body: &Map<String, Value>) -> Option<String> {
    let direct = [
        "JobDefinitionName",
        "MonitoringScheduleName",
        "NotebookInstanceName",
    ]
    .into_iter()
    .find_map(|member| body.get(member).and_then(Value::as_str));
    let from_arn = || {
        body.get("ResourceArn")
            .and_then(Value::as_str)
            .and_then(|arn| arn.rsplit_once('/'))
            .map(|(_, name)| name)
    };
    direct.or_else(from_arn).map(str::to_owned)
}

/// The most calls the log keeps: a long-running `sandbox serve` must not grow without bound.
pub const CALL_LOG_CAPACITY: usize = 100_000;

/// Every call received, oldest first, up to `CALL_LOG_CAPACITY` (the oldest are dropped).
#[derive(Debug, Default)]
pub struct CallLog {
    entries: std::collections::VecDeque<RecordedCall>,
    /// How many calls were dropped from the front: call numbers stay stable.
    dropped: usize,
}

impl CallLog {
    fn push(&mut self, call: RecordedCall) -> usize {
        if self.entries.len() == CALL_LOG_CAPACITY {
            self.entries.pop_front();
            self.dropped += 1;
        }
        self.entries.push_back(call);
        self.dropped + self.entries.len() - 1
    }

    fn get_mut(&mut self, number: usize) -> Option<&mut RecordedCall> {
        number
            .checked_sub(self.dropped)
            .and_then(|index| self.entries.get_mut(index))
    }

    pub fn to_vec(&self) -> Vec<RecordedCall> {
        self.entries.iter().cloned().collect()
    }
}

fn record(
    shared: &Shared,
    operation: &str,
    name: Option<String>,
    region: &str,
    account: &str,
) -> usize {
    lock(&shared.calls).push(RecordedCall {
        operation: operation.to_owned(),
        name,
        region: region.to_owned(),
        account_id: account.to_owned(),
        outcome: OUTCOME_IN_FLIGHT.to_owned(),
        received: std::time::Instant::now(),
    })
}

fn set_outcome(shared: &Shared, index: usize, outcome: &str) {
    if let Some(call) = lock(&shared.calls).get_mut(index) {
        outcome.clone_into(&mut call.outcome);
    }
}

fn response(
    status: StatusCode,
    content_type: &'static str,
    body: Vec<u8>,
    request_id: &str,
) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", value);
    }
    response
}

fn json_ok(body: &Value, request_id: &str) -> Response<Full<Bytes>> {
    response(
        StatusCode::OK,
        JSON_CONTENT_TYPE,
        body.to_string().into_bytes(),
        request_id,
    )
}

fn json_error(error: &ApiError, request_id: &str) -> Response<Full<Bytes>> {
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = response(
        status,
        JSON_CONTENT_TYPE,
        error.body().to_string().into_bytes(),
        request_id,
    );
    if let Ok(value) = HeaderValue::from_str(&error.code) {
        response.headers_mut().insert("x-amzn-errortype", value);
    }
    response
}

fn caller_identity(caller: &Caller, request_id: &str) -> Response<Full<Bytes>> {
    let account = xml_escape(&caller.account);
    let arn = xml_escape(&caller.arn);
    let user_id = xml_escape(&caller.user_id);
    let body = format!(
        "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
         <GetCallerIdentityResult>\
         <Arn>{arn}</Arn>\
         <UserId>{user_id}</UserId>\
         <Account>{account}</Account>\
         </GetCallerIdentityResult>\
         <ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>\
         </GetCallerIdentityResponse>"
    );
    response(StatusCode::OK, "text/xml", body.into_bytes(), request_id)
}

fn assume_role(issued: &IssuedCredentials, request_id: &str) -> Response<Full<Bytes>> {
    let body = format!(
        "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
         <AssumeRoleResult>\
         <AssumedRoleUser><AssumedRoleId>{}</AssumedRoleId><Arn>{}</Arn></AssumedRoleUser>\
         <Credentials>\
         <AccessKeyId>{}</AccessKeyId>\
         <SecretAccessKey>{}</SecretAccessKey>\
         <SessionToken>{}</SessionToken>\
         <Expiration>{}</Expiration>\
         </Credentials>\
         </AssumeRoleResult>\
         <ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>\
         </AssumeRoleResponse>",
        xml_escape(&issued.assumed_role_id),
        xml_escape(&issued.arn),
        xml_escape(&issued.access_key_id),
        xml_escape(&issued.secret_access_key),
        xml_escape(&issued.session_token),
        xml_escape(&issued.expiration),
    );
    response(StatusCode::OK, "text/xml", body.into_bytes(), request_id)
}

fn sts_error(error: &ApiError, request_id: &str) -> Response<Full<Bytes>> {
    let kind = if error.status >= 500 {
        "Receiver"
    } else {
        "Sender"
    };
    let body = format!(
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
         <Error><Type>{kind}</Type><Code>{}</Code><Message>{}</Message></Error>\
         <RequestId>{request_id}</RequestId>\
         </ErrorResponse>",
        xml_escape(&error.code),
        xml_escape(&error.message)
    );
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response(status, "text/xml", body.into_bytes(), request_id)
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_call_log_keeps_the_latest_calls_and_stable_numbers() {
        let call = |n: usize| RecordedCall {
            operation: format!("Op{n}"),
            name: None,
            region: "us-east-1".to_owned(),
            account_id: "123456789012".to_owned(),
            outcome: OUTCOME_IN_FLIGHT.to_owned(),
            received: std::time::Instant::now(),
        };
        let mut log = CallLog::default();
        for n in 0..CALL_LOG_CAPACITY + 2 {
            assert_eq!(log.push(call(n)), n);
        }
        let kept = log.to_vec();
        assert_eq!(kept.len(), CALL_LOG_CAPACITY);
        assert_eq!(kept[0].operation, "Op2");
        assert!(log.get_mut(1).is_none(), "dropped calls are gone");
        log.get_mut(CALL_LOG_CAPACITY + 1).unwrap().outcome = "ok".to_owned();
        assert_eq!(log.to_vec().last().unwrap().outcome, "ok");
    }

    use super::*;
    use serde_json::json;

    #[test]
    fn requests_are_classified_by_target_or_sts_action() {
        let (name, call) = classify(true, Some("SageMaker.ListTags"), br#"{"ResourceArn": "x"}"#);
        assert_eq!(name, "ListTags");
        assert!(matches!(call, Call::SageMaker(Operation::ListTags, _)));
        let (name, call) = classify(true, Some("SageMaker.CreateTrainingJob"), b"{}");
        assert_eq!(name, "CreateTrainingJob");
        assert!(matches!(call, Call::Rejected(error) if error.code == "UnknownOperationException"));
        let (_, call) = classify(true, Some("SageMaker.ListTags"), b"[1]");
        assert!(matches!(call, Call::Rejected(error) if error.code == "SerializationException"));
        let (name, call) = classify(true, None, b"Action=GetCallerIdentity&Version=2011-06-15");
        assert_eq!(name, "GetCallerIdentity");
        assert!(matches!(call, Call::CallerIdentity));
        let (name, call) = classify(true, None, b"Action=AssumeRole&RoleArn=arn%3Ax");
        assert_eq!(name, "AssumeRole");
        assert!(matches!(&call, Call::AssumeRole(fields) if fields[1].1 == "arn:x"));
        assert_eq!(call.service(), Service::Sts);
        let (name, call) = classify(true, Some("AWSOrganizationsV20161128.ListAccounts"), b"{}");
        assert_eq!(name, "ListAccounts");
        assert_eq!(call.service(), Service::Organizations);
        let (_, call) = classify(true, Some("AWSOrganizationsV20161128.ListRoots"), b"{}");
        assert!(matches!(call, Call::Rejected(error) if error.code == "UnknownOperationException"));
    }

    #[test]
    fn security_hub_requests_are_classified_by_method_and_path() {
        let (name, call) = classify_security_hub(&Method::POST, "/findings", b"{}");
        assert_eq!(name, "GetFindings");
        assert_eq!(call.service(), Service::SecurityHub);
        let (name, call) = classify_security_hub(&Method::PATCH, "/findings/batchupdate", b"");
        assert_eq!(name, "BatchUpdateFindings");
        assert!(matches!(call, Call::BatchUpdateFindings(_)));
        let (_, call) = classify_security_hub(&Method::POST, "/findings/import", b"{}");
        assert!(matches!(call, Call::SecurityHubRejected(error) if error.status == 404));
        let (_, call) = classify_security_hub(&Method::POST, "/findings", b"[]");
        assert!(
            matches!(call, Call::SecurityHubRejected(error) if error.code == "InvalidInputException")
        );
    }

    #[test]
    fn resource_names_come_from_names_or_arns() {
        let body =
            json!({"ResourceArn": "arn:aws:sagemaker:us-east-1:1:monitoring-schedule/nightly"});
        assert_eq!(
            resource_name(body.as_object().expect("object")).as_deref(),
            Some("nightly")
        );
        let body = json!({"JobDefinitionName": "churn"});
        assert_eq!(
            resource_name(body.as_object().expect("object")).as_deref(),
            Some("churn")
        );
    }
}
