//! Writing a response head into the output buffer.

use http::header::{CONNECTION, CONTENT_LENGTH, DATE, SERVER, TRANSFER_ENCODING};
use std::io::Read;
use std::ops::Range;
use std::time::{SystemTime, UNIX_EPOCH};

use http::{HeaderName, HeaderValue, StatusCode, Version};

use crate::date::HttpDate;
use crate::response::ResponseBody;

/// How the body follows the head, when it was not copied into the
/// buffer with it.
pub(crate) enum Plan {
    /// A large in-memory body to write after the head (saves a copy).
    Slice(std::borrow::Cow<'static, [u8]>),
    /// Stream this many bytes from the reader.
    Sized(Box<dyn Read + Send>, u64),
    /// Stream the reader chunked.
    Chunked(Box<dyn Read + Send>),
    /// Stream the reader until it ends, then close (HTTP/1.0 clients).
    UntilClose(Box<dyn Read + Send>),
}

/// Bodies up to this size are copied next to the head: one write.
const INLINE_BODY: usize = 16 * 1024;

/// The `Server` and `Date` lines every response starts with, kept ready to
/// copy in one piece: the server name is fixed for the server's life and
/// the date changes once a second, so a connection rewrites the date in
/// place only when a batch of requests finds the clock past the second it
/// stands for ([`refresh_date`](Self::refresh_date)).
pub(crate) struct Preamble {
    /// `Server: <name>\r\n` (when the server sends one), then
    /// `Date: <date>\r\n`.
    lines: Vec<u8>,
    /// Where the `Date` line starts.
    date_line: usize,
    /// The second the date stands for; empty until the first refresh.
    dated: Range<SystemTime>,
}

impl Preamble {
    const DATE: &'static [u8] = b"Date: ";

    /// The lines for a server named `server`, with a blank date to set
    /// (by [`refresh_date`](Self::refresh_date) or
    /// [`set_date`](Self::set_date)) before use.
    pub fn new(server: Option<&[u8]>) -> Preamble {
        let mut lines = Vec::new();
        if let Some(server) = server {
            lines.extend_from_slice(b"Server: ");
            lines.extend_from_slice(server);
            lines.extend_from_slice(b"\r\n");
        }
        let date_line = lines.len();
        lines.extend_from_slice(Self::DATE);
        lines.extend_from_slice(&[b' '; 29]);
        lines.extend_from_slice(b"\r\n");
        Preamble { lines, date_line, dated: UNIX_EPOCH..UNIX_EPOCH }
    }

    /// Dates the lines `now`: one read of the clock, and formatting (or
    /// the thread's cached copy) only once the second has passed.
    pub fn refresh_date(&mut self) {
        let now = SystemTime::now();
        if !self.dated.contains(&now) {
            let (date, second) = crate::date::at(now);
            self.set_date(&date);
            self.dated = second;
        }
    }

    /// Puts `date` in the `Date` line.
    pub fn set_date(&mut self, date: &HttpDate) {
        let at = self.date_line + Self::DATE.len();
        self.lines[at..at + date.len()].copy_from_slice(date);
    }

    fn server_line(&self) -> &[u8] {
        &self.lines[..self.date_line]
    }

    fn date_line(&self) -> &[u8] {
        &self.lines[self.date_line..]
    }
}

/// What the encoder needs to know about the request and the server.
pub(crate) struct Context<'a> {
    /// The request was a HEAD: send the head only.
    pub head_request: bool,
    pub version: Version,
    pub keep_alive: bool,
    pub preamble: &'a Preamble,
}

/// Whether a response with this status (to a HEAD request or not) carries
/// no body.
pub(crate) fn bodiless(status: StatusCode, head_request: bool) -> bool {
    status.is_informational() || status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED || head_request
}

/// A header the encoder writes itself, or lets the handler's value replace
/// its own (`Server`, `Date`), or reads (`Connection`).
fn is_managed(name: &HeaderName) -> bool {
    *name == SERVER || *name == DATE || *name == CONTENT_LENGTH || *name == TRANSFER_ENCODING || *name == CONNECTION
}

/// Appends the head to `out`, and the body when small. Returns how the rest
/// of the body goes (`None`: nothing follows, because there is no body, the
/// request was a HEAD, or the body is in `out` already) and whether the
/// connection stays open. A body the plan sends is moved out of `body`,
/// which is left empty; the response is otherwise encoded where it lies.
pub(crate) fn encode(
    out: &mut Vec<u8>,
    status: StatusCode,
    headers: &[(HeaderName, HeaderValue)],
    body: &mut ResponseBody,
    ctx: &Context<'_>,
) -> (Option<Plan>, bool) {
    let mut keep_alive = ctx.keep_alive;
    put_status_line(out, status);
    if headers.iter().any(|(name, _)| is_managed(name)) {
        keep_alive &= put_headers_managed(out, headers, ctx.preamble);
    } else {
        out.extend_from_slice(&ctx.preamble.lines);
        for (name, value) in headers {
            put_header(out, name, value);
        }
    }
    let no_body = bodiless(status, ctx.head_request);
    let plan = match body {
        ResponseBody::Empty => {
            // A 304's Content-Length would have to be the length of the
            // representation it stands for (RFC 9110, 8.6), which an empty
            // response does not know: it gets none, like 1xx and 204.
            if !status.is_informational() && status != StatusCode::NO_CONTENT && status != StatusCode::NOT_MODIFIED {
                put_length(out, 0);
            }
            None
        }
        ResponseBody::Bytes(bytes) => {
            if status.is_informational() || status == StatusCode::NO_CONTENT {
                None
            } else {
                put_length(out, bytes.len() as u64);
                if no_body {
                    None
                } else if bytes.len() <= INLINE_BODY {
                    finish_head(out, keep_alive, ctx.version);
                    out.extend_from_slice(bytes);
                    return (None, keep_alive);
                } else {
                    Some(Plan::Slice(std::mem::take(bytes)))
                }
            }
        }
        ResponseBody::Reader { reader, len } => match (no_body, *len) {
            (true, Some(n)) => {
                if !status.is_informational() && status != StatusCode::NO_CONTENT {
                    put_length(out, n);
                }
                None
            }
            (true, None) => None,
            (false, Some(n)) => {
                put_length(out, n);
                Some(Plan::Sized(take_reader(reader), n))
            }
            (false, None) if ctx.version == Version::HTTP_11 => {
                out.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
                Some(Plan::Chunked(take_reader(reader)))
            }
            (false, None) => {
                keep_alive = false;
                Some(Plan::UntilClose(take_reader(reader)))
            }
        },
    };
    finish_head(out, keep_alive, ctx.version);
    (plan, keep_alive)
}

/// Moves a response body's reader out, for the plan that streams it.
fn take_reader(reader: &mut Box<dyn Read + Send>) -> Box<dyn Read + Send> {
    std::mem::replace(reader, Box::new(std::io::empty()))
}

/// Writes the handler's headers when some are ones the encoder manages: a
/// `Server` or `Date` of the handler's replaces the server's own, framing
/// headers are dropped (the encoder frames the body), and `Connection` is
/// read, not copied. Returns false if the handler asked to close.
#[cold]
fn put_headers_managed(out: &mut Vec<u8>, headers: &[(HeaderName, HeaderValue)], preamble: &Preamble) -> bool {
    if !headers.iter().any(|(n, _)| *n == SERVER) {
        out.extend_from_slice(preamble.server_line());
    }
    if !headers.iter().any(|(n, _)| *n == DATE) {
        out.extend_from_slice(preamble.date_line());
    }
    let mut keep_alive = true;
    for (name, value) in headers {
        if *name == CONTENT_LENGTH || *name == TRANSFER_ENCODING {
            continue;
        }
        if *name == CONNECTION {
            if value.as_bytes().split(|&b| b == b',').any(|t| t.trim_ascii().eq_ignore_ascii_case(b"close")) {
                keep_alive = false;
            }
            continue;
        }
        put_header(out, name, value);
    }
    keep_alive
}

fn put_header(out: &mut Vec<u8>, name: &HeaderName, value: &HeaderValue) {
    out.extend_from_slice(name.as_str().as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

fn finish_head(out: &mut Vec<u8>, keep_alive: bool, version: Version) {
    out.extend_from_slice(match (keep_alive, version) {
        (false, _) => b"Connection: close\r\n\r\n" as &[u8],
        (true, Version::HTTP_10) => b"Connection: keep-alive\r\n\r\n",
        (true, _) => b"\r\n",
    });
}

fn put_status_line(out: &mut Vec<u8>, status: StatusCode) {
    match status {
        StatusCode::OK => out.extend_from_slice(b"HTTP/1.1 200 OK\r\n"),
        _ => {
            out.extend_from_slice(b"HTTP/1.1 ");
            out.extend_from_slice(status.as_str().as_bytes());
            out.push(b' ');
            out.extend_from_slice(status.canonical_reason().unwrap_or("Unknown").as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
}

fn put_length(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(b"Content-Length: ");
    put_decimal(out, n);
    out.extend_from_slice(b"\r\n");
}

/// Appends `n` in decimal.
pub(crate) fn put_decimal(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(status: StatusCode, body: ResponseBody, head_request: bool, version: Version, ka: bool) -> (String, bool) {
        let mut preamble = Preamble::new(Some(b"verde"));
        preamble.set_date(b"Thu, 01 Jan 1970 00:00:00 GMT");
        let ctx = Context { head_request, version, keep_alive: ka, preamble: &preamble };
        let mut out = Vec::new();
        let (_, keep) = encode(&mut out, status, &[], &mut { body }, &ctx);
        (String::from_utf8(out).unwrap(), keep)
    }

    #[test]
    fn small_body_inline_with_length() {
        let (s, ka) = head(StatusCode::OK, "hi".into(), false, Version::HTTP_11, true);
        assert_eq!(
            s,
            "HTTP/1.1 200 OK\r\nServer: verde\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\nContent-Length: 2\r\n\r\nhi"
        );
        assert!(ka);
    }

    #[test]
    fn head_request_keeps_length_drops_body() {
        let (s, _) = head(StatusCode::OK, "hello".into(), true, Version::HTTP_11, true);
        assert!(s.contains("Content-Length: 5\r\n") && s.ends_with("\r\n\r\n"));
    }

    #[test]
    fn no_body_statuses() {
        for st in [StatusCode::NO_CONTENT, StatusCode::NOT_MODIFIED] {
            let (s, _) = head(st, "x".into(), false, Version::HTTP_11, true);
            assert!(s.ends_with("\r\n\r\n"), "{s}");
            assert!(!s.ends_with("x"));
        }
        let (s, _) = head(StatusCode::NO_CONTENT, ResponseBody::Empty, false, Version::HTTP_11, true);
        assert!(!s.contains("Content-Length"));
    }

    #[test]
    fn streams_are_chunked_or_close_delimited() {
        let reader = || ResponseBody::Reader { reader: Box::new(std::io::empty()), len: None };
        let (s, ka) = head(StatusCode::OK, reader(), false, Version::HTTP_11, true);
        assert!(s.contains("Transfer-Encoding: chunked\r\n") && ka);
        let (s, ka) = head(StatusCode::OK, reader(), false, Version::HTTP_10, true);
        assert!(s.contains("Connection: close\r\n") && !ka);
    }

    fn with_headers(headers: &[(HeaderName, HeaderValue)], server: Option<&[u8]>) -> (String, bool) {
        let mut preamble = Preamble::new(server);
        preamble.set_date(b"Sun, 06 Nov 1994 08:49:37 GMT");
        let ctx = Context { head_request: false, version: Version::HTTP_11, keep_alive: true, preamble: &preamble };
        let mut out = Vec::new();
        let (_, keep) = encode(&mut out, StatusCode::OK, headers, &mut "hi".into(), &ctx);
        (String::from_utf8(out).unwrap(), keep)
    }

    #[test]
    fn handler_headers_follow_the_preamble_in_order() {
        let headers = [
            (http::header::CONTENT_TYPE, HeaderValue::from_static("text/plain")),
            (HeaderName::from_static("x-a"), HeaderValue::from_static("1")),
        ];
        let (s, ka) = with_headers(&headers, Some(b"verde"));
        assert_eq!(
            s,
            "HTTP/1.1 200 OK\r\nServer: verde\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
             content-type: text/plain\r\nx-a: 1\r\nContent-Length: 2\r\n\r\nhi"
        );
        assert!(ka);
        let (s, _) = with_headers(&headers, None);
        assert!(s.starts_with("HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\ncontent-type"), "{s}");
    }

    #[test]
    fn handler_server_and_date_replace_the_servers_own() {
        let headers = [
            (SERVER, HeaderValue::from_static("mine")),
            (DATE, HeaderValue::from_static("Mon, 07 Nov 1994 00:00:00 GMT")),
        ];
        let (s, _) = with_headers(&headers, Some(b"verde"));
        assert_eq!(s.matches("server: mine").count() + s.matches("Server:").count(), 1, "{s}");
        assert_eq!(s.matches("date: Mon").count() + s.matches("Date:").count(), 1, "{s}");
        let (s, _) = with_headers(&headers[..1], Some(b"verde"));
        assert!(s.contains("server: mine\r\n") && s.contains("Date: Sun, 06 Nov 1994") && !s.contains("verde"), "{s}");
    }

    #[test]
    fn framing_headers_are_the_encoders_and_connection_close_is_honoured() {
        let headers = [
            (CONTENT_LENGTH, HeaderValue::from_static("99")),
            (TRANSFER_ENCODING, HeaderValue::from_static("chunked")),
            (CONNECTION, HeaderValue::from_static("keep-alive, Close")),
        ];
        let (s, ka) = with_headers(&headers, Some(b"verde"));
        assert!(!ka);
        assert!(s.contains("Content-Length: 2\r\n") && s.contains("Connection: close\r\n"), "{s}");
        assert!(!s.contains(": 99") && !s.contains("chunked") && !s.contains("keep-alive"), "{s}");
    }

    #[test]
    fn decimal() {
        let mut v = Vec::new();
        put_decimal(&mut v, 0);
        v.push(b' ');
        put_decimal(&mut v, 18446744073709551615);
        assert_eq!(v, b"0 18446744073709551615");
    }
}
