//! [`UnixDatagram`]: std's `UnixDatagram`, parking instead of blocking.

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
use crate::unix::sockaddr;

/// A Unix datagram socket, with the API of
/// [`std::os::unix::net::UnixDatagram`].
///
/// Receiving parks the calling coroutine until a datagram arrives. Sending
/// to a socket whose queue is full waits for room, as a blocking send
/// does. For a connected socket the kernel reports when room appears; for
/// [`send_to`](Self::send_to) an unconnected peer it does not, so the
/// sender polls, at most every 64 ms.
///
/// ```
/// use verde_net::unix::UnixDatagram;
///
/// let (a, b) = UnixDatagram::pair().unwrap();
/// let receiver = verde_runtime::spawn(move || {
///     let mut buf = [0; 8];
///     let n = b.recv(&mut buf).unwrap();
///     buf[..n].to_vec()
/// });
/// a.send(b"message").unwrap();
/// assert_eq!(receiver.join().unwrap(), b"message");
/// ```
pub struct UnixDatagram {
    sock: Socket,
}

impl UnixDatagram {
    pub(crate) fn from_socket(sock: Socket) -> UnixDatagram {
        UnixDatagram { sock }
    }

    /// A socket bound to the filesystem path `path`.
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixDatagram> {
        let (raw, len) = sockaddr::path_to_raw(path.as_ref())?;
        UnixDatagram::bind_raw(&raw, len)
    }

    /// A socket bound to `socket_addr` (a path, or a Linux abstract name).
    pub fn bind_addr(socket_addr: &SocketAddr) -> io::Result<UnixDatagram> {
        let (raw, len) = sockaddr::addr_to_raw(socket_addr)?;
        UnixDatagram::bind_raw(&raw, len)
    }

    fn bind_raw(raw: &libc::sockaddr_storage, len: libc::socklen_t) -> io::Result<UnixDatagram> {
        let sock = Socket::new(libc::AF_UNIX, libc::SOCK_DGRAM)?;
        sys::bind(sock.fd(), raw, len)?;
        Ok(UnixDatagram { sock })
    }

    /// A socket bound to no address.
    pub fn unbound() -> io::Result<UnixDatagram> {
        Ok(UnixDatagram { sock: Socket::new(libc::AF_UNIX, libc::SOCK_DGRAM)? })
    }

    /// An unnamed pair of connected sockets.
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = Socket::pair(libc::SOCK_DGRAM)?;
        Ok((UnixDatagram { sock: a }, UnixDatagram { sock: b }))
    }

    /// Connects the socket to the one bound at `path`: `send` and `recv`
    /// then use that peer.
    pub fn connect<P: AsRef<Path>>(&self, path: P) -> io::Result<()> {
        let (raw, len) = sockaddr::path_to_raw(path.as_ref())?;
        sys::connect(self.sock.fd(), &raw, len)
    }

    /// Connects the socket to `socket_addr`.
    pub fn connect_addr(&self, socket_addr: &SocketAddr) -> io::Result<()> {
        let (raw, len) = sockaddr::addr_to_raw(socket_addr)?;
        sys::connect(self.sock.fd(), &raw, len)
    }

    /// A new handle to the same socket (a duplicated fd), sharing its
    /// settings.
    pub fn try_clone(&self) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram { sock: self.sock.try_clone()? })
    }

    /// The local address of the socket.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        let (raw, len) = self.sock.local_raw()?;
        sockaddr::from_raw(&raw, len)
    }

    /// The address of the connected peer.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        let (raw, len) = self.sock.peer_raw()?;
        sockaddr::from_raw(&raw, len)
    }

    /// Receives a datagram into `buf`; returns its length and sender.
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.recv_from_flags(buf, 0)
    }

    /// `recv_from` with `flags` added to the call's.
    pub(crate) fn recv_from_flags(&self, buf: &mut [u8], flags: libc::c_int) -> io::Result<(usize, SocketAddr)> {
        let (n, raw, len) = self.sock.recv_from(buf, flags)?;
        Ok((n, sockaddr::from_raw(&raw, len)?))
    }

    /// Receives a datagram from the connected peer into `buf`.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.sock.read(buf)
    }

    /// Sends `buf` to the socket bound at `path`.
    pub fn send_to<P: AsRef<Path>>(&self, buf: &[u8], path: P) -> io::Result<usize> {
        let (raw, len) = sockaddr::path_to_raw(path.as_ref())?;
        self.send_to_raw(buf, &raw, len)
    }

    /// Sends `buf` to `socket_addr`.
    pub fn send_to_addr(&self, buf: &[u8], socket_addr: &SocketAddr) -> io::Result<usize> {
        let (raw, len) = sockaddr::addr_to_raw(socket_addr)?;
        self.send_to_raw(buf, &raw, len)
    }

    fn send_to_raw(&self, buf: &[u8], raw: &libc::sockaddr_storage, len: libc::socklen_t) -> io::Result<usize> {
        self.sock.poll_with(|fd| sys::sendto(fd, buf, libc::MSG_NOSIGNAL | crate::socket::DONTWAIT, raw, len))
    }

    /// Sends `buf` to the connected peer.
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.sock.write(buf)
    }

    /// Sets the read timeout: a receive that waits longer fails with an
    /// error of kind `WouldBlock`. `None` waits forever; a zero duration is
    /// an `InvalidInput` error.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.sock.set_timeout(Interest::Read, timeout)
    }

    /// Sets the write timeout, as [`set_read_timeout`](Self::set_read_timeout)
    /// does for receives.
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

impl fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("UnixDatagram");
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

fd_conversions!(UnixDatagram, std::os::unix::net::UnixDatagram);
