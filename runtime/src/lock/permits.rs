//! The permit counter with a FIFO wait list under both semaphores (and
//! [`Pool`](crate::pool::Pool)'s size limit).

use std::sync::Mutex;
use std::time::Instant;

use crate::park::Waker;
use crate::sync::wait_list::{lock, wake_all, wake_one, Exit, WaitList, WaitSite, Woke};

pub(crate) struct Permits {
    state: Mutex<State>,
}

struct State {
    available: usize,
    /// Blocked in `acquire`, served in order.
    waiters: WaitList<()>,
    /// Blocked in `wait`: woken whenever a permit becomes free.
    watchers: WaitList<()>,
}

impl Permits {
    pub const fn new(available: usize) -> Self {
        Permits { state: Mutex::new(State { available, waiters: WaitList::new(), watchers: WaitList::new() }) }
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
                    let (waiter, watchers) = s.release();
                    wake_one(waiter);
                    wake_all(watchers);
                }
                None
            },
        };
        matches!(site.wait(state, None, deadline, || {}), Woke::Notified(_))
    }

    /// Waits, without taking one, until a permit is free or `deadline`
    /// passes; returns the free permits then (gevent's `Semaphore.wait`).
    /// Permits go to blocked acquirers first, so this waits for them too.
    pub fn wait(&self, deadline: Option<Instant>) -> usize {
        let state = lock(&self.state);
        if state.available > 0 {
            return state.available;
        }
        let site =
            WaitSite { lock: &self.state, list: |s: &mut State| &mut s.watchers, on_exit: |_: &mut State, _| None };
        site.wait(state, None, deadline, || {});
        lock(&self.state).available
    }

    /// Returns a permit: to the oldest waiter, or to the pool of free
    /// permits unless that already holds `bound`. Returns false (changing
    /// nothing) in that case.
    pub fn release(&self, bound: Option<usize>) -> bool {
        let mut state = lock(&self.state);
        if state.waiters.is_empty() && bound.is_some_and(|b| state.available >= b) {
            return false;
        }
        let (waiter, watchers) = state.release();
        drop(state);
        wake_one(waiter);
        wake_all(watchers);
        true
    }
}

impl State {
    /// Hands a permit to the oldest waiter, or frees it and wakes the
    /// watchers. Returns whom to wake once the mutex is released.
    fn release(&mut self) -> (Option<Waker>, Vec<Waker>) {
        let waker = self.waiters.notify_front(|_| {});
        if waker.is_some() {
            return (waker, Vec::new());
        }
        self.available += 1;
        (None, self.watchers.notify_all(|_| {}))
    }
}
