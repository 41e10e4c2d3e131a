//! gevent's `gevent.queue`: [`Queue`], [`LifoQueue`], [`PriorityQueue`] and
//! the rendezvous [`Channel`], for coroutines, hubs and threads.
//!
//! gevent's `put(item, block=True, timeout=None)` and `get(...)` map to
//! three methods each:
//!
//! | gevent | verde |
//! | --- | --- |
//! | `put(item)` / `get()` | [`put`](Queue::put) / [`get`](Queue::get): wait as long as needed |
//! | `put(item, timeout=t)` / `get(timeout=t)` | [`put_timeout`](Queue::put_timeout) / [`get_timeout`](Queue::get_timeout): [`Full`] / [`Empty`] when `t` passes |
//! | `put_nowait(item)` / `get_nowait()` | [`put_nowait`](Queue::put_nowait) / [`get_nowait`](Queue::get_nowait) |
//!
//! # Semantics
//!
//! * **FIFO waiters.** Blocked putters and blocked getters are each served
//!   in arrival order. A `put` with a getter waiting hands the item straight
//!   to the oldest getter; a `get` from a full queue lets the oldest blocked
//!   putter's item in.
//! * **Kill and Timeout.** A blocked `put` or `get` that is killed, or whose
//!   [`Timeout`](crate::Timeout) expires, unwinds and leaves the queue. An
//!   item just handed to a getter that unwinds goes to the next getter, or
//!   back to the head of the queue: nothing is lost. The item of a putter
//!   that unwinds before its item was taken is dropped with it.
//! * **Rendezvous.** `bounded(0)` holds nothing: each put waits until a
//!   getter takes its item, as `std::sync::mpsc::sync_channel(0)` does
//!   (old gevent's `Queue(0)`; gevent 1.0 made that unbounded and moved
//!   the rendezvous to [`Channel`]). See [`Queue::bounded`].
//! * **Anywhere.** Queues are `Send + Sync` (for `T: Send`): share one
//!   through an `Arc` between coroutines, hubs and plain threads, which
//!   block.
//! * **Tasks.** Every successful put counts an unfinished task;
//!   [`task_done`](Queue::task_done) marks one finished and
//!   [`join`](Queue::join) waits until none is left, as in gevent (and
//!   Python's `queue`). [`Channel`] has no task accounting, like gevent's.
//! * **Shutdown.** [`shutdown`](Queue::shutdown) (gevent 24.10's and
//!   Python 3.13's `shutdown()`) makes puts, and gets once the queue is
//!   empty, raise gevent's `ShutDown`: they unwind with a [`ShutDown`]
//!   payload, as a [`Timeout`](crate::Timeout) does, rather than return an
//!   error, so the `Full`/`Empty` results keep their meaning. A coroutine
//!   that lets it propagate ends with it, like a greenlet with an uncaught
//!   exception; catch it with `std::panic::catch_unwind`, or check
//!   [`is_shutdown`](Queue::is_shutdown). [`Channel`] cannot be shut down,
//!   as in gevent.
//!
//! ```
//! use std::sync::Arc;
//! use verde_runtime::queue::Queue;
//!
//! let q = Arc::new(Queue::bounded(2));
//! let q2 = q.clone();
//! let worker = verde_runtime::spawn(move || {
//!     let mut sum = 0;
//!     for _ in 0..5 {
//!         sum += q2.get();
//!         q2.task_done();
//!     }
//!     sum
//! });
//! for i in 1..=5 {
//!     q.put(i); // waits while two items are queued
//! }
//! q.join();
//! assert_eq!(worker.join().unwrap(), 15);
//! ```

mod buffers;
mod channel;
mod core;
mod fifo;
mod lifo;
mod priority;

use std::fmt;

pub use channel::Channel;
pub use core::Iter;
pub use fifo::Queue;
pub use lifo::LifoQueue;
pub use priority::PriorityQueue;

/// A put found the queue full (or, for a [`Channel`] or a rendezvous
/// [`Queue::bounded(0)`](Queue::bounded), no getter) and could not wait
/// longer; holds the item back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Full<T>(pub T);

impl<T> Full<T> {
    /// The item that was not put.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for Full<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Full(..)")
    }
}

impl<T> fmt::Display for Full<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("queue is full")
    }
}

impl<T> std::error::Error for Full<T> {}

/// A get found the queue empty (or, for a [`Channel`] or a rendezvous
/// [`Queue::bounded(0)`](Queue::bounded), no putter) and could not wait
/// longer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Empty;

impl fmt::Display for Empty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("queue is empty")
    }
}

impl std::error::Error for Empty {}

/// gevent's (and Python 3.13's) `ShutDown`: the payload a put, or a get
/// from an empty queue, unwinds with once the queue is
/// [shut down](Queue::shutdown).
///
/// ```
/// use std::panic::{catch_unwind, AssertUnwindSafe};
/// use verde_runtime::queue::{Queue, ShutDown};
///
/// let q = Queue::new();
/// q.put(1);
/// q.shutdown();
/// let put = catch_unwind(AssertUnwindSafe(|| q.put(2)));
/// assert!(put.unwrap_err().is::<ShutDown>());
/// assert_eq!(q.get(), 1); // what was queued can still be got
/// let get = catch_unwind(AssertUnwindSafe(|| q.get()));
/// assert!(get.unwrap_err().is::<ShutDown>());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShutDown;

impl fmt::Display for ShutDown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("queue is shut down")
    }
}

impl std::error::Error for ShutDown {}
