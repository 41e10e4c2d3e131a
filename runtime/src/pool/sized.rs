//! [`Pool`]: gevent's `Pool`, a group with a size limit.

use std::fmt;
use std::sync::Arc;

use super::members::Members;
use super::PoolFull;
use crate::join::JoinHandle;

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
///
/// `imap` yields each result as soon as it and the results before it are
/// ready:
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

    member_set_methods!();
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool").field("size", &self.size()).field("len", &self.len()).finish()
    }
}
