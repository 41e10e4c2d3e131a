//! Where a server's handlers run: a [`Group`] (no limit) or a [`Pool`].

use std::io;
use std::time::Duration;

use verde_runtime::pool::{Group, Pool};
use verde_runtime::{Builder, JoinHandle};

/// The coroutines a server runs its handlers in.
#[derive(Clone)]
pub(crate) enum Handlers {
    Group(Group),
    Pool(Pool),
}

impl Handlers {
    /// Spawns a handler; parks while a pool is full. Fails if the
    /// coroutine cannot be created (`f` is dropped).
    pub(crate) fn spawn(&self, f: impl FnOnce() + Send + 'static) -> io::Result<JoinHandle<()>> {
        match self {
            Handlers::Group(g) => g.spawn_with(Builder::new(), f),
            Handlers::Pool(p) => p.spawn_with(Builder::new(), f),
        }
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            Handlers::Group(g) => g.len(),
            Handlers::Pool(p) => p.len(),
        }
    }

    pub(crate) fn join_timeout(&self, timeout: Duration) -> bool {
        match self {
            Handlers::Group(g) => g.join_timeout(timeout),
            Handlers::Pool(p) => p.join_timeout(timeout),
        }
    }

    pub(crate) fn kill(&self) {
        match self {
            Handlers::Group(g) => g.kill(),
            Handlers::Pool(p) => p.kill(),
        }
    }

    /// Whether the calling coroutine is one of the handlers.
    pub(crate) fn includes_caller(&self) -> bool {
        let me = verde_runtime::current().id();
        let members = match self {
            Handlers::Group(g) => g.coroutines(),
            Handlers::Pool(p) => p.coroutines(),
        };
        members.iter().any(|c| c.id() == me)
    }
}
