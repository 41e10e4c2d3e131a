//! A TCP echo server: one coroutine per connection, written as plain
//! blocking code.
//!
//! ```sh
//! cargo run --release --example echo                      # 127.0.0.1:9000
//! cargo run --release --example echo -- --addr 0.0.0.0:7000
//! ```
//!
//! It runs on a `verde::Runtime` with one hub per core. The accept loop
//! runs on one of them and hands each connection to the next hub in turn
//! (`Handle::spawn` is round-robin), so connections spread over all cores;
//! each connection's coroutine then stays on its hub.

use std::io::{self, Read, Write};
use std::process::ExitCode;

use verde::net::{TcpListener, TcpStream};

const DEFAULT_ADDR: &str = "127.0.0.1:9000";
const USAGE: &str = "usage: echo [--addr HOST:PORT]   (default 127.0.0.1:9000)";

fn main() -> ExitCode {
    let addr = match parse_args(std::env::args().skip(1)) {
        Ok(addr) => addr,
        Err(msg) => {
            eprintln!("{msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let rt = verde::Runtime::new().expect("starting the runtime");
    let handle = rt.handle().clone();
    let served = rt.block_on(move || -> io::Result<()> {
        let listener = TcpListener::bind(&addr)?;
        println!("echo server listening on {} ({} hubs)", listener.local_addr()?, handle.workers());
        for stream in listener.incoming() {
            // `incoming` never fails for lack of fds: accept backs off
            // instead. Other errors concern one connection only.
            match stream {
                Ok(stream) => drop(handle.spawn(move || serve(stream))),
                Err(e) => eprintln!("accept: {e}"),
            }
        }
        Ok(())
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("echo: {e}");
            ExitCode::FAILURE
        }
    }
}

/// One connection's coroutine.
fn serve(mut stream: TcpStream) {
    if let Err(e) = echo(&mut stream) {
        eprintln!("connection {:?}: {e}", stream.peer_addr());
    }
}

/// Echoes everything back until the client closes its side.
fn echo(stream: &mut TcpStream) -> io::Result<()> {
    let mut buf = [0; 16 * 1024];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n])?;
    }
}

/// `--addr HOST:PORT` or `--addr=HOST:PORT`; `--help`.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<String, String> {
    let mut addr = DEFAULT_ADDR.to_owned();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next().ok_or("--addr needs a value")?,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => match other.strip_prefix("--addr=") {
                Some(value) => addr = value.to_owned(),
                None => return Err(format!("unknown argument: {other}")),
            },
        }
    }
    Ok(addr)
}
