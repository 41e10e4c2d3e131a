//! What a handler sees: the request's accessors, and handlers written
//! against the `http` crate's types through `from_http`.

mod common;

use common::{builder, exchange, TestServer};
use verde_http::{from_http, Limits, Request, Response, StatusCode};

#[test]
fn request_accessors() {
    let server = TestServer::new(|req: &mut Request<'_>| {
        let headers: Vec<String> = req.headers().map(|(n, v)| format!("{n}={}", String::from_utf8_lossy(v))).collect();
        Response::text(format!(
            "method={} target={} path={} query={:?} a={:?} b={:?} missing={:?} version={:?} x={:?} raw={:?} \
             peer={} headers={}",
            req.method(),
            req.target(),
            req.path(),
            req.query(),
            req.query_param("a"),
            req.query_param("b"),
            req.query_param("zz"),
            req.version(),
            req.header_str("X-Case"),
            req.header("x-bytes").map(<[u8]>::to_vec),
            req.peer_addr().map(|a| a.ip().to_string()).unwrap_or_default(),
            headers.join(","),
        ))
    });
    let r = exchange(
        server.addr(),
        b"OPTIONS /p/q?a=1&b&a=2 HTTP/1.1\r\nHost: t\r\nx-case: Mixed\r\nX-Bytes: \xff\r\nX-Case: second\r\n\r\n",
    );
    assert_eq!(
        r.text(),
        "method=OPTIONS target=/p/q?a=1&b&a=2 path=/p/q query=Some(\"a=1&b&a=2\") a=Some(\"1\") b=Some(\"\") \
         missing=None version=HTTP/1.1 x=Some(\"Mixed\") raw=Some([255]) peer=127.0.0.1 \
         headers=Host=t,x-case=Mixed,X-Bytes=\u{fffd},X-Case=second"
    );
    server.stop();
}

#[test]
fn absolute_form_targets_have_a_path() {
    let server = TestServer::new(|req: &mut Request<'_>| {
        Response::text(format!("{} {} {:?}", req.target(), req.path(), req.query()))
    });
    let r = exchange(server.addr(), "GET http://example.com:81/a/b?c=1 HTTP/1.1\r\nHost: example.com\r\n\r\n");
    assert_eq!(r.text(), "http://example.com:81/a/b?c=1 /a/b Some(\"c=1\")");
    let r = exchange(server.addr(), "GET http://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n");
    assert_eq!(r.text(), "http://example.com / None");
    server.stop();
}

#[test]
fn a_handler_saying_keep_alive_close_closes() {
    let server =
        TestServer::new(|_: &mut Request<'_>| Response::text("bye").with_header("connection", "keep-alive, close"));
    let mut c = server.connect();
    c.get("/");
    let r = c.response();
    assert!(r.says_close(), "{r:?}");
    c.expect_closed();
    server.stop();
}

#[test]
fn handlers_on_the_http_crate() {
    let server = TestServer::start(
        builder().limits(Limits { max_body: 100, ..Limits::default() }),
        from_http(|req: http::Request<Vec<u8>>| {
            let reply = format!(
                "{} {} {:?} x={:?} body={}",
                req.method(),
                req.uri(),
                req.version(),
                req.headers().get("x-test").map(|v| v.to_str().unwrap().to_string()),
                String::from_utf8_lossy(req.body())
            );
            http::Response::builder()
                .status(http::StatusCode::CREATED)
                .header("x-one", "1")
                .header("x-multi", "a")
                .header("x-multi", "b")
                .body(reply)
                .unwrap()
        }),
    );
    let r = exchange(server.addr(), "POST /h?q=1 HTTP/1.1\r\nHost: t\r\nX-Test: yes\r\nContent-Length: 4\r\n\r\nbody");
    assert_eq!(r.status, 201);
    assert_eq!(r.text(), "POST /h?q=1 HTTP/1.1 x=Some(\"yes\") body=body");
    assert_eq!(r.header("x-one"), Some("1"));
    assert_eq!(r.header_all("x-multi"), ["a", "b"]);
    // Chunked bodies are read in full too, and the limit holds.
    let r = exchange(
        server.addr(),
        "PUT /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n1\r\nc\r\n0\r\n\r\n",
    );
    assert!(r.text().ends_with("body=abc"), "{r:?}");
    let big = "z".repeat(150);
    let r = exchange(
        server.addr(),
        format!("PUT /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n96\r\n{big}\r\n0\r\n\r\n"),
    );
    assert_eq!(r.status, 413, "{r:?}");
    assert_eq!(StatusCode::from_u16(r.status).unwrap(), StatusCode::PAYLOAD_TOO_LARGE);
    server.stop();
}
