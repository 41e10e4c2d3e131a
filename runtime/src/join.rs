//! [`JoinHandle`], [`joinall`] and [`killall`].
//!
//! A handle owns the coroutine's result: the task's result slot is the
//! coroutine's until the task completes, then the handle's (the
//! COMPLETE/JOIN_INTEREST protocol in `task.rs`). When the coroutine ends,
//! its hub first runs its links ([`rawlink`](JoinHandle::rawlink) and
//! [`link`](JoinHandle::link) and its variants, in `link.rs`) with the
//! result borrowed, then marks the task complete and wakes its joiners: a
//! link has always run by the time [`join`](JoinHandle::join) returns or
//! [`is_finished`](JoinHandle::is_finished) is true (inside the rawlinks
//! themselves, where gevent's `ready()` is already true, `is_finished` is
//! true as well).

use std::fmt;
use std::marker::PhantomData;
use std::thread;
use std::time::{Duration, Instant};

use crate::current::Coroutine;
use crate::hub;
use crate::park::{self, Unparked};
use crate::task::{Header, TaskRef, KILL};

/// An owned permission to join a coroutine, like `std::thread::JoinHandle`.
///
/// Dropping it detaches the coroutine: it keeps running, and if it panics
/// the failure is logged (gevent's `handle_error`), since nobody else will
/// see it.
///
/// `JoinHandle<T>` is `Send` when `T` is, so a coroutine on one hub (or a
/// plain thread) can join a coroutine on another.
///
/// # gevent's `Greenlet`
///
/// | gevent | verde |
/// | --- | --- |
/// | `g.join()`, then `g.value` / `g.exception` | [`join`](Self::join) |
/// | `g.join(timeout)` | [`wait_timeout`](Self::wait_timeout) |
/// | `g.ready()` | [`is_finished`](Self::is_finished) |
/// | `g.kill()` / `g.kill(block=False)` | [`kill`](Self::kill) / [`kill_nowait`](Self::kill_nowait) |
/// | `g.rawlink(cb)` | [`rawlink`](Self::rawlink): `cb` borrows the result, in the hub, before joiners wake |
/// | `g.link(cb)` | [`link`](Self::link): `cb` gets a [`Linked`](crate::Linked), in a new coroutine |
/// | `g.link_value(cb)` / `g.link_exception(cb)` | [`link_value`](Self::link_value) / [`link_exception`](Self::link_exception) (a kill counts as a value, as in gevent) |
/// | `g.unlink(cb)` | [`unlink`](Self::unlink), with the [`LinkId`](crate::LinkId) the link call returned |
/// | `g.successful()` | [`Linked::successful`](crate::Linked::successful), [`Outcome::is_successful`](crate::Outcome::is_successful) |
pub struct JoinHandle<T> {
    handle: TaskHandle,
    _result: PhantomData<T>,
}

/// A type-erased, cloneable handle to a coroutine, for the crate's own
/// bookkeeping (a [`Pool`](crate::pool::Pool) keeps one per member, to join
/// or kill them all while the caller keeps the typed [`JoinHandle`]). It
/// never takes the result, and dropping it does not detach anything.
#[derive(Clone)]
pub(crate) struct TaskHandle {
    task: TaskRef,
}

impl TaskHandle {
    /// The coroutine, as [`crate::current`] would name it.
    pub(crate) fn coroutine(&self) -> Coroutine {
        Coroutine::new(self.task.clone())
    }

    /// Whether the coroutine has finished.
    pub(crate) fn is_finished(&self) -> bool {
        self.task.is_complete()
    }

    /// Asks the coroutine to die without waiting for it.
    pub(crate) fn kill_nowait(&self) {
        if !self.task.is_complete() {
            Header::post_interrupt(&self.task, KILL);
        }
    }

    /// The coroutine's id (its [`CoroutineId`](crate::CoroutineId) as a
    /// number).
    pub(crate) fn id(&self) -> u64 {
        self.task.id
    }

    /// Whether this is the calling coroutine (or main context).
    pub(crate) fn is_current(&self) -> bool {
        hub::try_current().is_some_and(|h| std::ptr::eq(h.current_task(), &*self.task))
    }

    /// Waits until the coroutine finishes or `deadline` passes; returns
    /// whether it finished.
    ///
    /// A kill or [`Timeout`](crate::Timeout) of the caller unwinds out of
    /// the wait, as out of any park, and takes the caller's waker off the
    /// coroutine's list on the way.
    pub(crate) fn wait_until(&self, deadline: Option<Instant>) -> bool {
        let hub = hub::current();
        loop {
            if self.task.is_complete() {
                return true;
            }
            let waker = park::waker();
            if !self.task.add_join_waiter(waker.clone()) {
                return true;
            }
            let registered = JoinWaiter { task: &self.task, waker: Some(waker) };
            let parked = park::park_inner(hub, deadline);
            if self.task.is_complete() {
                // `finish` took every waker off the list to wake them.
                registered.finished();
                return true;
            }
            // Timed out, or woken without finishing (a withdrawn
            // interrupt): this park's waker is of no more use.
            drop(registered);
            if parked == Unparked::TimedOut {
                return self.task.is_complete();
            }
        }
    }
}

/// A waker on a coroutine's list of joiners, taken off again when dropped:
/// at the end of a wait that timed out, or while its waiter unwinds.
struct JoinWaiter<'a> {
    task: &'a TaskRef,
    /// `None` once the coroutine finished, which emptied the list.
    waker: Option<park::Waker>,
}

impl JoinWaiter<'_> {
    /// The coroutine finished and took the waker off its list itself:
    /// drops this copy (and the reference to the waiter it holds) without
    /// looking for it there.
    fn finished(mut self) {
        self.waker = None;
    }
}

impl Drop for JoinWaiter<'_> {
    fn drop(&mut self) {
        if let Some(waker) = &self.waker {
            self.task.remove_join_waiter(waker);
        }
    }
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(task: TaskRef) -> Self {
        JoinHandle { handle: TaskHandle { task }, _result: PhantomData }
    }

    /// A type-erased handle to the same coroutine.
    pub(crate) fn task_handle(&self) -> TaskHandle {
        self.handle.clone()
    }

    /// The coroutine's task.
    pub(crate) fn task(&self) -> &TaskRef {
        &self.handle.task
    }

    /// Waits for the coroutine to finish and returns its result, or the
    /// panic payload it ended with, as `std::thread::JoinHandle::join` does.
    /// A killed coroutine's payload is [`Killed`](crate::Killed).
    ///
    /// # Panics
    ///
    /// Panics if a coroutine tries to join itself.
    ///
    /// ```
    /// let h = verde_runtime::spawn(|| panic!("boom"));
    /// assert!(h.join().is_err());
    /// ```
    pub fn join(self) -> thread::Result<T> {
        assert!(!self.is_current(), "a coroutine cannot join itself");
        self.wait_until(None);
        // SAFETY: `T` is the task's result type (this handle was created with
        // it), this is the only handle, and `wait_until(None)` returned only
        // once the task is complete.
        unsafe { Header::take_result::<T>(&self.handle.task) }.expect("a finished coroutine has a result")
    }

    /// Waits up to `timeout` for the coroutine to finish, without consuming
    /// the handle (gevent's `join(timeout)`, named after
    /// [`Condvar::wait_timeout`](crate::sync::Condvar::wait_timeout):
    /// `join` is the consuming call, as in `std::thread`). Returns whether
    /// it finished; the result stays in the handle for
    /// [`join`](Self::join).
    ///
    /// It parks like every other wait: a coroutine on another hub and a
    /// plain thread may wait too, and a kill or a
    /// [`Timeout`](crate::Timeout) of the caller unwinds out of it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use verde_runtime::sync::mpsc;
    ///
    /// let (go, gate) = mpsc::channel::<()>();
    /// let h = verde_runtime::spawn(move || gate.recv().map(|()| 42));
    /// assert!(!h.wait_timeout(Duration::from_millis(5))); // still running
    /// go.send(()).unwrap();
    /// assert!(h.wait_timeout(Duration::from_secs(60)));
    /// assert_eq!(h.join().unwrap(), Ok(42));
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.is_finished() || self.wait_until(Some(park::deadline_after(timeout)))
    }

    /// Whether the coroutine has finished running (gevent's `ready()`):
    /// once true, [`join`](Self::join) returns at once.
    ///
    /// It turns true once the coroutine's [`rawlink`](Self::rawlink)
    /// callbacks have run, and is already true inside them, as gevent's
    /// `ready()` is in its links.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    ///
    /// let h = Arc::new(verde_runtime::spawn(|| ()));
    /// let seen = Arc::new(Mutex::new(None));
    /// let (me, s) = (h.clone(), seen.clone());
    /// h.rawlink(move |_| *s.lock().unwrap() = Some(me.is_finished()));
    /// assert!(h.wait_timeout(std::time::Duration::from_secs(60)));
    /// assert_eq!(*seen.lock().unwrap(), Some(true));
    /// ```
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished() || crate::link::in_rawlink_of(&self.handle.task)
    }

    /// The coroutine's identity (id and name).
    pub fn coroutine(&self) -> Coroutine {
        self.handle.coroutine()
    }

    /// Kills the coroutine and waits until it has finished.
    ///
    /// The coroutine unwinds from the point where it is blocked (a sleep, a
    /// socket, a lock...), running its destructors; [`join`](Self::join)
    /// then returns `Err` holding [`Killed`](crate::Killed). A coroutine
    /// killed before it started never runs. Like gevent, a coroutine busy
    /// on the CPU is only stopped when it next blocks or yields. Killing the
    /// calling coroutine unwinds it at once. A coroutine already unwinding
    /// from an earlier kill or [`Timeout`](crate::Timeout), parked in a
    /// destructor on its way out, is not unwound again from inside that
    /// destructor (which would abort the process): the new kill waits until
    /// that unwinding is over.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let h = verde_runtime::spawn(|| verde_runtime::sleep(Duration::from_secs(3600)));
    /// h.kill();
    /// assert!(h.is_finished());
    /// ```
    pub fn kill(&self) {
        if self.is_finished() {
            return;
        }
        self.kill_nowait();
        if self.is_current() {
            park::yield_now();
        }
        self.wait_until(None);
    }

    /// Asks the coroutine to die without waiting for it (gevent's
    /// `kill(block=False)`).
    pub fn kill_nowait(&self) {
        self.handle.kill_nowait();
    }

    fn is_current(&self) -> bool {
        self.handle.is_current()
    }

    /// Waits until complete or `deadline`; returns whether complete.
    fn wait_until(&self, deadline: Option<Instant>) -> bool {
        self.handle.wait_until(deadline)
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        Header::drop_join_interest(&self.handle.task);
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.handle.task.id)
            .field("name", &self.handle.task.name)
            .field("finished", &self.handle.task.is_complete())
            .finish()
    }
}

/// Waits for every coroutine and returns their results in order (gevent's
/// `joinall`). For gevent's `timeout` and `count`, see
/// [`joinall_timeout`].
///
/// ```
/// let hs: Vec<_> = (0..3).map(|i| verde_runtime::spawn(move || i * 2)).collect();
/// let rs: Vec<i32> = verde_runtime::joinall(hs).into_iter().map(Result::unwrap).collect();
/// assert_eq!(rs, [0, 2, 4]);
/// ```
pub fn joinall<T, I>(handles: I) -> Vec<thread::Result<T>>
where
    I: IntoIterator<Item = JoinHandle<T>>,
{
    handles.into_iter().map(JoinHandle::join).collect()
}

/// Waits until `count` of the coroutines have finished (all of them with
/// `None`) or `timeout` passes, and joins those: gevent's
/// `joinall(greenlets, timeout, count)`, which returns the greenlets that
/// finished.
///
/// The finished coroutines are taken out of `handles` and their results
/// returned in the order they finished (those already finished on entry
/// first, in slice order, as [`iwait`](crate::iwait) yields them), each
/// with its index in `handles` as it was on entry. The handles of the coroutines still running stay in
/// `handles`, in their order, to wait for again or to
/// [`killall`]. With `count`, at most that many are taken, even if more
/// have finished ([`wait`](crate::wait) decides which, as
/// gevent's `joinall` does).
///
/// A kill or [`Timeout`](crate::Timeout) of the caller unwinds out of the
/// wait with `handles` untouched.
///
/// ```
/// use std::time::Duration;
/// use verde_runtime::sync::mpsc;
///
/// let (go, gate) = mpsc::channel::<()>();
/// let mut handles = vec![
///     verde_runtime::spawn(move || gate.recv().map(|()| "slow").unwrap()),
///     verde_runtime::spawn(|| "fast"),
/// ];
/// // gevent.joinall(gs, timeout=0.01): only `fast` makes it.
/// let done = verde_runtime::joinall_timeout(&mut handles, Some(Duration::from_millis(10)), None);
/// assert_eq!(done.len(), 1);
/// assert_eq!(done[0].0, 1);
/// assert_eq!(done[0].1.as_ref().unwrap(), &"fast");
/// assert_eq!(handles.len(), 1); // `slow` is still running
///
/// // gevent.joinall(gs, count=1): whichever finishes first.
/// go.send(()).unwrap();
/// let first = verde_runtime::joinall_timeout(&mut handles, None, Some(1));
/// assert_eq!(first[0].1.as_ref().unwrap(), &"slow");
/// assert!(handles.is_empty());
/// ```
pub fn joinall_timeout<T: 'static>(
    handles: &mut Vec<JoinHandle<T>>,
    timeout: Option<Duration>,
    count: Option<usize>,
) -> Vec<(usize, thread::Result<T>)> {
    let finished = crate::wait::wait(handles, timeout, count);
    // A coroutine counts as ready for `wait` once its rawlinks have run,
    // a moment before it is marked complete (on another hub, that moment
    // may still be going on): wait for that here, while an interrupt can
    // still leave `handles` as they were.
    for &i in &finished {
        handles[i].wait_until(None);
    }
    let mut slots: Vec<Option<JoinHandle<T>>> = std::mem::take(handles).into_iter().map(Some).collect();
    let results = finished
        .into_iter()
        .map(|i| {
            let handle = slots[i].take().expect("`wait` reports each index once");
            (i, handle.join())
        })
        .collect();
    handles.extend(slots.into_iter().flatten());
    results
}

/// Kills every coroutine, then waits until all have finished (gevent's
/// `killall`).
pub fn killall<'a, T: 'a, I>(handles: I)
where
    I: IntoIterator<Item = &'a JoinHandle<T>>,
{
    let handles: Vec<&JoinHandle<T>> = handles.into_iter().collect();
    for h in &handles {
        if !h.is_current() {
            h.kill_nowait();
        }
    }
    for h in &handles {
        if !h.is_current() {
            h.wait_until(None);
        }
    }
    if let Some(me) = handles.iter().find(|h| h.is_current()) {
        me.kill();
    }
}
