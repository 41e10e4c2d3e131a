//! [`TcpListener`]: std's `TcpListener`, parking instead of blocking, and
//! its [`Incoming`] and [`IntoIncoming`] iterators.

use std::fmt;
use std::io;
use std::iter::FusedIterator;
use std::net::SocketAddr;

use crate::accept::Acceptor;
use crate::addr::{each_addr, ToSocketAddrs};
use crate::fd::fd_conversions;
use crate::sockaddr;
use crate::socket::Socket;
use crate::tcp::TcpStream;

/// The listen backlog std uses for TCP.
const BACKLOG: libc::c_int = 128;

/// A TCP server socket, with the API of [`std::net::TcpListener`].
///
/// [`accept`](Self::accept) parks the calling coroutine until a
/// connection arrives. Several coroutines, on one hub or several, may
/// accept on the same listener. When the process runs out of file
/// descriptors, `accept` backs off and retries instead of failing (see
/// below).
///
/// ```
/// use std::io::{Read, Write};
/// use verde_net::{TcpListener, TcpStream};
///
/// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
/// let addr = listener.local_addr().unwrap();
/// let server = verde_runtime::spawn(move || {
///     for stream in listener.incoming().take(2) {
///         let mut stream = stream.unwrap();
///         // One coroutine per connection.
///         verde_runtime::spawn(move || {
///             let mut buf = [0; 4];
///             stream.read_exact(&mut buf).unwrap();
///             stream.write_all(&buf).unwrap();
///         });
///     }
/// });
/// for _ in 0..2 {
///     let mut c = TcpStream::connect(addr).unwrap();
///     c.write_all(b"ping").unwrap();
///     let mut buf = [0; 4];
///     c.read_exact(&mut buf).unwrap();
///     assert_eq!(&buf, b"ping");
/// }
/// server.join().unwrap();
/// ```
///
/// # Running out of file descriptors
///
/// When `accept` fails with `EMFILE`, `ENFILE`, `ENOBUFS` or `ENOMEM`, the
/// caller sleeps (10 ms, doubling up to 1 s, reset by the next success)
/// and tries again, as gevent's `StreamServer` does, logging once per
/// episode through the `log` crate. It neither spins nor returns the error,
/// so a server loop keeps serving once fds are released. In non-blocking
/// mode the error is returned instead, as with std.
pub struct TcpListener {
    sock: Socket,
    acceptor: Acceptor,
}

impl TcpListener {
    pub(crate) fn from_socket(sock: Socket) -> TcpListener {
        TcpListener { sock, acceptor: Acceptor::default() }
    }

    /// Binds a listener to `addr` (with `SO_REUSEADDR`, as std does),
    /// trying each address it resolves to in turn and returning the last
    /// error if none works. Port 0 picks a free port; see
    /// [`local_addr`](Self::local_addr).
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        each_addr(&addr, |a| {
            let sock = Socket::new(sockaddr::domain(a), libc::SOCK_STREAM | libc::SOCK_NONBLOCK)?;
            sock.set_opt(libc::SOL_SOCKET, libc::SO_REUSEADDR, 1 as libc::c_int)?;
            let (raw, len) = sockaddr::to_raw(a);
            verde_runtime::sys::bind(sock.fd(), &raw, len)?;
            verde_runtime::sys::listen(sock.fd(), BACKLOG)?;
            Ok(TcpListener::from_socket(sock))
        })
    }

    /// Binds a listener that shares `addr` with other listeners: with
    /// `SO_REUSEPORT` set, several listeners (one per worker, typically)
    /// bind the same address and the kernel spreads incoming connections
    /// over them, so workers never contend for one accept queue. Not in
    /// std; verde's HTTP server uses it.
    ///
    /// ```
    /// let a = verde_net::TcpListener::bind_reuse_port("127.0.0.1:0".parse().unwrap(), 128).unwrap();
    /// let addr = a.local_addr().unwrap();
    /// let b = verde_net::TcpListener::bind_reuse_port(addr, 128).unwrap();
    /// assert_eq!(b.local_addr().unwrap(), addr);
    /// ```
    pub fn bind_reuse_port(addr: SocketAddr, backlog: i32) -> io::Result<TcpListener> {
        let sock = Socket::new(sockaddr::domain(&addr), libc::SOCK_STREAM | libc::SOCK_NONBLOCK)?;
        sock.set_opt(libc::SOL_SOCKET, libc::SO_REUSEADDR, 1 as libc::c_int)?;
        sock.set_opt(libc::SOL_SOCKET, libc::SO_REUSEPORT, 1 as libc::c_int)?;
        let (raw, len) = sockaddr::to_raw(&addr);
        verde_runtime::sys::bind(sock.fd(), &raw, len)?;
        verde_runtime::sys::listen(sock.fd(), backlog)?;
        Ok(TcpListener::from_socket(sock))
    }

    /// The local address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        let (raw, len) = self.sock.local_raw()?;
        sockaddr::from_raw(&raw, len)
    }

    /// A new handle to the same listener (a duplicated fd), sharing its
    /// non-blocking mode.
    pub fn try_clone(&self) -> io::Result<TcpListener> {
        Ok(TcpListener::from_socket(self.sock.try_clone()?))
    }

    /// Waits for a connection and returns it with the peer's address. The
    /// new stream is in blocking mode with no timeouts, as std's is.
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (sock, raw, len) = self.acceptor.accept(&self.sock)?;
        let addr = sockaddr::from_raw(&raw, len)?;
        Ok((TcpStream::from_socket(sock), addr))
    }

    /// An endless iterator of [`accept`](Self::accept)ed connections
    /// (without their addresses).
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// Like [`incoming`](Self::incoming), owning the listener.
    pub fn into_incoming(self) -> IntoIncoming {
        IntoIncoming { listener: self }
    }

    /// Sets `IP_TTL` for connections accepted from now on.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.sock.set_opt(libc::IPPROTO_IP, libc::IP_TTL, ttl as libc::c_int)
    }

    /// The listener's `IP_TTL`.
    pub fn ttl(&self) -> io::Result<u32> {
        Ok(self.sock.opt::<libc::c_int>(libc::IPPROTO_IP, libc::IP_TTL)? as u32)
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.sock.take_error()
    }

    /// Switches non-blocking mode: when on, `accept` with no connection
    /// pending fails at once with an error of kind `WouldBlock`.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.sock.set_nonblocking(nonblocking)
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("TcpListener");
        if let Ok(addr) = self.local_addr() {
            d.field("addr", &addr);
        }
        d.field("fd", &self.sock.fd()).finish()
    }
}

fd_conversions!(TcpListener, std::net::TcpListener);

/// The iterator [`TcpListener::incoming`] returns. It never ends.
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a TcpListener,
}

impl Iterator for Incoming<'_> {
    type Item = io::Result<TcpStream>;
    fn next(&mut self) -> Option<io::Result<TcpStream>> {
        Some(self.listener.accept().map(|(s, _)| s))
    }
}

impl FusedIterator for Incoming<'_> {}

/// The iterator [`TcpListener::into_incoming`] returns. It never ends.
#[derive(Debug)]
pub struct IntoIncoming {
    listener: TcpListener,
}

impl Iterator for IntoIncoming {
    type Item = io::Result<TcpStream>;
    fn next(&mut self) -> Option<io::Result<TcpStream>> {
        Some(self.listener.accept().map(|(s, _)| s))
    }
}

impl FusedIterator for IntoIncoming {}
