//! What the HTTP server and client need from a connection.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::time::Duration;

/// A byte stream with std-style timeouts: a read or write that waits longer
/// than its timeout fails with `WouldBlock` or `TimedOut`.
///
/// Implemented for `verde::net::TcpStream` and `verde::os::unix::net::UnixStream`,
/// so the server and client run over either.
pub trait Transport: Read + Write {
    /// Sets the read timeout, as `TcpStream::set_read_timeout`.
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
    /// Sets the write timeout, as `TcpStream::set_write_timeout`.
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
    /// Shuts down the reading, writing or both halves, as
    /// `TcpStream::shutdown`. The server shuts its writing half before it
    /// lingers on a connection it closes (see
    /// [`Timeouts::linger`](crate::Timeouts::linger)). The default, for
    /// transports with no half-close, fails with `Unsupported`, and the
    /// server then closes at once: lingering without a shut-down writing
    /// half would only keep a client that waits for the end of the stream
    /// waiting for the whole linger time.
    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        let _ = how;
        Err(io::ErrorKind::Unsupported.into())
    }
}

/// Whether an I/O error is a timeout in std's sense (either kind).
pub(crate) fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}
