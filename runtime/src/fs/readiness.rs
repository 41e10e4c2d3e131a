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
use std::io::IsTerminal;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileTypeExt;

use crate::io::{wait_readable, wait_writable};

/// The most a write on a file with readiness moves per pool trip.
pub(super) const PIPE_BUF: usize = libc::PIPE_BUF;

/// Whether `file` is a FIFO, a terminal or a socket.
pub(super) fn has_readiness(file: &StdFile) -> bool {
    file.metadata().is_ok_and(|meta| {
        let kind = meta.file_type();
        kind.is_fifo() || kind.is_socket() || (kind.is_char_device() && file.is_terminal())
    })
}

/// Parks the calling coroutine until a read of `file` will not block (a
/// file that is ready already costs one `poll`). A wait the hub cannot
/// make (epoll refused the fd) ends at once: the read then goes to the
/// pool as for a regular file.
pub(super) fn until_readable(file: &StdFile) {
    let _ = wait_readable(file.as_raw_fd(), None);
}

/// As [`until_readable`], for a write.
pub(super) fn until_writable(file: &StdFile) {
    let _ = wait_writable(file.as_raw_fd(), None);
}
