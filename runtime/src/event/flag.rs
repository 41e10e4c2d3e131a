//! [`Event`]: gevent's `Event`.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::park;
use crate::sync::wait_list::{lock, wake_all, WaitList, WaitSite, Woke};

/// A flag that coroutines wait for (gevent's `Event`).
///
/// [`set`](Self::set) raises the flag and wakes every waiter;
/// [`clear`](Self::clear) lowers it; [`wait`](Self::wait) returns at once
/// while it is up. A waiter woken by `set` returns `true` even if the flag
/// was cleared again before it ran, as in gevent.
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
pub struct Event {
    flag: AtomicBool,
    waiters: Mutex<WaitList<()>>,
}

impl Event {
    /// A lowered flag.
    pub const fn new() -> Event {
        Event { flag: AtomicBool::new(false), waiters: Mutex::new(WaitList::new()) }
    }

    /// Whether the flag is up.
    #[inline]
    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::Acquire)
    }

    /// Raises the flag and wakes every waiter.
    pub fn set(&self) {
        let mut waiters = lock(&self.waiters);
        self.flag.store(true, Ordering::Release);
        let wakers = waiters.notify_all(|_| {});
        drop(waiters);
        wake_all(wakers);
    }

    /// Lowers the flag.
    pub fn clear(&self) {
        self.flag.store(false, Ordering::Release);
    }

    /// Parks until the flag is up, for at most `timeout` (`None`: no
    /// limit). Returns `true` if the flag was up or was raised while
    /// waiting, `false` if the time ran out first.
    pub fn wait(&self, timeout: Option<Duration>) -> bool {
        if self.is_set() {
            return true;
        }
        let waiters = lock(&self.waiters);
        if self.is_set() {
            return true;
        }
        let site = WaitSite { lock: &self.waiters, list: |w| w, on_exit: |_: &mut WaitList<()>, _| None };
        match site.wait(waiters, None, timeout.map(park::deadline_after), || {}) {
            Woke::Notified(_) => true,
            Woke::TimedOut(_) => self.is_set(),
        }
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
