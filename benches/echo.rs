//! Echo round trips per second over 100 connections, against three
//! servers in one run:
//!
//! * `verde`: `verde::net` on a one-hub `Runtime`, a coroutine per
//!   connection.
//! * `may`: `may::net` on one may worker, a coroutine per connection.
//! * `std_threads`: `std::net` with an OS thread per connection.
//!
//! The client is the same for every server: 100 connections driven by a
//! single-threaded tokio runtime on a thread of its own, each connection
//! sending a 64-byte message and reading the echo back, one at a time. The
//! client is neither verde nor may, so it favours neither; one thread of it
//! against one thread of server (verde, may) keeps the comparison even.
//!
//! One iteration is one round trip (criterion's throughput is round trips
//! per second). After criterion's report the bench measures each server
//! once more, interleaved, and prints req/s and the ratios from that run.
//! Everything binds 127.0.0.1 and stops on its own.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CONNECTIONS: usize = 100;
const MESSAGE: usize = 64;
/// Length of each server's run in the closing comparison.
const SUMMARY_RUN: Duration = Duration::from_secs(2);

/// Echoes on `stream` until the peer closes it; any blocking stream type.
fn echo(mut stream: impl Read + Write) {
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if stream.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
        }
    }
}

/// verde's server on a one-hub runtime; the runtime must outlive its use.
fn verde_server() -> (verde::Runtime, SocketAddr) {
    let rt = verde::Runtime::builder().workers(1).build().unwrap();
    let listener = verde::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(rt.spawn(move || {
        for stream in listener.incoming() {
            let stream = stream.unwrap();
            drop(verde::spawn(move || echo(stream)));
        }
    }));
    (rt, addr)
}

/// Spawns a may coroutine.
fn may_go<F: FnOnce() + Send + 'static>(f: F) {
    // SAFETY: may's spawn is unsafe because its coroutines may migrate
    // between threads and must not hold thread-locals across a yield; the
    // closures spawned here use none.
    drop(unsafe { may::coroutine::spawn(f) });
}

/// may's server on one may worker.
fn may_server() -> SocketAddr {
    let listener = may::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    may_go(move || {
        for stream in listener.incoming() {
            let stream = stream.unwrap();
            may_go(move || echo(stream));
        }
    });
    addr
}

/// std's server: a thread per connection.
fn std_server() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let stream = stream.unwrap();
            thread::spawn(move || echo(stream));
        }
    });
    addr
}

/// The load generator: 100 connections on a single-threaded tokio runtime
/// running in its own thread. `run(n)` makes `n` round trips, spread
/// evenly over the connections, and returns the wall time they took.
struct Client {
    jobs: Option<mpsc::Sender<(u64, mpsc::Sender<Duration>)>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let (jobs, rx) = mpsc::channel::<(u64, mpsc::Sender<Duration>)>();
        let thread = thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_io().build().unwrap();
            rt.block_on(async move {
                let mut conns = Vec::with_capacity(CONNECTIONS);
                for _ in 0..CONNECTIONS {
                    let c = tokio::net::TcpStream::connect(addr).await.unwrap();
                    c.set_nodelay(true).unwrap();
                    conns.push(c);
                }
                // Between runs the runtime has nothing to do, so waiting
                // for the next job on the std channel blocks nothing.
                while let Ok((round_trips, done)) = rx.recv() {
                    let start = Instant::now();
                    let tasks: Vec<_> = conns
                        .drain(..)
                        .enumerate()
                        .map(|(i, mut c)| {
                            let n = round_trips / CONNECTIONS as u64
                                + u64::from((i as u64) < round_trips % CONNECTIONS as u64);
                            tokio::spawn(async move {
                                let out = [i as u8; MESSAGE];
                                let mut back = [0u8; MESSAGE];
                                for _ in 0..n {
                                    c.write_all(&out).await.unwrap();
                                    c.read_exact(&mut back).await.unwrap();
                                }
                                c
                            })
                        })
                        .collect();
                    for t in tasks {
                        conns.push(t.await.unwrap());
                    }
                    let _ = done.send(start.elapsed());
                }
            });
        });
        Client { jobs: Some(jobs), thread: Some(thread) }
    }

    fn run(&self, round_trips: u64) -> Duration {
        let (tx, rx) = mpsc::channel();
        self.jobs.as_ref().unwrap().send((round_trips, tx)).unwrap();
        rx.recv().unwrap()
    }

    /// Round trips per second over about `dur`.
    fn rate(&self, dur: Duration) -> f64 {
        let mut total = 0u64;
        let mut elapsed = Duration::ZERO;
        let mut batch = 10_000;
        while elapsed < dur {
            elapsed += self.run(batch);
            total += batch;
            batch = (batch * 2).min(200_000);
        }
        total as f64 / elapsed.as_secs_f64()
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

fn main() {
    may::config().set_workers(1);
    let (verde_rt, verde_addr) = verde_server();
    let clients = [
        ("verde", Client::connect(verde_addr)),
        ("may", Client::connect(may_server())),
        ("std_threads", Client::connect(std_server())),
    ];

    let mut c = Criterion::default().sample_size(10).warm_up_time(Duration::from_secs(1)).configure_from_args();
    let mut g = c.benchmark_group("echo_100_connections");
    g.throughput(Throughput::Elements(1));
    for (name, client) in &clients {
        g.bench_function(*name, |b| b.iter_custom(|n| client.run(n)));
    }
    g.finish();
    c.final_summary();

    // The closing comparison: each server twice, interleaved.
    let mut rates = [0.0f64; 3];
    for _ in 0..2 {
        for (i, (_, client)) in clients.iter().enumerate() {
            rates[i] += client.rate(SUMMARY_RUN) / 2.0;
        }
    }
    for ((name, _), rate) in clients.iter().zip(rates) {
        println!("echo summary: {name:<12} {rate:>10.0} req/s");
    }
    println!("echo summary: verde/may {:.2}x, verde/std_threads {:.2}x", rates[0] / rates[1], rates[0] / rates[2]);
    drop(clients);
    drop(verde_rt);
}
