//! One-shot "tell me when you are ready" callbacks, kept by [`Event`],
//! [`AsyncResult`] and the semaphores for [`iwait`](crate::iwait) and
//! [`wait`](crate::wait) (gevent's `rawlink`, the protocol its `iwait` is
//! built on), and by [`Event`] for its public
//! [`rawlink`](super::Event::rawlink).
//!
//! The list lives under its owner's mutex. The owner takes the callbacks
//! out while it holds the mutex and calls them after releasing it, so a
//! callback may use the object it was registered on.
//!
//! [`Event`]: super::Event
//! [`AsyncResult`]: super::AsyncResult

/// A callback to run once the owner is ready.
pub(crate) type Notify = Box<dyn FnOnce() + Send>;

/// See the [module docs](self). `N` is the callback type: a [`Notify`],
/// or one that takes its owner (an [`Event`](super::Event)'s).
pub(crate) struct ReadyLinks<N = Notify> {
    links: Vec<(u64, N)>,
}

impl<N> ReadyLinks<N> {
    pub const fn new() -> ReadyLinks<N> {
        ReadyLinks { links: Vec::new() }
    }

    /// Adds `notify`; returns its id for [`remove`](Self::remove). Ids come
    /// from the process-wide counter of [`LinkId`](crate::LinkId)s, so an
    /// id never matches another object's link.
    pub fn add(&mut self, notify: N) -> u64 {
        let id = crate::link::next_link_id();
        self.links.push((id, notify));
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

    /// How many callbacks wait.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.links.len()
    }
}

/// Calls the callbacks [`ReadyLinks::take`] returned.
pub(crate) fn notify_all(links: Vec<Notify>) {
    for notify in links {
        notify();
    }
}
