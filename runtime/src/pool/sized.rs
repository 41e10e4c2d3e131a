//! [`Pool`]: gevent's `Pool`, a group with a size limit.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

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
    /// A pool of `size` slots. For no limit, use a [`Group`](super::Group).
    ///
    /// As in gevent, a size of 0 is allowed: such a pool can never have a
    /// member, so [`spawn`](Self::spawn) parks forever and
    /// [`try_spawn`](Self::try_spawn) always fails. It only makes sense for
    /// code that checks [`free_count`](Self::free_count) or calls
    /// [`wait_available`](Self::wait_available) with a timeout before
    /// spawning.
    pub fn new(size: usize) -> Pool {
        Pool { members: Members::new(Some(size)) }
    }

    /// The size limit.
    pub fn size(&self) -> usize {
        self.members.size().expect("a pool has a size")
    }

    /// Spawns `f` in a new member, parking while the pool is full; waiting
    /// spawners (and [`add`](Self::add)ers) get slots in FIFO order. See [`spawn`](crate::spawn) for
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

    /// Spawns `f` in a new member coroutine made by `builder` (a name, a
    /// stack size), parking while the pool is full, as
    /// [`spawn`](Self::spawn) does.
    ///
    /// # Errors
    ///
    /// Those of [`Builder::spawn`](crate::Builder::spawn): the coroutine
    /// cannot be created (no stack could be allocated). `f` is dropped,
    /// and the slot it took is free again.
    pub fn spawn_with<F, T>(&self, builder: crate::Builder, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.members.spawn_with(builder, f)
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

    /// Adds the coroutine of `handle`, spawned elsewhere, to the pool,
    /// parking while the pool is full (gevent's `Pool.add`); waiting
    /// adders and spawners get slots in FIFO order. The coroutine takes a
    /// slot until it finishes or is [`discard`](Self::discard)ed, and
    /// [`join`](Self::join), [`kill`](Self::kill), [`len`](Self::len) and
    /// [`contains`](Self::contains) count it, as
    /// [`Group::add`](super::Group::add) describes; the handle is borrowed.
    ///
    /// Returns whether the coroutine became a member: false, at once and
    /// without taking a slot, if it already was one or has finished.
    ///
    /// The coroutine runs while `add` waits (a verde coroutine starts when
    /// it is spawned; gevent's caution about adding started greenlets), so
    /// the pool bounds it only from when it is added: to keep a coroutine
    /// from running before a slot is free, [`spawn`](Self::spawn) it
    /// through the pool instead.
    ///
    /// A kill or [`Timeout`](crate::Timeout) of the caller while it waits
    /// unwinds out of `add` with nothing added and no slot taken (a slot
    /// handed to it meanwhile goes on to the next waiter).
    ///
    /// ```
    /// use std::time::Duration;
    /// use verde_runtime::pool::Pool;
    ///
    /// let pool = Pool::new(1);
    /// let first = pool.spawn(|| verde_runtime::sleep(Duration::from_millis(10)));
    /// let h = verde_runtime::spawn(|| verde_runtime::sleep(Duration::from_secs(3600)));
    /// assert!(pool.add(&h)); // parks until `first` has left the pool
    /// assert!(!pool.contains(&first) && pool.contains(&h));
    /// assert!(pool.full());
    /// pool.kill();
    /// assert!(first.join().is_ok() && h.join().is_err());
    /// ```
    pub fn add<T: 'static>(&self, handle: &JoinHandle<T>) -> bool {
        self.members.add(handle, true, None).expect("a blocking add gets a slot")
    }

    /// Like [`add`](Self::add), without waiting: gevent's
    /// `add(g, blocking=False)`.
    ///
    /// # Errors
    ///
    /// [`PoolFull`] if every slot is taken and the coroutine is not a
    /// member yet; it is left as it was (running, and the caller's handle
    /// still refers to it).
    ///
    /// ```
    /// use std::time::Duration;
    /// use verde_runtime::pool::{Pool, PoolFull};
    ///
    /// let pool = Pool::new(1);
    /// let a = verde_runtime::spawn(|| verde_runtime::sleep(Duration::from_secs(3600)));
    /// let b = verde_runtime::spawn(|| verde_runtime::sleep(Duration::from_secs(3600)));
    /// assert_eq!(pool.try_add(&a), Ok(true));
    /// assert_eq!(pool.try_add(&a), Ok(false)); // a member already
    /// assert_eq!(pool.try_add(&b), Err(PoolFull));
    /// pool.kill();
    /// b.kill();
    /// ```
    pub fn try_add<T: 'static>(&self, handle: &JoinHandle<T>) -> Result<bool, PoolFull> {
        self.members.add(handle, false, None)
    }

    /// Like [`add`](Self::add), waiting at most `timeout` for a slot:
    /// gevent's `add(g, timeout=t)`.
    ///
    /// # Errors
    ///
    /// [`PoolFull`] if no slot was free in time (gevent raises `PoolFull`
    /// for a timeout too); the coroutine is left as it was.
    ///
    /// ```
    /// use std::time::Duration;
    /// use verde_runtime::pool::{Pool, PoolFull};
    ///
    /// let pool = Pool::new(0);
    /// let h = verde_runtime::spawn(|| 1);
    /// assert_eq!(pool.add_timeout(&h, Duration::from_millis(1)), Err(PoolFull));
    /// assert_eq!(h.join().unwrap(), 1);
    /// ```
    pub fn add_timeout<T: 'static>(&self, handle: &JoinHandle<T>, timeout: Duration) -> Result<bool, PoolFull> {
        self.members.add(handle, true, Some(crate::park::deadline_after(timeout)))
    }

    /// Free slots.
    pub fn free_count(&self) -> usize {
        self.members.free_count()
    }

    /// Whether every slot is taken.
    pub fn full(&self) -> bool {
        self.free_count() == 0
    }

    /// Parks until a slot is free, without taking it, for at most
    /// `timeout` (`None`: no limit); returns the number of free slots then,
    /// 0 if the time ran out (gevent's `wait_available`). Slots go to
    /// spawners already waiting first. Another coroutine may take the slot
    /// before the caller spawns: use [`try_spawn`](Self::try_spawn) to
    /// find out.
    ///
    /// ```
    /// use std::time::Duration;
    /// use verde_runtime::pool::Pool;
    ///
    /// let pool = Pool::new(1);
    /// let busy = pool.spawn(|| verde_runtime::sleep(Duration::from_millis(5)));
    /// assert_eq!(pool.wait_available(None), 1);
    /// assert!(pool.is_empty()); // `busy` has left the pool
    /// busy.join().unwrap();
    /// assert_eq!(Pool::new(0).wait_available(Some(Duration::from_millis(1))), 0);
    /// ```
    pub fn wait_available(&self, timeout: Option<std::time::Duration>) -> usize {
        self.members.wait_available(timeout.map(crate::park::deadline_after))
    }

    member_set_methods!();
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool").field("size", &self.size()).field("len", &self.len()).finish()
    }
}
