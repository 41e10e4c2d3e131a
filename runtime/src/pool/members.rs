//! What groups and pools share: the member set, the slot limit, and the
//! operations on all members.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use super::PoolFull;
use crate::join::{JoinHandle, TaskHandle};
use crate::lock::permits::Permits;
use crate::park;
use crate::sync::state_mutex::{lock, StateMutex};
use crate::sync::wait_list::{wake_all, WaitList, WaitSite, Woke};

crate::coroutine_local! {
    /// The [`Members::id`] of the set the running coroutine is a member
    /// of; 0 for none.
    static MEMBER_OF: std::cell::Cell<usize> = std::cell::Cell::new(0);
}

/// The shared state of a group or pool.
pub(super) struct Members {
    /// `Some` for a pool: its free slots.
    slots: Option<Permits<()>>,
    size: Option<usize>,
    state: StateMutex<State>,
}

struct State {
    next_key: u64,
    /// Members by key; `None` until the spawner has attached the handle.
    tasks: HashMap<u64, Option<TaskHandle>>,
    /// Waiting in `join` for the set to become empty.
    joiners: WaitList<()>,
}

/// A member's membership, owned by its coroutine's closure: it ends when
/// the closure finishes, unwinds, or is dropped without running (a kill
/// before start, a failed spawn).
struct Membership {
    members: Arc<Members>,
    key: u64,
}

impl Drop for Membership {
    fn drop(&mut self) {
        self.members.leave(self.key);
    }
}

impl Members {
    pub fn new(size: Option<usize>) -> Arc<Members> {
        Arc::new(Members {
            slots: size.map(Permits::new),
            size,
            state: StateMutex::new(State { next_key: 0, tasks: HashMap::new(), joiners: WaitList::new() }),
        })
    }

    pub fn size(&self) -> Option<usize> {
        self.size
    }

    pub fn len(&self) -> usize {
        lock(&self.state).tasks.len()
    }

    /// Waits until a slot is free (always at once for a group); returns
    /// the free slots then.
    pub fn wait_available(&self, deadline: Option<Instant>) -> usize {
        self.slots.as_ref().map_or(usize::MAX, |slots| slots.wait(deadline))
    }

    pub fn free_count(&self) -> usize {
        self.slots.as_ref().map_or(usize::MAX, Permits::available)
    }

    /// Spawns `f` as a member, first taking a slot (parking for one if
    /// `blocking`, FIFO).
    pub fn spawn<F, T>(self: &Arc<Self>, f: F, blocking: bool) -> Result<JoinHandle<T>, PoolFull>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        if let Some(slots) = &self.slots {
            if !slots.acquire(&(), blocking, None) {
                return Err(PoolFull);
            }
        }
        Ok(self.spawn_member(f))
    }

    /// Spawns `f` as a member, its slot (if this is a pool) already taken.
    fn spawn_member<F, T>(self: &Arc<Self>, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let key = {
            let mut state = lock(&self.state);
            let key = state.next_key;
            state.next_key += 1;
            state.tasks.insert(key, None);
            key
        };
        let membership = Membership { members: self.clone(), key };
        let set = self.id();
        let handle = crate::spawn(move || {
            let _membership = membership;
            MEMBER_OF.set(set);
            f()
        });
        if let Some(slot) = lock(&self.state).tasks.get_mut(&key) {
            *slot = Some(handle.task_handle());
        }
        handle
    }

    /// Spawns `f` as a member without parking the caller: at once if a
    /// slot is free, otherwise from a helper coroutine that waits for one.
    pub fn spawn_async<F, T>(self: &Arc<Self>, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        if self.slots.as_ref().is_none_or(|slots| slots.acquire(&(), false, None)) {
            return self.spawn_member(f);
        }
        let members = self.clone();
        crate::spawn(move || members.run_in_member(f))
    }

    /// Runs `f` in a new member, parking for a slot and then for its
    /// result; re-raises its panic.
    pub fn run_in_member<F, T>(self: &Arc<Self>, f: F) -> T
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let member = self.spawn(f, true).expect("a blocking spawn gets a slot");
        member.join().unwrap_or_else(|payload| crate::unwinding::resume(payload))
    }

    /// This set's identity for [`MEMBER_OF`]: its address, stable while a
    /// member (which holds an `Arc` to it) runs.
    fn id(&self) -> usize {
        self as *const Members as usize
    }

    /// Whether the calling coroutine is a member of this set.
    pub fn is_current_member(&self) -> bool {
        MEMBER_OF.get() == self.id()
    }

    /// Ends a membership: the member leaves the set and frees its slot, in
    /// one critical section, so that whoever sees the set without it also
    /// sees its slot free (a `join` is followed by a full `free_count`), and
    /// a spawner handed the slot can only join the set after it left.
    fn leave(&self, key: u64) {
        let mut state = lock(&self.state);
        state.tasks.remove(&key);
        if let Some(slots) = &self.slots {
            slots.release(&(), None);
        }
        let wakers = if state.tasks.is_empty() { state.joiners.notify_all(|_| {}) } else { Vec::new() };
        drop(state);
        wake_all(wakers);
    }

    /// Waits until the set is empty or `deadline` passes; returns whether
    /// it became empty.
    pub fn join(&self, deadline: Option<Instant>) -> bool {
        let state = lock(&self.state);
        if state.tasks.is_empty() {
            return true;
        }
        let site =
            WaitSite { lock: &self.state, list: |s: &mut State| &mut s.joiners, on_exit: |_: &mut State, _| None };
        match site.wait(state, None, deadline, || {}) {
            Woke::Notified(_) => true,
            Woke::TimedOut(_) => lock(&self.state).tasks.is_empty(),
        }
    }

    /// Kills every member and waits until they have finished. A member
    /// calling this is killed last, after the others are gone.
    pub fn kill(&self) {
        let handles: Vec<TaskHandle> = lock(&self.state).tasks.values().flatten().cloned().collect();
        let (me, others): (Vec<_>, Vec<_>) = handles.into_iter().partition(TaskHandle::is_current);
        for h in &others {
            h.kill_nowait();
        }
        for h in &others {
            h.wait_until(None);
        }
        if let Some(me) = me.first() {
            me.kill_nowait();
            park::yield_now();
        }
    }
}
