//! Round trips to count instructions in, under callgrind: a measure that,
//! unlike time on this shared machine, does not drift from run to run.
//!
//! `bash benches/instructions.sh` runs this binary under
//! `valgrind --tool=callgrind` twice per case, with N and 2N round trips,
//! and prints the difference divided by N: the instructions one round trip
//! costs, start-up and tear-down cancelled out. By hand:
//!
//! ```text
//! cargo bench --bench instructions --no-run
//! valgrind --tool=callgrind --callgrind-out-file=/tmp/cg target/release/deps/instructions-* park_wake 100000
//! ```
//!
//! Cases (each round trip is A→B→A, as in `benches/switch.rs` and
//! `benches/sync.rs`):
//!
//! * `corosensei_raw`: two bare corosensei coroutines resumed in turn, the
//!   floor;
//! * `yield`: two coroutines alternating `yield_now`;
//! * `park_wake`: the bare park/wake hand-off of `benches/sync.rs`;
//! * `mpsc`: `verde::sync::mpsc` ping-pong;
//! * `queue_channel`: gevent's rendezvous `verde::queue::Channel`.
//!
//! Run with no arguments (as `cargo bench` does), it runs every case once,
//! briefly, as a smoke test.

#[path = "common/yield_round_trip.rs"]
mod yield_round_trip;

use std::cell::Cell;
use std::hint::black_box;
use std::rc::Rc;
use std::sync::Arc;

use corosensei::{Coroutine, CoroutineResult};
use verde::park::{self, Waker};

const CASES: [&str; 5] = ["corosensei_raw", "yield", "park_wake", "mpsc", "queue_channel"];

/// A one-value mailbox on the bare park/wake protocol, as in
/// `benches/sync.rs`.
#[derive(Default)]
struct Mailbox {
    value: Cell<Option<u64>>,
    waiter: Cell<Option<Waker>>,
}

impl Mailbox {
    #[inline(always)]
    fn put(&self, v: u64) {
        self.value.set(Some(v));
        if let Some(w) = self.waiter.take() {
            w.wake();
        }
    }

    #[inline(always)]
    fn take(&self) -> u64 {
        loop {
            if let Some(v) = self.value.take() {
                return v;
            }
            self.waiter.set(Some(park::waker()));
            park::park();
        }
    }
}

fn corosensei_raw(iters: u64) {
    let mut a = Coroutine::new(|y, ()| loop {
        y.suspend(black_box(1u8));
    });
    let mut b = Coroutine::new(|y, ()| loop {
        y.suspend(black_box(2u8));
    });
    for _ in 0..iters {
        if let CoroutineResult::Return(()) = a.resume(()) {
            unreachable!()
        }
        if let CoroutineResult::Return(()) = b.resume(()) {
            unreachable!()
        }
    }
}

fn park_wake(iters: u64) {
    verde::spawn(move || {
        let boxes = Rc::new((Mailbox::default(), Mailbox::default()));
        let b = boxes.clone();
        let partner = verde::spawn_local(move || loop {
            let v = b.0.take();
            b.1.put(v);
            if v == u64::MAX {
                return;
            }
        });
        for i in 0..iters {
            boxes.0.put(i);
            boxes.1.take();
        }
        boxes.0.put(u64::MAX);
        boxes.1.take();
        partner.join().unwrap();
    })
    .join()
    .unwrap();
}

fn mpsc(iters: u64) {
    verde::spawn(move || {
        let (to_b, from_a) = verde::sync::mpsc::channel::<u64>();
        let (to_a, from_b) = verde::sync::mpsc::channel::<u64>();
        let partner = verde::spawn(move || {
            for v in from_a {
                to_a.send(v).unwrap();
            }
        });
        for i in 0..iters {
            to_b.send(i).unwrap();
            from_b.recv().unwrap();
        }
        drop(to_b);
        partner.join().unwrap();
    })
    .join()
    .unwrap();
}

fn queue_channel(iters: u64) {
    verde::spawn(move || {
        let ab = Arc::new(verde::queue::Channel::<u64>::new());
        let ba = Arc::new(verde::queue::Channel::<u64>::new());
        let (a, b) = (ab.clone(), ba.clone());
        let partner = verde::spawn(move || loop {
            let v = a.get();
            b.put(v);
            if v == u64::MAX {
                return;
            }
        });
        for i in 0..iters {
            ab.put(i);
            ba.get();
        }
        ab.put(u64::MAX);
        ba.get();
        partner.join().unwrap();
    })
    .join()
    .unwrap();
}

fn run(case: &str, iters: u64) {
    match case {
        "corosensei_raw" => corosensei_raw(iters),
        "yield" => drop(yield_round_trip::verde_yield(iters)),
        "park_wake" => park_wake(iters),
        "mpsc" => mpsc(iters),
        "queue_channel" => queue_channel(iters),
        other => panic!("unknown case {other:?}; the cases are {CASES:?}"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    match args.as_slice() {
        [case, iters] => run(case, iters.parse().expect("a number of round trips")),
        _ => {
            for case in CASES {
                run(case, 1000);
            }
            println!("instructions: every case ran; see benches/instructions.sh for the counts");
        }
    }
}
