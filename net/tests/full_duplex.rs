//! Full duplex: a reader and a writer wait on the same socket at once.

use std::io::{Read, Write};
use std::sync::Arc;

use verde_net::unix::UnixStream;
use verde_net::{TcpListener, TcpStream};
use verde_runtime as verde;

/// 8 MiB each way: far more than the socket buffers hold, so both sides'
/// readers and writers park many times, at the same time.
const PAYLOAD: usize = 8 << 20;

fn pattern(seed: u8) -> Vec<u8> {
    (0..PAYLOAD).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

fn pair() -> (TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    (c, l.accept().unwrap().0)
}

/// Writes `data` through one coroutine while another reads `PAYLOAD` bytes
/// from the same stream; returns what was read.
fn duplex<S>(stream: Arc<S>, data: Vec<u8>) -> (verde::JoinHandle<()>, verde::JoinHandle<Vec<u8>>)
where
    S: Send + Sync + 'static,
    for<'a> &'a S: Read + Write,
{
    let w = Arc::clone(&stream);
    let writer = verde::spawn(move || (&mut &*w).write_all(&data).unwrap());
    let reader = verde::spawn(move || {
        let mut got = vec![0; PAYLOAD];
        (&mut &*stream).read_exact(&mut got).unwrap();
        got
    });
    (writer, reader)
}

#[test]
fn reader_parked_while_another_coroutine_writes() {
    let (c, s) = pair();
    // An echo server: everything the writer sends comes back to the reader,
    // who has been parked on the same socket all along.
    let echo = verde::spawn(move || {
        let mut s = s;
        let mut buf = vec![0; 1 << 16];
        loop {
            let n = s.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            s.write_all(&buf[..n]).unwrap();
        }
    });
    let c = Arc::new(c);
    let data = pattern(1);
    let (writer, reader) = duplex(Arc::clone(&c), data.clone());
    writer.join().unwrap();
    let got = reader.join().unwrap();
    assert!(got == data, "echo corrupted");
    c.shutdown(std::net::Shutdown::Write).unwrap();
    echo.join().unwrap();
}

#[test]
fn both_directions_at_once_over_tcp() {
    let (c, s) = pair();
    let (a, b) = (pattern(2), pattern(3));
    let (wa, ra) = duplex(Arc::new(c), a.clone());
    let (wb, rb) = duplex(Arc::new(s), b.clone());
    wa.join().unwrap();
    wb.join().unwrap();
    assert!(ra.join().unwrap() == b, "a received corrupted data");
    assert!(rb.join().unwrap() == a, "b received corrupted data");
}

#[test]
fn both_directions_at_once_over_unix() {
    let (c, s) = UnixStream::pair().unwrap();
    let (a, b) = (pattern(4), pattern(5));
    let (wa, ra) = duplex(Arc::new(c), a.clone());
    let (wb, rb) = duplex(Arc::new(s), b.clone());
    wa.join().unwrap();
    wb.join().unwrap();
    assert!(ra.join().unwrap() == b);
    assert!(rb.join().unwrap() == a);
}

#[test]
fn clones_read_and_write_concurrently() {
    let (c, s) = pair();
    let mut c_reader = c.try_clone().unwrap();
    let mut c_writer = c;
    let mut s_reader = s.try_clone().unwrap();
    let mut s_writer = s;
    let (a, b) = (pattern(6), pattern(7));
    let (a2, b2) = (a.clone(), b.clone());
    let hs = [
        verde::spawn(move || {
            c_writer.write_all(&a2).unwrap();
            Vec::new()
        }),
        verde::spawn(move || {
            s_writer.write_all(&b2).unwrap();
            Vec::new()
        }),
        verde::spawn(move || {
            let mut v = vec![0; PAYLOAD];
            c_reader.read_exact(&mut v).unwrap();
            v
        }),
        verde::spawn(move || {
            let mut v = vec![0; PAYLOAD];
            s_reader.read_exact(&mut v).unwrap();
            v
        }),
    ];
    let results: Vec<Vec<u8>> = verde::joinall(hs).into_iter().map(Result::unwrap).collect();
    assert!(results[2] == b && results[3] == a);
}
