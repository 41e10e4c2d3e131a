//! Kill and `Timeout` interrupt a coroutine parked in any socket call; it
//! unwinds, and the socket stays usable.

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;

use verde_net::unix::{UnixDatagram, UnixListener, UnixStream};
use verde_net::{TcpListener, TcpStream, UdpSocket};
use verde_runtime as verde;

fn pair() -> (TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    (c, l.accept().unwrap().0)
}

/// Spawns `f`, lets it park, kills it, and checks it unwound with `Killed`.
fn kill_while_parked<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) {
    let h = verde::spawn(f);
    verde::sleep(Duration::from_millis(20));
    assert!(!h.is_finished(), "the call did not block");
    h.kill();
    let payload = h.join().err().expect("the coroutine was not interrupted");
    assert!(payload.is::<verde::Killed>());
}

#[test]
fn kill_interrupts_tcp_read_and_the_stream_still_works() {
    let (c, mut s) = pair();
    let c = Arc::new(c);
    let c2 = Arc::clone(&c);
    kill_while_parked(move || (&*c2).read(&mut [0; 8]));
    s.write_all(b"later").unwrap();
    let mut buf = [0; 5];
    (&*c).read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"later");
}

#[test]
fn kill_interrupts_tcp_write_on_a_full_buffer() {
    let (c, mut s) = pair();
    let c = Arc::new(c);
    let c2 = Arc::clone(&c);
    kill_while_parked(move || {
        let chunk = vec![1u8; 1 << 20];
        loop {
            (&*c2).write_all(&chunk).unwrap();
        }
    });
    // Drain what was written; the stream is still connected.
    s.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    let mut total = 0;
    let mut buf = vec![0; 1 << 16];
    while let Ok(n) = s.read(&mut buf) {
        assert!(n > 0);
        total += n;
    }
    assert!(total > 0);
    (&*c).write_all(b"still alive").unwrap();
}

#[test]
fn kill_interrupts_accept_and_connect() {
    let l = Arc::new(TcpListener::bind("127.0.0.1:0").unwrap());
    let l2 = Arc::clone(&l);
    kill_while_parked(move || l2.accept().map(drop));
    let addr = l.local_addr().unwrap();
    let _c = TcpStream::connect(addr).unwrap();
    l.accept().unwrap();

    // A listener with a full accept queue leaves a connect hanging.
    // SAFETY: listen(2) on our own listening socket only changes its backlog.
    assert_eq!(unsafe { libc::listen(l.as_raw_fd(), 0) }, 0);
    let mut held = Vec::new();
    while held.len() < 4 {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(s) => held.push(s),
            Err(_) => break,
        }
    }
    kill_while_parked(move || TcpStream::connect(addr).map(drop));
}

#[test]
fn timeout_interrupts_udp_and_unix_calls() {
    let u = UdpSocket::bind("127.0.0.1:0").unwrap();
    assert!(verde::with_timeout(Duration::from_millis(20), || u.recv_from(&mut [0; 8])).is_err());
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.send_to(b"after", u.local_addr().unwrap()).unwrap();
    let mut buf = [0; 5];
    assert_eq!(u.recv_from(&mut buf).unwrap().0, 5);

    let (a, mut b) = UnixStream::pair().unwrap();
    assert!(verde::with_timeout(Duration::from_millis(20), || (&a).read(&mut [0; 8])).is_err());
    b.write_all(b"x").unwrap();
    (&a).read_exact(&mut [0; 1]).unwrap();

    let (d, e) = UnixDatagram::pair().unwrap();
    assert!(verde::with_timeout(Duration::from_millis(20), || d.recv(&mut [0; 8])).is_err());
    e.send(b"y").unwrap();
    assert_eq!(d.recv(&mut [0; 8]).unwrap(), 1);

    let dir = std::env::temp_dir().join(format!("verde-interrupt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("l.sock");
    let _ = std::fs::remove_file(&path);
    let l = Arc::new(UnixListener::bind(&path).unwrap());
    let l2 = Arc::clone(&l);
    kill_while_parked(move || l2.accept().map(drop));
    let _c = UnixStream::connect(&path).unwrap();
    l.accept().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn nested_timeouts_around_a_read() {
    let (c, mut s) = pair();
    let outer = verde::with_timeout(Duration::from_millis(30), || {
        let inner = verde::with_timeout(Duration::from_secs(10), || (&c).read(&mut [0; 8]));
        inner.is_ok()
    });
    assert!(outer.is_err(), "the outer timeout fires through the inner one");
    s.write_all(b"z").unwrap();
    assert_eq!((&c).read(&mut [0; 8]).unwrap(), 1);
}
