//! Timeout and with_timeout.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use verde::{with_timeout, Timeout};

mod common;
use common::DropCounter;
use verde_runtime as verde;

#[test]
fn with_timeout_returns_value_in_time() {
    assert_eq!(with_timeout(Duration::from_secs(10), || 3), Ok(3));
}

#[test]
fn with_timeout_interrupts_a_sleep_and_runs_destructors() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let d = dropped.clone();
    let r = with_timeout(Duration::from_millis(10), move || {
        let _f = DropCounter(d);
        verde::sleep(Duration::from_secs(3600));
    });
    assert!(r.is_err());
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
}

#[test]
fn nested_inner_fires_first() {
    let outer = with_timeout(Duration::from_secs(10), || {
        let inner = with_timeout(Duration::from_millis(10), || verde::sleep(Duration::from_secs(3600)));
        assert!(inner.is_err());
        "outer finished"
    });
    assert_eq!(outer, Ok("outer finished"));
}

#[test]
fn nested_outer_fires_through_inner() {
    let reached_after_inner = Arc::new(AtomicBool::new(false));
    let r = reached_after_inner.clone();
    let outer = with_timeout(Duration::from_millis(10), move || {
        let inner = with_timeout(Duration::from_secs(10), || verde::sleep(Duration::from_secs(3600)));
        r.store(true, Ordering::SeqCst);
        inner
    });
    assert!(outer.is_err());
    assert!(!reached_after_inner.load(Ordering::SeqCst));
}

#[test]
fn cpu_bound_code_is_not_interrupted() {
    let r = with_timeout(Duration::from_millis(1), || {
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_millis(20) {
            std::hint::spin_loop();
        }
        "done"
    });
    assert_eq!(r, Ok("done"));
}

#[test]
fn expired_but_undelivered_timeout_is_withdrawn() {
    let t = Timeout::start(Duration::from_millis(1));
    std::thread::sleep(Duration::from_millis(10)); // not a verde call
    verde::yield_now(); // the timer fires now, delivery pending
    let _ = t;
    // cancel withdraws it; later blocking calls are not interrupted.
    let r = with_timeout(Duration::from_secs(5), || 0);
    assert_eq!(r, Ok(0));
}

#[test]
fn timeout_in_coroutine_interrupts_join() {
    let h = verde::spawn(|| {
        let sleeper = verde::spawn(|| verde::sleep(Duration::from_secs(3600)));
        let r = with_timeout(Duration::from_millis(10), || sleeper.wait_timeout(Duration::from_secs(3600)));
        sleeper.kill();
        r.is_err()
    });
    assert!(h.join().unwrap());
}

#[test]
fn uncaught_timeout_ends_the_coroutine() {
    let h = verde::spawn(|| {
        let _t = Timeout::start(Duration::from_millis(5));
        verde::sleep(Duration::from_secs(3600));
    });
    let err = h.join().unwrap_err();
    assert!(err.is::<verde::TimeoutExpired>());
}

#[test]
fn guard_style_start_and_cancel() {
    let t = Timeout::start(Duration::from_secs(10));
    verde::sleep(Duration::from_millis(1));
    t.cancel();
    let t = Timeout::start(Duration::from_millis(5));
    let r = t.run(|| verde::sleep(Duration::from_secs(3600)));
    assert!(r.is_err());
}

#[test]
fn timeouts_of_different_coroutines_are_independent() {
    // One coroutine's Timeout expiring leaves another's, armed for longer
    // around the same kind of wait, untouched.
    let short = verde_runtime::spawn(|| {
        with_timeout(Duration::from_millis(2), || verde_runtime::sleep(Duration::from_secs(30))).is_err()
    });
    let long = verde_runtime::spawn(|| {
        with_timeout(Duration::from_secs(30), || {
            verde_runtime::sleep(Duration::from_millis(10));
            7
        })
    });
    assert!(short.join().unwrap());
    assert_eq!(long.join().unwrap(), Ok(7));
}

#[test]
fn a_new_timeout_after_an_expired_one_fires_again() {
    // test_expires: gevent restarts the same Timeout; here a new one is
    // armed, and each catches only its own expiry.
    for _ in 0..2 {
        let t = Timeout::start(Duration::from_millis(1));
        assert!(t.run(|| verde_runtime::sleep(Duration::from_secs(30))).is_err());
    }
}

#[test]
fn a_zero_timeout_lets_code_that_never_blocks_finish() {
    assert_eq!(with_timeout(Duration::ZERO, || 5), Ok(5));
    assert!(with_timeout(Duration::ZERO, || verde_runtime::sleep(Duration::from_secs(30))).is_err());
}

#[test]
fn pending_while_armed_and_not_once_expired() {
    // gevent's Timeout.pending.
    let long = Timeout::start(Duration::from_secs(60));
    let short = Timeout::start(Duration::from_millis(1));
    assert!(long.pending() && short.pending());
    let r = std::panic::catch_unwind(|| verde::sleep(Duration::from_secs(60)));
    assert!(short.is_mine(&*r.unwrap_err()));
    assert!(!short.pending(), "it fired");
    assert!(long.pending(), "the other one is still armed");
    drop(short);
    long.cancel();
    // A new timeout after those is armed again.
    let again = Timeout::start(Duration::from_secs(60));
    assert!(again.pending());
}
