//! Every blocking primitive used between plain OS threads only: no
//! coroutine, so each waiting thread parks in its hub's loop and each
//! wake crosses threads.
//!
//! This is the part of the runtime that Miri can run (it cannot switch
//! coroutine stacks), so `scripts/miri.sh` runs this file under Miri, over
//! several scheduling seeds, to check the cross-thread protocols (the
//! channels' lock-free hand-off, the wait lists, the park state word) for
//! data races, weak-memory bugs and aliasing violations. Counts are kept
//! small for that; under plain `cargo test` the file is a quick check
//! that everything works from plain threads.

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use verde_runtime::event::{AsyncResult, Event};
use verde_runtime::lock::{BoundedSemaphore, RLock, Semaphore};
use verde_runtime::park::{self, Unparked};
use verde_runtime::queue::{self, Queue};
use verde_runtime::sync::mpsc::{self, RecvTimeoutError, TryRecvError};
use verde_runtime::sync::{Barrier, Condvar, Mutex, OnceLock, RwLock};

/// Rounds for the ping-pong tests.
const ROUNDS: u32 = if cfg!(miri) { 6 } else { 200 };

/// Long enough that a wait given it is expected to end another way.
const LONG: Duration = Duration::from_secs(30);

#[test]
fn a_waker_wakes_a_thread_parked_in_its_hub() {
    let waker = park::waker();
    let t = thread::spawn(move || assert!(waker.wake(), "the park was still waiting"));
    loop {
        if park::park() == Unparked::Woken {
            break;
        }
    }
    t.join().unwrap();
}

#[test]
fn a_timed_park_times_out_when_nobody_wakes_it() {
    let _unused = park::waker();
    assert_eq!(park::park_timeout(Duration::from_millis(1)), Unparked::TimedOut);
}

#[test]
fn channel_ping_pong() {
    let (tx, rx) = mpsc::channel::<u32>();
    let (back_tx, back_rx) = mpsc::channel::<u32>();
    let t = thread::spawn(move || {
        for i in 0..ROUNDS {
            tx.send(i).unwrap();
            assert_eq!(back_rx.recv().unwrap(), i);
        }
    });
    for i in 0..ROUNDS {
        assert_eq!(rx.recv().unwrap(), i);
        back_tx.send(i).unwrap();
    }
    t.join().unwrap();
    assert_eq!(rx.recv(), Err(mpsc::RecvError), "every sender is gone");
}

#[test]
fn channel_senders_on_several_threads_lose_and_reorder_nothing() {
    const SENDERS: u32 = 3;
    let (tx, rx) = mpsc::channel::<(u32, u32)>();
    let senders: Vec<_> = (0..SENDERS)
        .map(|s| {
            let tx = tx.clone();
            thread::spawn(move || (0..ROUNDS).for_each(|i| tx.send((s, i)).unwrap()))
        })
        .collect();
    drop(tx);
    let mut next = [0; SENDERS as usize];
    for (s, i) in rx.iter() {
        assert_eq!(i, next[s as usize], "sender {s}'s messages in order");
        next[s as usize] += 1;
    }
    assert_eq!(next, [ROUNDS; SENDERS as usize]);
    senders.into_iter().for_each(|t| t.join().unwrap());
}

#[test]
fn channel_receive_with_a_deadline_then_a_message() {
    let (tx, rx) = mpsc::channel::<u8>();
    assert_eq!(rx.recv_timeout(Duration::from_millis(1)), Err(RecvTimeoutError::Timeout));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    let t = thread::spawn(move || tx.send(7).unwrap());
    assert_eq!(rx.recv_timeout(LONG), Ok(7));
    t.join().unwrap();
    assert_eq!(rx.recv_timeout(LONG), Err(RecvTimeoutError::Disconnected));
}

#[test]
fn sync_channel_rendezvous_and_bound_one() {
    for bound in [0, 1] {
        let (tx, rx) = mpsc::sync_channel::<u32>(bound);
        let t = thread::spawn(move || (0..ROUNDS).for_each(|i| tx.send(i).unwrap()));
        assert_eq!(rx.iter().collect::<Vec<_>>(), (0..ROUNDS).collect::<Vec<_>>(), "bound {bound}");
        t.join().unwrap();
    }
}

#[test]
fn mutex_counts_every_increment_and_poisons_on_panic() {
    const THREADS: u32 = 3;
    let counter = Arc::new(Mutex::new(0));
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let c = Arc::clone(&counter);
            thread::spawn(move || (0..ROUNDS).for_each(|_| *c.lock().unwrap() += 1))
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    assert_eq!(*counter.lock().unwrap(), THREADS * ROUNDS);

    let c = Arc::clone(&counter);
    let panicked = thread::spawn(move || {
        let _guard = c.lock().unwrap();
        panic!("poison it");
    })
    .join();
    assert!(panicked.is_err());
    assert!(counter.is_poisoned());
    assert_eq!(*counter.lock().unwrap_err().into_inner(), THREADS * ROUNDS);
}

#[test]
fn rwlock_readers_share_and_a_writer_excludes() {
    let lock = Arc::new(RwLock::new(Vec::new()));
    let writers: Vec<_> = (0..2u32)
        .map(|w| {
            let l = Arc::clone(&lock);
            thread::spawn(move || {
                for i in 0..ROUNDS {
                    l.write().unwrap().push((w, i));
                    let seen = l.read().unwrap().len();
                    assert!(seen > 0);
                }
            })
        })
        .collect();
    writers.into_iter().for_each(|t| t.join().unwrap());
    let all = lock.read().unwrap();
    assert_eq!(all.len(), 2 * ROUNDS as usize);
}

#[test]
fn condvar_wait_while_sees_the_other_threads_update() {
    let pair = Arc::new((Mutex::new(0u32), Condvar::new()));
    let p = Arc::clone(&pair);
    let t = thread::spawn(move || {
        for _ in 0..ROUNDS {
            *p.0.lock().unwrap() += 1;
            p.1.notify_one();
        }
    });
    let (lock, cv) = &*pair;
    let done = cv.wait_while(lock.lock().unwrap(), |n| *n < ROUNDS).unwrap();
    assert_eq!(*done, ROUNDS);
    drop(done);
    t.join().unwrap();
    let (guard, timeout) = cv.wait_timeout(lock.lock().unwrap(), Duration::from_millis(1)).unwrap();
    assert!(timeout.timed_out());
    assert_eq!(*guard, ROUNDS);
}

#[test]
fn barrier_releases_every_thread_and_elects_one_leader() {
    const THREADS: usize = 3;
    let barrier = Arc::new(Barrier::new(THREADS));
    let threads: Vec<_> = (0..THREADS - 1)
        .map(|_| {
            let b = Arc::clone(&barrier);
            thread::spawn(move || b.wait().is_leader())
        })
        .collect();
    let mut leaders = usize::from(barrier.wait().is_leader());
    leaders += threads.into_iter().map(|t| usize::from(t.join().unwrap())).sum::<usize>();
    assert_eq!(leaders, 1);
}

#[test]
fn once_lock_runs_its_initialiser_once() {
    let cell = Arc::new(OnceLock::new());
    let runs = Arc::new(Mutex::new(0));
    let threads: Vec<_> = (0..3)
        .map(|i| {
            let (cell, runs) = (Arc::clone(&cell), Arc::clone(&runs));
            thread::spawn(move || {
                *cell.get_or_init(|| {
                    *runs.lock().unwrap() += 1;
                    i
                })
            })
        })
        .collect();
    let values: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(values.windows(2).all(|w| w[0] == w[1]), "one value for all: {values:?}");
    assert_eq!(*runs.lock().unwrap(), 1);
}

#[test]
fn event_set_wakes_a_waiting_thread() {
    let event = Arc::new(Event::new());
    assert!(!event.wait(Some(Duration::from_millis(1))), "not set yet");
    let e = Arc::clone(&event);
    let t = thread::spawn(move || e.set());
    assert!(event.wait(Some(LONG)));
    t.join().unwrap();
    event.clear();
    assert!(!event.is_set());
}

#[test]
fn async_result_hands_a_value_and_an_error_across_threads() {
    let ok: Arc<AsyncResult<String, String>> = Arc::new(AsyncResult::new());
    let r = Arc::clone(&ok);
    let t = thread::spawn(move || r.set("value".to_owned()));
    assert_eq!(ok.get(Some(LONG)).unwrap(), "value");
    t.join().unwrap();

    let failed: Arc<AsyncResult<String, String>> = Arc::new(AsyncResult::new());
    let r = Arc::clone(&failed);
    let t = thread::spawn(move || r.set_error("broken".to_owned()));
    assert!(failed.wait(Some(LONG)));
    assert!(!failed.successful());
    t.join().unwrap();
}

#[test]
fn bounded_queue_blocks_the_putter_and_counts_tasks() {
    let q = Arc::new(Queue::bounded(1));
    let producer = {
        let q = Arc::clone(&q);
        thread::spawn(move || (0..ROUNDS).for_each(|i| q.put(i)))
    };
    for i in 0..ROUNDS {
        assert_eq!(q.get(), i);
        q.task_done();
    }
    producer.join().unwrap();
    assert_eq!(q.unfinished_tasks(), 0);
    assert!(q.get_timeout(Duration::from_millis(1)).is_err());
}

#[test]
fn gevent_channel_is_a_rendezvous_between_threads() {
    let ch = Arc::new(queue::Channel::new());
    let c = Arc::clone(&ch);
    let t = thread::spawn(move || (0..ROUNDS).for_each(|i| c.put(i)));
    assert_eq!((0..ROUNDS).map(|_| ch.get()).collect::<Vec<_>>(), (0..ROUNDS).collect::<Vec<_>>());
    t.join().unwrap();
    assert!(ch.put_nowait(0).is_err(), "nobody is waiting to take it");
}

#[test]
fn semaphores_hand_permits_across_threads_and_time_out() {
    let sem = Arc::new(Semaphore::new(0));
    assert!(!sem.acquire(true, Some(Duration::from_millis(1))), "no permit: times out");
    let s = Arc::clone(&sem);
    let t = thread::spawn(move || (0..ROUNDS).for_each(|_| s.release()));
    for _ in 0..ROUNDS {
        assert!(sem.acquire(true, Some(LONG)));
    }
    t.join().unwrap();
    assert_eq!(sem.counter(), 0);

    let bounded = BoundedSemaphore::new(1);
    assert!(bounded.acquire(false, None));
    bounded.release();
    assert!(bounded.try_release().is_err(), "over-released");
}

#[test]
fn rlock_is_reentrant_for_its_owner_and_excludes_other_threads() {
    let lock = Arc::new(RLock::new());
    let outer = lock.guard();
    let inner = lock.guard();
    let l = Arc::clone(&lock);
    let other = thread::spawn(move || l.acquire(true, Some(Duration::from_millis(1))));
    assert!(!other.join().unwrap(), "held by the main thread");
    drop(inner);
    drop(outer);
    let l = Arc::clone(&lock);
    assert!(thread::spawn(move || {
        let got = l.acquire(true, Some(LONG));
        l.release();
        got
    })
    .join()
    .unwrap());
}

#[test]
fn blocking_runs_on_the_pool_while_the_thread_waits() {
    let caller = thread::current().id();
    let (value, ran_on) = verde_runtime::blocking(move || (6 * 7, thread::current().id()));
    assert_eq!(value, 42);
    assert_ne!(ran_on, caller);
}
