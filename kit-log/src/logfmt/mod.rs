//! logfmt: Go kit's default log format, as a tracing-subscriber formatter.
//!
//! [`Logfmt`] is a [`FormatEvent`] and [`LogfmtFields`] the matching
//! [`FormatFields`] (span fields are formatted once, when the span is
//! created, and reused on every line inside it). A line reads:
//!
//! ```text
//! ts=2026-11-21T21:05:31.497385Z level=info target=addsvc caller=src/main.rs:28 method=Sum msg=call took=1.2ms
//! ```
//!
//! - `ts` is UTC RFC 3339 (tracing-subscriber's `SystemTime`, microseconds),
//!   `caller` is the `file:line` the event came from; both can be turned off.
//! - Fields of the spans around the event come next, outermost span first:
//!   this is Go kit's `log.With` context. The event's own fields follow, its
//!   message under `msg`.
//! - With the `otel` feature, `trace_id` and `span_id` end the line whenever
//!   the current span carries an OpenTelemetry context.
//!
//! Escaping is described in `escape.rs`: quotes, spaces, `=`, backslashes,
//! newlines and every control character are escaped, and bytes that are not
//! UTF-8 are written as `\xNN`, so every line is one line and [`parse`] reads
//! it back to the same keys and values.
//!
//! Written here rather than taken from a crate because kit needs three
//! things together: Go kit's line shape (span fields as `With` context,
//! `msg`, `caller`), escaping that is lossless for bytes that are not UTF-8,
//! and a strict parser so tests can read every line back. The formatter is
//! a thin [`FormatEvent`] over tracing-subscriber; timestamps, filtering,
//! span storage and writers all stay tracing-subscriber's.

mod escape;
mod parse;
mod visit;

#[cfg(test)]
mod tests;

pub use self::parse::{Line, ParseError, parse};

use std::fmt;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

use self::escape::{write_key, write_str};
use self::visit::FieldWriter;

/// The logfmt event formatter. See the [module docs](self).
///
/// Use it with [`LogfmtFields`] as the field formatter:
///
/// ```
/// use kit_log::logfmt::{Logfmt, LogfmtFields};
///
/// let layer = tracing_subscriber::fmt::layer::<tracing_subscriber::Registry>()
///     .fmt_fields(LogfmtFields)
///     .event_format(Logfmt::new().with_caller(false));
/// # drop(layer);
/// ```
#[derive(Clone, Debug)]
pub struct Logfmt<T = SystemTime> {
    timer: Option<T>,
    caller: bool,
    target: bool,
    level: bool,
}

/// The logfmt field formatter, for span fields. See the [module docs](self).
#[derive(Clone, Copy, Debug, Default)]
pub struct LogfmtFields;

impl Logfmt {
    /// Timestamps in UTC RFC 3339, level, target and caller all on.
    pub fn new() -> Logfmt {
        Logfmt {
            timer: Some(SystemTime),
            caller: true,
            target: true,
            level: true,
        }
    }
}

impl Default for Logfmt {
    fn default() -> Logfmt {
        Logfmt::new()
    }
}

impl<T> Logfmt<T> {
    /// Uses `timer` for `ts` (a fixed clock in tests, for instance).
    pub fn with_timer<T2>(self, timer: T2) -> Logfmt<T2> {
        Logfmt {
            timer: Some(timer),
            caller: self.caller,
            target: self.target,
            level: self.level,
        }
    }

    /// Leaves `ts` out.
    pub fn without_time(self) -> Logfmt<T> {
        Logfmt {
            timer: None,
            ..self
        }
    }

    /// Whether to write `caller=file:line`.
    pub fn with_caller(self, caller: bool) -> Logfmt<T> {
        Logfmt { caller, ..self }
    }

    /// Whether to write `target=…`.
    pub fn with_target(self, target: bool) -> Logfmt<T> {
        Logfmt { target, ..self }
    }

    /// Whether to write `level=…`.
    pub fn with_level(self, level: bool) -> Logfmt<T> {
        Logfmt { level, ..self }
    }
}

/// Go kit's level names.
fn level_name(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

impl<S, T> FormatEvent<S, LogfmtFields> for Logfmt<T>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    T: FormatTime,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, LogfmtFields>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut out = FieldWriter::new(&mut writer);
        if let Some(timer) = &self.timer {
            let mut ts = String::with_capacity(32);
            timer.format_time(&mut Writer::new(&mut ts))?;
            out.pair_str("ts", &ts)?;
        }
        if self.level {
            out.pair_str("level", level_name(meta.level()))?;
        }
        if self.target {
            out.pair_str("target", meta.target())?;
        }
        if self.caller
            && let (Some(file), Some(line)) = (meta.file(), meta.line())
        {
            out.pair_caller(file, line)?;
        }
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let ext = span.extensions();
                if let Some(fields) = ext.get::<FormattedFields<LogfmtFields>>() {
                    out.raw(&fields.fields)?;
                }
            }
        }
        event.record(&mut out);
        out.finish()?;
        #[cfg(feature = "otel")]
        if let Some((trace_id, span_id)) = crate::otel::trace_ids() {
            out.pair_str("trace_id", &trace_id.to_string())?;
            out.pair_str("span_id", &span_id.to_string())?;
        }
        writer.write_char('\n')
    }
}

impl<'writer> FormatFields<'writer> for LogfmtFields {
    fn format_fields<R: tracing_subscriber::field::RecordFields>(
        &self,
        mut writer: Writer<'writer>,
        fields: R,
    ) -> fmt::Result {
        let mut out = FieldWriter::new(&mut writer);
        fields.record(&mut out);
        out.finish()
    }
}

/// Writes one `key=value` pair, escaped; for code that writes logfmt by
/// hand (a test fixture, an access log) and wants the same rules.
///
/// ```
/// let mut s = String::new();
/// kit_log::logfmt::write_pair(&mut s, "err", "can't sum two zeroes").unwrap();
/// assert_eq!(s, r#"err="can't sum two zeroes""#);
/// ```
pub fn write_pair(out: &mut impl fmt::Write, key: &str, value: &str) -> fmt::Result {
    write_key(out, key)?;
    out.write_char('=')?;
    write_str(out, value)
}
