//! The lock under [`Mutex`](super::Mutex) and [`RLock`](crate::lock::RLock):
//! one atomic byte on the fast path, a FIFO wait list with direct hand-off
//! on the slow path.
//!
//! `state` is UNLOCKED, LOCKED, or LOCKED | PARKED (someone waits). Locking
//! an unlocked mutex and unlocking one nobody waits for are a single
//! compare-and-swap each. Once a waiter is queued, unlock hands ownership
//! straight to the oldest waiter without ever marking the mutex unlocked,
//! so a newcomer cannot barge ahead of the queue: waiters are served in
//! FIFO order.

use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Instant;

use super::state_mutex::{lock, StateMutex};
use super::wait_list::{wake_one, Exit, WaitList, WaitSite, Woke};
use crate::park::Waker;

const UNLOCKED: u8 = 0;
const LOCKED: u8 = 1;
const PARKED: u8 = 2;

pub(crate) struct RawMutex {
    state: AtomicU8,
    waiters: StateMutex<WaitList<()>>,
}

impl RawMutex {
    pub const fn new() -> Self {
        RawMutex { state: AtomicU8::new(UNLOCKED), waiters: StateMutex::new(WaitList::new()) }
    }

    /// Takes the lock if it is free.
    #[inline]
    pub fn try_lock(&self) -> bool {
        self.state.compare_exchange(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed).is_ok()
    }

    /// Takes the lock, parking in FIFO order while it is held.
    #[inline]
    pub fn lock(&self) {
        if !self.try_lock() {
            self.lock_slow(None);
        }
    }

    /// Takes the lock, giving up at `deadline`. Returns whether it was taken.
    pub fn lock_until(&self, deadline: Option<Instant>) -> bool {
        self.try_lock() || self.lock_slow(deadline)
    }

    /// Releases the lock, handing it to the oldest waiter if there is one.
    ///
    /// The caller must hold the lock.
    #[inline]
    pub fn unlock(&self) {
        if self.state.compare_exchange(LOCKED, UNLOCKED, Ordering::Release, Ordering::Relaxed).is_err() {
            self.unlock_slow();
        }
    }

    #[cold]
    #[inline(never)]
    fn lock_slow(&self, deadline: Option<Instant>) -> bool {
        let waiters = lock(&self.waiters);
        // Under the list's mutex: take the lock if it came free, or announce
        // a waiter so that its holder's unlock takes the slow path.
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            let next = if s == UNLOCKED { LOCKED } else { s | PARKED };
            if next == s {
                break;
            }
            match self.state.compare_exchange_weak(s, next, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) if s == UNLOCKED => return true,
                Ok(_) => break,
                Err(actual) => s = actual,
            }
        }
        let site = WaitSite {
            lock: &self.waiters,
            list: |list| list,
            on_exit: |list: &mut WaitList<()>, exit| {
                match exit {
                    Exit::Left if list.is_empty() => {
                        self.state.fetch_and(!PARKED, Ordering::Relaxed);
                    }
                    Exit::Left => {}
                    // Handed the lock, then unwound: pass it on.
                    Exit::Abandoned(_) => {
                        if let Some(w) = self.hand_over(list) {
                            w.wake();
                        }
                    }
                }
                None
            },
        };
        // The hand-off makes a served waiter the owner.
        matches!(site.wait(waiters, None, deadline, || {}), Woke::Notified(_))
    }

    #[cold]
    #[inline(never)]
    fn unlock_slow(&self) {
        let mut list = lock(&self.waiters);
        let waker = self.hand_over(&mut list);
        drop(list);
        wake_one(waker);
    }

    /// Releases the held lock to the oldest waiter (the state stays LOCKED;
    /// PARKED is cleared if nobody else waits), or unlocks it if nobody
    /// waits. Runs under the list's mutex.
    fn hand_over(&self, list: &mut WaitList<()>) -> Option<Waker> {
        let waker = list.notify_front(|_| {});
        let next = match (&waker, list.is_empty()) {
            (None, _) => UNLOCKED,
            (Some(_), true) => LOCKED,
            (Some(_), false) => LOCKED | PARKED,
        };
        // Nobody else changes the state now: a held lock cannot be taken on
        // the fast path, its holder is us, and announcing a waiter needs the
        // list's mutex.
        self.state.store(next, Ordering::Release);
        waker
    }
}
