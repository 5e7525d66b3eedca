//! The `Verify` step's probe: one HTTP(S) GET with a short timeout, on the hyper client that
//! the AWS SDK already brings in (no second HTTP stack).

use std::time::Duration;

use async_trait::async_trait;
use http_body_util::Empty;
use hyper::body::Bytes;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::AwsSetupError;
use crate::error::{CloudError, CloudResult, ErrorCategory, Service};
use crate::ports::HealthCheck;

/// Long enough for a TLS handshake across regions, short enough that a dead endpoint does not
/// hold a reconcile pass.
pub const HEALTH_PROBE_TIMEOUT: Duration = Duration::from_secs(5);

const OPERATION: &str = "GET";

pub struct HttpHealthCheck {
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
    timeout: Duration,
}

impl HttpHealthCheck {
    pub fn new(timeout: Duration) -> Result<Self, AwsSetupError> {
        let connector = HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
            .map_err(|e| AwsSetupError::HealthClient(e.to_string()))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(HttpHealthCheck {
            client: Client::builder(TokioExecutor::new()).build(connector),
            timeout,
        })
    }
}

fn probe_error(code: &str, message: String) -> CloudError {
    // Verify is a read: an unreachable endpoint is retried until the operation's own deadline.
    CloudError::new(
        ErrorCategory::Retryable,
        Service::Http,
        OPERATION,
        code,
        message,
    )
}

#[async_trait]
impl HealthCheck for HttpHealthCheck {
    async fn probe(&self, url: &str) -> CloudResult<u16> {
        let uri: hyper::Uri = url.parse().map_err(|e: hyper::http::uri::InvalidUri| {
            CloudError::new(
                ErrorCategory::NeedsSpecChange,
                Service::Http,
                OPERATION,
                "InvalidUrl",
                format!("{url}: {e}"),
            )
        })?;
        let request = hyper::Request::get(uri)
            .header(
                hyper::header::USER_AGENT,
                concat!("drctl/", env!("CARGO_PKG_VERSION")),
            )
            .body(Empty::new())
            .map_err(|e| probe_error("InvalidRequest", e.to_string()))?;
        match tokio::time::timeout(self.timeout, self.client.request(request)).await {
            // Only the status matters; the body is dropped unread (the connection closes).
            Ok(Ok(response)) => Ok(response.status().as_u16()),
            Ok(Err(e)) => Err(probe_error("ConnectionFailed", format!("{url}: {e}"))),
            Err(_) => Err(probe_error(
                "Timeout",
                format!("{url}: no response within {:?}", self.timeout),
            )),
        }
    }
}
