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

/// A destructor that parks on the way out of an unwinding coroutine: it
/// says it is inside, waits for a release, then records that it finished.
struct ParkingGoodbye {
    inside: verde::sync::mpsc::Sender<()>,
    release: verde::sync::mpsc::Receiver<()>,
    finished: Arc<AtomicBool>,
}

impl Drop for ParkingGoodbye {
    fn drop(&mut self) {
        self.inside.send(()).unwrap();
        self.release.recv().unwrap();
        self.finished.store(true, Ordering::SeqCst);
    }
}

/// What a test needs to drive a [`ParkingGoodbye`] from outside.
struct GoodbyeControl {
    inside: verde::sync::mpsc::Receiver<()>,
    release: verde::sync::mpsc::Sender<()>,
    finished: Arc<AtomicBool>,
}

impl GoodbyeControl {
    /// Once the destructor is parked inside, kills `h` (again) and checks
    /// the kill waits; then releases the destructor and checks that `h`
    /// ends as `Killed` with its destructor finished.
    fn kill_inside_then_release(self, h: verde::JoinHandle<()>) {
        self.inside.recv().unwrap();
        h.kill_nowait();
        for _ in 0..3 {
            verde::yield_now();
        }
        assert!(!h.is_finished());
        self.release.send(()).unwrap();
        assert!(h.join().unwrap_err().is::<verde::Killed>());
        assert!(self.finished.load(Ordering::SeqCst));
    }
}

fn parking_goodbye() -> (ParkingGoodbye, GoodbyeControl) {
    let (inside_tx, inside) = verde::sync::mpsc::channel();
    let (release, release_rx) = verde::sync::mpsc::channel();
    let finished = Arc::new(AtomicBool::new(false));
    let guard = ParkingGoodbye { inside: inside_tx, release: release_rx, finished: finished.clone() };
    (guard, GoodbyeControl { inside, release, finished })
}

/// A second kill that arrives while the first one's unwinding is parked in
/// a destructor waits for the destructor to finish (unwinding again from
/// inside it would abort the process); the coroutine ends as `Killed`.
#[test]
fn a_second_kill_waits_for_a_destructor_that_parks_while_unwinding() {
    let (guard, control) = parking_goodbye();
    let h = verde::spawn(move || {
        let _guard = guard;
        verde::sleep(Duration::from_secs(3600));
    });
    verde::yield_now();
    h.kill_nowait();
    control.kill_inside_then_release(h);
}

/// A kill that arrives while a `Timeout`'s unwinding is parked in a
/// destructor stays pending until `with_timeout` has caught its own
/// expiry, and is delivered at the coroutine's next park.
#[test]
fn a_kill_during_a_timeouts_parking_destructor_is_delivered_after_the_catch() {
    let (guard, control) = parking_goodbye();
    let caught = Arc::new(AtomicBool::new(false));
    let c = caught.clone();
    let h = verde::spawn(move || {
        let r = verde::with_timeout(Duration::from_millis(10), move || {
            let _guard = guard;
            verde::sleep(Duration::from_secs(3600));
        });
        c.store(r.is_err(), Ordering::SeqCst);
        verde::sleep(Duration::from_secs(3600));
    });
    control.kill_inside_then_release(h);
    assert!(caught.load(Ordering::SeqCst), "with_timeout reports its own expiry");
}
