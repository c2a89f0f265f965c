//! Structured logs for kit: a tracing-subscriber set up in one call, Go
//! kit's logfmt (and JSON), and an endpoint logging middleware.
//!
//! Go kit's `log` package is key/value logging with context (`With`),
//! levels, timestamps and caller. In Rust, `tracing` already is that:
//! events carry fields, spans carry context, subscribers filter and format.
//! kit-log builds on it instead of adding another logging API:
//!
//! | Go kit | kit-log |
//! |---|---|
//! | `log.NewLogfmtLogger(log.NewSyncWriter(os.Stderr))` | [`init()`], or [`Builder`] |
//! | `log.With(logger, "ts", log.DefaultTimestampUTC, "caller", log.DefaultCaller)` | on by default ([`Builder::timestamps`], [`Builder::caller`]) |
//! | `log.With(logger, "method", "Sum")` | a span: `info_span!("rpc", method = "Sum")`; its fields lead every line inside it |
//! | `level.NewFilter(logger, level.AllowInfo())` | `KIT_LOG=info,kit_transport=debug` (an `EnvFilter`) |
//! | `log.NewJSONLogger` | `KIT_LOG_FORMAT=json` |
//! | the addsvc logging middleware | [`LoggingLayer`] |
//!
//! Nothing global is hidden: [`init`] installs the global subscriber
//! because that is what it is for; [`Builder::subscriber`] and
//! [`Builder::layer`] build the same thing without installing it, for
//! `tracing::subscriber::with_default` in tests or for composing with other
//! layers.
//!
//! # Example
//!
//! ```
//! use kit_endpoint::{Error, endpoint_fn};
//! use kit_log::{Builder, Capture, Format, LoggingLayer};
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! // In main: `let _guard = kit_log::init()?;`. Here, a scoped subscriber
//! // writing into memory so the example can read its own output.
//! let capture = Capture::new();
//! let (subscriber, _guard) = Builder::new()
//!     .format(Format::Logfmt)
//!     .timestamps(false)
//!     .make_writer(capture.clone())
//!     .subscriber()
//!     .unwrap();
//! let _scope = tracing::subscriber::set_default(subscriber);
//!
//! let concat = ServiceBuilder::new()
//!     .layer(LoggingLayer::new("concat"))
//!     .service(endpoint_fn(|(a, b): (String, String)| async move {
//!         if a.len() + b.len() > 10 {
//!             return Err(Error::out_of_range("result exceeds maximum size"));
//!         }
//!         Ok(a + &b)
//!     }));
//! concat.oneshot(("hello ".into(), "\"world\"".into())).await.unwrap_err();
//!
//! let line = &capture.lines()[0];
//! assert!(line.starts_with("level=warn target=kit_log::logging caller="), "{line}");
//! assert!(line.contains(r#"err="result exceeds maximum size""#), "{line}");
//! let pairs = kit_log::logfmt::parse(line).unwrap();
//! assert_eq!(pairs.get("code"), Some("out_of_range"));
//! # }
//! ```
//!
//! # Features
//! - `otel`: `trace_id` and `span_id` on every line whose span carries an
//!   OpenTelemetry context (from tracing-opentelemetry), in logfmt and JSON.
//!
//! # Layout
//! - [`setup`]: [`init`], [`Builder`], [`Format`], [`LogGuard`].
//! - [`logfmt`]: the logfmt formatter and a parser for reading lines back.
//! - [`logging`]: [`LoggingLayer`], the endpoint logging middleware.
//! - [`capture`]: [`Capture`], an in-memory writer for tests.
//! - `otel` (feature `otel`): trace correlation.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod capture;
pub mod logfmt;
pub mod logging;
#[cfg(feature = "otel")]
pub mod otel;
pub mod setup;

pub use capture::Capture;
pub use logging::{Logging, LoggingLayer};
pub use setup::{Builder, Format, LogGuard, SetupError, init};
