//! [`Listener`], a socket the server accepts on that the caller opened,
//! and [`ListenAddr`], where a server listens.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::os::unix::net::SocketAddr as UnixSocketAddr;

use verde_net::unix::UnixListener;
use verde_net::TcpListener;

/// A listening socket for [`ServerBuilder::listener`](crate::ServerBuilder::listener):
/// TCP or Unix, std's or verde's.
///
/// Converts with `From` (or `.into()`) from [`std::net::TcpListener`],
/// [`std::os::unix::net::UnixListener`] and their verde counterparts. The
/// server takes the socket over: it accepts in blocking style whatever
/// non-blocking mode the socket had, and closes it when `serve` returns.
///
/// ```
/// use verde_http::server::Listener;
///
/// let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let listener = Listener::from(std_listener);
/// assert!(matches!(listener, Listener::Tcp(_)));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub enum Listener {
    /// A TCP listener.
    Tcp(TcpListener),
    /// A Unix stream listener.
    Unix(UnixListener),
}

impl Listener {
    /// The address the socket listens on.
    pub fn local_addr(&self) -> io::Result<ListenAddr> {
        match self {
            Listener::Tcp(l) => l.local_addr().map(ListenAddr::Tcp),
            Listener::Unix(l) => l.local_addr().map(ListenAddr::Unix),
        }
    }

    /// Readies a socket the caller handed over for the acceptors: checks
    /// that it listens, and puts it in blocking style (a caller's
    /// non-blocking mode would make `accept` fail with `WouldBlock`
    /// instead of parking, and skip the back-off when out of fds).
    pub(crate) fn prepare(self) -> io::Result<Listener> {
        let fd = match &self {
            Listener::Tcp(l) => l.as_raw_fd(),
            Listener::Unix(l) => l.as_raw_fd(),
        };
        check_listening(fd)?;
        match &self {
            Listener::Tcp(l) => l.set_nonblocking(false)?,
            Listener::Unix(l) => l.set_nonblocking(false)?,
        }
        Ok(self)
    }
}

/// Fails unless `fd` is a stream socket in the listening state.
pub(crate) fn check_listening(fd: std::os::fd::RawFd) -> io::Result<()> {
    let opt = |name| verde_runtime::sys::getsockopt::<libc::c_int>(fd, libc::SOL_SOCKET, name);
    let kind = opt(libc::SO_TYPE)
        .map_err(|e| io::Error::new(e.kind(), format!("fd {fd} is not a socket the server can listen on: {e}")))?;
    if kind != libc::SOCK_STREAM {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("fd {fd} is not a stream socket")));
    }
    if opt(libc::SO_ACCEPTCONN)? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("fd {fd} is a stream socket that is not listening (no listen(2) call)"),
        ));
    }
    Ok(())
}

impl From<TcpListener> for Listener {
    fn from(l: TcpListener) -> Listener {
        Listener::Tcp(l)
    }
}

impl From<std::net::TcpListener> for Listener {
    fn from(l: std::net::TcpListener) -> Listener {
        Listener::Tcp(l.into())
    }
}

impl From<UnixListener> for Listener {
    fn from(l: UnixListener) -> Listener {
        Listener::Unix(l)
    }
}

impl From<std::os::unix::net::UnixListener> for Listener {
    fn from(l: std::os::unix::net::UnixListener) -> Listener {
        Listener::Unix(l.into())
    }
}

/// Where a server listens: a TCP address or a Unix socket address.
///
/// Displays as gunicorn prints its binds: `127.0.0.1:8080`, `[::1]:8080`,
/// `unix:/run/app.sock`, `unix:@name` for a Linux abstract name and
/// `unix:(unnamed)` for an unnamed socket.
///
/// ```
/// use verde_http::server::ListenAddr;
///
/// let addr = ListenAddr::Tcp("127.0.0.1:8080".parse().unwrap());
/// assert_eq!(addr.to_string(), "127.0.0.1:8080");
/// assert_eq!(addr.as_tcp(), Some("127.0.0.1:8080".parse().unwrap()));
/// assert!(addr.as_unix_path().is_none());
/// ```
#[derive(Clone, Debug)]
pub enum ListenAddr {
    /// A TCP listener's address.
    Tcp(SocketAddr),
    /// A Unix listener's address.
    Unix(UnixSocketAddr),
}

impl ListenAddr {
    /// The TCP address, if this is one.
    pub fn as_tcp(&self) -> Option<SocketAddr> {
        match self {
            ListenAddr::Tcp(a) => Some(*a),
            ListenAddr::Unix(_) => None,
        }
    }

    /// The filesystem path of a Unix listener bound to one.
    pub fn as_unix_path(&self) -> Option<&std::path::Path> {
        match self {
            ListenAddr::Tcp(_) => None,
            ListenAddr::Unix(a) => a.as_pathname(),
        }
    }
}

impl fmt::Display for ListenAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use std::os::linux::net::SocketAddrExt;
        match self {
            ListenAddr::Tcp(a) => write!(f, "{a}"),
            ListenAddr::Unix(a) => match (a.as_pathname(), a.as_abstract_name()) {
                (Some(path), _) => write!(f, "unix:{}", path.display()),
                (None, Some(name)) => write!(f, "unix:@{}", String::from_utf8_lossy(name)),
                (None, None) => f.write_str("unix:(unnamed)"),
            },
        }
    }
}
