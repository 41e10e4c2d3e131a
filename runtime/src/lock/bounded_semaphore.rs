//! [`BoundedSemaphore`]: gevent's `BoundedSemaphore`.

use std::fmt;
use std::time::Duration;

use super::permits::Permits;
use super::semaphore::{guard, Held, SemaphoreGuard};
use crate::event::ready_links::{link_id, Owner};
use crate::link::LinkId;
use crate::park;

/// A [`Semaphore`](super::Semaphore) that refuses to be released more
/// times than it was acquired (gevent's `BoundedSemaphore`).
///
/// Over-releasing is a bug in the caller, so [`release`](Self::release)
/// panics on it, as gevent raises `ValueError`;
/// [`try_release`](Self::try_release) reports it as an error instead.
///
/// ```
/// use verde_runtime::lock::{BoundedSemaphore, OverReleased};
///
/// let sem = BoundedSemaphore::new(1);
/// assert_eq!(sem.try_release(), Err(OverReleased));
/// assert!(sem.acquire(true, None));
/// assert_eq!(sem.try_release(), Ok(()));
/// ```
pub struct BoundedSemaphore {
    pub(super) permits: Permits<BoundedSemaphore>,
    bound: usize,
}

impl Owner for BoundedSemaphore {
    const NAME: &'static str = "a BoundedSemaphore";
}

/// [`BoundedSemaphore::try_release`] found every permit already free.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OverReleased;

impl fmt::Display for OverReleased {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("semaphore released too many times")
    }
}

impl std::error::Error for OverReleased {}

/// Ready for [`iwait`](crate::iwait) when a permit is free.
impl crate::wait::sealed::Linkable for BoundedSemaphore {
    fn link_ready(&self, notify: Box<dyn FnOnce() + Send>) -> Option<u64> {
        self.permits.link_ready(self, notify)
    }

    fn unlink_ready(&self, id: u64) {
        self.permits.unlink(id);
    }
}

impl crate::Waitable for BoundedSemaphore {}

impl BoundedSemaphore {
    /// A semaphore with `value` free permits, never more.
    pub const fn new(value: usize) -> BoundedSemaphore {
        BoundedSemaphore { permits: Permits::new(value), bound: value }
    }

    /// Free permits.
    pub fn counter(&self) -> usize {
        self.permits.available()
    }

    /// Whether no permit is free.
    pub fn locked(&self) -> bool {
        self.counter() == 0
    }

    /// Takes a permit, as [`Semaphore::acquire`](super::Semaphore::acquire).
    pub fn acquire(&self, blocking: bool, timeout: Option<Duration>) -> bool {
        self.permits.acquire(self, blocking, timeout.map(park::deadline_after))
    }

    /// Parks until a permit is free, without taking it, as
    /// [`Semaphore::wait`](super::Semaphore::wait).
    pub fn wait(&self, timeout: Option<Duration>) -> usize {
        self.permits.wait(timeout.map(park::deadline_after))
    }

    /// Returns a permit, as [`Semaphore::release`](super::Semaphore::release)
    /// (running the [`rawlink`](Self::rawlink) callbacks if it frees it).
    ///
    /// # Panics
    ///
    /// If every permit is already free.
    pub fn release(&self) {
        if let Err(e) = self.try_release() {
            panic!("{e}");
        }
    }

    /// Returns a permit, as [`release`](Self::release).
    ///
    /// # Errors
    ///
    /// [`OverReleased`] (and nothing changes) if every permit is already
    /// free.
    pub fn try_release(&self) -> Result<(), OverReleased> {
        if self.permits.release(self, Some(self.bound)) {
            Ok(())
        } else {
            Err(OverReleased)
        }
    }

    /// Takes a permit as a guard, parking until one is free.
    pub fn guard(&self) -> SemaphoreGuard<'_> {
        guard(Held::Bounded(self), None).expect("an acquire without timeout succeeds")
    }

    /// Like [`guard`](Self::guard), waiting at most `timeout`.
    pub fn guard_timeout(&self, timeout: Duration) -> Option<SemaphoreGuard<'_>> {
        guard(Held::Bounded(self), Some(timeout))
    }

    /// Calls `f` with this semaphore once a permit is free (gevent's
    /// `BoundedSemaphore.rawlink`), exactly as
    /// [`Semaphore::rawlink`](super::Semaphore::rawlink): once, from the
    /// release that frees a permit, while one is still free; at once if one
    /// is. Returns an id for [`unlink`](Self::unlink).
    ///
    /// ```
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use std::sync::Arc;
    /// use verde_runtime::lock::BoundedSemaphore;
    ///
    /// let sem = BoundedSemaphore::new(1);
    /// let _permit = sem.guard();
    /// let ran = Arc::new(AtomicBool::new(false));
    /// let r = ran.clone();
    /// sem.rawlink(move |sem| r.store(!sem.locked(), Ordering::SeqCst));
    /// assert!(!ran.load(Ordering::SeqCst));
    /// drop(_permit);
    /// assert!(ran.load(Ordering::SeqCst));
    /// ```
    pub fn rawlink<F>(&self, f: F) -> LinkId
    where
        F: FnOnce(&BoundedSemaphore) + Send + 'static,
    {
        link_id(self.permits.rawlink(self, Box::new(f)))
    }

    /// Removes a [`rawlink`](Self::rawlink) callback that has not run yet;
    /// returns whether it did, as
    /// [`Semaphore::unlink`](super::Semaphore::unlink).
    ///
    /// ```
    /// use verde_runtime::lock::BoundedSemaphore;
    ///
    /// let sem = BoundedSemaphore::new(1);
    /// assert!(sem.acquire(false, None));
    /// let id = sem.rawlink(|_| unreachable!("unlinked"));
    /// assert!(sem.unlink(id));
    /// sem.release();
    /// assert!(!sem.unlink(id));
    /// ```
    pub fn unlink(&self, id: LinkId) -> bool {
        self.permits.unlink(id.0)
    }
}

impl fmt::Debug for BoundedSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedSemaphore").field("counter", &self.counter()).field("bound", &self.bound).finish()
    }
}
