//! Size limits and timeouts, with their defaults.

use std::time::Duration;

/// Limits on what a client may send. Requests over a limit get the status
/// named in each field's documentation, and the connection closes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest request line (method, target, version), in bytes: 8 KiB.
    /// Over it: `414 URI Too Long`.
    pub max_request_line: usize,
    /// Largest request head (request line and all headers), in bytes:
    /// 64 KiB. Over it: `431 Request Header Fields Too Large`.
    pub max_head: usize,
    /// Most header fields in one request: 100. Over it: `431`.
    pub max_headers: usize,
    /// Largest request body, in bytes: 16 MiB. Over it: `413 Content Too
    /// Large` (at once for a declared length, when reached for a chunked
    /// body).
    pub max_body: u64,
    /// Most bytes of a body the handler left unread that the server reads
    /// and discards to keep the connection: 256 KiB. A longer remainder
    /// closes the connection instead.
    pub max_drain: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_request_line: 8 * 1024,
            max_head: 64 * 1024,
            max_headers: 100,
            max_body: 16 * 1024 * 1024,
            max_drain: 256 * 1024,
        }
    }
}

/// How long the server waits for a slow client. Each timeout bounds one
/// wait, so a client that stalls never holds a coroutine forever.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// From the first byte of a request until its head is complete: 10 s.
    pub header: Duration,
    /// Each wait for more of a request body: 30 s.
    pub body: Duration,
    /// An idle keep-alive connection waiting for its next request: 60 s.
    /// (gevent's pywsgi has none; see its issue #1866.)
    pub idle: Duration,
    /// Each wait for the client to accept more of a response: 30 s.
    pub write: Duration,
    /// Slowest average rate, in bytes per second, at which a client may
    /// send a body or read a response: 1024. A transfer may take its
    /// timeout (`body` or `write`) plus one second per `min_rate` bytes,
    /// so a client that trickles a byte before each timeout still cannot
    /// hold its connection forever. 0 turns the floor off.
    pub min_rate: u64,
    /// After the server closes a connection whose client may still be
    /// sending (a refused request, a body too long to drain): how long it
    /// goes on reading and discarding that input, once its own side is
    /// shut down, until the client closes too: 2 s. Closing with
    /// unread data would make the kernel reset the connection, and a reset
    /// can destroy the response (a 413, a 400) before the client reads it.
    /// Zero closes at once.
    pub linger: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            header: Duration::from_secs(10),
            body: Duration::from_secs(30),
            idle: Duration::from_secs(60),
            write: Duration::from_secs(30),
            min_rate: 1024,
            linger: Duration::from_secs(2),
        }
    }
}
