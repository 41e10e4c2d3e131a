//! Switch round trip: coroutine A yields to B, B yields back to A.
//!
//! * `verde`: two coroutines on one hub alternating `yield_now`.
//! * `corosensei_raw`: two bare corosensei coroutines resumed in turn by a
//!   loop, four stack switches per round trip with no scheduler: the floor
//!   for a hand-off through a scheduler's loop.
//! * `corosensei_raw_nested`: one bare coroutine resuming the other from
//!   its own stack, two switches per round trip: the floor for verde's
//!   direct hand-off, where a yielding coroutine runs the next one itself.
//! * `may`: two may coroutines alternating `yield_now` on one worker.
//! * `tokio_current_thread`: two tasks alternating `tokio::task::yield_now`.
//! * `os_threads`: two threads handing a token back and forth through a
//!   pair of std channels.
//!
//! Each iteration is one round trip A→B→A.

#[path = "common/corosensei_floor.rs"]
mod corosensei_floor;
#[path = "common/may_go.rs"]
mod may_go;
#[path = "common/yield_round_trip.rs"]
mod yield_round_trip;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use may_go::may_go;

fn may_yield(iters: u64) -> Duration {
    // The partner is spawned from inside the measuring coroutine so that
    // both sit in the worker's local queue: a coroutine spawned from
    // outside waits in may's global queue, which a worker whose local
    // queue never empties (a yield loop) does not poll.
    may_go(move || {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let partner = may_go(move || {
            while !s.load(Ordering::Relaxed) {
                may::coroutine::yield_now();
            }
        });
        may::coroutine::yield_now();
        let start = Instant::now();
        for _ in 0..iters {
            may::coroutine::yield_now();
        }
        let elapsed = start.elapsed();
        stop.store(true, Ordering::Relaxed);
        partner.join().unwrap();
        elapsed
    })
    .join()
    .unwrap()
}

fn tokio_yield(rt: &tokio::runtime::Runtime, iters: u64) -> Duration {
    rt.block_on(async move {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let partner = tokio::spawn(async move {
            while !s.load(Ordering::Relaxed) {
                tokio::task::yield_now().await;
            }
        });
        tokio::task::yield_now().await;
        let start = Instant::now();
        for _ in 0..iters {
            tokio::task::yield_now().await;
        }
        let elapsed = start.elapsed();
        stop.store(true, Ordering::Relaxed);
        partner.await.unwrap();
        elapsed
    })
}

fn os_threads(iters: u64) -> Duration {
    let (to_b, from_a) = std::sync::mpsc::sync_channel::<u64>(0);
    let (to_a, from_b) = std::sync::mpsc::sync_channel::<u64>(0);
    let partner = std::thread::spawn(move || {
        while let Ok(v) = from_a.recv() {
            if to_a.send(v).is_err() {
                break;
            }
        }
    });
    let start = Instant::now();
    for i in 0..iters {
        to_b.send(i).unwrap();
        from_b.recv().unwrap();
    }
    let elapsed = start.elapsed();
    drop(to_b);
    partner.join().unwrap();
    elapsed
}

fn bench(c: &mut Criterion) {
    may::config().set_workers(1);
    let tokio_rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let mut g = c.benchmark_group("switch_round_trip");
    g.bench_function("corosensei_raw", |b| b.iter_custom(corosensei_floor::round_trip));
    g.bench_function("corosensei_raw_nested", |b| b.iter_custom(corosensei_floor::nested_round_trip));
    g.bench_function("verde", |b| b.iter_custom(yield_round_trip::verde_yield));
    g.bench_function("may", |b| b.iter_custom(may_yield));
    g.bench_function("tokio_current_thread", |b| b.iter_custom(|n| tokio_yield(&tokio_rt, n)));
    g.bench_function("os_threads", |b| b.iter_custom(os_threads));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
