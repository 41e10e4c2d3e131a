//! Hand-offs that skip the hub: a coroutine that yields or parks runs the
//! next runnable coroutines itself, from its own stack, until its own turn
//! comes back.
//!
//! # Why
//!
//! Through the hub, a hand-off from A to B costs two stack switches (A to
//! the hub, the hub to B), so a round trip A→B→A costs four. When A, instead
//! of suspending, resumes B itself, B's next suspend comes straight back to
//! A: a round trip of two coroutines taking turns (a `yield_now` ping-pong,
//! a channel's request and reply, a lock handed back and forth) costs two
//! switches. The hub's loop and this one make the same choices in the same
//! order; only who makes them changes.
//!
//! # The rules
//!
//! * Only a coroutine the hub resumed hosts: one a host runs suspends back
//!   to its host as it would to the hub (`Hub::no_hosting` is set). So at
//!   most two coroutines are on the chain of resumes, the host and the one
//!   it runs, and a task taken off the run queue is never one of them.
//! * A yielding host takes the run queue as the hub would find it with the
//!   host at the back: it runs the tasks that were ahead of it, then
//!   returns. A parked host runs tasks until it takes itself off the queue
//!   (something woke it), or until the queue is empty. A coroutine that
//!   parks with the queue already empty (waiting for I/O or a timer) hosts
//!   nothing: it suspends to the hub, which has to poll.
//! * Each task a host runs counts against the hub's scheduling budget, as
//!   a resume by the hub does; the host's own turn does not.
//! * The host stops and suspends to the hub (`Suspend::Unhosted`) when the
//!   hub must act: the budget says it is time to poll for I/O and timers,
//!   the next task is the thread's main context, or a task it ran finished
//!   or made a greenlet switch (the hub retires it, or runs the switch's
//!   target). The hub then puts the host where a hand-off through the hub
//!   would have left it: at its place in the run queue after a yield,
//!   parked after a park. Nothing else differs, so a coroutine cannot tell
//!   which of the two ran it.
//! * Teardown hosts nothing: its kill rounds go through the hub.

use std::ptr;

use corosensei::CoroutineResult;

use super::{set_running, Hub};
use crate::asan_fiber::Resume;
use crate::park::suspend;
use crate::task::{Header, Suspend, TaskRef};

/// How a task the host ran gave the CPU back.
enum Ran {
    /// It yielded (it is back on the run queue) or parked.
    Switched,
    /// The hub must take it: it finished or made a greenlet switch.
    HandedBack,
    /// It was the thread's main context, put back at the front of the run
    /// queue untouched.
    Main,
}

impl Hub {
    /// `yield_now` for the running coroutine `me`.
    #[inline(always)]
    pub(crate) fn yield_coroutine(&self, me: &Header) {
        if self.no_hosting.get() {
            suspend(me, Suspend::Yield);
        } else {
            self.host_yield(me);
        }
    }

    /// Parks the running coroutine `me`, whose state is already PARKED,
    /// until it is woken. With nothing runnable (a coroutine waiting for
    /// I/O or a timer, the common case under load from the network) there
    /// is nothing to host, and the hub must poll anyway.
    #[inline(always)]
    pub(crate) fn park_coroutine(&self, me: &Header) {
        if self.no_hosting.get() || self.run_queue_is_empty() {
            suspend(me, Suspend::Park);
        } else {
            self.host_park(me);
        }
    }

    /// Runs the tasks ahead of `me` in the run queue, then returns.
    #[inline(never)]
    fn host_yield(&self, me: &Header) {
        let mut ahead = self.run_queue_len();
        if ahead == 0 {
            // Alone: the hub would resume `me` at once, and count the run.
            if self.host_tick() {
                suspend(me, Suspend::Yield);
            }
            return;
        }
        self.no_hosting.set(true);
        while let Some(next) = self.pop_local() {
            ahead -= 1;
            match self.run_hosted(me, next) {
                Ran::Switched => {}
                Ran::HandedBack => break,
                Ran::Main => {
                    ahead += 1;
                    break;
                }
            }
            if self.host_tick() {
                break;
            }
            if ahead == 0 {
                self.no_hosting.set(false);
                self.probe.resume(me.id);
                return;
            }
        }
        self.unhost(me, Some(ahead));
    }

    /// Runs queued tasks until one of them wakes `me`.
    #[inline(never)]
    fn host_park(&self, me: &Header) {
        self.no_hosting.set(true);
        while let Some(next) = self.pop_local() {
            if ptr::eq(next.as_ptr(), me) {
                // Woken. The hub, resuming `me` with this reference, would
                // hold it while `me` runs, having kept its own in `me` at the
                // park; here the hub's is held by its resume of `me`, still
                // running, so this one is kept in its place.
                Header::stash_own_ref(next);
                self.no_hosting.set(false);
                self.probe.resume(me.id);
                return;
            }
            if !matches!(self.run_hosted(me, next), Ran::Switched) {
                break;
            }
            if self.host_tick() {
                break;
            }
        }
        self.unhost(me, None);
    }

    /// Counts a run against the hub's budget, as the hub's `tick`. When it
    /// is time to poll, which a host cannot do, the budget is left for the
    /// hub's next tick to say so again, once the host has suspended.
    #[inline(always)]
    fn host_tick(&self) -> bool {
        let due = self.tick();
        if due {
            self.probe.poll_at_next_tick();
        }
        due
    }

    /// Resumes `next` from the host's stack and takes it back the way
    /// `run_task` does when it suspends.
    #[inline(always)]
    fn run_hosted(&self, me: &Header, next: TaskRef) -> Ran {
        // SAFETY: `coro` is only touched on the owner hub's thread. `next`
        // came off the run queue, so it is neither `me` (a yielding host is
        // not queued; a parked one checks) nor the only other coroutine on
        // this thread's chain of resumes, the hub's resume of `me`.
        let Some(c) = (unsafe { &mut *next.coro.get() }) else {
            self.push_front(next);
            return Ran::Main;
        };
        set_running(next.as_ptr());
        self.probe.resume(next.id);
        let asan = Resume::start(&next.asan);
        let result = c.resume(());
        asan.finish();
        set_running(me);
        match result {
            CoroutineResult::Yield(Suspend::Yield) => {
                self.push_local(next);
                Ran::Switched
            }
            CoroutineResult::Yield(Suspend::Park) => {
                Header::stash_own_ref(next);
                Ran::Switched
            }
            other => self.hand_back(next, other),
        }
    }

    /// Keeps a task that finished or switched for the hub.
    #[cold]
    #[inline(never)]
    fn hand_back(&self, task: TaskRef, result: CoroutineResult<Suspend, ()>) -> Ran {
        debug_assert!(!matches!(result, CoroutineResult::Yield(Suspend::Unhosted)), "a hosted task hosted");
        let returned = matches!(result, CoroutineResult::Return(()));
        // SAFETY: only touched on this thread, here and in `after_unhost`,
        // which runs once the host has suspended.
        unsafe { *self.handed_back.get() = Some((task, returned)) };
        Ran::HandedBack
    }

    /// Stops hosting and suspends `me` to the hub, which puts it back on
    /// the run queue at `at` (a yield) or leaves it parked (`None`).
    #[cold]
    #[inline(never)]
    fn unhost(&self, me: &Header, at: Option<usize>) {
        self.no_hosting.set(false);
        self.unhost_at.set(at);
        suspend(me, Suspend::Unhosted);
    }

    /// The hub's side of [`unhost`](Self::unhost), for `task`, the host:
    /// puts it where its hand-off left it and deals with a task it handed
    /// back. Returns the task to run next, if the hub's loop should not
    /// simply go on.
    pub(super) fn after_unhost(&self, task: TaskRef) -> Option<TaskRef> {
        match self.unhost_at.take() {
            Some(at) => {
                // SAFETY: as in `push_local`.
                unsafe { (*self.run_queue.get()).insert(at, task) }
            }
            None => Header::stash_own_ref(task),
        }
        // SAFETY: as in `hand_back`.
        let (handed, returned) = unsafe { (*self.handed_back.get()).take() }?;
        if returned {
            self.retire(handed);
        } else {
            drop(handed);
        }
        self.take_switch_target()
    }
}
