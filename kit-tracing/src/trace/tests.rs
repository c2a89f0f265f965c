use std::future::Future;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll, Waker};

use kit_endpoint::{Code, Context, Error, Request, endpoint_fn};
use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceContextExt as _, TraceFlags, TraceId, TraceState,
    TracerProvider as _,
};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::{
    InMemorySpanExporter, Sampler, SdkTracer, SdkTracerProvider, SpanData,
};
use proptest::prelude::*;
use tower::{Layer, ServiceExt};

use super::TraceLayer;
use crate::{ContextExt, current_span_context, semconv};

/// A tracer exporting to memory. The provider is kept apart: when the last
/// tracer goes (with the service that held it), the provider shuts down and
/// the in-memory exporter forgets what it recorded.
struct Fixture {
    tracer: SdkTracer,
    exporter: InMemorySpanExporter,
    _provider: SdkTracerProvider,
}

fn provider(sampler: Sampler) -> Fixture {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_sampler(sampler)
        .with_simple_exporter(exporter.clone())
        .build();
    Fixture {
        tracer: provider.tracer("test"),
        exporter,
        _provider: provider,
    }
}

fn traced() -> Fixture {
    provider(Sampler::AlwaysOn)
}

fn remote_parent(sampled: bool) -> SpanContext {
    SpanContext::new(
        TraceId::from(0x1234),
        SpanId::from(0x5678),
        if sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        },
        true,
        TraceState::default(),
    )
}

fn with_parent(sc: SpanContext) -> Context {
    let mut ctx = Context::new();
    ctx.set_otel_context(opentelemetry::Context::new().with_remote_span_context(sc));
    ctx
}

fn attr<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

/// An endpoint that fails with `code` (0: succeeds) and reports the span
/// context its request carried and the current one it ran under.
type Seen = Arc<Mutex<Vec<(Option<SpanContext>, Option<SpanContext>)>>>;

fn endpoint(
    seen: Seen,
) -> impl tower::Service<Request<i32>, Response = (), Error = Error, Future: Send> + Clone {
    endpoint_fn(move |req: Request<i32>| {
        let seen = seen.clone();
        async move {
            // after a yield, so the context must be attached on every poll
            tokio::task::yield_now().await;
            seen.lock()
                .unwrap()
                .push((req.context.span_context(), current_span_context()));
            match req.body {
                0 => Ok(()),
                n => Err(Error::new(Code::from_i32(n), "it failed")),
            }
        }
    })
}

#[tokio::test]
async fn a_server_span_is_the_child_of_the_remote_parent() {
    let Fixture {
        tracer,
        exporter,
        _provider,
    } = traced();
    let seen = Seen::default();
    let svc = TraceLayer::server(tracer, "Echo/Unary")
        .grpc("kit.test.Echo", "Unary")
        .server_address("127.0.0.1", 8080)
        .attribute(KeyValue::new("custom", "yes"))
        .layer(endpoint(seen.clone()));
    let parent = remote_parent(true);
    svc.oneshot(Request::with_context(with_parent(parent.clone()), 0))
        .await
        .unwrap();

    let spans = exporter.get_finished_spans().unwrap();
    assert_eq!(spans.len(), 1);
    let s = &spans[0];
    assert_eq!(s.name, "Echo/Unary");
    assert_eq!(s.span_kind, SpanKind::Server);
    assert_eq!(s.span_context.trace_id(), parent.trace_id());
    assert_eq!(s.parent_span_id, parent.span_id());
    assert!(s.parent_span_is_remote);
    assert_eq!(s.status, Status::Unset);
    assert_eq!(attr(s, semconv::RPC_SYSTEM), Some(&Value::from("grpc")));
    assert_eq!(
        attr(s, semconv::RPC_SERVICE),
        Some(&Value::from("kit.test.Echo"))
    );
    assert_eq!(attr(s, semconv::RPC_METHOD), Some(&Value::from("Unary")));
    assert_eq!(attr(s, semconv::RPC_GRPC_STATUS_CODE), Some(&Value::I64(0)));
    assert_eq!(attr(s, semconv::SERVER_PORT), Some(&Value::I64(8080)));
    assert_eq!(attr(s, "custom"), Some(&Value::from("yes")));
    assert_eq!(attr(s, semconv::ERROR_TYPE), None);

    // the endpoint saw the server span, in its request and as current
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].0.as_ref(), Some(&s.span_context));
    assert_eq!(seen[0].1.as_ref(), Some(&s.span_context));
}

#[tokio::test]
async fn a_client_span_is_the_child_of_the_callers_span_and_what_is_passed_on() {
    let Fixture {
        tracer,
        exporter,
        _provider,
    } = traced();
    let seen = Seen::default();
    let client = TraceLayer::client(tracer.clone(), "Echo/Unary").layer(endpoint(seen.clone()));
    let server =
        TraceLayer::server(tracer, "Front").layer(endpoint_fn(move |req: Request<i32>| {
            let client = client.clone();
            async move { client.oneshot(req).await }
        }));
    server.oneshot(Request::new(0)).await.unwrap();

    let spans = exporter.get_finished_spans().unwrap();
    let client = spans
        .iter()
        .find(|s| s.span_kind == SpanKind::Client)
        .unwrap();
    let server = spans
        .iter()
        .find(|s| s.span_kind == SpanKind::Server)
        .unwrap();
    // no parent anywhere: the server span is a root
    assert_eq!(server.parent_span_id, SpanId::INVALID);
    assert_eq!(client.parent_span_id, server.span_context.span_id());
    assert!(!client.parent_span_is_remote);
    assert_eq!(
        client.span_context.trace_id(),
        server.span_context.trace_id()
    );
    // what the transport below the client would inject is the client span
    assert_eq!(
        seen.lock().unwrap()[0].0.as_ref(),
        Some(&client.span_context)
    );
}

#[tokio::test]
async fn without_a_stored_context_the_current_one_is_the_parent() {
    let Fixture {
        tracer,
        exporter,
        _provider,
    } = traced();
    let mut svc = TraceLayer::client(tracer, "call").layer(endpoint(Seen::default()));
    let parent = remote_parent(true);
    svc.ready().await.unwrap();
    let call = {
        let _g = opentelemetry::Context::new()
            .with_remote_span_context(parent.clone())
            .attach();
        // the parent is taken when the call is made
        tower::Service::call(&mut svc, Request::new(0))
    };
    call.await.unwrap();
    let spans = exporter.get_finished_spans().unwrap();
    assert_eq!(spans[0].parent_span_id, parent.span_id());
}

#[tokio::test]
async fn an_error_marks_a_client_span_always_and_a_server_span_only_for_server_faults() {
    let Fixture {
        tracer,
        exporter,
        _provider,
    } = traced();
    for (kind, code, error) in [
        (SpanKind::Client, Code::InvalidArgument, true),
        (SpanKind::Server, Code::InvalidArgument, false),
        (SpanKind::Server, Code::Unavailable, true),
        (SpanKind::Server, Code::NotFound, false),
        (SpanKind::Client, Code::NotFound, true),
    ] {
        exporter.reset();
        let svc = TraceLayer::new(tracer.clone(), "op", kind.clone())
            .grpc("S", "M")
            .layer(endpoint(Seen::default()));
        let err = svc.oneshot(Request::new(code.as_i32())).await.unwrap_err();
        assert_eq!(err.code(), code);
        let s = &exporter.get_finished_spans().unwrap()[0];
        assert_eq!(
            attr(s, semconv::RPC_GRPC_STATUS_CODE),
            Some(&Value::I64(code.as_i32().into()))
        );
        if error {
            assert_eq!(s.status, Status::error("it failed"), "{kind:?} {code}");
            assert_eq!(
                attr(s, semconv::ERROR_TYPE),
                Some(&Value::from(code.as_str()))
            );
        } else {
            assert_eq!(s.status, Status::Unset, "{kind:?} {code}");
            assert_eq!(attr(s, semconv::ERROR_TYPE), None);
        }
    }
}

#[cfg(feature = "transport")]
#[tokio::test]
async fn http_spans_record_the_status_the_transport_sends() {
    let Fixture {
        tracer,
        exporter,
        _provider,
    } = traced();
    let svc = TraceLayer::server(tracer, "POST /echo")
        .http(&http::Method::POST)
        .http_route("/echo")
        .layer(endpoint(Seen::default()));
    svc.clone().oneshot(Request::new(0)).await.unwrap();
    let _ = svc
        .oneshot(Request::new(Code::DeadlineExceeded.as_i32()))
        .await;
    let spans = exporter.get_finished_spans().unwrap();
    let status = |s: &SpanData| attr(s, semconv::HTTP_RESPONSE_STATUS_CODE).cloned();
    assert_eq!(status(&spans[0]), Some(Value::I64(200)));
    assert_eq!(status(&spans[1]), Some(Value::I64(504)));
    assert_eq!(
        attr(&spans[0], semconv::HTTP_REQUEST_METHOD),
        Some(&Value::from("POST"))
    );
    assert_eq!(
        attr(&spans[0], semconv::HTTP_ROUTE),
        Some(&Value::from("/echo"))
    );
    assert_eq!(attr(&spans[0], semconv::RPC_GRPC_STATUS_CODE), None);
}

#[tokio::test]
async fn a_call_dropped_midway_ends_its_span_as_cancelled() {
    let Fixture {
        tracer,
        exporter,
        _provider,
    } = traced();
    let never = endpoint_fn(|_: Request<()>| std::future::pending::<Result<(), Error>>());
    for (kind, error) in [(SpanKind::Client, true), (SpanKind::Server, false)] {
        exporter.reset();
        let svc = TraceLayer::new(tracer.clone(), "op", kind)
            .grpc("S", "M")
            .layer(never.clone());
        let mut call = Box::pin(svc.oneshot(Request::new(())));
        let waker = Waker::noop();
        assert!(
            call.as_mut()
                .poll(&mut TaskContext::from_waker(waker))
                .is_pending()
        );
        assert!(exporter.get_finished_spans().unwrap().is_empty());
        drop(call);
        let s = &exporter.get_finished_spans().unwrap()[0];
        assert_eq!(attr(s, semconv::RPC_GRPC_STATUS_CODE), Some(&Value::I64(1)));
        assert_eq!(matches!(s.status, Status::Error { .. }), error);
    }
}

#[tokio::test]
async fn an_unsampled_call_exports_nothing_but_keeps_the_trace_together() {
    let Fixture {
        tracer,
        exporter,
        _provider,
    } = provider(Sampler::ParentBased(Box::new(Sampler::AlwaysOff)));
    let seen = Seen::default();
    let svc = TraceLayer::server(tracer.clone(), "op").layer(endpoint(seen.clone()));
    svc.clone().oneshot(Request::new(0)).await.unwrap();
    // an unsampled remote parent keeps its trace id and stays unsampled
    let parent = remote_parent(false);
    svc.oneshot(Request::with_context(with_parent(parent.clone()), 0))
        .await
        .unwrap();
    assert!(exporter.get_finished_spans().unwrap().is_empty());
    let seen = seen.lock().unwrap().clone();
    let root = seen[0].0.clone().unwrap();
    assert!(root.is_valid() && !root.is_sampled());
    let child = seen[1].0.clone().unwrap();
    assert_eq!(child.trace_id(), parent.trace_id());
    assert_ne!(child.span_id(), parent.span_id());
    assert!(!child.is_sampled());

    // a sampled remote parent is followed even though roots are off
    let svc = TraceLayer::server(tracer, "op").layer(endpoint(Seen::default()));
    svc.oneshot(Request::with_context(with_parent(remote_parent(true)), 0))
        .await
        .unwrap();
    assert_eq!(exporter.get_finished_spans().unwrap().len(), 1);
}

/// A service that is never ready: its readiness fails.
#[derive(Clone, Debug)]
struct NotReady;

impl tower::Service<Request<()>> for NotReady {
    type Response = ();
    type Error = tower::BoxError;
    type Future = std::future::Ready<Result<(), tower::BoxError>>;

    fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<Result<(), tower::BoxError>> {
        Poll::Ready(Err("overloaded".into()))
    }

    fn call(&mut self, _: Request<()>) -> Self::Future {
        std::future::ready(Ok(()))
    }
}

#[tokio::test]
async fn readiness_errors_convert_to_kit_errors_and_start_no_span() {
    let Fixture {
        tracer,
        exporter,
        _provider,
    } = traced();
    let mut svc = TraceLayer::server(tracer, "op").layer(NotReady);
    let err = svc.ready().await.unwrap_err();
    assert_eq!(err.code(), Code::Unknown);
    assert_eq!(err.message(), "overloaded");
    assert!(exporter.get_finished_spans().unwrap().is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The recorded outcome is a function of the code and the kind alone.
    #[test]
    fn the_status_follows_the_rules(n in 0i32..=16, server in any::<bool>()) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let Fixture { tracer, exporter, _provider } = traced();
        let kind = if server { SpanKind::Server } else { SpanKind::Client };
        let svc = TraceLayer::new(tracer, "op", kind.clone()).grpc("S", "M").layer(endpoint(Seen::default()));
        let result = rt.block_on(svc.oneshot(Request::new(n)));
        let spans = exporter.get_finished_spans().unwrap();
        prop_assert_eq!(spans.len(), 1);
        let s = &spans[0];
        prop_assert_eq!(attr(s, semconv::RPC_GRPC_STATUS_CODE), Some(&Value::I64(n.into())));
        let expect_error = n != 0 && semconv::is_error(&kind, Code::from_i32(n));
        prop_assert_eq!(matches!(s.status, Status::Error { .. }), expect_error);
        prop_assert_eq!(result.is_err(), n != 0);
    }
}

/// A streaming endpoint: `n` items, then the error `fail` names (0: none).
/// Each item reports the span context current while it was produced.
fn counting(
    seen: Arc<Mutex<Vec<Option<SpanContext>>>>,
) -> impl tower::Service<
    Request<(u32, i32)>,
    Response = futures_util::stream::BoxStream<'static, Result<u32, Error>>,
    Error = Error,
    Future: Send,
> + Clone {
    use futures_util::StreamExt as _;
    endpoint_fn(move |req: Request<(u32, i32)>| {
        let seen = seen.clone();
        async move {
            let (n, fail) = req.body;
            if n == u32::MAX {
                return Err(Error::unavailable("no stream today"));
            }
            let items = futures_util::stream::iter(0..n).map(move |i| {
                seen.lock().unwrap().push(current_span_context());
                Ok(i)
            });
            let end = (fail != 0).then(|| Err(Error::new(Code::from_i32(fail), "ended badly")));
            Ok(items.chain(futures_util::stream::iter(end)).boxed())
        }
    })
}

#[tokio::test]
async fn a_streamed_response_keeps_its_span_open_until_the_stream_ends() {
    use futures_util::StreamExt as _;
    let f = traced();
    let seen = Arc::default();
    let svc = TraceLayer::server(f.tracer.clone(), "Count")
        .grpc("demo.Counter", "Count")
        .streaming()
        .layer(counting(Arc::clone(&seen)));

    let mut items = svc.oneshot(Request::new((3, 0))).await.unwrap();
    assert_eq!(items.next().await.unwrap().unwrap(), 0);
    assert!(
        f.exporter.get_finished_spans().unwrap().is_empty(),
        "the span is open while the stream is"
    );
    assert_eq!(
        items.by_ref().map(Result::unwrap).collect::<Vec<_>>().await,
        [1, 2]
    );
    let spans = f.exporter.get_finished_spans().unwrap();
    assert_eq!(spans.len(), 1);
    let span = &spans[0];
    assert_eq!(span.name, "Count");
    assert_eq!(span.status, Status::Unset);
    assert_eq!(
        attr(span, semconv::RPC_GRPC_STATUS_CODE),
        Some(&Value::I64(0))
    );
    // Every item was produced inside the span.
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    for sc in seen.iter() {
        assert_eq!(
            sc.as_ref().map(SpanContext::span_id),
            Some(span.span_context.span_id())
        );
    }
}

#[tokio::test]
async fn a_stream_ends_its_span_with_its_error_or_as_cancelled_when_dropped() {
    use futures_util::StreamExt as _;
    let f = traced();
    let svc = TraceLayer::server(f.tracer.clone(), "Count")
        .grpc("demo.Counter", "Count")
        .streaming()
        .layer(counting(Arc::default()));

    // An error item ends the span with it (Internal is a server fault).
    let items = svc
        .clone()
        .oneshot(Request::new((2, Code::Internal.as_i32())))
        .await
        .unwrap();
    let all: Vec<_> = items.collect().await;
    assert_eq!(all.len(), 3);
    assert_eq!(all[2].as_ref().unwrap_err().code(), Code::Internal);
    // A subscriber hanging up: cancelled, not an error on a server span.
    let mut items = svc.clone().oneshot(Request::new((5, 0))).await.unwrap();
    items.next().await.unwrap().unwrap();
    drop(items);
    // A call that fails before any stream: the span ends with the error.
    let err = svc.oneshot(Request::new((u32::MAX, 0))).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);

    let spans = f.exporter.get_finished_spans().unwrap();
    let codes: Vec<_> = spans
        .iter()
        .map(|s| {
            (
                attr(s, semconv::RPC_GRPC_STATUS_CODE).cloned(),
                s.status.clone(),
            )
        })
        .collect();
    assert_eq!(
        codes,
        [
            (
                Some(Value::I64(Code::Internal.as_i32().into())),
                Status::error("ended badly")
            ),
            (
                Some(Value::I64(Code::Cancelled.as_i32().into())),
                Status::Unset
            ),
            (
                Some(Value::I64(Code::Unavailable.as_i32().into())),
                Status::error("no stream today")
            ),
        ]
    );
}
