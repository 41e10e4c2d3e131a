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

/// A channel whose receiver is shared with a coroutine of this hub that is
/// parked in `recv`.
fn parked_receive<T: 'static>() -> (mpsc::Sender<T>, Rc<mpsc::Receiver<T>>, verde::JoinHandle<Option<T>>) {
    let (tx, rx) = mpsc::channel();
    let rx = Rc::new(rx);
    let r = rx.clone();
    let receiver = verde::spawn_local(move || r.recv().ok());
    verde::yield_now();
    (tx, rx, receiver)
}

#[test]
fn a_message_handed_to_a_receiver_that_is_killed_is_not_lost() {
    let (tx, rx, receiver) = parked_receive();
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

#[test]
fn a_receiver_killed_while_parked_leaves_later_messages_in_the_channel() {
    let (tx, rx, receiver) = parked_receive();
    receiver.kill();
    tx.send("kept").unwrap();
    assert_eq!(rx.recv(), Ok("kept"));
}

#[test]
fn a_killed_receiver_gives_back_a_handed_message_ahead_of_buffered_ones() {
    let (tx, rx, receiver) = parked_receive();
    // The first send hands its message to the parked receiver, the second
    // buffers behind it; the receiver then unwinds instead of returning.
    receiver.kill_nowait();
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    assert!(receiver.join().is_err());
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2]);
}

#[test]
fn try_recv_beside_a_parked_receive_leaves_it_registered() {
    let (tx, rx) = mpsc::channel();
    let rx = Rc::new(rx);
    let r = rx.clone();
    let receiver = verde::spawn_local(move || r.recv().unwrap());
    verde::yield_now();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    // Whichever of the two gets the first message, the other gets the
    // second or leaves it in the channel.
    tx.send(1).unwrap();
    let first = rx.try_recv().ok();
    tx.send(2).unwrap();
    let got: Vec<_> = first.into_iter().chain([receiver.join().unwrap()]).chain(rx.try_iter()).collect();
    assert!(got == [1, 2] || got == [2, 1], "{got:?}");
}

#[test]
fn receives_sharing_the_receiver_are_all_served_and_all_see_the_end() {
    let (tx, rx) = mpsc::channel();
    let rx = Rc::new(rx);
    let spawn_receives = |n: usize| -> Vec<_> {
        (0..n)
            .map(|_| {
                let r = rx.clone();
                verde::spawn_local(move || r.recv())
            })
            .collect()
    };
    let hs = spawn_receives(3);
    verde::yield_now();
    for i in 0..3 {
        tx.send(i).unwrap();
    }
    let mut got: Vec<_> = verde::joinall(hs).into_iter().map(|r| r.unwrap().unwrap()).collect();
    got.sort_unstable();
    assert_eq!(got, [0, 1, 2]);

    // One at a time, with a `try_recv` and a late receive in between.
    let hs = spawn_receives(2);
    verde::yield_now();
    tx.send(10).unwrap();
    let stolen = rx.try_recv().ok();
    let late = spawn_receives(1);
    verde::yield_now();
    for i in 11..14 {
        tx.send(i).unwrap();
        verde::yield_now();
    }
    let received = verde::joinall(hs.into_iter().chain(late)).into_iter().map(|r| r.unwrap().unwrap());
    let mut got: Vec<_> = stolen.into_iter().chain(received).chain(rx.try_iter()).collect();
    got.sort_unstable();
    assert_eq!(got, [10, 11, 12, 13]);

    let hs = spawn_receives(3);
    verde::yield_now();
    drop(tx);
    assert!(verde::joinall(hs).into_iter().all(|r| r.unwrap() == Err(RecvError)));
}

#[test]
fn receives_sharing_the_receiver_survive_one_being_killed_or_timing_out() {
    let (tx, rx) = mpsc::channel();
    let rx = Rc::new(rx);
    let r = rx.clone();
    let timing_out = verde::spawn_local(move || r.recv_timeout(Duration::from_millis(5)));
    let hs: Vec<_> = (0..3)
        .map(|_| {
            let r = rx.clone();
            verde::spawn_local(move || r.recv())
        })
        .collect();
    verde::yield_now();
    assert_eq!(timing_out.join().unwrap(), Err(RecvTimeoutError::Timeout));
    // The middle one, then the last to register (the one the slot holds).
    hs[1].kill();
    hs[2].kill();
    tx.send(7).unwrap();
    assert_eq!(verde::joinall(hs).into_iter().map(Result::ok).collect::<Vec<_>>(), [Some(Ok(7)), None, None]);
    tx.send(8).unwrap();
    assert_eq!(rx.try_recv(), Ok(8));
}

#[test]
fn the_last_sender_leaving_wakes_a_receiver_parked_on_another_hub() {
    let rt = verde::Runtime::builder().workers(1).build().unwrap();
    let (tx, rx) = mpsc::channel::<u32>();
    let (started, wait_started) = mpsc::channel();
    let receiver = rt.spawn(move || {
        started.send(()).unwrap();
        rx.recv()
    });
    wait_started.recv().unwrap();
    // A chance for it to park; the outcome is the same if it has not yet.
    verde::sleep(Duration::from_millis(5));
    drop(tx);
    assert_eq!(receiver.join().unwrap(), Err(RecvError));
}

#[test]
fn ping_pong_across_hubs_and_threads_loses_no_wake_up() {
    const N: u64 = 5000;
    fn pong(from: mpsc::Receiver<u64>, to: mpsc::Sender<u64>) {
        for v in from {
            to.send(v + 1).unwrap();
        }
    }
    fn ping(to: mpsc::Sender<u64>, from: mpsc::Receiver<u64>) -> u64 {
        let mut v = 0;
        for _ in 0..N {
            to.send(v).unwrap();
            v = from.recv().unwrap();
        }
        v
    }
    let rt = verde::Runtime::builder().workers(2).build().unwrap();
    // Coroutines on two hubs.
    let (to_b, from_a) = mpsc::channel();
    let (to_a, from_b) = mpsc::channel();
    let b = rt.spawn_on(1, move || pong(from_a, to_a));
    let a = rt.spawn_on(0, move || ping(to_b, from_b));
    assert_eq!(a.join().unwrap(), N);
    b.join().unwrap();
    // A plain thread and a coroutine.
    let (to_b, from_a) = mpsc::channel();
    let (to_a, from_b) = mpsc::channel();
    let b = rt.spawn(move || pong(from_a, to_a));
    let a = std::thread::spawn(move || ping(to_b, from_b));
    assert_eq!(a.join().unwrap(), N);
    b.join().unwrap();
}

#[test]
fn receives_timing_out_as_messages_arrive_lose_none_and_keep_the_order() {
    const N: u32 = 2000;
    let rt = verde::Runtime::builder().workers(1).build().unwrap();
    let (tx, rx) = mpsc::channel();
    let sender = rt.spawn(move || {
        for i in 0..N {
            tx.send(i).unwrap();
            if i % 8 == 0 {
                verde::yield_now();
            }
        }
    });
    let mut got = Vec::new();
    loop {
        match rx.recv_timeout(Duration::from_micros(20)) {
            Ok(v) => got.push(v),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    sender.join().unwrap();
    assert_eq!(got, (0..N).collect::<Vec<_>>());
}

#[test]
fn receivers_killed_at_any_point_across_hubs_lose_no_message() {
    const N: u32 = 2000;
    let rt = verde::Runtime::builder().workers(2).build().unwrap();
    let (tx, rx) = mpsc::channel();
    let sender = rt.spawn_on(1, move || {
        for i in 0..N {
            tx.send(i).unwrap();
            if i % 4 == 0 {
                verde::sleep(Duration::from_micros(1));
            }
        }
    });
    // Each receive runs in a coroutine of its own on the other hub, most
    // of them killed at some point: before, while or after receiving. A
    // killed one poisons the mutex, which does not matter here.
    let rx = Arc::new(std::sync::Mutex::new(rx));
    let mut got = Vec::new();
    for k in 0u64.. {
        let r = rx.clone();
        let receiver = rt.spawn_on(0, move || r.lock().unwrap_or_else(|e| e.into_inner()).recv());
        if k % 3 != 0 {
            for _ in 0..(k * 7919) % 2000 {
                std::hint::spin_loop();
            }
            receiver.kill_nowait();
        }
        match receiver.join() {
            Ok(Ok(v)) => got.push(v),
            Ok(Err(RecvError)) => break,
            Err(_) => {}
        }
    }
    sender.join().unwrap();
    assert_eq!(got, (0..N).collect::<Vec<_>>());
}

#[test]
fn each_senders_messages_keep_their_order_under_racing_registrations() {
    // Senders on plain threads and on two hubs race the receive's
    // registrations: a send that claims a registration while another's
    // message is buffered must not overtake it. Each sender's messages
    // carry its number and a sequence, which must arrive in order.
    const PER_SENDER: u64 = 10_000;
    const THREADS: u64 = 2;
    const COROUTINES: u64 = 2;
    let rt = verde::Runtime::builder().workers(2).build().unwrap();
    let (tx, rx) = mpsc::channel::<(u64, u64)>();
    let senders: Vec<_> = (0..THREADS)
        .map(|p| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for i in 0..PER_SENDER {
                    tx.send((p, i)).unwrap();
                    // Short bursts, so the receive keeps catching up and
                    // registering while others send.
                    if i % 2 == 0 {
                        std::thread::yield_now();
                    }
                }
            })
        })
        .collect();
    let coroutines: Vec<_> = (THREADS..THREADS + COROUTINES)
        .map(|p| {
            let tx = tx.clone();
            rt.spawn_on(p as usize % 2, move || {
                for i in 0..PER_SENDER {
                    tx.send((p, i)).unwrap();
                    if i % 2 == 0 {
                        verde::yield_now();
                    }
                }
            })
        })
        .collect();
    drop(tx);
    let receiver = rt.spawn_on(0, move || {
        let mut next = vec![0u64; (THREADS + COROUTINES) as usize];
        let mut n = 0u64;
        loop {
            // Timed receives now and then take the other registration paths.
            let got = if n.is_multiple_of(7) {
                match rx.recv_timeout(Duration::from_micros(5)) {
                    Ok(m) => m,
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            } else {
                match rx.recv() {
                    Ok(m) => m,
                    Err(RecvError) => break,
                }
            };
            let (p, i) = got;
            assert_eq!(i, next[p as usize], "sender {p}'s messages out of order");
            next[p as usize] += 1;
            n += 1;
        }
        next
    });
    senders.into_iter().for_each(|t| t.join().unwrap());
    coroutines.into_iter().for_each(|h| h.join().unwrap());
    let next = receiver.join().unwrap();
    assert!(next.iter().all(|&c| c == PER_SENDER), "every message arrives: {next:?}");
}
