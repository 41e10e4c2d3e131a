//! [`Response`]: what a handler returns.

use std::borrow::Cow;
use std::fmt;
use std::io::Read;

use http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use http::StatusCode;
use smallvec::{smallvec, SmallVec};

/// Response headers: the first one inline (a response usually sets just
/// its Content-Type), more on the heap. A larger inline array costs more in
/// copies of the `Response` than it saves in allocations.
pub(crate) type HeaderList = SmallVec<[(HeaderName, HeaderValue); 1]>;

/// The body of a response.
pub enum ResponseBody {
    /// No body.
    Empty,
    /// A body held in memory; sent with `Content-Length`.
    Bytes(Cow<'static, [u8]>),
    /// A body streamed from a reader: with `Content-Length` when `len` is
    /// known, chunked otherwise (or, to an HTTP/1.0 client, delimited by
    /// closing the connection).
    Reader {
        /// Where the bytes come from.
        reader: Box<dyn Read + Send>,
        /// The exact length, if known.
        len: Option<u64>,
    },
}

impl fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResponseBody::Empty => f.write_str("Empty"),
            ResponseBody::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            ResponseBody::Reader { len, .. } => write!(f, "Reader(len: {len:?})"),
        }
    }
}

impl From<()> for ResponseBody {
    fn from(_: ()) -> Self {
        ResponseBody::Empty
    }
}
impl From<&'static str> for ResponseBody {
    fn from(s: &'static str) -> Self {
        ResponseBody::Bytes(Cow::Borrowed(s.as_bytes()))
    }
}
impl From<&'static [u8]> for ResponseBody {
    fn from(s: &'static [u8]) -> Self {
        ResponseBody::Bytes(Cow::Borrowed(s))
    }
}
impl From<String> for ResponseBody {
    fn from(s: String) -> Self {
        ResponseBody::Bytes(Cow::Owned(s.into_bytes()))
    }
}
impl From<Vec<u8>> for ResponseBody {
    fn from(v: Vec<u8>) -> Self {
        ResponseBody::Bytes(Cow::Owned(v))
    }
}

/// An HTTP response.
///
/// ```
/// use verde_http::Response;
///
/// let res = Response::text("hello").with_header("x-greeting", "yes");
/// assert_eq!(res.status(), 200);
/// ```
///
/// The server adds `Date`, `Server` (configurable), and the framing headers
/// (`Content-Length` or `Transfer-Encoding`) itself; framing headers set
/// here are ignored.
#[derive(Debug)]
pub struct Response {
    status: StatusCode,
    headers: HeaderList,
    body: ResponseBody,
}

impl Response {
    /// An empty response with `status`.
    #[inline]
    pub fn new(status: StatusCode) -> Response {
        Response { status, headers: HeaderList::new(), body: ResponseBody::Empty }
    }

    /// A `200 OK` with a `text/plain; charset=utf-8` body.
    #[inline]
    pub fn text(body: impl Into<Cow<'static, str>>) -> Response {
        let body = match body.into() {
            Cow::Borrowed(s) => ResponseBody::Bytes(Cow::Borrowed(s.as_bytes())),
            Cow::Owned(s) => ResponseBody::Bytes(Cow::Owned(s.into_bytes())),
        };
        Response {
            status: StatusCode::OK,
            headers: smallvec![(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"))],
            body,
        }
    }

    /// A response with `status` and a short plain-text explanation.
    pub fn error(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Response {
        let mut r = Response::text(message);
        r.status = status;
        r
    }

    /// Sets the status.
    #[inline]
    pub fn with_status(mut self, status: StatusCode) -> Response {
        self.status = status;
        self
    }

    /// Adds a header. A `&'static str` value is copied; pass
    /// `HeaderValue::from_static` to avoid that.
    ///
    /// # Panics
    ///
    /// Panics if the name or value is not valid in HTTP (a handler that
    /// panics gets a 500).
    #[inline]
    pub fn with_header<K, V>(mut self, name: K, value: V) -> Response
    where
        K: TryInto<HeaderName>,
        V: TryInto<HeaderValue>,
        K::Error: fmt::Debug,
        V::Error: fmt::Debug,
    {
        self.headers
            .push((name.try_into().expect("invalid header name"), value.try_into().expect("invalid header value")));
        self
    }

    /// Sets the body.
    #[inline]
    pub fn with_body(mut self, body: impl Into<ResponseBody>) -> Response {
        self.body = body.into();
        self
    }

    /// Streams the body from `reader`, chunked.
    #[inline]
    pub fn with_stream(mut self, reader: impl Read + Send + 'static) -> Response {
        self.body = ResponseBody::Reader { reader: Box::new(reader), len: None };
        self
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers set so far.
    pub fn headers(&self) -> &[(HeaderName, HeaderValue)] {
        &self.headers
    }

    /// The body.
    pub fn body(&self) -> &ResponseBody {
        &self.body
    }

    /// The status, the headers and the body, for encoding the response
    /// where it lies.
    pub(crate) fn parts_mut(&mut self) -> (StatusCode, &[(HeaderName, HeaderValue)], &mut ResponseBody) {
        (self.status, &self.headers, &mut self.body)
    }
}

impl<B: Into<ResponseBody>> From<http::Response<B>> for Response {
    fn from(res: http::Response<B>) -> Response {
        let (parts, body) = res.into_parts();
        let mut headers = HeaderList::with_capacity(parts.headers.len());
        let mut last: Option<HeaderName> = None;
        for (name, value) in parts.headers {
            let name = match name {
                Some(n) => {
                    last = Some(n.clone());
                    n
                }
                None => last.clone().expect("HeaderMap yields a name before its extra values"),
            };
            headers.push((name, value));
        }
        Response { status: parts.status, headers, body: body.into() }
    }
}
