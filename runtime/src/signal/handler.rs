//! gevent's `signal_handler`: a function run in a new coroutine each time
//! a signal arrives.

use std::io;
use std::rc::Rc;

use super::{table, Signals};
use crate::{Builder, JoinHandle};

/// Runs `handler` in a new coroutine on this thread's hub each time
/// `signal` arrives: gevent's `gevent.signal_handler(signalnum, handler)`.
///
/// A watcher coroutine named `signal_handler(SIGHUP)` (for example) waits
/// for the signal on this hub and spawns the handler, so the handler may
/// block, and one that panics is contained and logged like any
/// coroutine. As in gevent, the handling goes on after the returned
/// [`SignalHandler`] is dropped, until [`cancel`](SignalHandler::cancel)
/// or the end of the thread.
///
/// Unlike gevent's (created with `ref=False`), the watcher counts as a
/// waiter on I/O: while it exists, a main context waiting on something
/// that can never happen waits for a signal instead of failing with
/// [`WOULD_BLOCK_FOREVER`](crate::WOULD_BLOCK_FOREVER).
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
///
/// let seen = Rc::new(Cell::new(0));
/// let s = Rc::clone(&seen);
/// let handler = verde_runtime::signal::signal_handler(libc::SIGUSR1, move || s.set(s.get() + 1)).unwrap();
/// // SAFETY: sending a signal the process now catches to itself.
/// unsafe { libc::raise(libc::SIGUSR1) };
/// while seen.get() == 0 {
///     verde_runtime::sleep(std::time::Duration::from_millis(1));
/// }
/// handler.cancel();
/// ```
///
/// # Errors
///
/// As [`Signals::new`], and as [`Builder::spawn_local`] when no stack can
/// be had for the watcher.
pub fn signal_handler<F>(signal: i32, handler: F) -> io::Result<SignalHandler>
where
    F: Fn() + 'static,
{
    let signals = Signals::new([signal])?;
    let name = table::name(signal);
    let handler = Rc::new(handler);
    let watcher = Builder::new().name(format!("signal_handler({name})")).spawn_local(move || {
        for _ in signals.forever() {
            let handler = Rc::clone(&handler);
            drop(crate::spawn_local(move || handler()));
        }
    })?;
    Ok(SignalHandler { signal, watcher })
}

/// The handling [`signal_handler`] set up. Dropping it leaves the handling
/// in place, as in gevent; [`cancel`](Self::cancel) ends it.
#[derive(Debug)]
pub struct SignalHandler {
    signal: i32,
    watcher: JoinHandle<()>,
}

impl SignalHandler {
    /// The signal handled.
    pub fn signal(&self) -> i32 {
        self.signal
    }

    /// Stops handling the signal: gevent's `cancel()`. Handlers already
    /// running go on. Once no [`Signals`] wants the signal any more, its
    /// previous disposition comes back.
    pub fn cancel(&self) {
        self.watcher.kill();
    }
}
