//! [`RwLock`]: `std::sync::RwLock` for coroutines.

use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::mem;
use std::ops::{Deref, DerefMut};
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::ptr::NonNull;

use super::poison::{self, LockResult, TryLockError, TryLockResult};
use super::raw_rwlock::RawRwLock;

/// A reader-writer lock whose waits park the calling coroutine: a drop-in
/// for `std::sync::RwLock`.
///
/// Any number of readers, or one writer, hold it at a time.
///
/// * **Fairness.** Waiters queue in one FIFO. Once a writer waits, later
///   readers queue behind it, so writers are not starved; when the lock is
///   released, the head of the queue gets it (a writer, or all the readers
///   at the head together).
/// * **Poisoning.** As in std: a write guard dropped while its holder
///   unwinds (a panic, a kill, an expired [`Timeout`](crate::Timeout))
///   poisons the lock; read guards never do. The holder is the coroutine,
///   not its thread (see [`sync`](crate::sync#poisoning)).
/// * **Kill and Timeout while waiting.** The waiter leaves the queue (and
///   releases the lock if it had just been granted), and the waiters behind
///   it move up.
///
/// ```
/// use verde_runtime::sync::RwLock;
///
/// let lock = RwLock::new(5);
/// {
///     let r1 = lock.read().unwrap();
///     let r2 = lock.read().unwrap();
///     assert_eq!(*r1 + *r2, 10);
/// }
/// *lock.write().unwrap() += 1;
/// assert_eq!(*lock.read().unwrap(), 6);
/// ```
pub struct RwLock<T: ?Sized> {
    raw: RawRwLock,
    poison: poison::Flag,
    data: UnsafeCell<T>,
}

// SAFETY: the lock owns a `T`.
unsafe impl<T: ?Sized + Send> Send for RwLock<T> {}
// SAFETY: readers share `&T` across threads (`T: Sync`) and a writer gets
// `&mut T` from any thread (`T: Send`), as for `std::sync::RwLock`.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}

/// As for `std::sync::RwLock`: a panic that unwinds through a writer
/// poisons the lock, so later users see any broken invariant (as a
/// [`PoisonError`](super::PoisonError)) and `&RwLock<T>` may cross
/// [`catch_unwind`](std::panic::catch_unwind) without `AssertUnwindSafe`.
impl<T: ?Sized> UnwindSafe for RwLock<T> {}
/// See the [`UnwindSafe`] impl.
impl<T: ?Sized> RefUnwindSafe for RwLock<T> {}

/// Shared access granted by [`RwLock::read`]; released when dropped.
///
/// Laid out like std's: a pointer to the data rather than a reference to
/// the lock, so that the guard is covariant in `T` (like `&T`), is not
/// `Send`, and is unwind-safe exactly when `T: RefUnwindSafe`.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockReadGuard<'a, T: ?Sized + 'a> {
    data: NonNull<T>,
    raw: &'a RawRwLock,
}

// SAFETY: the guard only gives `&T`.
unsafe impl<T: ?Sized + Sync> Sync for RwLockReadGuard<'_, T> {}

/// Exclusive access granted by [`RwLock::write`]; released when dropped.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockWriteGuard<'a, T: ?Sized + 'a> {
    lock: &'a RwLock<T>,
    poison: poison::Token,
    _not_send: PhantomData<*const ()>,
}

// SAFETY: a shared write guard only gives `&T`.
unsafe impl<T: ?Sized + Sync> Sync for RwLockWriteGuard<'_, T> {}

impl<T> RwLock<T> {
    /// A new, unlocked lock.
    pub const fn new(value: T) -> RwLock<T> {
        RwLock { raw: RawRwLock::new(), poison: poison::Flag::new(), data: UnsafeCell::new(value) }
    }

    /// Consumes the lock and returns the data, as `Err` (still holding it)
    /// if the lock is poisoned.
    pub fn into_inner(self) -> LockResult<T> {
        let poisoned = self.poison.get();
        poison::result(poisoned, self.data.into_inner())
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Takes shared read access, parking while a writer holds the lock or
    /// anyone queued earlier waits.
    ///
    /// # Errors
    ///
    /// `Err` (holding the guard) if the lock is poisoned.
    #[inline]
    pub fn read(&self) -> LockResult<RwLockReadGuard<'_, T>> {
        self.raw.read();
        self.read_guard()
    }

    /// Takes read access if that needs no wait.
    ///
    /// # Errors
    ///
    /// [`TryLockError::WouldBlock`] if a writer holds or waits for the
    /// lock; [`TryLockError::Poisoned`] if it is poisoned.
    pub fn try_read(&self) -> TryLockResult<RwLockReadGuard<'_, T>> {
        if !self.raw.try_read() {
            return Err(TryLockError::WouldBlock);
        }
        self.read_guard().map_err(TryLockError::from)
    }

    /// Takes exclusive write access, parking until every earlier holder and
    /// waiter is done.
    ///
    /// # Errors
    ///
    /// `Err` (holding the guard) if the lock is poisoned.
    #[inline]
    pub fn write(&self) -> LockResult<RwLockWriteGuard<'_, T>> {
        self.raw.write();
        poison::lock_result(self.poison.token(), |t| RwLockWriteGuard::new(self, t))
    }

    /// Takes write access if nobody holds or waits for the lock.
    ///
    /// # Errors
    ///
    /// [`TryLockError::WouldBlock`] if the lock is held or awaited;
    /// [`TryLockError::Poisoned`] if it is poisoned.
    ///
    /// ```
    /// use verde_runtime::sync::{RwLock, TryLockError};
    ///
    /// let lock = RwLock::new(0);
    /// let r = lock.read().unwrap();
    /// assert!(matches!(lock.try_write(), Err(TryLockError::WouldBlock)));
    /// drop(r);
    /// assert!(lock.try_write().is_ok());
    /// ```
    pub fn try_write(&self) -> TryLockResult<RwLockWriteGuard<'_, T>> {
        if !self.raw.try_write() {
            return Err(TryLockError::WouldBlock);
        }
        poison::lock_result(self.poison.token(), |t| RwLockWriteGuard::new(self, t)).map_err(TryLockError::from)
    }

    /// Whether the lock is poisoned.
    pub fn is_poisoned(&self) -> bool {
        self.poison.get()
    }

    /// Clears the poison.
    pub fn clear_poison(&self) {
        self.poison.clear();
    }

    /// Mutable access to the data without locking: `&mut self` proves
    /// nobody else holds the lock.
    ///
    /// # Errors
    ///
    /// `Err` (still giving access) if the lock is poisoned.
    pub fn get_mut(&mut self) -> LockResult<&mut T> {
        poison::result(self.poison.get(), self.data.get_mut())
    }

    /// The guard for a read lock the caller has just taken.
    fn read_guard(&self) -> LockResult<RwLockReadGuard<'_, T>> {
        poison::result(self.poison.get(), self.read_guard_unchecked())
    }

    /// A read guard, ignoring poison; the caller holds a read lock.
    fn read_guard_unchecked(&self) -> RwLockReadGuard<'_, T> {
        // SAFETY: `UnsafeCell::get` on a reference never returns null.
        let data = unsafe { NonNull::new_unchecked(self.data.get()) };
        RwLockReadGuard { data, raw: &self.raw }
    }
}

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    fn new(lock: &'a RwLock<T>, poison: poison::Token) -> Self {
        RwLockWriteGuard { lock, poison, _not_send: PhantomData }
    }

    /// Turns write access into read access atomically, as std's
    /// `RwLockWriteGuard::downgrade` (stable since Rust 1.92): no writer can
    /// get in between, so the caller goes on reading what it wrote. Readers
    /// waiting at the head of the queue are let in with it; a waiting
    /// writer still waits for every reader.
    ///
    /// Like std's, this is an associated function (`RwLockWriteGuard::
    /// downgrade(guard)`), so it does not shadow a method of `T`, and it
    /// never poisons: a panic while holding the returned read guard leaves
    /// the lock as it is.
    ///
    /// ```
    /// use verde_runtime::sync::{RwLock, RwLockWriteGuard};
    ///
    /// let lock = RwLock::new(0);
    /// let mut w = lock.write().unwrap();
    /// *w = 42;
    /// let r = RwLockWriteGuard::downgrade(w);
    /// assert_eq!(*r, 42);
    /// assert_eq!(*lock.try_read().unwrap(), 42); // other readers get in
    /// assert!(lock.try_write().is_err());
    /// ```
    pub fn downgrade(s: Self) -> RwLockReadGuard<'a, T> {
        let lock = s.lock;
        // Not dropped: that would release the write lock (and could poison).
        mem::forget(s);
        lock.raw.downgrade();
        lock.read_guard_unchecked()
    }
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: `data` points into the lock's cell, which outlives the
        // guard, and a read lock is held, so no writer has `&mut T`.
        unsafe { self.data.as_ref() }
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the write lock is held: no other access exists.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the write lock is held, and `&mut self` makes this the only
        // access through the guard.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.raw.read_unlock();
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.poison.release(&self.poison);
        self.lock.raw.write_unlock();
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> RwLock<T> {
        RwLock::new(T::default())
    }
}

impl<T> From<T> for RwLock<T> {
    fn from(value: T) -> RwLock<T> {
        RwLock::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.try_read() {
            Ok(guard) => d.field("data", &&*guard),
            Err(TryLockError::Poisoned(err)) => d.field("data", &&**err.get_ref()),
            Err(TryLockError::WouldBlock) => d.field("data", &format_args!("<locked>")),
        };
        d.field("poisoned", &self.poison.get());
        d.finish_non_exhaustive()
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn downgrade_admits_queued_readers_but_not_a_queued_writer() {
        let lock = Arc::new(RwLock::new(0));
        let mut w = lock.write().unwrap();
        let (l1, l2) = (lock.clone(), lock.clone());
        // Queued in this order: a reader, then a writer.
        let reader = crate::spawn(move || *l1.read().unwrap());
        crate::yield_now();
        let writer = crate::spawn(move || {
            let mut w = l2.write().unwrap();
            *w += 1;
            *w
        });
        crate::yield_now();
        *w = 7;
        let r = RwLockWriteGuard::downgrade(w);
        // The queued reader gets in beside the downgraded guard...
        assert_eq!(reader.join().unwrap(), 7);
        // ...the writer waits for it to go.
        crate::yield_now();
        assert!(!writer.is_finished());
        assert_eq!(*r, 7);
        drop(r);
        assert_eq!(writer.join().unwrap(), 8);
        assert!(!lock.is_poisoned());
    }
}
