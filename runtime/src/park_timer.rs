//! A task's park timer: the one timer-heap entry that times all of its
//! parks.
//!
//! A timed park (a `sleep`, a socket read with a timeout, a lock with a
//! timeout) that is woken before its deadline would insert a heap entry,
//! with a counted reference to the task, and cancel it again: a server
//! that re-arms an idle timeout before every read would pay both on every
//! request. Instead, each task keeps at most one entry,
//! [`TimerAction::ParkDeadline`], armed across parks:
//!
//! * A timed park with deadline D keeps the armed entry if it expires at or
//!   before D, moves it earlier if it expires after D, and inserts one
//!   (taking a counted reference to the task, which the entry holds while
//!   it is armed) if none is armed. Either way it records D and its seq as
//!   what the park wants.
//! * A park that ends some other way (woken, interrupted) forgets what it
//!   wanted; the entry stays armed but *stale*, and the heap counts it as
//!   such, so that it does not keep a main context that would block
//!   forever from being told so.
//! * When the entry expires, it times out the current park if that park
//!   wants a deadline that has passed, re-arms at the deadline if the park
//!   wants a later one, and is simply gone if no park wants one.
//! * When the coroutine is retired, its entry is disarmed, so that it does
//!   not keep the finished task alive.
//!
//! A park whose deadline only ever moves later, as an idle timeout does,
//! touches the heap only when the entry expires, once per timeout period.

use std::cell::Cell;
use std::time::Instant;

use crate::hub::Hub;
use crate::task::{Header, Reason, TaskRef};
use crate::timer::{TimerAction, TimerId};

/// A task's park timer: owner thread only, like the other `Cell`s of its
/// `Header`.
#[derive(Default)]
pub(crate) struct ParkTimer {
    /// The armed heap entry and its deadline.
    armed: Cell<Option<Armed>>,
    /// What the current park wants, while the task is in a timed park.
    wanted: Cell<Option<Wanted>>,
}

impl ParkTimer {
    /// Whether the task has an entry armed, stale or not.
    #[cfg(test)]
    pub fn is_armed(&self) -> bool {
        self.armed.get().is_some()
    }
}

#[derive(Clone, Copy)]
struct Armed {
    id: TimerId,
    deadline: Instant,
}

#[derive(Clone, Copy)]
struct Wanted {
    deadline: Instant,
    /// The park's seq, which the entry wakes.
    seq: u64,
    /// The park's place among timers with the same deadline.
    order: u64,
}

/// Park `seq` of `task`, the hub's running task, is about to start and
/// wants to time out at `deadline`: arms, keeps or moves the task's entry.
#[inline]
pub(crate) fn start_timed_park(hub: &Hub, task: &Header, deadline: Instant, seq: u64) {
    let timer = &task.park_timer;
    let order = match timer.armed.get() {
        Some(a) if a.deadline <= deadline => hub.with_timers(|t| {
            t.set_stale(a.id, false);
            t.take_order()
        }),
        Some(a) => {
            let order = hub.with_timers(|t| {
                let order = t.take_order();
                t.move_earlier(a.id, deadline, order);
                t.set_stale(a.id, false);
                order
            });
            timer.armed.set(Some(Armed { id: a.id, deadline }));
            order
        }
        None => {
            let action = TimerAction::ParkDeadline { task: task.take_own_ref() };
            let (id, order) = hub.with_timers(|t| {
                let order = t.take_order();
                (t.insert_ordered(deadline, order, action), order)
            });
            timer.armed.set(Some(Armed { id, deadline }));
            order
        }
    };
    timer.wanted.set(Some(Wanted { deadline, seq, order }));
}

/// The task's current park has ended (or never started): it wants no
/// deadline any more, and an entry still armed becomes stale. Harmless
/// when the park was not timed.
#[inline]
pub(crate) fn end_timed_park(hub: &Hub, task: &Header) {
    let timer = &task.park_timer;
    if timer.wanted.take().is_some() {
        if let Some(a) = timer.armed.get() {
            hub.with_timers(|t| t.set_stale(a.id, true));
        }
    }
}

/// The task's entry expired at `now` (and has left the heap, handing over
/// its reference, `task`).
pub(crate) fn expired(hub: &Hub, task: TaskRef, now: Instant) {
    let timer = &task.park_timer;
    timer.armed.set(None);
    match timer.wanted.get() {
        Some(w) if w.deadline <= now => {
            Header::wake(task, w.seq, Reason::TimedOut);
        }
        Some(w) => {
            let action = TimerAction::ParkDeadline { task: task.clone() };
            let id = hub.with_timers(|t| t.insert_ordered(w.deadline, w.order, action));
            timer.armed.set(Some(Armed { id, deadline: w.deadline }));
        }
        None => {}
    }
}

/// Disarms the entry of a coroutine being retired, so that it does not
/// keep the finished task alive. Returns the entry's action, for the caller
/// to drop once it is done with the heap.
pub(crate) fn disarm(hub: &Hub, task: &Header) -> Option<TimerAction> {
    let timer = &task.park_timer;
    timer.wanted.set(None);
    let a = timer.armed.take()?;
    hub.with_timers(|t| t.cancel(a.id))
}

/// Forgets the entry that the hub's teardown has just drained from the
/// heap.
pub(crate) fn forget_drained(task: &Header) {
    task.park_timer.armed.set(None);
    task.park_timer.wanted.set(None);
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::park::{self, Unparked};

    fn heap_len() -> usize {
        crate::hub::current().with_timers(|t| t.len())
    }

    fn has_live_timers() -> bool {
        crate::hub::current().with_timers(|t| t.has_live())
    }

    fn armed_deadline(task: &Header) -> Option<Instant> {
        task.park_timer.armed.get().map(|a| a.deadline)
    }

    /// A timed park of the main context until `deadline`, which a
    /// coroutine wakes first.
    fn park_until_woken_first(deadline: Instant) {
        let waker = park::waker();
        let h = crate::spawn(move || assert!(waker.wake()));
        assert_eq!(park::park_until(deadline), Unparked::Woken);
        h.join().unwrap();
    }

    #[test]
    fn successive_timed_parks_woken_early_keep_one_entry() {
        let far = Instant::now() + Duration::from_secs(3600);
        let before = heap_len();
        for i in 0..50 {
            park_until_woken_first(far + Duration::from_millis(i));
            assert_eq!(heap_len(), before + 1, "park {i} kept the one entry");
        }
        let main = &crate::hub::current().main;
        assert_eq!(armed_deadline(main), Some(far), "armed at the first, earliest deadline");
        assert!(disarm(crate::hub::current(), main).is_some());
        assert_eq!(heap_len(), before);
    }

    #[test]
    fn an_earlier_deadline_moves_the_entry_and_a_stale_entry_is_not_live() {
        let hub = crate::hub::current();
        let main = &hub.main;
        let far = Instant::now() + Duration::from_secs(3600);
        park_until_woken_first(far);
        assert_eq!(armed_deadline(main), Some(far));
        assert!(!has_live_timers(), "the park ended: its entry waits for nothing");

        let sooner = Instant::now() + Duration::from_millis(1);
        assert_eq!(park::park_until(sooner), Unparked::TimedOut);
        assert!(Instant::now() >= sooner);
        assert_eq!(armed_deadline(main), None, "the moved entry fired");
        assert_eq!(heap_len(), 0);
    }

    #[test]
    fn an_expired_entry_re_arms_at_the_later_deadline_the_park_wants() {
        let hub = crate::hub::current();
        let main = &hub.main;
        let soon = Instant::now() + Duration::from_millis(1);
        park_until_woken_first(soon);
        assert_eq!(armed_deadline(main), Some(soon));

        // The next park wants a later deadline: the entry stays at `soon`,
        // expires, and re-arms for the rest of the wait.
        let later = Instant::now() + Duration::from_millis(30);
        assert_eq!(park::park_until(later), Unparked::TimedOut);
        assert!(Instant::now() >= later, "timed out only once its own deadline passed");
        assert_eq!(armed_deadline(main), None);
        assert_eq!(heap_len(), 0);
    }

    #[test]
    fn an_expired_stale_entry_is_gone() {
        let hub = crate::hub::current();
        let main = &hub.main;
        let soon = Instant::now() + Duration::from_millis(1);
        park_until_woken_first(soon);
        assert_eq!(heap_len(), 1);

        // An untimed park outlasts the stale entry: a sibling wakes it
        // once its own, later, sleep is over.
        let waker = park::waker();
        let h = crate::spawn(move || {
            crate::sleep(Duration::from_millis(20));
            assert!(waker.wake());
        });
        assert_eq!(park::park(), Unparked::Woken);
        h.join().unwrap();
        assert!(Instant::now() > soon);
        assert_eq!(armed_deadline(main), None);
        assert_eq!(heap_len(), 0, "the stale entry expired without re-arming");
    }
}
