//! [`Pool`]: gevent's `Pool`, a group with a size limit.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::imap::{self, IMap, IMapUnordered};
use super::members::Members;
use super::PoolFull;
use crate::join::JoinHandle;
use crate::park;

/// A [`Group`](super::Group) that runs at most `size` members at once
/// (gevent's `Pool`). Clones share the same members and slots.
///
/// ```
/// use verde_runtime::pool::{Pool, PoolFull};
///
/// let pool = Pool::new(1);
/// let first = pool.spawn(|| verde_runtime::sleep(std::time::Duration::from_millis(10)));
/// assert_eq!(pool.free_count(), 0);
/// assert_eq!(pool.try_spawn(|| ()).unwrap_err(), PoolFull);
/// // spawn parks until `first` is done.
/// pool.spawn(|| ()).join().unwrap();
/// assert!(first.is_finished());
/// ```
#[derive(Clone)]
pub struct Pool {
    members: Arc<Members>,
}

impl Pool {
    /// A pool of `size` slots.
    ///
    /// # Panics
    ///
    /// If `size` is 0: nothing could ever run. Use a
    /// [`Group`](super::Group) for no limit.
    pub fn new(size: usize) -> Pool {
        assert!(size > 0, "a Pool needs size > 0; use Group for no limit");
        Pool { members: Members::new(Some(size)) }
    }

    /// The size limit.
    pub fn size(&self) -> usize {
        self.members.size().expect("a pool has a size")
    }

    /// Spawns `f` in a new member, parking while the pool is full; waiting
    /// spawners get slots in FIFO order. See [`spawn`](crate::spawn) for
    /// where it runs.
    ///
    /// # Panics
    ///
    /// If no stack can be allocated, as [`spawn`](crate::spawn).
    pub fn spawn<F, T>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.members.spawn(f, true).expect("a blocking spawn gets a slot")
    }

    /// Spawns `f` in a new member if a slot is free now.
    ///
    /// # Errors
    ///
    /// [`PoolFull`] if every slot is taken (`f` is dropped).
    pub fn try_spawn<F, T>(&self, f: F) -> Result<JoinHandle<T>, PoolFull>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.members.spawn(f, false)
    }

    /// Free slots.
    pub fn free_count(&self) -> usize {
        self.members.free_count()
    }

    /// Whether every slot is taken.
    pub fn full(&self) -> bool {
        self.free_count() == 0
    }

    /// The number of members still running (or not started yet).
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether every member has finished.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Parks until every member has finished.
    pub fn join(&self) {
        self.members.join(None);
    }

    /// Like [`join`](Self::join), for at most `timeout`; returns whether
    /// every member finished.
    pub fn join_timeout(&self, timeout: Duration) -> bool {
        self.members.join(Some(park::deadline_after(timeout)))
    }

    /// Kills every member and waits until all have finished. Called by a
    /// member, it kills the others first, then the caller.
    pub fn kill(&self) {
        self.members.kill();
    }

    /// Runs `f` on every item, at most `size` at a time, and returns the
    /// results in item order.
    ///
    /// # Panics
    ///
    /// Re-raises the payload of a member that panicked or was killed.
    pub fn map<I, F, R>(&self, f: F, items: I) -> Vec<R>
    where
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        I::Item: Send + 'static,
        F: Fn(I::Item) -> R + Send + Sync + 'static,
        R: Send + 'static,
    {
        self.imap(f, items).collect()
    }

    /// Like [`map`](Self::map), yielding each result as soon as it and the
    /// results before it are ready.
    ///
    /// ```
    /// use std::time::Duration;
    /// use verde_runtime::pool::Pool;
    ///
    /// let pool = Pool::new(3);
    /// // The first item takes longest, yet comes out first.
    /// let delays = [30u64, 10, 20];
    /// let out: Vec<u64> = pool
    ///     .imap(|ms| { verde_runtime::sleep(Duration::from_millis(ms)); ms }, delays)
    ///     .collect();
    /// assert_eq!(out, delays);
    /// ```
    pub fn imap<I, F, R>(&self, f: F, items: I) -> IMap<R>
    where
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        I::Item: Send + 'static,
        F: Fn(I::Item) -> R + Send + Sync + 'static,
        R: Send + 'static,
    {
        imap::ordered(&self.members, f, items)
    }

    /// Like [`imap`](Self::imap), yielding results in the order they
    /// finish.
    pub fn imap_unordered<I, F, R>(&self, f: F, items: I) -> IMapUnordered<R>
    where
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        I::Item: Send + 'static,
        F: Fn(I::Item) -> R + Send + Sync + 'static,
        R: Send + 'static,
    {
        imap::unordered(&self.members, f, items)
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool").field("size", &self.size()).field("len", &self.len()).finish()
    }
}
