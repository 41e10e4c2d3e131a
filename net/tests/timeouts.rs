//! Every kind of timeout: socket read and write timeouts (std's
//! `WouldBlock`), `connect_timeout` (`TimedOut`), and verde's `Timeout`
//! around calls that have no timeout of their own.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use verde_net::unix::{UnixDatagram, UnixStream};
use verde_net::{TcpListener, TcpStream, UdpSocket};
use verde_runtime as verde;

const SHORT: Duration = Duration::from_millis(50);

fn pair() -> (TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    (c, l.accept().unwrap().0)
}

/// Asserts `f` fails with `kind` after roughly `SHORT` (generous bounds).
fn times_out<T: std::fmt::Debug>(kind: io::ErrorKind, f: impl FnOnce() -> io::Result<T>) {
    let start = Instant::now();
    let err = f().unwrap_err();
    let took = start.elapsed();
    assert_eq!(err.kind(), kind, "{err}");
    assert!(took >= SHORT - Duration::from_millis(5), "gave up too early: {took:?}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn tcp_read_timeout() {
    let (mut c, _s) = pair();
    c.set_read_timeout(Some(SHORT)).unwrap();
    let h = verde::spawn(move || times_out(io::ErrorKind::WouldBlock, || c.read(&mut [0; 16])));
    h.join().unwrap();
}

#[test]
fn tcp_write_timeout_with_a_full_send_buffer() {
    let (mut c, _s) = pair();
    c.set_write_timeout(Some(SHORT)).unwrap();
    let h = verde::spawn(move || {
        let chunk = vec![7u8; 1 << 20];
        // Nobody reads: the buffers fill up and a write has to wait.
        let start = Instant::now();
        loop {
            let attempt = Instant::now();
            match c.write(&chunk) {
                Ok(n) => assert!(n > 0 && start.elapsed() < Duration::from_secs(10), "the send buffer never filled"),
                Err(e) => {
                    assert_eq!(e.kind(), io::ErrorKind::WouldBlock, "{e}");
                    assert!(attempt.elapsed() >= SHORT - Duration::from_millis(5), "gave up too early");
                    break;
                }
            }
        }
    });
    h.join().unwrap();
}

/// A listener whose accept queue is full: new handshakes are dropped, so a
/// connect hangs until its timeout.
fn full_listener() -> (TcpListener, SocketAddr, Vec<std::net::TcpStream>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    // SAFETY: listen(2) on our own listening socket only changes its backlog.
    assert_eq!(unsafe { libc::listen(l.as_raw_fd(), 0) }, 0);
    let mut held = Vec::new();
    for _ in 0..4 {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(s) => held.push(s),
            Err(e) if e.kind() == io::ErrorKind::TimedOut => return (l, addr, held),
            Err(e) => panic!("{e}"),
        }
    }
    panic!("the accept queue never filled");
}

#[test]
fn connect_timeout_to_a_full_backlog() {
    let (_l, addr, _held) = full_listener();
    let h = verde::spawn(move || times_out(io::ErrorKind::TimedOut, || TcpStream::connect_timeout(&addr, SHORT)));
    h.join().unwrap();
}

#[test]
fn timeout_stops_a_connect_without_one() {
    let (_l, addr, _held) = full_listener();
    let r = verde::with_timeout(SHORT, || TcpStream::connect(addr));
    assert!(r.is_err(), "connect finished: {r:?}");
}

#[test]
fn timeout_stops_accept() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let start = Instant::now();
    assert!(verde::with_timeout(SHORT, || l.accept()).is_err());
    assert!(start.elapsed() >= SHORT - Duration::from_millis(5));
    // The listener still works.
    let _c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    assert!(verde::with_timeout(Duration::from_secs(5), || l.accept()).unwrap().is_ok());
}

#[test]
fn udp_recv_timeouts() {
    let u = UdpSocket::bind("127.0.0.1:0").unwrap();
    u.set_read_timeout(Some(SHORT)).unwrap();
    times_out(io::ErrorKind::WouldBlock, || u.recv_from(&mut [0; 8]));
    u.connect(u.local_addr().unwrap()).unwrap();
    times_out(io::ErrorKind::WouldBlock, || u.recv(&mut [0; 8]));
    times_out(io::ErrorKind::WouldBlock, || u.peek_from(&mut [0; 8]));
    u.set_read_timeout(None).unwrap();
    assert!(verde::with_timeout(SHORT, || u.recv_from(&mut [0; 8])).is_err());
}

#[test]
fn unix_timeouts() {
    let (mut a, _b) = UnixStream::pair().unwrap();
    a.set_read_timeout(Some(SHORT)).unwrap();
    times_out(io::ErrorKind::WouldBlock, || a.read(&mut [0; 8]));
    a.set_write_timeout(Some(SHORT)).unwrap();
    let chunk = vec![0u8; 1 << 16];
    let err = loop {
        if let Err(e) = a.write(&chunk) {
            break e;
        }
    };
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock);

    let (d, _e) = UnixDatagram::pair().unwrap();
    d.set_read_timeout(Some(SHORT)).unwrap();
    times_out(io::ErrorKind::WouldBlock, || d.recv(&mut [0; 8]));
}

#[test]
fn timeouts_work_on_plain_threads() {
    std::thread::spawn(|| {
        let (mut c, _s) = pair();
        c.set_read_timeout(Some(SHORT)).unwrap();
        times_out(io::ErrorKind::WouldBlock, || c.read(&mut [0; 8]));
        let (_l, addr, _held) = full_listener();
        times_out(io::ErrorKind::TimedOut, || TcpStream::connect_timeout(&addr, SHORT));
    })
    .join()
    .unwrap();
}
