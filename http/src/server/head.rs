//! Parsing and validating a request head (RFC 9112).
//!
//! The head is parsed zero-copy by httparse, then checked for the framing
//! rules that keep a server safe from request smuggling: one way of
//! delimiting the body, a well-formed Content-Length, a supported transfer
//! coding, a single Host on HTTP/1.1.

use std::mem::MaybeUninit;

use http::{Method, StatusCode, Version};

use crate::limits::Limits;

/// How the request body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body.
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
}

/// A valid request head, borrowing the connection's read buffer.
#[derive(Debug)]
pub(crate) struct Head<'b> {
    pub method: Method,
    pub target: &'b str,
    pub version: Version,
    pub headers: &'b [httparse::Header<'b>],
    pub framing: Framing,
    pub keep_alive: bool,
    pub expect_continue: bool,
    /// Bytes of the buffer the head occupies.
    pub len: usize,
}

/// A request the server refuses, with the status to answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rejection {
    pub status: StatusCode,
    pub reason: &'static str,
}

const fn reject(status: StatusCode, reason: &'static str) -> Rejection {
    Rejection { status, reason }
}

/// Outcome of parsing the start of the read buffer.
#[derive(Debug)]
pub(crate) enum Parsed<'b> {
    Complete(Head<'b>),
    /// More bytes are needed.
    Partial,
    Invalid(Rejection),
    /// An HTTP/1.x request line with a minor version above 1, whose minor
    /// digit sits at this offset: RFC 9110 section 2.5 asks a server to
    /// process it as the highest 1.x version it implements, so the caller
    /// rewrites the digit to `1` and parses again.
    LaterMinor(usize),
}

/// Header storage that needs no initialisation before parsing.
pub(crate) type HeaderSlots<'b> = [MaybeUninit<httparse::Header<'b>>];

/// Parses the head at the start of `buf` into `storage`.
pub(crate) fn parse<'b>(buf: &'b [u8], storage: &'b mut HeaderSlots<'b>, limits: &Limits) -> Parsed<'b> {
    let mut req = httparse::Request::new(&mut []);
    let len = match req.parse_with_uninit_headers(buf, storage) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return partial(buf, limits),
        Err(httparse::Error::TooManyHeaders) => {
            return Parsed::Invalid(reject(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "too many header fields"))
        }
        Err(httparse::Error::Version) => return version_error(buf, limits),
        Err(_) => return Parsed::Invalid(reject(StatusCode::BAD_REQUEST, "malformed request line or header")),
    };
    if len > limits.max_head {
        return Parsed::Invalid(reject(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "request head too large"));
    }
    let method = req.method.expect("complete request has a method");
    let target = req.path.expect("complete request has a target");
    if method.len() + target.len() + 10 > limits.max_request_line {
        return Parsed::Invalid(reject(StatusCode::URI_TOO_LONG, "request line too long"));
    }
    let Ok(method) = Method::from_bytes(method.as_bytes()) else {
        return Parsed::Invalid(reject(StatusCode::BAD_REQUEST, "invalid method"));
    };
    if method == Method::CONNECT {
        // A 2xx answer would tell the client (or a proxy in front) that a
        // tunnel is open, and its next bytes would then be parsed here as
        // requests the proxy never saw. The server cannot tunnel.
        return Parsed::Invalid(reject(StatusCode::NOT_IMPLEMENTED, "CONNECT is not supported"));
    }
    let version = if req.version == Some(1) { Version::HTTP_11 } else { Version::HTTP_10 };
    let headers: &'b mut [httparse::Header<'b>] = std::mem::take(&mut req.headers);
    let headers: &'b [httparse::Header<'b>] = headers;
    match validate(version, headers) {
        Ok(v) => Parsed::Complete(Head {
            method,
            target,
            version,
            headers,
            framing: v.framing,
            keep_alive: v.keep_alive,
            expect_continue: v.expect_continue,
            len,
        }),
        Err(r) => Parsed::Invalid(r),
    }
}

/// Decides whether an incomplete head may still become valid.
fn partial(buf: &[u8], limits: &Limits) -> Parsed<'static> {
    let line_end = buf.windows(2).position(|w| w == b"\r\n").or_else(|| buf.iter().position(|&b| b == b'\n'));
    let line_len = line_end.unwrap_or(buf.len());
    match line_end {
        _ if line_len > limits.max_request_line => {
            Parsed::Invalid(reject(StatusCode::URI_TOO_LONG, "request line too long"))
        }
        _ if buf.len() > limits.max_head => {
            Parsed::Invalid(reject(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "request head too large"))
        }
        _ => Parsed::Partial,
    }
}

/// A version httparse does not take: HTTP/1.x with x > 1 is served as
/// HTTP/1.1 once its request line is complete; another well-formed HTTP
/// version gets 505, garbage 400.
fn version_error(buf: &[u8], limits: &Limits) -> Parsed<'static> {
    let Some(line_end) = buf.iter().position(|&b| b == b'\n') else {
        return partial(buf, limits);
    };
    let line = &buf[..line_end];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    match claimed_version(line) {
        Ok(version) if version[5] == b'1' => Parsed::LaterMinor(line.len() - 1),
        Ok(_) => Parsed::Invalid(reject(StatusCode::HTTP_VERSION_NOT_SUPPORTED, "unsupported HTTP version")),
        Err(r) => Parsed::Invalid(r),
    }
}

/// Checks that a request line whose version httparse refused has the shape
/// of one (exactly three parts, the last `HTTP/d.d`) and returns its
/// version, or the 400 for a malformed line.
fn claimed_version(line: &[u8]) -> Result<&[u8], Rejection> {
    // method SP request-target SP HTTP-version, exactly: a line with more
    // or fewer parts is malformed whatever its last word says.
    let mut parts = line.split(|&b| b == b' ');
    let (Some(_), Some(_), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(reject(StatusCode::BAD_REQUEST, "malformed request line"));
    };
    let well_formed = version.len() == 8
        && version.starts_with(b"HTTP/")
        && version[5].is_ascii_digit()
        && version[6] == b'.'
        && version[7].is_ascii_digit();
    if well_formed {
        Ok(version)
    } else {
        Err(reject(StatusCode::BAD_REQUEST, "malformed request line"))
    }
}

struct Validated {
    framing: Framing,
    keep_alive: bool,
    expect_continue: bool,
}

fn validate(version: Version, headers: &[httparse::Header<'_>]) -> Result<Validated, Rejection> {
    let mut hosts = 0;
    let mut content_length: Option<u64> = None;
    let mut transfer_encoding = false;
    let mut chunked_last = false;
    let mut close = false;
    let mut keep_alive_token = false;
    let mut expect_continue = false;
    for h in headers {
        let name = h.name;
        if name.eq_ignore_ascii_case("host") {
            hosts += 1;
            if !valid_host(h.value) {
                return Err(reject(StatusCode::BAD_REQUEST, "invalid Host header"));
            }
        } else if name.eq_ignore_ascii_case("content-length") {
            // Strictly digits, or the same digits repeated as a list (RFC
            // 9110 section 8.6); an empty element, as in `5,` or `, 5`, is
            // invalid too, as hyper has it: a length is the one field
            // whose misreading lets a request smuggle another.
            for part in h.value.split(|&b| b == b',').map(<[u8]>::trim_ascii) {
                let n = parse_length(part).ok_or(reject(StatusCode::BAD_REQUEST, "invalid Content-Length"))?;
                match content_length {
                    Some(prev) if prev != n => {
                        return Err(reject(StatusCode::BAD_REQUEST, "conflicting Content-Length values"))
                    }
                    _ => content_length = Some(n),
                }
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            transfer_encoding = true;
            for coding in split_list(h.value) {
                if coding.eq_ignore_ascii_case(b"chunked") {
                    if chunked_last {
                        return Err(reject(StatusCode::BAD_REQUEST, "chunked applied twice"));
                    }
                    chunked_last = true;
                } else if chunked_last {
                    return Err(reject(StatusCode::BAD_REQUEST, "chunked is not the final transfer coding"));
                } else {
                    return Err(reject(StatusCode::NOT_IMPLEMENTED, "unsupported transfer coding"));
                }
            }
        } else if name.eq_ignore_ascii_case("connection") {
            for token in split_list(h.value) {
                if token.eq_ignore_ascii_case(b"close") {
                    close = true;
                } else if token.eq_ignore_ascii_case(b"keep-alive") {
                    keep_alive_token = true;
                }
            }
        } else if name.eq_ignore_ascii_case("expect") {
            if h.value.eq_ignore_ascii_case(b"100-continue") {
                expect_continue = version == Version::HTTP_11;
            } else {
                return Err(reject(StatusCode::EXPECTATION_FAILED, "unsupported expectation"));
            }
        }
    }
    // RFC 9112 section 3.2: one Host, on any version; HTTP/1.1 must send it.
    if hosts > 1 {
        return Err(reject(StatusCode::BAD_REQUEST, "more than one Host header"));
    }
    if version == Version::HTTP_11 && hosts == 0 {
        return Err(reject(StatusCode::BAD_REQUEST, "HTTP/1.1 requires a Host header"));
    }
    if transfer_encoding && content_length.is_some() {
        return Err(reject(StatusCode::BAD_REQUEST, "both Content-Length and Transfer-Encoding"));
    }
    if transfer_encoding && version == Version::HTTP_10 {
        return Err(reject(StatusCode::BAD_REQUEST, "Transfer-Encoding in an HTTP/1.0 request"));
    }
    if transfer_encoding && !chunked_last {
        return Err(reject(StatusCode::BAD_REQUEST, "empty Transfer-Encoding"));
    }
    let framing = if transfer_encoding {
        Framing::Chunked
    } else {
        match content_length {
            Some(0) | None => Framing::Empty,
            Some(n) => Framing::Length(n),
        }
    };
    let keep_alive = match version {
        Version::HTTP_11 => !close,
        _ => keep_alive_token && !close,
    };
    Ok(Validated { framing, keep_alive, expect_continue: expect_continue && framing != Framing::Empty })
}

/// Splits a comma-separated header value into trimmed, non-empty items.
fn split_list(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(|p| p.trim_ascii()).filter(|p| !p.is_empty())
}

/// A Content-Length value: one or more digits, nothing else, no overflow.
/// Leading zeros are digits like any other: `0005` is 5.
fn parse_length(s: &[u8]) -> Option<u64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    s.iter().try_fold(0u64, |acc, &d| acc.checked_mul(10)?.checked_add(u64::from(d - b'0')))
}

/// Whether a Host value is `uri-host [ ":" port ]` (RFC 9112 section 3.2,
/// RFC 3986 section 3.2.2): a reg-name or IPv4 address (unreserved,
/// percent-encoded and sub-delims characters) or a bracketed IP literal,
/// then an optional port of digits. An empty value is valid (a target
/// without an authority).
fn valid_host(value: &[u8]) -> bool {
    let value = value.trim_ascii();
    if value.first() == Some(&b'[') {
        return valid_ip_literal_host(value);
    }
    // One pass: reg-name bytes up to the first other byte, which may only
    // be the `:` before a port of digits.
    let mut bytes = value.iter();
    while let Some(&b) = bytes.next() {
        if !REG_NAME[usize::from(b)] {
            return b == b':' && bytes.all(u8::is_ascii_digit);
        }
    }
    true
}

/// [`valid_host`] for a value starting with `[`: an IP literal in
/// brackets, then an optional port.
fn valid_ip_literal_host(value: &[u8]) -> bool {
    let Some(close) = value.iter().position(|&b| b == b']') else { return false };
    let literal = &value[1..close];
    if literal.is_empty() || !literal.iter().all(|&b| IP_LITERAL[usize::from(b)]) {
        return false;
    }
    match value[close + 1..].split_first() {
        None => true,
        Some((b':', digits)) => digits.iter().all(u8::is_ascii_digit),
        Some(_) => false,
    }
}

/// The bytes of a reg-name or IPv4 address: unreserved, `%` of
/// percent-encoding, and sub-delims. A table, because the Host check runs
/// on every request.
static REG_NAME: [bool; 256] = byte_class(b"-._~%!$&'()*+,;=");

/// The bytes of a bracketed IP literal: a reg-name's and `:`.
static IP_LITERAL: [bool; 256] = byte_class(b":.-_~%!$&'()*+,;=");

/// A table of the ASCII letters and digits plus `extra`.
const fn byte_class(extra: &[u8]) -> [bool; 256] {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    let mut i = 0;
    while i < extra.len() {
        table[extra[i] as usize] = true;
        i += 1;
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str) -> Result<(Framing, bool, bool), StatusCode> {
        let mut storage = [MaybeUninit::uninit(); 16];
        match parse(s.as_bytes(), &mut storage, &Limits::default()) {
            Parsed::Complete(h) => Ok((h.framing, h.keep_alive, h.expect_continue)),
            Parsed::Partial => Err(StatusCode::CONTINUE),
            Parsed::Invalid(r) => Err(r.status),
            Parsed::LaterMinor(_) => Err(StatusCode::SWITCHING_PROTOCOLS),
        }
    }

    #[test]
    fn later_minor_versions_point_at_their_digit() {
        let mut storage = [MaybeUninit::uninit(); 16];
        let req = b"GET /x HTTP/1.7\r\nHost: a\r\n\r\n";
        let Parsed::LaterMinor(at) = parse(req, &mut storage, &Limits::default()) else { panic!("not LaterMinor") };
        assert_eq!((at, req[at]), (14, b'7'));
        // Not before the request line is complete, and never for 2.x or
        // a malformed line.
        assert_eq!(parse_str("GET /x HTTP/1.7"), Err(StatusCode::CONTINUE));
        assert_eq!(parse_str("GET /x HTTP/2.1\r\nHost: a\r\n\r\n"), Err(StatusCode::HTTP_VERSION_NOT_SUPPORTED));
        assert_eq!(parse_str("GET /x HTTP/1.7 y\r\nHost: a\r\n\r\n"), Err(StatusCode::BAD_REQUEST));
    }

    #[test]
    fn simple_get() {
        assert_eq!(parse_str("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), Ok((Framing::Empty, true, false)));
    }

    #[test]
    fn partial_head() {
        assert_eq!(parse_str("GET / HTTP/1.1\r\nHost: a\r\n"), Err(StatusCode::CONTINUE));
    }

    #[test]
    fn host_rules() {
        assert_eq!(parse_str("GET / HTTP/1.1\r\n\r\n"), Err(StatusCode::BAD_REQUEST));
        assert_eq!(parse_str("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), Err(StatusCode::BAD_REQUEST));
        assert_eq!(parse_str("GET / HTTP/1.0\r\n\r\n"), Ok((Framing::Empty, false, false)));
        assert_eq!(parse_str("GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n"), Err(StatusCode::BAD_REQUEST));
        for bad in ["a b", "a/b", "a@b", "a:8x", "[::1", "[::1]x", "[]"] {
            let req = format!("GET / HTTP/1.1\r\nHost: {bad}\r\n\r\n");
            assert_eq!(parse_str(&req), Err(StatusCode::BAD_REQUEST), "{bad:?}");
        }
        for good in ["", "a", "a:80", "a:", "1.2.3.4:5", "[::1]", "[::1]:80", "a%20b", "a!$&'()*+,;=b"] {
            let req = format!("GET / HTTP/1.1\r\nHost: {good}\r\n\r\n");
            assert!(parse_str(&req).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn keep_alive_rules() {
        assert!(!parse_str("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").unwrap().1);
        assert!(parse_str("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").unwrap().1);
        assert!(parse_str("GET / HTTP/1.0\r\nConnection: Keep-Alive, foo\r\n\r\n").unwrap().1);
    }

    #[test]
    fn content_length_rules() {
        let ok = |s: &str| parse_str(s).map(|r| r.0);
        assert_eq!(ok("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n"), Ok(Framing::Length(5)));
        assert_eq!(ok("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n"), Ok(Framing::Length(5)));
        assert_eq!(
            ok("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n"),
            Ok(Framing::Length(5))
        );
        for (zeros, n) in [("0005", 5), ("00000000000000000000005", 5), ("18446744073709551615", u64::MAX)] {
            let req = format!("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: {zeros}\r\n\r\n");
            assert_eq!(ok(&req), Ok(Framing::Length(n)), "{zeros:?}");
        }
        for bad in ["5, 6", "-1", "+5", "0x5", "5 5", "", " ", "5,", "5, ", ",5", "5,,5", ",", "99999999999999999999"] {
            let req = format!("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: {bad}\r\n\r\n");
            assert_eq!(ok(&req), Err(StatusCode::BAD_REQUEST), "{bad:?}");
        }
    }

    #[test]
    fn transfer_encoding_rules() {
        let ok = |s: &str| parse_str(s).map(|r| r.0);
        assert_eq!(ok("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"), Ok(Framing::Chunked));
        assert_eq!(
            ok("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"),
            Err(StatusCode::BAD_REQUEST)
        );
        assert_eq!(
            ok("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
            Err(StatusCode::NOT_IMPLEMENTED)
        );
        assert_eq!(
            ok("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n"),
            Err(StatusCode::NOT_IMPLEMENTED)
        );
        assert_eq!(
            ok("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n"),
            Err(StatusCode::BAD_REQUEST)
        );
        assert_eq!(ok("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), Err(StatusCode::BAD_REQUEST));
    }

    #[test]
    fn expect_rules() {
        let r = parse_str("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
        assert_eq!(r, Ok((Framing::Length(3), true, true)));
        let r = parse_str("POST / HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\n\r\n");
        assert_eq!(r, Err(StatusCode::EXPECTATION_FAILED));
    }

    #[test]
    fn malformed_and_limits() {
        assert_eq!(parse_str("GET / HTTP/1.1\r\nHo st: a\r\n\r\n"), Err(StatusCode::BAD_REQUEST));
        assert_eq!(parse_str("GET  HTTP/1.1\r\n\r\n"), Err(StatusCode::BAD_REQUEST));
        assert_eq!(parse_str("GET / HTTP/2.0\r\n\r\n"), Err(StatusCode::HTTP_VERSION_NOT_SUPPORTED));
        // The last word is a supported version, but the line has four.
        assert_eq!(parse_str("GET / / HTTP/1.1\r\nHost: a\r\n\r\n"), Err(StatusCode::BAD_REQUEST));
        assert_eq!(parse_str("\x01\x02\x03 / HTTP/1.1\r\n\r\n"), Err(StatusCode::BAD_REQUEST));
        let mut storage = [MaybeUninit::uninit(); 2];
        let many = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n";
        assert!(matches!(
            parse(many.as_bytes(), &mut storage, &Limits::default()),
            Parsed::Invalid(Rejection { status: StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, .. })
        ));
        let limits = Limits { max_request_line: 32, max_head: 64, ..Limits::default() };
        let mut storage = [MaybeUninit::uninit(); 8];
        let long_uri = format!("GET /{} HTTP/1.1\r\n", "a".repeat(40));
        assert!(matches!(
            parse(long_uri.as_bytes(), &mut storage, &limits),
            Parsed::Invalid(Rejection { status: StatusCode::URI_TOO_LONG, .. })
        ));
        let mut storage = [MaybeUninit::uninit(); 8];
        let big_head = format!("GET / HTTP/1.1\r\nX: {}\r\n", "b".repeat(80));
        assert!(matches!(
            parse(big_head.as_bytes(), &mut storage, &limits),
            Parsed::Invalid(Rejection { status: StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, .. })
        ));
    }

    #[test]
    fn connect_is_refused() {
        let r = parse_str("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n");
        assert_eq!(r, Err(StatusCode::NOT_IMPLEMENTED));
    }
}
