//! The permit counter with a FIFO wait list under both semaphores (and
//! [`Pool`](crate::pool::Pool)'s size limit).

use std::cell::Cell;
use std::time::Instant;

use crate::event::ready_links::{self, Notify, Owner, RawLink, ReadyLinks};
use crate::interrupt::{self, Interrupted};
use crate::park::Waker;
use crate::sync::state_mutex::{lock, StateMutex};
use crate::sync::wait_list::{wake_all, wake_one, Exit, WaitList, WaitSite, Woke};

/// The permits of an owner of type `O` (a semaphore, or `()` for a pool),
/// which is what the `rawlink` callbacks are passed: the calls that may
/// free a permit take the owner, to run them.
pub(crate) struct Permits<O: Owner> {
    state: StateMutex<State<O>>,
}

/// A [`Pool`](crate::pool::Pool)'s slots, which take no `rawlink`.
impl Owner for () {
    const NAME: &'static str = "a Pool";
}

struct State<O> {
    available: usize,
    /// Blocked in `acquire`, served in order.
    waiters: WaitList<()>,
    /// Blocked in `wait`: woken whenever a permit becomes free.
    watchers: WaitList<()>,
    /// Callbacks of the owner's `rawlink`, [`iwait`](crate::iwait) and
    /// [`wait`](crate::wait), run when a permit becomes free, after the
    /// watchers are woken.
    links: ReadyLinks<RawLink<O>>,
}

impl<O: Owner> Permits<O> {
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
    pub fn acquire(&self, owner: &O, blocking: bool, deadline: Option<Instant>) -> bool {
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
        // Declared before the wait, so dropped after it: a permit the
        // unwinding waiter passed back is announced once the mutex is free.
        let passed_on = PassedOn { permits: self, owner, freed: Cell::new(false) };
        let site = WaitSite {
            lock: &self.state,
            list: |s: &mut State<O>| &mut s.waiters,
            on_exit: |s: &mut State<O>, exit| {
                // Handed a permit, then unwound: pass it on.
                if let Exit::Abandoned(_) = exit {
                    passed_on.freed.set(s.release().wake());
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
        let site = WaitSite {
            lock: &self.state,
            list: |s: &mut State<O>| &mut s.watchers,
            on_exit: |_: &mut State<O>, _| None,
        };
        site.wait(state, None, deadline, || {});
        lock(&self.state).available
    }

    /// Returns a permit: to the oldest waiter, or to the pool of free
    /// permits unless that already holds `bound`. Returns false (changing
    /// nothing) in that case. A permit that becomes free runs the
    /// callbacks (see [`run_links`](Self::run_links)).
    pub fn release(&self, owner: &O, bound: Option<usize>) -> bool {
        let mut state = lock(&self.state);
        if state.waiters.is_empty() && bound.is_some_and(|b| state.available >= b) {
            return false;
        }
        let released = state.release();
        drop(state);
        if released.wake() {
            interrupt::resume_kept(self.run_links(owner));
        }
        true
    }

    /// Calls `link` with the owner once a permit is free: at once if one
    /// is, else when one is released and no acquirer is waiting for it.
    /// Returns an id for [`unlink`](Self::unlink), or `None` if `link` has
    /// run already.
    pub fn rawlink(&self, owner: &O, link: RawLink<O>) -> Option<u64> {
        let mut state = lock(&self.state);
        if state.available > 0 {
            drop(state);
            ready_links::run_all(owner, vec![link]);
            return None;
        }
        Some(state.links.add(link))
    }

    /// Removes a callback [`rawlink`](Self::rawlink) or
    /// [`link_ready`](Self::link_ready) added, unless it has been taken to
    /// run; returns whether it did.
    pub fn unlink(&self, id: u64) -> bool {
        lock(&self.state).links.remove(id)
    }

    /// Calls `notify` once a permit is free, as [`rawlink`](Self::rawlink)
    /// (for [`iwait`](crate::iwait)).
    pub fn link_ready(&self, owner: &O, notify: Notify) -> Option<u64> {
        self.rawlink(owner, Box::new(move |_: &O| notify()))
    }

    /// Runs the callbacks after a permit was freed: oldest first, each taken
    /// from the list under the mutex only while a permit is still free, as
    /// gevent's semaphore notifies its links only while it is ready. A
    /// callback that takes the last permit leaves the later ones linked for
    /// the next release. Panics are reported; returns an interrupt a
    /// callback let in, for the caller to resume.
    fn run_links(&self, owner: &O) -> Interrupted {
        let mut interrupted = None;
        loop {
            let mut state = lock(&self.state);
            if state.available == 0 {
                break;
            }
            let Some(link) = state.links.take_first() else { break };
            drop(state);
            ready_links::call::<O>(|| link(owner), &mut interrupted);
        }
        interrupted
    }
}

/// Runs the callbacks for a permit that an unwinding acquirer passed back
/// to the free permits, once the wait has released the mutex.
struct PassedOn<'a, O: Owner> {
    permits: &'a Permits<O>,
    owner: &'a O,
    freed: Cell<bool>,
}

impl<O: Owner> Drop for PassedOn<'_, O> {
    fn drop(&mut self) {
        if self.freed.get() {
            // Only an unwinding acquirer frees a permit here, so what a
            // callback let in is dropped: the acquirer is unwinding already.
            drop(self.permits.run_links(self.owner));
        }
    }
}

/// Whom a release wakes, once the mutex is released.
#[must_use = "the waiters must be woken"]
struct Released {
    waiter: Option<Waker>,
    watchers: Vec<Waker>,
}

impl Released {
    /// Wakes them; returns whether the permit was freed, and so the
    /// callbacks must run.
    fn wake(self) -> bool {
        let freed = self.waiter.is_none();
        wake_one(self.waiter);
        wake_all(self.watchers);
        freed
    }
}

impl<O> State<O> {
    /// Hands a permit to the oldest waiter, or frees it and wakes the
    /// watchers. Returns whom to wake once the mutex is released.
    fn release(&mut self) -> Released {
        let waiter = self.waiters.notify_front(|_| {});
        if waiter.is_some() {
            return Released { waiter, watchers: Vec::new() };
        }
        self.available += 1;
        Released { waiter: None, watchers: self.watchers.notify_all(|_| {}) }
    }
}
