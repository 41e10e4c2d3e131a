//! Raw system calls used by the runtime itself.
//!
//! The runtime never calls libc's `read`, `write`, `epoll_wait` and friends by
//! symbol: when an application enables libc interposition
//! ([`patch_all!`](crate::patch_all)), those symbols resolve to verde's
//! cooperative versions, and the runtime must not recurse into them. Every
//! call here goes through `libc::syscall`, which is never interposed.

use std::io;
use std::os::fd::RawFd;

/// Converts a raw syscall return value into an `io::Result`.
#[inline]
pub fn cvt(ret: libc::c_long) -> io::Result<usize> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret as usize)
    }
}

/// `read(2)` without interposition.
#[inline]
pub fn read(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`, which is
    // a valid, exclusively borrowed buffer for the duration of the call.
    cvt(unsafe { libc::syscall(libc::SYS_read, fd, buf.as_mut_ptr(), buf.len()) })
}

/// `write(2)` without interposition.
#[inline]
pub fn write(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: the kernel reads at most `buf.len()` bytes from a valid buffer.
    cvt(unsafe { libc::syscall(libc::SYS_write, fd, buf.as_ptr(), buf.len()) })
}

/// `close(2)` without interposition.
#[inline]
pub fn close(fd: RawFd) -> io::Result<()> {
    // SAFETY: closing an fd has no memory-safety preconditions; the caller
    // owns `fd`.
    cvt(unsafe { libc::syscall(libc::SYS_close, fd) }).map(drop)
}

/// `epoll_create1(EPOLL_CLOEXEC)`.
pub fn epoll_create() -> io::Result<RawFd> {
    // SAFETY: no pointers are passed.
    cvt(unsafe { libc::syscall(libc::SYS_epoll_create1, libc::EPOLL_CLOEXEC) }).map(|fd| fd as RawFd)
}

/// `epoll_ctl(2)`.
pub fn epoll_ctl(epfd: RawFd, op: libc::c_int, fd: RawFd, events: u32, data: u64) -> io::Result<()> {
    let mut ev = libc::epoll_event { events, u64: data };
    // SAFETY: `ev` is a valid epoll_event that lives across the call.
    cvt(unsafe { libc::syscall(libc::SYS_epoll_ctl, epfd, op, fd, &mut ev as *mut libc::epoll_event) }).map(drop)
}

/// `epoll_pwait(2)` with no signal mask; `timeout_ms` of -1 waits forever.
pub fn epoll_wait(epfd: RawFd, events: &mut [libc::epoll_event], timeout_ms: i32) -> io::Result<usize> {
    // SAFETY: the kernel writes at most `events.len()` entries into `events`.
    cvt(unsafe {
        libc::syscall(
            libc::SYS_epoll_pwait,
            epfd,
            events.as_mut_ptr(),
            events.len() as libc::c_int,
            timeout_ms,
            std::ptr::null::<libc::sigset_t>(),
            0usize,
        )
    })
}

/// `eventfd2(0, EFD_NONBLOCK | EFD_CLOEXEC)`.
pub fn eventfd() -> io::Result<RawFd> {
    // SAFETY: no pointers are passed.
    cvt(unsafe { libc::syscall(libc::SYS_eventfd2, 0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) }).map(|fd| fd as RawFd)
}

/// `poll(2)` on a single fd, used by plain threads that have no coroutines.
pub fn poll_one(fd: RawFd, events: libc::c_short, timeout_ms: i32) -> io::Result<libc::c_short> {
    let mut pfd = libc::pollfd { fd, events, revents: 0 };
    // SAFETY: `pfd` is one valid pollfd for the duration of the call.
    let n = cvt(unsafe { libc::syscall(libc::SYS_poll, &mut pfd as *mut libc::pollfd, 1u64, timeout_ms) })?;
    Ok(if n == 0 { 0 } else { pfd.revents })
}

/// Converts a duration until `deadline` into an epoll/poll timeout in
/// milliseconds, rounding up so a wait never ends before its deadline.
pub fn timeout_ms(deadline: Option<std::time::Instant>, now: std::time::Instant) -> i32 {
    match deadline {
        None => -1,
        Some(d) if d <= now => 0,
        Some(d) => {
            let dur = d - now;
            let ms = dur.as_millis() + u128::from(dur.subsec_nanos() % 1_000_000 != 0);
            ms.min(i32::MAX as u128) as i32
        }
    }
}
