//! sync::{Once, OnceLock, LazyLock}: one initializer, parked waiters (so an
//! initializer may park without deadlocking its hub), poisoning as std's,
//! kills, and sharing across hubs and threads.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

use verde_runtime as verde;
use verde_runtime::event::Event;
use verde_runtime::sync::{LazyLock, Once, OnceLock};

mod common;
use common::DropCounter;

/// The case std's OnceLock cannot serve: the initializer parks on an event
/// that another coroutine of the same hub sets, while a third coroutine of
/// that hub waits for the value. With a thread-blocking wait the hub would
/// stop inside the waiter and never run the setter.
#[test]
fn an_initializer_that_parks_does_not_stall_its_hub() {
    let cell = Arc::new(OnceLock::new());
    let ready = Arc::new(Event::new());
    let runs = Arc::new(AtomicUsize::new(0));
    let init = {
        let (cell, ready, runs) = (cell.clone(), ready.clone(), runs.clone());
        verde::spawn(move || {
            *cell.get_or_init(|| {
                runs.fetch_add(1, Ordering::SeqCst);
                ready.wait(None);
                42
            })
        })
    };
    let waiter = {
        let (cell, runs) = (cell.clone(), runs.clone());
        verde::spawn(move || {
            *cell.get_or_init(|| {
                runs.fetch_add(1, Ordering::SeqCst);
                0
            })
        })
    };
    verde::yield_now();
    assert!(!waiter.is_finished());
    let setter = {
        let ready = ready.clone();
        verde::spawn(move || ready.set())
    };
    assert_eq!(init.join().unwrap(), 42);
    assert_eq!(waiter.join().unwrap(), 42);
    setter.join().unwrap();
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[test]
fn once_runs_exactly_once_across_hubs_and_threads() {
    let rt = verde::Runtime::builder().workers(2).build().unwrap();
    let once = Arc::new(Once::new());
    let runs = Arc::new(AtomicUsize::new(0));
    let call = |once: Arc<Once>, runs: Arc<AtomicUsize>| {
        move || {
            once.call_once(|| {
                runs.fetch_add(1, Ordering::SeqCst);
                verde::yield_now();
            });
            assert!(once.is_completed());
        }
    };
    let coroutines: Vec<_> = (0..200).map(|i| rt.spawn_on(i % 2, call(once.clone(), runs.clone()))).collect();
    let threads: Vec<_> = (0..4).map(|_| thread::spawn(call(once.clone(), runs.clone()))).collect();
    for h in coroutines {
        h.join().unwrap();
    }
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[test]
fn a_panicking_initializer_poisons_once_as_std_does() {
    let once = Once::new();
    assert!(catch_unwind(|| once.call_once(|| panic!("boom"))).is_err());
    assert!(!once.is_completed());
    let err = catch_unwind(|| once.call_once(|| {})).unwrap_err();
    assert_eq!(err.downcast_ref::<String>().map(String::as_str), Some("Once instance has previously been poisoned"));
    assert!(catch_unwind(|| once.wait()).is_err());
    let mut saw_poison = false;
    once.call_once_force(|state| saw_poison = state.is_poisoned());
    assert!(saw_poison);
    assert!(once.is_completed());
    once.call_once(|| unreachable!());
    once.wait();
}

#[test]
fn waiters_park_until_the_running_call_ends() {
    let once = Arc::new(Once::new());
    let started = Arc::new(Event::new());
    let finish = Arc::new(Event::new());
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let runner = {
        let (once, started, finish, order) = (once.clone(), started.clone(), finish.clone(), order.clone());
        verde::spawn(move || {
            once.call_once(|| {
                started.set();
                finish.wait(None);
                order.lock().unwrap().push("init");
            })
        })
    };
    started.wait(None);
    let waiters: Vec<_> = ["call_once", "wait", "wait_force"]
        .into_iter()
        .map(|how| {
            let (once, order) = (once.clone(), order.clone());
            verde::spawn(move || {
                match how {
                    "call_once" => once.call_once(|| unreachable!()),
                    "wait" => once.wait(),
                    _ => once.wait_force(),
                }
                order.lock().unwrap().push(how);
            })
        })
        .collect();
    verde::yield_now();
    assert!(order.lock().unwrap().is_empty());
    finish.set();
    runner.join().unwrap();
    verde::joinall(waiters).into_iter().for_each(|r| r.unwrap());
    let order = order.lock().unwrap();
    assert_eq!(order[0], "init");
    assert_eq!(order.len(), 4);
}

#[test]
fn a_waiter_sees_the_poisoning_and_a_forced_one_runs_next() {
    let once = Arc::new(Once::new());
    let started = Arc::new(Event::new());
    let fail = Arc::new(Event::new());
    let runner = {
        let (once, started, fail) = (once.clone(), started.clone(), fail.clone());
        verde::spawn(move || {
            once.call_once(|| {
                started.set();
                fail.wait(None);
                panic!("init failed");
            })
        })
    };
    started.wait(None);
    let plain = {
        let once = once.clone();
        verde::spawn(move || once.call_once(|| {}))
    };
    let forced = {
        let once = once.clone();
        verde::spawn(move || {
            let mut poisoned = false;
            once.call_once_force(|s| poisoned = s.is_poisoned());
            poisoned
        })
    };
    verde::yield_now();
    fail.set();
    assert!(runner.join().is_err());
    assert!(plain.join().is_err(), "a waiting call_once panics when the call it waited for poisons");
    assert!(forced.join().unwrap(), "call_once_force runs, and is told about the poisoning");
    assert!(once.is_completed());
}

#[test]
fn killing_the_initializer_leaves_a_once_lock_empty_for_the_next_caller() {
    let cell = Arc::new(OnceLock::new());
    let never = Arc::new(Event::new());
    let victim = {
        let (cell, never) = (cell.clone(), never.clone());
        verde::spawn(move || {
            cell.get_or_init(|| {
                never.wait(None);
                1
            });
        })
    };
    verde::yield_now();
    let next = {
        let cell = cell.clone();
        verde::spawn(move || *cell.get_or_init(|| 2))
    };
    verde::yield_now();
    victim.kill();
    assert_eq!(next.join().unwrap(), 2);
    assert_eq!(cell.get(), Some(&2));
}

#[test]
fn once_lock_follows_std() {
    let cell = OnceLock::new();
    assert_eq!(cell.get(), None);
    assert_eq!(format!("{cell:?}"), format!("{:?}", std::sync::OnceLock::<u32>::new()));
    assert!(catch_unwind(AssertUnwindSafe(|| cell.get_or_init(|| panic!("no")))).is_err());
    assert_eq!(cell.get(), None, "a panicking initializer leaves the cell empty");
    assert_eq!(cell.set(5), Ok(()));
    assert_eq!(cell.set(6), Err(6));
    assert_eq!(*cell.get_or_init(|| 7), 5);
    assert_eq!(*cell.wait(), 5);
    assert_eq!(format!("{cell:?}"), "OnceLock(5)");
    assert_eq!(cell.clone(), OnceLock::from(5));
    assert_ne!(cell, OnceLock::new());
    let mut cell = cell;
    *cell.get_mut().unwrap() += 1;
    assert_eq!(cell.take(), Some(6));
    assert_eq!(cell.get(), None);
    assert_eq!(cell.into_inner(), None);
    assert_eq!(OnceLock::from("x").into_inner(), Some("x"));
    assert_eq!(OnceLock::<u8>::default(), OnceLock::new());

    let drops = Arc::new(AtomicUsize::new(0));
    drop(OnceLock::from(DropCounter(drops.clone())));
    drop(OnceLock::<DropCounter>::new());
    let taken = OnceLock::from(DropCounter(drops.clone())).into_inner();
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    drop(taken);
    assert_eq!(drops.load(Ordering::SeqCst), 2);
}

#[test]
fn once_lock_wait_parks_until_another_coroutine_sets_it() {
    let cell = Arc::new(OnceLock::new());
    let reader = {
        let cell = cell.clone();
        verde::spawn(move || *cell.wait())
    };
    verde::yield_now();
    assert!(!reader.is_finished());
    cell.set("ready").unwrap();
    assert_eq!(reader.join().unwrap(), "ready");
}

#[test]
fn lazy_lock_follows_std() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    static LAZY: LazyLock<Vec<u32>> = LazyLock::new(|| {
        RUNS.fetch_add(1, Ordering::SeqCst);
        verde::yield_now();
        vec![1, 2, 3]
    });
    let hs: Vec<_> = (0..10).map(|_| verde::spawn(|| LAZY.len())).collect();
    for h in hs {
        assert_eq!(h.join().unwrap(), 3);
    }
    assert_eq!(RUNS.load(Ordering::SeqCst), 1);
    assert_eq!(LazyLock::get(&LAZY), Some(&vec![1, 2, 3]));

    let mut lazy = LazyLock::new(|| 10);
    assert_eq!(format!("{lazy:?}"), "LazyLock(<uninit>)");
    assert_eq!(LazyLock::get(&lazy), None);
    *lazy += 1;
    assert_eq!(*LazyLock::force(&lazy), 11);
    assert_eq!(LazyLock::get_mut(&mut lazy), Some(&mut 11));
    assert_eq!(format!("{lazy:?}"), "LazyLock(11)");
    assert_eq!(*LazyLock::<String>::default(), "");

    let poisoned: LazyLock<u32> = LazyLock::new(|| panic!("init failed"));
    assert!(catch_unwind(AssertUnwindSafe(|| *poisoned)).is_err());
    let err = catch_unwind(AssertUnwindSafe(|| *poisoned)).unwrap_err();
    assert_eq!(err.downcast_ref::<&str>().copied(), Some("LazyLock instance has previously been poisoned"),);

    // The initializer is dropped if never run, the value if computed.
    let drops = Arc::new(AtomicUsize::new(0));
    let unused = {
        let d = DropCounter(drops.clone());
        LazyLock::new(move || d.0.load(Ordering::SeqCst))
    };
    drop(unused);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    let used = {
        let d = drops.clone();
        LazyLock::new(move || DropCounter(d))
    };
    LazyLock::force(&used);
    drop(used);
    assert_eq!(drops.load(Ordering::SeqCst), 2);
}

#[test]
fn auto_traits_match_std() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Once>();
    send_sync::<OnceLock<Vec<u8>>>();
    send::<OnceLock<std::cell::Cell<u8>>>();
    send_sync::<LazyLock<Vec<u8>>>();
    send::<LazyLock<std::cell::Cell<u8>>>();
    fn unwind_safe<T: std::panic::UnwindSafe + std::panic::RefUnwindSafe>() {}
    unwind_safe::<Once>();
    unwind_safe::<OnceLock<u8>>();
    unwind_safe::<LazyLock<u8>>();
    assert_eq!(format!("{:?}", Once::new()), format!("{:?}", std::sync::Once::new()));
}
