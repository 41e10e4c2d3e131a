//! Waiting on several fds at once: `poll(2)` that parks only the calling
//! coroutine (gevent's `gevent.select.poll` and `select`), and
//! [`wait_readwrite`].

use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::ops::{BitAnd, BitOr, BitOrAssign};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::{Duration, Instant};

use super::watch_set::WatchSet;
use super::{Interest, Registration};
use crate::{park, sys};

/// A set of `poll(2)` event bits: what to wait for in
/// [`PollFd::new`], and what happened in [`PollFd::revents`].
///
/// ```
/// use verde_runtime::io::PollFlags;
///
/// let both = PollFlags::IN | PollFlags::OUT;
/// assert!(both.contains(PollFlags::IN));
/// assert!(!PollFlags::IN.contains(both));
/// assert_eq!(format!("{both:?}"), "PollFlags(IN | OUT)");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PollFlags(libc::c_short);

impl PollFlags {
    /// Data to read (`POLLIN`).
    pub const IN: PollFlags = PollFlags(libc::POLLIN);
    /// Urgent data to read (`POLLPRI`).
    pub const PRI: PollFlags = PollFlags(libc::POLLPRI);
    /// Writing will not block (`POLLOUT`).
    pub const OUT: PollFlags = PollFlags(libc::POLLOUT);
    /// The peer shut down its writing half (`POLLRDHUP`).
    pub const RDHUP: PollFlags = PollFlags(libc::POLLRDHUP);
    /// An error is pending (`POLLERR`); reported whether asked for or not.
    pub const ERR: PollFlags = PollFlags(libc::POLLERR);
    /// Hung up (`POLLHUP`); reported whether asked for or not.
    pub const HUP: PollFlags = PollFlags(libc::POLLHUP);
    /// The fd is not open (`POLLNVAL`); reported whether asked for or not.
    pub const NVAL: PollFlags = PollFlags(libc::POLLNVAL);

    const NAMED: [(PollFlags, &'static str); 7] = [
        (PollFlags::IN, "IN"),
        (PollFlags::PRI, "PRI"),
        (PollFlags::OUT, "OUT"),
        (PollFlags::RDHUP, "RDHUP"),
        (PollFlags::ERR, "ERR"),
        (PollFlags::HUP, "HUP"),
        (PollFlags::NVAL, "NVAL"),
    ];

    /// No bits.
    pub const fn empty() -> PollFlags {
        PollFlags(0)
    }

    /// The raw `poll(2)` bits.
    pub const fn bits(self) -> libc::c_short {
        self.0
    }

    /// The flags with these raw `poll(2)` bits.
    pub const fn from_bits(bits: libc::c_short) -> PollFlags {
        PollFlags(bits)
    }

    /// Whether no bit is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether every bit of `other` is set in `self`.
    pub const fn contains(self, other: PollFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any bit of `other` is set in `self`.
    pub const fn intersects(self, other: PollFlags) -> bool {
        self.0 & other.0 != 0
    }
}

impl BitOr for PollFlags {
    type Output = PollFlags;
    fn bitor(self, rhs: PollFlags) -> PollFlags {
        PollFlags(self.0 | rhs.0)
    }
}

impl BitOrAssign for PollFlags {
    fn bitor_assign(&mut self, rhs: PollFlags) {
        self.0 |= rhs.0;
    }
}

impl BitAnd for PollFlags {
    type Output = PollFlags;
    fn bitand(self, rhs: PollFlags) -> PollFlags {
        PollFlags(self.0 & rhs.0)
    }
}

impl fmt::Debug for PollFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PollFlags(")?;
        let mut rest = self.0;
        let mut first = true;
        for (flag, name) in PollFlags::NAMED {
            if self.contains(flag) {
                if !first {
                    f.write_str(" | ")?;
                }
                f.write_str(name)?;
                first = false;
                rest &= !flag.0;
            }
        }
        if rest != 0 {
            if !first {
                f.write_str(" | ")?;
            }
            write!(f, "{rest:#x}")?;
        } else if first {
            f.write_str("empty")?;
        }
        f.write_str(")")
    }
}

/// One fd for [`poll`]: the fd, borrowed for as long as the `PollFd`
/// lives, what to wait for, and what `poll` found.
///
/// Laid out as libc's `pollfd`.
#[repr(transparent)]
pub struct PollFd<'fd> {
    raw: libc::pollfd,
    _fd: PhantomData<BorrowedFd<'fd>>,
}

impl<'fd> PollFd<'fd> {
    /// Waits on `fd` for `events`.
    pub fn new<F: AsFd + ?Sized>(fd: &'fd F, events: PollFlags) -> PollFd<'fd> {
        PollFd::from_borrowed_fd(fd.as_fd(), events)
    }

    /// Waits on `fd` for `events`.
    pub fn from_borrowed_fd(fd: BorrowedFd<'fd>, events: PollFlags) -> PollFd<'fd> {
        PollFd { raw: libc::pollfd { fd: fd.as_raw_fd(), events: events.0, revents: 0 }, _fd: PhantomData }
    }

    /// What this entry waits for.
    pub fn events(&self) -> PollFlags {
        PollFlags(self.raw.events)
    }

    /// Changes what this entry waits for.
    pub fn set_events(&mut self, events: PollFlags) {
        self.raw.events = events.0;
    }

    /// What the last [`poll`] found for this fd: some of the events asked
    /// for, and [`ERR`](PollFlags::ERR), [`HUP`](PollFlags::HUP) or
    /// [`NVAL`](PollFlags::NVAL) whether asked for or not. Empty if
    /// nothing happened.
    pub fn revents(&self) -> PollFlags {
        PollFlags(self.raw.revents)
    }
}

impl AsFd for PollFd<'_> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        // SAFETY: `raw.fd` came from a `BorrowedFd<'fd>`, and `'fd`
        // outlives `self`, so the fd is open.
        unsafe { BorrowedFd::borrow_raw(self.raw.fd) }
    }
}

impl fmt::Debug for PollFd<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PollFd")
            .field("fd", &self.raw.fd)
            .field("events", &self.events())
            .field("revents", &self.revents())
            .finish()
    }
}

/// Waits until one of `fds` is ready or `timeout` passes (`None`: no
/// limit), parking only the calling coroutine: `poll(2)` for coroutines,
/// gevent's `gevent.select.poll().poll()`.
///
/// Returns how many entries have non-empty [`revents`](PollFd::revents),
/// as `poll(2)` does; `Ok(0)` when the timeout passed first. A zero
/// timeout asks without waiting. The fds may be sockets, pipes, eventfds,
/// timerfds, a C library's sockets, blocking or not: they are watched
/// through a private epoll instance, never registered with the hub, so
/// other coroutines may wait on them too. A kill or
/// [`Timeout`](crate::Timeout) interrupts the wait. On a plain thread it
/// blocks the thread (while running the coroutines that thread spawned).
///
/// The `revents` are the kernel's own: each wake-up asks `poll(2)` again
/// without waiting.
///
/// ```
/// use std::io::Write;
/// use std::os::unix::net::UnixStream;
/// use std::time::Duration;
/// use verde_runtime::io::{poll, PollFd, PollFlags};
///
/// let (a, mut a_peer) = UnixStream::pair()?;
/// let (b, _b_peer) = UnixStream::pair()?;
/// let writer = verde_runtime::spawn(move || a_peer.write_all(b"x"));
/// let mut fds = [PollFd::new(&a, PollFlags::IN), PollFd::new(&b, PollFlags::IN)];
/// assert_eq!(poll(&mut fds, Some(Duration::from_secs(10)))?, 1);
/// assert!(fds[0].revents().contains(PollFlags::IN));
/// assert!(fds[1].revents().is_empty());
/// writer.join().unwrap()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn poll(fds: &mut [PollFd<'_>], timeout: Option<Duration>) -> io::Result<usize> {
    // SAFETY: `PollFd` is a `repr(transparent)` wrapper of `libc::pollfd`
    // (the `PhantomData` is zero-sized), so the slices have the same
    // layout; the borrow of `fds` covers the new slice's lifetime.
    let raw = unsafe { std::slice::from_raw_parts_mut(fds.as_mut_ptr().cast::<libc::pollfd>(), fds.len()) };
    poll_raw(raw, timeout)
}

/// [`poll`] on libc's own `pollfd`s, whose fds the caller keeps open.
fn poll_raw(fds: &mut [libc::pollfd], timeout: Option<Duration>) -> io::Result<usize> {
    let n = probe(fds)?;
    if n > 0 || timeout == Some(Duration::ZERO) {
        return Ok(n);
    }
    let deadline = timeout.map(park::deadline_after);
    if fds.is_empty() {
        // poll(NULL, 0, ms) is a sleep.
        park::sleep(timeout.unwrap_or(Duration::MAX));
        return Ok(0);
    }
    let set = WatchSet::new(fds.iter().map(|p| (p.fd, p.events)))?;
    let reg = Registration::try_new(set.fd())?;
    loop {
        let woken = reg.wait(Interest::Read, deadline);
        let n = probe(fds)?;
        if n > 0 || !woken || deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(n);
        }
    }
}

/// Asks `poll(2)` without waiting, retrying on `EINTR`.
fn probe(fds: &mut [libc::pollfd]) -> io::Result<usize> {
    loop {
        match sys::ppoll(fds, Some(Duration::ZERO)) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Waits until `fd` is readable or writable, whichever comes first:
/// gevent's `wait_readwrite`. See [`wait_readable`](super::wait_readable)
/// for the timeout; an fd that is not open is an `EBADF` error.
///
/// ```
/// use std::os::fd::AsRawFd;
/// use std::os::unix::net::UnixStream;
///
/// // An idle socket is writable at once.
/// let (a, _b) = UnixStream::pair().unwrap();
/// verde_runtime::io::wait_readwrite(a.as_raw_fd(), None).unwrap();
/// ```
pub fn wait_readwrite(fd: RawFd, timeout: Option<Duration>) -> io::Result<()> {
    let events = libc::POLLIN | libc::POLLPRI | libc::POLLRDHUP | libc::POLLOUT;
    if fd < 0 {
        return Err(io::Error::from_raw_os_error(libc::EBADF));
    }
    let mut pfd = [libc::pollfd { fd, events, revents: 0 }];
    let ready = poll_raw(&mut pfd, timeout)? > 0;
    if pfd[0].revents & libc::POLLNVAL != 0 {
        return Err(io::Error::from_raw_os_error(libc::EBADF));
    }
    if !ready {
        return Err(super::timed_out());
    }
    Ok(())
}
