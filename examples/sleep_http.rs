//! The seeds' flask `/test`: every request sleeps 200 ms, then answers
//! `hello`. The sleep parks only the request's coroutine, so with 1,000
//! concurrent clients one worker serves about 5,000 requests a second
//! (1,000 / 0.2 s), where a thread-per-request worker pool of the same
//! size would need 1,000 threads.
//!
//! ```sh
//! cargo run --release --example sleep_http -- --addr 127.0.0.1:5000
//! wrk -t2 -c1000 -d10s http://127.0.0.1:5000/test
//! ```
//!
//! `--workers` defaults to 1, as in the seed.

use std::time::Duration;

use verde::http::{Request, Response, Server};

fn test(_req: &mut Request<'_>) -> Response {
    verde::sleep(Duration::from_millis(200));
    Response::text("hello")
}

fn main() -> std::io::Result<()> {
    let mut addr = "127.0.0.1:5000".to_string();
    let mut workers = 1;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next().expect("--addr needs a value"),
            "--workers" => workers = args.next().expect("--workers needs a value").parse().expect("a number"),
            other => panic!("unknown argument {other}; use --addr HOST:PORT --workers N"),
        }
    }
    let server = Server::builder().workers(workers).bind(addr)?;
    eprintln!("sleep_http listening on http://{}", server.local_addr());
    server.serve(test)
}
