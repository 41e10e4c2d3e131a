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
//!   be half-updated, exactly as after a panic.
//!
//! `Arc`, `Weak` and the `atomic` module are re-exported from std, so a
//! `use std::sync::{...}` line can become `use verde::sync::{...}` as a
//! whole.
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
