//! [`LifoQueue`]: gevent's `LifoQueue`, last in, first out.

use super::buffers::Lifo;
use super::core::{queue_methods, QueueCore};

/// A LIFO queue (a stack), unbounded or bounded (gevent's `LifoQueue`);
/// the same API and waiting rules as [`Queue`](super::Queue).
///
/// ```
/// use verde_runtime::queue::LifoQueue;
///
/// let q = LifoQueue::new();
/// for i in 1..=3 {
///     q.put(i);
/// }
/// assert_eq!([q.get(), q.get(), q.get()], [3, 2, 1]);
/// ```
pub struct LifoQueue<T> {
    core: QueueCore<T, Lifo<T>>,
}

impl<T> LifoQueue<T> {
    /// An unbounded LIFO queue.
    pub fn new() -> Self {
        LifoQueue { core: QueueCore::new(None) }
    }

    /// A LIFO queue holding at most `maxsize` items.
    ///
    /// With `maxsize` 0 it is a rendezvous, as
    /// [`Queue::bounded(0)`](super::Queue::bounded) is: it holds nothing,
    /// so items go from putters to getters in the order the putters came.
    pub fn bounded(maxsize: usize) -> Self {
        LifoQueue { core: QueueCore::new(Some(maxsize)) }
    }
}

impl<T> Default for LifoQueue<T> {
    fn default() -> Self {
        LifoQueue::new()
    }
}

queue_methods!(LifoQueue);
