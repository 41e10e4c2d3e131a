//! A hub's run queue: a growable ring buffer of tasks, FIFO.
//!
//! It is the hottest structure in verde (every `yield_now` rotates it), so
//! it is a power-of-two ring with masked indices rather than a
//! general-purpose `VecDeque`.

use std::mem::MaybeUninit;

use crate::task::TaskRef;

pub(crate) struct RunQueue {
    buf: Box<[MaybeUninit<TaskRef>]>,
    /// The capacity minus one; the capacity is a power of two.
    mask: usize,
    /// Index of the front slot, always below the capacity.
    head: usize,
    /// Initialised slots, from `head` on (wrapping).
    len: usize,
}

impl RunQueue {
    pub fn new() -> Self {
        const CAPACITY: usize = 64;
        RunQueue { buf: Self::alloc(CAPACITY), mask: CAPACITY - 1, head: 0, len: 0 }
    }

    fn alloc(cap: usize) -> Box<[MaybeUninit<TaskRef>]> {
        (0..cap).map(|_| MaybeUninit::uninit()).collect()
    }

    /// The slot at position `i` of the ring (taken modulo the capacity).
    #[inline(always)]
    fn slot(&mut self, i: usize) -> &mut MaybeUninit<TaskRef> {
        let i = i & self.mask;
        // SAFETY: `mask` is the capacity minus one and the capacity is a
        // power of two (64, doubled by `grow`), so `i & mask` is below it;
        // this only spares the bounds check, which the hot path (every
        // switch) would otherwise pay.
        unsafe { self.buf.get_unchecked_mut(i) }
    }

    /// The front slot.
    #[inline(always)]
    fn front(&mut self) -> &mut MaybeUninit<TaskRef> {
        // SAFETY: `head` is kept below the capacity (it is only ever set
        // masked, or to 0).
        unsafe { self.buf.get_unchecked_mut(self.head) }
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many tasks are queued.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
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
        self.head = self.head.wrapping_sub(1) & self.mask;
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
        let task = unsafe { self.front().assume_init_read() };
        self.head = (self.head + 1) & self.mask;
        self.len -= 1;
        Some(task)
    }

    /// Puts `task` at the back and returns the front; with an empty queue
    /// that is `task` itself. The common step of a yield.
    #[inline(always)]
    pub fn rotate(&mut self, task: TaskRef) -> TaskRef {
        if self.len == 0 {
            return task;
        }
        // The fields are read before the slots are touched: written through
        // a pointer, a slot might alias them as far as the compiler knows.
        let (head, mask) = (self.head, self.mask);
        let ring = self.buf.as_mut_ptr();
        // The front is read before `task` is written, on purpose: the other
        // order, which spares the empty-queue branch (with the ring kept
        // never full), ran two coroutines' yield round trip about 3 ns
        // slower on an AMD EPYC, though three instructions shorter per
        // switch; likely the CPU's store-to-load forwarding prediction,
        // which then sees this rotation's store come between the load and
        // the previous rotation's store that wrote the front.
        // SAFETY: `head` is below the capacity and the tail index is
        // masked, so both slots are in the buffer. The queue is not empty,
        // so slot `head` is initialised; it is read out before the slot
        // after the last (which is `head` itself when the ring is full) is
        // written, keeping exactly `len` slots initialised.
        unsafe {
            let front = (*ring.add(head)).assume_init_read();
            (*ring.add((head + self.len) & mask)).write(task);
            self.head = (head + 1) & mask;
            front
        }
    }

    /// Puts `task` at position `index` (0 is the front), moving the tasks
    /// from there on one place back. Rare (a hand-off that stops early puts
    /// its coroutine back where a yield through the hub would have left
    /// it), so it simply swaps the task forward from the back.
    #[cold]
    pub fn insert(&mut self, index: usize, task: TaskRef) {
        assert!(index <= self.len, "run queue insert at {index} past its length {}", self.len);
        self.push_back(task);
        let ring = self.buf.as_mut_ptr();
        for i in (index..self.len - 1).rev() {
            let (a, b) = ((self.head + i) & self.mask, (self.head + i + 1) & self.mask);
            // SAFETY: both indices are masked into the buffer, and both
            // slots are initialised (positions `i` and `i + 1` are below
            // `len`); they differ, since `len` is at most the capacity.
            unsafe { std::ptr::swap(ring.add(a), ring.add(b)) };
        }
    }

    #[cold]
    fn grow(&mut self) {
        let old_cap = self.buf.len();
        let mut new = Self::alloc(old_cap * 2);
        for (i, slot) in new.iter_mut().enumerate().take(self.len) {
            // SAFETY: moving each initialised slot exactly once.
            *slot = MaybeUninit::new(unsafe { self.buf[(self.head + i) & self.mask].assume_init_read() });
        }
        self.buf = new;
        self.mask = old_cap * 2 - 1;
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

    #[test]
    fn rotate_on_an_empty_queue_gives_the_task_back() {
        let hub = crate::hub::current().shared.clone();
        let mut q = RunQueue::new();
        let t = task(&hub);
        assert_eq!(q.rotate(t.clone()).as_ptr(), t.as_ptr());
        assert!(q.is_empty());
    }

    #[test]
    fn rotation_keeps_fifo_order_at_every_fill_around_growth() {
        let hub = crate::hub::current().shared.clone();
        for n in [1, 2, 62, 63, 64, 65, 126, 127, 128] {
            for offset in [0, 40] {
                let mut q = RunQueue::new();
                // Move `head` so that the ring wraps.
                for _ in 0..offset {
                    q.push_back(task(&hub));
                    drop(q.pop_front());
                }
                let mut model: std::collections::VecDeque<TaskRef> = (0..n).map(|_| task(&hub)).collect();
                for t in &model {
                    q.push_back(t.clone());
                }
                for _ in 0..2 * n + 1 {
                    let t = task(&hub);
                    model.push_back(t.clone());
                    let expected = model.pop_front().unwrap();
                    assert_eq!(q.rotate(t).as_ptr(), expected.as_ptr(), "{n} queued, offset {offset}");
                }
                for expected in model {
                    assert_eq!(q.pop_front().map(|t| t.as_ptr()), Some(expected.as_ptr()));
                }
                assert!(q.is_empty());
            }
        }
    }

    #[test]
    fn insert_puts_a_task_at_every_position_around_the_ring() {
        let hub = crate::hub::current().shared.clone();
        for n in [0, 1, 5, 63, 64] {
            for offset in [0, 40] {
                for index in [0, n / 2, n] {
                    let mut q = RunQueue::new();
                    for _ in 0..offset {
                        q.push_back(task(&hub));
                        drop(q.pop_front());
                    }
                    let mut model: Vec<TaskRef> = (0..n).map(|_| task(&hub)).collect();
                    for t in &model {
                        q.push_back(t.clone());
                    }
                    let t = task(&hub);
                    model.insert(index, t.clone());
                    q.insert(index, t);
                    assert_eq!(q.len(), n + 1);
                    for expected in model {
                        assert_eq!(
                            q.pop_front().map(|t| t.as_ptr()),
                            Some(expected.as_ptr()),
                            "{n}, {offset}, {index}"
                        );
                    }
                    assert!(q.is_empty());
                }
            }
        }
    }
}
