//! The permit counter with a FIFO wait list under both semaphores (and
//! [`Pool`](crate::pool::Pool)'s size limit).

use std::sync::Mutex;
use std::time::Instant;

use crate::sync::wait_list::{lock, wake_one, Exit, WaitList, WaitSite, Woke};

pub(crate) struct Permits {
    state: Mutex<State>,
}

struct State {
    available: usize,
    waiters: WaitList<()>,
}

impl Permits {
    pub const fn new(available: usize) -> Self {
        Permits { state: Mutex::new(State { available, waiters: WaitList::new() }) }
    }

    /// Free permits.
    pub fn available(&self) -> usize {
        lock(&self.state).available
    }

    /// Takes a permit, waiting in FIFO order until `deadline` if `blocking`.
    /// Returns whether it got one.
    pub fn acquire(&self, blocking: bool, deadline: Option<Instant>) -> bool {
        let mut state = lock(&self.state);
        // Permits are handed straight to waiters, so free permits mean
        // nobody waits: taking one cannot overtake a waiter.
        if state.available > 0 {
            state.available -= 1;
            return true;
        }
        if !blocking {
            return false;
        }
        let site = WaitSite {
            lock: &self.state,
            list: |s: &mut State| &mut s.waiters,
            on_exit: |s: &mut State, exit| {
                // Handed a permit, then unwound: pass it on.
                if let Exit::Abandoned(_) = exit {
                    if let Some(w) = s.release() {
                        w.wake();
                    }
                }
                None
            },
        };
        matches!(site.wait(state, None, deadline, || {}), Woke::Notified(_))
    }

    /// Returns a permit: to the oldest waiter, or to the pool of free
    /// permits unless that already holds `bound`. Returns false (changing
    /// nothing) in that case.
    pub fn release(&self, bound: Option<usize>) -> bool {
        let mut state = lock(&self.state);
        if state.waiters.is_empty() && bound.is_some_and(|b| state.available >= b) {
            return false;
        }
        let waker = state.release();
        drop(state);
        wake_one(waker);
        true
    }
}

impl State {
    fn release(&mut self) -> Option<crate::park::Waker> {
        let waker = self.waiters.notify_front(|_| {});
        if waker.is_none() {
            self.available += 1;
        }
        waker
    }
}
