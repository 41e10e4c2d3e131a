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

use std::sync::OnceLock;
use std::time::{Duration, Instant};

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
/// The deadline is in nanoseconds since the heap's epoch, so that
/// comparing two keys is comparing integers, not `Instant`s.
#[derive(Clone, Copy)]
struct Slot {
    key: (u64, u64),
    index: u32,
}

/// The instant deadlines are counted from: a day before the process's first
/// timer heap, so that deadlines computed from `Instant::now()` in the
/// process never precede it. An earlier one (a caller's own arithmetic)
/// counts as the epoch itself: it has passed, and fires at the next poll,
/// in arming order among the others that did.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(|| {
        let now = Instant::now();
        now.checked_sub(Duration::from_secs(24 * 3600)).unwrap_or(now)
    })
}

/// The timer heap of one hub.
pub(crate) struct Timers {
    epoch: Instant,
    entries: Vec<Entry>,
    free: Vec<u32>,
    heap: Vec<Slot>,
    next_order: u64,
    /// How many armed entries are marked stale.
    stale: usize,
}

impl Default for Timers {
    fn default() -> Timers {
        Timers { epoch: epoch(), entries: Vec::new(), free: Vec::new(), heap: Vec::new(), next_order: 0, stale: 0 }
    }
}

impl Timers {
    /// `deadline` in nanoseconds since the epoch, saturating at both ends
    /// (the far end is some 580 years away).
    #[inline]
    fn nanos(&self, deadline: Instant) -> u64 {
        u64::try_from(deadline.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX)
    }

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
        self.heap.push(Slot { key: (self.nanos(deadline), order), index });
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
        let deadline = self.nanos(deadline);
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
        self.heap.first().map(|s| self.epoch + Duration::from_nanos(s.key.0))
    }

    /// Removes and returns the earliest timer if it expired at `now`.
    pub fn pop_expired(&mut self, now: Instant) -> Option<TimerAction> {
        match self.heap.first() {
            Some(s) if s.key.0 <= self.nanos(now) => Some(self.remove_at(0)),
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
        let last = self.heap.pop().expect("an armed timer is in the heap");
        if pos < self.heap.len() {
            // The last slot fills the hole: up if it sorts before the
            // hole's parent (a cancel deep in the heap), down otherwise,
            // usually back to the bottom (deadlines are mostly armed in
            // order).
            let pos = if pos > 0 && last.key < self.heap[(pos - 1) / 2].key {
                self.hole_up(pos, last)
            } else {
                self.hole_down(pos, last)
            };
            self.place(pos, last);
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

    /// Puts `slot` at heap position `pos` and tells its entry.
    #[inline]
    fn place(&mut self, pos: usize, slot: Slot) {
        self.heap[pos] = slot;
        self.entries[slot.index as usize].pos = pos as u32;
    }

    /// Moves the slot at `pos` up to where it belongs.
    fn sift_up(&mut self, pos: usize) {
        let slot = self.heap[pos];
        let pos = self.hole_up(pos, slot);
        self.place(pos, slot);
    }

    /// Moves a hole at `pos` up past every ancestor that `slot` sorts
    /// before, shifting each of them down one level; returns where the
    /// hole stopped. Each step writes one slot and one entry, where a swap
    /// would write two of each: with many timers the entries are cache
    /// misses.
    fn hole_up(&mut self, mut pos: usize, slot: Slot) -> usize {
        while pos > 0 {
            let parent = (pos - 1) / 2;
            let above = self.heap[parent];
            if slot.key >= above.key {
                break;
            }
            self.place(pos, above);
            pos = parent;
        }
        pos
    }

    /// Moves a hole at `pos` down past every descendant that sorts before
    /// `slot`, shifting the smaller child up at each level; returns where
    /// the hole stopped.
    fn hole_down(&mut self, mut pos: usize, slot: Slot) -> usize {
        let n = self.heap.len();
        loop {
            let l = 2 * pos + 1;
            if l >= n {
                break;
            }
            let r = l + 1;
            let child = if r < n && self.heap[r].key < self.heap[l].key { r } else { l };
            let below = self.heap[child];
            if slot.key <= below.key {
                break;
            }
            self.place(pos, below);
            pos = child;
        }
        pos
    }
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn random_arming_cancelling_and_moving_fire_in_key_order() {
        // A model: every armed timer's key, by id index. Deadlines repeat
        // often so that the arming order decides many comparisons.
        let base = Instant::now();
        let mut timers = Timers::default();
        let mut model: Vec<(TimerId, (Instant, u64))> = Vec::new();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for _ in 0..if cfg!(miri) { 300 } else { 20_000 } {
            match next(10) {
                0..=5 => {
                    let deadline = base + Duration::from_millis(next(500));
                    let order = timers.next_order;
                    let id = timers.insert(deadline, action());
                    model.push((id, (deadline, order)));
                }
                6 | 7 if !model.is_empty() => {
                    let (id, _) = model.swap_remove(next(model.len() as u64) as usize);
                    assert!(timers.cancel(id).is_some());
                    assert!(timers.cancel(id).is_none(), "a cancelled id is stale");
                }
                8 if !model.is_empty() => {
                    let i = next(model.len() as u64) as usize;
                    let (id, (deadline, _)) = model[i];
                    let earlier = deadline - Duration::from_millis(next(100));
                    let order = timers.take_order();
                    timers.move_earlier(id, earlier, order);
                    model[i].1 = (earlier, order);
                }
                _ => {
                    let Some(first) = model.iter().map(|&(_, key)| key).min() else { continue };
                    assert_eq!(timers.next_deadline(), Some(first.0));
                    let i = model.iter().position(|&(_, key)| key == first).expect("in the model");
                    let (id, _) = model.swap_remove(i);
                    assert!(timers.is_armed(id));
                    drop(timers.pop_expired(first.0));
                    assert!(!timers.is_armed(id), "the earliest key fires first");
                }
            }
            assert_eq!(timers.len(), model.len());
        }
        model.sort_by_key(|&(_, key)| key);
        for (id, (deadline, _)) in model {
            assert!(timers.is_armed(id));
            drop(timers.pop_expired(deadline));
            assert!(!timers.is_armed(id), "the rest fire in key order");
        }
        assert_eq!(timers.len(), 0);
    }
}
