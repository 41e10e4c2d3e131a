//! [`Timeout`] and [`with_timeout`]: bound how long blocking code may take.
//!
//! When a timeout expires, the coroutine it belongs to is unwound from
//! wherever it is blocked (a sleep, a socket, a lock, a channel, a join),
//! running destructors, up to the point that armed it. As in gevent, code
//! that computes without ever blocking or yielding is **not** interrupted:
//! the timeout is delivered at the next blocking call.
//!
//! Timeouts nest: each catches only its own expiry, and when an outer one
//! expires, inner ones let it pass.

use std::any::Any;
use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::hub::{self, Hub};
use crate::interrupt::TimeoutExpired;
use crate::task::{Header, TaskRef};
use crate::timer::{TimerAction, TimerId};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The error [`with_timeout`] returns when time runs out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(_: Elapsed) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::TimedOut, Elapsed(()))
    }
}

/// A deadline for the calling coroutine, armed by [`start`](Self::start)
/// and disarmed by [`cancel`](Self::cancel) or by dropping it (gevent's
/// `Timeout`).
///
/// If it expires while the coroutine is blocked, the coroutine unwinds with
/// a [`TimeoutExpired`] payload. Catch it with [`Timeout::run`] (or use
/// [`with_timeout`], which does both); uncaught, it ends the coroutine like
/// a panic and its join handle returns it.
///
/// ```
/// use std::time::Duration;
/// use verde_runtime::Timeout;
///
/// let timeout = Timeout::start(Duration::from_millis(10));
/// let r = timeout.run(|| verde_runtime::sleep(Duration::from_secs(10)));
/// assert!(r.is_err());
/// ```
pub struct Timeout {
    id: u64,
    timer: TimerId,
    task: TaskRef,
    hub: &'static Hub,
    _not_send: PhantomData<*const ()>,
}

impl Timeout {
    /// Arms a timeout of `dur` for the calling coroutine (or thread).
    pub fn start(dur: Duration) -> Timeout {
        Timeout::start_at(crate::park::deadline_after(dur))
    }

    /// Arms a timeout that expires at `deadline`.
    pub fn start_at(deadline: Instant) -> Timeout {
        let hub = hub::current();
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let task = hub.current_task_ref();
        let action = TimerAction::Interrupt { task: task.clone(), code: id };
        let timer = hub.with_timers(|t| t.insert(deadline, action));
        Timeout { id, timer, task, hub, _not_send: PhantomData }
    }

    /// Whether the timeout is armed and has not expired yet (gevent's
    /// `Timeout.pending`). It turns false when the deadline passes, as the
    /// hub fires the timer, even if the coroutine has not been unwound yet
    /// (it is delivered at its next blocking call). A cancelled timeout
    /// cannot be asked: [`cancel`](Self::cancel) consumes it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use verde_runtime::Timeout;
    ///
    /// let long = Timeout::start(Duration::from_secs(60));
    /// assert!(long.pending());
    /// let short = Timeout::start(Duration::from_millis(1));
    /// assert!(short.pending());
    /// let r = short.run(|| {
    ///     verde_runtime::sleep(Duration::from_secs(60));
    /// });
    /// assert!(r.is_err());
    /// assert!(long.pending());
    /// ```
    pub fn pending(&self) -> bool {
        self.hub.with_timers(|t| t.is_armed(self.timer))
    }

    /// Whether `payload` (from `catch_unwind` or a join) is this timeout's
    /// expiry.
    pub fn is_mine(&self, payload: &(dyn Any + Send)) -> bool {
        payload.downcast_ref::<TimeoutExpired>().is_some_and(|t| t.id == self.id)
    }

    /// Runs `f`; if this timeout expires while `f` blocks, returns
    /// `Err(Elapsed)`. Other panics (including other timeouts) pass through.
    /// The timeout is disarmed when `run` returns.
    pub fn run<T>(self, f: impl FnOnce() -> T) -> Result<T, Elapsed> {
        let result = crate::unwinding::catch(f);
        let mine = matches!(&result, Err(p) if self.is_mine(&**p));
        drop(self);
        match result {
            Ok(v) => Ok(v),
            Err(_) if mine => Err(Elapsed(())),
            Err(p) => crate::unwinding::resume(p),
        }
    }

    /// Disarms the timeout. If it had already expired but not yet been
    /// delivered, the delivery is withdrawn.
    pub fn cancel(self) {}
}

impl Drop for Timeout {
    fn drop(&mut self) {
        // A timer that already fired is a stale id, which cancel ignores.
        drop(self.hub.with_timers(|t| t.cancel(self.timer)));
        Header::withdraw_interrupt(&self.task, self.id);
    }
}

impl fmt::Debug for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout").field("id", &self.id).finish()
    }
}

/// Runs `f`, unwinding it from its blocking point if it takes longer than
/// `dur` (gevent's `with_timeout`).
///
/// ```
/// use std::time::Duration;
///
/// let fast = verde_runtime::with_timeout(Duration::from_secs(5), || 1);
/// assert_eq!(fast, Ok(1));
/// let slow = verde_runtime::with_timeout(Duration::from_millis(5), || {
///     verde_runtime::sleep(Duration::from_secs(5));
/// });
/// assert!(slow.is_err());
/// ```
pub fn with_timeout<T>(dur: Duration, f: impl FnOnce() -> T) -> Result<T, Elapsed> {
    Timeout::start(dur).run(f)
}
