//! gevent.event: ports of test__event.py's behaviours for Event and
//! AsyncResult, plus use across hubs and threads, and `Event::rawlink` /
//! `unlink` and `AsyncResult::rawlink` / `unlink` (AbstractLinkable's
//! protocol).

#[path = "common/logs.rs"]
mod logs;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use verde_runtime as verde;
use verde_runtime::event::{AsyncResult, Event, GetError};

#[test]
fn wait_times_out_on_an_unset_event() {
    let e = Event::new();
    let start = Instant::now();
    assert!(!e.wait(Some(Duration::from_millis(10))));
    assert!(start.elapsed() >= Duration::from_millis(10));
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[test]
fn set_wakes_every_waiter() {
    let e = Arc::new(Event::new());
    let woken = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..10)
        .map(|_| {
            let (e, w) = (e.clone(), woken.clone());
            verde::spawn(move || {
                assert!(e.wait(None));
                w.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    verde::yield_now();
    assert_eq!(woken.load(Ordering::SeqCst), 0);
    e.set();
    verde::joinall(hs).into_iter().for_each(|r| r.unwrap());
    assert_eq!(woken.load(Ordering::SeqCst), 10);
}

#[test]
fn a_waiter_woken_by_set_returns_true_even_if_cleared_before_it_runs() {
    let e = Arc::new(Event::new());
    let e2 = e.clone();
    let waiter = verde::spawn(move || e2.wait(Some(Duration::from_secs(30))));
    verde::yield_now();
    e.set();
    e.clear();
    assert!(waiter.join().unwrap());
    assert!(!e.is_set());
}

#[test]
fn wait_returns_at_once_while_set_and_blocks_again_after_clear() {
    let e = Event::new();
    e.set();
    for _ in 0..3 {
        assert!(e.wait(None));
    }
    e.clear();
    assert!(!e.wait(Some(Duration::from_millis(1))));
}

#[test]
fn a_killed_waiter_does_not_disturb_the_others() {
    let e = Arc::new(Event::new());
    let e1 = e.clone();
    let doomed = verde::spawn(move || e1.wait(None));
    let e2 = e.clone();
    let other = verde::spawn(move || e2.wait(None));
    verde::yield_now();
    doomed.kill();
    e.set();
    assert!(other.join().unwrap());
}

#[test]
fn set_from_a_thread_wakes_coroutines_on_two_hubs() {
    let rt = verde::Runtime::builder().workers(2).build().unwrap();
    let e = Arc::new(Event::new());
    let hs: Vec<_> = (0..6)
        .map(|_| {
            let e = e.clone();
            rt.spawn(move || e.wait(Some(Duration::from_secs(30))))
        })
        .collect();
    let e2 = e.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(10));
        e2.set();
    })
    .join()
    .unwrap();
    assert!(hs.into_iter().all(|h| h.join().unwrap()));
}

#[test]
fn async_result_set_then_get() {
    let r: AsyncResult<&str> = AsyncResult::new();
    assert!(!r.ready());
    r.set("done");
    assert!(r.ready() && r.successful());
    assert_eq!(r.get(None).ok(), Some("done"));
    assert_eq!(r.get_nowait().ok(), Some("done"));
    assert_eq!(r.value(), Some("done"));
    assert!(r.error().is_none());
}

#[test]
fn async_result_wakes_every_getter_with_a_clone() {
    let r = Arc::new(AsyncResult::<Vec<u8>, String>::new());
    let hs: Vec<_> = (0..5)
        .map(|_| {
            let r = r.clone();
            verde::spawn(move || r.get(None))
        })
        .collect();
    verde::yield_now();
    r.set(vec![1, 2, 3]);
    for h in hs {
        assert_eq!(h.join().unwrap(), Ok(vec![1, 2, 3]));
    }
}

#[test]
fn async_result_error_is_raised_to_getters() {
    let r = Arc::new(AsyncResult::<u8, String>::new());
    let r2 = r.clone();
    let getter = verde::spawn(move || r2.get(None));
    verde::yield_now();
    r.set_error("boom".into());
    assert_eq!(getter.join().unwrap(), Err(GetError::Failed("boom".into())));
    assert!(r.ready() && !r.successful());
    assert_eq!(r.error().as_deref(), Some("boom"));
    assert_eq!(r.value(), None);
}

#[test]
fn async_result_default_error_type_holds_any_error() {
    let r: AsyncResult<u8> = AsyncResult::new();
    r.set_error(Arc::new(std::io::Error::other("disk on fire")));
    match r.get_nowait() {
        Err(GetError::Failed(e)) => assert_eq!(e.to_string(), "disk on fire"),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn async_result_get_times_out_and_get_nowait_does_not_wait() {
    let r: AsyncResult<u8, ()> = AsyncResult::new();
    assert_eq!(r.get_nowait(), Err(GetError::Timeout));
    let start = Instant::now();
    assert_eq!(r.get(Some(Duration::from_millis(10))), Err(GetError::Timeout));
    assert!(start.elapsed() >= Duration::from_millis(10));
    assert!(!r.wait(Some(Duration::from_millis(1))));
}

#[test]
fn setting_again_replaces_the_outcome() {
    let r: AsyncResult<u8, ()> = AsyncResult::new();
    r.set(1);
    r.set(2);
    assert_eq!(r.get(None), Ok(2));
}

#[test]
fn async_result_set_by_a_coroutine_on_another_hub_wakes_a_thread() {
    let rt = verde::Runtime::builder().workers(2).build().unwrap();
    let r = Arc::new(AsyncResult::<u64, ()>::new());
    let r2 = r.clone();
    let h = rt.spawn(move || {
        verde::sleep(Duration::from_millis(5));
        r2.set(7);
    });
    let waiter = {
        let r = r.clone();
        std::thread::spawn(move || r.get(Some(Duration::from_secs(30))))
    };
    assert_eq!(waiter.join().unwrap(), Ok(7));
    assert!(r.wait(None));
    h.join().unwrap();
}

#[test]
fn set_then_clear_wakes_a_thousand_waiters() {
    // TestEvent_SetThenClear1000: set immediately followed by clear still
    // releases every waiter already parked.
    let e = Arc::new(Event::new());
    let hs: Vec<_> = (0..1000)
        .map(|_| {
            let e = e.clone();
            verde::spawn(move || e.wait(None))
        })
        .collect();
    verde::yield_now();
    e.set();
    e.clear();
    assert!(verde::joinall(hs).into_iter().all(|r| r.unwrap()));
    assert!(!e.is_set());
}

#[test]
fn a_cleared_event_waited_on_again_is_not_seen_as_set() {
    // test_set_during_wait (gevent issue 771): after being woken by set and
    // clearing the event, a new wait must not return early on the old set.
    let e = Arc::new(Event::new());
    let e2 = e.clone();
    let waiter = verde::spawn(move || {
        let e3 = e2.clone();
        let setter = verde::spawn(move || e3.set());
        assert!(e2.wait(None));
        assert!(e2.is_set());
        setter.join().unwrap();
        e2.clear();
        assert!(!e2.is_set());
        e2.wait(Some(Duration::from_millis(10)))
    });
    assert!(!waiter.join().unwrap());
}

#[test]
fn an_async_result_is_ready_at_once_for_late_getters_and_waiters() {
    // test_link_to_asyncresult: getting again, by new getters, after the
    // result was set, returns at once.
    let r: AsyncResult<u32, String> = AsyncResult::new();
    r.set(100);
    for _ in 0..3 {
        assert!(r.wait(Some(Duration::ZERO)));
        assert_eq!(r.get(Some(Duration::ZERO)), Ok(100));
    }
    r.set_error("err".into());
    for _ in 0..3 {
        assert_eq!(r.get(None), Err(GetError::Failed("err".into())));
    }
    assert!(!r.successful());
}

#[test]
fn an_outer_timeout_is_not_lost_in_a_timed_get() {
    // test_outer_timeout_is_not_lost: the caller's own Timeout expiring
    // first unwinds the get, and is reported as that Timeout, not as the
    // get's timeout.
    let r = Arc::new(AsyncResult::<u8, ()>::new());
    let e = Arc::new(Event::new());
    let (r2, e2) = (r.clone(), e.clone());
    let h = verde::spawn(move || {
        let a = verde::with_timeout(Duration::from_millis(2), || r2.get(Some(Duration::from_secs(30))));
        let b = verde::with_timeout(Duration::from_millis(2), || e2.wait(Some(Duration::from_secs(30))));
        (a.is_err(), b.is_err())
    });
    assert_eq!(h.join().unwrap(), (true, true));
}

// gevent's AbstractLinkable._wait: a wait() that finds the flag up while
// set() is still delivering to earlier waiters waits for them to run.

/// Spawns `n` coroutines on this hub that wait on `e`, then log their
/// number.
fn logging_waiters(e: &Arc<Event>, log: &Arc<std::sync::Mutex<Vec<String>>>, n: usize) -> Vec<verde::JoinHandle<()>> {
    (0..n)
        .map(|i| {
            let (e, log) = (e.clone(), log.clone());
            verde::spawn_local(move || {
                assert!(e.wait(None));
                log.lock().unwrap().push(format!("waiter {i}"));
            })
        })
        .collect()
}

#[test]
fn a_late_wait_on_a_set_event_lets_the_woken_waiters_run_first() {
    let e = Arc::new(Event::new());
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let hs = logging_waiters(&e, &log, 2);
    verde::yield_now();
    e.set();
    assert!(e.wait(None));
    log.lock().unwrap().push("setter".to_string());
    assert_eq!(*log.lock().unwrap(), ["waiter 0", "waiter 1", "setter"]);
    verde::joinall(hs).into_iter().for_each(|r| r.unwrap());

    // The same from a coroutine that sets and then waits.
    log.lock().unwrap().clear();
    let e = Arc::new(Event::new());
    let hs = logging_waiters(&e, &log, 2);
    let (e2, l) = (e.clone(), log.clone());
    let setter = verde::spawn_local(move || {
        e2.set();
        assert!(e2.wait(None));
        l.lock().unwrap().push("setter".to_string());
    });
    setter.join().unwrap();
    verde::joinall(hs).into_iter().for_each(|r| r.unwrap());
    assert_eq!(*log.lock().unwrap(), ["waiter 0", "waiter 1", "setter"]);
}

#[test]
fn wait_on_a_set_event_nobody_is_being_woken_for_returns_without_yielding() {
    let e = Event::new();
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let l = log.clone();
    let other = verde::spawn_local(move || l.lock().unwrap().push("other"));
    e.set();
    assert!(e.wait(None));
    log.lock().unwrap().push("caller");
    other.join().unwrap();
    assert_eq!(*log.lock().unwrap(), ["caller", "other"]);
}

#[test]
fn woken_waiters_that_are_killed_still_count_as_delivered() {
    let e = Arc::new(Event::new());
    let e1 = e.clone();
    let doomed = verde::spawn_local(move || {
        e1.wait(None);
        verde::sleep(Duration::from_secs(60));
    });
    verde::yield_now();
    e.set();
    doomed.kill();
    assert!(doomed.join().unwrap_err().is::<verde::Killed>());
    // Nobody is left to deliver to: a wait returns without yielding.
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let l = log.clone();
    let other = verde::spawn_local(move || l.lock().unwrap().push("other"));
    assert!(e.wait(None));
    log.lock().unwrap().push("caller");
    other.join().unwrap();
    assert_eq!(*log.lock().unwrap(), ["caller", "other"]);
}

// Event.rawlink / Event.unlink.

type Log = Arc<std::sync::Mutex<Vec<String>>>;

/// A callback, for any owner, that logs `name`.
fn logs<O>(log: &Log, name: &str) -> impl FnOnce(&O) + Send + 'static {
    let (log, name) = (log.clone(), name.to_string());
    move |_| log.lock().unwrap().push(name)
}

#[test]
fn rawlink_callbacks_run_once_each_in_order_when_the_event_is_set() {
    let e = Event::new();
    let log = Log::default();
    e.rawlink(logs(&log, "a"));
    e.rawlink(logs(&log, "b"));
    let seen = Arc::new(AtomicUsize::new(0));
    let s = seen.clone();
    e.rawlink(move |e| s.store(usize::from(e.is_set()) + 1, Ordering::SeqCst));
    assert!(log.lock().unwrap().is_empty());
    e.set();
    assert_eq!(*log.lock().unwrap(), ["a", "b"], "ran inside set, in order");
    assert_eq!(seen.load(Ordering::SeqCst), 2, "the callback saw the flag up");
    // One-shot: neither a second set nor a clear-and-set runs them again.
    e.set();
    e.clear();
    e.set();
    assert_eq!(log.lock().unwrap().len(), 2);
    // Added while the flag is down: waits for the next set.
    e.clear();
    e.rawlink(logs(&log, "c"));
    assert_eq!(log.lock().unwrap().len(), 2);
    e.set();
    assert_eq!(*log.lock().unwrap(), ["a", "b", "c"]);
}

#[test]
fn rawlink_on_a_set_event_runs_the_callback_at_once() {
    let e = Event::new();
    e.set();
    let log = Log::default();
    let id = e.rawlink(logs(&log, "now"));
    assert_eq!(*log.lock().unwrap(), ["now"]);
    assert!(!e.unlink(id), "it has run");
}

#[test]
fn unlink_removes_only_a_callback_that_has_not_run() {
    let e = Event::new();
    let log = Log::default();
    let a = e.rawlink(logs(&log, "a"));
    let b = e.rawlink(logs(&log, "b"));
    assert_ne!(a, b);
    assert!(e.unlink(a));
    assert!(!e.unlink(a), "already removed");
    // A LinkId from another object never matches this event's links.
    let other = Event::new();
    let foreign = other.rawlink(|_| ());
    assert!(!e.unlink(foreign));
    let h = verde::spawn(|| ());
    assert!(!e.unlink(h.rawlink(|_| ())));
    h.join().unwrap();
    e.set();
    assert_eq!(*log.lock().unwrap(), ["b"]);
    assert!(!e.unlink(b), "it has run");
    assert!(other.unlink(foreign), "still linked to its own event");
}

#[test]
fn rawlink_callbacks_run_before_the_setters_hub_runs_the_woken_waiters() {
    let e = Arc::new(Event::new());
    let log = Log::default();
    let (e2, l) = (e.clone(), log.clone());
    let waiter = verde::spawn(move || {
        e2.wait(None);
        l.lock().unwrap().push("waiter woke".to_string());
    });
    verde::yield_now(); // the waiter waits
    e.rawlink(logs(&log, "callback"));
    e.set();
    log.lock().unwrap().push("set returned".to_string());
    waiter.join().unwrap();
    assert_eq!(*log.lock().unwrap(), ["callback", "set returned", "waiter woke"]);
}

#[test]
fn a_panicking_rawlink_callback_is_logged_and_the_others_still_run() {
    logs::capture();
    let e = Event::new();
    let log = Log::default();
    e.rawlink(logs(&log, "before"));
    e.rawlink(|_| panic!("event-link-boom"));
    e.rawlink(logs(&log, "after"));
    e.set(); // does not unwind
    assert_eq!(*log.lock().unwrap(), ["before", "after"]);
    let reported = logs::logged("event-link-boom").len();
    assert_eq!(reported, 1);
    assert!(e.is_set());
}

#[test]
fn rawlink_callbacks_run_on_the_setters_thread_whatever_it_is() {
    // A plain thread sets.
    let e = Arc::new(Event::new());
    let (tx, rx) = std::sync::mpsc::channel();
    let t = tx.clone();
    e.rawlink(move |_| t.send(std::thread::current().id()).unwrap());
    let e2 = e.clone();
    let setter = std::thread::spawn(move || {
        e2.set();
        std::thread::current().id()
    });
    let setter_thread = setter.join().unwrap();
    assert_eq!(rx.recv().unwrap(), setter_thread);

    // A coroutine on another hub sets; callbacks added from a third thread.
    let rt = verde::Runtime::builder().workers(2).build().unwrap();
    let e = Arc::new(Event::new());
    let count = Arc::new(AtomicUsize::new(0));
    let (e2, c) = (e.clone(), count.clone());
    std::thread::spawn(move || {
        for _ in 0..10 {
            let c = c.clone();
            e2.rawlink(move |_| {
                c.fetch_add(1, Ordering::SeqCst);
            });
        }
    })
    .join()
    .unwrap();
    let (e2, t) = (e.clone(), tx.clone());
    let setter = rt.spawn_on(1, move || {
        e2.rawlink(move |_| t.send(std::thread::current().id()).unwrap());
        e2.set();
        std::thread::current().id()
    });
    let hub_thread = setter.join().unwrap();
    assert_eq!(rx.recv().unwrap(), hub_thread);
    assert_eq!(count.load(Ordering::SeqCst), 10);
}

#[test]
fn a_rawlink_callback_may_set_events_and_link_again() {
    let first = Arc::new(Event::new());
    let second = Arc::new(Event::new());
    let log = Log::default();
    let (s, l) = (second.clone(), log.clone());
    first.rawlink(move |first| {
        // Linking to the event being set, from its own callback: it is
        // set, so the new callback runs at once, inside this one.
        first.rawlink(logs(&l, "nested"));
        l.lock().unwrap().push("outer".to_string());
        s.set();
    });
    second.rawlink(logs(&log, "second"));
    let waiter = {
        let s = second.clone();
        verde::spawn(move || s.wait(None))
    };
    first.set();
    assert_eq!(*log.lock().unwrap(), ["nested", "outer", "second"]);
    assert!(waiter.join().unwrap());
}

#[test]
fn rawlink_and_iwait_share_the_event_in_the_order_they_linked() {
    let e = Arc::new(Event::new());
    let log = Log::default();
    e.rawlink(logs(&log, "rawlink"));
    let (e2, l) = (e.clone(), log.clone());
    let waiter = verde::spawn(move || {
        let ready: Vec<usize> = verde::iwait(&[&*e2], None).collect();
        l.lock().unwrap().push(format!("iwait {ready:?}"));
    });
    verde::yield_now(); // the iwait links
    e.set();
    waiter.join().unwrap();
    assert_eq!(*log.lock().unwrap(), ["rawlink", "iwait [0]"]);
}

// AsyncResult.rawlink / AsyncResult.unlink.

type Result32 = AsyncResult<u32, String>;

#[test]
fn async_result_rawlink_callbacks_run_once_each_in_order_when_set() {
    let r = Result32::new();
    let log = Log::default();
    r.rawlink(logs(&log, "a"));
    r.rawlink(logs(&log, "b"));
    let l = log.clone();
    r.rawlink(move |r: &Result32| l.lock().unwrap().push(format!("saw {:?}", r.get_nowait())));
    assert!(log.lock().unwrap().is_empty());
    r.set(5);
    assert_eq!(*log.lock().unwrap(), ["a", "b", "saw Ok(5)"], "ran inside set, in order, after the value was stored");
    // One-shot: setting again (a value or an error) runs none of them again.
    r.set(6);
    r.set_error("late".to_string());
    assert_eq!(log.lock().unwrap().len(), 3);
}

#[test]
fn async_result_rawlink_callbacks_run_when_an_error_is_set() {
    let r = Result32::new();
    let log = Log::default();
    let l = log.clone();
    r.rawlink(move |r: &Result32| l.lock().unwrap().push(format!("{:?} {}", r.error(), r.successful())));
    r.set_error("boom".to_string());
    assert_eq!(*log.lock().unwrap(), ["Some(\"boom\") false"]);
}

#[test]
fn async_result_rawlink_on_a_set_result_runs_the_callback_at_once() {
    let r = Result32::new();
    r.set(1);
    let log = Log::default();
    let id = r.rawlink(logs(&log, "now"));
    assert_eq!(*log.lock().unwrap(), ["now"]);
    assert!(!r.unlink(id), "it has run");
    // Even if the result is set to an error.
    let failed = Result32::new();
    failed.set_error("e".to_string());
    failed.rawlink(logs(&log, "now again"));
    assert_eq!(*log.lock().unwrap(), ["now", "now again"]);
}

#[test]
fn async_result_unlink_removes_only_a_callback_that_has_not_run() {
    let r = Result32::new();
    let log = Log::default();
    let a = r.rawlink(logs(&log, "a"));
    let b = r.rawlink(logs(&log, "b"));
    let c = r.rawlink(logs(&log, "c"));
    assert!(r.unlink(b));
    assert!(!r.unlink(b), "already removed");
    // A LinkId of another object never matches this result's links.
    let e = Event::new();
    let foreign = e.rawlink(|_| ());
    assert!(!r.unlink(foreign));
    r.set(0);
    assert_eq!(*log.lock().unwrap(), ["a", "c"]);
    assert!(!r.unlink(a) && !r.unlink(c), "they have run");
    assert!(e.unlink(foreign), "still linked to its own event");
}

#[test]
fn a_rawlink_callback_may_unlink_a_later_one_only_before_set_takes_them() {
    // `set` takes every callback at once: unlinking a later one from inside
    // an earlier one finds nothing left to remove, and the later one runs.
    let r = Arc::new(Result32::new());
    let log = Log::default();
    let later = Arc::new(std::sync::Mutex::new(None));
    let (l, lt) = (log.clone(), later.clone());
    r.rawlink(move |r: &Result32| {
        let removed = r.unlink(lt.lock().unwrap().expect("linked"));
        l.lock().unwrap().push(format!("first removed={removed}"));
    });
    *later.lock().unwrap() = Some(r.rawlink(logs(&log, "later")));
    r.set(1);
    assert_eq!(*log.lock().unwrap(), ["first removed=false", "later"]);
}

#[test]
fn async_result_rawlink_callbacks_run_before_the_setters_hub_runs_the_getters() {
    let r = Arc::new(Result32::new());
    let log = Log::default();
    let (r2, l) = (r.clone(), log.clone());
    let getter = verde::spawn(move || {
        let got = r2.get(None);
        l.lock().unwrap().push(format!("getter got {got:?}"));
    });
    verde::yield_now(); // the getter waits
    r.rawlink(logs(&log, "callback"));
    r.set(9);
    log.lock().unwrap().push("set returned".to_string());
    getter.join().unwrap();
    assert_eq!(*log.lock().unwrap(), ["callback", "set returned", "getter got Ok(9)"]);
}

#[test]
fn a_panicking_async_result_rawlink_callback_is_logged_and_the_others_still_run() {
    logs::capture();
    let r = Result32::new();
    let log = Log::default();
    r.rawlink(logs(&log, "before"));
    r.rawlink(|_: &Result32| panic!("result-link-boom"));
    r.rawlink(logs(&log, "after"));
    r.set(3); // does not unwind
    assert_eq!(*log.lock().unwrap(), ["before", "after"]);
    let reported: Vec<String> = logs::logged("result-link-boom");
    assert_eq!(reported.len(), 1);
    assert!(reported[0].contains("AsyncResult"), "{reported:?}");
    assert_eq!(r.get_nowait(), Ok(3));
    // A panic at once, in rawlink, is caught and logged too.
    r.rawlink(|_: &Result32| panic!("result-link-boom-now"));
    let reported = logs::logged("result-link-boom-now").len();
    assert_eq!(reported, 1);
}

#[test]
fn async_result_rawlink_callbacks_run_on_the_setters_thread_whatever_it_is() {
    // A plain thread sets.
    let r = Arc::new(Result32::new());
    let (tx, rx) = std::sync::mpsc::channel();
    let t = tx.clone();
    r.rawlink(move |_: &Result32| t.send(std::thread::current().id()).unwrap());
    let r2 = r.clone();
    let setter = std::thread::spawn(move || {
        r2.set(1);
        std::thread::current().id()
    });
    assert_eq!(rx.recv().unwrap(), setter.join().unwrap());

    // A coroutine on another hub sets; callbacks added from a plain thread
    // and from a coroutine on the other hub.
    let rt = verde::Runtime::builder().workers(2).build().unwrap();
    let r = Arc::new(Result32::new());
    let count = Arc::new(AtomicUsize::new(0));
    let (r2, c) = (r.clone(), count.clone());
    std::thread::spawn(move || {
        for _ in 0..10 {
            let c = c.clone();
            r2.rawlink(move |_: &Result32| {
                c.fetch_add(1, Ordering::SeqCst);
            });
        }
    })
    .join()
    .unwrap();
    let (r2, c) = (r.clone(), count.clone());
    rt.spawn_on(0, move || {
        r2.rawlink(move |r: &Result32| {
            c.fetch_add(100 * r.value().unwrap() as usize, Ordering::SeqCst);
        });
    })
    .join()
    .unwrap();
    let (r2, t) = (r.clone(), tx.clone());
    let setter = rt.spawn_on(1, move || {
        r2.rawlink(move |_: &Result32| t.send(std::thread::current().id()).unwrap());
        r2.set(2);
        std::thread::current().id()
    });
    let hub_thread = setter.join().unwrap();
    assert_eq!(rx.recv().unwrap(), hub_thread);
    assert_eq!(count.load(Ordering::SeqCst), 210);
}

#[test]
fn async_result_rawlink_and_iwait_share_the_result_in_the_order_they_linked() {
    let r = Arc::new(Result32::new());
    let log = Log::default();
    r.rawlink(logs(&log, "rawlink before"));
    let (r2, l) = (r.clone(), log.clone());
    let waiter = verde::spawn(move || {
        let ready: Vec<usize> = verde::iwait(&[&*r2], None).collect();
        l.lock().unwrap().push(format!("iwait {ready:?}"));
    });
    verde::yield_now(); // the iwait links
    r.rawlink(logs(&log, "rawlink after"));
    r.set(1);
    waiter.join().unwrap();
    assert_eq!(*log.lock().unwrap(), ["rawlink before", "rawlink after", "iwait [0]"]);
    // verde::wait on a set result returns at once, and a rawlink still runs at once.
    assert_eq!(verde::wait(&[&*r], None, None), [0]);
    r.rawlink(logs(&log, "late"));
    assert_eq!(log.lock().unwrap().last().unwrap(), "late");
}
