//! gevent's `gevent.lock`: [`Semaphore`], [`BoundedSemaphore`] and the
//! reentrant [`RLock`].
//!
//! gevent's `acquire(blocking=True, timeout=None)` keeps its shape:
//! `acquire(blocking, timeout)` returns `false` if it gave up (not blocking
//! and unavailable, or `timeout` passed). The `with lock:` form is a guard:
//! [`Semaphore::guard`], [`RLock::guard`].
//!
//! Waiters are served in FIFO order, across coroutines, hubs and plain
//! threads. A waiter that is killed, or whose [`Timeout`](crate::Timeout)
//! expires, unwinds and leaves the queue; a permit (or the lock) that had
//! just been handed to it passes to the next waiter. A guard releases what
//! it holds when its holder unwinds; a permit taken with `acquire` and
//! never released stays taken, as in gevent.
//!
//! Both semaphores are [`Waitable`](crate::Waitable): [`iwait`](crate::iwait)
//! and [`wait`](crate::wait) report them ready when a permit is free. Both
//! take gevent's one-shot callbacks for a free permit,
//! [`Semaphore::rawlink`] and [`BoundedSemaphore::rawlink`], run by the
//! release that frees one and removed with their `unlink`.
//!
//! ```
//! use std::sync::Arc;
//! use verde_runtime::lock::Semaphore;
//!
//! // At most two of the five workers inside at once.
//! let sem = Arc::new(Semaphore::new(2));
//! let handles: Vec<_> = (0..5)
//!     .map(|_| {
//!         let sem = sem.clone();
//!         verde_runtime::spawn(move || {
//!             let _permit = sem.guard();
//!             verde_runtime::sleep(std::time::Duration::from_millis(1));
//!         })
//!     })
//!     .collect();
//! verde_runtime::joinall(handles);
//! assert_eq!(sem.counter(), 2);
//! ```

mod bounded_semaphore;
pub(crate) mod permits;
mod rlock;
mod semaphore;

pub use bounded_semaphore::{BoundedSemaphore, OverReleased};
pub use rlock::{RLock, RLockGuard};
pub use semaphore::{Semaphore, SemaphoreGuard};
