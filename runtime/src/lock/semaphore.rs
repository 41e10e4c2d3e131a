//! [`Semaphore`]: gevent's `Semaphore`.

use std::fmt;
use std::time::Duration;

use super::permits::Permits;
use crate::park;

/// A counter of permits (gevent's `Semaphore`): [`acquire`](Self::acquire)
/// takes one, parking in FIFO order while none is free;
/// [`release`](Self::release) returns one. Releasing more than was acquired
/// simply raises the count; use [`BoundedSemaphore`](super::BoundedSemaphore)
/// to catch that.
///
/// ```
/// use std::time::Duration;
/// use verde_runtime::lock::Semaphore;
///
/// let sem = Semaphore::new(1);
/// assert!(sem.acquire(true, None));
/// assert!(sem.locked());
/// assert!(!sem.acquire(false, None));
/// assert!(!sem.acquire(true, Some(Duration::from_millis(5))));
/// sem.release();
/// assert_eq!(sem.counter(), 1);
/// ```
pub struct Semaphore {
    permits: Permits,
}

/// A permit held until dropped: the `with semaphore:` of gevent. Returned
/// by [`Semaphore::guard`] and [`BoundedSemaphore::guard`](super::BoundedSemaphore::guard).
#[must_use = "the permit is released as soon as the guard is dropped"]
pub struct SemaphoreGuard<'a> {
    permits: &'a Permits,
}

/// Ready for [`iwait`](crate::iwait) when a permit is free.
impl crate::wait::sealed::Linkable for Semaphore {
    fn link_ready(&self, notify: Box<dyn FnOnce() + Send>) -> Option<u64> {
        self.permits.link_ready(notify)
    }

    fn unlink_ready(&self, id: u64) {
        self.permits.unlink_ready(id);
    }
}

impl crate::Waitable for Semaphore {}

impl Semaphore {
    /// A semaphore with `value` free permits.
    pub const fn new(value: usize) -> Semaphore {
        Semaphore { permits: Permits::new(value) }
    }

    /// Free permits (gevent's `counter`).
    pub fn counter(&self) -> usize {
        self.permits.available()
    }

    /// Whether no permit is free.
    pub fn locked(&self) -> bool {
        self.counter() == 0
    }

    /// Takes a permit. Without `blocking`, only if one is free now;
    /// otherwise parks (FIFO) until one is, or until `timeout` passes
    /// (`None`: no limit). Returns whether it got one.
    pub fn acquire(&self, blocking: bool, timeout: Option<Duration>) -> bool {
        self.permits.acquire(blocking, timeout.map(park::deadline_after))
    }

    /// Parks until a permit is free, without taking it, for at most
    /// `timeout` (`None`: no limit); returns the number of free permits
    /// then, 0 if the time ran out (gevent's `Semaphore.wait`). Released
    /// permits go to blocked [`acquire`](Self::acquire)rs first, so this
    /// also waits while they queue.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use verde_runtime::lock::Semaphore;
    ///
    /// let sem = Arc::new(Semaphore::new(0));
    /// assert_eq!(sem.wait(Some(Duration::from_millis(5))), 0);
    /// let s = sem.clone();
    /// let waiter = verde_runtime::spawn(move || s.wait(None));
    /// verde_runtime::yield_now();
    /// sem.release();
    /// assert_eq!(waiter.join().unwrap(), 1);
    /// assert_eq!(sem.counter(), 1); // waiting took nothing
    /// ```
    pub fn wait(&self, timeout: Option<Duration>) -> usize {
        self.permits.wait(timeout.map(park::deadline_after))
    }

    /// Returns a permit, handing it to the oldest waiter if there is one.
    pub fn release(&self) {
        self.permits.release(None);
    }

    /// Takes a permit, parking until one is free, and returns it as a guard.
    pub fn guard(&self) -> SemaphoreGuard<'_> {
        guard(&self.permits, None).expect("an acquire without timeout succeeds")
    }

    /// Like [`guard`](Self::guard), waiting at most `timeout`.
    pub fn guard_timeout(&self, timeout: Duration) -> Option<SemaphoreGuard<'_>> {
        guard(&self.permits, Some(timeout))
    }
}

/// Acquires from `permits` as a guard.
pub(super) fn guard(permits: &Permits, timeout: Option<Duration>) -> Option<SemaphoreGuard<'_>> {
    // Build the guard only on success: a guard dropped unused would release
    // a permit it never held.
    if permits.acquire(true, timeout.map(park::deadline_after)) {
        Some(SemaphoreGuard { permits })
    } else {
        None
    }
}

impl Drop for SemaphoreGuard<'_> {
    fn drop(&mut self) {
        // The guard holds a permit, so returning it cannot exceed a bound.
        self.permits.release(None);
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore").field("counter", &self.counter()).finish_non_exhaustive()
    }
}

impl fmt::Debug for SemaphoreGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphoreGuard").finish_non_exhaustive()
    }
}
