//! `init` installs the global subscriber once; a second install is an
//! error, not a silent no-op. Its own test binary, so the global subscriber
//! touches no other test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use kit_log::SetupError;

#[test]
fn init_installs_once() {
    let guard = kit_log::Builder::new().filter("warn").init().unwrap();
    assert!(tracing::enabled!(tracing::Level::WARN));
    assert!(!tracing::enabled!(tracing::Level::INFO));
    let err = kit_log::init().unwrap_err();
    assert!(matches!(err, SetupError::AlreadyInstalled(_)), "{err}");
    drop(guard);
}
