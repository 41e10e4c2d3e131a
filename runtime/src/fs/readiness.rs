//! Files that report readiness: FIFOs, terminals, and sockets wrapped in a
//! [`File`](super::File).
//!
//! Their reads can wait for as long as no writer writes, and their writes
//! for as long as no reader reads. A pool thread blocked in such a call is
//! held all that time, and enough of them would take the whole pool, even
//! from the very coroutine that would write or read next. So from a
//! coroutine a [`File`](super::File) of this kind first waits on the hub's
//! epoll, holding no thread, until the call will not block, and only then
//! makes it on the pool. A write goes at most [`PIPE_BUF`] bytes at a
//! time, the size a pipe reported writable is sure to take.
//!
//! Regular files, and character devices other than terminals (`/dev/null`,
//! `/dev/urandom`), are always ready, so they go straight to the pool. So
//! does any fd that epoll refuses: its wait ends at once.

use std::fs::File as StdFile;
use std::os::fd::{AsRawFd, RawFd};

use crate::io::{wait_readable, wait_writable};
use crate::sys;

/// The most a write on a file with readiness moves per pool trip.
pub(super) const PIPE_BUF: usize = libc::PIPE_BUF;

/// Whether `file` is a FIFO, a terminal or a socket (`fstat`, and
/// `isatty` for a character device).
pub(super) fn has_readiness(file: &StdFile) -> bool {
    // SAFETY: an all-zero `stat` is a valid value for the kernel to
    // overwrite.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: the fd is open for as long as `file` is borrowed, and `st` is
    // a live `stat` the kernel writes into.
    if unsafe { libc::fstat(file.as_raw_fd(), &mut st) } != 0 {
        return false;
    }
    match st.st_mode & libc::S_IFMT {
        libc::S_IFIFO | libc::S_IFSOCK => true,
        // SAFETY: isatty takes any fd; this one is open.
        libc::S_IFCHR => unsafe { libc::isatty(file.as_raw_fd()) == 1 },
        _ => false,
    }
}

/// Parks the calling coroutine until a read of `file` will not block. A
/// file that is ready already costs one `poll` and no park. A wait the hub
/// cannot make (epoll refused the fd) ends at once: the read then goes to
/// the pool as for a regular file.
pub(super) fn until_readable(file: &StdFile) {
    let fd = file.as_raw_fd();
    if !ready_now(fd, libc::POLLIN | libc::POLLRDHUP) {
        let _ = wait_readable(fd, None);
    }
}

/// As [`until_readable`], for a write.
pub(super) fn until_writable(file: &StdFile) {
    let fd = file.as_raw_fd();
    if !ready_now(fd, libc::POLLOUT) {
        let _ = wait_writable(fd, None);
    }
}

/// Whether `fd` reports `events` (or an error or hang-up, which the call
/// itself will report) without waiting.
fn ready_now(fd: RawFd, events: libc::c_short) -> bool {
    sys::poll_one(fd, events, 0).is_ok_and(|revents| revents != 0)
}
