//! An OTLP receiver for tests: what an OpenTelemetry collector would see.
//!
//! [`OtlpReceiver`] is a real server on a free loopback port that speaks
//! both OTLP transports: the collector's `TraceService/Export` over gRPC
//! (the generated service from the `opentelemetry-proto` crate) and
//! OTLP/HTTP protobuf (`POST /v1/traces`). It records every span it
//! receives together with its resource and scope, and lets a test await a
//! number of spans without sleeping: each export bumps a
//! [`tokio::sync::watch`] counter that [`OtlpReceiver::wait_for_spans`]
//! awaits, bounded by a timeout that reports what did arrive.
//!
//! ```no_run
//! # async fn example() {
//! use std::time::Duration;
//! use kit_testkit::OtlpReceiver;
//!
//! let receiver = OtlpReceiver::start().await.unwrap();
//! // point an OTLP exporter at receiver.grpc_endpoint() or receiver.http_endpoint(),
//! // run the code under test, flush the exporter, then:
//! let spans = receiver.wait_for_spans(4, Duration::from_secs(10)).await.unwrap();
//! assert!(spans.iter().all(|s| s.trace_id() == spans[0].trace_id()));
//! # }
//! ```
//!
//! Stopped on drop, like the other launchers.

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use bytes::Bytes;
use kit_transport::serve::{RunningServer, Server};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use tokio::sync::watch;
use tonic::service::Routes;

use crate::LaunchError;

mod span;

pub use self::span::{Received, ReceivedSpan};

/// The generated OTLP types (`opentelemetry_proto::tonic`), for tests that
/// inspect a [`ReceivedSpan`] in depth.
pub use opentelemetry_proto::tonic as proto;

/// The largest OTLP/HTTP request body accepted.
const HTTP_BODY_LIMIT: usize = 16 << 20;

/// A real OTLP receiver (gRPC and HTTP/protobuf on one loopback port) that
/// records the spans it receives. Stopped on drop. See the
/// [module docs](self).
pub struct OtlpReceiver {
    addr: SocketAddr,
    state: Arc<State>,
    // Dropping it shuts the server down.
    _server: RunningServer,
}

/// What the receiver has recorded; shared with the server's handlers.
#[derive(Debug)]
struct State {
    spans: Mutex<Vec<ReceivedSpan>>,
    /// How many spans have been recorded, for waiters.
    count: watch::Sender<usize>,
}

impl State {
    fn record(&self, request: ExportTraceServiceRequest, via: Received) {
        let new = span::flatten(request, via);
        let mut spans = self.spans.lock().unwrap_or_else(PoisonError::into_inner);
        spans.extend(new);
        let n = spans.len();
        drop(spans);
        self.count.send_replace(n);
    }

    fn snapshot(&self) -> Vec<ReceivedSpan> {
        self.spans
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Why [`OtlpReceiver::wait_for_spans`] gave up.
#[derive(Debug)]
pub struct WaitError {
    /// How many spans were awaited.
    pub wanted: usize,
    /// The spans that did arrive in time.
    pub received: Vec<ReceivedSpan>,
    /// How long the receiver waited.
    pub waited: Duration,
}

impl fmt::Display for WaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "waited {:?} for {} spans, received {}:",
            self.waited,
            self.wanted,
            self.received.len()
        )?;
        for s in &self.received {
            write!(f, "\n  {s}")?;
        }
        Ok(())
    }
}

impl std::error::Error for WaitError {}

impl OtlpReceiver {
    /// Starts a receiver on a free loopback port, on the current Tokio
    /// runtime. It accepts connections as soon as this returns.
    pub async fn start() -> Result<OtlpReceiver, LaunchError> {
        let listener = tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(|source| LaunchError::Io {
                what: "binding the OTLP receiver".into(),
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| LaunchError::Io {
            what: "reading the OTLP receiver's address".into(),
            source,
        })?;
        let (count, _) = watch::channel(0);
        let state = Arc::new(State {
            spans: Mutex::new(Vec::new()),
            count,
        });
        let grpc = TraceServiceServer::new(Collector(state.clone()));
        let http_state = state.clone();
        let router = Routes::new(grpc).into_axum_router().route(
            "/v1/traces",
            axum::routing::post(move |body: Bytes| http_export(http_state.clone(), body))
                .layer(axum::extract::DefaultBodyLimit::max(HTTP_BODY_LIMIT)),
        );
        let server = Server::new().spawn(listener, Routes::from(router).prepare());
        Ok(OtlpReceiver {
            addr,
            state,
            _server: server,
        })
    }

    /// The receiver's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL an OTLP/gRPC exporter sends to: `http://127.0.0.1:PORT`.
    pub fn grpc_endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The URL an OTLP/HTTP exporter posts to: `http://127.0.0.1:PORT/v1/traces`.
    pub fn http_endpoint(&self) -> String {
        format!("http://{}/v1/traces", self.addr)
    }

    /// Every span received so far, in the order received.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.state.snapshot()
    }

    /// Waits until at least `n` spans have been received and returns all
    /// of them, or gives up after `within` with what did arrive.
    pub async fn wait_for_spans(
        &self,
        n: usize,
        within: Duration,
    ) -> Result<Vec<ReceivedSpan>, WaitError> {
        let mut count = self.state.count.subscribe();
        match tokio::time::timeout(within, count.wait_for(|&got| got >= n)).await {
            Ok(Ok(_)) => Ok(self.state.snapshot()),
            // The sender lives in `self.state`, so it cannot close while
            // `self` is borrowed; treat it like a timeout all the same.
            Ok(Err(_)) | Err(_) => Err(WaitError {
                wanted: n,
                received: self.state.snapshot(),
                waited: within,
            }),
        }
    }
}

impl fmt::Debug for OtlpReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtlpReceiver")
            .field("addr", &self.addr)
            .field("spans", &self.state.count.borrow().clone())
            .finish()
    }
}

/// The gRPC side: the collector's `TraceService`.
struct Collector(Arc<State>);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.0.record(request.into_inner(), Received::Grpc);
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

/// The HTTP side: `POST /v1/traces` with a protobuf body.
async fn http_export(state: Arc<State>, body: Bytes) -> axum::response::Response {
    match ExportTraceServiceRequest::decode(body) {
        Ok(request) => {
            state.record(request, Received::Http);
            let reply = ExportTraceServiceResponse {
                partial_success: None,
            };
            (
                [(header::CONTENT_TYPE, "application/x-protobuf")],
                reply.encode_to_vec(),
            )
                .into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, format!("bad OTLP request: {e}")).into_response(),
    }
}
