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
//! * `corosensei_raw`: two bare corosensei coroutines resumed in turn by a
//!   loop (four switches per round trip), the floor for a hand-off through
//!   a scheduler's loop;
//! * `corosensei_nested`: one bare coroutine resuming the other from its
//!   own stack (two switches), the floor for verde's direct hand-off;
//! * `yield`: two coroutines alternating `yield_now`;
//! * `park_wake`: the bare park/wake hand-off of `benches/sync.rs` (the
//!   hand-offs are the same code, `benches/common/hand_off.rs`);
//! * `park_wake_timed`: the same hand-off with a deadline an hour away on
//!   every park, as a socket read with a timeout parks: what arming (and
//!   disarming) a park's timer adds to a wake that comes first;
//! * `mpsc`: `verde::sync::mpsc` ping-pong;
//! * `sync_channel`, `sync_channel1`: `verde::sync::mpsc::sync_channel(0)`
//!   (a rendezvous) and `sync_channel(1)` ping-pong;
//! * `queue_channel`: gevent's rendezvous `verde::queue::Channel`.
//! * `sleep_10k`: not a round trip but one `sleep` among 10,000 coroutines
//!   sleeping at once (N must be a multiple of 10,000), as the sleep demo's
//!   connections do: the park, its timer in a heap of 10,000, the wake.
//!
//! Run with no arguments (as `cargo bench` does), it runs every case once,
//! briefly, as a smoke test.

#[path = "common/corosensei_floor.rs"]
mod corosensei_floor;
#[path = "common/hand_off.rs"]
mod hand_off;
#[path = "common/yield_round_trip.rs"]
mod yield_round_trip;

use std::hint::black_box;

const CASES: [&str; 10] = [
    "corosensei_raw",
    "corosensei_nested",
    "yield",
    "park_wake",
    "park_wake_timed",
    "mpsc",
    "sync_channel",
    "sync_channel1",
    "queue_channel",
    "sleep_10k",
];

/// Coroutines sleeping at once in `sleep_10k`.
const SLEEPERS: u64 = 10_000;

/// `iters` sleeps, spread over `SLEEPERS` coroutines that sleep at once for
/// 1 to 2 ms each time, so that the hub's timer heap holds about
/// `SLEEPERS` deadlines in varied order.
fn verde_sleepers(iters: u64) {
    let rounds = iters.div_ceil(SLEEPERS);
    let sleepers: Vec<_> = (0..SLEEPERS)
        .map(|i| {
            verde::spawn(move || {
                for _ in 0..rounds {
                    verde::sleep(std::time::Duration::from_micros(1000 + i % 1000));
                }
            })
        })
        .collect();
    for s in verde::joinall(sleepers) {
        s.unwrap();
    }
}

/// `verde::sync::mpsc::sync_channel(bound)` ping-pong: with `bound == 0`
/// each send waits for the partner's receive. (Here rather than in
/// `common/hand_off.rs`, which the timed sync bench shares and does not
/// run it.)
fn verde_sync_channel(iters: u64, bound: usize) {
    verde::spawn(move || {
        let (to_b, from_a) = verde::sync::mpsc::sync_channel::<u64>(bound);
        let (to_a, from_b) = verde::sync::mpsc::sync_channel::<u64>(bound);
        let partner = verde::spawn(move || {
            for v in from_a {
                to_a.send(v).unwrap();
            }
        });
        for i in 0..iters {
            to_b.send(i).unwrap();
            black_box(from_b.recv().unwrap());
        }
        drop(to_b);
        partner.join().unwrap();
    })
    .join()
    .unwrap();
}

fn run(case: &str, iters: u64) {
    match case {
        "corosensei_raw" => drop(corosensei_floor::round_trip(iters)),
        "corosensei_nested" => drop(corosensei_floor::nested_round_trip(iters)),
        "yield" => drop(yield_round_trip::verde_yield(iters)),
        "park_wake" => drop(hand_off::verde_park_wake(iters)),
        "park_wake_timed" => drop(hand_off::verde_park_wake_timed(iters)),
        "mpsc" => drop(hand_off::verde_mpsc(iters)),
        "sync_channel" => verde_sync_channel(iters, 0),
        "sync_channel1" => verde_sync_channel(iters, 1),
        "queue_channel" => drop(hand_off::verde_queue_channel(iters)),
        "sleep_10k" => verde_sleepers(iters),
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
