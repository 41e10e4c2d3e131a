//! sync::Condvar with verde's Mutex: notify_one/notify_all, timeouts,
//! wait_while, FIFO wake-ups, kills, and threads.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use verde_runtime as verde;
use verde_runtime::sync::{Condvar, Mutex};

type Pair<T> = Arc<(Mutex<T>, Condvar)>;

fn pair<T>(v: T) -> Pair<T> {
    Arc::new((Mutex::new(v), Condvar::new()))
}

#[test]
fn notify_one_wakes_waiters_in_fifo_order() {
    let p = pair(Vec::new());
    let hs: Vec<_> = (0..5)
        .map(|i| {
            let p = p.clone();
            verde::spawn(move || {
                let (m, cv) = &*p;
                let mut g = m.lock().unwrap();
                g = cv.wait(g).unwrap();
                g.push(i);
            })
        })
        .collect();
    verde::yield_now();
    for _ in 0..5 {
        p.1.notify_one();
        verde::yield_now();
    }
    verde::joinall(hs);
    assert_eq!(*p.0.lock().unwrap(), [0, 1, 2, 3, 4]);
}

#[test]
fn notify_all_wakes_everyone() {
    let p = pair(0);
    let hs: Vec<_> = (0..10)
        .map(|_| {
            let p = p.clone();
            verde::spawn(move || {
                let (m, cv) = &*p;
                let g = cv.wait_while(m.lock().unwrap(), |go| *go == 0).unwrap();
                assert_eq!(*g, 1);
            })
        })
        .collect();
    verde::yield_now();
    *p.0.lock().unwrap() = 1;
    p.1.notify_all();
    verde::joinall(hs).into_iter().for_each(|r| r.unwrap());
}

#[test]
fn wait_timeout_reports_a_timeout_and_retakes_the_lock() {
    let p = pair(5);
    let (m, cv) = &*p;
    let start = Instant::now();
    let (g, r) = cv.wait_timeout(m.lock().unwrap(), Duration::from_millis(20)).unwrap();
    assert!(r.timed_out());
    assert_eq!(*g, 5);
    assert!(start.elapsed() >= Duration::from_millis(20));
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[test]
fn wait_timeout_while_returns_early_when_the_condition_clears() {
    let p = pair(false);
    let p2 = p.clone();
    let setter = verde::spawn(move || {
        verde::sleep(Duration::from_millis(5));
        *p2.0.lock().unwrap() = true;
        p2.1.notify_one();
    });
    let (m, cv) = &*p;
    let (g, r) = cv.wait_timeout_while(m.lock().unwrap(), Duration::from_secs(30), |ready| !*ready).unwrap();
    assert!(*g && !r.timed_out());
    drop(g);
    setter.join().unwrap();
    let (g, r) = cv.wait_timeout_while(m.lock().unwrap(), Duration::from_millis(5), |ready| *ready).unwrap();
    assert!(*g && r.timed_out());
}

#[test]
fn a_waiter_chosen_by_notify_one_then_killed_passes_the_notification_on() {
    let p = pair(0);
    let woken = Arc::new(AtomicUsize::new(0));
    let spawn_waiter = || {
        let (p, w) = (p.clone(), woken.clone());
        verde::spawn(move || {
            let (m, cv) = &*p;
            drop(cv.wait(m.lock().unwrap()).unwrap());
            w.fetch_add(1, Ordering::SeqCst);
        })
    };
    let first = spawn_waiter();
    let second = spawn_waiter();
    verde::yield_now();
    first.kill_nowait();
    p.1.notify_one();
    assert!(first.join().is_err());
    second.join().unwrap();
    assert_eq!(woken.load(Ordering::SeqCst), 1);
}

#[test]
fn a_killed_waiter_does_not_hold_the_mutex() {
    let p = pair(0);
    let p2 = p.clone();
    let h = verde::spawn(move || {
        let (m, cv) = &*p2;
        let _g = cv.wait(m.lock().unwrap());
    });
    verde::yield_now();
    h.kill();
    assert!(p.0.try_lock().is_ok());
}

#[test]
fn producer_consumer_between_a_thread_and_hubs() {
    let rt = verde::Runtime::builder().workers(2).build().unwrap();
    let p = pair(std::collections::VecDeque::new());
    let consumers: Vec<_> = (0..4)
        .map(|_| {
            let p = p.clone();
            rt.spawn(move || {
                let (m, cv) = &*p;
                let mut sum = 0u64;
                loop {
                    let mut q = cv.wait_while(m.lock().unwrap(), |q| q.is_empty()).unwrap();
                    let v = q.pop_front().unwrap();
                    drop(q);
                    if v == 0 {
                        return sum;
                    }
                    sum += v;
                }
            })
        })
        .collect();
    let p2 = p.clone();
    let producer = std::thread::spawn(move || {
        let (m, cv) = &*p2;
        for v in (1..=2000).chain([0, 0, 0, 0]) {
            m.lock().unwrap().push_back(v);
            cv.notify_one();
        }
    });
    producer.join().unwrap();
    let total: u64 = consumers.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(total, 2000 * 2001 / 2);
}
