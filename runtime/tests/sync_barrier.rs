//! sync::Barrier: rounds, one leader per round, reuse, withdrawal of a
//! killed waiter, and threads mixed with coroutines.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use verde_runtime as verde;
use verde_runtime::sync::Barrier;

#[test]
fn nobody_passes_until_all_arrive_and_one_leads_each_round() {
    let n = 10;
    let barrier = Arc::new(Barrier::new(n));
    let arrived = Arc::new(AtomicUsize::new(0));
    let leaders = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..n)
        .map(|_| {
            let (b, a, l) = (barrier.clone(), arrived.clone(), leaders.clone());
            verde::spawn(move || {
                for round in 1..=3 {
                    a.fetch_add(1, Ordering::SeqCst);
                    if b.wait().is_leader() {
                        l.fetch_add(1, Ordering::SeqCst);
                    }
                    assert!(a.load(Ordering::SeqCst) >= round * n, "passed before everyone arrived");
                }
            })
        })
        .collect();
    verde::joinall(hs).into_iter().for_each(|r| r.unwrap());
    assert_eq!(leaders.load(Ordering::SeqCst), 3);
}

#[test]
fn a_barrier_of_zero_or_one_never_waits() {
    assert!(Barrier::new(0).wait().is_leader());
    assert!(Barrier::new(1).wait().is_leader());
}

#[test]
fn a_killed_waiter_withdraws_its_arrival() {
    let barrier = Arc::new(Barrier::new(2));
    let b = barrier.clone();
    let quitter = verde::spawn(move || {
        b.wait();
    });
    verde::yield_now();
    quitter.kill();
    let b = barrier.clone();
    let partner = verde::spawn(move || b.wait().is_leader());
    verde::yield_now();
    assert!(!partner.is_finished(), "the round still needs two");
    assert!(barrier.wait().is_leader());
    assert!(!partner.join().unwrap());
}

#[test]
fn threads_and_hub_coroutines_meet() {
    let rt = verde::Runtime::builder().workers(2).build().unwrap();
    let barrier = Arc::new(Barrier::new(5));
    let mut hs = Vec::new();
    for _ in 0..4 {
        let b = barrier.clone();
        hs.push(rt.spawn(move || (0..50).filter(|_| b.wait().is_leader()).count()));
    }
    let b = barrier.clone();
    let t = std::thread::spawn(move || (0..50).filter(|_| b.wait().is_leader()).count());
    let leaders: usize = hs.into_iter().map(|h| h.join().unwrap()).sum::<usize>() + t.join().unwrap();
    assert_eq!(leaders, 50);
}
