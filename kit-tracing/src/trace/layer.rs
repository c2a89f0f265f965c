use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use opentelemetry::trace::SpanKind;
use opentelemetry::{KeyValue, StringValue, Value};
use tower_layer::Layer;

use super::{Shared, Trace};
use crate::semconv;

/// Applies [`Trace`] to services: one span per call. See the
/// [module docs](super) for what each span records.
///
/// The tracer is passed in, never taken from a global: a test, or a process
/// that hosts two services, can give each its own provider.
///
/// ```
/// use kit_endpoint::{Error, Request, endpoint_fn};
/// use kit_tracing::TraceLayer;
/// use opentelemetry::trace::TracerProvider as _;
/// use opentelemetry_sdk::trace::SdkTracerProvider;
/// use tower::{ServiceBuilder, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let provider = SdkTracerProvider::builder().build();
/// let sum = ServiceBuilder::new()
///     .layer(
///         TraceLayer::server(provider.tracer("addsvc"), "pb.Add/Sum")
///             .grpc("pb.Add", "Sum")
///             .attribute(opentelemetry::KeyValue::new("deployment.environment.name", "test")),
///     )
///     .service(endpoint_fn(|req: Request<(i64, i64)>| async move {
///         Ok::<_, Error>(req.body.0 + req.body.1)
///     }));
/// assert_eq!(sum.oneshot(Request::new((1, 2))).await.unwrap(), 3);
/// # }
/// ```
pub struct TraceLayer<T> {
    tracer: Arc<T>,
    name: Cow<'static, str>,
    kind: SpanKind,
    attributes: Vec<KeyValue>,
    grpc: bool,
    http: bool,
}

impl<T> TraceLayer<T> {
    /// Spans of `kind` named `name`, started with `tracer`.
    pub fn new(tracer: T, name: impl Into<Cow<'static, str>>, kind: SpanKind) -> TraceLayer<T> {
        TraceLayer {
            tracer: Arc::new(tracer),
            name: name.into(),
            kind,
            attributes: Vec::new(),
            grpc: false,
            http: false,
        }
    }

    /// Server spans: for the endpoint behind a transport server. By the
    /// conventions, name them `package.Service/Method` for RPC and
    /// `METHOD /route` for HTTP.
    pub fn server(tracer: T, name: impl Into<Cow<'static, str>>) -> TraceLayer<T> {
        TraceLayer::new(tracer, name, SpanKind::Server)
    }

    /// Client spans: for a transport client (an outbound call).
    pub fn client(tracer: T, name: impl Into<Cow<'static, str>>) -> TraceLayer<T> {
        TraceLayer::new(tracer, name, SpanKind::Client)
    }

    /// Adds an attribute every span starts with. A string value is kept
    /// behind an `Arc`, so each span shares it rather than copying it.
    pub fn attribute(mut self, attribute: KeyValue) -> Self {
        self.attributes.push(shared(attribute));
        self
    }

    /// Adds attributes every span starts with.
    pub fn attributes(mut self, attributes: impl IntoIterator<Item = KeyValue>) -> Self {
        self.attributes.extend(attributes.into_iter().map(shared));
        self
    }

    /// A gRPC method: sets `rpc.system = "grpc"`, `rpc.service` and
    /// `rpc.method`, and records `rpc.grpc.status_code` when a call ends.
    pub fn grpc(mut self, service: impl Into<String>, method: impl Into<String>) -> Self {
        self.grpc = true;
        self.rpc("grpc", service, method)
    }

    /// Another RPC system: sets `rpc.system`, `rpc.service`, `rpc.method`.
    pub fn rpc(
        self,
        system: impl Into<String>,
        service: impl Into<String>,
        method: impl Into<String>,
    ) -> Self {
        self.attributes([
            KeyValue::new(semconv::RPC_SYSTEM, system.into()),
            KeyValue::new(semconv::RPC_SERVICE, service.into()),
            KeyValue::new(semconv::RPC_METHOD, method.into()),
        ])
    }

    /// An HTTP operation: sets `http.request.method` and, with the
    /// `transport` feature, records `http.response.status_code` when a call
    /// ends. The layer sees the endpoint's result, not the encoded
    /// response: a success is recorded as 200 and an error as the status
    /// kit-transport's table gives its code; an encoder or error encoder
    /// that answers otherwise is not seen.
    pub fn http(mut self, method: &http::Method) -> Self {
        self.http = true;
        self.attribute(KeyValue::new(
            semconv::HTTP_REQUEST_METHOD,
            method.as_str().to_owned(),
        ))
    }

    /// `http.route`: the route template a server matched (`/users/{id}`).
    pub fn http_route(self, route: impl Into<String>) -> Self {
        self.attribute(KeyValue::new(semconv::HTTP_ROUTE, route.into()))
    }

    /// `url.full`: the URL a client calls.
    pub fn url(self, url: impl Into<String>) -> Self {
        self.attribute(KeyValue::new(semconv::URL_FULL, url.into()))
    }

    /// `server.address` and `server.port`: where a client sends, or where a
    /// server listens.
    pub fn server_address(self, host: impl Into<String>, port: u16) -> Self {
        self.attributes([
            KeyValue::new(semconv::SERVER_ADDRESS, host.into()),
            KeyValue::new(semconv::SERVER_PORT, i64::from(port)),
        ])
    }

    /// For endpoints that answer with a stream: the span stays open until
    /// the stream ends (see [`TraceStream`](super::TraceStream)).
    pub fn streaming(self) -> super::StreamTraceLayer<T> {
        super::StreamTraceLayer::new(self)
    }

    /// The span kind.
    pub fn kind(&self) -> &SpanKind {
        &self.kind
    }

    /// The span name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// The attribute with a string value moved behind an `Arc`: cloning it for
/// every span is then a reference count, not an allocation.
fn shared(attribute: KeyValue) -> KeyValue {
    match attribute.value {
        Value::String(s) => {
            let s: Arc<str> = Arc::from(s.as_str());
            KeyValue::new(attribute.key, Value::String(StringValue::from(s)))
        }
        _ => attribute,
    }
}

impl<T> Clone for TraceLayer<T> {
    fn clone(&self) -> Self {
        TraceLayer {
            tracer: self.tracer.clone(),
            name: self.name.clone(),
            kind: self.kind.clone(),
            attributes: self.attributes.clone(),
            grpc: self.grpc,
            http: self.http,
        }
    }
}

impl<T> fmt::Debug for TraceLayer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TraceLayer")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("attributes", &self.attributes)
            .finish_non_exhaustive()
    }
}

impl<S, T> Layer<S> for TraceLayer<T> {
    type Service = Trace<S, T>;

    fn layer(&self, inner: S) -> Trace<S, T> {
        Trace {
            inner,
            shared: Arc::new(Shared {
                tracer: self.tracer.clone(),
                name: self.name.clone(),
                kind: self.kind.clone(),
                attributes: self.attributes.clone(),
                grpc: self.grpc,
                http: self.http,
            }),
        }
    }
}
