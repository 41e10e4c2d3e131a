//! [`Group`]: gevent's `Group`, an unbounded set of coroutines.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::imap::{self, IMap, IMapUnordered};
use super::members::Members;
use crate::join::JoinHandle;
use crate::park;

/// A set of coroutines joined or killed together (gevent's `Group`, a pool
/// without a size limit). Clones share the same members.
///
/// ```
/// use std::time::Duration;
/// use verde_runtime::pool::Group;
///
/// let group = Group::new();
/// let h = group.spawn(|| 6 * 7);
/// group.spawn(|| verde_runtime::sleep(Duration::from_secs(3600)));
/// assert_eq!(group.len(), 2);
/// assert_eq!(h.join().unwrap(), 42);
/// group.kill();
/// assert!(group.is_empty());
/// ```
#[derive(Clone)]
pub struct Group {
    members: Arc<Members>,
}

impl Group {
    /// An empty group.
    pub fn new() -> Group {
        Group { members: Members::new(None) }
    }

    /// Spawns `f` in a new member coroutine; see
    /// [`spawn`](crate::spawn) for where it runs.
    ///
    /// # Panics
    ///
    /// If no stack can be allocated, as [`spawn`](crate::spawn).
    pub fn spawn<F, T>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.members.spawn(f, true).expect("a group has no size limit")
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

    /// Runs `f` on every item in its own member and returns the results in
    /// item order.
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

impl Default for Group {
    fn default() -> Group {
        Group::new()
    }
}

impl fmt::Debug for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Group").field("len", &self.len()).finish()
    }
}
