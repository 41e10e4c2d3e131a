//! A tour of the HTTP server.
//!
//! | route | what it shows |
//! | --- | --- |
//! | `GET /` | hello |
//! | `POST /echo` | the request body streamed back (plain or chunked uploads) |
//! | `GET /sleep?ms=N` | a handler that sleeps without blocking the others |
//! | `GET /stream` | a chunked response produced over time |
//! | `GET /panic` | a panicking handler gets a 500; the server keeps serving |
//! | `GET /fetch?url=http://...` | the handler calls another server with the client |
//!
//! ```sh
//! cargo run --release --example http_demo -- --addr 127.0.0.1:8000
//! curl -d 'hi there' http://127.0.0.1:8000/echo
//! curl -N http://127.0.0.1:8000/stream
//! curl 'http://127.0.0.1:8000/fetch?url=http://127.0.0.1:8000/'
//! ```

use std::io::{self, Read};
use std::time::Duration;

use verde::http::{Client, Request, Response, Server, StatusCode};

/// A body produced a line at a time, sleeping between lines: each `read`
/// may block, and only this request's coroutine waits.
struct Ticks {
    left: u32,
    pending: Vec<u8>,
}

impl Read for Ticks {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pending.is_empty() {
            if self.left == 0 {
                return Ok(0);
            }
            verde::sleep(Duration::from_millis(100));
            self.pending = format!("tick {}\n", 6 - self.left).into_bytes();
            self.left -= 1;
        }
        let n = buf.len().min(self.pending.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        Ok(n)
    }
}

fn route(client: &Client, req: &mut Request<'_>) -> Response {
    match (req.method().as_str(), req.path()) {
        ("GET", "/") => Response::text("Hello from verde!\n"),
        ("POST", "/echo") => match req.body().read_all() {
            Ok(body) => Response::new(StatusCode::OK).with_body(body),
            Err(e) => Response::error(StatusCode::BAD_REQUEST, e.to_string()),
        },
        ("GET", "/sleep") => {
            let ms: u64 = req.query_param("ms").and_then(|v| v.parse().ok()).unwrap_or(100);
            verde::sleep(Duration::from_millis(ms.min(60_000)));
            Response::text(format!("slept {ms} ms\n"))
        }
        ("GET", "/stream") => Response::new(StatusCode::OK)
            .with_header("content-type", "text/plain")
            .with_stream(Ticks { left: 5, pending: Vec::new() }),
        ("GET", "/panic") => panic!("the /panic route panics on purpose"),
        ("GET", "/fetch") => {
            let Some(url) = req.query_param("url") else {
                return Response::error(StatusCode::BAD_REQUEST, "missing ?url=\n");
            };
            match client.get(url).send().and_then(|r| Ok((r.status(), r.bytes()?))) {
                Ok((status, body)) => {
                    let mut out = format!("{status} from {url}, {} bytes:\n", body.len()).into_bytes();
                    out.extend_from_slice(&body);
                    Response::new(StatusCode::OK).with_body(out)
                }
                Err(e) => Response::error(StatusCode::BAD_GATEWAY, format!("fetching {url}: {e}\n")),
            }
        }
        _ => Response::error(StatusCode::NOT_FOUND, "not found\n"),
    }
}

fn main() -> io::Result<()> {
    let mut addr = "127.0.0.1:8000".to_string();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next().expect("--addr needs a value"),
            other => panic!("unknown argument {other}; use --addr HOST:PORT"),
        }
    }
    let server = Server::bind(addr)?;
    eprintln!("http_demo listening on http://{}", server.local_addr());
    let client = Client::new();
    server.serve(move |req: &mut Request<'_>| route(&client, req))
}
