//! TechEmpower's plaintext test: `Hello, World!` with the headers it
//! requires (Server, Date, Content-Type, Content-Length).
//!
//! ```sh
//! cargo run --release --example hello_http -- --addr 127.0.0.1:8080 --workers 2
//! curl http://127.0.0.1:8080/
//! ```
//!
//! `--workers` defaults to the number of cores: one hub per core, each with
//! its own SO_REUSEPORT listener.
//!
//! `--unix PATH` serves on a Unix socket at PATH instead of `--addr`
//! (gunicorn's `--bind unix:PATH`; every worker accepts from that one
//! socket, and the socket file is removed on exit):
//!
//! ```sh
//! cargo run --release --example hello_http -- --unix /tmp/hello.sock
//! curl --unix-socket /tmp/hello.sock http://localhost/
//! ```

use verde::http::{header, HeaderValue, Request, Response, Server, StatusCode};

fn hello(_req: &mut Request<'_>) -> Response {
    Response::new(StatusCode::OK)
        .with_header(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"))
        .with_body("Hello, World!")
}

fn main() -> std::io::Result<()> {
    let mut addr = "127.0.0.1:8080".to_string();
    let mut unix = None;
    let mut workers = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next().expect("--addr needs a value"),
            "--unix" => unix = Some(args.next().expect("--unix needs a path")),
            "--workers" => workers = Some(args.next().expect("--workers needs a value").parse().expect("a number")),
            other => panic!("unknown argument {other}; use --addr HOST:PORT | --unix PATH, --workers N"),
        }
    }
    let mut builder = Server::builder();
    if let Some(n) = workers {
        builder = builder.workers(n);
    }
    let server = match unix {
        Some(path) => builder.bind_unix(path)?,
        None => builder.bind(addr)?,
    };
    match server.listen_addr().as_tcp() {
        Some(addr) => eprintln!("hello_http listening on http://{addr}"),
        None => eprintln!("hello_http listening on {}", server.listen_addr()),
    }
    server.serve(hello)
}
