//! gevent.local: coroutine-local values, one per coroutine (and per
//! thread main context), dropped when their coroutine finishes, on its hub.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::Duration;

use verde_runtime as verde;
use verde_runtime::coroutine_local;

/// Records where and how often it is dropped.
struct Tracked {
    drops: Arc<AtomicUsize>,
    dropped_on: Arc<Mutex<Vec<ThreadId>>>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
        self.dropped_on.lock().unwrap().push(std::thread::current().id());
    }
}

coroutine_local! {
    static NAME: RefCell<String> = RefCell::new(String::from("unset"));
    static INITS: Cell<u32> = {
        INIT_CALLS.fetch_add(1, Ordering::SeqCst);
        Cell::new(0)
    };
    static TRACKED: RefCell<Option<Tracked>> = RefCell::new(None);
}

static INIT_CALLS: AtomicUsize = AtomicUsize::new(0);

fn track(drops: &Arc<AtomicUsize>, on: &Arc<Mutex<Vec<ThreadId>>>) {
    TRACKED.with_borrow_mut(|t| *t = Some(Tracked { drops: drops.clone(), dropped_on: on.clone() }));
}

#[test]
fn every_coroutine_sees_its_own_value() {
    let hs: Vec<_> = (0..10)
        .map(|i| {
            verde::spawn(move || {
                assert_eq!(NAME.with_borrow(|n| n.clone()), "unset");
                NAME.with_borrow_mut(|n| *n = format!("coroutine {i}"));
                verde::yield_now();
                verde::sleep(Duration::from_millis(1));
                NAME.with_borrow(|n| n.clone())
            })
        })
        .collect();
    for (i, h) in hs.into_iter().enumerate() {
        assert_eq!(h.join().unwrap(), format!("coroutine {i}"));
    }
}

#[test]
fn the_initialiser_runs_once_per_coroutine_on_first_use() {
    let before = INIT_CALLS.load(Ordering::SeqCst);
    let h = verde::spawn(|| {
        for _ in 0..5 {
            INITS.set(INITS.get() + 1);
        }
        INITS.get()
    });
    assert_eq!(h.join().unwrap(), 5);
    verde::spawn(|| ()).join().unwrap();
    // Only this test uses INITS: one coroutine used it (five times), the
    // other never did.
    assert_eq!(INIT_CALLS.load(Ordering::SeqCst), before + 1);
}

#[test]
fn values_are_dropped_when_the_coroutine_finishes_on_its_hub() {
    let drops = Arc::new(AtomicUsize::new(0));
    let on = Arc::new(Mutex::new(Vec::new()));
    let rt = verde::Runtime::builder().workers(2).build().unwrap();
    let hs: Vec<_> = (0..4)
        .map(|_| {
            let (d, o) = (drops.clone(), on.clone());
            rt.spawn(move || {
                track(&d, &o);
                verde::yield_now();
                std::thread::current().id()
            })
        })
        .collect();
    let mut ran_on: Vec<ThreadId> = hs.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(drops.load(Ordering::SeqCst), 4);
    let mut dropped_on = on.lock().unwrap().clone();
    ran_on.sort_by_key(|t| format!("{t:?}"));
    dropped_on.sort_by_key(|t| format!("{t:?}"));
    assert_eq!(ran_on, dropped_on);
}

#[test]
fn values_are_dropped_when_the_coroutine_panics_or_is_killed() {
    let drops = Arc::new(AtomicUsize::new(0));
    let on = Arc::new(Mutex::new(Vec::new()));
    let (d, o) = (drops.clone(), on.clone());
    let panicker = verde::spawn(move || {
        track(&d, &o);
        panic!("boom");
    });
    assert!(panicker.join().is_err());
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    let (d, o) = (drops.clone(), on.clone());
    let victim = verde::spawn(move || {
        track(&d, &o);
        verde::sleep(Duration::from_secs(3600));
    });
    verde::yield_now();
    victim.kill();
    assert_eq!(drops.load(Ordering::SeqCst), 2);
}

#[test]
fn destructors_run_inside_the_coroutine_and_may_block_or_use_other_locals() {
    struct SaysGoodbye(Arc<Mutex<Vec<String>>>);
    impl Drop for SaysGoodbye {
        fn drop(&mut self) {
            verde::sleep(Duration::from_millis(1));
            let name = NAME.with_borrow(|n| n.clone());
            self.0.lock().unwrap().push(format!("bye from {name}"));
        }
    }
    coroutine_local! {
        static GOODBYE: RefCell<Option<SaysGoodbye>> = RefCell::new(None);
    }
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    verde::spawn(move || {
        NAME.with_borrow_mut(|n| *n = "worker".into());
        GOODBYE.with_borrow_mut(|g| *g = Some(SaysGoodbye(l)));
    })
    .join()
    .unwrap();
    let said = log.lock().unwrap().clone();
    assert_eq!(said.len(), 1);
    assert!(said[0] == "bye from worker" || said[0] == "bye from unset", "{said:?}");
}

#[test]
fn the_main_context_has_its_own_value_dropped_at_thread_exit() {
    let drops = Arc::new(AtomicUsize::new(0));
    let on = Arc::new(Mutex::new(Vec::new()));
    let (d, o) = (drops.clone(), on.clone());
    let thread = std::thread::spawn(move || {
        NAME.with_borrow_mut(|n| *n = "main".into());
        track(&d, &o);
        let inner = verde::spawn(|| NAME.with_borrow(|n| n.clone()));
        assert_eq!(inner.join().unwrap(), "unset");
        assert_eq!(NAME.with_borrow(|n| n.clone()), "main");
        assert_eq!(d.load(Ordering::SeqCst), 0);
        std::thread::current().id()
    });
    let id = thread.join().unwrap();
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    assert_eq!(*on.lock().unwrap(), [id]);
}

#[test]
fn greenlets_have_their_own_values_too() {
    let drops = Arc::new(AtomicUsize::new(0));
    let on = Arc::new(Mutex::new(Vec::new()));
    let (d, o) = (drops.clone(), on.clone());
    let g = verde::Greenlet::new(move |()| {
        track(&d, &o);
        NAME.with_borrow_mut(|n| *n = "greenlet".into());
    });
    g.switch(());
    assert!(g.dead());
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    assert_eq!(NAME.with_borrow(|n| n.clone()), "unset");
}
