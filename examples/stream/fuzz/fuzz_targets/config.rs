//! The farm's configuration and the walker's checkpoint, on any text:
//! `-redis.instances` (IPv6-safe addresses, `;` between clusters, `,`
//! between instances), `-farm.write.quorum`, `-redis.sharding`, Go
//! durations and checkpoint files never panic, and every value they accept
//! prints back to text that parses to the same value. The same parsers run
//! on random strings in their modules' `garbage_never_panics` proptests.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stream::farm::Quorum;
use stream::farm::walker::parse_checkpoint;
use stream::flags::parse_go_duration;
use stream::redis::{Addr, Instances, Sharding};

fuzz_target!(|text: &str| {
    if let Ok(farm) = text.parse::<Instances>() {
        assert_eq!(farm.to_string().parse::<Instances>().as_ref(), Ok(&farm));
    }
    if let Ok(addr) = text.parse::<Addr>() {
        assert_eq!(addr.to_string().parse::<Addr>().as_ref(), Ok(&addr));
    }
    if let Ok(quorum) = text.parse::<Quorum>() {
        assert_eq!(quorum.to_string().parse::<Quorum>().ok(), Some(quorum));
    }
    if let Ok(sharding) = text.parse::<Sharding>() {
        assert_eq!(
            sharding.to_string().parse::<Sharding>().ok(),
            Some(sharding)
        );
    }
    let _ = parse_go_duration(text);
    let _ = parse_checkpoint(text);
});
