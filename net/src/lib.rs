//! verde's networking: drop-in replacements for [`std::net`] and
//! [`std::os::unix::net`] whose blocking calls park the calling coroutine
//! instead of blocking its thread.
//!
//! Change the import, keep the code:
//!
//! ```
//! use std::io::{Read, Write};
//! use verde_net::{TcpListener, TcpStream}; // was: use std::net::{TcpListener, TcpStream};
//!
//! let listener = TcpListener::bind("127.0.0.1:0").unwrap();
//! let addr = listener.local_addr().unwrap();
//! let server = verde_runtime::spawn(move || {
//!     let (mut conn, _) = listener.accept().unwrap();
//!     let mut line = String::new();
//!     conn.read_to_string(&mut line).unwrap();
//!     line
//! });
//! let mut client = TcpStream::connect(addr).unwrap();
//! client.write_all(b"plain blocking code").unwrap();
//! drop(client);
//! assert_eq!(server.join().unwrap(), "plain blocking code");
//! ```
//!
//! The `verde` crate re-exports this crate as `verde::net`, and its Unix
//! sockets as `verde::os::unix::net`, mirroring std's paths.
//!
//! # How a call waits
//!
//! No system call verde makes on a socket ever blocks: reads and writes
//! pass `MSG_DONTWAIT`, and listeners (and the sockets verde creates) are
//! in non-blocking mode underneath. An operation runs
//! its system call first; most finish there, at the cost of the system call
//! alone. Only on `EAGAIN` does the coroutine park until the hub's epoll
//! reports the fd ready, then it tries again. The fd joins a hub's epoll
//! the first time a coroutine on that hub waits on it, edge-triggered for
//! both directions, and stays there: no operation pays an `epoll_ctl`.
//! Readers and writers wait separately, so one coroutine can block in
//! `read` while another writes the same socket (full duplex).
//!
//! * **Plain threads.** Outside any coroutine the same types work and block
//!   the calling thread (which runs its own hub meanwhile, so coroutines it
//!   spawned keep going).
//! * **Several hubs.** Every type is `Send` and `Sync`, like std's. A socket
//!   may be created on one hub and used, or shared through `&` or
//!   `try_clone`, from coroutines on others; readiness wakes whichever
//!   coroutine waits, on whatever hub.
//! * **Timeouts.** `set_read_timeout`/`set_write_timeout` bound each call's
//!   wait; when one passes, the call fails with an error of kind
//!   `WouldBlock`, what std returns on Linux. `connect_timeout` fails with
//!   `TimedOut`. A zero duration is an `InvalidInput` error, as in std.
//! * **Non-blocking mode.** `set_nonblocking(true)` makes calls that would
//!   wait fail at once with `WouldBlock`, as with std. The mode (and the
//!   timeouts) belong to the socket and are shared with its `try_clone`s,
//!   as the kernel shares them between std's clones.
//! * **Interruption.** A coroutine parked in any of these calls can be
//!   killed or stopped by a `Timeout`; it unwinds from the wait and the
//!   socket stays usable.
//! * **Name resolution** runs `getaddrinfo` on verde's blocking pool, so it
//!   never blocks the hub; see [`ToSocketAddrs`], the one name that differs
//!   from std.
//! * **Out of file descriptors.** Listeners back off and retry when
//!   `accept` fails with `EMFILE` or `ENFILE`, instead of spinning; see
//!   [`TcpListener`].
//! * **Servers.** [`StreamServer`] is gevent's: a coroutine per connection
//!   accepted on a TCP or Unix listener, optionally bounded by a pool, with
//!   gevent's `start`, `serve_forever` and `stop(timeout)`.
//!   [`DatagramServer`] does the same per datagram received on a UDP or
//!   Unix datagram socket.
//! * **Signals.** Writes use `MSG_NOSIGNAL`: writing to a connection the
//!   peer closed is an `EPIPE`/`ECONNRESET` error, never a `SIGPIPE`.
//! * **Raw fds.** `FromRawFd`, `From<OwnedFd>` and `From` a std socket adopt
//!   the fd and keep its blocking mode and timeouts as the user's settings;
//!   `IntoRawFd`, `Into<OwnedFd>` and `Into` a std socket hand it back in
//!   the user's blocking mode (a listener a `try_clone` still shares stays
//!   non-blocking). Only an adopted listener is switched to non-blocking
//!   mode, so std handles sharing an adopted stream or datagram socket's
//!   file description keep their blocking mode. Apart from a listener,
//!   which verde keeps non-blocking in the kernel whatever the user's
//!   setting (`accept` has no per-call flag), the fd behind `as_raw_fd` is
//!   in the user's blocking mode, as std's is.
//!
//! verde never calls libc's socket functions by symbol (it uses raw system
//! calls), so it keeps working when an application interposes them.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod accept;
mod addr;
mod fd;
mod server;
mod sockaddr;
mod socket;
mod stream_io;
mod tcp;
mod udp;
pub mod unix;

pub use addr::ToSocketAddrs;
pub use server::{DatagramServer, ServerListener, ServerSocket, StreamServer, DEFAULT_STOP_TIMEOUT};
pub use std::net::{AddrParseError, IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, SocketAddrV4, SocketAddrV6};
pub use tcp::{Incoming, IntoIncoming, TcpListener, TcpStream};
pub use udp::UdpSocket;
