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
//! A coroutine spawned elsewhere joins a set with `add` (gevent's
//! `add`): [`Group::add`], and [`Pool::add`], which parks while the pool
//! is full, with [`Pool::try_add`] and [`Pool::add_timeout`] failing with
//! [`PoolFull`] instead. `add` borrows the [`JoinHandle`](crate::JoinHandle):
//! the caller keeps it to join the coroutine, the set only tracks it, and
//! it leaves the set when it finishes. `discard` takes a member out of
//! the set, spawned or added, without killing it; `contains` tells
//! whether a coroutine is a member.
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
//! one, as in gevent; `apply` from a member runs inline instead, as
//! gevent's does).
//!
//! `apply` runs one function in a member and waits for its result;
//! `apply_async` starts one without ever waiting for a slot, and
//! [`Pool::wait_available`] waits for a free slot without taking it.
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
/// `members: Arc<Members>` field both have: `len`, `is_empty`, `contains`,
/// `discard`, `join`, `join_timeout`, `kill`, `kill_timeout`,
/// `kill_nowait`, `coroutines`, `apply`, `apply_async`,
/// `map`, `imap`, `imap_unordered` and their `_with_maxsize` forms.
macro_rules! member_set_methods {
    () => {
        /// The number of members still running (or not started yet).
        pub fn len(&self) -> usize {
            self.members.len()
        }

        /// Whether the coroutine of `handle` is a member (gevent's
        /// `greenlet in group`): spawned through this set or added to it,
        /// not finished, not discarded.
        ///
        /// ```
        /// use verde_runtime::pool::Pool;
        ///
        /// let pool = Pool::new(2);
        /// let member = pool.spawn(|| 1);
        /// let outsider = verde_runtime::spawn(|| 2);
        /// assert!(pool.contains(&member) && !pool.contains(&outsider));
        /// pool.join();
        /// assert!(!pool.contains(&member)); // it left when it finished
        /// assert_eq!(member.join().unwrap() + outsider.join().unwrap(), 3);
        /// ```
        pub fn contains<T>(&self, handle: &crate::JoinHandle<T>) -> bool {
            self.members.contains(handle)
        }

        /// Removes the coroutine of `handle` from the set without killing
        /// it (gevent's `discard`); returns whether it was a member (false
        /// if it was not, or has finished). It keeps running, outside the
        /// set: [`join`](Self::join), [`kill`](Self::kill) and
        /// [`len`](Self::len) no longer see it, and in a
        /// [`Pool`](crate::pool::Pool) its slot is free at once (the next
        /// waiting spawner or adder gets it).
        ///
        /// Works for members spawned through the set as for added ones. A
        /// discarded coroutine can be added again.
        ///
        /// ```
        /// use std::time::Duration;
        /// use verde_runtime::pool::Pool;
        ///
        /// let pool = Pool::new(1);
        /// let h = pool.spawn(|| verde_runtime::sleep(Duration::from_secs(3600)));
        /// assert!(pool.full());
        /// assert!(pool.discard(&h));
        /// assert!(!pool.discard(&h));
        /// assert!(pool.is_empty() && !pool.full());
        /// pool.join(); // does not wait for `h`
        /// assert!(!h.is_finished());
        /// h.kill();
        /// ```
        pub fn discard<T>(&self, handle: &crate::JoinHandle<T>) -> bool {
            self.members.discard(handle)
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

        /// Kills every member, added ones included, and waits until all have
        /// finished. Called by a member, it kills the others first, then the
        /// caller.
        pub fn kill(&self) {
            self.members.kill(None);
        }

        /// Like [`kill`](Self::kill), waiting at most `timeout` (gevent's
        /// `kill(timeout=t)`); returns whether every member finished.
        /// Members still unwinding when it returns (a destructor that
        /// parks) stay members until they end. Called by a member, it
        /// kills the caller only if the others finished in time.
        ///
        /// ```
        /// use std::time::Duration;
        /// use verde_runtime::pool::Group;
        ///
        /// let group = Group::new();
        /// group.spawn(|| verde_runtime::sleep(Duration::from_secs(3600)));
        /// assert!(group.kill_timeout(Duration::from_secs(5)));
        /// assert!(group.is_empty());
        /// ```
        pub fn kill_timeout(&self, timeout: std::time::Duration) -> bool {
            self.members.kill(Some(crate::park::deadline_after(timeout)))
        }

        /// Kills every member without waiting for them (gevent's
        /// `kill(block=False)`); [`join`](Self::join) waits for them. A
        /// member calling it gets its own kill at its next blocking call.
        pub fn kill_nowait(&self) {
            self.members.kill_nowait();
        }

        /// The members' coroutines, in no particular order: gevent's
        /// iteration over a group (`for g in group`, `group.greenlets`). A
        /// [`Coroutine`](crate::Coroutine) names a member (`id`, `name`);
        /// it cannot join or kill it.
        ///
        /// ```
        /// use verde_runtime::pool::Group;
        ///
        /// let group = Group::new();
        /// let h = group.spawn(|| verde_runtime::yield_now());
        /// let members = group.coroutines();
        /// assert_eq!(members.len(), 1);
        /// assert_eq!(members[0].id(), h.coroutine().id());
        /// h.join().unwrap();
        /// assert!(group.coroutines().is_empty());
        /// ```
        pub fn coroutines(&self) -> Vec<crate::Coroutine> {
            self.members.coroutines()
        }

        /// Runs `f` in a new member and returns its result, parking until it
        /// is done (gevent's `apply`). Called by a member of this set, it
        /// runs `f` right away in the caller instead, as gevent does: a
        /// member of a full pool applying into its own pool would otherwise
        /// wait for a slot only it could free.
        ///
        /// # Panics
        ///
        /// Re-raises the payload if `f` panicked (or the member was killed).
        ///
        /// ```
        /// use verde_runtime::pool::Pool;
        ///
        /// let pool = Pool::new(1);
        /// let p = pool.clone();
        /// // The outer call takes the only slot; the inner one runs inline.
        /// assert_eq!(pool.apply(move || p.apply(|| 5) + 1), 6);
        /// ```
        pub fn apply<F, R>(&self, f: F) -> R
        where
            F: FnOnce() -> R + Send + 'static,
            R: Send + 'static,
        {
            if self.members.is_current_member() {
                return f();
            }
            self.members.run_in_member(f)
        }

        /// Runs `f` in a member without ever parking the caller, even when
        /// the set is full (gevent's `apply_async`): if no slot is free, a
        /// helper coroutine (not itself a member) waits for one and then
        /// spawns the member. The handle returns `f`'s result, or its panic.
        ///
        /// ```
        /// use verde_runtime::pool::Pool;
        ///
        /// let pool = Pool::new(1);
        /// let first = pool.apply_async(|| 1);
        /// let second = pool.apply_async(|| 2); // does not wait for `first`
        /// assert_eq!(first.join().unwrap() + second.join().unwrap(), 3);
        /// ```
        pub fn apply_async<F, R>(&self, f: F) -> crate::JoinHandle<R>
        where
            F: FnOnce() -> R + Send + 'static,
            R: Send + 'static,
        {
            self.members.spawn_async(f)
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
            crate::pool::imap::ordered(&self.members, f, items, None)
        }

        /// Like [`imap`](Self::imap), handing out items at most `maxsize`
        /// ahead of the results taken (gevent's `imap(..., maxsize=n)`):
        /// the feeder waits before spawning the member for an item while
        /// `maxsize` items it handed out have not had their results taken
        /// by `next` yet. That bounds how many results pile up unread when
        /// the consumer is slower than the members.
        ///
        /// As in gevent, each `next` lets the feeder go on before it waits
        /// for its own result, so the feeder is at most `maxsize` items
        /// ahead of the `next` calls made so far.
        ///
        /// # Panics
        ///
        /// If `maxsize` is 0 (gevent reads 0 as "no bound": that is
        /// [`imap`](Self::imap)).
        pub fn imap_with_maxsize<I, F, R>(&self, f: F, items: I, maxsize: usize) -> crate::pool::IMap<R>
        where
            I: IntoIterator,
            I::IntoIter: Send + 'static,
            I::Item: Send + 'static,
            F: Fn(I::Item) -> R + Send + Sync + 'static,
            R: Send + 'static,
        {
            crate::pool::imap::ordered(&self.members, f, items, Some(maxsize))
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
            crate::pool::imap::unordered(&self.members, f, items, None)
        }

        /// Like [`imap_unordered`](Self::imap_unordered), handing out items
        /// at most `maxsize` ahead of the results taken, as
        /// [`imap_with_maxsize`](Self::imap_with_maxsize) does.
        ///
        /// # Panics
        ///
        /// If `maxsize` is 0.
        pub fn imap_unordered_with_maxsize<I, F, R>(
            &self,
            f: F,
            items: I,
            maxsize: usize,
        ) -> crate::pool::IMapUnordered<R>
        where
            I: IntoIterator,
            I::IntoIter: Send + 'static,
            I::Item: Send + 'static,
            F: Fn(I::Item) -> R + Send + Sync + 'static,
            R: Send + 'static,
        {
            crate::pool::imap::unordered(&self.members, f, items, Some(maxsize))
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

/// [`Pool::try_spawn`] or [`Pool::try_add`] found no free slot, or
/// [`Pool::add_timeout`] found none in time (gevent's `PoolFull`, which
/// gevent's `add` raises in both cases).
///
/// ```
/// use verde_runtime::pool::{Pool, PoolFull};
///
/// let pool = Pool::new(0);
/// assert_eq!(pool.try_spawn(|| ()).unwrap_err(), PoolFull);
/// assert_eq!(PoolFull.to_string(), "the pool is full");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolFull;

impl fmt::Display for PoolFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the pool is full")
    }
}

impl std::error::Error for PoolFull {}
