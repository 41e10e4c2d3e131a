//! sync::Mutex: exclusion, FIFO hand-off, parking instead of blocking,
//! poisoning, kills, and sharing across hubs and threads.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use verde_runtime as verde;
use verde_runtime::sync::{Mutex, TryLockError};

mod common;
use common::DropCounter;

#[test]
fn coroutines_that_yield_while_holding_the_lock_still_exclude_each_other() {
    let m = Arc::new(Mutex::new((0u32, false)));
    let hs: Vec<_> = (0..100)
        .map(|_| {
            let m = m.clone();
            verde::spawn(move || {
                for _ in 0..10 {
                    let mut g = m.lock().unwrap();
                    assert!(!g.1, "two holders at once");
                    g.1 = true;
                    verde::yield_now();
                    g.0 += 1;
                    g.1 = false;
                }
            })
        })
        .collect();
    verde::joinall(hs).into_iter().for_each(|r| r.unwrap());
    assert_eq!(m.lock().unwrap().0, 1000);
}

#[test]
fn waiters_get_the_lock_in_arrival_order() {
    let m = Arc::new(Mutex::new(Vec::new()));
    let held = m.lock().unwrap();
    let hs: Vec<_> = (0..20)
        .map(|i| {
            let m = m.clone();
            verde::spawn(move || m.lock().unwrap().push(i))
        })
        .collect();
    verde::yield_now();
    drop(held);
    verde::joinall(hs);
    assert_eq!(*m.lock().unwrap(), (0..20).collect::<Vec<_>>());
}

#[test]
fn a_newcomer_cannot_barge_ahead_of_a_waiter() {
    let m = Arc::new(Mutex::new(Vec::new()));
    let held = m.lock().unwrap();
    let m2 = m.clone();
    let waiter = verde::spawn(move || m2.lock().unwrap().push("waiter"));
    verde::yield_now();
    drop(held);
    // The lock now belongs to the queued waiter, even though it has not run.
    assert!(matches!(m.try_lock(), Err(TryLockError::WouldBlock)));
    m.lock().unwrap().push("newcomer");
    waiter.join().unwrap();
    assert_eq!(*m.lock().unwrap(), ["waiter", "newcomer"]);
}

#[test]
fn holding_the_lock_across_a_sleep_lets_the_rest_of_the_hub_run() {
    let m = Arc::new(Mutex::new(()));
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (m1, l1) = (m.clone(), log.clone());
    let holder = verde::spawn(move || {
        let _g = m1.lock().unwrap();
        l1.lock().unwrap().push("holder locked");
        verde::sleep(Duration::from_millis(30));
        l1.lock().unwrap().push("holder unlocks");
    });
    let (m2, l2) = (m.clone(), log.clone());
    let contender = verde::spawn(move || {
        let _g = m2.lock().unwrap();
        l2.lock().unwrap().push("contender locked");
    });
    let l3 = log.clone();
    let bystander = verde::spawn(move || {
        for _ in 0..5 {
            verde::yield_now();
        }
        l3.lock().unwrap().push("bystander done");
    });
    verde::joinall([holder, contender, bystander]);
    assert_eq!(*log.lock().unwrap(), ["holder locked", "bystander done", "holder unlocks", "contender locked"]);
}

/// The same scene twice: a plain thread holds the lock; on another thread's
/// hub one coroutine waits for the lock while another counts. With
/// `std::sync::Mutex` the waiting coroutine blocks its whole thread, so the
/// counter freezes until the lock is released; with verde's it keeps going.
#[test]
fn std_mutex_stalls_the_hub_where_ours_parks() {
    fn scene(lock_std: bool) -> (usize, usize) {
        let ours = Arc::new(Mutex::new(()));
        let theirs = Arc::new(std::sync::Mutex::new(()));
        let count = Arc::new(AtomicUsize::new(0));
        let waiting = Arc::new(AtomicBool::new(false));
        let (held_tx, held_rx) = std_mpsc::channel();
        let (release_tx, release_rx) = std_mpsc::channel::<()>();
        let (o, t) = (ours.clone(), theirs.clone());
        let holder = std::thread::spawn(move || {
            let g1 = if lock_std { None } else { Some(o.lock().unwrap()) };
            let g2 = if lock_std { Some(t.lock().unwrap()) } else { None };
            held_tx.send(()).unwrap();
            release_rx.recv().unwrap();
            drop((g1, g2));
        });
        held_rx.recv().unwrap();
        let (c, w) = (count.clone(), waiting.clone());
        let hub = std::thread::spawn(move || {
            let counter = verde::spawn(move || {
                for _ in 0..200 {
                    c.fetch_add(1, Ordering::SeqCst);
                    verde::sleep(Duration::from_micros(100));
                }
            });
            let waiter = verde::spawn(move || {
                w.store(true, Ordering::SeqCst);
                if lock_std {
                    drop(theirs.lock().unwrap());
                } else {
                    drop(ours.lock().unwrap());
                }
            });
            verde::joinall([counter, waiter]);
        });
        while !waiting.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(1));
        }
        // The waiter has started waiting; nothing can run on its hub
        // between that flag and the lock call.
        let before = count.load(Ordering::SeqCst);
        let give_up = Instant::now() + Duration::from_millis(if lock_std { 300 } else { 10_000 });
        while count.load(Ordering::SeqCst) < 200 && Instant::now() < give_up {
            std::thread::sleep(Duration::from_millis(5));
        }
        let while_held = count.load(Ordering::SeqCst);
        release_tx.send(()).unwrap();
        holder.join().unwrap();
        hub.join().unwrap();
        (before, while_held)
    }
    let (before, while_held) = scene(true);
    assert_eq!(before, while_held, "std::sync::Mutex froze the hub");
    let (_, while_held) = scene(false);
    assert_eq!(while_held, 200, "verde's Mutex let the hub run");
}

#[test]
fn a_panic_while_holding_poisons_and_clear_poison_heals() {
    let m = Arc::new(Mutex::new(1));
    let m2 = m.clone();
    let h = verde::spawn(move || {
        let mut g = m2.lock().unwrap();
        *g = 2;
        panic!("boom");
    });
    assert!(h.join().is_err());
    assert!(m.is_poisoned());
    let err = m.lock().unwrap_err();
    assert_eq!(**err.get_ref(), 2);
    drop(err);
    assert!(matches!(m.try_lock(), Err(TryLockError::Poisoned(_))));
    m.clear_poison();
    assert!(!m.is_poisoned());
    assert_eq!(*m.lock().unwrap(), 2);
}

#[test]
fn a_kill_while_holding_poisons_and_releases() {
    let m = Arc::new(Mutex::new(0));
    let m2 = m.clone();
    let h = verde::spawn(move || {
        let _g = m2.lock().unwrap();
        verde::sleep(Duration::from_secs(3600));
    });
    verde::yield_now();
    h.kill();
    assert!(m.is_poisoned());
    assert!(m.lock().is_err());
    let m = Arc::try_unwrap(m).unwrap();
    assert!(m.into_inner().is_err());
}

#[test]
fn a_guard_taken_while_already_unwinding_does_not_poison() {
    struct LocksOnDrop(Arc<Mutex<u8>>);
    impl Drop for LocksOnDrop {
        fn drop(&mut self) {
            *self.0.lock().unwrap() += 1;
        }
    }
    let m = Arc::new(Mutex::new(0));
    let m2 = m.clone();
    let h = verde::spawn(move || {
        let _d = LocksOnDrop(m2);
        panic!("unwind through a destructor that locks");
    });
    assert!(h.join().is_err());
    assert!(!m.is_poisoned());
    assert_eq!(*m.lock().unwrap(), 1);
}

#[test]
fn a_killed_waiter_leaves_the_queue_and_the_next_one_is_served() {
    let m = Arc::new(Mutex::new(Vec::new()));
    let held = m.lock().unwrap();
    let dropped = Arc::new(AtomicUsize::new(0));
    let spawn_waiter = |name: &'static str| {
        let (m, d) = (m.clone(), dropped.clone());
        verde::spawn(move || {
            let _c = DropCounter(d);
            m.lock().unwrap().push(name);
        })
    };
    let first = spawn_waiter("first");
    let second = spawn_waiter("second");
    verde::yield_now();
    first.kill();
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    drop(held);
    second.join().unwrap();
    assert_eq!(*m.lock().unwrap(), ["second"]);
    assert!(!m.is_poisoned(), "a waiter that never held the lock does not poison it");
}

#[test]
fn a_waiter_killed_just_after_being_handed_the_lock_passes_it_on() {
    let m = Arc::new(Mutex::new(Vec::new()));
    let held = m.lock().unwrap();
    let (m1, m2) = (m.clone(), m.clone());
    let first = verde::spawn(move || m1.lock().unwrap().push("first"));
    let second = verde::spawn(move || m2.lock().unwrap().push("second"));
    verde::yield_now();
    // The kill is posted before the unlock hands `first` the lock; `first`
    // unwinds when it next runs and must pass the lock to `second`.
    first.kill_nowait();
    drop(held);
    assert!(first.join().is_err());
    second.join().unwrap();
    assert_eq!(*m.lock().unwrap(), ["second"]);
}

#[test]
fn shared_by_two_hubs_and_a_plain_thread() {
    let rt = verde::Runtime::builder().workers(2).build().unwrap();
    let m = Arc::new(Mutex::new(0u64));
    let mut hs = Vec::new();
    for _ in 0..8 {
        let m = m.clone();
        hs.push(rt.spawn(move || {
            for i in 0..1000 {
                let mut g = m.lock().unwrap();
                if i % 10 == 0 {
                    verde::yield_now();
                }
                *g += 1;
            }
        }));
    }
    let m2 = m.clone();
    let thread = std::thread::spawn(move || {
        for _ in 0..2000 {
            *m2.lock().unwrap() += 1;
        }
    });
    for h in hs {
        h.join().unwrap();
    }
    thread.join().unwrap();
    assert_eq!(*m.lock().unwrap(), 10_000);
}
