//! gevent's `gevent.local`: coroutine-local storage.
//!
//! gevent's `local()` objects give each greenlet its own attributes. The
//! Rust form is the [`coroutine_local!`](crate::coroutine_local) macro,
//! shaped like `thread_local!`: it declares a static [`LocalKey`], and each
//! coroutine that uses the key gets its own value, built by the initialiser
//! on first use.
//!
//! ```
//! use std::cell::Cell;
//!
//! verde_runtime::coroutine_local! {
//!     /// The id of the request the current coroutine serves.
//!     static REQUEST_ID: Cell<u64> = Cell::new(0);
//! }
//!
//! let handles: Vec<_> = (1..=3)
//!     .map(|id| {
//!         verde_runtime::spawn(move || {
//!             REQUEST_ID.set(id);
//!             verde_runtime::yield_now(); // the others set theirs meanwhile
//!             REQUEST_ID.get()
//!         })
//!     })
//!     .collect();
//! let seen: Vec<u64> = verde_runtime::joinall(handles).into_iter().map(Result::unwrap).collect();
//! assert_eq!(seen, [1, 2, 3]);
//! assert_eq!(REQUEST_ID.get(), 0); // the thread's main context has its own
//! ```
//!
//! # Lifetime of the values
//!
//! * A coroutine's values are dropped when it finishes (returns, panics or
//!   is killed), on its hub's thread and still inside the coroutine, so
//!   their destructors may use other coroutine-locals and may even block.
//!   A destructor that uses a key already dropped gets a fresh value, which
//!   is dropped in turn.
//! * A thread's main context has its own values, dropped when the thread's
//!   hub is torn down at thread exit; their destructors must not block.
//! * A coroutine that refuses to die at hub teardown keeps its values: they
//!   are leaked with its stack.
//!
//! Values never leave their coroutine's thread (coroutines never migrate),
//! so `T` need not be `Send` or `Sync`.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::hub;
use crate::task::Header;

/// Declares coroutine-local statics, like `thread_local!` declares
/// thread-locals: `[pub] static NAME: Type = initialiser;`, any number of
/// them, each with optional attributes and docs. See the
/// [`local`](crate::local) module.
///
/// ```
/// use std::cell::RefCell;
///
/// verde_runtime::coroutine_local! {
///     static LOG: RefCell<Vec<String>> = RefCell::new(Vec::new());
///     pub static DEPTH: std::cell::Cell<u32> = std::cell::Cell::new(0);
/// }
///
/// LOG.with_borrow_mut(|log| log.push("main".into()));
/// let other = verde_runtime::spawn(|| LOG.with_borrow(|log| log.len()));
/// assert_eq!(other.join().unwrap(), 0);
/// assert_eq!(LOG.with_borrow(|log| log.len()), 1);
/// ```
#[macro_export]
macro_rules! coroutine_local {
    () => {};
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = $init:expr; $($rest:tt)*) => {
        $crate::coroutine_local!($(#[$attr])* $vis static $name: $t = $init);
        $crate::coroutine_local!($($rest)*);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = $init:expr) => {
        $(#[$attr])*
        $vis static $name: $crate::local::LocalKey<$t> = {
            fn init() -> $t {
                $init
            }
            $crate::local::LocalKey::new(init)
        };
    };
}

/// A coroutine-local key, declared with
/// [`coroutine_local!`](crate::coroutine_local).
pub struct LocalKey<T: 'static> {
    init: fn() -> T,
    /// The key's slot index plus one; 0 until first use.
    index: AtomicUsize,
}

static NEXT_INDEX: AtomicUsize = AtomicUsize::new(0);

impl<T: 'static> LocalKey<T> {
    #[doc(hidden)]
    pub const fn new(init: fn() -> T) -> Self {
        LocalKey { init, index: AtomicUsize::new(0) }
    }

    /// Runs `f` with the calling coroutine's value (or the thread main
    /// context's), creating it first if this coroutine has none yet.
    pub fn with<R>(&'static self, f: impl FnOnce(&T) -> R) -> R {
        let task = hub::current().current_task();
        let index = self.index();
        // SAFETY: the running task's storage, on its own thread; `get` runs
        // no user code.
        let existing = unsafe { with_storage(task, |s| s.get(index)) };
        let value = match existing {
            Some(value) => value,
            None => {
                // The initialiser runs with no borrow of the storage held: it
                // may use other keys, or even park.
                let fresh: Box<dyn Any> = Box::new((self.init)());
                // SAFETY: as above; `insert` runs no user code (a rejected
                // duplicate is dropped after the borrow).
                let (value, duplicate) = unsafe { with_storage(task, |s| s.insert(index, fresh)) };
                drop(duplicate);
                value
            }
        };
        // SAFETY: the value is a separate allocation owned by the task's
        // storage, which only frees values when the task finishes (or its
        // hub is torn down), never while one of its `with` calls runs; and
        // it is only ever accessed through shared references.
        let value: &T = unsafe { value.as_ref() }.downcast_ref().expect("a key's slot holds its own type");
        f(value)
    }

    fn index(&self) -> usize {
        match self.index.load(Ordering::Relaxed) {
            0 => self.assign_index(),
            i => i - 1,
        }
    }

    #[cold]
    fn assign_index(&self) -> usize {
        let fresh = NEXT_INDEX.fetch_add(1, Ordering::Relaxed) + 1;
        match self.index.compare_exchange(0, fresh, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => fresh - 1,
            Err(taken) => taken - 1,
        }
    }
}

impl<T: Copy + 'static> LocalKey<Cell<T>> {
    /// The calling coroutine's value.
    pub fn get(&'static self) -> T {
        self.with(Cell::get)
    }

    /// Sets the calling coroutine's value.
    pub fn set(&'static self, value: T) {
        self.with(|cell| cell.set(value));
    }
}

impl<T: 'static> LocalKey<RefCell<T>> {
    /// Runs `f` with a shared borrow of the calling coroutine's value.
    ///
    /// # Panics
    ///
    /// If the value is mutably borrowed.
    pub fn with_borrow<R>(&'static self, f: impl FnOnce(&T) -> R) -> R {
        self.with(|cell| f(&cell.borrow()))
    }

    /// Runs `f` with a mutable borrow of the calling coroutine's value.
    ///
    /// # Panics
    ///
    /// If the value is already borrowed.
    pub fn with_borrow_mut<R>(&'static self, f: impl FnOnce(&mut T) -> R) -> R {
        self.with(|cell| f(&mut cell.borrow_mut()))
    }
}

impl<T: 'static> fmt::Debug for LocalKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalKey").finish_non_exhaustive()
    }
}

/// One task's coroutine-local values, indexed by key. Lives in its task's
/// header.
#[derive(Default)]
pub(crate) struct Storage {
    slots: Vec<Option<Slot>>,
}

/// A boxed value, held as a raw pointer so that moving the slot vector
/// (when it grows) never asserts uniqueness over a value a `with` call is
/// reading.
struct Slot(NonNull<dyn Any>);

impl Drop for Slot {
    fn drop(&mut self) {
        // SAFETY: the pointer came from `Box::into_raw` in `Storage::insert`
        // and is dropped once, here.
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}

impl Storage {
    fn get(&self, index: usize) -> Option<NonNull<dyn Any>> {
        self.slots.get(index).and_then(|s| s.as_ref()).map(|s| s.0)
    }

    /// Stores `value` at `index` unless something got there first (a
    /// recursive initialisation); returns the stored value and the rejected
    /// one, if any, to drop once the storage is no longer borrowed.
    fn insert(&mut self, index: usize, value: Box<dyn Any>) -> (NonNull<dyn Any>, Option<Box<dyn Any>>) {
        if let Some(existing) = self.get(index) {
            return (existing, Some(value));
        }
        if self.slots.len() <= index {
            self.slots.resize_with(index + 1, || None);
        }
        let raw = NonNull::from(Box::leak(value));
        self.slots[index] = Some(Slot(raw));
        (raw, None)
    }

    fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
}

/// Runs `f` with the storage of `task` borrowed mutably.
///
/// # Safety
///
/// `task` must be the task running on the calling thread (or, from
/// [`drop_all`], a task of this thread whose `with` calls are all over),
/// and `f` must not run user code (which could reach the same storage). A
/// task's storage is only ever touched on its hub's thread, so no other
/// thread races us.
unsafe fn with_storage<R>(task: &Header, f: impl FnOnce(&mut Storage) -> R) -> R {
    // SAFETY: forwarded from the caller: exclusive access for the span of
    // `f`, which cannot re-enter.
    f(unsafe { &mut *task.locals.get() })
}

/// Runs a coroutine's body `f`, then drops its coroutine-locals while
/// still inside the coroutine, even if `f` unwinds.
pub(crate) fn run_scoped<R>(task: &Header, f: impl FnOnce() -> R) -> R {
    struct Scope<'a>(&'a Header);
    impl Drop for Scope<'_> {
        fn drop(&mut self) {
            drop_all(self.0);
        }
    }
    let _scope = Scope(task);
    f()
}

/// Destructor rounds before values re-created by destructors are leaked.
const DROP_ROUNDS: usize = 4;

/// Drops every coroutine-local value of `task`, which must belong to the
/// calling thread and have no `with` call running: at the end of its body,
/// or (for a thread's main context) at hub teardown.
pub(crate) fn drop_all(task: &Header) {
    for _ in 0..DROP_ROUNDS {
        // SAFETY: the caller's contract; the storage is taken out before any
        // destructor runs, so destructors that use keys get a fresh storage.
        let values = unsafe { with_storage(task, std::mem::take) };
        if values.is_empty() {
            return;
        }
        drop(values);
    }
    // SAFETY: as above.
    let values = unsafe { with_storage(task, std::mem::take) };
    if !values.is_empty() {
        log::warn!(
            "verde: coroutine-local destructors of '{}' keep creating values; leaking them",
            task.display_name()
        );
        std::mem::forget(values);
    }
}
