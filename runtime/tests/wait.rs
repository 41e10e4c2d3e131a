//! gevent's `iwait` and `wait` over join handles (test__iwait.py and
//! test__wait's cases that apply to greenlets): finishing order, already
//! finished coroutines, timeouts, counts, other hubs, and an iterator
//! dropped early.

use std::time::Duration;

use verde_runtime::sync::mpsc;
use verde_runtime::{iwait, spawn, wait, JoinHandle, Runtime};

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
