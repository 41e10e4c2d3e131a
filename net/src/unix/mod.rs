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

use std::fmt;
use std::os::fd::RawFd;

pub use datagram::UnixDatagram;
pub use listener::{Incoming, UnixListener};
pub use std::os::unix::net::SocketAddr;
pub use stream::UnixStream;

/// An fd as std's Unix socket types show theirs in `Debug`
/// (`FileDesc(OwnedFd { fd: 3 })`, the std internals they wrap), so
/// verde's `Debug` output reads the same as std's.
struct StdFd(RawFd);

impl fmt::Debug for StdFd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct OwnedFd(RawFd);
        impl fmt::Debug for OwnedFd {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct("OwnedFd").field("fd", &self.0).finish()
            }
        }
        f.debug_tuple("FileDesc").field(&OwnedFd(self.0)).finish()
    }
}
