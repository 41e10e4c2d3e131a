//! Real clients against the server: `curl` and Python's `http.client`.
//! GET, POST with Content-Length and chunked bodies, HEAD, streamed
//! responses, keep-alive reuse, and `Expect: 100-continue`.
//!
//! Both programs must be installed (curl is a Debian package; python3 is
//! on the machine): a missing one fails the test rather than skipping it.

mod common;

use std::io::{Cursor, Write};
use std::process::{Command, Output, Stdio};

use common::TestServer;
use verde_http::{Request, Response, StatusCode};

/// `/info` describes the request; `/stream` streams a chunked body;
/// `/ignore` answers without reading the body.
fn routes(req: &mut Request<'_>) -> Response {
    match req.path() {
        "/stream" => {
            let body: Vec<u8> = (0..50_000).map(|i| b'a' + (i % 26) as u8).collect();
            Response::new(StatusCode::OK).with_stream(Cursor::new(body))
        }
        "/ignore" => Response::text("ignored"),
        _ => {
            let te = req.header_str("transfer-encoding").unwrap_or("-").to_string();
            let cl = req.header_str("content-length").unwrap_or("-").to_string();
            let expect = req.header_str("expect").unwrap_or("-").to_string();
            let method = req.method().to_string();
            let port = req.peer_addr().map_or(0, |a| a.port());
            let body = match req.body().read_all() {
                Ok(b) => b,
                Err(e) => return Response::error(StatusCode::BAD_REQUEST, e.to_string()),
            };
            let sum: u64 = body.iter().map(|&b| u64::from(b)).sum();
            Response::text(format!(
                "method={method} te={te} cl={cl} expect={expect} len={} sum={sum} port={port}\n",
                body.len()
            ))
        }
    }
}

fn run(program: &str, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(program)
        .args(args)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program} (is it installed?): {e}"));
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn curl(args: &[&str], stdin: Option<&[u8]>) -> (String, String) {
    let mut all = vec!["--silent", "--show-error", "--max-time", "20"];
    all.extend_from_slice(args);
    let out = run("curl", &all, stdin);
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn body_sum(body: &[u8]) -> u64 {
    body.iter().map(|&b| u64::from(b)).sum()
}

#[test]
fn curl_get_head_and_stream() {
    let server = TestServer::new(routes);
    let (out, _) = curl(&["--include", &server.url("/info")], None);
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    assert!(out.contains("\r\nServer: verde\r\n") && out.contains("\r\nDate: "), "{out}");
    assert!(out.contains("method=GET te=- cl=- expect=- len=0"), "{out}");

    let (out, _) = curl(&["--head", &server.url("/info")], None);
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    assert!(out.to_ascii_lowercase().contains("\r\ncontent-length: "), "{out}");
    assert!(out.ends_with("\r\n\r\n"), "HEAD got a body: {out:?}");

    let (out, _) = curl(&["--include", &server.url("/stream")], None);
    assert!(out.to_ascii_lowercase().contains("transfer-encoding: chunked"), "{out}");
    let body = out.split_once("\r\n\r\n").unwrap().1;
    assert_eq!(body.len(), 50_000);
    assert!(body.bytes().enumerate().all(|(i, b)| b == b'a' + (i % 26) as u8));

    // HTTP/1.0: the stream is delimited by the close.
    let (out, _) = curl(&["--http1.0", "--include", &server.url("/stream")], None);
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    assert!(!head.to_ascii_lowercase().contains("transfer-encoding"), "{head}");
    assert_eq!(body.len(), 50_000);
    server.stop();
}

#[test]
fn curl_posts_with_content_length_and_chunked() {
    let server = TestServer::new(routes);
    let (out, _) = curl(&["--data-binary", "hello from curl", &server.url("/info")], None);
    assert!(out.starts_with("method=POST te=- cl=15 expect=- len=15 "), "{out}");

    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 241) as u8).collect();
    let (out, _) =
        curl(&["-H", "Transfer-Encoding: chunked", "--data-binary", "@-", &server.url("/info")], Some(&data));
    let expected = format!("method=POST te=chunked cl=- expect=- len=300000 sum={} ", body_sum(&data));
    assert!(out.starts_with(&expected), "{out}");

    let (out, _) = curl(&["-X", "PUT", "--data-binary", "@-", &server.url("/info")], Some(b"put body"));
    assert!(out.starts_with("method=PUT te=- cl=8 expect=- len=8 "), "{out}");
    server.stop();
}

#[test]
fn curl_reuses_its_connection() {
    let server = TestServer::new(routes);
    let url = server.url("/info");
    let (out, err) = curl(&["--verbose", &url, &url, &url], None);
    let ports: Vec<&str> = out.lines().map(|l| l.rsplit_once("port=").unwrap().1).collect();
    assert_eq!(ports.len(), 3, "{out}");
    assert!(ports.iter().all(|p| *p == ports[0]), "curl used several connections: {out}");
    assert!(err.contains("Re-using existing connection"), "{err}");
    server.stop();
}

#[test]
fn curl_expect_100_continue() {
    let server = TestServer::new(routes);
    let data: Vec<u8> = (0..2_000_000u32).map(|i| (i % 199) as u8).collect();
    // Asked for explicitly, and as curl does by itself for a large body.
    for extra in [&["-H", "Expect: 100-continue"][..], &[]] {
        let mut args = vec!["--verbose", "--data-binary", "@-"];
        args.extend_from_slice(extra);
        let url = server.url("/info");
        args.push(&url);
        let (out, err) = curl(&args, Some(&data));
        let expected = format!("len=2000000 sum={} ", body_sum(&data));
        assert!(out.contains(&expected), "{out}");
        if !extra.is_empty() {
            assert!(out.contains("expect=100-continue"), "{out}");
        }
        if out.contains("expect=100-continue") {
            assert!(err.contains("HTTP/1.1 100 Continue"), "the server never said 100 Continue: {err}");
        }
    }
    // The handler answers without reading: no 100, the answer, a close.
    let url = server.url("/ignore");
    let (out, err) = curl(&["--verbose", "-H", "Expect: 100-continue", "--data-binary", "@-", &url], Some(&data));
    assert_eq!(out, "ignored");
    assert!(!err.contains("100 Continue"), "{err}");
    server.stop();
}

const PYTHON_CLIENT: &str = r#"
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=20)
def show(label, r):
    body = r.read()
    print(label, r.status, r.getheader("Connection", "-"), r.getheader("Content-Length", "-"),
          r.getheader("Transfer-Encoding", "-"), len(body), body.decode("latin-1").strip())
c.request("GET", "/info")
show("get", c.getresponse())
c.request("POST", "/info", body=b"hello python", headers={"Content-Type": "text/plain"})
show("post", c.getresponse())
def pieces():
    for i in range(100):
        yield bytes([i % 256]) * 1000
c.request("POST", "/info", body=pieces())
show("chunked", c.getresponse())
c.request("HEAD", "/info")
show("head", c.getresponse())
c.request("GET", "/stream")
r = c.getresponse()
body = r.read()
ok = body == bytes(b"abcdefghijklmnopqrstuvwxyz"[i % 26] for i in range(50000))
print("stream", r.status, r.getheader("Transfer-Encoding", "-"), len(body), ok)
c.request("GET", "/info")
show("again", c.getresponse())
"#;

#[test]
fn python_http_client() {
    let server = TestServer::new(routes);
    let port = server.addr().port().to_string();
    let out = run("python3", &["-c", PYTHON_CLIENT, &port], None);
    let out = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 6, "{out}");
    let chunked_sum: u64 = (0..100u64).map(|i| i * 1000).sum();
    let expect_prefixes = [
        "get 200 - ".to_string(),
        "post 200 - ".to_string(),
        "chunked 200 - ".to_string(),
        "head 200 - ".to_string(),
        "stream 200 chunked 50000 True".to_string(),
        "again 200 - ".to_string(),
    ];
    for (line, prefix) in lines.iter().zip(&expect_prefixes) {
        assert!(line.starts_with(prefix.as_str()), "{line:?} should start with {prefix:?}\n{out}");
    }
    assert!(lines[0].contains("method=GET te=- cl=- expect=- len=0 "), "{out}");
    assert!(lines[1].contains("method=POST te=- cl=12 expect=- len=12 "), "{out}");
    assert!(lines[2].contains(&format!("method=POST te=chunked cl=- expect=- len=100000 sum={chunked_sum} ")), "{out}");
    // HEAD: a length, and no body.
    let head: Vec<&str> = lines[3].split(' ').collect();
    assert!(head[3] != "-" && head[5] == "0", "{out}");
    // One connection for everything.
    let ports: Vec<&str> =
        lines.iter().filter(|l| l.contains("port=")).map(|l| l.rsplit_once("port=").unwrap().1).collect();
    assert_eq!(ports.len(), 4, "{out}");
    assert!(ports.iter().all(|p| *p == ports[0]), "python opened more than one connection:\n{out}");
    server.stop();
}
