//! Links: callbacks that run when a coroutine ends, gevent's
//! `Greenlet.rawlink`, `link`, `link_value`, `link_exception` and `unlink`
//! on [`JoinHandle`].
//!
//! A link belongs to the coroutine, not to the handle: it is stored in the
//! task (next to its joiners' wakers, so a coroutine without links costs
//! nothing more to spawn), still fires if the handle was dropped, and runs
//! on the coroutine's own hub when the coroutine ends, before the task is
//! marked complete and before any joiner wakes. `finish` (in `task.rs`)
//! runs them with the result slot borrowed; `rawlink` hands the borrow to
//! the caller's closure, `link` turns it into an owned [`Linked`] and
//! spawns the closure with it.
//!
//! Inside a rawlink callback the coroutine has ended, and gevent's
//! `ready()` is true there: [`is_finished`](JoinHandle::is_finished) says
//! so too, through a thread-local list of the coroutines whose rawlinks
//! the thread is running ([`in_rawlink_of`]). Everywhere else it follows
//! the task's completion, so that a finished coroutine can always be
//! joined at once.

use std::any::Any;
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;

use crate::current::Coroutine;
use crate::interrupt::{describe_payload, Killed};
use crate::join::JoinHandle;
use crate::task::{Header, LinkFn, TaskRef};

/// Identifies a link added to a coroutine ([`JoinHandle::rawlink`] and
/// the `link` calls), or a `rawlink` callback added to an
/// [`Event`](crate::event::Event::rawlink),
/// [`AsyncResult`](crate::event::AsyncResult::rawlink),
/// [`Semaphore`](crate::lock::Semaphore::rawlink) or
/// [`BoundedSemaphore`](crate::lock::BoundedSemaphore::rawlink), for their
/// `unlink`. Ids are unique in the process: one never removes another
/// object's link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LinkId(pub(crate) u64);

static NEXT_LINK_ID: AtomicU64 = AtomicU64::new(1);

/// A fresh [`LinkId`] number.
pub(crate) fn next_link_id() -> u64 {
    NEXT_LINK_ID.fetch_add(1, Ordering::Relaxed)
}

/// How a coroutine ended, as its links see it.
///
/// As in gevent, a kill is a successful end: a killed greenlet dies of
/// `GreenletExit`, which gevent does not count as an error, so
/// [`link_value`](JoinHandle::link_value) fires for it and
/// [`link_exception`](JoinHandle::link_exception) does not.
///
/// ```
/// use verde_runtime::Outcome;
///
/// let h = verde_runtime::spawn(|| -> u8 { panic!("boom") });
/// let r = h.join();
/// assert_eq!(Outcome::of(&r), Outcome::Panicked("boom".to_string()));
/// assert!(!Outcome::of(&r).is_successful());
/// assert!(Outcome::of(&Ok::<u8, Box<dyn std::any::Any + Send>>(1)).is_successful());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The coroutine returned a value.
    Returned,
    /// The coroutine panicked (or an uncaught [`Timeout`](crate::Timeout)
    /// ended it, or it could not be started); the payload's message, as
    /// [`describe_payload`] writes it.
    Panicked(String),
    /// The coroutine was killed ([`Killed`], or a greenlet's
    /// [`GreenletExit`](crate::GreenletExit)), possibly before it started.
    Killed,
}

impl Outcome {
    /// The outcome a result stands for: what
    /// [`JoinHandle::join`] returned, or what a
    /// [`rawlink`](JoinHandle::rawlink) callback borrows.
    pub fn of<T>(result: &thread::Result<T>) -> Outcome {
        match result {
            Ok(_) => Outcome::Returned,
            Err(payload) => {
                let payload: &(dyn Any + Send) = &**payload;
                if payload.is::<Killed>() || payload.is::<crate::GreenletExit>() {
                    Outcome::Killed
                } else {
                    Outcome::Panicked(describe_payload(payload))
                }
            }
        }
    }

    /// Whether this is a successful end in gevent's sense
    /// (`Greenlet.successful()`): it returned, or it was killed.
    pub fn is_successful(&self) -> bool {
        matches!(self, Outcome::Returned | Outcome::Killed)
    }
}

/// What a [`link`](JoinHandle::link) callback receives: which coroutine
/// ended and how. gevent passes the greenlet itself; the value stays with
/// the [`JoinHandle`] here (use [`rawlink`](JoinHandle::rawlink) to see it).
///
/// ```
/// use verde_runtime::{sync::mpsc, Outcome};
///
/// let h = verde_runtime::spawn(|| 7);
/// let (tx, rx) = mpsc::channel();
/// h.link(move |linked| tx.send(linked).unwrap());
/// let linked = rx.recv().unwrap();
/// assert_eq!(linked.coroutine().id(), h.coroutine().id());
/// assert_eq!(linked.outcome(), &Outcome::Returned);
/// assert!(linked.successful());
/// ```
#[derive(Clone, Debug)]
pub struct Linked {
    coroutine: Coroutine,
    outcome: Outcome,
}

impl Linked {
    /// The coroutine that ended.
    pub fn coroutine(&self) -> &Coroutine {
        &self.coroutine
    }

    /// How it ended.
    pub fn outcome(&self) -> &Outcome {
        &self.outcome
    }

    /// Whether it returned or was killed (gevent's `successful()`), rather
    /// than panicked.
    pub fn successful(&self) -> bool {
        self.outcome.is_successful()
    }

    /// The outcome, by value.
    pub fn into_outcome(self) -> Outcome {
        self.outcome
    }
}

thread_local! {
    /// The coroutines whose rawlink callbacks this thread is running,
    /// innermost last (a callback may rawlink another finished coroutine,
    /// whose callback then runs at once, inside it).
    static IN_RAWLINK: RefCell<Vec<*const Header>> = const { RefCell::new(Vec::new()) };
}

/// Whether the calling thread is running one of `task`'s rawlink
/// callbacks (its coroutine has ended, though the task is not marked
/// complete until every link has run).
pub(crate) fn in_rawlink_of(task: &Header) -> bool {
    IN_RAWLINK.with(|running| running.borrow().iter().any(|&t| std::ptr::eq(t, task)))
}

/// Runs `f`, a rawlink callback of `task`, with `task` on [`IN_RAWLINK`];
/// it comes off again however `f` ends.
fn as_rawlink_of<R>(task: &Header, f: impl FnOnce() -> R) -> R {
    struct Leave;
    impl Drop for Leave {
        fn drop(&mut self) {
            IN_RAWLINK.with(|running| running.borrow_mut().pop());
        }
    }
    IN_RAWLINK.with(|running| running.borrow_mut().push(task));
    let _leave = Leave;
    f()
}

/// The result slot a link is called with, back in its type.
fn result_of<T: 'static>(slot: &dyn Any) -> Option<&thread::Result<T>> {
    let result = slot.downcast_ref::<Option<thread::Result<T>>>().and_then(Option::as_ref);
    debug_assert!(result.is_some(), "a link runs with the coroutine's result");
    result
}

/// Spawns a `link` callback on the hub of the coroutine that ended.
fn spawn_link<F>(task: &Header, linked: Linked, f: F)
where
    F: FnOnce(Linked) + Send + 'static,
{
    let spawned = crate::Builder::new()
        .name(format!("link of {}", task.display_name()))
        .spawn_on_hub(&task.hub, move || f(linked));
    if let Err(e) = spawned {
        log::error!(
            target: "verde",
            "cannot spawn a link of coroutine '{}' (id {}): {e}",
            task.display_name(),
            task.id
        );
    }
}

impl<T: 'static> JoinHandle<T> {
    /// Calls `f` with the coroutine's result when it ends: gevent's
    /// `rawlink`.
    ///
    /// `f` runs on the coroutine's hub once the coroutine has returned,
    /// panicked, been killed (even before it started) or failed to start,
    /// with its result borrowed, before any joiner wakes: by the time
    /// [`join`](Self::join) or [`wait_timeout`](Self::wait_timeout) returns,
    /// or [`is_finished`](Self::is_finished) is true elsewhere, every
    /// rawlink has run. Inside `f` the coroutine counts as finished, as in
    /// gevent (`is_finished` is true, `wait_timeout` returns at once and
    /// [`kill`](Self::kill) does nothing). Links run in the order they were
    /// added; a link added by a running link runs after the others.
    ///
    /// `f` **must not block**: it runs in the hub, outside any coroutine,
    /// like gevent's rawlinks. A [`sleep`](crate::sleep), a wait on a lock
    /// or a channel, a [`kill`](Self::kill) of a live coroutine there
    /// panics. Sending on an unbounded channel, putting into an unbounded
    /// queue, setting an [`Event`](crate::event::Event), spawning or
    /// [`kill_nowait`](Self::kill_nowait) are fine; use
    /// [`link`](Self::link) for anything that blocks.
    ///
    /// A panic in `f` is caught and logged (the `log` crate, target
    /// `verde`) with the coroutine's name; the other links still run.
    ///
    /// If the coroutine has already finished, `f` runs now, on the calling
    /// thread, before `rawlink` returns (gevent runs it soon after). The
    /// link still fires if this handle is dropped first: it belongs to the
    /// coroutine. A coroutine that never ends (one blocked when its hub's
    /// thread exits and that ignores the kill) never runs its links.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    ///
    /// let h = verde_runtime::spawn(|| 6 * 7);
    /// let seen = Arc::new(Mutex::new(None));
    /// let s = seen.clone();
    /// h.rawlink(move |result| *s.lock().unwrap() = Some(*result.as_ref().unwrap()));
    /// assert_eq!(h.join().unwrap(), 42);
    /// // The link ran before join returned.
    /// assert_eq!(*seen.lock().unwrap(), Some(42));
    /// ```
    pub fn rawlink<F>(&self, f: F) -> LinkId
    where
        F: FnOnce(&thread::Result<T>) + Send + 'static,
    {
        self.add_link(Box::new(move |task: &Header, slot: &dyn Any| {
            if let Some(result) = result_of::<T>(slot) {
                as_rawlink_of(task, || f(result));
            }
        }))
    }

    /// Runs `f` in a new coroutine when this one ends: gevent's `link`.
    ///
    /// When the coroutine ends (as for [`rawlink`](Self::rawlink)), a
    /// coroutine named `link of <name>` is spawned on its hub and calls `f`
    /// with a [`Linked`] telling which coroutine ended and how. `f` may
    /// block. If it panics, the failure is logged like any unjoined
    /// coroutine's. If the coroutine has already finished, the callback's
    /// coroutine is spawned at once (it runs when its hub gets to it).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use verde_runtime::queue::Queue;
    ///
    /// let h = verde_runtime::spawn(|| -> u8 { panic!("boom") });
    /// let q = Arc::new(Queue::new());
    /// let q2 = q.clone();
    /// h.link(move |linked| {
    ///     verde_runtime::sleep(std::time::Duration::from_millis(1)); // may block
    ///     q2.put(linked);
    /// });
    /// let linked = q.get();
    /// assert!(!linked.successful());
    /// assert!(h.join().is_err());
    /// ```
    pub fn link<F>(&self, f: F) -> LinkId
    where
        F: FnOnce(Linked) + Send + 'static,
    {
        self.link_when(|_| true, f)
    }

    /// Like [`link`](Self::link), only if the coroutine returned or was
    /// killed: gevent's `link_value` (a kill counts as success in gevent).
    ///
    /// ```
    /// use verde_runtime::sync::mpsc;
    ///
    /// let (tx, rx) = mpsc::channel();
    /// let ok = verde_runtime::spawn(|| 1);
    /// let failed = verde_runtime::spawn(|| -> i32 { panic!("no") });
    /// for h in [&ok, &failed] {
    ///     let tx = tx.clone();
    ///     h.link_value(move |linked| tx.send(linked.coroutine().id()).unwrap());
    /// }
    /// drop(tx);
    /// let fired: Vec<_> = rx.iter().collect();
    /// assert_eq!(fired, [ok.coroutine().id()]);
    /// ```
    pub fn link_value<F>(&self, f: F) -> LinkId
    where
        F: FnOnce(Linked) + Send + 'static,
    {
        self.link_when(Outcome::is_successful, f)
    }

    /// Like [`link`](Self::link), only if the coroutine panicked (or an
    /// uncaught [`Timeout`](crate::Timeout) ended it, or it failed to
    /// start): gevent's `link_exception`. A killed coroutine does not count.
    ///
    /// ```
    /// use verde_runtime::{sync::mpsc, Outcome};
    ///
    /// let (tx, rx) = mpsc::channel();
    /// let h = verde_runtime::spawn(|| -> i32 { panic!("no") });
    /// h.link_exception(move |linked| tx.send(linked.into_outcome()).unwrap());
    /// assert_eq!(rx.recv().unwrap(), Outcome::Panicked("no".to_string()));
    /// ```
    pub fn link_exception<F>(&self, f: F) -> LinkId
    where
        F: FnOnce(Linked) + Send + 'static,
    {
        self.link_when(|o| !o.is_successful(), f)
    }

    fn link_when<F>(&self, when: fn(&Outcome) -> bool, f: F) -> LinkId
    where
        F: FnOnce(Linked) + Send + 'static,
    {
        self.add_link(Box::new(move |task: &Header, slot: &dyn Any| {
            let Some(result) = result_of::<T>(slot) else { return };
            let outcome = Outcome::of(result);
            if when(&outcome) {
                let linked = Linked { coroutine: Coroutine::new(TaskRef::from_header(task)), outcome };
                spawn_link(task, linked, f);
            }
        }))
    }

    fn add_link(&self, link: LinkFn) -> LinkId {
        let id = next_link_id();
        // SAFETY: `self` is the task's join handle, borrowed for the call.
        unsafe { Header::add_link(self.task(), id, link) };
        LinkId(id)
    }
}

impl<T> JoinHandle<T> {
    /// Removes a link that has not run yet (gevent's `unlink`); returns
    /// whether it did. A link that already ran, or is running, or belongs
    /// to another coroutine, is not removed.
    ///
    /// ```
    /// let h = verde_runtime::spawn(|| ());
    /// let id = h.rawlink(|_| unreachable!("unlinked"));
    /// assert!(h.unlink(id));
    /// assert!(!h.unlink(id));
    /// h.join().unwrap();
    /// ```
    pub fn unlink(&self, id: LinkId) -> bool {
        self.task().remove_link(id.0)
    }

    /// Removes every link that has not run yet (gevent's `unlink_all`).
    ///
    /// ```
    /// let h = verde_runtime::spawn(|| ());
    /// h.rawlink(|_| unreachable!("unlinked"));
    /// h.link(|_| unreachable!("unlinked"));
    /// assert!(h.has_links());
    /// h.unlink_all();
    /// assert!(!h.has_links());
    /// h.join().unwrap();
    /// ```
    pub fn unlink_all(&self) {
        self.task().remove_all_links();
    }

    /// Whether the coroutine has links that have not run yet (gevent's
    /// `has_links`; unlike gevent's, joiners waiting in
    /// [`join`](JoinHandle::join) are not links and do not count).
    pub fn has_links(&self) -> bool {
        self.task().has_links()
    }
}
