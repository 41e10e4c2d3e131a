//! The floor under verde's switch: bare corosensei coroutines with no
//! scheduler, shared by `benches/switch.rs` and `benches/instructions.rs`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use corosensei::{Coroutine, CoroutineResult};

/// Two coroutines resumed in turn by a loop on the thread's stack: each
/// round trip A→B→A is four stack switches (loop→A→loop→B→loop), the
/// path a hand-off through a scheduler's loop takes.
pub fn round_trip(iters: u64) -> Duration {
    let mut a = Coroutine::new(|y, ()| loop {
        y.suspend(black_box(1u8));
    });
    let mut b = Coroutine::new(|y, ()| loop {
        y.suspend(black_box(2u8));
    });
    let start = Instant::now();
    for _ in 0..iters {
        if let CoroutineResult::Return(()) = a.resume(()) {
            unreachable!()
        }
        if let CoroutineResult::Return(()) = b.resume(()) {
            unreachable!()
        }
    }
    start.elapsed()
}

/// Coroutine A resumes B from its own stack and B suspends straight back
/// to A: each round trip is two stack switches, the path verde's direct
/// hand-off takes (a yielding coroutine running the next one itself).
pub fn nested_round_trip(iters: u64) -> Duration {
    let mut b = Coroutine::new(|y, ()| loop {
        y.suspend(black_box(2u8));
    });
    let mut a = Coroutine::new(move |_, iters: u64| {
        let start = Instant::now();
        for _ in 0..iters {
            if let CoroutineResult::Return(()) = b.resume(()) {
                unreachable!()
            }
        }
        start.elapsed()
    });
    match a.resume(iters) {
        CoroutineResult::Return(elapsed) => elapsed,
        CoroutineResult::Yield(()) => unreachable!(),
    }
}
