//! Raw JSON in and out of the official SDK. The SDK stays the transport (signing, retries,
//! endpoints, credentials) while the tool sees the exact bytes AWS sent and chooses the exact bytes
//! AWS receives, so members newer than the compiled SDK survive a describe → create round trip.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::AfterDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use bytes::Bytes;
use std::sync::{Arc, Mutex};

/// Captures the response body of the last attempt that deserialized (the one whose output the
/// SDK returns).
#[derive(Debug, Clone, Default)]
pub struct CaptureBody {
    body: Arc<Mutex<Option<Bytes>>>,
}

impl CaptureBody {
    pub fn take(&self) -> Option<Bytes> {
        self.body.lock().expect("capture lock").take()
    }
}

impl Intercept for CaptureBody {
    fn name(&self) -> &'static str {
        "sm-recreate::CaptureBody"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let bytes = context
            .response()
            .body()
            .bytes()
            .map(Bytes::copy_from_slice);
        *self.body.lock().expect("capture lock") = bytes;
        Ok(())
    }
}

/// Returns a request mutator that replaces the serialized body with `body`. It runs before
/// signing, so the signature covers the replacement; `content-length` is reset to match.
pub fn replace_body(body: Bytes) -> impl Fn(&mut HttpRequest) + Send + Sync + 'static {
    move |request: &mut HttpRequest| {
        *request.body_mut() = SdkBody::from(body.clone());
        request
            .headers_mut()
            .insert("content-length", body.len().to_string());
    }
}
