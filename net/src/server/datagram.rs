//! gevent's `DatagramServer`: a datagram socket whose every datagram is
//! handled by a coroutine of its own.

use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;

use verde_runtime::pool::Pool;
use verde_runtime::SpawnBackoff;

use super::{wait_out, Handlers, Kind, Server};
use crate::unix::{self, UnixDatagram};
use crate::{SocketAddr, UdpSocket};

/// The largest UDP datagram: its length field has 16 bits.
const LARGEST_UDP: usize = 1 << 16;

/// A datagram socket a [`DatagramServer`] receives on: a [`UdpSocket`] or a
/// [`UnixDatagram`].
pub trait ServerSocket: AsRawFd + Send + Sync + 'static + sealed::Sealed {
    /// The sender's address.
    type Addr: fmt::Debug + Send + 'static;

    /// Receives one datagram into `buf`, as `recv_from`, but returns the
    /// datagram's whole length (`MSG_TRUNC`) even when `buf` was too short
    /// for it and its tail was discarded.
    fn recv_datagram(&self, buf: &mut [u8]) -> io::Result<(usize, Self::Addr)>;
}

impl ServerSocket for UdpSocket {
    type Addr = SocketAddr;

    fn recv_datagram(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.recv_from_flags(buf, libc::MSG_TRUNC)
    }
}

impl ServerSocket for UnixDatagram {
    type Addr = unix::SocketAddr;

    fn recv_datagram(&self, buf: &mut [u8]) -> io::Result<(usize, unix::SocketAddr)> {
        self.recv_from_flags(buf, libc::MSG_TRUNC)
    }
}

mod sealed {
    pub trait Sealed {
        /// Whether a datagram is bounded by its sender's send buffer (a
        /// Unix socket's) rather than by UDP's 16-bit length field.
        const BOUNDED_BY_SENDER: bool;
    }
    impl Sealed for crate::UdpSocket {
        const BOUNDED_BY_SENDER: bool = false;
    }
    impl Sealed for crate::unix::UnixDatagram {
        const BOUNDED_BY_SENDER: bool = true;
    }
}

/// The handler of a [`DatagramServer`] on `S`.
type Handle<S> = dyn Fn(&S, Vec<u8>, <S as ServerSocket>::Addr) + Send + Sync;

/// The kind of server that spawns a handler per datagram received on `S`.
pub(crate) struct Datagrams<S>(PhantomData<fn() -> S>);

impl<S: ServerSocket> Kind for Datagrams<S> {
    type Socket = S;
    type Handle = Handle<S>;
    const NAME: &'static str = "DatagramServer";

    fn serve(socket: &Arc<S>, handle: &Arc<Handle<S>>, handlers: &Handlers) -> io::Error {
        let mut buf = vec![0u8; largest_datagram(S::BOUNDED_BY_SENDER)];
        let mut backoff = SpawnBackoff::new();
        loop {
            match socket.recv_datagram(&mut buf) {
                Ok((n, sender)) if n > buf.len() => log::error!(
                    "verde: DatagramServer dropped a datagram of {n} bytes from {sender:?}: it receives at most {} \
                     (twice net.core.wmem_max, the most an unprivileged sender's SO_SNDBUF allows)",
                    buf.len()
                ),
                Ok((n, sender)) => {
                    let data = buf[..n].to_vec();
                    let (socket, handle) = (Arc::clone(socket), Arc::clone(handle));
                    // Parks while a pool is full: datagrams wait in the
                    // socket's receive buffer meanwhile.
                    drop(backoff.after(handlers.spawn(move || handle(&socket, data, sender)), Self::NAME, "datagram"));
                }
                Err(e) => {
                    if let Some(failure) = wait_out(&**socket, e, is_transient) {
                        return failure;
                    }
                }
            }
        }
    }
}

/// The size of a buffer no datagram outgrows: 64 KiB for UDP. A Unix
/// datagram is bounded by its sender's `SO_SNDBUF` instead, which an
/// unprivileged process can raise to twice `net.core.wmem_max`. The buffer
/// is allocated zeroed, so its pages cost memory only once a datagram that
/// large arrives.
fn largest_datagram(bounded_by_sender: bool) -> usize {
    if !bounded_by_sender {
        return LARGEST_UDP;
    }
    let wmem_max = std::fs::read_to_string("/proc/sys/net/core/wmem_max")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok())
        .unwrap_or(0);
    wmem_max.saturating_mul(2).max(LARGEST_UDP)
}

/// Whether a receive error concerns one datagram, or an earlier send
/// (the ICMP errors a connected UDP socket reports), so that the next
/// receive may succeed.
fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(
            libc::ECONNREFUSED
                | libc::ECONNRESET
                | libc::EHOSTUNREACH
                | libc::ENETUNREACH
                | libc::EHOSTDOWN
                | libc::ENETDOWN
                | libc::ENONET
                | libc::EPROTO
                | libc::ETIMEDOUT
                | libc::EINTR
        )
    )
}

/// gevent's `DatagramServer`: receives datagrams on a socket and runs the
/// handler, plain blocking code, in a coroutine per datagram.
///
/// The handler gets the server's socket (gevent's `self.socket`, to reply
/// with `send_to`), the datagram, whole, and its sender's address.
/// Otherwise the server lives as a [`StreamServer`](super::StreamServer)
/// does:
///
/// * [`start`](Self::start), [`serve_forever`](Self::serve_forever) and
///   [`stop`](Self::stop) keep gevent's names and behaviour; a stopped
///   server is closed for good.
/// * The handlers run in a group, or in a [`Pool`] given with
///   [`with_pool`](Self::with_pool): while the pool is full the server
///   receives nothing more, and datagrams wait in the socket's receive
///   buffer (which, when full, drops new ones, as UDP does).
/// * A handler that panics ends only its own coroutine; the panic is
///   reported through the `log` crate. A handler whose coroutine cannot
///   be created costs its datagram, and a pause, as a `StreamServer`'s
///   connection.
/// * Errors that concern one datagram, such as the `ECONNREFUSED` a
///   connected UDP socket reports after its peer was gone, are skipped;
///   another error ends the server, and `serve_forever` returns it. A
///   socket in non-blocking mode, or with a read timeout, is waited on
///   until it is readable.
/// * Unlike gevent, which reads 8 KiB, every datagram arrives whole: the
///   acceptor's buffer fits the largest datagram the socket can carry.
///
/// ```
/// use verde_net::{DatagramServer, UdpSocket};
///
/// // Replies to each datagram with its length.
/// let server = DatagramServer::bind("127.0.0.1:0", |socket: &UdpSocket, data: Vec<u8>, sender| {
///     let _ = socket.send_to(format!("{} bytes", data.len()).as_bytes(), sender);
/// })?;
/// server.start()?;
/// let client = UdpSocket::bind("127.0.0.1:0")?;
/// client.send_to(b"hello", server.local_addr()?)?;
/// let mut reply = [0u8; 16];
/// let (n, _) = client.recv_from(&mut reply)?;
/// assert_eq!(&reply[..n], b"5 bytes");
/// server.stop(None);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct DatagramServer<S: ServerSocket = UdpSocket> {
    server: Server<Datagrams<S>>,
}

impl<S: ServerSocket> Clone for DatagramServer<S> {
    fn clone(&self) -> Self {
        DatagramServer { server: self.server.clone() }
    }
}

impl DatagramServer<UdpSocket> {
    /// Binds a UDP socket to `addr` (as [`UdpSocket::bind`]) and makes a
    /// server of it.
    ///
    /// # Errors
    ///
    /// Those of [`UdpSocket::bind`].
    pub fn bind<A, H>(addr: A, handle: H) -> io::Result<DatagramServer<UdpSocket>>
    where
        A: crate::ToSocketAddrs,
        H: Fn(&UdpSocket, Vec<u8>, SocketAddr) + Send + Sync + 'static,
    {
        Ok(DatagramServer::new(UdpSocket::bind(addr)?, handle))
    }

    /// The address the socket is bound to, while it is open.
    ///
    /// # Errors
    ///
    /// Those of [`UdpSocket::local_addr`], and `NotConnected` once the
    /// server is closed.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.server.with_socket(UdpSocket::local_addr)
    }
}

impl DatagramServer<UnixDatagram> {
    /// The address the socket is bound to, while it is open.
    ///
    /// # Errors
    ///
    /// Those of [`UnixDatagram::local_addr`], and `NotConnected` once the
    /// server is closed.
    pub fn local_addr(&self) -> io::Result<unix::SocketAddr> {
        self.server.with_socket(UnixDatagram::local_addr)
    }
}

impl<S: ServerSocket> DatagramServer<S> {
    /// A server that will receive on `socket` and call `handle` with the
    /// socket, each datagram and its sender's address, in a coroutine of
    /// its own. Nothing is received before [`start`](Self::start) or
    /// [`serve_forever`](Self::serve_forever).
    pub fn new<H>(socket: S, handle: H) -> DatagramServer<S>
    where
        H: Fn(&S, Vec<u8>, S::Addr) + Send + Sync + 'static,
    {
        let handle: Arc<Handle<S>> = Arc::new(handle);
        DatagramServer { server: Server::new(socket, handle) }
    }

    /// Runs the handlers in `pool`, so that at most its size run at once
    /// (gevent's `spawn=pool`). Call it before starting the server, on the
    /// handle `new` returned.
    ///
    /// # Panics
    ///
    /// If the server was cloned or started already.
    pub fn with_pool(self, pool: Pool) -> DatagramServer<S> {
        DatagramServer { server: self.server.with_pool(pool) }
    }

    /// Starts receiving, in a coroutine of its own, and returns at once;
    /// see [`StreamServer::start`](super::StreamServer::start).
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the server was started already, or was stopped;
    /// the error of [`Builder::spawn`](verde_runtime::Builder::spawn) if no
    /// coroutine can be created.
    pub fn start(&self) -> io::Result<()> {
        self.server.start()
    }

    /// Starts the server if it is not running yet, then parks until it is
    /// stopped; see
    /// [`StreamServer::serve_forever`](super::StreamServer::serve_forever).
    ///
    /// # Errors
    ///
    /// Those of [`start`](Self::start), and the error that made the socket
    /// fail.
    pub fn serve_forever(&self) -> io::Result<()> {
        self.server.serve_forever()
    }

    /// Stops the server: closes the socket, waits for the running handlers
    /// for up to `timeout` ([`DEFAULT_STOP_TIMEOUT`](super::DEFAULT_STOP_TIMEOUT)
    /// for `None`), then kills the ones left; see
    /// [`StreamServer::stop`](super::StreamServer::stop).
    pub fn stop(&self, timeout: Option<Duration>) {
        self.server.stop(timeout);
    }

    /// Whether the server is receiving.
    pub fn is_started(&self) -> bool {
        self.server.is_started()
    }

    /// Whether the server was stopped (or failed to start); a closed server
    /// cannot be started again.
    pub fn is_closed(&self) -> bool {
        self.server.is_closed()
    }

    /// How many handlers are running.
    pub fn handlers_running(&self) -> usize {
        self.server.handlers_running()
    }
}
