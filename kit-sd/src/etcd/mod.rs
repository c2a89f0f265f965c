//! etcd v3 (feature `etcd`): a prefix watch as an [`Instancer`](crate::Instancer),
//! lease-based registration as a [`Registrar`](crate::Registrar).
//!
//! Layout in etcd, as Go kit's etcdv3 package has it: each instance is one
//! key under a service prefix (`/services/addsvc/10.0.0.1:8080`) whose
//! value is the instance address, attached to a lease that the instance
//! keeps alive. When the instance dies, the lease expires and etcd deletes
//! the key; watchers see the deletion.
//!
//! The instancer reads the prefix, publishes the set, then watches from the
//! next revision, applying each put and delete. When the watch is cancelled
//! because its revision was compacted, it reads again and watches anew;
//! when the connection drops, it publishes the error (the
//! [`Endpointer`](crate::Endpointer) keeps the last good set) and retries
//! with [`Backoff`](crate::backoff::Backoff).
//!
//! etcd-client compiles etcd's protos with `protoc` at build time: the
//! Debian packages `protobuf-compiler` and `libprotobuf-dev`
//! (`./scripts/test` installs them).

mod instancer;
mod registrar;

pub use self::instancer::{instancer, instancer_with_backoff};
pub use self::registrar::EtcdRegistrar;
pub use etcd_client;

use kit_endpoint::{Code, Error};

/// A kit error for an etcd client error: a gRPC status keeps its code
/// (etcd's `Unavailable` stays `Unavailable`); connection and watch
/// failures are `Unavailable`.
pub(crate) fn error(context: &str, e: etcd_client::Error) -> Error {
    let code = match &e {
        etcd_client::Error::GRpcStatus(status) => Code::from_i32(status.code() as i32),
        etcd_client::Error::InvalidArgs(_) | etcd_client::Error::InvalidUri(_) => {
            Code::InvalidArgument
        }
        _ => Code::Unavailable,
    };
    Error::new(code, format!("etcd: {context}: {e}")).with_source(e)
}
