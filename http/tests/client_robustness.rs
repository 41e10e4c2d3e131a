//! The client against a raw server that answers with malformed or unusual
//! responses: each must give an error (or the RFC 9112 result), never a
//! hang or a panic, and a connection whose framing went wrong must never
//! go back to the keep-alive pool (the next request must reach the server
//! on a new connection and get its own answer).

mod common;

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use verde_http::{Client, StatusCode};

/// What the raw server does after writing an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Then {
    /// Keeps the connection and waits for another request on it.
    Keep,
    /// Closes the connection.
    Close,
}

/// What the raw server answers to each request, in order.
#[derive(Clone)]
enum Answer {
    Bytes(&'static [u8], Then),
    /// Sends `HTTP/1.1 103 Early Hints` until the client goes away, or at
    /// most this many.
    Interim(usize),
}

/// A raw HTTP server on threads of its own: it answers the n-th request
/// it reads, on whatever connection, with `script[n]`, and records which
/// connection each request came on.
struct RawServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    /// For each request answered: the connection it came on (0, 1, ...).
    log: Arc<Mutex<Vec<usize>>>,
    /// Interim responses sent before the client went away.
    interim_sent: Arc<AtomicUsize>,
    thread: Option<thread::JoinHandle<()>>,
}

impl RawServer {
    fn start(script: Vec<Answer>) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(Vec::new()));
        let interim_sent = Arc::new(AtomicUsize::new(0));
        let script = Arc::new(script);
        let (stop2, log2, sent2) = (stop.clone(), log.clone(), interim_sent.clone());
        let thread = thread::spawn(move || {
            let mut conns = Vec::new();
            let mut id = 0;
            while !stop2.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((s, _)) => {
                        s.set_nonblocking(false).unwrap();
                        let (stop, log, sent, script) = (stop2.clone(), log2.clone(), sent2.clone(), script.clone());
                        conns.push(thread::spawn(move || connection(s, id, &script, &log, &stop, &sent)));
                        id += 1;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => thread::sleep(Duration::from_millis(5)),
                    Err(e) => panic!("accept: {e}"),
                }
            }
            for c in conns {
                c.join().unwrap();
            }
        });
        RawServer { addr, stop, log, interim_sent, thread: Some(thread) }
    }

    fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Stops the server; returns the connection of each request.
    fn finish(mut self) -> Vec<usize> {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.take().unwrap().join().unwrap();
        let log = self.log.lock().unwrap().clone();
        log
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Serves one connection: reads request heads, answers from the script.
fn connection(
    mut s: TcpStream,
    id: usize,
    script: &[Answer],
    log: &Mutex<Vec<usize>>,
    stop: &AtomicBool,
    interim_sent: &AtomicUsize,
) {
    s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    s.set_write_timeout(Some(common::LONG)).unwrap();
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        // One request head (the client sends no body here).
        while !data.windows(4).any(|w| w == b"\r\n\r\n") {
            if stop.load(Ordering::SeqCst) {
                return;
            }
            match s.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => data.extend_from_slice(&buf[..n]),
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
                Err(_) => return,
            }
        }
        let end = data.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        data.drain(..end);
        let n = {
            let mut log = log.lock().unwrap();
            log.push(id);
            log.len() - 1
        };
        match script.get(n).cloned() {
            None => return,
            Some(Answer::Bytes(bytes, then)) => {
                if s.write_all(bytes).is_err() || then == Then::Close {
                    let _ = s.shutdown(Shutdown::Both);
                    return;
                }
            }
            Some(Answer::Interim(most)) => {
                for _ in 0..most {
                    if stop.load(Ordering::SeqCst) || s.write_all(b"HTTP/1.1 103 Early Hints\r\n\r\n").is_err() {
                        return;
                    }
                    interim_sent.fetch_add(1, Ordering::SeqCst);
                }
                return;
            }
        }
    }
}

/// The client used throughout: reads time out, so nothing hangs for long.
fn client() -> Client {
    Client::builder().read_timeout(Some(Duration::from_secs(2))).build()
}

const FINE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nfine";

/// The request after a bad one gets its own answer on a new connection.
fn next_is_fine(client: &Client, server: RawServer) {
    let r = client.get(&server.url()).send().expect("the request after the bad one");
    assert_eq!(r.text().unwrap(), "fine");
    let log = server.finish();
    assert_eq!(log.len(), 2, "{log:?}");
    assert_ne!(log[0], log[1], "the connection of a bad response was reused: {log:?}");
}

#[test]
fn malformed_heads_are_errors() {
    let bad: &[&[u8]] = &[
        b"HTTP/1.1 abc OK\r\n\r\n",
        b"HTTP/1.1 20 OK\r\n\r\n",
        b"HTTP/1.1 099 Low\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/2 200 OK\r\n\r\n",
        b"hello there\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello!",
        b"HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nhello",
        b"HTTP/1.1 200 OK\r\nContent-Length: 0x5\r\n\r\nhello",
        b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\nhello",
        b"HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\nhello",
    ];
    let client = client();
    for response in bad {
        let shown = String::from_utf8_lossy(response);
        let server = RawServer::start(vec![Answer::Bytes(response, Then::Keep), Answer::Bytes(FINE, Then::Keep)]);
        let result = client.get(&server.url()).send().and_then(|r| r.bytes());
        assert!(result.is_err(), "{shown:?} gave {result:?}");
        next_is_fine(&client, server);
    }
}

#[test]
fn a_head_cut_short_or_endless_is_an_error() {
    let client = client();
    // Closed mid-head.
    let server = RawServer::start(vec![
        Answer::Bytes(b"HTTP/1.1 200 OK\r\nContent-Len", Then::Close),
        Answer::Bytes(FINE, Then::Keep),
    ]);
    assert!(client.get(&server.url()).send().is_err());
    next_is_fine(&client, server);
    // A head that never ends: refused at the client's head limit.
    static ENDLESS: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let endless = ENDLESS.get_or_init(|| {
        let mut v = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..10_000 {
            v.extend_from_slice(format!("X-{i}: {}\r\n", "v".repeat(20)).as_bytes());
        }
        v
    });
    let server = RawServer::start(vec![Answer::Bytes(endless, Then::Keep), Answer::Bytes(FINE, Then::Keep)]);
    let e = client.get(&server.url()).send().unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{e}");
    next_is_fine(&client, server);
}

#[test]
fn an_endless_stream_of_interim_responses_is_an_error() {
    let client = client();
    let server = RawServer::start(vec![Answer::Interim(1_000_000), Answer::Bytes(FINE, Then::Keep)]);
    let result = client.get(&server.url()).send();
    assert!(result.is_err(), "{result:?}");
    // The client gave up long before the server ran out of them.
    let interim = server.interim_sent.clone();
    next_is_fine(&client, server);
    assert!(interim.load(Ordering::SeqCst) < 1_000_000);
}

#[test]
fn malformed_bodies_are_errors() {
    let bad: &[(&[u8], Then)] = &[
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", Then::Keep),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n", Then::Keep),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-3\r\nabc\r\n0\r\n\r\n", Then::Keep),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n", Then::Keep),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab", Then::Close),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", Then::Close),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", Then::Close),
        // Cut short and left open: the read timeout ends the wait.
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", Then::Keep),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab", Then::Keep),
    ];
    let client = client();
    for (response, then) in bad {
        let shown = String::from_utf8_lossy(response);
        let server = RawServer::start(vec![Answer::Bytes(response, *then), Answer::Bytes(FINE, Then::Keep)]);
        let r = client.get(&server.url()).send().unwrap_or_else(|e| panic!("{shown:?}: {e}"));
        let result = r.bytes();
        assert!(result.is_err(), "{shown:?} ({then:?}) gave {result:?}");
        next_is_fine(&client, server);
    }
}

#[test]
fn extra_bytes_after_a_response_keep_its_connection_out_of_the_pool() {
    let cases: &[(&[u8], &str)] = &[
        // A body longer than its Content-Length, then garbage.
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokGARBAGE\r\n\r\n", "ok"),
        // A 204 may not have a body: what follows is not a response.
        (b"HTTP/1.1 204 No Content\r\nContent-Length: 4\r\n\r\nbody", ""),
        (b"HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfake!", ""),
        // A 304 likewise.
        (b"HTTP/1.1 304 Not Modified\r\nContent-Length: 4\r\n\r\nbody", ""),
        // A response after the end of a chunked body.
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n", "ok"),
    ];
    let client = client();
    for (response, body) in cases {
        let shown = String::from_utf8_lossy(response);
        let server = RawServer::start(vec![Answer::Bytes(response, Then::Keep), Answer::Bytes(FINE, Then::Keep)]);
        let r = client.get(&server.url()).send().unwrap_or_else(|e| panic!("{shown:?}: {e}"));
        assert_eq!(r.text().unwrap(), *body, "{shown:?}");
        next_is_fine(&client, server);
    }
}

#[test]
fn responses_whose_framing_cannot_be_trusted_are_not_reused() {
    let client = client();
    // Both Transfer-Encoding and Content-Length: chunked wins (RFC 9112
    // section 6.3), but such a message may be a smuggling attempt, so the
    // connection is not reused.
    let server = RawServer::start(vec![
        Answer::Bytes(
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
            Then::Keep,
        ),
        Answer::Bytes(FINE, Then::Keep),
    ]);
    assert_eq!(client.get(&server.url()).send().unwrap().text().unwrap(), "ok");
    next_is_fine(&client, server);
    // 101: the connection now speaks another protocol.
    let server = RawServer::start(vec![
        Answer::Bytes(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n", Then::Keep),
        Answer::Bytes(FINE, Then::Keep),
    ]);
    let r = client.get(&server.url()).send().unwrap();
    assert_eq!(r.status(), StatusCode::SWITCHING_PROTOCOLS);
    drop(r);
    next_is_fine(&client, server);
    // A transfer coding the client cannot decode is read until close.
    let server = RawServer::start(vec![
        Answer::Bytes(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: x-custom\r\n\r\nraw", Then::Close),
        Answer::Bytes(FINE, Then::Keep),
    ]);
    assert_eq!(client.get(&server.url()).send().unwrap().text().unwrap(), "raw");
    next_is_fine(&client, server);
}

#[test]
fn valid_unusual_responses_give_the_rfc_result_and_keep_the_connection() {
    let client = client();
    let cases: &[(&[u8], bool, &str)] = &[
        // HEAD: a Content-Length, no body; the connection is clean.
        (b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", true, ""),
        // Interim responses before the final one.
        (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false, "ok"),
        // Repeated identical lengths are one length (RFC 9110 section 8.6).
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok", false, "ok"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok", false, "ok"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 002\r\n\r\nok", false, "ok"),
        // Chunk extensions and trailers are ignored; case does not matter.
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n2;x=y\r\nok\r\n0\r\nT: v\r\n\r\n", false, "ok"),
        // The final coding is chunked even when listed over two fields.
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: x-custom\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", false, "ok"),
    ];
    for (response, head, body) in cases {
        let shown = String::from_utf8_lossy(response);
        let server = RawServer::start(vec![Answer::Bytes(response, Then::Keep), Answer::Bytes(FINE, Then::Keep)]);
        let r = if *head { client.head(&server.url()) } else { client.get(&server.url()) };
        let r = r.send().unwrap_or_else(|e| panic!("{shown:?}: {e}"));
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.text().unwrap(), *body, "{shown:?}");
        let next = client.get(&server.url()).send().unwrap().text().unwrap();
        assert_eq!(next, "fine", "{shown:?}");
        let log = server.finish();
        assert_eq!(log, [0, 0], "{shown:?}: the connection was not reused");
    }
}
