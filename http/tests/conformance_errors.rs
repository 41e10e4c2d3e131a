//! Bad input, limits and panics: every refusal gets its status and closes
//! its connection, and the server goes on serving others.

mod common;

use std::io::Read;
use std::net::SocketAddr;

use common::{builder, TestServer};
use verde_http::{Limits, Request, Response, StatusCode};

fn echo(req: &mut Request<'_>) -> Response {
    match req.body().read_all() {
        Ok(body) => Response::new(StatusCode::OK).with_body(body),
        Err(e) => Response::error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

/// Sends `request` on a fresh connection and checks the refusal: `status`,
/// `Connection: close`, and the connection closed.
fn refused(addr: SocketAddr, request: &[u8], status: u16) {
    let mut c = common::Raw::connect(addr);
    c.send(request);
    let r =
        c.try_response(false).unwrap_or_else(|e| panic!("{:?}: no response: {e}", String::from_utf8_lossy(request)));
    assert_eq!(r.status, status, "{:?}: {r:?}", String::from_utf8_lossy(request));
    assert!(r.says_close(), "{:?}: {r:?}", String::from_utf8_lossy(request));
    c.expect_closed();
}

/// The server still answers a good request on a new connection.
fn still_serving(addr: SocketAddr) {
    let r = common::exchange(addr, "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nok");
    assert_eq!((r.status, r.text().as_str()), (200, "ok"));
}

#[test]
fn malformed_requests_get_400_and_the_server_keeps_serving() {
    let server = TestServer::new(echo);
    let bad: &[&[u8]] = &[
        b"GARBAGE\r\n\r\n",
        b"GET\r\n\r\n",
        b"GET /\r\n\r\n",
        b"GET / HTTP/1.1 extra\r\nHost: t\r\n\r\n",
        b"GET / HTTP/x.y\r\nHost: t\r\n\r\n",
        b"G\x01T / HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET /a\x7fb HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: t\r\nNo colon here\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: t\r\nBad Name: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: t\r\nBad-Name : x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: t\r\n: empty name\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: t\r\nX: a\x00b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: t\r\nX: a\r\n folded\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: t\r\n\rX: y\r\n\r\n",
        b"GET /\xff\xfe HTTP/1.1\r\nHost: t\r\n\r\n",
    ];
    for request in bad {
        refused(server.addr(), request, 400);
    }
    still_serving(server.addr());
    // A target in UTF-8 is fine.
    let r = common::exchange(server.addr(), "GET /caf\u{e9} HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(r.status, 200);
    server.stop();
}

#[test]
fn a_bad_request_after_good_ones_is_answered_in_order() {
    let server = TestServer::new(echo);
    let mut c = server.connect();
    c.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\naGARBAGE\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(c.response().text(), "a");
    let r = c.response();
    assert_eq!(r.status, 400);
    assert!(r.says_close());
    c.expect_closed();
    server.stop();
}

#[test]
fn framing_conflicts_get_400() {
    let server = TestServer::new(echo);
    let bad: &[&str] = &[
        "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc",
        "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3, 4\r\n\r\nabcd",
        "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: +3\r\n\r\nabc",
        "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 0x3\r\n\r\nabc",
        "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3 3\r\n\r\nabc",
        "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1e3\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: \r\n\r\n",
        "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ];
    for request in bad {
        refused(server.addr(), request.as_bytes(), 400);
    }
    // Repeated Content-Length that agree are one length.
    let r = common::exchange(
        server.addr(),
        "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
    );
    assert_eq!((r.status, r.text().as_str()), (200, "abc"));
    still_serving(server.addr());
    server.stop();
}

#[test]
fn http11_needs_exactly_one_host() {
    let server = TestServer::new(echo);
    refused(server.addr(), b"GET / HTTP/1.1\r\n\r\n", 400);
    refused(server.addr(), b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
    refused(server.addr(), b"GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", 400);
    // HTTP/1.0 may go without.
    let r = common::exchange(server.addr(), "GET / HTTP/1.0\r\n\r\n");
    assert_eq!(r.status, 200);
    still_serving(server.addr());
    server.stop();
}

#[test]
fn malformed_chunked_bodies_get_400() {
    let server = TestServer::new(echo);
    let ignore = TestServer::new(|_: &mut Request<'_>| Response::text("ignored"));
    let bodies: &[&str] = &[
        "x\r\nabc\r\n0\r\n\r\n",
        "3\r\nabcd\r\n0\r\n\r\n",
        "3\nabc\r\n0\r\n\r\n",
        "-3\r\nabc\r\n0\r\n\r\n",
        "\r\n0\r\n\r\n",
        "11111111111111111\r\n",
    ];
    for body in bodies {
        let request = format!("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n{body}");
        // Whether the handler reads the body or leaves it to be drained.
        refused(server.addr(), request.as_bytes(), 400);
        refused(ignore.addr(), request.as_bytes(), 400);
    }
    still_serving(server.addr());
    server.stop();
    ignore.stop();
}

#[test]
fn unsupported_transfer_codings_get_501() {
    let server = TestServer::new(echo);
    for coding in ["gzip", "gzip, chunked", "deflate,chunked", "x-custom"] {
        let request = format!("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: {coding}\r\n\r\n0\r\n\r\n");
        refused(server.addr(), request.as_bytes(), 501);
    }
    still_serving(server.addr());
    server.stop();
}

#[test]
fn other_major_versions_and_expectations_are_refused() {
    let server = TestServer::new(echo);
    refused(server.addr(), b"GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505);
    refused(server.addr(), b"POST / HTTP/1.1\r\nHost: t\r\nExpect: teapot\r\nContent-Length: 1\r\n\r\nx", 417);
    still_serving(server.addr());
    server.stop();
}

/// Small limits, so the tests send little.
fn small_limits() -> Limits {
    Limits { max_request_line: 256, max_head: 2048, max_headers: 10, max_body: 1000, max_drain: 64 * 1024 }
}

#[test]
fn an_overlong_uri_gets_414() {
    let server = TestServer::start(builder().limits(small_limits()), echo);
    let long = "a".repeat(300);
    // The whole head at once, and a request line still waiting for its end.
    refused(server.addr(), format!("GET /{long} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes(), 414);
    refused(server.addr(), format!("GET /{long}").as_bytes(), 414);
    // Just under the limit is fine.
    let fits = "a".repeat(256 - "GET / HTTP/1.1".len());
    let r = common::exchange(server.addr(), format!("GET /{fits} HTTP/1.1\r\nHost: t\r\n\r\n"));
    assert_eq!(r.status, 200);
    still_serving(server.addr());
    server.stop();
}

#[test]
fn oversized_heads_and_too_many_headers_get_431() {
    let server = TestServer::start(builder().limits(small_limits()), echo);
    let big = "b".repeat(3000);
    refused(server.addr(), format!("GET / HTTP/1.1\r\nHost: t\r\nX-Big: {big}\r\n\r\n").as_bytes(), 431);
    // Still arriving, already too big.
    refused(server.addr(), format!("GET / HTTP/1.1\r\nHost: t\r\nX-Big: {big}").as_bytes(), 431);
    let many: String = (0..10).map(|i| format!("X-{i}: v\r\n")).collect();
    refused(server.addr(), format!("GET / HTTP/1.1\r\nHost: t\r\n{many}\r\n").as_bytes(), 431);
    // Ten in all is the limit, and fine.
    let nine: String = (0..9).map(|i| format!("X-{i}: v\r\n")).collect();
    let r = common::exchange(server.addr(), format!("GET / HTTP/1.1\r\nHost: t\r\n{nine}\r\n"));
    assert_eq!(r.status, 200);
    still_serving(server.addr());
    server.stop();
}

#[test]
fn the_default_limits_apply() {
    let server = TestServer::new(echo);
    let defaults = Limits::default();
    let long = "a".repeat(defaults.max_request_line);
    refused(server.addr(), format!("GET /{long} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes(), 414);
    let many: String = (0..defaults.max_headers).map(|i| format!("X-{i}: v\r\n")).collect();
    refused(server.addr(), format!("GET / HTTP/1.1\r\nHost: t\r\n{many}\r\n").as_bytes(), 431);
    let big = "b".repeat(defaults.max_head);
    refused(server.addr(), format!("GET / HTTP/1.1\r\nHost: t\r\nX: {big}\r\n\r\n").as_bytes(), 431);
    let over = defaults.max_body + 1;
    refused(server.addr(), format!("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: {over}\r\n\r\n").as_bytes(), 413);
    still_serving(server.addr());
    server.stop();
}

#[test]
fn bodies_over_the_limit_get_413() {
    let server = TestServer::start(builder().limits(small_limits()), echo);
    let ignore = TestServer::start(builder().limits(small_limits()), |_: &mut Request<'_>| Response::text("ignored"));
    // A declared length over the limit is refused before any body is sent.
    refused(server.addr(), b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1001\r\n\r\n", 413);
    refused(ignore.addr(), b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1001\r\n\r\n", 413);
    // A chunked body is refused when it crosses the limit.
    let chunk = format!("{:x}\r\n{}\r\n", 600, "c".repeat(600));
    let request = format!("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n{chunk}{chunk}0\r\n\r\n");
    refused(server.addr(), request.as_bytes(), 413);
    refused(ignore.addr(), request.as_bytes(), 413);
    // Exactly the limit is fine, either way.
    let body = "d".repeat(1000);
    let r =
        common::exchange(server.addr(), format!("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n{body}"));
    assert_eq!((r.status, r.body.len()), (200, 1000));
    let request = format!("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3e8\r\n{body}\r\n0\r\n\r\n");
    let r = common::exchange(server.addr(), request);
    assert_eq!((r.status, r.body.len()), (200, 1000));
    still_serving(server.addr());
    server.stop();
    ignore.stop();
}

#[test]
fn a_handler_that_sees_the_413_cannot_hide_it() {
    // The handler swallows the read error and answers 200: the body was
    // not read, so the server must not claim it was.
    let server = TestServer::start(builder().limits(small_limits()), |req: &mut Request<'_>| {
        let mut sink = Vec::new();
        let _ = req.body().read_to_end(&mut sink);
        Response::text("fine")
    });
    let request = format!(
        "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n7d0\r\n{}\r\n0\r\n\r\n",
        "e".repeat(2000)
    );
    refused(server.addr(), request.as_bytes(), 413);
    server.stop();
}

fn panicky(req: &mut Request<'_>) -> Response {
    match req.path() {
        "/panic" => panic!("the handler panics on purpose"),
        "/panic-any" => std::panic::panic_any(42u32),
        "/panic-mid-body" => {
            let mut first = [0u8; 4];
            req.body().read_exact(&mut first).unwrap();
            panic!("panics after reading part of the body")
        }
        _ => Response::text("fine"),
    }
}

#[test]
fn a_panicking_handler_gets_500_and_the_server_keeps_serving() {
    let server = TestServer::new(panicky);
    for request in [
        "GET /panic HTTP/1.1\r\nHost: t\r\n\r\n",
        "GET /panic-any HTTP/1.1\r\nHost: t\r\n\r\n",
        "POST /panic-mid-body HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n0123456789",
    ] {
        let mut c = server.connect();
        c.get("/ok");
        assert_eq!(c.response().text(), "fine");
        // A request pipelined behind the panicking one goes unanswered.
        c.send(format!("{request}GET /ok HTTP/1.1\r\nHost: t\r\n\r\n"));
        let r = c.response();
        assert_eq!(r.status, 500, "{request:?}: {r:?}");
        assert!(r.says_close(), "{r:?}");
        c.expect_closed();
        let mut c = server.connect();
        c.get("/ok");
        assert_eq!(c.response().text(), "fine", "the next connection is served");
    }
    server.stop();
}

/// A client that goes on sending a body the server refused still gets the
/// refusal and then a clean end of stream: the server shuts down its side
/// and lingers, reading, instead of closing with unread data (which resets
/// the connection and can destroy the response in flight).
#[test]
fn a_refusal_reaches_a_client_that_is_still_sending() {
    use std::io::Write;
    let server = TestServer::start(builder().limits(small_limits()), echo);
    for _ in 0..5 {
        let mut c = std::net::TcpStream::connect(server.addr()).unwrap();
        c.set_read_timeout(Some(common::LONG)).unwrap();
        c.write_all(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 50000000\r\n\r\n").unwrap();
        let mut w = c.try_clone().unwrap();
        let writer = std::thread::spawn(move || {
            let block = vec![b'x'; 64 * 1024];
            for _ in 0..128 {
                if w.write_all(&block).is_err() {
                    break;
                }
            }
        });
        let mut reply = Vec::new();
        let end = c.read_to_end(&mut reply);
        assert!(end.is_ok(), "the refusal ended with {end:?} after {:?}", String::from_utf8_lossy(&reply));
        assert!(reply.starts_with(b"HTTP/1.1 413 "), "{:?}", String::from_utf8_lossy(&reply));
        drop(c);
        writer.join().unwrap();
    }
    still_serving(server.addr());
    server.stop();
}

#[test]
fn a_later_http1_minor_version_is_served_as_http_1_1() {
    // RFC 9110 section 2.5: a recipient of a higher minor version of a
    // major version it implements processes the message as its own highest
    // minor version, so HTTP/1.2 is HTTP/1.1 here, keep-alive included.
    let server = TestServer::new(echo);
    let mut c = server.connect();
    c.send("POST /a HTTP/1.2\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi");
    c.send("GET /b HTTP/1.9\r\nHost: t\r\n\r\n");
    let first = c.response();
    assert_eq!((first.status, first.text().as_str()), (200, "hi"));
    assert!(!first.says_close(), "{first:?}");
    assert_eq!(first.version, "HTTP/1.1");
    let second = c.response();
    assert_eq!(second.status, 200, "{second:?}");
    assert!(!second.says_close(), "{second:?}");
    // Still without Host it is an HTTP/1.1 request without Host.
    refused(server.addr(), b"GET / HTTP/1.3\r\n\r\n", 400);
    server.stop();
}
