//! Decoding the chunked transfer coding (RFC 9112 section 7.1).

/// Where the decoder is within a chunked body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    /// Reading a chunk-size line: hex digits, then optional whitespace and
    /// extensions, then CRLF.
    Size { value: u64, part: SizePart, line_len: usize, saw_cr: bool },
    /// Inside chunk data, with this many bytes left.
    Data(u64),
    /// Expecting the CRLF after chunk data (`cr`: the CR was seen).
    DataEnd { cr: bool },
    /// Reading trailer lines after the last chunk. `line_len` is the
    /// current line's length (0: at the start of a line); `in_value`: its
    /// colon was seen.
    Trailers { line_len: usize, in_value: bool, saw_cr: bool, total: usize },
    /// The body is complete.
    Done,
}

/// The part of a chunk-size line being read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SizePart {
    /// The hex digits; `any`: at least one was seen.
    Digits { any: bool },
    /// Whitespace after the digits, before an extension or the CRLF.
    Space,
    /// Chunk extensions (after a `;`), ignored.
    Ext,
}

/// A violation of the chunked syntax or of the decoder's limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Malformed(pub &'static str);

/// Longest chunk-size line (size plus extensions).
const MAX_SIZE_LINE: usize = 4096;
/// Largest trailer section.
const MAX_TRAILERS: usize = 16 * 1024;

/// Whether `b` may appear in a field name (RFC 9110 `tchar`).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

impl State {
    pub fn start() -> State {
        State::Size { value: 0, part: SizePart::Digits { any: false }, line_len: 0, saw_cr: false }
    }

    /// Consumes framing bytes from `input` until chunk data begins (or the
    /// body ends). Returns how many bytes were consumed.
    ///
    /// The syntax is enforced strictly (RFC 9112 section 7.1): every line
    /// ends in CRLF, the size is hex digits only and may be followed only
    /// by whitespace and `;` extensions, and trailer lines are fields. A
    /// lenient reading here is what lets a request be framed one way by a
    /// proxy and another way by this server.
    pub fn advance(&mut self, input: &[u8]) -> Result<usize, Malformed> {
        let mut used = 0;
        while used < input.len() {
            let b = input[used];
            match self {
                State::Size { value, part, line_len, saw_cr } => {
                    used += 1;
                    *line_len += 1;
                    if *line_len > MAX_SIZE_LINE {
                        return Err(Malformed("chunk-size line too long"));
                    }
                    if *saw_cr {
                        if b != b'\n' {
                            return Err(Malformed("CR without LF in chunk-size line"));
                        }
                        *self = if *value == 0 {
                            State::Trailers { line_len: 0, in_value: false, saw_cr: false, total: 0 }
                        } else {
                            State::Data(*value)
                        };
                        if matches!(self, State::Data(_)) {
                            return Ok(used);
                        }
                        continue;
                    }
                    match (*part, b) {
                        (SizePart::Digits { any: false }, b'\r' | b';' | b' ' | b'\t') => {
                            return Err(Malformed("missing chunk size"));
                        }
                        (_, b'\r') => *saw_cr = true,
                        (_, b'\n') => return Err(Malformed("bare LF in chunk-size line")),
                        (SizePart::Ext, _) => {}
                        (SizePart::Digits { .. }, _) if b.is_ascii_hexdigit() => {
                            if *value >> 60 != 0 {
                                return Err(Malformed("chunk size overflows"));
                            }
                            let d = (b as char).to_digit(16).unwrap_or(0);
                            *value = (*value << 4) | u64::from(d);
                            *part = SizePart::Digits { any: true };
                        }
                        (_, b' ' | b'\t') => *part = SizePart::Space,
                        (_, b';') => *part = SizePart::Ext,
                        _ => return Err(Malformed("invalid chunk size")),
                    }
                }
                State::Data(_) => return Ok(used),
                State::DataEnd { cr } => {
                    used += 1;
                    match (b, *cr) {
                        (b'\r', false) => *cr = true,
                        (b'\n', true) => *self = State::start(),
                        _ => return Err(Malformed("chunk data not followed by CRLF")),
                    }
                }
                State::Trailers { line_len, in_value, saw_cr, total } => {
                    used += 1;
                    *total += 1;
                    if *total > MAX_TRAILERS {
                        return Err(Malformed("trailer section too large"));
                    }
                    if *saw_cr {
                        if b != b'\n' {
                            return Err(Malformed("CR without LF in trailers"));
                        }
                        if *line_len == 0 {
                            *self = State::Done;
                            return Ok(used);
                        }
                        *line_len = 0;
                        *in_value = false;
                        *saw_cr = false;
                    } else if b == b'\r' {
                        if *line_len > 0 && !*in_value {
                            return Err(Malformed("trailer line is not a field"));
                        }
                        *saw_cr = true;
                    } else if b == b'\n' {
                        return Err(Malformed("bare LF in trailers"));
                    } else {
                        if !*in_value {
                            if b == b':' && *line_len > 0 {
                                *in_value = true;
                            } else if !is_tchar(b) {
                                return Err(Malformed("trailer line is not a field"));
                            }
                        }
                        *line_len += 1;
                    }
                }
                State::Done => return Ok(used),
            }
        }
        Ok(used)
    }

    /// Records that `n` bytes of chunk data were delivered.
    pub fn consumed_data(&mut self, n: u64) {
        if let State::Data(left) = self {
            *left -= n;
            if *left == 0 {
                *self = State::DataEnd { cr: false };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes a whole chunked body held in memory.
    fn decode(mut input: &[u8]) -> Result<Vec<u8>, Malformed> {
        let mut st = State::start();
        let mut out = Vec::new();
        loop {
            let used = st.advance(input)?;
            input = &input[used..];
            match st {
                State::Done => return Ok(out),
                State::Data(left) => {
                    let n = (left as usize).min(input.len());
                    out.extend_from_slice(&input[..n]);
                    input = &input[n..];
                    st.consumed_data(n as u64);
                }
                _ => {}
            }
            if input.is_empty() && st != State::Done {
                return Err(Malformed("truncated"));
            }
        }
    }

    #[test]
    fn decodes_chunks_extensions_and_trailers() {
        assert_eq!(decode(b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-T: 1\r\n\r\n").unwrap(), b"hello world");
        assert_eq!(decode(b"A\r\n0123456789\r\n0\r\n\r\n").unwrap(), b"0123456789");
        assert_eq!(decode(b"0\r\n\r\n").unwrap(), b"");
    }

    #[test]
    fn byte_at_a_time() {
        let body = b"3\r\nabc\r\n1\r\nd\r\n0\r\n\r\n";
        let mut st = State::start();
        let mut out = Vec::new();
        for &b in body {
            let one = [b];
            let used = st.advance(&one).unwrap();
            if used == 0 {
                if let State::Data(_) = st {
                    out.push(b);
                    st.consumed_data(1);
                }
            }
        }
        assert_eq!(st, State::Done);
        assert_eq!(out, b"abcd");
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            &b"x\r\n"[..],
            b"\r\n",
            b"5\nhello",
            b"5\r\nhelloXX",
            b"11111111111111111\r\n",
            b"0\r\nbad\n\r\n",
            b";ext\r\n",
            b"3 4\r\nabc\r\n0\r\n\r\n",
            b"3\t;x\n",
            b"3,\r\n",
            b"0\r\nGET / HTTP/1.1\r\n\r\n",
            b"0\r\n: v\r\n\r\n",
            b"0\r\n x: v\r\n\r\n",
        ] {
            assert!(decode(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn accepts_what_the_grammar_allows() {
        for (good, data) in [
            (&b"3 ;a = b\r\nabc\r\n0\r\n\r\n"[..], &b"abc"[..]),
            (b"3 \r\nabc\r\n0\r\n\r\n", b"abc"),
            (b"00000000000000000000003\r\nabc\r\n0\r\n\r\n", b"abc"),
            (b"0\r\nX-A: 1\r\nb:\r\n\r\n", b""),
        ] {
            assert_eq!(decode(good).as_deref(), Ok(data), "{:?}", String::from_utf8_lossy(good));
        }
        let max = b"ffffffffffffffff\r\n";
        let mut st = State::start();
        assert_eq!(st.advance(max), Ok(max.len()));
        assert_eq!(st, State::Data(u64::MAX));
    }
}
