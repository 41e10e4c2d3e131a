//! [`AsyncResult`]: gevent's `AsyncResult`.

use std::error::Error;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::ready_links::{self, link_id, Notify, Owner, RawLink, ReadyLinks};
use crate::link::LinkId;
use crate::park;
use crate::sync::state_mutex::{lock, StateMutex};
use crate::sync::wait_list::{wake_all, WaitList, WaitSite, Woke};

/// A value or an error that coroutines wait for (gevent's `AsyncResult`).
///
/// One party calls [`set`](Self::set) or [`set_error`](Self::set_error);
/// any number of waiters [`get`](Self::get) it, each receiving a **clone**
/// (so `T` and `E` are `Clone`; wrap a value in an `Arc` to share it
/// instead). As in gevent, setting again replaces the outcome and wakes the
/// waiters again.
///
/// `E` defaults to `Arc<dyn Error + Send + Sync>`, gevent's "any exception".
/// Share an `AsyncResult` through an `Arc`; it works across hubs and
/// threads.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use verde_runtime::event::{AsyncResult, GetError};
///
/// let result: Arc<AsyncResult<u32, String>> = Arc::new(AsyncResult::new());
/// assert_eq!(result.get(Some(Duration::from_millis(5))), Err(GetError::Timeout));
/// let r = result.clone();
/// let setter = verde_runtime::spawn(move || r.set(42));
/// assert_eq!(result.get(None), Ok(42));
/// assert!(result.ready() && result.successful());
/// setter.join().unwrap();
/// result.set_error("failed".to_string());
/// assert_eq!(result.get(None), Err(GetError::Failed("failed".to_string())));
/// ```
pub struct AsyncResult<T, E = Arc<dyn Error + Send + Sync>> {
    ready: AtomicBool,
    state: StateMutex<State<T, E>>,
}

struct State<T, E> {
    outcome: Option<Arc<Result<T, E>>>,
    waiters: WaitList<()>,
    /// Callbacks of [`AsyncResult::rawlink`], [`iwait`](crate::iwait) and
    /// [`wait`](crate::wait).
    links: ReadyLinks<RawLink<AsyncResult<T, E>>>,
}

/// Why [`AsyncResult::get`] returned no value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GetError<E> {
    /// The result was set to this error.
    Failed(E),
    /// Nothing was set before the timeout (gevent raises `Timeout`).
    Timeout,
}

impl<E: fmt::Display> fmt::Display for GetError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GetError::Failed(e) => write!(f, "the result is an error: {e}"),
            GetError::Timeout => f.write_str("timed out waiting for the result"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> Error for GetError<E> {}

impl<T, E> AsyncResult<T, E> {
    /// An unset result.
    pub const fn new() -> Self {
        AsyncResult {
            ready: AtomicBool::new(false),
            state: StateMutex::new(State { outcome: None, waiters: WaitList::new(), links: ReadyLinks::new() }),
        }
    }

    /// Sets the value and wakes every waiter, then runs the
    /// [`rawlink`](Self::rawlink) callbacks waiting for it.
    pub fn set(&self, value: T) {
        self.store(Ok(value));
    }

    /// Sets an error (gevent's `set_exception`) and wakes every waiter,
    /// then runs the [`rawlink`](Self::rawlink) callbacks waiting for it.
    pub fn set_error(&self, error: E) {
        self.store(Err(error));
    }

    /// Whether a value or an error has been set.
    pub fn ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Whether a value (not an error) has been set.
    pub fn successful(&self) -> bool {
        self.ready() && lock(&self.state).outcome.as_deref().is_some_and(Result::is_ok)
    }

    /// Parks until the result is set, for at most `timeout` (`None`: no
    /// limit); returns whether it is set.
    pub fn wait(&self, timeout: Option<Duration>) -> bool {
        self.outcome(timeout).is_some()
    }

    fn store(&self, outcome: Result<T, E>) {
        let mut state = lock(&self.state);
        let previous = state.outcome.replace(Arc::new(outcome));
        self.ready.store(true, Ordering::Release);
        let wakers = state.waiters.notify_all(|_| {});
        let links = state.links.take();
        drop(state);
        wake_all(wakers);
        drop(previous);
        ready_links::run_all(self, links);
    }

    /// Calls `f` with this result once a value or an error is set: gevent's
    /// `AsyncResult.rawlink`. Returns an id for [`unlink`](Self::unlink).
    ///
    /// A callback runs once: the next [`set`](Self::set) or
    /// [`set_error`](Self::set_error) takes every callback added so far and
    /// runs them in the order they were added, inside the setter, on its
    /// thread (coroutine, plain thread or hub callback), after it has woken
    /// the waiters and before it returns; a waiter on the same hub as the
    /// setter runs after the callbacks. Setting again does not run them
    /// again. If the result is set already, `f` runs now, on the calling
    /// thread, before `rawlink` returns. gevent instead queues the
    /// callbacks to run in its hub soon after (its `run_callback`); here
    /// nothing waits for the hub to get round to it.
    ///
    /// `f` **must not block**, and a panic in it is logged while the other
    /// callbacks still run, exactly as for
    /// [`Event::rawlink`](super::Event::rawlink).
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use verde_runtime::event::AsyncResult;
    ///
    /// let result: AsyncResult<u32, String> = AsyncResult::new();
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let s = seen.clone();
    /// result.rawlink(move |r| s.lock().unwrap().push(r.get_nowait()));
    /// assert!(seen.lock().unwrap().is_empty());
    /// result.set(7);
    /// result.set(8); // the callback has run: it does not run again
    /// assert_eq!(*seen.lock().unwrap(), [Ok(7)]);
    /// ```
    pub fn rawlink<F>(&self, f: F) -> LinkId
    where
        F: FnOnce(&AsyncResult<T, E>) + Send + 'static,
    {
        link_id(self.link(Box::new(f)))
    }

    /// Runs `link` at once if the result is set (returning `None`), else
    /// adds it for [`set`](Self::set) and returns its id.
    fn link(&self, link: RawLink<Self>) -> Option<u64> {
        let mut state = lock(&self.state);
        if state.outcome.is_some() {
            drop(state);
            ready_links::run_all(self, vec![link]);
            return None;
        }
        Some(state.links.add(link))
    }

    /// Removes a [`rawlink`](Self::rawlink) callback that has not run yet
    /// (gevent's `AsyncResult.unlink`); returns whether it did. A callback
    /// that ran, is running, or belongs to another object is not removed,
    /// nor one a `set` has taken to run: a setter takes them all at once,
    /// so a callback cannot unlink a later one (gevent's can).
    ///
    /// ```
    /// use verde_runtime::event::AsyncResult;
    ///
    /// let result: AsyncResult<u32> = AsyncResult::new();
    /// let id = result.rawlink(|_| unreachable!("unlinked"));
    /// assert!(result.unlink(id));
    /// assert!(!result.unlink(id));
    /// result.set(1);
    /// ```
    pub fn unlink(&self, id: LinkId) -> bool {
        lock(&self.state).links.remove(id.0)
    }

    /// The outcome, waiting for it for at most `timeout`.
    fn outcome(&self, timeout: Option<Duration>) -> Option<Arc<Result<T, E>>> {
        let state = lock(&self.state);
        if let Some(outcome) = &state.outcome {
            return Some(outcome.clone());
        }
        let site = WaitSite { lock: &self.state, list: waiters::<T, E>, on_exit: |_: &mut State<T, E>, _| None };
        match site.wait(state, None, timeout.map(park::deadline_after), || {}) {
            Woke::Notified(_) | Woke::TimedOut(_) => lock(&self.state).outcome.clone(),
        }
    }
}

impl<T, E> Owner for AsyncResult<T, E> {
    const NAME: &'static str = "an AsyncResult";
}

impl<T, E> crate::wait::sealed::Linkable for AsyncResult<T, E> {
    /// Calls `notify` once a value or an error is set: at once (on the
    /// calling thread) if one is, else from the next `set` or `set_error`,
    /// on the setter's thread.
    fn link_ready(&self, notify: Notify) -> Option<u64> {
        self.link(Box::new(move |_: &AsyncResult<T, E>| notify()))
    }

    fn unlink_ready(&self, id: u64) {
        lock(&self.state).links.remove(id);
    }
}

impl<T, E> crate::Waitable for AsyncResult<T, E> {}

impl<T: Clone, E: Clone> AsyncResult<T, E> {
    /// A clone of the value, parking until the result is set, for at most
    /// `timeout` (`None`: no limit).
    ///
    /// # Errors
    ///
    /// [`GetError::Failed`] with a clone of the error if an error was set;
    /// [`GetError::Timeout`] if nothing was set in time.
    pub fn get(&self, timeout: Option<Duration>) -> Result<T, GetError<E>> {
        clone_outcome(self.outcome(timeout))
    }

    /// Like [`get`](Self::get) without waiting.
    ///
    /// # Errors
    ///
    /// As for `get`; [`GetError::Timeout`] if nothing is set yet.
    pub fn get_nowait(&self) -> Result<T, GetError<E>> {
        let outcome = lock(&self.state).outcome.clone();
        clone_outcome(outcome)
    }

    /// A clone of the value, if a value (not an error) is set.
    pub fn value(&self) -> Option<T> {
        self.get_nowait().ok()
    }

    /// A clone of the error, if an error is set (gevent's `exception`).
    pub fn error(&self) -> Option<E> {
        match self.get_nowait() {
            Err(GetError::Failed(e)) => Some(e),
            _ => None,
        }
    }
}

/// Clones outside the lock: `T::clone` is user code.
fn clone_outcome<T: Clone, E: Clone>(outcome: Option<Arc<Result<T, E>>>) -> Result<T, GetError<E>> {
    match outcome.as_deref() {
        Some(Ok(v)) => Ok(v.clone()),
        Some(Err(e)) => Err(GetError::Failed(e.clone())),
        None => Err(GetError::Timeout),
    }
}

fn waiters<T, E>(state: &mut State<T, E>) -> &mut WaitList<()> {
    &mut state.waiters
}

impl<T, E> Default for AsyncResult<T, E> {
    fn default() -> Self {
        AsyncResult::new()
    }
}

impl<T, E> fmt::Debug for AsyncResult<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let successful = lock(&self.state).outcome.as_deref().map(Result::is_ok);
        f.debug_struct("AsyncResult").field("ready", &successful.is_some()).field("successful", &successful).finish()
    }
}
