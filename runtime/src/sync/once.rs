//! [`Once`]: one-time initialization whose waiters park.
//!
//! std's `Once` blocks the thread of every caller that finds another
//! initialization running. Inside a hub that is a deadlock as soon as the
//! initializer itself parks (reads a socket, sleeps, takes a verde lock):
//! the hub's thread is stuck in the futex and never resumes the
//! initializer. verde's `Once` parks those callers instead.
//!
//! The state is one atomic byte, read alone on the fast path (a completed
//! `Once` costs one load). Changes of state and the list of waiting callers
//! sit behind a short-lived internal mutex that is never held while the
//! initializer runs or while anyone parks.

use std::fmt;
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::sync::atomic::{AtomicU8, Ordering};

use super::state_mutex::{lock, StateGuard, StateMutex};
use super::wait_list::{wake_all, WaitList, WaitSite};

const INCOMPLETE: u8 = 0;
const RUNNING: u8 = 1;
const COMPLETE: u8 = 2;
const POISONED: u8 = 3;

const POISONED_MESSAGE: &str = "Once instance has previously been poisoned";

/// A one-time initialization, as `std::sync::Once`, whose waiters park
/// their coroutine instead of blocking the hub's thread.
///
/// The closure given to [`call_once`](Self::call_once) runs exactly once,
/// even when many coroutines (on one hub or several) and threads call it at
/// the same time; they all return after it has finished. The closure may
/// itself block on anything verde parks for (I/O, sleep, locks, channels):
/// the other callers park meanwhile, and the hub keeps running everything
/// else.
///
/// If the closure panics (or its coroutine is killed, or a
/// [`Timeout`](crate::Timeout) unwinds it) the `Once` is *poisoned*: later
/// `call_once` calls panic, while [`call_once_force`](Self::call_once_force)
/// runs its closure again.
///
/// ```
/// use std::time::Duration;
/// use verde_runtime::sync::Once;
///
/// static INIT: Once = Once::new();
///
/// let hs: Vec<_> = (0..3)
///     .map(|_| {
///         verde_runtime::spawn(|| {
///             INIT.call_once(|| verde_runtime::sleep(Duration::from_millis(10)));
///             assert!(INIT.is_completed());
///         })
///     })
///     .collect();
/// verde_runtime::joinall(hs);
/// ```
pub struct Once {
    state: AtomicU8,
    waiters: StateMutex<WaitList<()>>,
}

/// What [`Once::call_once_force`] tells its closure about the `Once`.
pub struct OnceState {
    poisoned: bool,
}

impl OnceState {
    /// Whether the `Once` was poisoned (an earlier initializer panicked)
    /// before this closure was called.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }
}

impl fmt::Debug for OnceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnceState").field("poisoned", &self.is_poisoned()).finish()
    }
}

impl UnwindSafe for Once {}
impl RefUnwindSafe for Once {}

impl Default for Once {
    fn default() -> Self {
        Once::new()
    }
}

impl Once {
    /// A new `Once`, usable in a `static`.
    pub const fn new() -> Once {
        Once { state: AtomicU8::new(INCOMPLETE), waiters: StateMutex::new(WaitList::new()) }
    }

    /// Runs `f` if no call has completed yet, and returns once some call
    /// has. A caller that finds another call's closure running parks until
    /// it ends.
    ///
    /// # Panics
    ///
    /// Panics if the `Once` is poisoned, or becomes poisoned while this
    /// call waits. A closure that calls `call_once` on its own `Once` never
    /// returns (in a thread's main context: the "would block forever"
    /// panic), as std's deadlocks.
    #[track_caller]
    pub fn call_once<F: FnOnce()>(&self, f: F) {
        if self.is_completed() {
            return;
        }
        let mut f = Some(f);
        self.call(false, &mut |_| (f.take().expect("the closure runs once"))());
    }

    /// Like [`call_once`](Self::call_once), but a poisoned `Once` runs `f`
    /// too (which then learns it from [`OnceState::is_poisoned`]). If `f`
    /// returns, the `Once` is completed and no longer poisoned.
    pub fn call_once_force<F: FnOnce(&OnceState)>(&self, f: F) {
        if self.is_completed() {
            return;
        }
        let mut f = Some(f);
        self.call(true, &mut |state| (f.take().expect("the closure runs once"))(state));
    }

    /// Whether some call has completed (a running, never-run or poisoned
    /// `Once` is not).
    #[inline]
    pub fn is_completed(&self) -> bool {
        self.state.load(Ordering::Acquire) == COMPLETE
    }

    /// Waits, parking, until some call has completed.
    ///
    /// # Panics
    ///
    /// Panics if the `Once` is or becomes poisoned; see
    /// [`wait_force`](Self::wait_force).
    #[track_caller]
    pub fn wait(&self) {
        if !self.is_completed() {
            self.wait_for_completion(false);
        }
    }

    /// Waits, parking, until some call has completed, through any number
    /// of poisonings.
    pub fn wait_force(&self) {
        if !self.is_completed() {
            self.wait_for_completion(true);
        }
    }

    /// Whether the `Once` is completed, read through exclusive access
    /// (nothing can be running).
    pub(crate) fn is_completed_mut(&mut self) -> bool {
        *self.state.get_mut() == COMPLETE
    }

    /// Whether the `Once` is poisoned, read through exclusive access.
    pub(crate) fn is_poisoned_mut(&mut self) -> bool {
        *self.state.get_mut() == POISONED
    }

    /// Marks the `Once` completed, through exclusive access.
    pub(crate) fn set_completed_mut(&mut self) {
        *self.state.get_mut() = COMPLETE;
    }

    /// Marks the `Once` poisoned, through exclusive access.
    pub(crate) fn set_poisoned_mut(&mut self) {
        *self.state.get_mut() = POISONED;
    }

    /// Puts the `Once` back in its initial state, through exclusive access.
    pub(crate) fn reset_mut(&mut self) {
        *self.state.get_mut() = INCOMPLETE;
    }

    #[cold]
    #[track_caller]
    fn call(&self, force: bool, f: &mut dyn FnMut(&OnceState)) {
        let mut list = lock(&self.waiters);
        loop {
            match self.state.load(Ordering::Acquire) {
                COMPLETE => return,
                POISONED if !force => panic!("{POISONED_MESSAGE}"),
                RUNNING => {
                    list = self.park(list);
                    continue;
                }
                previous => {
                    self.state.store(RUNNING, Ordering::Relaxed);
                    drop(list);
                    // Poisons on the way out unless disarmed: a panic, a kill
                    // or a Timeout unwinding out of `f` lands here.
                    let mut finish = Finish { once: self, end: POISONED };
                    f(&OnceState { poisoned: previous == POISONED });
                    finish.end = COMPLETE;
                    return;
                }
            }
        }
    }

    #[cold]
    #[track_caller]
    fn wait_for_completion(&self, force: bool) {
        let mut list = lock(&self.waiters);
        loop {
            match self.state.load(Ordering::Acquire) {
                COMPLETE => return,
                POISONED if !force => panic!("{POISONED_MESSAGE}"),
                _ => list = self.park(list),
            }
        }
    }

    /// Parks until the state next changes to an end state (completed or
    /// poisoned); returns the list's lock, taken again.
    fn park<'a>(&'a self, list: StateGuard<'a, WaitList<()>>) -> StateGuard<'a, WaitList<()>> {
        // Every waiter is notified at once when a call ends, so one that
        // unwinds out of its park has nothing to pass on.
        let site = WaitSite { lock: &self.waiters, list: |list| list, on_exit: |_: &mut WaitList<()>, _| None };
        site.wait(list, None, None, || {});
        lock(&self.waiters)
    }
}

impl fmt::Debug for Once {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Once").finish_non_exhaustive()
    }
}

/// Ends a running call: sets the end state and wakes every waiter, on
/// return and on unwinding alike. It never parks (the internal mutex is
/// only ever held briefly), so it is safe in a destructor that runs while
/// a kill unwinds.
struct Finish<'a> {
    once: &'a Once,
    end: u8,
}

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        let mut list = lock(&self.once.waiters);
        self.once.state.store(self.end, Ordering::Release);
        let wakers = list.notify_all(|_| {});
        drop(list);
        wake_all(wakers);
    }
}
