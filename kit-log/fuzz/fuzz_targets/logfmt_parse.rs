//! `logfmt::parse` on any text never panics, and a line it accepts, written
//! back pair by pair with `logfmt::write_pair`, parses to the same pairs
//! (when every value is UTF-8, which `write_pair` takes). The parser also
//! runs on random strings in `logfmt::parse::tests::never_panics`.
#![no_main]

use kit_log::logfmt::{parse, write_pair};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let Ok(line) = parse(text) else { return };
    let mut again = String::new();
    for (key, value) in &line.pairs {
        let Ok(value) = std::str::from_utf8(value) else {
            return;
        };
        if !again.is_empty() {
            again.push(' ');
        }
        write_pair(&mut again, key, value).unwrap();
    }
    assert_eq!(parse(&again).as_ref(), Ok(&line), "{again:?}");
});
