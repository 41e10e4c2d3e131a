//! gevent's servers: [`StreamServer`], a coroutine per accepted connection,
//! and [`DatagramServer`], a coroutine per received datagram.
//!
//! Both share gevent's `BaseServer` life, which this module holds: a
//! server is made ready with its socket and handler, [`Server::start`]s an
//! acceptor coroutine, and is [`Server::stop`]ped for good, closing the
//! socket and waiting for (then killing) its handlers. What the acceptor
//! does with each connection or datagram is the [`Kind`]'s.

use std::io;
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use verde_runtime::event::Event;
use verde_runtime::pool::{Group, Pool};
use verde_runtime::{Builder, JoinHandle};

mod datagram;
mod handlers;
mod stream;

pub use datagram::{DatagramServer, ServerSocket};
pub use stream::{ServerListener, StreamServer};

use handlers::Handlers;

/// How long [`StreamServer::stop`] and [`DatagramServer::stop`] wait for
/// the handlers before killing them when given no timeout: one second,
/// gevent's `stop_timeout`.
pub const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(1);

/// What a kind of server receives, and how it hands it to a handler.
pub(crate) trait Kind: 'static {
    /// The socket the acceptor receives on.
    type Socket: AsRawFd + Send + Sync + 'static;
    /// The handler, a `dyn Fn`.
    type Handle: ?Sized + Send + Sync + 'static;
    /// The server's name, for the acceptor's name and for messages.
    const NAME: &'static str;

    /// Receives on `socket` and spawns a handler in `handlers` for what
    /// arrives, until the socket fails: returns that failure. Errors that
    /// concern one connection or datagram only are skipped, and a socket
    /// the user put in non-blocking mode is waited on (see
    /// [`wait_out`]).
    fn serve(socket: &Arc<Self::Socket>, handle: &Arc<Self::Handle>, handlers: &Handlers) -> io::Error;
}

/// What an acceptor does with the error of a receive: `None` to carry on
/// (after waiting until `socket` is readable, for the `WouldBlock` of a
/// socket in non-blocking mode or with a read timeout; at once for the
/// errors `skip` names), or the error that ends the server.
pub(crate) fn wait_out(socket: &impl AsRawFd, e: io::Error, skip: fn(&io::Error) -> bool) -> Option<io::Error> {
    if e.kind() == io::ErrorKind::WouldBlock {
        return verde_runtime::io::wait_readable(socket.as_raw_fd(), None).err();
    }
    if skip(&e) {
        None
    } else {
        Some(e)
    }
}

/// Where a server is in its life.
enum Phase<K: Kind> {
    /// Not started: the socket and the handler wait here for `start`.
    Ready(K::Socket, Arc<K::Handle>),
    /// Serving: the acceptor coroutine shares the socket, and holds the
    /// handler, a clone of which each handler coroutine holds.
    Serving(JoinHandle<()>, Arc<K::Socket>),
    /// Stopped, or being stopped: the socket is closed, and the handler is
    /// dropped once the last handler coroutine ends. A handler that holds
    /// a clone of its own server thus keeps it alive only while the
    /// server runs.
    Closed,
}

/// What every clone of a server shares.
struct Shared<K: Kind> {
    phase: Mutex<Phase<K>>,
    handlers: Handlers,
    /// Set once the server is closed and its handlers are gone.
    closed: Event,
    /// Why the acceptor stopped on its own, for `serve_forever`.
    failure: Mutex<Option<io::Error>>,
}

impl<K: Kind> Shared<K> {
    fn phase(&self) -> MutexGuard<'_, Phase<K>> {
        self.phase.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A server of kind `K`: what [`StreamServer`] and [`DatagramServer`]
/// wrap, documented there.
pub(crate) struct Server<K: Kind> {
    shared: Arc<Shared<K>>,
}

impl<K: Kind> Clone for Server<K> {
    fn clone(&self) -> Self {
        Server { shared: Arc::clone(&self.shared) }
    }
}

impl<K: Kind> Server<K> {
    pub(crate) fn new(socket: K::Socket, handle: Arc<K::Handle>) -> Server<K> {
        Server {
            shared: Arc::new(Shared {
                phase: Mutex::new(Phase::Ready(socket, handle)),
                handlers: Handlers::Group(Group::new()),
                closed: Event::new(),
                failure: Mutex::new(None),
            }),
        }
    }

    pub(crate) fn with_pool(mut self, pool: Pool) -> Server<K> {
        let shared = Arc::get_mut(&mut self.shared).expect("with_pool is called before the server is cloned");
        assert!(
            matches!(*shared.phase.get_mut().unwrap_or_else(PoisonError::into_inner), Phase::Ready(..)),
            "with_pool is called before the server starts"
        );
        shared.handlers = Handlers::Pool(pool);
        self
    }

    pub(crate) fn start(&self) -> io::Result<()> {
        let mut phase = self.shared.phase();
        if !matches!(*phase, Phase::Ready(..)) {
            let what = if matches!(*phase, Phase::Serving(..)) { "started already" } else { "closed" };
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("the {} is {what}", K::NAME)));
        }
        self.start_ready(&mut phase)
    }

    /// Starts the server, whose `phase` is `Ready`.
    fn start_ready(&self, phase: &mut Phase<K>) -> io::Result<()> {
        let Phase::Ready(socket, handle) = std::mem::replace(phase, Phase::Closed) else {
            unreachable!("start_ready is called on a ready server")
        };
        let socket = Arc::new(socket);
        let shared = Arc::clone(&self.shared);
        let receiving = Arc::clone(&socket);
        let acceptor =
            Builder::new().name(format!("{} acceptor", K::NAME)).spawn(move || accept_loop(shared, receiving, &handle));
        match acceptor {
            Ok(acceptor) => {
                *phase = Phase::Serving(acceptor, socket);
                Ok(())
            }
            Err(e) => {
                self.shared.closed.set();
                Err(e)
            }
        }
    }

    pub(crate) fn serve_forever(&self) -> io::Result<()> {
        {
            // Checked and started under one lock, so that of two callers
            // racing here, one starts the server and both serve.
            let mut phase = self.shared.phase();
            if matches!(*phase, Phase::Ready(..)) {
                self.start_ready(&mut phase)?;
            }
        }
        /// Stops the server if the wait unwinds (gevent's `finally`).
        struct StopOnUnwind<'a, K: Kind>(&'a Server<K>);
        impl<K: Kind> Drop for StopOnUnwind<'_, K> {
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

    pub(crate) fn stop(&self, timeout: Option<Duration>) {
        let by_handler = self.shared.handlers.includes_caller();
        let previous = std::mem::replace(&mut *self.shared.phase(), Phase::Closed);
        let acceptor = match previous {
            // The socket closes once the acceptor, killed below, has let go
            // of it too: before the handlers are waited for.
            Phase::Serving(acceptor, socket) => {
                drop(socket);
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
            log::warn!("verde: {} stopping: killing {} handler(s) still running", K::NAME, handlers.len());
            handlers.kill();
        }
        self.shared.closed.set();
    }

    pub(crate) fn is_started(&self) -> bool {
        matches!(*self.shared.phase(), Phase::Serving(..))
    }

    pub(crate) fn is_closed(&self) -> bool {
        matches!(*self.shared.phase(), Phase::Closed)
    }

    pub(crate) fn handlers_running(&self) -> usize {
        self.shared.handlers.len()
    }

    /// Runs `f` on the socket while it is open; `NotConnected` once closed.
    pub(crate) fn with_socket<T>(&self, f: impl FnOnce(&K::Socket) -> io::Result<T>) -> io::Result<T> {
        match &*self.shared.phase() {
            Phase::Ready(socket, _) => f(socket),
            Phase::Serving(_, socket) => f(socket),
            Phase::Closed => Err(io::ErrorKind::NotConnected.into()),
        }
    }
}

/// The acceptor: serves until it is killed (by `stop`) or the socket fails.
fn accept_loop<K: Kind>(shared: Arc<Shared<K>>, socket: Arc<K::Socket>, handle: &Arc<K::Handle>) {
    let mut acceptor = EndOnItsOwn::<K> { shared, socket: Some(socket), failure: None };
    let socket = acceptor.socket.as_ref().expect("the acceptor holds the socket");
    let failure = K::serve(socket, handle, &acceptor.shared.handlers);
    log::error!("verde: {} stopped: its socket failed: {failure}", K::NAME);
    acceptor.failure = Some(failure);
}

/// Closes the server when its acceptor ends on its own: the socket
/// failed, or the acceptor panicked (a bug: a failed spawn does not
/// panic, see [`SpawnBackoff`](verde_runtime::SpawnBackoff)). It does what `stop` does, from inside the
/// acceptor, which `stop` would kill and join. After `stop`, which marks
/// the server closed before it kills the acceptor, it does nothing.
struct EndOnItsOwn<K: Kind> {
    shared: Arc<Shared<K>>,
    /// Let go of first, so that the socket is closed before the handlers
    /// are waited for.
    socket: Option<Arc<K::Socket>>,
    /// Why the socket failed; `None` at the end means a panic.
    failure: Option<io::Error>,
}

impl<K: Kind> Drop for EndOnItsOwn<K> {
    fn drop(&mut self) {
        drop(self.socket.take());
        let previous = std::mem::replace(&mut *self.shared.phase(), Phase::Closed);
        if !matches!(previous, Phase::Serving(..)) {
            return;
        }
        // With the phase go the server's Arc of the socket, which closes
        // it, and the acceptor's own handle: a panic nobody joins is
        // reported through the `log` crate.
        drop(previous);
        let failure = self.failure.take().unwrap_or_else(|| {
            io::Error::other(format!("the {}'s acceptor panicked (the log has its message)", K::NAME))
        });
        *self.shared.failure.lock().unwrap_or_else(PoisonError::into_inner) = Some(failure);
        Server { shared: Arc::clone(&self.shared) }.end_handlers(DEFAULT_STOP_TIMEOUT);
    }
}
