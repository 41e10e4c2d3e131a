//! Pipelining: requests sent back to back in one write are all answered,
//! in order, however they are split and whatever their bodies.

mod common;

use std::io::Write;
use std::time::Duration;

use common::TestServer;
use verde_http::{Request, Response, StatusCode};

/// Answers with the method, the target and the body; `/sleep/N` first
/// sleeps N ms, so answers finish out of order if the server let them.
fn echo(req: &mut Request<'_>) -> Response {
    if let Some(ms) = req.path().strip_prefix("/sleep/").and_then(|m| m.parse().ok()) {
        verde_runtime::sleep(Duration::from_millis(ms));
    }
    let body = req.body().read_all().unwrap_or_default();
    let mut out = format!("{} {} ", req.method(), req.target()).into_bytes();
    out.extend_from_slice(&body);
    Response::new(StatusCode::OK).with_body(out)
}

#[test]
fn sixteen_requests_in_one_write_get_sixteen_answers_in_order() {
    let server = TestServer::new(echo);
    let mut c = server.connect();
    let all: String = (0..16).map(|i| format!("GET /{i} HTTP/1.1\r\nHost: t\r\n\r\n")).collect();
    c.stream.write_all(all.as_bytes()).unwrap();
    for i in 0..16 {
        let r = c.response();
        assert_eq!((r.status, r.text()), (200, format!("GET /{i} ")), "answer {i}");
    }
    // Exactly sixteen: nothing more is waiting.
    assert!(c.pending().is_empty());
    assert_eq!(c.end(Duration::from_millis(100)), common::End::Open);
    server.stop();
}

#[test]
fn pipelined_requests_with_bodies_and_head() {
    let server = TestServer::new(echo);
    let mut c = server.connect();
    let wire = concat!(
        "POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello",
        "GET /b HTTP/1.1\r\nHost: t\r\n\r\n",
        "PUT /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        "HEAD /d HTTP/1.1\r\nHost: t\r\n\r\n",
        "DELETE /e?x=1 HTTP/1.1\r\nHost: t\r\n\r\n",
        "POST /f HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n",
    );
    c.send(wire);
    assert_eq!(c.response().text(), "POST /a hello");
    assert_eq!(c.response().text(), "GET /b ");
    assert_eq!(c.response().text(), "PUT /c abcde");
    let head = c.head_response();
    assert_eq!(head.header("content-length"), Some("8"), "HEAD /d: {head:?}");
    assert_eq!(c.response().text(), "DELETE /e?x=1 ");
    assert_eq!(c.response().text(), "POST /f ");
    server.stop();
}

#[test]
fn slow_handlers_do_not_reorder_answers() {
    let server = TestServer::new(echo);
    let mut c = server.connect();
    let delays = [120, 0, 60, 0, 30, 0];
    let wire: String = delays.iter().map(|ms| format!("GET /sleep/{ms} HTTP/1.1\r\nHost: t\r\n\r\n")).collect();
    c.send(wire);
    for ms in delays {
        assert_eq!(c.response().text(), format!("GET /sleep/{ms} "));
    }
    server.stop();
}

#[test]
fn pipelined_requests_split_at_every_boundary() {
    let server = TestServer::new(echo);
    let wire: String =
        (0..3).map(|i| format!("POST /{i} HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nb{i}!")).collect::<String>()
            + "GET /last HTTP/1.1\r\nHost: t\r\n\r\n";
    let wire = wire.as_bytes();
    // The same bytes cut at each position in turn.
    for cut in (1..wire.len()).step_by(7) {
        let mut c = server.connect();
        c.stream.set_nodelay(true).unwrap();
        c.send(&wire[..cut]);
        std::thread::sleep(Duration::from_millis(2));
        c.send(&wire[cut..]);
        for i in 0..3 {
            assert_eq!(c.response().text(), format!("POST /{i} b{i}!"), "cut at {cut}");
        }
        assert_eq!(c.response().text(), "GET /last ", "cut at {cut}");
    }
    server.stop();
}

#[test]
fn many_pipelined_requests_with_large_answers() {
    // More than one flush's worth of answers.
    let server = TestServer::new(|req: &mut Request<'_>| {
        let n: usize = req.path()[1..].parse().unwrap();
        Response::new(StatusCode::OK).with_body(vec![b'a' + (n % 26) as u8; 10_000 + n])
    });
    let mut c = server.connect();
    let mut writer = c.stream.try_clone().unwrap();
    let t = std::thread::spawn(move || {
        let wire: String = (0..200).map(|i| format!("GET /{i} HTTP/1.1\r\nHost: t\r\n\r\n")).collect();
        writer.write_all(wire.as_bytes()).unwrap();
    });
    for i in 0..200 {
        let r = c.response();
        assert_eq!(r.body.len(), 10_000 + i);
        assert!(r.body.iter().all(|&b| b == b'a' + (i % 26) as u8), "answer {i} has the wrong body");
    }
    t.join().unwrap();
    server.stop();
}

#[test]
fn hundreds_of_mixed_pipelined_requests_in_one_write() {
    let server = TestServer::new(|req: &mut Request<'_>| {
        if req.path().starts_with("/ignore") {
            return Response::text(format!("ignored {}", req.path()));
        }
        echo(req)
    });
    let mut c = server.connect();
    let mut wire = Vec::new();
    let mut expected = Vec::new();
    // A fixed pseudo-random mix of kinds and sizes.
    let mut seed = 12345u32;
    let mut next = move || {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        seed >> 8
    };
    for i in 0..400 {
        let len = (next() % 3000) as usize;
        let body: Vec<u8> = (0..len).map(|j| b'a' + ((i + j) % 26) as u8).collect();
        let body_text = String::from_utf8(body.clone()).unwrap();
        match next() % 4 {
            0 => {
                wire.extend_from_slice(format!("GET /g{i} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
                expected.push(format!("GET /g{i} "));
            }
            1 => {
                wire.extend_from_slice(
                    format!("POST /p{i} HTTP/1.1\r\nHost: t\r\nContent-Length: {len}\r\n\r\n").as_bytes(),
                );
                wire.extend_from_slice(&body);
                expected.push(format!("POST /p{i} {body_text}"));
            }
            2 => {
                wire.extend_from_slice(
                    format!("POST /c{i} HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: Chunked\r\n\r\n").as_bytes(),
                );
                for piece in body.chunks(700) {
                    wire.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
                    wire.extend_from_slice(piece);
                    wire.extend_from_slice(b"\r\n");
                }
                wire.extend_from_slice(b"0\r\n\r\n");
                expected.push(format!("POST /c{i} {body_text}"));
            }
            _ => {
                wire.extend_from_slice(
                    format!("PUT /ignore{i} HTTP/1.1\r\nHost: t\r\nContent-Length: {len}\r\n\r\n").as_bytes(),
                );
                wire.extend_from_slice(&body);
                expected.push(format!("ignored /ignore{i}"));
            }
        }
    }
    let mut writer = c.stream.try_clone().unwrap();
    let t = std::thread::spawn(move || writer.write_all(&wire));
    for (i, want) in expected.iter().enumerate() {
        let r = c.response();
        assert_eq!((r.status, &r.text()), (200, want), "answer {i}");
    }
    t.join().unwrap().unwrap();
    server.stop();
}
