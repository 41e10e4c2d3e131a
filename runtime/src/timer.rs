//! A hub's timers: an indexed binary min-heap.
//!
//! Every timed wait (a `sleep`, a socket timeout, a `Timeout`) inserts one
//! entry and, if it is woken some other way first, removes it again. An
//! indexed heap does both in O(log n) and never accumulates cancelled
//! entries, which matters for servers that re-arm an idle timeout on every
//! request. Entries with equal deadlines fire in insertion order.
//!
//! The heap array holds each entry's sort key next to its index, so sifting
//! compares contiguous memory; the entries (actions and heap positions)
//! live in a separate slab that only the moved items touch. With tens of
//! thousands of timers (a server with a timeout per connection) this keeps
//! the comparisons out of cache misses.

use std::time::Instant;

use crate::task::TaskRef;

/// What a timer does when it expires.
pub(crate) enum TimerAction {
    /// Wake the task's park number `seq` with the "timed out" reason.
    Wake { task: TaskRef, seq: u64 },
    /// Deliver interrupt `code` (a kill or a `Timeout`) to the task.
    Interrupt { task: TaskRef, code: u64 },
    /// Start a coroutine created by `spawn_later`.
    Start { task: TaskRef },
}

/// Names a timer so it can be cancelled; stale ids are ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimerId {
    index: u32,
    gen: u32,
}

struct Entry {
    pos: u32,
    gen: u32,
    action: Option<TimerAction>,
}

/// A heap slot: the sort key (deadline, then arming order) and the entry.
#[derive(Clone, Copy)]
struct Slot {
    key: (Instant, u64),
    index: u32,
}

/// The timer heap of one hub.
#[derive(Default)]
pub(crate) struct Timers {
    entries: Vec<Entry>,
    free: Vec<u32>,
    heap: Vec<Slot>,
    next_order: u64,
}

impl Timers {
    /// Arms a timer.
    pub fn insert(&mut self, deadline: Instant, action: TimerAction) -> TimerId {
        let order = self.next_order;
        self.next_order += 1;
        let pos = self.heap.len() as u32;
        let index = match self.free.pop() {
            Some(i) => {
                let e = &mut self.entries[i as usize];
                e.pos = pos;
                e.action = Some(action);
                i
            }
            None => {
                self.entries.push(Entry { pos, gen: 0, action: Some(action) });
                (self.entries.len() - 1) as u32
            }
        };
        self.heap.push(Slot { key: (deadline, order), index });
        self.sift_up(pos as usize);
        TimerId { index, gen: self.entries[index as usize].gen }
    }

    /// Disarms a timer; returns its action if it had not fired yet.
    pub fn cancel(&mut self, id: TimerId) -> Option<TimerAction> {
        let e = self.entries.get(id.index as usize)?;
        if e.gen != id.gen || e.action.is_none() {
            return None;
        }
        let pos = e.pos as usize;
        Some(self.remove_at(pos))
    }

    /// Whether timer `id` is still armed: neither fired nor cancelled.
    pub fn is_armed(&self, id: TimerId) -> bool {
        self.entries.get(id.index as usize).is_some_and(|e| e.gen == id.gen && e.action.is_some())
    }

    /// The earliest deadline, if any timer is armed.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.heap.first().map(|s| s.key.0)
    }

    /// Removes and returns the earliest timer if it expired at `now`.
    pub fn pop_expired(&mut self, now: Instant) -> Option<TimerAction> {
        match self.next_deadline() {
            Some(d) if d <= now => Some(self.remove_at(0)),
            _ => None,
        }
    }

    /// Removes every timer, returning their actions.
    pub fn drain(&mut self) -> Vec<TimerAction> {
        let mut out = Vec::with_capacity(self.heap.len());
        while !self.heap.is_empty() {
            out.push(self.remove_at(self.heap.len() - 1));
        }
        out
    }

    fn remove_at(&mut self, pos: usize) -> TimerAction {
        let index = self.heap[pos].index as usize;
        let last = self.heap.len() - 1;
        self.heap.swap(pos, last);
        self.heap.pop();
        if pos < self.heap.len() {
            self.entries[self.heap[pos].index as usize].pos = pos as u32;
            self.sift_down(pos);
            self.sift_up(pos);
        }
        let e = &mut self.entries[index];
        e.gen = e.gen.wrapping_add(1);
        self.free.push(index as u32);
        e.action.take().expect("an armed timer has an action")
    }

    #[inline]
    fn less(&self, a: usize, b: usize) -> bool {
        self.heap[a].key < self.heap[b].key
    }

    fn swap(&mut self, a: usize, b: usize) {
        self.heap.swap(a, b);
        self.entries[self.heap[a].index as usize].pos = a as u32;
        self.entries[self.heap[b].index as usize].pos = b as u32;
    }

    fn sift_up(&mut self, mut pos: usize) {
        while pos > 0 {
            let parent = (pos - 1) / 2;
            if !self.less(pos, parent) {
                break;
            }
            self.swap(pos, parent);
            pos = parent;
        }
    }

    fn sift_down(&mut self, mut pos: usize) {
        let n = self.heap.len();
        loop {
            let l = 2 * pos + 1;
            let r = l + 1;
            let mut min = pos;
            if l < n && self.less(l, min) {
                min = l;
            }
            if r < n && self.less(r, min) {
                min = r;
            }
            if min == pos {
                break;
            }
            self.swap(pos, min);
            pos = min;
        }
    }
}
