//! A span as the receiver recorded it, with the accessors tests need.

use std::fmt;
use std::fmt::Write as _;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;

/// The OTLP transport a span arrived over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Received {
    /// `TraceService/Export` over gRPC.
    Grpc,
    /// `POST /v1/traces`, protobuf body.
    Http,
}

/// One span the receiver got, with the resource and scope it came under.
#[derive(Clone, Debug, PartialEq)]
pub struct ReceivedSpan {
    /// The resource's attributes (`service.name`, `service.version`, …).
    pub resource: Vec<KeyValue>,
    /// The instrumentation scope's name.
    pub scope: String,
    /// The span itself.
    pub span: Span,
    /// The transport it arrived over.
    pub via: Received,
}

/// Every span in an export request, each with its resource and scope.
pub(super) fn flatten(request: ExportTraceServiceRequest, via: Received) -> Vec<ReceivedSpan> {
    let mut out = Vec::new();
    for rs in request.resource_spans {
        let resource = rs.resource.map(|r| r.attributes).unwrap_or_default();
        for ss in rs.scope_spans {
            let scope = ss.scope.map(|s| s.name).unwrap_or_default();
            for span in ss.spans {
                out.push(ReceivedSpan {
                    resource: resource.clone(),
                    scope: scope.clone(),
                    span,
                    via,
                });
            }
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn find<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

impl ReceivedSpan {
    /// The span's name.
    pub fn name(&self) -> &str {
        &self.span.name
    }

    /// The trace id, as 32 lower-case hex digits.
    pub fn trace_id(&self) -> String {
        hex(&self.span.trace_id)
    }

    /// The span id, as 16 lower-case hex digits.
    pub fn span_id(&self) -> String {
        hex(&self.span.span_id)
    }

    /// The parent's span id, if the span has a parent.
    pub fn parent_span_id(&self) -> Option<String> {
        (!self.span.parent_span_id.is_empty()).then(|| hex(&self.span.parent_span_id))
    }

    /// The span's kind.
    pub fn kind(&self) -> SpanKind {
        SpanKind::try_from(self.span.kind).unwrap_or(SpanKind::Unspecified)
    }

    /// The span's status code (unset when the span has no status).
    pub fn status_code(&self) -> StatusCode {
        self.span
            .status
            .as_ref()
            .and_then(|s| StatusCode::try_from(s.code).ok())
            .unwrap_or(StatusCode::Unset)
    }

    /// The status message ("" when none).
    pub fn status_message(&self) -> &str {
        self.span.status.as_ref().map_or("", |s| s.message.as_str())
    }

    /// A span attribute's value.
    pub fn attribute(&self, key: &str) -> Option<&Value> {
        find(&self.span.attributes, key)
    }

    /// A string span attribute.
    pub fn str_attribute(&self, key: &str) -> Option<&str> {
        match self.attribute(key)? {
            Value::StringValue(s) => Some(s),
            _ => None,
        }
    }

    /// An integer span attribute.
    pub fn int_attribute(&self, key: &str) -> Option<i64> {
        match self.attribute(key)? {
            Value::IntValue(n) => Some(*n),
            _ => None,
        }
    }

    /// A string resource attribute.
    pub fn resource_str(&self, key: &str) -> Option<&str> {
        match find(&self.resource, key)? {
            Value::StringValue(s) => Some(s),
            _ => None,
        }
    }

    /// The resource's `service.name`.
    pub fn service_name(&self) -> Option<&str> {
        self.resource_str("service.name")
    }
}

impl fmt::Display for ReceivedSpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {:?} {:?} trace={} span={} parent={} status={:?} {:?}",
            self.service_name().unwrap_or("?"),
            self.name(),
            self.kind(),
            self.trace_id(),
            self.span_id(),
            self.parent_span_id().as_deref().unwrap_or("-"),
            self.status_code(),
            self.status_message(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::AnyValue;
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};

    fn kv(key: &str, value: Value) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue { value: Some(value) }),
            ..Default::default()
        }
    }

    #[test]
    fn flatten_keeps_resource_and_scope_per_span() {
        let span = |id: u8| Span {
            trace_id: vec![0xab; 16],
            span_id: vec![id; 8],
            name: format!("s{id}"),
            kind: SpanKind::Server as i32,
            attributes: vec![kv("n", Value::IntValue(id.into()))],
            ..Default::default()
        };
        let request = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![kv("service.name", Value::StringValue("svc".into()))],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans: vec![span(1), span(2)],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let spans = flatten(request, Received::Grpc);
        assert_eq!(spans.len(), 2);
        assert_eq!(spans[1].service_name(), Some("svc"));
        assert_eq!(spans[1].trace_id(), "ab".repeat(16));
        assert_eq!(spans[1].span_id(), "02".repeat(8));
        assert_eq!(spans[1].parent_span_id(), None);
        assert_eq!(spans[1].int_attribute("n"), Some(2));
        assert_eq!(spans[1].str_attribute("n"), None);
        assert_eq!(spans[0].kind(), SpanKind::Server);
        assert_eq!(spans[0].status_code(), StatusCode::Unset);
    }

    #[test]
    fn garbage_enums_read_as_unspecified() {
        let s = ReceivedSpan {
            resource: Vec::new(),
            scope: String::new(),
            span: Span {
                kind: 99,
                ..Default::default()
            },
            via: Received::Http,
        };
        assert_eq!(s.kind(), SpanKind::Unspecified);
        assert_eq!(s.service_name(), None);
        assert!(s.to_string().contains("Unspecified"));
    }
}
