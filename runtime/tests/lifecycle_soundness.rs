//! Lifecycle races: coroutines handed to a worker from another thread, and
//! a worker's teardown while other threads still reach its hub.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use verde_runtime as verde;

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
