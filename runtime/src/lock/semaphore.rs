//! [`Semaphore`]: gevent's `Semaphore`.

use std::fmt;
use std::time::Duration;

use super::permits::Permits;
use super::BoundedSemaphore;
use crate::event::ready_links::{link_id, Owner};
use crate::link::LinkId;
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
    permits: Permits<Semaphore>,
}

impl Owner for Semaphore {
    const NAME: &'static str = "a Semaphore";
}

/// A permit held until dropped: the `with semaphore:` of gevent. Returned
/// by [`Semaphore::guard`] and [`BoundedSemaphore::guard`].
#[must_use = "the permit is released as soon as the guard is dropped"]
pub struct SemaphoreGuard<'a> {
    held: Held<'a>,
}

/// The semaphore a [`SemaphoreGuard`] holds a permit of.
#[derive(Clone, Copy)]
pub(super) enum Held<'a> {
    Semaphore(&'a Semaphore),
    Bounded(&'a BoundedSemaphore),
}

/// Ready for [`iwait`](crate::iwait) when a permit is free.
impl crate::wait::sealed::Linkable for Semaphore {
    fn link_ready(&self, notify: Box<dyn FnOnce() + Send>) -> Option<u64> {
        self.permits.link_ready(self, notify)
    }

    fn unlink_ready(&self, id: u64) {
        self.permits.unlink(id);
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
        self.permits.acquire(self, blocking, timeout.map(park::deadline_after))
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

    /// Returns a permit, handing it to the oldest waiter if there is one;
    /// if there is none, the permit is free and the
    /// [`rawlink`](Self::rawlink) callbacks run.
    pub fn release(&self) {
        self.permits.release(self, None);
    }

    /// Takes a permit, parking until one is free, and returns it as a guard.
    pub fn guard(&self) -> SemaphoreGuard<'_> {
        guard(Held::Semaphore(self), None).expect("an acquire without timeout succeeds")
    }

    /// Like [`guard`](Self::guard), waiting at most `timeout`.
    pub fn guard_timeout(&self, timeout: Duration) -> Option<SemaphoreGuard<'_>> {
        guard(Held::Semaphore(self), Some(timeout))
    }

    /// Calls `f` with this semaphore once a permit is free: gevent's
    /// `Semaphore.rawlink`. Returns an id for [`unlink`](Self::unlink).
    ///
    /// A callback runs once, as in gevent since 1.5 (before, its links
    /// stayed and ran at every release): a [`release`](Self::release) that
    /// frees a permit runs the callbacks in the order they were added,
    /// inside `release`, on the releaser's thread (coroutine, plain thread
    /// or hub callback), after it has woken the [`wait`](Self::wait)ers and
    /// before it returns. As in gevent, they run only while a permit is
    /// still free: a callback that takes the last one (with
    /// [`acquire`](Self::acquire)) leaves the later callbacks linked for
    /// the next release. A release that hands its permit to a blocked
    /// [`acquire`](Self::acquire) frees nothing and runs none: blocked
    /// acquirers come first here, where gevent serves them and the
    /// callbacks together in the order they linked. If a permit is free
    /// already, `f` runs now, on the calling thread, before `rawlink`
    /// returns (even if another thread's release is still running earlier
    /// callbacks). gevent instead queues the callbacks to run in its hub
    /// soon after (its `run_callback`).
    ///
    /// `f` **must not block**, and a panic in it is logged while the other
    /// callbacks still run, exactly as for
    /// [`Event::rawlink`](crate::event::Event::rawlink); taking a free
    /// permit with `acquire` does not block.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use verde_runtime::lock::Semaphore;
    ///
    /// let sem = Semaphore::new(1);
    /// assert!(sem.acquire(false, None));
    /// let log = Arc::new(Mutex::new(Vec::new()));
    /// for name in ["first", "second"] {
    ///     let log = log.clone();
    ///     sem.rawlink(move |sem| log.lock().unwrap().push((name, sem.counter())));
    /// }
    /// sem.release();
    /// assert_eq!(*log.lock().unwrap(), [("first", 1), ("second", 1)]);
    /// ```
    pub fn rawlink<F>(&self, f: F) -> LinkId
    where
        F: FnOnce(&Semaphore) + Send + 'static,
    {
        link_id(self.permits.rawlink(self, Box::new(f)))
    }

    /// Removes a [`rawlink`](Self::rawlink) callback that has not run yet
    /// (gevent's `Semaphore.unlink`); returns whether it did. A callback
    /// that ran, is running, or belongs to another object is not removed.
    /// A release takes the callbacks one at a time, so, as in gevent, one
    /// may unlink a later one.
    ///
    /// ```
    /// use verde_runtime::lock::Semaphore;
    ///
    /// let sem = Semaphore::new(0);
    /// let id = sem.rawlink(|_| unreachable!("unlinked"));
    /// assert!(sem.unlink(id));
    /// assert!(!sem.unlink(id));
    /// sem.release();
    /// ```
    pub fn unlink(&self, id: LinkId) -> bool {
        self.permits.unlink(id.0)
    }
}

/// Acquires a permit of `held` as a guard.
pub(super) fn guard(held: Held<'_>, timeout: Option<Duration>) -> Option<SemaphoreGuard<'_>> {
    let deadline = timeout.map(park::deadline_after);
    let acquired = match held {
        Held::Semaphore(s) => s.permits.acquire(s, true, deadline),
        Held::Bounded(b) => b.permits.acquire(b, true, deadline),
    };
    // Build the guard only on success (lazily: a guard dropped unused would
    // release a permit it never held).
    acquired.then(|| SemaphoreGuard { held })
}

impl Drop for SemaphoreGuard<'_> {
    fn drop(&mut self) {
        // The guard holds a permit, so returning it cannot exceed a bound.
        match self.held {
            Held::Semaphore(s) => s.permits.release(s, None),
            Held::Bounded(b) => b.permits.release(b, None),
        };
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
