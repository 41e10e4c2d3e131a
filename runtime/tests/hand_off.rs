//! Hand-offs that skip the hub: a coroutine that yields or parks runs the
//! next ones from its own stack. These check that nothing a coroutine can
//! observe differs from hand-offs through the hub: the order of turns, the
//! main context's place, polls for timers, I/O and other threads, finished
//! coroutines, kills and timeouts.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use verde_runtime as verde;
use verde_runtime::event::Event;
use verde_runtime::sync::mpsc;

mod common;
use common::DropCounter;

type Log = Arc<Mutex<Vec<String>>>;

fn push(log: &Log, entry: String) {
    log.lock().unwrap().push(entry);
}

#[test]
fn yields_take_strict_turns_among_many_coroutines() {
    let log = Log::default();
    let handles: Vec<_> = (0..5)
        .map(|i| {
            let log = log.clone();
            verde::spawn(move || {
                for round in 0..4 {
                    push(&log, format!("{i}:{round}"));
                    verde::yield_now();
                }
            })
        })
        .collect();
    for r in verde::joinall(handles) {
        r.unwrap();
    }
    let expected: Vec<String> = (0..4).flat_map(|round| (0..5).map(move |i| format!("{i}:{round}"))).collect();
    assert_eq!(*log.lock().unwrap(), expected);
}

#[test]
fn the_main_context_keeps_its_place_among_yielding_coroutines() {
    let log = Log::default();
    let handles: Vec<_> = ["A", "B"]
        .into_iter()
        .map(|who| {
            let log = log.clone();
            verde::spawn(move || {
                for round in 0..3 {
                    push(&log, format!("{who}{round}"));
                    verde::yield_now();
                }
            })
        })
        .collect();
    for round in 0..3 {
        push(&log, format!("M{round}"));
        verde::yield_now();
    }
    for r in verde::joinall(handles) {
        r.unwrap();
    }
    assert_eq!(*log.lock().unwrap(), ["M0", "A0", "B0", "M1", "A1", "B1", "M2", "A2", "B2"]);
}

#[test]
fn coroutines_spawned_during_hand_offs_queue_behind_the_yielder() {
    let log = Log::default();
    let l = log.clone();
    let parent = verde::spawn(move || {
        let children: Vec<_> = (0..3)
            .map(|i| {
                let l = l.clone();
                verde::spawn(move || push(&l, format!("child{i}")))
            })
            .collect();
        push(&l, "parent before yield".into());
        verde::yield_now();
        push(&l, "parent after yield".into());
        verde::joinall(children).len()
    });
    assert_eq!(parent.join().unwrap(), 3);
    assert_eq!(*log.lock().unwrap(), ["parent before yield", "child0", "child1", "child2", "parent after yield"]);
}

#[test]
fn a_yield_ping_pong_does_not_starve_timers_or_other_threads() {
    let stop_by_timer = Arc::new(AtomicBool::new(false));
    let stop_by_thread = Arc::new(Event::new());
    let turns = Arc::new(AtomicUsize::new(0));
    let players: Vec<_> = (0..2)
        .map(|_| {
            let (timer, thread, turns) = (stop_by_timer.clone(), stop_by_thread.clone(), turns.clone());
            verde::spawn(move || {
                while !(timer.load(Ordering::SeqCst) && thread.is_set()) {
                    turns.fetch_add(1, Ordering::Relaxed);
                    verde::yield_now();
                }
            })
        })
        .collect();
    let t = stop_by_timer.clone();
    let sleeper = verde::spawn(move || {
        verde::sleep(Duration::from_millis(5));
        t.store(true, Ordering::SeqCst);
    });
    let e = stop_by_thread.clone();
    let thread = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(5));
        e.set();
    });
    sleeper.join().unwrap();
    for r in verde::joinall(players) {
        r.unwrap();
    }
    thread.join().unwrap();
    assert!(turns.load(Ordering::Relaxed) > 2);
}

#[test]
fn a_coroutine_that_finishes_during_a_hand_off_is_joined_with_its_value() {
    let parent = verde::spawn(|| {
        let children: Vec<_> = (0..50u32).map(|i| verde::spawn(move || i * 2)).collect();
        // The children run, and finish, while the parent yields.
        verde::yield_now();
        assert!(children.iter().all(|c| c.is_finished()));
        verde::joinall(children).into_iter().map(|r| r.unwrap()).sum::<u32>()
    });
    assert_eq!(parent.join().unwrap(), (0..50).map(|i| i * 2).sum());
}

#[test]
fn a_panic_during_a_hand_off_is_contained() {
    let survivor = verde::spawn(|| {
        let doomed = verde::spawn(|| -> u32 { panic!("boom in a hand-off") });
        verde::yield_now();
        let err = doomed.join().unwrap_err();
        err.downcast_ref::<&str>().copied().unwrap_or_default().to_owned()
    });
    assert_eq!(survivor.join().unwrap(), "boom in a hand-off");
}

#[test]
fn a_channel_ping_pong_keeps_every_message_beside_busy_yielders() {
    const ROUNDS: u64 = 20_000;
    let (to_b, from_a) = mpsc::channel::<u64>();
    let (to_a, from_b) = mpsc::channel::<u64>();
    let done = Arc::new(AtomicBool::new(false));
    let yielders: Vec<_> = (0..3)
        .map(|_| {
            let done = done.clone();
            verde::spawn(move || {
                let mut n = 0u64;
                while !done.load(Ordering::SeqCst) {
                    n += 1;
                    verde::yield_now();
                }
                n
            })
        })
        .collect();
    let b = verde::spawn(move || {
        let mut sum = 0;
        for v in from_a.iter() {
            sum += v;
            to_a.send(v + 1).unwrap();
        }
        sum
    });
    let a = verde::spawn(move || {
        let mut v = 0;
        for _ in 0..ROUNDS {
            to_b.send(v).unwrap();
            v = from_b.recv().unwrap();
        }
        v
    });
    assert_eq!(a.join().unwrap(), ROUNDS);
    assert_eq!(b.join().unwrap(), (0..ROUNDS).sum::<u64>());
    done.store(true, Ordering::SeqCst);
    for r in verde::joinall(yielders) {
        assert!(r.unwrap() > 0);
    }
}

#[test]
fn a_kill_reaches_a_parked_coroutine_that_was_running_others() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let never = Arc::new(Event::new());
    let (d, n) = (dropped.clone(), never.clone());
    let victim = Arc::new(verde::spawn(move || {
        let _guard = DropCounter(d);
        // Parks, and runs the killer below from its own stack.
        n.wait(None);
    }));
    let v = victim.clone();
    let killer = verde::spawn(move || {
        v.kill();
        v.is_finished()
    });
    assert!(killer.join().unwrap());
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    let Ok(victim) = Arc::try_unwrap(victim) else {
        panic!("the killer kept its handle");
    };
    assert!(victim.join().unwrap_err().is::<verde::Killed>());
}

#[test]
fn a_timeout_fires_in_a_coroutine_parked_beside_busy_yielders() {
    let done = Arc::new(AtomicBool::new(false));
    let yielders: Vec<_> = (0..2)
        .map(|_| {
            let done = done.clone();
            verde::spawn(move || {
                while !done.load(Ordering::SeqCst) {
                    verde::yield_now();
                }
            })
        })
        .collect();
    let d = done.clone();
    let waiter = verde::spawn(move || {
        let (_tx, rx) = mpsc::channel::<()>();
        let r = verde::with_timeout(Duration::from_millis(5), || rx.recv());
        d.store(true, Ordering::SeqCst);
        r.is_err()
    });
    assert!(waiter.join().unwrap());
    for r in verde::joinall(yielders) {
        r.unwrap();
    }
}
