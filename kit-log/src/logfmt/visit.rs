//! A tracing field visitor that writes logfmt pairs.

use std::fmt::{self, Write};

use tracing::field::{Field, Visit};

use super::escape::{write_bytes, write_key, write_str};

/// Writes `key=value` pairs separated by single spaces. `Visit` methods
/// cannot fail, so the first write error is kept and returned by
/// [`finish`](FieldWriter::finish).
pub(crate) struct FieldWriter<'a, W> {
    out: &'a mut W,
    /// Whether nothing has been written yet (no leading space).
    first: bool,
    /// Reused for `Debug` values, which must be seen whole before we know
    /// whether they need quotes.
    scratch: String,
    result: fmt::Result,
}

impl<'a, W: Write> FieldWriter<'a, W> {
    pub(crate) fn new(out: &'a mut W) -> FieldWriter<'a, W> {
        FieldWriter {
            out,
            first: true,
            scratch: String::new(),
            result: Ok(()),
        }
    }

    fn key(&mut self, key: &str) -> fmt::Result {
        if !std::mem::take(&mut self.first) {
            self.out.write_char(' ')?;
        }
        write_key(self.out, key)?;
        self.out.write_char('=')
    }

    /// Writes a pair with a text value.
    pub(crate) fn pair_str(&mut self, key: &str, value: &str) -> fmt::Result {
        self.key(key)?;
        write_str(self.out, value)
    }

    /// Writes `caller=file:line` without building the value first (a path
    /// with characters that need quoting takes the slow way).
    pub(crate) fn pair_caller(&mut self, file: &str, line: u32) -> fmt::Result {
        if file.is_empty() || file.chars().any(super::escape::needs_quotes) {
            return self.pair_str("caller", &format!("{file}:{line}"));
        }
        self.key("caller")?;
        write!(self.out, "{file}:{line}")
    }

    /// Appends pairs already formatted (a span's fields).
    pub(crate) fn raw(&mut self, pairs: &str) -> fmt::Result {
        if pairs.is_empty() {
            return Ok(());
        }
        if !std::mem::take(&mut self.first) {
            self.out.write_char(' ')?;
        }
        self.out.write_str(pairs)
    }

    /// The first error met while visiting, if any.
    pub(crate) fn finish(&mut self) -> fmt::Result {
        std::mem::replace(&mut self.result, Ok(()))
    }

    fn record(&mut self, field: &Field, write: impl FnOnce(&mut Self) -> fmt::Result) {
        if self.result.is_err() {
            return;
        }
        let name = match field.name() {
            "message" => "msg",
            name => name,
        };
        self.result = self.key(name).and_then(|()| write(self));
    }

    fn display(&mut self, field: &Field, value: impl fmt::Display) {
        self.record(field, |w| write!(w.out, "{value}"));
    }
}

impl<W: Write> Visit for FieldWriter<'_, W> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        // NaN and infinities print as words with no special characters.
        self.display(field, value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.display(field, value);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.display(field, value);
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.display(field, value);
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.display(field, value);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.display(field, value);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.record(field, |w| write_str(w.out, value));
    }

    fn record_bytes(&mut self, field: &Field, value: &[u8]) {
        self.record(field, |w| write_bytes(w.out, value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.record_debug(field, &format_args!("{value}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        self.record(field, |w| {
            write!(scratch, "{value:?}")?;
            write_str(w.out, &scratch)
        });
        self.scratch = scratch;
    }
}
