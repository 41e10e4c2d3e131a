//! 10,000 keep-alive connections: 10,000 clients each make a request, hold
//! their connection open until all of them have, then make two more
//! requests on the same connection. The server (one worker) sees 30,000
//! requests over exactly 10,000 connections.
//!
//! The clients run in a child process (this binary, re-run as
//! `ten_thousand clients <addr>`), one coroutine each on one hub: both ends
//! in one process would need more than 20,000 file descriptors, and
//! RLIMIT_NOFILE's hard limit is 20,000 here and cannot be raised. Each
//! process raises its soft limit to what it needs.
//!
//! No libtest harness: `main` is the server, or the clients.

mod common;
#[path = "../../net/tests/support/nofile.rs"]
mod nofile;

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{builder, ChildGuard, TestServer};
use nofile::raise_nofile_limit;
use verde_http::{Request, Response};
use verde_net::TcpStream;
use verde_runtime::event::Event;

const N: usize = 10_000;
const REQUESTS_PER_CONNECTION: usize = 3;
/// File descriptors beyond one per connection: stdio, epolls, listeners.
const SPARE_FDS: libc::rlim_t = 256;
/// The whole test must end by then, even if something hangs.
const DEADLINE: Duration = Duration::from_secs(120);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("clients") {
        clients(args[2].parse().expect("server address"));
        return;
    }
    server();
    println!("test ten_thousand_keep_alive_connections ... ok");
}

fn server() {
    raise_nofile_limit(N as libc::rlim_t + SPARE_FDS);
    let started = Instant::now();
    let requests = Arc::new(AtomicUsize::new(0));
    let connections = Arc::new(Mutex::new(HashSet::new()));
    let (r, c) = (requests.clone(), connections.clone());
    let server = TestServer::start(builder().workers(1), move |req: &mut Request<'_>| {
        let port = req.peer_addr().map_or(0, |a| a.port());
        r.fetch_add(1, Ordering::Relaxed);
        c.lock().unwrap().insert(port);
        Response::text(port.to_string())
    });
    let child = Command::new(std::env::current_exe().unwrap())
        .arg("clients")
        .arg(server.addr().to_string())
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting the client process");
    let mut guard = ChildGuard(child);
    let status = loop {
        if let Some(status) = guard.0.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < DEADLINE, "the clients did not finish within {DEADLINE:?}");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stdout = String::new();
    guard.0.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    assert!(status.success(), "the client process failed: {status:?}; output: {stdout}");
    assert!(stdout.contains(&format!("clients done {N}")), "client output: {stdout}");
    assert_eq!(requests.load(Ordering::SeqCst), N * REQUESTS_PER_CONNECTION);
    assert_eq!(connections.lock().unwrap().len(), N, "every client kept one connection for all its requests");
    server.stop();
    println!("{N} keep-alive connections, {} requests, in {:?}", N * REQUESTS_PER_CONNECTION, started.elapsed());
}

/// One request and its response on `c`; returns the body.
fn request(c: &mut TcpStream, buf: &mut Vec<u8>) -> String {
    c.write_all(b"GET /ten-thousand HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    buf.clear();
    let mut chunk = [0u8; 1024];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = c.read(&mut chunk).unwrap();
        assert!(n > 0, "the server closed a keep-alive connection");
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..head_end]).unwrap().to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200 "), "{head}");
    assert!(!head.contains("connection: close"), "{head}");
    let len: usize =
        head.lines().find_map(|l| l.strip_prefix("content-length:")).expect("a Content-Length").trim().parse().unwrap();
    while buf.len() < head_end + len {
        let n = c.read(&mut chunk).unwrap();
        assert!(n > 0, "the server closed mid-response");
        buf.extend_from_slice(&chunk[..n]);
    }
    assert_eq!(buf.len(), head_end + len, "bytes beyond the response");
    String::from_utf8(buf[head_end..].to_vec()).unwrap()
}

fn clients(addr: SocketAddr) {
    raise_nofile_limit(N as libc::rlim_t + SPARE_FDS);
    let all_connected = Arc::new(Event::new());
    let first_done = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::with_capacity(N);
    for i in 0..N {
        // Keep the server's accept queue from overflowing: at most 256
        // clients wait for their first answer.
        while i - first_done.load(Ordering::SeqCst) > 256 {
            verde_runtime::sleep(Duration::from_millis(1));
        }
        let (all_connected, first_done) = (all_connected.clone(), first_done.clone());
        handles.push(verde_runtime::spawn(move || {
            let mut c = TcpStream::connect(addr).unwrap();
            c.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
            let port = c.local_addr().unwrap().port().to_string();
            let mut buf = Vec::with_capacity(256);
            assert_eq!(request(&mut c, &mut buf), port);
            if first_done.fetch_add(1, Ordering::SeqCst) + 1 == N {
                all_connected.set();
            }
            // Every connection stays open until all have been served once.
            all_connected.wait(None);
            for _ in 1..REQUESTS_PER_CONNECTION {
                assert_eq!(request(&mut c, &mut buf), port, "a request came over another connection");
            }
        }));
    }
    let done = verde_runtime::joinall(handles).into_iter().filter(Result::is_ok).count();
    println!("clients done {done}");
}
