//! The LIFO and priority orders of [`LifoQueue`](super::LifoQueue) and
//! [`PriorityQueue`](super::PriorityQueue) (the FIFO one is a `VecDeque`).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::sync::exchange::Buffer;

/// Last in, first out.
pub(crate) struct Lifo<T>(Vec<T>);

/// Smallest first, like gevent's (and Python's `heapq`).
pub(crate) struct Priority<T>(BinaryHeap<Reverse<T>>);

impl<T> Default for Lifo<T> {
    fn default() -> Self {
        Lifo(Vec::new())
    }
}

impl<T: Ord> Default for Priority<T> {
    fn default() -> Self {
        Priority(BinaryHeap::new())
    }
}

impl<T> Buffer<T> for Lifo<T> {
    fn push(&mut self, item: T) {
        self.0.push(item);
    }
    fn pop(&mut self) -> Option<T> {
        self.0.pop()
    }
    fn restore(&mut self, item: T) {
        self.0.push(item);
    }
    fn peek(&self) -> Option<&T> {
        self.0.last()
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

impl<T: Ord> Buffer<T> for Priority<T> {
    fn push(&mut self, item: T) {
        self.0.push(Reverse(item));
    }
    fn pop(&mut self) -> Option<T> {
        self.0.pop().map(|Reverse(item)| item)
    }
    fn restore(&mut self, item: T) {
        self.0.push(Reverse(item));
    }
    fn peek(&self) -> Option<&T> {
        self.0.peek().map(|Reverse(item)| item)
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}
