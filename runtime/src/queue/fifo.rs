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
    /// # Panics
    ///
    /// If `maxsize` is 0. (gevent reads 0 as "unbounded", Python-style;
    /// here that is [`Queue::new`], and a queue every put of which waits for
    /// a getter is a [`Channel`](super::Channel).)
    pub fn bounded(maxsize: usize) -> Self {
        assert!(maxsize > 0, "a Queue needs maxsize > 0; use Queue::new() for unbounded, Channel for a rendezvous");
        Queue { core: QueueCore::new(Some(maxsize)) }
    }
}

impl<T> Default for Queue<T> {
    fn default() -> Self {
        Queue::new()
    }
}

queue_methods!(Queue);
