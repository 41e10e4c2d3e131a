//! gevent's Greenlet links on `JoinHandle`: `rawlink`, `link`, `link_value`,
//! `link_exception` and `unlink`, ported from test__greenlet.py (TestLink,
//! TestUnlink, TestReturn_link*, TestRaise_link*, TestStuff's listener
//! tests, TestKill's link checks) plus verde's own cases: other hubs,
//! `spawn_local`, late links from two threads, blocking refused in the hub.
//!
//! No test asserts on timing: only on order and counts.

#[path = "common/logs.rs"]
mod logs;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use verde_runtime as verde;
use verde_runtime::queue::{Channel, Queue};
use verde_runtime::sync::mpsc;
use verde_runtime::{JoinHandle, LinkId, Linked, Outcome};

/// A coroutine that waits until the returned sender sends (or is dropped),
/// then runs `f`.
fn gated<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> (JoinHandle<T>, mpsc::Sender<()>) {
    let (tx, rx) = mpsc::channel::<()>();
    let h = verde::spawn(move || {
        let _ = rx.recv();
        f()
    });
    (h, tx)
}

/// Which of `link`, `link_value` and `link_exception` fired, in firing
/// order (the spawned callbacks run in the order they were spawned).
fn which_links_fire<T: 'static>(h: &JoinHandle<T>) -> mpsc::Receiver<(&'static str, Linked)> {
    let (tx, rx) = mpsc::channel();
    for (kind, tx) in [("link", tx.clone()), ("link_value", tx.clone()), ("link_exception", tx)] {
        let f = move |linked| tx.send((kind, linked)).unwrap();
        match kind {
            "link" => h.link(f),
            "link_value" => h.link_value(f),
            _ => h.link_exception(f),
        };
    }
    rx
}

fn fired(rx: mpsc::Receiver<(&'static str, Linked)>) -> (Vec<&'static str>, Vec<Outcome>) {
    rx.iter().map(|(kind, linked)| (kind, linked.into_outcome())).unzip()
}

#[test]
fn link_fires_with_the_outcome_of_a_return() {
    let (h, go) = gated(|| 25);
    let rx = which_links_fire(&h);
    go.send(()).unwrap();
    let (kinds, outcomes) = fired(rx);
    assert_eq!(kinds, ["link", "link_value"]);
    assert_eq!(outcomes, [Outcome::Returned, Outcome::Returned]);
    assert_eq!(h.join().unwrap(), 25);
}

#[test]
fn link_fires_with_the_outcome_of_a_panic() {
    let (h, go) = gated(|| -> u8 { panic!("test_raise") });
    let rx = which_links_fire(&h);
    go.send(()).unwrap();
    let (kinds, outcomes) = fired(rx);
    assert_eq!(kinds, ["link", "link_exception"]);
    let expected = Outcome::Panicked("test_raise".to_string());
    assert_eq!(outcomes, [expected.clone(), expected]);
    assert!(h.join().is_err());
}

/// gevent counts a kill (GreenletExit) as success: link_value fires,
/// link_exception does not.
#[test]
fn a_killed_coroutine_fires_link_value_not_link_exception() {
    let h = verde::spawn(|| verde::sleep(Duration::from_secs(3600)));
    let rx = which_links_fire(&h);
    verde::yield_now();
    h.kill();
    let (kinds, outcomes) = fired(rx);
    assert_eq!(kinds, ["link", "link_value"]);
    assert_eq!(outcomes, [Outcome::Killed, Outcome::Killed]);
    assert!(h.join().unwrap_err().is::<verde::Killed>());
}

/// TestKill: a coroutine killed before it started never runs, and its link
/// fires once with the kill.
#[test]
fn links_fire_for_a_coroutine_killed_before_it_started() {
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let h = verde::spawn(move || r.store(true, Ordering::SeqCst));
    let rx = which_links_fire(&h);
    h.kill();
    assert!(h.is_finished());
    let (kinds, outcomes) = fired(rx);
    assert_eq!(kinds, ["link", "link_value"]);
    assert_eq!(outcomes, [Outcome::Killed, Outcome::Killed]);
    // A second kill must not hurt, nor fire anything again.
    h.kill();
    assert!(!ran.load(Ordering::SeqCst));
    assert!(h.join().unwrap_err().is::<verde::Killed>());
}

/// TestKillAfterStartLater: the same for a `spawn_later` coroutine.
#[test]
fn links_fire_for_a_spawn_later_coroutine_killed_before_it_started() {
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let h = verde::spawn_later(Duration::from_secs(3600), move || r.store(true, Ordering::SeqCst));
    let fires = Arc::new(AtomicUsize::new(0));
    let f = fires.clone();
    h.rawlink(move |result| {
        assert!(result.as_ref().unwrap_err().is::<verde::Killed>());
        f.fetch_add(1, Ordering::SeqCst);
    });
    h.kill();
    assert_eq!(fires.load(Ordering::SeqCst), 1);
    assert!(!ran.load(Ordering::SeqCst));
    assert!(h.join().unwrap_err().is::<verde::Killed>());
}

#[test]
fn linked_names_the_coroutine() {
    let h = verde::Builder::new().name("linked-one".into()).spawn(|| ()).unwrap();
    let (tx, rx) = mpsc::channel();
    h.link(move |linked| tx.send(linked).unwrap());
    let linked = rx.recv().unwrap();
    assert_eq!(linked.coroutine().id(), h.coroutine().id());
    assert_eq!(linked.coroutine().name(), Some("linked-one"));
    assert!(linked.successful());
    assert!(format!("{linked:?}").contains("Returned"));
}

#[test]
fn rawlinks_run_in_registration_order_and_links_start_in_that_order() {
    let (h, go) = gated(|| ());
    let order = Arc::new(Mutex::new(Vec::new()));
    for i in 0..5 {
        let o = order.clone();
        h.rawlink(move |_| o.lock().unwrap().push(format!("raw{i}")));
    }
    let (tx, rx) = mpsc::channel();
    for i in 0..5 {
        let tx = tx.clone();
        h.link(move |_| tx.send(i).unwrap());
    }
    drop(tx);
    go.send(()).unwrap();
    h.join().unwrap();
    assert_eq!(*order.lock().unwrap(), ["raw0", "raw1", "raw2", "raw3", "raw4"]);
    assert_eq!(rx.iter().collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
}

/// A rawlink runs before any joiner (on any hub) wakes, and inside it the
/// coroutine already counts as finished, as gevent's `ready()` does in its
/// links.
#[test]
fn rawlink_sees_the_coroutine_finished_and_runs_before_join_returns() {
    let events = Arc::new(Mutex::new(Vec::new()));
    let (h, go) = gated(|| 7);
    let h = Arc::new(h);
    // The link holds a handle to its own coroutine until it fires: a
    // reference cycle that firing breaks.
    let (h2, e) = (h.clone(), events.clone());
    h.rawlink(move |result| {
        e.lock().unwrap().push(format!("rawlink finished={} value={}", h2.is_finished(), result.as_ref().unwrap()));
    });
    let (h3, e) = (h.clone(), events.clone());
    let waiter = verde::spawn(move || {
        assert!(h3.wait_timeout(Duration::from_secs(3600)));
        e.lock().unwrap().push("waiter woke".to_string());
    });
    let (h4, e) = (h.clone(), events.clone());
    let other_thread = std::thread::spawn(move || {
        assert!(h4.wait_timeout(Duration::from_secs(3600)));
        assert!(e.lock().unwrap().iter().any(|l| l.starts_with("rawlink")));
    });
    verde::yield_now();
    go.send(()).unwrap();
    waiter.join().unwrap();
    other_thread.join().unwrap();
    assert_eq!(*events.lock().unwrap(), ["rawlink finished=true value=7", "waiter woke"]);
    let h = Arc::try_unwrap(h).expect("the fired link dropped its handle");
    assert_eq!(h.join().unwrap(), 7);
}

/// Inside its own rawlink a coroutine is finished for every call that asks:
/// waiting for it returns at once and killing it does nothing (both would
/// otherwise block in the hub). Other coroutines are not affected, and a
/// `link` callback, which runs later in a coroutine, sees it finished too.
#[test]
fn inside_its_rawlink_a_coroutine_is_finished_for_wait_and_kill() {
    let (h, go) = gated(|| 5);
    let h = Arc::new(h);
    let (other, _keep_other_waiting) = gated(|| 6);
    let other = Arc::new(other);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (me, o, s) = (h.clone(), other.clone(), seen.clone());
    h.rawlink(move |_| {
        let waited = me.wait_timeout(Duration::from_secs(3600));
        me.kill();
        s.lock().unwrap().push(("rawlink", me.is_finished(), waited, o.is_finished()));
    });
    let (me, s) = (h.clone(), seen.clone());
    h.link(move |_| s.lock().unwrap().push(("link", me.is_finished(), true, false)));
    go.send(()).unwrap();
    while seen.lock().unwrap().len() < 2 {
        verde::yield_now();
    }
    assert_eq!(*seen.lock().unwrap(), [("rawlink", true, true, false), ("link", true, true, false)]);
    let h = Arc::try_unwrap(h).expect("the fired links dropped their handles");
    assert_eq!(h.join().unwrap(), 5);
    other.kill();
}

/// test_link_to_asyncresult's loop: links added after the end fire too.
#[test]
fn linking_to_a_finished_coroutine_still_fires() {
    let h = verde::spawn(|| 100);
    while !h.is_finished() {
        verde::yield_now();
    }
    // rawlink: at once, before rawlink returns.
    let seen = Arc::new(Mutex::new(Vec::new()));
    for _ in 0..3 {
        let s = seen.clone();
        h.rawlink(move |r| s.lock().unwrap().push(*r.as_ref().unwrap()));
        assert_eq!(seen.lock().unwrap().pop(), Some(100));
    }
    // link: its coroutine is spawned at once and runs later.
    for _ in 0..3 {
        let (tx, rx) = mpsc::channel();
        h.link(move |linked| tx.send(linked.into_outcome()).unwrap());
        assert_eq!(rx.recv().unwrap(), Outcome::Returned);
    }
    let (tx, rx) = mpsc::channel();
    let tx2 = tx.clone();
    h.link_value(move |_| tx.send("value").unwrap());
    h.link_exception(move |_| tx2.send("exception").unwrap());
    assert_eq!(rx.iter().collect::<Vec<_>>(), ["value"]);
    assert_eq!(h.join().unwrap(), 100);
}

/// TestUnlink, for every kind of link.
#[test]
fn unlink_prevents_firing_and_returns_false_the_second_time() {
    let (h, go) = gated(|| ());
    let fired = Arc::new(AtomicUsize::new(0));
    let f = |fired: &Arc<AtomicUsize>| {
        let fired = fired.clone();
        move |_: Linked| {
            fired.fetch_add(1, Ordering::SeqCst);
        }
    };
    let r = fired.clone();
    let ids: [LinkId; 4] = [
        h.rawlink(move |_| {
            r.fetch_add(1, Ordering::SeqCst);
        }),
        h.link(f(&fired)),
        h.link_value(f(&fired)),
        h.link_exception(f(&fired)),
    ];
    let (tx, rx) = mpsc::channel();
    h.link(move |_| tx.send(()).unwrap());
    for id in ids {
        assert!(h.unlink(id));
        assert!(!h.unlink(id));
    }
    go.send(()).unwrap();
    h.join().unwrap();
    rx.recv().unwrap();
    assert_eq!(fired.load(Ordering::SeqCst), 0);
}

#[test]
fn unlink_after_firing_returns_false() {
    let (h, go) = gated(|| ());
    let id = h.rawlink(|_| {});
    go.send(()).unwrap();
    let (other, _other_go) = gated(|| ());
    let foreign = other.rawlink(|_| {});
    assert!(h.wait_timeout(Duration::from_secs(3600)));
    assert!(!h.unlink(id));
    assert!(!h.unlink(foreign), "a link of another coroutine is not removed");
    assert!(other.unlink(foreign));
    h.join().unwrap();
}

/// test_multiple_listeners_error_unlink (Greenlet.rawlink): a running link
/// unlinks one that has not run yet.
#[test]
fn a_running_rawlink_can_unlink_a_later_one() {
    let (h, go) = gated(|| 5);
    let h = Arc::new(h);
    let results = Arc::new(Mutex::new(Vec::new()));
    let second: Arc<OnceLock<LinkId>> = Arc::new(OnceLock::new());
    let (hh, r, s) = (h.clone(), results.clone(), second.clone());
    h.rawlink(move |_| {
        assert!(hh.unlink(*s.get().unwrap()));
        r.lock().unwrap().push(1);
        panic!("listener1");
    });
    let r = results.clone();
    second
        .set(h.rawlink(move |_| {
            r.lock().unwrap().push(2);
        }))
        .unwrap();
    h.rawlink(|_| panic!("listener3"));
    go.send(()).unwrap();
    while !h.is_finished() {
        verde::yield_now();
    }
    assert_eq!(*results.lock().unwrap(), [1]);
    assert_eq!(Arc::try_unwrap(h).unwrap().join().unwrap(), 5);
}

/// A link added by a running link runs too, after the others.
#[test]
fn a_link_added_by_a_running_rawlink_runs_after_the_others() {
    let (h, go) = gated(|| ());
    let h = Arc::new(h);
    let order = Arc::new(Mutex::new(Vec::new()));
    let (hh, o) = (h.clone(), order.clone());
    h.rawlink(move |_| {
        o.lock().unwrap().push("first");
        let o2 = o.clone();
        hh.rawlink(move |_| o2.lock().unwrap().push("added"));
    });
    let o = order.clone();
    h.rawlink(move |_| o.lock().unwrap().push("second"));
    go.send(()).unwrap();
    while !h.is_finished() {
        verde::yield_now();
    }
    assert_eq!(*order.lock().unwrap(), ["first", "second", "added"]);
}

/// test_multiple_listeners_error: a panicking callback is reported, naming
/// the coroutine, and does not stop the others.
#[test]
fn a_panicking_rawlink_is_contained_and_reported_and_the_others_run() {
    logs::capture();
    let h = verde::Builder::new().name("listened-to".into()).spawn(|| 5).unwrap();
    let results = Arc::new(Mutex::new(Vec::new()));
    for (i, fails) in [(10, true), (20, true), (30, false)] {
        let r = results.clone();
        h.rawlink(move |_| {
            r.lock().unwrap().push(i);
            if fails {
                panic!("listener{i}");
            }
        });
    }
    assert_eq!(h.join().unwrap(), 5);
    assert_eq!(*results.lock().unwrap(), [10, 20, 30]);
    let lines = logs::logged("'listened-to'");
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].starts_with("ERROR") && lines[0].contains("listener10"), "{lines:?}");
    assert!(lines[1].contains("listener20"), "{lines:?}");
}

/// Same, for links added after the coroutine ended, which run in the
/// caller.
#[test]
fn a_panicking_late_rawlink_is_contained_too() {
    logs::capture();
    let h = verde::Builder::new().name("late-listened-to".into()).spawn(|| 5).unwrap();
    while !h.is_finished() {
        verde::yield_now();
    }
    h.rawlink(|_| panic!("late listener"));
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    h.rawlink(move |_| r.store(true, Ordering::SeqCst));
    assert!(ran.load(Ordering::SeqCst));
    let lines = logs::logged("'late-listened-to'");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("late listener"), "{lines:?}");
}

/// A rawlink runs in the hub: blocking there is refused (and reported),
/// and leaves the hub, its joiners and the main context working.
#[test]
fn a_blocking_rawlink_is_refused_and_the_hub_goes_on() {
    logs::capture();
    let (h, go) = {
        let (tx, rx) = mpsc::channel::<()>();
        let h = verde::Builder::new()
            .name("blocked-in-rawlink".into())
            .spawn(move || {
                let _ = rx.recv();
            })
            .unwrap();
        (h, tx)
    };
    let after = Arc::new(AtomicBool::new(false));
    let a = after.clone();
    h.rawlink(|_| verde::sleep(Duration::from_millis(1)));
    h.rawlink(|_| verde::yield_now());
    h.rawlink(move |_| a.store(true, Ordering::SeqCst));
    go.send(()).unwrap();
    h.join().unwrap();
    assert!(after.load(Ordering::SeqCst));
    let lines = logs::logged("'blocked-in-rawlink'");
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines.iter().all(|l| l.contains("must not block")), "{lines:?}");
    // The main context still parks and wakes normally.
    verde::sleep(Duration::from_millis(1));
    assert_eq!(verde::spawn(|| 1).join().unwrap(), 1);
}

/// A link belongs to the coroutine: dropping the handle does not cancel it.
#[test]
fn links_fire_after_the_handle_was_dropped() {
    let (h, go) = gated(|| -> u8 { panic!("detached") });
    let (tx, rx) = mpsc::channel();
    let raw_tx = tx.clone();
    h.rawlink(move |r| raw_tx.send(format!("raw err={}", r.is_err())).unwrap());
    h.link_exception(move |linked| tx.send(format!("exception {:?}", linked.outcome())).unwrap());
    drop(h);
    go.send(()).unwrap();
    assert_eq!(
        rx.iter().collect::<Vec<_>>(),
        ["raw err=true".to_string(), format!("exception {:?}", Outcome::Panicked("detached".into()))]
    );
}

/// A link callback runs in a coroutine and may block.
#[test]
fn a_link_callback_may_block() {
    let h = verde::spawn(|| 3);
    let (tx, rx) = mpsc::channel();
    h.link(move |linked| {
        verde::sleep(Duration::from_millis(2));
        let inner = verde::spawn(|| 4);
        tx.send((linked.successful(), inner.join().unwrap(), verde::current().name().map(str::to_owned))).unwrap();
    });
    let (ok, inner, name) = rx.recv().unwrap();
    assert!(ok);
    assert_eq!(inner, 4);
    assert_eq!(name, Some(format!("link of coroutine-{}", h.coroutine().id())));
    assert_eq!(h.join().unwrap(), 3);
}

/// test_link_to_queue.
#[test]
fn link_to_a_queue() {
    let p = verde::spawn(|| 100);
    let q = Arc::new(Queue::new());
    let q2 = q.clone();
    p.link(move |linked| q2.put(linked));
    let linked: Linked = q.get();
    assert_eq!(linked.coroutine().id(), p.coroutine().id());
    assert_eq!(linked.outcome(), &Outcome::Returned);
    for _ in 0..3 {
        let q2 = q.clone();
        p.link(move |linked| q2.put(linked));
        assert!(q.get().successful());
    }
    assert_eq!(p.join().unwrap(), 100);
}

/// test_link_to_channel: `Channel::put` blocks until a getter takes the
/// item, so the link must run in a coroutine.
#[test]
fn link_to_a_channel() {
    let ps: Vec<_> = [101, 102, 103].into_iter().map(|v| verde::spawn(move || v)).collect();
    let q = Arc::new(Channel::new());
    for p in &ps {
        let q = q.clone();
        p.link(move |linked| q.put(linked.coroutine().id()));
    }
    let mut got = vec![q.get(), q.get(), q.get()];
    got.sort();
    let mut ids: Vec<_> = ps.iter().map(|p| p.coroutine().id()).collect();
    ids.sort();
    assert_eq!(got, ids);
    assert_eq!(verde::joinall(ps).into_iter().map(Result::unwrap).collect::<Vec<_>>(), [101, 102, 103]);
}

/// test_link_to_asyncresult's counterpart for mpsc: the value goes through
/// a rawlink (the only link that sees it).
#[test]
fn rawlink_sends_the_value_on_an_mpsc_channel() {
    let (tx, rx) = mpsc::channel();
    let h = verde::spawn(|| "value".to_string());
    h.rawlink(move |r| tx.send(r.as_ref().ok().cloned()).unwrap());
    assert_eq!(rx.recv().unwrap(), Some("value".to_string()));
    assert_eq!(h.join().unwrap(), "value");
}

/// Links added from another thread fire on the coroutine's own hub.
#[test]
fn links_added_from_another_hub_fire_on_the_coroutines_hub() {
    let rt = verde::Runtime::builder().workers(2).thread_name("link-worker").build().unwrap();
    let (go, gate) = mpsc::channel::<()>();
    let h = rt.spawn_on(1, move || {
        let _ = gate.recv();
        std::thread::current().name().unwrap().to_owned()
    });
    let (tx, rx) = mpsc::channel();
    let raw_tx = tx.clone();
    h.rawlink(move |_| raw_tx.send(("raw", std::thread::current().name().map(str::to_owned))).unwrap());
    h.link(move |_| tx.send(("link", std::thread::current().name().map(str::to_owned))).unwrap());
    // This thread's own hub links to it as well, from a coroutine.
    let (go2, gate2) = mpsc::channel::<()>();
    let h2 = rt.spawn_on(0, move || {
        let _ = gate2.recv();
    });
    let (tx2, rx2) = mpsc::channel();
    let linker = verde::spawn(move || {
        h2.link(move |linked| tx2.send(linked.successful()).unwrap());
        h2
    });
    let h2 = linker.join().unwrap();
    go.send(()).unwrap();
    go2.send(()).unwrap();
    let worker = Some("link-worker-1".to_string());
    assert_eq!(rx.iter().collect::<Vec<_>>(), [("raw", worker.clone()), ("link", worker.clone())]);
    assert_eq!(h.join().unwrap(), "link-worker-1");
    assert!(rx2.recv().unwrap());
    h2.join().unwrap();
}

/// A rawlink on a `spawn_local` coroutine borrows its non-`Send` result on
/// the owner hub.
#[test]
fn rawlink_on_a_spawn_local_coroutine() {
    use std::rc::Rc;
    let h = verde::spawn_local(|| Rc::new(41));
    let (tx, rx) = mpsc::channel();
    h.rawlink(move |r| tx.send(**r.as_ref().unwrap() + 1).unwrap());
    let (ltx, lrx) = mpsc::channel();
    h.link(move |linked| ltx.send(linked.successful()).unwrap());
    assert_eq!(rx.recv().unwrap(), 42);
    assert!(lrx.recv().unwrap());
    assert_eq!(*h.join().unwrap(), 41);
    // And late, on a finished one.
    let h = verde::spawn_local(|| Rc::new(1));
    while !h.is_finished() {
        verde::yield_now();
    }
    let (tx, rx) = mpsc::channel();
    h.rawlink(move |r| tx.send(Rc::strong_count(r.as_ref().unwrap())).unwrap());
    assert_eq!(rx.try_recv(), Ok(1), "a late rawlink runs before rawlink returns");
    assert_eq!(*h.join().unwrap(), 1);
}

/// Two threads add late links to one finished coroutine at once: the
/// second call queues its link behind the running one, which runs it on
/// its own thread, so the result is never borrowed from two threads.
#[test]
fn late_links_from_two_threads_run_one_thread_at_a_time() {
    let h = Arc::new(verde::spawn(|| 9));
    while !h.is_finished() {
        verde::yield_now();
    }
    let (entered_tx, entered_rx) = std::sync::mpsc::channel::<()>();
    let (queued_tx, queued_rx) = std::sync::mpsc::channel::<()>();
    let threads = Arc::new(Mutex::new(Vec::new()));
    let (h1, t1) = (h.clone(), threads.clone());
    let first = std::thread::spawn(move || {
        h1.rawlink(move |r| {
            assert_eq!(*r.as_ref().unwrap(), 9);
            t1.lock().unwrap().push(("first", std::thread::current().id()));
            entered_tx.send(()).unwrap();
            // Plain thread, not a hub: waiting here is fine.
            queued_rx.recv().unwrap();
        });
        std::thread::current().id()
    });
    entered_rx.recv().unwrap();
    let (h2, t2) = (h.clone(), threads.clone());
    let second = std::thread::spawn(move || {
        h2.rawlink(move |r| {
            assert_eq!(*r.as_ref().unwrap(), 9);
            t2.lock().unwrap().push(("second", std::thread::current().id()));
        });
        std::thread::current().id()
    });
    let second_id = second.join().unwrap();
    // The second rawlink returned while the first was still running.
    assert_eq!(threads.lock().unwrap().len(), 1);
    queued_tx.send(()).unwrap();
    let first_id = first.join().unwrap();
    assert_ne!(first_id, second_id);
    assert_eq!(*threads.lock().unwrap(), [("first", first_id), ("second", first_id)]);
    assert_eq!(Arc::try_unwrap(h).unwrap().join().unwrap(), 9);
}

/// A late rawlink runs in the caller; if it blocks there (in a coroutine,
/// where blocking is possible) and the caller is killed, the caller still
/// unwinds with the kill once the links have run.
#[test]
fn a_kill_delivered_inside_a_late_rawlink_still_unwinds_the_caller() {
    let target = Arc::new(verde::spawn(|| ()));
    while !target.is_finished() {
        verde::yield_now();
    }
    let after = Arc::new(AtomicBool::new(false));
    let (t, a) = (target.clone(), after.clone());
    let caller = verde::spawn(move || {
        t.rawlink(|_| verde::sleep(Duration::from_secs(3600)));
        a.store(true, Ordering::SeqCst);
    });
    verde::yield_now();
    caller.kill();
    assert!(caller.join().unwrap_err().is::<verde::Killed>());
    assert!(!after.load(Ordering::SeqCst));
}

/// Greenlet.unlink_all and has_links: every pending link goes, and none
/// is left once they have all run.
#[test]
fn unlink_all_removes_every_pending_link() {
    let (h, go) = gated(|| ());
    assert!(!h.has_links());
    let fired = Arc::new(Mutex::new(0));
    for _ in 0..3 {
        let f = fired.clone();
        h.rawlink(move |_| *f.lock().unwrap() += 1);
    }
    let f = fired.clone();
    h.link(move |_| *f.lock().unwrap() += 1);
    assert!(h.has_links());
    h.unlink_all();
    assert!(!h.has_links());
    let f = fired.clone();
    h.rawlink(move |_| *f.lock().unwrap() += 10);
    go.send(()).unwrap();
    assert!(h.wait_timeout(Duration::from_secs(3600)));
    assert!(!h.has_links(), "links that ran are gone");
    h.join().unwrap();
    assert_eq!(*fired.lock().unwrap(), 10, "only the link added afterwards ran");
}
