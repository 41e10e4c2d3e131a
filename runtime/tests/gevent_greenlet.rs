//! Ports of test__greenlet.py's kill, join and link behaviours, with
//! coroutines blocked in verde's primitives: `join(timeout)` as
//! `wait_timeout`, `joinall(timeout, count)` as `joinall_timeout`.
//! gevent's `link(callback)` is covered by its two common uses: an
//! AsyncResult the greenlet's outcome is linked to, and a Group joining
//! its members.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use verde_runtime as verde;
use verde_runtime::event::{AsyncResult, Event, GetError};
use verde_runtime::lock::Semaphore;
use verde_runtime::pool::Group;
use verde_runtime::queue::Queue;
use verde_runtime::sync::{mpsc, Mutex};

mod common;
use common::DropCounter;

#[test]
fn kill_before_start_never_runs() {
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let q: Arc<Queue<()>> = Arc::new(Queue::new());
    let q1 = q.clone();
    let g = verde::spawn(move || {
        r.fetch_add(1, Ordering::SeqCst);
        q1.get();
    });
    g.kill();
    assert!(g.is_finished());
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    assert!(g.join().unwrap_err().is::<verde::Killed>());
}

#[test]
fn kill_unwinds_from_every_kind_of_wait() {
    let drops = Arc::new(AtomicUsize::new(0));
    let q: Arc<Queue<u8>> = Arc::new(Queue::new());
    let e = Arc::new(Event::new());
    let sem = Arc::new(Semaphore::new(0));
    let m = Arc::new(Mutex::new(()));
    let (_tx, rx) = mpsc::channel::<u8>();
    let held = m.lock().unwrap();
    let waits: Vec<Box<dyn FnOnce() + Send>> = vec![
        Box::new({
            let q = q.clone();
            move || {
                q.get();
            }
        }),
        Box::new({
            let e = e.clone();
            move || {
                e.wait(None);
            }
        }),
        Box::new({
            let sem = sem.clone();
            move || {
                sem.acquire(true, None);
            }
        }),
        Box::new({
            let m = m.clone();
            move || drop(m.lock())
        }),
        Box::new(move || {
            let _ = rx.recv();
        }),
        Box::new(|| verde::sleep(Duration::from_secs(3600))),
    ];
    let n = waits.len();
    let hs: Vec<_> = waits
        .into_iter()
        .map(|wait| {
            let c = DropCounter(drops.clone());
            verde::spawn(move || {
                let _c = c;
                wait();
            })
        })
        .collect();
    verde::yield_now();
    verde::killall(&hs);
    assert_eq!(drops.load(Ordering::SeqCst), n);
    for h in hs {
        assert!(h.join().unwrap_err().is::<verde::Killed>());
    }
    drop(held);
    // Every primitive still works after its waiter was killed.
    q.put(1);
    assert_eq!(q.get(), 1);
    e.set();
    sem.release();
    assert!(sem.acquire(false, None));
    assert!(m.try_lock().is_ok());
}

#[test]
fn kill_nowait_then_join() {
    let e = Arc::new(Event::new());
    let e1 = e.clone();
    let g = verde::spawn(move || e1.wait(None));
    verde::yield_now();
    g.kill_nowait();
    assert!(!g.is_finished(), "kill_nowait does not wait");
    assert!(g.join().unwrap_err().is::<verde::Killed>());
}

#[test]
fn killing_a_finished_coroutine_changes_nothing() {
    let g = verde::spawn(|| 5);
    assert!(g.wait_timeout(Duration::from_secs(30)));
    g.kill();
    assert_eq!(g.join().unwrap(), 5);
}

/// TestJoin: `g.join(timeout)` returns when the time is up, without the
/// result, and the handle stays usable.
#[test]
fn join_with_a_timeout_leaves_the_handle_usable() {
    let e = Arc::new(Event::new());
    let e1 = e.clone();
    let g = verde::spawn(move || e1.wait(None));
    assert!(!g.wait_timeout(Duration::from_millis(1)));
    assert!(!g.is_finished());
    e.set();
    assert!(g.wait_timeout(Duration::from_secs(3600)));
    assert!(g.wait_timeout(Duration::ZERO), "finished stays finished");
    assert!(g.join().unwrap());
}

/// A coroutine waiting in `wait_timeout` is killed out of it like out of
/// any other wait; the coroutine it waited for is not disturbed.
#[test]
fn kill_unwinds_a_coroutine_waiting_for_another() {
    let drops = Arc::new(AtomicUsize::new(0));
    let e = Arc::new(Event::new());
    let e1 = e.clone();
    let target = Arc::new(verde::spawn(move || e1.wait(None)));
    let waiters: Vec<_> = (0..10)
        .map(|_| {
            let (t, c) = (target.clone(), DropCounter(drops.clone()));
            verde::spawn(move || {
                let _c = c;
                t.wait_timeout(Duration::from_secs(3600))
            })
        })
        .collect();
    verde::yield_now();
    verde::killall(&waiters);
    assert_eq!(drops.load(Ordering::SeqCst), 10);
    for w in waiters {
        assert!(w.join().unwrap_err().is::<verde::Killed>());
    }
    assert!(!target.is_finished());
    // A waiter that comes afterwards is woken as usual.
    let t = target.clone();
    let late = verde::spawn(move || t.wait_timeout(Duration::from_secs(3600)));
    verde::yield_now();
    e.set();
    assert!(late.join().unwrap());
    let target = Arc::try_unwrap(target).expect("every waiter dropped its handle");
    assert!(target.join().unwrap());
}

#[test]
fn a_coroutine_may_catch_its_kill_and_clean_up_with_primitives() {
    let q = Arc::new(Queue::new());
    let q1 = q.clone();
    let g = verde::spawn(move || {
        let caught = catch_unwind(AssertUnwindSafe(|| verde::sleep(Duration::from_secs(3600))));
        // Cleanup may block again: the kill was already delivered.
        q1.put(caught.unwrap_err().is::<verde::Killed>());
        verde::yield_now();
        "cleaned up"
    });
    verde::yield_now();
    g.kill();
    assert!(q.get());
    assert_eq!(g.join().unwrap(), "cleaned up");
}

#[test]
fn kill_across_hubs() {
    let rt = verde::Runtime::builder().workers(2).build().unwrap();
    let q: Arc<Queue<u8>> = Arc::new(Queue::new());
    let q1 = q.clone();
    let victim = rt.spawn_on(0, move || q1.get());
    let killer = rt.spawn_on(1, move || {
        verde::sleep(Duration::from_millis(5));
        victim.kill();
        victim.join().unwrap_err().is::<verde::Killed>()
    });
    assert!(killer.join().unwrap());
    q.put(1);
    assert_eq!(q.get_nowait(), Ok(1));
}

/// gevent's `g.link(async_result)`: the coroutine's value or exception is
/// delivered to everyone waiting on the result.
fn spawn_linked<T: Clone + Send + Sync + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> (verde::JoinHandle<()>, Arc<AsyncResult<T, String>>) {
    let result = Arc::new(AsyncResult::new());
    let r = result.clone();
    let g = verde::spawn(move || match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => r.set(v),
        Err(payload) => r.set_error(verde::describe_payload(&*payload)),
    });
    (g, result)
}

#[test]
fn link_value_reaches_every_waiter() {
    let (g, result) = spawn_linked(|| {
        verde::sleep(Duration::from_millis(5));
        "value"
    });
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let r = result.clone();
            verde::spawn(move || r.get(None))
        })
        .collect();
    for w in waiters {
        assert_eq!(w.join().unwrap(), Ok("value"));
    }
    g.join().unwrap();
}

#[test]
fn link_exception_reaches_every_waiter() {
    let (g, result) = spawn_linked(|| -> u8 { panic!("linked failure") });
    assert_eq!(result.get(None), Err(GetError::Failed("linked failure".to_string())));
    g.join().unwrap();
    assert!(!result.successful());
}

#[test]
fn link_of_a_killed_coroutine_reports_the_kill() {
    let (g, result) = spawn_linked(|| {
        verde::sleep(Duration::from_secs(3600));
        0u8
    });
    verde::yield_now();
    g.kill();
    assert_eq!(result.get(None), Err(GetError::Failed(verde::Killed.to_string())));
}

#[test]
fn a_group_joins_linked_members() {
    let group = Group::new();
    let done = Arc::new(AtomicUsize::new(0));
    for i in 0..5 {
        let d = done.clone();
        group.spawn(move || {
            verde::sleep(Duration::from_millis(i));
            d.fetch_add(1, Ordering::SeqCst);
        });
    }
    group.join();
    assert_eq!(done.load(Ordering::SeqCst), 5);
}

/// A coroutine that waits for its gate, then returns `value`.
fn gated<T: Send + 'static>(value: T) -> (mpsc::Sender<()>, verde::JoinHandle<T>) {
    let (go, gate) = mpsc::channel::<()>();
    (go, verde::spawn(move || gate.recv().map(|()| value).unwrap()))
}

/// test_joinall_count_raise_error: with a count, joinall returns once that
/// many are done; the others keep running.
#[test]
fn joinall_with_a_count_leaves_the_rest_running() {
    let sleeper = verde::spawn(|| loop {
        verde::sleep(Duration::from_millis(100));
    });
    let raiser = verde::spawn(|| panic!("count"));
    let mut handles = vec![sleeper, raiser];
    let done = verde::joinall_timeout(&mut handles, None, Some(1));
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].0, 1);
    assert_eq!(verde::describe_payload(&**done[0].1.as_ref().unwrap_err()), "count");
    assert_eq!(handles.len(), 1);
    assert!(!handles[0].is_finished());
    verde::killall(&handles);
    assert!(handles.pop().unwrap().join().unwrap_err().is::<verde::Killed>());
}

/// TestJoinAll: with a timeout, joinall returns the coroutines that
/// finished in time, in the order they finished; the others stay.
#[test]
fn joinall_with_a_timeout_returns_those_that_finished_in_order() {
    let (gates, mut handles): (Vec<_>, Vec<_>) = (0..4).map(gated).unzip();
    verde::yield_now(); // all four wait for their gates
    gates[2].send(()).unwrap();
    gates[0].send(()).unwrap();
    let done = verde::joinall_timeout(&mut handles, Some(Duration::from_millis(100)), None);
    let done: Vec<(usize, i32)> = done.into_iter().map(|(i, r)| (i, r.unwrap())).collect();
    assert_eq!(done, [(2, 2), (0, 0)]);
    // The two still running stay, in their order, and can be waited for again.
    assert_eq!(handles.len(), 2);
    gates[3].send(()).unwrap();
    let done = verde::joinall_timeout(&mut handles, Some(Duration::from_secs(3600)), Some(1));
    assert_eq!(done.into_iter().map(|(i, r)| (i, r.unwrap())).collect::<Vec<_>>(), [(1, 3)]);
    assert!(verde::joinall_timeout(&mut handles, Some(Duration::ZERO), None).is_empty());
    gates[1].send(()).unwrap();
    assert_eq!(verde::joinall(handles).into_iter().map(Result::unwrap).collect::<Vec<_>>(), [1]);
}

#[test]
fn joinall_with_a_count_of_zero_or_more_than_there_are() {
    let mut handles: Vec<_> = (0..3).map(|i| verde::spawn(move || i)).collect();
    assert!(verde::joinall_timeout(&mut handles, None, Some(0)).is_empty());
    assert_eq!(handles.len(), 3);
    let mut done = verde::joinall_timeout(&mut handles, None, Some(10));
    done.sort_by_key(|(i, _)| *i);
    assert_eq!(done.into_iter().map(|(i, r)| (i, r.unwrap())).collect::<Vec<_>>(), [(0, 0), (1, 1), (2, 2)]);
    assert!(handles.is_empty());
    assert!(verde::joinall_timeout(&mut handles, None, None).is_empty());
}

/// An interrupt of the caller (its own Timeout, a kill) unwinds out of the
/// wait and loses no handle.
#[test]
fn an_interrupted_joinall_keeps_every_handle() {
    let (gates, mut handles): (Vec<_>, Vec<_>) = (0..2).map(gated).unzip();
    let cut = verde::with_timeout(Duration::from_millis(1), || verde::joinall_timeout(&mut handles, None, None));
    assert!(cut.is_err());
    assert_eq!(handles.len(), 2);
    // Killed: the handles go back through a drop guard.
    struct GiveBack(Option<Vec<verde::JoinHandle<i32>>>, mpsc::Sender<Vec<verde::JoinHandle<i32>>>);
    impl Drop for GiveBack {
        fn drop(&mut self) {
            self.1.send(self.0.take().unwrap()).unwrap();
        }
    }
    let (tx, given_back) = mpsc::channel();
    let waiter = verde::spawn(move || {
        let mut keep = GiveBack(Some(handles), tx);
        verde::joinall_timeout(keep.0.as_mut().unwrap(), None, None).len()
    });
    verde::yield_now();
    waiter.kill();
    assert!(waiter.join().unwrap_err().is::<verde::Killed>());
    let mut handles = given_back.recv().unwrap();
    assert_eq!(handles.len(), 2);
    for g in &gates {
        g.send(()).unwrap();
    }
    let mut done = verde::joinall_timeout(&mut handles, None, None);
    done.sort_by_key(|(i, _)| *i);
    assert_eq!(done.into_iter().map(|(i, r)| (i, r.unwrap())).collect::<Vec<_>>(), [(0, 0), (1, 1)]);
}

/// Coroutines on other hubs: each one reported finished can be joined.
#[test]
fn joinall_with_a_timeout_across_hubs() {
    let rt = verde::Runtime::builder().workers(2).build().unwrap();
    let mut handles: Vec<_> = (0..20u64)
        .map(|i| {
            rt.spawn(move || {
                verde::sleep(Duration::from_millis(20 - i));
                i
            })
        })
        .collect();
    let mut done = Vec::new();
    while !handles.is_empty() {
        let some = verde::joinall_timeout(&mut handles, Some(Duration::from_millis(3)), Some(3));
        assert!(some.len() <= 3);
        done.extend(some.into_iter().map(|(_, r)| r.unwrap()));
    }
    done.sort_unstable();
    assert_eq!(done, (0..20).collect::<Vec<_>>());
}
