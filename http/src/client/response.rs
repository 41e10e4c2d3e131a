//! [`ClientResponse`]: a response whose body streams from the connection.

use std::fmt;
use std::io::{self, Read};
use std::time::Duration;

use http::{HeaderMap, StatusCode, Version};
use verde_net::TcpStream;

use crate::body::chunked::{self, State};
use crate::client::pool;

/// How the response body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    Empty,
    Length(u64),
    Chunked(State),
    UntilClose,
}

/// The connection a body reads from, and where it goes when done.
pub(crate) struct Source {
    pub stream: TcpStream,
    /// Bytes read past the head: `buf[pos..end]`.
    pub buf: Vec<u8>,
    pub pos: usize,
    pub end: usize,
    /// Pool key and per-host cap, if the connection may be reused.
    pub reuse: Option<(pool::Key, usize)>,
}

/// An HTTP response from [`Client`](crate::Client). Implements [`Read`] for
/// the body; [`text`](Self::text) and [`bytes`](Self::bytes) read it all.
///
/// The connection goes back to the pool once the body has been read to
/// its end; a response dropped early closes its connection.
pub struct ClientResponse {
    status: StatusCode,
    version: Version,
    headers: HeaderMap,
    framing: Framing,
    source: Option<Source>,
}

impl fmt::Debug for ClientResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientResponse")
            .field("status", &self.status)
            .field("version", &self.version)
            .field("headers", &self.headers)
            .finish()
    }
}

impl ClientResponse {
    pub(crate) fn new(
        status: StatusCode,
        version: Version,
        headers: HeaderMap,
        framing: Framing,
        source: Source,
    ) -> ClientResponse {
        let mut r = ClientResponse { status, version, headers, framing, source: Some(source) };
        r.release_if_done();
        r
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The HTTP version of the response.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The first value of header `name`, as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Reads the whole body.
    pub fn bytes(mut self) -> io::Result<Vec<u8>> {
        let mut v = Vec::new();
        self.read_to_end(&mut v)?;
        Ok(v)
    }

    /// Reads the whole body as UTF-8 text.
    pub fn text(self) -> io::Result<String> {
        String::from_utf8(self.bytes()?).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    /// Reads the whole body and converts to the `http` crate's type.
    pub fn into_http(mut self) -> io::Result<http::Response<Vec<u8>>> {
        let mut body = Vec::new();
        self.read_to_end(&mut body)?;
        let mut res = http::Response::new(body);
        *res.status_mut() = self.status;
        *res.version_mut() = self.version;
        *res.headers_mut() = std::mem::take(&mut self.headers);
        Ok(res)
    }

    /// Changes the timeout of each wait for more of the body.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        match &self.source {
            Some(s) => s.stream.set_read_timeout(timeout),
            None => Ok(()),
        }
    }

    fn is_done(&self) -> bool {
        matches!(self.framing, Framing::Empty | Framing::Length(0) | Framing::Chunked(State::Done))
    }

    /// Gives the connection back to the pool once the body is complete.
    fn release_if_done(&mut self) {
        if self.is_done() {
            if let Some(source) = self.source.take() {
                if let (Some((key, cap)), true) = (source.reuse, source.pos == source.end) {
                    pool::checkin(key, source.stream, cap);
                }
            }
        }
    }

    /// Refills the buffer; false at EOF.
    fn fill(source: &mut Source) -> io::Result<bool> {
        source.pos = 0;
        source.end = source.stream.read(&mut source.buf)?;
        Ok(source.end > 0)
    }

    fn read_inner(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let Some(source) = self.source.as_mut() else { return Ok(0) };
        match self.framing {
            Framing::Empty | Framing::Length(0) | Framing::Chunked(State::Done) => Ok(0),
            Framing::Length(left) => {
                let want = (out.len() as u64).min(left) as usize;
                let n = if source.pos < source.end {
                    let n = want.min(source.end - source.pos);
                    out[..n].copy_from_slice(&source.buf[source.pos..source.pos + n]);
                    source.pos += n;
                    n
                } else {
                    source.stream.read(&mut out[..want])?
                };
                if n == 0 {
                    return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "response body cut short"));
                }
                self.framing = Framing::Length(left - n as u64);
                Ok(n)
            }
            Framing::UntilClose => {
                if source.pos < source.end {
                    let n = out.len().min(source.end - source.pos);
                    out[..n].copy_from_slice(&source.buf[source.pos..source.pos + n]);
                    source.pos += n;
                    return Ok(n);
                }
                source.stream.read(out)
            }
            Framing::Chunked(mut state) => loop {
                if state == State::Done {
                    self.framing = Framing::Chunked(state);
                    return Ok(0);
                }
                if source.pos == source.end && !Self::fill(source)? {
                    return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "chunked response cut short"));
                }
                if let State::Data(left) = state {
                    let n = (left.min(out.len() as u64) as usize).min(source.end - source.pos);
                    out[..n].copy_from_slice(&source.buf[source.pos..source.pos + n]);
                    source.pos += n;
                    state.consumed_data(n as u64);
                    self.framing = Framing::Chunked(state);
                    return Ok(n);
                }
                match state.advance(&source.buf[source.pos..source.end]) {
                    Ok(used) => source.pos += used,
                    Err(chunked::Malformed(reason)) => return Err(io::Error::new(io::ErrorKind::InvalidData, reason)),
                }
                self.framing = Framing::Chunked(state);
            },
        }
    }
}

impl Read for ClientResponse {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        let n = self.read_inner(out)?;
        if n == 0 || self.is_done() {
            self.release_if_done();
        }
        Ok(n)
    }
}
