//! [`PriorityQueue`]: gevent's `PriorityQueue`, smallest first.

use super::buffers::Priority;
use super::core::{queue_methods, QueueCore};

/// A queue that hands out its smallest item first (gevent's
/// `PriorityQueue`, ordered like Python's `heapq`), unbounded or bounded;
/// the same API and waiting rules as [`Queue`](super::Queue). Use
/// `std::cmp::Reverse` for largest-first.
///
/// ```
/// use verde_runtime::queue::PriorityQueue;
///
/// let q = PriorityQueue::new();
/// for (prio, job) in [(2, "b"), (1, "a"), (3, "c")] {
///     q.put((prio, job));
/// }
/// assert_eq!([q.get().1, q.get().1, q.get().1], ["a", "b", "c"]);
/// ```
pub struct PriorityQueue<T: Ord> {
    core: QueueCore<T, Priority<T>>,
}

impl<T: Ord> PriorityQueue<T> {
    /// An unbounded priority queue.
    pub fn new() -> Self {
        PriorityQueue { core: QueueCore::new(None) }
    }

    /// A priority queue holding at most `maxsize` items.
    ///
    /// With `maxsize` 0 it is a rendezvous, as
    /// [`Queue::bounded(0)`](super::Queue::bounded) is: it holds nothing,
    /// so items go from putters to getters in the order the putters came.
    pub fn bounded(maxsize: usize) -> Self {
        PriorityQueue { core: QueueCore::new(Some(maxsize)) }
    }
}

impl<T: Ord> Default for PriorityQueue<T> {
    fn default() -> Self {
        PriorityQueue::new()
    }
}

queue_methods!(PriorityQueue, Ord);
