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
