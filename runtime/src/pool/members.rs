//! What groups and pools share: the member set, the slot limit, and the
//! operations on all members.
//!
//! A member is either spawned through the set (its closure owns a
//! [`Membership`] that ends it) or added with `add` (a rawlink on its
//! coroutine ends it, as gevent's `Group.add` rawlinks `_discard`). Either
//! way, ending a membership is idempotent: [`Members::leave`] removes the
//! member and frees its slot only if it is still there, so a `discard`
//! racing the member's end, or a member discarded and added again, frees
//! exactly one slot per membership.

use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::time::Instant;

use super::PoolFull;
use crate::current::Coroutine;
use crate::hub;
use crate::join::{JoinHandle, TaskHandle};
use crate::link::LinkId;
use crate::lock::permits::Permits;
use crate::park;
use crate::sync::state_mutex::{lock, StateMutex};
use crate::sync::wait_list::{wake_all, WaitList, WaitSite, Woke};

crate::coroutine_local! {
    /// The [`Members::id`] of the set that spawned the running coroutine
    /// (0 for none), and its key there: it is a member while the key is.
    static MEMBER_OF: std::cell::Cell<(usize, u64)> = std::cell::Cell::new((0, 0));
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
    /// Members by key.
    tasks: HashMap<u64, Member>,
    /// The keys of the members whose handle is known, by coroutine id.
    by_id: HashMap<u64, u64>,
    /// Waiting in `join` for the set to become empty.
    joiners: WaitList<()>,
}

/// One member of the set.
#[derive(Default)]
struct Member {
    /// `None` until the spawner has attached the handle.
    task: Option<TaskHandle>,
    /// The rawlink that ends an added member's membership, once `add` has
    /// recorded it.
    link: Option<LinkId>,
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
        drop(self.members.leave(self.key));
    }
}

impl Members {
    pub fn new(size: Option<usize>) -> Arc<Members> {
        Arc::new(Members {
            slots: size.map(Permits::new),
            size,
            state: StateMutex::new(State {
                next_key: 0,
                tasks: HashMap::new(),
                by_id: HashMap::new(),
                joiners: WaitList::new(),
            }),
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

    /// Spawns `f` as a member made by `builder`, first taking a slot
    /// (parking for one, FIFO). If the coroutine cannot be created, the
    /// slot is given back and `f` is dropped.
    pub fn spawn_with<F, T>(self: &Arc<Self>, builder: crate::Builder, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        if let Some(slots) = &self.slots {
            slots.acquire(&(), true, None);
        }
        self.build_member(builder, f)
    }

    /// Spawns `f` as a member, its slot (if this is a pool) already taken.
    ///
    /// # Panics
    ///
    /// If the coroutine cannot be created, as [`spawn`](crate::spawn).
    fn spawn_member<F, T>(self: &Arc<Self>, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.build_member(crate::Builder::new(), f).unwrap_or_else(|e| panic!("failed to spawn coroutine: {e}"))
    }

    /// Spawns `f` as a member made by `builder`, its slot (if this is a
    /// pool) already taken. On failure the dropped closure's `Membership`
    /// takes the member out again and gives its slot back.
    fn build_member<F, T>(self: &Arc<Self>, builder: crate::Builder, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let key = {
            let mut state = lock(&self.state);
            let key = state.next_key;
            state.next_key += 1;
            state.tasks.insert(key, Member::default());
            key
        };
        let membership = Membership { members: self.clone(), key };
        let set = self.id();
        let handle = builder.spawn(move || {
            let _membership = membership;
            MEMBER_OF.set((set, key));
            f()
        })?;
        let task = handle.task_handle();
        let mut state = lock(&self.state);
        if let Some(member) = state.tasks.get_mut(&key) {
            let id = task.id();
            member.task = Some(task);
            state.by_id.insert(id, key);
        }
        drop(state);
        Ok(handle)
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

    /// Makes the coroutine of `handle` a member, first taking a slot
    /// (parking for one until `deadline` if `blocking`, FIFO). Returns
    /// `Ok(false)`, without waiting, if it is a member already or has
    /// finished.
    pub fn add<T: 'static>(
        self: &Arc<Self>,
        handle: &JoinHandle<T>,
        blocking: bool,
        deadline: Option<Instant>,
    ) -> Result<bool, PoolFull> {
        if self.contains(handle) || handle.is_finished() {
            return Ok(false);
        }
        if let Some(slots) = &self.slots {
            if !slots.acquire(&(), blocking, deadline) {
                return Err(PoolFull);
            }
        }
        let task = handle.task_handle();
        let id = task.id();
        let key = {
            let mut state = lock(&self.state);
            if state.by_id.contains_key(&id) {
                // Added by someone else while this call waited for a slot.
                if let Some(slots) = &self.slots {
                    slots.release(&(), None);
                }
                return Ok(false);
            }
            let key = state.next_key;
            state.next_key += 1;
            state.tasks.insert(key, Member { task: Some(task), link: None });
            state.by_id.insert(id, key);
            key
        };
        // Outside the lock: the link runs at once if the coroutine has
        // finished meanwhile, and `leave` takes the lock.
        let members = self.clone();
        let link = handle.rawlink(move |_| drop(members.leave(key)));
        let recorded = match lock(&self.state).tasks.get_mut(&key) {
            Some(member) => {
                member.link = Some(link);
                true
            }
            None => false,
        };
        if !recorded {
            // Discarded before the link was recorded: the link is of no use.
            handle.unlink(link);
        }
        Ok(true)
    }

    /// Whether the coroutine of `handle` is a member.
    pub fn contains<T>(&self, handle: &JoinHandle<T>) -> bool {
        lock(&self.state).by_id.contains_key(&handle.task_handle().id())
    }

    /// Ends the membership of the coroutine of `handle` without killing
    /// it; returns whether it was a member.
    pub fn discard<T>(&self, handle: &JoinHandle<T>) -> bool {
        let key = lock(&self.state).by_id.get(&handle.task_handle().id()).copied();
        let Some(member) = key.and_then(|key| self.leave(key)) else { return false };
        if let Some(link) = member.link {
            handle.unlink(link);
        }
        true
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

    /// Whether the calling coroutine is a member of this set: spawned by
    /// it and not discarded (the handle of a member that has just started
    /// may not be attached yet), or added to it.
    pub fn is_current_member(&self) -> bool {
        let (set, key) = MEMBER_OF.get();
        let state = lock(&self.state);
        (set == self.id() && state.tasks.contains_key(&key))
            || hub::try_current().is_some_and(|h| state.by_id.contains_key(&h.current_task().id))
    }

    /// Ends the membership under `key`, if it has not ended yet, and
    /// returns the member: it leaves the set and frees its slot, in one
    /// critical section, so that whoever sees the set without it also sees
    /// its slot free (a `join` is followed by a full `free_count`), and a
    /// spawner handed the slot can only join the set after it left. Never
    /// parks: it runs in rawlinks.
    fn leave(&self, key: u64) -> Option<Member> {
        let mut state = lock(&self.state);
        let member = state.tasks.remove(&key)?;
        if let Some(task) = &member.task {
            state.by_id.remove(&task.id());
        }
        if let Some(slots) = &self.slots {
            slots.release(&(), None);
        }
        let wakers = if state.tasks.is_empty() { state.joiners.notify_all(|_| {}) } else { Vec::new() };
        drop(state);
        wake_all(wakers);
        Some(member)
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

    /// The members whose coroutine is known (all but those whose spawn is
    /// still under way), in no particular order.
    pub fn coroutines(&self) -> Vec<Coroutine> {
        self.handles().iter().map(TaskHandle::coroutine).collect()
    }

    /// The members' handles, as [`coroutines`](Self::coroutines) says.
    fn handles(&self) -> Vec<TaskHandle> {
        lock(&self.state).tasks.values().filter_map(|m| m.task.clone()).collect()
    }

    /// Kills every member and waits until they have finished or `deadline`
    /// passes; returns whether they all finished. A member calling this is
    /// killed last, once the others are gone (not at all if the deadline
    /// came first).
    pub fn kill(&self, deadline: Option<Instant>) -> bool {
        let (me, others): (Vec<_>, Vec<_>) = self.handles().into_iter().partition(TaskHandle::is_current);
        for h in &others {
            h.kill_nowait();
        }
        if !others.iter().all(|h| h.wait_until(deadline)) {
            return false;
        }
        if let Some(me) = me.first() {
            me.kill_nowait();
            park::yield_now();
        }
        true
    }

    /// Asks every member to die and returns at once; a member calling
    /// this gets its kill at its next blocking call.
    pub fn kill_nowait(&self) {
        for h in self.handles() {
            h.kill_nowait();
        }
    }
}
