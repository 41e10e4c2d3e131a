//! Unmodified blocking Rust code under `patch_all!()`: `std::net`,
//! `std::thread::sleep` and the ureq HTTP client, 100 coroutines at once
//! on one hub, against a local HTTP server that answers after a delay.

verde::patch_all!();

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

const CLIENTS: usize = 100;
const DELAY: Duration = Duration::from_millis(300);

/// A std HTTP server in coroutines: reads a request head, waits `DELAY`
/// (in `std::thread::sleep`), answers with the request's path, closes.
fn slow_http_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(verde::spawn(move || {
        for conn in listener.incoming() {
            // The hub's teardown kills this loop: accept fails with ECANCELED.
            let Ok(conn) = conn else { return };
            drop(verde::spawn(move || {
                let mut reader = BufReader::new(&conn);
                let mut request_line = String::new();
                reader.read_line(&mut request_line).unwrap();
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap() > 2 {
                    line.clear();
                }
                let path = request_line.split_whitespace().nth(1).unwrap_or("/").to_owned();
                std::thread::sleep(DELAY);
                let reply =
                    format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{path}", path.len());
                (&conn).write_all(reply.as_bytes()).unwrap();
            }));
        }
    }));
    addr
}

/// Runs `client(i)` in `CLIENTS` coroutines and returns the time they took
/// together, checking that each got its own path back.
fn all_at_once(client: impl Fn(usize) -> String + Clone + Send + 'static) -> Duration {
    let (replies, elapsed) = common::all_at_once(CLIENTS, client);
    for (i, reply) in replies.iter().enumerate() {
        assert!(reply.ends_with(&format!("/client/{i}")), "{reply:?}");
    }
    elapsed
}

/// `rounds` delays each; serially it would be `CLIENTS` times that. A
/// quarter of that is a bound no busy machine reaches when they overlap.
fn assert_concurrent(what: &str, elapsed: Duration, rounds: u32) {
    let serial = DELAY * rounds * CLIENTS as u32;
    eprintln!("{what}: {CLIENTS} clients in {elapsed:?} (one client: {:?})", DELAY * rounds);
    assert!(elapsed < serial / 4, "{what}: took {elapsed:?}; serially it would take {serial:?}");
}

#[test]
fn std_tcp_stream_and_thread_sleep_overlap() {
    let addr = slow_http_server();
    let elapsed = all_at_once(move |i| {
        let mut stream = TcpStream::connect(addr).unwrap();
        write!(stream, "GET /client/{i} HTTP/1.1\r\nHost: test\r\n\r\n").unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).unwrap();
        std::thread::sleep(DELAY);
        reply
    });
    // The server's delay, then the client's own sleep.
    assert_concurrent("std::net + std::thread::sleep", elapsed, 2);
}

#[test]
fn ureq_requests_overlap() {
    let addr = slow_http_server();
    let elapsed = all_at_once(move |i| {
        // A name, not an address: the lookup goes through the patched
        // getaddrinfo.
        let url = format!("http://localhost:{}/client/{i}", addr.port());
        ureq::get(&url).call().unwrap().into_body().read_to_string().unwrap()
    });
    assert_concurrent("ureq", elapsed, 1);
}
