//! [`Event`]: gevent's `Event`.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::ready_links::{self, link_id, Notify, Owner, RawLink, ReadyLinks};
use crate::link::LinkId;
use crate::park;
use crate::sync::state_mutex::{lock, StateMutex};
use crate::sync::wait_list::{wake_all, Exit, WaitList, WaitSite, Woke};

/// A flag that coroutines wait for (gevent's `Event`).
///
/// [`set`](Self::set) raises the flag and wakes every waiter;
/// [`clear`](Self::clear) lowers it; [`wait`](Self::wait) returns at once
/// while it is up. A waiter woken by `set` returns `true` even if the flag
/// was cleared again before it ran, as in gevent.
///
/// As in gevent, `wait` on a flag that is up returns at once unless `set`
/// is still delivering to earlier waiters: then the late caller lets them
/// run first (it yields once, and the woken waiters are ahead of it on its
/// hub's run queue), so waiters return in the order they came, even one
/// that calls `wait` right after its own `set`. Earlier waiters on other
/// hubs or threads run on their own schedule; the late caller does not
/// wait for them.
///
/// ```
/// use std::time::Duration;
/// use verde_runtime::event::Event;
///
/// let e = Event::new();
/// assert!(!e.wait(Some(Duration::from_millis(5))));
/// e.set();
/// assert!(e.is_set() && e.wait(None));
/// e.clear();
/// assert!(!e.is_set());
/// ```
///
/// # gevent's `Event`
///
/// | gevent | verde |
/// | --- | --- |
/// | `e.set()`, `e.clear()`, `e.is_set()` | [`set`](Self::set), [`clear`](Self::clear), [`is_set`](Self::is_set) |
/// | `e.wait(timeout)` | [`wait`](Self::wait), with an `Option<Duration>` |
/// | `e.rawlink(cb)` | [`rawlink`](Self::rawlink): `cb` runs inside `set`, on the setter's thread |
/// | `e.unlink(cb)` | [`unlink`](Self::unlink), with the [`LinkId`] `rawlink` returned |
pub struct Event {
    /// `SET`, plus `WOKEN` for each waiter `set` woke that has not yet
    /// returned from `wait`: one word, so the uncontended `wait` is still
    /// one load.
    state: AtomicUsize,
    waiters: StateMutex<Waiters>,
}

/// Who waits for the flag: parked coroutines and threads, and the
/// callbacks of [`Event::rawlink`], [`iwait`](crate::iwait) and
/// [`wait`](crate::wait).
struct Waiters {
    parked: WaitList<()>,
    links: ReadyLinks<Link>,
}

/// A callback that waits for the flag; it is passed the event.
type Link = RawLink<Event>;

impl Owner for Event {
    const NAME: &'static str = "an Event";
}

/// The flag is up.
const SET: usize = 1;
/// One woken waiter that has not run yet.
const WOKEN: usize = 2;

impl Event {
    /// A lowered flag.
    pub const fn new() -> Event {
        Event {
            state: AtomicUsize::new(0),
            waiters: StateMutex::new(Waiters { parked: WaitList::new(), links: ReadyLinks::new() }),
        }
    }

    /// Whether the flag is up.
    #[inline]
    pub fn is_set(&self) -> bool {
        self.state.load(Ordering::Acquire) & SET != 0
    }

    /// Raises the flag and wakes every waiter, then runs the
    /// [`rawlink`](Self::rawlink) callbacks waiting for it.
    pub fn set(&self) {
        let mut waiters = lock(&self.waiters);
        // Counted before they are notified: one may return at once.
        if !waiters.parked.is_empty() {
            self.state.fetch_add(waiters.parked.len() * WOKEN, Ordering::Relaxed);
        }
        self.state.fetch_or(SET, Ordering::Release);
        let wakers = waiters.parked.notify_all(|_| {});
        let links = waiters.links.take();
        drop(waiters);
        wake_all(wakers);
        ready_links::run_all(self, links);
    }

    /// Calls `f` with this event once the flag is raised: gevent's
    /// `Event.rawlink`. Returns an id for [`unlink`](Self::unlink).
    ///
    /// A callback runs once: the next [`set`](Self::set) takes every
    /// callback added so far and runs them in the order they were added,
    /// inside `set`, on the setter's thread (coroutine, plain thread or
    /// hub callback), after it has woken the waiters and before it
    /// returns; a waiter on the same hub as the setter runs after the
    /// callbacks. The callbacks run even if the flag is lowered again
    /// meanwhile, as gevent's do. If the flag is up already, `f` runs now,
    /// on the calling thread, before `rawlink` returns. gevent instead
    /// queues the callbacks to run in its hub soon after (its
    /// `run_callback`); here nothing waits for the hub to get round to it.
    ///
    /// `f` **must not block**, as in gevent: it holds up the setter, and
    /// when `set` is called from a hub callback (a
    /// [`JoinHandle::rawlink`](crate::JoinHandle::rawlink) callback, say),
    /// blocking there panics. Setting another event, sending on an
    /// unbounded channel, putting into an unbounded queue, spawning or
    /// [`kill_nowait`](crate::JoinHandle::kill_nowait) are fine; spawn a
    /// coroutine for anything that blocks.
    ///
    /// A panic in `f` is caught and logged (the `log` crate, target
    /// `verde`), as gevent's hub reports it; the other callbacks still
    /// run. A kill or [`Timeout`](crate::Timeout) of the setter that a
    /// blocking callback let in is resumed once every callback has run.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use verde_runtime::event::Event;
    ///
    /// let e = Event::new();
    /// let log = Arc::new(Mutex::new(Vec::new()));
    /// for name in ["first", "second"] {
    ///     let log = log.clone();
    ///     e.rawlink(move |e| log.lock().unwrap().push((name, e.is_set())));
    /// }
    /// assert!(log.lock().unwrap().is_empty());
    /// e.set();
    /// assert_eq!(*log.lock().unwrap(), [("first", true), ("second", true)]);
    /// ```
    pub fn rawlink<F>(&self, f: F) -> LinkId
    where
        F: FnOnce(&Event) + Send + 'static,
    {
        link_id(self.link(Box::new(f)))
    }

    /// Runs `link` at once if the flag is up (returning `None`), else adds
    /// it for [`set`](Self::set) and returns its id.
    fn link(&self, link: Link) -> Option<u64> {
        let mut waiters = lock(&self.waiters);
        if self.is_set() {
            drop(waiters);
            ready_links::run_all(self, vec![link]);
            return None;
        }
        Some(waiters.links.add(link))
    }

    /// Removes a [`rawlink`](Self::rawlink) callback that has not run yet
    /// (gevent's `Event.unlink`); returns whether it did. A callback that
    /// ran, is running, or belongs to another object is not removed, nor
    /// one a [`set`](Self::set) has taken to run: `set` takes them all at
    /// once, so a callback cannot unlink a later one (gevent's can).
    ///
    /// ```
    /// use verde_runtime::event::Event;
    ///
    /// let e = Event::new();
    /// let id = e.rawlink(|_| unreachable!("unlinked"));
    /// assert!(e.unlink(id));
    /// assert!(!e.unlink(id));
    /// e.set();
    /// ```
    pub fn unlink(&self, id: LinkId) -> bool {
        lock(&self.waiters).links.remove(id.0)
    }

    /// Lowers the flag.
    pub fn clear(&self) {
        self.state.fetch_and(!SET, Ordering::Release);
    }

    /// Parks until the flag is up, for at most `timeout` (`None`: no
    /// limit). Returns `true` if the flag was up or was raised while
    /// waiting, `false` if the time ran out first. A caller that finds the
    /// flag up while earlier waiters are still being woken lets them run
    /// first (see the type's docs).
    #[inline]
    pub fn wait(&self, timeout: Option<Duration>) -> bool {
        if self.state.load(Ordering::Acquire) == SET {
            return true;
        }
        self.wait_slow(timeout)
    }

    #[cold]
    fn wait_slow(&self, timeout: Option<Duration>) -> bool {
        let waiters = lock(&self.waiters);
        let state = self.state.load(Ordering::Acquire);
        if state & SET != 0 {
            drop(waiters);
            if state != SET {
                // gevent's `__wait_to_be_notified` for a late arrival.
                park::yield_now();
            }
            return true;
        }
        let site = WaitSite {
            lock: &self.waiters,
            list: |w: &mut Waiters| &mut w.parked,
            // A woken waiter unwinding before it returns has run all the same.
            on_exit: |_: &mut Waiters, exit| {
                if let Exit::Abandoned(_) = exit {
                    self.state.fetch_sub(WOKEN, Ordering::Release);
                }
                None
            },
        };
        match site.wait(waiters, None, timeout.map(park::deadline_after), || {}) {
            Woke::Notified(_) => {
                self.state.fetch_sub(WOKEN, Ordering::Release);
                true
            }
            Woke::TimedOut(_) => self.is_set(),
        }
    }
}

impl crate::wait::sealed::Linkable for Event {
    /// Calls `notify` once the flag is up: at once (on the calling thread)
    /// if it is, else from the next [`set`](Event::set), on the setter's
    /// thread.
    fn link_ready(&self, notify: Notify) -> Option<u64> {
        self.link(Box::new(move |_: &Event| notify()))
    }

    fn unlink_ready(&self, id: u64) {
        lock(&self.waiters).links.remove(id);
    }
}

impl crate::Waitable for Event {}

#[cfg(test)]
impl Event {
    /// How many callbacks wait for the flag.
    pub(crate) fn ready_links(&self) -> usize {
        lock(&self.waiters).links.len()
    }
}

impl Default for Event {
    fn default() -> Event {
        Event::new()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event").field("is_set", &self.is_set()).finish_non_exhaustive()
    }
}
