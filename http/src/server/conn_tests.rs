//! The connection loop over an in-memory transport.

use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use super::conn::{serve, Shared};
use crate::{Handler, Limits, Request, Response, Timeouts, Transport};

/// Delivers scripted reads (one chunk per read call, then EOF) and records
/// writes and the read timeouts set.
struct Script {
    reads: Vec<Vec<u8>>,
    written: Vec<u8>,
    read_timeouts: RefCell<Vec<Option<Duration>>>,
}

impl Read for Script {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.reads.is_empty() {
            return Ok(0);
        }
        let chunk = &mut self.reads[0];
        let n = chunk.len().min(buf.len());
        buf[..n].copy_from_slice(&chunk[..n]);
        chunk.drain(..n);
        if chunk.is_empty() {
            self.reads.remove(0);
        }
        Ok(n)
    }
}

impl Write for Script {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.written.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Transport for Script {
    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.read_timeouts.borrow_mut().push(t);
        Ok(())
    }
    fn set_write_timeout(&self, _: Option<Duration>) -> io::Result<()> {
        Ok(())
    }
}

/// Runs the connection loop over `reads` and returns what it wrote, with
/// Date headers blanked.
fn run(handler: impl Handler, limits: Limits, reads: &[&[u8]]) -> String {
    let text = String::from_utf8(run_script(handler, limits, reads).written).unwrap();
    text.lines().map(|l| if l.starts_with("Date: ") { "Date: -" } else { l }).collect::<Vec<_>>().join("\n")
}

/// Runs the connection loop over `reads` and returns the script after it.
fn run_script(handler: impl Handler, limits: Limits, reads: &[&[u8]]) -> Script {
    let shared = Shared {
        handler: Box::new(handler),
        limits,
        timeouts: Timeouts::default(),
        server_name: None,
        draining: AtomicBool::new(false),
    };
    let mut script = Script {
        reads: reads.iter().map(|r| r.to_vec()).collect(),
        written: Vec::new(),
        read_timeouts: RefCell::default(),
    };
    serve(ScriptRef(&mut script), None, &shared, &AtomicBool::new(false));
    script
}

/// Lets `serve` own a transport while the test keeps the script.
struct ScriptRef<'a>(&'a mut Script);
impl Read for ScriptRef<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}
impl Write for ScriptRef<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
impl Transport for ScriptRef<'_> {
    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.0.set_read_timeout(t)
    }
    fn set_write_timeout(&self, _: Option<Duration>) -> io::Result<()> {
        Ok(())
    }
}

fn hello(_: &mut Request<'_>) -> Response {
    Response::text("hi")
}

fn echo(req: &mut Request<'_>) -> Response {
    let body = req.body().read_all().unwrap_or_default();
    Response::new(http::StatusCode::OK).with_body(body)
}

const OK_HI: &str = "HTTP/1.1 200 OK\nDate: -\ncontent-type: text/plain; charset=utf-8\nContent-Length: 2\n\nhi";

#[test]
fn pipelined_requests_in_one_read() {
    let req = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n".repeat(3);
    let out = run(hello, Limits::default(), &[&req]);
    assert_eq!(out.matches("HTTP/1.1 200 OK").count(), 3, "{out}");
}

#[test]
fn request_split_across_reads() {
    let out = run(hello, Limits::default(), &[b"GET / HT", b"TP/1.1\r\nHo", b"st: a\r\n\r\n"]);
    assert_eq!(out, OK_HI);
}

#[test]
fn content_length_body_then_next_request() {
    let out = run(
        echo,
        Limits::default(),
        &[b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhel", b"loGET / HTTP/1.1\r\nHost: a\r\n\r\n"],
    );
    assert_eq!(out.matches("HTTP/1.1 200 OK").count(), 2, "{out}");
    assert!(out.contains("\n\nhello"), "{out}");
}

#[test]
fn a_body_sets_its_read_timeout_once_and_the_next_request_waits_idle() {
    let script = run_script(
        echo,
        Limits::default(),
        &[
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n",
            b"hel",
            b"lo",
            b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        ],
    );
    let t = Timeouts::default();
    assert_eq!(*script.read_timeouts.borrow(), [Some(t.idle), Some(t.body), Some(t.idle)]);
    let text = String::from_utf8(script.written).unwrap();
    assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 2, "{text}");
}

#[test]
fn chunked_body() {
    let out = run(
        echo,
        Limits::default(),
        &[b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", b"2\r\nde\r\n0\r\n\r\n"],
    );
    assert!(out.ends_with("Content-Length: 5\n\nabcde"), "{out}");
}

/// A chunked body whose head ends a nearly full read, read on from the
/// socket into the room after it, with the next request arriving behind
/// the body: the head is parsed once and stays where it is, the body and
/// the request after it come through the room.
#[test]
fn chunked_body_after_a_full_read_then_next_request() {
    let mut first = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n".repeat(440);
    first.extend_from_slice(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab");
    let mut second = b"c\r\n1770\r\n".to_vec();
    second.extend_from_slice(&[b'x'; 0x1770]);
    second.extend_from_slice(b"\r\n0\r\n\r\nGET /after HTTP/1.1\r\nHost: a\r\n\r\n");
    let out = run(echo, Limits::default(), &[&first, &second]);
    assert_eq!(out.matches("HTTP/1.1 200 OK").count(), 442, "{out}");
    let body = format!("abc{}", "x".repeat(0x1770));
    assert!(out.contains(&format!("Content-Length: {}\n\n{body}HTTP/1.1 200 OK", body.len())), "{out}");
}

#[test]
fn unread_body_is_drained_and_connection_kept() {
    let out = run(
        hello,
        Limits::default(),
        &[b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbodyGET / HTTP/1.1\r\nHost: a\r\n\r\n"],
    );
    assert_eq!(out.matches("HTTP/1.1 200 OK").count(), 2, "{out}");
}

#[test]
fn unread_body_arriving_later_is_drained_with_the_next_request_behind_it() {
    let out = run(
        hello,
        Limits::default(),
        &[
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nbo",
            b"dy",
            b"-rest!GET /next HTTP/1.1\r\nHost: a\r\n\r\n",
        ],
    );
    assert_eq!(out.matches("HTTP/1.1 200 OK").count(), 2, "{out}");
    assert!(!out.contains("Connection: close"), "{out}");
}

#[test]
fn malformed_request_gets_400_and_close() {
    let out = run(hello, Limits::default(), &[b"GARBAGE\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"]);
    assert!(out.starts_with("HTTP/1.1 400 Bad Request"), "{out}");
    assert!(out.contains("Connection: close"), "{out}");
    assert_eq!(out.matches("HTTP/1.1").count(), 1);
}

#[test]
fn body_over_limit_gets_413() {
    let limits = Limits { max_body: 4, ..Limits::default() };
    let out = run(echo, limits.clone(), &[b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789"]);
    assert!(out.starts_with("HTTP/1.1 413"), "{out}");
    let out = run(
        echo,
        limits,
        &[b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n"],
    );
    assert!(out.starts_with("HTTP/1.1 413"), "{out}");
}

#[test]
fn handler_panic_gets_500() {
    let out = run(
        |_: &mut Request<'_>| -> Response { panic!("boom") },
        Limits::default(),
        &[b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"],
    );
    assert!(out.starts_with("HTTP/1.1 500"), "{out}");
}

#[test]
fn expect_continue_sends_100_when_body_is_read() {
    let out = run(
        echo,
        Limits::default(),
        &[b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n", b"ok"],
    );
    assert!(out.starts_with("HTTP/1.1 100 Continue\n\nHTTP/1.1 200 OK"), "{out}");
}

#[test]
fn http10_closes_unless_keep_alive() {
    let out = run(hello, Limits::default(), &[b"GET / HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\n\r\n"]);
    assert_eq!(out.matches("HTTP/1.1 200").count(), 1, "{out}");
    assert!(out.contains("Connection: close"));
    let out =
        run(hello, Limits::default(), &[b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\n\r\n"]);
    assert_eq!(out.matches("HTTP/1.1 200").count(), 2, "{out}");
    assert!(out.contains("Connection: keep-alive"));
}

#[test]
fn streamed_response_is_chunked() {
    let out = run(
        |_: &mut Request<'_>| Response::new(http::StatusCode::OK).with_stream(io::Cursor::new(b"streamed".to_vec())),
        Limits::default(),
        &[b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"],
    );
    assert!(out.ends_with("Transfer-Encoding: chunked\n\n8\nstreamed\n0\n"), "{out:?}");
}

#[test]
fn head_request_has_no_body() {
    let out = run(hello, Limits::default(), &[b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n"]);
    assert!(out.ends_with("Content-Length: 2\n"), "{out:?}");
}
