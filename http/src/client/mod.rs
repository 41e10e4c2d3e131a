//! A blocking-style HTTP/1.1 client.
//!
//! In a coroutine, every wait (connecting, resolving the name, writing the
//! request, reading the response) parks only the coroutine; on a plain
//! thread it blocks the thread. This is how a handler calls "network 1,
//! network 2" (seeds/003) without callbacks.
//!
//! ```no_run
//! let client = verde_http::Client::new();
//! let body = client.get("http://127.0.0.1:8080/").send()?.text()?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! * Keep-alive connections are reused, per hub (per thread).
//! * Bodies with Content-Length, chunked, or ending at close are read.
//! * Connect, read and write timeouts; redirects are not followed unless
//!   [`ClientBuilder::max_redirects`] allows it.
//! * `http://` only.

mod pool;
mod response;
mod url;

use std::io::{self, Write};
use std::sync::Arc;
use std::time::Duration;

use http::header::{HeaderName, HeaderValue, CONTENT_LENGTH, HOST, LOCATION, USER_AGENT};
use http::{HeaderMap, Method, StatusCode, Version};
use verde_net::TcpStream;

pub use response::ClientResponse;
use response::{Framing, Source};
use url::Target;

use crate::body::chunked::State;

const READ_BUFFER: usize = 16 * 1024;
const MAX_RESPONSE_HEAD: usize = 64 * 1024;
const MAX_RESPONSE_HEADERS: usize = 100;
/// Most interim (1xx) responses accepted before the final one; a server
/// that sends them forever must not keep the client forever.
const MAX_INTERIM_RESPONSES: usize = 32;

#[derive(Clone, Debug)]
struct Config {
    connect_timeout: Option<Duration>,
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
    max_redirects: usize,
    max_idle_per_host: usize,
    max_idle_time: Duration,
    user_agent: Option<HeaderValue>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            connect_timeout: Some(Duration::from_secs(10)),
            read_timeout: Some(Duration::from_secs(30)),
            write_timeout: Some(Duration::from_secs(30)),
            max_redirects: 0,
            max_idle_per_host: 32,
            max_idle_time: Duration::from_secs(60),
            user_agent: Some(HeaderValue::from_static(concat!("verde/", env!("CARGO_PKG_VERSION")))),
        }
    }
}

/// An HTTP/1.1 client. Cheap to clone; clones share settings, and every
/// hub keeps its own pool of idle connections.
#[derive(Clone, Debug, Default)]
pub struct Client {
    config: Arc<Config>,
}

/// Configures a [`Client`].
#[derive(Clone, Debug, Default)]
#[must_use = "a ClientBuilder does nothing until built"]
pub struct ClientBuilder {
    config: Config,
}

impl ClientBuilder {
    /// Timeout for establishing a connection (per address tried). Default
    /// 10 s; `None` waits as long as the kernel does.
    pub fn connect_timeout(mut self, t: Option<Duration>) -> Self {
        self.config.connect_timeout = t;
        self
    }

    /// Timeout of each wait for response bytes. Default 30 s.
    pub fn read_timeout(mut self, t: Option<Duration>) -> Self {
        self.config.read_timeout = t;
        self
    }

    /// Timeout of each wait to send request bytes. Default 30 s.
    pub fn write_timeout(mut self, t: Option<Duration>) -> Self {
        self.config.write_timeout = t;
        self
    }

    /// Follow up to `n` redirects (301, 302, 303, 307, 308). Default 0:
    /// redirects are returned as they are.
    pub fn max_redirects(mut self, n: usize) -> Self {
        self.config.max_redirects = n;
        self
    }

    /// Idle connections kept per host and hub. Default 32.
    pub fn max_idle_per_host(mut self, n: usize) -> Self {
        self.config.max_idle_per_host = n;
        self
    }

    /// The `User-Agent` header sent, or none. Default `verde/<version>`.
    ///
    /// # Panics
    ///
    /// Panics if the value is not a valid header value.
    pub fn user_agent(mut self, agent: Option<&str>) -> Self {
        self.config.user_agent = agent.map(|a| HeaderValue::from_str(a).expect("invalid User-Agent"));
        self
    }

    /// The client.
    pub fn build(self) -> Client {
        Client { config: Arc::new(self.config) }
    }
}

impl Client {
    /// A client with default settings.
    pub fn new() -> Client {
        Client::default()
    }

    /// A builder for a client with custom settings.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// Starts a request with any method.
    pub fn request(&self, method: Method, url: &str) -> RequestBuilder<'_> {
        RequestBuilder { client: self, method, url: Target::parse(url), headers: Vec::new(), body: Vec::new() }
    }

    /// Starts a GET.
    pub fn get(&self, url: &str) -> RequestBuilder<'_> {
        self.request(Method::GET, url)
    }

    /// Starts a HEAD.
    pub fn head(&self, url: &str) -> RequestBuilder<'_> {
        self.request(Method::HEAD, url)
    }

    /// Starts a POST.
    pub fn post(&self, url: &str) -> RequestBuilder<'_> {
        self.request(Method::POST, url)
    }

    /// Starts a PUT.
    pub fn put(&self, url: &str) -> RequestBuilder<'_> {
        self.request(Method::PUT, url)
    }

    /// Starts a DELETE.
    pub fn delete(&self, url: &str) -> RequestBuilder<'_> {
        self.request(Method::DELETE, url)
    }

    /// Sends a request built with the `http` crate (its URI must be an
    /// absolute `http://` URL) and reads the whole response.
    pub fn send_http<B: Into<Vec<u8>>>(&self, req: http::Request<B>) -> io::Result<http::Response<Vec<u8>>> {
        let (parts, body) = req.into_parts();
        let target = Target::from_uri(&parts.uri)?;
        let headers = parts.headers.iter().map(|(n, v)| (n.clone(), v.clone())).collect();
        self.execute(parts.method, target, headers, body.into())?.into_http()
    }

    fn execute(
        &self,
        mut method: Method,
        mut target: Target,
        headers: Vec<(HeaderName, HeaderValue)>,
        mut body: Vec<u8>,
    ) -> io::Result<ClientResponse> {
        let mut redirects = 0;
        loop {
            let response = self.send_once(&method, &target, &headers, &body)?;
            let status = response.status();
            let follow = matches!(
                status,
                StatusCode::MOVED_PERMANENTLY
                    | StatusCode::FOUND
                    | StatusCode::SEE_OTHER
                    | StatusCode::TEMPORARY_REDIRECT
                    | StatusCode::PERMANENT_REDIRECT
            );
            if !follow || redirects >= self.config.max_redirects {
                return Ok(response);
            }
            let Some(location) = response.header(LOCATION.as_str()).map(str::to_owned) else {
                return Ok(response);
            };
            redirects += 1;
            drop(response);
            target = target.join(&location)?;
            let to_get = status == StatusCode::SEE_OTHER
                || (matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND) && method == Method::POST);
            if to_get && method != Method::HEAD {
                method = Method::GET;
                body.clear();
            }
        }
    }

    /// One request/response exchange, retried once on a fresh connection
    /// if a reused one turns out to have been closed by the server.
    fn send_once(
        &self,
        method: &Method,
        target: &Target,
        headers: &[(HeaderName, HeaderValue)],
        body: &[u8],
    ) -> io::Result<ClientResponse> {
        let key: pool::Key = (target.host.clone(), target.port);
        let mut request = Vec::with_capacity(256 + body.len());
        self.encode(&mut request, method, target, headers, body);
        if let Some(stream) = pool::checkout(&key, self.config.max_idle_time) {
            match self.exchange(stream, &request, method, &key) {
                Ok(r) => return Ok(r),
                Err(Retry::No(e)) => return Err(e),
                Err(Retry::Yes(e)) if !is_idempotent(method) => return Err(e),
                Err(Retry::Yes(_)) => {}
            }
        }
        let stream = self.connect(target)?;
        self.exchange(stream, &request, method, &key).map_err(Retry::into_error)
    }

    fn connect(&self, target: &Target) -> io::Result<TcpStream> {
        let stream = match self.config.connect_timeout {
            None => TcpStream::connect((target.host.as_str(), target.port))?,
            Some(t) => {
                let mut last = None;
                let mut found = None;
                for addr in verde_net::ToSocketAddrs::to_socket_addrs(&(target.host.as_str(), target.port))? {
                    match TcpStream::connect_timeout(&addr, t) {
                        Ok(s) => {
                            found = Some(s);
                            break;
                        }
                        Err(e) => last = Some(e),
                    }
                }
                match found {
                    Some(s) => s,
                    None => {
                        return Err(last.unwrap_or_else(|| {
                            io::Error::new(io::ErrorKind::NotFound, format!("{} resolved to no address", target.host))
                        }))
                    }
                }
            }
        };
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    fn encode(
        &self,
        out: &mut Vec<u8>,
        method: &Method,
        target: &Target,
        headers: &[(HeaderName, HeaderValue)],
        body: &[u8],
    ) {
        out.extend_from_slice(method.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(target.path.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        let has = |name: &HeaderName| headers.iter().any(|(n, _)| n == name);
        if !has(&HOST) {
            out.extend_from_slice(b"Host: ");
            out.extend_from_slice(target.authority.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        if let (Some(agent), false) = (&self.config.user_agent, has(&USER_AGENT)) {
            out.extend_from_slice(b"User-Agent: ");
            out.extend_from_slice(agent.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        for (name, value) in headers {
            if *name == CONTENT_LENGTH || name == "transfer-encoding" {
                continue;
            }
            out.extend_from_slice(name.as_str().as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        if !body.is_empty() || matches!(*method, Method::POST | Method::PUT | Method::PATCH) {
            out.extend_from_slice(b"Content-Length: ");
            crate::server::encode::put_decimal(out, body.len() as u64);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(body);
    }

    /// Writes the request and reads the response head.
    fn exchange(
        &self,
        mut stream: TcpStream,
        request: &[u8],
        method: &Method,
        key: &pool::Key,
    ) -> Result<ClientResponse, Retry> {
        stream.set_write_timeout(self.config.write_timeout).map_err(Retry::No)?;
        stream.set_read_timeout(self.config.read_timeout).map_err(Retry::No)?;
        stream.write_all(request).map_err(Retry::Yes)?;
        let mut buf = vec![0u8; READ_BUFFER];
        let mut end = 0;
        // Set after an interim response: the bytes after it may already
        // hold the final response, so parse them before reading again.
        let mut reparse = false;
        let mut interim = 0;
        loop {
            if end == buf.len() {
                if buf.len() >= MAX_RESPONSE_HEAD {
                    return Err(Retry::No(invalid_data("response head too large")));
                }
                buf.resize(buf.len() * 2, 0);
            }
            if !std::mem::take(&mut reparse) {
                let n = match io::Read::read(&mut stream, &mut buf[end..]) {
                    Ok(0) if end == 0 => {
                        return Err(Retry::Yes(io::Error::new(
                            io::ErrorKind::ConnectionAborted,
                            "server closed the connection",
                        )))
                    }
                    Ok(0) => {
                        return Err(Retry::No(io::Error::new(io::ErrorKind::UnexpectedEof, "response head cut short")))
                    }
                    Ok(n) => n,
                    Err(e) if end == 0 && e.kind() == io::ErrorKind::ConnectionReset => return Err(Retry::Yes(e)),
                    Err(e) => return Err(Retry::No(e)),
                };
                end += n;
            }
            let mut storage = [httparse::EMPTY_HEADER; MAX_RESPONSE_HEADERS];
            let mut res = httparse::Response::new(&mut storage);
            let head_len = match res.parse(&buf[..end]) {
                Ok(httparse::Status::Complete(len)) => len,
                Ok(httparse::Status::Partial) => continue,
                Err(e) => return Err(Retry::No(invalid_data(&format!("malformed response: {e}")))),
            };
            let code = res.code.unwrap_or(0);
            if (100..200).contains(&code) && code != 101 {
                // An interim response: skip it and read the final one.
                interim += 1;
                if interim > MAX_INTERIM_RESPONSES {
                    return Err(Retry::No(invalid_data("too many interim (1xx) responses")));
                }
                buf.copy_within(head_len..end, 0);
                end -= head_len;
                reparse = end > 0;
                continue;
            }
            let status = StatusCode::from_u16(code).map_err(|_| Retry::No(invalid_data("invalid status code")))?;
            let version = if res.version == Some(1) { Version::HTTP_11 } else { Version::HTTP_10 };
            let mut headers = HeaderMap::with_capacity(res.headers.len());
            for h in res.headers.iter() {
                let name = HeaderName::from_bytes(h.name.as_bytes())
                    .map_err(|_| Retry::No(invalid_data("invalid header name")))?;
                let value =
                    HeaderValue::from_bytes(h.value).map_err(|_| Retry::No(invalid_data("invalid header value")))?;
                headers.append(name, value);
            }
            let (framing, reusable) = framing(method, status, version, &headers).map_err(Retry::No)?;
            let reuse = reusable.then(|| (key.clone(), self.config.max_idle_per_host));
            let source = Source { stream, buf, pos: head_len, end, reuse };
            return Ok(ClientResponse::new(status, version, headers, framing, source));
        }
    }
}

/// Whether a failed request on a reused connection may be resent.
enum Retry {
    /// The server closed the connection before answering: resend.
    Yes(io::Error),
    No(io::Error),
}

impl Retry {
    fn into_error(self) -> io::Error {
        match self {
            Retry::Yes(e) | Retry::No(e) => e,
        }
    }
}

fn is_idempotent(m: &Method) -> bool {
    matches!(*m, Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS | Method::TRACE)
}

fn invalid_data(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

/// How the body is delimited, and whether the connection can be reused.
fn framing(method: &Method, status: StatusCode, version: Version, headers: &HeaderMap) -> io::Result<(Framing, bool)> {
    let close = headers
        .get_all(http::header::CONNECTION)
        .iter()
        .any(|v| v.to_str().is_ok_and(|s| s.split(',').any(|t| t.trim().eq_ignore_ascii_case("close"))));
    let keep_alive_10 = headers
        .get_all(http::header::CONNECTION)
        .iter()
        .any(|v| v.to_str().is_ok_and(|s| s.split(',').any(|t| t.trim().eq_ignore_ascii_case("keep-alive"))));
    let reusable = !close && (version == Version::HTTP_11 || keep_alive_10);
    if status == StatusCode::SWITCHING_PROTOCOLS {
        // The connection now speaks another protocol.
        return Ok((Framing::Empty, false));
    }
    if *method == Method::HEAD
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        return Ok((Framing::Empty, reusable));
    }
    let length = content_length(headers)?;
    if headers.contains_key(http::header::TRANSFER_ENCODING) {
        // The final coding, over all the fields (RFC 9110 section 5.3).
        let last = headers
            .get_all(http::header::TRANSFER_ENCODING)
            .iter()
            .flat_map(|v| v.to_str().unwrap_or("?").split(','))
            .map(str::trim)
            .rfind(|t| !t.is_empty());
        let chunked = last.is_some_and(|t| t.eq_ignore_ascii_case("chunked"));
        // With a Content-Length too, chunked wins (RFC 9112 section 6.3),
        // but the message may be a smuggling attempt: the connection is
        // not reused.
        let reusable = reusable && length.is_none();
        return Ok(if chunked { (Framing::Chunked(State::start()), reusable) } else { (Framing::UntilClose, false) });
    }
    if let Some(n) = length {
        return Ok((if n == 0 { Framing::Empty } else { Framing::Length(n) }, reusable));
    }
    Ok((Framing::UntilClose, false))
}

/// The response's Content-Length: digits only, and every value (in one
/// field or several, a list of no empty elements) the same (RFC 9110
/// section 8.6). Anything else leaves the body's end unknown, an error.
fn content_length(headers: &HeaderMap) -> io::Result<Option<u64>> {
    let invalid = || invalid_data("invalid Content-Length");
    let mut length = None;
    for value in headers.get_all(CONTENT_LENGTH) {
        for part in value.to_str().map_err(|_| invalid())?.split(',').map(str::trim) {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid());
            }
            let n: u64 = part.parse().map_err(|_| invalid())?;
            if length.is_some_and(|l| l != n) {
                return Err(invalid_data("conflicting Content-Length values"));
            }
            length = Some(n);
        }
    }
    Ok(length)
}

/// A request being built; finish with [`send`](Self::send).
#[derive(Debug)]
#[must_use = "a request does nothing until sent"]
pub struct RequestBuilder<'c> {
    client: &'c Client,
    method: Method,
    url: io::Result<Target>,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Vec<u8>,
}

impl RequestBuilder<'_> {
    /// Adds a header.
    ///
    /// # Panics
    ///
    /// Panics if the name or value is not valid in HTTP.
    pub fn header<K, V>(mut self, name: K, value: V) -> Self
    where
        K: TryInto<HeaderName>,
        V: TryInto<HeaderValue>,
        K::Error: std::fmt::Debug,
        V::Error: std::fmt::Debug,
    {
        self.headers
            .push((name.try_into().expect("invalid header name"), value.try_into().expect("invalid header value")));
        self
    }

    /// Sets the request body (sent with Content-Length).
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Sends the request and returns the response once its head arrived;
    /// the body streams as it is read.
    pub fn send(self) -> io::Result<ClientResponse> {
        let target = self.url?;
        self.client.execute(self.method, target, self.headers, self.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn length_of(values: &[&str]) -> io::Result<Option<u64>> {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(CONTENT_LENGTH, HeaderValue::from_str(v).unwrap());
        }
        content_length(&headers)
    }

    #[test]
    fn content_length_values() {
        assert_eq!(length_of(&[]).unwrap(), None);
        assert_eq!(length_of(&["5"]).unwrap(), Some(5));
        assert_eq!(length_of(&["5, 5"]).unwrap(), Some(5));
        assert_eq!(length_of(&["5", "5"]).unwrap(), Some(5));
        for bad in [&["5, 6"][..], &["5", "6"], &["5,"], &[",5"], &["5,,5"], &[""], &["+5"], &["-1"], &["0x5"]] {
            let e = length_of(bad).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{bad:?}");
        }
    }
}
