use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use kit_endpoint::{Code, Error};

/// The largest response body read from Consul.
const BODY_LIMIT: usize = 8 << 20;

/// A minimal Consul HTTP API client: a base URL such as
/// `http://127.0.0.1:8500`, an optional ACL token, a pooled HTTP/1 client.
#[derive(Clone)]
pub struct ConsulClient {
    base: String,
    token: Option<String>,
    http: Client<HttpConnector, Full<Bytes>>,
}

impl std::fmt::Debug for ConsulClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsulClient")
            .field("base", &self.base)
            .field("token", &self.token.as_ref().map(|_| "…"))
            .finish()
    }
}

/// A response: status, headers, body.
pub(crate) struct Response {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl ConsulClient {
    /// A client for the agent at `base` (`http://host:port`).
    pub fn new(base: impl Into<String>) -> ConsulClient {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        ConsulClient {
            base: base.into().trim_end_matches('/').to_owned(),
            token: None,
            http: Client::builder(TokioExecutor::new()).build(connector),
        }
    }

    /// Sends this ACL token (`X-Consul-Token`) with every request.
    pub fn with_token(mut self, token: impl Into<String>) -> ConsulClient {
        self.token = Some(token.into());
        self
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends one request and reads the response, within `timeout`.
    pub(crate) async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        body: Bytes,
        timeout: Duration,
    ) -> Result<Response, Error> {
        let uri: Uri = format!("{}{path_and_query}", self.base)
            .parse()
            .map_err(|e| Error::invalid_argument(format!("consul: bad URL: {e}")))?;
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(token) = &self.token {
            req = req.header("x-consul-token", token);
        }
        if !body.is_empty() {
            req = req.header(http::header::CONTENT_TYPE, "application/json");
        }
        let req = req
            .body(Full::new(body))
            .map_err(|e| Error::invalid_argument(format!("consul: bad request: {e}")))?;
        let exchange = async {
            let resp = self
                .http
                .request(req)
                .await
                .map_err(|e| Error::unavailable(format!("consul: {e}")))?;
            let (parts, body) = resp.into_parts();
            let body = Limited::new(body, BODY_LIMIT)
                .collect()
                .await
                .map_err(|e| Error::unavailable(format!("consul: reading the response: {e}")))?
                .to_bytes();
            Ok(Response {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        tokio::time::timeout(timeout, exchange).await.map_err(|_| {
            Error::deadline_exceeded(format!("consul: no answer within {timeout:?}"))
        })?
    }
}

/// The kit error for a non-2xx answer from Consul.
pub(crate) fn status_error(what: &str, resp: &Response) -> Error {
    let code = match resp.status.as_u16() {
        400 => Code::InvalidArgument,
        401 | 403 => Code::PermissionDenied,
        404 => Code::NotFound,
        429 => Code::ResourceExhausted,
        _ => Code::Unavailable,
    };
    let text = String::from_utf8_lossy(&resp.body[..resp.body.len().min(200)]).into_owned();
    Error::new(
        code,
        format!("consul: {what}: {}: {}", resp.status, text.trim()),
    )
}
