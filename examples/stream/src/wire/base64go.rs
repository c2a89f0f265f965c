//! Base64 decoding with Go's `encoding/base64` rules and messages.
//!
//! Written by hand because the wire format must fail where Go fails and say
//! what Go says: Go's padded decoders skip `\r` and `\n` anywhere, accept
//! non-zero trailing bits, and report `illegal base64 data at input byte N`
//! at Go's offsets. The `base64` crate (used for encoding) is stricter and
//! counts differently.

const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Which alphabet.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Alphabet {
    /// `base64.StdEncoding`.
    Std,
    /// `base64.URLEncoding`.
    Url,
}

/// Go's `base64.CorruptInputError`, or the streaming decoder's
/// `io.ErrUnexpectedEOF`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Base64Error {
    /// `illegal base64 data at input byte N`.
    Corrupt(usize),
    /// `unexpected EOF`.
    UnexpectedEof,
}

impl std::fmt::Display for Base64Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Base64Error::Corrupt(n) => write!(f, "illegal base64 data at input byte {n}"),
            Base64Error::UnexpectedEof => f.write_str("unexpected EOF"),
        }
    }
}

/// Marks a byte that is not in an alphabet, in [`reverse`]'s tables; every
/// symbol's value is below 64, so `a | b | c | d < 64` says all four are
/// symbols.
const NOT_A_SYMBOL: u8 = 0xff;

/// A 256-entry table from byte to symbol value: one load a byte, where a
/// search of the alphabet cost up to 64 comparisons (16 % of the server's
/// CPU on batches of 100 events, measured with perf).
const fn reverse(alphabet: &[u8; 64]) -> [u8; 256] {
    let mut table = [NOT_A_SYMBOL; 256];
    let mut i = 0;
    while i < 64 {
        table[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    table
}

static STD_VALUES: [u8; 256] = reverse(STD);
static URL_VALUES: [u8; 256] = reverse(URL);

fn values(alphabet: Alphabet) -> &'static [u8; 256] {
    match alphabet {
        Alphabet::Std => &STD_VALUES,
        Alphabet::Url => &URL_VALUES,
    }
}

fn value(alphabet: Alphabet, c: u8) -> Option<u8> {
    let v = values(alphabet)[usize::from(c)];
    (v != NOT_A_SYMBOL).then_some(v)
}

fn is_newline(c: u8) -> bool {
    c == b'\n' || c == b'\r'
}

/// `Encoding.Decode` of a padded encoding: the whole input at once.
pub(crate) fn decode(alphabet: Alphabet, src: &[u8]) -> Result<Vec<u8>, Base64Error> {
    let table = values(alphabet);
    // Exact for whole quanta without newlines (the common case), so the
    // caller's `Bytes::from(vec)` keeps the allocation instead of adding a
    // header of its own.
    let padding = src.iter().rev().take(2).take_while(|&&c| c == b'=').count();
    let capacity = if src.len().is_multiple_of(4) {
        src.len() / 4 * 3 - padding
    } else {
        src.len() / 4 * 3 + 3
    };
    let mut out = Vec::with_capacity(capacity);
    let mut si = 0;
    while si < src.len() {
        // Four symbols in a row, the common case, decode at once; anything
        // else (newlines, padding, garbage, the end) takes Go's rules.
        if let Some(&[a, b, c, d]) = src.get(si..si + 4) {
            let [a, b, c, d] = [a, b, c, d].map(|x| table[usize::from(x)]);
            if a | b | c | d < 64 {
                let v = u32::from(a) << 18 | u32::from(b) << 12 | u32::from(c) << 6 | u32::from(d);
                out.extend_from_slice(&v.to_be_bytes()[1..]);
                si += 4;
                continue;
            }
        }
        si = quantum(alphabet, src, si, &mut out)?;
    }
    Ok(out)
}

/// One quantum of up to four symbols from `si`; returns the next offset.
fn quantum(
    alphabet: Alphabet,
    src: &[u8],
    mut si: usize,
    out: &mut Vec<u8>,
) -> Result<usize, Base64Error> {
    let mut buf = [0u8; 4];
    let mut len = 4;
    let mut j = 0;
    while j < 4 {
        let Some(&c) = src.get(si) else {
            if j == 0 {
                return Ok(si);
            }
            // A padded encoding needs whole quanta.
            return Err(Base64Error::Corrupt(si - j));
        };
        si += 1;
        if let Some(v) = value(alphabet, c) {
            buf[j] = v;
            j += 1;
            continue;
        }
        if is_newline(c) {
            continue;
        }
        if c != b'=' || j < 2 {
            return Err(Base64Error::Corrupt(si - 1));
        }
        if j == 2 {
            // "==" expected; the first '=' is read.
            while src.get(si).copied().is_some_and(is_newline) {
                si += 1;
            }
            match src.get(si) {
                None => return Err(Base64Error::Corrupt(src.len())),
                Some(b'=') => si += 1,
                Some(_) => return Err(Base64Error::Corrupt(si - 1)),
            }
        }
        while src.get(si).copied().is_some_and(is_newline) {
            si += 1;
        }
        if si < src.len() {
            return Err(Base64Error::Corrupt(si));
        }
        len = j;
        break;
    }
    let v = u32::from(buf[0]) << 18
        | u32::from(buf[1]) << 12
        | u32::from(buf[2]) << 6
        | u32::from(buf[3]);
    let bytes = v.to_be_bytes();
    out.extend_from_slice(&bytes[1..len]);
    Ok(si)
}

/// What `io.ReadAll(base64.NewDecoder(enc, r))` returns for a short input:
/// newlines are dropped first, whole quanta are decoded, and a partial
/// quantum at the end is `unexpected EOF`.
///
/// Go decodes in chunks of at most 680 input bytes, and reports a corrupt
/// byte's offset within its chunk; here offsets count from the start of the
/// input (without newlines), which is the same for inputs under 680 bytes.
pub(crate) fn decode_stream(alphabet: Alphabet, src: &[u8]) -> Result<Vec<u8>, Base64Error> {
    let filtered: Vec<u8> = src.iter().copied().filter(|&c| !is_newline(c)).collect();
    let whole = filtered.len() / 4 * 4;
    let out = decode(alphabet, &filtered[..whole])?;
    if whole < filtered.len() {
        return Err(Base64Error::UnexpectedEof);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use proptest::prelude::*;

    fn std(s: &str) -> Result<Vec<u8>, String> {
        decode(Alphabet::Std, s.as_bytes()).map_err(|e| e.to_string())
    }

    #[test]
    fn go_cases() {
        assert_eq!(std("Zm9v"), Ok(b"foo".to_vec()));
        assert_eq!(std("YQ=="), Ok(b"a".to_vec()));
        assert_eq!(std("YWI="), Ok(b"ab".to_vec()));
        assert_eq!(std(""), Ok(vec![]));
        assert_eq!(std("Zm\r\n9v\n"), Ok(b"foo".to_vec()));
        assert_eq!(std("YR=="), Ok(b"a".to_vec()), "trailing bits are accepted");
        assert_eq!(
            std("!!!!").unwrap_err(),
            "illegal base64 data at input byte 0"
        );
        assert_eq!(
            std("YQ").unwrap_err(),
            "illegal base64 data at input byte 0"
        );
        assert_eq!(
            std("Zm9vYQ").unwrap_err(),
            "illegal base64 data at input byte 4"
        );
        assert_eq!(
            std("YQ=").unwrap_err(),
            "illegal base64 data at input byte 3"
        );
        assert_eq!(
            std("YQ==YQ==").unwrap_err(),
            "illegal base64 data at input byte 4"
        );
        assert_eq!(
            std("Y===").unwrap_err(),
            "illegal base64 data at input byte 1"
        );
        assert_eq!(
            std("YQ=a").unwrap_err(),
            "illegal base64 data at input byte 2"
        );
        assert_eq!(
            std("_w==").unwrap_err(),
            "illegal base64 data at input byte 0"
        );
        assert_eq!(decode(Alphabet::Url, b"_w=="), Ok(vec![0xff]));
    }

    #[test]
    fn stream_cases() {
        let s = |x: &str| decode_stream(Alphabet::Url, x.as_bytes()).map_err(|e| e.to_string());
        assert_eq!(s("YWJj"), Ok(b"abc".to_vec()));
        assert_eq!(s(""), Ok(vec![]));
        assert_eq!(s("YQ").unwrap_err(), "unexpected EOF");
        assert_eq!(s("YWJjYQ").unwrap_err(), "unexpected EOF");
        assert_eq!(
            s("!!!!").unwrap_err(),
            "illegal base64 data at input byte 0"
        );
    }

    proptest! {
        #[test]
        fn decodes_what_the_base64_crate_encodes(data in prop::collection::vec(any::<u8>(), 0..64)) {
            let std_text = base64::engine::general_purpose::STANDARD.encode(&data);
            prop_assert_eq!(decode(Alphabet::Std, std_text.as_bytes()), Ok(data.clone()));
            let url_text = base64::engine::general_purpose::URL_SAFE.encode(&data);
            prop_assert_eq!(decode_stream(Alphabet::Url, url_text.as_bytes()), Ok(data));
        }

        /// The four-symbol fast path changes nothing: the same bytes and the
        /// same errors as Go's rules alone, on inputs dense in symbols,
        /// padding and newlines.
        #[test]
        fn the_fast_path_decodes_as_go_s_rules_alone(
            data in prop::collection::vec(
                prop_oneof![
                    8 => prop::sample::select(b"AZaz09+/-_Y".to_vec()),
                    1 => prop::sample::select(b"=\r\n!".to_vec()),
                ],
                0..40,
            )
        ) {
            for alphabet in [Alphabet::Std, Alphabet::Url] {
                let mut slow = Vec::new();
                let mut si = 0;
                let reference = loop {
                    if si >= data.len() {
                        break Ok(slow);
                    }
                    match quantum(alphabet, &data, si, &mut slow) {
                        Ok(next) => si = next,
                        Err(e) => break Err(e),
                    }
                };
                prop_assert_eq!(decode(alphabet, &data), reference);
            }
        }

        #[test]
        fn garbage_never_panics(data in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode(Alphabet::Std, &data);
            let _ = decode_stream(Alphabet::Url, &data);
        }
    }
}
