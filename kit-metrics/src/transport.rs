//! Requests a transport refused before their endpoint ran.
//!
//! [`RequestMetrics`](crate::RequestMetrics) wraps endpoints, so it counts
//! what reaches them. A request kit-transport refuses first, a body that
//! does not decode, one over the size limit, a malformed timeout header, a
//! deadline already passed, never gets there: a flood of garbage would not
//! show in `requests_total`. kit-transport reports every request to its
//! finalizer, with whether the endpoint was called; this module turns the
//! ones that were not into a counter:
//!
//! | series | type | labels |
//! |---|---|---|
//! | `requests_rejected_total` | counter | `transport` (`http`, `grpc`), `code` (the kit code name of the error, such as `invalid_argument`) |
//!
//! Both label values come from fixed sets, never from the request (not its
//! path), so hostile input cannot grow the number of series.
//!
//! ```
//! # #[cfg(feature = "transport-http")] {
//! use kit_metrics::transport::RejectedRequests;
//! use kit_transport::http::ServerOptions;
//! use prometheus_client::registry::Registry;
//!
//! let mut registry = Registry::default();
//! let rejected = RejectedRequests::register(&mut registry);
//! // Every HttpServer built with these options reports to it.
//! let options = ServerOptions::new().finalizer(rejected.http());
//! # let _ = options;
//! # }
//! ```
//!
//! With feature `transport-http` for [`RejectedRequests::http`], and
//! `transport-grpc` for [`RejectedRequests::grpc`]. A protobuf message that
//! does not decode is refused by tonic's codec before kit's gRPC server
//! runs, so it reaches no finalizer and is not counted here.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

use kit_endpoint::Code;

/// Labels of `requests_rejected_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RejectedLabels {
    transport: &'static str,
    code: &'static str,
}

/// `requests_rejected_total`, registered once and shared by the finalizers
/// it hands out (cheap to clone).
#[derive(Clone, Debug)]
pub struct RejectedRequests {
    rejected: Family<RejectedLabels, Counter>,
}

impl RejectedRequests {
    /// Registers the family in `registry`.
    pub fn register(registry: &mut Registry) -> RejectedRequests {
        let rejected = Family::<RejectedLabels, Counter>::default();
        registry.register(
            "requests_rejected",
            "Requests refused by the transport before their endpoint ran",
            rejected.clone(),
        );
        RejectedRequests { rejected }
    }

    /// Counts one refused request. A request the finalizer reports with no
    /// error (a client that hung up before the endpoint ran) counts as
    /// `cancelled`.
    pub fn record(&self, transport: &'static str, code: Code) {
        self.rejected
            .get_or_create(&RejectedLabels {
                transport,
                code: code.as_str(),
            })
            .inc();
    }

    /// A finalizer for kit-transport's HTTP [`ServerOptions`](kit_transport::http::ServerOptions).
    #[cfg(feature = "transport-http")]
    pub fn http(&self) -> impl Fn(&kit_transport::http::Finished<'_>) + Send + Sync + 'static {
        let this = self.clone();
        move |f| {
            if !f.endpoint_called {
                this.record("http", f.error.map_or(Code::Cancelled, |e| e.code()));
            }
        }
    }

    /// A finalizer for kit-transport's [`GrpcServerOptions`](kit_transport::grpc::GrpcServerOptions).
    #[cfg(feature = "transport-grpc")]
    pub fn grpc(&self) -> impl Fn(&kit_transport::grpc::GrpcFinished) + Send + Sync + 'static {
        let this = self.clone();
        move |f| {
            if !f.endpoint_called {
                this.record("grpc", f.code.unwrap_or(Code::Cancelled));
            }
        }
    }
}
