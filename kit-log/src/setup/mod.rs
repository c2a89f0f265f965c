//! Setting up a subscriber: from the environment in one call, or explicitly.
//!
//! [`init`] reads `KIT_LOG` (an `EnvFilter`, such as
//! `info,kit_transport=debug`; `info` when unset) and `KIT_LOG_FORMAT`
//! (`logfmt`, the default, `json` or `pretty`), installs the global
//! subscriber and returns the [`LogGuard`] that flushes the non-blocking
//! writer when dropped. [`Builder`] gives every setting explicitly, and
//! builds the layer or the subscriber **without** installing it, so tests
//! and libraries use scoped subscribers (`tracing::subscriber::with_default`)
//! and nothing global is hidden from the user.

mod error;

pub use self::error::SetupError;

use std::io::{self, IsTerminal};
use std::str::FromStr;
use std::sync::Mutex;

use tracing::Subscriber;
use tracing::level_filters::LevelFilter;
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::fmt::{self, MakeWriter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::logfmt::{Logfmt, LogfmtFields};

/// The environment variable holding the filter.
pub const FILTER_VAR: &str = "KIT_LOG";
/// The environment variable holding the format.
pub const FORMAT_VAR: &str = "KIT_LOG_FORMAT";

/// How lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// [logfmt](crate::logfmt), as Go kit writes: one `key=value` line per event.
    #[default]
    Logfmt,
    /// One JSON object per line (tracing-subscriber's JSON formatter,
    /// event fields flattened, the span list under `spans`).
    Json,
    /// tracing-subscriber's multi-line format, for people at a terminal.
    Pretty,
}

impl FromStr for Format {
    type Err = SetupError;

    /// Parses `logfmt`, `json` or `pretty`, ignoring case and surrounding spaces.
    fn from_str(s: &str) -> Result<Format, SetupError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "logfmt" => Ok(Format::Logfmt),
            "json" => Ok(Format::Json),
            "pretty" => Ok(Format::Pretty),
            _ => Err(SetupError::Format(s.to_owned())),
        }
    }
}

/// Flushes and stops the non-blocking writer when dropped. Keep it alive
/// for as long as the program logs (bind it in `main`).
#[must_use = "dropping the guard flushes and stops the log writer at once"]
#[derive(Debug)]
pub struct LogGuard {
    _worker: Option<WorkerGuard>,
}

enum Output {
    Stderr,
    Stdout,
    Io(Box<dyn io::Write + Send>),
    Make(BoxMakeWriter),
}

/// Explicit logging settings. See the [module docs](self).
///
/// ```
/// use kit_log::{Builder, Capture, Format};
///
/// let capture = Capture::new();
/// let (subscriber, guard) = Builder::new()
///     .filter("debug")
///     .format(Format::Json)
///     .timestamps(false)
///     .caller(false)
///     .writer(capture.clone())
///     .subscriber()
///     .unwrap();
/// tracing::subscriber::with_default(subscriber, || tracing::debug!(method = "Sum"));
/// drop(guard); // flushes the non-blocking writer
/// let json: serde_json::Value = serde_json::from_str(&capture.lines()[0]).unwrap();
/// assert_eq!(json["method"], "Sum");
/// ```
pub struct Builder {
    filter: String,
    format: Format,
    timestamps: bool,
    caller: bool,
    target: bool,
    output: Output,
    non_blocking: bool,
    lossy: bool,
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let output = match self.output {
            Output::Stderr => "stderr",
            Output::Stdout => "stdout",
            Output::Io(_) => "writer",
            Output::Make(_) => "make_writer",
        };
        f.debug_struct("Builder")
            .field("filter", &self.filter)
            .field("format", &self.format)
            .field("timestamps", &self.timestamps)
            .field("caller", &self.caller)
            .field("target", &self.target)
            .field("output", &output)
            .field("non_blocking", &self.non_blocking)
            .field("lossy", &self.lossy)
            .finish()
    }
}

impl Default for Builder {
    fn default() -> Builder {
        Builder::new()
    }
}

/// Reads the environment ([`Builder::from_env`]) and installs the global
/// subscriber ([`Builder::init`]).
///
/// ```no_run
/// fn main() -> Result<(), kit_log::SetupError> {
///     let _guard = kit_log::init()?;
///     tracing::info!(addr = "0.0.0.0:8081", "listening");
///     Ok(())
/// }
/// ```
pub fn init() -> Result<LogGuard, SetupError> {
    Builder::from_env()?.init()
}

impl Builder {
    /// Level `info`, logfmt, timestamps, caller and target on, to stderr
    /// through a non-blocking writer that never drops lines.
    pub fn new() -> Builder {
        Builder {
            filter: String::from("info"),
            format: Format::Logfmt,
            timestamps: true,
            caller: true,
            target: true,
            output: Output::Stderr,
            non_blocking: true,
            lossy: false,
        }
    }

    /// The defaults, with filter and format from `KIT_LOG` and `KIT_LOG_FORMAT`.
    pub fn from_env() -> Result<Builder, SetupError> {
        Builder::from_vars(|name| std::env::var(name).ok())
    }

    /// As [`from_env`](Builder::from_env), reading variables through `var`
    /// (so tests need not change the process environment). Bad values are
    /// errors here, not silently ignored.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Builder, SetupError> {
        let mut builder = Builder::new();
        if let Some(filter) = var(FILTER_VAR).filter(|f| !f.trim().is_empty()) {
            parse_filter(&filter)?;
            builder.filter = filter;
        }
        if let Some(format) = var(FORMAT_VAR).filter(|f| !f.trim().is_empty()) {
            builder.format = format.parse()?;
        }
        Ok(builder)
    }

    /// The filter, in `EnvFilter` syntax (`info,kit_transport=debug`).
    pub fn filter(mut self, directives: impl Into<String>) -> Builder {
        self.filter = directives.into();
        self
    }

    /// The line format.
    pub fn format(mut self, format: Format) -> Builder {
        self.format = format;
        self
    }

    /// Whether lines carry a UTC RFC 3339 timestamp.
    pub fn timestamps(mut self, on: bool) -> Builder {
        self.timestamps = on;
        self
    }

    /// Whether lines carry the event's `file:line`.
    pub fn caller(mut self, on: bool) -> Builder {
        self.caller = on;
        self
    }

    /// Whether lines carry the event's target (its module path by default).
    pub fn target(mut self, on: bool) -> Builder {
        self.target = on;
        self
    }

    /// Writes to standard output instead of standard error.
    pub fn stdout(mut self) -> Builder {
        self.output = Output::Stdout;
        self
    }

    /// Writes to `writer` (a file, a socket, [`Capture`](crate::Capture)),
    /// through the non-blocking writer unless that is turned off.
    pub fn writer(mut self, writer: impl io::Write + Send + 'static) -> Builder {
        self.output = Output::Io(Box::new(writer));
        self
    }

    /// Writes through `make_writer` as it is: it is never wrapped in the
    /// non-blocking writer (it may already be one, or a test sink).
    pub fn make_writer<M>(mut self, make_writer: M) -> Builder
    where
        M: for<'a> MakeWriter<'a> + Send + Sync + 'static,
    {
        self.output = Output::Make(BoxMakeWriter::new(make_writer));
        self
    }

    /// Whether lines go through tracing-appender's non-blocking writer (a
    /// worker thread, 128 Ki lines of buffer), as by default, or are written
    /// on the logging thread under a lock.
    pub fn non_blocking(mut self, on: bool) -> Builder {
        self.non_blocking = on;
        self
    }

    /// Whether the non-blocking writer drops lines when its buffer is full
    /// (never blocking the caller), instead of waiting, as by default.
    pub fn lossy(mut self, on: bool) -> Builder {
        self.lossy = on;
        self
    }

    /// Builds the formatting layer, filter included, without installing
    /// anything: add it to a `Registry` beside other layers (OpenTelemetry).
    pub fn layer<S>(
        self,
    ) -> Result<(Box<dyn Layer<S> + Send + Sync + 'static>, LogGuard), SetupError>
    where
        S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
    {
        let filter = parse_filter(&self.filter)?;
        let ansi = matches!(self.output, Output::Stderr) && io::stderr().is_terminal();
        let (writer, worker) = make_writer(self.output, self.non_blocking, self.lossy);
        let fmt = fmt::layer().with_writer(writer).with_ansi(false);
        let layer = match self.format {
            Format::Logfmt => {
                let format = Logfmt::new()
                    .with_caller(self.caller)
                    .with_target(self.target);
                let format = if self.timestamps {
                    format
                } else {
                    format.without_time()
                };
                fmt.fmt_fields(LogfmtFields).event_format(format).boxed()
            }
            Format::Json => {
                let json = fmt
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_span_list(true)
                    .with_target(self.target)
                    .with_file(self.caller)
                    .with_line_number(self.caller);
                if self.timestamps {
                    with_trace_ids(json).boxed()
                } else {
                    with_trace_ids(json.without_time()).boxed()
                }
            }
            Format::Pretty => {
                let pretty = fmt
                    .pretty()
                    .with_ansi(ansi)
                    .with_target(self.target)
                    .with_file(self.caller)
                    .with_line_number(self.caller);
                if self.timestamps {
                    pretty.boxed()
                } else {
                    pretty.without_time().boxed()
                }
            }
        };
        let guard = LogGuard { _worker: worker };
        Ok((layer.with_filter(filter).boxed(), guard))
    }

    /// Builds a subscriber (a `Registry` with the [layer](Builder::layer))
    /// without installing it: for `tracing::subscriber::with_default`.
    pub fn subscriber(
        self,
    ) -> Result<(impl Subscriber + Send + Sync + 'static, LogGuard), SetupError> {
        let (layer, guard) = self.layer::<Registry>()?;
        Ok((Registry::default().with(layer), guard))
    }

    /// Builds the subscriber and installs it as the global default: the one
    /// thing this crate does globally, and only when asked.
    pub fn init(self) -> Result<LogGuard, SetupError> {
        let (subscriber, guard) = self.subscriber()?;
        tracing::subscriber::set_global_default(subscriber)
            .map_err(SetupError::AlreadyInstalled)?;
        Ok(guard)
    }
}

/// Adds `trace_id` and `span_id` to JSON lines (feature `otel`).
#[cfg(feature = "otel")]
fn with_trace_ids<S, E>(
    layer: fmt::Layer<S, fmt::format::JsonFields, E, BoxMakeWriter>,
) -> fmt::Layer<S, fmt::format::JsonFields, crate::otel::WithTraceIds<E>, BoxMakeWriter>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    E: fmt::FormatEvent<S, fmt::format::JsonFields> + 'static,
{
    layer.map_event_format(crate::otel::WithTraceIds::new)
}

#[cfg(not(feature = "otel"))]
fn with_trace_ids<L>(layer: L) -> L {
    layer
}

fn parse_filter(filter: &str) -> Result<EnvFilter, SetupError> {
    EnvFilter::builder()
        .with_default_directive(LevelFilter::INFO.into())
        .parse(filter)
        .map_err(|source| SetupError::Filter {
            filter: filter.to_owned(),
            source,
        })
}

fn make_writer(
    output: Output,
    non_blocking: bool,
    lossy: bool,
) -> (BoxMakeWriter, Option<WorkerGuard>) {
    let io: Box<dyn io::Write + Send> = match output {
        Output::Make(make) => return (make, None),
        Output::Stderr if !non_blocking => return (BoxMakeWriter::new(io::stderr), None),
        Output::Stdout if !non_blocking => return (BoxMakeWriter::new(io::stdout), None),
        Output::Stderr => Box::new(io::stderr()),
        Output::Stdout => Box::new(io::stdout()),
        Output::Io(io) => io,
    };
    if !non_blocking {
        return (BoxMakeWriter::new(Mutex::new(io)), None);
    }
    let (writer, worker) = NonBlockingBuilder::default()
        .lossy(lossy)
        .thread_name("kit-log")
        .finish(io);
    (BoxMakeWriter::new(writer), Some(worker))
}

#[cfg(test)]
mod tests;
