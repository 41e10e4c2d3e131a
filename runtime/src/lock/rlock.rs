//! [`RLock`]: gevent's reentrant lock.

use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use crate::hub;
use crate::park;
use crate::sync::raw_mutex::RawMutex;

/// No owner (task ids start at 1).
const NOBODY: u64 = 0;

/// A lock its owner may take again without deadlocking (gevent's `RLock`).
/// The owner is a coroutine (or a thread's main context): each
/// [`acquire`](Self::acquire) by the owner must be matched by a
/// [`release`](Self::release), and other coroutines wait, in FIFO order,
/// until the last one.
///
/// ```
/// use verde_runtime::lock::RLock;
///
/// let lock = RLock::new();
/// let outer = lock.guard();
/// let inner = lock.guard(); // the same coroutine: no deadlock
/// drop(inner);
/// drop(outer);
/// assert!(!lock.locked());
/// ```
pub struct RLock {
    raw: RawMutex,
    owner: AtomicU64,
    count: AtomicUsize,
}

/// One level of ownership of an [`RLock`], released when dropped. It is not
/// `Send`: it belongs to the coroutine that took it.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RLockGuard<'a> {
    lock: &'a RLock,
    _not_send: PhantomData<*const ()>,
}

/// The id of the calling coroutine (or main context).
fn me() -> u64 {
    hub::current().current_task().id
}

impl RLock {
    /// An unowned lock.
    pub const fn new() -> RLock {
        RLock { raw: RawMutex::new(), owner: AtomicU64::new(NOBODY), count: AtomicUsize::new(0) }
    }

    /// Takes the lock, or one more level of it if the caller owns it.
    /// Without `blocking`, only if that needs no wait; otherwise parks
    /// (FIFO) until the owner releases it, or until `timeout` passes
    /// (`None`: no limit). Returns whether it was taken.
    pub fn acquire(&self, blocking: bool, timeout: Option<Duration>) -> bool {
        let me = me();
        // Only the owner stores its own id, so seeing ours means we own it.
        if self.owner.load(Ordering::Relaxed) == me {
            self.count.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        let taken = if blocking { self.raw.lock_until(timeout.map(park::deadline_after)) } else { self.raw.try_lock() };
        if taken {
            self.owner.store(me, Ordering::Relaxed);
            self.count.store(1, Ordering::Relaxed);
        }
        taken
    }

    /// Releases one level; the last release lets the next waiter in.
    ///
    /// # Panics
    ///
    /// If the caller does not own the lock (gevent's `RuntimeError`).
    pub fn release(&self) {
        assert_eq!(self.owner.load(Ordering::Relaxed), me(), "cannot release un-acquired lock");
        if self.count.fetch_sub(1, Ordering::Relaxed) == 1 {
            self.owner.store(NOBODY, Ordering::Relaxed);
            self.raw.unlock();
        }
    }

    /// Whether anyone owns the lock.
    pub fn locked(&self) -> bool {
        self.owner.load(Ordering::Relaxed) != NOBODY
    }

    /// Takes the lock (or one more level) as a guard, parking until it is
    /// free.
    pub fn guard(&self) -> RLockGuard<'_> {
        assert!(self.acquire(true, None), "an acquire without timeout succeeds");
        RLockGuard { lock: self, _not_send: PhantomData }
    }

    /// Like [`guard`](Self::guard), waiting at most `timeout`.
    pub fn guard_timeout(&self, timeout: Duration) -> Option<RLockGuard<'_>> {
        // Build the guard only on success: dropping one releases a level.
        if self.acquire(true, Some(timeout)) {
            Some(RLockGuard { lock: self, _not_send: PhantomData })
        } else {
            None
        }
    }
}

impl Default for RLock {
    fn default() -> RLock {
        RLock::new()
    }
}

impl Drop for RLockGuard<'_> {
    fn drop(&mut self) {
        self.lock.release();
    }
}

impl fmt::Debug for RLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RLock")
            .field("owner", &self.owner.load(Ordering::Relaxed))
            .field("count", &self.count.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for RLockGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RLockGuard").field("lock", self.lock).finish()
    }
}
