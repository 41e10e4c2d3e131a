//! The seeds' `business_foo`: a request handler that makes three blocking
//! calls, taking 1 s, 3 s and 1 s. One after another they take 5 s; in
//! three coroutines they overlap and take about 3 s, while each call is
//! still plain blocking code (connect, write, read).
//!
//! ```sh
//! cargo run --release --example fan_out
//! ```
//!
//! The three "remote services" are local TCP servers this example starts
//! itself on 127.0.0.1, each answering after its delay. Everything runs on
//! one hub: the main thread's.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use verde::net::{TcpListener, TcpStream};

/// The calls `business_foo` makes, and how long each service takes.
const CALLS: [(&str, Duration); 3] = [
    ("network request 1", Duration::from_secs(1)),
    ("network request 2", Duration::from_secs(3)),
    ("write to mongodb", Duration::from_secs(1)),
];

fn main() {
    let services: Vec<(&str, SocketAddr)> = CALLS.iter().map(|&(name, delay)| (name, start_service(delay))).collect();

    let start = Instant::now();
    let calls: Vec<_> = services
        .into_iter()
        .map(|(name, addr)| {
            verde::spawn(move || {
                let reply = call(addr, name);
                println!("{name}: {reply} after {:.2} s", start.elapsed().as_secs_f64());
            })
        })
        .collect();
    for result in verde::joinall(calls) {
        result.expect("a call failed");
    }
    let sequential: Duration = CALLS.iter().map(|&(_, d)| d).sum();
    println!(
        "business_foo: elapsed {:.2} s (one call after another: {} s)",
        start.elapsed().as_secs_f64(),
        sequential.as_secs()
    );
}

/// One blocking request/response exchange with the service at `addr`.
fn call(addr: SocketAddr, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    writeln!(stream, "{request}").expect("send request");
    let mut reply = String::new();
    BufReader::new(stream).read_line(&mut reply).expect("read reply");
    reply.trim_end().to_owned()
}

/// Starts a service that answers each request line with "done" after
/// `delay`; returns its address.
fn start_service(delay: Duration) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("local address");
    verde::spawn(move || {
        for stream in listener.incoming() {
            let stream = stream.expect("accept");
            verde::spawn(move || {
                let mut reader = BufReader::new(&stream);
                let mut request = String::new();
                reader.read_line(&mut request).expect("read request");
                verde::sleep(delay);
                (&stream).write_all(b"done\n").expect("send reply");
            });
        }
    });
    addr
}
