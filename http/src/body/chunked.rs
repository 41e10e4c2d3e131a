//! Decoding the chunked transfer coding (RFC 9112 section 7.1).

/// Where the decoder is within a chunked body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    /// Reading a chunk-size line (hex digits, optional extensions, CRLF).
    Size { value: u64, digits: u8, in_ext: bool, line_len: usize, saw_cr: bool },
    /// Inside chunk data, with this many bytes left.
    Data(u64),
    /// Expecting the CRLF after chunk data (`cr`: the CR was seen).
    DataEnd { cr: bool },
    /// Reading trailer lines after the last chunk. `line_len` is the
    /// current line's length (0: at the start of a line).
    Trailers { line_len: usize, saw_cr: bool, total: usize },
    /// The body is complete.
    Done,
}

/// A violation of the chunked syntax or of the decoder's limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Malformed(pub &'static str);

/// Longest chunk-size line (size plus extensions).
const MAX_SIZE_LINE: usize = 4096;
/// Largest trailer section.
const MAX_TRAILERS: usize = 16 * 1024;

impl State {
    pub fn start() -> State {
        State::Size { value: 0, digits: 0, in_ext: false, line_len: 0, saw_cr: false }
    }

    /// Consumes framing bytes from `input` until chunk data begins (or the
    /// body ends). Returns how many bytes were consumed.
    pub fn advance(&mut self, input: &[u8]) -> Result<usize, Malformed> {
        let mut used = 0;
        while used < input.len() {
            let b = input[used];
            match self {
                State::Size { value, digits, in_ext, line_len, saw_cr } => {
                    used += 1;
                    *line_len += 1;
                    if *line_len > MAX_SIZE_LINE {
                        return Err(Malformed("chunk-size line too long"));
                    }
                    if *saw_cr {
                        if b != b'\n' {
                            return Err(Malformed("CR without LF in chunk-size line"));
                        }
                        if *digits == 0 {
                            return Err(Malformed("missing chunk size"));
                        }
                        *self = if *value == 0 {
                            State::Trailers { line_len: 0, saw_cr: false, total: 0 }
                        } else {
                            State::Data(*value)
                        };
                        if matches!(self, State::Data(_)) {
                            return Ok(used);
                        }
                        continue;
                    }
                    if b == b'\r' {
                        *saw_cr = true;
                    } else if *in_ext {
                        if b == b'\n' {
                            return Err(Malformed("bare LF in chunk-size line"));
                        }
                    } else if let Some(d) = (b as char).to_digit(16) {
                        if *digits == 16 {
                            return Err(Malformed("chunk size overflows"));
                        }
                        *value = (*value << 4) | u64::from(d);
                        *digits += 1;
                    } else if b == b';' || b == b' ' || b == b'\t' {
                        if *digits == 0 {
                            return Err(Malformed("missing chunk size"));
                        }
                        *in_ext = true;
                    } else {
                        return Err(Malformed("invalid chunk size"));
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
                State::Trailers { line_len, saw_cr, total } => {
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
                        *saw_cr = false;
                    } else if b == b'\r' {
                        *saw_cr = true;
                    } else if b == b'\n' {
                        return Err(Malformed("bare LF in trailers"));
                    } else {
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
        ] {
            assert!(decode(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
