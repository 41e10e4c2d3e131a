//! [`Body`]: a request body, streamed to the handler.
//!
//! The body is read lazily, straight from the connection: bytes that
//! arrived with the head come first, the rest is read from the socket as
//! the handler asks. Content-Length and chunked bodies both work; the
//! handler sees only the payload.
//!
//! A malformed chunked body, a body over the size limit, a client that
//! stops sending, or one that hangs up mid-body make `read` fail with an
//! error the server also acts on: it answers 400 or 413 if the handler has
//! not responded yet, and closes the connection.

pub(crate) mod chunked;

use std::fmt;
use std::io::{self, Read};
use std::time::Duration;

use http::StatusCode;

use crate::rate::RateFloor;
use crate::server::head::Framing;
use crate::transport::{is_timeout, Transport};
use chunked::State;

/// Why a body could not be read; carried inside the `io::Error`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyError {
    status: StatusCode,
    reason: &'static str,
}

impl BodyError {
    /// The HTTP status that describes this failure (400, 408 or 413).
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "request body: {}", self.reason)
    }
}

impl std::error::Error for BodyError {}

fn body_error(status: StatusCode, reason: &'static str) -> io::Error {
    let kind = match status {
        StatusCode::REQUEST_TIMEOUT => io::ErrorKind::TimedOut,
        StatusCode::BAD_REQUEST => io::ErrorKind::InvalidData,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, BodyError { status, reason })
}

/// The framing of what remains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Remaining {
    Length(u64),
    Chunked(State),
}

/// A request body. Implements [`Read`]; reading it to the end is optional,
/// the server drains or discards what the handler leaves.
pub struct Body<'a> {
    remaining: Remaining,
    /// The bytes that arrived after the head, in the connection's buffer
    /// that also holds the head: read, never written.
    first: &'a [u8],
    /// Room for reading from the socket once `first` is used up.
    buf: &'a mut [u8],
    /// Whether the bytes not yet consumed, `pos..end`, are in `buf` (once
    /// the body has read from the socket into it) rather than in `first`.
    refilled: bool,
    pos: usize,
    end: usize,
    stream: &'a mut dyn Transport,
    timeout: Duration,
    /// The socket's read timeout has been set to `timeout`.
    timeout_set: bool,
    limit: u64,
    received: u64,
    send_continue: bool,
    failed: Option<BodyError>,
    /// Bytes read from the socket by this body, for the rate floor.
    from_socket: u64,
    floor: RateFloor,
}

impl fmt::Debug for Body<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Body").field("remaining", &self.remaining).field("received", &self.received).finish()
    }
}

/// How long a body may take and how large it may be.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BodyPolicy {
    /// Each wait for more of the body.
    pub timeout: Duration,
    /// Largest accepted body.
    pub limit: u64,
    /// Slowest accepted average rate (see `crate::rate`).
    pub min_rate: u64,
}

impl BodyPolicy {
    /// For a request without a body.
    pub const EMPTY: BodyPolicy = BodyPolicy { timeout: Duration::ZERO, limit: 0, min_rate: 0 };
}

/// What is left of a body when its request is done.
pub(crate) struct Leftover {
    /// Unconsumed bytes (they belong to the next request) are
    /// `pos..end` of the room for reading the body was given if `refilled`,
    /// of the bytes that came after the head otherwise.
    pub refilled: bool,
    pub pos: usize,
    pub end: usize,
    /// The body failed; the connection cannot be reused.
    pub failed: Option<BodyError>,
    /// The body set the socket's read timeout to its own.
    pub read_timeout_set: bool,
}

impl<'a> Body<'a> {
    /// A body framed by `framing`, whose first bytes are `first` (what
    /// arrived after the head), reading from `stream` into `buf` once they
    /// are used up.
    pub(crate) fn new(
        framing: Framing,
        first: &'a [u8],
        buf: &'a mut [u8],
        stream: &'a mut dyn Transport,
        policy: BodyPolicy,
        send_continue: bool,
    ) -> Body<'a> {
        let BodyPolicy { timeout, limit, min_rate } = policy;
        let remaining = match framing {
            Framing::Empty => Remaining::Length(0),
            Framing::Length(n) => Remaining::Length(n),
            Framing::Chunked => Remaining::Chunked(State::start()),
        };
        Body {
            remaining,
            first,
            buf,
            refilled: false,
            pos: 0,
            end: first.len(),
            stream,
            timeout,
            timeout_set: false,
            limit,
            received: 0,
            send_continue,
            failed: None,
            from_socket: 0,
            floor: RateFloor::new(timeout, min_rate),
        }
    }

    /// Whether the whole body has been read.
    pub fn is_complete(&self) -> bool {
        matches!(self.remaining, Remaining::Length(0) | Remaining::Chunked(State::Done))
    }

    /// The declared length, for a Content-Length body.
    pub fn content_length(&self) -> Option<u64> {
        match self.remaining {
            Remaining::Length(n) => Some(n + self.received),
            Remaining::Chunked(_) => None,
        }
    }

    /// Reads the rest of the body into a vector (convenience for small
    /// bodies; the server's size limit applies).
    pub fn read_all(&mut self) -> io::Result<Vec<u8>> {
        let mut v = Vec::new();
        self.read_to_end(&mut v)?;
        Ok(v)
    }

    fn fail(&mut self, status: StatusCode, reason: &'static str) -> io::Error {
        let err = BodyError { status, reason };
        self.failed = Some(err);
        body_error(status, reason)
    }

    /// The bytes received and not yet consumed.
    fn pending(&self) -> &[u8] {
        let bytes = if self.refilled { &*self.buf } else { self.first };
        &bytes[self.pos..self.end]
    }

    /// Refills `buf` from the socket; false at EOF.
    fn fill(&mut self) -> io::Result<bool> {
        self.before_socket_read()?;
        self.refilled = true;
        self.pos = 0;
        self.end = 0;
        loop {
            match self.stream.read(self.buf) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.end = n;
                    self.arrived(n)?;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.read_failed(e)),
            }
        }
    }

    /// Sends a pending "100 Continue" and sets the socket's read timeout to
    /// the body's, once, before the body's first read from the socket.
    fn before_socket_read(&mut self) -> io::Result<()> {
        if self.send_continue {
            self.send_continue = false;
            self.stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        }
        if !self.timeout_set {
            self.stream.set_read_timeout(Some(self.timeout))?;
            self.timeout_set = true;
        }
        Ok(())
    }

    /// Records a failed socket read: a timeout is a 408, anything else a
    /// broken connection.
    fn read_failed(&mut self, e: io::Error) -> io::Error {
        if is_timeout(&e) {
            return self.fail(StatusCode::REQUEST_TIMEOUT, "timed out waiting for the body");
        }
        self.failed = Some(BodyError { status: StatusCode::BAD_REQUEST, reason: "connection error" });
        e
    }

    /// Accounts `n` bytes read from the socket against the rate floor.
    fn arrived(&mut self, n: usize) -> io::Result<()> {
        self.from_socket += n as u64;
        if self.floor.ok(self.from_socket) {
            Ok(())
        } else {
            Err(self.fail(StatusCode::REQUEST_TIMEOUT, "body arrives too slowly"))
        }
    }

    fn count(&mut self, n: usize) -> io::Result<()> {
        self.received += n as u64;
        if self.received > self.limit {
            return Err(self.fail(StatusCode::PAYLOAD_TOO_LARGE, "body exceeds the size limit"));
        }
        Ok(())
    }

    /// Takes up to `left` bytes of a Content-Length body: into `out`, or,
    /// without `out` (draining), skipped where they lie in the buffer.
    fn read_length(&mut self, mut out: Option<&mut [u8]>, left: u64) -> io::Result<usize> {
        let want = out.as_ref().map_or(left, |out| left.min(out.len() as u64));
        if self.pos == self.end {
            match out.as_deref_mut() {
                // Read straight into the caller's buffer, never past the body.
                Some(out) => return self.read_length_from_socket(&mut out[..want as usize], left),
                // Draining reads into the connection's buffer, whose bytes
                // after the body are the next request's.
                None if !self.fill()? => {
                    return Err(self.fail(StatusCode::BAD_REQUEST, "client closed the connection mid-body"))
                }
                None => {}
            }
        }
        let n = want.min((self.end - self.pos) as u64) as usize;
        if let Some(out) = out {
            out[..n].copy_from_slice(&self.pending()[..n]);
        }
        self.pos += n;
        self.remaining = Remaining::Length(left - n as u64);
        Ok(n)
    }

    /// Reads the next bytes of a Content-Length body from the socket into
    /// `out`, which holds no more than the `left` bytes of the body.
    fn read_length_from_socket(&mut self, out: &mut [u8], left: u64) -> io::Result<usize> {
        self.before_socket_read()?;
        loop {
            match self.stream.read(out) {
                Ok(0) => return Err(self.fail(StatusCode::BAD_REQUEST, "client closed the connection mid-body")),
                Ok(n) => {
                    self.arrived(n)?;
                    self.remaining = Remaining::Length(left - n as u64);
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.read_failed(e)),
            }
        }
    }

    /// Takes the next bytes of a chunked body: into `out`, or, without
    /// `out` (draining), skipped where they lie in the buffer.
    fn read_chunked(&mut self, mut out: Option<&mut [u8]>, mut state: State) -> io::Result<usize> {
        loop {
            match state {
                State::Done => {
                    self.remaining = Remaining::Chunked(state);
                    return Ok(0);
                }
                State::Data(left) => {
                    if self.pos == self.end && !self.fill()? {
                        return Err(self.fail(StatusCode::BAD_REQUEST, "client closed the connection mid-body"));
                    }
                    let room = out.as_ref().map_or(left, |out| left.min(out.len() as u64));
                    let n = room.min((self.end - self.pos) as u64) as usize;
                    if let Some(out) = out.as_deref_mut() {
                        out[..n].copy_from_slice(&self.pending()[..n]);
                    }
                    self.pos += n;
                    state.consumed_data(n as u64);
                    self.remaining = Remaining::Chunked(state);
                    return Ok(n);
                }
                _ => {
                    if self.pos == self.end && !self.fill()? {
                        return Err(self.fail(StatusCode::BAD_REQUEST, "client closed the connection mid-body"));
                    }
                    match state.advance(self.pending()) {
                        Ok(used) => self.pos += used,
                        Err(chunked::Malformed(reason)) => return Err(self.fail(StatusCode::BAD_REQUEST, reason)),
                    }
                    self.remaining = Remaining::Chunked(state);
                }
            }
        }
    }

    /// Takes the next bytes of the body, into `out`, or, without `out`,
    /// skips them where they lie in the buffer (draining needs no
    /// scratch buffer to copy them into). Returns how many; 0 at the end.
    fn take(&mut self, out: Option<&mut [u8]>) -> io::Result<usize> {
        if let Some(e) = self.failed {
            return Err(body_error(e.status, e.reason));
        }
        let n = match self.remaining {
            Remaining::Length(0) => return Ok(0),
            Remaining::Length(left) => self.read_length(out, left)?,
            Remaining::Chunked(state) => self.read_chunked(out, state)?,
        };
        self.count(n)?;
        Ok(n)
    }

    /// Reads and discards the rest of the body, up to `max` bytes. Returns
    /// false if the body was longer (or failed), so the connection must
    /// close.
    pub(crate) fn drain(&mut self, max: u64) -> bool {
        if self.is_complete() {
            return self.failed.is_none();
        }
        if self.send_continue {
            // The client is waiting for our go-ahead, which never came: it
            // may or may not send the body, so the connection cannot be
            // reused.
            return false;
        }
        let start = self.received;
        while !self.is_complete() {
            if self.received - start > max {
                return false;
            }
            match self.take(None) {
                Ok(0) if !self.is_complete() => return false,
                Ok(_) => {}
                Err(_) => return false,
            }
        }
        self.failed.is_none()
    }

    /// Ends the body's use of the connection buffer.
    pub(crate) fn finish(&self) -> Leftover {
        Leftover {
            refilled: self.refilled,
            pos: self.pos,
            end: self.end,
            failed: self.failed,
            read_timeout_set: self.timeout_set,
        }
    }
}

impl Read for Body<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() && self.failed.is_none() {
            return Ok(0);
        }
        self.take(Some(out))
    }
}
