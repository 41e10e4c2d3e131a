//! One-shot "tell me when you are ready" callbacks, kept by [`Event`],
//! [`AsyncResult`] and the semaphores for [`iwait`](crate::iwait) and
//! [`wait`](crate::wait) (gevent's `rawlink`, the protocol its `iwait` is
//! built on).
//!
//! The list lives under its owner's mutex. The owner takes the callbacks
//! out while it holds the mutex and calls them after releasing it, so a
//! callback may use the object it was registered on.
//!
//! [`Event`]: super::Event
//! [`AsyncResult`]: super::AsyncResult

/// A callback to run once the owner is ready.
pub(crate) type Notify = Box<dyn FnOnce() + Send>;

/// See the [module docs](self).
#[derive(Default)]
pub(crate) struct ReadyLinks {
    next_id: u64,
    links: Vec<(u64, Notify)>,
}

impl ReadyLinks {
    pub const fn new() -> ReadyLinks {
        ReadyLinks { next_id: 0, links: Vec::new() }
    }

    /// Adds `notify`; returns its id for [`remove`](Self::remove).
    pub fn add(&mut self, notify: Notify) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.links.push((id, notify));
        id
    }

    /// Removes the callback `id` if it has not been taken yet.
    pub fn remove(&mut self, id: u64) {
        self.links.retain(|(i, _)| *i != id);
    }

    /// Takes every callback, in the order they were added, to be called
    /// once the owner's mutex is released.
    pub fn take(&mut self) -> Vec<Notify> {
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
