//! The parent's end of a pipe to a child, the core of [`ChildStdin`],
//! [`ChildStdout`] and [`ChildStderr`](super::ChildStderr).
//!
//! Adopting an fd switches it to non-blocking mode. That flag belongs to
//! the open file description, and the child's end of a pipe is a different
//! one, so the child never sees it. Giving the fd up (to another child as
//! its stdin, or as an `OwnedFd`) restores blocking mode first, since
//! whoever gets it expects std's blocking pipe.
//!
//! Calls are raw system calls ([`sys`]), so an application that patches
//! libc ([`patch`](crate::patch)) does not see them; the patch never adopts
//! pipes, so the two never share these fds' state.
//!
//! [`ChildStdin`]: super::ChildStdin
//! [`ChildStdout`]: super::ChildStdout

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use crate::io::Registration;
use crate::sys;

/// A non-blocking pipe fd and its readiness registration. Fields drop in
/// declaration order: the fd leaves every epoll before it is closed.
pub(super) struct Pipe {
    reg: Registration,
    fd: OwnedFd,
}

impl Pipe {
    /// Adopts `fd`, switching it to non-blocking mode.
    ///
    /// # Panics
    ///
    /// Panics if more than four million fds are registered with verde at
    /// once (see [`Registration::new`]), as verde's sockets do.
    pub(super) fn new(fd: OwnedFd) -> Pipe {
        // An fd that is open (OwnedFd promises it) accepts FIONBIO; were it
        // to fail, reads would block the thread but stay correct.
        let _ = sys::set_nonblocking(fd.as_raw_fd(), true);
        Pipe { reg: Registration::new(fd.as_raw_fd()), fd }
    }

    /// Gives the fd up, in blocking mode again.
    pub(super) fn into_blocking_fd(self) -> OwnedFd {
        let Pipe { reg, fd } = self;
        drop(reg);
        let _ = sys::set_nonblocking(fd.as_raw_fd(), false);
        fd
    }

    pub(super) fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    pub(super) fn borrow_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Reads into `buf`, parking (or blocking a plain thread) until some
    /// data, the end of the stream, or an error comes, or until `deadline`
    /// passes: then the error is of kind `TimedOut`.
    pub(super) fn read(&self, buf: &mut [u8], deadline: Option<Instant>) -> io::Result<usize> {
        let fd = self.raw_fd();
        let len = buf.len();
        let read = self.reg.read_stream_with(time_left(deadline), len, || sys::read(fd, buf));
        read.map_err(|e| timed_out_if_waited(e, deadline))
    }

    /// Writes from `buf`, parking (or blocking a plain thread) until the
    /// pipe has room for some of it, or until `deadline` passes: then the
    /// error is of kind `TimedOut`.
    pub(super) fn write(&self, buf: &[u8], deadline: Option<Instant>) -> io::Result<usize> {
        let fd = self.raw_fd();
        let written = self.reg.write_with(time_left(deadline), || sys::write(fd, buf));
        written.map_err(|e| timed_out_if_waited(e, deadline))
    }
}

/// The time from now until `deadline`, none if it has passed.
fn time_left(deadline: Option<Instant>) -> Option<Duration> {
    deadline.map(|d| d.saturating_duration_since(Instant::now()))
}

/// A registration's wait gives up with `WouldBlock` once its time runs
/// out; with a deadline, that is a `TimedOut`.
fn timed_out_if_waited(e: io::Error, deadline: Option<Instant>) -> io::Error {
    if deadline.is_some() && e.kind() == io::ErrorKind::WouldBlock {
        io::Error::from(io::ErrorKind::TimedOut)
    } else {
        e
    }
}

impl fmt::Debug for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipe").field("fd", &self.raw_fd()).finish()
    }
}
