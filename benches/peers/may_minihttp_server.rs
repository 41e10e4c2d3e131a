//! may_minihttp, the Rust stackful peer, for `benches/http.sh`:
//! `/` answers TechEmpower's plaintext, `/test` sleeps 200 ms then answers.
//!
//! `--addr HOST:PORT`, `--workers N` (may worker threads).

use std::io;
use std::time::Duration;

use may_minihttp::{HttpServer, HttpService, Request, Response};

#[derive(Clone)]
struct Service;

impl HttpService for Service {
    fn call(&mut self, req: Request, rsp: &mut Response) -> io::Result<()> {
        if req.path() == "/test" {
            may::coroutine::sleep(Duration::from_millis(200));
            rsp.header("Content-Type: text/plain").body("hello");
        } else {
            rsp.header("Content-Type: text/plain").body("Hello, World!");
        }
        Ok(())
    }
}

fn main() {
    let mut addr = "127.0.0.1:8081".to_string();
    let mut workers = 1;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next().expect("--addr needs a value"),
            "--workers" => workers = args.next().expect("--workers needs a value").parse().expect("a number"),
            other => panic!("unknown argument {other}"),
        }
    }
    may::config().set_workers(workers).set_pool_capacity(10_000).set_stack_size(0x4000);
    let server = HttpServer(Service).start(addr.as_str()).expect("bind");
    eprintln!("may_minihttp listening on http://{addr}");
    server.join().expect("server coroutine");
}
