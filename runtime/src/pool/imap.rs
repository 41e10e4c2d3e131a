//! [`IMap`] and [`IMapUnordered`]: results of a function mapped over items
//! by a group's members.
//!
//! A feeder coroutine (not itself a member) walks the items and spawns one
//! member per item, parking whenever the pool is full, so the iterator can
//! be consumed while work is still being handed out.
//!
//! With a `maxsize` (gevent's `imap(..., maxsize=n)`), the feeder also
//! takes a permit of a semaphore of `maxsize` before each spawn, and each
//! `next` gives one back before it waits for its result, so the feeder
//! never gets more than `maxsize` items ahead of the results taken.

use std::fmt;
use std::sync::Arc;
use std::thread;

use super::members::Members;
use crate::join::JoinHandle;
use crate::lock::Semaphore;
use crate::sync::mpsc;

/// Results of [`Pool::imap`](super::Pool::imap) or
/// [`Group::imap`](super::Group::imap), in item order.
///
/// Dropping it before the end stops handing out items; members already
/// running go on.
///
/// # Panics
///
/// `next` re-raises the payload of a member that panicked or was killed,
/// and of the item iterator if that panicked.
pub struct IMap<R> {
    members: mpsc::Receiver<JoinHandle<R>>,
    feeder: Option<JoinHandle<()>>,
    ahead: Option<Arc<Semaphore>>,
}

/// Results of [`Pool::imap_unordered`](super::Pool::imap_unordered) or
/// [`Group::imap_unordered`](super::Group::imap_unordered), in the order
/// they finish. Dropping it and panics behave as for [`IMap`].
pub struct IMapUnordered<R> {
    results: mpsc::Receiver<thread::Result<R>>,
    feeder: Option<JoinHandle<()>>,
    ahead: Option<Arc<Semaphore>>,
}

/// The semaphore bounding how far the feeder runs ahead, for `maxsize`.
///
/// # Panics
///
/// If `maxsize` is `Some(0)`.
fn ahead_bound(maxsize: Option<usize>) -> Option<Arc<Semaphore>> {
    maxsize.map(|n| {
        assert!(n > 0, "imap needs maxsize > 0; use imap for no bound");
        Arc::new(Semaphore::new(n))
    })
}

/// The feeder may hand out one more item.
fn take_permit(ahead: &Option<Arc<Semaphore>>) {
    if let Some(s) = ahead {
        s.acquire(true, None);
    }
}

/// The consumer takes one more result.
fn give_permit(ahead: &Option<Arc<Semaphore>>) {
    if let Some(s) = ahead {
        s.release();
    }
}

pub(super) fn ordered<I, F, R>(members: &Arc<Members>, f: F, items: I, maxsize: Option<usize>) -> IMap<R>
where
    I: IntoIterator,
    I::IntoIter: Send + 'static,
    I::Item: Send + 'static,
    F: Fn(I::Item) -> R + Send + Sync + 'static,
    R: Send + 'static,
{
    let ahead = ahead_bound(maxsize);
    let (tx, rx) = mpsc::channel();
    let (members, f, items, permits) = (members.clone(), Arc::new(f), items.into_iter(), ahead.clone());
    let feeder = crate::spawn(move || {
        for item in items {
            take_permit(&permits);
            let f = f.clone();
            let member = members.spawn(move || f(item), true).expect("a blocking spawn gets a slot");
            if tx.send(member).is_err() {
                return;
            }
        }
    });
    IMap { members: rx, feeder: Some(feeder), ahead }
}

pub(super) fn unordered<I, F, R>(members: &Arc<Members>, f: F, items: I, maxsize: Option<usize>) -> IMapUnordered<R>
where
    I: IntoIterator,
    I::IntoIter: Send + 'static,
    I::Item: Send + 'static,
    F: Fn(I::Item) -> R + Send + Sync + 'static,
    R: Send + 'static,
{
    let ahead = ahead_bound(maxsize);
    let (tx, rx) = mpsc::channel();
    let (members, f, items, permits) = (members.clone(), Arc::new(f), items.into_iter(), ahead.clone());
    let feeder = crate::spawn(move || {
        for item in items {
            take_permit(&permits);
            let (f, tx) = (f.clone(), tx.clone());
            // The member reports its own outcome, panic included, so results
            // come out in finishing order.
            members
                .spawn(
                    move || {
                        let _ = tx.send(crate::unwinding::catch(|| f(item)));
                    },
                    true,
                )
                .expect("a blocking spawn gets a slot");
        }
    });
    IMapUnordered { results: rx, feeder: Some(feeder), ahead }
}

/// The feeder is done: re-raise its panic, if any.
fn finish(feeder: &mut Option<JoinHandle<()>>) {
    if let Some(Err(payload)) = feeder.take().map(JoinHandle::join) {
        crate::unwinding::resume(payload);
    }
}

/// Stops the feeder if the results were abandoned early.
fn stop(feeder: &mut Option<JoinHandle<()>>) {
    if let Some(f) = feeder.take() {
        f.kill();
    }
}

impl<R> Iterator for IMap<R> {
    type Item = R;

    fn next(&mut self) -> Option<R> {
        give_permit(&self.ahead);
        match self.members.recv() {
            Ok(member) => Some(member.join().unwrap_or_else(|payload| crate::unwinding::resume(payload))),
            Err(_) => {
                finish(&mut self.feeder);
                None
            }
        }
    }
}

impl<R> Iterator for IMapUnordered<R> {
    type Item = R;

    fn next(&mut self) -> Option<R> {
        give_permit(&self.ahead);
        match self.results.recv() {
            Ok(result) => Some(result.unwrap_or_else(|payload| crate::unwinding::resume(payload))),
            Err(_) => {
                finish(&mut self.feeder);
                None
            }
        }
    }
}

impl<R> Drop for IMap<R> {
    fn drop(&mut self) {
        stop(&mut self.feeder);
    }
}

impl<R> Drop for IMapUnordered<R> {
    fn drop(&mut self) {
        stop(&mut self.feeder);
    }
}

impl<R> fmt::Debug for IMap<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IMap").finish_non_exhaustive()
    }
}

impl<R> fmt::Debug for IMapUnordered<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IMapUnordered").finish_non_exhaustive()
    }
}
