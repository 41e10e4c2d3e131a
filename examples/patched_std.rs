//! Unmodified std code, made cooperative by one line: `verde::patch_all!()`.
//!
//! 100 coroutines each fetch a reply with `std::net::TcpStream` from a
//! local server that answers after 200 ms, then `std::thread::sleep` for
//! 200 ms. Without the patch each coroutine would block the hub in turn:
//! 100 × 0.4 s = 40 s. With it they all wait at once: about 0.4 s.
//!
//! ```sh
//! cargo run --release --example patched_std
//! ```
//!
//! The server is std code too (`std::net::TcpListener`, a coroutine per
//! connection), on 127.0.0.1 with a port the system picks. Everything runs
//! on the main thread's hub.

verde::patch_all!();

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

const CLIENTS: usize = 100;
const DELAY: Duration = Duration::from_millis(200);

/// Starts the slow server: each connection gets its line back, 200 ms
/// later, and is closed.
fn start_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(verde::spawn(move || {
        for conn in listener.incoming() {
            // At exit the hub kills this coroutine, and a kill ends a
            // patched call with ECANCELED: the loop ends there.
            let Ok(conn) = conn else { return };
            drop(verde::spawn(move || {
                let mut line = String::new();
                BufReader::new(&conn).read_line(&mut line).unwrap();
                std::thread::sleep(DELAY);
                (&conn).write_all(format!("echo: {line}").as_bytes()).unwrap();
            }));
        }
    }));
    addr
}

/// One client: a request over std's TcpStream, then a std sleep.
fn client(addr: SocketAddr, id: usize) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(format!("hello from {id}\n").as_bytes()).unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    std::thread::sleep(DELAY);
    reply
}

fn main() {
    let addr = start_server();
    let start = Instant::now();
    let handles: Vec<_> = (0..CLIENTS).map(|id| verde::spawn(move || client(addr, id))).collect();
    let replies: Vec<String> = verde::joinall(handles).into_iter().map(Result::unwrap).collect();
    let elapsed = start.elapsed();
    assert!(replies.iter().enumerate().all(|(id, r)| *r == format!("echo: hello from {id}\n")));
    println!(
        "{CLIENTS} coroutines, each a 200 ms std::net fetch and a 200 ms std::thread::sleep: {:.2} s \
         (serially it would be {:.0} s)",
        elapsed.as_secs_f64(),
        (CLIENTS as u32 * 2 * DELAY).as_secs_f64()
    );
}
