//! gevent.queue: ports of test__queue.py's behaviours (send first/last,
//! maxsize, zero size, FIFO waiters, waiters that time out or die, peek,
//! task_done/join) plus LifoQueue, PriorityQueue, Channel, and threads.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use verde_runtime as verde;
use verde_runtime::queue::{Channel, Empty, Full, LifoQueue, PriorityQueue, Queue, ShutDown};

mod common;
use common::DropCounter;

#[test]
fn send_first() {
    let q = Queue::new();
    q.put("hi");
    assert_eq!(q.get(), "hi");
}

#[test]
fn send_last() {
    let q = Arc::new(Queue::new());
    let q2 = q.clone();
    let getter = verde::spawn(move || q2.get());
    verde::sleep(Duration::from_millis(5));
    q.put("hi2");
    assert_eq!(getter.join().unwrap(), "hi2");
}

#[test]
fn max_size() {
    let q = Arc::new(Queue::bounded(2));
    let results = Arc::new(Mutex::new(Vec::new()));
    let (q2, r) = (q.clone(), results.clone());
    let putter = verde::spawn(move || {
        for i in ["a", "b", "c"] {
            r.lock().unwrap().push(i);
            q2.put(i);
        }
        "OK"
    });
    verde::yield_now();
    verde::yield_now();
    assert_eq!(*results.lock().unwrap(), ["a", "b", "c"]);
    assert!(q.full());
    assert_eq!(q.qsize(), 2);
    assert!(!putter.is_finished(), "the third put waits for room");
    assert_eq!(q.get(), "a");
    assert_eq!(putter.join().unwrap(), "OK");
    assert_eq!([q.get(), q.get()], ["b", "c"]);
    assert!(q.empty());
    assert_eq!(q.maxsize(), Some(2));
}

#[test]
fn zero_maxsize_is_a_rendezvous() {
    // Old gevent's Queue(0), std's sync_channel(0): nothing is ever held.
    let q = Queue::<i32>::bounded(0);
    assert_eq!(q.maxsize(), Some(0));
    assert_eq!((q.qsize(), q.empty(), q.full()), (0, true, true));
    assert_eq!(q.put_nowait(1), Err(Full(1)), "no getter waits");
    assert_eq!(q.put_timeout(2, Duration::from_millis(5)), Err(Full(2)));
    assert_eq!(q.get_nowait(), Err(Empty), "the failed puts left nothing behind");
    assert_eq!(q.get_timeout(Duration::from_millis(5)), Err(Empty));
    assert_eq!(q.peek_nowait(), Err(Empty));
    assert_eq!(q.unfinished_tasks(), 0);
}

#[test]
fn zero_size_channel_put_waits_for_a_getter() {
    let ch = Arc::new(Channel::new());
    let log = Arc::new(Mutex::new(Vec::new()));
    let (c, l) = (ch.clone(), log.clone());
    let sender = verde::spawn(move || {
        c.put("hi");
        l.lock().unwrap().push("sent");
    });
    verde::sleep(Duration::from_millis(5));
    assert!(log.lock().unwrap().is_empty());
    assert_eq!(ch.balance(), 1);
    log.lock().unwrap().push("getting");
    assert_eq!(ch.get(), "hi");
    sender.join().unwrap();
    assert_eq!(*log.lock().unwrap(), ["getting", "sent"]);
    assert_eq!((ch.qsize(), ch.empty(), ch.full()), (0, true, true));
}

#[test]
fn channel_nowait_needs_a_waiting_partner() {
    let ch = Arc::new(Channel::new());
    assert_eq!(ch.put_nowait(1), Err(Full(1)));
    assert_eq!(ch.get_nowait(), Err(Empty));
    let c = ch.clone();
    let putter = verde::spawn(move || c.put(5));
    verde::yield_now();
    assert_eq!(ch.get_nowait(), Ok(5));
    putter.join().unwrap();
    let c = ch.clone();
    let getter = verde::spawn(move || c.get());
    verde::yield_now();
    assert_eq!(ch.balance(), -1);
    assert_eq!(ch.put_nowait(6), Ok(()));
    assert_eq!(getter.join().unwrap(), 6);
    assert_eq!(ch.put_timeout(7, Duration::from_millis(5)), Err(Full(7)));
    assert_eq!(ch.get_timeout(Duration::from_millis(5)), Err(Empty));
}

#[test]
fn multiple_waiters_are_served_in_fifo_order() {
    let q = Arc::new(Queue::new());
    let hs: Vec<_> = (0..5)
        .map(|_| {
            let q = q.clone();
            verde::spawn(move || q.get())
        })
        .collect();
    verde::yield_now();
    for i in 0..5 {
        q.put(i);
    }
    let got: Vec<i32> = verde::joinall(hs).into_iter().map(Result::unwrap).collect();
    assert_eq!(got, [0, 1, 2, 3, 4]);
}

#[test]
fn blocked_putters_are_served_in_fifo_order() {
    let q = Arc::new(Queue::bounded(1));
    q.put(0);
    let hs: Vec<_> = (1..5)
        .map(|i| {
            let q = q.clone();
            verde::spawn(move || q.put(i))
        })
        .collect();
    verde::yield_now();
    let got: Vec<i32> = (0..5).map(|_| q.get()).collect();
    assert_eq!(got, [0, 1, 2, 3, 4]);
    verde::joinall(hs);
}

#[test]
fn waiters_that_time_out_leave_and_the_item_goes_to_the_next() {
    let q = Arc::new(Queue::new());
    let q1 = q.clone();
    let impatient = verde::spawn(move || q1.get_timeout(Duration::from_millis(5)));
    let q2 = q.clone();
    let patient = verde::spawn(move || q2.get_timeout(Duration::from_secs(30)));
    assert_eq!(impatient.join().unwrap(), Err(Empty));
    q.put("for the patient one");
    assert_eq!(patient.join().unwrap(), Ok("for the patient one"));
}

#[test]
fn two_bogus_waiters_time_out_and_the_item_stays() {
    let q = Arc::new(Queue::new());
    let hs: Vec<_> = (0..2)
        .map(|_| {
            let q = q.clone();
            verde::spawn(move || q.get_timeout(Duration::from_millis(5)))
        })
        .collect();
    for r in verde::joinall(hs) {
        assert_eq!(r.unwrap(), Err(Empty));
    }
    q.put("sent");
    assert_eq!(q.get_nowait(), Ok("sent"));
}

#[test]
fn two_waiters_one_dies() {
    let q = Arc::new(Queue::new());
    let q1 = q.clone();
    let dies = verde::spawn(move || q1.get());
    let q2 = q.clone();
    let lives = verde::spawn(move || q2.get());
    verde::yield_now();
    dies.kill();
    q.put("hi");
    assert_eq!(lives.join().unwrap(), "hi");
}

#[test]
fn an_item_handed_to_a_getter_that_dies_goes_to_the_next_getter() {
    let q = Arc::new(Queue::new());
    let q1 = q.clone();
    let dies = verde::spawn(move || q1.get());
    let q2 = q.clone();
    let lives = verde::spawn(move || q2.get());
    verde::yield_now();
    dies.kill_nowait();
    q.put("hi");
    assert!(dies.join().is_err());
    assert_eq!(lives.join().unwrap(), "hi");
}

#[test]
fn an_item_handed_to_a_lone_getter_that_dies_goes_back_to_the_head() {
    let q = Arc::new(Queue::new());
    let q1 = q.clone();
    let dies = verde::spawn(move || q1.get());
    verde::yield_now();
    dies.kill_nowait();
    q.put(1);
    q.put(2);
    assert!(dies.join().is_err());
    assert_eq!([q.get(), q.get()], [1, 2]);
}

#[test]
fn a_putter_that_dies_drops_its_item() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let q = Arc::new(Queue::bounded(1));
    q.put(DropCounter(dropped.clone()));
    let (q1, d) = (q.clone(), dropped.clone());
    let putter = verde::spawn(move || q1.put(DropCounter(d)));
    verde::yield_now();
    putter.kill();
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    drop(q.get());
    assert!(q.empty());
    assert_eq!(q.unfinished_tasks(), 1, "only the first put was accepted");
}

#[test]
fn put_timeout_and_get_timeout() {
    let q = Queue::bounded(1);
    q.put(1);
    let start = Instant::now();
    assert_eq!(q.put_timeout(2, Duration::from_millis(10)), Err(Full(2)));
    assert!(start.elapsed() >= Duration::from_millis(10));
    assert_eq!(q.put_nowait(3).unwrap_err().into_inner(), 3);
    assert_eq!(q.get_timeout(Duration::from_millis(10)), Ok(1));
    assert_eq!(q.get_timeout(Duration::from_millis(10)), Err(Empty));
}

#[test]
fn peek_waits_for_an_item_and_leaves_it() {
    let q = Arc::new(Queue::new());
    assert_eq!(q.peek_nowait(), Err(Empty));
    assert_eq!(q.peek_timeout(Duration::from_millis(5)), Err(Empty));
    let q2 = q.clone();
    let peeker = verde::spawn(move || q2.peek());
    verde::yield_now();
    q.put(9);
    assert_eq!(peeker.join().unwrap(), 9);
    assert_eq!(q.qsize(), 1);
    assert_eq!(q.get(), 9);
}

#[test]
fn task_done_and_join() {
    let q = Arc::new(Queue::new());
    assert!(q.join_timeout(Duration::from_millis(1)));
    for i in 0..10 {
        q.put(i);
    }
    assert_eq!(q.unfinished_tasks(), 10);
    assert!(!q.join_timeout(Duration::from_millis(1)));
    let done = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let (q, done) = (q.clone(), done.clone());
            verde::spawn(move || loop {
                let job: i32 = q.get();
                verde::yield_now();
                done.fetch_add(1, Ordering::SeqCst);
                q.task_done();
                if job < 0 {
                    return;
                }
            })
        })
        .collect();
    q.join();
    assert_eq!(done.load(Ordering::SeqCst), 10);
    assert_eq!(q.unfinished_tasks(), 0);
    for _ in 0..3 {
        q.put(-1);
    }
    verde::joinall(workers);
}

#[test]
#[should_panic(expected = "task_done() called too many times")]
fn task_done_too_many_times_panics() {
    let q = Queue::new();
    q.put(());
    q.task_done();
    q.task_done();
}

#[test]
fn lifo_and_priority_orders() {
    let lifo = LifoQueue::new();
    let prio = PriorityQueue::new();
    for v in [5, 1, 4, 2, 3] {
        lifo.put(v);
        prio.put(v);
    }
    assert_eq!((0..5).map(|_| lifo.get()).collect::<Vec<_>>(), [3, 2, 4, 1, 5]);
    assert_eq!(prio.peek(), 1);
    assert_eq!((0..5).map(|_| prio.get()).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
}

#[test]
fn a_bounded_priority_queue_admits_blocked_putters_by_priority() {
    let q = Arc::new(PriorityQueue::bounded(2));
    q.put(10);
    q.put(20);
    let q2 = q.clone();
    let putter = verde::spawn(move || q2.put(1));
    verde::yield_now();
    assert_eq!(q.get(), 10);
    putter.join().unwrap();
    assert_eq!([q.get(), q.get()], [1, 20]);
}

#[test]
fn producers_and_consumers_on_two_hubs_and_a_thread() {
    let rt = verde::Runtime::builder().workers(2).build().unwrap();
    let q = Arc::new(Queue::bounded(8));
    let producers: Vec<_> = (0..4)
        .map(|p| {
            let q = q.clone();
            rt.spawn(move || (0..500).for_each(|i| q.put(p * 1000 + i)))
        })
        .collect();
    let consumers: Vec<_> = (0..3)
        .map(|_| {
            let q = q.clone();
            rt.spawn(move || (0..500).map(|_| q.get()).sum::<u64>())
        })
        .collect();
    let q2 = q.clone();
    let thread = std::thread::spawn(move || (0..500).map(|_| q2.get()).sum::<u64>());
    producers.into_iter().for_each(|h| h.join().unwrap());
    let total: u64 = consumers.into_iter().map(|h| h.join().unwrap()).sum::<u64>() + thread.join().unwrap();
    let want: u64 = (0..4u64).map(|p| (0..500).map(|i| p * 1000 + i).sum::<u64>()).sum();
    assert_eq!(total, want);
    assert!(q.empty());
}

#[test]
fn a_channel_between_a_thread_and_coroutines_on_two_hubs() {
    let rt = verde::Runtime::builder().workers(2).build().unwrap();
    let ch = Arc::new(Channel::new());
    let getters: Vec<_> = (0..2)
        .map(|w| {
            let ch = ch.clone();
            rt.spawn_on(w, move || (0..500).map(|_| ch.get()).sum::<u64>())
        })
        .collect();
    let c = ch.clone();
    let putter = std::thread::spawn(move || (1..=1000).for_each(|i| c.put(i)));
    putter.join().unwrap();
    let total: u64 = getters.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(total, 1000 * 1001 / 2);
    assert_eq!(ch.balance(), 0);
}

#[test]
fn channel_send_lets_the_waiting_getter_run_first() {
    // TestChannel.test_send: a put to a getter already waiting returns only
    // after that getter has taken the item and run on.
    let ch = Arc::new(Channel::new());
    let events = Arc::new(Mutex::new(Vec::new()));
    let (c, e) = (ch.clone(), events.clone());
    let g = verde::spawn(move || {
        let v = c.get();
        e.lock().unwrap().push(v);
        let v = c.get();
        e.lock().unwrap().push(v);
    });
    events.lock().unwrap().push("sending");
    ch.put("hello");
    events.lock().unwrap().push("sent hello");
    ch.put("world");
    events.lock().unwrap().push("sent world");
    assert_eq!(*events.lock().unwrap(), ["sending", "hello", "sent hello", "world", "sent world"]);
    g.join().unwrap();
}

#[test]
fn channel_wait_interleaves_like_gevent() {
    // TestChannel.test_wait.
    let ch = Arc::new(Channel::new());
    let events = Arc::new(Mutex::new(Vec::new()));
    let (c, e) = (ch.clone(), events.clone());
    let g = verde::spawn(move || {
        e.lock().unwrap().push("sending hello");
        c.put("hello");
        e.lock().unwrap().push("sending world");
        c.put("world");
        e.lock().unwrap().push("sent world");
    });
    events.lock().unwrap().push("waiting");
    let v = ch.get();
    events.lock().unwrap().push(v);
    let v = ch.get();
    events.lock().unwrap().push(v);
    assert_eq!(*events.lock().unwrap(), ["waiting", "sending hello", "hello", "sending world", "world"]);
    g.join().unwrap();
    assert_eq!(*events.lock().unwrap(), ["waiting", "sending hello", "hello", "sending world", "world", "sent world"]);
}

#[test]
fn a_put_that_handed_its_item_over_is_not_unwound_by_a_late_interrupt() {
    // While a channel put lets its getter run, a kill (here sent by that
    // very getter) or an expiring Timeout must not make the put look failed:
    // the item is gone. The interrupt is delivered at the next blocking call.
    let ch = Arc::new(Channel::new());
    let putter_slot: Arc<Mutex<Option<verde::JoinHandle<()>>>> = Arc::default();
    let log = Arc::new(Mutex::new(Vec::new()));
    let (c, slot, l) = (ch.clone(), putter_slot.clone(), log.clone());
    let getter = verde::spawn(move || {
        let v = c.get();
        slot.lock().unwrap().as_ref().unwrap().kill_nowait();
        l.lock().unwrap().push(v);
    });
    let (c, l) = (ch.clone(), log.clone());
    let putter = verde::spawn(move || {
        verde::yield_now(); // the getter waits first
        c.put("item");
        l.lock().unwrap().push("put returned");
        verde::yield_now(); // the kill lands here
        l.lock().unwrap().push("unreachable");
    });
    *putter_slot.lock().unwrap() = Some(putter);
    getter.join().unwrap();
    let putter = putter_slot.lock().unwrap().take().unwrap();
    assert!(putter.join().unwrap_err().is::<verde::Killed>());
    assert_eq!(*log.lock().unwrap(), ["item", "put returned"]);

    // A Timeout already due when the put hands its item over.
    let c = ch.clone();
    let getter = verde::spawn(move || c.get());
    verde::yield_now();
    let put = verde::Timeout::start(Duration::ZERO).run(|| ch.put("timed"));
    assert_eq!(put, Ok(()));
    assert_eq!(getter.join().unwrap(), "timed");
}

#[test]
fn put_nowait_and_get_nowait_simple() {
    // test_put_nowait_simple, test_get_nowait_simple.
    let q = Queue::bounded(1);
    assert_eq!(q.put_nowait(2), Ok(()));
    assert_eq!(q.put_nowait(3), Err(Full(3)));
    assert_eq!(q.get_nowait(), Ok(2));
    assert_eq!(q.get_nowait(), Err(Empty));
}

#[test]
fn put_nowait_wakes_a_waiting_getter_even_from_a_thread() {
    // test_put_nowait_unlock: an unbounded queue is never full.
    let q = Arc::new(Queue::new());
    let q2 = q.clone();
    let p = verde::spawn(move || q2.get());
    verde::yield_now();
    assert!(q.empty() && !q.full());
    let q3 = q.clone();
    std::thread::spawn(move || q3.put_nowait(10)).join().unwrap().unwrap();
    assert_eq!(p.join().unwrap(), 10);
    assert!(q.empty());
}

#[test]
fn get_nowait_admits_a_blocked_putter() {
    // test_get_nowait_unlock.
    let q = Arc::new(Queue::bounded(1));
    q.put(4);
    let q2 = q.clone();
    let p = verde::spawn(move || q2.put(5));
    verde::yield_now();
    assert!(q.full());
    assert_eq!(q.get_nowait(), Ok(4));
    // The blocked putter's item moved in; the putter is released.
    assert!(q.full());
    p.join().unwrap();
    assert_eq!(q.get_nowait(), Ok(5));
    assert!(q.empty());
}

#[test]
fn a_waiter_whose_zero_timeout_fires_leaves_nothing_behind() {
    // test_waiters_that_cancel: Timeout(0) around a get.
    let q = Arc::new(Queue::new());
    let q2 = q.clone();
    let h = verde::spawn(move || verde::Timeout::start(Duration::ZERO).run(|| q2.get()));
    assert!(h.join().unwrap().is_err());
    q.put("hi");
    assert_eq!(q.get(), "hi");
    let ch = Arc::new(Channel::<&str>::new());
    let c = ch.clone();
    let h = verde::spawn(move || verde::with_timeout(Duration::ZERO, || c.get()));
    assert!(h.join().unwrap().is_err());
    assert_eq!(ch.balance(), 0);
}

#[test]
fn join_without_puts_returns_at_once() {
    // test_issue_45.
    let q = Queue::<u8>::new();
    q.join();
    assert!(q.join_timeout(Duration::ZERO));
}

#[test]
fn task_done_counts_items_handed_straight_to_a_getter() {
    // test_task_done: the item never sat in the queue, yet it is a task.
    let q = Arc::new(Queue::new());
    let q2 = q.clone();
    let h = verde::spawn(move || q2.put("X"));
    assert_eq!(q.get(), "X");
    h.join().unwrap();
    assert_eq!(q.unfinished_tasks(), 1);
    q.task_done();
    assert_eq!(q.unfinished_tasks(), 0);
}

#[test]
fn peek_timeout_on_an_empty_queue() {
    let q = Queue::<u8>::new();
    assert_eq!(q.peek_timeout(Duration::from_millis(5)), Err(Empty));
    assert_eq!(q.peek_nowait(), Err(Empty));
}

// Queue.shutdown (gevent 24.10, Python 3.13).

/// Runs `f`, expecting it to raise `ShutDown`.
fn raises_shut_down<R>(f: impl FnOnce() -> R) -> bool {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(_) => false,
        Err(e) => e.is::<ShutDown>(),
    }
}

/// test__queue.py's `_shutdown_all_methods_in_one_thread`.
fn check_shutdown_all_methods_in_one_thread(immediate: bool) {
    let q = Queue::new();
    q.put("L");
    q.put_nowait("O").unwrap();
    assert!(!q.is_shutdown());
    if immediate {
        q.shutdown_immediate();
    } else {
        q.shutdown();
    }
    assert!(q.is_shutdown());
    assert!(raises_shut_down(|| q.put("E")));
    assert!(raises_shut_down(|| q.put_nowait("W")));
    if immediate {
        assert!(raises_shut_down(|| q.get()));
        assert!(raises_shut_down(|| q.get_nowait()));
        // Each dropped item counted as done.
        assert!(std::panic::catch_unwind(|| q.task_done()).is_err());
        q.join();
    } else {
        assert_eq!(q.get(), "L");
        q.task_done();
        assert_eq!(q.get(), "O");
        q.task_done();
        q.join();
        // Empty now: gets raise.
        assert!(raises_shut_down(|| q.get()));
        assert!(raises_shut_down(|| q.get_nowait()));
        assert!(raises_shut_down(|| q.get_timeout(Duration::from_secs(1))));
        assert!(raises_shut_down(|| q.peek()));
        assert!(raises_shut_down(|| q.peek_nowait()));
    }
}

#[test]
fn shutdown_all_methods_in_one_thread() {
    check_shutdown_all_methods_in_one_thread(false);
}

#[test]
fn shutdown_immediate_all_methods_in_one_thread() {
    check_shutdown_all_methods_in_one_thread(true);
}

#[test]
fn shutdown_wakes_blocked_getters_and_peekers_with_shut_down() {
    let q = Arc::new(Queue::<u32>::new());
    let getters: Vec<_> = (0..2)
        .map(|_| {
            let q = q.clone();
            verde::spawn_local(move || raises_shut_down(|| q.get()))
        })
        .collect();
    let q2 = q.clone();
    let peeker = verde::spawn_local(move || raises_shut_down(|| q2.peek()));
    verde::yield_now();
    q.shutdown();
    for g in getters {
        assert!(g.join().unwrap());
    }
    assert!(peeker.join().unwrap());
}

#[test]
fn shutdown_wakes_blocked_putters_with_shut_down_and_drops_their_items() {
    let drops = Arc::new(AtomicUsize::new(0));
    let q = Arc::new(Queue::bounded(1));
    q.put(DropCounter(drops.clone()));
    let putters: Vec<_> = (0..2)
        .map(|_| {
            let (q, d) = (q.clone(), drops.clone());
            verde::spawn_local(move || raises_shut_down(|| q.put(DropCounter(d))))
        })
        .collect();
    verde::yield_now();
    q.shutdown();
    for p in putters {
        assert!(p.join().unwrap());
    }
    assert_eq!(drops.load(Ordering::SeqCst), 2, "the blocked putters' items were dropped");
    // The queued item is still there; then the queue is empty for good.
    drop(q.get());
    assert_eq!(drops.load(Ordering::SeqCst), 3);
    assert!(raises_shut_down(|| q.get()));
}

#[test]
fn shutdown_immediate_drops_the_items_and_releases_join() {
    let drops = Arc::new(AtomicUsize::new(0));
    let q = Arc::new(Queue::new());
    for _ in 0..3 {
        q.put(DropCounter(drops.clone()));
    }
    let q2 = q.clone();
    let joiner = verde::spawn_local(move || q2.join());
    verde::yield_now();
    assert_eq!(q.unfinished_tasks(), 3);
    q.shutdown_immediate();
    assert_eq!(drops.load(Ordering::SeqCst), 3);
    assert_eq!((q.qsize(), q.unfinished_tasks()), (0, 0));
    joiner.join().unwrap();
}

#[test]
fn shutdown_immediate_counts_only_unfinished_tasks() {
    // Tasks already marked done are not marked again (CPython only
    // decrements while unfinished_tasks > 0).
    let q = Queue::new();
    q.put(1);
    q.put(2);
    q.task_done();
    q.task_done();
    q.shutdown_immediate();
    assert_eq!(q.unfinished_tasks(), 0);
    q.join();
}

#[test]
fn shutdown_applies_to_lifo_and_priority_queues() {
    let lifo = LifoQueue::new();
    lifo.put(1);
    lifo.put(2);
    lifo.shutdown();
    assert!(raises_shut_down(|| lifo.put(3)));
    assert_eq!((lifo.get(), lifo.get()), (2, 1));
    assert!(raises_shut_down(|| lifo.get()));

    let prio = PriorityQueue::new();
    prio.put(5);
    prio.put(1);
    prio.shutdown();
    assert!(raises_shut_down(|| prio.put_nowait(0)));
    assert_eq!(prio.peek(), 1);
    assert_eq!((prio.get(), prio.get()), (1, 5));
    assert!(raises_shut_down(|| prio.get_nowait()));

    let prio = PriorityQueue::new();
    prio.put(5);
    prio.shutdown_immediate();
    assert!(raises_shut_down(|| prio.peek_nowait()));
}

#[test]
fn an_uncaught_shut_down_ends_a_coroutine_with_it() {
    let q = Arc::new(Queue::<u32>::new());
    let q2 = q.clone();
    let consumer = verde::spawn(move || {
        let mut got = Vec::new();
        loop {
            got.push(q2.get());
            if got.len() == 10 {
                return got;
            }
        }
    });
    q.put(1);
    q.put(2);
    q.shutdown();
    assert!(consumer.join().unwrap_err().is::<ShutDown>());
    assert_eq!(verde::describe_payload(&ShutDown), "queue is shut down");
}

#[test]
fn iterating_a_queue_ends_at_shutdown_without_unwinding() {
    // Two consumers on two hubs drain a queue with `for item in &q` and
    // stop when it is shut down and empty: every item is taken once.
    let rt = verde::Runtime::builder().workers(2).build().unwrap();
    let q = Arc::new(Queue::<u32>::bounded(4));
    let consumers: Vec<_> = (0..2)
        .map(|w| {
            let q = q.clone();
            rt.spawn_on(w, move || (&*q).into_iter().collect::<Vec<u32>>())
        })
        .collect();
    for i in 0..1000 {
        q.put(i);
    }
    q.shutdown();
    let mut all: Vec<u32> = consumers.into_iter().flat_map(|c| c.join().unwrap()).collect();
    all.sort_unstable();
    assert_eq!(all, (0..1000).collect::<Vec<_>>());
    // An iterator over a queue already shut down and empty ends at once.
    assert_eq!(q.iter().next(), None);
    // LIFO and priority queues drain in their own order.
    let lifo = LifoQueue::new();
    let prio = PriorityQueue::new();
    for i in [2, 3, 1] {
        lifo.put(i);
        prio.put(i);
    }
    lifo.shutdown();
    prio.shutdown();
    assert_eq!(lifo.iter().collect::<Vec<_>>(), [1, 3, 2]);
    assert_eq!(prio.iter().collect::<Vec<_>>(), [1, 2, 3]);
}

// Queue::bounded(0): a rendezvous queue.

/// An item that counts its drops in its own slot of `drops`.
struct Tracked {
    id: usize,
    drops: Arc<Vec<AtomicUsize>>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops[self.id].fetch_add(1, Ordering::SeqCst);
    }
}

fn drop_slots(n: usize) -> Arc<Vec<AtomicUsize>> {
    Arc::new((0..n).map(|_| AtomicUsize::new(0)).collect())
}

#[test]
fn a_rendezvous_put_waits_until_a_getter_takes_the_item() {
    let q = Arc::new(Queue::bounded(0));
    let log = Arc::new(Mutex::new(Vec::new()));
    let (q2, l) = (q.clone(), log.clone());
    let putter = verde::spawn(move || {
        q2.put("hi");
        l.lock().unwrap().push("put returned");
    });
    for _ in 0..5 {
        verde::yield_now();
    }
    assert!(!putter.is_finished());
    assert!(log.lock().unwrap().is_empty());
    assert_eq!(q.qsize(), 0, "a waiting putter's item is not queued");
    log.lock().unwrap().push("getting");
    assert_eq!(q.get(), "hi");
    putter.join().unwrap();
    assert_eq!(*log.lock().unwrap(), ["getting", "put returned"]);
    assert_eq!(q.unfinished_tasks(), 1, "the item handed over is a task");
}

#[test]
fn a_rendezvous_put_to_a_waiting_getter_returns_before_the_getter_runs() {
    // As std's sync_channel(0) send, unlike a Channel put (see
    // channel_send_lets_the_waiting_getter_run_first).
    let q = Arc::new(Queue::bounded(0));
    let log = Arc::new(Mutex::new(Vec::new()));
    let (q2, l) = (q.clone(), log.clone());
    let getter = verde::spawn(move || {
        let v = q2.get();
        l.lock().unwrap().push(v);
    });
    verde::yield_now(); // the getter waits
    assert_eq!(q.put_nowait("nowait"), Ok(()));
    log.lock().unwrap().push("put returned");
    getter.join().unwrap();
    assert_eq!(*log.lock().unwrap(), ["put returned", "nowait"]);
}

#[test]
fn rendezvous_putters_and_getters_are_served_in_fifo_order() {
    let q = Arc::new(Queue::bounded(0));
    let putters: Vec<_> = (0..4)
        .map(|i| {
            let q = q.clone();
            verde::spawn(move || q.put(i))
        })
        .collect();
    verde::yield_now(); // all four wait, in order
    assert_eq!([q.get(), q.get(), q.get(), q.get()], [0, 1, 2, 3]);
    putters.into_iter().for_each(|p| p.join().unwrap());

    let getters: Vec<_> = (0..4)
        .map(|_| {
            let q = q.clone();
            verde::spawn(move || q.get())
        })
        .collect();
    verde::yield_now(); // all four wait, in order
    for i in 10..14 {
        assert_eq!(q.put_nowait(i), Ok(()), "a getter waits for each");
    }
    assert_eq!(q.put_nowait(99), Err(Full(99)), "and no more");
    let got: Vec<i32> = getters.into_iter().map(|g| g.join().unwrap()).collect();
    assert_eq!(got, [10, 11, 12, 13]);
}

#[test]
fn rendezvous_timeouts_succeed_only_with_a_partner() {
    let q = Arc::new(Queue::bounded(0));
    // put_timeout: a getter comes while the putter waits.
    let q2 = q.clone();
    let getter = verde::spawn(move || q2.get());
    assert_eq!(q.put_timeout(1, Duration::from_secs(60)), Ok(()));
    assert_eq!(getter.join().unwrap(), 1);
    // get_timeout: a putter comes while the getter waits.
    let q2 = q.clone();
    let putter = verde::spawn(move || q2.put(2));
    assert_eq!(q.get_timeout(Duration::from_secs(60)), Ok(2));
    putter.join().unwrap();
    // A putter that timed out took its item back; the next one goes through.
    let q2 = q.clone();
    let timed_out = verde::spawn(move || q2.put_timeout(3, Duration::from_millis(5)));
    assert_eq!(timed_out.join().unwrap(), Err(Full(3)));
    let q2 = q.clone();
    let putter = verde::spawn(move || q2.put(4));
    assert_eq!(q.get(), 4);
    putter.join().unwrap();
    assert_eq!(q.unfinished_tasks(), 3);
}

#[test]
fn rendezvous_peek_sees_the_oldest_waiting_putter() {
    let q = Arc::new(Queue::bounded(0));
    let q2 = q.clone();
    let peeker = verde::spawn(move || q2.peek());
    verde::yield_now(); // the peeker waits: nobody puts yet
    assert!(!peeker.is_finished());
    let putters: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|v| {
            let q = q.clone();
            verde::spawn(move || q.put(v))
        })
        .collect();
    assert_eq!(peeker.join().unwrap(), "a", "a putter that starts to wait wakes the peeker");
    assert_eq!(q.peek_nowait(), Ok("a"));
    assert_eq!(q.get(), "a", "peeking took nothing");
    assert_eq!(q.peek_nowait(), Ok("b"));
    assert_eq!(q.get(), "b");
    putters.into_iter().for_each(|p| p.join().unwrap());
    assert_eq!(q.peek_timeout(Duration::from_millis(5)), Err(Empty));
}

#[test]
fn rendezvous_lifo_and_priority_queues_keep_the_putters_order() {
    let lifo = Arc::new(LifoQueue::bounded(0));
    let prio = Arc::new(PriorityQueue::bounded(0));
    let putters: Vec<_> = [3, 1, 2]
        .into_iter()
        .flat_map(|i| {
            let (l, p) = (lifo.clone(), prio.clone());
            [verde::spawn(move || l.put(i)), verde::spawn(move || p.put(i))]
        })
        .collect();
    verde::yield_now();
    assert_eq!([lifo.get(), lifo.get(), lifo.get()], [3, 1, 2]);
    assert_eq!([prio.get(), prio.get(), prio.get()], [3, 1, 2]);
    putters.into_iter().for_each(|p| p.join().unwrap());
}

#[test]
fn a_rendezvous_between_plain_threads_and_a_coroutine() {
    let q = Arc::new(Queue::bounded(0));
    // A thread puts, blocking until the coroutine side gets: order kept.
    let q2 = q.clone();
    let producer = std::thread::spawn(move || (0..200).for_each(|i| q2.put(i)));
    let got: Vec<i32> = (0..200).map(|_| q.get()).collect();
    producer.join().unwrap();
    assert_eq!(got, (0..200).collect::<Vec<_>>());
    // A thread gets from a coroutine that puts.
    let q2 = q.clone();
    let consumer = std::thread::spawn(move || (0..200).map(|_| q2.get()).collect::<Vec<i32>>());
    let q3 = q.clone();
    verde::spawn(move || (0..200).for_each(|i| q3.put(i))).join().unwrap();
    assert_eq!(consumer.join().unwrap(), (0..200).collect::<Vec<_>>());
    // A thread's put_timeout with nobody getting gives its item back.
    let q2 = q.clone();
    let lone = std::thread::spawn(move || q2.put_timeout(7, Duration::from_millis(5)));
    assert_eq!(lone.join().unwrap(), Err(Full(7)));
    assert_eq!(q.get_nowait(), Err(Empty));
}

#[test]
fn a_rendezvous_across_hubs() {
    let rt = verde::Runtime::builder().workers(2).build().unwrap();
    let q = Arc::new(Queue::bounded(0));
    let producers: Vec<_> = (0..4u64)
        .map(|p| {
            let q = q.clone();
            rt.spawn_on(p as usize % 2, move || (0..250).for_each(|i| q.put(p * 1000 + i)))
        })
        .collect();
    let consumers: Vec<_> = (0..2)
        .map(|w| {
            let q = q.clone();
            rt.spawn_on(w, move || (0..400).map(|_| q.get()).collect::<Vec<u64>>())
        })
        .collect();
    let q2 = q.clone();
    let thread = std::thread::spawn(move || (0..200).map(|_| q2.get()).collect::<Vec<u64>>());
    producers.into_iter().for_each(|h| h.join().unwrap());
    let mut got: Vec<u64> = consumers.into_iter().flat_map(|h| h.join().unwrap()).collect();
    got.extend(thread.join().unwrap());
    got.sort_unstable();
    let mut want: Vec<u64> = (0..4u64).flat_map(|p| (0..250).map(move |i| p * 1000 + i)).collect();
    want.sort_unstable();
    assert_eq!(got, want, "every item arrived exactly once");
    assert_eq!(q.unfinished_tasks(), 1000);
    assert_eq!(q.get_nowait(), Err(Empty));
}

#[test]
fn a_killed_rendezvous_putter_drops_its_item_and_the_next_goes_through() {
    let drops = drop_slots(2);
    let q = Arc::new(Queue::bounded(0));
    let (q2, d) = (q.clone(), drops.clone());
    let killed = verde::spawn(move || q2.put(Tracked { id: 0, drops: d }));
    let (q2, d) = (q.clone(), drops.clone());
    let lives = verde::spawn(move || q2.put(Tracked { id: 1, drops: d }));
    verde::yield_now(); // both wait
    killed.kill();
    assert!(killed.join().unwrap_err().is::<verde::Killed>());
    assert_eq!(drops[0].load(Ordering::SeqCst), 1, "dropped with its putter");
    let got = q.get();
    assert_eq!(got.id, 1);
    lives.join().unwrap();
    drop(got);
    assert_eq!(drops[1].load(Ordering::SeqCst), 1);
    assert_eq!(q.get_nowait().map(|t| t.id), Err(Empty));
    assert_eq!(q.unfinished_tasks(), 1, "only the item taken counts");
}

#[test]
fn an_item_handed_to_a_killed_rendezvous_getter_goes_to_the_next_get() {
    let q = Arc::new(Queue::bounded(0));
    let q1 = q.clone();
    let dies = verde::spawn(move || q1.get());
    verde::yield_now();
    dies.kill_nowait();
    assert_eq!(q.put_nowait(1), Ok(()), "the getter still waits");
    assert!(dies.join().is_err());
    assert_eq!(q.qsize(), 1, "kept, not lost");
    assert_eq!(q.get(), 1);
    assert_eq!((q.qsize(), q.unfinished_tasks()), (0, 1));
}

#[test]
fn killing_rendezvous_putters_across_hubs_loses_and_duplicates_no_item() {
    const N: usize = 200;
    let rt = verde::Runtime::builder().workers(2).build().unwrap();
    let drops = drop_slots(N);
    let q = Arc::new(Queue::<Option<Tracked>>::bounded(0));
    let q2 = q.clone();
    let consumer = rt.spawn_on(1, move || {
        let mut ids = Vec::new();
        while let Some(item) = q2.get() {
            ids.push(item.id);
        }
        ids
    });
    let putters: Vec<_> = (0..N)
        .map(|id| {
            // Made here, so that a putter killed before it starts drops it too.
            let item = Tracked { id, drops: drops.clone() };
            let q = q.clone();
            rt.spawn_on(id % 2, move || q.put(Some(item)))
        })
        .collect();
    for p in putters.iter().step_by(2) {
        p.kill_nowait();
    }
    let put: Vec<bool> = putters.into_iter().map(|p| p.join().is_ok()).collect();
    q.put(None);
    let mut got = consumer.join().unwrap();
    for (id, &ok) in put.iter().enumerate() {
        assert!(ok || id % 2 == 0, "only the putters asked to die died");
        if ok {
            assert!(got.contains(&id), "item {id} was put but not received");
        }
    }
    let received = got.len();
    got.sort_unstable();
    got.dedup();
    assert_eq!(got.len(), received, "no item received twice");
    assert!(received >= N / 2);
    assert_eq!(q.unfinished_tasks(), received + 1, "one task per item taken, and the end marker");
    for (id, d) in drops.iter().enumerate() {
        assert_eq!(d.load(Ordering::SeqCst), 1, "item {id} dropped exactly once");
    }
}

#[test]
fn shutdown_releases_a_blocked_rendezvous_putter_with_shut_down() {
    let drops = Arc::new(AtomicUsize::new(0));
    let q = Arc::new(Queue::bounded(0));
    let (q2, d) = (q.clone(), drops.clone());
    let putter = verde::spawn(move || raises_shut_down(|| q2.put(DropCounter(d))));
    verde::yield_now();
    q.shutdown();
    assert!(putter.join().unwrap());
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    assert!(raises_shut_down(|| q.get()));
}
