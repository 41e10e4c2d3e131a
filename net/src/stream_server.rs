//! gevent's `StreamServer`: a listener whose every connection is handled by
//! a coroutine of its own.

use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use verde_runtime::event::Event;
use verde_runtime::pool::{Group, Pool};
use verde_runtime::{Builder, JoinHandle};

use crate::unix::{self, UnixListener, UnixStream};
use crate::{SocketAddr, TcpListener, TcpStream};

/// How long [`StreamServer::stop`] waits for the handlers before killing
/// them when given no timeout: one second, gevent's `stop_timeout`.
pub const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(1);

/// A listening socket a [`StreamServer`] accepts on: a [`TcpListener`] or a
/// [`UnixListener`].
pub trait ServerListener: Send + Sync + 'static + sealed::Sealed {
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

/// Where a server's handlers run: a [`Group`] (no limit) or a [`Pool`].
#[derive(Clone)]
enum Handlers {
    Group(Group),
    Pool(Pool),
}

impl Handlers {
    fn spawn(&self, f: impl FnOnce() + Send + 'static) -> JoinHandle<()> {
        match self {
            Handlers::Group(g) => g.spawn(f),
            Handlers::Pool(p) => p.spawn(f),
        }
    }

    fn len(&self) -> usize {
        match self {
            Handlers::Group(g) => g.len(),
            Handlers::Pool(p) => p.len(),
        }
    }

    fn join_timeout(&self, timeout: Duration) -> bool {
        match self {
            Handlers::Group(g) => g.join_timeout(timeout),
            Handlers::Pool(p) => p.join_timeout(timeout),
        }
    }

    fn kill(&self) {
        match self {
            Handlers::Group(g) => g.kill(),
            Handlers::Pool(p) => p.kill(),
        }
    }

    /// Whether the calling coroutine is one of the handlers.
    fn includes_caller(&self) -> bool {
        let me = verde_runtime::current().id();
        let members = match self {
            Handlers::Group(g) => g.coroutines(),
            Handlers::Pool(p) => p.coroutines(),
        };
        members.iter().any(|c| c.id() == me)
    }
}

/// A server's connection handler.
type Handle<L> = Arc<dyn Fn(<L as ServerListener>::Stream, <L as ServerListener>::Addr) + Send + Sync>;

/// Where a server is in its life.
enum Phase<L: ServerListener> {
    /// Not started: the listener and the handler wait here for `start`.
    Ready(L, Handle<L>),
    /// Accepting: the acceptor coroutine shares the listener, and holds
    /// the handler, a clone of which each connection's coroutine holds.
    Serving(JoinHandle<()>, Arc<L>),
    /// Stopped, or being stopped: the listener is closed, and the handler
    /// is dropped once the last connection's coroutine ends. A handler
    /// that holds a clone of its own server thus keeps it alive only
    /// while the server runs.
    Closed,
}

/// What every clone of a server shares.
struct Shared<L: ServerListener> {
    phase: Mutex<Phase<L>>,
    handlers: Handlers,
    /// Set once the server is closed and its handlers are gone.
    closed: Event,
    /// Why the acceptor stopped on its own, for `serve_forever`.
    failure: Mutex<Option<io::Error>>,
}

impl<L: ServerListener> Shared<L> {
    fn phase(&self) -> MutexGuard<'_, Phase<L>> {
        self.phase.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// gevent's `StreamServer`: accepts connections on a listener and runs the
/// handler, plain blocking code, in a coroutine per connection.
///
/// * [`start`](Self::start) begins accepting in a coroutine of its own and
///   returns; [`serve_forever`](Self::serve_forever)
///   starts and then parks until the server is stopped.
/// * The handlers run in a [`Group`], or in a [`Pool`] given with
///   [`with_pool`](Self::with_pool) (gevent's `spawn=Pool(n)`): while the
///   pool is full the server accepts nothing more, and new clients wait in
///   the kernel's backlog.
/// * [`stop`](Self::stop) closes the listener, waits for the handlers up to
///   a timeout, and kills those still running (they unwind from their
///   blocking call, destructors run). The server is then closed for good.
/// * A handler that panics ends its connection only; the panic is reported
///   through the `log` crate, as any coroutine's that nobody joins, and the
///   server keeps accepting. When the listener runs out of file
///   descriptors it backs off and retries (see [`TcpListener`]).
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
    shared: Arc<Shared<L>>,
}

impl<L: ServerListener> Clone for StreamServer<L> {
    fn clone(&self) -> Self {
        StreamServer { shared: Arc::clone(&self.shared) }
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
        self.with_listener(TcpListener::local_addr)
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
        self.with_listener(UnixListener::local_addr)
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
        StreamServer {
            shared: Arc::new(Shared {
                phase: Mutex::new(Phase::Ready(listener, Arc::new(handle))),
                handlers: Handlers::Group(Group::new()),
                closed: Event::new(),
                failure: Mutex::new(None),
            }),
        }
    }

    /// Runs the handlers in `pool`, so that at most its size run at once
    /// (gevent's `StreamServer(listener, handle, spawn=pool)`). Call it
    /// before starting the server, on the handle `new` returned.
    ///
    /// # Panics
    ///
    /// If the server was cloned or started already.
    pub fn with_pool(mut self, pool: Pool) -> StreamServer<L> {
        let shared = Arc::get_mut(&mut self.shared).expect("with_pool is called before the server is cloned");
        assert!(
            matches!(*shared.phase.get_mut().unwrap_or_else(PoisonError::into_inner), Phase::Ready(..)),
            "with_pool is called before the server starts"
        );
        shared.handlers = Handlers::Pool(pool);
        self
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
    /// the error of [`Builder::spawn`] if no coroutine can be created.
    pub fn start(&self) -> io::Result<()> {
        let mut phase = self.shared.phase();
        let (listener, handle) = match std::mem::replace(&mut *phase, Phase::Closed) {
            Phase::Ready(listener, handle) => (Arc::new(listener), handle),
            other => {
                let started = matches!(other, Phase::Serving(..));
                *phase = other;
                let what = if started { "started already" } else { "closed" };
                return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("the StreamServer is {what}")));
            }
        };
        let shared = Arc::clone(&self.shared);
        let accepting = Arc::clone(&listener);
        let acceptor =
            Builder::new().name("StreamServer acceptor".into()).spawn(move || accept_loop(shared, accepting, &handle));
        match acceptor {
            Ok(handle) => {
                *phase = Phase::Serving(handle, listener);
                Ok(())
            }
            Err(e) => {
                drop(phase);
                self.shared.closed.set();
                Err(e)
            }
        }
    }

    /// Starts the server if it is not running yet, then parks until it is
    /// stopped (gevent's `serve_forever`): by [`stop`](Self::stop) from a
    /// handler or another coroutine or thread, by a kill or a
    /// [`Timeout`](verde_runtime::Timeout) of the caller, or by a failure
    /// of the listener. A kill or a Timeout stops the server, waiting
    /// [`DEFAULT_STOP_TIMEOUT`] for the handlers, before it unwinds on.
    ///
    /// # Errors
    ///
    /// Those of [`start`](Self::start), and the error that made the
    /// listener fail (other than the transient ones, `ECONNABORTED` and
    /// the like, which the acceptor skips, and running out of file
    /// descriptors, which it waits out).
    pub fn serve_forever(&self) -> io::Result<()> {
        if matches!(*self.shared.phase(), Phase::Ready(..)) {
            self.start()?;
        }
        /// Stops the server if the wait unwinds (gevent's `finally`).
        struct StopOnUnwind<'a, L: ServerListener>(&'a StreamServer<L>);
        impl<L: ServerListener> Drop for StopOnUnwind<'_, L> {
            fn drop(&mut self) {
                self.0.stop(None);
            }
        }
        let guard = StopOnUnwind(self);
        self.shared.closed.wait(None);
        std::mem::forget(guard);
        match self.shared.failure.lock().unwrap_or_else(PoisonError::into_inner).take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Stops the server (gevent's `stop`): closes the listener, waits for
    /// the running handlers to finish for up to `timeout`
    /// ([`DEFAULT_STOP_TIMEOUT`] for `None`), then kills the ones left and
    /// waits for them to unwind. [`serve_forever`](Self::serve_forever)
    /// then returns. Stopping a server that is not running closes it;
    /// stopping it again does nothing more.
    ///
    /// Called by one of the server's own handlers, which cannot wait for
    /// itself, it closes the listener and returns; a coroutine of its own
    /// then waits for the handlers, the caller included, and kills those
    /// left when the timeout passes.
    pub fn stop(&self, timeout: Option<Duration>) {
        let by_handler = self.shared.handlers.includes_caller();
        let previous = std::mem::replace(&mut *self.shared.phase(), Phase::Closed);
        let acceptor = match previous {
            // The listener closes once the acceptor, joined below, has let
            // go of it too: before the handlers are waited for.
            Phase::Serving(acceptor, listener) => {
                drop(listener);
                Some(acceptor)
            }
            Phase::Ready(..) => None,
            Phase::Closed => {
                if !by_handler {
                    self.shared.closed.wait(None);
                }
                return;
            }
        };
        if let Some(acceptor) = acceptor {
            // It ends killed: had it ended on its own, it would have closed
            // the server itself (`EndOnItsOwn`).
            acceptor.kill();
        }
        let timeout = timeout.unwrap_or(DEFAULT_STOP_TIMEOUT);
        if by_handler {
            let server = self.clone();
            verde_runtime::spawn(move || server.end_handlers(timeout));
        } else {
            self.end_handlers(timeout);
        }
    }

    /// The end of a stop: waits for the handlers for up to `timeout`, kills
    /// the ones left, and marks the server closed.
    fn end_handlers(&self, timeout: Duration) {
        let handlers = &self.shared.handlers;
        if !handlers.join_timeout(timeout) {
            log::warn!("verde: StreamServer stopping: killing {} handler(s) still running", handlers.len());
            handlers.kill();
        }
        self.shared.closed.set();
    }

    /// Whether the server is accepting connections.
    pub fn is_started(&self) -> bool {
        matches!(*self.shared.phase(), Phase::Serving(..))
    }

    /// Whether the server was stopped (or failed to start); a closed server
    /// cannot be started again.
    pub fn is_closed(&self) -> bool {
        matches!(*self.shared.phase(), Phase::Closed)
    }

    /// How many handlers are running.
    pub fn connections(&self) -> usize {
        self.shared.handlers.len()
    }

    fn with_listener<T>(&self, f: impl FnOnce(&L) -> io::Result<T>) -> io::Result<T> {
        match &*self.shared.phase() {
            Phase::Ready(listener, _) => f(listener),
            Phase::Serving(_, listener) => f(listener),
            Phase::Closed => Err(io::ErrorKind::NotConnected.into()),
        }
    }
}

/// The acceptor: accepts until it is killed (by `stop`) or the listener
/// fails.
fn accept_loop<L: ServerListener>(shared: Arc<Shared<L>>, listener: Arc<L>, handle: &Handle<L>) {
    let mut acceptor = EndOnItsOwn { shared, listener: Some(listener), failure: None };
    loop {
        let accepted = acceptor.listener.as_deref().expect("the acceptor holds the listener").accept_connection();
        match accepted {
            Ok((stream, addr)) => {
                let handle = Arc::clone(handle);
                // Parks while a pool is full: the server stops accepting.
                drop(acceptor.shared.handlers.spawn(move || handle(stream, addr)));
            }
            Err(e) if is_transient(&e) => {}
            Err(e) => {
                log::error!("verde: StreamServer stopped: accept failed: {e}");
                acceptor.failure = Some(e);
                return;
            }
        }
    }
}

/// Closes the server when its acceptor ends on its own: the listener
/// failed, or the acceptor panicked (a handler's coroutine could not be
/// created: the spawn panics naming the limit it hit). It does what `stop`
/// does, from inside the acceptor, which `stop` would kill and join. After
/// `stop`, which marks the server closed before it kills the acceptor, it
/// does nothing.
struct EndOnItsOwn<L: ServerListener> {
    shared: Arc<Shared<L>>,
    /// Let go of first, so that the listener is closed before the handlers
    /// are waited for.
    listener: Option<Arc<L>>,
    /// Why the listener failed; `None` at the end means a panic.
    failure: Option<io::Error>,
}

impl<L: ServerListener> Drop for EndOnItsOwn<L> {
    fn drop(&mut self) {
        drop(self.listener.take());
        let previous = std::mem::replace(&mut *self.shared.phase(), Phase::Closed);
        if !matches!(previous, Phase::Serving(..)) {
            return;
        }
        // With the phase go the server's Arc of the listener, which closes
        // it, and the acceptor's own handle: a panic nobody joins is
        // reported through the `log` crate.
        drop(previous);
        let failure = self
            .failure
            .take()
            .unwrap_or_else(|| io::Error::other("the StreamServer's acceptor panicked (the log has its message)"));
        *self.shared.failure.lock().unwrap_or_else(PoisonError::into_inner) = Some(failure);
        StreamServer { shared: Arc::clone(&self.shared) }.end_handlers(DEFAULT_STOP_TIMEOUT);
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
