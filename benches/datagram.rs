//! UDP echo round trips per second, against these servers in one run:
//!
//! * `verde_datagram_server`: `verde::net::DatagramServer`, gevent's
//!   server: a handler coroutine per datagram, on a one-hub `Runtime`.
//! * `verde_loop`: one verde coroutine that receives and echoes in a loop,
//!   what the server costs above the sockets.
//! * `may_loop`: the same loop on `may::net::UdpSocket`, one may worker.
//! * `tokio_loop`: the same loop on a current-thread tokio runtime.
//! * `std_thread`: the same loop on `std::net` in an OS thread.
//! * `gevent_datagram_server`: gevent's `DatagramServer` in a Python
//!   child process, when `python3 -c 'import gevent'` works (else skipped).
//!
//! Each loop receives into a 64 KiB heap buffer, as the `DatagramServer`
//! does (on the stack it would overflow may's default coroutine stack).
//!
//! The client is the same for every server: one OS thread with
//! `IN_FLIGHT` std sockets, each sending a 64-byte datagram, then reading
//! every echo back, round after round. One iteration is one round trip.
//! Everything binds 127.0.0.1 and stops on its own.

#[path = "common/may_go.rs"]
mod may_go;

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use may_go::may_go;

/// Datagrams in flight at once: enough that the server, not the client's
/// wait for each echo, sets the pace, and few enough that a receive
/// buffer never overflows (UDP would drop, and the client would hang).
const IN_FLIGHT: usize = 32;
const MESSAGE: usize = 64;

/// verde's `DatagramServer` on a one-hub runtime, which must outlive it.
fn verde_datagram_server() -> (verde::Runtime, SocketAddr) {
    let rt = verde::Runtime::builder().workers(1).build().unwrap();
    let server = verde::net::DatagramServer::bind("127.0.0.1:0", |socket: &verde::net::UdpSocket, data, from| {
        socket.send_to(&data, from).unwrap();
    })
    .unwrap();
    let addr = server.local_addr().unwrap();
    drop(rt.spawn(move || server.serve_forever()));
    (rt, addr)
}

/// One verde coroutine echoing in a loop, on a one-hub runtime.
fn verde_loop() -> (verde::Runtime, SocketAddr) {
    let rt = verde::Runtime::builder().workers(1).build().unwrap();
    let socket = verde::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    drop(rt.spawn(move || {
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let (n, from) = socket.recv_from(&mut buf).unwrap();
            socket.send_to(&buf[..n], from).unwrap();
        }
    }));
    (rt, addr)
}

/// may's loop, on one may worker.
fn may_loop() -> SocketAddr {
    let socket = may::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    may_go(move || {
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let (n, from) = socket.recv_from(&mut buf).unwrap();
            socket.send_to(&buf[..n], from).unwrap();
        }
    });
    addr
}

/// tokio's loop, on a current-thread runtime in a thread of its own.
fn tokio_loop() -> SocketAddr {
    let std_socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    std_socket.set_nonblocking(true).unwrap();
    let addr = std_socket.local_addr().unwrap();
    thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_io().build().unwrap();
        rt.block_on(async move {
            let socket = tokio::net::UdpSocket::from_std(std_socket).unwrap();
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let (n, from) = socket.recv_from(&mut buf).await.unwrap();
                socket.send_to(&buf[..n], from).await.unwrap();
            }
        });
    });
    addr
}

/// std's loop, in an OS thread.
fn std_thread() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let (n, from) = socket.recv_from(&mut buf).unwrap();
            socket.send_to(&buf[..n], from).unwrap();
        }
    });
    addr
}

/// gevent's server in a child process, killed on drop.
struct Gevent(Child);

/// The server the child runs: an echo `DatagramServer`, its port printed.
const GEVENT_SERVER: &str = "\
from gevent.server import DatagramServer
class Echo(DatagramServer):
    def handle(self, data, address):
        self.socket.sendto(data, address)
s = Echo(('127.0.0.1', 0))
s.start()
print(s.address[1], flush=True)
s.serve_forever()
";

impl Gevent {
    /// Starts the child, or `None` where gevent is not installed.
    fn start() -> Option<(Gevent, SocketAddr)> {
        let mut child = Command::new("python3")
            .args(["-c", GEVENT_SERVER])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let mut line = String::new();
        BufReader::new(child.stdout.take()?).read_line(&mut line).ok()?;
        let server = Gevent(child);
        let port = line.trim().parse::<u16>().ok()?;
        Some((server, SocketAddr::from(([127, 0, 0, 1], port))))
    }
}

impl Drop for Gevent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The client: `IN_FLIGHT` sockets, each with one datagram out at a time.
struct Client {
    sockets: Vec<UdpSocket>,
    server: SocketAddr,
}

impl Client {
    fn new(server: SocketAddr) -> Client {
        let sockets = (0..IN_FLIGHT)
            .map(|_| {
                let s = UdpSocket::bind("127.0.0.1:0").unwrap();
                // A lost datagram fails the run instead of hanging it.
                s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                s
            })
            .collect();
        Client { sockets, server }
    }

    /// Makes at least `round_trips` round trips; returns the time taken.
    fn run(&self, round_trips: u64) -> Duration {
        let rounds = round_trips.div_ceil(IN_FLIGHT as u64);
        let out = [7u8; MESSAGE];
        let mut back = [0u8; MESSAGE];
        let start = Instant::now();
        for _ in 0..rounds {
            for s in &self.sockets {
                s.send_to(&out, self.server).unwrap();
            }
            for s in &self.sockets {
                let (n, _) = s.recv_from(&mut back).expect("an echo within 10 s");
                assert_eq!(n, MESSAGE);
            }
        }
        start.elapsed()
    }
}

fn main() {
    may::config().set_workers(1);
    let (server_rt, server_addr) = verde_datagram_server();
    let (loop_rt, loop_addr) = verde_loop();
    let gevent = Gevent::start();
    let mut clients = vec![
        ("verde_datagram_server", Client::new(server_addr)),
        ("verde_loop", Client::new(loop_addr)),
        ("may_loop", Client::new(may_loop())),
        ("tokio_loop", Client::new(tokio_loop())),
        ("std_thread", Client::new(std_thread())),
    ];
    match &gevent {
        Some((_, addr)) => clients.push(("gevent_datagram_server", Client::new(*addr))),
        None => eprintln!("datagram: gevent is not installed (pip install gevent): its server is skipped"),
    }

    let mut c = Criterion::default().sample_size(10).warm_up_time(Duration::from_secs(1)).configure_from_args();
    let mut g = c.benchmark_group("udp_echo_32_in_flight");
    g.throughput(Throughput::Elements(1));
    for (name, client) in &clients {
        g.bench_function(*name, |b| b.iter_custom(|n| client.run(n)));
    }
    g.finish();
    c.final_summary();
    drop(clients);
    drop(gevent);
    drop(server_rt);
    drop(loop_rt);
}
