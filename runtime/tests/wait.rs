//! gevent's `iwait` and `wait` (test__iwait.py and test__wait's cases):
//! finishing order, already finished coroutines, timeouts, counts, other
//! hubs, an iterator dropped early, and events, async results and
//! semaphores, alone and mixed with coroutines.

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use verde_runtime::event::{AsyncResult, Event};
use verde_runtime::lock::{BoundedSemaphore, Semaphore};
use verde_runtime::sync::mpsc;
use verde_runtime::{iwait, spawn, wait, JoinHandle, Runtime, Waitable};

/// `n` coroutines, each finishing when its own sender is used.
fn gated(n: usize) -> (Vec<mpsc::Sender<()>>, Vec<JoinHandle<usize>>) {
    (0..n)
        .map(|i| {
            let (go, gate) = mpsc::channel::<()>();
            (go, spawn(move || gate.recv().map(|()| i).unwrap_or(usize::MAX)))
        })
        .unzip()
}

#[test]
fn iwait_yields_in_finishing_order() {
    let (gates, handles) = gated(4);
    let mut it = iwait(&handles, None);
    for i in [2, 0, 3, 1] {
        gates[i].send(()).unwrap();
        assert_eq!(it.next(), Some(i));
    }
    assert_eq!(it.next(), None);
    drop(it);
    let results: Vec<usize> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(results, [0, 1, 2, 3]);
}

#[test]
fn finished_coroutines_come_first_in_slice_order() {
    let (gates, handles) = gated(4);
    gates[3].send(()).unwrap();
    gates[1].send(()).unwrap();
    while !(handles[1].is_finished() && handles[3].is_finished()) {
        verde_runtime::yield_now();
    }
    let mut it = iwait(&handles, None);
    assert_eq!((it.next(), it.next()), (Some(1), Some(3)));
    gates[0].send(()).unwrap();
    gates[2].send(()).unwrap();
    let rest: Vec<usize> = it.collect();
    assert_eq!(rest, [0, 2]);
}

#[test]
fn the_timeout_bounds_the_whole_iteration() {
    let (gates, handles) = gated(3);
    gates[1].send(()).unwrap();
    let got: Vec<usize> = iwait(&handles, Some(Duration::from_millis(30))).collect();
    assert_eq!(got, [1], "only the released coroutine finishes in time");
    // The links of the others were removed with the iterator: finishing
    // them now goes nowhere and breaks nothing.
    gates[0].send(()).unwrap();
    gates[2].send(()).unwrap();
    let results: Vec<usize> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(results, [0, 1, 2]);
}

#[test]
fn wait_with_a_count_returns_that_many() {
    let (gates, handles) = gated(3);
    gates[2].send(()).unwrap();
    assert_eq!(wait(&handles, None, Some(1)), [2]);
    gates[0].send(()).unwrap();
    gates[1].send(()).unwrap();
    let mut all = wait(&handles, None, None);
    all.sort_unstable();
    assert_eq!(all, [0, 1, 2], "a second wait sees the finished one too");
}

#[test]
fn wait_on_nothing_returns_at_once() {
    let none: [JoinHandle<()>; 0] = [];
    assert!(wait(&none, None, None).is_empty());
    assert_eq!(iwait(&none, None).next(), None);
}

#[test]
fn coroutines_on_other_hubs_are_seen_finishing() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    let handles: Vec<JoinHandle<usize>> = (0..20)
        .map(|i| {
            rt.spawn(move || {
                verde_runtime::sleep(Duration::from_millis((20 - i) as u64));
                i
            })
        })
        .collect();
    let mut seen: Vec<usize> = iwait(&handles, None).collect();
    assert_eq!(seen.len(), 20);
    seen.sort_unstable();
    assert_eq!(seen, (0..20).collect::<Vec<_>>());
}

#[test]
fn from_inside_a_coroutine_too() {
    spawn(|| {
        let (gates, handles) = gated(2);
        let mut it = iwait(&handles, None);
        gates[1].send(()).unwrap();
        assert_eq!(it.next(), Some(1));
        gates[0].send(()).unwrap();
        assert_eq!(it.next(), Some(0));
    })
    .join()
    .unwrap();
}

#[test]
fn a_killed_or_panicking_coroutine_counts_as_finished() {
    let (_gates, mut handles) = gated(1);
    handles.push(spawn(|| panic!("boom")));
    handles[0].kill_nowait();
    let mut got: Vec<usize> = iwait(&handles, None).collect();
    got.sort_unstable();
    assert_eq!(got, [0, 1]);
}

#[test]
fn events_come_in_the_order_they_are_set() {
    let events: Vec<Arc<Event>> = (0..4).map(|_| Arc::new(Event::new())).collect();
    events[2].set();
    let mut it = iwait(&events, None);
    assert_eq!(it.next(), Some(2), "a set event is ready at once");
    for i in [3, 0, 1] {
        let e = events[i].clone();
        spawn(move || e.set()).join().unwrap();
        assert_eq!(it.next(), Some(i));
    }
    assert_eq!(it.next(), None);
}

#[test]
fn an_event_set_then_cleared_still_counts() {
    let events = [Event::new(), Event::new()];
    thread::scope(|s| {
        let mut it = iwait(&events, None);
        s.spawn(|| {
            events[1].set();
            events[1].clear();
        });
        assert_eq!(it.next(), Some(1));
    });
    // Only once the setter is joined: `next` may return between its `set`
    // and its `clear`.
    assert!(!events[1].is_set());
}

#[test]
fn async_results_are_ready_on_a_value_or_an_error() {
    let results: Vec<Arc<AsyncResult<u32, String>>> = (0..3).map(|_| Arc::new(AsyncResult::new())).collect();
    let mut it = iwait(&results, Some(Duration::from_secs(60)));
    let (a, b) = (results[2].clone(), results[0].clone());
    spawn(move || a.set_error("failed".into())).join().unwrap();
    assert_eq!(it.next(), Some(2));
    thread::spawn(move || b.set(7)).join().unwrap();
    assert_eq!(it.next(), Some(0));
    drop(it);
    assert_eq!(results[0].get(None), Ok(7));
    assert_eq!(wait(&results, Some(Duration::from_millis(20)), None), [0, 2], "the unset one times out");
}

#[test]
fn coroutines_events_and_results_mixed() {
    let (gates, handles) = gated(1);
    let stop = Event::new();
    let answer: AsyncResult<u32, String> = AsyncResult::new();
    let objects: [&dyn Waitable; 3] = [&handles[0], &stop, &answer];
    thread::scope(|s| {
        let mut it = iwait(&objects, None);
        s.spawn(|| answer.set(42));
        assert_eq!(it.next(), Some(2));
        gates[0].send(()).unwrap();
        assert_eq!(it.next(), Some(0));
        s.spawn(|| stop.set());
        assert_eq!(it.next(), Some(1));
        assert_eq!(it.next(), None);
    });
}

#[test]
fn the_first_of_a_coroutine_and_a_shutdown_event() {
    // gevent's `wait([server, shutdown], count=1)`.
    let shutdown = Arc::new(Event::new());
    let s = shutdown.clone();
    let server = spawn(move || s.wait(None));
    let trigger = shutdown.clone();
    let setter = thread::spawn(move || {
        thread::sleep(Duration::from_millis(5));
        trigger.set();
    });
    let either: [&dyn Waitable; 2] = [&server, &shutdown];
    let first = wait(&either, None, Some(1));
    assert_eq!(first.len(), 1);
    // Both become ready; which callback runs first is up to the setter.
    assert!(first[0] == 0 || first[0] == 1);
    setter.join().unwrap();
    assert!(server.join().unwrap());
}

#[test]
fn an_event_on_another_hub_wakes_the_iteration() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    let events: Vec<Arc<Event>> = (0..10).map(|_| Arc::new(Event::new())).collect();
    let setters: Vec<_> = events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let e = e.clone();
            rt.spawn(move || {
                verde_runtime::sleep(Duration::from_millis(i as u64));
                e.set();
            })
        })
        .collect();
    let mut seen: Vec<usize> = iwait(&events, None).collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..10).collect::<Vec<_>>());
    verde_runtime::joinall(setters);
}

#[test]
fn a_semaphore_is_ready_when_a_permit_is_free() {
    let free = Semaphore::new(1);
    let taken = Arc::new(Semaphore::new(0));
    let objects: [&dyn Waitable; 2] = [&taken, &free];
    assert_eq!(wait(&objects, None, Some(1)), [1], "a free permit is ready at once");

    // A permit handed straight to a blocked acquirer never becomes free.
    let t = taken.clone();
    let acquirer = spawn(move || t.acquire(true, None));
    verde_runtime::yield_now();
    let mut it = iwait(std::slice::from_ref(&taken), Some(Duration::from_secs(60)));
    taken.release();
    assert!(acquirer.join().unwrap());
    assert_eq!(taken.counter(), 0);
    // The next release frees one: now it is ready, and nothing was taken.
    let t = taken.clone();
    spawn(move || t.release()).join().unwrap();
    assert_eq!(it.next(), Some(0));
    assert_eq!(taken.counter(), 1);
}

#[test]
fn a_bounded_semaphore_too() {
    let sem = BoundedSemaphore::new(1);
    assert!(sem.acquire(true, None));
    thread::scope(|s| {
        let mut it = iwait(std::slice::from_ref(&sem), Some(Duration::from_secs(60)));
        s.spawn(|| sem.release());
        assert_eq!(it.next(), Some(0));
    });
    assert_eq!(wait(std::slice::from_ref(&sem), Some(Duration::from_millis(1)), None), [0]);
}
