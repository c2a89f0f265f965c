//! An in-memory writer, for tests that read back what was logged.

use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use tracing_subscriber::fmt::MakeWriter;

/// A cloneable in-memory sink: pass it as the writer, log, then read the
/// lines. Every clone shares one buffer.
///
/// ```
/// use kit_log::{Builder, Capture, Format};
///
/// let capture = Capture::new();
/// let (subscriber, _guard) = Builder::new()
///     .format(Format::Logfmt)
///     .make_writer(capture.clone())
///     .subscriber()
///     .unwrap();
/// tracing::subscriber::with_default(subscriber, || tracing::info!(method = "Sum", "call"));
/// let line = kit_log::logfmt::parse(&capture.lines()[0]).unwrap();
/// assert_eq!(line.get("method"), Some("Sum"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct Capture {
    buf: Arc<Mutex<Vec<u8>>>,
}

impl Capture {
    /// An empty sink.
    pub fn new() -> Capture {
        Capture::default()
    }

    /// Everything written so far, with bytes that are not UTF-8 replaced
    /// (kit's formatters never write such bytes).
    pub fn contents(&self) -> String {
        let buf = self.buf.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&buf).into_owned()
    }

    /// The lines written so far, without their newlines.
    pub fn lines(&self) -> Vec<String> {
        self.contents().lines().map(str::to_owned).collect()
    }

    /// Empties the sink.
    pub fn clear(&self) {
        self.buf
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

impl io::Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buf
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}
