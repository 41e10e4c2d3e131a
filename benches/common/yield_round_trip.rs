//! verde's raw switch round trip, shared by the switch bench (where it is
//! the measurement) and the sync bench (where it is the yardstick).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Times `iters` round trips A→B→A between two coroutines on one hub
/// alternating `yield_now`.
pub fn verde_yield(iters: u64) -> Duration {
    verde::spawn(move || {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let partner = verde::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                verde::yield_now();
            }
        });
        verde::yield_now();
        let start = Instant::now();
        for _ in 0..iters {
            verde::yield_now();
        }
        let elapsed = start.elapsed();
        stop.store(true, Ordering::Relaxed);
        partner.join().unwrap();
        elapsed
    })
    .join()
    .unwrap()
}
