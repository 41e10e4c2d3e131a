//! Spawning a may coroutine, for the benches that measure may beside verde.

/// Spawns a may coroutine.
pub fn may_go<F, T>(f: F) -> may::coroutine::JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    // SAFETY: may's spawn is unsafe because its coroutines may migrate
    // between threads and must not hold thread-locals across a yield; the
    // closures the benches spawn use none.
    unsafe { may::coroutine::spawn(f) }
}
