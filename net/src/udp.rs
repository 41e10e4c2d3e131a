//! [`UdpSocket`]: std's `UdpSocket`, parking instead of blocking.

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use verde_runtime::io::Interest;
use verde_runtime::sys;

use crate::addr::{each_addr, ToSocketAddrs};
use crate::fd::fd_conversions;
use crate::sockaddr;
use crate::socket::Socket;

/// A UDP socket, with the API of [`std::net::UdpSocket`].
///
/// Receiving parks the calling coroutine until a datagram arrives (or the
/// read timeout passes: an error of kind `WouldBlock`, as in std); sending
/// parks only while the send buffer is full.
///
/// ```
/// use verde_net::UdpSocket;
///
/// let a = UdpSocket::bind("127.0.0.1:0").unwrap();
/// let b = UdpSocket::bind("127.0.0.1:0").unwrap();
/// let b_addr = b.local_addr().unwrap();
/// let receiver = verde_runtime::spawn(move || {
///     let mut buf = [0; 16];
///     let (n, from) = b.recv_from(&mut buf).unwrap();
///     (buf[..n].to_vec(), from)
/// });
/// a.send_to(b"datagram", b_addr).unwrap();
/// let (data, from) = receiver.join().unwrap();
/// assert_eq!(data, b"datagram");
/// assert_eq!(from, a.local_addr().unwrap());
/// ```
pub struct UdpSocket {
    sock: Socket,
}

impl UdpSocket {
    pub(crate) fn from_socket(sock: Socket) -> UdpSocket {
        UdpSocket { sock }
    }

    /// Binds a socket to `addr`, trying each address it resolves to in
    /// turn and returning the last error if none works.
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        each_addr(&addr, |a| {
            let sock = Socket::new(sockaddr::domain(a), libc::SOCK_DGRAM)?;
            let (raw, len) = sockaddr::to_raw(a);
            sys::bind(sock.fd(), &raw, len)?;
            Ok(UdpSocket { sock })
        })
    }

    /// Receives a datagram into `buf`; returns its length (the rest of a
    /// datagram longer than `buf` is discarded) and its sender.
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.recv_from_flags(buf, 0)
    }

    /// Like [`recv_from`](Self::recv_from), leaving the datagram queued.
    pub fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.recv_from_flags(buf, libc::MSG_PEEK)
    }

    /// `recv_from` with `flags` added to the call's.
    pub(crate) fn recv_from_flags(&self, buf: &mut [u8], flags: libc::c_int) -> io::Result<(usize, SocketAddr)> {
        let (n, raw, len) = self.sock.recv_from(buf, flags)?;
        Ok((n, sockaddr::from_raw(&raw, len)?))
    }

    /// Sends `buf` as one datagram to the first address `addr` resolves
    /// to. Returns the number of bytes sent.
    pub fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], addr: A) -> io::Result<usize> {
        let Some(addr) = addr.to_socket_addrs()?.next() else {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "no addresses to send data to"));
        };
        let (raw, len) = sockaddr::to_raw(&addr);
        self.sock.write_with(|fd| sys::sendto(fd, buf, crate::socket::DONTWAIT, &raw, len))
    }

    /// The address the socket is connected to (an error of kind
    /// `NotConnected` if none).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        let (raw, len) = self.sock.peer_raw()?;
        sockaddr::from_raw(&raw, len)
    }

    /// The local address the socket is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        let (raw, len) = self.sock.local_raw()?;
        sockaddr::from_raw(&raw, len)
    }

    /// A new handle to the same socket (a duplicated fd), sharing its
    /// settings.
    pub fn try_clone(&self) -> io::Result<UdpSocket> {
        Ok(UdpSocket { sock: self.sock.try_clone()? })
    }

    /// Sets the read timeout: a receive that waits longer fails with an
    /// error of kind `WouldBlock`, as std's does on Linux. `None` waits
    /// forever; a zero duration is an `InvalidInput` error.
    pub fn set_read_timeout(&self, dur: Option<Duration>) -> io::Result<()> {
        self.sock.set_timeout(Interest::Read, dur)
    }

    /// Sets the write timeout, as [`set_read_timeout`](Self::set_read_timeout)
    /// does for reads.
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

    /// Sets `SO_BROADCAST`.
    pub fn set_broadcast(&self, broadcast: bool) -> io::Result<()> {
        self.sock.set_opt(libc::SOL_SOCKET, libc::SO_BROADCAST, libc::c_int::from(broadcast))
    }

    /// Whether `SO_BROADCAST` is set.
    pub fn broadcast(&self) -> io::Result<bool> {
        self.bool_opt(libc::SOL_SOCKET, libc::SO_BROADCAST)
    }

    /// Sets `IP_MULTICAST_LOOP`.
    pub fn set_multicast_loop_v4(&self, multicast_loop_v4: bool) -> io::Result<()> {
        self.sock.set_opt(libc::IPPROTO_IP, libc::IP_MULTICAST_LOOP, libc::c_int::from(multicast_loop_v4))
    }

    /// Whether `IP_MULTICAST_LOOP` is set.
    pub fn multicast_loop_v4(&self) -> io::Result<bool> {
        self.bool_opt(libc::IPPROTO_IP, libc::IP_MULTICAST_LOOP)
    }

    /// Sets `IP_MULTICAST_TTL`.
    pub fn set_multicast_ttl_v4(&self, multicast_ttl_v4: u32) -> io::Result<()> {
        self.sock.set_opt(libc::IPPROTO_IP, libc::IP_MULTICAST_TTL, multicast_ttl_v4 as libc::c_int)
    }

    /// The `IP_MULTICAST_TTL`.
    pub fn multicast_ttl_v4(&self) -> io::Result<u32> {
        Ok(self.sock.opt::<libc::c_int>(libc::IPPROTO_IP, libc::IP_MULTICAST_TTL)? as u32)
    }

    /// Sets `IPV6_MULTICAST_LOOP`.
    pub fn set_multicast_loop_v6(&self, multicast_loop_v6: bool) -> io::Result<()> {
        self.sock.set_opt(libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_LOOP, libc::c_int::from(multicast_loop_v6))
    }

    /// Whether `IPV6_MULTICAST_LOOP` is set.
    pub fn multicast_loop_v6(&self) -> io::Result<bool> {
        self.bool_opt(libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_LOOP)
    }

    /// Sets `IP_TTL`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.sock.set_opt(libc::IPPROTO_IP, libc::IP_TTL, ttl as libc::c_int)
    }

    /// The `IP_TTL`.
    pub fn ttl(&self) -> io::Result<u32> {
        Ok(self.sock.opt::<libc::c_int>(libc::IPPROTO_IP, libc::IP_TTL)? as u32)
    }

    /// Joins the IPv4 multicast group `multiaddr` on the interface whose
    /// address is `interface` (`UNSPECIFIED` lets the system choose).
    pub fn join_multicast_v4(&self, multiaddr: &Ipv4Addr, interface: &Ipv4Addr) -> io::Result<()> {
        self.sock.set_opt(libc::IPPROTO_IP, libc::IP_ADD_MEMBERSHIP, ip_mreq(multiaddr, interface))
    }

    /// Joins the IPv6 multicast group `multiaddr` on interface index
    /// `interface` (0 lets the system choose).
    pub fn join_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.sock.set_opt(libc::IPPROTO_IPV6, libc::IPV6_ADD_MEMBERSHIP, ipv6_mreq(multiaddr, interface))
    }

    /// Leaves an IPv4 multicast group; see
    /// [`join_multicast_v4`](Self::join_multicast_v4).
    pub fn leave_multicast_v4(&self, multiaddr: &Ipv4Addr, interface: &Ipv4Addr) -> io::Result<()> {
        self.sock.set_opt(libc::IPPROTO_IP, libc::IP_DROP_MEMBERSHIP, ip_mreq(multiaddr, interface))
    }

    /// Leaves an IPv6 multicast group; see
    /// [`join_multicast_v6`](Self::join_multicast_v6).
    pub fn leave_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.sock.set_opt(libc::IPPROTO_IPV6, libc::IPV6_DROP_MEMBERSHIP, ipv6_mreq(multiaddr, interface))
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.sock.take_error()
    }

    /// Connects the socket to `addr` (the first address it resolves to
    /// that works): `send` and `recv` then use that peer, and datagrams
    /// from anyone else are dropped.
    pub fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        each_addr(&addr, |a| {
            let (raw, len) = sockaddr::to_raw(a);
            sys::connect(self.sock.fd(), &raw, len)
        })
    }

    /// Sends `buf` to the connected peer.
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.sock.write(buf)
    }

    /// Receives a datagram from the connected peer.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.sock.read(buf)
    }

    /// Like [`recv`](Self::recv), leaving the datagram queued.
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.sock.peek(buf)
    }

    /// Switches non-blocking mode: when on, an operation that would wait
    /// fails at once with an error of kind `WouldBlock`.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.sock.set_nonblocking(nonblocking)
    }

    fn bool_opt(&self, level: libc::c_int, name: libc::c_int) -> io::Result<bool> {
        Ok(self.sock.opt::<libc::c_int>(level, name)? != 0)
    }
}

fn ip_mreq(multiaddr: &Ipv4Addr, interface: &Ipv4Addr) -> libc::ip_mreq {
    libc::ip_mreq {
        imr_multiaddr: libc::in_addr { s_addr: u32::from_ne_bytes(multiaddr.octets()) },
        imr_interface: libc::in_addr { s_addr: u32::from_ne_bytes(interface.octets()) },
    }
}

fn ipv6_mreq(multiaddr: &Ipv6Addr, interface: u32) -> libc::ipv6_mreq {
    libc::ipv6_mreq {
        ipv6mr_multiaddr: libc::in6_addr { s6_addr: multiaddr.octets() },
        ipv6mr_interface: interface as libc::c_uint,
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("UdpSocket");
        if let Ok(addr) = self.local_addr() {
            d.field("addr", &addr);
        }
        d.field("fd", &self.sock.fd()).finish()
    }
}

fd_conversions!(UdpSocket, std::net::UdpSocket);
