//! [`TcpStream`]: std's `TcpStream`, parking instead of blocking.

use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::time::Duration;

use verde_runtime::io::Interest;

use crate::addr::{each_addr, ToSocketAddrs};
use crate::fd::fd_conversions;
use crate::sockaddr;
use crate::socket::Socket;
use crate::stream_io::stream_io;

/// A TCP connection, with the API of [`std::net::TcpStream`].
///
/// Reads and writes try the system call first; when it would block, the
/// calling coroutine parks until the socket is ready and other coroutines
/// run (on a plain thread, the thread blocks). A reader and a writer may
/// wait on the same stream at once, from the same hub or from different
/// ones, through `&TcpStream` or clones.
///
/// A read or [`peek`](Self::peek) into an empty buffer behaves as std's on
/// Linux: it returns `Ok(0)` at once if anything is queued, and otherwise
/// waits until data arrives, or the read timeout passes, and then returns
/// `Ok(0)` (not a `WouldBlock` error).
///
/// ```
/// use std::io::{Read, Write};
/// use verde_net::{TcpListener, TcpStream};
///
/// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
/// let addr = listener.local_addr().unwrap();
/// let server = verde_runtime::spawn(move || {
///     let (mut conn, _) = listener.accept().unwrap();
///     let mut buf = [0; 5];
///     conn.read_exact(&mut buf).unwrap();
///     conn.write_all(&buf).unwrap();
/// });
/// let mut stream = TcpStream::connect(addr).unwrap();
/// stream.write_all(b"hello").unwrap();
/// let mut echo = [0; 5];
/// stream.read_exact(&mut echo).unwrap();
/// assert_eq!(&echo, b"hello");
/// server.join().unwrap();
/// ```
pub struct TcpStream {
    sock: Socket,
}

impl TcpStream {
    pub(crate) fn from_socket(sock: Socket) -> TcpStream {
        TcpStream { sock }
    }

    /// Opens a TCP connection to `addr`, trying each address it resolves
    /// to in turn and returning the last error if none accepts.
    ///
    /// Host names are resolved on the blocking pool (see
    /// [`ToSocketAddrs`]); the connection handshake parks the caller.
    pub fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        each_addr(&addr, |a| TcpStream::connect_to(a, None))
    }

    /// Opens a TCP connection to `addr`, giving up after `timeout` with an
    /// error of kind `TimedOut`. A zero timeout is an `InvalidInput` error.
    ///
    /// ```
    /// use std::time::Duration;
    /// use verde_net::{TcpListener, TcpStream};
    ///
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let addr = listener.local_addr().unwrap();
    /// let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    /// assert_eq!(stream.peer_addr().unwrap(), addr);
    /// ```
    pub fn connect_timeout(addr: &SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        if timeout.is_zero() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "cannot set a 0 duration timeout"));
        }
        TcpStream::connect_to(addr, Some(verde_runtime::park::deadline_after(timeout)))
    }

    fn connect_to(addr: &SocketAddr, deadline: Option<std::time::Instant>) -> io::Result<TcpStream> {
        let sock = Socket::new(sockaddr::domain(addr), libc::SOCK_STREAM | libc::SOCK_NONBLOCK)?;
        let (raw, len) = sockaddr::to_raw(addr);
        sock.connect(&raw, len, deadline)?;
        Ok(TcpStream { sock })
    }

    /// The remote address of the connection.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        let (raw, len) = self.sock.peer_raw()?;
        sockaddr::from_raw(&raw, len)
    }

    /// The local address of the connection.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        let (raw, len) = self.sock.local_raw()?;
        sockaddr::from_raw(&raw, len)
    }

    /// Shuts down the read half, the write half, or both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.sock.shutdown(how)
    }

    /// A new handle to the same connection (a duplicated fd). Both read
    /// and write the same stream, and settings (timeouts, non-blocking
    /// mode) changed through one apply to the other.
    pub fn try_clone(&self) -> io::Result<TcpStream> {
        Ok(TcpStream { sock: self.sock.try_clone()? })
    }

    /// Sets the read timeout: a read that waits longer fails with an
    /// error of kind `WouldBlock`, as std's does on Linux. `None` waits
    /// forever; a zero duration is an `InvalidInput` error.
    ///
    /// ```
    /// use std::io::{ErrorKind, Read};
    /// use std::time::Duration;
    /// use verde_net::{TcpListener, TcpStream};
    ///
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let mut stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    /// stream.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    /// let err = stream.read(&mut [0; 8]).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::WouldBlock);
    /// ```
    pub fn set_read_timeout(&self, dur: Option<Duration>) -> io::Result<()> {
        self.sock.set_timeout(Interest::Read, dur)
    }

    /// Sets the write timeout: a write that waits longer (for room in a
    /// full send buffer) fails with an error of kind `WouldBlock`. `None`
    /// waits forever; a zero duration is an `InvalidInput` error.
    pub fn set_write_timeout(&self, dur: Option<Duration>) -> io::Result<()> {
        self.sock.set_timeout(Interest::Write, dur)
    }

    /// The read timeout.
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        self.sock.timeout(Interest::Read)
    }

    /// The write timeout.
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        self.sock.timeout(Interest::Write)
    }

    /// Reads into `buf` without removing the data from the queue.
    ///
    /// As with std on Linux, peeking into an empty `buf` waits until data
    /// arrives (or the read timeout passes) and returns 0.
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return self.sock.recv_empty_tcp(libc::MSG_PEEK);
        }
        self.sock.peek(buf)
    }

    /// Sets `TCP_NODELAY` (disables Nagle's algorithm when `true`).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.sock.set_opt(libc::IPPROTO_TCP, libc::TCP_NODELAY, libc::c_int::from(nodelay))
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        Ok(self.sock.opt::<libc::c_int>(libc::IPPROTO_TCP, libc::TCP_NODELAY)? != 0)
    }

    /// Sets `IP_TTL`, the time-to-live of outgoing packets.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.sock.set_opt(libc::IPPROTO_IP, libc::IP_TTL, ttl as libc::c_int)
    }

    /// The `IP_TTL` of outgoing packets.
    pub fn ttl(&self) -> io::Result<u32> {
        Ok(self.sock.opt::<libc::c_int>(libc::IPPROTO_IP, libc::IP_TTL)? as u32)
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.sock.take_error()
    }

    /// Switches non-blocking mode: when on, an operation that would wait
    /// fails at once with an error of kind `WouldBlock`, as with std.
    /// (The fd is always non-blocking underneath; this is the mode the
    /// caller sees.)
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.sock.set_nonblocking(nonblocking)
    }
}

stream_io!(TcpStream, tcp);

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("TcpStream");
        if let Ok(addr) = self.local_addr() {
            d.field("addr", &addr);
        }
        if let Ok(peer) = self.peer_addr() {
            d.field("peer", &peer);
        }
        d.field("fd", &self.sock.fd()).finish()
    }
}

fd_conversions!(TcpStream, std::net::TcpStream);
