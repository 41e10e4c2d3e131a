//! One-shot "tell me when you are ready" callbacks, kept by [`Event`],
//! [`AsyncResult`] and the semaphores for [`iwait`](crate::iwait) and
//! [`wait`](crate::wait) (gevent's `rawlink`, the protocol its `iwait` is
//! built on), and for their public `rawlink`s ([`Event::rawlink`],
//! [`AsyncResult::rawlink`], [`Semaphore::rawlink`],
//! [`BoundedSemaphore::rawlink`]).
//!
//! The list lives under its owner's mutex. The owner takes the callbacks
//! out while it holds the mutex and calls them after releasing it, so a
//! callback may use the object it was registered on.
//!
//! [`Event`]: super::Event
//! [`Event::rawlink`]: super::Event::rawlink
//! [`AsyncResult`]: super::AsyncResult
//! [`AsyncResult::rawlink`]: super::AsyncResult::rawlink
//! [`Semaphore::rawlink`]: crate::lock::Semaphore::rawlink
//! [`BoundedSemaphore::rawlink`]: crate::lock::BoundedSemaphore::rawlink

use std::any::Any;
use std::collections::VecDeque;

/// A callback to run once the owner is ready.
pub(crate) type Notify = Box<dyn FnOnce() + Send>;

/// A callback that is passed its owner, of type `O`: what a public
/// `rawlink` registers, and what an [`iwait`](crate::iwait) [`Notify`] is
/// wrapped into (ignoring the owner) to share the list.
pub(crate) type RawLink<O> = Box<dyn FnOnce(&O) + Send>;

/// See the [module docs](self). `N` is the callback type: a [`Notify`],
/// or a [`RawLink`].
pub(crate) struct ReadyLinks<N> {
    links: VecDeque<(u64, N)>,
}

impl<N> ReadyLinks<N> {
    pub const fn new() -> ReadyLinks<N> {
        ReadyLinks { links: VecDeque::new() }
    }

    /// Adds `notify`; returns its id for [`remove`](Self::remove). Ids come
    /// from the process-wide counter of [`LinkId`](crate::LinkId)s, so an
    /// id never matches another object's link.
    pub fn add(&mut self, notify: N) -> u64 {
        let id = crate::link::next_link_id();
        self.links.push_back((id, notify));
        id
    }

    /// Removes the callback `id` if it has not been taken yet; returns
    /// whether it did.
    pub fn remove(&mut self, id: u64) -> bool {
        let before = self.links.len();
        self.links.retain(|(i, _)| *i != id);
        self.links.len() != before
    }

    /// Takes every callback, in the order they were added, to be called
    /// once the owner's mutex is released.
    pub fn take(&mut self) -> Vec<N> {
        std::mem::take(&mut self.links).into_iter().map(|(_, n)| n).collect()
    }

    /// Takes the oldest callback, to be called once the owner's mutex is
    /// released.
    pub fn take_first(&mut self) -> Option<N> {
        self.links.pop_front().map(|(_, n)| n)
    }

    /// How many callbacks wait.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.links.len()
    }
}

/// What a caller of [`call`] resumes once it has called every callback: the
/// first interrupt (a kill or a [`Timeout`](crate::Timeout)) a callback let
/// in by blocking.
pub(crate) type Interrupted = Option<Box<dyn Any + Send>>;

/// Calls one `rawlink` callback; `owner` names its owner for the report
/// ("an Event"). A panic is caught and reported, as gevent's hub reports an
/// error in a callback, so that the other callbacks still run; an
/// interrupt is kept in `interrupted` for the caller to resume once they
/// have all run.
pub(crate) fn call(owner: &str, link: impl FnOnce(), interrupted: &mut Interrupted) {
    if let Err(payload) = crate::unwinding::catch(link) {
        if crate::interrupt::is_interrupt(&*payload) {
            interrupted.get_or_insert(payload);
        } else {
            crate::failure::report_rawlink_panic(owner, &*payload);
        }
    }
}

/// Calls `links` taken from the list of `owner` (named `name`, as for
/// [`call`]), in order
/// (see [`call`]), then resumes an interrupt one of them let in.
pub(crate) fn run_all<O>(name: &str, owner: &O, links: Vec<RawLink<O>>) {
    let mut interrupted = None;
    for link in links {
        call(name, || link(owner), &mut interrupted);
    }
    resume(interrupted);
}

/// Resumes the interrupt [`call`] kept, if any.
pub(crate) fn resume(interrupted: Interrupted) {
    if let Some(payload) = interrupted {
        crate::unwinding::resume(payload);
    }
}
