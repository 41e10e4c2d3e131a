//! sync::mpsc: std's channel semantics (disconnection, bounds, rendezvous,
//! iterators, timeouts) with coroutines, hubs and threads.

use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use verde_runtime as verde;
use verde_runtime::sync::mpsc::{self, RecvError, RecvTimeoutError, SendError, TryRecvError, TrySendError};

mod common;
use common::DropCounter;

#[test]
fn messages_arrive_in_order_and_recv_fails_once_senders_are_gone() {
    let (tx, rx) = mpsc::channel();
    let tx2 = tx.clone();
    let h = verde::spawn(move || {
        for i in 0..100 {
            tx2.send(i).unwrap();
            if i % 7 == 0 {
                verde::yield_now();
            }
        }
    });
    drop(tx);
    assert_eq!(rx.iter().collect::<Vec<_>>(), (0..100).collect::<Vec<_>>());
    assert_eq!(rx.recv(), Err(RecvError));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Err(RecvTimeoutError::Disconnected));
    h.join().unwrap();
}

#[test]
fn buffered_messages_outlive_the_senders() {
    let (tx, rx) = mpsc::sync_channel(3);
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    drop(tx);
    assert_eq!(rx.recv(), Ok(1));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn send_fails_once_the_receiver_is_gone_and_returns_the_message() {
    let (tx, rx) = mpsc::channel();
    drop(rx);
    assert_eq!(tx.send("lost"), Err(SendError("lost")));
    let (tx, rx) = mpsc::sync_channel(1);
    drop(rx);
    assert_eq!(tx.try_send(1), Err(TrySendError::Disconnected(1)));
    assert_eq!(tx.send(2), Err(SendError(2)));
}

#[test]
fn dropping_the_receiver_drops_buffered_messages() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::channel();
    for _ in 0..3 {
        tx.send(DropCounter(dropped.clone())).unwrap();
    }
    drop(rx);
    assert_eq!(dropped.load(Ordering::SeqCst), 3);
}

#[test]
fn a_bounded_channel_blocks_senders_in_fifo_order() {
    let (tx, rx) = mpsc::sync_channel(2);
    tx.send(0).unwrap();
    tx.send(1).unwrap();
    assert_eq!(tx.try_send(99), Err(TrySendError::Full(99)));
    let hs: Vec<_> = (2..6)
        .map(|i| {
            let tx = tx.clone();
            verde::spawn(move || tx.send(i).unwrap())
        })
        .collect();
    verde::yield_now();
    assert!(hs.iter().all(|h| !h.is_finished()));
    drop(tx);
    assert_eq!(rx.iter().collect::<Vec<_>>(), [0, 1, 2, 3, 4, 5]);
    verde::joinall(hs).into_iter().for_each(|r| r.unwrap());
}

#[test]
fn rendezvous_send_waits_for_the_receiver() {
    let (tx, rx) = mpsc::sync_channel(0);
    assert_eq!(tx.try_send(1), Err(TrySendError::Full(1)));
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let l = log.clone();
    let sender = verde::spawn(move || {
        l.lock().unwrap().push("send starts");
        tx.send(7).unwrap();
        l.lock().unwrap().push("send returned");
    });
    verde::sleep(Duration::from_millis(10));
    log.lock().unwrap().push("receiving");
    assert_eq!(rx.recv(), Ok(7));
    sender.join().unwrap();
    assert_eq!(*log.lock().unwrap(), ["send starts", "receiving", "send returned"]);
}

#[test]
fn rendezvous_try_send_succeeds_when_the_receiver_waits() {
    let (tx, rx) = mpsc::sync_channel(0);
    let receiver = verde::spawn(move || rx.recv().unwrap());
    verde::yield_now();
    assert_eq!(tx.try_send(5), Ok(()));
    assert_eq!(receiver.join().unwrap(), 5);
}

#[test]
fn a_blocked_sender_fails_when_the_receiver_goes_away() {
    let (tx, rx) = mpsc::sync_channel(0);
    let sender = verde::spawn(move || tx.send(3));
    verde::yield_now();
    drop(rx);
    assert_eq!(sender.join().unwrap(), Err(SendError(3)));
}

#[test]
fn recv_timeout_times_out_then_receives() {
    let (tx, rx) = mpsc::channel();
    let start = Instant::now();
    assert_eq!(rx.recv_timeout(Duration::from_millis(10)), Err(RecvTimeoutError::Timeout));
    assert!(start.elapsed() >= Duration::from_millis(10));
    let h = verde::spawn_later(Duration::from_millis(5), move || tx.send(1).unwrap());
    assert_eq!(rx.recv_timeout(Duration::from_secs(30)), Ok(1));
    h.join().unwrap();
}

#[test]
fn try_iter_takes_what_is_ready_and_into_iter_drains() {
    let (tx, rx) = mpsc::channel();
    assert_eq!(rx.try_iter().count(), 0);
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2]);
    tx.send(3).unwrap();
    drop(tx);
    let mut got = Vec::new();
    for v in &rx {
        got.push(v);
    }
    assert_eq!(got, [3]);
    assert_eq!(rx.into_iter().count(), 0);
}

#[test]
fn a_message_handed_to_a_receiver_that_is_killed_is_not_lost() {
    let (tx, rx) = mpsc::channel();
    let rx = Rc::new(rx);
    let r = rx.clone();
    let receiver = verde::spawn_local(move || r.recv().ok());
    verde::yield_now();
    // Killed while parked; the send then hands it the message before it
    // runs again, and it unwinds holding it: the message must go back.
    receiver.kill_nowait();
    tx.send("precious").unwrap();
    assert!(receiver.join().is_err());
    assert_eq!(rx.try_recv(), Ok("precious"));
}

#[test]
fn a_killed_blocked_sender_drops_its_message_and_the_channel_goes_on() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::sync_channel(0);
    let (t, d) = (tx.clone(), dropped.clone());
    let doomed = verde::spawn(move || t.send(DropCounter(d)).is_ok());
    let t = tx.clone();
    let d = dropped.clone();
    let survivor = verde::spawn(move || t.send(DropCounter(d)).is_ok());
    verde::yield_now();
    doomed.kill();
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    drop(rx.recv().unwrap());
    assert!(survivor.join().unwrap());
    assert_eq!(dropped.load(Ordering::SeqCst), 2);
}

#[test]
fn many_producers_on_two_hubs_and_a_thread() {
    let rt = verde::Runtime::builder().workers(2).build().unwrap();
    // Each flavour with the same load: 8 coroutine producers and one thread.
    fn run<S: Fn(u64) + Clone + Send + 'static>(rt: &verde::Runtime, send: S, rx: mpsc::Receiver<u64>) {
        let hs: Vec<_> = (0..8)
            .map(|p| {
                let send = send.clone();
                rt.spawn(move || (0..500).for_each(|i| send(p * 1000 + i)))
            })
            .collect();
        let t = std::thread::spawn(move || (0..500).for_each(|i| send(8000 + i)));
        let mut got: Vec<u64> = rx.iter().collect();
        hs.into_iter().for_each(|h| h.join().unwrap());
        t.join().unwrap();
        got.sort_unstable();
        let want: Vec<u64> = (0..9).flat_map(|p| (0..500).map(move |i| p * 1000 + i)).collect();
        assert_eq!(got, want);
    }
    let (tx, rx) = mpsc::channel();
    run(&rt, move |v| tx.send(v).unwrap(), rx);
    for bound in [0, 16] {
        let (tx, rx) = mpsc::sync_channel(bound);
        run(&rt, move |v| tx.send(v).unwrap(), rx);
    }
}
