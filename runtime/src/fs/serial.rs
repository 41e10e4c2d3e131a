//! [`Serial`]: one operation at a time on a resource shared with the
//! blocking pool, surviving callers that go away.
//!
//! A [`File`](super::File) (or a [`ReadDir`](super::ReadDir)) runs each
//! blocking call on the pool while its caller parks. A kill or a
//! [`Timeout`](crate::Timeout) can unwind that caller while the call still
//! runs on its pool thread; the call then finishes there, and its outcome
//! must not vanish (read bytes, a write's error). So:
//!
//! * Every operation first takes the resource's **turn**, a FIFO lock
//!   ([`RawMutex`]) that parks; waiting for it is where a later operation
//!   waits for an earlier one still in flight, which keeps them ordered.
//! * The turn holder owns the resource's **leftovers** `L` (what abandoned
//!   operations left behind, a reused buffer) for as long as it holds it.
//! * [`Turn::run`] sends the operation to the pool and parks for its
//!   outcome. If the caller unwinds first, the turn stays taken and the
//!   operation's *orphan* function folds its outcome into the leftovers
//!   when it ends (or at once, if it already has); the turn is released
//!   only then. [`Turn::run_undoing`]'s orphan gets the resource too, to
//!   undo what nobody will (a file lock acquired for a caller gone).
//!
//! On a thread with no coroutines (see `offload::use_pool`) the operation
//! runs on the calling thread, as std's would, still under the turn.

use std::any::Any;
use std::sync::Arc;

use super::offload::use_pool;
use crate::park::{self, Waker};
use crate::sync::raw_mutex::RawMutex;
use crate::sync::state_mutex::{lock, StateMutex};

/// Folds the outcome of an operation whose caller went away into the
/// leftovers (or undoes it on the resource).
type Orphan<R, L> = Box<dyn FnOnce(Box<dyn Any + Send>, &R, &mut L) + Send>;

/// A resource whose operations run one at a time, on the blocking pool
/// when called from a coroutine.
pub(super) struct Serial<R, L> {
    resource: Arc<R>,
    shared: Arc<Shared<R, L>>,
}

struct Shared<R, L> {
    /// Held by the caller whose operation runs, or by an operation whose
    /// caller went away, until it ends.
    turn: RawMutex,
    state: StateMutex<State<R, L>>,
}

struct State<R, L> {
    /// What abandoned operations left behind; taken by the turn's holder.
    leftovers: L,
    /// The outcome of the operation in flight, not collected yet.
    finished: Option<Box<dyn Any + Send>>,
    /// The caller waiting for `finished`.
    owner: Option<Waker>,
    /// Set when the caller of the operation in flight went away: what
    /// folds its outcome into `leftovers` when it ends.
    orphan: Option<Orphan<R, L>>,
}

impl<R, L> Serial<R, L>
where
    R: Send + Sync + 'static,
    L: Default + Send + 'static,
{
    /// Serialises the operations on `resource`.
    pub(super) fn new(resource: R) -> Self {
        let state = State { leftovers: L::default(), finished: None, owner: None, orphan: None };
        Serial {
            resource: Arc::new(resource),
            shared: Arc::new(Shared { turn: RawMutex::new(), state: StateMutex::new(state) }),
        }
    }

    /// The resource, for calls that need no turn (they never block, or
    /// need no order).
    pub(super) fn resource(&self) -> &R {
        &self.resource
    }

    /// Waits for the operations before (parking, in FIFO order), then
    /// holds the turn until the returned guard drops.
    pub(super) fn turn(&self) -> Turn<'_, R, L> {
        self.shared.turn.lock();
        let leftovers = std::mem::take(&mut lock(&self.shared.state).leftovers);
        Turn { serial: self, leftovers, in_flight: None }
    }

    /// The resource itself, once no operation runs.
    pub(super) fn into_resource(self) -> R {
        drop(self.turn());
        Arc::into_inner(self.resource).expect("an operation drops its reference to the resource before the turn passes")
    }
}

/// The right to run the next operation on a [`Serial`]'s resource.
pub(super) struct Turn<'a, R, L> {
    serial: &'a Serial<R, L>,
    /// The resource's leftovers, the holder's to use.
    pub(super) leftovers: L,
    /// Set while this turn's operation runs on the pool.
    in_flight: Option<Orphan<R, L>>,
}

impl<R, L> Turn<'_, R, L>
where
    R: Send + Sync + 'static,
    L: Send + 'static,
{
    /// The resource, for an operation the holder runs itself.
    pub(super) fn resource(&self) -> &R {
        &self.serial.resource
    }

    /// Runs `op` on the resource: on the blocking pool from a coroutine
    /// (parking meanwhile), on the calling thread otherwise. If the caller
    /// unwinds before `op` ends, `orphan` gets `op`'s outcome and the
    /// leftovers once it does.
    pub(super) fn run<T, F>(&mut self, op: F, orphan: fn(T, &mut L)) -> T
    where
        F: FnOnce(&R) -> T + Send + 'static,
        T: Send + 'static,
    {
        if !use_pool() {
            return op(&self.serial.resource);
        }
        self.run_on_pool(op, Box::new(move |outcome, _, leftovers| orphan(downcast(outcome), leftovers)))
    }

    /// As [`run`](Self::run), for an operation that leaves the resource in
    /// a state only its caller may keep: if the caller unwinds before `op`
    /// ends, `undo` gets `op`'s outcome, the resource and the leftovers
    /// once it does (an acquired file lock is released).
    pub(super) fn run_undoing<T, F>(&mut self, op: F, undo: fn(T, &R, &mut L)) -> T
    where
        F: FnOnce(&R) -> T + Send + 'static,
        T: Send + 'static,
    {
        if !use_pool() {
            return op(&self.serial.resource);
        }
        self.run_on_pool(op, Box::new(move |outcome, resource, leftovers| undo(downcast(outcome), resource, leftovers)))
    }

    /// Sends `op` to the blocking pool and parks until its outcome comes;
    /// `orphan` takes it over if the caller unwinds first.
    fn run_on_pool<T, F>(&mut self, op: F, orphan: Orphan<R, L>) -> T
    where
        F: FnOnce(&R) -> T + Send + 'static,
        T: Send + 'static,
    {
        #[cfg(test)]
        POOL_TRIPS.with(|trips| trips.set(trips.get() + 1));
        let resource = Arc::clone(&self.serial.resource);
        let shared = Arc::clone(&self.serial.shared);
        self.in_flight = Some(orphan);
        crate::blocking::submit(move || {
            let outcome = op(&resource);
            shared.finish(outcome, resource);
        });
        loop {
            let mut state = lock(&self.serial.shared.state);
            if let Some(outcome) = state.finished.take() {
                self.in_flight = None;
                return downcast(outcome);
            }
            state.owner = Some(park::waker());
            drop(state);
            park::park();
        }
    }
}

impl<R, L> Shared<R, L> {
    /// Publishes an operation's outcome for its caller, or, if the caller
    /// went away, folds it into the leftovers and releases the turn. Runs on
    /// the pool thread, which lets go of its `resource` before the turn can
    /// pass (the next holder may take the resource back: `into_resource`).
    fn finish<T: Send + 'static>(&self, outcome: T, resource: Arc<R>) {
        let mut state = lock(&self.state);
        if let Some(orphan) = state.orphan.take() {
            orphan(Box::new(outcome), &resource, &mut state.leftovers);
            drop(state);
            drop(resource);
            self.turn.unlock();
            return;
        }
        // The caller, still waiting, holds the `Serial`: not the last
        // reference.
        drop(resource);
        state.finished = Some(Box::new(outcome));
        let owner = state.owner.take();
        drop(state);
        if let Some(w) = owner {
            w.wake();
        }
    }
}

/// How many operations this thread's turns sent to the pool: what tests
/// count round trips with.
#[cfg(test)]
pub(super) fn pool_trips() -> usize {
    POOL_TRIPS.with(std::cell::Cell::get)
}

#[cfg(test)]
thread_local! {
    static POOL_TRIPS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn downcast<T: 'static>(outcome: Box<dyn Any + Send>) -> T {
    *outcome.downcast::<T>().expect("a turn collects the outcome of its own operation")
}

impl<R, L> Drop for Turn<'_, R, L> {
    fn drop(&mut self) {
        let shared = &self.serial.shared;
        let mut state = lock(&shared.state);
        std::mem::swap(&mut state.leftovers, &mut self.leftovers);
        if let Some(orphan) = self.in_flight.take() {
            // The caller unwound while its operation ran on the pool.
            state.owner = None;
            match state.finished.take() {
                Some(outcome) => orphan(outcome, &self.serial.resource, &mut state.leftovers),
                None => {
                    // The operation releases the turn when it ends.
                    state.orphan = Some(orphan);
                    return;
                }
            }
        }
        drop(state);
        shared.turn.unlock();
    }
}
