//! gevent.lock: ports of test__semaphore.py's behaviours (timeouts return
//! false, bounded release, FIFO waiters, waiters that die), RLock, and the
//! semaphores' `rawlink` / `unlink` (AbstractLinkable's protocol).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use verde_runtime as verde;
use verde_runtime::lock::{BoundedSemaphore, OverReleased, RLock, Semaphore};

mod common;
#[path = "common/logs.rs"]
mod logs;
use common::DropCounter;

#[test]
fn acquire_times_out_returning_false() {
    let sem = Semaphore::new(0);
    let start = Instant::now();
    assert!(!sem.acquire(true, Some(Duration::from_millis(10))));
    assert!(start.elapsed() >= Duration::from_millis(10));
    assert!(start.elapsed() < Duration::from_secs(10));
    assert!(!sem.acquire(false, None));
    assert!(sem.guard_timeout(Duration::from_millis(1)).is_none());
    assert_eq!(sem.counter(), 0);
}

#[test]
fn a_timed_out_waiter_leaves_and_the_permit_goes_to_the_next() {
    let sem = Arc::new(Semaphore::new(0));
    let s = sem.clone();
    let impatient = verde::spawn(move || s.acquire(true, Some(Duration::from_millis(5))));
    let s = sem.clone();
    let patient = verde::spawn(move || s.acquire(true, Some(Duration::from_secs(30))));
    assert!(!impatient.join().unwrap());
    sem.release();
    assert!(patient.join().unwrap());
    assert_eq!(sem.counter(), 0);
}

#[test]
fn waiters_get_permits_in_fifo_order() {
    let sem = Arc::new(Semaphore::new(0));
    let order = Arc::new(Mutex::new(Vec::new()));
    let hs: Vec<_> = (0..5)
        .map(|i| {
            let (s, o) = (sem.clone(), order.clone());
            verde::spawn(move || {
                assert!(s.acquire(true, None));
                o.lock().unwrap().push(i);
            })
        })
        .collect();
    verde::yield_now();
    for _ in 0..5 {
        sem.release();
    }
    verde::joinall(hs);
    assert_eq!(*order.lock().unwrap(), [0, 1, 2, 3, 4]);
}

#[test]
fn a_newcomer_does_not_take_a_permit_released_for_a_waiter() {
    let sem = Arc::new(Semaphore::new(0));
    let s = sem.clone();
    let waiter = verde::spawn(move || s.acquire(true, None));
    verde::yield_now();
    sem.release();
    assert!(!sem.acquire(false, None), "the permit was handed to the waiter");
    assert!(waiter.join().unwrap());
}

#[test]
fn a_waiter_killed_after_being_handed_a_permit_passes_it_on() {
    let sem = Arc::new(Semaphore::new(0));
    let s = sem.clone();
    let doomed = verde::spawn(move || s.acquire(true, None));
    let s = sem.clone();
    let next = verde::spawn(move || s.acquire(true, None));
    verde::yield_now();
    doomed.kill_nowait();
    sem.release();
    assert!(doomed.join().is_err());
    assert!(next.join().unwrap());
    sem.release();
    assert_eq!(sem.counter(), 1, "no permit lost or duplicated");
}

#[test]
fn a_guard_is_released_when_its_holder_is_killed() {
    let sem = Arc::new(Semaphore::new(1));
    let dropped = Arc::new(AtomicUsize::new(0));
    let (s, d) = (sem.clone(), dropped.clone());
    let holder = verde::spawn(move || {
        let _c = DropCounter(d);
        let _g = s.guard();
        verde::sleep(Duration::from_secs(3600));
    });
    verde::yield_now();
    assert!(sem.locked());
    holder.kill();
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    assert_eq!(sem.counter(), 1);
}

#[test]
fn an_unbounded_semaphore_may_be_released_past_its_start() {
    let sem = Semaphore::new(1);
    sem.release();
    assert_eq!(sem.counter(), 2);
}

#[test]
fn bounded_semaphore_refuses_to_be_released_too_many_times() {
    let sem = BoundedSemaphore::new(2);
    assert_eq!(sem.try_release(), Err(OverReleased));
    assert!(sem.acquire(true, None));
    let g = sem.guard();
    assert!(sem.locked());
    drop(g);
    assert_eq!(sem.try_release(), Ok(()));
    assert_eq!(sem.counter(), 2);
}

#[test]
#[should_panic(expected = "semaphore released too many times")]
fn bounded_semaphore_release_panics_when_over_released() {
    BoundedSemaphore::new(1).release();
}

#[test]
fn at_most_n_inside_across_hubs_and_a_thread() {
    let rt = verde::Runtime::builder().workers(2).build().unwrap();
    let sem = Arc::new(BoundedSemaphore::new(3));
    let inside = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let work = {
        let (sem, inside, most) = (sem.clone(), inside.clone(), most.clone());
        move |sleep: fn()| {
            for _ in 0..200 {
                let _g = sem.guard();
                let n = inside.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(n, Ordering::SeqCst);
                sleep();
                inside.fetch_sub(1, Ordering::SeqCst);
            }
        }
    };
    let hs: Vec<_> = (0..6)
        .map(|_| {
            let work = work.clone();
            rt.spawn(move || work(verde::yield_now))
        })
        .collect();
    let t = std::thread::spawn(move || work(std::thread::yield_now));
    hs.into_iter().for_each(|h| h.join().unwrap());
    t.join().unwrap();
    assert!(most.load(Ordering::SeqCst) <= 3);
    assert_eq!(sem.counter(), 3);
}

#[test]
fn rlock_is_reentrant_for_its_owner_and_excludes_others() {
    let lock = Arc::new(RLock::new());
    assert!(lock.acquire(true, None));
    assert!(lock.acquire(false, None));
    let l = lock.clone();
    let other = verde::spawn(move || {
        assert!(!l.acquire(false, None));
        assert!(!l.acquire(true, Some(Duration::from_millis(5))));
        let _g = l.guard();
        "got it"
    });
    verde::yield_now();
    lock.release();
    verde::sleep(Duration::from_millis(10));
    assert!(!other.is_finished(), "one level is still held");
    lock.release();
    assert_eq!(other.join().unwrap(), "got it");
    assert!(!lock.locked());
}

#[test]
fn rlock_release_by_a_non_owner_panics() {
    let lock = Arc::new(RLock::new());
    let _g = lock.guard();
    let l = lock.clone();
    let err = verde::spawn(move || l.release()).join().unwrap_err();
    assert!(verde::describe_payload(&*err).contains("cannot release un-acquired lock"));
    assert!(lock.locked());
}

#[test]
fn rlock_guard_timeout_gives_up_without_releasing() {
    let lock = Arc::new(RLock::new());
    let _g = lock.guard();
    let l = lock.clone();
    let other = verde::spawn(move || l.guard_timeout(Duration::from_millis(5)).is_none());
    assert!(other.join().unwrap());
    assert!(lock.locked());
}

#[test]
fn rlock_waiters_on_other_hubs_and_threads_take_turns() {
    let rt = verde::Runtime::builder().workers(2).build().unwrap();
    let lock = Arc::new(RLock::new());
    let value = Arc::new(Mutex::new(0u32));
    let work = {
        let (lock, value) = (lock.clone(), value.clone());
        move || {
            for _ in 0..200 {
                let _outer = lock.guard();
                let _inner = lock.guard();
                let v = *value.lock().unwrap();
                verde::yield_now();
                *value.lock().unwrap() = v + 1;
            }
        }
    };
    let hs: Vec<_> = (0..4).map(|_| rt.spawn(work.clone())).collect();
    let t = std::thread::spawn(work);
    hs.into_iter().for_each(|h| h.join().unwrap());
    t.join().unwrap();
    assert_eq!(*value.lock().unwrap(), 1000);
}

#[test]
fn acquire_with_a_zero_timeout_does_not_wait() {
    // gevent's acquire(timeout=0): a free permit is taken, a missing one is
    // not waited for, and nothing is lost either way.
    let sem = Semaphore::new(1);
    assert!(sem.acquire(true, Some(Duration::ZERO)));
    assert!(!sem.acquire(true, Some(Duration::ZERO)));
    assert_eq!(sem.counter(), 0);
    sem.release();
    assert_eq!(sem.counter(), 1);
    let bounded = BoundedSemaphore::new(1);
    assert!(bounded.acquire(true, Some(Duration::ZERO)));
    assert!(!bounded.acquire(true, Some(Duration::ZERO)));
    assert_eq!(bounded.try_release(), Ok(()));
    assert_eq!(bounded.try_release(), Err(OverReleased));
}

#[test]
fn a_thread_that_gave_up_does_not_swallow_the_next_release() {
    // test_acquire_in_one_then_another_timed: a waiter on another thread
    // times out; the release that follows is not handed to it.
    let sem = Arc::new(Semaphore::new(1));
    assert!(sem.acquire(true, None));
    let s = sem.clone();
    let t = std::thread::spawn(move || s.acquire(true, Some(Duration::from_millis(5))));
    assert!(!t.join().unwrap());
    sem.release();
    assert_eq!(sem.counter(), 1);
}

#[test]
fn a_semaphore_is_fair_so_a_third_waiter_is_not_starved() {
    // test_fair_or_hangs: two coroutines keep taking and returning the one
    // permit; a third asking once must get it rather than be overtaken
    // forever.
    let sem = Arc::new(Semaphore::new(1));
    let quit = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let rounds = Arc::new(AtomicUsize::new(0));
    let keep_going: Vec<_> = (0..2)
        .map(|_| {
            let (sem, quit, rounds) = (sem.clone(), quit.clone(), rounds.clone());
            verde::spawn(move || {
                while !quit.load(Ordering::SeqCst) {
                    assert!(sem.acquire(true, None));
                    rounds.fetch_add(1, Ordering::SeqCst);
                    verde::yield_now();
                    sem.release();
                }
            })
        })
        .collect();
    let (s, q) = (sem.clone(), quit.clone());
    let exiting = verde::spawn(move || {
        verde::yield_now();
        assert!(s.acquire(true, None));
        q.store(true, Ordering::SeqCst);
        s.release();
    });
    exiting.join().unwrap();
    for h in keep_going {
        h.join().unwrap();
    }
    assert!(rounds.load(Ordering::SeqCst) < 100, "the third waiter was served in turn");
    assert_eq!(sem.counter(), 1);
}

#[test]
fn wait_returns_when_a_permit_is_free_without_taking_it() {
    let sem = Arc::new(Semaphore::new(1));
    assert_eq!(sem.wait(None), 1);
    assert_eq!(sem.counter(), 1);
    assert!(sem.acquire(true, None));
    assert_eq!(sem.wait(Some(Duration::from_millis(5))), 0);
    let watchers: Vec<_> = (0..3)
        .map(|_| {
            let s = sem.clone();
            verde::spawn(move || s.wait(None))
        })
        .collect();
    verde::yield_now();
    sem.release();
    // Every watcher wakes; none took the permit.
    for w in watchers {
        assert_eq!(w.join().unwrap(), 1);
    }
    assert_eq!(sem.counter(), 1);
}

#[test]
fn wait_lets_blocked_acquirers_go_first() {
    let sem = Arc::new(BoundedSemaphore::new(1));
    assert!(sem.acquire(true, None));
    let order = Arc::new(Mutex::new(Vec::new()));
    let (s, o) = (sem.clone(), order.clone());
    let acquirer = verde::spawn(move || {
        assert!(s.acquire(true, None));
        o.lock().unwrap().push("acquired");
        verde::yield_now();
        s.release();
    });
    verde::yield_now();
    let (s, o) = (sem.clone(), order.clone());
    let watcher = verde::spawn(move || {
        let free = s.wait(None);
        o.lock().unwrap().push("waited");
        free
    });
    verde::yield_now();
    sem.release(); // handed to the acquirer, not seen by the watcher
    assert_eq!(watcher.join().unwrap(), 1);
    acquirer.join().unwrap();
    assert_eq!(*order.lock().unwrap(), ["acquired", "waited"]);
    assert_eq!(sem.counter(), 1);
}

#[test]
fn a_killed_watcher_leaves_and_the_others_still_wake() {
    let sem = Arc::new(Semaphore::new(0));
    let s = sem.clone();
    let doomed = verde::spawn(move || s.wait(None));
    let s = sem.clone();
    let survivor = verde::spawn(move || s.wait(None));
    verde::yield_now();
    doomed.kill();
    assert!(doomed.join().unwrap_err().is::<verde::Killed>());
    sem.release();
    assert_eq!(survivor.join().unwrap(), 1);
}

// Semaphore.rawlink / BoundedSemaphore.rawlink and unlink.

type Log = Arc<Mutex<Vec<String>>>;

/// A callback, for either semaphore, that logs `name`.
fn logs<O>(log: &Log, name: &str) -> impl FnOnce(&O) + Send + 'static {
    let (log, name) = (log.clone(), name.to_string());
    move |_| log.lock().unwrap().push(name)
}

#[test]
fn semaphore_rawlink_callbacks_run_once_each_in_order_when_a_permit_is_freed() {
    let sem = Semaphore::new(0);
    let log = Log::default();
    sem.rawlink(logs(&log, "a"));
    sem.rawlink(logs(&log, "b"));
    let l = log.clone();
    sem.rawlink(move |sem: &Semaphore| l.lock().unwrap().push(format!("counter {}", sem.counter())));
    assert!(log.lock().unwrap().is_empty());
    sem.release();
    assert_eq!(*log.lock().unwrap(), ["a", "b", "counter 1"], "ran inside release, in order, with the permit free");
    // One-shot: later releases run none of them again.
    assert!(sem.acquire(false, None));
    sem.release();
    sem.release();
    assert_eq!(log.lock().unwrap().len(), 3);
    assert_eq!(sem.counter(), 2);
}

#[test]
fn semaphore_rawlink_with_a_free_permit_runs_the_callback_at_once() {
    let sem = Semaphore::new(1);
    let log = Log::default();
    let id = sem.rawlink(logs(&log, "now"));
    assert_eq!(*log.lock().unwrap(), ["now"]);
    assert!(!sem.unlink(id), "it has run");
    assert_eq!(sem.counter(), 1, "a callback takes no permit");
    let bounded = BoundedSemaphore::new(2);
    assert!(bounded.acquire(false, None));
    bounded.rawlink(logs(&log, "one of two free"));
    assert_eq!(*log.lock().unwrap(), ["now", "one of two free"]);
}

#[test]
fn semaphore_unlink_removes_only_a_callback_that_has_not_run() {
    let sem = Semaphore::new(0);
    let log = Log::default();
    let a = sem.rawlink(logs(&log, "a"));
    let b = sem.rawlink(logs(&log, "b"));
    assert_ne!(a, b);
    assert!(sem.unlink(a));
    assert!(!sem.unlink(a), "already removed");
    // A LinkId of another object never matches this semaphore's links.
    let other = BoundedSemaphore::new(1);
    assert!(other.acquire(false, None));
    let foreign = other.rawlink(logs(&log, "other"));
    assert!(!sem.unlink(foreign));
    assert!(!sem.unlink(verde::event::Event::new().rawlink(|_| ())));
    sem.release();
    assert_eq!(*log.lock().unwrap(), ["b"]);
    assert!(!sem.unlink(b), "it has run");
    assert!(other.unlink(foreign), "still linked to its own semaphore");
    other.release();
    assert_eq!(*log.lock().unwrap(), ["b"]);
}

#[test]
fn a_callback_that_takes_the_last_permit_leaves_the_later_ones_for_the_next_release() {
    // gevent notifies a semaphore's links only while it is ready.
    let sem = Semaphore::new(0);
    let log = Log::default();
    let l = log.clone();
    sem.rawlink(move |sem: &Semaphore| {
        let took = sem.acquire(false, None);
        l.lock().unwrap().push(format!("taker took={took}"));
    });
    let later = sem.rawlink(logs(&log, "later"));
    sem.rawlink(logs(&log, "last"));
    sem.release();
    assert_eq!(*log.lock().unwrap(), ["taker took=true"]);
    assert_eq!(sem.counter(), 0);
    assert!(sem.unlink(later), "still linked, not run");
    sem.release();
    assert_eq!(*log.lock().unwrap(), ["taker took=true", "last"]);
    assert_eq!(sem.counter(), 1);
}

#[test]
fn a_callback_may_unlink_a_later_one_while_the_release_runs_them() {
    // The release takes the callbacks one at a time, so an earlier one can
    // still unlink a later one (unlike an Event's set, which takes them all).
    let sem = Arc::new(Semaphore::new(0));
    let log = Log::default();
    let later = Arc::new(Mutex::new(None));
    let (l, lt) = (log.clone(), later.clone());
    sem.rawlink(move |sem: &Semaphore| {
        let removed = sem.unlink(lt.lock().unwrap().expect("linked"));
        l.lock().unwrap().push(format!("first removed={removed}"));
    });
    *later.lock().unwrap() = Some(sem.rawlink(logs(&log, "later")));
    sem.release();
    assert_eq!(*log.lock().unwrap(), ["first removed=true"]);
}

#[test]
fn a_release_handed_to_a_blocked_acquirer_runs_no_callback() {
    let sem = Arc::new(Semaphore::new(0));
    let log = Log::default();
    let (s, l) = (sem.clone(), log.clone());
    let acquirer = verde::spawn(move || {
        assert!(s.acquire(true, None));
        l.lock().unwrap().push("acquired".to_string());
    });
    verde::yield_now(); // the acquirer waits
    sem.rawlink(logs(&log, "callback"));
    sem.release(); // handed to the acquirer: nothing freed
    acquirer.join().unwrap();
    assert_eq!(*log.lock().unwrap(), ["acquired"]);
    sem.release();
    assert_eq!(*log.lock().unwrap(), ["acquired", "callback"]);
}

#[test]
fn a_permit_passed_back_by_a_killed_acquirer_runs_the_callbacks() {
    let sem = Arc::new(Semaphore::new(0));
    let log = Log::default();
    let s = sem.clone();
    let doomed = verde::spawn(move || s.acquire(true, None));
    verde::yield_now();
    sem.rawlink(logs(&log, "callback"));
    doomed.kill_nowait();
    sem.release(); // handed to the doomed acquirer, which frees it unwinding
    assert!(log.lock().unwrap().is_empty());
    assert!(doomed.join().is_err());
    assert_eq!(*log.lock().unwrap(), ["callback"]);
    assert_eq!(sem.counter(), 1);
}

#[test]
fn bounded_semaphore_rawlink_runs_on_release_and_guard_drop_but_not_over_release() {
    let sem = BoundedSemaphore::new(1);
    let log = Log::default();
    let l = log.clone();
    assert_eq!(sem.try_release(), Err(OverReleased));
    let guard = sem.guard();
    sem.rawlink(move |sem: &BoundedSemaphore| l.lock().unwrap().push(format!("counter {}", sem.counter())));
    drop(guard);
    assert_eq!(*log.lock().unwrap(), ["counter 1"]);
    assert!(sem.acquire(false, None));
    sem.rawlink(logs(&log, "release"));
    sem.release();
    assert_eq!(*log.lock().unwrap(), ["counter 1", "release"]);
}

#[test]
fn a_panicking_semaphore_rawlink_callback_is_logged_and_the_others_still_run() {
    logs::capture();
    let sem = Semaphore::new(0);
    let log = Log::default();
    sem.rawlink(logs(&log, "before"));
    sem.rawlink(|_: &Semaphore| panic!("semaphore-link-boom"));
    sem.rawlink(logs(&log, "after"));
    sem.release(); // does not unwind
    assert_eq!(*log.lock().unwrap(), ["before", "after"]);
    let bounded = BoundedSemaphore::new(1);
    let _permit = bounded.guard();
    bounded.rawlink(|_: &BoundedSemaphore| panic!("bounded-link-boom"));
    bounded.rawlink(logs(&log, "bounded after"));
    drop(_permit); // nor does a guard's drop
    assert_eq!(*log.lock().unwrap(), ["before", "after", "bounded after"]);
    let reports = logs::logged("link-boom");
    assert_eq!(reports.len(), 2, "{reports:?}");
    assert!(reports[0].contains("a Semaphore") && reports[0].contains("semaphore-link-boom"), "{reports:?}");
    assert!(reports[1].contains("a BoundedSemaphore") && reports[1].contains("bounded-link-boom"), "{reports:?}");
    assert_eq!(sem.counter(), 1);
    assert_eq!(bounded.counter(), 1);
}

#[test]
fn semaphore_rawlink_callbacks_run_on_the_releasers_thread_whatever_it_is() {
    // A plain thread releases.
    let sem = Arc::new(Semaphore::new(0));
    let (tx, rx) = std::sync::mpsc::channel();
    let t = tx.clone();
    sem.rawlink(move |_: &Semaphore| t.send(std::thread::current().id()).unwrap());
    let s = sem.clone();
    let releaser = std::thread::spawn(move || {
        s.release();
        std::thread::current().id()
    });
    assert_eq!(rx.recv().unwrap(), releaser.join().unwrap());

    // A coroutine on another hub releases; callbacks added from a plain
    // thread and from a coroutine on the first hub.
    let rt = verde::Runtime::builder().workers(2).build().unwrap();
    let sem = Arc::new(BoundedSemaphore::new(1));
    assert!(sem.acquire(false, None));
    let count = Arc::new(AtomicUsize::new(0));
    let (s, c) = (sem.clone(), count.clone());
    std::thread::spawn(move || {
        for _ in 0..10 {
            let c = c.clone();
            s.rawlink(move |_: &BoundedSemaphore| {
                c.fetch_add(1, Ordering::SeqCst);
            });
        }
    })
    .join()
    .unwrap();
    let (s, c) = (sem.clone(), count.clone());
    rt.spawn_on(0, move || {
        s.rawlink(move |s: &BoundedSemaphore| {
            c.fetch_add(100 * s.counter(), Ordering::SeqCst);
        });
    })
    .join()
    .unwrap();
    let (s, t) = (sem.clone(), tx.clone());
    let releaser = rt.spawn_on(1, move || {
        s.rawlink(move |_: &BoundedSemaphore| t.send(std::thread::current().id()).unwrap());
        s.release();
        std::thread::current().id()
    });
    assert_eq!(rx.recv().unwrap(), releaser.join().unwrap());
    assert_eq!(count.load(Ordering::SeqCst), 110);
}

#[test]
fn semaphore_rawlink_iwait_and_wait_share_the_freed_permit() {
    let sem = Arc::new(Semaphore::new(0));
    let log = Log::default();
    sem.rawlink(logs(&log, "rawlink before"));
    let (s, l) = (sem.clone(), log.clone());
    let iwaiter = verde::spawn(move || {
        let ready: Vec<usize> = verde::iwait(&[&*s], None).collect();
        l.lock().unwrap().push(format!("iwait {ready:?}"));
    });
    let (s, l) = (sem.clone(), log.clone());
    let watcher = verde::spawn(move || {
        let free = s.wait(None);
        l.lock().unwrap().push(format!("wait {free}"));
    });
    verde::yield_now(); // the iwait links, the watcher waits
    sem.rawlink(logs(&log, "rawlink after"));
    sem.release();
    log.lock().unwrap().push("release returned".to_string());
    iwaiter.join().unwrap();
    watcher.join().unwrap();
    assert_eq!(
        *log.lock().unwrap(),
        ["rawlink before", "rawlink after", "release returned", "wait 1", "iwait [0]"],
        "callbacks inside release; the watcher, woken first, and the iwait after it"
    );
    // verde::wait on a free semaphore returns at once, taking nothing.
    assert_eq!(verde::wait(&[&*sem], None, None), [0]);
    assert_eq!(sem.counter(), 1);
}
