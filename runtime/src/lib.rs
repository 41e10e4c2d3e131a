//! verde's runtime: stackful coroutines on per-thread hubs.
//!
//! This is greenlet and gevent's core rebuilt in Rust. A coroutine is plain
//! blocking code; when it would block (a [`sleep`], a socket read, a lock)
//! it parks and its hub runs another coroutine. Nothing is `async`.
//!
//! ```
//! use std::time::Duration;
//!
//! let a = verde_runtime::spawn(|| {
//!     verde_runtime::sleep(Duration::from_millis(20));
//!     "a"
//! });
//! let b = verde_runtime::spawn(|| {
//!     verde_runtime::sleep(Duration::from_millis(20));
//!     "b"
//! });
//! // Both sleeps overlap: this takes about 20 ms, not 40.
//! let results = verde_runtime::joinall([a, b]);
//! assert_eq!(results.len(), 2);
//! ```
//!
//! * **Hubs.** Every thread that uses verde gets a hub (run queue, timers,
//!   epoll, stack pool), created on first use; the thread's own code is its
//!   main context and drives the hub whenever it blocks. A [`Runtime`] runs
//!   one hub per core. Coroutines never move between threads, so
//!   `thread_local!` and non-`Send` data stay sound inside them.
//! * **Spawning.** [`spawn`], [`spawn_local`], [`spawn_later`], [`Builder`];
//!   [`JoinHandle`] with `join`, `wait_timeout`, `kill`, `is_finished`,
//!   and gevent's links (`rawlink`, `link`, `link_value`,
//!   `link_exception`, `unlink`: see [`Linked`]); [`joinall`] (and
//!   [`joinall_timeout`], with gevent's `timeout` and `count`),
//!   [`killall`], and gevent's [`iwait`] and [`wait`], which take
//!   coroutines, events, async results and semaphores in the order they
//!   become ready ([`Waitable`]).
//! * **Switching.** [`yield_now`] (gevent's `sleep(0)`), [`sleep`], and
//!   explicit symmetric switching with [`Greenlet`].
//! * **Time limits.** [`Timeout`] and [`with_timeout`].
//! * **Synchronisation.** [`sync`]: `std::sync`'s `Mutex`, `RwLock`,
//!   `Condvar`, `Barrier` and `mpsc` channels, parking instead of
//!   blocking. gevent's toolkit under gevent's names: [`event`] (`Event`
//!   and `AsyncResult`, both with `rawlink`/`unlink`), [`queue`] (`Queue`,
//!   `LifoQueue`, `PriorityQueue`, whose `bounded(0)` is a rendezvous,
//!   and `Channel`), [`lock`] (`Semaphore` and `BoundedSemaphore`, both
//!   with `rawlink`/`unlink`, and `RLock`),
//!   [`pool`] (`Pool`, `Group`, with `add`/`discard` of coroutines
//!   spawned elsewhere) and [`local`] (coroutine-local storage,
//!   [`coroutine_local!`]). All of them work between coroutines of one hub,
//!   across hubs, and with plain threads, and serve waiters in FIFO order.
//! * **Blocking code.** [`blocking`] runs a call that would block the hub
//!   on a thread pool.
//! * **Files.** [`fs`]: `std::fs`'s `File`, `OpenOptions` and free
//!   functions, whose system calls run on the blocking pool while only the
//!   caller parks (gevent's `FileObjectThread`); a kill or a [`Timeout`]
//!   loses nothing an operation did.
//! * **Child processes.** [`process`]: `std::process`'s `Command`,
//!   `Child` and pipes, whose waits park instead of blocking the hub
//!   (gevent's `subprocess`).
//! * **Signals.** [`signal`]: a coroutine waits for a Unix signal as it
//!   waits for a socket ([`signal::Signals`]), and gevent's
//!   [`signal_handler`](signal::signal_handler).
//! * **Monkey patching.** [`patch_all!`] in a binary makes libc's blocking
//!   calls (sockets, `poll`, sleeps, `getaddrinfo`) cooperative for all its
//!   code, std and C libraries included: see [`patch`].
//! * **Monitor.** [`monitor`] names the coroutine (and the system call)
//!   that keeps a hub from switching longer than a max blocking time.
//! * **Building blocks.** [`park`] and [`io`] are what verde's sockets and
//!   sync primitives are made of.
//!
//! Failures are contained: a panicking coroutine ends alone and its join
//! handle returns the panic; one nobody joins is logged through the `log`
//! crate with its name. A stack overflow hits a guard page and is reported
//! with the coroutine's name before the process aborts. Unwinding is
//! tracked per coroutine, not per thread as `std::thread::panicking()`
//! does: a coroutine parked in a destructor on its way out neither poisons
//! the locks other coroutines of its hub release, nor is unwound a second
//! time by a kill or a [`Timeout`] (which waits until its unwinding is
//! over). [`catch_unwind`] and [`resume_unwind`] are std's, telling verde
//! which coroutine an unwinding belongs to: use them in coroutines.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod asan_fiber;
mod blocking;
mod current;
mod deadlock;
pub mod event;
mod failure;
pub mod fs;
mod greenlet;
mod hub;
mod interrupt;
pub mod io;
mod join;
mod link;
pub mod local;
pub mod lock;
pub mod monitor;
pub mod park;
mod park_timer;
#[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))]
pub mod patch;
pub mod pool;
pub mod process;
pub mod queue;
mod run_queue;
mod runtime;
pub mod signal;
mod spawn;
mod spawn_backoff;
mod stack;
mod stack_overflow;
pub mod sync;
pub mod sys;
mod task;
mod timeout;
mod timer;
mod unwinding;
mod wait;
mod wait_idle;
mod waker;

pub use blocking::blocking;
pub use current::{current, Coroutine, CoroutineId};
pub use deadlock::MESSAGE as WOULD_BLOCK_FOREVER;
pub use greenlet::{Greenlet, GreenletExit};
pub use interrupt::{describe_payload, Killed, TimeoutExpired};
pub use join::{joinall, joinall_timeout, killall, JoinHandle};
pub use link::{LinkId, Linked, Outcome};
pub use park::{sleep, yield_now, Waker};
pub use runtime::{EnterGuard, Handle, Runtime, RuntimeBuilder};
pub use spawn::{spawn, spawn_later, spawn_local, Builder};
pub use spawn_backoff::SpawnBackoff;
pub use stack::{DEFAULT_STACK_SIZE, GUARD_SIZE};
pub use timeout::{with_timeout, Elapsed, Timeout};
pub use unwinding::{catch_unwind, resume_unwind};
pub use wait::{iwait, wait, IWait, Waitable};
pub use wait_idle::wait_idle;
