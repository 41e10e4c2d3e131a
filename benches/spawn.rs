//! Spawning.
//!
//! `spawn_join`: spawn a trivial coroutine and join it, from inside a
//! coroutine on one hub; beside may (1 worker), a tokio current-thread task,
//! and a std thread.
//!
//! `hundred_thousand_alive`: spawn 100,000 coroutines that all park, wake
//! them all, join them all. Before waking, the bench measures resident
//! memory and prints the RSS per parked coroutine (criterion measures only
//! time). may is not in this group: each of its stacks costs two mappings,
//! and 100,000 of them exceed vm.max_map_count's default of 65530.

#[path = "common/may_go.rs"]
mod may_go;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use may_go::may_go;

fn verde_spawn_join(iters: u64) -> Duration {
    verde::spawn(move || {
        let start = Instant::now();
        for i in 0..iters {
            let h = verde::spawn(move || i);
            std::hint::black_box(h.join().unwrap());
        }
        start.elapsed()
    })
    .join()
    .unwrap()
}

fn may_spawn_join(iters: u64) -> Duration {
    may_go(move || {
        let start = Instant::now();
        for i in 0..iters {
            std::hint::black_box(may_go(move || i).join().unwrap());
        }
        start.elapsed()
    })
    .join()
    .unwrap()
}

fn tokio_spawn_join(rt: &tokio::runtime::Runtime, iters: u64) -> Duration {
    rt.block_on(async move {
        let start = Instant::now();
        for i in 0..iters {
            std::hint::black_box(tokio::spawn(async move { i }).await.unwrap());
        }
        start.elapsed()
    })
}

fn thread_spawn_join(iters: u64) -> Duration {
    let start = Instant::now();
    for i in 0..iters {
        std::hint::black_box(std::thread::spawn(move || i).join().unwrap());
    }
    start.elapsed()
}

const ALIVE: usize = 100_000;

fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    // SAFETY: sysconf has no preconditions.
    pages * unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize
}

/// Spawns ALIVE coroutines that park, wakes and joins them; returns the
/// elapsed time and the RSS growth per parked coroutine.
fn hundred_thousand() -> (Duration, f64) {
    verde::spawn(|| {
        let wakers: Arc<Mutex<Vec<verde::Waker>>> = Arc::new(Mutex::new(Vec::with_capacity(ALIVE)));
        let mut handles = Vec::with_capacity(ALIVE);
        let before = rss_bytes();
        let start = Instant::now();
        for _ in 0..ALIVE {
            let w = wakers.clone();
            handles.push(verde::spawn(move || {
                w.lock().unwrap().push(verde::park::waker());
                verde::park::park();
            }));
        }
        while wakers.lock().unwrap().len() < ALIVE {
            verde::yield_now();
        }
        let per = (rss_bytes() - before) as f64 / ALIVE as f64;
        for w in std::mem::take(&mut *wakers.lock().unwrap()) {
            w.wake();
        }
        for h in handles {
            h.join().unwrap();
        }
        (start.elapsed(), per)
    })
    .join()
    .unwrap()
}

fn bench(c: &mut Criterion) {
    may::config().set_workers(1);
    let tokio_rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let mut g = c.benchmark_group("spawn_join");
    g.bench_function("verde", |b| b.iter_custom(verde_spawn_join));
    g.bench_function("may", |b| b.iter_custom(may_spawn_join));
    g.bench_function("tokio_current_thread", |b| b.iter_custom(|n| tokio_spawn_join(&tokio_rt, n)));
    g.bench_function("std_thread", |b| b.iter_custom(thread_spawn_join));
    g.finish();

    let (_, first_rss) = hundred_thousand();
    eprintln!("hundred_thousand_alive: {first_rss:.0} bytes of RSS per parked coroutine (first run, fresh stacks)");
    let mut g = c.benchmark_group("hundred_thousand_alive");
    g.sample_size(10);
    g.bench_function("verde", |b| b.iter_custom(|iters| (0..iters).map(|_| hundred_thousand().0).sum()));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
