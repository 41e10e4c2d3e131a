//! Request smuggling and framing edge cases (RFC 9112 sections 2 to 7, RFC
//! 9110 section 8.6), over raw sockets: every ambiguous or malformed
//! framing is refused with its exact status and the connection closed, with
//! nothing after it answered; every valid but unusual form is accepted and
//! the connection kept; and after each case a fresh connection is served.

mod common;

use std::net::SocketAddr;

use common::{builder, TestServer};
use verde_http::{Limits, Request, Response, StatusCode};

/// Answers `METHOD target body`; a body that fails to read is a 400 (the
/// server would replace the answer with the body's own status anyway).
fn echo(req: &mut Request<'_>) -> Response {
    match req.body().read_all() {
        Ok(body) => {
            let mut out = format!("{} {} ", req.method(), req.target()).into_bytes();
            out.extend_from_slice(&body);
            Response::new(StatusCode::OK).with_body(out)
        }
        Err(e) => Response::error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

/// Answers without reading the body (the server drains it).
fn ignore(req: &mut Request<'_>) -> Response {
    Response::text(format!("ignored {}", req.target()))
}

/// What each refusal is followed by: a request that must go unanswered.
const SMUGGLED: &str = "GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n";

/// Sends `request` and then a pipelined [`SMUGGLED`] request on a fresh
/// connection, and checks the refusal: `status`, `Connection: close`, the
/// connection closed, nothing answered after it; then that a fresh
/// connection is served.
fn refused(addr: SocketAddr, request: &[u8], status: u16) {
    let shown = String::from_utf8_lossy(request).into_owned();
    let mut c = common::Raw::connect(addr);
    let mut wire = request.to_vec();
    wire.extend_from_slice(SMUGGLED.as_bytes());
    c.send(&wire);
    let r = c.try_response(false).unwrap_or_else(|e| panic!("{shown:?}: no response: {e}"));
    let r = if r.status == 100 { c.try_response(false).unwrap() } else { r };
    assert_eq!(r.status, status, "{shown:?}: {r:?}");
    assert!(r.says_close(), "{shown:?}: {r:?}");
    assert_eq!(c.end(common::LONG), common::End::Closed, "{shown:?}: the connection must close, silently");
    still_serving(addr);
}

/// Sends `request` on a fresh connection, expects `200` with `body`, and
/// the connection kept: a second request on it is answered too.
fn accepted(addr: SocketAddr, request: &[u8], body: &str) {
    let shown = String::from_utf8_lossy(request).into_owned();
    let mut c = common::Raw::connect(addr);
    c.send(request);
    let r = c.try_response(false).unwrap_or_else(|e| panic!("{shown:?}: no response: {e}"));
    assert_eq!((r.status, r.text().as_str()), (200, body), "{shown:?}: {r:?}");
    assert!(!r.says_close(), "{shown:?}: {r:?}");
    c.get("/next");
    let r = c.try_response(false).unwrap_or_else(|e| panic!("{shown:?}: no second response: {e}"));
    assert_eq!(r.status, 200, "{shown:?}: the connection was not reusable: {r:?}");
    assert!(["GET /next ", "ignored /next"].contains(&r.text().as_str()), "{shown:?}: {r:?}");
}

/// A good request on a fresh connection is still answered.
fn still_serving(addr: SocketAddr) {
    let r = common::exchange(addr, "POST /alive HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nok");
    assert_eq!(r.status, 200, "{r:?}");
    assert!(["POST /alive ok", "ignored /alive"].contains(&r.text().as_str()), "{r:?}");
}

fn post(headers: &str, body: &str) -> Vec<u8> {
    format!("POST / HTTP/1.1\r\nHost: t\r\n{headers}\r\n{body}").into_bytes()
}

#[test]
fn transfer_encoding_variants() {
    for server in [TestServer::new(echo), TestServer::new(ignore)] {
        let addr = server.addr();
        let body = "3\r\nabc\r\n0\r\n\r\n";
        // Applied twice, in one field or two: ambiguous, 400.
        refused(addr, &post("Transfer-Encoding: chunked, chunked\r\n", body), 400);
        refused(addr, &post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", body), 400);
        // Chunked not last: the length is unknowable, 400.
        refused(addr, &post("Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n", body), 400);
        // Codings the server does not implement: 501 (identity is no
        // longer a transfer coding at all).
        refused(addr, &post("Transfer-Encoding: identity\r\n", body), 501);
        refused(addr, &post("Transfer-Encoding: gzip, chunked\r\n", body), 501);
        refused(addr, &post("Transfer-Encoding: \"chunked\"\r\n", body), 501);
        refused(addr, &post("Transfer-Encoding: xchunked\r\n", body), 501);
        refused(addr, &post("Transfer-Encoding: chunked;q=1\r\n", body), 501);
        // An empty value or list.
        refused(addr, &post("Transfer-Encoding:\r\n", body), 400);
        refused(addr, &post("Transfer-Encoding: ,\r\n", body), 400);
        // Transfer-Encoding in HTTP/1.0 is faulty framing.
        refused(addr, b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 400);
        // Obsolete line folding (RFC 9112 section 5.2) and whitespace
        // before the colon (section 5.1).
        refused(addr, &post("Transfer-Encoding:\r\n chunked\r\n", body), 400);
        refused(addr, &post("Transfer-Encoding: gzip,\r\n chunked\r\n", body), 400);
        refused(addr, &post("X: y\r\n Transfer-Encoding: chunked\r\n", body), 400);
        refused(addr, &post("Transfer-Encoding : chunked\r\n", body), 400);
        refused(addr, &post("Transfer-Encoding\t: chunked\r\n", body), 400);
        // Both framings: 400, whichever comes first.
        refused(addr, &post("Content-Length: 3\r\nTransfer-Encoding: chunked\r\n", body), 400);
        // Case and optional whitespace do not matter.
        let expect = if server_echoes(&server) { "POST / abc" } else { "ignored /" };
        for te in ["CHUNKED", "Chunked", " chunked ", "\tchunked", "chunked\t"] {
            accepted(addr, &post(&format!("Transfer-Encoding:{te}\r\n"), body), expect);
        }
        server.stop();
    }
}

/// Whether `server` runs [`echo`] (the first of each pair) or [`ignore`].
fn server_echoes(server: &TestServer) -> bool {
    common::exchange(server.addr(), "GET /which HTTP/1.1\r\nHost: t\r\n\r\n").text().starts_with("GET")
}

#[test]
fn content_length_variants() {
    for server in [TestServer::new(echo), TestServer::new(ignore)] {
        let addr = server.addr();
        let expect = |body: &str| if server_echoes(&server) { format!("POST / {body}") } else { "ignored /".into() };
        for bad in ["+5", "-1", "-0", "0x5", "5.0", "5e0", "5 6", "5;", "5,6", "5, 6", "five", "\"5\""] {
            refused(addr, &post(&format!("Content-Length: {bad}\r\n"), "hello"), 400);
        }
        refused(addr, &post("Content-Length: 5\r\nContent-Length: 6\r\n", "hello!"), 400);
        refused(addr, &post("Content-Length: 5\r\nContent-Length:\r\n", "hello"), 400);
        refused(addr, &post("Content-Length:\r\n 5\r\n", "hello"), 400);
        refused(addr, &post("Content-Length : 5\r\n", "hello"), 400);
        // Larger than any u64: not a length the server can honour.
        refused(addr, &post("Content-Length: 18446744073709551616\r\n", ""), 400);
        refused(addr, &post("Content-Length: 99999999999999999999999999999\r\n", ""), 400);
        // Valid but over the body limit: 413.
        refused(addr, &post("Content-Length: 18446744073709551615\r\n", ""), 413);
        refused(addr, &post("Content-Length: 10000000000000000000\r\n", ""), 413);
        refused(addr, &post("Content-Length: 9999999999999999999\r\n", ""), 413);
        // Whitespace around the value, leading zeros, and repeats of one
        // value (RFC 9110 section 8.6) are all the one length.
        for good in [" 5 ", "\t5", "005", "00000000000000000000005", "5, 5", "5,5", "5 , 5"] {
            accepted(addr, &post(&format!("Content-Length:{good}\r\n"), "hello"), &expect("hello"));
        }
        accepted(addr, &post("Content-Length: 5\r\nContent-Length: 5\r\n", "hello"), &expect("hello"));
        accepted(addr, &post("Content-Length: 0\r\n", ""), &expect(""));
        server.stop();
    }
}

#[test]
fn chunk_size_and_framing_variants() {
    for server in [TestServer::new(echo), TestServer::new(ignore)] {
        let addr = server.addr();
        let te = "Transfer-Encoding: chunked\r\n";
        let expect = |body: &str| if server_echoes(&server) { format!("POST / {body}") } else { "ignored /".into() };
        for bad in [
            // Not hex, signed, prefixed, or too large for u64.
            "0x3\r\nabc\r\n0\r\n\r\n",
            "+3\r\nabc\r\n0\r\n\r\n",
            "-3\r\nabc\r\n0\r\n\r\n",
            "g\r\nabc\r\n0\r\n\r\n",
            "10000000000000000\r\n",
            "fffffffffffffffff\r\n",
            // Something after the size that is not an extension.
            "3 4\r\nabc\r\n0\r\n\r\n",
            "3x\r\nabc\r\n0\r\n\r\n",
            "3\t4\r\nabc\r\n0\r\n\r\n",
            "3,\r\nabc\r\n0\r\n\r\n",
            // No size at all.
            ";ext\r\nabc\r\n0\r\n\r\n",
            " 3\r\nabc\r\n0\r\n\r\n",
            // Data not followed by CRLF, or by something else.
            "3\r\nabc0\r\n\r\n",
            "3\r\nabcX\r\n0\r\n\r\n",
            "3\r\nabc\r0\r\n\r\n",
            // Bare LF or bare CR anywhere in the framing.
            "3\nabc\r\n0\r\n\r\n",
            "3\r\nabc\n0\r\n\r\n",
            "3\r\nabc\r\n0\n\r\n",
            "3\r\nabc\r\n0\r\n\n",
            "3\r\nabc\r\n0\r\nX: y\n\r\n",
            "3;a=b\nabc\r\n0\r\n\r\n",
            "3;a\rb\r\nabc\r\n0\r\n\r\n",
            // A trailer line that is not a field.
            "3\r\nabc\r\n0\r\nGET / HTTP/1.1\r\n\r\n",
            "3\r\nabc\r\n0\r\n: no name\r\n\r\n",
        ] {
            refused(addr, &post(te, bad), 400);
        }
        // A chunk-size line or a trailer section that never ends.
        refused(addr, &post(te, &format!("3;{}", "e".repeat(10_000))), 400);
        refused(addr, &post(te, &"0".repeat(10_000)), 400);
        refused(addr, &post(te, &format!("0\r\nX: {}", "t".repeat(40_000))), 400);
        for good in [
            // Extensions are accepted and ignored, with or without
            // whitespace and values, quoted or not.
            "3;ext\r\nabc\r\n0\r\n\r\n",
            "3;a=b;c=\"d;e\"\r\nabc\r\n0;last\r\n\r\n",
            "3 ;a = b\r\nabc\r\n0\r\n\r\n",
            "3\t;a\r\nabc\r\n0\r\n\r\n",
            // Leading zeros and upper-case hex.
            "003\r\nabc\r\n0000\r\n\r\n",
            "0000000000000000000003\r\nabc\r\n0\r\n\r\n",
            "A\r\n0123456789\r\n0\r\n\r\n",
            // Trailers are accepted and ignored.
            "3\r\nabc\r\n0\r\nX-Trailer: 1\r\nY:2\r\n\r\n",
        ] {
            let data = if good.starts_with('A') { "0123456789" } else { "abc" };
            accepted(addr, &post(te, good), &expect(data));
        }
        server.stop();
    }
}

#[test]
fn request_line_variants() {
    let server = TestServer::new(echo);
    let addr = server.addr();
    // Versions: another major version is 505; garbage or a missing version
    // is 400. (HTTP/1.2 is served as HTTP/1.1, see conformance_errors.)
    refused(addr, b"GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505);
    refused(addr, b"GET / HTTP/3.0\r\nHost: t\r\n\r\n", 505);
    refused(addr, b"GET / HTTP/0.9\r\nHost: t\r\n\r\n", 505);
    refused(addr, b"GET /\r\nHost: t\r\n\r\n", 400);
    refused(addr, b"GET / http/1.1\r\nHost: t\r\n\r\n", 400);
    refused(addr, b"GET / HTTP/1.10\r\nHost: t\r\n\r\n", 400);
    refused(addr, b"GET / HTTP/11\r\nHost: t\r\n\r\n", 400);
    // Bare CR, NUL, and stray whitespace in the request line.
    refused(addr, b"GET / HTTP/1.1\rHost: t\r\n\r\n", 400);
    refused(addr, b"GET /\r HTTP/1.1\r\nHost: t\r\n\r\n", 400);
    refused(addr, b"GET /a\0b HTTP/1.1\r\nHost: t\r\n\r\n", 400);
    refused(addr, b"G\0T / HTTP/1.1\r\nHost: t\r\n\r\n", 400);
    refused(addr, b"GET\t/ HTTP/1.1\r\nHost: t\r\n\r\n", 400);
    refused(addr, b" GET / HTTP/1.1\r\nHost: t\r\n\r\n", 400);
    refused(addr, b"GET / HTTP/1.1 \r\nHost: t\r\n\r\n", 400);
    refused(addr, b"GET / / HTTP/1.1\r\nHost: t\r\n\r\n", 400);
    // CONNECT asks for a tunnel, which this server cannot open.
    refused(addr, b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 501);
    // Methods are case-sensitive tokens: a lower-case one is another
    // method, for the handler to judge.
    accepted(addr, b"get / HTTP/1.1\r\nHost: t\r\n\r\n", "get / ");
    accepted(addr, b"PURGE /x HTTP/1.1\r\nHost: t\r\n\r\n", "PURGE /x ");
    // Absolute form and asterisk form reach the handler.
    accepted(addr, b"GET http://t/a?b HTTP/1.1\r\nHost: t\r\n\r\n", "GET http://t/a?b ");
    accepted(addr, b"OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n", "OPTIONS * ");
    // Empty lines before a request line are ignored (RFC 9112 section 2.2).
    accepted(addr, b"\r\nGET /after-crlf HTTP/1.1\r\nHost: t\r\n\r\n", "GET /after-crlf ");
    server.stop();

    // A method longer than the request line limit: 414, like any overlong
    // request line.
    let limits = Limits { max_request_line: 256, ..Limits::default() };
    let server = TestServer::start(builder().limits(limits), echo);
    let method = "M".repeat(300);
    refused(server.addr(), format!("{method} / HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes(), 414);
    refused(server.addr(), method.as_bytes(), 414);
    server.stop();
}

#[test]
fn host_variants() {
    let server = TestServer::new(echo);
    let addr = server.addr();
    refused(addr, b"GET / HTTP/1.1\r\n\r\n", 400);
    refused(addr, b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400);
    refused(addr, b"GET / HTTP/1.1\r\nHost: a\r\nHost:\r\n\r\n", 400);
    refused(addr, b"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400);
    // An invalid Host value (RFC 9112 section 3.2).
    for bad in ["a b", "a/b", "a@b", "a\"b", "a:80x", "a:80:80", "[::1", "[::1]x", "a\\b", "a?b", "a#b"] {
        refused(addr, format!("GET / HTTP/1.1\r\nHost: {bad}\r\n\r\n").as_bytes(), 400);
    }
    // Empty (a target without an authority), with a port, IP literals,
    // percent-encoding and sub-delims are all valid.
    for good in
        ["", "a", "a:8080", "a:", "127.0.0.1:1", "[::1]:80", "[::1]", "xn--bcher-kva.example", "a%20b", "a!$&'()*+,;=b"]
    {
        accepted(addr, format!("GET / HTTP/1.1\r\nHost: {good}\r\n\r\n").as_bytes(), "GET / ");
    }
    server.stop();
}

#[test]
fn expectations() {
    let server = TestServer::new(ignore);
    let addr = server.addr();
    // An expectation the server cannot meet: 417.
    refused(addr, &post("Expect: something-else\r\nContent-Length: 5\r\n", "hello"), 417);
    refused(addr, &post("Expect: 100-continue, foo\r\nContent-Length: 5\r\n", "hello"), 417);
    // 100-continue with a body the handler never reads, sent anyway
    // without waiting: answered, no 100, and the connection closed (the
    // server cannot know whether the body will come).
    let mut c = common::Raw::connect(addr);
    c.send(post("Expect: 100-continue\r\nContent-Length: 5\r\n", "hello"));
    let r = c.response();
    assert_eq!((r.status, r.text().as_str()), (200, "ignored /"));
    assert!(r.says_close(), "{r:?}");
    c.expect_closed();
    // Without a body there is nothing to continue: kept.
    accepted(addr, b"GET / HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n\r\n", "ignored /");
    server.stop();
}

#[test]
fn nothing_after_a_refusal_is_answered() {
    let server = TestServer::new(echo);
    let addr = server.addr();
    // A good request, then each kind of refusal, then more requests: one
    // answer for the good one, the refusal, and nothing more.
    let good = "GET /first HTTP/1.1\r\nHost: t\r\n\r\n";
    for (bad, status) in [
        ("GET / HTTP/1.1\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        ("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999\r\n\r\n", 413),
        ("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: t\r\nExpect: nothing\r\n\r\n", 417),
        ("GET / HTTP/9.9\r\nHost: t\r\n\r\n", 505),
    ] {
        let mut c = common::Raw::connect(addr);
        c.send(format!("{good}{bad}{SMUGGLED}{SMUGGLED}"));
        assert_eq!(c.response().text(), "GET /first ");
        let r = c.response();
        assert_eq!(r.status, status, "{bad:?}: {r:?}");
        assert!(r.says_close(), "{bad:?}: {r:?}");
        assert_eq!(c.end(common::LONG), common::End::Closed, "{bad:?}: something was answered after the refusal");
    }
    still_serving(addr);
    server.stop();
}
