//! Go kit's addsvc, rebuilt with kit: Sum and Concat over HTTP, gRPC and
//! JSON-RPC, wire-compatible with Go kit v0.10.0's own clients and servers.
//!
//! The layout follows Go kit's `examples/addsvc`, so a Go kit user finds
//! every file where they expect it:
//!
//! | Go kit | kit |
//! |---|---|
//! | `pkg/addservice/service.go` | [`service`] |
//! | `pkg/addendpoint/set.go` | [`endpoints`] |
//! | `pkg/addendpoint/middleware.go`, `pkg/addservice/middleware.go` | [`middleware`] |
//! | `pkg/addtransport/http.go` | [`transport::http`] |
//! | `pkg/addtransport/grpc.go` | [`transport::grpc`] |
//! | `pkg/addtransport/jsonrpc.go` | [`transport::jsonrpc`] |
//! | `pb/addsvc.proto` | `proto/addsvc.proto`, compiled into [`pb`] |
//! | `cmd/addsvc/addsvc.go` | `src/bin/addsvc.rs` |
//! | `cmd/addcli/addcli.go` | `src/bin/addcli.rs` |
//!
//! ```
//! use addsvc::endpoints::Set;
//! use addsvc::service::{BasicService, Service, ServiceError};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let set = Set::new(BasicService);
//! assert_eq!(set.sum(1, 2).await, Ok(3));
//! assert_eq!(set.sum(0, 0).await, Err(ServiceError::TwoZeroes));
//! # }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod endpoints;
pub mod flags;
pub mod gojson;
pub mod middleware;
pub mod service;
pub mod transport;

/// Go kit's `pb` package, generated from `proto/addsvc.proto`.
#[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/pb.rs"));

    /// The encoded `FileDescriptorSet`, for gRPC reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/addsvc_descriptor.bin"));
}
