//! gevent's `StreamServer`: a listener whose every connection is handled by
//! a coroutine of its own.

use std::io;
use std::marker::PhantomData;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;

use verde_runtime::pool::Pool;
use verde_runtime::SpawnBackoff;

use super::{wait_out, Handlers, Kind, Server};
use crate::unix::{self, UnixListener, UnixStream};
use crate::{SocketAddr, TcpListener, TcpStream};

/// A listening socket a [`StreamServer`] accepts on: a [`TcpListener`] or a
/// [`UnixListener`].
pub trait ServerListener: AsRawFd + Send + Sync + 'static + sealed::Sealed {
    /// The connected socket `accept` returns.
    type Stream: Send + 'static;
    /// The peer's address.
    type Addr: Send + 'static;

    /// Accepts one connection, as the listener's own `accept`.
    fn accept_connection(&self) -> io::Result<(Self::Stream, Self::Addr)>;
}

impl ServerListener for TcpListener {
    type Stream = TcpStream;
    type Addr = SocketAddr;

    fn accept_connection(&self) -> io::Result<(TcpStream, SocketAddr)> {
        self.accept()
    }
}

impl ServerListener for UnixListener {
    type Stream = UnixStream;
    type Addr = unix::SocketAddr;

    fn accept_connection(&self) -> io::Result<(UnixStream, unix::SocketAddr)> {
        self.accept()
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::TcpListener {}
    impl Sealed for crate::unix::UnixListener {}
}

/// The handler of a [`StreamServer`] on `L`.
type Handle<L> = dyn Fn(<L as ServerListener>::Stream, <L as ServerListener>::Addr) + Send + Sync;

/// The kind of server that spawns a handler per connection accepted on `L`.
pub(crate) struct Streams<L>(PhantomData<fn() -> L>);

impl<L: ServerListener> Kind for Streams<L> {
    type Socket = L;
    type Handle = Handle<L>;
    const NAME: &'static str = "StreamServer";

    fn serve(listener: &Arc<L>, handle: &Arc<Handle<L>>, handlers: &Handlers) -> io::Error {
        let mut backoff = SpawnBackoff::new();
        loop {
            match listener.accept_connection() {
                Ok((stream, addr)) => {
                    let handle = Arc::clone(handle);
                    // Parks while a pool is full: the server stops accepting.
                    drop(backoff.after(handlers.spawn(move || handle(stream, addr)), Self::NAME, "connection"));
                }
                Err(e) => {
                    if let Some(failure) = wait_out(&**listener, e, is_transient) {
                        return failure;
                    }
                }
            }
        }
    }
}

/// gevent's `StreamServer`: accepts connections on a listener and runs the
/// handler, plain blocking code, in a coroutine per connection.
///
/// * [`start`](Self::start) begins accepting in a coroutine of its own and
///   returns; [`serve_forever`](Self::serve_forever)
///   starts and then parks until the server is stopped.
/// * The handlers run in a [`Group`](verde_runtime::pool::Group), or in
///   a [`Pool`] given with [`with_pool`](Self::with_pool) (gevent's
///   `spawn=Pool(n)`): while the pool is full the server accepts nothing
///   more, and new clients wait in the kernel's backlog.
/// * [`stop`](Self::stop) closes the listener, waits for the handlers up to
///   a timeout, and kills those still running (they unwind from their
///   blocking call, destructors run). The server is then closed for good.
/// * A handler that panics ends its connection only; the panic is reported
///   through the `log` crate, as any coroutine's that nobody joins, and the
///   server keeps accepting. When the listener runs out of file
///   descriptors it backs off and retries (see [`TcpListener`]). A
///   listener in non-blocking mode is waited on until it is readable.
/// * When a handler's coroutine cannot be created (memory for stacks is
///   out), that connection is closed, the error, which names the limit,
///   is logged once, and accepting pauses (10 ms, doubling up to 1 s)
///   until running handlers free their stacks, as gevent's servers do
///   when `spawn` fails. The server never stops over it.
/// * A `StreamServer` is a cheap handle: clones share the server, so a
///   handler, or any coroutine or thread, can stop it.
///
/// All of it runs on one hub, like a gevent process. For every core, run a
/// server per hub of a [`Runtime`](verde_runtime::Runtime), each on its own
/// [`TcpListener::bind_reuse_port`] socket, or one listener shared through
/// [`try_clone`](TcpListener::try_clone).
///
/// ```
/// use std::io::{self, Read, Write};
/// use verde_net::{StreamServer, TcpStream};
///
/// // An echo server.
/// let server = StreamServer::bind("127.0.0.1:0", |stream: TcpStream, _peer| {
///     let _ = io::copy(&mut &stream, &mut &stream);
/// })?;
/// server.start()?;
/// let mut client = TcpStream::connect(server.local_addr()?)?;
/// client.write_all(b"hello")?;
/// let mut echoed = [0u8; 5];
/// client.read_exact(&mut echoed)?;
/// assert_eq!(&echoed, b"hello");
/// drop(client);
/// server.stop(None);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct StreamServer<L: ServerListener = TcpListener> {
    server: Server<Streams<L>>,
}

impl<L: ServerListener> Clone for StreamServer<L> {
    fn clone(&self) -> Self {
        StreamServer { server: self.server.clone() }
    }
}

impl StreamServer<TcpListener> {
    /// Binds a TCP listener to `addr` (as [`TcpListener::bind`]) and makes
    /// a server of it.
    ///
    /// # Errors
    ///
    /// Those of [`TcpListener::bind`].
    pub fn bind<A, H>(addr: A, handle: H) -> io::Result<StreamServer<TcpListener>>
    where
        A: crate::ToSocketAddrs,
        H: Fn(TcpStream, SocketAddr) + Send + Sync + 'static,
    {
        Ok(StreamServer::new(TcpListener::bind(addr)?, handle))
    }

    /// The address the listener is bound to, while it is open.
    ///
    /// # Errors
    ///
    /// Those of [`TcpListener::local_addr`], and `NotConnected` once the
    /// server is closed.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.server.with_socket(TcpListener::local_addr)
    }
}

impl StreamServer<UnixListener> {
    /// The address the listener is bound to, while it is open.
    ///
    /// # Errors
    ///
    /// Those of [`UnixListener::local_addr`], and `NotConnected` once the
    /// server is closed.
    pub fn local_addr(&self) -> io::Result<unix::SocketAddr> {
        self.server.with_socket(UnixListener::local_addr)
    }
}

impl<L: ServerListener> StreamServer<L> {
    /// A server that will accept on `listener` and call `handle` with each
    /// connection and its peer's address, in a coroutine of its own.
    /// Nothing is accepted before [`start`](Self::start) or
    /// [`serve_forever`](Self::serve_forever).
    pub fn new<H>(listener: L, handle: H) -> StreamServer<L>
    where
        H: Fn(L::Stream, L::Addr) + Send + Sync + 'static,
    {
        let handle: Arc<Handle<L>> = Arc::new(handle);
        StreamServer { server: Server::new(listener, handle) }
    }

    /// Runs the handlers in `pool`, so that at most its size run at once
    /// (gevent's `StreamServer(listener, handle, spawn=pool)`). Call it
    /// before starting the server, on the handle `new` returned.
    ///
    /// # Panics
    ///
    /// If the server was cloned or started already.
    pub fn with_pool(self, pool: Pool) -> StreamServer<L> {
        StreamServer { server: self.server.with_pool(pool) }
    }

    /// Starts accepting, in a coroutine of its own, and returns at once
    /// (gevent's `start`). The acceptor goes where [`verde_runtime::spawn`]
    /// puts a coroutine (the calling thread's hub, unless the thread
    /// entered a [`Runtime`](verde_runtime::Runtime)), and the handlers
    /// run on the acceptor's hub.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the server was started already, or was stopped;
    /// the error of [`Builder::spawn`](verde_runtime::Builder::spawn) if no coroutine can be created.
    pub fn start(&self) -> io::Result<()> {
        self.server.start()
    }

    /// Starts the server if it is not running yet, then parks until it is
    /// stopped (gevent's `serve_forever`): by [`stop`](Self::stop) from a
    /// handler or another coroutine or thread, by a kill or a
    /// [`Timeout`](verde_runtime::Timeout) of the caller, or by a failure
    /// of the listener. A kill or a Timeout stops the server, waiting
    /// [`DEFAULT_STOP_TIMEOUT`](super::DEFAULT_STOP_TIMEOUT) for the handlers, before it unwinds on.
    ///
    /// # Errors
    ///
    /// Those of [`start`](Self::start), and the error that made the
    /// listener fail (other than the transient ones, `ECONNABORTED` and
    /// the like, which the acceptor skips, and running out of file
    /// descriptors, which it waits out).
    pub fn serve_forever(&self) -> io::Result<()> {
        self.server.serve_forever()
    }

    /// Stops the server (gevent's `stop`): closes the listener, waits for
    /// the running handlers to finish for up to `timeout`
    /// ([`DEFAULT_STOP_TIMEOUT`](super::DEFAULT_STOP_TIMEOUT) for `None`), then kills the ones left and
    /// waits for them to unwind. [`serve_forever`](Self::serve_forever)
    /// then returns. Stopping a server that is not running closes it;
    /// stopping it again does nothing more.
    ///
    /// Called by one of the server's own handlers, which cannot wait for
    /// itself, it closes the listener and returns; a coroutine of its own
    /// then waits for the handlers, the caller included, and kills those
    /// left when the timeout passes.
    pub fn stop(&self, timeout: Option<Duration>) {
        self.server.stop(timeout);
    }

    /// Whether the server is accepting connections.
    pub fn is_started(&self) -> bool {
        self.server.is_started()
    }

    /// Whether the server was stopped (or failed to start); a closed server
    /// cannot be started again.
    pub fn is_closed(&self) -> bool {
        self.server.is_closed()
    }

    /// How many handlers are running.
    pub fn connections(&self) -> usize {
        self.server.handlers_running()
    }
}

/// Whether an `accept` error concerns only the connection being accepted,
/// so the next one may succeed (accept(2) asks to retry on these).
fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(
            libc::ECONNABORTED
                | libc::EPROTO
                | libc::EPERM
                | libc::EINTR
                | libc::ENETDOWN
                | libc::ENOPROTOOPT
                | libc::EHOSTDOWN
                | libc::ENONET
                | libc::EHOSTUNREACH
                | libc::EOPNOTSUPP
                | libc::ENETUNREACH
        )
    )
}
