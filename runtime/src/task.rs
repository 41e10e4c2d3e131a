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
use std::collections::VecDeque;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

use corosensei::Yielder;

use crate::hub::HubShared;
use crate::park_timer::ParkTimer;
use crate::stack::Stack;
use crate::sync::state_mutex::{lock, StateGuard, StateMutex};
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
    /// Stop running other coroutines from this one's stack and hand the
    /// scheduling back to the hub, which puts this coroutine where the
    /// hand-off left it: back on the run queue after a yield, parked after
    /// a park (see the hub's `hosting` module).
    Unhosted,
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
    /// The result slot, an `Option<thread::Result<T>>`, as `dyn Any`.
    result_slot: unsafe fn(NonNull<Header>) -> *const dyn Any,
}

/// A link added by `JoinHandle::rawlink` (or `link`, built on it), without
/// its result type: it is called with the task's header and its result
/// slot, an `Option<thread::Result<T>>` as `&dyn Any`, which it downcasts.
pub(crate) type LinkFn = Box<dyn FnOnce(&Header, &dyn Any) + Send>;

/// Who waits for a task to complete.
struct JoinWaiters {
    /// Parked joiners, woken once the task is complete.
    wakers: Vec<Waker>,
    /// The task's links, boxed so that a task without any costs one word
    /// and no allocation.
    links: Option<Box<Links>>,
}

#[derive(Default)]
struct Links {
    /// Links not run yet, in registration order, with their ids.
    queue: VecDeque<(u64, LinkFn)>,
    /// After completion: some thread is running links added late, with the
    /// result slot lent to them (see `Header::add_link`).
    lent: bool,
}

impl JoinWaiters {
    fn links(&mut self) -> &mut Links {
        self.links.get_or_insert_with(Box::default)
    }

    fn pop_link(&mut self) -> Option<LinkFn> {
        self.links.as_mut()?.queue.pop_front().map(|(_, link)| link)
    }
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
///
/// `repr(C)` with the coroutine first: the hub's switch loop then reaches
/// the task and its coroutine through one pointer, which the coroutine
/// switch preserves, instead of two. The byte-sized fields sit together
/// so the order costs no padding.
#[repr(C)]
pub(crate) struct Header {
    /// Touched only on the owner hub's thread, like the fields after
    /// `kind`.
    pub coro: UnsafeCell<Option<Coro>>,
    refs: AtomicUsize,
    pub state: AtomicU64,
    pub interrupt: AtomicU64,
    join_waiters: StateMutex<JoinWaiters>,
    pub hub: Arc<HubShared>,
    pub id: u64,
    pub name: Option<Box<str>>,
    vtable: &'static Vtable,
    /// The allocation's own pointer, from `Box::into_raw`, which
    /// [`TaskRef::from_header`] copies: a pointer made from a `&Header`
    /// could not free the allocation, nor reach its result slot, without
    /// breaking Rust's aliasing rules.
    this: NonNull<Header>,
    join: AtomicU8,
    pub kind: Kind,
    // The fields below are touched only on the owner hub's thread.
    /// While set, a pending interrupt does not unwind at park points: the
    /// task is inside a C-ABI frame (a patched libc call) that must not be
    /// unwound through, and handles the interrupt itself (`crate::patch`).
    pub defer_interrupts: Cell<bool>,
    /// The coroutine's unwinding mark (`crate::unwinding`): the thread's
    /// epoch when it started the unwinding it is in, an older epoch or 0
    /// when it is not unwinding. Unused for a thread's main context, whose
    /// mark is thread-local.
    pub unwinding: Cell<u64>,
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
    /// The interrupt code a patched call last reported as `ECANCELED`
    /// (`crate::patch`), or `NO_INTERRUPT`.
    pub cancel_reported: Cell<u64>,
    /// A counted reference to this very task, kept while it is parked so
    /// that its next waker can take it instead of counting a new one (see
    /// [`Header::stash_own_ref`]). Emptied when the coroutine is retired or
    /// left behind at teardown; a task whose hub thread died without its
    /// teardown keeps it, and is leaked rather than freed.
    own_ref: UnsafeCell<Option<TaskRef>>,
    /// The timer-heap entry that times the task's parks, kept armed from
    /// one timed park to the next while their deadlines only move later,
    /// and what the current park wants of it (`crate::park_timer`).
    /// Disarmed when the coroutine is retired or at the hub's teardown.
    pub park_timer: ParkTimer,
    /// The coroutine's side of AddressSanitizer's fiber annotations
    /// (`crate::asan_fiber`); zero-sized unless built with `--cfg verde_asan`.
    pub asan: crate::asan_fiber::Fiber,
}

// SAFETY: the atomics and the Mutex are thread-safe. `hub`, `id`, `name`,
// `kind`, `vtable`, `this` and `stack_size` are immutable after creation
// (`this` is written once, before the first `TaskRef` exists). Every Cell
// and UnsafeCell field (`park_timer`'s Cells included) is read and written
// only on the thread of the hub that owns the task (it is created there, or
// handed over through the hub's mutex-protected remote queue before its
// first use), and `coro`, which holds the non-Send coroutine, and `locals`,
// which may hold non-Send values, are emptied on that thread before the
// task can be released (see `Header::finish`, `local::run_scoped` and the
// hub's teardown), or leaked by the last `TaskRef` if they were not.
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
    pub fn new<T: 'static>(new: NewTask) -> TaskRef {
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
        unsafe fn result_slot<T: 'static>(p: NonNull<Header>) -> *const dyn Any {
            // SAFETY: `p` points to a TaskCell<T>; only the address of the
            // slot is taken here, the caller decides when it may be read.
            unsafe { (*(p.as_ptr() as *const TaskCell<T>)).result.get() as *const Option<thread::Result<T>> }
        }
        let vtable: &'static Vtable = &Vtable {
            dealloc: dealloc::<T>,
            drop_result: drop_result::<T>,
            write_failure: write_failure::<T>,
            result_slot: result_slot::<T>,
        };
        crate::unwinding::ensure_hook();
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
                join_waiters: StateMutex::new(JoinWaiters { wakers: Vec::new(), links: None }),
                hub: new.hub,
                id,
                name: new.name,
                kind: new.kind,
                vtable,
                this: NonNull::dangling(),
                coro: UnsafeCell::new(None),
                start: UnsafeCell::new(None),
                yielder: Cell::new(std::ptr::null()),
                stack_size: new.stack_size,
                guard: Cell::new((0, 0)),
                live_index: Cell::new(usize::MAX),
                greenlet: UnsafeCell::new(GreenletLinks::default()),
                locals: UnsafeCell::new(crate::local::Storage::default()),
                defer_interrupts: Cell::new(false),
                unwinding: Cell::new(0),
                cancel_reported: Cell::new(NO_INTERRUPT),
                own_ref: UnsafeCell::new(None),
                park_timer: ParkTimer::default(),
                asan: crate::asan_fiber::Fiber::new(),
            },
            result: UnsafeCell::new(None),
        });
        let this = NonNull::from(Box::leak(cell)).cast::<Header>();
        // SAFETY: `this` is the only pointer to the new allocation; the
        // write goes through it, so it keeps its provenance over the whole
        // cell (which `TaskCell`'s `repr(C)` starts with the header).
        unsafe { (*this.as_ptr()).this = this };
        TaskRef(this)
    }

    /// A new counted reference to the task whose header is `header`.
    #[inline]
    pub fn from_header(header: &Header) -> TaskRef {
        header.count_one_more();
        // Every Header lives inside a TaskCell made by `TaskRef::new` (its
        // private fields let no other code build one), and a live `&Header`
        // means some TaskRef keeps the cell alive at least until the
        // increment above took effect, so the new reference owns a count.
        TaskRef(header.this)
    }

    /// The raw pointer, for identity comparisons.
    #[inline]
    pub fn as_ptr(&self) -> *const Header {
        self.0.as_ptr()
    }
}

impl Clone for TaskRef {
    /// Copies this reference's own pointer, which needs no load of the
    /// header's `this`.
    #[inline]
    fn clone(&self) -> Self {
        self.count_one_more();
        TaskRef(self.0)
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
    ///
    /// The common case, a task still in park `seq`, is one compare-and-swap
    /// inlined into the caller; the rest goes to
    /// [`wake_slow`](Self::wake_slow).
    #[inline]
    pub fn wake(this: TaskRef, seq: u64, reason: Reason) -> bool {
        if this.try_wake_parked(seq, reason) {
            crate::hub::schedule(this);
            return true;
        }
        Self::wake_slow(this, seq, reason)
    }

    /// [`wake`](Self::wake) for a caller that keeps its reference.
    #[inline]
    pub fn wake_by_ref(this: &TaskRef, seq: u64, reason: Reason) -> bool {
        Self::wake(this.clone(), seq, reason)
    }

    /// Moves a task that is parked in park `seq` (and not yet woken) to
    /// QUEUED; fails if it is anywhere else.
    #[inline(always)]
    fn try_wake_parked(&self, seq: u64, reason: Reason) -> bool {
        self.state
            .compare_exchange(
                pack(seq, 0, PARKED),
                pack(seq, reason as u64, QUEUED),
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
    }

    /// [`wake`](Self::wake) when the task was not found parked: it may be
    /// running (the wake is noted for its next park), or the park may have
    /// ended already.
    #[inline(never)]
    fn wake_slow(this: TaskRef, seq: u64, reason: Reason) -> bool {
        let woke = this.mark_woken(Some(seq), reason);
        if woke == Woke::FromPark {
            crate::hub::schedule(this);
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

    /// Keeps `this`, the hub's reference to a coroutine that just parked,
    /// in the coroutine itself for its next waker ([`Header::own_ref`]),
    /// instead of dropping it. A park and a wake then cost no reference
    /// counting: the hub's reference becomes the next waker's, and the
    /// waker's comes back to the hub through the run queue. Each count is
    /// a locked read-modify-write, about as dear as the rest of a hand-off.
    ///
    /// The kept reference makes the task hold itself alive, which is
    /// harmless while its coroutine lives (the hub's live list holds it
    /// anyway) and is undone when the coroutine is retired
    /// ([`Header::drop_own_ref`]).
    ///
    /// Owner thread only, for a coroutine that is not running.
    #[inline(always)]
    pub fn stash_own_ref(this: TaskRef) {
        let slot = this.own_ref.get();
        // SAFETY: `own_ref` is touched only on the owner hub's thread (the
        // caller's), never while another access to it is live: the hub and
        // the coroutine take turns on that thread.
        unsafe {
            if (*slot).is_none() {
                *slot = Some(this);
            }
        }
    }

    /// Adds a reference to the count, for a new `TaskRef`; aborts at an
    /// absurd count, as `Arc` does.
    #[inline]
    fn count_one_more(&self) {
        let old = self.refs.fetch_add(1, Ordering::Relaxed);
        if old > isize::MAX as usize {
            std::process::abort();
        }
    }

    /// A counted reference to this task: the kept one if there is
    /// ([`Header::stash_own_ref`]), or a new count. Owner thread only.
    #[inline(always)]
    pub fn take_own_ref(&self) -> TaskRef {
        // SAFETY: as in `stash_own_ref`; the running coroutine asks for its
        // own reference on its own thread.
        match unsafe { (*self.own_ref.get()).take() } {
            Some(r) => r,
            None => TaskRef::from_header(self),
        }
    }

    /// Drops the kept reference of a coroutine that is being retired, so
    /// that the task can be freed. Owner thread only.
    pub fn drop_own_ref(&self) {
        // SAFETY: as in `stash_own_ref`; the coroutine has returned.
        drop(unsafe { (*self.own_ref.get()).take() });
    }

    /// Whether the coroutine has finished.
    #[inline]
    pub fn is_complete(&self) -> bool {
        self.join.load(Ordering::Acquire) & COMPLETE != 0
    }

    fn waiters(&self) -> StateGuard<'_, JoinWaiters> {
        lock(&self.join_waiters)
    }

    /// Registers a waker to be woken when the task completes. Returns false
    /// (and drops the waker) if it already has.
    pub fn add_join_waiter(&self, waker: Waker) -> bool {
        let mut waiters = self.waiters();
        if self.is_complete() {
            return false;
        }
        waiters.wakers.push(waker);
        true
    }

    /// Removes a waker added by `add_join_waiter` whose wait timed out.
    pub fn remove_join_waiter(&self, waker: &Waker) {
        self.waiters().wakers.retain(|w| !w.will_wake(waker));
    }

    /// Adds a link, to run with the task's result when it ends, after the
    /// links added before it. If the task is already complete, the link
    /// runs now, on the calling thread, unless another call is already
    /// running late links: then that call runs it too before it returns.
    ///
    /// A panic in a link is reported and does not stop the others. When the
    /// links run here, a panic carrying an interrupt (a kill or a `Timeout`
    /// of the caller, delivered because a link blocked) is resumed once
    /// they have all run, so the caller still unwinds with it.
    ///
    /// # Safety
    ///
    /// The caller must hold the task's join handle for the whole call: once
    /// the task is complete, the result slot is the handle's, and this lends
    /// it to the links (which is why the handle cannot be consumed by `join`
    /// or dropped meanwhile).
    pub unsafe fn add_link(this: &TaskRef, id: u64, link: LinkFn) {
        let mut waiters = this.waiters();
        let links = waiters.links();
        if !this.is_complete() || links.lent {
            // Not complete: `finish` runs it (it sets COMPLETE only under
            // this lock, with no link left). Lent: the thread that set
            // `lent` runs it before clearing `lent` under this lock.
            links.queue.push_back((id, link));
            return;
        }
        links.lent = true;
        drop(waiters);
        // SAFETY: the task is complete and the caller holds its join handle,
        // so the slot belongs to the handle: `finish` is done with it, and
        // `take_result` and `drop_join_interest` need the handle, which is
        // borrowed for this call. Among the handle's borrowers, `lent`
        // (set above, cleared below, both under the lock) lets only this
        // call read the slot until it is done, so the shared borrow is
        // never used from two threads at once, even for a payload that is
        // not `Sync`.
        let slot = unsafe { &*(this.vtable.result_slot)(this.0) };
        let mut interrupted = None;
        let mut next = link;
        loop {
            crate::interrupt::call_keeping_interrupt(
                || next(this, slot),
                &mut interrupted,
                |payload| crate::failure::report_link_panic(this, payload),
            );
            let mut waiters = this.waiters();
            match waiters.pop_link() {
                Some(link) => next = link,
                None => {
                    waiters.links().lent = false;
                    break;
                }
            }
        }
        crate::interrupt::resume_kept(interrupted);
    }

    /// Removes a link that has not run yet; returns whether there was one.
    pub fn remove_link(&self, id: u64) -> bool {
        let removed = self.waiters().links.as_mut().and_then(|links| {
            let i = links.queue.iter().position(|(l, _)| *l == id)?;
            links.queue.remove(i)
        });
        // The closure is dropped outside the lock: its captures' destructors
        // may take it again (a JoinHandle of this very task).
        removed.is_some()
    }

    /// Removes every link that has not run yet.
    pub fn remove_all_links(&self) {
        let removed = self.waiters().links.as_mut().map(|links| std::mem::take(&mut links.queue));
        // Dropped outside the lock, as in `remove_link`.
        drop(removed);
    }

    /// Whether links wait to run.
    pub fn has_links(&self) -> bool {
        self.waiters().links.as_ref().is_some_and(|links| !links.queue.is_empty())
    }

    /// Runs the task's links, marks it complete, wakes its joiners, and
    /// reports a failure that nobody will join. Called on the owner hub,
    /// outside any coroutine, once the result is written.
    pub fn finish(this: &TaskRef) {
        let (old, wakers) = loop {
            let mut waiters = this.waiters();
            if let Some(link) = waiters.pop_link() {
                drop(waiters);
                Header::run_links_at_finish(this, link);
                continue;
            }
            // COMPLETE is set under the lock with no link left, so a link
            // added concurrently either is seen here or sees COMPLETE.
            let old = this.join.fetch_or(COMPLETE, Ordering::AcqRel);
            break (old, std::mem::take(&mut waiters.wakers));
        };
        if old & JOIN_INTEREST == 0 {
            // SAFETY: nobody can join any more, so the slot is ours.
            unsafe { Header::drop_unjoined_result(this) };
        }
        for w in wakers {
            w.wake();
        }
    }

    /// Runs `first` and then every link still queued (those that links add
    /// included), in the hub's callback context, where blocking is refused.
    #[cold]
    #[inline(never)]
    fn run_links_at_finish(this: &TaskRef, first: LinkFn) {
        // SAFETY: the task is not complete yet and its coroutine is over (or
        // never existed), so the slot is the task's own: the join handle can
        // read it only after COMPLETE, which `finish` sets after the links
        // ran, and only this thread's `finish` touches it meanwhile. The
        // links only borrow it.
        let slot = unsafe { &*(this.vtable.result_slot)(this.0) };
        crate::hub::current().in_callback(|| {
            let mut next = Some(first);
            while let Some(link) = next {
                if let Err(payload) = run_link(this, link, slot) {
                    crate::failure::report_link_panic(this, &*payload);
                }
                next = this.waiters().pop_link();
            }
        });
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

/// Runs one link, catching its panic.
fn run_link(task: &Header, link: LinkFn, slot: &dyn Any) -> std::thread::Result<()> {
    crate::unwinding::catch(move || link(task, slot))
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
    fn a_coroutine_finishing_with_its_park_timer_armed_leaves_no_count_behind() {
        let (waker_tx, waker_rx) = std::sync::mpsc::channel();
        let (task, handle) = spawn_reporting(move || {
            waker_tx.send(crate::park::waker()).unwrap();
            let far = std::time::Instant::now() + std::time::Duration::from_secs(3600);
            assert_eq!(crate::park::park_until(far), crate::park::Unparked::Woken);
        });
        while state_of(task.state.load(Ordering::Acquire)) != PARKED {
            crate::yield_now();
        }
        assert!(task.park_timer.is_armed());
        assert!(waker_rx.recv().unwrap().wake());
        handle.join().unwrap();
        assert!(!task.park_timer.is_armed(), "retiring the coroutine disarmed its stale park timer");
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

    #[test]
    fn links_leave_no_count_behind() {
        let (to_child, from_main) = crate::sync::mpsc::channel::<()>();
        let (task, handle) = spawn_reporting(move || {
            let _ = from_main.recv();
        });
        let (tx, rx) = crate::sync::mpsc::channel();
        let raw_tx = tx.clone();
        handle.rawlink(move |r| raw_tx.send(r.is_ok()).unwrap());
        let blocking_tx = tx.clone();
        handle.link(move |linked| {
            crate::sleep(std::time::Duration::from_micros(50));
            drop(linked);
            blocking_tx.send(true).unwrap();
        });
        let unlinked = handle.link(move |_| unreachable!("unlinked"));
        assert!(handle.unlink(unlinked));
        handle.link_value(move |linked| tx.send(linked.successful()).unwrap());
        to_child.send(()).unwrap();
        // Every sender has been dropped once all three links ran.
        assert_eq!(rx.iter().collect::<Vec<_>>(), [true, true, true]);
        handle.join().unwrap();
        assert_eq!(task.refs.load(Ordering::Acquire), 1, "only this test's reference is left");
        assert!(task.waiters().pop_link().is_none());
    }

    #[test]
    fn link_closures_are_consumed_or_dropped() {
        let dropped = Arc::new(AtomicUsize::new(0));
        struct CountDrop(Arc<AtomicUsize>);
        impl Drop for CountDrop {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let (to_child, from_main) = crate::sync::mpsc::channel::<()>();
        let (task, handle) = spawn_reporting(move || {
            let _ = from_main.recv();
        });
        let c = CountDrop(dropped.clone());
        handle.rawlink(move |_| drop(c));
        let c = CountDrop(dropped.clone());
        let unlinked = handle.rawlink(move |_| drop(c));
        assert!(handle.unlink(unlinked));
        assert_eq!(dropped.load(Ordering::SeqCst), 1, "an unlinked closure is dropped at once");
        drop(to_child);
        handle.join().unwrap();
        assert_eq!(dropped.load(Ordering::SeqCst), 2, "a fired closure is consumed");
        assert_eq!(task.refs.load(Ordering::Acquire), 1, "only this test's reference is left");
    }
}
