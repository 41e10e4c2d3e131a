//! Stress for `mpsc::channel`'s hand-off: receives sharing the receiver,
//! ending every way they can (a message, a deadline, a `Timeout`, a kill),
//! against senders on other threads and hubs that come and go.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use verde_runtime as verde;
use verde_runtime::sync::mpsc::{self, RecvTimeoutError};

/// A small deterministic generator for the receives' choices.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Receives until the end, each receive one of the four kinds, logging
/// what it got.
fn receive_all(rx: Rc<mpsc::Receiver<(u32, u32)>>, got: Rc<RefCell<Vec<(u32, u32)>>>, seed: u64) {
    let mut rng = XorShift(seed | 1);
    loop {
        let short = Duration::from_micros(rng.next() % 200);
        let result = match rng.next() % 4 {
            0 => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            1 => rx.recv_timeout(short),
            2 => match verde::Timeout::start(short).run(|| rx.recv()) {
                Ok(r) => r.map_err(|_| RecvTimeoutError::Disconnected),
                Err(_elapsed) => Err(RecvTimeoutError::Timeout),
            },
            _ => rx.try_recv().map_err(|e| match e {
                mpsc::TryRecvError::Empty => RecvTimeoutError::Timeout,
                mpsc::TryRecvError::Disconnected => RecvTimeoutError::Disconnected,
            }),
        };
        match result {
            Ok(m) => got.borrow_mut().push(m),
            Err(RecvTimeoutError::Timeout) => {
                if rng.next().is_multiple_of(8) {
                    verde::yield_now();
                }
            }
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

#[test]
fn shared_receives_ending_every_way_lose_and_duplicate_nothing() {
    const PER_SENDER: u32 = 1500;
    let rt = verde::Runtime::builder().workers(2).build().unwrap();
    for round in 0..20u64 {
        let (tx, rx) = mpsc::channel::<(u32, u32)>();
        let rx = Rc::new(rx);
        let got = Rc::new(RefCell::new(Vec::new()));
        // Two senders on the runtime's hubs and one on a plain thread.
        let coroutine_senders: Vec<_> = (0..2u32)
            .map(|s| {
                let tx = tx.clone();
                rt.spawn_on(s as usize, move || {
                    for i in 0..PER_SENDER {
                        tx.send((s, i)).unwrap();
                        if i % 16 == 0 {
                            verde::sleep(Duration::from_micros(20));
                        } else if i % 4 == 0 {
                            verde::yield_now();
                        }
                    }
                })
            })
            .collect();
        let thread_sender = std::thread::spawn(move || {
            for i in 0..PER_SENDER {
                tx.send((2, i)).unwrap();
                if i % 64 == 0 {
                    std::thread::sleep(Duration::from_micros(50));
                }
            }
        });
        let mut seed = round * 1000 + 1;
        let spawn_receive = |seed: u64| {
            let (rx, got) = (rx.clone(), got.clone());
            verde::spawn_local(move || receive_all(rx, got, seed))
        };
        let mut receives: Vec<_> = (0..4).map(|k| spawn_receive(seed + k)).collect();
        // Kill one receive now and then and start another, until the
        // senders are done.
        let mut rng = XorShift(seed);
        while !(thread_sender.is_finished() && coroutine_senders.iter().all(|h| h.is_finished())) {
            verde::sleep(Duration::from_micros(100));
            let k = (rng.next() % receives.len() as u64) as usize;
            receives[k].kill_nowait();
            seed += 10;
            receives.push(spawn_receive(seed));
        }
        thread_sender.join().unwrap();
        verde::joinall(coroutine_senders).into_iter().for_each(|r| r.unwrap());
        for r in verde::joinall(receives) {
            if let Err(e) = r {
                assert!(e.is::<verde::Killed>(), "a receive failed otherwise than killed");
            }
        }
        // Every receive is gone; what is left is still in the channel.
        let mut all = got.borrow().clone();
        all.extend(rx.try_iter());
        // From each sender, in its order, each message once.
        for s in 0..3 {
            let from: Vec<u32> = all.iter().filter(|m| m.0 == s).map(|m| m.1).collect();
            assert_eq!(from, (0..PER_SENDER).collect::<Vec<_>>(), "sender {s} in round {round}");
        }
    }
}
