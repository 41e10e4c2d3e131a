//! [`offload`]: where a one-shot file system call runs.

use crate::park;

/// Whether a file system call goes to the blocking pool: always from a
/// coroutine; from a thread's main context when its hub has coroutines,
/// which a call that blocks the thread would stall (a FIFO whose writer is
/// one of them would never be written); otherwise it is std's direct
/// call, with no pool trip.
pub(super) fn use_pool() -> bool {
    park::in_coroutine() || crate::hub::try_current().is_some_and(|hub| hub.live_count() > 0)
}

/// Runs `f` on the blocking pool, parking the caller meanwhile, where
/// [`use_pool`] says so; on the calling thread otherwise, as std would.
///
/// A kill or a [`Timeout`](crate::Timeout) unwinds the caller, but `f`
/// runs to its end on its pool thread: a `create_dir` or a `rename` still
/// happens, only its result is dropped.
pub(super) fn offload<T, F>(f: F) -> T
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    if use_pool() {
        crate::blocking(f)
    } else {
        f()
    }
}
