//! Request bodies: Content-Length and chunked framing, streaming to the
//! handler, draining what the handler leaves unread, and
//! `Expect: 100-continue`.

mod common;

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::{builder, wait_until, End, TestServer, LONG};
use verde_http::{Limits, Request, Response, StatusCode};

/// Echoes the body, with the framing the handler saw in a header.
fn echo(req: &mut Request<'_>) -> Response {
    let declared = req.body().content_length();
    match req.body().read_all() {
        Ok(body) => Response::new(StatusCode::OK)
            .with_header("x-declared", declared.map_or("none".to_string(), |n| n.to_string()))
            .with_body(body),
        Err(e) => Response::error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

/// Answers without looking at the body.
fn ignore_body(req: &mut Request<'_>) -> Response {
    Response::text(format!("ignored {}", req.path()))
}

/// `n` bytes of a pattern that shows misplaced or lost bytes.
fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

/// `body` in chunked coding, in chunks of `size`.
fn chunked(body: &[u8], size: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for c in body.chunks(size) {
        out.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        out.extend_from_slice(c);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

#[test]
fn content_length_body_reaches_the_handler() {
    let server = TestServer::new(echo);
    let mut c = server.connect();
    c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world");
    let r = c.response();
    assert_eq!((r.status, r.text().as_str(), r.header("x-declared")), (200, "hello world", Some("11")));
    // Split across writes, with pauses, on the same connection.
    c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\n\r\nab");
    thread::sleep(Duration::from_millis(20));
    c.send("cd");
    thread::sleep(Duration::from_millis(20));
    c.send("ef");
    assert_eq!(c.response().text(), "abcdef");
    // An empty body, then HTTP/1.0 with a body.
    c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
    let r = c.response();
    assert_eq!((r.status, r.body.len()), (200, 0));
    c.send("POST /echo HTTP/1.0\r\nContent-Length: 3\r\n\r\nold");
    assert_eq!(c.response().text(), "old");
    server.stop();
}

#[test]
fn large_content_length_body_arrives_intact() {
    let server = TestServer::new(echo);
    let body = pattern(3 * 1024 * 1024 + 7);
    let mut c = server.connect();
    let mut writer = c.stream.try_clone().unwrap();
    let sent = body.clone();
    let t = thread::spawn(move || {
        use std::io::Write;
        writer
            .write_all(format!("PUT /big HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n", sent.len()).as_bytes())?;
        writer.write_all(&sent)
    });
    let r = c.response();
    t.join().unwrap().unwrap();
    assert_eq!(r.status, 200);
    assert!(r.body == body, "the echoed body differs ({} bytes back)", r.body.len());
    server.stop();
}

#[test]
fn chunked_body_reaches_the_handler() {
    let server = TestServer::new(echo);
    let mut c = server.connect();
    c.send(
        "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n\
         5\r\nhello\r\n1;name=value\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: yes\r\n\r\n",
    );
    let r = c.response();
    assert_eq!((r.status, r.text().as_str(), r.header("x-declared")), (200, "hello 0123456789", Some("none")));
    // Upper-case hex, a chunk split over writes, and an empty body.
    c.send("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n1F\r\n");
    thread::sleep(Duration::from_millis(20));
    c.send("0123456789abcdef0123456789abcde\r\n0\r\n");
    thread::sleep(Duration::from_millis(20));
    c.send("\r\n");
    assert_eq!(c.response().text(), "0123456789abcdef0123456789abcde");
    c.send("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    assert_eq!(c.response().body.len(), 0);
    server.stop();
}

#[test]
fn large_chunked_body_arrives_intact() {
    let server = TestServer::new(echo);
    let body = pattern(2 * 1024 * 1024 + 3);
    let mut c = server.connect();
    let mut writer = c.stream.try_clone().unwrap();
    let wire = chunked(&body, 7_001);
    let t = thread::spawn(move || {
        use std::io::Write;
        writer.write_all(b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")?;
        writer.write_all(&wire)
    });
    let r = c.response();
    t.join().unwrap().unwrap();
    assert_eq!(r.status, 200);
    assert!(r.body == body, "the echoed body differs ({} bytes back)", r.body.len());
    server.stop();
}

/// A handler that reads the body piece by piece and publishes how much it
/// has seen so far.
fn counting(seen: Arc<AtomicU64>) -> impl Fn(&mut Request<'_>) -> Response + Send + Sync + 'static {
    move |req: &mut Request<'_>| {
        seen.store(0, Ordering::SeqCst);
        let mut buf = [0u8; 1000];
        let mut total = 0u64;
        loop {
            match req.body().read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    total += n as u64;
                    seen.store(total, Ordering::SeqCst);
                }
                Err(e) => return Response::error(StatusCode::BAD_REQUEST, e.to_string()),
            }
        }
        Response::text(total.to_string())
    }
}

#[test]
fn chunked_upload_streams_to_the_handler_before_it_ends() {
    let seen = Arc::new(AtomicU64::new(0));
    let server = TestServer::new(counting(seen.clone()));
    let mut c = server.connect();
    let first = pattern(256 * 1024);
    c.send("POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    let wire = chunked(&first, 16 * 1024);
    c.send(&wire[..wire.len() - 5]);
    // The upload is not finished, yet the handler has read all of it.
    assert!(
        wait_until(LONG, || seen.load(Ordering::SeqCst) == first.len() as u64),
        "the handler saw {} of {} bytes before the upload ended",
        seen.load(Ordering::SeqCst),
        first.len()
    );
    assert_eq!(c.end(Duration::from_millis(50)), End::Open, "no response before the body ends");
    c.send(chunked(&pattern(1000), 100));
    let r = c.response();
    assert_eq!((r.status, r.text()), (200, (first.len() + 1000).to_string()));
    server.stop();
}

#[test]
fn content_length_upload_streams_to_the_handler_before_it_ends() {
    let seen = Arc::new(AtomicU64::new(0));
    let server = TestServer::new(counting(seen.clone()));
    let mut c = server.connect();
    c.send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 300000\r\n\r\n");
    c.send(pattern(200_000));
    assert!(wait_until(LONG, || seen.load(Ordering::SeqCst) == 200_000), "the handler did not see the first part");
    c.send(pattern(100_000));
    assert_eq!(c.response().text(), "300000");
    server.stop();
}

#[test]
fn unread_bodies_are_drained_and_the_connection_kept() {
    let server = TestServer::new(ignore_body);
    let mut c = server.connect();
    c.send("POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n");
    c.send(pattern(100_000));
    let r = c.response();
    assert_eq!((r.status, r.text().as_str()), (200, "ignored /a"));
    assert!(!r.says_close(), "a drainable body must not cost the connection: {r:?}");
    c.send("POST /b HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    c.send(chunked(&pattern(50_000), 999));
    let r = c.response();
    assert_eq!(r.text(), "ignored /b");
    assert!(!r.says_close());
    c.get("/c");
    assert_eq!(c.response().text(), "ignored /c");
    server.stop();
}

#[test]
fn a_partly_read_body_is_drained() {
    let server = TestServer::new(|req: &mut Request<'_>| {
        let mut first = [0u8; 10];
        req.body().read_exact(&mut first).unwrap();
        Response::new(StatusCode::OK).with_body(first.to_vec())
    });
    let mut c = server.connect();
    c.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 26\r\n\r\nabcdefghijklmnopqrstuvwxyz");
    assert_eq!(c.response().text(), "abcdefghij");
    c.send("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    c.send(chunked(b"0123456789ABCDEFGHIJ", 3));
    assert_eq!(c.response().text(), "0123456789");
    server.stop();
}

#[test]
fn an_unread_body_over_max_drain_closes_the_connection() {
    let limits = Limits { max_drain: 1024, ..Limits::default() };
    let server = TestServer::start(builder().limits(limits), ignore_body);
    for chunked_body in [false, true] {
        let mut c = server.connect();
        let mut writer = c.stream.try_clone().unwrap();
        let t = thread::spawn(move || {
            use std::io::Write;
            let body = pattern(1024 * 1024);
            let wire = if chunked_body {
                let mut w = b"POST /big HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
                w.extend_from_slice(&chunked(&body, 4096));
                w
            } else {
                let mut w = b"POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: 1048576\r\n\r\n".to_vec();
                w.extend_from_slice(&body);
                w
            };
            // The server stops reading; the write may fail once it closes.
            let _ = writer.write_all(&wire);
        });
        let r = c.response();
        assert_eq!((r.status, r.text().as_str()), (200, "ignored /big"));
        assert!(r.says_close(), "chunked: {chunked_body}: {r:?}");
        c.expect_closed();
        drop(c);
        t.join().unwrap();
    }
    server.stop();
}

/// Reads past a `100 Continue`, if one comes first.
fn expect_100(c: &mut common::Raw) {
    let r = c.response();
    assert_eq!(r.status, 100, "expected 100 Continue first, got {r:?}");
    assert!(r.body.is_empty());
}

#[test]
fn expect_continue_gets_100_when_the_handler_reads() {
    let server = TestServer::new(echo);
    let mut c = server.connect();
    c.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    expect_100(&mut c);
    c.send("hello");
    let r = c.response();
    assert_eq!((r.status, r.text().as_str()), (200, "hello"));
    assert!(!r.says_close());
    // Chunked too, and the connection is still good.
    c.send("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nExpect: 100-Continue\r\n\r\n");
    expect_100(&mut c);
    c.send("3\r\nabc\r\n0\r\n\r\n");
    assert_eq!(c.response().text(), "abc");
    c.get("/");
    assert_eq!(c.response().status, 200);
    server.stop();
}

#[test]
fn expect_continue_gets_no_100_when_the_handler_does_not_read() {
    let server = TestServer::new(ignore_body);
    let mut c = server.connect();
    c.send("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 5000000\r\nExpect: 100-continue\r\n\r\n");
    let r = c.response();
    assert_eq!((r.status, r.text().as_str()), (200, "ignored /x"), "{r:?}");
    assert!(r.says_close(), "the body was neither sent nor refused, so the connection must close: {r:?}");
    c.expect_closed();
    server.stop();
}

#[test]
fn expect_continue_on_http10_is_ignored() {
    let server = TestServer::new(echo);
    let mut c = server.connect();
    c.send("POST / HTTP/1.0\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\nhi");
    let r = c.response();
    assert_eq!((r.status, r.text().as_str()), (200, "hi"), "no 100 Continue for HTTP/1.0");
    server.stop();
}

/// A head of exactly `len` bytes, ending in a blank line.
fn head_of_len(len: usize, framing: &str) -> Vec<u8> {
    let start = format!("POST /h HTTP/1.1\r\nHost: t\r\n{framing}\r\nX-Pad: ");
    let pad = len - start.len() - 4;
    let mut head = start.into_bytes();
    head.extend(std::iter::repeat_n(b'p', pad));
    head.extend_from_slice(b"\r\n\r\n");
    assert_eq!(head.len(), len);
    head
}

#[test]
fn a_head_that_fills_the_read_buffer_exactly_still_gets_its_body() {
    let server = TestServer::new(echo);
    // The server reads 16 KiB at first and doubles its buffer for long
    // heads: heads ending exactly at those sizes leave no room after them.
    for len in [16 * 1024, 32 * 1024, 16 * 1024 - 1, 16 * 1024 + 1] {
        for framing in ["Transfer-Encoding: chunked", "Content-Length: 10"] {
            let mut c = server.connect();
            c.send(head_of_len(len, framing));
            thread::sleep(Duration::from_millis(20));
            if framing.starts_with("Transfer") {
                c.send(chunked(b"0123456789", 4));
            } else {
                c.send("0123456789");
            }
            let r = c.response();
            assert_eq!((r.status, r.text().as_str()), (200, "0123456789"), "head of {len} bytes, {framing}");
        }
    }
    server.stop();
}
