//! [`Runtime`]: several hubs, one per worker thread.
//!
//! A thread needs no runtime to use verde: its hub is created on first use.
//! A `Runtime` is for using every core: it starts N worker threads, each
//! running a hub, and places coroutines on them.
//!
//! # Placement
//!
//! * [`Runtime::spawn`] spreads coroutines over the workers round-robin.
//! * [`Runtime::spawn_on`] places a coroutine on one worker, for affinity
//!   (the seeds' "same user, same worker": `rt.spawn_on(user_id % rt.workers(), ..)`).
//! * A coroutine that spawns puts the new coroutine on its own hub.
//! * [`Runtime::enter`] makes the free [`spawn`](crate::spawn) on the
//!   calling thread use the runtime's round-robin.
//!
//! Coroutines never migrate: each stays on the worker it was placed on.
//!
//! Dropping the runtime kills the coroutines still running (they unwind,
//! running destructors) and joins the worker threads.

use std::cell::RefCell;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use crate::hub::{self, HubConfig, HubShared};
use crate::join::JoinHandle;
use crate::park;
use crate::spawn::Builder;
use crate::stack::DEFAULT_STACK_SIZE;

/// A set of worker threads, each running a hub.
///
/// ```
/// let rt = verde_runtime::Runtime::builder().workers(2).build().unwrap();
/// let hs: Vec<_> = (0..4).map(|i| rt.spawn(move || i + 1)).collect();
/// let sum: i32 = hs.into_iter().map(|h| h.join().unwrap()).sum();
/// assert_eq!(sum, 10);
/// ```
pub struct Runtime {
    handle: Handle,
    threads: Vec<thread::JoinHandle<()>>,
}

/// A cloneable, `Send` handle to a [`Runtime`] for spawning onto it from
/// anywhere, including its own coroutines.
#[derive(Clone)]
pub struct Handle {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    hubs: Vec<Arc<HubShared>>,
    next: AtomicUsize,
}

impl Inner {
    /// The next hub in round-robin order.
    pub(crate) fn pick(&self) -> Arc<HubShared> {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.hubs.len();
        Arc::clone(&self.hubs[i])
    }
}

/// Configures a [`Runtime`].
#[must_use = "a RuntimeBuilder does nothing until built"]
pub struct RuntimeBuilder {
    workers: Option<usize>,
    stack_size: usize,
    max_blocking_time: Option<Duration>,
    thread_name: Arc<dyn Fn(usize) -> String + Send + Sync>,
}

impl Default for RuntimeBuilder {
    fn default() -> Self {
        RuntimeBuilder {
            workers: None,
            stack_size: DEFAULT_STACK_SIZE,
            max_blocking_time: None,
            thread_name: Arc::new(|i| format!("verde-worker-{i}")),
        }
    }
}

impl RuntimeBuilder {
    /// Number of worker threads (hubs). Default: the number of CPUs
    /// available to the process.
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = Some(n.max(1));
        self
    }

    /// Default stack size for coroutines on this runtime's hubs. Default:
    /// [`DEFAULT_STACK_SIZE`].
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = bytes;
        self
    }

    /// Turns the [monitor](crate::monitor) on for this runtime's hubs: it
    /// reports a worker that stays inside one coroutine longer than
    /// `max_blocking_time` (gevent's `max_blocking_time`; 100 ms there, see
    /// [`DEFAULT_MAX_BLOCKING_TIME`](crate::monitor::DEFAULT_MAX_BLOCKING_TIME)).
    /// Without this call the workers follow `VERDE_MAX_BLOCKING_TIME_MS`,
    /// and are not watched if it is unset.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = verde_runtime::Runtime::builder()
    ///     .workers(1)
    ///     .max_blocking_time(Duration::from_millis(100))
    ///     .build()
    ///     .unwrap();
    /// assert!(verde_runtime::monitor::is_running());
    /// # drop(rt);
    /// ```
    pub fn max_blocking_time(mut self, max_blocking_time: Duration) -> Self {
        self.max_blocking_time = Some(max_blocking_time);
        self
    }

    /// Names worker threads `"{prefix}-{index}"`. Default prefix:
    /// `verde-worker`.
    pub fn thread_name(mut self, prefix: impl Into<String>) -> Self {
        let prefix = prefix.into();
        self.thread_name = Arc::new(move |i| format!("{prefix}-{i}"));
        self
    }

    /// Names worker threads with `f(index)`.
    pub fn thread_name_fn(mut self, f: impl Fn(usize) -> String + Send + Sync + 'static) -> Self {
        self.thread_name = Arc::new(f);
        self
    }

    /// Starts the workers.
    ///
    /// # Errors
    ///
    /// Fails if a thread or a hub cannot be created.
    pub fn build(self) -> io::Result<Runtime> {
        let n = self.workers.unwrap_or_else(|| thread::available_parallelism().map_or(1, |n| n.get()));
        let (tx, rx) = mpsc::channel();
        let mut threads = Vec::with_capacity(n);
        for i in 0..n {
            let tx = tx.clone();
            let config = HubConfig {
                stack_size: self.stack_size,
                max_blocking_time: self.max_blocking_time.or_else(crate::monitor::max_blocking_time_from_env),
            };
            let t = thread::Builder::new().name((self.thread_name)(i)).spawn(move || worker_main(i, config, tx))?;
            threads.push(t);
        }
        drop(tx);
        let mut hubs: Vec<Option<Arc<HubShared>>> = vec![None; n];
        for _ in 0..n {
            let (i, hub) = rx.recv().map_err(|_| io::Error::other("a verde worker thread died while starting"))?;
            hubs[i] = Some(hub);
        }
        let hubs = hubs.into_iter().map(|h| h.expect("every worker reported")).collect();
        Ok(Runtime { handle: Handle { inner: Arc::new(Inner { hubs, next: AtomicUsize::new(0) }) }, threads })
    }
}

fn worker_main(index: usize, config: HubConfig, ready: mpsc::Sender<(usize, Arc<HubShared>)>) {
    let hub = hub::init(config);
    hub.set_worker();
    let shared = Arc::clone(&hub.shared);
    let _ = ready.send((index, Arc::clone(&shared)));
    drop(ready);
    loop {
        *shared.main_waker.lock().unwrap_or_else(|e| e.into_inner()) = Some(park::waker());
        if shared.shutdown.load(Ordering::Acquire) {
            break;
        }
        park::park();
        if shared.shutdown.load(Ordering::Acquire) {
            break;
        }
    }
    shared.main_waker.lock().unwrap_or_else(|e| e.into_inner()).take();
    // Returning ends the thread; its hub's teardown kills what is left.
}

impl Runtime {
    /// A runtime with default settings: one worker per CPU.
    pub fn new() -> io::Result<Runtime> {
        RuntimeBuilder::default().build()
    }

    /// A builder for a runtime with custom settings.
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder::default()
    }

    /// A handle for spawning onto this runtime from elsewhere.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Number of workers.
    pub fn workers(&self) -> usize {
        self.handle.workers()
    }

    /// Spawns a coroutine on the next worker, round-robin.
    pub fn spawn<F, T>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.handle.spawn(f)
    }

    /// Spawns a coroutine on worker `worker`.
    ///
    /// # Panics
    ///
    /// Panics if `worker >= self.workers()`.
    pub fn spawn_on<F, T>(&self, worker: usize, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.handle.spawn_on(worker, f)
    }

    /// Runs `f` in a coroutine on the runtime and waits for its result,
    /// resuming its panic if it panics.
    pub fn block_on<F, T>(&self, f: F) -> T
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.spawn(f).join().unwrap_or_else(|p| crate::unwinding::resume(p))
    }

    /// Makes [`spawn`](crate::spawn) on the calling thread (outside
    /// coroutines) place coroutines on this runtime until the guard drops.
    pub fn enter(&self) -> EnterGuard {
        ENTERED.with(|e| e.borrow_mut().push(Arc::clone(&self.handle.inner)));
        EnterGuard { _not_send: std::marker::PhantomData }
    }
}

impl Handle {
    /// Number of workers.
    pub fn workers(&self) -> usize {
        self.inner.hubs.len()
    }

    /// Spawns a coroutine on the next worker, round-robin.
    pub fn spawn<F, T>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.spawn_with(Builder::new(), None, f).unwrap_or_else(|e| panic!("failed to spawn coroutine: {e}"))
    }

    /// Spawns a coroutine on worker `worker`.
    ///
    /// # Panics
    ///
    /// Panics if `worker >= self.workers()`.
    pub fn spawn_on<F, T>(&self, worker: usize, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.spawn_with(Builder::new(), Some(worker), f).unwrap_or_else(|e| panic!("failed to spawn coroutine: {e}"))
    }

    /// Spawns with a [`Builder`]'s settings, on `worker` or round-robin.
    ///
    /// # Panics
    ///
    /// Panics if `worker` is out of range.
    pub fn spawn_with<F, T>(&self, builder: Builder, worker: Option<usize>, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let hub = match worker {
            Some(i) => {
                assert!(i < self.workers(), "worker index {i} out of range (runtime has {})", self.workers());
                Arc::clone(&self.inner.hubs[i])
            }
            None => self.inner.pick(),
        };
        builder.spawn_on_hub(&hub, f)
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        for hub in &self.handle.inner.hubs {
            hub.shutdown.store(true, Ordering::Release);
            let waker = hub.main_waker.lock().unwrap_or_else(|e| e.into_inner()).take();
            match waker {
                Some(w) => {
                    w.wake();
                }
                None => hub.kick(),
            }
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

thread_local! {
    static ENTERED: RefCell<Vec<Arc<Inner>>> = const { RefCell::new(Vec::new()) };
}

/// The runtime the calling thread has entered, if any.
pub(crate) fn entered() -> Option<Arc<Inner>> {
    ENTERED.try_with(|e| e.borrow().last().cloned()).ok().flatten()
}

/// Returned by [`Runtime::enter`]; leaves the runtime when dropped.
pub struct EnterGuard {
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        ENTERED.with(|e| e.borrow_mut().pop());
    }
}
