//! A deterministic mutation fuzz test of the server's request parsing.
//!
//! A few valid requests (a GET, a POST with Content-Length, a chunked POST,
//! a pipelined pair, an `Expect: 100-continue` upload, an HTTP/1.0
//! keep-alive request) are mutated with a fixed-seed xorshift generator:
//! bit flips, bytes replaced or inserted (often CR, LF, NUL, separators,
//! digits), deletions, duplicated slices, inserted framing headers, and
//! truncation. Each mutant goes over a fresh connection, sometimes in
//! several writes, then the client half-closes so that every case ends
//! without waiting for a timeout.
//!
//! Whatever the bytes, the server must answer with well-formed responses
//! (or nothing) and close: every status is one the server or the handler
//! gives (100, 200, or a refusal: 400, 413, 414, 417, 431, 501, 505; never a
//! 500, as the handler never panics), a refusal says `Connection: close`
//! and nothing follows it, and the connection ends. No panic happens
//! anywhere in the process and nothing is logged at error level; afterwards
//! the server still answers a normal request.

mod common;

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::{builder, TestServer, LONG};
use verde_http::{Limits, Request, Response, StatusCode};

/// Mutants sent.
const CASES: usize = 5000;
/// The generator's seed: the cases are the same on every run.
const SEED: u64 = 0x5eed_1234_abcd_0042;

/// xorshift64* (Vigna): small, fast, and good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const SEEDS: &[&str] = &[
    "GET /a?b=c HTTP/1.1\r\nHost: t\r\nX-A: 1\r\n\r\n",
    "POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello",
    "POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: v\r\n\r\n",
    "GET /1 HTTP/1.1\r\nHost: t\r\n\r\nPOST /2 HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nxyz",
    "PUT /e HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\nbody",
    "POST /k HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nokGET /k2 HTTP/1.0\r\n\r\n",
    // Near the limits of the test server: request line, header count, body.
    "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: t\r\n\r\n",
    "GET /h HTTP/1.1\r\nHost: t\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\nG: 7\r\n\r\n",
    "POST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 64\r\n\r\n0123456789012345678901234567890123456789012345678901234567890123",
    "POST /b HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n0123456789012345678901234567890123456789012345678901234567890123\r\n0\r\n\r\n",
];

/// Bytes that tend to matter to an HTTP parser.
const INTERESTING: &[u8] = b"\r\n\0 \t:;,=\"0159afAF-+xX/?%\x7f\x80\xff";

/// Fragments that change a request's framing when inserted.
const FRAGMENTS: &[&str] = &[
    "\r\n",
    "\r\n\r\n",
    "Transfer-Encoding: chunked\r\n",
    "Content-Length: 3\r\n",
    "Content-Length: 0\r\n",
    "Host: x\r\n",
    "Expect: 100-continue\r\n",
    "Connection: close\r\n",
    " chunked",
    ", chunked",
    "0\r\n\r\n",
    "ffffffffffffffff\r\n",
    "\r\n ",
    "HTTP/1.1",
];

fn mutate(rng: &mut Rng, mut bytes: Vec<u8>) -> Vec<u8> {
    let rounds = 1 + rng.below(4);
    for _ in 0..rounds {
        let len = bytes.len();
        let at = if len == 0 { 0 } else { rng.below(len) };
        match rng.below(8) {
            0 if len > 0 => bytes[at] ^= 1 << rng.below(8),
            1 if len > 0 => bytes[at] = *rng.pick(INTERESTING),
            2 => bytes.insert(at, *rng.pick(INTERESTING)),
            3 => bytes.insert(at, rng.next() as u8),
            4 if len > 0 => {
                let n = 1 + rng.below(8.min(len - at));
                bytes.drain(at..at + n);
            }
            5 if len > 0 => {
                let n = 1 + rng.below(16.min(len - at));
                let copy = bytes[at..at + n].to_vec();
                let to = rng.below(len);
                bytes.splice(to..to, copy);
            }
            6 => {
                let fragment = rng.pick(FRAGMENTS).as_bytes();
                bytes.splice(at..at, fragment.iter().copied());
            }
            7 => bytes.truncate(at),
            _ => {}
        }
    }
    bytes
}

/// Statuses the server may give: the handler's 200, `100 Continue`, and
/// the server's refusals.
const ALLOWED: &[u16] = &[100, 200, 400, 413, 414, 417, 431, 501, 505];

/// One response parsed from the bytes the server sent.
#[derive(Debug)]
struct Parsed {
    status: u16,
    close: bool,
}

/// Parses everything the server sent as a sequence of responses; an error
/// says what is malformed.
fn parse_all(mut wire: &[u8]) -> Result<Vec<Parsed>, String> {
    let mut out = Vec::new();
    while !wire.is_empty() {
        let head_end =
            wire.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| "a response head cut short".to_string())?;
        let head = std::str::from_utf8(&wire[..head_end]).map_err(|_| "a response head that is not UTF-8")?;
        wire = &wire[head_end + 4..];
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let rest = status_line.strip_prefix("HTTP/1.1 ").ok_or_else(|| format!("bad status line {status_line:?}"))?;
        let (code, reason) = rest.split_once(' ').ok_or_else(|| format!("bad status line {status_line:?}"))?;
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) || reason.is_empty() {
            return Err(format!("bad status line {status_line:?}"));
        }
        let status: u16 = code.parse().unwrap();
        let (mut length, mut chunked, mut close) = (None, false, false);
        for line in lines {
            let (name, value) = line.split_once(": ").ok_or_else(|| format!("bad header line {line:?}"))?;
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                return Err(format!("bad header name {line:?}"));
            }
            match name.to_ascii_lowercase().as_str() {
                "content-length" if length.is_none() => {
                    length = Some(value.parse::<usize>().map_err(|_| format!("bad length {line:?}"))?)
                }
                "content-length" => return Err("Content-Length twice".into()),
                "transfer-encoding" if value == "chunked" => chunked = true,
                "transfer-encoding" => return Err(format!("unexpected {line:?}")),
                "connection" => close = value.eq_ignore_ascii_case("close"),
                _ => {}
            }
        }
        if length.is_some() && chunked {
            return Err("both Content-Length and chunked".into());
        }
        if (100..200).contains(&status) || status == 204 || status == 304 {
            if length.is_some() || chunked {
                return Err(format!("framing headers on a {status}"));
            }
        } else if let Some(n) = length {
            if wire.len() < n {
                return Err(format!("body cut short: {} of {n}", wire.len()));
            }
            wire = &wire[n..];
        } else if chunked {
            return Err("the handler's answers are never chunked".into());
        } else {
            return Err(format!("no framing on a {status}"));
        }
        out.push(Parsed { status, close });
    }
    Ok(out)
}

/// Sends `request` (in `pieces` writes), half-closes, and reads all the
/// server sends until it closes.
fn run_case(addr: std::net::SocketAddr, request: &[u8], pieces: usize) -> Result<Vec<u8>, String> {
    let mut s = TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
    s.set_nodelay(true).unwrap();
    s.set_read_timeout(Some(LONG)).unwrap();
    s.set_write_timeout(Some(LONG)).unwrap();
    let step = request.len().div_ceil(pieces).max(1);
    for piece in request.chunks(step) {
        // The server may close (after a refusal) before it has all of it.
        if s.write_all(piece).is_err() {
            break;
        }
    }
    let _ = s.shutdown(Shutdown::Write);
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return Ok(got),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                return Err(format!("the server neither answered nor closed within {LONG:?}"));
            }
            // A reset after a refusal: everything sent before it was read.
            Err(_) => return Ok(got),
        }
    }
}

/// Counts what the server logs at warning level or above.
struct Capture(Mutex<Vec<String>>);

impl log::Log for Capture {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            self.0.lock().unwrap().push(format!("{} {}: {}", record.level(), record.target(), record.args()));
        }
    }

    fn flush(&self) {}
}

static LOGS: Capture = Capture(Mutex::new(Vec::new()));

#[test]
fn mutated_requests_get_well_formed_answers_and_no_panic() {
    log::set_logger(&LOGS).expect("the only logger of this test binary");
    log::set_max_level(log::LevelFilter::Warn);
    // Every panic in the process, on any thread or coroutine, is counted;
    // the handler never panics, so any panic is the server's.
    let panics = Arc::new(AtomicUsize::new(0));
    let counter = panics.clone();
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        counter.fetch_add(1, Ordering::SeqCst);
        default_hook(info);
    }));

    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    // Small limits, so that mutants reach each of them.
    let limits = Limits { max_request_line: 128, max_head: 1024, max_headers: 8, max_body: 64, max_drain: 64 };
    // One server reads every body, the other none (the server drains it).
    let echo = TestServer::start(builder().limits(limits.clone()), move |req: &mut Request<'_>| {
        seen.fetch_add(1, Ordering::SeqCst);
        match req.body().read_all() {
            Ok(body) => Response::new(StatusCode::OK).with_body(body),
            Err(e) => Response::error(StatusCode::BAD_REQUEST, e.to_string()),
        }
    });
    let seen = calls.clone();
    let ignore = TestServer::start(builder().limits(limits), move |req: &mut Request<'_>| {
        seen.fetch_add(1, Ordering::SeqCst);
        Response::text(req.target().to_string())
    });

    let mut rng = Rng(SEED);
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for case in 0..CASES {
        let seed = rng.pick(SEEDS).as_bytes().to_vec();
        let request = mutate(&mut rng, seed);
        let pieces = if rng.below(4) == 0 { 2 + rng.below(3) } else { 1 };
        let shown = String::from_utf8_lossy(&request).into_owned();
        let server = if case % 2 == 0 { &echo } else { &ignore };
        let wire = run_case(server.addr(), &request, pieces).unwrap_or_else(|e| panic!("case {case} {shown:?}: {e}"));
        let responses = parse_all(&wire).unwrap_or_else(|e| {
            panic!("case {case} {shown:?}: {e}; the server sent {:?}", String::from_utf8_lossy(&wire))
        });
        for (i, r) in responses.iter().enumerate() {
            *statuses.entry(r.status).or_default() += 1;
            assert!(ALLOWED.contains(&r.status), "case {case} {shown:?}: status {} in {responses:?}", r.status);
            if r.status >= 400 {
                assert!(r.close, "case {case} {shown:?}: a refusal without Connection: close: {responses:?}");
                assert_eq!(i, responses.len() - 1, "case {case} {shown:?}: answers after a refusal: {responses:?}");
            }
        }
        assert_eq!(panics.load(Ordering::SeqCst), 0, "case {case} {shown:?}: something panicked");
    }
    println!("{CASES} mutants, statuses {statuses:?}, handler called {} times", calls.load(Ordering::SeqCst));
    // The mutants reached the handler and were refused, both.
    assert!(statuses.get(&200).copied().unwrap_or(0) > CASES / 10, "{statuses:?}");
    assert!(statuses.get(&400).copied().unwrap_or(0) > CASES / 10, "{statuses:?}");

    let r = common::exchange(echo.addr(), "POST /after HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nok");
    assert_eq!((r.status, r.text().as_str()), (200, "ok"));
    let r = common::exchange(ignore.addr(), "POST /after HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nok");
    assert_eq!((r.status, r.text().as_str()), (200, "/after"));
    echo.stop();
    ignore.stop();
    assert_eq!(panics.load(Ordering::SeqCst), 0, "something panicked");
    let logs = LOGS.0.lock().unwrap();
    assert!(logs.is_empty(), "the server logged problems: {logs:?}");
}
