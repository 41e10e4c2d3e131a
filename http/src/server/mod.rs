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
//! worker. Each hub has its own acceptor coroutine, and every connection is
//! a coroutine on the hub that accepted it.
//!
//! A server [`bind`](ServerBuilder::bind)s a TCP address once per worker,
//! with `SO_REUSEPORT`, so each hub has its own listening socket: the
//! kernel spreads connections over the workers and no two workers contend
//! for an accept queue (meinheld's and nginx's design; seeds/001 and 003).
//!
//! A Unix socket ([`bind_unix`](ServerBuilder::bind_unix)), a listener the
//! caller opened ([`listener`](ServerBuilder::listener)) and sockets from
//! systemd ([`bind_systemd`](ServerBuilder::bind_systemd)) are one socket
//! each, with no `SO_REUSEPORT` copies to make: every hub's acceptor waits
//! on that same socket, and a connection goes to whichever acceptor the
//! readiness wakes (verde sockets may be shared across hubs). That is
//! gunicorn's arrangement, its workers sharing the listening socket.
//!
//! # Limits
//!
//! [`ServerBuilder::max_connections`] is gevent's `StreamServer(spawn=Pool(n))`:
//! at the limit each acceptor holds the next connection unserved, and the
//! acceptors stop accepting (new clients wait in the kernel's backlog),
//! until a connection ends. Request sizes and timeouts are
//! in [`Limits`] and [`Timeouts`]. When a connection's coroutine cannot be
//! created (memory for stacks is out), the acceptor closes that
//! connection, logs the error (which names the limit) once, and pauses
//! accepting, 10 ms doubling up to 1 s, until coroutines start again.
//!
//! # Shutdown
//!
//! SIGTERM, SIGINT (unless [`ServerBuilder::handle_signals`] is off) or a
//! [`ShutdownHandle`] start a graceful shutdown: the server stops
//! accepting, closes idle keep-alive connections, lets requests in flight
//! finish (answering them with `Connection: close`) for up to the grace
//! period, closes what is left, and `serve` returns.

mod accept;
pub mod access_log;
pub(crate) mod conn;
pub(crate) mod encode;
pub(crate) mod head;
mod listener;
mod registry;
mod shutdown;
mod socket_file;
mod systemd;

#[cfg(test)]
mod conn_tests;

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use verde_net::{TcpListener, TcpStream, ToSocketAddrs};
use verde_runtime::lock::Semaphore;
use verde_runtime::{JoinHandle, Runtime};

pub use listener::{ListenAddr, Listener};
pub use shutdown::ShutdownHandle;

use crate::handler::Handler;
use crate::limits::{Limits, Timeouts};
use accept::{accept_loop, Serving};
use conn::Shared;
use registry::Registry;
use shutdown::SignalGuard;
use socket_file::SocketFile;

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

/// The backlog asked of `listen(2)` by default: more than any kernel
/// allows, so that Linux caps it at `net.core.somaxconn`.
const KERNEL_MAX_BACKLOG: i32 = i32::MAX;

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
            backlog: KERNEL_MAX_BACKLOG,
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

    /// Length of each listener's accept backlog. Default: the kernel's cap,
    /// `net.core.somaxconn` (4096 since Linux 5.4), which Linux applies to
    /// any larger value.
    ///
    /// A full backlog drops the SYNs of new clients, which then wait a
    /// second for their retransmission. With the default, the storm of a
    /// load test opening 10,000 connections at once is absorbed; with a
    /// backlog of 1024, one worker dropped about a thousand of them.
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
        let workers = self.worker_count();
        let mut last = None;
        for addr in addr.to_socket_addrs()? {
            match bind_all(addr, workers, self.backlog) {
                Ok(listeners) => {
                    let addrs = vec![ListenAddr::Tcp(listeners[0].local_addr()?)];
                    let listeners = Listeners::PerWorker(listeners.into_iter().map(Listener::Tcp).collect());
                    return self.build(listeners, addrs, None);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to bind")))
    }

    /// Binds a Unix stream socket at the filesystem path `path`, as
    /// gunicorn's `--bind unix:PATH`: a stale socket file there (one no
    /// process accepts on) is replaced; any other file there is an error
    /// (`AlreadyExists`, or `AddrInUse` for a socket a server listens on).
    /// The socket file is removed when [`Server::serve`] returns (or the
    /// `Server` is dropped), unless another file has replaced it by then.
    ///
    /// There is no `SO_REUSEPORT` for Unix sockets: every worker accepts
    /// from the one listener (see [the module docs](self#how-it-runs)).
    /// The [`backlog`](Self::backlog) applies.
    ///
    /// ```no_run
    /// use verde_http::{Request, Response, Server};
    ///
    /// // Behind nginx: `proxy_pass http://unix:/run/app/http.sock;`
    /// let server = Server::builder().workers(2).bind_unix("/run/app/http.sock")?;
    /// server.serve(|_req: &mut Request<'_>| Response::text("Hello over a Unix socket"))?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind_unix<P: AsRef<Path>>(self, path: P) -> io::Result<Server> {
        let (listener, file) = socket_file::bind(path.as_ref(), self.backlog)?;
        let addrs = vec![ListenAddr::Unix(listener.local_addr()?)];
        self.build(Listeners::Shared(vec![Listener::Unix(listener)]), addrs, Some(file))
    }

    /// Serves on a listening socket the caller opened: a TCP or Unix
    /// listener, std's or verde's (see [`Listener`]), such as one inherited
    /// from a parent process (gunicorn's `--bind fd://N`). Every worker
    /// accepts from it (see [the module docs](self#how-it-runs)); a Unix
    /// socket's file is left in place, as it belongs to the caller. Fails
    /// with `InvalidInput` if the socket is not listening.
    ///
    /// ```
    /// use verde_http::{Request, Response, Server};
    ///
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let addr = listener.local_addr()?;
    /// let server = Server::builder().workers(1).listener(listener)?;
    /// assert_eq!(server.local_addr(), addr);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn listener(self, listener: impl Into<Listener>) -> io::Result<Server> {
        let listener = listener.into().prepare()?;
        let addrs = vec![listener.local_addr()?];
        self.build(Listeners::Shared(vec![listener]), addrs, None)
    }

    /// Serves on the sockets systemd passes under socket activation (a
    /// `.socket` unit with `ListenStream=`): fds 3 onwards, as many as
    /// `LISTEN_FDS` says, for the process `LISTEN_PID` names. TCP and Unix
    /// stream sockets both work; every worker accepts from each (see
    /// [the module docs](self#how-it-runs)).
    ///
    /// As `sd_listen_fds(1)` does, it removes `LISTEN_PID`, `LISTEN_FDS`
    /// and `LISTEN_FDNAMES` from the environment, whether or not it
    /// succeeds, and marks the fds close-on-exec. Since it changes the
    /// environment, call it before starting threads that read it. Errors:
    /// `NotFound` when a variable is missing or `LISTEN_FDS` is 0,
    /// `InvalidData` when one is not a number, `InvalidInput` when
    /// `LISTEN_PID` is another process's or a passed fd is not a listening
    /// TCP or Unix stream socket (the message names the fd), and the fd's
    /// own error (`EBADF`) when it is not open. A socket file of a Unix
    /// socket is left in place: systemd owns it.
    ///
    /// ```no_run
    /// use verde_http::{Request, Response, Server};
    ///
    /// let server = Server::builder().bind_systemd()?;
    /// server.serve(|_req: &mut Request<'_>| Response::text("socket-activated"))?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind_systemd(self) -> io::Result<Server> {
        let listeners = systemd::listeners()?.into_iter().map(Listener::prepare).collect::<io::Result<Vec<_>>>()?;
        let addrs = listeners.iter().map(Listener::local_addr).collect::<io::Result<_>>()?;
        self.build(Listeners::Shared(listeners), addrs, None)
    }

    fn worker_count(&self) -> usize {
        self.workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    fn build(
        self,
        listeners: Listeners,
        addrs: Vec<ListenAddr>,
        socket_file: Option<SocketFile>,
    ) -> io::Result<Server> {
        Ok(Server {
            workers: self.worker_count(),
            listeners,
            addrs,
            socket_file,
            config: self,
            shutdown: ShutdownHandle::new()?,
        })
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

/// How a server's listeners map onto its hubs.
#[derive(Debug)]
enum Listeners {
    /// `SO_REUSEPORT` listeners, one per worker: hub `i` accepts on the
    /// `i`th.
    PerWorker(Vec<Listener>),
    /// Listeners every hub accepts on.
    Shared(Vec<Listener>),
}

/// A bound HTTP server; [`serve`](Self::serve) runs it.
#[derive(Debug)]
pub struct Server {
    workers: usize,
    listeners: Listeners,
    addrs: Vec<ListenAddr>,
    /// The socket file `bind_unix` created, removed when this is dropped.
    socket_file: Option<SocketFile>,
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

    /// The TCP address the server listens on. A server that listens on no
    /// TCP socket (a Unix socket only) has none and returns the
    /// unspecified address `0.0.0.0:0`; [`listen_addr`](Self::listen_addr)
    /// describes every kind.
    pub fn local_addr(&self) -> SocketAddr {
        self.addrs.iter().find_map(ListenAddr::as_tcp).unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// Where the server listens: a TCP address or a Unix socket address
    /// (the first one, for a socket-activated server passed several).
    ///
    /// ```
    /// let dir = std::env::temp_dir().join(format!("verde-doc-listen-addr-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("http.sock");
    /// let server = verde_http::Server::builder().bind_unix(&path)?;
    /// assert_eq!(server.listen_addr().as_unix_path(), Some(path.as_path()));
    /// assert_eq!(server.listen_addr().to_string(), format!("unix:{}", path.display()));
    /// drop(server); // removes the socket file
    /// assert!(!path.exists());
    /// # std::fs::remove_dir(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn listen_addr(&self) -> &ListenAddr {
        &self.addrs[0]
    }

    /// Every address the server listens on, one per listening socket it
    /// accepts from (one for all the `SO_REUSEPORT` listeners of a TCP
    /// [`bind`](ServerBuilder::bind)).
    pub fn listen_addrs(&self) -> &[ListenAddr] {
        &self.addrs
    }

    /// A handle that shuts the server down gracefully.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }

    /// Serves requests with `handler` until shutdown (see the
    /// [module docs](self)).
    pub fn serve(self, handler: impl Handler) -> io::Result<()> {
        let Server { workers, listeners, config, shutdown, socket_file, .. } = self;
        let mut rt = Runtime::builder().workers(workers).thread_name("verde-http");
        if let Some(size) = config.stack_size {
            rt = rt.stack_size(size);
        }
        let rt = rt.build()?;
        let serving = Serving {
            shared: Arc::new(Shared {
                handler: Box::new(handler),
                limits: config.limits.clone(),
                timeouts: config.timeouts.clone(),
                server_name: config.server_header.as_deref().map(|s| s.as_bytes().into()),
                draining: Default::default(),
            }),
            registry: Arc::new(Registry::default()),
            limit: config.max_connections.map(|n| Arc::new(Semaphore::new(n))),
        };
        let _signals = if config.handle_signals { Some(SignalGuard::install(&shutdown)?) } else { None };
        let mut acceptors: Vec<JoinHandle<()>> = Vec::new();
        let mut spawn = |hub: usize, listener: &Arc<Listener>| {
            let (listener, serving) = (listener.clone(), serving.clone());
            acceptors.push(rt.spawn_on(hub, move || accept_loop(listener, serving)));
        };
        match listeners {
            Listeners::PerWorker(listeners) => {
                for (hub, listener) in listeners.into_iter().enumerate() {
                    spawn(hub, &Arc::new(listener));
                }
            }
            Listeners::Shared(listeners) => {
                for listener in listeners.into_iter().map(Arc::new) {
                    for hub in 0..workers {
                        spawn(hub, &listener);
                    }
                }
            }
        }

        wait_for_shutdown(&shutdown)?;

        serving.shared.draining.store(true, Ordering::Release);
        verde_runtime::killall(&acceptors);
        let registry = &serving.registry;
        registry.close_idle();
        let deadline = Instant::now() + config.shutdown_grace;
        while registry.len() > 0 && Instant::now() < deadline {
            verde_runtime::sleep(Duration::from_millis(10));
            registry.close_idle();
        }
        registry.close_all();
        drop(rt);
        drop(socket_file);
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
