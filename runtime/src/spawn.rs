//! Spawning coroutines: [`spawn`], [`spawn_local`], [`spawn_later`] and
//! [`Builder`].
//!
//! # Where a coroutine runs
//!
//! * Called inside a coroutine, `spawn` puts the new coroutine on the
//!   caller's hub.
//! * Called from a thread that has [entered](crate::Runtime::enter) a
//!   [`Runtime`](crate::Runtime), it spreads coroutines over the runtime's
//!   workers round-robin.
//! * Otherwise it puts it on the calling thread's own hub, created on first
//!   use; the coroutine runs whenever that thread blocks in verde (a `join`,
//!   `sleep`, socket call...), as with gevent's main greenlet.
//!
//! A coroutine never moves to another thread after it is spawned.

use std::io;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::hub::{self, Hub, HubShared};
use crate::join::JoinHandle;
use crate::task::{pack, CoroYielder, Header, Kind, NewTask, StartFn, TaskRef, KILL, PARKED, QUEUED, RUNNING};
use crate::timer::TimerAction;

/// Configures a coroutine before spawning it, like `std::thread::Builder`.
///
/// ```
/// let h = verde_runtime::Builder::new()
///     .name("worker".into())
///     .stack_size(64 * 1024)
///     .spawn(|| verde_runtime::current().name().map(str::to_owned))
///     .unwrap();
/// assert_eq!(h.join().unwrap().as_deref(), Some("worker"));
/// ```
#[derive(Clone, Debug, Default)]
#[must_use = "a Builder does nothing until you spawn with it"]
pub struct Builder {
    name: Option<String>,
    stack_size: Option<usize>,
}

/// When a new coroutine first runs.
#[derive(Clone, Copy)]
enum Start {
    Now,
    After(Duration),
}

impl Builder {
    /// A builder with no name and the hub's default stack size.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the coroutine. The name appears in panic reports, the monitor,
    /// and stack-overflow messages.
    pub fn name(mut self, name: String) -> Builder {
        self.name = Some(name);
        self
    }

    /// Sets the usable stack size in bytes (rounded up to whole pages).
    /// The default is [`DEFAULT_STACK_SIZE`](crate::DEFAULT_STACK_SIZE) or
    /// the runtime's setting.
    pub fn stack_size(mut self, size: usize) -> Builder {
        self.stack_size = Some(size);
        self
    }

    /// Spawns a coroutine; it runs where [`spawn`] would put it.
    ///
    /// # Errors
    ///
    /// Fails if no stack can be allocated; the error names the limit hit
    /// (`vm.max_map_count`, memory).
    pub fn spawn<F, T>(self, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.spawn_start(Start::Now, f)
    }

    /// Spawns a coroutine that starts after `delay` (gevent's
    /// `spawn_later`).
    pub fn spawn_later<F, T>(self, delay: Duration, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.spawn_start(Start::After(delay), f)
    }

    /// Spawns a coroutine on the calling thread's hub. Neither the closure
    /// nor its result need be `Send`, since they never leave this thread.
    pub fn spawn_local<F, T>(self, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + 'static,
        T: 'static,
    {
        self.spawn_here(hub::current(), Start::Now, f)
    }

    fn spawn_start<F, T>(self, start: Start, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let here = hub::current();
        if hub::running_coroutine().is_none() {
            if let Some(rt) = crate::runtime::entered() {
                return self.spawn_remote(&rt.pick(), start, f);
            }
        }
        self.spawn_here(here, start, f)
    }

    /// Spawns on `hub`, which may belong to another thread.
    pub(crate) fn spawn_on_hub<F, T>(self, target: &Arc<HubShared>, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        match hub::try_current() {
            Some(h) if Arc::ptr_eq(&h.shared, target) => self.spawn_here(h, Start::Now, f),
            _ => self.spawn_remote(target, Start::Now, f),
        }
    }

    fn spawn_here<F, T>(self, hub: &Hub, start: Start, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + 'static,
        T: 'static,
    {
        let stack_size = self.stack_size.unwrap_or(hub.shared.stack_size);
        let stack = hub.with_stacks(|p| p.acquire(stack_size))?;
        let initial = match start {
            Start::Now => QUEUED,
            Start::After(_) => PARKED,
        };
        let task = TaskRef::new::<T>(NewTask {
            hub: Arc::clone(&hub.shared),
            name: self.name.map(Into::into),
            kind: Kind::Coroutine,
            stack_size,
            initial_state: pack(0, 0, initial),
        });
        task.guard.set(stack.guard_range());
        task.asan.set_stack(&stack);
        let raw: *const Header = task.as_ptr();
        let coro = crate::task::Coro::with_stack(stack, move |y: &CoroYielder, ()| {
            // SAFETY: the hub's live list holds the task while its coroutine
            // runs, so `raw` is valid here.
            unsafe { run_body::<T, F>(&*raw, y, f) }
        });
        // SAFETY: the task was just created on this thread and is not shared
        // with its hub's loop yet.
        unsafe { *task.coro.get() = Some(coro) };
        hub.add_live(task.clone());
        match start {
            Start::Now => hub.push_local(task.clone()),
            Start::After(delay) => {
                let deadline = crate::park::deadline_after(delay);
                let action = TimerAction::Start { task: task.clone() };
                hub.with_timers(|t| t.insert(deadline, action));
            }
        }
        Ok(JoinHandle::new(task))
    }

    fn spawn_remote<F, T>(self, target: &Arc<HubShared>, start: Start, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let task = TaskRef::new::<T>(NewTask {
            hub: Arc::clone(target),
            name: self.name.map(Into::into),
            kind: Kind::Coroutine,
            stack_size: self.stack_size.unwrap_or(target.stack_size),
            initial_state: pack(0, 0, QUEUED),
        });
        let raw = task.as_ptr() as usize;
        let body: StartFn = Box::new(move |y: &CoroYielder| {
            // The delay is waited inside the body: its park needs the
            // yielder `run_body` sets, and a kill during it must end the
            // coroutine as `Killed` rather than unwind out of it.
            let f = move || {
                if let Start::After(delay) = start {
                    crate::sleep(delay);
                }
                f()
            };
            // SAFETY: as in `spawn_here`: the live list keeps the task alive
            // while its coroutine runs.
            unsafe { run_body::<T, _>(&*(raw as *const Header), y, f) }
        });
        // SAFETY: the task is not shared with any other thread yet.
        unsafe { *task.start.get() = Some(body) };
        let handle = JoinHandle::new(task.clone());
        if let Err(task) = target.push_remote(task) {
            // The hub's thread has torn it down: killed before it started,
            // as the coroutines that teardown found.
            // SAFETY: refused, the task never reached its hub, and the
            // handle is not out yet: nothing else touches its body.
            drop(unsafe { (*task.start.get()).take() });
            fail_unstarted(&task, Box::new(crate::Killed));
        }
        Ok(handle)
    }
}

/// The body of every coroutine: run `f`, catch its panic, store the result.
///
/// # Safety
///
/// `task` must be the task this coroutine belongs to, created for result
/// type `T`.
unsafe fn run_body<T, F: FnOnce() -> T>(task: &Header, y: &CoroYielder, f: F) {
    let _stack_done = task.asan.entered();
    task.yielder.set(y);
    task.state.store(pack(1, 0, RUNNING), Ordering::Release);
    let result = if task.interrupt.load(Ordering::Acquire) == KILL {
        // Killed before it ever ran: `f` is dropped without being called.
        drop(f);
        Err(Box::new(crate::Killed) as Box<dyn std::any::Any + Send>)
    } else {
        // Coroutine-locals are dropped when `f` ends, inside the coroutine.
        crate::unwinding::catch(|| crate::local::run_scoped(task, f))
    };
    // SAFETY: the caller guarantees `T`, and the task completes only after
    // this returns.
    unsafe { Header::write_result::<T>(task, result) };
}

/// Finishes a task whose coroutine could not be created, or that a
/// torn-down hub refused (it has no links or joiners yet then, so no hub
/// is needed to finish it).
pub(crate) fn fail_unstarted(task: &TaskRef, failure: Box<dyn std::any::Any + Send>) {
    // SAFETY: the task never ran, so its result slot is untouched.
    unsafe { Header::write_failure(task, failure) };
    Header::finish(task);
}

/// Spawns a coroutine running `f` and returns its handle.
///
/// # Where a coroutine runs
///
/// * Called inside a coroutine, `spawn` puts the new coroutine on the
///   caller's hub.
/// * Called from a thread that has [entered](crate::Runtime::enter) a
///   [`Runtime`](crate::Runtime), it spreads coroutines over the runtime's
///   workers round-robin.
/// * Otherwise it puts it on the calling thread's own hub, created on first
///   use; the coroutine runs whenever that thread blocks in verde (a `join`,
///   `sleep`, socket call...), as with gevent's main greenlet.
///
/// A coroutine never moves to another thread after it is spawned.
///
/// # Panics
///
/// Panics if no stack can be allocated, with a message naming the limit;
/// use [`Builder::spawn`] to get the error instead.
///
/// ```
/// let h = verde_runtime::spawn(|| 6 * 7);
/// assert_eq!(h.join().unwrap(), 42);
/// ```
pub fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    Builder::new().spawn(f).unwrap_or_else(|e| panic!("failed to spawn coroutine: {e}"))
}

/// Spawns a coroutine on the calling thread's hub; `f` and its result need
/// not be `Send`.
///
/// ```
/// use std::rc::Rc;
///
/// let shared = Rc::new(5);
/// let s = shared.clone();
/// let h = verde_runtime::spawn_local(move || *s + 1);
/// assert_eq!(h.join().unwrap(), 6);
/// ```
pub fn spawn_local<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + 'static,
    T: 'static,
{
    Builder::new().spawn_local(f).unwrap_or_else(|e| panic!("failed to spawn coroutine: {e}"))
}

/// Spawns a coroutine that starts running after `delay` (gevent's
/// `spawn_later`).
///
/// ```
/// use std::time::Duration;
///
/// let h = verde_runtime::spawn_later(Duration::from_millis(5), || "late");
/// assert_eq!(h.join().unwrap(), "late");
/// ```
pub fn spawn_later<F, T>(delay: Duration, f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    Builder::new().spawn_later(delay, f).unwrap_or_else(|e| panic!("failed to spawn coroutine: {e}"))
}
