//! [`Handler`]: the application's code, plain and blocking.

use crate::request::Request;
use crate::response::{Response, ResponseBody};

/// Answers requests. Implemented for any
/// `Fn(&mut Request<'_>) -> Response + Send + Sync + 'static`.
///
/// A handler is ordinary blocking code running in a coroutine: it may
/// sleep, use verde's sockets, take locks, or call other servers with the
/// [`Client`](crate::Client); only its coroutine waits. A handler that
/// panics gets a `500` for that request and the server keeps serving.
///
/// ```
/// use verde_http::{Request, Response};
///
/// fn hello(_req: &mut Request<'_>) -> Response {
///     Response::text("Hello, World!")
/// }
/// # fn assert_handler<H: verde_http::Handler>(_: H) {}
/// # assert_handler(hello);
/// ```
pub trait Handler: Send + Sync + 'static {
    /// Produces the response to `req`.
    fn handle(&self, req: &mut Request<'_>) -> Response;
}

impl<F> Handler for F
where
    F: Fn(&mut Request<'_>) -> Response + Send + Sync + 'static,
{
    fn handle(&self, req: &mut Request<'_>) -> Response {
        self(req)
    }
}

/// Adapts a handler written against the `http` crate's types. The request
/// body is read in full first (within the server's body limit).
///
/// ```
/// let handler = verde_http::from_http(|req: http::Request<Vec<u8>>| {
///     http::Response::new(format!("{} bytes", req.body().len()))
/// });
/// # fn assert_handler<H: verde_http::Handler>(_: H) {}
/// # assert_handler(handler);
/// ```
pub fn from_http<F, B>(f: F) -> impl Handler
where
    F: Fn(http::Request<Vec<u8>>) -> http::Response<B> + Send + Sync + 'static,
    B: Into<ResponseBody>,
{
    move |req: &mut Request<'_>| match req.to_http() {
        Ok(r) => Response::from(f(r)),
        Err(e) => {
            let status = e
                .get_ref()
                .and_then(|e| e.downcast_ref::<crate::body::BodyError>())
                .map_or(http::StatusCode::BAD_REQUEST, |b| b.status());
            Response::error(status, e.to_string())
        }
    }
}
