//! gevent.pool's `add` and `discard`: coroutines spawned elsewhere joining
//! a `Group` or a `Pool` (test__pool.py's add tests, plus waiting adders,
//! interrupted adders, other hubs and plain threads), and members leaving
//! without being killed.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use verde_runtime as verde;
use verde_runtime::pool::{Group, Pool, PoolFull};
use verde_runtime::sync::mpsc;

/// Gives every ready coroutine on this hub turns until the ones that can
/// make progress have.
fn settle() {
    for _ in 0..20 {
        verde::yield_now();
    }
}

/// A coroutine that runs until the returned sender sends (or is dropped).
fn gated() -> (verde::JoinHandle<()>, mpsc::Sender<()>) {
    let (tx, rx) = mpsc::channel::<()>();
    (
        verde::spawn(move || {
            let _ = rx.recv();
        }),
        tx,
    )
}

#[test]
fn an_added_coroutine_counts_until_it_finishes() {
    let group = Group::new();
    let (h, gate) = gated();
    assert!(!group.contains(&h));
    assert!(group.add(&h));
    assert!(group.contains(&h));
    assert_eq!(group.len(), 1);
    assert!(!group.join_timeout(Duration::from_millis(1)));
    gate.send(()).unwrap();
    group.join();
    // It left through its rawlink, before its joiners woke.
    assert!(h.is_finished());
    assert!(!group.contains(&h));
    assert!(group.is_empty());
    assert!(!h.has_links());
    h.join().unwrap();
}

#[test]
fn adding_a_member_again_or_a_finished_coroutine_changes_nothing() {
    let pool = Pool::new(2);
    let (spawned_gate_tx, spawned_gate_rx) = mpsc::channel::<()>();
    let spawned = pool.spawn(move || {
        let _ = spawned_gate_rx.recv();
    });
    assert!(!pool.add(&spawned));
    assert_eq!(pool.try_add(&spawned), Ok(false));
    let (added, gate) = gated();
    assert!(pool.add(&added));
    // Full, yet a member is "added" again at once, taking no slot.
    assert!(pool.full());
    assert_eq!(pool.try_add(&added), Ok(false));
    assert!(!pool.add(&added));
    assert_eq!(pool.add_timeout(&added, Duration::from_secs(3600)), Ok(false));
    assert_eq!(pool.len(), 2);

    let done = verde::spawn(|| 5);
    settle();
    assert!(done.is_finished());
    let group = Group::new();
    assert!(!group.add(&done));
    assert!(group.is_empty());
    assert_eq!(done.join().unwrap(), 5);

    spawned_gate_tx.send(()).unwrap();
    gate.send(()).unwrap();
    pool.join();
    assert_eq!(pool.free_count(), 2);
}

#[test]
fn an_added_coroutine_takes_a_slot() {
    let pool = Pool::new(2);
    let (a, gate_a) = gated();
    let (b, gate_b) = gated();
    let (c, gate_c) = gated();
    assert_eq!(pool.try_add(&a), Ok(true));
    assert_eq!(pool.free_count(), 1);
    assert_eq!(pool.try_add(&b), Ok(true));
    assert!(pool.full());
    assert_eq!(pool.try_add(&c), Err(PoolFull));
    assert!(!pool.contains(&c));
    assert_eq!(pool.try_spawn(|| ()).unwrap_err(), PoolFull);
    assert_eq!(pool.add_timeout(&c, Duration::from_millis(1)), Err(PoolFull));
    assert!(!pool.contains(&c));
    assert_eq!(pool.len(), 2);
    gate_a.send(()).unwrap();
    // `a` leaves and hands its slot over.
    assert!(pool.add(&c));
    assert!(pool.contains(&c) && !pool.contains(&a));
    assert_eq!(pool.len(), 2);
    gate_b.send(()).unwrap();
    gate_c.send(()).unwrap();
    pool.join();
    assert_eq!(pool.free_count(), 2);
    for h in [a, b, c] {
        h.join().unwrap();
    }
}

#[test]
fn adders_and_spawners_get_slots_in_fifo_order() {
    let pool = Pool::new(1);
    let (blocker, gate) = gated();
    assert!(pool.add(&blocker));
    let order = Arc::new(Mutex::new(Vec::new()));
    let waiters: Vec<_> = (0..6)
        .map(|i| {
            let (pool, order) = (pool.clone(), order.clone());
            if i % 2 == 0 {
                let (h, gate) = gated();
                verde::spawn(move || {
                    assert!(pool.add(&h));
                    order.lock().unwrap().push(i);
                    gate.send(()).unwrap();
                    h.join().unwrap();
                })
            } else {
                verde::spawn(move || pool.spawn(move || order.lock().unwrap().push(i)).join().unwrap())
            }
        })
        .collect();
    settle();
    assert!(order.lock().unwrap().is_empty());
    gate.send(()).unwrap();
    verde::joinall(waiters).into_iter().for_each(|r| r.unwrap());
    assert_eq!(*order.lock().unwrap(), [0, 1, 2, 3, 4, 5]);
    assert!(pool.is_empty());
    assert_eq!(pool.free_count(), 1);
}

#[test]
fn an_interrupted_adder_adds_nothing_and_takes_no_slot() {
    let pool = Pool::new(1);
    let (blocker, blocker_gate) = gated();
    assert!(pool.add(&blocker));
    let (h, gate) = gated();

    // A Timeout around the wait.
    assert!(verde::with_timeout(Duration::from_millis(5), || pool.add(&h)).is_err());
    // A kill of the waiter.
    let (p, order) = (pool.clone(), Arc::new(Mutex::new(Vec::new())));
    let o = order.clone();
    let (h2, gate2) = gated();
    let killed = verde::spawn(move || {
        o.lock().unwrap().push("waiting");
        p.add(&h2);
        o.lock().unwrap().push("added");
    });
    settle();
    killed.kill();
    assert!(killed.join().is_err());
    assert_eq!(*order.lock().unwrap(), ["waiting"]);
    // A waiter behind the interrupted ones still gets the slot.
    let (p, next) = (pool.clone(), Arc::new(Mutex::new(None)));
    let n = next.clone();
    let (h3, gate3) = gated();
    let adder = verde::spawn(move || {
        *n.lock().unwrap() = Some(p.add(&h3));
        h3
    });
    settle();
    assert_eq!(pool.len(), 1);
    assert!(!pool.contains(&h));
    blocker_gate.send(()).unwrap();
    let h3 = adder.join().unwrap();
    assert_eq!(*next.lock().unwrap(), Some(true));
    assert!(pool.contains(&h3) && !pool.contains(&h));
    assert_eq!(pool.len(), 1);
    assert!(pool.full());
    gate3.send(()).unwrap();
    pool.join();
    assert_eq!(pool.free_count(), 1);
    for g in [gate, gate2] {
        g.send(()).unwrap();
    }
    h.join().unwrap();
    blocker.join().unwrap();
    h3.join().unwrap();
}

#[test]
fn discard_keeps_the_coroutine_running_and_frees_its_slot() {
    let pool = Pool::new(1);
    let (h, gate) = gated();
    assert!(pool.add(&h));
    assert!(h.has_links());
    assert!(pool.discard(&h));
    // The rawlink is gone with the membership.
    assert!(!h.has_links());
    assert!(!pool.discard(&h));
    assert!(pool.is_empty() && !pool.full());
    assert!(!h.is_finished());
    // Another coroutine takes the slot; the discarded one can come back
    // only when it is free again.
    let (other, other_gate) = gated();
    assert!(pool.add(&other));
    assert_eq!(pool.try_add(&h), Err(PoolFull));
    assert!(pool.discard(&other));
    assert_eq!(pool.try_add(&h), Ok(true));
    gate.send(()).unwrap();
    pool.join();
    assert!(h.is_finished());
    assert_eq!(pool.free_count(), 1);
    other_gate.send(()).unwrap();
    other.join().unwrap();
    h.join().unwrap();
}

#[test]
fn discarding_a_spawned_member_frees_its_slot_once() {
    let pool = Pool::new(1);
    let (tx, rx) = mpsc::channel::<()>();
    let h = pool.spawn(move || {
        let _ = rx.recv();
    });
    assert!(pool.discard(&h));
    let (other, other_gate) = gated();
    assert!(pool.add(&other));
    // The discarded member finishing does not free `other`'s slot.
    tx.send(()).unwrap();
    h.join().unwrap();
    assert!(pool.full());
    assert_eq!(pool.len(), 1);
    other_gate.send(()).unwrap();
    pool.join();
    assert_eq!(pool.free_count(), 1);
    other.join().unwrap();
}

#[test]
fn kill_kills_added_members_on_other_hubs() {
    let rt = verde::Runtime::builder().workers(2).build().unwrap();
    let group = Group::new();
    let hs: Vec<_> = (0..4).map(|_| rt.spawn(|| verde::sleep(Duration::from_secs(3600)))).collect();
    for h in &hs {
        assert!(group.add(h));
    }
    assert_eq!(group.len(), 4);
    group.kill();
    assert!(group.is_empty());
    for h in hs {
        assert!(h.is_finished());
        assert!(h.join().is_err());
    }
}

#[test]
fn apply_from_an_added_member_runs_inline_and_from_a_discarded_one_does_not() {
    let pool = Pool::new(1);
    let (p, (tx, rx)) = (pool.clone(), mpsc::channel::<()>());
    let added = verde::spawn(move || {
        rx.recv().unwrap();
        let me = verde::current().id();
        // The pool is full with this coroutine: only inline can work.
        p.apply(move || verde::current().id() == me)
    });
    assert!(pool.add(&added));
    tx.send(()).unwrap();
    assert!(added.join().unwrap());

    let (p, (tx, rx)) = (pool.clone(), mpsc::channel::<()>());
    let spawned = pool.spawn(move || {
        rx.recv().unwrap();
        let me = verde::current().id();
        p.apply(move || verde::current().id() == me)
    });
    assert!(pool.discard(&spawned));
    tx.send(()).unwrap();
    // Discarded: no longer a member, so `apply` runs in a new one.
    assert!(!spawned.join().unwrap());
    assert_eq!(pool.free_count(), 1);
}

#[test]
fn a_plain_thread_adds_into_a_full_pool_after_a_slot_frees() {
    let rt = verde::Runtime::builder().workers(2).build().unwrap();
    let pool = Pool::new(1);
    let log = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = mpsc::channel::<()>();
    let l = log.clone();
    let blocker = rt.spawn(move || {
        let _ = rx.recv();
        l.lock().unwrap().push("blocker done");
    });
    assert!(pool.add(&blocker));
    let (p, l) = (pool.clone(), log.clone());
    let h = rt.spawn(|| verde::sleep(Duration::from_secs(3600)));
    let thread = std::thread::spawn(move || {
        assert!(p.add(&h));
        l.lock().unwrap().push("added");
        h
    });
    tx.send(()).unwrap();
    let h = thread.join().unwrap();
    assert_eq!(*log.lock().unwrap(), ["blocker done", "added"]);
    assert!(pool.contains(&h) && !pool.contains(&blocker));
    pool.kill();
    assert!(h.join().is_err());
    blocker.join().unwrap();
    assert_eq!(pool.free_count(), 1);
}

#[test]
fn racing_add_discard_and_finish_across_threads_loses_no_slot() {
    let rt = verde::Runtime::builder().workers(2).build().unwrap();
    let pool = Pool::new(2);
    for _ in 0..200 {
        let h = rt.spawn(|| {
            for _ in 0..3 {
                verde::yield_now();
            }
        });
        std::thread::scope(|s| {
            s.spawn(|| pool.add(&h));
            s.spawn(|| pool.discard(&h));
            s.spawn(|| pool.add(&h));
        });
        assert!(h.wait_timeout(Duration::from_secs(3600)));
        // Finished, so no longer a member, whoever won.
        assert!(!pool.contains(&h));
        assert!(pool.is_empty());
        assert_eq!(pool.free_count(), 2);
        h.join().unwrap();
    }
}
