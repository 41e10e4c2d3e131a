//! The hub: one per thread, the scheduler every coroutine on that thread
//! runs under.
//!
//! A hub owns a FIFO run queue, a timer heap, an epoll instance, a pool of
//! stacks, and a queue through which other threads hand it work (wake-ups
//! and spawns), with an eventfd to wake it when it sleeps. When its run
//! queue is empty it waits in `epoll_pwait2` until the next timer's
//! deadline, to the nanosecond (`sys::epoll_wait`).
//!
//! # Who runs the loop
//!
//! The thread's own code is the *main context*, gevent's main greenlet. When
//! it would block (a `join`, a `sleep`, a socket read), it parks like any
//! coroutine, and parking the main context means running the hub's loop on
//! the thread's own stack until main is put back on the run queue. A
//! `Runtime` worker is a thread whose main context does nothing but park
//! until shutdown, so its whole life is the loop.
//!
//! Coroutines never run the loop; they suspend back into it. A coroutine
//! that yields or parks may first run the next runnable coroutines itself,
//! from its own stack, which spares two stack switches per hand-off
//! (`hosting`); when the loop has work to do (I/O, timers, a finished
//! coroutine), it suspends back into the loop like any other. Coroutines
//! never move to another hub, so `thread_local!` values and non-`Send`
//! data inside a coroutine stay sound.

use std::cell::{Cell, UnsafeCell};
use std::io;
use std::os::fd::RawFd;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use corosensei::CoroutineResult;

use crate::asan_fiber::Resume;
use crate::run_queue::RunQueue;
use crate::stack::{StackPool, DEFAULT_STACK_SIZE};
use crate::sync::state_mutex::{lock, StateMutex};
use crate::sys;
use crate::task::{pack, state_of, Header, Kind, NewTask, Reason, Suspend, TaskRef, KILL, QUEUED, RUNNING};
use crate::timer::{TimerAction, Timers};

mod hosting;

/// How many coroutine runs pass between two polls of I/O and timers while
/// the run queue stays busy (the same trade-off as tokio's event interval).
pub(crate) const EVENT_INTERVAL: u32 = 61;

/// epoll data value that marks the hub's own eventfd.
const WAKE_TOKEN: u64 = u64::MAX;

/// Rounds of killing at teardown before leftover coroutines are leaked.
const TEARDOWN_ROUNDS: usize = 4;

/// How many times teardown yields the thread, at most, waiting for
/// wake-ups other threads are handing over (see `Hub::live_queued`).
const TEARDOWN_WAITS: usize = 100_000;

/// Settings of one hub.
#[derive(Clone, Debug)]
pub(crate) struct HubConfig {
    pub stack_size: usize,
    /// The monitor's max blocking time for this hub; `None` leaves it
    /// unwatched.
    pub max_blocking_time: Option<Duration>,
}

impl HubConfig {
    /// Settings for a hub created lazily on a plain thread.
    pub fn from_env() -> Self {
        let stack_size =
            std::env::var("VERDE_STACK_SIZE").ok().and_then(|v| v.trim().parse().ok()).unwrap_or(DEFAULT_STACK_SIZE);
        HubConfig { stack_size, max_blocking_time: crate::monitor::max_blocking_time_from_env() }
    }
}

/// The part of a hub other threads may touch.
pub(crate) struct HubShared {
    remote: StateMutex<RemoteQueue>,
    remote_pending: AtomicBool,
    sleeping: AtomicBool,
    wake_fd: RawFd,
    pub epoll_fd: RawFd,
    /// Set by `Runtime` to stop a worker.
    pub shutdown: AtomicBool,
    /// The parked main context of a worker, woken at shutdown.
    pub main_waker: Mutex<Option<crate::Waker>>,
    /// fds registered with this hub's epoll.
    pub io_registered: AtomicUsize,
    /// Stack size for coroutines spawned here without an explicit size.
    pub stack_size: usize,
}

#[derive(Default)]
struct RemoteQueue {
    tasks: Vec<TaskRef>,
    closed: bool,
}

impl HubShared {
    /// Hands a task to this hub from another thread. Gives it back if the
    /// hub's thread has torn the hub down: the task can never run there.
    pub fn push_remote(&self, task: TaskRef) -> Result<(), TaskRef> {
        let mut q = lock(&self.remote);
        if q.closed {
            return Err(task);
        }
        q.tasks.push(task);
        drop(q);
        self.remote_pending.store(true, Ordering::SeqCst);
        if self.sleeping.swap(false, Ordering::SeqCst) {
            self.kick();
        }
        Ok(())
    }

    /// Wakes the hub out of `epoll_wait`.
    pub fn kick(&self) {
        let _ = sys::write(self.wake_fd, &1u64.to_ne_bytes());
    }
}

impl Drop for HubShared {
    fn drop(&mut self) {
        let _ = sys::close(self.wake_fd);
        let _ = sys::close(self.epoll_fd);
    }
}

/// A thread's scheduler. Lives in thread-local storage; see [`current`].
pub(crate) struct Hub {
    pub shared: Arc<HubShared>,
    run_queue: UnsafeCell<RunQueue>,
    timers: UnsafeCell<Timers>,
    stacks: UnsafeCell<StackPool>,
    live: UnsafeCell<Vec<TaskRef>>,
    pub main: TaskRef,
    /// Coroutines (or main) parked waiting for fd readiness on this hub.
    pub io_waiters: Cell<usize>,
    events: UnsafeCell<Vec<libc::epoll_event>>,
    switch_target: UnsafeCell<Option<TaskRef>>,
    /// The main context waiting in [`wait_idle`](crate::wait_idle) for the
    /// last coroutine to end: its waker, and the deadline at which the
    /// hub's waits stop to wake it.
    idle_waker: Cell<Option<crate::park::Waker>>,
    idle_deadline: Cell<Option<Instant>>,
    /// Set when the hub's loop found, while main waited in `wait_idle`,
    /// that nothing could ever run again (gevent's loop exit).
    loop_exited: Cell<bool>,
    /// Runtime workers skip would-block-forever detection: their main
    /// context waits for a shutdown that comes from another thread.
    is_worker: Cell<bool>,
    /// Set while `teardown` runs: coroutines spawned from other threads
    /// that arrive meanwhile are killed before they start.
    tearing_down: Cell<bool>,
    /// Set while the hub runs user callbacks itself, outside any coroutine
    /// (a finished coroutine's rawlinks): blocking there is refused.
    in_callback: Cell<bool>,
    /// Set while a coroutine runs others from its own stack (see
    /// `hosting`), whose hand-offs must then go back to it, and from the
    /// start of teardown, whose kill rounds go through the loop: no
    /// coroutine may host meanwhile.
    no_hosting: Cell<bool>,
    /// Where a coroutine that stopped hosting goes (`Suspend::Unhosted`):
    /// `Some(i)`, after a yield, is its place in the run queue; `None`
    /// leaves it parked.
    unhost_at: Cell<Option<usize>>,
    /// A coroutine a host ran that finished (true) or made a greenlet
    /// switch (false), for the hub to deal with once the host has stopped.
    handed_back: UnsafeCell<Option<(TaskRef, bool)>>,
    /// What this hub tells the monitor.
    pub probe: crate::monitor::Probe,
    _altstack: crate::stack_overflow::AltStack,
}

thread_local! {
    /// The thread's hub, or null before first use and after teardown. A
    /// const-initialised Cell with no destructor: reading it is a plain TLS
    /// load, safe in the stack-overflow signal handler and during teardown.
    static CURRENT: Cell<*const Hub> = const { Cell::new(ptr::null()) };
    /// The coroutine running on this thread, or null in the main context.
    /// Kept apart from the hub so a coroutine finds itself with one load.
    static RUNNING_TASK: Cell<*const Header> = const { Cell::new(ptr::null()) };
    /// Owns the hub and tears it down when the thread exits.
    static OWNER: HubOwner = const { HubOwner(Cell::new(ptr::null_mut())) };
}

/// The thread's hub, from `Box::into_raw`: kept as a raw pointer, not a
/// `Box`, because `CURRENT` and every `&'static Hub` handed out alias it,
/// which a `Box` (unique by contract) must not be.
struct HubOwner(Cell<*mut Hub>);

impl Drop for HubOwner {
    fn drop(&mut self) {
        let p = self.0.replace(ptr::null_mut());
        if !p.is_null() {
            // SAFETY: `p` came from `Box::into_raw` in `init` and is still
            // live: only this drop frees it.
            let hub = unsafe { &*p };
            hub.teardown();
            CURRENT.with(|c| c.set(ptr::null()));
            // SAFETY: as above; CURRENT no longer points to it, and the
            // teardown has ended every use of it on this thread.
            drop(unsafe { Box::from_raw(p) });
        }
    }
}

/// The calling thread's hub, created on first use.
#[inline]
pub(crate) fn current() -> &'static Hub {
    let p = CURRENT.with(|c| c.get());
    if p.is_null() {
        init_default()
    } else {
        // SAFETY: CURRENT points to the hub owned by OWNER, which lives until
        // the thread's TLS destructors run; teardown resets CURRENT first.
        unsafe { &*p }
    }
}

#[cold]
#[inline(never)]
fn init_default() -> &'static Hub {
    init(HubConfig::from_env())
}

/// The calling thread's hub if it has one, without creating it.
#[inline]
pub(crate) fn try_current() -> Option<&'static Hub> {
    let p = CURRENT.with(|c| c.get());
    // SAFETY: as in `current`.
    (!p.is_null()).then(|| unsafe { &*p })
}

/// Creates the calling thread's hub with `config`.
pub(crate) fn init(config: HubConfig) -> &'static Hub {
    let hub = Box::new(Hub::new(config).unwrap_or_else(|e| panic!("verde: cannot create a hub: {e}")));
    let p = Box::into_raw(hub);
    let installed = OWNER.try_with(|o| {
        assert!(CURRENT.with(|c| c.get()).is_null(), "verde: this thread already has a hub");
        o.0.set(p);
    });
    if installed.is_err() {
        // SAFETY: `p` came from `Box::into_raw` just above and nothing else
        // holds it.
        drop(unsafe { Box::from_raw(p) });
        panic!("verde: a blocking call was made while this thread is exiting; its hub is gone");
    }
    CURRENT.with(|c| c.set(p));
    // SAFETY: the hub is now owned by OWNER; see `current`.
    let hub = unsafe { &*p };
    // SAFETY: the hub stays in its Box, where the probe is a field, until
    // the hub drops, and the probe's own drop unregisters it.
    unsafe { hub.probe.register() };
    hub
}

/// The running coroutine on this thread, without touching the hub.
#[inline(always)]
pub(crate) fn running_coroutine() -> Option<&'static Header> {
    let p = RUNNING_TASK.with(|r| r.get());
    // SAFETY: RUNNING is set only while that task runs on this thread, and
    // the hub's live list keeps it alive meanwhile; the 'static does not
    // outlive the caller's use during the task's own run.
    (!p.is_null()).then(|| unsafe { &*p })
}

#[inline(always)]
fn set_running(task: *const Header) {
    RUNNING_TASK.with(|r| r.set(task));
}

/// Whether `shared` is the calling thread's hub.
#[inline]
pub(crate) fn is_current_hub(shared: &Arc<HubShared>) -> bool {
    try_current().is_some_and(|h| Arc::ptr_eq(&h.shared, shared))
}

#[cold]
#[inline(never)]
fn blocking_in_callback() -> ! {
    panic!(
        "verde: a rawlink callback must not block: it runs in the hub, outside any coroutine \
         (use JoinHandle::link to run blocking code in a coroutine)"
    );
}

/// Puts a woken task on its hub's run queue, from any thread.
#[inline]
pub(crate) fn schedule(task: TaskRef) {
    match try_current() {
        Some(hub) if Arc::ptr_eq(&hub.shared, &task.hub) => hub.push_local(task),
        _ => schedule_remote(task),
    }
}

/// [`schedule`] for a task of another thread's hub. Out of line, so that a
/// wake on the task's own thread, the common case, is not slowed by it.
#[inline(never)]
fn schedule_remote(task: TaskRef) {
    let shared = Arc::clone(&task.hub);
    // A task refused by a torn-down hub is dropped: its coroutine was
    // unwound or left behind by that teardown.
    drop(shared.push_remote(task));
}

impl Hub {
    fn new(config: HubConfig) -> io::Result<Hub> {
        crate::stack_overflow::install_handler();
        let epoll_fd = sys::epoll_create()?;
        let wake_fd = match sys::eventfd() {
            Ok(fd) => fd,
            Err(e) => {
                let _ = sys::close(epoll_fd);
                return Err(e);
            }
        };
        let shared = Arc::new(HubShared {
            remote: StateMutex::new(RemoteQueue::default()),
            remote_pending: AtomicBool::new(false),
            sleeping: AtomicBool::new(false),
            wake_fd,
            epoll_fd,
            shutdown: AtomicBool::new(false),
            main_waker: Mutex::new(None),
            io_registered: AtomicUsize::new(0),
            stack_size: config.stack_size,
        });
        sys::epoll_ctl(epoll_fd, libc::EPOLL_CTL_ADD, wake_fd, libc::EPOLLIN as u32, WAKE_TOKEN)?;
        let main = TaskRef::new::<()>(NewTask {
            hub: Arc::clone(&shared),
            name: std::thread::current().name().map(Into::into),
            kind: Kind::Main,
            stack_size: 0,
            initial_state: pack(0, 0, RUNNING),
        });
        Ok(Hub {
            shared,
            run_queue: UnsafeCell::new(RunQueue::new()),
            timers: UnsafeCell::new(Timers::default()),
            stacks: UnsafeCell::new(StackPool::new()),
            live: UnsafeCell::new(Vec::new()),
            main,
            io_waiters: Cell::new(0),
            events: UnsafeCell::new(vec![libc::epoll_event { events: 0, u64: 0 }; 256]),
            switch_target: UnsafeCell::new(None),
            idle_waker: Cell::new(None),
            idle_deadline: Cell::new(None),
            loop_exited: Cell::new(false),
            is_worker: Cell::new(false),
            tearing_down: Cell::new(false),
            in_callback: Cell::new(false),
            no_hosting: Cell::new(false),
            unhost_at: Cell::new(None),
            handed_back: UnsafeCell::new(None),
            probe: crate::monitor::Probe::new(config.max_blocking_time),
            _altstack: crate::stack_overflow::AltStack::ensure(),
        })
    }

    /// The running task: the current coroutine, or the main context.
    #[inline]
    pub fn current_task(&self) -> &Header {
        running_coroutine().unwrap_or(&self.main)
    }

    /// A counted reference to the running task: the one the hub left in it
    /// at its last park, if a waker has not taken it (see
    /// `Header::stash_own_ref`), or a new count.
    #[inline]
    pub fn current_task_ref(&self) -> TaskRef {
        self.current_task().take_own_ref()
    }

    #[inline]
    pub fn push_local(&self, task: TaskRef) {
        // SAFETY: the run queue is only touched on this thread, in short
        // calls that never re-enter each other.
        unsafe { (*self.run_queue.get()).push_back(task) }
    }

    #[inline]
    fn push_front(&self, task: TaskRef) {
        // SAFETY: as in `push_local`.
        unsafe { (*self.run_queue.get()).push_front(task) }
    }

    #[inline]
    fn pop_local(&self) -> Option<TaskRef> {
        // SAFETY: as in `push_local`.
        unsafe { (*self.run_queue.get()).pop_front() }
    }

    #[inline]
    fn rotate(&self, task: TaskRef) -> TaskRef {
        // SAFETY: as in `push_local`.
        unsafe { (*self.run_queue.get()).rotate(task) }
    }

    fn run_queue_len(&self) -> usize {
        // SAFETY: as in `push_local`.
        unsafe { (*self.run_queue.get()).len() }
    }

    fn run_queue_is_empty(&self) -> bool {
        // SAFETY: as in `push_local`.
        unsafe { (*self.run_queue.get()).is_empty() }
    }

    /// Runs `f` with the timer heap. `f` must not call back into the hub.
    #[inline]
    pub fn with_timers<R>(&self, f: impl FnOnce(&mut Timers) -> R) -> R {
        // SAFETY: the heap is only touched on this thread, and `f` does not
        // re-enter the hub.
        f(unsafe { &mut *self.timers.get() })
    }

    /// Runs `f` with the stack pool. `f` must not call back into the hub.
    #[inline]
    pub fn with_stacks<R>(&self, f: impl FnOnce(&mut StackPool) -> R) -> R {
        // SAFETY: as in `with_timers`.
        f(unsafe { &mut *self.stacks.get() })
    }

    /// Tracks a new coroutine so teardown and the monitor can find it.
    pub fn add_live(&self, task: TaskRef) {
        // SAFETY: the live list is only touched on this thread, in short
        // non-reentrant calls.
        let live = unsafe { &mut *self.live.get() };
        task.live_index.set(live.len());
        live.push(task);
    }

    fn remove_live(&self, task: &Header) {
        // SAFETY: as in `add_live`.
        let live = unsafe { &mut *self.live.get() };
        let i = task.live_index.get();
        let removed = live.swap_remove(i);
        if let Some(moved) = live.get(i) {
            moved.live_index.set(i);
        }
        task.live_index.set(usize::MAX);
        drop(removed);
        if live.is_empty() {
            self.wake_idle_waiter();
        }
    }

    /// Registers the main context's `wait_idle`: `waker` fires when the
    /// last coroutine ends, when `deadline` passes, or when the loop finds
    /// nothing can ever run again.
    pub(crate) fn wait_idle_with(&self, waker: crate::park::Waker, deadline: Option<Instant>) {
        self.idle_deadline.set(deadline);
        self.idle_waker.set(Some(waker));
    }

    /// Ends `wait_idle`'s registration. Returns whether the loop exited
    /// (nothing could ever run again) while it was in place.
    pub(crate) fn end_wait_idle(&self) -> bool {
        self.idle_deadline.set(None);
        drop(self.idle_waker.take());
        self.loop_exited.replace(false)
    }

    fn wake_idle_waiter(&self) {
        if let Some(w) = self.idle_waker.take() {
            self.idle_deadline.set(None);
            w.wake();
        }
    }

    /// Called when the main context's park would block forever: if main is
    /// in `wait_idle`, that wait is over (the loop has exited, as gevent's
    /// does under greenlets nothing can wake) instead of failing.
    pub(crate) fn loop_exit_ends_wait_idle(&self) -> bool {
        if self.idle_waker.take().is_none() {
            return false;
        }
        self.idle_deadline.set(None);
        self.loop_exited.set(true);
        true
    }

    /// Number of coroutines alive on this hub.
    pub fn live_count(&self) -> usize {
        // SAFETY: as in `add_live`.
        unsafe { (*self.live.get()).len() }
    }

    /// Sets the task a greenlet switch resumes next.
    pub fn set_switch_target(&self, task: TaskRef) {
        // SAFETY: only touched on this thread, between a coroutine's
        // suspend and the hub's handling of it.
        unsafe { *self.switch_target.get() = Some(task) }
    }

    fn take_switch_target(&self) -> Option<TaskRef> {
        // SAFETY: as in `set_switch_target`.
        unsafe { (*self.switch_target.get()).take() }
    }

    /// Runs `f`, a user callback the hub calls itself, outside any
    /// coroutine. Blocking inside it panics (see `refuse_blocking_in_callback`).
    pub fn in_callback<R>(&self, f: impl FnOnce() -> R) -> R {
        struct Restore<'a>(&'a Cell<bool>, bool);
        impl Drop for Restore<'_> {
            fn drop(&mut self) {
                self.0.set(self.1);
            }
        }
        let _restore = Restore(&self.in_callback, self.in_callback.replace(true));
        f()
    }

    /// Panics if the hub is running a callback (`in_callback`). Called
    /// before the main context would park, yield or switch: inside a hub
    /// callback that would run the loop from within the loop, with the main
    /// context's own park (its seq, its interrupt) still pending, and
    /// corrupt it. gevent refuses it the same way (`BlockingSwitchOutError`).
    #[inline]
    pub fn refuse_blocking_in_callback(&self) {
        if self.in_callback.get() {
            blocking_in_callback();
        }
    }

    /// Queues a greenlet switch target from the main context and runs the
    /// loop until main is switched back into.
    pub fn main_switch_to(&self, target: TaskRef) -> Result<(), crate::deadlock::WouldBlockForever> {
        self.refuse_blocking_in_callback();
        self.push_front(target);
        self.run_main()
    }

    /// Runs the loop until the main context is taken off the run queue.
    pub fn run_main(&self) -> Result<(), crate::deadlock::WouldBlockForever> {
        loop {
            while let Some(task) = self.pop_local() {
                if task.kind == Kind::Main {
                    // The main context counts as a run too: one that only
                    // yields, with nothing else runnable, must still let
                    // due timers, I/O and other threads' wake-ups in.
                    if self.tick() {
                        self.poll(false)?;
                    }
                    self.probe.idle();
                    return Ok(());
                }
                if self.run_task(task) {
                    self.poll(false)?;
                }
            }
            self.poll(true)?;
        }
    }

    /// Counts one coroutine run; true when it is time to poll for I/O and
    /// timers. The budget lives in the monitor's probe, which watches it.
    #[inline(always)]
    fn tick(&self) -> bool {
        self.probe.tick()
    }

    /// Resumes `task` and whatever follows it directly: a coroutine that
    /// yields or parks hands the CPU straight to the next runnable one, and
    /// greenlet switches chain into their target, without a trip through
    /// the loop. Returns true when the hub should poll before running more.
    ///
    /// Every coroutine task on the run queue has its coroutine: local
    /// spawns create it at once, remote ones get it when they leave the
    /// remote queue (`drain_remote`), and a finished task is never
    /// rescheduled (its wakers' seqs are stale and it is not PARKED). The
    /// main context never has one, so the check for a coroutine at the top
    /// of the loop is also where the main context, next after a yield, a
    /// park or a switch, is put back at the front for `run_main` to take.
    ///
    /// The thread's running coroutine (`running_coroutine`) is set before
    /// each resume and cleared before the hub runs anything that might ask
    /// for it (a finished coroutine's rawlinks, the loop); between a yield
    /// or park and the resume it chains into, only this scheduling code
    /// runs, so it is not cleared there.
    fn run_task(&self, mut task: TaskRef) -> bool {
        loop {
            // SAFETY: `coro` is only touched on the owner hub's thread, and
            // nothing else holds a reference to it during this call.
            let Some(c) = (unsafe { &mut *task.coro.get() }) else {
                return self.no_coroutine(task);
            };
            set_running(task.as_ptr());
            self.probe.resume(task.id);
            let asan = Resume::start(&task.asan);
            let result = c.resume(());
            asan.finish();
            if let CoroutineResult::Yield(Suspend::Yield) = result {
                if self.tick() {
                    return self.yield_to_poll(task);
                }
                task = self.rotate(task);
                // The check at the top of the loop, made here too: the
                // compiler then sends a yield straight back to the resume,
                // with the check at the top skipped, and saves a jump per
                // switch.
                // SAFETY: as above.
                if unsafe { (*task.coro.get()).is_none() } {
                    return self.no_coroutine(task);
                }
            } else if let CoroutineResult::Yield(Suspend::Park) = result {
                // Like a yield, a park hands the CPU straight to the next
                // runnable task. The parked one is held by whoever will
                // wake it; the hub's reference waits in the task for its
                // next waker.
                Header::stash_own_ref(task);
                if self.tick() {
                    return self.stop_after_park(true);
                }
                match self.pop_local() {
                    Some(next) => task = next,
                    None => return self.stop_after_park(false),
                }
            } else {
                match self.after_switch_or_return(task, result) {
                    Some(next) => task = next,
                    None => return self.tick(),
                }
            }
        }
    }

    /// `run_task`'s exit after a park when it is time to poll, or there is
    /// no task to hand the CPU to.
    #[cold]
    #[inline(never)]
    fn stop_after_park(&self, poll: bool) -> bool {
        set_running(ptr::null());
        poll
    }

    /// After a greenlet switch, the coroutine's return, or the end of its
    /// hosting: the task to run next, if there is one. Kept out of line so
    /// as not to slow `run_task`'s yield and park paths.
    #[inline(never)]
    fn after_switch_or_return(&self, task: TaskRef, result: CoroutineResult<Suspend, ()>) -> Option<TaskRef> {
        set_running(ptr::null());
        match result {
            CoroutineResult::Return(()) => self.retire(task),
            CoroutineResult::Yield(Suspend::Unhosted) => return self.after_unhost(task),
            _ => drop(task),
        }
        self.take_switch_target()
    }

    /// `run_task`'s exit for a task without a coroutine: the main context,
    /// which goes back to the front of the run queue for `run_main`.
    #[cold]
    #[inline(never)]
    fn no_coroutine(&self, task: TaskRef) -> bool {
        set_running(ptr::null());
        if task.kind == Kind::Main {
            self.push_front(task);
        } else {
            debug_assert!(false, "a queued task has no coroutine");
        }
        false
    }

    /// `run_task`'s exit when a yield spent the budget: the yielder goes to
    /// the back of the run queue and the hub polls.
    #[cold]
    #[inline(never)]
    fn yield_to_poll(&self, task: TaskRef) -> bool {
        set_running(ptr::null());
        self.push_local(task);
        true
    }

    /// Creates the coroutine of a task spawned from another thread. Returns
    /// false if that failed; the task is then finished with the error.
    fn materialize(&self, task: &TaskRef) -> bool {
        // SAFETY: `start` is only touched on the owner hub's thread; the task
        // reached this thread through the mutex-protected remote queue.
        let start = unsafe { (*task.start.get()).take() };
        let Some(start) = start else {
            // A woken task whose coroutine is already gone (it finished or
            // was torn down): nothing to run.
            return false;
        };
        match self.with_stacks(|p| p.acquire(task.stack_size)) {
            Ok(stack) => {
                task.guard.set(stack.guard_range());
                task.asan.set_stack(&stack);
                let coro = crate::task::Coro::with_stack(stack, move |y: &crate::task::CoroYielder, ()| start(y));
                // SAFETY: owner thread, see above.
                unsafe { *task.coro.get() = Some(coro) };
                if self.tearing_down.get() {
                    // Its body sees the kill before it calls the function.
                    task.interrupt.fetch_min(KILL, Ordering::AcqRel);
                }
                self.add_live(task.clone());
                true
            }
            Err(e) => {
                log::error!("verde: cannot start coroutine '{}': {e}", task.display_name());
                crate::spawn::fail_unstarted(task, Box::new(e));
                false
            }
        }
    }

    /// Finishes a coroutine that returned: recycles its stack.
    fn retire(&self, task: TaskRef) {
        // SAFETY: owner thread; the coroutine has returned.
        let coro = unsafe { (*task.coro.get()).take() }.expect("a returning task has a coroutine");
        let stack = coro.into_stack();
        self.with_stacks(|p| p.release(stack));
        task.drop_own_ref();
        drop(crate::park_timer::disarm(self, &task));
        self.remove_live(&task);
        Header::finish(&task);
    }

    /// Fires expired timers, takes remote work, and waits for I/O. With
    /// `block`, waits until something happens if the run queue is empty.
    fn poll(&self, block: bool) -> Result<(), crate::deadlock::WouldBlockForever> {
        self.probe.polled();
        // The clock is read only when a timer is armed: a hub of coroutines
        // that only yield polls often and needs no time.
        let now = self.with_timers(|t| t.next_deadline()).map(|_| Instant::now());
        if let Some(now) = now {
            self.fire_timers(now);
        }
        self.drain_remote();
        // How long to wait for events: `Some(ZERO)` only looks, `None` waits
        // until one comes.
        let mut timeout = Some(Duration::ZERO);
        if block && self.run_queue_is_empty() {
            // Stale park timers (`crate::park_timer`) wait for nothing: with
            // only those armed, nothing here can wake main. They still bound
            // the wait, which then ends once, when one expires.
            let (next, live) = self.with_timers(|t| (t.next_deadline(), t.has_live()));
            if !live && !self.is_worker.get() && self.io_waiters.get() == 0 && !crate::deadlock::someone_could_wake() {
                return Err(crate::deadlock::WouldBlockForever);
            }
            timeout = next.map(|d| d.saturating_duration_since(now.unwrap_or_else(Instant::now)));
            if let Some(idle) = self.idle_deadline.get() {
                let left = idle.saturating_duration_since(now.unwrap_or_else(Instant::now));
                timeout = Some(timeout.map_or(left, |t| t.min(left)));
            }
        }
        if timeout != Some(Duration::ZERO) {
            self.probe.idle();
            self.with_stacks(|p| p.trim());
            self.shared.sleeping.store(true, Ordering::SeqCst);
            if self.shared.remote_pending.load(Ordering::SeqCst) || self.shared.shutdown.load(Ordering::SeqCst) {
                timeout = Some(Duration::ZERO);
            }
        }
        if timeout != Some(Duration::ZERO) || self.shared.io_registered.load(Ordering::Relaxed) > 0 {
            self.wait_events(timeout);
        }
        self.shared.sleeping.store(false, Ordering::Relaxed);
        self.drain_remote();
        if timeout != Some(Duration::ZERO) {
            let now = Instant::now();
            self.fire_timers(now);
            if self.idle_deadline.get().is_some_and(|d| now >= d) {
                self.wake_idle_waiter();
            }
        }
        Ok(())
    }

    fn wait_events(&self, timeout: Option<Duration>) {
        // SAFETY: the event buffer is only touched here, on this thread, and
        // dispatching an event does not re-enter `wait_events`.
        let events = unsafe { &mut *self.events.get() };
        let n = match sys::epoll_wait(self.shared.epoll_fd, events, timeout) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => 0,
            Err(e) => panic!("verde: epoll_wait failed: {e}"),
        };
        for ev in &events[..n] {
            let data = ev.u64;
            if data == WAKE_TOKEN {
                let mut buf = [0u8; 8];
                let _ = sys::read(self.shared.wake_fd, &mut buf);
            } else {
                crate::io::dispatch(data, ev.events);
            }
        }
    }

    fn fire_timers(&self, now: Instant) {
        while let Some(action) = self.with_timers(|t| t.pop_expired(now)) {
            match action {
                TimerAction::ParkDeadline { task } => crate::park_timer::expired(self, task, now),
                TimerAction::Interrupt { task, code } => Header::post_interrupt(&task, code),
                TimerAction::Start { task } => {
                    Header::wake(task, 0, Reason::Woken);
                }
            }
        }
    }

    /// Takes the work other threads handed this hub.
    #[inline]
    fn drain_remote(&self) {
        // A plain load first, inline: a busy hub polls every
        // `EVENT_INTERVAL` runs, and the flag is almost always clear, so the
        // swap's locked read-modify-write and the call are paid only when
        // there is work.
        if self.shared.remote_pending.load(Ordering::Acquire) {
            self.drain_remote_pending();
        }
    }

    #[inline(never)]
    fn drain_remote_pending(&self) {
        if !self.shared.remote_pending.swap(false, Ordering::AcqRel) {
            return;
        }
        let tasks = std::mem::take(&mut lock(&self.shared.remote).tasks);
        self.accept_remote(tasks);
    }

    /// Puts tasks other threads handed over on the run queue, creating the
    /// coroutines of those spawned from there.
    fn accept_remote(&self, tasks: Vec<TaskRef>) {
        for t in tasks {
            // SAFETY: owner thread; the task came through the remote queue.
            if t.kind == Kind::Coroutine && unsafe { (*t.coro.get()).is_none() } && !self.materialize(&t) {
                continue;
            }
            self.push_local(t);
        }
    }

    /// Kills every coroutine still on the hub and waits for them to unwind,
    /// then releases the hub's resources. Runs when the thread exits (or a
    /// `Runtime` worker stops).
    pub fn teardown(&self) {
        // Other threads may hand over work until the kill rounds are over
        // (`drain_without_blocking` takes it): a coroutine woken from
        // another thread is QUEUED, so a kill no longer schedules it, and
        // were its wake-up refused, it would never run to be unwound.
        self.tearing_down.set(true);
        self.no_hosting.set(true);
        let mut waits = 0;
        for _ in 0..TEARDOWN_ROUNDS {
            // SAFETY: as in `add_live`; the clone ends the borrow before any
            // coroutine runs.
            let live: Vec<TaskRef> = unsafe { (*self.live.get()).clone() };
            for t in &live {
                Header::post_interrupt(t, KILL);
            }
            self.drain_without_blocking();
            // A live coroutine left QUEUED was woken by another thread that
            // has yet to hand it over (it marks the task before it pushes
            // it): its kill runs once it arrives, so wait for it.
            while waits < TEARDOWN_WAITS && self.live_queued() {
                waits += 1;
                std::thread::yield_now();
                self.drain_without_blocking();
            }
            if self.live_count() == 0 {
                break;
            }
        }
        let handed_over = {
            let mut q = lock(&self.shared.remote);
            q.closed = true;
            std::mem::take(&mut q.tasks)
        };
        self.accept_remote(handed_over);
        self.drain_without_blocking();
        // Whatever is still alive refused to die; forget its coroutine so its
        // stack is never touched again (the pool then leaks the slab).
        // SAFETY: as in `add_live`.
        for t in std::mem::take(unsafe { &mut *self.live.get() }) {
            // SAFETY: owner thread.
            if let Some(c) = unsafe { (*t.coro.get()).take() } {
                std::mem::forget(c);
            }
            t.drop_own_ref();
            log::warn!("verde: coroutine '{}' survived teardown; leaking it", t.display_name());
        }
        let drained = self.with_timers(|t| t.drain());
        for action in &drained {
            if let TimerAction::ParkDeadline { task } = action {
                crate::park_timer::forget_drained(task);
            }
        }
        drop(drained);
        if let Ok(mut w) = self.shared.main_waker.lock() {
            w.take();
        }
        // The thread's main context is done: drop its coroutine-locals here,
        // on its thread. (The survivors above keep theirs, leaked with their
        // stacks: a frozen frame may still be reading them.)
        crate::local::drop_all(&self.main);
    }

    /// Whether a live coroutine is QUEUED, once the run queue is empty: a
    /// wake-up from another thread is on its way.
    fn live_queued(&self) -> bool {
        // SAFETY: as in `add_live`; nothing runs during the look.
        unsafe { &*self.live.get() }.iter().any(|t| state_of(t.state.load(Ordering::Acquire)) == QUEUED)
    }

    /// Runs queued coroutines (and fires due timers) until none is runnable.
    fn drain_without_blocking(&self) {
        loop {
            let mut ran = false;
            while let Some(task) = self.pop_local() {
                if task.kind == Kind::Main {
                    continue;
                }
                ran = true;
                let _ = self.run_task(task);
            }
            self.fire_timers(Instant::now());
            self.drain_remote();
            if !ran && self.run_queue_is_empty() {
                break;
            }
        }
    }

    /// Marks this hub as a `Runtime` worker's.
    pub fn set_worker(&self) {
        self.is_worker.set(true);
    }
}
