//! A hub's timers: an indexed binary min-heap.
//!
//! A `Timeout` or a `spawn_later` inserts one entry and, if it is cancelled
//! first, removes it again. An indexed heap does both in O(log n) and never
//! accumulates cancelled entries. Timed parks (a `sleep`, a socket timeout)
//! go through each task's park timer instead (`crate::park_timer`), one
//! entry per task that stays armed across parks while their deadlines only
//! move later, so that a server re-arming an idle timeout on every request
//! touches the heap only when the timeout expires. Entries with equal
//! deadlines fire in arming order.
//!
//! An entry can be marked *stale*: still armed, but waiting for nothing (a
//! park timer whose park ended some other way). The heap counts them, so
//! that the hub's would-block-forever check can ignore them.
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
    /// The task's park timer expired: time out its current park if that
    /// park's deadline has passed (see `crate::park_timer`).
    ParkDeadline { task: TaskRef },
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
    stale: bool,
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
    /// How many armed entries are marked stale.
    stale: usize,
}

impl Timers {
    /// Arms a timer.
    pub fn insert(&mut self, deadline: Instant, action: TimerAction) -> TimerId {
        let order = self.take_order();
        self.insert_ordered(deadline, order, action)
    }

    /// A place in the arming order, for a timer armed later with
    /// [`insert_ordered`](Self::insert_ordered) or moved with
    /// [`move_earlier`](Self::move_earlier) that should fire as if it had
    /// been armed now.
    #[inline]
    pub fn take_order(&mut self) -> u64 {
        let order = self.next_order;
        self.next_order += 1;
        order
    }

    /// Arms a timer that fires, among those with the same deadline, in the
    /// place `order` (from [`take_order`](Self::take_order)) gives it.
    pub fn insert_ordered(&mut self, deadline: Instant, order: u64, action: TimerAction) -> TimerId {
        let pos = self.heap.len() as u32;
        let index = match self.free.pop() {
            Some(i) => {
                let e = &mut self.entries[i as usize];
                e.pos = pos;
                e.action = Some(action);
                i
            }
            None => {
                self.entries.push(Entry { pos, gen: 0, stale: false, action: Some(action) });
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
        self.armed_entry(id).is_some()
    }

    /// Brings armed timer `id` forward to `deadline`, which must not be
    /// later than its current one, in the place `order` (from
    /// [`take_order`](Self::take_order)) among equal deadlines. Its id
    /// stays valid. Does nothing if `id` is not armed.
    pub fn move_earlier(&mut self, id: TimerId, deadline: Instant, order: u64) {
        let Some(e) = self.armed_entry(id) else { return };
        let pos = e.pos as usize;
        debug_assert!(deadline <= self.heap[pos].key.0, "a timer is only moved earlier");
        self.heap[pos].key = (deadline, order);
        self.sift_up(pos);
    }

    /// Marks armed timer `id` stale (waiting for nothing) or live again.
    /// Does nothing if `id` is not armed.
    #[inline]
    pub fn set_stale(&mut self, id: TimerId, stale: bool) {
        let Some(index) = self.armed_entry(id).map(|_| id.index as usize) else { return };
        let e = &mut self.entries[index];
        if e.stale != stale {
            e.stale = stale;
            if stale {
                self.stale += 1;
            } else {
                self.stale -= 1;
            }
        }
    }

    /// Whether any armed timer is not stale: something the hub waits for.
    pub fn has_live(&self) -> bool {
        self.heap.len() > self.stale
    }

    /// How many timers are armed.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// The earliest deadline, if any timer is armed (stale ones included).
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
        if std::mem::take(&mut e.stale) {
            self.stale -= 1;
        }
        self.free.push(index as u32);
        e.action.take().expect("an armed timer has an action")
    }

    #[inline]
    fn armed_entry(&self, id: TimerId) -> Option<&Entry> {
        self.entries.get(id.index as usize).filter(|e| e.gen == id.gen && e.action.is_some())
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// An action to arm; the tests only look at when it comes out.
    fn action() -> TimerAction {
        TimerAction::Start { task: crate::hub::current().main.clone() }
    }

    /// The ids of `timers` in firing order, `ids` naming them.
    fn firing_order(timers: &mut Timers, ids: &[TimerId]) -> Vec<usize> {
        let mut order = Vec::new();
        while let Some(deadline) = timers.next_deadline() {
            let armed: Vec<bool> = ids.iter().map(|&id| timers.is_armed(id)).collect();
            drop(timers.pop_expired(deadline));
            order.extend((0..ids.len()).filter(|&i| armed[i] && !timers.is_armed(ids[i])));
        }
        order
    }

    #[test]
    fn a_timer_moved_earlier_fires_first_and_keeps_its_id() {
        let base = Instant::now();
        let mut timers = Timers::default();
        let a = timers.insert(base + Duration::from_secs(3), action());
        let b = timers.insert(base + Duration::from_secs(2), action());
        let order = timers.take_order();
        timers.move_earlier(a, base + Duration::from_secs(1), order);
        assert!(timers.is_armed(a));
        assert_eq!(timers.next_deadline(), Some(base + Duration::from_secs(1)));
        assert_eq!(firing_order(&mut timers, &[a, b]), [0, 1]);
    }

    #[test]
    fn equal_deadlines_fire_in_the_order_taken() {
        let deadline = Instant::now();
        let mut timers = Timers::default();
        let early = timers.take_order();
        let a = timers.insert(deadline, action());
        let b = timers.insert_ordered(deadline, early, action());
        let c = timers.insert(deadline + Duration::from_secs(1), action());
        let late = timers.take_order();
        timers.move_earlier(c, deadline, late);
        assert_eq!(firing_order(&mut timers, &[a, b, c]), [1, 0, 2]);
    }

    #[test]
    fn stale_timers_are_counted_until_they_leave() {
        let deadline = Instant::now();
        let mut timers = Timers::default();
        assert!(!timers.has_live());
        let a = timers.insert(deadline, action());
        let b = timers.insert(deadline, action());
        timers.set_stale(a, true);
        timers.set_stale(a, true);
        assert!(timers.has_live(), "b waits for something");
        timers.set_stale(b, true);
        assert!(!timers.has_live(), "both are stale");
        timers.set_stale(b, false);
        assert!(timers.has_live());
        drop(timers.cancel(b));
        assert!(!timers.has_live(), "only the stale one is left");
        drop(timers.pop_expired(deadline));
        assert_eq!(timers.len(), 0);
        let c = timers.insert(deadline, action());
        assert!(timers.has_live(), "a reused slot is not stale");
        timers.set_stale(a, true);
        assert!(timers.has_live(), "a stale id marks nothing");
        timers.set_stale(c, true);
        drop(timers.drain());
        assert!(!timers.has_live());
        assert_eq!(timers.stale, 0);
    }
}
