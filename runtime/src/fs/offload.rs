//! [`offload`]: where a one-shot file system call runs.

use crate::park;

/// Runs `f` on the blocking pool from a coroutine, parking it meanwhile;
/// on the calling thread otherwise, as std would.
///
/// A kill or a [`Timeout`](crate::Timeout) unwinds the caller, but `f`
/// runs to its end on its pool thread: a `create_dir` or a `rename` still
/// happens, only its result is dropped.
pub(super) fn offload<T, F>(f: F) -> T
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    if park::in_coroutine() {
        crate::blocking(f)
    } else {
        f()
    }
}
