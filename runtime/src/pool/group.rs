//! [`Group`]: gevent's `Group`, an unbounded set of coroutines.

use std::fmt;
use std::io;
use std::sync::Arc;

use super::members::Members;
use crate::join::JoinHandle;

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

    /// Spawns `f` in a new member coroutine made by `builder` (a name, a
    /// stack size), as [`Builder::spawn`](crate::Builder::spawn) does.
    ///
    /// # Errors
    ///
    /// Those of [`Builder::spawn`](crate::Builder::spawn): the coroutine
    /// cannot be created (no stack could be allocated). `f` is dropped,
    /// and the group is left as it was.
    ///
    /// ```
    /// use verde_runtime::{pool::Group, Builder};
    ///
    /// let group = Group::new();
    /// let worker = group.spawn_with(Builder::new().name("worker".into()), || 6 * 7)?;
    /// assert_eq!(worker.join().unwrap(), 42);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn spawn_with<F, T>(&self, builder: crate::Builder, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.members.spawn_with(builder, f)
    }

    /// Adds the coroutine of `handle`, spawned elsewhere, to the group
    /// (gevent's `Group.add`): from now on [`join`](Self::join),
    /// [`kill`](Self::kill), [`len`](Self::len) and
    /// [`contains`](Self::contains) count it, and it leaves the group when
    /// it finishes (through a [`rawlink`](crate::JoinHandle::rawlink) on
    /// it, as in gevent), or when [`discard`](Self::discard)ed.
    ///
    /// The handle is borrowed: the caller keeps it to join the coroutine or
    /// take its result; the group only tracks the coroutine. Works from any
    /// hub or plain thread, for a coroutine on any hub.
    ///
    /// Returns whether the coroutine became a member: false if it already
    /// was one, or has finished (then nothing changes). A coroutine that
    /// finishes as it is added may have left again by the time `add`
    /// returns true.
    ///
    /// ```
    /// use std::time::Duration;
    /// use verde_runtime::pool::Group;
    ///
    /// let group = Group::new();
    /// let h = verde_runtime::spawn(|| verde_runtime::sleep(Duration::from_secs(3600)));
    /// assert!(group.add(&h));
    /// assert!(!group.add(&h)); // a member already
    /// assert_eq!(group.len(), 1);
    /// group.kill(); // kills `h` too
    /// assert!(h.is_finished() && group.is_empty());
    /// assert!(h.join().is_err());
    /// ```
    pub fn add<T: 'static>(&self, handle: &JoinHandle<T>) -> bool {
        self.members.add(handle, true, None).expect("a group has no size limit")
    }

    member_set_methods!();
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
