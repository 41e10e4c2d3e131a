//! Killing coroutines: unwinding from the blocking point, destructors,
//! kill before start.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use verde_runtime as verde;

mod common;
use common::DropCounter;

#[test]
fn kill_unwinds_a_sleeping_coroutine_and_runs_destructors() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let after = Arc::new(AtomicBool::new(false));
    let (d, a) = (dropped.clone(), after.clone());
    let h = verde::spawn(move || {
        let _guard = DropCounter(d);
        verde::sleep(Duration::from_secs(3600));
        a.store(true, Ordering::SeqCst);
    });
    verde::yield_now();
    h.kill();
    assert!(h.is_finished());
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    assert!(!after.load(Ordering::SeqCst));
    assert!(h.join().unwrap_err().is::<verde::Killed>());
}

#[test]
fn killed_before_start_never_runs() {
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let h = verde::spawn(move || r.store(true, Ordering::SeqCst));
    h.kill();
    assert!(!ran.load(Ordering::SeqCst));
    assert!(h.join().unwrap_err().is::<verde::Killed>());
}

#[test]
fn killall_kills_every_coroutine() {
    let unwound = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..50)
        .map(|_| {
            let u = unwound.clone();
            verde::spawn(move || {
                let _c = DropCounter(u);
                verde::sleep(Duration::from_secs(3600));
            })
        })
        .collect();
    verde::yield_now();
    verde::killall(&hs);
    assert!(hs.iter().all(|h| h.is_finished()));
    assert_eq!(unwound.load(Ordering::SeqCst), 50);
}

#[test]
fn kill_from_another_coroutine() {
    let victim = verde::spawn(|| verde::sleep(Duration::from_secs(3600)));
    let killer = verde::spawn(move || {
        victim.kill();
        victim.join().is_err()
    });
    assert!(killer.join().unwrap());
}

#[test]
fn a_coroutine_can_kill_itself() {
    use std::sync::Mutex;
    let after = Arc::new(AtomicBool::new(false));
    let slot: Arc<Mutex<Option<verde::JoinHandle<()>>>> = Arc::default();
    let (a, s) = (after.clone(), slot.clone());
    let h = verde::spawn(move || {
        verde::yield_now();
        let guard = s.lock().unwrap();
        guard.as_ref().expect("handle stored").kill();
        a.store(true, Ordering::SeqCst);
    });
    *slot.lock().unwrap() = Some(h);
    verde::sleep(Duration::from_millis(5));
    let h = slot.lock().unwrap_or_else(|e| e.into_inner()).take().unwrap();
    assert!(h.join().unwrap_err().is::<verde::Killed>());
    assert!(!after.load(Ordering::SeqCst));
}

#[test]
fn kill_of_a_finished_coroutine_is_a_no_op() {
    let h = verde::spawn(|| 5);
    while !h.is_finished() {
        verde::yield_now();
    }
    h.kill();
    assert_eq!(h.join().unwrap(), 5);
}

#[test]
fn kill_interrupts_a_join_wait() {
    let sleeper = verde::spawn(|| verde::sleep(Duration::from_secs(3600)));
    let waiter = verde::spawn(move || {
        let _ = sleeper.join();
    });
    verde::yield_now();
    waiter.kill();
    assert!(waiter.join().unwrap_err().is::<verde::Killed>());
}
