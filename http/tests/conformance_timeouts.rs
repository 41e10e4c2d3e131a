//! Timeouts for slow clients: reading the head (slowloris), reading the
//! body, idle keep-alive connections, and clients that stop reading.
//!
//! Timeouts here are 200 ms to 2 s; a test only asserts that one fires within
//! ten seconds (and, for the idle timeout, not right away).

mod common;

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::{builder, wait_until, End, TestServer, LONG};
use verde_http::{Request, Response, StatusCode, Timeouts};

fn timeouts(header: u64, body: u64, idle: u64, write: u64) -> Timeouts {
    Timeouts {
        header: Duration::from_millis(header),
        body: Duration::from_millis(body),
        idle: Duration::from_millis(idle),
        write: Duration::from_millis(write),
        ..Timeouts::default()
    }
}

fn echo(req: &mut Request<'_>) -> Response {
    match req.body().read_all() {
        Ok(body) => Response::new(StatusCode::OK).with_body(body),
        Err(e) => Response::error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

#[test]
fn a_stalled_head_gets_408() {
    let server = TestServer::start(builder().timeouts(timeouts(300, 10_000, 10_000, 10_000)), echo);
    let mut c = server.connect();
    c.send("GET / HTTP/1.1\r\nHost: t\r\nX-Half: ");
    let started = Instant::now();
    let r = c.response();
    assert_eq!(r.status, 408, "{r:?}");
    assert!(r.says_close());
    c.expect_closed();
    assert!(started.elapsed() < LONG);
    server.stop();
}

#[test]
fn a_slowloris_gets_408_after_the_header_timeout() {
    let server = TestServer::start(builder().timeouts(timeouts(300, 10_000, 10_000, 10_000)), echo);
    let mut c = server.connect();
    c.send("GET / HTTP/1.1\r\nHost: t\r\n");
    // One more header byte every 50 ms: each read is quick, but the head
    // never completes.
    let mut writer = c.stream.try_clone().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let dripper = thread::spawn(move || {
        let deadline = Instant::now() + LONG + LONG;
        while !stop2.load(Ordering::SeqCst) && Instant::now() < deadline {
            if writer.write_all(b"x").is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
    });
    let started = Instant::now();
    let r = c.try_response(false);
    stop.store(true, Ordering::SeqCst);
    dripper.join().unwrap();
    let r = r.unwrap_or_else(|e| panic!("no 408 after {:?}: {e}", started.elapsed()));
    assert_eq!(r.status, 408, "{r:?}");
    assert!(started.elapsed() < LONG);
    c.expect_closed();
    server.stop();
}

#[test]
fn a_stalled_body_gets_408() {
    let server = TestServer::start(builder().timeouts(timeouts(10_000, 300, 10_000, 10_000)), echo);
    for request in [
        "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n012",
        "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
        "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n",
    ] {
        let mut c = server.connect();
        c.send(request);
        let r = c.response();
        assert_eq!(r.status, 408, "{request:?}: {r:?}");
        assert!(r.says_close());
        c.expect_closed();
    }
    server.stop();
}

#[test]
fn the_body_timeout_bounds_each_wait_not_the_whole_body() {
    // With the rate floor off, only each wait is bounded.
    let t = Timeouts { min_rate: 0, ..timeouts(10_000, 1000, 10_000, 10_000) };
    let server = TestServer::start(builder().timeouts(t), echo);
    let mut c = server.connect();
    c.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 24\r\n\r\n");
    // 24 bytes, 60 ms apart: 1.4 s in all, longer than one wait.
    for b in b"slow-upload!slow-upload!" {
        c.send([*b]);
        thread::sleep(Duration::from_millis(60));
    }
    let r = c.response();
    assert_eq!((r.status, r.text().as_str()), (200, "slow-upload!slow-upload!"));
    server.stop();
}

#[test]
fn idle_connections_are_closed_after_the_idle_timeout() {
    let server = TestServer::start(builder().timeouts(timeouts(10_000, 10_000, 300, 10_000)), echo);
    let mut c = server.connect();
    // Timed from before the request, so a late-running test thread cannot
    // make the wait look shorter than it was.
    let idle_from = Instant::now();
    c.get("/");
    assert_eq!(c.response().status, 200);
    assert_eq!(c.end(LONG), End::Closed, "an idle keep-alive connection was not closed");
    let waited = idle_from.elapsed();
    assert!(waited >= Duration::from_millis(250), "closed after {waited:?}, before the idle timeout");
    // A connection that never sends a request is idle too.
    let mut c = server.connect();
    assert_eq!(c.end(LONG), End::Closed);
    server.stop();
}

#[test]
fn a_slow_handler_is_not_an_idle_connection() {
    let server = TestServer::start(builder().timeouts(timeouts(200, 200, 200, 10_000)), |_: &mut Request<'_>| {
        verde_runtime::sleep(Duration::from_millis(700));
        Response::text("worth the wait")
    });
    let mut c = server.connect();
    c.get("/");
    let r = c.response();
    assert_eq!((r.status, r.text().as_str()), (200, "worth the wait"));
    server.stop();
}

/// An endless body that records how much was produced and when it is
/// dropped (the server gave up on the connection).
struct Endless {
    produced: Arc<AtomicU64>,
    dropped: Arc<AtomicBool>,
}

impl Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        buf.fill(b'e');
        self.produced.fetch_add(buf.len() as u64, Ordering::SeqCst);
        Ok(buf.len())
    }
}

impl Drop for Endless {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::SeqCst);
    }
}

#[test]
fn a_client_that_stops_reading_a_stream_is_dropped() {
    let produced = Arc::new(AtomicU64::new(0));
    let dropped = Arc::new(AtomicBool::new(false));
    let (p, d) = (produced.clone(), dropped.clone());
    let server =
        TestServer::start(builder().timeouts(timeouts(10_000, 10_000, 10_000, 200)), move |_: &mut Request<'_>| {
            Response::new(StatusCode::OK).with_stream(Endless { produced: p.clone(), dropped: d.clone() })
        });
    let mut c = server.connect();
    c.get("/endless");
    // Never read: the socket buffers fill, the server's write waits, and
    // the write timeout ends the connection.
    assert!(wait_until(LONG, || dropped.load(Ordering::SeqCst)), "the server kept the non-reading client");
    let sent = produced.load(Ordering::SeqCst);
    // The client still gets what was buffered, then the end.
    let mut got = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match c.stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n as u64,
        }
    }
    assert!(got <= sent + 1024, "received {got} bytes of {sent} produced");
    server.stop();
}

/// Waits until the server has dropped its only connection: with
/// `max_connections(1)`, a second one is served only then.
fn wait_for_the_only_slot(server: &TestServer) {
    let mut probe = server.connect();
    probe.get("/probe");
    let r = probe.try_response(false).expect("the server kept the connection of a client that did not read");
    assert_eq!(r.text(), "probe");
}

/// Reads until the end and returns how many bytes came.
fn read_all_there_is(c: &mut common::Raw) -> usize {
    let mut got = 0;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        match c.stream.read(&mut buf) {
            Ok(0) | Err(_) => return got,
            Ok(n) => got += n,
        }
    }
}

#[test]
fn a_client_that_stops_reading_a_large_body_is_dropped() {
    const SIZE: usize = 64 * 1024 * 1024;
    let b = builder().max_connections(1).timeouts(timeouts(10_000, 10_000, 10_000, 200));
    let server = TestServer::start(b, |req: &mut Request<'_>| match req.path() {
        "/probe" => Response::text("probe"),
        _ => Response::new(StatusCode::OK).with_body(vec![b'b'; SIZE]),
    });
    let mut c = server.connect();
    c.get("/big");
    wait_for_the_only_slot(&server);
    assert!(read_all_there_is(&mut c) < SIZE, "the whole body arrived after the server gave up");
    server.stop();
}

#[test]
fn a_client_that_pipelines_without_reading_is_dropped() {
    const REQUESTS: usize = 20_000;
    let b = builder().max_connections(1).timeouts(timeouts(10_000, 10_000, 10_000, 200));
    let server = TestServer::start(b, |req: &mut Request<'_>| match req.path() {
        "/probe" => Response::text("probe"),
        _ => Response::new(StatusCode::OK).with_body(vec![b'p'; 8 * 1024]),
    });
    let mut c = server.connect();
    let mut writer = c.stream.try_clone().unwrap();
    let t = thread::spawn(move || {
        let all = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n".repeat(REQUESTS);
        // The server stops reading, then closes: the write may fail.
        let _ = writer.write_all(&all);
    });
    wait_for_the_only_slot(&server);
    assert!(read_all_there_is(&mut c) < REQUESTS * 8 * 1024, "every response arrived after the server gave up");
    t.join().unwrap();
    server.stop();
}

/// Writes `bytes` one at a time, `gap` apart, until told to stop.
fn drip(
    mut writer: std::net::TcpStream,
    bytes: Vec<u8>,
    gap: Duration,
    stop: Arc<AtomicBool>,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        for b in bytes {
            if stop.load(Ordering::SeqCst) || writer.write_all(&[b]).is_err() {
                return;
            }
            thread::sleep(gap);
        }
    })
}

#[test]
fn a_body_trickled_below_the_rate_floor_gets_408() {
    // Each byte arrives well within the body timeout, but at 20 bytes/s,
    // far below a 1,000 bytes/s floor: the transfer is cut off anyway.
    let t = Timeouts { min_rate: 1000, ..timeouts(10_000, 300, 10_000, 10_000) };
    let server = TestServer::start(builder().timeouts(t), echo);
    let mut c = server.connect();
    c.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n");
    let stop = Arc::new(AtomicBool::new(false));
    let dripper = drip(c.stream.try_clone().unwrap(), vec![b'x'; 100_000], Duration::from_millis(50), stop.clone());
    let started = Instant::now();
    let r = c.response();
    stop.store(true, Ordering::SeqCst);
    assert_eq!(r.status, 408, "{r:?}");
    assert!(started.elapsed() < LONG);
    dripper.join().unwrap();
    server.stop();
}

/// A client that keeps reading, steadily but below the rate floor, a
/// response far larger than loopback's socket buffers can hold: every
/// write completes within the write timeout, so only the floor can end it.
fn a_reader_below_the_floor_is_dropped(response: fn() -> Response) {
    // The floor counts every byte the kernel took, and loopback buffers
    // can take tens of megabytes at once, so the floor is set high (50
    // MB/s) and the client reads well below it (64 KiB every 10 ms, about
    // 6.5 MB/s): the server gives up after a few seconds.
    let t = Timeouts { min_rate: 50_000_000, ..timeouts(10_000, 10_000, 10_000, 2_000) };
    let b = builder().timeouts(t).max_connections(1);
    let server = TestServer::start(b, move |req: &mut Request<'_>| match req.path() {
        "/probe" => Response::text("probe"),
        _ => response(),
    });
    let mut c = server.connect();
    c.get("/big");
    let mut stream = c.stream.try_clone().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let stop_reading = stop.clone();
    let reader = thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        while !stop_reading.load(Ordering::SeqCst) {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(_) => thread::sleep(Duration::from_millis(10)),
            }
        }
    });
    wait_for_the_only_slot(&server);
    stop.store(true, Ordering::SeqCst);
    reader.join().unwrap();
    server.stop();
}

#[test]
fn a_client_reading_a_streamed_body_below_the_rate_floor_is_dropped() {
    a_reader_below_the_floor_is_dropped(|| Response::new(StatusCode::OK).with_stream(io::repeat(b'z').take(1 << 40)));
}

#[test]
fn a_client_reading_a_large_body_below_the_rate_floor_is_dropped() {
    a_reader_below_the_floor_is_dropped(|| Response::new(StatusCode::OK).with_body(vec![b'z'; 128 * 1024 * 1024]));
}
