//! Helpers shared by verde-http's integration tests: a server running on a
//! thread of its own, and a raw HTTP/1.1 client over `std::net` that shows
//! exactly what the server sent.
//!
//! Not every test file uses every helper.
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Child;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use verde_http::{Handler, Server, ServerBuilder, ShutdownHandle};

/// The generous bound for anything that must happen "soon".
pub const LONG: Duration = Duration::from_secs(10);

/// A server builder for tests: one worker, no signal handling, a short
/// grace period.
pub fn builder() -> ServerBuilder {
    Server::builder().workers(1).handle_signals(false).shutdown_grace(Duration::from_secs(5))
}

/// A server whose `serve` runs on a thread. Dropping it shuts it down and
/// checks that `serve` returned.
pub struct TestServer {
    addr: SocketAddr,
    handle: ShutdownHandle,
    done: mpsc::Receiver<io::Result<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl TestServer {
    /// Binds 127.0.0.1 port 0 with `builder` and serves `handler`.
    pub fn start(builder: ServerBuilder, handler: impl Handler) -> TestServer {
        TestServer::run(builder.bind("127.0.0.1:0").expect("binding the test server"), handler)
    }

    /// Serves `handler` on a server bound by the caller (its `addr` is
    /// `0.0.0.0:0` if it has no TCP listener).
    pub fn run(server: Server, handler: impl Handler) -> TestServer {
        let addr = server.local_addr();
        let handle = server.shutdown_handle();
        let (tx, done) = mpsc::channel();
        let thread = thread::Builder::new()
            .name("test-server".into())
            .spawn(move || {
                let _ = tx.send(server.serve(handler));
            })
            .expect("starting the server thread");
        TestServer { addr, handle, done, thread: Some(thread) }
    }

    /// Starts a server with [`builder`]'s settings.
    pub fn new(handler: impl Handler) -> TestServer {
        TestServer::start(builder(), handler)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://addr/path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.handle.clone()
    }

    /// A raw connection to the server.
    pub fn connect(&self) -> Raw {
        Raw::connect(self.addr)
    }

    /// Waits up to `timeout` for `serve` to return; true if it did (and
    /// returned `Ok`).
    pub fn wait_stopped(&mut self, timeout: Duration) -> bool {
        match self.done.recv_timeout(timeout) {
            Ok(result) => {
                result.expect("serve failed");
                if let Some(t) = self.thread.take() {
                    t.join().expect("the server thread panicked");
                }
                true
            }
            Err(mpsc::RecvTimeoutError::Timeout) => false,
            Err(mpsc::RecvTimeoutError::Disconnected) => panic!("the server thread ended without a result"),
        }
    }

    /// Shuts the server down and checks that `serve` returns.
    pub fn stop(mut self) {
        self.handle.shutdown();
        assert!(self.wait_stopped(LONG), "serve did not return within {LONG:?} of shutdown");
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if self.thread.is_none() {
            return;
        }
        self.handle.shutdown();
        let stopped = self.wait_stopped(LONG);
        if !stopped && !thread::panicking() {
            panic!("serve did not return within {LONG:?} of shutdown");
        }
    }
}

/// A response as it came over the wire.
#[derive(Debug, Clone)]
pub struct Resp {
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub version: String,
    pub status: u16,
    pub reason: String,
    /// Names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub framing: Framing,
}

/// How a response body was delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body by the rules (HEAD, 1xx, 204, 304).
    None,
    Length,
    Chunked,
    Close,
}

impl Resp {
    /// The only value of header `name`; panics if it is repeated.
    pub fn header(&self, name: &str) -> Option<&str> {
        let all = self.header_all(name);
        assert!(all.len() <= 1, "header {name} repeated: {all:?}");
        all.first().copied()
    }

    pub fn header_all(&self, name: &str) -> Vec<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().filter(|(n, _)| *n == name).map(|(_, v)| v.as_str()).collect()
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("body is not UTF-8")
    }

    /// Whether the response says `Connection: close`.
    pub fn says_close(&self) -> bool {
        self.header_all("connection").iter().any(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close")))
    }
}

/// How a connection ended, as the client saw it.
#[derive(Debug, PartialEq, Eq)]
pub enum End {
    /// EOF or a reset: the server closed it.
    Closed,
    /// Bytes arrived instead.
    Data(Vec<u8>),
    /// Nothing happened within the wait.
    Open,
}

/// What a raw client needs from its connection: std's TCP and Unix
/// streams.
pub trait ClientStream: Read + Write {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
    fn shutdown(&self, how: Shutdown) -> io::Result<()>;
}

macro_rules! client_stream {
    ($t:ty) => {
        impl ClientStream for $t {
            fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
                <$t>::set_read_timeout(self, timeout)
            }
            fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
                <$t>::set_write_timeout(self, timeout)
            }
            fn shutdown(&self, how: Shutdown) -> io::Result<()> {
                <$t>::shutdown(self, how)
            }
        }
    };
}

client_stream!(TcpStream);
client_stream!(UnixStream);

/// A raw client connection, over TCP unless said otherwise.
pub struct Raw<S = TcpStream> {
    pub stream: S,
    buf: Vec<u8>,
}

impl Raw {
    pub fn connect(addr: SocketAddr) -> Raw {
        Raw::from_stream(TcpStream::connect(addr).expect("connecting to the test server"))
    }
}

impl Raw<UnixStream> {
    pub fn connect_unix(path: &Path) -> Raw<UnixStream> {
        Raw::from_stream(UnixStream::connect(path).expect("connecting to the test server's Unix socket"))
    }
}

impl<S: ClientStream> Raw<S> {
    pub fn from_stream(stream: S) -> Raw<S> {
        stream.set_read_timeout(Some(LONG)).unwrap();
        stream.set_write_timeout(Some(LONG)).unwrap();
        Raw { stream, buf: Vec::new() }
    }

    pub fn send(&mut self, bytes: impl AsRef<[u8]>) {
        self.stream.write_all(bytes.as_ref()).expect("sending to the server");
    }

    /// Sends a GET for `path` (HTTP/1.1, with Host).
    pub fn get(&mut self, path: &str) {
        self.send(format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n"));
    }

    /// Reads one response to a request that is not HEAD.
    pub fn response(&mut self) -> Resp {
        self.try_response(false).expect("reading a response")
    }

    /// Reads one response to a HEAD request.
    pub fn head_response(&mut self) -> Resp {
        self.try_response(true).expect("reading a response")
    }

    /// Bytes received and not yet consumed.
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }

    /// Reads more into the buffer; false at EOF.
    fn fill(&mut self) -> io::Result<bool> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads one CRLF-terminated line (without the CRLF).
    fn line(&mut self) -> io::Result<String> {
        loop {
            if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8(self.buf[..i].to_vec())
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                self.buf.drain(..i + 2);
                return Ok(line);
            }
            if !self.fill()? {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("connection closed mid-line; got {:?}", String::from_utf8_lossy(&self.buf)),
                ));
            }
        }
    }

    fn exact(&mut self, n: usize) -> io::Result<Vec<u8>> {
        while self.buf.len() < n {
            if !self.fill()? {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("body cut short: {} of {n} bytes", self.buf.len()),
                ));
            }
        }
        Ok(self.buf.drain(..n).collect())
    }

    /// Reads one response; `head_request` says the request was a HEAD.
    pub fn try_response(&mut self, head_request: bool) -> io::Result<Resp> {
        let status_line = self.line()?;
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or_default().to_string();
        let status: u16 = parts
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("bad status line {status_line:?}")))?;
        let reason = parts.next().unwrap_or_default().to_string();
        let mut headers = Vec::new();
        loop {
            let line = self.line()?;
            if line.is_empty() {
                break;
            }
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("bad header line {line:?}")))?;
            headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
        }
        let mut resp = Resp { version, status, reason, headers, body: Vec::new(), framing: Framing::None };
        if head_request || (100..200).contains(&status) || status == 204 || status == 304 {
            return Ok(resp);
        }
        let chunked = resp.header_all("transfer-encoding").iter().any(|v| v.eq_ignore_ascii_case("chunked"));
        if chunked {
            resp.framing = Framing::Chunked;
            loop {
                let size_line = self.line()?;
                let size = usize::from_str_radix(size_line.split(';').next().unwrap_or("").trim(), 16)
                    .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, format!("bad chunk size {size_line:?}")))?;
                if size == 0 {
                    while !self.line()?.is_empty() {}
                    break;
                }
                let data = self.exact(size)?;
                resp.body.extend_from_slice(&data);
                if !self.line()?.is_empty() {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, "chunk data not followed by CRLF"));
                }
            }
        } else if let Some(len) = resp.header("content-length") {
            let len: usize =
                len.parse().map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad Content-Length"))?;
            resp.framing = Framing::Length;
            resp.body = self.exact(len)?;
        } else {
            resp.framing = Framing::Close;
            while self.fill()? {}
            resp.body = std::mem::take(&mut self.buf);
        }
        Ok(resp)
    }

    /// Waits up to `wait` for the server to close the connection.
    pub fn end(&mut self, wait: Duration) -> End {
        if !self.buf.is_empty() {
            return End::Data(std::mem::take(&mut self.buf));
        }
        self.stream.set_read_timeout(Some(wait)).unwrap();
        let mut byte = [0u8; 4096];
        let end = loop {
            match self.stream.read(&mut byte) {
                Ok(0) => break End::Closed,
                Ok(n) => break End::Data(byte[..n].to_vec()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => break End::Open,
                Err(_) => break End::Closed,
            }
        };
        self.stream.set_read_timeout(Some(LONG)).unwrap();
        end
    }

    /// Asserts the server closes the connection (soon) without sending
    /// anything more.
    pub fn expect_closed(&mut self) {
        assert_eq!(self.end(LONG), End::Closed, "the server did not close the connection");
    }

    /// Closes our sending side.
    pub fn shutdown_write(&self) {
        self.stream.shutdown(Shutdown::Write).unwrap();
    }
}

/// Polls `cond` every 5 ms until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// Sends one request on a fresh connection and reads its response.
pub fn exchange(addr: SocketAddr, request: impl AsRef<[u8]>) -> Resp {
    let mut c = Raw::connect(addr);
    c.send(request);
    c.response()
}

/// A child process (a server or a client fleet in a process of its own),
/// killed if the test fails before it exits. The child is `.0`.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}
