//! [`Barrier`]: `std::sync::Barrier` for coroutines.

use std::fmt;

use super::state_mutex::{lock, StateMutex};
use super::wait_list::{wake_all, Exit, WaitList, WaitSite};

/// Lets `n` coroutines (or threads) wait until all of them have arrived: a
/// drop-in for `std::sync::Barrier`. It is reusable: once `n` have arrived,
/// the next `n` callers form the next round.
///
/// A waiter that is killed or hit by a [`Timeout`](crate::Timeout) before
/// its round completes withdraws its arrival, so the round then waits for
/// one more caller instead of completing short-handed.
///
/// ```
/// use std::sync::Arc;
/// use verde_runtime::sync::Barrier;
///
/// let barrier = Arc::new(Barrier::new(3));
/// let handles: Vec<_> = (0..3)
///     .map(|_| {
///         let b = barrier.clone();
///         verde_runtime::spawn(move || b.wait().is_leader())
///     })
///     .collect();
/// let leaders = verde_runtime::joinall(handles).into_iter().filter(|r| *r.as_ref().unwrap()).count();
/// assert_eq!(leaders, 1);
/// ```
pub struct Barrier {
    n: usize,
    state: StateMutex<State>,
}

struct State {
    arrived: usize,
    waiters: WaitList<()>,
}

/// What [`Barrier::wait`] returns: whether this caller is the round's
/// leader.
pub struct BarrierWaitResult(bool);

impl BarrierWaitResult {
    /// Whether this caller is the leader: exactly one per round (the last to
    /// arrive).
    #[must_use]
    pub fn is_leader(&self) -> bool {
        self.0
    }
}

impl Barrier {
    /// A barrier for rounds of `n` callers. `n` of 0 behaves like 1.
    #[must_use]
    pub const fn new(n: usize) -> Barrier {
        Barrier { n, state: StateMutex::new(State { arrived: 0, waiters: WaitList::new() }) }
    }

    /// Parks until `n` callers have called `wait` in this round; the last to
    /// arrive is the leader and wakes the others.
    pub fn wait(&self) -> BarrierWaitResult {
        let mut state = lock(&self.state);
        state.arrived += 1;
        if state.arrived >= self.n {
            state.arrived = 0;
            let wakers = state.waiters.notify_all(|_| {});
            drop(state);
            wake_all(wakers);
            return BarrierWaitResult(true);
        }
        let site = WaitSite {
            lock: &self.state,
            list: |s: &mut State| &mut s.waiters,
            on_exit: |s: &mut State, exit| {
                // Still waiting: this round has not completed, so withdraw.
                if let Exit::Left = exit {
                    s.arrived -= 1;
                }
                None
            },
        };
        site.wait(state, None, None, || {});
        BarrierWaitResult(false)
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // As std's: the count is not shown.
        f.debug_struct("Barrier").finish_non_exhaustive()
    }
}

impl fmt::Debug for BarrierWaitResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BarrierWaitResult").field("is_leader", &self.0).finish()
    }
}
