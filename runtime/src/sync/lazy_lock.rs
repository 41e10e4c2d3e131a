//! [`LazyLock`]: a value computed on first use, whose racing users park.

use std::cell::UnsafeCell;
use std::fmt;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::panic::{RefUnwindSafe, UnwindSafe};

use super::once::Once;

/// Either the initializer (before) or the value (after); which one is
/// recorded by the `Once`.
union Data<T, F> {
    value: ManuallyDrop<T>,
    f: ManuallyDrop<F>,
}

/// A value computed on first access, as `std::sync::LazyLock`, built on
/// verde's [`Once`]: while one caller runs the initializer, the others park
/// their coroutines, so the initializer may itself park without stalling
/// the hub.
///
/// If the initializer panics (or its coroutine is killed or timed out),
/// the `LazyLock` is poisoned and every later access panics, as std's.
///
/// ```
/// use std::collections::HashMap;
/// use verde_runtime::sync::LazyLock;
///
/// static TABLE: LazyLock<HashMap<u32, &str>> = LazyLock::new(|| {
///     verde_runtime::yield_now(); // may park
///     HashMap::from([(1, "one"), (2, "two")])
/// });
///
/// let h = verde_runtime::spawn(|| TABLE[&1]);
/// assert_eq!(TABLE[&2], "two");
/// assert_eq!(h.join().unwrap(), "one");
/// ```
pub struct LazyLock<T, F = fn() -> T> {
    once: Once,
    data: UnsafeCell<Data<T, F>>,
}

// SAFETY: sharing the LazyLock shares `&T` (`T: Sync`) and lets whichever
// thread comes first run `F` (`F: Send`) and store the `T` another thread
// may drop (`T: Send`), as for std's LazyLock. No `&F` is ever shared.
unsafe impl<T: Sync + Send, F: Send> Sync for LazyLock<T, F> {}

impl<T: RefUnwindSafe + UnwindSafe, F: UnwindSafe> RefUnwindSafe for LazyLock<T, F> {}
impl<T: UnwindSafe, F: UnwindSafe> UnwindSafe for LazyLock<T, F> {}

impl<T, F: FnOnce() -> T> LazyLock<T, F> {
    /// A lazy value that `f` computes on first access; usable in a
    /// `static`.
    pub const fn new(f: F) -> LazyLock<T, F> {
        LazyLock { once: Once::new(), data: UnsafeCell::new(Data { f: ManuallyDrop::new(f) }) }
    }

    /// The value, computing it first if needed (what `Deref` does).
    ///
    /// # Panics
    ///
    /// Panics if the initializer panics (the panic propagates and the
    /// `LazyLock` is poisoned), or if it panicked before.
    pub fn force(this: &LazyLock<T, F>) -> &T {
        let data = this.data.get();
        this.once.call_once_force(|state| {
            if state.is_poisoned() {
                panic_poisoned();
            }
            // SAFETY: `Once` runs one closure at a time, and this one only
            // while the Once is not complete and not poisoned: `f` is still
            // in the union and nobody else touches it now. If `f` panics the
            // Once is poisoned and the union (holding neither) is never read
            // or dropped again.
            unsafe {
                let f = ManuallyDrop::take(&mut (*data).f);
                (*data).value = ManuallyDrop::new(f());
            }
        });
        // SAFETY: `call_once_force` returned normally, so the Once is
        // complete and the value is in the union.
        unsafe { &(*data).value }
    }

    /// The value, mutably, computing it first if needed (what `DerefMut`
    /// does).
    ///
    /// # Panics
    ///
    /// As [`force`](Self::force).
    pub fn force_mut(this: &mut LazyLock<T, F>) -> &mut T {
        if this.once.is_poisoned_mut() {
            panic_poisoned();
        }
        if !this.once.is_completed_mut() {
            // Poisoned unless the initializer returns.
            this.once.set_poisoned_mut();
            let data = this.data.get_mut();
            // SAFETY: neither completed nor poisoned, so `f` is in the union.
            let f = unsafe { ManuallyDrop::take(&mut data.f) };
            data.value = ManuallyDrop::new(f());
            this.once.set_completed_mut();
        }
        // SAFETY: completed, so the value is in the union.
        unsafe { &mut this.data.get_mut().value }
    }
}

impl<T, F> LazyLock<T, F> {
    /// The value, if it has been computed.
    pub fn get(this: &LazyLock<T, F>) -> Option<&T> {
        if this.once.is_completed() {
            // SAFETY: completed, so the value is in the union and is never
            // written again through `&this`.
            Some(unsafe { &(*this.data.get()).value })
        } else {
            None
        }
    }

    /// The value, mutably, if it has been computed.
    pub fn get_mut(this: &mut LazyLock<T, F>) -> Option<&mut T> {
        if this.once.is_completed_mut() {
            // SAFETY: completed, so the value is in the union.
            Some(unsafe { &mut this.data.get_mut().value })
        } else {
            None
        }
    }
}

impl<T, F> Drop for LazyLock<T, F> {
    fn drop(&mut self) {
        let completed = self.once.is_completed_mut();
        let poisoned = self.once.is_poisoned_mut();
        let data = self.data.get_mut();
        if completed {
            // SAFETY: completed: the union holds the value.
            unsafe { ManuallyDrop::drop(&mut data.value) }
        } else if !poisoned {
            // SAFETY: never run: the union holds the initializer.
            unsafe { ManuallyDrop::drop(&mut data.f) }
        }
    }
}

impl<T, F: FnOnce() -> T> Deref for LazyLock<T, F> {
    type Target = T;

    fn deref(&self) -> &T {
        LazyLock::force(self)
    }
}

impl<T, F: FnOnce() -> T> DerefMut for LazyLock<T, F> {
    fn deref_mut(&mut self) -> &mut T {
        LazyLock::force_mut(self)
    }
}

impl<T: Default> Default for LazyLock<T> {
    /// A lazy value computed with `T::default`.
    fn default() -> LazyLock<T> {
        LazyLock::new(T::default)
    }
}

impl<T: fmt::Debug, F> fmt::Debug for LazyLock<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_tuple("LazyLock");
        match LazyLock::get(self) {
            Some(v) => d.field(v),
            None => d.field(&format_args!("<uninit>")),
        };
        d.finish()
    }
}

#[cold]
#[inline(never)]
fn panic_poisoned() -> ! {
    panic!("LazyLock instance has previously been poisoned")
}
