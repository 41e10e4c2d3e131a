//! `std::sync` for coroutines: [`Mutex`], [`RwLock`], [`Condvar`],
//! [`Barrier`], [`mpsc`] channels, and the one-time initializers [`Once`],
//! [`OnceLock`] and [`LazyLock`], all of which park the calling coroutine
//! instead of blocking its thread.
//!
//! The names, signatures, poisoning rules and error types are std's (the
//! error types *are* std's), so switching is a change of `use` lines:
//!
//! ```
//! use verde_runtime::sync::{Arc, Mutex};
//!
//! let m = Arc::new(Mutex::new(Vec::new()));
//! let m2 = m.clone();
//! verde_runtime::spawn(move || m2.lock().unwrap().push(1)).join().unwrap();
//! assert_eq!(*m.lock().unwrap(), [1]);
//! ```
//!
//! # Semantics shared by every primitive
//!
//! * **Parking, not blocking.** A coroutine that must wait parks, and its
//!   hub runs other coroutines meanwhile. Holding a verde lock across a
//!   park (a sleep, a socket read, a channel receive) is fine; holding a
//!   `std::sync` lock across one stalls every coroutine of the hub that
//!   wants it.
//! * **Anywhere.** Coroutines on the same hub, on different hubs of a
//!   [`Runtime`](crate::Runtime), and plain OS threads can share a
//!   primitive. A plain thread that waits blocks (running its own hub's
//!   coroutines, if it has spawned any, like gevent's main greenlet).
//! * **FIFO.** Waiters are served in arrival order. A released lock is
//!   handed directly to the oldest waiter, so newcomers cannot barge in.
//! * **Kill and Timeout.** A waiting coroutine that is killed, or whose
//!   [`Timeout`](crate::Timeout) expires, unwinds out of the wait running
//!   its destructors. It leaves the queue; whatever had just been handed to
//!   it (a lock, a notification, a message slot) passes to the next waiter,
//!   so nothing is lost and nobody else is stalled.
//! * **Poisoning.** As in std, a lock guard dropped while unwinding poisons
//!   its lock. Kills and Timeouts unwind, so they poison too: the data may
//!   be half-updated, exactly as after a panic. See [Poisoning](#poisoning).
//!
//! `Arc`, `Weak` and the `atomic` module are re-exported from std, so a
//! `use std::sync::{...}` line can become `use verde::sync::{...}` as a
//! whole.
//!
//! # Poisoning
//!
//! std decides with `std::thread::panicking()`, which is per OS thread: a
//! guard poisons if the thread started unwinding while it held it. A hub's
//! coroutines share its thread, and a coroutine parked in a destructor on
//! its way out (it sends a goodbye, sleeps, takes a lock) keeps the thread
//! "panicking" for all of them. verde asks about the holder itself, the
//! coroutine or the thread's main context: a guard another coroutine
//! releases normally meanwhile does not poison, and one whose holder
//! panics with it does.
//!
//! verde learns that a coroutine starts unwinding from its panic hook
//! (installed with the first coroutine, chaining to the hook it replaces)
//! and from the unwinds it starts itself (kills, Timeouts, rethrows); it
//! learns that the unwinding is over where it catches it. Two things it
//! cannot see, and that matter only while another coroutine of the same
//! hub is parked mid-unwind:
//!
//! * an unwind started with `std::panic::resume_unwind` (no hook runs), or
//!   a panic that a hook installed later does not pass on to the hook it
//!   replaced: guards dropped by it do not poison. Rethrow with
//!   [`verde::resume_unwind`](crate::resume_unwind) instead, and have
//!   hooks call the previous one. When no other unwinding explains the
//!   thread's state, std's rule applies and they do poison.
//! * a panic caught with `std::panic::catch_unwind`: the catcher is still
//!   taken for unwinding (a guard it releases normally poisons, and one it
//!   takes does not poison on a later panic, as if taken in a destructor).
//!   Catch with [`verde::catch_unwind`](crate::catch_unwind) instead.
//!
//! If the panic hook is later replaced by one that does not call verde's,
//! a guard dropped while its thread is panicking poisons, as in std.
//!
//! ```
//! use std::sync::Arc;
//! use verde_runtime::sync::{mpsc, Mutex};
//!
//! // A coroutine panics, and a destructor on its way out waits.
//! struct Goodbye(mpsc::Receiver<()>);
//! impl Drop for Goodbye {
//!     fn drop(&mut self) {
//!         let _ = self.0.recv();
//!     }
//! }
//! let (release, rx) = mpsc::channel();
//! let unwinding = verde_runtime::spawn(move || {
//!     let _bye = Goodbye(rx);
//!     panic!("boom");
//! });
//! verde_runtime::yield_now();
//! assert!(std::thread::panicking()); // for the whole thread...
//!
//! // ...but a lock used normally meanwhile is not poisoned.
//! let m = Arc::new(Mutex::new(0));
//! *m.lock().unwrap() += 1;
//! assert!(!m.is_poisoned());
//!
//! release.send(()).unwrap();
//! assert!(unwinding.join().is_err());
//! ```
//!
//! # One-time initialization
//!
//! std's `Once`, `OnceLock` and `LazyLock` block the thread of a caller
//! that finds another caller's initializer running. When the initializer
//! parks (it connects somewhere, sleeps, takes a verde lock) and the other
//! caller is a coroutine on the same hub, that is a deadlock: the hub's
//! thread waits in the kernel for an initializer only it could resume.
//! verde's versions park the waiting coroutine instead. They keep std's
//! API and poisoning rules; the one difference is that their `Drop` is
//! checked by the compiler without std's internal `#[may_dangle]`, so a
//! cell holding a reference must be dropped before what it refers to.

mod barrier;
mod condvar;
pub(crate) mod exchange;
mod lazy_lock;
pub mod mpsc;
mod mutex;
mod once;
mod once_lock;
mod poison;
pub(crate) mod raw_mutex;
mod raw_rwlock;
mod rwlock;
pub(crate) mod state_mutex;
pub(crate) mod wait_list;

pub use std::sync::atomic;
pub use std::sync::{Arc, Weak};

pub use barrier::{Barrier, BarrierWaitResult};
pub use condvar::{Condvar, WaitTimeoutResult};
pub use lazy_lock::LazyLock;
pub use mutex::{Mutex, MutexGuard};
pub use once::{Once, OnceState};
pub use once_lock::OnceLock;
pub use poison::{LockResult, PoisonError, TryLockError, TryLockResult};
pub use rwlock::{RwLock, RwLockReadGuard, RwLockWriteGuard};
