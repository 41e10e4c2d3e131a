//! A hub's run queue: a growable ring buffer of tasks, FIFO.
//!
//! It is the hottest structure in verde (every `yield_now` pushes and pops
//! it), so it is a power-of-two ring with masked indices rather than a
//! general-purpose `VecDeque`.

use std::mem::MaybeUninit;

use crate::task::TaskRef;

pub(crate) struct RunQueue {
    buf: Box<[MaybeUninit<TaskRef>]>,
    head: usize,
    len: usize,
}

impl RunQueue {
    pub fn new() -> Self {
        RunQueue { buf: Self::alloc(64), head: 0, len: 0 }
    }

    fn alloc(cap: usize) -> Box<[MaybeUninit<TaskRef>]> {
        (0..cap).map(|_| MaybeUninit::uninit()).collect()
    }

    #[inline]
    fn mask(&self) -> usize {
        self.buf.len() - 1
    }

    /// The slot at position `i` of the ring (taken modulo the capacity).
    #[inline(always)]
    fn slot(&mut self, i: usize) -> &mut MaybeUninit<TaskRef> {
        let i = i & self.mask();
        // SAFETY: the capacity is a power of two (64, doubled by `grow`),
        // so `i & (capacity - 1)` is below it; this only spares the bounds
        // check, which the hot path (every switch) would otherwise pay.
        unsafe { self.buf.get_unchecked_mut(i) }
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    pub fn push_back(&mut self, task: TaskRef) {
        if self.len == self.buf.len() {
            self.grow();
        }
        self.slot(self.head + self.len).write(task);
        self.len += 1;
    }

    #[inline]
    pub fn push_front(&mut self, task: TaskRef) {
        if self.len == self.buf.len() {
            self.grow();
        }
        self.head = self.head.wrapping_sub(1) & self.mask();
        self.slot(self.head).write(task);
        self.len += 1;
    }

    #[inline]
    pub fn pop_front(&mut self) -> Option<TaskRef> {
        if self.len == 0 {
            return None;
        }
        // SAFETY: slots head..head+len (masked) are initialised, and this
        // one is taken out before `head` moves past it.
        let task = unsafe { self.slot(self.head).assume_init_read() };
        self.head = (self.head + 1) & self.mask();
        self.len -= 1;
        Some(task)
    }

    /// Puts `task` at the back and returns the front; with an empty queue
    /// that is `task` itself. The common step of a yield.
    #[inline]
    pub fn rotate(&mut self, task: TaskRef) -> TaskRef {
        if self.len == 0 {
            return task;
        }
        // SAFETY: the queue is non-empty, so slot `head` is initialised; it
        // is read out and the same slot position at the tail end is
        // rewritten, keeping exactly `len` slots initialised.
        let front = unsafe { self.slot(self.head).assume_init_read() };
        self.slot(self.head + self.len).write(task);
        self.head = (self.head + 1) & self.mask();
        front
    }

    #[cold]
    fn grow(&mut self) {
        let old_cap = self.buf.len();
        let mut new = Self::alloc(old_cap * 2);
        for (i, slot) in new.iter_mut().enumerate().take(self.len) {
            // SAFETY: moving each initialised slot exactly once.
            *slot = MaybeUninit::new(unsafe { self.buf[(self.head + i) & (old_cap - 1)].assume_init_read() });
        }
        self.buf = new;
        self.head = 0;
    }
}

impl Drop for RunQueue {
    fn drop(&mut self) {
        while self.pop_front().is_some() {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::{pack, Kind, NewTask, RUNNING};

    fn task(hub: &std::sync::Arc<crate::hub::HubShared>) -> TaskRef {
        TaskRef::new::<()>(NewTask {
            hub: hub.clone(),
            name: None,
            kind: Kind::Coroutine,
            stack_size: 0,
            initial_state: pack(0, 0, RUNNING),
        })
    }

    #[test]
    fn fifo_with_growth_and_rotation() {
        let hub = crate::hub::current().shared.clone();
        let mut q = RunQueue::new();
        let tasks: Vec<TaskRef> = (0..200).map(|_| task(&hub)).collect();
        for t in &tasks {
            q.push_back(t.clone());
        }
        let first = q.pop_front().unwrap();
        assert_eq!(first.as_ptr(), tasks[0].as_ptr());
        let second = q.rotate(first);
        assert_eq!(second.as_ptr(), tasks[1].as_ptr());
        q.push_front(second);
        let mut order = Vec::new();
        while let Some(t) = q.pop_front() {
            order.push(t.as_ptr());
        }
        let mut expected: Vec<_> = tasks[1..].iter().map(|t| t.as_ptr()).collect();
        expected.push(tasks[0].as_ptr());
        assert_eq!(order, expected);
    }
}
