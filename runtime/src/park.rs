//! Parking: how every blocking call in verde waits.
//!
//! This module is the building block for blocking primitives (verde's own
//! sockets, locks and channels use nothing else). The protocol:
//!
//! 1. Try the real work first; return if it succeeds.
//! 2. Take a [`waker()`] for the coming park and store it where the event
//!    will find it (a wait list, an fd's readiness slot).
//! 3. [`park()`] (or [`park_until`]). In a coroutine this switches to the
//!    hub; in a thread's main context it runs the hub's loop until woken.
//! 4. Re-check the condition: a park can end early (its deadline, a
//!    withdrawn interrupt), so callers loop.
//!
//! Kills and `Timeout`s are delivered at park points: a parked coroutine
//! that is killed unwinds out of `park`, running destructors on the way, so
//! a wait-list entry should be removed by a guard's `Drop`.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use verde_runtime::park::{self, Waker};
//!
//! // A one-shot flag built on park/wake.
//! let slot: Arc<Mutex<(bool, Option<Waker>)>> = Arc::default();
//! let s = slot.clone();
//! let setter = verde_runtime::spawn(move || {
//!     let mut g = s.lock().unwrap();
//!     g.0 = true;
//!     if let Some(w) = g.1.take() {
//!         w.wake();
//!     }
//! });
//! loop {
//!     let mut g = slot.lock().unwrap();
//!     if g.0 {
//!         break;
//!     }
//!     g.1 = Some(park::waker());
//!     drop(g);
//!     park::park();
//! }
//! setter.join().unwrap();
//! ```

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

pub use crate::waker::Waker;

use crate::hub::{self, Hub};
use crate::park_timer;
use crate::task::{pack, reason_of, seq_of, state_of, Header, Kind, Reason, Suspend, NO_INTERRUPT, PARKED, RUNNING};

/// How a park ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unparked {
    /// A waker fired (or the park ended early for another reason): re-check
    /// the condition.
    Woken,
    /// The deadline passed.
    TimedOut,
}

/// A waker for the calling coroutine's (or thread's) next park.
#[inline]
pub fn waker() -> Waker {
    let task = match hub::running_coroutine() {
        Some(header) => header.take_own_ref(),
        None => hub::current().main.clone(),
    };
    let seq = task.seq();
    Waker::new(task, seq)
}

/// Parks until a waker for this park fires.
#[inline(always)]
pub fn park() -> Unparked {
    // A coroutine with nothing pending parks right here, so that the switch
    // to the hub happens in the caller's frame, as `yield_now` does (see
    // there); everything else takes `park_inner`.
    if let Some(task) = hub::running_coroutine() {
        let word = task.state.load(Ordering::Acquire);
        if state_of(word) == RUNNING && task.interrupt.load(Ordering::Relaxed) == NO_INTERRUPT {
            let seq = seq_of(word);
            let parked = task
                .state
                .compare_exchange(pack(seq, 0, RUNNING), pack(seq, 0, PARKED), Ordering::AcqRel, Ordering::Acquire)
                .is_ok();
            if parked {
                hub::current().park_coroutine(task);
                return end_park(task, seq);
            }
        }
    }
    park_slow()
}

#[cold]
#[inline(never)]
fn park_slow() -> Unparked {
    park_inner(hub::current(), None)
}

/// Parks until a waker fires or `deadline` passes.
#[inline]
pub fn park_until(deadline: Instant) -> Unparked {
    park_inner(hub::current(), Some(deadline))
}

/// Parks until a waker fires or `timeout` elapses.
pub fn park_timeout(timeout: Duration) -> Unparked {
    park_inner(hub::current(), Some(deadline_after(timeout)))
}

/// Whether the caller is running inside a verde coroutine (as opposed to a
/// thread's own main context).
#[inline]
pub fn in_coroutine() -> bool {
    hub::running_coroutine().is_some()
}

/// `now + timeout`, saturating at a point about a century away.
pub fn deadline_after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout).unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600))
}

pub(crate) fn park_inner(hub: &Hub, deadline: Option<Instant>) -> Unparked {
    hub.refuse_blocking_in_callback();
    let task = hub.current_task();
    deliver_interrupt(task);
    let word = task.state.load(Ordering::Acquire);
    let seq = seq_of(word);
    if state_of(word) == RUNNING {
        // The task's park timer (`crate::park_timer`) times the park; it
        // stays armed after a park woken first, for the next timed one.
        if let Some(d) = deadline {
            park_timer::start_timed_park(hub, task, d, seq);
        }
        let parked = task
            .state
            .compare_exchange(pack(seq, 0, RUNNING), pack(seq, 0, PARKED), Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if parked {
            suspend_parked(hub, task, seq);
        }
        if deadline.is_some() {
            park_timer::end_timed_park(hub, task);
        }
    }
    end_park(task, seq)
}

/// Ends park `seq` (woken, timed out, or never entered because a wake came
/// first): opens the next park and reports how this one ended, unwinding
/// if it ended to deliver an interrupt.
#[inline(always)]
fn end_park(task: &Header, seq: u64) -> Unparked {
    let word = task.state.load(Ordering::Acquire);
    task.state.store(pack(seq + 1, 0, RUNNING), Ordering::Release);
    match reason_of(word) {
        Reason::Woken => Unparked::Woken,
        Reason::TimedOut => Unparked::TimedOut,
        Reason::Interrupted => {
            deliver_interrupt_slow(task);
            Unparked::Woken
        }
    }
}

/// Leaves the CPU until the task is woken: a switch to the hub for a
/// coroutine, the hub's loop for the main context.
fn suspend_parked(hub: &Hub, task: &Header, seq: u64) {
    match task.kind {
        Kind::Coroutine => hub.park_coroutine(task),
        Kind::Main => {
            if hub.run_main().is_err() {
                // Nothing can ever wake main. Undo the park, then fail loudly
                // (gevent's LoopExit).
                let _ = task.state.compare_exchange(
                    pack(seq, 0, PARKED),
                    pack(seq + 1, 0, RUNNING),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                );
                if !hub.loop_exit_ends_wait_idle() {
                    panic!("{}", crate::deadlock::MESSAGE);
                }
            }
        }
    }
}

/// Suspends the running coroutine back to whoever resumed it: its hub, or
/// the coroutine hosting it.
#[inline(always)]
pub(crate) fn suspend(task: &Header, how: Suspend) {
    let y = task.yielder.get();
    debug_assert!(!y.is_null());
    task.asan.suspend(|| {
        // SAFETY: `yielder` was set by the coroutine's body to its own
        // Yielder, which lives on the coroutine's stack for as long as the
        // coroutine runs, and we are running on that coroutine now (the task
        // is the hub's current coroutine).
        unsafe { (*y).suspend(how) }
    });
}

/// Unwinds the running task if an interrupt (kill, Timeout) is pending.
///
/// Not while the task is unwinding already (a panic, an earlier interrupt)
/// and a destructor on the way out parks (it sends a goodbye, takes a
/// lock) when a kill, a `Timeout`, or a teardown's next kill round
/// arrives: unwinding again from there would unwind out of that
/// destructor, which aborts the process. The interrupt stays pending
/// instead: the task is ending anyway, or, if something catches the
/// unwinding, it gets the interrupt at its first park after that. Which
/// task is unwinding is `crate::unwinding`'s answer, not the thread's
/// `panicking()`, which also counts other coroutines of the hub.
#[inline]
pub(crate) fn deliver_interrupt(task: &Header) {
    if task.interrupt.load(Ordering::Relaxed) != NO_INTERRUPT
        && !task.defer_interrupts.get()
        && !crate::unwinding::unwinding(task)
    {
        let code = task.interrupt.swap(NO_INTERRUPT, Ordering::AcqRel);
        if code != NO_INTERRUPT {
            crate::interrupt::unwind(code);
        }
    }
}

/// Gives other coroutines a turn: gevent's `sleep(0)`.
///
/// The caller goes to the back of its hub's run queue, so two coroutines
/// that alternate `yield_now` take strict turns. From a thread's main
/// context it runs every coroutine that is ready, once, and returns.
///
/// ```
/// use std::sync::{Arc, Mutex};
///
/// let log = Arc::new(Mutex::new(Vec::new()));
/// let handles: Vec<_> = ["1", "2"].into_iter().map(|who| {
///     let log = log.clone();
///     verde_runtime::spawn(move || {
///         log.lock().unwrap().push(format!("{who}A"));
///         verde_runtime::yield_now();
///         log.lock().unwrap().push(format!("{who}B"));
///     })
/// }).collect();
/// verde_runtime::joinall(handles);
/// assert_eq!(*log.lock().unwrap(), ["1A", "2A", "1B", "2B"]);
/// ```
#[inline(always)]
pub fn yield_now() {
    match hub::running_coroutine() {
        Some(task) => {
            // Inlined into the caller on purpose: corosensei resumes with a
            // `call` and suspends with a `ret`, so a suspend in the caller's
            // own frame keeps the CPU's return-stack predictor in step; a
            // suspend one call deeper costs two mispredicted returns per
            // switch. A coroutine the hub resumed runs the ones ahead of it
            // itself instead of suspending (see the hub's `hosting`); one
            // that such a host runs suspends back to it, right here.
            hub::current().yield_coroutine(task);
            if task.interrupt.load(Ordering::Relaxed) != NO_INTERRUPT {
                deliver_interrupt_slow(task);
            }
        }
        None => yield_main(),
    }
}

/// [`yield_now`] for a caller whose operation has already taken effect
/// (an item handed over, a resource released): a kill or
/// [`Timeout`](crate::Timeout) that comes due during the yield stays
/// pending until the caller's next blocking call instead of unwinding here,
/// where it would look as if the operation had failed.
pub(crate) fn yield_now_deferring_interrupts() {
    let task = hub::current().current_task();
    let deferred = task.defer_interrupts.replace(true);
    yield_now();
    task.defer_interrupts.set(deferred);
}

#[cold]
#[inline(never)]
fn deliver_interrupt_slow(task: &Header) {
    deliver_interrupt(task);
}

#[cold]
#[inline(never)]
fn yield_main() {
    let hub = hub::current();
    hub.refuse_blocking_in_callback();
    hub.push_local(hub.main.clone());
    let _ = hub.run_main();
    deliver_interrupt(&hub.main);
}

/// Puts the caller to sleep for at least `dur`, letting other coroutines
/// run. A zero duration is [`yield_now`]. From a plain thread it blocks the
/// thread (while running any coroutines that thread spawned).
///
/// The hub waits with `epoll_pwait2`, whose timeout has nanosecond
/// resolution, so a sleep ends within the kernel's timer slack (50 µs by
/// default) of its deadline when the hub is otherwise idle; on kernels
/// before 5.11 the wait is rounded up to whole milliseconds.
///
/// ```
/// use std::time::{Duration, Instant};
///
/// let start = Instant::now();
/// verde_runtime::sleep(Duration::from_millis(10));
/// assert!(start.elapsed() >= Duration::from_millis(10));
/// ```
pub fn sleep(dur: Duration) {
    if dur.is_zero() {
        yield_now();
        return;
    }
    let deadline = deadline_after(dur);
    let hub = hub::current();
    while park_inner(hub, Some(deadline)) != Unparked::TimedOut {
        if Instant::now() >= deadline {
            return;
        }
    }
}
