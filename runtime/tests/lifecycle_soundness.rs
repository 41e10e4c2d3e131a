//! Lifecycle races: coroutines handed to a worker from another thread, and
//! a worker's teardown while other threads still reach its hub.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use verde_runtime as verde;
use verde_runtime::sync::mpsc;

mod common;
use common::DropCounter;

/// `spawn_later` from a thread that entered a runtime hands the coroutine to
/// a worker, which waits the delay inside the coroutine: it must run after
/// it, or, killed during it, end as `Killed` without running, and leave the
/// worker working.
#[test]
fn spawn_later_onto_a_worker_runs_after_its_delay_or_ends_killed() {
    let rt = verde::Runtime::builder().workers(1).build().unwrap();
    let _entered = rt.enter();
    let h = verde::spawn_later(Duration::from_millis(5), || 5);
    assert_eq!(h.join().unwrap(), 5);

    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let h = verde::spawn_later(Duration::from_secs(3600), move || r.store(true, Ordering::SeqCst));
    // Whether or not its delay has begun yet, the kill ends it.
    std::thread::sleep(Duration::from_millis(5));
    h.kill();
    assert!(h.join().unwrap_err().is::<verde::Killed>());
    assert!(!ran.load(Ordering::SeqCst));
    assert_eq!(rt.spawn(|| 7).join().unwrap(), 7);
}

/// A runtime is dropped while a plain thread keeps waking the coroutines
/// parked on its worker: every one of them must still be killed and
/// unwound by the worker's teardown, whether a wake-up reaches it before,
/// during or after the teardown starts.
#[test]
fn wakes_from_another_thread_during_teardown_leave_no_coroutine_behind() {
    const RECEIVERS: usize = 400;
    for _ in 0..20 {
        let unwound = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let rt = verde::Runtime::builder().workers(1).build().unwrap();
        let (started_tx, started) = mpsc::channel();
        let senders: Vec<mpsc::Sender<u32>> = (0..RECEIVERS)
            .map(|_| {
                let (tx, rx) = mpsc::channel::<u32>();
                let (u, started_tx) = (unwound.clone(), started_tx.clone());
                drop(rt.spawn(move || {
                    let _counted = DropCounter(u);
                    started_tx.send(()).unwrap();
                    while rx.recv().is_ok() {}
                }));
                tx
            })
            .collect();
        for _ in 0..RECEIVERS {
            started.recv().unwrap();
        }
        let s = stop.clone();
        // Wakes the receivers in the reverse of their spawn order, so that
        // the wakes cross the teardown's kills.
        let waker = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                for tx in senders.iter().rev() {
                    let _ = tx.send(0);
                }
            }
        });
        std::thread::sleep(Duration::from_millis(1));
        drop(rt);
        stop.store(true, Ordering::Relaxed);
        waker.join().unwrap();
        assert_eq!(unwound.load(Ordering::SeqCst), RECEIVERS, "every coroutine was unwound by the teardown");
    }
}

/// Spawns from another thread race a worker's teardown: each ends, having
/// run or been killed before it started (those the worker took meanwhile
/// or refused once torn down), and none is dropped unstarted, which would
/// leave its joiners waiting for ever.
#[test]
fn spawns_from_another_thread_during_teardown_all_end() {
    for _ in 0..20 {
        let rt = verde::Runtime::builder().workers(1).build().unwrap();
        // Coroutines to kill, so that the teardown takes a while.
        let parked: Vec<_> = (0..1000).map(|_| rt.spawn(|| verde::sleep(Duration::from_secs(3600)))).collect();
        let handle = rt.handle().clone();
        let spawned = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (n, s) = (spawned.clone(), stop.clone());
        let spawner = std::thread::spawn(move || {
            let mut handles = Vec::new();
            while !s.load(Ordering::Relaxed) && handles.len() < 20_000 {
                let parks = handles.len() % 16 == 0;
                handles.push(handle.spawn(move || {
                    if parks {
                        verde::sleep(Duration::from_secs(3600));
                    }
                }));
                n.store(handles.len(), Ordering::Relaxed);
                // Paced, so that the worker keeps up and its teardown
                // begins while spawns still come.
                std::thread::sleep(Duration::from_micros(10));
            }
            handles
        });
        while spawned.load(Ordering::Relaxed) < 200 {
            std::thread::yield_now();
        }
        drop(rt);
        stop.store(true, Ordering::Relaxed);
        let handles = spawner.join().unwrap();
        for h in parked.into_iter().chain(handles) {
            // A generous bound: each one ends at once if it ends at all.
            assert!(h.wait_timeout(Duration::from_secs(10)), "a spawn never ended");
            if let Err(e) = h.join() {
                assert!(e.is::<verde::Killed>());
            }
        }
    }
}
