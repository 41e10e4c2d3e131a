//! fd bookkeeping: `close`, `dup`, `dup2`, `dup3`, `fcntl`, `ioctl` and
//! `setsockopt`, which keep the table of adopted sockets true and show the
//! program the settings it made rather than the patch's.
//!
//! `fcntl(F_GETFL)` on an adopted socket reports the program's
//! `O_NONBLOCK`; `F_SETFL` and `ioctl(FIONBIO)` change only the program's
//! mode (the fd stays non-blocking underneath). `setsockopt` of
//! `SO_RCVTIMEO`/`SO_SNDTIMEO` reaches the kernel (so `getsockopt` reports
//! it) and the patch, which applies it.

use std::os::fd::RawFd;

use super::fdtable;
use super::raw::{self, plain, raw_syscall, SysResult};
use crate::io::Interest;

/// `close(2)`. The fd leaves the table (and the hubs' epolls) first.
///
/// # Safety
///
/// None beyond libc's: an integer argument.
pub unsafe fn close(fd: libc::c_int) -> libc::c_int {
    fdtable::forget(fd);
    plain(raw::close(fd)) as libc::c_int
}

/// `dup(2)`. The duplicate shares an adopted socket's settings.
///
/// # Safety
///
/// None beyond libc's: an integer argument.
pub unsafe fn dup(fd: libc::c_int) -> libc::c_int {
    // SAFETY: integer argument only.
    let r = unsafe { raw_syscall!(libc::SYS_dup, fd) };
    if let Ok(new) = r {
        fdtable::duplicated(fd, new as RawFd);
    }
    plain(r) as libc::c_int
}

/// `dup2(2)`.
///
/// # Safety
///
/// None beyond libc's: integer arguments.
pub unsafe fn dup2(old: libc::c_int, new: libc::c_int) -> libc::c_int {
    if old == new {
        // dup2 onto itself only checks that the fd is open.
        return plain(raw::fcntl(old, libc::F_GETFD, 0).map(|_| new as isize)) as libc::c_int;
    }
    plain(duplicate_onto(old, new, 0)) as libc::c_int
}

/// `dup3(2)`.
///
/// # Safety
///
/// None beyond libc's: integer arguments.
pub unsafe fn dup3(old: libc::c_int, new: libc::c_int, flags: libc::c_int) -> libc::c_int {
    if old == new {
        // SAFETY: integer arguments only; the kernel reports EINVAL.
        return plain(unsafe { raw_syscall!(libc::SYS_dup3, old, new, flags) }) as libc::c_int;
    }
    plain(duplicate_onto(old, new, flags)) as libc::c_int
}

/// `dup3` of `old` onto a different `new`. The fd `new` referred to (which
/// the kernel closes) leaves the table while it still is that fd.
fn duplicate_onto(old: RawFd, new: RawFd, flags: libc::c_int) -> SysResult {
    raw::fcntl(old, libc::F_GETFD, 0)?;
    fdtable::forget(new);
    // SAFETY: integer arguments only.
    let r = unsafe { raw_syscall!(libc::SYS_dup3, old, new, flags) };
    if r.is_ok() {
        fdtable::duplicated(old, new);
    }
    r
}

/// `fcntl(2)`, declared with a fixed third argument: see the module docs
/// of [`crate::patch`] for why that is ABI-compatible with the variadic
/// C declaration on the supported platforms.
///
/// # Safety
///
/// `arg` must be what `cmd` expects (an integer, or a valid pointer for
/// commands such as `F_GETLK`), as for libc's `fcntl`.
pub unsafe fn fcntl(fd: libc::c_int, cmd: libc::c_int, arg: libc::c_ulong) -> libc::c_int {
    let result = match cmd {
        libc::F_GETFL => raw::fcntl(fd, cmd, arg).map(|flags| match fdtable::get(fd) {
            Some(e) if !e.options.nonblocking() => flags & !(libc::O_NONBLOCK as isize),
            _ => flags,
        }),
        libc::F_SETFL => match fdtable::get(fd) {
            Some(e) => raw::fcntl(fd, cmd, arg | libc::O_NONBLOCK as libc::c_ulong).inspect(|_| {
                e.options.set_nonblocking(arg & libc::O_NONBLOCK as libc::c_ulong != 0);
            }),
            None => raw::fcntl(fd, cmd, arg),
        },
        libc::F_DUPFD | libc::F_DUPFD_CLOEXEC => raw::fcntl(fd, cmd, arg).inspect(|&new| {
            fdtable::duplicated(fd, new as RawFd);
        }),
        // SAFETY: the caller guarantees `arg` suits `cmd`; the kernel
        // validates pointers itself.
        _ => unsafe { raw_syscall!(libc::SYS_fcntl, fd, cmd, arg) },
    };
    plain(result) as libc::c_int
}

/// `fcntl64`: glibc's name for `fcntl` in C code built with
/// `_FILE_OFFSET_BITS=64`; the same function on 64-bit platforms.
///
/// # Safety
///
/// As for [`fcntl`].
pub unsafe fn fcntl64(fd: libc::c_int, cmd: libc::c_int, arg: libc::c_ulong) -> libc::c_int {
    // SAFETY: forwarded from the caller.
    unsafe { fcntl(fd, cmd, arg) }
}

/// `ioctl(2)`, declared with a fixed third argument like [`fcntl`].
///
/// # Safety
///
/// `arg` must be what `request` expects, as for libc's `ioctl`; for
/// `FIONBIO` a pointer to a readable `int`.
pub unsafe fn ioctl(fd: libc::c_int, request: libc::c_ulong, arg: *mut libc::c_void) -> libc::c_int {
    if request == libc::FIONBIO as libc::c_ulong && !arg.is_null() {
        if let Some(e) = fdtable::get(fd) {
            // SAFETY: FIONBIO's argument is a pointer to an int, which the
            // caller guarantees is readable.
            let on = unsafe { arg.cast::<libc::c_int>().read() } != 0;
            e.options.set_nonblocking(on);
            return 0;
        }
    }
    // SAFETY: the caller guarantees `arg` suits `request`.
    plain(unsafe { raw_syscall!(libc::SYS_ioctl, fd, request, arg) }) as libc::c_int
}

/// `setsockopt(2)`. After a successful `SOL_SOCKET` option on an adopted
/// socket, the patch reloads the socket's timeouts from the kernel, which
/// validated and rounded them.
///
/// # Safety
///
/// `value` must be readable for `len` bytes, as for libc's `setsockopt`.
pub unsafe fn setsockopt(
    fd: libc::c_int,
    level: libc::c_int,
    name: libc::c_int,
    value: *const libc::c_void,
    len: libc::socklen_t,
) -> libc::c_int {
    // SAFETY: the caller guarantees `value` holds `len` bytes.
    let r = unsafe { raw_syscall!(libc::SYS_setsockopt, fd, level, name, value, len) };
    if r.is_ok() && level == libc::SOL_SOCKET {
        if let Some(e) = fdtable::get(fd) {
            e.options.load_timeout(fd, Interest::Read);
            e.options.load_timeout(fd, Interest::Write);
        }
    }
    plain(r) as libc::c_int
}
