//! `verde::wait_idle` (gevent's `gevent.wait()` with no objects): the main
//! context runs its hub's coroutines until every one has finished. The
//! loop-exit case (coroutines left that nothing can wake) needs a process
//! with no other threads: see `process.rs`.

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use verde_runtime as verde;
use verde_runtime::event::Event;

#[test]
fn returns_at_once_with_nothing_spawned() {
    assert!(verde::wait_idle(None));
    assert!(verde::wait_idle(Some(Duration::ZERO)));
}

#[test]
fn waits_for_every_coroutine_and_the_ones_they_spawn() {
    let done = Arc::new(AtomicUsize::new(0));
    for i in 0..10 {
        let done = Arc::clone(&done);
        drop(verde::spawn(move || {
            verde::sleep(Duration::from_millis(i % 3));
            let inner = Arc::clone(&done);
            drop(verde::spawn(move || {
                verde::yield_now();
                inner.fetch_add(1, Ordering::SeqCst);
            }));
            done.fetch_add(1, Ordering::SeqCst);
        }));
    }
    assert!(verde::wait_idle(None));
    assert_eq!(done.load(Ordering::SeqCst), 20);
}

#[test]
fn a_timeout_returns_false_and_a_later_wait_finishes() {
    let gate = Arc::new(Event::new());
    let g = Arc::clone(&gate);
    let waiter = verde::spawn(move || g.wait(None));
    assert!(!verde::wait_idle(Some(Duration::from_millis(10))));
    assert!(!waiter.is_finished());
    let opener = Arc::clone(&gate);
    drop(verde::spawn(move || opener.set()));
    assert!(verde::wait_idle(Some(Duration::from_secs(30))));
    assert!(waiter.is_finished());
}

#[test]
fn a_coroutine_waiting_for_io_from_another_thread_is_waited_for() {
    let (mut a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
    let got = Arc::new(AtomicUsize::new(0));
    let g = Arc::clone(&got);
    drop(verde::spawn(move || {
        verde::io::wait_readable(b.as_raw_fd(), None).unwrap();
        let mut buf = [0u8; 4];
        b.read_exact(&mut buf).unwrap();
        g.store(buf.len(), Ordering::SeqCst);
    }));
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(10));
        a.write_all(b"ping").unwrap();
    });
    assert!(verde::wait_idle(None));
    assert_eq!(got.load(Ordering::SeqCst), 4);
    writer.join().unwrap();
}

#[test]
fn a_panicking_coroutine_does_not_end_the_wait_early() {
    let done = Arc::new(AtomicUsize::new(0));
    let d = Arc::clone(&done);
    let panicker = verde::spawn(|| panic!("contained"));
    drop(verde::spawn(move || {
        verde::sleep(Duration::from_millis(5));
        d.fetch_add(1, Ordering::SeqCst);
    }));
    assert!(verde::wait_idle(None));
    assert_eq!(done.load(Ordering::SeqCst), 1);
    assert!(panicker.join().is_err());
}

#[test]
fn a_timeout_in_the_main_context_interrupts_it_cleanly() {
    let gate = Arc::new(Event::new());
    let g = Arc::clone(&gate);
    drop(verde::spawn(move || g.wait(None)));
    let r = verde::with_timeout(Duration::from_millis(10), || verde::wait_idle(None));
    assert!(r.is_err(), "the Timeout fired");
    gate.set();
    assert!(verde::wait_idle(None));
}

#[test]
fn from_a_coroutine_it_panics_with_a_clear_message() {
    let h = verde::spawn(|| verde::wait_idle(None));
    let payload = h.join().unwrap_err();
    assert!(verde::describe_payload(&*payload).contains("main context"));
}
