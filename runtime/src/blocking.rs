//! [`blocking`]: run code that would block the hub on a pool of OS threads.
//!
//! A C library call that blocks in the kernel freezes every coroutine on its
//! hub (the seeds' `sleep.so`). `blocking(f)` runs `f` on a pool thread while
//! the calling coroutine parks, so the hub keeps serving. gevent's answer to
//! the same problem is its threadpool.
//!
//! The pool starts threads on demand, up to 512 (or `VERDE_BLOCKING_THREADS`)
//! and lets a thread go after it has been idle for 10 seconds.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Duration;

use crate::park::{self, Waker};

type Job = Box<dyn FnOnce() + Send>;

const IDLE_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_MAX_THREADS: usize = 512;

struct Pool {
    state: Mutex<PoolState>,
    available: Condvar,
    max_threads: usize,
}

#[derive(Default)]
struct PoolState {
    queue: VecDeque<Job>,
    threads: usize,
    idle: usize,
}

/// Jobs submitted and not yet finished.
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
/// Pool threads waiting for a job.
static IDLE: AtomicUsize = AtomicUsize::new(0);

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool {
        state: Mutex::new(PoolState::default()),
        available: Condvar::new(),
        max_threads: std::env::var("VERDE_BLOCKING_THREADS")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|&n| n > 0)
            .unwrap_or(DEFAULT_MAX_THREADS),
    })
}

pub(crate) fn jobs_in_flight() -> usize {
    IN_FLIGHT.load(Ordering::SeqCst)
}

/// The most threads the pool runs at once.
pub(crate) fn max_threads() -> usize {
    pool().max_threads
}

pub(crate) fn idle_threads() -> usize {
    IDLE.load(Ordering::SeqCst)
}

impl Pool {
    fn submit(&'static self, job: Job) {
        IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.queue.push_back(job);
        if st.idle > 0 {
            self.available.notify_one();
        }
        // A notified idle thread stays counted as idle until it wakes, so
        // compare the backlog with the idle count, not just the count with 0.
        if st.queue.len() > st.idle && st.threads < self.max_threads {
            st.threads += 1;
            drop(st);
            let spawned = std::thread::Builder::new().name("verde-blocking".into()).spawn(move || self.worker());
            if let Err(e) = spawned {
                self.state.lock().unwrap_or_else(|e| e.into_inner()).threads -= 1;
                log::error!("verde: cannot start a blocking-pool thread: {e}; the job waits for a free one");
            }
        }
    }

    fn worker(&'static self) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(job) = st.queue.pop_front() {
                drop(st);
                job();
                IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
                st = self.state.lock().unwrap_or_else(|e| e.into_inner());
                continue;
            }
            st.idle += 1;
            IDLE.fetch_add(1, Ordering::SeqCst);
            let (guard, res) = self.available.wait_timeout(st, IDLE_TIMEOUT).unwrap_or_else(|e| e.into_inner());
            st = guard;
            st.idle -= 1;
            IDLE.fetch_sub(1, Ordering::SeqCst);
            if res.timed_out() && st.queue.is_empty() {
                st.threads -= 1;
                return;
            }
        }
    }
}

/// Runs `job` on the pool without waiting for it: for a watcher whose
/// result is published some other way (an [`Event`](crate::event::Event)).
/// `job` must not panic.
pub(crate) fn submit(job: impl FnOnce() + Send + 'static) {
    pool().submit(Box::new(job));
}

struct Slot<T> {
    result: Option<std::thread::Result<T>>,
    waiter: Option<Waker>,
}

/// Runs `f` on the blocking pool and parks the caller until it returns.
///
/// Other coroutines on the caller's hub keep running meanwhile. A panic in
/// `f` is resumed in the caller. If the caller is killed or times out while
/// waiting, `f` still runs to completion on its pool thread and its result
/// is dropped.
///
/// ```
/// // A call that blocks its thread for 50 ms does not block the hub.
/// let ticker = verde_runtime::spawn(|| {
///     for _ in 0..3 {
///         verde_runtime::sleep(std::time::Duration::from_millis(5));
///     }
/// });
/// let v = verde_runtime::blocking(|| {
///     std::thread::sleep(std::time::Duration::from_millis(50));
///     7
/// });
/// assert_eq!(v, 7);
/// ticker.join().unwrap();
/// ```
pub fn blocking<F, T>(f: F) -> T
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let slot = Arc::new(Mutex::new(Slot { result: None, waiter: Some(park::waker()) }));
    let job_slot = Arc::clone(&slot);
    pool().submit(Box::new(move || {
        let result = crate::unwinding::catch(f);
        let mut s = job_slot.lock().unwrap_or_else(|e| e.into_inner());
        s.result = Some(result);
        if let Some(w) = s.waiter.take() {
            w.wake();
        }
    }));
    loop {
        park::park();
        let mut s = slot.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(result) = s.result.take() {
            return result.unwrap_or_else(|p| crate::unwinding::resume(p));
        }
        s.waiter = Some(park::waker());
    }
}
