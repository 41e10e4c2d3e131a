//! The HTTP/1.1 server.
//!
//! ```no_run
//! use verde_http::{Request, Response, Server};
//!
//! let server = Server::builder().workers(4).bind("127.0.0.1:8080")?;
//! server.serve(|_req: &mut Request<'_>| Response::text("Hello, World!"))?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # How it runs
//!
//! `serve` starts a [`Runtime`] with one hub per
//! worker. Each hub has its own listening socket, bound to the same address
//! with `SO_REUSEPORT`, and its own acceptor coroutine, so the kernel
//! spreads connections over the workers and no two workers contend for an
//! accept queue (meinheld's and nginx's design; seeds/001 and 003). Every
//! connection is a coroutine on the hub that accepted it.
//!
//! # Limits
//!
//! [`ServerBuilder::max_connections`] is gevent's `StreamServer(spawn=Pool(n))`:
//! at the limit each acceptor holds the next connection unserved, and the
//! acceptors stop accepting (new clients wait in the kernel's backlog),
//! until a connection ends. Request sizes and timeouts are
//! in [`Limits`] and [`Timeouts`].
//!
//! # Shutdown
//!
//! SIGTERM, SIGINT (unless [`ServerBuilder::handle_signals`] is off) or a
//! [`ShutdownHandle`] start a graceful shutdown: the server stops
//! accepting, closes idle keep-alive connections, lets requests in flight
//! finish (answering them with `Connection: close`) for up to the grace
//! period, closes what is left, and `serve` returns.

pub mod access_log;
pub(crate) mod conn;
pub(crate) mod encode;
pub(crate) mod head;
mod registry;
mod shutdown;

#[cfg(test)]
mod conn_tests;

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use verde_net::{TcpListener, TcpStream, ToSocketAddrs};
use verde_runtime::lock::Semaphore;
use verde_runtime::{JoinHandle, Runtime};

pub use shutdown::ShutdownHandle;

use crate::handler::Handler;
use crate::limits::{Limits, Timeouts};
use conn::Shared;
use registry::Registry;
use shutdown::SignalGuard;

/// Configures a [`Server`].
#[derive(Clone, Debug)]
#[must_use = "a ServerBuilder does nothing until bound"]
pub struct ServerBuilder {
    workers: Option<usize>,
    limits: Limits,
    timeouts: Timeouts,
    server_header: Option<String>,
    max_connections: Option<usize>,
    shutdown_grace: Duration,
    handle_signals: bool,
    backlog: i32,
    stack_size: Option<usize>,
}

impl Default for ServerBuilder {
    fn default() -> Self {
        ServerBuilder {
            workers: None,
            limits: Limits::default(),
            timeouts: Timeouts::default(),
            server_header: Some("verde".into()),
            max_connections: None,
            shutdown_grace: Duration::from_secs(30),
            handle_signals: true,
            backlog: 1024,
            stack_size: None,
        }
    }
}

impl ServerBuilder {
    /// Worker threads, one hub each. Default: the number of CPUs.
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = Some(n.max(1));
        self
    }

    /// Request size limits. Default: [`Limits::default`].
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Timeouts for slow clients. Default: [`Timeouts::default`].
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// The `Server` header sent with every response, or none. Default:
    /// `verde`.
    ///
    /// # Panics
    ///
    /// Panics if the value is not a valid header value (a CR or LF in it
    /// would inject headers).
    pub fn server_header(mut self, value: Option<&str>) -> Self {
        if let Some(v) = value {
            assert!(http::HeaderValue::from_str(v).is_ok(), "invalid Server header value {v:?}");
        }
        self.server_header = value.map(str::to_owned);
        self
    }

    /// Most connections served at once, across all workers; at the limit
    /// new connections wait, unserved, until one ends. Default: unlimited.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = Some(n.max(1));
        self
    }

    /// How long a graceful shutdown waits for requests in flight. Default
    /// 30 s.
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// Whether SIGTERM and SIGINT start a graceful shutdown. Default: on.
    pub fn handle_signals(mut self, on: bool) -> Self {
        self.handle_signals = on;
        self
    }

    /// Length of each listener's accept backlog. Default 1024.
    pub fn backlog(mut self, n: i32) -> Self {
        self.backlog = n;
        self
    }

    /// Stack size of connection coroutines. Default: the runtime's
    /// ([`verde_runtime::DEFAULT_STACK_SIZE`]).
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// Binds one listener per worker to `addr` (with `SO_REUSEPORT`). With
    /// port 0 the kernel picks a port, shared by all the listeners.
    pub fn bind<A: ToSocketAddrs>(self, addr: A) -> io::Result<Server> {
        let workers = self.workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        let mut last = None;
        for addr in addr.to_socket_addrs()? {
            match bind_all(addr, workers, self.backlog) {
                Ok(listeners) => {
                    let local_addr = listeners[0].local_addr()?;
                    return Ok(Server { listeners, local_addr, config: self, shutdown: ShutdownHandle::new()? });
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to bind")))
    }
}

/// Binds `n` listeners to `addr`, the first one choosing the port.
fn bind_all(addr: SocketAddr, n: usize, backlog: i32) -> io::Result<Vec<TcpListener>> {
    let first = TcpListener::bind_reuse_port(addr, backlog)?;
    let addr = first.local_addr()?;
    let mut listeners = vec![first];
    for _ in 1..n {
        listeners.push(TcpListener::bind_reuse_port(addr, backlog)?);
    }
    Ok(listeners)
}

/// A bound HTTP server; [`serve`](Self::serve) runs it.
#[derive(Debug)]
pub struct Server {
    listeners: Vec<TcpListener>,
    local_addr: SocketAddr,
    config: ServerBuilder,
    shutdown: ShutdownHandle,
}

impl Server {
    /// A builder for a server with custom settings.
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }

    /// Binds a server with default settings.
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<Server> {
        ServerBuilder::default().bind(addr)
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A handle that shuts the server down gracefully.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }

    /// Serves requests with `handler` until shutdown (see the
    /// [module docs](self)).
    pub fn serve(self, handler: impl Handler) -> io::Result<()> {
        let Server { listeners, config, shutdown, .. } = self;
        let mut rt = Runtime::builder().workers(listeners.len()).thread_name("verde-http");
        if let Some(size) = config.stack_size {
            rt = rt.stack_size(size);
        }
        let rt = rt.build()?;
        let shared = Arc::new(Shared {
            handler: Box::new(handler),
            limits: config.limits.clone(),
            timeouts: config.timeouts.clone(),
            server_name: config.server_header.as_deref().map(|s| s.as_bytes().into()),
            draining: Default::default(),
        });
        let registry = Arc::new(Registry::default());
        let limit = config.max_connections.map(|n| Arc::new(Semaphore::new(n)));
        let _signals = if config.handle_signals { Some(SignalGuard::install(&shutdown)?) } else { None };
        let acceptors: Vec<JoinHandle<()>> = listeners
            .into_iter()
            .enumerate()
            .map(|(i, listener)| {
                let (shared, registry, limit) = (shared.clone(), registry.clone(), limit.clone());
                rt.spawn_on(i, move || accept_loop(listener, shared, registry, limit))
            })
            .collect();

        wait_for_shutdown(&shutdown)?;

        shared.draining.store(true, Ordering::Release);
        verde_runtime::killall(&acceptors);
        registry.close_idle();
        let deadline = Instant::now() + config.shutdown_grace;
        while registry.len() > 0 && Instant::now() < deadline {
            verde_runtime::sleep(Duration::from_millis(10));
            registry.close_idle();
        }
        registry.close_all();
        drop(rt);
        Ok(())
    }
}

/// Parks until the shutdown eventfd is signalled, then resets it.
fn wait_for_shutdown(handle: &ShutdownHandle) -> io::Result<()> {
    loop {
        verde_runtime::io::wait_readable(handle.fd(), None)?;
        let mut buf = [0u8; 8];
        // SAFETY: reading 8 bytes into a local buffer from the eventfd.
        let n = unsafe { libc::syscall(libc::SYS_read, handle.fd(), buf.as_mut_ptr(), buf.len()) };
        if n == 8 {
            return Ok(());
        }
    }
}

/// Releases a connection slot when the connection ends.
struct Permit(Arc<Semaphore>);

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.release();
    }
}

/// Removes a connection from the registry when its coroutine ends, however
/// it ends.
struct Deregister(Arc<Registry>, u64);

impl Drop for Deregister {
    fn drop(&mut self) {
        self.0.remove(self.1);
    }
}

/// Accepts connections on one hub and spawns a coroutine for each.
fn accept_loop(listener: TcpListener, shared: Arc<Shared>, registry: Arc<Registry>, limit: Option<Arc<Semaphore>>) {
    loop {
        let (stream, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(e) => {
                log::warn!(target: "verde_http", "accept failed: {e}");
                continue;
            }
        };
        // A slot is taken only once a connection is here: an acceptor
        // waiting on a quiet listener must not hold one that connections
        // queued on another worker's listener need.
        let permit = limit.as_ref().map(|s| {
            s.acquire(true, None);
            Permit(s.clone())
        });
        let _ = stream.set_nodelay(true);
        let (id, idle) = registry.reserve();
        let (conn_shared, conn_registry, conn_idle) = (shared.clone(), registry.clone(), idle.clone());
        let handle = verde_runtime::spawn(move || {
            let _permit = permit;
            let _deregister = Deregister(conn_registry, id);
            conn::serve(stream, Some(peer), &conn_shared, &conn_idle);
        });
        registry.insert(id, handle, idle);
    }
}

impl crate::Transport for TcpStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }

    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_write_timeout(self, timeout)
    }

    fn shutdown(&self, how: std::net::Shutdown) -> io::Result<()> {
        TcpStream::shutdown(self, how)
    }
}

impl crate::Transport for verde_net::unix::UnixStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        verde_net::unix::UnixStream::set_read_timeout(self, timeout)
    }

    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        verde_net::unix::UnixStream::set_write_timeout(self, timeout)
    }

    fn shutdown(&self, how: std::net::Shutdown) -> io::Result<()> {
        verde_net::unix::UnixStream::shutdown(self, how)
    }
}
