//! gevent's `iwait` and `wait` over join handles: coroutines in the order
//! they finish.
//!
//! Both are built on [`JoinHandle::rawlink`]: each handle gets a link that
//! sends its index on a channel when its coroutine ends, and the caller
//! receives from that channel, so the order is the order of finishing
//! (coroutines already finished come first, in slice order). Links the
//! caller no longer needs are removed when the iterator is dropped.

use std::time::{Duration, Instant};

use crate::join::JoinHandle;
use crate::link::LinkId;
use crate::park;
use crate::sync::mpsc::{self, Receiver};

/// The iterator [`iwait`] returns: yields the index in `handles` of each
/// coroutine as it finishes.
///
/// Dropping it unlinks the coroutines it has not yielded yet.
#[must_use = "iterators are lazy and do nothing unless consumed"]
#[derive(Debug)]
pub struct IWait<'a, T> {
    handles: &'a [JoinHandle<T>],
    /// The link of each handle not yielded yet (`None` once yielded).
    links: Vec<Option<LinkId>>,
    ready: Receiver<usize>,
    remaining: usize,
    deadline: Option<Instant>,
}

/// Iterates over `handles` as their coroutines finish, yielding each one's
/// index in `handles` (gevent's `iwait`, which yields the objects; an
/// index lets the caller then `join` the handle, which consumes it).
///
/// Coroutines that have already finished come first, in slice order; the
/// rest come in the order they finish, whichever hub they run on. With a
/// `timeout`, the iteration as a whole ends when it passes, even if some
/// coroutines are still running (as gevent's does: the timeout is for the
/// whole loop, not for each step).
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
pub fn iwait<T: 'static>(handles: &[JoinHandle<T>], timeout: Option<Duration>) -> IWait<'_, T> {
    let deadline = timeout.map(park::deadline_after);
    let (tx, ready) = mpsc::channel();
    let links = handles
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let tx = tx.clone();
            Some(h.rawlink(move |_| {
                // A send fails only once the iterator (the receiver) is
                // gone, and then nobody needs the index.
                let _ = tx.send(i);
            }))
        })
        .collect();
    IWait { handles, links, ready, remaining: handles.len(), deadline }
}

impl<T> Iterator for IWait<'_, T> {
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
            // Timed out, or the links were dropped unfired (their
            // coroutines were torn down with a hub): the iteration ends.
            None => self.remaining = 0,
        }
        next
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.remaining))
    }
}

impl<T> Drop for IWait<'_, T> {
    fn drop(&mut self) {
        for (h, link) in self.handles.iter().zip(&self.links) {
            if let Some(id) = link {
                h.unlink(*id);
            }
        }
    }
}

/// Waits until `count` of the coroutines behind `handles` have finished
/// (all of them with `None`), or `timeout` passes, and returns the indices
/// of those that finished, in the order they did (gevent's `wait` with
/// `objects`, `timeout` and `count`).
///
/// ```
/// use verde_runtime::{spawn, wait};
/// use verde_runtime::sync::mpsc;
///
/// let (_never, blocked) = mpsc::channel::<()>();
/// let handles = vec![spawn(move || drop(blocked.recv())), spawn(|| ())];
/// // Only the second one can finish: wait for any one of them.
/// assert_eq!(wait(&handles, None, Some(1)), [1]);
/// handles[0].kill();
/// ```
pub fn wait<T: 'static>(handles: &[JoinHandle<T>], timeout: Option<Duration>, count: Option<usize>) -> Vec<usize> {
    let count = count.unwrap_or(handles.len());
    iwait(handles, timeout).take(count).collect()
}
