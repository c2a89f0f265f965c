//! Cursors: `wire::parse_cursor` on any bytes, and every cursor it accepts
//! formats and parses back to itself. The same function runs on random
//! bytes in `wire::cursor::tests::garbage_never_panics`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stream::wire::{format_cursor, parse_cursor};

fuzz_target!(|data: &[u8]| {
    if let Ok(cursor) = parse_cursor(data) {
        let again = parse_cursor(format_cursor(&cursor).as_bytes());
        assert_eq!(again.ok(), Some(cursor));
    }
});
