//! Several hubs: placement, cross-thread joins and wake-ups.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use verde_runtime as verde;

mod common;
use common::DropCounter;

fn runtime(workers: usize) -> verde::Runtime {
    verde::Runtime::builder().workers(workers).thread_name("test-worker").build().unwrap()
}

#[test]
fn spawn_spreads_round_robin_and_spawn_on_pins() {
    let rt = runtime(3);
    let names: Vec<String> = (0..6)
        .map(|_| rt.spawn(|| std::thread::current().name().unwrap().to_owned()))
        .map(|h| h.join().unwrap())
        .collect();
    let distinct: HashSet<_> = names.iter().collect();
    assert_eq!(distinct.len(), 3);
    for _ in 0..5 {
        let n = rt.spawn_on(1, || std::thread::current().name().unwrap().to_owned()).join().unwrap();
        assert_eq!(n, "test-worker-1");
    }
}

#[test]
fn coroutines_never_migrate() {
    let rt = runtime(2);
    let hs: Vec<_> = (0..20)
        .map(|_| {
            rt.spawn(|| {
                let t = std::thread::current().id();
                for _ in 0..50 {
                    verde::sleep(Duration::from_micros(100));
                    verde::yield_now();
                    assert_eq!(std::thread::current().id(), t);
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
}

#[test]
fn join_across_hubs_from_a_coroutine() {
    let rt = runtime(2);
    let h0 = rt.spawn_on(0, || {
        verde::sleep(Duration::from_millis(10));
        7
    });
    let h1 = rt.spawn_on(1, move || h0.join().unwrap() * 6);
    assert_eq!(h1.join().unwrap(), 42);
}

#[test]
fn wakers_cross_threads() {
    let rt = runtime(2);
    let slot: Arc<Mutex<Option<verde::Waker>>> = Arc::default();
    let s = slot.clone();
    let waiter = rt.spawn_on(0, move || {
        *s.lock().unwrap() = Some(verde::park::waker());
        verde::park::park();
        "woken"
    });
    loop {
        if let Some(w) = slot.lock().unwrap().take() {
            rt.spawn_on(1, move || assert!(w.wake())).join().unwrap();
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(waiter.join().unwrap(), "woken");
}

#[test]
fn kill_across_hubs() {
    let rt = runtime(2);
    let victim = rt.spawn_on(0, || verde::sleep(Duration::from_secs(3600)));
    std::thread::sleep(Duration::from_millis(10));
    rt.spawn_on(1, move || {
        victim.kill();
        assert!(victim.join().unwrap_err().is::<verde::Killed>());
    })
    .join()
    .unwrap();
}

#[test]
fn many_cross_hub_wakeups_lose_none() {
    // Ping-pong between two hubs through parked wakers, many rounds.
    let rt = runtime(2);
    const ROUNDS: usize = 20_000;
    type Slot = Arc<Mutex<(usize, Option<verde::Waker>)>>;
    let a: Slot = Arc::default();
    let b: Slot = Arc::default();
    let player = |me: Slot, other: Slot, first: bool| {
        move || {
            for round in 0..ROUNDS {
                if !(first && round == 0) {
                    loop {
                        let mut g = me.lock().unwrap();
                        if g.0 > 0 {
                            g.0 -= 1;
                            break;
                        }
                        g.1 = Some(verde::park::waker());
                        drop(g);
                        verde::park::park();
                    }
                }
                let mut g = other.lock().unwrap();
                g.0 += 1;
                if let Some(w) = g.1.take() {
                    w.wake();
                }
            }
        }
    };
    let h1 = rt.spawn_on(0, player(a.clone(), b.clone(), true));
    let h2 = rt.spawn_on(1, player(b, a, false));
    h1.join().unwrap();
    h2.join().unwrap();
}

#[test]
fn block_on_and_enter() {
    let rt = runtime(2);
    assert_eq!(rt.block_on(|| 5), 5);
    let _g = rt.enter();
    let workers: HashSet<String> =
        (0..4).map(|_| verde::spawn(|| std::thread::current().name().unwrap().to_owned()).join().unwrap()).collect();
    assert_eq!(workers.len(), 2);
}

#[test]
fn dropping_the_runtime_kills_what_is_left() {
    let unwound = Arc::new(AtomicUsize::new(0));
    {
        let rt = runtime(2);
        for _ in 0..10 {
            let u = unwound.clone();
            drop(rt.spawn(move || {
                let _c = DropCounter(u);
                verde::sleep(Duration::from_secs(3600));
            }));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(unwound.load(Ordering::SeqCst), 10);
}

#[test]
fn plain_thread_joins_runtime_coroutine() {
    let rt = runtime(1);
    let h = rt.spawn(|| {
        verde::sleep(Duration::from_millis(5));
        "done"
    });
    let t = std::thread::spawn(move || h.join().unwrap());
    assert_eq!(t.join().unwrap(), "done");
}

/// gevent's `g.join(timeout)` from a coroutine on another hub and from a
/// plain thread: both time out while the coroutine runs, then see it
/// finish, and leave the result to `join`.
#[test]
fn wait_timeout_across_hubs_and_from_a_plain_thread() {
    use verde::sync::mpsc;

    let rt = runtime(2);
    let (go, gate) = mpsc::channel::<()>();
    let target = Arc::new(rt.spawn_on(0, move || gate.recv().map(|()| "done").unwrap()));
    let (timed_out, early) = mpsc::channel();
    let waiter = |t: Arc<verde::JoinHandle<&'static str>>, timed_out: mpsc::Sender<bool>| {
        move || {
            timed_out.send(t.wait_timeout(Duration::from_millis(1))).unwrap();
            t.wait_timeout(Duration::from_secs(3600))
        }
    };
    let other_hub = rt.spawn_on(1, waiter(target.clone(), timed_out.clone()));
    let thread = std::thread::spawn(waiter(target.clone(), timed_out));
    // The coroutine cannot finish before both short waits are over.
    assert_eq!([early.recv().unwrap(), early.recv().unwrap()], [false, false]);
    go.send(()).unwrap();
    assert!(other_hub.join().unwrap());
    assert!(thread.join().unwrap());
    let target = Arc::try_unwrap(target).expect("the waiters dropped their handles");
    assert_eq!(target.join().unwrap(), "done");
}
