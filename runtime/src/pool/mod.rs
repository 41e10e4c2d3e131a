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
