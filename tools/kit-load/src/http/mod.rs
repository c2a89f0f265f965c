//! HTTP load: what to send ([`HttpLoad`]) and how it is driven.
//!
//! Each connection is a hyper 1 client connection (`hyper::client::conn`,
//! not the pooled client) on its own TCP socket with `TCP_NODELAY`, as wrk
//! keeps one socket per connection. Over HTTP/1.1 a connection keeps one
//! request in flight (closed loop, no pipelining); over HTTP/2 (h2c with
//! prior knowledge) it keeps [`Settings::streams`](crate::Settings::streams)
//! streams in flight.

mod drive;

pub(crate) use drive::tcp;

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;

use bytes::Bytes;
use http::header::{HOST, HeaderName, HeaderValue};
use http::{HeaderMap, Method, Uri};

use crate::run::Driver;
use crate::{Bodies, Error, Settings};

/// An HTTP request to send over and over.
///
/// ```
/// use kit_load::HttpLoad;
///
/// let load = HttpLoad::new("http://127.0.0.1:8080/sum")?
///     .with_method(http::Method::POST)
///     .with_header("content-type", "application/json")?
///     .with_body(r#"{"a":1,"b":2}"#);
/// assert_eq!(load.url().path(), "/sum");
/// # Ok::<(), kit_load::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct HttpLoad {
    url: Uri,
    method: Method,
    headers: HeaderMap,
    bodies: Bodies,
    http2: bool,
}

impl HttpLoad {
    /// A `GET` of `url`, which must be `http://host[:port][/path][?query]`
    /// (TLS is not supported: measure servers over loopback in clear).
    pub fn new(url: &str) -> Result<HttpLoad, Error> {
        Ok(HttpLoad {
            url: parse_url(url)?,
            method: Method::GET,
            headers: HeaderMap::new(),
            bodies: Bodies::default(),
            http2: false,
        })
    }

    /// Sets the method.
    pub fn with_method(mut self, method: Method) -> HttpLoad {
        self.method = method;
        self
    }

    /// Adds a header (a `Host` header replaces the one taken from the URL).
    pub fn with_header(mut self, name: &str, value: &str) -> Result<HttpLoad, Error> {
        let (name, value) = header_pair(name, value)?;
        self.headers.append(name, value);
        Ok(self)
    }

    /// Sends this body with every request.
    pub fn with_body(mut self, body: impl Into<Bytes>) -> HttpLoad {
        self.bodies = Bodies::one(body);
        self
    }

    /// Rotates through these bodies.
    pub fn with_bodies(mut self, bodies: Bodies) -> HttpLoad {
        self.bodies = bodies;
        self
    }

    /// Speaks HTTP/2 with prior knowledge (h2c) instead of HTTP/1.1.
    pub fn with_http2(mut self, http2: bool) -> HttpLoad {
        self.http2 = http2;
        self
    }

    /// The URL.
    pub fn url(&self) -> &Uri {
        &self.url
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The headers added to every request.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The bodies.
    pub fn bodies(&self) -> &Bodies {
        &self.bodies
    }

    /// Whether it speaks HTTP/2.
    pub fn is_http2(&self) -> bool {
        self.http2
    }

    /// The `host:port` to connect to, with port 80 by default.
    pub fn host_port(&self) -> String {
        let host = self.url.host().unwrap_or_default();
        let port = self.url.port_u16().unwrap_or(80);
        format!("{host}:{port}")
    }

    /// Checks that `settings` suit this load: several streams need HTTP/2.
    pub(crate) fn check(&self, settings: &Settings) -> Result<(), Error> {
        if settings.streams > 1 && !self.http2 {
            return Err(Error::invalid(
                "streams",
                "HTTP/1.1 keeps one request in flight per connection; \
                 use HTTP/2 for several streams, or more connections",
            ));
        }
        Ok(())
    }

    /// Builds the connection loop for a run.
    pub(crate) fn driver(&self, settings: &Settings) -> Result<Driver, Error> {
        self.check(settings)?;
        let target = Arc::new(drive::Target::new(self, resolve(&self.host_port())?));
        Ok(if self.http2 {
            Arc::new(move |conn| Box::pin(drive::h2(target.clone(), conn)))
        } else {
            Arc::new(move |conn| Box::pin(drive::h1(target.clone(), conn)))
        })
    }

    /// The headers for an HTTP/1.1 request: `Host` from the URL unless set.
    fn h1_headers(&self) -> HeaderMap {
        let mut headers = self.headers.clone();
        if !headers.contains_key(HOST)
            && let Some(authority) = self.url.authority()
            && let Ok(value) = HeaderValue::from_str(authority.as_str())
        {
            headers.insert(HOST, value);
        }
        headers
    }
}

/// Parses an `http://` URL with a host; the path defaults to `/`.
pub(crate) fn parse_url(text: &str) -> Result<Uri, Error> {
    let bad = |why: &str| Error::invalid("url", format!("{text:?}: {why}"));
    let uri: Uri = text.parse().map_err(|e| bad(&format!("{e}")))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => {
            return Err(bad(
                "https is not supported; load servers in clear over loopback",
            ));
        }
        Some(other) => return Err(bad(&format!("scheme {other:?} is not http"))),
        None => return Err(bad("no scheme; write http://host:port/path")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    if uri.path().is_empty() {
        let mut parts = uri.into_parts();
        parts.path_and_query = Some(http::uri::PathAndQuery::from_static("/"));
        return Uri::from_parts(parts).map_err(|e| bad(&format!("{e}")));
    }
    Ok(uri)
}

/// A header name and value, checked.
pub(crate) fn header_pair(name: &str, value: &str) -> Result<(HeaderName, HeaderValue), Error> {
    let name = HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| Error::invalid("header", format!("{name:?} is not a header name")))?;
    let value = HeaderValue::from_str(value.trim()).map_err(|_| {
        Error::invalid(
            "header",
            format!("{value:?} is not a valid value for {name}"),
        )
    })?;
    Ok((name, value))
}

/// Parses `Name: value`, the form of curl's and wrk's `-H`.
pub fn parse_header(line: &str) -> Result<(HeaderName, HeaderValue), Error> {
    let (name, value) = line
        .split_once(':')
        .ok_or_else(|| Error::invalid("header", format!("{line:?}: expected `Name: value`")))?;
    header_pair(name, value)
}

/// The first address `host:port` resolves to.
pub(crate) fn resolve(host_port: &str) -> Result<SocketAddr, Error> {
    host_port
        .to_socket_addrs()
        .map_err(|e| Error::io(format!("resolving {host_port}"), e))?
        .next()
        .ok_or_else(|| Error::invalid("url", format!("{host_port} resolves to no address")))
}

#[cfg(test)]
mod tests;
