//! [`UnixStream`]: std's `UnixStream`, parking instead of blocking.

use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use verde_runtime::io::Interest;
use verde_runtime::sys;

use crate::fd::fd_conversions;
use crate::socket::Socket;
use crate::stream_io::stream_io;
use crate::unix::sockaddr;

/// A Unix stream socket, with the API of
/// [`std::os::unix::net::UnixStream`].
///
/// Reads and writes park the calling coroutine while they would block; a
/// reader and a writer may wait on the same stream at once. Connecting to a
/// listener whose backlog is full waits for room, as a blocking `connect`
/// does.
///
/// ```
/// use std::io::{Read, Write};
/// use verde_net::unix::UnixStream;
///
/// let (mut a, mut b) = UnixStream::pair().unwrap();
/// let echo = verde_runtime::spawn(move || {
///     let mut buf = [0; 3];
///     b.read_exact(&mut buf).unwrap();
///     b.write_all(&buf).unwrap();
/// });
/// a.write_all(b"abc").unwrap();
/// let mut buf = [0; 3];
/// a.read_exact(&mut buf).unwrap();
/// assert_eq!(&buf, b"abc");
/// echo.join().unwrap();
/// ```
pub struct UnixStream {
    sock: Socket,
}

impl UnixStream {
    pub(crate) fn from_socket(sock: Socket) -> UnixStream {
        UnixStream { sock }
    }

    /// Connects to the socket bound at `path`.
    pub fn connect<P: AsRef<Path>>(path: P) -> io::Result<UnixStream> {
        let (raw, len) = sockaddr::path_to_raw(path.as_ref())?;
        UnixStream::connect_raw(&raw, len)
    }

    /// Connects to the socket at `socket_addr` (a path, or a Linux
    /// abstract name).
    pub fn connect_addr(socket_addr: &SocketAddr) -> io::Result<UnixStream> {
        let (raw, len) = sockaddr::addr_to_raw(socket_addr)?;
        UnixStream::connect_raw(&raw, len)
    }

    fn connect_raw(raw: &libc::sockaddr_storage, len: libc::socklen_t) -> io::Result<UnixStream> {
        let sock = Socket::new(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_NONBLOCK)?;
        // EAGAIN here means the listener's backlog is full; the kernel
        // reports no readiness for that, hence polling.
        sock.poll_with(|fd| sys::connect(fd, raw, len))?;
        sock.connected()?;
        Ok(UnixStream { sock })
    }

    /// An unnamed pair of connected sockets.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = Socket::pair(libc::SOCK_STREAM)?;
        Ok((UnixStream { sock: a }, UnixStream { sock: b }))
    }

    /// A new handle to the same socket (a duplicated fd), sharing its
    /// settings.
    pub fn try_clone(&self) -> io::Result<UnixStream> {
        Ok(UnixStream { sock: self.sock.try_clone()? })
    }

    /// The local address of the socket.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        let (raw, len) = self.sock.local_raw()?;
        sockaddr::from_raw(&raw, len)
    }

    /// The address of the peer.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        let (raw, len) = self.sock.peer_raw()?;
        sockaddr::from_raw(&raw, len)
    }

    /// Sets the read timeout: a read that waits longer fails with an error
    /// of kind `WouldBlock`, as std's does on Linux. `None` waits forever;
    /// a zero duration is an `InvalidInput` error.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.sock.set_timeout(Interest::Read, timeout)
    }

    /// Sets the write timeout, as [`set_read_timeout`](Self::set_read_timeout)
    /// does for reads.
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.sock.set_timeout(Interest::Write, timeout)
    }

    /// The read timeout.
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        self.sock.timeout(Interest::Read)
    }

    /// The write timeout.
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        self.sock.timeout(Interest::Write)
    }

    /// Switches non-blocking mode: when on, an operation that would wait
    /// fails at once with an error of kind `WouldBlock`.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.sock.set_nonblocking(nonblocking)
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.sock.take_error()
    }

    /// Shuts down the read half, the write half, or both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.sock.shutdown(how)
    }
}

stream_io!(UnixStream);

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("UnixStream");
        d.field("fd", &super::StdFd(self.sock.fd()));
        if let Ok(addr) = self.local_addr() {
            d.field("local", &addr);
        }
        if let Ok(peer) = self.peer_addr() {
            d.field("peer", &peer);
        }
        d.finish()
    }
}

fd_conversions!(UnixStream, std::os::unix::net::UnixStream);
