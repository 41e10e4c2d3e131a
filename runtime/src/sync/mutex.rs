//! [`Mutex`]: `std::sync::Mutex` for coroutines.

use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::panic::{RefUnwindSafe, UnwindSafe};

use super::poison::{self, LockResult, TryLockError, TryLockResult};
use super::raw_mutex::RawMutex;

/// A mutual exclusion lock whose `lock` parks the calling coroutine instead
/// of blocking its thread: a drop-in for `std::sync::Mutex`.
///
/// Holding a verde `Mutex` across a [`sleep`](crate::sleep), a channel
/// receive or any other park is fine: the other coroutines of the hub keep
/// running, and those that want the lock park in FIFO order. (Holding a
/// `std::sync::Mutex` across a park stalls every coroutine on that hub that
/// touches it, and can deadlock the hub.)
///
/// * **Fast path.** An uncontended `lock` or `unlock` is one atomic
///   compare-and-swap; nothing is allocated.
/// * **Fairness.** Once someone waits, `unlock` hands the lock directly to
///   the oldest waiter.
/// * **Poisoning.** As in std: a guard dropped while its holder unwinds
///   poisons the mutex. Kills and [`Timeout`](crate::Timeout)s unwind, so
///   they poison it too. The holder is the coroutine, not its thread:
///   another coroutine of the hub parked mid-unwind does not make a normal
///   release poison (see [`sync`](crate::sync#poisoning)).
/// * **Kill and Timeout while waiting.** The waiter leaves the queue; if
///   the lock had just been handed to it, it is handed on.
/// * **Anywhere.** Coroutines on one hub, on different hubs, and plain
///   threads can share one `Mutex`; a plain thread blocks (running its own
///   hub, if it has coroutines).
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use verde_runtime::sync::Mutex;
///
/// let counter = Arc::new(Mutex::new(0));
/// let handles: Vec<_> = (0..10)
///     .map(|_| {
///         let counter = counter.clone();
///         verde_runtime::spawn(move || {
///             let mut n = counter.lock().unwrap();
///             // Other coroutines run while this one sleeps holding the lock.
///             verde_runtime::sleep(Duration::from_millis(1));
///             *n += 1;
///         })
///     })
///     .collect();
/// verde_runtime::joinall(handles);
/// assert_eq!(*counter.lock().unwrap(), 10);
/// ```
pub struct Mutex<T: ?Sized> {
    raw: RawMutex,
    poison: poison::Flag,
    data: UnsafeCell<T>,
}

// SAFETY: the mutex owns a `T`, so it may move to another thread if `T` may.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
// SAFETY: the raw lock grants one holder at a time exclusive access to `T`,
// so sharing the mutex shares `T` only by moving access between threads:
// `T: Send` suffices, as for `std::sync::Mutex`.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

/// As for `std::sync::Mutex`: a panic that unwinds through a holder poisons
/// the mutex, so later users see any broken invariant (as a
/// [`PoisonError`](super::PoisonError)) and `&Mutex<T>` may cross
/// [`catch_unwind`](std::panic::catch_unwind) without `AssertUnwindSafe`.
impl<T: ?Sized> UnwindSafe for Mutex<T> {}
/// See the [`UnwindSafe`] impl.
impl<T: ?Sized> RefUnwindSafe for Mutex<T> {}

/// The access a [`Mutex::lock`] grants; the lock is released when it drops.
///
/// Like std's, the guard is not `Send`: it is released by the coroutine that
/// took it.
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MutexGuard<'a, T: ?Sized + 'a> {
    mutex: &'a Mutex<T>,
    poison: poison::Token,
    _not_send: PhantomData<*const ()>,
}

// SAFETY: a shared guard only gives `&T`, which is fine to share when
// `T: Sync`.
unsafe impl<T: ?Sized + Sync> Sync for MutexGuard<'_, T> {}

impl<T> Mutex<T> {
    /// A new, unlocked mutex.
    ///
    /// ```
    /// use verde_runtime::sync::Mutex;
    ///
    /// static GLOBAL: Mutex<Vec<u32>> = Mutex::new(Vec::new());
    /// GLOBAL.lock().unwrap().push(1);
    /// ```
    pub const fn new(value: T) -> Mutex<T> {
        Mutex { raw: RawMutex::new(), poison: poison::Flag::new(), data: UnsafeCell::new(value) }
    }

    /// Consumes the mutex and returns the data, as `Err` (still holding it)
    /// if the mutex is poisoned.
    pub fn into_inner(self) -> LockResult<T> {
        let poisoned = self.poison.get();
        poison::result(poisoned, self.data.into_inner())
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Takes the lock, parking the calling coroutine (or blocking the
    /// calling thread) until it is free. Waiters get the lock in FIFO order.
    ///
    /// # Errors
    ///
    /// `Err` if the mutex is poisoned; the error still holds the guard.
    ///
    /// Like std's, locking a mutex the caller already holds deadlocks: the
    /// coroutine waits for itself. (A thread's main context that can never
    /// be woken fails with verde's "would block forever" panic instead.)
    #[inline]
    pub fn lock(&self) -> LockResult<MutexGuard<'_, T>> {
        self.raw.lock();
        poison::lock_result(self.poison.token(), |t| MutexGuard::new(self, t))
    }

    /// Takes the lock if nobody holds it (nor waits for it), without
    /// blocking.
    ///
    /// # Errors
    ///
    /// [`TryLockError::WouldBlock`] if the lock is taken,
    /// [`TryLockError::Poisoned`] if the mutex is poisoned.
    ///
    /// ```
    /// use verde_runtime::sync::{Mutex, TryLockError};
    ///
    /// let m = Mutex::new(1);
    /// let g = m.lock().unwrap();
    /// assert!(matches!(m.try_lock(), Err(TryLockError::WouldBlock)));
    /// drop(g);
    /// assert_eq!(*m.try_lock().unwrap(), 1);
    /// ```
    pub fn try_lock(&self) -> TryLockResult<MutexGuard<'_, T>> {
        if !self.raw.try_lock() {
            return Err(TryLockError::WouldBlock);
        }
        poison::lock_result(self.poison.token(), |t| MutexGuard::new(self, t)).map_err(TryLockError::from)
    }

    /// Whether the mutex is poisoned.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use verde_runtime::sync::Mutex;
    ///
    /// let m = Arc::new(Mutex::new(0));
    /// let m2 = m.clone();
    /// let h = verde_runtime::spawn(move || {
    ///     let _g = m2.lock().unwrap();
    ///     panic!("poison it");
    /// });
    /// assert!(h.join().is_err());
    /// assert!(m.is_poisoned());
    /// m.clear_poison();
    /// assert!(m.lock().is_ok());
    /// ```
    pub fn is_poisoned(&self) -> bool {
        self.poison.get()
    }

    /// Clears the poison.
    pub fn clear_poison(&self) {
        self.poison.clear();
    }

    /// Mutable access to the data, without locking: `&mut self` proves
    /// nobody else holds the lock.
    ///
    /// # Errors
    ///
    /// `Err` (still giving access) if the mutex is poisoned.
    pub fn get_mut(&mut self) -> LockResult<&mut T> {
        poison::result(self.poison.get(), self.data.get_mut())
    }
}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    fn new(mutex: &'a Mutex<T>, poison: poison::Token) -> Self {
        MutexGuard { mutex, poison, _not_send: PhantomData }
    }

    /// The mutex this guard locks (for [`Condvar`](super::Condvar)).
    pub(super) fn mutex(&self) -> &'a Mutex<T> {
        self.mutex
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the guard proves the lock is held, so no `&mut T` exists.
        unsafe { &*self.mutex.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard proves the lock is held, and `&mut self` makes
        // this the only access through it.
        unsafe { &mut *self.mutex.data.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.mutex.poison.release(&self.poison);
        self.mutex.raw.unlock();
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Mutex<T> {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Mutex<T> {
        Mutex::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Ok(guard) => d.field("data", &&*guard),
            Err(TryLockError::Poisoned(err)) => d.field("data", &&**err.get_ref()),
            // std's `Mutex` prints this as a string, quotes included (its
            // `RwLock` does not quote it: each mirrors std's).
            Err(TryLockError::WouldBlock) => d.field("data", &"<locked>"),
        };
        d.field("poisoned", &self.poison.get());
        d.finish_non_exhaustive()
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsized_data_and_get_mut() {
        let m: &Mutex<[u8]> = &Mutex::new([1, 2, 3]);
        m.lock().unwrap()[0] = 9;
        assert_eq!(&*m.lock().unwrap(), &[9, 2, 3]);
        let mut owned = Mutex::new(5);
        *owned.get_mut().unwrap() += 1;
        assert_eq!(owned.into_inner().unwrap(), 6);
    }

    #[test]
    fn debug_shows_the_data_or_that_it_is_locked() {
        let m = Mutex::new(3);
        assert!(format!("{m:?}").contains("data: 3"));
        let _g = m.lock().unwrap();
        assert!(format!("{m:?}").contains("<locked>"));
    }
}
