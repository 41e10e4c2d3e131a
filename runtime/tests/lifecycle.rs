//! Spawning, joining, ordering and failure containment on one hub.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use verde_runtime as verde;

#[test]
fn spawn_join_returns_value() {
    let h = verde::spawn(|| 40 + 2);
    assert_eq!(h.join().unwrap(), 42);
}

#[test]
fn yield_now_alternates_fifo() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let mk = |who: &'static str| {
        let log = log.clone();
        verde::spawn(move || {
            for step in ["A", "B", "C"] {
                log.lock().unwrap().push(format!("{who}{step}"));
                verde::yield_now();
            }
        })
    };
    let hs = vec![mk("1"), mk("2")];
    for r in verde::joinall(hs) {
        r.unwrap();
    }
    assert_eq!(*log.lock().unwrap(), ["1A", "2A", "1B", "2B", "1C", "2C"]);
}

#[test]
fn coroutines_start_in_spawn_order() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let hs: Vec<_> = (0..20)
        .map(|i| {
            let log = log.clone();
            verde::spawn(move || log.lock().unwrap().push(i))
        })
        .collect();
    verde::joinall(hs);
    assert_eq!(*log.lock().unwrap(), (0..20).collect::<Vec<_>>());
}

#[test]
fn is_finished_tracks_completion() {
    let h = verde::spawn(|| verde::sleep(Duration::from_millis(20)));
    assert!(!h.is_finished());
    assert!(!h.wait_timeout(Duration::from_millis(1)));
    assert!(h.wait_timeout(Duration::from_secs(10)));
    assert!(h.is_finished());
    h.join().unwrap();
}

#[test]
fn panic_is_contained_and_returned() {
    let bystander = verde::spawn(|| {
        for _ in 0..10 {
            verde::yield_now();
        }
        "alive"
    });
    let h = verde::spawn(|| -> u32 { panic!("boom") });
    let err = h.join().unwrap_err();
    assert_eq!(err.downcast_ref::<&str>(), Some(&"boom"));
    assert_eq!(bystander.join().unwrap(), "alive");
    // The hub still works.
    assert_eq!(verde::spawn(|| 1).join().unwrap(), 1);
}

#[test]
fn nested_spawn_runs_on_the_same_hub() {
    let outer = verde::spawn(|| {
        let tid = std::thread::current().id();
        let inner = verde::spawn(move || std::thread::current().id() == tid);
        inner.join().unwrap()
    });
    assert!(outer.join().unwrap());
}

#[test]
fn spawn_local_accepts_non_send() {
    use std::cell::RefCell;
    use std::rc::Rc;
    let shared = Rc::new(RefCell::new(0));
    let hs: Vec<_> = (0..5)
        .map(|_| {
            let s = shared.clone();
            verde::spawn_local(move || {
                *s.borrow_mut() += 1;
                verde::yield_now();
                *s.borrow_mut() += 1;
                s.clone()
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(*shared.borrow(), 10);
}

#[test]
fn thread_locals_stay_put_inside_coroutines() {
    thread_local!(static SLOT: std::cell::Cell<u32> = const { std::cell::Cell::new(0) });
    let hs: Vec<_> = (0..10)
        .map(|i| {
            verde::spawn(move || {
                SLOT.with(|s| s.set(s.get() + i));
                verde::sleep(Duration::from_millis(1));
                std::thread::current().id()
            })
        })
        .collect();
    let me = std::thread::current().id();
    for h in hs {
        assert_eq!(h.join().unwrap(), me);
    }
    assert_eq!(SLOT.with(|s| s.get()), 45);
}

#[test]
fn current_reports_id_and_name() {
    let h = verde::Builder::new()
        .name("alpha".into())
        .spawn(|| {
            let c = verde::current();
            (c.id(), c.name().map(str::to_owned), c.is_main())
        })
        .unwrap();
    let expected = h.coroutine().id();
    let (id, name, main) = h.join().unwrap();
    assert_eq!(id, expected);
    assert_eq!(name.as_deref(), Some("alpha"));
    assert!(!main);
    assert!(verde::current().is_main());
}

#[test]
fn spawn_later_waits_before_starting() {
    let started = Arc::new(AtomicUsize::new(0));
    let s = started.clone();
    let h = verde::spawn_later(Duration::from_millis(30), move || s.fetch_add(1, Ordering::SeqCst));
    verde::yield_now();
    assert_eq!(started.load(Ordering::SeqCst), 0);
    h.join().unwrap();
    assert_eq!(started.load(Ordering::SeqCst), 1);
}

#[test]
fn custom_stack_size_is_usable() {
    let h = verde::Builder::new()
        .stack_size(1024 * 1024)
        .spawn(|| {
            let big = [7u8; 512 * 1024];
            std::hint::black_box(&big).iter().map(|&b| b as u64).sum::<u64>()
        })
        .unwrap();
    assert_eq!(h.join().unwrap(), 7 * 512 * 1024);
}

#[test]
fn unjoined_handles_detach() {
    let done = Arc::new(AtomicUsize::new(0));
    for _ in 0..10 {
        let d = done.clone();
        drop(verde::spawn(move || {
            verde::yield_now();
            d.fetch_add(1, Ordering::SeqCst);
        }));
    }
    while done.load(Ordering::SeqCst) < 10 {
        verde::sleep(Duration::from_millis(1));
    }
}

#[test]
fn many_coroutines_sleep_concurrently() {
    let start = std::time::Instant::now();
    let hs: Vec<_> = (0..1000).map(|_| verde::spawn(|| verde::sleep(Duration::from_millis(100)))).collect();
    verde::joinall(hs);
    // Serially this would take 100 s; concurrently about 0.1 s.
    assert!(start.elapsed() < Duration::from_secs(30));
}
