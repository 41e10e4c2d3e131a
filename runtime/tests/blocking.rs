//! The blocking pool.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use verde_runtime as verde;

#[test]
fn blocking_calls_run_concurrently_and_the_hub_keeps_going() {
    let ticks = Arc::new(AtomicUsize::new(0));
    let t = ticks.clone();
    let ticker = verde::spawn(move || {
        for _ in 0..20 {
            verde::sleep(Duration::from_millis(5));
            t.fetch_add(1, Ordering::SeqCst);
        }
    });
    let start = Instant::now();
    let hs: Vec<_> = (0..10)
        .map(|i| {
            verde::spawn(move || {
                verde::blocking(move || {
                    std::thread::sleep(Duration::from_millis(200));
                    i
                })
            })
        })
        .collect();
    let sum: i32 = verde::joinall(hs).into_iter().map(Result::unwrap).sum();
    assert_eq!(sum, 45);
    // Ten 200 ms calls, serially 2 s; concurrently about 0.2 s.
    assert!(start.elapsed() < Duration::from_millis(1500));
    ticker.join().unwrap();
    assert_eq!(ticks.load(Ordering::SeqCst), 20);
}

#[test]
fn blocking_panic_resumes_in_the_caller() {
    let h = verde::spawn(|| verde::blocking(|| -> u8 { panic!("in pool") }));
    let err = h.join().unwrap_err();
    assert_eq!(err.downcast_ref::<&str>(), Some(&"in pool"));
}

#[test]
fn blocking_from_main_context() {
    assert_eq!(verde::blocking(|| 11), 11);
}
