//! hyper on tokio, what most Rust services would pick, for
//! `benches/http.sh`: `/` answers TechEmpower's plaintext, `/test` sleeps
//! 200 ms then answers.
//!
//! `--addr HOST:PORT`, `--workers N` (tokio worker threads).

use std::convert::Infallible;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

async fn serve(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = if req.uri().path() == "/test" {
        tokio::time::sleep(Duration::from_millis(200)).await;
        "hello"
    } else {
        "Hello, World!"
    };
    Ok(Response::builder()
        .header("content-type", "text/plain")
        .header("server", "hyper")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .expect("valid response"))
}

fn main() {
    let mut addr = "127.0.0.1:8082".to_string();
    let mut workers = 1;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next().expect("--addr needs a value"),
            "--workers" => workers = args.next().expect("--workers needs a value").parse().expect("a number"),
            other => panic!("unknown argument {other}"),
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_all().build().expect("runtime");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
        eprintln!("hyper listening on http://{addr}");
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let _ = http1::Builder::new()
                    .pipeline_flush(true)
                    .serve_connection(TokioIo::new(stream), service_fn(serve))
                    .await;
            });
        }
    });
}
