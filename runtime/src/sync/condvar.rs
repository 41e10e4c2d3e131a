//! [`Condvar`]: `std::sync::Condvar` for coroutines.

use std::fmt;
use std::time::{Duration, Instant};

use super::mutex::MutexGuard;
use super::poison::{self, LockResult};
use super::state_mutex::{lock, StateMutex};
use super::wait_list::{wake_all, wake_one, Exit, WaitList, WaitSite, Woke};
use crate::park;

/// A condition variable for verde's [`Mutex`](super::Mutex): a drop-in for
/// `std::sync::Condvar`.
///
/// `wait` atomically releases the mutex and parks; `notify_one` wakes the
/// longest-waiting waiter and `notify_all` wakes them all (FIFO). Every wait
/// may also return without a notification, as with std (a waiter killed
/// after being chosen by `notify_one` passes the notification to the next
/// waiter, but callers should still re-check their condition in a loop, or
/// use [`wait_while`](Self::wait_while)).
///
/// A kill or [`Timeout`](crate::Timeout) delivered while waiting unwinds
/// out of `wait` *without* re-taking the mutex: the guard was consumed, so
/// nothing is left locked.
///
/// ```
/// use std::sync::Arc;
/// use verde_runtime::sync::{Condvar, Mutex};
///
/// let pair = Arc::new((Mutex::new(false), Condvar::new()));
/// let pair2 = pair.clone();
/// let h = verde_runtime::spawn(move || {
///     let (ready, cv) = &*pair2;
///     *ready.lock().unwrap() = true;
///     cv.notify_one();
/// });
/// let (ready, cv) = &*pair;
/// let guard = cv.wait_while(ready.lock().unwrap(), |ready| !*ready).unwrap();
/// assert!(*guard);
/// # drop(guard);
/// h.join().unwrap();
/// ```
pub struct Condvar {
    waiters: StateMutex<WaitList<()>>,
}

/// Whether a timed wait on a [`Condvar`] ended because its time ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitTimeoutResult(bool);

impl WaitTimeoutResult {
    /// Whether the wait ended because its time ran out (rather than by a
    /// notification).
    #[must_use]
    pub fn timed_out(&self) -> bool {
        self.0
    }
}

impl Condvar {
    /// A condition variable with no waiters.
    #[must_use]
    pub const fn new() -> Condvar {
        Condvar { waiters: StateMutex::new(WaitList::new()) }
    }

    /// Releases the guard's mutex, parks until notified, then takes the
    /// mutex again.
    ///
    /// # Errors
    ///
    /// `Err` (holding the re-taken guard) if the mutex is poisoned.
    pub fn wait<'a, T: ?Sized>(&self, guard: MutexGuard<'a, T>) -> LockResult<MutexGuard<'a, T>> {
        let mutex = guard.mutex();
        self.park(guard, None);
        mutex.lock()
    }

    /// Waits while `condition` holds, re-checking it after every wake-up.
    ///
    /// # Errors
    ///
    /// `Err` (holding the guard) if the mutex is poisoned.
    pub fn wait_while<'a, T: ?Sized, F>(
        &self,
        mut guard: MutexGuard<'a, T>,
        mut condition: F,
    ) -> LockResult<MutexGuard<'a, T>>
    where
        F: FnMut(&mut T) -> bool,
    {
        while condition(&mut *guard) {
            guard = self.wait(guard)?;
        }
        Ok(guard)
    }

    /// Like [`wait`](Self::wait), giving up after `dur`.
    ///
    /// # Errors
    ///
    /// `Err` (holding the guard and the result) if the mutex is poisoned.
    ///
    /// ```
    /// use std::time::Duration;
    /// use verde_runtime::sync::{Condvar, Mutex};
    ///
    /// let (m, cv) = (Mutex::new(()), Condvar::new());
    /// let (_guard, result) = cv.wait_timeout(m.lock().unwrap(), Duration::from_millis(5)).unwrap();
    /// assert!(result.timed_out());
    /// ```
    pub fn wait_timeout<'a, T: ?Sized>(
        &self,
        guard: MutexGuard<'a, T>,
        dur: Duration,
    ) -> LockResult<(MutexGuard<'a, T>, WaitTimeoutResult)> {
        let mutex = guard.mutex();
        let notified = self.park(guard, Some(park::deadline_after(dur)));
        poison::map_result(mutex.lock(), |g| (g, WaitTimeoutResult(!notified)))
    }

    /// Like [`wait_timeout`](Self::wait_timeout) with the timeout in
    /// milliseconds, returning whether the wait was *not* timed out (std's
    /// deprecated form, kept so that code calling it compiles unchanged).
    ///
    /// # Errors
    ///
    /// `Err` (holding the guard and the flag) if the mutex is poisoned.
    #[deprecated(note = "replaced by `Condvar::wait_timeout` (deprecated in std since Rust 1.6.0)")]
    pub fn wait_timeout_ms<'a, T: ?Sized>(
        &self,
        guard: MutexGuard<'a, T>,
        ms: u32,
    ) -> LockResult<(MutexGuard<'a, T>, bool)> {
        let result = self.wait_timeout(guard, Duration::from_millis(u64::from(ms)));
        poison::map_result(result, |(g, r)| (g, !r.timed_out()))
    }

    /// Waits while `condition` holds, for at most `dur` in total. The result
    /// says whether time ran out with the condition still holding.
    ///
    /// # Errors
    ///
    /// `Err` (holding the guard and the result) if the mutex is poisoned.
    pub fn wait_timeout_while<'a, T: ?Sized, F>(
        &self,
        mut guard: MutexGuard<'a, T>,
        dur: Duration,
        mut condition: F,
    ) -> LockResult<(MutexGuard<'a, T>, WaitTimeoutResult)>
    where
        F: FnMut(&mut T) -> bool,
    {
        let deadline = park::deadline_after(dur);
        loop {
            if !condition(&mut *guard) {
                return Ok((guard, WaitTimeoutResult(false)));
            }
            if Instant::now() >= deadline {
                return Ok((guard, WaitTimeoutResult(true)));
            }
            let mutex = guard.mutex();
            let notified = self.park(guard, Some(deadline));
            guard = match mutex.lock() {
                Ok(g) => g,
                // As std's: the result of the wait that found the poison.
                Err(e) => return Err(poison::PoisonError::new((e.into_inner(), WaitTimeoutResult(!notified)))),
            };
        }
    }

    /// Wakes the longest-waiting waiter, if any.
    pub fn notify_one(&self) {
        let waker = lock(&self.waiters).notify_front(|_| {});
        wake_one(waker);
    }

    /// Wakes every waiter.
    pub fn notify_all(&self) {
        let wakers = lock(&self.waiters).notify_all(|_| {});
        wake_all(wakers);
    }

    /// Queues the caller, releases `guard`, and parks until notified or
    /// `deadline`. Returns whether it was notified.
    fn park<T: ?Sized>(&self, guard: MutexGuard<'_, T>, deadline: Option<Instant>) -> bool {
        let list = lock(&self.waiters);
        let site = WaitSite {
            lock: &self.waiters,
            list: |list| list,
            on_exit: |list: &mut WaitList<()>, exit| {
                // Chosen by notify_one, then unwound: the notification goes
                // to the next waiter instead of being lost.
                if let Exit::Abandoned(_) = exit {
                    if let Some(w) = list.notify_front(|_| {}) {
                        w.wake();
                    }
                }
                None
            },
        };
        // Queued before the mutex is released, so a notify made under the
        // mutex after this point finds the waiter.
        matches!(site.wait(list, None, deadline, move || drop(guard)), Woke::Notified(_))
    }
}

impl Default for Condvar {
    fn default() -> Condvar {
        Condvar::new()
    }
}

impl fmt::Debug for Condvar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condvar").finish_non_exhaustive()
    }
}
