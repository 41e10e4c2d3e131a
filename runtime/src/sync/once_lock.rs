//! [`OnceLock`]: a cell written once, whose racing initializers park.

use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::panic::{RefUnwindSafe, UnwindSafe};

use super::once::Once;

/// A cell that is written at most once, as `std::sync::OnceLock`, built on
/// verde's [`Once`]: a caller that finds another caller's initializer
/// running parks its coroutine until the value is there, so the
/// initializer may itself park (connect to a server, read a file through
/// the blocking pool, sleep) without stalling the hub.
///
/// If the initializer panics (or its coroutine is killed or timed out),
/// the cell stays empty and the next caller runs its own initializer.
///
/// ```
/// use std::time::Duration;
/// use verde_runtime::sync::OnceLock;
///
/// static CONFIG: OnceLock<String> = OnceLock::new();
///
/// let hs: Vec<_> = (0..3)
///     .map(|_| {
///         verde_runtime::spawn(|| {
///             CONFIG
///                 .get_or_init(|| {
///                     verde_runtime::sleep(Duration::from_millis(10)); // parks
///                     "loaded".to_string()
///                 })
///                 .len()
///         })
///     })
///     .collect();
/// for h in hs {
///     assert_eq!(h.join().unwrap(), 6);
/// }
/// ```
pub struct OnceLock<T> {
    once: Once,
    value: UnsafeCell<MaybeUninit<T>>,
    // The cell owns (and drops) a `T`.
    _owns: PhantomData<T>,
}

// SAFETY: sharing the cell shares `&T` between threads (`T: Sync`) and lets
// any of them write the value that another will drop (`T: Send`), as for
// std's OnceLock. The value is written once, before `Once` completes with
// Release ordering, and only read after observing completion with Acquire.
unsafe impl<T: Sync + Send> Sync for OnceLock<T> {}
// SAFETY: moving the cell moves the `T` it may hold.
unsafe impl<T: Send> Send for OnceLock<T> {}

impl<T: RefUnwindSafe + UnwindSafe> RefUnwindSafe for OnceLock<T> {}
impl<T: UnwindSafe> UnwindSafe for OnceLock<T> {}

impl<T> OnceLock<T> {
    /// An empty cell, usable in a `static`.
    pub const fn new() -> OnceLock<T> {
        OnceLock { once: Once::new(), value: UnsafeCell::new(MaybeUninit::uninit()), _owns: PhantomData }
    }

    /// The value, if it has been set.
    #[inline]
    pub fn get(&self) -> Option<&T> {
        if self.once.is_completed() {
            // SAFETY: completion means the value was written (and is never
            // written again through `&self`).
            Some(unsafe { self.get_unchecked() })
        } else {
            None
        }
    }

    /// The value, mutably, if it has been set.
    pub fn get_mut(&mut self) -> Option<&mut T> {
        if self.once.is_completed_mut() {
            // SAFETY: completed, so initialized; `&mut self` is exclusive.
            Some(unsafe { self.value.get_mut().assume_init_mut() })
        } else {
            None
        }
    }

    /// Waits, parking, until the cell is set (by any caller), and returns
    /// the value.
    pub fn wait(&self) -> &T {
        self.once.wait_force();
        // SAFETY: `wait_force` returns only once the Once has completed.
        unsafe { self.get_unchecked() }
    }

    /// Sets the value if the cell is empty (waiting, parked, for an
    /// initializer that is running), or gives `value` back.
    ///
    /// ```
    /// let cell = verde_runtime::sync::OnceLock::new();
    /// assert_eq!(cell.set(1), Ok(()));
    /// assert_eq!(cell.set(2), Err(2));
    /// assert_eq!(cell.get(), Some(&1));
    /// ```
    pub fn set(&self, value: T) -> Result<(), T> {
        let mut value = Some(value);
        self.get_or_init(|| value.take().expect("taken once"));
        match value {
            None => Ok(()),
            Some(v) => Err(v),
        }
    }

    /// The value, running `f` to set it if the cell is empty. Of callers
    /// that race, exactly one runs its `f`; the others park until it has
    /// finished. If `f` panics, the panic reaches its caller and the cell
    /// stays empty.
    ///
    /// Calling `get_or_init` on the same cell from inside `f` never
    /// returns, as with std (where it deadlocks or panics).
    pub fn get_or_init<F: FnOnce() -> T>(&self, f: F) -> &T {
        if let Some(v) = self.get() {
            return v;
        }
        let slot = self.value.get();
        self.once.call_once_force(|_| {
            let v = f();
            // SAFETY: `Once` runs one closure at a time and only until one
            // completes, so nobody else reads or writes the slot now.
            unsafe { (*slot).write(v) };
        });
        // SAFETY: `call_once_force` returns normally only once the Once has
        // completed (the write above, or an earlier one).
        unsafe { self.get_unchecked() }
    }

    /// Takes the value out, leaving the cell empty.
    pub fn take(&mut self) -> Option<T> {
        if self.once.is_completed_mut() {
            self.once.reset_mut();
            // SAFETY: it was completed, so initialized, and is now marked
            // empty, so the value is read out exactly once.
            Some(unsafe { self.value.get_mut().assume_init_read() })
        } else {
            None
        }
    }

    /// The value, if set, consuming the cell.
    pub fn into_inner(mut self) -> Option<T> {
        self.take()
    }

    /// # Safety
    ///
    /// The cell must be initialized.
    unsafe fn get_unchecked(&self) -> &T {
        // SAFETY: the caller guarantees the value was written; it is never
        // written again while `&self` lives.
        unsafe { (*self.value.get()).assume_init_ref() }
    }
}

impl<T> Drop for OnceLock<T> {
    fn drop(&mut self) {
        if self.once.is_completed_mut() {
            // SAFETY: completed, so initialized; dropped exactly once.
            unsafe { self.value.get_mut().assume_init_drop() };
        }
    }
}

impl<T> Default for OnceLock<T> {
    fn default() -> OnceLock<T> {
        OnceLock::new()
    }
}

impl<T: fmt::Debug> fmt::Debug for OnceLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_tuple("OnceLock");
        match self.get() {
            Some(v) => d.field(v),
            None => d.field(&format_args!("<uninit>")),
        };
        d.finish()
    }
}

impl<T: Clone> Clone for OnceLock<T> {
    fn clone(&self) -> OnceLock<T> {
        match self.get() {
            Some(v) => OnceLock::from(v.clone()),
            None => OnceLock::new(),
        }
    }
}

impl<T> From<T> for OnceLock<T> {
    /// A cell already holding `value`.
    fn from(value: T) -> Self {
        let mut cell = OnceLock::new();
        cell.value.get_mut().write(value);
        cell.once.set_completed_mut();
        cell
    }
}

impl<T: PartialEq> PartialEq for OnceLock<T> {
    /// Equal when both are empty, or both are set to equal values.
    fn eq(&self, other: &OnceLock<T>) -> bool {
        self.get() == other.get()
    }
}

impl<T: Eq> Eq for OnceLock<T> {}
