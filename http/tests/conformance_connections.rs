//! Persistent connections (RFC 9112 section 9): keep-alive by default on
//! HTTP/1.1, opt-in on HTTP/1.0, and `Connection: close` honoured either
//! way. Raw sockets, so every header and every close is seen.

mod common;

use common::{End, TestServer};
use std::time::Duration;
use verde_http::{Request, Response};

/// Answers with the client's port, which identifies the connection.
fn peer_port(req: &mut Request<'_>) -> Response {
    Response::text(req.peer_addr().map_or(0, |a| a.port()).to_string())
}

#[test]
fn http11_connections_stay_open_by_default() {
    let server = TestServer::new(peer_port);
    let mut c = server.connect();
    let port = c.stream.local_addr().unwrap().port().to_string();
    for _ in 0..5 {
        c.get("/");
        let r = c.response();
        assert_eq!(r.status, 200);
        assert!(!r.says_close(), "{r:?}");
        assert_eq!(r.header("connection"), None, "HTTP/1.1 needs no Connection header to stay open");
        assert_eq!(r.text(), port, "every request came over the same connection");
    }
    assert_eq!(c.end(Duration::from_millis(100)), End::Open);
    server.stop();
}

#[test]
fn http10_closes_after_the_response_by_default() {
    let server = TestServer::new(peer_port);
    let mut c = server.connect();
    c.send("GET / HTTP/1.0\r\n\r\n");
    let r = c.response();
    assert_eq!(r.status, 200);
    assert!(r.says_close(), "{r:?}");
    c.expect_closed();
    server.stop();
}

#[test]
fn http10_keep_alive_is_honoured_and_announced() {
    let server = TestServer::new(peer_port);
    let mut c = server.connect();
    for _ in 0..3 {
        c.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        let r = c.response();
        assert_eq!(r.status, 200);
        assert_eq!(r.header("connection").map(str::to_ascii_lowercase).as_deref(), Some("keep-alive"));
    }
    // The token is case-insensitive and may sit in a list.
    c.send("GET / HTTP/1.0\r\nConnection: Keep-Alive, X-Other\r\n\r\n");
    assert_eq!(c.response().header("connection").map(str::to_ascii_lowercase).as_deref(), Some("keep-alive"));
    // Without it, the connection ends after this response.
    c.send("GET / HTTP/1.0\r\n\r\n");
    assert!(c.response().says_close());
    c.expect_closed();
    server.stop();
}

#[test]
fn connection_close_is_honoured_on_http11() {
    let server = TestServer::new(peer_port);
    for value in ["close", "CLOSE", "x-foo, close"] {
        let mut c = server.connect();
        c.get("/");
        assert_eq!(c.response().status, 200);
        // A second request pipelined behind the closing one is not answered.
        c.send(format!(
            "GET / HTTP/1.1\r\nHost: t\r\nConnection: {value}\r\n\r\nGET /after HTTP/1.1\r\nHost: t\r\n\r\n"
        ));
        let r = c.response();
        assert_eq!(r.status, 200);
        assert!(r.says_close(), "{value}: {r:?}");
        c.expect_closed();
    }
    server.stop();
}

#[test]
fn http10_close_beats_keep_alive() {
    let server = TestServer::new(peer_port);
    let mut c = server.connect();
    c.send("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n");
    assert!(c.response().says_close());
    c.expect_closed();
    server.stop();
}

#[test]
fn a_handler_can_close_the_connection() {
    let server = TestServer::new(|_: &mut Request<'_>| Response::text("bye").with_header("connection", "close"));
    let mut c = server.connect();
    c.get("/");
    let r = c.response();
    assert_eq!(r.text(), "bye");
    assert!(r.says_close());
    assert_eq!(r.header_all("connection").len(), 1, "{r:?}");
    c.expect_closed();
    server.stop();
}

#[test]
fn the_client_closing_ends_the_connection_quietly() {
    let server = TestServer::new(peer_port);
    let mut c = server.connect();
    c.get("/");
    assert_eq!(c.response().status, 200);
    c.shutdown_write();
    c.expect_closed();
    // And the server goes on serving.
    let mut c = server.connect();
    c.get("/");
    assert_eq!(c.response().status, 200);
    server.stop();
}

#[test]
fn requests_sent_before_the_client_half_closes_are_all_answered() {
    let server = TestServer::new(|req: &mut Request<'_>| Response::text(req.path().to_string()));
    let mut c = server.connect();
    let all: String = (0..16).map(|i| format!("GET /{i} HTTP/1.1\r\nHost: t\r\n\r\n")).collect();
    c.send(all);
    c.shutdown_write();
    for i in 0..16 {
        assert_eq!(c.response().text(), format!("/{i}"));
    }
    c.expect_closed();
    server.stop();
}
