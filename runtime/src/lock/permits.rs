//! The permit counter with a FIFO wait list under both semaphores (and
//! [`Pool`](crate::pool::Pool)'s size limit).

use std::time::Instant;

use crate::event::ready_links::{notify_all, Notify, ReadyLinks};
use crate::park::Waker;
use crate::sync::state_mutex::{lock, StateMutex};
use crate::sync::wait_list::{wake_all, wake_one, Exit, WaitList, WaitSite, Woke};

pub(crate) struct Permits {
    state: StateMutex<State>,
}

struct State {
    available: usize,
    /// Blocked in `acquire`, served in order.
    waiters: WaitList<()>,
    /// Blocked in `wait`: woken whenever a permit becomes free.
    watchers: WaitList<()>,
    /// Callbacks of [`iwait`](crate::iwait) and [`wait`](crate::wait), run
    /// when a permit becomes free, as the watchers are woken.
    links: ReadyLinks,
}

impl Permits {
    pub const fn new(available: usize) -> Self {
        Permits {
            state: StateMutex::new(State {
                available,
                waiters: WaitList::new(),
                watchers: WaitList::new(),
                links: ReadyLinks::new(),
            }),
        }
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
                    s.release().wake();
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
        let released = state.release();
        drop(state);
        released.wake();
        true
    }

    /// Calls `notify` once a permit is free: at once if one is, else when
    /// one is released and no acquirer is waiting for it. Returns an id for
    /// [`unlink_ready`](Self::unlink_ready), or `None` if `notify` has run
    /// already.
    pub fn link_ready(&self, notify: Notify) -> Option<u64> {
        let mut state = lock(&self.state);
        if state.available > 0 {
            drop(state);
            notify();
            return None;
        }
        Some(state.links.add(notify))
    }

    /// Removes a callback [`link_ready`](Self::link_ready) added, unless it
    /// has run.
    pub fn unlink_ready(&self, id: u64) {
        lock(&self.state).links.remove(id);
    }
}

/// Whom a release wakes, once the mutex is released.
#[must_use = "the waiters must be woken"]
struct Released {
    waiter: Option<Waker>,
    watchers: Vec<Waker>,
    links: Vec<Notify>,
}

impl Released {
    fn wake(self) {
        wake_one(self.waiter);
        wake_all(self.watchers);
        notify_all(self.links);
    }
}

impl State {
    /// Hands a permit to the oldest waiter, or frees it and wakes the
    /// watchers and runs the readiness callbacks. Returns whom to wake once
    /// the mutex is released.
    fn release(&mut self) -> Released {
        let waiter = self.waiters.notify_front(|_| {});
        if waiter.is_some() {
            return Released { waiter, watchers: Vec::new(), links: Vec::new() };
        }
        self.available += 1;
        Released { waiter: None, watchers: self.watchers.notify_all(|_| {}), links: self.links.take() }
    }
}
