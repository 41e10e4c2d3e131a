//! # verde: greenlet and gevent, rebuilt in Rust
//!
//! Stackful green threads with a blocking-style API. Write plain synchronous
//! code; whenever a call would block, the coroutine yields to others on its
//! hub instead, so one thread serves thousands of connections.
//!
//! ```
//! let a = verde::spawn(|| 1);
//! let b = verde::spawn(|| 2);
//! let sum: i32 = verde::joinall([a, b]).into_iter().map(Result::unwrap).sum();
//! assert_eq!(sum, 3);
//! ```
//!
//! This crate re-exports [`verde_runtime`] at its root, and the networking
//! and HTTP crates as [`net`] and [`http`].

#![warn(missing_docs)]

pub use verde_runtime::*;

/// Cooperative TCP and UDP: [`std::net`]'s API, parking instead of
/// blocking. See [`verde_net`] for the semantics.
///
/// ```
/// use std::io::{Read, Write};
/// use verde::net::{TcpListener, TcpStream};
///
/// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
/// let addr = listener.local_addr().unwrap();
/// let server = verde::spawn(move || {
///     let (mut conn, _) = listener.accept().unwrap();
///     conn.write_all(b"hello").unwrap();
/// });
/// let mut reply = String::new();
/// TcpStream::connect(addr).unwrap().read_to_string(&mut reply).unwrap();
/// assert_eq!(reply, "hello");
/// server.join().unwrap();
/// ```
pub mod net {
    pub use verde_net::*;
}

/// The HTTP/1.1 server and client for blocking-style handlers. See
/// [`verde_http`].
///
/// ```no_run
/// use verde::http::{Request, Response, Server};
///
/// Server::bind("127.0.0.1:8080")?.serve(|_req: &mut Request<'_>| Response::text("Hello, World!"))?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub mod http {
    pub use verde_http::*;
}

/// Unix-specific parts, mirroring [`std::os`].
pub mod os {
    /// Unix-specific parts, mirroring [`std::os::unix`].
    pub mod unix {
        /// Cooperative Unix domain sockets: [`std::os::unix::net`]'s API,
        /// parking instead of blocking.
        ///
        /// ```
        /// use std::io::{Read, Write};
        /// use verde::os::unix::net::UnixStream;
        ///
        /// let (mut a, mut b) = UnixStream::pair().unwrap();
        /// let writer = verde::spawn(move || b.write_all(b"ping").unwrap());
        /// let mut buf = [0; 4];
        /// a.read_exact(&mut buf).unwrap();
        /// assert_eq!(&buf, b"ping");
        /// writer.join().unwrap();
        /// ```
        pub mod net {
            pub use verde_net::unix::*;
        }
    }
}

// The migration guide for gevent, greenlet and gunicorn services; its Rust
// examples run as doctests.
#[doc = include_str!("../docs/from_gevent.md")]
pub mod from_gevent {}

/// The README's Rust examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
