//! One patched call: who makes it, and how it waits.
//!
//! A [`Scope`] covers the call. It decides between the two behaviours:
//! a coroutine parks (through its hub), anything else blocks its thread
//! exactly as libc would. It also marks the thread as inside patch code,
//! so that a call the patch's own code might make (a log line, a panic
//! message) goes straight to the kernel instead of re-entering the patch,
//! and it keeps a kill or `Timeout` from unwinding the coroutine through
//! the C-ABI frame of the patched function: such an interrupt ends the
//! call's wait with `ECANCELED` instead, and stays pending.
//!
//! A [`Sock`] is a call on an adopted socket (see `fdtable`): it runs the
//! system call on the non-blocking fd and, when the program's mode is
//! blocking, waits for readiness between tries, up to the socket's
//! timeout.

use std::cell::Cell;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::fdtable::{self, Entry};
use super::raw::{self, Errno, SysResult};
use crate::hub;
use crate::io::Interest;
use crate::task::{Header, NO_INTERRUPT};

/// Whether coroutines get the cooperative behaviour ([`super::set_enabled`]).
pub(crate) static ENABLED: AtomicBool = AtomicBool::new(true);
/// Set by the first patched call: the patch is linked into this program.
pub(crate) static ACTIVE: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// The thread is running patch code (not parked in it).
    static INSIDE: Cell<bool> = const { Cell::new(false) };
}

/// The context of one patched call; see the module docs.
pub(crate) struct Scope {
    task: Option<&'static Header>,
    defer_was: bool,
    errno: libc::c_int,
}

impl Scope {
    /// Opens the scope of a patched call, or `None` when the call must be
    /// the plain system call: it was made from inside patch code.
    #[inline]
    pub(crate) fn enter() -> Option<Scope> {
        if INSIDE.with(Cell::get) {
            return None;
        }
        if !ACTIVE.load(Ordering::Relaxed) {
            ACTIVE.store(true, Ordering::Relaxed);
        }
        INSIDE.with(|i| i.set(true));
        let task = if ENABLED.load(Ordering::Relaxed) { hub::running_coroutine() } else { None };
        let defer_was = task.is_some_and(|t| t.defer_interrupts.replace(true));
        Some(Scope { task, defer_was, errno: raw::errno() })
    }

    /// Whether the caller is a coroutine that parks instead of blocking.
    #[inline]
    pub(crate) fn in_coroutine(&self) -> bool {
        self.task.is_some()
    }

    /// Whether the call must end with `ECANCELED`: a kill or `Timeout`
    /// waits to be delivered to the calling coroutine. A coroutine that
    /// was already told about this very interrupt and waits again (it
    /// ignored the error) first parks until the interrupt is posted anew
    /// (a kill repeated, as at hub teardown), so it neither spins nor keeps
    /// a killed coroutine's loop running.
    pub(crate) fn cancelled(&self) -> bool {
        let Some(t) = self.task else { return false };
        let code = t.interrupt.load(Ordering::Relaxed);
        if code == NO_INTERRUPT {
            return false;
        }
        if t.cancel_reported.replace(code) == code {
            self.parked(crate::park::park);
        }
        true
    }

    /// Runs `f`, which may park, with the thread no longer marked as inside
    /// patch code: other coroutines run meanwhile and make their own calls.
    pub(crate) fn parked<R>(&self, f: impl FnOnce() -> R) -> R {
        INSIDE.with(|i| i.set(false));
        let r = f();
        INSIDE.with(|i| i.set(true));
        r
    }

    /// The result of a call as libc returns it: the value, or -1 with
    /// `errno` set. A success leaves `errno` as the caller had it, although
    /// tries that failed on the way may have changed it.
    pub(crate) fn finish(&self, result: SysResult) -> isize {
        match result {
            Ok(n) => {
                raw::set_errno(self.errno);
                n
            }
            Err(Errno(e)) => {
                raw::set_errno(e);
                -1
            }
        }
    }

    /// Sleeps until `deadline`: a park in a coroutine. Returns false if a
    /// kill or `Timeout` ended it early (see [`cancelled`](Self::cancelled)).
    pub(crate) fn sleep_until(&self, deadline: Instant) -> bool {
        loop {
            if self.cancelled() {
                return false;
            }
            if self.parked(|| crate::park::park_until(deadline)) == crate::park::Unparked::TimedOut
                || Instant::now() >= deadline
            {
                return true;
            }
        }
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        if let Some(t) = self.task {
            t.defer_interrupts.set(self.defer_was);
        }
        INSIDE.with(|i| i.set(false));
    }
}

/// The error of a wait that a kill or `Timeout` ended.
pub(crate) const INTERRUPTED: Errno = Errno(libc::ECANCELED);

/// A call on an adopted socket.
pub(crate) struct Sock<'a> {
    pub scope: &'a Scope,
    pub fd: RawFd,
    pub entry: Arc<Entry>,
}

impl<'a> Sock<'a> {
    /// The call on `fd` as an adopted socket, or `None` if it is plain: a
    /// coroutine adopts the socket now; other callers only honour an
    /// adoption that already happened.
    #[inline]
    pub(crate) fn new(scope: &'a Scope, fd: RawFd) -> Option<Sock<'a>> {
        let entry = if scope.in_coroutine() { fdtable::adopt(fd) } else { fdtable::get(fd) }?;
        Some(Sock { scope, fd, entry })
    }

    /// Whether this call must not wait: the program's mode is non-blocking,
    /// or the call asked for `MSG_DONTWAIT`.
    #[inline]
    pub(crate) fn nonblocking(&self, flags: libc::c_int) -> bool {
        flags & libc::MSG_DONTWAIT != 0 || self.entry.options.nonblocking()
    }

    /// The socket's readiness count for `interest`, to read before an
    /// operation that may fail with `EAGAIN` and pass to
    /// [`wait`](Self::wait) after it.
    #[inline]
    pub(crate) fn readiness(&self, interest: Interest) -> u64 {
        self.entry.reg.readiness(interest)
    }

    /// Waits until the fd may be ready for `interest`, or `deadline`:
    /// for a readiness event newer than `since`, the
    /// [`readiness`](Self::readiness) count read before the operation that
    /// found it not ready, so an event that came in between is not missed
    /// (another hub's epoll may deliver it while this coroutine runs).
    /// `Err(EAGAIN)` when the deadline passes, `ECANCELED` when a kill or
    /// `Timeout` is pending, `EINTR` when a signal interrupts a thread's
    /// wait, and `EBADF` when the fd was closed meanwhile. May return `Ok`
    /// spuriously: the caller retries its operation.
    pub(crate) fn wait(&self, interest: Interest, since: u64, deadline: Option<Instant>) -> Result<(), Errno> {
        if !self.scope.in_coroutine() {
            return wait_thread(self.fd, interest, deadline);
        }
        if self.scope.cancelled() {
            return Err(INTERRUPTED);
        }
        let ready = self.scope.parked(|| self.entry.reg.wait_since(interest, since, deadline));
        if self.scope.cancelled() {
            return Err(INTERRUPTED);
        }
        if !fdtable::is_current(self.fd, &self.entry) {
            return Err(Errno(libc::EBADF));
        }
        if ready {
            Ok(())
        } else {
            Err(Errno(libc::EAGAIN))
        }
    }

    /// Runs `op` until it stops failing with `EAGAIN`, waiting for
    /// `interest` in between, up to the socket's timeout for that
    /// direction (then `EAGAIN`, as the kernel's timeout gives). In
    /// non-blocking mode (`flags` may hold `MSG_DONTWAIT`) runs it once.
    #[inline]
    pub(crate) fn io(&self, interest: Interest, flags: libc::c_int, mut op: impl FnMut() -> SysResult) -> SysResult {
        let mut since = self.readiness(interest);
        let first = op();
        if first != Err(Errno(libc::EAGAIN)) || self.nonblocking(flags) {
            return first;
        }
        let deadline = self.entry.options.deadline(interest);
        loop {
            self.wait(interest, since, deadline)?;
            since = self.readiness(interest);
            match op() {
                Err(Errno(libc::EAGAIN)) => {}
                other => return other,
            }
        }
    }

    /// Moves `total` bytes with `op(done)`, which transfers from offset
    /// `done` on: a blocking stream socket's send (or a `MSG_WAITALL`
    /// receive) that the kernel would complete before returning. Stops
    /// early at end of stream (a 0 from `op`), an error, or the timeout,
    /// returning the bytes moved so far if any.
    pub(crate) fn transfer_all(
        &self,
        interest: Interest,
        total: usize,
        mut op: impl FnMut(usize) -> SysResult,
    ) -> SysResult {
        let mut done = 0usize;
        let mut deadline = None;
        loop {
            let since = self.readiness(interest);
            let step = match op(done) {
                Ok(0) if total != 0 => return Ok(done as isize),
                Ok(n) => {
                    done += n as usize;
                    if done >= total {
                        return Ok(done as isize);
                    }
                    Ok(())
                }
                Err(Errno(libc::EAGAIN)) => {
                    let d = *deadline.get_or_insert_with(|| self.entry.options.deadline(interest));
                    self.wait(interest, since, d)
                }
                Err(e) => Err(e),
            };
            if let Err(e) = step {
                return if done > 0 { Ok(done as isize) } else { Err(e) };
            }
        }
    }
}

/// A thread's wait on a socket the patch made non-blocking: the `poll` the
/// kernel's blocking call amounts to.
pub(crate) fn wait_thread(fd: RawFd, interest: Interest, deadline: Option<Instant>) -> Result<(), Errno> {
    let events = match interest {
        Interest::Read => libc::POLLIN | libc::POLLPRI | libc::POLLRDHUP,
        Interest::Write => libc::POLLOUT,
    };
    let timeout = deadline.map(|d| d.saturating_duration_since(Instant::now()));
    match raw::poll_one(fd, events, timeout)? {
        0 if deadline.is_some_and(|d| Instant::now() >= d) => Err(Errno(libc::EAGAIN)),
        _ => Ok(()),
    }
}

/// A relative timeout in milliseconds (`poll`'s and `epoll_wait`'s) as a
/// deadline: `None` for a negative one (forever).
pub(crate) fn deadline_ms(timeout_ms: libc::c_int) -> Option<Instant> {
    u64::try_from(timeout_ms).ok().map(|ms| crate::park::deadline_after(Duration::from_millis(ms)))
}
