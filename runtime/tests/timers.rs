//! Timer ordering and sleeps.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use verde_runtime as verde;

#[test]
fn sleeps_wake_in_deadline_order() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let delays = [50u64, 10, 40, 20, 30, 0, 60];
    let hs: Vec<_> = delays
        .iter()
        .map(|&ms| {
            let log = log.clone();
            verde::spawn(move || {
                verde::sleep(Duration::from_millis(ms * 2));
                log.lock().unwrap().push(ms);
            })
        })
        .collect();
    verde::joinall(hs);
    let mut sorted = delays.to_vec();
    sorted.sort();
    assert_eq!(*log.lock().unwrap(), sorted);
}

#[test]
fn equal_deadlines_fire_in_arming_order() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let deadline = Instant::now() + Duration::from_millis(20);
    let hs: Vec<_> = (0..10)
        .map(|i| {
            let log = log.clone();
            verde::spawn(move || {
                verde::park::park_until(deadline);
                log.lock().unwrap().push(i);
            })
        })
        .collect();
    verde::joinall(hs);
    assert_eq!(*log.lock().unwrap(), (0..10).collect::<Vec<_>>());
}

#[test]
fn sleep_lasts_at_least_its_duration() {
    for ms in [1u64, 5, 15] {
        let start = Instant::now();
        verde::sleep(Duration::from_millis(ms));
        assert!(start.elapsed() >= Duration::from_millis(ms));
    }
}

#[test]
fn sleep_in_main_runs_coroutines_meanwhile() {
    let h = verde::spawn(|| 3);
    verde::sleep(Duration::from_millis(5));
    assert!(h.is_finished());
}

#[test]
fn cancelled_timers_do_not_fire() {
    // A thousand timed parks woken early leave no timers behind to fire
    // later into unrelated parks.
    for _ in 0..1000 {
        let w = verde::park::waker();
        w.wake();
        assert_eq!(verde::park::park_timeout(Duration::from_millis(1)), verde::park::Unparked::Woken);
    }
    let start = Instant::now();
    assert_eq!(verde::park::park_timeout(Duration::from_millis(20)), verde::park::Unparked::TimedOut);
    assert!(start.elapsed() >= Duration::from_millis(20));
}

/// Yields from the main context until `done`, failing rather than hanging
/// if that takes absurdly many.
fn yield_until(done: &std::sync::atomic::AtomicBool) {
    let mut yields = 0u64;
    while !done.load(std::sync::atomic::Ordering::SeqCst) {
        verde::yield_now();
        yields += 1;
        assert!(yields < 100_000_000, "still not done after {yields} yields");
    }
}

/// gevent's `while not done: gevent.sleep(0)`: the hub still fires timers
/// and takes other threads' wake-ups while the main context only yields.
#[test]
fn a_main_context_that_only_yields_lets_timers_and_other_threads_in() {
    use std::sync::atomic::{AtomicBool, Ordering};

    let slept = Arc::new(AtomicBool::new(false));
    let s = Arc::clone(&slept);
    let sleeper = verde::spawn(move || {
        verde::sleep(Duration::from_millis(2));
        s.store(true, Ordering::SeqCst);
    });
    yield_until(&slept);
    sleeper.join().unwrap();

    let received = Arc::new(AtomicBool::new(false));
    let r = Arc::clone(&received);
    let (tx, rx) = verde::sync::mpsc::channel::<()>();
    let receiver = verde::spawn(move || {
        rx.recv().unwrap();
        r.store(true, Ordering::SeqCst);
    });
    let sender = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(2));
        tx.send(()).unwrap();
    });
    yield_until(&received);
    receiver.join().unwrap();
    sender.join().unwrap();
}
