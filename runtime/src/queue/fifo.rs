//! [`Queue`]: gevent's `Queue`, first in, first out.

use std::collections::VecDeque;

use super::core::{queue_methods, QueueCore};

/// A FIFO queue, unbounded or bounded (gevent's `Queue`); see the
/// [module docs](super) for the semantics shared by every queue.
///
/// ```
/// use std::time::Duration;
/// use verde_runtime::queue::{Empty, Full, Queue};
///
/// let q = Queue::bounded(1);
/// q.put("a");
/// assert_eq!(q.put_nowait("b"), Err(Full("b")));
/// assert_eq!(q.peek(), "a");
/// assert_eq!(q.get(), "a");
/// assert_eq!(q.get_timeout(Duration::from_millis(5)), Err(Empty));
/// ```
pub struct Queue<T> {
    core: QueueCore<T, VecDeque<T>>,
}

impl<T> Queue<T> {
    /// An unbounded queue: puts never wait (gevent's `Queue()`).
    pub fn new() -> Self {
        Queue { core: QueueCore::new(None) }
    }

    /// A queue holding at most `maxsize` items (gevent's `Queue(maxsize)`).
    ///
    /// # A rendezvous: `bounded(0)`
    ///
    /// With `maxsize` 0 the queue holds nothing, as
    /// `std::sync::mpsc::sync_channel(0)`: every [`put`](Self::put) waits
    /// until a getter takes its item, every [`get`](Self::get) until a
    /// putter comes. [`put_nowait`](Self::put_nowait) succeeds only if a
    /// getter is waiting, [`get_nowait`](Self::get_nowait) only if a putter
    /// is; [`full`](Self::full) is always true and [`peek`](Self::peek)
    /// sees the oldest waiting putter's item. [`qsize`](Self::qsize) is 0,
    /// save for an item handed to a getter that unwound (killed, or its
    /// [`Timeout`](crate::Timeout)) before returning it, when no other
    /// getter waits: that item stays queued for the next get, so that it is
    /// not lost. Tasks and [`shutdown`](Self::shutdown) work as for any
    /// queue.
    ///
    /// This is old gevent's `Queue(0)`. gevent 1.0 made `Queue(0)` mean
    /// unbounded, as in Python's `queue` (that is [`Queue::new`] here), and
    /// moved the rendezvous to [`Channel`](super::Channel), which differs in
    /// two ways: a `Channel` put lets the getter it served run before it
    /// returns (a `Queue` put returns at once, as `sync_channel`'s `send`
    /// does), and a `Channel` has no tasks, peek or shutdown.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use verde_runtime::queue::{Full, Queue};
    ///
    /// let q = Arc::new(Queue::bounded(0));
    /// assert_eq!(q.put_nowait(1), Err(Full(1))); // nobody is getting
    /// let q2 = q.clone();
    /// let putter = verde_runtime::spawn(move || q2.put(2));
    /// verde_runtime::yield_now();
    /// assert!(!putter.is_finished()); // waits for a getter
    /// assert_eq!(q.get(), 2);
    /// putter.join().unwrap();
    /// ```
    pub fn bounded(maxsize: usize) -> Self {
        Queue { core: QueueCore::new(Some(maxsize)) }
    }
}

impl<T> Default for Queue<T> {
    fn default() -> Self {
        Queue::new()
    }
}

queue_methods!(Queue);
