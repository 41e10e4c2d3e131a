//! Echo round trips per second over 100 connections, against three
//! servers in one run:
//!
//! * `verde`: `verde::net` on a one-hub `Runtime`, a coroutine per
//!   connection.
//! * `may`: `may::net` on one may worker, a coroutine per connection.
//! * `std_threads`: `std::net` with an OS thread per connection.
//!
//! The client is the same for every server: 100 connections, each sending a
//! 64-byte message and reading the echo back, one at a time, driven by two
//! threads that each run a single-threaded tokio runtime (50 connections
//! apiece). The client is neither verde nor may, so it favours neither.
//! It gets two threads against verde's and may's one so that it out-runs
//! them: with one client thread, the client saturates first and every
//! efficient server measures the same.
//!
//! One iteration is one round trip (criterion's throughput is round trips
//! per second). After criterion's report the bench measures each server
//! twice more, interleaved, and prints req/s, the server's CPU time per
//! round trip (process CPU minus the client threads'), and the ratios from
//! that run. Everything binds 127.0.0.1 and stops on its own.

mod common;
#[path = "common/may_go.rs"]
mod may_go;

use std::net::SocketAddr;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use may_go::may_go;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CONNECTIONS: usize = 100;
/// Load threads: two, so the client out-runs a one-thread server and the
/// server, not the client, sets the pace.
const CLIENT_THREADS: usize = 2;
const MESSAGE: usize = 64;
/// Length of each server's run in the closing comparison.
const SUMMARY_RUN: Duration = Duration::from_secs(2);

/// verde's server on a one-hub runtime; the runtime must outlive its use.
fn verde_server() -> (verde::Runtime, SocketAddr) {
    let rt = verde::Runtime::builder().workers(1).build().unwrap();
    let listener = verde::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(rt.spawn(move || {
        for stream in listener.incoming() {
            let stream = stream.unwrap();
            drop(verde::spawn(move || common::echo(stream)));
        }
    }));
    (rt, addr)
}

/// may's server on one may worker.
fn may_server() -> SocketAddr {
    let listener = may::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    may_go(move || {
        for stream in listener.incoming() {
            let stream = stream.unwrap();
            may_go(move || common::echo(stream));
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
            thread::spawn(move || common::echo(stream));
        }
    });
    addr
}

/// A job for one load thread: make this many round trips, then report the
/// thread's CPU time spent on them.
type Job = (u64, mpsc::Sender<Duration>);

/// The load generator: 100 connections split over `CLIENT_THREADS`
/// threads, each running a single-threaded tokio runtime. `run(n)` makes
/// `n` round trips, spread evenly over the connections, and returns the
/// wall time they took.
struct Client {
    shards: Vec<(mpsc::Sender<Job>, thread::JoinHandle<()>)>,
}

/// A run's outcome: wall time, and the CPU time the load threads used.
struct Run {
    wall: Duration,
    client_cpu: Duration,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let per_thread = CONNECTIONS / CLIENT_THREADS;
        let shards = (0..CLIENT_THREADS)
            .map(|_| {
                let (jobs, rx) = mpsc::channel::<Job>();
                let thread = thread::spawn(move || load_thread(addr, per_thread, rx));
                (jobs, thread)
            })
            .collect();
        Client { shards }
    }

    fn run(&self, round_trips: u64) -> Run {
        let start = Instant::now();
        let shards = self.shards.len() as u64;
        let replies: Vec<_> = self
            .shards
            .iter()
            .enumerate()
            .map(|(i, (jobs, _))| {
                let (tx, rx) = mpsc::channel();
                let n = round_trips / shards + u64::from((i as u64) < round_trips % shards);
                jobs.send((n, tx)).unwrap();
                rx
            })
            .collect();
        let client_cpu = replies.into_iter().map(|rx| rx.recv().unwrap()).sum();
        Run { wall: start.elapsed(), client_cpu }
    }

    /// Round trips per second over about `dur`, and the server's CPU time
    /// per round trip (the process's CPU time minus the load threads').
    fn measure(&self, dur: Duration) -> (f64, Duration) {
        let mut total = 0u64;
        let mut wall = Duration::ZERO;
        let mut client_cpu = Duration::ZERO;
        let mut batch = 10_000;
        let cpu_before = process_cpu();
        while wall < dur {
            let run = self.run(batch);
            wall += run.wall;
            client_cpu += run.client_cpu;
            total += batch;
            batch = (batch * 2).min(200_000);
        }
        let server_cpu = process_cpu().saturating_sub(cpu_before).saturating_sub(client_cpu);
        (total as f64 / wall.as_secs_f64(), server_cpu / total as u32)
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        for (jobs, thread) in self.shards.drain(..) {
            drop(jobs);
            thread.join().unwrap();
        }
    }
}

/// One load thread: `conns` connections on a single-threaded tokio runtime,
/// serving jobs until the channel closes.
fn load_thread(addr: SocketAddr, conns: usize, jobs: mpsc::Receiver<Job>) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_io().build().unwrap();
    rt.block_on(async move {
        let mut streams = Vec::with_capacity(conns);
        for _ in 0..conns {
            let c = tokio::net::TcpStream::connect(addr).await.unwrap();
            c.set_nodelay(true).unwrap();
            streams.push(c);
        }
        // Between jobs the runtime has nothing to do, so waiting for the
        // next one on the std channel blocks nothing.
        while let Ok((round_trips, done)) = jobs.recv() {
            let cpu_before = thread_cpu();
            let tasks: Vec<_> = streams
                .drain(..)
                .enumerate()
                .map(|(i, mut c)| {
                    let n = round_trips / conns as u64 + u64::from((i as u64) < round_trips % conns as u64);
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
                streams.push(t.await.unwrap());
            }
            let _ = done.send(thread_cpu().saturating_sub(cpu_before));
        }
    });
}

fn cpu_time(who: libc::c_int) -> Duration {
    // SAFETY: all zeroes is a valid rusage for the kernel to fill.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid rusage to fill.
    assert_eq!(unsafe { libc::getrusage(who, &mut ru) }, 0);
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// CPU time of the whole process.
fn process_cpu() -> Duration {
    cpu_time(libc::RUSAGE_SELF)
}

/// CPU time of the calling thread.
fn thread_cpu() -> Duration {
    cpu_time(libc::RUSAGE_THREAD)
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
        g.bench_function(*name, |b| b.iter_custom(|n| client.run(n).wall));
    }
    g.finish();
    c.final_summary();

    // The closing comparison: each server twice, interleaved.
    let mut rates = [0.0f64; 3];
    let mut cpu = [Duration::ZERO; 3];
    for _ in 0..2 {
        for (i, (_, client)) in clients.iter().enumerate() {
            let (rate, server_cpu) = client.measure(SUMMARY_RUN);
            rates[i] += rate / 2.0;
            cpu[i] += server_cpu / 2;
        }
    }
    for (((name, _), rate), cpu) in clients.iter().zip(rates).zip(cpu) {
        println!(
            "echo summary: {name:<12} {rate:>10.0} req/s, server CPU {:>5.2} us per round trip",
            cpu.as_secs_f64() * 1e6
        );
    }
    println!("echo summary: verde/may {:.2}x, verde/std_threads {:.2}x", rates[0] / rates[1], rates[0] / rates[2]);
    drop(clients);
    drop(verde_rt);
}
