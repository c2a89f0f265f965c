//! `Instance`: one discovered address of a service.

use std::fmt;
use std::sync::Arc;

/// One instance of a service, as the registry names it: usually
/// `host:port`, sometimes a URL. Cheap to clone (a shared string), ordered
/// and hashable, so an [`Endpointer`](crate::Endpointer) can key its cache by
/// it.
///
/// This is Go kit's instance string, kept as a string on purpose: every
/// backend (etcd values, SRV targets, Consul addresses) produces one, and
/// the user's factory decides what it means.
///
/// ```
/// use kit_sd::Instance;
///
/// let a = Instance::new("10.0.0.1:8080");
/// assert_eq!(a.as_str(), "10.0.0.1:8080");
/// assert_eq!(a, Instance::from("10.0.0.1:8080"));
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Instance(Arc<str>);

impl Instance {
    /// An instance with this address.
    pub fn new(addr: impl Into<Arc<str>>) -> Instance {
        Instance(addr.into())
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Instance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Instance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl From<&str> for Instance {
    fn from(s: &str) -> Instance {
        Instance::new(s)
    }
}

impl From<String> for Instance {
    fn from(s: String) -> Instance {
        Instance::new(s)
    }
}

impl AsRef<str> for Instance {
    fn as_ref(&self) -> &str {
        &self.0
    }
}
