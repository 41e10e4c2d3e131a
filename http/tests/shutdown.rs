//! Graceful shutdown from a `ShutdownHandle`: the server stops accepting,
//! lets requests in flight finish (answered with `Connection: close`),
//! closes idle keep-alive connections, and `serve` returns; after the
//! grace period it closes what is left. (SIGTERM is in `shutdown_signal`.)

mod common;

use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{builder, wait_until, End, TestServer, LONG};
use verde_http::{Request, Response};

/// `/slow?ms=N` sleeps N ms (counting handlers in progress); anything else
/// answers at once.
fn slow(in_flight: Arc<AtomicUsize>) -> impl Fn(&mut Request<'_>) -> Response + Send + Sync + 'static {
    move |req: &mut Request<'_>| {
        if req.path() == "/slow" {
            let ms: u64 = req.query_param("ms").and_then(|v| v.parse().ok()).unwrap_or(300);
            in_flight.fetch_add(1, Ordering::SeqCst);
            verde_runtime::sleep(Duration::from_millis(ms));
            in_flight.fetch_sub(1, Ordering::SeqCst);
            return Response::text(format!("slept {ms}"));
        }
        Response::text("quick")
    }
}

/// Whether a new client can still get an answer: it must not.
fn new_connections_are_not_served(addr: std::net::SocketAddr) {
    let Ok(stream) = TcpStream::connect_timeout(&addr, LONG) else { return };
    let mut c = common::Raw::from_stream(stream);
    let _ = std::io::Write::write_all(&mut c.stream, b"GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    match c.end(Duration::from_secs(2)) {
        End::Closed | End::Open => {}
        End::Data(d) => panic!("a connection made after shutdown was served: {:?}", String::from_utf8_lossy(&d)),
    }
}

#[test]
fn shutdown_finishes_in_flight_requests_and_closes_idle_connections() {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let mut server = TestServer::start(builder(), slow(in_flight.clone()));
    // An idle keep-alive connection.
    let mut idle = server.connect();
    idle.get("/");
    assert_eq!(idle.response().text(), "quick");
    // A request in flight.
    let mut busy = server.connect();
    busy.get("/slow?ms=300");
    assert!(wait_until(LONG, || in_flight.load(Ordering::SeqCst) == 1), "the slow handler never started");

    server.shutdown_handle().shutdown();

    let r = busy.response();
    assert_eq!((r.status, r.text().as_str()), (200, "slept 300"), "the request in flight completes");
    assert!(r.says_close(), "a response finished during shutdown must say Connection: close: {r:?}");
    busy.expect_closed();
    idle.expect_closed();
    assert!(server.wait_stopped(LONG), "serve did not return after its connections ended");
    new_connections_are_not_served(server.addr());
}

#[test]
fn shutdown_stops_accepting_at_once() {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let mut server = TestServer::start(builder(), slow(in_flight.clone()));
    let mut busy = server.connect();
    busy.get("/slow?ms=1500");
    assert!(wait_until(LONG, || in_flight.load(Ordering::SeqCst) == 1));
    server.shutdown_handle().shutdown();
    // While the slow request is still running, nobody new gets in.
    thread_sleep_ms(100);
    new_connections_are_not_served(server.addr());
    let r = busy.response();
    assert_eq!(r.text(), "slept 1500");
    assert!(r.says_close());
    assert!(server.wait_stopped(LONG));
}

#[test]
fn shutdown_closes_what_is_left_after_the_grace_period() {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let mut server = TestServer::start(builder().shutdown_grace(Duration::from_millis(300)), slow(in_flight.clone()));
    let mut stuck = server.connect();
    stuck.get("/slow?ms=60000");
    assert!(wait_until(LONG, || in_flight.load(Ordering::SeqCst) == 1));
    let started = Instant::now();
    server.shutdown_handle().shutdown();
    assert!(server.wait_stopped(LONG), "serve waited past the grace period");
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(250), "serve returned after {took:?}, before the grace period ended");
    assert_eq!(stuck.end(LONG), End::Closed, "the stuck connection was not closed");
}

#[test]
fn shutdown_of_an_unused_server_returns_promptly() {
    let server = TestServer::new(|_: &mut Request<'_>| Response::text("x"));
    server.stop();
}

#[test]
fn a_connection_with_a_half_sent_head_is_closed_within_the_grace_period() {
    let mut server = TestServer::start(builder().shutdown_grace(Duration::from_millis(300)), |_: &mut Request<'_>| {
        Response::text("x")
    });
    let mut half = server.connect();
    half.send("GET / HTTP/1.1\r\nHost");
    thread_sleep_ms(50);
    server.shutdown_handle().shutdown();
    assert!(server.wait_stopped(LONG));
    match half.end(LONG) {
        End::Closed => {}
        End::Data(d) => {
            // A 408 or similar refusal is acceptable; a 200 is not.
            let text = String::from_utf8_lossy(&d);
            assert!(!text.starts_with("HTTP/1.1 200"), "{text}");
        }
        End::Open => panic!("the connection outlived the server"),
    }
}

fn thread_sleep_ms(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

#[test]
fn shutdown_with_several_workers() {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let mut server = TestServer::start(builder().workers(2), slow(in_flight.clone()));
    // Enough connections that both workers have some, idle and busy.
    let mut idle: Vec<_> = (0..8).map(|_| server.connect()).collect();
    for c in &mut idle {
        c.get("/");
        assert_eq!(c.response().text(), "quick");
    }
    let mut busy: Vec<_> = (0..8).map(|_| server.connect()).collect();
    for c in &mut busy {
        c.get("/slow?ms=400");
    }
    assert!(wait_until(LONG, || in_flight.load(Ordering::SeqCst) == 8), "the slow handlers never all started");
    server.shutdown_handle().shutdown();
    for c in &mut busy {
        let r = c.response();
        assert_eq!(r.text(), "slept 400");
        assert!(r.says_close());
        c.expect_closed();
    }
    for c in &mut idle {
        c.expect_closed();
    }
    assert!(server.wait_stopped(LONG));
}
