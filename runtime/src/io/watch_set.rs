//! A private epoll instance over a caller's fds, for waits on many fds at
//! once: [`poll`](super::poll()) and the patched `poll` and `select`.
//!
//! The caller's fds go into an epoll instance of their own, level-triggered,
//! and that one fd is what the coroutine waits on through a
//! [`Registration`](super::Registration): it turns readable whenever any of
//! the watched fds is ready. The hub's epoll is never touched for the
//! caller's fds, so they need no registration, may be blocking, and may
//! be watched by other coroutines at the same time.

use std::io;
use std::os::fd::RawFd;

use crate::sys;

/// A private epoll instance watching `(fd, poll(2) events)` pairs,
/// level-triggered, closed on drop.
pub(crate) struct WatchSet(RawFd);

impl WatchSet {
    /// Watches each `(fd, events)` pair; negative fds are skipped, as
    /// `poll(2)` skips them, and repeated fds have their events merged.
    pub(crate) fn new(fds: impl Iterator<Item = (RawFd, libc::c_short)>) -> io::Result<WatchSet> {
        let set = WatchSet(sys::epoll_create()?);
        let mut merged: Vec<(RawFd, u32)> = Vec::new();
        for (fd, events) in fds.filter(|&(fd, _)| fd >= 0) {
            // poll's event bits and epoll's are the same numbers on Linux.
            let events = u32::from(events as u16);
            match merged.iter_mut().find(|(f, _)| *f == fd) {
                Some((_, e)) => *e |= events,
                None => merged.push((fd, events)),
            }
        }
        for (fd, events) in merged {
            // An fd epoll refuses (a regular file: always ready, EPERM; a
            // closed fd, EBADF) is one the caller's own zero-timeout probe
            // reports on, so it is left to that probe.
            let _ = sys::epoll_ctl(set.0, libc::EPOLL_CTL_ADD, fd, events, 0);
        }
        Ok(set)
    }

    /// The epoll fd, readable while any watched fd is ready.
    pub(crate) fn fd(&self) -> RawFd {
        self.0
    }
}

impl Drop for WatchSet {
    fn drop(&mut self) {
        let _ = sys::close(self.0);
    }
}
