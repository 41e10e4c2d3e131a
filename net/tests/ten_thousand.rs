//! 10,000 echo connections open at once: the server's 10,000 connection
//! coroutines all live on one hub.
//!
//! The clients run in a second process (this binary, re-executed), also on
//! one hub: both ends in one process would need more than 20,000 fds, and
//! RLIMIT_NOFILE's hard limit cannot be raised without CAP_SYS_RESOURCE,
//! which containers often lack. Each process raises its soft limit to what
//! it needs (no privilege required up to the hard limit) and fails with a
//! message naming RLIMIT_NOFILE if even that is not enough.
//!
//! No libtest harness: `main` is the server, or the clients when run as
//! `ten_thousand clients <addr>`.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use verde_net::{TcpListener, TcpStream};
use verde_runtime as verde;
use verde_runtime::event::Event;

#[path = "support/nofile.rs"]
mod nofile;

use nofile::raise_nofile_limit;

const N: usize = 10_000;

/// Spare fds on top of one per connection: stdio, epoll, the listener.
const SPARE_FDS: libc::rlim_t = 256;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("clients") {
        clients(args[2].parse().expect("server address"));
        return;
    }
    server();
    println!("test ten_thousand_concurrent_echo_connections_on_one_hub ... ok");
}

/// Accepts `N` connections and echoes on each from its own coroutine, all
/// on this thread's hub; checks all `N` were open at once.
fn server() {
    raise_nofile_limit(N as libc::rlim_t + SPARE_FDS);
    let start = Instant::now();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .arg("clients")
        .arg(addr.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting the client process");
    let open = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let served = verde::with_timeout(Duration::from_secs(60), || {
        let mut conns = Vec::with_capacity(N);
        for _ in 0..N {
            let (mut s, _) = listener.accept().unwrap();
            let now = open.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            let open = open.clone();
            conns.push(verde::spawn(move || {
                let mut buf = [0; 64];
                loop {
                    let n = s.read(&mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    s.write_all(&buf[..n]).unwrap();
                }
                open.fetch_sub(1, Ordering::SeqCst);
            }));
        }
        for r in verde::joinall(conns) {
            r.unwrap();
        }
    });
    if served.is_err() {
        let _ = child.kill();
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "client process failed: {:?}", out.status);
    assert!(served.is_ok(), "the server did not finish within 60 s");
    assert!(stdout.contains(&format!("clients done {N}")), "client output: {stdout}");
    assert_eq!(peak.load(Ordering::SeqCst), N, "not all connections were open at once");
    let took = start.elapsed();
    assert!(took < Duration::from_secs(30), "took {took:?}");
    println!("{N} concurrent connections served in {took:?}");
}

/// `N` client coroutines on this thread's hub: each connects, echoes once,
/// waits until every client has, echoes again, and closes.
fn clients(addr: SocketAddr) {
    raise_nofile_limit(N as libc::rlim_t + SPARE_FDS);
    let gate = Arc::new(Event::new());
    let echoed = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::with_capacity(N);
    for i in 0..N {
        // Keep the listener's std-sized accept queue (128) from
        // overflowing: at most 64 connections wait for their first echo.
        while i - echoed.load(Ordering::SeqCst) > 64 {
            verde::sleep(Duration::from_millis(1));
        }
        let (gate, echoed) = (gate.clone(), echoed.clone());
        clients.push(verde::spawn(move || {
            let mut c = TcpStream::connect(addr).unwrap();
            let msg = format!("hello {i}");
            let mut buf = vec![0; msg.len()];
            c.write_all(msg.as_bytes()).unwrap();
            c.read_exact(&mut buf).unwrap();
            assert_eq!(buf, msg.as_bytes());
            if echoed.fetch_add(1, Ordering::SeqCst) + 1 == N {
                gate.set();
            }
            // Every connection stays open until all have echoed once.
            gate.wait(None);
            let msg = format!("bye {i}");
            let mut buf = vec![0; msg.len()];
            c.write_all(msg.as_bytes()).unwrap();
            c.read_exact(&mut buf).unwrap();
            assert_eq!(buf, msg.as_bytes());
        }));
    }
    let done = verde::joinall(clients).into_iter().filter(Result::is_ok).count();
    println!("clients done {done}");
}
