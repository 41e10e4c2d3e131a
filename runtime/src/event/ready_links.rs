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

use std::collections::VecDeque;

use crate::interrupt::{self, Interrupted};
use crate::link::LinkId;

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

/// What owns a list of [`RawLink`]s: the object its callbacks are passed.
pub(crate) trait Owner {
    /// The owner for the report of a panicking callback, with its article
    /// ("an Event").
    const NAME: &'static str;
}

/// The [`LinkId`] for a callback a `rawlink` added (`Some(id)`), or a fresh
/// one, which matches nothing, for a callback that ran at once (`None`).
pub(crate) fn link_id(added: Option<u64>) -> LinkId {
    LinkId(added.unwrap_or_else(crate::link::next_link_id))
}

/// Calls one `rawlink` callback of `O`: a panic is reported, as gevent's
/// hub reports an error in a callback, and an interrupt kept in
/// `interrupted` (see [`interrupt::call_keeping_interrupt`]).
pub(crate) fn call<O: Owner>(link: impl FnOnce(), interrupted: &mut Interrupted) {
    interrupt::call_keeping_interrupt(link, interrupted, |payload| {
        crate::failure::report_rawlink_panic(O::NAME, payload)
    });
}

/// Calls `links` taken from `owner`'s list, in order (see [`call`]), then
/// resumes an interrupt one of them let in.
pub(crate) fn run_all<O: Owner>(owner: &O, links: Vec<RawLink<O>>) {
    let mut interrupted = None;
    for link in links {
        call::<O>(|| link(owner), &mut interrupted);
    }
    interrupt::resume_kept(interrupted);
}
