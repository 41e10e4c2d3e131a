//! The engine under [`mpsc::sync_channel`](super::mpsc::sync_channel) and
//! gevent's [`queue`](crate::queue): a buffer of items, bounded, unbounded
//! or of capacity zero (rendezvous), with FIFO queues of blocked putters
//! and getters. (The unbounded [`mpsc::channel`](super::mpsc::channel),
//! with a single receiver and senders that never wait, has a leaner engine
//! of its own.)
//!
//! Rules that keep every waiter served in order:
//!
//! * A put with a getter waiting hands the item straight to the oldest
//!   getter (the buffer is empty whenever a getter waits).
//! * A put that finds the buffer full waits as a putter, its item in its
//!   wait node.
//! * A get takes the oldest buffered item, then moves the oldest putter's
//!   item into the freed slot; with nothing buffered (a rendezvous) it takes
//!   the oldest putter's item directly.
//! * A getter handed an item that unwinds before returning it (kill,
//!   `Timeout`) gives it to the next getter, or back to the buffer where it
//!   will be taken next.
//! * A peek sees the item the next get would take: the oldest buffered
//!   one or, with nothing buffered (a rendezvous), the oldest putter's.
//!
//! The engine lives inside its owner's [`StateMutex`]; the blocking
//! functions [`put`], [`get`] and [`peek`] release that mutex before
//! parking and wake whoever they served only after releasing it. The one
//! exception is peekers (`watchers`): an item that arrives (buffered, or
//! held by a putter that starts to wait) wakes them at once, under the
//! mutex, since a put or get returns at most one waker to wake afterwards.
//! A wake never blocks, so this only lengthens the critical section of a
//! put that finds peekers waiting.

use std::collections::VecDeque;
use std::time::Instant;

use super::state_mutex::{lock, StateMutex};
use super::wait_list::{wake_all, wake_one, Exit, WaitList, WaitSite, Woke};
use crate::park::Waker;

/// Where an [`Exchange`] keeps its buffered items: the order they come out
/// in (FIFO, LIFO, priority) is the buffer's.
pub(crate) trait Buffer<T>: Default {
    /// Adds an item.
    fn push(&mut self, item: T);
    /// Removes the next item.
    fn pop(&mut self) -> Option<T>;
    /// Puts back an item `pop` returned, so that it comes out next again.
    fn restore(&mut self, item: T);
    /// The next item.
    fn peek(&self) -> Option<&T>;
    /// Number of items.
    fn len(&self) -> usize;
}

impl<T> Buffer<T> for VecDeque<T> {
    fn push(&mut self, item: T) {
        self.push_back(item);
    }
    fn pop(&mut self) -> Option<T> {
        self.pop_front()
    }
    fn restore(&mut self, item: T) {
        self.push_front(item);
    }
    fn peek(&self) -> Option<&T> {
        self.front()
    }
    fn len(&self) -> usize {
        VecDeque::len(self)
    }
}

/// Where [`Exchange::try_put`] put an item.
pub(crate) enum Accepted {
    /// Straight to the oldest waiting getter; this is its waker, to wake
    /// once the mutex is released.
    ToGetter(Option<Waker>),
    /// Into the buffer.
    Buffered,
}

impl Accepted {
    /// Wakes the getter served, if any (call with the mutex released);
    /// returns whether the item went to a getter that was waiting.
    #[inline]
    pub fn wake(self) -> bool {
        match self {
            Accepted::ToGetter(waker) => {
                wake_one(waker);
                true
            }
            Accepted::Buffered => false,
        }
    }
}

/// Why a put did not complete.
pub(crate) enum PutError<T> {
    /// No room (or, for a rendezvous, no getter) before the deadline.
    Full(T),
    /// The consumer side is gone ([`Exchange::close`]).
    Closed(T),
}

/// Why a get did not complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GetError {
    /// Nothing arrived before the deadline.
    Empty,
    /// Empty, and the producer side is gone ([`Exchange::finish`]).
    Finished,
}

/// A state that contains an exchange (the exchange itself, or a queue's
/// state that adds task accounting).
pub(crate) trait HasExchange {
    type Item;
    type Buffer: Buffer<Self::Item>;
    fn exchange(&mut self) -> &mut Exchange<Self::Item, Self::Buffer>;
}

/// See the [module docs](self).
pub(crate) struct Exchange<T, B> {
    buffer: B,
    capacity: Option<usize>,
    getters: WaitList<T>,
    putters: WaitList<T>,
    watchers: WaitList<()>,
    closed: bool,
    finished: bool,
    accepted: u64,
}

impl<T, B: Buffer<T>> HasExchange for Exchange<T, B> {
    type Item = T;
    type Buffer = B;
    fn exchange(&mut self) -> &mut Exchange<T, B> {
        self
    }
}

impl<T, B: Buffer<T>> Exchange<T, B> {
    /// An empty exchange holding at most `capacity` items (`None`: no limit;
    /// `Some(0)`: rendezvous).
    pub fn new(capacity: Option<usize>) -> Self {
        Exchange {
            buffer: B::default(),
            capacity,
            getters: WaitList::new(),
            putters: WaitList::new(),
            watchers: WaitList::new(),
            closed: false,
            finished: false,
            accepted: 0,
        }
    }

    /// Buffered items (not counting those blocked putters still hold).
    pub fn len(&self) -> usize {
        self.buffer.len()
    }

    /// The capacity given to `new`.
    pub fn capacity(&self) -> Option<usize> {
        self.capacity
    }

    /// Whether the buffer holds `capacity` items (always, for a
    /// rendezvous).
    pub fn is_full(&self) -> bool {
        self.capacity.is_some_and(|c| self.buffer.len() >= c)
    }

    /// Blocked putters minus blocked getters (gevent's `Channel.balance`).
    pub fn balance(&self) -> isize {
        self.putters.len() as isize - self.getters.len() as isize
    }

    /// Items ever accepted (handed over or buffered); wraps.
    pub fn accepted(&self) -> u64 {
        self.accepted
    }

    /// Puts without waiting (waiting peekers are woken here; see the
    /// module docs).
    #[inline]
    pub fn try_put(&mut self, item: T) -> Result<Accepted, PutError<T>> {
        if self.closed {
            return Err(PutError::Closed(item));
        }
        if !self.getters.is_empty() {
            let mut item = Some(item);
            let waker = self.getters.notify_front(|slot| *slot = item.take());
            self.accepted = self.accepted.wrapping_add(1);
            return Ok(Accepted::ToGetter(waker));
        }
        if self.is_full() {
            return Err(PutError::Full(item));
        }
        self.buffer.push(item);
        self.accepted = self.accepted.wrapping_add(1);
        self.wake_watchers();
        Ok(Accepted::Buffered)
    }

    /// Gets without waiting. On success, also returns the waker of the
    /// putter whose item took the freed place.
    #[inline]
    pub fn try_get(&mut self) -> Result<(T, Option<Waker>), GetError> {
        if let Some(item) = self.buffer.pop() {
            return Ok((item, self.admit_putter()));
        }
        if !self.putters.is_empty() {
            return Ok(self.take_putter());
        }
        Err(if self.finished { GetError::Finished } else { GetError::Empty })
    }

    /// The item the next get would take, without removing it: the oldest
    /// buffered one or, with nothing buffered, the oldest blocked putter's
    /// (putters wait with the buffer empty only in a rendezvous).
    pub fn peek(&self) -> Option<&T> {
        self.buffer.peek().or_else(|| self.putters.front().and_then(Option::as_ref))
    }

    /// The consumer side is gone: every put fails from now on, blocked
    /// putters get their items back, and the buffered items are returned to
    /// be dropped once the mutex is released. Returns the putters' wakers.
    pub fn close(&mut self) -> (B, Vec<Waker>) {
        self.closed = true;
        let wakers = self.putters.notify_all(|_| {});
        (std::mem::take(&mut self.buffer), wakers)
    }

    /// The producer side is gone: once empty, gets fail instead of waiting.
    /// Returns the blocked getters' wakers.
    pub fn finish(&mut self) -> Vec<Waker> {
        self.finished = true;
        self.getters.notify_all(|_| {})
    }

    /// gevent's (and Python 3.13's) `Queue.shutdown`: every put fails from
    /// now on, and gets fail once the buffer is empty. With `immediate`,
    /// the buffer is emptied now; its items are returned, to be dropped once
    /// the mutex is released. Blocked putters get their items back, blocked
    /// getters and peekers look again; their wakers are returned, getters'
    /// first.
    pub fn shut_down(&mut self, immediate: bool) -> (B, Vec<Waker>) {
        self.closed = true;
        self.finished = true;
        let mut wakers = self.getters.notify_all(|_| {});
        wakers.extend(self.putters.notify_all(|_| {}));
        wakers.extend(self.watchers.notify_all(|_| {}));
        let drained = if immediate { std::mem::take(&mut self.buffer) } else { B::default() };
        (drained, wakers)
    }

    /// Whether [`shut_down`](Self::shut_down) was called (or, for a
    /// `sync_channel`, both [`close`](Self::close) and
    /// [`finish`](Self::finish)).
    pub fn is_shut_down(&self) -> bool {
        self.closed && self.finished
    }

    /// Moves the oldest blocked putter's item into the buffer if there is
    /// room now.
    fn admit_putter(&mut self) -> Option<Waker> {
        if self.putters.is_empty() || self.is_full() {
            return None;
        }
        let (item, waker) = self.take_putter();
        self.buffer.push(item);
        self.wake_watchers();
        waker
    }

    /// Takes the oldest blocked putter's item (there is one), counting it
    /// accepted; returns it with the putter's waker.
    fn take_putter(&mut self) -> (T, Option<Waker>) {
        let mut taken = None;
        let waker = self.putters.notify_front(|slot| taken = slot.take());
        self.accepted = self.accepted.wrapping_add(1);
        (taken.expect("a blocked putter holds its item"), waker)
    }

    /// An item handed to a getter that unwound: to the next getter, or back
    /// into the buffer to come out next.
    fn give_back(&mut self, item: T) {
        if self.getters.is_empty() {
            self.buffer.restore(item);
            self.wake_watchers();
        } else {
            let mut item = Some(item);
            if let Some(w) = self.getters.notify_front(|slot| *slot = item.take()) {
                w.wake();
            }
        }
    }

    fn wake_watchers(&mut self) {
        if !self.watchers.is_empty() {
            wake_all(self.watchers.notify_all(|_| {}));
        }
    }
}

fn getters<S: HasExchange>(s: &mut S) -> &mut WaitList<S::Item> {
    &mut s.exchange().getters
}

fn putters<S: HasExchange>(s: &mut S) -> &mut WaitList<S::Item> {
    &mut s.exchange().putters
}

fn watchers<S: HasExchange>(s: &mut S) -> &mut WaitList<()> {
    &mut s.exchange().watchers
}

/// Puts `item`, waiting for room (or a getter) until `deadline`. Returns
/// whether the item went straight to a getter that was already waiting
/// (gevent's `Channel` lets that getter run before the put returns).
// Inlined into the caller on purpose, with the wrappers down to here,
// so that the switch to the hub happens in the caller's own frame: a
// corosensei resume is a `call` and a suspend its matching `ret`, and
// every function return between a suspend and the caller's loop is a
// return the CPU mispredicts after each switch. In a send/recv loop
// that halved the round trip (86 to 55 ns in benches/sync.rs).
#[inline(always)]
pub(crate) fn put<S: HasExchange>(
    state: &StateMutex<S>,
    item: S::Item,
    deadline: Option<Instant>,
) -> Result<bool, PutError<S::Item>> {
    let mut guard = lock(state);
    let item = match guard.exchange().try_put(item) {
        Ok(accepted) => {
            drop(guard);
            return Ok(accepted.wake());
        }
        Err(PutError::Full(item)) => item,
        Err(closed) => return Err(closed),
    };
    // The item this putter holds is one a peek can see (in a rendezvous,
    // where nothing is buffered); the peekers look once the lock is
    // released, with this putter queued.
    guard.exchange().wake_watchers();
    let site = WaitSite {
        lock: state,
        list: putters::<S>,
        // A putter that unwinds after its item was taken has nothing left; one
        // unwinding after `close` returned its item drops it, outside the lock.
        on_exit: |_: &mut S, exit| match exit {
            Exit::Left => None,
            Exit::Abandoned(item) => item,
        },
    };
    match site.wait(guard, Some(item), deadline, || {}) {
        Woke::Notified(None) => Ok(false),
        Woke::Notified(Some(item)) => Err(PutError::Closed(item)),
        Woke::TimedOut(item) => Err(PutError::Full(item.expect("a putter keeps its item until taken"))),
    }
}

/// Gets an item, waiting until `deadline`.
// Inlined for the reason given at `put`.
#[inline(always)]
pub(crate) fn get<S: HasExchange>(state: &StateMutex<S>, deadline: Option<Instant>) -> Result<S::Item, GetError> {
    let mut guard = lock(state);
    loop {
        match guard.exchange().try_get() {
            Ok((item, waker)) => {
                drop(guard);
                wake_one(waker);
                return Ok(item);
            }
            Err(GetError::Empty) => {}
            Err(finished) => return Err(finished),
        }
        let site = WaitSite {
            lock: state,
            list: getters::<S>,
            on_exit: |s: &mut S, exit| {
                if let Exit::Abandoned(Some(item)) = exit {
                    s.exchange().give_back(item);
                }
                None
            },
        };
        match site.wait(guard, None, deadline, || {}) {
            Woke::Notified(Some(item)) => return Ok(item),
            // Woken by `finish`: look again, then report the end.
            Woke::Notified(None) => guard = lock(state),
            Woke::TimedOut(_) => return Err(GetError::Empty),
        }
    }
}

/// A clone of the next item, waiting for one until `deadline`; fails at
/// once if the buffer is empty and the producer side is gone.
pub(crate) fn peek<S>(state: &StateMutex<S>, deadline: Option<Instant>) -> Result<S::Item, GetError>
where
    S: HasExchange,
    S::Item: Clone,
{
    let mut guard = lock(state);
    loop {
        if let Some(item) = guard.exchange().peek() {
            return Ok(item.clone());
        }
        if guard.exchange().finished {
            return Err(GetError::Finished);
        }
        let site = WaitSite { lock: state, list: watchers::<S>, on_exit: |_: &mut S, _| None };
        match site.wait(guard, None, deadline, || {}) {
            Woke::Notified(_) => guard = lock(state),
            Woke::TimedOut(_) => return Err(GetError::Empty),
        }
    }
}
