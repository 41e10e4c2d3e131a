//! gevent's `gevent.wait()` with no objects: wait until the thread's hub
//! has nothing left to run.

use std::time::{Duration, Instant};

use crate::{hub, park};

/// Runs this thread's coroutines until every one of them has finished, or
/// until none of those left can ever run again: gevent's `gevent.wait()`
/// with no objects (`hub.join()`). Returns `true` then, and `false` if
/// `timeout` (`None`: no limit) passed first.
///
/// This is the end of a gevent script: spawn, then wait for the lot,
/// without keeping the handles.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// use std::time::Duration;
///
/// let done = Arc::new(AtomicUsize::new(0));
/// for i in 0..3 {
///     let done = Arc::clone(&done);
///     verde_runtime::spawn(move || {
///         verde_runtime::sleep(Duration::from_millis(i));
///         done.fetch_add(1, Ordering::SeqCst);
///     });
/// }
/// assert!(verde_runtime::wait_idle(None));
/// assert_eq!(done.load(Ordering::SeqCst), 3);
/// ```
///
/// "Can never run again" is verde's would-block-forever test (gevent's
/// loop exit): nothing runnable, no timer, no coroutine waiting for I/O,
/// and no other thread that could wake one. Where it returns `true` for
/// that reason, the coroutines that are left stay parked. While any other
/// thread runs, verde cannot tell whether it will wake them, so it waits,
/// as a [`park`](crate::park::park) in the main context does. A coroutine
/// waiting for a signal ([`Signals`](crate::signal::Signals)) waits for
/// I/O, so it keeps the wait going, unlike gevent's signal watchers.
///
/// Only the coroutines of the calling thread's hub count; those of a
/// [`Runtime`](crate::Runtime)'s workers are joined through the runtime.
///
/// # Panics
///
/// When called from a coroutine: like gevent's `hub.join()`, this is for
/// a thread's own (main) context.
pub fn wait_idle(timeout: Option<Duration>) -> bool {
    assert!(
        !park::in_coroutine(),
        "verde::wait_idle is for a thread's main context, not a coroutine (gevent's hub.join() is too)"
    );
    let hub = hub::current();
    let deadline = timeout.map(park::deadline_after);
    loop {
        if hub.live_count() == 0 {
            return true;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return false;
        }
        let _registration = Registration(hub);
        hub.wait_idle_with(park::waker(), deadline);
        park::park();
        if hub.end_wait_idle() {
            return true;
        }
    }
}

/// Takes `wait_idle`'s registration with the hub back on every way out of
/// the park, an unwinding kill or `Timeout` included (taking it back twice
/// is harmless).
struct Registration<'a>(&'a hub::Hub);

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        self.0.end_wait_idle();
    }
}
