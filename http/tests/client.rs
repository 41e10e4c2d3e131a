//! `verde_http::Client` against the verde server and against raw
//! `verde_net` listeners that send exactly the bytes a test needs: methods,
//! headers and bodies; every response framing; connection reuse and
//! recovery; timeouts; redirects; the `http` crate; coroutines and plain
//! threads.

mod common;

use std::collections::HashSet;
use std::io::{self, Cursor, Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::{builder, TestServer, LONG};
use verde_http::{Client, Method, Request, Response, StatusCode, Timeouts};
use verde_net::{TcpListener, TcpStream};

/// Peer ports seen by the server: one per connection.
type Ports = Arc<Mutex<HashSet<u16>>>;

fn routes(ports: Ports, busy: Arc<AtomicUsize>, peak: Arc<AtomicUsize>) -> impl verde_http::Handler {
    move |req: &mut Request<'_>| {
        let port = req.peer_addr().map_or(0, |a| a.port());
        ports.lock().unwrap().insert(port);
        let path = req.path().to_string();
        if let Some(n) = path.strip_prefix("/redirect/") {
            let n: u32 = n.parse().unwrap();
            if n == 0 {
                return Response::text("arrived");
            }
            return Response::new(StatusCode::FOUND).with_header("location", format!("/redirect/{}", n - 1));
        }
        match path.as_str() {
            "/info" => {
                let method = req.method().to_string();
                let ua = req.header_str("user-agent").unwrap_or("-").to_string();
                let x = req.header_str("x-test").unwrap_or("-").to_string();
                let host = req.header_str("host").unwrap_or("-").to_string();
                let cl = req.header_str("content-length").unwrap_or("-").to_string();
                let query = req.query().unwrap_or("-").to_string();
                let body = String::from_utf8(req.body().read_all().unwrap()).unwrap();
                Response::text(format!("{method} query={query} ua={ua} x-test={x} host={host} cl={cl} body={body}"))
                    .with_header("x-reply", "yes")
            }
            "/port" => Response::text(port.to_string()),
            "/text" => Response::text("hello"),
            "/stream" => {
                let body: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
                Response::new(StatusCode::OK).with_stream(Cursor::new(body))
            }
            "/204" => Response::new(StatusCode::NO_CONTENT),
            "/see-other" => Response::new(StatusCode::SEE_OTHER).with_header("location", "/info"),
            "/temporary" => Response::new(StatusCode::TEMPORARY_REDIRECT).with_header("location", "/info"),
            "/moved" => Response::new(StatusCode::MOVED_PERMANENTLY).with_header("location", "info?from=moved"),
            "/sleep" => {
                let now = busy.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                verde_runtime::sleep(Duration::from_millis(200));
                busy.fetch_sub(1, Ordering::SeqCst);
                Response::text("slept")
            }
            _ => Response::error(StatusCode::NOT_FOUND, "no such route"),
        }
    }
}

struct Fixture {
    server: TestServer,
    ports: Ports,
    peak: Arc<AtomicUsize>,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture::with(builder())
    }

    fn with(b: verde_http::ServerBuilder) -> Fixture {
        let ports = Ports::default();
        let peak = Arc::new(AtomicUsize::new(0));
        let server = TestServer::start(b, routes(ports.clone(), Arc::default(), peak.clone()));
        Fixture { server, ports, peak }
    }

    fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    fn connections(&self) -> usize {
        self.ports.lock().unwrap().len()
    }
}

/// A raw server on a thread: `script` gets the listener and does what the
/// test needs.
fn raw_server<T: Send + 'static>(
    script: impl FnOnce(TcpListener) -> T + Send + 'static,
) -> (SocketAddr, thread::JoinHandle<T>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    (addr, thread::spawn(move || script(listener)))
}

/// Accepts one connection, failing the test rather than waiting forever.
fn accept(l: &TcpListener) -> TcpStream {
    let (s, _) = verde_runtime::with_timeout(LONG, || l.accept()).expect("no connection came").unwrap();
    s.set_read_timeout(Some(LONG)).unwrap();
    s
}

/// Reads one request (head and Content-Length body) and returns its head.
fn read_request(s: &mut TcpStream) -> String {
    let mut data = Vec::new();
    let mut byte = [0u8; 1];
    while !data.ends_with(b"\r\n\r\n") {
        assert_eq!(s.read(&mut byte).unwrap(), 1, "the client closed mid-request");
        data.push(byte[0]);
    }
    let head = String::from_utf8(data).unwrap();
    let len = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
        .unwrap_or(0usize);
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).unwrap();
    head
}

#[test]
fn methods_headers_and_bodies() {
    let f = Fixture::new();
    let client = Client::new();
    let r = client.get(&f.url("/info?a=1")).header("x-test", "get").send().unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.header("x-reply"), Some("yes"));
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    let host = f.server.addr().to_string();
    assert_eq!(
        r.text().unwrap(),
        format!("GET query=a=1 ua=verde/{} x-test=get host={host} cl=- body=", env!("CARGO_PKG_VERSION"))
    );
    let text = |m: Method, body: &str| {
        client.request(m, &f.url("/info")).header("x-test", "t").body(body).send().unwrap().text().unwrap()
    };
    assert!(text(Method::POST, "posted").starts_with("POST query=- "));
    assert!(text(Method::POST, "posted").ends_with(" cl=6 body=posted"));
    assert!(text(Method::POST, "").ends_with(" cl=0 body="), "a POST says its empty body's length");
    assert!(text(Method::PUT, "put").ends_with(" cl=3 body=put"));
    assert!(text(Method::PATCH, "patch").ends_with(" cl=5 body=patch"));
    assert!(text(Method::DELETE, "").starts_with("DELETE "));
    assert!(text(Method::from_bytes(b"PURGE").unwrap(), "x").starts_with("PURGE "));
    let r = client.post(&f.url("/info")).body(vec![b'z'; 100_000]).send().unwrap().text().unwrap();
    assert!(r.ends_with(&format!("cl=100000 body={}", "z".repeat(100_000))));
    let r = client.put(&f.url("/info")).body("p").send().unwrap().text().unwrap();
    assert!(r.starts_with("PUT "));
    let r = client.delete(&f.url("/info")).send().unwrap().text().unwrap();
    assert!(r.starts_with("DELETE "));
    // A Host and User-Agent of the caller's replace the defaults.
    let r = client.get(&f.url("/info")).header("host", "example.test").header("user-agent", "mine").send().unwrap();
    let r = r.text().unwrap();
    assert!(r.contains(" ua=mine ") && r.contains(" host=example.test "), "{r}");
    // Credentials in the URL never reach the Host header; a URL without a
    // path asks for "/".
    let with_userinfo = f.url("/info").replace("http://", "http://user:secret@");
    let r = client.get(&with_userinfo).send().unwrap().text().unwrap();
    assert!(r.contains(&format!(" host={host} ")), "{r}");
    let bare = client.get(&f.url("")).send().unwrap();
    assert_eq!(bare.status(), StatusCode::NOT_FOUND, "GET / has no route here");
    let quiet = Client::builder().user_agent(None).build();
    assert!(quiet.get(&f.url("/info")).send().unwrap().text().unwrap().contains(" ua=- "));
    let r = client.get(&f.url("/nowhere")).send().unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.text().unwrap(), "no such route");
    f.server.stop();
}

#[test]
fn bad_urls_are_errors() {
    let client = Client::new();
    for url in ["https://example.test/", "/relative", "not a url", "ftp://x/"] {
        let e = client.get(url).send().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{url}: {e}");
    }
}

#[test]
fn content_length_and_chunked_responses() {
    let f = Fixture::new();
    let client = Client::new();
    let r = client.get(&f.url("/text")).send().unwrap();
    assert_eq!(r.header("content-length"), Some("5"));
    assert_eq!(r.text().unwrap(), "hello");
    let r = client.get(&f.url("/stream")).send().unwrap();
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    let body = r.bytes().unwrap();
    assert_eq!(body.len(), 100_000);
    assert!(body.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
    // Read a little at a time.
    let mut r = client.get(&f.url("/stream")).send().unwrap();
    let mut small = [0u8; 7];
    let mut total = 0;
    loop {
        let n = r.read(&mut small).unwrap();
        if n == 0 {
            break;
        }
        total += n;
    }
    assert_eq!(total, 100_000);
    // Both streams came over one connection.
    assert_eq!(f.connections(), 1);
    f.server.stop();
}

#[test]
fn close_delimited_and_http10_responses() {
    let (addr, server) = raw_server(|l| {
        let mut s = accept(&l);
        read_request(&mut s);
        s.write_all(b"HTTP/1.1 200 OK\r\nX-Kind: until-close\r\n\r\nthe body ends when the connection does").unwrap();
        drop(s);
        let mut s = accept(&l);
        read_request(&mut s);
        s.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nold").unwrap();
        // HTTP/1.0 without keep-alive: the client must not reuse this
        // connection, so a third request comes on a new one.
        let mut s3 = accept(&l);
        read_request(&mut s3);
        s3.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n")
            .unwrap();
        read_request(&mut s3);
        s3.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nreused").unwrap();
        drop(s);
    });
    let client = Client::new();
    let url = format!("http://{addr}/");
    let r = client.get(&url).send().unwrap();
    assert_eq!(r.header("x-kind"), Some("until-close"));
    assert_eq!(r.text().unwrap(), "the body ends when the connection does");
    let r = client.get(&url).send().unwrap();
    assert_eq!(r.version(), http::Version::HTTP_10);
    assert_eq!(r.text().unwrap(), "old");
    assert_eq!(client.get(&url).send().unwrap().text().unwrap(), "hello", "chunked with a trailer");
    assert_eq!(client.get(&url).send().unwrap().text().unwrap(), "reused");
    server.join().unwrap();
}

#[test]
fn no_body_for_head_204_and_304() {
    let f = Fixture::new();
    let client = Client::new();
    let r = client.head(&f.url("/text")).send().unwrap();
    assert_eq!((r.status(), r.header("content-length")), (StatusCode::OK, Some("5")));
    assert!(r.bytes().unwrap().is_empty());
    let r = client.head(&f.url("/stream")).send().unwrap();
    assert!(r.bytes().unwrap().is_empty());
    let r = client.get(&f.url("/204")).send().unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(r.bytes().unwrap().is_empty());
    assert_eq!(client.get(&f.url("/text")).send().unwrap().text().unwrap(), "hello");
    assert_eq!(f.connections(), 1, "bodiless responses leave the connection reusable");
    f.server.stop();

    // A 304 may carry the length of what it did not send; a 1xx comes
    // before the real answer.
    let (addr, server) = raw_server(|l| {
        let mut s = accept(&l);
        read_request(&mut s);
        s.write_all(b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\nETag: \"v1\"\r\n\r\n").unwrap();
        read_request(&mut s);
        s.write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 4\r\n\r\n").unwrap();
        read_request(&mut s);
        s.write_all(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n").unwrap();
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").unwrap();
    });
    let client = Client::builder().read_timeout(Some(LONG)).build();
    let url = format!("http://{addr}/");
    let r = client.get(&url).send().unwrap();
    assert_eq!((r.status(), r.header("etag")), (StatusCode::NOT_MODIFIED, Some("\"v1\"")));
    assert!(r.bytes().unwrap().is_empty());
    let r = client.get(&url).send().unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(r.bytes().unwrap().is_empty());
    let r = client.get(&url).send().unwrap();
    assert_eq!((r.status(), r.text().unwrap().as_str()), (StatusCode::OK, "ok"), "interim responses are skipped");
    server.join().unwrap();
}

#[test]
fn keep_alive_connections_are_reused_per_hub() {
    let f = Fixture::new();
    let client = Client::new();
    for _ in 0..10 {
        assert_eq!(client.get(&f.url("/text")).send().unwrap().text().unwrap(), "hello");
    }
    assert_eq!(f.connections(), 1, "ten sequential requests on one hub used one connection");
    // A clone shares the pool of this hub.
    let clone = client.clone();
    assert_eq!(clone.post(&f.url("/info")).body("x").send().unwrap().status(), StatusCode::OK);
    assert_eq!(f.connections(), 1);
    // Another thread is another hub, with a pool of its own.
    let url = f.url("/text");
    thread::spawn(move || {
        for _ in 0..3 {
            client.get(&url).send().unwrap().text().unwrap();
        }
    })
    .join()
    .unwrap();
    assert_eq!(f.connections(), 2);
    f.server.stop();
}

#[test]
fn a_response_dropped_unread_does_not_poison_the_pool() {
    let f = Fixture::new();
    let client = Client::new();
    let r = client.get(&f.url("/stream")).send().unwrap();
    drop(r);
    assert_eq!(client.get(&f.url("/text")).send().unwrap().text().unwrap(), "hello");
    let mut r = client.get(&f.url("/stream")).send().unwrap();
    let mut some = [0u8; 100];
    r.read_exact(&mut some).unwrap();
    drop(r);
    assert_eq!(client.get(&f.url("/text")).send().unwrap().text().unwrap(), "hello");
    f.server.stop();
}

#[test]
fn a_pooled_connection_the_server_closed_is_replaced() {
    // The server closes idle connections after 100 ms.
    let timeouts = Timeouts { idle: Duration::from_millis(100), ..Timeouts::default() };
    let f = Fixture::with(builder().timeouts(timeouts));
    let client = Client::new();
    assert_eq!(client.get(&f.url("/text")).send().unwrap().text().unwrap(), "hello");
    // Ten times the idle timeout: the server has closed the pooled
    // connection by then.
    thread::sleep(Duration::from_millis(1000));
    for m in [Method::GET, Method::POST] {
        let r = client.request(m.clone(), &f.url("/text")).send().unwrap();
        assert_eq!(r.text().unwrap(), "hello", "{m}");
        thread::sleep(Duration::from_millis(1000));
    }
    assert_eq!(f.connections(), 3);
    f.server.stop();
}

/// A server that answers the first request on a connection, then closes
/// it on reading the second without answering (as a server whose idle
/// timeout fires just as the request arrives). A second connection gets
/// `second`.
fn closes_after_one(second: &'static [u8]) -> (SocketAddr, thread::JoinHandle<usize>) {
    raw_server(move |l| {
        let mut s = accept(&l);
        read_request(&mut s);
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst").unwrap();
        read_request(&mut s);
        drop(s);
        match verde_runtime::with_timeout(Duration::from_secs(2), || l.accept()) {
            Ok(Ok((mut s, _))) => {
                s.set_read_timeout(Some(LONG)).unwrap();
                read_request(&mut s);
                s.write_all(second).unwrap();
                2
            }
            _ => 1,
        }
    })
}

#[test]
fn an_idempotent_request_is_retried_once_on_a_closed_connection() {
    let (addr, server) = closes_after_one(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond");
    let client = Client::new();
    let url = format!("http://{addr}/");
    assert_eq!(client.get(&url).send().unwrap().text().unwrap(), "first");
    assert_eq!(client.get(&url).send().unwrap().text().unwrap(), "second", "the GET was not retried");
    assert_eq!(server.join().unwrap(), 2);
}

#[test]
fn a_post_is_not_retried() {
    let (addr, server) = closes_after_one(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond");
    let client = Client::new();
    let url = format!("http://{addr}/");
    assert_eq!(client.post(&url).body("a").send().unwrap().text().unwrap(), "first");
    let e = client.post(&url).body("b").send().unwrap_err();
    assert!(
        matches!(
            e.kind(),
            io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
        ),
        "{e:?}"
    );
    assert_eq!(server.join().unwrap(), 1, "the POST was sent twice");
}

#[test]
fn the_connect_timeout_is_honoured() {
    // A listener that never accepts, with its accept queue full.
    let listener = TcpListener::bind_reuse_port("127.0.0.1:0".parse().unwrap(), 0).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut held = Vec::new();
    let full = (0..8).any(|_| match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
        Ok(s) => {
            held.push(s);
            false
        }
        Err(e) if e.kind() == io::ErrorKind::TimedOut => true,
        Err(e) => panic!("{e}"),
    });
    assert!(full, "the accept queue never filled");
    let client = Client::builder().connect_timeout(Some(Duration::from_millis(200))).build();
    let started = Instant::now();
    let e = client.get(&format!("http://{addr}/")).send().unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::TimedOut, "{e}");
    assert!(started.elapsed() < LONG);
    drop(listener);
}

#[test]
fn the_read_timeout_is_honoured() {
    // Never answers; then answers the head and stalls in the body.
    let (addr, server) = raw_server(|l| {
        let mut s = accept(&l);
        read_request(&mut s);
        let mut s2 = accept(&l);
        read_request(&mut s2);
        s2.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial").unwrap();
        // Hold both until the client has given up on them.
        let mut byte = [0u8; 1];
        let _ = s.read(&mut byte);
        let _ = s2.read(&mut byte);
    });
    let client = Client::builder().read_timeout(Some(Duration::from_millis(200))).build();
    let url = format!("http://{addr}/");
    let started = Instant::now();
    let e = client.get(&url).send().unwrap_err();
    assert!(matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut), "{e:?}");
    assert!(started.elapsed() < LONG);
    let r = client.get(&url).send().unwrap();
    let e = r.bytes().unwrap_err();
    assert!(matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut), "{e:?}");
    drop(client);
    server.join().unwrap();
}

#[test]
fn the_write_timeout_is_honoured() {
    // Accepts and never reads, so a large body fills the socket buffers;
    // holds the connection until the client has given up.
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let (addr, server) = raw_server(move |l| {
        let s = accept(&l);
        let _ = done_rx.recv_timeout(LONG);
        drop(s);
    });
    let client = Client::builder().write_timeout(Some(Duration::from_millis(200))).build();
    let started = Instant::now();
    let e = client.post(&format!("http://{addr}/")).body(vec![0u8; 64 * 1024 * 1024]).send().unwrap_err();
    assert!(matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut), "{e:?}");
    assert!(started.elapsed() < LONG);
    done_tx.send(()).unwrap();
    server.join().unwrap();
}

#[test]
fn a_refused_connection_is_an_error() {
    let addr = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let e = Client::new().get(&format!("http://{addr}/")).send().unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e}");
}

#[test]
fn redirects_are_followed_only_when_allowed() {
    let f = Fixture::new();
    let r = Client::new().get(&f.url("/redirect/1")).send().unwrap();
    assert_eq!(r.status(), StatusCode::FOUND, "not followed by default");
    assert_eq!(r.header("location"), Some("/redirect/0"));

    let three = Client::builder().max_redirects(3).build();
    let r = three.get(&f.url("/redirect/3")).send().unwrap();
    assert_eq!((r.status(), r.text().unwrap().as_str()), (StatusCode::OK, "arrived"));
    let r = three.get(&f.url("/redirect/4")).send().unwrap();
    assert_eq!(r.status(), StatusCode::FOUND, "a fourth redirect is not followed");
    assert_eq!(r.header("location"), Some("/redirect/0"));

    // 303 turns a POST into a GET without a body; 307 keeps both.
    let r = three.post(&f.url("/see-other")).body("data").send().unwrap().text().unwrap();
    assert!(r.starts_with("GET ") && r.ends_with("body="), "{r}");
    let r = three.post(&f.url("/temporary")).body("data").send().unwrap().text().unwrap();
    assert!(r.starts_with("POST ") && r.ends_with("body=data"), "{r}");
    // A relative Location.
    let r = three.get(&f.url("/moved")).send().unwrap().text().unwrap();
    assert!(r.starts_with("GET query=from=moved "), "{r}");
    // To another server, by absolute URL.
    let other = Fixture::new();
    let to_other = other.url("/text");
    let (addr, raw) = raw_server(move |l| {
        let mut s = accept(&l);
        read_request(&mut s);
        let reply = format!("HTTP/1.1 302 Found\r\nLocation: {to_other}\r\nContent-Length: 0\r\n\r\n");
        s.write_all(reply.as_bytes()).unwrap();
    });
    let r = three.get(&format!("http://{addr}/")).send().unwrap();
    assert_eq!(r.text().unwrap(), "hello");
    raw.join().unwrap();
    other.server.stop();
    f.server.stop();
}

#[test]
fn interop_with_the_http_crate() {
    let f = Fixture::new();
    let client = Client::new();
    let req = http::Request::builder()
        .method("POST")
        .uri(f.url("/info?via=http"))
        .header("x-test", "interop")
        .header("content-length", "999")
        .body(b"from http".to_vec())
        .unwrap();
    let res: http::Response<Vec<u8>> = client.send_http(req).unwrap();
    assert_eq!(res.status(), http::StatusCode::OK);
    assert_eq!(res.headers().get("x-reply").unwrap(), "yes");
    let body = String::from_utf8(res.into_body()).unwrap();
    assert!(body.starts_with("POST query=via=http "), "{body}");
    assert!(body.contains(" x-test=interop "), "{body}");
    assert!(body.ends_with(" cl=9 body=from http"), "the body's own length is sent: {body}");

    let res = client.get(&f.url("/stream")).send().unwrap().into_http().unwrap();
    assert_eq!(res.body().len(), 100_000);
    assert_eq!(res.headers().get("transfer-encoding").unwrap(), "chunked");
    assert_eq!(res.version(), http::Version::HTTP_11);

    let req = http::Request::get("https://example.test/").body(Vec::new()).unwrap();
    assert_eq!(client.send_http(req).unwrap_err().kind(), io::ErrorKind::InvalidInput);
    f.server.stop();
}

#[test]
fn works_from_coroutines_and_plain_threads() {
    let f = Fixture::new();
    let client = Client::new();
    // Ten coroutines on this thread's hub: each request parks only its
    // coroutine, so the server sees them at once.
    let handles: Vec<_> = (0..10)
        .map(|_| {
            let (client, url) = (client.clone(), f.url("/sleep"));
            verde_runtime::spawn(move || client.get(&url).send().unwrap().text().unwrap())
        })
        .collect();
    for r in verde_runtime::joinall(handles) {
        assert_eq!(r.unwrap(), "slept");
    }
    assert!(f.peak.load(Ordering::SeqCst) > 1, "the coroutines' requests did not overlap");
    // Plain threads, several at once.
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (client, url) = (client.clone(), f.url("/text"));
            thread::spawn(move || (0..5).map(|_| client.get(&url).send().unwrap().text().unwrap()).collect::<Vec<_>>())
        })
        .collect();
    for t in threads {
        assert!(t.join().unwrap().iter().all(|b| b == "hello"));
    }
    f.server.stop();
}

#[test]
fn a_handler_can_call_another_server() {
    let backend = Fixture::new();
    let backend_url = backend.url("/text");
    let client = Client::new();
    let front = TestServer::new(move |_: &mut Request<'_>| match client.get(&backend_url).send() {
        Ok(r) => Response::text(format!("backend said {}", r.text().unwrap())),
        Err(e) => Response::error(StatusCode::BAD_GATEWAY, e.to_string()),
    });
    for _ in 0..3 {
        let r = common::exchange(front.addr(), "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
        assert_eq!(r.text(), "backend said hello");
    }
    assert_eq!(backend.connections(), 1, "the handler's hub reused its connection to the backend");
    front.stop();
    backend.server.stop();
}
