//! gevent's `iwait` and `wait`: objects in the order they become ready.
//!
//! What can be waited on is a [`Waitable`]: a coroutine's [`JoinHandle`]
//! (ready when the coroutine ends), an [`Event`] (ready when set), an
//! [`AsyncResult`] (ready when a value or an error is set) and a
//! [`Semaphore`] or [`BoundedSemaphore`] (ready when a permit is free),
//! also behind a `&` or an `Arc`, or mixed in one slice as
//! `&dyn Waitable`. Each object
//! gets a one-shot callback (gevent's `rawlink`) that sends its index on a
//! channel when it becomes ready, and the caller receives from that
//! channel, so the order is the order of readiness (objects already ready
//! come first, in slice order). Callbacks the caller no longer needs are
//! removed when the iterator is dropped.
//!
//! [`Event`]: crate::event::Event
//! [`AsyncResult`]: crate::event::AsyncResult
//! [`Semaphore`]: crate::lock::Semaphore
//! [`BoundedSemaphore`]: crate::lock::BoundedSemaphore

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::join::JoinHandle;
use crate::park;
use crate::sync::mpsc::{self, Receiver};

/// Something [`iwait`] and [`wait`] can wait for: a [`JoinHandle`], an
/// [`Event`], an [`AsyncResult`], a [`Semaphore`] or a
/// [`BoundedSemaphore`] (gevent's "linkable" objects), or a reference or
/// `Arc` to one. To wait for different kinds at once, make a
/// slice of `&dyn Waitable`.
///
/// The trait is sealed: its methods are verde's own.
///
/// [`Event`]: crate::event::Event
/// [`AsyncResult`]: crate::event::AsyncResult
/// [`Semaphore`]: crate::lock::Semaphore
/// [`BoundedSemaphore`]: crate::lock::BoundedSemaphore
pub trait Waitable: sealed::Linkable {}

pub(crate) mod sealed {
    /// The one-shot readiness callback behind [`Waitable`](super::Waitable).
    pub trait Linkable {
        /// Calls `notify` once the object is ready: at once if it already
        /// is, else from whatever makes it ready, on that thread or hub.
        /// `notify` must not block. Returns an id for `unlink_ready`, or
        /// `None` if `notify` has run already.
        fn link_ready(&self, notify: Box<dyn FnOnce() + Send>) -> Option<u64>;
        /// Removes the callback `id`, unless it has run.
        fn unlink_ready(&self, id: u64);
    }
}

impl<T: 'static> sealed::Linkable for JoinHandle<T> {
    fn link_ready(&self, notify: Box<dyn FnOnce() + Send>) -> Option<u64> {
        Some(self.rawlink(move |_| notify()).0)
    }
    fn unlink_ready(&self, id: u64) {
        self.unlink(crate::link::LinkId(id));
    }
}
impl<T: 'static> Waitable for JoinHandle<T> {}

impl<W: Waitable + ?Sized> sealed::Linkable for &W {
    fn link_ready(&self, notify: Box<dyn FnOnce() + Send>) -> Option<u64> {
        (**self).link_ready(notify)
    }
    fn unlink_ready(&self, id: u64) {
        (**self).unlink_ready(id);
    }
}
impl<W: Waitable + ?Sized> Waitable for &W {}

impl<W: Waitable + ?Sized> sealed::Linkable for Arc<W> {
    fn link_ready(&self, notify: Box<dyn FnOnce() + Send>) -> Option<u64> {
        (**self).link_ready(notify)
    }
    fn unlink_ready(&self, id: u64) {
        (**self).unlink_ready(id);
    }
}
impl<W: Waitable + ?Sized> Waitable for Arc<W> {}

/// The iterator [`iwait`] returns: yields the index in `objects` of each
/// object as it becomes ready.
///
/// Dropping it removes the callbacks of the objects it has not yielded yet.
#[must_use = "iterators are lazy and do nothing unless consumed"]
pub struct IWait<'a, W: Waitable> {
    objects: &'a [W],
    /// The callback of each object not yielded yet (`None` once yielded,
    /// or when it ran at once).
    links: Vec<Option<u64>>,
    ready: Receiver<usize>,
    remaining: usize,
    deadline: Option<Instant>,
}

/// Iterates over `objects` as they become ready, yielding each one's index
/// in `objects` (gevent's `iwait`, which yields the objects themselves; an
/// index lets the caller then `join` a handle, which consumes it).
///
/// A [`JoinHandle`] is ready when its coroutine ends (returns, panics or is
/// killed), an [`Event`] when it is set, an [`AsyncResult`] when a value or
/// an error is set, a semaphore when a permit is free (as with
/// [`Semaphore::wait`], nothing is taken: another coroutine may take the
/// permit first). Objects that are ready already come first, in slice
/// order; the rest come in the order they become ready, whichever hub or
/// thread makes them so. An `Event` that is set and cleared again while
/// the iteration runs still counts as ready, as in gevent. With a
/// `timeout`, the iteration as a whole ends when it passes, even if some
/// objects are not ready (as gevent's does: the timeout is for the whole
/// loop, not for each step).
///
/// ```
/// use verde_runtime::{iwait, spawn};
/// use verde_runtime::sync::mpsc;
///
/// let (go, wait_for_go) = mpsc::channel::<()>();
/// let slow = spawn(move || wait_for_go.recv().unwrap());
/// let fast = spawn(|| ());
/// let handles = [slow, fast];
/// let mut finished = iwait(&handles, None);
/// assert_eq!(finished.next(), Some(1)); // `fast` finished first
/// go.send(()).unwrap();
/// assert_eq!(finished.next(), Some(0));
/// assert_eq!(finished.next(), None);
/// ```
///
/// Different kinds of objects at once:
///
/// ```
/// use std::sync::Arc;
/// use verde_runtime::event::{AsyncResult, Event};
/// use verde_runtime::{iwait, spawn, Waitable};
///
/// let stop = Arc::new(Event::new());
/// let answer: Arc<AsyncResult<u32, String>> = Arc::new(AsyncResult::new());
/// let a = answer.clone();
/// let worker = spawn(move || a.set(42));
/// let objects: [&dyn Waitable; 3] = [&stop, &answer, &worker];
/// let ready: Vec<usize> = iwait(&objects, None).take(2).collect();
/// assert!(ready.contains(&1) && ready.contains(&2)); // `stop` is not set
/// ```
///
/// [`Event`]: crate::event::Event
/// [`AsyncResult`]: crate::event::AsyncResult
/// [`Semaphore::wait`]: crate::lock::Semaphore::wait
pub fn iwait<W: Waitable>(objects: &[W], timeout: Option<Duration>) -> IWait<'_, W> {
    let deadline = timeout.map(park::deadline_after);
    let (tx, ready) = mpsc::channel();
    let links = objects
        .iter()
        .enumerate()
        .map(|(i, object)| {
            let tx = tx.clone();
            object.link_ready(Box::new(move || {
                // A send fails only once the iterator (the receiver) is
                // gone, and then nobody needs the index.
                let _ = tx.send(i);
            }))
        })
        .collect();
    IWait { objects, links, ready, remaining: objects.len(), deadline }
}

impl<W: Waitable> Iterator for IWait<'_, W> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        if self.remaining == 0 {
            return None;
        }
        let next = match self.deadline {
            None => self.ready.recv().ok(),
            Some(d) => match d.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => self.ready.recv_timeout(left).ok(),
                _ => self.ready.try_recv().ok(),
            },
        };
        match next {
            Some(i) => {
                self.remaining -= 1;
                self.links[i] = None;
            }
            // Timed out, or the callbacks were dropped unrun (their
            // coroutines were torn down with a hub): the iteration ends.
            None => self.remaining = 0,
        }
        next
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.remaining))
    }
}

impl<W: Waitable> Drop for IWait<'_, W> {
    fn drop(&mut self) {
        for (object, link) in self.objects.iter().zip(&self.links) {
            if let Some(id) = link {
                object.unlink_ready(*id);
            }
        }
    }
}

impl<W: Waitable> fmt::Debug for IWait<'_, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IWait")
            .field("objects", &self.objects.len())
            .field("remaining", &self.remaining)
            .field("deadline", &self.deadline)
            .finish()
    }
}

/// Waits until `count` of `objects` are ready (all of them with `None`),
/// or `timeout` passes, and returns the indices of those that became
/// ready, in the order they did (gevent's `wait` with `objects`, `timeout`
/// and `count`). See [`iwait`] for what "ready" means.
///
/// ```
/// use verde_runtime::event::Event;
/// use verde_runtime::sync::mpsc;
/// use verde_runtime::{spawn, wait, Waitable};
///
/// let (_never, blocked) = mpsc::channel::<()>();
/// let handles = vec![spawn(move || drop(blocked.recv())), spawn(|| ())];
/// // Only the second one can finish: wait for any one of them.
/// assert_eq!(wait(&handles, None, Some(1)), [1]);
///
/// // A coroutine, or a shutdown signal, whichever comes first.
/// let shutdown = Event::new();
/// shutdown.set();
/// let either: [&dyn Waitable; 2] = [&handles[0], &shutdown];
/// assert_eq!(wait(&either, None, Some(1)), [1]);
/// handles[0].kill();
/// ```
pub fn wait<W: Waitable>(objects: &[W], timeout: Option<Duration>, count: Option<usize>) -> Vec<usize> {
    let count = count.unwrap_or(objects.len());
    iwait(objects, timeout).take(count).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Event;

    #[test]
    fn an_iteration_dropped_early_removes_its_callbacks() {
        let events = [Event::new(), Event::new(), Event::new()];
        events[0].set();
        let mut it = iwait(&events, None);
        assert_eq!(events.iter().map(Event::ready_links).collect::<Vec<_>>(), [0, 1, 1]);
        assert_eq!(it.next(), Some(0));
        drop(it);
        assert_eq!(events.iter().map(Event::ready_links).collect::<Vec<_>>(), [0, 0, 0]);
        // Setting one now runs nothing and breaks nothing.
        events[1].set();
        assert!(events[1].wait(None));
    }

    #[test]
    fn a_set_runs_its_callbacks_once() {
        let e = Event::new();
        let mut it = iwait(std::slice::from_ref(&e), None);
        e.set();
        assert_eq!(e.ready_links(), 0);
        e.clear();
        e.set();
        assert_eq!(it.next(), Some(0));
        assert_eq!(it.next(), None);
    }
}
