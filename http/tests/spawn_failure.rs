//! Out of memory for coroutine stacks: when a connection's coroutine
//! cannot be created, the server closes that connection, logs the error
//! (naming the limit) once per episode, pauses accepting, and serves again
//! once running connections free their stacks. It never stops over it.
//!
//! No libtest harness: the scenario lowers RLIMIT_AS and installs a
//! logger, so it runs in a child process, which this binary re-executes
//! itself as (with `starve`), and checks what the child reports.

mod common;

#[path = "../../net/tests/common/address_space.rs"]
mod address_space;
#[path = "../../net/tests/common/child.rs"]
mod child;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use address_space::{address_space, limit_address_space};
use child::{field, run_child, LogCounter};
use common::{builder, wait_until, Raw, TestServer, LONG};
use verde_http::{Request, Response};
use verde_runtime::event::Event;

/// Address space left free under the lowered limit: room for the heap's
/// small needs, not for the slabs of stacks the held requests go on to
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
    assert_eq!(field(&stdout, "served_after"), 1, "stdout: {stdout}");
    assert_eq!(
        field(&stdout, "held_replies"),
        field(&stdout, "held"),
        "every held request was answered; stdout: {stdout}"
    );
    println!("test spawn_failure_backoff ... ok ({})", stdout.trim());
}

/// Counts the errors verde-http logs about starting a connection.
static ERRORS: LogCounter = LogCounter::new(log::Level::Error, "cannot start a coroutine");

fn starve() {
    ERRORS.install();
    let release = Arc::new(Event::new());
    let entered = Arc::new(AtomicUsize::new(0));
    let (r, e) = (release.clone(), entered.clone());
    // `/hold` is answered after the release, anything else at once.
    let server = TestServer::start(builder(), move |req: &mut Request<'_>| {
        if req.path() == "/hold" {
            e.fetch_add(1, Ordering::SeqCst);
            r.wait(None);
        }
        Response::text("ok")
    });
    // Each held request closes its connection once answered, so that its
    // coroutine ends and frees its stack.
    let hold_one = || {
        let mut c = Raw::connect(server.addr());
        c.send("GET /hold HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
        c
    };
    // Warm up: the first slab of stacks and the heap's arenas exist
    // before the limit drops.
    let mut held: Vec<Raw> = (0..4).map(|_| hold_one()).collect();
    assert!(wait_until(LONG, || entered.load(Ordering::SeqCst) == 4));
    limit_address_space(address_space() + HEADROOM);

    // Hold requests until a connection's coroutine cannot start.
    while ERRORS.count() == 0 {
        assert!(held.len() < MOST_HELD, "no spawn failed under RLIMIT_AS");
        let before = entered.load(Ordering::SeqCst);
        let mut c = hold_one();
        let started = || entered.load(Ordering::SeqCst) > before || ERRORS.count() > 0;
        assert!(wait_until(LONG, started), "the request neither started nor failed");
        if entered.load(Ordering::SeqCst) > before {
            held.push(c);
        } else {
            c.expect_closed();
        }
    }

    // The held requests finish and free their stacks: the server answers
    // the next client once its pause is over.
    release.set();
    let count = held.len();
    let mut replies = 0;
    for mut c in held {
        replies += usize::from(c.response().status == 200);
        c.expect_closed();
    }
    // Each held connection's coroutine ends just after closing it, on the
    // server's thread: a request that comes before its stack is free is
    // dropped as well (the same episode, logged once), so the client
    // retries.
    let served_after = wait_until(LONG, || {
        let mut c = Raw::connect(server.addr());
        c.get("/");
        c.try_response(false).is_ok_and(|r| r.status == 200)
    });
    server.stop();
    println!(
        "held {count} held_replies {replies} served_after {} errors {}",
        usize::from(served_after),
        ERRORS.count()
    );
}
