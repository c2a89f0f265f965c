//! Request bodies: one, or a list rotated through; hex and one-per-line
//! files for the command line and scenario files.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

use crate::Error;

/// The most body bytes a run holds, all bodies together (64 MiB).
pub const MAX_BODY_BYTES: usize = 64 << 20;

/// The bodies a scenario sends: never empty. Connection `i` sends body
/// `i`, then `i + 1`, … (mod the count), so with several bodies every
/// connection cycles through all of them and concurrent requests differ.
///
/// [Sequenced](Bodies::sequenced) bodies are templates instead: every
/// `{seq}` in them becomes a number that no other request gets, so each
/// request can write something new (a store under test must not see the
/// same write twice, which it would treat as a no-op).
#[derive(Clone, Debug)]
pub struct Bodies(Arc<[Bytes]>, Option<Arc<Sequence>>);

/// The templates of sequenced bodies, split at `{seq}`.
#[derive(Debug)]
pub(crate) struct Sequence {
    parts: Vec<Vec<Bytes>>,
}

/// The next sequence number, shared by every sequenced body of this
/// process; 0 until first used.
static NEXT: AtomicU64 = AtomicU64::new(0);

/// The next sequence number: one counter for the whole process, started at
/// the wall clock in microseconds since the Unix epoch (about 1.8e15 in
/// 2026, exact as a JSON float below 2^53 ≈ 9e15).
///
/// One counter, not one per scenario, because scenarios of one run often
/// write the same keys and members through different servers: with a
/// counter each, a scenario that runs second would write scores below
/// those the first one left, and a last-writer-wins store rejects those
/// cheaply, which made whichever ran second look faster. Starting at the
/// clock carries this across runs against a store that outlives them.
fn next_seq() -> u64 {
    if NEXT.load(Ordering::Relaxed) == 0 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_micros() as u64)
            .max(1);
        // Only the first caller's start counts; the others find it set.
        let _ = NEXT.compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed);
    }
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The placeholder sequenced bodies replace.
pub(crate) const SEQ: &str = "{seq}";

impl PartialEq for Bodies {
    fn eq(&self, other: &Bodies) -> bool {
        self.0 == other.0 && self.1.is_some() == other.1.is_some()
    }
}

impl Eq for Bodies {}

impl Default for Bodies {
    /// One empty body.
    fn default() -> Bodies {
        Bodies::one(Bytes::new())
    }
}

impl Bodies {
    /// A single body sent with every request.
    pub fn one(body: impl Into<Bytes>) -> Bodies {
        Bodies(Arc::from([body.into()]), None)
    }

    /// These bodies, as templates: each `{seq}` in them is replaced, per
    /// request, by the next number of one counter shared by every
    /// connection and every scenario of the process, started at the clock
    /// (see `next_seq`): later numbers are always larger.
    /// An error if no body has a `{seq}`.
    pub fn sequenced(self) -> Result<Bodies, Error> {
        let parts: Vec<Vec<Bytes>> = self
            .0
            .iter()
            .map(|b| {
                let text = String::from_utf8_lossy(b);
                text.split(SEQ)
                    .map(|p| Bytes::copy_from_slice(p.as_bytes()))
                    .collect()
            })
            .collect();
        if parts.iter().all(|p| p.len() < 2) {
            return Err(Error::invalid(
                "bodies",
                "a sequenced body needs at least one {seq}",
            ));
        }
        let seq = Sequence { parts };
        Ok(Bodies(self.0, Some(Arc::new(seq))))
    }

    /// Whether the bodies are templates (see [`sequenced`](Bodies::sequenced)).
    pub fn is_sequenced(&self) -> bool {
        self.1.is_some()
    }

    /// Several bodies to rotate through; an error if there are none or
    /// they add up to more than [`MAX_BODY_BYTES`].
    pub fn rotate(bodies: impl IntoIterator<Item = Bytes>) -> Result<Bodies, Error> {
        let bodies: Vec<Bytes> = bodies.into_iter().collect();
        if bodies.is_empty() {
            return Err(Error::invalid("bodies", "an empty list; give at least one"));
        }
        let total: usize = bodies.iter().map(Bytes::len).sum();
        if total > MAX_BODY_BYTES {
            return Err(Error::invalid(
                "bodies",
                format!("{total} bytes in all, over the {MAX_BODY_BYTES}-byte limit"),
            ));
        }
        Ok(Bodies(bodies.into(), None))
    }

    /// The `i`-th body, counting round and round; for sequenced bodies, the
    /// template with the next sequence number in place of each `{seq}`.
    pub fn get(&self, i: usize) -> Bytes {
        let index = i % self.0.len().max(1);
        if let Some(seq) = &self.1
            && let Some(parts) = seq.parts.get(index)
        {
            let n = next_seq().to_string();
            let mut out = Vec::with_capacity(
                parts.iter().map(Bytes::len).sum::<usize>() + parts.len() * n.len(),
            );
            for (k, part) in parts.iter().enumerate() {
                if k > 0 {
                    out.extend_from_slice(n.as_bytes());
                }
                out.extend_from_slice(part);
            }
            return Bytes::from(out);
        }
        // Never empty: every constructor holds at least one body.
        self.0.get(index).cloned().unwrap_or_default()
    }

    /// How many bodies there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: there is at least one body, perhaps an empty one.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The bodies, in order.
    pub fn as_slice(&self) -> &[Bytes] {
        &self.0
    }

    /// Reads a file with one body per line (empty lines skipped, no
    /// trailing newline sent), e.g. a JSON document per line.
    pub fn from_lines_file(path: &Path) -> Result<Bodies, Error> {
        let text = read_bounded(path)?;
        Bodies::rotate(
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| Bytes::copy_from_slice(l.as_bytes())),
        )
    }

    /// Reads a file with one hex-encoded body per line (see [`parse_hex`]).
    pub fn from_hex_lines_file(path: &Path) -> Result<Bodies, Error> {
        let text = read_bounded(path)?;
        let bodies = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(parse_hex)
            .collect::<Result<Vec<_>, _>>()?;
        Bodies::rotate(bodies)
    }
}

/// Reads a whole file, refusing files over [`MAX_BODY_BYTES`] before
/// reading them.
pub(crate) fn read_bounded(path: &Path) -> Result<String, Error> {
    let what = || format!("reading {}", path.display());
    let len = std::fs::metadata(path)
        .map_err(|e| Error::io(what(), e))?
        .len();
    if len > MAX_BODY_BYTES as u64 {
        return Err(Error::invalid(
            "body file",
            format!(
                "{} is {len} bytes, over the {MAX_BODY_BYTES}-byte limit",
                path.display()
            ),
        ));
    }
    std::fs::read_to_string(path).map_err(|e| Error::io(what(), e))
}

/// Decodes hex, ignoring whitespace, so `"0801 1002"` is the four bytes of
/// a protobuf `{a: 1, b: 2}`. An odd number of digits or a non-hex
/// character is an error naming the position.
pub fn parse_hex(text: &str) -> Result<Bytes, Error> {
    let digits: Vec<(usize, u8)> = text
        .char_indices()
        .filter(|(_, c)| !c.is_whitespace())
        .map(|(i, c)| match c.to_digit(16) {
            Some(d) => Ok((i, d as u8)),
            None => Err(Error::invalid(
                "hex",
                format!("{text:?}: {c:?} at byte {i} is not a hex digit"),
            )),
        })
        .collect::<Result<_, _>>()?;
    if !digits.len().is_multiple_of(2) {
        return Err(Error::invalid(
            "hex",
            format!("{text:?}: an odd number of hex digits ({})", digits.len()),
        ));
    }
    if digits.len() / 2 > MAX_BODY_BYTES {
        return Err(Error::invalid("hex", "over the body size limit"));
    }
    Ok(digits
        .chunks_exact(2)
        .map(|pair| (pair[0].1 << 4) | pair[1].1)
        .collect::<Vec<u8>>()
        .into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_decodes_with_whitespace() {
        assert_eq!(
            parse_hex("0801 1002").unwrap(),
            Bytes::from_static(&[8, 1, 16, 2])
        );
        assert_eq!(
            parse_hex("ABff\n00").unwrap(),
            Bytes::from_static(&[0xab, 0xff, 0])
        );
        assert_eq!(parse_hex("").unwrap(), Bytes::new());
    }

    #[test]
    fn garbage_hex_is_rejected() {
        for text in ["0", "080", "zz", "0x08", "08 g1", "é0"] {
            let err = parse_hex(text).unwrap_err().to_string();
            assert!(err.starts_with("invalid hex"), "{text:?}: {err}");
        }
    }

    #[test]
    fn bodies_rotate_round_and_round() {
        let bodies = Bodies::rotate(["a", "b", "c"].map(Bytes::from)).unwrap();
        let got: Vec<Bytes> = (0..7).map(|i| bodies.get(i)).collect();
        assert_eq!(got, ["a", "b", "c", "a", "b", "c", "a"].map(Bytes::from));
        assert_eq!(bodies.len(), 3);
        assert!(Bodies::rotate([]).is_err());
        assert_eq!(Bodies::default().get(5), Bytes::new());
    }

    #[test]
    fn body_files_are_read_line_by_line() {
        let dir = std::env::temp_dir().join(format!("kit-load-body-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let lines = dir.join("lines");
        std::fs::write(&lines, "{\"a\":1}\n\n{\"a\":2}\n").unwrap();
        let bodies = Bodies::from_lines_file(&lines).unwrap();
        assert_eq!(
            bodies.as_slice(),
            [Bytes::from("{\"a\":1}"), Bytes::from("{\"a\":2}")]
        );
        let hex = dir.join("hex");
        std::fs::write(&hex, "0801\nzz\n").unwrap();
        assert!(Bodies::from_hex_lines_file(&hex).is_err());
        std::fs::write(&hex, "0801\n1002\n").unwrap();
        assert_eq!(Bodies::from_hex_lines_file(&hex).unwrap().len(), 2);
        assert!(Bodies::from_lines_file(&dir.join("missing")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[cfg(test)]
mod sequence_tests {
    use super::*;

    #[test]
    fn sequenced_bodies_never_repeat_and_rise_across_bodies() {
        let before = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_micros() as u64;
        let bodies = Bodies::rotate([
            Bytes::from_static(b"[{seq},{seq}]"),
            Bytes::from_static(b"x{seq}"),
        ])
        .unwrap()
        .sequenced()
        .unwrap();
        // A second scenario's bodies: their numbers continue the first's.
        let other = Bodies::one("{seq}").sequenced().unwrap();
        assert!(bodies.is_sequenced());
        let text = |b: Bytes| String::from_utf8(b.to_vec()).unwrap();
        let pair = text(bodies.get(0));
        let (x, y) = pair[1..pair.len() - 1].split_once(',').unwrap();
        // Every `{seq}` of one body gets the same number.
        assert_eq!(x, y);
        let a: u64 = x.parse().unwrap();
        let b: u64 = text(bodies.get(1))[1..].parse().unwrap();
        let c: u64 = text(other.get(0)).parse().unwrap();
        let d: u64 = text(bodies.get(3))[1..].parse().unwrap();
        assert!(a >= before, "{a} starts below the clock {before}");
        assert!(a < b && b < c && c < d, "{a} {b} {c} {d}");
        assert!(Bodies::one("no placeholder").sequenced().is_err());
    }
}
