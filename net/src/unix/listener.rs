//! [`UnixListener`]: std's `UnixListener`, parking instead of blocking,
//! and its [`Incoming`] iterator.

use std::fmt;
use std::io;
use std::iter::FusedIterator;
use std::os::unix::net::SocketAddr;
use std::path::Path;

use verde_runtime::sys;

use crate::accept::Acceptor;
use crate::fd::fd_conversions;
use crate::socket::Socket;
use crate::unix::sockaddr;
use crate::unix::UnixStream;

/// The listen backlog std uses for Unix sockets on Linux: -1, the
/// system's maximum (`net.core.somaxconn`).
const BACKLOG: libc::c_int = -1;

/// A Unix stream server socket, with the API of
/// [`std::os::unix::net::UnixListener`].
///
/// [`accept`](Self::accept) parks the calling coroutine until a connection
/// arrives; when the process is out of file descriptors it backs off and
/// retries, as [`TcpListener`](crate::TcpListener) does.
///
/// ```
/// use std::io::{Read, Write};
/// use verde_net::unix::{UnixListener, UnixStream};
///
/// let dir = std::env::temp_dir().join(format!("verde-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("listener.sock");
/// let _ = std::fs::remove_file(&path);
/// let listener = UnixListener::bind(&path).unwrap();
/// let server = verde_runtime::spawn(move || {
///     let (mut conn, _) = listener.accept().unwrap();
///     conn.write_all(b"hi").unwrap();
/// });
/// let mut client = UnixStream::connect(&path).unwrap();
/// let mut buf = String::new();
/// client.read_to_string(&mut buf).unwrap();
/// assert_eq!(buf, "hi");
/// server.join().unwrap();
/// std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub struct UnixListener {
    sock: Socket,
    acceptor: Acceptor,
}

impl UnixListener {
    pub(crate) fn from_socket(sock: Socket) -> UnixListener {
        UnixListener { sock, acceptor: Acceptor::default() }
    }

    /// Binds a listener to the filesystem path `path` (which must not
    /// exist yet).
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixListener> {
        let (raw, len) = sockaddr::path_to_raw(path.as_ref())?;
        UnixListener::bind_raw(&raw, len)
    }

    /// Binds a listener to `socket_addr` (a path, or a Linux abstract
    /// name).
    pub fn bind_addr(socket_addr: &SocketAddr) -> io::Result<UnixListener> {
        let (raw, len) = sockaddr::addr_to_raw(socket_addr)?;
        UnixListener::bind_raw(&raw, len)
    }

    fn bind_raw(raw: &libc::sockaddr_storage, len: libc::socklen_t) -> io::Result<UnixListener> {
        let sock = Socket::new(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_NONBLOCK)?;
        sys::bind(sock.fd(), raw, len)?;
        sys::listen(sock.fd(), BACKLOG)?;
        Ok(UnixListener::from_socket(sock))
    }

    /// Waits for a connection and returns it with the peer's address
    /// (usually unnamed). The new stream is in blocking mode with no
    /// timeouts, as std's is.
    pub fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let (sock, raw, len) = self.acceptor.accept(&self.sock)?;
        let addr = sockaddr::from_raw(&raw, len)?;
        Ok((UnixStream::from_socket(sock), addr))
    }

    /// A new handle to the same listener (a duplicated fd), sharing its
    /// non-blocking mode.
    pub fn try_clone(&self) -> io::Result<UnixListener> {
        Ok(UnixListener::from_socket(self.sock.try_clone()?))
    }

    /// The local address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        let (raw, len) = self.sock.local_raw()?;
        sockaddr::from_raw(&raw, len)
    }

    /// Switches non-blocking mode: when on, `accept` with no connection
    /// pending fails at once with an error of kind `WouldBlock`.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.sock.set_nonblocking(nonblocking)
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.sock.take_error()
    }

    /// An endless iterator of [`accept`](Self::accept)ed connections
    /// (without their addresses).
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("UnixListener");
        d.field("fd", &super::StdFd(self.sock.fd()));
        if let Ok(addr) = self.local_addr() {
            d.field("local", &addr);
        }
        d.finish()
    }
}

fd_conversions!(UnixListener, std::os::unix::net::UnixListener);

impl<'a> IntoIterator for &'a UnixListener {
    type Item = io::Result<UnixStream>;
    type IntoIter = Incoming<'a>;

    fn into_iter(self) -> Incoming<'a> {
        self.incoming()
    }
}

/// The iterator [`UnixListener::incoming`] returns. It never ends.
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a UnixListener,
}

impl Iterator for Incoming<'_> {
    type Item = io::Result<UnixStream>;
    fn next(&mut self) -> Option<io::Result<UnixStream>> {
        Some(self.listener.accept().map(|(s, _)| s))
    }
}

impl FusedIterator for Incoming<'_> {}
