//! Graceful shutdown by signal: a server with `handle_signals` on, in a
//! child process, gets SIGTERM (or SIGINT) while a request is in flight.
//! The request completes with `Connection: close`, idle keep-alive
//! connections close, `serve` returns, and the process exits cleanly.
//!
//! No libtest harness: the server runs in a child (this binary, re-run as
//! `shutdown_signal server`), so the signal reaches nothing else.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use common::{ChildGuard, Raw, LONG};
use verde_http::{Request, Response, Server};

fn main() {
    if std::env::args().nth(1).as_deref() == Some("server") {
        server();
        return;
    }
    for (signal, name) in [(libc::SIGTERM, "SIGTERM"), (libc::SIGINT, "SIGINT")] {
        shutdown_by(signal);
        println!("test graceful_shutdown_on_{name} ... ok");
    }
}

/// The child: a server whose `/slow` handler announces itself on stdout
/// and sleeps 300 ms.
fn server() {
    let server = Server::builder()
        .workers(1)
        .handle_signals(true)
        .shutdown_grace(Duration::from_secs(5))
        .bind("127.0.0.1:0")
        .expect("binding");
    println!("listening {}", server.local_addr());
    std::io::stdout().flush().unwrap();
    server
        .serve(|req: &mut Request<'_>| {
            if req.path() == "/slow" {
                println!("in handler");
                std::io::stdout().flush().unwrap();
                verde_runtime::sleep(Duration::from_millis(300));
                return Response::text("slow done");
            }
            Response::text("quick")
        })
        .expect("serve failed");
    println!("serve returned");
}

fn next_line(out: &mut BufReader<ChildStdout>) -> String {
    let mut line = String::new();
    out.read_line(&mut line).expect("reading the server's output");
    line.trim_end().to_string()
}

fn shutdown_by(signal: libc::c_int) {
    let child = Command::new(std::env::current_exe().unwrap())
        .arg("server")
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting the server process");
    let mut guard = ChildGuard(child);
    let mut out = BufReader::new(guard.0.stdout.take().unwrap());
    let first = next_line(&mut out);
    let addr = first.strip_prefix("listening ").unwrap_or_else(|| panic!("unexpected output {first:?}"));
    let addr = addr.parse().unwrap();

    // A served request proves serve is running, with its signal handler.
    let mut idle = Raw::connect(addr);
    idle.get("/");
    assert_eq!(idle.response().text(), "quick");
    let mut busy = Raw::connect(addr);
    busy.get("/slow");
    assert_eq!(next_line(&mut out), "in handler");

    let pid = guard.0.id() as libc::pid_t;
    // SAFETY: kill(2) with the pid of our own child, which has not been
    // reaped (the guard reaps it), so the pid cannot have been reused.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);

    let r = busy.response();
    assert_eq!((r.status, r.text().as_str()), (200, "slow done"), "the request in flight completes");
    assert!(r.says_close(), "{r:?}");
    busy.expect_closed();
    idle.expect_closed();

    let deadline = Instant::now() + LONG;
    let status = loop {
        if let Some(status) = guard.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the server process did not exit after the signal");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(status.success(), "the server process failed: {status:?}");
    assert_eq!(next_line(&mut out), "serve returned");
}
