//! `socket`, `connect`, `accept` and `accept4`.

use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use super::call::{Scope, Sock};
use super::fdtable::{self, Options};
use super::raw::{plain, raw_syscall, Errno, SysResult};
use crate::io::Interest;
use crate::park;

/// Shortest and longest wait between tries of a Unix-socket `connect` to a
/// full backlog, which reports no readiness.
const UNIX_RETRY_MIN: Duration = Duration::from_millis(1);
const UNIX_RETRY_MAX: Duration = Duration::from_millis(64);

/// `socket(2)`. In a coroutine the socket is created non-blocking and
/// adopted at once, in the mode `ty`'s `SOCK_NONBLOCK` asks for.
///
/// # Safety
///
/// None beyond libc's: integer arguments only.
pub unsafe fn socket(domain: libc::c_int, ty: libc::c_int, protocol: libc::c_int) -> libc::c_int {
    let Some(scope) = Scope::enter() else {
        // SAFETY: integer arguments only.
        return plain(unsafe { raw_syscall!(libc::SYS_socket, domain, ty, protocol) }) as libc::c_int;
    };
    let result = if scope.in_coroutine() {
        // SAFETY: integer arguments only.
        let r = unsafe { raw_syscall!(libc::SYS_socket, domain, ty | libc::SOCK_NONBLOCK, protocol) };
        if let Ok(fd) = r {
            let base = ty & !(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC);
            fdtable::adopt_new(fd as RawFd, Options::new(domain, base, ty & libc::SOCK_NONBLOCK != 0));
        }
        r
    } else {
        // SAFETY: integer arguments only.
        let r = unsafe { raw_syscall!(libc::SYS_socket, domain, ty, protocol) };
        if let Ok(fd) = r {
            fdtable::forget(fd as RawFd);
        }
        r
    };
    scope.finish(result) as libc::c_int
}

/// `connect(2)`. In blocking mode a connection in progress is waited for,
/// up to `SO_SNDTIMEO` (then `EINPROGRESS`, as the kernel reports it).
///
/// # Safety
///
/// `addr` must point to `len` readable bytes, as for libc's `connect`.
pub unsafe fn connect(fd: libc::c_int, addr: *const libc::sockaddr, len: libc::socklen_t) -> libc::c_int {
    // SAFETY: the caller guarantees `addr` holds `len` bytes; the kernel
    // only reads them.
    let op = || unsafe { raw_syscall!(libc::SYS_connect, fd, addr, len) };
    let Some(scope) = Scope::enter() else {
        return plain(op()) as libc::c_int;
    };
    let result = match Sock::new(&scope, fd) {
        None => op(),
        Some(sock) => connect_blocking(&sock, op),
    };
    scope.finish(result) as libc::c_int
}

fn connect_blocking(sock: &Sock<'_>, mut op: impl FnMut() -> SysResult) -> SysResult {
    let mut since = sock.readiness(Interest::Write);
    let first = op();
    if sock.nonblocking(0) {
        return first;
    }
    let deadline = sock.entry.options.deadline(Interest::Write);
    match first {
        Err(Errno(libc::EINPROGRESS | libc::EALREADY)) => {}
        Err(Errno(libc::EAGAIN)) if sock.entry.options.unix => return connect_unix_backlog(sock, op, since, deadline),
        other => return other,
    }
    // A connect on a socket whose connection is in progress answers for
    // it: EALREADY while it still is, EISCONN once it succeeded, and the
    // error once it failed.
    loop {
        match sock.wait(Interest::Write, since, deadline) {
            Err(Errno(libc::EAGAIN)) => return Err(Errno(libc::EINPROGRESS)),
            Err(e) => return Err(e),
            Ok(()) => {}
        }
        since = sock.readiness(Interest::Write);
        match op() {
            Err(Errno(libc::EINPROGRESS | libc::EALREADY)) => {}
            Err(Errno(libc::EISCONN)) => return Ok(0),
            other => return other,
        }
    }
}

/// A Unix-socket connect to a full backlog: the kernel's blocking connect
/// waits for room, but reports no readiness to wait for, so retry with a
/// backoff from 1 ms to 64 ms until the timeout.
fn connect_unix_backlog(
    sock: &Sock<'_>,
    mut op: impl FnMut() -> SysResult,
    mut since: u64,
    deadline: Option<Instant>,
) -> SysResult {
    let mut step = UNIX_RETRY_MIN;
    loop {
        let cap = park::deadline_after(step);
        match sock.wait(Interest::Write, since, Some(deadline.map_or(cap, |d| d.min(cap)))) {
            Err(Errno(libc::EAGAIN)) if deadline.is_none_or(|d| Instant::now() < d) => {}
            Err(e) => return Err(e),
            Ok(()) => {}
        }
        since = sock.readiness(Interest::Write);
        match op() {
            Err(Errno(libc::EAGAIN)) => step = (step * 2).min(UNIX_RETRY_MAX),
            other => return other,
        }
    }
}

/// `accept(2)`: [`accept4`] with no flags.
///
/// # Safety
///
/// As for [`accept4`].
pub unsafe fn accept(fd: libc::c_int, addr: *mut libc::sockaddr, len: *mut libc::socklen_t) -> libc::c_int {
    // SAFETY: forwarded from the caller.
    unsafe { accept4(fd, addr, len, 0) }
}

/// `accept4(2)`. In a coroutine the new socket is adopted at once, in the
/// mode `flags`' `SOCK_NONBLOCK` asks for, with the listener's timeouts
/// (which the kernel copies to it).
///
/// # Safety
///
/// `addr` and `len` must be null, or `len` must point to a writable
/// `socklen_t` holding the size of the writable buffer at `addr`, as for
/// libc's `accept4`.
pub unsafe fn accept4(
    fd: libc::c_int,
    addr: *mut libc::sockaddr,
    len: *mut libc::socklen_t,
    flags: libc::c_int,
) -> libc::c_int {
    // SAFETY: the caller guarantees `addr` and `len` describe a writable
    // address buffer (or are null); the kernel writes within it.
    let op = |flags: libc::c_int| unsafe { raw_syscall!(libc::SYS_accept4, fd, addr, len, flags) };
    let Some(scope) = Scope::enter() else {
        return plain(op(flags)) as libc::c_int;
    };
    let result = match Sock::new(&scope, fd) {
        None => {
            let r = op(flags);
            if let Ok(new) = r {
                fdtable::forget(new as RawFd);
            }
            r
        }
        Some(sock) if scope.in_coroutine() => {
            let r = sock.io(Interest::Read, 0, || op(flags | libc::SOCK_NONBLOCK));
            if let Ok(new) = r {
                let options = sock.entry.options.accepted(flags & libc::SOCK_NONBLOCK != 0);
                fdtable::adopt_new(new as RawFd, options);
            }
            r
        }
        Some(sock) => {
            let r = sock.io(Interest::Read, 0, || op(flags));
            if let Ok(new) = r {
                fdtable::forget(new as RawFd);
            }
            r
        }
    };
    scope.finish(result) as libc::c_int
}
