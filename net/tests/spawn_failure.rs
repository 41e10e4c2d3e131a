//! Out of memory for coroutine stacks: a `StreamServer` whose handler's
//! coroutine cannot be created drops that one connection, logs the error
//! (naming the limit) once per episode, pauses, and keeps serving once
//! running handlers free their stacks. It never stops over it.
//!
//! The scenario lowers RLIMIT_AS, so it runs in a child process: this
//! binary (no libtest harness) re-executes itself with `starve` and checks
//! what the child reports.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

use verde_net::{StreamServer, TcpStream};
use verde_runtime::event::Event;

#[path = "common/address_space.rs"]
mod address_space;
use address_space::{address_space, limit_address_space};

#[path = "common/child.rs"]
mod child;
use child::{field, run_child, LogCounter};

#[path = "common/wait_until.rs"]
mod wait_until;
use wait_until::wait_until;

/// Address space left free under the lowered limit: room for the heap's
/// small needs, not for the slabs of stacks the held handlers go on to
/// need (they double in size, up to 40 MiB).
const HEADROOM: usize = 24 << 20;
/// Held connections at the most before the test gives up on a failure.
const MOST_HELD: usize = 600;

fn main() {
    if std::env::args().nth(1).as_deref() == Some("starve") {
        starve();
        return;
    }
    let (stdout, stderr) = run_child("starve");
    assert_eq!(field(&stdout, "errors"), 1, "one log line per episode; stderr: {stderr}");
    assert!(stderr.contains("RLIMIT_AS"), "the error names the limit; stderr: {stderr}");
    assert_eq!(field(&stdout, "dropped"), 1, "stdout: {stdout}");
    assert_eq!(field(&stdout, "served_after"), 1, "stdout: {stdout}");
    assert_eq!(field(&stdout, "held_replies"), field(&stdout, "held"), "every held handler finished; stdout: {stdout}");
    println!("test spawn_failure_backoff ... ok ({})", stdout.trim());
}

/// Counts the errors verde logs about starting a handler.
static ERRORS: LogCounter = LogCounter::new(log::Level::Error, "cannot start a coroutine");

fn starve() {
    ERRORS.install();
    let release = Arc::new(Event::new());
    let r = release.clone();
    // A client that sends `h` is held until the release; any other byte
    // is answered at once.
    let server = StreamServer::bind("127.0.0.1:0", move |mut s: TcpStream, _| {
        let mut cmd = [0u8; 1];
        if s.read_exact(&mut cmd).is_err() {
            return;
        }
        if cmd[0] == b'h' {
            r.wait(None);
        }
        let _ = s.write_all(b"ok");
    })
    .unwrap();
    let addr = server.local_addr().unwrap();
    server.start().unwrap();
    let held: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
    let hold_one = || {
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(b"h").unwrap();
        c
    };
    // Warm up: the first slab of stacks and the heap's arenas exist
    // before the limit drops.
    for _ in 0..4 {
        held.lock().unwrap().push(hold_one());
    }
    wait_until("four handlers run", || server.connections() == 4);
    limit_address_space(address_space() + HEADROOM);

    // Hold connections until a handler cannot start.
    let mut dropped = None;
    while dropped.is_none() {
        assert!(held.lock().unwrap().len() < MOST_HELD, "no spawn failed under RLIMIT_AS");
        let before = server.connections();
        let mut c = hold_one();
        wait_until("a handler starts, or fails to", || server.connections() > before || ERRORS.count() > 0);
        if server.connections() > before {
            held.lock().unwrap().push(c);
        } else {
            // Dropped: the client reads end of file, or a reset.
            let mut rest = Vec::new();
            let _ = c.read_to_end(&mut rest);
            assert!(rest.is_empty(), "a dropped connection got {rest:?}");
            dropped = Some(c);
        }
    }
    assert!(server.is_started(), "the server stopped");

    // The held handlers finish and free their stacks: the server serves
    // the next client once its pause is over.
    release.set();
    let held = std::mem::take(&mut *held.lock().unwrap());
    let count = held.len();
    let mut replies = 0;
    for mut c in held {
        let mut reply = Vec::new();
        c.read_to_end(&mut reply).unwrap();
        replies += usize::from(reply == b"ok");
    }
    wait_until("the handlers end", || server.connections() == 0);
    let mut c = TcpStream::connect(addr).unwrap();
    c.write_all(b"q").unwrap();
    let mut reply = Vec::new();
    c.read_to_end(&mut reply).unwrap();
    assert!(server.is_started(), "the server stopped");
    server.stop(None);
    println!(
        "held {count} held_replies {replies} dropped {} served_after {} errors {}",
        usize::from(dropped.is_some()),
        usize::from(reply == b"ok"),
        ERRORS.count()
    );
}
