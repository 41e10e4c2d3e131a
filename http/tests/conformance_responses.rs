//! Response framing and the headers the server adds: Content-Length when
//! the length is known, chunked for streams on HTTP/1.1, close-delimited
//! streams for HTTP/1.0, no body for HEAD, 1xx, 204 and 304, `Date`, and
//! the configurable `Server` header.

mod common;

use std::io::{self, Cursor, Read};
use std::time::{SystemTime, UNIX_EPOCH};

use common::{builder, Framing, TestServer};
use verde_http::{Request, Response, ResponseBody, StatusCode};

/// `n` bytes of a pattern that shows misplaced or lost bytes.
fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 253) as u8).collect()
}

/// A reader that hands out `data` a few bytes per call, like a slow
/// producer.
struct Trickle {
    data: Cursor<Vec<u8>>,
    step: usize,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.step);
        self.data.read(&mut buf[..n])
    }
}

/// Routes used by most tests here.
fn routes(req: &mut Request<'_>) -> Response {
    match req.path() {
        "/text" => Response::text("hello"),
        "/big" => Response::new(StatusCode::OK).with_body(pattern(200_000)),
        "/stream" => {
            Response::new(StatusCode::OK).with_stream(Trickle { data: Cursor::new(pattern(100_000)), step: 777 })
        }
        "/sized" => Response::new(StatusCode::OK)
            .with_body(ResponseBody::Reader { reader: Box::new(Cursor::new(pattern(50_000))), len: Some(50_000) }),
        "/empty-stream" => Response::new(StatusCode::OK).with_stream(io::empty()),
        "/204" => Response::new(StatusCode::NO_CONTENT).with_body("must not be sent"),
        "/304" => Response::new(StatusCode::NOT_MODIFIED).with_body("must not be sent"),
        "/304-empty" => Response::new(StatusCode::NOT_MODIFIED),
        "/304-stream" => Response::new(StatusCode::NOT_MODIFIED).with_stream(Cursor::new(b"must not be sent".to_vec())),
        "/103" => Response::new(StatusCode::from_u16(103).unwrap()).with_body("must not be sent"),
        "/framing" => Response::text("four")
            .with_header("content-length", "999")
            .with_header("transfer-encoding", "chunked")
            .with_header("x-kept", "yes"),
        "/multi" => Response::text("m")
            .with_header("set-cookie", "a=1")
            .with_header("set-cookie", "b=2")
            .with_header("x-z", "z"),
        "/own-date" => Response::text("d").with_header("date", "Thu, 01 Jan 1970 00:00:00 GMT"),
        "/own-server" => Response::text("s").with_header("server", "handler/2"),
        "/teapot" => Response::error(StatusCode::IM_A_TEAPOT, "short and stout"),
        _ => Response::error(StatusCode::NOT_FOUND, "no such route"),
    }
}

#[test]
fn known_lengths_are_sent_with_content_length() {
    let server = TestServer::new(routes);
    let mut c = server.connect();
    c.get("/text");
    let r = c.response();
    assert_eq!(
        (r.status, r.framing, r.header("content-length"), r.text().as_str()),
        (200, Framing::Length, Some("5"), "hello")
    );
    assert_eq!(r.header("transfer-encoding"), None);
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    c.get("/big");
    let r = c.response();
    assert_eq!((r.framing, r.header("content-length")), (Framing::Length, Some("200000")));
    assert!(r.body == pattern(200_000));
    c.get("/sized");
    let r = c.response();
    assert_eq!((r.framing, r.header("content-length")), (Framing::Length, Some("50000")));
    assert!(r.body == pattern(50_000));
    c.get("/nowhere");
    let r = c.response();
    assert_eq!((r.status, r.reason.as_str(), r.text().as_str()), (404, "Not Found", "no such route"));
    c.get("/teapot");
    assert_eq!(c.response().status, 418);
    server.stop();
}

#[test]
fn streams_are_chunked_on_http11() {
    let server = TestServer::new(routes);
    let mut c = server.connect();
    for _ in 0..2 {
        c.get("/stream");
        let r = c.response();
        assert_eq!((r.status, r.framing), (200, Framing::Chunked), "{r:?}");
        assert_eq!(r.header("content-length"), None);
        assert!(!r.says_close());
        assert!(r.body == pattern(100_000), "{} bytes", r.body.len());
    }
    c.get("/empty-stream");
    let r = c.response();
    assert_eq!((r.framing, r.body.len()), (Framing::Chunked, 0));
    c.get("/text");
    assert_eq!(c.response().text(), "hello", "the connection is still in step");
    server.stop();
}

#[test]
fn streams_to_http10_are_delimited_by_close() {
    let server = TestServer::new(routes);
    for request in ["GET /stream HTTP/1.0\r\n\r\n", "GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"] {
        let mut c = server.connect();
        c.send(request);
        let r = c.response();
        assert_eq!((r.status, r.framing), (200, Framing::Close), "{request:?}: {r:?}");
        assert_eq!(r.header("transfer-encoding"), None, "HTTP/1.0 has no chunked coding");
        assert!(r.says_close());
        assert!(r.body == pattern(100_000), "{} bytes", r.body.len());
    }
    // A known length keeps an HTTP/1.0 keep-alive connection.
    let mut c = server.connect();
    c.send("GET /sized HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    let r = c.response();
    assert_eq!((r.framing, r.header("connection")), (Framing::Length, Some("keep-alive")));
    c.send("GET /text HTTP/1.0\r\n\r\n");
    assert_eq!(c.response().text(), "hello");
    server.stop();
}

#[test]
fn head_gets_the_length_and_no_body() {
    let server = TestServer::new(routes);
    let mut c = server.connect();
    for (path, length) in [("/text", Some("5")), ("/big", Some("200000")), ("/sized", Some("50000")), ("/stream", None)]
    {
        c.send(format!("HEAD {path} HTTP/1.1\r\nHost: t\r\n\r\n"));
        let r = c.head_response();
        assert_eq!((r.status, r.header("content-length")), (200, length), "HEAD {path}");
        assert!(!r.says_close());
    }
    // Had any body bytes followed, this would not parse.
    c.get("/text");
    let r = c.response();
    assert_eq!(r.text(), "hello");
    assert!(c.pending().is_empty());
    server.stop();
}

#[test]
fn no_body_for_1xx_204_and_304() {
    let server = TestServer::new(routes);
    let mut c = server.connect();
    c.get("/204");
    let r = c.response();
    assert_eq!(r.status, 204);
    assert_eq!(r.header("content-length"), None, "204 must not have Content-Length");
    assert_eq!(r.header("transfer-encoding"), None);
    for path in ["/304", "/304-stream"] {
        c.get(path);
        let r = c.response();
        assert_eq!(r.status, 304, "{path}");
        assert_eq!(r.header("transfer-encoding"), None, "{path}");
    }
    c.get("/304-empty");
    let r = c.response();
    assert_eq!(r.status, 304);
    assert_eq!(r.header("content-length"), None, "an empty 304 cannot know its representation's length");
    c.get("/103");
    let r = c.response();
    assert_eq!(r.status, 103);
    assert_eq!(r.header("content-length"), None);
    // Any body after those heads would now be read as a status line.
    c.get("/text");
    assert_eq!(c.response().text(), "hello");
    assert!(c.pending().is_empty());
    server.stop();
}

#[test]
fn framing_headers_from_the_handler_are_replaced() {
    let server = TestServer::new(routes);
    let mut c = server.connect();
    c.get("/framing");
    let r = c.response();
    assert_eq!(r.header("content-length"), Some("4"));
    assert_eq!(r.header("transfer-encoding"), None);
    assert_eq!((r.header("x-kept"), r.text().as_str()), (Some("yes"), "four"));
    c.get("/multi");
    let r = c.response();
    assert_eq!(r.header_all("set-cookie"), ["a=1", "b=2"], "repeated headers are kept in order");
    assert_eq!(r.header("x-z"), Some("z"));
    server.stop();
}

/// Seconds since the epoch of an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37
/// GMT`), or `None` if it is not one.
fn parse_imf_fixdate(s: &str) -> Option<i64> {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let b = s.as_bytes();
    if b.len() != 29 || &s[3..5] != ", " || &s[25..] != " GMT" || b[7] != b' ' || b[11] != b' ' || b[16] != b' ' {
        return None;
    }
    if b[19] != b':' || b[22] != b':' {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = &s[r];
        if t.bytes().all(|c| c.is_ascii_digit()) {
            t.parse().ok()
        } else {
            None
        }
    };
    let weekday = DAYS.iter().position(|d| *d == &s[0..3])? as i64;
    let day = digits(5..7)?;
    let month = MONTHS.iter().position(|m| *m == &s[8..11])? as i64 + 1;
    let year = digits(12..16)?;
    let (hh, mm, ss) = (digits(17..19)?, digits(20..22)?, digits(23..25)?);
    // Days since the epoch, proleptic Gregorian.
    let (y, m) = if month <= 2 { (year - 1, month + 9) } else { (year, month - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    // 1970-01-01 was a Thursday (index 3 from Monday).
    if (days + 3).rem_euclid(7) != weekday {
        return None;
    }
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

#[test]
fn the_test_date_parser_knows_real_dates() {
    assert_eq!(parse_imf_fixdate("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
    assert_eq!(parse_imf_fixdate("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
    assert_eq!(parse_imf_fixdate("Mon, 06 Nov 1994 08:49:37 GMT"), None, "wrong weekday");
    assert_eq!(parse_imf_fixdate("Sunday, 06-Nov-94 08:49:37 GMT"), None);
}

#[test]
fn every_response_has_a_current_date() {
    let server = TestServer::new(routes);
    let mut c = server.connect();
    for path in ["/text", "/stream", "/204", "/nowhere", "/text"] {
        c.get(path);
        let r = c.response();
        let date = r.header("date").unwrap_or_else(|| panic!("{path}: no Date header"));
        let secs = parse_imf_fixdate(date).unwrap_or_else(|| panic!("{path}: Date {date:?} is not an IMF-fixdate"));
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
        assert!((now - secs).abs() <= 60, "{path}: Date {date:?} is not now");
    }
    // A handler's own Date wins, and is not doubled.
    c.get("/own-date");
    assert_eq!(c.response().header("date"), Some("Thu, 01 Jan 1970 00:00:00 GMT"));
    // Rejections carry one too.
    c.send("BAD\r\n\r\n");
    let r = c.response();
    assert_eq!(r.status, 400);
    assert!(r.header("date").and_then(parse_imf_fixdate).is_some(), "{r:?}");
    server.stop();
}

#[test]
fn the_server_header_is_configurable() {
    let server = TestServer::new(routes);
    let mut c = server.connect();
    c.get("/text");
    assert_eq!(c.response().header("server"), Some("verde"), "the default");
    c.get("/own-server");
    assert_eq!(c.response().header("server"), Some("handler/2"), "a handler's own Server wins");
    server.stop();

    let server = TestServer::start(builder().server_header(Some("test-suite/1.0")), routes);
    let mut c = server.connect();
    c.get("/text");
    assert_eq!(c.response().header("server"), Some("test-suite/1.0"));
    c.send("BAD\r\n\r\n");
    assert_eq!(c.response().header("server"), Some("test-suite/1.0"), "rejections carry it too");
    server.stop();

    let server = TestServer::start(builder().server_header(None), routes);
    let mut c = server.connect();
    c.get("/text");
    assert_eq!(c.response().header("server"), None);
    server.stop();
}

/// Says "first", then waits for the test's go-ahead before "second".
struct TwoParts {
    go: std::sync::Arc<verde_runtime::event::Event>,
    step: u8,
}

impl Read for TwoParts {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.step += 1;
        let part: &[u8] = match self.step {
            1 => b"first",
            2 => {
                if !self.go.wait(Some(common::LONG)) {
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "no go-ahead"));
                }
                b"second"
            }
            _ => b"",
        };
        buf[..part.len()].copy_from_slice(part);
        Ok(part.len())
    }
}

#[test]
fn streamed_bodies_are_sent_as_they_are_produced() {
    let go = std::sync::Arc::new(verde_runtime::event::Event::new());
    let go2 = go.clone();
    let server = TestServer::new(move |_: &mut Request<'_>| {
        go2.clear();
        Response::new(StatusCode::OK).with_stream(TwoParts { go: go2.clone(), step: 0 })
    });
    for request in ["GET / HTTP/1.1\r\nHost: t\r\n\r\n", "GET / HTTP/1.0\r\n\r\n"] {
        let mut c = server.connect();
        c.send(request);
        // "first" arrives while the body is still being produced.
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while !seen.windows(5).any(|w| w == b"first") {
            let n = c.stream.read(&mut buf).expect("the first part never came: the stream was held back");
            assert!(n > 0, "closed early: {:?}", String::from_utf8_lossy(&seen));
            seen.extend_from_slice(&buf[..n]);
        }
        assert!(!seen.windows(6).any(|w| w == b"second"));
        go.set();
        let mut rest = Vec::new();
        if request.contains("1.1") {
            while !rest.ends_with(b"0\r\n\r\n") {
                let n = c.stream.read(&mut buf).unwrap();
                assert!(n > 0);
                rest.extend_from_slice(&buf[..n]);
            }
            assert_eq!(rest, b"6\r\nsecond\r\n0\r\n\r\n");
        } else {
            c.stream.read_to_end(&mut rest).unwrap();
            assert_eq!(rest, b"second");
        }
    }
    server.stop();
}
