//! A Timeout unwinds a coroutine blocked in every primitive, running its
//! destructors, and leaves the primitive consistent: nothing lost, the next
//! waiter still served. Plus test__timeout.py's nesting rules around them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use verde_runtime as verde;
use verde_runtime::event::{AsyncResult, Event};
use verde_runtime::lock::{RLock, Semaphore};
use verde_runtime::pool::Pool;
use verde_runtime::queue::{Channel, Queue};
use verde_runtime::sync::{mpsc, Barrier, Condvar, Mutex, RwLock};
use verde_runtime::{with_timeout, Timeout};

mod common;
use common::DropCounter;

const SHORT: Duration = Duration::from_millis(10);

/// Spawns a coroutine that blocks in `f` under a short Timeout while
/// holding a drop counter; it reports whether the Timeout cut `f` short.
fn cut_short<R>(drops: &Arc<AtomicUsize>, f: impl FnOnce() -> R + Send + 'static) -> verde::JoinHandle<bool> {
    let counter = DropCounter(drops.clone());
    verde::spawn(move || {
        with_timeout(SHORT, move || {
            let _counter = counter;
            let _ = f();
        })
        .is_err()
    })
}

/// Waits for `h` and checks that the Timeout unwound it and ran its
/// destructor.
fn assert_cut_short(h: verde::JoinHandle<bool>, drops: &AtomicUsize) {
    assert!(h.join().unwrap(), "the Timeout did not fire");
    assert_eq!(drops.load(Ordering::SeqCst), 1, "destructors did not run");
}

#[test]
fn mutex_lock() {
    let drops = Arc::new(AtomicUsize::new(0));
    let m = Arc::new(Mutex::new(Vec::new()));
    let held = m.lock().unwrap();
    let m1 = m.clone();
    let h = cut_short(&drops, move || drop(m1.lock()));
    let m2 = m.clone();
    let next = verde::spawn(move || m2.lock().unwrap().push("next"));
    assert_cut_short(h, &drops);
    drop(held);
    next.join().unwrap();
    assert!(!m.is_poisoned(), "a waiter that never held the lock does not poison it");
    assert_eq!(*m.lock().unwrap(), ["next"]);
}

#[test]
fn mutex_held_when_the_timeout_fires_is_released_and_poisoned() {
    let drops = Arc::new(AtomicUsize::new(0));
    let m = Arc::new(Mutex::new(0));
    let m1 = m.clone();
    let h = cut_short(&drops, move || {
        let _g = m1.lock().unwrap();
        verde::sleep(Duration::from_secs(3600));
    });
    assert_cut_short(h, &drops);
    assert!(m.try_lock().is_err() && m.is_poisoned());
}

#[test]
fn rwlock_write() {
    let drops = Arc::new(AtomicUsize::new(0));
    let lock = Arc::new(RwLock::new(0));
    let reading = lock.read().unwrap();
    let l = lock.clone();
    let h = cut_short(&drops, move || drop(l.write()));
    assert_cut_short(h, &drops);
    // The departed writer no longer keeps new readers out.
    assert!(lock.try_read().is_ok());
    drop(reading);
    assert!(lock.try_write().is_ok());
}

#[test]
fn condvar_wait() {
    let drops = Arc::new(AtomicUsize::new(0));
    let pair = Arc::new((Mutex::new(false), Condvar::new()));
    let p = pair.clone();
    let h = cut_short(&drops, move || {
        let (m, cv) = &*p;
        let _g = cv.wait_while(m.lock().unwrap(), |ready| !*ready);
    });
    assert_cut_short(h, &drops);
    assert!(pair.0.try_lock().is_ok(), "the timed-out waiter holds nothing");
    let p = pair.clone();
    let next = verde::spawn(move || {
        let (m, cv) = &*p;
        *cv.wait_while(m.lock().unwrap(), |ready| !*ready).unwrap()
    });
    verde::yield_now();
    *pair.0.lock().unwrap() = true;
    pair.1.notify_one();
    assert!(next.join().unwrap(), "the notification reached the live waiter");
}

#[test]
fn barrier_wait() {
    let drops = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(Barrier::new(2));
    let b = barrier.clone();
    let h = cut_short(&drops, move || b.wait());
    assert_cut_short(h, &drops);
    let b = barrier.clone();
    let partner = verde::spawn(move || b.wait().is_leader());
    verde::yield_now();
    assert!(barrier.wait().is_leader());
    assert!(!partner.join().unwrap());
}

#[test]
fn channel_recv_loses_no_message() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::channel();
    let rx = Arc::new(Mutex::new(rx));
    let r = rx.clone();
    let h = cut_short(&drops, move || {
        let _ = r.lock().unwrap().recv();
    });
    assert_cut_short(h, &drops);
    tx.send("kept").unwrap();
    // The timed-out coroutine held the mutex around `recv`, so it is poisoned.
    let rx = rx.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    assert_eq!(rx.try_recv(), Ok("kept"));
}

#[test]
fn channel_send_drops_only_its_own_message() {
    let drops = Arc::new(AtomicUsize::new(0));
    let msg_drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::sync_channel(0);
    let (t, msg) = (tx.clone(), DropCounter(msg_drops.clone()));
    let h = cut_short(&drops, move || t.send(msg));
    let (t, msg) = (tx.clone(), DropCounter(msg_drops.clone()));
    let next = verde::spawn(move || t.send(msg).is_ok());
    assert_cut_short(h, &drops);
    assert_eq!(msg_drops.load(Ordering::SeqCst), 1, "the timed-out sender's message was dropped");
    drop(rx.recv().unwrap());
    assert!(next.join().unwrap());
    assert_eq!(rx.try_recv().err(), Some(mpsc::TryRecvError::Empty));
}

#[test]
fn queue_get_and_put() {
    let drops = Arc::new(AtomicUsize::new(0));
    let q = Arc::new(Queue::bounded(1));
    let q1 = q.clone();
    let h = cut_short(&drops, move || q1.get());
    assert_cut_short(h, &drops);
    q.put(1);
    let drops = Arc::new(AtomicUsize::new(0));
    let q1 = q.clone();
    let h = cut_short(&drops, move || q1.put(2));
    let q2 = q.clone();
    let next = verde::spawn(move || q2.put(3));
    assert_cut_short(h, &drops);
    assert_eq!(q.get(), 1);
    next.join().unwrap();
    assert_eq!(q.get(), 3, "the timed-out put left nothing behind");
    assert!(q.empty());
}

#[test]
fn a_timeout_that_fires_after_the_item_was_handed_over_loses_nothing() {
    let q = Arc::new(Queue::new());
    let q1 = q.clone();
    let getter = verde::spawn(move || with_timeout(Duration::from_millis(5), || q1.get()));
    let q2 = q.clone();
    let slow_putter = verde::spawn(move || {
        // Hog the hub past the getter's deadline, then hand it the item.
        std::thread::sleep(Duration::from_millis(20));
        q2.put("item");
    });
    slow_putter.join().unwrap();
    match getter.join().unwrap() {
        Ok(item) => assert_eq!(item, "item"),
        Err(_) => assert_eq!(q.get_nowait(), Ok("item"), "the item went back to the queue"),
    }
}

#[test]
fn gevent_channel_put_and_get() {
    let drops = Arc::new(AtomicUsize::new(0));
    let ch = Arc::new(Channel::new());
    let c = ch.clone();
    let h = cut_short(&drops, move || c.put(1));
    assert_cut_short(h, &drops);
    assert_eq!(ch.balance(), 0);
    let drops = Arc::new(AtomicUsize::new(0));
    let c = ch.clone();
    let h = cut_short(&drops, move || c.get());
    assert_cut_short(h, &drops);
    assert_eq!(ch.balance(), 0);
}

#[test]
fn event_wait() {
    let drops = Arc::new(AtomicUsize::new(0));
    let e = Arc::new(Event::new());
    let e1 = e.clone();
    let h = cut_short(&drops, move || e1.wait(None));
    let e2 = e.clone();
    let next = verde::spawn(move || e2.wait(None));
    assert_cut_short(h, &drops);
    e.set();
    assert!(next.join().unwrap());
}

#[test]
fn async_result_get() {
    let drops = Arc::new(AtomicUsize::new(0));
    let r = Arc::new(AsyncResult::<u8, ()>::new());
    let r1 = r.clone();
    let h = cut_short(&drops, move || r1.get(None));
    assert_cut_short(h, &drops);
    r.set(1);
    assert_eq!(r.get(None), Ok(1));
}

#[test]
fn semaphore_acquire_loses_no_permit() {
    let drops = Arc::new(AtomicUsize::new(0));
    let sem = Arc::new(Semaphore::new(0));
    let s = sem.clone();
    let h = cut_short(&drops, move || s.acquire(true, None));
    let s = sem.clone();
    let next = verde::spawn(move || s.acquire(true, None));
    assert_cut_short(h, &drops);
    sem.release();
    assert!(next.join().unwrap());
    sem.release();
    assert_eq!(sem.counter(), 1);
}

#[test]
fn rlock_acquire() {
    let drops = Arc::new(AtomicUsize::new(0));
    let lock = Arc::new(RLock::new());
    let g = lock.guard();
    let l = lock.clone();
    let h = cut_short(&drops, move || l.acquire(true, None));
    assert_cut_short(h, &drops);
    drop(g);
    assert!(!lock.locked());
}

#[test]
fn pool_spawn_while_full() {
    let drops = Arc::new(AtomicUsize::new(0));
    let closure_drops = Arc::new(AtomicUsize::new(0));
    let pool = Pool::new(1);
    let release = Arc::new(Event::new());
    let r = release.clone();
    pool.spawn(move || r.wait(None));
    let (p, c) = (pool.clone(), DropCounter(closure_drops.clone()));
    let h = cut_short(&drops, move || p.spawn(move || drop(c)));
    assert_cut_short(h, &drops);
    assert_eq!(closure_drops.load(Ordering::SeqCst), 1, "the closure that never got a slot was dropped");
    assert_eq!(pool.len(), 1);
    release.set();
    assert_eq!(pool.spawn(|| 5).join().unwrap(), 5);
    pool.join();
    assert_eq!(pool.free_count(), 1);
}

#[test]
fn join() {
    let drops = Arc::new(AtomicUsize::new(0));
    let sleeper = Arc::new(std::sync::Mutex::new(Some(verde::spawn(|| {
        verde::sleep(Duration::from_millis(50));
        "slept"
    }))));
    let s = sleeper.clone();
    let h = cut_short(&drops, move || {
        let handle = s.lock().unwrap().take().unwrap();
        // The handle is dropped while unwinding: the sleeper is detached.
        drop(handle.join());
    });
    assert_cut_short(h, &drops);
    let handle = verde::spawn(|| verde::sleep(Duration::from_millis(20)));
    assert!(with_timeout(Duration::from_millis(1), || handle.wait_timeout(Duration::from_secs(60))).is_err());
    assert!(!handle.is_finished());
    handle.join().unwrap();
}

#[test]
fn nested_timeouts_around_a_queue_get() {
    let q: Arc<Queue<u8>> = Arc::new(Queue::new());
    let q1 = q.clone();
    let outer = with_timeout(Duration::from_secs(30), move || {
        let inner = with_timeout(SHORT, || q1.get());
        assert!(inner.is_err(), "the inner timeout fires first");
        "outer completed"
    });
    assert_eq!(outer, Ok("outer completed"));
    let q1 = q.clone();
    let reached = Arc::new(AtomicUsize::new(0));
    let r = reached.clone();
    let outer = with_timeout(SHORT, move || {
        let inner = with_timeout(Duration::from_secs(30), || q1.get());
        r.fetch_add(1, Ordering::SeqCst);
        inner
    });
    assert!(outer.is_err(), "the outer timeout passes through the inner one");
    assert_eq!(reached.load(Ordering::SeqCst), 0);
    q.put(1);
    assert_eq!(q.get_nowait(), Ok(1));
}

#[test]
fn a_cancelled_timeout_does_not_fire_later_in_a_primitive() {
    let e = Event::new();
    let t = Timeout::start(Duration::from_millis(1));
    t.cancel();
    assert!(!e.wait(Some(Duration::from_millis(20))), "the wait ends by its own deadline, not by an unwind");
}
