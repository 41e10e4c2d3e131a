//! The server's live connections, so shutdown can close the idle ones.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use verde_runtime::JoinHandle;

/// One connection's entry.
struct Entry {
    handle: JoinHandle<()>,
    idle: Arc<AtomicBool>,
}

/// Connections of one server, across all hubs.
#[derive(Default)]
pub(crate) struct Registry {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    live: HashMap<u64, Entry>,
    /// Connections that ended before the acceptor recorded them.
    ended_early: Vec<u64>,
}

impl Registry {
    /// Reserves an id and the idle flag for a new connection.
    pub fn reserve(&self) -> (u64, Arc<AtomicBool>) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.next_id += 1;
        (inner.next_id, Arc::new(AtomicBool::new(false)))
    }

    /// Records the coroutine serving connection `id`.
    pub fn insert(&self, id: u64, handle: JoinHandle<()>, idle: Arc<AtomicBool>) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = inner.ended_early.iter().position(|&e| e == id) {
            inner.ended_early.swap_remove(i);
            return;
        }
        inner.live.insert(id, Entry { handle, idle });
    }

    /// Forgets `id`, reserved for a connection whose coroutine was never
    /// created (its `remove` has run, and no `insert` will).
    pub fn unreserve(&self, id: u64) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.ended_early.retain(|&e| e != id);
    }

    /// Forgets connection `id`, which has ended.
    pub fn remove(&self, id: u64) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.live.remove(&id).is_none() {
            inner.ended_early.push(id);
        }
    }

    /// Kills every connection waiting for a new request.
    pub fn close_idle(&self) {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        for e in inner.live.values() {
            if e.idle.load(Ordering::Acquire) {
                e.handle.kill_nowait();
            }
        }
    }

    /// Kills every connection.
    pub fn close_all(&self) {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        for e in inner.live.values() {
            e.handle.kill_nowait();
        }
    }

    /// Connections still open.
    pub fn len(&self) -> usize {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).live.len()
    }
}
