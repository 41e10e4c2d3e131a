//! Timed parks through a task's park timer, the one heap entry that stays
//! armed from one timed park to the next: a park still times out at its
//! own deadline, earlier or later than the armed entry's, and an entry
//! left armed by a park woken first wakes nothing. (A main context that
//! would block forever with such an entry armed needs a process of its
//! own: see `park_timer_loop_exit.rs`.)

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use verde::park::{self, Unparked, Waker};
use verde_runtime as verde;

/// A slot where a coroutine leaves the waker of its coming park.
type WakerSlot = Arc<Mutex<Option<Waker>>>;

/// Parks, with a deadline an hour away, until main wakes it through `slot`:
/// the task's park timer is then armed an hour away, and stale.
fn timed_park_woken_early(slot: &WakerSlot) {
    *slot.lock().unwrap() = Some(park::waker());
    let far = Instant::now() + Duration::from_secs(3600);
    assert_eq!(park::park_until(far), Unparked::Woken);
}

/// Yields until a coroutine has left a waker in `slot`, and wakes it.
fn wake_when_parked(slot: &WakerSlot) {
    loop {
        if let Some(w) = slot.lock().unwrap().take() {
            assert!(w.wake(), "the park was still waiting");
            return;
        }
        verde::yield_now();
    }
}

#[test]
fn a_deadline_earlier_than_the_armed_one_times_out_first() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let slot = WakerSlot::default();
    let (l, s) = (log.clone(), slot.clone());
    let short = verde::spawn(move || {
        timed_park_woken_early(&s);
        let deadline = Instant::now() + Duration::from_millis(20);
        while park::park_until(deadline) != Unparked::TimedOut {}
        assert!(Instant::now() >= deadline);
        l.lock().unwrap().push("short park timed out");
    });
    wake_when_parked(&slot);
    let l = log.clone();
    let sleeper = verde::spawn(move || {
        verde::sleep(Duration::from_millis(1500));
        l.lock().unwrap().push("sibling's sleep ended");
    });
    sleeper.join().unwrap();
    assert!(short.is_finished(), "the short park did not wait for the hour-long entry");
    short.join().unwrap();
    assert_eq!(*log.lock().unwrap(), ["short park timed out", "sibling's sleep ended"]);
}

#[test]
fn a_deadline_later_than_the_armed_one_times_out_only_once_it_passed() {
    let slot = WakerSlot::default();
    let s = slot.clone();
    let parker = verde::spawn(move || {
        // Arms the entry a millisecond away, then parks for longer: the
        // entry expires first and must re-arm, not time the park out.
        *s.lock().unwrap() = Some(park::waker());
        assert_eq!(park::park_until(Instant::now() + Duration::from_millis(1)), Unparked::Woken);
        let deadline = Instant::now() + Duration::from_millis(50);
        while park::park_until(deadline) != Unparked::TimedOut {}
        Instant::now() >= deadline
    });
    wake_when_parked(&slot);
    assert!(parker.join().unwrap(), "TimedOut came only after the park's own deadline");
}

#[test]
fn a_park_woken_early_then_parked_without_a_deadline_is_not_woken_by_its_stale_entry() {
    let slot = WakerSlot::default();
    let resumed = Arc::new(AtomicBool::new(false));
    let (s, r) = (slot.clone(), resumed.clone());
    let parker = verde::spawn(move || {
        // The stale entry is armed 10 ms away.
        *s.lock().unwrap() = Some(park::waker());
        assert_eq!(park::park_until(Instant::now() + Duration::from_millis(10)), Unparked::Woken);
        *s.lock().unwrap() = Some(park::waker());
        let how = park::park();
        r.store(true, Ordering::SeqCst);
        how
    });
    wake_when_parked(&slot);
    let (s, r) = (slot.clone(), resumed.clone());
    let observer = verde::spawn(move || {
        verde::sleep(Duration::from_millis(300));
        assert!(!r.load(Ordering::SeqCst), "the untimed park is still parked long after the stale deadline");
        let waker = s.lock().unwrap().take().expect("the untimed park left its waker");
        assert!(waker.wake(), "the untimed park was still waiting for this waker");
    });
    observer.join().unwrap();
    assert_eq!(parker.join().unwrap(), Unparked::Woken);
    assert!(resumed.load(Ordering::SeqCst));
}

#[test]
fn equal_deadlines_fire_in_park_order_even_after_a_re_arm() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let slot = WakerSlot::default();
    let deadline = Instant::now() + Duration::from_millis(200);
    let (l, s) = (log.clone(), slot.clone());
    let first = verde::spawn(move || {
        // Its entry stays armed 20 ms away: it expires and re-arms at
        // `deadline` after `second` has parked until the same deadline.
        *s.lock().unwrap() = Some(park::waker());
        assert_eq!(park::park_until(Instant::now() + Duration::from_millis(20)), Unparked::Woken);
        while park::park_until(deadline) != Unparked::TimedOut {}
        l.lock().unwrap().push("first");
    });
    wake_when_parked(&slot);
    verde::yield_now();
    let l = log.clone();
    let second = verde::spawn(move || {
        while park::park_until(deadline) != Unparked::TimedOut {}
        l.lock().unwrap().push("second");
    });
    verde::joinall([first, second]);
    assert_eq!(*log.lock().unwrap(), ["first", "second"]);
}

#[test]
fn many_timed_parks_woken_early_each_still_see_wakes_and_deadlines() {
    let slot = WakerSlot::default();
    let s = slot.clone();
    let parker = verde::spawn(move || {
        for _ in 0..200 {
            timed_park_woken_early(&s);
        }
        // A `Timeout` fires from a timer of its own: if the park timer
        // failed to come earlier, this fails instead of waiting an hour.
        verde::with_timeout(Duration::from_secs(60), || {
            let deadline = Instant::now() + Duration::from_millis(5);
            while park::park_until(deadline) != Unparked::TimedOut {}
            Instant::now() >= deadline
        })
    });
    for _ in 0..200 {
        wake_when_parked(&slot);
    }
    assert_eq!(parker.join().unwrap(), Ok(true));
}
