//! What every gevent queue shares: an exchange plus gevent's task
//! accounting, and the method set the public queue types expose.

use std::fmt;
use std::time::{Duration, Instant};

use super::{Empty, Full, ShutDown};
use crate::park;
use crate::sync::exchange::{self, Buffer, Exchange, GetError, HasExchange, PutError};
use crate::sync::state_mutex::{lock, StateMutex};
use crate::sync::wait_list::{wake_all, wake_one, WaitList, WaitSite, Woke};

struct State<T, B> {
    exchange: Exchange<T, B>,
    /// `task_done` calls so far; unfinished tasks are accepted puts minus
    /// these (both wrap).
    done: u64,
    joiners: WaitList<()>,
}

impl<T, B: Buffer<T>> HasExchange for State<T, B> {
    type Item = T;
    type Buffer = B;
    fn exchange(&mut self) -> &mut Exchange<T, B> {
        &mut self.exchange
    }
}

impl<T, B: Buffer<T>> State<T, B> {
    fn unfinished(&self) -> u64 {
        self.exchange.accepted().wrapping_sub(self.done)
    }
}

/// A queue with buffer order `B`.
pub(crate) struct QueueCore<T, B> {
    state: StateMutex<State<T, B>>,
}

impl<T, B: Buffer<T>> QueueCore<T, B> {
    pub fn new(maxsize: Option<usize>) -> Self {
        QueueCore {
            state: StateMutex::new(State { exchange: Exchange::new(maxsize), done: 0, joiners: WaitList::new() }),
        }
    }

    pub fn maxsize(&self) -> Option<usize> {
        lock(&self.state).exchange.capacity()
    }

    pub fn qsize(&self) -> usize {
        lock(&self.state).exchange.len()
    }

    pub fn full(&self) -> bool {
        lock(&self.state).exchange.is_full()
    }

    pub fn balance(&self) -> isize {
        lock(&self.state).exchange.balance()
    }

    /// Puts, waiting for room until `deadline`; returns whether the item
    /// went straight to a getter that was already waiting.
    #[inline(always)]
    pub fn put(&self, item: T, deadline: Option<Instant>) -> Result<bool, Full<T>> {
        exchange::put(&self.state, item, deadline).map_err(|e| match e {
            PutError::Full(item) => Full(item),
            PutError::Closed(item) => raise_shut_down(item),
        })
    }

    pub fn put_nowait(&self, item: T) -> Result<(), Full<T>> {
        let result = lock(&self.state).exchange.try_put(item);
        match result {
            Ok(accepted) => {
                accepted.wake();
                Ok(())
            }
            Err(PutError::Full(item)) => Err(Full(item)),
            Err(PutError::Closed(item)) => raise_shut_down(item),
        }
    }

    #[inline(always)]
    pub fn get(&self, deadline: Option<Instant>) -> Result<T, Empty> {
        exchange::get(&self.state, deadline).map_err(|e| match e {
            GetError::Empty => Empty,
            GetError::Finished => raise_shut_down(()),
        })
    }

    pub fn get_nowait(&self) -> Result<T, Empty> {
        let result = lock(&self.state).exchange.try_get();
        match result {
            Ok((item, waker)) => {
                wake_one(waker);
                Ok(item)
            }
            Err(GetError::Empty) => Err(Empty),
            Err(GetError::Finished) => raise_shut_down(()),
        }
    }

    pub fn peek(&self, deadline: Option<Instant>) -> Result<T, Empty>
    where
        T: Clone,
    {
        exchange::peek(&self.state, deadline).map_err(|e| match e {
            GetError::Empty => Empty,
            GetError::Finished => raise_shut_down(()),
        })
    }

    pub fn peek_nowait(&self) -> Result<T, Empty>
    where
        T: Clone,
    {
        let state = lock(&self.state);
        match state.exchange.peek() {
            Some(item) => Ok(item.clone()),
            None if state.exchange.is_shut_down() => {
                drop(state);
                raise_shut_down(())
            }
            None => Err(Empty),
        }
    }

    /// gevent's `shutdown(immediate)`; with `immediate`, each item dropped
    /// counts as a task done.
    pub fn shutdown(&self, immediate: bool) {
        let mut state = lock(&self.state);
        let (drained, mut wakers) = state.exchange.shut_down(immediate);
        let done = (drained.len() as u64).min(state.unfinished());
        state.done = state.done.wrapping_add(done);
        if done > 0 && state.unfinished() == 0 {
            wakers.extend(state.joiners.notify_all(|_| {}));
        }
        drop(state);
        wake_all(wakers);
        drop(drained);
    }

    pub fn is_shutdown(&self) -> bool {
        lock(&self.state).exchange.is_shut_down()
    }

    pub fn unfinished_tasks(&self) -> usize {
        lock(&self.state).unfinished() as usize
    }

    pub fn task_done(&self) {
        let mut state = lock(&self.state);
        if state.unfinished() == 0 {
            drop(state);
            panic!("task_done() called too many times");
        }
        state.done = state.done.wrapping_add(1);
        if state.unfinished() == 0 {
            let wakers = state.joiners.notify_all(|_| {});
            drop(state);
            wake_all(wakers);
        }
    }

    /// Waits until every task is done; returns false if `deadline` passed
    /// first.
    pub fn join(&self, deadline: Option<Instant>) -> bool {
        let state = lock(&self.state);
        if state.unfinished() == 0 {
            return true;
        }
        let site = WaitSite { lock: &self.state, list: joiners::<T, B>, on_exit: |_: &mut State<T, B>, _| None };
        match site.wait(state, None, deadline, || {}) {
            Woke::Notified(_) => true,
            Woke::TimedOut(_) => lock(&self.state).unfinished() == 0,
        }
    }

    pub fn debug(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.state);
        f.debug_struct(name)
            .field("maxsize", &state.exchange.capacity())
            .field("qsize", &state.exchange.len())
            .field("unfinished_tasks", &state.unfinished())
            .finish_non_exhaustive()
    }
}

/// Raises gevent's `ShutDown`: unwinds with a [`ShutDown`] payload (after
/// dropping the item a put could not put).
#[cold]
#[inline(never)]
fn raise_shut_down<T>(item: T) -> ! {
    drop(item);
    crate::unwinding::resume(Box::new(ShutDown))
}

/// A queue an [`Iter`] takes items from, whatever its order.
trait Source<T> {
    /// The next item, parking until there is one; `None` once the queue
    /// is shut down and drained.
    fn next_unless_shut_down(&self) -> Option<T>;
}

impl<T, B: Buffer<T>> Source<T> for QueueCore<T, B> {
    fn next_unless_shut_down(&self) -> Option<T> {
        match exchange::get(&self.state, None) {
            Ok(item) => Some(item),
            Err(GetError::Finished) => None,
            Err(GetError::Empty) => unreachable!("a get without deadline completes"),
        }
    }
}

/// An iterator that takes a queue's items, parking for each, and ends once
/// the queue is [shut down](super::Queue::shutdown) and drained: the
/// non-unwinding way for a consumer to see a shutdown. Made by the queues'
/// `iter` (or `&queue`'s `IntoIterator`).
pub struct Iter<'a, T> {
    queue: &'a dyn Source<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.queue.next_unless_shut_down()
    }
}

impl<T> fmt::Debug for Iter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter").finish_non_exhaustive()
    }
}

impl<T, B: Buffer<T>> QueueCore<T, B> {
    pub fn iter<'a>(&'a self) -> Iter<'a, T>
    where
        T: 'a,
        B: 'a,
    {
        Iter { queue: self }
    }
}

fn joiners<T, B>(state: &mut State<T, B>) -> &mut WaitList<()> {
    &mut state.joiners
}

/// The deadline `timeout` from now.
pub(super) fn deadline(timeout: Duration) -> Option<Instant> {
    Some(park::deadline_after(timeout))
}

/// The methods [`Queue`](super::Queue), [`LifoQueue`](super::LifoQueue) and
/// [`PriorityQueue`](super::PriorityQueue) share; `$queue` wraps a
/// `QueueCore` in its `core` field.
macro_rules! queue_methods {
    ($queue:ident $(, $bound:path)?) => {
        impl<'a, T $(: $bound)?> IntoIterator for &'a $queue<T> {
            type Item = T;
            type IntoIter = super::Iter<'a, T>;

            /// [`iter`]($queue::iter).
            fn into_iter(self) -> super::Iter<'a, T> {
                self.iter()
            }
        }

        impl<T $(: $bound)?> $queue<T> {
            /// The bound given to [`bounded`](Self::bounded), or `None` if
            /// unbounded.
            pub fn maxsize(&self) -> Option<usize> {
                self.core.maxsize()
            }

            /// The number of queued items (items held by blocked putters
            /// are not counted).
            pub fn qsize(&self) -> usize {
                self.core.qsize()
            }

            /// Whether no item is queued.
            pub fn empty(&self) -> bool {
                self.core.qsize() == 0
            }

            /// Whether the queue holds `maxsize` items: never if unbounded,
            /// always if a rendezvous (`bounded(0)`), where a put waits for
            /// a getter.
            pub fn full(&self) -> bool {
                self.core.full()
            }

            /// Puts an item, parking while the queue is full (in a
            /// rendezvous, `bounded(0)`, until a getter takes it). Blocked
            /// putters are served in FIFO order.
            ///
            /// Unwinds with [`ShutDown`](super::ShutDown) (and drops the
            /// item) if the queue is, or while waiting becomes,
            /// [shut down](Self::shutdown).
            #[inline(always)]
            pub fn put(&self, item: T) {
                let put = self.core.put(item, None);
                debug_assert!(put.is_ok(), "a put without deadline completes");
            }

            /// Puts an item, waiting at most `timeout` for room (in a
            /// rendezvous, for a getter to take it).
            ///
            /// # Errors
            ///
            /// [`Full`](super::Full) holding the item if there was no room
            /// in time. Unwinds with [`ShutDown`](super::ShutDown) as
            /// [`put`](Self::put) does.
            pub fn put_timeout(&self, item: T, timeout: std::time::Duration) -> Result<(), super::Full<T>> {
                self.core.put(item, super::core::deadline(timeout)).map(drop)
            }

            /// Puts an item if there is room now (in a rendezvous, if a
            /// getter is waiting, which takes it).
            ///
            /// # Errors
            ///
            /// [`Full`](super::Full) holding the item. Unwinds with
            /// [`ShutDown`](super::ShutDown) as [`put`](Self::put) does.
            pub fn put_nowait(&self, item: T) -> Result<(), super::Full<T>> {
                self.core.put_nowait(item)
            }

            /// An iterator that [`get`](Self::get)s items, parking for
            /// each, and ends (instead of unwinding with
            /// [`ShutDown`](super::ShutDown)) once the queue is
            /// [shut down](Self::shutdown) and drained.
            ///
            /// ```
            #[doc = concat!("let q = verde_runtime::queue::", stringify!($queue), "::new();")]
            /// q.put(1);
            /// q.put(2);
            /// q.shutdown();
            /// let mut got: Vec<i32> = q.iter().collect();
            /// got.sort();
            /// assert_eq!(got, [1, 2]);
            /// ```
            pub fn iter(&self) -> super::Iter<'_, T> {
                self.core.iter()
            }

            /// Removes and returns the next item, parking until there is
            /// one. Blocked getters are served in FIFO order.
            ///
            /// Unwinds with [`ShutDown`](super::ShutDown) if the queue is
            /// [shut down](Self::shutdown) and empty (or becomes so while
            /// waiting).
            #[inline(always)]
            pub fn get(&self) -> T {
                self.core.get(None).expect("a get without deadline completes")
            }

            /// Like [`get`](Self::get), waiting at most `timeout`.
            ///
            /// # Errors
            ///
            /// [`Empty`](super::Empty) if no item came in time. Unwinds with
            /// [`ShutDown`](super::ShutDown) as [`get`](Self::get) does.
            pub fn get_timeout(&self, timeout: std::time::Duration) -> Result<T, super::Empty> {
                self.core.get(super::core::deadline(timeout))
            }

            /// Removes and returns the next item if there is one.
            ///
            /// # Errors
            ///
            /// [`Empty`](super::Empty). Unwinds with
            /// [`ShutDown`](super::ShutDown) as [`get`](Self::get) does.
            pub fn get_nowait(&self) -> Result<T, super::Empty> {
                self.core.get_nowait()
            }

            /// A clone of the next item, left in the queue (in a
            /// rendezvous, the oldest waiting putter's); parks until
            /// there is one. (The clone is made under the queue's internal
            /// lock: `T::clone` must not use this queue.) Unwinds with
            /// [`ShutDown`](super::ShutDown) as [`get`](Self::get) does.
            pub fn peek(&self) -> T
            where
                T: Clone,
            {
                self.core.peek(None).expect("a peek without deadline completes")
            }

            /// Like [`peek`](Self::peek), waiting at most `timeout`.
            ///
            /// # Errors
            ///
            /// [`Empty`](super::Empty) if no item came in time. Unwinds with
            /// [`ShutDown`](super::ShutDown) as [`get`](Self::get) does.
            pub fn peek_timeout(&self, timeout: std::time::Duration) -> Result<T, super::Empty>
            where
                T: Clone,
            {
                self.core.peek(super::core::deadline(timeout))
            }

            /// A clone of the next item, if there is one.
            ///
            /// # Errors
            ///
            /// [`Empty`](super::Empty). Unwinds with
            /// [`ShutDown`](super::ShutDown) as [`get`](Self::get) does.
            pub fn peek_nowait(&self) -> Result<T, super::Empty>
            where
                T: Clone,
            {
                self.core.peek_nowait()
            }

            /// Puts that no [`task_done`](Self::task_done) has matched yet.
            pub fn unfinished_tasks(&self) -> usize {
                self.core.unfinished_tasks()
            }

            /// Marks one task (one earlier put) as done, waking
            /// [`join`](Self::join)ers when none is left.
            ///
            /// # Panics
            ///
            /// If called more times than items were put (gevent's
            /// `ValueError`).
            pub fn task_done(&self) {
                self.core.task_done();
            }

            /// Parks until every put item has been marked done.
            pub fn join(&self) {
                self.core.join(None);
            }

            /// Like [`join`](Self::join), waiting at most `timeout`; returns
            /// whether every task was done.
            pub fn join_timeout(&self, timeout: std::time::Duration) -> bool {
                self.core.join(super::core::deadline(timeout))
            }

            /// Shuts the queue down (gevent's and Python 3.13's
            /// `shutdown()`): from now on every put unwinds with
            /// [`ShutDown`](super::ShutDown), and so does every get or peek
            /// once the queue is empty; the items already queued can still
            /// be got. Blocked putters (whose items are dropped) and blocked
            /// getters and peekers are woken and unwind with `ShutDown`.
            pub fn shutdown(&self) {
                self.core.shutdown(false);
            }

            /// [`shutdown`](Self::shutdown), also dropping every queued
            /// item now, each counted as a [`task_done`](Self::task_done)
            /// so that [`join`](Self::join) returns (gevent's
            /// `shutdown(immediate=True)`).
            pub fn shutdown_immediate(&self) {
                self.core.shutdown(true);
            }

            /// Whether [`shutdown`](Self::shutdown) was called (gevent's
            /// `is_shutdown`).
            pub fn is_shutdown(&self) -> bool {
                self.core.is_shutdown()
            }
        }

        impl<T $(: $bound)?> std::fmt::Debug for $queue<T> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.core.debug(stringify!($queue), f)
            }
        }
    };
}

pub(super) use queue_methods;
