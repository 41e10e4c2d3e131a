//! sync::RwLock: shared readers, exclusive writers, FIFO fairness (no
//! writer starvation), poisoning, kills, and cross-hub use.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use verde_runtime as verde;
use verde_runtime::sync::{RwLock, TryLockError};

#[test]
fn readers_share_and_a_writer_excludes() {
    let lock = Arc::new(RwLock::new(0));
    let inside = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let readers: Vec<_> = (0..10)
        .map(|_| {
            let (lock, inside, most) = (lock.clone(), inside.clone(), most.clone());
            verde::spawn(move || {
                let _r = lock.read().unwrap();
                let n = inside.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(n, Ordering::SeqCst);
                verde::yield_now();
                inside.fetch_sub(1, Ordering::SeqCst);
            })
        })
        .collect();
    verde::joinall(readers);
    assert_eq!(most.load(Ordering::SeqCst), 10, "all readers were inside together");
    let w = lock.write().unwrap();
    assert!(matches!(lock.try_read(), Err(TryLockError::WouldBlock)));
    assert!(matches!(lock.try_write(), Err(TryLockError::WouldBlock)));
    drop(w);
    assert!(lock.try_read().is_ok());
}

#[test]
fn a_waiting_writer_is_not_starved_by_later_readers() {
    let lock = Arc::new(RwLock::new(()));
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let first_reader = lock.read().unwrap();
    let (l, g) = (lock.clone(), log.clone());
    let writer = verde::spawn(move || {
        let _w = l.write().unwrap();
        g.lock().unwrap().push("writer");
    });
    verde::yield_now();
    // A writer waits: a new reader must queue behind it.
    assert!(matches!(lock.try_read(), Err(TryLockError::WouldBlock)));
    let readers: Vec<_> = (0..3)
        .map(|i| {
            let (l, g) = (lock.clone(), log.clone());
            verde::spawn(move || {
                let _r = l.read().unwrap();
                g.lock().unwrap().push(["r0", "r1", "r2"][i]);
                verde::yield_now();
            })
        })
        .collect();
    verde::yield_now();
    drop(first_reader);
    writer.join().unwrap();
    verde::joinall(readers);
    assert_eq!(*log.lock().unwrap(), ["writer", "r0", "r1", "r2"]);
}

#[test]
fn queued_readers_behind_a_departed_writer_are_admitted() {
    let lock = Arc::new(RwLock::new(()));
    let reading = lock.read().unwrap();
    let l = lock.clone();
    let writer = verde::spawn(move || drop(l.write().unwrap()));
    verde::yield_now();
    let l = lock.clone();
    let reader = verde::spawn(move || drop(l.read().unwrap()));
    verde::yield_now();
    assert!(!reader.is_finished());
    writer.kill();
    // The reader only waited for the writer; with the writer gone it shares
    // the lock with the reader still holding it.
    assert!(reader.wait_timeout(Duration::from_secs(10)));
    drop(reading);
    assert!(lock.try_write().is_ok());
}

#[test]
fn a_panicking_writer_poisons_but_a_panicking_reader_does_not() {
    let lock = Arc::new(RwLock::new(1));
    let l = lock.clone();
    assert!(verde::spawn(move || {
        let _r = l.read().unwrap();
        panic!("reader");
    })
    .join()
    .is_err());
    assert!(!lock.is_poisoned());
    let l = lock.clone();
    assert!(verde::spawn(move || {
        let mut w = l.write().unwrap();
        *w = 2;
        panic!("writer");
    })
    .join()
    .is_err());
    assert!(lock.is_poisoned());
    assert_eq!(*lock.read().unwrap_err().into_inner(), 2);
    lock.clear_poison();
    assert_eq!(*lock.write().unwrap(), 2);
}

#[test]
fn a_writer_granted_the_lock_then_killed_passes_it_on() {
    let lock = Arc::new(RwLock::new(Vec::new()));
    let r = lock.read().unwrap();
    let (l1, l2) = (lock.clone(), lock.clone());
    let w1 = verde::spawn(move || l1.write().unwrap().push("w1"));
    let w2 = verde::spawn(move || l2.write().unwrap().push("w2"));
    verde::yield_now();
    w1.kill_nowait();
    drop(r);
    assert!(w1.join().is_err());
    w2.join().unwrap();
    assert_eq!(*lock.read().unwrap(), ["w2"]);
    assert!(!lock.is_poisoned());
}

#[test]
fn across_hubs_and_a_thread() {
    let rt = verde::Runtime::builder().workers(2).build().unwrap();
    let lock = Arc::new(RwLock::new(0u64));
    let mut hs = Vec::new();
    for i in 0..8 {
        let lock = lock.clone();
        hs.push(rt.spawn(move || {
            for j in 0..500 {
                if (i + j) % 4 == 0 {
                    *lock.write().unwrap() += 1;
                } else {
                    let r = lock.read().unwrap();
                    verde::yield_now();
                    assert!(*r <= 4000);
                }
            }
        }));
    }
    let l = lock.clone();
    let t = std::thread::spawn(move || {
        for _ in 0..1000 {
            *l.write().unwrap() += 1;
        }
    });
    hs.into_iter().for_each(|h| h.join().unwrap());
    t.join().unwrap();
    assert_eq!(*lock.read().unwrap(), 1000 + 1000);
}
