//! Helpers shared by the root crate's integration tests.

use std::time::{Duration, Instant};

/// Runs `client(i)` for each `i` in `0..n`, each in a coroutine of this
/// thread's hub, all at once; returns their results in order and how long
/// they took together. A coroutine's panic fails the caller.
pub fn all_at_once<T: Send + 'static>(
    n: usize,
    client: impl Fn(usize) -> T + Clone + Send + 'static,
) -> (Vec<T>, Duration) {
    let start = Instant::now();
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let client = client.clone();
            verde::spawn(move || client(i))
        })
        .collect();
    let results = verde::joinall(handles).into_iter().map(Result::unwrap).collect();
    (results, start.elapsed())
}
