//! Transports: Go kit's addsvc wire formats over kit-transport.
//!
//! Go kit: `pkg/addtransport/`.

pub mod grpc;
pub mod http;
pub mod jsonrpc;
