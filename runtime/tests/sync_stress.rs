//! One million operations on verde's primitives from coroutines on two
//! hubs and a plain thread at once: a lost wake-up would hang a waiter, so
//! a watchdog turns a hang into a failure; the counts prove nothing was
//! lost or duplicated.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use verde_runtime as verde;
use verde_runtime::lock::Semaphore;
use verde_runtime::queue::Queue;
use verde_runtime::sync::{mpsc, Mutex};

/// Lock/unlock pairs per mutex user (8 coroutines and the thread).
const LOCKS: usize = 25_000;
/// Items through the queue (each a put and a get).
const ITEMS: usize = 150_000;
/// Rendezvous round trips (each two sends and two receives).
const ROUND_TRIPS: usize = 60_000;
/// Acquire/release pairs per semaphore user (6 coroutines and the thread).
const PERMITS: usize = 16_786;

const OPERATIONS: usize = 9 * LOCKS + 2 * ITEMS + 4 * ROUND_TRIPS + 7 * 2 * PERMITS;
const _: () = assert!(OPERATIONS >= 1_000_000);

/// Aborts the process if the test is not done in time: a lost wake-up
/// would otherwise hang it forever.
fn watchdog(limit: Duration) -> std::sync::mpsc::Sender<()> {
    let (done, wait) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        if wait.recv_timeout(limit) == Err(std::sync::mpsc::RecvTimeoutError::Timeout) {
            eprintln!("sync_stress: no progress for {limit:?}: a wake-up was lost");
            std::process::abort();
        }
    });
    done
}

#[test]
fn a_million_operations_across_two_hubs_and_a_thread_lose_no_wake_up() {
    let done = watchdog(Duration::from_secs(120));
    let start = Instant::now();
    let rt = verde::Runtime::builder().workers(2).build().unwrap();

    // Mutex: eight coroutines over both hubs and the thread; one in sixteen
    // holds the lock across a yield, so waiters really queue.
    let counter = Arc::new(Mutex::new(0usize));
    let lockers: Vec<_> = (0..8)
        .map(|i| {
            let counter = counter.clone();
            rt.spawn_on(i % 2, move || {
                for n in 0..LOCKS {
                    let mut g = counter.lock().unwrap();
                    *g += 1;
                    if n % 16 == 0 {
                        verde::yield_now();
                    }
                }
            })
        })
        .collect();

    // A bounded queue: producers on both hubs, consumers on both hubs and
    // the thread.
    let queue = Arc::new(Queue::bounded(16));
    let producers: Vec<_> = (0..4)
        .map(|p| {
            let queue = queue.clone();
            rt.spawn_on(p % 2, move || (p..ITEMS).step_by(4).for_each(|i| queue.put(i as u64)))
        })
        .collect();
    let consumers: Vec<_> = (0..3)
        .map(|c| {
            let queue = queue.clone();
            rt.spawn_on(c % 2, move || (0..ITEMS / 4).map(|_| queue.get()).sum::<u64>())
        })
        .collect();

    // A rendezvous ping-pong between the two hubs: every message is a
    // cross-thread hand-off.
    let (ping_tx, ping_rx) = mpsc::sync_channel::<usize>(0);
    let (pong_tx, pong_rx) = mpsc::sync_channel::<usize>(0);
    let pinger = rt.spawn_on(0, move || {
        (0..ROUND_TRIPS).all(|i| {
            ping_tx.send(i).unwrap();
            pong_rx.recv() == Ok(i)
        })
    });
    let ponger = rt.spawn_on(1, move || {
        for i in ping_rx {
            pong_tx.send(i).unwrap();
        }
    });

    // A semaphore of three permits shared by both hubs and the thread.
    let sem = Arc::new(Semaphore::new(3));
    let inside = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let permit_user = {
        let (sem, inside, most) = (sem.clone(), inside.clone(), most.clone());
        move |pause: fn()| {
            for _ in 0..PERMITS {
                assert!(sem.acquire(true, None));
                most.fetch_max(inside.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                pause();
                inside.fetch_sub(1, Ordering::SeqCst);
                sem.release();
            }
        }
    };
    let semaphore_users: Vec<_> = (0..6)
        .map(|i| {
            let user = permit_user.clone();
            rt.spawn_on(i % 2, move || user(verde::yield_now))
        })
        .collect();

    // The plain thread takes part in the mutex, the queue and the semaphore.
    let thread = {
        let (counter, queue) = (counter.clone(), queue.clone());
        std::thread::spawn(move || {
            for _ in 0..LOCKS {
                *counter.lock().unwrap() += 1;
            }
            let sum = (0..ITEMS / 4).map(|_| queue.get()).sum::<u64>();
            permit_user(std::thread::yield_now);
            sum
        })
    };

    lockers.into_iter().for_each(|h| h.join().unwrap());
    producers.into_iter().for_each(|h| h.join().unwrap());
    let consumed: u64 = consumers.into_iter().map(|h| h.join().unwrap()).sum();
    assert!(pinger.join().unwrap(), "a ping came back wrong");
    ponger.join().unwrap();
    semaphore_users.into_iter().for_each(|h| h.join().unwrap());
    let thread_consumed = thread.join().unwrap();
    drop(done);

    assert_eq!(*counter.lock().unwrap(), 9 * LOCKS);
    assert_eq!(consumed + thread_consumed, (0..ITEMS as u64).sum::<u64>());
    assert!(queue.empty());
    assert!(most.load(Ordering::SeqCst) <= 3);
    assert_eq!(sem.counter(), 3);
    eprintln!("sync_stress: {OPERATIONS} operations in {:?}", start.elapsed());
}
