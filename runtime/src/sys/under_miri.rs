//! The hub's system calls through libc's functions, for Miri, which
//! emulates those (epoll and eventfd included) but not `libc::syscall`.
//! Nothing is interposed under Miri, so calling libc by symbol is safe
//! here. Miri's epoll supports only edge-triggered interest, so every
//! registration is made edge-triggered; the hub drains its wake-up
//! eventfd on every wake, so its one level-triggered registration behaves
//! the same.

use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

use super::{cvt, millis_rounded_up};

/// `read(2)`.
pub fn read(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: libc writes at most `buf.len()` bytes into `buf`.
    cvt(unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) } as libc::c_long)
}

/// `write(2)`.
pub fn write(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: libc reads at most `buf.len()` bytes from `buf`.
    cvt(unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) } as libc::c_long)
}

/// `close(2)`.
pub fn close(fd: RawFd) -> io::Result<()> {
    // SAFETY: no pointers; the caller owns `fd`.
    cvt(unsafe { libc::close(fd) }.into()).map(drop)
}

/// `epoll_create1(EPOLL_CLOEXEC)`.
pub fn epoll_create() -> io::Result<RawFd> {
    // SAFETY: no pointers.
    cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) }.into()).map(|fd| fd as RawFd)
}

/// `epoll_ctl(2)`, always edge-triggered.
pub fn epoll_ctl(epfd: RawFd, op: libc::c_int, fd: RawFd, events: u32, data: u64) -> io::Result<()> {
    let mut ev = libc::epoll_event { events: events | libc::EPOLLET as u32, u64: data };
    // SAFETY: `ev` is a valid epoll_event that lives across the call.
    cvt(unsafe { libc::epoll_ctl(epfd, op, fd, &mut ev) }.into()).map(drop)
}

/// `epoll_wait(2)`, with the timeout rounded up to whole milliseconds.
pub fn epoll_wait(epfd: RawFd, events: &mut [libc::epoll_event], timeout: Option<Duration>) -> io::Result<usize> {
    let len = libc::c_int::try_from(events.len()).unwrap_or(libc::c_int::MAX);
    // SAFETY: libc writes at most `len` entries into `events`.
    cvt(unsafe { libc::epoll_wait(epfd, events.as_mut_ptr(), len, millis_rounded_up(timeout)) }.into())
}

/// `eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)`.
pub fn eventfd() -> io::Result<RawFd> {
    // SAFETY: no pointers.
    cvt(unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) }.into()).map(|fd| fd as RawFd)
}
