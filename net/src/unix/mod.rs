//! Unix domain sockets: verde's `std::os::unix::net`, re-exported by the
//! `verde` crate as `verde::os::unix::net`.
//!
//! [`UnixListener`], [`UnixStream`] and [`UnixDatagram`] have std's API and
//! the semantics described in the [crate documentation](crate): operations
//! park the calling coroutine instead of blocking the thread, timeouts end
//! a wait with `WouldBlock`, and non-blocking mode is honoured. Addresses
//! are std's own [`SocketAddr`] (pathname, unnamed, or Linux abstract).

mod datagram;
mod listener;
mod sockaddr;
mod stream;

pub use datagram::UnixDatagram;
pub use listener::{Incoming, UnixListener};
pub use std::os::unix::net::SocketAddr;
pub use stream::UnixStream;
