//! The system calls behind the patched functions, made with `syscall(2)`
//! so that they never reach an interposed symbol, and `errno` as a value.

use std::os::fd::RawFd;
use std::time::Duration;

/// An `errno` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Errno(pub libc::c_int);

impl From<std::io::Error> for Errno {
    /// The error's errno; `EIO` for an error that carries none.
    fn from(e: std::io::Error) -> Errno {
        Errno(e.raw_os_error().unwrap_or(libc::EIO))
    }
}

/// A system call's result: its non-negative return value, or its errno.
pub(crate) type SysResult = Result<isize, Errno>;

/// The calling thread's `errno`.
#[inline]
pub(crate) fn errno() -> libc::c_int {
    // SAFETY: __errno_location returns the calling thread's errno slot,
    // valid for the thread's lifetime.
    unsafe { *libc::__errno_location() }
}

/// Sets the calling thread's `errno`.
#[inline]
pub(crate) fn set_errno(e: libc::c_int) {
    // SAFETY: as in `errno`.
    unsafe { *libc::__errno_location() = e }
}

/// Converts a `syscall(2)` return value.
#[inline]
pub(crate) fn cvt(ret: libc::c_long) -> SysResult {
    if ret < 0 {
        Err(Errno(errno()))
    } else {
        Ok(ret as isize)
    }
}

/// Makes a raw system call; every argument is passed as a `c_long`.
macro_rules! raw_syscall {
    ($nr:expr $(, $arg:expr)* $(,)?) => {
        $crate::patch::raw::cvt(libc::syscall($nr $(, $arg as libc::c_long)*))
    };
}
pub(crate) use raw_syscall;

/// `fcntl(fd, cmd, arg)`.
#[inline]
pub(crate) fn fcntl(fd: RawFd, cmd: libc::c_int, arg: libc::c_ulong) -> SysResult {
    // SAFETY: the commands the patch itself issues (F_GETFL, F_SETFL,
    // F_DUPFD*) take integers; for callers' commands see `io::fcntl`.
    unsafe { raw_syscall!(libc::SYS_fcntl, fd, cmd, arg) }
}

/// `getsockopt(fd, level, name)` for an int-sized or timeval option.
pub(crate) fn getsockopt<T: crate::sys::SockOpt>(fd: RawFd, level: libc::c_int, name: libc::c_int) -> Result<T, Errno> {
    crate::sys::getsockopt(fd, level, name).map_err(Errno::from)
}

/// `ppoll` on one fd for `events`, waiting at most `timeout` (forever with
/// `None`). Returns the revents.
pub(crate) fn poll_one(fd: RawFd, events: libc::c_short, timeout: Option<Duration>) -> Result<libc::c_short, Errno> {
    let mut pfd = libc::pollfd { fd, events, revents: 0 };
    let n = ppoll(std::slice::from_mut(&mut pfd), timeout)?;
    Ok(if n == 0 { 0 } else { pfd.revents })
}

/// `ppoll` on `fds` with no signal mask.
pub(crate) fn ppoll(fds: &mut [libc::pollfd], timeout: Option<Duration>) -> SysResult {
    let ts = timeout.map(crate::sys::timespec);
    let ts_ptr = ts.as_ref().map_or(std::ptr::null(), std::ptr::from_ref);
    // SAFETY: `fds` is a valid array of `fds.len()` pollfds the kernel may
    // update, `ts_ptr` is null or a valid timespec, and a null signal mask
    // means none.
    unsafe { raw_syscall!(libc::SYS_ppoll, fds.as_mut_ptr(), fds.len(), ts_ptr, std::ptr::null::<libc::sigset_t>(), 0) }
}

/// `close(2)`.
pub(crate) fn close(fd: RawFd) -> SysResult {
    // SAFETY: integer argument only.
    unsafe { raw_syscall!(libc::SYS_close, fd) }
}

/// A plain call's result as libc returns it: the syscall already set
/// `errno` on failure.
#[inline]
pub(crate) fn plain(result: SysResult) -> isize {
    result.unwrap_or(-1)
}
