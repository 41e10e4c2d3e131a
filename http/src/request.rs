//! [`Request`]: what a handler receives.

use std::fmt;
use std::io;
use std::net::SocketAddr;

use http::{Method, Version};

use crate::body::Body;

/// An HTTP request, borrowing the connection: the head is parsed in place
/// (no copies, no allocation) and the [`Body`] streams from the socket.
/// The body stays where the connection made it; the request borrows it.
///
/// Convert to the `http` crate's types with [`Request::to_http`], or write
/// handlers against them with [`from_http`](crate::from_http).
pub struct Request<'a> {
    method: Method,
    target: &'a str,
    version: Version,
    headers: &'a [httparse::Header<'a>],
    body: &'a mut Body<'a>,
    peer: Option<SocketAddr>,
}

impl<'a> Request<'a> {
    pub(crate) fn new(
        method: Method,
        target: &'a str,
        version: Version,
        headers: &'a [httparse::Header<'a>],
        body: &'a mut Body<'a>,
        peer: Option<SocketAddr>,
    ) -> Self {
        Request { method, target, version, headers, body, peer }
    }

    /// The request method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The request target exactly as sent (`/path?query` for most
    /// requests).
    pub fn target(&self) -> &'a str {
        self.target
    }

    /// The path part of the target. For an absolute-form target
    /// (`GET http://host/a?b`, as sent to proxies) it is the path after the
    /// authority.
    pub fn path(&self) -> &'a str {
        let t = self.target;
        let t = match t.strip_prefix("http://").or_else(|| t.strip_prefix("https://")) {
            Some(rest) => rest.find(['/', '?']).map_or("/", |i| &rest[i..]),
            None => t,
        };
        match t.split_once('?') {
            Some(("", _)) => "/",
            Some((p, _)) => p,
            None => t,
        }
    }

    /// The query part of the target, without the `?`.
    pub fn query(&self) -> Option<&'a str> {
        self.target.split_once('?').map(|(_, q)| q)
    }

    /// The value of query parameter `name` (raw, not percent-decoded).
    pub fn query_param(&self, name: &str) -> Option<&'a str> {
        self.query()?.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k == name).then_some(v)
        })
    }

    /// The HTTP version of the request.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'a [u8]> {
        self.headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value)
    }

    /// The first header named `name`, if it is valid UTF-8.
    pub fn header_str(&self, name: &str) -> Option<&'a str> {
        self.header(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// All headers in order, as sent.
    pub fn headers(&self) -> impl Iterator<Item = (&'a str, &'a [u8])> + 'a {
        self.headers.iter().map(|h| (h.name, h.value))
    }

    /// The request body.
    pub fn body(&mut self) -> &mut Body<'a> {
        self.body
    }

    /// The client's address, when the connection has one.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// Reads the whole body and converts the request to the `http` crate's
    /// type.
    pub fn to_http(&mut self) -> io::Result<http::Request<Vec<u8>>> {
        let body = self.body.read_all()?;
        let mut req = http::Request::builder().method(self.method.clone()).uri(self.target).version(self.version);
        for h in self.headers {
            req = req.header(h.name, h.value);
        }
        req.body(body).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }
}

impl fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("target", &self.target)
            .field("version", &self.version)
            .field("headers", &self.headers.len())
            .finish()
    }
}
