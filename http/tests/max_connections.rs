//! `ServerBuilder::max_connections(n)`: with n connections open, the next
//! one is accepted by the kernel but not served until one of the n closes;
//! it is neither refused nor failed.

mod common;

use std::time::Duration;

use common::{builder, End, TestServer, LONG};
use verde_http::{Request, Response};

fn port(req: &mut Request<'_>) -> Response {
    Response::text(req.peer_addr().map_or(0, |a| a.port()).to_string())
}

fn limit_holds(workers: usize) {
    let server = TestServer::start(builder().workers(workers).max_connections(2), port);
    let mut first = server.connect();
    let mut second = server.connect();
    for c in [&mut first, &mut second] {
        c.get("/");
        assert_eq!(c.response().status, 200);
    }
    // The third connects (the kernel accepts it) and sends its request...
    let mut third = server.connect();
    third.get("/");
    // ...but gets nothing while the other two stay open.
    assert_eq!(third.end(Duration::from_millis(300)), End::Open, "the third connection was served over the limit");
    // The two served ones still work.
    second.get("/");
    assert_eq!(second.response().status, 200);
    // When one closes, the third is served.
    drop(first);
    let r = third.try_response(false).expect("the waiting connection was not served after a slot freed");
    assert_eq!((r.status, r.text()), (200, third.stream.local_addr().unwrap().port().to_string()));
    // And now a fourth waits for a slot in turn.
    let mut fourth = server.connect();
    fourth.get("/");
    assert_eq!(fourth.end(Duration::from_millis(200)), End::Open);
    drop(second);
    assert_eq!(fourth.response().status, 200);
    drop((third, fourth));
    server.stop();
}

#[test]
fn a_connection_over_the_limit_waits_for_a_slot() {
    limit_holds(1);
}

#[test]
fn the_limit_is_shared_by_all_workers() {
    // The kernel spreads connections over the workers' listeners by a hash:
    // a few rounds make it likely that some land on the same worker.
    for _ in 0..4 {
        limit_holds(2);
    }
}

#[test]
fn waiting_connections_are_served_in_turn() {
    let server = TestServer::start(builder().max_connections(1), port);
    let mut waiting: Vec<_> = (0..5).map(|_| server.connect()).collect();
    for c in &mut waiting {
        c.send("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    }
    // One at a time, each closing after its answer: all are served.
    for c in &mut waiting {
        c.stream.set_read_timeout(Some(LONG)).unwrap();
        let r = c.response();
        assert_eq!(r.status, 200);
        assert!(r.says_close());
    }
    server.stop();
}

#[test]
fn shutdown_with_connections_waiting_for_a_slot() {
    let mut server = TestServer::start(builder().max_connections(1), port);
    let mut served = server.connect();
    served.get("/");
    assert_eq!(served.response().status, 200);
    let mut waiting = server.connect();
    waiting.get("/");
    assert_eq!(waiting.end(Duration::from_millis(200)), End::Open);
    server.shutdown_handle().shutdown();
    assert!(server.wait_stopped(LONG), "serve did not return with a connection waiting for a slot");
    served.expect_closed();
    assert_eq!(waiting.end(LONG), End::Closed, "the waiting connection was neither served nor closed");
}
