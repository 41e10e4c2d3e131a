//! Tasks: the shared part of a coroutine, its state machine and its refcount.
//!
//! A task is one heap allocation, a [`TaskCell<T>`]: a type-erased
//! [`Header`] followed by the slot for the coroutine's result. [`TaskRef`] is
//! a reference-counted pointer to the header, like an `Arc`, and is what run
//! queues, timers, wakers and join handles hold.
//!
//! # The park/wake state machine
//!
//! `Header::state` packs three things in one atomic word:
//!
//! ```text
//!  63 ............ 4 | 3  2  | 1  0
//!        seq         | reason| state
//! ```
//!
//! * `state` is RUNNING, NOTIFIED (woken while still running: its next park
//!   returns at once), PARKED, or QUEUED (woken, on a run queue).
//! * `reason` says why it was woken: normally, because its park deadline
//!   passed, or to deliver an interrupt (kill, `Timeout`).
//! * `seq` numbers the task's parks. A [`Waker`](crate::Waker) captures the
//!   seq of the park it was made for; waking a later park with it does
//!   nothing and returns `false`. Wait lists rely on that `false` to hand a
//!   resource to the next waiter instead of losing it.
//!
//! Only the owner hub's thread resumes a task and only the task itself moves
//! it out of QUEUED/NOTIFIED, so a single compare-and-swap settles every race
//! between wakers on any thread.

use std::any::Any;
use std::cell::{Cell, UnsafeCell};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use corosensei::Yielder;

use crate::hub::HubShared;
use crate::stack::Stack;
use crate::waker::Waker;

/// What a coroutine passes to its hub when it suspends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Suspend {
    /// Go to the back of the run queue (`yield_now`).
    Yield,
    /// Wait until a waker or timer puts the task back on the run queue.
    Park,
    /// Run the hub's pending greenlet switch target next.
    Switch,
}

/// A corosensei coroutine as verde runs it.
pub(crate) type Coro = corosensei::Coroutine<(), Suspend, (), Stack>;

/// The coroutine-side handle used to suspend.
pub(crate) type CoroYielder = Yielder<(), Suspend>;

/// The body of a coroutine spawned from another thread, run when its hub
/// first schedules it.
pub(crate) type StartFn = Box<dyn FnOnce(&CoroYielder) + Send>;

pub(crate) const RUNNING: u64 = 0;
pub(crate) const NOTIFIED: u64 = 1;
pub(crate) const PARKED: u64 = 2;
pub(crate) const QUEUED: u64 = 3;

/// Why a parked task was woken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// A waker fired.
    Woken = 0,
    /// The park's deadline passed.
    TimedOut = 1,
    /// An interrupt (kill or Timeout) is being delivered.
    Interrupted = 2,
}

#[inline]
pub(crate) const fn pack(seq: u64, reason: u64, state: u64) -> u64 {
    (seq << 4) | (reason << 2) | state
}
#[inline]
pub(crate) const fn seq_of(word: u64) -> u64 {
    word >> 4
}
#[inline]
pub(crate) const fn state_of(word: u64) -> u64 {
    word & 3
}
#[inline]
pub(crate) fn reason_of(word: u64) -> Reason {
    match (word >> 2) & 3 {
        0 => Reason::Woken,
        1 => Reason::TimedOut,
        _ => Reason::Interrupted,
    }
}

/// No interrupt pending.
pub(crate) const NO_INTERRUPT: u64 = u64::MAX;
/// Interrupt code of a kill; `Timeout` interrupts use their id (>= 1).
pub(crate) const KILL: u64 = 0;

/// What [`Header::mark_woken`] did.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Woke {
    /// The park had already ended or been woken.
    Stale,
    /// The task was still running; its next park returns at once.
    WhileRunning,
    /// The task was parked and is now QUEUED: it must be scheduled.
    FromPark,
}

const COMPLETE: u8 = 1;
const JOIN_INTEREST: u8 = 2;

/// Whether a task is a coroutine or a thread's own (main) context.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Coroutine,
    Main,
}

/// Functions that depend on the result type.
struct Vtable {
    dealloc: unsafe fn(NonNull<Header>),
    drop_result: unsafe fn(NonNull<Header>) -> Option<Box<dyn Any + Send>>,
    write_failure: unsafe fn(NonNull<Header>, Box<dyn Any + Send>),
}

/// Greenlet links of a task used as a [`Greenlet`](crate::Greenlet).
#[derive(Default)]
pub(crate) struct GreenletLinks {
    /// Where the value goes when this greenlet finishes.
    pub parent: Option<TaskRef>,
    /// The value (or error) being switched into this task.
    pub transfer: Option<Result<Box<dyn Any>, Box<dyn Any + Send>>>,
    /// This task is inside `Greenlet::switch` and may be switched into.
    pub in_switch: bool,
    /// For a greenlet made by `Greenlet::new`, how many `Greenlet` handles
    /// and parent links of other greenlets refer to it (greenlet's
    /// refcount); `None` for other tasks, which no handle owns.
    pub refs: Option<usize>,
}

/// The type-erased part of every task.
pub(crate) struct Header {
    refs: AtomicUsize,
    pub state: AtomicU64,
    pub interrupt: AtomicU64,
    join: AtomicU8,
    join_waiters: Mutex<Vec<Waker>>,
    pub hub: Arc<HubShared>,
    pub id: u64,
    pub name: Option<Box<str>>,
    pub kind: Kind,
    vtable: &'static Vtable,
    // The fields below are touched only on the owner hub's thread.
    pub coro: UnsafeCell<Option<Coro>>,
    pub start: UnsafeCell<Option<StartFn>>,
    pub yielder: Cell<*const CoroYielder>,
    pub stack_size: usize,
    pub guard: Cell<(usize, usize)>,
    pub live_index: Cell<usize>,
    pub greenlet: UnsafeCell<GreenletLinks>,
    /// The task's coroutine-local values (`crate::local`). Emptied inside
    /// the coroutine when its body ends, or at hub teardown for a thread's
    /// main context.
    pub locals: UnsafeCell<crate::local::Storage>,
    /// While set, a pending interrupt does not unwind at park points: the
    /// task is inside a C-ABI frame (a patched libc call) that must not be
    /// unwound through, and handles the interrupt itself (`crate::patch`).
    pub defer_interrupts: Cell<bool>,
    /// The interrupt code a patched call last reported as `ECANCELED`
    /// (`crate::patch`), or `NO_INTERRUPT`.
    pub cancel_reported: Cell<u64>,
}

// SAFETY: the atomics and the Mutex are thread-safe. `hub`, `id`, `name`,
// `kind`, `vtable` and `stack_size` are immutable after creation. Every Cell
// and UnsafeCell field is read and written only on the thread of the hub that
// owns the task (it is created there, or handed over through the hub's
// mutex-protected remote queue before its first use), and `coro`, which holds
// the non-Send coroutine, and `locals`, which may hold non-Send values, are
// emptied on that thread before the task can be released (see
// `Header::finish`, `local::run_scoped` and the hub's teardown), or leaked
// by the last `TaskRef` if they were not.
unsafe impl Send for Header {}
// SAFETY: as for Send; shared access from other threads touches only atomics,
// the Mutex and immutable fields.
unsafe impl Sync for Header {}

/// A task allocation: the header and, right after it, the result slot.
#[repr(C)]
struct TaskCell<T> {
    header: Header,
    result: UnsafeCell<Option<thread::Result<T>>>,
}

/// A counted reference to a task, like `Arc<Header>`.
pub(crate) struct TaskRef(NonNull<Header>);

// SAFETY: a TaskRef only exposes `&Header`, which is Send + Sync; the
// refcount is atomic.
unsafe impl Send for TaskRef {}
// SAFETY: as above.
unsafe impl Sync for TaskRef {}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Fields for a new task.
pub(crate) struct NewTask {
    pub hub: Arc<HubShared>,
    pub name: Option<Box<str>>,
    pub kind: Kind,
    pub stack_size: usize,
    pub initial_state: u64,
}

impl TaskRef {
    /// Allocates a task whose result is a `T`. The returned reference is the
    /// only one.
    pub fn new<T>(new: NewTask) -> TaskRef {
        unsafe fn dealloc<T>(p: NonNull<Header>) {
            // SAFETY: `p` came from `Box::into_raw(Box<TaskCell<T>>)` in
            // `TaskRef::new::<T>` and this is the last reference.
            drop(unsafe { Box::from_raw(p.as_ptr() as *mut TaskCell<T>) });
        }
        unsafe fn drop_result<T>(p: NonNull<Header>) -> Option<Box<dyn Any + Send>> {
            // SAFETY: `p` points to a TaskCell<T>; the caller holds the
            // result slot exclusively (the COMPLETE/JOIN_INTEREST protocol).
            let cell = unsafe { &*(p.as_ptr() as *const TaskCell<T>) };
            // SAFETY: as above, nobody else accesses the slot now.
            match unsafe { (*cell.result.get()).take() } {
                Some(Err(payload)) => Some(payload),
                _ => None,
            }
        }
        unsafe fn write_failure<T>(p: NonNull<Header>, payload: Box<dyn Any + Send>) {
            // SAFETY: `p` points to a TaskCell<T> whose result slot the
            // caller (the owner hub, before completion) holds exclusively.
            unsafe { *(*(p.as_ptr() as *const TaskCell<T>)).result.get() = Some(Err(payload)) };
        }
        let vtable: &'static Vtable =
            &Vtable { dealloc: dealloc::<T>, drop_result: drop_result::<T>, write_failure: write_failure::<T> };
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        if let (Some(name), Kind::Coroutine) = (&new.name, new.kind) {
            crate::monitor::remember_name(id, name);
        }
        let cell = Box::new(TaskCell::<T> {
            header: Header {
                refs: AtomicUsize::new(1),
                state: AtomicU64::new(new.initial_state),
                interrupt: AtomicU64::new(NO_INTERRUPT),
                join: AtomicU8::new(JOIN_INTEREST),
                join_waiters: Mutex::new(Vec::new()),
                hub: new.hub,
                id,
                name: new.name,
                kind: new.kind,
                vtable,
                coro: UnsafeCell::new(None),
                start: UnsafeCell::new(None),
                yielder: Cell::new(std::ptr::null()),
                stack_size: new.stack_size,
                guard: Cell::new((0, 0)),
                live_index: Cell::new(usize::MAX),
                greenlet: UnsafeCell::new(GreenletLinks::default()),
                locals: UnsafeCell::new(crate::local::Storage::default()),
                defer_interrupts: Cell::new(false),
                cancel_reported: Cell::new(NO_INTERRUPT),
            },
            result: UnsafeCell::new(None),
        });
        TaskRef(NonNull::from(Box::leak(cell)).cast())
    }

    /// A new counted reference to the task whose header is `header`.
    #[inline]
    pub fn from_header(header: &Header) -> TaskRef {
        let old = header.refs.fetch_add(1, Ordering::Relaxed);
        if old > isize::MAX as usize {
            std::process::abort();
        }
        // Every Header lives inside a TaskCell made by `TaskRef::new` (its
        // private fields let no other code build one), and a live `&Header`
        // means some TaskRef keeps the cell alive at least until the
        // increment above took effect, so the new reference owns a count.
        TaskRef(NonNull::from(header))
    }

    /// The raw pointer, for identity comparisons.
    #[inline]
    pub fn as_ptr(&self) -> *const Header {
        self.0.as_ptr()
    }
}

impl Clone for TaskRef {
    #[inline]
    fn clone(&self) -> Self {
        TaskRef::from_header(self)
    }
}

impl Drop for TaskRef {
    #[inline]
    fn drop(&mut self) {
        if self.refs.fetch_sub(1, Ordering::Release) != 1 {
            return;
        }
        std::sync::atomic::fence(Ordering::Acquire);
        // A coroutine still present here was never finished or torn down by
        // its hub (its hub thread died without running its teardown). Its
        // stack may be gone, so it must not be unwound or dropped: forget it.
        // SAFETY: this is the last reference, so nothing else accesses `coro`.
        if let Some(coro) = unsafe { (*self.coro.get()).take() } {
            std::mem::forget(coro);
        }
        // Coroutine-local values are still here only in that case too; they
        // may not be Send, so they must not be dropped on this thread.
        // SAFETY: as above, nothing else accesses `locals`.
        std::mem::forget(std::mem::take(unsafe { &mut *self.locals.get() }));
        if self.name.is_some() {
            crate::monitor::forget_name(self.id);
        }
        // SAFETY: last reference; the vtable matches the allocation's type.
        unsafe { (self.vtable.dealloc)(self.0) }
    }
}

impl std::ops::Deref for TaskRef {
    type Target = Header;
    #[inline]
    fn deref(&self) -> &Header {
        // SAFETY: the allocation lives while any TaskRef to it exists.
        unsafe { self.0.as_ref() }
    }
}

impl Header {
    /// Writes the coroutine's result. Called once, on the owner hub, from
    /// inside the coroutine just before it returns.
    ///
    /// # Safety
    ///
    /// `T` must be the type the task was created with, and the task must not
    /// be complete yet.
    pub unsafe fn write_result<T>(this: &Header, result: thread::Result<T>) {
        // SAFETY: the caller guarantees the type; before COMPLETE is set only
        // the coroutine itself touches the slot.
        unsafe {
            let cell = &*(this as *const Header as *const TaskCell<T>);
            *cell.result.get() = Some(result);
        }
    }

    /// Stores a failure as the result of a task that never ran.
    ///
    /// # Safety
    ///
    /// Only on the owner hub, before the task completes.
    pub unsafe fn write_failure(this: &TaskRef, payload: Box<dyn Any + Send>) {
        // SAFETY: forwarded from the caller; the vtable matches the cell.
        unsafe { (this.vtable.write_failure)(this.0, payload) }
    }

    /// Takes the result of a complete task.
    ///
    /// # Safety
    ///
    /// `T` must be the task's result type; the caller must be the task's only
    /// join handle and must have observed `is_complete()`.
    pub unsafe fn take_result<T>(this: &TaskRef) -> Option<thread::Result<T>> {
        // SAFETY: guaranteed by the caller; COMPLETE was read with Acquire,
        // which orders the write of the result before this read.
        unsafe {
            let cell = &*(this.0.as_ptr() as *const TaskCell<T>);
            (*cell.result.get()).take()
        }
    }

    /// The seq of the current (or next) park.
    #[inline]
    pub fn seq(&self) -> u64 {
        seq_of(self.state.load(Ordering::Acquire))
    }

    /// Wakes park `seq` with `reason`, handing the task's run-queue entry
    /// the reference `this` (a waker's or a timer's own, so queueing the
    /// task takes no new count). Returns false if that park already ended
    /// or was already woken.
    #[inline]
    pub fn wake(this: TaskRef, seq: u64, reason: Reason) -> bool {
        let woke = this.mark_woken(Some(seq), reason);
        if woke == Woke::FromPark {
            crate::hub::schedule(this);
        }
        woke != Woke::Stale
    }

    /// [`wake`](Self::wake) for a caller that keeps its reference.
    #[inline]
    pub fn wake_by_ref(this: &TaskRef, seq: u64, reason: Reason) -> bool {
        let woke = this.mark_woken(Some(seq), reason);
        if woke == Woke::FromPark {
            crate::hub::schedule(this.clone());
        }
        woke != Woke::Stale
    }

    /// Moves park `seq` (with `None`, whatever park is current) to woken:
    /// RUNNING becomes NOTIFIED, PARKED becomes QUEUED (and the caller must
    /// schedule the task).
    #[inline]
    fn mark_woken(&self, seq: Option<u64>, reason: Reason) -> Woke {
        let mut cur = self.state.load(Ordering::Acquire);
        loop {
            let current = seq_of(cur);
            if seq.is_some_and(|s| s != current) {
                return Woke::Stale;
            }
            let (next, woke) = match state_of(cur) {
                RUNNING => (pack(current, reason as u64, NOTIFIED), Woke::WhileRunning),
                PARKED => (pack(current, reason as u64, QUEUED), Woke::FromPark),
                _ => return Woke::Stale,
            };
            match self.state.compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return woke,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Posts interrupt `code` (`KILL` or a Timeout id) and wakes the task if
    /// it is parked. A lower code wins over a higher one, so a kill beats any
    /// timeout and an outer timeout beats the inner ones it encloses.
    pub fn post_interrupt(this: &TaskRef, code: u64) {
        this.interrupt.fetch_min(code, Ordering::AcqRel);
        if this.mark_woken(None, Reason::Interrupted) == Woke::FromPark {
            crate::hub::schedule(this.clone());
        }
    }

    /// Withdraws interrupt `code` if it is still pending (a Timeout that was
    /// cancelled before it was delivered).
    pub fn withdraw_interrupt(&self, code: u64) {
        let _ = self.interrupt.compare_exchange(code, NO_INTERRUPT, Ordering::AcqRel, Ordering::Acquire);
    }

    /// Whether the coroutine has finished.
    #[inline]
    pub fn is_complete(&self) -> bool {
        self.join.load(Ordering::Acquire) & COMPLETE != 0
    }

    /// Registers a waker to be woken when the task completes. Returns false
    /// (and drops the waker) if it already has.
    pub fn add_join_waiter(&self, waker: Waker) -> bool {
        let mut waiters = self.join_waiters.lock().unwrap_or_else(|e| e.into_inner());
        if self.is_complete() {
            return false;
        }
        waiters.push(waker);
        true
    }

    /// Removes a waker added by `add_join_waiter` whose wait timed out.
    pub fn remove_join_waiter(&self, waker: &Waker) {
        let mut waiters = self.join_waiters.lock().unwrap_or_else(|e| e.into_inner());
        waiters.retain(|w| !w.will_wake(waker));
    }

    /// Marks the task complete, wakes its joiners, and reports a failure that
    /// nobody will join. Called on the owner hub after the result is written
    /// (or without a result for a coroutine killed before it started).
    pub fn finish(this: &TaskRef) {
        let old = this.join.fetch_or(COMPLETE, Ordering::AcqRel);
        if old & JOIN_INTEREST == 0 {
            // SAFETY: nobody can join any more, so the slot is ours.
            unsafe { Header::drop_unjoined_result(this) };
        }
        let waiters = std::mem::take(&mut *this.join_waiters.lock().unwrap_or_else(|e| e.into_inner()));
        for w in waiters {
            w.wake();
        }
    }

    /// The join handle was dropped: nobody will take the result.
    pub fn drop_join_interest(this: &TaskRef) {
        let old = this.join.fetch_and(!JOIN_INTEREST, Ordering::AcqRel);
        if old & COMPLETE != 0 {
            // SAFETY: the task is complete and the handle (the only other
            // party) is being dropped, so the slot is ours.
            unsafe { Header::drop_unjoined_result(this) };
        }
    }

    /// Drops the result nobody will take, reporting it if it is a failure.
    ///
    /// # Safety
    ///
    /// The caller must hold the result slot exclusively: the task is
    /// complete and its join handle gone (the COMPLETE/JOIN_INTEREST
    /// protocol).
    unsafe fn drop_unjoined_result(this: &TaskRef) {
        // SAFETY: forwarded from the caller; the vtable matches the cell.
        let failure = unsafe { (this.vtable.drop_result)(this.0) };
        if let Some(payload) = failure {
            crate::failure::report_unjoined(this, &*payload);
        }
    }

    /// The task's display name: its name, or `coroutine-<id>`.
    pub fn display_name(&self) -> String {
        match &self.name {
            Some(n) => n.to_string(),
            None => format!("coroutine-{}", self.id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A counted reference to the running coroutine's task.
    fn me() -> TaskRef {
        TaskRef::from_header(crate::hub::running_coroutine().expect("inside a coroutine"))
    }

    /// Spawns `body` with a channel that receives the coroutine's own task.
    fn spawn_reporting(body: impl FnOnce() + Send + 'static) -> (TaskRef, crate::JoinHandle<()>) {
        let (tx, rx) = crate::sync::mpsc::channel();
        let handle = crate::spawn(move || {
            tx.send(me()).unwrap();
            body();
        });
        (rx.recv().unwrap(), handle)
    }

    #[test]
    fn parks_leave_no_count_behind_once_the_coroutine_finishes() {
        let (to_child, from_main) = crate::sync::mpsc::channel::<u32>();
        let (task, handle) = spawn_reporting(move || {
            let mut sum = 0;
            for v in from_main {
                sum += v;
                crate::sleep(std::time::Duration::from_micros(50));
            }
            assert_eq!(sum, 4950);
        });
        for v in 0..100 {
            to_child.send(v).unwrap();
            crate::yield_now();
        }
        drop(to_child);
        handle.join().unwrap();
        assert_eq!(task.refs.load(Ordering::Acquire), 1, "only this test's reference is left");
    }

    #[test]
    fn a_parked_coroutine_killed_leaves_no_count_behind() {
        let (_keep_open, from_main) = crate::sync::mpsc::channel::<u32>();
        let (task, handle) = spawn_reporting(move || {
            let _ = from_main.recv();
            unreachable!("nothing is ever sent");
        });
        crate::yield_now();
        assert_eq!(state_of(task.state.load(Ordering::Acquire)), PARKED);
        handle.kill();
        assert!(handle.join().unwrap_err().is::<crate::Killed>());
        assert_eq!(task.refs.load(Ordering::Acquire), 1, "only this test's reference is left");
    }
}
