//! gevent's `gevent.pool`: [`Group`], a set of coroutines to join or kill
//! together, and [`Pool`], a group with a size limit.
//!
//! Spawning through a group returns the usual typed
//! [`JoinHandle`](crate::JoinHandle) *and* tracks the coroutine: it is a
//! member from the spawn until it finishes (or is killed, even before it
//! started). [`Pool::spawn`] parks while the pool is full, and waiting
//! spawners get free slots in FIFO order; [`Pool::try_spawn`] fails with
//! [`PoolFull`] instead.
//!
//! `map`, `imap` and `imap_unordered` run a function over the items of an
//! iterator in member coroutines, as many at a time as the pool allows.
//! `map` and `imap` return results in the order of the items,
//! `imap_unordered` as they finish. A member that panics, or is killed,
//! re-raises its payload in the coroutine iterating the results, as gevent
//! re-raises a greenlet's exception.
//!
//! Members run where [`spawn`](crate::spawn) would put them (the calling
//! coroutine's hub, or the runtime a thread has entered). Groups and pools
//! are cheap handles (`Clone`): clones share the same members, so members
//! can spawn into their own pool (a member that spawns into its full pool
//! waits for a slot like anyone else, and deadlocks if only it could free
//! one, as in gevent).
//!
//! ```
//! use verde_runtime::pool::Pool;
//!
//! let pool = Pool::new(2);
//! let squares: Vec<u64> = pool.map(|x: u64| x * x, 1..=5);
//! assert_eq!(squares, [1, 4, 9, 16, 25]);
//! pool.join();
//! assert!(pool.is_empty());
//! ```

/// The methods [`Group`] and [`Pool`] share, written once over the
/// `members: Arc<Members>` field both have: `len`, `is_empty`, `join`,
/// `join_timeout`, `kill`, `map`, `imap` and `imap_unordered`.
macro_rules! member_set_methods {
    () => {
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
        pub fn join_timeout(&self, timeout: std::time::Duration) -> bool {
            self.members.join(Some(crate::park::deadline_after(timeout)))
        }

        /// Kills every member and waits until all have finished. Called by a
        /// member, it kills the others first, then the caller.
        pub fn kill(&self) {
            self.members.kill();
        }

        /// Runs `f` on every item in its own member, as many at a time as the
        /// set allows (a [`Pool`](crate::pool::Pool) its size, a
        /// [`Group`](crate::pool::Group) all of them), and returns the results
        /// in item order.
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
        pub fn imap<I, F, R>(&self, f: F, items: I) -> crate::pool::IMap<R>
        where
            I: IntoIterator,
            I::IntoIter: Send + 'static,
            I::Item: Send + 'static,
            F: Fn(I::Item) -> R + Send + Sync + 'static,
            R: Send + 'static,
        {
            crate::pool::imap::ordered(&self.members, f, items)
        }

        /// Like [`imap`](Self::imap), yielding results in the order they
        /// finish.
        pub fn imap_unordered<I, F, R>(&self, f: F, items: I) -> crate::pool::IMapUnordered<R>
        where
            I: IntoIterator,
            I::IntoIter: Send + 'static,
            I::Item: Send + 'static,
            F: Fn(I::Item) -> R + Send + Sync + 'static,
            R: Send + 'static,
        {
            crate::pool::imap::unordered(&self.members, f, items)
        }
    };
}

mod group;
mod imap;
mod members;
mod sized;

use std::fmt;

pub use group::Group;
pub use imap::{IMap, IMapUnordered};
pub use sized::Pool;

/// [`Pool::try_spawn`] found no free slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolFull;

impl fmt::Display for PoolFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the pool is full")
    }
}

impl std::error::Error for PoolFull {}
