//! Sync primitives beside their peers, in one criterion run.
//!
//! `channel_round_trip`: coroutine A sends a number to B, B sends it back;
//! each iteration is one round trip A→B→A (two sends, two blocking
//! receives).
//!
//! * `verde_yield`: the raw switch round trip (two coroutines alternating
//!   `yield_now`), the yardstick for the channel target.
//! * `verde_park_wake`: the same hand-off with the bare park/wake protocol
//!   (a waker in a slot, no data structure, inlined into the loop as
//!   verde's channels are): the floor any verde channel that parks pays.
//! * `verde_mpsc`: `verde::sync::mpsc::channel`, two coroutines on one hub.
//! * `verde_queue_channel`: gevent's rendezvous `verde::queue::Channel`.
//! * `may_mpsc`: `may::sync::mpsc`, two may coroutines on one worker.
//! * `tokio_mpsc`: `tokio::sync::mpsc` unbounded channels, two tasks on a
//!   current-thread runtime.
//! * `std_mpsc_threads`: `std::sync::mpsc` between two OS threads.
//!
//! `mutex_contended_100`: 100 coroutines (or tasks, or threads) each lock
//! the mutex, increment a counter, **yield while holding it**, and unlock.
//! Yielding while holding is what makes the lock contended on a single hub
//! (without it, cooperative coroutines never find it taken); so every
//! acquisition waits in the queue and is a real hand-off. Each iteration is
//! one lock acquisition.
//!
//! * `verde`: `verde::sync::Mutex`, 100 coroutines on one hub, `yield_now`.
//! * `may`: `may::sync::Mutex`, 100 may coroutines on one worker.
//! * `tokio`: `tokio::sync::Mutex`, 100 tasks on a current-thread runtime.
//! * `std_threads`: `std::sync::Mutex`, 100 OS threads,
//!   `std::thread::yield_now`.

#[path = "common/hand_off.rs"]
mod hand_off;
#[path = "common/may_go.rs"]
mod may_go;
#[path = "common/yield_round_trip.rs"]
mod yield_round_trip;

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use may_go::may_go;

const CONTENDERS: u64 = 100;

fn may_mpsc(iters: u64) -> Duration {
    let (result_tx, result_rx) = std::sync::mpsc::channel();
    let (to_b, from_a) = may::sync::mpsc::channel::<u64>();
    let (to_a, from_b) = may::sync::mpsc::channel::<u64>();
    let partner = may_go(move || {
        while let Ok(v) = from_a.recv() {
            if to_a.send(v).is_err() {
                break;
            }
        }
    });
    let main = may_go(move || {
        let start = Instant::now();
        for i in 0..iters {
            to_b.send(i).unwrap();
            from_b.recv().unwrap();
        }
        result_tx.send(start.elapsed()).unwrap();
    });
    main.join().unwrap();
    partner.join().unwrap();
    result_rx.recv().unwrap()
}

fn tokio_mpsc(rt: &tokio::runtime::Runtime, iters: u64) -> Duration {
    rt.block_on(async move {
        let (to_b, mut from_a) = tokio::sync::mpsc::unbounded_channel::<u64>();
        let (to_a, mut from_b) = tokio::sync::mpsc::unbounded_channel::<u64>();
        let partner = tokio::spawn(async move {
            while let Some(v) = from_a.recv().await {
                if to_a.send(v).is_err() {
                    break;
                }
            }
        });
        let start = Instant::now();
        for i in 0..iters {
            to_b.send(i).unwrap();
            from_b.recv().await.unwrap();
        }
        let elapsed = start.elapsed();
        drop(to_b);
        partner.await.unwrap();
        elapsed
    })
}

fn std_mpsc_threads(iters: u64) -> Duration {
    let (to_b, from_a) = std::sync::mpsc::channel::<u64>();
    let (to_a, from_b) = std::sync::mpsc::channel::<u64>();
    let partner = std::thread::spawn(move || {
        for v in from_a {
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

/// Lock acquisitions for contender `i` when `iters` are shared by all.
fn share(iters: u64, i: u64) -> u64 {
    iters / CONTENDERS + u64::from(i < iters % CONTENDERS)
}

fn verde_mutex(iters: u64) -> Duration {
    verde::spawn(move || {
        let m = Arc::new(verde::sync::Mutex::new(0u64));
        let start = Instant::now();
        let hs: Vec<_> = (0..CONTENDERS)
            .map(|i| {
                let m = m.clone();
                verde::spawn(move || {
                    for _ in 0..share(iters, i) {
                        let mut g = m.lock().unwrap();
                        *g += 1;
                        verde::yield_now();
                    }
                })
            })
            .collect();
        verde::joinall(hs);
        let elapsed = start.elapsed();
        assert_eq!(*m.lock().unwrap(), iters);
        elapsed
    })
    .join()
    .unwrap()
}

fn may_mutex(iters: u64) -> Duration {
    let (result_tx, result_rx) = std::sync::mpsc::channel();
    let main = may_go(move || {
        let m = Arc::new(may::sync::Mutex::new(0u64));
        let start = Instant::now();
        let hs: Vec<_> = (0..CONTENDERS)
            .map(|i| {
                let m = m.clone();
                may_go(move || {
                    for _ in 0..share(iters, i) {
                        let mut g = m.lock().unwrap();
                        *g += 1;
                        may::coroutine::yield_now();
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        result_tx.send(start.elapsed()).unwrap();
        assert_eq!(*m.lock().unwrap(), iters);
    });
    main.join().unwrap();
    result_rx.recv().unwrap()
}

fn tokio_mutex(rt: &tokio::runtime::Runtime, iters: u64) -> Duration {
    rt.block_on(async move {
        let m = Arc::new(tokio::sync::Mutex::new(0u64));
        let start = Instant::now();
        let hs: Vec<_> = (0..CONTENDERS)
            .map(|i| {
                let m = m.clone();
                tokio::spawn(async move {
                    for _ in 0..share(iters, i) {
                        let mut g = m.lock().await;
                        *g += 1;
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
        let elapsed = start.elapsed();
        assert_eq!(*m.lock().await, iters);
        elapsed
    })
}

fn std_mutex_threads(iters: u64) -> Duration {
    let m = Arc::new(std::sync::Mutex::new(0u64));
    let go = Arc::new(std::sync::Barrier::new(CONTENDERS as usize + 1));
    let hs: Vec<_> = (0..CONTENDERS)
        .map(|i| {
            let (m, go) = (m.clone(), go.clone());
            std::thread::spawn(move || {
                go.wait();
                for _ in 0..share(iters, i) {
                    let mut g = m.lock().unwrap();
                    *g += 1;
                    std::thread::yield_now();
                }
            })
        })
        .collect();
    go.wait();
    let start = Instant::now();
    for h in hs {
        h.join().unwrap();
    }
    let elapsed = start.elapsed();
    assert_eq!(*m.lock().unwrap(), iters);
    elapsed
}

fn bench(c: &mut Criterion) {
    may::config().set_workers(1);
    let tokio_rt = tokio::runtime::Builder::new_current_thread().build().unwrap();

    let mut g = c.benchmark_group("channel_round_trip");
    g.bench_function("verde_yield", |b| b.iter_custom(yield_round_trip::verde_yield));
    g.bench_function("verde_park_wake", |b| b.iter_custom(hand_off::verde_park_wake));
    g.bench_function("verde_park_wake_timed", |b| b.iter_custom(hand_off::verde_park_wake_timed));
    g.bench_function("verde_mpsc", |b| b.iter_custom(hand_off::verde_mpsc));
    g.bench_function("verde_queue_channel", |b| b.iter_custom(hand_off::verde_queue_channel));
    g.bench_function("may_mpsc", |b| b.iter_custom(may_mpsc));
    g.bench_function("tokio_mpsc", |b| b.iter_custom(|n| tokio_mpsc(&tokio_rt, n)));
    g.bench_function("std_mpsc_threads", |b| b.iter_custom(std_mpsc_threads));
    g.finish();

    let mut g = c.benchmark_group("mutex_contended_100");
    g.bench_function("verde", |b| b.iter_custom(verde_mutex));
    g.bench_function("may", |b| b.iter_custom(may_mutex));
    g.bench_function("tokio", |b| b.iter_custom(|n| tokio_mutex(&tokio_rt, n)));
    g.bench_function("std_threads", |b| b.iter_custom(std_mutex_threads));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
