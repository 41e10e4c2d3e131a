//! gevent.pool: ports of test__pool.py's behaviours (pool sizes 1, 2, 10
//! and unbounded, waiting spawns, reentrant spawns, map/imap order,
//! imap_unordered, errors re-raised, join with timeout, kill), plus a pool
//! shared across hubs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use verde_runtime as verde;
use verde_runtime::pool::{Group, Pool, PoolFull};

mod common;
use common::DropCounter;

/// Spawns `n` jobs through `spawn` and returns the most that ran at once.
fn peak_concurrency(n: usize, spawn: impl Fn(Box<dyn FnOnce() + Send>) -> verde::JoinHandle<()>) -> usize {
    let inside = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..n)
        .map(|_| {
            let (inside, most) = (inside.clone(), most.clone());
            spawn(Box::new(move || {
                let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                verde::sleep(Duration::from_millis(2));
                inside.fetch_sub(1, Ordering::SeqCst);
            }))
        })
        .collect();
    verde::joinall(hs).into_iter().for_each(|r| r.unwrap());
    most.load(Ordering::SeqCst)
}

#[test]
fn pool_sizes_1_2_10_limit_concurrency() {
    for size in [1, 2, 10] {
        let pool = Pool::new(size);
        assert_eq!(pool.size(), size);
        assert_eq!(peak_concurrency(30, |f| pool.spawn(f)), size, "pool of {size}");
        pool.join();
        assert!(pool.is_empty());
        assert_eq!(pool.free_count(), size);
    }
}

#[test]
fn an_unbounded_group_runs_everything_at_once() {
    let group = Group::new();
    assert_eq!(peak_concurrency(30, |f| group.spawn(f)), 30);
    assert!(group.is_empty());
}

#[test]
fn spawn_waits_for_a_free_slot() {
    let pool = Pool::new(1);
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    pool.spawn(move || {
        verde::sleep(Duration::from_millis(10));
        l.lock().unwrap().push("first done");
    });
    assert!(pool.full());
    let l = log.clone();
    let second = pool.spawn(move || l.lock().unwrap().push("second runs"));
    // spawn returned only once the first member freed its slot.
    assert_eq!(*log.lock().unwrap(), ["first done"]);
    second.join().unwrap();
    assert_eq!(*log.lock().unwrap(), ["first done", "second runs"]);
}

#[test]
fn waiting_spawners_get_slots_in_fifo_order() {
    let pool = Pool::new(1);
    let order = Arc::new(Mutex::new(Vec::new()));
    pool.spawn(|| verde::sleep(Duration::from_millis(5)));
    let spawners: Vec<_> = (0..4)
        .map(|i| {
            let (pool, order) = (pool.clone(), order.clone());
            verde::spawn(move || pool.spawn(move || order.lock().unwrap().push(i)).join().unwrap())
        })
        .collect();
    verde::joinall(spawners).into_iter().for_each(|r| r.unwrap());
    assert_eq!(*order.lock().unwrap(), [0, 1, 2, 3]);
}

#[test]
fn try_spawn_fails_when_full() {
    let pool = Pool::new(2);
    let a = pool.try_spawn(|| verde::sleep(Duration::from_millis(5))).unwrap();
    let _b = pool.try_spawn(|| verde::sleep(Duration::from_millis(5))).unwrap();
    assert_eq!(pool.free_count(), 0);
    assert_eq!(pool.try_spawn(|| ()).unwrap_err(), PoolFull);
    a.join().unwrap();
    assert!(pool.try_spawn(|| ()).is_ok());
    pool.join();
}

#[test]
fn len_counts_members_until_they_finish() {
    let group = Group::new();
    let release = Arc::new(verde::event::Event::new());
    let hs: Vec<_> = (0..3)
        .map(|_| {
            let r = release.clone();
            group.spawn(move || {
                r.wait(None);
            })
        })
        .collect();
    assert_eq!(group.len(), 3);
    release.set();
    verde::joinall(hs);
    assert_eq!(group.len(), 0);
}

#[test]
fn a_member_can_spawn_into_its_own_pool() {
    let pool = Pool::new(2);
    let p = pool.clone();
    let outer = pool.spawn(move || p.spawn(|| 5).join().unwrap() + 1);
    assert_eq!(outer.join().unwrap(), 6);
    pool.join();
}

#[test]
fn a_panicking_member_frees_its_slot_and_join_returns_the_panic() {
    let pool = Pool::new(1);
    let h = pool.spawn(|| panic!("member failed"));
    assert!(h.join().is_err());
    assert_eq!(pool.free_count(), 1);
    assert!(pool.is_empty());
}

#[test]
fn map_and_imap_return_results_in_item_order() {
    for size in [1, 2, 10] {
        let pool = Pool::new(size);
        let delays: Vec<u64> = vec![9, 1, 5, 3, 7, 2];
        let slept = |ms: u64| {
            verde::sleep(Duration::from_millis(ms));
            ms * 10
        };
        assert_eq!(pool.map(slept, delays.clone()), delays.iter().map(|d| d * 10).collect::<Vec<_>>());
        let got: Vec<u64> = pool.imap(slept, delays.clone()).collect();
        assert_eq!(got, delays.iter().map(|d| d * 10).collect::<Vec<_>>());
    }
    let group = Group::new();
    assert_eq!(group.map(|x: i32| x + 1, 0..100), (1..101).collect::<Vec<_>>());
}

#[test]
fn imap_unordered_yields_in_finishing_order() {
    let pool = Pool::new(3);
    let got: Vec<u64> = pool
        .imap_unordered(
            |ms: u64| {
                verde::sleep(Duration::from_millis(ms * 20));
                ms
            },
            [3, 1, 2],
        )
        .collect();
    assert_eq!(got, [1, 2, 3]);
    let mut all: Vec<i32> = Group::new().imap_unordered(|x: i32| x * 2, 0..50).collect();
    all.sort_unstable();
    assert_eq!(all, (0..50).map(|x| x * 2).collect::<Vec<_>>());
}

#[test]
fn imap_reraises_a_member_panic() {
    let pool = Pool::new(2);
    let h = verde::spawn(move || {
        pool.imap(|x: i32| if x == 3 { panic!("item 3 failed") } else { x }, 0..6).collect::<Vec<_>>()
    });
    let err = h.join().unwrap_err();
    assert_eq!(verde::describe_payload(&*err), "item 3 failed");
    let h = verde::spawn(|| {
        Group::new().imap_unordered(|x: i32| if x == 1 { panic!("unordered failed") } else { x }, 0..3).count()
    });
    assert_eq!(verde::describe_payload(&*h.join().unwrap_err()), "unordered failed");
}

#[test]
fn dropping_an_imap_early_stops_handing_out_items() {
    let pool = Pool::new(1);
    let started = Arc::new(AtomicUsize::new(0));
    let s = started.clone();
    let mut it = pool.imap(
        move |x: u32| {
            s.fetch_add(1, Ordering::SeqCst);
            x
        },
        0..1000,
    );
    assert_eq!(it.next(), Some(0));
    drop(it);
    pool.join();
    assert!(started.load(Ordering::SeqCst) < 1000);
}

#[test]
fn join_with_timeout() {
    let group = Group::new();
    group.spawn(|| verde::sleep(Duration::from_millis(30)));
    assert!(!group.join_timeout(Duration::from_millis(1)));
    assert!(group.join_timeout(Duration::from_secs(30)));
    assert!(Pool::new(1).join_timeout(Duration::ZERO));
}

#[test]
fn kill_kills_running_and_unstarted_members() {
    let pool = Pool::new(2);
    let dropped = Arc::new(AtomicUsize::new(0));
    let ran = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..2)
        .map(|_| {
            let (c, r) = (DropCounter(dropped.clone()), ran.clone());
            pool.spawn(move || {
                let _c = c;
                r.fetch_add(1, Ordering::SeqCst);
                verde::sleep(Duration::from_secs(3600));
            })
        })
        .collect();
    // Not yet started: both are queued on the hub.
    pool.kill();
    assert!(pool.is_empty());
    assert_eq!(pool.free_count(), 2);
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    assert_eq!(dropped.load(Ordering::SeqCst), 2, "unstarted members drop their closures");
    for h in hs {
        assert!(h.join().unwrap_err().is::<verde::Killed>());
    }
    let d = dropped.clone();
    pool.spawn(move || {
        let _c = DropCounter(d);
        verde::sleep(Duration::from_secs(3600));
    });
    verde::yield_now();
    pool.kill();
    assert_eq!(dropped.load(Ordering::SeqCst), 3);
    assert!(pool.is_empty());
}

#[test]
fn a_member_killing_its_group_dies_last() {
    let group = Group::new();
    let others_dead = Arc::new(AtomicUsize::new(0));
    for _ in 0..3 {
        let d = others_dead.clone();
        group.spawn(move || {
            let _c = DropCounter(d);
            verde::sleep(Duration::from_secs(3600));
        });
    }
    let (g, d) = (group.clone(), others_dead.clone());
    let killer = group.spawn(move || {
        verde::yield_now();
        g.kill();
        unreachable!("killed itself, seeing {} dead", d.load(Ordering::SeqCst));
    });
    assert!(killer.join().unwrap_err().is::<verde::Killed>());
    assert_eq!(others_dead.load(Ordering::SeqCst), 3);
    assert!(group.is_empty());
}

#[test]
fn a_pool_shared_by_two_hubs_and_a_thread() {
    let rt = verde::Runtime::builder().workers(2).build().unwrap();
    let pool = Pool::new(4);
    let inside = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let job = {
        let (inside, most, done) = (inside.clone(), most.clone(), done.clone());
        move || {
            let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            verde::yield_now();
            inside.fetch_sub(1, Ordering::SeqCst);
            done.fetch_add(1, Ordering::SeqCst);
        }
    };
    let spawners: Vec<_> = (0..4)
        .map(|_| {
            let (pool, job) = (pool.clone(), job.clone());
            rt.spawn(move || {
                for _ in 0..100 {
                    pool.spawn(job.clone());
                }
            })
        })
        .collect();
    let (p, j) = (pool.clone(), job.clone());
    let thread = std::thread::spawn(move || {
        for _ in 0..100 {
            p.spawn(j.clone());
        }
        p.join();
    });
    spawners.into_iter().for_each(|h| h.join().unwrap());
    thread.join().unwrap();
    pool.join();
    assert_eq!(done.load(Ordering::SeqCst), 500);
    assert!(most.load(Ordering::SeqCst) <= 4);
    assert_eq!(pool.free_count(), 4);
}

/// Runs `f`, returning the message of the panic it raised.
fn panic_message<R>(f: impl FnOnce() -> R) -> String {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(_) => panic!("expected a panic"),
        Err(payload) => verde::describe_payload(&*payload),
    }
}

#[test]
fn apply_returns_the_result_and_reraises_a_panic() {
    // test_apply, test_apply_raises.
    let pool = Pool::new(2);
    assert_eq!(pool.apply(|| "return value"), "return value");
    assert_eq!(panic_message(|| pool.apply(|| -> () { panic!("ExpectedException") })), "ExpectedException");
    assert_eq!(pool.free_count(), 2);
    assert_eq!(Group::new().apply(|| 7), 7);
}

#[test]
fn apply_is_reentrant_in_a_full_pool() {
    // test_reentrant: a member of a pool of 1 applies into its own pool.
    let pool = Pool::new(1);
    let p = pool.clone();
    assert_eq!(pool.apply(move || p.apply(|| 5) + 1), 6);
    assert!(pool.is_empty());
    // A coroutine that is not a member still waits for a slot.
    let p = pool.clone();
    let order = Arc::new(Mutex::new(Vec::new()));
    let o = order.clone();
    let busy = pool.spawn(move || {
        verde::yield_now();
        o.lock().unwrap().push("member");
    });
    let o = order.clone();
    let outsider = verde::spawn(move || p.apply(move || o.lock().unwrap().push("outsider")));
    outsider.join().unwrap();
    busy.join().unwrap();
    assert_eq!(*order.lock().unwrap(), ["member", "outsider"]);
}

#[test]
fn apply_async_never_parks_the_caller() {
    // test_execute_async: once the pool is exhausted, apply_async still
    // returns at once; the work runs when slots free up.
    let pool = Pool::new(2);
    let r = Arc::new(Mutex::new(Vec::new()));
    let gate = Arc::new(verde::event::Event::new());
    let hs: Vec<_> = (1..=4)
        .map(|i| {
            let (r, gate) = (r.clone(), gate.clone());
            pool.apply_async(move || {
                gate.wait(None);
                r.lock().unwrap().push(i);
                i
            })
        })
        .collect();
    assert_eq!(pool.free_count(), 0);
    assert!(r.lock().unwrap().is_empty());
    gate.set();
    let results: Vec<i32> = verde::joinall(hs).into_iter().map(Result::unwrap).collect();
    assert_eq!(results, [1, 2, 3, 4]);
    let mut ran = r.lock().unwrap().clone();
    ran.sort_unstable();
    assert_eq!(ran, [1, 2, 3, 4]);
    pool.join();
    assert_eq!(pool.free_count(), 2);
    // A panic reaches the handle, through the helper too.
    let blocker = pool.spawn(verde::yield_now);
    let _other = pool.spawn(verde::yield_now);
    let h = pool.apply_async(|| -> () { panic!("async failed") });
    assert_eq!(verde::describe_payload(&*h.join().unwrap_err()), "async failed");
    blocker.join().unwrap();
}

#[test]
fn multiple_coros_interleave() {
    // test_multiple_coros.
    let pool = Pool::new(2);
    let evt = Arc::new(verde::event::Event::new());
    let results = Arc::new(Mutex::new(Vec::new()));
    let (e, r) = (evt.clone(), results.clone());
    let done = pool.spawn(move || {
        r.lock().unwrap().push("cons1");
        e.wait(None);
        r.lock().unwrap().push("cons2");
    });
    let (e, r) = (evt.clone(), results.clone());
    pool.apply_async(move || {
        verde::sleep(Duration::from_millis(1));
        r.lock().unwrap().push("prod");
        e.set();
    });
    done.join().unwrap();
    assert_eq!(*results.lock().unwrap(), ["cons1", "prod", "cons2"]);
}

#[test]
fn a_pool_of_size_zero_is_always_full() {
    // TestPool0.test_wait_full.
    let pool = Pool::new(0);
    assert_eq!(pool.size(), 0);
    assert_eq!(pool.free_count(), 0);
    assert!(pool.full());
    assert_eq!(pool.wait_available(Some(Duration::from_millis(10))), 0);
    assert_eq!(pool.try_spawn(|| ()).unwrap_err(), PoolFull);
    assert!(pool.join_timeout(Duration::ZERO));
}

#[test]
fn wait_available_waits_for_a_slot_without_taking_it() {
    let pool = Pool::new(1);
    assert_eq!(pool.wait_available(None), 1);
    let gate = Arc::new(verde::event::Event::new());
    let g = gate.clone();
    pool.spawn(move || {
        g.wait(None);
    });
    assert_eq!(pool.wait_available(Some(Duration::from_millis(5))), 0);
    let p = pool.clone();
    let waiter = verde::spawn(move || p.wait_available(None));
    verde::yield_now();
    gate.set();
    assert_eq!(waiter.join().unwrap(), 1);
    assert_eq!(pool.free_count(), 1);
    assert!(pool.try_spawn(|| ()).is_ok());
    pool.join();
}

#[test]
fn map_with_a_panicking_function_reraises_and_the_pool_recovers() {
    // TestErrorInHandler.test_map: 1/x over [1, 0, 2].
    let pool = Pool::new(3);
    let finished = Arc::new(AtomicUsize::new(0));
    let f = finished.clone();
    let msg = panic_message(|| {
        pool.map(
            move |x: u32| {
                verde::yield_now();
                assert!(x != 0, "ZeroDivisionError");
                f.fetch_add(1, Ordering::SeqCst);
                1.0 / f64::from(x)
            },
            [1, 0, 2],
        )
    });
    assert_eq!(msg, "ZeroDivisionError");
    // The other members are not killed: they finish, and free their slots.
    pool.join();
    assert_eq!(finished.load(Ordering::SeqCst), 2);
    assert_eq!(pool.free_count(), 3);
    assert_eq!(pool.map(|x: u32| x, [4, 5]), [4, 5]);
}

#[test]
fn imap_goes_on_after_a_failed_item() {
    // TestErrorInHandler.test_imap and test_imap_unordered, pool of 1.
    let pool = Pool::new(1);
    let divide = |x: u32| {
        assert!(x != 0, "ZeroDivisionError");
        1.0 / f64::from(x)
    };
    let mut it = pool.imap(divide, [1, 0, 2]);
    assert_eq!(it.next(), Some(1.0));
    assert_eq!(panic_message(|| it.next()), "ZeroDivisionError");
    assert_eq!(it.next(), Some(0.5));
    assert_eq!(it.next(), None);
    let mut it = pool.imap_unordered(divide, [1, 0, 2]);
    assert_eq!(it.next(), Some(1.0));
    assert_eq!(panic_message(|| it.next()), "ZeroDivisionError");
    assert_eq!(it.next(), Some(0.5));
    assert_eq!(it.next(), None);
}

/// gevent's `error_iter`: yields 1 and 2, then fails.
fn error_iter() -> impl Iterator<Item = u32> + Send {
    let mut n = 0;
    std::iter::from_fn(move || {
        n += 1;
        assert!(n <= 2, "ExpectedException");
        Some(n)
    })
}

#[test]
fn a_panic_in_the_items_iterator_is_reraised() {
    // TestErrorInIterator.
    let pool = Pool::new(3);
    assert_eq!(panic_message(|| pool.map(|x: u32| x, error_iter())), "ExpectedException");
    assert_eq!(panic_message(|| pool.imap_unordered(|x: u32| x, error_iter()).count()), "ExpectedException");
    let mut it = pool.imap(|x: u32| x, error_iter());
    assert_eq!((it.next(), it.next()), (Some(1), Some(2)));
    assert_eq!(panic_message(|| it.next()), "ExpectedException");
    pool.join();
    assert_eq!(pool.free_count(), 3);
}

#[test]
fn empty_map_imap_and_imap_unordered() {
    let pool = Pool::new(2);
    assert!(pool.map(|x: u32| x, []).is_empty());
    assert_eq!(pool.imap(|x: u32| x, []).count(), 0);
    assert_eq!(pool.imap_unordered(|x: u32| x, []).count(), 0);
}

#[test]
fn imap_over_an_iterator_that_blocks() {
    // test_imap_no_stop, test_imap_final_sleep: the items come from a queue
    // filled later, and the iterator blocks before it ends.
    for unordered in [false, true] {
        let pool = Pool::new(2);
        let q = Arc::new(verde::queue::Queue::new());
        q.put(Some(123));
        let q2 = q.clone();
        let filler = verde::spawn(move || {
            verde::yield_now();
            q2.put(Some(456));
            verde::sleep(Duration::from_millis(1));
            q2.put(None);
        });
        let items = std::iter::from_fn(move || q.get());
        let mut got: Vec<i32> =
            if unordered { pool.imap_unordered(|x| x, items).collect() } else { pool.imap(|x| x, items).collect() };
        got.sort_unstable();
        assert_eq!(got, [123, 456]);
        filler.join().unwrap();
    }
}

#[test]
fn imap_unordered_with_a_pool_of_one_keeps_item_order() {
    // test_imap_unordered_sleep: with one slot, completion order is item
    // order whatever the delays.
    let pool = Pool::new(1);
    let got: Vec<u64> = pool
        .imap_unordered(
            |ms: u64| {
                verde::sleep(Duration::from_millis(ms));
                ms
            },
            [10, 1, 2],
        )
        .collect();
    assert_eq!(got, [10, 1, 2]);
}

/// Gives every ready coroutine on this hub turns until the ones that can
/// make progress have.
fn settle() {
    for _ in 0..20 {
        verde::yield_now();
    }
}

#[test]
fn imap_with_maxsize_keeps_the_feeder_at_most_maxsize_ahead() {
    // gevent's imap(..., maxsize=n): the feeder blocks once n items are
    // handed out ahead of the results taken.
    for unordered in [false, true] {
        let started = Arc::new(AtomicUsize::new(0));
        let s = started.clone();
        let f = move |x: usize| {
            s.fetch_add(1, Ordering::SeqCst);
            x
        };
        let group = Group::new();
        let mut results: Box<dyn Iterator<Item = usize>> = if unordered {
            Box::new(group.imap_unordered_with_maxsize(f, 0..10, 3))
        } else {
            Box::new(group.imap_with_maxsize(f, 0..10, 3))
        };
        settle();
        assert_eq!(started.load(Ordering::SeqCst), 3);
        let mut got = Vec::new();
        for taken in 1..=10 {
            got.push(results.next().unwrap());
            settle();
            assert_eq!(started.load(Ordering::SeqCst), (3 + taken).min(10), "after {taken} results");
        }
        assert!(results.next().is_none());
        got.sort_unstable();
        assert_eq!(got, (0..10).collect::<Vec<_>>());
    }
    // Without a bound, the feeder hands out everything at once.
    let started = Arc::new(AtomicUsize::new(0));
    let s = started.clone();
    let results = Group::new().imap(
        move |x: usize| {
            s.fetch_add(1, Ordering::SeqCst);
            x
        },
        0..10,
    );
    settle();
    assert_eq!(started.load(Ordering::SeqCst), 10);
    assert_eq!(results.count(), 10);
}

#[test]
fn imap_with_maxsize_in_a_pool_still_returns_every_result_in_order() {
    let pool = Pool::new(2);
    let got: Vec<u64> = pool.imap_with_maxsize(|x: u64| x * x, 1..=6, 1).collect();
    assert_eq!(got, [1, 4, 9, 16, 25, 36]);
    // Dropping it early stops the feeder, blocked or not.
    let mut partial = pool.imap_unordered_with_maxsize(|x: u64| x, 0..100, 2);
    assert!(partial.next().is_some());
    drop(partial);
    pool.join();
}

#[test]
#[should_panic(expected = "maxsize > 0")]
fn imap_with_maxsize_zero_is_rejected() {
    let _ = Group::new().imap_with_maxsize(|x: u32| x, 0..3, 0);
}

/// Sleeps while it is dropped: a member that takes its time to die.
struct SlowToDie(Duration, Arc<AtomicUsize>);

impl Drop for SlowToDie {
    fn drop(&mut self) {
        verde::sleep(self.0);
        self.1.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn kill_timeout_gives_up_on_members_slow_to_die_and_join_waits_for_them() {
    let group = Group::new();
    let died = Arc::new(AtomicUsize::new(0));
    let d = died.clone();
    let slow = group.spawn(move || {
        let _slow = SlowToDie(Duration::from_millis(300), d);
        verde::sleep(Duration::from_secs(3600));
    });
    let quick = group.spawn(|| verde::sleep(Duration::from_secs(3600)));
    verde::yield_now();
    assert!(!group.kill_timeout(Duration::from_millis(20)), "the slow member is still dying");
    assert_eq!(died.load(Ordering::SeqCst), 0);
    assert!(group.contains(&slow), "a dying member stays a member");
    group.join();
    assert_eq!(died.load(Ordering::SeqCst), 1);
    assert!(slow.join().unwrap_err().is::<verde::Killed>());
    assert!(quick.join().unwrap_err().is::<verde::Killed>());

    let pool = Pool::new(2);
    pool.spawn(|| verde::sleep(Duration::from_secs(3600)));
    assert!(pool.kill_timeout(Duration::from_secs(30)), "a member with nothing to clean up dies in time");
    assert!(pool.is_empty());
}

#[test]
fn kill_nowait_returns_at_once_and_join_then_waits_for_every_member() {
    let pool = Pool::new(3);
    let drops = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let guard = DropCounter(drops.clone());
            pool.spawn(move || {
                let _guard = guard;
                verde::sleep(Duration::from_secs(3600));
            })
        })
        .collect();
    verde::yield_now();
    pool.kill_nowait();
    assert_eq!(drops.load(Ordering::SeqCst), 0, "nobody ran yet: kill_nowait did not wait");
    pool.join();
    assert_eq!(drops.load(Ordering::SeqCst), 3);
    for h in handles {
        assert!(h.join().unwrap_err().is::<verde::Killed>());
    }
}

#[test]
fn coroutines_lists_spawned_and_added_members() {
    let group = Group::new();
    let spawned = group.spawn(|| verde::sleep(Duration::from_secs(3600)));
    let outsider =
        verde::Builder::new().name("outsider".to_string()).spawn(|| verde::sleep(Duration::from_secs(3600))).unwrap();
    assert!(group.add(&outsider));
    let mut ids: Vec<_> = group.coroutines().iter().map(|c| c.id()).collect();
    ids.sort();
    let mut expected = vec![spawned.coroutine().id(), outsider.coroutine().id()];
    expected.sort();
    assert_eq!(ids, expected);
    assert!(group.coroutines().iter().any(|c| c.name() == Some("outsider")));
    group.kill();
    assert!(group.coroutines().is_empty());
    drop((spawned, outsider));
}

/// A stack far larger than any address space: no coroutine gets one.
const IMPOSSIBLE_STACK: usize = 1 << 50;

#[test]
fn spawn_with_names_members_and_a_failed_spawn_leaves_the_set_as_it_was() {
    let group = Group::new();
    let named =
        group.spawn_with(verde::Builder::new().name("member".into()), || verde::current().name().map(String::from));
    assert_eq!(named.unwrap().join().unwrap().as_deref(), Some("member"));

    let dropped = Arc::new(AtomicUsize::new(0));
    let token = DropCounter(dropped.clone());
    let failed = group.spawn_with(verde::Builder::new().stack_size(IMPOSSIBLE_STACK), move || drop(token));
    let err = failed.expect_err("no coroutine gets an impossible stack");
    assert_eq!(err.kind(), std::io::ErrorKind::OutOfMemory, "{err}");
    assert_eq!(dropped.load(Ordering::SeqCst), 1, "the closure was dropped");
    assert!(group.is_empty());
    assert!(group.join_timeout(Duration::from_secs(10)));

    // A pool's slot taken for a failed spawn is free again.
    let pool = Pool::new(1);
    assert!(pool.spawn_with(verde::Builder::new().stack_size(IMPOSSIBLE_STACK), || ()).is_err());
    assert_eq!(pool.free_count(), 1);
    let ran = pool.try_spawn(|| 7).expect("the slot is free");
    assert_eq!(ran.join().unwrap(), 7);
}
