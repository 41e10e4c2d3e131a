//! What the patch costs: echo round trips per second through unmodified
//! `std::net::TcpStream` made cooperative by `patch_all!()`, against
//! `verde::net::TcpStream`, in one run.
//!
//! Each side is an echo server and its clients, all coroutines on the
//! bench thread's hub, over 100 loopback connections: a client writes 64
//! bytes and reads the echo back, one round trip at a time. In `std_patched`
//! both ends are `std::net` (every read and write goes through the patched
//! libc functions); in `verde_net` both ends are `verde::net`. The hub is
//! the bottleneck, so the difference in throughput is the difference in
//! cost per call.
//!
//! One iteration is one round trip (criterion's throughput is round trips
//! per second). After criterion's report the bench measures both sides
//! three more times, interleaved, and prints the patch's overhead from
//! that run: `1 - std_patched / verde_net`.

verde::patch_all!();

mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};

const CONNECTIONS: usize = 100;
const MESSAGE: usize = 64;
/// Length of each side's run in the closing comparison.
const SUMMARY_RUN: Duration = Duration::from_secs(1);

/// One side: the client ends of its connections (their server ends echo
/// in coroutines of their own).
struct Side<S> {
    clients: Vec<S>,
}

impl<S: Read + Write + Send + 'static> Side<S> {
    /// Opens the side's connections with `pair`, which returns a connected
    /// (client, server) pair.
    fn connect(pair: impl Fn() -> (S, S)) -> Side<S> {
        let clients = (0..CONNECTIONS)
            .map(|_| {
                let (client, server) = pair();
                drop(verde::spawn(move || common::echo(server)));
                client
            })
            .collect();
        Side { clients }
    }

    /// Makes `round_trips` round trips, spread over the connections, all
    /// at once; returns the time they took.
    fn run(&mut self, round_trips: u64) -> Duration {
        let start = Instant::now();
        let conns = self.clients.len() as u64;
        let handles: Vec<_> = self
            .clients
            .drain(..)
            .enumerate()
            .map(|(i, mut c)| {
                let n = round_trips / conns + u64::from((i as u64) < round_trips % conns);
                verde::spawn(move || {
                    let mut buf = [7u8; MESSAGE];
                    for _ in 0..n {
                        c.write_all(&buf).unwrap();
                        c.read_exact(&mut buf).unwrap();
                    }
                    c
                })
            })
            .collect();
        self.clients = verde::joinall(handles).into_iter().map(Result::unwrap).collect();
        start.elapsed()
    }

    /// Round trips per second over about `dur`.
    fn rate(&mut self, dur: Duration) -> f64 {
        let (mut total, mut wall, mut batch) = (0u64, Duration::ZERO, 10_000u64);
        while wall < dur {
            wall += self.run(batch);
            total += batch;
            batch = (batch * 2).min(200_000);
        }
        total as f64 / wall.as_secs_f64()
    }
}

fn main() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut std_side = Side::connect(|| {
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        client.set_nodelay(true).unwrap();
        (client, listener.accept().unwrap().0)
    });
    let listener = verde::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut verde_side = Side::connect(|| {
        let client = verde::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        client.set_nodelay(true).unwrap();
        (client, listener.accept().unwrap().0)
    });

    let mut c = Criterion::default().sample_size(10).warm_up_time(Duration::from_secs(1)).configure_from_args();
    let mut g = c.benchmark_group("patch_echo_100_connections");
    g.throughput(Throughput::Elements(1));
    g.bench_function("std_patched", |b| b.iter_custom(|n| std_side.run(n)));
    g.bench_function("verde_net", |b| b.iter_custom(|n| verde_side.run(n)));
    g.finish();
    c.final_summary();

    // The closing comparison: both sides three times, interleaved.
    let (mut std_rate, mut verde_rate) = (0.0, 0.0);
    for _ in 0..3 {
        std_rate += std_side.rate(SUMMARY_RUN) / 3.0;
        verde_rate += verde_side.rate(SUMMARY_RUN) / 3.0;
    }
    println!("patch summary: std_patched {std_rate:>10.0} req/s");
    println!("patch summary: verde_net   {verde_rate:>10.0} req/s");
    println!("patch summary: overhead of the patch {:+.1}%", (1.0 - std_rate / verde_rate) * 100.0);
}
