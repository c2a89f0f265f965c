//! stream
#![forbid(unsafe_code)]
#![deny(missing_docs)]
pub mod crdt;
pub mod endpoints;
pub mod service;
pub mod store;
pub mod wire;
