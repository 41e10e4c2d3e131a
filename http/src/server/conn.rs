//! One HTTP/1.1 connection: read, parse, dispatch, write, repeat.
//!
//! The loop follows meinheld's lessons (seeds/001): the first read happens
//! right after accept, before any readiness wait (the request is usually
//! already there); every request that arrived in one read is parsed and
//! answered before reading again, and all those answers leave in one
//! write. A GET without a body costs no copy and no allocation besides the
//! handler's own.

use std::cell::Cell;
use std::io::{self, Read, Write};
use std::mem::MaybeUninit;
use std::net::{Shutdown, SocketAddr};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use http::{Method, StatusCode};

use crate::body::{Body, BodyPolicy, Leftover};
use crate::handler::Handler;
use crate::limits::{Limits, Timeouts};
use crate::rate::RateFloor;
use crate::request::Request;
use crate::response::Response;
use crate::server::access_log;
use crate::server::encode::{self, Plan, Preamble};
use crate::server::head::{self, Framing, Head, HeaderSlots, Parsed, Rejection};
use crate::transport::{is_timeout, Transport};

/// Initial read buffer; it grows up to the head limit when a head needs it.
const INITIAL_BUFFER: usize = 16 * 1024;
/// Room kept free at the buffer's end, after the bytes received, for a
/// body to read into (and the next pipelined request with it).
const MIN_TAIL: usize = 4 * 1024;
/// Least room for a read of the connection loop, before `MIN_TAIL`.
const MIN_READ: usize = 4 * 1024;
/// Output is flushed early once this much is buffered.
const FLUSH_AT: usize = 64 * 1024;
/// Size of a chunk when streaming a response body.
const STREAM_CHUNK: usize = 16 * 1024;

/// What every connection of a server shares.
pub(crate) struct Shared {
    pub handler: Box<dyn Handler>,
    pub limits: Limits,
    pub timeouts: Timeouts,
    pub server_name: Option<Box<[u8]>>,
    /// Set at shutdown: finish the current request, then close.
    pub draining: AtomicBool,
}

/// Serves one connection until it closes. `idle` is true while the
/// connection waits for a new request (graceful shutdown closes those).
pub(crate) fn serve<T: Transport>(stream: T, peer: Option<SocketAddr>, shared: &Shared, idle: &AtomicBool) {
    let mut conn = Conn {
        stream,
        buf: vec![0; INITIAL_BUFFER],
        start: 0,
        end: 0,
        out: Vec::with_capacity(INITIAL_BUFFER),
        slots: Vec::new(),
        shared,
        peer,
        read_timeout: None,
        write_timeout: None,
        preamble: Preamble::new(shared.server_name.as_deref()),
        unread_input: false,
    };
    conn.slots.resize_with(shared.limits.max_headers, MaybeUninit::uninit);
    if let Err(e) = conn.run(idle) {
        log::debug!(target: "verde_http", "connection from {peer:?} ended: {e}");
    }
}

struct Conn<'s, T> {
    stream: T,
    /// Read buffer; `buf[start..end]` is received and not yet consumed.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Responses not yet written.
    out: Vec<u8>,
    slots: Vec<MaybeUninit<httparse::Header<'static>>>,
    shared: &'s Shared,
    peer: Option<SocketAddr>,
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
    /// The `Server` and `Date` lines, dated once per read batch.
    preamble: Preamble,
    /// The client may still be sending input the server will not read (a
    /// refused request, a body left unread): closing must linger.
    unread_input: bool,
}

/// What to do after looking at the buffered bytes.
enum Step {
    /// A request was answered; look for another.
    Again,
    /// The buffer holds no complete request.
    NeedMore,
    /// Close the connection (after flushing).
    Close,
}

/// Reuses the connection's header slots for a parse borrowing `buf`.
fn slots<'b>(slots: &'b mut [MaybeUninit<httparse::Header<'static>>]) -> &'b mut HeaderSlots<'b> {
    // SAFETY: the slots are uninitialised storage (MaybeUninit), never read
    // before httparse writes them in this parse, so giving the stored
    // headers the shorter lifetime 'b of this parse is sound; nothing reads
    // them after 'b ends (the next parse overwrites them).
    unsafe { &mut *(slots as *mut [MaybeUninit<httparse::Header<'static>>] as *mut HeaderSlots<'b>) }
}

/// The result of answering one request.
struct Answered {
    /// The body still to send after `out`, if any.
    plan: Option<Plan>,
    keep_alive: bool,
    /// The request body was not read to its end (too long to drain, or
    /// broken): the client may still be sending it.
    unread_input: bool,
}

impl<T: Transport> Conn<'_, T> {
    fn run(&mut self, idle: &AtomicBool) -> io::Result<()> {
        // When the head being received began to arrive: the header timeout
        // bounds the whole head, not each read of it.
        let mut head_started: Option<Instant> = None;
        loop {
            // One clock read per batch of requests, not one per request.
            self.preamble.refresh_date();
            loop {
                if self.start == self.end {
                    self.start = 0;
                    self.end = 0;
                    break;
                }
                match self.step()? {
                    Step::Again => head_started = None,
                    Step::NeedMore => break,
                    Step::Close => return self.close(idle),
                }
                if self.out.len() >= FLUSH_AT {
                    self.flush()?;
                }
            }
            self.flush()?;
            let partial = self.end > self.start;
            if !partial && self.shared.draining.load(Ordering::Acquire) {
                return Ok(());
            }
            self.make_room();
            let timeout = if partial {
                let started = *head_started.get_or_insert_with(Instant::now);
                self.shared.timeouts.header.saturating_sub(started.elapsed())
            } else {
                self.shared.timeouts.idle
            };
            if partial && timeout.is_zero() {
                self.reject(Rejection { status: StatusCode::REQUEST_TIMEOUT, reason: "request head too slow" });
                return self.close(idle);
            }
            self.set_read_timeout(timeout)?;
            idle.store(!partial, Ordering::Release);
            // The last MIN_TAIL bytes stay free for a body to read into.
            let room = self.buf.len() - MIN_TAIL;
            let read = self.stream.read(&mut self.buf[self.end..room]);
            idle.store(false, Ordering::Release);
            match read {
                Ok(0) => return Ok(()),
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_timeout(&e) => {
                    if partial {
                        self.reject(Rejection { status: StatusCode::REQUEST_TIMEOUT, reason: "request head too slow" });
                        return self.close(idle);
                    }
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Parses and answers the request at the start of the buffer. The head
    /// is parsed once, in place: the buffer is split at the end of what
    /// was received, the head and any body bytes after it are read from
    /// the first part, and a body reads more from the socket into the
    /// second, the room after `end` (at least `MIN_TAIL`).
    fn step(&mut self) -> io::Result<Step> {
        if self.buf.len() - self.end < MIN_TAIL {
            // Only a body that read from the socket leaves `end` this close
            // to the buffer's end (reads in `run` stop `MIN_TAIL` short).
            self.make_room();
        }
        let shared = self.shared;
        let limits = &shared.limits;
        let (received, room) = self.buf.split_at_mut(self.end);
        let h = match head::parse(&received[self.start..], slots(&mut self.slots), limits) {
            Parsed::Partial => return Ok(Step::NeedMore),
            Parsed::LaterMinor(at) => {
                self.buf[self.start + at] = b'1';
                return self.step();
            }
            Parsed::Invalid(r) => {
                self.reject(r);
                return Ok(Step::Close);
            }
            // Answered inside the match, as moving the head out of it
            // first costs a GET a copy.
            Parsed::Complete(h) if h.framing == Framing::Empty => {
                let consumed = h.len;
                let mut body = Body::new(Framing::Empty, &[], &mut [], &mut self.stream, BodyPolicy::EMPTY, false);
                let (answered, _) = answer(h, &mut body, &mut self.out, shared, self.peer, &self.preamble);
                self.start += consumed;
                return self.finish(answered);
            }
            Parsed::Complete(h) => h,
        };
        if let Framing::Length(n) = h.framing {
            if n > limits.max_body {
                self.reject(Rejection {
                    status: StatusCode::PAYLOAD_TOO_LARGE,
                    reason: "declared body exceeds the size limit",
                });
                return Ok(Step::Close);
            }
        }
        let expect_continue = h.expect_continue;
        if expect_continue {
            // Earlier pipelined answers must reach the client before any
            // "100 Continue".
            write_out(&mut self.stream, &mut self.out, &mut self.write_timeout, &shared.timeouts)?;
        }
        let base = self.start + h.len;
        let t = &shared.timeouts;
        let policy = BodyPolicy { timeout: t.body, limit: limits.max_body, min_rate: t.min_rate };
        let mut body = Body::new(h.framing, &received[base..], room, &mut self.stream, policy, expect_continue);
        let (answered, leftover) = answer(h, &mut body, &mut self.out, shared, self.peer, &self.preamble);
        if leftover.refilled {
            self.start = self.end + leftover.pos;
            self.end += leftover.end;
        } else {
            self.start = base + leftover.pos;
        }
        if leftover.read_timeout_set {
            self.read_timeout = Some(policy.timeout);
        }
        self.finish(answered)
    }

    /// Writes a streamed body, if any, and decides whether to go on.
    fn finish(&mut self, answered: Answered) -> io::Result<Step> {
        let keep = answered.keep_alive;
        self.unread_input |= answered.unread_input;
        let Some(plan) = answered.plan else {
            return Ok(if keep { Step::Again } else { Step::Close });
        };
        self.set_write_timeout()?;
        let mut tx = Sender::new(&mut self.stream, &self.shared.timeouts);
        let close = match plan {
            Plan::Slice(bytes) => {
                tx.write_all_vectored(&self.out, &bytes)?;
                false
            }
            Plan::Sized(reader, len) => {
                tx.write_all(&self.out)?;
                copy_sized(&mut tx, reader, len)?;
                false
            }
            Plan::Chunked(reader) => {
                tx.write_all(&self.out)?;
                copy_chunked(&mut tx, reader)?;
                false
            }
            Plan::UntilClose(reader) => {
                tx.write_all(&self.out)?;
                copy_sized(&mut tx, reader, u64::MAX)?;
                true
            }
        };
        self.out.clear();
        Ok(if keep && !close { Step::Again } else { Step::Close })
    }

    /// Answers a request the server refuses, and marks the connection for
    /// closing.
    fn reject(&mut self, r: Rejection) {
        self.unread_input = true;
        let ctx = encode::Context {
            head_request: false,
            version: http::Version::HTTP_11,
            keep_alive: false,
            preamble: &self.preamble,
        };
        let mut res = Response::error(r.status, r.reason);
        let (status, headers, body) = res.parts_mut();
        let _ = encode::encode(&mut self.out, status, headers, body, &ctx);
        if access_log::enabled() {
            access_log::record_refused(self.peer, r.status, r.reason.len() as u64);
        }
    }

    /// Ends a connection the server closes: sends what is pending and,
    /// if the client may still be sending input the server did not read,
    /// shuts down the writing half (the client sees the end of the
    /// stream), then reads and discards what the client still sends until
    /// it closes, an error, or `Timeouts::linger` passes. Closing with
    /// unread input would reset the connection, and a reset can destroy
    /// the response before the client reads it. The connection counts as
    /// idle meanwhile, so a graceful shutdown does not wait for it.
    fn close(&mut self, idle: &AtomicBool) -> io::Result<()> {
        self.flush()?;
        let linger = self.shared.timeouts.linger;
        if !self.unread_input || linger.is_zero() || self.stream.shutdown(Shutdown::Write).is_err() {
            return Ok(());
        }
        let deadline = Instant::now() + linger;
        idle.store(true, Ordering::Release);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || self.stream.set_read_timeout(Some(left)).is_err() {
                return Ok(());
            }
            match self.stream.read(&mut self.buf) {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Ok(()),
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        write_out(&mut self.stream, &mut self.out, &mut self.write_timeout, &self.shared.timeouts)
    }

    /// Makes room after `end` for the next read and, after it, `MIN_TAIL`
    /// bytes for a body: compacts, and grows the buffer when a head in
    /// progress fills it.
    fn make_room(&mut self) {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() - self.end < MIN_READ + MIN_TAIL {
            let limit = self.shared.limits.max_head + MIN_READ + MIN_TAIL;
            let new_len = (self.buf.len() * 2).min(limit).max(self.end + MIN_READ + MIN_TAIL);
            self.buf.resize(new_len, 0);
        }
    }

    fn set_read_timeout(&mut self, t: Duration) -> io::Result<()> {
        if self.read_timeout != Some(t) {
            self.stream.set_read_timeout(Some(t))?;
            self.read_timeout = Some(t);
        }
        Ok(())
    }

    fn set_write_timeout(&mut self) -> io::Result<()> {
        apply_write_timeout(&self.stream, &mut self.write_timeout, &self.shared.timeouts)
    }
}

/// Writes and clears the responses in `out`. A free function, so that it
/// can run while a parsed head borrows the connection's read buffer.
fn write_out<T: Transport>(
    stream: &mut T,
    out: &mut Vec<u8>,
    write_timeout: &mut Option<Duration>,
    timeouts: &Timeouts,
) -> io::Result<()> {
    if out.is_empty() {
        return Ok(());
    }
    apply_write_timeout(stream, write_timeout, timeouts)?;
    let result = Sender::new(stream, timeouts).write_all(out);
    out.clear();
    result
}

/// Sets the stream's write timeout to the server's, unless `current` says
/// it already is.
fn apply_write_timeout<T: Transport>(
    stream: &T,
    current: &mut Option<Duration>,
    timeouts: &Timeouts,
) -> io::Result<()> {
    if *current != Some(timeouts.write) {
        stream.set_write_timeout(Some(timeouts.write))?;
        *current = Some(timeouts.write);
    }
    Ok(())
}

/// Hex digits of `n`, written at the end of `buf`.
fn hex(buf: &mut [u8; 16], mut n: usize) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b"0123456789abcdef"[n & 15];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}

/// Writes a response to the client under the rate floor (see
/// [`crate::rate`]): a client that reads too slowly is dropped.
struct Sender<'a, T> {
    stream: &'a mut T,
    floor: RateFloor,
    sent: u64,
}

impl<'a, T: Write> Sender<'a, T> {
    fn new(stream: &'a mut T, timeouts: &Timeouts) -> Self {
        Sender { stream, floor: RateFloor::new(timeouts.write, timeouts.min_rate), sent: 0 }
    }

    /// Counts `n` bytes written; only a partial write (the client is not
    /// keeping up) consults the floor, so a response that leaves in one
    /// write never reads the clock.
    fn progress(&mut self, n: usize, partial: bool) -> io::Result<()> {
        self.sent += n as u64;
        if partial && !self.floor.ok(self.sent) {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "the client reads the response too slowly"));
        }
        Ok(())
    }

    fn write_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            let n = match self.stream.write(buf) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            buf = &buf[n..];
            self.progress(n, !buf.is_empty())?;
        }
        Ok(())
    }

    /// Writes `a` then `b` with as few system calls as the kernel allows.
    fn write_all_vectored(&mut self, mut a: &[u8], mut b: &[u8]) -> io::Result<()> {
        while !a.is_empty() {
            let n = match self.stream.write_vectored(&[io::IoSlice::new(a), io::IoSlice::new(b)]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n >= a.len() {
                b = &b[n - a.len()..];
                a = &[];
            } else {
                a = &a[n..];
            }
            self.progress(n, !(a.is_empty() && b.is_empty()))?;
        }
        self.write_all(b)
    }
}

thread_local! {
    /// A buffer for copying streamed bodies, kept between responses so that
    /// a streamed response allocates nothing. Coroutines of this hub that
    /// stream at the same time take it in turn: one that finds it taken
    /// allocates its own, and only one is kept when both are done.
    static SPARE_CHUNK: Cell<Option<Box<[u8]>>> = const { Cell::new(None) };
}

/// Runs `f` with a buffer of `STREAM_CHUNK + 32` bytes.
fn with_chunk<R>(f: impl FnOnce(&mut [u8]) -> R) -> R {
    let mut chunk = SPARE_CHUNK.take().unwrap_or_else(|| vec![0u8; STREAM_CHUNK + 32].into_boxed_slice());
    let r = f(&mut chunk);
    SPARE_CHUNK.set(Some(chunk));
    r
}

fn copy_sized<T: Write>(tx: &mut Sender<'_, T>, reader: Box<dyn Read + Send>, len: u64) -> io::Result<()> {
    with_chunk(|chunk| copy_sized_with(tx, reader, len, &mut chunk[..STREAM_CHUNK]))
}

fn copy_sized_with<T: Write>(
    tx: &mut Sender<'_, T>,
    mut reader: Box<dyn Read + Send>,
    len: u64,
    chunk: &mut [u8],
) -> io::Result<()> {
    let mut left = len;
    while left > 0 {
        let want = (chunk.len() as u64).min(left) as usize;
        let n = reader.read(&mut chunk[..want])?;
        if n == 0 {
            if len == u64::MAX {
                return Ok(());
            }
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "response body shorter than its length"));
        }
        tx.write_all(&chunk[..n])?;
        left -= n as u64;
    }
    Ok(())
}

fn copy_chunked<T: Write>(tx: &mut Sender<'_, T>, reader: Box<dyn Read + Send>) -> io::Result<()> {
    with_chunk(|chunk| copy_chunked_with(tx, reader, chunk))
}

/// Sends `reader`'s bytes as chunks, each framed in place in `chunk`
/// (`STREAM_CHUNK + 32` bytes: 16 before the data for the size line, 2
/// after it for the CRLF).
fn copy_chunked_with<T: Write>(
    tx: &mut Sender<'_, T>,
    mut reader: Box<dyn Read + Send>,
    chunk: &mut [u8],
) -> io::Result<()> {
    loop {
        let n = reader.read(&mut chunk[16..16 + STREAM_CHUNK])?;
        if n == 0 {
            return tx.write_all(b"0\r\n\r\n");
        }
        let mut size = [0u8; 16];
        let size = hex(&mut size, n);
        let at = 16 - size.len() - 2;
        chunk[at..at + size.len()].copy_from_slice(size);
        chunk[16 - 2..16].copy_from_slice(b"\r\n");
        chunk[16 + n..16 + n + 2].copy_from_slice(b"\r\n");
        tx.write_all(&chunk[at..16 + n + 2])?;
    }
}

/// Runs the handler for one request and encodes its response into `out`.
/// Also returns what the body left: where the unconsumed bytes after it
/// lie in the slice it was given, and whether it changed the socket's read
/// timeout.
fn answer<'a>(
    h: Head<'a>,
    body: &'a mut Body<'a>,
    out: &mut Vec<u8>,
    shared: &Shared,
    peer: Option<SocketAddr>,
    preamble: &Preamble,
) -> (Answered, Leftover) {
    let is_head = h.method == Method::HEAD;
    let version = h.version;
    let log_line = access_log::enabled().then(|| (h.method.clone(), h.target, Instant::now()));
    let mut req = Request::new(h.method, h.target, version, h.headers, body, peer);
    let mut keep_alive = h.keep_alive;
    // verde's: the handler's unwinding is over once caught, even while
    // another coroutine of the hub is parked mid-unwind.
    let result = verde_runtime::catch_unwind(AssertUnwindSafe(|| shared.handler.handle(&mut req)));
    let mut response = match result {
        Ok(r) => r,
        Err(payload) => {
            if payload.is::<verde_runtime::Killed>() || payload.is::<verde_runtime::TimeoutExpired>() {
                verde_runtime::resume_unwind(payload);
            }
            log::error!(
                target: "verde_http",
                "handler panicked on {} {}: {}",
                req.method(),
                req.target(),
                verde_runtime::describe_payload(&*payload)
            );
            keep_alive = false;
            Response::error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
        }
    };
    let body = req.body();
    let mut unread_input = false;
    if !body.drain(shared.limits.max_drain) {
        keep_alive = false;
        unread_input = true;
    }
    let rest = body.finish();
    if let Some(e) = rest.failed {
        keep_alive = false;
        unread_input = true;
        response = Response::error(e.status(), e.to_string());
    }
    // Checked after the handler: a shutdown that began while it ran must
    // still close this connection, and say so.
    if shared.draining.load(Ordering::Acquire) {
        keep_alive = false;
    }
    let ctx = encode::Context { head_request: is_head, version, keep_alive, preamble };
    let (status, headers, body) = response.parts_mut();
    // For the access log, the body bytes actually sent.
    let log_line = log_line.map(|line| {
        let length = match body {
            _ if encode::bodiless(status, is_head) => Some(0),
            crate::ResponseBody::Empty => Some(0),
            crate::ResponseBody::Bytes(b) => Some(b.len() as u64),
            crate::ResponseBody::Reader { len, .. } => *len,
        };
        (line, length)
    });
    let (plan, keep_alive) = encode::encode(out, status, headers, body, &ctx);
    if let Some(((method, target, started), length)) = log_line {
        access_log::record(peer, &method, target, version, status, length, started.elapsed());
    }
    (Answered { plan, keep_alive, unread_input }, rest)
}
