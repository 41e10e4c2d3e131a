//! The access log: one line per request through the `log` crate (target
//! `verde_http::access`, level info) in common log format: host, time,
//! request line, status, length, duration.
//!
//! No libtest harness: a logger is global to the process, so this target
//! installs one that captures every record and runs alone.

mod common;

use std::io::Cursor;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{wait_until, TestServer, LONG};
use verde_http::{Request, Response, StatusCode};

struct Record {
    target: String,
    level: log::Level,
    message: String,
}

static RECORDS: Mutex<Vec<Record>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        RECORDS.lock().unwrap().push(Record {
            target: record.target().to_string(),
            level: record.level(),
            message: record.args().to_string(),
        });
    }

    fn flush(&self) {}
}

static LOGGER: Capture = Capture;

/// Access-log lines so far.
fn access_lines() -> Vec<String> {
    let records = RECORDS.lock().unwrap();
    let mut lines = Vec::new();
    for r in records.iter().filter(|r| r.target == "verde_http::access") {
        assert_eq!(r.level, log::Level::Info, "access line at {:?}: {}", r.level, r.message);
        lines.push(r.message.clone());
    }
    lines
}

/// A parsed common-log-format line, with the request's duration at the
/// end.
#[derive(Debug)]
struct Clf {
    host: String,
    time: String,
    request: String,
    status: u16,
    length: String,
    duration: f64,
}

fn parse_clf(line: &str) -> Option<Clf> {
    let (host, rest) = line.split_once(" - - [")?;
    let (time, rest) = rest.split_once("] \"")?;
    let (request, rest) = rest.rsplit_once("\" ")?;
    let mut fields = rest.split(' ');
    let status = fields.next()?.parse().ok()?;
    let length = fields.next()?.to_string();
    let duration = fields.next()?.parse().ok()?;
    if fields.next().is_some() {
        return None;
    }
    Some(Clf { host: host.into(), time: time.into(), request: request.into(), status, length, duration })
}

/// Seconds since the epoch of a CLF time (`10/Oct/2000:13:55:36 +0000`).
fn parse_clf_time(t: &str) -> Option<i64> {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let b = t.as_bytes();
    if t.len() != 26 || b[2] != b'/' || b[6] != b'/' || b[11] != b':' || b[14] != b':' || b[17] != b':' {
        return None;
    }
    if &t[20..] != " +0000" {
        return None;
    }
    let num = |s: &str| -> Option<i64> { s.bytes().all(|c| c.is_ascii_digit()).then(|| s.parse().ok())? };
    let day = num(&t[0..2])?;
    let month = MONTHS.iter().position(|m| *m == &t[3..6])? as i64 + 1;
    let year = num(&t[7..11])?;
    let (hh, mm, ss) = (num(&t[12..14])?, num(&t[15..17])?, num(&t[18..20])?);
    let (y, m) = if month <= 2 { (year - 1, month + 9) } else { (year, month - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + (153 * m + 2) / 5 + day - 1;
    Some((era * 146_097 + doe - 719_468) * 86_400 + hh * 3600 + mm * 60 + ss)
}

fn routes(req: &mut Request<'_>) -> Response {
    match req.path() {
        "/hello" => Response::text("hello"),
        "/echo" => Response::new(StatusCode::OK).with_body(req.body().read_all().unwrap()),
        "/sleep" => {
            verde_runtime::sleep(Duration::from_millis(150));
            Response::text("slept")
        }
        "/stream" => Response::new(StatusCode::OK).with_stream(Cursor::new(b"streamed".to_vec())),
        "/panic" => panic!("this handler panics on purpose"),
        _ => Response::error(StatusCode::NOT_FOUND, "nope"),
    }
}

fn main() {
    // The /panic handler's panic is expected: keep its report out of the
    // output, and every other panic's in.
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !info.payload().downcast_ref::<&str>().is_some_and(|s| s.contains("on purpose")) {
            report(info);
        }
    }));
    log::set_logger(&LOGGER).expect("installing the capturing logger");
    log::set_max_level(log::LevelFilter::Trace);

    let server = TestServer::new(routes);
    let mut c = server.connect();
    c.send("GET /hello?x=1&y=2 HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(c.response().status, 200);
    c.send("POST /echo HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nabc");
    assert_eq!(c.response().status, 200);
    c.get("/missing");
    assert_eq!(c.response().status, 404);
    c.get("/sleep");
    assert_eq!(c.response().status, 200);
    c.send("HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(c.head_response().status, 200);
    c.get("/stream");
    assert_eq!(c.response().status, 200);
    c.get("/panic");
    assert_eq!(c.response().status, 500);
    let mut c = server.connect();
    c.send("GARBAGE\r\n\r\n");
    let refused = c.response();
    assert_eq!(refused.status, 400);

    assert!(wait_until(LONG, || access_lines().len() >= 8), "access lines: {:#?}", access_lines());
    let lines = access_lines();
    assert_eq!(lines.len(), 8, "one line per request: {lines:#?}");
    let parsed: Vec<Clf> =
        lines.iter().map(|l| parse_clf(l).unwrap_or_else(|| panic!("not common log format: {l:?}"))).collect();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    for p in &parsed {
        assert_eq!(p.host, "127.0.0.1", "{p:?}");
        let t = parse_clf_time(&p.time).unwrap_or_else(|| panic!("bad time in {p:?}"));
        assert!((now - t).abs() <= 60, "time is not now: {p:?}");
        assert!((0.0..10.0).contains(&p.duration), "{p:?}");
    }
    let expect = |i: usize, request: &str, status: u16, length: &str| {
        let p = &parsed[i];
        assert_eq!((p.request.as_str(), p.status, p.length.as_str()), (request, status, length), "line {i}: {p:?}");
    };
    expect(0, "GET /hello?x=1&y=2 HTTP/1.1", 200, "5");
    expect(1, "POST /echo HTTP/1.0", 200, "3");
    expect(2, "GET /missing HTTP/1.1", 404, "4");
    expect(3, "GET /sleep HTTP/1.1", 200, "5");
    assert!(parsed[3].duration >= 0.15, "the duration covers the handler: {:?}", parsed[3]);
    assert_eq!((parsed[4].request.as_str(), parsed[4].status), ("HEAD /hello HTTP/1.1", 200));
    expect(5, "GET /stream HTTP/1.1", 200, "-");
    assert_eq!((parsed[6].request.as_str(), parsed[6].status), ("GET /panic HTTP/1.1", 500));
    // A refused request is logged too; its request line is unknown.
    expect(7, "-", 400, &refused.body.len().to_string());

    // The server's other messages use other targets.
    let records = RECORDS.lock().unwrap();
    assert!(
        records
            .iter()
            .any(|r| r.target == "verde_http" && r.level == log::Level::Error && r.message.contains("panicked")),
        "the panic is logged under verde_http"
    );
    drop(records);
    server.stop();
    println!("test access_log_lines_in_common_log_format ... ok");
}
