//! TCP: std's surface and error kinds, inside coroutines.

use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::time::Duration;

use verde_net::{TcpListener, TcpStream};
use verde_runtime as verde;

fn listener() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    (l, addr)
}

/// A connected pair: (client, server side).
fn pair() -> (TcpStream, TcpStream) {
    let (l, addr) = listener();
    let c = TcpStream::connect(addr).unwrap();
    let (s, peer) = l.accept().unwrap();
    assert_eq!(peer, c.local_addr().unwrap());
    (c, s)
}

#[test]
fn echo_between_coroutines() {
    let (l, addr) = listener();
    let server = verde::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).unwrap();
        s.write_all(&buf).unwrap();
    });
    let client = verde::spawn(move || {
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(b"over the wire").unwrap();
        c.shutdown(Shutdown::Write).unwrap();
        let mut back = String::new();
        c.read_to_string(&mut back).unwrap();
        back
    });
    assert_eq!(client.join().unwrap(), "over the wire");
    server.join().unwrap();
}

#[test]
fn read_and_write_through_shared_references() {
    let (c, s) = pair();
    (&c).write_all(b"by reference").unwrap();
    let mut buf = [0; 12];
    (&s).read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"by reference");
}

#[test]
fn vectored_io() {
    let (mut c, mut s) = pair();
    let n = c.write_vectored(&[IoSlice::new(b"abc"), IoSlice::new(b"defg")]).unwrap();
    assert_eq!(n, 7);
    while s.peek(&mut [0; 7]).unwrap() < 7 {}
    let (mut a, mut b) = ([0; 3], [0; 4]);
    let n = s.read_vectored(&mut [IoSliceMut::new(&mut a), IoSliceMut::new(&mut b)]).unwrap();
    assert_eq!(n, 7);
    assert_eq!((&a, &b), (b"abc", b"defg"));
}

#[test]
fn peek_leaves_data_queued() {
    let (mut c, mut s) = pair();
    c.write_all(b"peekaboo").unwrap();
    let mut buf = [0; 8];
    let mut n = 0;
    while n < 8 {
        n = s.peek(&mut buf).unwrap();
    }
    assert_eq!(&buf, b"peekaboo");
    let mut again = [0; 8];
    s.read_exact(&mut again).unwrap();
    assert_eq!(&again, b"peekaboo");
}

#[test]
fn addresses_and_options() {
    let (c, s) = pair();
    assert_eq!(c.peer_addr().unwrap(), s.local_addr().unwrap());
    assert_eq!(s.peer_addr().unwrap(), c.local_addr().unwrap());
    c.set_nodelay(true).unwrap();
    assert!(c.nodelay().unwrap());
    c.set_nodelay(false).unwrap();
    assert!(!c.nodelay().unwrap());
    c.set_ttl(42).unwrap();
    assert_eq!(c.ttl().unwrap(), 42);
    assert!(c.take_error().unwrap().is_none());
    assert_eq!(c.read_timeout().unwrap(), None);
    c.set_read_timeout(Some(Duration::from_millis(1500))).unwrap();
    c.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
    assert_eq!(c.read_timeout().unwrap(), Some(Duration::from_millis(1500)));
    assert_eq!(c.write_timeout().unwrap(), Some(Duration::from_secs(2)));
    c.set_read_timeout(None).unwrap();
    assert_eq!(c.read_timeout().unwrap(), None);
    let dbg = format!("{c:?}");
    assert!(dbg.starts_with("TcpStream") && dbg.contains("peer"), "{dbg}");

    let (l, _) = listener();
    l.set_ttl(7).unwrap();
    assert_eq!(l.ttl().unwrap(), 7);
    assert!(l.take_error().unwrap().is_none());
}

#[test]
fn zero_timeouts_are_invalid_input() {
    let (c, _s) = pair();
    for r in [c.set_read_timeout(Some(Duration::ZERO)), c.set_write_timeout(Some(Duration::ZERO))] {
        assert_eq!(r.unwrap_err().kind(), io::ErrorKind::InvalidInput);
    }
    let addr = c.peer_addr().unwrap();
    let err = TcpStream::connect_timeout(&addr, Duration::ZERO).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

#[test]
fn connect_refused() {
    let (l, addr) = listener();
    drop(l);
    let err = verde::spawn(move || TcpStream::connect(addr).unwrap_err()).join().unwrap();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    let err = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
}

#[test]
fn connect_timeout_succeeds_in_time() {
    let (l, addr) = listener();
    let c = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    let (s, _) = l.accept().unwrap();
    assert_eq!(c.local_addr().unwrap(), s.peer_addr().unwrap());
}

#[test]
fn connect_tries_each_address_and_reports_the_last_error() {
    let (l, good) = listener();
    let (dead, refused) = listener();
    drop(dead);
    let c = TcpStream::connect(&[refused, good][..]).unwrap();
    assert_eq!(c.peer_addr().unwrap(), good);
    drop(l);
    let err = TcpStream::connect(&[refused, good][..]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    let none: &[SocketAddr] = &[];
    assert_eq!(TcpStream::connect(none).unwrap_err().kind(), io::ErrorKind::InvalidInput);
}

#[test]
fn bind_in_use_is_addr_in_use() {
    let (_l, addr) = listener();
    assert_eq!(TcpListener::bind(addr).unwrap_err().kind(), io::ErrorKind::AddrInUse);
}

#[test]
fn shutdown_ends_the_peers_reads() {
    let (c, mut s) = pair();
    c.shutdown(Shutdown::Write).unwrap();
    let mut buf = [0; 4];
    assert_eq!(s.read(&mut buf).unwrap(), 0);
    c.shutdown(Shutdown::Both).unwrap();
}

#[test]
fn end_of_stream_arriving_with_the_last_data_is_seen() {
    let (l, addr) = listener();
    let (go, went) = std::sync::mpsc::channel::<()>();
    let peer = std::thread::spawn(move || {
        let mut c = std::net::TcpStream::connect(addr).unwrap();
        c.write_all(b"first").unwrap();
        went.recv().unwrap();
        c.write_all(b"second").unwrap();
    });
    let (mut s, _) = l.accept().unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut buf = [0; 64];
    assert_eq!(s.read(&mut buf).unwrap(), 5);
    go.send(()).unwrap();
    // Keep the hub from polling until the data and the FIN are both queued,
    // so epoll reports them as one event.
    peer.join().unwrap();
    assert_eq!(s.read(&mut buf).unwrap(), 6);
    assert_eq!(s.read(&mut buf).unwrap(), 0, "the end of the stream was missed");
}

#[test]
fn nonblocking_mode_gives_would_block() {
    let (l, addr) = listener();
    l.set_nonblocking(true).unwrap();
    assert_eq!(l.accept().unwrap_err().kind(), io::ErrorKind::WouldBlock);
    let mut c = TcpStream::connect(addr).unwrap();
    let (mut s, _) = loop {
        match l.accept() {
            Ok(p) => break p,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => verde::sleep(Duration::from_millis(1)),
            Err(e) => panic!("{e}"),
        }
    };
    s.set_nonblocking(true).unwrap();
    assert_eq!(s.read(&mut [0; 8]).unwrap_err().kind(), io::ErrorKind::WouldBlock);
    assert_eq!(s.peek(&mut [0; 8]).unwrap_err().kind(), io::ErrorKind::WouldBlock);
    // Fill the send buffer: a non-blocking write eventually says WouldBlock.
    let chunk = vec![0u8; 1 << 16];
    let err = loop {
        if let Err(e) = s.write(&chunk) {
            break e;
        }
    };
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    // Back to blocking mode: a read parks until data arrives.
    s.set_nonblocking(false).unwrap();
    let writer = verde::spawn(move || {
        verde::sleep(Duration::from_millis(20));
        c.write_all(b"x").unwrap();
        c
    });
    let mut one = [0; 1];
    s.read_exact(&mut one).unwrap();
    assert_eq!(&one, b"x");
    writer.join().unwrap();
}

#[test]
fn try_clone_shares_the_socket_and_its_settings() {
    let (c, mut s) = pair();
    let mut c2 = c.try_clone().unwrap();
    c2.write_all(b"from the clone").unwrap();
    let mut buf = [0; 14];
    s.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"from the clone");
    s.write_all(b"to the original").unwrap();
    let mut back = [0; 15];
    (&c).read_exact(&mut back).unwrap();
    assert_eq!(&back, b"to the original");

    c2.set_read_timeout(Some(Duration::from_millis(40))).unwrap();
    assert_eq!(c.read_timeout().unwrap(), Some(Duration::from_millis(40)));
    c2.set_nonblocking(true).unwrap();
    assert_eq!((&c).read(&mut [0; 4]).unwrap_err().kind(), io::ErrorKind::WouldBlock);

    let (l, addr) = listener();
    let l2 = l.try_clone().unwrap();
    let _c = TcpStream::connect(addr).unwrap();
    let (_s, _) = l2.accept().unwrap();
    drop(l);
}

#[test]
fn incoming_and_into_incoming() {
    let (l, addr) = listener();
    let clients = verde::spawn(move || {
        for _ in 0..3 {
            TcpStream::connect(addr).unwrap().write_all(b"!").unwrap();
        }
    });
    let mut n = 0;
    for s in l.incoming().take(2) {
        let mut b = [0; 1];
        s.unwrap().read_exact(&mut b).unwrap();
        n += 1;
    }
    for s in l.into_incoming().take(1) {
        s.unwrap();
        n += 1;
    }
    assert_eq!(n, 3);
    clients.join().unwrap();
}

#[test]
fn converts_from_and_into_std() {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = std_listener.local_addr().unwrap();
    let l = TcpListener::from(std_listener);

    // A blocking std stream: the verde stream parks where std would block.
    let std_client = std::net::TcpStream::connect(addr).unwrap();
    std_client.set_read_timeout(Some(Duration::from_millis(40))).unwrap();
    let mut c = TcpStream::from(std_client);
    assert_eq!(c.read_timeout().unwrap(), Some(Duration::from_millis(40)));
    assert_eq!(c.read_timeout().unwrap(), std_read_timeout(&c));
    assert_eq!(c.read(&mut [0; 4]).unwrap_err().kind(), io::ErrorKind::WouldBlock);
    c.set_read_timeout(None).unwrap();
    let (mut s, _) = l.accept().unwrap();
    let writer = verde::spawn(move || {
        verde::sleep(Duration::from_millis(10));
        s.write_all(b"hey").unwrap();
        s
    });
    let mut buf = [0; 3];
    c.read_exact(&mut buf).unwrap();
    let s = writer.join().unwrap();

    // A non-blocking std stream stays non-blocking for its user.
    let std_nb = std::net::TcpStream::connect(addr).unwrap();
    std_nb.set_nonblocking(true).unwrap();
    let mut nb = TcpStream::from(std_nb);
    assert_eq!(nb.read(&mut [0; 4]).unwrap_err().kind(), io::ErrorKind::WouldBlock);

    // Back to std: blocking again, with its timeout, and still connected.
    c.set_read_timeout(Some(Duration::from_millis(25))).unwrap();
    let timeout = c.read_timeout().unwrap();
    assert_eq!(timeout, std_read_timeout(&c));
    let mut back = std::net::TcpStream::from(c);
    assert_eq!(back.read_timeout().unwrap(), timeout);
    let err = back.read(&mut [0; 4]).unwrap_err();
    assert!(matches!(err.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut), "{err}");
    let mut s = s;
    s.write_all(b"std").unwrap();
    back.set_read_timeout(None).unwrap();
    let mut buf = [0; 3];
    back.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"std");
}

/// What std reports as the read timeout of `s`'s fd.
fn std_read_timeout(s: &TcpStream) -> Option<Duration> {
    use std::os::fd::AsFd;
    let dup = s.as_fd().try_clone_to_owned().unwrap();
    std::net::TcpStream::from(dup).read_timeout().unwrap()
}

#[test]
fn raw_fd_round_trip() {
    use std::os::fd::{AsFd, AsRawFd, FromRawFd, IntoRawFd, OwnedFd};
    let (c, mut s) = pair();
    let fd = c.as_raw_fd();
    assert_eq!(c.as_fd().as_raw_fd(), fd);
    let raw = c.into_raw_fd();
    assert_eq!(raw, fd);
    // SAFETY: `raw` is an open socket released by `into_raw_fd` above.
    let mut c = unsafe { TcpStream::from_raw_fd(raw) };
    c.write_all(b"raw").unwrap();
    let owned = OwnedFd::from(c);
    let mut c = TcpStream::from(owned);
    c.write_all(b"fd").unwrap();
    let mut buf = [0; 5];
    s.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"rawfd");
}
